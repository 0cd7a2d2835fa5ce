/* .tms robustness: every truncation, every byte flip, every failed allocation. */
#include "test_format_util.h"

#include <unistd.h>

static uint8_t *sample(int level, size_t *len)
{
    tm_snapshot *s = tf_random_snapshot(42, 200);
    tm_tms_write_options o = TM_TMS_WRITE_OPTIONS_INIT;
    o.compression_level = level;
    void *buf;
    tm_error err;
    tmtest_ok(tm_tms_encode(&buf, len, s, &o, &err), &err);
    tm_snapshot_free(s);
    return buf;
}

/* Decoding and inspecting must both fail, with a message naming the file. */
static void expect_rejected(const uint8_t *buf, size_t len, const char *what, size_t at)
{
    tm_snapshot *s = (tm_snapshot *)1;
    tm_error err;
    memset(&err, 0, sizeof err);
    int rc = tm_tms_decode(&s, buf, len, "robust.tms", &err);
    if (rc == TM_OK || s != NULL || strncmp(err.message, "robust.tms: ", 12) != 0) {
        fprintf(stderr, "%s at %zu: rc=%d message='%s'\n", what, at, rc, err.message);
        fail();
    }
    tm_tms_file_info *info = (tm_tms_file_info *)1;
    memset(&err, 0, sizeof err);
    rc = tm_tms_inspect(&info, buf, len, "robust.tms", &err);
    if (rc == TM_OK || info != NULL || strncmp(err.message, "robust.tms: ", 12) != 0) {
        fprintf(stderr, "inspect, %s at %zu: rc=%d message='%s'\n", what, at, rc, err.message);
        fail();
    }
}

static void check_truncations(int level)
{
    size_t len;
    uint8_t *buf = sample(level, &len);
    tm_snapshot *s;
    tm_error err;
    tmtest_ok(tm_tms_decode(&s, buf, len, "robust.tms", &err), &err);
    tm_snapshot_free(s);
    for (size_t cut = 0; cut < len; cut++) {
        /* A copy of exactly `cut` bytes, so ASan sees any over-read. */
        uint8_t *t = malloc(cut ? cut : 1);
        memcpy(t, buf, cut);
        expect_rejected(t, cut, "truncation", cut);
        free(t);
    }
    /* One extra byte at the end is rejected as well. */
    uint8_t *t = malloc(len + 1);
    memcpy(t, buf, len);
    t[len] = 0;
    expect_rejected(t, len + 1, "appended byte", len);
    free(t);
    free(buf);
}

static void check_flips(int level)
{
    size_t len;
    uint8_t *buf = sample(level, &len);
    uint8_t *t = malloc(len);
    static const uint8_t masks[] = { 0x01, 0x80, 0xff };
    for (size_t i = 0; i < len; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(t, buf, len);
            t[i] ^= masks[m];
            expect_rejected(t, len, "flip", i);
        }
        memcpy(t, buf, len);
        t[i] ^= (uint8_t)(1u << (i % 8));
        expect_rejected(t, len, "flip", i);
    }
    free(t);
    free(buf);
}

static void test_truncated_zstd(void **state)
{
    (void)state;
    check_truncations(0);
}
static void test_truncated_raw(void **state)
{
    (void)state;
    check_truncations(-1);
}
static void test_flipped_zstd(void **state)
{
    (void)state;
    check_flips(0);
}
static void test_flipped_raw(void **state)
{
    (void)state;
    check_flips(-1);
}

/* For every N, failing the Nth allocation makes the call fail cleanly with
 * TM_ENOMEM (ASan's leak check proves the cleanup); eventually N is past the
 * last allocation and the call succeeds. */
static void test_oom_decode(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = sample(0, &len);
    unsigned long n;
    for (n = 1;; n++) {
        tm_snapshot *s = (tm_snapshot *)1;
        tm_error err;
        tm_alloc_fail_after(n);
        int rc = tm_tms_decode(&s, buf, len, "oom.tms", &err);
        tm_alloc_fail_after(0);
        if (rc == TM_OK) {
            tm_snapshot_free(s);
            break;
        }
        if (rc != TM_ENOMEM || s != NULL) {
            fprintf(stderr, "allocation %lu: rc=%d %s\n", n, rc, err.message);
            fail();
        }
        assert_non_null(strstr(err.message, "oom.tms"));
        assert_true(n < 100000);
    }
    assert_true(n > 10); /* the loop really did cover allocation points */
    /* Inspect too. */
    for (n = 1;; n++) {
        tm_tms_file_info *info;
        tm_error err;
        tm_alloc_fail_after(n);
        int rc = tm_tms_inspect(&info, buf, len, "oom.tms", &err);
        tm_alloc_fail_after(0);
        if (rc == TM_OK) {
            tm_tms_file_info_free(info);
            break;
        }
        assert_int_equal(rc, TM_ENOMEM);
    }
    assert_true(n > 1);
    free(buf);
}

static void test_oom_encode(void **state)
{
    (void)state;
    tm_snapshot *s = tf_random_snapshot(42, 200);
    size_t ref_len;
    uint8_t *ref = sample(0, &ref_len);
    unsigned long n;
    for (n = 1;; n++) {
        void *buf = (void *)1;
        size_t len = 1;
        tm_error err;
        tm_alloc_fail_after(n);
        int rc = tm_tms_encode(&buf, &len, s, NULL, &err);
        tm_alloc_fail_after(0);
        if (rc == TM_OK) {
            /* Same bytes as without failures: the writer is deterministic. */
            assert_int_equal(len, ref_len);
            assert_memory_equal(buf, ref, len);
            free(buf);
            break;
        }
        assert_int_equal(rc, TM_ENOMEM);
        assert_null(buf);
        assert_true(n < 100000);
    }
    assert_true(n > 5);
    free(ref);
    tm_snapshot_free(s);
}

static void test_oom_file_write_read(void **state)
{
    (void)state;
    char dir[] = "/tmp/tmfmt-oom.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/o.tms", dir);
    tm_snapshot *s = tf_random_snapshot(3, 50);
    tm_tms_write_options o = TM_TMS_WRITE_OPTIONS_INIT;
    o.no_fsync = 1;
    unsigned long n;
    for (n = 1;; n++) {
        tm_error err;
        tm_alloc_fail_after(n);
        int rc = tm_tms_write(s, path, &o, &err);
        tm_alloc_fail_after(0);
        if (rc == TM_OK)
            break;
        assert_int_equal(rc, TM_ENOMEM);
        assert_non_null(strstr(err.message, "o.tms"));
        assert_int_equal(tf_count_entries(dir), 0); /* no temp file left behind */
    }
    assert_int_equal(tf_count_entries(dir), 1);
    for (n = 1;; n++) {
        tm_snapshot *b = (tm_snapshot *)1;
        tm_error err;
        tm_alloc_fail_after(n);
        int rc = tm_tms_read(&b, path, &err);
        tm_alloc_fail_after(0);
        if (rc == TM_OK) {
            tf_assert_same(s, b);
            tm_snapshot_free(b);
            break;
        }
        assert_int_equal(rc, TM_ENOMEM);
        assert_null(b);
    }
    unlink(path);
    rmdir(dir);
    tm_snapshot_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated_zstd),      cmocka_unit_test(test_truncated_raw),
        cmocka_unit_test(test_flipped_zstd),        cmocka_unit_test(test_flipped_raw),
        cmocka_unit_test(test_oom_decode),          cmocka_unit_test(test_oom_encode),
        cmocka_unit_test(test_oom_file_write_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
