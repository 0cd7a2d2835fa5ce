/* rec_check EXPECT FILE.tms: compares the traces of a .tms written by the
 * recorder with the expectations rec_sites_plain wrote, and checks the
 * metadata the recorder must fill in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec_expect.h"
#include "tm/tms.h"

/* --info FILE.tms: the file reads back, and an exit snapshot is consistent. */
static int info(const char *path)
{
    tm_snapshot *s = NULL;
    tm_error err;
    if (tm_tms_read(&s, path, &err) != TM_OK) {
        fprintf(stderr, "rec_check: %s\n", err.message);
        return 1;
    }
    const tm_metadata *md = tm_snapshot_metadata(s);
    const char *trigger = tm_snapshot_string(s, md->trigger, NULL);
    int ok = md->pid > 0 && md->traced_peak >= md->traced_current &&
        (strcmp(trigger, "exit") != 0 || md->traced_current == tm_snapshot_total_size(s)) &&
        (tm_snapshot_trace_count(s) == 0 || tm_snapshot_module_count(s) > 0);
    printf("%s: trigger %s, seq %u, pid %lld, %zu traces, %zu stacks, %zu frames, %zu modules, "
           "current %llu, peak %llu: %s\n",
           path, trigger, md->sequence, (long long)md->pid, tm_snapshot_trace_count(s),
           tm_snapshot_stack_count(s), tm_snapshot_frame_count(s), tm_snapshot_module_count(s),
           (unsigned long long)md->traced_current, (unsigned long long)md->traced_peak,
           ok ? "ok" : "INCONSISTENT");
    tm_snapshot_free(s);
    return ok ? 0 : 1;
}

/* --module FILE.tms SIZE SUFFIX COUNT: exactly COUNT traces of SIZE bytes
 * whose most recent frame lies in a module whose path ends with SUFFIX and
 * that has a build-id. */
static int module_check(const char *path, unsigned long long size, const char *suffix,
                        unsigned long long count)
{
    tm_snapshot *s = NULL;
    tm_error err;
    if (tm_tms_read(&s, path, &err) != TM_OK) {
        fprintf(stderr, "rec_check: %s\n", err.message);
        return 1;
    }
    unsigned long long got = 0, in_module = 0;
    const tm_trace *tr = tm_snapshot_traces(s);
    for (size_t i = 0; i < tm_snapshot_trace_count(s); i++) {
        if (tr[i].size != size)
            continue;
        got++;
        uint32_t f;
        if (tm_snapshot_stack_frames(&f, 1, s, tr[i].stack) < 1)
            continue;
        const tm_frame *fr = &tm_snapshot_frames(s)[f];
        if (fr->module == TM_NONE)
            continue;
        const tm_module *m = &tm_snapshot_modules(s)[fr->module];
        const char *mp = tm_snapshot_string(s, m->path, NULL);
        size_t ml = strlen(mp), sl = strlen(suffix);
        if (ml >= sl && strcmp(mp + ml - sl, suffix) == 0 && m->build_id_len == 20 &&
            fr->offset < m->end - m->load_bias)
            in_module++;
    }
    printf("%s: %llu traces of %llu B, %llu in %s with a build-id (expected %llu)\n", path, got,
           size, in_module, suffix, count);
    tm_snapshot_free(s);
    return got == count && in_module == count ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "--module") == 0)
        return module_check(argv[2], strtoull(argv[3], NULL, 10), argv[4],
                            strtoull(argv[5], NULL, 10));
    if (argc == 3 && strcmp(argv[1], "--info") == 0)
        return info(argv[2]);
    if (argc != 3) {
        fprintf(stderr, "usage: rec_check EXPECT FILE.tms\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    rec_site sites[256];
    size_t n = 0;
    long pid = 0;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        unsigned long ra;
        unsigned long long count, size;
        if (sscanf(line, "pid %ld", &pid) == 1)
            continue;
        if (n < 256 &&
            sscanf(line, "site %31s %lx %u %llu %llu", sites[n].name, &ra, &sites[n].idx, &count,
                   &size) == 5) {
            sites[n].ra = ra;
            sites[n].count = count;
            sites[n].size = size;
            n++;
        }
    }
    fclose(f);
    tm_snapshot *s = NULL;
    tm_error err;
    if (tm_tms_read(&s, argv[2], &err) != TM_OK) {
        fprintf(stderr, "rec_check: %s\n", err.message);
        return 1;
    }
    int bad = rec_verify(s, sites, n, argv[2]);
    const tm_metadata *md = tm_snapshot_metadata(s);
    const char *trigger = tm_snapshot_string(s, md->trigger, NULL);
    const char *prog = tm_snapshot_string(s, md->program, NULL);
#define MD_CHECK(c)                                                                                \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s: metadata check failed: %s\n", argv[2], #c);                       \
            bad++;                                                                                 \
        }                                                                                          \
    } while (0)
    MD_CHECK(n > 0);
    MD_CHECK(md->pid == pid);
    MD_CHECK(strcmp(trigger, "exit") == 0);
    MD_CHECK(strstr(prog, "rec_sites") != NULL);
    MD_CHECK(md->traced_current == tm_snapshot_total_size(s));
    MD_CHECK(md->traced_peak >= md->traced_current);
    MD_CHECK(md->nframe_limit == 32);
    MD_CHECK(md->start_time_ns > 0 && md->snapshot_time_ns >= md->start_time_ns);
    MD_CHECK(tm_snapshot_argc(s) >= 2);
    size_t with_build_id = 0;
    for (size_t i = 0; i < tm_snapshot_module_count(s); i++)
        with_build_id += tm_snapshot_modules(s)[i].build_id_len == 20;
    MD_CHECK(with_build_id >= 2); /* the program and libc at least */
    printf("%s: %zu traces, %zu stacks, %zu modules, current %llu, peak %llu: %s\n", argv[2],
           tm_snapshot_trace_count(s), tm_snapshot_stack_count(s), tm_snapshot_module_count(s),
           (unsigned long long)md->traced_current, (unsigned long long)md->traced_peak,
           bad ? "FAILED" : "ok");
    tm_snapshot_free(s);
    return bad ? 1 : 0;
}
