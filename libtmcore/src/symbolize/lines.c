/*
 * Our own .debug_line decoder (DWARF 2-5).  libdwarf's dwarf_srclines_b()
 * allocates one object per row and per file and was the largest part of
 * index building; here rows go straight into the index as ranges.
 *
 * Semantics kept from the libdwarf version (they are llvm-symbolizer's):
 *   - every row ends the previous row's range; of several rows at one
 *     address the last wins; a row going backwards drops the pending one;
 *   - file names: an absolute name as is, else comp_dir (unless the include
 *     directory is absolute, or this is DWARF 5 directory 0, which already
 *     is the compilation directory) + include directory + name, joined
 *     like llvm::sys::path::append;
 *   - file numbers as in the DWARF version (from 1 before DWARF 5, from 0
 *     in DWARF 5); the file register starts at 1 in every version.
 * Every read goes through a bounds-checked sym_cur: a malformed program
 * stops with a note naming the offset, never reads outside the section.
 */
#include <stdio.h>
#include <string.h>

#include "sym_internal.h"
#include "tm_alloc.h"

#define DW_LNS_copy 1
#define DW_LNS_advance_pc 2
#define DW_LNS_advance_line 3
#define DW_LNS_set_file 4
#define DW_LNS_const_add_pc 8
#define DW_LNS_fixed_advance_pc 9
#define DW_LNE_end_sequence 1
#define DW_LNE_set_address 2
#define DW_LNE_define_file 3
#define DW_LNCT_path 1
#define DW_LNCT_directory_index 2

#define MAX_ENTRIES 1000000u
#define MAX_FORMATS 64u

typedef struct line_state {
    sym_index *ix;
    sym_line_files *files;
    int pending;
    uint64_t paddr;
    uint32_t pfile, pline;
    int enomem;
} line_state;

void sym_path_append(char *buf, size_t cap, size_t *len, const char *part)
{
    if (!part)
        return;
    if (*len > 0 && buf[*len - 1] == '/') {
        while (*part == '/')
            part++;
    } else if (*len > 0 && part[0] != '/') {
        if (*len + 1 < cap)
            buf[(*len)++] = '/';
    }
    size_t n = strlen(part);
    if (n > cap - 1 - *len)
        n = cap - 1 - *len;
    memcpy(buf + *len, part, n);
    *len += n;
    buf[*len] = '\0';
}

static int is_abs(const char *p)
{
    return p && p[0] == '/';
}

/* Appends file `name` in directory number `dir` to the table. */
static int add_file(sym_index *ix, sym_line_files *f, const char *const *dirs, size_t ndirs,
                    const char *comp_dir, const char *name, uint64_t dir, size_t *cap)
{
    uint32_t off = 0;
    if (name && name[0]) {
        char buf[4096];
        size_t len = 0;
        buf[0] = '\0';
        if (is_abs(name)) {
            sym_path_append(buf, sizeof buf, &len, name);
        } else {
            /* dirs[0] is the compilation directory in DWARF 5 and a
             * placeholder (NULL) before */
            const char *inc = dir < ndirs ? dirs[dir] : NULL;
            if ((f->version < 5 || dir != 0) && !is_abs(inc))
                sym_path_append(buf, sizeof buf, &len, comp_dir ? comp_dir : "");
            sym_path_append(buf, sizeof buf, &len, inc ? inc : "");
            sym_path_append(buf, sizeof buf, &len, name);
        }
        if (sym_strpool_intern(&ix->strings, buf, len, &off) != TM_OK)
            return TM_ENOMEM;
    }
    if (tm_grow((void **)&f->files, cap, f->nfiles + 1, sizeof *f->files) != 0)
        return TM_ENOMEM;
    f->files[f->nfiles++] = off;
    return TM_OK;
}

static void row(line_state *st, uint64_t addr, uint64_t file, uint64_t line, int endseq)
{
    if (st->pending && addr > st->paddr &&
        sym_index_add_line(st->ix, st->paddr, addr, st->pfile, st->pline) != TM_OK)
        st->enomem = 1;
    if (st->pending && addr < st->paddr)
        st->pending = 0;
    if (endseq) {
        st->pending = 0;
        return;
    }
    st->pending = 1;
    st->paddr = addr;
    st->pfile = file < st->files->nfiles ? st->files->files[file] : 0;
    st->pline = line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
}

