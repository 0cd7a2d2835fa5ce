/*
 * tm/symbolize.h — turning (module, offset) frames into function, file, line.
 *
 * Conventions
 *   - A native frame stores a *return address* as `offset` = return address
 *     - load bias (a link-time address, see tm/snapshot.h).  The return
 *     address points after the call instruction, which may already belong to
 *     the next source line (or, after a noreturn call, to the next function),
 *     so the snapshot-level functions look up `offset - 1`: the last byte of
 *     the call.  tm_symbolizer_lookup() takes the address to look up as is
 *     (like addr2line / llvm-symbolizer): callers subtract 1 themselves.
 *   - Results mirror `llvm-symbolizer --inlining --functions=linkage
 *     --demangle`: when calls were inlined at an address, the first frame is
 *     the innermost inlined function with the line in it, then each enclosing
 *     function outward with the line of the inlined call.  Function names are
 *     the DWARF linkage names (C++: demangled with __cxa_demangle), the
 *     outermost one taken from the ELF symbol table when it has a symbol
 *     there (so GCC clones show as `f.constprop.0`).  File names are the line
 *     table's, joined with include directory and compilation directory as
 *     llvm-symbolizer does (no `..` folding).
 *   - Without DWARF for an address, the function comes from `.symtab` (or
 *     `.dynsym`) and the file is empty / line 0, so reports show
 *     `module+0xoffset`-style locations.  Nothing at all: function empty too.
 *   - Modules are opened by path, checked by GNU build-id, and their debug
 *     info is found in the file itself, in DEBUG_DIR/.build-id/xx/yyyy.debug,
 *     or through `.gnu_debuglink` (next to the binary, in its .debug/
 *     subdirectory, and in DEBUG_DIR + the binary's directory); found
 *     nowhere, and with DEBUGINFOD_URLS set in a build with libdebuginfod,
 *     it is fetched by build-id from those servers (libdebuginfod's cache).
 *     A debug file of another build is not used, and the note says so.  zlib and
 *     zstd compressed debug sections (SHF_COMPRESSED, and legacy .zdebug_*)
 *     are decompressed before they are read.
 *   - Debug information kept outside the debug file is followed.  Split
 *     DWARF (-gsplit-dwarf, DWARF 4 GNU extension and DWARF 5): each
 *     skeleton unit's functions and inline calls come from FILE.dwp beside
 *     the debug file (or, for FILE.debug, FILE without .debug + .dwp), else
 *     from its .dwo (DW_AT_dwo_name as given when absolute, relative to
 *     DW_AT_comp_dir, then beside the debug file, then beside the binary
 *     when its debug file is elsewhere), matched by dwo_id.  dwz
 *     supplementary files (.gnu_debugaltlink, DWARF 5 .debug_sup): the
 *     linked path (relative to the debug file's directory), its base name
 *     beside the debug file, DEBUG_DIR/.build-id/xx/yyyy.debug and
 *     DEBUG_DIR/.dwz/... for each debug directory (debug_dirs, then
 *     /usr/lib/debug unless no_default_debug_dir), checked by build-id (or .debug_sup
 *     checksum).  What cannot be found leaves lines without the inline
 *     frames or names it held, and one note for the module says so.
 *   - Each module is indexed once (flat sorted arrays: line ranges and
 *     inlined-subroutine ranges) and cached by build-id inside a
 *     tm_symbolizer.  A module with 16 MiB of .debug_info or more is indexed
 *     lazily: its compilation units are mapped to their addresses from their
 *     root DIEs, and a unit is read when an address in it is first looked
 *     up.  The answers are the full index's: a unit found with code outside
 *     the addresses it claims makes everything be read at once; an address
 *     several units claim (discarded COMDAT copies) is answered by the first
 *     of them, as llvm-symbolizer does, where the full index merges their
 *     identical descriptions.  Its note covers the units read.
 *     TM_SYMBOLIZE_LAZY=1 indexes every module that way, =0 none (tests,
 *     benchmarks).  A symbolizer is NOT thread-safe (its caches have no
 *     locks): use one per thread, or one thread.
 *   - Malformed, truncated or missing files never fail a snapshot: they
 *     produce a note in the report and the frames fall back to the symbol
 *     table or stay raw.
 */
#ifndef TM_SYMBOLIZE_H
#define TM_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

#include "tm/error.h"
#include "tm/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TM_SYMBOLIZE_OPTIONS_VERSION 1
typedef struct tm_symbolize_options {
    unsigned version; /* TM_SYMBOLIZE_OPTIONS_VERSION */
    /* Directories tried (with the module's base name) when a module is not
     * at its recorded path, or has another build-id there. */
    const char *const *search_paths;
    size_t nsearch_paths;
    /* Roots for .build-id/ and debuglink lookups, tried in order; when
     * no_default_debug_dir is 0, "/usr/lib/debug" is tried last. */
    const char *const *debug_dirs;
    size_t ndebug_dirs;
    int no_default_debug_dir;
    /* Accept a file whose build-id differs from the snapshot's (results may
     * be wrong; the report still says "build-id mismatch"). */
    int ignore_build_id;
} tm_symbolize_options;
#define TM_SYMBOLIZE_OPTIONS_INIT                                                                  \
    {                                                                                              \
        TM_SYMBOLIZE_OPTIONS_VERSION, NULL, 0, NULL, 0, 0, 0                                       \
    }
