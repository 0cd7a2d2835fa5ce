/*
 * Unit tests for src/analysis: size formatting, fnmatch, ordering,
 * cumulative statistics, filters, inline expansion, frame names, diffs and
 * out-of-memory paths.  Where Python is the oracle, the expected values are
 * computed by running python3 while the test runs (tables printed by a small
 * script), next to fixed cases verified by hand against python3 3.11.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <unistd.h>

#include "tm/diff.h"
#include "tm/filter.h"
#include "tm/render.h"
#include "tm/stats.h"
#include "tm/symbolize.h"
#include "tm/export.h"
#include "tm/tms.h"
#include "tm_alloc.h"
#include "tmtest.h"

/* --- helpers ------------------------------------------------------------ */

static uint32_t str_id(tm_snapshot *s, const char *text)
{
    uint32_t id;
    tm_error err;
    tmtest_ok(tm_snapshot_intern_string(&id, s, text, strlen(text), &err), &err);
    return id;
}

/* A Python-like frame (no module). */
static uint32_t py_frame(tm_snapshot *s, const char *file, uint32_t line)
{
    tm_frame f = { TM_NONE, 0, str_id(s, file), line, TM_NONE, 0, 0 };
    uint32_t id;
    tm_error err;
    tmtest_ok(tm_snapshot_intern_frame(&id, s, &f, &err), &err);
    return id;
}

static void add_trace(tm_snapshot *s, const uint32_t *frames, size_t n, uint64_t size,
                      uint32_t domain)
{
    uint32_t stack;
    tm_error err;
    tmtest_ok(tm_snapshot_intern_stack(&stack, s, frames, n, &err), &err);
    tm_trace t = { size, stack, domain };
    tmtest_ok(tm_snapshot_add_trace(s, &t, (uint32_t)n, &err), &err);
}

static tm_snapshot *new_snap(void)
{
    tm_snapshot *s;
    tm_error err;
    tmtest_ok(tm_snapshot_new(&s, &err), &err);
    return s;
}

/* Renders every statistic (and traceback lines for traceback keys) into a
 * malloc'ed string. */
static char *render_all(const tm_stats *st)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    for (size_t i = 0; i < tm_stats_count(st); i++) {
        tm_render_stat(f, st, &tm_stats_items(st)[i], NULL);
        fputc('\n', f);
        if (tm_stats_key(st) == TM_KEY_TRACEBACK)
            tm_render_traceback(f, NULL, &tm_stats_items(st)[i], 0, 0, 0, NULL);
    }
    fclose(f);
    return buf;
}

static char *stats_text(const tm_snapshot *s, tm_key_type key, int cumulative,
                        const tm_filter *filters, size_t nfilters)
{
    tm_stats_options o = TM_STATS_OPTIONS_INIT;
    o.key = key;
    o.cumulative = cumulative;
    o.filters = filters;
    o.nfilters = nfilters;
    tm_stats *st;
    tm_error err;
    tmtest_ok(tm_stats_compute(&st, s, &o, &err), &err);
    char *text = render_all(st);
    tm_stats_free(st);
    return text;
}

/* Runs a python3 program and returns its stdout (malloc'ed). */
static char *python(const char *program)
{
    char path[] = "/tmp/tm-test-analysis-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(program, f);
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "python3 %s", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    for (size_t n; (n = fread(chunk, 1, sizeof chunk, p)) > 0;) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        memcpy(out + len, chunk, n);
        len += n;
    }
    int status = pclose(p);
    unlink(path);
    assert_int_equal(status, 0);
    assert_non_null(out);
    out[len] = 0;
    return out;
}

static size_t unhex(const char *hex, char *out)
{
    size_t n = 0;
    for (; hex[0] && hex[1] && hex[0] != ' ' && hex[0] != '\n'; hex += 2) {
        unsigned v;
        sscanf(hex, "%2x", &v);
        out[n++] = (char)v;
    }
    out[n] = 0;
    return n;
}

/* --- size formatting ---------------------------------------------------- */

