/* tmstat / tmdiff: option parsing, loading, and the three output formats. */
#include "report.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tm/diff.h"
#include "tm/filter.h"
#include "tm/render.h"
#include "tm/stats.h"
#include "report_internal.h"
#include "suppress.h"
#include "tm_estimate.h"
#include "tm_json.h"
#include "tool.h"

enum { FMT_TEXT, FMT_JSON, FMT_CSV };

static const char usage_stat[] = "usage: tmstat SNAPSHOT [options]\n"
                                 "Statistics of a snapshot (.tms or Python tracemalloc dump), as\n"
                                 "snapshot.statistics(KEY, cumulative) prints them.\n";
static const char usage_diff[] =
    "usage: tmdiff OLD NEW [options]\n"
    "What changed from OLD to NEW (.tms or Python tracemalloc dumps), as\n"
    "new.compare_to(old, KEY, cumulative) prints it.\n";
static const char usage_opts[] =
    "options:\n"
    "  --by KEY             lineno (default), filename, traceback, function, module\n"
    "  --cumulative         count each trace in every frame of its stack\n"
    "  --top N              print the first N statistics (default 10, 0 = all)\n"
    "  --include PAT[:LINE] keep traces whose most recent frame matches (fnmatch\n"
    "                       as Python: * ? [seq] [!seq]); repeatable\n"
    "  --exclude PAT[:LINE] drop traces whose most recent frame matches; repeatable\n"
    "  --all-frames         pattern filters test every frame of the stack\n"
    "  --filter-domain N    pattern filters concern domain N only\n"
    "  --domain N           keep domain N only (repeatable: any of them)\n"
    "  --exclude-domain N   drop domain N (repeatable)\n"
    "  --limit N            --by traceback: frames printed, as format(limit=N)\n"
    "  --most-recent-first  --by traceback: most recent frame first\n"
    "  --as-recorded        native stacks exactly as recorded (by default the C/C++\n"
    "                       runtime's allocation machinery and frames in system\n"
    "                       headers and sources are hidden, so that each trace\n"
    "                       counts at the program's own line; --hide-rules lists\n"
    "                       the rules)\n"
    "  --hide PAT           also hide native frames whose function, file or module\n"
    "                       matches PAT (fnmatch); repeatable\n"
    "  --hide-rules         print the default hiding rules\n"
    "  --format F           text (default), json, csv\n"
    "  --no-header          text: no \"[ Top N KEY ]\" line\n"
    "  --timing             print load / statistics / output times on stderr\n"
    "  --max-memory SIZE    stop with exit 2 past SIZE of memory (default:\n"
    "                       TM_MAX_MEMORY, else 1/4 of physical memory)\n"
    "gates (for CI; see 'exit status'):\n"
    "  --fail-on-growth SZ  tmdiff: fail if the total grew by more than SZ\n"
    "  --fail-above SZ      tmstat: fail if the total size is above SZ\n"
    "  --per-group          apply the gate to each group of --by KEY, not the total\n"
    "  --min-growth SZ      tmdiff: growth of SZ or less never fails (useful with %)\n"
    "    SZ: bytes, with an optional unit B, KiB, MiB, GiB, TiB (or K, M, G, T;\n"
    "    all 1024-based; kB/MB/GB are refused as ambiguous), decimals allowed\n"
    "    (1.5MiB); tmdiff also takes N% = growth relative to the old size (a\n"
    "    group absent from OLD has old size 0, so any growth of it fails N%).\n"
    "    The gate sees every group after filters, not only the --top printed.\n"
    "    TM_SUPPRESSIONS=FILE: traces matching its leak:PATTERN lines\n"
    "    (LeakSanitizer's format) are removed before a gate.\n"
    "  -h, --help           this text\n"
    "text: one line per statistic, exactly Python's str(stat); traceback lines\n"
    "  follow each statistic with --by traceback.  When native frames were\n"
    "  hidden, a second header line says how many traces moved to a caller\n"
    "  (on stderr with --no-header).\n"
    "sampled snapshots (tmrun --sample): every size and count is an unbiased\n"
    "  estimate, rounded; a header line says so and gives the rate (on stderr\n"
    "  with --no-header or csv); json and csv add standard errors; gates test\n"
    "  the estimates.  A diff compares the two estimates (doc/sampling.md).\n"
    "json: {tool, key, cumulative, sample_rate, [old_sample_rate,] total_size,\n"
    "  total_count, [old_total_size, old_total_count,] hidden_traces, hidden_frames,\n"
    "  groups, statistics: [{text, traceback: [{filename, lineno}] oldest first,\n"
    "  size, count, [size_stderr, count_stderr,] [average,] [size_diff, count_diff,\n"
    "  [size_diff_stderr, count_diff_stderr]]}], and for a sampled snapshot the\n"
    "  totals' *_stderr after the totals,\n"
    "  [gate: {option, spec, scope, mode, limit_bytes, limit_percent, min_growth,\n"
    "  measured_bytes, measured_percent, passed, failing_groups, failing}]}\n"
    "  (JSON Schema: doc/report-schema.json)\n"
    "csv: rank,filename,lineno,size,count,average[,size_diff,count_diff]\n"
    "  [,size_stderr,count_stderr[,size_diff_stderr,count_diff_stderr]],traceback\n"
    "  (traceback = FILE:LINE frames oldest first joined by ';')\n"
    "exit status: 0 ok (a gate holds: one note on stderr), 1 a gate failed (normal\n"
    "  output on stdout, a short report on stderr), 2 usage or input error.\n";

