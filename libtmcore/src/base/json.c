/* The JSON string writer; the contract is in tm_json.h. */
#include "tm_json.h"

#include <stdint.h>

#include "tm/error.h"
#include "tm_utf8.h"

static int put_escape(FILE *f, uint8_t c, unsigned flags)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
    size_t len = 6;
    if (c == '"' || c == '\\') {
        e[1] = (char)c;
        len = 2;
    } else if (flags & TM_JSON_SHORT_ESCAPES) {
        char s = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : 0;
        if (s) {
            e[1] = s;
            len = 2;
        }
    }
    return fwrite(e, 1, len, f) == len;
}

int tm_json_string(FILE *f, const char *s, size_t n, unsigned flags)
{
    const uint8_t *u = (const uint8_t *)s;
    const int html = (flags & TM_JSON_HTML) != 0;
    int ok = putc('"', f) != EOF;
    /* Bytes that need no escape are written in runs: file names are
     * mostly such bytes, and a report writes thousands of them. */
    size_t run = 0;
    for (size_t i = 0; i < n;) {
        uint8_t c = u[i];
        if (c >= 0x80) {
            uint32_t cp;
            size_t k = tm_utf8_seq(u + i, n - i, &cp);
            if (k && !tm_utf8_surrogate(cp)) {
                i += k;
                continue;
            }
        } else if (c >= 0x20 && c != '"' && c != '\\' &&
                   !(html && (c == '<' || c == '>' || c == '&' || c == 0x7f))) {
            i++;
            continue;
        }
        if (i > run && fwrite(u + run, 1, i - run, f) != i - run)
            ok = 0;
        ok &= put_escape(f, c, flags);
        run = ++i;
    }
    if (n > run && fwrite(u + run, 1, n - run, f) != n - run)
        ok = 0;
    ok &= putc('"', f) != EOF;
    return ok ? TM_OK : TM_EIO;
}
