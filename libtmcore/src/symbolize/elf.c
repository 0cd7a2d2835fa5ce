/*
 * ELF access through libelf: sections (decompressed on demand), build-id,
 * .gnu_debuglink and the symbol table.  Every offset and size from the file
 * is checked before use; a broken file yields a note, never a crash.
 *
 * libelf allocates with plain malloc, outside the memory budget (tm/memory.h),
 * so it is used only where its allocations are known and charged before the
 * call: elf_begin's tables (per section, charged from the file's own header),
 * section headers and raw section bytes (in the file's mapping).  Nothing here
 * calls elf_getdata, elf_strptr or elf_compress, which convert or decompress
 * into memory of their own (elf_strptr inflates a SHF_COMPRESSED string table
 * to whatever size its header claims): string tables and symbols are read
 * from the raw bytes, and compressed sections are inflated by sym_elf_load
 * into tm_malloc's memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "sym_internal.h"
#include "tm/memory.h"
#include "tm_alloc.h"

#ifndef ELFCOMPRESS_ZSTD
#define ELFCOMPRESS_ZSTD 2
#endif

/* Decompressed sections larger than this, or inflating more than this
 * ratio, are refused: a corrupt header must not allocate gigabytes. */
#define SYM_MAX_SECTION (1ull << 30)
#define SYM_MAX_RATIO 1000ull

/* What elf_begin and the section and program headers cost libelf: an
 * Elf_Scn (208 bytes in elfutils 0.188) and a converted copy of the header
 * (64 bytes) per section, the program headers, and about 1 KiB for the
 * Elf itself; measured with mallinfo2 (tests/unit/test_symbolize.c checks
 * the charge covers it), rounded up. */
#define SYM_LIBELF_FIXED (16u << 10)
#define SYM_LIBELF_PER_SECTION 320u
#define SYM_LIBELF_PER_PHDR 64u

static _Thread_local char oom_what[SYM_NOTE_MAX];

const char *sym_elf_oom_what(void)
{
    return oom_what;
}

void sym_elf_oom_clear(void)
{
    oom_what[0] = '\0';
}

static void note_set(char *note, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note_set(char *note, size_t cap, const char *fmt, ...)
{
    if (!note || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note, cap, fmt, ap);
    va_end(ap);
}

static uint64_t rd(const uint8_t *p, int n, int msb)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[msb ? n - 1 - i : i] << (8 * i);
    return v;
}

/* Reads a compression header: fills *raw_size and *hdr (bytes before the
 * payload) and *kind (1 zlib, 2 zstd).  Returns 0 or -1. */
static int compressed_header(const sym_elf *e, const sym_section *s, const uint8_t *p, size_t n,
                             uint64_t *raw_size, size_t *hdr, int *kind)
{
    if (s->flags & SHF_COMPRESSED) {
        size_t h = e->is64 ? 24 : 12;
        if (n < h)
            return -1;
        uint32_t type = (uint32_t)rd(p, 4, e->msb);
        *raw_size = e->is64 ? rd(p + 8, 8, e->msb) : rd(p + 4, 4, e->msb);
        *hdr = h;
        if (type == ELFCOMPRESS_ZLIB)
            *kind = 1;
        else if (type == ELFCOMPRESS_ZSTD)
            *kind = 2;
        else
            return -1;
        return 0;
    }
    /* legacy .zdebug_*: "ZLIB" + 8-byte big-endian size */
    if (n < 12 || memcmp(p, "ZLIB", 4) != 0)
        return -1;
    *raw_size = rd(p + 4, 8, 1);
    *hdr = 12;
    *kind = 1;
    return 0;
}

/* Bytes libelf will allocate for this file, from its ELF header: the
 * section count (e_shnum, or section 0's sh_size past SHN_LORESERVE) and the
 * program header count, each bounded by what the file can hold, as libelf
 * bounds them. */
