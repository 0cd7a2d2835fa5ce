/*
 * The symbolizer's own DWARF reader (info.c, dwarf.c) on section sets of
 * real gcc and clang programs (DWARF 4 and 5; the fuzz seeds in
 * tests/fuzz/corpus/dwarf_info/, see tests/fuzz/dwarf_info_seeds.py):
 *   - intact, they index without a note, with inlined calls and names;
 *   - every section truncated at many lengths and overwritten with random
 *     bursts, each in a heap buffer of exactly its size (ASan sees any
 *     overread), they index or give TM_EFORMAT with a note: never a crash;
 *   - out-of-memory at every allocation is TM_ENOMEM without leaks;
 *   - split DWARF (a .dwo, a .dwp) and dwz (a supplementary file) seeds give
 *     their inline calls and names only with the external sections, and a
 *     note without them; damaged external sections are errors, not crashes.
 *   - lazy indexing (lazy.c) answers what the full index answers at every
 *     segment, intact (without falling back to reading everything), with
 *     external sections, truncated and corrupt; strings it handed out stay
 *     valid while it reads more units; out-of-memory is a clean TM_ENOMEM.
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
#define NALL 19 /* with the external sections (fuzz_dwarf_info.c's order) */

static int last_whole; /* the last check_lazy fell back to reading everything */

typedef struct seed {
    unsigned char *data[NALL];
    size_t len[NALL];
    int n; /* sections in the file */
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
    for (int i = 0; i < NALL; i++) {
        unsigned char h[4];
        size_t got = fread(h, 1, 4, f);
        if (i >= NSEC && got == 0)
            break;
        assert_int_equal(got, 4);
        s->n = i + 1;
        s->len[i] = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16 | (size_t)h[3] << 24;
        s->data[i] = malloc(s->len[i] ? s->len[i] : 1);
        assert_non_null(s->data[i]);
        assert_int_equal(fread(s->data[i], 1, s->len[i], f), s->len[i]);
    }
    fclose(f);
}

static void seed_free(seed *s)
{
    for (int i = 0; i < NALL; i++)
        free(s->data[i]);
}

typedef struct ext_secs {
    dw_sections alt, dwo;
    dw_bytes cu_index;
    dw_external ext;
} ext_secs;

/* The external sections of data/len (NULL if none). */
static const dw_external *fill_ext(ext_secs *e, unsigned char *const *data, const size_t *len)
{
    memset(e, 0, sizeof *e);
    dw_bytes *slots[NALL - NSEC] = { &e->alt.info,        &e->alt.abbrev,   &e->alt.str,
                                     &e->dwo.info,        &e->dwo.abbrev,   &e->dwo.str,
                                     &e->dwo.str_offsets, &e->dwo.rnglists, &e->dwo.line,
                                     &e->cu_index };
    for (int i = 0; i < NALL - NSEC; i++) {
        slots[i]->p = data[NSEC + i];
        slots[i]->n = len[NSEC + i];
    }
    e->ext.alt = e->alt.info.n ? &e->alt : NULL;
    e->ext.dwo = e->dwo.info.n ? &e->dwo : NULL;
    e->ext.cu_index = e->cu_index.n ? &e->cu_index : NULL;
    return e->ext.alt || e->ext.dwo ? &e->ext : NULL;
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

static void expect_same(const tm_sym_result *r, const tm_sym_result *full, uint64_t a)
{
    if (!same_result(r, full))
        fail_msg("lazy and full index differ at 0x%llx: %s %s:%u vs %s %s:%u",
                 (unsigned long long)a, r->frames[0].function, r->frames[0].file, r->frames[0].line,
                 full->frames[0].function, full->frames[0].file, full->frames[0].line);
}

/* The same sections read lazily.  Every segment start of ix (their full
 * index) in address order, units read as needed: when strict (intact
 * files) the answers must be ix's.  Then with every unit read (each unit's
 * code checked against its claims) again, unless units claim common
 * addresses (the first then answers, where corrupted files may differ).
 * *whole: it fell back to reading everything at once. */
static void check_lazy(const dw_sections *sec, const dw_external *ext, const sym_index *ix,
                       int strict, int *whole)
{
    sym_lazy *lz;
    char note[SYM_NOTE_MAX] = "";
    assert_int_equal(sym_lazy_open_sections(&lz, sec, ext, 0, note, sizeof note), TM_OK);
    tm_sym_result first, r, full;
    char keep[256] = "";
    for (size_t k = 0; k < ix->nsegs; k++) {
        assert_int_equal(sym_lazy_lookup(lz, NULL, ix->segs[k].lo, &r), TM_OK);
        sym_index_lookup(ix, ix->segs[k].lo, &full);
        if (strict)
            expect_same(&r, &full, ix->segs[k].lo);
        if (k == 0) {
            first = r;
            snprintf(keep, sizeof keep, "%s", first.frames[0].file);
        }
    }
    assert_int_equal(sym_lazy_read_all(lz), TM_OK);
    for (size_t k = 0; k < ix->nsegs && !sym_lazy_overlaps(lz); k++) {
        assert_int_equal(sym_lazy_lookup(lz, NULL, ix->segs[k].lo, &r), TM_OK);
        sym_index_lookup(ix, ix->segs[k].lo, &full);
        expect_same(&r, &full, ix->segs[k].lo);
    }
    /* the first answer's strings outlive the units read after it */
    if (ix->nsegs)
        assert_string_equal(first.frames[0].file, keep);
    *whole = sym_lazy_whole(lz);
    sym_lazy_close(lz);
}

static int lazy_strict; /* index_with: the file is intact */

/* Indexes (with the external sections if use_ext); checks the contract;
 * returns rc. */
static int index_with(unsigned char *const *data, const size_t *len, int use_ext, sym_index *ix,
                      char *note)
{
    dw_sections sec;
    ext_secs e;
    fill(&sec, data, len);
    const dw_external *ext = use_ext ? fill_ext(&e, data, len) : NULL;
    assert_int_equal(sym_index_init(ix), TM_OK);
    note[0] = '\0';
    int rc = sym_dwarf_index_sections(&sec, ext, ix, note, SYM_NOTE_MAX);
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
        int whole;
        check_lazy(&sec, ext, ix, lazy_strict, &whole);
        last_whole = whole;
    }
    return rc;
}

