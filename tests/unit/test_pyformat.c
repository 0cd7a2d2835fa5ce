/*
 * The Python dump reader and writer.  Fixtures in tests/fixtures/python/
 * were written by python3 (gen_pyformat_fixtures.py, plus real dumps from
 * Python 3.6..3.13); each NAME.expect is Python's own listing of the
 * pickled traces, so Python is the oracle for what the decoder must see.
 */
#include "tmtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyformat_internal.h"
#include "tm/pyformat.h"
#include "tm_alloc.h"

static const char *const GOOD[] = {
    "proto2",    "proto3",    "proto4",    "proto5",    "trace3",   "tuple-traces",
    "empty",     "many",      "real-3.6",  "real-3.7",  "real-3.8", "real-3.9",
    "real-3.10", "real-3.11", "real-3.12", "real-3.13",
};

/* bad fixture, and a piece the error message must contain. */
static const char *const BAD[][2] = {
    { "bad-os-system", "global 'posix.system' is not allowed" },
    { "bad-nested-reduce", "is not allowed" },
    { "bad-wrong-class", "global 'tracemalloc.Filter' is not allowed" },
    { "bad-not-snapshot", "not a tracemalloc.Snapshot" },
    { "bad-size-overflow", "trace 0: size is too large" },
    { "bad-size-negative", "trace 0: size is negative" },
    { "bad-frame-shape", "trace 0: frame 0 is a tuple" },
    { "bad-lineno", "trace 0: frame 0: lineno is negative" },
    { "bad-float", "BINFLOAT: opcode 0x47 is not allowed" },
    { "bad-protocol0", "not a pickle of protocol 2..5" },
    { "bad-huge-memo", "memo index 2147483647 is implausibly large" },
    { "bad-huge-string", "truncated" },
    { "bad-no-stop", "truncated" },
    { "bad-role-confusion", "trace 1: frame 0 is a str" },
};

static char *fixture_path(const char *name, const char *ext)
{
    const char *src = getenv("TM_SOURCE_DIR");
    static char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/python/%s.%s", src ? src : "..", name, ext);
    return path;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s (is TM_SOURCE_DIR set?)\n", path);
        fail();
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* The .expect format: "limit N" then "DOMAIN SIZE TOTAL FILE:LINE|..." per
 * trace, frames most recent first. */
static char *listing(const tm_snapshot *s, size_t *len)
{
    char *out = NULL;
    FILE *f = open_memstream(&out, len);
    assert_non_null(f);
    fprintf(f, "limit %u\n", tm_snapshot_metadata(s)->nframe_limit);
    const tm_trace *t = tm_snapshot_traces(s);
    const tm_frame *fr = tm_snapshot_frames(s);
    uint32_t ids[256];
    for (size_t i = 0; i < tm_snapshot_trace_count(s); i++) {
        fprintf(f, "%u %llu %u ", t[i].domain, (unsigned long long)t[i].size,
                tm_snapshot_trace_total_nframe(s, i));
        size_t depth = tm_snapshot_stack_frames(ids, 256, s, t[i].stack);
        assert_true(depth <= 256);
        for (size_t k = 0; k < depth; k++) {
            size_t n;
            const char *file = tm_snapshot_string(s, fr[ids[k]].file, &n);
            fprintf(f, "%s", k ? "|" : "");
            fwrite(file, 1, n, f);
            fprintf(f, ":%u", fr[ids[k]].line);
        }
        fprintf(f, "\n");
    }
    fclose(f);
    return out;
}

static void assert_matches_expect(const tm_snapshot *s, const char *name)
{
    size_t elen, llen;
    uint8_t *expect = slurp(fixture_path(name, "expect"), &elen);
    char *got = listing(s, &llen);
    if (llen != elen || memcmp(got, expect, elen) != 0) {
        fprintf(stderr, "%s: listing differs from Python's\n--- expected\n%s--- got\n%s", name,
                (char *)expect, got);
        fail();
    }
    free(expect);
    free(got);
}

static tm_snapshot *decode_fixture(const char *name)
{
    size_t len;
    uint8_t *data = slurp(fixture_path(name, "pickle"), &len);
    tm_snapshot *s = NULL;
    tm_error err = { 0 };
    assert_true(tm_pyformat_detect(data, len));
    tmtest_ok(tm_pyformat_decode(&s, data, len, name, &err), &err);
    free(data);
    return s;
}

static void test_fixtures_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof GOOD / sizeof *GOOD; i++) {
        tm_snapshot *s = decode_fixture(GOOD[i]);
        assert_matches_expect(s, GOOD[i]);
        tm_snapshot_free(s);
    }
}

