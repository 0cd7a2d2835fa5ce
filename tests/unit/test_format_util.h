/*
 * Helpers shared by the .tms tests: random snapshots, comparison of two
 * models by value (trace multisets: the writer does not keep trace order),
 * and a tiny hand-made container writer for crafted files.
 */
#ifndef TEST_FORMAT_UTIL_H
#define TEST_FORMAT_UTIL_H

#include "tmtest.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "tms_internal.h"
#include "tms_wire.h"
#include "tm_snapshot_internal.h"
#include "tm/tms.h"
#include "tm_alloc.h"

static inline uint32_t tf_str(tm_snapshot *s, const char *p)
{
    uint32_t id;
    tm_error err;
    tmtest_ok(tm_snapshot_intern_string(&id, s, p, strlen(p), &err), &err);
    return id;
}

static inline uint32_t tf_frame(tm_snapshot *s, uint32_t module, uint64_t offset, const char *fn,
                                const char *file, uint32_t line, uint32_t inlined_by)
{
    tm_frame f = { .module = module,
                   .offset = offset,
                   .function = fn ? tf_str(s, fn) : 0,
                   .file = file ? tf_str(s, file) : 0,
                   .line = line,
                   .inlined_by = inlined_by };
    uint32_t id;
    tm_error err;
    tmtest_ok(tm_snapshot_intern_frame(&id, s, &f, &err), &err);
    return id;
}

static inline void tf_trace(tm_snapshot *s, uint32_t domain, uint64_t size, uint32_t stack,
                            uint32_t tnf)
{
    tm_trace t = { .size = size, .stack = stack, .domain = domain };
    tm_error err;
    tmtest_ok(tm_snapshot_add_trace(s, &t, tnf, &err), &err);
}

static inline uint32_t tf_module(tm_snapshot *s, const char *path, uint64_t bias)
{
    tm_module m;
    memset(&m, 0, sizeof m);
    m.path = tf_str(s, path);
    m.build_id_len = 20;
    for (int i = 0; i < 20; i++)
        m.build_id[i] = (uint8_t)(bias * 7 + (uint64_t)i);
    m.load_bias = bias;
    m.start = bias + 0x1000;
    m.end = bias + 0x9000;
    uint32_t id;
    tm_error err;
    tmtest_ok(tm_snapshot_add_module(&id, s, &m, &err), &err);
    return id;
}

/* A random snapshot exercising every field: native and Python frames,
 * inline chains (some linked forward with set_frame, as the symbolizer
 * does), non-ASCII and NUL-containing strings, extreme sizes. */
