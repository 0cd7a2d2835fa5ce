#include "tool_elf.h"

#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
    return pread(fd, buf, n, (off_t)off) == (ssize_t)n ? 0 : -1;
}

int tool_elf_is_static_fd(int fd)
{
    int result = 0;
    Elf64_Ehdr eh;
    if (read_at(fd, &eh, sizeof eh, 0) != 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) || eh.e_phentsize != sizeof(Elf64_Phdr) ||
        eh.e_phnum == 0)
        goto out;
    Elf64_Phdr dyn = { 0 };
    int have_dyn = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (read_at(fd, &ph, sizeof ph, eh.e_phoff + (uint64_t)i * sizeof ph) != 0)
            goto out;
        if (ph.p_type == PT_INTERP)
            goto out;
        if (ph.p_type == PT_DYNAMIC) {
            dyn = ph;
            have_dyn = 1;
        }
    }
    result = 1;
    for (uint64_t k = 0; have_dyn && k < dyn.p_filesz / sizeof(Elf64_Dyn) && k < 4096; k++) {
        Elf64_Dyn d;
        if (read_at(fd, &d, sizeof d, dyn.p_offset + k * sizeof d) != 0 || d.d_tag == DT_NULL)
            break;
        if (d.d_tag == DT_NEEDED || d.d_tag == DT_SONAME) {
            result = 0;
            break;
        }
    }
out:
    return result;
}

int tool_elf_is_static(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int r = tool_elf_is_static_fd(fd);
    close(fd);
    return r;
}
