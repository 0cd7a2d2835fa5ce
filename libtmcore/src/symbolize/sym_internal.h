/*
 * Private to the symbolizer.  Layers, bottom up:
 *   sym_strpool  interned strings (offsets into one buffer; 0 is "")
 *   sym_elf      one ELF file through libelf: sections (decompressed on
 *                demand), build-id, .gnu_debuglink, symbols   (elf.c)
 *   sym_index    the flat sorted per-module index and its lookup  (index.c)
 *   sym_lines    decodes .debug_line programs into the index  (lines.c)
 *   dw_reader    reads .debug_info & co, bounds-checked  (info.c, dwarf_reader.h)
 *   dw_cu_index  a DWARF package's unit index  (dwp.c)
 *   sym_dwarf    fills an index from DWARF, following dwz supplementary
 *                files (dwarf.c) and split units (dwarf_split.c)
 *   symbolizer   locating files, cache by build-id, snapshots (symbolizer.c)
 */
#ifndef TM_SYM_INTERNAL_H
#define TM_SYM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tm/symbolize.h"
#include "tm_hash.h"

#define SYM_NOTE_MAX 512
#define SYM_NONE UINT32_MAX
#define SYM_EXTERNAL 0x80000000u /* a symbol name's offset in sym_names */

/* --- strings ----------------------------------------------------------- */

typedef struct sym_strpool {
    char *data;
    size_t len, cap;
    tm_hindex index; /* string -> its offset */
    /* stable: growing keeps the old buffers (freed with the pool), so that
     * strings handed out stay valid while more are added (lazy indexing) */
    int stable;
    char **retired;
    size_t nretired, capretired;
} sym_strpool;

int sym_strpool_init(sym_strpool *p);
void sym_strpool_free(sym_strpool *p);
/* Returns TM_OK or TM_ENOMEM; *out is the offset of the NUL-terminated copy. */
int sym_strpool_intern(sym_strpool *p, const char *s, size_t len, uint32_t *out);
static inline const char *sym_str(const sym_strpool *p, uint32_t off)
{
    return p->data ? p->data + off : "";
}

/* --- ELF ------------------------------------------------------------- */

typedef struct sym_section {
    const char *name;
    uint64_t addr, size, type, flags, link, info, entsize;
    uint64_t offset;     /* in the file */
    const uint8_t *data; /* after load: decompressed bytes */
    uint8_t *owned;      /* heap copy when decompressed */
    int state;           /* 0 not loaded, 1 loaded, -1 failed */
} sym_section;

typedef struct sym_elf {
    int fd;
    void *elf; /* Elf * */
    char *path;
    int is64, msb;
    unsigned machine, etype;
    size_t nsections;
    sym_section *sections;
    uint8_t build_id[TM_BUILD_ID_MAX];
    uint32_t build_id_len;
    char *debuglink; /* NULL if none */
    uint32_t debuglink_crc;
    int has_debug_info; /* a .debug_info / .zdebug_info with bytes */
    char *binary_path;  /* a debug file: the binary it was found for, or NULL */
    /* where its dwz supplementary file may be by build-id (the symbolizer's
     * debug directories, borrowed); unset: /usr/lib/debug */
    char *const *debug_dirs;
    size_t ndebug_dirs;
    int debug_dirs_set;
    uint64_t first_exec_addr; /* lowest address of an executable PT_LOAD */
    size_t libelf_charge;     /* libelf's own tables, counted in the budget */
} sym_elf;

/* Opens path.  TM_OK, TM_ENOMEM, or another code with a note (not ELF,
 * truncated, ...). */
int sym_elf_open(const char *path, sym_elf **out, char *note, size_t notecap);
void sym_elf_close(sym_elf *e);
/* Decompresses if needed.  TM_OK or an error code with a note. */
int sym_elf_load(sym_elf *e, size_t idx, char *note, size_t notecap);
/* Index of the section called name, or SIZE_MAX. */
size_t sym_elf_find(const sym_elf *e, const char *name);
/* After TM_ENOMEM from sym_elf_open or sym_elf_load in this thread: what the
 * memory budget refused ("FILE: section S decompresses to N bytes ..."), for
 * the symbolizer's error; "" when it was not the budget.  Cleared by
 * sym_elf_oom_clear. */
const char *sym_elf_oom_what(void);
void sym_elf_oom_clear(void);

/* --- debuginfod (debuginfod.c) ------------------------------------------ */

/* A client, made on first use; NULL until then. */
typedef struct sym_debuginfod sym_debuginfod;
/* Servers are asked only when built with libdebuginfod and DEBUGINFOD_URLS
 * is set. */
