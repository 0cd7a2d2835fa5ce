/*
 * Fuzz target for the DWARF package index reader (dwp.c): the input is an
 * 8-byte little-endian unit signature and then a .debug_cu_index.  The
 * index is looked up in both byte orders, and a unit found is sliced out of
 * sections that are the input itself, so that a contribution outside them
 * is seen.  Seeds in corpus/dwp_index/: the indexes of llvm-dwp packages of
 * the accuracy test's programs (versions 2 and 5; written by
 * tests/fuzz/dwarf_info_seeds.py).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t id = 0;
    for (int i = 0; i < 8; i++)
        id |= (uint64_t)data[i] << (8 * i);
    size_t n = size - 8;
    uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees an overread */
    if (!copy)
        return 0;
    memcpy(copy, data + 8, n);
    dw_bytes index = { copy, n };
    for (int msb = 0; msb < 2; msb++) {
        dw_dwp_row row;
        char note[SYM_NOTE_MAX];
        note[0] = '\0';
        int k = dw_cu_index_find(&index, msb, id, &row, note, sizeof note);
        if (k < -1 || k > 1 || (k < 0 && !note[0]))
            abort();
        if (k != 1)
            continue;
        dw_sections whole, out;
        memset(&whole, 0, sizeof whole);
        whole.info = whole.abbrev = whole.line = whole.str_offsets = whole.rnglists = index;
        note[0] = '\0';
        if (dw_dwp_slice(&whole, &row, &out, note, sizeof note) != 0) {
            if (!note[0])
                abort();
            continue;
        }
        const dw_bytes *got[] = { &out.info, &out.abbrev, &out.line, &out.str_offsets,
                                  &out.rnglists };
        for (size_t i = 0; i < sizeof got / sizeof got[0]; i++)
            if (got[i]->n && (got[i]->p < copy || got[i]->p + got[i]->n > copy + n))
                abort();
    }
    free(copy);
    return 0;
}
