/* Recorder memory: every table lives in anonymous mappings, never in the
 * heap being traced, and the total is what tm_get_tracemalloc_memory()
 * reports. */
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
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
    /* A short spin covers a holder that is running on the other core (the
     * critical sections are tens of ns); past that the holder is probably
     * preempted, and yielding in a loop would only burn the time slice. */
    for (unsigned spins = 0; spins < 100; spins++) {
        uint32_t v = atomic_load_explicit(&l->v, memory_order_relaxed);
        if (v == 0) {
            uint32_t expect = 0;
            if (atomic_compare_exchange_weak_explicit(&l->v, &expect, 1, memory_order_acquire,
                                                      memory_order_relaxed))
                return;
        } else if (v == 2) {
            break;   /* others already sleep: queue behind them */
        }
        __builtin_ia32_pause();
    }
    /* Mark "held with sleepers" and sleep until an unlock sees the mark. */
    while (atomic_exchange_explicit(&l->v, 2, memory_order_acquire) != 0)
        syscall(SYS_futex, &l->v, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

void tm_spin_wake(tm_spin *l)
{
    syscall(SYS_futex, &l->v, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
