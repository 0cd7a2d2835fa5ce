/*
 * The wide side table of live.c: blocks whose key or value does not fit the
 * 16-byte entries of the main table (domains >= 65536, such as numpy's
 * 389047, addresses >= 2^48, sizes >= 2^38, stack ids that do not fit 26
 * bits).  16 shards chosen by a hash of the pointer, each an open-addressing
 * table (Robin Hood linear probing, backward-shift deletion, no tombstones)
 * behind its own lock.  Entries are 24 bytes (sizes up to 2^48 - 1, the top
 * 16 bits hold the probe distance); a shard grows by 1.5x when 80% full.
 * It keeps per-shard byte totals; the counters are updated by live.c.
 */
#include <stdint.h>
#include <string.h>

#include "rec_internal.h"
#include "tm_hash.h"

#define NSHARD 16
#define MAX_LOAD_NUM 4 /* 80% */
#define MAX_LOAD_DEN 5

typedef struct shard {
    tm_spin lock;
    uint32_t pad;
    tm_live_entry *slots;
    size_t cap;
    size_t count;
    size_t bytes;
    uint64_t live_bytes;
    char pad2[64 - 48];
} shard;

static shard shards[NSHARD] __attribute__((aligned(64)));
_Atomic size_t tm_wide_total;

static inline uint64_t hash_key(uintptr_t ptr, uint32_t domain)
{
    return tm_hash_u64((uint64_t)ptr ^ ((uint64_t)domain << 48));
}

static inline size_t home_of(uint64_t h, size_t cap)
{
    return (size_t)(((unsigned __int128)(uint32_t)h * cap) >> 32);
}

/* Robin Hood linear probing: each entry keeps its distance from its home
 * slot in the top 16 bits of the size word, so lookups stop at the first
 * entry that is closer to home than the key would be, and deletion shifts
 * the rest of the cluster back by one without rehashing anything. */
#define SIZE_MASK ((UINT64_C(1) << 48) - 1)
static inline unsigned dist_of(const tm_live_entry *e)
{
    return (unsigned)(e->size >> 48);
}
static inline void set_dist(tm_live_entry *e, unsigned d)
{
    e->size = (e->size & SIZE_MASK) | ((uint64_t)d << 48);
}

static void place(tm_live_entry *slots, size_t cap, size_t i, tm_live_entry e)
{
    unsigned d = dist_of(&e);
    for (;;) {
        tm_live_entry *cur = &slots[i];
        if (!cur->ptr) {
            *cur = e;
            set_dist(cur, d);
            return;
        }
        if (dist_of(cur) < d) {
            tm_live_entry tmp = *cur;
            *cur = e;
            set_dist(cur, d);
            e = tmp;
            d = dist_of(&tmp);
        }
        i = i + 1 == cap ? 0 : i + 1;
        d++;
    }
}

static int shard_grow(shard *s)
{
    size_t ncap = s->cap ? s->cap + s->cap / 2 : 64;
    size_t bytes = (ncap * sizeof(tm_live_entry) + 4095) & ~(size_t)4095;
    ncap = bytes / sizeof(tm_live_entry); /* use the whole mapping */
    tm_live_entry *ns = tm_rmem_map(bytes);
    if (!ns)
        return -1;
    for (size_t i = 0; i < s->cap; i++) {
        tm_live_entry e = s->slots[i];
        if (!e.ptr)
            continue;
        set_dist(&e, 0);
        place(ns, ncap, home_of(hash_key(e.ptr, e.domain), ncap), e);
    }
    tm_live_entry *old = s->slots;
    __atomic_store_n(&s->cap, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&s->slots, ns, __ATOMIC_RELAXED);
    __atomic_store_n(&s->cap, ncap, __ATOMIC_RELAXED);
    tm_rmem_unmap(old, s->bytes);
    s->bytes = bytes;
    return 0;
}

/* Index of the key's entry, or SIZE_MAX.  Shard locked, cap > 0. */
static inline size_t find_slot(const shard *s, uint64_t h, uintptr_t ptr, uint32_t domain)
{
    size_t cap = s->cap;
    size_t i = home_of(h, cap);
    for (unsigned d = 0;; d++) {
        const tm_live_entry *e = &s->slots[i];
        if (!e->ptr || dist_of(e) < d)
            return SIZE_MAX;
        if (e->ptr == ptr && e->domain == domain)
            return i;
        i = i + 1 == cap ? 0 : i + 1;
    }
}

