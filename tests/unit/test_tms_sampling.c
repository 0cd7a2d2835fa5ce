/*
 * .tms 1.1: a sampled snapshot carries its rate in the critical 'sampling'
 * section (formats/TMS-FORMAT.md, type 7).  Exact snapshots stay 1.0 byte
 * for byte; a 1.0 reader refuses a sampled file; a bad section is an error
 * that says what and where.
 */
#include "test_format_util.h"

static tm_snapshot *sampled_snap(uint64_t rate)
{
    tm_snapshot *s = tf_random_snapshot(7, 300);
    tm_metadata md = *tm_snapshot_metadata(s);
    md.sample_rate = rate;
    tm_error err;
    tmtest_ok(tm_snapshot_set_metadata(s, &md, &err), &err);
    return s;
}

static uint8_t *encode(const tm_snapshot *s, int level, size_t *len)
{
    tm_tms_write_options o = TM_TMS_WRITE_OPTIONS_INIT;
    o.compression_level = level;
    void *buf;
    tm_error err;
    tmtest_ok(tm_tms_encode(&buf, len, s, &o, &err), &err);
    return buf;
}

static const tm_tms_section_info *find_section(const tm_tms_file_info *info, uint32_t type)
{
    for (size_t i = 0; i < info->nsections; i++)
        if (info->sections[i].type == type)
            return &info->sections[i];
    return NULL;
}

static void test_roundtrip_sampled(void **state)
{
    (void)state;
    for (int level = -1; level <= 3; level += 4) {
        tm_snapshot *s = sampled_snap(512 * 1024);
        size_t len;
        uint8_t *f = encode(s, level, &len);
        tm_tms_file_info *info;
        tm_error err;
        tmtest_ok(tm_tms_inspect(&info, f, len, "s.tms", &err), &err);
        assert_int_equal(info->major, 1);
        assert_int_equal(info->minor, 1);
        assert_int_equal(info->nsections, 7);
        const tm_tms_section_info *si = find_section(info, TMS_SEC_SAMPLING);
        assert_non_null(si);
        assert_string_equal(si->name, "sampling");
        /* What makes a 1.0 reader refuse the file instead of misreading it. */
        assert_true(si->critical);
        tm_tms_file_info_free(info);
        tm_snapshot *b;
        tmtest_ok(tm_tms_decode(&b, f, len, "s.tms", &err), &err);
        assert_int_equal(tm_snapshot_metadata(b)->sample_rate, 512 * 1024);
        tf_assert_same(s, b);
        tm_snapshot_free(b);
        free(f);
        tm_snapshot_free(s);
    }
}

/* An exact snapshot: 1.0, six sections, no sampling section, and the same
 * bytes once its (zero) rate has been through a reader. */
