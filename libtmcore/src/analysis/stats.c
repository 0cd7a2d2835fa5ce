/*
 * Snapshot.statistics and Snapshot.compare_to.  The work per snapshot is:
 * build the view (per frame / per stack node, thousands), decide per stack
 * node which filters match, then one pass over the traces summing size and
 * count per stack node, then spread the per-node sums over group keys
 * (per node, or per logical frame when cumulative).  Groups are logical
 * stack ids (an_ctx ln), so the old and new snapshot of a diff meet on the
 * same integer keys.
 */
#include "an_internal.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tm/diff.h"
#include "tm/sample.h"
#include "tm_alloc.h"
#include "tm_estimate.h"
#include "tm_options.h"

struct tm_stats {
    an_ctx ctx;
    tm_key_type key;
    int cumulative, is_diff;
    tm_statistic *items;
    size_t n;
    tm_stat_frame *frames;
    uint64_t total_size, total_count, old_total_size, old_total_count;
    uint64_t hidden_traces, hidden_frames;
    uint64_t rate, old_rate;
    tm_stat_error *errors; /* parallel to items */
    tm_stat_error total_error;
};

/* A sampled side's sums per stack node or group: the estimates of size and
 * count and their variance estimates (tm/sample.h). */
enum { EST_SIZE, EST_COUNT, EST_VSIZE, EST_VCOUNT, EST_N };

typedef struct side {
    an_view view;
    uint64_t *node_size, *node_count;
    uint32_t *lkey;                 /* lnode -> group ln */
    uint64_t *acc_size, *acc_count; /* per ln, after accumulate() */
    uint64_t total_size, total_count;
    uint64_t hidden_traces; /* kept traces whose most recent frame is hidden */
    tm_attribution *attr;
    /* Sampled snapshots only (rate != 0): EST_N doubles per stack node and
     * per ln, and for the totals.  node_count and acc_count still count
     * the kept traces: they say which nodes and groups hold any. */
    uint64_t rate;
    double *node_est, *acc_est;
    double tot_est[EST_N];
} side;

static int run(tm_stats **out, const tm_snapshot *nsnap, const tm_snapshot *osnap,
               const tm_stats_options *o, tm_error *err);

int tm_stats_compute(tm_stats **out, const tm_snapshot *snap, const tm_stats_options *opts,
                     tm_error *err)
{
    return run(out, snap, NULL, opts, err);
}

int tm_stats_compare(tm_stats **out, const tm_snapshot *new_snap, const tm_snapshot *old_snap,
                     const tm_stats_options *opts, tm_error *err)
{
    return run(out, new_snap, old_snap, opts, err);
}

void tm_stats_free(tm_stats *st)
{
    if (!st)
        return;
    an_ctx_destroy(&st->ctx);
    tm_free(st->items);
    tm_free(st->errors);
    tm_free(st->frames);
    tm_free(st);
}

size_t tm_stats_count(const tm_stats *st)
{
    return st->n;
}
const tm_statistic *tm_stats_items(const tm_stats *st)
{
    return st->items;
}
tm_key_type tm_stats_key(const tm_stats *st)
{
    return st->key;
}
int tm_stats_cumulative(const tm_stats *st)
{
    return st->cumulative;
}
int tm_stats_is_diff(const tm_stats *st)
{
    return st->is_diff;
}
uint64_t tm_stats_total_size(const tm_stats *st)
{
    return st->total_size;
}
uint64_t tm_stats_total_count(const tm_stats *st)
{
    return st->total_count;
}
uint64_t tm_stats_old_total_size(const tm_stats *st)
{
    return st->old_total_size;
}
uint64_t tm_stats_old_total_count(const tm_stats *st)
{
    return st->old_total_count;
}
uint64_t tm_stats_hidden_traces(const tm_stats *st)
{
    return st->hidden_traces;
}
uint64_t tm_stats_hidden_frames(const tm_stats *st)
{
    return st->hidden_frames;
}
uint64_t tm_stats_sample_rate(const tm_stats *st)
{
    return st->rate;
}
uint64_t tm_stats_old_sample_rate(const tm_stats *st)
{
    return st->old_rate;
}
const tm_stat_error *tm_stats_errors(const tm_stats *st)
{
    return st->errors;
}
tm_stat_error tm_stats_total_error(const tm_stats *st)
{
    return st->total_error;
}