int sym_debuginfod_enabled(void);
/* The debug file of build-id id from a server (or libdebuginfod's cache),
 * for module (named in progress).  TM_OK with *path (tm_alloc'ed); TM_ENOTFOUND
 * when not enabled or no server has it; TM_EIO with a note when asking
 * failed; TM_ENOMEM. */
int sym_debuginfod_fetch(char **path, sym_debuginfod **state, const uint8_t *id, uint32_t idlen,
                         const char *module, char *note, size_t notecap);
void sym_debuginfod_free(sym_debuginfod *d);

/* --- index ------------------------------------------------------------ */

typedef struct sym_line { /* [lo, hi) -> file:line */
    uint64_t lo, hi;
    uint32_t file, line;
} sym_line;

typedef struct sym_func { /* one subprogram or inlined subroutine */
    uint32_t name;        /* demangled, pool offset */
    uint32_t call_file;   /* where an inlined call was made */
    uint32_t call_line;
    uint32_t parent; /* enclosing func (inlined_subroutine chain), or SYM_NONE */
} sym_func;

typedef struct sym_range { /* [lo, hi) -> innermost func */
    uint64_t lo, hi;
    uint32_t func;
    uint32_t depth; /* nesting depth while building */
} sym_range;

typedef struct sym_symbol {
    uint64_t addr, size;
    uint32_t name; /* demangled */
    uint32_t file; /* preceding STT_FILE of a local symbol, or 0 */
    uint32_t seq;  /* position in the symbol table */
} sym_symbol;

/* The finished index answers from one array: the address space cut at
 * every boundary of a line, function range or symbol, each segment holding
 * the complete answer for its addresses. */
typedef struct sym_seg {
    uint64_t lo;         /* the segment runs to the next one's lo */
    uint32_t file, line; /* 0, 0: no line */
    uint32_t func;       /* innermost function, or SYM_NONE */
    uint32_t sym;        /* index in syms, or SYM_NONE */
} sym_seg;

/* Bucket table over the segments: for address a, bucket (a - base) >> shift
 * holds the index range in which the binary search ends, so a random lookup
 * touches a few cache lines instead of ~17 levels of a cold binary search. */
typedef struct sym_accel {
    uint64_t base;
    unsigned shift;
    uint32_t *first; /* nb + 1 entries; NULL: plain binary search */
    size_t nb;
} sym_accel;

typedef struct sym_index {
    sym_strpool strings;
    sym_seg *segs;
    size_t nsegs;
    sym_accel seg_accel;
    /* lines and ranges are freed by sym_index_finish (the segments replace
     * them); nlines / nranges keep their counts for statistics */
    sym_line *lines;
    size_t nlines, caplines;
    sym_func *funcs;
    size_t nfuncs, capfuncs;
    sym_range *ranges;
    size_t nranges, capranges;
    sym_symbol *syms;
    size_t nsyms, capsyms;
    /* raw name offset -> demangled, filled lazily: (raw, demangled) pairs */
    uint32_t *demangled;
    size_t ndemangled, capdemangled;
    tm_hindex demangled_index;
    int finished;
    /* raw_symbols: symbol names stay mangled (lazy.c demangles the ones
     * used), in the ELF string table sym_names when given (not copied: the
     * file stays open) and marked SYM_EXTERNAL */
    int raw_symbols;
    const char *sym_names;
    size_t sym_names_len;
} sym_index;

int sym_index_init(sym_index *ix);
void sym_index_free(sym_index *ix);
int sym_index_add_line(sym_index *ix, uint64_t lo, uint64_t hi, uint32_t file, uint32_t line);
int sym_index_add_func(sym_index *ix, const sym_func *f, uint32_t *out);
int sym_index_add_range(sym_index *ix, uint64_t lo, uint64_t hi, uint32_t func, uint32_t depth);
int sym_index_add_symbol(sym_index *ix, uint64_t addr, uint64_t size, const char *name,
                         const char *file);
/* The name of symbol y of ix. */
static inline const char *sym_symbol_name(const sym_index *ix, const sym_symbol *y)
{
    return y->name & SYM_EXTERNAL ? ix->sym_names + (y->name & ~SYM_EXTERNAL)
                                  : sym_str(&ix->strings, y->name);
}
/* Interns name demangled (if it is a mangled C++ name). */
int sym_index_intern_function(sym_index *ix, const char *name, uint32_t *out);
/* Sorts and flattens; call once after adding everything. */
int sym_index_finish(sym_index *ix);
/* Fills out (statuses untouched). */
void sym_index_lookup(const sym_index *ix, uint64_t addr, tm_sym_result *out);

