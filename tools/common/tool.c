#include "tool.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report_internal.h"
#include "tm/file.h"
#include "tm/memory.h"
#include "tm/pyformat.h"
#include "tm/symbolize.h"
#include "tm/tms.h"
#include "tm_alloc.h"
#include "tm_progress.h"

/* Inputs from this size on show progress while loading (on a terminal). */
#define TOOL_PROGRESS_BYTES (16u << 20)

int tool_load_snapshot(const char *path, tm_snapshot **out, tm_error *err)
{
    int rc = tool_load_snapshot_raw(path, out, err);
    if (rc)
        return rc;
    rc = tool_symbolize(path, *out, err);
    if (rc) {
        tm_snapshot_free(*out);
        *out = NULL;
    }
    return rc;
}

static int has_raw_native_frames(const tm_snapshot *snap)
{
    const tm_frame *f = tm_snapshot_frames(snap);
    for (size_t i = 0, n = tm_snapshot_frame_count(snap); i < n; i++)
        if (f[i].module != TM_NONE && f[i].function == 0 && f[i].file == 0)
            return 1;
    return 0;
}

/* One symbolizer for every snapshot a tool loads: tmdiff's two files and a
 * timeline's many are usually of one program, whose binaries are then
 * opened and indexed once.  Freed at exit. */
static tm_symbolizer *shared_sym;

/* The notes already said, so that each is said once per module. */
static char **said;
static size_t nsaid;

static void shared_sym_free(void)
{
    tm_symbolizer_free(shared_sym);
    shared_sym = NULL;
    for (size_t i = 0; i < nsaid; i++)
        free(said[i]);
    free(said);
    said = NULL;
    nsaid = 0;
}

static int shared_sym_get(const char *path, tm_error *err)
{
    if (shared_sym)
        return TM_OK;
    const char *dirs_env = getenv("TM_DEBUG_DIRS");
    char *dirs_buf = NULL;
    const char *dirs[16];
    size_t ndirs = 0;
    if (dirs_env && *dirs_env) {
        dirs_buf = strdup(dirs_env);
        if (!dirs_buf)
            return tm_error_set(err, TM_ENOMEM, "%s: out of memory", path);
        for (char *save = NULL, *d = strtok_r(dirs_buf, ":", &save); d && ndirs < 16;
             d = strtok_r(NULL, ":", &save))
            dirs[ndirs++] = d;
    }
    tm_symbolize_options opts = TM_SYMBOLIZE_OPTIONS_INIT;
    opts.debug_dirs = dirs;
    opts.ndebug_dirs = ndirs;
    int rc = tm_symbolizer_new(&shared_sym, &opts, err); /* copies the dirs */
    free(dirs_buf);
    if (rc)
        return tm_error_prefix(err, "%s: symbolizing", path);
    atexit(shared_sym_free);
    return TM_OK;
}

int tool_module_note(char *buf, size_t cap, const tm_symbolize_module_report *m)
{
    buf[0] = 0;
    if (m->status == TM_SYMSTAT_UNUSED || (m->status == TM_SYMSTAT_SYMBOLIZED && !m->note))
        return 0;
    snprintf(buf, cap, "%s: %s%s%s", m->path ? m->path : "?", tm_symstat_name(m->status),
             m->note ? ": " : "", m->note ? m->note : "");
    return 1;
}

/* 1 the first time note is seen (remembered), 0 after; 1 when out of memory
 * (saying it twice beats not saying it). */
static int first_time(const char *note)
{
    for (size_t i = 0; i < nsaid; i++)
        if (strcmp(said[i], note) == 0)
            return 0;
    char **grown = realloc(said, (nsaid + 1) * sizeof *said);
    if (!grown)
        return 1;
    said = grown;
    if ((said[nsaid] = strdup(note)) != NULL)
        nsaid++;
    return 1;
}

int tool_symbolize_report(tm_symbolize_report **report, const char *path, tm_snapshot *snap,
                          tm_error *err)
{
    *report = NULL;
    int rc = shared_sym_get(path, err);
    if (rc)
        return rc;
    tm_progress progress;
    char what[512];
    snprintf(what, sizeof what, "symbolizing %s (%zu frames)", path, tm_snapshot_frame_count(snap));
    tm_progress_phase(&progress, 1, what);
    rc = tm_symbolizer_snapshot(report, shared_sym, snap, err);
    tm_progress_end(&progress);
    /* A module the budget did not let us read is a note to the symbolizer;
     * for a tool it is a failure, not a quietly unsymbolized frame. */
    if (!rc && tm_memory_budget_exceeded())
        rc = tm_error_set(err, TM_ENOMEM, "out of memory reading modules");
    if (rc) {
        tm_symbolize_report_free(*report);
        *report = NULL;
        return tm_error_prefix(err, "%s: symbolizing", path);
    }
    return TM_OK;
}