static const char *const key_names[] = { "lineno", "filename", "traceback", "function", "module" };

int tm_key_type_parse(tm_key_type *out, const char *name, tm_error *err)
{
    for (size_t i = 0; i < sizeof key_names / sizeof *key_names; i++) {
        if (strcmp(name, key_names[i]) == 0) {
            *out = (tm_key_type)i;
            return TM_OK;
        }
    }
    return tm_error_set(err, TM_EINVAL,
                        "unknown key type '%s' (expected lineno, filename, traceback, "
                        "function or module)",
                        name);
}

const char *tm_key_type_name(tm_key_type key)
{
    return (unsigned)key < sizeof key_names / sizeof *key_names ? key_names[key] : "?";
}

/* --- implementation ------------------------------------------------------ */

static int nomem(tm_error *err, const char *what)
{
    return tm_error_set(err, TM_ENOMEM, "analysis: out of memory (%s)", what);
}

static void side_destroy(side *sd)
{
    an_view_destroy(&sd->view);
    tm_attribution_free(sd->attr);
    tm_free(sd->node_size);
    tm_free(sd->node_count);
    tm_free(sd->lkey);
    tm_free(sd->acc_size);
    tm_free(sd->acc_count);
    tm_free(sd->node_est);
    tm_free(sd->acc_est);
    memset(sd, 0, sizeof *sd);
}

/* A second pass for a sampled snapshot, apart from the exact one so that
 * exact snapshots keep their tight loop: per stack node and in total, the
 * weighted sums and variance terms of the kept traces (stacks were checked
 * by the first pass). */
static void side_estimate(side *sd, const tm_trace *t, size_t n, const an_filters *fs,
                          const uint64_t *node_mask, const uint8_t *node_keep)
{
    double *tot = sd->tot_est;
    for (size_t i = 0; i < n; i++) {
        uint32_t s = t[i].stack;
        if (fs->n && !an_filters_keep_trace(fs, node_mask, node_keep, s, t[i].domain))
            continue;
        tm_sample_terms m = tm_sample_terms_of(t[i].size, sd->rate);
        double e[EST_N] = { m.bytes, m.weight, m.var_bytes, m.var_count };
        double *node = &sd->node_est[(size_t)s * EST_N];
        for (int k = 0; k < EST_N; k++) {
            node[k] += e[k];
            tot[k] += e[k];
        }
    }
}

