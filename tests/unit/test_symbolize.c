/*
 * Symbolizer unit tests: lookups in this very test executable (built with
 * -g), snapshot symbolization with the -1 convention and notes for missing
 * and mismatched modules, out-of-memory paths, and robustness against
 * truncated and corrupted ELF/DWARF (never a crash, always a status).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sym_internal.h"
#include "tm/snapshot.h"
#include "tm/symbolize.h"
#include "tm_alloc.h"

static char self_path[4096];

__attribute__((noinline)) int symtest_marker_function(int x);
__attribute__((noinline)) int symtest_marker_function(int x)
{
    return x * 7 + (int)(uintptr_t)&self_path[0] % 3;
}

static int bias_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    *(uint64_t *)data = info->dlpi_addr;
    return 1; /* the first entry is the main program */
}

static uint64_t self_bias(void)
{
    uint64_t b = 0;
    dl_iterate_phdr(bias_cb, &b);
    return b;
}

static uint64_t marker_offset(void)
{
    uintptr_t p = (uintptr_t)&symtest_marker_function;
    return (uint64_t)p - self_bias();
}

static void test_lookup_self(void **state)
{
    (void)state;
    tm_symbolizer *s;
    tm_error err = { 0 };
    assert_int_equal(tm_symbolizer_new(&s, NULL, &err), TM_OK);
    tm_sym_result r;
    assert_int_equal(tm_symbolizer_lookup(&r, s, self_path, marker_offset() + 1, &err), TM_OK);
    assert_int_equal(r.status, TM_SYMSTAT_SYMBOLIZED);
    assert_string_equal(r.frames[r.nframes - 1].function, "symtest_marker_function");
    assert_non_null(strstr(r.frames[0].file, "test_symbolize.c"));
    assert_true(r.frames[0].line >= 27 && r.frames[0].line <= 31);
    /* cached: a second lookup gives identical pointers */
    tm_sym_result r2;
    assert_int_equal(tm_symbolizer_lookup(&r2, s, self_path, marker_offset() + 1, &err), TM_OK);
    assert_ptr_equal(r.frames[0].function, r2.frames[0].function);
    tm_symbolizer_stats st;
    tm_symbolizer_get_stats(&st, s);
    assert_int_equal(st.modules, 1);
    assert_true(st.line_ranges > 100);
    tm_symbolizer_free(s);
}

static void test_lookup_missing(void **state)
{
    (void)state;
    tm_symbolizer *s;
    tm_error err = { 0 };
    assert_int_equal(tm_symbolizer_new(&s, NULL, &err), TM_OK);
    tm_sym_result r;
    assert_int_equal(tm_symbolizer_lookup(&r, s, "/nonexistent/x.so", 0x1000, &err), TM_OK);
    assert_int_equal(r.status, TM_SYMSTAT_MISSING);
    assert_int_equal(r.nframes, 1);
    assert_string_equal(r.frames[0].function, "");
    assert_int_equal(tm_symbolizer_lookup(&r, s, "/etc/hostname", 0x10, &err), TM_OK);
    assert_true(r.status == TM_SYMSTAT_UNREADABLE || r.status == TM_SYMSTAT_MISSING);
    const char *note = NULL;
    tm_symbolizer_file_note(&note, s, "/nonexistent/x.so");
    assert_non_null(note);
    assert_non_null(strstr(note, "/nonexistent/x.so"));
    tm_symbolizer_free(s);
}

