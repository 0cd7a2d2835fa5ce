/* Leak suppressions in LeakSanitizer's format (suppress.h). */
#define _GNU_SOURCE 1
#include "suppress.h"

#include <stdlib.h>
#include <string.h>

#include "tm/attribution.h"
#include "tm/file.h"
#include "tm/filter.h"
#include "tm_alloc.h"
#include "tm_snapshot_internal.h"

typedef struct sup_entry {
    char *pattern;
    int top; /* matched against the most recent attributed frame only */
} sup_entry;

struct tm_suppressions {
    sup_entry *e;
    size_t n, cap;
};

int tm_suppressions_new(tm_suppressions **out, tm_error *err)
{
    *out = tm_calloc(1, sizeof **out);
    return *out ? TM_OK : tm_error_set(err, TM_ENOMEM, "out of memory (suppressions)");
}

void tm_suppressions_free(tm_suppressions *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        tm_free(s->e[i].pattern);
    tm_free(s->e);
    tm_free(s);
}

size_t tm_suppressions_count(const tm_suppressions *s)
{
    return s ? s->n : 0;
}

static int add(tm_suppressions *s, const char *p, size_t len, int top, tm_error *err)
{
    if (s->n == TM_SUPPRESS_MAX)
        return tm_error_set(err, TM_ELIMIT, "more than %d suppressions", TM_SUPPRESS_MAX);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        sup_entry *e = tm_realloc(s->e, cap * sizeof *e);
        if (!e)
            return tm_error_set(err, TM_ENOMEM, "out of memory (suppressions)");
        s->e = e;
        s->cap = cap;
    }
    char *c = tm_malloc(len + 1);
    if (!c)
        return tm_error_set(err, TM_ENOMEM, "out of memory (suppressions)");
    memcpy(c, p, len);
    c[len] = 0;
    s->e[s->n].pattern = c;
    s->e[s->n].top = top;
    s->n++;
    return TM_OK;
}

int tm_suppressions_add_top(tm_suppressions *s, const char *pattern, tm_error *err)
{
    size_t len = strlen(pattern);
    if (len == 0 || len > TM_SUPPRESS_PATTERN_MAX)
        return tm_error_set(err, TM_EINVAL, "suppression pattern of %zu bytes (1 to %d)", len,
                            TM_SUPPRESS_PATTERN_MAX);
    return add(s, pattern, len, 1, err);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int tm_suppressions_parse(tm_suppressions *s, const char *text, size_t len, const char *name,
                          tm_error *err)
{
    size_t lineno = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        const char *a = text + pos, *b = text + end;
        pos = end + 1;
        lineno++;
        while (a < b && is_blank(*a))
            a++;
        while (b > a && is_blank(b[-1]))
            b--;
        if (a == b || *a == '#')
            continue;
        if (memchr(a, 0, (size_t)(b - a)))
            return tm_error_set(err, TM_EFORMAT, "%s:%zu: a NUL byte in a suppression", name,
                                lineno);
        const char *colon = memchr(a, ':', (size_t)(b - a));
        if (!colon)
            return tm_error_set(err, TM_EFORMAT,
                                "%s:%zu: not a suppression (expected leak:PATTERN)", name, lineno);
        size_t tlen = (size_t)(colon - a);
        if (tlen != 4 || memcmp(a, "leak", 4) != 0)
            return tm_error_set(err, TM_EFORMAT,
                                "%s:%zu: suppression type '%.*s' is not supported (only leak:)",
                                name, lineno, (int)(tlen > 64 ? 64 : tlen), a);
        const char *p = colon + 1;
        while (p < b && is_blank(*p))
            p++;
        if (p == b)
            return tm_error_set(err, TM_EFORMAT, "%s:%zu: empty pattern after leak:", name, lineno);
        if ((size_t)(b - p) > TM_SUPPRESS_PATTERN_MAX)
            return tm_error_set(err, TM_ELIMIT, "%s:%zu: pattern longer than %d bytes", name,
                                lineno, TM_SUPPRESS_PATTERN_MAX);
        int rc = add(s, p, (size_t)(b - p), 0, err);
        if (rc != TM_OK) {
            if (rc == TM_ELIMIT)
                tm_error_set(err, rc, "%s:%zu: more than %d suppressions", name, lineno,
                             TM_SUPPRESS_MAX);
            return rc;
        }
    }
    return TM_OK;
}

int tm_suppressions_load(tm_suppressions *s, const char *path, tm_error *err)
{
    void *data = NULL;
    size_t len = 0;
    int rc = tm_file_read(&data, &len, path, err);
    if (rc != TM_OK)
        return rc;
    rc = tm_suppressions_parse(s, data, len, path, err);
    free(data);
    return rc;
}

int tm_suppressions_from_env(tm_suppressions **out, tm_error *err)
{
    *out = NULL;
    const char *path = getenv("TM_SUPPRESSIONS");
    if (!path || !*path)
        return TM_OK;
    tm_suppressions *s;
    int rc = tm_suppressions_new(&s, err);
    if (rc != TM_OK)
        return rc;
    if ((rc = tm_suppressions_load(s, path, err)) != TM_OK) {
        tm_error e2 = *err;
        tm_error_set(err, rc, "TM_SUPPRESSIONS: %s", e2.message);
        tm_suppressions_free(s);
        return rc;
    }
    *out = s;
    return TM_OK;
}

/* LeakSanitizer's template match: segments between '*' must appear in
 * order; '^' anchors the first at the start, '$' the last at the end. */
