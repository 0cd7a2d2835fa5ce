/*
 * A bounds-checked reader of .debug_info and the sections it points into
 * (see dwarf_reader.h).  It replaced libdwarf, whose per-DIE allocations
 * and repeated attribute scans were most of the index build time.
 * Every read goes through sym_cur: malformed input yields a note and stops
 * the unit concerned, never reads outside a section.
 */
#include <stdio.h>
#include <string.h>

#include "dwarf_reader.h"
#include "tm_alloc.h"

#define MAX_UNITS 10000000u
#define MAX_INDIRECT 4
#define DIRECT_CODES 4096u
#define MAX_ATTRS 256u

enum {
    F_addr = 0x01,
    F_block2 = 0x03,
    F_block4 = 0x04,
    F_data2 = 0x05,
    F_data4 = 0x06,
    F_data8 = 0x07,
    F_string = 0x08,
    F_block = 0x09,
    F_block1 = 0x0a,
    F_data1 = 0x0b,
    F_flag = 0x0c,
    F_sdata = 0x0d,
    F_strp = 0x0e,
    F_udata = 0x0f,
    F_ref_addr = 0x10,
    F_ref1 = 0x11,
    F_ref2 = 0x12,
    F_ref4 = 0x13,
    F_ref8 = 0x14,
    F_ref_udata = 0x15,
    F_indirect = 0x16,
    F_sec_offset = 0x17,
    F_exprloc = 0x18,
    F_flag_present = 0x19,
    F_strx = 0x1a,
    F_addrx = 0x1b,
    F_ref_sup4 = 0x1c,
    F_strp_sup = 0x1d,
    F_data16 = 0x1e,
    F_line_strp = 0x1f,
    F_ref_sig8 = 0x20,
    F_implicit_const = 0x21,
    F_loclistx = 0x22,
    F_rnglistx = 0x23,
    F_ref_sup8 = 0x24,
    F_strx1 = 0x25,
    F_strx4 = 0x28,
    F_addrx1 = 0x29,
    F_addrx4 = 0x2c,
    F_GNU_addr_index = 0x1f01,
    F_GNU_str_index = 0x1f02,
    F_GNU_ref_alt = 0x1f20,
    F_GNU_strp_alt = 0x1f21
};

enum {
    A_low_pc = 0x11,
    A_str_offsets_base = 0x72,
    A_addr_base = 0x73,
    A_rnglists_base = 0x74,
    A_GNU_addr_base = 0x2133
};

/* --- units ------------------------------------------------------------------ */

int dw_reader_init(dw_reader *r, const dw_sections *sec, char *note, size_t notecap)
{
    memset(r, 0, sizeof *r);
    r->sec = *sec;
    size_t cap = 0;
    uint64_t off = 0;
    while (off < sec->info.n && r->nunits < MAX_UNITS) {
        sym_cur c = { sec->info.p + off, sec->info.p + sec->info.n, sec->msb, 0 };
        dw_unit u;
        memset(&u, 0, sizeof u);
        u.off = off;
        u.offsize = 4;
        uint64_t len = sym_cur_uint(&c, 4);
        if (len == 0xffffffffu) {
            u.offsize = 8;
            len = sym_cur_uint(&c, 8);
        } else if (len >= 0xfffffff0u) {
            snprintf(note, notecap, ".debug_info at offset %llu: reserved unit length 0x%llx",
                     (unsigned long long)off, (unsigned long long)len);
            break;
        }
        if (c.bad || len > sym_cur_left(&c) || len < 2) {
            snprintf(note, notecap, ".debug_info at offset %llu: unit length %llu does not fit",
                     (unsigned long long)off, (unsigned long long)len);
            break;
        }
        u.end = (uint64_t)(c.p - sec->info.p) + len;
        c.end = sec->info.p + u.end;
        u.version = (unsigned)sym_cur_uint(&c, 2);
        if (u.version >= 5) {
            u.unit_type = sym_cur_u8(&c);
            u.addr_size = sym_cur_u8(&c);
            u.abbrev_off = sym_cur_uint(&c, u.offsize);
            if (u.unit_type == 4 || u.unit_type == 5) {
                u.dwo_id = sym_cur_uint(&c, 8);
                u.has_dwo_id = 1;
            } else if (u.unit_type == 2 || u.unit_type == 6)
                sym_cur_skip(&c, 8 + u.offsize);
        } else {
            u.unit_type = 1;
            u.abbrev_off = sym_cur_uint(&c, u.offsize);
            u.addr_size = sym_cur_u8(&c);
        }
        if (c.bad || u.version < 2 || u.version > 5 ||
            (u.addr_size != 2 && u.addr_size != 4 && u.addr_size != 8)) {
            snprintf(note, notecap,
                     ".debug_info at offset %llu: bad unit header (version %u, address size %u)",
                     (unsigned long long)off, u.version, u.addr_size);
            break;
        }
        u.die = (uint64_t)(c.p - sec->info.p);
        if (tm_grow((void **)&r->units, &cap, r->nunits + 1, sizeof *r->units) != 0) {
            dw_reader_free(r);
            return TM_ENOMEM;
        }
        r->units[r->nunits++] = u;
        off = u.end;
    }
    return TM_OK;
}

