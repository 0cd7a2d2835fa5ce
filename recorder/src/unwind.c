/*
 * Stack walking from the frame that called a hook (x86-64 only).
 *
 * tm_unwind_eh: the default.  Walks with the cached CFA rules of ehframe.c,
 * and reuses the previous stack of the same thread (DESIGN.md section 3 (a)):
 * each thread remembers, for every frame of its last walk, the register
 * state (pc, sp, bp) and the stack addresses from which the caller's return
 * address and rbp were loaded.  When the new walk reaches a frame whose
 * (pc, sp, bp) equals a remembered one, the rest of the walk is a function
 * of those saved slots alone; if every older slot still holds the value read
 * last time, the remembered frames are copied instead of unwound again (a
 * load and a compare per frame instead of a rule evaluation).  A walk that
 * crossed a signal frame is not remembered.
 *
 * tm_unwind_fp follows the rbp chain (wrong through code built without frame
 * pointers, kept for comparison); tm_unwind_libgcc uses _Unwind_Backtrace.
 * TM_UNWIND_CHECK=1 runs libgcc and the full eh walk next to the chosen
 * unwinder on every stack and counts differences.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ucontext.h>
#include <unistd.h>
#include <unwind.h>

#include "ehframe.h"
#include "rec_internal.h"
#include "tm/snapshot.h"

#define CACHE_FRAMES 256
#define MAX_STACK_SPAN ((uintptr_t)1 << 30)

typedef struct walk {
    uint32_t n;              /* remembered frames; 0 = nothing to reuse */
    uintptr_t pc[CACHE_FRAMES], sp[CACHE_FRAMES], bp[CACHE_FRAMES];
    uintptr_t ra_slot[CACHE_FRAMES], bp_slot[CACHE_FRAMES];
} walk;

typedef struct thread_block {
    size_t bytes;
    uint32_t out_cap;
    uint32_t cur;            /* walks[cur] is the previous walk */
    walk walks[2];
    uintptr_t out[];         /* out_cap entries */
} thread_block;

static TM_TLS __thread thread_block *tls_block;
static pthread_key_t block_key;
static _Atomic int block_key_state;

static _Atomic uint64_t check_stacks, check_libgcc_bad, check_full_bad, check_printed;

static void block_destroy(void *p)
{
    thread_block *b = p;
    if (b == tls_block)
        tls_block = NULL;
    if (b)
        tm_rmem_unmap(b, b->bytes);
}

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
    if (b)
        tm_rmem_unmap(b, b->bytes);
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
        tm_rmem_unmap(b, b->bytes);
    }
}

/* --- one step of the eh walk --------------------------------------------- */

enum { STEP_OK = 0, STEP_END = 1, STEP_SIGNAL = 2 };

/* Advances (pc, sp, bp) to the caller.  *sig says that pc is an
 * interrupted instruction, not a return address.  Slots get the addresses
 * the new pc and bp were loaded from (bp slot 0: bp unchanged). */
static inline int eh_step(uintptr_t *pc, uintptr_t *sp, uintptr_t *bp, int *sig,
                          uintptr_t *ra_slot, uintptr_t *bp_slot)
{
    uint64_t rule = tm_eh_rule(*sig ? *pc : *pc - 1);
    unsigned kind = tm_rule_kind(rule);
    if (TM_LIKELY(kind == TM_RULE_NORMAL)) {
        uintptr_t cfa = (tm_rule_cfa_rbp(rule) ? *bp : *sp) + (uintptr_t)tm_rule_cfa_off(rule);
        if (cfa <= *sp || cfa - *sp > MAX_STACK_SPAN || (cfa & 7))
            return STEP_END;
        *ra_slot = cfa + (uintptr_t)tm_rule_ra_off(rule);
        uintptr_t ra = *(const uintptr_t *)*ra_slot;
        if (tm_rule_rbp_saved(rule)) {
            *bp_slot = cfa + (uintptr_t)tm_rule_rbp_off(rule);
            *bp = *(const uintptr_t *)*bp_slot;
        } else {
            *bp_slot = 0;
        }
        *sp = cfa;
        *pc = ra;
        *sig = 0;
        return ra ? STEP_OK : STEP_END;
    }
    if (kind == TM_RULE_SIGNAL) {
        const ucontext_t *uc = (const ucontext_t *)*sp;
        *pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
        *sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
        *bp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
        *sig = 1;
        return *pc ? STEP_SIGNAL : STEP_END;
    }
    return STEP_END;
}

uint32_t tm_unwind_eh_full(const tm_regs *start, uintptr_t *pcs, uint32_t max,
                           uint32_t *total)
{
    uintptr_t pc = start->pc, sp = start->sp, bp = start->bp, ras, bps;
    int sig = 0;
    uint32_t n = 0, t = 0;
    while (pc && t < TM_MAX_NFRAME) {
        if (n < max)
            pcs[n++] = pc;
        t++;
        if (eh_step(&pc, &sp, &bp, &sig, &ras, &bps) == STEP_END)
            break;
    }
    *total = t;
    return n;
}

