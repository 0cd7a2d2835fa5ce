/* Suppressions (tools/common/suppress.h): LeakSanitizer's pattern rules,
 * the file format's errors, and which traces apply() removes. */
#include <string.h>

#include "suppress.h"
#include "tmtest.h"

static int m(const char *pattern, const char *name)
{
    return tm_suppress_match(pattern, name, strlen(name));
}

static void test_match(void **state)
{
    (void)state;
    /* a substring, anywhere */
    assert_true(m("leaky", "my_leaky_function"));
    assert_false(m("leaky", "my_leak_function"));
    /* '*' any run, segments in order */
    assert_true(m("std::*::allocate", "std::vector<int>::allocate"));
    assert_false(m("allocate*std::", "std::vector<int>::allocate"));
    /* '^' and '$' anchors */
    assert_true(m("^libfoo", "libfoo.so"));
    assert_false(m("^libfoo", "/usr/lib/libfoo.so"));
    assert_true(m("libfoo.so$", "/usr/lib/libfoo.so"));
    assert_false(m("libfoo.so$", "/usr/lib/libfoo.so.1"));
    assert_true(m("foo$", "foofoo"));
    assert_true(m("^foo$", "foo"));
    assert_false(m("^foo$", "foofoo"));
    assert_true(m("^*/vendor/*$", "/src/vendor/x.c"));
    assert_true(m("a*$", "abc"));
    /* nothing matches an empty name */
    assert_false(m("x", ""));
    assert_false(m("*", ""));
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *message;
        int code;
    } bad[] = {
        { "leak:a\nrace:b\n", "f.supp:2: suppression type 'race' is not supported (only leak:)",
          TM_EFORMAT },
        { "leak:\n", "f.supp:1: empty pattern after leak:", TM_EFORMAT },
        { "\n\nleak  \n", "f.supp:3: not a suppression (expected leak:PATTERN)", TM_EFORMAT },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tm_suppressions *s;
        tm_error err;
        assert_int_equal(tm_suppressions_new(&s, &err), TM_OK);
        assert_int_equal(tm_suppressions_parse(s, bad[i].text, strlen(bad[i].text), "f.supp", &err),
                         bad[i].code);
        assert_string_equal(err.message, bad[i].message);
        tm_suppressions_free(s);
    }
    tm_suppressions *s;
    tm_error err;
    const char ok[] = "# c\n  # c2\n\t leak: a b \r\nleak:c";
    assert_int_equal(tm_suppressions_new(&s, &err), TM_OK);
    assert_int_equal(tm_suppressions_parse(s, ok, sizeof ok - 1, "ok", &err), TM_OK);
    assert_int_equal(tm_suppressions_count(s), 2);
    tm_suppressions_free(s);
}

/* Three traces: main -> helper (malloc'ed at helper's line), main alone,
 * and main -> testing::Record -> an unsymbolized runtime frame. */
static tm_snapshot *make_snapshot(void)
{
    tm_snapshot *s;
    tm_error err;
    assert_int_equal(tm_snapshot_new(&s, &err), TM_OK);
    const char *str[] = {
        "main", "helper", "/src/app.c", "testing::Record", "/usr/lib/libc.so.6", "/src/app"
    };
    uint32_t id[6];
    for (int i = 0; i < 6; i++)
        assert_int_equal(tm_snapshot_intern_string(&id[i], s, str[i], strlen(str[i]), &err), TM_OK);
    tm_module app, libc;
    memset(&app, 0, sizeof app);
    memset(&libc, 0, sizeof libc);
    app.path = id[5];
    libc.path = id[4];
    uint32_t mapp, mlibc;
    assert_int_equal(tm_snapshot_add_module(&mapp, s, &app, &err), TM_OK);
    assert_int_equal(tm_snapshot_add_module(&mlibc, s, &libc, &err), TM_OK);
    tm_frame fr[4] = { { mapp, id[0], id[2], 10, TM_NONE, 0, 0x10 },
                       { mapp, id[1], id[2], 20, TM_NONE, 0, 0x20 },
                       { mapp, id[3], 0, 0, TM_NONE, 0, 0x30 },
                       { mlibc, 0, 0, 0, TM_NONE, 0, 0x40 } };
    uint32_t f[4], st;
    for (int i = 0; i < 4; i++)
        assert_int_equal(tm_snapshot_intern_frame(&f[i], s, &fr[i], &err), TM_OK);
    uint32_t s1[] = { f[1], f[0] }, s2[] = { f[0] }, s3[] = { f[3], f[2], f[0] };
    const uint32_t *stacks[] = { s1, s2, s3 };
    uint32_t depth[] = { 2, 1, 3 };
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tm_snapshot_intern_stack(&st, s, stacks[i], depth[i], &err), TM_OK);
        tm_trace t = { 1000u * (unsigned)(i + 1), st, 0 };
        assert_int_equal(tm_snapshot_add_trace(s, &t, depth[i], &err), TM_OK);
    }
    return s;
}

static uint64_t removed(const char *text, const char *top)
{
    tm_suppressions *sup;
    tm_error err;
    assert_int_equal(tm_suppressions_new(&sup, &err), TM_OK);
    assert_int_equal(tm_suppressions_parse(sup, text, strlen(text), "t", &err), TM_OK);
    if (top)
        assert_int_equal(tm_suppressions_add_top(sup, top, &err), TM_OK);
    tm_snapshot *s = make_snapshot();
    uint64_t size = 0, count = 0;
    assert_int_equal(tm_suppressions_apply(s, sup, &size, &count, &err), TM_OK);
    assert_int_equal(tm_snapshot_total_size(s) + size, 6000);
    assert_int_equal(tm_snapshot_trace_count(s) + count, 3);
    tm_snapshot_free(s);
    tm_suppressions_free(sup);
    return size;
}

static void test_apply(void **state)
{
    (void)state;
    assert_int_equal(removed("", NULL), 0);
    assert_int_equal(removed("leak:helper", NULL), 1000);      /* function, any frame */
    assert_int_equal(removed("leak:^main$", NULL), 6000);      /* every stack has main */
    assert_int_equal(removed("leak:libc.so", NULL), 3000);     /* module */
    assert_int_equal(removed("leak:/src/app.c$", NULL), 6000); /* file: main is in every stack */
    assert_int_equal(removed("leak:nothing", "^testing::"), 3000); /* the top frame past libc */
    /* traces 2 and 3: trace 3 reaches main through frames without a line */
    assert_int_equal(removed("", "^main$"), 5000);
    assert_int_equal(removed("", "^helper$"), 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_apply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
