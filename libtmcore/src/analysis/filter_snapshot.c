/* Snapshot.filter_traces: copy a snapshot, keeping the traces filters keep. */
#include "an_internal.h"

#include <string.h>

#include "tm_alloc.h"
#include "tm_snapshot_internal.h"

static int copy_model(tm_snapshot *dst, const tm_snapshot *src, uint32_t *smap, uint32_t *fmap,
                      uint32_t *stmap, tm_error *err);

int tm_snapshot_filter_traces(tm_snapshot **out, const tm_snapshot *snap, const tm_filter *filters,
                              size_t nfilters, tm_error *err)
{
    *out = NULL;
    if (nfilters && !filters)
        return tm_error_set(err, TM_EINVAL, "filter_traces: %zu filters but no array", nfilters);
    an_ctx c;
    an_view v;
    an_filters fs;
    memset(&v, 0, sizeof v);
    memset(&fs, 0, sizeof fs);
    uint64_t *node_mask = NULL;
    uint8_t *node_keep = NULL;
    tm_snapshot *ns = NULL;
    size_t nstr = tm_snapshot_string_count(snap), nfr = tm_snapshot_frame_count(snap);
    size_t nst = tm_snapshot_stack_count(snap);
    uint32_t *smap = tm_malloc((nstr + 1) * sizeof *smap);
    uint32_t *fmap = tm_malloc((nfr + 1) * sizeof *fmap);
    uint32_t *stmap = tm_malloc((nst + 1) * sizeof *stmap);
    int rc = an_ctx_init(&c, err);
    if (rc != TM_OK) {
        tm_free(smap);
        tm_free(fmap);
        tm_free(stmap);
        return rc;
    }
    if (!smap || !fmap || !stmap) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory (filter_traces)");
        goto out;
    }
    if (nfilters) {
        if ((rc = an_filters_init(&fs, filters, nfilters, err)) != TM_OK ||
            (rc = an_view_build(&v, &c, snap, NULL, err)) != TM_OK ||
            (rc = an_filters_nodes(&fs, &c, &v, &node_mask, &node_keep, err)) != TM_OK)
            goto out;
    }
    if ((rc = tm_snapshot_new(&ns, err)) != TM_OK ||
        (rc = copy_model(ns, snap, smap, fmap, stmap, err)) != TM_OK)
        goto out;
    const tm_trace *t = tm_snapshot_traces(snap);
    size_t ntr = tm_snapshot_trace_count(snap), kept = 0;
    for (size_t i = 0; i < ntr; i++) {
        if (t[i].stack >= nst) {
            rc = tm_error_set(err, TM_EFORMAT, "trace %zu: stack %u out of range", i, t[i].stack);
            goto out;
        }
        kept +=
            !nfilters || an_filters_keep_trace(&fs, node_mask, node_keep, t[i].stack, t[i].domain);
    }
    if ((rc = tm_snapshot_reserve_traces(ns, kept, err)) != TM_OK)
        goto out;
    for (size_t i = 0; i < ntr; i++) {
        uint32_t s = t[i].stack;
        if (nfilters && !an_filters_keep_trace(&fs, node_mask, node_keep, s, t[i].domain))
            continue;
        tm_trace copy = t[i];
        copy.stack = stmap[s];
        if ((rc = tm_snapshot_add_trace(ns, &copy, tm_snapshot_trace_total_nframe(snap, i), err)) !=
            TM_OK)
            goto out;
    }
out:
    tm_free(smap);
    tm_free(fmap);
    tm_free(stmap);
    tm_free(node_mask);
    tm_free(node_keep);
    an_filters_destroy(&fs);
    an_view_destroy(&v);
    an_ctx_destroy(&c);
    if (rc != TM_OK)
        tm_snapshot_free(ns);
    else
        *out = ns;
    return rc;
}

