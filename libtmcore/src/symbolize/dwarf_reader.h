/*
 * Private to dwarf.c / info.c: a small bounds-checked reader of
 * .debug_info (DWARF 2-5): unit headers, abbreviation tables, attribute
 * values of every form, address lists (.debug_ranges, .debug_rnglists) and
 * the indexed sections of DWARF 5 (.debug_addr, .debug_str_offsets).
 * Offsets are section offsets; a DIE is named by its .debug_info offset.
 * Nothing here allocates per DIE.
 */
#ifndef TM_DWARF_READER_H
#define TM_DWARF_READER_H

#include "sym_internal.h"

typedef struct dw_bytes {
    const uint8_t *p;
    size_t n;
} dw_bytes;

typedef struct dw_sections {
    dw_bytes info, abbrev, str, line_str, str_offsets, addr, ranges, rnglists, line;
    /* .debug_str of the supplementary (dwz) file: DW_FORM_GNU_strp_alt and
     * DW_FORM_strp_sup point into it */
    dw_bytes sup_str;
    int msb;
} dw_sections;

typedef struct dw_attrspec {
    uint16_t name, form; /* out-of-range values are stored as 0xffff */
    int64_t implicit;    /* DW_FORM_implicit_const */
} dw_attrspec;

typedef struct dw_abbrev {
    uint64_t code;
    uint16_t tag;
    uint8_t children;
    uint32_t first, nattr; /* in the table's specs */
} dw_abbrev;

typedef struct dw_abbrevs {
    uint64_t offset;
    dw_abbrev *a;
    size_t n;
    dw_attrspec *specs;
    size_t nspecs;
    uint32_t *direct;
    size_t ndirect; /* code -> a index + 1 for small codes */
} dw_abbrevs;

typedef struct dw_unit {
    uint64_t off, end; /* the unit's bytes in .debug_info */
    uint64_t die;      /* offset of its root DIE */
    unsigned version, addr_size, offsize, unit_type;
    uint64_t abbrev_off;
    dw_abbrevs *ab; /* NULL until needed */
    int ab_bad;     /* its table failed to parse: do not retry */
    int bases_read;
    uint64_t str_offsets_base, addr_base, rnglists_base, base_addr;
    int has_str_offsets_base, has_addr_base, has_rnglists_base;
    uint64_t dwo_id; /* DWARF 5 skeleton and split units: from the header */
    int has_dwo_id;
    uint64_t ranges_base; /* DWARF 4 split unit: the skeleton's DW_AT_GNU_ranges_base */
} dw_unit;

/* One attribute value, raw: interpreted by the dw_val_* helpers. */
typedef struct dw_val {
    uint16_t name, form;
    uint64_t u;    /* number, offset, index, or global DIE offset */
    const char *s; /* DW_FORM_string */
} dw_val;

typedef struct dw_reader {
    dw_sections sec;
    dw_unit *units;
    size_t nunits;
    dw_abbrevs **tables;
    size_t ntables, captables;
    int enomem;
} dw_reader;

/* Reads every unit header of .debug_info.  TM_OK (possibly with fewer units
 * and a note when a header is malformed: the rest is unreachable),
 * TM_ENOMEM. */
int dw_reader_init(dw_reader *r, const dw_sections *sec, char *note, size_t notecap);
void dw_reader_free(dw_reader *r);
/* The unit containing .debug_info offset off, or NULL. */
dw_unit *dw_unit_of(dw_reader *r, uint64_t off);
/* Makes u->ab available.  TM_OK, TM_ENOMEM, TM_EFORMAT (note). */
int dw_unit_abbrevs(dw_reader *r, dw_unit *u, char *note, size_t notecap);
/* Reads the root DIE's DW_AT_*_base attributes and low_pc into u. */
void dw_unit_bases(dw_reader *r, dw_unit *u);

/* Reads the DIE header at *c (a cursor over the unit): its abbreviation, or
 * NULL for a null entry (*code 0) or an error (c->bad / unknown code). */
const dw_abbrev *dw_die_begin(const dw_unit *u, sym_cur *c, uint64_t *code);
/* Reads one attribute value of spec at *c; -1 on an unsupported form. */
int dw_read_val(const dw_reader *r, const dw_unit *u, sym_cur *c, const dw_attrspec *spec,
                dw_val *v);