typedef struct opts {
    const char *files[2];
    size_t nfiles;
    tm_key_type key;
    int cumulative, all_frames, has_fdomain, format, header, mrf, has_limit, timing;
    uint32_t fdomain;
    long limit;
    unsigned long long top;
    rp_gate gate;
    tm_filter filters[TM_FILTER_MAX];
    size_t nfilters;
    const char *hide[TM_ATTRIBUTION_MAX_HIDE];
    tm_attribution_options attribution;
} opts;

static int parse_args(opts *o, int argc, char **argv, int diff);
static void write_json(FILE *out, const tm_stats *st, const opts *o, size_t shown, int diff);
static void write_csv(FILE *out, const tm_stats *st, size_t shown, int diff);
static int write_text(FILE *out, const tm_stats *st, const opts *o, size_t shown, int diff);

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A gate honours the suppressions file of the memory checks (tm/check.h),
 * so that the same leak:PATTERN lines hold in a test suite and in CI. */
static int apply_suppressions(const char *prog, tm_snapshot **snaps, const char *const *files,
                              size_t n, tm_error *err)
{
    tm_suppressions *sup = NULL;
    int rc = tm_suppressions_from_env(&sup, err);
    if (rc != TM_OK || !sup)
        return rc;
    for (size_t i = 0; i < n && rc == TM_OK; i++) {
        uint64_t size = 0, count = 0;
        rc = tm_suppressions_apply(snaps[i], sup, &size, &count, err);
        char a[TM_SIZE_TEXT_MAX];
        if (rc == TM_OK)
            fprintf(stderr, "%s: %s: %" PRIu64 " traces (%s) suppressed by TM_SUPPRESSIONS\n", prog,
                    files[i], count, tm_format_size_u64(a, size, 0));
    }
    tm_suppressions_free(sup);
    return rc;
}

