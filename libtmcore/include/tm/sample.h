/*
 * tm/sample.h — what a trace of a sampled snapshot stands for.
 *
 * A sampled recording (tm_metadata.sample_rate = R > 0 bytes) keeps each
 * allocated block of s bytes with probability
 *
 *     p(s) = 1 - exp(-s / R)
 *
 * independently of every other block: a per-thread byte countdown drawn
 * from an exponential distribution with mean R is memoryless, so whether a
 * block crosses it does not depend on the blocks before.  A kept block then
 * stands for w(s) = 1 / p(s) blocks and s * w(s) bytes.  Summing the weights
 * of the kept blocks (Horvitz-Thompson) estimates the count and the bytes of
 * all blocks without bias at every size, including s > R, where p is close
 * to but below 1 and the weight is close to but above 1.
 *
 * Variance: for a group of blocks, the bytes estimate has variance
 * sum over all blocks of s^2 (1 - p) / p, estimated without bias from the
 * kept ones by sum of s^2 (1 - p) / p^2 (tm_sample_var_bytes); for the count
 * estimate, replace s by 1.  The standard error is its square root.
 */
#ifndef TM_SAMPLE_H
#define TM_SAMPLE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* p(s) for rate R; 1 when R is 0 (an exact snapshot) and for s = 0 blocks
 * (which a sampling recorder keeps only when its countdown says so: their
 * bytes contribute nothing either way). */
double tm_sample_probability(uint64_t size, uint64_t rate);
/* 1 / p(s): the blocks one kept block of s bytes stands for. */
double tm_sample_weight(uint64_t size, uint64_t rate);
/* This kept block's contribution to the variance estimate of a bytes total:
 * s^2 (1 - p) / p^2.  0 for an exact snapshot. */
double tm_sample_var_bytes(uint64_t size, uint64_t rate);
/* The same for a count total: (1 - p) / p^2. */
double tm_sample_var_count(uint64_t size, uint64_t rate);

/* All four terms of one kept block from one p(s) (a per-trace loop should
 * not compute it four times). */
typedef struct tm_sample_terms {
    double weight;    /* w: blocks it stands for */
    double bytes;     /* s * w */
    double var_bytes; /* s^2 (1 - p) / p^2 */
    double var_count; /* (1 - p) / p^2 */
} tm_sample_terms;
tm_sample_terms tm_sample_terms_of(uint64_t size, uint64_t rate);

#ifdef __cplusplus
}
#endif
#endif
