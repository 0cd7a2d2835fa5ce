/*
 * Shared by every command-line tool: exit codes, loading a snapshot from a
 * file whatever its format, and reporting errors the same way everywhere.
 */
#ifndef TM_TOOL_H
#define TM_TOOL_H

#include <stddef.h>

#include "tm/error.h"
#include "tm/snapshot.h"
#include "tm/symbolize.h"
#include "tool_cli.h"

/* Loads a snapshot from a .tms file or a Python tracemalloc dump, detected
 * by content, never by name, and symbolizes its native frames that have no
 * symbols yet (see tool_symbolize).  Errors name the file. */
int tool_load_snapshot(const char *path, tm_snapshot **out, tm_error *err);

/* The same without symbolizing: the file's content as it is (tminfo). */
int tool_load_snapshot_raw(const char *path, tm_snapshot **out, tm_error *err);

/* Decodes a snapshot already read into memory (a FIFO can be read once). */
int tool_decode_snapshot(const char *path, const void *data, size_t len, tm_snapshot **out,
                         tm_error *err);

/* Symbolizes snap in place when it has unsymbolized native frames, unless
 * the environment says TM_SYMBOLIZE=0.  Every degradation is a note on
 * stderr ("note: SNAPSHOT: " and tool_module_note's text), said once per
 * module however many snapshots the tool loads, not an error: a binary
 * missing or of another build, no debug info (symbol table only), a debug
 * file of another build, a debuginfod failure.  TM_DEBUG_DIRS
 * (':'-separated) adds roots for .build-id and .gnu_debuglink lookups;
 * with DEBUGINFOD_URLS set, debug info found nowhere locally is fetched
 * from those servers. */
int tool_symbolize(const char *path, tm_snapshot *snap, tm_error *err);

/* Symbolizes snap in place as tool_symbolize does, without notes (even
 * with TM_SYMBOLIZE=0); *report (release it with tm_symbolize_report_free)
 * says what happened to each module.  For tminfo's module list. */
int tool_symbolize_report(tm_symbolize_report **report, const char *path, tm_snapshot *snap,
                          tm_error *err);

/* What symbolizing said of module m: "FILE: STATUS[: NOTE]" in buf; 0 when
 * there is nothing to say (symbolized without a note, or unused). */
int tool_module_note(char *buf, size_t cap, const tm_symbolize_module_report *m);

/* The memory budget every tool runs under (tm/memory.h): TM_MAX_MEMORY
 * when set, else tm_memory_budget_default().  Call first thing in main;
 * returns 0, or TOOL_EXIT_ERROR after a message when TM_MAX_MEMORY is not a
 * size. */
int tool_memory_init(const char *prog);
/* --max-memory SIZE (overrides TM_MAX_MEMORY): 0 or TOOL_EXIT_ERROR. */
int tool_memory_option(const char *prog, const char *arg);
/* getopt_long's value for --max-memory in every tool's table. */
#define TOOL_OPT_MAX_MEMORY 0x4d4d
/* The --help line every tool prints for it. */
#define TOOL_MAX_MEMORY_HELP                                                                       \
    "  --max-memory SIZE  stop with exit 2 past SIZE of memory (default: TM_MAX_MEMORY,\n"         \
    "                     else 1/4 of physical memory)\n"

/* Prints "PROG: MESSAGE" on stderr and returns TOOL_EXIT_ERROR; when the
 * failure was the memory budget, says so and how to raise it. */
int tool_fail(const char *prog, const tm_error *err);

/* Parses a non-negative decimal integer; returns 0 on success. */
int tool_parse_u64(const char *s, unsigned long long *out);

#endif