void dw_reader_free(dw_reader *r)
{
    for (size_t i = 0; i < r->ntables; i++) {
        tm_free(r->tables[i]->a);
        tm_free(r->tables[i]->specs);
        tm_free(r->tables[i]->direct);
        tm_free(r->tables[i]);
    }
    tm_free(r->tables);
    tm_free(r->units);
    memset(r, 0, sizeof *r);
}

dw_unit *dw_unit_of(dw_reader *r, uint64_t off)
{
    size_t lo = 0, hi = r->nunits;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->units[mid].off <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    dw_unit *u = &r->units[lo - 1];
    return off < u->end ? u : NULL;
}

/* --- abbreviations -------------------------------------------------------------- */

static int parse_abbrevs(const dw_reader *r, uint64_t off, dw_abbrevs *t, char *note,
                         size_t notecap)
{
    const dw_bytes *s = &r->sec.abbrev;
    if (off >= s->n) {
        snprintf(note, notecap, "abbreviation offset %llu outside .debug_abbrev (%zu bytes)",
                 (unsigned long long)off, s->n);
        return TM_EFORMAT;
    }
    sym_cur c = { s->p + off, s->p + s->n, r->sec.msb, 0 };
    size_t capa = 0, caps = 0;
    uint64_t maxcode = 0;
    for (;;) {
        uint64_t code = sym_cur_uleb(&c);
        if (c.bad || code == 0)
            break;
        dw_abbrev a = { code, 0, 0, (uint32_t)t->nspecs, 0 };
        uint64_t tag = sym_cur_uleb(&c);
        a.tag = tag > 0xffff ? 0xffff : (uint16_t)tag;
        a.children = sym_cur_u8(&c);
        for (;;) {
            uint64_t name = sym_cur_uleb(&c), form = sym_cur_uleb(&c);
            if (c.bad || (name == 0 && form == 0))
                break;
            dw_attrspec sp = { name > 0xffff ? 0xffff : (uint16_t)name,
                               form > 0xffff ? 0xffff : (uint16_t)form, 0 };
            if (form == F_implicit_const)
                sp.implicit = sym_cur_sleb(&c);
            if (a.nattr >= MAX_ATTRS) {
                /* real producers use a few dozen; thousands of zero-size
                 * attributes per DIE would make reading quadratic */
                snprintf(note, notecap,
                         ".debug_abbrev at offset %llu: abbreviation %llu has "
                         "more than %u attributes",
                         (unsigned long long)off, (unsigned long long)code, MAX_ATTRS);
                return TM_EFORMAT;
            }
            if (t->nspecs >= UINT32_MAX - 1 ||
                tm_grow((void **)&t->specs, &caps, t->nspecs + 1, sizeof *t->specs) != 0)
                return TM_ENOMEM;
            t->specs[t->nspecs++] = sp;
            a.nattr++;
        }
        if (c.bad)
            break;
        if (tm_grow((void **)&t->a, &capa, t->n + 1, sizeof *t->a) != 0)
            return TM_ENOMEM;
        t->a[t->n++] = a;
        if (code > maxcode)
            maxcode = code;
    }
    if (c.bad) {
        snprintf(note, notecap, ".debug_abbrev at offset %llu: truncated table",
                 (unsigned long long)off);
        return TM_EFORMAT;
    }
    t->ndirect = (size_t)(maxcode < DIRECT_CODES ? maxcode + 1 : DIRECT_CODES);
    t->direct = tm_calloc(t->ndirect ? t->ndirect : 1, sizeof *t->direct);
    if (!t->direct)
        return TM_ENOMEM;
    for (size_t i = t->n; i-- > 0;) /* the first definition of a code wins */
        if (t->a[i].code < t->ndirect)
            t->direct[t->a[i].code] = (uint32_t)i + 1;
    return TM_OK;
}