int tm_report_main(int argc, char **argv, int diff, tm_report_loader load)
{
    double t0 = now_ms();
    const char *prog = diff ? "tmdiff" : "tmstat";
    opts o;
    int rc = parse_args(&o, argc, argv, diff);
    if (rc < 0)
        return TOOL_EXIT_OK; /* --help */
    if (rc)
        return rc;
    tm_snapshot *snaps[2] = { NULL, NULL };
    tm_stats *st = NULL;
    tm_error err = { 0 };
    int exit_code = TOOL_EXIT_ERROR;
    for (size_t i = 0; i < o.nfiles; i++) {
        if (load(o.files[i], &snaps[i], &err) != TM_OK) {
            tool_fail(prog, &err);
            goto out;
        }
    }
    if (o.gate.set &&
        apply_suppressions(prog, snaps, (const char *const *)o.files, o.nfiles, &err) != TM_OK) {
        fprintf(stderr, "%s: %s\n", prog, err.message);
        goto out;
    }
    double t1 = now_ms();
    tm_stats_options so = TM_STATS_OPTIONS_INIT;
    so.key = o.key;
    so.cumulative = o.cumulative;
    so.filters = o.filters;
    so.nfilters = o.nfilters;
    so.attribution = &o.attribution;
    int r = diff ? tm_stats_compare(&st, snaps[1], snaps[0], &so, &err)
                 : tm_stats_compute(&st, snaps[0], &so, &err);
    if (r != TM_OK) {
        tm_error_prefix(&err, "%s", o.files[diff ? 1 : 0]);
        tool_fail(prog, &err);
        goto out;
    }
    double t2 = now_ms();
    size_t n = tm_stats_count(st);
    size_t shown = o.top == 0 || o.top > n ? n : (size_t)o.top;
    if (o.gate.set && rp_gate_eval(&o.gate, st) != 0) {
        tm_error_set(&err, TM_ENOMEM, "%s: out of memory", o.files[diff ? 1 : 0]);
        tool_fail(prog, &err);
        goto out;
    }
    if (o.format == FMT_JSON)
        write_json(stdout, st, &o, shown, diff);
    else if (o.format == FMT_CSV)
        write_csv(stdout, st, shown, diff);
    else if (write_text(stdout, st, &o, shown, diff) != 0) {
        tm_error_set(&err, TM_ENOMEM, "%s: out of memory", o.files[diff ? 1 : 0]);
        tool_fail(prog, &err);
        goto out;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: writing output: %s\n", prog, strerror(errno));
        goto out;
    }
    if (o.timing)
        fprintf(stderr, "%s: timing: load %.1f ms, statistics %.1f ms, output %.1f ms\n", prog,
                t1 - t0, t2 - t1, now_ms() - t2);
    exit_code = TOOL_EXIT_OK;
    if (o.gate.set) {
        rp_gate_report(stderr, prog, &o.gate, st);
        if (!o.gate.passed)
            exit_code = TOOL_EXIT_GATE;
    }
out:
    rp_gate_free(&o.gate);
    tm_stats_free(st);
    tm_snapshot_free(snaps[0]);
    tm_snapshot_free(snaps[1]);
    return exit_code;
}

static int parse_long(const char *s, long *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    *out = strtol(s, &end, 10);
    return errno || *end ? -1 : 0;
}

static int add_filter(opts *o, const char *prog, tm_filter *f)
{
    if (o->nfilters >= TM_FILTER_MAX)
        return tool_usage_error(prog, "at most %d filters", TM_FILTER_MAX);
    o->filters[o->nfilters++] = *f;
    return 0;
}

enum {
    OPT_BY = 256,
    OPT_CUMULATIVE,
    OPT_TOP,
    OPT_INCLUDE,
    OPT_EXCLUDE,
    OPT_ALL_FRAMES,
    OPT_FILTER_DOMAIN,
    OPT_DOMAIN,
    OPT_EXCLUDE_DOMAIN,
    OPT_LIMIT,
    OPT_MOST_RECENT_FIRST,
    OPT_FORMAT,
    OPT_NO_HEADER,
    OPT_TIMING,
    OPT_FAIL_ON_GROWTH,
    OPT_FAIL_ABOVE,
    OPT_PER_GROUP,
    OPT_MIN_GROWTH,
    OPT_AS_RECORDED,
    OPT_HIDE,
    OPT_HIDE_RULES
};