/* Does the remembered walk from frame j on still hold?  Returns the first
 * frame index whose slots changed, or w->n if none did. */
static inline uint32_t verify_from(const walk *w, uint32_t j)
{
    for (uint32_t m = j; m + 1 < w->n; m++) {
        if (*(const uintptr_t *)w->ra_slot[m] != w->pc[m + 1])
            return m;
        if (w->bp_slot[m] && *(const uintptr_t *)w->bp_slot[m] != w->bp[m + 1])
            return m;
    }
    /* The last frame ended the walk; if it did so on a zero return address,
     * that slot must still be zero. */
    uint32_t last = w->n - 1;
    if (w->n && w->ra_slot[last] && *(const uintptr_t *)w->ra_slot[last] != 0)
        return last;
    return w->n;
}

/* A walk is remembered only when it ended by itself within CACHE_FRAMES
 * frames and crossed no signal frame, so a remembered walk's total depth is
 * its frame count. */
static uint32_t unwind_eh_incremental(thread_block *b, const tm_regs *start,
                                      uintptr_t *pcs, uint32_t max, uint32_t *total)
{
    const walk *old = &b->walks[b->cur];
    walk *nw = &b->walks[b->cur ^ 1];
    uintptr_t pc = start->pc, sp = start->sp, bp = start->bp;
    int sig = 0, remember = 1;
    uint32_t n = 0, t = 0, ci = 0, min_j = 0;
    while (pc && t < TM_MAX_NFRAME) {
        while (ci < old->n && old->sp[ci] < sp)
            ci++;
        if (!sig && ci < old->n && ci >= min_j && old->sp[ci] == sp && old->pc[ci] == pc &&
            old->bp[ci] == bp) {
            uint32_t bad = verify_from(old, ci);
            if (bad == old->n) {
                uint32_t rest = old->n - ci;
                for (uint32_t m = 0; m < rest && n < max; m++)
                    pcs[n++] = old->pc[ci + m];
                t += rest;
                if (remember && t <= CACHE_FRAMES) {
                    uint32_t k = t - rest;
                    memcpy(&nw->pc[k], &old->pc[ci], rest * sizeof(uintptr_t));
                    memcpy(&nw->sp[k], &old->sp[ci], rest * sizeof(uintptr_t));
                    memcpy(&nw->bp[k], &old->bp[ci], rest * sizeof(uintptr_t));
                    memcpy(&nw->ra_slot[k], &old->ra_slot[ci], rest * sizeof(uintptr_t));
                    memcpy(&nw->bp_slot[k], &old->bp_slot[ci], rest * sizeof(uintptr_t));
                    nw->n = t;
                    b->cur ^= 1;
                }
                *total = t;
                return n;
            }
            min_j = bad + 1;
        }
        if (n < max)
            pcs[n++] = pc;
        uintptr_t ras = 0, bps = 0, cur_pc = pc, cur_sp = sp, cur_bp = bp;
        int st = eh_step(&pc, &sp, &bp, &sig, &ras, &bps);
        if (t < CACHE_FRAMES) {
            nw->pc[t] = cur_pc;
            nw->sp[t] = cur_sp;
            nw->bp[t] = cur_bp;
            nw->ra_slot[t] = ras;
            nw->bp_slot[t] = bps;
        } else {
            remember = 0;
        }
        t++;
        if (st == STEP_SIGNAL)
            remember = 0;
        if (st == STEP_END)
            break;
    }
    nw->n = remember ? t : 0;
    b->cur ^= 1;
    *total = t;
    return n;
}

/* --- frame pointers ------------------------------------------------------ */

static uint32_t unwind_fp(const tm_regs *start, uintptr_t *pcs, uint32_t max, uint32_t *total)
{
    uintptr_t pc = start->pc, sp = start->sp, bp = start->bp;
    uint32_t n = 0, t = 0;
    while (pc && t < TM_MAX_NFRAME) {
        if (n < max)
            pcs[n++] = pc;
        t++;
        if (bp < sp || bp - sp > MAX_STACK_SPAN || (bp & 7))
            break;
        const uintptr_t *f = (const uintptr_t *)bp;
        pc = f[1];
        sp = bp + 16;
        bp = f[0];
    }
    *total = t;
    return n;
}

/* --- libgcc --------------------------------------------------------------- */

typedef struct lg_state {
    uintptr_t start_sp;
    int started;
    uintptr_t *pcs;
    uint32_t max, n, total;
} lg_state;