static tm_snapshot *make_snapshot(int with_bad_modules)
{
    tm_error err = { 0 };
    tm_snapshot *snap;
    assert_int_equal(tm_snapshot_new(&snap, &err), TM_OK);
    tm_module m;
    memset(&m, 0, sizeof m);
    assert_int_equal(tm_snapshot_intern_string(&m.path, snap, self_path, strlen(self_path), &err),
                     TM_OK);
    uint32_t id;
    assert_int_equal(tm_snapshot_add_module(&id, snap, &m, &err), TM_OK);
    if (with_bad_modules) {
        const char *p = "/nonexistent/libgone.so";
        assert_int_equal(tm_snapshot_intern_string(&m.path, snap, p, strlen(p), &err), TM_OK);
        assert_int_equal(tm_snapshot_add_module(&id, snap, &m, &err), TM_OK);
        /* this executable again, with a build-id it does not have */
        assert_int_equal(
            tm_snapshot_intern_string(&m.path, snap, self_path, strlen(self_path), &err), TM_OK);
        m.build_id_len = 20;
        memset(m.build_id, 0xab, 20);
        assert_int_equal(tm_snapshot_add_module(&id, snap, &m, &err), TM_OK);
    }
    /* frame 0: return address just after the start of the marker function:
     * offset - 1 is inside it. */
    uint32_t nmod = with_bad_modules ? 3 : 1;
    for (uint32_t k = 0; k < nmod; k++) {
        tm_frame f = { k, 0, 0, 0, TM_NONE, 0, marker_offset() + 1 };
        uint32_t fid, sid;
        assert_int_equal(tm_snapshot_intern_frame(&fid, snap, &f, &err), TM_OK);
        assert_int_equal(tm_snapshot_intern_stack(&sid, snap, &fid, 1, &err), TM_OK);
        tm_trace t = { 100, sid, 0 };
        assert_int_equal(tm_snapshot_add_trace(snap, &t, 1, &err), TM_OK);
    }
    return snap;
}

static void test_snapshot(void **state)
{
    (void)state;
    tm_snapshot *snap = make_snapshot(1);
    tm_error err = { 0 };
    tm_symbolize_report *rep = NULL;
    assert_int_equal(tm_symbolize_snapshot(&rep, snap, NULL, &err), TM_OK);
    assert_non_null(rep);
    assert_int_equal(rep->nmodules, 3);
    assert_int_equal(rep->modules[0].status, TM_SYMSTAT_SYMBOLIZED);
    assert_int_equal(rep->modules[1].status, TM_SYMSTAT_MISSING);
    assert_int_equal(rep->modules[2].status, TM_SYMSTAT_MISMATCH);
    assert_non_null(rep->modules[2].note);
    assert_int_equal(rep->frames, 3);
    assert_int_equal(rep->frames_resolved, 1);
    const tm_frame *f = &tm_snapshot_frames(snap)[0];
    while (f->inlined_by != TM_NONE)
        f = &tm_snapshot_frames(snap)[f->inlined_by];
    assert_string_equal(tm_snapshot_string(snap, f->function, NULL), "symtest_marker_function");
    assert_int_equal(tm_snapshot_frames(snap)[1].function, 0);
    assert_int_equal(tm_snapshot_frames(snap)[2].function, 0);
    tm_symbolize_report_free(rep);
    /* a second run changes nothing: frames with a function are skipped */
    size_t nframes = tm_snapshot_frame_count(snap);
    assert_int_equal(tm_symbolize_snapshot(&rep, snap, NULL, &err), TM_OK);
    assert_int_equal(rep->frames, 2);
    assert_int_equal(tm_snapshot_frame_count(snap), nframes);
    tm_symbolize_report_free(rep);
    tm_snapshot_free(snap);
}

static void test_bad_options(void **state)
{
    (void)state;
    tm_symbolize_options o = TM_SYMBOLIZE_OPTIONS_INIT;
    o.version = 99;
    tm_symbolizer *s;
    tm_error err = { 0 };
    assert_int_equal(tm_symbolizer_new(&s, &o, &err), TM_EINVAL);
    assert_non_null(strstr(err.message, "version"));
}

/* Every allocation failure in indexing and snapshot symbolization is
 * reported as TM_ENOMEM and leaks nothing (ASan checks). */
static void test_out_of_memory(void **state)
{
    (void)state;
    int failures = 0, successes = 0;
    for (unsigned long n = 1; n < 4000; n += (n < 60 ? 1 : n / 7)) {
        tm_snapshot *snap = make_snapshot(0);
        tm_error err = { 0 };
        tm_symbolize_report *rep = NULL;
        tm_alloc_fail_after(n);
        int rc = tm_symbolize_snapshot(&rep, snap, NULL, &err);
        tm_alloc_fail_after(0);
        if (rc == TM_OK) {
            successes++;
            tm_symbolize_report_free(rep);
        } else {
            assert_int_equal(rc, TM_ENOMEM);
            assert_null(rep);
            failures++;
        }
        tm_snapshot_free(snap);
    }
    assert_true(failures > 10);
    assert_true(successes > 0);
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void write_all(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

static int symbolize_file(const char *path, int *statuses)
{
    tm_symbolizer *s;
    tm_error err = { 0 };
    assert_int_equal(tm_symbolizer_new(&s, NULL, &err), TM_OK);
    tm_sym_result r;
    uint64_t probes[3] = { marker_offset(), marker_offset() + 4, 0x1000 };
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tm_symbolizer_lookup(&r, s, path, probes[i], &err), TM_OK);
        assert_true(r.nframes >= 1 && r.nframes <= TM_SYM_MAX_INLINE);
        for (size_t k = 0; k < r.nframes; k++) {
            assert_non_null(r.frames[k].function);
            assert_non_null(r.frames[k].file);
        }
    }
    statuses[r.status]++;
    const char *note = NULL;
    int st = tm_symbolizer_file_note(&note, s, path);
    if (st != TM_SYMSTAT_SYMBOLIZED)
        assert_non_null(note);
    tm_symbolizer_free(s);
    return r.status;
}

