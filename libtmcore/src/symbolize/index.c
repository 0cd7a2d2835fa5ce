/*
 * The per-module address index: three flat sorted arrays, binary searched.
 *   lines   [lo, hi) -> file:line, the row llvm-symbolizer would pick (the
 *           last row of a sequence whose address is <= the looked-up one)
 *   ranges  [lo, hi) -> the innermost subprogram / inlined subroutine; the
 *           enclosing ones follow through sym_func.parent
 *   syms    ELF symbols by address (the name of the outermost frame)
 * Everything is built once, then read only: strings handed out by lookups
 * stay valid as long as the index.
 */
#include <stdlib.h>
#include <string.h>

#include "sym_internal.h"
#include "tm_alloc.h"

/* --- string pool ---------------------------------------------------------- */

int sym_strpool_init(sym_strpool *p)
{
    memset(p, 0, sizeof *p);
    p->data = tm_malloc(64);
    if (!p->data)
        return TM_ENOMEM;
    p->cap = 64;
    p->data[0] = '\0';
    p->len = 1;
    return TM_OK;
}

void sym_strpool_free(sym_strpool *p)
{
    for (size_t i = 0; i < p->nretired; i++)
        tm_free(p->retired[i]);
    tm_free(p->retired);
    tm_free(p->data);
    tm_hindex_free(&p->index);
    memset(p, 0, sizeof *p);
}

int sym_strpool_intern(sym_strpool *p, const char *s, size_t len, uint32_t *out)
{
    if (len == 0) {
        *out = 0;
        return TM_OK;
    }
    uint64_t h = tm_hash_bytes(s, len);
    size_t pos;
    for (uint32_t off = tm_hindex_first(&p->index, h, &pos); off != TM_HINDEX_NONE;
         off = tm_hindex_next(&p->index, h, &pos)) {
        const char *c = p->data + off;
        if (strncmp(c, s, len) == 0 && c[len] == '\0') {
            *out = off;
            return TM_OK;
        }
    }
    if (p->len + len + 1 > UINT32_MAX - 1)
        return TM_ENOMEM;
    if (p->stable && p->len + len + 1 > p->cap) {
        size_t cap = p->cap * 2 > p->len + len + 1 ? p->cap * 2 : p->len + len + 1;
        char *d = tm_malloc(cap);
        if (!d ||
            tm_grow((void **)&p->retired, &p->capretired, p->nretired + 1, sizeof *p->retired) !=
                0) {
            tm_free(d);
            return TM_ENOMEM;
        }
        memcpy(d, p->data, p->len);
        p->retired[p->nretired++] = p->data;
        p->data = d;
        p->cap = cap;
    }
    if (tm_grow((void **)&p->data, &p->cap, p->len + len + 1, 1) != 0)
        return TM_ENOMEM;
    uint32_t off = (uint32_t)p->len;
    if (tm_hindex_add(&p->index, pos, h, off) != 0)
        return TM_ENOMEM;
    memcpy(p->data + off, s, len);
    p->data[off + len] = '\0';
    p->len += len + 1;
    *out = off;
    return TM_OK;
}

/* --- building --------------------------------------------------------------- */

int sym_index_init(sym_index *ix)
{
    memset(ix, 0, sizeof *ix);
    return sym_strpool_init(&ix->strings);
}

void sym_index_free(sym_index *ix)
{
    sym_strpool_free(&ix->strings);
    tm_free(ix->lines);
    tm_free(ix->funcs);
    tm_free(ix->ranges);
    tm_free(ix->syms);
    tm_free(ix->demangled);
    tm_hindex_free(&ix->demangled_index);
    tm_free(ix->segs);
    tm_free(ix->seg_accel.first);
    memset(ix, 0, sizeof *ix);
}

