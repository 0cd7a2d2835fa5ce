/* Include / exclude filters: Filter(True, pattern), Filter(False, pattern),
 * DomainFilter, as tracemalloc's filter_traces(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample_util.h"

int main(void)
{
    tm_start(1);
    void *a = malloc(3000);
    void *b = malloc(2000);
    char *c = strdup("libc allocates this one");
    static char pool[4096];
    tm_track(5, (uintptr_t)pool, sizeof(pool)); /* a custom allocator's block */
    tm_snapshot *s = sample_take_snapshot();

    sample_print_top(s, TM_KEY_LINENO, NULL, 0, 5, "No filter");
    tm_filter only_mine = sample_include("*filters.c");
    sample_print_top(s, TM_KEY_LINENO, &only_mine, 1, 5, "Only this file");
    tm_filter not_unknown[2] = { sample_exclude("<unknown>"), sample_exclude("") };
    tm_error err;
    if (tm_filter_parse(&not_unknown[1], "*filters.c:16", 0, &err) != TM_OK) { /* PATTERN:LINE */
        fprintf(stderr, "%s\n", err.message);
        return 2;
    }
    sample_print_top(s, TM_KEY_LINENO, not_unknown, 2, 5,
                     "Excluding <unknown> and line 16 of this file");
    tm_filter domain;
    memset(&domain, 0, sizeof(domain));
    domain.kind = TM_FILTER_DOMAIN;
    domain.inclusive = 1;
    domain.domain = 5;
    sample_print_top(s, TM_KEY_LINENO, &domain, 1, 5, "Domain 5 only");
    tm_snapshot_free(s);
    tm_untrack(5, (uintptr_t)pool);
    free(a);
    free(b);
    free(c);
    tm_stop();
    return 0;
}