static void test_format_size_known(void **state)
{
    (void)state;
    char b[TM_SIZE_TEXT_MAX];
    /* values checked with python3 3.11 tracemalloc._format_size */
    assert_string_equal(tm_format_size(b, 1536, 0), "1536 B");
    assert_string_equal(tm_format_size(b, 10240, 1), "+10.0 KiB");
    assert_string_equal(tm_format_size(b, -10240.0 * 1024, 1), "-10.0 MiB");
    assert_string_equal(tm_format_size(b, 99.95 * 1024, 0), "100.0 KiB");
    assert_string_equal(tm_format_size(b, 2.5, 0), "2 B");
    assert_string_equal(tm_format_size(b, 0.5, 0), "0 B");
    assert_string_equal(tm_format_size(b, 1.5, 0), "2 B");
    assert_string_equal(tm_format_size_u64(b, 5ull * (1ull << 40) + 1, 0), "5120 GiB");
    assert_string_equal(tm_format_size_u64(b, 1ull << 60, 0), "1048576 TiB");
    assert_string_equal(tm_format_size_i64(b, 0, 1), "+0 B");
    assert_string_equal(tm_format_size_i64(b, -5, 1), "-5 B");
    (void)b;
}

static void test_format_size_python(void **state)
{
    (void)state;
    /* python prints: value kind sign expected; kind i = int, f = float
     * (float values as exact hex so C reads the same double) */
    char *out =
        python("import random, tracemalloc\n"
               "r = random.Random(7)\n"
               "vals = [0, 1, 99, 100, 101, 1023, 1024, 10239, 10240, 10241, 102399, 102400,\n"
               "        2**20, 10*2**20 - 1, 10*2**20, 2**30 * 99, 2**40 * 10, 2**52, 2**53]\n"
               "for e in range(0, 52):\n"
               "    for _ in range(12):\n"
               "        vals.append(r.randrange(0, 2**(e+1)))\n"
               "for v in vals:\n"
               "    for s in (False, True):\n"
               "        for x in (v, -v):\n"
               "            if x < 0 and not s: continue\n"
               "            print('i', x, int(s), tracemalloc._format_size(x, s), sep='|')\n"
               "for _ in range(3000):\n"
               "    size = r.randrange(0, 2**r.randrange(1, 50)); count = r.randrange(1, 1000)\n"
               "    a = size / count\n"
               "    print('a', size, count, tracemalloc._format_size(a, False), sep='|')\n"
               "    f = r.random() * 10 ** r.randrange(0, 16)\n"
               "    print('f', f.hex(), 0, tracemalloc._format_size(f, False), sep='|')\n");
    size_t checked = 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char kind, want[128], got[TM_SIZE_TEXT_MAX];
        char v1[64], v2[64];
        int sign;
        if (sscanf(line, "%c|%63[^|]|%63[^|]|%127[^\n]", &kind, v1, v2, want) != 4)
            fail_msg("bad line from python: %s", line);
        if (kind == 'i') {
            sign = atoi(v2);
            tm_format_size_i64(got, strtoll(v1, NULL, 10), sign);
        } else if (kind == 'a') {
            tm_format_size(got, tm_stat_average(strtoull(v1, NULL, 10), strtoull(v2, NULL, 10)), 0);
        } else {
            tm_format_size(got, strtod(v1, NULL), 0);
        }
        if (strcmp(got, want) != 0)
            fail_msg("%s: got '%s'", line, got);
        checked++;
    }
    assert_true(checked > 5000);
    free(out);
}

/* --- fnmatch ------------------------------------------------------------ */

