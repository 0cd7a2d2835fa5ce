/*
 * .tms size and speed on a realistic snapshot: thousands of unique stacks
 * sharing prefixes, 5-30 frames, skewed stack popularity, mixed sizes.
 *
 *   format_bench [--smoke] [--traces N] [--random-sizes] [--dir DIR] [--keep FILE]
 *
 * --smoke runs a small N and fails (exit 1) if the round trip is not exact
 * or the size target is missed; CI runs it.  The full run (1 M traces) is
 * manual.  --keep FILE leaves the snapshot there, for tests/bench/big_snapshot.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tm/tms.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static uint64_t below(uint64_t n)
{
    return next() % n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void check(int rc, const tm_error *err)
{
    if (rc) {
        fprintf(stderr, "format_bench: %s\n", err->message);
        exit(2);
    }
}

static uint32_t intern(tm_snapshot *s, const char *p)
{
    uint32_t id;
    tm_error err;
    check(tm_snapshot_intern_string(&id, s, p, strlen(p), &err), &err);
    return id;
}

static tm_snapshot *build(size_t ntraces, size_t nleaf, int random_sizes)
{
    tm_snapshot *s;
    tm_error err;
    check(tm_snapshot_new(&s, &err), &err);
    char buf[128];
    enum { NMOD = 24, NFILES = 600, NFUNCS = 4000, NFRAMES = 12000, NPREFIX = 300 };
    for (int i = 0; i < NMOD; i++) {
        tm_module m;
        memset(&m, 0, sizeof m);
        snprintf(buf, sizeof buf, "/usr/lib/x86_64-linux-gnu/libmod%d.so.%d", i, i % 7);
        m.path = intern(s, buf);
        m.build_id_len = 20;
        for (int k = 0; k < 20; k++)
            m.build_id[k] = (uint8_t)next();
        m.load_bias = 0x7f0000000000ull + ((uint64_t)i << 24);
        m.start = m.load_bias + 0x1000;
        m.end = m.start + (1u << 22);
        uint32_t id;
        check(tm_snapshot_add_module(&id, s, &m, &err), &err);
    }
    uint32_t *files = malloc(NFILES * sizeof *files), *funcs = malloc(NFUNCS * sizeof *funcs);
    for (int i = 0; i < NFILES; i++) {
        snprintf(buf, sizeof buf, "/build/project/src/component%d/file_%d.cc", i % 40, i);
        files[i] = intern(s, buf);
    }
    for (int i = 0; i < NFUNCS; i++) {
        snprintf(buf, sizeof buf, "ns%d::Class%d::method_%d(int, std::string const&)", i % 13,
                 i % 211, i);
        funcs[i] = intern(s, buf);
    }
    uint32_t *frames = malloc(NFRAMES * sizeof *frames);
    for (int i = 0; i < NFRAMES; i++) {
        tm_frame f = { .module = (uint32_t)below(NMOD),
                       .offset = below(1u << 22),
                       .inlined_by = TM_NONE };
        if (below(10) < 8) { /* most frames symbolized */
            f.function = funcs[below(NFUNCS)];
            f.file = files[below(NFILES)];
            f.line = 1 + (uint32_t)below(3000);
        }
        check(tm_snapshot_intern_frame(&frames[i], s, &f, &err), &err);
    }
    /* Call paths share prefixes: main -> a few subsystems -> leaves. */
    uint32_t *prefix = malloc(NPREFIX * sizeof *prefix);
    for (int i = 0; i < NPREFIX; i++) {
        uint32_t fr[16];
        size_t depth = 3 + below(10);
        for (size_t k = 0; k < depth; k++)
            fr[k] = frames[(k * 131 + below(k < 3 ? 4 : NFRAMES)) % NFRAMES];
        check(tm_snapshot_intern_stack(&prefix[i], s, fr, depth, &err), &err);
    }
    uint32_t *leaf = malloc(nleaf * sizeof *leaf);
    for (size_t i = 0; i < nleaf; i++) {
        uint32_t node = prefix[below(NPREFIX)];
        size_t extra = 2 + below(17);
        for (size_t k = 0; k < extra; k++)
            check(tm_snapshot_intern_stack_node(&node, s, node, frames[below(NFRAMES)], &err),
                  &err);
        leaf[i] = node;
    }
    check(tm_snapshot_reserve_traces(s, ntraces, &err), &err);
    const tm_stack_node *st = tm_snapshot_stacks(s);
    static const uint64_t common[] = { 8, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024, 4096 };
    for (size_t i = 0; i < ntraces; i++) {
        /* Skewed popularity: a few stacks hold most traces. */
        uint64_t r = below(nleaf);
        size_t li = (size_t)(r * r / nleaf * r / nleaf);
        tm_trace t = { .stack = leaf[li], .domain = below(100) ? 0 : 1 + (uint32_t)below(3) };
        uint64_t typical = common[(leaf[li] * 2654435761u >> 8) % 12];
        uint64_t pick = below(100);
        t.size = pick < 70 ? typical : pick < 95 ? common[below(12)] : 1 + below(1u << 20);
        if (random_sizes) /* worst case: no size repeats */
            t.size = 1 + below(1u << 20);
        uint32_t tnf = st[t.stack].depth + (below(50) ? 0 : (uint32_t)below(40));
        check(tm_snapshot_add_trace(s, &t, tnf, &err), &err);
    }
    tm_metadata md = *tm_snapshot_metadata(s);
    md.program = intern(s, "/usr/bin/bench-program");
    md.trigger = intern(s, "exit");
    md.nframe_limit = 64;
    md.pid = 4242;
    check(tm_snapshot_set_metadata(s, &md, &err), &err);
    free(files);
    free(funcs);
    free(frames);
    free(prefix);
    free(leaf);
    return s;
}

