/*
 * .tms reader: container (tms_container.c) -> section payloads -> model.
 * Every count is bounded by the bytes that remain before anything is
 * allocated for it, every id is range-checked, and every error names the
 * file, the section and the byte.
 */
#include "tm/tms.h"

#include "tm/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
/* ZSTD_createDCtx_advanced: zstd's own memory goes through tm_malloc, so
 * that the budget counts its window too (libzstd exports it). */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "tm_snapshot_internal.h"
#include "tm_alloc.h"
#include "tms_internal.h"

typedef struct dec {
    tm_snapshot *s;
    const char *name;
    const tms_section *sec;
    const uint8_t *base; /* raw payload of the current section */
    tms_src *src;        /* how much of it is there yet */
    tm_error *err;
    uint32_t *fremap; /* file frame id -> model frame id */
    size_t nframes;
    uint32_t *sremap; /* file stack id -> model stack id */
    /* File stack id -> depth.  Derivable (the model's depth of sremap[k]),
     * but the trace loop then waits on two dependent loads: 4% slower. */
    uint32_t *sdepth;
    size_t nstacks; /* including node 0 */
} dec;

typedef struct col {
    const uint8_t *p, *end;
} col;

static int bad(dec *d, const uint8_t *at, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bad(dec *d, const uint8_t *at, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t rel = (size_t)(at - d->base);
    unsigned long long hdr = (unsigned long long)d->sec->offset;
    if (d->sec->codec == TMS_CODEC_RAW)
        return tm_error_set(d->err, code, "%s: section '%s' at byte %llu: byte %llu: %s", d->name,
                            tms_section_name(d->sec->type), hdr, hdr + TMS_SECTION_HEADER_LEN + rel,
                            msg);
    return tm_error_set(d->err, code, "%s: section '%s' at byte %llu: decompressed byte %zu: %s",
                        d->name, tms_section_name(d->sec->type), hdr, rel, msg);
}

/* Section payloads decompress while they are decoded (tms_src): before
 * reading bytes, a decoder makes sure they are there.  Lengths are checked
 * against the declared raw length first, so asking is always for bytes the
 * section claims to have. */
__attribute__((noinline)) static int more(dec *d, const uint8_t *upto)
{
    return tms_src_fill(d->src, (size_t)(upto - d->base), d->err);
}

static inline int need(dec *d, const uint8_t *p, uint64_t n)
{
    size_t off = (size_t)(p - d->base), avail = d->src->avail;
    if (off <= avail && avail - off >= n)
        return TM_OK;
    size_t left = d->src->raw_len - off; /* p never passes the declared end */
    return more(d, n > left ? d->base + d->src->raw_len : p + n);
}

/* A builder call failed (limit or out of memory): keep its message, add where. */
static int model_err(dec *d, const uint8_t *at, int rc)
{
    /* bad() formats into its own buffer before it overwrites *d->err. */
    return bad(d, at, rc, "%s", d->err ? d->err->message : "");
}

static inline int rd(dec *d, const uint8_t **p, const uint8_t *end, uint64_t *v, const char *what)
{
    int rc = need(d, *p, TMS_VARINT_MAX_LEN);
    if (rc)
        return rc;
    if (tms_get_varint(p, end, v) == 0)
        return TM_OK;
    *v = 0;
    return bad(d, *p, TM_EFORMAT, "truncated or malformed varint (%s)", what);
}

static int rd32(dec *d, const uint8_t **p, const uint8_t *end, uint32_t *v, const char *what)
{
    uint64_t x;
    const uint8_t *at = *p;
    int rc = rd(d, p, end, &x, what);
    if (rc)
        return rc;
    if (x > UINT32_MAX)
        return bad(d, at, TM_EFORMAT, "%s %llu does not fit in 32 bits", what,
                   (unsigned long long)x);
    *v = (uint32_t)x;
    return TM_OK;
}

static int rd_string_id(dec *d, const uint8_t **p, const uint8_t *end, uint32_t *v,
                        const char *what)
{
    const uint8_t *at = *p;
    uint64_t x;
    int rc = rd(d, p, end, &x, what);
    if (rc)
        return rc;
    if (x >= d->s->nstr)
        return bad(d, at, TM_EFORMAT, "%s: string id %llu out of range (%zu strings)", what,
                   (unsigned long long)x, d->s->nstr);
    *v = (uint32_t)x;
    return TM_OK;
}

/* Reads a columnar block header; `k` columns are needed, more are skipped.
 * Every row takes at least one byte in every column, which bounds n.  The
 * block is the whole section (`what` names its rows).
 *
 * The columns follow one another in one zstd frame, so a row's value in
 * column k - 1 is there only once columns 0..k-2 have decompressed: what can
 * be checked before that is checked here, from the header alone, so that a
 * header that does not add up fails before a byte of the columns is
 * decompressed: the lengths must fill the section exactly, and each needed
 * column (one varint per row) must hold between n and 10 n bytes.  A bad
 * value inside a column is found when the decoder reaches it (formats/
 * LIMITS.md gives the bound that leaves). */
static int read_columns(dec *d, const uint8_t **p, const uint8_t *end, col *cols, unsigned k,
                        uint64_t *n, const char *what)
{
    uint64_t ncols;
    int rc;
    if ((rc = rd(d, p, end, n, "row count")) || (rc = rd(d, p, end, &ncols, "column count")))
        return rc;
    if (ncols < k)
        return bad(d, *p, TM_EFORMAT, "%llu columns, at least %u expected",
                   (unsigned long long)ncols, k);
    for (uint64_t i = 0; i < ncols; i++) {
        uint64_t len;
        const uint8_t *at = *p;
        if ((rc = rd(d, p, end, &len, "column length")))
            return rc;
        if (len > (uint64_t)(end - *p))
            return bad(d, at, TM_EFORMAT,
                       "column %llu of %llu bytes runs past the end "
                       "of the section",
                       (unsigned long long)i, (unsigned long long)len);
        if (i < k) {
            if (*n > len)
                return bad(d, at, TM_EFORMAT,
                           "%llu rows cannot fit in a column of %llu "
                           "bytes",
                           (unsigned long long)*n, (unsigned long long)len);
            if (len / TMS_VARINT_MAX_LEN > *n ||
                (len / TMS_VARINT_MAX_LEN == *n && len % TMS_VARINT_MAX_LEN))
                return bad(d, at, TM_EFORMAT,
                           "column %llu of %llu bytes is longer than its %llu rows can be "
                           "(%u bytes each at most)",
                           (unsigned long long)i, (unsigned long long)len, (unsigned long long)*n,
                           TMS_VARINT_MAX_LEN);
            cols[i].p = *p;
            cols[i].end = *p + len;
        }
        *p += len;
    }
    if (*p != end)
        return bad(d, *p, TM_EFORMAT, "%zu unexpected bytes after the %s", (size_t)(end - *p),
                   what);
    /* Rows are read across the columns: all but the last needed one are in
     * before the first row (each at least its row count, which is therefore
     * proven by bytes present before anything is sized from it), the last
     * streams in as rows are decoded, so that a bad value early in it fails
     * before the rest of it decompresses. */
    size_t last = (size_t)(cols[k - 1].end - cols[k - 1].p);
    return need(d, cols[0].p,
                (uint64_t)(cols[k - 1].p - cols[0].p) +
                    (last < TMS_VARINT_MAX_LEN ? last : TMS_VARINT_MAX_LEN));
}

static int columns_done(dec *d, const col *cols, unsigned k)
{
    for (unsigned i = 0; i < k; i++)
        if (cols[i].p != cols[i].end)
            return bad(d, cols[i].p, TM_EFORMAT,
                       "%zu unexpected bytes at the end of "
                       "column %u",
                       (size_t)(cols[i].end - cols[i].p), i);
    return TM_OK;
}

/* --- sections -------------------------------------------------------- */

static int decode_strings(dec *d, const uint8_t *p, const uint8_t *end)
{
    uint64_t n;
    int rc = rd(d, &p, end, &n, "string count");
    if (rc)
        return rc;
    if (n > (uint64_t)(end - p))
        return bad(d, p, TM_EFORMAT, "%llu strings cannot fit in %zu bytes", (unsigned long long)n,
                   (size_t)(end - p));
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len;
        const uint8_t *at = p;
        if ((rc = rd(d, &p, end, &len, "string length")))
            return rc;
        if (len > (uint64_t)(end - p))
            return bad(d, at, TM_EFORMAT, "string %llu of %llu bytes runs past the end",
                       (unsigned long long)i + 1, (unsigned long long)len);
        if ((rc = need(d, p, len)))
            return rc;
        uint32_t id;
        if ((rc = tm_snapshot_intern_string(&id, d->s, (const char *)p, (size_t)len, d->err)))
            return model_err(d, at, rc);
        /* Analysis groups by string id, so a repeated string would split groups. */
        if (id != i + 1)
            return bad(d, at, TM_EFORMAT, "string %llu duplicates string %u",
                       (unsigned long long)i + 1, id);
        p += len;
    }
    if (p != end)
        return bad(d, p, TM_EFORMAT, "%zu unexpected bytes after the strings", (size_t)(end - p));
    return TM_OK;
}

