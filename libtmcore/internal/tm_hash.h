/*
 * Private: tmkit's one integer mixer, one byte-string hash and one hash
 * index, shared by every layer (the recorder uses only the mixer).
 *
 * The index maps a key's hash to a uint32 element id; the elements (and so
 * the keys) live in the caller's own arrays, which the caller compares
 * against.  Every table this replaced was an intern table of that shape:
 * the element arrays exist anyway, so the index adds 8 bytes a slot and no
 * copy of the key.
 *
 * Open addressing with linear probing, not chaining: a probe reads one
 * 8-byte slot holding the 32-bit hash and the id, so a miss or a different
 * key is usually rejected without touching the element, and a cluster is a
 * few adjacent slots of one cache line rather than a walk over a `next`
 * array.  Keeping the hash in the slot also lets the table grow, and
 * remove an element (backward shift, no tombstones), without asking the
 * caller to hash its elements again.  The home slot is taken from the same
 * 32 bits as the tag, which caps the table at 2^32 slots (2^31 elements).
 */
#ifndef TM_HASH_H
#define TM_HASH_H

#include <stddef.h>
#include <stdint.h>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

/* MurmurHash3's 64-bit finalizer: every input bit affects every output
 * bit, in five cheap operations.  Keys packed from two small ids (parent,
 * child) or pointers need that before their low bits pick a slot. */
static inline uint64_t tm_hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t tm_hash_bytes(const void *p, size_t n)
{
    return XXH3_64bits(p, n);
}

#define TM_HINDEX_NONE UINT32_MAX

typedef struct tm_hindex {
    uint64_t *slots; /* (hash32 << 32) | (id + 1); 0 = empty */
    size_t cap;      /* 0 or a power of two */
    size_t count;
} tm_hindex;

/* Slow paths (src/base/hash.c).  Both return 0, or -1 when out of memory
 * (the index is then unchanged), which callers report as TM_ENOMEM. */
int tm_hindex_grow(tm_hindex *ix, size_t n);
int tm_hindex_grow_add(tm_hindex *ix, uint64_t hash, uint32_t id);
/* Removes `id`, filed under `hash`; nothing if it is not there. */
void tm_hindex_remove(tm_hindex *ix, uint64_t hash, uint32_t id);
void tm_hindex_clear(tm_hindex *ix);
void tm_hindex_free(tm_hindex *ix);

static inline size_t tm_hindex_bytes(const tm_hindex *ix)
{
    return ix->cap * sizeof *ix->slots;
}

/* At most three quarters full.  Half full was slower on big tables (a
 * million stack nodes): twice the bytes probed at random cost more in cache
 * and TLB misses than the longer probes, which stay within one or two
 * cache lines of 8 slots. */
static inline int tm_hindex_reserve(tm_hindex *ix, size_t n)
{
    return n <= ix->cap / 4 * 3 ? 0 : tm_hindex_grow(ix, n);
}

static inline uint32_t tm_hindex__scan(const tm_hindex *ix, uint32_t tag, size_t i, size_t *pos)
{
    size_t mask = ix->cap - 1;
    for (;; i = (i + 1) & mask) {
        uint64_t v = ix->slots[i];
        if (!v || (uint32_t)(v >> 32) == tag) {
            *pos = i;
            return (uint32_t)v - 1; /* empty: 0 - 1 == TM_HINDEX_NONE */
        }
    }
}

/* The first element filed under `hash`, or TM_HINDEX_NONE.  Lookups go
 *     for (id = first(ix, h, &pos); id != NONE; id = next(ix, h, &pos))
 *         if (equal(id)) return id;
 *     tm_hindex_add(ix, pos, h, new_id);
 * where pos, after the miss, is the empty slot the new element goes to. */
static inline uint32_t tm_hindex_first(const tm_hindex *ix, uint64_t hash, size_t *pos)
{
    if (!ix->cap) {
        *pos = 0;
        return TM_HINDEX_NONE;
    }
    return tm_hindex__scan(ix, (uint32_t)hash, (uint32_t)hash & (ix->cap - 1), pos);
}

static inline uint32_t tm_hindex_next(const tm_hindex *ix, uint64_t hash, size_t *pos)
{
    return tm_hindex__scan(ix, (uint32_t)hash, (*pos + 1) & (ix->cap - 1), pos);
}

/* Files `id` at `pos`, the empty slot a missed lookup of `hash` ended on,
 * with nothing added in between. */
static inline int tm_hindex_add(tm_hindex *ix, size_t pos, uint64_t hash, uint32_t id)
{
    if ((ix->count + 1) * 4 > ix->cap * 3)
        return tm_hindex_grow_add(ix, hash, id);
    ix->slots[pos] = ((uint64_t)(uint32_t)hash << 32) | ((uint64_t)id + 1);
    ix->count++;
    return 0;
}

/* Files `id` without looking for an equal element first. */
static inline int tm_hindex_insert(tm_hindex *ix, uint64_t hash, uint32_t id)
{
    if ((ix->count + 1) * 4 > ix->cap * 3)
        return tm_hindex_grow_add(ix, hash, id);
    size_t mask = ix->cap - 1, i = (uint32_t)hash & mask;
    while (ix->slots[i])
        i = (i + 1) & mask;
    ix->slots[i] = ((uint64_t)(uint32_t)hash << 32) | ((uint64_t)id + 1);
    ix->count++;
    return 0;
}

#endif
