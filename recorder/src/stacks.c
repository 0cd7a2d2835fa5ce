/*
 * Unique stacks, de-duplicated by the XXH3 hash of the PC array.  Lookups
 * are lock-free: the index is an open-addressing array of 64-bit slots
 * (high half of the hash | stack id + 1) published with release stores;
 * inserts (a stack seen for the first time, rare) take one spinlock, and a
 * grown index replaces the old one, which is never unmapped because a
 * concurrent reader may still probe it.  Stack records are bump-allocated
 * from mapped chunks and never move.
 *
 * Each record also stores the module index of every PC, found when the
 * stack is first seen, so that a library dlclose'd later (or replaced by
 * another at the same address) still symbolizes correctly.
 */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "maps.h"
#include "rec_internal.h"

typedef struct index_tab {
    size_t cap; /* power of two */
    size_t count;
    _Atomic uint64_t slots[];
} index_tab;

#define MAX_STACKS (1u << 26)
#define CHUNK (1u << 20)
#define MAX_MODULES 1024

static tm_spin insert_lock;
static _Atomic(index_tab *) index_cur;
static size_t index_bytes_cur;
/* id -> record: a directory of lazily mapped pages of 64 Ki pointers */
#define REC_PAGE_BITS 16
#define REC_PAGE (1u << REC_PAGE_BITS)
static _Atomic(tm_stack_rec *) *rec_pages[MAX_STACKS / REC_PAGE];
static int inited;
static _Atomic uint32_t nrecs;
static char *chunk_pos, *chunk_end;
static tm_rec_module *modules; /* MAX_MODULES reserved */
static _Atomic uint32_t nmodules;

static inline uint64_t stack_hash(const uintptr_t *pcs, uint32_t n, uint32_t total)
{
    uint64_t h = XXH3_64bits_withSeed(pcs, (size_t)n * sizeof(uintptr_t), total);
    return h ? h : 1;
}

static inline int rec_equal(const tm_stack_rec *r, uint64_t h, const uintptr_t *pcs, uint32_t n,
                            uint32_t total)
{
    return r->hash == h && r->nframes == n && r->total == total &&
        memcmp(r->pcs, pcs, (size_t)n * sizeof(uintptr_t)) == 0;
}

static inline tm_stack_rec *rec_at(uint32_t id)
{
    _Atomic(tm_stack_rec *) *page =
        __atomic_load_n(&rec_pages[id >> REC_PAGE_BITS], __ATOMIC_ACQUIRE);
    return page ? atomic_load_explicit(&page[id & (REC_PAGE - 1)], memory_order_acquire) : NULL;
}

static uint32_t probe(index_tab *t, uint64_t h, const uintptr_t *pcs, uint32_t n, uint32_t total,
                      size_t *empty)
{
    size_t mask = t->cap - 1;
    size_t i = (size_t)h & mask;
    uint64_t tag = h >> 32;
    for (;;) {
        uint64_t v = atomic_load_explicit(&t->slots[i], memory_order_acquire);
        if (!v) {
            if (empty)
                *empty = i;
            return UINT32_MAX;
        }
        if ((v >> 32) == tag) {
            uint32_t id = (uint32_t)v - 1;
            tm_stack_rec *r = rec_at(id);
            if (r && rec_equal(r, h, pcs, n, total))
                return id;
        }
        i = (i + 1) & mask;
    }
}

static int ensure_init_locked(void)
{
    if (inited)
        return 0;
    modules = tm_rmem_map((size_t)MAX_MODULES * sizeof(tm_rec_module));
    if (!modules)
        return -1;
    inited = 1;
    return 0;
}

static int index_grow_locked(void)
{
    index_tab *old = atomic_load_explicit(&index_cur, memory_order_relaxed);
    size_t ncap = old ? old->cap * 2 : 4096;
    size_t bytes = sizeof(index_tab) + ncap * sizeof(uint64_t);
    index_tab *t = tm_rmem_map(bytes);
    if (!t)
        return -1;
    t->cap = ncap;
    if (old) {
        for (size_t i = 0; i < old->cap; i++) {
            uint64_t v = atomic_load_explicit(&old->slots[i], memory_order_relaxed);
            if (!v)
                continue;
            tm_stack_rec *r = rec_at((uint32_t)v - 1);
            size_t j = (size_t)r->hash & (ncap - 1);
            while (atomic_load_explicit(&t->slots[j], memory_order_relaxed))
                j = (j + 1) & (ncap - 1);
            atomic_store_explicit(&t->slots[j], v, memory_order_relaxed);
        }
        t->count = old->count;
    }
    atomic_store_explicit(&index_cur, t, memory_order_release);
    index_bytes_cur = bytes;
    return 0;
}