static int meta_u64(dec *d, const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    int rc = rd(d, &p, end, v, "metadata value");
    if (!rc && p != end)
        rc = bad(d, p, TM_EFORMAT, "metadata value has trailing bytes");
    return rc;
}

static int meta_argv(dec *d, const uint8_t *p, const uint8_t *end)
{
    uint64_t n;
    int rc = rd(d, &p, end, &n, "argc");
    if (rc)
        return rc;
    if (n > (uint64_t)(end - p))
        return bad(d, p, TM_EFORMAT, "argc %llu cannot fit in %zu bytes", (unsigned long long)n,
                   (size_t)(end - p));
    uint32_t *ids = tm_malloc((n ? (size_t)n : 1) * sizeof *ids);
    if (!ids)
        return bad(d, p, TM_ENOMEM, "out of memory");
    for (uint64_t i = 0; i < n && !rc; i++)
        rc = rd_string_id(d, &p, end, &ids[i], "argv");
    if (!rc && p != end)
        rc = bad(d, p, TM_EFORMAT, "argv has trailing bytes");
    if (!rc && (rc = tm_snapshot_set_argv_ids(d->s, ids, (size_t)n, d->err)))
        rc = model_err(d, p, rc);
    tm_free(ids);
    return rc;
}

static int decode_metadata(dec *d, const uint8_t *p, const uint8_t *end)
{
    tm_metadata m = *tm_snapshot_metadata(d->s);
    uint32_t seen = 0;
    int rc;
    while (p < end) {
        uint64_t tag, len;
        const uint8_t *at = p;
        if ((rc = rd(d, &p, end, &tag, "metadata tag")) ||
            (rc = rd(d, &p, end, &len, "metadata length")))
            return rc;
        if (len > (uint64_t)(end - p))
            return bad(d, at, TM_EFORMAT,
                       "metadata field %llu of %llu bytes runs past "
                       "the end",
                       (unsigned long long)tag, (unsigned long long)len);
        const uint8_t *v = p, *vend = p + len;
        p = vend;
        if (tag == 0 || tag > TMS_META_ARGV)
            continue; /* a field from a later minor version */
        if ((rc = need(d, v, len)))
            return rc;
        if (seen & (1u << tag))
            return bad(d, at, TM_EFORMAT, "metadata field %llu appears twice",
                       (unsigned long long)tag);
        seen |= 1u << tag;
        if (tag == TMS_META_ARGV) {
            if ((rc = meta_argv(d, v, vend)))
                return rc;
            continue;
        }
        uint64_t x;
        if ((rc = meta_u64(d, v, vend, &x)))
            return rc;
        int is_string = tag <= TMS_META_TOOL_VERSION;
        int is_signed = tag >= TMS_META_PID && tag <= TMS_META_SNAPSHOT_TIME_NS;
        int is_u32 = is_string || tag == TMS_META_NFRAME_LIMIT || tag == TMS_META_SEQUENCE;
        if (is_u32 && x > UINT32_MAX)
            return bad(d, v, TM_EFORMAT,
                       "metadata field %llu: %llu does not fit in 32 "
                       "bits",
                       (unsigned long long)tag, (unsigned long long)x);
        if (is_string && x >= d->s->nstr)
            return bad(d, v, TM_EFORMAT,
                       "metadata field %llu: string id %llu out of "
                       "range (%zu strings)",
                       (unsigned long long)tag, (unsigned long long)x, d->s->nstr);
        int64_t sx = is_signed ? tms_unzigzag(x) : 0;
        switch (tag) {
        case TMS_META_PROGRAM: m.program = (uint32_t)x; break;
        case TMS_META_HOST: m.host = (uint32_t)x; break;
        case TMS_META_TRIGGER: m.trigger = (uint32_t)x; break;
        case TMS_META_TOOL_VERSION: m.tool_version = (uint32_t)x; break;
        case TMS_META_PID: m.pid = sx; break;
        case TMS_META_START_TIME_NS: m.start_time_ns = sx; break;
        case TMS_META_SNAPSHOT_TIME_NS: m.snapshot_time_ns = sx; break;
        case TMS_META_NFRAME_LIMIT: m.nframe_limit = (uint32_t)x; break;
        case TMS_META_SEQUENCE: m.sequence = (uint32_t)x; break;
        case TMS_META_TRACED_CURRENT: m.traced_current = x; break;
        case TMS_META_TRACED_PEAK: m.traced_peak = x; break;
        }
    }
    if ((rc = tm_snapshot_set_metadata(d->s, &m, d->err)))
        return bad(d, end, TM_EFORMAT, "%s", d->err ? d->err->message : "bad metadata");
    return TM_OK;
}

