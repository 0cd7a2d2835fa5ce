/*
 * pprof's profile.proto, gzipped: what pprof, Grafana/Pyroscope, Parca and
 * most continuous profilers read.
 *
 * The encoder is our own rather than protobuf-c's generated code: the
 * message set is small and fixed (varints, length-delimited messages,
 * packed repeated integers), the whole profile is built in one buffer, and
 * this keeps libtmformats free of a new runtime library for the users who
 * link it.  Tests decode every export with protoc against pprof's schema.
 *
 * Mapping of the model (tm/snapshot.h) onto the profile:
 *   sample      one per (stack, domain): inuse_objects = count, inuse_space
 *               = bytes; a domain other than 0 is a numeric label "domain"
 *   location    one per stack node's frame: address = offset + load bias of
 *               its mapping; its Lines are the frame's inline chain,
 *               innermost first, as pprof wants them
 *   function    one per (name, file); a frame without a function name (a
 *               Python frame) is named by its file, as tmstat --by function
 *               names it
 *   mapping     one per module (path, build-id in hex, range)
 * Hidden frames (tm/attribution.h) are left out, not described by
 * drop_frames: pprof's drop_frames is a function-name regex that also drops
 * every callee of a match, which cannot say "frames of libc, of system
 * headers, and _start at the root"; leaving them out gives the lines tmstat
 * prints.  When every frame of a stack is hidden its innermost frame stays,
 * as in statistics.
 *
 * A diff is one profile, the one `pprof -diff_base OLD NEW` builds in
 * memory: NEW's samples, then OLD's with negated values and the label
 * pprof::base=true, so that `pprof -top` of it prints the growth and
 * `pprof -diff_base` users see what they know.
 */
#include "export_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "tm/sample.h"
#include "tm_alloc.h"
#include "tm_estimate.h"

/* profile.proto field numbers */
enum {
    PF_SAMPLE_TYPE = 1,
    PF_SAMPLE = 2,
    PF_MAPPING = 3,
    PF_LOCATION = 4,
    PF_FUNCTION = 5,
    PF_STRING_TABLE = 6,
    PF_TIME_NANOS = 9,
    PF_DURATION_NANOS = 10,
    PF_PERIOD_TYPE = 11,
    PF_PERIOD = 12,
    PF_COMMENT = 13,
    PF_DEFAULT_SAMPLE_TYPE = 14
};

typedef struct pb_buf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} pb_buf;

