/* Growth over iterations: compare each iteration's snapshot with the first
 * one, and print what keeps growing. */
#include <stdio.h>
#include <stdlib.h>

#include "sample_util.h"

static void *history[64];

static void step(int i)
{
    history[i] = malloc(1000 * (size_t)(i + 1)); /* grows every iteration */
    void *tmp = malloc(5000);                    /* temporary: freed */
    free(tmp);
}

int main(void)
{
    tm_start(5);
    tm_filter keep = sample_include("*growth.c");
    tm_snapshot *first = sample_take_snapshot();
    for (int i = 0; i < 5; i++) {
        step(i);
        tm_snapshot *now = sample_take_snapshot();
        char title[64];
        snprintf(title, sizeof(title), "iteration %d compared to the start", i + 1);
        int64_t grew = sample_print_diff(now, first, TM_KEY_LINENO, &keep, 1, 3, title);
        printf("total growth: %lld B\n", (long long)grew);
        tm_snapshot_free(now);
    }
    tm_snapshot_free(first);
    for (int i = 0; i < 5; i++)
        free(history[i]);
    tm_stop();
    return 0;
}
