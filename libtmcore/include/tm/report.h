/*
 * tm/report.h — the tmstat / tmdiff command lines (tools/tmstat.c and
 * tools/tmdiff.c are thin mains around this), so the two share one option
 * parser and one set of output formats.
 *
 *   tmstat SNAPSHOT [options]      snapshot.statistics(key, cumulative)
 *   tmdiff OLD NEW [options]       new.compare_to(old, key, cumulative)
 *
 * Options (also as --opt=VALUE):
 *   --by KEY          lineno (default) | filename | traceback | function | module
 *   --cumulative      add each trace to every frame of its stack
 *   --top N           print the first N statistics (default 10; 0 = all)
 *   --include PATTERN[:LINE]   keep traces whose most recent frame (every
 *   --exclude PATTERN[:LINE]   frame with --all-frames) matches; repeatable
 *   --all-frames      pattern filters look at every frame
 *   --filter-domain N pattern filters only concern domain N (Filter(domain=N))
 *   --domain N        keep only domain N (DomainFilter(True, N)); repeatable
 *   --exclude-domain N  drop domain N (DomainFilter(False, N)); repeatable
 *   --limit N         traceback frames printed with --by traceback, as
 *                     Traceback.format(limit=N): N > 0 keeps the N most
 *                     recent, N < 0 drops the -N most recent; default all
 *   --most-recent-first   print tracebacks most recent frame first
 *   --format F        text (default) | json | csv
 *   --no-header       text: omit the "[ Top N KEY ]" line
 *   --timing          print load / statistics / output times on stderr
 *   --fail-on-growth SIZE  (tmdiff) exit 1 if the filtered total grew by
 *                     more than SIZE bytes (suffix K, M, G, T = KiB ...)
 *
 * Text output: an optional header line "[ Top N KEY ]" (N = statistics
 * printed; KEY followed by " cumulative" when set; tmdiff: "[ Top N
 * differences KEY ]"), then one line per statistic, exactly Python's
 * str(stat); with --by traceback each is followed by its
 * stat.traceback.format(limit) lines.
 *
 * JSON output (one object):
 *   {"tool": "tmstat"|"tmdiff", "key": KEY, "cumulative": BOOL,
 *    "total_size": N, "total_count": N,            (after filters; NEW for tmdiff)
 *    "old_total_size": N, "old_total_count": N,    (tmdiff only)
 *    "groups": N,                                  (all groups, before --top)
 *    "statistics": [ {"text": str(stat), "traceback": [{"filename": S,
 *        "lineno": N}, ...oldest first], "size": N, "count": N,
 *        "average": X (absent when count is 0), "size_diff": N,
 *        "count_diff": N (tmdiff only)} ... ]}
 *   Strings are UTF-8; bytes that are not valid UTF-8 become \u00XX.
 * CSV output (RFC 4180, header row first):
 *   rank,filename,lineno,size,count,average[,size_diff,count_diff],traceback
 *   filename/lineno are str(traceback)'s frame (for function/module keys
 *   the name, lineno empty), average is empty when count is 0, traceback
 *   is the frames "FILE:LINE" oldest first joined by ";".
 *
 * Exit codes: 0 success, 1 --fail-on-growth tripped, 2 usage or input
 * error with a message on stderr naming the file.
 */
#ifndef TM_REPORT_H
#define TM_REPORT_H

#include "tm/error.h"
#include "tm/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int (*tm_report_loader)(const char *path, tm_snapshot **out, tm_error *err);

/* Runs tmstat (diff = 0) or tmdiff (diff = 1) and returns the exit code. */
int tm_report_main(int argc, char **argv, int diff, tm_report_loader load);

#ifdef __cplusplus
}
#endif
#endif
