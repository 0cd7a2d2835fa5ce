/*
 * tmrun -p: what ptrace and /proc tell of a running process, and calling a
 * function inside it.  No debugger: the dynamic symbol table of the mapped
 * file gives an address, and one stopped thread makes the call with a
 * return address of 0, whose fault ptrace reports before any handler of
 * the program could see it.
 */
#include <dirent.h>
#include <elf.h> /* NT_X86_XSTATE */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tmrun_attach.h"

/* --- /proc/PID/maps ---------------------------------------------------------- */

int tmrun_maps_find(pid_t pid, int (*match)(const char *path, const void *arg), const void *arg,
                    char *path, size_t cap, uintptr_t *bias)
{
    char name[64];
    snprintf(name, sizeof name, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(name, "re");
    if (!f)
        return -1;
    char line[4352];
    int found = -1;
    while (found < 0 && fgets(line, sizeof line, f)) {
        unsigned long start, end, off;
        int pos = 0;
        if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &start, &end, &off, &pos) < 3 || !pos)
            continue;
        char *p = line + pos;
        p[strcspn(p, "\n")] = 0;
        if (p[0] != '/' || off != 0 || !match(p, arg))
            continue;
        /* The first PT_LOAD's page is mapped here: bias = start - its vaddr. */
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        Elf64_Ehdr eh;
        if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh &&
            memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64) {
            for (unsigned i = 0; i < eh.e_phnum; i++) {
                Elf64_Phdr ph;
                if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) !=
                    (ssize_t)sizeof ph)
                    break;
                if (ph.p_type == PT_LOAD) {
                    *bias = (uintptr_t)start - (uintptr_t)(ph.p_vaddr & ~(uint64_t)4095);
                    snprintf(path, cap, "%s", p);
                    found = 0;
                    break;
                }
            }
        }
        close(fd);
    }
    fclose(f);
    return found;
}

/* --- the ELF dynamic symbol table ---------------------------------------- */

static void *read_part(int fd, uint64_t off, uint64_t size)
{
    if (size > (256u << 20))
        return NULL;
    void *b = malloc(size ? size : 1);
    if (b && pread(fd, b, size, (off_t)off) != (ssize_t)size) {
        free(b);
        b = NULL;
    }
    return b;
}

uintptr_t tmrun_elf_symbol(const char *path, uintptr_t bias, const char *name)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    uintptr_t best = 0;
    Elf64_Ehdr eh;
    Elf64_Shdr *sh = NULL;
    Elf64_Sym *syms = NULL;
    char *strs = NULL;
    uint16_t *vers = NULL;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0)
        goto out;
    sh = read_part(fd, eh.e_shoff, (uint64_t)eh.e_shnum * sizeof *sh);
    if (!sh)
        goto out;
    unsigned di = 0, vi = 0;
    for (unsigned i = 0; i < eh.e_shnum; i++) {
        if (sh[i].sh_type == SHT_DYNSYM)
            di = i;
        if (sh[i].sh_type == SHT_GNU_versym)
            vi = i;
    }
    if (!di || sh[di].sh_link >= eh.e_shnum)
        goto out;
    size_t n = sh[di].sh_size / sizeof(Elf64_Sym);
    const Elf64_Shdr *ss = &sh[sh[di].sh_link];
    syms = read_part(fd, sh[di].sh_offset, n * sizeof *syms);
    strs = read_part(fd, ss->sh_offset, ss->sh_size + 1);
    if (vi && sh[vi].sh_size >= n * sizeof *vers)
        vers = read_part(fd, sh[vi].sh_offset, n * sizeof *vers);
    if (!syms || !strs)
        goto out;
    strs[ss->sh_size] = 0;
    for (size_t i = 1; i < n; i++) {
        const Elf64_Sym *s = &syms[i];
        if (s->st_shndx == SHN_UNDEF || s->st_name >= ss->sh_size || !s->st_value ||
            ELF64_ST_TYPE(s->st_info) != STT_FUNC || strcmp(strs + s->st_name, name) != 0)
            continue;
        int hidden = vers && (vers[i] & 0x8000); /* an old version's compatibility copy */
        if (!best || !hidden)
            best = bias + (uintptr_t)s->st_value;
        if (!hidden)
            break;
    }
out:
    free(vers);
    free(strs);
    free(syms);
    free(sh);
    close(fd);
    return best;
}

/* --- stopping a thread ---------------------------------------------------- */