static void *chunk_alloc_locked(size_t bytes)
{
    bytes = (bytes + 7) & ~(size_t)7;
    if ((size_t)(chunk_end - chunk_pos) < bytes) {
        size_t sz = bytes > CHUNK ? (bytes + 4095) & ~(size_t)4095 : CHUNK;
        char *c = tm_rmem_map(sz);
        if (!c)
            return NULL;
        chunk_pos = c;
        chunk_end = c + sz;
    }
    void *p = chunk_pos;
    chunk_pos += bytes;
    return p;
}

/* --- modules --------------------------------------------------------------- */

static void module_read_elf(tm_rec_module *m)
{
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)m->map_start;
    m->exec_start = m->map_start;
    m->exec_end = m->map_end;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_phoff == 0 ||
        eh->e_phoff + (size_t)eh->e_phnum * sizeof(ElfW(Phdr)) > m->map_end - m->map_start)
        return;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(m->map_start + eh->e_phoff);
    int have_exec = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X)) {
            uintptr_t s = m->bias + ph[i].p_vaddr, e = s + ph[i].p_memsz;
            if (!have_exec || s < m->exec_start)
                m->exec_start = s;
            if (!have_exec || e > m->exec_end)
                m->exec_end = e;
            have_exec = 1;
        } else if (ph[i].p_type == PT_NOTE && !m->build_id_len) {
            const char *p = (const char *)(m->bias + ph[i].p_vaddr);
            const char *end = p + ph[i].p_memsz;
            while (p + sizeof(ElfW(Nhdr)) <= end) {
                const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
                const char *name = p + sizeof(*nh);
                const char *desc = name + ((nh->n_namesz + 3) & ~3u);
                const char *next = desc + ((nh->n_descsz + 3) & ~3u);
                if (next > end)
                    break;
                if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
                    memcmp(name, "GNU", 4) == 0 && nh->n_descsz <= sizeof(m->build_id)) {
                    memcpy(m->build_id, desc, nh->n_descsz);
                    m->build_id_len = nh->n_descsz;
                    break;
                }
                p = next;
            }
        }
    }
}

/* The file mapped at start, from /proc/self/maps: 0, or -1.  The buffer is
 * static: the insert lock is held. */
static int module_path_from_maps(uintptr_t start, char *out, size_t cap)
{
    static char buf[8192];
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = tm_maps_path_at(fd, start, buf, sizeof buf, out, cap);
    close(fd);
    return rc;
}

/* name as given, or joined with the cwd when relative and a path. */
static void module_path_join_cwd(const char *name, char *out, size_t cap)
{
    size_t n = 0;
    if (name[0] != '/' && strchr(name, '/') && getcwd(out, cap - 1)) {
        n = strlen(out);
        while (name[0] == '.' && name[1] == '/')
            name += 2;
        if (n + 1 < cap - 1)
            out[n++] = '/';
    }
    strncpy(out + n, name, cap - 1 - n);
    out[cap - 1] = 0;
}

/* Module index for pc, adding the object on first sight; UINT32_MAX if the
 * PC is in no loaded object.  Insert lock held. */
