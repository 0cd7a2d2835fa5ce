/*
 * The live table: (domain, ptr) -> (size, stack).  A hook's lookup costs
 * one cache line: 256 shards, each an array of 64-byte buckets of four
 * 16-byte entries behind its own lock.  The shard is a hash of the
 * pointer's 1 MiB region, the bucket a hash of the whole key: threads
 * allocate from their own glibc arenas, so a thread mostly locks and
 * updates its own shards, and their cache lines stay in its core (with a
 * hash of the whole pointer, two threads wrote every shard line in turn:
 * 2 threads x 2 M pairs of the bench went from ~400 to ~300 ns a pair).  A key
 * lives in its home bucket or, when that is full, in the next bucket with
 * room; each bucket counts the entries that passed it (a byte, saturating),
 * so a lookup stops at the first bucket no entry passed, and a removal only
 * clears its slot and decrements the counts on its path: no tombstones, no
 * shifting.  A shard grows by 1.5x at 80% of its slots, so the table costs
 * 20-31 bytes per live block (16-byte entries, +1/64 for the counts).
 *
 * Entry: key = ptr | domain << 48; value = size | stack << 38 (stack ids
 * below 2^26 - 1, the top value meaning "no stack").  Blocks that do not
 * fit (domains >= 65536, addresses >= 2^48, sizes >= 256 GiB) go to the
 * wide side table of live_wide.c, which lookups consult only when it holds
 * something.
 *
 * Each shard also keeps the byte total of its blocks: their sum is the
 * exact traced current (counters.c batches the peak bookkeeping); when
 * sampling, the total of their estimates (tm_rec_counted), and the table
 * keeps the sampled-block filter of free (sampling.c).
 */
#include <emmintrin.h>
#include <stdint.h>
#include <string.h>

#include "rec_internal.h"
#include "tm_hash.h"

#define NSHARD 256
#define SLOTS 4
#define MAX_LOAD_NUM 4 /* 80% of the slots */
#define MAX_LOAD_DEN 5
#define PTR_BITS 48
#define SIZE_BITS 38
#define STACK_NONE ((UINT64_C(1) << 26) - 1)
#define SIZE_MASK ((UINT64_C(1) << SIZE_BITS) - 1)
#define OVF_SAT 255

typedef struct bucket {
    uint64_t key[SLOTS];
    uint64_t val[SLOTS];
} __attribute__((aligned(64))) bucket;

typedef struct shard {
    tm_spin lock;
    bucket *b;
    uint8_t *ovf; /* per bucket: entries stored past it */
    size_t nb;    /* buckets */
    size_t count;
    size_t limit;   /* grow when count reaches it */
    uint64_t bytes; /* sum of the sizes */
    size_t map_bytes;
} shard;

static shard shards[NSHARD] __attribute__((aligned(64)));

/* Shard of a key: a hash of its 1 MiB region (the domain bits included). */
static inline shard *shard_of(uint64_t key)
{
    return &shards[((key >> 20) * 0x9e3779b97f4a7c15ULL) >> 56];
}

static inline int key_fits(uintptr_t ptr, uint32_t domain)
{
    return (ptr >> PTR_BITS) == 0 && domain < (1u << (64 - PTR_BITS));
}

static inline uint64_t make_key(uintptr_t ptr, uint32_t domain)
{
    return (uint64_t)ptr | ((uint64_t)domain << PTR_BITS);
}

static inline size_t home_of(uint64_t h, size_t nb)
{
    return (size_t)(((uint64_t)(uint32_t)h * nb) >> 32);
}

static inline size_t next_of(size_t i, size_t nb)
{
    return i + 1 == nb ? 0 : i + 1;
}

static inline tm_live_entry decode(uint64_t key, uint64_t val)
{
    tm_live_entry e;
    e.ptr = (uintptr_t)(key & ((UINT64_C(1) << PTR_BITS) - 1));
    e.domain = (uint32_t)(key >> PTR_BITS);
    e.size = val & SIZE_MASK;
    uint64_t st = val >> SIZE_BITS;
    e.stack = st == STACK_NONE ? UINT32_MAX : (uint32_t)st;
    return e;
}

/* Bit k set: key[k] == key.  Four compares in SSE2 (the x86-64 baseline),
 * no branch per slot. */
