/*
 * Writes a snapshot as the pickle tracemalloc.Snapshot.dump() would:
 * protocol 4 (readable by Python 3.4+), 64 KiB FRAMEs, a Snapshot whose
 * state is {'traces': _Traces({'_traces': [...]}), 'traceback_limit': N}
 * and 4-tuple traces (domain, size, frames, total_nframe).
 *
 * Memo sharing keeps the file as small as Python's: each filename string,
 * each (filename, lineno) pair and each whole traceback tuple is written
 * once and referenced with BINGET afterwards.
 *
 * The encoder runs twice over the same code: a counting pass that only
 * measures, then a writing pass into one exactly-sized malloc() buffer, so
 * the caller gets plain malloc'ed memory and nothing is ever reallocated.
 */
#include "tm/pyformat.h"

#include <stdlib.h>
#include <string.h>

#include "tm_hash.h"

#include "pyformat_internal.h"
#include "tm_utf8.h"
#include "tm_alloc.h"

#define NO_MEMO UINT32_MAX

typedef struct penc {
    const tm_snapshot *snap;
    uint8_t *buf; /* NULL in the counting pass */
    size_t pos;
    size_t frame_hdr; /* offset of the open FRAME opcode */
    uint32_t memo_next;

    uint32_t *str_memo;   /* per string id; slot nstr is "<unknown>" */
    uint32_t *stack_memo; /* per stack node */
    uint32_t *stack_len;  /* its expanded frame count, once memoized */
    uint64_t *pair_key;   /* file string id << 32 | line, per distinct pair */
    uint32_t *pair_memo;
    size_t npairs; /* room for one per frame: no pair has two */
    tm_hindex pair_index;
    uint32_t *expand; /* frame ids of one expanded traceback */
    size_t expand_cap;
} penc;

static int encode_pass(penc *e, tm_error *err);

int tm_pyformat_encode(void **out, size_t *out_len, const tm_snapshot *snap, tm_error *err)
{
    /* A tracemalloc dump has no place for a rate: Python would read the
     * sample as every allocation, and its traces cannot carry fractional
     * weights either.  Refused rather than guessed (doc/sampling.md). */
    uint64_t rate = tm_snapshot_metadata(snap)->sample_rate;
    if (rate)
        return tm_error_set(err, TM_EINVAL,
                            "a sampled snapshot (one kept block per %llu bytes on average) "
                            "cannot be written as a Python tracemalloc dump: tracemalloc would "
                            "take the sample for every allocation; tmstat and tmexport print "
                            "its estimates",
                            (unsigned long long)rate);
    penc e;
    memset(&e, 0, sizeof e);
    e.snap = snap;
    int rc = encode_pass(&e, err);
    if (rc == TM_OK) {
        size_t len = e.pos;
        uint8_t *buf = tm_malloc(len);
        if (!buf) {
            rc = tm_error_set(err, TM_ENOMEM, "out of memory for a %zu-byte pickle", len);
        } else {
            e.buf = buf;
            rc = encode_pass(&e, err);
            if (rc == TM_OK && e.pos != len)
                rc = tm_error_set(err, TM_EINVAL,
                                  "pickle writer: passes disagree (%zu vs %zu bytes)", len, e.pos);
            if (rc == TM_OK) {
                *out = buf;
                *out_len = len;
            } else {
                tm_free(buf);
            }
        }
    }
    tm_free(e.str_memo);
    tm_free(e.stack_memo);
    tm_free(e.stack_len);
    tm_free(e.pair_key);
    tm_free(e.pair_memo);
    tm_hindex_free(&e.pair_index);
    tm_free(e.expand);
    return rc;
}

/* --- output primitives ----------------------------------------------- */

static void put(penc *e, const void *p, size_t n)
{
    if (e->buf)
        memcpy(e->buf + e->pos, p, n);
    e->pos += n;
}

static void put_byte(penc *e, uint8_t b)
{
    if (e->buf)
        e->buf[e->pos] = b;
    e->pos++;
}