/* Type 7 (1.1): the traces are a Poisson sample by bytes.  The rate goes
 * into the metadata decoded before it; the weights follow from each
 * trace's size (tm/sample.h), so nothing per trace is stored. */
static int decode_sampling(dec *d, const uint8_t *p, const uint8_t *end)
{
    if (!d->sec->critical)
        return bad(d, p, TM_EFORMAT,
                   "the sampling section is not flagged critical (a 1.0 reader would "
                   "take the sample for every allocation)");
    uint64_t rate, estimator;
    const uint8_t *at = p;
    int rc;
    if ((rc = rd(d, &p, end, &rate, "sampling rate")))
        return rc;
    if (rate == 0)
        return bad(d, at, TM_EFORMAT,
                   "sampling rate 0 (an exact snapshot has no sampling "
                   "section)");
    if (rate > TMS_MAX_SAMPLE_RATE)
        return bad(d, at, TM_ELIMIT, "sampling rate %llu bytes exceeds the limit of %llu",
                   (unsigned long long)rate, (unsigned long long)TMS_MAX_SAMPLE_RATE);
    at = p;
    if ((rc = rd(d, &p, end, &estimator, "estimator")))
        return rc;
    if (estimator != TMS_ESTIMATOR_POISSON_BYTES)
        return bad(d, at, TM_EVERSION,
                   "unknown estimator %llu; the file needs a newer reader than this one "
                   "(version %u.%u)",
                   (unsigned long long)estimator, TM_TMS_MAJOR, TM_TMS_MINOR);
    if (p != end)
        return bad(d, p, TM_EFORMAT, "%zu unexpected bytes after the estimator", (size_t)(end - p));
    tm_metadata m = *tm_snapshot_metadata(d->s);
    m.sample_rate = rate;
    if ((rc = tm_snapshot_set_metadata(d->s, &m, d->err)))
        return model_err(d, at, rc);
    return TM_OK;
}

