/*
 * tmmerge — many snapshots (workers, fork children, CI shards) as one.
 *
 * Every input's traces go into one snapshot through the model's
 * de-duplicating builder: equal strings, frames and stack nodes become one.
 * Modules are unified by build-id, or by path when a module has none, so
 * that the same binary loaded at different addresses in two processes is
 * one module; frames keep their link-time offsets, which do not depend on
 * where the module was loaded.
 *
 * The .tms metadata describes one process and has no list of inputs, so a
 * merged snapshot says what it is with the fields that exist: trigger
 * "merge", argv one entry per input naming the file and that input's
 * program, pid, host, start time and argv, and the process fields only
 * where every input agrees.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm/tms.h"
#include "tm/version.h"
#include "tool.h"

static const char *const prog = "tmmerge";

static void usage(FILE *f)
{
    fputs("usage: tmmerge -o OUT.tms IN...\n"
          "\n"
          "Merges snapshots (.tms files or Python tracemalloc dumps, detected by\n"
          "content) of different processes into one .tms snapshot holding every\n"
          "input's traces: the workers of a service, fork children, CI shards.\n"
          "Modules are unified by build-id (by path without one); equal frames and\n"
          "stacks become one.  The output's metadata: trigger 'merge', argv one\n"
          "entry per input (file, program, pid, host, start time, argv), program,\n"
          "host and pid only when every input has the same, the earliest start\n"
          "time, the latest snapshot time, traced current and peak summed (the peak\n"
          "is then an upper bound).  The same inputs give the same bytes.\n"
          "\n"
          "Two snapshots of one process (same pid, start time and host) are refused:\n"
          "that is a comparison, tmdiff's job, not a merge.  Sampled snapshots (tmrun\n"
          "--sample) merge when they all have the same rate (the output has it);\n"
          "different rates, or sampled with exact, are refused.\n"
          "\n"
          "options:\n"
          "  -o, --output FILE  the merged snapshot (written atomically; '-' is\n"
          "                     standard output)\n"
          "  -h, --help         show this help\n"
          "      --version      show the tmkit version\n"
          "\n"
          "exit status: 0 success, 2 usage or input error (the message names the file).\n",
          f);
}

/* The string of id in snapshot s, interned into out. */
static int map_string(uint32_t *strmap, tm_snapshot *out, const tm_snapshot *s, uint32_t id,
                      uint32_t *res, tm_error *err)
{
    if (id == 0) {
        *res = 0;
        return TM_OK;
    }
    if (id >= tm_snapshot_string_count(s))
        return tm_error_set(err, TM_EFORMAT, "string %u does not exist", (unsigned)id);
    if (strmap[id] != TM_NONE) {
        *res = strmap[id];
        return TM_OK;
    }
    size_t n;
    const char *text = tm_snapshot_string(s, id, &n);
    int rc = tm_snapshot_intern_string(res, out, text, n, err);
    if (rc == TM_OK)
        strmap[id] = *res;
    return rc;
}

static int same_module(const tm_snapshot *out, const tm_module *a, const tm_snapshot *s,
                       const tm_module *b)
{
    if (a->build_id_len || b->build_id_len)
        return a->build_id_len == b->build_id_len &&
            memcmp(a->build_id, b->build_id, a->build_id_len) == 0;
    return strcmp(tm_snapshot_string(out, a->path, NULL), tm_snapshot_string(s, b->path, NULL)) ==
        0;
}