/* Truncates this executable at many offsets and overwrites bytes at many
 * others (ELF header, section headers, DWARF sections, string tables). */
static void test_corrupt_files(void **state)
{
    (void)state;
    size_t len;
    unsigned char *orig = read_all(self_path, &len);
    char tmp[] = "/tmp/tm-symcorrupt.XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    close(fd);
    int statuses[8] = { 0 };
    unsigned char *buf = malloc(len);
    assert_non_null(buf);
    uint64_t rng = 0x243f6a8885a308d3ull;
    int runs = getenv("TM_SANITIZE") && strcmp(getenv("TM_SANITIZE"), "1") == 0 ? 40 : 80;
    for (int i = 0; i < runs; i++) {
        size_t cut = (size_t)((double)len * i / runs);
        write_all(tmp, orig, cut);
        symbolize_file(tmp, statuses);
    }
    for (int i = 0; i < runs; i++) {
        memcpy(buf, orig, len);
        /* a burst of random bytes at a random place, more often near the
         * start (headers) */
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        size_t at = i % 4 == 0 ? rng % 256 : rng % len;
        for (size_t k = 0; k < 16 && at + k < len; k++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            buf[at + k] = (unsigned char)rng;
        }
        write_all(tmp, buf, len);
        symbolize_file(tmp, statuses);
    }
    /* the intact file symbolizes; truncated ones were found unreadable */
    write_all(tmp, orig, len);
    assert_int_equal(symbolize_file(tmp, statuses), TM_SYMSTAT_SYMBOLIZED);
    assert_true(statuses[TM_SYMSTAT_UNREADABLE] > 0);
    unlink(tmp);
    free(buf);
    free(orig);
}

/* --- .debug_line decoder ------------------------------------------------- */

typedef struct bytes {
    unsigned char b[512];
    size_t n;
} bytes;
static void put(bytes *o, const void *p, size_t n)
{
    memcpy(o->b + o->n, p, n);
    o->n += n;
}
static void put1(bytes *o, unsigned v)
{
    o->b[o->n++] = (unsigned char)v;
}
static void put_le(bytes *o, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        put1(o, (unsigned)(v >> (8 * i)) & 0xff);
}
static void put_str(bytes *o, const char *s)
{
    put(o, s, strlen(s) + 1);
}

static const unsigned char std_lens[12] = { 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1 };

/* unit_length and header_length are patched in at the marks */
static void finish_unit(bytes *o, size_t hdr_len_at, size_t prog_at)
{
    uint32_t unit = (uint32_t)(o->n - 4), hdr = (uint32_t)(prog_at - hdr_len_at - 4);
    memcpy(o->b, &unit, 4);
    memcpy(o->b + hdr_len_at, &hdr, 4);
}

static void common_params(bytes *o)
{
    put1(o, 1);
    put1(o, 1);
    put1(o, 1); /* min_inst, max_ops, default_is_stmt */
    put1(o, (unsigned char)-5);
    put1(o, 14);
    put1(o, 13);
    put(o, std_lens, sizeof std_lens);
}

/* DWARF 4: include dirs, files in three kinds of directories, a same-address
 * row that must win, a special opcode, and end_sequence. */
