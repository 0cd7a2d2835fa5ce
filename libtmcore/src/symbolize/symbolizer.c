/*
 * The public symbolizer: finds each module's file (recorded path, then
 * search paths; checked by build-id), its debug info (in the file, by
 * build-id under the debug dirs, or by .gnu_debuglink), builds one index per
 * file and caches it by build-id (or path when there is none), and writes
 * the results into snapshots.
 */
#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "sym_internal.h"
#include "tm/symbolize.h"
#include "tm_alloc.h"

typedef struct sym_module {
    char *key_path; /* path asked for */
    uint8_t want_id[TM_BUILD_ID_MAX];
    uint32_t want_id_len;
    uint8_t build_id[TM_BUILD_ID_MAX]; /* of the file used */
    uint32_t build_id_len;
    int status;
    char *path;       /* binary used, or NULL */
    char *debug_path; /* DWARF source, or NULL */
    char *note;
    sym_index ix; /* with lazy: the symbols only */
    int have_index;
    sym_lazy *lazy;   /* a big file's DWARF, read as lookups need it */
    sym_elf *symfile; /* with lazy: the file ix's symbol names are in, if not lazy's */
    int lazy_noted;   /* its note is in note */
    int degraded;     /* debug information outside the file was missing */
} sym_module;

struct tm_symbolizer {
    char **search;
    size_t nsearch;
    char **debug;
    size_t ndebug;
    int ignore_build_id;
    sym_module **mods;
    size_t nmods, capmods;
    double index_seconds;
    sym_debuginfod *debuginfod;
};

