/*
 * recorder_parts: where the nanoseconds of one traced malloc+free pair go.
 * Run by recorder_bench (or by hand: recorder_parts [--pairs N] [--live N]
 * [--depth N]).  Linked with the static recorder core, tracing off, so it
 * can call the recorder's internal steps one at a time in the bench's
 * setting: the same 20-frame stacks from four leaf functions, the same
 * 100 k live blocks.  Each step is timed over `pairs` iterations (best of
 * 3) and printed in ns per pair:
 *
 *   malloc+free     the bench loop itself (hooks present, not tracing)
 *   live table      that loop + tm_live_remove + tm_live_insert, minus it
 *   counters        tm_counters_add(+s) and (-s) alone
 *   stack dedup     tm_stacks_intern of an already known stack (hash, probe,
 *                   compare)
 *   stack id        tm_unwind_stack from the leaf, as a hook calls it: the
 *                   incremental walk, then the per-thread stack-id cache
 *   no id cache     the same with the cache off (TM_UNWIND=eh-nocache):
 *                   incremental walk, then hash + dedup of the stack
 *   full walk       tm_unwind_eh_full: every frame from the CFA rules, no
 *                   dedup
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rec_internal.h"

static long opt_pairs = 2000000, opt_live = 100000;
static int opt_depth = 20;

enum { M_ALLOC, M_LIVE, M_COUNTERS, M_INTERN, M_STACK_ID, M_NOCACHE, M_UNWIND_FULL, M_COUNT };

typedef struct work {
    void **slots;
    long nslots;
    uint64_t rng;
    int mode;
    uint32_t sid[4];
    uintptr_t pcs[4][64];
    uint32_t npcs[4], total[4];
} work;

static volatile uint64_t sink;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Regs of the caller (a leaf), as a hook sees them. */
__attribute__((noinline)) static void step_unwind(work *w, int k, int mode)
{
    tm_regs r;
    TM_CALLER_REGS(r);
    if (mode == M_UNWIND_FULL) {
        uint32_t total;
        w->npcs[k] = tm_unwind_eh_full(&r, w->pcs[k], 20, &total);
        w->total[k] = total;
        return;
    }
    tm_rec_cfg.incremental = mode == M_STACK_ID ? 2 : 1;
    sink += tm_unwind_stack(&r, 20);
}

#define LEAF(k)                                                                                    \
    __attribute__((noinline)) static void leaf##k(work *w)                                         \
    {                                                                                              \
        uint64_t r = next_rand(&w->rng);                                                           \
        switch (w->mode) {                                                                         \
        case M_ALLOC:                                                                              \
        case M_LIVE: {                                                                             \
            long slot = (long)(r % (uint64_t)w->nslots);                                           \
            void *old = w->slots[slot];                                                            \
            size_t size = 16 + (size_t)((r >> 32) % 241);                                          \
            if (w->mode == M_LIVE)                                                                 \
                tm_live_remove((uintptr_t)old, 0, NULL);                                           \
            free(old);                                                                             \
            w->slots[slot] = malloc(size);                                                         \
            if (w->mode == M_LIVE)                                                                 \
                tm_live_insert((uintptr_t)w->slots[slot], 0, size, w->sid[k]);                     \
            break;                                                                                 \
        }                                                                                          \
        case M_COUNTERS: {                                                                         \
            int64_t s = 16 + (int64_t)((r >> 32) % 241);                                           \
            tm_counters_add(-s);                                                                   \
            tm_counters_add(s);                                                                    \
            break;                                                                                 \
        }                                                                                          \
        case M_INTERN: sink += tm_stacks_intern(w->pcs[k], w->npcs[k], w->total[k]); break;        \
        default: step_unwind(w, k, w->mode);                                                       \
        }                                                                                          \
        __asm__ volatile("" ::: "memory");                                                         \
    }
LEAF(0)
LEAF(1)
LEAF(2)
LEAF(3)

static double run_mode(work *w, int mode)
{
    w->mode = mode;
    double t0 = now_s();
    for (long i = 0; i < opt_pairs; i++) {
        switch (i & 3) {
        case 0: leaf0(w); break;
        case 1: leaf1(w); break;
        case 2: leaf2(w); break;
        default: leaf3(w); break;
        }
    }
    return (now_s() - t0) / (double)opt_pairs * 1e9;
}

__attribute__((noinline)) static void bottom(work *w)
{
    /* Learn the four stacks (full walks, then interned), fill the live set
     * and the table with it. */
    w->mode = M_UNWIND_FULL;
    leaf0(w);
    leaf1(w);
    leaf2(w);
    leaf3(w);
    for (int k = 0; k < 4; k++)
        w->sid[k] = tm_stacks_intern(w->pcs[k], w->npcs[k], w->total[k]);
    for (long i = 0; i < w->nslots; i++) {
        size_t size = 16 + (size_t)(next_rand(&w->rng) % 241);
        w->slots[i] = malloc(size);
        tm_live_insert((uintptr_t)w->slots[i], 0, size, w->sid[i & 3]);
    }
    static const char *names[M_COUNT] = { "malloc+free", "live",    "counters",   "intern",
                                          "stack_id",    "nocache", "unwind_full" };
    double best[M_COUNT];
    for (int m = 0; m < M_COUNT; m++)
        best[m] = 1e30;
    for (int rep = 0; rep < 3; rep++)
        for (int m = 0; m < M_COUNT; m++) {
            double ns = run_mode(w, m);
            if (ns < best[m])
                best[m] = ns;
        }
    printf("parts frames %u\n", w->total[0]);
    for (int m = 0; m < M_COUNT; m++)
        printf("parts %s %.2f\n", names[m], best[m]);
}

__attribute__((noinline)) static int descend(work *w, int d)
{
    int r = 0;
    if (d > 0)
        r = descend(w, d - 1);
    else
        bottom(w);
    /* Keeps one frame per level: without it gcc turns the recursion into
     * a loop (accumulator), and the stacks would be 6 frames deep. */
    __asm__ volatile("" : "+r"(r)::"memory");
    return r + 1;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--pairs") == 0 && i + 1 < argc)
            opt_pairs = atol(argv[++i]);
        else if (strcmp(argv[i], "--live") == 0 && i + 1 < argc)
            opt_live = atol(argv[++i]);
        else if (strcmp(argv[i], "--depth") == 0 && i + 1 < argc)
            opt_depth = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: recorder_parts [--pairs N] [--live N] [--depth N]\n");
            return 2;
        }
    }
    if (opt_depth < 5 || opt_live < 8 || opt_pairs < 1) {
        fprintf(stderr, "recorder_parts: --depth >= 5, --live >= 8, --pairs >= 1\n");
        return 2;
    }
    tm_rec_init();
    tm_rec_cfg.nframe = 20;
    work w;
    memset(&w, 0, sizeof(w));
    w.nslots = opt_live;
    w.slots = calloc((size_t)w.nslots, sizeof(void *));
    w.rng = 0x9e3779b97f4a7c15ULL;
    if (!w.slots)
        return 1;
    /* 20 frames like a bench worker thread: descend levels, bottom, leaf,
     * main, __libc_start_call_main, __libc_start_main (_start ends it). */
    tm_rec_guard++;
    descend(&w, opt_depth - 7);
    tm_rec_guard--;
    return 0;
}
