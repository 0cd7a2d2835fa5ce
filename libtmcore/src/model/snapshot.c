/*
 * The snapshot model: interned strings, modules, frames, a prefix tree of
 * stacks and a flat trace array.  See tm/snapshot.h for the contract.
 *
 * De-duplication uses tm_hash.h indexes over the element arrays; the
 * symbolizer rewrites frames in place, so a frame is removed from its index
 * and filed again under its new hash.
 */
#include "tm/snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "tm_snapshot_internal.h"
#include "tm_alloc.h"
#include "tm_hash.h"

#define STRING_BLOCK_SIZE (64u * 1024u)

static int nomem(tm_error *err, const char *what)
{
    return tm_error_set(err, TM_ENOMEM, "out of memory while adding %s", what);
}

/* --- hashes ----------------------------------------------------------- */

static uint64_t string_hash(const char *p, size_t len)
{
    return tm_hash_bytes(p, len);
}

static uint64_t frame_hash(const tm_frame *f)
{
    return tm_hash_bytes(f, sizeof *f);
}

static uint64_t node_hash_of(uint32_t parent, uint32_t frame)
{
    return tm_hash_u64(((uint64_t)parent << 32) | frame);
}

/* --- lifetime -------------------------------------------------------- */

int tm_snapshot_new(tm_snapshot **out, tm_error *err)
{
    tm_snapshot *s = tm_calloc(1, sizeof *s);
    if (!s)
        return nomem(err, "a snapshot");
    tm_stack_node root = { TM_NONE, 0, 0 };
    /* id 0: the empty string; stack 0: the empty stack. */
    if (tm_grow((void **)&s->str, &s->str_cap, 1, sizeof *s->str) ||
        tm_grow((void **)&s->str_len, &s->str_len_cap, 1, sizeof *s->str_len) ||
        tm_grow((void **)&s->stacks, &s->stack_cap, 1, sizeof *s->stacks)) {
        tm_snapshot_free(s);
        return nomem(err, "a snapshot");
    }
    s->str[0] = "";
    s->str_len[0] = 0;
    s->nstr = 1;
    if (tm_hindex_insert(&s->str_index, string_hash("", 0), 0)) {
        tm_snapshot_free(s);
        return nomem(err, "a snapshot");
    }
    s->stacks[0] = root;
    s->nstacks = 1;
    if (tm_hindex_insert(&s->stack_index, node_hash_of(TM_NONE, 0), 0)) {
        tm_snapshot_free(s);
        return nomem(err, "a snapshot");
    }
    s->meta.nframe_limit = 1;
    *out = s;
    return TM_OK;
}

void tm_snapshot_free(tm_snapshot *s)
{
    if (!s)
        return;
    tm_string_block *b = s->blocks;
    while (b) {
        tm_string_block *next = b->next;
        tm_free(b);
        b = next;
    }
    tm_free(s->str);
    tm_free(s->str_len);
    tm_hindex_free(&s->str_index);
    tm_free(s->modules);
    tm_free(s->frames);
    tm_hindex_free(&s->frame_index);
    tm_free(s->stacks);
    tm_hindex_free(&s->stack_index);
    tm_free(s->traces);
    tm_free(s->tnf);
    tm_free(s->argv);
    tm_free(s);
}

/* --- strings --------------------------------------------------------- */

static char *string_store(tm_snapshot *s, const char *p, size_t len)
{
    size_t need = len + 1;
    tm_string_block *b = s->blocks;
    if (!b || b->size - b->used < need) {
        size_t size = need > STRING_BLOCK_SIZE ? need : STRING_BLOCK_SIZE;
        b = tm_malloc(sizeof *b + size);
        if (!b)
            return NULL;
        b->size = size;
        b->used = 0;
        /* A dedicated big block goes behind the current one so the current
         * block keeps being filled. */
        if (need > STRING_BLOCK_SIZE && s->blocks) {
            b->next = s->blocks->next;
            s->blocks->next = b;
        } else {
            b->next = s->blocks;
            s->blocks = b;
        }
    }
    char *d = b->data + b->used;
    memcpy(d, p, len);
    d[len] = '\0';
    b->used += need;
    s->str_bytes += need;
    return d;
}

