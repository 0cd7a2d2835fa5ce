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
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm/error.h"
#include "tm/memory.h"
#include "tm/snapshot.h"
#include "tm/symbolize.h"
#include "tm/tms.h"
#include "tool.h"

static const char *const prog = "tmsym";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tmsym IN.tms [-o OUT.tms] [--search-path DIR]... [--debug-dir DIR]...\n"
            "             [--no-default-debug-dir] [--ignore-build-id] [-q] [--max-memory SIZE]\n"
            "       tmsym --lookup BINARY [ADDRESS...]\n"
            "\n"
            "Embeds symbols (function, file, line, inlined calls) in every native frame\n"
            "of IN.tms, so that it opens on any machine.  Modules not found, or with\n"
            "another build-id, are notes on stderr, not failures.\n"
            "  -o, --output OUT.tms      write there (atomically) instead of replacing IN\n"
            "  --search-path DIR         also look for modules in DIR (repeatable)\n"
            "  --debug-dir DIR           also look for separate debug files (build-id,\n"
            "                            .gnu_debuglink) in DIR (repeatable)\n"
            "  --no-default-debug-dir    do not look in /usr/lib/debug\n"
            "  --ignore-build-id         use a module even if its build-id differs\n"
            "  -q, --quiet               no summary line on stderr\n"
            "  --lookup BINARY           print the frames of each link-time ADDRESS (hex;\n"
            "                            from stdin, one a line, when none is given) of\n"
            "                            BINARY, innermost first, as llvm-symbolizer does\n"
            "  --max-memory SIZE         stop with exit 2 past SIZE of memory (default:\n"
            "                            TM_MAX_MEMORY, else 1/4 of physical memory)\n"
            "  -h, --help                show this help\n"
            "exit status: 0 success, 2 usage or input error.\n");
}

static int print_lookup(tm_symbolizer *s, const char *bin, const char *text)
{
    char *end;
    errno = 0;
    unsigned long long a = strtoull(text, &end, 16);
    if (errno || end == text || (*end && *end != '\n' && *end != '\r' && *end != ' ')) {
        fprintf(stderr, "tmsym: bad address '%s' (expected hex)\n", text);
        return TOOL_EXIT_ERROR;
    }
    tm_sym_result r;
    tm_error err = { 0 };
    if (tm_symbolizer_lookup(&r, s, bin, a, &err) != TM_OK)
        return tool_fail(prog, &err);
    for (size_t i = 0; i < r.nframes; i++) {
        const tm_sym_frame *f = &r.frames[i];
        printf("%s\n%s:%u\n", f->function[0] ? f->function : "??", f->file[0] ? f->file : "??",
               f->line);
    }
    printf("\n");
    return TOOL_EXIT_OK;
}

