/*
 * Test helper for tests/cli/symbolize_tmsym.sh.
 *   mksnap PROG OUT.tms      writes a snapshot whose frames are return
 *                            addresses in PROG (module 0), plus a missing
 *                            module (1) and PROG with a wrong build-id (2)
 *   mksnap --check SNAP PROG checks that every module-0 frame reachable
 *                            from a stack carries exactly the inline chain
 *                            that tm_symbolizer_lookup(PROG, offset - 1)
 *                            gives, and modules 1 and 2 stayed raw.
 *   mksnap --filter SNAP     symbolizes SNAP in memory (the symbolizer links
 *                            frames to inline callers it creates after them)
 *                            and filters it: include "*" keeps every trace
 *                            with the same logical frames, exclude
 *                            "*sym_inline.h" drops exactly the traces whose
 *                            most recent frame is in that file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sym_internal.h"
#include "tm/filter.h"
#include "tm/snapshot.h"
#include "tm/symbolize.h"
#include "tm/tms.h"

#define NADDR 400

static int die(const char *what, const tm_error *err)
{
    fprintf(stderr, "mksnap: %s: %s\n", what, err ? err->message : "");
    return 2;
}

static int make(const char *prog, const char *out)
{
    sym_elf *e;
    char note[SYM_NOTE_MAX];
    if (sym_elf_open(prog, &e, note, sizeof note) != TM_OK) {
        fprintf(stderr, "%s\n", note);
        return 2;
    }
    tm_error err = { 0 };
    tm_snapshot *s;
    if (tm_snapshot_new(&s, &err) != TM_OK)
        return die("new", &err);
    const char *paths[3] = { prog, "/nonexistent/libmissing.so", prog };
    for (int i = 0; i < 3; i++) {
        tm_module m;
        memset(&m, 0, sizeof m);
        if (tm_snapshot_intern_string(&m.path, s, paths[i], strlen(paths[i]), &err))
            return die("str", &err);
        m.build_id_len = e->build_id_len;
        memcpy(m.build_id, e->build_id, e->build_id_len);
        if (i == 2)
            m.build_id[0] ^= 0xff;
        uint32_t id;
        if (tm_snapshot_add_module(&id, s, &m, &err))
            return die("module", &err);
    }
    uint64_t base = e->first_exec_addr == UINT64_MAX ? 0 : e->first_exec_addr;
    uint32_t prev_stack = 0;
    for (int i = 0; i < NADDR; i++) {
        tm_frame f = { 0, 0, 0, 0, TM_NONE, 0, base + 1 + (uint64_t)i * 7 };
        f.module = (uint32_t)(i % 10 == 0 ? 1 : i % 10 == 1 ? 2 : 0);
        uint32_t fid, sid;
        if (tm_snapshot_intern_frame(&fid, s, &f, &err))
            return die("frame", &err);
        /* alternate one-frame stacks and stacks that extend the previous */
        if (tm_snapshot_intern_stack_node(&sid, s, i % 2 ? prev_stack : 0, fid, &err))
            return die("stack", &err);
        prev_stack = sid;
        tm_trace t = { (uint64_t)(i + 1) * 16, sid, 0 };
        if (tm_snapshot_add_trace(s, &t, i % 2 ? 2u : 1u, &err))
            return die("trace", &err);
    }
    if (tm_tms_write(s, out, NULL, &err))
        return die("write", &err);
    printf("%d frames\n", NADDR);
    tm_snapshot_free(s);
    sym_elf_close(e);
    return 0;
}

static int check(const char *snap_path, const char *prog)
{
    tm_error err = { 0 };
    tm_snapshot *s;
    if (tm_tms_read(&s, snap_path, &err))
        return die("read", &err);
    tm_symbolizer *sym;
    if (tm_symbolizer_new(&sym, NULL, &err))
        return die("symbolizer", &err);
    size_t bad = 0, checked = 0, inl = 0;
    size_t nstacks = tm_snapshot_stack_count(s);
    for (uint32_t st = 1; st < nstacks; st++) {
        uint32_t fid = tm_snapshot_stacks(s)[st].frame;
        const tm_frame *f = &tm_snapshot_frames(s)[fid];
        if (f->module != 0) {
            if (f->function != 0 || f->file != 0 || f->inlined_by != TM_NONE) {
                printf("frame %u of module %u was symbolized\n", fid, f->module);
                bad++;
            }
            continue;
        }
        tm_sym_result r;
        if (tm_symbolizer_lookup(&r, sym, prog, f->offset - 1, &err))
            return die("lookup", &err);
        size_t k = 0;
        uint32_t cur = fid;
        for (; cur != TM_NONE && k < r.nframes; k++) {
            const tm_frame *c = &tm_snapshot_frames(s)[cur];
            const char *fn = tm_snapshot_string(s, c->function, NULL);
            const char *file = tm_snapshot_string(s, c->file, NULL);
            if (strcmp(fn, r.frames[k].function) || strcmp(file, r.frames[k].file) ||
                c->line != r.frames[k].line || c->offset != f->offset || c->module != 0) {
                printf("offset 0x%llx frame %zu: snapshot %s %s:%u, lookup %s %s:%u\n",
                       (unsigned long long)f->offset, k, fn, file, c->line, r.frames[k].function,
                       r.frames[k].file, r.frames[k].line);
                bad++;
            }
            cur = c->inlined_by;
        }
        if (cur != TM_NONE || k != r.nframes) {
            printf("offset 0x%llx: chain length differs (lookup %zu)\n",
                   (unsigned long long)f->offset, r.nframes);
            bad++;
        }
        inl += r.nframes > 1;
        checked++;
    }
    printf("%zu frames checked, %zu with inlined callers, %zu bad\n", checked, inl, bad);
    tm_symbolizer_free(sym);
    tm_snapshot_free(s);
    return bad || checked == 0 ? 1 : 0;
}

