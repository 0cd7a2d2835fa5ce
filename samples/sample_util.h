/* Helpers shared by the samples: take a symbolized snapshot, print the top
 * statistics the way Python's tracemalloc examples do. */
#ifndef SAMPLE_UTIL_H
#define SAMPLE_UTIL_H

#include "tm/diff.h"
#include "tm/recorder.h"
#include "tm/render.h"
#include "tm/snapshot.h"
#include "tm/stats.h"
#include "tm/symbolize.h"

/* tracemalloc.take_snapshot(), then symbolized (file:line).  Exits on error. */
tm_snapshot *sample_take_snapshot(void);

/* snapshot.statistics(key) with optional filters; prints "[ Top N ... ]" and
 * the first `top` lines.  Returns the total size of all statistics. */
uint64_t sample_print_top(const tm_snapshot *s, tm_key_type key, const tm_filter *filters,
                          size_t nfilters, size_t top, const char *title);

/* new.compare_to(old, key); prints the first `top` lines; returns the sum of
 * size_diff over all groups. */
int64_t sample_print_diff(const tm_snapshot *new_snap, const tm_snapshot *old_snap, tm_key_type key,
                          const tm_filter *filters, size_t nfilters, size_t top, const char *title);

/* A filter that keeps only traces whose most recent frame is in a file
 * matching pattern (Python: Filter(True, pattern)). */
tm_filter sample_include(const char *pattern);
tm_filter sample_exclude(const char *pattern);

/* "12.3 KiB" as tracemalloc prints sizes (static buffer). */
const char *sample_size(uint64_t n);

#endif