static int wait_stop(pid_t tid, int *status)
{
    for (;;) {
        pid_t r = waitpid(tid, status, __WALL);
        if (r == tid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

/* Where a thread may hold a lock that the call would need (malloc's arena,
 * the loader's): the text of the C library, of ld.so, of the recorder. */
typedef struct range {
    uintptr_t lo, hi;
    int loader; /* ld.so: it makes its system calls itself, holding its lock */
} range;

static int unsafe_ranges(pid_t pid, range *out, int cap)
{
    char name[64];
    snprintf(name, sizeof name, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(name, "re");
    if (!f)
        return 0;
    char line[4352];
    int n = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        int pos = 0;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &pos) < 3 || !pos ||
            perms[2] != 'x')
            continue;
        const char *p = strrchr(line + pos, '/');
        if (!p)
            continue;
        p++;
        if (strncmp(p, "libc.so", 7) == 0 || strncmp(p, "libc-", 5) == 0 ||
            strncmp(p, "ld-linux", 8) == 0 || strncmp(p, "libtmrecorder", 13) == 0) {
            out[n].lo = lo;
            out[n].hi = hi;
            out[n].loader = strncmp(p, "ld-linux", 8) == 0;
            n++;
        }
    }
    fclose(f);
    return n;
}

/* Stopped in a system call that does not change the memory map (a thread
 * inside malloc may be in brk or mmap holding its arena), or in user code
 * outside the ranges above. */
static int safe_point(const struct user_regs_struct *r, const range *u, int nu)
{
    long nr = (long)r->orig_rax;
    if (nr >= 0)
        return nr != SYS_mmap && nr != SYS_munmap && nr != SYS_brk && nr != SYS_mprotect &&
            nr != SYS_mremap && nr != SYS_madvise;
    for (int i = 0; i < nu; i++)
        if (r->rip >= u[i].lo && r->rip < u[i].hi)
            return 0;
    return 1;
}

static int list_threads(pid_t pid, pid_t *out, int cap)
{
    char name[64];
    snprintf(name, sizeof name, "/proc/%d/task", (int)pid);
    DIR *d = opendir(name);
    if (!d)
        return 0;
    int n = 0;
    out[n++] = pid; /* the main thread first */
    struct dirent *e;
    while (n < cap && (e = readdir(d))) {
        long t = atol(e->d_name);
        if (t > 0 && t != pid)
            out[n++] = (pid_t)t;
    }
    closedir(d);
    return n;
}

int tmrun_thread_seize(pid_t pid, pid_t *tid, char *err, size_t errcap)
{
    pid_t th[256];
    range u[64];
    int nt = list_threads(pid, th, 256);
    if (nt == 0) {
        snprintf(err, errcap, "no such process");
        return -ESRCH;
    }
    int nu = unsafe_ranges(pid, u, 64);
    for (int attempt = 0; attempt < 2000; attempt++) {
        pid_t t = th[attempt % nt];
        if (ptrace(PTRACE_SEIZE, t, 0, 0) != 0) {
            int e = errno;
            if (e == ESRCH && t != pid)
                continue; /* that thread ended */
            snprintf(err, errcap, "ptrace(PTRACE_SEIZE, %d): %s", (int)t, strerror(e));
            return -e;
        }
        int st;
        if (ptrace(PTRACE_INTERRUPT, t, 0, 0) != 0 || wait_stop(t, &st) != 0 || !WIFSTOPPED(st)) {
            ptrace(PTRACE_DETACH, t, 0, 0);
            continue;
        }
        struct user_regs_struct r;
        if (ptrace(PTRACE_GETREGS, t, 0, &r) == 0 && safe_point(&r, u, nu)) {
            *tid = t;
            return 0;
        }
        /* Not now: let it run on a little. */
        ptrace(PTRACE_DETACH, t, 0, 0);
        struct timespec ts = { 0, 500000 };
        nanosleep(&ts, NULL);
    }
    snprintf(err, errcap, "no thread stopped outside the C library and the loader in 2000 tries");
    return -EAGAIN;
}

int tmrun_thread_seize_any(pid_t pid, pid_t *tid, char *err, size_t errcap)
{
    if (ptrace(PTRACE_SEIZE, pid, 0, 0) != 0) {
        int e = errno;
        snprintf(err, errcap, "ptrace(PTRACE_SEIZE, %d): %s", (int)pid, strerror(e));
        return -e;
    }
    int st;
    if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) != 0 || wait_stop(pid, &st) != 0) {
        int e = errno;
        snprintf(err, errcap, "ptrace(PTRACE_INTERRUPT, %d): %s", (int)pid, strerror(e));
        return -e;
    }
    *tid = pid;
    return 0;
}

void tmrun_thread_release(pid_t tid)
{
    ptrace(PTRACE_DETACH, tid, 0, 0);
}

/* --- the call ------------------------------------------------------------------ */