static void make_v4(bytes *o)
{
    o->n = 0;
    put_le(o, 0, 4);
    put_le(o, 4, 2);
    size_t hl = o->n;
    put_le(o, 0, 4);
    common_params(o);
    put_str(o, "inc");
    put_str(o, "/abs");
    put1(o, 0);
    put_str(o, "a.c");
    put1(o, 0);
    put1(o, 0);
    put1(o, 0);
    put_str(o, "b.h");
    put1(o, 1);
    put1(o, 0);
    put1(o, 0);
    put_str(o, "c.h");
    put1(o, 2);
    put1(o, 0);
    put1(o, 0);
    put_str(o, "/x/d.c");
    put1(o, 1);
    put1(o, 0);
    put1(o, 0);
    put1(o, 0);
    size_t prog = o->n;
    put1(o, 0);
    put1(o, 9);
    put1(o, 2);
    put_le(o, 0x1000, 8); /* set_address */
    put1(o, 1);           /* copy: a.c:1 */
    put1(o, 2);
    put1(o, 4);
    put1(o, 3);
    put1(o, 9);
    put1(o, 1); /* 0x1004 a.c:10 */
    put1(o, 4);
    put1(o, 2);
    put1(o, 1);  /* same address: b.h:10 */
    put1(o, 47); /* +2, +1: 0x1006 b.h:11 */
    put1(o, 4);
    put1(o, 4);
    put1(o, 2);
    put1(o, 2);
    put1(o, 1); /* 0x1008 d.c:11 */
    put1(o, 2);
    put1(o, 4);
    put1(o, 0);
    put1(o, 1);
    put1(o, 1); /* end at 0x100c */
    finish_unit(o, hl, prog);
}

/* DWARF 5: directories through .debug_line_str, file 0 in directory 0 (the
 * compilation directory itself), the initial file register (1). */
static void make_v5(bytes *o)
{
    o->n = 0;
    put_le(o, 0, 4);
    put_le(o, 5, 2);
    put1(o, 8);
    put1(o, 0);
    size_t hl = o->n;
    put_le(o, 0, 4);
    common_params(o);
    put1(o, 1);
    put1(o, 1);
    put1(o, 0x1f); /* path: line_strp */
    put1(o, 2);
    put_le(o, 0, 4);
    put_le(o, 7, 4);
    put1(o, 2);
    put1(o, 1);
    put1(o, 0x08);
    put1(o, 2);
    put1(o, 0x0f);
    put1(o, 2);
    put_str(o, "m.c");
    put1(o, 0);
    put_str(o, "h.h");
    put1(o, 1);
    size_t prog = o->n;
    put1(o, 0);
    put1(o, 9);
    put1(o, 2);
    put_le(o, 0x2000, 8);
    put1(o, 1); /* h.h:1 */
    put1(o, 4);
    put1(o, 0);
    put1(o, 2);
    put1(o, 3);
    put1(o, 1); /* 0x2003 m.c:1 */
    put1(o, 2);
    put1(o, 1);
    put1(o, 0);
    put1(o, 1);
    put1(o, 1); /* end at 0x2004 */
    finish_unit(o, hl, prog);
}

static const char line_str[] = "/comp5\0sub";

/* string sections for decode(): the hand-made programs' by default */
static sym_line_input strs = { NULL, 0,    (const uint8_t *)line_str, sizeof line_str, NULL, 0, 0,
                               8,    "/cu" };

static int decode(const unsigned char *p, size_t n, sym_index *ix, char *note, size_t notecap)
{
    sym_line_input in = strs;
    in.line = p;
    in.line_size = n;
    sym_line_files f;
    int rc = sym_lines_read(&in, 0, ix, &f, note, notecap);
    for (size_t i = 0; i < f.nfiles; i++)
        assert_true(f.files[i] < ix->strings.len);
    tm_free(f.files);
    return rc;
}

static void expect(const sym_index *ix, uint64_t a, const char *file, uint32_t line)
{
    tm_sym_result r;
    sym_index_lookup(ix, a, &r);
    assert_string_equal(r.frames[0].file, file);
    assert_int_equal(r.frames[0].line, line);
}

