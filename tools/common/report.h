/*
 * tools/common/report.h — the tmstat / tmdiff command lines (tools/tmstat.c and
 * tools/tmdiff.c are thin mains around this), so the two share one option
 * parser and one set of output formats.
 *
 *   tmstat SNAPSHOT [options]      snapshot.statistics(key, cumulative)
 *   tmdiff OLD NEW [options]       new.compare_to(old, key, cumulative)
 *
 * Options (also as --opt=VALUE, or abbreviated while unambiguous):
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
 *   --as-recorded     native stacks exactly as recorded: hide no frame of the
 *                     C/C++ runtime (tm/attribution.h; hidden by default)
 *   --hide PATTERN    also hide native frames whose function, file or module
 *                     matches (fnmatch); repeatable
 *   --hide-rules      print the default hiding rules and exit
 *   --format F        text (default) | json | csv
 *   --no-header       text: omit the "[ Top N KEY ]" line
 *   --timing          print load / statistics / output times on stderr
 *   --max-memory SIZE stop with exit 2 once tmkit would hold more than SIZE
 *                     (default: TM_MAX_MEMORY, else 1/4 of physical memory)
 *
 * Gates (for CI; doc/gates.md has examples):
 *   --fail-on-growth SIZE  (tmdiff) fail if the total after filters grew
 *                     (NEW - OLD) by more than SIZE
 *   --fail-above SIZE (tmstat) fail if the total size after filters is
 *                     above SIZE
 *   --per-group       test every group of --by KEY instead of the total:
 *                     tmdiff its size_diff, tmstat its size; all groups
 *                     count, not only the --top printed
 *   --min-growth SIZE (tmdiff) a growth of SIZE or less never fails; with a
 *                     percentage it is the noise floor (default 0)
 *   SIZE: a decimal number (up to 6 decimals) with an optional unit B, K or
 *   KiB, M or MiB, G or GiB, T or TiB (case-insensitive, 1024-based, one
 *   space allowed before it), rounded to the nearest byte; kB, MB, GB, TB
 *   are refused as ambiguous.  tmdiff also takes "N%": growth relative to
 *   the OLD size (of the total, or per group of that group: a group absent
 *   from OLD has old size 0, so any growth of it beyond --min-growth fails
 *   a relative per-group gate).  Equality holds: growth == limit passes.
 *   Report: when a gate fails, stdout still carries the normal output and
 *   stderr gets "PROG: gate failed: ..." (the measured value, the limit and
 *   the options) followed by the offending groups as Python prints them
 *   (--per-group: the failing ones, largest growth first, at most 10; total:
 *   the 5 largest growing groups).  When it holds, one line "PROG: gate
 *   passed: ..." on stderr.
 *   Suppressions: with a gate, TM_SUPPRESSIONS=FILE (LeakSanitizer's format,
 *   leak:PATTERN on a function, file or module of any frame;
 *   tools/common/suppress.h) removes matching traces from every snapshot
 *   first, with a note "PROG: FILE: N traces (SIZE) suppressed by
 *   TM_SUPPRESSIONS" on stderr; a malformed file is an input error.
 *
 * Text output: an optional header line "[ Top N KEY ]" (N = statistics
 * printed; KEY followed by " cumulative" when set; tmdiff: "[ Top N
 * differences KEY ]"), then one line per statistic, exactly Python's
 * str(stat); with --by traceback each is followed by its
 * stat.traceback.format(limit) lines.  A sampled snapshot adds the header
 * line "[ sampled: sizes and counts are estimates from a Poisson sample,
 * one per R on average ]" (on stderr with --no-header and for CSV).
 *
 * JSON output (one object):
 *   {"tool": "tmstat"|"tmdiff", "key": KEY, "cumulative": BOOL,
 *    "sample_rate": N, "old_sample_rate": N,       (0 exact; old_: tmdiff only)
 *    "total_size": N, "total_count": N,            (after filters; NEW for tmdiff)
 *    "old_total_size": N, "old_total_count": N,    (tmdiff only)
 *    "groups": N,                                  (all groups, before --top)
 *    "statistics": [ {"text": str(stat), "traceback": [{"filename": S,
 *        "lineno": N}, ...oldest first], "size": N, "count": N,
 *        "average": X (absent when count is 0), "size_diff": N,
 *        "count_diff": N (tmdiff only)} ... ],
 *    "gate": {...} (only with a gate option)}
 *   gate: {"option": "--fail-on-growth"|"--fail-above", "spec": SIZE as
 *     given, "scope": "total"|"per_group", "mode": "absolute"|"relative",
 *     "limit_bytes": N|null, "limit_percent": X|null, "min_growth": N,
 *     "measured_bytes": N (total: growth / size; per group: the largest),
 *     "measured_percent": X|null, "passed": BOOL, "failing_groups": N,
 *     "failing": [statistic objects, largest first, at most --top]}
 *   Strings are UTF-8; bytes that are not valid UTF-8 become \u00XX.
 *   A sampled side (a sample_rate not 0) makes every size and count an
 *   estimate and adds standard errors: *_stderr after each statistic's
 *   count and count_diff and after the totals (doc/sampling.md).
 *   The JSON Schema (draft 2020-12) of the whole object, every member
 *   described, is doc/report-schema.json.
 * CSV output (RFC 4180, header row first):
 *   rank,filename,lineno,size,count,average[,size_diff,count_diff],traceback
 *   filename/lineno are str(traceback)'s frame (for function/module keys
 *   the name, lineno empty), average is empty when count is 0, traceback
 *   is the frames "FILE:LINE" oldest first joined by ";".
 *
 * Exit codes: 0 success (a gate, if given, holds), 1 a gate failed, 2 usage
 * or input error (including a malformed SIZE) with a message on stderr
 * naming the file or option; an error wins over a gate.
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
