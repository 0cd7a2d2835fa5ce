/* CI gates of tmstat / tmdiff: SIZE parsing, evaluation over the statistics,
 * the short human report and the JSON "gate" object (report.h). */
#include "report_internal.h"

#include <inttypes.h>
#include <string.h>

#include "tm/render.h"
#include "tm_alloc.h"
#include "tm_size.h"

/* Exact comparisons of growth * 100 against old size * percent need more
 * than 64 bits (the recorder is x86-64 only; gcc and clang both have it). */
__extension__ typedef unsigned __int128 rp_u128;

enum { LIST_TOTAL = 5, LIST_GROUPS = 10 };

int rp_size_parse(const char *s, int allow_pct, rp_size *out, char *msg, size_t msglen)
{
    memset(out, 0, sizeof *out);
    const char *pc = strchr(s, '%');
    if (!allow_pct && pc && !pc[1] && *s >= '0' && *s <= '9') {
        snprintf(msg, msglen,
                 "'%s': a percentage needs a baseline (only tmdiff --fail-on-growth takes one)", s);
        return -1;
    }
    return tm_size_parse(&out->bytes, &out->relative, allow_pct ? &out->pct : NULL, s, msg, msglen);
}

/* Does a growth (or, for tmstat, a size) of `value` over `base` trip it? */
static int exceeds(const rp_gate *g, int64_t value, uint64_t base)
{
    if (value <= 0)
        return 0;
    uint64_t u = (uint64_t)value;
    if (u <= g->min_growth)
        return 0;
    if (!g->limit.relative)
        return u > g->limit.bytes;
    return (rp_u128)u * 100 * RP_PCT_SCALE > (rp_u128)base * g->limit.pct;
}

static int64_t signed_diff(uint64_t now, uint64_t old)
{
    if (now >= old)
        return now - old > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)(now - old);
    return old - now > (uint64_t)INT64_MAX ? -INT64_MAX : -(int64_t)(old - now);
}

static int64_t clamp_i64(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* growth (tmdiff) or size (tmstat) of one group, and its old size */
static int64_t group_value(const rp_gate *g, const tm_statistic *s, uint64_t *base)
{
    /* old size = size - size_diff, exact in modulo-2^64 arithmetic */
    *base = g->diff ? s->size - (uint64_t)s->size_diff : 0;
    return g->diff ? s->size_diff : clamp_i64(s->size);
}

int rp_gate_eval(rp_gate *g, const tm_stats *st)
{
    g->nfailing = 0;
    g->worst = NULL;
    g->has_pct = 0;
    g->has_limit_bytes = !g->limit.relative;
    g->limit_bytes = g->limit.bytes;
    const tm_statistic *it = tm_stats_items(st);
    size_t n = tm_stats_count(st);
    if (!g->per_group) {
        uint64_t old = g->diff ? tm_stats_old_total_size(st) : 0;
        g->measured = g->diff ? signed_diff(tm_stats_total_size(st), old)
                              : clamp_i64(tm_stats_total_size(st));
        if (g->diff && old > 0) {
            g->has_pct = 1;
            g->measured_pct = (double)g->measured * 100.0 / (double)old;
        }
        if (g->limit.relative) {
            rp_u128 lb = (rp_u128)old * g->limit.pct / (100 * RP_PCT_SCALE);
            g->limit_bytes = lb > UINT64_MAX ? UINT64_MAX : (uint64_t)lb;
            g->has_limit_bytes = 1;
        }
        g->passed = !exceeds(g, g->measured, old);
        return 0;
    }
    g->failing = n ? tm_malloc(n * sizeof *g->failing) : NULL;
    if (n && !g->failing)
        return -1;
    g->measured = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t base;
        int64_t v = group_value(g, &it[i], &base);
        if (!g->worst || v > g->measured) {
            g->worst = &it[i];
            g->measured = v;
            g->has_pct = g->diff && base > 0;
            if (g->has_pct)
                g->measured_pct = (double)v * 100.0 / (double)base;
        }
        if (exceeds(g, v, base))
            g->failing[g->nfailing++] = &it[i];
    }
    g->passed = g->nfailing == 0;
    return 0;
}