/* Both tools take both gates, so that the wrong one gets a message saying
 * which tool it belongs to.  Every option has its own value: glibc does not
 * call an abbreviation ambiguous when its candidates share one. */
static const struct option longopts[] = {
    { "by", required_argument, NULL, OPT_BY },
    { "cumulative", no_argument, NULL, OPT_CUMULATIVE },
    { "top", required_argument, NULL, OPT_TOP },
    { "include", required_argument, NULL, OPT_INCLUDE },
    { "exclude", required_argument, NULL, OPT_EXCLUDE },
    { "all-frames", no_argument, NULL, OPT_ALL_FRAMES },
    { "filter-domain", required_argument, NULL, OPT_FILTER_DOMAIN },
    { "domain", required_argument, NULL, OPT_DOMAIN },
    { "exclude-domain", required_argument, NULL, OPT_EXCLUDE_DOMAIN },
    { "limit", required_argument, NULL, OPT_LIMIT },
    { "most-recent-first", no_argument, NULL, OPT_MOST_RECENT_FIRST },
    { "format", required_argument, NULL, OPT_FORMAT },
    { "no-header", no_argument, NULL, OPT_NO_HEADER },
    { "timing", no_argument, NULL, OPT_TIMING },
    { "fail-on-growth", required_argument, NULL, OPT_FAIL_ON_GROWTH },
    { "fail-above", required_argument, NULL, OPT_FAIL_ABOVE },
    { "per-group", no_argument, NULL, OPT_PER_GROUP },
    { "min-growth", required_argument, NULL, OPT_MIN_GROWTH },
    { "as-recorded", no_argument, NULL, OPT_AS_RECORDED },
    { "hide", required_argument, NULL, OPT_HIDE },
    { "hide-rules", no_argument, NULL, OPT_HIDE_RULES },
    { "max-memory", required_argument, NULL, TOOL_OPT_MAX_MEMORY },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static int parse_args(opts *o, int argc, char **argv, int diff)
{
    const char *prog = diff ? "tmdiff" : "tmstat";
    memset(o, 0, sizeof *o);
    const tm_attribution_options ainit = TM_ATTRIBUTION_OPTIONS_INIT;
    o->attribution = ainit;
    o->attribution.hide = o->hide;
    o->key = TM_KEY_LINENO;
    o->top = 10;
    o->header = 1;
    if (tool_memory_init(prog))
        return TOOL_EXIT_ERROR;
    /* The fuzz and unit tests run many command lines in one process. */
    optind = 0;
    opterr = 0;
    int c, li;
    while ((c = getopt_long(argc, argv, "-:h", longopts, &li)) != -1) {
        const char *val = optarg;
        /* The name as the tools' messages spell it, also for an abbreviation. */
        char name[64] = "";
        if (c >= 256)
            snprintf(name, sizeof name, "--%s", longopts[li].name);
        tm_error err = { 0 };
        unsigned long long u;
        switch (c) {
        case 1:
            if (o->nfiles >= (size_t)(diff ? 2 : 1))
                return tool_usage_error(prog, "unexpected argument '%s'", val);
            o->files[o->nfiles++] = val;
            break;
        case 'h':
            fputs(diff ? usage_diff : usage_stat, stdout);
            fputs(usage_opts, stdout);
            return -1;
        case OPT_CUMULATIVE: o->cumulative = 1; break;
        case TOOL_OPT_MAX_MEMORY:
            if (tool_memory_option(prog, val))
                return TOOL_EXIT_ERROR;
            break;
        case OPT_ALL_FRAMES: o->all_frames = 1; break;
        case OPT_TIMING: o->timing = 1; break;
        case OPT_NO_HEADER: o->header = 0; break;
        case OPT_AS_RECORDED: o->attribution.as_recorded = 1; break;
        case OPT_HIDE:
            if (o->attribution.nhide == TM_ATTRIBUTION_MAX_HIDE)
                return tool_usage_error(prog, "--hide: at most %d patterns",
                                        TM_ATTRIBUTION_MAX_HIDE);
            o->hide[o->attribution.nhide++] = val;
            break;
        case OPT_HIDE_RULES:
            printf("Native frames hidden by default (tm/attribution.h): a frame is hidden\n"
                   "when its module, its file, or (for a frame without a file) its\n"
                   "function matches one of these fnmatch patterns:\n");
            tm_attribution_print_defaults(stdout);
            printf("Python snapshots hide nothing.  --hide PAT adds patterns (function,\n"
                   "file or module path); --as-recorded shows the stacks as recorded.\n");
            return -1;
        case OPT_MOST_RECENT_FIRST: o->mrf = 1; break;
        case OPT_BY:
            if (tm_key_type_parse(&o->key, val, &err) != TM_OK)
                return tool_usage_error(prog, "%s", err.message);
            break;
        case OPT_TOP:
            if (tool_parse_u64(val, &o->top) != 0)
                return tool_usage_error(prog, "--top: '%s' is not a number", val);
            break;
        case OPT_LIMIT:
            if (parse_long(val, &o->limit) != 0)
                return tool_usage_error(prog, "--limit: '%s' is not a number", val);
            o->has_limit = 1;
            break;
        case OPT_INCLUDE:
        case OPT_EXCLUDE: {
            tm_filter f;
            if (tm_filter_parse(&f, val, c == OPT_INCLUDE, &err) != TM_OK)
                return tool_usage_error(prog, "%s", err.message);
            if (add_filter(o, prog, &f))
                return TOOL_EXIT_ERROR;
            break;
        }
        case OPT_DOMAIN:
        case OPT_EXCLUDE_DOMAIN:
        case OPT_FILTER_DOMAIN:
            if (tool_parse_u64(val, &u) != 0 || u > UINT32_MAX)
                return tool_usage_error(prog, "%s: '%s' is not a domain number", name, val);
            if (c == OPT_FILTER_DOMAIN) {
                o->has_fdomain = 1;
                o->fdomain = (uint32_t)u;
            } else {
                tm_filter f = { 0 };
                f.kind = TM_FILTER_DOMAIN;
                f.inclusive = c == OPT_DOMAIN;
                f.domain = (uint32_t)u;
                if (add_filter(o, prog, &f))
                    return TOOL_EXIT_ERROR;
            }
            break;
        case OPT_FORMAT:
            if (strcmp(val, "text") == 0)
                o->format = FMT_TEXT;
            else if (strcmp(val, "json") == 0)
                o->format = FMT_JSON;
            else if (strcmp(val, "csv") == 0)
                o->format = FMT_CSV;
            else
                return tool_usage_error(prog, "--format: '%s' is not text, json or csv", val);
            break;
        case OPT_PER_GROUP: o->gate.per_group = 1; break;
        case OPT_FAIL_ON_GROWTH:
        case OPT_FAIL_ABOVE: {
            const char *want = diff ? "--fail-on-growth" : "--fail-above";
            if (strcmp(name, want) != 0)
                return tool_usage_error(prog, "%s is %s's gate; %s takes %s", name,
                                        diff ? "tmstat" : "tmdiff", prog, want);
            if (o->gate.set)
                return tool_usage_error(prog, "%s given twice", name);
            char msg[256];
            if (rp_size_parse(val, diff, &o->gate.limit, msg, sizeof msg) != 0)
                return tool_usage_error(prog, "%s: %s", name, msg);
            o->gate.set = 1;
            o->gate.option = want;
            o->gate.spec = val;
            break;
        }
        case OPT_MIN_GROWTH: {
            rp_size sz;
            char msg[256];
            if (!diff)
                return tool_usage_error(prog, "--min-growth is for tmdiff --fail-on-growth");
            if (rp_size_parse(val, 0, &sz, msg, sizeof msg) != 0)
                return tool_usage_error(prog, "--min-growth: %s", msg);
            o->gate.min_spec = val;
            o->gate.min_growth = sz.bytes;
            break;
        }
        default: return tool_option_error(prog, c, argv, longopts);
        }
    }
    /* getopt_long leaves what follows "--" to us. */
    for (; optind < argc; optind++) {
        if (o->nfiles >= (size_t)(diff ? 2 : 1))
            return tool_usage_error(prog, "unexpected argument '%s'", argv[optind]);
        o->files[o->nfiles++] = argv[optind];
    }
    if (o->nfiles != (size_t)(diff ? 2 : 1))
        return tool_usage_error(
            prog, diff ? "expected OLD and NEW snapshot files" : "expected one SNAPSHOT file");
    if (!o->gate.set && (o->gate.per_group || o->gate.min_spec))
        return tool_usage_error(prog, "%s needs a gate (%s SIZE)",
                                o->gate.per_group ? "--per-group" : "--min-growth",
                                diff ? "--fail-on-growth" : "--fail-above");
    o->gate.diff = diff;
    if (o->cumulative && o->key == TM_KEY_TRACEBACK)
        return tool_usage_error(prog, "--cumulative cannot be used with --by traceback");
    for (size_t k = 0; k < o->nfilters; k++) {
        if (o->filters[k].kind != TM_FILTER_FRAME)
            continue;
        o->filters[k].all_frames = o->all_frames;
        o->filters[k].has_domain = o->has_fdomain;
        o->filters[k].domain = o->fdomain;
    }
    return 0;
}

/* --- JSON / CSV -------------------------------------------------------- */

void rp_json_str(FILE *out, const char *s, size_t n)
{
    (void)tm_json_string(out, s, n, 0); /* the caller checks the stream */
}

static void csv_field(FILE *out, const char *s, size_t n)
{
    int quote = 0;
    for (size_t i = 0; i < n; i++)
        quote |= s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        fwrite(s, 1, n, out);
        return;
    }
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            fputc('"', out);
        fputc(s[i], out);
    }
    fputc('"', out);
}