static void put_le(penc *e, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_byte(e, (uint8_t)(v >> (8 * i)));
}

static void frame_open(penc *e)
{
    e->frame_hdr = e->pos;
    put_byte(e, PK_FRAME);
    put_le(e, 0, 8);
}

static void frame_close(penc *e)
{
    if (e->buf) {
        uint64_t n = e->pos - e->frame_hdr - 9;
        for (size_t i = 0; i < 8; i++)
            e->buf[e->frame_hdr + 1 + i] = (uint8_t)(n >> (8 * i));
    }
}

/* Called between opcodes: frames never split an opcode. */
static void frame_maybe_cut(penc *e)
{
    if (e->pos - e->frame_hdr - 9 >= TM_PICKLE_FRAME_TARGET) {
        frame_close(e);
        frame_open(e);
    }
}

static void put_int(penc *e, uint64_t v)
{
    if (v < 0x100) {
        put_byte(e, PK_BININT1);
        put_le(e, v, 1);
    } else if (v < 0x10000) {
        put_byte(e, PK_BININT2);
        put_le(e, v, 2);
    } else if (v < 0x80000000u) {
        put_byte(e, PK_BININT);
        put_le(e, v, 4);
    } else {
        /* LONG1: minimal little-endian two's complement, so a set top bit
         * needs one more zero byte. */
        size_t n = 0;
        while (n < 8 && (v >> (8 * n)) != 0)
            n++;
        int pad = (v >> (8 * n - 1)) & 1;
        put_byte(e, PK_LONG1);
        put_byte(e, (uint8_t)(n + (size_t)pad));
        put_le(e, v, n);
        if (pad)
            put_byte(e, 0);
    }
}

static void memo_ref(penc *e, uint32_t idx)
{
    if (idx < 0x100) {
        put_byte(e, PK_BINGET);
        put_byte(e, (uint8_t)idx);
    } else {
        put_byte(e, PK_LONG_BINGET);
        put_le(e, idx, 4);
    }
}

static int memoize(penc *e, uint32_t *slot, tm_error *err)
{
    if (e->memo_next == NO_MEMO)
        return tm_error_set(err, TM_ELIMIT, "more than %u memo entries", NO_MEMO);
    put_byte(e, PK_MEMOIZE);
    *slot = e->memo_next++;
    return TM_OK;
}

/* Python pickles str as UTF-8 with 'surrogatepass'; bytes that are not
 * UTF-8 (native paths) become U+DC80+byte, exactly what os.fsdecode()
 * would have produced, so Python sees the same filename it would. */
/* s as a Python str: valid UTF-8 as it is (surrogates too), every other
 * byte b as the surrogate U+DC00+b (Python's surrogateescape), 3 bytes. */
static void put_str(penc *e, const char *s, size_t n)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t out = 0;
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        size_t len = tm_utf8_seq(u + i, n - i, &cp);
        out += len ? len : 3;
        i += len ? len : 1;
    }
    if (out < 0x100) {
        put_byte(e, PK_SHORT_BINUNICODE);
        put_byte(e, (uint8_t)out);
    } else if (out <= UINT32_MAX) {
        put_byte(e, PK_BINUNICODE);
        put_le(e, out, 4);
    } else {
        put_byte(e, PK_BINUNICODE8);
        put_le(e, out, 8);
    }
    if (out == n) { /* nothing to escape */
        put(e, s, n);
        return;
    }
    for (size_t i = 0; i < n;) {
        size_t len = tm_utf8_seq(u + i, n - i, &cp);
        if (len) {
            put(e, u + i, len);
            i += len;
        } else {
            uint32_t esc = 0xdc00u + u[i++];
            put_byte(e, (uint8_t)(0xe0 | (esc >> 12)));
            put_byte(e, (uint8_t)(0x80 | ((esc >> 6) & 0x3f)));
            put_byte(e, (uint8_t)(0x80 | (esc & 0x3f)));
        }
    }
}

