/*
 * tm/file.h — reading a whole input file, the one way every reader does it.
 *
 * Snapshots are decoded from memory, so inputs are read whole.  The size
 * from fstat is only a hint (pipes and /proc report 0): the file is read to
 * EOF.  A file past TM_FILE_MAX (the 64 GiB limit of TMS-FORMAT.md §8, also
 * applied to Python dumps) is refused from fstat before anything is read,
 * and a stream is cut off with the same message once it delivered more.
 */
#ifndef TM_FILE_H
#define TM_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "tm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TM_FILE_MAX (UINT64_C(1) << 36)

/* On success *data is a malloc'ed buffer of *len bytes owned by the caller
 * (release with free(); tmkit's own code uses tm_free, so that the memory
 * budget of tm/memory.h sees it go).  The buffer counts against that budget
 * as it grows.  Errors name the path: TM_EIO (open, read, a directory),
 * TM_ELIMIT (past TM_FILE_MAX), TM_ENOMEM (also: past the budget). */
int tm_file_read(void **data, size_t *len, const char *path, tm_error *err);

#ifdef __cplusplus
}
#endif
#endif
