/*
 * Python's fnmatch, reproduced without regular expressions.  CPython
 * translates a pattern to a regex (fnmatch.translate); we compile the same
 * pattern to single-character tokens plus `*`, keeping translate()'s
 * treatment of brackets (chunking at '-', dropping reversed ranges, the
 * "[!]"/"[]" corner cases), and match whole names code point by code point.
 */
#include "an_internal.h"

#include <string.h>

#include "tm_alloc.h"
#include "tm_utf8.h"

enum { TOK_LIT, TOK_ANY, TOK_STAR, TOK_SET };

typedef struct tok {
    int kind;
    uint32_t cp;     /* TOK_LIT */
    int negated;     /* TOK_SET */
    size_t first, n; /* TOK_SET: ranges[first .. first+n) */
} tok;

struct tm_pattern {
    tok *toks;
    size_t ntoks;
    uint32_t (*ranges)[2];
    size_t nranges;
};

static int compile_raw(tm_pattern **out, const char *pattern, size_t len, tm_error *err);
static int match_name(const tm_pattern *p, const char *name, size_t len);
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i);
static size_t normalized_len(const char *s, size_t len);

int tm_pattern_compile(tm_pattern **out, const char *pattern, size_t len, tm_error *err)
{
    return compile_raw(out, pattern, normalized_len(pattern, len), err);
}

void tm_pattern_free(tm_pattern *p)
{
    if (!p)
        return;
    tm_free(p->toks);
    tm_free(p->ranges);
    tm_free(p);
}

int tm_pattern_match(const tm_pattern *p, const char *name, size_t len)
{
    return match_name(p, name, normalized_len(name, len));
}

int tm_fnmatch(int *matched, const char *name, const char *pattern, tm_error *err)
{
    tm_pattern *p;
    *matched = 0;
    int rc = compile_raw(&p, pattern, strlen(pattern), err);
    if (rc != TM_OK)
        return rc;
    *matched = match_name(p, name, strlen(name));
    tm_pattern_free(p);
    return TM_OK;
}

size_t an_utf8_decode(const char *str, size_t len, uint32_t *out)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = 0;
    for (size_t i = 0; i < len;)
        out[n++] = utf8_next(s, len, &i);
    return n;
}

/* The code point at s[*i] (*i < len), advancing *i past it.  It depends on
 * nothing before *i, so a matcher may restart decoding at any code point
 * boundary and see what a whole-string decode would have produced. */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    uint32_t cp;
    size_t k = tm_utf8_seq(s + *i, len - *i, &cp);
    /* Encoded surrogates are kept: Python pickles them with surrogatepass,
     * so a pattern must be able to match them.  An invalid byte b stands
     * for itself as U+DC00 + b (surrogateescape). */
    uint32_t r = k ? cp : 0xdc00u + s[*i];
    *i += k ? k : 1;
    return r;
}

/* ".pyc" -> ".py" (tracemalloc._normalize_filename; normcase is a no-op) */
static size_t normalized_len(const char *s, size_t len)
{
    if (len >= 4 && memcmp(s + len - 4, ".pyc", 4) == 0)
        return len - 1;
    return len;
}

typedef struct builder {
    tm_pattern *p;
    size_t tok_cap, range_cap;
} builder;

static int add_tok(builder *b, tok t)
{
    if (tm_grow((void **)&b->p->toks, &b->tok_cap, b->p->ntoks + 1, sizeof(tok)) != 0)
        return -1;
    b->p->toks[b->p->ntoks++] = t;
    return 0;
}

static int add_range(builder *b, uint32_t lo, uint32_t hi)
{
    if (tm_grow((void **)&b->p->ranges, &b->range_cap, b->p->nranges + 1, sizeof *b->p->ranges) !=
        0)
        return -1;
    b->p->ranges[b->p->nranges][0] = lo;
    b->p->ranges[b->p->nranges][1] = hi;
    b->p->nranges++;
    return 0;
}