int main(int argc, char **argv)
{
    size_t ntraces = 1000000, nleaf = 5000;
    const char *dir = "/tmp", *keep = NULL;
    int smoke = 0, random_sizes = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--smoke")) {
            smoke = 1;
            ntraces = 20000;
            nleaf = 1000;
        } else if (!strcmp(argv[i], "--traces") && i + 1 < argc) {
            ntraces = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--random-sizes")) {
            random_sizes = 1;
        } else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(argv[i], "--keep") && i + 1 < argc) {
            keep = argv[++i];
        } else {
            fprintf(stderr,
                    "usage: format_bench [--smoke] [--traces N] [--random-sizes] [--dir DIR] "
                    "[--keep FILE]\n");
            return 2;
        }
    }
    tm_snapshot *s = build(ntraces, nleaf, random_sizes);
    char path[512];
    snprintf(path, sizeof path, "%s/format_bench.%d.tms", dir, (int)getpid());
    tm_error err;
    tm_tms_write_options o = TM_TMS_WRITE_OPTIONS_INIT;
    o.no_fsync = 1;

    /* Best of 3 for each timing: the machine is shared. */
    double t_enc = 1e9, t_write = 1e9, t_dec = 1e9, t_read = 1e9;
    void *buf = NULL;
    size_t len = 0;
    for (int rep = 0; rep < 3; rep++) {
        free(buf);
        double t0 = now();
        check(tm_tms_encode(&buf, &len, s, &o, &err), &err);
        double t1 = now();
        check(tm_tms_write(s, path, &o, &err), &err);
        double t2 = now();
        tm_snapshot *b;
        check(tm_tms_decode(&b, buf, len, "bench", &err), &err);
        double t3 = now();
        tm_snapshot_free(b);
        check(tm_tms_read(&b, path, &err), &err);
        double t4 = now();
        if (rep == 2) {
            int same = tm_snapshot_trace_count(b) == tm_snapshot_trace_count(s) &&
                tm_snapshot_total_size(b) == tm_snapshot_total_size(s) &&
                tm_snapshot_stack_count(b) == tm_snapshot_stack_count(s) &&
                tm_snapshot_frame_count(b) == tm_snapshot_frame_count(s);
            if (!same) {
                fprintf(stderr, "format_bench: round trip changed the snapshot\n");
                return 1;
            }
        }
        tm_snapshot_free(b);
        t_enc = t1 - t0 < t_enc ? t1 - t0 : t_enc;
        t_write = t2 - t1 < t_write ? t2 - t1 : t_write;
        t_dec = t3 - t2 < t_dec ? t3 - t2 : t_dec;
        t_read = t4 - t3 < t_read ? t4 - t3 : t_read;
    }
    if (keep && rename(path, keep) != 0) {
        perror(keep);
        return 2;
    }
    unlink(path);

    tm_tms_file_info *info;
    check(tm_tms_inspect(&info, buf, len, "bench", &err), &err);
    uint64_t traces_bytes = 0, rest = 24;
    printf("format_bench: %zu traces, %zu unique stack nodes (%zu leaf stacks), %zu frames, "
           "%zu strings, %zu modules\n",
           tm_snapshot_trace_count(s), tm_snapshot_stack_count(s), nleaf,
           tm_snapshot_frame_count(s), tm_snapshot_string_count(s), tm_snapshot_module_count(s));
    printf("  %-9s %10s %10s %7s\n", "section", "stored", "raw", "ratio");
    for (size_t i = 0; i < info->nsections; i++) {
        const tm_tms_section_info *si = &info->sections[i];
        printf("  %-9s %10llu %10llu %6.1fx\n", si->name, (unsigned long long)si->stored_len,
               (unsigned long long)si->raw_len,
               si->stored_len ? (double)si->raw_len / (double)si->stored_len : 1.0);
        if (!strcmp(si->name, "traces"))
            traces_bytes += si->stored_len + 32;
        else
            rest += si->stored_len + 32;
    }
    tm_tms_file_info_free(info);
    double mb = (double)len / 1e6;
    size_t model = tm_snapshot_memory_usage(s);
    double bpt = (double)traces_bytes / (double)ntraces;
    printf("  file size              %zu bytes (%.3f bytes/trace overall)\n", len,
           (double)len / (double)ntraces);
    printf("  traces section         %llu bytes = %.3f bytes/trace\n",
           (unsigned long long)traces_bytes, bpt);
    printf("  unique stacks etc.     %llu bytes (strings, modules, frames, stacks, metadata)\n",
           (unsigned long long)rest);
    printf("  encode                 %.1f ms  (%.1f M traces/s, %.1f MB/s of model, %.1f MB/s of "
           "file)\n",
           t_enc * 1e3, (double)ntraces / t_enc / 1e6, (double)model / 1e6 / t_enc, mb / t_enc);
    printf("  write (encode+file)    %.1f ms\n", t_write * 1e3);
    printf("  decode                 %.1f ms  (%.1f M traces/s, %.1f MB/s of model, %.1f MB/s of "
           "file)\n",
           t_dec * 1e3, (double)ntraces / t_dec / 1e6, (double)model / 1e6 / t_dec, mb / t_dec);
    printf("  load (read file)       %.1f ms\n", t_read * 1e3);
    printf("  model memory           %.1f MB\n", (double)model / 1e6);
    free(buf);
    tm_snapshot_free(s);
    if (smoke && bpt > 2.0) {
        fprintf(stderr, "format_bench: %.3f bytes/trace exceeds the 2-byte target\n", bpt);
        return 1;
    }
    return 0;
}
