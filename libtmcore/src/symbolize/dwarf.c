/*
 * DWARF -> sym_index, with our own readers (info.c for .debug_info and the
 * sections it points into, lines.c for .debug_line).  libdwarf did this
 * before; its per-DIE and per-row allocations were ~90% of index building.
 *
 * What we take:
 *   - each compilation unit's line program (lines.c);
 *   - every DW_TAG_subprogram / DW_TAG_inlined_subroutine with addresses:
 *     its ranges, its name (linkage name first, following abstract_origin
 *     and specification as llvm's findRecursively does), and for inlined
 *     calls DW_AT_call_file/call_line.
 * DIEs are read in one linear pass per unit; subtrees that cannot hold
 * code (types, parameters, variables, call sites) are skipped, through
 * DW_AT_sibling when present.  An error stops the unit it happens in; what
 * was read so far stays usable and the note says what was skipped.
 * Sections come from elf.c, already decompressed (zlib, zstd).
 *
 * Debug information outside the file: a split-DWARF skeleton unit has only
 * the line table; its functions are in a split unit of a .dwo or a .dwp
 * (dwp.c), read with a second reader that borrows the skeleton's
 * .debug_addr and bases.  A dwz file names DIEs and strings of a
 * supplementary file, read with a third reader; references into it carry
 * ALT_REF.  A file that cannot be found only costs inline frames or names:
 * it is one note for the module (walker_degraded), not an error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dwarf_walk.h"
#include "sym_internal.h"
#include "tm_alloc.h"

typedef struct range_buf {
    uint64_t lo[MAX_RANGES], hi[MAX_RANGES];
    int n;
} range_buf;

/* Counts every problem of a kind; the first one is the one said. */
static void note_first(char *note, size_t cap, const char *fmt, va_list ap)
{
    if (!note[0])
        vsnprintf(note, cap, fmt, ap);
}

void walker_error(walker *w, const char *fmt, ...)
{
    w->errors++;
    va_list ap;
    va_start(ap, fmt);
    note_first(w->note, sizeof w->note, fmt, ap);
    va_end(ap);
}

void walker_degraded(walker *w, const char *fmt, ...)
{
    w->ndegraded++;
    va_list ap;
    va_start(ap, fmt);
    note_first(w->degraded, sizeof w->degraded, fmt, ap);
    va_end(ap);
}
/* --- attributes -------------------------------------------------------------- */

static int key_of(unsigned name)
{
    switch (name) {
    case AT_low_pc: return K_low;
    case AT_high_pc: return K_high;
    case AT_ranges: return K_ranges;
    case AT_abstract_origin: return K_origin;
    case AT_specification: return K_spec;
    case AT_name: return K_name;
    case AT_linkage_name: return K_linkage;
    case AT_MIPS_linkage_name: return K_mips;
    case AT_call_file: return K_call_file;
    case AT_call_line: return K_call_line;
    case AT_sibling: return K_sibling;
    case AT_comp_dir: return K_comp_dir;
    case AT_stmt_list: return K_stmt_list;
    case AT_dwo_name:
    case AT_GNU_dwo_name: return K_dwo_name;
    case AT_GNU_dwo_id: return K_dwo_id;
    case AT_GNU_ranges_base: return K_ranges_base;
    default: return -1;
    }
}

int read_attrs_of(walker *w, const dw_reader *r, const dw_unit *u, sym_cur *c, const dw_abbrev *a,
                  die_attrs *out)
{
    out->have = 0;
    const dw_attrspec *sp = a->nattr ? &u->ab->specs[a->first] : NULL; /* specs may be NULL */
    for (uint32_t i = 0; i < a->nattr; i++) {
        dw_val v;
        if (dw_read_val(r, u, c, &sp[i], &v) != 0) {
            walker_error(w, ".debug_info at offset %llu: unsupported form 0x%x",
                         (unsigned long long)(c->p - r->sec.info.p), sp[i].form);
            return -1;
        }
        int k = key_of(v.name);
        if (k >= 0 && !(out->have & (1u << k))) { /* the first of duplicates wins */
            out->have |= 1u << k;
            out->v[k] = v;
        }
    }
    if (c->bad) {
        walker_error(w, ".debug_info: DIE runs past its unit at offset %llu",
                     (unsigned long long)u->off);
        return -1;
    }
    return 0;
}

