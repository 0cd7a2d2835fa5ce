/*
 * DWARF -> sym_index.  The only file that includes libdwarf (20210528).
 *
 * libdwarf reads sections through our own object-access interface, so it
 * sees sections that elf.c already decompressed (zlib and zstd; this
 * libdwarf knows neither reliably).  Line programs are decoded by lines.c,
 * not by dwarf_srclines_b(): libdwarf's line tables cost 0.47 s and 47 MiB
 * on the benchmark binary (most of the index build) and mis-read DWARF 5's
 * file index 0.  What we take from libdwarf:
 *   - compile units, their DW_AT_stmt_list and comp_dir (for lines.c);
 *   - every DW_TAG_subprogram / DW_TAG_inlined_subroutine with addresses:
 *     its ranges, its name (linkage name first, following abstract_origin
 *     and specification), and for inlined calls DW_AT_call_file/call_line.
 * Every libdwarf call gets an error pointer
 * (a NULL one makes it abort).  Errors stop the CU they happen in; what was
 * read so far stays usable and the note says what was skipped.
 */
#include <stdio.h>
#include <string.h>

#include <libdwarf/dwarf.h>
#include <libdwarf/libdwarf.h>

#include "sym_internal.h"
#include "tm_alloc.h"

#define MAX_DIE_DEPTH 200
#define MAX_NAME_HOPS 16
#define MAX_CUS 10000000

typedef struct obj_ctx {
    sym_elf *e;
    char **names;            /* ".debug_x" for ".zdebug_x" sections */
    int enomem;
    char note[SYM_NOTE_MAX];
} obj_ctx;

typedef struct walk_item {
    Dwarf_Die die;
    uint32_t func;           /* SYM_NONE until needed */
    int inlined;
} walk_item;

typedef struct walker {
    Dwarf_Debug dbg;
    sym_index *ix;
    obj_ctx *oc;
    /* current CU */
    Dwarf_Half cu_version;
    Dwarf_Addr cu_base;
    Dwarf_Half cu_addr_size;
    sym_line_input line_in;  /* sections for lines.c; comp_dir set per CU */
    sym_line_files lf;       /* the current CU's file table */
    walk_item stack[MAX_DIE_DEPTH + 1];
    size_t depth;
    int enomem;
    int errors;
    char note[SYM_NOTE_MAX];
    /* abstract origin offset -> name: inlined copies repeat their origin */
    Dwarf_Off *origin_keys;
    uint32_t *origin_names;
    size_t norigin, caporigin;
} walker;

/* --- object access ---------------------------------------------------------- */

static int oa_section_info(void *obj, Dwarf_Half idx, Dwarf_Obj_Access_Section *out, int *error) {
    obj_ctx *c = obj;
    (void)error;
    if (idx >= c->e->nsections) return DW_DLV_NO_ENTRY;
    const sym_section *s = &c->e->sections[idx];
    out->addr = s->addr;
    out->type = s->type;
    out->size = s->size;
    out->name = c->names && c->names[idx] ? c->names[idx] : s->name;
    out->link = s->link;
    out->info = s->info;
    out->entrysize = s->entsize;
    return DW_DLV_OK;
}

static Dwarf_Endianness oa_byte_order(void *obj) {
    return ((obj_ctx *)obj)->e->msb ? DW_OBJECT_MSB : DW_OBJECT_LSB;
}

static Dwarf_Small oa_length_size(void *obj) { (void)obj; return 4; }

static Dwarf_Small oa_pointer_size(void *obj) { return ((obj_ctx *)obj)->e->is64 ? 8 : 4; }

static Dwarf_Unsigned oa_section_count(void *obj) { return ((obj_ctx *)obj)->e->nsections; }

static int oa_load_section(void *obj, Dwarf_Half idx, Dwarf_Small **data, int *error) {
    obj_ctx *c = obj;
    static Dwarf_Small empty[8];
    if (idx == 0 || idx >= c->e->nsections) return DW_DLV_NO_ENTRY;
    int rc = sym_elf_load(c->e, idx, c->note, sizeof c->note);
    if (rc != TM_OK) {
        if (rc == TM_ENOMEM) c->enomem = 1;
        *error = DW_DLE_SECTION_SIZE_OR_OFFSET_LARGE;
        return DW_DLV_ERROR;
    }
    const sym_section *s = &c->e->sections[idx];
    /* libdwarf wants writable-looking pointers; it never writes through them. */
    *data = s->data ? (Dwarf_Small *)(uintptr_t)s->data : empty;
    return DW_DLV_OK;
}

