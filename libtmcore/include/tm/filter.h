/*
 * tm/filter.h — which traces take part in statistics (tracemalloc.Filter and
 * tracemalloc.DomainFilter).
 *
 * Semantics are Python's (CPython 3.11 tracemalloc.py), verified by
 * tests/differential:
 *   - a trace is kept if (there is no inclusive filter, or any inclusive
 *     filter matches it) and no exclusive filter matches it;
 *   - a frame filter matches a frame when the frame's filename matches the
 *     pattern and, if has_lineno, the line equals lineno; without all_frames
 *     only the most recent frame is tested, with all_frames any frame;
 *   - a frame filter with has_domain also requires trace.domain == domain
 *     (an inclusive one keeps only that domain; an exclusive one only
 *     excludes traces of that domain);
 *   - a domain filter matches when trace.domain == domain.
 * Filenames are the analysis names of frames (see tm/stats.h, "Frame
 * names"), so filters see exactly what the output prints.
 *
 * Patterns follow Python's fnmatch (not libc's): `*` any run, `?` one
 * character (a code point, not a byte), `[seq]`, `[!seq]` with ranges `a-z`;
 * no backslash escaping, no character classes, a reversed range `[z-a]`
 * matches nothing (and is removed from a larger set), `[` without a closing
 * `]` is literal, matching is case-sensitive and covers the whole name.  A
 * trailing ".pyc" on the pattern or the name is read as ".py".
 */
#ifndef TM_FILTER_H
#define TM_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "tm/error.h"
#include "tm/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tm_filter_kind {
    TM_FILTER_FRAME = 0, /* tracemalloc.Filter */
    TM_FILTER_DOMAIN = 1 /* tracemalloc.DomainFilter */
} tm_filter_kind;

typedef struct tm_filter {
    tm_filter_kind kind;
    int inclusive;       /* 1 = include, 0 = exclude */
    const char *pattern; /* FRAME only; borrowed */
    size_t pattern_len;  /* bytes of pattern; 0 = NUL-terminated */
    int has_lineno;      /* FRAME only: lineno is set (else any line) */
    uint32_t lineno;
    int all_frames; /* FRAME only */
    int has_domain; /* FRAME: restrict to `domain`; DOMAIN: ignored (always) */
    uint32_t domain;
} tm_filter;

/* Largest number of filters one statistics call takes. */
#define TM_FILTER_MAX 64

/* Parses a command-line spec "PATTERN[:LINE]" into a frame filter.  The
 * text after the last ':' is a line number if it is all decimal digits;
 * otherwise the whole spec is the pattern (write "[:]" for a literal colon
 * followed by digits; ":LINE" alone is a pattern).  f->pattern points into
 * `spec` (f->pattern_len set), so spec must outlive f. */
int tm_filter_parse(tm_filter *f, const char *spec, int inclusive, tm_error *err);

/* Snapshot.filter_traces(filters): a new snapshot (owned by the caller)
 * holding the traces the filters keep, with the same strings, modules,
 * frames, stacks and metadata.  No filters: a copy of every trace. */
int tm_snapshot_filter_traces(tm_snapshot **out, const tm_snapshot *snap, const tm_filter *filters,
                              size_t nfilters, tm_error *err);

/* --- patterns ------------------------------------------------------- */

typedef struct tm_pattern tm_pattern;

/* Compiles a pattern (after the ".pyc" -> ".py" normalization). */
int tm_pattern_compile(tm_pattern **out, const char *pattern, size_t len, tm_error *err);
/* 1 if the whole name (normalized the same way) matches, else 0.  Matching
 * never allocates, so it cannot fail: the answer is always the true one. */
int tm_pattern_match(const tm_pattern *p, const char *name, size_t len);
void tm_pattern_free(tm_pattern *p);

/* Python's fnmatch.fnmatchcase(name, pattern), without the .pyc rule:
 * *matched gets 1 or 0.  Compiling the pattern allocates, so this can fail
 * with TM_ENOMEM (then *matched is 0). */
int tm_fnmatch(int *matched, const char *name, const char *pattern, tm_error *err);

#ifdef __cplusplus
}
#endif
#endif