static int decode_modules(dec *d, const uint8_t *p, const uint8_t *end)
{
    uint64_t n;
    int rc = rd(d, &p, end, &n, "module count");
    if (rc)
        return rc;
    /* A module takes at least 5 bytes (five one-byte varints). */
    if (n > (uint64_t)(end - p) / 5)
        return bad(d, p, TM_EFORMAT, "%llu modules cannot fit in %zu bytes", (unsigned long long)n,
                   (size_t)(end - p));
    for (uint64_t i = 0; i < n; i++) {
        tm_module m;
        memset(&m, 0, sizeof m);
        const uint8_t *at = p;
        if ((rc = rd_string_id(d, &p, end, &m.path, "module path")) ||
            (rc = rd32(d, &p, end, &m.build_id_len, "build-id length")))
            return rc;
        if (m.build_id_len > TM_BUILD_ID_MAX || m.build_id_len > (size_t)(end - p))
            return bad(d, at, TM_EFORMAT, "module %llu: build-id of %u bytes is too long",
                       (unsigned long long)i, m.build_id_len);
        if ((rc = need(d, p, m.build_id_len)))
            return rc;
        memcpy(m.build_id, p, m.build_id_len);
        p += m.build_id_len;
        if ((rc = rd(d, &p, end, &m.load_bias, "load bias")) ||
            (rc = rd(d, &p, end, &m.start, "module start")) ||
            (rc = rd(d, &p, end, &m.end, "module end")))
            return rc;
        uint32_t id;
        if ((rc = tm_snapshot_add_module(&id, d->s, &m, d->err)))
            return model_err(d, at, rc);
    }
    if (p != end)
        return bad(d, p, TM_EFORMAT, "%zu unexpected bytes after the modules", (size_t)(end - p));
    return TM_OK;
}

