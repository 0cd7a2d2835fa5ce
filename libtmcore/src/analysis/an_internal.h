/*
 * Private to src/analysis: the interning context that lets statistics group
 * with integer keys, and the per-snapshot view that maps stack nodes to
 * logical (inline-expanded) frames once, before the single pass over traces.
 *
 *   pool  strings by value (copies; one pool per result, shared by the old
 *         and new snapshot of a diff so equal names get equal ids)
 *   lf    logical frame (name pool id, lineno) by value
 *   ln    logical stack node (lf, parent ln) by value; ln 0 is the empty
 *         stack, parent ids are smaller than child ids.  A group key is an ln.
 */
#ifndef TM_AN_INTERNAL_H
#define TM_AN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tm/attribution.h"
#include "tm/error.h"
#include "tm/filter.h"
#include "tm/snapshot.h"
#include "tm/stats.h"
#include "tm_hash.h"

typedef struct an_ctx {
    /* pool */
    char **str;
    uint32_t *str_len;
    size_t nstr, str_cap;
    tm_hindex str_index;
    /* logical frames */
    uint32_t *lf_name, *lf_line;
    size_t nlf, lf_cap;
    tm_hindex lf_index;
    /* logical stack nodes */
    uint32_t *ln_lf, *ln_parent, *ln_depth;
    size_t nln, ln_cap;
    tm_hindex ln_index;
    uint32_t unknown_lf; /* ("<unknown>", 0) */
} an_ctx;

int an_ctx_init(an_ctx *c, tm_error *err);
void an_ctx_destroy(an_ctx *c);
int an_pool_intern(an_ctx *c, const char *s, size_t len, uint32_t *out, tm_error *err);
int an_lf_intern(an_ctx *c, uint32_t name, uint32_t line, uint32_t *out, tm_error *err);
int an_ln_intern(an_ctx *c, uint32_t lf, uint32_t parent, uint32_t *out, tm_error *err);

/* Per-snapshot view.  lnode = one logical frame occurrence in the snapshot's
 * (inline-expanded) stack tree; lnode 0 is the root (no frame), lnode 1 the
 * synthetic "<unknown>" frame standing for the empty stack. */
typedef struct an_view {
    const tm_snapshot *snap;
    size_t nstrings, nframes, nstacks;
    uint32_t *str_map;     /* snapshot string id -> pool id (lazy) */
    uint32_t *frame_lf;    /* frame -> lf of its (name, line) */
    uint32_t *node_lnode;  /* stack node -> lnode of its most recent frame */
    uint32_t *node_vis;    /* stack node -> lnode of its most recent visible frame, 0 if
                                none (node_lnode then holds its innermost frame alone) */
    uint8_t *node_moved;   /* stack node: its most recent frame is hidden */
    uint32_t *lnode_frame; /* lnode -> snapshot frame id (TM_NONE: unknown) */
    uint32_t *lnode_parent;
    uint32_t *lnode_lf; /* lnode -> lf (frame name) */
    size_t nlnodes;
} an_view;

/* attr (NULL: none) hides frames: they get no lnode (tm/attribution.h). */
int an_view_build(an_view *v, an_ctx *c, const tm_snapshot *snap, const tm_attribution *attr,
                  tm_error *err);
void an_view_destroy(an_view *v);
/* The lf a key type groups this lnode's frame by (single-frame keys). */
int an_view_key_lf(an_view *v, an_ctx *c, uint32_t lnode, tm_key_type key, uint32_t *out,
                   tm_error *err);

/* Compiled filter set: per lf a bit per frame filter. */
typedef struct an_filters {
    const tm_filter *f;
    size_t n;
    tm_pattern **pat;    /* per filter (NULL for domain filters) */
    uint64_t frame_bits; /* frame filters */
    uint64_t all_frames_bits;
    int domain_dependent; /* some filter looks at the domain */
    uint64_t *lf_mask;    /* per lf, computed lazily */
    uint8_t *lf_done;
    size_t lf_cap;
} an_filters;

int an_filters_init(an_filters *fs, const tm_filter *f, size_t n, tm_error *err);
void an_filters_destroy(an_filters *fs);
/* Bits of the frame filters whose (pattern, lineno) match the lf. */
int an_filters_lf_mask(an_filters *fs, an_ctx *c, uint32_t lf, uint64_t *out, tm_error *err);
/* Per stack node of the view: the mask of matching frame filters (most
 * recent frame, or any frame for all_frames ones) and whether a trace of
 * domain 0 would be kept (exact for every domain unless domain_dependent).
 * Both arrays are tm_malloc'ed, one entry per stack node. */
int an_filters_nodes(an_filters *fs, an_ctx *c, const an_view *v, uint64_t **node_mask,
                     uint8_t **node_keep, tm_error *err);
/* Keep the trace?  mask = bits of frame filters whose frame part matched. */
int an_filters_keep(const an_filters *fs, uint64_t mask, uint32_t domain);
/* Keep a trace of (stack, domain), with an_filters_nodes' arrays: the
 * per-node answer unless some filter looks at the domain. */
static inline int an_filters_keep_trace(const an_filters *fs, const uint64_t *node_mask,
                                        const uint8_t *node_keep, uint32_t stack, uint32_t domain)
{
    return fs->domain_dependent ? an_filters_keep(fs, node_mask[stack], domain) : node_keep[stack];
}

/* UTF-8 -> code points, lenient: an invalid byte b becomes 0xDC00 + b
 * (as Python's surrogateescape).  Returns the number written (<= len). */
size_t an_utf8_decode(const char *s, size_t len, uint32_t *out);

#endif
