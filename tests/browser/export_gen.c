/*
 * Test helper for the export tests: builds a snapshot with the builder API
 * from a line-based description on stdin and writes it as .tms.  Strings are
 * hex-encoded in the description so that any byte (';', newline, '\') can be
 * tested.  Lines:
 *   meta TIME_NS SEQUENCE CURRENT PEAK PROGRAM_HEX
 *   frame FUNCTION_HEX FILE_HEX LINE INLINED_BY OFFSET   ('-' = none; frames get ids 0,1,..)
 *   trace SIZE DOMAIN [FRAME...]                          (most recent first)
 * Usage: export_gen OUT.tms < description
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm/snapshot.h"
#include "tm/tms.h"

static void die(const char *what, const tm_error *err)
{
    fprintf(stderr, "export_gen: %s: %s\n", what, err ? err->message : "");
    exit(2);
}

static uint32_t hex_string(tm_snapshot *s, const char *hex)
{
    if (strcmp(hex, "-") == 0)
        return 0;
    size_t n = strlen(hex) / 2;
    char *buf = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        buf[i] = (char)v;
    }
    tm_error err;
    uint32_t id;
    if (tm_snapshot_intern_string(&id, s, buf, n, &err))
        die("string", &err);
    free(buf);
    return id;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: export_gen OUT.tms < description\n");
        return 2;
    }
    tm_error err;
    tm_snapshot *s;
    if (tm_snapshot_new(&s, &err))
        die("new", &err);
    uint32_t *ids = NULL;
    size_t nids = 0;
    char *line = NULL;
    size_t cap = 0;
    tm_metadata md = { 0 };
    md.nframe_limit = 1;
    while (getline(&line, &cap, stdin) > 0) {
        char *save, *tok = strtok_r(line, " \n", &save);
        if (!tok)
            continue;
        if (strcmp(tok, "meta") == 0) {
            md.snapshot_time_ns = strtoll(strtok_r(NULL, " \n", &save), NULL, 10);
            md.sequence = (uint32_t)strtoul(strtok_r(NULL, " \n", &save), NULL, 10);
            md.traced_current = strtoull(strtok_r(NULL, " \n", &save), NULL, 10);
            md.traced_peak = strtoull(strtok_r(NULL, " \n", &save), NULL, 10);
            md.program = hex_string(s, strtok_r(NULL, " \n", &save));
            md.trigger = hex_string(s, "696e74657276616c"); /* "interval" */
        } else if (strcmp(tok, "frame") == 0) {
            tm_frame f = { 0 };
            f.module = TM_NONE;
            f.function = hex_string(s, strtok_r(NULL, " \n", &save));
            f.file = hex_string(s, strtok_r(NULL, " \n", &save));
            f.line = (uint32_t)strtoul(strtok_r(NULL, " \n", &save), NULL, 10);
            const char *ib = strtok_r(NULL, " \n", &save);
            f.inlined_by = strcmp(ib, "-") == 0 ? TM_NONE : ids[strtoul(ib, NULL, 10)];
            f.offset = strtoull(strtok_r(NULL, " \n", &save), NULL, 10);
            ids = realloc(ids, (nids + 1) * sizeof *ids);
            if (tm_snapshot_intern_frame(&ids[nids], s, &f, &err))
                die("frame", &err);
            nids++;
        } else if (strcmp(tok, "trace") == 0) {
            tm_trace t = { 0 };
            t.size = strtoull(strtok_r(NULL, " \n", &save), NULL, 10);
            t.domain = (uint32_t)strtoul(strtok_r(NULL, " \n", &save), NULL, 10);
            uint32_t frames[256];
            size_t nf = 0;
            while ((tok = strtok_r(NULL, " \n", &save)) && nf < 256)
                frames[nf++] = ids[strtoul(tok, NULL, 10)];
            if (nf > md.nframe_limit)
                md.nframe_limit = (uint32_t)nf;
            if (tm_snapshot_intern_stack(&t.stack, s, frames, nf, &err))
                die("stack", &err);
            if (tm_snapshot_add_trace(s, &t, (uint32_t)nf, &err))
                die("trace", &err);
        } else {
            fprintf(stderr, "export_gen: unknown line '%s'\n", tok);
            return 2;
        }
    }
    if (tm_snapshot_set_metadata(s, &md, &err))
        die("metadata", &err);
    tm_tms_write_options wo = TM_TMS_WRITE_OPTIONS_INIT;
    wo.no_fsync = 1;
    if (tm_tms_write(s, argv[1], &wo, &err))
        die(argv[1], &err);
    free(line);
    free(ids);
    tm_snapshot_free(s);
    return 0;
}