/* Per stack node: filter, sum the traces, and find every lnode's group. */
static int side_prepare(side *sd, an_ctx *c, an_filters *fs, const tm_snapshot *snap,
                        const tm_stats_options *o, tm_error *err)
{
    int rc = tm_attribution_new(&sd->attr, snap, o->attribution, err);
    if (rc != TM_OK || (rc = an_view_build(&sd->view, c, snap, sd->attr, err)) != TM_OK)
        return rc;
    an_view *v = &sd->view;
    size_t S = v->nstacks ? v->nstacks : 1, L = v->nlnodes;
    uint64_t *node_mask = NULL;
    uint8_t *node_keep = NULL;
    uint32_t *frame_key = NULL, *path = NULL;
    sd->node_size = tm_calloc(S, sizeof *sd->node_size);
    sd->node_count = tm_calloc(S, sizeof *sd->node_count);
    sd->lkey = tm_malloc(L * sizeof *sd->lkey);
    sd->rate = tm_snapshot_metadata(snap)->sample_rate;
    if (sd->rate)
        sd->node_est = tm_calloc(S * EST_N, sizeof *sd->node_est);
    if (!sd->node_size || !sd->node_count || !sd->lkey || (sd->rate && !sd->node_est)) {
        rc = nomem(err, "statistics");
        goto out;
    }

    if (fs->n && (rc = an_filters_nodes(fs, c, v, &node_mask, &node_keep, err)) != TM_OK)
        goto out;

    /* The one pass over all traces: locals so that the compiler keeps the
     * totals in registers (the node arrays could alias *sd). */
    const tm_trace *t = tm_snapshot_traces(snap);
    size_t N = tm_snapshot_trace_count(snap);
    uint64_t *node_size = sd->node_size, *node_count = sd->node_count;
    uint64_t tot_size = 0, tot_count = 0;
    const uint32_t nst = (uint32_t)v->nstacks;
    for (size_t i = 0; i < N; i++) {
        uint32_t s = t[i].stack;
        if (s >= nst) {
            rc = tm_error_set(err, TM_EFORMAT, "trace %zu: stack %u out of range", i, s);
            goto out;
        }
        if (fs->n && !an_filters_keep_trace(fs, node_mask, node_keep, s, t[i].domain))
            continue;
        node_size[s] += t[i].size;
        node_count[s]++;
        tot_size += t[i].size;
        tot_count++;
    }
    sd->total_size = tot_size;
    sd->total_count = tot_count;
    if (sd->rate)
        side_estimate(sd, t, N, fs, node_mask, node_keep);
    /* Per stack node, not per trace: the traces moved are those of the
     * nodes whose most recent frame is hidden. */
    uint64_t moved = 0;
    double moved_est = 0;
    for (size_t k = 0; k < v->nstacks; k++) {
        moved += v->node_moved[k] ? node_count[k] : 0;
        moved_est += v->node_moved[k] && sd->rate ? sd->node_est[k * EST_N + EST_COUNT] : 0;
    }
    sd->hidden_traces = sd->rate ? tm_estimate_u64(moved_est) : moved;

    sd->lkey[0] = 0;
    if (o->key != TM_KEY_TRACEBACK) {
        /* single-frame keys depend on the frame only: one lookup per frame */
        size_t F = v->nframes;
        frame_key = tm_malloc((F + 1) * sizeof *frame_key);
        if (!frame_key) {
            rc = nomem(err, "statistics");
            goto out;
        }
        memset(frame_key, 0xff, (F + 1) * sizeof *frame_key);
        for (size_t l = 1; l < L; l++) {
            uint32_t f = v->lnode_frame[l];
            uint32_t *slot = &frame_key[f == TM_NONE ? F : f];
            if (*slot == TM_NONE) {
                uint32_t lf;
                if ((rc = an_view_key_lf(v, c, (uint32_t)l, o->key, &lf, err)) != TM_OK ||
                    (rc = an_ln_intern(c, lf, 0, slot, err)) != TM_OK)
                    goto out;
            }
            sd->lkey[l] = *slot;
        }
    } else {
        /* whole stacks: intern only the paths of stacks that hold traces */
        for (size_t l = 1; l < L; l++)
            sd->lkey[l] = TM_NONE;
        path = tm_malloc(L * sizeof *path);
        if (!path) {
            rc = nomem(err, "statistics");
            goto out;
        }
        for (size_t s = 0; s < v->nstacks; s++) {
            if (!sd->node_count[s])
                continue;
            size_t depth = 0;
            for (uint32_t l = v->node_lnode[s]; sd->lkey[l] == TM_NONE; l = v->lnode_parent[l])
                path[depth++] = l;
            while (depth-- > 0) {
                uint32_t l = path[depth];
                if ((rc = an_ln_intern(c, v->lnode_lf[l], sd->lkey[v->lnode_parent[l]],
                                       &sd->lkey[l], err)) != TM_OK)
                    goto out;
            }
        }
    }
out:
    tm_free(frame_key);
    tm_free(path);
    tm_free(node_mask);
    tm_free(node_keep);
    return rc;
}