static _Unwind_Reason_Code lg_cb(struct _Unwind_Context *ctx, void *arg)
{
    lg_state *s = arg;
    /* In the callback, the CFA libgcc reports is that of the frame's callee,
     * that is, the frame's own stack pointer: the hook's caller is the frame
     * whose sp is start_sp. */
    if (!s->started) {
        if (_Unwind_GetCFA(ctx) != s->start_sp)
            return _URC_NO_REASON;
        s->started = 1;
    }
    int before = 0;
    uintptr_t ip = _Unwind_GetIPInfo(ctx, &before);
    if (!ip)
        return _URC_END_OF_STACK;
    if (s->n < s->max)
        s->pcs[s->n++] = ip;
    if (++s->total >= TM_MAX_NFRAME)
        return _URC_END_OF_STACK;
    return _URC_NO_REASON;
}

uint32_t tm_unwind_libgcc(const tm_regs *start, uintptr_t *pcs, uint32_t max, uint32_t *total)
{
    lg_state s = { start->sp, 0, pcs, max, 0, 0 };
    _Unwind_Backtrace(lg_cb, &s);
    *total = s.total;
    return s.n;
}

/* --- dispatch and checking ---------------------------------------------- */

static void check_report_one(const char *what, const uintptr_t *a, uint32_t na, uint32_t ta,
                             const uintptr_t *b, uint32_t nb, uint32_t tb)
{
    if (atomic_fetch_add(&check_printed, 1) >= 5)
        return;
    char buf[512];
    int len = snprintf(buf, sizeof(buf), "tmrecorder: unwind check: %s differs: n=%u/%u total=%u/%u",
                       what, na, nb, ta, tb);
    uint32_t m = na < nb ? na : nb;
    for (uint32_t i = 0; i < m && len < 400; i++)
        if (a[i] != b[i]) {
            len += snprintf(buf + len, sizeof(buf) - len, " first at %u: %#lx vs %#lx", i,
                            (unsigned long)a[i], (unsigned long)b[i]);
            break;
        }
    buf[len++] = '\n';
    if (write(2, buf, (size_t)len) < 0) {
        /* nothing to do */
    }
}

static int same_walk(const uintptr_t *a, uint32_t na, uint32_t ta,
                     const uintptr_t *b, uint32_t nb, uint32_t tb)
{
    return na == nb && ta == tb && memcmp(a, b, (size_t)na * sizeof(uintptr_t)) == 0;
}

static void check_stack(const tm_regs *start, const uintptr_t *pcs, uint32_t n,
                        uint32_t total, uint32_t max)
{
    uintptr_t ref[256];
    uint32_t lim = max < 256 ? max : 256, rt;
    uint32_t cn = n < lim ? n : lim;
    atomic_fetch_add(&check_stacks, 1);
    uint32_t rn = tm_unwind_libgcc(start, ref, lim, &rt);
    if (!same_walk(pcs, cn, total, ref, rn, rt)) {
        atomic_fetch_add(&check_libgcc_bad, 1);
        check_report_one("libgcc", pcs, cn, total, ref, rn, rt);
    }
    rn = tm_unwind_eh_full(start, ref, lim, &rt);
    if (!same_walk(pcs, cn, total, ref, rn, rt)) {
        atomic_fetch_add(&check_full_bad, 1);
        check_report_one("full eh walk", pcs, cn, total, ref, rn, rt);
    }
}

uint32_t tm_unwind(const tm_regs *start, uintptr_t *pcs, uint32_t max, uint32_t *total)
{
    uint32_t n;
    switch (tm_rec_cfg.unwinder) {
    case TM_UNWIND_FP:
        n = unwind_fp(start, pcs, max, total);
        break;
    case TM_UNWIND_LIBGCC:
        n = tm_unwind_libgcc(start, pcs, max, total);
        break;
    default: {
        thread_block *b = tm_rec_cfg.incremental ? block_get(0) : NULL;
        n = b ? unwind_eh_incremental(b, start, pcs, max, total)
              : tm_unwind_eh_full(start, pcs, max, total);
    }
    }
    if (TM_UNLIKELY(tm_rec_cfg.unwind_check))
        check_stack(start, pcs, n, *total, max);
    return n;
}

/* Output buffer for tm_unwind of this thread, with room for max frames. */
uintptr_t *tm_unwind_buffer(uint32_t max)
{
    thread_block *b = block_get(max);
    return b ? b->out : NULL;
}

void tm_unwind_report(void)
{
    if (!tm_rec_cfg.unwind_check || !atomic_load(&check_stacks))
        return;
    char buf[256];
    int len = snprintf(buf, sizeof(buf),
                       "tmrecorder: unwind check: %llu stacks, %llu differ from libgcc, "
                       "%llu differ from the full eh walk\n",
                       (unsigned long long)atomic_load(&check_stacks),
                       (unsigned long long)atomic_load(&check_libgcc_bad),
                       (unsigned long long)atomic_load(&check_full_bad));
    if (write(2, buf, (size_t)len) < 0) {
        /* nothing to do */
    }
}