/* One "[...]" whose contents are pat[i, j); mirrors fnmatch.translate. */
static int compile_set(builder *b, const uint32_t *pat, size_t i, size_t j, uint32_t *work)
{
    /* chunks: work holds the chunks' characters back to back, with a
     * separator value (UINT32_MAX) between chunks: an unescaped '-'. */
    const uint32_t SEP = UINT32_MAX;
    size_t w = 0;
    int has_dash = 0;
    for (size_t k = i; k < j; k++)
        has_dash |= pat[k] == '-';
    if (!has_dash) {
        for (size_t k = i; k < j; k++)
            work[w++] = pat[k];
    } else {
        /* chunk boundaries as (start, end) into pat; at most (j-i) chunks */
        size_t nch = 0;
        size_t *cs = tm_malloc(2 * (j - i + 1) * sizeof *cs);
        uint32_t *merged = tm_malloc((j - i + 1) * sizeof *merged);
        if (!cs || !merged) {
            tm_free(cs);
            tm_free(merged);
            return -1;
        }
        /* chunks live back to back in `merged`; cs[] holds their bounds */
        size_t m = 0;
        size_t k = pat[i] == '!' ? i + 2 : i + 1;
        size_t start = i;
        for (;;) {
            size_t f = k;
            while (f < j && pat[f] != '-')
                f++;
            if (k >= j || f >= j)
                break;
            cs[2 * nch] = m;
            for (size_t q = start; q < f; q++)
                merged[m++] = pat[q];
            cs[2 * nch + 1] = m;
            nch++;
            start = f + 1;
            k = f + 3;
        }
        if (start < j) {
            cs[2 * nch] = m;
            for (size_t q = start; q < j; q++)
                merged[m++] = pat[q];
            cs[2 * nch + 1] = m;
            nch++;
        } else {
            /* chunks[-1] += '-': an escaped dash, stored as a literal;
             * chunks are contiguous in `merged`, the last one ends at m */
            merged[m++] = '-';
            cs[2 * nch - 1] = m;
        }
        /* remove reversed ranges, last pair first, as translate() does */
        for (size_t q = nch - 1; q >= 1; q--) {
            size_t a0 = cs[2 * (q - 1)], a1 = cs[2 * (q - 1) + 1];
            size_t b0 = cs[2 * q], b1 = cs[2 * q + 1];
            if (merged[a1 - 1] > merged[b0]) {
                /* chunks[q-1] = chunks[q-1][:-1] + chunks[q][1:] */
                size_t len = a1 - 1 - a0;
                uint32_t *tmp = work; /* scratch, large enough */
                memcpy(tmp, merged + a0, len * sizeof *tmp);
                memcpy(tmp + len, merged + b0 + 1, (b1 - b0 - 1) * sizeof *tmp);
                size_t nlen = len + (b1 - b0 - 1);
                /* write back in place: new chunk fits in [a0, b1) */
                memcpy(merged + a0, tmp, nlen * sizeof *tmp);
                cs[2 * (q - 1) + 1] = a0 + nlen;
                for (size_t r = q; r + 1 < nch; r++) {
                    cs[2 * r] = cs[2 * (r + 1)];
                    cs[2 * r + 1] = cs[2 * (r + 1) + 1];
                }
                nch--;
            }
        }
        for (size_t q = 0; q < nch; q++) {
            if (q > 0)
                work[w++] = SEP;
            for (size_t r = cs[2 * q]; r < cs[2 * q + 1]; r++)
                work[w++] = merged[r];
        }
        tm_free(cs);
        tm_free(merged);
    }
    tok t = { TOK_SET, 0, 0, b->p->nranges, 0 };
    if (w == 0) /* empty range: never matches */
        return add_tok(b, t);
    if (w == 1 && work[0] == '!') { /* negated empty range: any char */
        t.kind = TOK_ANY;
        return add_tok(b, t);
    }
    size_t r = 0;
    if (work[0] == '!') {
        t.negated = 1;
        r = 1;
    }
    /* parse as sre parses a class: item, or item '-' item for a range */
    while (r < w) {
        uint32_t lo = work[r] == SEP ? (uint32_t)'-' : work[r];
        r++;
        if (r < w && work[r] == SEP) {
            if (r + 1 >= w) {
                if (add_range(b, lo, lo) || add_range(b, '-', '-'))
                    return -1;
                r++;
                continue;
            }
            uint32_t hi = work[r + 1] == SEP ? (uint32_t)'-' : work[r + 1];
            r += 2;
            if (lo <= hi && add_range(b, lo, hi))
                return -1;
            continue;
        }
        if (add_range(b, lo, lo))
            return -1;
    }
    t.n = b->p->nranges - t.first;
    return add_tok(b, t);
}

