/*
 * .tms writer: snapshot model -> section payloads -> container bytes, and
 * the atomic file write (through tm/output.h).
 */
#include "tm/tms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "tm_snapshot_internal.h"
#include "tm/output.h"
#include "tm_alloc.h"
#include "tms_internal.h"

#define DEFAULT_LEVEL 3
#define NSEC 7 /* the six of 1.0, and sampling (1.1) for a sampled snapshot */

static int nomem(tm_error *err)
{
    return tm_error_set(err, TM_ENOMEM, "out of memory while encoding a .tms file");
}

/* Capacity check kept inline: the trace loop calls it millions of times. */
static inline int room(tms_buf *b, size_t n)
{
    return b->cap - b->len >= n ? 0 : tms_buf_reserve(b, n);
}

static int put_varint(tms_buf *b, uint64_t v)
{
    if (room(b, TMS_VARINT_MAX_LEN))
        return -1;
    tms_buf_varint(b, v);
    return 0;
}

static int put_bytes(tms_buf *b, const void *p, size_t n)
{
    if (room(b, n))
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* A columnar block: row count, column count, then each column as
 * (byte length, bytes).  The column count lets a later minor version append
 * columns that older readers skip. */
static int put_columns(tms_buf *out, uint64_t n, const tms_buf *cols, int k)
{
    if (put_varint(out, n) || put_varint(out, (uint64_t)k))
        return -1;
    for (int i = 0; i < k; i++)
        if (put_varint(out, cols[i].len) || put_bytes(out, cols[i].data, cols[i].len))
            return -1;
    return 0;
}

static void free_cols(tms_buf *cols, int k)
{
    for (int i = 0; i < k; i++)
        tms_buf_free(&cols[i]);
}

/* --- sections -------------------------------------------------------- */

static int encode_strings(const tm_snapshot *s, tms_buf *b, tm_error *err)
{
    if (put_varint(b, s->nstr - 1))
        return nomem(err);
    for (size_t i = 1; i < s->nstr; i++)
        if (put_varint(b, s->str_len[i]) || put_bytes(b, s->str[i], s->str_len[i]))
            return nomem(err);
    return TM_OK;
}

/* Zero fields are left out (a reader keeps the model's default, 0, for a
 * missing tag), except nframe_limit whose default is not 0. */
static int put_tag(tms_buf *b, unsigned tag, uint64_t v)
{
    if (v == 0 && tag != TMS_META_NFRAME_LIMIT)
        return 0;
    return put_varint(b, tag) || put_varint(b, tms_varint_len(v)) || put_varint(b, v);
}

static int encode_metadata(const tm_snapshot *s, tms_buf *b)
{
    const tm_metadata *m = &s->meta;
    if (put_tag(b, TMS_META_PROGRAM, m->program) || put_tag(b, TMS_META_HOST, m->host) ||
        put_tag(b, TMS_META_TRIGGER, m->trigger) ||
        put_tag(b, TMS_META_TOOL_VERSION, m->tool_version) ||
        put_tag(b, TMS_META_PID, tms_zigzag(m->pid)) ||
        put_tag(b, TMS_META_START_TIME_NS, tms_zigzag(m->start_time_ns)) ||
        put_tag(b, TMS_META_SNAPSHOT_TIME_NS, tms_zigzag(m->snapshot_time_ns)) ||
        put_tag(b, TMS_META_NFRAME_LIMIT, m->nframe_limit) ||
        put_tag(b, TMS_META_SEQUENCE, m->sequence) ||
        put_tag(b, TMS_META_TRACED_CURRENT, m->traced_current) ||
        put_tag(b, TMS_META_TRACED_PEAK, m->traced_peak))
        return -1;
    if (s->argc == 0)
        return 0;
    size_t len = tms_varint_len(s->argc);
    for (size_t i = 0; i < s->argc; i++)
        len += tms_varint_len(s->argv[i]);
    if (put_varint(b, TMS_META_ARGV) || put_varint(b, len) || put_varint(b, s->argc))
        return -1;
    for (size_t i = 0; i < s->argc; i++)
        if (put_varint(b, s->argv[i]))
            return -1;
    return 0;
}

/* Type 7: only a sampled snapshot has it, so an exact one stays a 1.0
 * file byte for byte. */
static int encode_sampling(const tm_snapshot *s, tms_buf *b, tm_error *err)
{
    uint64_t rate = s->meta.sample_rate;
    if (rate > TMS_MAX_SAMPLE_RATE)
        return tm_error_set(err, TM_ELIMIT,
                            "sampling rate %llu bytes exceeds the .tms limit of %llu bytes",
                            (unsigned long long)rate, (unsigned long long)TMS_MAX_SAMPLE_RATE);
    if (put_varint(b, rate) || put_varint(b, TMS_ESTIMATOR_POISSON_BYTES))
        return nomem(err);
    return TM_OK;
}

static int encode_modules(const tm_snapshot *s, tms_buf *b)
{
    if (put_varint(b, s->nmodules))
        return -1;
    for (size_t i = 0; i < s->nmodules; i++) {
        const tm_module *m = &s->modules[i];
        if (put_varint(b, m->path) || put_varint(b, m->build_id_len) ||
            put_bytes(b, m->build_id, m->build_id_len) || put_varint(b, m->load_bias) ||
            put_varint(b, m->start) || put_varint(b, m->end))
            return -1;
    }
    return 0;
}

/* The file lists frames so that a frame's inlined_by always precedes it
 * (the reader relies on it for acyclicity), while the symbolizer may have
 * linked a frame to a later one: tm_snapshot_inline_order.  order[file id] =
 * model id, remap the inverse. */
static int order_frames(const tm_snapshot *s, uint32_t *order, uint32_t *remap, tm_error *err)
{
    size_t n = s->nframes;
    uint16_t *idepth = tm_malloc((n ? n : 1) * sizeof *idepth);
    if (!idepth)
        return nomem(err);
    int rc = tm_snapshot_inline_order(order, s, err);
    for (size_t k = 0; k < n && rc == TM_OK; k++) {
        uint32_t f = order[k], up = s->frames[f].inlined_by;
        remap[f] = (uint32_t)k;
        unsigned d = up == TM_NONE ? 1u : idepth[remap[up]] + 1u;
        if (d > TMS_MAX_INLINE_DEPTH)
            rc = tm_error_set(err, TM_ELIMIT, "frame %u: inline chain longer than %u frames", f,
                              TMS_MAX_INLINE_DEPTH);
        idepth[k] = (uint16_t)d;
    }
    tm_free(idepth);
    return rc;
}

static int encode_frames(const tm_snapshot *s, const uint32_t *order, const uint32_t *remap,
                         tms_buf *b)
{
    tms_buf c[6] = { { 0 } };
    uint64_t prev_off = 0;
    int rc = 0;
    for (size_t i = 0; i < s->nframes && !rc; i++) {
        const tm_frame *f = &s->frames[order[i]];
        uint64_t inl = f->inlined_by == TM_NONE ? 0 : i - remap[f->inlined_by];
        rc = put_varint(&c[0], f->module == TM_NONE ? 0 : (uint64_t)f->module + 1) ||
            put_varint(&c[1], tms_zigzag((int64_t)(f->offset - prev_off))) ||
            put_varint(&c[2], f->function) || put_varint(&c[3], f->file) ||
            put_varint(&c[4], f->line) || put_varint(&c[5], inl);
        prev_off = f->offset;
    }
    if (!rc)
        rc = put_columns(b, s->nframes, c, 6);
    free_cols(c, 6);
    return rc;
}

static int encode_stacks(const tm_snapshot *s, const uint32_t *remap, tms_buf *b, tm_error *err)
{
    tms_buf c[2] = { { 0 } };
    int rc = 0;
    for (size_t i = 1; i < s->nstacks && !rc; i++) {
        const tm_stack_node *nd = &s->stacks[i];
        if (nd->parent >= i || nd->frame >= s->nframes) {
            free_cols(c, 2);
            return tm_error_set(err, TM_EINVAL, "stack node %zu is inconsistent", i);
        }
        rc = put_varint(&c[0], remap[nd->frame]) || put_varint(&c[1], i - nd->parent);
    }
    if (!rc)
        rc = put_columns(b, s->nstacks - 1, c, 2);
    free_cols(c, 2);
    return rc ? nomem(err) : TM_OK;
}

typedef struct srec {
    uint64_t size;
    uint32_t domain;
    uint32_t tnf;
} srec;

static int srec_cmp(const void *a, const void *b)
{
    const srec *x = a, *y = b;
    if (x->domain != y->domain)
        return x->domain < y->domain ? -1 : 1;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    return (x->tnf > y->tnf) - (x->tnf < y->tnf);
}

static inline int srec_lt(const srec *a, const srec *b)
{
    if (a->domain != b->domain)
        return a->domain < b->domain;
    if (a->size != b->size)
        return a->size < b->size;
    return a->tnf < b->tnf;
}

static inline void srec_swap(srec *a, srec *b)
{
    srec t = *a;
    *a = *b;
    *b = t;
}

/* qsort() with its comparator call was half of encode time, so: an inlined
 * quicksort with three-way partitioning (runs of equal sizes are the common
 * case), insertion sort for short ranges, and qsort() as the fallback when
 * recursion gets deep (introsort), so the worst case stays O(n log n). */
static void srec_sort(srec *v, size_t n, int depth)
{
    while (n > 16) {
        if (depth-- <= 0) {
            qsort(v, n, sizeof *v, srec_cmp);
            return;
        }
        srec a = v[0], b = v[n / 2], c = v[n - 1], p;
        if (srec_lt(&a, &b))
            p = srec_lt(&b, &c) ? b : srec_lt(&a, &c) ? c : a;
        else
            p = srec_lt(&a, &c) ? a : srec_lt(&b, &c) ? c : b;
        size_t lt = 0, i = 0, gt = n;
        while (i < gt) {
            if (srec_lt(&v[i], &p))
                srec_swap(&v[lt++], &v[i++]);
            else if (srec_lt(&p, &v[i]))
                srec_swap(&v[i], &v[--gt]);
            else
                i++;
        }
        /* Recurse into the smaller side, loop on the larger. */
        if (lt < n - gt) {
            srec_sort(v, lt, depth);
            v += gt;
            n -= gt;
        } else {
            srec_sort(v + gt, n - gt, depth);
            n = lt;
        }
    }
    for (size_t i = 1; i < n; i++) {
        srec x = v[i];
        size_t j = i;
        for (; j > 0 && srec_lt(&x, &v[j - 1]); j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Trace order means nothing (tracemalloc's is a hash table's), so traces
 * are sorted by (stack, domain, size): the stack column becomes mostly 0,
 * the size column small deltas, and zstd folds the runs. */
static int encode_traces(const tm_snapshot *s, tms_buf *b, tm_error *err)
{
    size_t n = s->ntraces, ns = s->nstacks;
    size_t *start = tm_calloc(ns + 1, sizeof *start);
    srec *rec = tm_malloc((n ? n : 1) * sizeof *rec);
    tms_buf c[4] = { { 0 } };
    int rc = TM_OK;
    if (!start || !rec)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        if (s->traces[i].stack >= ns) {
            rc = tm_error_set(err, TM_EINVAL, "trace %zu: stack %u out of range", i,
                              s->traces[i].stack);
            goto out;
        }
        start[s->traces[i].stack + 1]++;
    }
    for (size_t k = 0; k < ns; k++)
        start[k + 1] += start[k];
    for (size_t i = 0; i < n; i++) {
        const tm_trace *t = &s->traces[i];
        rec[start[t->stack]++] = (srec){ t->size, t->domain, tm_snapshot_trace_total_nframe(s, i) };
    }
    /* start[k] is now the end of group k. */
    if (tms_buf_reserve(&c[0], n + 16) || tms_buf_reserve(&c[1], n + 16) ||
        tms_buf_reserve(&c[2], 2 * n + 16) || tms_buf_reserve(&c[3], n + 16))
        goto oom;
    size_t prev_stack = 0, lo = 0;
    for (size_t k = 0; k < ns; k++) {
        size_t hi = start[k];
        if (hi - lo > 1)
            srec_sort(rec + lo, hi - lo, 64);
        int64_t depth = s->stacks[k].depth;
        for (size_t i = lo; i < hi; i++) {
            const srec *r = &rec[i];
            int same = i > lo && r->domain == rec[i - 1].domain;
            if (room(&c[0], TMS_VARINT_MAX_LEN) || room(&c[1], TMS_VARINT_MAX_LEN) ||
                room(&c[2], TMS_VARINT_MAX_LEN) || room(&c[3], TMS_VARINT_MAX_LEN))
                goto oom;
            tms_buf_varint(&c[0], k - prev_stack);
            tms_buf_varint(&c[1], r->domain);
            tms_buf_varint(&c[2], same ? r->size - rec[i - 1].size : r->size);
            tms_buf_varint(&c[3], tms_zigzag((int64_t)r->tnf - depth));
            prev_stack = k;
        }
        lo = hi;
    }
    if (put_columns(b, n, c, 4))
        goto oom;
    goto out;
oom:
    rc = nomem(err);
out:
    tm_free(start);
    tm_free(rec);
    free_cols(c, 4);
    return rc;
}

/* --- container ------------------------------------------------------- */

typedef struct section_out {
    uint16_t type;
    uint8_t codec;
    const uint8_t *stored;
    size_t stored_len;
    size_t raw_len;
    uint8_t *owned;
} section_out;

static int compress_section(section_out *so, const tms_buf *raw, ZSTD_CCtx *cctx, int level,
                            tm_error *err)
{
    so->codec = TMS_CODEC_RAW;
    so->stored = raw->data;
    so->stored_len = so->raw_len = raw->len;
    if (level < 0 || raw->len == 0)
        return TM_OK;
    size_t bound = ZSTD_compressBound(raw->len);
    uint8_t *z = tm_malloc(bound);
    if (!z)
        return nomem(err);
    size_t zl = ZSTD_compressCCtx(cctx, z, bound, raw->data, raw->len, level);
    if (ZSTD_isError(zl)) {
        tm_free(z);
        return tm_error_set(err, TM_EIO, "zstd compression failed: %s", ZSTD_getErrorName(zl));
    }
    if (zl >= raw->len) { /* incompressible: store raw */
        tm_free(z);
        return TM_OK;
    }
    so->codec = TMS_CODEC_ZSTD;
    so->stored = z;
    so->stored_len = zl;
    so->owned = z;
    return TM_OK;
}

static void put_section_header(uint8_t *h, const section_out *so)
{
    memset(h, 0, TMS_SECTION_HEADER_LEN);
    tms_put_le16(h + TMS_SH_TYPE, so->type);
    /* Every section is needed; for sampling (1.1) the flag is the point: a
     * 1.0 reader then refuses the file rather than take the sample for
     * every allocation. */
    h[TMS_SH_FLAGS] = TMS_FLAG_CRITICAL;
    h[TMS_SH_CODEC] = so->codec;
    tms_put_le64(h + TMS_SH_STORED_LEN, so->stored_len);
    tms_put_le64(h + TMS_SH_RAW_LEN, so->raw_len);
    tms_put_le64(h + TMS_SH_PAYLOAD_HASH, tms_payload_hash(so->stored, so->stored_len));
    tms_put_le32(h + TMS_SH_CHECKSUM,
                 tms_header_checksum(h, TMS_SECTION_HEADER_LEN, TMS_SH_CHECKSUM));
}

static int assemble(section_out *so, int nsec, unsigned minor, void **out, size_t *out_len,
                    tm_error *err)
{
    size_t total = TMS_FILE_HEADER_LEN;
    for (int i = 0; i < nsec; i++)
        total += TMS_SECTION_HEADER_LEN + so[i].stored_len;
    uint8_t *buf = tm_malloc(total);
    if (!buf)
        return nomem(err);
    memset(buf, 0, TMS_FILE_HEADER_LEN);
    memcpy(buf, TMS_MAGIC, TMS_MAGIC_LEN);
    tms_put_le16(buf + TMS_FH_MAJOR, TM_TMS_MAJOR);
    tms_put_le16(buf + TMS_FH_MINOR, (uint16_t)minor);
    tms_put_le32(buf + TMS_FH_NSECTIONS, (uint32_t)nsec);
    tms_put_le32(buf + TMS_FH_CHECKSUM,
                 tms_header_checksum(buf, TMS_FILE_HEADER_LEN, TMS_FH_CHECKSUM));
    size_t pos = TMS_FILE_HEADER_LEN;
    for (int i = 0; i < nsec; i++) {
        put_section_header(buf + pos, &so[i]);
        pos += TMS_SECTION_HEADER_LEN;
        if (so[i].stored_len)
            memcpy(buf + pos, so[i].stored, so[i].stored_len);
        pos += so[i].stored_len;
    }
    *out = buf;
    *out_len = total;
    return TM_OK;
}

int tm_tms_write_options_init(tm_tms_write_options *opts, unsigned version, tm_error *err)
{
    if (version != TM_TMS_WRITE_OPTIONS_VERSION)
        return tm_error_set(err, TM_EINVAL, "tm_tms_write_options version %u, expected %u", version,
                            TM_TMS_WRITE_OPTIONS_VERSION);
    const tm_tms_write_options d = TM_TMS_WRITE_OPTIONS_INIT;
    *opts = d;
    return TM_OK;
}

int tm_tms_encode(void **out, size_t *out_len, const tm_snapshot *s,
                  const tm_tms_write_options *opts, tm_error *err)
{
    *out = NULL;
    *out_len = 0;
    int level = DEFAULT_LEVEL;
    if (opts) {
        if (opts->version != TM_TMS_WRITE_OPTIONS_VERSION)
            return tm_error_set(err, TM_EINVAL, "tm_tms_write_options version %u, expected %u",
                                opts->version, TM_TMS_WRITE_OPTIONS_VERSION);
        if (opts->compression_level != 0)
            level = opts->compression_level < 0 ? -1 : opts->compression_level;
        if (level > ZSTD_maxCLevel())
            level = ZSTD_maxCLevel();
    }
    /* The file's section order; a reader accepts any. */
    static const uint16_t types[NSEC] = { TMS_SEC_STRINGS, TMS_SEC_METADATA, TMS_SEC_SAMPLING,
                                          TMS_SEC_MODULES, TMS_SEC_FRAMES,   TMS_SEC_STACKS,
                                          TMS_SEC_TRACES };
    tms_buf raw[NSEC] = { { 0 } };
    section_out so[NSEC] = { { 0 } };
    int sampled = s->meta.sample_rate != 0;
    size_t nf = s->nframes ? s->nframes : 1;
    uint32_t *order = tm_malloc(nf * sizeof *order);
    uint32_t *remap = tm_malloc(nf * sizeof *remap);
    ZSTD_CCtx *cctx = NULL;
    int rc, nsec = 0;
    if (!order || !remap) {
        rc = nomem(err);
        goto out;
    }
    if ((rc = order_frames(s, order, remap, err)))
        goto out;
    if ((rc = encode_strings(s, &raw[0], err)))
        goto out;
    if (sampled && (rc = encode_sampling(s, &raw[2], err)))
        goto out;
    if (encode_metadata(s, &raw[1]) || encode_modules(s, &raw[3]) ||
        encode_frames(s, order, remap, &raw[4])) {
        rc = nomem(err);
        goto out;
    }
    if ((rc = encode_stacks(s, remap, &raw[5], err)) || (rc = encode_traces(s, &raw[6], err)))
        goto out;
    if (level >= 0 && !(cctx = ZSTD_createCCtx())) {
        rc = nomem(err);
        goto out;
    }
    for (int i = 0; i < NSEC; i++) {
        if (types[i] == TMS_SEC_SAMPLING && !sampled)
            continue;
        so[nsec].type = types[i];
        if ((rc = compress_section(&so[nsec], &raw[i], cctx, level, err)))
            goto out;
        nsec++;
    }
    rc = assemble(so, nsec, sampled ? 1 : 0, out, out_len, err);
out:
    for (int i = 0; i < NSEC; i++) {
        tm_free(so[i].owned);
        tms_buf_free(&raw[i]);
    }
    ZSTD_freeCCtx(cctx);
    tm_free(order);
    tm_free(remap);
    return rc;
}

/* --- atomic file write ----------------------------------------------- */

/* The temporary file, rename, fsyncs, in-place writes to devices and FIFOs
 * and the removal of stale temporaries are tm/output.h's, shared with every
 * other file tmkit writes. */
int tm_tms_write(const tm_snapshot *s, const char *path, const tm_tms_write_options *opts,
                 tm_error *err)
{
    void *data;
    size_t len;
    int rc = tm_tms_encode(&data, &len, s, opts, err);
    if (rc)
        return tm_error_prefix(err, "%s", path);
    rc =
        tm_output_write_file(path, data, len, opts && opts->no_fsync ? TM_OUTPUT_NO_FSYNC : 0, err);
    tm_free(data);
    return rc;
}
