/* .tms round trips, versioning rules, crafted files and the atomic writer. */
#include "test_format_util.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static tm_snapshot *new_snap(void)
{
    tm_snapshot *s;
    tm_error err;
    tmtest_ok(tm_snapshot_new(&s, &err), &err);
    return s;
}

static void test_empty_roundtrip(void **state)
{
    (void)state;
    tm_snapshot *s = new_snap();
    size_t len;
    tm_snapshot *b = tf_roundtrip(s, 0, &len);
    assert_int_equal(tm_snapshot_trace_count(b), 0);
    assert_int_equal(tm_snapshot_string_count(b), 1);
    assert_int_equal(tm_snapshot_stack_count(b), 1);
    assert_int_equal(tm_snapshot_metadata(b)->nframe_limit, 1);
    tm_snapshot_free(b);
    tm_snapshot_free(tf_roundtrip(s, -1, NULL));
    tm_snapshot_free(s);
}

static void test_one_trace(void **state)
{
    (void)state;
    tm_snapshot *s = new_snap();
    uint32_t f = tf_frame(s, TM_NONE, 0, NULL, "a.py", 12, TM_NONE), st;
    tm_error err;
    tmtest_ok(tm_snapshot_intern_stack(&st, s, &f, 1, &err), &err);
    tf_trace(s, 0, 1234, st, 1);
    /* The smallest module record: every field zero (5 bytes on disk). */
    tm_module zm;
    memset(&zm, 0, sizeof zm);
    uint32_t mid;
    tmtest_ok(tm_snapshot_add_module(&mid, s, &zm, &err), &err);
    tmtest_ok(tm_snapshot_add_module(&mid, s, &zm, &err), &err);
    tm_snapshot *b = tf_roundtrip(s, -1, NULL);
    assert_int_equal(tm_snapshot_module_count(b), 2);
    const tm_trace *t = tm_snapshot_traces(b);
    assert_int_equal(t->size, 1234);
    assert_int_equal(tm_snapshot_trace_total_nframe(b, 0), 1);
    uint32_t fr;
    assert_int_equal(tm_snapshot_stack_frames(&fr, 1, b, t->stack), 1);
    assert_string_equal(tm_snapshot_string(b, tm_snapshot_frames(b)[fr].file, NULL), "a.py");
    assert_int_equal(tm_snapshot_frames(b)[fr].line, 12);
    tm_snapshot_free(b);
    tm_snapshot_free(s);
}

static void test_deepest_stack(void **state)
{
    (void)state;
    tm_snapshot *s = new_snap();
    uint32_t *fr = malloc(TM_MAX_NFRAME * sizeof *fr);
    assert_non_null(fr);
    for (uint32_t i = 0; i < TM_MAX_NFRAME; i++)
        fr[i] = tf_frame(s, TM_NONE, 0, NULL, "deep.py", i % 1000 + 1, TM_NONE);
    uint32_t st;
    tm_error err;
    tmtest_ok(tm_snapshot_intern_stack(&st, s, fr, TM_MAX_NFRAME, &err), &err);
    tf_trace(s, 0, 64, st, TM_MAX_NFRAME);
    tf_trace(s, 0, 64, st, 100000);
    tm_snapshot *b = tf_roundtrip(s, 0, NULL);
    assert_int_equal(tm_snapshot_stacks(b)[tm_snapshot_traces(b)[0].stack].depth, TM_MAX_NFRAME);
    tm_snapshot_free(b);
    free(fr);
    tm_snapshot_free(s);
}

static void test_huge_sizes(void **state)
{
    (void)state;
    tm_snapshot *s = new_snap();
    uint32_t f = tf_frame(s, TM_NONE, 0, NULL, "x.c", 1, TM_NONE), st;
    tm_error err;
    tmtest_ok(tm_snapshot_intern_stack(&st, s, &f, 1, &err), &err);
    const uint64_t sizes[] = { UINT64_MAX, 0, UINT64_MAX - 1, 1, UINT64_MAX, (uint64_t)1 << 63 };
    for (size_t i = 0; i < 6; i++)
        tf_trace(s, i % 2 ? UINT32_MAX : 0, sizes[i], i % 3 ? st : 0, (uint32_t)i);
    tm_snapshot_free(tf_roundtrip(s, 0, NULL));
    tm_snapshot_free(tf_roundtrip(s, -1, NULL));
    tm_snapshot_free(s);
}

