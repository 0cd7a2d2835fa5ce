/*
 * tmrun — run a program under the tmkit recorder.
 *
 *   tmrun [-n NFRAME] [-o FILE.tms] [--interval SEC] [--signal SIG] [--peak]
 *         [--sample SIZE] [--crash] [--follow-fork] [--unwind eh|fp|libgcc]
 *         -- PROGRAM [ARGS...]
 *   tmrun -p PID [-n NFRAME] [-o FILE.tms] [--for SEC] [--interval SEC] [--peak]
 *         [--sample SIZE]
 *
 * Sets LD_PRELOAD (the libtmrecorder.so found next to this executable, or in
 * ../lib in an install tree, or $TM_RECORDER_LIB) and the TM_* variables
 * described in tm/recorder.h, then execs PROGRAM: its pid, exit status,
 * standard streams and arguments are its own.  With -p it loads the
 * recorder into a running process instead (tmrun_attach.c).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tmrun_attach.h"
#include "tool_cli.h"
#include "tool_elf.h"
#include "tm_size.h"

/* When PROGRAM cannot be run, as a shell reports it. */
enum { TMRUN_EXIT_CANNOT_RUN = 126, TMRUN_EXIT_NOT_FOUND = 127 };

static const char *const prog = "tmrun";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tmrun [-n NFRAME] [-o FILE.tms] [--interval SEC] [--signal SIG]\n"
            "             [--peak] [--sample SIZE] [--crash] [--follow-fork]\n"
            "             [--unwind eh|fp|libgcc]\n"
            "             -- PROGRAM [ARGS...]\n"
            "       tmrun -p PID [-n NFRAME] [-o FILE.tms] [--for SEC] [--interval SEC]\n"
            "             [--peak] [--sample SIZE]\n"
            "\n"
            "Runs PROGRAM with every heap allocation traced and writes a snapshot at exit.\n"
            "  -n, --nframe NFRAME   frames kept per stack, 1..65535 (default 20)\n"
            "  -o, --output FILE.tms snapshot written at exit (default PROGRAM.tms)\n"
            "  --interval SEC        also write FILE-stem.N.tms every SEC seconds\n"
            "  --signal SIG          also write one when SIG (e.g. USR2) is received\n"
            "  --peak                also write FILE-stem.peak.tms: the live set at the\n"
            "                        peak, rewritten with every snapshot\n"
            "  --sample SIZE         trace a Poisson sample of the blocks, one per SIZE\n"
            "                        bytes allocated on average (e.g. 512KiB): sizes,\n"
            "                        counts and traced current/peak become estimates, at\n"
            "                        a few percent of the cost of tracing every block\n"
            "  --crash               also write FILE when the program dies of SIGSEGV,\n"
            "                        SIGBUS, SIGILL, SIGFPE or SIGABRT (best effort; then\n"
            "                        it dies as it would have)\n"
            "  --follow-fork         trace child processes too, each to FILE-stem.PID.tms\n"
            "  --unwind KIND         eh (default, exact), fp (frame pointers), libgcc (slow)\n"
            "  -p, --pid PID         attach to the running process PID instead (ptrace; no\n"
            "                        debugger needed): trace it until SIGINT/SIGTERM to\n"
            "                        tmrun, --for SEC, or its exit; write FILE (default\n"
            "                        PID.tms), then detach: it runs on untraced.  Blocks\n"
            "                        allocated before attaching are unknown and their\n"
            "                        frees ignored, as with tracemalloc.start() called\n"
            "                        late.  --signal, --crash, --follow-fork, --unwind:\n"
            "                        not with -p\n"
            "  --for SEC             with -p: detach after SEC seconds\n"
            "  -h, --help            show this help\n"
            "PROGRAM is the first argument that is not an option; '--' before it is\n"
            "needed only when it starts with '-'.\n"
            "exit status: PROGRAM's; 2 on a usage error, without libtmrecorder.so, or\n"
            "when PROGRAM is statically linked (LD_PRELOAD cannot reach its malloc);\n"
            "126 if PROGRAM cannot be run, 127 if there is no such PROGRAM.\n"
            "With -p: 0 once FILE is written; 2 when attaching is not possible (no such\n"
            "process, ptrace not permitted, already traced, statically linked, no dlopen\n"
            "in its C library), with the reason.\n");
}

