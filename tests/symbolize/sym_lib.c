/* Built as a shared library (and linked into the static variants). */
#include "sym_inline.h"

int sym_lib_entry(int n);

static __attribute__((noinline)) int lib_static_helper(int n)
{
    int s = 0;
    for (int i = 0; i < n; i++)
        s += sym_outer(i);
    return s;
}

int sym_lib_entry(int n)
{
    void *p = sym_alloc((size_t)n + 1);
    int r = lib_static_helper(n);
    free(p);
    return r + sym_middle(n);
}