static int single_key(tm_key_type k)
{
    return k == TM_KEY_FUNCTION || k == TM_KEY_MODULE;
}

void rp_json_stat(FILE *out, const tm_stats *st, const tm_statistic *s, int diff)
{
    char *text = NULL;
    size_t tlen = 0;
    FILE *mem = open_memstream(&text, &tlen);
    if (mem) {
        tm_render_stat(mem, st, s, NULL);
        fclose(mem);
    }
    fputs("{\"text\": ", out);
    rp_json_str(out, text ? text : "", text ? tlen : 0);
    free(text);
    fputs(", \"traceback\": [", out);
    for (size_t k = 0; k < s->nframes; k++) {
        fprintf(out, "%s{\"filename\": ", k ? ", " : "");
        rp_json_str(out, s->frames[k].filename, s->frames[k].filename_len);
        fprintf(out, ", \"lineno\": %" PRIu32 "}", s->frames[k].lineno);
    }
    fprintf(out, "], \"size\": %" PRIu64 ", \"count\": %" PRIu64, s->size, s->count);
    /* s is one of st's items (the gate lists point into them too). */
    const tm_stat_error *e = &tm_stats_errors(st)[s - tm_stats_items(st)];
    if (rp_sampled(st))
        fprintf(out, ", \"size_stderr\": %.17g, \"count_stderr\": %.17g", e->size, e->count);
    if (s->count)
        fprintf(out, ", \"average\": %.17g", tm_stat_average(s->size, s->count));
    if (diff)
        fprintf(out, ", \"size_diff\": %" PRId64 ", \"count_diff\": %" PRId64, s->size_diff,
                s->count_diff);
    if (diff && rp_sampled(st))
        fprintf(out, ", \"size_diff_stderr\": %.17g, \"count_diff_stderr\": %.17g", e->size_diff,
                e->count_diff);
    fputc('}', out);
}

