/* The snapshot model: interning, prefix sharing, validation, out-of-memory. */
#include "tmtest.h"

#include <stdio.h>
#include <string.h>

#include "tm_snapshot_internal.h"
#include "tm_alloc.h"

static uint32_t str(tm_snapshot *s, const char *p)
{
    uint32_t id;
    tm_error err;
    tmtest_ok(tm_snapshot_intern_string(&id, s, p, strlen(p), &err), &err);
    return id;
}

static uint32_t pyframe(tm_snapshot *s, const char *file, uint32_t line)
{
    tm_frame f = { .module = TM_NONE, .file = str(s, file), .line = line, .inlined_by = TM_NONE };
    uint32_t id;
    tm_error err;
    tmtest_ok(tm_snapshot_intern_frame(&id, s, &f, &err), &err);
    return id;
}

static void test_strings_are_interned(void **state)
{
    (void)state;
    tm_snapshot *s;
    tm_error err;
    tmtest_ok(tm_snapshot_new(&s, &err), &err);
    assert_int_equal(str(s, ""), 0);
    uint32_t a = str(s, "a.c"), b = str(s, "b.c");
    assert_int_not_equal(a, b);
    assert_int_equal(str(s, "a.c"), a);
    /* Embedded NUL and non-ASCII bytes are kept exactly. */
    uint32_t n;
    tmtest_ok(tm_snapshot_intern_string(&n, s, "x\0y", 3, &err), &err);
    size_t len;
    const char *p = tm_snapshot_string(s, n, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(p, "x\0y", 3);
    uint32_t u = str(s, "/tmp/\xc3\xa9t\xc3\xa9.c");
    assert_string_equal(tm_snapshot_string(s, u, NULL), "/tmp/\xc3\xa9t\xc3\xa9.c");
    /* Thousands of strings: pointers stay valid while the table grows. */
    const char *first = tm_snapshot_string(s, a, NULL);
    char buf[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(buf, sizeof buf, "file%d.c", i);
        str(s, buf);
    }
    assert_ptr_equal(first, tm_snapshot_string(s, a, NULL));
    assert_int_equal(tm_snapshot_string_count(s), 20000 + 5);
    snprintf(buf, sizeof buf, "file%d.c", 12345);
    assert_string_equal(tm_snapshot_string(s, str(s, buf), NULL), buf);
    assert_string_equal(tm_snapshot_string(s, 999999, NULL), "");
    tm_snapshot_free(s);
}

static void test_stacks_share_prefixes(void **state)
{
    (void)state;
    tm_snapshot *s;
    tm_error err;
    tmtest_ok(tm_snapshot_new(&s, &err), &err);
    uint32_t main_ = pyframe(s, "main.c", 10), f = pyframe(s, "f.c", 20), g = pyframe(s, "g.c", 30);
    assert_int_equal(pyframe(s, "f.c", 20), f);
    assert_int_not_equal(pyframe(s, "f.c", 21), f);
    uint32_t s1, s2, s3;
    uint32_t st1[] = { f, main_ }, st2[] = { g, main_ }, st3[] = { f, main_ };
    tmtest_ok(tm_snapshot_intern_stack(&s1, s, st1, 2, &err), &err);
    tmtest_ok(tm_snapshot_intern_stack(&s2, s, st2, 2, &err), &err);
    tmtest_ok(tm_snapshot_intern_stack(&s3, s, st3, 2, &err), &err);
    assert_int_equal(s1, s3);
    assert_int_not_equal(s1, s2);
    /* root + main + (f,main) + (g,main): the main prefix is stored once. */
    assert_int_equal(tm_snapshot_stack_count(s), 4);
    const tm_stack_node *n = tm_snapshot_stacks(s);
    assert_int_equal(n[s1].parent, n[s2].parent);
    assert_int_equal(n[s1].depth, 2);
    uint32_t out[4];
    assert_int_equal(tm_snapshot_stack_frames(out, 4, s, s2), 2);
    assert_int_equal(out[0], g);
    assert_int_equal(out[1], main_);
    uint32_t empty;
    tmtest_ok(tm_snapshot_intern_stack(&empty, s, NULL, 0, &err), &err);
    assert_int_equal(empty, 0);
    tm_snapshot_free(s);
}

static void test_invalid_references_are_refused(void **state)
{
    (void)state;
    tm_snapshot *s;
    tm_error err;
    uint32_t id;
    tmtest_ok(tm_snapshot_new(&s, &err), &err);
    tm_frame bad = { .module = 3, .inlined_by = TM_NONE };
    assert_int_equal(tm_snapshot_intern_frame(&id, s, &bad, &err), TM_EINVAL);
    assert_non_null(strstr(err.message, "module"));
    bad.module = TM_NONE;
    bad.file = 77;
    assert_int_equal(tm_snapshot_intern_frame(&id, s, &bad, &err), TM_EINVAL);
    assert_int_equal(tm_snapshot_intern_stack_node(&id, s, 5, 0, &err), TM_EINVAL);
    tm_trace t = { .size = 1, .stack = 9 };
    assert_int_equal(tm_snapshot_add_trace(s, &t, 0, &err), TM_EINVAL);
    tm_metadata md = { .nframe_limit = 0 };
    assert_int_equal(tm_snapshot_set_metadata(s, &md, &err), TM_EINVAL);
    md.nframe_limit = 65536;
    assert_int_equal(tm_snapshot_set_metadata(s, &md, &err), TM_EINVAL);
    /* Inline chains cannot be made circular through set_frame. */
    uint32_t a = pyframe(s, "a.c", 1);
    tm_frame fb = { .module = TM_NONE, .file = str(s, "b.c"), .line = 2, .inlined_by = a };
    uint32_t b;
    tmtest_ok(tm_snapshot_intern_frame(&b, s, &fb, &err), &err);
    tm_frame fa = tm_snapshot_frames(s)[a];
    fa.inlined_by = b;
    assert_int_equal(tm_snapshot_set_frame(s, a, &fa, &err), TM_EINVAL);
    assert_non_null(strstr(err.message, "cycle"));
    tm_snapshot_free(s);
}

static void test_set_frame_keeps_index_consistent(void **state)
{
    (void)state;
    tm_snapshot *s;
    tm_error err;
    tmtest_ok(tm_snapshot_new(&s, &err), &err);
    uint32_t a = pyframe(s, "a.c", 1);
    tm_frame f = tm_snapshot_frames(s)[a];
    f.line = 42;
    tmtest_ok(tm_snapshot_set_frame(s, a, &f, &err), &err);
    /* The rewritten frame is found under its new value, not its old one. */
    assert_int_equal(pyframe(s, "a.c", 42), a);
    assert_int_not_equal(pyframe(s, "a.c", 1), a);
    tm_snapshot_free(s);
}

static void test_traces_and_metadata(void **state)
{
    (void)state;
    tm_snapshot *s;
    tm_error err;
    tmtest_ok(tm_snapshot_new(&s, &err), &err);
    uint32_t fr = pyframe(s, "x.c", 3), st;
    tmtest_ok(tm_snapshot_intern_stack(&st, s, &fr, 1, &err), &err);
    tm_trace t = { .size = UINT64_MAX - 10, .stack = st, .domain = 7 };
    tmtest_ok(tm_snapshot_add_trace(s, &t, 1, &err), &err);
    t.size = 5;
    tmtest_ok(tm_snapshot_add_trace(s, &t, 1, &err), &err);
    /* total_nframe equal to the depth needs no side column ... */
    assert_null(((const struct tm_snapshot *)s)->tnf);
    tmtest_ok(tm_snapshot_add_trace(s, &t, 9, &err), &err);
    /* ... and once one differs, every trace keeps its own. */
    assert_non_null(((const struct tm_snapshot *)s)->tnf);
    assert_int_equal(tm_snapshot_trace_total_nframe(s, 0), 1);
    assert_int_equal(tm_snapshot_trace_total_nframe(s, 1), 1);
    assert_int_equal(tm_snapshot_trace_total_nframe(s, 2), 9);
    assert_int_equal(tm_snapshot_trace_total_nframe(s, 3), 0);
    assert_int_equal(tm_snapshot_trace_count(s), 3);
    assert_true(tm_snapshot_total_size(s) == UINT64_MAX);
    const char *argv[] = { "prog", "--flag", "\xe2\x82\xac" };
    tmtest_ok(tm_snapshot_set_argv(s, argv, 3, &err), &err);
    assert_int_equal(tm_snapshot_argc(s), 3);
    assert_string_equal(tm_snapshot_string(s, tm_snapshot_argv(s)[1], NULL), "--flag");
    tm_metadata md = {
        .program = str(s, "prog"), .nframe_limit = 25, .pid = 42, .traced_peak = 99
    };
    tmtest_ok(tm_snapshot_set_metadata(s, &md, &err), &err);
    assert_int_equal(tm_snapshot_metadata(s)->nframe_limit, 25);
    assert_true(tm_snapshot_memory_usage(s) > sizeof(tm_trace) * 2);
    tm_snapshot_free(s);
}

/* Nodes appended by a reader without hashing are found by later interning
 * (the index is rebuilt lazily), and new nodes still get new ids. */
static void test_appended_stacks_are_indexed_lazily(void **state)
{
    (void)state;
    tm_snapshot *s;
    tm_error err;
    tmtest_ok(tm_snapshot_new(&s, &err), &err);
    uint32_t a = pyframe(s, "a.c", 1), b = pyframe(s, "b.c", 2);
    tmtest_ok(tm_snapshot_reserve_stacks(s, 2000, &err), &err);
    uint32_t last = 0, ids[1000];
    for (int i = 0; i < 1000; i++)
        last = ids[i] = tm_snapshot_append_stack_node(s, last, i % 2 ? a : b); /* distinct */
    assert_int_equal(tm_snapshot_stack_count(s), 1001);
    const tm_stack_node *n = tm_snapshot_stacks(s);
    for (int i = 0; i < 1000; i += 37) {
        uint32_t id;
        tmtest_ok(tm_snapshot_intern_stack_node(&id, s, n[ids[i]].parent, n[ids[i]].frame, &err),
                  &err);
        assert_int_equal(id, ids[i]);
        n = tm_snapshot_stacks(s);
    }
    uint32_t fresh;
    tmtest_ok(tm_snapshot_intern_stack_node(&fresh, s, last, a, &err), &err);
    assert_int_equal(fresh, 1001);
    n = tm_snapshot_stacks(s);
    assert_int_equal(n[fresh].parent, last);
    assert_int_equal(n[fresh].depth, 1001);
    tm_snapshot_free(s);
}

/* Builds a small snapshot; every allocation failure must surface as
 * TM_ENOMEM and leave nothing leaked (ASan checks the latter). */
/* Logical frames innermost first: a node's frame, its inline callers
 * outward, then the caller node; *inlined tells the two apart. */
static void test_stack_walk(void **state)
{
    (void)state;
    tm_snapshot *s;
    tm_error err;
    tmtest_ok(tm_snapshot_new(&s, &err), &err);
    uint32_t outer = pyframe(s, "outer.c", 1);
    tm_frame f = { TM_NONE, 0, str(s, "mid.c"), 2, outer, 0, 0 };
    uint32_t mid, inner, caller = pyframe(s, "main.c", 9);
    tmtest_ok(tm_snapshot_intern_frame(&mid, s, &f, &err), &err);
    f.file = str(s, "inner.c");
    f.line = 3;
    f.inlined_by = mid;
    tmtest_ok(tm_snapshot_intern_frame(&inner, s, &f, &err), &err);
    uint32_t frames[2] = { inner, caller }, stack;
    tmtest_ok(tm_snapshot_intern_stack(&stack, s, frames, 2, &err), &err);

    static const int want_inlined[] = { 0, 1, 1, 0 };
    uint32_t want[] = { inner, mid, outer, caller };
    tm_stack_walk w;
    tm_stack_walk_init(&w, s, stack);
    for (size_t i = 0; i < 4; i++) {
        uint32_t got;
        int inl = -1;
        tmtest_ok(tm_stack_walk_next(&got, &inl, &w, &err), &err);
        assert_int_equal(got, want[i]);
        assert_int_equal(inl, want_inlined[i]);
    }
    for (int again = 0; again < 2; again++) {
        uint32_t got = 0;
        tmtest_ok(tm_stack_walk_next(&got, NULL, &w, &err), &err);
        assert_int_equal(got, TM_NONE);
    }
    uint32_t got = 0;
    tm_stack_walk_init(&w, s, 0); /* the empty stack */
    tmtest_ok(tm_stack_walk_next(&got, NULL, &w, &err), &err);
    assert_int_equal(got, TM_NONE);
    tm_stack_walk_init(&w, s, 1000);
    assert_int_equal(tm_stack_walk_next(&got, NULL, &w, &err), TM_EINVAL);

    /* TM_INLINE_MAX frames in one chain are walked; one more is refused */
    uint32_t top = TM_NONE;
    for (uint32_t i = 0; i <= TM_INLINE_MAX; i++) {
        tm_frame g = { TM_NONE, 0, 0, i, top, 0, 0 };
        tmtest_ok(tm_snapshot_intern_frame(&top, s, &g, &err), &err);
        if (i + 1 == TM_INLINE_MAX)
            tmtest_ok(tm_snapshot_intern_stack(&stack, s, &top, 1, &err), &err);
    }
    for (int pass = 0; pass < 2; pass++) {
        size_t n = 0;
        int rc;
        tm_stack_walk_init(&w, s, stack);
        while ((rc = tm_stack_walk_next(&got, NULL, &w, &err)) == TM_OK && got != TM_NONE)
            n++;
        if (pass == 0) {
            tmtest_ok(rc, &err);
            assert_int_equal(n, TM_INLINE_MAX);
            tmtest_ok(tm_snapshot_intern_stack(&stack, s, &top, 1, &err), &err);
        } else {
            assert_int_equal(rc, TM_ELIMIT);
            assert_int_equal(n, TM_INLINE_MAX);
        }
    }
    tm_snapshot_free(s);
}

static int build_small(void)
{
    tm_snapshot *s;
    tm_error err;
    int rc = tm_snapshot_new(&s, &err);
    if (rc)
        return rc;
    char buf[32];
    uint32_t prev = 0;
    for (int i = 0; i < 300 && rc == 0; i++) {
        uint32_t sid, fid;
        snprintf(buf, sizeof buf, "f%d.c", i % 50);
        rc = tm_snapshot_intern_string(&sid, s, buf, strlen(buf), &err);
        tm_frame f = { .module = TM_NONE, .file = sid, .line = (uint32_t)i, .inlined_by = TM_NONE };
        if (!rc)
            rc = tm_snapshot_intern_frame(&fid, s, &f, &err);
        if (!rc)
            rc = tm_snapshot_intern_stack_node(&prev, s, prev % 7, fid, &err);
        tm_trace t = { .size = (uint64_t)i, .stack = prev };
        if (!rc)
            rc = tm_snapshot_add_trace(s, &t, (uint32_t)(i % 3), &err);
    }
    const char *argv[] = { "a", "b" };
    if (!rc)
        rc = tm_snapshot_set_argv(s, argv, 2, &err);
    if (rc)
        assert_int_equal(rc, TM_ENOMEM);
    tm_snapshot_free(s);
    return rc;
}

static void test_out_of_memory_everywhere(void **state)
{
    (void)state;
    tm_alloc_fail_after(0);
    assert_int_equal(build_small(), TM_OK);
    unsigned long points = tm_alloc_fail_after(0);
    assert_true(points > 10);
    for (unsigned long n = 1; n <= points; n++) {
        tm_alloc_fail_after(n);
        assert_int_equal(build_small(), TM_ENOMEM);
    }
    tm_alloc_fail_after(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_are_interned),
        cmocka_unit_test(test_stacks_share_prefixes),
        cmocka_unit_test(test_invalid_references_are_refused),
        cmocka_unit_test(test_set_frame_keeps_index_consistent),
        cmocka_unit_test(test_appended_stacks_are_indexed_lazily),
        cmocka_unit_test(test_traces_and_metadata),
        cmocka_unit_test(test_stack_walk),
        cmocka_unit_test(test_out_of_memory_everywhere),
    };
    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
