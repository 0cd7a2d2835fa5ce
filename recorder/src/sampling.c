/*
 * Poisson sampling by bytes (tm_rec_cfg.sample_rate = R > 0; the contract
 * is in rec_internal.h and tm/sample.h).
 *
 * Countdown: each thread holds the bytes left before its next sample, drawn
 * from an exponential distribution with mean R.  A block of s bytes takes s
 * from it; the block is sampled when the countdown reaches zero, once even
 * if s spans several intervals, and a fresh countdown is drawn.  The
 * exponential is memoryless, so whatever the blocks before were, the
 * remaining countdown is again exponential with mean R: every block is kept
 * with probability 1 - exp(-s/R), independently of the others (no
 * carry-over of the overshoot: carrying it would make the next block's
 * chance depend on this one's size).
 *
 * PRNG: splitmix64 per thread, seeded at the thread's first allocation from
 * the realtime clock, the thread id and a process-wide thread counter
 * (TM_SAMPLE_SEED=N replaces the clock and tid by N, so that a test can
 * replay a run); a fork child reseeds with its pid.  The uniform draw takes
 * the top 53 bits, so u is in (0, 1] and -R log(u) is finite.
 *
 * Sampled-block filter: 65536 saturating byte counters, indexed by a hash
 * of the address (tm_hash_u64): a sampled block's counter goes up before
 * its address reaches the program and down when its trace is removed.  A
 * free whose counter is 0 belongs to a block that was never sampled and
 * goes straight to the allocator (one load from a 64 KiB array); any other
 * value sends it down the traced path, which is exact (a block that was not
 * sampled shares a counter with one that was: a false positive costs a
 * table lookup).  A counter that reaches 255 stays there: the filter may
 * only over-count, never under-count, or a sampled block's free would be
 * missed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rec_internal.h"
#include "tm/sample.h"
#include "tm_estimate.h"
#include "tm_size.h"

TM_TLS __thread uint64_t tm_smp_left;
TM_TLS __thread uint64_t tm_smp_stat[TM_SSTAT_COUNT];
_Atomic uint64_t tm_sfilter[TM_SFILTER_SIZE / 64] __attribute__((aligned(64)));
/* Traced blocks per slot (saturating: a slot at 255 stays set), under
 * sfilter_lock, taken only when a sampled block enters or leaves the table
 * (inside a shard's lock, never the other way round). */
static uint8_t sfilter_count[TM_SFILTER_SIZE];
static tm_spin sfilter_lock;

static TM_TLS __thread uint64_t smp_state;
static TM_TLS __thread int smp_seeded;
static _Atomic uint64_t smp_threads;
uint64_t tm_smp_seed;
int tm_smp_seed_set;

static inline uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void smp_seed(uint64_t salt)
{
    uint64_t n = atomic_fetch_add_explicit(&smp_threads, 1, memory_order_relaxed);
    uint64_t base = tm_smp_seed_set
        ? tm_smp_seed
        : (uint64_t)tm_rec_now_ns() ^ ((uint64_t)syscall(SYS_gettid) << 32);
    smp_state = tm_hash_u64(base ^ tm_hash_u64(n + 1) ^ salt);
    smp_seeded = 1;
}

/* An exponential countdown with mean rate, at least 1 byte. */
static uint64_t smp_draw(uint64_t rate)
{
    double u = (double)((splitmix64(&smp_state) >> 11) + 1) * 0x1.0p-53;
    double x = -log(u) * (double)rate;
    if (x < 1)
        return 1;
    if (x >= 0x1.0p63)
        return UINT64_C(1) << 63;
    return (uint64_t)x;
}

int tm_sample_slow(size_t n)
{
    uint64_t rate = __atomic_load_n(&tm_rec_cfg.sample_rate, __ATOMIC_RELAXED);
    if (!rate)
        return 1;
    if (TM_UNLIKELY(!smp_seeded)) {
        /* The first allocation of this thread: a countdown of its own
         * first, so that it is not sampled for being first. */
        smp_seed(0);
        tm_smp_left = smp_draw(rate);
        if (n < tm_smp_left) {
            tm_smp_left -= n;
            return 0;
        }
    }
    tm_smp_left = smp_draw(rate);
    tm_smp_stat[TM_SSTAT_SAMPLED]++;
    return 1;
}

void tm_sample_fork_child(void)
{
    if (smp_seeded)
        smp_seed((uint64_t)getpid() << 1 | 1);
}

uint64_t tm_sample_counted(uint64_t size)
{
    uint64_t rate = __atomic_load_n(&tm_rec_cfg.sample_rate, __ATOMIC_RELAXED);
    if (!rate || !size)
        return size;
    /* Rounded as every tool rounds an estimate; capped where the signed
     * deltas of counters.c still hold it. */
    uint64_t w = tm_estimate_u64((double)size * tm_sample_weight(size, rate));
    return w > (UINT64_C(1) << 62) ? UINT64_C(1) << 62 : w;
}

void tm_sfilter_add(uintptr_t p)
{
    unsigned slot = tm_sfilter_slot(p);
    tm_spin_lock(&sfilter_lock);
    uint8_t v = sfilter_count[slot];
    if (v != UINT8_MAX)
        sfilter_count[slot] = (uint8_t)(v + 1);
    if (v == 0)
        atomic_fetch_or_explicit(&tm_sfilter[slot / 64], UINT64_C(1) << (slot % 64),
                                 memory_order_release);
    tm_spin_unlock(&sfilter_lock);
}

void tm_sfilter_remove(uintptr_t p)
{
    unsigned slot = tm_sfilter_slot(p);
    tm_spin_lock(&sfilter_lock);
    uint8_t v = sfilter_count[slot];
    if (v != UINT8_MAX && v != 0) {
        sfilter_count[slot] = (uint8_t)(v - 1);
        if (v == 1)
            atomic_fetch_and_explicit(&tm_sfilter[slot / 64], ~(UINT64_C(1) << (slot % 64)),
                                      memory_order_relaxed);
    }
    tm_spin_unlock(&sfilter_lock);
}

void tm_sfilter_lock(void)
{
    tm_spin_lock(&sfilter_lock);
}

void tm_sfilter_unlock(int child)
{
    tm_spin_unlock_fork(&sfilter_lock, child);
}

void tm_sfilter_clear(void)
{
    tm_spin_lock(&sfilter_lock);
    memset(sfilter_count, 0, sizeof sfilter_count);
    for (size_t i = 0; i < TM_SFILTER_SIZE / 64; i++)
        atomic_store_explicit(&tm_sfilter[i], 0, memory_order_relaxed);
    tm_spin_unlock(&sfilter_lock);
}

void tm_sample_stats(uint64_t out[TM_SSTAT_COUNT])
{
    memcpy(out, tm_smp_stat, sizeof(tm_smp_stat));
}

int tm_sample_parse(uint64_t *out, const char *text, char *msg, size_t msglen)
{
    uint64_t v;
    if (tm_size_parse(&v, NULL, NULL, text, msg, msglen) != 0)
        return -1;
    if (v == 0) {
        snprintf(msg, msglen, "'%s': expected a sampling interval of at least 1 byte", text);
        return -1;
    }
    *out = v;
    return 0;
}