/* One stack with many traces in adversarial orders: the writer's sort must
 * produce the non-decreasing sizes the size column needs. */
static void test_sorting_large_group(void **state)
{
    (void)state;
    tm_snapshot *s = new_snap();
    uint32_t f = tf_frame(s, TM_NONE, 0, NULL, "x.c", 1, TM_NONE), st;
    tm_error err;
    tmtest_ok(tm_snapshot_intern_stack(&st, s, &f, 1, &err), &err);
    tmtest_rng r;
    tmtest_rng_seed(&r, 77);
    for (uint64_t i = 0; i < 6000; i++) {
        uint64_t size = i < 2000 ? 10000 - i              /* descending */
            : i < 4000           ? (i % 7) * 16           /* many equal keys */
                                 : tmtest_rng_next(&r) >> (i % 64); /* random magnitudes */
        tf_trace(s, (uint32_t)(i % 3 == 0), size, st, 1 + (uint32_t)(i % 5));
    }
    size_t len;
    tm_snapshot *b = tf_roundtrip(s, 0, &len);
    /* Sorted by (domain, size) within the stack. */
    const tm_trace *t = tm_snapshot_traces(b);
    for (size_t i = 1; i < tm_snapshot_trace_count(b); i++)
        assert_true(t[i - 1].domain < t[i].domain ||
                    (t[i - 1].domain == t[i].domain && t[i - 1].size <= t[i].size));
    tm_snapshot_free(b);
    tm_snapshot_free(s);
}

static void test_many_modules_non_ascii(void **state)
{
    (void)state;
    tm_snapshot *s = new_snap();
    char path[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(path, sizeof path, "/opt/\xe6\x97\xa5\xe6\x9c\xac/lib%d.so", i);
        tf_module(s, path, (uint64_t)i << 32);
    }
    uint32_t fr[3] = { tf_frame(s, 2999, 0x10, NULL, NULL, 0, TM_NONE),
                       tf_frame(s, 0, UINT64_MAX, "\xc3\xa9", "\xf0\x9f\x98\x80.c", 9, TM_NONE),
                       tf_frame(s, 1500, 0, NULL, NULL, 0, TM_NONE) };
    uint32_t st;
    tm_error err;
    tmtest_ok(tm_snapshot_intern_stack(&st, s, fr, 3, &err), &err);
    tf_trace(s, 0, 10, st, 3);
    tm_snapshot *b = tf_roundtrip(s, 0, NULL);
    assert_int_equal(tm_snapshot_module_count(b), 3000);
    tm_snapshot_free(b);
    tm_snapshot_free(s);
}

static void test_inline_chains(void **state)
{
    (void)state;
    tm_snapshot *s = new_snap();
    uint32_t m = tf_module(s, "/bin/app", 0x400000);
    /* Symbolizer style: the raw frame exists first, outer frames are added
     * later and the raw one is rewritten to point forward to them. */
    uint32_t raw = tf_frame(s, m, 0x1234, NULL, NULL, 0, TM_NONE);
    uint32_t outer = tf_frame(s, m, 0x1234, "main", "app.c", 40, TM_NONE);
    uint32_t mid = tf_frame(s, m, 0x1234, "helper", "app.h", 12, outer);
    tm_frame f = tm_snapshot_frames(s)[raw];
    f.function = tf_str(s, "leaf");
    f.file = tf_str(s, "leaf.h");
    f.line = 3;
    f.inlined_by = mid;
    tm_error err;
    tmtest_ok(tm_snapshot_set_frame(s, raw, &f, &err), &err);
    uint32_t st;
    tmtest_ok(tm_snapshot_intern_stack(&st, s, &raw, 1, &err), &err);
    tf_trace(s, 0, 100, st, 1);
    tm_snapshot *b = tf_roundtrip(s, 0, NULL);
    uint32_t leaf;
    tm_snapshot_stack_frames(&leaf, 1, b, tm_snapshot_traces(b)[0].stack);
    const tm_frame *fb = tm_snapshot_frames(b);
    assert_string_equal(tm_snapshot_string(b, fb[leaf].function, NULL), "leaf");
    uint32_t x = fb[leaf].inlined_by;
    assert_string_equal(tm_snapshot_string(b, fb[x].function, NULL), "helper");
    x = fb[x].inlined_by;
    assert_string_equal(tm_snapshot_string(b, fb[x].function, NULL), "main");
    assert_int_equal(fb[x].inlined_by, TM_NONE);
    tm_snapshot_free(b);
    tm_snapshot_free(s);
}

