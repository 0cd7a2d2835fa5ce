/*
 * Private to tmstat / tmdiff (report.c, report_gate.c): the JSON writers the
 * report and its gate object share, and the CI gates (--fail-on-growth,
 * --fail-above, --per-group, --min-growth).  Their semantics are documented
 * in report.h, which is the manual.
 */
#ifndef TM_REPORT_INTERNAL_H
#define TM_REPORT_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "tm/error.h"
#include "tm/stats.h"

/* A JSON string of n bytes as report.h promises: valid UTF-8 copied, every
 * other byte as \u00XX (tm_json.h). */
void rp_json_str(FILE *out, const char *s, size_t n);
/* One statistic as a JSON object (see report.h, "statistics"). */
void rp_json_stat(FILE *out, const tm_stats *st, const tm_statistic *s, int diff);
/* Either side of st is a sampled snapshot: its numbers are estimates. */
int rp_sampled(const tm_stats *st);

/* Percentages keep 6 decimals: 5% is 5000000. */
#define RP_PCT_SCALE UINT64_C(1000000)

typedef struct rp_size {
    int relative;   /* "N%" */
    uint64_t bytes; /* absolute: bytes, rounded to the nearest byte */
    uint64_t pct;   /* relative: percent * RP_PCT_SCALE */
} rp_size;

/* Parses SIZE: a decimal number (up to 6 decimals) with an optional unit
 * B, K/KiB, M/MiB, G/GiB, T/TiB (case-insensitive, 1024-based, one space
 * allowed before it), or a percentage "N%" when allow_pct.  SI spellings
 * (kB, MB, ...) are refused as ambiguous.  On error writes a message
 * (without the option name) to msg and returns -1. */
int rp_size_parse(const char *s, int allow_pct, rp_size *out, char *msg, size_t msglen);

typedef struct rp_gate {
    int set;  /* a gate option was given */
    int diff; /* tmdiff (growth) rather than tmstat (size) */
    int per_group;
    const char *option; /* "--fail-on-growth" / "--fail-above" */
    const char *spec;   /* SIZE as given */
    rp_size limit;
    const char *min_spec; /* --min-growth as given, or NULL */
    uint64_t min_growth;
    /* results of rp_gate_eval */
    int passed;
    int64_t measured; /* total: growth (tmdiff) or size; per group: the worst group's */
    int has_pct;      /* measured_pct is defined (old size > 0) */
    double measured_pct;
    const tm_statistic *worst; /* per group: the group with the largest value */
    uint64_t limit_bytes; /* the limit in bytes when it has one (absolute, or relative total) */
    int has_limit_bytes;
    size_t nfailing;
    const tm_statistic **failing; /* malloc'ed, stats order (largest growth first) */
} rp_gate;

/* Evaluates the gate over st (every group, not only those printed).
 * Returns 0, or -1 when out of memory. */
int rp_gate_eval(rp_gate *g, const tm_stats *st);
/* The short human report on stderr: a failure with its offending groups,
 * or a one-line note when the gate holds. */
void rp_gate_report(FILE *out, const char *prog, const rp_gate *g, const tm_stats *st);
/* The "gate" member of the JSON report, starting with ", \"gate\": ";
 * failing groups are listed up to `maxlist` (0 = all). */
void rp_gate_json(FILE *out, const rp_gate *g, const tm_stats *st, size_t maxlist);
void rp_gate_free(rp_gate *g);

#endif
