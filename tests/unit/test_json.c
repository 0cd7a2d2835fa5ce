/* The UTF-8 decoder (tm_utf8.h) and the JSON string writer (tm_json.h) as
 * the reports (rp_json_str) and the exporters (ex_put_*) use them. */
#include "tmtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_internal.h"
#include "report_internal.h"
#include "tm_json.h"
#include "tm_utf8.h"

/* Length of the sequence tm_utf8_seq finds at s, and its code point. */
static size_t seq(const char *s, size_t n, uint32_t *cp)
{
    *cp = 0xffffffffu;
    return tm_utf8_seq((const uint8_t *)s, n, cp);
}

static void test_utf8_accepts_well_formed_sequences(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t len;
        uint32_t cp;
    } ok[] = {
        { "\x00", 1, 0 },
        { "\x7f", 1, 0x7f },
        { "\xc2\x80", 2, 0x80 },
        { "\xdf\xbf", 2, 0x7ff },
        { "\xe0\xa0\x80", 3, 0x800 },
        { "\xef\xbf\xbf", 3, 0xffff },
        { "\xf0\x90\x80\x80", 4, 0x10000 },
        { "\xf4\x8f\xbf\xbf", 4, 0x10ffff },
        /* encoded surrogates are sequences; callers decide about them */
        { "\xed\xa0\x80", 3, 0xd800 },
        { "\xed\xbf\xbf", 3, 0xdfff },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint32_t cp;
        assert_int_equal(seq(ok[i].s, ok[i].len, &cp), ok[i].len);
        assert_int_equal(cp, ok[i].cp);
    }
    uint32_t cp;
    assert_true(tm_utf8_surrogate(0xd800) && tm_utf8_surrogate(0xdfff));
    assert_false(tm_utf8_surrogate(0xd7ff) || tm_utf8_surrogate(0xe000));
    /* only the first sequence is decoded */
    assert_int_equal(seq("\xc3\xa9x", 3, &cp), 2);
    assert_int_equal(cp, 0xe9);
}

static void test_utf8_refuses_ill_formed_sequences(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t len;
    } bad[] = {
        { "\x80", 1 }, /* continuation byte alone */
        { "\xbf", 1 },
        { "\xc0\xaf", 2 }, /* overlong '/' */
        { "\xc1\xbf", 2 },
        { "\xe0\x80\xaf", 3 }, /* overlong, 3 bytes */
        { "\xe0\x9f\xbf", 3 },
        { "\xf0\x80\x80\xaf", 4 }, /* overlong, 4 bytes */
        { "\xf0\x8f\xbf\xbf", 4 },
        { "\xf4\x90\x80\x80", 4 }, /* above U+10FFFF */
        { "\xf5\x80\x80\x80", 4 },
        { "\xff", 1 },
        { "\xe2\x82", 2 }, /* truncated */
        { "\xf0\x9f\x98", 3 },
        { "\xe2\x82x", 3 }, /* interrupted */
        { "\xc3\xc3\xa9", 3 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t cp;
        assert_int_equal(seq(bad[i].s, bad[i].len, &cp), 0);
    }
    /* the length limits the sequence, not a NUL */
    uint32_t cp;
    assert_int_equal(seq("\xc3\xa9", 1, &cp), 0);
}

/* What put(f, s, n) writes, NUL-terminated; the caller frees it. */
static char *written(void (*put)(FILE *, const char *, size_t), const char *s, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    put(f, s, n);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(strlen(text), len);
    return text;
}

#define assert_written(put, in, expect)                                                            \
    do {                                                                                           \
        char *got_ = written(put, in, sizeof in - 1);                                              \
        assert_string_equal(got_, expect);                                                         \
        free(got_);                                                                                \
    } while (0)

/* report.h: "Strings are UTF-8; bytes that are not valid UTF-8 become
 * \u00XX." */
