/* Interning by value for analysis: strings, logical frames, logical stacks. */
#include "an_internal.h"

#include <string.h>

#include "tm_alloc.h"
#include "tm_hash.h"

static int nomem(tm_error *err, const char *what)
{
    return tm_error_set(err, TM_ENOMEM, "analysis: out of memory (%s)", what);
}

int an_ctx_init(an_ctx *c, tm_error *err)
{
    memset(c, 0, sizeof *c);
    uint32_t id, name;
    int rc = an_ln_intern(c, TM_NONE, TM_NONE, &id, err); /* ln 0: empty */
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
    tm_hindex_free(&c->str_index);
    tm_free(c->lf_name);
    tm_free(c->lf_line);
    tm_hindex_free(&c->lf_index);
    tm_free(c->ln_lf);
    tm_free(c->ln_parent);
    tm_free(c->ln_depth);
    tm_hindex_free(&c->ln_index);
    memset(c, 0, sizeof *c);
}

int an_pool_intern(an_ctx *c, const char *s, size_t len, uint32_t *out, tm_error *err)
{
    if (len > UINT32_MAX)
        return tm_error_set(err, TM_ELIMIT, "analysis: string of %zu bytes is too long", len);
    uint64_t h = tm_hash_bytes(s, len);
    size_t pos;
    for (uint32_t id = tm_hindex_first(&c->str_index, h, &pos); id != TM_HINDEX_NONE;
         id = tm_hindex_next(&c->str_index, h, &pos)) {
        if (c->str_len[id] == len && memcmp(c->str[id], s, len) == 0) {
            *out = id;
            return TM_OK;
        }
    }
    if (c->nstr >= c->str_cap) {
        size_t cap = c->str_cap;
        size_t cap2 = cap;
        if (tm_grow((void **)&c->str, &cap, c->nstr + 1, sizeof *c->str) != 0 ||
            tm_grow((void **)&c->str_len, &cap2, c->nstr + 1, sizeof *c->str_len) != 0)
            return nomem(err, "string pool");
        /* both grow by the same rule from the same capacity */
        c->str_cap = cap;
    }
    char *copy = tm_strndup(s, len);
    if (!copy)
        return nomem(err, "string pool");
    uint32_t id = (uint32_t)c->nstr;
    if (tm_hindex_add(&c->str_index, pos, h, id) != 0) {
        tm_free(copy);
        return nomem(err, "string pool");
    }
    c->nstr++;
    c->str[id] = copy;
    c->str_len[id] = (uint32_t)len;
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
    uint64_t h = tm_hash_u64(((uint64_t)name << 32) | line);
    size_t pos;
    for (uint32_t id = tm_hindex_first(&c->lf_index, h, &pos); id != TM_HINDEX_NONE;
         id = tm_hindex_next(&c->lf_index, h, &pos)) {
        if (c->lf_name[id] == name && c->lf_line[id] == line) {
            *out = id;
            return TM_OK;
        }
    }
    if (tm_hindex_add(&c->lf_index, pos, h, (uint32_t)c->nlf) != 0)
        return nomem(err, "frame table");
    c->lf_name[c->nlf] = name;
    c->lf_line[c->nlf] = line;
    *out = (uint32_t)c->nlf++;
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
    uint64_t h = tm_hash_u64(((uint64_t)lf << 32) | parent);
    size_t pos;
    for (uint32_t id = tm_hindex_first(&c->ln_index, h, &pos); id != TM_HINDEX_NONE;
         id = tm_hindex_next(&c->ln_index, h, &pos)) {
        if (c->ln_lf[id] == lf && c->ln_parent[id] == parent) {
            *out = id;
            return TM_OK;
        }
    }
    if (tm_hindex_add(&c->ln_index, pos, h, (uint32_t)c->nln) != 0)
        return nomem(err, "stack table");
    c->ln_lf[c->nln] = lf;
    c->ln_parent[c->nln] = parent;
    c->ln_depth[c->nln] = parent == TM_NONE ? 0 : c->ln_depth[parent] + 1;
    *out = (uint32_t)c->nln++;
    return TM_OK;
}
