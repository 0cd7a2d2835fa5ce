/*
 * Fuzz target for tmrun's static-executable check (tools/common/tool_elf.c):
 * the input is the program file, given through a memfd.  Any crash or
 * sanitizer report is a bug; the answer itself is 0 or 1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_memfd.h"

#include "tool_elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = fuzz_memfd("tm-fuzz-static-elf", data, size);
    if (fd < 0)
        return 0;
    int r = tool_elf_is_static_fd(fd);
    close(fd);
    if (r != 0 && r != 1)
        abort();
    return 0;
}
