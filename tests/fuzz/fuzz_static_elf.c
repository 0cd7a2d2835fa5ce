/*
 * Fuzz target for tmrun's static-executable check (tools/common/tool_elf.c):
 * the input is the program file, given through a memfd.  Any crash or
 * sanitizer report is a bug; the answer itself is 0 or 1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tool_elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("tm-fuzz-static-elf", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    int r = tool_elf_is_static_fd(fd);
    close(fd);
    if (r != 0 && r != 1)
        abort();
    return 0;
}
