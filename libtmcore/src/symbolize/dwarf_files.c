/*
 * Where DWARF lives besides a file's own sections: a section by name
 * (loaded, compressed or not), the sections of a .dwo or .dwp, and the
 * supplementary file of dwz (.gnu_debugaltlink or .debug_sup): found,
 * checked against its build-id or checksum, with its sections.  dwarf.c
 * walks the DIEs and says what could not be found.
 */
#include <stdio.h>
#include <string.h>

#include "dwarf_reader.h"

/* Section bytes by name (or its .zdebug_ form), loaded; empty if absent. */
int sym_dwarf_section(sym_elf *e, const char *name, dw_bytes *out, char *note, size_t notecap)
{
    size_t idx = sym_elf_find(e, name);
    if (idx == SIZE_MAX) {
        char z[64];
        snprintf(z, sizeof z, ".z%s", name + 1);
        idx = sym_elf_find(e, z);
    }
    out->p = NULL;
    out->n = 0;
    if (idx == SIZE_MAX)
        return TM_OK;
    int rc = sym_elf_load(e, idx, note, notecap);
    if (rc != TM_OK)
        return rc;
    out->p = e->sections[idx].data;
    out->n = out->p ? e->sections[idx].size : 0;
    return TM_OK;
}

/* The sections a .dwo (or a package) holds. */
int sym_dwo_sections(sym_elf *f, dw_sections *out, dw_bytes *cu_index, char *note, size_t notecap)
{
    memset(out, 0, sizeof *out);
    out->msb = f->msb;
    static const char *const names[] = { ".debug_info.dwo",     ".debug_abbrev.dwo",
                                         ".debug_str.dwo",      ".debug_str_offsets.dwo",
                                         ".debug_rnglists.dwo", ".debug_line.dwo",
                                         ".debug_cu_index" };
    dw_bytes dummy;
    dw_bytes *slots[] = { &out->info,
                          &out->abbrev,
                          &out->str,
                          &out->str_offsets,
                          &out->rnglists,
                          &out->line,
                          cu_index ? cu_index : &dummy };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int rc = sym_dwarf_section(f, names[i], slots[i], note, notecap);
        if (rc != TM_OK)
            return rc;
    }
    return TM_OK;
}

/* dir + '/' + part into buf. */
void sym_path_join(char *buf, size_t cap, const char *dir, const char *part)
{
    size_t len = 0;
    sym_path_append(buf, cap, &len, dir);
    sym_path_append(buf, cap, &len, part);
    buf[len] = '\0';
}

/* The directory of file path + '/' + part into buf. */
void sym_path_beside(char *buf, size_t cap, const char *path, const char *part)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    char dir[4096] = ".";
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path + 1), path);
    sym_path_join(buf, cap, dir, part);
}

/* DWARF 5's .debug_sup of f: *is_sup, the file name and the checksum that
 * the file and its supplementary file share.  *name NULL: no section. */
static int sup_section(sym_elf *f, int *is_sup, const char **name, const uint8_t **sum,
                       size_t *sumlen, char *note, size_t notecap)
{
    *name = NULL;
    dw_bytes b;
    int rc = sym_dwarf_section(f, ".debug_sup", &b, note, notecap);
    if (rc != TM_OK || !b.n)
        return rc;
    sym_cur c = { b.p, b.p + b.n, f->msb, 0 };
    unsigned version = (unsigned)sym_cur_uint(&c, 2);
    *is_sup = sym_cur_u8(&c);
    const char *s = sym_cur_str(&c);
    uint64_t n = sym_cur_uleb(&c);
    if (c.bad || n > sym_cur_left(&c) || version != 5) {
        snprintf(note, notecap, "%s: .debug_sup: malformed (version %u)", f->path, version);
        return TM_EFORMAT;
    }
    *name = s;
    *sum = c.p;
    *sumlen = (size_t)n;
    return TM_OK;
}

/* Where the supplementary file is named: .gnu_debugaltlink (a path and the
 * file's build-id) or .debug_sup (*sup set: a path and a checksum).  *name
 * NULL: none. */
static int alt_link(sym_elf *e, const char **name, const uint8_t **id, size_t *idlen, int *sup,
                    char *note, size_t notecap)
{
    *name = NULL;
    *idlen = 0;
    *sup = 0;
    dw_bytes b;
    int rc = sym_dwarf_section(e, ".gnu_debugaltlink", &b, note, notecap);
    if (rc != TM_OK)
        return rc;
    if (b.n) {
        const uint8_t *z = memchr(b.p, 0, b.n);
        if (!z) {
            snprintf(note, notecap, ".gnu_debugaltlink: no NUL-terminated file name");
            return TM_EFORMAT;
        }
        *name = (const char *)b.p;
        *id = z + 1;
        *idlen = b.n - (size_t)(z + 1 - b.p);
        return TM_OK;
    }
    int is_sup = 0;
    if ((rc = sup_section(e, &is_sup, name, id, idlen, note, notecap)) != TM_OK || !*name)
        return rc;
    if (is_sup)
        *name = NULL; /* this is the supplementary file */
    *sup = 1;
    return TM_OK;
}

