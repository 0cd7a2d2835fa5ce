/* The .tms wire codecs (format/tms_wire.h): varints, zigzag, little-endian. */
#include "tmtest.h"

#include <string.h>

#include "tms_wire.h"

static void test_varint_edges(void **state)
{
    (void)state;
    const struct {
        uint64_t v;
        size_t len;
    } cases[] = {
        { 0, 1 },
        { 1, 1 },
        { 127, 1 },
        { 128, 2 },
        { 255, 2 },
        { 16383, 2 },
        { 16384, 3 },
        { (1u << 21) - 1, 3 },
        { 1u << 21, 4 },
        { UINT32_MAX, 5 },
        { (uint64_t)UINT32_MAX + 1, 5 },
        { (UINT64_C(1) << 35) - 1, 5 },
        { UINT64_C(1) << 35, 6 },
        { (UINT64_C(1) << 56) - 1, 8 },
        { UINT64_C(1) << 56, 9 },
        { (UINT64_C(1) << 63) - 1, 9 },
        { UINT64_C(1) << 63, 10 },
        { UINT64_MAX - 1, 10 },
        { UINT64_MAX, 10 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[TMS_VARINT_MAX_LEN + 2];
        memset(buf, 0xAA, sizeof buf);
        size_t n = tms_put_varint(buf, cases[i].v);
        assert_int_equal(n, cases[i].len);
        assert_int_equal(tms_varint_len(cases[i].v), cases[i].len);
        assert_int_equal(buf[n], 0xAA); /* nothing written past the end */
        const uint8_t *p = buf;
        uint64_t out = 12345;
        assert_int_equal(tms_get_varint(&p, buf + n, &out), 0);
        assert_true(out == cases[i].v);
        assert_ptr_equal(p, buf + n);
        /* Every shorter prefix is a truncated varint. */
        for (size_t k = 0; k < n; k++) {
            p = buf;
            assert_int_equal(tms_get_varint(&p, buf + k, &out), -1);
            assert_ptr_equal(p, buf);
        }
    }
    uint8_t one[] = { 0x7f };
    const uint8_t *p = one;
    uint64_t v;
    assert_int_equal(tms_get_varint(&p, one + 1, &v), 0);
    assert_int_equal(v, 127);
    /* Known byte patterns (LEB128). */
    uint8_t b[TMS_VARINT_MAX_LEN];
    assert_int_equal(tms_put_varint(b, 300), 2);
    assert_int_equal(b[0], 0xac);
    assert_int_equal(b[1], 0x02);
}

static void test_varint_rejects(void **state)
{
    (void)state;
    uint64_t v;
    const uint8_t *p;
    /* Non-minimal: 0 encoded in two bytes, 1 in three. */
    const uint8_t over1[] = { 0x80, 0x00 }, over2[] = { 0x81, 0x80, 0x00 };
    p = over1;
    assert_int_equal(tms_get_varint(&p, over1 + 2, &v), -1);
    p = over2;
    assert_int_equal(tms_get_varint(&p, over2 + 3, &v), -1);
    /* Eleven bytes. */
    const uint8_t eleven[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x01 };
    p = eleven;
    assert_int_equal(tms_get_varint(&p, eleven + 11, &v), -1);
    /* Ten bytes whose value needs 65 bits. */
    const uint8_t big[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
    p = big;
    assert_int_equal(tms_get_varint(&p, big + 10, &v), -1);
    /* ... and the largest one that fits. */
    const uint8_t max[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
    p = max;
    assert_int_equal(tms_get_varint(&p, max + 10, &v), 0);
    assert_true(v == UINT64_MAX);
    /* Empty input. */
    p = max;
    assert_int_equal(tms_get_varint(&p, max, &v), -1);
}

static void test_zigzag(void **state)
{
    (void)state;
    const struct {
        int64_t s;
        uint64_t u;
    } cases[] = {
        { 0, 0 },
        { -1, 1 },
        { 1, 2 },
        { -2, 3 },
        { 2, 4 },
        { 63, 126 },
        { -64, 127 },
        { INT32_MAX, (uint64_t)UINT32_MAX - 1 },
        { INT32_MIN, UINT32_MAX },
        { INT64_MAX, UINT64_MAX - 1 },
        { INT64_MIN, UINT64_MAX },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_true(tms_zigzag(cases[i].s) == cases[i].u);
        assert_true(tms_unzigzag(cases[i].u) == cases[i].s);
    }
    /* Small magnitudes stay one byte either side of zero. */
    uint8_t b[TMS_VARINT_MAX_LEN];
    assert_int_equal(tms_put_varint(b, tms_zigzag(-64)), 1);
    assert_int_equal(tms_put_varint(b, tms_zigzag(63)), 1);
    assert_int_equal(tms_put_varint(b, tms_zigzag(64)), 2);
}

static void test_little_endian(void **state)
{
    (void)state;
    uint8_t b[8];
    tms_put_le16(b, 0x1234);
    assert_int_equal(b[0], 0x34);
    assert_int_equal(b[1], 0x12);
    assert_int_equal(tms_get_le16(b), 0x1234);
    tms_put_le32(b, 0xdeadbeef);
    assert_memory_equal(b, "\xef\xbe\xad\xde", 4);
    assert_int_equal(tms_get_le32(b), 0xdeadbeef);
    tms_put_le64(b, UINT64_C(0x0102030405060708));
    assert_memory_equal(b, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
    assert_true(tms_get_le64(b) == UINT64_C(0x0102030405060708));
    tms_put_le64(b, UINT64_MAX);
    assert_true(tms_get_le64(b) == UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_edges),
        cmocka_unit_test(test_varint_rejects),
        cmocka_unit_test(test_zigzag),
        cmocka_unit_test(test_little_endian),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
