/*
 * Reads tracemalloc.Snapshot.dump() files: a whitelist pickle machine.
 *
 * Pass 1 runs the pickle opcodes into a small value graph (ints, strings,
 * tuples, lists, dicts, the two tracemalloc classes and their instances);
 * every opcode that a dump never contains, and every global other than
 * tracemalloc.Snapshot / tracemalloc._Traces, stops decoding with the byte
 * offset.  Nothing is called: NEWOBJ only makes an inert record and BUILD
 * attaches the state dict to it.  Pass 2 (pyformat_build.c) walks the graph
 * (fixed depth, no recursion) into the snapshot builder, caching ids on
 * the graph nodes so that memo-shared tracebacks are converted once.
 *
 * Memory is O(input): every node, stack slot, list item and memo slot is
 * paid for by at least one input byte, and memo indexes are bounded by the
 * byte offset so a 5-byte LONG_BINPUT cannot request a huge memo.
 */
#include "tm/pyformat.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pyformat_graph.h"
#include "tm_alloc.h"

static int decode_run(pdec *d, uint64_t *result);

int tm_pyformat_decode(tm_snapshot **out, const void *data, size_t len, const char *name,
                       tm_error *err)
{
    /* As for .tms: on failure *out is NULL, never stale. */
    *out = NULL;
    pdec d;
    memset(&d, 0, sizeof d);
    d.p = data;
    d.len = len;
    d.name = name ? name : "<pickle>";
    d.err = err;
    uint64_t root = PV_UNSET;
    int rc = decode_run(&d, &root);
    if (rc == TM_OK)
        rc = tm_snapshot_new(&d.snap, err);
    if (rc == TM_OK)
        rc = pk_snapshot_build(&d, root);
    if (rc == TM_ENOMEM || rc == TM_ELIMIT || rc == TM_EINVAL)
        tm_error_prefix(err, "%s", d.name);
    tm_free(d.stack);
    tm_free(d.memo);
    tm_free(d.nodes);
    tm_free(d.kids);
    for (size_t i = 0; i < d.nseqs; i++)
        tm_free(d.seqs[i].v);
    tm_free(d.seqs);
    tm_free(d.scratch);
    tm_free(d.sbuf);
    if (rc != TM_OK) {
        tm_snapshot_free(d.snap);
        return rc;
    }
    *out = d.snap;
    return TM_OK;
}

/* --- errors ---------------------------------------------------------- */

static int bad(pdec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(pdec *d, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned op = d->op_pos < d->len ? d->p[d->op_pos] : 0;
    const char *opname = tm_pickle_opcode_name(op);
    return tm_error_set(d->err, TM_EFORMAT, "%s: byte %zu: %s%s%s", d->name, d->op_pos,
                        opname ? opname : "", opname ? ": " : "", msg);
}

int pk_nomem(pdec *d)
{
    return tm_error_set(d->err, TM_ENOMEM, "out of memory decoding the pickle at byte %zu",
                        d->op_pos);
}

/* Quotes untrusted text for a message: printable ASCII kept, the rest \xNN,
 * at most ~60 characters. */
static void quote(char *dst, size_t cap, const uint8_t *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        if (i == 60) {
            o += (size_t)snprintf(dst + o, cap - o, "...");
            break;
        }
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\'' && s[i] != '\\')
            dst[o++] = (char)s[i];
        else
            o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", s[i]);
    }
    dst[o] = '\0';
}

/* --- graph building -------------------------------------------------- */

static int push(pdec *d, uint64_t v)
{
    if (d->sp == d->stack_cap &&
        tm_grow((void **)&d->stack, &d->stack_cap, d->sp + 1, sizeof *d->stack))
        return pk_nomem(d);
    d->stack[d->sp++] = v;
    return TM_OK;
}

static int new_node(pdec *d, uint8_t kind, uint64_t a, uint64_t b, uint64_t *out)
{
    *out = 0; /* defined on failure too: gcc cannot see that pk_nomem is never TM_OK */
    if (d->nnodes == d->nodes_cap &&
        tm_grow((void **)&d->nodes, &d->nodes_cap, d->nnodes + 1, sizeof *d->nodes))
        return pk_nomem(d);
    pnode *n = &d->nodes[d->nnodes];
    n->kind = kind;
    n->flags = 0;
    n->unused = 0;
    n->cache = 0;
    n->a = a;
    n->b = b;
    *out = PV_MKNODE(d->nnodes++);
    return TM_OK;
}

