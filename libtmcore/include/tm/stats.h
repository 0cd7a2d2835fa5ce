/*
 * tm/stats.h — grouping traces into statistics (tracemalloc's
 * Snapshot.statistics), and the result type shared with tm/diff.h.
 *
 * Key types:
 *   lineno     group by the most recent frame (filename, lineno)
 *   filename   group by the most recent frame's filename (lineno 0)
 *   traceback  group by the whole logical stack
 *   function   (native extra) by the most recent frame's function name
 *   module     (native extra) by the most recent frame's module path
 * cumulative adds each trace to every frame of its stack (a frame repeated
 * in one stack counts each time, as Python does); it is valid for every key
 * but traceback (TM_EINVAL, as Python's ValueError).
 *
 * Order: descending by (size, count, traceback), tracebacks compared frame
 * by frame oldest first by (filename, lineno), filenames by code point
 * (byte order of UTF-8), a prefix first — Python's tuple order exactly.
 *
 * Logical frames: a stack node points to the innermost frame inlined at its
 * address; `inlined_by` links outward.  Analysis expands every node frame
 * through that chain (tm_stack_walk in tm/snapshot.h), so a traceback lists
 * inlined calls as frames of their own (most recent first inside the
 * chain).  Python snapshots have none.
 *
 * Frame names (what filters match and output prints), per tm_frame:
 *   file != 0                   (string(file), line)
 *   else module != TM_NONE      ("MODULEPATH(FUNCTION)", 0) when the symbol
 *                               tables name it, as glibc's backtrace_symbols
 *                               writes it; else ("MODULEPATH+0xOFFSET", 0),
 *                               lowercase hex: unsymbolized frames stay
 *                               distinguishable
 *   else function or offset set ("<unknown>", 0)
 *   else                        ("", line) — a Python frame with filename ""
 * The empty stack (node 0) reads as one frame ("<unknown>", 0), which is
 * what tracemalloc stores when it has no frame.
 * function key: string(function) if set, else the frame name above without
 * line; module key: the module path if module != TM_NONE, else the frame's
 * filename (so Python snapshots group by file); filename key: the module
 * path for a native frame without a file, else the frame name.
 * Native frames of the runtime's allocation machinery are hidden first
 * (tm/attribution.h): every key sees the stacks as attributed.  These two keys print as
 * "NAME: size=..." (no ":LINE").
 */
#ifndef TM_STATS_H
#define TM_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "tm/attribution.h"
#include "tm/error.h"
#include "tm/filter.h"
#include "tm/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tm_key_type {
    TM_KEY_LINENO = 0,
    TM_KEY_FILENAME = 1,
    TM_KEY_TRACEBACK = 2,
    TM_KEY_FUNCTION = 3,
    TM_KEY_MODULE = 4
} tm_key_type;

/* "lineno" ... "module" -> key; TM_EINVAL naming the choices otherwise. */
int tm_key_type_parse(tm_key_type *out, const char *name, tm_error *err);
const char *tm_key_type_name(tm_key_type key);

/* Version 2 added `attribution`; a version 1 struct (without it) is still
 * accepted and gets the default attribution. */
#define TM_STATS_OPTIONS_VERSION 2
typedef struct tm_stats_options {
    unsigned version; /* TM_STATS_OPTIONS_VERSION */
    tm_key_type key;
    int cumulative;
    const tm_filter *filters; /* applied as Snapshot.filter_traces(filters), to the
                                   stacks as attributed (tm/attribution.h) */
    size_t nfilters;          /* <= TM_FILTER_MAX */
    /* Which native frames are hidden (tm/attribution.h); NULL: the default
     * rules.  Python snapshots are never affected. */
    const tm_attribution_options *attribution;
} tm_stats_options;
#define TM_STATS_OPTIONS_INIT                                                                      \
    {                                                                                              \
        TM_STATS_OPTIONS_VERSION, TM_KEY_LINENO, 0, NULL, 0, NULL                                  \
    }
/* The function form of TM_STATS_OPTIONS_INIT, for bindings that cannot use
 * the macro.  version is the TM_STATS_OPTIONS_VERSION the caller was built
 * with; TM_EINVAL if this library does not know it. */
int tm_stats_options_init(tm_stats_options *opts, unsigned version, tm_error *err);

typedef struct tm_stat_frame {
    const char *filename; /* NUL-terminated, owned by the tm_stats */
    uint32_t filename_len;
    uint32_t lineno;
} tm_stat_frame;

typedef struct tm_statistic {
    const tm_stat_frame *frames; /* oldest first, like Python's Traceback */
    size_t nframes;              /* >= 1 */
    uint64_t size;
    uint64_t count;
    int64_t size_diff; /* tm/diff.h results only, else 0 */
    int64_t count_diff;
} tm_statistic;

typedef struct tm_stats tm_stats;

/* snapshot.statistics(key, cumulative) after filter_traces(filters).  The
 * result owns copies of all strings: the snapshot may be freed first.
 * opts may be NULL: TM_STATS_OPTIONS_INIT (key lineno, no filters). */
int tm_stats_compute(tm_stats **out, const tm_snapshot *snap, const tm_stats_options *opts,
                     tm_error *err);

size_t tm_stats_count(const tm_stats *st);
const tm_statistic *tm_stats_items(const tm_stats *st); /* sorted */
tm_key_type tm_stats_key(const tm_stats *st);
int tm_stats_cumulative(const tm_stats *st);
int tm_stats_is_diff(const tm_stats *st);
/* Size and number of the traces kept by the filters (new snapshot for a
 * diff), and for a diff the same for the old snapshot. */
uint64_t tm_stats_total_size(const tm_stats *st);
uint64_t tm_stats_total_count(const tm_stats *st);
uint64_t tm_stats_old_total_size(const tm_stats *st);
uint64_t tm_stats_old_total_count(const tm_stats *st);
/* Attribution: how many of the traces above (new snapshot for a diff) had
 * their most recent frame hidden, so that they count at a caller's line,
 * and how many distinct frames of the snapshot(s) were hidden.  Output
 * says so whenever either is not 0. */
uint64_t tm_stats_hidden_traces(const tm_stats *st);
uint64_t tm_stats_hidden_frames(const tm_stats *st);
/* Sampled snapshots (tm_metadata.sample_rate != 0, tm/sample.h): every
 * size, count, diff and total above is then the Horvitz-Thompson estimate
 * (sum of w(s) * s and of w(s) over the kept traces, w = 1 / p), rounded
 * to the nearest integer per group, and groups are ordered by those
 * estimates.  A diff compares the two sides' estimates, whatever their
 * rates (an exact side is its own estimate, with variance 0).  The rates:
 * of the new (or only) snapshot, and of the old one of a diff. */
uint64_t tm_stats_sample_rate(const tm_stats *st);
uint64_t tm_stats_old_sample_rate(const tm_stats *st);

/* Standard errors of one statistic (square roots of the variance
 * estimates of tm/sample.h; 0 for an exact snapshot).  In a diff, size and
 * count are the new side's, old_* the old side's, and *_diff those of the
 * difference: sqrt(var new + var old), the sides being independent. */
typedef struct tm_stat_error {
    double size, count;
    double old_size, old_count;
    double size_diff, count_diff;
} tm_stat_error;
/* One per item, in the order of tm_stats_items. */
const tm_stat_error *tm_stats_errors(const tm_stats *st);
/* The same for the totals (tm_stats_total_size ... old_total_count). */
tm_stat_error tm_stats_total_error(const tm_stats *st);

void tm_stats_free(tm_stats *st);

#ifdef __cplusplus
}
#endif
#endif