static void test_random_roundtrips(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        tm_snapshot *s = tf_random_snapshot(seed, (size_t)(seed * seed * 7 % 3000));
        tm_snapshot_free(tf_roundtrip(s, seed % 3 == 0 ? -1 : (int)(seed % 5), NULL));
        tm_snapshot_free(s);
    }
}

/* The reader interns through the builder, so ids come back de-duplicated and
 * later builder calls find the loaded strings and stacks. */
static void test_dedup_through_builder(void **state)
{
    (void)state;
    tm_snapshot *s = tf_random_snapshot(99, 500);
    tm_snapshot *b = tf_roundtrip(s, 0, NULL);
    tm_error err;
    for (uint32_t i = 1; i < tm_snapshot_string_count(b); i++) {
        size_t len;
        const char *p = tm_snapshot_string(b, i, &len);
        uint32_t id;
        tmtest_ok(tm_snapshot_intern_string(&id, b, p, len, &err), &err);
        assert_int_equal(id, i);
    }
    size_t nst = tm_snapshot_stack_count(b);
    for (uint32_t i = 1; i < nst; i++) {
        tm_stack_node nd = tm_snapshot_stacks(b)[i];
        uint32_t id;
        tmtest_ok(tm_snapshot_intern_stack_node(&id, b, nd.parent, nd.frame, &err), &err);
        assert_int_equal(id, i);
    }
    assert_int_equal(tm_snapshot_stack_count(b), nst);
    tm_snapshot_free(b);
    tm_snapshot_free(s);
}

/* --- crafted files ----------------------------------------------------- */

static int decode_rc(const uint8_t *buf, size_t len, tm_error *err, tm_snapshot **out)
{
    tm_snapshot *s = NULL;
    int rc = tm_tms_decode(&s, buf, len, "crafted.tms", err);
    if (out)
        *out = s;
    else
        tm_snapshot_free(s);
    return rc;
}

static void strings_payload(tf_bytes *x, const char *const *strs, size_t n)
{
    x->n = 0;
    tf_v(x, n);
    for (size_t i = 0; i < n; i++) {
        tf_v(x, strlen(strs[i]));
        tf_raw(x, strs[i], strlen(strs[i]));
    }
}

static void test_duplicate_string_rejected(void **state)
{
    (void)state;
    tf_bytes x;
    const char *dup[] = { "a.c", "b.c", "a.c" };
    strings_payload(&x, dup, 3);
    tf_section sec = { TMS_SEC_STRINGS, 1, 0, x.b, x.n, 0 };
    size_t len;
    uint8_t *f = tf_container(1, 0, &sec, 1, &len);
    tm_error err;
    assert_int_equal(decode_rc(f, len, &err, NULL), TM_EFORMAT);
    assert_non_null(strstr(err.message, "crafted.tms: section 'strings'"));
    assert_non_null(strstr(err.message, "duplicates string 1"));
    free(f);
    const char *empty[] = { "" };
    strings_payload(&x, empty, 1);
    sec.len = x.n;
    f = tf_container(1, 0, &sec, 1, &len);
    assert_int_equal(decode_rc(f, len, &err, NULL), TM_EFORMAT);
    free(f);
}

/* Two frame records equal by value are merged by the builder; stacks and
 * traces through either one must land on the merged frame and stack. */
