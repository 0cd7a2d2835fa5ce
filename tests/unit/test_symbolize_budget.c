/*
 * The symbolizer's ELF access stays inside the memory budget: libelf's own
 * malloc'd memory (measured here with mallinfo2, glibc's count of every
 * malloc) never exceeds what sym_elf_open charged for it, for files with
 * thousands of sections and with a compressed string table (which
 * elf_strptr would inflate into libelf's memory); and a compressed section
 * that claims more than the budget is refused before anything is
 * decompressed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "sym_internal.h"
#include "tm/memory.h"
#include "tm_alloc.h"

#define NSYMS 200000u

typedef struct elf_out {
    uint8_t *b;
    size_t len, cap;
} elf_out;

static size_t put(elf_out *o, const void *p, size_t n)
{
    while (o->len + n + 8 > o->cap) {
        o->cap = o->cap ? o->cap * 2 : 1 << 16;
        o->b = realloc(o->b, o->cap);
        assert_non_null(o->b);
    }
    while (o->len % 8)
        o->b[o->len++] = 0;
    size_t at = o->len;
    memcpy(o->b + at, p, n);
    o->len += n;
    return at;
}

/* An ELF64 with `extra` empty sections, a .text, a .strtab (zlib
 * compressed with SHF_COMPRESSED when `compress`) naming NSYMS function
 * symbols f0..., and their .symtab.  claim (0 = the truth) is the string
 * table's ch_size. */
static void write_elf(const char *path, unsigned extra, int compress, uint64_t claim)
{
    elf_out o = { 0 };
    Elf64_Ehdr eh;
    memset(&eh, 0, sizeof eh);
    put(&o, &eh, sizeof eh);
    static const char shstr[] = "\0.text\0.strtab\0.symtab\0.shstrtab\0.x";
    size_t shstr_at = put(&o, shstr, sizeof shstr);
    char *names = malloc(NSYMS * 12 + 1);
    Elf64_Sym *syms = calloc(NSYMS + 1, sizeof *syms);
    assert_true(names && syms);
    size_t nlen = 1;
    names[0] = '\0';
    for (unsigned i = 0; i < NSYMS; i++) {
        syms[i + 1].st_name = (uint32_t)nlen;
        syms[i + 1].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
        syms[i + 1].st_shndx = 1;
        syms[i + 1].st_value = 0x1000 + (uint64_t)i * 16;
        syms[i + 1].st_size = 16;
        nlen += (size_t)sprintf(names + nlen, "f%u", i) + 1;
    }
    size_t str_at, str_len = nlen;
    if (compress) {
        uLongf zlen = compressBound(nlen);
        uint8_t *z = malloc(sizeof(Elf64_Chdr) + zlen);
        assert_non_null(z);
        assert_int_equal(compress2(z + sizeof(Elf64_Chdr), &zlen, (const Bytef *)names, nlen, 9),
                         Z_OK);
        Elf64_Chdr ch = { ELFCOMPRESS_ZLIB, 0, claim ? claim : nlen, 1 };
        memcpy(z, &ch, sizeof ch);
        str_len = sizeof ch + zlen;
        str_at = put(&o, z, str_len);
        free(z);
    } else {
        str_at = put(&o, names, nlen);
    }
    size_t sym_at = put(&o, syms, (NSYMS + 1) * sizeof *syms);
    free(names);
    free(syms);
    unsigned nsec = 5 + extra;
    Elf64_Shdr *sh = calloc(nsec, sizeof *sh);
    assert_non_null(sh);
    sh[1] = (Elf64_Shdr){ .sh_name = 1,
                          .sh_type = SHT_PROGBITS,
                          .sh_flags = SHF_ALLOC | SHF_EXECINSTR,
                          .sh_addr = 0x1000,
                          .sh_size = 0 };
    sh[2] = (Elf64_Shdr){ .sh_name = 7,
                          .sh_type = SHT_STRTAB,
                          .sh_offset = str_at,
                          .sh_size = str_len,
                          .sh_flags = compress ? SHF_COMPRESSED : 0,
                          .sh_addralign = compress ? 8 : 1 };
    sh[3] = (Elf64_Shdr){ .sh_name = 15,
                          .sh_type = SHT_SYMTAB,
                          .sh_offset = sym_at,
                          .sh_size = (NSYMS + 1) * sizeof(Elf64_Sym),
                          .sh_link = 2,
                          .sh_info = 1,
                          .sh_entsize = sizeof(Elf64_Sym),
                          .sh_addralign = 8 };
    sh[4] = (Elf64_Shdr){
        .sh_name = 23, .sh_type = SHT_STRTAB, .sh_offset = shstr_at, .sh_size = sizeof shstr
    };
    for (unsigned i = 5; i < nsec; i++)
        sh[i] = (Elf64_Shdr){ .sh_name = 33, .sh_type = SHT_PROGBITS, .sh_offset = shstr_at };
    size_t sh_at = put(&o, sh, nsec * sizeof *sh);
    free(sh);
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_DYN;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_ehsize = sizeof eh;
    eh.e_shentsize = sizeof(Elf64_Shdr);
    eh.e_shoff = sh_at;
    eh.e_shnum = (uint16_t)nsec;
    eh.e_shstrndx = 4;
    memcpy(o.b, &eh, sizeof eh);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(o.b, 1, o.len, f), o.len);
    fclose(f);
    free(o.b);
}

