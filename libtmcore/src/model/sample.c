/* Weights of a Poisson sample by bytes (tm/sample.h). */
#include "tm/sample.h"

#include <math.h>

double tm_sample_probability(uint64_t size, uint64_t rate)
{
    if (rate == 0)
        return 1.0;
    if (size == 0)
        return 1.0;
    /* expm1 keeps p accurate for s much smaller than R, where 1 - exp(-x)
     * would lose most of its digits. */
    return -expm1(-(double)size / (double)rate);
}

double tm_sample_weight(uint64_t size, uint64_t rate)
{
    return 1.0 / tm_sample_probability(size, rate);
}

tm_sample_terms tm_sample_terms_of(uint64_t size, uint64_t rate)
{
    double p = tm_sample_probability(size, rate), w = 1.0 / p, s = (double)size;
    double v = (1.0 - p) / (p * p);
    return (tm_sample_terms){ w, s * w, s * s * v, v };
}

double tm_sample_var_bytes(uint64_t size, uint64_t rate)
{
    return tm_sample_terms_of(size, rate).var_bytes;
}

double tm_sample_var_count(uint64_t size, uint64_t rate)
{
    return tm_sample_terms_of(size, rate).var_count;
}
