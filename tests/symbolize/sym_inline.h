/* Inline helpers shared by the symbolizer test programs: at -O2 they are
 * inlined into their callers, nested two and three deep. */
#ifndef SYM_INLINE_H
#define SYM_INLINE_H
#include <stdlib.h>

extern volatile int sym_sink;

static inline int sym_leaf(int x)
{
    sym_sink += x;
    return x * 3 + 1;
}

static inline int sym_middle(int x)
{
    int a = sym_leaf(x);
    if (a & 1)
        a += sym_leaf(a);
    return a;
}

static inline __attribute__((always_inline)) int sym_outer(int x)
{
    int v = sym_middle(x) + sym_middle(x + 1);
    sym_sink ^= v;
    return v;
}

static inline void *sym_alloc(size_t n)
{
    void *p = malloc(n);
    sym_sink += p != NULL;
    return p;
}
#endif