static int read_attrs(walker *w, const dw_unit *u, sym_cur *c, const dw_abbrev *a, die_attrs *out)
{
    return read_attrs_of(w, &w->r, u, c, a, out);
}

/* The attributes of the DIE at global offset off of reader r; its unit in
 * *uo. */
static int die_at(walker *w, dw_reader *r, uint64_t off, dw_unit **uo, die_attrs *out)
{
    dw_unit *u = dw_unit_of(r, off);
    if (!u)
        return -1;
    char note[SYM_NOTE_MAX];
    int rc = dw_unit_abbrevs(r, u, note, sizeof note);
    if (rc == TM_ENOMEM)
        w->enomem = 1;
    if (rc != TM_OK)
        return -1;
    dw_unit_bases(r, u);
    sym_cur c = dw_cursor(r, u, off);
    uint64_t code;
    const dw_abbrev *a = dw_die_begin(u, &c, &code);
    if (!a)
        return -1;
    *uo = u;
    return read_attrs_of(w, r, u, &c, a, out);
}

/* --- names ---------------------------------------------------------------------- */

/* A DIE reference: the offset, tagged with ALT_REF when it is in the dwz
 * file (offsets of the two files would collide). */
#define ALT_REF (1ull << 63)

static int ref_of(walker *w, const dw_reader *in, const dw_val *v, uint64_t *out)
{
    if (dw_val_ref(v, out)) {
        if (*out & ALT_REF)
            return 0;
        if (in == &w->alt)
            *out |= ALT_REF;
        return 1;
    }
    if (dw_val_ref_alt(v, out) && !(*out & ALT_REF)) {
        if (!w->alt.nunits)
            return 0;
        *out |= ALT_REF;
        return 1;
    }
    return 0;
}

/* llvm's findRecursively: the DIE's own attributes, then the DIEs named by
 * DW_AT_specification and DW_AT_abstract_origin, depth first. */
static const char *find_string(walker *w, const die_attrs *die, const int *keys, int nkeys)
{
    uint64_t todo[MAX_NAME_HOPS], seen[MAX_NAME_HOPS];
    int ntodo = 0, nseen = 0, hops = 0, first = 1;
    while (first || ntodo > 0) {
        die_attrs buf;
        const die_attrs *d = die;
        dw_unit *u = w->u;
        dw_reader *r = &w->r;
        if (!first) {
            uint64_t ref = todo[--ntodo];
            if (ref & ALT_REF)
                r = &w->alt;
            if (die_at(w, r, ref & ~ALT_REF, &u, &buf) != 0)
                continue;
            d = &buf;
        }
        first = 0;
        for (int i = 0; i < nkeys; i++) {
            const char *s;
            if (has(d, keys[i]) && dw_val_string(r, u, &d->v[keys[i]], &s))
                return s;
        }
        static const int refs[2] = { K_origin, K_spec };
        for (int i = 0; i < 2 && hops < MAX_NAME_HOPS; i++) {
            uint64_t off;
            if (!has(d, refs[i]) || !ref_of(w, r, &d->v[refs[i]], &off))
                continue;
            int dup = 0;
            for (int k = 0; k < nseen; k++)
                dup |= seen[k] == off;
            if (dup || nseen >= MAX_NAME_HOPS || ntodo >= MAX_NAME_HOPS)
                continue;
            seen[nseen++] = off;
            todo[ntodo++] = off;
            hops++;
        }
    }
    return NULL;
}

static int origin_lookup(walker *w, uint64_t key, uint32_t **slot)
{
    uint64_t h = tm_hash_u64(key);
    size_t pos;
    for (uint32_t id = tm_hindex_first(&w->origin_index, h, &pos); id != TM_HINDEX_NONE;
         id = tm_hindex_next(&w->origin_index, h, &pos)) {
        if (w->origins[id].off == key) {
            *slot = &w->origins[id].name;
            return 1;
        }
    }
    if (w->norigin >= UINT32_MAX - 1 ||
        tm_grow((void **)&w->origins, &w->caporigin, w->norigin + 1, sizeof *w->origins) != 0 ||
        tm_hindex_add(&w->origin_index, pos, h, (uint32_t)w->norigin) != 0)
        return -1;
    w->origins[w->norigin] = (origin_entry){ key, 0 };
    *slot = &w->origins[w->norigin++].name;
    return 0;
}