int tm_snapshot_intern_string(uint32_t *out_id, tm_snapshot *s, const char *p, size_t len,
                              tm_error *err)
{
    if (len > TM_MAX_STRING_LEN)
        return tm_error_set(err, TM_ELIMIT, "string of %zu bytes exceeds the limit of %u", len,
                            TM_MAX_STRING_LEN);
    uint64_t h = string_hash(p, len);
    size_t pos;
    for (uint32_t id = tm_hindex_first(&s->str_index, h, &pos); id != TM_HINDEX_NONE;
         id = tm_hindex_next(&s->str_index, h, &pos)) {
        if (s->str_len[id] == len && memcmp(s->str[id], p, len) == 0) {
            *out_id = id;
            return TM_OK;
        }
    }
    if (s->nstr >= TM_MAX_STRINGS)
        return tm_error_set(err, TM_ELIMIT, "more than %u strings", TM_MAX_STRINGS);
    uint32_t id = (uint32_t)s->nstr;
    if (tm_grow((void **)&s->str, &s->str_cap, s->nstr + 1, sizeof *s->str) ||
        tm_grow((void **)&s->str_len, &s->str_len_cap, s->nstr + 1, sizeof *s->str_len))
        return nomem(err, "a string");
    char *d = string_store(s, p, len);
    if (!d)
        return nomem(err, "a string");
    s->str[id] = d;
    s->str_len[id] = (uint32_t)len;
    if (tm_hindex_add(&s->str_index, pos, h, id))
        return nomem(err, "a string"); /* the stored bytes stay owned by the block list */
    s->nstr++;
    *out_id = id;
    return TM_OK;
}

/* --- modules and frames ---------------------------------------------- */

int tm_snapshot_add_module(uint32_t *out_id, tm_snapshot *s, const tm_module *m, tm_error *err)
{
    if (m->path >= s->nstr)
        return tm_error_set(err, TM_EINVAL, "module path string id %u out of range", m->path);
    if (m->build_id_len > TM_BUILD_ID_MAX)
        return tm_error_set(err, TM_EINVAL, "module build-id of %u bytes exceeds %u",
                            m->build_id_len, TM_BUILD_ID_MAX);
    if (s->nmodules >= TM_MAX_MODULES)
        return tm_error_set(err, TM_ELIMIT, "more than %u modules", TM_MAX_MODULES);
    if (tm_grow((void **)&s->modules, &s->module_cap, s->nmodules + 1, sizeof *s->modules))
        return nomem(err, "a module");
    tm_module *d = &s->modules[s->nmodules];
    *d = *m;
    /* Bytes past build_id_len carry no meaning; zero them so equal modules
     * compare equal byte for byte. */
    memset(d->build_id + d->build_id_len, 0, TM_BUILD_ID_MAX - d->build_id_len);
    *out_id = (uint32_t)s->nmodules++;
    return TM_OK;
}

static int frame_check(const tm_snapshot *s, const tm_frame *f, tm_error *err)
{
    if (f->module != TM_NONE && f->module >= s->nmodules)
        return tm_error_set(err, TM_EINVAL, "frame module %u out of range", f->module);
    if (f->function >= s->nstr || f->file >= s->nstr)
        return tm_error_set(err, TM_EINVAL, "frame string id out of range");
    if (f->inlined_by != TM_NONE && f->inlined_by >= s->nframes)
        return tm_error_set(err, TM_EINVAL, "frame inlined_by %u out of range", f->inlined_by);
    if (f->reserved != 0)
        return tm_error_set(err, TM_EINVAL, "frame reserved field is not zero");
    return TM_OK;
}

int tm_snapshot_intern_frame(uint32_t *out_id, tm_snapshot *s, const tm_frame *f, tm_error *err)
{
    int rc = frame_check(s, f, err);
    if (rc)
        return rc;
    uint64_t h = frame_hash(f);
    size_t pos;
    for (uint32_t id = tm_hindex_first(&s->frame_index, h, &pos); id != TM_HINDEX_NONE;
         id = tm_hindex_next(&s->frame_index, h, &pos)) {
        if (memcmp(&s->frames[id], f, sizeof *f) == 0) {
            *out_id = id;
            return TM_OK;
        }
    }
    if (s->nframes >= TM_MAX_FRAMES)
        return tm_error_set(err, TM_ELIMIT, "more than %u frames", TM_MAX_FRAMES);
    uint32_t id = (uint32_t)s->nframes;
    if (tm_grow((void **)&s->frames, &s->frame_cap, s->nframes + 1, sizeof *s->frames))
        return nomem(err, "a frame");
    s->frames[id] = *f;
    if (tm_hindex_add(&s->frame_index, pos, h, id))
        return nomem(err, "a frame");
    s->nframes++;
    *out_id = id;
    return TM_OK;
}