int dw_unit_abbrevs(dw_reader *r, dw_unit *u, char *note, size_t notecap)
{
    if (u->ab)
        return TM_OK;
    if (u->ab_bad) {
        snprintf(note, notecap, "abbreviations at offset %llu are unreadable",
                 (unsigned long long)u->abbrev_off);
        return TM_EFORMAT;
    }
    /* Tables sorted by offset: compilers give most units a table of their
     * own, at increasing offsets, so this is a binary search and an append. */
    size_t lo = 0, hi = r->ntables;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->tables[mid]->offset < u->abbrev_off)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < r->ntables && r->tables[lo]->offset == u->abbrev_off) {
        u->ab = r->tables[lo];
        return TM_OK;
    }
    dw_abbrevs *t = tm_calloc(1, sizeof *t);
    if (!t)
        return TM_ENOMEM;
    t->offset = u->abbrev_off;
    int rc = parse_abbrevs(r, u->abbrev_off, t, note, notecap);
    if (rc == TM_OK &&
        tm_grow((void **)&r->tables, &r->captables, r->ntables + 1, sizeof *r->tables) != 0)
        rc = TM_ENOMEM;
    if (rc != TM_OK) {
        tm_free(t->a);
        tm_free(t->specs);
        tm_free(t->direct);
        tm_free(t);
        u->ab_bad = rc == TM_EFORMAT;
        return rc;
    }
    memmove(r->tables + lo + 1, r->tables + lo, (r->ntables - lo) * sizeof *r->tables);
    r->tables[lo] = t;
    r->ntables++;
    u->ab = t;
    return TM_OK;
}

/* --- DIEs and values --------------------------------------------------------------- */

sym_cur dw_cursor(const dw_reader *r, const dw_unit *u, uint64_t off)
{
    sym_cur c = { r->sec.info.p + u->end, r->sec.info.p + u->end, r->sec.msb, 1 };
    if (off >= u->die && off < u->end) {
        c.p = r->sec.info.p + off;
        c.bad = 0;
    }
    return c;
}

const dw_abbrev *dw_die_begin(const dw_unit *u, sym_cur *c, uint64_t *code)
{
    *code = sym_cur_uleb(c);
    if (c->bad || *code == 0 || !u->ab)
        return NULL;
    const dw_abbrevs *t = u->ab;
    if (*code < t->ndirect) {
        uint32_t k = t->direct[*code];
        return k ? &t->a[k - 1] : NULL;
    }
    for (size_t i = 0; i < t->n; i++)
        if (t->a[i].code == *code)
            return &t->a[i];
    return NULL;
}

static int read_form(const dw_unit *u, sym_cur *c, unsigned form, int64_t implicit, dw_val *v,
                     int depth)
{
    v->form = (uint16_t)form;
    v->u = 0;
    v->s = NULL;
    switch (form) {
    case F_addr: v->u = sym_cur_uint(c, u->addr_size); break;
    case F_block2: sym_cur_skip(c, sym_cur_uint(c, 2)); break;
    case F_block4: sym_cur_skip(c, sym_cur_uint(c, 4)); break;
    case F_block:
    case F_exprloc: sym_cur_skip(c, sym_cur_uleb(c)); break;
    case F_block1: sym_cur_skip(c, sym_cur_u8(c)); break;
    case F_data1:
    case F_flag: v->u = sym_cur_u8(c); break;
    case F_data2: v->u = sym_cur_uint(c, 2); break;
    case F_data4: v->u = sym_cur_uint(c, 4); break;
    case F_data8:
    case F_ref_sig8:
    case F_ref_sup8: v->u = sym_cur_uint(c, 8); break;
    case F_data16: sym_cur_skip(c, 16); break;
    case F_string: v->s = sym_cur_str(c); break;
    case F_flag_present: v->u = 1; break;
    case F_sdata: v->u = (uint64_t)sym_cur_sleb(c); break;
    case F_udata:
    case F_strx:
    case F_addrx:
    case F_loclistx:
    case F_rnglistx:
    case F_GNU_addr_index:
    case F_GNU_str_index: v->u = sym_cur_uleb(c); break;
    case F_strp:
    case F_line_strp:
    case F_sec_offset:
    case F_strp_sup:
    case F_GNU_strp_alt:
    case F_GNU_ref_alt: v->u = sym_cur_uint(c, u->offsize); break;
    case F_ref_addr: v->u = sym_cur_uint(c, u->version <= 2 ? u->addr_size : u->offsize); break;
    case F_ref1: v->u = u->off + sym_cur_uint(c, 1); break;
    case F_ref2: v->u = u->off + sym_cur_uint(c, 2); break;
    case F_ref4: v->u = u->off + sym_cur_uint(c, 4); break;
    case F_ref8: v->u = u->off + sym_cur_uint(c, 8); break;
    case F_ref_udata: v->u = u->off + sym_cur_uleb(c); break;
    case F_ref_sup4: v->u = sym_cur_uint(c, 4); break;
    case F_implicit_const: v->u = (uint64_t)implicit; break;
    case F_indirect: {
        uint64_t f = sym_cur_uleb(c);
        if (depth >= MAX_INDIRECT || f == F_indirect || f == F_implicit_const || f > 0xffff)
            return -1;
        return read_form(u, c, (unsigned)f, 0, v, depth + 1);
    }
    default:
        if (form >= F_strx1 && form <= F_strx4) {
            v->u = sym_cur_uint(c, form - F_strx1 + 1);
            break;
        }
        if (form >= F_addrx1 && form <= F_addrx4) {
            v->u = sym_cur_uint(c, form - F_addrx1 + 1);
            break;
        }
        return -1;
    }
    return 0;
}

