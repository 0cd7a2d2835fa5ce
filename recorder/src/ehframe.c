/*
 * The CFA-rule cache (x86-64 only).  For a PC seen for the first time we
 * find its object with _dl_find_object (lock-free, no allocation), binary
 * search the .eh_frame_hdr table, run the CIE and FDE call-frame programs up
 * to the PC and keep only what an unwinder needs: how to compute the CFA
 * (rsp or rbp + offset), where the return address is saved, and where rbp is
 * saved.  The result is packed in 64 bits and cached in a fixed lock-free
 * hash table keyed by PC, so that later unwinds through the same PC cost a
 * probe.  Anything this subset cannot express (DWARF expressions, registers
 * saved in registers) is reported as TM_RULE_STOP; the sigreturn trampoline
 * is recognised by its code bytes, as libgcc does.
 *
 * Rule layout: bit 0 valid; bits 1-2 kind (TM_RULE_*); bit 3 CFA register
 * (0 rsp, 1 rbp); bit 4 rbp saved; bits 8-15 RA offset / 8; bits 16-23 rbp
 * offset / 8 (signed, from the CFA); bits 32-63 CFA offset (signed).
 */
#include <dlfcn.h>
#include <string.h>

#include "ehframe.h"
#include "rec_internal.h"

#define CACHE_BITS 16
#define CACHE_SIZE (1u << CACHE_BITS)
#define CACHE_PROBES 16

typedef struct cache_slot {
    _Atomic uintptr_t key;
    _Atomic uint64_t rule;
} cache_slot;

static cache_slot *cache;
static _Atomic int cache_state; /* 0 none, 1 mapping, 2 ready, 3 failed */

/* --- DWARF reading helpers ----------------------------------------------- */

typedef struct rd {
    const uint8_t *p, *end;
    int bad;
} rd;

static uint64_t rd_uleb(rd *r)
{
    uint64_t v = 0;
    unsigned shift = 0;
    while (r->p < r->end) {
        uint8_t b = *r->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

static int64_t rd_sleb(rd *r)
{
    int64_t v = 0;
    unsigned shift = 0;
    uint8_t b = 0;
    while (r->p < r->end) {
        b = *r->p++;
        if (shift < 64)
            v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40))
                v |= -((int64_t)1 << shift);
            return v;
        }
    }
    r->bad = 1;
    return 0;
}