static void test_duplicate_frames_merge(void **state)
{
    (void)state;
    tf_bytes st, fr, sk, tr;
    const char *strs[] = { "x.py" };
    strings_payload(&st, strs, 1);
    fr.n = 0;
    tf_v(&fr, 2);
    tf_v(&fr, 6);
    const uint8_t two_zero[] = { 0, 0 }, two_one[] = { 1, 1 }, two_five[] = { 5, 5 };
    const uint8_t *cols[6] = { two_zero, two_zero, two_zero, two_one, two_five, two_zero };
    for (int i = 0; i < 6; i++) {
        tf_v(&fr, 2);
        tf_raw(&fr, cols[i], 2);
    }
    sk.n = 0; /* nodes 1 and 2: frame 0 and frame 1, both under the root */
    tf_v(&sk, 2);
    tf_v(&sk, 2);
    const uint8_t sf[] = { 0, 1 }, sp[] = { 1, 2 };
    tf_v(&sk, 2);
    tf_raw(&sk, sf, 2);
    tf_v(&sk, 2);
    tf_raw(&sk, sp, 2);
    tr.n = 0; /* traces on stacks 1 and 2, size 8 each, total_nframe = depth */
    tf_v(&tr, 2);
    tf_v(&tr, 4);
    const uint8_t ts[] = { 1, 1 }, td[] = { 0, 0 }, tz[] = { 8, 8 }, tn[] = { 0, 0 };
    const uint8_t *tc[4] = { ts, td, tz, tn };
    for (int i = 0; i < 4; i++) {
        tf_v(&tr, 2);
        tf_raw(&tr, tc[i], 2);
    }
    tf_section secs[] = { { TMS_SEC_TRACES, 1, 0, tr.b, tr.n, 0 },
                          { TMS_SEC_STACKS, 1, 0, sk.b, sk.n, 0 },
                          { TMS_SEC_FRAMES, 1, 0, fr.b, fr.n, 0 },
                          { TMS_SEC_STRINGS, 1, 0, st.b, st.n, 0 } };
    size_t len;
    uint8_t *f = tf_container(1, 0, secs, 4, &len);
    tm_error err;
    tm_snapshot *s;
    tmtest_ok(decode_rc(f, len, &err, &s), &err);
    assert_int_equal(tm_snapshot_frame_count(s), 1);
    assert_int_equal(tm_snapshot_stack_count(s), 2);
    assert_int_equal(tm_snapshot_trace_count(s), 2);
    assert_int_equal(tm_snapshot_traces(s)[0].stack, 1);
    assert_int_equal(tm_snapshot_traces(s)[1].stack, 1);
    assert_int_equal(tm_snapshot_trace_total_nframe(s, 1), 1);
    tm_snapshot_free(s);
    free(f);
}

static void test_versions(void **state)
{
    (void)state;
    const char *strs[] = { "a" };
    tf_bytes x;
    strings_payload(&x, strs, 1);
    const uint8_t junk[] = { 0xde, 0xad };
    tm_error err;
    size_t len;
    /* A newer minor version with an unknown optional section: skipped. */
    tf_section ok[] = { { TMS_SEC_STRINGS, 1, 0, x.b, x.n, 0 }, { 77, 0, 9, junk, 2, 1000 } };
    uint8_t *f = tf_container(1, 7, ok, 2, &len);
    tm_snapshot *s;
    tmtest_ok(decode_rc(f, len, &err, &s), &err);
    assert_string_equal(tm_snapshot_string(s, 1, NULL), "a");
    tm_snapshot_free(s);
    tm_tms_file_info *info;
    tmtest_ok(tm_tms_inspect(&info, f, len, "v.tms", &err), &err);
    assert_int_equal(info->minor, 7);
    assert_int_equal(info->nsections, 2);
    assert_string_equal(info->sections[1].name, "unknown");
    assert_int_equal(info->sections[1].critical, 0);
    tm_tms_file_info_free(info);
    free(f);
    /* The same section marked critical: an error naming both versions. */
    ok[1].flags = TMS_FLAG_CRITICAL;
    f = tf_container(1, 7, ok, 2, &len);
    assert_int_equal(decode_rc(f, len, &err, NULL), TM_EVERSION);
    char reader[32];
    snprintf(reader, sizeof reader, "(version %d.%d)", TM_TMS_MAJOR, TM_TMS_MINOR);
    assert_non_null(strstr(err.message, "1.7"));
    assert_non_null(strstr(err.message, reader));
    assert_non_null(strstr(err.message, "type 77"));
    free(f);
    /* A newer major version. */
    f = tf_container(2, 0, ok, 1, &len);
    assert_int_equal(decode_rc(f, len, &err, NULL), TM_EVERSION);
    assert_non_null(strstr(err.message, "2.0"));
    assert_non_null(strstr(err.message, reader));
    free(f);
    /* Duplicated known section. */
    tf_section two[] = { ok[0], ok[0] };
    f = tf_container(1, 0, two, 2, &len);
    assert_int_equal(decode_rc(f, len, &err, NULL), TM_EFORMAT);
    assert_non_null(strstr(err.message, "duplicate"));
    free(f);
}

/* Extension points of minor versions: unknown metadata tags and extra
 * columns are skipped. */