int dw_read_val(const dw_reader *r, const dw_unit *u, sym_cur *c, const dw_attrspec *spec,
                dw_val *v)
{
    (void)r;
    v->name = spec->name;
    return read_form(u, c, spec->form, spec->implicit, v, 0);
}

int dw_skip_attrs(const dw_reader *r, const dw_unit *u, sym_cur *c, const dw_abbrev *a)
{
    const dw_attrspec *sp = a->nattr ? &u->ab->specs[a->first] : NULL; /* specs may be NULL */
    for (uint32_t i = 0; i < a->nattr; i++) {
        unsigned f = sp[i].form;
        /* the common fixed-size forms without a call */
        if (f == F_data1 || f == F_flag || f == F_ref1 || f == F_strx1 || f == F_addrx1) {
            sym_cur_skip(c, 1);
            continue;
        }
        if (f == F_data2 || f == F_ref2 || f == F_strx1 + 1 || f == F_addrx1 + 1) {
            sym_cur_skip(c, 2);
            continue;
        }
        if (f == F_data4 || f == F_ref4) {
            sym_cur_skip(c, 4);
            continue;
        }
        if (f == F_flag_present || f == F_implicit_const)
            continue;
        if ((f == F_strp || f == F_sec_offset || f == F_line_strp)) {
            sym_cur_skip(c, u->offsize);
            continue;
        }
        dw_val v;
        if (dw_read_val(r, u, c, &sp[i], &v) != 0)
            return -1;
    }
    return c->bad ? -1 : 0;
}

void dw_unit_bases(dw_reader *r, dw_unit *u)
{
    if (u->bases_read)
        return;
    u->bases_read = 1;
    char note[SYM_NOTE_MAX];
    if (dw_unit_abbrevs(r, u, note, sizeof note) != TM_OK)
        return;
    sym_cur c = dw_cursor(r, u, u->die);
    uint64_t code;
    const dw_abbrev *a = dw_die_begin(u, &c, &code);
    if (!a)
        return;
    dw_val low = { 0, 0, 0, NULL };
    int have_low = 0;
    for (uint32_t i = 0; i < a->nattr; i++) {
        dw_val v;
        if (dw_read_val(r, u, &c, &u->ab->specs[a->first + i], &v) != 0 || c.bad)
            break;
        if (v.name == A_str_offsets_base) {
            u->str_offsets_base = v.u;
            u->has_str_offsets_base = 1;
        } else if (v.name == A_addr_base || v.name == A_GNU_addr_base) {
            u->addr_base = v.u;
            u->has_addr_base = 1;
        } else if (v.name == A_rnglists_base) {
            u->rnglists_base = v.u;
            u->has_rnglists_base = 1;
        } else if (v.name == A_low_pc) {
            low = v;
            have_low = 1;
        }
    }
    if (have_low && !dw_val_address(r, u, &low, &u->base_addr))
        u->base_addr = 0;
}

/* --- interpreting values ------------------------------------------------------------ */