static void test_line_program(void **state)
{
    (void)state;
    bytes b;
    char note[SYM_NOTE_MAX];
    sym_index ix;
    make_v4(&b);
    assert_int_equal(sym_index_init(&ix), TM_OK);
    assert_int_equal(decode(b.b, b.n, &ix, note, sizeof note), TM_OK);
    assert_int_equal(ix.nlines, 4);
    assert_int_equal(sym_index_finish(&ix), TM_OK);
    expect(&ix, 0x1000, "/cu/a.c", 1);
    expect(&ix, 0x1003, "/cu/a.c", 1);
    expect(&ix, 0x1004, "/cu/inc/b.h", 10);
    expect(&ix, 0x1006, "/cu/inc/b.h", 11);
    expect(&ix, 0x100b, "/x/d.c", 11);
    expect(&ix, 0x100c, "", 0);
    sym_index_free(&ix);

    make_v5(&b);
    assert_int_equal(sym_index_init(&ix), TM_OK);
    assert_int_equal(decode(b.b, b.n, &ix, note, sizeof note), TM_OK);
    assert_int_equal(sym_index_finish(&ix), TM_OK);
    expect(&ix, 0x2000, "/cu/sub/h.h", 1);
    expect(&ix, 0x2003, "/comp5/m.c", 1);
    expect(&ix, 0x2004, "", 0);
    sym_index_free(&ix);
}

/* Decodes p[0..n) copied into a buffer of exactly n bytes. */
static int decode_exact(const unsigned char *p, size_t n, char *note)
{
    unsigned char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, p, n);
    sym_index ix;
    assert_int_equal(sym_index_init(&ix), TM_OK);
    note[0] = '\0';
    int rc = decode(copy, n, &ix, note, SYM_NOTE_MAX);
    assert_true(rc == TM_OK || rc == TM_EFORMAT);
    if (rc == TM_EFORMAT)
        assert_non_null(strstr(note, ".debug_line at offset"));
    sym_index_free(&ix);
    free(copy);
    return rc;
}

static void torture(const unsigned char *p, size_t n, int flips, int whole)
{
    char note[SYM_NOTE_MAX];
    int bad = 0;
    for (size_t cut = 0; cut < n; cut++)
        bad += decode_exact(p, cut, note) == TM_EFORMAT;
    assert_true(bad > 0);
    if (whole)
        assert_int_equal(decode_exact(p, n, note), TM_OK);
    unsigned char *buf = malloc(n);
    assert_non_null(buf);
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < flips; i++) {
        memcpy(buf, p, n);
        for (int k = 0; k < 1 + i % 3; k++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            buf[rng % n] = (unsigned char)(rng >> 32);
        }
        decode_exact(buf, n, note);
    }
    free(buf);
}

static void test_line_program_malformed(void **state)
{
    (void)state;
    bytes b;
    make_v4(&b);
    torture(b.b, b.n, 3000, 1);
    make_v5(&b);
    torture(b.b, b.n, 3000, 1);
    /* this executable's own first line program (gcc or clang output) */
    sym_elf *e;
    char note[SYM_NOTE_MAX];
    assert_int_equal(sym_elf_open(self_path, &e, note, sizeof note), TM_OK);
    size_t idx = sym_elf_find(e, ".debug_line");
    assert_true(idx != SIZE_MAX);
    assert_int_equal(sym_elf_load(e, idx, note, sizeof note), TM_OK);
    const unsigned char *p = e->sections[idx].data;
    size_t n = e->sections[idx].size;
    const char *secs[2] = { ".debug_line_str", ".debug_str" };
    for (int i = 0; i < 2; i++) {
        size_t k = sym_elf_find(e, secs[i]);
        if (k == SIZE_MAX)
            continue;
        assert_int_equal(sym_elf_load(e, k, note, sizeof note), TM_OK);
        if (i == 0) {
            strs.line_str = e->sections[k].data;
            strs.line_str_size = e->sections[k].size;
        } else {
            strs.str = e->sections[k].data;
            strs.str_size = e->sections[k].size;
        }
    }
    assert_true(n > 4);
    uint32_t unit;
    memcpy(&unit, p, 4);
    size_t first = unit + 4u < n ? unit + 4u : n;
    /* truncations far into the program are all alike */
    torture(p, first > 4096 ? 4096 : first, 500, first <= 4096);
    sym_elf_close(e);
    strs = (sym_line_input){ NULL, 0,    (const uint8_t *)line_str, sizeof line_str, NULL, 0, 0,
                             8,    "/cu" };
}

int main(void)
{
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n <= 0)
        return 1;
    self_path[n] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_self),   cmocka_unit_test(test_lookup_missing),
        cmocka_unit_test(test_snapshot),      cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_out_of_memory), cmocka_unit_test(test_corrupt_files),
        cmocka_unit_test(test_line_program),  cmocka_unit_test(test_line_program_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
