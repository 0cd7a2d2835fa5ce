/*
 * A writer to kill: builds two large, different snapshots (variants 0 and 1)
 * and writes them with tm_snapshot_write (fsync on), for the crash tests in
 * tests/cli/fault_kill_writer.sh.
 *
 *   fault_writer loop PATH         write variant 0, 1, 0, ... to PATH forever
 *   fault_writer once PATH V       write variant V once
 *   fault_writer check PATH        read PATH; exit 0 and print the variant if
 *                                  it is exactly one of them, else exit 3
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm/snapshot.h"
#include "tm/tms.h"

static void die(const char *what, const tm_error *err)
{
    fprintf(stderr, "fault_writer: %s: %s\n", what, err->message);
    exit(2);
}

static tm_snapshot *variant(int v)
{
    tm_error err;
    tm_snapshot *s;
    if (tm_snapshot_new(&s, &err))
        die("new", &err);
    uint32_t files[64], frames[512];
    for (int i = 0; i < 64; i++) {
        char name[64];
        int n = snprintf(name, sizeof name, "src/module_%d/file_%d.c", i % 7, i);
        if (tm_snapshot_intern_string(s, name, (size_t)n, &files[i], &err))
            die("string", &err);
    }
    for (int i = 0; i < 512; i++) {
        tm_frame f = { 0 };
        f.module = TM_NONE;
        f.file = files[i % 64];
        f.line = (uint32_t)(i * 31 % 997 + 1);
        f.inlined_by = TM_NONE;
        if (tm_snapshot_intern_frame(s, &f, &frames[i], &err))
            die("frame", &err);
    }
    tm_metadata md = { 0 };
    md.nframe_limit = 16;
    md.sequence = (uint32_t)v;
    if (tm_snapshot_set_metadata(s, &md, &err))
        die("metadata", &err);
    size_t ntraces = v ? 150000 : 200000;
    uint64_t x = 0x9e3779b97f4a7c15ull + (uint64_t)v;
    for (size_t t = 0; t < ntraces; t++) {
        uint32_t st[16];
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t depth = 1 + x % 16;
        for (size_t k = 0; k < depth; k++)
            st[k] = frames[(x >> (k * 3)) % 512];
        tm_trace tr = { 0 };
        if (tm_snapshot_intern_stack(s, st, depth, &tr.stack, &err))
            die("stack", &err);
        tr.size = (x >> 20) % 4096 + 1;
        tr.total_nframe = (uint32_t)depth;
        if (tm_snapshot_add_trace(s, &tr, &err))
            die("trace", &err);
    }
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: fault_writer loop|once|check PATH [V]\n");
        return 2;
    }
    const char *mode = argv[1], *path = argv[2];
    tm_error err;
    if (strcmp(mode, "check") == 0) {
        tm_snapshot *got;
        if (tm_snapshot_read(&got, path, &err))
            die("read", &err);
        int v = (int)tm_snapshot_metadata(got)->sequence;
        int ok = 0;
        if (v == 0 || v == 1) {
            tm_snapshot *want = variant(v);
            ok = tm_snapshot_trace_count(got) == tm_snapshot_trace_count(want) &&
                 tm_snapshot_total_size(got) == tm_snapshot_total_size(want) &&
                 tm_snapshot_stack_count(got) == tm_snapshot_stack_count(want);
            tm_snapshot_free(want);
        }
        tm_snapshot_free(got);
        if (!ok) {
            fprintf(stderr, "fault_writer: %s: not one of the written snapshots\n", path);
            return 3;
        }
        printf("%d\n", v);
        return 0;
    }
    tm_snapshot *s[2] = { variant(0), variant(1) };
    tm_write_options o = TM_WRITE_OPTIONS_INIT;   /* fsync on: the real thing */
    int rc = 0;
    if (strcmp(mode, "once") == 0) {
        int v = argc > 3 && argv[3][0] == '1';
        if (tm_snapshot_write(s[v], path, &o, &err)) {
            fprintf(stderr, "fault_writer: %s\n", err.message);
            rc = 2;
        }
    } else {
        for (unsigned long i = 0;; i++)
            if (tm_snapshot_write(s[i % 2], path, &o, &err))
                die("write", &err);
    }
    tm_snapshot_free(s[0]);
    tm_snapshot_free(s[1]);
    return rc;
}