static void test_fnmatch_known(void **state)
{
    (void)state;
    /* each row verified with python3 fnmatch.fnmatchcase */
    static const struct {
        const char *name, *pat;
        int want;
    } rows[] = {
        { "abc", "a*c", 1 },     { "a/b", "a?b", 1 },
        { "ab", "[!a]b", 0 },    { "bb", "[!a]b", 1 },
        { "a", "[z-a]", 0 },     { "b", "[bz-ax]", 1 },
        { "x", "[bz-ax]", 1 },   { "z", "[bz-ax]", 0 },
        { "-", "[a-]", 1 },      { "[", "[", 1 },
        { "[a", "[a", 1 },       { "a", "[]a]", 1 },
        { "]", "[]a]", 1 },      { "\\", "[\\]", 1 },
        { "A", "a", 0 },         { "\xc3\xa9", "?", 1 },
        { "ab", "a**b", 1 },     { "a\nb", "a?b", 1 },
        { "-", "[c-a-b]", 1 },   { "b", "[c-a-b]", 1 },
        { "c", "[c-a-b]", 0 },   { "q", "[!z-a]", 1 },
        { "[!]", "[!]", 1 },     { "a.pyc", "a.py", 0 },
        { "", "*", 1 },          { "", "?", 0 },
        { "abc", "*b", 0 },      { "a[b]*?.c", "a[[]b]*", 1 },
        { "\xc3\xa9", "??", 0 }, { "b", "[a-c-e]", 1 },
        { "-", "[a-c-e]", 1 },   { "d", "[a-c-e]", 0 },
        { "^", "[^a]", 1 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        int got;
        tmtest_ok(tm_fnmatch(&got, rows[i].name, rows[i].pat, NULL), NULL);
        if (got != rows[i].want)
            fail_msg("fnmatch(%s, %s) = %d, want %d", rows[i].name, rows[i].pat, got, rows[i].want);
    }
    /* the .pyc rule belongs to tracemalloc's filters, i.e. tm_pattern */
    tm_pattern *p;
    tmtest_ok(tm_pattern_compile(&p, "a.pyc", 5, NULL), NULL);
    assert_int_equal(tm_pattern_match(p, "a.py", 4), 1);
    assert_int_equal(tm_pattern_match(p, "a.pyc", 5), 1);
    assert_int_equal(tm_pattern_match(p, "a.pycc", 6), 0);
    tm_pattern_free(p);
}

static void test_fnmatch_python(void **state)
{
    (void)state;
    char *out = python(
        "import fnmatch, random, re\n"
        "r = random.Random(11)\n"
        "alpha = ['a', 'b', 'c', 'z', '-', '!', ']', '[', '*', '?', '\\\\', '^', '.', '/',\n"
        "         '\\u00e9', '\\u65e5', '\\U0001f600', '&', '~', '|', '\\n']\n"
        "n = 0\n"
        "while n < 20000:\n"
        "    pat = ''.join(r.choice(alpha) for _ in range(r.randrange(0, 9)))\n"
        "    name = ''.join(r.choice(alpha[:8] + alpha[12:]) for _ in range(r.randrange(0, 7)))\n"
        "    if r.random() < 0.5:  # names shaped like the pattern match more often\n"
        "        name = ''.join(c if c not in '*?[]!' else r.choice('abz-!]') for c in pat)\n"
        "    try: m = fnmatch.fnmatchcase(name, pat)\n"
        "    except Exception: continue\n"
        "    print(name.encode().hex() or '-', pat.encode().hex() or '-', int(m))\n"
        "    n += 1\n");
    size_t checked = 0, matched = 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char hn[128], hp[128], name[64], pat[64];
        int want;
        if (sscanf(line, "%127s %127s %d", hn, hp, &want) != 3)
            fail_msg("bad line from python: %s", line);
        if (strcmp(hn, "-") == 0)
            name[0] = 0;
        else
            unhex(hn, name);
        if (strcmp(hp, "-") == 0)
            pat[0] = 0;
        else
            unhex(hp, pat);
        int got;
        tmtest_ok(tm_fnmatch(&got, name, pat, NULL), NULL);
        if (got != want)
            fail_msg("fnmatch('%s', '%s') = %d, python says %d (hex %s %s)", name, pat, got, want,
                     hn, hp);
        checked++;
        matched += (size_t)want;
    }
    assert_int_equal(checked, 20000);
    assert_true(matched > 2000); /* the table exercises both outcomes */
    free(out);
}

static void test_filter_parse(void **state)
{
    (void)state;
    tm_filter f;
    tmtest_ok(tm_filter_parse(&f, "a/*.c:12", 1, NULL), NULL);
    assert_int_equal(f.has_lineno, 1);
    assert_int_equal(f.lineno, 12);
    assert_int_equal(f.pattern_len, 5);
    tmtest_ok(tm_filter_parse(&f, "a:b", 0, NULL), NULL);
    assert_int_equal(f.has_lineno, 0);
    assert_int_equal(f.inclusive, 0);
    tmtest_ok(tm_filter_parse(&f, ":5", 1, NULL), NULL);
    assert_int_equal(f.has_lineno, 0);
    tm_error err;
    assert_int_equal(tm_filter_parse(&f, "x:99999999999", 1, &err), TM_EINVAL);
}

