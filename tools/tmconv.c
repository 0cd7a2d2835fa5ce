/*
 * tmconv — converts snapshots between .tms and Python tracemalloc dumps.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tm/output.h"
#include "tm/pyformat.h"
#include "tm/tms.h"
#include "tool.h"

static const char *const PROG = "tmconv";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tmconv IN OUT [--to tms|python] [--max-memory SIZE]\n"
            "\n"
            "Converts a snapshot.  IN may be a .tms file or a Python\n"
            "tracemalloc.Snapshot.dump() file (detected by content).\n"
            "\n"
            "  --to tms      write a .tms snapshot\n"
            "  --to python   write a pickle that tracemalloc.Snapshot.load() reads\n"
            "                (native frames become their source file and line, or\n"
            "                \"<unknown>\", line 0 when not symbolized; inlined calls\n"
            "                become separate frames).  A sampled snapshot (tmrun\n"
            "                --sample) is refused: tracemalloc would take the sample\n"
            "                for every allocation\n" TOOL_MAX_MEMORY_HELP
            "  -h, --help    show this help\n"
            "\n"
            "Without --to, an OUT name ending in \".tms\" means tms and any other\n"
            "name means python.  OUT is replaced atomically (temporary file in the\n"
            "same directory, fsync, rename).\n"
            "\n"
            "Exit status: 0 success, 2 usage or input error.\n");
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "to", required_argument, NULL, 256 },
        { "max-memory", required_argument, NULL, TOOL_OPT_MAX_MEMORY },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *in = NULL, *out = NULL, *to = NULL;
    int c;
    if (tool_memory_init(PROG))
        return TOOL_EXIT_ERROR;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "-:h", longopts, NULL)) != -1) {
        switch (c) {
        case 1:
            if (!in)
                in = optarg;
            else if (!out)
                out = optarg;
            else
                return tool_usage_error(PROG, "unexpected argument '%s'", optarg);
            break;
        case 256: to = optarg; break;
        case TOOL_OPT_MAX_MEMORY:
            if (tool_memory_option(PROG, optarg))
                return TOOL_EXIT_ERROR;
            break;
        case 'h': usage(stdout); return TOOL_EXIT_OK;
        case ':':
            if (optopt == 256)
                return tool_usage_error(PROG, "--to needs a value (tms or python)");
            return tool_option_error(PROG, c, argv, longopts);
        default: return tool_option_error(PROG, c, argv, longopts);
        }
    }
    for (; optind < argc; optind++) {
        if (!in)
            in = argv[optind];
        else if (!out)
            out = argv[optind];
        else
            return tool_usage_error(PROG, "unexpected argument '%s'", argv[optind]);
    }
    if (!in || !out)
        return tool_usage_error(PROG, "expects an input and an output file");
    int to_tms;
    if (!to)
        to_tms = ends_with(out, ".tms");
    else if (strcmp(to, "tms") == 0)
        to_tms = 1;
    else if (strcmp(to, "python") == 0)
        to_tms = 0;
    else
        return tool_usage_error(PROG, "--to must be 'tms' or 'python', not '%s'", to);

    tm_error err = { 0 };
    tm_snapshot *snap = NULL;
    int rc = tool_load_snapshot(in, &snap, &err);
    if (rc)
        return tool_fail(PROG, &err);
    if (to_tms) {
        rc = tm_tms_write(snap, out, NULL, &err);
    } else {
        void *buf = NULL;
        size_t len = 0;
        rc = tm_pyformat_encode(&buf, &len, snap, &err);
        if (rc)
            tm_error_prefix(&err, "%s", out);
        else
            rc = tm_output_write_file(out, buf, len, 0, &err);
        free(buf);
    }
    tm_snapshot_free(snap);
    if (rc)
        return tool_fail(PROG, &err);
    return TOOL_EXIT_OK;
}