/* One DWARF 5 entry-format value: a string (paths) or a number. */
static int read_form(sym_cur *c, const sym_line_input *in, unsigned offsize, uint64_t form,
                     const char **str, uint64_t *num)
{
    *str = NULL;
    *num = 0;
    switch (form) {
    case 0x08: *str = sym_cur_str(c); return 0; /* string */
    case 0x1f:                                  /* line_strp */
        *str = sym_sec_str(in->line_str, in->line_str_size, sym_cur_uint(c, offsize));
        return *str || c->bad ? 0 : -2;
    case 0x0e: /* strp */
        *str = sym_sec_str(in->str, in->str_size, sym_cur_uint(c, offsize));
        return *str || c->bad ? 0 : -2;
    case 0x1d: sym_cur_skip(c, offsize); return 0; /* strp_sup: not available */
    case 0x1a: sym_cur_uleb(c); return 0;          /* strx: no str_offsets_base here */
    case 0x25:
    case 0x26:
    case 0x27:
    case 0x28: sym_cur_skip(c, 1u << (form - 0x25)); return 0;
    case 0x0f: *num = sym_cur_uleb(c); return 0;           /* udata */
    case 0x0d: *num = (uint64_t)sym_cur_sleb(c); return 0; /* sdata */
    case 0x0b: *num = sym_cur_uint(c, 1); return 0;
    case 0x05: *num = sym_cur_uint(c, 2); return 0;
    case 0x06: *num = sym_cur_uint(c, 4); return 0;
    case 0x07: *num = sym_cur_uint(c, 8); return 0;
    case 0x1e: sym_cur_skip(c, 16); return 0;              /* data16 (MD5) */
    case 0x09: sym_cur_skip(c, sym_cur_uleb(c)); return 0; /* block */
    case 0x0a: sym_cur_skip(c, sym_cur_uint(c, 1)); return 0;
    case 0x03: sym_cur_skip(c, sym_cur_uint(c, 2)); return 0;
    case 0x04: sym_cur_skip(c, sym_cur_uint(c, 4)); return 0;
    default: return -1;
    }
}

/* A DWARF 5 directory or file list: entry formats then entries.  For
 * directories names[] is filled; for files each entry is added. */
static int read_v5_list(sym_cur *c, const sym_line_input *in, unsigned offsize, int is_files,
                        const char ***dirs, size_t *ndirs, sym_index *ix, sym_line_files *f,
                        size_t *fcap, char *what, size_t whatcap)
{
    unsigned nfmt = sym_cur_u8(c);
    uint64_t fmt[2 * MAX_FORMATS];
    if (nfmt > MAX_FORMATS) {
        snprintf(what, whatcap, "too many entry formats (%u)", nfmt);
        return TM_EFORMAT;
    }
    for (unsigned i = 0; i < nfmt; i++) {
        fmt[2 * i] = sym_cur_uleb(c);
        fmt[2 * i + 1] = sym_cur_uleb(c);
    }
    uint64_t count = sym_cur_uleb(c);
    if (c->bad) {
        snprintf(what, whatcap, "truncated entry formats");
        return TM_EFORMAT;
    }
    if (count > MAX_ENTRIES || (nfmt > 0 && count > sym_cur_left(c))) {
        snprintf(what, whatcap, "%s count %llu is impossible", is_files ? "file" : "directory",
                 (unsigned long long)count);
        return TM_EFORMAT;
    }
    if (!is_files && count) {
        *dirs = tm_calloc((size_t)count, sizeof **dirs);
        if (!*dirs)
            return TM_ENOMEM;
        *ndirs = (size_t)count;
    }
    for (uint64_t k = 0; k < count; k++) {
        const char *path = NULL;
        uint64_t dir = 0;
        for (unsigned i = 0; i < nfmt; i++) {
            const char *s;
            uint64_t v;
            int bad = read_form(c, in, offsize, fmt[2 * i + 1], &s, &v);
            if (bad == -2) {
                snprintf(what, whatcap, "%s entry %llu: string offset outside %s",
                         is_files ? "file" : "directory", (unsigned long long)k,
                         fmt[2 * i + 1] == 0x1f ? ".debug_line_str" : ".debug_str");
                return TM_EFORMAT;
            }
            if (bad) {
                snprintf(what, whatcap, "unsupported form 0x%llx in %s entry",
                         (unsigned long long)fmt[2 * i + 1], is_files ? "file" : "directory");
                return TM_EFORMAT;
            }
            if (fmt[2 * i] == DW_LNCT_path)
                path = s;
            else if (fmt[2 * i] == DW_LNCT_directory_index)
                dir = v;
        }
        if (c->bad) {
            snprintf(what, whatcap, "truncated %s entry %llu", is_files ? "file" : "directory",
                     (unsigned long long)k);
            return TM_EFORMAT;
        }
        if (!is_files) {
            (*dirs)[k] = path;
        } else if (add_file(ix, f, *dirs, *ndirs, in->comp_dir, path, dir, fcap) != TM_OK) {
            return TM_ENOMEM;
        }
    }
    return TM_OK;
}

