/*
 * Writes small valid .tms files with the real writer:
 *   tms_seed_gen DIR
 * DIR/tiny.tms (raw codec: the worked hex example of formats/TMS-FORMAT.md),
 * DIR/empty.tms, DIR/inline.tms, DIR/mixed.tms (zstd), DIR/sampled.tms (tiny's
 * traces as a sample, one per 512 KiB: a 1.1 file with the sampling section,
 * raw codec).  Used to refresh
 * tests/fuzz/corpus/tms/ and by tests/cli/tms_*.sh for a known-good file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm/tms.h"

static tm_error err;

static void ok(int rc)
{
    if (rc) {
        fprintf(stderr, "tms_seed_gen: %s\n", err.message);
        exit(2);
    }
}

static uint32_t str(tm_snapshot *s, const char *p)
{
    uint32_t id;
    ok(tm_snapshot_intern_string(&id, s, p, strlen(p), &err));
    return id;
}

static void put(tm_snapshot *s, const char *dir, const char *name, int level)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    tm_tms_write_options o = TM_TMS_WRITE_OPTIONS_INIT;
    o.compression_level = level;
    ok(tm_tms_write(s, path, &o, &err));
    tm_snapshot_free(s);
}

/* The spec's example: one Python-style stack of two frames, two traces. */
static tm_snapshot *tiny(void)
{
    tm_snapshot *s;
    ok(tm_snapshot_new(&s, &err));
    tm_frame f0 = { .module = TM_NONE, .file = str(s, "a.py"), .line = 3, .inlined_by = TM_NONE };
    tm_frame f1 = { .module = TM_NONE, .file = f0.file, .line = 9, .inlined_by = TM_NONE };
    uint32_t fr[2], st;
    ok(tm_snapshot_intern_frame(&fr[0], s, &f0, &err));
    ok(tm_snapshot_intern_frame(&fr[1], s, &f1, &err));
    ok(tm_snapshot_intern_stack(&st, s, fr, 2, &err));
    tm_trace t1 = { .size = 48, .stack = st };
    tm_trace t2 = { .size = 32, .stack = st };
    ok(tm_snapshot_add_trace(s, &t1, 2, &err));
    ok(tm_snapshot_add_trace(s, &t2, 2, &err));
    tm_metadata md = *tm_snapshot_metadata(s);
    md.nframe_limit = 2;
    ok(tm_snapshot_set_metadata(s, &md, &err));
    return s;
}

static tm_snapshot *inlined(void)
{
    tm_snapshot *s;
    ok(tm_snapshot_new(&s, &err));
    tm_module m;
    memset(&m, 0, sizeof m);
    m.path = str(s, "/usr/bin/app");
    m.build_id_len = 4;
    memcpy(m.build_id, "\xde\xad\xbe\xef", 4);
    m.load_bias = 0x555555554000;
    m.start = m.load_bias + 0x1000;
    m.end = m.load_bias + 0x5000;
    uint32_t mod, outer, inner, raw, st;
    ok(tm_snapshot_add_module(&mod, s, &m, &err));
    tm_frame fo = { .module = mod,
                    .offset = 0x1234,
                    .function = str(s, "main"),
                    .file = str(s, "app.c"),
                    .line = 10,
                    .inlined_by = TM_NONE };
    ok(tm_snapshot_intern_frame(&outer, s, &fo, &err));
    tm_frame fi = fo;
    fi.function = str(s, "helper");
    fi.file = str(s, "app.h");
    fi.line = 4;
    fi.inlined_by = outer;
    ok(tm_snapshot_intern_frame(&inner, s, &fi, &err));
    tm_frame fr = { .module = mod, .offset = 0x2000, .inlined_by = TM_NONE };
    ok(tm_snapshot_intern_frame(&raw, s, &fr, &err));
    uint32_t frames[2] = { inner, raw };
    ok(tm_snapshot_intern_stack(&st, s, frames, 2, &err));
    tm_trace t = { .size = 4096, .stack = st, .domain = 7 };
    ok(tm_snapshot_add_trace(s, &t, 40, &err));
    const char *argv[] = { "app", "--x" };
    ok(tm_snapshot_set_argv(s, argv, 2, &err));
    tm_metadata md = *tm_snapshot_metadata(s);
    md.program = m.path;
    md.trigger = str(s, "exit");
    md.pid = 1234;
    md.snapshot_time_ns = 1700000000123456789LL;
    md.nframe_limit = 2;
    md.traced_current = 4096;
    md.traced_peak = 8192;
    ok(tm_snapshot_set_metadata(s, &md, &err));
    return s;
}

static tm_snapshot *mixed(void)
{
    tm_snapshot *s;
    ok(tm_snapshot_new(&s, &err));
    uint32_t frames[8];
    char buf[32];
    for (int i = 0; i < 8; i++) {
        snprintf(buf, sizeof buf, "m%d.py", i % 3);
        tm_frame f = { .module = TM_NONE,
                       .file = str(s, buf),
                       .line = (uint32_t)(i * 7 + 1),
                       .inlined_by = TM_NONE };
        ok(tm_snapshot_intern_frame(&frames[i], s, &f, &err));
    }
    for (int i = 0; i < 300; i++) {
        uint32_t st;
        ok(tm_snapshot_intern_stack(&st, s, frames + i % 5, 1 + (size_t)(i % 4), &err));
        tm_trace t = { .size = (uint64_t)(i % 9) * 16 + (i % 50 == 0 ? UINT64_MAX / 2 : 0),
                       .stack = st,
                       .domain = i % 17 == 0 };
        ok(tm_snapshot_add_trace(s, &t, 1 + (uint32_t)(i % 4), &err));
    }
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tms_seed_gen DIR\n");
        return 2;
    }
    tm_snapshot *s;
    put(tiny(), argv[1], "tiny.tms", -1);
    ok(tm_snapshot_new(&s, &err));
    put(s, argv[1], "empty.tms", 0);
    put(inlined(), argv[1], "inline.tms", -1);
    put(mixed(), argv[1], "mixed.tms", 0);
    s = tiny();
    tm_metadata md = *tm_snapshot_metadata(s);
    md.sample_rate = 512 * 1024;
    ok(tm_snapshot_set_metadata(s, &md, &err));
    put(s, argv[1], "sampled.tms", -1);
    return 0;
}