static void test_forward_compatible_fields(void **state)
{
    (void)state;
    const char *strs[] = { "prog" };
    tf_bytes st, md, fr;
    strings_payload(&st, strs, 1);
    md.n = 0;
    tf_v(&md, 99); /* unknown tag with 3 bytes of value */
    tf_v(&md, 3);
    tf_raw(&md, "xyz", 3);
    tf_v(&md, TMS_META_PROGRAM);
    tf_v(&md, 1);
    tf_v(&md, 1);
    tf_v(&md, TMS_META_NFRAME_LIMIT);
    tf_v(&md, 2);
    tf_v(&md, 300);
    fr.n = 0; /* one frame, 7 columns: the seventh is unknown */
    tf_v(&fr, 1);
    tf_v(&fr, 7);
    for (int i = 0; i < 7; i++) {
        tf_v(&fr, 1);
        tf_v(&fr, i == 4 ? 42 : i == 6 ? 99 : 0);
    }
    tf_section secs[] = { { TMS_SEC_STRINGS, 1, 0, st.b, st.n, 0 },
                          { TMS_SEC_METADATA, 1, 0, md.b, md.n, 0 },
                          { TMS_SEC_FRAMES, 1, 0, fr.b, fr.n, 0 } };
    size_t len;
    uint8_t *f = tf_container(1, 3, secs, 3, &len);
    tm_error err;
    tm_snapshot *s;
    tmtest_ok(decode_rc(f, len, &err, &s), &err);
    assert_string_equal(tm_snapshot_string(s, tm_snapshot_metadata(s)->program, NULL), "prog");
    assert_int_equal(tm_snapshot_metadata(s)->nframe_limit, 300);
    assert_int_equal(tm_snapshot_frames(s)[0].line, 42);
    tm_snapshot_free(s);
    free(f);
}

static void test_bad_references(void **state)
{
    (void)state;
    tm_error err;
    size_t len;
    /* A stack whose parent distance points past node 0 (would be a cycle or
     * a forward reference). */
    tf_bytes fr, sk;
    fr.n = 0;
    tf_v(&fr, 1);
    tf_v(&fr, 6);
    for (int i = 0; i < 6; i++) {
        tf_v(&fr, 1);
        tf_v(&fr, 0);
    }
    sk.n = 0;
    tf_v(&sk, 1);
    tf_v(&sk, 2);
    tf_v(&sk, 1);
    tf_v(&sk, 0);
    tf_v(&sk, 1);
    tf_v(&sk, 2);
    tf_section secs[] = { { TMS_SEC_FRAMES, 1, 0, fr.b, fr.n, 0 },
                          { TMS_SEC_STACKS, 1, 0, sk.b, sk.n, 0 } };
    uint8_t *f = tf_container(1, 0, secs, 2, &len);
    assert_int_equal(decode_rc(f, len, &err, NULL), TM_EFORMAT);
    assert_non_null(strstr(err.message, "section 'stacks'"));
    assert_non_null(strstr(err.message, "parent distance 2"));
    free(f);
    /* A frame that is inlined into itself. */
    fr.n = 0;
    tf_v(&fr, 1);
    tf_v(&fr, 6);
    for (int i = 0; i < 6; i++) {
        tf_v(&fr, 1);
        tf_v(&fr, i == 5 ? 0 + 0 : 0);
    }
    fr.b[fr.n - 1] = 1; /* inlined_by distance 1 from frame 0 */
    secs[0].len = fr.n;
    f = tf_container(1, 0, secs, 1, &len);
    assert_int_equal(decode_rc(f, len, &err, NULL), TM_EFORMAT);
    assert_non_null(strstr(err.message, "inlined_by"));
    free(f);
    /* A row count larger than its columns can hold (no allocation from it). */
    tf_bytes tr;
    tr.n = 0;
    tf_v(&tr, UINT64_C(1) << 40);
    tf_v(&tr, 4);
    for (int i = 0; i < 4; i++) {
        tf_v(&tr, 1);
        tf_v(&tr, 0);
    }
    tf_section ts = { TMS_SEC_TRACES, 1, 0, tr.b, tr.n, 0 };
    f = tf_container(1, 0, &ts, 1, &len);
    assert_int_equal(decode_rc(f, len, &err, NULL), TM_EFORMAT);
    assert_non_null(strstr(err.message, "rows cannot fit"));
    free(f);
    /* A zstd section whose header claims far more raw bytes than it holds. */
    const uint8_t notzstd[] = { 1, 2, 3, 4 };
    tf_section z = { TMS_SEC_STRINGS, 1, TMS_CODEC_ZSTD, notzstd, 4, UINT64_C(1) << 33 };
    f = tf_container(1, 0, &z, 1, &len);
    assert_int_equal(decode_rc(f, len, &err, NULL), TM_EFORMAT);
    assert_non_null(strstr(err.message, "zstd"));
    free(f);
}

