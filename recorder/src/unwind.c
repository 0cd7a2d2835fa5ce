/*
 * The stack id of a hook's caller (x86-64): the incremental .eh_frame walk
 * and the per-thread stack-id cache.
 *
 * Each thread keeps its last walk root first (depth 0 = the outermost
 * frame): per frame the register state (pc, sp, bp), and the stack slots
 * its step to the caller read with the values found there, as one list in
 * root-first order: the return address always, the saved rbp only when
 * some frame further out computes its CFA from that rbp (with code built
 * without frame pointers, rbp is an ordinary register whose value does not
 * change the walk; then it is not compared at the match either).  A new walk unwinds from the hook's caller ("fresh"
 * frames) until it reaches a frame whose (pc, sp, bp) equals a remembered
 * one at depth d.  The rest of the walk is a function of that state and of
 * the slots the remembered frames 0..d read; if every one of them still
 * holds the value read then (one load and xor each), frames 0..d are the
 * rest of the stack.  The new walk is then
 * stored in place: only the fresh frames are written, above depth d.
 *
 * Every stored frame gets a generation number, unique in the thread, when
 * it is written; so the generation of frame d names the whole prefix 0..d.
 * The stack id cache maps (that generation, the fresh frames' PCs, the
 * traceback limit) to the interned stack id: a malloc from a known call
 * path costs a few unwinding steps, the prefix check and one cache line,
 * and never hashes the stack.  Stacks are never removed from the stack
 * table, so a cached id never goes stale; an entry whose prefix has been
 * overwritten just never matches again (generations are not reused).
 *
 * A walk that crossed a signal frame, or whose fresh part is longer than
 * CACHE_FRAMES, is not stored (the remembered walk stays as it was).
 */
#include <pthread.h>
#include <string.h>

#include "rec_internal.h"
#include "tm/snapshot.h"
#include "unwind_step.h"

#define CACHE_FRAMES 256
#define SID_BITS 8
#define SID_SLOTS (1u << SID_BITS)
#define SID_FRESH 6 /* longest fresh part the cache holds */
#define RULE_BITS 6 /* per-thread rule cache: 64 PCs */

typedef struct slot_check {
    uintptr_t addr, val;
} slot_check;

typedef struct saved_walk {
    uint32_t n;                     /* frames; 0 = nothing to reuse */
    uint32_t chk_end[CACHE_FRAMES]; /* checks of frames 0..d: chk[0..chk_end[d]) */
    uintptr_t pc[CACHE_FRAMES], sp[CACHE_FRAMES], bp[CACHE_FRAMES];
    uintptr_t bp_mask[CACHE_FRAMES]; /* ~0: the walk from d on depends on bp[d] */
    uint64_t gen[CACHE_FRAMES];
    slot_check chk[2 * CACHE_FRAMES];
} saved_walk;

typedef struct fresh_frame {
    uintptr_t pc, sp, bp;
    tm_step_reads rd;
} fresh_frame;

typedef struct sid_entry {
    uint64_t gen; /* prefix; 0: the fresh frames are the whole stack */
    uint32_t key; /* nfresh | limit << 8; 0 = empty */
    uint32_t sid;
    uintptr_t pc[SID_FRESH];
} sid_entry;

typedef struct rule_entry {
    uintptr_t pc; /* as looked up (tm_rule_pc); 0 = empty */
    uint64_t rule;
} rule_entry;

typedef struct thread_block {
    size_t bytes;
    uint32_t out_cap;
    uint64_t gen_last;
    uint64_t stats[TM_USTAT_COUNT];
    sid_entry cache[SID_SLOTS] __attribute__((aligned(64)));
    /* The fresh frames are mostly the same few functions: their rules from
     * a small direct-mapped table instead of the shared hash table. */
    rule_entry rules[1u << RULE_BITS];
    saved_walk w;
    fresh_frame fresh[CACHE_FRAMES];
    uintptr_t out[]; /* out_cap entries */
} thread_block;

static TM_TLS __thread thread_block *tls_block;
static pthread_key_t block_key;
static _Atomic int block_key_state;

static void block_destroy(void *p)
{
    thread_block *b = p;
    if (b == tls_block)
        tls_block = NULL;
    if (b) {
        tm_rec_guard++;
        tm_pending_thread_end();
        tm_crash_thread_end();
        tm_rec_guard--;
        tm_rmem_unmap(b, b->bytes);
    }
}

/* A replaced block takes the remembered walk and the cache with it: the
 * new one starts empty, with generations counted from 1 again, which is
 * safe because no entry of the old cache survives. */
