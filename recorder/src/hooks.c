/*
 * The interposed allocation functions.  Each one forwards to the next
 * definition in symbol lookup order (glibc, or a sanitizer runtime) found
 * with dlsym(RTLD_NEXT); while dlsym itself allocates, requests are served
 * from a small static arena.  A thread-local re-entrancy guard (initial-exec
 * TLS: no allocation on first access) sends every allocation made while the
 * recorder runs straight to the real allocator, untraced: this covers the
 * recorder's own snapshot code, dlsym, libgcc, and signal handlers that
 * interrupt a hook.
 *
 * Frees untrack *before* the block goes back to the allocator, and reallocs
 * untrack the old block before calling the real realloc, so that another
 * thread that receives the same address never has its entry removed.  A
 * traced free defers both steps by a few frees (pending.c): the table sees
 * each thread's frees in program order, and readers exclude the blocks
 * still queued.
 *
 * When sampling (sampling.c), an allocation that the countdown does not
 * take goes to the real allocator at once (TAKE), and a free whose address
 * the sampled-block filter has never seen too (UNSAMPLED_FREE): neither
 * unwinds, locks, nor looks at the live table.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec_internal.h"

#define TM_EXPORT __attribute__((visibility("default")))

TM_TLS __thread int tm_rec_guard;
int tm_alloc_glibc;

typedef struct real_fns {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*reallocarray)(void *, size_t, size_t);
    void (*free)(void *);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
} real_fns;

static real_fns real;
static _Atomic int real_ready;
static _Atomic int resolving;

/* --- bootstrap arena ------------------------------------------------------ */

#define ARENA_SIZE (256 * 1024)
static char arena[ARENA_SIZE] __attribute__((aligned(64)));
static _Atomic size_t arena_used;

static inline int in_arena(const void *p)
{
    return (const char *)p >= arena && (const char *)p < arena + ARENA_SIZE;
}

static void *arena_alloc(size_t n, size_t align)
{
    if (align < 16)
        align = 16;
    size_t need = n + align + 16;
    size_t off = atomic_fetch_add(&arena_used, need);
    if (off + need > ARENA_SIZE) {
        static const char msg[] = "tmrecorder: bootstrap arena exhausted\n";
        if (write(2, msg, sizeof(msg) - 1) < 0) {
            /* nothing to do */
        }
        abort();
    }
    uintptr_t p = ((uintptr_t)(arena + off + 16) + align - 1) & ~(uintptr_t)(align - 1);
    ((size_t *)p)[-1] = n;
    return (void *)p; /* static storage: already zero */
}

static inline size_t arena_size(const void *p)
{
    return ((const size_t *)p)[-1];
}

static void resolve(void)
{
    int expect = 0;
    if (!atomic_compare_exchange_strong(&resolving, &expect, 1)) {
        /* Another thread resolves; wait for it (only at process start). */
        while (!atomic_load(&real_ready))
            ;
        return;
    }
    tm_rec_guard++;
    /* Loaded by dlopen (tmrun -p: attach.c), we are not in the lookup order
     * of the program: the real functions are the ones it binds to. */
    void *const h = tm_hooks_interposing() ? RTLD_NEXT : RTLD_DEFAULT;
    real_fns r;
    r.malloc = (void *(*)(size_t))dlsym(h, "malloc");
    r.calloc = (void *(*)(size_t, size_t))dlsym(h, "calloc");
    r.realloc = (void *(*)(void *, size_t))dlsym(h, "realloc");
    r.reallocarray = (void *(*)(void *, size_t, size_t))dlsym(h, "reallocarray");
    r.free = (void (*)(void *))dlsym(h, "free");
    r.posix_memalign = (int (*)(void **, size_t, size_t))dlsym(h, "posix_memalign");
    r.memalign = (void *(*)(size_t, size_t))dlsym(h, "memalign");
    r.aligned_alloc = (void *(*)(size_t, size_t))dlsym(h, "aligned_alloc");
    r.valloc = (void *(*)(size_t))dlsym(h, "valloc");
    r.pvalloc = (void *(*)(size_t))dlsym(h, "pvalloc");
    r.malloc_usable_size = (size_t(*)(void *))dlsym(h, "malloc_usable_size");
    if (!r.malloc || !r.calloc || !r.realloc || !r.free || !r.posix_memalign) {
        static const char msg[] = "tmrecorder: cannot find the real malloc with dlsym\n";
        if (write(2, msg, sizeof(msg) - 1) < 0) {
            /* nothing to do */
        }
        abort();
    }
    /* glibc's free, where free and __libc_free are one function: then
     * pending.c may read chunk headers to prefetch what free will touch. */
    void *libc_free = dlsym(h, "__libc_free");
    tm_alloc_glibc = libc_free && libc_free == (void *)r.free;
    real = r;
    atomic_store(&real_ready, 1);
    tm_rec_early_start();
    tm_rec_guard--;
}