size_t sym_index_memory(const sym_index *ix)
{
    size_t retired = 0;
    for (size_t i = 0, c = ix->strings.cap; i < ix->strings.nretired; i++)
        retired += c /= 2; /* each buffer half the next one, about */
    return retired + ix->strings.cap + tm_hindex_bytes(&ix->strings.index) +
        ix->caplines * sizeof(sym_line) + ix->capfuncs * sizeof(sym_func) +
        ix->capranges * sizeof(sym_range) + ix->capsyms * sizeof(sym_symbol) +
        ix->capdemangled * 2 * sizeof(uint32_t) + tm_hindex_bytes(&ix->demangled_index) +
        ix->nsegs * sizeof(sym_seg) + (ix->seg_accel.nb + 1) * sizeof(uint32_t) + sizeof *ix;
}

int sym_index_add_line(sym_index *ix, uint64_t lo, uint64_t hi, uint32_t file, uint32_t line)
{
    if (lo >= hi)
        return TM_OK;
    if (tm_grow((void **)&ix->lines, &ix->caplines, ix->nlines + 1, sizeof *ix->lines) != 0)
        return TM_ENOMEM;
    ix->lines[ix->nlines++] = (sym_line){ lo, hi, file, line };
    return TM_OK;
}

int sym_index_add_func(sym_index *ix, const sym_func *f, uint32_t *out)
{
    if (ix->nfuncs >= UINT32_MAX - 1)
        return TM_ENOMEM;
    if (tm_grow((void **)&ix->funcs, &ix->capfuncs, ix->nfuncs + 1, sizeof *ix->funcs) != 0)
        return TM_ENOMEM;
    ix->funcs[ix->nfuncs] = *f;
    *out = (uint32_t)ix->nfuncs++;
    return TM_OK;
}

int sym_index_add_range(sym_index *ix, uint64_t lo, uint64_t hi, uint32_t func, uint32_t depth)
{
    if (lo >= hi)
        return TM_OK;
    if (tm_grow((void **)&ix->ranges, &ix->capranges, ix->nranges + 1, sizeof *ix->ranges) != 0)
        return TM_ENOMEM;
    ix->ranges[ix->nranges++] = (sym_range){ lo, hi, func, depth };
    return TM_OK;
}

/* Mangled names repeat (every inlined copy of a function names it again):
 * cache raw pool offset -> demangled offset. */
static uint32_t demangled_lookup(const sym_index *ix, uint32_t raw, size_t *pos)
{
    uint64_t h = tm_hash_u64(raw);
    for (uint32_t id = tm_hindex_first(&ix->demangled_index, h, pos); id != TM_HINDEX_NONE;
         id = tm_hindex_next(&ix->demangled_index, h, pos))
        if (ix->demangled[2 * id] == raw)
            return ix->demangled[2 * id + 1];
    return SYM_NONE;
}

/* pos: where demangled_lookup missed.  Demangling and interning ran since,
 * but neither touches this index, so that slot is still the free one. */
static int demangled_store(sym_index *ix, size_t pos, uint32_t raw, uint32_t val)
{
    if (ix->ndemangled >= UINT32_MAX - 1 ||
        tm_grow((void **)&ix->demangled, &ix->capdemangled, ix->ndemangled + 1,
                2 * sizeof *ix->demangled) != 0)
        return TM_ENOMEM;
    if (tm_hindex_add(&ix->demangled_index, pos, tm_hash_u64(raw), (uint32_t)ix->ndemangled) != 0)
        return TM_ENOMEM;
    ix->demangled[2 * ix->ndemangled] = raw;
    ix->demangled[2 * ix->ndemangled + 1] = val;
    ix->ndemangled++;
    return TM_OK;
}

int sym_index_intern_function(sym_index *ix, const char *name, uint32_t *out)
{
    size_t len = strlen(name);
    if (len < 2 || name[0] != '_' || name[1] != 'Z')
        return sym_strpool_intern(&ix->strings, name, len, out);
    uint32_t raw;
    if (sym_strpool_intern(&ix->strings, name, len, &raw) != TM_OK)
        return TM_ENOMEM;
    size_t pos;
    uint32_t hit = demangled_lookup(ix, raw, &pos);
    if (hit != SYM_NONE) {
        *out = hit;
        return TM_OK;
    }
    char *d;
    int rc = sym_demangle(&d, name);
    if (rc == TM_OK && d)
        rc = sym_strpool_intern(&ix->strings, d, strlen(d), out);
    if (!d)
        *out = raw;
    free(d);
    if (rc != TM_OK)
        return rc;
    return demangled_store(ix, pos, raw, *out);
}

