/*
 * Internal: a sampled snapshot's estimate (tm/sample.h: a sum of weights
 * or of weighted sizes) as the integer every output prints — rounded to
 * the nearest, saturated at 2^64 - 1.  Statistics and exports round the
 * same way, so that a flame graph's total is tmstat's.
 */
#ifndef TM_ESTIMATE_H
#define TM_ESTIMATE_H

#include <math.h>
#include <stdint.h>

static inline uint64_t tm_estimate_u64(double x)
{
    if (!(x > 0))
        return 0;
    if (x >= 18446744073709551615.0)
        return UINT64_MAX;
    return (uint64_t)llround(x);
}

#endif
