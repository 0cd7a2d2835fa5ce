/*
 * Deferred frees.  A traced free has two cache misses to wait for (the
 * live-table bucket, the allocator's chunk header), and glibc's free a few
 * more (the neighbouring chunks).  A bare program overlaps those misses
 * across loop iterations; a traced one cannot (a traced malloc is ~1000
 * instructions, more than the out-of-order window), so it used to pay the
 * whole memory latency on every free.  Now a block freed by the program
 * goes through two per-thread queues, each step reading only lines that an
 * earlier step asked for:
 *
 *   free(p)   prefetch p's bucket and chunk header; p joins the thread's
 *             queue of DEPTH freed-but-tracked blocks;
 *   DEPTH frees later, p is untracked (its bucket has arrived) and joins
 *             the ring of RING untracked blocks; with glibc's allocator the
 *             ring prefetches, two pushes apart, what free will read: the
 *             next chunk's header, the previous chunk's when free merges
 *             with it, the header after next;
 *   RING frees later, p goes back to the allocator.
 *
 * The queue is written by its thread only, with plain stores: no atomic
 * read-modify-write on the hook path.  Other threads never take blocks out
 * of it; they exclude them: queries and snapshots skip the blocks of every
 * other thread's queue (tm_pending_others_*), and subtract their sizes
 * from the current; the calling thread first flushes its own.  So every
 * quiescent point is exact.  What stays in program order: a block is
 * untracked before the allocator can hand its address to anyone; and when
 * a thread's allocation may set a new peak, it first flushes its own queue
 * (counters.c), so the peak of a single thread never counts a freed block.
 * What changes: up to DEPTH + RING freed blocks per thread wait before the
 * allocator can reuse them (mmapped blocks never do, and the ring gives
 * back a chunk of 256 KiB or more as soon as it reads its size).  A block
 * freed twice while its thread still holds it makes the thread give back
 * everything it holds first, so glibc sees the double free at the same
 * call as without us; one freed twice further apart reaches glibc up to
 * ten frees late, like any free.
 */
#include "rec_internal.h"

#define RING 6
#define RING_BIG (256u << 10)

static tm_spin reg_lock;
static tm_pending *reg_head;
static _Atomic uint32_t reg_count;
TM_TLS __thread tm_pending *tm_pending_own;
static TM_TLS __thread tm_pending slot;
/* Set at the thread's end: frees in later TLS destructors are not deferred
 * (the registry must not outlive the thread's TLS). */
static TM_TLS __thread int slot_ended;
static TM_TLS __thread uintptr_t ring[RING];
static TM_TLS __thread uint32_t ring_pos;

static void ring_push(uintptr_t p);
static void ring_flush(void);

/* p already freed and still held by this thread (queue or ring)? */
static inline int held(const tm_pending *s, uintptr_t p)
{
    int hit = 0;
    for (uint32_t k = 0; k < TM_PENDING_DEPTH; k++)
        hit |= atomic_load_explicit(&s->q[k], memory_order_relaxed) == p;
    for (uint32_t k = 0; k < RING; k++)
        hit |= ring[k] == p;
    return hit;
}

/* --- the thread's own queue ------------------------------------------------ */

int tm_pending_defer(void *p)
{
    tm_pending *s = tm_pending_own;
    /* glibc puts an mmapped chunk at a page start: its user pointer is at
     * offset 16.  Those are big; give them back at once. */
    if (TM_UNLIKELY(!s || ((uintptr_t)p & 4095) == 16))
        return 0;
    tm_live_prefetch((uintptr_t)p, 0);
    if (TM_UNLIKELY(held(s, (uintptr_t)p))) {
        /* The program frees a block it already freed: give back what is
         * held, in order, and let the allocator see this free now, as it
         * would have without us (glibc reports most double frees). */
        tm_pending_flush_own();
        ring_flush();
        return 0;
    }
    uint32_t i = s->pos;
    uintptr_t old = atomic_load_explicit(&s->q[i], memory_order_relaxed);
    /* Unlisted before it is released: a fork between the two steps must
     * not leave the child a listed block that is already freed (the worst
     * a fork there does now: the child keeps `old` as live). */
    atomic_store_explicit(&s->q[i], (uintptr_t)p, memory_order_release);
    s->pos = i + 1 == TM_PENDING_DEPTH ? 0 : i + 1;
    if (old) {
        tm_live_remove(old, 0, NULL);
        ring_push(old);
    } else {
        s->n++;
    }
    return 1;
}

void tm_pending_flush_own(void)
{
    tm_pending *s = tm_pending_own;
    if (!s || !s->n)
        return;
    tm_rec_guard++; /* the real frees below must not come back here */
    for (uint32_t k = 0; k < TM_PENDING_DEPTH; k++) {
        /* Oldest first: the table sees the frees in program order. */
        uint32_t i = (s->pos + k) % TM_PENDING_DEPTH;
        uintptr_t x = atomic_load_explicit(&s->q[i], memory_order_relaxed);
        if (x) {
            atomic_store_explicit(&s->q[i], 0, memory_order_release);
            tm_live_remove(x, 0, NULL);
            ring_push(x);
        }
    }
    s->n = 0;
    /* Not tracing any more (tm_stop, a detach): the ring's blocks too, or
     * nothing would ever give them back. */
    if (!atomic_load_explicit(&tm_rec_tracing, memory_order_relaxed))
        ring_flush();
    tm_rec_guard--;
}

void tm_pending_release_own(void)
{
    tm_pending_flush_own();
    tm_rec_guard++;
    ring_flush();
    tm_rec_guard--;
}

int tm_pending_own_nonempty(void)
{
    tm_pending *s = tm_pending_own;
    return s && s->n;
}

