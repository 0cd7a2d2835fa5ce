/*
 * tm/snapshot.h — the in-memory snapshot model every tmkit tool shares.
 *
 * A snapshot is what tracemalloc.Snapshot is for Python: the set of live
 * allocations ("traces") at one instant, each with the call stack that made
 * it, plus metadata about the process.  Everything is interned and referred
 * to by 32-bit ids, so a million traces over a few thousand distinct stacks
 * stay small:
 *
 *   strings  id 0 is the empty string ("unknown"); ids 1.. are interned text.
 *   modules  loaded objects (path, build-id, load bias, address range).
 *   frames   one *logical* frame: (module, offset) for a raw return address,
 *            optionally symbolized to (function, file, line).  When the
 *            compiler inlined calls at that address, the frame a stack points
 *            to is the innermost inlined function and `inlined_by` links to
 *            the next outer one at the same address, ending in TM_NONE.
 *            A Python frame is just (file, line).
 *   stacks   a prefix-sharing tree.  Node 0 is the empty stack; node k > 0 is
 *            (frame, parent) where frame is the *most recent* call and parent
 *            (< k) is the stack of its callers.  A trace points to a node.
 *   traces   (domain, size, stack) plus total_nframe: how deep
 *            the real stack was before truncation to nframe_limit.
 *
 * Ownership: a tm_snapshot owns everything reachable from it; pointers
 * returned by accessors stay valid until the next mutating call or
 * tm_snapshot_free().  Builder calls de-duplicate as they go: interning the
 * same string, frame or (frame, parent) pair twice returns the same id.
 */
#ifndef TM_SNAPSHOT_H
#define TM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "tm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TM_NONE UINT32_MAX   /* "no module" / "no inline parent" */
#define TM_MAX_NFRAME 65535u /* largest traceback limit, as in Python */
#define TM_BUILD_ID_MAX 64u  /* bytes; GNU build-ids are 20 */

typedef struct tm_snapshot tm_snapshot;

typedef struct tm_module {
    uint32_t path;         /* string id */
    uint32_t build_id_len; /* 0 = unknown */
    uint8_t build_id[TM_BUILD_ID_MAX];
    uint64_t load_bias;  /* runtime address - link-time address */
    uint64_t start, end; /* mapped executable range [start, end) */
} tm_module;

typedef struct tm_frame {
    uint32_t module;     /* module index, or TM_NONE (e.g. Python frames) */
    uint32_t function;   /* string id; 0 = not symbolized / unknown */
    uint32_t file;       /* string id; 0 = unknown */
    uint32_t line;       /* 0 = unknown */
    uint32_t inlined_by; /* frame id of the enclosing inlined caller, or TM_NONE */
    uint32_t reserved;   /* must be 0 */
    uint64_t offset;     /* return address - load bias (link-time address) */
} tm_frame;

typedef struct tm_stack_node {
    uint32_t frame;  /* most recent frame of this stack */
    uint32_t parent; /* stack id of the callers (0 = none), always < own id */
    uint32_t depth;  /* number of frames; node 0 has depth 0 */
} tm_stack_node;

/* 16 bytes: a million traces are 16 MB.  total_nframe is kept apart (see
 * tm_snapshot_trace_total_nframe) because it almost always equals the
 * stack's depth and then costs nothing. */
typedef struct tm_trace {
    uint64_t size;
    uint32_t stack;
    uint32_t domain;
} tm_trace;

/* Process-level facts.  String fields are string ids (0 = unknown). */
typedef struct tm_metadata {
    uint32_t program;         /* path of the executable */
    uint32_t host;            /* hostname */
    uint32_t trigger;         /* "exit", "signal", "interval", "peak", "api", "python", ... */
    uint32_t tool_version;    /* tmkit version that wrote the data */
    int64_t pid;              /* 0 = unknown */
    int64_t start_time_ns;    /* process/trace start, ns since the Unix epoch; 0 = unknown */
    int64_t snapshot_time_ns; /* when the snapshot was taken; 0 = unknown */
    uint32_t nframe_limit;    /* traceback limit in force (1..65535) */
    uint32_t sequence;        /* number of this snapshot in a series (0-based) */
    uint64_t traced_current;  /* get_traced_memory() at snapshot time */
    uint64_t traced_peak;
    /* 0: every allocation was traced (exact).  Otherwise the mean sampling
     * interval in bytes (tm/sample.h): the traces are a Poisson sample and
     * every size, count and the two traced_* fields above are estimates. */
    uint64_t sample_rate;
} tm_metadata;

/* --- lifetime -------------------------------------------------------- */

int tm_snapshot_new(tm_snapshot **out, tm_error *err);
void tm_snapshot_free(tm_snapshot *snap);

/* --- builder (de-duplicating) ---------------------------------------- */

int tm_snapshot_intern_string(uint32_t *out_id, tm_snapshot *snap, const char *s, size_t len,
                              tm_error *err);
/* Modules are not de-duplicated: each call appends one. */
int tm_snapshot_add_module(uint32_t *out_id, tm_snapshot *snap, const tm_module *module,
                           tm_error *err);
