/*
 * Private to the recorder.  Everything here runs inside malloc hooks unless
 * it says otherwise: no allocation through the traced malloc, no lock that a
 * hook could wait on forever, memory from mmap only.
 */
#ifndef TM_REC_INTERNAL_H
#define TM_REC_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "tm_hash.h"

#define TM_HIDDEN __attribute__((visibility("hidden")))
#define TM_LIKELY(x) __builtin_expect(!!(x), 1)
#define TM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TM_TLS __attribute__((tls_model("initial-exec")))
/* A prefetch the compiler keeps: gcc 12 dropped __builtin_prefetch calls
 * whose address came from a load it saw no other use for. */
static inline void tm_prefetch(const void *addr)
{
    __asm__ volatile("prefetcht0 %0" ::"m"(*(const char *)addr));
}

/* Register state of the frame that called a hook: the return address into
 * it, its stack pointer after the call returns, and its rbp. */
typedef struct tm_regs {
    uintptr_t pc, sp, bp;
} tm_regs;

/* Valid in a function compiled with -fno-omit-frame-pointer (the recorder
 * is): __builtin_frame_address(0) points to the saved rbp, above it the
 * return address. */
#define TM_CALLER_REGS(r)                                                                          \
    do {                                                                                           \
        uintptr_t *fa_ = (uintptr_t *)__builtin_frame_address(0);                                  \
        (r).pc = fa_[1];                                                                           \
        (r).sp = (uintptr_t)(fa_ + 2);                                                             \
        (r).bp = fa_[0];                                                                           \
    } while (0)

/* --- per-thread state (hooks.c) ---------------------------------------- */
extern TM_TLS __thread int tm_rec_guard; /* >0: inside the recorder */

/* --- configuration and global state (config.c) ------------------------ */
enum { TM_UNWIND_EH = 0, TM_UNWIND_FP = 1, TM_UNWIND_LIBGCC = 2 };

typedef struct tm_rec_config {
    unsigned nframe;  /* traceback limit */
    int unwinder;     /* TM_UNWIND_* */
    int unwind_check; /* compare with libgcc on every stack */
    int incremental;  /* 0 full eh walk, 1 reuse the previous walk, 2 and
                                 cache stack ids per reused prefix + fresh frames */
    int follow_fork;
    int peak; /* keep the live set at the peak (peak.c) */
    double interval;
    int signo;
    int crash;     /* write the exit snapshot on a fatal signal */
    int exit_dump; /* write TM_OUTPUT at exit */
    /* 0: trace every block; else the mean sampling interval in bytes
     * (sampling.c).  Changed only while not tracing (tm_set_sample_rate);
     * read relaxed by the hooks. */
    uint64_t sample_rate;
    char output[4096]; /* TM_OUTPUT as given, or "" */
} tm_rec_config;

extern tm_rec_config tm_rec_cfg TM_HIDDEN;
extern _Atomic int tm_rec_tracing TM_HIDDEN;
/* tracing && sample_rate != 0, kept by tm_rec_set_tracing: the one load by
 * which the sampling hooks' common path decides (hooks.c). */
extern _Atomic int tm_rec_sampling TM_HIDDEN;
TM_HIDDEN void tm_rec_set_tracing(int on);
extern _Atomic int64_t tm_rec_start_time_ns TM_HIDDEN;

TM_HIDDEN void tm_rec_init(void); /* idempotent; called outside hooks */
/* From the first hook, before the constructor: starts tracing when the
 * environment says so (config.c). */
TM_HIDDEN void tm_rec_early_start(void);
TM_HIDDEN int64_t tm_rec_now_ns(void);
/* Attach mode (attach.c): loaded by tmrun -p, routed by GOT entries. */
extern _Atomic int tm_rec_attached TM_HIDDEN;
/* Is our malloc the one the program calls (LD_PRELOAD, static core)? */
TM_HIDDEN int tm_hooks_interposing(void);

/* --- recorder memory (mem.c) --------------------------------------------- */
TM_HIDDEN void *tm_rmem_map(size_t bytes); /* zeroed, or NULL */
TM_HIDDEN void tm_rmem_unmap(void *p, size_t bytes);
TM_HIDDEN size_t tm_rmem_total(void);