static inline unsigned bucket_match(const bucket *bk, uint64_t key)
{
    __m128i k = _mm_set1_epi64x((long long)key);
    __m128i a = _mm_cmpeq_epi32(_mm_load_si128((const __m128i *)&bk->key[0]), k);
    __m128i b = _mm_cmpeq_epi32(_mm_load_si128((const __m128i *)&bk->key[2]), k);
    /* 64-bit equality: both 32-bit halves equal. */
    a = _mm_and_si128(a, _mm_shuffle_epi32(a, _MM_SHUFFLE(2, 3, 0, 1)));
    b = _mm_and_si128(b, _mm_shuffle_epi32(b, _MM_SHUFFLE(2, 3, 0, 1)));
    return (unsigned)_mm_movemask_pd(_mm_castsi128_pd(a)) |
        (unsigned)_mm_movemask_pd(_mm_castsi128_pd(b)) << 2;
}

/* Stores a key known to be absent.  Shard locked, a free slot exists. */
static void place(bucket *b, uint8_t *ovf, size_t nb, size_t i, uint64_t key, uint64_t val)
{
    for (;;) {
        bucket *bk = &b[i];
        for (int k = 0; k < SLOTS; k++)
            if (!bk->key[k]) {
                bk->key[k] = key;
                bk->val[k] = val;
                return;
            }
        if (ovf[i] != OVF_SAT)
            ovf[i]++;
        i = next_of(i, nb);
    }
}

static int shard_grow(shard *s)
{
    size_t nnb = s->nb ? s->nb + s->nb / 2 : 16;
    size_t bytes = (nnb * (sizeof(bucket) + 1) + 4095) & ~(size_t)4095;
    nnb = bytes / (sizeof(bucket) + 1); /* use the whole mapping */
    bucket *nbk = tm_rmem_map(bytes);
    if (!nbk)
        return -1;
    uint8_t *novf = (uint8_t *)(nbk + nnb);
    for (size_t i = 0; i < s->nb; i++)
        for (int k = 0; k < SLOTS; k++) {
            uint64_t key = s->b[i].key[k];
            if (key)
                place(nbk, novf, nnb, home_of(tm_hash_u64(key), nnb), key, s->b[i].val[k]);
        }
    bucket *old = s->b;
    size_t old_bytes = s->map_bytes;
    /* Unlocked prefetchers read (b, nb): never let them pair a new array
     * with an old count that is larger. */
    __atomic_store_n(&s->nb, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&s->b, nbk, __ATOMIC_RELAXED);
    __atomic_store_n(&s->nb, nnb, __ATOMIC_RELAXED);
    s->ovf = novf;
    s->map_bytes = bytes;
    s->limit = nnb * SLOTS * MAX_LOAD_NUM / MAX_LOAD_DEN;
    tm_rmem_unmap(old, old_bytes);
    return 0;
}

/* (bucket, slot) of key, or 0 with *bi untouched.  Shard locked. */
static inline int find_slot(const shard *s, uint64_t h, uint64_t key, size_t *bi, int *slot)
{
    if (!s->count)
        return 0;
    size_t nb = s->nb;
    size_t i = home_of(h, nb);
    for (;;) {
        unsigned m = bucket_match(&s->b[i], key);
        if (m) {
            *bi = i;
            *slot = __builtin_ctz(m);
            return 1;
        }
        if (!s->ovf[i])
            return 0;
        i = next_of(i, nb);
    }
}

static inline void shard_bytes_set(shard *s, uint64_t v)
{
    __atomic_store_n(&s->bytes, v, __ATOMIC_RELAXED); /* read unlocked by tm_live_bytes */
}

/* Removes (bucket i, slot k) whose key hashes to h; returns what it
 * counted in the totals.  Shard locked. */
static uint64_t erase(shard *s, uint64_t h, size_t i, int k)
{
    uint64_t size = tm_rec_counted(s->b[i].val[k] & SIZE_MASK);
    s->b[i].key[k] = 0;
    for (size_t j = home_of(h, s->nb); j != i; j = next_of(j, s->nb))
        if (s->ovf[j] != OVF_SAT)
            s->ovf[j]--;
    s->count--;
    shard_bytes_set(s, s->bytes - size);
    return size;
}

void tm_live_prefetch(uintptr_t ptr, uint32_t domain)
{
    uint64_t h = tm_hash_u64(make_key(ptr, domain));
    shard *s = shard_of(make_key(ptr, domain));
    /* Unlocked reads, only to choose an address to prefetch: a stale value
     * costs a useless prefetch, nothing else. */
    bucket *b = __atomic_load_n(&s->b, __ATOMIC_RELAXED);
    size_t nb = __atomic_load_n(&s->nb, __ATOMIC_RELAXED);
    if (b && nb) {
        size_t i = home_of(h, nb);
        __builtin_prefetch(&b[i], 1);
        __builtin_prefetch((const uint8_t *)(b + nb) + i, 1); /* its overflow count */
    }
}

