/* The logical stack tree shared by folded stacks and flame graphs. */
#include "export_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tm/sample.h"
#include "tm_alloc.h"
#include "tm_estimate.h"

/* The longest inline chain a stack walk gives. */
#define EX_MAX_INLINE TM_INLINE_MAX

static int tree_label_intern(ex_tree *t, const char *s, size_t n, uint32_t *out, tm_error *err);
static int tree_child(ex_tree *t, uint32_t parent, uint32_t label, uint32_t *out, tm_error *err);

static int ex_tree_init(ex_tree *t, tm_error *err)
{
    memset(t, 0, sizeof *t);
    t->node_cap = 1024;
    t->nodes = tm_calloc(t->node_cap, sizeof *t->nodes);
    if (!t->nodes || tm_hindex_reserve(&t->edge_index, 1024) ||
        tm_hindex_reserve(&t->label_index, 512)) {
        ex_tree_free(t);
        return tm_error_set(err, TM_ENOMEM, "out of memory building the stack tree");
    }
    t->nnodes = 1;
    t->nodes[0].parent = TM_NONE;
    t->nodes[0].label = TM_NONE;
    return TM_OK;
}

void ex_tree_free(ex_tree *t)
{
    tm_free(t->nodes);
    tm_hindex_free(&t->edge_index);
    tm_free(t->label_bytes);
    tm_free(t->label_off);
    tm_free(t->label_len);
    tm_hindex_free(&t->label_index);
    memset(t, 0, sizeof *t);
}

static int tree_label_intern(ex_tree *t, const char *s, size_t n, uint32_t *out, tm_error *err)
{
    uint64_t h = tm_hash_bytes(s, n);
    size_t pos;
    for (uint32_t id = tm_hindex_first(&t->label_index, h, &pos); id != TM_HINDEX_NONE;
         id = tm_hindex_next(&t->label_index, h, &pos)) {
        if (t->label_len[id] == n && memcmp(t->label_bytes + t->label_off[id], s, n) == 0) {
            *out = id;
            return TM_OK;
        }
    }
    if (t->nlabels >= UINT32_MAX - 1 || n > UINT32_MAX)
        return tm_error_set(err, TM_ELIMIT, "too many distinct frame labels");
    if (tm_grow((void **)&t->label_off, &t->label_cap, t->nlabels + 1, sizeof *t->label_off) ||
        tm_grow((void **)&t->label_len, &t->label_len_cap, t->nlabels + 1, sizeof *t->label_len))
        goto nomem;
    if (tm_grow((void **)&t->label_bytes, &t->label_bytes_cap, t->label_bytes_len + n + 1, 1))
        goto nomem;
    uint32_t id = (uint32_t)t->nlabels;
    if (tm_hindex_add(&t->label_index, pos, h, id))
        goto nomem;
    t->label_off[id] = t->label_bytes_len;
    t->label_len[id] = (uint32_t)n;
    memcpy(t->label_bytes + t->label_bytes_len, s, n);
    t->label_bytes[t->label_bytes_len + n] = '\0';
    t->label_bytes_len += n + 1;
    t->nlabels++;
    *out = id;
    return TM_OK;
nomem:
    return tm_error_set(err, TM_ENOMEM, "out of memory interning frame labels");
}

static int tree_child(ex_tree *t, uint32_t parent, uint32_t label, uint32_t *out, tm_error *err)
{
    uint64_t h = tm_hash_u64(((uint64_t)parent << 32) | label);
    size_t pos;
    for (uint32_t id = tm_hindex_first(&t->edge_index, h, &pos); id != TM_HINDEX_NONE;
         id = tm_hindex_next(&t->edge_index, h, &pos)) {
        if (t->nodes[id].parent == parent && t->nodes[id].label == label) {
            *out = id;
            return TM_OK;
        }
    }
    if (t->nnodes >= UINT32_MAX - 1)
        return tm_error_set(err, TM_ELIMIT, "too many distinct stacks");
    if (tm_grow((void **)&t->nodes, &t->node_cap, t->nnodes + 1, sizeof *t->nodes) ||
        tm_hindex_add(&t->edge_index, pos, h, (uint32_t)t->nnodes))
        return tm_error_set(err, TM_ENOMEM, "out of memory building the stack tree");
    uint32_t id = (uint32_t)t->nnodes++;
    ex_node *nd = &t->nodes[id];
    memset(nd, 0, sizeof *nd);
    nd->parent = parent;
    nd->label = label;
    nd->depth = t->nodes[parent].depth + 1;
    if (nd->depth > t->max_depth)
        t->max_depth = nd->depth;
    *out = id;
    return TM_OK;
}