static inline int ensure_real(void)
{
    if (TM_LIKELY(atomic_load_explicit(&real_ready, memory_order_acquire)))
        return 1;
    if (atomic_load(&resolving) && tm_rec_guard)
        return 0; /* dlsym is allocating: use the arena */
    resolve();
    return 1;
}

/* Tracing and not re-entered? */
static inline int should_trace(void)
{
    return !tm_rec_guard && atomic_load_explicit(&tm_rec_tracing, memory_order_relaxed);
}

/* Tracing: is this block of n bytes traced (every block, or the sample)? */
static inline int take(size_t n)
{
    return TM_LIKELY(!tm_sample_rate()) || tm_sample_take(n);
}

/* Tracing: can the block at p have a trace?  Not if sampling and the
 * filter has no sampled block there. */
static inline int maybe_traced(const void *p)
{
    if (TM_LIKELY(!tm_sample_rate()))
        return 1;
    if (TM_LIKELY(!tm_sfilter_maybe(p)))
        return 0;
    tm_smp_stat[TM_SSTAT_FREE_CHECKED]++;
    return 1;
}

TM_HIDDEN void tm_hooks_resolve(void)
{
    ensure_real();
}

/* Real allocator entry points for the rest of the recorder. */
TM_HIDDEN void tm_real_free(void *p)
{
    if (!p || in_arena(p))
        return;
    if (ensure_real())
        real.free(p);
}

/* --- C allocation functions ------------------------------------------------ */

#define TRACED_ALLOC(expr, size)                                                                   \
    do {                                                                                           \
        tm_regs r_;                                                                                \
        TM_CALLER_REGS(r_);                                                                        \
        tm_rec_guard++;                                                                            \
        void *p_ = (expr);                                                                         \
        if (p_)                                                                                    \
            tm_record_alloc(p_, (size), 0, &r_);                                                   \
        tm_rec_guard--;                                                                            \
        return p_;                                                                                 \
    } while (0)

/* The rare paths of malloc and free, out of line: the hooks' common paths
 * (not tracing, or a block the sample does not take) then need no saved
 * registers, and end in a jump to the allocator.  In a loop bound by cache
 * misses every instruction of a hook delays the next miss: 20 fewer per
 * malloc+free pair were 10-20% of the bench's bare time. */
__attribute__((noinline)) static void *malloc_traced(size_t n, uintptr_t pc, uintptr_t sp,
                                                     uintptr_t bp)
{
    tm_regs r = { pc, sp, bp };
    tm_rec_guard++;
    void *p = real.malloc(n);
    if (p)
        tm_record_alloc(p, n, 0, &r);
    tm_rec_guard--;
    return p;
}

__attribute__((noinline)) static void *malloc_flush(size_t n)
{
    tm_pending_flush_own();
    return real.malloc(n);
}

/* Every case but the sampling one: the caller's registers come from
 * malloc's own frame. */
__attribute__((noinline)) static void *malloc_rest(size_t n, uintptr_t pc, uintptr_t sp,
                                                   uintptr_t bp)
{
    if (TM_UNLIKELY(!ensure_real()))
        return arena_alloc(n, 16);
    if (TM_LIKELY(!tm_rec_guard) && atomic_load_explicit(&tm_rec_tracing, memory_order_relaxed)) {
        if (TM_LIKELY(tm_sample_rate()) && TM_LIKELY(!tm_sample_take(n)))
            return real.malloc(n);
        return malloc_traced(n, pc, sp, bp);
    }
    if (TM_UNLIKELY(tm_pending_stuck()))
        return malloc_flush(n);
    return real.malloc(n);
}

