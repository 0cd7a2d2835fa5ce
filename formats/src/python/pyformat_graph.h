/*
 * Private: the value graph pass 1 of the Python dump reader builds
 * (pyformat_decode.c) and pass 2 turns into a snapshot (pyformat_build.c).
 */
#ifndef TM_PYFORMAT_GRAPH_H
#define TM_PYFORMAT_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "pyformat_internal.h"
#include "tm/snapshot.h"

/* A value is a tagged 64-bit word: low 2 bits tag. */
enum { PV_SPECIAL = 0, PV_INT = 1, PV_NODE = 2 };
#define PV_UNSET ((uint64_t)0) /* empty memo slot */
#define PV_NONE ((uint64_t)1 << 2)
#define PV_FALSE ((uint64_t)2 << 2)
#define PV_TRUE ((uint64_t)3 << 2)
#define PV_SMALL_MAX (((uint64_t)1 << 62) - 1)
#define PV_TAG(v) ((unsigned)((v)&3u))
#define PV_PAYLOAD(v) ((v) >> 2)
#define PV_MKINT(x) (((uint64_t)(x) << 2) | PV_INT)
#define PV_MKNODE(i) (((uint64_t)(i) << 2) | PV_NODE)

enum { N_STR, N_INT, N_TUPLE, N_LIST, N_DICT, N_CLASS, N_OBJ, N_TRACE };
enum { CLS_SNAPSHOT, CLS_TRACES };
enum { INT_NEG = 1, INT_HUGE = 2 }; /* flags of N_INT */
/* flags of N_TUPLE: which kind of id `cache` holds.  A hostile pickle can
 * use one tuple both as a frame and as a traceback; each role is checked
 * on its own and a cached id of the other role is never reused. */
enum { TUPLE_AS_FRAME = 1, TUPLE_AS_STACK = 2 };
/* N_TRACE is a tuple that has exactly a trace's shape -- (small int, small
 * int, node[, small int or None]) -- stored without kids because a dump has
 * a million of them: cache = domain, a = total_nframe << 32 | frames node,
 * b = size.  Anywhere else a tuple is expected it is refused, which is
 * right because no other place of a dump holds such a tuple. */
enum { TRACE_3 = 1, TRACE_NONE = 2 }; /* flags of N_TRACE */

typedef struct pnode {
    uint8_t kind;
    uint8_t flags;
    uint16_t unused;
    uint32_t cache; /* converted id + 1 (string, frame or stack); 0 = not yet */
    uint64_t
        a; /* STR: offset; INT: magnitude; TUPLE: first kid; LIST/DICT: seq; CLASS/OBJ: class */
    uint64_t b; /* STR: length; TUPLE: count; OBJ: state value (PV_UNSET until BUILD) */
} pnode;

typedef struct pseq {
    uint64_t *v;
    size_t n, cap;
} pseq;

typedef struct pdec {
    const uint8_t *p;
    size_t len, pos, op_pos;
    const char *name;
    tm_error *err;

    uint64_t *stack;
    size_t sp, stack_cap;
    size_t marks[TM_PICKLE_MAX_MARKS];
    size_t nmarks;
    uint64_t *memo;
    size_t memo_cap, memo_count;
    pnode *nodes;
    size_t nnodes, nodes_cap;
    uint64_t *kids;
    size_t nkids, kids_cap;
    pseq *seqs;
    size_t nseqs, seqs_cap;

    tm_snapshot *snap;
    uint32_t *scratch; /* frame ids of one traceback */
    size_t scratch_cap;
    char *sbuf; /* a string with surrogate escapes undone */
    size_t sbuf_cap;
} pdec;

/* Shared helpers (pyformat_decode.c). */
int pk_nomem(pdec *d);
const char *pk_kind_name(pdec *d, uint64_t v);

static inline pnode *pk_node_of(pdec *d, uint64_t v)
{
    return PV_TAG(v) == PV_NODE ? &d->nodes[PV_PAYLOAD(v)] : NULL;
}

/* Pass 2: checks the graph under `root` has a Snapshot's shape and fills
 * d->snap (already created). */
int pk_snapshot_build(pdec *d, uint64_t root);

#endif
