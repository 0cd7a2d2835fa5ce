/*
 * Private to the exporters (formats/src/export/): the logical stack tree
 * that folded stacks and flame graphs are drawn from, and small writers.
 *
 * The tree is a trie of labels: node 0 is the root ("all"); every other node
 * is (parent, label).  Two snapshots can be added to one tree ("sides" 0 and
 * 1, for a diff); labels are shared between them, so equal stacks meet in
 * the same node.  Values added per trace go to the node where the stack ends
 * ("self"); finishing the build sums them into inclusive values and links
 * children in label order.
 */
#ifndef TM_EXPORT_INTERNAL_H
#define TM_EXPORT_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "tm/error.h"
#include "tm/export.h"
#include "tm/snapshot.h"

#include "tm_hash.h"
#include "tm_progress.h"

typedef struct ex_node {
    uint32_t parent;       /* TM_NONE for the root */
    uint32_t label;        /* label id; TM_NONE for the root */
    uint32_t first_child;  /* TM_NONE if none (after finish) */
    uint32_t next_sibling; /* TM_NONE if last (after finish) */
    uint32_t depth;        /* root 0 */
    /* While adding: what ends exactly here ("self").  After finish:
     * inclusive of all descendants; ex_node_self() gives the self part. */
    uint64_t size[2], count[2];
} ex_node;

typedef struct ex_tree {
    ex_node *nodes;
    size_t nnodes, node_cap;
    tm_hindex edge_index; /* (parent, label) -> node id; the root is not in it */

    char *label_bytes; /* all labels, each NUL-terminated */
    size_t label_bytes_len, label_bytes_cap;
    uint64_t *label_off; /* offset of label i in label_bytes */
    uint32_t *label_len;
    size_t nlabels, label_cap, label_len_cap;
    tm_hindex label_index; /* label -> label id */

    uint32_t max_depth;
} ex_tree;

void ex_tree_free(ex_tree *t);

/* One snapshot's traces to add on a side, and what progress calls it. */
typedef struct ex_source {
    const tm_snapshot *snap;
    int side;
    const char *what;
} ex_source;

/* Bytes of an options struct of that version, 0 if unknown. */
size_t ex_options_size(unsigned version);

/* init + add every source (with progress when allow) + finish.  On failure
 * the tree is freed. */
/* Native frames are hidden as attribution says (NULL: the default rules),
 * tm/attribution.h. */
int ex_tree_build(ex_tree *t, const ex_source *src, size_t nsrc,
                  const tm_attribution_options *attribution, int allow, tm_error *err);

static inline const char *ex_label(const ex_tree *t, uint32_t id, size_t *len)
{
    if (id == TM_NONE) {
        if (len)
            *len = 3;
        return "all";
    }
    if (len)
        *len = t->label_len[id];
    return t->label_bytes + t->label_off[id];
}

/* The part of a finished node's values that ends at the node itself. */
static inline void ex_node_self(const ex_tree *t, uint32_t n, int side, uint64_t *size,
                                uint64_t *count)
{
    const ex_node *nd = &t->nodes[n];
    uint64_t s = nd->size[side], c = nd->count[side];
    for (uint32_t k = nd->first_child; k != TM_NONE; k = t->nodes[k].next_sibling) {
        s -= t->nodes[k].size[side];
        c -= t->nodes[k].count[side];
    }
    *size = s;
    *count = c;
}

/* Options with defaults filled in and the version checked. */
int ex_options(const tm_export_options *in, tm_export_options *out, tm_error *err);

/* Writers: escaped text for the three target syntaxes.  They write to a
 * stdio stream; the caller checks ferror() once at the end. */
void ex_put_folded_label(FILE *f, const char *s, size_t n);
void ex_put_json_string(FILE *f, const char *s, size_t n);
void ex_put_xml_text(FILE *f, const char *s, size_t n); /* also for attributes */

/* Python tracemalloc's size format ("12.3 KiB"); buf gets at least 32 bytes. */
void ex_format_size(char *buf, size_t cap, uint64_t size);

/* TM_EIO with a message if the stream had an error, else TM_OK. */
int ex_check_stream(FILE *f, const char *what, tm_error *err);

#endif