TM_EXPORT void *malloc(size_t n)
{
    /* Sampling, and the countdown does not reach 0: nothing else to do
     * (tracing implies the real functions are resolved). */
    /* Inside the recorder (the guard) the countdown runs on too: the
     * exponential is memoryless, so bytes it counts for no block change
     * nothing of which program block comes next; malloc_rest sees the guard
     * when one reaches 0.  One TLS load fewer on every call. */
    if (TM_LIKELY(atomic_load_explicit(&tm_rec_sampling, memory_order_relaxed)) &&
        TM_LIKELY(n < tm_smp_left)) {
        tm_smp_left -= n;
        return real.malloc(n);
    }
    uintptr_t *fa = (uintptr_t *)__builtin_frame_address(0); /* as TM_CALLER_REGS */
    return malloc_rest(n, fa[1], (uintptr_t)(fa + 2), fa[0]);
}

TM_EXPORT void *calloc(size_t nm, size_t sz)
{
    if (TM_UNLIKELY(!ensure_real())) {
        size_t n;
        if (__builtin_mul_overflow(nm, sz, &n))
            return NULL;
        return arena_alloc(n, 16);
    }
    if (!should_trace() || !take(nm * sz))
        return real.calloc(nm, sz);
    TRACED_ALLOC(real.calloc(nm, sz), nm * sz);
}

/* free(p) + malloc(n) by the rules of each: p untracked if it may have a
 * trace (traced_old), the new block recorded if taken (traced_new). */
static void *realloc_traced(void *p, size_t n, const tm_regs *r, int is_array, size_t nm, size_t sz,
                            int traced_old, int traced_new)
{
    tm_live_entry old;
    int had = p && traced_old ? tm_live_remove((uintptr_t)p, 0, &old) : 0;
    void *q = is_array ? real.reallocarray(p, nm, sz) : real.realloc(p, n);
    if (q) {
        if (traced_new)
            tm_record_alloc(q, n, 0, r);
    } else if (had && n != 0) {
        tm_live_insert(old.ptr, 0, old.size, old.stack); /* p is still valid */
    }
    return q;
}

static void *arena_realloc(void *p, size_t n)
{
    void *q = malloc(n);
    if (q && p)
        memcpy(q, p, arena_size(p) < n ? arena_size(p) : n);
    return q;
}

TM_EXPORT void *realloc(void *p, size_t n)
{
    if (TM_UNLIKELY(!ensure_real()))
        return arena_realloc(p, n);
    if (TM_UNLIKELY(in_arena(p)))
        return arena_realloc(p, n);
    if (!should_trace())
        return real.realloc(p, n);
    int old = p && maybe_traced(p), new = take(n);
    if (!old && !new)
        return real.realloc(p, n);
    tm_regs r;
    TM_CALLER_REGS(r);
    tm_rec_guard++;
    void *q = realloc_traced(p, n, &r, 0, 0, 0, old, new);
    tm_rec_guard--;
    return q;
}