static size_t libelf_cost(int fd, uint64_t file_size)
{
    uint8_t h[64];
    uint64_t shnum = 0, phnum = 0;
    if (pread(fd, h, sizeof h, 0) == (ssize_t)sizeof h && memcmp(h, ELFMAG, SELFMAG) == 0) {
        int is64 = h[EI_CLASS] == ELFCLASS64, msb = h[EI_DATA] == ELFDATA2MSB;
        uint64_t shoff = is64 ? rd(h + 0x28, 8, msb) : rd(h + 0x20, 4, msb);
        phnum = rd(h + (is64 ? 0x38 : 0x2c), 2, msb);
        shnum = rd(h + (is64 ? 0x3c : 0x30), 2, msb);
        uint8_t sh0[64];
        size_t shsize = is64 ? 64 : 40;
        if ((shnum == 0 || phnum == PN_XNUM) && shoff && shoff < file_size &&
            pread(fd, sh0, shsize, (off_t)shoff) == (ssize_t)shsize) {
            if (shnum == 0)
                shnum = is64 ? rd(sh0 + 0x20, 8, msb) : rd(sh0 + 0x14, 4, msb);
            if (phnum == PN_XNUM)
                phnum = rd(sh0 + (is64 ? 0x2c : 0x1c), 4, msb);
        }
        if (shnum > file_size / shsize)
            shnum = file_size / shsize;
        if (phnum > file_size / 32)
            phnum = file_size / 32;
    }
    return SYM_LIBELF_FIXED + (size_t)shnum * SYM_LIBELF_PER_SECTION +
        (size_t)phnum * SYM_LIBELF_PER_PHDR;
}

static int is_compressed(const sym_section *s, const char *rawname)
{
    return (s->flags & SHF_COMPRESSED) || strncmp(rawname, ".zdebug", 7) == 0;
}

static int raw_bytes(sym_elf *e, size_t idx, const uint8_t **p, size_t *n)
{
    Elf_Scn *scn = elf_getscn((Elf *)e->elf, idx);
    if (!scn)
        return -1;
    Elf_Data *d = elf_rawdata(scn, NULL);
    if (!d)
        return -1;
    *p = d->d_buf;
    *n = d->d_size;
    if (*n && !*p)
        return -1;
    return 0;
}

/* The NUL-terminated string at off in a string table, or NULL. */
static const char *str_at(const uint8_t *tab, size_t len, uint64_t off)
{
    if (!tab || off >= len || !memchr(tab + off, '\0', len - (size_t)off))
        return NULL;
    return (const char *)tab + off;
}

static void read_build_id(sym_elf *e, const uint8_t *p, size_t n)
{
    /* Notes: namesz, descsz, type, name (4-aligned), desc (4-aligned). */
    size_t off = 0;
    while (off + 12 <= n) {
        uint64_t namesz = rd(p + off, 4, e->msb), descsz = rd(p + off + 4, 4, e->msb);
        uint64_t type = rd(p + off + 8, 4, e->msb);
        uint64_t nameal = (namesz + 3) & ~3ull, descal = (descsz + 3) & ~3ull;
        if (nameal > n - off - 12 || descal > n - off - 12 - nameal)
            return;
        const uint8_t *name = p + off + 12;
        if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(name, "GNU", 4) == 0 && descsz > 0 &&
            descsz <= TM_BUILD_ID_MAX) {
            memcpy(e->build_id, name + nameal, descsz);
            e->build_id_len = (uint32_t)descsz;
            return;
        }
        off += 12 + nameal + descal;
    }
}

static int read_debuglink(sym_elf *e, const uint8_t *p, size_t n)
{
    if (!p || n == 0)
        return TM_OK; /* an empty section has no data buffer */
    size_t len = strnlen((const char *)p, n);
    if (len == 0 || len == n)
        return TM_OK;
    size_t crc_off = (len + 4) & ~(size_t)3;
    if (crc_off + 4 > n)
        return TM_OK;
    e->debuglink = tm_strndup((const char *)p, len);
    if (!e->debuglink)
        return TM_ENOMEM;
    e->debuglink_crc = (uint32_t)rd(p + crc_off, 4, e->msb);
    return TM_OK;
}