/* A lock for short critical sections: one compare-and-swap to take it, a
 * plain store to release it (an atomic exchange there cost ~5 ns per
 * operation, 20 ns per traced malloc/free pair).  A contended locker spins
 * briefly, then sleeps on a futex (the holder may have been preempted: 2
 * cores shared with other work), counted in `sleepers`; unlock wakes one
 * when it sees a sleeper.  Unlock's store and its read of `sleepers` may be
 * reordered (x86 store buffer), so a sleeper that registered in that window
 * of a few nanoseconds is not woken: it sleeps with a 1 ms timeout and
 * tries again.  Never allocates. */
typedef struct {
    _Atomic uint32_t v; /* 0 free, 1 held */
    _Atomic uint32_t sleepers;
} tm_spin;
TM_HIDDEN void tm_spin_lock_slow(tm_spin *l);
TM_HIDDEN void tm_spin_wake(tm_spin *l);
static inline void tm_spin_lock(tm_spin *l)
{
    uint32_t expect = 0;
    if (TM_LIKELY(atomic_compare_exchange_strong_explicit(&l->v, &expect, 1, memory_order_acquire,
                                                          memory_order_relaxed)))
        return;
    tm_spin_lock_slow(l);
}
static inline void tm_spin_unlock(tm_spin *l)
{
    atomic_store_explicit(&l->v, 0, memory_order_release);
    if (TM_UNLIKELY(atomic_load_explicit(&l->sleepers, memory_order_relaxed)))
        tm_spin_wake(l);
}
/* Unlock after fork: in the child the sleepers were other threads, gone. */
static inline void tm_spin_unlock_fork(tm_spin *l, int child)
{
    if (child)
        atomic_store_explicit(&l->sleepers, 0, memory_order_relaxed);
    tm_spin_unlock(l);
}

/* --- sampling (sampling.c) ------------------------------------------------
 * With sample_rate R > 0 a block of s bytes is traced with probability
 * 1 - exp(-s/R) (tm/sample.h): tm_sample_take decides, from this thread's
 * byte countdown.  Blocks not taken cost that subtraction and nothing else;
 * their free costs one load from the sampled-block filter. */
extern TM_TLS __thread uint64_t tm_smp_left TM_HIDDEN; /* bytes to the next sample */
TM_HIDDEN int tm_sample_slow(size_t n);
/* 1: trace this block of n bytes: it reaches the countdown (n >= left:
 * one compare on the common path).  Call only when sample_rate != 0. */
static inline int tm_sample_take(size_t n)
{
    uint64_t left = tm_smp_left;
    if (TM_LIKELY(n < left)) {
        tm_smp_left = left - n;
        return 0;
    }
    return tm_sample_slow(n);
}
static inline uint64_t tm_sample_rate(void)
{
    return __atomic_load_n(&tm_rec_cfg.sample_rate, __ATOMIC_RELAXED);
}
/* What a traced block of size bytes adds to traced current: size when
 * tracing every block, else its estimate size / p(size) (tm/sample.h), so
 * that the per-shard totals, and traced current and peak, are estimates of
 * the true ones.  Deterministic per size: a removal subtracts exactly what
 * the insertion added. */
TM_HIDDEN uint64_t tm_sample_counted(uint64_t size);
static inline uint64_t tm_rec_counted(uint64_t size)
{
    return TM_LIKELY(!tm_sample_rate()) ? size : tm_sample_counted(size);
}
TM_HIDDEN void tm_sample_fork_child(void); /* reseeds this thread */
/* Parses TM_SAMPLE / --sample text (tm_size.h, at least 1 byte). */
TM_HIDDEN int tm_sample_parse(uint64_t *out, const char *text, char *msg, size_t msglen);
/* TM_SAMPLE_SEED (tests): every thread's seed from it and its start order. */
extern uint64_t tm_smp_seed TM_HIDDEN;
extern int tm_smp_seed_set TM_HIDDEN;

/* The sampled-block filter: one bit per hash of the address, set while a
 * traced block of domain 0 may hash there.  Clear means "no traced block
 * here": free skips the live table.  The bits are what every free reads,
 * 8 KiB that stay in the first-level cache (a byte per slot, 64 KiB, missed
 * it on most frees: 0.84 misses per free under cachegrind).  live.c keeps it
 * (only while sampling) through tm_sfilter_add/remove, which count the
 * blocks per slot under one lock: a block's bit is set before the program
 * can see the block, and cleared only when no traced block is left there. */