static int subroutine_name(walker *w, const die_attrs *die, uint32_t *out)
{
    static const int linkage[2] = { K_mips, K_linkage };
    static const int plain[1] = { K_name };
    *out = 0;
    /* A DIE whose only naming is its abstract origin (the usual inlined
     * copy) has the origin's name: resolve each origin once. */
    uint32_t *slot = NULL;
    uint64_t off = 0;
    if (!has(die, K_name) && !has(die, K_linkage) && !has(die, K_mips) && has(die, K_origin) &&
        ref_of(w, &w->r, &die->v[K_origin], &off) && off) {
        int hit = origin_lookup(w, off, &slot);
        if (hit < 0)
            return TM_ENOMEM;
        if (hit == 1) {
            *out = *slot;
            return TM_OK;
        }
    }
    const char *s = find_string(w, die, linkage, 2);
    if (!s)
        s = find_string(w, die, plain, 1);
    if (w->enomem)
        return TM_ENOMEM;
    int rc = s ? sym_index_intern_function(w->ix, s, out) : TM_OK;
    if (rc == TM_OK && slot)
        *slot = *out;
    return rc;
}

static void file_name(walker *w, uint64_t idx, uint32_t *out)
{
    /* numbered as the DWARF version does: lines.c keeps that numbering */
    *out = idx < w->lf.nfiles ? w->lf.files[idx] : 0;
}

/* --- ranges and the DIE walk ---------------------------------------------------------- */

static void ranges_add(void *ctx, uint64_t lo, uint64_t hi)
{
    range_buf *rb = ctx;
    if (lo < hi && rb->n < MAX_RANGES) {
        rb->lo[rb->n] = lo;
        rb->hi[rb->n++] = hi;
    }
}

static void die_ranges(walker *w, const die_attrs *d, range_buf *rb)
{
    rb->n = 0;
    uint64_t lo, hi;
    if (has(d, K_low) && has(d, K_high) && dw_val_address(&w->r, w->u, &d->v[K_low], &lo)) {
        if (dw_val_is_constant(&d->v[K_high])) {
            ranges_add(rb, lo, lo + d->v[K_high].u);
            return;
        }
        if (dw_val_address(&w->r, w->u, &d->v[K_high], &hi)) {
            ranges_add(rb, lo, hi);
            return;
        }
    }
    if (!has(d, K_ranges))
        return;
    char note[SYM_NOTE_MAX];
    if (dw_ranges(&w->r, w->u, &d->v[K_ranges], ranges_add, rb, note, sizeof note) != 0)
        walker_error(w, "%s", note);
}

/* The func record for stack item k, created on first need (a subroutine
 * without addresses gets one only when an inlined call inside it has). */
static int materialise(walker *w, size_t k, uint32_t *out)
{
    walk_item *it = &w->stack[k];
    if (it->func != SYM_NONE) {
        *out = it->func;
        return TM_OK;
    }
    sym_func f = { 0, 0, 0, SYM_NONE };
    int rc;
    if (it->inlined && k > 0) {
        rc = materialise(w, k - 1, &f.parent);
        if (rc != TM_OK)
            return rc;
    }
    if ((rc = subroutine_name(w, &it->at, &f.name)) != TM_OK)
        return rc;
    if (it->inlined) {
        uint64_t v;
        if (has(&it->at, K_call_file) && dw_val_unsigned(&it->at.v[K_call_file], &v))
            file_name(w, v, &f.call_file);
        if (has(&it->at, K_call_line) && dw_val_unsigned(&it->at.v[K_call_line], &v))
            f.call_line = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    }
    if ((rc = sym_index_add_func(w->ix, &f, &it->func)) != TM_OK)
        return rc;
    *out = it->func;
    return TM_OK;
}

