/*
 * tminfo FILE... — what is inside a snapshot: the .tms container (header,
 * sections with stored/raw sizes), metadata and counts; with --traces every
 * trace and its frames as text.  Python tracemalloc dumps are accepted too
 * (no container to show).  Exit 0, or 2 if any file could not be read.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tm/file.h"
#include "tm/sample.h"
#include "tm/tms.h"
#include "tm_estimate.h"
#include "tool.h"

static const char *prog = "tminfo";

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: tminfo [--traces] [--modules] [--max-memory SIZE] FILE...\n"
        "  Shows the .tms header, sections, metadata and counts of each FILE\n"
        "  (a .tms snapshot or a Python tracemalloc dump).\n"
        "  --traces     also print every trace with its frames\n"
        "  --modules    also list the modules, each with its build-id and where its\n"
        "               symbols come from (embedded, or symbolizing it here: debug\n"
        "               file, or what is missing, as tmstat's notes say it)\n" TOOL_MAX_MEMORY_HELP
        "  -h, --help   show this help\n"
        "exit status: 0 success, 2 if any file could not be read.\n");
}

/* Strings may hold any bytes; keep one item per line. */
static void put_str(const tm_snapshot *s, uint32_t id)
{
    size_t len;
    const char *p = tm_snapshot_string(s, id, &len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static void put_time(const char *label, int64_t ns)
{
    printf("  %-15s ", label);
    if (ns == 0) {
        printf("unknown\n");
        return;
    }
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    char buf[64];
    if (gmtime_r(&t, &tm) && strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm))
        printf("%s.%09" PRId64 "Z (%" PRId64 " ns)\n", buf,
               (ns % 1000000000 + 1000000000) % 1000000000, ns);
    else
        printf("%" PRId64 " ns\n", ns);
}

static void put_labeled(const tm_snapshot *s, const char *label, uint32_t id)
{
    printf("  %-15s ", label);
    if (id)
        put_str(s, id);
    else
        printf("unknown");
    putchar('\n');
}

static void print_metadata(const tm_snapshot *s)
{
    const tm_metadata *m = tm_snapshot_metadata(s);
    printf("metadata:\n");
    put_labeled(s, "program", m->program);
    printf("  %-15s", "argv");
    if (tm_snapshot_argc(s) == 0)
        printf(" unknown");
    for (size_t i = 0; i < tm_snapshot_argc(s); i++) {
        printf(" '");
        put_str(s, tm_snapshot_argv(s)[i]);
        putchar('\'');
    }
    putchar('\n');
    if (m->pid)
        printf("  %-15s %" PRId64 "\n", "pid", m->pid);
    else
        printf("  %-15s unknown\n", "pid");
    put_labeled(s, "host", m->host);
    put_labeled(s, "trigger", m->trigger);
    put_labeled(s, "tool version", m->tool_version);
    put_time("start time", m->start_time_ns);
    put_time("snapshot time", m->snapshot_time_ns);
    printf("  %-15s %" PRIu32 "\n", "nframe limit", m->nframe_limit);
    printf("  %-15s %" PRIu32 "\n", "sequence", m->sequence);
    /* A sampled recording knows its traced memory only as the sample's
     * estimate (or as the recorder measured it): said, never implied. */
    const char *est = m->sample_rate ? " (estimate)" : "";
    if (m->sample_rate) {
        char a[64];
        printf("  %-15s %" PRIu64 " B (Poisson sample by bytes, one kept block per %s on "
               "average: sizes and counts of the traces below stand for more)\n",
               "sample rate", m->sample_rate, tm_sample_rate_text(a, sizeof a, m->sample_rate));
    }
    printf("  %-15s %" PRIu64 " B%s\n", "traced current", m->traced_current, est);
    printf("  %-15s %" PRIu64 " B%s\n", "traced peak", m->traced_peak, est);
}

static void print_counts(const tm_snapshot *s)
{
    size_t depth_max = 0, depth_sum = 0, n = tm_snapshot_trace_count(s);
    const tm_trace *t = tm_snapshot_traces(s);
    const tm_stack_node *st = tm_snapshot_stacks(s);
    for (size_t i = 0; i < n; i++) {
        size_t d = st[t[i].stack].depth;
        depth_sum += d;
        if (d > depth_max)
            depth_max = d;
    }
    printf("counts:\n");
    printf("  %-15s %zu (including the empty string)\n", "strings", tm_snapshot_string_count(s));
    printf("  %-15s %zu\n", "modules", tm_snapshot_module_count(s));
    printf("  %-15s %zu\n", "frames", tm_snapshot_frame_count(s));
    printf("  %-15s %zu (including the empty stack)\n", "stack nodes", tm_snapshot_stack_count(s));
    uint64_t rate = tm_snapshot_metadata(s)->sample_rate;
    if (!rate) {
        printf("  %-15s %zu\n", "traces", n);
        printf("  %-15s %" PRIu64 " B\n", "total size", tm_snapshot_total_size(s));
    } else {
        double bytes = 0, count = 0;
        for (size_t i = 0; i < n; i++) {
            double w = tm_sample_weight(t[i].size, rate);
            bytes += w * (double)t[i].size;
            count += w;
        }
        printf("  %-15s %zu kept blocks (estimated %.0f allocations)\n", "traces", n, count);
        printf("  %-15s %" PRIu64 " B of kept blocks (estimated %.0f B)\n", "total size",
               tm_snapshot_total_size(s), bytes);
    }
    printf("  %-15s max %zu, mean %.1f\n", "stack depth", depth_max,
           n ? (double)depth_sum / (double)n : 0.0);
}

static void print_frame(const tm_snapshot *s, uint32_t id)
{
    const tm_frame *f = &tm_snapshot_frames(s)[id];
    if (f->function) {
        put_str(s, f->function);
        printf(" ");
    }
    if (f->file || f->module == TM_NONE) {
        printf(f->function ? "(" : "");
        if (f->file)
            put_str(s, f->file);
        else
            printf("<unknown>");
        printf(":%" PRIu32 "%s", f->line, f->function ? ")" : "");
    }
    if (f->module != TM_NONE) {
        const tm_module *m = &tm_snapshot_modules(s)[f->module];
        size_t len;
        const char *path = tm_snapshot_string(s, m->path, &len);
        const char *base = strrchr(path, '/');
        printf("%s[%s+0x%" PRIx64 "]", f->function || f->file ? " " : "", base ? base + 1 : path,
               f->offset);
    }
}

static int print_traces(const tm_snapshot *s)
{
    size_t n = tm_snapshot_trace_count(s);
    const tm_trace *t = tm_snapshot_traces(s);
    const tm_stack_node *st = tm_snapshot_stacks(s);
    printf("traces:\n");
    for (size_t i = 0; i < n; i++) {
        printf("trace %zu: domain=%" PRIu32 " size=%" PRIu64 " total_nframe=%" PRIu32
               " nframe=%" PRIu32 "\n",
               i, t[i].domain, t[i].size, tm_snapshot_trace_total_nframe(s, i),
               st[t[i].stack].depth);
        size_t k = 0;
        tm_stack_walk w;
        uint32_t f;
        int inlined;
        tm_error err;
        tm_stack_walk_init(&w, s, t[i].stack);
        for (;;) {
            if (tm_stack_walk_next(&f, &inlined, &w, &err) != TM_OK)
                return tool_fail(prog, &err);
            if (f == TM_NONE)
                break;
            if (inlined)
                printf("     inlined into ");
            else
                printf("  #%zu ", k++);
            print_frame(s, f);
            putchar('\n');
        }
    }
    return 0;
}

static void put_build_id(const tm_module *m)
{
    if (!m->build_id_len) {
        printf("no build-id");
        return;
    }
    printf("build-id ");
    for (uint32_t i = 0; i < m->build_id_len; i++)
        printf("%02x", m->build_id[i]);
}

/* Last, because symbolizing changes the frames --traces printed raw. */
static int print_modules(const char *path, tm_snapshot *s)
{
    size_t n = tm_snapshot_module_count(s), nf = tm_snapshot_frame_count(s);
    size_t *frames = calloc(n ? n : 1, sizeof *frames), *raw = calloc(n ? n : 1, sizeof *raw);
    if (!frames || !raw) {
        free(frames);
        free(raw);
        fprintf(stderr, "%s: out of memory\n", prog);
        return TOOL_EXIT_ERROR;
    }
    const tm_frame *f = tm_snapshot_frames(s);
    for (size_t i = 0; i < nf; i++) {
        if (f[i].module == TM_NONE || f[i].module >= n || f[i].inlined_by != TM_NONE)
            continue;
        frames[f[i].module]++;
        raw[f[i].module] += f[i].function == 0 && f[i].file == 0;
    }
    tm_symbolize_report *rep = NULL;
    tm_error err;
    int rc = TOOL_EXIT_OK;
    if (n && tool_symbolize_report(&rep, path, s, &err) != TM_OK)
        rc = tool_fail(prog, &err);
    printf("modules:\n");
    for (size_t i = 0; rc == TOOL_EXIT_OK && i < n; i++) {
        const tm_module *m = &tm_snapshot_modules(s)[i];
        printf("  #%zu ", i);
        put_str(s, m->path);
        printf("\n     ");
        put_build_id(m);
        printf(", %zu frames\n", frames[i]);
        const tm_symbolize_module_report *mr = rep && i < rep->nmodules ? &rep->modules[i] : NULL;
        char note[4096];
        if (frames[i] > raw[i])
            printf("     symbols: embedded in %zu of %zu frames\n", frames[i] - raw[i], frames[i]);
        if (frames[i] && !raw[i])
            continue;
        if (mr && tool_module_note(note, sizeof note, mr))
            printf("     note: %s\n", note);
        else if (mr && mr->status == TM_SYMSTAT_SYMBOLIZED)
            printf("     symbols: from %s\n", mr->debug_path ? mr->debug_path : "?");
        else
            printf("     symbols: none needed\n");
    }
    tm_symbolize_report_free(rep);
    free(frames);
    free(raw);
    return rc;
}

static int print_container(const char *path, const void *data, size_t len)
{
    tm_tms_file_info *info;
    tm_error err;
    if (tm_tms_inspect(&info, data, len, path, &err))
        return tool_fail(prog, &err);
    printf("%s: .tms format version %u.%u, %" PRIu64 " bytes, %zu sections\n", path, info->major,
           info->minor, info->file_size, info->nsections);
    printf("  %-9s %-5s %-10s %-9s %-5s %12s %12s %8s\n", "offset", "type", "name", "flags",
           "codec", "stored", "raw", "ratio");
    for (size_t i = 0; i < info->nsections; i++) {
        const tm_tms_section_info *si = &info->sections[i];
        printf("  %-9" PRIu64 " %-5" PRIu32 " %-10s %-9s %-5s %12" PRIu64 " %12" PRIu64 " %7.2fx\n",
               si->offset, si->type, si->name, si->critical ? "critical" : "optional",
               si->codec == 0       ? "raw"
                   : si->codec == 1 ? "zstd"
                                    : "?",
               si->stored_len, si->raw_len,
               si->stored_len ? (double)si->raw_len / (double)si->stored_len : 1.0);
    }
    tm_tms_file_info_free(info);
    return TOOL_EXIT_OK;
}

static int info_file(const char *path, int traces, int modules)
{
    void *data;
    size_t len;
    tm_error err;
    if (tm_file_read(&data, &len, path, &err))
        return tool_fail(prog, &err);
    tm_snapshot *s = NULL;
    int rc;
    /* A damaged magic that still reads "?TMS" is a mangled .tms file: let
     * the .tms reader explain what happened to it. */
    if (tm_tms_detect(data, len) || (len >= 4 && memcmp((char *)data + 1, "TMS", 3) == 0)) {
        if ((rc = print_container(path, data, len)) == 0 &&
            tm_tms_decode(&s, data, len, path, &err))
            rc = tool_fail(prog, &err);
    } else {
        rc = tool_decode_snapshot(path, data, len, &s, &err) ? tool_fail(prog, &err) : 0;
        if (!rc)
            printf("%s: Python tracemalloc snapshot (pickle), %zu bytes\n", path, len);
    }
    free(data);
    if (rc)
        return rc;
    print_metadata(s);
    print_counts(s);
    rc = traces ? print_traces(s) : 0;
    if (!rc && modules)
        rc = print_modules(path, s);
    tm_snapshot_free(s);
    return rc ? rc : TOOL_EXIT_OK;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "traces", no_argument, NULL, 256 },
        { "modules", no_argument, NULL, 257 },
        { "max-memory", required_argument, NULL, TOOL_OPT_MAX_MEMORY },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int traces = 0, modules = 0, nfiles = 0, status = TOOL_EXIT_OK, c;
    /* Every option is read before the first file is shown: a bad one later
     * on the line must not leave half a report. */
    char **files = calloc((size_t)argc, sizeof *files);
    if (!files) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return TOOL_EXIT_ERROR;
    }
    if (tool_memory_init(prog)) {
        free(files);
        return TOOL_EXIT_ERROR;
    }
    opterr = 0;
    while ((c = getopt_long(argc, argv, "-:h", longopts, NULL)) != -1) {
        switch (c) {
        case 1: files[nfiles++] = optarg; break;
        case 256: traces = 1; break;
        case 257: modules = 1; break;
        case TOOL_OPT_MAX_MEMORY:
            if (tool_memory_option(prog, optarg)) {
                free(files);
                return TOOL_EXIT_ERROR;
            }
            break;
        case 'h':
            usage(stdout);
            free(files);
            return TOOL_EXIT_OK;
        default: free(files); return tool_option_error(prog, c, argv, longopts);
        }
    }
    while (optind < argc)
        files[nfiles++] = argv[optind++];
    if (nfiles == 0) {
        free(files);
        return tool_usage_error(prog, "no FILE given");
    }
    for (int i = 0; i < nfiles; i++) {
        if (i)
            putchar('\n');
        if (info_file(files[i], traces, modules))
            status = TOOL_EXIT_ERROR;
        fflush(stdout);
    }
    free(files);
    return status;
}
