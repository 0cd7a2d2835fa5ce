/* Escaping writers, size formatting and option checks for the exporters. */
#include "export_internal.h"
#include "tm_json.h"
#include "tm_options.h"
#include "tm_utf8.h"

#include <errno.h>
#include <string.h>

int ex_options(const tm_export_options *in, tm_export_options *out, tm_error *err)
{
    const tm_export_options defaults = TM_EXPORT_OPTIONS_INIT;
    tm_export_options d;
    int rc = tm_options_load(&d, &defaults, sizeof d, in, in ? ex_options_size(in->version) : 0,
                             in ? in->version : 0, TM_EXPORT_OPTIONS_VERSION, "export", err);
    if (rc != TM_OK || !in) {
        *out = d;
        return rc;
    }
    in = &d;
    if (in->weight != TM_EXPORT_WEIGHT_SIZE && in->weight != TM_EXPORT_WEIGHT_COUNT)
        return tm_error_set(err, TM_EINVAL, "export options: unknown weight %d", in->weight);
    if (!(in->min_width >= 0 && in->min_width <= 1))
        return tm_error_set(err, TM_EINVAL, "export options: min_width %g is not in [0, 1]",
                            in->min_width);
    *out = *in;
    return TM_OK;
}

size_t ex_options_size(unsigned version)
{
    return version == 1                        ? offsetof(tm_export_options, attribution)
        : version == TM_EXPORT_OPTIONS_VERSION ? sizeof(tm_export_options)
                                               : 0;
}

void ex_put_folded_label(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '\\': fputs("\\\\", f); break;
        case ';': fputs("\\x3b", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\x%02x", c);
            else
                fputc(c, f);
        }
    }
}

static void xml_ascii(FILE *f, unsigned char c)
{
    switch (c) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    case '\t': fputc(' ', f); break;
    default:
        /* XML 1.0 forbids most control characters even as references. */
        if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
}

void ex_put_json_string(FILE *f, const char *s, size_t n)
{
    /* The flame graph embeds its data in a <script> element. */
    (void)tm_json_string(f, s, n, TM_JSON_SHORT_ESCAPES | TM_JSON_HTML);
}

/* Valid UTF-8 as it is (encoded surrogates are not: XML has no such
 * characters), ASCII through xml_ascii, any other byte as a character
 * reference to its Latin-1 character, as the JSON writer does. */
void ex_put_xml_text(FILE *f, const char *s, size_t n)
{
    const uint8_t *u = (const uint8_t *)s;
    for (size_t i = 0; i < n;) {
        uint8_t c = u[i];
        uint32_t cp;
        size_t k = c >= 0x80 ? tm_utf8_seq(u + i, n - i, &cp) : 0;
        if (k && !tm_utf8_surrogate(cp)) {
            fwrite(u + i, 1, k, f);
            i += k;
            continue;
        }
        if (c >= 0x80)
            fprintf(f, "&#x%x;", c);
        else
            xml_ascii(f, c);
        i++;
    }
}

void ex_format_size(char *buf, size_t cap, uint64_t size)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)size;
    for (int u = 0; u < 5; u++) {
        if (v < 100 && u != 0) {
            snprintf(buf, cap, "%.1f %s", v, units[u]);
            return;
        }
        if (v < 10 * 1024 || u == 4) {
            snprintf(buf, cap, "%.0f %s", v, units[u]);
            return;
        }
        v /= 1024;
    }
}

int ex_check_stream(FILE *f, const char *what, tm_error *err)
{
    if (fflush(f) != 0 || ferror(f)) {
        int e = errno;
        return tm_error_set(err, TM_EIO, "%s: write error: %s", what ? what : "output",
                            e ? strerror(e) : "stream error");
    }
    return TM_OK;
}