/* Whether candidate f is the supplementary file named with id. */
static int alt_matches(sym_elf *f, int sup, const uint8_t *id, size_t idlen)
{
    if (!sup)
        return !idlen || (f->build_id_len == idlen && memcmp(f->build_id, id, idlen) == 0);
    const char *name;
    const uint8_t *sum;
    size_t n;
    int is_sup = 0;
    char note[SYM_NOTE_MAX];
    return sup_section(f, &is_sup, &name, &sum, &n, note, sizeof note) == TM_OK && name && is_sup &&
        n == idlen && memcmp(sum, id, n) == 0;
}

/* Finds and opens the supplementary file of e: its path as linked (relative
 * to e's directory), its base name beside e, then by build-id under
 * DIR/.build-id and under DIR/.dwz for each debug directory of e (the
 * symbolizer's; /usr/lib/debug when e has none set). */
int sym_dwarf_sup_open(sym_elf *e, sym_elf **out, dw_sections *sec, char *note, size_t notecap)
{
    *out = NULL;
    note[0] = '\0';
    const char *name;
    const uint8_t *id = NULL;
    size_t idlen;
    int sup;
    char why[SYM_NOTE_MAX] = "";
    int rc = alt_link(e, &name, &id, &idlen, &sup, why, sizeof why);
    if (rc == TM_ENOMEM)
        return rc;
    if (rc != TM_OK) {
        snprintf(note, notecap, "dwz: %s", why);
        return TM_OK;
    }
    if (!name)
        return TM_OK;
    char hex[2 * TM_BUILD_ID_MAX + 1] = "";
    for (size_t i = 0; i < idlen && i < TM_BUILD_ID_MAX; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    const char *dwz = strstr(name, ".dwz/");
    char path[4096];
    int mismatch = 0;
    static const char *const default_dirs[] = { "/usr/lib/debug" };
    const char *const *dirs = e->debug_dirs_set ? (const char *const *)e->debug_dirs : default_dirs;
    size_t ndirs = e->debug_dirs_set ? e->ndebug_dirs : 1;
    for (size_t k = 0; k < 2 + 2 * ndirs && !*out; k++) {
        const char *dir = k >= 2 ? dirs[(k - 2) / 2] : NULL;
        if (k == 0 && name[0] == '/')
            snprintf(path, sizeof path, "%s", name);
        else if (k == 0)
            sym_path_beside(path, sizeof path, e->path, name);
        else if (k == 1)
            sym_path_beside(path, sizeof path, e->path, base);
        else if (k % 2 == 0 && idlen >= 2)
            snprintf(path, sizeof path, "%s/.build-id/%.2s/%s.debug", dir, hex, hex + 2);
        else if (k % 2 == 1 && dwz)
            sym_path_join(path, sizeof path, dir, dwz);
        else
            continue;
        sym_elf *f;
        rc = sym_elf_open(path, &f, why, sizeof why);
        if (rc == TM_ENOMEM)
            return rc;
        if (rc != TM_OK)
            continue;
        if (!alt_matches(f, sup, id, idlen)) {
            mismatch = 1;
            sym_elf_close(f);
            continue;
        }
        *out = f;
    }
    if (!*out) {
        snprintf(note, notecap,
                 "dwz: supplementary file %s (%s %s) %s: names of functions described there "
                 "are missing",
                 name, sup ? "checksum" : "build-id", hex[0] ? hex : "none",
                 mismatch ? "does not match" : "not found");
        return TM_OK;
    }
    memset(sec, 0, sizeof *sec);
    sec->msb = (*out)->msb;
    static const char *const names[] = { ".debug_info", ".debug_abbrev", ".debug_str",
                                         ".debug_line_str", ".debug_str_offsets" };
    dw_bytes *slots[] = { &sec->info, &sec->abbrev, &sec->str, &sec->line_str, &sec->str_offsets };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        rc = sym_dwarf_section(*out, names[i], slots[i], why, sizeof why);
        if (rc == TM_ENOMEM)
            return rc;
        if (rc != TM_OK) {
            snprintf(note, notecap, "dwz: %s", why);
            sym_elf_close(*out);
            *out = NULL;
            return TM_OK;
        }
    }
    return TM_OK;
}