static void test_exact_stays_1_0(void **state)
{
    (void)state;
    tm_snapshot *s = tf_random_snapshot(8, 200);
    size_t len;
    uint8_t *f = encode(s, 0, &len);
    tm_tms_file_info *info;
    tm_error err;
    tmtest_ok(tm_tms_inspect(&info, f, len, "e.tms", &err), &err);
    assert_int_equal(info->minor, 0);
    assert_int_equal(info->nsections, 6);
    assert_null(find_section(info, TMS_SEC_SAMPLING));
    tm_tms_file_info_free(info);
    tm_snapshot *b;
    tmtest_ok(tm_tms_decode(&b, f, len, "e.tms", &err), &err);
    assert_int_equal(tm_snapshot_metadata(b)->sample_rate, 0);
    size_t len2;
    uint8_t *f2 = encode(b, 0, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(f, f2, len);
    free(f);
    free(f2);
    tm_snapshot_free(b);
    tm_snapshot_free(s);
}

/* A reader that knows the sections of 1.0 only (the container's rule for
 * unknown critical sections, which every 1.0 reader has) refuses a sampled
 * file and says it needs a newer reader; it accepts an exact one. */
static void test_1_0_reader_refuses(void **state)
{
    (void)state;
    tm_snapshot *s = sampled_snap(4096);
    size_t len;
    uint8_t *f = encode(s, 0, &len);
    tms_container c;
    tm_error err;
    int rc = tms_container_parse_known(&c, f, len, "s.tms", TMS_SEC_MAX_KNOWN_1_0, &err);
    assert_int_equal(rc, TM_EVERSION);
    assert_non_null(strstr(err.message, "unknown critical section type 7"));
    assert_non_null(strstr(err.message, "format version 1.1"));
    assert_non_null(strstr(err.message, "needs a newer reader than this one (version 1.0)"));
    free(f);
    tm_metadata md = *tm_snapshot_metadata(s);
    md.sample_rate = 0;
    tmtest_ok(tm_snapshot_set_metadata(s, &md, &err), &err);
    f = encode(s, 0, &len);
    tmtest_ok(tms_container_parse_known(&c, f, len, "e.tms", TMS_SEC_MAX_KNOWN_1_0, &err), &err);
    tms_container_free(&c);
    free(f);
    tm_snapshot_free(s);
}

static int decode_sampling(const tf_bytes *payload, uint8_t flags, int twice, tm_error *err,
                           uint64_t *rate)
{
    const char *str = "a";
    tf_bytes strs = { .n = 0 };
    tf_v(&strs, 1);
    tf_v(&strs, 1);
    tf_raw(&strs, str, 1);
    tf_section secs[] = { { TMS_SEC_STRINGS, 1, 0, strs.b, strs.n, 0 },
                          { TMS_SEC_SAMPLING, flags, 0, payload->b, payload->n, 0 },
                          { TMS_SEC_SAMPLING, flags, 0, payload->b, payload->n, 0 } };
    size_t len;
    uint8_t *f = tf_container(1, 1, secs, twice ? 3 : 2, &len);
    tm_snapshot *s = NULL;
    int rc = tm_tms_decode(&s, f, len, "crafted.tms", err);
    if (rc == TM_OK) {
        *rate = tm_snapshot_metadata(s)->sample_rate;
        tm_snapshot_free(s);
    }
    assert_true(rc == TM_OK || s == NULL);
    free(f);
    return rc;
}

static void test_bad_sampling_sections(void **state)
{
    (void)state;
    tm_error err;
    uint64_t rate = 0;
    tf_bytes x = { .n = 0 };
    tf_v(&x, 1000);
    tf_v(&x, TMS_ESTIMATOR_POISSON_BYTES);
    tmtest_ok(decode_sampling(&x, TMS_FLAG_CRITICAL, 0, &err, &rate), &err);
    assert_int_equal(rate, 1000);

    assert_int_equal(decode_sampling(&x, TMS_FLAG_CRITICAL, 1, &err, &rate), TM_EFORMAT);
    assert_non_null(strstr(err.message, "section 'sampling'"));
    assert_non_null(strstr(err.message, "duplicate section"));

    assert_int_equal(decode_sampling(&x, 0, 0, &err, &rate), TM_EFORMAT);
    assert_non_null(strstr(err.message, "not flagged critical"));

    x.n = 0;
    tf_v(&x, 0);
    tf_v(&x, TMS_ESTIMATOR_POISSON_BYTES);
    assert_int_equal(decode_sampling(&x, TMS_FLAG_CRITICAL, 0, &err, &rate), TM_EFORMAT);
    assert_non_null(strstr(err.message, "section 'sampling'"));
    assert_non_null(strstr(err.message, "sampling rate 0"));

    x.n = 0;
    tf_v(&x, TMS_MAX_SAMPLE_RATE + 1);
    tf_v(&x, TMS_ESTIMATOR_POISSON_BYTES);
    assert_int_equal(decode_sampling(&x, TMS_FLAG_CRITICAL, 0, &err, &rate), TM_ELIMIT);
    assert_non_null(strstr(err.message, "exceeds the limit"));

    x.n = 0;
    tf_v(&x, 4096);
    tf_v(&x, 2);
    assert_int_equal(decode_sampling(&x, TMS_FLAG_CRITICAL, 0, &err, &rate), TM_EVERSION);
    assert_non_null(strstr(err.message, "unknown estimator 2"));

    x.n = 0;
    tf_v(&x, 4096);
    assert_int_equal(decode_sampling(&x, TMS_FLAG_CRITICAL, 0, &err, &rate), TM_EFORMAT);
    assert_non_null(strstr(err.message, "estimator"));

    x.n = 0;
    tf_v(&x, 4096);
    tf_v(&x, TMS_ESTIMATOR_POISSON_BYTES);
    tf_v(&x, 0);
    assert_int_equal(decode_sampling(&x, TMS_FLAG_CRITICAL, 0, &err, &rate), TM_EFORMAT);
    assert_non_null(strstr(err.message, "unexpected bytes"));
}

static void test_writer_limit(void **state)
{
    (void)state;
    tm_snapshot *s = sampled_snap(TMS_MAX_SAMPLE_RATE + 1);
    void *buf = NULL;
    size_t len;
    tm_error err;
    assert_int_equal(tm_tms_encode(&buf, &len, s, NULL, &err), TM_ELIMIT);
    assert_null(buf);
    assert_non_null(strstr(err.message, "sampling rate"));
    tm_snapshot_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_sampled),  cmocka_unit_test(test_exact_stays_1_0),
        cmocka_unit_test(test_1_0_reader_refuses), cmocka_unit_test(test_bad_sampling_sections),
        cmocka_unit_test(test_writer_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
