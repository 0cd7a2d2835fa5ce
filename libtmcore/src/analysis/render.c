/* Text exactly as tracemalloc prints it: _format_size, str(Statistic),
 * str(StatisticDiff), Traceback.format with linecache's stripped lines. */
#include "tm/render.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "an_internal.h"
#include "tm_alloc.h"
#include "tm_hash.h"
#include "tm_utf8.h"

char *tm_format_size(char *buf, double size, int sign)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    for (int i = 0; i < 5; i++) {
        /* glibc's printf rounds correctly, as Python's %-formatting does */
        if (fabs(size) < 100 && i != 0) {
            snprintf(buf, TM_SIZE_TEXT_MAX, sign ? "%+.1f %s" : "%.1f %s", size, units[i]);
            return buf;
        }
        if (fabs(size) < 10 * 1024 || i == 4) {
            snprintf(buf, TM_SIZE_TEXT_MAX, sign ? "%+.0f %s" : "%.0f %s", size, units[i]);
            return buf;
        }
        /* Python divides the int exactly then rounds; converting first and
         * dividing by a power of two rounds the same way. */
        size /= 1024;
    }
    return buf;
}

char *tm_format_size_i64(char *buf, int64_t size, int sign)
{
    return tm_format_size(buf, (double)size, sign);
}

char *tm_format_size_u64(char *buf, uint64_t size, int sign)
{
    return tm_format_size(buf, (double)size, sign);
}

double tm_stat_average(uint64_t size, uint64_t count)
{
    const uint64_t exact = 1ull << 53;
    if (size < exact && count < exact)
        return (double)size / (double)count; /* one correctly rounded division */
    /* beyond 2^53 Python's int division is still exact-then-rounded; the
     * 64-bit mantissa of long double gets within double rounding of it */
    return (double)((long double)size / (long double)count);
}

static void put_key(FILE *out, const tm_stats *st, const tm_statistic *s)
{
    /* str(Traceback) is its first (oldest) frame */
    const tm_stat_frame *f = &s->frames[0];
    fwrite(f->filename, 1, f->filename_len, out);
    tm_key_type k = tm_stats_key(st);
    if (k != TM_KEY_FUNCTION && k != TM_KEY_MODULE)
        fprintf(out, ":%" PRIu32, f->lineno);
}

int tm_render_stat(FILE *out, const tm_stats *st, const tm_statistic *s, tm_error *err)
{
    char a[TM_SIZE_TEXT_MAX], b[TM_SIZE_TEXT_MAX], c[TM_SIZE_TEXT_MAX];
    put_key(out, st, s);
    if (tm_stats_is_diff(st))
        fprintf(out, ": size=%s (%s), count=%" PRIu64 " (%+" PRId64 ")",
                tm_format_size_u64(a, s->size, 0), tm_format_size_i64(b, s->size_diff, 1), s->count,
                s->count_diff);
    else
        fprintf(out, ": size=%s, count=%" PRIu64, tm_format_size_u64(a, s->size, 0), s->count);
    if (s->count)
        fprintf(out, ", average=%s", tm_format_size(c, tm_stat_average(s->size, s->count), 0));
    return ferror(out) ? tm_error_set(err, TM_EIO, "write error") : TM_OK;
}

/* --- linecache --------------------------------------------------------- */

typedef struct lc_file {
    char *name;
    char *text; /* lines, each stripped and NUL-terminated */
    char **lines;
    size_t nlines;
} lc_file;

struct tm_linecache {
    lc_file **files;
    size_t nfiles, files_cap;
    tm_hindex index; /* file name -> files[] */
};

int tm_linecache_new(tm_linecache **out, tm_error *err)
{
    *out = tm_calloc(1, sizeof **out);
    return *out ? TM_OK : tm_error_set(err, TM_ENOMEM, "out of memory (line cache)");
}

static void lc_file_free(lc_file *f)
{
    tm_free(f->name);
    tm_free(f->text);
    tm_free(f->lines);
    tm_free(f);
}

void tm_linecache_free(tm_linecache *lc)
{
    if (!lc)
        return;
    for (size_t i = 0; i < lc->nfiles; i++)
        lc_file_free(lc->files[i]);
    tm_free(lc->files);
    tm_hindex_free(&lc->index);
    tm_free(lc);
}

/* str.isspace() for the code points str.strip() removes */
static int py_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
        c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
        c == 0x205f || c == 0x3000;
}

/* Strict UTF-8 as Python's decoder: no surrogates, no overlongs. */
static int valid_utf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = tm_utf8_seq(s + i, n - i, &cp);
        if (!k || tm_utf8_surrogate(cp))
            return 0;
        i += k;
    }
    return 1;
}

/* Strips in place (Python's str.strip), returns the start. */
static char *strip(char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t b = 0, e = len;
    uint32_t cp = 0;
    /* The text is valid UTF-8 (load_file), so every decode succeeds. */
    while (b < e) {
        size_t k = tm_utf8_seq(u + b, e - b, &cp);
        if (!py_space(cp))
            break;
        b += k;
    }
    while (e > b) {
        size_t k = 1;
        while (k < e - b && k < 4 && (u[e - k] & 0xc0) == 0x80)
            k++;
        tm_utf8_seq(u + e - k, k, &cp);
        if (!py_space(cp))
            break;
        e -= k;
    }
    s[e] = 0;
    return s + b;
}

