/*
 * Fuzz target for the tmstat / tmdiff command line (tm_report_main): option
 * parsing, filters, keys, output formats and the --fail-on-growth gate.
 *
 * Input layout: byte 0 is a mode byte (bit 0: tmdiff instead of tmstat;
 * bit 1: stdout is /dev/full, to exercise the write-error path), the rest
 * is argv[1..] split at NUL bytes (at most 64 arguments).
 *
 * No file is ever opened by name: the loader passed to tm_report_main maps
 * the snapshot arguments "A", "B", "E" and "S" (A's stacks as a sample,
 * one per 4 KiB: estimates and standard errors) to fixtures held in memory
 * (decoded from .tms bytes encoded once at start-up, so every load is a
 * fresh snapshot that tm_report_main owns and frees) and fails for any
 * other name with a "no such fixture" error, as a missing file would.
 * Frame file names point nowhere except this source file, so --by
 * traceback may read source lines, but only from here.
 *
 * Run the real fuzzer with -close_fd_mask=2 to silence usage messages.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "tm/tms.h"

enum { MAX_ARGS = 64 };

enum { NFIXTURES = 4 };
static void *fixture_data[NFIXTURES];
static size_t fixture_len[NFIXTURES];
static int null_fd = -1, full_fd = -1;

static uint32_t str_id(tm_snapshot *s, const char *text)
{
    uint32_t id = 0;
    if (tm_snapshot_intern_string(&id, s, text, strlen(text), NULL) != TM_OK)
        abort();
    return id;
}

/* A small snapshot with native (symbolized, inlined, unknown) and Python
 * frames in three domains; `scale` changes sizes so that A and B differ. */
static tm_snapshot *make_fixture(int scale, int ntraces)
{
    tm_snapshot *s;
    if (tm_snapshot_new(&s, NULL) != TM_OK)
        abort();
    tm_module m = { 0 };
    m.path = str_id(s, "/usr/lib/libfuzz.so");
    m.start = 0x1000;
    m.end = 0x9000;
    uint32_t mod;
    if (tm_snapshot_add_module(&mod, s, &m, NULL) != TM_OK)
        abort();
    const char *files[] = { "/nonexistent/tmfuzz/a.c", "dir/b.c", "x.py", __FILE__, "" };
    const char *funcs[] = { "main", "alloc_node", "_ZN3foo3barEv", "parse", "" };
    uint32_t frames[12];
    for (int i = 0; i < 12; i++) {
        tm_frame f = { 0 };
        f.module = i % 3 == 2 ? TM_NONE : mod;
        f.function = str_id(s, funcs[i % 5]);
        f.file = str_id(s, files[i % 5]);
        f.line = (uint32_t)(i * 7 % 40);
        f.inlined_by = i == 5 ? frames[4] : TM_NONE;
        f.offset = 0x1100 + (uint64_t)i * 0x10;
        if (tm_snapshot_intern_frame(&frames[i], s, &f, NULL) != TM_OK)
            abort();
    }
    for (int t = 0; t < ntraces; t++) {
        uint32_t st[6];
        size_t depth = 1 + (size_t)(t % 6);
        for (size_t k = 0; k < depth; k++)
            st[k] = frames[(size_t)(t * 5 + (int)k * 3) % 12];
        tm_trace tr = { 0 };
        if (tm_snapshot_intern_stack(&tr.stack, s, st, depth, NULL) != TM_OK)
            abort();
        tr.size = (uint64_t)(t * 37 % 500) * (uint64_t)scale + (uint64_t)(t % 3) * 100000u;
        tr.domain = (uint32_t)(t % 7 == 0 ? 5 : t % 4 == 0);
        if (tm_snapshot_add_trace(s, &tr, (uint32_t)depth + (uint32_t)(t % 2), NULL) != TM_OK)
            abort();
    }
    return s;
}

static void init_once(void)
{
    if (null_fd >= 0)
        return;
    tm_snapshot *snaps[NFIXTURES] = { make_fixture(1, 60), make_fixture(3, 45), make_fixture(1, 0),
                                      make_fixture(2, 50) };
    tm_metadata md = *tm_snapshot_metadata(snaps[3]);
    md.sample_rate = 4096;
    if (tm_snapshot_set_metadata(snaps[3], &md, NULL) != TM_OK)
        abort();
    for (int i = 0; i < NFIXTURES; i++) {
        if (tm_tms_encode(&fixture_data[i], &fixture_len[i], snaps[i], NULL, NULL) != TM_OK)
            abort();
        tm_snapshot_free(snaps[i]);
    }
    null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    full_fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
    if (null_fd < 0)
        abort();
    fflush(stdout);
    dup2(null_fd, STDOUT_FILENO);
}

static int fixture_loader(const char *path, tm_snapshot **out, tm_error *err)
{
    *out = NULL;
    int k = strcmp(path, "A") == 0 ? 0
        : strcmp(path, "B") == 0   ? 1
        : strcmp(path, "E") == 0   ? 2
        : strcmp(path, "S") == 0   ? 3
                                   : -1;
    if (k < 0)
        return tm_error_set(err, TM_ENOTFOUND, "%s: no such fixture", path);
    return tm_tms_decode(out, fixture_data[k], fixture_len[k], path, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    if (size == 0)
        return 0;
    int mode = data[0];
    /* argv strings must be NUL-terminated and writable: one copy. */
    char *buf = malloc(size);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = (mode & 1) ? "tmdiff" : "tmstat";
    for (size_t pos = 0; pos < size - 1 && argc <= MAX_ARGS;) {
        argv[argc++] = buf + pos;
        pos += strlen(buf + pos) + 1;
    }
    argv[argc] = NULL;

    int use_full = (mode & 2) && full_fd >= 0;
    if (use_full)
        dup2(full_fd, STDOUT_FILENO);
    int rc = tm_report_main(argc, argv, mode & 1, fixture_loader);
    fflush(stdout);
    clearerr(stdout);
    if (use_full)
        dup2(null_fd, STDOUT_FILENO);
    /* The documented exit codes are the whole contract of a run; 1 only
     * when a gate (--fail-on-growth, --fail-above) was asked for. */
    if (rc != 0 && rc != 1 && rc != 2)
        abort();
    int gate = 0;
    for (int i = 1; i < argc; i++)
        gate |= strncmp(argv[i], "--fail-", 7) == 0;
    free(buf);
    if (rc == 1 && !gate)
        abort();
    return 0;
}