#define TM_SFILTER_BITS 16
#define TM_SFILTER_SIZE (1u << TM_SFILTER_BITS)
extern _Atomic uint64_t tm_sfilter[TM_SFILTER_SIZE / 64] TM_HIDDEN;
static inline unsigned tm_sfilter_slot(uintptr_t p)
{
    return (unsigned)(tm_hash_u64(p) >> (64 - TM_SFILTER_BITS));
}
static inline int tm_sfilter_maybe(const void *p)
{
    unsigned slot = tm_sfilter_slot((uintptr_t)p);
    return (int)(atomic_load_explicit(&tm_sfilter[slot / 64], memory_order_relaxed) >>
                 (slot % 64)) &
        1;
}
TM_HIDDEN void tm_sfilter_add(uintptr_t p);
TM_HIDDEN void tm_sfilter_remove(uintptr_t p);
TM_HIDDEN void tm_sfilter_clear(void);
TM_HIDDEN void tm_sfilter_lock(void); /* fork: tm_live_lock_all */
TM_HIDDEN void tm_sfilter_unlock(int child);
/* This thread's counts (tests and benches): blocks sampled; frees the
 * filter sent to the live table (sampled blocks and false positives). */
enum { TM_SSTAT_SAMPLED, TM_SSTAT_FREE_CHECKED, TM_SSTAT_COUNT };
extern TM_TLS __thread uint64_t tm_smp_stat[TM_SSTAT_COUNT] TM_HIDDEN;
TM_HIDDEN void tm_sample_stats(uint64_t out[TM_SSTAT_COUNT]);

/* --- live table (live.c) ---------------------------------------------------- */
typedef struct tm_live_entry {
    uintptr_t ptr;
    uint64_t size;
    uint32_t stack;
    uint32_t domain;
} tm_live_entry;

/* Inserts or replaces; updates the counters.  Returns 0 or -1 (no memory). */
TM_HIDDEN int tm_live_insert(uintptr_t ptr, uint32_t domain, uint64_t size, uint32_t stack);
/* Removes; fills *old if given.  Returns 1 if it was there. */
TM_HIDDEN int tm_live_remove(uintptr_t ptr, uint32_t domain, tm_live_entry *old);
/* Starts loading the cache line where (ptr, domain) would be inserted. */
TM_HIDDEN void tm_live_prefetch(uintptr_t ptr, uint32_t domain);
TM_HIDDEN int tm_live_find(uintptr_t ptr, uint32_t domain, tm_live_entry *out);
TM_HIDDEN void tm_live_clear(void);
/* Calls fn for every entry, one shard at a time, with the shard locked:
 * fn must not allocate through a hook (the caller sets the guard). */
TM_HIDDEN void tm_live_foreach(void (*fn)(const tm_live_entry *, void *), void *arg);
TM_HIDDEN size_t tm_live_count(void);
/* Sum of the sizes of the live blocks: exact when no hook runs meanwhile
 * (each shard's total is updated under its lock). */
TM_HIDDEN uint64_t tm_live_bytes(void);
TM_HIDDEN void tm_live_lock_all(void);
TM_HIDDEN void tm_live_unlock_all(int child); /* after fork */
/* For peak.c: the 256 narrow shards only (not the wide table), and the
 * packed entries of one shard, which the caller has locked. */
TM_HIDDEN void tm_live_lock_narrow(void);
TM_HIDDEN void tm_live_unlock_narrow(void);
TM_HIDDEN size_t tm_live_shard_count(unsigned shard);
TM_HIDDEN void tm_live_shard_walk_locked(unsigned shard, void (*entry)(uint64_t, uint64_t, void *),
                                         void *arg);
TM_HIDDEN tm_live_entry tm_live_unpack(uint64_t key, uint64_t val);

/* The wide side table (live_wide.c), same contracts, no counter updates. */
extern _Atomic size_t tm_wide_total TM_HIDDEN; /* entries in it */
TM_HIDDEN int tm_wide_insert(uintptr_t ptr, uint32_t domain, uint64_t size, uint32_t stack,
                             int64_t *delta);
