/*
 * Deferred frees.  A traced free used to untrack the block and hand it to
 * the allocator at once, and both steps miss the cache (the live-table
 * bucket, the allocator's chunk header): a bare program overlaps those
 * misses across loop iterations, a traced one cannot (a traced malloc is
 * ~1200 instructions, more than the out-of-order window), so the whole
 * memory latency was paid on every free.  Now free only starts loading
 * those two lines and leaves the block in its thread's pending slot; the
 * thread's next hook releases it (untrack, then the real free).  A traced
 * malloc untracks it after its unwinding, and gives it back to the
 * allocator only after its own allocation and insert: by then both lines
 * have arrived (record.c).
 *
 * What stays exact: the live table sees the operations of a thread in
 * program order (a malloc untracks the pending block before it inserts its
 * own, so the peak is unchanged), and the block is untracked before the
 * allocator can hand its address to another thread.  What changes: that
 * malloc cannot get the very block freed just before it (the allocator has
 * one more block out per thread, until the next hook).
 * Everything that reads the table (tm/recorder.h queries, snapshots, fork,
 * tm_stop) first drains every thread's slot through the registry, so a
 * quiescent point is still exact.  A block stays pending at most until its
 * thread's next allocation call or the next drain: mmapped (large) blocks
 * are never deferred.
 */
#include "rec_internal.h"

static tm_spin reg_lock;
static tm_pending *reg_head;
static _Atomic uint32_t reg_count;
TM_TLS __thread tm_pending *tm_pending_own;
static TM_TLS __thread tm_pending slot;
/* Set at the thread's end: frees in later TLS destructors are not deferred
 * (the registry must not outlive the thread's TLS). */
static TM_TLS __thread int slot_ended;

/* Blocks untracked but not yet given back, a thread's own, touched by
 * nobody else: ring[ring_pos] is the oldest.  glibc's free of a small chunk
 * reads its header, the size of the chunk after it, and, unless the chunk
 * goes to the tcache or a fastbin, the size of the one after that (is the
 * next chunk in use?), and may merge with the previous chunk: four misses
 * that a bare program overlaps across its loop iterations and a traced one
 * would wait for.  free prefetched the header; while the block moves down
 * the ring, each step reads only lines an earlier step asked for two pushes
 * before (a miss can take longer than one traced malloc+free pair). */
#define RING 8
static TM_TLS __thread uintptr_t ring[RING];
static TM_TLS __thread uint32_t ring_pos;

static inline size_t chunk_size_at(uintptr_t chunk)
{
    return ((const size_t *)chunk)[1] & ~(size_t)7;
}

/* The next chunk's header, and the previous chunk's if free merges with it. */
static inline void chunk_prefetch_neighbours(uintptr_t p)
{
    uintptr_t c = p - 2 * sizeof(size_t);
    size_t head = ((const size_t *)c)[1];
    tm_prefetch((const char *)(c + (head & ~(size_t)7)) + sizeof(size_t));
    if (!(head & 1))
        tm_prefetch((const char *)(c - ((const size_t *)c)[0]) + sizeof(size_t));
}

static inline void chunk_prefetch_after_next(uintptr_t p)
{
    uintptr_t next = p - 2 * sizeof(size_t) + chunk_size_at(p - 2 * sizeof(size_t));
    tm_prefetch((const char *)(next + chunk_size_at(next)) + sizeof(size_t));
}

void tm_free_ring_push(uintptr_t p)
{
    if (TM_UNLIKELY(slot_ended)) {
        tm_real_free((void *)p);
        return;
    }
    uint32_t i = ring_pos;
    uintptr_t old = ring[i];
    ring[i] = p;
    ring_pos = (i + 1) % RING;
    if (tm_alloc_glibc) {
        uintptr_t a = ring[(i + RING - 2) % RING], b = ring[(i + RING - 4) % RING];
        if (a)
            chunk_prefetch_neighbours(a);
        if (b)
            chunk_prefetch_after_next(b);
    }
    if (old)
        tm_real_free((void *)old);
}

