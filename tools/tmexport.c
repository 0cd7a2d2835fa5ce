/*
 * tmexport — folded stacks, flame graphs, timelines and pprof profiles from
 * snapshots.
 * The pictures themselves are made by tm/export.h; this is option parsing,
 * loading and atomic output.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "tm/export.h"
#include "tm/version.h"

static const char *const prog = "tmexport";

static void usage(FILE *f)
{
    fputs(
        "usage: tmexport folded SNAPSHOT [-o OUT] [--count]\n"
        "       tmexport flamegraph SNAPSHOT -o OUT.html [--title T] [--count] [--min-width PCT]\n"
        "       tmexport diff OLD NEW -o OUT.html [--title T] [--count] [--min-width PCT]\n"
        "       tmexport timeline SNAPSHOT... -o OUT.svg [--title T]\n"
        "       tmexport pprof SNAPSHOT -o OUT.pb.gz\n"
        "       tmexport pprof OLD NEW -o OUT.pb.gz\n"
        "\n"
        "Export snapshots (.tms files or Python tracemalloc dumps) for other tools\n"
        "and for people.\n"
        "\n"
        "commands:\n"
        "  folded      one line per unique stack, 'root;caller;...;leaf WEIGHT', frames\n"
        "              oldest first (input of flamegraph.pl, speedscope, inferno).\n"
        "              Inlined calls are expanded; ';' '\\' and control characters in\n"
        "              names are escaped as \\x3b, \\\\, \\n, \\xHH.\n"
        "  flamegraph  a self-contained interactive HTML flame graph (no network):\n"
        "              click to zoom, search box, hover for sizes; the view is kept\n"
        "              in the URL (#search=TEXT&zoom=N) for links and reloads.\n"
        "  diff        flame graph of NEW compared to OLD: widths from NEW, red = grew,\n"
        "              blue = shrank; stacks only in OLD are drawn with their OLD width.\n"
        "  timeline    SVG chart of traced current and peak memory over a series of\n"
        "              snapshots (e.g. app.1.tms app.2.tms ... from an interval trigger),\n"
        "              ordered by snapshot time.\n"
        "  pprof       gzipped pprof profile.proto heap profile (pprof, Grafana/Pyroscope,\n"
        "              Parca): sample types inuse_objects and inuse_space, inlined\n"
        "              calls as pprof Lines, metadata as comments.  With OLD and NEW:\n"
        "              NEW plus OLD negated (label pprof::base=true), the profile\n"
        "              'pprof -diff_base OLD NEW' builds; 'pprof -top' shows the growth.\n"
        "\n"
        "options:\n"
        "  -o, --output FILE  write to FILE (atomically: temporary file + rename);\n"
        "                     '-' or no -o writes to standard output\n"
        "      --count        weigh stacks by number of allocations, not bytes\n"
        "      --title TEXT   title of the page or picture\n"
        "      --min-width PCT\n"
        "                     flame graphs: leave out frames narrower than PCT percent\n"
        "                     of the whole (default 0: keep all; 0.01 keeps pages of\n"
        "                     millions of stacks small)\n"
        "      --no-progress  never show progress (it is shown on stderr only when\n"
        "                     stderr is a terminal and the work takes a while)\n"
        "      --as-recorded  native stacks exactly as recorded (by default frames of\n"
        "                     the C/C++ runtime's allocation machinery and of system\n"
        "                     headers and sources are hidden, as in tmstat)\n"
        "      --hide PAT     also hide native frames whose function, file or module\n"
        "                     matches PAT (fnmatch); repeatable\n"
        "      --max-memory SIZE\n"
        "                     stop with exit 2 past SIZE of memory (default:\n"
        "                     TM_MAX_MEMORY, else 1/4 of physical memory)\n"
        "  -h, --help         show this help\n"
        "      --version      show the tmkit version\n"
        "\n"
        "exit status: 0 success, 2 usage or input error (the message names the file).\n",
        f);
}

static int run(int kind, const char *cmd, char **files, size_t nfiles, const char *output,
               const tm_export_options *opts);

static void free_all(tm_snapshot **snaps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tm_snapshot_free(snaps[i]);
    free(snaps);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return tool_usage_error(prog,
                                "missing command (folded, flamegraph, diff, timeline, pprof)");
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return TOOL_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("tmexport (tmkit) %s\n", tm_version_string());
        return TOOL_EXIT_OK;
    }
    const char *cmd = argv[1];
    int kind;
    if (strcmp(cmd, "folded") == 0)
        kind = 0;
    else if (strcmp(cmd, "flamegraph") == 0)
        kind = 1;
    else if (strcmp(cmd, "diff") == 0)
        kind = 2;
    else if (strcmp(cmd, "timeline") == 0)
        kind = 3;
    else if (strcmp(cmd, "pprof") == 0)
        kind = 4;
    else
        return tool_usage_error(
            prog, "unknown command '%s' (folded, flamegraph, diff, timeline, pprof)", cmd);

    enum {
        OPT_COUNT = 256,
        OPT_TITLE,
        OPT_NO_PROGRESS,
        OPT_VERSION,
        OPT_MIN_WIDTH,
        OPT_AS_RECORDED,
        OPT_HIDE
    };
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "count", no_argument, NULL, OPT_COUNT },
        { "title", required_argument, NULL, OPT_TITLE },
        { "min-width", required_argument, NULL, OPT_MIN_WIDTH },
        { "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
        { "as-recorded", no_argument, NULL, OPT_AS_RECORDED },
        { "hide", required_argument, NULL, OPT_HIDE },
        { "max-memory", required_argument, NULL, TOOL_OPT_MAX_MEMORY },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    tm_export_options opts = TM_EXPORT_OPTIONS_INIT;
    tm_attribution_options attribution = TM_ATTRIBUTION_OPTIONS_INIT;
    const char *hide[TM_ATTRIBUTION_MAX_HIDE];
    attribution.hide = hide;
    opts.attribution = &attribution;
    const char *output = "-";
    /* argv[1] (the command) takes the place of the program name. */
    int sub_argc = argc - 1;
    char **sub_argv = argv + 1;
    char **files = calloc((size_t)sub_argc, sizeof *files);
    size_t nfiles = 0;
    int c, rc = TOOL_EXIT_ERROR;
    if (!files) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return TOOL_EXIT_ERROR;
    }
    if (tool_memory_init(prog))
        goto free_files;
    opterr = 0;
    while ((c = getopt_long(sub_argc, sub_argv, "-:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 1: files[nfiles++] = optarg; break;
        case 'o': output = optarg; break;
        case OPT_COUNT: opts.weight = TM_EXPORT_WEIGHT_COUNT; break;
        case OPT_TITLE: opts.title = optarg; break;
        case OPT_MIN_WIDTH: {
            char *end;
            double pct = strtod(optarg, &end);
            if (end == optarg || *end || !(pct >= 0 && pct <= 100)) {
                rc = tool_usage_error(prog, "--min-width: '%s' is not a percentage (0..100)",
                                      optarg);
                goto free_files;
            }
            opts.min_width = pct / 100;
            break;
        }
        case TOOL_OPT_MAX_MEMORY:
            if ((rc = tool_memory_option(prog, optarg)))
                goto free_files;
            break;
        case OPT_NO_PROGRESS: opts.progress = TM_EXPORT_PROGRESS_OFF; break;
        case OPT_AS_RECORDED: attribution.as_recorded = 1; break;
        case OPT_HIDE:
            if (attribution.nhide == TM_ATTRIBUTION_MAX_HIDE) {
                rc = tool_usage_error(prog, "--hide: at most %d patterns", TM_ATTRIBUTION_MAX_HIDE);
                goto free_files;
            }
            hide[attribution.nhide++] = optarg;
            break;
        case 'h':
            usage(stdout);
            rc = TOOL_EXIT_OK;
            goto free_files;
        case OPT_VERSION:
            printf("tmexport (tmkit) %s\n", tm_version_string());
            rc = TOOL_EXIT_OK;
            goto free_files;
        default: rc = tool_option_error(prog, c, sub_argv, longopts); goto free_files;
        }
    }
    while (optind < sub_argc)
        files[nfiles++] = sub_argv[optind++];
    rc = run(kind, cmd, files, nfiles, output, &opts);
free_files:
    free(files);
    return rc;
}