static int skip_children(unsigned tag)
{
    switch (tag) {
    case TAG_formal_parameter:
    case TAG_variable:
    case TAG_member:
    case TAG_enumeration_type:
    case TAG_subroutine_type:
    case TAG_array_type:
    case TAG_GNU_call_site:
    case TAG_call_site:
    case TAG_base_type:
    case TAG_pointer_type:
    case TAG_typedef:
    case TAG_const_type:
    case TAG_template_type_parameter:
    case TAG_template_value_parameter: return 1;
    default: return 0;
    }
}

/* The DIEs below the root of unit u, in one pass.  `level` is the nesting
 * level of the next DIE (the root's children are at 1). */
int walk_unit(walker *w, dw_unit *u, sym_cur *c)
{
    unsigned level = 1, skip_level = 0;
    w->depth = 0;
    while (c->p < c->end) {
        uint64_t pos = (uint64_t)(c->p - w->r.sec.info.p), code;
        const dw_abbrev *a = dw_die_begin(u, c, &code);
        if (c->bad) {
            walker_error(w, ".debug_info at offset %llu: truncated DIE", (unsigned long long)pos);
            return TM_OK;
        }
        if (code == 0) {
            if (--level == 0)
                return TM_OK;
            continue;
        }
        if (!a) {
            walker_error(w, ".debug_info at offset %llu: unknown abbreviation code %llu",
                         (unsigned long long)pos, (unsigned long long)code);
            return TM_OK;
        }
        unsigned L = level;
        while (w->depth && w->stack[w->depth - 1].level >= L)
            w->depth--;
        if (skip_level && L > skip_level) {
            if (dw_skip_attrs(&w->r, u, c, a) != 0) {
                walker_error(w, ".debug_info at offset %llu: malformed DIE",
                             (unsigned long long)pos);
                return TM_OK;
            }
            if (a->children)
                level++;
            continue;
        }
        skip_level = 0;
        int sub = a->tag == TAG_subprogram || a->tag == TAG_inlined_subroutine;
        if (sub && w->depth < MAX_DIE_DEPTH && L <= MAX_DIE_DEPTH) {
            size_t k = w->depth;
            walk_item *it = &w->stack[k];
            if (read_attrs(w, u, c, a, &it->at) != 0)
                return TM_OK;
            it->func = SYM_NONE;
            it->inlined = a->tag == TAG_inlined_subroutine;
            it->level = L;
            w->depth++;
            range_buf rb;
            die_ranges(w, &it->at, &rb);
            if (rb.n > 0) {
                uint32_t f;
                int rc = materialise(w, k, &f);
                for (int i = 0; rc == TM_OK && i < rb.n; i++)
                    rc = sym_index_add_range(w->ix, rb.lo[i], rb.hi[i], f, L);
                if (rc != TM_OK)
                    return rc;
            }
            if (a->children)
                level++;
            continue;
        }
        int skip = sub || skip_children(a->tag) || L > MAX_DIE_DEPTH;
        if (skip && a->children) {
            /* jump over the subtree when the producer says where it ends */
            die_attrs d;
            if (read_attrs(w, u, c, a, &d) != 0)
                return TM_OK;
            uint64_t sib;
            const uint8_t *here = c->p;
            if (has(&d, K_sibling) && dw_val_ref(&d.v[K_sibling], &sib) &&
                sib > (uint64_t)(here - w->r.sec.info.p) && sib < u->end) {
                c->p = w->r.sec.info.p + sib;
            } else {
                skip_level = L;
                level++;
            }
            continue;
        }
        if (dw_skip_attrs(&w->r, u, c, a) != 0) {
            walker_error(w, ".debug_info at offset %llu: malformed DIE", (unsigned long long)pos);
            return TM_OK;
        }
        if (a->children)
            level++;
    }
    return TM_OK;
}

void origins_reset(walker *w)
{
    /* DIE offsets are per file: a split unit's would hit the file's */
    w->norigin = 0;
    tm_hindex_clear(&w->origin_index);
}

