/*
 * Test helper for the sampled-snapshot tests: a known population of live
 * blocks, Poisson-sampled by bytes as the recorder samples them, written
 * three ways:
 *   PREFIX.tms       the sample, sample_rate = RATE (a .tms 1.1 file)
 *   PREFIX.kept.tms  the same traces as an exact snapshot (rate 0), so that
 *                    a checker reads the kept sizes through the tools
 *   PREFIX.full.tms  the whole population, exact: the truth
 * Usage: tm_sample_gen PREFIX RATE SEED
 *        tm_sample_gen --bad DIR
 * --bad writes DIR/bad-KIND.tms: a small sampled file (raw codec) whose
 * sampling section was rewritten, with every checksum recomputed so that
 * only the section's content is wrong: rate0, estimator9 (an unknown
 * estimator), duplicate (the section twice), noncritical (flag cleared),
 * trailing (a byte after the estimator), and as-1.0 (type 7 renamed to an
 * unknown type 99, still critical: what a 1.0 reader sees).
 * The population is the same for every SEED (its own fixed seed); SEED
 * draws which blocks are kept.  Frames are Python-style (file, line), each
 * stack [s.c:LINE, main.c:5], most recent first:
 *   s.c:10  20000 blocks of 64 B
 *   s.c:20   3000 blocks of 4 KiB
 *   s.c:30     40 blocks of 1..3 MiB (larger than the usual rates)
 *   s.c:40   5000 blocks of 1..200000 B, uniform
 *   s.c:50      1 block of 100 B
 * A block of s bytes is kept with probability 1 - exp(-s/RATE), which is
 * what a memoryless exponential byte countdown gives.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm/snapshot.h"
#include "tm/tms.h"
#include "tms_internal.h"

static tm_error err;

static void ok(int rc, const char *what)
{
    if (rc) {
        fprintf(stderr, "tm_sample_gen: %s: %s\n", what, err.message);
        exit(2);
    }
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *x)
{
    return (double)(splitmix(x) >> 11) * (1.0 / 9007199254740992.0);
}

typedef struct out {
    tm_snapshot *s;
    uint32_t stacks[5];
} out;

static void out_new(out *o, uint64_t rate)
{
    ok(tm_snapshot_new(&o->s, &err), "new");
    uint32_t file, mainc;
    ok(tm_snapshot_intern_string(&file, o->s, "s.c", 3, &err), "string");
    ok(tm_snapshot_intern_string(&mainc, o->s, "main.c", 6, &err), "string");
    tm_frame caller = { .module = TM_NONE, .file = mainc, .line = 5, .inlined_by = TM_NONE };
    uint32_t fc;
    ok(tm_snapshot_intern_frame(&fc, o->s, &caller, &err), "frame");
    for (int i = 0; i < 5; i++) {
        tm_frame f = {
            .module = TM_NONE, .file = file, .line = 10 * (uint32_t)(i + 1), .inlined_by = TM_NONE
        };
        uint32_t fr[2];
        ok(tm_snapshot_intern_frame(&fr[0], o->s, &f, &err), "frame");
        fr[1] = fc;
        ok(tm_snapshot_intern_stack(&o->stacks[i], o->s, fr, 2, &err), "stack");
    }
    tm_metadata md = *tm_snapshot_metadata(o->s);
    md.nframe_limit = 2;
    md.sample_rate = rate;
    ok(tm_snapshot_set_metadata(o->s, &md, &err), "metadata");
}

static void out_add(out *o, int site, uint64_t size)
{
    tm_trace t = { .size = size, .stack = o->stacks[site] };
    ok(tm_snapshot_add_trace(o->s, &t, 2, &err), "trace");
}

static void out_write(out *o, const char *prefix, const char *suffix)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s", prefix, suffix);
    tm_tms_write_options opts = TM_TMS_WRITE_OPTIONS_INIT;
    opts.no_fsync = 1;
    ok(tm_tms_write(o->s, path, &opts, &err), path);
    tm_snapshot_free(o->s);
}

/* One file's sections, re-emitted with the sampling section replaced by
 * `payload` (n bytes, flags, type; twice when dup) and fresh checksums. */