static void test_memo_sharing_interns_once(void **state)
{
    (void)state;
    const char *names[] = { "proto2", "proto5" };
    for (size_t k = 0; k < 2; k++) {
        tm_snapshot *s = decode_fixture(names[k]);
        const tm_trace *t = tm_snapshot_traces(s);
        /* Traces 0 and 1 pickle one shared frames tuple (BINGET). */
        assert_int_equal(t[0].stack, t[1].stack);
        /* six distinct (filename, lineno) pairs in gen_pyformat_fixtures.py */
        assert_int_equal(tm_snapshot_frame_count(s), 6);
        assert_int_equal(tm_snapshot_stacks(s)[t[2].stack].depth, 5);
        tm_snapshot_free(s);
    }
}

static void test_bad_fixtures_rejected(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
        size_t len;
        uint8_t *data = slurp(fixture_path(BAD[i][0], "pickle"), &len);
        tm_snapshot *s = NULL;
        tm_error err = { 0 };
        int rc = tm_pyformat_decode(&s, data, len, BAD[i][0], &err);
        if (rc != TM_EFORMAT || !strstr(err.message, BAD[i][1]) ||
            strncmp(err.message, BAD[i][0], strlen(BAD[i][0])) != 0) {
            fprintf(stderr, "%s: rc %d, message '%s', wanted '%s'\n", BAD[i][0], rc, err.message,
                    BAD[i][1]);
            fail();
        }
        assert_null(s);
        free(data);
    }
}

static void test_every_truncation_rejected(void **state)
{
    (void)state;
    const char *names[] = { "proto2", "proto5", "trace3" };
    for (size_t k = 0; k < 3; k++) {
        size_t len;
        uint8_t *data = slurp(fixture_path(names[k], "pickle"), &len);
        for (size_t n = 0; n < len; n++) {
            uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees over-reads */
            memcpy(copy, data, n);
            tm_snapshot *s = NULL;
            tm_error err = { 0 };
            int rc = tm_pyformat_decode(&s, copy, n, "cut.pickle", &err);
            if (rc != TM_EFORMAT || strncmp(err.message, "cut.pickle: ", 12) != 0) {
                fprintf(stderr, "%s cut at %zu: rc %d '%s'\n", names[k], n, rc, err.message);
                fail();
            }
            free(copy);
        }
        free(data);
    }
}

static void expect_eformat(const uint8_t *p, size_t n, const char *piece)
{
    tm_snapshot *s = NULL;
    tm_error err = { 0 };
    int rc = tm_pyformat_decode(&s, p, n, "x.pickle", &err);
    if (rc != TM_EFORMAT || !strstr(err.message, piece)) {
        fprintf(stderr, "rc %d, message '%s', wanted '%s'\n", rc, err.message, piece);
        fail();
    }
}

static void test_deep_nesting_and_hostile_lengths(void **state)
{
    (void)state;
    size_t n = 200000;
    uint8_t *p = malloc(n + 3);
    p[0] = PK_PROTO, p[1] = 4;
    memset(p + 2, PK_MARK, n);
    p[n + 2] = PK_STOP;
    expect_eformat(p, n + 3, "more than 64 nested MARKs");
    /* Nesting without MARKs: no recursion anywhere, so only the shape is wrong. */
    p[2] = PK_EMPTY_TUPLE;
    memset(p + 3, PK_TUPLE1, n - 1);
    expect_eformat(p, n + 3, "not a tracemalloc.Snapshot");
    /* A list that contains itself. */
    const uint8_t self[] = { 0x80, 4, ']', 0x94, '(', 'h', 0, 'e', '.' };
    expect_eformat(self, sizeof self, "not a tracemalloc.Snapshot");
    const uint8_t long4[] = { 0x80, 4, 0x8b, 0xff, 0xff, 0xff, 0x7f, 1, '.' };
    expect_eformat(long4, sizeof long4, "truncated");
    const uint8_t getbad[] = { 0x80, 4, 'j', 0xff, 0xff, 0xff, 0xff, '.' };
    expect_eformat(getbad, sizeof getbad, "memo index 4294967295 was never stored");
    const uint8_t frame[] = { 0x80, 4, 0x95, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '.' };
    expect_eformat(frame, sizeof frame, "frame of");
    const uint8_t underflow[] = { 0x80, 4, 0x86, '.' };
    expect_eformat(underflow, sizeof underflow, "stack underflow");
    const uint8_t across_mark[] = { 0x80, 4, ']', '(', 'K', 1, 'a', '.' };
    expect_eformat(across_mark, sizeof across_mark, "stack underflow");
    const uint8_t build_int[] = { 0x80, 4, 'K', 1, '}', 'b', '.' };
    expect_eformat(build_int, sizeof build_int, "not a tracemalloc object");
    free(p);
}