/* Lazy indexing (lazy.c) keeps each unit's segments apart, its functions
 * and strings in one shared index, and the symbols in another. */
typedef struct sym_segtab {
    sym_seg *segs;
    size_t nsegs;
    sym_accel accel;
} sym_segtab;
/* The lines and function ranges added since the last call, sorted,
 * flattened and cut into *tab (symbols left out), then dropped from ix; its
 * functions and strings stay.  TM_OK or TM_ENOMEM. */
int sym_index_take_segments(sym_index *ix, sym_segtab *tab);
void sym_segtab_free(sym_segtab *tab);
size_t sym_segtab_memory(const sym_segtab *tab);
/* What sym_index_lookup answers for an index of tab's lines and functions
 * (in ix) and the finished symbols-only index syms; tab and syms may be
 * NULL. */
void sym_index_lookup_tab(const sym_index *ix, const sym_segtab *tab, const sym_index *syms,
                          uint64_t addr, tm_sym_result *out);
size_t sym_index_memory(const sym_index *ix);

/* Symbols of e (.symtab, else .dynsym) into ix.  TM_OK or TM_ENOMEM
 * (malformed tables are skipped with a note). */
int sym_elf_add_symbols(sym_elf *e, sym_index *ix, char *note, size_t notecap);

/* --- bounds-checked reading of DWARF bytes ------------------------------ */

/* A cursor never reads outside [p, end): a read past the end sets bad,
 * returns 0 and leaves the cursor at the end, so callers may check once
 * after a group of reads. */
typedef struct sym_cur {
    const uint8_t *p, *end;
    int msb;
    int bad;
} sym_cur;

static inline size_t sym_cur_left(const sym_cur *c)
{
    return (size_t)(c->end - c->p);
}

static inline uint64_t sym_cur_uint(sym_cur *c, size_t n)
{
    if (sym_cur_left(c) < n) {
        c->bad = 1;
        c->p = c->end;
        return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)c->p[c->msb ? n - 1 - i : i] << (8 * i);
    c->p += n;
    return v;
}

static inline uint8_t sym_cur_u8(sym_cur *c)
{
    if (c->p >= c->end) {
        c->bad = 1;
        return 0;
    }
    return *c->p++;
}

static inline uint64_t sym_cur_uleb(sym_cur *c)
{
    uint64_t v = 0;
    unsigned shift = 0;
    while (c->p < c->end) {
        uint8_t b = *c->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80))
            return v;
    }
    c->bad = 1;
    return 0;
}

static inline int64_t sym_cur_sleb(sym_cur *c)
{
    uint64_t v = 0;
    unsigned shift = 0;
    while (c->p < c->end) {
        uint8_t b = *c->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40))
                v |= ~0ull << shift;
            return (int64_t)v;
        }
    }
    c->bad = 1;
    return 0;
}

static inline void sym_cur_skip(sym_cur *c, uint64_t n)
{
    if (sym_cur_left(c) < n) {
        c->bad = 1;
        c->p = c->end;
        return;
    }
    c->p += n;
}

/* A NUL-terminated string inside the cursor's range, or NULL (bad set). */
static inline const char *sym_cur_str(sym_cur *c)
{
    const uint8_t *z = c->p < c->end ? memchr(c->p, 0, sym_cur_left(c)) : NULL;
    if (!z) {
        c->bad = 1;
        c->p = c->end;
        return NULL;
    }
    const char *s = (const char *)c->p;
    c->p = z + 1;
    return s;
}

/* The string at offset off of a string section, or NULL. */
static inline const char *sym_sec_str(const uint8_t *sec, size_t size, uint64_t off)
{
    if (!sec || off >= size || !memchr(sec + off, 0, size - off))
        return NULL;
    return (const char *)sec + off;
}

/* --- line programs (lines.c): .debug_line, DWARF 2-5 --------------------- */

typedef struct sym_line_input {
    const uint8_t *line;
    size_t line_size; /* .debug_line */
    const uint8_t *line_str;
    size_t line_str_size; /* .debug_line_str (DWARF 5) */
    const uint8_t *str;
    size_t str_size; /* .debug_str */
    int msb;
    unsigned addr_size;   /* of the CU: 4 or 8 */
    const char *comp_dir; /* DW_AT_comp_dir of the CU, may be NULL */
} sym_line_input;

typedef struct sym_line_files {
    unsigned version;
    uint32_t *files; /* DWARF file number -> pool offset (0: none) */
    size_t nfiles;
} sym_line_files;

