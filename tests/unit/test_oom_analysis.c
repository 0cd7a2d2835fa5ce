/*
 * Out-of-memory injection over the analysis pipeline, filling the gaps left
 * by the per-area tests (test_analysis covers tm_stats_compare with
 * cumulative keys and one filter_traces call; test_format_robust and
 * test_pyformat cover .tms and pickle load/write):
 *   - tm_stats_compute and tm_stats_compare for every key, cumulative and
 *     not, with frame/domain/all-frames filters, on a snapshot with
 *     modules, inlined native frames, unknown frames and Python frames;
 *   - filter parsing, pattern compilation, tm_snapshot_filter_traces;
 *     pattern matching, which must give the true answer whatever fails;
 *   - rendering (statistic lines and tracebacks with the line cache);
 *   - tmstat/tmdiff end to end (tm_report_main) with a loader that decodes
 *     .tms bytes, so the failure can land in load, statistics or output;
 *   - every Python dump fixture (the pyformat tests cover two).
 * For every N, failing the Nth allocation (and every later one) must give
 * TM_ENOMEM with no result, or — where a failure is tolerated — exactly the
 * result of the run without failures.  ASan's leak check runs in the
 * sanitizer build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "tmtest.h"
#include "tm_alloc.h"
#include "tm/diff.h"
#include "tm/filter.h"
#include "tm/pyformat.h"
#include "tm/render.h"
#include "report.h"
#include "tm/stats.h"
#include "tm/tms.h"

static uint32_t str_id(tm_snapshot *s, const char *text)
{
    uint32_t id;
    tm_error err;
    tmtest_ok(tm_snapshot_intern_string(&id, s, text, strlen(text), &err), &err);
    return id;
}

/* Native frames with a module, function names and one inline chain;
 * Python-style frames; an unknown frame.  `salt` varies sizes and stacks. */
static tm_snapshot *make_snapshot(unsigned salt, unsigned ntraces)
{
    tm_snapshot *s;
    tm_error err;
    tmtest_ok(tm_snapshot_new(&s, &err), &err);
    tm_module m = { 0 };
    m.path = str_id(s, "/usr/lib/liboom.so");
    m.build_id_len = 4;
    memcpy(m.build_id, "\x01\x02\x03\x04", 4);
    m.start = 0x1000;
    m.end = 0x8000;
    uint32_t mod;
    tmtest_ok(tm_snapshot_add_module(&mod, s, &m, &err), &err);
    static const char *const files[] = { "src/a.c", "src/b.c", "lib/x.py", "", "<frozen>" };
    static const char *const funcs[] = { "main", "grow", "_ZN2ns4nodeEv", "", "parse" };
    uint32_t fr[10];
    for (unsigned i = 0; i < 10; i++) {
        tm_frame f = { 0 };
        f.module = i % 4 == 3 ? TM_NONE : mod;
        f.function = str_id(s, funcs[i % 5]);
        f.file = str_id(s, files[(i + salt) % 5]);
        f.line = i % 6;
        f.inlined_by = i == 4 ? fr[3] : TM_NONE;
        f.offset = 0x1200 + 8u * i;
        tmtest_ok(tm_snapshot_intern_frame(&fr[i], s, &f, &err), &err);
    }
    tm_metadata md = { 0 };
    md.program = str_id(s, "/bin/oom");
    md.pid = 7;
    md.nframe_limit = 5;
    tmtest_ok(tm_snapshot_set_metadata(s, &md, &err), &err);
    for (unsigned t = 0; t < ntraces; t++) {
        uint32_t st[5];
        size_t depth = 1 + (t * 7 + salt) % 5;
        for (size_t k = 0; k < depth; k++)
            st[k] = fr[(t + 3 * k + salt) % 10];
        tm_trace tr = { 0 };
        tmtest_ok(tm_snapshot_intern_stack(&tr.stack, s, st, depth, &err), &err);
        tr.size = 16u * ((t * 13 + salt) % 29) + 1;
        tr.domain = t % 5 == 0 ? 2 : 0;
        tmtest_ok(tm_snapshot_add_trace(s, &tr, (uint32_t)depth + t % 2, &err), &err);
    }
    return s;
}