static const Dwarf_Obj_Access_Methods oa_methods = {
    oa_section_info, oa_byte_order, oa_length_size, oa_pointer_size,
    oa_section_count, oa_load_section, NULL};

/* --- helpers ---------------------------------------------------------------- */

static void walker_error(walker *w, Dwarf_Error *derr, const char *what) {
    w->errors++;
    if (!w->note[0])
        snprintf(w->note, sizeof w->note, "%s: %s", what,
                 *derr ? dwarf_errmsg(*derr) : "error");
    if (*derr) dwarf_dealloc_error(w->dbg, *derr);
    *derr = NULL;
}

static int form_unsigned(walker *w, Dwarf_Die die, Dwarf_Half at, Dwarf_Unsigned *out) {
    Dwarf_Error derr = NULL;
    Dwarf_Attribute attr;
    int res = dwarf_attr(die, at, &attr, &derr);
    if (res != DW_DLV_OK) {
        if (res == DW_DLV_ERROR) walker_error(w, &derr, "attribute");
        return 0;
    }
    Dwarf_Half form = 0;
    int ok = 0;
    if (dwarf_whatform(attr, &form, &derr) == DW_DLV_OK) {
        if (form == DW_FORM_implicit_const) {
            Dwarf_Signed sv;
            if (dwarf_formsdata(attr, &sv, &derr) == DW_DLV_OK && sv >= 0) {
                *out = (Dwarf_Unsigned)sv;
                ok = 1;
            }
        } else if (dwarf_formudata(attr, out, &derr) == DW_DLV_OK) {
            ok = 1;
        }
    }
    if (derr) dwarf_dealloc_error(w->dbg, derr);
    dwarf_dealloc_attribute(attr);
    return ok;
}

/* llvm's findRecursively: the DIE's own attributes, then the DIEs named by
 * DW_AT_specification and DW_AT_abstract_origin, depth first. */
static const char *find_string(walker *w, Dwarf_Die die, const Dwarf_Half *ats, int nats) {
    Dwarf_Die todo[MAX_NAME_HOPS];
    int owned[MAX_NAME_HOPS];
    Dwarf_Off seen[MAX_NAME_HOPS];
    int ntodo = 0, nseen = 0, hops = 0;
    const char *found = NULL;
    todo[ntodo] = die;
    owned[ntodo++] = 0;
    while (ntodo > 0 && !found) {
        Dwarf_Die d = todo[--ntodo];
        int own = owned[ntodo];
        Dwarf_Error derr = NULL;
        for (int i = 0; i < nats && !found; i++) {
            Dwarf_Attribute attr;
            if (dwarf_attr(d, ats[i], &attr, &derr) == DW_DLV_OK) {
                char *s = NULL;
                if (dwarf_formstring(attr, &s, &derr) == DW_DLV_OK && s) found = s;
                dwarf_dealloc_attribute(attr);
            }
            if (derr) { dwarf_dealloc_error(w->dbg, derr); derr = NULL; }
        }
        static const Dwarf_Half refs[2] = {DW_AT_abstract_origin, DW_AT_specification};
        for (int i = 0; i < 2 && !found && hops < MAX_NAME_HOPS; i++) {
            Dwarf_Attribute attr;
            Dwarf_Off off;
            if (dwarf_attr(d, refs[i], &attr, &derr) != DW_DLV_OK) {
                if (derr) { dwarf_dealloc_error(w->dbg, derr); derr = NULL; }
                continue;
            }
            int res = dwarf_global_formref(attr, &off, &derr);
            dwarf_dealloc_attribute(attr);
            if (res != DW_DLV_OK) {
                if (derr) { dwarf_dealloc_error(w->dbg, derr); derr = NULL; }
                continue;
            }
            int dup = 0;
            for (int k = 0; k < nseen; k++) dup |= seen[k] == off;
            if (dup || nseen >= MAX_NAME_HOPS || ntodo >= MAX_NAME_HOPS) continue;
            seen[nseen++] = off;
            Dwarf_Die t;
            if (dwarf_offdie_b(w->dbg, off, 1, &t, &derr) == DW_DLV_OK) {
                todo[ntodo] = t;
                owned[ntodo++] = 1;
                hops++;
            } else if (derr) {
                dwarf_dealloc_error(w->dbg, derr);
                derr = NULL;
            }
        }
        if (own) dwarf_dealloc_die(d);
    }
    while (ntodo > 0) {
        ntodo--;
        if (owned[ntodo]) dwarf_dealloc_die(todo[ntodo]);
    }
    return found;
}