/* Per-snapshot state while adding: label of each frame, tree node of each
 * stack, both computed on first use (TM_NONE = not yet). */
typedef struct ex_adder {
    ex_tree *t;
    const tm_snapshot *snap;
    const tm_frame *frames;
    size_t nframes;
    const tm_stack_node *stacks;
    size_t nstacks;
    uint32_t *frame_label;
    uint32_t *stack_node;
    uint32_t unknown_label;
    char *scratch;
    size_t scratch_cap;
    uint32_t *path; /* stacks still to compute, oldest first */
    size_t path_cap;
    const tm_attribution *attr; /* hidden frames get no tree node */
    uint32_t chain[EX_MAX_INLINE];
} ex_adder;

static int adder_frame_label(ex_adder *a, uint32_t f, uint32_t *out, tm_error *err)
{
    if (a->frame_label[f] != TM_NONE) {
        *out = a->frame_label[f];
        return TM_OK;
    }
    const tm_frame *fr = &a->frames[f];
    size_t n;
    const char *s;
    int rc;
    if (fr->function && (s = tm_snapshot_string(a->snap, fr->function, &n)) && n) {
        rc = tree_label_intern(a->t, s, n, out, err);
    } else if (fr->file && (s = tm_snapshot_string(a->snap, fr->file, &n)) && n) {
        if (tm_grow((void **)&a->scratch, &a->scratch_cap, n + 16, 1))
            return tm_error_set(err, TM_ENOMEM, "out of memory formatting frame labels");
        memcpy(a->scratch, s, n);
        int k = snprintf(a->scratch + n, 16, ":%u", (unsigned)fr->line);
        rc = tree_label_intern(a->t, a->scratch, n + (size_t)k, out, err);
    } else {
        *out = a->unknown_label;
        rc = TM_OK;
    }
    if (rc == TM_OK)
        a->frame_label[f] = *out;
    return rc;
}

/* Tree node for stack `k`: the parent stack's node extended by the frame's
 * inline chain, outermost function first. */
static int adder_stack_node(ex_adder *a, uint32_t k, uint32_t *out, tm_error *err)
{
    if (a->stack_node[k] != TM_NONE) {
        *out = a->stack_node[k];
        return TM_OK;
    }
    /* Walk up to the nearest computed ancestor iteratively (stacks may be
     * 65535 deep), then come back down. */
    uint32_t top = k;
    size_t steps = 0;
    while (a->stack_node[top] == TM_NONE) {
        uint32_t p = a->stacks[top].parent;
        if (p >= top || ++steps > a->nstacks)
            return tm_error_set(err, TM_EFORMAT, "stack %u: parent %u is not an earlier stack",
                                (unsigned)top, (unsigned)p);
        top = p;
    }
    /* Then compute the missing stacks from the top down. */
    size_t depth = steps;
    if (tm_grow((void **)&a->path, &a->path_cap, depth, sizeof *a->path))
        return tm_error_set(err, TM_ENOMEM, "out of memory walking stack %u", (unsigned)k);
    uint32_t *path = a->path;
    uint32_t s = k;
    for (size_t i = depth; i-- > 0;) {
        path[i] = s;
        s = a->stacks[s].parent;
    }
    int rc = TM_OK;
    for (size_t i = 0; i < depth && rc == TM_OK; i++) {
        uint32_t sk = path[i];
        uint32_t node = a->stack_node[a->stacks[sk].parent];
        size_t nchain = 0;
        tm_stack_walk w;
        uint32_t f;
        int inlined;
        tm_stack_walk_init(&w, a->snap, sk);
        /* this node's chain only: the walk's next node frame ends it */
        while ((rc = tm_stack_walk_next(&f, &inlined, &w, err)) == TM_OK && f != TM_NONE &&
               (nchain == 0 || inlined))
            a->chain[nchain++] = f;
        while (rc == TM_OK && nchain > 0) {
            uint32_t label, fr = a->chain[--nchain];
            if (tm_attribution_hides(a->attr, fr))
                continue;
            rc = adder_frame_label(a, fr, &label, err);
            if (rc == TM_OK)
                rc = tree_child(a->t, node, label, &node, err);
        }
        if (rc == TM_OK)
            a->stack_node[sk] = node;
    }
    if (rc == TM_OK)
        *out = a->stack_node[k];
    return rc;
}

/* Sums the stacks' estimates per node, then rounds each node's once:
 * node totals are then what tmstat prints for the same stacks. */