static int mem_io(pid_t tid, int write, uintptr_t addr, void *buf, size_t n)
{
    char name[64];
    snprintf(name, sizeof name, "/proc/%d/mem", (int)tid);
    int fd = open(name, (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t k = write ? pwrite(fd, buf, n, (off_t)addr) : pread(fd, buf, n, (off_t)addr);
    close(fd);
    return k == (ssize_t)n ? 0 : -1;
}

int tmrun_remote_string(pid_t tid, uintptr_t addr, char *out, size_t cap)
{
    if (!cap)
        return -1;
    for (size_t i = 0; i + 1 < cap; i++) {
        if (mem_io(tid, 0, addr + i, out + i, 1) != 0)
            return -1;
        if (!out[i])
            return 0;
    }
    out[cap - 1] = 0;
    return 0;
}

int tmrun_remote_call(pid_t tid, uintptr_t fn, const uint64_t args_in[6], const char *const strs[6],
                      uint64_t *ret, char *err, size_t errcap)
{
    struct user_regs_struct saved, r;
    if (ptrace(PTRACE_GETREGS, tid, 0, &saved) != 0) {
        snprintf(err, errcap, "ptrace(PTRACE_GETREGS): %s", strerror(errno));
        return -1;
    }
    /* The vector and x87 registers too (the whole XSAVE area: AVX and
     * AVX-512 included): a thread stopped in user code keeps its values in
     * them, and the called function uses them freely. */
    static unsigned char xstate[16384] __attribute__((aligned(64)));
    struct iovec xv = { xstate, sizeof xstate };
    struct user_fpregs_struct fp;
    memset(&fp, 0, sizeof fp);
    int have_x = ptrace(PTRACE_GETREGSET, tid, (void *)(uintptr_t)NT_X86_XSTATE, &xv) == 0;
    if (!have_x && ptrace(PTRACE_GETFPREGS, tid, 0, &fp) != 0) {
        snprintf(err, errcap, "ptrace(PTRACE_GETFPREGS): %s", strerror(errno));
        return -1;
    }
    uint64_t args[6];
    memcpy(args, args_in, sizeof args);
    /* Below the red zone (128 bytes), with a margin. */
    uintptr_t top = (uintptr_t)saved.rsp - 256, sp = top;
    size_t total = 0;
    for (int i = 0; i < 6; i++)
        if (strs[i])
            total += strlen(strs[i]) + 1;
    if (total > 65536) {
        snprintf(err, errcap, "arguments too long");
        return -1;
    }
    sp -= total;
    sp &= ~(uintptr_t)15;
    sp -= 8; /* the return address: entry with sp + 8 aligned to 16 */
    size_t len = (uintptr_t)saved.rsp - sp;
    char *keep = malloc(len), *img = malloc(len);
    if (!keep || !img || mem_io(tid, 0, sp, keep, len) != 0) {
        snprintf(err, errcap, "cannot read the stack of thread %d at %#lx", (int)tid,
                 (unsigned long)sp);
        free(keep);
        free(img);
        return -1;
    }
    memcpy(img, keep, len);
    memset(img, 0, 8);
    size_t off = (size_t)((top - total) - sp); /* the strings: [top - total, top) */
    for (int i = 0; i < 6; i++) {
        if (!strs[i])
            continue;
        size_t l = strlen(strs[i]) + 1;
        memcpy(img + off, strs[i], l);
        args[i] = sp + off;
        off += l;
    }
    int rc = -1;
    if (mem_io(tid, 1, sp, img, len) != 0) {
        snprintf(err, errcap, "cannot write the stack of thread %d", (int)tid);
        goto out;
    }
    r = saved;
    r.rip = fn;
    r.rsp = sp;
    r.rdi = args[0];
    r.rsi = args[1];
    r.rdx = args[2];
    r.rcx = args[3];
    r.r8 = args[4];
    r.r9 = args[5];
    r.rax = 0;
    /* Not a system call any more: no restart (rip - 2) on the way out; the
     * saved registers bring the interrupted one back at the end. */
    r.orig_rax = (unsigned long)-1;
    if (ptrace(PTRACE_SETREGS, tid, 0, &r) != 0 || ptrace(PTRACE_CONT, tid, 0, 0) != 0) {
        snprintf(err, errcap, "ptrace: %s", strerror(errno));
        goto restore;
    }
    for (;;) {
        int st;
        if (wait_stop(tid, &st) != 0) {
            snprintf(err, errcap, "waitpid: %s", strerror(errno));
            goto out;
        }
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            snprintf(err, errcap, "the process ended during the call");
            goto out;
        }
        int sig = WSTOPSIG(st);
        if ((st >> 16) == PTRACE_EVENT_STOP) {
            ptrace(PTRACE_CONT, tid, 0, 0);
            continue;
        }
        if (sig == SIGSEGV) {
            struct user_regs_struct now;
            if (ptrace(PTRACE_GETREGS, tid, 0, &now) == 0 && now.rip == 0) {
                *ret = now.rax;
                rc = 0;
                break;
            }
            snprintf(err, errcap, "the called function crashed (SIGSEGV at %#lx)",
                     (unsigned long)now.rip);
            break;
        }
        /* The program's own signal: delivered now, as it would have been. */
        ptrace(PTRACE_CONT, tid, 0, sig);
    }
restore:
    mem_io(tid, 1, sp, keep, len);
    if (have_x)
        ptrace(PTRACE_SETREGSET, tid, (void *)(uintptr_t)NT_X86_XSTATE, &xv);
    else
        ptrace(PTRACE_SETFPREGS, tid, 0, &fp);
    ptrace(PTRACE_SETREGS, tid, 0, &saved);
out:
    free(keep);
    free(img);
    return rc;
}