/* Full text of a result: every statistic and its traceback. */
static char *render(const tm_stats *st)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    tm_linecache *lc;
    tm_error err;
    tmtest_ok(tm_linecache_new(&lc, &err), &err);
    for (size_t i = 0; i < tm_stats_count(st); i++) {
        const tm_statistic *s = &tm_stats_items(st)[i];
        assert_int_equal(tm_render_stat(f, st, s, NULL), TM_OK);
        fputc('\n', f);
        assert_int_equal(tm_render_traceback(f, lc, s, 0, 0, 0, NULL), TM_OK);
    }
    fprintf(f, "total %llu %llu\n", (unsigned long long)tm_stats_total_size(st),
            (unsigned long long)tm_stats_total_count(st));
    tm_linecache_free(lc);
    fclose(f);
    return text;
}

static int run_stats(tm_stats **st, const tm_snapshot *nw, const tm_snapshot *old,
                     const tm_stats_options *o, tm_error *err)
{
    return old ? tm_stats_compare(st, nw, old, o, err) : tm_stats_compute(st, nw, o, err);
}

/* Fails allocation 1, 2, ... until the call succeeds; each failure must be
 * TM_ENOMEM with *out NULL, each success the reference result. */
static void sweep_stats(const tm_snapshot *nw, const tm_snapshot *old, const tm_stats_options *o)
{
    tm_error err;
    tm_stats *st = NULL;
    tm_alloc_fail_after(0);
    tmtest_ok(run_stats(&st, nw, old, o, &err), &err);
    unsigned long points = tm_alloc_fail_after(0);
    char *want = render(st);
    tm_stats_free(st);
    assert_true(points > 0);
    unsigned long failures = 0;
    for (unsigned long n = 1; n <= points + 1; n++) {
        st = (tm_stats *)1;
        err.message[0] = '\0';
        tm_alloc_fail_after(n);
        int rc = run_stats(&st, nw, old, o, &err);
        tm_alloc_fail_after(0);
        if (rc == TM_OK) {
            char *got = render(st);
            assert_string_equal(got, want);
            free(got);
            tm_stats_free(st);
            continue;
        }
        if (rc != TM_ENOMEM)
            fprintf(stderr, "key %d cumulative %d: allocation %lu: rc %d '%s'\n", (int)o->key,
                    o->cumulative, n, rc, err.message);
        assert_int_equal(rc, TM_ENOMEM);
        assert_null(st);
        assert_true(err.message[0] != '\0');
        failures++;
    }
    assert_true(failures > 0);
    free(want);
}

static void filters_for(int set, tm_filter *f, size_t *nf)
{
    memset(f, 0, 4 * sizeof *f);
    *nf = 0;
    if (set == 1) {
        tm_error err;
        tmtest_ok(tm_filter_parse(&f[0], "src/*", 1, &err), &err);
        tmtest_ok(tm_filter_parse(&f[1], "*.py:2", 1, &err), &err);
        tmtest_ok(tm_filter_parse(&f[2], "[!s]*b.c", 0, &err), &err);
        f[2].all_frames = 1;
        f[3].kind = TM_FILTER_DOMAIN;
        f[3].inclusive = 0;
        f[3].domain = 2;
        *nf = 4;
    } else if (set == 2) {
        f[0].kind = TM_FILTER_DOMAIN;
        f[0].inclusive = 1;
        f[0].domain = 0;
        f[1].kind = TM_FILTER_FRAME;
        f[1].inclusive = 0;
        f[1].pattern = "<*";
        f[1].has_domain = 1;
        f[1].domain = 0;
        f[1].all_frames = 1;
        *nf = 2;
    }
}

static void test_stats_every_key(void **state)
{
    (void)state;
    tm_snapshot *s = make_snapshot(0, 90);
    for (int set = 0; set < 3; set++) {
        tm_filter f[4];
        size_t nf;
        filters_for(set, f, &nf);
        for (int key = TM_KEY_LINENO; key <= TM_KEY_MODULE; key++) {
            for (int cum = 0; cum < 2; cum++) {
                if (cum && key == TM_KEY_TRACEBACK)
                    continue;
                tm_stats_options o = TM_STATS_OPTIONS_INIT;
                o.key = (tm_key_type)key;
                o.cumulative = cum;
                o.filters = f;
                o.nfilters = nf;
                sweep_stats(s, NULL, &o);
            }
        }
    }
    tm_snapshot_free(s);
}

