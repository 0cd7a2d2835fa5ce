/*
 * rec_cache: the incremental walk and the per-thread stack-id cache
 * (recorder/src/unwind.c) must give exact stacks when the remembered walk
 * goes stale: the same leaf frame (same pc, sp, bp) reached through a
 * different caller, recursion depth changes, longjmp out of a deep stack,
 * C++ exceptions, signal handlers (also on an alternate stack), threads,
 * and a traceback limit changed while tracing.
 *
 * Every allocation is checked at once: tm_get_object_traceback must equal
 * the stack libgcc's _Unwind_Backtrace gives at the same point (frame 0 in
 * the same function, all the others equal).  At the end the thread's walk
 * counters must show that the cases were really exercised: remembered
 * frames reused, prefixes found stale, and stack ids taken from the cache.
 * rec_cache.sh also runs it with TM_UNWIND_CHECK=1.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unwind.h>

#include "rec_internal.h"
#include "tm/recorder.h"

#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noclone))
#endif
#define MAXF 64

/* Through a volatile pointer: gcc removes a malloc whose block is only freed. */
static void *(*volatile do_malloc)(size_t) = malloc;
static _Atomic int failures, checked;
static _Atomic unsigned limit = MAXF;

typedef struct ref_state {
    uintptr_t pcs[MAXF + 8];
    unsigned n;
} ref_state;

static _Unwind_Reason_Code ref_cb(struct _Unwind_Context *ctx, void *arg)
{
    ref_state *s = arg;
    int before = 0;
    uintptr_t ip = _Unwind_GetIPInfo(ctx, &before);
    if (!ip)
        return _URC_END_OF_STACK;
    if (s->n < MAXF + 8)
        s->pcs[s->n++] = ip;
    return _URC_NO_REASON;
}

static void fail(const char *what, const char *msg, unsigned i, uintptr_t a, uintptr_t b)
{
    if (atomic_fetch_add(&failures, 1) < 10)
        fprintf(stderr, "FAIL: rec_cache: %s: %s (frame %u: %#lx vs %#lx)\n", what, msg, i,
                (unsigned long)a, (unsigned long)b);
}

/* p was allocated by our caller; its recorded stack must be the caller's
 * stack as libgcc sees it from here (minus this frame). */
NOINLINE static void verify(void *p, const char *what)
{
    uintptr_t got[MAXF];
    size_t n = 0, size = 0;
    ref_state ref;
    ref.n = 0;
    _Unwind_Backtrace(ref_cb, &ref);
    if (tm_get_object_traceback(got, MAXF, &n, &size, p) != TM_OK) {
        fail(what, "block not traced", 0, 0, 0);
        return;
    }
    atomic_fetch_add(&checked, 1);
    /* ref[0] is this function, ref[1] the caller after the call to us. */
    unsigned want = ref.n - 1, lim = atomic_load(&limit);
    if (want > lim)
        want = lim;
    if (n != want) {
        fail(what, "frame count differs", (unsigned)n, n, want);
        return;
    }
    if (n &&
        _Unwind_FindEnclosingFunction((void *)(got[0] - 1)) !=
            _Unwind_FindEnclosingFunction((void *)(ref.pcs[1] - 1)))
        fail(what, "frame 0 in another function", 0, got[0], ref.pcs[1]);
    for (unsigned i = 1; i < n; i++)
        if (got[i] != ref.pcs[i + 1]) {
            fail(what, "frames differ", i, got[i], ref.pcs[i + 1]);
            return;
        }
}

NOINLINE static void leaf(const char *what)
{
    void *p = do_malloc(24);
    verify(p, what);
    free(p);
    __asm__ volatile("" ::: "memory");
}

/* --- the same leaf frame through different callers ----------------------- */

NOINLINE static void mid(const char *what)
{
    leaf(what);
    __asm__ volatile("" ::: "memory");
}

/* Identical bodies, so mid and leaf run at the same sp with the same
 * return addresses: only mid's return slot tells the paths apart. */