/* The function form of TM_SYMBOLIZE_OPTIONS_INIT; TM_EINVAL for a version
 * this library does not know.  Every function below that takes options
 * accepts NULL for the defaults. */
int tm_symbolize_options_init(tm_symbolize_options *opts, unsigned version, tm_error *err);

/* What happened to one module.  Only TM_SYMSTAT_SYMBOLIZED and
 * TM_SYMSTAT_SYMTAB_ONLY give function names; the others are notes. */
enum {
    TM_SYMSTAT_SYMBOLIZED = 0,  /* DWARF found and used */
    TM_SYMSTAT_SYMTAB_ONLY = 1, /* no (usable) DWARF: ELF symbol table only */
    TM_SYMSTAT_MISSING = 2,     /* no file found at the path or search paths */
    TM_SYMSTAT_MISMATCH = 3,    /* found, but its build-id differs */
    TM_SYMSTAT_UNREADABLE = 4,  /* not an ELF file / unusable */
    TM_SYMSTAT_UNUSED = 5       /* no frame of the snapshot refers to it */
};

typedef struct tm_symbolize_module_report {
    uint32_t module;        /* index in the snapshot's modules */
    int status;             /* TM_SYMSTAT_* */
    char *path;             /* file used (binary), or the recorded path */
    char *debug_path;       /* file the DWARF came from, or NULL */
    char *note;             /* human-readable note, e.g. why DWARF is unusable; may be NULL */
    int degraded;           /* symbolized, but a .dwo, .dwp or dwz supplementary file it
                               refers to is missing or of another build: some inline frames
                               or names are lost (the note says which) */
    size_t frames;          /* frames of this module looked up */
    size_t frames_resolved; /* ... that got at least a function name */
} tm_symbolize_module_report;

typedef struct tm_symbolize_report {
    size_t nmodules;
    tm_symbolize_module_report *modules;
    size_t frames;          /* native frames looked up */
    size_t frames_resolved; /* ... with a function name */
    size_t frames_added;    /* new frames interned for inlined callers */
} tm_symbolize_report;

void tm_symbolize_report_free(tm_symbolize_report *report);
/* Short name of a TM_SYMSTAT_* value: "symbolized", "missing", ... */
const char *tm_symstat_name(int status);

typedef struct tm_symbolizer tm_symbolizer;

/* opts may be NULL (defaults); the symbolizer copies what it needs. */
int tm_symbolizer_new(tm_symbolizer **out, const tm_symbolize_options *opts, tm_error *err);
void tm_symbolizer_free(tm_symbolizer *sym);

/* Symbolizes every native frame of snap that has no function yet, in place:
 * the frame becomes the innermost (inlined) function and new frames are
 * interned for each enclosing inlined caller (same module and offset).
 * Frames of other modules, Python frames and symbolized frames are left
 * alone.  *report (if report is non-NULL) receives a report to release with
 * tm_symbolize_report_free().  Missing or broken files are notes in the
 * report, not errors; errors are out-of-memory and invalid arguments. */
int tm_symbolizer_snapshot(tm_symbolize_report **report, tm_symbolizer *sym, tm_snapshot *snap,
                           tm_error *err);

/* One-shot form: a temporary symbolizer with opts (may be NULL). */
int tm_symbolize_snapshot(tm_symbolize_report **report, tm_snapshot *snap,
                          const tm_symbolize_options *opts, tm_error *err);

/* --- low level: one address in one file ------------------------------- */

typedef struct tm_sym_frame {
    const char *function; /* "" when unknown */
    const char *file;     /* "" when unknown */
    uint32_t line;        /* 0 when unknown */
} tm_sym_frame;

#define TM_SYM_MAX_INLINE 64u

typedef struct tm_sym_result {
    size_t nframes;                         /* >= 1 */
    tm_sym_frame frames[TM_SYM_MAX_INLINE]; /* innermost first */
    int status;                             /* TM_SYMSTAT_* of the module */
} tm_sym_result;

/* Looks up link-time `address` in the ELF file at `path` (opened and indexed
 * on first use, then cached).  Strings point into the symbolizer and stay
 * valid until tm_symbolizer_free().  A file that cannot be used is not an
 * error: the result has one empty frame and the status says why (see
 * tm_symbolizer_file_note()).  Errors: TM_ENOMEM, TM_EINVAL. */
int tm_symbolizer_lookup(tm_sym_result *out, tm_symbolizer *sym, const char *path, uint64_t address,
                         tm_error *err);

/* The status and note (NULL if none) of a file opened by lookup. */
int tm_symbolizer_file_note(const char **note, tm_symbolizer *sym, const char *path);

/* Index statistics of the files opened so far (for benchmarks). */
typedef struct tm_symbolizer_stats {
    size_t modules;
    size_t line_ranges;
    size_t inline_ranges;
    size_t index_bytes;   /* heap held by the indexes and strings */
    double index_seconds; /* total time spent building indexes */
} tm_symbolizer_stats;
void tm_symbolizer_get_stats(tm_symbolizer_stats *out, const tm_symbolizer *sym);

#ifdef __cplusplus
}
#endif
#endif