static void write_json(FILE *out, const tm_stats *st, const opts *o, size_t shown, int diff)
{
    const tm_statistic *it = tm_stats_items(st);
    fprintf(out, "{\"tool\": \"%s\", \"key\": \"%s\", \"cumulative\": %s, ",
            diff ? "tmdiff" : "tmstat", tm_key_type_name(tm_stats_key(st)),
            tm_stats_cumulative(st) ? "true" : "false");
    fprintf(out, "\"sample_rate\": %" PRIu64 ", ", tm_stats_sample_rate(st));
    if (diff)
        fprintf(out, "\"old_sample_rate\": %" PRIu64 ", ", tm_stats_old_sample_rate(st));
    int sampled = rp_sampled(st);
    tm_stat_error te = tm_stats_total_error(st);
    fprintf(out, "\"total_size\": %" PRIu64 ", \"total_count\": %" PRIu64 ", ",
            tm_stats_total_size(st), tm_stats_total_count(st));
    if (sampled)
        fprintf(out, "\"total_size_stderr\": %.17g, \"total_count_stderr\": %.17g, ", te.size,
                te.count);
    if (diff)
        fprintf(out, "\"old_total_size\": %" PRIu64 ", \"old_total_count\": %" PRIu64 ", ",
                tm_stats_old_total_size(st), tm_stats_old_total_count(st));
    if (diff && sampled)
        fprintf(out,
                "\"old_total_size_stderr\": %.17g, \"old_total_count_stderr\": %.17g, "
                "\"total_size_diff_stderr\": %.17g, \"total_count_diff_stderr\": %.17g, ",
                te.old_size, te.old_count, te.size_diff, te.count_diff);
    fprintf(out, "\"hidden_traces\": %" PRIu64 ", \"hidden_frames\": %" PRIu64 ", ",
            tm_stats_hidden_traces(st), tm_stats_hidden_frames(st));
    fprintf(out, "\"groups\": %zu, \"statistics\": [", tm_stats_count(st));
    for (size_t i = 0; i < shown; i++) {
        fputs(i ? ",\n  " : "\n  ", out);
        rp_json_stat(out, st, &it[i], diff);
    }
    fputs(shown ? "\n]" : "]", out);
    if (o->gate.set)
        rp_gate_json(out, &o->gate, st, (size_t)(o->top > SIZE_MAX ? 0 : o->top));
    fputs("}\n", out);
}

