/*
 * The symbolizer's own DWARF reader (info.c, dwarf.c) on section sets of
 * real gcc and clang programs (DWARF 4 and 5; the fuzz seeds in
 * tests/fuzz/corpus/dwarf_info/, see tests/fuzz/dwarf_info_seeds.py):
 *   - intact, they index without a note, with inlined calls and names;
 *   - every section truncated at many lengths and overwritten with random
 *     bursts, each in a heap buffer of exactly its size (ASan sees any
 *     overread), they index or give TM_EFORMAT with a note: never a crash;
 *   - out-of-memory at every allocation is TM_ENOMEM without leaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf_reader.h"
#include "tm_alloc.h"

#define NSEC 9

typedef struct seed {
    unsigned char *data[NSEC];
    size_t len[NSEC];
} seed;

static const char *const seed_names[] = { "gcc-dw4", "gcc-dw5", "clang-dw4", "clang-dw5" };

static void seed_load(seed *s, const char *name)
{
    const char *src = getenv("TM_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/dwarf_info/%s", src ? src : ".", name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    memset(s, 0, sizeof *s);
    for (int i = 0; i < NSEC; i++) {
        unsigned char h[4];
        assert_int_equal(fread(h, 1, 4, f), 4);
        s->len[i] = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16 | (size_t)h[3] << 24;
        s->data[i] = malloc(s->len[i] ? s->len[i] : 1);
        assert_non_null(s->data[i]);
        assert_int_equal(fread(s->data[i], 1, s->len[i], f), s->len[i]);
    }
    fclose(f);
}

static void seed_free(seed *s)
{
    for (int i = 0; i < NSEC; i++)
        free(s->data[i]);
}

static void fill(dw_sections *sec, unsigned char *const *data, const size_t *len)
{
    memset(sec, 0, sizeof *sec);
    dw_bytes *slots[NSEC] = { &sec->info,     &sec->abbrev,      &sec->str,
                              &sec->line_str, &sec->str_offsets, &sec->addr,
                              &sec->ranges,   &sec->rnglists,    &sec->line };
    for (int i = 0; i < NSEC; i++) {
        slots[i]->p = data[i];
        slots[i]->n = len[i];
    }
}

/* Indexes; checks the contract; returns rc. */
static int index_once(unsigned char *const *data, const size_t *len, sym_index *ix, char *note)
{
    dw_sections sec;
    fill(&sec, data, len);
    assert_int_equal(sym_index_init(ix), TM_OK);
    note[0] = '\0';
    int rc = sym_dwarf_index_sections(&sec, NULL, ix, note, SYM_NOTE_MAX);
    assert_true(rc == TM_OK || rc == TM_EFORMAT);
    if (rc == TM_EFORMAT)
        assert_true(note[0] != '\0');
    if (rc == TM_OK) {
        assert_int_equal(sym_index_finish(ix), TM_OK);
        for (size_t k = 0; k < ix->nsegs; k += 1 + ix->nsegs / 50) {
            tm_sym_result r;
            sym_index_lookup(ix, ix->segs[k].lo, &r);
            assert_true(r.nframes >= 1 && r.nframes <= TM_SYM_MAX_INLINE);
            for (size_t j = 0; j < r.nframes; j++) {
                assert_non_null(r.frames[j].function);
                assert_non_null(r.frames[j].file);
            }
        }
    }
    return rc;
}

