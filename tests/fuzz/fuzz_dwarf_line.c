/*
 * Fuzz target for the symbolizer's own .debug_line decoder (lines.c): the
 * input is a .debug_line section (also used as .debug_line_str and
 * .debug_str, so that string offsets sometimes resolve), decoded little-
 * and big-endian, each unit in turn.  Any crash or sanitizer report is a
 * bug; TM_EFORMAT with a note is the expected answer for most inputs.
 * Seeds in corpus/dwarf_line/ are the line tables of tests/fuzz/corpus/elf
 * and of the hand-made programs of tests/unit/test_symbolize.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sym_internal.h"
#include "tm_alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int msb = 0; msb < 2; msb++) {
        sym_line_input in = { data, size, data, size, data, size, msb, 8, "/comp" };
        uint64_t off = 0;
        for (int unit = 0; unit < 8 && off < size; unit++) {
            sym_index ix;
            if (sym_index_init(&ix) != TM_OK)
                return 0;
            sym_line_files f;
            char note[SYM_NOTE_MAX];
            note[0] = '\0';
            int rc = sym_lines_read(&in, off, &ix, &f, note, sizeof note);
            if (rc != TM_OK && rc != TM_EFORMAT && rc != TM_ENOMEM)
                abort();
            if (rc == TM_EFORMAT && !note[0])
                abort();
            for (size_t i = 0; i < f.nfiles; i++)
                if (f.files[i] >= ix.strings.len)
                    abort();
            for (size_t i = 0; i < ix.nlines; i++)
                if (ix.lines[i].lo >= ix.lines[i].hi)
                    abort();
            if (rc == TM_OK && sym_index_finish(&ix) == TM_OK) {
                tm_sym_result r;
                sym_index_lookup(&ix, 0x1000, &r);
            }
            tm_free(f.files);
            sym_index_free(&ix);
            /* next unit: 4-byte length (64-bit DWARF units end the walk) */
            if (size - off < 4)
                break;
            uint64_t len = 0;
            for (int k = 0; k < 4; k++)
                len |= (uint64_t)data[off + (msb ? 3 - k : k)] << (8 * k);
            if (len >= 0xfffffff0u)
                break;
            off += 4 + len;
        }
    }
    return 0;
}
