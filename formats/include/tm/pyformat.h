/*
 * tm/pyformat.h — Python tracemalloc snapshot files.
 *
 * tracemalloc.Snapshot.dump() writes a pickle of a Snapshot object (its
 * traces as tuples (domain, size, frames[, total_nframe]) with frames
 * (filename, lineno), and traceback_limit).  tmkit reads such files with a
 * whitelist decoder: only the opcodes and the tracemalloc classes a dump can
 * contain are accepted, anything else is an error, nothing is executed.
 * It also writes them, so that Python can Snapshot.load() a native snapshot.
 * formats/PYTHON-DUMPS.md lists the accepted opcodes, classes and limits.
 */
#ifndef TM_PYFORMAT_H
#define TM_PYFORMAT_H

#include <stddef.h>

#include "tm/error.h"
#include "tm/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

/* True if the buffer looks like a pickle (content sniffing, not a check). */
int tm_pyformat_detect(const void *data, size_t len);

/* Decodes a Snapshot.dump() file (pickle protocol 2..5, written by Python
 * 3.4+, 3- or 4-tuple traces) from memory; `name` is used in messages.
 * Frames become (file, line) with module TM_NONE; metadata gets
 * nframe_limit = traceback_limit and trigger "python".
 * Errors: TM_EFORMAT for anything a dump cannot contain (other opcodes or
 * globals -- nothing is ever executed --, truncation, sizes outside
 * 0..2^64-1, ...) with the byte offset or trace index in the message;
 * TM_ELIMIT for model limits; TM_ENOMEM.  Memory use is linear in len.
 * On failure *out is NULL. */
int tm_pyformat_decode(tm_snapshot **out, const void *data, size_t len, const char *name,
                       tm_error *err);

/* Encodes snap as a pickle that tracemalloc.Snapshot.load() accepts.
 * *out is malloc'ed and owned by the caller (release with free()).
 * Native frames must be symbolized to have file names; unsymbolized ones are
 * written as "<unknown>", line 0 (or module+0xoffset if the caller
 * symbolized them so).  Inline chains become separate frames, innermost
 * first.  Protocol 4 with 4-tuple traces (Python 3.9+'s layout); file
 * names, frames and tracebacks are memo-shared, so the file is about the
 * size of Python's own dump.  Errors: TM_ENOMEM, TM_ELIMIT, and TM_EINVAL
 * for a sampled snapshot (tm_metadata.sample_rate != 0): a dump has no
 * place for the rate, and Python would take the sample for every
 * allocation. */
int tm_pyformat_encode(void **out, size_t *out_len, const tm_snapshot *snap, tm_error *err);

#ifdef __cplusplus
}
#endif
#endif
