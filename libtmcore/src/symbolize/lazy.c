/*
 * Lazy indexing of a big binary's DWARF: only the units that contain
 * looked-up addresses are read.
 *
 * Opening reads each unit's header and root DIE only (its DW_AT_low_pc /
 * high_pc or DW_AT_ranges; the rest is skipped by unit_length) into a
 * sorted map address span -> unit, as llvm-symbolizer finds a unit.  A
 * lookup reads the unit of its address on first need: lines and functions
 * go into one shared index (strings, demangled names and abstract origins
 * are shared by every unit, as in a full index) and its segments into the
 * unit's own table.  The answer is the one the full index gives as long as
 * units keep their code inside the spans they claim and claim disjoint
 * spans, which is what DWARF says they do (fuzz_dwarf_info checks it); so:
 *   - a unit whose root DIE cannot be read, a unit without spans that still
 *     has lines or functions: the map is not trusted and everything is
 *     read at once (whole mode);
 *   - a unit read later with a line or function outside its spans switches
 *     to whole mode too;
 *   - spans entirely below the first executable segment are ignored: they
 *     are where linkers put discarded code (COMDAT copies, gc-sections);
 *   - an address several units claim goes to the first of them, as in
 *     llvm-symbolizer: ld.bfd points the debug information of a discarded
 *     COMDAT copy at the copy it kept, so every unit that used an inline
 *     function of a header claims its code.  The full index merges their
 *     descriptions of the same code, which answers the same when the
 *     copies are the same code, as the one-definition rule has them.
 * Reading every unit this way costs about what the full index costs (the
 * same walk, the same sorting, cut per unit: 5% more on the bench's 160
 * units), so there is no switch point to tune beyond the size under which
 * the symbolizer does not start lazily.  The map is built from the root
 * DIEs, not .debug_aranges: for 160 units it takes ~12 ms, and a stale or
 * wrong .debug_aranges could only mislead it.
 */
#include <stdlib.h>
#include <string.h>

#include "dwarf_reader.h"
#include "tm_alloc.h"

/* Under this much .debug_info a full index takes milliseconds: lazy
 * indexing would only change when notes about the DWARF are said. */
#define LAZY_MIN_INFO (16u << 20)

/* TM_SYMBOLIZE_LAZY=1 reads DWARF lazily whatever its size, =0 never. */
int sym_lazy_wanted(const sym_elf *d)
{
    const char *env = getenv("TM_SYMBOLIZE_LAZY");
    if (env && (strcmp(env, "0") == 0 || strcmp(env, "1") == 0))
        return env[0] == '1';
    size_t i = sym_elf_find(d, ".debug_info");
    if (i == SIZE_MAX)
        i = sym_elf_find(d, ".zdebug_info");
    return i != SIZE_MAX && d->sections[i].size >= LAZY_MIN_INFO;
}

typedef struct lazy_span {
    uint64_t lo, hi;
    uint32_t unit;
} lazy_span;

struct sym_lazy {
    sym_elf *file; /* owned; NULL when reading sections in memory: */
    const dw_sections *sec;
    const dw_external *ext;
    sym_dwarf *dw;    /* NULL in whole mode */
    sym_index ix;     /* functions and strings (and in whole mode everything) */
    lazy_span *spans; /* the map: disjoint, sorted */
    size_t nspans, capspans;
    lazy_span *claims; /* what each unit claims, by unit then address */
    size_t nclaims, capclaims;
    size_t *first_claim; /* per unit + 1: its claims are [first[u], first[u + 1]) */
    int overlaps;        /* units claim common addresses */
    sym_segtab *tabs;    /* per unit */
    uint8_t *read;       /* per unit: 1 once read */
    size_t nunits, nread;
    uint64_t floor;         /* spans entirely below it are ignored */
    int whole;              /* everything read into ix, finished */
    sym_index before_whole; /* ix of before: its strings were handed out */
    uint32_t adding;        /* unit whose spans are being collected */
    int enomem;
    size_t nlines, nranges; /* read so far, for statistics */
    int degraded;
    char note[SYM_NOTE_MAX];
};

