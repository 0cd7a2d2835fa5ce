/* Memory checks around one unit of work (tm/check.h). */
#include "tm/check.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report_internal.h"
#include "suppress.h"
#include "tm/diff.h"
#include "tm/recorder.h"
#include "tm/render.h"
#include "tm/stats.h"
#include "tm/symbolize.h"
#include "tm/tms.h"

/* Allocations of the C and C++ runtimes that are made once, lazily, by the
 * first call that needs them and never freed: whichever test happens to
 * make that call first must not be blamed for them. */
static const char BUILTIN_SUPPRESSIONS[] =
    "leak:_IO_file_doallocate\n"                  /* a stdio stream's buffer, at its first output */
    "leak:_IO_wfile_doallocate\n"                 /* the same for wide streams */
    "leak:std::locale::_Impl::_M_install_cache\n" /* facet caches (numpunct, moneypunct) */
    "leak:__use_cache\n"
    "leak:_dl_allocate_tls\n" /* thread-local storage of a thread or a dlopened module */
    "leak:_dl_update_slotinfo\n"
    "leak:__tzfile_read\n" /* time zone data, at the first localtime */
    "leak:tzset_internal\n"
    "leak:__cxa_get_globals\n" /* a thread's exception globals */
    "leak:__cxa_thread_atexit_impl\n";

struct tm_check {
    char *name;
    char *snapshot_dir; /* NULL: none */
    size_t top, tracebacks;
    tm_suppressions *sup;
    tm_snapshot *before;
};

struct tm_check_result {
    int failed;
    int64_t growth;
    int64_t suppressed, suppressed_size; /* growth the suppressions removed */
    char *report;
    char *file; /* the line that grew most, or NULL */
    uint32_t line;
};

static tm_symbolizer *g_sym; /* kept between checks: DWARF is indexed once */

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    return c ? memcpy(c, s, n) : NULL;
}

static void check_free(tm_check *c)
{
    if (!c)
        return;
    tm_snapshot_free(c->before);
    tm_suppressions_free(c->sup);
    free(c->name);
    free(c->snapshot_dir);
    free(c);
}

void tm_check_abandon(tm_check *c)
{
    check_free(c);
}

void tm_check_cleanup(void)
{
    tm_symbolizer_free(g_sym);
    g_sym = NULL;
}

int tm_check_size_parse(uint64_t *out, const char *text, tm_error *err)
{
    rp_size sz;
    char msg[256];
    if (rp_size_parse(text, 0, &sz, msg, sizeof msg) != 0)
        return tm_error_set(err, TM_EINVAL, "threshold %s", msg);
    *out = sz.bytes;
    return TM_OK;
}

int tm_check_begin(tm_check **out, const char *name, const tm_check_options *opts, tm_error *err)
{
    *out = NULL;
    tm_check_options d = TM_CHECK_OPTIONS_INIT;
    if (!opts)
        opts = &d;
    if (opts->version != TM_CHECK_OPTIONS_VERSION)
        return tm_error_set(err, TM_EINVAL, "tm_check_options version %u (this library knows %u)",
                            opts->version, TM_CHECK_OPTIONS_VERSION);
    if (opts->nignore_top && !opts->ignore_top)
        return tm_error_set(err, TM_EINVAL, "tm_check_options: %zu ignore_top but no array",
                            opts->nignore_top);
    if (!name || !*name)
        return tm_error_set(err, TM_EINVAL, "a memory check needs a name");
    unsigned nframe = opts->nframe ? opts->nframe : 64;
    if (!tm_is_tracing()) {
        int rc = tm_start(nframe);
        if (rc != TM_OK)
            return tm_error_set(err, rc, "memory check %s: cannot start tracing (nframe %u)", name,
                                nframe);
    }
    /* Everything the check holds is allocated before its first snapshot,
     * so that it is live in both. */
    tm_check *c = calloc(1, sizeof *c);
    int rc = TM_ENOMEM;
    if (!c || !(c->name = dup_str(name)))
        goto oom;
    const char *dir = opts->snapshot_dir ? opts->snapshot_dir : getenv("TM_CHECK_SNAPSHOT_DIR");
    if (dir && *dir && !(c->snapshot_dir = dup_str(dir)))
        goto oom;
    c->top = opts->top ? opts->top : 10;
    c->tracebacks = opts->tracebacks ? opts->tracebacks : 3;
    if ((rc = tm_suppressions_new(&c->sup, err)) != TM_OK ||
        (rc = tm_suppressions_parse(c->sup, BUILTIN_SUPPRESSIONS, sizeof BUILTIN_SUPPRESSIONS - 1,
                                    "built-in suppressions", err)) != TM_OK)
        goto fail;
    const char *file = opts->suppressions ? opts->suppressions : getenv("TM_SUPPRESSIONS");
    if (file && *file && (rc = tm_suppressions_load(c->sup, file, err)) != TM_OK) {
        tm_error e = *err;
        tm_error_set(err, rc, "memory check %s: suppressions: %s", name, e.message);
        goto fail;
    }
    for (size_t i = 0; i < opts->nignore_top; i++)
        if ((rc = tm_suppressions_add_top(c->sup, opts->ignore_top[i], err)) != TM_OK)
            goto fail;
    if ((rc = tm_take_snapshot(&c->before, err)) != TM_OK)
        goto fail;
    *out = c;
    return TM_OK;
oom:
    tm_error_set(err, TM_ENOMEM, "memory check %s: out of memory", name);
fail:
    check_free(c);
    return rc;
}