static int find_library(char *out, size_t cap)
{
    const char *env = getenv("TM_RECORDER_LIB");
    if (env && *env) {
        if (access(env, R_OK) != 0) {
            fprintf(stderr, "tmrun: TM_RECORDER_LIB=%s: %s\n", env, strerror(errno));
            return -1;
        }
        snprintf(out, cap, "%s", env);
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        fprintf(stderr, "tmrun: cannot find my own executable: %s\n", strerror(errno));
        return -1;
    }
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = 0;
    static const char *const rel[] = {
        "libtmrecorder.so",
        "../lib/libtmrecorder.so",
        "../lib/tmkit/libtmrecorder.so",
        "../lib/x86_64-linux-gnu/libtmrecorder.so",
        "../lib64/libtmrecorder.so",
        "../recorder/libtmrecorder.so",
    };
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        char cand[PATH_MAX + 64];
        snprintf(cand, sizeof(cand), "%s/%s", exe, rel[i]);
        char real[PATH_MAX];
        if (access(cand, R_OK) == 0 && realpath(cand, real)) {
            snprintf(out, cap, "%s", real);
            return 0;
        }
    }
    fprintf(stderr,
            "tmrun: libtmrecorder.so not found next to %s or in %s/../lib "
            "(set TM_RECORDER_LIB)\n",
            exe, exe);
    return -1;
}

/* The file execvp would run for name, or "" when there is none (execvp
 * then says why). */
static void find_program(const char *name, char *out, size_t cap)
{
    out[0] = 0;
    if (strchr(name, '/')) {
        snprintf(out, cap, "%s", name);
        return;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin";
    for (const char *p = path;; p++) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        char cand[PATH_MAX];
        struct stat st;
        int n = snprintf(cand, sizeof cand, "%.*s%s%s", (int)len, p, len ? "/" : "", name);
        if (n > 0 && (size_t)n < sizeof cand && stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
            access(cand, X_OK) == 0) {
            snprintf(out, cap, "%s", cand);
            return;
        }
        if (!colon)
            return;
        p = colon;
    }
}

static int absolute_path(const char *path, char *out, size_t cap)
{
    if (path[0] == '/') {
        snprintf(out, cap, "%s", path);
        return 0;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd))) {
        fprintf(stderr, "tmrun: getcwd: %s\n", strerror(errno));
        return -1;
    }
    if ((size_t)snprintf(out, cap, "%s/%s", cwd, path) >= cap) {
        fprintf(stderr, "tmrun: %s: path too long\n", path);
        return -1;
    }
    return 0;
}

/* --sample SIZE: 0, or -1 after saying why not. */
static int sample_parse(uint64_t *out, const char *text)
{
    char msg[256] = "";
    *out = 0;
    if (tm_size_parse(out, NULL, NULL, text, msg, sizeof msg) != 0 || *out == 0) {
        if (!msg[0])
            snprintf(msg, sizeof msg, "'%s': expected at least 1 byte", text);
        fprintf(stderr, "tmrun: --sample: %s\n", msg);
        return -1;
    }
    return 0;
}

