/* Output files that appear atomically: a temporary file in the same
 * directory, fsync'ed and renamed over the target on commit. */
#include "tm/export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tm_alloc.h"

struct tm_output {
    FILE *f;
    int is_stdout;
    char *path;
    char *tmp;
};

int tm_output_open(tm_output **out, const char *path, tm_error *err)
{
    if (!path || !*path)
        return tm_error_set(err, TM_EINVAL, "output: empty file name");
    tm_output *o = tm_calloc(1, sizeof *o);
    if (!o)
        return tm_error_set(err, TM_ENOMEM, "%s: out of memory", path);
    if (strcmp(path, "-") == 0) {
        o->f = stdout;
        o->is_stdout = 1;
        *out = o;
        return TM_OK;
    }
    size_t n = strlen(path);
    o->path = tm_strndup(path, n);
    o->tmp = tm_malloc(n + 16);
    if (!o->path || !o->tmp) {
        tm_output_abort(o);
        return tm_error_set(err, TM_ENOMEM, "%s: out of memory", path);
    }
    /* Same directory as the target, so that rename() cannot cross devices. */
    snprintf(o->tmp, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkostemp(o->tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        tm_free(o->tmp);
        o->tmp = NULL;
        tm_output_abort(o);
        return tm_error_set(err, TM_EIO, "%s: cannot create a temporary file: %s", path,
                            strerror(e));
    }
    /* mkostemp makes 0600; an export is an ordinary document. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    o->f = fdopen(fd, "w");
    if (!o->f) {
        int e = errno;
        close(fd);
        tm_output_abort(o);
        return tm_error_set(err, TM_ENOMEM, "%s: cannot open a stream: %s", path, strerror(e));
    }
    *out = o;
    return TM_OK;
}

FILE *tm_output_stream(tm_output *o)
{
    return o->f;
}

int tm_output_commit(tm_output *o, tm_error *err)
{
    int rc = TM_OK;
    const char *name = o->is_stdout ? "<stdout>" : o->path;
    if (fflush(o->f) != 0 || ferror(o->f)) {
        rc = tm_error_set(err, TM_EIO, "%s: write error: %s", name, strerror(errno));
    } else if (!o->is_stdout) {
        if (fsync(fileno(o->f)) != 0 && errno != EINVAL && errno != EROFS)
            rc = tm_error_set(err, TM_EIO, "%s: fsync failed: %s", name, strerror(errno));
        if (fclose(o->f) != 0 && rc == TM_OK)
            rc = tm_error_set(err, TM_EIO, "%s: close failed: %s", name, strerror(errno));
        o->f = NULL;
        if (rc == TM_OK && rename(o->tmp, o->path) != 0)
            rc = tm_error_set(err, TM_EIO, "%s: cannot rename %s into place: %s", name,
                              o->tmp, strerror(errno));
        if (rc == TM_OK) {
            tm_free(o->tmp);
            o->tmp = NULL;
        }
    }
    tm_output_abort(o);
    return rc;
}

void tm_output_abort(tm_output *o)
{
    if (!o)
        return;
    if (o->f && !o->is_stdout)
        fclose(o->f);
    if (o->tmp)
        unlink(o->tmp);
    tm_free(o->tmp);
    tm_free(o->path);
    tm_free(o);
}