static thread_block *block_get(uint32_t need_out)
{
    thread_block *b = tls_block;
    if (TM_LIKELY(b && b->out_cap >= need_out))
        return b;
    if (atomic_load(&block_key_state) == 0) {
        int expect = 0;
        if (atomic_compare_exchange_strong(&block_key_state, &expect, 1)) {
            pthread_key_create(&block_key, block_destroy);
            atomic_store(&block_key_state, 2);
        }
    }
    uint32_t cap = need_out < 64 ? 64 : need_out;
    size_t bytes = (sizeof(thread_block) + (size_t)cap * sizeof(uintptr_t) + 4095) & ~(size_t)4095;
    thread_block *nb = tm_rmem_map(bytes);
    if (!nb)
        return NULL;
    nb->bytes = bytes;
    nb->out_cap = (uint32_t)((bytes - sizeof(thread_block)) / sizeof(uintptr_t));
    if (b) {
        tm_rmem_unmap(b, b->bytes);
    } else {
        tm_pending_thread_start(); /* both end with the block (block_destroy) */
        tm_crash_thread_start();
    }
    tls_block = nb;
    if (atomic_load(&block_key_state) == 2)
        pthread_setspecific(block_key, nb);
    return nb;
}

void tm_thread_buffers_release(void)
{
    thread_block *b = tls_block;
    tls_block = NULL;
    if (b) {
        if (atomic_load(&block_key_state) == 2)
            pthread_setspecific(block_key, NULL);
        tm_pending_thread_end();
        tm_crash_thread_end();
        tm_peak_thread_end();
        tm_rmem_unmap(b, b->bytes);
    }
}

/* --- the remembered walk ------------------------------------------------- */

/* -1 if every slot read by frames 0..d still holds its value; otherwise the
 * outermost frame whose reads changed (no match is possible at or above
 * it). */
static inline int32_t prefix_changed(const saved_walk *w, uint32_t d)
{
    uint32_t e = w->chk_end[d], k = 0;
    uintptr_t acc = 0, acc2 = 0;
    /* Two independent chains: the loads overlap. */
    for (; k + 1 < e; k += 2) {
        acc |= *(const uintptr_t *)w->chk[k].addr ^ w->chk[k].val;
        acc2 |= *(const uintptr_t *)w->chk[k + 1].addr ^ w->chk[k + 1].val;
    }
    if (k < e)
        acc |= *(const uintptr_t *)w->chk[k].addr ^ w->chk[k].val;
    if (TM_LIKELY((acc | acc2) == 0))
        return -1;
    for (k = 0; k < e; k++)
        if (*(const uintptr_t *)w->chk[k].addr != w->chk[k].val) {
            int32_t f = 0;
            while (w->chk_end[f] <= k)
                f++;
            return f;
        }
    return (int32_t)d; /* changed back meanwhile: do not trust it */
}

/* Stores the fresh frames f[0..t) (innermost first) above the kept prefix
 * of depth D. */
static void walk_store(thread_block *b, uint32_t D, const fresh_frame *f, uint32_t t)
{
    saved_walk *w = &b->w;
    uint32_t k = D ? w->chk_end[D - 1] : 0;
    uintptr_t out_mask = D ? w->bp_mask[D - 1] : 0; /* of the caller */
    for (uint32_t j = t; j-- > 0;) {
        uint32_t d = D + (t - 1 - j);
        const fresh_frame *fr = &f[j];
        w->pc[d] = fr->pc;
        w->sp[d] = fr->sp;
        w->bp[d] = fr->bp;
        w->gen[d] = ++b->gen_last;
        if (fr->rd.ra_slot) {
            w->chk[k].addr = fr->rd.ra_slot;
            w->chk[k++].val = fr->rd.ra;
        }
        if (fr->rd.bp_slot && out_mask) {
            w->chk[k].addr = fr->rd.bp_slot;
            w->chk[k++].val = fr->rd.bp;
        }
        w->chk_end[d] = k;
        /* bp[d] reaches the caller unchanged unless this step reloaded it. */
        if (fr->rd.cfa_rbp || (!fr->rd.bp_slot && out_mask))
            out_mask = ~(uintptr_t)0;
        else
            out_mask = 0;
        w->bp_mask[d] = out_mask;
    }
    w->n = D + t;
}

static inline uint64_t rule_get(thread_block *b, uintptr_t lpc)
{
    rule_entry *e = &b->rules[(lpc * 0x9e3779b97f4a7c15ULL) >> (64 - RULE_BITS)];
    if (TM_LIKELY(e->pc == lpc))
        return e->rule;
    uint64_t r = tm_eh_rule(lpc);
    e->pc = lpc;
    e->rule = r;
    return r;
}

/* --- stack ids ------------------------------------------------------------ */

static inline sid_entry *sid_slot(thread_block *b, uint64_t gen, const fresh_frame *f, uint32_t t)
{
    uint64_t h = gen * 0x9e3779b97f4a7c15ULL + t;
    for (uint32_t j = 0; j < t; j++)
        h = (h ^ f[j].pc) * 0xff51afd7ed558ccdULL;
    return &b->cache[h >> (64 - SID_BITS)];
}

