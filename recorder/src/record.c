/* The per-allocation path: the stack id, then the block into the live table. */
#include "rec_internal.h"
#include "tm/snapshot.h"

void tm_record_alloc(void *p, size_t size, uint32_t domain, const tm_regs *r)
{
    /* The insert below misses the cache; start that load now so that it
     * overlaps with the unwinding. */
    tm_live_prefetch((uintptr_t)p, domain);
    uint32_t sid = tm_unwind_stack(r, tm_rec_cfg.nframe);
    /* UINT32_MAX (out of memory for the stack) is written as the empty stack. */
    tm_live_insert((uintptr_t)p, domain, size, sid);
}