static uint32_t module_note_locked(uintptr_t pc)
{
    struct dl_find_object fo;
    if (_dl_find_object((void *)(pc - 1), &fo) != 0)
        return UINT32_MAX;
    uint32_t n = atomic_load_explicit(&nmodules, memory_order_relaxed);
    for (uint32_t i = n; i-- > 0;) {
        tm_rec_module *m = &modules[i];
        if (m->link_map == fo.dlfo_link_map && m->map_start == (uintptr_t)fo.dlfo_map_start)
            return i;
    }
    if (n >= MAX_MODULES)
        return UINT32_MAX;
    tm_rec_module *m = &modules[n];
    m->map_start = (uintptr_t)fo.dlfo_map_start;
    m->map_end = (uintptr_t)fo.dlfo_map_end;
    m->link_map = fo.dlfo_link_map;
    m->bias = fo.dlfo_link_map ? fo.dlfo_link_map->l_addr : 0;
    const char *name = fo.dlfo_link_map ? fo.dlfo_link_map->l_name : NULL;
    if (name && name[0]) {
        /* A relative name (dlopen("./lib.so"), a relative LD_LIBRARY_PATH)
         * means nothing to a tool run elsewhere: the kernel knows which file
         * is mapped, and the cwd may have changed since the dlopen. */
        if (name[0] == '/' || !strchr(name, '/') ||
            module_path_from_maps(m->map_start, m->path, sizeof(m->path)) < 0)
            module_path_join_cwd(name, m->path, sizeof(m->path));
    } else {
        ssize_t k = readlink("/proc/self/exe", m->path, sizeof(m->path) - 1);
        m->path[k > 0 ? k : 0] = 0;
    }
    module_read_elf(m);
    atomic_store_explicit(&nmodules, n + 1, memory_order_release);
    return n;
}

/* --- public to the recorder ---------------------------------------------- */

uint32_t tm_stacks_intern(const uintptr_t *pcs, uint32_t n, uint32_t total)
{
    uint64_t h = stack_hash(pcs, n, total);
    index_tab *t = atomic_load_explicit(&index_cur, memory_order_acquire);
    if (TM_LIKELY(t != NULL)) {
        uint32_t id = probe(t, h, pcs, n, total, NULL);
        if (id != UINT32_MAX)
            return id;
    }
    tm_spin_lock(&insert_lock);
    uint32_t id = UINT32_MAX;
    if (ensure_init_locked() < 0)
        goto out;
    t = atomic_load_explicit(&index_cur, memory_order_relaxed);
    if (!t || (t->count + 1) * 4 > t->cap * 3) {
        if (index_grow_locked() < 0)
            goto out;
        t = atomic_load_explicit(&index_cur, memory_order_relaxed);
    }
    size_t empty = 0;
    id = probe(t, h, pcs, n, total, &empty);
    if (id != UINT32_MAX)
        goto out;
    uint32_t nid = atomic_load_explicit(&nrecs, memory_order_relaxed);
    if (nid >= MAX_STACKS - 1)
        goto out;
    tm_stack_rec *r = chunk_alloc_locked(sizeof(*r) + (size_t)n * (sizeof(uintptr_t) + 4));
    if (!r)
        goto out;
    r->hash = h;
    r->nframes = n;
    r->total = total;
    memcpy(r->pcs, pcs, (size_t)n * sizeof(uintptr_t));
    uint32_t *mods = (uint32_t *)(r->pcs + n);
    for (uint32_t k = 0; k < n; k++)
        mods[k] = module_note_locked(pcs[k]);
    if (!rec_pages[nid >> REC_PAGE_BITS]) {
        void *pg = tm_rmem_map(REC_PAGE * sizeof(void *));
        if (!pg)
            goto out;
        __atomic_store_n(&rec_pages[nid >> REC_PAGE_BITS], pg, __ATOMIC_RELEASE);
    }
    atomic_store_explicit(&rec_pages[nid >> REC_PAGE_BITS][nid & (REC_PAGE - 1)], r,
                          memory_order_release);
    atomic_store_explicit(&nrecs, nid + 1, memory_order_release);
    t->count++;
    atomic_store_explicit(&t->slots[empty], ((h >> 32) << 32) | (uint64_t)(nid + 1),
                          memory_order_release);
    id = nid;
out:
    tm_spin_unlock(&insert_lock);
    return id;
}

const tm_stack_rec *tm_stacks_get(uint32_t id)
{
    if (id >= atomic_load_explicit(&nrecs, memory_order_acquire))
        return NULL;
    return rec_at(id);
}

uint32_t tm_stacks_count(void)
{
    return atomic_load_explicit(&nrecs, memory_order_acquire);
}

uint32_t tm_modules_count(void)
{
    return atomic_load_explicit(&nmodules, memory_order_acquire);
}

const tm_rec_module *tm_modules_get(uint32_t id)
{
    return id < tm_modules_count() ? &modules[id] : NULL;
}

void tm_stacks_lock(void)
{
    tm_spin_lock(&insert_lock);
}

void tm_stacks_unlock(int child)
{
    tm_spin_unlock_fork(&insert_lock, child);
}