#define TOP(name)                                                                                  \
    NOINLINE static void name(const char *what)                                                    \
    {                                                                                              \
        mid(what);                                                                                 \
        __asm__ volatile("" ::"r"(#name) : "memory");                                              \
    }
TOP(top_a)
TOP(top_b)
TOP(top_c)

static void case_callers(void)
{
    for (int i = 0; i < 60; i++) {
        switch (i % 5) {
        case 0:
        case 3: top_a("callers a"); break;
        case 1: top_b("callers b"); break;
        case 2: top_c("callers c"); break;
        default: mid("callers mid"); break;
        }
    }
}

/* --- recursion depth ----------------------------------------------------- */

NOINLINE static int rec(int d, const char *what)
{
    int r = 0;
    if (d > 0)
        r = rec(d - 1, what);
    else
        leaf(what);
    if (d == 2)
        leaf(what); /* on the way back up: a shallower stack, same function */
    __asm__ volatile("" : "+r"(r)::"memory");
    return r + 1;
}

static void case_recursion(void)
{
    static const int depths[] = { 5, 3, 5, 8, 1, 8, 3, 0, 12, 2, 12 };
    for (int rep = 0; rep < 4; rep++)
        for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++)
            rec(depths[i], "recursion");
}

/* --- longjmp ------------------------------------------------------------- */

static __thread jmp_buf jump_env;
static volatile int do_jump = 1;

NOINLINE static void dive(int d, const char *what)
{
    if (d > 0) {
        dive(d - 1, what);
    } else {
        leaf(what);
        if (do_jump)
            longjmp(jump_env, 1);
    }
    __asm__ volatile("" ::: "memory");
}

NOINLINE static void jump_once(int i)
{
    if (setjmp(jump_env) == 0)
        dive(i % 7, "longjmp dive");
    /* Below where the abandoned frames were. */
    if (i & 1)
        top_a("after longjmp a");
    else
        rec(i % 4, "after longjmp rec");
}

static void case_longjmp(void)
{
    for (int i = 0; i < 20; i++)
        jump_once(i);
}

/* --- signal handlers ----------------------------------------------------- */

static void on_signal(int sig)
{
    (void)sig;
    leaf("signal handler");
    mid("signal handler mid");
}

NOINLINE static void raise_at(int d)
{
    if (d > 0)
        raise_at(d - 1);
    else
        raise(SIGUSR1);
    __asm__ volatile("" ::: "memory");
}

static void case_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    for (int i = 0; i < 12; i++) {
        raise_at(i % 4);
        top_b("between signals");
    }
    /* On an alternate stack: the handler's frames are nowhere near the
     * remembered walk. */
    static char altstack[64 * 1024];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack), .ss_flags = 0 };
    sigaltstack(&ss, NULL);
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    for (int i = 0; i < 8; i++) {
        raise_at(i % 3);
        leaf("between altstack signals");
    }
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
    signal(SIGUSR1, SIG_DFL);
}

/* --- C++ exceptions (rec_cache_cxx.cpp) ------------------------------------- */

void rec_cache_throw(int depth, void (*cb)(const char *));

static void case_exceptions(void)
{
    for (int i = 0; i < 10; i++) {
        rec_cache_throw(i % 5, leaf);
        top_c("after exception");
    }
}

/* --- limit changes ------------------------------------------------------- */

/* The same few call paths under a limit that changes every few allocations,
 * with the remembered frames below them unchanged throughout. */
NOINLINE static void case_limits(void)
{
    static const unsigned limits[] = { MAXF, 3, MAXF, 1, 5, MAXF, 3 };
    for (int i = 0; i < 70; i++) {
        unsigned l = limits[(i / 5) % 7];
        atomic_store(&limit, l);
        tm_start(l);
        if (i & 1)
            top_a("limits a");
        else
            top_b("limits b");
    }
    atomic_store(&limit, MAXF);
    tm_start(MAXF);
}

/* --- driver ------------------------------------------------------------------ */

static void run_cases(void)
{
    case_callers();
    case_recursion();
    case_longjmp();
    case_exceptions();
}

static void check_stats(const char *who)
{
    uint64_t st[TM_USTAT_COUNT];
    tm_unwind_stats(st);
    printf("rec_cache: %s: %llu walks reused remembered frames, %llu stale prefixes, "
           "%llu stack ids from the cache, %llu interned\n",
           who, (unsigned long long)st[TM_USTAT_REUSED], (unsigned long long)st[TM_USTAT_STALE],
           (unsigned long long)st[TM_USTAT_HIT], (unsigned long long)st[TM_USTAT_INTERN]);
    /* Only the default unwinder has these paths (TM_UNWIND=eh). */
    const char *u = getenv("TM_UNWIND");
    if (u && *u && strcmp(u, "eh") != 0)
        return;
    if (!st[TM_USTAT_REUSED])
        fail(who, "no walk reused remembered frames", 0, 0, 0);
    if (!st[TM_USTAT_STALE])
        fail(who, "no stale prefix was detected: the cases did not exercise it", 0, 0, 0);
    if (!st[TM_USTAT_HIT])
        fail(who, "no stack id came from the cache", 0, 0, 0);
}

static void *thread_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < 3; k++)
        run_cases();
    check_stats("thread");
    return NULL;
}

int main(void)
{
    if (tm_start(MAXF) != TM_OK) {
        fprintf(stderr, "FAIL: rec_cache: tm_start\n");
        return 1;
    }
    run_cases();
    case_signals();
    /* Threads: each has its own remembered walk and cache. */
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        pthread_create(&th[t], NULL, thread_main, NULL);
    run_cases();
    for (int t = 0; t < 2; t++)
        pthread_join(th[t], NULL);
    /* Other limits while tracing (one thread now): a cached id of the same
     * call path under another limit must not be used. */
    for (int k = 0; k < 2; k++) {
        atomic_store(&limit, 3);
        tm_start(3);
        run_cases();
        atomic_store(&limit, MAXF);
        tm_start(MAXF);
        run_cases();
    }
    case_limits();
    check_stats("main");
    int nfail = atomic_load(&failures);
    printf("rec_cache: %d allocations checked, %d failures\n", atomic_load(&checked), nfail);
    fflush(stdout); /* before the recorder's exit report on stderr */
    if (atomic_load(&checked) < 1000) {
        fprintf(stderr, "FAIL: rec_cache: only %d allocations checked\n", atomic_load(&checked));
        return 1;
    }
    return nfail ? 1 : 0;
}
