/*
 * Pass 2 of the Python dump reader: walks the value graph pass 1 built
 * (fixed depth, no recursion) into the snapshot builder, caching string,
 * frame and stack ids on the graph nodes so that a memo-shared traceback
 * is converted once however many traces use it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pyformat_graph.h"
#include "tm/snapshot.h"
#include "tm_alloc.h"
#include "tm_utf8.h"

/* Errors found while walking the decoded graph carry no byte offset. */
static int bad_obj(pdec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_obj(pdec *d, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tm_error_set(d->err, TM_EFORMAT, "%s: not a tracemalloc snapshot: %s", d->name, msg);
}

static int get_u64(pdec *d, uint64_t v, uint64_t *out)
{
    if (PV_TAG(v) == PV_INT) {
        *out = PV_PAYLOAD(v);
        return 0;
    }
    pnode *n = pk_node_of(d, v);
    if (n && n->kind == N_INT && !n->flags) {
        *out = n->a;
        return 0;
    }
    return -1;
}

/* Describes why v is not a usable unsigned int (for messages). */
static const char *why_not_uint(pdec *d, uint64_t v)
{
    pnode *n = pk_node_of(d, v);
    if (PV_TAG(v) == PV_INT || (n && n->kind == N_INT))
        return n && (n->flags & INT_NEG) ? "is negative" : "is too large";
    return "is not an int";
}

static int dict_get(pdec *d, uint64_t dict, const char *key, uint64_t *out)
{
    pseq *s = &d->seqs[pk_node_of(d, dict)->a];
    size_t klen = strlen(key);
    /* Later keys win, as in Python. */
    for (size_t i = s->n; i >= 2; i -= 2) {
        pnode *k = pk_node_of(d, s->v[i - 2]);
        if (k && k->kind == N_STR && k->b == klen && memcmp(d->p + k->a, key, klen) == 0) {
            *out = s->v[i - 1];
            return 1;
        }
    }
    return 0;
}

static int intern_str(pdec *d, pnode *n, uint32_t *id)
{
    if (n->cache) {
        *id = n->cache - 1;
        return TM_OK;
    }
    const uint8_t *s = d->p + n->a;
    size_t len = n->b;
    int kind = tm_pickle_utf8_check(s, len);
    if (kind < 0)
        return tm_error_set(d->err, TM_EFORMAT, "%s: byte %llu: string is not valid UTF-8", d->name,
                            (unsigned long long)n->a);
    if (kind == 1) {
        /* U+DC80..U+DCFF are Python's surrogateescape for undecodable
         * filename bytes: restore the bytes (the writer re-escapes them). */
        if (tm_grow((void **)&d->sbuf, &d->sbuf_cap, len ? len : 1, 1))
            return pk_nomem(d);
        size_t o = 0;
        for (size_t i = 0; i < len;) {
            uint32_t cp = 0;
            size_t k = tm_utf8_seq(s + i, len - i, &cp); /* > 0: checked above */
            if (cp >= 0xdc80 && cp <= 0xdcff) {
                d->sbuf[o++] = (char)(cp - 0xdc00u);
            } else {
                memcpy(d->sbuf + o, s + i, k);
                o += k;
            }
            i += k;
        }
        s = (const uint8_t *)d->sbuf;
        len = o;
    }
    int rc = tm_snapshot_intern_string(id, d->snap, (const char *)s, len, d->err);
    if (rc)
        return rc;
    n->cache = *id + 1;
    return TM_OK;
}

static int frame_of(pdec *d, size_t ti, size_t fi, uint64_t v, uint32_t *id)
{
    pnode *n = pk_node_of(d, v);
    if (!n || n->kind != N_TUPLE || n->b != 2)
        return bad_obj(d, "trace %zu: frame %zu is a %s, not a (filename, lineno) pair", ti, fi,
                       pk_kind_name(d, v));
    if (n->cache && n->flags == TUPLE_AS_FRAME) {
        *id = n->cache - 1;
        return TM_OK;
    }
    pnode *file = pk_node_of(d, d->kids[n->a]);
    if (!file || file->kind != N_STR)
        return bad_obj(d, "trace %zu: frame %zu: filename is a %s, not a str", ti, fi,
                       pk_kind_name(d, d->kids[n->a]));
    uint64_t line;
    if (get_u64(d, d->kids[n->a + 1], &line))
        return bad_obj(d, "trace %zu: frame %zu: lineno %s", ti, fi,
                       why_not_uint(d, d->kids[n->a + 1]));
    if (line > UINT32_MAX)
        return bad_obj(d, "trace %zu: frame %zu: lineno is too large", ti, fi);
    tm_frame f = { TM_NONE, 0, 0, (uint32_t)line, TM_NONE, 0, 0 };
    int rc = intern_str(d, file, &f.file);
    if (rc || (rc = tm_snapshot_intern_frame(id, d->snap, &f, d->err)))
        return rc;
    n->cache = *id + 1;
    n->flags = TUPLE_AS_FRAME;
    return TM_OK;
}

static int stack_of(pdec *d, size_t ti, uint64_t v, uint32_t *id, uint32_t *depth)
{
    pnode *n = pk_node_of(d, v);
    if (!n || n->kind != N_TUPLE)
        return bad_obj(d, "trace %zu: frames are a %s, not a tuple", ti, pk_kind_name(d, v));
    *depth = n->b > UINT32_MAX ? UINT32_MAX : (uint32_t)n->b;
    if (n->cache && n->flags == TUPLE_AS_STACK) {
        *id = n->cache - 1;
        return TM_OK;
    }
    size_t count = n->b;
    if (tm_grow((void **)&d->scratch, &d->scratch_cap, count ? count : 1, sizeof *d->scratch))
        return pk_nomem(d);
    for (size_t i = 0; i < count; i++) {
        int rc = frame_of(d, ti, i, d->kids[n->a + i], &d->scratch[i]);
        if (rc)
            return rc;
    }
    int rc = tm_snapshot_intern_stack(id, d->snap, d->scratch, count, d->err);
    if (rc)
        return rc;
    n->cache = *id + 1;
    n->flags = TUPLE_AS_STACK;
    return TM_OK;
}

static int trace_add(pdec *d, size_t ti, uint64_t v)
{
    pnode *n = pk_node_of(d, v);
    tm_trace t = { 0, 0, 0 };
    uint32_t depth = 0;
    int rc;
    if (n && n->kind == N_TRACE) {
        t.size = n->b;
        t.domain = n->cache;
        if ((rc = stack_of(d, ti, PV_MKNODE(n->a & UINT32_MAX), &t.stack, &depth)))
            return rc;
        uint32_t tnf = n->flags ? depth : (uint32_t)(n->a >> 32);
        return tm_snapshot_add_trace(d->snap, &t, tnf, d->err);
    }
    /* The general case: what did not fit N_TRACE (big ints, wrong types). */
    if (!n || n->kind != N_TUPLE || (n->b != 3 && n->b != 4))
        return bad_obj(d, "trace %zu is a %s, not a (domain, size, frames[, total_nframe]) tuple",
                       ti,
                       n && n->kind == N_TUPLE ? "tuple of another length" : pk_kind_name(d, v));
    const uint64_t *k = d->kids + n->a;
    uint64_t domain, size, total;
    if (get_u64(d, k[0], &domain) || domain > UINT32_MAX)
        return bad_obj(d, "trace %zu: domain %s", ti,
                       PV_TAG(k[0]) == PV_INT ? "is too large" : why_not_uint(d, k[0]));
    if (get_u64(d, k[1], &size))
        return bad_obj(d, "trace %zu: size %s (sizes must fit 0..2^64-1)", ti,
                       why_not_uint(d, k[1]));
    t.size = size;
    t.domain = (uint32_t)domain;
    if ((rc = stack_of(d, ti, k[2], &t.stack, &depth)))
        return rc;
    uint32_t tnf = depth;
    if (n->b == 4 && k[3] != PV_NONE) {
        if (get_u64(d, k[3], &total) || total > UINT32_MAX)
            return bad_obj(d, "trace %zu: total_nframe %s", ti,
                           PV_TAG(k[3]) == PV_INT ? "is too large" : why_not_uint(d, k[3]));
        tnf = (uint32_t)total;
    }
    return tm_snapshot_add_trace(d->snap, &t, tnf, d->err);
}

int pk_snapshot_build(pdec *d, uint64_t root)
{
    pnode *o = pk_node_of(d, root);
    if (!o || o->kind != N_OBJ || o->a != CLS_SNAPSHOT)
        return bad_obj(d, "the pickled object is a %s, not a tracemalloc.Snapshot",
                       o && o->kind == N_OBJ ? "tracemalloc._Traces" : pk_kind_name(d, root));
    if (o->b == PV_UNSET)
        return bad_obj(d, "the Snapshot has no state (no BUILD)");
    uint64_t traces, limit_v;
    if (!dict_get(d, o->b, "traces", &traces))
        return bad_obj(d, "the Snapshot has no 'traces' attribute");
    if (!dict_get(d, o->b, "traceback_limit", &limit_v))
        return bad_obj(d, "the Snapshot has no 'traceback_limit' attribute");
    uint64_t limit;
    if (get_u64(d, limit_v, &limit) || limit < 1 || limit > TM_MAX_NFRAME)
        return bad_obj(d, "traceback_limit must be an int in 1..%u", TM_MAX_NFRAME);
    pnode *t = pk_node_of(d, traces);
    if (t && t->kind == N_OBJ) {
        if (t->a != CLS_TRACES || t->b == PV_UNSET || !dict_get(d, t->b, "_traces", &traces))
            return bad_obj(d, "Snapshot.traces is not a tracemalloc._Traces with a '_traces' list");
        t = pk_node_of(d, traces);
    }
    const uint64_t *items;
    size_t count;
    if (t && t->kind == N_LIST) {
        items = d->seqs[t->a].v;
        count = d->seqs[t->a].n;
    } else if (t && t->kind == N_TUPLE) {
        items = t->b ? d->kids + t->a : NULL; /* no kids stored yet: kids is NULL */
        count = t->b;
    } else {
        return bad_obj(d, "the traces are a %s, not a list or tuple", pk_kind_name(d, traces));
    }
    int rc = tm_snapshot_reserve_traces(d->snap, count, d->err);
    for (size_t i = 0; rc == TM_OK && i < count; i++)
        rc = trace_add(d, i, items[i]);
    if (rc)
        return rc;
    tm_metadata md;
    memset(&md, 0, sizeof md);
    md.nframe_limit = (uint32_t)limit;
    if ((rc = tm_snapshot_intern_string(&md.trigger, d->snap, "python", 6, d->err)))
        return rc;
    return tm_snapshot_set_metadata(d->snap, &md, d->err);
}