/* --- statistics ------------------------------------------------------------ */

static void test_sort_and_keys(void **state)
{
    (void)state;
    tm_snapshot *s = new_snap();
    uint32_t a1 = py_frame(s, "a.py", 1), a2 = py_frame(s, "a.py", 2);
    uint32_t b1 = py_frame(s, "b.py", 1), u = py_frame(s, "\xc3\xa9.py", 1);
    /* same size and count everywhere: order falls to the tracebacks */
    uint32_t st1[] = { a1 }, st2[] = { a2, a1 }, st3[] = { b1 }, st4[] = { u, b1 };
    add_trace(s, st1, 1, 10, 0);
    add_trace(s, st2, 2, 10, 0);
    add_trace(s, st3, 1, 10, 0);
    add_trace(s, st4, 2, 10, 0);
    add_trace(s, st4, 2, 0, 0); /* size 0 still counts */
    char *t = stats_text(s, TM_KEY_LINENO, 0, NULL, 0);
    /* expected texts printed by python3 3.11 for the same Snapshot */
    assert_string_equal(t,
                        "\xc3\xa9.py:1: size=10 B, count=2, average=5 B\n"
                        "b.py:1: size=10 B, count=1, average=10 B\n"
                        "a.py:2: size=10 B, count=1, average=10 B\n"
                        "a.py:1: size=10 B, count=1, average=10 B\n");
    free(t);
    t = stats_text(s, TM_KEY_TRACEBACK, 0, NULL, 0);
    /* tracebacks oldest first; a prefix sorts first (so last, descending) */
    assert_string_equal(t,
                        "b.py:1: size=10 B, count=2, average=5 B\n"
                        "  File \"b.py\", line 1\n  File \"\xc3\xa9.py\", line 1\n"
                        "b.py:1: size=10 B, count=1, average=10 B\n"
                        "  File \"b.py\", line 1\n"
                        "a.py:1: size=10 B, count=1, average=10 B\n"
                        "  File \"a.py\", line 1\n  File \"a.py\", line 2\n"
                        "a.py:1: size=10 B, count=1, average=10 B\n"
                        "  File \"a.py\", line 1\n");
    free(t);
    t = stats_text(s, TM_KEY_FILENAME, 1, NULL, 0);
    /* cumulative: a.py twice in st2 counts twice */
    assert_string_equal(t,
                        "a.py:0: size=30 B, count=3, average=10 B\n"
                        "b.py:0: size=20 B, count=3, average=7 B\n"
                        "\xc3\xa9.py:0: size=10 B, count=2, average=5 B\n");
    free(t);
    tm_stats_options o = TM_STATS_OPTIONS_INIT;
    o.key = TM_KEY_TRACEBACK;
    o.cumulative = 1;
    tm_stats *st;
    tm_error err;
    assert_int_equal(tm_stats_compute(&st, s, &o, &err), TM_EINVAL);
    assert_non_null(strstr(err.message, "cumulative"));
    tm_snapshot_free(s);
}

static void test_filters(void **state)
{
    (void)state;
    tm_snapshot *s = new_snap();
    uint32_t a1 = py_frame(s, "lib/a.py", 1), b2 = py_frame(s, "app/b.pyc", 2);
    uint32_t s1[] = { a1, b2 }, s2[] = { b2, a1 };
    add_trace(s, s1, 2, 100, 0);
    add_trace(s, s2, 2, 1000, 1);
    tm_filter f[2];
    memset(f, 0, sizeof f);
    f[0].kind = TM_FILTER_FRAME;
    f[0].inclusive = 1;
    f[0].pattern = "app/*.py"; /* .pyc names read as .py */
    char *t = stats_text(s, TM_KEY_LINENO, 0, f, 1);
    assert_string_equal(t, "app/b.pyc:2: size=1000 B, count=1, average=1000 B\n");
    free(t);
    f[0].all_frames = 1; /* now both stacks contain app/b.pyc */
    t = stats_text(s, TM_KEY_LINENO, 0, f, 1);
    assert_string_equal(t,
                        "app/b.pyc:2: size=1000 B, count=1, average=1000 B\n"
                        "lib/a.py:1: size=100 B, count=1, average=100 B\n");
    free(t);
    f[0].has_lineno = 1; /* line 1 is never app/b */
    f[0].lineno = 1;
    t = stats_text(s, TM_KEY_LINENO, 0, f, 1);
    assert_string_equal(t, "");
    free(t);
    /* exclusive frame filter limited to domain 1 only excludes domain 1 */
    f[0].inclusive = 0;
    f[0].has_lineno = 0;
    f[0].has_domain = 1;
    f[0].domain = 1;
    t = stats_text(s, TM_KEY_LINENO, 0, f, 1);
    assert_string_equal(t, "lib/a.py:1: size=100 B, count=1, average=100 B\n");
    free(t);
    f[1].kind = TM_FILTER_DOMAIN;
    f[1].inclusive = 1;
    f[1].domain = 1; /* only domain 1, which f[0] excludes */
    t = stats_text(s, TM_KEY_LINENO, 0, f, 2);
    assert_string_equal(t, "");
    free(t);
    tm_snapshot_free(s);
}

