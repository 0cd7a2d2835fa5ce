/*
 * The unit index of a DWARF package (.dwp): .debug_cu_index, version 2
 * (the GNU extension for DWARF 4) and version 5.  A package concatenates
 * the .dwo files' sections; the index says, for a skeleton's dwo_id, where
 * that unit's contribution to each section starts and how long it is.
 * Every table is checked against the section before it is read.
 */
#include <stdio.h>
#include <string.h>

#include "dwarf_reader.h"

/* Section identifiers of the index's columns (DW_SECT_*); version 2 and 5
 * agree on these four, and only version 5 has range lists (8 is macro
 * information in version 2). */
enum { SECT_INFO = 1, SECT_ABBREV = 3, SECT_LINE = 4, SECT_STR_OFFSETS = 6, SECT_RNGLISTS = 8 };

#define MAX_COLUMNS 64u

int dw_cu_index_find(const dw_bytes *index, int msb, uint64_t id, dw_dwp_row *row, char *note,
                     size_t notecap)
{
    memset(row, 0, sizeof *row);
    sym_cur c = { index->p, index->p + index->n, msb, 0 };
    /* version 5: uhalf version, uhalf padding; version 2: a 4-byte version */
    uint64_t v32 = sym_cur_uint(&c, 4);
    unsigned version = (unsigned)(msb ? v32 >> 16 : v32 & 0xffff);
    if (v32 == 2)
        version = 2;
    uint64_t ncols = sym_cur_uint(&c, 4), nunits = sym_cur_uint(&c, 4),
             nslots = sym_cur_uint(&c, 4);
    if (c.bad || (version != 2 && version != 5)) {
        snprintf(note, notecap, ".debug_cu_index: %s (version %u)",
                 c.bad ? "truncated header" : "unknown version", version);
        return -1;
    }
    if (nunits == 0)
        return 0;
    /* slots: 8-byte signature + 4-byte row; rows: offsets and sizes, 4 bytes
     * per column each, plus the column ids */
    size_t left = sym_cur_left(&c);
    if (ncols == 0 || ncols > MAX_COLUMNS || nslots > left / 12 || nunits > nslots ||
        ncols * 4 * (1 + 2 * nunits) > left - nslots * 12) {
        snprintf(note, notecap,
                 ".debug_cu_index: %llu units, %llu slots and %llu columns do not fit in %zu bytes",
                 (unsigned long long)nunits, (unsigned long long)nslots, (unsigned long long)ncols,
                 index->n);
        return -1;
    }
    const uint8_t *sigs = c.p, *rows = c.p + nslots * 8, *cols = rows + nslots * 4;
    const uint8_t *offs = cols + ncols * 4, *sizes = offs + nunits * ncols * 4;
    uint64_t r = 0;
    for (uint64_t i = 0; i < nslots && !r; i++) {
        sym_cur s = { sigs + i * 8, sigs + i * 8 + 8, msb, 0 };
        sym_cur k = { rows + i * 4, rows + i * 4 + 4, msb, 0 };
        uint64_t sig = sym_cur_uint(&s, 8), rowno = sym_cur_uint(&k, 4);
        if (rowno != 0 && sig == id)
            r = rowno;
    }
    if (!r)
        return 0;
    if (r > nunits) {
        snprintf(note, notecap, ".debug_cu_index: row %llu of %llu units", (unsigned long long)r,
                 (unsigned long long)nunits);
        return -1;
    }
    for (uint64_t j = 0; j < ncols; j++) {
        sym_cur k = { cols + j * 4, cols + j * 4 + 4, msb, 0 };
        sym_cur o = { offs + ((r - 1) * ncols + j) * 4, sizes, msb, 0 };
        sym_cur z = { sizes + ((r - 1) * ncols + j) * 4, index->p + index->n, msb, 0 };
        uint64_t sect = sym_cur_uint(&k, 4), off = sym_cur_uint(&o, 4), size = sym_cur_uint(&z, 4);
        int slot = -1;
        switch (sect) {
        case SECT_INFO: slot = DWP_INFO; break;
        case SECT_ABBREV: slot = DWP_ABBREV; break;
        case SECT_LINE: slot = DWP_LINE; break;
        case SECT_STR_OFFSETS: slot = DWP_STR_OFFSETS; break;
        case SECT_RNGLISTS: slot = version == 5 ? DWP_RNGLISTS : -1; break;
        default: break;
        }
        if (slot >= 0) {
            row->off[slot] = off;
            row->size[slot] = size;
            row->have[slot] = 1;
        }
    }
    row->version = version;
    if (!row->have[DWP_INFO] || !row->have[DWP_ABBREV]) {
        snprintf(note, notecap, ".debug_cu_index: unit without .debug_info or .debug_abbrev");
        return -1;
    }
    return 1;
}

int dw_dwp_slice(const dw_sections *whole, const dw_dwp_row *row, dw_sections *out, char *note,
                 size_t notecap)
{
    *out = *whole;
    const dw_bytes *src[DWP_N] = { &whole->info, &whole->abbrev, &whole->line, &whole->str_offsets,
                                   &whole->rnglists };
    dw_bytes *dst[DWP_N] = { &out->info, &out->abbrev, &out->line, &out->str_offsets,
                             &out->rnglists };
    static const char *const names[DWP_N] = { ".debug_info.dwo", ".debug_abbrev.dwo",
                                              ".debug_line.dwo", ".debug_str_offsets.dwo",
                                              ".debug_rnglists.dwo" };
    for (int i = 0; i < DWP_N; i++) {
        if (!row->have[i]) {
            /* a unit without a contribution must not see another's */
            dst[i]->p = NULL;
            dst[i]->n = 0;
            continue;
        }
        if (row->off[i] > src[i]->n || row->size[i] > src[i]->n - row->off[i]) {
            snprintf(note, notecap,
                     ".debug_cu_index: %s contribution [%llu, +%llu) outside the "
                     "section (%zu bytes)",
                     names[i], (unsigned long long)row->off[i], (unsigned long long)row->size[i],
                     src[i]->n);
            return -1;
        }
        dst[i]->p = src[i]->p + row->off[i];
        dst[i]->n = (size_t)row->size[i];
    }
    return 0;
}
