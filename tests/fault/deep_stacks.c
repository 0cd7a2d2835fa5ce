/*
 * Writes the worst case for walks over stacks: one chain of DEPTH frames and
 * LEAVES distinct leaf frames under its deepest node, one trace each — a
 * file of a few hundred KB whose stacks, written out, are LEAVES x DEPTH
 * frames.  For tests/cli/fault_time.sh.
 *
 *   deep_stacks DEPTH LEAVES OUT.tms
 */
#include <stdio.h>
#include <stdlib.h>

#include "tm/snapshot.h"
#include "tm/tms.h"

static void check(int rc, const tm_error *err)
{
    if (rc) {
        fprintf(stderr, "deep_stacks: %s\n", err->message);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: deep_stacks DEPTH LEAVES OUT.tms\n");
        return 2;
    }
    unsigned depth = (unsigned)strtoul(argv[1], NULL, 10);
    unsigned leaves = (unsigned)strtoul(argv[2], NULL, 10);
    tm_error err;
    tm_snapshot *s;
    check(tm_snapshot_new(&s, &err), &err);
    uint32_t file[50];
    for (int i = 0; i < 50; i++) {
        char b[32];
        int n = snprintf(b, sizeof b, "src/f%d.c", i);
        check(tm_snapshot_intern_string(&file[i], s, b, (size_t)n, &err), &err);
    }
    uint32_t node = 0;
    for (unsigned k = 0; k < depth; k++) {
        tm_frame f = { TM_NONE, 0, file[k % 50], k + 1, TM_NONE, 0, 0 };
        uint32_t id;
        check(tm_snapshot_intern_frame(&id, s, &f, &err), &err);
        check(tm_snapshot_intern_stack_node(&node, s, node, id, &err), &err);
    }
    for (unsigned i = 0; i < leaves; i++) {
        tm_frame f = { TM_NONE, 0, file[i % 50], 1000000 + i, TM_NONE, 0, 0 };
        uint32_t id, leaf;
        check(tm_snapshot_intern_frame(&id, s, &f, &err), &err);
        check(tm_snapshot_intern_stack_node(&leaf, s, node, id, &err), &err);
        tm_trace t = { 16 + i % 100, leaf, 0 };
        check(tm_snapshot_add_trace(s, &t, depth + 1, &err), &err);
    }
    tm_metadata md = *tm_snapshot_metadata(s);
    md.nframe_limit = 65535;
    check(tm_snapshot_set_metadata(s, &md, &err), &err);
    check(tm_tms_write(s, argv[3], NULL, &err), &err);
    tm_snapshot_free(s);
    return 0;
}