int tm_snapshot_set_frame(tm_snapshot *s, uint32_t id, const tm_frame *f, tm_error *err)
{
    if (id >= s->nframes)
        return tm_error_set(err, TM_EINVAL, "frame id %u out of range", id);
    int rc = frame_check(s, f, err);
    if (rc)
        return rc;
    /* An inline chain must end: refuse a link that leads back to `id`. */
    size_t steps = 0;
    for (uint32_t k = f->inlined_by; k != TM_NONE; k = s->frames[k].inlined_by) {
        if (k == id || ++steps > s->nframes)
            return tm_error_set(err, TM_EINVAL, "frame %u: inlined_by chain would form a cycle",
                                id);
    }
    /* Removing first leaves a free slot, so filing it again cannot fail. */
    tm_hindex_remove(&s->frame_index, frame_hash(&s->frames[id]), id);
    s->frames[id] = *f;
    (void)tm_hindex_insert(&s->frame_index, frame_hash(f), id);
    return TM_OK;
}

int tm_snapshot_inline_order(uint32_t *order, const tm_snapshot *s, tm_error *err)
{
    size_t n = s->nframes;
    /* mark[id]: 0 not listed, 1 on the chain being followed, 2 listed */
    uint8_t *mark = tm_calloc(n ? n : 1, 1);
    uint32_t *chain = tm_malloc((n ? n : 1) * sizeof *chain);
    if (!mark || !chain) {
        tm_free(mark);
        tm_free(chain);
        return nomem(err, "frame order");
    }
    size_t next = 0;
    int rc = TM_OK;
    for (size_t i = 0; i < n && rc == TM_OK; i++) {
        size_t len = 0;
        uint32_t j = (uint32_t)i;
        while (j != TM_NONE && j < n && mark[j] == 0) {
            mark[j] = 1;
            chain[len++] = j;
            j = s->frames[j].inlined_by;
        }
        if (j != TM_NONE && j >= n)
            rc = tm_error_set(err, TM_EINVAL, "frame %u: inlined_by out of range", chain[len - 1]);
        else if (j != TM_NONE && mark[j] == 1)
            rc = tm_error_set(err, TM_EINVAL, "frame %u: inlined_by chain forms a cycle", j);
        while (rc == TM_OK && len > 0) {
            uint32_t f = chain[--len];
            mark[f] = 2;
            order[next++] = f;
        }
    }
    tm_free(mark);
    tm_free(chain);
    return rc;
}

/* --- stacks ---------------------------------------------------------- */

uint32_t tm_snapshot_append_stack_node(tm_snapshot *s, uint32_t parent, uint32_t frame)
{
    uint32_t id = (uint32_t)s->nstacks++;
    s->stacks[id].frame = frame;
    s->stacks[id].parent = parent;
    s->stacks[id].depth = s->stacks[parent].depth + 1;
    s->stack_index_stale = 1;
    return id;
}

int tm_snapshot_intern_stack_node(uint32_t *out_id, tm_snapshot *s, uint32_t parent, uint32_t frame,
                                  tm_error *err)
{
    if (s->stack_index_stale) {
        /* Nodes appended by a reader: index them before looking up.  Every
         * intern call indexes the stale ones first, so the indexed nodes are
         * always ids 0 .. count-1. */
        if (tm_hindex_reserve(&s->stack_index, s->nstacks + 1))
            return nomem(err, "a stack");
        for (size_t id = s->stack_index.count; id < s->nstacks; id++)
            (void)tm_hindex_insert(&s->stack_index,
                                   node_hash_of(s->stacks[id].parent, s->stacks[id].frame),
                                   (uint32_t)id);
        s->stack_index_stale = 0;
    }
    if (parent >= s->nstacks)
        return tm_error_set(err, TM_EINVAL, "stack parent %u out of range", parent);
    if (frame >= s->nframes)
        return tm_error_set(err, TM_EINVAL, "stack frame %u out of range", frame);
    uint64_t h = node_hash_of(parent, frame);
    size_t pos;
    for (uint32_t id = tm_hindex_first(&s->stack_index, h, &pos); id != TM_HINDEX_NONE;
         id = tm_hindex_next(&s->stack_index, h, &pos)) {
        if (s->stacks[id].parent == parent && s->stacks[id].frame == frame && id != 0) {
            *out_id = id;
            return TM_OK;
        }
    }
    if (s->nstacks >= TM_MAX_STACKS)
        return tm_error_set(err, TM_ELIMIT, "more than %u stack nodes", TM_MAX_STACKS);
    if (s->stacks[parent].depth >= TM_MAX_DEPTH)
        return tm_error_set(err, TM_ELIMIT, "stack deeper than %u frames", TM_MAX_DEPTH);
    uint32_t id = (uint32_t)s->nstacks;
    if (tm_grow((void **)&s->stacks, &s->stack_cap, s->nstacks + 1, sizeof *s->stacks))
        return nomem(err, "a stack");
    s->stacks[id].frame = frame;
    s->stacks[id].parent = parent;
    s->stacks[id].depth = s->stacks[parent].depth + 1;
    if (tm_hindex_add(&s->stack_index, pos, h, id))
        return nomem(err, "a stack");
    s->nstacks++;
    *out_id = id;
    return TM_OK;
}