static void pb_bytes(pb_buf *b, const void *s, size_t n)
{
    if (b->oom || tm_grow((void **)&b->p, &b->cap, b->len + n, 1)) {
        b->oom = 1;
        return;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void pb_varint(pb_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    pb_bytes(b, tmp, n);
}

static void pb_key(pb_buf *b, unsigned field, unsigned wire)
{
    pb_varint(b, ((uint64_t)field << 3) | wire);
}

/* A scalar field; proto3 leaves zero out.  int64 negatives are their
 * two's complement as a 10-byte varint. */
static void pb_int(pb_buf *b, unsigned field, int64_t v)
{
    if (v == 0)
        return;
    pb_key(b, field, 0);
    pb_varint(b, (uint64_t)v);
}

static void pb_len(pb_buf *b, unsigned field, const void *s, size_t n)
{
    pb_key(b, field, 2);
    pb_varint(b, n);
    pb_bytes(b, s, n);
}

static void pb_msg(pb_buf *b, unsigned field, const pb_buf *sub)
{
    if (sub->oom)
        b->oom = 1;
    pb_len(b, field, sub->p, sub->len);
}

typedef struct pp_func {
    uint32_t name, file; /* string indices */
} pp_func;

typedef struct pp_map {
    uint32_t path, build_id; /* string indices */
    uint64_t bias;
} pp_map;

typedef struct pp {
    /* the message parts, concatenated at the end */
    pb_buf samples, mappings, locations, functions;
    pb_buf sub, sub2, packed; /* scratch */
    /* string table */
    char *str_bytes;
    size_t str_bytes_len, str_bytes_cap;
    uint64_t *str_off;
    uint32_t *str_len;
    size_t nstr, str_off_cap, str_len_cap;
    tm_hindex str_index;
    /* functions and mappings, ids 1.. */
    pp_func *funcs;
    size_t nfuncs, funcs_cap;
    tm_hindex func_index;
    pp_map *maps;
    size_t nmaps, maps_cap;
    tm_hindex map_index;
    uint64_t nlocs;
    uint64_t unknown_loc; /* the location of empty stacks, 0 = not yet */
    int64_t *comments;
    size_t ncomments, comments_cap;
} pp;

#define PP_NOMEM(err) tm_error_set(err, TM_ENOMEM, "out of memory building the pprof profile")

static int pp_str(pp *x, const char *s, size_t n, uint32_t *out, tm_error *err)
{
    uint64_t h = tm_hash_bytes(s, n);
    size_t pos;
    for (uint32_t id = tm_hindex_first(&x->str_index, h, &pos); id != TM_HINDEX_NONE;
         id = tm_hindex_next(&x->str_index, h, &pos)) {
        if (x->str_len[id] == n && memcmp(x->str_bytes + x->str_off[id], s, n) == 0) {
            *out = id;
            return TM_OK;
        }
    }
    if (x->nstr >= UINT32_MAX - 1 || n > UINT32_MAX)
        return tm_error_set(err, TM_ELIMIT, "pprof: too many distinct strings");
    if (tm_grow((void **)&x->str_off, &x->str_off_cap, x->nstr + 1, sizeof *x->str_off) ||
        tm_grow((void **)&x->str_len, &x->str_len_cap, x->nstr + 1, sizeof *x->str_len) ||
        tm_grow((void **)&x->str_bytes, &x->str_bytes_cap, x->str_bytes_len + n + 1, 1))
        return PP_NOMEM(err);
    uint32_t id = (uint32_t)x->nstr;
    if (tm_hindex_add(&x->str_index, pos, h, id))
        return PP_NOMEM(err);
    x->str_off[id] = x->str_bytes_len;
    x->str_len[id] = (uint32_t)n;
    if (n)
        memcpy(x->str_bytes + x->str_bytes_len, s, n);
    x->str_bytes_len += n;
    x->nstr++;
    *out = id;
    return TM_OK;
}

static int pp_cstr(pp *x, const char *s, uint32_t *out, tm_error *err)
{
    return pp_str(x, s, strlen(s), out, err);
}

static int pp_comment(pp *x, tm_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int pp_comment(pp *x, tm_error *err, const char *fmt, ...)
{
    char small[512], *buf = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return tm_error_set(err, TM_EINVAL, "pprof: cannot format a comment");
    if ((size_t)n >= sizeof small) { /* a long argv entry: kept whole */
        if (!(buf = tm_malloc((size_t)n + 1)))
            return PP_NOMEM(err);
        va_start(ap, fmt);
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    uint32_t id;
    int rc = pp_str(x, buf, (size_t)n, &id, err);
    if (buf != small)
        tm_free(buf);
    if (rc)
        return rc;
    if (tm_grow((void **)&x->comments, &x->comments_cap, x->ncomments + 1, sizeof *x->comments))
        return PP_NOMEM(err);
    x->comments[x->ncomments++] = id;
    return TM_OK;
}

static int pp_function(pp *x, uint32_t name, uint32_t file, uint64_t *out, tm_error *err)
{
    uint64_t h = tm_hash_u64(((uint64_t)name << 32) | file);
    size_t pos;
    for (uint32_t id = tm_hindex_first(&x->func_index, h, &pos); id != TM_HINDEX_NONE;
         id = tm_hindex_next(&x->func_index, h, &pos)) {
        if (x->funcs[id].name == name && x->funcs[id].file == file) {
            *out = (uint64_t)id + 1;
            return TM_OK;
        }
    }
    if (tm_grow((void **)&x->funcs, &x->funcs_cap, x->nfuncs + 1, sizeof *x->funcs))
        return PP_NOMEM(err);
    uint32_t id = (uint32_t)x->nfuncs;
    if (tm_hindex_add(&x->func_index, pos, h, id))
        return PP_NOMEM(err);
    x->funcs[id].name = name;
    x->funcs[id].file = file;
    x->nfuncs++;
    /* Function { id, name, system_name, filename } */
    x->sub2.len = 0;
    pb_int(&x->sub2, 1, (int64_t)id + 1);
    pb_int(&x->sub2, 2, name);
    pb_int(&x->sub2, 3, name);
    pb_int(&x->sub2, 4, file);
    pb_msg(&x->functions, PF_FUNCTION, &x->sub2);
    *out = (uint64_t)id + 1;
    return TM_OK;
}

/* Per snapshot while adding it. */
typedef struct pp_side {
    const tm_snapshot *snap;
    const tm_frame *frames;
    size_t nframes;
    const tm_stack_node *stacks;
    size_t nstacks;
    const tm_attribution *attr;
    uint64_t *loc;      /* per frame: location of it as a stack node, 0 = not yet */
    uint64_t *loc_keep; /* per frame: location of the frame alone, kept although hidden */
    uint32_t *map;      /* per module: mapping id, 0 = not yet */
    uint32_t *str;      /* per snapshot string: pprof index + 1, 0 = not yet */
    uint64_t *ids;      /* location ids of one sample */
    size_t ids_cap;
} pp_side;

static int side_str(pp *x, pp_side *sd, uint32_t sid, uint32_t *out, tm_error *err)
{
    if (sd->str[sid]) {
        *out = sd->str[sid] - 1;
        return TM_OK;
    }
    size_t n;
    const char *s = tm_snapshot_string(sd->snap, sid, &n);
    int rc = pp_str(x, s, n, out, err);
    if (rc == TM_OK)
        sd->str[sid] = *out + 1;
    return rc;
}

static int side_mapping(pp *x, pp_side *sd, uint32_t module, uint32_t *out, tm_error *err)
{
    if (sd->map[module]) {
        *out = sd->map[module];
        return TM_OK;
    }
    const tm_module *m = &tm_snapshot_modules(sd->snap)[module];
    uint32_t path, bid = 0;
    int rc = side_str(x, sd, m->path, &path, err);
    if (rc)
        return rc;
    if (m->build_id_len) {
        char hex[2 * TM_BUILD_ID_MAX + 1];
        size_t n = m->build_id_len < TM_BUILD_ID_MAX ? m->build_id_len : TM_BUILD_ID_MAX;
        for (size_t i = 0; i < n; i++)
            snprintf(hex + 2 * i, 3, "%02x", m->build_id[i]);
        if ((rc = pp_str(x, hex, 2 * n, &bid, err)))
            return rc;
    }
    /* The same object seen in two snapshots (a diff) is one mapping. */
    uint64_t h = tm_hash_u64(((uint64_t)path << 32) | bid);
    size_t pos;
    for (uint32_t id = tm_hindex_first(&x->map_index, h, &pos); id != TM_HINDEX_NONE;
         id = tm_hindex_next(&x->map_index, h, &pos)) {
        if (x->maps[id].path == path && x->maps[id].build_id == bid) {
            *out = sd->map[module] = id + 1;
            return TM_OK;
        }
    }
    if (tm_grow((void **)&x->maps, &x->maps_cap, x->nmaps + 1, sizeof *x->maps))
        return PP_NOMEM(err);
    uint32_t id = (uint32_t)x->nmaps;
    if (tm_hindex_add(&x->map_index, pos, h, id))
        return PP_NOMEM(err);
    x->maps[id].path = path;
    x->maps[id].build_id = bid;
    x->maps[id].bias = m->load_bias;
    x->nmaps++;
    int symbolized = 0, lines = 0;
    for (size_t i = 0; i < sd->nframes; i++) {
        if (sd->frames[i].module == module) {
            symbolized |= sd->frames[i].function != 0;
            lines |= sd->frames[i].line != 0;
        }
    }
    /* Mapping { id, memory_start, memory_limit, file_offset, filename,
     * build_id, has_functions, has_filenames, has_line_numbers,
     * has_inline_frames }.  The file offset of the mapped range is not
     * recorded; its link-time address is what it is for the usual ELF
     * layouts (PIE executables, shared objects), which is all pprof needs
     * to symbolize unsymbolized addresses itself. */
    pb_buf *b = &x->sub2;
    b->len = 0;
    pb_int(b, 1, (int64_t)id + 1);
    pb_int(b, 2, (int64_t)m->start);
    pb_int(b, 3, (int64_t)m->end);
    pb_int(b, 4, m->start >= m->load_bias ? (int64_t)(m->start - m->load_bias) : 0);
    pb_int(b, 5, path);
    pb_int(b, 6, bid);
    pb_int(b, 7, symbolized);
    pb_int(b, 8, lines);
    pb_int(b, 9, lines);
    pb_int(b, 10, symbolized);
    pb_msg(&x->mappings, PF_MAPPING, b);
    *out = id + 1;
    sd->map[module] = id + 1;
    return TM_OK;
}

/* One Line for a logical frame, into x->sub; 0 lines if it has no name. */
static int put_line(pp *x, pp_side *sd, const tm_frame *fr, tm_error *err)
{
    uint32_t name, file = 0;
    int rc;
    if (fr->function)
        rc = side_str(x, sd, fr->function, &name, err);
    else if (fr->file)
        rc = side_str(x, sd, fr->file, &name, err);
    else
        return TM_OK; /* a raw address: pprof shows it, or symbolizes it itself */
    if (rc == TM_OK && fr->file)
        rc = side_str(x, sd, fr->file, &file, err);
    uint64_t fn;
    if (rc == TM_OK)
        rc = pp_function(x, name, file, &fn, err);
    if (rc)
        return rc;
    /* Line { function_id, line } */
    x->sub2.len = 0;
    pb_int(&x->sub2, 1, (int64_t)fn);
    pb_int(&x->sub2, 2, fr->line);
    pb_msg(&x->sub, 4, &x->sub2);
    return TM_OK;
}

/* The location of stack-node frame f: its inline chain without the hidden
 * frames (keep = 0; 0 = nothing left), or f alone (keep = 1). */
static int side_location(pp *x, pp_side *sd, uint32_t f, int keep, uint64_t *out, tm_error *err)
{
    uint64_t *cache = keep ? sd->loc_keep : sd->loc;
    if (cache[f]) {
        *out = cache[f] == UINT64_MAX ? 0 : cache[f];
        return TM_OK;
    }
    const tm_frame *fr = &sd->frames[f];
    x->sub.len = 0;
    int rc = TM_OK, any = 0;
    size_t steps = 0;
    for (uint32_t g = f; g != TM_NONE && rc == TM_OK;
         g = keep ? TM_NONE : sd->frames[g].inlined_by) {
        if (g >= sd->nframes || ++steps > TM_INLINE_MAX)
            return tm_error_set(err, TM_EFORMAT, "frame %u: bad inline chain", (unsigned)f);
        if (!keep && tm_attribution_hides(sd->attr, g))
            continue;
        any = 1;
        rc = put_line(x, sd, &sd->frames[g], err);
    }
    if (rc)
        return rc;
    if (!any) {
        cache[f] = UINT64_MAX;
        *out = 0;
        return TM_OK;
    }
    /* The Lines are in x->sub; the Location message goes around them. */
    uint32_t mapping = 0;
    uint64_t address = 0;
    if (fr->module != TM_NONE && fr->module < tm_snapshot_module_count(sd->snap)) {
        rc = side_mapping(x, sd, fr->module, &mapping, err); /* uses sub2 only */
        if (rc)
            return rc;
        address = fr->offset + x->maps[mapping - 1].bias;
    }
    uint64_t id = ++x->nlocs;
    pb_buf *b = &x->sub2;
    b->len = 0;
    pb_int(b, 1, (int64_t)id);
    pb_int(b, 2, mapping);
    pb_int(b, 3, (int64_t)address);
    pb_bytes(b, x->sub.p, x->sub.len);
    if (x->sub.oom)
        b->oom = 1;
    pb_msg(&x->locations, PF_LOCATION, b);
    cache[f] = id;
    *out = id;
    return TM_OK;
}

static int unknown_location(pp *x, uint64_t *out, tm_error *err)
{
    if (!x->unknown_loc) {
        uint32_t name;
        uint64_t fn;
        /* tracemalloc's frame of an empty traceback: <unknown>, line 0 */
        int rc = pp_cstr(x, "<unknown>", &name, err);
        if (rc == TM_OK)
            rc = pp_function(x, name, name, &fn, err);
        if (rc)
            return rc;
        x->sub.len = 0;
        pb_int(&x->sub, 1, (int64_t)fn);
        uint64_t id = ++x->nlocs;
        x->sub2.len = 0;
        pb_int(&x->sub2, 1, (int64_t)id);
        pb_msg(&x->sub2, 4, &x->sub);
        pb_msg(&x->locations, PF_LOCATION, &x->sub2);
        x->unknown_loc = id;
    }
    *out = x->unknown_loc;
    return TM_OK;
}

static int trace_cmp(const void *a, const void *b, void *ctx)
{
    const tm_trace *t = ctx;
    const tm_trace *x = &t[*(const size_t *)a], *y = &t[*(const size_t *)b];
    if (x->stack != y->stack)
        return x->stack < y->stack ? -1 : 1;
    if (x->domain != y->domain)
        return x->domain < y->domain ? -1 : 1;
    return 0;
}

static int add_sample(pp *x, pp_side *sd, uint32_t st, uint32_t domain, uint64_t count,
                      uint64_t size, int base, uint32_t k_domain, uint32_t k_base, uint32_t s_true,
                      tm_error *err)
{
    size_t n = 0;
    int rc = TM_OK;
    uint64_t id;
    if (st >= sd->nstacks)
        return tm_error_set(err, TM_EFORMAT, "stack %u does not exist", (unsigned)st);
    if (st == 0) {
        if ((rc = unknown_location(x, &id, err)))
            return rc;
        if (tm_grow((void **)&sd->ids, &sd->ids_cap, 1, sizeof *sd->ids))
            return PP_NOMEM(err);
        sd->ids[n++] = id;
    }
    size_t steps = 0;
    for (uint32_t k = st; k != 0; k = sd->stacks[k].parent) {
        if (sd->stacks[k].parent >= k || ++steps > sd->nstacks)
            return tm_error_set(err, TM_EFORMAT, "stack %u: bad parent", (unsigned)k);
        if ((rc = side_location(x, sd, sd->stacks[k].frame, 0, &id, err)))
            return rc;
        if (!id)
            continue;
        if (tm_grow((void **)&sd->ids, &sd->ids_cap, n + 1, sizeof *sd->ids))
            return PP_NOMEM(err);
        sd->ids[n++] = id;
    }
    if (n == 0) { /* everything hidden: the innermost frame stays */
        if ((rc = side_location(x, sd, sd->stacks[st].frame, 1, &id, err)))
            return rc;
        if (tm_grow((void **)&sd->ids, &sd->ids_cap, 1, sizeof *sd->ids))
            return PP_NOMEM(err);
        sd->ids[n++] = id;
    }
    pb_buf *b = &x->sub;
    b->len = 0;
    x->packed.len = 0;
    for (size_t i = 0; i < n; i++)
        pb_varint(&x->packed, sd->ids[i]);
    pb_msg(b, 1, &x->packed);
    x->packed.len = 0;
    int64_t sign = base ? -1 : 1;
    pb_varint(&x->packed, (uint64_t)(sign * (int64_t)count));
    pb_varint(&x->packed, (uint64_t)(sign * (int64_t)size));
    pb_msg(b, 2, &x->packed);
    if (domain) {
        x->sub2.len = 0;
        pb_int(&x->sub2, 1, k_domain);
        pb_int(&x->sub2, 3, domain);
        pb_msg(b, 3, &x->sub2);
    }
    if (base) {
        x->sub2.len = 0;
        pb_int(&x->sub2, 1, k_base);
        pb_int(&x->sub2, 2, s_true);
        pb_msg(b, 3, &x->sub2);
    }
    pb_msg(&x->samples, PF_SAMPLE, b);
    return TM_OK;
}

static int side_metadata(pp *x, const tm_snapshot *snap, const char *who, size_t hidden,
                         int as_recorded, tm_error *err)
{
    const tm_metadata *md = tm_snapshot_metadata(snap);
    int rc = TM_OK;
#define STR(id) tm_snapshot_string(snap, (id), NULL)
    if (md->program)
        rc = rc ? rc : pp_comment(x, err, "%sprogram: %s", who, STR(md->program));
    size_t argc = tm_snapshot_argc(snap);
    const uint32_t *argv = tm_snapshot_argv(snap);
    for (size_t i = 0; i < argc && rc == TM_OK; i++)
        rc = pp_comment(x, err, "%sargv[%zu]: %s", who, i, STR(argv[i]));
    if (md->host)
        rc = rc ? rc : pp_comment(x, err, "%shost: %s", who, STR(md->host));
    if (md->pid)
        rc = rc ? rc : pp_comment(x, err, "%spid: %" PRId64, who, md->pid);
    if (md->trigger)
        rc = rc ? rc : pp_comment(x, err, "%strigger: %s", who, STR(md->trigger));
    if (md->start_time_ns)
        rc = rc ? rc : pp_comment(x, err, "%sstart_time_ns: %" PRId64, who, md->start_time_ns);
    if (md->snapshot_time_ns)
        rc =
            rc ? rc : pp_comment(x, err, "%ssnapshot_time_ns: %" PRId64, who, md->snapshot_time_ns);
    if (md->tool_version)
        rc = rc ? rc : pp_comment(x, err, "%stool_version: %s", who, STR(md->tool_version));
#undef STR
    if (rc == TM_OK)
        rc = pp_comment(x, err,
                        "%straces: %zu, total size: %" PRIu64 " B, traced current: %" PRIu64
                        " B, traced peak: %" PRIu64 " B, sequence: %u, nframe limit: %u",
                        who, tm_snapshot_trace_count(snap), tm_snapshot_total_size(snap),
                        md->traced_current, md->traced_peak, (unsigned)md->sequence,
                        (unsigned)md->nframe_limit);
    if (rc == TM_OK && md->sample_rate)
        rc = pp_comment(x, err,
                        "%ssampled: a Poisson sample, one per %" PRIu64 " bytes on average; "
                        "inuse_objects and inuse_space are estimates (a trace of s bytes weighs "
                        "1/(1-exp(-s/R))); the traces and sizes above are of the kept blocks",
                        who, md->sample_rate);
    if (rc == TM_OK)
        rc = as_recorded ? pp_comment(x, err, "%sstacks as recorded, no frame hidden", who)
                         : pp_comment(x, err,
                                      "%sruntime frames hidden: %zu of %zu frames (C/C++ runtime "
                                      "allocation machinery, system headers and sources; "
                                      "tmexport --as-recorded keeps them)",
                                      who, hidden, tm_snapshot_frame_count(snap));
    return rc;
}

static int pp_add_snapshot(pp *x, const tm_snapshot *snap, int base, const char *who,
                           const tm_attribution_options *attribution, tm_error *err)
{
    pp_side sd;
    memset(&sd, 0, sizeof sd);
    tm_attribution *attr = NULL;
    int rc = tm_attribution_new(&attr, snap, attribution, err);
    if (rc)
        return rc;
    sd.snap = snap;
    sd.attr = attr;
    sd.frames = tm_snapshot_frames(snap);
    sd.nframes = tm_snapshot_frame_count(snap);
    sd.stacks = tm_snapshot_stacks(snap);
    sd.nstacks = tm_snapshot_stack_count(snap);
    size_t nmod = tm_snapshot_module_count(snap), nstr = tm_snapshot_string_count(snap);
    size_t ntr = tm_snapshot_trace_count(snap);
    const tm_trace *tr = tm_snapshot_traces(snap);
    size_t *order = tm_malloc((ntr ? ntr : 1) * sizeof *order);
    sd.loc = tm_calloc(sd.nframes ? sd.nframes : 1, sizeof *sd.loc);
    sd.loc_keep = tm_calloc(sd.nframes ? sd.nframes : 1, sizeof *sd.loc_keep);
    sd.map = tm_calloc(nmod ? nmod : 1, sizeof *sd.map);
    sd.str = tm_calloc(nstr ? nstr : 1, sizeof *sd.str);
    if (!order || !sd.loc || !sd.loc_keep || !sd.map || !sd.str) {
        rc = PP_NOMEM(err);
        goto out;
    }
    uint32_t k_domain, k_base, s_true;
    if ((rc = pp_cstr(x, "domain", &k_domain, err)) ||
        (rc = pp_cstr(x, "pprof::base", &k_base, err)) || (rc = pp_cstr(x, "true", &s_true, err)))
        goto out;
    /* One sample per (stack, domain), in that order: the same snapshot
     * gives the same bytes. */
    for (size_t i = 0; i < ntr; i++)
        order[i] = i;
    qsort_r(order, ntr, sizeof *order, trace_cmp, (void *)tr);
    uint64_t rate = tm_snapshot_metadata(snap)->sample_rate;
    for (size_t i = 0; i < ntr && rc == TM_OK;) {
        const tm_trace *t = &tr[order[i]];
        uint64_t count = 0, size = 0;
        double est_count = 0, est_size = 0, w;
        size_t j = i;
        for (; j < ntr && tr[order[j]].stack == t->stack && tr[order[j]].domain == t->domain; j++) {
            count++;
            size += tr[order[j]].size;
            est_count += (w = rate ? tm_sample_weight(tr[order[j]].size, rate) : 0);
            est_size += w * (double)tr[order[j]].size;
        }
        /* Sampled: values scaled by each trace's weight, as Go's heap
         * profiles are (pprof does not unsample); the period is the rate. */
        if (rate) {
            count = tm_estimate_u64(est_count);
            size = tm_estimate_u64(est_size);
        }
        if (size > INT64_MAX || count > INT64_MAX)
            rc =
                tm_error_set(err, TM_ELIMIT, "stack %u: %" PRIu64 " bytes do not fit pprof's int64",
                             (unsigned)t->stack, size);
        else
            rc = add_sample(x, &sd, t->stack, t->domain, count, size, base, k_domain, k_base,
                            s_true, err);
        if (rc)
            tm_error_prefix(err, "trace %zu", order[i]);
        i = j;
    }
    if (rc == TM_OK)
        rc = side_metadata(x, snap, who, tm_attribution_hidden_frames(attr),
                           attribution && attribution->as_recorded, err);
out:
    tm_attribution_free(attr);
    tm_free(order);
    tm_free(sd.loc);
    tm_free(sd.loc_keep);
    tm_free(sd.map);
    tm_free(sd.str);
    tm_free(sd.ids);
    return rc;
}

static void pp_free(pp *x)
{
    pb_buf *bufs[] = { &x->samples, &x->mappings, &x->locations, &x->functions,
                       &x->sub,     &x->sub2,     &x->packed };
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        tm_free(bufs[i]->p);
    tm_free(x->str_bytes);
    tm_free(x->str_off);
    tm_free(x->str_len);
    tm_hindex_free(&x->str_index);
    tm_free(x->funcs);
    tm_hindex_free(&x->func_index);
    tm_free(x->maps);
    tm_hindex_free(&x->map_index);
    tm_free(x->comments);
}

static voidpf pp_zalloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return tm_calloc(items, size);
}

static void pp_zfree(voidpf opaque, voidpf p)
{
    (void)opaque;
    tm_free(p);
}

/* gzip of the profile, written to out.  zlib's header carries no time
 * stamp, so equal profiles give equal files. */
static int pp_gzip(FILE *out, const pb_buf *msg, tm_error *err)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    z.zalloc = pp_zalloc;
    z.zfree = pp_zfree;
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return tm_error_set(err, TM_ENOMEM, "out of memory starting gzip");
    uint8_t chunk[65536];
    size_t done = 0;
    int rc = TM_OK, zr;
    do {
        size_t step = msg->len - done < (1u << 30) ? msg->len - done : (1u << 30);
        z.next_in = msg->p + done;
        z.avail_in = (uInt)step;
        done += step;
        int flush = done == msg->len ? Z_FINISH : Z_NO_FLUSH;
        do {
            z.next_out = chunk;
            z.avail_out = sizeof chunk;
            zr = deflate(&z, flush);
            if (zr == Z_STREAM_ERROR) {
                rc = tm_error_set(err, TM_EINVAL, "gzip: deflate failed");
                break;
            }
            size_t have = sizeof chunk - z.avail_out;
            if (have && fwrite(chunk, 1, have, out) != have) {
                rc = ex_check_stream(out, "pprof profile", err);
                if (rc == TM_OK)
                    rc = tm_error_set(err, TM_EIO, "pprof profile: write error");
                break;
            }
        } while (z.avail_out == 0);
    } while (rc == TM_OK && done < msg->len);
    deflateEnd(&z);
    return rc;
}

int tm_export_pprof(const tm_snapshot *snap, const tm_snapshot *base,
                    const tm_export_options *opts_in, FILE *out, tm_error *err)
{
    tm_export_options opts;
    int rc = ex_options(opts_in, &opts, err);
    if (rc)
        return rc;
    pp x;
    memset(&x, 0, sizeof x);
    pb_buf msg = { 0 };
    uint32_t s;
    /* string_table[0] must be "" */
    if ((rc = pp_str(&x, "", 0, &s, err)))
        goto out;
    rc = pp_comment(&x, err,
                    base ? "tmkit heap profile: live allocations of new minus base "
                           "(base samples negated, label pprof::base=true)"
                         : "tmkit heap profile: live allocations at the snapshot");
    if (rc == TM_OK)
        rc = pp_add_snapshot(&x, snap, 0, base ? "new: " : "", opts.attribution, err);
    if (rc == TM_OK && base) {
        rc = pp_add_snapshot(&x, base, 1, "base: ", opts.attribution, err);
        if (rc)
            tm_error_prefix(err, "base");
    }
    if (rc)
        goto out;
    uint32_t objects, count, space, bytes;
    if ((rc = pp_cstr(&x, "inuse_objects", &objects, err)) ||
        (rc = pp_cstr(&x, "count", &count, err)) ||
        (rc = pp_cstr(&x, "inuse_space", &space, err)) ||
        (rc = pp_cstr(&x, "bytes", &bytes, err)) || (rc = pp_cstr(&x, "space", &s, err)))
        goto out;
    /* ValueType { type, unit } */
    uint32_t vt[2][2] = { { objects, count }, { space, bytes } };
    for (int i = 0; i < 2; i++) {
        x.sub.len = 0;
        pb_int(&x.sub, 1, vt[i][0]);
        pb_int(&x.sub, 2, vt[i][1]);
        pb_msg(&msg, PF_SAMPLE_TYPE, &x.sub);
    }
    pb_bytes(&msg, x.samples.p, x.samples.len);
    pb_bytes(&msg, x.mappings.p, x.mappings.len);
    pb_bytes(&msg, x.locations.p, x.locations.len);
    pb_bytes(&msg, x.functions.p, x.functions.len);
    for (size_t i = 0; i < x.nstr; i++)
        pb_len(&msg, PF_STRING_TABLE, x.str_bytes + x.str_off[i], x.str_len[i]);
    const tm_metadata *md = tm_snapshot_metadata(snap);
    pb_int(&msg, PF_TIME_NANOS, md->snapshot_time_ns);
    if (md->start_time_ns > 0 && md->snapshot_time_ns > md->start_time_ns)
        pb_int(&msg, PF_DURATION_NANOS, md->snapshot_time_ns - md->start_time_ns);
    /* Every allocation recorded: a period of 1 byte; a sampled snapshot:
     * the mean interval, the values being estimates already. */
    x.sub.len = 0;
    pb_int(&x.sub, 1, s);
    pb_int(&x.sub, 2, bytes);
    pb_msg(&msg, PF_PERIOD_TYPE, &x.sub);
    pb_int(&msg, PF_PERIOD, md->sample_rate ? (int64_t)md->sample_rate : 1);
    x.packed.len = 0;
    for (size_t i = 0; i < x.ncomments; i++)
        pb_varint(&x.packed, (uint64_t)x.comments[i]);
    pb_msg(&msg, PF_COMMENT, &x.packed);
    pb_int(&msg, PF_DEFAULT_SAMPLE_TYPE, space);
    pb_buf *all[] = { &x.samples, &x.mappings, &x.locations, &x.functions,
                      &x.sub,     &x.sub2,     &x.packed };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        msg.oom |= all[i]->oom;
    if (msg.oom) {
        rc = PP_NOMEM(err);
        goto out;
    }
    rc = pp_gzip(out, &msg, err);
    if (rc == TM_OK)
        rc = ex_check_stream(out, "pprof profile", err);
out:
    tm_free(msg.p);
    pp_free(&x);
    return rc;
}
