/* Recorder memory: every table lives in anonymous mappings, never in the
 * heap being traced, and the total is what tm_get_tracemalloc_memory()
 * reports. */
#include <sched.h>
#include <sys/mman.h>

#include "rec_internal.h"

static _Atomic size_t mapped_bytes;

void *tm_rmem_map(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    atomic_fetch_add_explicit(&mapped_bytes, bytes, memory_order_relaxed);
    return p;
}

void tm_rmem_unmap(void *p, size_t bytes)
{
    if (!p)
        return;
    munmap(p, bytes);
    atomic_fetch_sub_explicit(&mapped_bytes, bytes, memory_order_relaxed);
}

size_t tm_rmem_total(void)
{
    return atomic_load_explicit(&mapped_bytes, memory_order_relaxed);
}

void tm_spin_lock_slow(tm_spin *l)
{
    unsigned spins = 0;
    for (;;) {
        while (atomic_load_explicit(&l->v, memory_order_relaxed)) {
            if (++spins < 64)
                __builtin_ia32_pause();
            else
                sched_yield();   /* the holder may be preempted: 2 cores */
        }
        if (!atomic_exchange_explicit(&l->v, 1, memory_order_acquire))
            return;
    }
}