static int origin_lookup(walker *w, Dwarf_Off key, uint32_t **slot) {
    if ((w->norigin + 1) * 2 > w->caporigin) {
        size_t nc = w->caporigin ? w->caporigin * 2 : 1024;
        Dwarf_Off *k = tm_calloc(nc, sizeof *k);
        uint32_t *v = tm_calloc(nc, sizeof *v);
        if (!k || !v) { tm_free(k); tm_free(v); return -1; }
        for (size_t i = 0; i < w->caporigin; i++) {
            if (!w->origin_keys[i]) continue;   /* 0 = empty: no DIE lives at offset 0 */
            size_t h = (size_t)(w->origin_keys[i] * 0x9e3779b97f4a7c15ull) & (nc - 1);
            while (k[h]) h = (h + 1) & (nc - 1);
            k[h] = w->origin_keys[i];
            v[h] = w->origin_names[i];
        }
        tm_free(w->origin_keys);
        tm_free(w->origin_names);
        w->origin_keys = k;
        w->origin_names = v;
        w->caporigin = nc;
    }
    size_t h = (size_t)(key * 0x9e3779b97f4a7c15ull) & (w->caporigin - 1);
    while (w->origin_keys[h] && w->origin_keys[h] != key) h = (h + 1) & (w->caporigin - 1);
    *slot = &w->origin_names[h];
    if (w->origin_keys[h]) return 1;
    w->origin_keys[h] = key;
    w->norigin++;
    return 0;
}

static int subroutine_name(walker *w, Dwarf_Die die, uint32_t *out) {
    static const Dwarf_Half linkage[2] = {DW_AT_MIPS_linkage_name, DW_AT_linkage_name};
    static const Dwarf_Half plain[1] = {DW_AT_name};
    *out = 0;
    /* A DIE whose only naming is its abstract origin (the usual inlined
     * copy) has the origin's name: resolve each origin once. */
    Dwarf_Error derr = NULL;
    Dwarf_Attribute attr;
    uint32_t *slot = NULL;
    Dwarf_Bool has_own = 0;
    static const Dwarf_Half own[3] = {DW_AT_name, DW_AT_linkage_name, DW_AT_MIPS_linkage_name};
    for (int i = 0; i < 3 && !has_own; i++) {
        if (dwarf_hasattr(die, own[i], &has_own, &derr) != DW_DLV_OK) has_own = 1;
        if (derr) { dwarf_dealloc_error(w->dbg, derr); derr = NULL; }
    }
    if (!has_own && dwarf_attr(die, DW_AT_abstract_origin, &attr, &derr) == DW_DLV_OK) {
        Dwarf_Off off = 0;
        int res = dwarf_global_formref(attr, &off, &derr);
        dwarf_dealloc_attribute(attr);
        if (res == DW_DLV_OK && off) {
            int hit = origin_lookup(w, off, &slot);
            if (hit < 0) return TM_ENOMEM;
            if (hit == 1) { *out = *slot; return TM_OK; }
        }
    }
    if (derr) { dwarf_dealloc_error(w->dbg, derr); derr = NULL; }
    const char *s = find_string(w, die, linkage, 2);
    if (!s) s = find_string(w, die, plain, 1);
    int rc = s ? sym_index_intern_function(w->ix, s, out) : TM_OK;
    if (rc == TM_OK && slot) *slot = *out;
    return rc;
}