static void test_diff_every_key(void **state)
{
    (void)state;
    tm_snapshot *old = make_snapshot(1, 50), *nw = make_snapshot(2, 70);
    for (int set = 0; set < 3; set += 2) {
        tm_filter f[4];
        size_t nf;
        filters_for(set, f, &nf);
        for (int key = TM_KEY_LINENO; key <= TM_KEY_MODULE; key++) {
            /* test_analysis sweeps the cumulative forms; these are the rest */
            tm_stats_options o = TM_STATS_OPTIONS_INIT;
            o.key = (tm_key_type)key;
            o.filters = f;
            o.nfilters = nf;
            sweep_stats(nw, old, &o);
        }
    }
    /* old-only and new-only groups: one side empty */
    tm_snapshot *empty = make_snapshot(0, 0);
    tm_stats_options o = TM_STATS_OPTIONS_INIT;
    o.key = TM_KEY_TRACEBACK;
    sweep_stats(empty, old, &o);
    sweep_stats(nw, empty, &o);
    tm_snapshot_free(empty);
    tm_snapshot_free(old);
    tm_snapshot_free(nw);
}

static void test_filter_traces_sets(void **state)
{
    (void)state;
    tm_snapshot *s = make_snapshot(3, 60);
    for (int set = 0; set < 3; set++) {
        tm_filter f[4];
        size_t nf;
        filters_for(set, f, &nf);
        tm_error err;
        tm_snapshot *ref;
        tm_alloc_fail_after(0);
        tmtest_ok(tm_snapshot_filter_traces(&ref, s, f, nf, &err), &err);
        unsigned long points = tm_alloc_fail_after(0);
        for (unsigned long n = 1; n <= points + 1; n++) {
            tm_snapshot *out = (tm_snapshot *)1;
            tm_alloc_fail_after(n);
            int rc = tm_snapshot_filter_traces(&out, s, f, nf, &err);
            tm_alloc_fail_after(0);
            if (rc == TM_OK) {
                assert_int_equal(tm_snapshot_trace_count(out), tm_snapshot_trace_count(ref));
                assert_int_equal(tm_snapshot_total_size(out), tm_snapshot_total_size(ref));
                tm_snapshot_free(out);
            } else {
                assert_int_equal(rc, TM_ENOMEM);
                assert_null(out);
            }
        }
        tm_snapshot_free(ref);
    }
    tm_snapshot_free(s);
}

static void test_patterns(void **state)
{
    (void)state;
    static const char *const pats[] = { "*",      "src/[a-c]*.c", "[!x]?y*.pyc",
                                        "a[]b]c", "[z-a]",        "*[*]*?**",
                                        "" };
    for (size_t k = 0; k < sizeof pats / sizeof *pats; k++) {
        tm_error err;
        tm_pattern *p;
        tm_alloc_fail_after(0);
        tmtest_ok(tm_pattern_compile(&p, pats[k], strlen(pats[k]), &err), &err);
        int want = tm_pattern_match(p, "src/b.c", 7);
        tm_pattern_free(p);
        unsigned long points = tm_alloc_fail_after(0);
        for (unsigned long n = 1; n <= points + 1; n++) {
            p = (tm_pattern *)1;
            tm_alloc_fail_after(n);
            int rc = tm_pattern_compile(&p, pats[k], strlen(pats[k]), &err);
            tm_alloc_fail_after(0);
            if (rc == TM_OK) {
                assert_int_equal(tm_pattern_match(p, "src/b.c", 7), want);
                tm_pattern_free(p);
            } else {
                assert_int_equal(rc, TM_ENOMEM);
                assert_null(p);
            }
        }
        int ref;
        tmtest_ok(tm_fnmatch(&ref, "src/b.c", pats[k], &err), &err);
        for (unsigned long n = 1; n < 8; n++) {
            int r = -1;
            tm_alloc_fail_after(n);
            int rc = tm_fnmatch(&r, "src/b.c", pats[k], &err);
            tm_alloc_fail_after(0);
            if (rc == TM_OK)
                assert_int_equal(r, ref);
            else
                assert_int_equal(rc, TM_ENOMEM);
        }
    }
}