static int put_memo_str(penc *e, const char *s, uint32_t *memo, tm_error *err)
{
    put_str(e, s, strlen(s));
    return memoize(e, memo, err);
}

/* --- tracebacks ------------------------------------------------------ */

/* Expands a stack into the frames Python would list, most recent first:
 * each logical frame followed by its inline callers. */
static int stack_expand(penc *e, uint32_t stack, size_t *n, tm_error *err)
{
    tm_stack_walk w;
    uint32_t f;
    size_t k = 0;
    int rc;
    tm_stack_walk_init(&w, e->snap, stack);
    while ((rc = tm_stack_walk_next(&f, NULL, &w, err)) == TM_OK && f != TM_NONE) {
        if (tm_grow((void **)&e->expand, &e->expand_cap, k + 1, sizeof *e->expand))
            return tm_error_set(err, TM_ENOMEM, "out of memory writing a traceback");
        e->expand[k++] = f;
    }
    *n = k;
    return rc;
}

static int frame_put(penc *e, uint32_t fid, tm_error *err)
{
    const tm_frame *f = &tm_snapshot_frames(e->snap)[fid];
    size_t nstr = tm_snapshot_string_count(e->snap);
    /* Unsymbolized native frames are Python's "<unknown>", line 0. */
    uint32_t file = f->file ? f->file : (uint32_t)nstr;
    uint32_t line = f->file ? f->line : 0;
    uint64_t key = ((uint64_t)file << 32) | line;
    uint64_t h = tm_hash_u64(key);
    size_t pos;
    for (uint32_t id = tm_hindex_first(&e->pair_index, h, &pos); id != TM_HINDEX_NONE;
         id = tm_hindex_next(&e->pair_index, h, &pos)) {
        if (e->pair_key[id] == key) {
            memo_ref(e, e->pair_memo[id]);
            return TM_OK;
        }
    }
    if (e->str_memo[file] != NO_MEMO) {
        memo_ref(e, e->str_memo[file]);
    } else {
        size_t len;
        const char *s = file == nstr ? "<unknown>" : tm_snapshot_string(e->snap, file, &len);
        put_str(e, s, file == nstr ? 9 : len);
        int rc = memoize(e, &e->str_memo[file], err);
        if (rc)
            return rc;
    }
    put_int(e, line);
    put_byte(e, PK_TUPLE2);
    uint32_t id = (uint32_t)e->npairs;
    if (tm_hindex_add(&e->pair_index, pos, h, id))
        return tm_error_set(err, TM_ENOMEM, "out of memory writing a traceback");
    e->npairs++;
    e->pair_key[id] = key;
    return memoize(e, &e->pair_memo[id], err);
}

static int traceback_put(penc *e, uint32_t stack, size_t *nout, tm_error *err)
{
    if (e->stack_memo[stack] != NO_MEMO) {
        *nout = e->stack_len[stack];
        memo_ref(e, e->stack_memo[stack]);
        return TM_OK;
    }
    size_t n = 0;
    int rc = stack_expand(e, stack, &n, err);
    if (rc)
        return rc;
    if (n > UINT32_MAX)
        return tm_error_set(err, TM_ELIMIT, "traceback of %zu frames", n);
    *nout = n;
    e->stack_len[stack] = (uint32_t)n;
    if (n == 0 || n > 3)
        put_byte(e, n == 0 ? PK_EMPTY_TUPLE : PK_MARK);
    for (size_t i = 0; i < n; i++)
        if ((rc = frame_put(e, e->expand[i], err)))
            return rc;
    if (n > 3)
        put_byte(e, PK_TUPLE);
    else if (n > 0)
        put_byte(e, (uint8_t)(PK_TUPLE1 + n - 1));
    return memoize(e, &e->stack_memo[stack], err);
}

/* --- the whole pickle ------------------------------------------------ */