static int file_name(walker *w, Dwarf_Unsigned idx, uint32_t *out) {
    /* numbered as the DWARF version does: lines.c keeps that numbering */
    if (idx >= w->lf.nfiles) { *out = 0; return 0; }
    *out = w->lf.files[idx];
    return 1;
}

/* --- line tables -------------------------------------------------------------- */

/* Section bytes by name (or its .zdebug_ form), loaded; NULL if absent. */
static const uint8_t *section_bytes(walker *w, const char *name, size_t *size) {
    sym_elf *e = w->oc->e;
    size_t idx = sym_elf_find(e, name);
    if (idx == SIZE_MAX) {
        char z[64];
        snprintf(z, sizeof z, ".z%s", name + 1);
        idx = sym_elf_find(e, z);
    }
    *size = 0;
    if (idx == SIZE_MAX) return NULL;
    char note[SYM_NOTE_MAX];
    int rc = sym_elf_load(e, idx, note, sizeof note);
    if (rc != TM_OK) {
        if (rc == TM_ENOMEM) w->enomem = 1;
        else {
            w->errors++;
            if (!w->note[0]) snprintf(w->note, sizeof w->note, "%s", note);
        }
        return NULL;
    }
    *size = e->sections[idx].data ? e->sections[idx].size : 0;
    return e->sections[idx].data;
}

static int load_lines(walker *w, Dwarf_Die cu, const char *comp_dir) {
    Dwarf_Error derr = NULL;
    Dwarf_Attribute attr;
    int res = dwarf_attr(cu, DW_AT_stmt_list, &attr, &derr);
    if (res != DW_DLV_OK) {
        if (res == DW_DLV_ERROR) walker_error(w, &derr, "DW_AT_stmt_list");
        return TM_OK;
    }
    Dwarf_Off off = 0;
    res = dwarf_global_formref(attr, &off, &derr);
    if (res != DW_DLV_OK) {
        Dwarf_Unsigned u = 0;
        if (derr) { dwarf_dealloc_error(w->dbg, derr); derr = NULL; }
        res = dwarf_formudata(attr, &u, &derr);
        off = u;
    }
    dwarf_dealloc_attribute(attr);
    if (res != DW_DLV_OK) {
        if (res == DW_DLV_ERROR) walker_error(w, &derr, "DW_AT_stmt_list");
        return TM_OK;
    }
    w->line_in.comp_dir = comp_dir;
    w->line_in.addr_size = w->cu_addr_size;
    char note[SYM_NOTE_MAX] = "";
    int rc = sym_lines_read(&w->line_in, off, w->ix, &w->lf, note, sizeof note);
    if (rc == TM_EFORMAT) {
        w->errors++;
        if (!w->note[0]) snprintf(w->note, sizeof w->note, "%s", note);
        rc = TM_OK;
    }
    return rc;
}

/* --- DIE walk ------------------------------------------------------------------- */

typedef struct range_buf { Dwarf_Addr lo[64], hi[64]; int n; } range_buf;

static void ranges_add(range_buf *rb, Dwarf_Addr lo, Dwarf_Addr hi) {
    if (lo < hi && rb->n < 64) { rb->lo[rb->n] = lo; rb->hi[rb->n++] = hi; }
}

