/*
 * tm/tms.h — reading and writing `.tms` snapshot files.
 *
 * tm_tms_read / tm_tms_write work on files, tm_tms_decode / tm_tms_encode on
 * memory, tm_tms_detect sniffs content; tm/pyformat.h has the same verbs for
 * Python tracemalloc dumps.
 *
 * The byte layout is specified in formats/TMS-FORMAT.md; this header is the
 * programmatic contract.  Writes are atomic: the file is written to a
 * temporary name in the same directory, fsync'ed, and renamed over `path`,
 * so a reader (or a crash) never sees half a snapshot.  Reads check every
 * length and checksum before using a byte.
 *
 * Round trips keep every string, module (in order), frame, stack and trace
 * by value, but NOT the order of traces: the writer sorts them by (stack,
 * domain, size) to compress them, as trace order carries no meaning.  Ids
 * may be renumbered (frames so that inline parents come first; frames or
 * stack nodes that are equal by value are merged on read).
 *
 * Errors name the file, the section and the byte offset, e.g.
 *   a.tms: section 'traces' at byte 4096: payload checksum mismatch
 * and on failure *out is NULL.  The limits (sections, strings, depth, file
 * size, ...) are listed in formats/TMS-FORMAT.md, section 8.
 */
#ifndef TM_TMS_H
#define TM_TMS_H

#include <stddef.h>
#include <stdint.h>

#include "tm/error.h"
#include "tm/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TM_TMS_MAJOR 1
/* The version this library reads (any 1.x).  It writes 1.0 for an exact
 * snapshot, byte for byte what a 1.0 writer wrote, and 1.1 for a sampled
 * one (tm_metadata.sample_rate != 0): 1.1 adds the critical 'sampling'
 * section, which a 1.0 reader refuses instead of taking the sample for
 * every allocation. */
#define TM_TMS_MINOR 1

#define TM_TMS_WRITE_OPTIONS_VERSION 1
typedef struct tm_tms_write_options {
    unsigned version;      /* TM_TMS_WRITE_OPTIONS_VERSION */
    int compression_level; /* zstd level; 0 = default (3); -1 = store raw */
    int no_fsync;          /* skip fsync (tests, benchmarks) */
} tm_tms_write_options;
#define TM_TMS_WRITE_OPTIONS_INIT                                                                  \
    {                                                                                              \
        TM_TMS_WRITE_OPTIONS_VERSION, 0, 0                                                         \
    }
/* The function form of TM_TMS_WRITE_OPTIONS_INIT; TM_EINVAL for a version
 * this library does not know.  tm_tms_write and tm_tms_encode accept NULL
 * options for the defaults. */
int tm_tms_write_options_init(tm_tms_write_options *opts, unsigned version, tm_error *err);

/* Writes snap to path atomically.  opts may be NULL for defaults.  On any
 * failure no temporary file is left and an existing file at path is
 * untouched.  The new file's mode is 0666 minus the umask.  It goes through
 * tm/output.h: "-" is standard output, devices and FIFOs are written in
 * place. */
int tm_tms_write(const tm_snapshot *snap, const char *path, const tm_tms_write_options *opts,
                 tm_error *err);

/* Encodes snap into a malloc'ed buffer (*out, *out_len) owned by the caller
 * (release with free()).  The output is deterministic for a given snapshot,
 * zstd version and level. */
int tm_tms_encode(void **out, size_t *out_len, const tm_snapshot *snap,
                  const tm_tms_write_options *opts, tm_error *err);

/* Reads a whole file.  On success *out is a new snapshot owned by the caller. */
int tm_tms_read(tm_snapshot **out, const char *path, tm_error *err);

/* Decodes from memory.  `name` is used in error messages. */
int tm_tms_decode(tm_snapshot **out, const void *data, size_t len, const char *name, tm_error *err);

/* True if the buffer starts with the .tms magic (content sniffing). */
int tm_tms_detect(const void *data, size_t len);

/* --- inspection (tminfo) --------------------------------------------- */

typedef struct tm_tms_section_info {
    uint32_t type;
    const char *name; /* "strings", "traces", ... or "unknown" */
    int critical;
    int codec;       /* 0 raw, 1 zstd */
    uint64_t offset; /* of the section header in the file */
    uint64_t stored_len;
    uint64_t raw_len;
} tm_tms_section_info;

typedef struct tm_tms_file_info {
    unsigned major, minor;
    uint64_t file_size;
    size_t nsections;
    tm_tms_section_info *sections; /* owned by the info */
} tm_tms_file_info;

/* Parses and verifies header and section table without decoding payloads. */
int tm_tms_inspect(tm_tms_file_info **out, const void *data, size_t len, const char *name,
                   tm_error *err);
void tm_tms_file_info_free(tm_tms_file_info *info);

#ifdef __cplusplus
}
#endif
#endif
