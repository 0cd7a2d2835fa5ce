/* The hash index's slow paths; see tm_hash.h for the layout. */
#include "tm_hash.h"

#include <string.h>

#include "tm_alloc.h"

/* Starting at 64 slots, the growth steps up to a few thousand elements
 * were a third of the time of interning them. */
#define MIN_CAP 256

static size_t home_of(uint64_t v, size_t mask)
{
    return (size_t)(uint32_t)(v >> 32) & mask;
}

int tm_hindex_grow(tm_hindex *ix, size_t n)
{
    if (n > (SIZE_MAX / 2) || n > ((size_t)1 << 31))
        return -1;
    size_t cap = ix->cap ? ix->cap * 2 : MIN_CAP;
    while (cap / 4 * 3 < n)
        cap *= 2;
    /* tm_malloc, not tm_calloc: only it asks for huge pages, and a big
     * table is probed at random, where with 4 KiB pages most lookups also
     * miss the TLB. */
    uint64_t *slots = tm_malloc(cap * sizeof *slots);
    if (!slots)
        return -1;
    memset(slots, 0, cap * sizeof *slots);
    size_t mask = cap - 1;
    for (size_t i = 0; i < ix->cap; i++) {
        uint64_t v = ix->slots[i];
        if (!v)
            continue;
        size_t j = home_of(v, mask);
        while (slots[j])
            j = (j + 1) & mask;
        slots[j] = v;
    }
    tm_free(ix->slots);
    ix->slots = slots;
    ix->cap = cap;
    return 0;
}

int tm_hindex_grow_add(tm_hindex *ix, uint64_t hash, uint32_t id)
{
    if (tm_hindex_grow(ix, ix->count + 1))
        return -1;
    return tm_hindex_insert(ix, hash, id);
}

void tm_hindex_remove(tm_hindex *ix, uint64_t hash, uint32_t id)
{
    if (!ix->cap)
        return;
    size_t mask = ix->cap - 1;
    uint64_t want = ((uint64_t)(uint32_t)hash << 32) | ((uint64_t)id + 1);
    size_t i = (uint32_t)hash & mask;
    for (; ix->slots[i] != want; i = (i + 1) & mask) {
        if (!ix->slots[i])
            return;
    }
    /* Backward shift: pull each later member of the cluster into the hole
     * unless that would put it before its home slot. */
    for (size_t j = i;;) {
        j = (j + 1) & mask;
        uint64_t v = ix->slots[j];
        if (!v)
            break;
        size_t k = home_of(v, mask);
        if (((j - k) & mask) >= ((j - i) & mask)) {
            ix->slots[i] = v;
            i = j;
        }
    }
    ix->slots[i] = 0;
    ix->count--;
}

void tm_hindex_clear(tm_hindex *ix)
{
    if (ix->cap)
        memset(ix->slots, 0, ix->cap * sizeof *ix->slots);
    ix->count = 0;
}

void tm_hindex_free(tm_hindex *ix)
{
    tm_free(ix->slots);
    ix->slots = NULL;
    ix->cap = ix->count = 0;
}