/* Names longer than any on-stack buffer: matching them once allocated, and
 * an allocation failure there read as "no match" -- filters then kept or
 * dropped the wrong traces with TM_OK.  Matching must not depend on the
 * allocator at all. */
static void test_patterns_long_names(void **state)
{
    (void)state;
    char name[700];
    memset(name, 0, sizeof name);
    strcpy(name, "/src/");
    for (size_t i = strlen(name); i < 300; i++)
        name[i] = 'd';
    strcat(name, "/\xc3\xa9t\xc3\xa9/keep.pyc");
    size_t len = strlen(name);
    static const char *const pats[] = { "*/keep.py", "/src/d*/?t?/keep.py", "*[!k]eep.py",
                                        "*/drop.py" };
    static const int want[] = { 1, 1, 0, 0 };
    for (size_t k = 0; k < sizeof pats / sizeof *pats; k++) {
        tm_error err;
        tm_pattern *p;
        tmtest_ok(tm_pattern_compile(&p, pats[k], strlen(pats[k]), &err), &err);
        assert_int_equal(tm_pattern_match(p, name, len), want[k]);
        tm_alloc_fail_after(1);
        int got = tm_pattern_match(p, name, len);
        tm_alloc_fail_after(0);
        assert_int_equal(got, want[k]);
        tm_pattern_free(p);
    }

    /* The same through filter_traces: every run is TM_ENOMEM or the full
     * answer, never a snapshot missing the long-named trace. */
    tm_snapshot *s;
    tm_error err;
    tmtest_ok(tm_snapshot_new(&s, &err), &err);
    const char *files[2] = { name, "/src/short/drop.py" };
    for (int i = 0; i < 2; i++) {
        tm_frame f = { 0 };
        f.module = TM_NONE;
        f.inlined_by = TM_NONE;
        f.file = str_id(s, files[i]);
        f.line = 3;
        uint32_t fr;
        tmtest_ok(tm_snapshot_intern_frame(&fr, s, &f, &err), &err);
        tm_trace tr = { 0 };
        tmtest_ok(tm_snapshot_intern_stack(&tr.stack, s, &fr, 1, &err), &err);
        tr.size = 100u + (unsigned)i;
        tmtest_ok(tm_snapshot_add_trace(s, &tr, 1, &err), &err);
    }
    tm_filter flt;
    tmtest_ok(tm_filter_parse(&flt, "*/keep.py", 1, &err), &err);
    tm_alloc_fail_after(0);
    tm_snapshot *ref;
    tmtest_ok(tm_snapshot_filter_traces(&ref, s, &flt, 1, &err), &err);
    unsigned long points = tm_alloc_fail_after(0);
    assert_int_equal(tm_snapshot_trace_count(ref), 1);
    assert_int_equal(tm_snapshot_total_size(ref), 100);
    for (unsigned long n = 1; n <= points + 1; n++) {
        tm_snapshot *out = (tm_snapshot *)1;
        tm_alloc_fail_after(n);
        int rc = tm_snapshot_filter_traces(&out, s, &flt, 1, &err);
        tm_alloc_fail_after(0);
        if (rc == TM_OK) {
            assert_int_equal(tm_snapshot_trace_count(out), 1);
            assert_int_equal(tm_snapshot_total_size(out), 100);
            tm_snapshot_free(out);
        } else {
            assert_int_equal(rc, TM_ENOMEM);
            assert_null(out);
        }
    }
    tm_snapshot_free(ref);
    tm_snapshot_free(s);
}