static void test_report_escapes_every_invalid_byte(void **state)
{
    (void)state;
    assert_written(rp_json_str, "", "\"\"");
    assert_written(rp_json_str, "/src/a.c", "\"/src/a.c\"");
    /* overlong encodings of '/', 2, 3 and 4 bytes */
    assert_written(rp_json_str,
                   "a\xc0\xaf"
                   "b",
                   "\"a\\u00c0\\u00afb\"");
    assert_written(rp_json_str, "\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"");
    assert_written(rp_json_str, "\xf0\x80\x80\xaf", "\"\\u00f0\\u0080\\u0080\\u00af\"");
    /* encoded surrogates: valid for Python's surrogatepass, never in JSON */
    assert_written(rp_json_str, "\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");
    assert_written(rp_json_str, "x\xed\xb2\x80y", "\"x\\u00ed\\u00b2\\u0080y\"");
    /* above U+10FFFF, and bytes that start nothing */
    assert_written(rp_json_str, "\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"");
    assert_written(rp_json_str, "\x80\xfe\xff", "\"\\u0080\\u00fe\\u00ff\"");
    /* truncated at the end, and interrupted by ASCII or another lead byte */
    assert_written(rp_json_str, "ab\xe2\x82", "\"ab\\u00e2\\u0082\"");
    assert_written(rp_json_str, "\xf0\x9f\x98", "\"\\u00f0\\u009f\\u0098\"");
    assert_written(rp_json_str, "\xe2\x82x", "\"\\u00e2\\u0082x\"");
    assert_written(rp_json_str, "\xc3\xc3\xa9", "\"\\u00c3\xc3\xa9\"");
}

static void test_report_copies_valid_utf8(void **state)
{
    (void)state;
    const char *text = "/home/j\xc3\xa9r\xc3\xb4me/\xe2\x82\xac/\xe4\xb8\xad\xe6\x96\x87/"
                       "\xf0\x9f\x98\x80.c \xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"
                       "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf";
    char expect[256];
    snprintf(expect, sizeof expect, "\"%s\"", text);
    char *got = written(rp_json_str, text, strlen(text));
    assert_string_equal(got, expect);
    free(got);
}

static void test_report_escapes_control_characters(void **state)
{
    (void)state;
    assert_written(rp_json_str, "q\"b\\s/", "\"q\\\"b\\\\s/\"");
    assert_written(rp_json_str, "\n\r\t\b\f", "\"\\u000a\\u000d\\u0009\\u0008\\u000c\"");
    assert_written(rp_json_str, "\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\"");
    assert_written(rp_json_str, "a\0b", "\"a\\u0000b\"");
    /* the report is not embedded in HTML */
    assert_written(rp_json_str, "</script>&", "\"</script>&\"");
}

/* The flame graph's JSON sits in a <script> element. */
static void test_export_json_is_safe_in_html(void **state)
{
    (void)state;
    assert_written(ex_put_json_string, "</script><!--&",
                   "\"\\u003c/script\\u003e\\u003c!--\\u0026\"");
    assert_written(ex_put_json_string, "\n\r\t\x01\x7f\"\\", "\"\\n\\r\\t\\u0001\\u007f\\\"\\\\\"");
    assert_written(ex_put_json_string, "\xc3\xa9\xf0\x9f\x98\x80", "\"\xc3\xa9\xf0\x9f\x98\x80\"");
    assert_written(ex_put_json_string, "\xc0\xaf\xed\xa0\x80\xe2\x82",
                   "\"\\u00c0\\u00af\\u00ed\\u00a0\\u0080\\u00e2\\u0082\"");
}

static void test_export_xml_escapes_like_json(void **state)
{
    (void)state;
    assert_written(ex_put_xml_text, "<a href='x'>&\"</a>\t",
                   "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt; ");
    assert_written(ex_put_xml_text, "\x01\x7f", "\\x01\\x7f");
    assert_written(ex_put_xml_text, "\xc3\xa9\xf0\x9f\x98\x80", "\xc3\xa9\xf0\x9f\x98\x80");
    assert_written(ex_put_xml_text, "\xc0\xaf\xed\xa0\x80\xe2\x82",
                   "&#xc0;&#xaf;&#xed;&#xa0;&#x80;&#xe2;&#x82;");
}

static void test_json_reports_write_errors(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(tm_json_string(f, "a\xff", 2, 0), TM_OK);
    fclose(f);
    assert_string_equal(text, "\"a\\u00ff\"");
    free(text);

    f = fopen("/dev/full", "w");
    if (!f)
        skip();
    setvbuf(f, NULL, _IONBF, 0);
    assert_int_equal(tm_json_string(f, "abc", 3, 0), TM_EIO);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_accepts_well_formed_sequences),
        cmocka_unit_test(test_utf8_refuses_ill_formed_sequences),
        cmocka_unit_test(test_report_escapes_every_invalid_byte),
        cmocka_unit_test(test_report_copies_valid_utf8),
        cmocka_unit_test(test_report_escapes_control_characters),
        cmocka_unit_test(test_export_json_is_safe_in_html),
        cmocka_unit_test(test_export_xml_escapes_like_json),
        cmocka_unit_test(test_json_reports_write_errors),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
