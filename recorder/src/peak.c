/*
 * The live set at the peak: which blocks were live at the moment traced
 * current was highest, not just how many bytes.
 *
 * Taking a snapshot at every new peak would cost O(live) per new peak, and
 * a growing program sets a new peak at almost every allocation.  Instead
 * each live-table shard keeps an undo log of its changes since the last
 * new peak: (key, value before).  The shard as it was at the peak is the
 * shard as it is now with its log undone, newest first.  A new peak only
 * bumps a generation number; a shard whose log belongs to an older
 * generation has changed nothing since the peak, and empties its log the
 * next time it changes (so a new peak costs O(1), not O(shards)).
 *
 * A log would grow without bound while the program churns below its peak.
 * When a shard's log passes twice the shard's entries (plus a floor), the
 * shard freezes: its set at the peak is rebuilt once, in its own critical
 * section (O(shard), amortized O(1) per change, in a per-thread scratch
 * table that stays in cache), and it logs nothing more until the next new
 * peak.  No other shard waits for it.
 *
 * Ordering: logs are written under the shard's lock, and changes to one key
 * always go to one shard, so each log holds its keys' history in order.  A
 * peak snapshot holds every narrow shard's lock, so it sees the table and
 * the logs at one instant.  With one thread the result is exactly the live
 * set when the peak was set.  With threads, the peak moment is the instant
 * the generation changed: a change another thread made concurrently may
 * land on either side of it (at most one per thread), and the peak value
 * itself is the counters' (counters.c: within TM_CNT_BATCH per other
 * thread, plus blocks other threads freed and still queue).
 *
 * The wide side table (live_wide.c: domains >= 65536, sizes >= 256 GiB,
 * addresses >= 2^48) keeps no log: when it changes after the peak, the
 * peak snapshot uses it as it is and says so.
 */
#include <stdlib.h>
#include <string.h>

#include "rec_internal.h"
#include "tm_hash.h"

_Atomic uint64_t tm_peak_gen;

#define NSHARD 256
#define LOG_FLOOR 512 /* log entries a shard may always keep */

typedef uint64_t kv_pair[2];

typedef struct peak_shard {
    kv_pair *ev; /* key, value before (TM_PEAK_ABSENT: was not there) */
    uint32_t n, cap;
    size_t ev_bytes;
    uint64_t gen; /* generation of the log, or of the frozen set */
    int frozen;   /* set = the shard at the peak of gen; nothing logged */
    kv_pair *set;
    uint32_t nset, set_cap;
    size_t set_bytes;
} peak_shard;

static peak_shard shards[NSHARD];
static _Atomic int64_t peak_time_ns;
/* Generation (+1) in which the wide table changed, or a change could not
 * be logged: the peak snapshot of that generation is approximate. */
static _Atomic uint64_t lost_gen;

void tm_peak_raise(void)
{
    if (!tm_rec_cfg.peak)
        return;
    atomic_fetch_add_explicit(&tm_peak_gen, 1, memory_order_relaxed);
    atomic_store_explicit(&peak_time_ns, tm_rec_now_ns(), memory_order_relaxed);
}

static int grow(kv_pair **p, uint32_t *cap, size_t *bytes, uint32_t keep, uint32_t need)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 256;
    while (ncap < need)
        ncap *= 2;
    size_t nbytes = (ncap * sizeof(kv_pair) + 4095) & ~(size_t)4095;
    kv_pair *np = tm_rmem_map(nbytes);
    if (!np)
        return -1;
    if (keep)
        memcpy(np, *p, keep * sizeof(kv_pair));
    tm_rmem_unmap(*p, *bytes);
    *p = np;
    *cap = (uint32_t)(nbytes / sizeof(kv_pair));
    *bytes = nbytes;
    return 0;
}

/* --- the per-thread scratch table ------------------------------------------- */

/* key -> value, open addressing; a key undone to "absent" keeps its slot
 * with value TM_PEAK_ABSENT. */
static TM_TLS __thread kv_pair *scratch;
static TM_TLS __thread size_t scratch_slots, scratch_bytes;

void tm_peak_thread_end(void)
{
    tm_rmem_unmap(scratch, scratch_bytes);
    scratch = NULL;
    scratch_slots = scratch_bytes = 0;
}

typedef struct undo {
    kv_pair *t;
    size_t mask;
} undo;

static inline void undo_set(undo *u, uint64_t key, uint64_t val)
{
    size_t i = tm_hash_u64(key) & u->mask;
    while (u->t[i][0] && u->t[i][0] != key)
        i = (i + 1) & u->mask;
    u->t[i][0] = key;
    u->t[i][1] = val;
}

static void undo_entry(uint64_t key, uint64_t val, void *arg)
{
    undo_set(arg, key, val);
}

/* The shard's entries as they were at the peak (its entries now with the
 * first nlog changes of its log undone) into out, which has room for
 * count + nlog.  Shard locked.  Returns the number, or -1 when no scratch
 * memory could be had. */
static long rebuild(unsigned k, kv_pair *out, uint32_t nlog)
{
    peak_shard *s = &shards[k];
    size_t n = tm_live_shard_count(k) + nlog, slots = 64;
    while (slots < 2 * n + 1)
        slots *= 2;
    if (slots > scratch_slots) {
        size_t bytes = (slots * sizeof(kv_pair) + 4095) & ~(size_t)4095;
        kv_pair *t = tm_rmem_map(bytes);
        if (!t)
            return -1;
        tm_rmem_unmap(scratch, scratch_bytes);
        scratch = t;
        scratch_slots = bytes / sizeof(kv_pair);
        scratch_bytes = bytes;
    }
    undo u = { scratch, slots - 1 };
    tm_live_shard_walk_locked(k, undo_entry, &u);
    for (uint32_t i = nlog; i-- > 0;)
        undo_set(&u, s->ev[i][0], s->ev[i][1]);
    long m = 0;
    for (size_t i = 0; i < slots; i++) {
        if (u.t[i][0] && u.t[i][1] != TM_PEAK_ABSENT) {
            out[m][0] = u.t[i][0];
            out[m][1] = u.t[i][1];
            m++;
        }
        u.t[i][0] = 0;
    }
    return m;
}