/* Spreads per-node sums over group keys; needs the final ctx size.
 * Cumulative: each trace counts at every logical frame of its stack, which
 * is the sum over each logical node of the traces below it — summed from
 * the leaves up (a parent's id is below its children's), so the cost is one
 * pass over the nodes, not a walk per stack (stacks x depth: a 300 KB file
 * of 4000 leaves under one 65535-frame chain took 1.1 s, and grew with the
 * product). */
static int side_accumulate(side *sd, an_ctx *c, int cumulative, tm_error *err)
{
    sd->acc_size = tm_calloc(c->nln, sizeof *sd->acc_size);
    sd->acc_count = tm_calloc(c->nln, sizeof *sd->acc_count);
    if (sd->rate)
        sd->acc_est = tm_calloc(c->nln * EST_N, sizeof *sd->acc_est);
    if (!sd->acc_size || !sd->acc_count || (sd->rate && !sd->acc_est))
        return nomem(err, "statistics");
    const an_view *v = &sd->view;
    const double *est = sd->rate ? sd->node_est : NULL;
    if (!cumulative) {
        for (size_t s = 0; s < v->nstacks; s++) {
            if (!sd->node_count[s])
                continue;
            uint32_t k = sd->lkey[v->node_lnode[s]];
            sd->acc_size[k] += sd->node_size[s];
            sd->acc_count[k] += sd->node_count[s];
            if (est)
                for (int e = 0; e < EST_N; e++)
                    sd->acc_est[(size_t)k * EST_N + e] += est[s * EST_N + e];
        }
        return TM_OK;
    }
    /* Cumulative: each logical node's subtree sums go to its group, so a
     * group met twice on one stack (recursion) gets the inner sums twice, as
     * Python counts it, but its variance only twice where it is four times:
     * the standard error of such a group is low by up to a factor sqrt(2)
     * per repetition. */
    size_t L = v->nlnodes;
    uint64_t *sub_size = tm_calloc(L ? L : 1, sizeof *sub_size);
    uint64_t *sub_count = tm_calloc(L ? L : 1, sizeof *sub_count);
    double *sub_est = est ? tm_calloc((L ? L : 1) * EST_N, sizeof *sub_est) : NULL;
    if (!sub_size || !sub_count || (est && !sub_est)) {
        tm_free(sub_size);
        tm_free(sub_count);
        tm_free(sub_est);
        return nomem(err, "statistics");
    }
    for (size_t s = 0; s < v->nstacks; s++) {
        uint32_t l = v->node_lnode[s];
        sub_size[l] += sd->node_size[s];
        sub_count[l] += sd->node_count[s];
        if (est)
            for (int e = 0; e < EST_N; e++)
                sub_est[(size_t)l * EST_N + e] += est[s * EST_N + e];
    }
    for (size_t l = L; l-- > 1;) {
        uint32_t k = sd->lkey[l], up = v->lnode_parent[l];
        sd->acc_size[k] += sub_size[l];
        sd->acc_count[k] += sub_count[l];
        sub_size[up] += sub_size[l];
        sub_count[up] += sub_count[l];
        if (est)
            for (int e = 0; e < EST_N; e++) {
                sd->acc_est[(size_t)k * EST_N + e] += sub_est[l * EST_N + e];
                sub_est[(size_t)up * EST_N + e] += sub_est[l * EST_N + e];
            }
    }
    tm_free(sub_size);
    tm_free(sub_count);
    tm_free(sub_est);
    return TM_OK;
}

/* --- ordering ---------------------------------------------------------- */

typedef struct sort_ctx {
    const an_ctx *c;
    const uint32_t *rank; /* pool id -> rank by content */
    const tm_statistic *items;
    const uint32_t *const *lfs; /* per item: lf ids, oldest first */
    int diff;
} sort_ctx;

