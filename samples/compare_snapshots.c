/* Two snapshots compared: snapshot2.compare_to(snapshot1, 'lineno'). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample_util.h"

static char *grow_strings(int n)
{
    char *last = NULL;
    for (int i = 0; i < n; i++) {
        last = malloc(100);
        strcpy(last, "kept on purpose");
    }
    return last;
}

int main(void)
{
    tm_start(10);
    tm_snapshot *s1 = sample_take_snapshot();
    grow_strings(1000);
    void *big = malloc(100000);
    tm_snapshot *s2 = sample_take_snapshot();
    tm_filter keep = sample_include("*compare_snapshots.c");
    sample_print_diff(s2, s1, TM_KEY_LINENO, &keep, 1, 10, "Top 10 differences");
    tm_snapshot_free(s1);
    tm_snapshot_free(s2);
    free(big);
    tm_stop();
    return 0;
}