/* Adds everything of s to out. */
static int merge_one(tm_snapshot *out, const tm_snapshot *s, tm_error *err)
{
    size_t nstr = tm_snapshot_string_count(s), nmod = tm_snapshot_module_count(s);
    size_t nfr = tm_snapshot_frame_count(s), nst = tm_snapshot_stack_count(s);
    size_t ntr = tm_snapshot_trace_count(s);
    uint32_t *strmap = malloc((nstr ? nstr : 1) * sizeof *strmap);
    uint32_t *modmap = malloc((nmod ? nmod : 1) * sizeof *modmap);
    uint32_t *frmap = malloc((nfr ? nfr : 1) * sizeof *frmap);
    uint32_t *stmap = malloc((nst ? nst : 1) * sizeof *stmap);
    int rc = TM_OK;
    if (!strmap || !modmap || !frmap || !stmap) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto out;
    }
    memset(strmap, 0xff, (nstr ? nstr : 1) * sizeof *strmap);
    const tm_module *mods = tm_snapshot_modules(s);
    for (size_t i = 0; i < nmod && rc == TM_OK; i++) {
        const tm_module *have = tm_snapshot_modules(out);
        size_t nhave = tm_snapshot_module_count(out), j = 0;
        while (j < nhave && !same_module(out, &have[j], s, &mods[i]))
            j++;
        if (j < nhave) {
            modmap[i] = (uint32_t)j;
            continue;
        }
        tm_module m = mods[i];
        if ((rc = map_string(strmap, out, s, mods[i].path, &m.path, err)) == TM_OK)
            rc = tm_snapshot_add_module(&modmap[i], out, &m, err);
    }
    const tm_frame *frames = tm_snapshot_frames(s);
    uint32_t chain[TM_INLINE_MAX];
    memset(frmap, 0xff, (nfr ? nfr : 1) * sizeof *frmap);
    for (size_t i = 0; i < nfr && rc == TM_OK; i++) {
        /* The builder wants a frame's inline parent first; the symbolizer
         * appends the callers it finds after the frames of the file, so
         * the chain is mapped outermost first. */
        size_t nchain = 0;
        for (uint32_t g = (uint32_t)i; g != TM_NONE && frmap[g] == TM_NONE;
             g = frames[g].inlined_by) {
            if (g >= nfr || nchain == TM_INLINE_MAX) {
                rc = tm_error_set(err, TM_EFORMAT, "frame %zu: bad inline chain", i);
                break;
            }
            chain[nchain++] = g;
        }
        while (rc == TM_OK && nchain > 0) {
            uint32_t g = chain[--nchain];
            tm_frame f = frames[g];
            if (f.module != TM_NONE) {
                if (f.module >= nmod) {
                    rc = tm_error_set(err, TM_EFORMAT, "frame %u: module %u does not exist",
                                      (unsigned)g, (unsigned)f.module);
                    break;
                }
                f.module = modmap[f.module];
            }
            if (f.inlined_by != TM_NONE)
                f.inlined_by = frmap[f.inlined_by];
            if ((rc = map_string(strmap, out, s, frames[g].function, &f.function, err)) == TM_OK &&
                (rc = map_string(strmap, out, s, frames[g].file, &f.file, err)) == TM_OK)
                rc = tm_snapshot_intern_frame(&frmap[g], out, &f, err);
        }
    }
    const tm_stack_node *stacks = tm_snapshot_stacks(s);
    if (nst)
        stmap[0] = 0;
    for (size_t k = 1; k < nst && rc == TM_OK; k++) {
        if (stacks[k].parent >= k || stacks[k].frame >= nfr) {
            rc = tm_error_set(err, TM_EFORMAT, "stack %zu: bad parent or frame", k);
            break;
        }
        rc = tm_snapshot_intern_stack_node(&stmap[k], out, stmap[stacks[k].parent],
                                           frmap[stacks[k].frame], err);
    }
    const tm_trace *traces = tm_snapshot_traces(s);
    if (rc == TM_OK)
        rc = tm_snapshot_reserve_traces(out, tm_snapshot_trace_count(out) + ntr, err);
    for (size_t i = 0; i < ntr && rc == TM_OK; i++) {
        tm_trace t = traces[i];
        if (t.stack >= nst) {
            rc = tm_error_set(err, TM_EFORMAT, "trace %zu: stack %u does not exist", i,
                              (unsigned)t.stack);
            break;
        }
        t.stack = stmap[t.stack];
        rc = tm_snapshot_add_trace(out, &t, tm_snapshot_trace_total_nframe(s, i), err);
    }
out:
    free(strmap);
    free(modmap);
    free(frmap);
    free(stmap);
    return rc;
}

static const char *md_str(const tm_snapshot *s, uint32_t id)
{
    return tm_snapshot_string(s, id, NULL);
}