static int cmp_u64(uint64_t a, uint64_t b)
{
    return (a > b) - (a < b);
}

static uint64_t abs64(int64_t x)
{
    return x < 0 ? 0 - (uint64_t)x : (uint64_t)x;
}

static int cmp_traceback(const sort_ctx *sc, size_t a, size_t b)
{
    const uint32_t *la = sc->lfs[a], *lb = sc->lfs[b];
    size_t na = sc->items[a].nframes, nb = sc->items[b].nframes;
    for (size_t i = 0; i < na && i < nb; i++) {
        if (la[i] == lb[i])
            continue;
        uint32_t ra = sc->rank[sc->c->lf_name[la[i]]], rb = sc->rank[sc->c->lf_name[lb[i]]];
        if (ra != rb)
            return ra < rb ? -1 : 1;
        int r = cmp_u64(sc->c->lf_line[la[i]], sc->c->lf_line[lb[i]]);
        if (r)
            return r;
    }
    return cmp_u64(na, nb);
}

/* Python sorts with reverse=True by the key tuple: descending. */
static int cmp_items(const void *pa, const void *pb, void *arg)
{
    const sort_ctx *sc = arg;
    size_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    const tm_statistic *x = &sc->items[a], *y = &sc->items[b];
    int r;
    if (sc->diff) {
        if ((r = cmp_u64(abs64(x->size_diff), abs64(y->size_diff))) ||
            (r = cmp_u64(x->size, y->size)) ||
            (r = cmp_u64(abs64(x->count_diff), abs64(y->count_diff))) ||
            (r = cmp_u64(x->count, y->count)))
            return -r;
    } else if ((r = cmp_u64(x->size, y->size)) || (r = cmp_u64(x->count, y->count))) {
        return -r;
    }
    return -cmp_traceback(sc, a, b);
}

static int cmp_pool(const void *pa, const void *pb, void *arg)
{
    const an_ctx *rank_ctx = arg;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    uint32_t la = rank_ctx->str_len[a], lb = rank_ctx->str_len[b];
    int r = memcmp(rank_ctx->str[a], rank_ctx->str[b], la < lb ? la : lb);
    return r ? r : cmp_u64(la, lb);
}

