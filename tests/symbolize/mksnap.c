/*
 * Test helper for tests/cli/symbolize_tmsym.sh.
 *   mksnap PROG OUT.tms      writes a snapshot whose frames are return
 *                            addresses in PROG (module 0), plus a missing
 *                            module (1) and PROG with a wrong build-id (2)
 *   mksnap --check SNAP PROG checks that every module-0 frame reachable
 *                            from a stack carries exactly the inline chain
 *                            that tm_symbolizer_lookup(PROG, offset - 1)
 *                            gives, and modules 1 and 2 stayed raw.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sym_internal.h"
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

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--check") == 0)
        return check(argv[2], argv[3]);
    if (argc == 3)
        return make(argv[1], argv[2]);
    fprintf(stderr, "usage: mksnap PROG OUT.tms | mksnap --check SNAP PROG\n");
    return 2;
}