static void test_intact(void **state)
{
    (void)state;
    for (size_t n = 0; n < sizeof seed_names / sizeof seed_names[0]; n++) {
        seed s;
        seed_load(&s, seed_names[n]);
        sym_index ix;
        char note[SYM_NOTE_MAX];
        assert_int_equal(index_once(s.data, s.len, &ix, note), TM_OK);
        assert_string_equal(note, "");
        /* names resolved through abstract origins, inlined calls with their
         * call site, and line rows with file names */
        int has_main = 0, has_inlined = 0;
        for (size_t i = 0; i < ix.nfuncs; i++) {
            const char *name = sym_str(&ix.strings, ix.funcs[i].name);
            has_main |= strcmp(name, "main") == 0;
            if (ix.funcs[i].parent != SYM_NONE && ix.funcs[i].call_line > 0 &&
                strstr(sym_str(&ix.strings, ix.funcs[i].call_file), "sym_") && name[0])
                has_inlined = 1;
        }
        assert_true(has_main);
        assert_true(has_inlined);
        assert_true(ix.nlines > 10);
        int files = 0;
        for (size_t k = 0; k < ix.nsegs; k++)
            files += strstr(sym_str(&ix.strings, ix.segs[k].file), "symbolize/sym_") != NULL;
        assert_true(files > 0);
        sym_index_free(&ix);
        seed_free(&s);
    }
}

static void test_truncated_and_corrupt(void **state)
{
    (void)state;
    uint64_t rng = 0x243f6a8885a308d3ull;
    for (size_t n = 0; n < sizeof seed_names / sizeof seed_names[0]; n++) {
        seed s;
        seed_load(&s, seed_names[n]);
        int eformat = 0;
        for (int i = 0; i < NSEC; i++) {
            if (!s.len[i])
                continue;
            size_t step = s.len[i] / 150 + 1;
            for (size_t cut = 0; cut < s.len[i]; cut += step) {
                unsigned char *data[NSEC];
                size_t len[NSEC];
                memcpy(data, s.data, sizeof data);
                memcpy(len, s.len, sizeof len);
                data[i] = malloc(cut ? cut : 1);
                assert_non_null(data[i]);
                memcpy(data[i], s.data[i], cut);
                len[i] = cut;
                sym_index ix;
                char note[SYM_NOTE_MAX];
                if (index_once(data, len, &ix, note) == TM_EFORMAT || note[0])
                    eformat++;
                sym_index_free(&ix);
                free(data[i]);
            }
        }
        for (int run = 0; run < 400; run++) {
            static const int targets[] = { 0, 0, 0, 1, 1, 4, 5, 6, 7, 8 };
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            int i = targets[rng % 10];
            if (!s.len[i])
                continue;
            unsigned char *data[NSEC];
            memcpy(data, s.data, sizeof data);
            data[i] = malloc(s.len[i]);
            assert_non_null(data[i]);
            memcpy(data[i], s.data[i], s.len[i]);
            size_t at = (size_t)(rng >> 20) % s.len[i];
            for (size_t k = 0; k < 1 + (size_t)run % 8 && at + k < s.len[i]; k++) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                data[i][at + k] = (unsigned char)rng;
            }
            sym_index ix;
            char note[SYM_NOTE_MAX];
            index_once(data, s.len, &ix, note);
            sym_index_free(&ix);
            free(data[i]);
        }
        assert_true(eformat > 0); /* the damage was noticed, not silently ignored */
        seed_free(&s);
    }
}

static void test_out_of_memory(void **state)
{
    (void)state;
    seed s;
    seed_load(&s, "clang-dw5");
    int failures = 0, successes = 0;
    for (unsigned long n = 1; n < 3000; n += (n < 100 ? 1 : n / 10)) {
        dw_sections sec;
        fill(&sec, s.data, s.len);
        sym_index ix;
        if (sym_index_init(&ix) != TM_OK)
            continue;
        char note[SYM_NOTE_MAX];
        tm_alloc_fail_after(n);
        int rc = sym_dwarf_index_sections(&sec, NULL, &ix, note, sizeof note);
        if (rc == TM_OK)
            rc = sym_index_finish(&ix);
        tm_alloc_fail_after(0);
        assert_true(rc == TM_OK || rc == TM_ENOMEM);
        if (rc == TM_OK)
            successes++;
        else
            failures++;
        sym_index_free(&ix);
    }
    assert_true(failures > 10);
    assert_true(successes > 0);
    seed_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intact),
        cmocka_unit_test(test_truncated_and_corrupt),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
