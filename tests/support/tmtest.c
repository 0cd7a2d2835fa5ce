#include "tmtest.h"

#include <stdio.h>

void tmtest_rng_seed(tmtest_rng *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9E3779B97F4A7C15ull;
}

uint64_t tmtest_rng_next(tmtest_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}

uint64_t tmtest_rng_below(tmtest_rng *r, uint64_t n)
{
    return tmtest_rng_next(r) % n;
}

void tmtest_ok_impl(int rc, const tm_error *err, const char *file, int line)
{
    if (rc != TM_OK) {
        fprintf(stderr, "%s:%d: unexpected error %d: %s\n", file, line, rc,
                err ? err->message : "(no message)");
        _fail(file, line);
    }
}