/* Native frames: inline chains, unsymbolized frames, function/module keys. */
static void test_native_frames(void **state)
{
    (void)state;
    tm_snapshot *s = new_snap();
    tm_error err;
    tm_module m = { 0 };
    m.path = str_id(s, "/usr/lib/libx.so");
    uint32_t mod;
    tmtest_ok(tm_snapshot_add_module(&mod, s, &m, &err), &err);
    /* caller main (main.c:10) -> helper inlined into process (p.c:5 inside
     * p.c:20) -> unsymbolized libx+0x1a2b */
    tm_frame fmain = { mod, str_id(s, "main"), str_id(s, "main.c"), 10, TM_NONE, 0, 0x100 };
    tm_frame fouter = { mod, str_id(s, "process"), str_id(s, "p.c"), 20, TM_NONE, 0, 0x200 };
    uint32_t imain, iouter, iinner, iraw;
    tmtest_ok(tm_snapshot_intern_frame(&imain, s, &fmain, &err), &err);
    tmtest_ok(tm_snapshot_intern_frame(&iouter, s, &fouter, &err), &err);
    tm_frame finner = { mod, str_id(s, "helper"), str_id(s, "p.c"), 5, iouter, 0, 0x200 };
    tmtest_ok(tm_snapshot_intern_frame(&iinner, s, &finner, &err), &err);
    tm_frame fraw = { mod, 0, 0, 0, TM_NONE, 0, 0x1a2b };
    tmtest_ok(tm_snapshot_intern_frame(&iraw, s, &fraw, &err), &err);
    uint32_t st[] = { iraw, iinner, imain };
    add_trace(s, st, 3, 64, 0);
    tm_trace empty = { 32, 0, 0 }; /* the empty stack */
    tmtest_ok(tm_snapshot_add_trace(s, &empty, 0, &err), &err);

    char *t = stats_text(s, TM_KEY_TRACEBACK, 0, NULL, 0);
    assert_string_equal(t,
                        "main.c:10: size=64 B, count=1, average=64 B\n"
                        "  File \"main.c\", line 10\n"
                        "  File \"p.c\", line 20\n"
                        "  File \"p.c\", line 5\n"
                        "  File \"/usr/lib/libx.so+0x1a2b\", line 0\n"
                        "<unknown>:0: size=32 B, count=1, average=32 B\n"
                        "  File \"<unknown>\", line 0\n");
    free(t);
    t = stats_text(s, TM_KEY_FUNCTION, 1, NULL, 0);
    assert_string_equal(t,
                        "process: size=64 B, count=1, average=64 B\n"
                        "main: size=64 B, count=1, average=64 B\n"
                        "helper: size=64 B, count=1, average=64 B\n"
                        "/usr/lib/libx.so+0x1a2b: size=64 B, count=1, average=64 B\n"
                        "<unknown>: size=32 B, count=1, average=32 B\n");
    free(t);
    t = stats_text(s, TM_KEY_MODULE, 0, NULL, 0);
    assert_string_equal(t,
                        "/usr/lib/libx.so: size=64 B, count=1, average=64 B\n"
                        "<unknown>: size=32 B, count=1, average=32 B\n");
    free(t);
    /* a filter on an inlined frame with all_frames sees the inline chain */
    tm_filter f = { TM_FILTER_FRAME, 1, "p.c", 0, 1, 20, 1, 0, 0 };
    t = stats_text(s, TM_KEY_LINENO, 0, &f, 1);
    assert_string_equal(t, "/usr/lib/libx.so+0x1a2b:0: size=64 B, count=1, average=64 B\n");
    free(t);
    tm_snapshot_free(s);
}

