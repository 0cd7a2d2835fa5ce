/* Filters as tracemalloc applies them (Snapshot._filter_trace). */
#include "an_internal.h"

#include <string.h>

#include "tm_alloc.h"

int tm_filter_parse(tm_filter *f, const char *spec, int inclusive, tm_error *err)
{
    memset(f, 0, sizeof *f);
    f->kind = TM_FILTER_FRAME;
    f->inclusive = inclusive;
    f->pattern = spec;
    const char *colon = strrchr(spec, ':');
    if (!colon || colon[1] == 0)
        return TM_OK;
    unsigned long long line = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return TM_OK; /* not a line number: all of it is pattern */
        line = line * 10 + (unsigned)(*p - '0');
        if (line > UINT32_MAX)
            return tm_error_set(err, TM_EINVAL, "filter '%s': line number too large", spec);
    }
    if (colon == spec)
        return TM_OK; /* ":5" is a pattern, not an empty one */
    f->pattern_len = (size_t)(colon - spec);
    f->has_lineno = 1;
    f->lineno = (uint32_t)line;
    return TM_OK;
}

int an_filters_init(an_filters *fs, const tm_filter *f, size_t n, tm_error *err)
{
    memset(fs, 0, sizeof *fs);
    if (n > TM_FILTER_MAX)
        return tm_error_set(err, TM_ELIMIT, "%zu filters given; at most %d are supported", n,
                            TM_FILTER_MAX);
    fs->f = f;
    fs->n = n;
    if (n == 0)
        return TM_OK;
    fs->pat = tm_calloc(n, sizeof *fs->pat);
    if (!fs->pat)
        return tm_error_set(err, TM_ENOMEM, "out of memory (filters)");
    for (size_t i = 0; i < n; i++) {
        if (f[i].kind == TM_FILTER_DOMAIN) {
            fs->domain_dependent = 1;
            continue;
        }
        if (f[i].kind != TM_FILTER_FRAME || !f[i].pattern) {
            an_filters_destroy(fs);
            return tm_error_set(err, TM_EINVAL, "filter %zu: no pattern", i);
        }
        size_t plen = f[i].pattern_len ? f[i].pattern_len : strlen(f[i].pattern);
        int rc = tm_pattern_compile(&fs->pat[i], f[i].pattern, plen, err);
        if (rc != TM_OK) {
            an_filters_destroy(fs);
            return rc;
        }
        fs->frame_bits |= 1ull << i;
        if (f[i].all_frames)
            fs->all_frames_bits |= 1ull << i;
        if (f[i].has_domain)
            fs->domain_dependent = 1;
    }
    return TM_OK;
}

void an_filters_destroy(an_filters *fs)
{
    if (fs->pat)
        for (size_t i = 0; i < fs->n; i++)
            tm_pattern_free(fs->pat[i]);
    tm_free(fs->pat);
    tm_free(fs->lf_mask);
    tm_free(fs->lf_done);
    memset(fs, 0, sizeof *fs);
}

int an_filters_lf_mask(an_filters *fs, an_ctx *c, uint32_t lf, uint64_t *out, tm_error *err)
{
    if (lf >= fs->lf_cap) {
        size_t cap = fs->lf_cap, cap2 = fs->lf_cap;
        if (tm_grow((void **)&fs->lf_mask, &cap, c->nlf, sizeof *fs->lf_mask) != 0 ||
            tm_grow((void **)&fs->lf_done, &cap2, c->nlf, sizeof *fs->lf_done) != 0)
            return tm_error_set(err, TM_ENOMEM, "out of memory (filters)");
        memset(fs->lf_done + fs->lf_cap, 0, cap - fs->lf_cap);
        fs->lf_cap = cap;
    }
    if (!fs->lf_done[lf]) {
        uint64_t m = 0;
        uint32_t name = c->lf_name[lf];
        for (size_t i = 0; i < fs->n; i++) {
            if (!(fs->frame_bits >> i & 1))
                continue;
            if (fs->f[i].has_lineno && fs->f[i].lineno != c->lf_line[lf])
                continue;
            if (tm_pattern_match(fs->pat[i], c->str[name], c->str_len[name]))
                m |= 1ull << i;
        }
        fs->lf_mask[lf] = m;
        fs->lf_done[lf] = 1;
    }
    *out = fs->lf_mask[lf];
    return TM_OK;
}

int an_filters_keep(const an_filters *fs, uint64_t mask, uint32_t domain)
{
    int have_inclusive = 0, included = 0;
    for (size_t i = 0; i < fs->n; i++) {
        const tm_filter *f = &fs->f[i];
        int m;
        if (f->kind == TM_FILTER_DOMAIN)
            m = domain == f->domain;
        else
            m = (mask >> i & 1) && (!f->has_domain || domain == f->domain);
        if (f->inclusive) {
            have_inclusive = 1;
            included |= m;
        } else if (m) {
            return 0;
        }
    }
    return !have_inclusive || included;
}

int an_filters_nodes(an_filters *fs, an_ctx *c, const an_view *v, uint64_t **node_mask,
                     uint8_t **node_keep, tm_error *err)
{
    size_t S = v->nstacks ? v->nstacks : 1, L = v->nlnodes;
    uint64_t *lmask = tm_malloc(L * sizeof *lmask);
    uint64_t *mask = tm_malloc(S * sizeof *mask);
    uint8_t *keep = tm_malloc(S);
    int rc = TM_OK;
    if (!lmask || !mask || !keep) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory (filters)");
        goto out;
    }
    lmask[0] = 0;
    for (size_t l = 1; l < L; l++) {
        uint64_t m;
        if ((rc = an_filters_lf_mask(fs, c, v->lnode_lf[l], &m, err)) != TM_OK)
            goto out;
        /* own bits, plus the callers' bits for all_frames filters */
        lmask[l] = m | (lmask[v->lnode_parent[l]] & fs->all_frames_bits);
    }
    /* A stack's mask is its innermost frame's: that frame's own bits plus
     * its callers' all_frames bits, which is what lmask holds. */
    for (size_t s = 0; s < v->nstacks; s++) {
        mask[s] = lmask[v->node_lnode[s]];
        keep[s] = (uint8_t)an_filters_keep(fs, mask[s], 0);
    }
out:
    tm_free(lmask);
    if (rc != TM_OK) {
        tm_free(mask);
        tm_free(keep);
        return rc;
    }
    *node_mask = mask;
    *node_keep = keep;
    return TM_OK;
}
