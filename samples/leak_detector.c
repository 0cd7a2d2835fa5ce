/* A leak detector with a baseline: snapshot before a unit of work, snapshot
 * after it, and report every line whose memory is still held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample_util.h"

static char *leaked[10];

static void handle_request(int i)
{
    char *scratch = malloc(4096); /* freed: not a leak */
    snprintf(scratch, 4096, "request %d", i);
    leaked[i] = malloc(strlen(scratch) + 1); /* never freed: the leak */
    strcpy(leaked[i], scratch);
    free(scratch);
}

int main(void)
{
    tm_start(16);
    tm_snapshot *baseline = sample_take_snapshot();
    for (int i = 0; i < 10; i++)
        handle_request(i);
    tm_snapshot *after = sample_take_snapshot();
    tm_filter keep = sample_include("*leak_detector.c");
    keep.all_frames = 1; /* a frame of this file anywhere in the stack */
    int64_t grew = sample_print_diff(after, baseline, TM_KEY_TRACEBACK, &keep, 1, 5,
                                     "Still allocated since the baseline");
    printf("leaked: %lld B\n", (long long)grew);

    /* Where it comes from: the biggest group's traceback, most recent call
     * last, as stat.traceback.format() prints it. */
    tm_stats_options o = TM_STATS_OPTIONS_INIT;
    o.key = TM_KEY_TRACEBACK;
    o.filters = &keep;
    o.nfilters = 1;
    tm_stats *st = NULL;
    tm_linecache *lc = NULL;
    tm_error err;
    if (tm_stats_compare(&st, after, baseline, &o, &err) == TM_OK &&
        tm_linecache_new(&lc, &err) == TM_OK && tm_stats_count(st) > 0) {
        tm_render_traceback(stdout, lc, &tm_stats_items(st)[0], 1, 4, 0, NULL);
    }
    tm_linecache_free(lc);
    tm_stats_free(st);
    tm_snapshot_free(baseline);
    tm_snapshot_free(after);
    tm_stop();
    return grew > 0 ? 0 : 1;
}
