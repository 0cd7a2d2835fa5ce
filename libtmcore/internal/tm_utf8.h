/*
 * tmkit's one UTF-8 decoder, for every layer: pattern matching, the line
 * cache, the pickle reader and writer, the exporters and the JSON writer.
 * One set of rules (Unicode's well-formed sequences) so that a string is
 * valid or invalid alike wherever it goes.
 */
#ifndef TM_UTF8_H
#define TM_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the well-formed UTF-8 sequence at s[0..n), or 0 if none
 * starts there; *cp gets its code point.  Surrogates (U+D800..U+DFFF, as
 * Python's surrogateescape writes them) are accepted: callers that must
 * reject them look at *cp. */
static inline size_t tm_utf8_seq(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    uint32_t v = c & (0x3fu >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3fu);
    }
    if (v < min || v > 0x10ffff)
        return 0;
    *cp = v;
    return len;
}

/* Python's strict decoder and JSON refuse encoded surrogates, Python's
 * surrogatepass and surrogateescape produce them. */
static inline int tm_utf8_surrogate(uint32_t cp)
{
    return cp >= 0xd800 && cp <= 0xdfff;
}

#endif