static inline tm_snapshot *tf_random_snapshot(uint64_t seed, size_t ntraces)
{
    tmtest_rng r;
    tmtest_rng_seed(&r, seed);
    tm_snapshot *s;
    tm_error err;
    tmtest_ok(tm_snapshot_new(&s, &err), &err);
    char buf[128];
    size_t nmod = 1 + tmtest_rng_below(&r, 8);
    for (size_t i = 0; i < nmod; i++) {
        snprintf(buf, sizeof buf,
                 "/usr/lib/libm\xc3\xb6"
                 "d%zu.so",
                 i);
        tf_module(s, buf, tmtest_rng_next(&r));
    }
    size_t nfr = 1 + tmtest_rng_below(&r, 60);
    uint32_t frames[64];
    for (size_t i = 0; i < nfr; i++) {
        snprintf(buf, sizeof buf,
                 "src/f\xe2\x82\xac"
                 "%llu.c",
                 (unsigned long long)tmtest_rng_below(&r, 10));
        char fn[32];
        snprintf(fn, sizeof fn, "func%llu", (unsigned long long)tmtest_rng_below(&r, 20));
        switch (tmtest_rng_below(&r, 4)) {
        case 0: /* Python frame */
            frames[i] =
                tf_frame(s, TM_NONE, 0, NULL, buf, (uint32_t)tmtest_rng_below(&r, 5000), TM_NONE);
            break;
        case 1: /* unsymbolized native */
            frames[i] =
                tf_frame(s, (uint32_t)tmtest_rng_below(&r, nmod),
                         tmtest_rng_next(&r) >> (tmtest_rng_below(&r, 64)), NULL, NULL, 0, TM_NONE);
            break;
        case 2: /* inlined into an earlier frame */
            frames[i] = tf_frame(s, 0, tmtest_rng_below(&r, 1 << 20), fn, buf, 7,
                                 i ? frames[tmtest_rng_below(&r, i)] : TM_NONE);
            break;
        default:
            frames[i] =
                tf_frame(s, (uint32_t)tmtest_rng_below(&r, nmod), tmtest_rng_below(&r, 1 << 24), fn,
                         buf, (uint32_t)tmtest_rng_below(&r, 100000), TM_NONE);
        }
    }
    /* A forward inline link: frame 0 becomes inlined into a newer frame. */
    if (nfr > 2) {
        tm_frame f = tm_snapshot_frames(s)[frames[0]];
        if (f.inlined_by == TM_NONE) {
            uint32_t outer = tf_frame(s, 0, 0x4242, "outer_fn", "outer.c", 1, TM_NONE);
            f.inlined_by = outer;
            tmtest_ok(tm_snapshot_set_frame(s, frames[0], &f, &err), &err);
        }
    }
    /* NUL inside a string survives. */
    uint32_t nul;
    tmtest_ok(tm_snapshot_intern_string(&nul, s, "a\0b", 3, &err), &err);
    size_t nstacks = 1 + tmtest_rng_below(&r, 40);
    uint32_t stacks[48];
    for (size_t i = 0; i < nstacks; i++) {
        uint32_t fr[32];
        size_t depth = tmtest_rng_below(&r, 30);
        for (size_t k = 0; k < depth; k++)
            fr[k] = frames[tmtest_rng_below(&r, nfr)];
        tmtest_ok(tm_snapshot_intern_stack(&stacks[i], s, fr, depth, &err), &err);
    }
    for (size_t i = 0; i < ntraces; i++) {
        uint32_t st = stacks[tmtest_rng_below(&r, nstacks)];
        uint32_t depth = tm_snapshot_stacks(s)[st].depth;
        uint64_t size;
        switch (tmtest_rng_below(&r, 5)) {
        case 0: size = UINT64_MAX - tmtest_rng_below(&r, 3); break;
        case 1: size = tmtest_rng_next(&r); break;
        case 2: size = 0; break;
        default: size = 16 * (1 + tmtest_rng_below(&r, 8));
        }
        uint32_t tnf =
            tmtest_rng_below(&r, 4) ? depth : depth + (uint32_t)tmtest_rng_below(&r, 100000);
        if (tmtest_rng_below(&r, 20) == 0)
            tnf = UINT32_MAX;
        tf_trace(s,
                 (uint32_t)(tmtest_rng_below(&r, 3)       ? 0
                                : tmtest_rng_below(&r, 4) ? 5
                                                          : UINT32_MAX),
                 size, st, tnf);
    }
    tm_metadata md = *tm_snapshot_metadata(s);
    md.program = tf_str(s, "/usr/bin/pr\xc3\xb8gram");
    md.host = tf_str(s, "host");
    md.trigger = tf_str(s, "exit");
    md.tool_version = tf_str(s, "0.1.0");
    md.pid = (int64_t)tmtest_rng_below(&r, 1 << 22);
    md.start_time_ns = -(int64_t)tmtest_rng_below(&r, 1000);
    md.snapshot_time_ns = INT64_MAX;
    md.nframe_limit = 1 + (uint32_t)tmtest_rng_below(&r, 65535);
    md.sequence = (uint32_t)tmtest_rng_below(&r, 10);
    md.traced_current = tmtest_rng_next(&r);
    md.traced_peak = UINT64_MAX;
    tmtest_ok(tm_snapshot_set_metadata(s, &md, &err), &err);
    const char *argv[] = { "prog", "--flag", "\xc3\xa9t\xc3\xa9", "" };
    tmtest_ok(tm_snapshot_set_argv(s, argv, 4, &err), &err);
    return s;
}

/* --- comparison by value --------------------------------------------- */