static uint64_t rd_fixed(rd *r, unsigned n)
{
    if ((size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    memcpy(&v, r->p, n);
    r->p += n;
    return v;
}

/* DW_EH_PE_* encoded pointer.  datarel is relative to `data_base`. */
static uintptr_t rd_encoded(rd *r, uint8_t enc, uintptr_t data_base)
{
    if (enc == 0xff)
        return 0;
    uintptr_t at = (uintptr_t)r->p;
    uint64_t v;
    switch (enc & 0x0f) {
    case 0x00: v = rd_fixed(r, 8); break;
    case 0x01: v = rd_uleb(r); break;
    case 0x02: v = rd_fixed(r, 2); break;
    case 0x03: v = rd_fixed(r, 4); break;
    case 0x04: v = rd_fixed(r, 8); break;
    case 0x09: v = (uint64_t)rd_sleb(r); break;
    case 0x0a: v = (uint64_t)(int64_t)(int16_t)rd_fixed(r, 2); break;
    case 0x0b: v = (uint64_t)(int64_t)(int32_t)rd_fixed(r, 4); break;
    case 0x0c: v = rd_fixed(r, 8); break;
    default: r->bad = 1; return 0;
    }
    switch (enc & 0x70) {
    case 0x00: break;
    case 0x10: v += at; break;
    case 0x30: v += data_base; break;
    default: r->bad = 1; return 0;
    }
    if (enc & 0x80) { /* indirect */
        if (!v) {
            r->bad = 1;
            return 0;
        }
        v = *(const uintptr_t *)v;
    }
    return (uintptr_t)v;
}

/* --- call frame program interpreter -------------------------------------- */

enum { REG_RBP = 6, REG_RSP = 7, REG_RA = 16 };
enum { RULE_SAME = 0, RULE_OFFSET = 1, RULE_UNDEF = 2, RULE_OTHER = 3 };

typedef struct row {
    uint32_t cfa_reg;
    int64_t cfa_off;
    int cfa_expr;
    int rule[17];
    int64_t off[17];
} row;

typedef struct cie_info {
    uint64_t code_align;
    int64_t data_align;
    uint32_t ra_reg;
    uint8_t fde_enc;
    int has_z, signal;
    const uint8_t *insns, *insns_end;
} cie_info;

static void set_reg(row *rw, uint64_t reg, int rule, int64_t off)
{
    if (reg <= 16) {
        rw->rule[reg] = rule;
        rw->off[reg] = off;
    }
}

/* Runs insns until the location passes pc.  Returns 0 or -1 (malformed). */
static int run_program(row *rw, const row *initial, const cie_info *ci, const uint8_t *p,
                       const uint8_t *end, uintptr_t loc, uintptr_t pc)
{
    row stack[8];
    int depth = 0;
    rd r = { p, end, 0 };
    while (r.p < r.end && !r.bad) {
        uint8_t op = *r.p++;
        uint8_t hi = op & 0xc0, lo = op & 0x3f;
        uint64_t reg;
        if (hi == 0x40) {
            loc += lo * ci->code_align;
            if (loc > pc)
                return 0;
            continue;
        }
        if (hi == 0x80) {
            int64_t o = (int64_t)rd_uleb(&r) * ci->data_align;
            set_reg(rw, lo, RULE_OFFSET, o);
            continue;
        }
        if (hi == 0xc0) {
            if (initial && lo <= 16) {
                rw->rule[lo] = initial->rule[lo];
                rw->off[lo] = initial->off[lo];
            }
            continue;
        }
        switch (op) {
        case 0x00: break; /* nop */
        case 0x01:
            loc = rd_encoded(&r, ci->fde_enc, 0);
            if (loc > pc)
                return 0;
            break;
        case 0x02:
            loc += rd_fixed(&r, 1) * ci->code_align;
            if (loc > pc)
                return 0;
            break;
        case 0x03:
            loc += rd_fixed(&r, 2) * ci->code_align;
            if (loc > pc)
                return 0;
            break;
        case 0x04:
            loc += rd_fixed(&r, 4) * ci->code_align;
            if (loc > pc)
                return 0;
            break;
        case 0x05: /* offset_extended */
            reg = rd_uleb(&r);
            set_reg(rw, reg, RULE_OFFSET, (int64_t)rd_uleb(&r) * ci->data_align);
            break;
        case 0x06: /* restore_extended */
            reg = rd_uleb(&r);
            if (initial && reg <= 16) {
                rw->rule[reg] = initial->rule[reg];
                rw->off[reg] = initial->off[reg];
            }
            break;
        case 0x07: set_reg(rw, rd_uleb(&r), RULE_UNDEF, 0); break; /* undefined */
        case 0x08: set_reg(rw, rd_uleb(&r), RULE_SAME, 0); break;  /* same_value */
        case 0x09:
            reg = rd_uleb(&r);
            rd_uleb(&r);
            set_reg(rw, reg, RULE_OTHER, 0);
            break;
        case 0x0a: /* remember_state */
            if (depth == 8)
                return -1;
            stack[depth++] = *rw;
            break;
        case 0x0b: /* restore_state */
            if (depth == 0)
                return -1;
            {
                /* The CFA is not part of the remembered state in libgcc's
                 * reading either; both restore it, so do the same. */
                *rw = stack[--depth];
            }
            break;
        case 0x0c:
            rw->cfa_reg = (uint32_t)rd_uleb(&r);
            rw->cfa_off = (int64_t)rd_uleb(&r);
            rw->cfa_expr = 0;
            break;
        case 0x0d:
            rw->cfa_reg = (uint32_t)rd_uleb(&r);
            rw->cfa_expr = 0;
            break;
        case 0x0e: rw->cfa_off = (int64_t)rd_uleb(&r); break;
        case 0x0f: {
            uint64_t n = rd_uleb(&r);
            r.p += n;
            rw->cfa_expr = 1;
            break;
        }
        case 0x10: {
            reg = rd_uleb(&r);
            uint64_t n = rd_uleb(&r);
            r.p += n;
            set_reg(rw, reg, RULE_OTHER, 0);
            break;
        }
        case 0x11:
            reg = rd_uleb(&r);
            set_reg(rw, reg, RULE_OFFSET, rd_sleb(&r) * ci->data_align);
            break;
        case 0x12:
            rw->cfa_reg = (uint32_t)rd_uleb(&r);
            rw->cfa_off = rd_sleb(&r) * ci->data_align;
            rw->cfa_expr = 0;
            break;
        case 0x13: rw->cfa_off = rd_sleb(&r) * ci->data_align; break;
        case 0x14:
            reg = rd_uleb(&r);
            rd_uleb(&r);
            set_reg(rw, reg, RULE_OTHER, 0);
            break;
        case 0x15:
            reg = rd_uleb(&r);
            rd_sleb(&r);
            set_reg(rw, reg, RULE_OTHER, 0);
            break;
        case 0x16: {
            reg = rd_uleb(&r);
            uint64_t n = rd_uleb(&r);
            r.p += n;
            set_reg(rw, reg, RULE_OTHER, 0);
            break;
        }
        case 0x2e: rd_uleb(&r); break; /* GNU_args_size */
        case 0x2f:                     /* GNU_negative_offset_extended */
            reg = rd_uleb(&r);
            set_reg(rw, reg, RULE_OFFSET, -(int64_t)rd_uleb(&r) * ci->data_align);
            break;
        default: return -1;
        }
        if (r.p > r.end)
            return -1;
    }
    return r.bad ? -1 : 0;
}

static int parse_cie(const uint8_t *cie, cie_info *ci)
{
    rd r = { cie, cie + 4, 0 };
    uint64_t len = rd_fixed(&r, 4);
    if (len == 0xffffffffu)
        return -1;
    r.end = r.p + len;
    if (rd_fixed(&r, 4) != 0)
        return -1; /* not a CIE (64-bit DWARF is not used on x86-64) */
    unsigned version = (unsigned)rd_fixed(&r, 1);
    const char *aug = (const char *)r.p;
    size_t auglen = strnlen(aug, (size_t)(r.end - r.p));
    r.p += auglen + 1;
    ci->code_align = rd_uleb(&r);
    ci->data_align = rd_sleb(&r);
    ci->ra_reg = version == 1 ? (uint32_t)rd_fixed(&r, 1) : (uint32_t)rd_uleb(&r);
    ci->fde_enc = 0;
    ci->has_z = 0;
    ci->signal = 0;
    const uint8_t *after_aug = NULL;
    for (size_t i = 0; i < auglen && !r.bad; i++) {
        switch (aug[i]) {
        case 'z': {
            uint64_t n = rd_uleb(&r);
            ci->has_z = 1;
            after_aug = r.p + n;
            break;
        }
        case 'R': ci->fde_enc = (uint8_t)rd_fixed(&r, 1); break;
        case 'L': rd_fixed(&r, 1); break;
        case 'P': {
            uint8_t e = (uint8_t)rd_fixed(&r, 1);
            rd_encoded(&r, (uint8_t)(e & 0x7f), 0);
            break;
        }
        case 'S': ci->signal = 1; break;
        case 'B': break;
        default:
            if (!after_aug)
                return -1;
            i = auglen; /* unknown letter: 'z' lets us skip the rest */
        }
    }
    if (after_aug)
        r.p = after_aug;
    if (r.bad || r.p > r.end || ci->ra_reg != REG_RA)
        return -1;
    ci->insns = r.p;
    ci->insns_end = r.end;
    return 0;
}

static uint64_t pack_rule(unsigned kind, const row *rw)
{
    uint64_t v = 1u | (kind << 1);
    if (kind != TM_RULE_NORMAL)
        return v;
    if (rw->cfa_expr || (rw->cfa_reg != REG_RSP && rw->cfa_reg != REG_RBP) ||
        rw->cfa_off < INT32_MIN || rw->cfa_off > INT32_MAX)
        return 1u | (TM_RULE_STOP << 1);
    if (rw->rule[REG_RA] == RULE_UNDEF)
        return 1u | (TM_RULE_END << 1);
    if (rw->rule[REG_RA] != RULE_OFFSET || rw->off[REG_RA] % 8 || rw->off[REG_RA] / 8 < -128 ||
        rw->off[REG_RA] / 8 > 127)
        return 1u | (TM_RULE_STOP << 1);
    if (rw->cfa_reg == REG_RBP)
        v |= 1u << 3;
    v |= (uint64_t)(uint8_t)(int8_t)(rw->off[REG_RA] / 8) << 8;
    if (rw->rule[REG_RBP] == RULE_OFFSET) {
        if (rw->off[REG_RBP] % 8 || rw->off[REG_RBP] / 8 < -128 || rw->off[REG_RBP] / 8 > 127)
            return 1u | (TM_RULE_STOP << 1);
        v |= 1u << 4;
        v |= (uint64_t)(uint8_t)(int8_t)(rw->off[REG_RBP] / 8) << 16;
    } else if (rw->rule[REG_RBP] == RULE_OTHER) {
        return 1u | (TM_RULE_STOP << 1);
    }
    v |= (uint64_t)(uint32_t)(int32_t)rw->cfa_off << 32;
    return v;
}

static int is_sigreturn(uintptr_t pc, const struct dl_find_object *fo)
{
    static const uint8_t code[9] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };
    if (pc < (uintptr_t)fo->dlfo_map_start || pc + sizeof(code) > (uintptr_t)fo->dlfo_map_end)
        return 0;
    return memcmp((const void *)pc, code, sizeof(code)) == 0;
}

/* Computes the rule for lookup_pc without the cache. */
static uint64_t compute_rule(uintptr_t lookup_pc)
{
    const uint64_t stop = 1u | (TM_RULE_STOP << 1);
    struct dl_find_object fo;
    if (_dl_find_object((void *)lookup_pc, &fo) != 0)
        return stop;
    if (is_sigreturn(lookup_pc + 1, &fo) || is_sigreturn(lookup_pc, &fo))
        return 1u | (TM_RULE_SIGNAL << 1);
    const uint8_t *hdr = fo.dlfo_eh_frame;
    if (!hdr || hdr[0] != 1)
        return stop;
    rd r = { hdr + 4, (const uint8_t *)fo.dlfo_map_end, 0 };
    rd_encoded(&r, hdr[1], (uintptr_t)hdr); /* eh_frame_ptr */
    uint64_t count = rd_encoded(&r, hdr[2], (uintptr_t)hdr);
    if (r.bad || hdr[3] != 0x3b || count == 0) /* datarel|sdata4 */
        return stop;
    const int32_t *tab = (const int32_t *)r.p;
    uintptr_t base = (uintptr_t)hdr;
    size_t lo = 0, hi = count;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (base + (intptr_t)tab[2 * mid] <= lookup_pc)
            lo = mid;
        else
            hi = mid;
    }
    if (base + (intptr_t)tab[2 * lo] > lookup_pc)
        return stop;
    const uint8_t *fde = (const uint8_t *)(base + (intptr_t)tab[2 * lo + 1]);
    rd f = { fde, fde + 4, 0 };
    uint64_t len = rd_fixed(&f, 4);
    if (len == 0xffffffffu)
        return stop; /* 64-bit DWARF: not produced for x86-64 .eh_frame */
    f.end = f.p + len;
    const uint8_t *cie_ptr_at = f.p;
    uint32_t cie_off = (uint32_t)rd_fixed(&f, 4);
    if (!cie_off)
        return stop;
    cie_info ci;
    if (parse_cie(cie_ptr_at - cie_off, &ci) < 0)
        return stop;
    uintptr_t pc_begin = rd_encoded(&f, ci.fde_enc, 0);
    uintptr_t pc_range = rd_encoded(&f, (uint8_t)(ci.fde_enc & 0x0f), 0);
    if (f.bad || lookup_pc < pc_begin || lookup_pc - pc_begin >= pc_range)
        return stop;
    if (ci.has_z)
        f.p += rd_uleb(&f);
    if (f.bad || f.p > f.end)
        return stop;
    row initial, rw;
    memset(&initial, 0, sizeof(initial));
    if (run_program(&initial, NULL, &ci, ci.insns, ci.insns_end, pc_begin, UINTPTR_MAX) < 0)
        return stop;
    rw = initial;
    if (run_program(&rw, &initial, &ci, f.p, f.end, pc_begin, lookup_pc) < 0)
        return stop;
    return pack_rule(TM_RULE_NORMAL, &rw);
}