static int process_unit(walker *w, dw_unit *u)
{
    char note[SYM_NOTE_MAX] = "";
    int rc = dw_unit_abbrevs(&w->r, u, note, sizeof note);
    if (rc == TM_ENOMEM)
        return rc;
    if (rc != TM_OK) {
        walker_error(w, "unit at offset %llu: %s", (unsigned long long)u->off, note);
        return TM_OK;
    }
    dw_unit_bases(&w->r, u);
    w->u = u;
    sym_cur c = dw_cursor(&w->r, u, u->die);
    uint64_t code;
    const dw_abbrev *a = dw_die_begin(u, &c, &code);
    if (!a) {
        walker_error(w, ".debug_info at offset %llu: bad unit DIE", (unsigned long long)u->die);
        return TM_OK;
    }
    die_attrs root;
    if (read_attrs(w, u, &c, a, &root) != 0)
        return TM_OK;
    const char *comp_dir = NULL;
    if (has(&root, K_comp_dir))
        dw_val_string(&w->r, u, &root.v[K_comp_dir], &comp_dir);
    const dw_val *sl = &root.v[K_stmt_list];
    if (has(&root, K_stmt_list) && (sl->form == 0x17 || sl->form == 0x06 || sl->form == 0x07)) {
        w->line_in.comp_dir = comp_dir;
        w->line_in.addr_size = u->addr_size;
        note[0] = '\0';
        rc = sym_lines_read(&w->line_in, sl->u, w->ix, &w->lf, note, sizeof note);
        if (rc == TM_ENOMEM)
            return rc;
        if (rc != TM_OK)
            walker_error(w, "%s", note);
        rc = TM_OK; /* a broken line table still leaves the functions */
    }
    if (a->children)
        rc = walk_unit(w, u, &c);
    if (rc == TM_OK && (u->unit_type == 4 || has(&root, K_dwo_id)))
        rc = split_unit(w, u, &root, comp_dir);
    tm_free(w->lf.files);
    memset(&w->lf, 0, sizeof w->lf);
    return rc == TM_OK && w->enomem ? TM_ENOMEM : rc;
}

/* --- sections, and reading them whole or unit by unit ------------------------------------ */

struct sym_dwarf {
    walker w;
    sym_elf *alt_file; /* the dwz supplementary file, opened by us */
    size_t ncu;        /* units that can hold code: compile, partial, skeleton */
};

/* The supplementary file of e (dwarf_files.c finds it) into w->alt. */
static int alt_open(walker *w, sym_elf *e, sym_elf **out)
{
    dw_sections sec;
    char note[SYM_NOTE_MAX] = "";
    int rc = sym_dwarf_sup_open(e, out, &sec, note, sizeof note);
    if (rc != TM_OK || !*out) {
        if (rc == TM_OK && note[0])
            walker_degraded(w, "%s", note);
        return rc;
    }
    note[0] = '\0';
    rc = dw_reader_init(&w->alt, &sec, note, sizeof note);
    if (rc == TM_OK && note[0])
        walker_error(w, "%s: %s", (*out)->path, note);
    return rc;
}

void sym_dwarf_close(sym_dwarf *d)
{
    if (!d)
        return;
    walker *w = &d->w;
    dw_reader_free(&w->r);
    if (w->dwp)
        sym_elf_close(w->dwp);
    tm_free(w->lf.files);
    tm_free(w->origins);
    tm_hindex_free(&w->origin_index);
    dw_reader_free(&w->alt);
    if (d->alt_file)
        sym_elf_close(d->alt_file);
    tm_free(d);
}

/* Compile, partial and skeleton units (a skeleton has the line table of a
 * split-DWARF unit); type units hold no code. */
static int holds_code(const dw_unit *u)
{
    return u->unit_type == 1 || u->unit_type == 3 || u->unit_type == 4;
}