static inline void tf_hash_str(XXH3_state_t *h, const tm_snapshot *s, uint32_t id)
{
    size_t len;
    const char *p = tm_snapshot_string(s, id, &len);
    uint64_t l = len;
    XXH3_64bits_update(h, &l, sizeof l);
    XXH3_64bits_update(h, p, len);
}

static inline void tf_hash_frame(XXH3_state_t *h, const tm_snapshot *s, uint32_t f)
{
    for (; f != TM_NONE; f = tm_snapshot_frames(s)[f].inlined_by) {
        const tm_frame *fr = &tm_snapshot_frames(s)[f];
        uint64_t v[3] = { fr->module, fr->offset, fr->line };
        XXH3_64bits_update(h, v, sizeof v);
        tf_hash_str(h, s, fr->function);
        tf_hash_str(h, s, fr->file);
    }
    uint64_t end = 0xE0D;
    XXH3_64bits_update(h, &end, sizeof end);
}

static inline uint64_t tf_trace_key(const tm_snapshot *s, const tm_trace *t)
{
    XXH3_state_t h;
    XXH3_64bits_reset(&h);
    uint64_t v[3] = { t->size, t->domain,
                      tm_snapshot_trace_total_nframe(s, (size_t)(t - tm_snapshot_traces(s))) };
    XXH3_64bits_update(&h, v, sizeof v);
    for (uint32_t n = t->stack; n != 0; n = tm_snapshot_stacks(s)[n].parent)
        tf_hash_frame(&h, s, tm_snapshot_stacks(s)[n].frame);
    return XXH3_64bits_digest(&h);
}