int sym_lines_read(const sym_line_input *in, uint64_t offset, sym_index *ix, sym_line_files *files,
                   char *note, size_t notecap)
{
    memset(files, 0, sizeof *files);
    char what[160] = "";
    const char **dirs = NULL;
    size_t ndirs = 0, fcap = 0;
    int rc = TM_EFORMAT;
    line_state st = { ix, files, 0, 0, 0, 0, 0 };
    if (!in->line || offset >= in->line_size) {
        snprintf(what, sizeof what, "offset outside .debug_line (%llu bytes)",
                 (unsigned long long)in->line_size);
        goto out;
    }
    sym_cur c = { in->line + offset, in->line + in->line_size, in->msb, 0 };
    unsigned offsize = 4;
    uint64_t unit_len = sym_cur_uint(&c, 4);
    if (unit_len == 0xffffffffu) {
        offsize = 8;
        unit_len = sym_cur_uint(&c, 8);
    } else if (unit_len >= 0xfffffff0u) {
        snprintf(what, sizeof what, "reserved unit length 0x%llx", (unsigned long long)unit_len);
        goto out;
    }
    if (c.bad || unit_len > sym_cur_left(&c)) {
        snprintf(what, sizeof what, "unit length %llu runs past the section",
                 (unsigned long long)unit_len);
        goto out;
    }
    c.end = c.p + unit_len;
    unsigned version = (unsigned)sym_cur_uint(&c, 2);
    files->version = version;
    if (version < 2 || version > 5) {
        snprintf(what, sizeof what, "unsupported version %u", version);
        goto out;
    }
    unsigned addr_size = in->addr_size;
    if (version >= 5) {
        addr_size = sym_cur_u8(&c);
        sym_cur_u8(&c); /* segment selector size */
    }
    uint64_t hdr_len = sym_cur_uint(&c, offsize);
    if (c.bad || hdr_len > sym_cur_left(&c)) {
        snprintf(what, sizeof what, "header length %llu runs past the unit",
                 (unsigned long long)hdr_len);
        goto out;
    }
    const uint8_t *prog = c.p + hdr_len;
    unsigned min_inst = sym_cur_u8(&c);
    if (version >= 4)
        sym_cur_u8(&c); /* maximum_operations_per_instruction: VLIW only */
    int default_is_stmt = sym_cur_u8(&c);
    (void)default_is_stmt; /* every row counts, is_stmt or not (as llvm) */
    int line_base = (int8_t)sym_cur_u8(&c);
    unsigned line_range = sym_cur_u8(&c);
    unsigned opcode_base = sym_cur_u8(&c);
    const uint8_t *std_lens = c.p;
    if (opcode_base > 0)
        sym_cur_skip(&c, opcode_base - 1);
    if (c.bad || line_range == 0 || opcode_base == 0) {
        snprintf(what, sizeof what, c.bad ? "truncated header" : "line_range or opcode_base is 0");
        goto out;
    }
    if (addr_size != 1 && addr_size != 2 && addr_size != 4 && addr_size != 8)
        addr_size = 8;
    /* the tables must stay inside the header */
    sym_cur h = { c.p, prog, c.msb, 0 };
    if (version >= 5) {
        rc = read_v5_list(&h, in, offsize, 0, &dirs, &ndirs, ix, files, &fcap, what, sizeof what);
        if (rc == TM_OK)
            rc = read_v5_list(&h, in, offsize, 1, &dirs, &ndirs, ix, files, &fcap, what,
                              sizeof what);
        if (rc != TM_OK)
            goto out;
        rc = TM_EFORMAT;
    } else {
        size_t dcap = 0;
        /* dirs[0] stands for the compilation directory */
        if (tm_grow((void **)&dirs, &dcap, 1, sizeof *dirs) != 0) {
            rc = TM_ENOMEM;
            goto out;
        }
        dirs[ndirs++] = NULL;
        for (;;) {
            const char *d = sym_cur_str(&h);
            if (!d || !d[0])
                break;
            if (ndirs >= MAX_ENTRIES) {
                h.bad = 1;
                break;
            }
            if (tm_grow((void **)&dirs, &dcap, ndirs + 1, sizeof *dirs) != 0) {
                rc = TM_ENOMEM;
                goto out;
            }
            dirs[ndirs++] = d;
        }
        if (add_file(ix, files, dirs, ndirs, in->comp_dir, NULL, 0, &fcap) != TM_OK) {
            rc = TM_ENOMEM;
            goto out;
        }
        while (!h.bad) {
            const char *name = sym_cur_str(&h);
            if (!name || !name[0])
                break;
            uint64_t dir = sym_cur_uleb(&h);
            sym_cur_uleb(&h); /* mtime */
            sym_cur_uleb(&h); /* length */
            if (h.bad || files->nfiles >= MAX_ENTRIES) {
                h.bad = 1;
                break;
            }
            if (add_file(ix, files, dirs, ndirs, in->comp_dir, name, dir, &fcap) != TM_OK) {
                rc = TM_ENOMEM;
                goto out;
            }
        }
        if (h.bad) {
            snprintf(what, sizeof what, "truncated directory or file table");
            goto out;
        }
    }

    /* the program */
    c.p = prog;
    uint64_t addr = 0, file = 1, line = 1;
    while (c.p < c.end && !c.bad && !st.enomem) {
        const uint8_t *at = c.p;
        unsigned op = sym_cur_u8(&c);
        if (op >= opcode_base) {
            unsigned adj = op - opcode_base;
            addr += (uint64_t)min_inst * (adj / line_range);
            line += (uint64_t)(int64_t)(line_base + (int)(adj % line_range));
            row(&st, addr, file, line, 0);
        } else if (op == 0) {
            uint64_t len = sym_cur_uleb(&c);
            if (c.bad || len > sym_cur_left(&c)) {
                snprintf(what, sizeof what, "extended opcode at offset %llu runs past the unit",
                         (unsigned long long)(at - in->line));
                goto out;
            }
            if (len == 0)
                continue;
            const uint8_t *next = c.p + len;
            sym_cur e = { c.p, next, c.msb, 0 };
            unsigned sub = sym_cur_u8(&e);
            if (sub == DW_LNE_end_sequence) {
                row(&st, addr, file, line, 1);
                addr = 0;
                file = 1;
                line = 1;
            } else if (sub == DW_LNE_set_address) {
                size_t n = sym_cur_left(&e);
                if (n == 1 || n == 2 || n == 4 || n == 8)
                    addr = sym_cur_uint(&e, n);
                else
                    addr = sym_cur_uint(&e, addr_size);
            } else if (sub == DW_LNE_define_file && version < 5) {
                const char *name = sym_cur_str(&e);
                uint64_t dir = sym_cur_uleb(&e);
                if (!e.bad && files->nfiles < MAX_ENTRIES &&
                    add_file(ix, files, dirs, ndirs, in->comp_dir, name, dir, &fcap) != TM_OK) {
                    rc = TM_ENOMEM;
                    goto out;
                }
            }
            if (e.bad) {
                snprintf(what, sizeof what, "malformed extended opcode %u at offset %llu", sub,
                         (unsigned long long)(at - in->line));
                goto out;
            }
            c.p = next;
        } else if (op == DW_LNS_copy) {
            row(&st, addr, file, line, 0);
        } else if (op == DW_LNS_advance_pc) {
            addr += (uint64_t)min_inst * sym_cur_uleb(&c);
        } else if (op == DW_LNS_advance_line) {
            line += (uint64_t)sym_cur_sleb(&c);
        } else if (op == DW_LNS_set_file) {
            file = sym_cur_uleb(&c);
        } else if (op == DW_LNS_const_add_pc) {
            addr += (uint64_t)min_inst * ((255 - opcode_base) / line_range);
        } else if (op == DW_LNS_fixed_advance_pc) {
            addr += sym_cur_uint(&c, 2);
        } else {
            /* set_column, negate_stmt, ..., and opcodes of later versions:
             * skip their ULEB operands as the header declares */
            for (unsigned i = 0; i < std_lens[op - 1] && !c.bad; i++)
                sym_cur_uleb(&c);
        }
    }
    if (st.enomem) {
        rc = TM_ENOMEM;
        goto out;
    }
    if (c.bad) {
        snprintf(what, sizeof what, "line program truncated");
        goto out;
    }
    rc = TM_OK;
out:
    tm_free(dirs);
    if (rc == TM_EFORMAT)
        snprintf(note, notecap, ".debug_line at offset %llu: %s", (unsigned long long)offset, what);
    if (rc == TM_ENOMEM) {
        tm_free(files->files);
        files->files = NULL;
        files->nfiles = 0;
    }
    return rc;
}