void rp_gate_free(rp_gate *g)
{
    tm_free(g->failing);
    g->failing = NULL;
    g->nfailing = 0;
}

/* --- human report ------------------------------------------------------ */

static void put_pct(FILE *out, uint64_t pct)
{
    fprintf(out, "%" PRIu64, pct / RP_PCT_SCALE);
    uint64_t f = pct % RP_PCT_SCALE;
    if (f) {
        char digits[8];
        snprintf(digits, sizeof digits, "%06" PRIu64, f);
        for (int i = 5; i > 0 && digits[i] == '0'; i--)
            digits[i] = 0;
        fprintf(out, ".%s", digits);
    }
}

static void put_options(FILE *out, const rp_gate *g)
{
    fprintf(out, "(%s %s", g->option, g->spec);
    if (g->per_group)
        fputs(" --per-group", out);
    if (g->min_spec)
        fprintf(out, " --min-growth %s", g->min_spec);
    fputc(')', out);
}

static void put_limit(FILE *out, const rp_gate *g, const tm_stats *st)
{
    char a[TM_SIZE_TEXT_MAX], b[TM_SIZE_TEXT_MAX];
    if (!g->limit.relative) {
        fputs(tm_format_size_u64(a, g->limit.bytes, 0), out);
    } else {
        put_pct(out, g->limit.pct);
        if (g->per_group)
            fputs("% of the group's old size", out);
        else
            fprintf(out, "%% of %s = %s", tm_format_size_u64(a, tm_stats_old_total_size(st), 0),
                    tm_format_size_u64(b, g->limit_bytes, 0));
    }
    if (g->min_spec)
        fprintf(out, " (and more than %s)", tm_format_size_u64(a, g->min_growth, 0));
}

static void put_change(FILE *out, const rp_gate *g)
{
    char a[TM_SIZE_TEXT_MAX];
    int64_t m = g->measured;
    if (m >= 0)
        fprintf(out, "grew by %" PRId64 " bytes (%s", m, tm_format_size_i64(a, m, 1));
    else
        fprintf(out, "shrank by %" PRIu64 " bytes (%s", (uint64_t)0 - (uint64_t)m,
                tm_format_size_i64(a, m, 1));
    if (g->has_pct)
        fprintf(out, ", %+.1f%%", g->measured_pct);
    else if (g->diff && m > 0)
        fputs(", from nothing", out);
    fputc(')', out);
}

static void put_groups(FILE *out, const tm_stats *st, const tm_statistic *const *list, size_t n,
                       size_t max)
{
    for (size_t i = 0; i < n && i < max; i++) {
        fputs("  ", out);
        tm_render_stat(out, st, list[i], NULL);
        fputc('\n', out);
    }
    if (n > max)
        fprintf(out, "  ... and %zu more\n", n - max);
}

/* the groups that grew (tmdiff) or the largest ones (tmstat), for context */
static void put_contributors(FILE *out, const char *prog, const rp_gate *g, const tm_stats *st)
{
    const tm_statistic *it = tm_stats_items(st), *list[LIST_TOTAL];
    size_t n = 0;
    for (size_t i = 0; i < tm_stats_count(st) && n < LIST_TOTAL; i++)
        if (g->diff ? it[i].size_diff > 0 : it[i].size > 0)
            list[n++] = &it[i];
    if (!n)
        return;
    fprintf(out, "%s: %s:\n", prog, g->diff ? "largest growth" : "largest groups");
    put_groups(out, st, list, n, n);
}

