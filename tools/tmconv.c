/*
 * tmconv — converts snapshots between .tms and Python tracemalloc dumps.
 */
#include <errno.h>
#include <fcntl.h>
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
            "usage: tmconv IN OUT [--to tms|python]\n"
            "\n"
            "Converts a snapshot.  IN may be a .tms file or a Python\n"
            "tracemalloc.Snapshot.dump() file (detected by content).\n"
            "\n"
            "  --to tms      write a .tms snapshot\n"
            "  --to python   write a pickle that tracemalloc.Snapshot.load() reads\n"
            "                (native frames become their source file and line, or\n"
            "                \"<unknown>\", line 0 when not symbolized; inlined calls\n"
            "                become separate frames)\n"
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
    const char *in = NULL, *out = NULL, *to = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return TOOL_EXIT_OK;
        } else if (strcmp(a, "--to") == 0) {
            if (i + 1 >= argc)
                return tool_usage_error(PROG, "--to needs a value (tms or python)");
            to = argv[++i];
        } else if (strncmp(a, "--to=", 5) == 0) {
            to = a + 5;
        } else if (a[0] == '-' && a[1] != '\0' && strcmp(a, "--") != 0) {
            return tool_usage_error(PROG, "unknown option '%s'", a);
        } else if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++) {
                if (!in)
                    in = argv[i];
                else if (!out)
                    out = argv[i];
                else
                    return tool_usage_error(PROG, "unexpected argument '%s'", argv[i]);
            }
        } else if (!in) {
            in = a;
        } else if (!out) {
            out = a;
        } else {
            return tool_usage_error(PROG, "unexpected argument '%s'", a);
        }
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
