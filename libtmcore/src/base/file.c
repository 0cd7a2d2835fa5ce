/* Reading whole input files; the contract is in tm/file.h. */
#include "tm/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tm_alloc.h"

int tm_file_read(void **data, size_t *len, const char *path, tm_error *err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tm_error_set(err, TM_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return tm_error_set(err, TM_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return tm_error_set(err, TM_EIO, "%s: is a directory", path);
    }
    /* Past the limit we say so instead of letting malloc or the OOM killer
     * answer. */
    if ((uint64_t)st.st_size > TM_FILE_MAX) {
        close(fd);
        return tm_error_set(err, TM_ELIMIT,
                            "%s: file of %llu bytes exceeds the 64 GiB limit "
                            "for snapshots",
                            path, (unsigned long long)st.st_size);
    }
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 65536, n = 0;
    char *buf = NULL;
    int rc = TM_OK;
    for (;;) {
        if (n == cap || !buf) {
            if ((uint64_t)n > TM_FILE_MAX) {
                rc = tm_error_set(err, TM_ELIMIT,
                                  "%s: input exceeds the 64 GiB limit for "
                                  "snapshots",
                                  path);
                break;
            }
            size_t ncap = buf ? cap * 2 : cap;
            char *nb = ncap < cap ? NULL : tm_realloc(buf, ncap);
            if (!nb) {
                rc =
                    tm_error_set(err, TM_ENOMEM, "%s: out of memory reading %zu bytes", path, ncap);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = tm_error_set(err, TM_EIO, "%s: read error at byte %zu: %s", path, n,
                              strerror(errno));
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (rc) {
        tm_free(buf);
        return rc;
    }
    *data = buf;
    *len = n;
    return TM_OK;
}
