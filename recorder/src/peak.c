/*
 * The live set at the peak: which blocks were live at the moment traced
 * current was highest, not just how many bytes.
 *
 * Taking a snapshot at every new peak would cost O(live) per new peak, and
 * a growing program sets a new peak at almost every allocation.  Instead
 * each live-table shard keeps an undo log of its changes since the last
 * new peak: (key, value before).  The live set at the peak is the table as
 * it is now with every shard's log undone, newest first.  A new peak only
 * bumps a generation number; a shard whose log belongs to an older
 * generation has changed nothing since the peak, and empties its log the
 * next time it appends (so a new peak costs O(1), not O(shards)).
 *
 * Logs would grow without bound while the program churns below its peak.
 * When they hold more entries than twice the live set (plus a floor), the
 * peak set is materialized once (O(live + logs), amortized O(1) per
 * change) and logging stops until the next new peak.  The materialized set
 * is also what a peak snapshot reads.
 *
 * Ordering: appends happen under the shard's lock, and changes to one key
 * always go to one shard, so each log holds its keys' history in order.
 * Materializing holds every narrow shard's lock, so it sees the table and
 * the logs at one instant.  With one thread the result is exactly the live
 * set when the peak was set.  With threads, the peak moment is the instant
 * the generation changed: a change another thread made concurrently may
 * land on either side of it (at most one per thread), and the peak value
 * itself is the counters' (counters.c: within TM_CNT_BATCH per other
 * thread, plus blocks other threads freed and still queue).
 *
 * The wide side table (live_wide.c: domains >= 65536, sizes >= 256 GiB,
 * addresses >= 2^48) keeps no log: when it changes while logging, the peak
 * set is marked inexact and says so.
 */
#include <stdlib.h>
#include <string.h>

#include "rec_internal.h"

/* state = generation << 1 | armed.  One word, so that disarming after a
 * materialization cannot undo a new peak that raced with it. */
_Atomic uint64_t tm_peak_state;
TM_TLS __thread int tm_peak_compact_wanted;

#define NSHARD 256
#define COMPACT_CHECK 4096        /* appends per shard between global checks */
#define COMPACT_FLOOR 65536       /* log entries always allowed */

typedef struct peak_log {
    uint64_t (*ev)[2];            /* key, value before (TM_PEAK_ABSENT: was not there) */
    uint32_t n, cap;
    uint64_t gen;
    size_t map_bytes;
} peak_log;

static peak_log logs[NSHARD];

/* The materialized set, written only with every narrow shard locked. */
static struct {
    uint64_t (*kv)[2];
    size_t n, map_bytes;
    uint64_t gen;                 /* UINT64_MAX: none */
    uint64_t bytes;
} set = { NULL, 0, 0, UINT64_MAX, 0 };

static _Atomic int64_t peak_time_ns;
static _Atomic int wide_changed;  /* since the peak */

static inline uint64_t state_gen(uint64_t st)
{
    return st >> 1;
}