static int run_lookup(const char *bin, int naddr, char **addrs)
{
    tm_symbolizer *s;
    tm_error err = { 0 };
    if (tm_symbolizer_new(&s, NULL, &err) != TM_OK)
        return tool_fail(prog, &err);
    int rc = TOOL_EXIT_OK;
    if (naddr > 0) {
        for (int i = 0; i < naddr && rc == TOOL_EXIT_OK; i++)
            rc = print_lookup(s, bin, addrs[i]);
    } else {
        char line[256];
        while (rc == TOOL_EXIT_OK && fgets(line, sizeof line, stdin)) {
            if (line[0] == '\n')
                continue;
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

int main(int argc, char **argv)
{
    enum {
        OPT_SEARCH_PATH = 256,
        OPT_DEBUG_DIR,
        OPT_NO_DEFAULT_DEBUG_DIR,
        OPT_IGNORE_BUILD_ID,
        OPT_LOOKUP
    };
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "search-path", required_argument, NULL, OPT_SEARCH_PATH },
        { "debug-dir", required_argument, NULL, OPT_DEBUG_DIR },
        { "no-default-debug-dir", no_argument, NULL, OPT_NO_DEFAULT_DEBUG_DIR },
        { "ignore-build-id", no_argument, NULL, OPT_IGNORE_BUILD_ID },
        { "quiet", no_argument, NULL, 'q' },
        { "lookup", required_argument, NULL, OPT_LOOKUP },
        { "max-memory", required_argument, NULL, TOOL_OPT_MAX_MEMORY },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *in = NULL, *out = NULL, *lookup = NULL;
    /* argc bounds every list: each entry is one argument. */
    const char **search = calloc((size_t)argc, sizeof *search);
    const char **debug = calloc((size_t)argc, sizeof *debug);
    char **addrs = calloc((size_t)argc, sizeof *addrs);
    tm_symbolize_options opts = TM_SYMBOLIZE_OPTIONS_INIT;
    int quiet = 0, naddr = 0, snapshot_opts = 0, c, rc = TOOL_EXIT_ERROR;
    if (!search || !debug || !addrs) {
        fprintf(stderr, "tmsym: out of memory\n");
        goto free_args;
    }
    if ((rc = tool_memory_init(prog)))
        goto free_args;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "-:o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 1: addrs[naddr++] = optarg; break;
        case 'o':
            out = optarg;
            snapshot_opts = 1;
            break;
        case OPT_SEARCH_PATH:
            search[opts.nsearch_paths++] = optarg;
            snapshot_opts = 1;
            break;
        case OPT_DEBUG_DIR:
            debug[opts.ndebug_dirs++] = optarg;
            snapshot_opts = 1;
            break;
        case OPT_NO_DEFAULT_DEBUG_DIR:
            opts.no_default_debug_dir = 1;
            snapshot_opts = 1;
            break;
        case OPT_IGNORE_BUILD_ID:
            opts.ignore_build_id = 1;
            snapshot_opts = 1;
            break;
        case 'q':
            quiet = 1;
            snapshot_opts = 1;
            break;
        case TOOL_OPT_MAX_MEMORY:
            if ((rc = tool_memory_option(prog, optarg)))
                goto free_args;
            break;
        case OPT_LOOKUP:
            if (lookup) {
                rc = tool_usage_error(prog, "--lookup given twice");
                goto free_args;
            }
            lookup = optarg;
            break;
        case 'h':
            usage(stdout);
            rc = TOOL_EXIT_OK;
            goto free_args;
        default: rc = tool_option_error(prog, c, argv, longopts); goto free_args;
        }
    }
    while (optind < argc)
        addrs[naddr++] = argv[optind++];
    if (lookup) {
        /* --lookup uses the default search; the options of the first form
         * would be silently ignored. */
        if (snapshot_opts)
            rc = tool_usage_error(prog, "--lookup takes only BINARY and ADDRESSes");
        else
            rc = run_lookup(lookup, naddr, addrs);
        goto free_args;
    }
    if (naddr == 0) {
        rc = tool_usage_error(prog, "expected an IN.tms snapshot");
        goto free_args;
    }
    if (naddr > 1) {
        rc = tool_usage_error(prog, "more than one input ('%s' and '%s')", addrs[0], addrs[1]);
        goto free_args;
    }
    in = addrs[0];
    if (!out)
        out = in;
    opts.search_paths = search;
    opts.debug_dirs = debug;

    tm_error err = { 0 };
    tm_snapshot *snap = NULL;
    tm_symbolize_report *rep = NULL;
    rc = TOOL_EXIT_ERROR;
    if (tm_tms_read(&snap, in, &err) != TM_OK) {
        tool_fail(prog, &err);
        goto done;
    }
    /* A module the budget did not let us read is a note to the symbolizer;
     * here it is the failure it is, not a quietly unsymbolized frame. */
    if (tm_symbolize_snapshot(&rep, snap, &opts, &err) != TM_OK ||
        (tm_memory_budget_exceeded() &&
         tm_error_set(&err, TM_ENOMEM, "out of memory reading modules"))) {
        tm_error_prefix(&err, "%s", in);
        tool_fail(prog, &err);
        goto done;
    }
    for (size_t i = 0; i < rep->nmodules; i++) {
        const tm_symbolize_module_report *m = &rep->modules[i];
        if (m->status == TM_SYMSTAT_UNUSED)
            continue;
        char note[4096];
        if (tool_module_note(note, sizeof note, m))
            fprintf(stderr, "tmsym: note: module %u %s\n", m->module, note);
    }
    if (!quiet)
        fprintf(stderr, "tmsym: %zu of %zu frames resolved, %zu inlined frames added\n",
                rep->frames_resolved, rep->frames, rep->frames_added);
    if (tm_tms_write(snap, out, NULL, &err) != TM_OK) {
        tool_fail(prog, &err);
        goto done;
    }
    rc = TOOL_EXIT_OK;
done:
    tm_symbolize_report_free(rep);
    tm_snapshot_free(snap);
free_args:
    free(search);
    free(debug);
    free(addrs);
    return rc;
}