static int add_estimates(ex_tree *t, int side, const double *est, const uint32_t *est_node,
                         size_t nstacks, tm_error *err)
{
    double *per = tm_calloc(2 * t->nnodes, sizeof *per);
    if (!per)
        return tm_error_set(err, TM_ENOMEM, "out of memory for the estimates of %zu nodes",
                            t->nnodes);
    for (size_t k = 0; k < nstacks; k++) {
        if (est_node[k] == TM_NONE)
            continue;
        per[2 * (size_t)est_node[k]] += est[2 * k];
        per[2 * (size_t)est_node[k] + 1] += est[2 * k + 1];
    }
    for (size_t n = 0; n < t->nnodes; n++) {
        t->nodes[n].size[side] += tm_estimate_u64(per[2 * n]);
        t->nodes[n].count[side] += tm_estimate_u64(per[2 * n + 1]);
    }
    tm_free(per);
    return TM_OK;
}

static int ex_tree_add_snapshot(ex_tree *t, const tm_snapshot *snap, int side,
                                const tm_attribution_options *attribution, tm_progress *progress,
                                tm_error *err)
{
    ex_adder a;
    memset(&a, 0, offsetof(ex_adder, chain));
    tm_attribution *attr = NULL;
    int rc = tm_attribution_new(&attr, snap, attribution, err);
    if (rc)
        return rc;
    a.attr = attr;
    a.t = t;
    a.snap = snap;
    a.frames = tm_snapshot_frames(snap);
    a.nframes = tm_snapshot_frame_count(snap);
    a.stacks = tm_snapshot_stacks(snap);
    a.nstacks = tm_snapshot_stack_count(snap);
    size_t ntraces = tm_snapshot_trace_count(snap);
    const tm_trace *traces = tm_snapshot_traces(snap);
    /* A sampled snapshot: per stack, the estimates of its bytes and count
     * and the node its traces end at (tm/sample.h). */
    uint64_t rate = tm_snapshot_metadata(snap)->sample_rate;
    double *est = NULL;
    uint32_t *est_node = NULL;
    if (rate) {
        est = tm_calloc(a.nstacks ? 2 * a.nstacks : 2, sizeof *est);
        est_node = tm_malloc((a.nstacks ? a.nstacks : 1) * sizeof *est_node);
        if (!est || !est_node) {
            rc = tm_error_set(err, TM_ENOMEM, "out of memory for the estimates of %zu stacks",
                              a.nstacks);
            goto out;
        }
        memset(est_node, 0xff, (a.nstacks ? a.nstacks : 1) * sizeof *est_node);
    }
    rc = tree_label_intern(t, "<unknown>", 9, &a.unknown_label, err);
    if (rc)
        goto out;
    a.frame_label = tm_malloc((a.nframes ? a.nframes : 1) * sizeof *a.frame_label);
    a.stack_node = tm_malloc((a.nstacks ? a.nstacks : 1) * sizeof *a.stack_node);
    if (!a.frame_label || !a.stack_node) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory for %zu frames and %zu stacks", a.nframes,
                          a.nstacks);
        goto out;
    }
    memset(a.frame_label, 0xff, a.nframes * sizeof *a.frame_label);
    memset(a.stack_node, 0xff, a.nstacks * sizeof *a.stack_node);
    uint32_t empty_node = TM_NONE;
    if (a.nstacks > 0)
        a.stack_node[0] = 0;
    for (size_t i = 0; i < ntraces; i++) {
        tm_progress_tick(progress, i);
        uint32_t st = traces[i].stack, node = 0;
        if (st >= a.nstacks) {
            rc = tm_error_set(err, TM_EFORMAT, "trace %zu: stack %u does not exist", i,
                              (unsigned)st);
            goto out;
        }
        if (st == 0) {
            /* Nothing is known about the caller: count it as one unknown
             * frame, so that totals still add up. */
            if (empty_node == TM_NONE) {
                rc = tree_child(t, 0, a.unknown_label, &empty_node, err);
                if (rc)
                    goto out;
            }
            node = empty_node;
        } else {
            rc = adder_stack_node(&a, st, &node, err);
            if (rc)
                goto out;
            if (node == 0) {
                /* Every frame hidden: the innermost one stays, alone. */
                uint32_t label;
                if ((rc = adder_frame_label(&a, a.stacks[st].frame, &label, err)) ||
                    (rc = tree_child(t, 0, label, &node, err)))
                    goto out;
            }
        }
        if (est) {
            /* Weights add up per node first: rounding each trace's
             * estimate would bias small ones. */
            double w = tm_sample_weight(traces[i].size, rate);
            est[2 * (size_t)st] += w * (double)traces[i].size;
            est[2 * (size_t)st + 1] += w;
            est_node[st] = node;
            continue;
        }
        t->nodes[node].size[side] += traces[i].size;
        t->nodes[node].count[side] += 1;
    }
    if (rc == TM_OK && est)
        rc = add_estimates(t, side, est, est_node, a.nstacks, err);