/* Never silent: which traces were attributed past hidden runtime frames. */
static void hidden_line(FILE *out, const tm_stats *st)
{
    fprintf(out,
            "[ runtime frames hidden: %" PRIu64 " of %" PRIu64 " traces counted at a caller's "
            "line; --as-recorded shows the stacks as recorded ]\n",
            tm_stats_hidden_traces(st), tm_stats_total_count(st));
}

int rp_sampled(const tm_stats *st)
{
    return tm_stats_sample_rate(st) != 0 || tm_stats_old_sample_rate(st) != 0;
}

static const char *sample_side(char *buf, size_t cap, uint64_t rate)
{
    char a[64];
    if (!rate)
        return "exact";
    snprintf(buf, cap, "a Poisson sample, one per %s on average",
             tm_sample_rate_text(a, sizeof a, rate));
    return buf;
}

/* Never silent either: the numbers that follow are estimates, from what. */
static void sampled_line(FILE *out, const tm_stats *st, int diff)
{
    char a[128], b[128];
    uint64_t rn = tm_stats_sample_rate(st), ro = tm_stats_old_sample_rate(st);
    if (!diff || rn == ro)
        fprintf(out, "[ sampled: sizes and counts are estimates from %s ]\n",
                sample_side(a, sizeof a, rn));
    else
        fprintf(out, "[ sampled: sizes and counts are estimates; old: %s; new: %s ]\n",
                sample_side(a, sizeof a, ro), sample_side(b, sizeof b, rn));
}

