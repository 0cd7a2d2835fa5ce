/*
 * Out-of-memory injection over every exporter: fail the 1st, 2nd, ...
 * allocation until the call succeeds; each failure must be TM_ENOMEM with a
 * message, and (under ASan) nothing may leak.  Run by tests/cli/export_oom.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm/export.h"
#include "tm/snapshot.h"
#include "tm_alloc.h"

static tm_snapshot *make(int variant)
{
    tm_error err;
    tm_snapshot *s;
    if (tm_snapshot_new(&s, &err))
        exit(3);
    uint32_t fn[6], fr[6];
    const char *names[6] = { "main", "a;b", "inner", "outer", "x\ny", "leaf" };
    for (int i = 0; i < 6; i++) {
        tm_snapshot_intern_string(&fn[i], s, names[i], strlen(names[i]), &err);
        tm_frame f = { TM_NONE, fn[i], 0, (uint32_t)i, TM_NONE, 0, (uint64_t)i };
        if (i == 2)
            f.inlined_by = fr[1];
        tm_snapshot_intern_frame(&fr[i], s, &f, &err);
    }
    for (int i = 0; i < 200; i++) {
        uint32_t st[4] = { fr[(i + variant) % 6], fr[(i / 6) % 6], fr[2], fr[0] };
        tm_trace t = { (uint64_t)(i * 8 + variant), 0, 0 };
        if (tm_snapshot_intern_stack(&t.stack, s, st, (size_t)(i % 5), &err) ||
            tm_snapshot_add_trace(s, &t, 4, &err))
            exit(3);
    }
    tm_metadata md = { 0 };
    md.nframe_limit = 4;
    md.snapshot_time_ns = 1000000000LL * (variant + 1);
    md.traced_current = 1000u * (unsigned)(variant + 1);
    md.traced_peak = 2000;
    tm_snapshot_set_metadata(s, &md, &err);
    return s;
}

static int run(int which, tm_snapshot *a, tm_snapshot *b, FILE *out, tm_error *err)
{
    tm_export_options o = TM_EXPORT_OPTIONS_INIT;
    o.progress = TM_EXPORT_PROGRESS_OFF;
    const tm_snapshot *both[2] = { a, b };
    tm_output *f;
    switch (which) {
    case 0: return tm_export_folded(a, &o, out, err);
    case 1: return tm_export_flamegraph(a, &o, out, err);
    case 2: return tm_export_diff_flamegraph(a, b, &o, out, err);
    case 3: return tm_export_timeline(both, NULL, 2, &o, out, err);
    case 4: return tm_export_pprof(a, NULL, &o, out, err);
    case 5: return tm_export_pprof(b, a, &o, out, err);
    default: {
        int rc = tm_output_open(&f, "oom-out.txt", err);
        if (rc)
            return rc;
        fputs("x\n", tm_output_stream(f));
        return tm_output_commit(f, err);
    }
    }
}

int main(void)
{
    static const char *const names[] = { "folded", "flamegraph", "diff",  "timeline",
                                         "pprof",  "pprof diff", "output" };
    tm_snapshot *a = make(0), *b = make(1);
    FILE *out = fopen("/dev/null", "w");
    int bad = 0;
    for (int which = 0; which < 7; which++) {
        unsigned long n;
        int rc = TM_ENOMEM;
        for (n = 1; n < 100000 && rc != TM_OK; n++) {
            tm_error err = { 0 };
            tm_alloc_fail_after(n);
            rc = run(which, a, b, out, &err);
            tm_alloc_fail_after(0);
            if (rc != TM_OK && (rc != TM_ENOMEM || !err.message[0])) {
                fprintf(stderr, "%s: failing allocation %lu gave code %d '%s'\n", names[which], n,
                        rc, err.message);
                bad = 1;
                break;
            }
        }
        printf("%s: succeeded once %lu allocations were allowed\n", names[which], n - 1);
    }
    fclose(out);
    remove("oom-out.txt");
    tm_snapshot_free(a);
    tm_snapshot_free(b);
    return bad;
}
