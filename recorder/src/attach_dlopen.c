/*
 * Attach mode's dlopen and dlmopen (got.c routes the program's calls here):
 * the real call, then the new modules' GOT entries rewritten.
 *
 * The dynamic loader looks a name up on behalf of its caller, found by the
 * return address: the caller's DT_RPATH/DT_RUNPATH (with $ORIGIN) and its
 * namespace.  Called from here the caller would be the recorder, so a
 * program that finds its plugins through its own RUNPATH would not find
 * them while attached.  So for a name without '/', this does the part of
 * the search that depends on the caller, in the loader's order: an object
 * already loaded wins; then the caller's DT_RPATH and the executable's
 * (when the caller has no DT_RUNPATH), LD_LIBRARY_PATH, the caller's
 * DT_RUNPATH; the first existing file is opened by its path, and a name
 * found nowhere is left to the loader (ld.so.cache, the default
 * directories: the same for every caller).  A caller in another namespace
 * (dlmopen) loads into that namespace.  Not done: $LIB and $PLATFORM in
 * those paths, $ORIGIN in the name itself.
 */
#include <dlfcn.h>
#include <elf.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"

static void *(*real_dlopen)(const char *, int);
static void *(*real_dlmopen)(Lmid_t, const char *, int);

static void resolve_real(void)
{
    if (!real_dlopen)
        real_dlopen = (void *(*)(const char *, int))dlsym(RTLD_DEFAULT, "dlopen");
    if (!real_dlmopen)
        real_dlmopen = (void *(*)(Lmid_t, const char *, int))dlsym(RTLD_DEFAULT, "dlmopen");
}

/* DT_RPATH and DT_RUNPATH strings of a loaded module (NULL when absent). */
static void module_paths(const struct link_map *m, const char **rpath, const char **runpath)
{
    *rpath = *runpath = NULL;
    if (!m || !m->l_ld)
        return;
    const char *strtab = NULL;
    uintptr_t rp = 0, rup = 0;
    int has_rp = 0, has_rup = 0;
    for (const ElfW(Dyn) *d = m->l_ld; d->d_tag != DT_NULL; d++) {
        if (d->d_tag == DT_STRTAB)
            strtab = (const char *)(d->d_un.d_ptr < m->l_addr ? d->d_un.d_ptr + m->l_addr
                                                              : d->d_un.d_ptr);
        else if (d->d_tag == DT_RPATH)
            rp = d->d_un.d_val, has_rp = 1;
        else if (d->d_tag == DT_RUNPATH)
            rup = d->d_un.d_val, has_rup = 1;
    }
    if (!strtab)
        return;
    if (has_rp)
        *rpath = strtab + rp;
    if (has_rup)
        *runpath = strtab + rup;
}

/* The directory of a module's file ($ORIGIN): the executable's from
 * /proc/self/exe (its l_name is ""). */
static void module_origin(const struct link_map *m, char *out, size_t cap)
{
    out[0] = 0;
    char exe[PATH_MAX];
    const char *name = m && m->l_name && m->l_name[0] ? m->l_name : NULL;
    if (!name) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0)
            return;
        exe[n] = 0;
        name = exe;
    }
    const char *slash = strrchr(name, '/');
    if (slash)
        snprintf(out, cap, "%.*s", (int)(slash - name), name);
}

/* Looks for file in the ':'-separated dirs (with $ORIGIN of m). */
static int search(const char *dirs, const struct link_map *m, const char *file, char *out,
                  size_t cap)
{
    if (!dirs)
        return 0;
    char origin[PATH_MAX];
    module_origin(m, origin, sizeof origin);
    for (const char *p = dirs; *p;) {
        size_t len = strcspn(p, ":");
        char dir[PATH_MAX];
        size_t o = 0;
        for (size_t i = 0; i < len && o + 1 < sizeof dir;) {
            if (strncmp(p + i, "$ORIGIN", 7) == 0 || strncmp(p + i, "${ORIGIN}", 9) == 0) {
                o += (size_t)snprintf(dir + o, sizeof dir - o, "%s", origin);
                if (o >= sizeof dir)
                    o = sizeof dir - 1;
                i += p[i + 1] == '{' ? 9 : 7;
            } else {
                dir[o++] = p[i++];
            }
        }
        dir[o] = 0;
        if (len == 0)
            snprintf(dir, sizeof dir, "."); /* an empty entry is the current directory */
        if ((size_t)snprintf(out, cap, "%s/%s", dir, file) < cap && access(out, R_OK) == 0)
            return 1;
        p += len;
        if (*p == ':')
            p++;
    }
    return 0;
}

/* The path to open for file on behalf of the module m; 0 when the loader's
 * own search is right (a path, an object already loaded, nothing found). */
static int caller_path(const char *file, const struct link_map *m, char *out, size_t cap)
{
    if (!file || strchr(file, '/') || !m)
        return 0;
    void *loaded = real_dlopen(file, RTLD_LAZY | RTLD_NOLOAD);
    if (loaded) {
        dlclose(loaded);
        return 0;
    }
    const char *rpath, *runpath;
    module_paths(m, &rpath, &runpath);
    if (!runpath) {
        if (search(rpath, m, file, out, cap))
            return 1;
        const struct link_map *exe = m;
        while (exe->l_prev)
            exe = exe->l_prev; /* the first of its namespace's list */
        const char *erp, *erup;
        module_paths(exe, &erp, &erup);
        if (exe != m && !erup && search(erp, exe, file, out, cap))
            return 1;
    }
    if (search(getenv("LD_LIBRARY_PATH"), m, file, out, cap))
        return 1;
    return search(runpath, m, file, out, cap);
}

static const struct link_map *caller_module(const void *ra, Lmid_t *ns)
{
    Dl_info di;
    struct link_map *m = NULL;
    *ns = LM_ID_BASE;
    if (!dladdr1(ra, &di, (void **)&m, RTLD_DL_LINKMAP) || !m)
        return NULL;
    if (dlinfo(m, RTLD_DI_LMID, ns) != 0)
        *ns = LM_ID_BASE;
    return m;
}

void *tm_attach_dlopen(const char *file, int mode)
{
    resolve_real();
    Lmid_t ns;
    const struct link_map *m = caller_module(__builtin_return_address(0), &ns);
    char path[PATH_MAX];
    const char *name = caller_path(file, m, path, sizeof path) ? path : file;
    void *h =
        ns != LM_ID_BASE && real_dlmopen ? real_dlmopen(ns, name, mode) : real_dlopen(name, mode);
    tm_attach_after_load(h);
    return h;
}

void *tm_attach_dlmopen(Lmid_t ns, const char *file, int mode)
{
    resolve_real();
    Lmid_t caller_ns;
    const struct link_map *m = caller_module(__builtin_return_address(0), &caller_ns);
    char path[PATH_MAX];
    const char *name = caller_path(file, m, path, sizeof path) ? path : file;
    void *h = real_dlmopen(ns, name, mode);
    tm_attach_after_load(h);
    return h;
}
