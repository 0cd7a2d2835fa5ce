/*
 * Atomic output files; the contract is in tm/output.h.
 */
#include "tm/output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tm_alloc.h"

/* Seconds a dead writer's temporary file must have been left alone before
 * another writer removes it: the age protects a live writer whose PID we
 * cannot see (another PID namespace sharing the directory), whose writes
 * keep the mtime fresh. */
#define STALE_TEMP_AGE 60

struct tm_output {
    FILE *f;
    unsigned flags;
    int in_place; /* stdout or a device/FIFO: no temporary, no rename */
    int is_stdout;
    char *path;
    char *tmp; /* NULL when in place */
    char *dir;
};

static void clean_stale_temps(const char *dir, const char *base);

static int open_in_place(tm_output *o, const char *path, tm_error *err)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return tm_error_set(err, TM_EIO, "%s: cannot open: %s", path, strerror(errno));
    o->f = fdopen(fd, "w");
    if (!o->f) {
        int e = errno;
        close(fd);
        return tm_error_set(err, TM_ENOMEM, "%s: cannot open a stream: %s", path, strerror(e));
    }
    o->in_place = 1;
    return TM_OK;
}

static int open_temp(tm_output *o, const char *path, tm_error *err)
{
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) : 0;
    const char *base = slash ? slash + 1 : path;
    if (!*base)
        return tm_error_set(err, TM_EIO, "%s: cannot write: is a directory", path);
    size_t tlen = strlen(path) + 64;
    o->tmp = tm_malloc(tlen);
    o->dir = tm_malloc(dlen + 2);
    if (!o->tmp || !o->dir)
        return tm_error_set(err, TM_ENOMEM, "%s: out of memory", path);
    if (!slash)
        strcpy(o->dir, ".");
    else if (dlen == 0)
        strcpy(o->dir, "/");
    else {
        memcpy(o->dir, path, dlen);
        o->dir[dlen] = '\0';
    }
    /* Not mkstemp(): it creates mode 0600, and fixing that needs umask(),
     * which is process-wide and racy inside a traced multi-threaded program.
     * O_EXCL with 0666 lets the kernel apply the umask. */
    static unsigned long counter;
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        unsigned long salt =
            (unsigned long)ts.tv_nsec ^ (__atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) << 20);
        snprintf(o->tmp, tlen, "%.*s%s.%s.tmp.%ld.%lx", (int)dlen, path, slash ? "/" : "", base,
                 (long)getpid(), salt & 0xffffffffUL);
        fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int e = errno;
        tm_free(o->tmp);
        o->tmp = NULL;
        return tm_error_set(err, TM_EIO, "%s: cannot create a temporary file in %s: %s", path,
                            o->dir, strerror(e));
    }
    o->f = fdopen(fd, "w");
    if (!o->f) {
        int e = errno;
        close(fd);
        return tm_error_set(err, TM_ENOMEM, "%s: cannot open a stream: %s", path, strerror(e));
    }
    clean_stale_temps(o->dir, base);
    return TM_OK;
}

int tm_output_open_flags(tm_output **out, const char *path, unsigned flags, tm_error *err)
{
    if (!path || !*path)
        return tm_error_set(err, TM_EINVAL, "output: empty file name");
    tm_output *o = tm_calloc(1, sizeof *o);
    if (!o)
        return tm_error_set(err, TM_ENOMEM, "%s: out of memory", path);
    o->flags = flags;
    if (strcmp(path, "-") == 0) {
        o->f = stdout;
        o->is_stdout = o->in_place = 1;
        *out = o;
        return TM_OK;
    }
    o->path = tm_strndup(path, strlen(path));
    if (!o->path) {
        tm_output_abort(o);
        return tm_error_set(err, TM_ENOMEM, "%s: out of memory", path);
    }
    struct stat st;
    int rc;
    int exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode))
        rc = tm_error_set(err, TM_EIO, "%s: cannot write: is a directory", path);
    else if (exists && !S_ISREG(st.st_mode))
        rc = open_in_place(o, path, err);
    else
        rc = open_temp(o, path, err);
    if (rc) {
        tm_output_abort(o);
        return rc;
    }
    *out = o;
    return TM_OK;
}

