/*
 * Fuzz target for the recorder's /proc/self/maps reader (recorder/src/maps.h):
 * the input is the maps text, read through a memfd with scratch buffers of
 * several sizes (lines longer than the buffer, lines split across reads),
 * looked up at the start address of its first line and at a few others.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_memfd.h"

#include "maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lookup(int fd, uintptr_t start, size_t bufcap)
{
    char *buf = malloc(bufcap);
    char out[256];
    if (!buf || lseek(fd, 0, SEEK_SET) != 0) {
        free(buf);
        return;
    }
    if (tm_maps_path_at(fd, start, buf, bufcap, out, sizeof out) == 0 &&
        (out[0] != '/' || strlen(out) >= sizeof out))
        abort(); /* a found path is absolute and fits */
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = fuzz_memfd("tm-fuzz-maps", data, size);
    if (fd < 0)
        return 0;
    uintptr_t first = 0;
    for (size_t i = 0; i < size; i++) {
        uint8_t c = data[i];
        if (c >= '0' && c <= '9')
            first = first * 16 + (c - '0');
        else if (c >= 'a' && c <= 'f')
            first = first * 16 + (c - 'a' + 10);
        else
            break;
    }
    static const size_t caps[] = { 1, 2, 17, 64, 8192 };
    for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
        lookup(fd, first, caps[k]);
        lookup(fd, 0, caps[k]);
        lookup(fd, 0x400000, caps[k]);
    }
    close(fd);
    return 0;
}