static void die_ranges(walker *w, Dwarf_Die die, range_buf *rb) {
    Dwarf_Error derr = NULL;
    Dwarf_Addr lo, hi;
    Dwarf_Half form;
    enum Dwarf_Form_Class cls;
    rb->n = 0;
    int res = dwarf_lowpc(die, &lo, &derr);
    if (res == DW_DLV_OK) {
        res = dwarf_highpc_b(die, &hi, &form, &cls, &derr);
        if (res == DW_DLV_OK) {
            if (cls == DW_FORM_CLASS_CONSTANT) hi = lo + hi;
            ranges_add(rb, lo, hi);
            return;
        }
    }
    if (res == DW_DLV_ERROR) { dwarf_dealloc_error(w->dbg, derr); derr = NULL; }
    Dwarf_Attribute attr;
    res = dwarf_attr(die, DW_AT_ranges, &attr, &derr);
    if (res != DW_DLV_OK) {
        if (res == DW_DLV_ERROR) walker_error(w, &derr, "DW_AT_ranges");
        return;
    }
    if (dwarf_whatform(attr, &form, &derr) != DW_DLV_OK) {
        walker_error(w, &derr, "DW_AT_ranges form");
        dwarf_dealloc_attribute(attr);
        return;
    }
    if (w->cu_version >= 5 || form == DW_FORM_rnglistx) {
        Dwarf_Unsigned val = 0, count = 0, goff = 0;
        Dwarf_Off off = 0;
        if (form == DW_FORM_rnglistx) res = dwarf_formudata(attr, &val, &derr);
        else { res = dwarf_global_formref(attr, &off, &derr); val = off; }
        Dwarf_Rnglists_Head head = NULL;
        if (res == DW_DLV_OK)
            res = dwarf_rnglists_get_rle_head(attr, form, val, &head, &count, &goff, &derr);
        if (res == DW_DLV_OK) {
            for (Dwarf_Unsigned i = 0; i < count; i++) {
                unsigned elen = 0, code = 0;
                Dwarf_Unsigned r1, r2, c1 = 0, c2 = 0;
                Dwarf_Bool unavail = 0;
                if (dwarf_get_rnglists_entry_fields_a(head, i, &elen, &code, &r1, &r2, &unavail,
                                                      &c1, &c2, &derr) != DW_DLV_OK) {
                    walker_error(w, &derr, "range list entry");
                    break;
                }
                if (unavail) continue;
                if (code == DW_RLE_offset_pair || code == DW_RLE_startx_endx ||
                    code == DW_RLE_startx_length || code == DW_RLE_start_end ||
                    code == DW_RLE_start_length)
                    ranges_add(rb, c1, c2);
            }
            dwarf_dealloc_rnglists_head(head);
        } else if (res == DW_DLV_ERROR) {
            walker_error(w, &derr, "range list");
        }
    } else {
        Dwarf_Off off = 0, real = 0;
        Dwarf_Unsigned uoff = 0;
        if (dwarf_global_formref(attr, &off, &derr) != DW_DLV_OK) {
            if (derr) { dwarf_dealloc_error(w->dbg, derr); derr = NULL; }
            if (dwarf_formudata(attr, &uoff, &derr) != DW_DLV_OK) {
                walker_error(w, &derr, "DW_AT_ranges offset");
                dwarf_dealloc_attribute(attr);
                return;
            }
            off = uoff;
        }
        Dwarf_Ranges *r = NULL;
        Dwarf_Signed n = 0;
        Dwarf_Unsigned bytes = 0;
        res = dwarf_get_ranges_b(w->dbg, off, die, &real, &r, &n, &bytes, &derr);
        if (res == DW_DLV_OK) {
            Dwarf_Addr base = w->cu_base;
            for (Dwarf_Signed i = 0; i < n; i++) {
                if (r[i].dwr_type == DW_RANGES_END) break;
                if (r[i].dwr_type == DW_RANGES_ADDRESS_SELECTION) base = r[i].dwr_addr2;
                else ranges_add(rb, base + r[i].dwr_addr1, base + r[i].dwr_addr2);
            }
            dwarf_ranges_dealloc(w->dbg, r, n);
        } else if (res == DW_DLV_ERROR) {
            walker_error(w, &derr, "range list");
        }
    }
    dwarf_dealloc_attribute(attr);
}

/* The func record for stack item k, created on first need (a subroutine
 * without addresses gets one only when an inlined call inside it has). */
static int materialise(walker *w, size_t k, uint32_t *out) {
    walk_item *it = &w->stack[k];
    if (it->func != SYM_NONE) { *out = it->func; return TM_OK; }
    sym_func f = {0, 0, 0, SYM_NONE};
    int rc;
    if (it->inlined && k > 0) {
        rc = materialise(w, k - 1, &f.parent);
        if (rc != TM_OK) return rc;
    }
    if ((rc = subroutine_name(w, it->die, &f.name)) != TM_OK) return rc;
    if (it->inlined) {
        Dwarf_Unsigned cf = 0, cl = 0;
        if (form_unsigned(w, it->die, DW_AT_call_file, &cf)) file_name(w, cf, &f.call_file);
        if (form_unsigned(w, it->die, DW_AT_call_line, &cl))
            f.call_line = cl > UINT32_MAX ? UINT32_MAX : (uint32_t)cl;
    }
    if ((rc = sym_index_add_func(w->ix, &f, &it->func)) != TM_OK) return rc;
    *out = it->func;
    return TM_OK;
}

