/*
 * Fuzz target for the symbolizer's own DWARF reader (info.c + dwarf.c +
 * lines.c) without the ELF layer: the input is a list of sections, each a
 * 4-byte little-endian length and its bytes, in the order .debug_info,
 * .debug_abbrev, .debug_str, .debug_line_str, .debug_str_offsets,
 * .debug_addr, .debug_ranges, .debug_rnglists, .debug_line (a length past
 * the end takes what is left), then optionally the supplementary (dwz)
 * file's .debug_info, .debug_abbrev, .debug_str, then split units'
 * .debug_info.dwo, .debug_abbrev.dwo, .debug_str.dwo, .debug_str_offsets.dwo,
 * .debug_rnglists.dwo, .debug_line.dwo and a package's .debug_cu_index (an
 * empty index: the split sections are one .dwo).  Every section is copied to a buffer of its
 * exact size, so that any overread is seen by ASan.  Seeds in
 * corpus/dwarf_info/: the sections of real gcc/clang programs (written by
 * tests/fuzz/dwarf_info_seeds.py), regress-* inputs that once failed, and
 * min-*: a coverage-minimised set (inputs under 2 KiB) of a libFuzzer run;
 * split-* and dwz-* have the external sections.
 * The same sections are then read lazily (lazy.c): its unit map must not
 * crash on anything, and once every unit is read its answers must be the
 * full index's at every segment boundary (abort otherwise) unless units
 * claim common addresses (there the first claimant answers).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf_reader.h"
#include "tm_alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_result(const tm_sym_result *a, const tm_sym_result *b)
{
    if (a->nframes != b->nframes)
        return 0;
    for (size_t j = 0; j < a->nframes; j++)
        if (strcmp(a->frames[j].function, b->frames[j].function) != 0 ||
            strcmp(a->frames[j].file, b->frames[j].file) != 0 ||
            a->frames[j].line != b->frames[j].line)
            return 0;
    return 1;
}

/* Lazy reading of the sections against ix, their full index (finished). */
static void check_lazy(const dw_sections *sec, const dw_external *ext, const sym_index *ix)
{
    sym_lazy *lz;
    char note[SYM_NOTE_MAX] = "";
    int rc = sym_lazy_open_sections(&lz, sec, ext, 0, note, sizeof note);
    if (rc == TM_ENOMEM)
        return;
    if (rc != TM_OK) /* the full index read these sections */
        abort();
    size_t step = ix->nsegs / 4000 + 1;
    tm_sym_result r, full;
    /* first in address order, units read as needed; then all read */
    for (size_t k = 0; k < ix->nsegs; k += step)
        if (sym_lazy_lookup(lz, NULL, ix->segs[k].lo, &r) != TM_OK)
            goto out;
    if (sym_lazy_read_all(lz) != TM_OK || sym_lazy_overlaps(lz))
        goto out;
    for (size_t k = 0; k < ix->nsegs; k += step) {
        if (sym_lazy_lookup(lz, NULL, ix->segs[k].lo, &r) != TM_OK)
            goto out;
        sym_index_lookup(ix, ix->segs[k].lo, &full);
        if (!same_result(&r, &full))
            abort();
    }
out:
    sym_lazy_close(lz);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dw_sections sec, alt, dwo;
    dw_bytes cu_index = { NULL, 0 };
    memset(&sec, 0, sizeof sec);
    memset(&alt, 0, sizeof alt);
    memset(&dwo, 0, sizeof dwo);
    dw_bytes *slots[] = { &sec.info,        &sec.abbrev, &sec.str,    &sec.line_str,
                          &sec.str_offsets, &sec.addr,   &sec.ranges, &sec.rnglists,
                          &sec.line,        &alt.info,   &alt.abbrev, &alt.str,
                          &dwo.info,        &dwo.abbrev, &dwo.str,    &dwo.str_offsets,
                          &dwo.rnglists,    &dwo.line,   &cu_index };
    enum { NSLOTS = sizeof slots / sizeof slots[0] };
    uint8_t *copies[NSLOTS] = { 0 };
    size_t off = 0, nread = 0;
    for (size_t i = 0; i < NSLOTS && off + 4 <= size; i++) {
        size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8 | (size_t)data[off + 2] << 16 |
            (size_t)data[off + 3] << 24;
        off += 4;
        if (len > size - off)
            len = size - off;
        copies[i] = malloc(len ? len : 1);
        if (!copies[i])
            break;
        memcpy(copies[i], data + off, len);
        slots[i]->p = copies[i];
        slots[i]->n = len;
        off += len;
        nread = i + 1;
    }
    dw_external ext = { alt.info.n ? &alt : NULL, dwo.info.n ? &dwo : NULL,
                        cu_index.n ? &cu_index : NULL };
    sym_index ix;
    if (sym_index_init(&ix) == TM_OK) {
        char note[SYM_NOTE_MAX];
        note[0] = '\0';
        const dw_external *extp = nread > 9 ? &ext : NULL;
        int rc = sym_dwarf_index_sections(&sec, extp, &ix, note, sizeof note);
        if (rc != TM_OK && rc != TM_EFORMAT && rc != TM_ENOMEM)
            abort();
        if (rc == TM_EFORMAT && !note[0])
            abort();
        if (rc == TM_OK && sym_index_finish(&ix) == TM_OK) {
            static const uint64_t probes[] = { 0, 0x1000, 0x1139, 0x401000, 0x401136 };
            for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
                tm_sym_result r;
                sym_index_lookup(&ix, probes[k], &r);
                if (r.nframes < 1 || r.nframes > TM_SYM_MAX_INLINE)
                    abort();
                for (size_t j = 0; j < r.nframes; j++)
                    if (!r.frames[j].function || !r.frames[j].file)
                        abort();
            }
            check_lazy(&sec, extp, &ix);
        }
        sym_index_free(&ix);
    }
    for (size_t i = 0; i < NSLOTS; i++)
        free(copies[i]);
    return 0;
}