static int decode_frames(dec *d, const uint8_t *p, const uint8_t *end)
{
    col c[6];
    uint64_t n;
    int rc = read_columns(d, &p, end, c, 6, &n, "frames");
    if (rc)
        return rc;
    if (n > TM_MAX_FRAMES)
        return bad(d, p, TM_ELIMIT, "%llu frames exceed the limit of %u", (unsigned long long)n,
                   TM_MAX_FRAMES);
    d->fremap = tm_malloc((n ? (size_t)n : 1) * sizeof *d->fremap);
    uint16_t *idepth = tm_malloc((n ? (size_t)n : 1) * sizeof *idepth);
    if (!d->fremap || !idepth) {
        tm_free(idepth);
        return bad(d, p, TM_ENOMEM, "out of memory");
    }
    uint64_t off = 0;
    for (uint64_t i = 0; i < n; i++) {
        tm_frame f;
        memset(&f, 0, sizeof f);
        uint64_t mod, doff, inl;
        const uint8_t *at = c[0].p;
        if ((rc = rd(d, &c[0].p, c[0].end, &mod, "frame module")) ||
            (rc = rd(d, &c[1].p, c[1].end, &doff, "frame offset")) ||
            (rc = rd_string_id(d, &c[2].p, c[2].end, &f.function, "frame function")) ||
            (rc = rd_string_id(d, &c[3].p, c[3].end, &f.file, "frame file")) ||
            (rc = rd32(d, &c[4].p, c[4].end, &f.line, "frame line")))
            goto out;
        const uint8_t *iat = c[5].p;
        if ((rc = rd(d, &c[5].p, c[5].end, &inl, "frame inlined_by")))
            goto out;
        if (mod > d->s->nmodules) {
            rc = bad(d, at, TM_EFORMAT,
                     "frame %llu: module %llu out of range (%zu "
                     "modules)",
                     (unsigned long long)i, (unsigned long long)mod - 1, d->s->nmodules);
            goto out;
        }
        /* inlined_by is a backward distance, so chains cannot loop. */
        if (inl > i) {
            rc = bad(d, iat, TM_EFORMAT,
                     "frame %llu: inlined_by distance %llu points "
                     "before frame 0",
                     (unsigned long long)i, (unsigned long long)inl);
            goto out;
        }
        idepth[i] = inl ? idepth[i - inl] + 1 : 1;
        if (idepth[i] > TMS_MAX_INLINE_DEPTH) {
            rc = bad(d, iat, TM_ELIMIT, "frame %llu: inline chain longer than %u frames",
                     (unsigned long long)i, TMS_MAX_INLINE_DEPTH);
            goto out;
        }
        off += (uint64_t)tms_unzigzag(doff);
        f.module = mod ? (uint32_t)(mod - 1) : TM_NONE;
        f.offset = off;
        f.inlined_by = inl ? d->fremap[i - inl] : TM_NONE;
        if ((rc = tm_snapshot_intern_frame(&d->fremap[i], d->s, &f, d->err))) {
            rc = model_err(d, at, rc);
            goto out;
        }
    }
    d->nframes = (size_t)n;
    rc = columns_done(d, c, 6);
out:
    tm_free(idepth);
    return rc;
}