void tm_peak_raise(void)
{
    if (!tm_rec_cfg.peak)
        return;
    uint64_t st = atomic_load_explicit(&tm_peak_state, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&tm_peak_state, &st, ((st >> 1) + 1) << 1 | 1,
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
    atomic_store_explicit(&wide_changed, 0, memory_order_relaxed);
    atomic_store_explicit(&peak_time_ns, tm_rec_now_ns(), memory_order_relaxed);
}

static int log_grow(peak_log *l)
{
    uint32_t ncap = l->cap ? l->cap * 2 : 1024;
    size_t bytes = ((size_t)ncap * sizeof(*l->ev) + 4095) & ~(size_t)4095;
    void *p = tm_rmem_map(bytes);
    if (!p)
        return -1;
    if (l->n)
        memcpy(p, l->ev, (size_t)l->n * sizeof(*l->ev));
    tm_rmem_unmap(l->ev, l->map_bytes);
    l->ev = p;
    l->cap = (uint32_t)(bytes / sizeof(*l->ev));
    l->map_bytes = bytes;
    return 0;
}

static void want_compaction(void)
{
    size_t logged = 0;
    uint64_t gen = state_gen(atomic_load_explicit(&tm_peak_state, memory_order_relaxed));
    for (int k = 0; k < NSHARD; k++)
        if (__atomic_load_n(&logs[k].gen, __ATOMIC_RELAXED) == gen)
            logged += __atomic_load_n(&logs[k].n, __ATOMIC_RELAXED);
    if (logged > 2 * tm_live_count() + COMPACT_FLOOR)
        tm_peak_compact_wanted = 1;
}

void tm_peak_note(unsigned shard, uint64_t key, uint64_t old)
{
    peak_log *l = &logs[shard];
    uint64_t gen = state_gen(atomic_load_explicit(&tm_peak_state, memory_order_relaxed));
    if (l->gen != gen) {
        __atomic_store_n(&l->gen, gen, __ATOMIC_RELAXED);
        __atomic_store_n(&l->n, 0, __ATOMIC_RELAXED);
    }
    if (TM_UNLIKELY(l->n == l->cap) && log_grow(l) < 0) {
        /* No memory for the log: the peak set cannot be rebuilt exactly.
         * Materialize what we know now instead (a later, lower state). */
        tm_peak_compact_wanted = 1;
        return;
    }
    l->ev[l->n][0] = key;
    l->ev[l->n][1] = old;
    __atomic_store_n(&l->n, l->n + 1, __ATOMIC_RELAXED);
    if (TM_UNLIKELY((l->n % COMPACT_CHECK) == 0))
        want_compaction();
}

void tm_peak_note_wide(void)
{
    atomic_store_explicit(&wide_changed, 1, memory_order_relaxed);
}

/* --- materializing ---------------------------------------------------------- */

/* Scratch map of one shard: key -> value, open addressing, power of two.
 * A removed key keeps its slot with value TM_PEAK_ABSENT. */
typedef struct scratch {
    uint64_t (*kv)[2];
    size_t cap, bytes;
} scratch;

static inline uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static void scratch_set(scratch *m, uint64_t key, uint64_t val)
{
    size_t i = mix(key) & (m->cap - 1);
    while (m->kv[i][0] && m->kv[i][0] != key)
        i = (i + 1) & (m->cap - 1);
    m->kv[i][0] = key;
    m->kv[i][1] = val;
}

typedef struct walk {
    scratch m;
    uint64_t gen;
    uint64_t (*out)[2];
    size_t n, cap;
    uint64_t bytes;
} walk;

static size_t pow2_at_least(size_t n)
{
    size_t c = 64;
    while (c < n)
        c *= 2;
    return c;
}

/* Each shard gets a prefix of the scratch array sized for it alone: a
 * map sized for the biggest shard, cleared 256 times, would cost more than
 * the whole table. */
static void walk_shard_begin(unsigned shard, void *arg)
{
    walk *w = arg;
    size_t n = tm_live_shard_count(shard) + (logs[shard].gen == w->gen ? logs[shard].n : 0);
    w->m.cap = pow2_at_least(2 * n + 1);
}

static void walk_entry(unsigned shard, uint64_t key, uint64_t val, void *arg)
{
    (void)shard;
    scratch_set(&((walk *)arg)->m, key, val);
}

static void walk_shard_done(unsigned shard, void *arg)
{
    walk *w = arg;
    peak_log *l = &logs[shard];
    if (l->gen == w->gen)
        for (uint32_t i = l->n; i-- > 0;)
            scratch_set(&w->m, l->ev[i][0], l->ev[i][1]);
    for (size_t i = 0; i < w->m.cap; i++) {
        if (w->m.kv[i][0] && w->m.kv[i][1] != TM_PEAK_ABSENT && w->n < w->cap) {
            w->out[w->n][0] = w->m.kv[i][0];
            w->out[w->n][1] = w->m.kv[i][1];
            w->bytes += tm_live_unpack(w->m.kv[i][0], w->m.kv[i][1]).size;
            w->n++;
        }
    }
    memset(w->m.kv, 0, w->m.cap * sizeof(*w->m.kv));
}

/* Narrow shards locked. */
static void materialize_locked(void)
{
    uint64_t st = atomic_load_explicit(&tm_peak_state, memory_order_relaxed);
    uint64_t gen = state_gen(st);
    if (set.gen == gen || !(st & 1))
        return;   /* up to date, or never armed */
    size_t total = 0, biggest = 0;
    for (unsigned k = 0; k < NSHARD; k++) {
        size_t n = tm_live_shard_count(k) + (logs[k].gen == gen ? logs[k].n : 0);
        total += n;
        if (n > biggest)
            biggest = n;
    }
    walk w;
    memset(&w, 0, sizeof(w));
    w.gen = gen;
    w.m.bytes = (pow2_at_least(2 * biggest + 1) * sizeof(*w.m.kv) + 4095) & ~(size_t)4095;
    w.m.kv = tm_rmem_map(w.m.bytes);
    size_t out_bytes = ((total ? total : 1) * sizeof(*w.out) + 4095) & ~(size_t)4095;
    w.out = tm_rmem_map(out_bytes);
    w.cap = total;
    if (!w.m.kv || !w.out) {
        tm_rmem_unmap(w.m.kv, w.m.bytes);
        tm_rmem_unmap(w.out, out_bytes);
        return;   /* keep logging; the next attempt may find memory */
    }
    tm_live_walk_locked(walk_shard_begin, walk_entry, walk_shard_done, &w);
    tm_rmem_unmap(w.m.kv, w.m.bytes);
    tm_rmem_unmap(set.kv, set.map_bytes);
    set.kv = w.out;
    set.n = w.n;
    set.map_bytes = out_bytes;
    set.bytes = w.bytes;
    set.gen = gen;
    /* The logs are spent; give back their memory (their length, about twice
     * the live set, is the recorder's largest cost here). */
    for (unsigned k = 0; k < NSHARD; k++) {
        tm_rmem_unmap(logs[k].ev, logs[k].map_bytes);
        logs[k].ev = NULL;
        logs[k].n = logs[k].cap = 0;
        logs[k].map_bytes = 0;
    }
    /* Stop logging until the next new peak, unless one came meanwhile. */
    atomic_compare_exchange_strong(&tm_peak_state, &st, st & ~(uint64_t)1);
}

void tm_peak_compact(void)
{
    tm_peak_compact_wanted = 0;
    tm_live_lock_narrow();
    materialize_locked();
    tm_live_unlock_narrow();
}

typedef struct wide_copy {
    tm_peak_set *out;
    size_t cap;
    int oom;
} wide_copy;

static void wide_one(const tm_live_entry *e, void *arg)
{
    wide_copy *c = arg;
    if (c->out->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        tm_live_entry *nv = realloc(c->out->v, ncap * sizeof(*nv));
        if (!nv) {
            c->oom = 1;
            return;
        }
        c->out->v = nv;
        c->cap = ncap;
    }
    c->out->v[c->out->n++] = *e;
    c->out->bytes += e->size;
}

int tm_peak_collect(tm_peak_set *out)
{
    memset(out, 0, sizeof(*out));
    if (!tm_rec_cfg.peak)
        return -1;
    tm_live_lock_narrow();
    materialize_locked();
    int rc = 0;
    if (set.gen == UINT64_MAX) {
        rc = 0;   /* nothing was ever live: an empty set */
    } else if (set.n) {
        out->v = malloc(set.n * sizeof(*out->v));
        if (!out->v) {
            rc = -2;
        } else {
            for (size_t i = 0; i < set.n; i++)
                out->v[i] = tm_live_unpack(set.kv[i][0], set.kv[i][1]);
            out->n = set.n;
        }
    }
    out->bytes = set.gen == UINT64_MAX ? 0 : set.bytes;
    /* The wide table as it is now (it keeps no log; see the top). */
    if (rc == 0 && atomic_load_explicit(&tm_wide_total, memory_order_relaxed)) {
        wide_copy c = { out, out->n, 0 };
        tm_wide_foreach(wide_one, &c);
        if (c.oom)
            rc = -2;
    }
    tm_live_unlock_narrow();
    out->time_ns = atomic_load_explicit(&peak_time_ns, memory_order_relaxed);
    out->inexact = atomic_load_explicit(&wide_changed, memory_order_relaxed);
    return rc;
}

void tm_peak_start(void)
{
    if (tm_rec_cfg.peak)
        tm_peak_raise();
}