/* Decodes the line program at `offset`: every row becomes a [addr, next
 * addr) line range of ix (the last of several rows at one address wins), and
 * *files receives the file table (release files->files with tm_free).
 * TM_OK, TM_ENOMEM, or TM_EFORMAT with a note saying what and where (rows
 * read before the fault are kept). */
int sym_lines_read(const sym_line_input *in, uint64_t offset, sym_index *ix, sym_line_files *files,
                   char *note, size_t notecap);

/* llvm::sys::path::append: one '/' between parts, none doubled at the seam. */
void sym_path_append(char *buf, size_t cap, size_t *len, const char *part);

/* --- DWARF (dwarf.c) ------------------------------------------------- */

/* Adds lines and functions of e's DWARF to ix.  TM_OK when the DWARF was
 * read (possibly partially: *note says what was skipped), TM_EFORMAT when
 * nothing usable was found (note says why), TM_ENOMEM.  *degraded: 1 when
 * a .dwo, .dwp or supplementary file e refers to is missing or of another
 * build (the note says which). */
int sym_dwarf_index(sym_elf *e, sym_index *ix, int *degraded, char *note, size_t notecap);

/* The same, unit by unit (lazy indexing): open reads the unit headers (and
 * the dwz file's); TM_OK, TM_EFORMAT with a note, TM_ENOMEM.  e and ix must
 * outlive d. */
typedef struct sym_dwarf sym_dwarf;
int sym_dwarf_open(sym_dwarf **out, sym_elf *e, sym_index *ix, char *note, size_t notecap);
void sym_dwarf_close(sym_dwarf *d);
size_t sym_dwarf_nunits(const sym_dwarf *d);
/* A compile, partial or skeleton unit (type units hold no code). */
int sym_dwarf_unit_holds_code(const sym_dwarf *d, size_t unit);
/* The addresses the root DIE of a unit holding code claims (DW_AT_low_pc /
 * high_pc, DW_AT_ranges), each passed to add; *found 0 when it names none.
 * Reads only the root DIE.  TM_OK, TM_EFORMAT, TM_ENOMEM. */
int sym_dwarf_unit_ranges(sym_dwarf *d, size_t unit,
                          void (*add)(void *ctx, uint64_t lo, uint64_t hi), void *ctx, int *found);
/* Lines and functions of one unit into ix (TM_OK or TM_ENOMEM; what is
 * unreadable goes to the note). */
int sym_dwarf_read_unit(sym_dwarf *d, size_t unit);
/* What sym_dwarf_index says about the units read so far. */
void sym_dwarf_note(const sym_dwarf *d, int *degraded, char *note, size_t notecap);

/* --- lazy indexing (lazy.c) ------------------------------------------- */

/* Whether d's DWARF is read lazily: 16 MiB of .debug_info or more, or as
 * TM_SYMBOLIZE_LAZY (1, 0) says. */
int sym_lazy_wanted(const sym_elf *d);
/* A big file's DWARF, read unit by unit as addresses need them. */
typedef struct sym_lazy sym_lazy;
/* Maps e's units to their addresses (root DIEs only).  TM_OK: *out owns e
 * from now on (its note may say what was unreadable); TM_EFORMAT with a
 * note: no usable DWARF (e still the caller's); TM_ENOMEM. */
int sym_lazy_open(sym_lazy **out, sym_elf *e, char *note, size_t notecap);
void sym_lazy_close(sym_lazy *lz);
/* sym_index_lookup of the full index for a, with the symbols of syms
 * (finished; may be NULL); reads a's unit if needed.  TM_OK or TM_ENOMEM. */
int sym_lazy_lookup(sym_lazy *lz, const sym_index *syms, uint64_t a, tm_sym_result *out);
/* What sym_dwarf_index would say about the units read so far ("" if
 * nothing). */
const char *sym_lazy_note(const sym_lazy *lz, int *degraded);
/* Reads every unit not read yet (tests).  TM_OK or TM_ENOMEM. */
int sym_lazy_read_all(sym_lazy *lz);
/* 1 when several units claim some address: the first answers there. */
int sym_lazy_overlaps(const sym_lazy *lz);
/* 1 when the map of units was not trusted and everything was read. */
int sym_lazy_whole(const sym_lazy *lz);
void sym_lazy_stats(const sym_lazy *lz, size_t *lines, size_t *ranges, size_t *bytes,
                    size_t *units_read, size_t *units);

/* --- demangling ------------------------------------------------------- */

/* *out: malloc'ed demangled name, or NULL if name is not a valid mangled
 * name (or no demangler is linked).  TM_ENOMEM if the demangler ran out of
 * memory. */
int sym_demangle(char **out, const char *name);

#endif
