/*
 * tm/attribution.h — whose allocation is it: the program's line, not the
 * runtime's allocation machinery.
 *
 * A native stack starts in the C or C++ runtime: `operator new` called by
 * `std::__new_allocator::allocate`, inlined from a system header into
 * `std::vector::_M_realloc_insert`, called by the program's `push_back`
 * line; `strdup`'s own line in glibc's sources; `_start` and
 * `__libc_start_main` at the other end.  Grouped by the most recent frame,
 * every vector of a program lands on one line of <bits/new_allocator.h>.
 * Python's tracemalloc never shows CPython's C frames; for native programs
 * the runtime's machinery plays that part.  So analysis attributes each
 * allocation as if the runtime's frames were not in its stack: hidden
 * frames are skipped in every key, filter, traceback and export, and if
 * nothing is left of a stack, its innermost frame is kept.
 *
 * Only native frames are ever hidden (frames with a module: what the
 * recorder writes).  Python snapshots have none, so their output stays
 * byte-identical to Python's.
 *
 * The default rules (tm_attribution_print_defaults lists every pattern;
 * `tmstat --help-hide` prints them), for a native frame:
 *   - its module is the C or C++ runtime or the dynamic loader (libc,
 *     libstdc++, libgcc_s, libc++, ld-linux, ..., by the module path's last
 *     component);
 *   - or its file is a system header or a system source (under
 *     /usr/include, any .../include/c++/... wherever the compiler's prefix
 *     is, ...);
 *   - or it has no file and its function is runtime machinery compiled
 *     into the program (a static binary, a runtime without debug info):
 *     operator new, std::..., _start, strdup, asprintf, getline, ...
 *   A frame with a file of the program's own is never hidden by the
 *   function rules: a template of the program whose demangled name starts
 *   with its return type "std::..." stays the program's.
 * Patterns are Python fnmatch patterns (tm_fnmatch: `*` also matches `/`).
 */
#ifndef TM_ATTRIBUTION_H
#define TM_ATTRIBUTION_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tm/error.h"
#include "tm/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TM_ATTRIBUTION_MAX_HIDE 64 /* patterns of the caller */

#define TM_ATTRIBUTION_OPTIONS_VERSION 1
typedef struct tm_attribution_options {
    unsigned version;        /* TM_ATTRIBUTION_OPTIONS_VERSION */
    int as_recorded;         /* 1: hide nothing, the stacks exactly as recorded */
    const char *const *hide; /* more patterns, matched against a native frame's
                                   function, file and module path */
    size_t nhide;            /* <= TM_ATTRIBUTION_MAX_HIDE */
} tm_attribution_options;
#define TM_ATTRIBUTION_OPTIONS_INIT                                                                \
    {                                                                                              \
        TM_ATTRIBUTION_OPTIONS_VERSION, 0, NULL, 0                                                 \
    }

typedef struct tm_attribution tm_attribution;

/* Decides, for every frame of snap, whether it is hidden.  opts NULL means
 * the defaults.  TM_EINVAL for a bad pattern or too many, TM_ENOMEM. */
int tm_attribution_new(tm_attribution **out, const tm_snapshot *snap,
                       const tm_attribution_options *opts, tm_error *err);
void tm_attribution_free(tm_attribution *a);
/* 1 if the frame (an id of the snapshot it was made for) is hidden. */
int tm_attribution_hides(const tm_attribution *a, uint32_t frame);
/* How many of the snapshot's frames are hidden. */
size_t tm_attribution_hidden_frames(const tm_attribution *a);

/* The default rules, one group per line, for --help and the docs. */
int tm_attribution_print_defaults(FILE *out);

#ifdef __cplusplus
}
#endif
#endif
