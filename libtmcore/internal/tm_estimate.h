/*
 * Internal: what every output of a sampled snapshot shares.  An estimate
 * (tm/sample.h: a sum of weights or of weighted sizes) as the integer every
 * output prints — rounded to the nearest, saturated at 2^64 - 1 — so that a
 * flame graph's total is tmstat's; and the rate as the header lines name it.
 */
#ifndef TM_ESTIMATE_H
#define TM_ESTIMATE_H

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

static inline uint64_t tm_estimate_u64(double x)
{
    if (!(x > 0))
        return 0;
    if (x >= 18446744073709551615.0)
        return UINT64_MAX;
    return (uint64_t)llround(x);
}

/* The rate exactly, in the largest binary unit that divides it ("512 KiB",
 * "1 MiB", "1000 B"): tracemalloc's size format would round it. */
static inline const char *tm_sample_rate_text(char *buf, size_t cap, uint64_t rate)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    while (u < 4 && rate && rate % 1024 == 0) {
        rate /= 1024;
        u++;
    }
    snprintf(buf, cap, "%" PRIu64 " %s", rate, units[u]);
    return buf;
}

#endif
