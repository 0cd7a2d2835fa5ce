/*
 * tm/check.h — memory checks around a unit of work (one test), for any test
 * framework: begin a check, run the test, end it with a threshold, read the
 * report.  tm/gtest.h uses it for GoogleTest; cmocka, Catch2 or a
 * hand-written runner call it directly.
 *
 *   tm_check *c;
 *   tm_check_begin(&c, "suite.test", NULL, &err);
 *   run_the_test();
 *   tm_check_result *r;
 *   tm_check_end(&r, c, 0, &err);           // threshold 0: any growth fails
 *   if (tm_check_result_failed(r))
 *       fputs(tm_check_result_report(r), stderr);
 *   tm_check_result_free(r);
 *
 * What is measured: the live heap traced by the recorder (tm/recorder.h,
 * which must be linked into the program: tmkit::check links it) at the
 * end of the check minus at its beginning.  tm_check_begin starts tracing
 * if it is not running (traceback limit opts->nframe).  The checks' own
 * snapshots are never traced; what the report and the symbolizer allocate
 * is freed, or cached, before tm_check_end returns, so it is live before
 * the next check begins.
 *
 * A check fails when the growth is above the threshold (growth == threshold
 * passes).  The growth is first taken from the snapshots' totals, so a
 * check whose raw growth is within the threshold passes without
 * symbolizing anything; otherwise both snapshots are symbolized in-process
 * (tm/symbolize.h), suppressed traces are removed from both, and the
 * growth is recomputed.  Suppressions: the file opts->suppressions, else
 * the one TM_SUPPRESSIONS names (LeakSanitizer's format: "leak:PATTERN" on
 * a function, file or module of any frame), and built-in ones for the C
 * and C++ runtimes' lazy, never freed allocations (stdio buffers, locale
 * caches, thread-local storage, time zone data).
 *
 * The report of a failed check is text:
 *   memory check NAME failed: live memory grew by 10000 B (+9.8 KiB), threshold 0 B
 *   /src/t.cpp:12: size=9.8 KiB (+9.8 KiB), count=10 (+10), average=1000 B
 *   ...                                   (tracemalloc's compare_to lines,
 *                                          attributed to the program's own
 *                                          lines by tm/attribution.h)
 *   traceback of the largest growth 1 of N:
 *     File "/src/t.cpp", line 12
 *       leak = malloc(1000);
 *   ...
 * With opts->snapshot_dir (else $TM_CHECK_SNAPSHOT_DIR) a failed check
 * also writes DIR/NAME.before.tms and DIR/NAME.after.tms (symbolized, the
 * suppressed traces removed: what was measured; NAME with every character
 * other than [A-Za-z0-9._-] as '_') and the report names them: `tmdiff
 * BEFORE AFTER` shows the same growth from them.
 */
#ifndef TM_CHECK_H
#define TM_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "tm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TM_CHECK_OPTIONS_VERSION 1
typedef struct tm_check_options {
    unsigned version;         /* TM_CHECK_OPTIONS_VERSION */
    unsigned nframe;          /* traceback limit if tracing must start; 0 = 64 */
    const char *suppressions; /* file; NULL: $TM_SUPPRESSIONS (if set) */
    const char *snapshot_dir; /* NULL: $TM_CHECK_SNAPSHOT_DIR (if set); "" none */
    /* Patterns (LeakSanitizer's syntax) matched only against the most recent
     * attributed frame of a trace: a framework's own bookkeeping. */
    const char *const *ignore_top;
    size_t nignore_top;
    size_t top;        /* lines of the report; 0 = 10 */
    size_t tracebacks; /* tracebacks of the report; 0 = 3 */
} tm_check_options;
#define TM_CHECK_OPTIONS_INIT                                                                      \
    {                                                                                              \
        TM_CHECK_OPTIONS_VERSION, 0, NULL, NULL, NULL, 0, 0, 0                                     \
    }

typedef struct tm_check tm_check;
typedef struct tm_check_result tm_check_result;

/* Begins a check named name (for the report and the snapshot files).
 * opts may be NULL.  TM_EINVAL for a bad option, TM_EFORMAT for a bad
 * suppressions file (the message names it and the line). */
int tm_check_begin(tm_check **out, const char *name, const tm_check_options *opts, tm_error *err);
/* Ends check c (always releasing it) and judges growth > threshold bytes. */
int tm_check_end(tm_check_result **out, tm_check *c, uint64_t threshold, tm_error *err);
/* Releases a check without judging it (a test that was skipped). */
void tm_check_abandon(tm_check *c);

int tm_check_result_failed(const tm_check_result *r);
/* Live growth in bytes after suppressions (raw totals when nothing had to
 * be symbolized). */
int64_t tm_check_result_growth(const tm_check_result *r);
/* The growth the suppressions removed: in traces, and in bytes (*size);
 * 0 when nothing had to be symbolized. */
int64_t tm_check_result_suppressed(const tm_check_result *r, int64_t *size);
/* The file and line that grew most (the first line of the report), or NULL
 * when the check passed. */
const char *tm_check_result_where(const tm_check_result *r, uint32_t *line);
/* The text report: empty for a check that passed. */
const char *tm_check_result_report(const tm_check_result *r);
void tm_check_result_free(tm_check_result *r);

/* Parses a threshold: bytes with an optional unit B, K/KiB, M/MiB, G/GiB,
 * T/TiB (1024-based, as tmdiff --fail-on-growth takes it). */
int tm_check_size_parse(uint64_t *out, const char *text, tm_error *err);

/* Frees what the checks cache between calls (the symbolizer, the
 * suppressions); the next check rebuilds it. */
void tm_check_cleanup(void);

#ifdef __cplusplus
}
#endif
#endif