static int decode_stacks(dec *d, const uint8_t *p, const uint8_t *end)
{
    col c[2];
    uint64_t n;
    int rc = read_columns(d, &p, end, c, 2, &n, "stacks");
    if (rc)
        return rc;
    if (n >= TM_MAX_STACKS)
        return bad(d, p, TM_ELIMIT, "%llu stack nodes exceed the limit of %u",
                   (unsigned long long)n, TM_MAX_STACKS);
    /* A file whose frames were all distinct (the writer's output) holds
     * distinct stack nodes too: append them without hashing each, and let
     * the model index them if anyone interns later.  Otherwise frames were
     * merged and nodes through them must be merged as well. */
    int append = d->s->nstacks == 1;
    for (size_t i = 0; append && i < d->nframes; i++)
        append = d->fremap[i] == i;
    if (append) {
        if (tm_grow((void **)&d->s->stacks, &d->s->stack_cap, (size_t)n + 1, sizeof *d->s->stacks))
            return bad(d, p, TM_ENOMEM, "out of memory");
    } else if ((rc = tm_snapshot_reserve_stacks(d->s, d->s->nstacks + (size_t)n, d->err))) {
        return model_err(d, p, rc);
    }
    d->sremap = tm_malloc(((size_t)n + 1) * sizeof *d->sremap);
    d->sdepth = tm_malloc(((size_t)n + 1) * sizeof *d->sdepth);
    if (!d->sremap || !d->sdepth)
        return bad(d, p, TM_ENOMEM, "out of memory");
    d->sremap[0] = 0;
    d->sdepth[0] = 0;
    for (uint64_t k = 1; k <= n; k++) {
        uint64_t f, delta;
        const uint8_t *at = c[0].p, *dat = c[1].p;
        if ((rc = rd(d, &c[0].p, c[0].end, &f, "stack frame")) ||
            (rc = rd(d, &c[1].p, c[1].end, &delta, "stack parent")))
            return rc;
        if (f >= d->nframes)
            return bad(d, at, TM_EFORMAT,
                       "stack %llu: frame %llu out of range (%zu "
                       "frames)",
                       (unsigned long long)k, (unsigned long long)f, d->nframes);
        /* The parent is stored as a backward distance: parent < id, no cycles. */
        if (delta == 0 || delta > k)
            return bad(d, dat, TM_EFORMAT, "stack %llu: parent distance %llu out of range",
                       (unsigned long long)k, (unsigned long long)delta);
        uint64_t parent = k - delta;
        d->sdepth[k] = d->sdepth[parent] + 1;
        if (d->sdepth[k] > TM_MAX_DEPTH)
            return bad(d, at, TM_ELIMIT, "stack %llu is deeper than %u frames",
                       (unsigned long long)k, TM_MAX_DEPTH);
        if (append)
            d->sremap[k] = tm_snapshot_append_stack_node(d->s, (uint32_t)parent, (uint32_t)f);
        else if ((rc = tm_snapshot_intern_stack_node(&d->sremap[k], d->s, d->sremap[parent],
                                                     d->fremap[f], d->err)))
            return model_err(d, at, rc);
    }
    d->nstacks = (size_t)n + 1;
    rc = columns_done(d, c, 2);
    return rc;
}

/* Makes sure the next rows' bytes of a streaming column (one varint per
 * row) are in; *stop gets the first row that may not be. */
