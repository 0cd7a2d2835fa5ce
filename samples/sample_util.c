#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample_util.h"

static void die(const char *what, const tm_error *err)
{
    fprintf(stderr, "%s: %s\n", what, err->message);
    exit(2);
}

tm_snapshot *sample_take_snapshot(void)
{
    tm_snapshot *s = NULL;
    tm_error err;
    if (tm_take_snapshot(&s, &err) != TM_OK)
        die("take_snapshot", &err);
    if (tm_symbolize_snapshot(NULL, s, NULL, &err) != TM_OK)
        die("symbolize", &err);
    return s;
}

static void print_stats(const tm_stats *st, size_t top, const char *title)
{
    size_t n = tm_stats_count(st);
    printf("[ %s ]\n", title);
    for (size_t i = 0; i < n && i < top; i++) {
        tm_render_stat(stdout, st, &tm_stats_items(st)[i], NULL);
        putchar('\n');
    }
}

uint64_t sample_print_top(const tm_snapshot *s, tm_key_type key, const tm_filter *filters,
                          size_t nfilters, size_t top, const char *title)
{
    tm_stats_options o = TM_STATS_OPTIONS_INIT;
    o.key = key;
    o.filters = filters;
    o.nfilters = nfilters;
    tm_stats *st = NULL;
    tm_error err;
    if (tm_stats_compute(&st, s, &o, &err) != TM_OK)
        die("statistics", &err);
    print_stats(st, top, title);
    uint64_t total = tm_stats_total_size(st);
    tm_stats_free(st);
    return total;
}

int64_t sample_print_diff(const tm_snapshot *new_snap, const tm_snapshot *old_snap, tm_key_type key,
                          const tm_filter *filters, size_t nfilters, size_t top, const char *title)
{
    tm_stats_options o = TM_STATS_OPTIONS_INIT;
    o.key = key;
    o.filters = filters;
    o.nfilters = nfilters;
    tm_stats *st = NULL;
    tm_error err;
    if (tm_stats_compare(&st, new_snap, old_snap, &o, &err) != TM_OK)
        die("compare_to", &err);
    print_stats(st, top, title);
    int64_t sum = 0;
    for (size_t i = 0; i < tm_stats_count(st); i++)
        sum += tm_stats_items(st)[i].size_diff;
    tm_stats_free(st);
    return sum;
}

static tm_filter make_filter(const char *pattern, int inclusive)
{
    tm_filter f;
    memset(&f, 0, sizeof(f));
    f.kind = TM_FILTER_FRAME;
    f.inclusive = inclusive;
    f.pattern = pattern;
    return f;
}

tm_filter sample_include(const char *pattern)
{
    return make_filter(pattern, 1);
}
tm_filter sample_exclude(const char *pattern)
{
    return make_filter(pattern, 0);
}

const char *sample_size(uint64_t n)
{
    static char buf[TM_SIZE_TEXT_MAX];
    return tm_format_size_u64(buf, n, 0);
}