static void ring_flush(void)
{
    for (uint32_t i = 0; i < RING; i++) {
        uintptr_t x = ring[i];
        ring[i] = 0;
        if (x)
            tm_real_free((void *)x);
    }
}

/* Untrack, then give back: the order that keeps the address unique. */
static void release(uintptr_t p)
{
    tm_live_remove(p, 0, NULL);
    tm_free_ring_push(p);
}

void tm_pending_thread_start(void)
{
    if (tm_pending_own || slot_ended)
        return;
    tm_pending *s = &slot;
    tm_spin_lock(&reg_lock);
    s->prev = NULL;
    s->next = reg_head;
    if (reg_head)
        reg_head->prev = s;
    reg_head = s;
    atomic_fetch_add_explicit(&reg_count, 1, memory_order_relaxed);
    tm_spin_unlock(&reg_lock);
    tm_pending_own = s;
}

void tm_pending_thread_end(void)
{
    tm_pending *s = tm_pending_own;
    slot_ended = 1;
    if (!s)
        return;
    tm_pending_own = NULL;
    tm_spin_lock(&reg_lock);
    if (s->prev)
        s->prev->next = s->next;
    else if (reg_head == s)
        reg_head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
    atomic_fetch_sub_explicit(&reg_count, 1, memory_order_relaxed);
    tm_spin_unlock(&reg_lock);
    /* No drainer can reach s any more. */
    uintptr_t x = atomic_exchange_explicit(&s->ptr, 0, memory_order_acquire);
    if (x)
        release(x);
    ring_flush();
}

int tm_pending_defer(void *p)
{
    tm_pending *s = tm_pending_own;
    /* glibc puts an mmapped chunk at a page start: its user pointer is at
     * offset 16.  Those are big; give them back at once. */
    if (TM_UNLIKELY(!s || ((uintptr_t)p & 4095) == 16))
        return 0;
    tm_live_prefetch((uintptr_t)p, 0);
    uintptr_t x = atomic_exchange_explicit(&s->ptr, (uintptr_t)p, memory_order_acq_rel);
    if (x)
        release(x);
    return 1;
}

void tm_pending_flush_own(void)
{
    tm_pending *s = tm_pending_own;
    if (s && atomic_load_explicit(&s->ptr, memory_order_relaxed)) {
        uintptr_t x = atomic_exchange_explicit(&s->ptr, 0, memory_order_acquire);
        if (x)
            release(x);
    }
}

uintptr_t tm_pending_take_own(void)
{
    tm_pending *s = tm_pending_own;
    if (s && atomic_load_explicit(&s->ptr, memory_order_relaxed))
        return atomic_exchange_explicit(&s->ptr, 0, memory_order_acquire);
    return 0;
}

int tm_pending_own_nonempty(void)
{
    tm_pending *s = tm_pending_own;
    return s && atomic_load_explicit(&s->ptr, memory_order_relaxed);
}

static void drain_locked(void)
{
    for (tm_pending *s = reg_head; s; s = s->next) {
        if (!atomic_load_explicit(&s->ptr, memory_order_relaxed))
            continue;
        uintptr_t x = atomic_exchange_explicit(&s->ptr, 0, memory_order_acquire);
        if (x)
            release(x);
    }
}

void tm_pending_drain_all(void)
{
    if (!atomic_load_explicit(&reg_count, memory_order_relaxed))
        return;
    tm_rec_guard++;
    tm_spin_lock(&reg_lock);
    drain_locked();
    tm_spin_unlock(&reg_lock);
    tm_rec_guard--;
}

void tm_pending_fork_prepare(void)
{
    tm_spin_lock(&reg_lock);
    drain_locked();
}

void tm_pending_fork_after(int child)
{
    tm_spin_unlock_fork(&reg_lock, child);
    /* Other threads may have deferred a free after the drain above; in the
     * child their slots are copies that nobody else will release. */
    if (child)
        tm_pending_drain_all();
}
