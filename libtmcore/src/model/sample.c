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

double tm_sample_var_bytes(uint64_t size, uint64_t rate)
{
    double p = tm_sample_probability(size, rate);
    double s = (double)size;
    return s * s * (1.0 - p) / (p * p);
}

double tm_sample_var_count(uint64_t size, uint64_t rate)
{
    double p = tm_sample_probability(size, rate);
    return (1.0 - p) / (p * p);
}