int dw_val_string(const dw_reader *r, const dw_unit *u, const dw_val *v, const char **out)
{
    const dw_sections *s = &r->sec;
    *out = NULL;
    switch (v->form) {
    case F_string: *out = v->s; break;
    case F_strp: *out = sym_sec_str(s->str.p, s->str.n, v->u); break;
    case F_strp_sup:
    case F_GNU_strp_alt: *out = sym_sec_str(s->sup_str.p, s->sup_str.n, v->u); break;
    case F_line_strp: *out = sym_sec_str(s->line_str.p, s->line_str.n, v->u); break;
    case F_strx:
    case F_GNU_str_index:
    case F_strx1:
    case F_strx1 + 1:
    case F_strx1 + 2:
    case F_strx4: {
        if (!u->has_str_offsets_base || v->u > (UINT64_MAX - u->str_offsets_base) / u->offsize)
            return 0;
        uint64_t at = u->str_offsets_base + v->u * u->offsize;
        if (at >= s->str_offsets.n || s->str_offsets.n - at < u->offsize)
            return 0;
        sym_cur c = { s->str_offsets.p + at, s->str_offsets.p + s->str_offsets.n, s->msb, 0 };
        *out = sym_sec_str(s->str.p, s->str.n, sym_cur_uint(&c, u->offsize));
        break;
    }
    default: return 0;
    }
    return *out != NULL;
}

static int addr_index(const dw_reader *r, const dw_unit *u, uint64_t idx, uint64_t *out)
{
    const dw_bytes *a = &r->sec.addr;
    if (!u->has_addr_base || idx > (UINT64_MAX - u->addr_base) / u->addr_size)
        return 0;
    uint64_t at = u->addr_base + idx * u->addr_size;
    if (at >= a->n || a->n - at < u->addr_size)
        return 0;
    sym_cur c = { a->p + at, a->p + a->n, r->sec.msb, 0 };
    *out = sym_cur_uint(&c, u->addr_size);
    return 1;
}

int dw_val_address(const dw_reader *r, const dw_unit *u, const dw_val *v, uint64_t *out)
{
    if (v->form == F_addr) {
        *out = v->u;
        return 1;
    }
    if (v->form == F_addrx || v->form == F_GNU_addr_index ||
        (v->form >= F_addrx1 && v->form <= F_addrx4))
        return addr_index(r, u, v->u, out);
    return 0;
}

int dw_val_unsigned(const dw_val *v, uint64_t *out)
{
    switch (v->form) {
    case F_data1:
    case F_data2:
    case F_data4:
    case F_data8:
    case F_udata: *out = v->u; return 1;
    case F_implicit_const:
        if ((int64_t)v->u < 0)
            return 0;
        *out = v->u;
        return 1;
    default: return 0;
    }
}

int dw_val_is_constant(const dw_val *v)
{
    switch (v->form) {
    case F_data1:
    case F_data2:
    case F_data4:
    case F_data8:
    case F_udata:
    case F_sdata:
    case F_implicit_const: return 1;
    default: return 0;
    }
}

int dw_val_ref(const dw_val *v, uint64_t *out)
{
    switch (v->form) {
    case F_ref1:
    case F_ref2:
    case F_ref4:
    case F_ref8:
    case F_ref_udata:
    case F_ref_addr: *out = v->u; return 1;
    default: return 0;
    }
}

int dw_val_ref_alt(const dw_val *v, uint64_t *out)
{
    switch (v->form) {
    case F_GNU_ref_alt:
    case F_ref_sup4:
    case F_ref_sup8: *out = v->u; return 1;
    default: return 0;
    }
}

/* --- address lists ---------------------------------------------------------------- */

