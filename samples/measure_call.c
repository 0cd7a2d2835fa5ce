/* A wrapper that reports the memory one function call used: reset_peak()
 * before, get_traced_memory() after (peak - start = the call's high water
 * mark, current - start = what it kept). */
#include <stdio.h>
#include <stdlib.h>

#include "tm/recorder.h"

typedef void *(*work_fn)(int);

static void *measure(const char *name, work_fn fn, int arg)
{
    size_t start, peak, end;
    tm_reset_peak();
    tm_get_traced_memory(&start, &peak);
    void *result = fn(arg);
    tm_get_traced_memory(&end, &peak);
    printf("%s(%d): peak +%zu B, kept +%zu B\n", name, arg, peak - start, end - start);
    return result;
}

static void *build_and_shrink(int n)
{
    int *tmp = malloc((size_t)n * sizeof(int)); /* temporary working set */
    for (int i = 0; i < n; i++)
        tmp[i] = i;
    int *result = malloc(16 * sizeof(int)); /* what the caller keeps */
    for (int i = 0; i < 16; i++)
        result[i] = tmp[i * (n / 16)];
    free(tmp);
    return result;
}

int main(void)
{
    tm_start(1);
    void *r1 = measure("build_and_shrink", build_and_shrink, 100000);
    void *r2 = measure("build_and_shrink", build_and_shrink, 1000);
    free(r1);
    free(r2);
    tm_stop();
    return 0;
}
