/* Interactive flame graphs as one self-contained HTML page (template in
 * export_flame.html, compiled in via export_flame_html.h). */
#include "export_internal.h"
#include "tm_estimate.h"

#include <string.h>

#include "export_flame_html.h"
#include "tm_alloc.h"

static int flame_write(const ex_tree *t, int diff, const tm_export_options *opts, const char *title,
                       const char *subtitle, FILE *out, tm_error *err);
static void flame_subtitle(char *buf, size_t cap, const tm_snapshot *snap, const ex_tree *t,
                           int side, const char *what);

int tm_export_flamegraph(const tm_snapshot *snap, const tm_export_options *opts_in, FILE *out,
                         tm_error *err)
{
    tm_export_options opts;
    int rc = ex_options(opts_in, &opts, err);
    if (rc)
        return rc;
    ex_tree t;
    const ex_source src[] = { { snap, 1, "building flame graph" } };
    rc = ex_tree_build(&t, src, 1, opts.attribution, opts.progress != TM_EXPORT_PROGRESS_OFF, err);
    if (rc)
        return rc;
    char sub[512];
    flame_subtitle(sub, sizeof sub, snap, &t, 1, "");
    rc = flame_write(&t, 0, &opts, opts.title ? opts.title : "Memory flame graph", sub, out, err);
    ex_tree_free(&t);
    return rc;
}

int tm_export_diff_flamegraph(const tm_snapshot *old_snap, const tm_snapshot *new_snap,
                              const tm_export_options *opts_in, FILE *out, tm_error *err)
{
    tm_export_options opts;
    int rc = ex_options(opts_in, &opts, err);
    if (rc)
        return rc;
    ex_tree t;
    const ex_source src[] = { { old_snap, 0, "reading OLD stacks" },
                              { new_snap, 1, "reading NEW stacks" } };
    rc = ex_tree_build(&t, src, 2, opts.attribution, opts.progress != TM_EXPORT_PROGRESS_OFF, err);
    if (rc)
        return rc;
    char sub[1200], a[512], b[512];
    flame_subtitle(a, sizeof a, new_snap, &t, 1, "NEW ");
    flame_subtitle(b, sizeof b, old_snap, &t, 0, "OLD ");
    snprintf(sub, sizeof sub, "%s; %s. Red grew, blue shrank; dashed frames exist only in OLD.", a,
             b);
    rc = flame_write(&t, 1, &opts, opts.title ? opts.title : "Memory diff flame graph", sub, out,
                     err);
    ex_tree_free(&t);
    return rc;
}

static void flame_subtitle(char *buf, size_t cap, const tm_snapshot *snap, const ex_tree *t,
                           int side, const char *what)
{
    char sz[32];
    ex_format_size(sz, sizeof sz, t->nodes[0].size[side]);
    const char *prog = tm_snapshot_string(snap, tm_snapshot_metadata(snap)->program, NULL);
    uint64_t rate = tm_snapshot_metadata(snap)->sample_rate;
    char smp[96] = "";
    if (rate) {
        char r[32];
        snprintf(smp, sizeof smp, " (estimates from a Poisson sample, one per %s on average)",
                 tm_sample_rate_text(r, sizeof r, rate));
    }
    snprintf(buf, cap, "%s%s%s%s%s in %llu allocations%s", what, *prog ? "program " : "", prog,
             *prog ? ": " : "", sz, (unsigned long long)t->nodes[0].count[side], smp);
}

static void put_u64(FILE *out, uint64_t v)
{
    fprintf(out, "%llu", (unsigned long long)v);
}

/* The data block: {"diff":..,"unit":..,"stride":..,"labels":[..],"nodes":[..]}
 * with nodes in preorder as (label, nchildren, width, size, count[, old size,
 * old count]).  In a diff a stack's width is its NEW weight, or its OLD one
 * when it is gone, so that removed stacks stay visible. */
