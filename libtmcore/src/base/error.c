#include "tm/error.h"

#include <stdio.h>
#include <string.h>

int tm_error_setv(tm_error *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
    }
    return code;
}

int tm_error_set(tm_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tm_error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int tm_error_prefix(tm_error *err, const char *fmt, ...)
{
    if (!err)
        return TM_OK;
    char prefix[TM_ERROR_MESSAGE_MAX];
    char old[TM_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    old[sizeof old - 1] = '\0';
    /* Truncation is acceptable: the start of a message says the most. */
    size_t n = strnlen(prefix, sizeof prefix);
    if (n > sizeof err->message - 3)
        n = sizeof err->message - 3;
    memcpy(err->message, prefix, n);
    memcpy(err->message + n, ": ", 2);
    size_t room = sizeof err->message - n - 2;
    size_t m = strnlen(old, room - 1);
    memcpy(err->message + n + 2, old, m);
    err->message[n + 2 + m] = '\0';
    return err->code;
}

const char *tm_error_code_name(int code)
{
    switch (code) {
    case TM_OK: return "success";
    case TM_ENOMEM: return "out of memory";
    case TM_EIO: return "I/O error";
    case TM_EFORMAT: return "malformed input";
    case TM_EVERSION: return "unsupported version";
    case TM_EINVAL: return "invalid argument";
    case TM_ELIMIT: return "limit exceeded";
    case TM_ENOTFOUND: return "not found";
    default: return "unknown error";
    }
}