/* Builds the sorted result from per-ln sums (old may be NULL). */
static int emit(tm_stats *st, const side *nw, const side *old, tm_error *err)
{
    an_ctx *c = &st->ctx;
    size_t ngroups = 0, nframes = 0;
    for (size_t id = 1; id < c->nln; id++) {
        if (nw->acc_count[id] || (old && old->acc_count[id])) {
            ngroups++;
            nframes += c->ln_depth[id];
        }
    }
    int rc = TM_OK;
    uint32_t *order = NULL, *rank = NULL, *lfbuf = NULL, *perm = NULL;
    uint32_t **lfs = NULL;
    tm_statistic *items = tm_calloc(ngroups ? ngroups : 1, sizeof *items);
    tm_stat_error *errs = tm_calloc(ngroups ? ngroups : 1, sizeof *errs);
    st->frames = tm_malloc((nframes ? nframes : 1) * sizeof *st->frames);
    lfbuf = tm_malloc((nframes ? nframes : 1) * sizeof *lfbuf);
    lfs = tm_malloc((ngroups ? ngroups : 1) * sizeof *lfs);
    order = tm_malloc((ngroups ? ngroups : 1) * sizeof *order);
    perm = tm_malloc((c->nstr ? c->nstr : 1) * sizeof *perm);
    rank = tm_malloc((c->nstr ? c->nstr : 1) * sizeof *rank);
    if (!items || !errs || !st->frames || !lfbuf || !lfs || !order || !perm || !rank) {
        tm_free(items);
        tm_free(errs);
        rc = nomem(err, "statistics");
        goto out;
    }
    size_t g = 0, f = 0;
    for (size_t id = 1; id < c->nln; id++) {
        uint64_t ns = nw->acc_size[id], nc = nw->acc_count[id];
        uint64_t os = old ? old->acc_size[id] : 0, oc = old ? old->acc_count[id] : 0;
        if (!nc && !oc)
            continue;
        tm_stat_error *er = &errs[g];
        if (nw->rate) {
            const double *e = &nw->acc_est[id * EST_N];
            ns = tm_estimate_u64(e[EST_SIZE]);
            nc = tm_estimate_u64(e[EST_COUNT]);
            er->size = sqrt(e[EST_VSIZE]);
            er->count = sqrt(e[EST_VCOUNT]);
        }
        if (old && old->rate) {
            const double *e = &old->acc_est[id * EST_N];
            os = tm_estimate_u64(e[EST_SIZE]);
            oc = tm_estimate_u64(e[EST_COUNT]);
            er->old_size = sqrt(e[EST_VSIZE]);
            er->old_count = sqrt(e[EST_VCOUNT]);
        }
        er->size_diff = hypot(er->size, er->old_size);
        er->count_diff = hypot(er->count, er->old_count);
        tm_statistic *it = &items[g];
        size_t depth = c->ln_depth[id];
        it->frames = &st->frames[f];
        it->nframes = depth;
        it->size = ns;
        it->count = nc;
        if (old) {
            it->size_diff = (int64_t)(ns - os);
            it->count_diff = (int64_t)(nc - oc);
        }
        lfs[g] = &lfbuf[f];
        /* ln chains run most recent first; Traceback order is oldest first */
        size_t k = depth;
        for (uint32_t l = (uint32_t)id; l != 0; l = c->ln_parent[l]) {
            uint32_t lf = c->ln_lf[l];
            k--;
            lfbuf[f + k] = lf;
            st->frames[f + k].filename = c->str[c->lf_name[lf]];
            st->frames[f + k].filename_len = c->str_len[c->lf_name[lf]];
            st->frames[f + k].lineno = c->lf_line[lf];
        }
        order[g] = (uint32_t)g;
        f += depth;
        g++;
    }
    for (size_t i = 0; i < c->nstr; i++)
        perm[i] = (uint32_t)i;
    qsort_r(perm, c->nstr, sizeof *perm, cmp_pool, c);
    for (size_t i = 0; i < c->nstr; i++)
        rank[perm[i]] = (uint32_t)i;
    sort_ctx sc = { c, rank, items, (const uint32_t *const *)lfs, old != NULL };
    qsort_r(order, ngroups, sizeof *order, cmp_items, &sc);
    st->items = tm_malloc((ngroups ? ngroups : 1) * sizeof *st->items);
    st->errors = tm_malloc((ngroups ? ngroups : 1) * sizeof *st->errors);
    if (!st->items || !st->errors) {
        tm_free(items);
        tm_free(errs);
        rc = nomem(err, "statistics");
        goto out;
    }
    for (size_t i = 0; i < ngroups; i++) {
        st->items[i] = items[order[i]];
        st->errors[i] = errs[order[i]];
    }
    st->n = ngroups;
    tm_free(items);
    tm_free(errs);
out:
    tm_free(order);
    tm_free(rank);
    tm_free(lfbuf);
    tm_free(lfs);
    tm_free(perm);
    return rc;
}

/* Bytes of a version's struct: version 1 ended before `attribution`. */
static size_t options_size(unsigned version)
{
    return version == 1                       ? offsetof(tm_stats_options, attribution)
        : version == TM_STATS_OPTIONS_VERSION ? sizeof(tm_stats_options)
                                              : 0;
}

int tm_stats_options_init(tm_stats_options *opts, unsigned version, tm_error *err)
{
    const tm_stats_options d = TM_STATS_OPTIONS_INIT;
    tm_stats_options o;
    int rc = tm_options_load(&o, &d, sizeof o, &d, options_size(version), version,
                             TM_STATS_OPTIONS_VERSION, "statistics", err);
    if (rc == TM_OK) {
        memcpy(opts, &o, options_size(version));
        opts->version = version;
    }
    return rc;
}