static void test_random_corruption_never_crashes(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = slurp(fixture_path("proto4", "pickle"), &len);
    uint8_t *copy = malloc(len);
    tmtest_rng rng;
    tmtest_rng_seed(&rng, 42);
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(copy, data, len);
        int flips = 1 + (int)tmtest_rng_below(&rng, 4);
        for (int k = 0; k < flips; k++)
            copy[tmtest_rng_below(&rng, len)] = (uint8_t)tmtest_rng_next(&rng);
        tm_snapshot *s = NULL;
        tm_error err = { 0 };
        int rc = tm_pyformat_decode(&s, copy, len, "fuzz", &err);
        assert_true(rc == TM_OK || rc == TM_EFORMAT || rc == TM_ELIMIT);
        if (rc == TM_OK)
            tm_snapshot_free(s);
        else
            assert_true(err.message[0] != '\0');
    }
    free(copy);
    free(data);
}

static void test_decode_out_of_memory(void **state)
{
    (void)state;
    const char *names[] = { "proto5", "many" };
    for (size_t k = 0; k < 2; k++) {
        size_t len;
        uint8_t *data = slurp(fixture_path(names[k], "pickle"), &len);
        int done = 0;
        for (unsigned long n = 1; !done; n++) {
            tm_snapshot *s = NULL;
            tm_error err = { 0 };
            tm_alloc_fail_after(n);
            int rc = tm_pyformat_decode(&s, data, len, names[k], &err);
            tm_alloc_fail_after(0);
            if (rc == TM_OK) {
                assert_matches_expect(s, names[k]);
                tm_snapshot_free(s);
                done = 1;
            } else {
                if (rc != TM_ENOMEM)
                    fprintf(stderr, "%s: fail after %lu: rc %d '%s'\n", names[k], n, rc,
                            err.message);
                assert_int_equal(rc, TM_ENOMEM);
                assert_null(s);
            }
            assert_true(n < 100000);
        }
        free(data);
    }
}

/* --- encoder ---------------------------------------------------------- */

static uint32_t str(tm_snapshot *s, const char *t)
{
    uint32_t id;
    tm_error err;
    tmtest_ok(tm_snapshot_intern_string(&id, s, t, strlen(t), &err), &err);
    return id;
}

/* A native snapshot: one symbolized frame, one unsymbolized, one with a
 * two-level inline chain, a non-UTF-8 path, and two domains. */
static tm_snapshot *native_snapshot(void)
{
    tm_snapshot *s;
    tm_error err;
    tmtest_ok(tm_snapshot_new(&s, &err), &err);
    tm_module m;
    memset(&m, 0, sizeof m);
    m.path = str(s, "/usr/bin/prog");
    uint32_t mod, fr[6], st1, st2, st3;
    tmtest_ok(tm_snapshot_add_module(&mod, s, &m, &err), &err);
    tm_frame f = { mod, str(s, "main"), str(s, "main.c"), 10, TM_NONE, 0, 0x100 };
    tmtest_ok(tm_snapshot_intern_frame(&fr[0], s, &f, &err), &err);
    tm_frame u = { mod, 0, 0, 0, TM_NONE, 0, 0x200 };
    tmtest_ok(tm_snapshot_intern_frame(&fr[1], s, &u, &err), &err);
    tm_frame outer = { mod, str(s, "outer"), str(s, "outer.c"), 30, TM_NONE, 0, 0x300 };
    tmtest_ok(tm_snapshot_intern_frame(&fr[2], s, &outer, &err), &err);
    tm_frame mid = { mod, str(s, "mid"), str(s, "mid.h"), 20, fr[2], 0, 0x300 };
    tmtest_ok(tm_snapshot_intern_frame(&fr[3], s, &mid, &err), &err);
    tm_frame inner = { mod, str(s, "inner"), str(s, "inner.h"), 5, fr[3], 0, 0x300 };
    tmtest_ok(tm_snapshot_intern_frame(&fr[4], s, &inner, &err), &err);
    uint32_t bad;
    tmtest_ok(tm_snapshot_intern_string(&bad, s, "/src/\xff\xfe.c", 9, &err), &err);
    tm_frame b = { mod, str(s, "b"), bad, 7, TM_NONE, 0, 0x400 };
    tmtest_ok(tm_snapshot_intern_frame(&fr[5], s, &b, &err), &err);
    uint32_t a1[] = { fr[4], fr[1], fr[0] };
    tmtest_ok(tm_snapshot_intern_stack(&st1, s, a1, 3, &err), &err);
    uint32_t a2[] = { fr[5], fr[0] };
    tmtest_ok(tm_snapshot_intern_stack(&st2, s, a2, 2, &err), &err);
    uint32_t a3[] = { fr[0] };
    tmtest_ok(tm_snapshot_intern_stack(&st3, s, a3, 1, &err), &err);
    tm_trace t[] = {
        { 64, st1, 0 }, { 32, st1, 0 }, { 1ull << 40, st2, 5 }, { UINT64_MAX, st3, UINT32_MAX },
        { 0, 0, 0 },
    };
    uint32_t tnf[] = { 3, 3, 10, 1, 0 };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        tmtest_ok(tm_snapshot_add_trace(s, &t[i], tnf[i], &err), &err);
    tm_metadata md;
    memset(&md, 0, sizeof md);
    md.nframe_limit = 16;
    tmtest_ok(tm_snapshot_set_metadata(s, &md, &err), &err);
    return s;
}

