/*
 * C++ demangling through libstdc++'s __cxa_demangle.  tmcore is a C library
 * and its link line does not name libstdc++, so the symbol is declared weak:
 * when the program links libstdc++ it is used directly, otherwise
 * libstdc++.so.6 is opened once at run time.  Without either, names stay
 * mangled (never a failure).
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "sym_internal.h"

extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status)
    __attribute__((weak));

typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);

static demangle_fn resolve(void)
{
    static int tried;
    static demangle_fn fn;
    if (tried)
        return fn;
    tried = 1;
    if (__cxa_demangle) {
        fn = __cxa_demangle;
        return fn;
    }
    /* Deliberately never dlclose'd: the handle lives as long as the process. */
    void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
    if (h) {
        void *sym = dlsym(h, "__cxa_demangle");
        memcpy(&fn, &sym, sizeof fn);
    }
    return fn;
}

int sym_demangle(char **out, const char *name)
{
    *out = NULL;
    if (!name || name[0] != '_' || name[1] != 'Z')
        return TM_OK;
    demangle_fn fn = resolve();
    if (!fn)
        return TM_OK;
    int status = 0;
    char *d = fn(name, NULL, NULL, &status);
    if (status != 0) {
        free(d);
        /* -1: out of memory; the mangled name would be a wrong answer */
        return status == -1 ? TM_ENOMEM : TM_OK;
    }
    *out = d;
    return TM_OK;
}