/* snprintf for notes: a note cut at its buffer's end is still a note. */
static void say(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

static char *dupstr(const char *s)
{
    return s ? tm_strndup(s, strlen(s)) : NULL;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *tm_symstat_name(int status)
{
    switch (status) {
    case TM_SYMSTAT_SYMBOLIZED: return "symbolized";
    case TM_SYMSTAT_SYMTAB_ONLY: return "symbol table only";
    case TM_SYMSTAT_MISSING: return "missing";
    case TM_SYMSTAT_MISMATCH: return "build-id mismatch";
    case TM_SYMSTAT_UNREADABLE: return "unreadable";
    case TM_SYMSTAT_UNUSED: return "unused";
    default: return "unknown";
    }
}

static void module_free(sym_module *m)
{
    if (!m)
        return;
    if (m->have_index)
        sym_index_free(&m->ix);
    sym_lazy_close(m->lazy);
    sym_elf_close(m->symfile);
    tm_free(m->key_path);
    tm_free(m->path);
    tm_free(m->debug_path);
    tm_free(m->note);
    tm_free(m);
}

int tm_symbolize_options_init(tm_symbolize_options *opts, unsigned version, tm_error *err)
{
    if (version != TM_SYMBOLIZE_OPTIONS_VERSION)
        return tm_error_set(err, TM_EINVAL, "symbolizer: options version %u, expected %u", version,
                            TM_SYMBOLIZE_OPTIONS_VERSION);
    const tm_symbolize_options d = TM_SYMBOLIZE_OPTIONS_INIT;
    *opts = d;
    return TM_OK;
}

int tm_symbolizer_new(tm_symbolizer **out, const tm_symbolize_options *opts, tm_error *err)
{
    *out = NULL;
    if (opts && opts->version != TM_SYMBOLIZE_OPTIONS_VERSION)
        return tm_error_set(err, TM_EINVAL, "symbolizer: options version %u, expected %u",
                            opts->version, TM_SYMBOLIZE_OPTIONS_VERSION);
    tm_symbolizer *s = tm_calloc(1, sizeof *s);
    if (!s)
        return tm_error_set(err, TM_ENOMEM, "symbolizer: out of memory");
    size_t ns = opts ? opts->nsearch_paths : 0, nd = opts ? opts->ndebug_dirs : 0;
    int dflt = !opts || !opts->no_default_debug_dir;
    s->search = tm_calloc(ns + 1, sizeof *s->search);
    s->debug = tm_calloc(nd + 2, sizeof *s->debug);
    if (!s->search || !s->debug)
        goto nomem;
    for (size_t i = 0; i < ns; i++) {
        if (!opts->search_paths[i])
            continue;
        if (!(s->search[s->nsearch] = dupstr(opts->search_paths[i])))
            goto nomem;
        s->nsearch++;
    }
    for (size_t i = 0; i < nd; i++) {
        if (!opts->debug_dirs[i])
            continue;
        if (!(s->debug[s->ndebug] = dupstr(opts->debug_dirs[i])))
            goto nomem;
        s->ndebug++;
    }
    if (dflt) {
        if (!(s->debug[s->ndebug] = dupstr("/usr/lib/debug")))
            goto nomem;
        s->ndebug++;
    }
    s->ignore_build_id = opts ? opts->ignore_build_id : 0;
    *out = s;
    return TM_OK;
nomem:
    tm_symbolizer_free(s);
    return tm_error_set(err, TM_ENOMEM, "symbolizer: out of memory");
}

void tm_symbolizer_free(tm_symbolizer *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nsearch; i++)
        tm_free(s->search[i]);
    for (size_t i = 0; i < s->ndebug; i++)
        tm_free(s->debug[i]);
    tm_free(s->search);
    tm_free(s->debug);
    for (size_t i = 0; i < s->nmods; i++)
        module_free(s->mods[i]);
    tm_free(s->mods);
    sym_debuginfod_free(s->debuginfod);
    tm_free(s);
}

void tm_symbolizer_get_stats(tm_symbolizer_stats *out, const tm_symbolizer *s)
{
    memset(out, 0, sizeof *out);
    out->index_seconds = s->index_seconds;
    for (size_t i = 0; i < s->nmods; i++) {
        const sym_module *m = s->mods[i];
        out->modules++;
        if (!m->have_index)
            continue;
        out->line_ranges += m->ix.nlines;
        out->inline_ranges += m->ix.nranges;
        out->index_bytes += sym_index_memory(&m->ix);
        if (m->lazy) {
            size_t lines, ranges, bytes, read, units;
            sym_lazy_stats(m->lazy, &lines, &ranges, &bytes, &read, &units);
            out->line_ranges += lines;
            out->inline_ranges += ranges;
            out->index_bytes += bytes;
        }
    }
}

/* --- locating files ------------------------------------------------------------ */

static const char *base_name(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

static int same_id(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static uint32_t file_crc32(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    uLong crc = crc32(0, Z_NULL, 0);
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        crc = crc32(crc, buf, (uInt)n);
    fclose(f);
    return (uint32_t)crc;
}

/* A separate debug file for binary b (or for build-id id when b is NULL).
 * A debug file that is there but belongs to another build of the binary is
 * skipped and said in mismatch. */
static int find_debug_file(tm_symbolizer *s, const sym_elf *b, const uint8_t *id, uint32_t idlen,
                           sym_elf **out, char *mismatch, size_t mismatchcap)
{
    char path[4096];
    char note[SYM_NOTE_MAX];
    *out = NULL;
    if (idlen >= 2) {
        for (size_t d = 0; d < s->ndebug; d++) {
            int n = snprintf(path, sizeof path, "%s/.build-id/%02x/", s->debug[d], id[0]);
            for (uint32_t i = 1; i < idlen && n > 0 && (size_t)n + 3 < sizeof path; i++)
                n += snprintf(path + n, sizeof path - n, "%02x", id[i]);
            snprintf(path + n, sizeof path - n, ".debug");
            sym_elf *e;
            int rc = sym_elf_open(path, &e, note, sizeof note);
            if (rc == TM_ENOMEM)
                return rc;
            if (rc != TM_OK)
                continue;
            if (e->has_debug_info &&
                (e->build_id_len == 0 || same_id(e->build_id, e->build_id_len, id, idlen))) {
                *out = e;
                return TM_OK;
            }
            if (e->has_debug_info && !mismatch[0])
                say(mismatch, mismatchcap,
                    "build-id mismatch: debug file %s has another build-id (not used)", path);
            sym_elf_close(e);
        }
    }
    if (!b || !b->debuglink || strchr(b->debuglink, '/'))
        return TM_OK;
    char dir[4096];
    const char *slash = strrchr(b->path, '/');
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - b->path), b->path);
    else
        snprintf(dir, sizeof dir, ".");
    for (size_t k = 0; k < 2 + s->ndebug; k++) {
        int n;
        if (k == 0)
            n = snprintf(path, sizeof path, "%s/%s", dir, b->debuglink);
        else if (k == 1)
            n = snprintf(path, sizeof path, "%s/.debug/%s", dir, b->debuglink);
        else
            n = snprintf(path, sizeof path, "%s/%s/%s", s->debug[k - 2], dir, b->debuglink);
        if (n < 0 || (size_t)n >= sizeof path)
            continue;
        if (strcmp(path, b->path) == 0)
            continue;
        sym_elf *e;
        int rc = sym_elf_open(path, &e, note, sizeof note);
        if (rc == TM_ENOMEM)
            return rc;
        if (rc != TM_OK)
            continue;
        int ok = e->has_debug_info, by_id = e->build_id_len && b->build_id_len;
        if (ok && by_id)
            ok = same_id(e->build_id, e->build_id_len, b->build_id, b->build_id_len);
        else if (ok)
            ok = file_crc32(path) == b->debuglink_crc;
        if (ok) {
            *out = e;
            return TM_OK;
        }
        if (e->has_debug_info && !mismatch[0])
            say(mismatch, mismatchcap,
                "%s mismatch: debug file %s (.gnu_debuglink) belongs to another build of "
                "%s (not used)",
                by_id ? "build-id" : "CRC", path, b->path);
        sym_elf_close(e);
    }
    return TM_OK;
}

/* The debug file of build-id id from debuginfod, checked like a local one;
 * a failure is said in note and is not an error. */
static int fetch_debug_file(tm_symbolizer *s, const char *module, const uint8_t *id, uint32_t idlen,
                            sym_elf **out, char *note, size_t notecap)
{
    *out = NULL;
    char *path, why[SYM_NOTE_MAX] = "";
    int rc = sym_debuginfod_fetch(&path, &s->debuginfod, id, idlen, module, note, notecap);
    if (rc != TM_OK)
        return rc == TM_ENOMEM ? rc : TM_OK;
    sym_elf *e;
    rc = sym_elf_open(path, &e, why, sizeof why);
    if (rc == TM_OK && !e->has_debug_info)
        say(note, notecap, "debuginfod failure: %s has no debug info", path);
    else if (rc == TM_OK && e->build_id_len && !same_id(e->build_id, e->build_id_len, id, idlen))
        say(note, notecap,
            "build-id mismatch: debug file %s from debuginfod has another build-id "
            "(not used)",
            path);
    else if (rc == TM_OK)
        *out = e;
    else if (rc != TM_ENOMEM)
        say(note, notecap, "debuginfod failure: %s", why);
    if (rc == TM_OK && !*out)
        sym_elf_close(e);
    tm_free(path);
    return rc == TM_ENOMEM ? rc : TM_OK;
}

/* "a; b", either may be empty. */
static void join_notes(char *out, size_t cap, const char *a, const char *b)
{
    say(out, cap, "%s%s%s", a, a[0] && b[0] ? "; " : "", b);
}

static int set_note(sym_module *m, const char *note)
{
    if (!note || !*note || m->note)
        return TM_OK;
    m->note = dupstr(note);
    return m->note ? TM_OK : TM_ENOMEM;
}

static int has_symtab(const sym_elf *e)
{
    for (size_t i = 1; i < e->nsections; i++)
        if (e->sections[i].type == SHT_SYMTAB)
            return 1;
    return 0;
}

/* A lazy module's note on its DWARF, once there is one. */
static int lazy_note(sym_module *m)
{
    if (!m->lazy || m->lazy_noted)
        return TM_OK;
    int degraded;
    const char *note = sym_lazy_note(m->lazy, &degraded);
    m->degraded = degraded;
    if (!note[0])
        return TM_OK;
    m->lazy_noted = 1;
    char full[SYM_NOTE_MAX + 64];
    snprintf(full, sizeof full, "%s: %s", m->debug_path ? m->debug_path : "", note);
    return set_note(m, full);
}

/* Builds m's index from binary b (may be NULL) and debug file d (may be
 * NULL or == b; fetched: from debuginfod); without d, nodebug says why
 * there is none.  *kept: d belongs to m now (lazy indexing). */
static int build_index(tm_symbolizer *s, sym_module *m, sym_elf *b, sym_elf *d, int fetched,
                       const char *nodebug, int *kept)
{
    *kept = 0;
    char note[SYM_NOTE_MAX] = "";
    double t0 = now_seconds();
    int rc = sym_index_init(&m->ix);
    if (rc != TM_OK)
        return rc;
    m->have_index = 1;
    /* A debug file from debuginfod is the whole record of a build whose
     * binary here is stripped to .dynsym: its .symtab names the local
     * functions too, as elfutils' libdwfl uses it.  Local separate debug
     * files keep llvm-symbolizer's convention, the binary's own table. */
    sym_elf *symsrc = b ? b : d;
    if (b && d && d != b && fetched && !has_symtab(b) && has_symtab(d))
        symsrc = d;
    char lazy_fail[SYM_NOTE_MAX] = "";
    if (d && sym_lazy_wanted(d)) {
        rc = sym_lazy_open(&m->lazy, d, lazy_fail, sizeof lazy_fail);
        if (rc == TM_ENOMEM)
            return rc;
        *kept = rc == TM_OK;
    }
    /* with lazy DWARF, a symbol's name is demangled when a lookup uses it,
     * read where it is in the file (which stays open) */
    m->ix.raw_symbols = m->lazy != NULL;
    if (symsrc && (rc = sym_elf_add_symbols(symsrc, &m->ix, note, sizeof note)) != TM_OK)
        return rc;
    if (m->ix.sym_names && symsrc != d)
        m->symfile = symsrc;
    if (note[0] && (rc = set_note(m, note)) != TM_OK)
        return rc;
    m->status = TM_SYMSTAT_SYMTAB_ONLY;
    /* Where lazy reading declined (units it cannot map), the full index
     * still reads what it can: the same answers as without lazy reading. */
    if (m->lazy) {
        m->status = TM_SYMSTAT_SYMBOLIZED;
        if (!(m->debug_path = dupstr(d->path)) || (rc = lazy_note(m)) != TM_OK)
            return TM_ENOMEM;
    } else if (d) {
        note[0] = '\0';
        rc = sym_dwarf_index(d, &m->ix, &m->degraded, note, sizeof note);
        if (rc == TM_ENOMEM)
            return rc;
        if (rc == TM_OK) {
            m->status = TM_SYMSTAT_SYMBOLIZED;
            if (!(m->debug_path = dupstr(d->path)))
                return TM_ENOMEM;
        }
        /* Both failed: lazy reading's note says more (it names the section
         * and what is wrong with it). */
        if (rc != TM_OK && lazy_fail[0])
            memcpy(note, lazy_fail, sizeof note);
        char full[SYM_NOTE_MAX + 64];
        if (note[0]) {
            snprintf(full, sizeof full, "%s: %s", d->path, note);
            if ((rc = set_note(m, full)) != TM_OK)
                return rc;
        }
    } else {
        char full[3 * SYM_NOTE_MAX];
        join_notes(full, sizeof full, "no debug info found", nodebug);
        if ((rc = set_note(m, full)) != TM_OK)
            return rc;
    }
    rc = sym_index_finish(&m->ix);
    s->index_seconds += now_seconds() - t0;
    return rc;
}

/* d's dwz supplementary file is looked for by build-id where s looks for
 * debug files. */
static void use_debug_dirs(const tm_symbolizer *s, sym_elf *d)
{
    d->debug_dirs = s->debug;
    d->ndebug_dirs = s->ndebug;
    d->debug_dirs_set = 1;
}

static int locate(tm_symbolizer *s, sym_module *m)
{
    char note[SYM_NOTE_MAX] = "", first_note[SYM_NOTE_MAX] = "";
    char mism[SYM_NOTE_MAX] = "", dfd[SYM_NOTE_MAX] = "", why[2 * SYM_NOTE_MAX + 2];
    char cand[4096];
    sym_elf *b = NULL, *mismatch = NULL, *d = NULL;
    int rc = TM_OK, any_found = 0, kept = 0;
    for (size_t k = 0; k <= s->nsearch && !b; k++) {
        int n;
        if (k == 0)
            n = snprintf(cand, sizeof cand, "%s", m->key_path);
        else
            n = snprintf(cand, sizeof cand, "%s/%s", s->search[k - 1], base_name(m->key_path));
        if (n < 0 || (size_t)n >= sizeof cand)
            continue;
        sym_elf *e;
        note[0] = '\0';
        rc = sym_elf_open(cand, &e, note, sizeof note);
        if (rc == TM_ENOMEM)
            goto out;
        if (rc != TM_OK) {
            if (rc != TM_ENOTFOUND)
                any_found = 1;
            /* The first note, unless a later file exists but is unusable. */
            if (!first_note[0] || rc != TM_ENOTFOUND)
                snprintf(first_note, sizeof first_note, "%s", note);
            continue;
        }
        any_found = 1;
        if (m->want_id_len && e->build_id_len &&
            !same_id(e->build_id, e->build_id_len, m->want_id, m->want_id_len)) {
            if (!mismatch)
                mismatch = e;
            else
                sym_elf_close(e);
            continue;
        }
        b = e;
    }
    rc = TM_OK;
    int status_if_none =
        any_found ? (mismatch ? TM_SYMSTAT_MISMATCH : TM_SYMSTAT_UNREADABLE) : TM_SYMSTAT_MISSING;
    if (!b && mismatch && s->ignore_build_id) {
        b = mismatch;
        mismatch = NULL;
    }
    if (b) {
        memcpy(m->build_id, b->build_id, b->build_id_len);
        m->build_id_len = b->build_id_len;
        if (!(m->path = dupstr(b->path))) {
            rc = TM_ENOMEM;
            goto out;
        }
        int fetched = 0;
        if (b->has_debug_info) {
            d = b;
        } else {
            rc = find_debug_file(s, b, b->build_id, b->build_id_len, &d, mism, sizeof mism);
            if (rc == TM_OK && !d) {
                rc =
                    fetch_debug_file(s, b->path, b->build_id, b->build_id_len, &d, dfd, sizeof dfd);
                fetched = d != NULL;
            }
            if (rc != TM_OK)
                goto out;
        }
        join_notes(why, sizeof why, mism, dfd);
        if (d && d != b && !(d->binary_path = dupstr(b->path))) {
            rc = TM_ENOMEM;
            goto out;
        }
        if (d)
            use_debug_dirs(s, d);
        rc = build_index(s, m, b, d, fetched, why, &kept);
        if (rc == TM_OK && b->build_id_len && m->want_id_len &&
            !same_id(b->build_id, b->build_id_len, m->want_id, m->want_id_len)) {
            m->status = TM_SYMSTAT_MISMATCH;
            rc = set_note(m, "build-id mismatch (used anyway: ignore_build_id)");
        }
    } else {
        /* No binary: a debug file found by the recorded build-id still works. */
        if (m->want_id_len &&
            ((rc = find_debug_file(s, NULL, m->want_id, m->want_id_len, &d, mism, sizeof mism)) !=
                 TM_OK ||
             (!d &&
              (rc = fetch_debug_file(s, m->key_path, m->want_id, m->want_id_len, &d, dfd,
                                     sizeof dfd)) != TM_OK)))
            goto out;
        join_notes(why, sizeof why, mism, dfd);
        if (d) {
            use_debug_dirs(s, d);
            rc = build_index(s, m, NULL, d, 0, why, &kept);
        } else {
            m->status = status_if_none;
            char msg[SYM_NOTE_MAX + 64];
            if (status_if_none == TM_SYMSTAT_MISMATCH)
                snprintf(msg, sizeof msg, "%s: build-id differs from the snapshot's",
                         mismatch->path);
            else if (status_if_none == TM_SYMSTAT_MISSING)
                snprintf(msg, sizeof msg, "%s: not found%s", m->key_path,
                         s->nsearch ? " (also searched the search paths)" : "");
            else
                snprintf(msg, sizeof msg, "%s", first_note);
            char full[sizeof msg + sizeof why];
            join_notes(full, sizeof full, msg, why);
            rc = set_note(m, full);
        }
    }
out:
    /* kept: d is the lazy index's now (and b with it when they are one) */
    if (d && d != b && !kept)
        sym_elf_close(d);
    if (!(kept && d == b) && !(m->symfile && m->symfile == b))
        sym_elf_close(b);
    sym_elf_close(mismatch);
    return rc;
}

static int get_module(tm_symbolizer *s, const char *path, const uint8_t *id, uint32_t idlen,
                      sym_module **out)
{
    for (size_t i = 0; i < s->nmods; i++) {
        sym_module *m = s->mods[i];
        /* A file found with the wanted build-id serves every path; a
         * failure is only remembered for the same (path, build-id). */
        int same_key =
            strcmp(m->key_path, path) == 0 && same_id(m->want_id, m->want_id_len, id, idlen);
        int found_id = idlen && m->build_id_len && m->status <= TM_SYMSTAT_SYMTAB_ONLY &&
            same_id(m->build_id, m->build_id_len, id, idlen);
        if (same_key || found_id) {
            *out = m;
            return TM_OK;
        }
    }
    if (tm_grow((void **)&s->mods, &s->capmods, s->nmods + 1, sizeof *s->mods) != 0)
        return TM_ENOMEM;
    sym_module *m = tm_calloc(1, sizeof *m);
    if (!m)
        return TM_ENOMEM;
    if (!(m->key_path = dupstr(path))) {
        tm_free(m);
        return TM_ENOMEM;
    }
    if (idlen > TM_BUILD_ID_MAX)
        idlen = TM_BUILD_ID_MAX;
    if (idlen)
        memcpy(m->want_id, id, idlen);
    m->want_id_len = idlen;
    sym_elf_oom_clear();
    int rc = locate(s, m);
    if (rc != TM_OK) {
        module_free(m);
        return rc;
    }
    s->mods[s->nmods++] = m;
    *out = m;
    return TM_OK;
}

/* Names what the memory budget refused, when it was the budget (the tools
 * add the budget itself: tool_fail). */
static int indexing_failed(tm_error *err, int rc, const char *path)
{
    const char *what = sym_elf_oom_what();
    if (what[0])
        return tm_error_set(err, rc, "%s: out of memory while indexing: %s", path, what);
    return tm_error_set(err, rc, "%s: out of memory while indexing", path);
}

/* --- lookups ------------------------------------------------------------------- */

/* TM_OK or TM_ENOMEM (reading a unit of a lazy module). */
static int lookup_in(tm_symbolizer *s, sym_module *m, uint64_t addr, tm_sym_result *out)
{
    int rc = TM_OK;
    if (m->lazy) {
        double t0 = now_seconds();
        rc = sym_lazy_lookup(m->lazy, &m->ix, addr, out);
        if (rc == TM_OK)
            rc = lazy_note(m);
        s->index_seconds += now_seconds() - t0;
    } else if (m->have_index) {
        sym_index_lookup(&m->ix, addr, out);
    } else {
        out->nframes = 1;
        out->frames[0] = (tm_sym_frame){ "", "", 0 };
    }
    out->status = m->status;
    return rc;
}

int tm_symbolizer_lookup(tm_sym_result *out, tm_symbolizer *s, const char *path, uint64_t addr,
                         tm_error *err)
{
    if (!s || !path || !out)
        return tm_error_set(err, TM_EINVAL, "symbolizer lookup: NULL argument");
    sym_module *m;
    if (get_module(s, path, NULL, 0, &m) != TM_OK || lookup_in(s, m, addr, out) != TM_OK)
        return indexing_failed(err, TM_ENOMEM, path);
    return TM_OK;
}

int tm_symbolizer_file_note(const char **note, tm_symbolizer *s, const char *path)
{
    for (size_t i = 0; i < s->nmods; i++) {
        if (s->mods[i]->want_id_len == 0 && strcmp(s->mods[i]->key_path, path) == 0) {
            if (note)
                *note = s->mods[i]->note;
            return s->mods[i]->status;
        }
    }
    if (note)
        *note = NULL;
    return TM_SYMSTAT_UNUSED;
}

/* --- snapshots ------------------------------------------------------------------ */

void tm_symbolize_report_free(tm_symbolize_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nmodules; i++) {
        free(r->modules[i].path);
        free(r->modules[i].debug_path);
        free(r->modules[i].note);
    }
    free(r->modules);
    free(r);
}