/* The unit headers of sections *secp into d->w.r. */
static int open_sections(sym_dwarf *d, const dw_sections *secp, char *note, size_t notecap)
{
    walker *w = &d->w;
    dw_sections sec = *secp;
    sec.sup_str = w->alt.sec.str;
    if (!sec.info.n) {
        snprintf(note, notecap, "no usable DWARF: no debug sections");
        return TM_EFORMAT;
    }
    char hnote[SYM_NOTE_MAX] = "";
    int rc = dw_reader_init(&w->r, &sec, hnote, sizeof hnote);
    if (rc != TM_OK)
        return rc;
    if (hnote[0])
        walker_error(w, "%s", hnote);
    w->line_in.line = sec.line.p;
    w->line_in.line_size = sec.line.n;
    w->line_in.line_str = sec.line_str.p;
    w->line_in.line_str_size = sec.line_str.n;
    w->line_in.str = sec.str.p;
    w->line_in.str_size = sec.str.n;
    w->line_in.msb = sec.msb;
    for (size_t i = 0; i < w->r.nunits; i++)
        d->ncu += holds_code(&w->r.units[i]);
    if (d->ncu == 0) {
        snprintf(note, notecap, "no usable DWARF: %s",
                 w->note[0] ? w->note : "no compilation units");
        return TM_EFORMAT;
    }
    return TM_OK;
}

int sym_dwarf_open(sym_dwarf **out, sym_elf *e, sym_index *ix, char *note, size_t notecap)
{
    *out = NULL;
    sym_dwarf *d = tm_calloc(1, sizeof *d);
    if (!d)
        return TM_ENOMEM;
    walker *w = &d->w;
    w->ix = ix;
    w->e = e;
    dw_sections sec;
    memset(&sec, 0, sizeof sec);
    sec.msb = e->msb;
    static const char *const names[] = { ".debug_info",     ".debug_abbrev",      ".debug_str",
                                         ".debug_line_str", ".debug_str_offsets", ".debug_addr",
                                         ".debug_ranges",   ".debug_rnglists",    ".debug_line" };
    dw_bytes *slots[] = { &sec.info, &sec.abbrev, &sec.str,      &sec.line_str, &sec.str_offsets,
                          &sec.addr, &sec.ranges, &sec.rnglists, &sec.line };
    int rc = TM_OK;
    char snote[SYM_NOTE_MAX] = "";
    for (size_t i = 0; rc == TM_OK && i < sizeof names / sizeof names[0]; i++) {
        rc = sym_dwarf_section(e, names[i], slots[i], snote, sizeof snote);
        if (rc != TM_OK && rc != TM_ENOMEM && i < 2) { /* without these nothing can be read */
            snprintf(note, notecap, "no usable DWARF: %s", snote);
            rc = TM_EFORMAT;
        } else if (rc != TM_OK && rc != TM_ENOMEM) {
            walker_error(w, "%s", snote);
            rc = TM_OK;
        }
    }
    if (rc == TM_OK && (rc = alt_open(w, e, &d->alt_file)) == TM_OK)
        rc = open_sections(d, &sec, note, notecap);
    if (rc != TM_OK) {
        sym_dwarf_close(d);
        return rc;
    }
    *out = d;
    return TM_OK;
}

size_t sym_dwarf_nunits(const sym_dwarf *d)
{
    return d->w.r.nunits;
}

int sym_dwarf_unit_holds_code(const sym_dwarf *d, size_t unit)
{
    return unit < d->w.r.nunits && holds_code(&d->w.r.units[unit]);
}

int sym_dwarf_read_unit(sym_dwarf *d, size_t unit)
{
    if (!sym_dwarf_unit_holds_code(d, unit))
        return TM_OK;
    return process_unit(&d->w, &d->w.r.units[unit]);
}