/* One argv entry describing input `path`. */
static char *describe_input(const char *path, const tm_snapshot *s)
{
    const tm_metadata *md = tm_snapshot_metadata(s);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "%s: program=%s pid=%" PRId64 " host=%s start_time_ns=%" PRId64 " argv=", path,
            md_str(s, md->program), md->pid, md_str(s, md->host), md->start_time_ns);
    size_t argc = tm_snapshot_argc(s);
    const uint32_t *argv = tm_snapshot_argv(s);
    for (size_t i = 0; i < argc; i++)
        fprintf(f, "%s%s", i ? " " : "", md_str(s, argv[i]));
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int merge_metadata(tm_snapshot *out, tm_snapshot *const *in, char *const *paths, size_t n,
                          tm_error *err)
{
    tm_metadata md = *tm_snapshot_metadata(out);
    const tm_metadata *m0 = tm_snapshot_metadata(in[0]);
    int same_program = 1, same_host = 1, same_pid = 1;
    md.nframe_limit = 1;
    for (size_t i = 0; i < n; i++) {
        const tm_metadata *m = tm_snapshot_metadata(in[i]);
        same_program &= strcmp(md_str(in[i], m->program), md_str(in[0], m0->program)) == 0;
        same_host &= strcmp(md_str(in[i], m->host), md_str(in[0], m0->host)) == 0;
        same_pid &= m->pid == m0->pid;
        if (m->start_time_ns && (!md.start_time_ns || m->start_time_ns < md.start_time_ns))
            md.start_time_ns = m->start_time_ns;
        if (m->snapshot_time_ns > md.snapshot_time_ns)
            md.snapshot_time_ns = m->snapshot_time_ns;
        if (m->nframe_limit > md.nframe_limit)
            md.nframe_limit = m->nframe_limit;
        md.traced_current += m->traced_current;
        md.traced_peak += m->traced_peak;
    }
    const char *program = same_program ? md_str(in[0], m0->program) : "";
    const char *host = same_host ? md_str(in[0], m0->host) : "";
    const char *version = tm_version_string();
    int rc;
    if ((rc = tm_snapshot_intern_string(&md.program, out, program, strlen(program), err)) ||
        (rc = tm_snapshot_intern_string(&md.host, out, host, strlen(host), err)) ||
        (rc = tm_snapshot_intern_string(&md.trigger, out, "merge", 5, err)) ||
        (rc = tm_snapshot_intern_string(&md.tool_version, out, version, strlen(version), err)))
        return rc;
    md.pid = same_pid ? m0->pid : 0;
    md.sequence = 0;
    md.sample_rate = m0->sample_rate; /* every input's (check_rates) */
    if ((rc = tm_snapshot_set_metadata(out, &md, err)))
        return rc;
    char **argv = calloc(n, sizeof *argv);
    if (!argv)
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == TM_OK; i++)
        if (!(argv[i] = describe_input(paths[i], in[i])))
            rc = tm_error_set(err, TM_ENOMEM, "out of memory");
    if (rc == TM_OK)
        rc = tm_snapshot_set_argv(out, (const char *const *)argv, n, err);
    for (size_t i = 0; i < n; i++)
        free(argv[i]);
    free(argv);
    return rc;
}

/* Two snapshots of one process would count its allocations twice. */
static int check_processes(tm_snapshot *const *in, char *const *paths, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const tm_metadata *a = tm_snapshot_metadata(in[i]);
        if (a->pid == 0)
            continue; /* unknown (a Python dump): nothing to compare */
        for (size_t j = i + 1; j < n; j++) {
            const tm_metadata *b = tm_snapshot_metadata(in[j]);
            if (a->pid == b->pid && a->start_time_ns == b->start_time_ns &&
                strcmp(md_str(in[i], a->host), md_str(in[j], b->host)) == 0) {
                fprintf(stderr,
                        "%s: %s and %s are snapshots of the same process (pid %" PRId64
                        " on host '%s', started at %" PRId64
                        " ns): a merge would count its allocations twice; compare them "
                        "with tmdiff\n",
                        prog, paths[i], paths[j], a->pid, md_str(in[i], a->host), a->start_time_ns);
                return TOOL_EXIT_ERROR;
            }
        }
    }
    return TOOL_EXIT_OK;
}

