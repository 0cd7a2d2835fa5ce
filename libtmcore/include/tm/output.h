/*
 * tm/output.h — output files that appear atomically.
 *
 * Every file tmkit writes (snapshots, Python dumps, exports) goes through
 * here, so that a killed or failing writer never leaves half a file and an
 * existing file at the path survives any failure:
 *
 *   - a regular file (or a path that does not exist yet) is written to a
 *     temporary file in the same directory, ".NAME.tmp.PID.HEX", created with
 *     O_EXCL and mode 0666 less the umask, fsync'ed, renamed over the target,
 *     and the directory fsync'ed;
 *   - a device, FIFO or socket (`-o /dev/null`, a pipe) is written in place:
 *     renaming over it would replace the node with a regular file (as root,
 *     that destroys /dev/null), and such targets need no atomicity;
 *   - a directory is an error; "-" means standard output.
 *
 * A writer killed between creating its temporary file and the rename leaves
 * the temporary behind; the next write to the same NAME removes temporaries
 * whose writer process is gone and that were not modified for a minute.
 */
#ifndef TM_OUTPUT_H
#define TM_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "tm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    TM_OUTPUT_NO_FSYNC = 1 /* skip fsync of file and directory (tests, benchmarks) */
};

typedef struct tm_output tm_output;

/* Opens an output; write to tm_output_stream(), then commit or abort, both
 * of which free the tm_output. */
int tm_output_open(tm_output **out, const char *path, tm_error *err);
int tm_output_open_flags(tm_output **out, const char *path, unsigned flags, tm_error *err);
FILE *tm_output_stream(tm_output *o);
/* Flushes, fsyncs and renames into place.  On failure the target is left as
 * it was and the temporary file is removed. */
int tm_output_commit(tm_output *o, tm_error *err);
void tm_output_abort(tm_output *o);

/* All of the above for one buffer. */
int tm_output_write_file(const char *path, const void *data, size_t len, unsigned flags,
                         tm_error *err);

#ifdef __cplusplus
}
#endif
#endif