/* NULL only when out of memory: a file that cannot be opened or decoded is
 * cached without lines, but one that did not fit in memory is not cached,
 * since "no such line" would be a wrong answer. */
static lc_file *load_file(const char *name)
{
    lc_file *f = tm_calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->name = tm_strndup(name, strlen(name));
    if (!f->name) {
        tm_free(f);
        return NULL;
    }
    size_t nlen = strlen(name);
    if (nlen == 0 || (name[0] == '<' && name[nlen - 1] == '>'))
        return f; /* linecache never opens these */
    FILE *fp = fopen(name, "rb");
    if (!fp)
        return f;
    size_t cap = 0, n = 0;
    char *text = NULL, chunk[65536];
    for (size_t got; (got = fread(chunk, 1, sizeof chunk, fp)) > 0;) {
        if (tm_grow((void **)&text, &cap, n + got + 1, 1) != 0) {
            tm_free(text);
            fclose(fp);
            goto nomem;
        }
        memcpy(text + n, chunk, got);
        n += got;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad || !text || !valid_utf8((const uint8_t *)text, n)) {
        tm_free(text); /* unreadable or not UTF-8: no lines */
        return f;
    }
    text[n] = 0;
    size_t start = (n >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) ? 3 : 0;
    size_t lcap = 0;
    for (size_t i = start; i < n;) {
        size_t e = i;
        while (e < n && text[e] != '\n' && text[e] != '\r')
            e++;
        size_t next = e;
        if (next < n)
            next += (text[next] == '\r' && next + 1 < n && text[next + 1] == '\n') ? 2 : 1;
        if (tm_grow((void **)&f->lines, &lcap, f->nlines + 1, sizeof *f->lines) != 0) {
            tm_free(text);
            goto nomem;
        }
        f->lines[f->nlines++] = strip(text + i, e - i);
        i = next;
    }
    f->text = text;
    return f;
nomem:
    tm_free(f->lines);
    tm_free(f->name);
    tm_free(f);
    return NULL;
}

int tm_linecache_getline(const char **line, tm_linecache *lc, const char *filename, uint32_t lineno,
                         tm_error *err)
{
    *line = NULL;
    uint64_t h = tm_hash_bytes(filename, strlen(filename));
    size_t pos;
    lc_file *f = NULL;
    for (uint32_t id = tm_hindex_first(&lc->index, h, &pos); id != TM_HINDEX_NONE;
         id = tm_hindex_next(&lc->index, h, &pos)) {
        if (strcmp(lc->files[id]->name, filename) == 0) {
            f = lc->files[id];
            break;
        }
    }
    if (!f) {
        if (lc->nfiles >= UINT32_MAX - 1 ||
            tm_grow((void **)&lc->files, &lc->files_cap, lc->nfiles + 1, sizeof *lc->files) != 0)
            return tm_error_set(err, TM_ENOMEM, "%s: out of memory (line cache)", filename);
        f = load_file(filename);
        if (!f)
            return tm_error_set(err, TM_ENOMEM, "%s: out of memory (line cache)", filename);
        if (tm_hindex_add(&lc->index, pos, h, (uint32_t)lc->nfiles) != 0) {
            lc_file_free(f);
            return tm_error_set(err, TM_ENOMEM, "%s: out of memory (line cache)", filename);
        }
        lc->files[lc->nfiles++] = f;
    }
    if (lineno < 1 || lineno > f->nlines)
        return TM_OK;
    if (f->lines[lineno - 1][0])
        *line = f->lines[lineno - 1];
    return TM_OK;
}

int tm_render_traceback(FILE *out, tm_linecache *lc, const tm_statistic *s, int has_limit,
                        long limit, int most_recent_first, tm_error *err)
{
    size_t n = s->nframes, lo = 0, hi = n; /* frames[lo, hi), oldest first */
    if (has_limit) {
        if (limit > 0) {
            if ((unsigned long)limit < n)
                lo = n - (size_t)limit;
        } else {
            unsigned long drop = limit == 0 ? n : 0 - (unsigned long)limit;
            hi = drop >= n ? 0 : n - drop;
        }
    }
    for (size_t k = lo; k < hi; k++) {
        const tm_stat_frame *f = &s->frames[most_recent_first ? hi - 1 - (k - lo) : k];
        fputs("  File \"", out);
        fwrite(f->filename, 1, f->filename_len, out);
        fprintf(out, "\", line %" PRIu32 "\n", f->lineno);
        const char *line = NULL;
        int rc = lc ? tm_linecache_getline(&line, lc, f->filename, f->lineno, err) : TM_OK;
        if (rc != TM_OK)
            return rc;
        if (line)
            fprintf(out, "    %s\n", line);
    }
    return ferror(out) ? tm_error_set(err, TM_EIO, "write error") : TM_OK;
}
