/* Packed unwind rules produced by ehframe.c (see its header comment). */
#ifndef TM_REC_EHFRAME_H
#define TM_REC_EHFRAME_H

#include <stdint.h>

enum {
    TM_RULE_NORMAL = 0, /* CFA = reg + off; RA at CFA + ra_off */
    TM_RULE_END = 1,    /* return address undefined: outermost frame */
    TM_RULE_SIGNAL = 2, /* sigreturn trampoline: registers in a ucontext at sp */
    TM_RULE_STOP = 3    /* no FDE, or a rule this unwinder does not support */
};

static inline unsigned tm_rule_kind(uint64_t v)
{
    return (unsigned)(v >> 1) & 3;
}
static inline int tm_rule_cfa_rbp(uint64_t v)
{
    return (int)(v >> 3) & 1;
}
static inline int tm_rule_rbp_saved(uint64_t v)
{
    return (int)(v >> 4) & 1;
}
static inline int64_t tm_rule_ra_off(uint64_t v)
{
    return (int64_t)(int8_t)(uint8_t)(v >> 8) * 8;
}
static inline int64_t tm_rule_rbp_off(uint64_t v)
{
    return (int64_t)(int8_t)(uint8_t)(v >> 16) * 8;
}
static inline int64_t tm_rule_cfa_off(uint64_t v)
{
    return (int64_t)(int32_t)(uint32_t)(v >> 32);
}

#endif