/* Skips every attribute of a (faster than reading). -1 on error. */
int dw_skip_attrs(const dw_reader *r, const dw_unit *u, sym_cur *c, const dw_abbrev *a);
/* A cursor over unit u positioned at .debug_info offset off (bad if outside). */
sym_cur dw_cursor(const dw_reader *r, const dw_unit *u, uint64_t off);

/* Interpretations: 1 on success, 0 if the value is not of that class or
 * cannot be resolved. */
int dw_val_string(const dw_reader *r, const dw_unit *u, const dw_val *v, const char **out);
int dw_val_address(const dw_reader *r, const dw_unit *u, const dw_val *v, uint64_t *out);
int dw_val_unsigned(const dw_val *v, uint64_t *out);
int dw_val_ref(const dw_val *v, uint64_t *out); /* global .debug_info offset */
/* A reference into the supplementary (dwz) file's .debug_info. */
int dw_val_ref_alt(const dw_val *v, uint64_t *out);
int dw_val_is_constant(const dw_val *v);

/* Address ranges of DW_AT_ranges value v in unit u: calls add(ctx, lo, hi)
 * for each.  0, or -1 with a note when the list is malformed. */
int dw_ranges(const dw_reader *r, const dw_unit *u, const dw_val *v,
              void (*add)(void *ctx, uint64_t lo, uint64_t hi), void *ctx, char *note,
              size_t notecap);

/* --- DWARF packages (dwp.c) --- */

enum { DWP_INFO, DWP_ABBREV, DWP_LINE, DWP_STR_OFFSETS, DWP_RNGLISTS, DWP_N };

typedef struct dw_dwp_row { /* one unit's contributions to a package's sections */
    uint64_t off[DWP_N], size[DWP_N];
    int have[DWP_N];
    unsigned version; /* of the index: 2 or 5 */
} dw_dwp_row;

/* Finds the unit with signature id in a .debug_cu_index (or tu_index).
 * 1 found (*row filled), 0 not listed, -1 malformed index (note). */
int dw_cu_index_find(const dw_bytes *index, int msb, uint64_t id, dw_dwp_row *row, char *note,
                     size_t notecap);
/* *out: whole with the unit's slices of the per-unit sections.  0, or -1
 * with a note when a contribution lies outside its section. */
int dw_dwp_slice(const dw_sections *whole, const dw_dwp_row *row, dw_sections *out, char *note,
                 size_t notecap);

/* Debug information kept outside the indexed file, given in memory (tests,
 * fuzzing); any member may be NULL. */
typedef struct dw_external {
    const dw_sections *alt; /* the supplementary (dwz) file */
    const dw_sections *dwo; /* split units: one .dwo, or a package with cu_index */
    const dw_bytes *cu_index;
} dw_external;

/* --- where the DWARF lives (dwarf_files.c) ------------------------------- */
/* Section bytes by name (or its .zdebug_ form), loaded; empty if absent. */
int sym_dwarf_section(sym_elf *e, const char *name, dw_bytes *out, char *note, size_t notecap);
/* The sections a .dwo (or a .dwp package) holds; *cu_index (if given) the
 * package index. */
int sym_dwo_sections(sym_elf *f, dw_sections *out, dw_bytes *cu_index, char *note, size_t notecap);
void sym_path_join(char *buf, size_t cap, const char *dir, const char *part);
/* The directory of file path + '/' + part. */
void sym_path_beside(char *buf, size_t cap, const char *path, const char *part);
/* The dwz supplementary file of e, opened, with its sections in *sec.
 * TM_OK with *out NULL: none (note empty) or not usable (note says why,
 * prefixed "dwz: "); TM_ENOMEM. */
int sym_dwarf_sup_open(sym_elf *e, sym_elf **out, dw_sections *sec, char *note, size_t notecap);

/* sym_dwarf_index() on sections already in memory (tests, fuzzing): the
 * same results, notes and errors.  ext may be NULL. */
int sym_dwarf_index_sections(const dw_sections *sec, const dw_external *ext, sym_index *ix,
                             char *note, size_t notecap);
/* sym_dwarf_open() on sections in memory; sec, ext and ix outlive d. */
int sym_dwarf_open_sections(sym_dwarf **out, const dw_sections *sec, const dw_external *ext,
                            sym_index *ix, char *note, size_t notecap);
/* sym_lazy_open() on sections in memory (tests, fuzzing): spans entirely
 * below floor are ignored.  sec and ext outlive lz. */
int sym_lazy_open_sections(sym_lazy **out, const dw_sections *sec, const dw_external *ext,
                           uint64_t floor, char *note, size_t notecap);

#endif