static int is_kind(pdec *d, uint64_t v, uint8_t kind)
{
    pnode *n = pk_node_of(d, v);
    return n && n->kind == kind;
}

const char *pk_kind_name(pdec *d, uint64_t v)
{
    static const char *const names[] = { "str",  "int",   "tuple",  "list",
                                         "dict", "class", "object", "tuple" };
    switch (PV_TAG(v)) {
    case PV_INT: return "int";
    case PV_NODE: return names[pk_node_of(d, v)->kind];
    default: return v == PV_NONE ? "None" : "bool";
    }
}

static int need(pdec *d, size_t n)
{
    if (d->len - d->pos < n)
        return bad(d, "truncated: needs %zu more bytes, file ends at byte %zu", n, d->len);
    return TM_OK;
}

static uint64_t rd_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = (v << 8) | p[i];
    return v;
}

static int top_mark(pdec *d, size_t *start)
{
    if (d->nmarks == 0)
        return bad(d, "no MARK on the stack");
    *start = d->marks[--d->nmarks];
    return TM_OK;
}

static int pop(pdec *d, uint64_t *v)
{
    size_t floor = d->nmarks ? d->marks[d->nmarks - 1] : 0;
    if (d->sp <= floor)
        return bad(d, "stack underflow");
    *v = d->stack[--d->sp];
    return TM_OK;
}

/* An int from a two's-complement little-endian byte string (LONG1/LONG4). */
static int make_long(pdec *d, const uint8_t *b, size_t n, uint64_t *out)
{
    if (n == 0) {
        *out = PV_MKINT(0);
        return TM_OK;
    }
    int neg = (b[n - 1] & 0x80) != 0;
    /* Bytes beyond the 8th must be pure sign extension for |v| to fit. */
    int huge = 0;
    for (size_t i = 8; i < n; i++)
        if (b[i] != (neg ? 0xff : 0x00))
            huge = 1;
    uint64_t raw = rd_le(b, n < 8 ? n : 8);
    if (n < 8 && neg)
        raw |= ~(uint64_t)0 << (8 * n);
    uint64_t mag = neg ? (~raw + 1) : raw;
    if (neg && n >= 8 && !huge && !(raw >> 63))
        huge = 1; /* sign bit beyond bit 63 but low word positive: below -2^64 */
    if (!neg && !huge && mag <= PV_SMALL_MAX) {
        *out = PV_MKINT(mag);
        return TM_OK;
    }
    int rc = new_node(d, N_INT, mag, 0, out);
    if (rc)
        return rc;
    d->nodes[d->nnodes - 1].flags = (uint8_t)((neg ? INT_NEG : 0) | (huge ? INT_HUGE : 0));
    return TM_OK;
}

/* The N_TRACE fast path; returns 1 if stack[start..sp) was one. */
static int make_trace(pdec *d, size_t start, size_t n, int *rc)
{
    if (n != 3 && n != 4)
        return 0;
    const uint64_t *k = d->stack + start;
    if (PV_TAG(k[0]) != PV_INT || PV_PAYLOAD(k[0]) > UINT32_MAX || PV_TAG(k[1]) != PV_INT ||
        PV_TAG(k[2]) != PV_NODE || PV_PAYLOAD(k[2]) > UINT32_MAX)
        return 0;
    uint64_t total = 0;
    uint8_t flags = 0;
    if (n == 3)
        flags = TRACE_3;
    else if (k[3] == PV_NONE)
        flags = TRACE_NONE;
    else if (PV_TAG(k[3]) == PV_INT && PV_PAYLOAD(k[3]) <= UINT32_MAX)
        total = PV_PAYLOAD(k[3]);
    else
        return 0;
    uint64_t v;
    *rc = new_node(d, N_TRACE, total << 32 | PV_PAYLOAD(k[2]), PV_PAYLOAD(k[1]), &v);
    if (*rc)
        return 1;
    pnode *node = &d->nodes[d->nnodes - 1];
    node->flags = flags;
    node->cache = (uint32_t)PV_PAYLOAD(k[0]);
    d->sp = start;
    *rc = push(d, v);
    return 1;
}