TM_HIDDEN int tm_wide_remove(uintptr_t ptr, uint32_t domain, tm_live_entry *old);
TM_HIDDEN int tm_wide_find(uintptr_t ptr, uint32_t domain, tm_live_entry *out);
TM_HIDDEN void tm_wide_clear(void);
TM_HIDDEN void tm_wide_foreach(void (*fn)(const tm_live_entry *, void *), void *arg);
TM_HIDDEN uint64_t tm_wide_bytes(void);
TM_HIDDEN void tm_wide_lock_all(void);
TM_HIDDEN void tm_wide_unlock_all(int child);

/* --- the live set at the peak (peak.c) ------------------------------------
 * With tm_rec_cfg.peak, each change of a narrow shard since the last new
 * peak is logged under the shard's lock (tm_peak_note, before the change is
 * applied) until the shard freezes its set at the peak; the live set at the
 * peak is rebuilt from the table and the logs. */
#define TM_PEAK_ABSENT UINT64_MAX /* "the key was not in the table" */
extern _Atomic uint64_t tm_peak_gen TM_HIDDEN;
TM_HIDDEN void tm_peak_note(unsigned shard, uint64_t key, uint64_t old); /* shard locked */
TM_HIDDEN void tm_peak_note_wide(void);
TM_HIDDEN void tm_peak_raise(void); /* a new peak (counters.c), or reset/clear */
TM_HIDDEN void tm_peak_start(void);
TM_HIDDEN void tm_peak_thread_end(void);
typedef struct tm_peak_set {
    tm_live_entry *v; /* malloc'ed; the caller frees it */
    size_t n;
    uint64_t bytes;
    int64_t time_ns; /* when the peak was set */
    int inexact;     /* the wide table changed since */
} tm_peak_set;
/* Guard held.  0, -1 when peak tracking is off, -2 out of memory. */
TM_HIDDEN int tm_peak_collect(tm_peak_set *out);

/* --- traced current and peak (counters.c) --------------------------------
 * The exact current is tm_live_bytes() minus the blocks other threads
 * queue (tm_counters_current).  For the peak, each thread batches
 * its deltas in TLS and adds them to the shared `flushed` only when they
 * exceed TM_CNT_BATCH bytes, or when flushed + its own delta would pass the
 * peak (then the peak is raised to the new flushed value).  So the shared
 * cache line is written only at batch boundaries and at new peaks, and
 * flushed + the deltas of all threads is always the exact current: with one
 * thread holding deltas (a single-threaded program) the peak is exact;
 * otherwise it may miss or overstate the true peak by less than
 * TM_CNT_BATCH per other thread with a pending delta, plus the blocks the
 * other threads have freed and still queue (pending.c; a thread flushes its
 * own queue before it raises the peak).  Readers never report a peak below
 * the current. */
#define TM_CNT_BATCH 16384
typedef struct tm_counters {
    _Atomic int64_t flushed;
    _Atomic uint64_t peak;
    _Atomic uint32_t epoch; /* bumped by clear: older TLS deltas are dropped */
} tm_counters;
extern tm_counters tm_rec_cnt TM_HIDDEN;
extern TM_TLS __thread int64_t tm_cnt_delta TM_HIDDEN;
extern TM_TLS __thread uint32_t tm_cnt_epoch TM_HIDDEN;
TM_HIDDEN void tm_counters_slow(int64_t d);
static inline void tm_counters_add(int64_t d)
{
    int64_t nd = tm_cnt_delta + d;
    if (TM_LIKELY(tm_cnt_epoch == atomic_load_explicit(&tm_rec_cnt.epoch, memory_order_relaxed) &&
                  nd <= TM_CNT_BATCH && nd >= -TM_CNT_BATCH &&
                  (d <= 0 ||
                   atomic_load_explicit(&tm_rec_cnt.flushed, memory_order_relaxed) + nd <=
                       (int64_t)atomic_load_explicit(&tm_rec_cnt.peak, memory_order_relaxed)))) {
        tm_cnt_delta = nd;
        return;
    }
    tm_counters_slow(d);
}
TM_HIDDEN uint64_t tm_counters_current(void);
TM_HIDDEN uint64_t tm_counters_peak(uint64_t current); /* never below current */
TM_HIDDEN void tm_counters_reset_peak(void);
TM_HIDDEN void tm_counters_clear(void);      /* with the table: current 0, peak 0 */
TM_HIDDEN void tm_counters_fork_child(void); /* the other threads' deltas are gone */