static inline unsigned shard_index(const shard *s)
{
    return (unsigned)(s - shards);
}

static int insert_wide(uintptr_t ptr, uint32_t domain, uint64_t size, uint32_t stack)
{
    if (tm_rec_cfg.peak)
        tm_peak_note_wide();
    /* A narrow entry for the same key (say, the block grew past 256 GiB)
     * is replaced: removing it updates the counters. */
    if (key_fits(ptr, domain))
        tm_live_remove(ptr, domain, NULL);
    int64_t delta;
    if (tm_wide_insert(ptr, domain, size, stack, &delta) < 0)
        return -1;
    if (domain == 0 && tm_sample_rate())
        tm_sfilter_add(ptr); /* may count a replaced block twice: harmless */
    tm_counters_add(delta);
    return 0;
}

int tm_live_insert(uintptr_t ptr, uint32_t domain, uint64_t size, uint32_t stack)
{
    /* size == SIZE_MASK goes wide too: no packed value is then all ones,
     * which the peak logs use for "absent". */
    if (TM_UNLIKELY(!key_fits(ptr, domain) || size >= SIZE_MASK ||
                    (stack >= STACK_NONE && stack != UINT32_MAX)))
        return insert_wide(ptr, domain, size, stack);
    uint64_t key = make_key(ptr, domain);
    uint64_t val = size | ((stack == UINT32_MAX ? STACK_NONE : (uint64_t)stack) << SIZE_BITS);
    uint64_t h = tm_hash_u64(key);
    shard *s = shard_of(key);
    int64_t delta = (int64_t)tm_rec_counted(size);
    tm_spin_lock(&s->lock);
    if (TM_UNLIKELY(s->count >= s->limit) && shard_grow(s) < 0) {
        tm_spin_unlock(&s->lock);
        return -1;
    }
    /* One pass: look for the key along its chain and remember the first
     * free slot on it. */
    size_t nb = s->nb, home = home_of(h, nb), i = home, free_b = SIZE_MAX;
    int free_k = 0;
    for (;;) {
        bucket *bk = &s->b[i];
        unsigned m = bucket_match(bk, key);
        if (m) {
            int k = __builtin_ctz(m);
            delta -= (int64_t)tm_rec_counted(bk->val[k] & SIZE_MASK);
            if (tm_rec_cfg.peak)
                tm_peak_note(shard_index(s), key, bk->val[k]);
            bk->val[k] = val;
            goto done;
        }
        if (free_b == SIZE_MAX) {
            unsigned e = bucket_match(bk, 0);
            if (e) {
                free_b = i;
                free_k = __builtin_ctz(e);
            }
        }
        if (!s->ovf[i])
            break;
        i = next_of(i, nb);
    }
    if (TM_UNLIKELY(atomic_load_explicit(&tm_wide_total, memory_order_relaxed))) {
        /* Replacing a block that was wide (say, a huge size). */
        tm_live_entry old;
        if (tm_wide_remove(ptr, domain, &old)) {
            delta -= (int64_t)tm_rec_counted(old.size);
            if (domain == 0 && tm_sample_rate())
                tm_sfilter_remove(ptr); /* added again below */
            if (tm_rec_cfg.peak)
                tm_peak_note_wide();
        }
    }
    if (tm_rec_cfg.peak)
        tm_peak_note(shard_index(s), key, TM_PEAK_ABSENT);
    if (free_b != SIZE_MAX) {
        for (size_t j = home; j != free_b; j = next_of(j, nb))
            if (s->ovf[j] != OVF_SAT)
                s->ovf[j]++;
        s->b[free_b].key[free_k] = key;
        s->b[free_b].val[free_k] = val;
    } else {
        place(s->b, s->ovf, nb, home, key, val);
    }
    s->count++;
    if (domain == 0 && tm_sample_rate())
        tm_sfilter_add(ptr); /* before the program can see (and free) ptr */
done:
    shard_bytes_set(s, s->bytes + (uint64_t)delta);
    tm_spin_unlock(&s->lock);
    tm_counters_add(delta);
    return 0;
}

