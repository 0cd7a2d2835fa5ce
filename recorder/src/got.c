/*
 * Attach mode's routing (attach.c): GOT entries rewritten in place.
 *
 * For every module of dl_iterate_phdr but this library, the dynamic loader
 * and the vDSO, each R_X86_64_JUMP_SLOT and R_X86_64_GLOB_DAT relocation
 * (the PLT's slots and the address-taken uses) of a traced symbol gets our
 * hook's address; the old value is saved and put back at detach.  Entries
 * in the read-only part after relocation (PT_GNU_RELRO: every entry of a
 * -z now module) are written with the pages made writable for the moment,
 * then read-only again.  The C library is rewritten too: its own calls
 * (strdup, fopen, getline) reach malloc through its GOT, and are traced as
 * under LD_PRELOAD.  C++ operators are routed only while the program's
 * definition is libstdc++'s: a program that defines its own operator new
 * keeps it (as under LD_PRELOAD, where the executable's definition wins).
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "attach.h"

static const char *const traced_names[] = {
    "malloc",
    "calloc",
    "realloc",
    "reallocarray",
    "free",
    "posix_memalign",
    "memalign",
    "aligned_alloc",
    "valloc",
    "pvalloc",
    "_exit",
    "_Exit",
    "_Znwm",
    "_Znam",
    "_ZnwmRKSt9nothrow_t",
    "_ZnamRKSt9nothrow_t",
    "_ZnwmSt11align_val_t",
    "_ZnamSt11align_val_t",
    "_ZnwmSt11align_val_tRKSt9nothrow_t",
    "_ZnamSt11align_val_tRKSt9nothrow_t",
    "_ZdlPv",
    "_ZdaPv",
    "_ZdlPvm",
    "_ZdaPvm",
    "_ZdlPvRKSt9nothrow_t",
    "_ZdaPvRKSt9nothrow_t",
    "_ZdlPvSt11align_val_t",
    "_ZdaPvSt11align_val_t",
    "_ZdlPvmSt11align_val_t",
    "_ZdaPvmSt11align_val_t",
    "_ZdlPvSt11align_val_tRKSt9nothrow_t",
    "_ZdaPvSt11align_val_tRKSt9nothrow_t",
    "dlopen",
    "dlmopen",
};
#define NTRACED (sizeof traced_names / sizeof traced_names[0])

/* Hook addresses, 0 for a symbol not routed in this process. */
static uintptr_t hooks[NTRACED];

typedef struct patch {
    uintptr_t *slot;
    uintptr_t orig, hook;
} patch;

typedef struct patched_module {
    uintptr_t base;
    const void *phdr; /* with base, tells a module from a later one at the same place */
    uintptr_t relro_start, relro_end;
    uint32_t first, count; /* its entries in patches[] */
} patched_module;

#define MAX_MODULES 4096
#define MAX_PATCHES 65536
static patched_module *mods;
static patch *patches;
static uint32_t nmods, npatches;

static int tables_ready(void)
{
    if (!mods)
        mods = tm_rmem_map(MAX_MODULES * sizeof *mods);
    if (!patches)
        patches = tm_rmem_map(MAX_PATCHES * sizeof *patches);
    return mods && patches;
}

static int in_module(const void *p, const char *needle)
{
    Dl_info di;
    return p && dladdr(p, &di) && di.dli_fname && strstr(di.dli_fname, needle);
}

static uintptr_t self_base;

/* Our own definitions, through a handle of this library (its local scope
 * starts with it; the plain names bind to the C library from here). */
int tm_got_hooks_resolve(void)
{
    Dl_info di;
    if (!dladdr((void *)&tm_got_hooks_resolve, &di) || !di.dli_fname)
        return -1;
    __atomic_store_n(&self_base, (uintptr_t)di.dli_fbase, __ATOMIC_RELAXED);
    void *self = dlopen(di.dli_fname, RTLD_NOW | RTLD_NOLOAD);
    if (!self)
        return -1;
    for (size_t i = 0; i < NTRACED; i++) {
        const char *n = traced_names[i];
        uintptr_t h;
        if (strcmp(n, "dlopen") == 0) {
            h = (uintptr_t)&tm_attach_dlopen;
        } else if (strcmp(n, "dlmopen") == 0) {
            h = (uintptr_t)&tm_attach_dlmopen;
        } else if (n[0] == '_' && n[1] == 'Z') {
            void *def = dlsym(RTLD_DEFAULT, n);
            h = !def || in_module(def, "libstdc++") ? (uintptr_t)dlsym(self, n) : 0;
        } else {
            h = (uintptr_t)dlsym(self, n);
        }
        /* Read under the attach lock by a patching thread, written outside
         * it: the same values but for C++'s, once libstdc++ is loaded. */
        __atomic_store_n(&hooks[i], h, __ATOMIC_RELAXED);
    }
    dlclose(self); /* only the reference NOLOAD added: we are -z nodelete */
    return 0;
}

static int traced_index(const char *name)
{
    if (name[0] != 'm' && name[0] != 'c' && name[0] != 'r' && name[0] != 'f' && name[0] != 'p' &&
        name[0] != 'a' && name[0] != 'v' && name[0] != '_' && name[0] != 'd')
        return -1;
    for (size_t i = 0; i < NTRACED; i++)
        if (strcmp(name, traced_names[i]) == 0)
            return (int)i;
    return -1;
}

static int skip_module(const struct dl_phdr_info *info)
{
    const char *n = info->dlpi_name ? info->dlpi_name : "";
    if (info->dlpi_addr == __atomic_load_n(&self_base, __ATOMIC_RELAXED))
        return 1;
    const char *base = strrchr(n, '/');
    base = base ? base + 1 : n;
    return strncmp(base, "ld-linux", 8) == 0 || strncmp(base, "linux-vdso", 10) == 0 ||
        strncmp(base, "linux-gate", 10) == 0;
}