int sym_elf_open(const char *path, sym_elf **out, char *note, size_t notecap)
{
    *out = NULL;
    static int inited;
    if (!inited) {
        if (elf_version(EV_CURRENT) == EV_NONE) {
            note_set(note, notecap, "libelf is out of date");
            return TM_EIO;
        }
        inited = 1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        note_set(note, notecap, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? TM_ENOTFOUND : TM_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        note_set(note, notecap, "%s: not a regular file", path);
        close(fd);
        return TM_EIO;
    }
    sym_elf *e = tm_calloc(1, sizeof *e);
    if (!e) {
        close(fd);
        return TM_ENOMEM;
    }
    e->fd = fd;
    e->path = tm_strndup(path, strlen(path));
    if (!e->path) {
        sym_elf_close(e);
        return TM_ENOMEM;
    }
    size_t cost = libelf_cost(fd, (uint64_t)st.st_size);
    if (tm_alloc_charge(cost) != 0) {
        snprintf(oom_what, sizeof oom_what, "%s: libelf's tables for it (%zu bytes)", path, cost);
        sym_elf_close(e);
        return TM_ENOMEM;
    }
    e->libelf_charge = cost;
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    e->elf = elf;
    if (!elf) {
        note_set(note, notecap, "%s: cannot read as ELF: %s", path, elf_errmsg(-1));
        sym_elf_close(e);
        return TM_EFORMAT;
    }
    GElf_Ehdr eh;
    if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
        note_set(note, notecap, "%s: not an ELF file", path);
        sym_elf_close(e);
        return TM_EFORMAT;
    }
    e->is64 = eh.e_ident[EI_CLASS] == ELFCLASS64;
    e->msb = eh.e_ident[EI_DATA] == ELFDATA2MSB;
    e->machine = eh.e_machine;
    e->etype = eh.e_type;
    size_t nsec = 0, shstr = 0;
    if (elf_getshdrnum(elf, &nsec) != 0 || elf_getshdrstrndx(elf, &shstr) != 0) {
        note_set(note, notecap, "%s: bad section header table: %s", path, elf_errmsg(-1));
        sym_elf_close(e);
        return TM_EFORMAT;
    }
    if (nsec > 65535)
        nsec = 65535; /* no real file has more; bounds the work */
    e->sections = tm_calloc(nsec ? nsec : 1, sizeof *e->sections);
    if (!e->sections) {
        sym_elf_close(e);
        return TM_ENOMEM;
    }
    e->nsections = nsec;
    e->sections[0].name = "";
    /* Section names straight from the raw string table (elf_strptr would
     * inflate a compressed one with libelf's malloc; no toolchain compresses
     * it, so such a file just has no names). */
    const uint8_t *names = NULL;
    size_t names_len = 0;
    GElf_Shdr strsh;
    Elf_Scn *strscn = elf_getscn(elf, shstr);
    if (!strscn || !gelf_getshdr(strscn, &strsh) || (strsh.sh_flags & SHF_COMPRESSED) ||
        strsh.sh_type != SHT_STRTAB || raw_bytes(e, shstr, &names, &names_len) != 0) {
        names = NULL;
        names_len = 0;
    }

    size_t nphdr = 0;
    e->first_exec_addr = UINT64_MAX;
    if (elf_getphdrnum(elf, &nphdr) == 0) {
        for (size_t i = 0; i < nphdr; i++) {
            GElf_Phdr ph;
            if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X) &&
                ph.p_vaddr < e->first_exec_addr)
                e->first_exec_addr = ph.p_vaddr;
        }
    }

    for (size_t i = 1; i < nsec; i++) {
        Elf_Scn *scn = elf_getscn(elf, i);
        GElf_Shdr sh;
        sym_section *s = &e->sections[i];
        s->name = "";
        if (!scn || !gelf_getshdr(scn, &sh)) {
            s->state = -1;
            continue;
        }
        const char *nm = str_at(names, names_len, sh.sh_name);
        s->name = nm ? nm : "";
        s->addr = sh.sh_addr;
        s->size = sh.sh_type == SHT_NOBITS ? 0 : sh.sh_size;
        s->type = sh.sh_type;
        s->flags = sh.sh_flags;
        s->link = sh.sh_link;
        s->info = sh.sh_info;
        s->entsize = sh.sh_entsize;
        s->offset = sh.sh_offset;
        const uint8_t *p;
        size_t n;
        if (sh.sh_type == SHT_NOTE && e->build_id_len == 0 && raw_bytes(e, i, &p, &n) == 0)
            read_build_id(e, p, n);
        if (strcmp(s->name, ".gnu_debuglink") == 0 && !e->debuglink &&
            raw_bytes(e, i, &p, &n) == 0 && read_debuglink(e, p, n) != TM_OK) {
            sym_elf_close(e);
            return TM_ENOMEM;
        }
        if (sh.sh_type != SHT_NOBITS && is_compressed(s, s->name)) {
            uint64_t raw = 0;
            size_t hdr;
            int kind;
            /* A claim past the whole budget stays, so that loading the
             * section is the budget's error (naming it), not a quiet "no
             * DWARF"; within it, a claim no real section makes is corrupt. */
            uint64_t budget = tm_memory_budget();
            if (raw_bytes(e, i, &p, &n) != 0 ||
                compressed_header(e, s, p, n, &raw, &hdr, &kind) != 0 ||
                ((raw > SYM_MAX_SECTION || raw / SYM_MAX_RATIO > n) && !(budget && raw > budget))) {
                s->state = -1;
                s->size = 0;
            } else {
                s->size = raw;
            }
        }
        if ((strcmp(s->name, ".debug_info") == 0 || strcmp(s->name, ".zdebug_info") == 0) &&
            s->size > 0)
            e->has_debug_info = 1;
    }
    *out = e;
    return TM_OK;
}