/* What Python must see for native_snapshot(): inline chain expanded
 * innermost first, unsymbolized -> <unknown>:0, total_nframe grown by the
 * two extra inline frames. */
static const char NATIVE_EXPECT[] = "limit 16\n"
                                    "0 64 5 inner.h:5|mid.h:20|outer.c:30|<unknown>:0|main.c:10\n"
                                    "0 32 5 inner.h:5|mid.h:20|outer.c:30|<unknown>:0|main.c:10\n"
                                    "5 1099511627776 10 /src/\xff\xfe.c:7|main.c:10\n"
                                    "4294967295 18446744073709551615 1 main.c:10\n"
                                    "0 0 0 \n";

static void test_encode_native_round_trip(void **state)
{
    (void)state;
    tm_snapshot *s = native_snapshot();
    void *buf = NULL;
    size_t len = 0;
    tm_error err = { 0 };
    tmtest_ok(tm_pyformat_encode(&buf, &len, s, &err), &err);
    assert_true(tm_pyformat_detect(buf, len));
    tm_snapshot *back = NULL;
    tmtest_ok(tm_pyformat_decode(&back, buf, len, "enc", &err), &err);
    size_t llen;
    char *got = listing(back, &llen);
    if (strcmp(got, NATIVE_EXPECT) != 0) {
        fprintf(stderr, "got:\n%s", got);
        fail();
    }
    free(got);
    /* Encoding what we decoded gives the same bytes (only Python frames now). */
    void *buf2 = NULL;
    size_t len2 = 0;
    tmtest_ok(tm_pyformat_encode(&buf2, &len2, back, &err), &err);
    assert_int_equal(len2, len);
    assert_memory_equal(buf2, buf, len);
    free(buf2);
    free(buf);
    tm_snapshot_free(back);
    tm_snapshot_free(s);
}

static void test_encode_fixtures_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof GOOD / sizeof *GOOD; i++) {
        tm_snapshot *s = decode_fixture(GOOD[i]);
        void *buf = NULL;
        size_t len = 0;
        tm_error err = { 0 };
        tmtest_ok(tm_pyformat_encode(&buf, &len, s, &err), &err);
        tm_snapshot *back = NULL;
        tmtest_ok(tm_pyformat_decode(&back, buf, len, GOOD[i], &err), &err);
        assert_matches_expect(back, GOOD[i]);
        /* Memo sharing: never much bigger than what Python wrote. */
        size_t orig;
        free(slurp(fixture_path(GOOD[i], "pickle"), &orig));
        if (len > orig + orig / 10 + 16) {
            fprintf(stderr, "%s: %zu bytes vs Python's %zu\n", GOOD[i], len, orig);
            fail();
        }
        free(buf);
        tm_snapshot_free(back);
        tm_snapshot_free(s);
    }
}

static void test_encode_out_of_memory(void **state)
{
    (void)state;
    tm_snapshot *s = native_snapshot();
    for (unsigned long n = 1;; n++) {
        void *buf = NULL;
        size_t len = 0;
        tm_error err = { 0 };
        tm_alloc_fail_after(n);
        int rc = tm_pyformat_encode(&buf, &len, s, &err);
        tm_alloc_fail_after(0);
        if (rc == TM_OK) {
            free(buf);
            break;
        }
        assert_int_equal(rc, TM_ENOMEM);
        assert_null(buf);
        assert_true(n < 10000);
    }
    tm_snapshot_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_decode),
        cmocka_unit_test(test_memo_sharing_interns_once),
        cmocka_unit_test(test_bad_fixtures_rejected),
        cmocka_unit_test(test_every_truncation_rejected),
        cmocka_unit_test(test_deep_nesting_and_hostile_lengths),
        cmocka_unit_test(test_random_corruption_never_crashes),
        cmocka_unit_test(test_decode_out_of_memory),
        cmocka_unit_test(test_encode_native_round_trip),
        cmocka_unit_test(test_encode_fixtures_round_trip),
        cmocka_unit_test(test_encode_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