/* The log passed its bound (or cannot grow): keep the shard's set at the
 * peak instead.  Returns 0, or -1 without memory (nothing changed). */
static int freeze(unsigned k)
{
    peak_shard *s = &shards[k];
    uint32_t need = (uint32_t)(tm_live_shard_count(k) + s->n);
    if (grow(&s->set, &s->set_cap, &s->set_bytes, 0, need ? need : 1) < 0)
        return -1;
    long m = rebuild(k, s->set, s->n);
    if (m < 0)
        return -1;
    s->nset = (uint32_t)m;
    s->frozen = 1;
    s->n = 0;
    return 0;
}

void tm_peak_note(unsigned k, uint64_t key, uint64_t old)
{
    peak_shard *s = &shards[k];
    uint64_t gen = atomic_load_explicit(&tm_peak_gen, memory_order_relaxed);
    if (s->gen != gen) {
        s->gen = gen;
        s->n = 0;
        s->frozen = 0;
    } else if (s->frozen) {
        return;
    }
    /* Before this change is applied, the table and the log agree. */
    if (TM_UNLIKELY(s->n >= 2 * tm_live_shard_count(k) + LOG_FLOOR) && freeze(k) == 0)
        return;
    if (TM_UNLIKELY(s->n == s->cap) && grow(&s->ev, &s->cap, &s->ev_bytes, s->n, s->n + 1) < 0) {
        /* No memory for the log: freezing needs none if the set's array
         * is big enough; failing that, this change is lost and the peak
         * snapshot says it is approximate. */
        if (freeze(k) < 0)
            atomic_store_explicit(&lost_gen, gen + 1, memory_order_relaxed);
        return;
    }
    s->ev[s->n][0] = key;
    s->ev[s->n][1] = old;
    s->n++;
}

void tm_peak_note_wide(void)
{
    atomic_store_explicit(&lost_gen, atomic_load_explicit(&tm_peak_gen, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* --- the peak snapshot --------------------------------------------------------- */

typedef struct wide_copy {
    tm_peak_set *out;
    size_t cap;
    int oom;
} wide_copy;

static int out_reserve(wide_copy *c, size_t need)
{
    if (need <= c->cap)
        return 0;
    size_t ncap = c->cap ? c->cap : 64;
    while (ncap < need)
        ncap *= 2;
    tm_live_entry *nv = realloc(c->out->v, ncap * sizeof(*nv));
    if (!nv)
        return -1;
    c->out->v = nv;
    c->cap = ncap;
    return 0;
}

static void wide_one(const tm_live_entry *e, void *arg)
{
    wide_copy *c = arg;
    if (out_reserve(c, c->out->n + 1) < 0) {
        c->oom = 1;
        return;
    }
    c->out->v[c->out->n++] = *e;
    c->out->bytes += tm_rec_counted(e->size);
}

static void append_packed(wide_copy *c, const kv_pair *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tm_live_entry e = tm_live_unpack(v[i][0], v[i][1]);
        c->out->v[c->out->n++] = e;
        c->out->bytes += tm_rec_counted(e.size);
    }
}

int tm_peak_collect(tm_peak_set *out)
{
    memset(out, 0, sizeof(*out));
    if (!tm_rec_cfg.peak)
        return -1;
    wide_copy c = { out, 0, 0 };
    kv_pair *tmp = NULL;
    uint32_t tmp_cap = 0;
    size_t tmp_bytes = 0;
    tm_live_lock_narrow();
    uint64_t gen = atomic_load_explicit(&tm_peak_gen, memory_order_relaxed);
    for (unsigned k = 0; k < NSHARD && !c.oom; k++) {
        peak_shard *s = &shards[k];
        size_t live = tm_live_shard_count(k);
        if (s->gen == gen && s->frozen) {
            if (out_reserve(&c, out->n + s->nset) < 0)
                c.oom = 1;
            else
                append_packed(&c, s->set, s->nset);
            continue;
        }
        /* A log of an older generation: unchanged since the peak. */
        uint32_t logged = s->gen == gen ? s->n : 0;
        uint32_t need = (uint32_t)(live + logged);
        if (out_reserve(&c, out->n + need) < 0 ||
            grow(&tmp, &tmp_cap, &tmp_bytes, 0, need ? need : 1) < 0) {
            c.oom = 1;
            break;
        }
        long m = rebuild(k, tmp, logged);
        if (m < 0)
            c.oom = 1;
        else
            append_packed(&c, tmp, (size_t)m);
    }
    /* The wide table as it is now (it keeps no log; see the top). */
    if (!c.oom && atomic_load_explicit(&tm_wide_total, memory_order_relaxed))
        tm_wide_foreach(wide_one, &c);
    tm_live_unlock_narrow();
    tm_rmem_unmap(tmp, tmp_bytes);
    out->time_ns = atomic_load_explicit(&peak_time_ns, memory_order_relaxed);
    out->inexact = atomic_load_explicit(&lost_gen, memory_order_relaxed) == gen + 1;
    return c.oom ? -2 : 0;
}

void tm_peak_start(void)
{
    tm_peak_raise();
}
