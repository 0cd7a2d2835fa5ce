/*
 * One-off program that wrote tests/golden/v1.0/full.tms with the writer of
 * the time.  Kept for the record only: it is not built, and the committed
 * file must never be rewritten from it (see tests/golden/README.md).
 *   cc -std=c11 -I libtmcore/include -I formats/include golden_full_gen.c \
 *      <build>/formats/libtmformats_tms.a <build>/libtmcore/lib*.a -lzstd -o gen
 *   ./gen full.tms
 * Every metadata field set; two modules (with and without a build-id);
 * symbolized native frames, an inline chain three deep, a raw address,
 * a frame with a file but no function; several stacks sharing callers;
 * truncated stacks (total_nframe > nframe); three domains; zstd where it
 * is smaller.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm/tms.h"

static tm_error err;

static void ok(int rc)
{
    if (rc) {
        fprintf(stderr, "golden_full_gen: %s\n", err.message);
        exit(2);
    }
}

static uint32_t str(tm_snapshot *s, const char *p)
{
    uint32_t id;
    ok(tm_snapshot_intern_string(&id, s, p, strlen(p), &err));
    return id;
}

static uint32_t frame(tm_snapshot *s, uint32_t mod, uint64_t off, const char *fn, const char *file,
                      uint32_t line, uint32_t inlined_by)
{
    tm_frame f = { .module = mod,
                   .offset = off,
                   .function = fn ? str(s, fn) : 0,
                   .file = file ? str(s, file) : 0,
                   .line = line,
                   .inlined_by = inlined_by };
    uint32_t id;
    ok(tm_snapshot_intern_frame(&id, s, &f, &err));
    return id;
}

static void trace(tm_snapshot *s, const uint32_t *frames, size_t n, uint64_t size, uint32_t domain,
                  uint32_t total_nframe)
{
    uint32_t st;
    ok(tm_snapshot_intern_stack(&st, s, frames, n, &err));
    tm_trace t = { .size = size, .stack = st, .domain = domain };
    ok(tm_snapshot_add_trace(s, &t, total_nframe, &err));
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    tm_snapshot *s;
    ok(tm_snapshot_new(&s, &err));
    tm_module m;
    memset(&m, 0, sizeof m);
    m.path = str(s, "/opt/srv/bin/server");
    m.build_id_len = 20;
    memcpy(m.build_id,
           "\x01\x23\x45\x67\x89\xab\xcd\xef\xfe\xdc\xba\x98\x76\x54\x32\x10\x0f\x1e\x2d\x3c", 20);
    m.load_bias = 0x555555554000;
    m.start = m.load_bias + 0x1000;
    m.end = m.load_bias + 0x40000;
    uint32_t srv, libc;
    ok(tm_snapshot_add_module(&srv, s, &m, &err));
    memset(&m, 0, sizeof m);
    m.path = str(s, "/lib/x86_64-linux-gnu/libc.so.6");
    m.load_bias = 0x7ffff7d80000;
    m.start = m.load_bias + 0x28000;
    m.end = m.load_bias + 0x1bd000;
    ok(tm_snapshot_add_module(&libc, s, &m, &err));

    uint32_t main_f = frame(s, srv, 0x1a40, "main", "src/main.c", 88, TM_NONE);
    uint32_t serve = frame(s, srv, 0x2b10, "serve", "src/server.c", 140, TM_NONE);
    /* an inline chain at one address: parse_request <- read_header <- grow_buf */
    uint32_t parse = frame(s, srv, 0x3c20, "parse_request", "src/http.c", 51, TM_NONE);
    uint32_t rdhdr = frame(s, srv, 0x3c20, "read_header", "src/http.h", 19, parse);
    uint32_t grow = frame(s, srv, 0x3c20, "grow_buf", "src/buf.h", 7, rdhdr);
    uint32_t cache = frame(s, srv, 0x4d30, "cache_put", "src/cache.c", 212, TM_NONE);
    uint32_t noname = frame(s, srv, 0x5e40, NULL, "src/gen/tables.c", 3, TM_NONE);
    uint32_t raw = frame(s, libc, 0x9a0c4, NULL, NULL, 0, TM_NONE);
    uint32_t strdup_f = frame(s, libc, 0x8f210, "strdup", NULL, 0, TM_NONE);

    uint32_t a[] = { grow, serve, main_f };
    uint32_t b[] = { cache, serve, main_f };
    uint32_t c[] = { strdup_f, cache, serve };
    uint32_t d[] = { noname, main_f };
    uint32_t e[] = { raw };
    uint32_t f2[] = { rdhdr, serve, main_f };
    trace(s, a, 3, 65536, 0, 3);
    trace(s, a, 3, 4096, 0, 3);
    trace(s, b, 3, 1000, 0, 3);
    trace(s, b, 3, 1000, 0, 3);
    trace(s, b, 3, 24, 0, 3);
    trace(s, c, 3, 17, 0, 12); /* truncated: 12 frames, 3 kept */
    trace(s, c, 3, 33, 2, 9);
    trace(s, d, 2, 8192, 0, 2);
    trace(s, e, 1, 123456, 1, 1);
    trace(s, e, 1, 0, 1, 1); /* a zero-size allocation */
    trace(s, f2, 3, 512, 0, 5);
    trace(s, NULL, 0, 99, 0, 0); /* an empty stack */

    const char *args[] = { "server", "--port", "8080", "it's \"quoted\"" };
    ok(tm_snapshot_set_argv(s, args, 4, &err));
    tm_metadata md = *tm_snapshot_metadata(s);
    md.program = str(s, "/opt/srv/bin/server");
    md.host = str(s, "build-host-7");
    md.trigger = str(s, "interval");
    md.tool_version = str(s, "0.1.0");
    md.pid = 424242;
    md.start_time_ns = 1700000000000000000LL;
    md.snapshot_time_ns = 1700000012500000000LL;
    md.nframe_limit = 3;
    md.sequence = 4;
    md.traced_current = 213563;
    md.traced_peak = 1048576;
    ok(tm_snapshot_set_metadata(s, &md, &err));
    tm_tms_write_options o = TM_TMS_WRITE_OPTIONS_INIT;
    ok(tm_tms_write(s, argv[1], &o, &err));
    tm_snapshot_free(s);
    return 0;
}