static int skip_children(Dwarf_Half tag) {
    switch (tag) {
    case DW_TAG_formal_parameter: case DW_TAG_variable: case DW_TAG_member:
    case DW_TAG_enumeration_type: case DW_TAG_subroutine_type: case DW_TAG_array_type:
    case DW_TAG_GNU_call_site: case DW_TAG_call_site: case DW_TAG_base_type:
    case DW_TAG_pointer_type: case DW_TAG_typedef: case DW_TAG_const_type:
    case DW_TAG_template_type_parameter: case DW_TAG_template_value_parameter:
        return 1;
    default:
        return 0;
    }
}

static int walk_children(walker *w, Dwarf_Die parent, unsigned level);

static int visit(walker *w, Dwarf_Die die, unsigned level) {
    Dwarf_Error derr = NULL;
    Dwarf_Half tag = 0;
    if (dwarf_tag(die, &tag, &derr) != DW_DLV_OK) {
        walker_error(w, &derr, "DIE tag");
        return TM_OK;
    }
    if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
        if (w->depth >= MAX_DIE_DEPTH) return TM_OK;
        size_t k = w->depth++;
        w->stack[k] = (walk_item){die, SYM_NONE, tag == DW_TAG_inlined_subroutine};
        range_buf rb;
        die_ranges(w, die, &rb);
        int rc = TM_OK;
        if (rb.n > 0) {
            uint32_t f;
            rc = materialise(w, k, &f);
            for (int i = 0; rc == TM_OK && i < rb.n; i++)
                rc = sym_index_add_range(w->ix, rb.lo[i], rb.hi[i], f, level);
        }
        if (rc == TM_OK) rc = walk_children(w, die, level + 1);
        w->depth--;
        return rc;
    }
    if (skip_children(tag)) return TM_OK;
    return walk_children(w, die, level + 1);
}

static int walk_children(walker *w, Dwarf_Die parent, unsigned level) {
    if (level > MAX_DIE_DEPTH) return TM_OK;
    Dwarf_Error derr = NULL;
    Dwarf_Die child = NULL;
    int res = dwarf_child(parent, &child, &derr);
    int rc = TM_OK;
    while (res == DW_DLV_OK && rc == TM_OK) {
        rc = visit(w, child, level);
        Dwarf_Die sib = NULL;
        res = dwarf_siblingof_b(w->dbg, child, 1, &sib, &derr);
        dwarf_dealloc_die(child);
        child = sib;
    }
    if (res == DW_DLV_OK && child) dwarf_dealloc_die(child);
    if (res == DW_DLV_ERROR) walker_error(w, &derr, "DIE tree");
    return rc;
}

static int process_cu(walker *w, Dwarf_Die cu) {
    Dwarf_Error derr = NULL;
    char *comp_dir = NULL;
    Dwarf_Attribute attr;
    if (dwarf_attr(cu, DW_AT_comp_dir, &attr, &derr) == DW_DLV_OK) {
        if (dwarf_formstring(attr, &comp_dir, &derr) != DW_DLV_OK) comp_dir = NULL;
        dwarf_dealloc_attribute(attr);
    }
    if (derr) { dwarf_dealloc_error(w->dbg, derr); derr = NULL; }
    Dwarf_Addr lo = 0;
    if (dwarf_lowpc(cu, &lo, &derr) != DW_DLV_OK) lo = 0;
    if (derr) { dwarf_dealloc_error(w->dbg, derr); derr = NULL; }
    w->cu_base = lo;
    int rc = load_lines(w, cu, comp_dir);
    if (rc == TM_OK) {
        w->depth = 0;
        rc = walk_children(w, cu, 1);
    }
    tm_free(w->lf.files);
    memset(&w->lf, 0, sizeof w->lf);
    return rc;
}