__attribute__((noinline)) static int next_run(dec *d, const col *c, uint64_t i, uint64_t n,
                                              uint64_t *stop)
{
    size_t off = (size_t)(c->p - d->base), end = (size_t)(c->end - d->base);
    int rc;
    if (d->src->avail - off < TMS_VARINT_MAX_LEN && off < end &&
        (rc = need(d, c->p, TMS_VARINT_MAX_LEN)))
        return rc;
    *stop = n;
    if (d->src->avail < end) {
        size_t run = (d->src->avail - off) / TMS_VARINT_MAX_LEN;
        *stop = run < n - i ? i + run : n;
    }
    return TM_OK;
}

/* The hot loop: a million traces.  Decodes straight into the model's trace
 * array (model/snapshot_internal.h) after one reserve. */
static int decode_traces(dec *d, const uint8_t *p, const uint8_t *end)
{
    col c[4];
    uint64_t n;
    int rc = read_columns(d, &p, end, c, 4, &n, "traces");
    if (rc)
        return rc;
    if (n > TM_MAX_TRACES)
        return bad(d, p, TM_ELIMIT, "%llu traces exceed the limit of %u", (unsigned long long)n,
                   TM_MAX_TRACES);
    tm_snapshot *s = d->s;
    if ((rc = tm_snapshot_reserve_traces(s, s->ntraces + (size_t)n, d->err)))
        return model_err(d, p, rc);
    uint64_t stack = 0, size = 0;
    uint32_t domain = 0;
    /* Columns 0..2 are in (read_columns), column 3 streams: rows are decoded
     * in runs whose column-3 bytes are surely in (at most 10 a row), so that
     * only a run's first row checks (checking every row cost 5-10% of the
     * loop, measured). */
    uint64_t stop = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (__builtin_expect(i == stop, 0) && (rc = next_run(d, &c[3], i, n, &stop)))
            return rc;
        uint64_t ds, dom, sz, tz;
        const uint8_t *at = c[0].p, *zat = c[2].p;
        if (tms_get_varint(&c[0].p, c[0].end, &ds) || tms_get_varint(&c[1].p, c[1].end, &dom) ||
            tms_get_varint(&c[2].p, c[2].end, &sz) || tms_get_varint(&c[3].p, c[3].end, &tz))
            return bad(d, at, TM_EFORMAT, "trace %llu: truncated or malformed varint",
                       (unsigned long long)i);
        if (ds >= d->nstacks - stack)
            return bad(d, at, TM_EFORMAT,
                       "trace %llu: stack %llu+%llu out of range (%zu "
                       "stacks)",
                       (unsigned long long)i, (unsigned long long)stack, (unsigned long long)ds,
                       d->nstacks);
        if (dom > UINT32_MAX)
            return bad(d, c[1].p, TM_EFORMAT, "trace %llu: domain does not fit in 32 bits",
                       (unsigned long long)i);
        /* Within one (stack, domain) run sizes are deltas from the previous. */
        if (i > 0 && ds == 0 && dom == domain) {
            if (sz > UINT64_MAX - size)
                return bad(d, zat, TM_EFORMAT, "trace %llu: size overflows 64 bits",
                           (unsigned long long)i);
            size += sz;
        } else {
            size = sz;
        }
        stack += ds;
        domain = (uint32_t)dom;
        int64_t tnf = (int64_t)d->sdepth[stack] + tms_unzigzag(tz);
        if (tnf < 0 || tnf > (int64_t)UINT32_MAX)
            return bad(d, c[3].p, TM_EFORMAT, "trace %llu: total_nframe %lld out of range",
                       (unsigned long long)i, (long long)tnf);
        tm_trace *t = &s->traces[s->ntraces];
        t->size = size;
        t->stack = d->sremap[stack];
        t->domain = domain;
        /* The side column exists only once some trace was truncated; once
             * it does, every trace fills it: in place while it has room (a call
             * per trace was a fifth of the loop, measured). */
        if (s->tnf && s->ntraces < s->tnf_cap)
            s->tnf[s->ntraces] = (uint32_t)tnf;
        else if ((tz != 0 || s->tnf) &&
                 (rc = tm_snapshot_note_total_nframe(s, s->ntraces, (uint32_t)tnf, d->err)))
            return model_err(d, at, rc);
        s->ntraces++;
    }
    rc = columns_done(d, c, 4);
    return rc;
}