static int flame_data(const ex_tree *t, int diff, int by_count, double min_width, FILE *out,
                      tm_error *err)
{
    uint64_t *width = tm_malloc(t->nnodes * sizeof *width);
    if (!width)
        return tm_error_set(err, TM_ENOMEM, "out of memory for %zu flame graph frames", t->nnodes);
    for (size_t i = 0; i < t->nnodes; i++) {
        uint64_t size, count;
        ex_node_self(t, (uint32_t)i, 1, &size, &count);
        if (diff && count == 0)
            ex_node_self(t, (uint32_t)i, 0, &size, &count);
        width[i] = by_count ? count : size;
    }
    for (size_t i = t->nnodes; i-- > 1;)
        width[t->nodes[i].parent] += width[i];
    /* A child is never wider than its parent, so pruning by width keeps
     * every ancestor of a kept frame. */
    double cut = min_width * (double)width[0];
#define FLAME_KEEP(i) ((i) == 0 || (double)width[i] >= cut)

    fprintf(out, "{\"version\":1,\"diff\":%s,\"unit\":\"%s\",\"stride\":%d,\"labels\":[",
            diff ? "true" : "false", by_count ? "allocations" : "bytes", diff ? 7 : 5);
    for (size_t i = 0; i < t->nlabels; i++) {
        size_t n;
        const char *s = ex_label(t, (uint32_t)i, &n);
        if (i)
            fputc(',', out);
        ex_put_json_string(out, s, n);
    }
    fputs("],\n\"nodes\":[", out);
    uint32_t n = 0;
    int first = 1;
    while (n != TM_NONE) {
        const ex_node *nd = &t->nodes[n];
        if (!first)
            fputc(',', out);
        first = 0;
        if (nd->label == TM_NONE)
            fputs("-1", out);
        else
            fprintf(out, "%u", (unsigned)nd->label);
        uint32_t nkept = 0;
        for (uint32_t c = nd->first_child; c != TM_NONE; c = t->nodes[c].next_sibling)
            nkept += FLAME_KEEP(c);
        fprintf(out, ",%u,", (unsigned)nkept);
        put_u64(out, width[n]);
        fputc(',', out);
        put_u64(out, nd->size[1]);
        fputc(',', out);
        put_u64(out, nd->count[1]);
        if (diff) {
            fputc(',', out);
            put_u64(out, nd->size[0]);
            fputc(',', out);
            put_u64(out, nd->count[0]);
        }
        /* Preorder walk over kept frames by first_child / next_sibling / parent. */
        uint32_t c = nd->first_child;
        while (c != TM_NONE && !FLAME_KEEP(c))
            c = t->nodes[c].next_sibling;
        if (c != TM_NONE) {
            n = c;
            continue;
        }
        for (;;) {
            if (n == 0) {
                n = TM_NONE;
                break;
            }
            uint32_t s = t->nodes[n].next_sibling;
            while (s != TM_NONE && !FLAME_KEEP(s))
                s = t->nodes[s].next_sibling;
            if (s != TM_NONE) {
                n = s;
                break;
            }
            n = t->nodes[n].parent;
        }
        if ((n & 0xfff) == 0 && ferror(out))
            break;
    }
#undef FLAME_KEEP
    fputs("]}", out);
    tm_free(width);
    return TM_OK;
}

static int flame_write(const ex_tree *t, int diff, const tm_export_options *opts, const char *title,
                       const char *subtitle, FILE *out, tm_error *err)
{
    int rc = TM_OK;
    for (int i = 0; i < EX_FLAME_NPARTS && rc == TM_OK; i++) {
        fputs(ex_flame_parts[i], out);
        if (i == EX_FLAME_NPARTS - 1)
            break;
        switch (ex_flame_slots[i]) {
        case EX_SLOT_TITLE: ex_put_xml_text(out, title, strlen(title)); break;
        case EX_SLOT_SUBTITLE: ex_put_xml_text(out, subtitle, strlen(subtitle)); break;
        case EX_SLOT_DATA:
            rc = flame_data(t, diff, opts->weight == TM_EXPORT_WEIGHT_COUNT, opts->min_width, out,
                            err);
            break;
        }
    }
    if (rc == TM_OK)
        rc = ex_check_stream(out, NULL, err);
    return rc;
}