int tm_output_open(tm_output **out, const char *path, tm_error *err)
{
    return tm_output_open_flags(out, path, 0, err);
}

FILE *tm_output_stream(tm_output *o)
{
    return o->f;
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int tm_output_commit(tm_output *o, tm_error *err)
{
    const char *name = o->is_stdout ? "<stdout>" : o->path;
    int rc = TM_OK;
    int sync = !(o->flags & TM_OUTPUT_NO_FSYNC) && !o->in_place;
    if (fflush(o->f) != 0 || ferror(o->f))
        rc = tm_error_set(err, TM_EIO, "%s: write error: %s", name, strerror(errno));
    else if (sync && fsync(fileno(o->f)) != 0)
        rc = tm_error_set(err, TM_EIO, "%s: fsync failed: %s", name, strerror(errno));
    if (!o->is_stdout) {
        int e = errno;
        if (fclose(o->f) != 0 && rc == TM_OK)
            rc = tm_error_set(err, TM_EIO, "%s: close failed: %s", name, strerror(errno));
        errno = e;
    }
    o->f = NULL;
    if (rc == TM_OK && o->tmp) {
        if (rename(o->tmp, o->path) != 0)
            rc = tm_error_set(err, TM_EIO, "%s: cannot rename %s into place: %s", name, o->tmp,
                              strerror(errno));
        else {
            tm_free(o->tmp);
            o->tmp = NULL;
            /* The file is in place; only the rename's durability can fail. */
            if (sync && sync_dir(o->dir) != 0)
                rc = tm_error_set(err, TM_EIO, "%s: fsync of directory %s: %s", name, o->dir,
                                  strerror(errno));
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
    tm_free(o->dir);
    tm_free(o->path);
    tm_free(o);
}

int tm_output_write_file(const char *path, const void *data, size_t len, unsigned flags,
                         tm_error *err)
{
    tm_output *o;
    int rc = tm_output_open_flags(&o, path, flags, err);
    if (rc)
        return rc;
    if (len && fwrite(data, 1, len, o->f) != len) {
        int e = errno;
        tm_output_abort(o);
        return tm_error_set(err, TM_EIO, "%s: cannot write: %s", path, strerror(e));
    }
    return tm_output_commit(o, err);
}

/* --- stale temporaries ----------------------------------------------- */

/* Parses "<pid>.<hex>" (the part after ".NAME.tmp."); 0 if malformed. */
static long temp_owner(const char *p)
{
    long pid = 0;
    const char *q = p;
    for (; *q >= '0' && *q <= '9' && q - p < 10; q++)
        pid = pid * 10 + (*q - '0');
    if (q == p || *q != '.' || pid <= 0)
        return 0;
    const char *h = ++q;
    for (; (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f'); q++)
        ;
    return q > h && q - h <= 8 && *q == '\0' ? pid : 0;
}

/* Removes ".BASE.tmp.PID.HEX" files in dir whose writer is gone (kill(PID,
 * 0) says ESRCH) and that are older than STALE_TEMP_AGE.  Best effort:
 * errors are ignored, other files are never touched. */
static void clean_stale_temps(const char *dir, const char *base)
{
    size_t blen = strlen(base);
    DIR *d = opendir(dir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (n[0] != '.' || strncmp(n + 1, base, blen) != 0 ||
            strncmp(n + 1 + blen, ".tmp.", 5) != 0)
            continue;
        long pid = temp_owner(n + 1 + blen + 5);
        if (pid == 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            now - st.st_mtime < STALE_TEMP_AGE)
            continue;
        unlinkat(dirfd(d), n, 0);
    }
    closedir(d);
}
