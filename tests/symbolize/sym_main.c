/* C test program for the symbolizer: static and global functions, inlining
 * from a header, a function pointer, recursion and a noreturn call. */
#include <stdio.h>
#include <stdlib.h>
#include "sym_inline.h"

volatile int sym_sink;
int sym_lib_entry(int n);

static __attribute__((noinline)) int recurse(int n)
{
    if (n <= 0)
        return sym_outer(n);
    return recurse(n - 1) + (int)(sym_sink & 1);
}

static int apply(int (*fn)(int), int v)
{
    return fn(v) + 1;
}

__attribute__((noinline)) void die_now(const char *why)
{
    fprintf(stderr, "%s\n", why);
    abort();
}

static __attribute__((noinline)) int twice(int v)
{
    return sym_middle(v) * 2;
}

int main(int argc, char **argv)
{
    (void)argv;
    void *p = sym_alloc(16);
    int r = recurse(argc + 3);
    r += apply(twice, argc);
    r += sym_lib_entry(argc);
    if (r == 12345)
        die_now("unlikely");
    free(p);
    printf("%d\n", r & 1);
    return 0;
}
