/*
 * Internal (shared by tmkit's layers, never installed): versioned options
 * structs.  A caller built against an older header passes a smaller struct
 * with its own version number; fields added since keep their defaults.
 * Each library says which sizes it knows (offsetof the first field a
 * version lacks); this is the one place that checks and copies.
 */
#ifndef TM_OPTIONS_H
#define TM_OPTIONS_H

#include <stddef.h>
#include <string.h>

#include "tm/error.h"

/* dst (full size) := defaults, then the first `known` bytes of src when
 * src is not NULL.  known == 0 means the version is unknown: TM_EINVAL
 * naming `what` and the versions this library takes. */
static inline int tm_options_load(void *dst, const void *defaults, size_t size, const void *src,
                                  size_t known, unsigned version, unsigned current,
                                  const char *what, tm_error *err)
{
    memcpy(dst, defaults, size);
    if (!src)
        return TM_OK;
    if (!known)
        return tm_error_set(err, TM_EINVAL, "%s options version %u, this library knows 1..%u", what,
                            version, current);
    memcpy(dst, src, known);
    return TM_OK;
}

#endif
