/*
 * tm/diff.h — comparing two snapshots (tracemalloc's Snapshot.compare_to).
 *
 * tm_stats_compare(out, new, old, opts) equals new.compare_to(old, key,
 * cumulative) with both snapshots first filtered by opts->filters: one
 * statistic per group of the new snapshot (size_diff = size - old size, or
 * size when the group is new) and one per group only in the old snapshot
 * (size 0, count 0, negative diffs).  Unchanged groups are kept (diff 0).
 * Order: descending by (|size_diff|, size, |count_diff|, count, traceback).
 * Groups are matched by value (filenames and lines), so the two snapshots
 * may come from different files and formats.  opts may be NULL
 * (TM_STATS_OPTIONS_INIT).
 */
#ifndef TM_DIFF_H
#define TM_DIFF_H

#include "tm/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

int tm_stats_compare(tm_stats **out, const tm_snapshot *new_snap, const tm_snapshot *old_snap,
                     const tm_stats_options *opts, tm_error *err);

#ifdef __cplusplus
}
#endif
#endif
