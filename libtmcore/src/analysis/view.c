/*
 * The per-snapshot view: frame names, and the inline-expanded stack tree.
 * This is the one place where a stack node becomes logical frames: a node's
 * frame is the innermost function inlined at its address, `inlined_by`
 * leads outward, and the node's parent continues the stack.
 */
#include "an_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tm_alloc.h"

static int nomem(tm_error *err, const char *what)
{
    return tm_error_set(err, TM_ENOMEM, "analysis: out of memory (%s)", what);
}

static int map_string(an_view *v, an_ctx *c, uint32_t sid, uint32_t *out, tm_error *err)
{
    if (sid < v->nstrings && v->str_map[sid] != TM_NONE) {
        *out = v->str_map[sid];
        return TM_OK;
    }
    size_t len;
    const char *s = tm_snapshot_string(v->snap, sid, &len);
    int rc = an_pool_intern(c, s, len, out, err);
    if (rc == TM_OK && sid < v->nstrings)
        v->str_map[sid] = *out;
    return rc;
}

/* "MODULE(FUNCTION)" for a frame the symbol tables name but no line table
 * covers (as glibc's backtrace_symbols writes it), else "MODULE+0xOFFSET". */
static int module_frame_name(an_view *v, an_ctx *c, const tm_frame *fr, uint32_t *out,
                             tm_error *err)
{
    const tm_module *m = &tm_snapshot_modules(v->snap)[fr->module];
    size_t plen, flen = 0;
    const char *path = tm_snapshot_string(v->snap, m->path, &plen);
    const char *fn = fr->function ? tm_snapshot_string(v->snap, fr->function, &flen) : NULL;
    size_t need = plen + (fn ? flen + 2 : 32);
    /* One per such frame: on the stack unless the names are long. */
    char local[512];
    char *buf = need <= sizeof local ? local : tm_malloc(need);
    if (!buf)
        return nomem(err, "frame name");
    memcpy(buf, path, plen);
    size_t n = plen;
    if (fn) {
        buf[n++] = '(';
        memcpy(buf + n, fn, flen);
        n += flen;
        buf[n++] = ')';
    } else {
        n += (size_t)snprintf(buf + plen, 32, "+0x%" PRIx64, fr->offset);
    }
    int rc = an_pool_intern(c, buf, n, out, err);
    if (buf != local)
        tm_free(buf);
    return rc;
}

/* The (filename, lineno) a frame is known by; see tm/stats.h. */
static int frame_name(an_view *v, an_ctx *c, const tm_frame *fr, uint32_t *name, uint32_t *line,
                      tm_error *err)
{
    if (fr->file != 0) {
        *line = fr->line;
        return map_string(v, c, fr->file, name, err);
    }
    *line = 0;
    if (fr->module != TM_NONE && fr->module < tm_snapshot_module_count(v->snap))
        return module_frame_name(v, c, fr, name, err);
    if (fr->function != 0 || fr->offset != 0) {
        *name = c->lf_name[c->unknown_lf];
        return TM_OK;
    }
    *line = fr->line;
    return map_string(v, c, 0, name, err);
}

static int add_lnode(an_view *v, size_t *cap, uint32_t frame, uint32_t parent, uint32_t lf,
                     uint32_t *out, tm_error *err)
{
    if (v->nlnodes >= UINT32_MAX - 1)
        return tm_error_set(err, TM_ELIMIT, "analysis: more than 2^32 logical frames");
    if (v->nlnodes >= *cap) {
        size_t c1 = *cap, c2 = *cap, c3 = *cap;
        if (tm_grow((void **)&v->lnode_frame, &c1, v->nlnodes + 1, sizeof *v->lnode_frame) ||
            tm_grow((void **)&v->lnode_parent, &c2, v->nlnodes + 1, sizeof *v->lnode_parent) ||
            tm_grow((void **)&v->lnode_lf, &c3, v->nlnodes + 1, sizeof *v->lnode_lf))
            return nomem(err, "logical stacks");
        *cap = c1;
    }
    v->lnode_frame[v->nlnodes] = frame;
    v->lnode_parent[v->nlnodes] = parent;
    v->lnode_lf[v->nlnodes] = lf;
    *out = (uint32_t)v->nlnodes++;
    return TM_OK;
}

