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
    return 1;   /* the first entry is the main program */
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
    tm_error err = {0};
    assert_int_equal(tm_symbolizer_new(&s, NULL, &err), TM_OK);
    tm_sym_result r;
    assert_int_equal(tm_symbolizer_lookup(s, self_path, marker_offset() + 1, &r, &err), TM_OK);
    assert_int_equal(r.status, TM_SYMSTAT_SYMBOLIZED);
    assert_string_equal(r.frames[r.nframes - 1].function, "symtest_marker_function");
    assert_non_null(strstr(r.frames[0].file, "test_symbolize.c"));
    assert_true(r.frames[0].line >= 27 && r.frames[0].line <= 31);
    /* cached: a second lookup gives identical pointers */
    tm_sym_result r2;
    assert_int_equal(tm_symbolizer_lookup(s, self_path, marker_offset() + 1, &r2, &err), TM_OK);
    assert_ptr_equal(r.frames[0].function, r2.frames[0].function);
    tm_symbolizer_stats st;
    tm_symbolizer_get_stats(s, &st);
    assert_int_equal(st.modules, 1);
    assert_true(st.line_ranges > 100);
    tm_symbolizer_free(s);
}

static void test_lookup_missing(void **state)
{
    (void)state;
    tm_symbolizer *s;
    tm_error err = {0};
    assert_int_equal(tm_symbolizer_new(&s, NULL, &err), TM_OK);
    tm_sym_result r;
    assert_int_equal(tm_symbolizer_lookup(s, "/nonexistent/x.so", 0x1000, &r, &err), TM_OK);
    assert_int_equal(r.status, TM_SYMSTAT_MISSING);
    assert_int_equal(r.nframes, 1);
    assert_string_equal(r.frames[0].function, "");
    assert_int_equal(tm_symbolizer_lookup(s, "/etc/hostname", 0x10, &r, &err), TM_OK);
    assert_true(r.status == TM_SYMSTAT_UNREADABLE || r.status == TM_SYMSTAT_MISSING);
    const char *note = NULL;
    tm_symbolizer_file_note(s, "/nonexistent/x.so", &note);
    assert_non_null(note);
    assert_non_null(strstr(note, "/nonexistent/x.so"));
    tm_symbolizer_free(s);
}

static tm_snapshot *make_snapshot(int with_bad_modules)
{
    tm_error err = {0};
    tm_snapshot *snap;
    assert_int_equal(tm_snapshot_new(&snap, &err), TM_OK);
    tm_module m;
    memset(&m, 0, sizeof m);
    assert_int_equal(tm_snapshot_intern_string(snap, self_path, strlen(self_path), &m.path, &err), TM_OK);
    uint32_t id;
    assert_int_equal(tm_snapshot_add_module(snap, &m, &id, &err), TM_OK);
    if (with_bad_modules) {
        const char *p = "/nonexistent/libgone.so";
        assert_int_equal(tm_snapshot_intern_string(snap, p, strlen(p), &m.path, &err), TM_OK);
        assert_int_equal(tm_snapshot_add_module(snap, &m, &id, &err), TM_OK);
        /* this executable again, with a build-id it does not have */
        assert_int_equal(tm_snapshot_intern_string(snap, self_path, strlen(self_path), &m.path, &err), TM_OK);
        m.build_id_len = 20;
        memset(m.build_id, 0xab, 20);
        assert_int_equal(tm_snapshot_add_module(snap, &m, &id, &err), TM_OK);
    }
    /* frame 0: return address just after the start of the marker function:
     * offset - 1 is inside it. */
    uint32_t nmod = with_bad_modules ? 3 : 1;
    for (uint32_t k = 0; k < nmod; k++) {
        tm_frame f = {k, 0, 0, 0, TM_NONE, 0, marker_offset() + 1};
        uint32_t fid, sid;
        assert_int_equal(tm_snapshot_intern_frame(snap, &f, &fid, &err), TM_OK);
        assert_int_equal(tm_snapshot_intern_stack(snap, &fid, 1, &sid, &err), TM_OK);
        tm_trace t = {100, sid, 0, 1, 0};
        assert_int_equal(tm_snapshot_add_trace(snap, &t, &err), TM_OK);
    }
    return snap;
}

static void test_snapshot(void **state)
{
    (void)state;
    tm_snapshot *snap = make_snapshot(1);
    tm_error err = {0};
    tm_symbolize_report *rep = NULL;
    assert_int_equal(tm_symbolize_snapshot(snap, NULL, &rep, &err), TM_OK);
    assert_non_null(rep);
    assert_int_equal(rep->nmodules, 3);
    assert_int_equal(rep->modules[0].status, TM_SYMSTAT_SYMBOLIZED);
    assert_int_equal(rep->modules[1].status, TM_SYMSTAT_MISSING);
    assert_int_equal(rep->modules[2].status, TM_SYMSTAT_MISMATCH);
    assert_non_null(rep->modules[2].note);
    assert_int_equal(rep->frames, 3);
    assert_int_equal(rep->frames_resolved, 1);
    const tm_frame *f = &tm_snapshot_frames(snap)[0];
    while (f->inlined_by != TM_NONE) f = &tm_snapshot_frames(snap)[f->inlined_by];
    assert_string_equal(tm_snapshot_string(snap, f->function, NULL), "symtest_marker_function");
    assert_int_equal(tm_snapshot_frames(snap)[1].function, 0);
    assert_int_equal(tm_snapshot_frames(snap)[2].function, 0);
    tm_symbolize_report_free(rep);
    /* a second run changes nothing: frames with a function are skipped */
    size_t nframes = tm_snapshot_frame_count(snap);
    assert_int_equal(tm_symbolize_snapshot(snap, NULL, &rep, &err), TM_OK);
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
    tm_error err = {0};
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
        tm_error err = {0};
        tm_symbolize_report *rep = NULL;
        tm_alloc_fail_after(n);
        int rc = tm_symbolize_snapshot(snap, NULL, &rep, &err);
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
    tm_error err = {0};
    assert_int_equal(tm_symbolizer_new(&s, NULL, &err), TM_OK);
    tm_sym_result r;
    uint64_t probes[3] = {marker_offset(), marker_offset() + 4, 0x1000};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tm_symbolizer_lookup(s, path, probes[i], &r, &err), TM_OK);
        assert_true(r.nframes >= 1 && r.nframes <= TM_SYM_MAX_INLINE);
        for (size_t k = 0; k < r.nframes; k++) {
            assert_non_null(r.frames[k].function);
            assert_non_null(r.frames[k].file);
        }
    }
    statuses[r.status]++;
    const char *note = NULL;
    int st = tm_symbolizer_file_note(s, path, &note);
    if (st != TM_SYMSTAT_SYMBOLIZED) assert_non_null(note);
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
    int statuses[8] = {0};
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
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
        size_t at = i % 4 == 0 ? rng % 256 : rng % len;
        for (size_t k = 0; k < 16 && at + k < len; k++) {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
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

int main(void)
{
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n <= 0) return 1;
    self_path[n] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_self),
        cmocka_unit_test(test_lookup_missing),
        cmocka_unit_test(test_snapshot),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_corrupt_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