int sym_index_add_symbol(sym_index *ix, uint64_t addr, uint64_t size, const char *name,
                         const char *file)
{
    uint32_t id, fid = 0;
    int rc = TM_OK;
    size_t at = (size_t)(name - ix->sym_names);
    if (ix->raw_symbols && ix->sym_names && name >= ix->sym_names && at < ix->sym_names_len &&
        at < SYM_EXTERNAL)
        id = (uint32_t)at | SYM_EXTERNAL;
    else if (ix->raw_symbols)
        rc = sym_strpool_intern(&ix->strings, name, strlen(name), &id);
    else
        rc = sym_index_intern_function(ix, name, &id);
    if (rc == TM_OK && file)
        rc = sym_strpool_intern(&ix->strings, file, strlen(file), &fid);
    if (rc != TM_OK)
        return rc;
    if (tm_grow((void **)&ix->syms, &ix->capsyms, ix->nsyms + 1, sizeof *ix->syms) != 0)
        return TM_ENOMEM;
    ix->syms[ix->nsyms] = (sym_symbol){ addr, size, id, fid, (uint32_t)ix->nsyms };
    ix->nsyms++;
    return TM_OK;
}

/* --- finishing: sort and flatten --------------------------------------------- */

static int cmp_line(const void *a, const void *b)
{
    const sym_line *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    if (x->hi != y->hi)
        return x->hi < y->hi ? -1 : 1;
    return 0;
}

static int cmp_range(const void *a, const void *b)
{
    const sym_range *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    if (x->depth != y->depth)
        return x->depth < y->depth ? -1 : 1;
    if (x->hi != y->hi)
        return x->hi > y->hi ? -1 : 1;
    return x->func < y->func ? -1 : x->func > y->func;
}