out:
    tm_free(est);
    tm_free(est_node);
    tm_attribution_free(attr);
    tm_free(a.frame_label);
    tm_free(a.stack_node);
    tm_free(a.scratch);
    tm_free(a.path);
    return rc;
}

/* Sort context for ordering siblings by label bytes. */
static int rank_cmp(const void *x, const void *y, void *ctx)
{
    const ex_tree *t = ctx;
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    size_t la = t->label_len[a], lb = t->label_len[b];
    int c = memcmp(t->label_bytes + t->label_off[a], t->label_bytes + t->label_off[b],
                   la < lb ? la : lb);
    if (c)
        return c;
    return la < lb ? -1 : la > lb;
}

static int ex_tree_finish(ex_tree *t, tm_error *err);

int ex_tree_build(ex_tree *t, const ex_source *src, size_t nsrc,
                  const tm_attribution_options *attribution, int allow, tm_error *err)
{
    int rc = ex_tree_init(t, err);
    for (size_t i = 0; rc == TM_OK && i < nsrc; i++) {
        tm_progress p;
        tm_progress_begin(&p, allow, src[i].what, tm_snapshot_trace_count(src[i].snap));
        rc = ex_tree_add_snapshot(t, src[i].snap, src[i].side, attribution, &p, err);
        tm_progress_end(&p);
    }
    if (rc == TM_OK)
        rc = ex_tree_finish(t, err);
    if (rc != TM_OK)
        ex_tree_free(t); /* idempotent: init already freed on its own failure */
    return rc;
}

static int ex_tree_finish(ex_tree *t, tm_error *err)
{
    uint32_t *order = tm_malloc((t->nlabels ? t->nlabels : 1) * sizeof *order);
    uint32_t *rank = tm_malloc((t->nlabels ? t->nlabels : 1) * sizeof *rank);
    uint32_t *last = tm_malloc(t->nnodes * sizeof *last);
    uint32_t *bucket_head = NULL, *bucket_next = NULL;
    int rc = TM_OK;
    if (!order || !rank || !last) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory ordering the stack tree");
        goto out;
    }
    for (size_t i = 0; i < t->nlabels; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, t->nlabels, sizeof *order, rank_cmp, t);
    for (size_t i = 0; i < t->nlabels; i++)
        rank[order[i]] = (uint32_t)i;

    /* Bucket the non-root nodes by label rank, then append each to its
     * parent's child list in rank order: a linear-time sort. */
    bucket_head = tm_malloc((t->nlabels ? t->nlabels : 1) * sizeof *bucket_head);
    bucket_next = tm_malloc(t->nnodes * sizeof *bucket_next);
    if (!bucket_head || !bucket_next) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory ordering the stack tree");
        goto out;
    }
    memset(bucket_head, 0xff, (t->nlabels ? t->nlabels : 1) * sizeof *bucket_head);
    for (size_t i = t->nnodes; i-- > 1;) {
        uint32_t r = rank[t->nodes[i].label];
        bucket_next[i] = bucket_head[r];
        bucket_head[r] = (uint32_t)i;
    }
    for (size_t i = 0; i < t->nnodes; i++) {
        ex_node *nd = &t->nodes[i];
        nd->first_child = nd->next_sibling = TM_NONE;
        last[i] = TM_NONE;
    }
    for (size_t r = 0; r < t->nlabels; r++) {
        for (uint32_t i = bucket_head[r]; i != TM_NONE; i = bucket_next[i]) {
            uint32_t p = t->nodes[i].parent;
            if (last[p] == TM_NONE)
                t->nodes[p].first_child = i;
            else
                t->nodes[last[p]].next_sibling = i;
            last[p] = i;
        }
    }
    /* Children always have larger ids than their parent, so a node is
     * complete (self + all descendants) before it is added upward. */
    for (size_t i = t->nnodes; i-- > 1;) {
        ex_node *nd = &t->nodes[i];
        for (int s = 0; s < 2; s++) {
            t->nodes[nd->parent].size[s] += nd->size[s];
            t->nodes[nd->parent].count[s] += nd->count[s];
        }
    }
out:
    tm_free(order);
    tm_free(rank);
    tm_free(last);
    tm_free(bucket_head);
    tm_free(bucket_next);
    return rc;
}