static int rnglists(const dw_reader *r, const dw_unit *u, uint64_t off,
                    void (*add)(void *, uint64_t, uint64_t), void *ctx, char *note, size_t notecap)
{
    const dw_bytes *s = &r->sec.rnglists;
    if (off >= s->n) {
        snprintf(note, notecap, "range list offset %llu outside .debug_rnglists (%zu bytes)",
                 (unsigned long long)off, s->n);
        return -1;
    }
    sym_cur c = { s->p + off, s->p + s->n, r->sec.msb, 0 };
    uint64_t base = u->base_addr, a, b;
    for (;;) {
        unsigned kind = sym_cur_u8(&c);
        if (c.bad || kind == 0)
            break;
        int ok_a = 1, ok_b = 1;
        switch (kind) {
        case 1:
            if (addr_index(r, u, sym_cur_uleb(&c), &a))
                base = a;
            break; /* base_addressx */
        case 2:    /* startx_endx */
            ok_a = addr_index(r, u, sym_cur_uleb(&c), &a);
            ok_b = addr_index(r, u, sym_cur_uleb(&c), &b);
            if (ok_a && ok_b)
                add(ctx, a, b);
            break;
        case 3: /* startx_length */
            ok_a = addr_index(r, u, sym_cur_uleb(&c), &a);
            b = sym_cur_uleb(&c);
            if (ok_a)
                add(ctx, a, a + b);
            break;
        case 4: /* offset_pair */
            a = sym_cur_uleb(&c);
            b = sym_cur_uleb(&c);
            add(ctx, base + a, base + b);
            break;
        case 5: base = sym_cur_uint(&c, u->addr_size); break; /* base_address */
        case 6:                                               /* start_end */
            a = sym_cur_uint(&c, u->addr_size);
            b = sym_cur_uint(&c, u->addr_size);
            add(ctx, a, b);
            break;
        case 7: /* start_length */
            a = sym_cur_uint(&c, u->addr_size);
            b = sym_cur_uleb(&c);
            add(ctx, a, a + b);
            break;
        default:
            snprintf(note, notecap, ".debug_rnglists at offset %llu: unknown entry kind %u",
                     (unsigned long long)(c.p - 1 - s->p), kind);
            return -1;
        }
    }
    if (c.bad) {
        snprintf(note, notecap, ".debug_rnglists at offset %llu: truncated list",
                 (unsigned long long)off);
        return -1;
    }
    return 0;
}

static int ranges_v4(const dw_reader *r, const dw_unit *u, uint64_t off,
                     void (*add)(void *, uint64_t, uint64_t), void *ctx, char *note, size_t notecap)
{
    const dw_bytes *s = &r->sec.ranges;
    if (off > UINT64_MAX - u->ranges_base) {
        snprintf(note, notecap, "range list offset %llu overflows", (unsigned long long)off);
        return -1;
    }
    off += u->ranges_base;
    if (off >= s->n) {
        snprintf(note, notecap, "range list offset %llu outside .debug_ranges (%zu bytes)",
                 (unsigned long long)off, s->n);
        return -1;
    }
    sym_cur c = { s->p + off, s->p + s->n, r->sec.msb, 0 };
    uint64_t base = u->base_addr;
    uint64_t all = u->addr_size == 8 ? UINT64_MAX : (1ull << (8 * u->addr_size)) - 1;
    for (;;) {
        uint64_t a = sym_cur_uint(&c, u->addr_size), b = sym_cur_uint(&c, u->addr_size);
        if (c.bad || (a == 0 && b == 0))
            break;
        if (a == all)
            base = b;
        else
            add(ctx, base + a, base + b);
    }
    if (c.bad) {
        snprintf(note, notecap, ".debug_ranges at offset %llu: truncated list",
                 (unsigned long long)off);
        return -1;
    }
    return 0;
}

int dw_ranges(const dw_reader *r, const dw_unit *u, const dw_val *v,
              void (*add)(void *ctx, uint64_t lo, uint64_t hi), void *ctx, char *note,
              size_t notecap)
{
    if (v->form == F_rnglistx) {
        const dw_bytes *s = &r->sec.rnglists;
        if (!u->has_rnglists_base || v->u > (UINT64_MAX - u->rnglists_base) / u->offsize) {
            snprintf(note, notecap, "DW_FORM_rnglistx without DW_AT_rnglists_base");
            return -1;
        }
        uint64_t at = u->rnglists_base + v->u * u->offsize;
        if (at >= s->n || s->n - at < u->offsize) {
            snprintf(note, notecap, "range list index %llu outside .debug_rnglists",
                     (unsigned long long)v->u);
            return -1;
        }
        sym_cur c = { s->p + at, s->p + s->n, r->sec.msb, 0 };
        uint64_t rel = sym_cur_uint(&c, u->offsize);
        return rnglists(r, u, u->rnglists_base + rel, add, ctx, note, notecap);
    }
    if (v->form != F_sec_offset && v->form != F_data4 && v->form != F_data8) {
        snprintf(note, notecap, "DW_AT_ranges of unexpected form 0x%x", v->form);
        return -1;
    }
    if (u->version >= 5)
        return rnglists(r, u, v->u, add, ctx, note, notecap);
    return ranges_v4(r, u, v->u, add, ctx, note, notecap);
}