/* --- the ring of untracked blocks -------------------------------------------- */

static inline size_t chunk_size_at(uintptr_t chunk)
{
    return ((const size_t *)chunk)[1] & ~(size_t)7;
}

/* Reads p's header (prefetched by free); returns its chunk size after
 * prefetching the next chunk's header, and the previous chunk's if free
 * will merge with it. */
static inline size_t chunk_prefetch_neighbours(uintptr_t p)
{
    uintptr_t c = p - 2 * sizeof(size_t);
    size_t head = ((const size_t *)c)[1];
    size_t size = head & ~(size_t)7;
    tm_prefetch((const char *)(c + size) + sizeof(size_t));
    if (!(head & 1))
        tm_prefetch((const char *)(c - ((const size_t *)c)[0]) + sizeof(size_t));
    return size;
}

static inline void chunk_prefetch_after_next(uintptr_t p)
{
    uintptr_t next = p - 2 * sizeof(size_t) + chunk_size_at(p - 2 * sizeof(size_t));
    tm_prefetch((const char *)(next + chunk_size_at(next)) + sizeof(size_t));
}

/* Only with glibc: another allocator's layout is unknown, and its blocks
 * go back at once. */
static void ring_push(uintptr_t p)
{
    if (TM_UNLIKELY(slot_ended || !tm_alloc_glibc)) {
        tm_real_free((void *)p);
        return;
    }
    uint32_t i = ring_pos;
    uintptr_t old = ring[i];
    ring[i] = p;
    ring_pos = i + 1 == RING ? 0 : i + 1;
    uint32_t ia = (i + RING - 2) % RING;
    uintptr_t a = ring[ia], b = ring[(i + RING - 4) % RING];
    if (a && chunk_prefetch_neighbours(a) >= RING_BIG) {
        ring[ia] = 0;
        tm_real_free((void *)a);
    }
    if (b)
        chunk_prefetch_after_next(b);
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

/* --- thread life ---------------------------------------------------------- */

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

static void unlink_locked(tm_pending *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else if (reg_head == s)
        reg_head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
    atomic_fetch_sub_explicit(&reg_count, 1, memory_order_relaxed);
}

void tm_pending_thread_end(void)
{
    tm_pending *s = tm_pending_own;
    tm_pending_flush_own();
    slot_ended = 1;
    ring_flush();
    if (!s)
        return;
    tm_pending_own = NULL;
    tm_spin_lock(&reg_lock);
    unlink_locked(s);
    tm_spin_unlock(&reg_lock);
}

/* --- readers: the other threads' queues ------------------------------------- */

/* Calls fn for every block in another thread's queue; the registry is
 * locked (fn may lock a shard: that order is the fork handler's too). */
static void others_foreach(void (*fn)(uintptr_t, void *), void *arg)
{
    if (!atomic_load_explicit(&reg_count, memory_order_relaxed))
        return;
    tm_rec_guard++;
    tm_spin_lock(&reg_lock);
    for (tm_pending *s = reg_head; s; s = s->next) {
        if (s == tm_pending_own)
            continue;
        for (uint32_t i = 0; i < TM_PENDING_DEPTH; i++) {
            uintptr_t x = atomic_load_explicit(&s->q[i], memory_order_acquire);
            if (x)
                fn(x, arg);
        }
    }
    tm_spin_unlock(&reg_lock);
    tm_rec_guard--;
}

static void add_size(uintptr_t x, void *arg)
{
    tm_live_entry e;
    if (tm_live_find(x, 0, &e))
        *(uint64_t *)arg += tm_rec_counted(e.size);
}

uint64_t tm_pending_others_bytes(void)
{
    uint64_t n = 0;
    others_foreach(add_size, &n);
    return n;
}

typedef struct find_arg {
    uintptr_t p;
    int found;
} find_arg;

static void match(uintptr_t x, void *arg)
{
    find_arg *f = arg;
    f->found |= x == f->p;
}

int tm_pending_others_has(uintptr_t p)
{
    find_arg f = { p, 0 };
    others_foreach(match, &f);
    return f.found;
}

typedef struct collect_arg {
    uintptr_t *v;
    size_t n, cap;
} collect_arg;

static void collect(uintptr_t x, void *arg)
{
    collect_arg *c = arg;
    if (c->n < c->cap)
        c->v[c->n] = x;
    c->n++;
}

size_t tm_pending_others_collect(uintptr_t *out, size_t cap)
{
    collect_arg c = { out, 0, cap };
    others_foreach(collect, &c);
    return c.n;
}

size_t tm_pending_others_max(void)
{
    return (size_t)atomic_load_explicit(&reg_count, memory_order_relaxed) * TM_PENDING_DEPTH;
}

/* --- fork ----------------------------------------------------------------- */

void tm_pending_fork_prepare(void)
{
    tm_pending_flush_own();
    tm_spin_lock(&reg_lock);
}

void tm_pending_fork_after(int child)
{
    if (child) {
        /* The other threads are gone: their queued frees happened. */
        tm_pending *s = reg_head;
        while (s) {
            tm_pending *next = s->next;
            if (s != tm_pending_own) {
                for (uint32_t i = 0; i < TM_PENDING_DEPTH; i++) {
                    uintptr_t x = atomic_load_explicit(&s->q[i], memory_order_relaxed);
                    atomic_store_explicit(&s->q[i], 0, memory_order_relaxed);
                    if (x) {
                        tm_live_remove(x, 0, NULL);
                        tm_real_free((void *)x);
                    }
                }
                unlink_locked(s);
            }
            s = next;
        }
    }
    tm_spin_unlock_fork(&reg_lock, child);
}