static void test_render_linecache(void **state)
{
    (void)state;
    /* A readable source file, so the cache really allocates lines. */
    char path[] = "/tmp/tm-oom-src.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char body[] = "first line\n   second\t \n\xef\xbb\xbfthird\n";
    assert_int_equal(write(fd, body, sizeof body - 1), (ssize_t)(sizeof body - 1));
    close(fd);
    tm_stat_frame frames[3] = { { path, (uint32_t)strlen(path), 2 },
                                { "<frozen>", 8, 1 },
                                { path, (uint32_t)strlen(path), 1 } };
    tm_statistic s = { frames, 3, 100, 2, 0, 0 };
    char *want = NULL;
    for (int pass = 0; pass < 2; pass++) {
        unsigned long points = 0;
        for (unsigned long n = 0;; n++) {
            tm_linecache *lc = (tm_linecache *)1;
            tm_error err;
            char *text = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&text, &len);
            tm_alloc_fail_after(n);
            int rc = tm_linecache_new(&lc, &err);
            int rr = 0;
            if (rc == TM_OK)
                rr = tm_render_traceback(f, lc, &s, pass, -1, pass, &err);
            unsigned long made = tm_alloc_fail_after(0);
            fclose(f);
            if (rc == TM_OK)
                tm_linecache_free(lc);
            else
                assert_int_equal(rc, TM_ENOMEM);
            if (n == 0) {
                points = made;
                assert_int_equal(rr, 0);
                assert_non_null(strstr(text, "second"));
                free(want);
                want = strdup(text);
            }
            /* a cache that cannot hold a line prints the frame without it,
             * or fails: never a crash, never a leak */
            if (rc == TM_OK && rr == TM_OK)
                assert_string_equal(text, want); /* never a traceback missing a line */
            else if (rc == TM_OK)
                assert_int_equal(rr, TM_ENOMEM);
            free(text);
            if (n > points)
                break;
        }
    }
    free(want);
    unlink(path);
}

/* --- tmstat / tmdiff end to end ---------------------------------------- */

static void *fixture[2];
static size_t fixture_len[2];

static int mem_loader(const char *path, tm_snapshot **out, tm_error *err)
{
    int k = path[0] == 'B';
    return tm_tms_decode(out, fixture[k], fixture_len[k], path, err);
}

static int run_report(char **argv, int argc, int diff, char **out_text, char **err_text)
{
    fflush(stdout);
    fflush(stderr);
    FILE *o = tmpfile(), *e = tmpfile();
    assert_non_null(o);
    assert_non_null(e);
    int save1 = dup(1), save2 = dup(2);
    dup2(fileno(o), 1);
    dup2(fileno(e), 2);
    int rc = tm_report_main(argc, argv, diff, mem_loader);
    fflush(stdout);
    fflush(stderr);
    dup2(save1, 1);
    dup2(save2, 2);
    close(save1);
    close(save2);
    clearerr(stdout);
    FILE *fs[2] = { o, e };
    char **texts[2] = { out_text, err_text };
    for (int i = 0; i < 2; i++) {
        long n = ftell(fs[i]);
        if (n < 0)
            n = 0;
        char *t = calloc(1, (size_t)n + 1);
        assert_non_null(t);
        rewind(fs[i]);
        size_t got = fread(t, 1, (size_t)n, fs[i]);
        t[got] = '\0';
        *texts[i] = t;
        fclose(fs[i]);
    }
    return rc;
}

static void test_report_main(void **state)
{
    (void)state;
    tm_snapshot *a = make_snapshot(1, 40), *b = make_snapshot(2, 55);
    tm_error err;
    tmtest_ok(tm_tms_encode(&fixture[0], &fixture_len[0], a, NULL, &err), &err);
    tmtest_ok(tm_tms_encode(&fixture[1], &fixture_len[1], b, NULL, &err), &err);
    tm_snapshot_free(a);
    tm_snapshot_free(b);
    static char *runs[][12] = {
        { "tmstat", "A", "--by", "traceback", "--top", "0", NULL },
        { "tmstat", "A", "--cumulative", "--by", "function", "--format", "json", "--include",
          "src/*", NULL },
        { "tmstat", "A", "--by", "module", "--format", "csv", "--exclude-domain", "2", NULL },
        { "tmdiff", "A", "B", "--by", "filename", "--all-frames", "--exclude", "*.py", NULL },
        { "tmdiff", "A", "B", "--by", "traceback", "--format", "json", "--limit", "2", NULL },
        { "tmdiff", "B", "A", "--format", "csv", "--fail-on-growth", "1", NULL },
    };
    for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
        int argc = 0;
        while (runs[r][argc])
            argc++;
        int diff = runs[r][0][2] == 'd';
        char *want_out, *want_err;
        tm_alloc_fail_after(0);
        int want_rc = run_report(runs[r], argc, diff, &want_out, &want_err);
        unsigned long points = tm_alloc_fail_after(0);
        assert_true(want_rc == 0 || want_rc == 1);
        assert_true(points > 10);
        unsigned long failed = 0;
        for (unsigned long n = 1; n <= points + 1; n++) {
            char *out, *errs;
            tm_alloc_fail_after(n);
            int rc = run_report(runs[r], argc, diff, &out, &errs);
            tm_alloc_fail_after(0);
            if (rc == want_rc && strcmp(out, want_out) == 0 && strcmp(errs, want_err) == 0) {
                free(out);
                free(errs);
                continue;
            }
            if (rc != 2 || strstr(errs, "out of memory") == NULL)
                fprintf(stderr, "run %zu allocation %lu: exit %d, stderr '%s'\n", r, n, rc, errs);
            assert_int_equal(rc, 2);
            assert_non_null(strstr(errs, "out of memory"));
            assert_non_null(strstr(errs, runs[r][0]));
            failed++;
            free(out);
            free(errs);
        }
        assert_true(failed > 0);
        free(want_out);
        free(want_err);
    }
    free(fixture[0]);
    free(fixture[1]);
}

