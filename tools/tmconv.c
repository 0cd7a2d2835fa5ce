/*
 * tmconv — converts snapshots between .tms and Python tracemalloc dumps.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Writes buf to path via a temporary file in the same directory. */
static int write_atomic(const char *path, const void *buf, size_t len, tm_error *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return tm_error_set(err, TM_ENOMEM, "%s: out of memory", path);
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return tm_error_set(err, TM_EIO, "%s: cannot create a temporary file: %s", path,
                            strerror(e));
    }
    const char *p = buf;
    size_t left = len;
    int e = 0;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            e = errno;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    /* mkstemp creates 0600; give the file the mode open() would have. */
    mode_t mask = umask(0);
    umask(mask);
    if (!e && fchmod(fd, 0666 & ~mask) != 0)
        e = errno;
    if (!e && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        free(tmp);
        return tm_error_set(err, TM_EIO, "%s: cannot write: %s", path, strerror(e));
    }
    /* Make the rename itself durable. */
    char *dir = strdup(path);
    if (dir) {
        int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    free(tmp);
    return TM_OK;
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
        rc = tm_snapshot_write(snap, out, NULL, &err);
    } else {
        void *buf = NULL;
        size_t len = 0;
        rc = tm_pyformat_encode(snap, &buf, &len, &err);
        if (rc)
            tm_error_prefix(&err, "%s", out);
        else
            rc = write_atomic(out, buf, len, &err);
        free(buf);
    }
    tm_snapshot_free(snap);
    if (rc)
        return tool_fail(PROG, &err);
    return TOOL_EXIT_OK;
}
