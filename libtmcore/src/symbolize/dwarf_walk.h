/*
 * Private to dwarf.c and dwarf_split.c: the DIE walker's state, shared by
 * the walk over a file's units (dwarf.c) and the walk into the split units
 * of .dwo files and .dwp packages (dwarf_split.c).
 */
#ifndef TM_DWARF_WALK_H
#define TM_DWARF_WALK_H

#include "dwarf_reader.h"
#include "sym_internal.h"

#define MAX_DIE_DEPTH 200
#define MAX_NAME_HOPS 16
#define MAX_RANGES 64

enum {
    TAG_array_type = 0x01,
    TAG_enumeration_type = 0x04,
    TAG_formal_parameter = 0x05,
    TAG_member = 0x0d,
    TAG_pointer_type = 0x0f,
    TAG_subroutine_type = 0x15,
    TAG_typedef = 0x16,
    TAG_inlined_subroutine = 0x1d,
    TAG_base_type = 0x24,
    TAG_const_type = 0x26,
    TAG_subprogram = 0x2e,
    TAG_template_type_parameter = 0x2f,
    TAG_template_value_parameter = 0x30,
    TAG_variable = 0x34,
    TAG_call_site = 0x48,
    TAG_GNU_call_site = 0x4109
};

enum {
    AT_sibling = 0x01,
    AT_name = 0x03,
    AT_stmt_list = 0x10,
    AT_low_pc = 0x11,
    AT_high_pc = 0x12,
    AT_comp_dir = 0x1b,
    AT_abstract_origin = 0x31,
    AT_specification = 0x47,
    AT_ranges = 0x55,
    AT_call_file = 0x58,
    AT_call_line = 0x59,
    AT_linkage_name = 0x6e,
    AT_dwo_name = 0x76,
    AT_MIPS_linkage_name = 0x2007,
    AT_GNU_dwo_name = 0x2130,
    AT_GNU_dwo_id = 0x2131,
    AT_GNU_ranges_base = 0x2132
};

/* The attributes a subroutine DIE is read for. */
enum {
    K_low,
    K_high,
    K_ranges,
    K_origin,
    K_spec,
    K_name,
    K_linkage,
    K_mips,
    K_call_file,
    K_call_line,
    K_sibling,
    K_comp_dir,
    K_stmt_list,
    K_dwo_name,
    K_dwo_id,
    K_ranges_base,
    NK
};

typedef struct die_attrs {
    unsigned have; /* bit per K_* */
    dw_val v[NK];
} die_attrs;

typedef struct walk_item {
    die_attrs at;
    uint32_t func; /* SYM_NONE until needed */
    int inlined;
    unsigned level;
} walk_item;

typedef struct origin_entry {
    uint64_t off;
    uint32_t name;
} origin_entry;

typedef struct walker {
    dw_reader r;   /* the file's, or while a split unit is read, its .dwo's */
    dw_reader alt; /* the supplementary (dwz) file's; no units if none */
    sym_elf *e;    /* the indexed file; NULL when indexing sections */
    const dw_external *ext;
    /* split DWARF: the package beside the file, opened on first need */
    int dwp_tried;
    sym_elf *dwp;
    dw_sections dwp_sec;
    dw_bytes dwp_index;
    /* what is missing (a .dwo, the dwz file): said once, with a count */
    char degraded[SYM_NOTE_MAX];
    int ndegraded;
    sym_index *ix;
    dw_unit *u; /* current unit */
    sym_line_input line_in;
    sym_line_files lf; /* the current unit's file table */
    walk_item stack[MAX_DIE_DEPTH + 1];
    size_t depth;
    int enomem;
    int errors;
    char note[SYM_NOTE_MAX];
    /* abstract origin offset -> name: inlined copies repeat their origin */
    origin_entry *origins;
    size_t norigin, caporigin;
    tm_hindex origin_index;
} walker;

void walker_error(walker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void walker_degraded(walker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads every attribute of a at *c; keeps those we use.  -1 on error. */
int read_attrs_of(walker *w, const dw_reader *r, const dw_unit *u, sym_cur *c, const dw_abbrev *a,
                  die_attrs *out);
static inline int has(const die_attrs *d, int k)
{
    return (d->have >> k) & 1;
}
/* The DIEs below the root of unit u, in one pass (dwarf.c). */
int walk_unit(walker *w, dw_unit *u, sym_cur *c);
/* Forgets the abstract-origin names: DIE offsets are per file. */
void origins_reset(walker *w);
/* Skeleton unit sk (root DIE skroot): finds its split unit and reads its
 * functions and inline calls (dwarf_split.c). */
int split_unit(walker *w, dw_unit *sk, const die_attrs *skroot, const char *comp_dir);

#endif
