/* The per-allocation path: unwind, intern the stack, insert the block. */
#include "rec_internal.h"
#include "tm/snapshot.h"

TM_HIDDEN uintptr_t *tm_unwind_buffer(uint32_t max);

void tm_record_alloc(void *p, size_t size, uint32_t domain, const tm_regs *r)
{
    /* The insert below misses the cache; start that load now so that it
     * overlaps with the unwinding. */
    tm_live_prefetch((uintptr_t)p, domain);
    uint32_t limit = tm_rec_cfg.nframe;
    uintptr_t *buf = tm_unwind_buffer(limit);
    uint32_t sid = UINT32_MAX;
    if (TM_LIKELY(buf != NULL)) {
        uint32_t total;
        uint32_t n = tm_unwind(r, buf, limit, &total);
        sid = tm_stacks_intern(buf, n, total);
    }
    /* UINT32_MAX (out of memory for the stack) is written as the empty stack. */
    tm_live_insert((uintptr_t)p, domain, size, sid);
}

void tm_record_free(void *p)
{
    tm_live_remove((uintptr_t)p, 0, NULL);
}