/* --- stacks and modules (stacks.c) --------------------------------------- */
typedef struct tm_stack_rec {
    uint64_t hash;
    uint32_t nframes;
    uint32_t total;
    uintptr_t pcs[]; /* then uint32_t mods[nframes] */
} tm_stack_rec;

static inline const uint32_t *tm_stack_rec_mods(const tm_stack_rec *r)
{
    return (const uint32_t *)(r->pcs + r->nframes);
}

typedef struct tm_rec_module {
    uintptr_t map_start, map_end; /* whole mapping, for lookup */
    uintptr_t exec_start, exec_end;
    uintptr_t bias;
    const void *link_map;
    uint32_t build_id_len;
    uint8_t build_id[20];
    char path[256];
} tm_rec_module;

/* Returns the stack id (0.. ) or UINT32_MAX if out of memory. */
TM_HIDDEN uint32_t tm_stacks_intern(const uintptr_t *pcs, uint32_t n, uint32_t total);
TM_HIDDEN const tm_stack_rec *tm_stacks_get(uint32_t id);
TM_HIDDEN uint32_t tm_stacks_count(void);
TM_HIDDEN uint32_t tm_modules_count(void);
TM_HIDDEN const tm_rec_module *tm_modules_get(uint32_t id);
TM_HIDDEN void tm_stacks_lock(void); /* fork */
TM_HIDDEN void tm_stacks_unlock(int child);

/* --- unwinding (unwind.c, unwind_alt.c, ehframe.c) ------------------------ */
/* The interned stack id (tm_stacks_intern) of the stack from start, at most
 * max frames, with the configured unwinder; UINT32_MAX if out of memory.
 * Incremental eh walk and per-thread stack-id cache (unwind.c); checked
 * against libgcc and the full walk when tm_rec_cfg.unwind_check is set. */
TM_HIDDEN uint32_t tm_unwind_stack(const tm_regs *start, uint32_t max);
/* Fills pcs[0..max) most recent first with the configured unwinder, without
 * any reuse (eh: the full walk); returns the number stored and sets *total
 * to the full depth (capped at TM_MAX_NFRAME). */
TM_HIDDEN uint32_t tm_unwind(const tm_regs *start, uintptr_t *pcs, uint32_t max, uint32_t *total);
TM_HIDDEN uint32_t tm_unwind_eh_full(const tm_regs *start, uintptr_t *pcs, uint32_t max,
                                     uint32_t *total);
TM_HIDDEN uint32_t tm_unwind_libgcc(const tm_regs *start, uintptr_t *pcs, uint32_t max,
                                    uint32_t *total);
/* Counts of this thread's incremental walks (tests and benches):
 * remembered frames reused, prefixes found changed, stack ids from the
 * cache, stacks hashed and looked up in the stack table. */
enum { TM_USTAT_REUSED, TM_USTAT_STALE, TM_USTAT_HIT, TM_USTAT_INTERN, TM_USTAT_COUNT };
TM_HIDDEN void tm_unwind_stats(uint64_t out[TM_USTAT_COUNT]);
/* Does the stack from start pass through a signal frame (are we in a signal
 * handler)?  The eh walk to the end; 0 where it cannot go on. */
TM_HIDDEN int tm_unwind_crosses_signal(const tm_regs *start);
/* Compares stack sid with libgcc and the full eh walk from start; counts. */
TM_HIDDEN void tm_unwind_check(const tm_regs *start, uint32_t sid, uint32_t max);
TM_HIDDEN void tm_unwind_report(void);

/* Packed CFA rule for one PC (see ehframe.c for the bit layout). */
TM_HIDDEN uint64_t tm_eh_rule(uintptr_t lookup_pc);
TM_HIDDEN size_t tm_eh_cache_memory(void);

/* --- the per-allocation path (record.c) --------------------------------- */
TM_HIDDEN void tm_record_alloc(void *p, size_t size, uint32_t domain, const tm_regs *r);
TM_HIDDEN void tm_thread_buffers_release(void);