/* tmrun -p PID: the checks of the options, then tmrun_attach.c. */
static int attach_main(const char *pid_arg, const char *for_arg, int nprogram, const char *nframe,
                       const char *output, const char *interval, int peak, const char *sample,
                       int not_with_p)
{
    if (!pid_arg)
        return tool_usage_error(prog, "--for needs -p PID");
    if (nprogram > 0)
        return tool_usage_error(prog, "-p PID attaches to a running process: no PROGRAM with it");
    if (not_with_p)
        return tool_usage_error(prog,
                                "--signal, --crash, --follow-fork and --unwind are not "
                                "available with -p");
    char *end;
    long pid = strtol(pid_arg, &end, 10);
    if (*end || pid < 1 || pid > INT_MAX) {
        fprintf(stderr, "tmrun: -p %s: expected a process id\n", pid_arg);
        return TOOL_EXIT_ERROR;
    }
    tmrun_attach_opts o = { .pid = (pid_t)pid, .peak = peak };
    o.nframe = strtol(nframe, &end, 10);
    if (*end || o.nframe < 1 || o.nframe > 65535) {
        fprintf(stderr, "tmrun: -n %s: expected a number of frames from 1 to 65535\n", nframe);
        return TOOL_EXIT_ERROR;
    }
    if (for_arg) {
        o.for_sec = strtod(for_arg, &end);
        if (*end || !(o.for_sec > 0)) {
            fprintf(stderr, "tmrun: --for %s: expected a positive number of seconds\n", for_arg);
            return TOOL_EXIT_ERROR;
        }
    }
    uint64_t rate = 0;
    if (sample && sample_parse(&rate, sample) != 0)
        return TOOL_EXIT_ERROR;
    o.sample = rate;
    if (interval) {
        o.interval = strtod(interval, &end);
        if (*end || !(o.interval > 0)) {
            fprintf(stderr, "tmrun: --interval %s: expected a positive number of seconds\n",
                    interval);
            return TOOL_EXIT_ERROR;
        }
    }
    char lib[PATH_MAX], out[PATH_MAX + 64], def[64];
    if (find_library(lib, sizeof(lib)) < 0)
        return TOOL_EXIT_ERROR;
    if (!output) {
        snprintf(def, sizeof def, "%ld.tms", pid);
        output = def;
    }
    if (absolute_path(output, out, sizeof(out)) < 0)
        return TOOL_EXIT_ERROR;
    o.lib = lib;
    o.output = out;
    return tmrun_attach(&o);
}

