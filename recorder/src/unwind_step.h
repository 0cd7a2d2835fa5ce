/* One step of the .eh_frame walk, shared by the full and the incremental
 * unwinder (x86-64). */
#ifndef TM_REC_UNWIND_STEP_H
#define TM_REC_UNWIND_STEP_H

#include <sys/ucontext.h>

#include "ehframe.h"
#include "rec_internal.h"

#define TM_MAX_STACK_SPAN ((uintptr_t)1 << 30)

enum { TM_STEP_OK = 0, TM_STEP_END = 1, TM_STEP_SIGNAL = 2 };

/* What a step read from the stack: the return address (slot 0: none read)
 * and the caller's rbp (slot 0: rbp unchanged).  Re-reading the same slots
 * and finding the same values means the step would give the same caller. */
typedef struct tm_step_reads {
    uintptr_t ra_slot, ra;
    uintptr_t bp_slot, bp;
    int cfa_rbp; /* the CFA came from rbp: the frame's rbp mattered */
} tm_step_reads;

/* The PC whose rule applies: a return address is looked up one byte back
 * (inside the call), an interrupted instruction as is. */
static inline uintptr_t tm_rule_pc(uintptr_t pc, int sig)
{
    return sig ? pc : pc - 1;
}

/* Advances (pc, sp, bp) to the caller with rule, the rule of
 * tm_rule_pc(*pc, *sig).  *sig says that pc is an interrupted instruction,
 * not a return address (the frame below was a signal frame). */
static inline int tm_eh_step_with(uint64_t rule, uintptr_t *pc, uintptr_t *sp, uintptr_t *bp,
                                  int *sig, tm_step_reads *rd)
{
    unsigned kind = tm_rule_kind(rule);
    rd->ra_slot = rd->bp_slot = 0;
    rd->cfa_rbp = 0;
    if (TM_LIKELY(kind == TM_RULE_NORMAL)) {
        rd->cfa_rbp = tm_rule_cfa_rbp(rule);
        uintptr_t cfa = (rd->cfa_rbp ? *bp : *sp) + (uintptr_t)tm_rule_cfa_off(rule);
        if (cfa <= *sp || cfa - *sp > TM_MAX_STACK_SPAN || (cfa & 7))
            return TM_STEP_END;
        rd->ra_slot = cfa + (uintptr_t)tm_rule_ra_off(rule);
        uintptr_t ra = *(const uintptr_t *)rd->ra_slot;
        rd->ra = ra;
        if (tm_rule_rbp_saved(rule)) {
            rd->bp_slot = cfa + (uintptr_t)tm_rule_rbp_off(rule);
            *bp = rd->bp = *(const uintptr_t *)rd->bp_slot;
        }
        *sp = cfa;
        *pc = ra;
        *sig = 0;
        return ra ? TM_STEP_OK : TM_STEP_END;
    }
    if (kind == TM_RULE_SIGNAL) {
        const ucontext_t *uc = (const ucontext_t *)*sp;
        *pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
        *sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
        *bp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
        *sig = 1;
        return *pc ? TM_STEP_SIGNAL : TM_STEP_END;
    }
    return TM_STEP_END;
}

static inline int tm_eh_step(uintptr_t *pc, uintptr_t *sp, uintptr_t *bp, int *sig,
                             tm_step_reads *rd)
{
    return tm_eh_step_with(tm_eh_rule(tm_rule_pc(*pc, *sig)), pc, sp, bp, sig, rd);
}

#endif