static void test_compare(void **state)
{
    (void)state;
    tm_snapshot *old = new_snap(), *nw = new_snap();
    /* different string ids in the two snapshots on purpose */
    str_id(nw, "padding");
    uint32_t oa = py_frame(old, "a.py", 1), ob = py_frame(old, "b.py", 1);
    uint32_t oc = py_frame(old, "c.py", 1);
    uint32_t na = py_frame(nw, "a.py", 1), nb = py_frame(nw, "b.py", 1);
    uint32_t nd = py_frame(nw, "d.py", 1);
    add_trace(old, &oa, 1, 100, 0);
    add_trace(old, &ob, 1, 50, 0);
    add_trace(old, &oc, 1, 2048, 0);
    add_trace(nw, &na, 1, 100, 0); /* unchanged */
    add_trace(nw, &nb, 1, 80, 0);  /* grown */
    add_trace(nw, &nb, 1, 10, 0);
    add_trace(nw, &nd, 1, 10, 0); /* new */
    tm_stats_options o = TM_STATS_OPTIONS_INIT;
    tm_stats *st;
    tm_error err;
    tmtest_ok(tm_stats_compare(&st, nw, old, &o, &err), &err);
    char *t = render_all(st);
    /* python3: new.compare_to(old, 'lineno') */
    assert_string_equal(t,
                        "c.py:1: size=0 B (-2048 B), count=0 (-1)\n"
                        "b.py:1: size=90 B (+40 B), count=2 (+1), average=45 B\n"
                        "d.py:1: size=10 B (+10 B), count=1 (+1), average=10 B\n"
                        "a.py:1: size=100 B (+0 B), count=1 (+0), average=100 B\n");
    assert_int_equal(tm_stats_total_size(st), 200);
    assert_int_equal(tm_stats_old_total_size(st), 2198);
    free(t);
    tm_stats_free(st);
    tm_snapshot_free(old);
    tm_snapshot_free(nw);
}

/* Every allocation point fails cleanly (no crash, no leak under ASan). */
static void test_out_of_memory(void **state)
{
    (void)state;
    tm_snapshot *old = new_snap(), *nw = new_snap();
    for (uint32_t i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%u.c", i % 7);
        uint32_t fr[3] = { py_frame(nw, name, i), py_frame(nw, "x.c", i % 3),
                           py_frame(nw, "m.c", 1) };
        add_trace(nw, fr, 1 + i % 3, i * 10, i % 2);
        uint32_t fo = py_frame(old, name, i);
        add_trace(old, &fo, 1, i, 0);
    }
    tm_filter f = { TM_FILTER_FRAME, 1, "f[0-3]*", 0, 0, 0, 1, 0, 0 };
    for (int key = TM_KEY_LINENO; key <= TM_KEY_MODULE; key++) {
        tm_stats_options o = TM_STATS_OPTIONS_INIT;
        o.key = (tm_key_type)key;
        o.cumulative = key != TM_KEY_TRACEBACK;
        o.filters = &f;
        o.nfilters = 1;
        tm_alloc_fail_after(0);
        tm_stats *st;
        tm_error err;
        tmtest_ok(tm_stats_compare(&st, nw, old, &o, &err), &err);
        tm_stats_free(st);
        unsigned long points = tm_alloc_fail_after(0);
        assert_true(points > 5);
        for (unsigned long n = 1; n <= points; n++) {
            tm_alloc_fail_after(n);
            int rc = tm_stats_compare(&st, nw, old, &o, &err);
            tm_alloc_fail_after(0);
            if (rc == TM_OK)
                tm_stats_free(st);
            else
                assert_int_equal(rc, TM_ENOMEM);
        }
    }
    tm_snapshot_free(old);
    tm_snapshot_free(nw);
}