int sym_dwarf_index(sym_elf *e, sym_index *ix, char *note, size_t notecap) {
    obj_ctx oc;
    memset(&oc, 0, sizeof oc);
    oc.e = e;
    int rc = TM_OK;
    for (size_t i = 1; i < e->nsections; i++) {
        if (strncmp(e->sections[i].name, ".zdebug_", 8) != 0) continue;
        if (!oc.names && !(oc.names = tm_calloc(e->nsections, sizeof *oc.names))) return TM_ENOMEM;
        size_t n = strlen(e->sections[i].name);
        if (!(oc.names[i] = tm_malloc(n))) { rc = TM_ENOMEM; goto out; }
        oc.names[i][0] = '.';
        memcpy(oc.names[i] + 1, e->sections[i].name + 2, n - 1);   /* incl. NUL */
    }
    Dwarf_Obj_Access_Interface iface = {&oc, &oa_methods};
    Dwarf_Debug dbg = NULL;
    Dwarf_Error derr = NULL;
    int res = dwarf_object_init_b(&iface, NULL, NULL, DW_GROUPNUMBER_ANY, &dbg, &derr);
    if (res != DW_DLV_OK) {
        if (oc.enomem) rc = TM_ENOMEM;
        else {
            snprintf(note, notecap, "no usable DWARF: %s",
                     oc.note[0] ? oc.note : res == DW_DLV_NO_ENTRY ? "no debug sections"
                                                                   : dwarf_errmsg(derr));
            rc = TM_EFORMAT;
        }
        if (res == DW_DLV_ERROR && derr) dwarf_dealloc_error(NULL, derr);
        goto out;
    }
    walker *w = tm_calloc(1, sizeof *w);
    if (!w) { dwarf_object_finish(dbg, &derr);  /* not dwarf_finish: that frees our interface */ rc = TM_ENOMEM; goto out; }
    w->dbg = dbg;
    w->ix = ix;
    w->oc = &oc;
    w->line_in.msb = e->msb;
    w->line_in.line = section_bytes(w, ".debug_line", &w->line_in.line_size);
    w->line_in.line_str = section_bytes(w, ".debug_line_str", &w->line_in.line_str_size);
    w->line_in.str = section_bytes(w, ".debug_str", &w->line_in.str_size);
    if (w->enomem) rc = TM_ENOMEM;
    size_t ncu = 0;
    for (; rc == TM_OK && ncu < MAX_CUS; ncu++) {
        Dwarf_Unsigned hlen, typeoff, next;
        Dwarf_Half ver = 0, asz, lsz, esz, cutype;
        Dwarf_Off abbr;
        Dwarf_Sig8 sig;
        res = dwarf_next_cu_header_d(dbg, 1, &hlen, &ver, &abbr, &asz, &lsz, &esz, &sig,
                                     &typeoff, &next, &cutype, &derr);
        if (res == DW_DLV_NO_ENTRY) break;
        if (res != DW_DLV_OK) {
            /* libdwarf cannot resume after a bad CU header */
            walker_error(w, &derr, "compilation unit header");
            break;
        }
        Dwarf_Die cu = NULL;
        res = dwarf_siblingof_b(dbg, NULL, 1, &cu, &derr);
        if (res != DW_DLV_OK) {
            if (res == DW_DLV_ERROR) walker_error(w, &derr, "compilation unit DIE");
            continue;
        }
        w->cu_version = ver;
        w->cu_addr_size = asz;
        rc = process_cu(w, cu);
        dwarf_dealloc_die(cu);
    }
    if ((oc.enomem || w->enomem) && rc == TM_OK) rc = TM_ENOMEM;
    if (rc == TM_OK && w->errors) {
        snprintf(note, notecap, "DWARF partly unreadable (%d errors), first: %s", w->errors,
                 w->note);
    }
    if (rc == TM_OK && ncu == 0) {
        snprintf(note, notecap, "no usable DWARF: no compilation units");
        rc = TM_EFORMAT;
    }
    tm_free(w->lf.files);
    tm_free(w->origin_keys);
    tm_free(w->origin_names);
    tm_free(w);
    derr = NULL;
    dwarf_object_finish(dbg, &derr);  /* not dwarf_finish: that frees our interface */
out:
    if (oc.names) {
        for (size_t i = 0; i < e->nsections; i++) tm_free(oc.names[i]);
        tm_free(oc.names);
    }
    return rc;
}