static int run(tm_stats **out, const tm_snapshot *nsnap, const tm_snapshot *osnap,
               const tm_stats_options *o, tm_error *err)
{
    *out = NULL;
    const tm_stats_options defaults = TM_STATS_OPTIONS_INIT;
    tm_stats_options local;
    int rc = tm_options_load(&local, &defaults, sizeof local, o, o ? options_size(o->version) : 0,
                             o ? o->version : 0, TM_STATS_OPTIONS_VERSION, "statistics", err);
    if (rc != TM_OK)
        return rc;
    o = &local;
    if (o->nfilters && !o->filters)
        return tm_error_set(err, TM_EINVAL, "statistics: %zu filters but no array", o->nfilters);
    if (o->key > TM_KEY_MODULE)
        return tm_error_set(err, TM_EINVAL, "statistics: unknown key type %d", (int)o->key);
    if (o->cumulative && o->key == TM_KEY_TRACEBACK)
        return tm_error_set(err, TM_EINVAL,
                            "cumulative mode cannot be used with key type 'traceback'");
    tm_stats *st = tm_calloc(1, sizeof *st);
    if (!st)
        return nomem(err, "statistics");
    st->key = o->key;
    st->cumulative = o->cumulative;
    st->is_diff = osnap != NULL;
    side nw = { 0 }, old = { 0 };
    an_filters fs = { 0 };
    rc = an_ctx_init(&st->ctx, err);
    if (rc != TM_OK) {
        tm_free(st);
        return rc;
    }
    if ((rc = an_filters_init(&fs, o->filters, o->nfilters, err)) != TM_OK)
        goto out;
    if ((rc = side_prepare(&nw, &st->ctx, &fs, nsnap, o, err)) != TM_OK)
        goto out;
    if (osnap && (rc = side_prepare(&old, &st->ctx, &fs, osnap, o, err)) != TM_OK)
        goto out;
    if ((rc = side_accumulate(&nw, &st->ctx, o->cumulative, err)) != TM_OK)
        goto out;
    if (osnap && (rc = side_accumulate(&old, &st->ctx, o->cumulative, err)) != TM_OK)
        goto out;
    st->total_size = nw.rate ? tm_estimate_u64(nw.tot_est[EST_SIZE]) : nw.total_size;
    st->total_count = nw.rate ? tm_estimate_u64(nw.tot_est[EST_COUNT]) : nw.total_count;
    st->old_total_size = old.rate ? tm_estimate_u64(old.tot_est[EST_SIZE]) : old.total_size;
    st->old_total_count = old.rate ? tm_estimate_u64(old.tot_est[EST_COUNT]) : old.total_count;
    st->rate = nw.rate;
    st->old_rate = old.rate;
    tm_stat_error *te = &st->total_error;
    te->size = sqrt(nw.tot_est[EST_VSIZE]);
    te->count = sqrt(nw.tot_est[EST_VCOUNT]);
    te->old_size = sqrt(old.tot_est[EST_VSIZE]);
    te->old_count = sqrt(old.tot_est[EST_VCOUNT]);
    te->size_diff = hypot(te->size, te->old_size);
    te->count_diff = hypot(te->count, te->old_count);
    st->hidden_traces = nw.hidden_traces;
    st->hidden_frames =
        tm_attribution_hidden_frames(nw.attr) + tm_attribution_hidden_frames(old.attr);
    rc = emit(st, &nw, osnap ? &old : NULL, err);
out:
    side_destroy(&nw);
    side_destroy(&old);
    an_filters_destroy(&fs);
    if (rc != TM_OK)
        tm_stats_free(st);
    else
        *out = st;
    return rc;
}
