/* Folded ("collapsed") stacks: root;caller;...;leaf WEIGHT. */
#include "export_internal.h"

#include "tm_alloc.h"

int tm_export_folded(const tm_snapshot *snap, const tm_export_options *opts_in, FILE *out,
                     tm_error *err)
{
    tm_export_options opts;
    int rc = ex_options(opts_in, &opts, err);
    if (rc)
        return rc;
    ex_tree t;
    int allow = opts.progress != TM_EXPORT_PROGRESS_OFF;
    const ex_source src[] = { { snap, 0, "folding stacks" } };
    rc = ex_tree_build(&t, src, 1, opts.attribution, allow, err);
    if (rc)
        return rc;
    tm_progress p;
    uint32_t *path = NULL;
    if (rc == TM_OK) {
        path = tm_malloc((t.max_depth + 1) * sizeof *path);
        if (!path)
            rc = tm_error_set(err, TM_ENOMEM, "out of memory for a stack of depth %u",
                              (unsigned)t.max_depth);
    }
    if (rc == TM_OK) {
        tm_progress_begin(&p, allow, "writing folded stacks", t.nnodes);
        size_t done = 0;
        /* Depth-first, siblings in label order; path[d] is the label at
         * depth d (1-based: depth 0 is the root, which is not printed). */
        uint32_t n = t.nodes[0].first_child;
        while (n != TM_NONE) {
            const ex_node *nd = &t.nodes[n];
            tm_progress_tick(&p, ++done);
            path[nd->depth] = nd->label;
            uint64_t self_size, self_count;
            ex_node_self(&t, n, 0, &self_size, &self_count);
            if (self_count > 0) {
                for (uint32_t d = 1; d <= nd->depth; d++) {
                    size_t len;
                    const char *s = ex_label(&t, path[d], &len);
                    if (d > 1)
                        fputc(';', out);
                    ex_put_folded_label(out, s, len);
                }
                fprintf(out, " %llu\n",
                        (unsigned long long)(opts.weight == TM_EXPORT_WEIGHT_COUNT ? self_count
                                                                                   : self_size));
            }
            if (nd->first_child != TM_NONE) {
                n = nd->first_child;
                continue;
            }
            while (n != TM_NONE && t.nodes[n].next_sibling == TM_NONE)
                n = t.nodes[n].parent == 0 ? TM_NONE : t.nodes[n].parent;
            if (n != TM_NONE)
                n = t.nodes[n].next_sibling;
        }
        tm_progress_end(&p);
        rc = ex_check_stream(out, NULL, err);
    }
    tm_free(path);
    ex_tree_free(&t);
    return rc;
}