/* NAME with every character outside [A-Za-z0-9._-] as '_' */
static void safe_name(char *dst, size_t cap, const char *name)
{
    size_t i = 0;
    for (; name[i] && i + 1 < cap; i++) {
        char ch = name[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '.' || ch == '_' || ch == '-';
        dst[i] = ok ? ch : '_';
    }
    dst[i] = 0;
    if (i == 0 || dst[0] == '.')
        dst[0] = '_';
}

static int write_pair(FILE *out, const tm_check *c, const tm_snapshot *before,
                      const tm_snapshot *after, tm_error *err)
{
    if (mkdir(c->snapshot_dir, 0777) != 0 && errno != EEXIST)
        return tm_error_set(err, TM_EIO, "%s: cannot create the directory: %s", c->snapshot_dir,
                            strerror(errno));
    char base[256];
    safe_name(base, sizeof base, c->name);
    size_t n = strlen(c->snapshot_dir) + strlen(base) + 16;
    char *p = malloc(n);
    if (!p)
        return tm_error_set(err, TM_ENOMEM, "out of memory (snapshot names)");
    int rc;
    snprintf(p, n, "%s/%s.before.tms", c->snapshot_dir, base);
    if ((rc = tm_tms_write(before, p, NULL, err)) == TM_OK) {
        fprintf(out, "snapshots: %s", p);
        snprintf(p, n, "%s/%s.after.tms", c->snapshot_dir, base);
        if ((rc = tm_tms_write(after, p, NULL, err)) == TM_OK)
            fprintf(out, " %s (tmdiff BEFORE AFTER shows the growth)\n", p);
    }
    free(p);
    return rc;
}

static int symbolize(tm_snapshot *s, tm_error *err)
{
    int rc;
    if (!g_sym && (rc = tm_symbolizer_new(&g_sym, NULL, err)) != TM_OK)
        return rc;
    return tm_symbolizer_snapshot(NULL, g_sym, s, err);
}

static int write_report(FILE *out, const tm_check *c, tm_check_result *r, uint64_t threshold,
                        const tm_snapshot *before, const tm_snapshot *after, tm_error *err)
{
    char a[TM_SIZE_TEXT_MAX], b[TM_SIZE_TEXT_MAX];
    tm_stats_options o = TM_STATS_OPTIONS_INIT;
    tm_stats *lines = NULL, *tbs = NULL;
    tm_linecache *lc = NULL;
    int rc = tm_stats_compare(&lines, after, before, &o, err);
    if (rc != TM_OK)
        return rc;
    fprintf(out, "memory check %s failed: live memory grew by %" PRId64 " B (%s), threshold %s",
            c->name, r->growth, tm_format_size_i64(a, r->growth, 1),
            tm_format_size_u64(b, threshold, 0));
    if (r->suppressed || r->suppressed_size)
        fprintf(out, "; suppressed: %s, %+" PRId64 " traces",
                tm_format_size_i64(a, r->suppressed_size, 1), r->suppressed);
    fputc('\n', out);
    const tm_statistic *it = tm_stats_items(lines);
    for (size_t i = 0, shown = 0; i < tm_stats_count(lines) && shown < c->top; i++) {
        if (it[i].size_diff == 0 && it[i].count_diff == 0)
            continue;
        if (!r->file && it[i].size_diff > 0) {
            const tm_stat_frame *f = &it[i].frames[it[i].nframes - 1];
            if (!(r->file = dup_str(f->filename))) {
                rc = tm_error_set(err, TM_ENOMEM, "out of memory (report)");
                goto out;
            }
            r->line = f->lineno;
        }
        tm_render_stat(out, lines, &it[i], NULL);
        fputc('\n', out);
        shown++;
    }
    o.key = TM_KEY_TRACEBACK;
    if ((rc = tm_stats_compare(&tbs, after, before, &o, err)) != TM_OK ||
        (rc = tm_linecache_new(&lc, err)) != TM_OK)
        goto out;
    it = tm_stats_items(tbs);
    size_t grew = 0;
    for (size_t i = 0; i < tm_stats_count(tbs); i++)
        grew += it[i].size_diff > 0;
    for (size_t i = 0, shown = 0; i < tm_stats_count(tbs) && shown < c->tracebacks; i++) {
        if (it[i].size_diff <= 0)
            continue;
        shown++;
        fprintf(out, "traceback %zu of the %zu that grew: size=%s, count=%+" PRId64 "\n", shown,
                grew, tm_format_size_i64(a, it[i].size_diff, 1), it[i].count_diff);
        tm_render_traceback(out, lc, &it[i], 1, 8, 0, NULL);
    }
    if (c->snapshot_dir)
        rc = write_pair(out, c, before, after, err);
out:
    tm_linecache_free(lc);
    tm_stats_free(tbs);
    tm_stats_free(lines);
    return rc;
}

int tm_check_end(tm_check_result **out, tm_check *c, uint64_t threshold, tm_error *err)
{
    *out = NULL;
    if (!c)
        return tm_error_set(err, TM_EINVAL, "tm_check_end: no check");
    tm_snapshot *after = NULL;
    int rc = tm_take_snapshot(&after, err);
    if (rc != TM_OK) {
        check_free(c);
        return rc;
    }
    tm_check_result *r = calloc(1, sizeof *r);
    char *text = NULL;
    size_t textlen = 0;
    FILE *mem = NULL;
    if (!r) {
        rc = tm_error_set(err, TM_ENOMEM, "memory check %s: out of memory", c->name);
        goto out;
    }
    uint64_t old_total = tm_snapshot_total_size(c->before);
    uint64_t new_total = tm_snapshot_total_size(after);
    r->growth = new_total >= old_total ? (int64_t)(new_total - old_total)
                                       : -(int64_t)(old_total - new_total);
    if (r->growth <= 0 || (uint64_t)r->growth <= threshold)
        goto done;
    uint64_t bsize, bcount, asize, acount;
    if ((rc = symbolize(c->before, err)) != TM_OK || (rc = symbolize(after, err)) != TM_OK ||
        (rc = tm_suppressions_apply(c->before, c->sup, &bsize, &bcount, err)) != TM_OK ||
        (rc = tm_suppressions_apply(after, c->sup, &asize, &acount, err)) != TM_OK)
        goto out;
    r->suppressed_size = (int64_t)asize - (int64_t)bsize;
    r->suppressed = (int64_t)acount - (int64_t)bcount;
    old_total = tm_snapshot_total_size(c->before);
    new_total = tm_snapshot_total_size(after);
    r->growth = new_total >= old_total ? (int64_t)(new_total - old_total)
                                       : -(int64_t)(old_total - new_total);
    if (r->growth <= 0 || (uint64_t)r->growth <= threshold)
        goto done;
    r->failed = 1;
    if (!(mem = open_memstream(&text, &textlen))) {
        rc = tm_error_set(err, TM_ENOMEM, "memory check %s: out of memory", c->name);
        goto out;
    }
    rc = write_report(mem, c, r, threshold, c->before, after, err);
    if (fclose(mem) != 0 && rc == TM_OK)
        rc = tm_error_set(err, TM_ENOMEM, "memory check %s: out of memory (report)", c->name);
    mem = NULL;
    if (rc != TM_OK)
        goto out;
    r->report = text;
    text = NULL;
done:
    if (!r->report && !(r->report = dup_str(""))) {
        rc = tm_error_set(err, TM_ENOMEM, "memory check %s: out of memory", c->name);
        goto out;
    }
    *out = r;
    r = NULL;
    rc = TM_OK;
out:
    free(text);
    tm_check_result_free(r);
    tm_snapshot_free(after);
    check_free(c);
    return rc;
}

int tm_check_result_failed(const tm_check_result *r)
{
    return r && r->failed;
}

int64_t tm_check_result_growth(const tm_check_result *r)
{
    return r ? r->growth : 0;
}

int64_t tm_check_result_suppressed(const tm_check_result *r, int64_t *size)
{
    if (size)
        *size = r ? r->suppressed_size : 0;
    return r ? r->suppressed : 0;
}

const char *tm_check_result_where(const tm_check_result *r, uint32_t *line)
{
    if (line)
        *line = r && r->file ? r->line : 0;
    return r ? r->file : NULL;
}

const char *tm_check_result_report(const tm_check_result *r)
{
    return r && r->report ? r->report : "";
}

void tm_check_result_free(tm_check_result *r)
{
    if (!r)
        return;
    free(r->report);
    free(r->file);
    free(r);
}
