/*
 * The unwinders other than the incremental one (x86-64), and the checking
 * behind TM_UNWIND_CHECK=1:
 *
 * tm_unwind_eh_full walks every frame with the cached CFA rules of
 * ehframe.c; unwind_fp follows the rbp chain (wrong through code built
 * without frame pointers, kept for comparison); tm_unwind_libgcc uses
 * _Unwind_Backtrace.  tm_unwind_check compares the stack a hook recorded
 * (after the incremental walk and the stack-id cache of unwind.c) with
 * libgcc and with the full eh walk, and counts differences.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <unwind.h>

#include "rec_internal.h"
#include "tm/snapshot.h"
#include "unwind_step.h"

static _Atomic uint64_t check_stacks, check_libgcc_bad, check_full_bad, check_printed;

uint32_t tm_unwind_eh_full(const tm_regs *start, uintptr_t *pcs, uint32_t max, uint32_t *total)
{
    uintptr_t pc = start->pc, sp = start->sp, bp = start->bp;
    tm_step_reads rd;
    int sig = 0;
    uint32_t n = 0, t = 0;
    while (pc && t < TM_MAX_NFRAME) {
        if (n < max)
            pcs[n++] = pc;
        t++;
        if (tm_eh_step(&pc, &sp, &bp, &sig, &rd) == TM_STEP_END)
            break;
    }
    *total = t;
    return n;
}

int tm_unwind_crosses_signal(const tm_regs *start)
{
    uintptr_t pc = start->pc, sp = start->sp, bp = start->bp;
    tm_step_reads rd;
    int sig = 0;
    for (uint32_t t = 0; pc && t < TM_MAX_NFRAME; t++) {
        int st = tm_eh_step(&pc, &sp, &bp, &sig, &rd);
        if (st == TM_STEP_SIGNAL)
            return 1;
        if (st == TM_STEP_END)
            break;
    }
    return 0;
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
        if (bp < sp || bp - sp > TM_MAX_STACK_SPAN || (bp & 7))
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

uint32_t tm_unwind(const tm_regs *start, uintptr_t *pcs, uint32_t max, uint32_t *total)
{
    switch (tm_rec_cfg.unwinder) {
    case TM_UNWIND_FP: return unwind_fp(start, pcs, max, total);
    case TM_UNWIND_LIBGCC: return tm_unwind_libgcc(start, pcs, max, total);
    default: return tm_unwind_eh_full(start, pcs, max, total);
    }
}

static void check_report_one(const char *what, const uintptr_t *a, uint32_t na, uint32_t ta,
                             const uintptr_t *b, uint32_t nb, uint32_t tb)
{
    if (atomic_fetch_add(&check_printed, 1) >= 5)
        return;
    char buf[512];
    int len =
        snprintf(buf, sizeof(buf), "tmrecorder: unwind check: %s differs: n=%u/%u total=%u/%u",
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

static int same_walk(const uintptr_t *a, uint32_t na, uint32_t ta, const uintptr_t *b, uint32_t nb,
                     uint32_t tb)
{
    return na == nb && ta == tb && memcmp(a, b, (size_t)na * sizeof(uintptr_t)) == 0;
}

void tm_unwind_check(const tm_regs *start, uint32_t sid, uint32_t max)
{
    static const uintptr_t none[1];
    const tm_stack_rec *r = sid == UINT32_MAX ? NULL : tm_stacks_get(sid);
    const uintptr_t *pcs = r ? r->pcs : none;
    uint32_t n = r ? r->nframes : 0, total = r ? r->total : 0;
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