int tool_symbolize(const char *path, tm_snapshot *snap, tm_error *err)
{
    const char *env = getenv("TM_SYMBOLIZE");
    if ((env && strcmp(env, "0") == 0) || !has_raw_native_frames(snap))
        return TM_OK;
    tm_symbolize_report *report = NULL;
    int rc = tool_symbolize_report(&report, path, snap, err);
    if (rc)
        return rc;
    for (size_t i = 0; report && i < report->nmodules; i++) {
        char note[4096];
        if (tool_module_note(note, sizeof note, &report->modules[i]) && first_time(note))
            fprintf(stderr, "note: %s: %s\n", path, note);
    }
    tm_symbolize_report_free(report);
    return TM_OK;
}

int tool_decode_snapshot(const char *path, const void *data, size_t len, tm_snapshot **out,
                         tm_error *err)
{
    if (tm_tms_detect(data, len))
        return tm_tms_decode(out, data, len, path, err);
    if (tm_pyformat_detect(data, len))
        return tm_pyformat_decode(out, data, len, path, err);
    if (len == 0)
        return tm_error_set(err, TM_EFORMAT, "%s: empty file, not a snapshot", path);
    return tm_error_set(err, TM_EFORMAT,
                        "%s: not a snapshot: neither a .tms file nor a Python tracemalloc dump",
                        path);
}

int tool_load_snapshot_raw(const char *path, tm_snapshot **out, tm_error *err)
{
    /* The size decides whether loading is long enough to show; a stream
     * (size 0) shows nothing. */
    struct stat st;
    int big = stat(path, &st) == 0 && (uint64_t)st.st_size >= TOOL_PROGRESS_BYTES;
    tm_progress progress;
    char what[512];
    snprintf(what, sizeof what, "loading %s", path);
    tm_progress_phase(&progress, big, what);
    void *data;
    size_t len;
    int rc = tm_file_read(&data, &len, path, err);
    if (rc == TM_OK) {
        rc = tool_decode_snapshot(path, data, len, out, err);
        tm_free(data);
    }
    tm_progress_end(&progress);
    return rc;
}

static int memory_set(const char *prog, const char *what, const char *arg)
{
    rp_size sz;
    char msg[256];
    if (rp_size_parse(arg, 0, &sz, msg, sizeof msg) != 0)
        return tool_usage_error(prog, "%s: %s", what, msg);
    if (sz.bytes == 0)
        return tool_usage_error(prog, "%s: a budget of 0 bytes cannot load anything", what);
    tm_memory_budget_set(sz.bytes);
    return 0;
}

int tool_memory_init(const char *prog)
{
    const char *env = getenv("TM_MAX_MEMORY");
    if (env && *env)
        return memory_set(prog, "TM_MAX_MEMORY", env);
    tm_memory_budget_set(tm_memory_budget_default());
    return 0;
}

int tool_memory_option(const char *prog, const char *arg)
{
    return memory_set(prog, "--max-memory", arg);
}

/* "1 GiB", "1536 MiB", "123456 bytes": exact, for a budget message. */
static void size_text(char *buf, size_t len, uint64_t v)
{
    static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
    unsigned u = 0;
    while (u + 1 < sizeof units / sizeof units[0] && v && v % 1024 == 0) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, "%llu %s", (unsigned long long)v, units[u]);
}

int tool_fail(const char *prog, const tm_error *err)
{
    const char *msg = err && err->message[0] ? err->message : "error";
    if (tm_memory_budget_exceeded()) {
        char b[64];
        size_text(b, sizeof b, tm_memory_budget());
        fprintf(stderr,
                "%s: %s: exceeds the memory budget of %s (--max-memory SIZE or TM_MAX_MEMORY "
                "raises it)\n",
                prog, msg, b);
    } else {
        fprintf(stderr, "%s: %s\n", prog, msg);
    }
    return TOOL_EXIT_ERROR;
}

int tool_parse_u64(const char *s, unsigned long long *out)
{
    if (!s || *s < '0' || *s > '9') /* no sign, no leading space */
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}