int tm_snapshot_intern_stack(uint32_t *out_id, tm_snapshot *s, const uint32_t *frames, size_t n,
                             tm_error *err)
{
    uint32_t node = 0;
    /* frames[0] is the most recent call, so the tree is built from the end. */
    for (size_t i = n; i-- > 0;) {
        int rc = tm_snapshot_intern_stack_node(&node, s, node, frames[i], err);
        if (rc)
            return rc;
    }
    *out_id = node;
    return TM_OK;
}

/* --- traces and metadata --------------------------------------------- */

int tm_snapshot_reserve_stacks(tm_snapshot *s, size_t n, tm_error *err)
{
    if (n > TM_MAX_STACKS)
        return tm_error_set(err, TM_ELIMIT, "more than %u stack nodes", TM_MAX_STACKS);
    /* One rehash up front instead of one per doubling while a reader adds
     * tens of thousands of nodes. */
    if (tm_grow((void **)&s->stacks, &s->stack_cap, n, sizeof *s->stacks) ||
        tm_hindex_reserve(&s->stack_index, n))
        return nomem(err, "stacks");
    return TM_OK;
}

int tm_snapshot_reserve_traces(tm_snapshot *s, size_t n, tm_error *err)
{
    if (n > TM_MAX_TRACES)
        return tm_error_set(err, TM_ELIMIT, "more than %u traces", TM_MAX_TRACES);
    if (tm_grow((void **)&s->traces, &s->trace_cap, n, sizeof *s->traces))
        return nomem(err, "traces");
    return TM_OK;
}

int tm_snapshot_note_total_nframe(tm_snapshot *s, size_t i, uint32_t total_nframe, tm_error *err)
{
    if (!s->tnf) {
        if (total_nframe == s->stacks[s->traces[i].stack].depth)
            return TM_OK;
        if (tm_grow((void **)&s->tnf, &s->tnf_cap, s->trace_cap, sizeof *s->tnf))
            return nomem(err, "total_nframe");
        for (size_t k = 0; k < i; k++)
            s->tnf[k] = s->stacks[s->traces[k].stack].depth;
    } else if (tm_grow((void **)&s->tnf, &s->tnf_cap, i + 1, sizeof *s->tnf)) {
        return nomem(err, "total_nframe");
    }
    s->tnf[i] = total_nframe;
    return TM_OK;
}

int tm_snapshot_add_trace(tm_snapshot *s, const tm_trace *t, uint32_t total_nframe, tm_error *err)
{
    if (t->stack >= s->nstacks)
        return tm_error_set(err, TM_EINVAL, "trace stack %u out of range", t->stack);
    if (s->ntraces >= TM_MAX_TRACES)
        return tm_error_set(err, TM_ELIMIT, "more than %u traces", TM_MAX_TRACES);
    if (s->ntraces == s->trace_cap &&
        tm_grow((void **)&s->traces, &s->trace_cap, s->ntraces + 1, sizeof *s->traces))
        return nomem(err, "a trace");
    s->traces[s->ntraces] = *t;
    /* Only on success does the trace count grow, so a failure leaves the
     * snapshot as it was. */
    int rc = tm_snapshot_note_total_nframe(s, s->ntraces, total_nframe, err);
    if (rc)
        return rc;
    s->ntraces++;
    return TM_OK;
}

int tm_snapshot_set_metadata(tm_snapshot *s, const tm_metadata *md, tm_error *err)
{
    if (md->program >= s->nstr || md->host >= s->nstr || md->trigger >= s->nstr ||
        md->tool_version >= s->nstr)
        return tm_error_set(err, TM_EINVAL, "metadata string id out of range");
    if (md->nframe_limit < 1 || md->nframe_limit > TM_MAX_NFRAME)
        return tm_error_set(err, TM_EINVAL, "metadata nframe limit %u outside 1..%u",
                            md->nframe_limit, TM_MAX_NFRAME);
    s->meta = *md;
    return TM_OK;
}