static int cmp_sym(const void *a, const void *b)
{
    const sym_symbol *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    /* aliases (same address and size): the lookup takes the last one, and
     * llvm-symbolizer answers with the one that comes last in the table */
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int emit(sym_range *out, size_t *n, uint64_t lo, uint64_t hi, uint32_t func)
{
    if (lo >= hi)
        return 0;
    if (*n && out[*n - 1].hi == lo && out[*n - 1].func == func) {
        out[*n - 1].hi = hi;
        return 0;
    }
    out[(*n)++] = (sym_range){ lo, hi, func, 0 };
    return 0;
}

/* Nested ranges -> disjoint segments owned by the innermost (most recently
 * opened) range, as llvm's address-to-DIE map resolves them. */
static int flatten_ranges(sym_index *ix)
{
    size_t n = ix->nranges;
    if (n == 0)
        return TM_OK;
    qsort(ix->ranges, n, sizeof *ix->ranges, cmp_range);
    /* every input range yields at most 2 segments (before and after children) */
    sym_range *out = tm_malloc(sizeof *out * (2 * n + 1));
    sym_range *stack = tm_malloc(sizeof *stack * n);
    if (!out || !stack) {
        tm_free(out);
        tm_free(stack);
        return TM_ENOMEM;
    }
    size_t nout = 0, top = 0;
    uint64_t cur = 0;
    for (size_t i = 0; i <= n; i++) {
        uint64_t next = i < n ? ix->ranges[i].lo : UINT64_MAX;
        while (top && stack[top - 1].hi <= next) {
            sym_range t = stack[--top];
            if (t.hi > cur) {
                emit(out, &nout, cur, t.hi, t.func);
                cur = t.hi;
            }
        }
        if (i == n)
            break;
        if (top && next > cur)
            emit(out, &nout, cur, next, stack[top - 1].func);
        if (next > cur || !top)
            cur = next > cur ? next : cur;
        stack[top++] = ix->ranges[i];
    }
    tm_free(stack);
    tm_free(ix->ranges);
    ix->ranges = out;
    ix->nranges = nout;
    ix->capranges = 2 * n + 1;
    return TM_OK;
}

static uint64_t key_at(const void *arr, size_t stride, size_t i)
{
    uint64_t k;
    memcpy(&k, (const char *)arr + i * stride, sizeof k);
    return k;
}

/* About one bucket per element: buckets of 2^shift bytes of address space. */
static int accel_build(sym_accel *ac, const void *arr, size_t stride, size_t n)
{
    memset(ac, 0, sizeof *ac);
    if (n < 64 || n >= UINT32_MAX)
        return TM_OK; /* small: binary search is fine */
    uint64_t base = key_at(arr, stride, 0), span = key_at(arr, stride, n - 1) - base;
    unsigned shift = 0;
    while (shift < 63 && (span >> shift) >= n)
        shift++;
    size_t nb = (size_t)(span >> shift) + 1;
    uint32_t *first = tm_malloc((nb + 1) * sizeof *first);
    if (!first)
        return TM_ENOMEM;
    size_t i = 0;
    for (size_t b = 0; b < nb; b++) {
        uint64_t start = base + ((uint64_t)b << shift);
        while (i < n && key_at(arr, stride, i) < start)
            i++;
        first[b] = (uint32_t)i;
    }
    first[nb] = (uint32_t)n;
    ac->base = base;
    ac->shift = shift;
    ac->first = first;
    ac->nb = nb;
    return TM_OK;
}

/* Index of the first element whose key is > a (upper bound). */
static size_t accel_upper(const sym_accel *ac, const void *arr, size_t stride, size_t n, uint64_t a)
{
    size_t lo = 0, hi = n;
    if (ac->first) {
        if (a < ac->base)
            return 0;
        uint64_t b = (a - ac->base) >> ac->shift;
        if (b >= ac->nb)
            return n;
        lo = ac->first[b];
        hi = ac->first[b + 1];
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_at(arr, stride, mid) <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* LSD radix sort of n keys (11-bit digits; digits equal in every key are
 * skipped, so addresses cost 2 or 3 passes).  tmp has room for n keys. */
static void radix_sort(uint64_t *a, uint64_t *tmp, size_t n)
{
    enum { BITS = 11, DIGITS = 1 << BITS };
    size_t count[DIGITS];
    uint64_t all_or = 0, all_and = ~0ull;
    for (size_t i = 0; i < n; i++) {
        all_or |= a[i];
        all_and &= a[i];
    }
    for (unsigned shift = 0; shift < 64; shift += BITS) {
        if ((((all_or ^ all_and) >> shift) & (DIGITS - 1)) == 0)
            continue;
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[(a[i] >> shift) & (DIGITS - 1)]++;
        size_t sum = 0;
        for (size_t d = 0; d < DIGITS; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[(a[i] >> shift) & (DIGITS - 1)]++] = a[i];
        memcpy(a, tmp, n * sizeof *a);
    }
}

/* Cuts the address space at every boundary and stores, per segment, what
 * the lookup of any of its addresses answers: the line with the greatest
 * start <= a (if a is before its end), the same for function ranges, and
 * the symbol with the greatest address <= a (if a is inside it or it has
 * no size).  Each answer changes only at a boundary, so computing it at
 * the segment start is exact. */
static int build_segments(sym_index *ix, size_t nsyms, sym_seg **segs_out, size_t *nsegs_out)
{
    *segs_out = NULL;
    *nsegs_out = 0;
    size_t np = 2 * (ix->nlines + ix->nranges + nsyms);
    if (np == 0)
        return TM_OK;
    uint64_t *pt = tm_malloc(np * sizeof *pt), *tmp = tm_malloc(np * sizeof *tmp);
    if (!pt || !tmp) {
        tm_free(pt);
        tm_free(tmp);
        return TM_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < ix->nlines; i++) {
        pt[n++] = ix->lines[i].lo;
        pt[n++] = ix->lines[i].hi;
    }
    for (size_t i = 0; i < ix->nranges; i++) {
        pt[n++] = ix->ranges[i].lo;
        pt[n++] = ix->ranges[i].hi;
    }
    for (size_t i = 0; i < nsyms; i++) {
        pt[n++] = ix->syms[i].addr;
        if (ix->syms[i].size && ix->syms[i].addr + ix->syms[i].size > ix->syms[i].addr)
            pt[n++] = ix->syms[i].addr + ix->syms[i].size;
    }
    radix_sort(pt, tmp, n);
    tm_free(tmp);
    sym_seg *segs = tm_malloc(n * sizeof *segs);
    if (!segs) {
        tm_free(pt);
        return TM_ENOMEM;
    }
    size_t ns = 0, il = 0, ir = 0, is = 0;
    for (size_t k = 0; k < n; k++) {
        uint64_t p = pt[k];
        if (k && p == pt[k - 1])
            continue;
        while (il < ix->nlines && ix->lines[il].lo <= p)
            il++;
        while (ir < ix->nranges && ix->ranges[ir].lo <= p)
            ir++;
        while (is < nsyms && ix->syms[is].addr <= p)
            is++;
        sym_seg s = { p, 0, 0, SYM_NONE, SYM_NONE };
        if (il && p < ix->lines[il - 1].hi) {
            s.file = ix->lines[il - 1].file;
            s.line = ix->lines[il - 1].line;
        }
        if (ir && p < ix->ranges[ir - 1].hi)
            s.func = ix->ranges[ir - 1].func;
        if (is) {
            const sym_symbol *y = &ix->syms[is - 1];
            if (y->size == 0 || p - y->addr < y->size)
                s.sym = (uint32_t)(is - 1);
        }
        if (ns && segs[ns - 1].file == s.file && segs[ns - 1].line == s.line &&
            segs[ns - 1].func == s.func && segs[ns - 1].sym == s.sym)
            continue; /* same answer as the segment before: extend it */
        segs[ns++] = s;
    }
    tm_free(pt);
    sym_seg *fit = ns ? tm_realloc(segs, ns * sizeof *segs) : NULL;
    *segs_out = fit ? fit : segs; /* a failed shrink keeps the larger block */
    *nsegs_out = ns;
    return TM_OK;
}

static void sort_lines(sym_index *ix)
{
    /* line programs are mostly emitted in address order: skip the sort then */
    size_t unsorted = 0;
    for (size_t i = 1; i < ix->nlines && !unsorted; i++)
        unsorted = cmp_line(&ix->lines[i - 1], &ix->lines[i]) > 0;
    if (unsorted)
        qsort(ix->lines, ix->nlines, sizeof *ix->lines, cmp_line);
}

int sym_index_take_segments(sym_index *ix, sym_segtab *tab)
{
    memset(tab, 0, sizeof *tab);
    sort_lines(ix);
    int rc = flatten_ranges(ix);
    if (rc == TM_OK)
        rc = build_segments(ix, 0, &tab->segs, &tab->nsegs);
    if (rc == TM_OK)
        rc = accel_build(&tab->accel, tab->segs, sizeof *tab->segs, tab->nsegs);
    /* the next unit's lines and ranges reuse the arrays */
    ix->nlines = ix->nranges = 0;
    if (rc != TM_OK)
        sym_segtab_free(tab);
    return rc;
}

void sym_segtab_free(sym_segtab *tab)
{
    tm_free(tab->segs);
    tm_free(tab->accel.first);
    memset(tab, 0, sizeof *tab);
}

size_t sym_segtab_memory(const sym_segtab *tab)
{
    return tab->nsegs * sizeof(sym_seg) +
        (tab->accel.first ? tab->accel.nb + 1 : 0) * sizeof(uint32_t);
}

int sym_index_finish(sym_index *ix)
{
    if (ix->finished)
        return TM_OK;
    sort_lines(ix);
    int rc = flatten_ranges(ix);
    if (rc != TM_OK)
        return rc;
    if (ix->nsyms) {
        qsort(ix->syms, ix->nsyms, sizeof *ix->syms, cmp_sym);
    }
    if (ix->nsyms >= UINT32_MAX ||
        (rc = build_segments(ix, ix->nsyms, &ix->segs, &ix->nsegs)) != TM_OK ||
        (rc = accel_build(&ix->seg_accel, ix->segs, sizeof *ix->segs, ix->nsegs)) != TM_OK)
        return rc == TM_OK ? TM_ENOMEM : rc;
    tm_free(ix->lines);
    tm_free(ix->ranges);
    ix->lines = NULL;
    ix->ranges = NULL;
    ix->caplines = ix->capranges = 0;
    ix->finished = 1;
    return TM_OK;
}

/* --- lookup ------------------------------------------------------------------ */

/* The segment holding a, or NULL. */
static const sym_seg *seg_at(const sym_seg *segs, size_t n, const sym_accel *ac, uint64_t a)
{
    size_t i = accel_upper(ac, segs, sizeof *segs, n, a);
    return i ? &segs[i - 1] : NULL;
}

/* The line and the inline chain of segment g (of ix). */
static void answer_dwarf(const sym_index *ix, const sym_seg *g, tm_sym_result *out)
{
    const sym_strpool *p = &ix->strings;
    out->frames[0].file = sym_str(p, g->file);
    out->frames[0].line = g->line;
    if (g->func != SYM_NONE) {
        uint32_t f = g->func, prev = SYM_NONE;
        size_t n = 0;
        while (f != SYM_NONE && f < ix->nfuncs && n < TM_SYM_MAX_INLINE) {
            tm_sym_frame *fr = &out->frames[n];
            fr->function = sym_str(p, ix->funcs[f].name);
            if (n > 0) {
                fr->file = sym_str(p, ix->funcs[prev].call_file);
                fr->line = ix->funcs[prev].call_line;
            }
            prev = f;
            f = ix->funcs[f].parent;
            n++;
        }
        out->nframes = n ? n : 1;
    }
}

/* The symbol of segment g (of ix), if any, over the outermost frame. */
static void answer_symbol(const sym_index *ix, const sym_seg *g, tm_sym_result *out)
{
    if (g->sym == SYM_NONE)
        return;
    /* llvm-symbolizer: the symbol table names the outermost function; a
     * local symbol's STT_FILE names the file when DWARF did not. */
    const sym_symbol *s = &ix->syms[g->sym];
    tm_sym_frame *outer = &out->frames[out->nframes - 1];
    outer->function = sym_symbol_name(ix, s);
    if (!outer->file[0] && s->file)
        outer->file = sym_str(&ix->strings, s->file);
}

void sym_index_lookup(const sym_index *ix, uint64_t a, tm_sym_result *out)
{
    out->nframes = 1;
    out->frames[0] = (tm_sym_frame){ "", "", 0 };
    const sym_seg *g = seg_at(ix->segs, ix->nsegs, &ix->seg_accel, a);
    if (!g)
        return;
    answer_dwarf(ix, g, out);
    answer_symbol(ix, g, out);
}

void sym_index_lookup_tab(const sym_index *ix, const sym_segtab *tab, const sym_index *syms,
                          uint64_t a, tm_sym_result *out)
{
    out->nframes = 1;
    out->frames[0] = (tm_sym_frame){ "", "", 0 };
    const sym_seg *g = tab ? seg_at(tab->segs, tab->nsegs, &tab->accel, a) : NULL;
    if (g)
        answer_dwarf(ix, g, out);
    g = syms ? seg_at(syms->segs, syms->nsegs, &syms->seg_accel, a) : NULL;
    if (g)
        answer_symbol(syms, g, out);
}
