/*
 * tmsym — embed symbols in a snapshot so that it opens anywhere.
 *
 *   tmsym IN.tms [-o OUT.tms] [--search-path DIR]... [--debug-dir DIR]...
 *         [--no-default-debug-dir] [--ignore-build-id] [-q]
 *   tmsym --lookup BINARY [ADDRESS...]
 *
 * The first form symbolizes every native frame of IN and writes the result
 * atomically to OUT (default: IN itself).  Modules that cannot be found or
 * whose build-id differs are notes on stderr, not failures.
 * The second form prints, for each link-time ADDRESS (hex; read from stdin,
 * one per line, when none is given), the frames innermost first as
 * "FUNCTION\nFILE:LINE\n" and an empty line, like llvm-symbolizer with
 * --inlining (?? for unknown).  It looks up ADDRESS exactly: no -1.
 * Exit: 0 success, 2 usage or input error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm/error.h"
#include "tm/snapshot.h"
#include "tm/symbolize.h"
#include "tm/tms.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: tmsym IN.tms [-o OUT.tms] [--search-path DIR]... [--debug-dir DIR]...\n"
            "             [--no-default-debug-dir] [--ignore-build-id] [-q]\n"
            "       tmsym --lookup BINARY [ADDRESS...]\n");
}

static int print_lookup(tm_symbolizer *s, const char *bin, const char *text) {
    char *end;
    errno = 0;
    unsigned long long a = strtoull(text, &end, 16);
    if (errno || end == text || (*end && *end != '\n' && *end != '\r' && *end != ' ')) {
        fprintf(stderr, "tmsym: bad address '%s' (expected hex)\n", text);
        return 2;
    }
    tm_sym_result r;
    tm_error err = {0};
    if (tm_symbolizer_lookup(&r, s, bin, a, &err) != TM_OK) {
        fprintf(stderr, "tmsym: %s\n", err.message);
        return 2;
    }
    for (size_t i = 0; i < r.nframes; i++) {
        const tm_sym_frame *f = &r.frames[i];
        printf("%s\n%s:%u\n", f->function[0] ? f->function : "??", f->file[0] ? f->file : "??",
               f->line);
    }
    printf("\n");
    return 0;
}

static int run_lookup(int argc, char **argv) {
    if (argc < 1) { usage(stderr); return 2; }
    const char *bin = argv[0];
    tm_symbolizer *s;
    tm_error err = {0};
    if (tm_symbolizer_new(&s, NULL, &err) != TM_OK) {
        fprintf(stderr, "tmsym: %s\n", err.message);
        return 2;
    }
    int rc = 0;
    if (argc > 1) {
        for (int i = 1; i < argc && rc == 0; i++) rc = print_lookup(s, bin, argv[i]);
    } else {
        char line[256];
        while (rc == 0 && fgets(line, sizeof line, stdin)) {
            if (line[0] == '\n') continue;
            rc = print_lookup(s, bin, line);
        }
    }
    const char *note = NULL;
    int st = tm_symbolizer_file_note(&note, s, bin);
    if (st != TM_SYMSTAT_SYMBOLIZED && st != TM_SYMSTAT_UNUSED)
        fprintf(stderr, "tmsym: note: %s: %s%s%s\n", bin, tm_symstat_name(st), note ? ": " : "",
                note ? note : "");
    else if (note)
        fprintf(stderr, "tmsym: note: %s: %s\n", bin, note);
    tm_symbolizer_free(s);
    return rc;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "--lookup") == 0) return run_lookup(argc - 2, argv + 2);
    const char *in = NULL, *out = NULL;
    const char **search = calloc((size_t)argc, sizeof *search);
    const char **debug = calloc((size_t)argc, sizeof *debug);
    tm_symbolize_options opts = TM_SYMBOLIZE_OPTIONS_INIT;
    int quiet = 0;
    if (!search || !debug) { fprintf(stderr, "tmsym: out of memory\n"); return 2; }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && i + 1 < argc) out = argv[++i];
        else if (strcmp(a, "--search-path") == 0 && i + 1 < argc) search[opts.nsearch_paths++] = argv[++i];
        else if (strcmp(a, "--debug-dir") == 0 && i + 1 < argc) debug[opts.ndebug_dirs++] = argv[++i];
        else if (strcmp(a, "--no-default-debug-dir") == 0) opts.no_default_debug_dir = 1;
        else if (strcmp(a, "--ignore-build-id") == 0) opts.ignore_build_id = 1;
        else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) quiet = 1;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) { usage(stdout); free(search); free(debug); return 0; }
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "tmsym: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            free(search); free(debug);
            return 2;
        } else if (!in) in = a;
        else {
            fprintf(stderr, "tmsym: more than one input ('%s' and '%s')\n", in, a);
            free(search); free(debug);
            return 2;
        }
    }
    if (!in) { usage(stderr); free(search); free(debug); return 2; }
    if (!out) out = in;
    opts.search_paths = search;
    opts.debug_dirs = debug;

    tm_error err = {0};
    tm_snapshot *snap = NULL;
    tm_symbolize_report *rep = NULL;
    int rc = 2;
    if (tm_tms_read(&snap, in, &err) != TM_OK) {
        fprintf(stderr, "tmsym: %s\n", err.message);
        goto done;
    }
    if (tm_symbolize_snapshot(&rep, snap, &opts, &err) != TM_OK) {
        fprintf(stderr, "tmsym: %s: %s\n", in, err.message);
        goto done;
    }
    for (size_t i = 0; i < rep->nmodules; i++) {
        const tm_symbolize_module_report *m = &rep->modules[i];
        if (m->status == TM_SYMSTAT_UNUSED) continue;
        if (m->status != TM_SYMSTAT_SYMBOLIZED || m->note)
            fprintf(stderr, "tmsym: note: module %u %s: %s%s%s\n", m->module,
                    m->path ? m->path : "?", tm_symstat_name(m->status), m->note ? ": " : "",
                    m->note ? m->note : "");
    }
    if (!quiet)
        fprintf(stderr, "tmsym: %zu of %zu frames resolved, %zu inlined frames added\n",
                rep->frames_resolved, rep->frames, rep->frames_added);
    if (tm_tms_write(snap, out, NULL, &err) != TM_OK) {
        fprintf(stderr, "tmsym: %s\n", err.message);
        goto done;
    }
    rc = 0;
done:
    tm_symbolize_report_free(rep);
    tm_snapshot_free(snap);
    free(search);
    free(debug);
    return rc;
}