static int known_module(uintptr_t base, const void *phdr)
{
    for (uint32_t i = 0; i < nmods; i++)
        if (mods[i].base == base && mods[i].phdr == phdr)
            return 1;
    return 0;
}

/* A dynamic-section address: glibc has relocated most of them in place. */
static uintptr_t dyn_addr(uintptr_t base, uintptr_t v)
{
    return v < base ? v + base : v;
}

static void relro_set(const patched_module *m, int prot)
{
    if (m->relro_end > m->relro_start)
        mprotect((void *)m->relro_start, m->relro_end - m->relro_start, prot);
}

typedef struct walk {
    int total;
    int oom;
} walk;

static void patch_rela(patched_module *m, const Elf64_Rela *r, size_t n, const Elf64_Sym *syms,
                       const char *strs, walk *w)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t type = ELF64_R_TYPE(r[i].r_info);
        if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
            continue;
        uint32_t si = ELF64_R_SYM(r[i].r_info);
        if (!si)
            continue;
        int k = traced_index(strs + syms[si].st_name);
        uintptr_t hook = k < 0 ? 0 : __atomic_load_n(&hooks[k], __ATOMIC_RELAXED);
        if (!hook)
            continue;
        if (npatches == MAX_PATCHES) {
            w->oom = 1;
            return;
        }
        uintptr_t *slot = (uintptr_t *)(m->base + r[i].r_offset);
        patch *p = &patches[npatches++];
        p->slot = slot;
        p->orig = __atomic_load_n(slot, __ATOMIC_RELAXED);
        p->hook = hook;
        __atomic_store_n(slot, p->hook, __ATOMIC_RELEASE);
        m->count++;
        w->total++;
    }
}

static int patch_one(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    walk *w = arg;
    if (w->oom || skip_module(info) || known_module(info->dlpi_addr, info->dlpi_phdr))
        return 0;
    if (nmods == MAX_MODULES) {
        w->oom = 1;
        return 0;
    }
    patched_module *m = &mods[nmods];
    memset(m, 0, sizeof *m);
    m->base = info->dlpi_addr;
    m->phdr = info->dlpi_phdr;
    m->first = npatches;
    const Elf64_Dyn *dyn = NULL;
    long page = sysconf(_SC_PAGESIZE);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const Elf64_Phdr *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_DYNAMIC)
            dyn = (const Elf64_Dyn *)(m->base + ph->p_vaddr);
        if (ph->p_type == PT_GNU_RELRO) {
            m->relro_start = (m->base + ph->p_vaddr) & ~(uintptr_t)(page - 1);
            m->relro_end = (m->base + ph->p_vaddr + ph->p_memsz) & ~(uintptr_t)(page - 1);
        }
    }
    nmods++;
    if (!dyn)
        return 0;
    const Elf64_Sym *syms = NULL;
    const char *strs = NULL;
    const Elf64_Rela *jmprel = NULL, *rela = NULL;
    size_t jmpsz = 0, relasz = 0;
    for (const Elf64_Dyn *d = dyn; d->d_tag != DT_NULL; d++) {
        switch (d->d_tag) {
        case DT_SYMTAB: syms = (const Elf64_Sym *)dyn_addr(m->base, d->d_un.d_ptr); break;
        case DT_STRTAB: strs = (const char *)dyn_addr(m->base, d->d_un.d_ptr); break;
        case DT_JMPREL: jmprel = (const Elf64_Rela *)dyn_addr(m->base, d->d_un.d_ptr); break;
        case DT_PLTRELSZ: jmpsz = d->d_un.d_val; break;
        case DT_RELA: rela = (const Elf64_Rela *)dyn_addr(m->base, d->d_un.d_ptr); break;
        case DT_RELASZ: relasz = d->d_un.d_val; break;
        default: break;
        }
    }
    if (!syms || !strs)
        return 0;
    relro_set(m, PROT_READ | PROT_WRITE);
    if (jmprel)
        patch_rela(m, jmprel, jmpsz / sizeof *jmprel, syms, strs, w);
    if (rela)
        patch_rela(m, rela, relasz / sizeof *rela, syms, strs, w);
    relro_set(m, PROT_READ);
    return 0;
}

int tm_got_patch_all(void)
{
    if (!tables_ready())
        return -ENOMEM;
    if (!__atomic_load_n(&self_base, __ATOMIC_RELAXED))
        return -ENOENT;
    walk w = { 0, 0 };
    dl_iterate_phdr(patch_one, &w);
    return w.oom ? -ENOMEM : w.total;
}

static int restore_one(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    for (uint32_t i = 0; i < nmods; i++) {
        patched_module *m = &mods[i];
        if (m->base != info->dlpi_addr || m->phdr != info->dlpi_phdr)
            continue;
        relro_set(m, PROT_READ | PROT_WRITE);
        for (uint32_t k = m->first; k < m->first + m->count; k++) {
            patch *p = &patches[k];
            /* Unless lazy binding or the program wrote it meanwhile. */
            uintptr_t expect = p->hook;
            __atomic_compare_exchange_n(p->slot, &expect, p->orig, 0, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED);
        }
        relro_set(m, PROT_READ);
    }
    return 0;
}

/* Modules unloaded meanwhile are not listed by dl_iterate_phdr: their
 * entries are not written (their pages may be gone). */
void tm_got_restore_all(void)
{
    if (!mods)
        return;
    dl_iterate_phdr(restore_one, NULL);
    nmods = npatches = 0;
}