static int run(int kind, const char *cmd, char **files, size_t nfiles, const char *output,
               const tm_export_options *opts)
{
    if ((kind == 0 || kind == 1) && nfiles != 1)
        return tool_usage_error(prog, "%s needs exactly one SNAPSHOT, got %zu", cmd, nfiles);
    if (kind == 2 && nfiles != 2)
        return tool_usage_error(prog, "diff needs OLD and NEW snapshots, got %zu", nfiles);
    if (kind == 3 && nfiles < 1)
        return tool_usage_error(prog, "timeline needs at least one SNAPSHOT");
    if (kind == 3 && opts->weight == TM_EXPORT_WEIGHT_COUNT)
        return tool_usage_error(prog, "--count does not apply to timeline");
    if ((kind == 0 || kind == 3 || kind == 4) && opts->min_width > 0)
        return tool_usage_error(prog, "--min-width applies to flamegraph and diff only");
    if (kind == 4 && (nfiles < 1 || nfiles > 2))
        return tool_usage_error(prog, "pprof needs SNAPSHOT, or OLD and NEW, got %zu", nfiles);
    if (kind == 4 && opts->weight == TM_EXPORT_WEIGHT_COUNT)
        return tool_usage_error(prog,
                                "--count does not apply to pprof (it has both "
                                "inuse_objects and inuse_space)");
    if (kind == 4 && opts->title)
        return tool_usage_error(prog, "--title does not apply to pprof");

    tm_error err = { 0 };
    tm_snapshot **snaps = calloc(nfiles, sizeof *snaps);
    if (!snaps) {
        tm_error_set(&err, TM_ENOMEM, "out of memory");
        return tool_fail(prog, &err);
    }
    for (size_t i = 0; i < nfiles; i++) {
        if (tool_load_snapshot(files[i], &snaps[i], &err) != TM_OK) {
            free_all(snaps, nfiles);
            return tool_fail(prog, &err);
        }
    }

    tm_output *o;
    if (tm_output_open(&o, output, &err) != TM_OK) {
        free_all(snaps, nfiles);
        return tool_fail(prog, &err);
    }
    FILE *f = tm_output_stream(o);
    int rc;
    switch (kind) {
    case 0: rc = tm_export_folded(snaps[0], opts, f, &err); break;
    case 1: rc = tm_export_flamegraph(snaps[0], opts, f, &err); break;
    case 2: rc = tm_export_diff_flamegraph(snaps[0], snaps[1], opts, f, &err); break;
    case 4:
        rc = nfiles == 1 ? tm_export_pprof(snaps[0], NULL, opts, f, &err)
                         : tm_export_pprof(snaps[1], snaps[0], opts, f, &err);
        break;
    default:
        rc = tm_export_timeline((const tm_snapshot *const *)snaps, (const char *const *)files,
                                nfiles, opts, f, &err);
        break;
    }
    if (rc != TM_OK) {
        tm_output_abort(o);
        /* Write errors belong to the output, anything else to the input. */
        if (rc == TM_EIO)
            tm_error_prefix(&err, "%s", output);
        else if (nfiles == 2)
            tm_error_prefix(&err, "%s vs %s", files[0], files[1]);
        else if (nfiles == 1)
            tm_error_prefix(&err, "%s", files[0]);
        free_all(snaps, nfiles);
        return tool_fail(prog, &err);
    }
    free_all(snaps, nfiles);
    if (tm_output_commit(o, &err) != TM_OK)
        return tool_fail(prog, &err);
    return TOOL_EXIT_OK;
}
