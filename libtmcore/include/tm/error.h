/*
 * tm/error.h — how every tmkit function reports failure.
 *
 * Every fallible function returns an int: TM_OK (0) on success, or one of the
 * TM_E* codes below.  It also takes a `tm_error *` (which may be NULL) that is
 * filled with a human-readable message naming *what* went wrong and *where*:
 *
 *     a.tms: section 'traces' at byte 4096: checksum mismatch
 *
 * The message buffer lives inside the struct, so a tm_error never needs to be
 * freed and can sit on the stack.  Functions only write to it on failure.
 *
 * Argument order: out-parameters first, then the object worked on, then the
 * inputs, then the tm_error:
 *
 *     int tm_snapshot_intern_string(uint32_t *out_id, tm_snapshot *snap,
 *                                   const char *s, size_t len, tm_error *err);
 *
 * A stdio stream that output is written to is an input here, not an
 * out-parameter.  Accessors that cannot fail return their result instead
 * (an optional by-product such as a length comes last).
 */
#ifndef TM_ERROR_H
#define TM_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    TM_OK = 0,
    TM_ENOMEM = 1,   /* an allocation failed */
    TM_EIO = 2,      /* the operating system refused a read, write, rename ... */
    TM_EFORMAT = 3,  /* input is malformed: bad magic, checksum, length, value */
    TM_EVERSION = 4, /* input needs a newer reader (unknown major / critical section) */
    TM_EINVAL = 5,   /* the caller passed an invalid argument */
    TM_ELIMIT = 6,   /* input is well-formed but exceeds a documented limit */
    TM_ENOTFOUND = 7 /* a looked-up item does not exist */
};

#define TM_ERROR_MESSAGE_MAX 1024

typedef struct tm_error {
    int code;
    char message[TM_ERROR_MESSAGE_MAX];
} tm_error;

/* Records code and a printf-style message in err (if err is non-NULL) and
 * returns code, so that callers can write `return tm_error_set(err, ...)`. */
int tm_error_set(tm_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int tm_error_setv(tm_error *err, int code, const char *fmt, va_list ap);

/* Prepends "prefix: " to an existing message, e.g. the file name once the
 * caller knows it.  Returns err->code (TM_OK if err is NULL). */
int tm_error_prefix(tm_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A short constant name for a code: "out of memory", "I/O error", ... */
const char *tm_error_code_name(int code);

#ifdef __cplusplus
}
#endif
#endif
