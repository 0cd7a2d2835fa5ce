/* Memory checks in a cmocka suite with the C API of tm/check.h: a setup
 * begins a check, the teardown ends it and fails the test when its live
 * heap grew.  SAMPLE_LEAK=1 makes test_parse leak, to see a report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tm/check.h"

static int check_setup(void **state)
{
    tm_check *c = NULL;
    tm_error err;
    if (tm_check_begin(&c, "cmocka", NULL, &err) != TM_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    *state = c;
    return 0;
}

/* Fails the test (cmocka reports a teardown error) when memory grew. */
static int check_teardown(void **state)
{
    tm_check_result *r = NULL;
    tm_error err;
    if (tm_check_end(&r, *state, 0, &err) != TM_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    int failed = tm_check_result_failed(r);
    if (failed)
        fputs(tm_check_result_report(r), stderr);
    tm_check_result_free(r);
    return failed ? -1 : 0;
}

static char *kept;

static char *parse_word(const char *text)
{
    size_t n = strcspn(text, " ");
    char *w = malloc(n + 1);
    memcpy(w, text, n);
    w[n] = 0;
    return w;
}

static void test_parse(void **state)
{
    (void)state;
    char *w = parse_word("hello world");
    assert_string_equal(w, "hello");
    if (getenv("SAMPLE_LEAK"))
        kept = w; /* the leak: kept, never freed */
    else
        free(w);
}

static void test_buffers(void **state)
{
    (void)state;
    char *buf = calloc(64, 1024);
    assert_non_null(buf);
    snprintf(buf, 64, "%d", 42);
    assert_string_equal(buf, "42");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse, check_setup, check_teardown),
        cmocka_unit_test_setup_teardown(test_buffers, check_setup, check_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tm_check_cleanup();
    return rc;
}
