/*
 * tools/common/suppress.h — leak suppressions in LeakSanitizer's format, for
 * the tmstat / tmdiff gates and the memory checks of tm/check.h.
 *
 * A suppressions file (named by TM_SUPPRESSIONS) holds one entry a line:
 *
 *   # a comment (also after leading blanks); blank lines are ignored
 *   leak:PATTERN
 *
 * Blanks around the entry and its pattern are ignored.  A trace is
 * suppressed when any frame of its stack, as recorded (inlined calls
 * included, runtime frames too), matches a pattern on its function name,
 * its source file name or its module path.  Patterns match as
 * LeakSanitizer's do: a substring, `*` any run of characters, a leading `^`
 * anchors at the start and a trailing `$` at the end.  Any other type than
 * `leak:` ("race:", "called_from_lib:"), a line without one and an empty
 * pattern are errors naming the file and line.  At most TM_SUPPRESS_MAX
 * entries of at most TM_SUPPRESS_PATTERN_MAX bytes each.
 *
 * "Top" entries (tm_suppressions_add_top) are matched only against the
 * most recent frames as attributed (tm/attribution.h: frames of the
 * runtime's allocation machinery are skipped), up to the first one with a
 * source line: what the memory checks use to ignore a test framework's own
 * bookkeeping (often built without debug information) without ignoring
 * the tests it calls.
 */
#ifndef TM_SUPPRESS_H
#define TM_SUPPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "tm/error.h"
#include "tm/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TM_SUPPRESS_MAX 65536
#define TM_SUPPRESS_PATTERN_MAX 4096

typedef struct tm_suppressions tm_suppressions;

int tm_suppressions_new(tm_suppressions **out, tm_error *err);
void tm_suppressions_free(tm_suppressions *s);
/* Parses text (len bytes, any content) and adds its entries; name is used in
 * messages ("FILE:LINE: ..."). TM_EFORMAT for a malformed line, TM_ELIMIT
 * past the limits, TM_ENOMEM. */
int tm_suppressions_parse(tm_suppressions *s, const char *text, size_t len, const char *name,
                          tm_error *err);
/* Reads and parses a file (tm/file.h). */
int tm_suppressions_load(tm_suppressions *s, const char *path, tm_error *err);
/* Adds one pattern matched against the most recent attributed frame only. */
int tm_suppressions_add_top(tm_suppressions *s, const char *pattern, tm_error *err);
size_t tm_suppressions_count(const tm_suppressions *s);

/* 1 if name[0..len) matches pattern as LeakSanitizer matches it. */
int tm_suppress_match(const char *pattern, const char *name, size_t len);

/* Removes the suppressed traces from snap, in place (the order of the others
 * is kept); *size and *count (either may be NULL) get what was removed. */
int tm_suppressions_apply(tm_snapshot *snap, const tm_suppressions *s, uint64_t *size,
                          uint64_t *count, tm_error *err);

/* The TM_SUPPRESSIONS file, if the variable is set and not empty: *out gets
 * the parsed entries (else NULL).  Errors name the variable and the file. */
int tm_suppressions_from_env(tm_suppressions **out, tm_error *err);

#ifdef __cplusplus
}
#endif
#endif