/* filter_traces then statistics == statistics with the filters, for random
 * snapshots and filters; and the copy keeps model and metadata. */
static void test_filter_traces(void **state)
{
    (void)state;
    tmtest_rng rng;
    tmtest_rng_seed(&rng, 1234);
    static const char *const names[] = { "a.c", "b.c", "lib/x.c", "lib/y.py", "<unknown>" };
    static const char *const pats[] = { "*.c", "lib/*", "?.c", "[ab].c", "*y.pyc", "nothing" };
    for (int round = 0; round < 60; round++) {
        tm_snapshot *s = new_snap();
        tm_error err;
        tm_metadata md = { 0 };
        md.program = str_id(s, "/bin/prog");
        md.pid = 42;
        md.nframe_limit = 8;
        tmtest_ok(tm_snapshot_set_metadata(s, &md, &err), &err);
        const char *argv[] = { "prog", "--flag" };
        tmtest_ok(tm_snapshot_set_argv(s, argv, 2, &err), &err);
        size_t ntraces = tmtest_rng_below(&rng, 40);
        for (size_t i = 0; i < ntraces; i++) {
            uint32_t fr[6];
            size_t depth = 1 + tmtest_rng_below(&rng, 6);
            for (size_t k = 0; k < depth; k++)
                fr[k] = py_frame(s, names[tmtest_rng_below(&rng, 5)],
                                 (uint32_t)tmtest_rng_below(&rng, 3));
            add_trace(s, fr, depth, tmtest_rng_below(&rng, 3) * 8,
                      (uint32_t)tmtest_rng_below(&rng, 3));
        }
        tm_filter f[3];
        memset(f, 0, sizeof f);
        size_t nf = tmtest_rng_below(&rng, 4);
        for (size_t k = 0; k < nf; k++) {
            f[k].kind = tmtest_rng_below(&rng, 4) == 0 ? TM_FILTER_DOMAIN : TM_FILTER_FRAME;
            f[k].inclusive = (int)tmtest_rng_below(&rng, 2);
            f[k].pattern = pats[tmtest_rng_below(&rng, 6)];
            f[k].all_frames = (int)tmtest_rng_below(&rng, 2);
            f[k].has_lineno = tmtest_rng_below(&rng, 3) == 0;
            f[k].lineno = (uint32_t)tmtest_rng_below(&rng, 3);
            f[k].has_domain = tmtest_rng_below(&rng, 3) == 0;
            f[k].domain = (uint32_t)tmtest_rng_below(&rng, 3);
        }
        tm_snapshot *fsnap;
        tmtest_ok(tm_snapshot_filter_traces(&fsnap, s, f, nf, &err), &err);
        for (int key = TM_KEY_LINENO; key <= TM_KEY_TRACEBACK; key++) {
            char *want = stats_text(s, (tm_key_type)key, 0, f, nf);
            char *got = stats_text(fsnap, (tm_key_type)key, 0, NULL, 0);
            assert_string_equal(got, want);
            free(want);
            free(got);
        }
        assert_int_equal(tm_snapshot_metadata(fsnap)->pid, 42);
        assert_string_equal(tm_snapshot_string(fsnap, tm_snapshot_metadata(fsnap)->program, NULL),
                            "/bin/prog");
        assert_int_equal(tm_snapshot_argc(fsnap), 2);
        assert_string_equal(tm_snapshot_string(fsnap, tm_snapshot_argv(fsnap)[1], NULL), "--flag");
        if (nf == 0)
            assert_int_equal(tm_snapshot_trace_count(fsnap), ntraces);
        tm_snapshot_free(fsnap);
        if (round == 0) {
            /* every allocation point fails cleanly */
            tm_alloc_fail_after(0);
            tmtest_ok(tm_snapshot_filter_traces(&fsnap, s, f, nf, &err), &err);
            tm_snapshot_free(fsnap);
            unsigned long points = tm_alloc_fail_after(0);
            for (unsigned long n = 1; n <= points; n++) {
                tm_alloc_fail_after(n);
                int rc = tm_snapshot_filter_traces(&fsnap, s, f, nf, &err);
                tm_alloc_fail_after(0);
                if (rc == TM_OK)
                    tm_snapshot_free(fsnap);
                else
                    assert_int_equal(rc, TM_ENOMEM);
            }
        }
        tm_snapshot_free(s);
    }
}