void sym_elf_close(sym_elf *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nsections; i++)
        tm_free(e->sections[i].owned);
    tm_free(e->sections);
    if (e->elf)
        elf_end((Elf *)e->elf);
    tm_alloc_uncharge(e->libelf_charge);
    if (e->fd >= 0)
        close(e->fd);
    tm_free(e->debuglink);
    tm_free(e->binary_path);
    tm_free(e->path);
    tm_free(e);
}

size_t sym_elf_find(const sym_elf *e, const char *name)
{
    for (size_t i = 1; i < e->nsections; i++)
        if (strcmp(e->sections[i].name, name) == 0)
            return i;
    return SIZE_MAX;
}

int sym_elf_load(sym_elf *e, size_t idx, char *note, size_t notecap)
{
    if (idx == 0 || idx >= e->nsections)
        return TM_EINVAL;
    sym_section *s = &e->sections[idx];
    if (s->state == 1)
        return TM_OK;
    if (s->state == -1) {
        note_set(note, notecap, "%s: section %s is unreadable", e->path, s->name);
        return TM_EFORMAT;
    }
    if (s->type == SHT_NOBITS) {
        s->data = NULL;
        s->state = 1;
        return TM_OK;
    }
    const uint8_t *p;
    size_t n;
    if (raw_bytes(e, idx, &p, &n) != 0) {
        note_set(note, notecap, "%s: section %s lies outside the file: %s", e->path, s->name,
                 elf_errmsg(-1));
        s->state = -1;
        return TM_EFORMAT;
    }
    if (!is_compressed(s, s->name)) {
        s->data = p;
        s->size = n;
        s->state = 1;
        return TM_OK;
    }
    uint64_t raw;
    size_t hdr;
    int kind;
    if (compressed_header(e, s, p, n, &raw, &hdr, &kind) != 0 || raw != s->size) {
        note_set(note, notecap, "%s: section %s: bad compression header", e->path, s->name);
        s->state = -1;
        return TM_EFORMAT;
    }
    uint8_t *buf = tm_malloc(raw ? raw : 1);
    if (!buf) {
        if (tm_memory_budget_exceeded())
            snprintf(oom_what, sizeof oom_what,
                     "%s: section %s decompresses to %llu bytes (its compression header says)",
                     e->path, s->name, (unsigned long long)raw);
        return TM_ENOMEM;
    }
    int ok;
    if (kind == 1) {
        uLongf dlen = (uLongf)raw;
        ok = uncompress(buf, &dlen, p + hdr, (uLong)(n - hdr)) == Z_OK && dlen == raw;
    } else {
        size_t r = ZSTD_decompress(buf, raw, p + hdr, n - hdr);
        ok = !ZSTD_isError(r) && r == raw;
    }
    if (!ok) {
        tm_free(buf);
        note_set(note, notecap, "%s: section %s: corrupt %s data", e->path, s->name,
                 kind == 1 ? "zlib" : "zstd");
        s->state = -1;
        return TM_EFORMAT;
    }
    s->owned = buf;
    s->data = buf;
    s->state = 1;
    return TM_OK;
}