int an_view_build(an_view *v, an_ctx *c, const tm_snapshot *snap, const tm_attribution *attr,
                  tm_error *err)
{
    memset(v, 0, sizeof *v);
    v->snap = snap;
    v->nstrings = tm_snapshot_string_count(snap);
    v->nframes = tm_snapshot_frame_count(snap);
    v->nstacks = tm_snapshot_stack_count(snap);
    const tm_frame *frames = tm_snapshot_frames(snap);
    const tm_stack_node *stacks = tm_snapshot_stacks(snap);
    uint32_t *chain = NULL;
    int rc = TM_OK;

    v->str_map = tm_malloc((v->nstrings ? v->nstrings : 1) * sizeof *v->str_map);
    v->frame_lf = tm_malloc((v->nframes ? v->nframes : 1) * sizeof *v->frame_lf);
    v->node_lnode = tm_malloc((v->nstacks ? v->nstacks : 1) * sizeof *v->node_lnode);
    v->node_vis = tm_malloc((v->nstacks ? v->nstacks : 1) * sizeof *v->node_vis);
    v->node_moved = tm_calloc(v->nstacks ? v->nstacks : 1, 1);
    chain = tm_malloc((v->nframes ? v->nframes : 1) * sizeof *chain);
    if (!v->str_map || !v->frame_lf || !v->node_lnode || !v->node_vis || !v->node_moved || !chain) {
        rc = nomem(err, "snapshot view");
        goto out;
    }
    memset(v->str_map, 0xff, (v->nstrings ? v->nstrings : 1) * sizeof *v->str_map);

    for (size_t f = 0; f < v->nframes; f++) {
        uint32_t name, line;
        if ((rc = frame_name(v, c, &frames[f], &name, &line, err)) != TM_OK ||
            (rc = an_lf_intern(c, name, line, &v->frame_lf[f], err)) != TM_OK)
            goto out;
    }

    size_t cap = 0;
    uint32_t id;
    /* lnode 0: root; lnode 1: the frame an empty stack stands for */
    if ((rc = add_lnode(v, &cap, TM_NONE, TM_NONE, TM_NONE, &id, err)) != TM_OK ||
        (rc = add_lnode(v, &cap, TM_NONE, 0, c->unknown_lf, &id, err)) != TM_OK)
        goto out;
    if (v->nstacks) {
        v->node_lnode[0] = 1;
        v->node_vis[0] = 0;
    }
    for (size_t s = 1; s < v->nstacks; s++) {
        uint32_t parent = stacks[s].parent, frame = stacks[s].frame;
        if (parent >= s || frame >= v->nframes) {
            rc = tm_error_set(err, TM_EFORMAT,
                              "stack %zu: parent %" PRIu32 " or frame %" PRIu32 " out of range", s,
                              parent, frame);
            goto out;
        }
        size_t n = 0;
        tm_stack_walk w;
        uint32_t f;
        int inlined;
        tm_stack_walk_init(&w, snap, (uint32_t)s);
        /* this node's chain only: the walk's next node frame ends it */
        while ((rc = tm_stack_walk_next(&f, &inlined, &w, err)) == TM_OK && f != TM_NONE &&
               (n == 0 || inlined))
            chain[n++] = f;
        if (rc != TM_OK)
            goto out;
        /* Hidden frames (tm/attribution.h) get no lnode: the next visible
         * one hangs from the caller's.  A stack with nothing visible keeps
         * its innermost frame, alone. */
        uint32_t l = parent == 0 ? 0 : v->node_vis[parent];
        for (size_t k = n; k-- > 0;) {
            if (tm_attribution_hides(attr, chain[k]))
                continue;
            if ((rc = add_lnode(v, &cap, chain[k], l, v->frame_lf[chain[k]], &l, err)) != TM_OK)
                goto out;
        }
        v->node_vis[s] = l;
        /* Counted at a caller's line: the innermost frame is hidden and
         * something is left (else it stays where it was, alone). */
        v->node_moved[s] = l != 0 && tm_attribution_hides(attr, chain[0]);
        if (l == 0 &&
            (rc = add_lnode(v, &cap, chain[0], 0, v->frame_lf[chain[0]], &l, err)) != TM_OK)
            goto out;
        v->node_lnode[s] = l;
    }
out:
    tm_free(chain);
    if (rc != TM_OK)
        an_view_destroy(v);
    return rc;
}

void an_view_destroy(an_view *v)
{
    tm_free(v->str_map);
    tm_free(v->frame_lf);
    tm_free(v->node_lnode);
    tm_free(v->node_vis);
    tm_free(v->node_moved);
    tm_free(v->lnode_frame);
    tm_free(v->lnode_parent);
    tm_free(v->lnode_lf);
    memset(v, 0, sizeof *v);
}

int an_view_key_lf(an_view *v, an_ctx *c, uint32_t lnode, tm_key_type key, uint32_t *out,
                   tm_error *err)
{
    uint32_t f = v->lnode_frame[lnode];
    uint32_t lf = v->lnode_lf[lnode];
    if (f == TM_NONE) {
        *out = lf;
        return TM_OK;
    }
    const tm_frame *fr = &tm_snapshot_frames(v->snap)[f];
    uint32_t name;
    int rc;
    switch (key) {
    case TM_KEY_LINENO:
    case TM_KEY_TRACEBACK: *out = lf; return TM_OK;
    case TM_KEY_FUNCTION:
        if (fr->function != 0) {
            if ((rc = map_string(v, c, fr->function, &name, err)) != TM_OK)
                return rc;
            return an_lf_intern(c, name, 0, out, err);
        }
        break;
    case TM_KEY_MODULE:
        if (fr->module != TM_NONE && fr->module < tm_snapshot_module_count(v->snap)) {
            uint32_t path = tm_snapshot_modules(v->snap)[fr->module].path;
            if ((rc = map_string(v, c, path, &name, err)) != TM_OK)
                return rc;
            return an_lf_intern(c, name, 0, out, err);
        }
        break;
    case TM_KEY_FILENAME:
        /* A native frame without a line is grouped by its module. */
        if (fr->file == 0 && fr->module != TM_NONE &&
            fr->module < tm_snapshot_module_count(v->snap)) {
            uint32_t path = tm_snapshot_modules(v->snap)[fr->module].path;
            if ((rc = map_string(v, c, path, &name, err)) != TM_OK)
                return rc;
            return an_lf_intern(c, name, 0, out, err);
        }
        break;
    }
    return an_lf_intern(c, c->lf_name[lf], 0, out, err);
}
