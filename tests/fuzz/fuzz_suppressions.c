/*
 * Fuzz target for the suppressions parser and matcher (tools/common/
 * suppress.h): the input is parsed as a TM_SUPPRESSIONS file; when it
 * parses, its entries are applied to a small snapshot (functions, files,
 * a module, an inline chain) held in memory.  Independently, the input up to
 * its first newline is used as one pattern against the rest as a name, so
 * that the matcher sees patterns the parser would have refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "suppress.h"

static tm_snapshot *build(void)
{
    tm_snapshot *s;
    if (tm_snapshot_new(&s, NULL) != TM_OK)
        abort();
    const char *names[] = { "main", "run_tests", "/src/t.cpp", "/usr/lib/libfoo.so", "inl" };
    uint32_t id[5];
    for (int i = 0; i < 5; i++)
        if (tm_snapshot_intern_string(&id[i], s, names[i], strlen(names[i]), NULL) != TM_OK)
            abort();
    tm_module m;
    memset(&m, 0, sizeof m);
    m.path = id[3];
    uint32_t mod, f[4], st[4];
    if (tm_snapshot_add_module(&mod, s, &m, NULL) != TM_OK)
        abort();
    tm_frame fr[4] = { { mod, id[0], id[2], 10, TM_NONE, 0, 0x10 },
                       { mod, id[1], id[2], 20, TM_NONE, 0, 0x20 },
                       { mod, 0, 0, 0, TM_NONE, 0, 0x30 },
                       { mod, id[4], id[2], 30, TM_NONE, 0, 0x20 } };
    for (int i = 0; i < 4; i++)
        if (tm_snapshot_intern_frame(&f[i], s, &fr[i], NULL) != TM_OK)
            abort();
    fr[3].inlined_by = f[1];
    if (tm_snapshot_set_frame(s, f[3], &fr[3], NULL) != TM_OK)
        abort();
    uint32_t stacks[][3] = { { f[0], 0, 0 }, { f[1], f[0], 0 }, { f[2], f[3], f[0] } };
    size_t depth[] = { 1, 2, 3 };
    for (int i = 0; i < 3; i++) {
        if (tm_snapshot_intern_stack(&st[i], s, stacks[i], depth[i], NULL) != TM_OK)
            abort();
        tm_trace t = { 100u * (unsigned)(i + 1), st[i], 0 };
        if (tm_snapshot_add_trace(s, &t, (uint32_t)depth[i], NULL) != TM_OK)
            abort();
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tm_suppressions *sup;
    tm_error err;
    if (tm_suppressions_new(&sup, &err) != TM_OK)
        return 0;
    if (tm_suppressions_parse(sup, (const char *)data, size, "fuzz", &err) == TM_OK) {
        tm_suppressions_add_top(sup, "run_*", &err);
        tm_snapshot *s = build();
        uint64_t total = tm_snapshot_total_size(s), gone = 0, count = 0;
        if (tm_suppressions_apply(s, sup, &gone, &count, &err) == TM_OK &&
            (tm_snapshot_total_size(s) + gone != total || count > 3))
            abort();
        tm_snapshot_free(s);
    }
    tm_suppressions_free(sup);
    const uint8_t *nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t)(nl - data) : size;
    char *pattern = malloc(plen + 1);
    if (!pattern)
        return 0;
    memcpy(pattern, data, plen);
    pattern[plen] = 0;
    const char *name = nl ? (const char *)nl + 1 : "";
    size_t nlen = nl ? size - plen - 1 : 0;
    (void)tm_suppress_match(pattern, name, nlen);
    free(pattern);
    return 0;
}
