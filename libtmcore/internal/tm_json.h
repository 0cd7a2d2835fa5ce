/*
 * tmkit's one JSON string writer, for the tools' reports and the exporters.
 *
 * What is valid UTF-8 (tm_utf8.h, encoded surrogates excluded: RFC 8259
 * text cannot carry them) is copied as it is; every other byte b becomes
 * the escape \u00XX of b, so the string reads as UTF-8 where it is UTF-8
 * and as Latin-1 where it is not, and the output is always valid JSON.
 */
#ifndef TM_JSON_H
#define TM_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Escapes beyond the ones JSON needs (", \ and U+0000..U+001F). */
enum {
    /* \n \r \t rather than \u000a \u000d \u0009: easier to read. */
    TM_JSON_SHORT_ESCAPES = 1u << 0,
    /* < > & and DEL as \u00XX, so that the string can sit inside an HTML
     * <script> element: no "</script>" or "<!--", no control character. */
    TM_JSON_HTML = 1u << 1,
};

/* Writes s[0..n) (NUL bytes included) as a JSON string, quotes included.
 * Returns TM_OK, or TM_EIO when the stream failed; callers that write many
 * values may instead check the stream once at the end. */
int tm_json_string(FILE *f, const char *s, size_t n, unsigned flags);

#endif