/* --- entry points ---------------------------------------------------- */

static void *zstd_alloc(void *opaque, size_t n)
{
    (void)opaque;
    return tm_malloc(n);
}

static void zstd_free(void *opaque, void *p)
{
    (void)opaque;
    tm_free(p);
}

typedef int (*section_decoder)(dec *, const uint8_t *, const uint8_t *);

int tm_tms_decode(tm_snapshot **out, const void *data, size_t len, const char *name, tm_error *err)
{
    *out = NULL;
    if (!name)
        name = "<memory>";
    tms_container c;
    int rc = tms_container_parse(&c, data, len, name, err);
    if (rc)
        return rc;
    /* Dependency order: ids must exist before they are referenced. */
    static const uint32_t order[] = { TMS_SEC_STRINGS, TMS_SEC_METADATA, TMS_SEC_SAMPLING,
                                      TMS_SEC_MODULES, TMS_SEC_FRAMES,   TMS_SEC_STACKS,
                                      TMS_SEC_TRACES };
    static const section_decoder fns[] = { decode_strings, decode_metadata, decode_sampling,
                                           decode_modules, decode_frames,   decode_stacks,
                                           decode_traces };
    dec d;
    memset(&d, 0, sizeof d);
    d.name = name;
    d.err = err;
    d.nstacks = 1;
    uint32_t root = 0, zero = 0;
    d.sremap = &root; /* a file without a stacks section still has stack 0 */
    d.sdepth = &zero;
    ZSTD_DCtx *dctx = NULL;
    if ((rc = tm_snapshot_new(&d.s, err))) {
        tm_error_prefix(err, "%s", name);
        goto done;
    }
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        const tms_section *sec = NULL;
        for (uint32_t i = 0; i < c.nsections; i++)
            if (c.sections[i].type == order[k])
                sec = &c.sections[i];
        if (!sec)
            continue;
        if (sec->codec == TMS_CODEC_ZSTD && !dctx) {
            ZSTD_customMem mem = { zstd_alloc, zstd_free, NULL };
            if (!(dctx = ZSTD_createDCtx_advanced(mem))) {
                rc = tm_error_set(err, TM_ENOMEM, "%s: out of memory", name);
                goto done;
            }
            /* zstd's default bound on its window (128 MiB), said out loud:
             * every writer's level stays in it. */
            (void)ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, TMS_ZSTD_WINDOW_LOG_MAX);
        }
        tms_src src;
        if ((rc = tms_src_open(&src, data, sec, dctx, name, err)))
            goto done;
        d.sec = sec;
        d.base = src.base;
        d.src = &src;
        if (order[k] == TMS_SEC_STACKS) {
            d.sremap = NULL;
            d.sdepth = NULL;
        }
        rc = fns[k](&d, src.base, src.base + src.raw_len);
        if (!rc)
            rc = tms_src_finish(&src, err);
        tms_src_close(&src);
        d.src = NULL;
        if (rc)
            goto done;
    }
done:
    if (d.sremap != &root) {
        tm_free(d.sremap);
        tm_free(d.sdepth);
    }
    tm_free(d.fremap);
    ZSTD_freeDCtx(dctx);
    tms_container_free(&c);
    if (rc) {
        tm_snapshot_free(d.s);
        return rc;
    }
    *out = d.s;
    return TM_OK;
}

int tm_tms_read(tm_snapshot **out, const char *path, tm_error *err)
{
    *out = NULL;
    void *buf;
    size_t len;
    int rc = tm_file_read(&buf, &len, path, err);
    if (rc == TM_OK)
        rc = tm_tms_decode(out, buf, len, path, err);
    tm_free(buf);
    return rc;
}