/* An inline chain longer than 256 frames: the writer refuses it and a
 * crafted file carrying one is rejected with TM_ELIMIT. */
static void test_inline_limit(void **state)
{
    (void)state;
    tm_snapshot *s = new_snap();
    uint32_t prev = TM_NONE;
    for (uint32_t i = 0; i < TMS_MAX_INLINE_DEPTH; i++)
        prev = tf_frame(s, TM_NONE, 0, NULL, "inl.c", i + 1, prev);
    void *buf;
    size_t len;
    tm_error err;
    tmtest_ok(tm_tms_encode(&buf, &len, s, NULL, &err), &err); /* 256: fine */
    free(buf);
    tf_frame(s, TM_NONE, 0, NULL, "inl.c", 999, prev);
    assert_int_equal(tm_tms_encode(&buf, &len, s, NULL, &err), TM_ELIMIT);
    assert_non_null(strstr(err.message, "inline chain"));
    tm_snapshot_free(s);

    static tf_bytes fr;
    fr.n = 0;
    uint32_t n = TMS_MAX_INLINE_DEPTH + 1;
    tf_v(&fr, n);
    tf_v(&fr, 6);
    for (int c = 0; c < 6; c++) {
        tf_v(&fr, n);
        for (uint32_t i = 0; i < n; i++)
            tf_v(&fr, c == 5 && i > 0 ? 1 : 0);
    }
    tf_section sec = { TMS_SEC_FRAMES, 1, 0, fr.b, fr.n, 0 };
    uint8_t *f = tf_container(1, 0, &sec, 1, &len);
    assert_int_equal(decode_rc(f, len, &err, NULL), TM_ELIMIT);
    assert_non_null(strstr(err.message, "frame 256: inline chain longer than 256"));
    free(f);
}

static void test_text_mode_mangling(void **state)
{
    (void)state;
    tm_snapshot *s = tf_random_snapshot(5, 10);
    void *buf;
    size_t len;
    tm_error err;
    tmtest_ok(tm_tms_encode(&buf, &len, s, NULL, &err), &err);
    assert_true(tm_tms_detect(buf, len));
    uint8_t *m = malloc(len + 1);
    /* LF -> CR LF on the final magic byte. */
    memcpy(m, buf, 7);
    m[7] = '\r';
    memcpy(m + 8, (uint8_t *)buf + 7, len - 7);
    assert_false(tm_tms_detect(m, len + 1));
    assert_int_equal(decode_rc(m, len + 1, &err, NULL), TM_EFORMAT);
    assert_non_null(strstr(err.message, "text-mode"));
    /* High bit stripped. */
    memcpy(m, buf, len);
    m[0] &= 0x7f;
    assert_int_equal(decode_rc(m, len, &err, NULL), TM_EFORMAT);
    assert_non_null(strstr(err.message, "magic"));
    assert_int_equal(decode_rc((const uint8_t *)"hello", 5, &err, NULL), TM_EFORMAT);
    assert_non_null(strstr(err.message, "not a .tms file"));
    free(m);
    free(buf);
    tm_snapshot_free(s);
}

/* --- files and the atomic writer --------------------------------------- */

static char tmpdir[256];