int sym_dwarf_unit_ranges(sym_dwarf *d, size_t unit,
                          void (*add)(void *ctx, uint64_t lo, uint64_t hi), void *ctx, int *found)
{
    walker *w = &d->w;
    *found = 0;
    if (!sym_dwarf_unit_holds_code(d, unit))
        return TM_OK;
    dw_unit *u = &w->r.units[unit];
    char note[SYM_NOTE_MAX];
    int rc = dw_unit_abbrevs(&w->r, u, note, sizeof note);
    if (rc != TM_OK)
        return rc == TM_ENOMEM ? rc : TM_EFORMAT;
    dw_unit_bases(&w->r, u);
    sym_cur c = dw_cursor(&w->r, u, u->die);
    uint64_t code, lo, hi;
    const dw_abbrev *a = dw_die_begin(u, &c, &code);
    die_attrs root;
    /* errors here are the unit's, said when it is read */
    int errors = w->errors;
    char keep[SYM_NOTE_MAX];
    memcpy(keep, w->note, sizeof keep);
    rc = !a || read_attrs(w, u, &c, a, &root) != 0 ? TM_EFORMAT : TM_OK;
    w->errors = errors;
    memcpy(w->note, keep, sizeof keep);
    if (rc != TM_OK)
        return rc;
    if (has(&root, K_low) && has(&root, K_high) && dw_val_address(&w->r, u, &root.v[K_low], &lo)) {
        if (dw_val_is_constant(&root.v[K_high]))
            hi = lo + root.v[K_high].u;
        else if (!dw_val_address(&w->r, u, &root.v[K_high], &hi))
            return TM_EFORMAT;
        if (lo < hi)
            add(ctx, lo, hi);
        *found = 1;
        return TM_OK;
    }
    if (!has(&root, K_ranges))
        return TM_OK;
    if (dw_ranges(&w->r, u, &root.v[K_ranges], add, ctx, note, sizeof note) != 0)
        return TM_EFORMAT;
    *found = 1;
    return TM_OK;
}

void sym_dwarf_note(const sym_dwarf *d, int *degraded, char *note, size_t notecap)
{
    const walker *w = &d->w;
    *degraded = w->ndegraded > 0;
    if (!w->errors && !w->ndegraded)
        return;
    char more[48] = "", errs[SYM_NOTE_MAX + 64] = "";
    if (w->ndegraded > 1)
        snprintf(more, sizeof more, " (and %d more like it)", w->ndegraded - 1);
    if (w->errors)
        snprintf(errs, sizeof errs, "%sDWARF partly unreadable (%d errors), first: %s",
                 w->ndegraded ? "; " : "", w->errors, w->note);
    snprintf(note, notecap, "%s%s%s", w->degraded, more, errs);
}

/* Every unit of d, then the note. */
static int read_all(sym_dwarf *d, int *degraded, char *note, size_t notecap)
{
    int rc = TM_OK;
    for (size_t i = 0; rc == TM_OK && i < d->w.r.nunits; i++)
        rc = sym_dwarf_read_unit(d, i);
    if (rc == TM_OK)
        sym_dwarf_note(d, degraded, note, notecap);
    return rc;
}

int sym_dwarf_index(sym_elf *e, sym_index *ix, int *degraded, char *note, size_t notecap)
{
    *degraded = 0;
    sym_dwarf *d;
    int rc = sym_dwarf_open(&d, e, ix, note, notecap);
    if (rc == TM_OK) {
        rc = read_all(d, degraded, note, notecap);
        sym_dwarf_close(d);
    }
    return rc;
}

int sym_dwarf_open_sections(sym_dwarf **out, const dw_sections *sec, const dw_external *ext,
                            sym_index *ix, char *note, size_t notecap)
{
    *out = NULL;
    sym_dwarf *d = tm_calloc(1, sizeof *d);
    if (!d)
        return TM_ENOMEM;
    walker *w = &d->w;
    w->ix = ix;
    w->ext = ext;
    int rc = TM_OK;
    if (ext && ext->alt) {
        char anote[SYM_NOTE_MAX] = "";
        rc = dw_reader_init(&w->alt, ext->alt, anote, sizeof anote);
        if (anote[0])
            walker_error(w, "supplementary file: %s", anote);
    }
    if (rc == TM_OK)
        rc = open_sections(d, sec, note, notecap);
    if (rc != TM_OK) {
        sym_dwarf_close(d);
        return rc;
    }
    *out = d;
    return TM_OK;
}

int sym_dwarf_index_sections(const dw_sections *sec, const dw_external *ext, sym_index *ix,
                             char *note, size_t notecap)
{
    sym_dwarf *d;
    int degraded, rc = sym_dwarf_open_sections(&d, sec, ext, ix, note, notecap);
    if (rc == TM_OK) {
        rc = read_all(d, &degraded, note, notecap);
        sym_dwarf_close(d);
    }
    return rc;
}