/* A frame's inlined_by must exist in dst before the frame does, but it need
 * not come earlier in src: the symbolizer rewrites a frame in place
 * (tm_snapshot_set_frame) to link it to an enclosing caller it interned
 * after it.  So frames are copied in tm_snapshot_inline_order, the order the
 * .tms writer lists them in, which checks the model's own invariant (in
 * range, no cycle): whatever is copied here can be written and read back. */
static int copy_frames(tm_snapshot *dst, const tm_snapshot *src, const uint32_t *smap,
                       uint32_t *fmap, tm_error *err)
{
    size_t nstr = tm_snapshot_string_count(src), nfr = tm_snapshot_frame_count(src);
    const tm_frame *frames = tm_snapshot_frames(src);
    uint32_t *order = tm_malloc((nfr ? nfr : 1) * sizeof *order);
    if (!order)
        return tm_error_set(err, TM_ENOMEM, "out of memory (filter_traces)");
    int rc = tm_snapshot_inline_order(order, src, err);
    for (size_t k = 0; k < nfr && rc == TM_OK; k++) {
        tm_frame f = frames[order[k]];
        f.function = f.function < nstr ? smap[f.function] : 0;
        f.file = f.file < nstr ? smap[f.file] : 0;
        if (f.inlined_by != TM_NONE)
            f.inlined_by = fmap[f.inlined_by];
        rc = tm_snapshot_intern_frame(&fmap[order[k]], dst, &f, err);
    }
    tm_free(order);
    return rc;
}

/* Everything but the traces; *map[old id] = new id. */
static int copy_model(tm_snapshot *dst, const tm_snapshot *src, uint32_t *smap, uint32_t *fmap,
                      uint32_t *stmap, tm_error *err)
{
    int rc;
    size_t nstr = tm_snapshot_string_count(src);
    smap[0] = 0;
    for (size_t i = 1; i < nstr; i++) {
        size_t len;
        const char *s = tm_snapshot_string(src, (uint32_t)i, &len);
        if ((rc = tm_snapshot_intern_string(&smap[i], dst, s, len, err)) != TM_OK)
            return rc;
    }
#define MAP_STR(id) ((id) < nstr ? smap[id] : 0)
    const tm_module *mods = tm_snapshot_modules(src);
    for (size_t i = 0; i < tm_snapshot_module_count(src); i++) {
        tm_module m = mods[i];
        uint32_t id;
        m.path = MAP_STR(m.path);
        if ((rc = tm_snapshot_add_module(&id, dst, &m, err)) != TM_OK)
            return rc;
    }
    if ((rc = copy_frames(dst, src, smap, fmap, err)) != TM_OK)
        return rc;
    const tm_stack_node *st = tm_snapshot_stacks(src);
    size_t nst = tm_snapshot_stack_count(src);
    if (nst)
        stmap[0] = 0;
    for (size_t i = 1; i < nst; i++) {
        if (st[i].parent >= i || st[i].frame >= tm_snapshot_frame_count(src))
            return tm_error_set(err, TM_EFORMAT, "stack %zu: parent or frame out of range", i);
        if ((rc = tm_snapshot_intern_stack_node(&stmap[i], dst, stmap[st[i].parent],
                                                fmap[st[i].frame], err)) != TM_OK)
            return rc;
    }
    tm_metadata md = *tm_snapshot_metadata(src);
    md.program = MAP_STR(md.program);
    md.host = MAP_STR(md.host);
    md.trigger = MAP_STR(md.trigger);
    md.tool_version = MAP_STR(md.tool_version);
    if ((rc = tm_snapshot_set_metadata(dst, &md, err)) != TM_OK)
        return rc;
    size_t argc = tm_snapshot_argc(src);
    if (argc) {
        const char **argv = tm_malloc(argc * sizeof *argv);
        if (!argv)
            return tm_error_set(err, TM_ENOMEM, "out of memory (filter_traces)");
        for (size_t i = 0; i < argc; i++)
            argv[i] = tm_snapshot_string(src, tm_snapshot_argv(src)[i], NULL);
        rc = tm_snapshot_set_argv(dst, argv, argc, err);
        tm_free(argv);
    }
#undef MAP_STR
    return rc;
}