int tm_suppress_match(const char *pattern, const char *name, size_t len)
{
    if (len == 0)
        return 0;
    const char *t = pattern, *s = name, *end = name + len;
    int start = 0, asterisk = 0;
    if (*t == '^') {
        start = 1;
        t++;
    }
    while (*t) {
        if (*t == '*') {
            t++;
            start = 0;
            asterisk = 1;
            continue;
        }
        if (*t == '$')
            return s == end || asterisk;
        if (s == end)
            return 0;
        size_t seg = strcspn(t, "*$");
        const char *hit = memmem(s, (size_t)(end - s), t, seg);
        if (!hit || (start && hit != s))
            return 0;
        if (t[seg] == '$' && t[seg + 1] == 0) {
            /* the last segment must end the name: take its last occurrence */
            const char *last = hit;
            while (last + seg < end && (hit = memmem(last + 1, (size_t)(end - last - 1), t, seg)))
                last = hit;
            return last + seg == end && (!start || last == s);
        }
        s = hit + seg;
        t += seg;
        start = 0;
        asterisk = 0;
    }
    return 1;
}

static int frame_matches(const tm_snapshot *snap, const tm_frame *f, const tm_suppressions *s,
                         int top)
{
    const char *names[3] = { NULL, NULL, NULL };
    size_t lens[3] = { 0, 0, 0 };
    if (f->function)
        names[0] = tm_snapshot_string(snap, f->function, &lens[0]);
    if (f->file)
        names[1] = tm_snapshot_string(snap, f->file, &lens[1]);
    if (f->module != TM_NONE && f->module < tm_snapshot_module_count(snap))
        names[2] = tm_snapshot_string(snap, tm_snapshot_modules(snap)[f->module].path, &lens[2]);
    for (size_t i = 0; i < s->n; i++) {
        if (s->e[i].top != top)
            continue;
        for (int k = 0; k < 3; k++)
            if (names[k] && tm_suppress_match(s->e[i].pattern, names[k], lens[k]))
                return 1;
    }
    return 0;
}

enum { M_UNKNOWN = 0, M_NO = 1, M_YES = 2 };

static int cached_match(uint8_t *cache, const tm_snapshot *snap, uint32_t f,
                        const tm_suppressions *s, int top)
{
    if (cache[f] == M_UNKNOWN)
        cache[f] = frame_matches(snap, &tm_snapshot_frames(snap)[f], s, top) ? M_YES : M_NO;
    return cache[f] == M_YES;
}

int tm_suppressions_apply(tm_snapshot *snap, const tm_suppressions *s, uint64_t *size,
                          uint64_t *count, tm_error *err)
{
    size_t nfr = tm_snapshot_frame_count(snap), nst = tm_snapshot_stack_count(snap);
    const tm_frame *frames = tm_snapshot_frames(snap);
    const tm_stack_node *nodes = tm_snapshot_stacks(snap);
    uint8_t *any_cache = tm_calloc(nfr + 1, 1), *top_cache = tm_calloc(nfr + 1, 1);
    uint8_t *node_any = tm_calloc(nst + 1, 1);
    uint8_t *node_top = tm_malloc(nst + 1);
    tm_attribution *attr = NULL;
    int has_top = 0, rc;
    for (size_t i = 0; i < tm_suppressions_count(s); i++)
        has_top |= s->e[i].top;
    if (!any_cache || !top_cache || !node_any || !node_top) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory (suppressions)");
        goto out;
    }
    if (has_top && (rc = tm_attribution_new(&attr, snap, NULL, err)) != TM_OK)
        goto out;
    /* node_top[k]: for top entries, M_YES when the first frames of stack k,
     * most recent first, that are not hidden and have no source line lead
     * to a frame a top pattern matches before any frame with a line. */
    if (nst)
        node_top[0] = M_NO;
    for (size_t k = 1; k < nst; k++) {
        if (nodes[k].parent >= k || nodes[k].frame >= nfr) {
            rc = tm_error_set(err, TM_EFORMAT, "stack %zu: parent or frame out of range", k);
            goto out;
        }
        uint8_t any = node_any[nodes[k].parent];
        uint8_t top = M_UNKNOWN;
        uint32_t f = nodes[k].frame;
        for (unsigned depth = 0; f != TM_NONE && depth < TM_INLINE_MAX; depth++) {
            if (f >= nfr) {
                rc = tm_error_set(err, TM_EFORMAT, "frame %u: inlined_by out of range", f);
                goto out;
            }
            if (!any && cached_match(any_cache, snap, f, s, 0))
                any = 1;
            if (has_top && top == M_UNKNOWN && !tm_attribution_hides(attr, f)) {
                if (cached_match(top_cache, snap, f, s, 1))
                    top = M_YES;
                else if (frames[f].file && frames[f].line)
                    top = M_NO;
            }
            f = frames[f].inlined_by;
        }
        node_any[k] = any;
        node_top[k] = top != M_UNKNOWN ? top : node_top[nodes[k].parent];
    }
    tm_trace *t = snap->traces;
    size_t ntr = tm_snapshot_trace_count(snap), kept = 0;
    uint64_t ssize = 0, scount = 0;
    for (size_t i = 0; i < ntr; i++) {
        uint32_t st = t[i].stack;
        int sup = 0;
        if (st < nst && st > 0) {
            sup = node_any[st] || (has_top && node_top[st] == M_YES);
        }
        if (sup) {
            ssize += t[i].size;
            scount++;
            continue;
        }
        t[kept] = t[i];
        if (snap->tnf)
            snap->tnf[kept] = snap->tnf[i];
        kept++;
    }
    snap->ntraces = kept;
    if (size)
        *size = ssize;
    if (count)
        *count = scount;
    rc = TM_OK;
out:
    tm_attribution_free(attr);
    tm_free(any_cache);
    tm_free(top_cache);
    tm_free(node_any);
    tm_free(node_top);
    return rc;
}