void rp_gate_report(FILE *out, const char *prog, const rp_gate *g, const tm_stats *st)
{
    char a[TM_SIZE_TEXT_MAX];
    const char *key = tm_key_type_name(tm_stats_key(st));
    if (rp_sampled(st) && !g->per_group) {
        /* A gate on a sample tests the estimate: how far it may be off. */
        tm_stat_error te = tm_stats_total_error(st);
        fprintf(out,
                "%s: gate on estimates from a sample: the measured %s has a standard error of "
                "%.0f bytes\n",
                prog, g->diff ? "growth" : "total size", g->diff ? te.size_diff : te.size);
    } else if (rp_sampled(st)) {
        fprintf(out,
                "%s: gate on estimates from a sample (json gives each group's standard "
                "error)\n",
                prog);
    }
    fprintf(out, "%s: gate %s: ", prog, g->passed ? "passed" : "failed");
    if (!g->per_group) {
        if (g->diff) {
            fputs("total ", out);
            put_change(out, g);
        } else {
            fprintf(out, "total size %" PRId64 " bytes (%s)%s", g->measured,
                    tm_format_size_i64(a, g->measured, 0), g->passed ? "" : " is above the limit");
        }
        fputs(", limit ", out);
        put_limit(out, g, st);
        fputc(' ', out);
        put_options(out, g);
        fputc('\n', out);
        if (!g->passed)
            put_contributors(out, prog, g, st);
        return;
    }
    if (g->passed) {
        fprintf(out, "no %s group %s ", key, g->diff ? "grew by more than" : "is above");
        put_limit(out, g, st);
        fputc(' ', out);
        put_options(out, g);
        if (g->worst)
            fprintf(out, "; largest %s %s", g->diff ? "growth" : "group",
                    tm_format_size_i64(a, g->measured, g->diff));
        fputc('\n', out);
        return;
    }
    fprintf(out, "%zu %s group%s %s ", g->nfailing, key, g->nfailing == 1 ? "" : "s",
            g->diff ? "grew by more than" : (g->nfailing == 1 ? "is above" : "are above"));
    put_limit(out, g, st);
    fputc(' ', out);
    put_options(out, g);
    fputs(g->diff ? "; largest growth first:\n" : "; largest first:\n", out);
    put_groups(out, st, g->failing, g->nfailing, LIST_GROUPS);
}

/* --- JSON ---------------------------------------------------------------- */

void rp_gate_json(FILE *out, const rp_gate *g, const tm_stats *st, size_t maxlist)
{
    fprintf(out, ", \"gate\": {\"option\": \"%s\", \"spec\": ", g->option);
    rp_json_str(out, g->spec, strlen(g->spec));
    fprintf(out, ", \"scope\": \"%s\", \"mode\": \"%s\", \"limit_bytes\": ",
            g->per_group ? "per_group" : "total", g->limit.relative ? "relative" : "absolute");
    if (g->has_limit_bytes)
        fprintf(out, "%" PRIu64, g->limit_bytes);
    else
        fputs("null", out);
    fputs(", \"limit_percent\": ", out);
    if (g->limit.relative)
        put_pct(out, g->limit.pct);
    else
        fputs("null", out);
    fprintf(out,
            ", \"min_growth\": %" PRIu64 ", \"measured_bytes\": %" PRId64
            ", \"measured_percent\": ",
            g->min_growth, g->measured);
    if (g->has_pct)
        fprintf(out, "%.17g", g->measured_pct);
    else
        fputs("null", out);
    fprintf(out, ", \"passed\": %s, \"failing_groups\": %zu, \"failing\": [",
            g->passed ? "true" : "false", g->nfailing);
    size_t shown = maxlist == 0 || maxlist > g->nfailing ? g->nfailing : maxlist;
    for (size_t i = 0; i < shown; i++) {
        fputs(i ? ",\n    " : "\n    ", out);
        rp_json_stat(out, st, g->failing[i], g->diff);
    }
    fputs("]}", out);
}