static int make_tuple(pdec *d, size_t start)
{
    size_t n = d->sp - start;
    int rc;
    if (make_trace(d, start, n, &rc))
        return rc;
    if (tm_grow((void **)&d->kids, &d->kids_cap, d->nkids + n, sizeof *d->kids))
        return pk_nomem(d);
    if (n)
        memcpy(d->kids + d->nkids, d->stack + start, n * sizeof *d->kids);
    uint64_t v;
    rc = new_node(d, N_TUPLE, d->nkids, n, &v);
    if (rc)
        return rc;
    d->nkids += n;
    d->sp = start;
    return push(d, v);
}

static int make_seq(pdec *d, uint8_t kind)
{
    if (d->nseqs == d->seqs_cap &&
        tm_grow((void **)&d->seqs, &d->seqs_cap, d->nseqs + 1, sizeof *d->seqs))
        return pk_nomem(d);
    uint64_t v;
    int rc = new_node(d, kind, d->nseqs, 0, &v);
    if (rc)
        return rc;
    memset(&d->seqs[d->nseqs++], 0, sizeof(pseq));
    return push(d, v);
}

/* APPEND(S) / SETITEM(S): moves stack[start..sp) into the list or dict
 * just below start. */
static int seq_extend(pdec *d, size_t start, uint8_t kind, int pairs)
{
    if (start == 0 || (d->nmarks && start - 1 < d->marks[d->nmarks - 1]))
        return bad(d, "stack underflow");
    uint64_t target = d->stack[start - 1];
    if (!is_kind(d, target, kind))
        return bad(d, "applied to a %s, not a %s", pk_kind_name(d, target),
                   kind == N_LIST ? "list" : "dict");
    size_t n = d->sp - start;
    if (pairs && n % 2)
        return bad(d, "odd number of items for a dict");
    pseq *s = &d->seqs[pk_node_of(d, target)->a];
    if (tm_grow((void **)&s->v, &s->cap, s->n + n, sizeof *s->v))
        return pk_nomem(d);
    if (n)
        memcpy(s->v + s->n, d->stack + start, n * sizeof *s->v);
    s->n += n;
    d->sp = start;
    return TM_OK;
}

static int memo_put(pdec *d, uint64_t idx)
{
    if (d->sp == 0 || (d->nmarks && d->sp <= d->marks[d->nmarks - 1]))
        return bad(d, "nothing to memoize");
    /* Python numbers memo entries 0, 1, 2...; a larger index than the byte
     * offset can only be an attack on our memory. */
    if (idx > d->op_pos)
        return bad(d, "memo index %llu is implausibly large", (unsigned long long)idx);
    if (idx >= d->memo_cap) {
        size_t old = d->memo_cap;
        if (tm_grow((void **)&d->memo, &d->memo_cap, (size_t)idx + 1, sizeof *d->memo))
            return pk_nomem(d);
        memset(d->memo + old, 0, (d->memo_cap - old) * sizeof *d->memo);
    }
    if (d->memo[idx] == PV_UNSET)
        d->memo_count++;
    d->memo[idx] = d->stack[d->sp - 1];
    return TM_OK;
}

static int memo_get(pdec *d, uint64_t idx)
{
    if (idx >= d->memo_cap || d->memo[idx] == PV_UNSET)
        return bad(d, "memo index %llu was never stored", (unsigned long long)idx);
    return push(d, d->memo[idx]);
}

static int make_global(pdec *d, const uint8_t *mod, size_t modlen, const uint8_t *nm, size_t nmlen)
{
    int cls = -1;
    if (modlen == 11 && memcmp(mod, "tracemalloc", 11) == 0) {
        if (nmlen == 8 && memcmp(nm, "Snapshot", 8) == 0)
            cls = CLS_SNAPSHOT;
        else if (nmlen == 7 && memcmp(nm, "_Traces", 7) == 0)
            cls = CLS_TRACES;
    }
    if (cls < 0) {
        char qm[300], qn[300];
        quote(qm, sizeof qm, mod, modlen);
        quote(qn, sizeof qn, nm, nmlen);
        return bad(d,
                   "global '%s.%s' is not allowed (a tracemalloc dump references only "
                   "tracemalloc.Snapshot and tracemalloc._Traces)",
                   qm, qn);
    }
    uint64_t v;
    int rc = new_node(d, N_CLASS, (uint64_t)cls, 0, &v);
    return rc ? rc : push(d, v);
}

/* --- the opcode loop ------------------------------------------------- */

