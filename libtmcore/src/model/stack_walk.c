/* The one walk of a stack's logical frames (tm/snapshot.h, "Stack walks"). */
#include "tm/snapshot.h"

void tm_stack_walk_init(tm_stack_walk *w, const tm_snapshot *snap, uint32_t stack)
{
    w->snap = snap;
    w->node = stack;
    w->frame = TM_NONE;
    w->chain = 0;
}

int tm_stack_walk_next(uint32_t *frame, int *inlined, tm_stack_walk *w, tm_error *err)
{
    const tm_frame *frames = tm_snapshot_frames(w->snap);
    const tm_stack_node *stacks = tm_snapshot_stacks(w->snap);
    *frame = TM_NONE;
    if (inlined)
        *inlined = 0;
    if (w->frame != TM_NONE) {
        uint32_t up = frames[w->frame].inlined_by;
        if (up != TM_NONE) {
            /* Chains always end (the builder refuses cycles); the limit lets
             * callers hold one chain in a fixed buffer. */
            if (w->chain + 1 >= TM_INLINE_MAX)
                return tm_error_set(err, TM_ELIMIT, "frame %u: inline chain longer than %u frames",
                                    stacks[w->node].frame, TM_INLINE_MAX);
            w->chain++;
            w->frame = up;
            *frame = up;
            if (inlined)
                *inlined = 1;
            return TM_OK;
        }
        w->node = stacks[w->node].parent;
        w->frame = TM_NONE;
    }
    if (w->node == 0)
        return TM_OK;
    if (w->node >= tm_snapshot_stack_count(w->snap))
        return tm_error_set(err, TM_EINVAL, "stack %u does not exist", w->node);
    w->frame = stacks[w->node].frame;
    w->chain = 0;
    *frame = w->frame;
    return TM_OK;
}