TM_EXPORT void *reallocarray(void *p, size_t nm, size_t sz)
{
    size_t n;
    if (__builtin_mul_overflow(nm, sz, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    if (TM_UNLIKELY(!ensure_real() || in_arena(p) || !real.reallocarray))
        return realloc(p, n);
    if (!should_trace())
        return real.reallocarray(p, nm, sz);
    int old = p && maybe_traced(p), new = take(n);
    if (!old && !new)
        return real.reallocarray(p, nm, sz);
    tm_regs r;
    TM_CALLER_REGS(r);
    tm_rec_guard++;
    void *q = realloc_traced(p, n, &r, 1, nm, sz, old, new);
    tm_rec_guard--;
    return q;
}

__attribute__((noinline)) static void free_traced(void *p)
{
    /* The allocator will read the chunk header: start that miss now so
     * it overlaps with the live-table lookup (or with the thread's next
     * malloc, when the free is deferred). */
    __builtin_prefetch((const char *)p - 16, 1);
    tm_rec_guard++;
    if (TM_LIKELY(tm_pending_defer(p))) {
        tm_rec_guard--;
        return;
    }
    tm_live_remove((uintptr_t)p, 0, NULL);
    tm_rec_guard--;
    real.free(p);
}

/* Sampling: a block the filter may have seen.  Untracked at once, not
 * deferred (pending.c hides the misses of a free on every block; here one
 * free in thousands comes this way), so no sampled free is ever queued. */
__attribute__((noinline)) static void free_sampled(void *p)
{
    if (!p)
        return; /* key 0 would match the table's empty slots */
    tm_smp_stat[TM_SSTAT_FREE_CHECKED]++;
    tm_rec_guard++;
    tm_live_remove((uintptr_t)p, 0, NULL);
    tm_rec_guard--;
    real.free(p);
}

__attribute__((noinline)) static void free_flush(void *p)
{
    tm_pending_flush_own();
    real.free(p);
}

__attribute__((noinline)) static void free_rest(void *p)
{
    if (!p || TM_UNLIKELY(in_arena(p)))
        return;
    if (TM_UNLIKELY(!ensure_real()))
        return;
    if (TM_LIKELY(!tm_rec_guard) && atomic_load_explicit(&tm_rec_tracing, memory_order_relaxed)) {
        if (TM_LIKELY(tm_sample_rate())) {
            if (TM_LIKELY(!tm_sfilter_maybe(p))) {
                real.free(p);
                return;
            }
            free_sampled(p);
            return;
        }
        free_traced(p);
        return;
    }
    if (TM_UNLIKELY(tm_pending_stuck())) {
        free_flush(p);
        return;
    }
    real.free(p);
}

TM_EXPORT void free(void *p)
{
    /* Sampling: one load of the filter says whether p can have a trace
     * (NULL too goes this way: free(NULL) is a no-op either way). */
    if (TM_LIKELY(atomic_load_explicit(&tm_rec_sampling, memory_order_relaxed)) &&
        TM_LIKELY(!tm_sfilter_maybe(p))) {
        if (TM_UNLIKELY((uintptr_t)p - (uintptr_t)arena < ARENA_SIZE))
            return;
        real.free(p);
        return;
    }
    free_rest(p); /* the guard, and a block the filter may have seen */
}

TM_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (TM_UNLIKELY(!ensure_real())) {
        *out = arena_alloc(n, align);
        return 0;
    }
    if (!should_trace() || !take(n))
        return real.posix_memalign(out, align, n);
    tm_regs r;
    TM_CALLER_REGS(r);
    tm_rec_guard++;
    int rc = real.posix_memalign(out, align, n);
    if (rc == 0 && *out)
        tm_record_alloc(*out, n, 0, &r);
    tm_rec_guard--;
    return rc;
}

TM_EXPORT void *memalign(size_t align, size_t n)
{
    if (TM_UNLIKELY(!ensure_real()))
        return arena_alloc(n, align);
    if (!should_trace() || !take(n))
        return real.memalign(align, n);
    TRACED_ALLOC(real.memalign(align, n), n);
}

TM_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (TM_UNLIKELY(!ensure_real()))
        return arena_alloc(n, align);
    if (!should_trace() || !take(n))
        return real.aligned_alloc(align, n);
    TRACED_ALLOC(real.aligned_alloc(align, n), n);
}

TM_EXPORT void *valloc(size_t n)
{
    if (TM_UNLIKELY(!ensure_real()))
        return arena_alloc(n, 4096);
    if (!should_trace() || !take(n))
        return real.valloc(n);
    TRACED_ALLOC(real.valloc(n), n);
}

TM_EXPORT void *pvalloc(size_t n)
{
    if (TM_UNLIKELY(!ensure_real()))
        return arena_alloc((n + 4095) & ~(size_t)4095, 4096);
    if (!should_trace() || !take(n))
        return real.pvalloc(n);
    TRACED_ALLOC(real.pvalloc(n), n);
}

TM_EXPORT size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    if (in_arena(p))
        return arena_size(p);
    if (!ensure_real() || !real.malloc_usable_size)
        return 0;
    return real.malloc_usable_size(p);
}

/* --- C++ operator new / delete ---------------------------------------------
 * Allocation goes straight to the real malloc (or posix_memalign for the
 * aligned forms); only when that fails is libstdc++'s own operator called,
 * outside the guard, so that its new_handler loop and bad_alloc work
 * (an exception must not cross a hook with the guard set). */

static void *cxx_fallback(const char *sym, size_t n, size_t al, int aligned)
{
    void *f = dlsym(tm_hooks_interposing() ? RTLD_NEXT : RTLD_DEFAULT, sym);
    if (!f) {
        static const char msg[] = "tmrecorder: operator new failed and libstdc++ is not loaded\n";
        if (write(2, msg, sizeof(msg) - 1) < 0) {
            /* nothing to do */
        }
        abort();
    }
    if (aligned)
        return ((void *(*)(size_t, size_t))f)(n, al);
    return ((void *(*)(size_t))f)(n);
}