static int tables_reset(penc *e, tm_error *err)
{
    size_t nstr = tm_snapshot_string_count(e->snap);
    size_t nstacks = tm_snapshot_stack_count(e->snap);
    size_t nframes = tm_snapshot_frame_count(e->snap);
    if (!e->str_memo) {
        e->str_memo = tm_malloc((nstr + 1) * sizeof *e->str_memo);
        e->stack_memo = tm_malloc(nstacks * sizeof *e->stack_memo);
        e->stack_len = tm_malloc(nstacks * sizeof *e->stack_len);
        e->pair_key = tm_malloc((nframes + 1) * sizeof *e->pair_key);
        e->pair_memo = tm_malloc((nframes + 1) * sizeof *e->pair_memo);
        if (!e->str_memo || !e->stack_memo || !e->stack_len || !e->pair_key || !e->pair_memo ||
            tm_hindex_reserve(&e->pair_index, nframes + 1))
            return tm_error_set(err, TM_ENOMEM, "out of memory writing a pickle");
    }
    memset(e->str_memo, 0xff, (nstr + 1) * sizeof *e->str_memo);
    memset(e->stack_memo, 0xff, nstacks * sizeof *e->stack_memo);
    tm_hindex_clear(&e->pair_index);
    e->npairs = 0;
    e->pos = 0;
    e->memo_next = 0;
    return TM_OK;
}

static int encode_pass(penc *e, tm_error *err)
{
    int rc = tables_reset(e, err);
    if (rc)
        return rc;
    const tm_snapshot *s = e->snap;
    uint32_t limit = tm_snapshot_metadata(s)->nframe_limit;
    uint32_t m_mod = 0, m_cls = 0, ignore = 0;
    put_byte(e, PK_PROTO);
    put_byte(e, 4);
    frame_open(e);
    if ((rc = put_memo_str(e, "tracemalloc", &m_mod, err)) ||
        (rc = put_memo_str(e, "Snapshot", &ignore, err)))
        return rc;
    put_byte(e, PK_STACK_GLOBAL);
    put_byte(e, PK_EMPTY_TUPLE);
    put_byte(e, PK_NEWOBJ);
    put_byte(e, PK_EMPTY_DICT);
    put_byte(e, PK_MARK);
    put_str(e, "traces", 6);
    memo_ref(e, m_mod);
    if ((rc = put_memo_str(e, "_Traces", &m_cls, err)))
        return rc;
    put_byte(e, PK_STACK_GLOBAL);
    put_byte(e, PK_EMPTY_TUPLE);
    put_byte(e, PK_NEWOBJ);
    put_byte(e, PK_EMPTY_DICT);
    put_str(e, "_traces", 7);
    put_byte(e, PK_EMPTY_LIST);

    size_t ntraces = tm_snapshot_trace_count(s);
    const tm_trace *traces = tm_snapshot_traces(s);
    for (size_t i = 0; i < ntraces; i++) {
        if (i % TM_PICKLE_BATCH == 0)
            put_byte(e, PK_MARK);
        const tm_trace *t = &traces[i];
        size_t n = 0;
        put_byte(e, PK_MARK);
        put_int(e, t->domain);
        put_int(e, t->size);
        if ((rc = traceback_put(e, t->stack, &n, err)))
            return rc;
        /* Inline expansion adds frames the recorder counted as one. */
        size_t depth = tm_snapshot_stacks(s)[t->stack].depth;
        uint32_t tnf = tm_snapshot_trace_total_nframe(s, i);
        uint64_t total = tnf >= depth ? (uint64_t)tnf + (n - depth) : n;
        put_int(e, total);
        put_byte(e, PK_TUPLE);
        if (i % TM_PICKLE_BATCH == TM_PICKLE_BATCH - 1 || i + 1 == ntraces)
            put_byte(e, PK_APPENDS);
        frame_maybe_cut(e);
    }
    put_byte(e, PK_SETITEM);
    put_byte(e, PK_BUILD);
    put_str(e, "traceback_limit", 15);
    put_int(e, limit ? limit : 1);
    put_byte(e, PK_SETITEMS);
    put_byte(e, PK_BUILD);
    put_byte(e, PK_STOP);
    frame_close(e);
    return TM_OK;
}