static void span_add(void *ctx, uint64_t lo, uint64_t hi)
{
    sym_lazy *lz = ctx;
    if (lo >= hi || hi <= lz->floor)
        return;
    if (tm_grow((void **)&lz->claims, &lz->capclaims, lz->nclaims + 1, sizeof *lz->claims) != 0) {
        lz->enomem = 1;
        return;
    }
    lz->claims[lz->nclaims++] = (lazy_span){ lo, hi, lz->adding };
}

static int cmp_claim(const void *a, const void *b)
{
    const lazy_span *x = a, *y = b;
    if (x->unit != y->unit)
        return x->unit < y->unit ? -1 : 1;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return x->hi < y->hi ? -1 : x->hi > y->hi;
}

static int cmp_lo(const void *a, const void *b)
{
    const lazy_span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A binary min-heap of claims by unit: the active claims of the sweep. */
static void heap_push(lazy_span *h, size_t *n, lazy_span v)
{
    size_t i = (*n)++;
    while (i && h[(i - 1) / 2].unit > v.unit) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static void heap_pop(lazy_span *h, size_t *n)
{
    lazy_span v = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1].unit < h[c].unit)
            c++;
        if (h[c].unit >= v.unit)
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n)
        h[i] = v;
}

static int map_add(sym_lazy *lz, uint64_t lo, uint64_t hi, uint32_t unit)
{
    lazy_span *last = lz->nspans ? &lz->spans[lz->nspans - 1] : NULL;
    if (last && last->unit == unit && last->hi == lo) {
        last->hi = hi;
        return TM_OK;
    }
    if (tm_grow((void **)&lz->spans, &lz->capspans, lz->nspans + 1, sizeof *lz->spans) != 0)
        return TM_ENOMEM;
    lz->spans[lz->nspans++] = (lazy_span){ lo, hi, unit };
    return TM_OK;
}

/* Merges each unit's touching claims, then cuts the address space into
 * the map: an address claimed by several units (ld.bfd points the debug
 * information of discarded COMDAT copies at the copy it kept) goes to the
 * first of them, as llvm-symbolizer's address map does. */
static int spans_finish(sym_lazy *lz)
{
    if (lz->nclaims) /* claims is NULL when there are none */
        qsort(lz->claims, lz->nclaims, sizeof *lz->claims, cmp_claim);
    size_t n = 0;
    for (size_t i = 0; i < lz->nclaims; i++) {
        lazy_span c = lz->claims[i];
        lazy_span *last = n ? &lz->claims[n - 1] : NULL;
        if (last && last->unit == c.unit && last->hi >= c.lo) {
            if (c.hi > last->hi)
                last->hi = c.hi;
            continue;
        }
        lz->claims[n++] = c;
    }
    lz->nclaims = n;
    lz->first_claim = tm_calloc(lz->nunits + 1, sizeof *lz->first_claim);
    lazy_span *by_lo = tm_malloc((n ? n : 1) * sizeof *by_lo);
    lazy_span *heap = tm_malloc((n ? n : 1) * sizeof *heap);
    uint64_t *pts = tm_malloc((2 * n + 1) * sizeof *pts);
    int rc = lz->first_claim && by_lo && heap && pts ? TM_OK : TM_ENOMEM;
    if (rc == TM_OK) {
        for (size_t i = 0, u = 0; u <= lz->nunits; u++) {
            while (i < n && lz->claims[i].unit < u)
                i++;
            lz->first_claim[u] = i;
        }
        if (n)
            memcpy(by_lo, lz->claims, n * sizeof *by_lo);
        qsort(by_lo, n, sizeof *by_lo, cmp_lo);
        /* the greatest end so far, its unit, and the greatest of the others */
        uint64_t hi1 = 0, hi2 = 0;
        uint32_t u1 = UINT32_MAX;
        for (size_t i = 0; i < n && !lz->overlaps; i++) {
            const lazy_span *c = &by_lo[i];
            lz->overlaps = c->lo < (c->unit == u1 ? hi2 : hi1);
            if (c->unit == u1 && c->hi > hi1)
                hi1 = c->hi;
            else if (c->unit != u1 && c->hi > hi1) {
                hi2 = hi1;
                hi1 = c->hi;
                u1 = c->unit;
            } else if (c->unit != u1 && c->hi > hi2)
                hi2 = c->hi;
        }
        for (size_t i = 0; i < n; i++) {
            pts[2 * i] = by_lo[i].lo;
            pts[2 * i + 1] = by_lo[i].hi;
        }
        qsort(pts, 2 * n, sizeof *pts, cmp_u64);
        size_t next = 0, nheap = 0;
        for (size_t k = 0; rc == TM_OK && k + 1 < 2 * n; k++) {
            uint64_t p = pts[k];
            if (p == pts[k + 1])
                continue;
            while (next < n && by_lo[next].lo <= p)
                heap_push(heap, &nheap, by_lo[next++]);
            while (nheap && heap[0].hi <= p)
                heap_pop(heap, &nheap);
            if (nheap)
                rc = map_add(lz, p, pts[k + 1], heap[0].unit);
        }
    }
    tm_free(by_lo);
    tm_free(heap);
    tm_free(pts);
    return rc;
}

