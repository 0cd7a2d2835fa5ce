/*
 * Which native frames are the runtime's allocation machinery (the rules
 * are in tm/attribution.h).  Decided once per frame of a snapshot, so that
 * the per-stack work of analysis and exports is a bit test.
 */
#include "tm/attribution.h"

#include <string.h>

#include "tm/filter.h"
#include "tm_alloc.h"

/* Last path components of the runtime's modules. */
static const char *const runtime_modules[] = {
    "libc.so*",       "libstdc++.so*", "libgcc_s.so*",  "libc++.so*",   "libc++abi.so*", "libm.so*",
    "libpthread.so*", "libdl.so*",     "ld-linux*.so*", "ld-musl*.so*", "libc.musl*",
};
/* Files of system headers and system sources. */
static const char *const system_files[] = {
    "/usr/include/*",
    "*/include/c++/*",
    "/usr/lib/gcc/*",
    "/usr/src/*",
};
/* Functions of the runtime, for frames without a file. */
static const char *const runtime_functions[] = {
    "operator new*",
    "operator delete*",
    "std::*",
    "__gnu_cxx::*",
    "__cxxabiv1::*",
    "__cxa_*",
    "_start",
    "__libc_start_main*",
    "__libc_start_call_main",
    "_dl_*",
    "__libc_*",
    "_IO_*",
    "strdup",
    "__strdup",
    "strndup",
    "__strndup",
    "asprintf",
    "vasprintf",
    "__vasprintf*",
    "getline",
    "getdelim",
    "__getdelim",
    "open_memstream",
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

struct tm_attribution {
    uint8_t *hidden; /* per frame */
    size_t nframes, nhidden;
};

typedef struct rule_set {
    tm_pattern **p;
    size_t n;
} rule_set;

static void rules_free(rule_set *r)
{
    for (size_t i = 0; i < r->n; i++)
        tm_pattern_free(r->p[i]);
    tm_free(r->p);
    r->p = NULL;
    r->n = 0;
}

static int rules_compile(rule_set *r, const char *const *pats, size_t n, tm_error *err)
{
    r->n = 0;
    r->p = tm_calloc(n ? n : 1, sizeof *r->p);
    if (!r->p)
        return tm_error_set(err, TM_ENOMEM, "attribution: out of memory");
    for (size_t i = 0; i < n; i++) {
        int rc = tm_pattern_compile(&r->p[i], pats[i], strlen(pats[i]), err);
        if (rc != TM_OK) {
            rules_free(r);
            return rc;
        }
        r->n++;
    }
    return TM_OK;
}

static int rules_match(const rule_set *r, const char *s, size_t len)
{
    for (size_t i = 0; i < r->n; i++)
        if (tm_pattern_match(r->p[i], s, len))
            return 1;
    return 0;
}

static const char *base_name(const char *path, size_t len, size_t *blen)
{
    const char *b = memrchr(path, '/', len);
    b = b ? b + 1 : path;
    *blen = len - (size_t)(b - path);
    return b;
}

int tm_attribution_new(tm_attribution **out, const tm_snapshot *snap,
                       const tm_attribution_options *opts, tm_error *err)
{
    static const tm_attribution_options defaults = TM_ATTRIBUTION_OPTIONS_INIT;
    if (!opts)
        opts = &defaults;
    *out = NULL;
    if (opts->version != TM_ATTRIBUTION_OPTIONS_VERSION)
        return tm_error_set(err, TM_EINVAL, "attribution options: version %u, expected %u",
                            opts->version, TM_ATTRIBUTION_OPTIONS_VERSION);
    if (opts->nhide > TM_ATTRIBUTION_MAX_HIDE)
        return tm_error_set(err, TM_EINVAL, "--hide: at most %d patterns", TM_ATTRIBUTION_MAX_HIDE);
    tm_attribution *a = tm_calloc(1, sizeof *a);
    size_t nf = tm_snapshot_frame_count(snap);
    if (!a || !(a->hidden = tm_calloc(nf ? nf : 1, 1))) {
        tm_free(a);
        return tm_error_set(err, TM_ENOMEM, "attribution: out of memory");
    }
    a->nframes = nf;
    /* Only native frames are ever hidden, and only they have a module:
     * a Python snapshot needs no rules. */
    if (opts->as_recorded || tm_snapshot_module_count(snap) == 0) {
        *out = a;
        return TM_OK;
    }
    rule_set user = { 0 }, mods = { 0 }, files = { 0 }, funcs = { 0 };
    int rc;
    if ((rc = rules_compile(&user, opts->hide, opts->nhide, err)) != TM_OK ||
        (rc = rules_compile(&mods, runtime_modules, N(runtime_modules), err)) != TM_OK ||
        (rc = rules_compile(&files, system_files, N(system_files), err)) != TM_OK ||
        (rc = rules_compile(&funcs, runtime_functions, N(runtime_functions), err)) != TM_OK)
        goto out;
    const tm_frame *frames = tm_snapshot_frames(snap);
    const tm_module *modules = tm_snapshot_modules(snap);
    size_t nmod = tm_snapshot_module_count(snap);
    for (size_t i = 0; i < nf; i++) {
        const tm_frame *f = &frames[i];
        if (f->module == TM_NONE || f->module >= nmod)
            continue; /* not native: a Python frame */
        size_t flen = 0, fnlen = 0, mlen = 0, blen;
        const char *file = f->file ? tm_snapshot_string(snap, f->file, &flen) : NULL;
        const char *fn = f->function ? tm_snapshot_string(snap, f->function, &fnlen) : NULL;
        const char *mod = tm_snapshot_string(snap, modules[f->module].path, &mlen);
        const char *base = base_name(mod, mlen, &blen);
        int hide = (file && rules_match(&user, file, flen)) ||
            (fn && rules_match(&user, fn, fnlen)) || rules_match(&user, mod, mlen) ||
            rules_match(&mods, base, blen) ||
            (file ? rules_match(&files, file, flen) : fn && rules_match(&funcs, fn, fnlen));
        a->hidden[i] = (uint8_t)hide;
        a->nhidden += (size_t)hide;
    }
    *out = a;
    a = NULL;
out:
    rules_free(&user);
    rules_free(&mods);
    rules_free(&files);
    rules_free(&funcs);
    tm_attribution_free(a);
    return rc;
}

void tm_attribution_free(tm_attribution *a)
{
    if (!a)
        return;
    tm_free(a->hidden);
    tm_free(a);
}

int tm_attribution_hides(const tm_attribution *a, uint32_t frame)
{
    return a && frame < a->nframes && a->hidden[frame];
}

size_t tm_attribution_hidden_frames(const tm_attribution *a)
{
    return a ? a->nhidden : 0;
}

static void print_group(FILE *out, const char *what, const char *const *p, size_t n)
{
    fprintf(out, "  %s:", what);
    for (size_t i = 0; i < n; i++)
        fprintf(out, " %s", p[i]);
    fputc('\n', out);
}

int tm_attribution_print_defaults(FILE *out)
{
    print_group(out, "module (last path component)", runtime_modules, N(runtime_modules));
    print_group(out, "file", system_files, N(system_files));
    print_group(out, "function, for frames without a file", runtime_functions,
                N(runtime_functions));
    return ferror(out) ? TM_EIO : TM_OK;
}
