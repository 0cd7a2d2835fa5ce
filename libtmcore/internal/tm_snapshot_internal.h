/*
 * Internal (shared by tmkit's layers, never installed): the layout of
 * tm_snapshot, for code that must fill it faster than the builder API
 * allows (the .tms reader in formats/ decoding a million traces) or needs
 * set_argv by id.  Everything else uses tm/snapshot.h.
 */
#ifndef TM_SNAPSHOT_INTERNAL_H
#define TM_SNAPSHOT_INTERNAL_H

#include "tm/snapshot.h"
#include "tm_hash.h"

/* Documented limits (formats/TMS-FORMAT.md repeats them). */
#define TM_MAX_STRING_LEN (16u * 1024u * 1024u)
#define TM_MAX_STRINGS (64u * 1024u * 1024u)
#define TM_MAX_MODULES (1u << 20)
#define TM_MAX_FRAMES (256u * 1024u * 1024u)
#define TM_MAX_STACKS (256u * 1024u * 1024u)
#define TM_MAX_TRACES (1024u * 1024u * 1024u)
#define TM_MAX_DEPTH (1u << 20) /* 65535 frames, each expanded by its inline chain */
#define TM_MAX_ARGS (1u << 20)

typedef struct tm_string_block {
    struct tm_string_block *next;
    size_t size, used;
    char data[];
} tm_string_block;

struct tm_snapshot {
    const char **str; /* point into blocks (never move) */
    uint32_t *str_len;
    size_t nstr, str_cap, str_len_cap;
    size_t str_bytes;
    tm_string_block *blocks;
    tm_hindex str_index;

    tm_module *modules;
    size_t nmodules, module_cap;

    tm_frame *frames;
    size_t nframes, frame_cap;
    tm_hindex frame_index;

    tm_stack_node *stacks;
    size_t nstacks, stack_cap;
    tm_hindex stack_index;
    int stack_index_stale; /* nodes appended unindexed; rebuilt on next intern */

    tm_trace *traces;
    size_t ntraces, trace_cap;
    /* total_nframe per trace, allocated only once some trace's differs from
     * its stack's depth; NULL means "equal to the depth" for every trace. */
    uint32_t *tnf;
    size_t tnf_cap;

    tm_metadata meta;
    uint32_t *argv;
    size_t argc;
};

/* Makes room for n stack nodes in all, sizing the de-duplication index once. */
int tm_snapshot_reserve_stacks(tm_snapshot *snap, size_t n, tm_error *err);

/* Appends node (frame, parent) without looking for an equal one: for a
 * reader whose input is already de-duplicated, so that loading a file does
 * not hash every node.  The index is rebuilt on the next intern call.  The
 * caller checked parent < stack count and frame < frame count; room must
 * have been reserved with tm_snapshot_reserve_stacks. */
uint32_t tm_snapshot_append_stack_node(tm_snapshot *snap, uint32_t parent, uint32_t frame);

/* Records total_nframe for trace i (already in traces[]), allocating the
 * side column the first time it differs from the depth. */
int tm_snapshot_note_total_nframe(tm_snapshot *snap, size_t i, uint32_t total_nframe,
                                  tm_error *err);

/* An order of the frames in which each frame's inlined_by comes before it
 * (the symbolizer may link a frame to one it created later): order[k] is the
 * k-th frame id, each chain listed from its outermost frame down.  The
 * model's own invariant is what is checked, for whoever copies or writes
 * frames in this order (the .tms writer, tm_snapshot_filter_traces):
 * TM_EINVAL naming the frame for a link out of range or a cycle. */
int tm_snapshot_inline_order(uint32_t *order, const tm_snapshot *snap, tm_error *err);

/* argv by string ids (the reader has ids, not C strings). */
int tm_snapshot_set_argv_ids(tm_snapshot *snap, const uint32_t *ids, size_t argc, tm_error *err);

#endif
