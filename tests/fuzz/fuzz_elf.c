/*
 * Fuzz target for the symbolizer's ELF/DWARF reading: the input is written
 * to a temporary file and a few addresses are symbolized in it.  Any crash,
 * sanitizer report or leak is a bug; a status other than "symbolized" is
 * the expected answer for most inputs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tm/symbolize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/tm-fuzz-elf.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fd);
    tm_symbolizer *s;
    tm_error err = { 0 };
    if (tm_symbolizer_new(&s, NULL, &err) == TM_OK) {
        static const uint64_t probes[] = { 0, 0x1000, 0x1139, 0x401000, 0x401136 };
        for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
            tm_sym_result r;
            if (tm_symbolizer_lookup(&r, s, path, probes[i], &err) != TM_OK)
                break;
            for (size_t k = 0; k < r.nframes; k++)
                if (!r.frames[k].function || !r.frames[k].file)
                    abort();
        }
        tm_symbolizer_free(s);
    }
    unlink(path);
    return 0;
}