static char *plain_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int intern(tm_snapshot *snap, const char *s, uint32_t *id, tm_error *err)
{
    return tm_snapshot_intern_string(id, snap, s, strlen(s), err);
}

int tm_symbolizer_snapshot(tm_symbolize_report **report, tm_symbolizer *s, tm_snapshot *snap,
                           tm_error *err)
{
    if (report)
        *report = NULL;
    if (!s || !snap)
        return tm_error_set(err, TM_EINVAL, "symbolize: NULL argument");
    size_t nmod = tm_snapshot_module_count(snap);
    size_t nframes = tm_snapshot_frame_count(snap);
    tm_symbolize_report *rep = calloc(1, sizeof *rep);
    sym_module **mods = tm_calloc(nmod ? nmod : 1, sizeof *mods);
    int rc = TM_OK;
    if (!rep || !mods || (nmod && !(rep->modules = calloc(nmod, sizeof *rep->modules)))) {
        rc = tm_error_set(err, TM_ENOMEM, "symbolize: out of memory");
        goto out;
    }
    rep->nmodules = nmod;
    for (size_t i = 0; i < nmod; i++) {
        rep->modules[i].module = (uint32_t)i;
        rep->modules[i].status = TM_SYMSTAT_UNUSED;
    }
    for (size_t id = 0; id < nframes; id++) {
        tm_frame f = tm_snapshot_frames(snap)[id];
        if (f.module == TM_NONE || f.module >= nmod || f.function != 0 || f.file != 0 ||
            f.inlined_by != TM_NONE)
            continue;
        tm_symbolize_module_report *mr = &rep->modules[f.module];
        if (!mods[f.module]) {
            tm_module md = tm_snapshot_modules(snap)[f.module];
            const char *path = tm_snapshot_string(snap, md.path, NULL);
            rc = get_module(s, path, md.build_id, md.build_id_len, &mods[f.module]);
            if (rc != TM_OK) {
                rc = indexing_failed(err, rc, path);
                goto out;
            }
            sym_module *m = mods[f.module];
            mr->status = m->status;
            mr->path = plain_dup(m->path ? m->path : path);
            mr->debug_path = plain_dup(m->debug_path);
            mr->note = plain_dup(m->note);
            mr->degraded = m->degraded;
            if (!mr->path || (m->debug_path && !mr->debug_path) || (m->note && !mr->note)) {
                rc = tm_error_set(err, TM_ENOMEM, "symbolize: out of memory");
                goto out;
            }
        }
        tm_sym_result res;
        if (lookup_in(s, mods[f.module], f.offset ? f.offset - 1 : 0, &res) != TM_OK) {
            rc = indexing_failed(err, TM_ENOMEM, mr->path);
            goto out;
        }
        mr->frames++;
        rep->frames++;
        if (!res.frames[0].function[0] && !res.frames[0].file[0] && res.nframes == 1)
            continue;
        if (res.frames[0].function[0]) {
            mr->frames_resolved++;
            rep->frames_resolved++;
        }
        uint32_t parent = TM_NONE;
        for (size_t k = res.nframes; k-- > 0;) {
            tm_frame nf = f;
            nf.inlined_by = parent;
            nf.reserved = 0;
            nf.line = res.frames[k].line;
            if ((rc = intern(snap, res.frames[k].function, &nf.function, err)) != TM_OK ||
                (rc = intern(snap, res.frames[k].file, &nf.file, err)) != TM_OK)
                goto out;
            if (k > 0) {
                size_t before = tm_snapshot_frame_count(snap);
                if ((rc = tm_snapshot_intern_frame(&parent, snap, &nf, err)) != TM_OK)
                    goto out;
                rep->frames_added += tm_snapshot_frame_count(snap) - before;
            } else if ((rc = tm_snapshot_set_frame(snap, (uint32_t)id, &nf, err)) != TM_OK) {
                goto out;
            }
        }
    }
    /* a lazy module's note covers the units its frames needed */
    for (size_t i = 0; rc == TM_OK && i < nmod; i++) {
        sym_module *m = mods[i];
        tm_symbolize_module_report *mr = &rep->modules[i];
        if (!m || !m->lazy)
            continue;
        mr->degraded = m->degraded;
        if (!m->note || (mr->note && strcmp(m->note, mr->note) == 0))
            continue;
        free(mr->note);
        if (!(mr->note = plain_dup(m->note)) && m->note)
            rc = tm_error_set(err, TM_ENOMEM, "symbolize: out of memory");
    }
out:
    tm_free(mods);
    if (rc != TM_OK || !report)
        tm_symbolize_report_free(rep);
    else
        *report = rep;
    return rc;
}

int tm_symbolize_snapshot(tm_symbolize_report **report, tm_snapshot *snap,
                          const tm_symbolize_options *opts, tm_error *err)
{
    tm_symbolizer *s;
    int rc = tm_symbolizer_new(&s, opts, err);
    if (rc != TM_OK)
        return rc;
    rc = tm_symbolizer_snapshot(report, s, snap, err);
    tm_symbolizer_free(s);
    return rc;
}