/* operator new(0) must return a unique pointer: ask for 1 byte. */
static inline void *cxx_alloc(size_t n, size_t al, const tm_regs *r)
{
    void *p = NULL;
    tm_rec_guard++;
    if (al) {
        if (al < sizeof(void *))
            al = sizeof(void *);
        if (real.posix_memalign(&p, al, n ? n : 1) != 0)
            p = NULL;
    } else {
        p = real.malloc(n ? n : 1);
    }
    if (p && r)
        tm_record_alloc(p, n, 0, r);
    tm_rec_guard--;
    return p;
}

#define CXX_NEW(name, fallback_sym)                                                                \
    TM_EXPORT void *name(size_t n)                                                                 \
    {                                                                                              \
        ensure_real();                                                                             \
        tm_regs r;                                                                                 \
        TM_CALLER_REGS(r);                                                                         \
        void *p = cxx_alloc(n, 0, should_trace() && take(n) ? &r : NULL);                          \
        return p ? p : cxx_fallback(fallback_sym, n, 0, 0);                                        \
    }
#define CXX_NEW_NOTHROW(name)                                                                      \
    TM_EXPORT void *name(size_t n, const void *nt)                                                 \
    {                                                                                              \
        (void)nt;                                                                                  \
        ensure_real();                                                                             \
        tm_regs r;                                                                                 \
        TM_CALLER_REGS(r);                                                                         \
        return cxx_alloc(n, 0, should_trace() && take(n) ? &r : NULL);                             \
    }
#define CXX_NEW_ALIGNED(name, fallback_sym)                                                        \
    TM_EXPORT void *name(size_t n, size_t al)                                                      \
    {                                                                                              \
        ensure_real();                                                                             \
        tm_regs r;                                                                                 \
        TM_CALLER_REGS(r);                                                                         \
        void *p = cxx_alloc(n, al, should_trace() && take(n) ? &r : NULL);                         \
        return p ? p : cxx_fallback(fallback_sym, n, al, 1);                                       \
    }
#define CXX_NEW_ALIGNED_NOTHROW(name)                                                              \
    TM_EXPORT void *name(size_t n, size_t al, const void *nt)                                      \
    {                                                                                              \
        (void)nt;                                                                                  \
        ensure_real();                                                                             \
        tm_regs r;                                                                                 \
        TM_CALLER_REGS(r);                                                                         \
        return cxx_alloc(n, al, should_trace() && take(n) ? &r : NULL);                            \
    }

CXX_NEW(_Znwm, "_Znwm")
CXX_NEW(_Znam, "_Znam")
CXX_NEW_NOTHROW(_ZnwmRKSt9nothrow_t)
CXX_NEW_NOTHROW(_ZnamRKSt9nothrow_t)
CXX_NEW_ALIGNED(_ZnwmSt11align_val_t, "_ZnwmSt11align_val_t")
CXX_NEW_ALIGNED(_ZnamSt11align_val_t, "_ZnamSt11align_val_t")
CXX_NEW_ALIGNED_NOTHROW(_ZnwmSt11align_val_tRKSt9nothrow_t)
CXX_NEW_ALIGNED_NOTHROW(_ZnamSt11align_val_tRKSt9nothrow_t)

static inline void cxx_delete(void *p)
{
    free(p);
}

TM_EXPORT void _ZdlPv(void *p)
{
    cxx_delete(p);
}
TM_EXPORT void _ZdaPv(void *p)
{
    cxx_delete(p);
}
TM_EXPORT void _ZdlPvm(void *p, size_t n)
{
    (void)n;
    cxx_delete(p);
}
TM_EXPORT void _ZdaPvm(void *p, size_t n)
{
    (void)n;
    cxx_delete(p);
}
TM_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *nt)
{
    (void)nt;
    cxx_delete(p);
}
TM_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *nt)
{
    (void)nt;
    cxx_delete(p);
}
TM_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t al)
{
    (void)al;
    cxx_delete(p);
}
TM_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t al)
{
    (void)al;
    cxx_delete(p);
}
TM_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t al)
{
    (void)n;
    (void)al;
    cxx_delete(p);
}
TM_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t al)
{
    (void)n;
    (void)al;
    cxx_delete(p);
}
TM_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt)
{
    (void)al;
    (void)nt;
    cxx_delete(p);
}
TM_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt)
{
    (void)al;
    (void)nt;
    cxx_delete(p);
}