/* Samples of one rate merge into a sample of that rate (each process
 * kept each block independently with the same p(s)).  Different rates
 * would need a weight per trace, which .tms derives from the one rate of
 * the file: refused, as is sampled with exact. */
static int check_rates(tm_snapshot *const *in, char *const *paths, size_t n)
{
    uint64_t r0 = tm_snapshot_metadata(in[0])->sample_rate;
    for (size_t i = 1; i < n; i++) {
        uint64_t r = tm_snapshot_metadata(in[i])->sample_rate;
        if (r == r0)
            continue;
        char a[64], b[64];
        snprintf(a, sizeof a, r0 ? "sampled, one per %" PRIu64 " bytes" : "exact", r0);
        snprintf(b, sizeof b, r ? "sampled, one per %" PRIu64 " bytes" : "exact", r);
        fprintf(stderr,
                "%s: %s is %s but %s is %s: snapshots of different sampling rates cannot be "
                "merged (a .tms file has one rate, from which every trace's weight follows); "
                "compare them with tmdiff, or record them at one rate\n",
                prog, paths[0], a, paths[i], b);
        return TOOL_EXIT_ERROR;
    }
    return TOOL_EXIT_OK;
}

static int run(char **files, size_t n, const char *output)
{
    tm_error err = { 0 };
    tm_snapshot **in = calloc(n, sizeof *in);
    tm_snapshot *out = NULL;
    int rc = TOOL_EXIT_ERROR;
    if (!in) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return TOOL_EXIT_ERROR;
    }
    for (size_t i = 0; i < n; i++)
        if (tool_load_snapshot(files[i], &in[i], &err) != TM_OK) {
            rc = tool_fail(prog, &err);
            goto done;
        }
    if ((rc = check_processes(in, files, n)) != TOOL_EXIT_OK ||
        (rc = check_rates(in, files, n)) != TOOL_EXIT_OK)
        goto done;
    rc = TOOL_EXIT_ERROR;
    if (tm_snapshot_new(&out, &err) != TM_OK) {
        rc = tool_fail(prog, &err);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (merge_one(out, in[i], &err) != TM_OK) {
            tm_error_prefix(&err, "%s", files[i]);
            rc = tool_fail(prog, &err);
            goto done;
        }
    if (merge_metadata(out, in, files, n, &err) != TM_OK ||
        tm_tms_write(out, output, NULL, &err) != TM_OK) {
        rc = tool_fail(prog, &err);
        goto done;
    }
    rc = TOOL_EXIT_OK;
done:
    for (size_t i = 0; i < n; i++)
        tm_snapshot_free(in[i]);
    free(in);
    tm_snapshot_free(out);
    return rc;
}

int main(int argc, char **argv)
{
    enum { OPT_VERSION = 256 };
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    char **files = calloc(argc > 0 ? (size_t)argc : 1, sizeof *files);
    size_t nfiles = 0;
    const char *output = NULL;
    int c, rc;
    if (!files) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return TOOL_EXIT_ERROR;
    }
    opterr = 0;
    while ((c = getopt_long(argc, argv, "-:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 1: files[nfiles++] = optarg; break;
        case 'o': output = optarg; break;
        case 'h':
            usage(stdout);
            free(files);
            return TOOL_EXIT_OK;
        case OPT_VERSION:
            printf("tmmerge (tmkit) %s\n", tm_version_string());
            free(files);
            return TOOL_EXIT_OK;
        default:
            rc = tool_option_error(prog, c, argv, longopts);
            free(files);
            return rc;
        }
    }
    while (optind < argc)
        files[nfiles++] = argv[optind++];
    if (!output)
        rc = tool_usage_error(prog, "missing -o OUT.tms");
    else if (nfiles == 0)
        rc = tool_usage_error(prog, "no input snapshots");
    else
        rc = run(files, nfiles, output);
    free(files);
    return rc;
}