static int cache_ready(void)
{
    int st = atomic_load_explicit(&cache_state, memory_order_acquire);
    if (TM_LIKELY(st == 2))
        return 1;
    if (st == 0) {
        int expect = 0;
        if (atomic_compare_exchange_strong(&cache_state, &expect, 1)) {
            cache = tm_rmem_map(CACHE_SIZE * sizeof(cache_slot));
            atomic_store_explicit(&cache_state, cache ? 2 : 3, memory_order_release);
            return cache != NULL;
        }
    }
    return 0;
}

uint64_t tm_eh_rule(uintptr_t lookup_pc)
{
    if (TM_UNLIKELY(!cache_ready()))
        return compute_rule(lookup_pc);
    uint64_t h = (uint64_t)lookup_pc * 0x9e3779b97f4a7c15ULL;
    size_t i = (size_t)(h >> (64 - CACHE_BITS));
    for (int k = 0; k < CACHE_PROBES; k++, i = (i + 1) & (CACHE_SIZE - 1)) {
        uintptr_t key = atomic_load_explicit(&cache[i].key, memory_order_acquire);
        if (key == lookup_pc) {
            uint64_t v = atomic_load_explicit(&cache[i].rule, memory_order_acquire);
            if (v)
                return v;
            break; /* being filled by another thread */
        }
        if (key == 0) {
            uint64_t v = compute_rule(lookup_pc);
            uintptr_t expect = 0;
            if (atomic_compare_exchange_strong_explicit(&cache[i].key, &expect, lookup_pc,
                                                        memory_order_acq_rel, memory_order_acquire))
                atomic_store_explicit(&cache[i].rule, v, memory_order_release);
            return v;
        }
    }
    return compute_rule(lookup_pc);
}

size_t tm_eh_cache_memory(void)
{
    return cache ? CACHE_SIZE * sizeof(cache_slot) : 0;
}
