/*
 * Traced current and peak (the contract is in rec_internal.h).  Every hook
 * used to add to one shared counter: with two threads its cache line moved
 * between the cores on every allocation.  Now a thread writes shared state
 * only every TM_CNT_BATCH bytes of net change and when it may set a new
 * peak; the exact current comes from the live table's per-shard totals.
 */
#include <pthread.h>

#include "rec_internal.h"

tm_counters tm_rec_cnt __attribute__((aligned(64)));
static char cnt_pad[64] __attribute__((aligned(64), used));
TM_TLS __thread int64_t tm_cnt_delta;
TM_TLS __thread uint32_t tm_cnt_epoch;
static TM_TLS __thread int cnt_registered;

static pthread_key_t cnt_key;
static _Atomic int cnt_key_state; /* 0 none, 1 creating, 2 ready */

static void cnt_flush_own(void)
{
    int64_t d = tm_cnt_delta;
    tm_cnt_delta = 0;
    if (d && tm_cnt_epoch == atomic_load_explicit(&tm_rec_cnt.epoch, memory_order_relaxed))
        atomic_fetch_add_explicit(&tm_rec_cnt.flushed, d, memory_order_relaxed);
}

/* Thread exit: the pending delta must not be lost, or flushed would drift
 * from the exact current. */
static void cnt_thread_exit(void *arg)
{
    (void)arg;
    tm_rec_guard++;
    cnt_flush_own();
    tm_rec_guard--;
}

static void cnt_register(void)
{
    cnt_registered = 1;
    int st = atomic_load(&cnt_key_state);
    if (st == 0) {
        int expect = 0;
        if (atomic_compare_exchange_strong(&cnt_key_state, &expect, 1)) {
            if (pthread_key_create(&cnt_key, cnt_thread_exit) == 0)
                atomic_store(&cnt_key_state, 2);
            else
                atomic_store(&cnt_key_state, 3);
        }
        st = atomic_load(&cnt_key_state);
    }
    /* Keys below PTHREAD_KEY_2NDLEVEL_SIZE (32) live in struct pthread:
     * setting one does not allocate. */
    if (st == 2)
        pthread_setspecific(cnt_key, (void *)1);
    else
        cnt_registered = 0; /* key being created elsewhere: try next time */
}

void tm_counters_slow(int64_t d)
{
    /* A possible new peak: the frees this thread has queued come first
     * (their removals only lower the delta; no recursion here). */
    if (d > 0 && tm_rec_guard && tm_pending_own_nonempty())
        tm_pending_flush_own();
    uint32_t ep = atomic_load_explicit(&tm_rec_cnt.epoch, memory_order_relaxed);
    if (tm_cnt_epoch != ep) {
        tm_cnt_delta = 0;
        tm_cnt_epoch = ep;
    }
    if (TM_UNLIKELY(!cnt_registered))
        cnt_register();
    int64_t nd = tm_cnt_delta + d;
    tm_cnt_delta = 0;
    int64_t cur = atomic_fetch_add_explicit(&tm_rec_cnt.flushed, nd, memory_order_relaxed) + nd;
    if (d <= 0 || cur <= 0)
        return;
    uint64_t pk = atomic_load_explicit(&tm_rec_cnt.peak, memory_order_relaxed);
    while ((uint64_t)cur > pk) {
        if (atomic_compare_exchange_weak_explicit(&tm_rec_cnt.peak, &pk, (uint64_t)cur,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            tm_peak_raise();
            break;
        }
    }
}

uint64_t tm_counters_current(void)
{
    /* Inside the recorder (guard set: a signal handler that interrupted a
     * hook), the registry or a shard may be held by the interrupted code:
     * then the other threads' queued frees are not subtracted. */
    uint64_t live = tm_live_bytes(), queued = tm_rec_guard ? 0 : tm_pending_others_bytes();
    return live > queued ? live - queued : 0;
}

uint64_t tm_counters_peak(uint64_t current)
{
    uint64_t p = atomic_load_explicit(&tm_rec_cnt.peak, memory_order_relaxed);
    return p < current ? current : p;
}

void tm_counters_reset_peak(void)
{
    cnt_flush_own();
    atomic_store(&tm_rec_cnt.peak, tm_counters_current());
    tm_peak_raise();
}

void tm_counters_clear(void)
{
    atomic_fetch_add(&tm_rec_cnt.epoch, 1);
    tm_cnt_delta = 0;
    tm_cnt_epoch = atomic_load(&tm_rec_cnt.epoch);
    atomic_store(&tm_rec_cnt.flushed, 0);
    atomic_store(&tm_rec_cnt.peak, 0);
    tm_peak_raise();
}

void tm_counters_fork_child(void)
{
    /* Only this thread survives: flushed + its own delta must be the
     * current again. */
    uint32_t ep = atomic_load(&tm_rec_cnt.epoch);
    if (tm_cnt_epoch != ep) {
        tm_cnt_delta = 0;
        tm_cnt_epoch = ep;
    }
    atomic_store(&tm_rec_cnt.flushed, (int64_t)tm_live_bytes() - tm_cnt_delta);
}