/* Symbols are read from the section's bytes (Elf32_Sym / Elf64_Sym in the
 * file's byte order), and names from its string table's, both through
 * sym_elf_load: mapped file pages, or a counted copy if compressed. */
static int symtab_add(sym_elf *e, size_t idx, sym_index *ix, size_t *added)
{
    const sym_section *sec = &e->sections[idx];
    if (sec->entsize == 0 || sec->link == 0 || sec->link >= e->nsections ||
        e->sections[sec->link].type != SHT_STRTAB)
        return TM_EFORMAT;
    int rc;
    if ((rc = sym_elf_load(e, idx, NULL, 0)) != TM_OK ||
        (rc = sym_elf_load(e, (size_t)sec->link, NULL, 0)) != TM_OK)
        return rc;
    const sym_section *strs = &e->sections[sec->link];
    size_t stride = e->is64 ? 24 : 16, n = (size_t)(sec->size / stride);
    const char *file = NULL;
    ix->sym_names = NULL;
    if (ix->raw_symbols) { /* names are used where they are */
        if (strs->data && strs->size) {
            ix->sym_names = (const char *)strs->data;
            ix->sym_names_len = (size_t)strs->size;
        }
    }
    for (size_t i = 1; i < n; i++) {
        const uint8_t *q = sec->data + i * stride;
        uint64_t name_off = rd(q, 4, e->msb), value, size;
        unsigned info, shndx;
        if (e->is64) {
            info = q[4];
            shndx = (unsigned)rd(q + 6, 2, e->msb);
            value = rd(q + 8, 8, e->msb);
            size = rd(q + 16, 8, e->msb);
        } else {
            value = rd(q + 4, 4, e->msb);
            size = rd(q + 8, 4, e->msb);
            info = q[12];
            shndx = (unsigned)rd(q + 14, 2, e->msb);
        }
        int type = GELF_ST_TYPE(info);
        if (type == STT_FILE) {
            file = str_at(strs->data, strs->size, name_off);
            continue;
        }
        /* Data symbols never cover code; skipping them keeps the table small. */
        if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE)
            continue;
        if (shndx == SHN_UNDEF || shndx == SHN_ABS)
            continue;
        const char *name = str_at(strs->data, strs->size, name_off);
        if (!name || !*name)
            continue;
        int local = GELF_ST_BIND(info) == STB_LOCAL;
        rc = sym_index_add_symbol(ix, value, size, name, local && file && *file ? file : NULL);
        if (rc != TM_OK)
            return rc;
        (*added)++;
    }
    return TM_OK;
}

int sym_elf_add_symbols(sym_elf *e, sym_index *ix, char *note, size_t notecap)
{
    size_t symtab = SIZE_MAX, dynsym = SIZE_MAX;
    for (size_t i = 1; i < e->nsections; i++) {
        if (e->sections[i].type == SHT_SYMTAB && symtab == SIZE_MAX)
            symtab = i;
        if (e->sections[i].type == SHT_DYNSYM && dynsym == SIZE_MAX)
            dynsym = i;
    }
    size_t added = 0;
    int rc = TM_OK;
    if (symtab != SIZE_MAX) {
        rc = symtab_add(e, symtab, ix, &added);
        if (rc == TM_ENOMEM)
            return rc;
        if (rc != TM_OK)
            note_set(note, notecap, "%s: unreadable .symtab", e->path);
    }
    if (added == 0 && dynsym != SIZE_MAX) {
        rc = symtab_add(e, dynsym, ix, &added);
        if (rc == TM_ENOMEM)
            return rc;
        if (rc != TM_OK)
            note_set(note, notecap, "%s: unreadable .dynsym", e->path);
    }
    return TM_OK;
}