/* --- deferred frees (pending.c) ------------------------------------------ */
/* Per thread, in TLS: the last TM_PENDING_DEPTH blocks it freed, still in
 * the live table (0: empty slot).  Written by its thread only; other
 * threads read it to exclude those blocks (in TLS also so that a leak
 * checker sees them as reachable at exit). */
#define TM_PENDING_DEPTH 4
typedef struct tm_pending {
    _Atomic uintptr_t q[TM_PENDING_DEPTH];
    uint32_t pos, n;                /* next slot, slots in use: owner only */
    struct tm_pending *next, *prev; /* registry, under its lock */
} tm_pending;
/* Thread life (unwind.c's per-thread block): from here on, frees of this
 * thread may be deferred; at its end, its queued blocks are released. */
TM_HIDDEN void tm_pending_thread_start(void);
TM_HIDDEN void tm_pending_thread_end(void);
/* Traced free: queues p (prefetching its lines) and untracks the oldest
 * queued block; returns 0 if p must be freed at once. Guard held. */
TM_HIDDEN int tm_pending_defer(void *p);
/* Untracks and releases this thread's queued blocks (takes the guard). */
TM_HIDDEN void tm_pending_flush_own(void);
/* The same, and the ring: everything this thread holds goes back. */
TM_HIDDEN void tm_pending_release_own(void);
TM_HIDDEN int tm_pending_own_nonempty(void);
TM_HIDDEN void tm_real_free(void *p);
/* The real allocator is glibc's malloc (hooks.c): its chunk layout is known. */
extern int tm_alloc_glibc TM_HIDDEN;
extern TM_TLS __thread tm_pending *tm_pending_own TM_HIDDEN;
/* For the untraced paths: blocks queued just before tracing stopped. */
static inline int tm_pending_stuck(void)
{
    tm_pending *s = tm_pending_own;
    return TM_UNLIKELY(s != NULL) && !tm_rec_guard && s->n != 0;
}
/* The blocks queued by the other threads: freed, still in the table.
 * Readers exclude them (the caller flushes its own queue first). */
TM_HIDDEN uint64_t tm_pending_others_bytes(void);
TM_HIDDEN int tm_pending_others_has(uintptr_t p);
/* Copies up to cap of them; returns how many there are. */
TM_HIDDEN size_t tm_pending_others_collect(uintptr_t *out, size_t cap);
TM_HIDDEN size_t tm_pending_others_max(void);
TM_HIDDEN void tm_pending_fork_prepare(void); /* locks the registry */
TM_HIDDEN void tm_pending_fork_after(int child);

/* --- snapshots (dump.c) ------------------------------------------------- */
struct tm_snapshot;
struct tm_error;
/* Caller holds the guard. */
TM_HIDDEN int tm_dump_build(struct tm_snapshot **out, const char *trigger, uint32_t sequence,
                            struct tm_error *err);
/* The live set at the peak (trigger "peak"); TM_EINVAL without TM_PEAK. */
TM_HIDDEN int tm_dump_build_peak(struct tm_snapshot **out, uint32_t sequence, struct tm_error *err);
TM_HIDDEN int tm_dump_write(const char *path, const char *trigger, struct tm_error *err);
/* Next numbered path; returns 0 or -1. */
TM_HIDDEN int tm_dump_numbered_path(char *buf, size_t cap, uint32_t *seq);
/* Writes the end-of-process file (TM_OUTPUT, or STEM.tms in a traced
 * child) with that trigger; says on stderr why it could not. */
TM_HIDDEN void tm_dump_exit(const char *trigger);
TM_HIDDEN void tm_dump_after_fork_child(void);
/* A new attach session (attach.c): its numbered files start at 1 again. */
TM_HIDDEN void tm_dump_restart_numbering(void);
TM_HIDDEN void tm_triggers_start(void); /* background thread, signals */
/* This process writes the exit snapshot (not a vfork child, nor a fork
 * child that is not followed).  Async-signal-safe. */
TM_HIDDEN int tm_rec_is_traced_process(void);
/* With TM_CRASH: this thread's alternate signal stack (a stack overflow is
 * a crash too), set up at its first hook, removed at its end. */
TM_HIDDEN void tm_crash_thread_start(void);
TM_HIDDEN void tm_crash_thread_end(void);
TM_HIDDEN void tm_triggers_after_fork_child(void);

#endif
