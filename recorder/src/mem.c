/* Recorder memory: every table lives in anonymous mappings, never in the
 * heap being traced, and the total is what tm_get_tracemalloc_memory()
 * reports; and the slow path of the recorder's lock. */
#include <linux/futex.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/mman.h>

#include "rec_internal.h"

static _Atomic size_t mapped_bytes;

void *tm_rmem_map(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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

static int try_take(tm_spin *l)
{
    uint32_t expect = 0;
    return atomic_compare_exchange_strong_explicit(&l->v, &expect, 1, memory_order_acquire,
                                                   memory_order_relaxed);
}

void tm_spin_lock_slow(tm_spin *l)
{
    /* A short spin covers a holder that is running on the other core (the
     * critical sections are tens of ns); past that the holder is probably
     * preempted, and yielding in a loop would only burn the time slice. */
    for (unsigned spins = 0; spins < 100; spins++) {
        if (atomic_load_explicit(&l->v, memory_order_relaxed) == 0 && try_take(l))
            return;
        __builtin_ia32_pause();
    }
    /* Registered before the last try: an unlock after that try sees us
     * (except in the store-buffer window, covered by the timeout). */
    const struct timespec limit = { 0, 1000000 };
    for (;;) {
        atomic_fetch_add_explicit(&l->sleepers, 1, memory_order_seq_cst);
        if (try_take(l)) {
            atomic_fetch_sub_explicit(&l->sleepers, 1, memory_order_relaxed);
            return;
        }
        syscall(SYS_futex, &l->v, FUTEX_WAIT_PRIVATE, 1, &limit, NULL, 0);
        atomic_fetch_sub_explicit(&l->sleepers, 1, memory_order_relaxed);
        if (try_take(l))
            return;
    }
}

void tm_spin_wake(tm_spin *l)
{
    syscall(SYS_futex, &l->v, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