int tm_snapshot_set_argv(tm_snapshot *s, const char *const *argv, size_t argc, tm_error *err)
{
    if (argc > TM_MAX_ARGS)
        return tm_error_set(err, TM_ELIMIT, "more than %u arguments", TM_MAX_ARGS);
    uint32_t *ids = tm_malloc((argc ? argc : 1) * sizeof *ids);
    if (!ids)
        return nomem(err, "argv");
    for (size_t i = 0; i < argc; i++) {
        int rc = tm_snapshot_intern_string(&ids[i], s, argv[i], strlen(argv[i]), err);
        if (rc) {
            tm_free(ids);
            return rc;
        }
    }
    tm_free(s->argv);
    s->argv = ids;
    s->argc = argc;
    return TM_OK;
}

int tm_snapshot_set_argv_ids(tm_snapshot *s, const uint32_t *ids, size_t argc, tm_error *err)
{
    if (argc > TM_MAX_ARGS)
        return tm_error_set(err, TM_ELIMIT, "more than %u arguments", TM_MAX_ARGS);
    for (size_t i = 0; i < argc; i++)
        if (ids[i] >= s->nstr)
            return tm_error_set(err, TM_EINVAL, "argv string id %u out of range", ids[i]);
    uint32_t *copy = tm_malloc((argc ? argc : 1) * sizeof *copy);
    if (!copy)
        return nomem(err, "argv");
    if (argc)
        memcpy(copy, ids, argc * sizeof *copy);
    tm_free(s->argv);
    s->argv = copy;
    s->argc = argc;
    return TM_OK;
}

/* --- accessors ------------------------------------------------------- */

size_t tm_snapshot_string_count(const tm_snapshot *s)
{
    return s->nstr;
}

const char *tm_snapshot_string(const tm_snapshot *s, uint32_t id, size_t *len)
{
    if (id >= s->nstr) {
        if (len)
            *len = 0;
        return "";
    }
    if (len)
        *len = s->str_len[id];
    return s->str[id];
}

size_t tm_snapshot_module_count(const tm_snapshot *s)
{
    return s->nmodules;
}
const tm_module *tm_snapshot_modules(const tm_snapshot *s)
{
    return s->modules;
}
size_t tm_snapshot_frame_count(const tm_snapshot *s)
{
    return s->nframes;
}
const tm_frame *tm_snapshot_frames(const tm_snapshot *s)
{
    return s->frames;
}
size_t tm_snapshot_stack_count(const tm_snapshot *s)
{
    return s->nstacks;
}
const tm_stack_node *tm_snapshot_stacks(const tm_snapshot *s)
{
    return s->stacks;
}
size_t tm_snapshot_trace_count(const tm_snapshot *s)
{
    return s->ntraces;
}
const tm_trace *tm_snapshot_traces(const tm_snapshot *s)
{
    return s->traces;
}

uint32_t tm_snapshot_trace_total_nframe(const tm_snapshot *s, size_t i)
{
    if (i >= s->ntraces)
        return 0;
    return s->tnf ? s->tnf[i] : s->stacks[s->traces[i].stack].depth;
}
const tm_metadata *tm_snapshot_metadata(const tm_snapshot *s)
{
    return &s->meta;
}
size_t tm_snapshot_argc(const tm_snapshot *s)
{
    return s->argc;
}
const uint32_t *tm_snapshot_argv(const tm_snapshot *s)
{
    return s->argv;
}

size_t tm_snapshot_stack_frames(uint32_t *frames, size_t max, const tm_snapshot *s, uint32_t stack)
{
    if (stack >= s->nstacks)
        return 0;
    size_t depth = s->stacks[stack].depth;
    size_t i = 0;
    for (uint32_t n = stack; n != 0 && i < max; n = s->stacks[n].parent)
        frames[i++] = s->stacks[n].frame;
    return depth;
}

uint64_t tm_snapshot_total_size(const tm_snapshot *s)
{
    uint64_t total = 0;
    for (size_t i = 0; i < s->ntraces; i++)
        total += s->traces[i].size;
    return total;
}

size_t tm_snapshot_memory_usage(const tm_snapshot *s)
{
    size_t n = sizeof *s;
    for (const tm_string_block *b = s->blocks; b; b = b->next)
        n += sizeof *b + b->size;
    n += s->str_cap * sizeof *s->str + s->str_len_cap * sizeof *s->str_len;
    n += s->module_cap * sizeof *s->modules + s->frame_cap * sizeof *s->frames;
    n += s->stack_cap * sizeof *s->stacks + s->trace_cap * sizeof *s->traces;
    n += s->tnf_cap * sizeof *s->tnf;
    n += tm_hindex_bytes(&s->str_index) + tm_hindex_bytes(&s->frame_index) +
        tm_hindex_bytes(&s->stack_index);
    return n;
}