int main(int argc, char **argv)
{
    enum {
        OPT_INTERVAL = 256,
        OPT_SIGNAL,
        OPT_UNWIND,
        OPT_PEAK,
        OPT_SAMPLE,
        OPT_CRASH,
        OPT_FOLLOW_FORK,
        OPT_FOR
    };
    static const struct option longopts[] = {
        { "nframe", required_argument, NULL, 'n' },
        { "output", required_argument, NULL, 'o' },
        { "interval", required_argument, NULL, OPT_INTERVAL },
        { "signal", required_argument, NULL, OPT_SIGNAL },
        { "peak", no_argument, NULL, OPT_PEAK },
        { "sample", required_argument, NULL, OPT_SAMPLE },
        { "crash", no_argument, NULL, OPT_CRASH },
        { "follow-fork", no_argument, NULL, OPT_FOLLOW_FORK },
        { "unwind", required_argument, NULL, OPT_UNWIND },
        { "pid", required_argument, NULL, 'p' },
        { "for", required_argument, NULL, OPT_FOR },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *nframe = "20", *output = NULL, *interval = NULL, *sig = NULL, *unwind = NULL,
               *sample = NULL;
    const char *attach_pid = NULL, *for_sec = NULL;
    int peak = 0, follow = 0, crash = 0, c;
    opterr = 0;
    /* '+': the first operand is PROGRAM, and what follows it is its own. */
    while ((c = getopt_long(argc, argv, "+:n:o:p:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': nframe = optarg; break;
        case 'o': output = optarg; break;
        case OPT_INTERVAL: interval = optarg; break;
        case OPT_SIGNAL: sig = optarg; break;
        case OPT_UNWIND: unwind = optarg; break;
        case OPT_PEAK: peak = 1; break;
        case OPT_SAMPLE: sample = optarg; break;
        case OPT_CRASH: crash = 1; break;
        case OPT_FOLLOW_FORK: follow = 1; break;
        case 'p': attach_pid = optarg; break;
        case OPT_FOR: for_sec = optarg; break;
        case 'h': usage(stdout); return TOOL_EXIT_OK;
        default: return tool_option_error(prog, c, argv, longopts);
        }
    }
    int i = optind;
    if (attach_pid || for_sec)
        return attach_main(attach_pid, for_sec, argc - i, nframe, output, interval, peak, sample,
                           sig || crash || follow || unwind);
    if (i >= argc)
        return tool_usage_error(prog, "no PROGRAM given");
    char *end;
    long nf = strtol(nframe, &end, 10);
    if (*end || nf < 1 || nf > 65535) {
        fprintf(stderr, "tmrun: -n %s: expected a number of frames from 1 to 65535\n", nframe);
        return TOOL_EXIT_ERROR;
    }
    if (interval) {
        double iv = strtod(interval, &end);
        if (*end || !(iv > 0)) {
            fprintf(stderr, "tmrun: --interval %s: expected a positive number of seconds\n",
                    interval);
            return TOOL_EXIT_ERROR;
        }
    }
    uint64_t rate;
    if (sample && sample_parse(&rate, sample) != 0)
        return TOOL_EXIT_ERROR;
    if (unwind && strcmp(unwind, "eh") && strcmp(unwind, "fp") && strcmp(unwind, "libgcc")) {
        fprintf(stderr, "tmrun: --unwind %s: expected eh, fp or libgcc\n", unwind);
        return TOOL_EXIT_ERROR;
    }
    char exe[PATH_MAX];
    find_program(argv[i], exe, sizeof exe);
    if (exe[0] && tool_elf_is_static(exe)) {
        fprintf(stderr,
                "tmrun: %s is statically linked: LD_PRELOAD cannot interpose its malloc, so\n"
                "nothing would be recorded.  Link it dynamically, or link libtmrecorder.a into\n"
                "it and use the runtime API (tm/recorder.h: TM_OUTPUT, tm_start, ...).\n",
                exe);
        return TOOL_EXIT_ERROR;
    }
    char lib[PATH_MAX], out[PATH_MAX + 64], def[PATH_MAX];
    if (find_library(lib, sizeof(lib)) < 0)
        return TOOL_EXIT_ERROR;
    if (!output) {
        const char *base = strrchr(argv[i], '/');
        snprintf(def, sizeof(def), "%s.tms", base ? base + 1 : argv[i]);
        output = def;
    }
    if (absolute_path(output, out, sizeof(out)) < 0)
        return TOOL_EXIT_ERROR;

    const char *old = getenv("LD_PRELOAD");
    size_t plen = strlen(lib) + (old ? strlen(old) : 0) + 2;
    char *preload = malloc(plen);
    if (!preload) {
        fprintf(stderr, "tmrun: out of memory\n");
        return TOOL_EXIT_ERROR;
    }
    snprintf(preload, plen, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
    char pid[32];
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    setenv("LD_PRELOAD", preload, 1);
    setenv("TM_OUTPUT", out, 1);
    setenv("TM_NFRAME", nframe, 1);
    setenv("TM_ROOT_PID", pid, 1); /* exec keeps our pid */
    unsetenv("TM_START");
    if (interval)
        setenv("TM_INTERVAL", interval, 1);
    else
        unsetenv("TM_INTERVAL");
    if (sig)
        setenv("TM_SIGNAL", sig, 1);
    else
        unsetenv("TM_SIGNAL");
    if (peak)
        setenv("TM_PEAK", "1", 1);
    else
        unsetenv("TM_PEAK");
    if (sample)
        setenv("TM_SAMPLE", sample, 1);
    else
        unsetenv("TM_SAMPLE");
    if (crash)
        setenv("TM_CRASH", "1", 1);
    else
        unsetenv("TM_CRASH");
    if (follow)
        setenv("TM_FOLLOW_FORK", "1", 1);
    else
        unsetenv("TM_FOLLOW_FORK");
    if (unwind)
        setenv("TM_UNWIND", unwind, 1);
    execvp(argv[i], argv + i);
    fprintf(stderr, "tmrun: %s: %s\n", argv[i], strerror(errno));
    return errno == ENOENT ? TMRUN_EXIT_NOT_FOUND : TMRUN_EXIT_CANNOT_RUN;
}
