#include <stdio.h>

#include "rec_expect.h"

int rec_verify(const tm_snapshot *s, const rec_site *sites, size_t n, const char *what)
{
    const tm_trace *tr = tm_snapshot_traces(s);
    const tm_frame *fr = tm_snapshot_frames(s);
    const tm_module *mods = tm_snapshot_modules(s);
    size_t nmod = tm_snapshot_module_count(s);
    size_t nt = tm_snapshot_trace_count(s);
    int bad = 0;
    uint32_t frames[64];
    for (size_t k = 0; k < n; k++) {
        uint64_t count = 0, size = 0;
        for (size_t i = 0; i < nt; i++) {
            size_t d = tm_snapshot_stack_frames(frames, 64, s, tr[i].stack);
            if (d > 64)
                d = 64;
            if (sites[k].idx >= d)
                continue;
            const tm_frame *f = &fr[frames[sites[k].idx]];
            uintptr_t pc = f->module != TM_NONE && f->module < nmod
                ? (uintptr_t)(mods[f->module].load_bias + f->offset)
                : (uintptr_t)f->offset;
            if (pc == sites[k].ra) {
                count++;
                size += tr[i].size;
            }
        }
        int ok = count == sites[k].count && size == sites[k].size;
        fprintf(stderr,
                "%s: site %-14s frame %u: count %llu (expected %llu), size %llu "
                "(expected %llu) %s\n",
                what, sites[k].name, sites[k].idx, (unsigned long long)count,
                (unsigned long long)sites[k].count, (unsigned long long)size,
                (unsigned long long)sites[k].size, ok ? "ok" : "MISMATCH");
        bad += !ok;
    }
    return bad;
}
