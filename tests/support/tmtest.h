/* Shared helpers for cmocka tests. */
#ifndef TMTEST_H
#define TMTEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tm/snapshot.h"

/* Deterministic PRNG (xorshift64*), so a failing seed can be replayed. */
typedef struct tmtest_rng {
    uint64_t s;
} tmtest_rng;
void tmtest_rng_seed(tmtest_rng *r, uint64_t seed);
uint64_t tmtest_rng_next(tmtest_rng *r);
uint64_t tmtest_rng_below(tmtest_rng *r, uint64_t n); /* 0..n-1, n > 0 */

/* Asserts rc == TM_OK and prints the error message otherwise. */
#define tmtest_ok(rc, err) tmtest_ok_impl((rc), (err), __FILE__, __LINE__)
void tmtest_ok_impl(int rc, const tm_error *err, const char *file, int line);

#endif