static size_t malloced(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* Opens, loads every section, reads the symbols; checks what libelf
 * allocated (all malloc'd bytes less tmkit's own) against the charge, and
 * returns how many symbols were found. */
static size_t open_and_measure(const char *path)
{
    size_t m0 = malloced();
    uint64_t t0 = tm_memory_in_use();
    sym_elf *e;
    char note[SYM_NOTE_MAX];
    assert_int_equal(sym_elf_open(path, &e, note, sizeof note), TM_OK);
    for (size_t i = 1; i < e->nsections; i++)
        (void)sym_elf_load(e, i, note, sizeof note);
    sym_index ix;
    assert_int_equal(sym_index_init(&ix), TM_OK);
    size_t ix_before = malloced();
    uint64_t tix_before = tm_memory_in_use();
    assert_int_equal(sym_elf_add_symbols(e, &ix, note, sizeof note), TM_OK);
    size_t m1 = malloced();
    uint64_t t1 = tm_memory_in_use();
    /* tmkit's blocks are counted by usable size (malloc adds a word each),
     * and the count includes the charge for libelf. */
    size_t ours = (size_t)(t1 - t0) - e->libelf_charge + 4096;
    size_t libelf = m1 > m0 + ours ? m1 - m0 - ours : 0;
    print_message("%s: %zu sections, libelf %zu bytes, charged %zu (symbols: %zu malloc'd, %llu "
                  "counted)\n",
                  path, e->nsections, libelf, e->libelf_charge, m1 - ix_before,
                  (unsigned long long)(t1 - tix_before));
    assert_true(libelf <= e->libelf_charge);
    assert_true(e->libelf_charge > 0);
    assert_int_equal(sym_index_finish(&ix), TM_OK);
    tm_sym_result r;
    sym_index_lookup(&ix, 0x1000 + 16 * (NSYMS - 1) + 3, &r);
    size_t found = strcmp(r.frames[0].function, "f199999") == 0;
    sym_index_free(&ix);
    sym_elf_close(e);
    assert_int_equal(tm_memory_in_use(), t0);
    return found;
}

static char tmp[256];

static void test_many_sections(void **state)
{
    (void)state;
    write_elf(tmp, 30000, 0, 0);
    assert_int_equal(open_and_measure(tmp), 1);
}

/* elf_strptr would inflate this table (2 MB) with libelf's malloc. */
static void test_compressed_strtab(void **state)
{
    (void)state;
    write_elf(tmp, 10, 1, 0);
    assert_int_equal(open_and_measure(tmp), 1);
}

static void test_self(void **state)
{
    (void)state;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';
    (void)open_and_measure(self);
}

/* A string table claiming 8 GiB under a 64 MiB budget: the load fails on
 * the budget, naming the file and the section, with nothing decompressed. */
static void test_claim_past_budget(void **state)
{
    (void)state;
    write_elf(tmp, 10, 1, UINT64_C(8) << 30);
    tm_memory_budget_set(UINT64_C(64) << 20);
    sym_elf *e;
    char note[SYM_NOTE_MAX];
    assert_int_equal(sym_elf_open(tmp, &e, note, sizeof note), TM_OK);
    uint64_t before = tm_memory_peak();
    sym_elf_oom_clear();
    assert_int_equal(sym_elf_load(e, 2, note, sizeof note), TM_ENOMEM);
    assert_true(tm_memory_budget_exceeded());
    assert_non_null(strstr(sym_elf_oom_what(), tmp));
    assert_non_null(strstr(sym_elf_oom_what(), "section .strtab decompresses to 8589934592"));
    assert_int_equal(tm_memory_peak(), before);
    sym_elf_close(e);
    tm_memory_budget_set(0);
    /* Without a budget the same claim is past 1000x its bytes: corrupt. */
    assert_int_equal(sym_elf_open(tmp, &e, note, sizeof note), TM_OK);
    assert_int_equal(sym_elf_load(e, 2, note, sizeof note), TM_EFORMAT);
    sym_elf_close(e);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/test_symbolize_budget.%d.elf", (int)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_sections),
        cmocka_unit_test(test_compressed_strtab),
        cmocka_unit_test(test_self),
        cmocka_unit_test(test_claim_past_budget),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(tmp);
    return rc;
}