static void write_patched(const char *dir, const char *kind, const uint8_t *f, size_t len,
                          const uint8_t *payload, size_t n, uint8_t flags, uint16_t type, int dup)
{
    tms_container c;
    ok(tms_container_parse(&c, f, len, kind, &err), kind);
    uint8_t *o = malloc(len + 2 * (TMS_SECTION_HEADER_LEN + n));
    if (!o)
        exit(2);
    memcpy(o, f, TMS_FILE_HEADER_LEN);
    size_t pos = TMS_FILE_HEADER_LEN;
    uint32_t nsec = 0;
    for (uint32_t i = 0; i < c.nsections; i++) {
        const tms_section *sec = &c.sections[i];
        const uint8_t *h = f + sec->offset, *p = h + TMS_SECTION_HEADER_LEN;
        size_t plen = (size_t)sec->stored_len;
        for (int copy = 0; copy < (sec->type == TMS_SEC_SAMPLING && dup ? 2 : 1); copy++) {
            uint8_t *oh = o + pos;
            memcpy(oh, h, TMS_SECTION_HEADER_LEN);
            if (sec->type == TMS_SEC_SAMPLING) {
                p = payload;
                plen = n;
                tms_put_le16(oh + TMS_SH_TYPE, type);
                oh[TMS_SH_FLAGS] = flags;
                tms_put_le64(oh + TMS_SH_STORED_LEN, n);
                tms_put_le64(oh + TMS_SH_RAW_LEN, n);
            }
            tms_put_le64(oh + TMS_SH_PAYLOAD_HASH, tms_payload_hash(p, plen));
            tms_put_le32(oh + TMS_SH_CHECKSUM,
                         tms_header_checksum(oh, TMS_SECTION_HEADER_LEN, TMS_SH_CHECKSUM));
            memcpy(oh + TMS_SECTION_HEADER_LEN, p, plen);
            pos += TMS_SECTION_HEADER_LEN + plen;
            nsec++;
        }
    }
    tms_container_free(&c);
    tms_put_le32(o + TMS_FH_NSECTIONS, nsec);
    tms_put_le32(o + TMS_FH_CHECKSUM, tms_header_checksum(o, TMS_FILE_HEADER_LEN, TMS_FH_CHECKSUM));
    char path[4096];
    snprintf(path, sizeof path, "%s/bad-%s.tms", dir, kind);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(o, 1, pos, fp) != pos || fclose(fp) != 0) {
        fprintf(stderr, "tm_sample_gen: cannot write %s\n", path);
        exit(2);
    }
    free(o);
}

static int write_bad(const char *dir)
{
    out o;
    out_new(&o, 4096);
    out_add(&o, 0, 64);
    out_add(&o, 2, 1 << 20);
    tm_tms_write_options opts = TM_TMS_WRITE_OPTIONS_INIT;
    opts.compression_level = -1;
    void *f;
    size_t len;
    ok(tm_tms_encode(&f, &len, o.s, &opts, &err), "encode");
    tm_snapshot_free(o.s);
    const uint8_t good[] = { 0x80, 0x20, 0x01 }, rate0[] = { 0x00, 0x01 },
                  est9[] = { 0x80, 0x20, 0x09 }, trailing[] = { 0x80, 0x20, 0x01, 0x00 };
    write_patched(dir, "rate0", f, len, rate0, sizeof rate0, TMS_FLAG_CRITICAL, 7, 0);
    write_patched(dir, "estimator9", f, len, est9, sizeof est9, TMS_FLAG_CRITICAL, 7, 0);
    write_patched(dir, "duplicate", f, len, good, sizeof good, TMS_FLAG_CRITICAL, 7, 1);
    write_patched(dir, "noncritical", f, len, good, sizeof good, 0, 7, 0);
    write_patched(dir, "trailing", f, len, trailing, sizeof trailing, TMS_FLAG_CRITICAL, 7, 0);
    write_patched(dir, "as-1.0", f, len, good, sizeof good, TMS_FLAG_CRITICAL, 99, 0);
    write_patched(dir, "good", f, len, good, sizeof good, TMS_FLAG_CRITICAL, 7, 0);
    free(f);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--bad") == 0)
        return write_bad(argv[2]);
    if (argc != 4) {
        fprintf(stderr, "usage: tm_sample_gen PREFIX RATE SEED\n");
        return 2;
    }
    uint64_t rate = strtoull(argv[2], NULL, 10), seed = strtoull(argv[3], NULL, 10);
    if (rate == 0) {
        fprintf(stderr, "tm_sample_gen: RATE must be > 0\n");
        return 2;
    }
    out sample, kept, full;
    out_new(&sample, rate);
    out_new(&kept, 0);
    out_new(&full, 0);
    uint64_t pop = 12345, draw = seed * 2654435761u + 1;
    struct {
        int site;
        unsigned n;
        uint64_t lo, hi;
    } sites[] = { { 0, 20000, 64, 64 },
                  { 1, 3000, 4096, 4096 },
                  { 2, 40, 1 << 20, 3 << 20 },
                  { 3, 5000, 1, 200000 },
                  { 4, 1, 100, 100 } };
    for (size_t k = 0; k < sizeof sites / sizeof *sites; k++) {
        for (unsigned i = 0; i < sites[k].n; i++) {
            uint64_t span = sites[k].hi - sites[k].lo + 1;
            uint64_t size = sites[k].lo + (span > 1 ? splitmix(&pop) % span : 0);
            out_add(&full, sites[k].site, size);
            double p = -expm1(-(double)size / (double)rate);
            if (uniform(&draw) < p) {
                out_add(&sample, sites[k].site, size);
                out_add(&kept, sites[k].site, size);
            }
        }
    }
    out_write(&sample, argv[1], ".tms");
    out_write(&kept, argv[1], ".kept.tms");
    out_write(&full, argv[1], ".full.tms");
    return 0;
}