int tm_live_remove(uintptr_t ptr, uint32_t domain, tm_live_entry *old)
{
    if (TM_LIKELY(key_fits(ptr, domain))) {
        uint64_t key = make_key(ptr, domain);
        uint64_t h = tm_hash_u64(key);
        shard *s = shard_of(key);
        tm_spin_lock(&s->lock);
        size_t i;
        int k;
        if (find_slot(s, h, key, &i, &k)) {
            uint64_t val = s->b[i].val[k];
            if (tm_rec_cfg.peak)
                tm_peak_note(shard_index(s), key, val);
            uint64_t size = erase(s, h, i, k);
            tm_spin_unlock(&s->lock);
            if (domain == 0 && tm_sample_rate())
                tm_sfilter_remove(ptr);
            tm_counters_add(-(int64_t)size);
            if (old)
                *old = decode(key, val);
            return 1;
        }
        tm_spin_unlock(&s->lock);
    }
    if (TM_UNLIKELY(atomic_load_explicit(&tm_wide_total, memory_order_relaxed))) {
        tm_live_entry e;
        if (tm_wide_remove(ptr, domain, &e)) {
            if (tm_rec_cfg.peak)
                tm_peak_note_wide();
            if (domain == 0 && tm_sample_rate())
                tm_sfilter_remove(ptr);
            tm_counters_add(-(int64_t)tm_rec_counted(e.size));
            if (old)
                *old = e;
            return 1;
        }
    }
    return 0;
}

int tm_live_find(uintptr_t ptr, uint32_t domain, tm_live_entry *out)
{
    if (key_fits(ptr, domain)) {
        uint64_t key = make_key(ptr, domain);
        uint64_t h = tm_hash_u64(key);
        shard *s = shard_of(key);
        tm_spin_lock(&s->lock);
        size_t i;
        int k, found = find_slot(s, h, key, &i, &k);
        if (found)
            *out = decode(key, s->b[i].val[k]);
        tm_spin_unlock(&s->lock);
        if (found)
            return 1;
    }
    return atomic_load(&tm_wide_total) ? tm_wide_find(ptr, domain, out) : 0;
}

void tm_live_clear(void)
{
    for (int n = 0; n < NSHARD; n++) {
        shard *s = &shards[n];
        tm_spin_lock(&s->lock);
        tm_rmem_unmap(s->b, s->map_bytes);
        __atomic_store_n(&s->nb, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&s->b, NULL, __ATOMIC_RELAXED);
        s->ovf = NULL;
        s->count = s->map_bytes = s->limit = 0;
        shard_bytes_set(s, 0);
        tm_spin_unlock(&s->lock);
    }
    tm_wide_clear();
    tm_sfilter_clear();
    tm_counters_clear();
}

void tm_live_foreach(void (*fn)(const tm_live_entry *, void *), void *arg)
{
    for (int n = 0; n < NSHARD; n++) {
        shard *s = &shards[n];
        tm_spin_lock(&s->lock);
        for (size_t i = 0; i < s->nb; i++)
            for (int k = 0; k < SLOTS; k++)
                if (s->b[i].key[k]) {
                    tm_live_entry e = decode(s->b[i].key[k], s->b[i].val[k]);
                    fn(&e, arg);
                }
        tm_spin_unlock(&s->lock);
    }
    tm_wide_foreach(fn, arg);
}

size_t tm_live_count(void)
{
    size_t n = atomic_load_explicit(&tm_wide_total, memory_order_relaxed);
    for (int k = 0; k < NSHARD; k++)
        n += __atomic_load_n(&shards[k].count, __ATOMIC_RELAXED);
    return n;
}

uint64_t tm_live_bytes(void)
{
    uint64_t n = tm_wide_bytes();
    for (int k = 0; k < NSHARD; k++)
        n += __atomic_load_n(&shards[k].bytes, __ATOMIC_RELAXED);
    return n;
}

void tm_live_lock_all(void)
{
    for (int k = 0; k < NSHARD; k++)
        tm_spin_lock(&shards[k].lock);
    tm_wide_lock_all();
    tm_sfilter_lock(); /* a leaf lock: last */
}

void tm_live_unlock_all(int child)
{
    tm_sfilter_unlock(child);
    tm_wide_unlock_all(child);
    for (int k = 0; k < NSHARD; k++)
        tm_spin_unlock_fork(&shards[k].lock, child);
}

void tm_live_lock_narrow(void)
{
    for (int k = 0; k < NSHARD; k++)
        tm_spin_lock(&shards[k].lock);
}

void tm_live_unlock_narrow(void)
{
    for (int k = 0; k < NSHARD; k++)
        tm_spin_unlock(&shards[k].lock);
}

size_t tm_live_shard_count(unsigned k)
{
    return shards[k].count;
}

void tm_live_shard_walk_locked(unsigned n, void (*entry)(uint64_t, uint64_t, void *), void *arg)
{
    const shard *s = &shards[n];
    for (size_t i = 0; i < s->nb; i++)
        for (int k = 0; k < SLOTS; k++)
            if (s->b[i].key[k])
                entry(s->b[i].key[k], s->b[i].val[k], arg);
}

tm_live_entry tm_live_unpack(uint64_t key, uint64_t val)
{
    return decode(key, val);
}