static inline int sid_match(const sid_entry *e, uint64_t gen, uint32_t key, const fresh_frame *f,
                            uint32_t t)
{
    if (e->gen != gen || e->key != key)
        return 0;
    for (uint32_t j = 0; j < t; j++)
        if (e->pc[j] != f[j].pc)
            return 0;
    return 1;
}

/* The fresh part filled the buffer: finish with a plain walk. */
static uint32_t stack_deep(thread_block *b, const fresh_frame *f, uint32_t t, uintptr_t pc,
                           uintptr_t sp, uintptr_t bp, int sig, uint32_t max)
{
    uint32_t n = 0, total = t;
    for (; n < t && n < max; n++)
        b->out[n] = f[n].pc;
    tm_step_reads rd;
    while (pc && total < TM_MAX_NFRAME) {
        if (n < max)
            b->out[n++] = pc;
        total++;
        if (tm_eh_step(&pc, &sp, &bp, &sig, &rd) == TM_STEP_END)
            break;
    }
    return tm_stacks_intern(b->out, n, total);
}

static uint32_t stack_incremental(thread_block *b, const tm_regs *start, uint32_t max)
{
    saved_walk *w = &b->w;
    fresh_frame *f = b->fresh;
    uintptr_t pc = start->pc, sp = start->sp, bp = start->bp;
    int sig = 0, remember = 1;
    int32_t d = (int32_t)w->n - 1, dlimit = (int32_t)w->n, match = -1;
    uint32_t t = 0;
    while (pc) {
        while (d >= 0 && w->sp[d] < sp)
            d--;
        if (d >= 0 && d < dlimit && w->sp[d] == sp && w->pc[d] == pc &&
            ((w->bp[d] ^ bp) & w->bp_mask[d]) == 0 && !sig) {
            int32_t bad = prefix_changed(w, (uint32_t)d);
            if (bad < 0) {
                match = d;
                break;
            }
            b->stats[TM_USTAT_STALE]++;
            dlimit = bad;
        }
        if (TM_UNLIKELY(t == CACHE_FRAMES))
            return stack_deep(b, f, t, pc, sp, bp, sig, max);
        fresh_frame *fr = &f[t++];
        fr->pc = pc;
        fr->sp = sp;
        fr->bp = bp;
        uint64_t rule = rule_get(b, tm_rule_pc(pc, sig));
        int st = tm_eh_step_with(rule, &pc, &sp, &bp, &sig, &fr->rd);
        if (st == TM_STEP_END)
            break;
        if (st == TM_STEP_SIGNAL)
            remember = 0;
    }
    uint32_t D = (uint32_t)(match + 1);
    uint32_t sid = UINT32_MAX, key = t | max << 8;
    uint64_t gen = D ? w->gen[D - 1] : 0;
    sid_entry *e = NULL;
    if (tm_rec_cfg.incremental > 1 && t <= SID_FRESH) {
        e = sid_slot(b, gen, f, t);
        if (sid_match(e, gen, key, f, t)) {
            sid = e->sid;
            b->stats[TM_USTAT_HIT]++;
        }
    }
    if (sid == UINT32_MAX) {
        uint32_t n = 0;
        for (; n < t && n < max; n++)
            b->out[n] = f[n].pc;
        for (uint32_t k = D; k-- > 0 && n < max;)
            b->out[n++] = w->pc[k];
        sid = tm_stacks_intern(b->out, n, D + t);
        b->stats[TM_USTAT_INTERN]++;
        if (e && sid != UINT32_MAX) {
            e->gen = gen;
            e->key = key;
            e->sid = sid;
            for (uint32_t j = 0; j < t; j++)
                e->pc[j] = f[j].pc;
        }
    }
    if (match >= 0)
        b->stats[TM_USTAT_REUSED]++;
    if (remember)
        walk_store(b, D, f, t);
    return sid;
}

/* --- public to the recorder ---------------------------------------------- */

void tm_unwind_stats(uint64_t out[TM_USTAT_COUNT])
{
    thread_block *b = tls_block;
    for (int k = 0; k < TM_USTAT_COUNT; k++)
        out[k] = b ? b->stats[k] : 0;
}

uint32_t tm_unwind_stack(const tm_regs *start, uint32_t max)
{
    thread_block *b = block_get(max);
    if (TM_UNLIKELY(b == NULL))
        return UINT32_MAX;
    uint32_t sid;
    if (TM_LIKELY(tm_rec_cfg.unwinder == TM_UNWIND_EH && tm_rec_cfg.incremental)) {
        sid = stack_incremental(b, start, max);
    } else {
        uint32_t total, n = tm_unwind(start, b->out, max, &total);
        sid = tm_stacks_intern(b->out, n, total);
    }
    if (TM_UNLIKELY(tm_rec_cfg.unwind_check))
        tm_unwind_check(start, sid, max);
    return sid;
}
