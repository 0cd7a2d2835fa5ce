/*
 * tm/render.h — statistics as text, byte-identical to Python's str().
 *
 *   tm_format_size      tracemalloc._format_size(size, sign)
 *   tm_render_stat      str(Statistic) / str(StatisticDiff) (no newline)
 *   tm_render_traceback Traceback.format(limit, most_recent_first)
 *
 * Source lines follow linecache.getline(filename, lineno).strip(): names
 * that are empty or look like "<...>" are not opened; files are read as
 * UTF-8 (a UTF-8 BOM is skipped; a file that is not valid UTF-8 has no
 * lines, as tokenize.open would fail; coding cookies are not honoured);
 * lines end at \n, \r\n or \r; strip() removes Unicode whitespace.
 * Relative names are opened relative to the working directory only
 * (Python also searches sys.path).
 */
#ifndef TM_RENDER_H
#define TM_RENDER_H

#include <stdint.h>
#include <stdio.h>

#include "tm/error.h"
#include "tm/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TM_SIZE_TEXT_MAX 64

/* Writes the text into buf (>= TM_SIZE_TEXT_MAX bytes); returns buf. */
char *tm_format_size(char *buf, double size, int sign);
char *tm_format_size_i64(char *buf, int64_t size, int sign);
char *tm_format_size_u64(char *buf, uint64_t size, int sign);
/* The average of a statistic: size / count as Python divides. */
double tm_stat_average(uint64_t size, uint64_t count);

/* One statistic line as Python prints it, without a newline.  TM_EIO when
 * the stream reports a write error. */
int tm_render_stat(FILE *out, const tm_stats *st, const tm_statistic *s, tm_error *err);

/* Source-line cache for tracebacks. */
typedef struct tm_linecache tm_linecache;
int tm_linecache_new(tm_linecache **out, tm_error *err);
void tm_linecache_free(tm_linecache *lc);
/* *line gets the stripped line (NUL-terminated, owned by the cache), or NULL
 * when the file has no such line, or cannot be read or decoded.  TM_ENOMEM
 * if the file could not be cached (*line NULL; nothing is cached, so a
 * later call may succeed). */
int tm_linecache_getline(const char **line, tm_linecache *lc, const char *filename, uint32_t lineno,
                         tm_error *err);

/* Traceback.format(limit, most_recent_first), one line each with '\n'.
 * has_limit = 0 is limit=None; lc may be NULL (no source lines).  TM_ENOMEM
 * from the line cache (the output then ends after that frame's "File"
 * line), TM_EIO when the stream reports a write error. */
int tm_render_traceback(FILE *out, tm_linecache *lc, const tm_statistic *s, int has_limit,
                        long limit, int most_recent_first, tm_error *err);

#ifdef __cplusplus
}
#endif
#endif
