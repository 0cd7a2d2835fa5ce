/* Sizes written by people (tm_size.h). */
#include "tm_size.h"

#include <stdio.h>
#include <string.h>

static int fail_msg(char *msg, size_t len, const char *fmt, const char *s)
{
    snprintf(msg, len, fmt, s);
    return -1;
}

int tm_size_parse(uint64_t *bytes, int *is_pct, uint64_t *pct, const char *s, char *msg,
                  size_t msglen)
{
    const char *bad = pct ? "'%s' is not a size (examples: 4096, 512KiB, 1.5MiB, 2G, or 5%%)"
                          : "'%s' is not a size (examples: 4096, 512KiB, 1.5MiB, 2G)";
    const char *p = s;
    *bytes = 0;
    if (is_pct)
        *is_pct = 0;
    if (*p < '0' || *p > '9')
        return fail_msg(msg, msglen, bad, s);
    uint64_t ip = 0, frac = 0, fden = 1;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (ip > (UINT64_MAX - d) / 10)
            return fail_msg(msg, msglen, "'%s' is too large", s);
        ip = ip * 10 + d;
    }
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return fail_msg(msg, msglen, bad, s);
        for (; *p >= '0' && *p <= '9'; p++) {
            if (fden == TM_SIZE_PCT_SCALE)
                return fail_msg(msg, msglen, "'%s' has more than 6 decimals", s);
            frac = frac * 10 + (uint64_t)(*p - '0');
            fden *= 10;
        }
    }
    if (*p == '%') {
        if (!pct)
            return fail_msg(msg, msglen, "'%s': a percentage is not a size here", s);
        if (p[1])
            return fail_msg(msg, msglen, bad, s);
        if (ip > 1000000000) /* 10^9 % keeps pct * size within 128 bits */
            return fail_msg(msg, msglen, "'%s' is too large", s);
        *is_pct = 1;
        *pct = ip * TM_SIZE_PCT_SCALE + frac * (TM_SIZE_PCT_SCALE / fden);
        return 0;
    }
    if (*p == ' ')
        p++;
    char unit[8];
    size_t n = strlen(p);
    if (n >= sizeof unit)
        return fail_msg(msg, msglen, bad, s);
    for (size_t i = 0; i <= n; i++)
        unit[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] - 'A' + 'a' : p[i]);
    static const char *const names[] = { "k", "m", "g", "t" };
    int shift = -1;
    if (n == 0 && p == s + strlen(s) && p[-1] != ' ')
        shift = 0;
    else if (strcmp(unit, "b") == 0)
        shift = 0;
    for (int i = 0; i < 4 && shift < 0; i++) {
        size_t l = strlen(names[i]);
        if (strncmp(unit, names[i], l) != 0)
            continue;
        if (strcmp(unit + l, "") == 0 || strcmp(unit + l, "ib") == 0)
            shift = 10 * (i + 1);
        else if (strcmp(unit + l, "b") == 0)
            return fail_msg(msg, msglen,
                            "'%s': kB, MB, GB, TB are ambiguous (1000 or 1024?): write "
                            "KiB, MiB, GiB, TiB (or K, M, G, T), which are 1024-based",
                            s);
    }
    if (shift < 0)
        return fail_msg(msg, msglen, bad, s);
    uint64_t mult = 1ull << shift;
    if (ip > UINT64_MAX / mult)
        return fail_msg(msg, msglen, "'%s' is too large", s);
    /* frac < 10^6 and mult <= 2^40: the product fits in 64 bits */
    uint64_t part = (frac * mult + fden / 2) / fden;
    if (ip * mult > UINT64_MAX - part)
        return fail_msg(msg, msglen, "'%s' is too large", s);
    *bytes = ip * mult + part;
    return 0;
}