static void test_write_read_file(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tmfmt.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    char path[300];
    snprintf(path, sizeof path, "%s/a.tms", tmpdir);
    tm_snapshot *s = tf_random_snapshot(7, 300);
    tm_error err;
    tmtest_ok(tm_tms_write(s, path, NULL, &err), &err);
    tm_snapshot *b;
    tmtest_ok(tm_tms_read(&b, path, &err), &err);
    tf_assert_same(s, b);
    tm_snapshot_free(b);
    assert_int_equal(tf_count_entries(tmpdir), 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    ino_t before = st.st_ino;
    off_t size_before = st.st_size;

    /* Failure: the target is a directory, rename fails; the temp file is
     * removed and the directory untouched. */
    char sub[300];
    snprintf(sub, sizeof sub, "%s/dir.tms", tmpdir);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_not_equal(tm_tms_write(s, sub, NULL, &err), TM_OK);
    assert_int_equal(err.code, TM_EIO);
    assert_non_null(strstr(err.message, "dir.tms"));
    assert_int_equal(tf_count_entries(tmpdir), 2);
    rmdir(sub);

    /* Failure during encoding (out of memory): the existing file stays. */
    tm_snapshot *big = tf_random_snapshot(8, 100);
    tm_alloc_fail_after(3);
    int rc = tm_tms_write(big, path, NULL, &err);
    tm_alloc_fail_after(0);
    assert_int_equal(rc, TM_ENOMEM);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_ino, before);
    assert_int_equal(st.st_size, size_before);
    assert_int_equal(tf_count_entries(tmpdir), 1);

    /* A directory that does not exist. */
    char nodir[300];
    snprintf(nodir, sizeof nodir, "%s/missing/x.tms", tmpdir);
    assert_int_equal(tm_tms_write(s, nodir, NULL, &err), TM_EIO);
    assert_non_null(strstr(err.message, "missing/x.tms"));

    /* Replacing the file: a new inode appears atomically. */
    tm_tms_write_options o = TM_TMS_WRITE_OPTIONS_INIT;
    o.no_fsync = 1;
    tmtest_ok(tm_tms_write(big, path, &o, &err), &err);
    tmtest_ok(tm_tms_read(&b, path, &err), &err);
    tf_assert_same(big, b);
    tm_snapshot_free(b);
    assert_int_equal(tf_count_entries(tmpdir), 1);

    /* The new file's mode follows the umask, like any created file. */
    mode_t old = umask(027);
    tmtest_ok(tm_tms_write(s, path, &o, &err), &err);
    umask(old);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(tf_count_entries(tmpdir), 1);

    /* Reading errors name the file. */
    assert_int_equal(tm_tms_read(&b, nodir, &err), TM_EIO);
    assert_non_null(strstr(err.message, "missing/x.tms"));
    assert_int_equal(tm_tms_read(&b, tmpdir, &err), TM_EIO);

    unlink(path);
    rmdir(tmpdir);
    tm_snapshot_free(big);
    tm_snapshot_free(s);
}

static void test_inspect(void **state)
{
    (void)state;
    tm_snapshot *s = tf_random_snapshot(11, 2000);
    void *buf;
    size_t len;
    tm_error err;
    tmtest_ok(tm_tms_encode(&buf, &len, s, NULL, &err), &err);
    tm_tms_file_info *info;
    tmtest_ok(tm_tms_inspect(&info, buf, len, "i.tms", &err), &err);
    assert_int_equal(info->major, 1);
    assert_int_equal(info->minor, 0);
    assert_int_equal(info->file_size, len);
    assert_int_equal(info->nsections, 6);
    uint64_t pos = TMS_FILE_HEADER_LEN;
    int seen_traces = 0;
    for (size_t i = 0; i < info->nsections; i++) {
        assert_int_equal(info->sections[i].offset, pos);
        assert_true(info->sections[i].critical);
        pos += TMS_SECTION_HEADER_LEN + info->sections[i].stored_len;
        if (strcmp(info->sections[i].name, "traces") == 0) {
            seen_traces = 1;
            assert_int_equal(info->sections[i].codec, TMS_CODEC_ZSTD);
            assert_true(info->sections[i].stored_len < info->sections[i].raw_len);
        }
    }
    assert_true(seen_traces);
    assert_int_equal(pos, len);
    tm_tms_file_info_free(info);
    free(buf);
    tm_snapshot_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_roundtrip),
        cmocka_unit_test(test_one_trace),
        cmocka_unit_test(test_deepest_stack),
        cmocka_unit_test(test_huge_sizes),
        cmocka_unit_test(test_sorting_large_group),
        cmocka_unit_test(test_many_modules_non_ascii),
        cmocka_unit_test(test_inline_chains),
        cmocka_unit_test(test_random_roundtrips),
        cmocka_unit_test(test_dedup_through_builder),
        cmocka_unit_test(test_duplicate_string_rejected),
        cmocka_unit_test(test_duplicate_frames_merge),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_forward_compatible_fields),
        cmocka_unit_test(test_bad_references),
        cmocka_unit_test(test_inline_limit),
        cmocka_unit_test(test_text_mode_mangling),
        cmocka_unit_test(test_write_read_file),
        cmocka_unit_test(test_inspect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