/* f->module / f->inlined_by / string ids must already exist. */
int tm_snapshot_intern_frame(uint32_t *out_id, tm_snapshot *snap, const tm_frame *f, tm_error *err);
/* One tree node: `frame` called from the stack `parent`. */
int tm_snapshot_intern_stack_node(uint32_t *out_id, tm_snapshot *snap, uint32_t parent,
                                  uint32_t frame, tm_error *err);
/* A whole stack, frames[0] the most recent call. */
int tm_snapshot_intern_stack(uint32_t *out_id, tm_snapshot *snap, const uint32_t *frames,
                             size_t nframes, tm_error *err);
int tm_snapshot_reserve_traces(tm_snapshot *snap, size_t n, tm_error *err);
/* total_nframe: how deep the real stack was (>= the stored depth when the
 * stack was truncated to nframe_limit). */
int tm_snapshot_add_trace(tm_snapshot *snap, const tm_trace *t, uint32_t total_nframe,
                          tm_error *err);

int tm_snapshot_set_metadata(tm_snapshot *snap, const tm_metadata *md, tm_error *err);
int tm_snapshot_set_argv(tm_snapshot *snap, const char *const *argv, size_t argc, tm_error *err);

/* Replaces a frame's symbol fields in place (used by the symbolizer); ids
 * must exist.  Frame de-duplication is by the full record, so two frames
 * may become equal after this; analysis compares by value and is unaffected. */
int tm_snapshot_set_frame(tm_snapshot *snap, uint32_t id, const tm_frame *f, tm_error *err);

/* --- read-only accessors --------------------------------------------- */

size_t tm_snapshot_string_count(const tm_snapshot *snap); /* includes id 0 */
/* NUL-terminated; *len (if non-NULL) gets the byte length.  Returns "" for
 * an id out of range. */
const char *tm_snapshot_string(const tm_snapshot *snap, uint32_t id, size_t *len);

size_t tm_snapshot_module_count(const tm_snapshot *snap);
const tm_module *tm_snapshot_modules(const tm_snapshot *snap);

size_t tm_snapshot_frame_count(const tm_snapshot *snap);
const tm_frame *tm_snapshot_frames(const tm_snapshot *snap);

size_t tm_snapshot_stack_count(const tm_snapshot *snap); /* includes node 0 */
const tm_stack_node *tm_snapshot_stacks(const tm_snapshot *snap);

size_t tm_snapshot_trace_count(const tm_snapshot *snap);
const tm_trace *tm_snapshot_traces(const tm_snapshot *snap);
/* total_nframe of trace i (i < trace count). */
uint32_t tm_snapshot_trace_total_nframe(const tm_snapshot *snap, size_t i);

const tm_metadata *tm_snapshot_metadata(const tm_snapshot *snap);
size_t tm_snapshot_argc(const tm_snapshot *snap);
const uint32_t *tm_snapshot_argv(const tm_snapshot *snap); /* string ids */

/* Frames of a stack's nodes, most recent first, at most `max` of them;
 * returns the stack's depth (which may exceed max).  Inline chains are not
 * expanded: tm_stack_walk below gives the logical frames. */
size_t tm_snapshot_stack_frames(uint32_t *frames, size_t max, const tm_snapshot *snap,
                                uint32_t stack);

/* --- stack walks ------------------------------------------------------ */

/* Most frames one stack node's inline chain may hold, its own frame
 * included (a .tms file allows 256; the symbolizer makes at most 64). */
#define TM_INLINE_MAX 4096u

/* The logical frames of a stack, innermost first: each node's frame, then
 * the enclosing inlined callers its inlined_by chain links to, then the
 * caller node's frame, and so on to the outermost: the order of a
 * tracemalloc traceback.  Statistics, filters, exports, the Python dump
 * writer and tminfo all expand stacks through it.  The walk reads the snapshot in place (no allocation); the snapshot must
 * not change while it runs.  Fields are private. */
typedef struct tm_stack_walk {
    const tm_snapshot *snap;
    uint32_t node;  /* current stack node; 0 = finished */
    uint32_t frame; /* last frame given from this node, or TM_NONE */
    uint32_t chain; /* inlined callers given from this node */
} tm_stack_walk;

void tm_stack_walk_init(tm_stack_walk *w, const tm_snapshot *snap, uint32_t stack);
/* *frame gets the next logical frame id, TM_NONE once the walk is over
 * (node 0, the empty stack, has no frames).  *inlined (if non-NULL) gets 1
 * for an enclosing inlined caller, 0 for the frame a stack node points to,
 * so a change of node is a frame with *inlined 0.  Errors: TM_EINVAL for a
 * stack id out of range, TM_ELIMIT for a chain past TM_INLINE_MAX. */
int tm_stack_walk_next(uint32_t *frame, int *inlined, tm_stack_walk *w, tm_error *err);

/* Sum of trace sizes. */
uint64_t tm_snapshot_total_size(const tm_snapshot *snap);

/* Bytes of heap the snapshot itself holds (for reports and benchmarks). */
size_t tm_snapshot_memory_usage(const tm_snapshot *snap);

#ifdef __cplusplus
}
#endif
#endif