static int compile_raw(tm_pattern **out, const char *pattern, size_t len, tm_error *err)
{
    *out = NULL;
    builder b = { 0 };
    b.p = tm_calloc(1, sizeof *b.p);
    uint32_t *pat = tm_malloc((len + 1) * sizeof *pat);
    uint32_t *work = tm_malloc((2 * len + 2) * sizeof *work);
    if (!b.p || !pat || !work)
        goto nomem;
    size_t n = an_utf8_decode(pattern, len, pat);
    for (size_t i = 0; i < n;) {
        uint32_t c = pat[i++];
        tok t = { TOK_LIT, c, 0, 0, 0 };
        if (c == '*') {
            if (b.p->ntoks && b.p->toks[b.p->ntoks - 1].kind == TOK_STAR)
                continue;
            t.kind = TOK_STAR;
        } else if (c == '?') {
            t.kind = TOK_ANY;
        } else if (c == '[') {
            size_t j = i;
            if (j < n && pat[j] == '!')
                j++;
            if (j < n && pat[j] == ']')
                j++;
            while (j < n && pat[j] != ']')
                j++;
            if (j < n) {
                if (compile_set(&b, pat, i, j, work) != 0)
                    goto nomem;
                i = j + 1;
                continue;
            }
        }
        if (add_tok(&b, t) != 0)
            goto nomem;
    }
    tm_free(pat);
    tm_free(work);
    *out = b.p;
    return TM_OK;
nomem:
    tm_free(pat);
    tm_free(work);
    tm_pattern_free(b.p);
    return tm_error_set(err, TM_ENOMEM, "out of memory compiling pattern");
}

static int tok_match(const tm_pattern *p, const tok *t, uint32_t c)
{
    switch (t->kind) {
    case TOK_LIT: return t->cp == c;
    case TOK_ANY: return 1;
    case TOK_SET: {
        int in = 0;
        for (size_t i = t->first; i < t->first + t->n && !in; i++)
            in = p->ranges[i][0] <= c && c <= p->ranges[i][1];
        /* an empty non-negated set is "(?!)": never */
        return t->negated ? !in : in;
    }
    }
    return 0;
}

/* Decodes the name as it goes rather than into a buffer, so that matching
 * never allocates and so cannot fail. */
static int match_name(const tm_pattern *p, const char *name, size_t len)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;
    const size_t np = p->ntoks;
    while (si < len) {
        size_t next = si;
        uint32_t c;
        if (pi < np && p->toks[pi].kind == TOK_STAR) {
            star_p = pi++;
            star_s = si;
        } else if (pi < np && (c = utf8_next(s, len, &next), tok_match(p, &p->toks[pi], c))) {
            pi++;
            si = next;
        } else if (star_p != SIZE_MAX) {
            /* Leftmost-first retry is enough: every token is one character. */
            pi = star_p + 1;
            utf8_next(s, len, &star_s);
            si = star_s;
        } else {
            return 0;
        }
    }
    while (pi < np && p->toks[pi].kind == TOK_STAR)
        pi++;
    return pi == np;
}