static void write_csv(FILE *out, const tm_stats *st, size_t shown, int diff)
{
    const tm_statistic *it = tm_stats_items(st);
    int sampled = rp_sampled(st);
    if (sampled)
        sampled_line(stderr, st, diff);
    if (tm_stats_hidden_frames(st))
        hidden_line(stderr, st); /* a CSV reader would take a line more for data */
    fprintf(out, "rank,filename,lineno,size,count,average%s%s%s,traceback\r\n",
            diff ? ",size_diff,count_diff" : "", sampled ? ",size_stderr,count_stderr" : "",
            sampled && diff ? ",size_diff_stderr,count_diff_stderr" : "");
    char num[32];
    for (size_t i = 0; i < shown; i++) {
        const tm_statistic *s = &it[i];
        fprintf(out, "%zu,", i + 1);
        csv_field(out, s->frames[0].filename, s->frames[0].filename_len);
        if (single_key(tm_stats_key(st)))
            fputc(',', out);
        else
            fprintf(out, ",%" PRIu32, s->frames[0].lineno);
        fprintf(out, ",%" PRIu64 ",%" PRIu64 ",", s->size, s->count);
        if (s->count)
            fprintf(out, "%.17g", tm_stat_average(s->size, s->count));
        if (diff)
            fprintf(out, ",%" PRId64 ",%" PRId64, s->size_diff, s->count_diff);
        const tm_stat_error *e = &tm_stats_errors(st)[i];
        if (sampled)
            fprintf(out, ",%.17g,%.17g", e->size, e->count);
        if (sampled && diff)
            fprintf(out, ",%.17g,%.17g", e->size_diff, e->count_diff);
        fputc(',', out);
        char *tb = NULL;
        size_t tlen = 0;
        FILE *mem = open_memstream(&tb, &tlen);
        if (mem) {
            for (size_t k = 0; k < s->nframes; k++) {
                if (k)
                    fputc(';', mem);
                fwrite(s->frames[k].filename, 1, s->frames[k].filename_len, mem);
                if (!single_key(tm_stats_key(st))) {
                    snprintf(num, sizeof num, ":%" PRIu32, s->frames[k].lineno);
                    fputs(num, mem);
                }
            }
            fclose(mem);
        }
        csv_field(out, tb ? tb : "", tb ? tlen : 0);
        free(tb);
        fputs("\r\n", out);
    }
}

static int write_text(FILE *out, const tm_stats *st, const opts *o, size_t shown, int diff)
{
    if (o->header)
        fprintf(out, "[ Top %zu %s%s%s ]\n", shown, diff ? "differences " : "",
                tm_key_type_name(tm_stats_key(st)), tm_stats_cumulative(st) ? " cumulative" : "");
    if (rp_sampled(st))
        sampled_line(o->header ? out : stderr, st, diff);
    if (tm_stats_hidden_frames(st))
        hidden_line(o->header ? out : stderr, st);
    tm_linecache *lc = NULL;
    if (tm_stats_key(st) == TM_KEY_TRACEBACK && tm_linecache_new(&lc, NULL) != TM_OK)
        return -1;
    const tm_statistic *it = tm_stats_items(st);
    for (size_t i = 0; i < shown; i++) {
        tm_render_stat(out, st, &it[i], NULL);
        fputc('\n', out);
        if (lc &&
            tm_render_traceback(out, lc, &it[i], o->has_limit, o->limit, o->mrf, NULL) ==
                TM_ENOMEM) {
            tm_linecache_free(lc);
            return -1;
        }
    }
    tm_linecache_free(lc);
    return 0;
}