/* The logical frames of trace i as "function file:line" lines. */
static int walk_text(char *out, size_t cap, const tm_snapshot *s, size_t i, tm_error *err)
{
    tm_stack_walk w;
    tm_stack_walk_init(&w, s, tm_snapshot_traces(s)[i].stack);
    size_t used = 0;
    out[0] = '\0';
    for (;;) {
        uint32_t fid;
        int rc = tm_stack_walk_next(&fid, NULL, &w, err);
        if (rc)
            return rc;
        if (fid == TM_NONE)
            return TM_OK;
        const tm_frame *f = &tm_snapshot_frames(s)[fid];
        int n =
            snprintf(out + used, cap - used, "%s %s:%u\n", tm_snapshot_string(s, f->function, NULL),
                     tm_snapshot_string(s, f->file, NULL), f->line);
        if (n < 0 || (size_t)n >= cap - used)
            return TM_ELIMIT;
        used += (size_t)n;
    }
}

static int filter(const char *snap_path)
{
    tm_error err = { 0 };
    tm_snapshot *s, *all, *some;
    if (tm_tms_read(&s, snap_path, &err))
        return die("read", &err);
    if (tm_symbolize_snapshot(NULL, s, NULL, &err))
        return die("symbolize", &err);
    size_t forward = 0, nfr = tm_snapshot_frame_count(s);
    for (size_t i = 0; i < nfr; i++)
        forward += tm_snapshot_frames(s)[i].inlined_by != TM_NONE &&
            tm_snapshot_frames(s)[i].inlined_by > i;
    tm_filter f;
    memset(&f, 0, sizeof f);
    f.kind = TM_FILTER_FRAME;
    f.inclusive = 1;
    f.pattern = "*";
    if (tm_snapshot_filter_traces(&all, s, &f, 1, &err))
        return die("filter include *", &err);
    f.inclusive = 0;
    f.pattern = "*sym_inline.h";
    if (tm_snapshot_filter_traces(&some, s, &f, 1, &err))
        return die("filter exclude *sym_inline.h", &err);
    size_t ntr = tm_snapshot_trace_count(s), bad = 0, expect_some = 0;
    static char a[1 << 16], b[1 << 16];
    for (size_t i = 0; i < ntr; i++) {
        const tm_frame *top =
            &tm_snapshot_frames(s)[tm_snapshot_stacks(s)[tm_snapshot_traces(s)[i].stack].frame];
        const char *file = tm_snapshot_string(s, top->file, NULL);
        size_t len = strlen(file);
        expect_some += !(len >= 12 && strcmp(file + len - 12, "sym_inline.h") == 0);
        if (i < tm_snapshot_trace_count(all)) {
            if (walk_text(a, sizeof a, s, i, &err) || walk_text(b, sizeof b, all, i, &err))
                return die("walk", &err);
            if (strcmp(a, b) != 0 ||
                tm_snapshot_traces(s)[i].size != tm_snapshot_traces(all)[i].size) {
                printf("trace %zu differs after filtering:\n%s--- vs ---\n%s", i, a, b);
                bad++;
            }
        }
    }
    printf("%zu frames linked to a later inline caller; %zu traces, include * kept %zu, "
           "exclude *sym_inline.h kept %zu (expected %zu)\n",
           forward, ntr, tm_snapshot_trace_count(all), tm_snapshot_trace_count(some), expect_some);
    int ok = forward > 0 && bad == 0 && tm_snapshot_trace_count(all) == ntr &&
        tm_snapshot_trace_count(some) == expect_some && expect_some < ntr;
    tm_snapshot_free(some);
    tm_snapshot_free(all);
    tm_snapshot_free(s);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--filter") == 0)
        return filter(argv[2]);
    if (argc == 4 && strcmp(argv[1], "--check") == 0)
        return check(argv[2], argv[3]);
    if (argc == 3)
        return make(argv[1], argv[2]);
    fprintf(stderr,
            "usage: mksnap PROG OUT.tms | mksnap --check SNAP PROG | mksnap --filter SNAP\n");
    return 2;
}