int tm_wide_insert(uintptr_t ptr, uint32_t domain, uint64_t size, uint32_t stack,
                   int64_t *delta_out)
{
    uint64_t h = hash_key(ptr, domain);
    shard *s = &shards[h >> 60];
    if (size > SIZE_MASK)
        size = SIZE_MASK; /* 256 TiB: no real block is larger */
    int64_t delta = (int64_t)tm_rec_counted(size);
    tm_spin_lock(&s->lock);
    size_t i = s->count ? find_slot(s, h, ptr, domain) : SIZE_MAX;
    if (i != SIZE_MAX) {
        tm_live_entry *e = &s->slots[i];
        delta -= (int64_t)tm_rec_counted(e->size & SIZE_MASK);
        e->size = (e->size & ~SIZE_MASK) | size;
        e->stack = stack;
    } else {
        if ((s->count + 1) * MAX_LOAD_DEN > s->cap * MAX_LOAD_NUM && shard_grow(s) < 0) {
            tm_spin_unlock(&s->lock);
            return -1;
        }
        tm_live_entry e = { ptr, size, stack, domain };
        place(s->slots, s->cap, home_of(h, s->cap), e);
        s->count++;
        atomic_fetch_add_explicit(&tm_wide_total, 1, memory_order_relaxed);
    }
    __atomic_store_n(&s->live_bytes, s->live_bytes + (uint64_t)delta, __ATOMIC_RELAXED);
    tm_spin_unlock(&s->lock);
    *delta_out = delta;
    return 0;
}

int tm_wide_remove(uintptr_t ptr, uint32_t domain, tm_live_entry *old)
{
    uint64_t h = hash_key(ptr, domain);
    shard *s = &shards[h >> 60];
    tm_spin_lock(&s->lock);
    size_t i = s->count ? find_slot(s, h, ptr, domain) : SIZE_MAX;
    if (i == SIZE_MAX) {
        tm_spin_unlock(&s->lock);
        return 0;
    }
    size_t cap = s->cap;
    uint64_t size = s->slots[i].size & SIZE_MASK;
    if (old) {
        *old = s->slots[i];
        old->size = size;
    }
    for (;;) {
        size_t j = i + 1 == cap ? 0 : i + 1;
        tm_live_entry *n = &s->slots[j];
        if (!n->ptr || dist_of(n) == 0)
            break;
        s->slots[i] = *n;
        set_dist(&s->slots[i], dist_of(n) - 1);
        i = j;
    }
    s->slots[i].ptr = 0;
    s->slots[i].size = 0;
    s->count--;
    atomic_fetch_sub_explicit(&tm_wide_total, 1, memory_order_relaxed);
    __atomic_store_n(&s->live_bytes, s->live_bytes - tm_rec_counted(size), __ATOMIC_RELAXED);
    tm_spin_unlock(&s->lock);
    return 1;
}

int tm_wide_find(uintptr_t ptr, uint32_t domain, tm_live_entry *out)
{
    uint64_t h = hash_key(ptr, domain);
    shard *s = &shards[h >> 60];
    int found = 0;
    tm_spin_lock(&s->lock);
    size_t i = s->count ? find_slot(s, h, ptr, domain) : SIZE_MAX;
    if (i != SIZE_MAX) {
        *out = s->slots[i];
        out->size &= SIZE_MASK;
        found = 1;
    }
    tm_spin_unlock(&s->lock);
    return found;
}

void tm_wide_clear(void)
{
    for (int k = 0; k < NSHARD; k++) {
        shard *s = &shards[k];
        tm_spin_lock(&s->lock);
        tm_rmem_unmap(s->slots, s->bytes);
        __atomic_store_n(&s->cap, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&s->slots, NULL, __ATOMIC_RELAXED);
        s->count = s->bytes = 0;
        __atomic_store_n(&s->live_bytes, 0, __ATOMIC_RELAXED);
        tm_spin_unlock(&s->lock);
    }
    atomic_store(&tm_wide_total, 0);
}

void tm_wide_foreach(void (*fn)(const tm_live_entry *, void *), void *arg)
{
    for (int k = 0; k < NSHARD; k++) {
        shard *s = &shards[k];
        tm_spin_lock(&s->lock);
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i].ptr) {
                tm_live_entry e = s->slots[i];
                e.size &= SIZE_MASK;
                fn(&e, arg);
            }
        tm_spin_unlock(&s->lock);
    }
}

uint64_t tm_wide_bytes(void)
{
    uint64_t n = 0;
    for (int k = 0; k < NSHARD; k++)
        n += __atomic_load_n(&shards[k].live_bytes, __ATOMIC_RELAXED);
    return n;
}

void tm_wide_lock_all(void)
{
    for (int k = 0; k < NSHARD; k++)
        tm_spin_lock(&shards[k].lock);
}

void tm_wide_unlock_all(int child)
{
    for (int k = 0; k < NSHARD; k++)
        tm_spin_unlock_fork(&shards[k].lock, child);
}
