/* Interning by value for analysis: strings, logical frames, logical stacks. */
#include "an_internal.h"

#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "tm_alloc.h"

static int nomem(tm_error *err, const char *what)
{
    return tm_error_set(err, TM_ENOMEM, "analysis: out of memory (%s)", what);
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static void map_destroy(an_map *m)
{
    tm_free(m->keys);
    tm_free(m->vals);
    memset(m, 0, sizeof *m);
}

static int map_rehash(an_map *m, size_t ncap)
{
    uint64_t *keys = tm_malloc(ncap * sizeof *keys);
    uint32_t *vals = tm_malloc(ncap * sizeof *vals);
    if (!keys || !vals) {
        tm_free(keys);
        tm_free(vals);
        return -1;
    }
    memset(vals, 0xff, ncap * sizeof *vals);
    for (size_t i = 0; i < m->cap; i++) {
        if (m->vals[i] == TM_NONE)
            continue;
        size_t j = mix64(m->keys[i]) & (ncap - 1);
        while (vals[j] != TM_NONE)
            j = (j + 1) & (ncap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    tm_free(m->keys);
    tm_free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = ncap;
    return 0;
}

/* Finds key; if absent inserts `fresh`.  *out gets the stored value. */
static int map_get_or_put(an_map *m, uint64_t key, uint32_t fresh, uint32_t *out,
                          int *inserted)
{
    if ((m->n + 1) * 4 >= m->cap * 3) {
        if (map_rehash(m, m->cap ? m->cap * 2 : 256) != 0)
            return -1;
    }
    size_t j = mix64(key) & (m->cap - 1);
    while (m->vals[j] != TM_NONE) {
        if (m->keys[j] == key) {
            *out = m->vals[j];
            *inserted = 0;
            return 0;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->keys[j] = key;
    m->vals[j] = fresh;
    m->n++;
    *out = fresh;
    *inserted = 1;
    return 0;
}

int an_ctx_init(an_ctx *c, tm_error *err)
{
    memset(c, 0, sizeof *c);
    uint32_t id, name;
    int rc = an_ln_intern(c, TM_NONE, TM_NONE, &id, err);   /* ln 0: empty */
    if (rc == TM_OK)
        rc = an_pool_intern(c, "<unknown>", 9, &name, err);
    if (rc == TM_OK)
        rc = an_lf_intern(c, name, 0, &c->unknown_lf, err);
    if (rc != TM_OK)
        an_ctx_destroy(c);
    return rc;
}

void an_ctx_destroy(an_ctx *c)
{
    for (size_t i = 0; i < c->nstr; i++)
        tm_free(c->str[i]);
    tm_free(c->str);
    tm_free(c->str_len);
    tm_free(c->str_hash);
    tm_free(c->str_slots);
    tm_free(c->lf_name);
    tm_free(c->lf_line);
    map_destroy(&c->lf_map);
    tm_free(c->ln_lf);
    tm_free(c->ln_parent);
    tm_free(c->ln_depth);
    map_destroy(&c->ln_map);
    memset(c, 0, sizeof *c);
}

static int pool_rehash(an_ctx *c, size_t ncap)
{
    uint32_t *slots = tm_malloc(ncap * sizeof *slots);
    if (!slots)
        return -1;
    memset(slots, 0xff, ncap * sizeof *slots);
    for (size_t id = 0; id < c->nstr; id++) {
        size_t j = c->str_hash[id] & (ncap - 1);
        while (slots[j] != TM_NONE)
            j = (j + 1) & (ncap - 1);
        slots[j] = (uint32_t)id;
    }
    tm_free(c->str_slots);
    c->str_slots = slots;
    c->str_slot_cap = ncap;
    return 0;
}

int an_pool_intern(an_ctx *c, const char *s, size_t len, uint32_t *out, tm_error *err)
{
    if (len > UINT32_MAX)
        return tm_error_set(err, TM_ELIMIT, "analysis: string of %zu bytes is too long", len);
    if ((c->nstr + 1) * 4 >= c->str_slot_cap * 3 &&
        pool_rehash(c, c->str_slot_cap ? c->str_slot_cap * 2 : 256) != 0)
        return nomem(err, "string pool");
    uint64_t h = XXH3_64bits(s, len);
    size_t j = h & (c->str_slot_cap - 1);
    for (uint32_t id; (id = c->str_slots[j]) != TM_NONE; j = (j + 1) & (c->str_slot_cap - 1)) {
        if (c->str_hash[id] == h && c->str_len[id] == len && memcmp(c->str[id], s, len) == 0) {
            *out = id;
            return TM_OK;
        }
    }
    if (c->nstr >= c->str_cap) {
        size_t cap = c->str_cap;
        size_t cap2 = cap, cap3 = cap;
        if (tm_grow((void **)&c->str, &cap, c->nstr + 1, sizeof *c->str) != 0 ||
            tm_grow((void **)&c->str_len, &cap2, c->nstr + 1, sizeof *c->str_len) != 0 ||
            tm_grow((void **)&c->str_hash, &cap3, c->nstr + 1, sizeof *c->str_hash) != 0)
            return nomem(err, "string pool");
        /* all three grow by the same rule from the same capacity */
        c->str_cap = cap;
    }
    char *copy = tm_strndup(s, len);
    if (!copy)
        return nomem(err, "string pool");
    uint32_t id = (uint32_t)c->nstr++;
    c->str[id] = copy;
    c->str_len[id] = (uint32_t)len;
    c->str_hash[id] = h;
    c->str_slots[j] = id;
    *out = id;
    return TM_OK;
}

int an_lf_intern(an_ctx *c, uint32_t name, uint32_t line, uint32_t *out, tm_error *err)
{
    /* Room first, so that a failed allocation never leaves a mapped id
     * without its record. */
    if (c->nlf >= c->lf_cap) {
        size_t cap = c->lf_cap, cap2 = c->lf_cap;
        if (tm_grow((void **)&c->lf_name, &cap, c->nlf + 1, sizeof *c->lf_name) != 0 ||
            tm_grow((void **)&c->lf_line, &cap2, c->nlf + 1, sizeof *c->lf_line) != 0)
            return nomem(err, "frame table");
        c->lf_cap = cap;
    }
    int inserted;
    if (map_get_or_put(&c->lf_map, ((uint64_t)name << 32) | line, (uint32_t)c->nlf, out,
                       &inserted) != 0)
        return nomem(err, "frame table");
    if (inserted) {
        c->lf_name[c->nlf] = name;
        c->lf_line[c->nlf] = line;
        c->nlf++;
    }
    return TM_OK;
}

int an_ln_intern(an_ctx *c, uint32_t lf, uint32_t parent, uint32_t *out, tm_error *err)
{
    if (c->nln >= c->ln_cap) {
        size_t cap = c->ln_cap, cap2 = c->ln_cap, cap3 = c->ln_cap;
        if (tm_grow((void **)&c->ln_lf, &cap, c->nln + 1, sizeof *c->ln_lf) != 0 ||
            tm_grow((void **)&c->ln_parent, &cap2, c->nln + 1, sizeof *c->ln_parent) != 0 ||
            tm_grow((void **)&c->ln_depth, &cap3, c->nln + 1, sizeof *c->ln_depth) != 0)
            return nomem(err, "stack table");
        c->ln_cap = cap;
    }
    int inserted;
    if (map_get_or_put(&c->ln_map, ((uint64_t)lf << 32) | parent, (uint32_t)c->nln, out,
                       &inserted) != 0)
        return nomem(err, "stack table");
    if (inserted) {
        c->ln_lf[c->nln] = lf;
        c->ln_parent[c->nln] = parent;
        c->ln_depth[c->nln] = parent == TM_NONE ? 0 : c->ln_depth[parent] + 1;
        c->nln++;
    }
    return TM_OK;
}