/* --- Python dumps: every good fixture ---------------------------------- */

static void test_pickle_fixtures(void **state)
{
    (void)state;
    /* ctest sets TM_SOURCE_DIR; else derive it from this file's path */
    char srcbuf[4096];
    const char *src = getenv("TM_SOURCE_DIR");
    if (!src) {
        snprintf(srcbuf, sizeof srcbuf, "%.4000s", __FILE__);
        char *cut = strstr(srcbuf, "/tests/unit/");
        if (cut)
            *cut = '\0';
        src = srcbuf;
    }
    static const char *const names[] = { "empty",     "proto2",       "proto3",    "proto4",
                                         "trace3",    "tuple-traces", "real-3.6",  "real-3.7",
                                         "real-3.8",  "real-3.9",     "real-3.10", "real-3.11",
                                         "real-3.12", "real-3.13" };
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        char path[4200];
        snprintf(path, sizeof path, "%.4000s/tests/fixtures/python/%s.pickle", src, names[k]);
        FILE *f = fopen(path, "rb");
        if (!f) {
            fprintf(stderr, "%s: missing fixture\n", path);
            fail();
        }
        static unsigned char data[1 << 20];
        size_t len = fread(data, 1, sizeof data, f);
        fclose(f);
        tm_snapshot *ref;
        tm_error err;
        tm_alloc_fail_after(0);
        tmtest_ok(tm_pyformat_decode(&ref, data, len, names[k], &err), &err);
        unsigned long points = tm_alloc_fail_after(0);
        for (unsigned long n = 1; n <= points + 1; n++) {
            /* pyformat.h does not promise *out = NULL on failure (tms.h
             * does), so start from NULL and check it stays so */
            tm_snapshot *s = NULL;
            err.message[0] = '\0';
            tm_alloc_fail_after(n);
            int rc = tm_pyformat_decode(&s, data, len, names[k], &err);
            tm_alloc_fail_after(0);
            if (rc == TM_OK) {
                assert_int_equal(tm_snapshot_trace_count(s), tm_snapshot_trace_count(ref));
                assert_int_equal(tm_snapshot_total_size(s), tm_snapshot_total_size(ref));
                tm_snapshot_free(s);
                continue;
            }
            if (rc != TM_ENOMEM)
                fprintf(stderr, "%s: allocation %lu: rc %d '%s'\n", names[k], n, rc, err.message);
            if (s != NULL)
                fprintf(stderr, "%s: allocation %lu of %lu: TM_ENOMEM but *out = %p\n", names[k], n,
                        points, (void *)s);
            assert_int_equal(rc, TM_ENOMEM);
            assert_null(s);
            assert_non_null(strstr(err.message, names[k]));
        }
        tm_snapshot_free(ref);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_every_key),     cmocka_unit_test(test_diff_every_key),
        cmocka_unit_test(test_filter_traces_sets),  cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_patterns_long_names), cmocka_unit_test(test_render_linecache),
        cmocka_unit_test(test_report_main),         cmocka_unit_test(test_pickle_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