/* [lo, hi) inside one claim of unit u (or below the floor). */
static int inside(const sym_lazy *lz, uint32_t u, uint64_t lo, uint64_t hi)
{
    if (hi <= lz->floor)
        return 1;
    size_t a = lz->first_claim[u], b = lz->first_claim[u + 1];
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (lz->claims[mid].lo <= lo)
            a = mid + 1;
        else
            b = mid;
    }
    return a > lz->first_claim[u] && hi <= lz->claims[a - 1].hi;
}

/* The span holding a, or NULL. */
static const lazy_span *span_of(const sym_lazy *lz, uint64_t a)
{
    size_t lo = 0, hi = lz->nspans;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (lz->spans[mid].lo <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo && a < lz->spans[lo - 1].hi ? &lz->spans[lo - 1] : NULL;
}

static void take_note(sym_lazy *lz)
{
    if (lz->dw)
        sym_dwarf_note(lz->dw, &lz->degraded, lz->note, sizeof lz->note);
}

/* Drops the per-unit state and reads everything into ix at once. */
static int go_whole(sym_lazy *lz)
{
    for (size_t i = 0; i < lz->nunits; i++)
        sym_segtab_free(&lz->tabs[i]);
    sym_dwarf_close(lz->dw);
    lz->dw = NULL;
    lz->before_whole = lz->ix;
    lz->whole = 1;
    lz->note[0] = '\0';
    int rc = sym_index_init(&lz->ix);
    if (rc == TM_OK && lz->file)
        rc = sym_dwarf_index(lz->file, &lz->ix, &lz->degraded, lz->note, sizeof lz->note);
    else if (rc == TM_OK)
        rc = sym_dwarf_index_sections(lz->sec, lz->ext, &lz->ix, lz->note, sizeof lz->note);
    if (rc == TM_EFORMAT) /* read before: cannot happen but for a changed file */
        rc = TM_OK;
    lz->nlines = lz->ix.nlines;
    if (rc == TM_OK)
        rc = sym_index_finish(&lz->ix);
    lz->nranges = lz->ix.nranges;
    return rc;
}

/* Reads unit u; TM_OK, TM_ENOMEM, or TM_EFORMAT when it has code outside
 * its spans (the caller goes whole). */
static int read_unit(sym_lazy *lz, uint32_t u)
{
    int rc = sym_dwarf_read_unit(lz->dw, u);
    if (rc != TM_OK)
        return rc;
    lz->read[u] = 1;
    lz->nread++;
    const sym_index *ix = &lz->ix;
    for (size_t i = 0; i < ix->nlines; i++)
        if (!inside(lz, u, ix->lines[i].lo, ix->lines[i].hi))
            return TM_EFORMAT;
    for (size_t i = 0; i < ix->nranges; i++)
        if (!inside(lz, u, ix->ranges[i].lo, ix->ranges[i].hi))
            return TM_EFORMAT;
    lz->nlines += ix->nlines;
    lz->nranges += ix->nranges;
    take_note(lz);
    return sym_index_take_segments(&lz->ix, &lz->tabs[u]);
}

/* The address map; TM_EFORMAT when it cannot be trusted. */
static int map_units(sym_lazy *lz)
{
    for (size_t i = 0; i < lz->nunits; i++) {
        if (!sym_dwarf_unit_holds_code(lz->dw, i))
            continue;
        int found;
        size_t before = lz->nclaims;
        lz->adding = (uint32_t)i;
        int rc = sym_dwarf_unit_ranges(lz->dw, i, span_add, lz, &found);
        if (rc == TM_OK && lz->enomem)
            rc = TM_ENOMEM;
        if (rc != TM_OK)
            return rc;
        if (found && lz->nclaims > before)
            continue;
        /* No spans (a unit of data only, a dwz partial unit, or a root DIE
         * whose ranges are empty): read it now, and give up if it has code
         * after all (the fuzzer's empty DW_AT_ranges over real lines). */
        if ((rc = sym_dwarf_read_unit(lz->dw, i)) != TM_OK)
            return rc;
        lz->read[i] = 1;
        lz->nread++;
        if (lz->ix.nlines || lz->ix.nranges)
            return TM_EFORMAT;
    }
    return spans_finish(lz);
}

void sym_lazy_close(sym_lazy *lz)
{
    if (!lz)
        return;
    for (size_t i = 0; lz->tabs && i < lz->nunits; i++)
        sym_segtab_free(&lz->tabs[i]);
    tm_free(lz->tabs);
    tm_free(lz->read);
    tm_free(lz->spans);
    tm_free(lz->claims);
    tm_free(lz->first_claim);
    sym_dwarf_close(lz->dw);
    sym_index_free(&lz->ix);
    if (lz->whole)
        sym_index_free(&lz->before_whole);
    sym_elf_close(lz->file);
    tm_free(lz);
}

/* e, or sections sec and ext. */
static int lazy_open(sym_lazy **out, sym_elf *e, const dw_sections *sec, const dw_external *ext,
                     uint64_t floor, char *note, size_t notecap)
{
    *out = NULL;
    sym_lazy *lz = tm_calloc(1, sizeof *lz);
    if (!lz)
        return TM_ENOMEM;
    lz->floor = floor;
    lz->sec = sec;
    lz->ext = ext;
    int rc = sym_index_init(&lz->ix);
    lz->ix.strings.stable = 1;
    if (rc == TM_OK)
        rc = e ? sym_dwarf_open(&lz->dw, e, &lz->ix, note, notecap)
               : sym_dwarf_open_sections(&lz->dw, sec, ext, &lz->ix, note, notecap);
    if (rc != TM_OK) {
        sym_index_free(&lz->ix);
        tm_free(lz);
        return rc;
    }
    lz->file = e;
    lz->nunits = sym_dwarf_nunits(lz->dw);
    lz->tabs = tm_calloc(lz->nunits ? lz->nunits : 1, sizeof *lz->tabs);
    lz->read = tm_calloc(lz->nunits ? lz->nunits : 1, 1);
    rc = lz->tabs && lz->read ? map_units(lz) : TM_ENOMEM;
    if (rc == TM_EFORMAT)
        rc = go_whole(lz);
    else if (rc == TM_OK)
        take_note(lz);
    if (rc != TM_OK) {
        lz->file = NULL; /* the caller still owns e */
        sym_lazy_close(lz);
        return rc;
    }
    *out = lz;
    return TM_OK;
}

int sym_lazy_open(sym_lazy **out, sym_elf *e, char *note, size_t notecap)
{
    return lazy_open(out, e, NULL, NULL, e->first_exec_addr, note, notecap);
}

int sym_lazy_open_sections(sym_lazy **out, const dw_sections *sec, const dw_external *ext,
                           uint64_t floor, char *note, size_t notecap)
{
    return lazy_open(out, NULL, sec, ext, floor, note, notecap);
}

int sym_lazy_whole(const sym_lazy *lz)
{
    return lz->whole;
}

int sym_lazy_overlaps(const sym_lazy *lz)
{
    return lz->overlaps;
}

int sym_lazy_lookup(sym_lazy *lz, const sym_index *syms, uint64_t a, tm_sym_result *out)
{
    const sym_segtab *tab = NULL;
    sym_segtab whole;
    if (!lz->whole) {
        const lazy_span *s = span_of(lz, a);
        if (s && !lz->read[s->unit]) {
            int rc = read_unit(lz, s->unit);
            if (rc == TM_EFORMAT)
                rc = go_whole(lz);
            if (rc != TM_OK)
                return rc;
        }
        if (!lz->whole && s)
            tab = &lz->tabs[s->unit];
    }
    if (lz->whole) {
        whole = (sym_segtab){ lz->ix.segs, lz->ix.nsegs, lz->ix.seg_accel };
        tab = &whole;
    }
    sym_index_lookup_tab(&lz->ix, tab, syms, a, out);
    /* The symbols' names were kept mangled (demangling a big table costs
     * more than reading a few units): demangle the one used, once. */
    const char *outer = out->frames[out->nframes - 1].function;
    int from_syms = syms && syms->raw_symbols &&
        ((outer >= syms->strings.data && outer < syms->strings.data + syms->strings.len) ||
         (syms->sym_names && outer >= syms->sym_names &&
          outer < syms->sym_names + syms->sym_names_len));
    if (from_syms && outer[0] == '_' && outer[1] == 'Z') {
        uint32_t off;
        int rc = sym_index_intern_function(&lz->ix, outer, &off);
        if (rc != TM_OK)
            return rc;
        out->frames[out->nframes - 1].function = sym_str(&lz->ix.strings, off);
    }
    return TM_OK;
}

int sym_lazy_read_all(sym_lazy *lz)
{
    for (size_t i = 0; i < lz->nspans && !lz->whole; i++) {
        if (lz->read[lz->spans[i].unit])
            continue;
        int rc = read_unit(lz, lz->spans[i].unit);
        if (rc == TM_EFORMAT)
            rc = go_whole(lz);
        if (rc != TM_OK)
            return rc;
    }
    return TM_OK;
}

const char *sym_lazy_note(const sym_lazy *lz, int *degraded)
{
    *degraded = lz->degraded;
    return lz->note;
}

void sym_lazy_stats(const sym_lazy *lz, size_t *lines, size_t *ranges, size_t *bytes,
                    size_t *units_read, size_t *units)
{
    size_t b = sizeof *lz + sym_index_memory(&lz->ix) + lz->capspans * sizeof *lz->spans +
        lz->capclaims * sizeof *lz->claims + (lz->nunits + 1) * sizeof(size_t) +
        lz->nunits * (sizeof *lz->tabs + 1);
    for (size_t i = 0; !lz->whole && i < lz->nunits; i++)
        b += sym_segtab_memory(&lz->tabs[i]);
    *lines = lz->nlines;
    *ranges = lz->nranges;
    *bytes = b;
    *units_read = lz->whole ? lz->nunits : lz->nread;
    *units = lz->nunits;
}