static int index_once(unsigned char *const *data, const size_t *len, sym_index *ix, char *note)
{
    return index_with(data, len, 0, ix, note);
}

static void test_intact(void **state)
{
    (void)state;
    for (size_t n = 0; n < sizeof seed_names / sizeof seed_names[0]; n++) {
        seed s;
        seed_load(&s, seed_names[n]);
        sym_index ix;
        char note[SYM_NOTE_MAX];
        lazy_strict = 1;
        assert_int_equal(index_once(s.data, s.len, &ix, note), TM_OK);
        lazy_strict = 0;
        assert_string_equal(note, "");
        assert_false(last_whole); /* the units' address claims were trusted */
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

/* Fails the Nth allocation of indexing the seed, for N = 1, 2, ... up to
 * where indexing succeeds: every failure is a clean TM_ENOMEM.  With
 * external sections (split units, the supplementary file) when use_ext. */
static void oom_sweep(const char *name, int use_ext)
{
    seed s;
    seed_load(&s, name);
    int failures = 0, successes = 0;
    for (unsigned long n = 1; n < 3000; n += (n < 100 ? 1 : n / 10)) {
        dw_sections sec;
        ext_secs e;
        fill(&sec, s.data, s.len);
        const dw_external *ext = use_ext ? fill_ext(&e, s.data, s.len) : NULL;
        sym_index ix;
        if (sym_index_init(&ix) != TM_OK)
            continue;
        char note[SYM_NOTE_MAX];
        tm_alloc_fail_after(n);
        int rc = sym_dwarf_index_sections(&sec, ext, &ix, note, sizeof note);
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

static void test_out_of_memory(void **state)
{
    (void)state;
    oom_sweep("clang-dw5", 0);
}

/* The Nth allocation of opening lazily and looking up every 7th byte
 * fails, N = 1, 2, ...: TM_ENOMEM, never a crash or a leak (ASan). */
static void test_lazy_out_of_memory(void **state)
{
    (void)state;
    seed s;
    seed_load(&s, "gcc-dw5");
    dw_sections sec;
    fill(&sec, s.data, s.len);
    int failures = 0, successes = 0;
    for (unsigned long n = 1; n < 3000; n += (n < 100 ? 1 : n / 10)) {
        sym_lazy *lz = NULL;
        char note[SYM_NOTE_MAX];
        tm_alloc_fail_after(n);
        int rc = sym_lazy_open_sections(&lz, &sec, NULL, 0, note, sizeof note);
        for (uint64_t a = 0; rc == TM_OK && a < 0x3000; a += 7) {
            tm_sym_result r;
            rc = sym_lazy_lookup(lz, NULL, a, &r);
        }
        tm_alloc_fail_after(0);
        assert_true(rc == TM_OK || rc == TM_ENOMEM);
        if (rc == TM_OK)
            successes++;
        else
            failures++;
        sym_lazy_close(lz);
    }
    assert_true(failures > 10);
    assert_true(successes > 0);
    seed_free(&s);
}

/* Inlined calls with a name and a call site in one of our sources; and
 * functions (of any kind) without a name. */
static void count_funcs(const sym_index *ix, int *inlined, int *unnamed)
{
    *inlined = *unnamed = 0;
    for (size_t i = 0; i < ix->nfuncs; i++) {
        const char *name = sym_str(&ix->strings, ix->funcs[i].name);
        *unnamed += name[0] == '\0';
        if (ix->funcs[i].parent != SYM_NONE && ix->funcs[i].call_line > 0 &&
            strstr(sym_str(&ix->strings, ix->funcs[i].call_file), "sym_") && name[0])
            (*inlined)++;
    }
}

static const char *const ext_seeds[] = {
    "split-gcc-dw4-dwo",   "split-gcc-dw4-dwp",   "split-gcc-dw5-dwo",   "split-gcc-dw5-dwp",
    "split-clang-dw4-dwo", "split-clang-dw4-dwp", "split-clang-dw5-dwo", "split-clang-dw5-dwp",
    "dwz-gnu-gcc-dw4",     "dwz-gnu-gcc-dw5",     "dwz-gnu-clang-dw4",   "dwz-dwarf5-gcc-dw4",
    "dwz-dwarf5-gcc-dw5",  "dwz-dwarf5-clang-dw4"
};

static void test_external(void **state)
{
    (void)state;
    for (size_t n = 0; n < sizeof ext_seeds / sizeof ext_seeds[0]; n++) {
        seed s;
        seed_load(&s, ext_seeds[n]);
        int split = strncmp(ext_seeds[n], "split", 5) == 0;
        sym_index ix;
        char note[SYM_NOTE_MAX];
        int inl, unnamed, inl0, unnamed0;
        lazy_strict = 1;
        assert_int_equal(index_with(s.data, s.len, 1, &ix, note), TM_OK);
        lazy_strict = 0;
        if (note[0])
            fail_msg("%s: %s", ext_seeds[n], note);
        count_funcs(&ix, &inl, &unnamed);
        sym_index_free(&ix);
        assert_int_equal(index_with(s.data, s.len, 0, &ix, note), TM_OK);
        count_funcs(&ix, &inl0, &unnamed0);
        sym_index_free(&ix);
        if (split) {
            /* the skeleton alone has no functions; the note says why once */
            assert_true(inl > 0 && inl0 == 0);
            assert_non_null(strstr(note, "split DWARF"));
            assert_non_null(strstr(note, "not found"));
        } else {
            /* without the supplementary file, moved DIEs have no names */
            assert_int_equal(unnamed, 0);
            assert_true(unnamed0 > 0);
            assert_true(inl > 0);
        }
        seed_free(&s);
    }
}

static void test_external_damaged(void **state)
{
    (void)state;
    uint64_t rng = 0x13198a2e03707344ull;
    for (size_t n = 0; n < sizeof ext_seeds / sizeof ext_seeds[0]; n++) {
        seed s;
        seed_load(&s, ext_seeds[n]);
        int noticed = 0;
        for (int i = NSEC; i < NALL; i++) {
            if (!s.len[i])
                continue;
            size_t step = s.len[i] / 40 + 1;
            for (size_t cut = 0; cut < s.len[i]; cut += step) {
                unsigned char *data[NALL];
                size_t len[NALL];
                memcpy(data, s.data, sizeof data);
                memcpy(len, s.len, sizeof len);
                data[i] = malloc(cut ? cut : 1);
                assert_non_null(data[i]);
                memcpy(data[i], s.data[i], cut);
                len[i] = cut;
                sym_index ix;
                char note[SYM_NOTE_MAX];
                if (index_with(data, len, 1, &ix, note) == TM_EFORMAT || note[0])
                    noticed++;
                sym_index_free(&ix);
                free(data[i]);
            }
            for (int run = 0; run < 60; run++) {
                unsigned char *data[NALL];
                memcpy(data, s.data, sizeof data);
                data[i] = malloc(s.len[i]);
                assert_non_null(data[i]);
                memcpy(data[i], s.data[i], s.len[i]);
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                size_t at = (size_t)(rng >> 20) % s.len[i];
                for (size_t k = 0; k < 1 + (size_t)run % 8 && at + k < s.len[i]; k++) {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    data[i][at + k] = (unsigned char)rng;
                }
                sym_index ix;
                char note[SYM_NOTE_MAX];
                index_with(data, s.len, 1, &ix, note);
                sym_index_free(&ix);
                free(data[i]);
            }
        }
        assert_true(noticed > 0);
        seed_free(&s);
    }
}

static void test_external_out_of_memory(void **state)
{
    (void)state;
    oom_sweep("split-gcc-dw5-dwp", 1);
    oom_sweep("dwz-gnu-gcc-dw4", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intact),
        cmocka_unit_test(test_truncated_and_corrupt),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_lazy_out_of_memory),
        cmocka_unit_test(test_external),
        cmocka_unit_test(test_external_damaged),
        cmocka_unit_test(test_external_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