/* Entries of a directory other than . and .. (temp files left behind?). */
static inline int tf_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static inline int tf_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static inline void tf_assert_same_string(const tm_snapshot *a, uint32_t ia, const tm_snapshot *b,
                                         uint32_t ib)
{
    size_t la, lb;
    const char *pa = tm_snapshot_string(a, ia, &la), *pb = tm_snapshot_string(b, ib, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(pa, pb, la);
}

static inline void tf_assert_same(const tm_snapshot *a, const tm_snapshot *b)
{
    assert_int_equal(tm_snapshot_string_count(a), tm_snapshot_string_count(b));
    for (uint32_t i = 0; i < tm_snapshot_string_count(a); i++)
        tf_assert_same_string(a, i, b, i);
    assert_int_equal(tm_snapshot_module_count(a), tm_snapshot_module_count(b));
    for (size_t i = 0; i < tm_snapshot_module_count(a); i++) {
        const tm_module *x = &tm_snapshot_modules(a)[i], *y = &tm_snapshot_modules(b)[i];
        tf_assert_same_string(a, x->path, b, y->path);
        assert_int_equal(x->build_id_len, y->build_id_len);
        assert_memory_equal(x->build_id, y->build_id, x->build_id_len);
        assert_true(x->load_bias == y->load_bias && x->start == y->start && x->end == y->end);
    }
    assert_int_equal(tm_snapshot_frame_count(a), tm_snapshot_frame_count(b));
    assert_int_equal(tm_snapshot_stack_count(a), tm_snapshot_stack_count(b));
    const tm_metadata *ma = tm_snapshot_metadata(a), *mb = tm_snapshot_metadata(b);
    tf_assert_same_string(a, ma->program, b, mb->program);
    tf_assert_same_string(a, ma->host, b, mb->host);
    tf_assert_same_string(a, ma->trigger, b, mb->trigger);
    tf_assert_same_string(a, ma->tool_version, b, mb->tool_version);
    assert_true(ma->pid == mb->pid && ma->start_time_ns == mb->start_time_ns &&
                ma->snapshot_time_ns == mb->snapshot_time_ns &&
                ma->nframe_limit == mb->nframe_limit && ma->sequence == mb->sequence &&
                ma->traced_current == mb->traced_current && ma->traced_peak == mb->traced_peak);
    assert_int_equal(tm_snapshot_argc(a), tm_snapshot_argc(b));
    for (size_t i = 0; i < tm_snapshot_argc(a); i++)
        tf_assert_same_string(a, tm_snapshot_argv(a)[i], b, tm_snapshot_argv(b)[i]);
    size_t n = tm_snapshot_trace_count(a);
    assert_int_equal(n, tm_snapshot_trace_count(b));
    uint64_t *ka = malloc((n + 1) * sizeof *ka), *kb = malloc((n + 1) * sizeof *kb);
    assert_non_null(ka);
    assert_non_null(kb);
    for (size_t i = 0; i < n; i++) {
        ka[i] = tf_trace_key(a, &tm_snapshot_traces(a)[i]);
        kb[i] = tf_trace_key(b, &tm_snapshot_traces(b)[i]);
    }
    qsort(ka, n, sizeof *ka, tf_cmp_u64);
    qsort(kb, n, sizeof *kb, tf_cmp_u64);
    assert_memory_equal(ka, kb, n * sizeof *ka);
    free(ka);
    free(kb);
}

static inline tm_snapshot *tf_roundtrip(const tm_snapshot *s, int level, size_t *out_len)
{
    tm_tms_write_options o = TM_TMS_WRITE_OPTIONS_INIT;
    o.compression_level = level;
    void *buf;
    size_t len;
    tm_error err;
    tmtest_ok(tm_tms_encode(&buf, &len, s, &o, &err), &err);
    tm_snapshot *back;
    tmtest_ok(tm_tms_decode(&back, buf, len, "rt.tms", &err), &err);
    free(buf);
    if (out_len)
        *out_len = len;
    tf_assert_same(s, back);
    return back;
}

/* --- hand-made containers ---------------------------------------------- */

typedef struct tf_section {
    uint16_t type;
    uint8_t flags, codec;
    const void *payload;
    size_t len;
    uint64_t raw_len; /* 0 = len */
} tf_section;

/* A container with the given sections; malloc'ed. */
static inline uint8_t *tf_container(unsigned major, unsigned minor, const tf_section *secs,
                                    size_t n, size_t *out_len)
{
    size_t total = TMS_FILE_HEADER_LEN;
    for (size_t i = 0; i < n; i++)
        total += TMS_SECTION_HEADER_LEN + secs[i].len;
    uint8_t *b = calloc(1, total);
    assert_non_null(b);
    memcpy(b, TMS_MAGIC, TMS_MAGIC_LEN);
    tms_put_le16(b + TMS_FH_MAJOR, (uint16_t)major);
    tms_put_le16(b + TMS_FH_MINOR, (uint16_t)minor);
    tms_put_le32(b + TMS_FH_NSECTIONS, (uint32_t)n);
    tms_put_le32(b + TMS_FH_CHECKSUM, tms_header_checksum(b, TMS_FILE_HEADER_LEN, TMS_FH_CHECKSUM));
    size_t pos = TMS_FILE_HEADER_LEN;
    for (size_t i = 0; i < n; i++) {
        uint8_t *h = b + pos;
        tms_put_le16(h + TMS_SH_TYPE, secs[i].type);
        h[TMS_SH_FLAGS] = secs[i].flags;
        h[TMS_SH_CODEC] = secs[i].codec;
        tms_put_le64(h + TMS_SH_STORED_LEN, secs[i].len);
        tms_put_le64(h + TMS_SH_RAW_LEN, secs[i].raw_len ? secs[i].raw_len : secs[i].len);
        tms_put_le64(h + TMS_SH_PAYLOAD_HASH, tms_payload_hash(secs[i].payload, secs[i].len));
        tms_put_le32(h + TMS_SH_CHECKSUM,
                     tms_header_checksum(h, TMS_SECTION_HEADER_LEN, TMS_SH_CHECKSUM));
        pos += TMS_SECTION_HEADER_LEN;
        if (secs[i].len)
            memcpy(b + pos, secs[i].payload, secs[i].len);
        pos += secs[i].len;
    }
    *out_len = total;
    return b;
}

/* Varint byte-string builder for crafted payloads. */
typedef struct tf_bytes {
    uint8_t b[4096];
    size_t n;
} tf_bytes;

static inline void tf_v(tf_bytes *x, uint64_t v)
{
    x->n += tms_put_varint(x->b + x->n, v);
}

static inline void tf_raw(tf_bytes *x, const void *p, size_t n)
{
    memcpy(x->b + x->n, p, n);
    x->n += n;
}

#endif