static int decode_run(pdec *d, uint64_t *result)
{
    int rc;
    size_t start = 0;
    uint64_t v = PV_UNSET, w = PV_UNSET;
    if (!tm_pyformat_detect(d->p, d->len)) {
        if (d->len >= 2 && d->p[0] == PK_PROTO)
            return tm_error_set(d->err, TM_EFORMAT,
                                "%s: byte 1: pickle protocol %u is not supported (2..5 are)",
                                d->name, d->p[1]);
        return tm_error_set(d->err, TM_EFORMAT,
                            "%s: byte 0: not a pickle of protocol 2..5 (no PROTO header)", d->name);
    }
    while (d->pos < d->len) {
        d->op_pos = d->pos;
        unsigned op = d->p[d->pos++];
        const uint8_t *arg = d->p + d->pos;
        switch (op) {
        case PK_PROTO:
            if ((rc = need(d, 1)))
                return rc;
            if (arg[0] < 2 || arg[0] > 5)
                return bad(d, "protocol %u is not supported (2..5 are)", arg[0]);
            d->pos++;
            break;
        case PK_FRAME:
            if ((rc = need(d, 8)))
                return rc;
            d->pos += 8;
            if (rd_le(arg, 8) > d->len - d->pos)
                return bad(d, "truncated: frame of %llu bytes runs past the end of the file",
                           (unsigned long long)rd_le(arg, 8));
            break;
        case PK_STOP:
            if ((rc = pop(d, result)))
                return rc;
            return TM_OK;
        case PK_MARK:
            if (d->nmarks == TM_PICKLE_MAX_MARKS)
                return bad(d, "more than %u nested MARKs", TM_PICKLE_MAX_MARKS);
            d->marks[d->nmarks++] = d->sp;
            break;
        case PK_NONE:
            if ((rc = push(d, PV_NONE)))
                return rc;
            break;
        case PK_NEWTRUE:
        case PK_NEWFALSE:
            if ((rc = push(d, op == PK_NEWTRUE ? PV_TRUE : PV_FALSE)))
                return rc;
            break;
        case PK_BININT1:
        case PK_BININT2:
        case PK_BININT: {
            size_t n = op == PK_BININT1 ? 1 : op == PK_BININT2 ? 2 : 4;
            if ((rc = need(d, n)))
                return rc;
            d->pos += n;
            if (op == PK_BININT && (arg[3] & 0x80))
                rc = make_long(d, arg, 4, &v);
            else
                v = PV_MKINT(rd_le(arg, n)), rc = TM_OK;
            if (rc || (rc = push(d, v)))
                return rc;
            break;
        }
        case PK_LONG1:
        case PK_LONG4: {
            size_t hl = op == PK_LONG1 ? 1 : 4;
            if ((rc = need(d, hl)))
                return rc;
            uint64_t n = rd_le(arg, hl);
            if (op == PK_LONG4 && (n & 0x80000000u))
                return bad(d, "negative byte count");
            d->pos += hl;
            if ((rc = need(d, n)))
                return rc;
            d->pos += n;
            if ((rc = make_long(d, arg + hl, n, &v)) || (rc = push(d, v)))
                return rc;
            break;
        }
        case PK_SHORT_BINUNICODE:
        case PK_BINUNICODE:
        case PK_BINUNICODE8: {
            size_t hl = op == PK_SHORT_BINUNICODE ? 1 : op == PK_BINUNICODE ? 4 : 8;
            if ((rc = need(d, hl)))
                return rc;
            uint64_t n = rd_le(arg, hl);
            d->pos += hl;
            if ((rc = need(d, n)))
                return rc;
            if ((rc = new_node(d, N_STR, d->pos, n, &v)) || (rc = push(d, v)))
                return rc;
            d->pos += n;
            break;
        }
        case PK_EMPTY_TUPLE:
            if ((rc = make_tuple(d, d->sp)))
                return rc;
            break;
        case PK_TUPLE1:
        case PK_TUPLE2:
        case PK_TUPLE3: {
            size_t n = op - PK_TUPLE1 + 1;
            size_t floor = d->nmarks ? d->marks[d->nmarks - 1] : 0;
            if (d->sp - floor < n)
                return bad(d, "stack underflow");
            if ((rc = make_tuple(d, d->sp - n)))
                return rc;
            break;
        }
        case PK_TUPLE:
            if ((rc = top_mark(d, &start)) || (rc = make_tuple(d, start)))
                return rc;
            break;
        case PK_EMPTY_LIST:
        case PK_EMPTY_DICT:
            if ((rc = make_seq(d, op == PK_EMPTY_LIST ? N_LIST : N_DICT)))
                return rc;
            break;
        case PK_APPEND:
        case PK_SETITEM: {
            size_t n = op == PK_APPEND ? 1 : 2;
            size_t floor = d->nmarks ? d->marks[d->nmarks - 1] : 0;
            if (d->sp - floor < n + 1)
                return bad(d, "stack underflow");
            if ((rc =
                     seq_extend(d, d->sp - n, op == PK_APPEND ? N_LIST : N_DICT, op == PK_SETITEM)))
                return rc;
            break;
        }
        case PK_APPENDS:
        case PK_SETITEMS:
            if ((rc = top_mark(d, &start)))
                return rc;
            if ((rc = seq_extend(d, start, op == PK_APPENDS ? N_LIST : N_DICT, op == PK_SETITEMS)))
                return rc;
            break;
        case PK_MEMOIZE:
            if ((rc = memo_put(d, d->memo_count)))
                return rc;
            break;
        case PK_BINPUT:
        case PK_LONG_BINPUT:
        case PK_BINGET:
        case PK_LONG_BINGET: {
            size_t n = op == PK_BINPUT || op == PK_BINGET ? 1 : 4;
            if ((rc = need(d, n)))
                return rc;
            d->pos += n;
            uint64_t idx = rd_le(arg, n);
            rc = op == PK_BINPUT || op == PK_LONG_BINPUT ? memo_put(d, idx) : memo_get(d, idx);
            if (rc)
                return rc;
            break;
        }
        case PK_GLOBAL: {
            const uint8_t *nl1 = memchr(arg, '\n', d->len - d->pos);
            const uint8_t *nl2 =
                nl1 ? memchr(nl1 + 1, '\n', (size_t)(d->p + d->len - nl1 - 1)) : NULL;
            if (!nl2)
                return bad(d, "truncated: module and name lines not terminated");
            d->pos = (size_t)(nl2 + 1 - d->p);
            if ((rc = make_global(d, arg, (size_t)(nl1 - arg), nl1 + 1, (size_t)(nl2 - nl1 - 1))))
                return rc;
            break;
        }
        case PK_STACK_GLOBAL: {
            if ((rc = pop(d, &w)) || (rc = pop(d, &v)))
                return rc;
            if (!is_kind(d, v, N_STR) || !is_kind(d, w, N_STR))
                return bad(d, "module and name must be strings, not %s and %s", pk_kind_name(d, v),
                           pk_kind_name(d, w));
            pnode *m = pk_node_of(d, v), *n = pk_node_of(d, w);
            if ((rc = make_global(d, d->p + m->a, m->b, d->p + n->a, n->b)))
                return rc;
            break;
        }
        case PK_NEWOBJ: {
            if ((rc = pop(d, &w)) || (rc = pop(d, &v)))
                return rc;
            if (!is_kind(d, v, N_CLASS))
                return bad(d, "expects a class, got a %s", pk_kind_name(d, v));
            if (!is_kind(d, w, N_TUPLE) && !is_kind(d, w, N_TRACE))
                return bad(d, "expects an argument tuple, got a %s", pk_kind_name(d, w));
            /* Both classes take their state from BUILD; __new__ ignores args. */
            uint64_t obj;
            if ((rc = new_node(d, N_OBJ, pk_node_of(d, v)->a, PV_UNSET, &obj)) ||
                (rc = push(d, obj)))
                return rc;
            break;
        }
        case PK_BUILD: {
            if ((rc = pop(d, &w)))
                return rc;
            size_t floor = d->nmarks ? d->marks[d->nmarks - 1] : 0;
            if (d->sp <= floor)
                return bad(d, "stack underflow");
            pnode *o = pk_node_of(d, d->stack[d->sp - 1]);
            if (!o || o->kind != N_OBJ)
                return bad(d, "applied to a %s, not a tracemalloc object",
                           pk_kind_name(d, d->stack[d->sp - 1]));
            if (!is_kind(d, w, N_DICT))
                return bad(d, "state must be a dict, got a %s", pk_kind_name(d, w));
            if (o->b != PV_UNSET)
                return bad(d, "object state set twice");
            o->b = w;
            break;
        }
        default: {
            const char *nm = tm_pickle_opcode_name(op);
            if (nm)
                return bad(d, "opcode 0x%02x is not allowed in a tracemalloc dump", op);
            return bad(d, "unknown opcode 0x%02x", op);
        }
        }
    }
    d->op_pos = d->len;
    return bad(d, "truncated: no STOP opcode");
}