static const char *getline_ok(tm_linecache *lc, const char *path, uint32_t lineno)
{
    const char *line;
    tm_error err;
    tmtest_ok(tm_linecache_getline(&line, lc, path, lineno, &err), &err);
    return line;
}

static void test_linecache(void **state)
{
    (void)state;
    char path[] = "/tmp/tm-test-lines-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "\xef\xbb\xbf first \r\n\t second\xc2\xa0\rthird\n\n \xe3\x80\x80";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    tm_linecache *lc;
    tmtest_ok(tm_linecache_new(&lc, NULL), NULL);
    assert_string_equal(getline_ok(lc, path, 1), "first");
    assert_string_equal(getline_ok(lc, path, 2), "second");
    assert_string_equal(getline_ok(lc, path, 3), "third");
    assert_null(getline_ok(lc, path, 4));
    assert_null(getline_ok(lc, path, 5)); /* only whitespace */
    assert_null(getline_ok(lc, path, 6));
    assert_null(getline_ok(lc, path, 0));
    assert_null(getline_ok(lc, "<string>", 1));
    tm_linecache_free(lc);
    unlink(path);
}

/* Options structs: NULL means the defaults everywhere, and each has a
 * function form of its INIT macro that refuses unknown versions. */
static void test_options_defaults(void **state)
{
    (void)state;
    tm_snapshot *s = new_snap();
    uint32_t fr[2] = { py_frame(s, "a.py", 1), py_frame(s, "b.py", 2) };
    add_trace(s, fr, 2, 100, 0);
    add_trace(s, fr + 1, 1, 30, 0);
    tm_error err;
    tm_stats *with_null, *with_init;
    tm_stats_options o;
    tmtest_ok(tm_stats_options_init(&o, TM_STATS_OPTIONS_VERSION, &err), &err);
    tmtest_ok(tm_stats_compute(&with_null, s, NULL, &err), &err);
    tmtest_ok(tm_stats_compute(&with_init, s, &o, &err), &err);
    char *a = render_all(with_null), *b = render_all(with_init);
    assert_string_equal(a, b);
    free(a);
    free(b);
    tm_stats_free(with_null);
    tm_stats_free(with_init);
    tmtest_ok(tm_stats_compare(&with_null, s, s, NULL, &err), &err);
    assert_int_equal(tm_stats_key(with_null), TM_KEY_LINENO);
    tm_stats_free(with_null);
    tm_snapshot_free(s);

    assert_int_equal(tm_stats_options_init(&o, TM_STATS_OPTIONS_VERSION + 1, &err), TM_EINVAL);
    tm_symbolize_options so;
    tmtest_ok(tm_symbolize_options_init(&so, TM_SYMBOLIZE_OPTIONS_VERSION, &err), &err);
    assert_int_equal(so.version, TM_SYMBOLIZE_OPTIONS_VERSION);
    assert_int_equal(tm_symbolize_options_init(&so, 0, &err), TM_EINVAL);
    tm_export_options eo;
    tmtest_ok(tm_export_options_init(&eo, TM_EXPORT_OPTIONS_VERSION, &err), &err);
    assert_int_equal(eo.weight, TM_EXPORT_WEIGHT_SIZE);
    assert_int_equal(tm_export_options_init(&eo, 0, &err), TM_EINVAL);
    tm_tms_write_options wo;
    tmtest_ok(tm_tms_write_options_init(&wo, TM_TMS_WRITE_OPTIONS_VERSION, &err), &err);
    assert_int_equal(wo.compression_level, 0);
    assert_int_equal(tm_tms_write_options_init(&wo, 0, &err), TM_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_size_known), cmocka_unit_test(test_format_size_python),
        cmocka_unit_test(test_fnmatch_known),     cmocka_unit_test(test_fnmatch_python),
        cmocka_unit_test(test_filter_parse),      cmocka_unit_test(test_sort_and_keys),
        cmocka_unit_test(test_filters),           cmocka_unit_test(test_native_frames),
        cmocka_unit_test(test_compare),           cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_filter_traces),     cmocka_unit_test(test_linecache),
        cmocka_unit_test(test_options_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
