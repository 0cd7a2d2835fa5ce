/*
 * tm/export.h — pictures and interchange formats made from snapshots.
 *
 *   folded      one line per unique logical stack, "root;caller;...;leaf WEIGHT",
 *               frames oldest first: the input of flamegraph.pl, speedscope,
 *               inferno and most profilers' "collapsed stack" importers.
 *   flamegraph  one self-contained HTML file (inline SVG + JS + CSS, no network
 *               fetches): click a frame to zoom, search box highlighting the
 *               frames whose label contains the text (also `#search=TEXT` in
 *               the URL; `#search=TEXT&zoom=N` restores a view), size /
 *               count / percentage on hover.
 *   diff        the same page for NEW compared to OLD: widths from NEW, colour
 *               by growth (red) or shrink (blue).  Stacks found only in OLD are
 *               drawn too, with their OLD weight as width and their negative
 *               change, so that freed memory stays visible.
 *   pprof       pprof's profile.proto, gzipped (pprof, Grafana/Pyroscope, Parca):
 *               a heap profile with sample types inuse_objects/count and
 *               inuse_space/bytes, mappings, locations whose Lines are the
 *               inline chain (innermost first), functions with file and
 *               line, and the metadata as comments.  Hidden frames are left
 *               out.  Given a base, one profile of NEW plus BASE negated
 *               with the label pprof::base=true: what `pprof -diff_base`
 *               makes of the two.
 *   timeline    an SVG chart of traced current and peak memory over a series of
 *               snapshots (e.g. app.1.tms, app.2.tms, ... from the recorder's
 *               interval trigger).
 *
 * Logical stacks.  A stack node's frame is the innermost inlined function;
 * its `inlined_by` chain links outward at the same address.  Exports expand
 * that chain (tm_stack_walk, tm/snapshot.h), so one native frame may become
 * several labels (outermost first).  A frame's label is its function name
 * if symbolized, else "file:line", else "<unknown>".  Traces with an empty
 * stack count under a single "<unknown>" frame.  Stacks whose labels are equal (e.g. two return
 * addresses in the same function) are merged.
 *
 * Folded escaping.  Consumers split lines on ';' and take the weight after
 * the last space, and none of them knows an escape syntax, so labels are
 * written with '\' -> "\\", ';' -> "\x3b", newline -> "\n", CR -> "\r",
 * other control bytes -> "\xHH".  Spaces are kept (C++ names have them).
 * Lines come in a stable order: depth-first, siblings sorted by label bytes.
 *
 * Output goes to a stdio stream; write errors are reported as TM_EIO.  Use
 * tm_output_open() for a file that appears atomically (temp file + rename).
 */
#ifndef TM_EXPORT_H
#define TM_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tm/attribution.h"
#include "tm/error.h"
#include "tm/output.h" /* tm_output_open() for atomic export files */
#include "tm/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    TM_EXPORT_WEIGHT_SIZE = 0, /* bytes (default) */
    TM_EXPORT_WEIGHT_COUNT = 1 /* number of allocations */
};

enum {
    TM_EXPORT_PROGRESS_AUTO = 0, /* progress on stderr if it is a terminal */
    TM_EXPORT_PROGRESS_OFF = 1
};

#define TM_EXPORT_OPTIONS_VERSION 2
typedef struct tm_export_options {
    unsigned version;  /* TM_EXPORT_OPTIONS_VERSION */
    int weight;        /* TM_EXPORT_WEIGHT_* */
    const char *title; /* page / picture title; NULL = a default */
    int progress;      /* TM_EXPORT_PROGRESS_* */
    double min_width;  /* flame graphs: leave out frames narrower than this
                             fraction of the whole (0 = keep all; 1e-4 keeps a
                             page of a million stacks small); their weight
                             stays in the parent's total */
    /* Version 2: which native frames are hidden, as in statistics
     * (tm/attribution.h); NULL = the default rules.  A version 1 struct
     * (without it) is still accepted and gets the defaults. */
    const tm_attribution_options *attribution;
} tm_export_options;
#define TM_EXPORT_OPTIONS_INIT                                                                     \
    {                                                                                              \
        TM_EXPORT_OPTIONS_VERSION, TM_EXPORT_WEIGHT_SIZE, NULL, TM_EXPORT_PROGRESS_AUTO, 0.0, NULL \
    }

/* The function form of TM_EXPORT_OPTIONS_INIT; TM_EINVAL for a version
 * this library does not know. */
int tm_export_options_init(tm_export_options *opts, unsigned version, tm_error *err);

/* opts may be NULL for defaults in every call below. */

int tm_export_folded(const tm_snapshot *snap, const tm_export_options *opts, FILE *out,
                     tm_error *err);

int tm_export_flamegraph(const tm_snapshot *snap, const tm_export_options *opts, FILE *out,
                         tm_error *err);

int tm_export_diff_flamegraph(const tm_snapshot *old_snap, const tm_snapshot *new_snap,
                              const tm_export_options *opts, FILE *out, tm_error *err);

/* A gzipped profile.proto of snap, or of snap minus base when base is not
 * NULL.  opts' weight, title and min_width do not apply.  TM_ELIMIT when a
 * stack's bytes exceed pprof's int64. */
int tm_export_pprof(const tm_snapshot *snap, const tm_snapshot *base, const tm_export_options *opts,
                    FILE *out, tm_error *err);

/* snaps[i] is named names[i] (a file name, shown in tooltips; names may be
 * NULL).  Points are ordered by metadata.snapshot_time_ns when every snapshot
 * has one, else by metadata.sequence when those differ, else as given; the x
 * axis is seconds since the first snapshot, or the snapshot number.  A
 * snapshot without traced_current (e.g. a Python dump) uses the sum of its
 * trace sizes, and its peak is at least its current. */
int tm_export_timeline(const tm_snapshot *const *snaps, const char *const *names, size_t n,
                       const tm_export_options *opts, FILE *out, tm_error *err);

#ifdef __cplusplus
}
#endif
#endif
