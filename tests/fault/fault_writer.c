/*
 * A writer to kill: builds two large, different snapshots (variants 0 and 1)
 * and writes them with tm_tms_write (fsync on), for the crash tests in
 * tests/cli/fault_kill_writer.sh.
 *
 *   fault_writer loop PATH         write variant 0, 1, 0, ... to PATH forever
 *   fault_writer kill PATH N SEED  N times: fork a child that loops like
 *                                  `loop`, SIGKILL it after a random delay
 *                                  (0 .. 2.5 write periods, measured first),
 *                                  then check PATH and count the child's
 *                                  temporary files; exit 3 on any bad file
 *   fault_writer once PATH V [N]   write variant V once (with N traces);
 *                                  V = 0h / 1h: the loop's heavy variant
 *   fault_writer check PATH        read PATH; exit 0 and print the variant if
 *                                  it is exactly one of them, else exit 3
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tm/snapshot.h"
#include "tm/tms.h"

static void die(const char *what, const tm_error *err)
{
    fprintf(stderr, "fault_writer: %s: %s\n", what, err->message);
    exit(2);
}

static size_t ntraces_override;
/* loop/check: 1500 distinct 8 KiB function names stored raw (no zstd), so
 * that most of a write's time is write() + fsync() of a temporary file --
 * the window a kill has to hit. */
static int heavy;

static tm_snapshot *variant(int v)
{
    tm_error err;
    tm_snapshot *s;
    if (tm_snapshot_new(&s, &err))
        die("new", &err);
    uint32_t files[64], frames[512], fnames[1500];
    size_t nbig = heavy ? 1500 : 0;
    for (size_t i = 0; i < nbig; i++) {
        char big[8192];
        for (size_t k = 0; k < sizeof big; k++)
            big[k] = (char)('a' + (i * 7 + k * 13 + (k >> 5) + (size_t)v) % 26);
        char tag[48];
        int n = snprintf(tag, sizeof tag, "fn%05zu_v%d_", i, v);
        memcpy(big, tag, (size_t)n);
        if (tm_snapshot_intern_string(&fnames[i], s, big, sizeof big, &err))
            die("big string", &err);
    }
    for (int i = 0; i < 64; i++) {
        char name[64];
        int n = snprintf(name, sizeof name, "src/module_%d/file_%d.c", i % 7, i);
        if (tm_snapshot_intern_string(&files[i], s, name, (size_t)n, &err))
            die("string", &err);
    }
    for (int i = 0; i < 512; i++) {
        tm_frame f = { 0 };
        f.module = TM_NONE;
        f.file = files[i % 64];
        f.line = (uint32_t)(i * 31 % 997 + 1);
        f.inlined_by = TM_NONE;
        if (nbig)
            f.function = fnames[(size_t)i * 3 % nbig];
        if (tm_snapshot_intern_frame(&frames[i], s, &f, &err))
            die("frame", &err);
    }
    tm_metadata md = { 0 };
    md.nframe_limit = 16;
    md.sequence = (uint32_t)v;
    if (tm_snapshot_set_metadata(s, &md, &err))
        die("metadata", &err);
    size_t ntraces = ntraces_override ? ntraces_override
        : heavy                       ? 40000u + 10000u * (size_t)v
        : v                           ? 150000
                                      : 200000;
    uint64_t x = 0x9e3779b97f4a7c15ull + (uint64_t)v;
    for (size_t t = 0; t < ntraces; t++) {
        uint32_t st[16];
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t depth = 1 + x % 16;
        for (size_t k = 0; k < depth; k++)
            st[k] = frames[(x >> (k * 3)) % 512];
        tm_trace tr = { 0 };
        if (tm_snapshot_intern_stack(&tr.stack, s, st, depth, &err))
            die("stack", &err);
        tr.size = (x >> 20) % 4096 + 1;
        if (tm_snapshot_add_trace(s, &tr, (uint32_t)depth, &err))
            die("trace", &err);
    }
    return s;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 0 or 1 if the file at path is exactly that variant, -1 otherwise. */
static int which_variant(const char *path, tm_snapshot *const want[2], tm_error *err)
{
    tm_snapshot *got;
    if (tm_tms_read(&got, path, err))
        return -1;
    uint32_t v = tm_snapshot_metadata(got)->sequence;
    int ok = v < 2 && tm_snapshot_trace_count(got) == tm_snapshot_trace_count(want[v]) &&
        tm_snapshot_string_count(got) == tm_snapshot_string_count(want[v]) &&
        tm_snapshot_total_size(got) == tm_snapshot_total_size(want[v]) &&
        tm_snapshot_stack_count(got) == tm_snapshot_stack_count(want[v]);
    tm_snapshot_free(got);
    if (!ok)
        tm_error_set(err, TM_EFORMAT, "%s: not one of the written snapshots", path);
    return ok ? (int)v : -1;
}

static int count_temps(const char *path, long pid)
{
    char dir[4096], prefix[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : path;
    snprintf(prefix, sizeof prefix, ".%s.tmp.%ld.", base, pid);
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
}

static int kill_test(const char *path, int iterations, unsigned long seed, tm_snapshot *const s[2],
                     const tm_tms_write_options *o)
{
    tm_error err;
    double t0 = now_s();
    for (int i = 0; i < 4; i++)
        if (tm_tms_write(s[i % 2], path, o, &err))
            die("write", &err);
    double period = (now_s() - t0) / 4;
    /* Each child first writes the variant the file does not hold, so a
     * changed file proves that the kill came after a rename. */
    int bad = 0, changed = 0, unchanged = 0, temps = 0, prev = 1;
    uint64_t x = seed * 2654435761u + 1;
    for (int i = 0; i < iterations; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double delay = period * 2.5 * (double)(x % 10000) / 10000.0;
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 2;
        }
        if (pid == 0) {
            for (unsigned long k = (unsigned long)prev + 1;; k++)
                if (tm_tms_write(s[k % 2], path, o, &err))
                    die("write", &err);
        }
        struct timespec ts = { (time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9) };
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        int v = which_variant(path, s, &err);
        int t = count_temps(path, (long)pid);
        temps += t > 0;
        if (v < 0) {
            fprintf(stderr, "fault_writer: kill %d after %.1f ms: %s\n", i, delay * 1e3,
                    err.message);
            bad++;
            continue;
        }
        if (v != prev)
            changed++;
        else
            unchanged++;
        prev = v;
    }
    printf("%d kills, write period %.1f ms, seed %lu: the file changed %d times, not %d times; "
           "%d kills left a temporary file; %d bad files\n",
           iterations, period * 1e3, seed, changed, unchanged, temps, bad);
    printf("seen %d %d temps %d\n", changed, unchanged, temps);
    return bad ? 3 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: fault_writer loop|once|check PATH [V]\n");
        return 2;
    }
    const char *mode = argv[1], *path = argv[2];
    tm_error err;
    heavy = strcmp(mode, "once") != 0 || (argc > 3 && argv[3][1] == 'h');
    if (strcmp(mode, "check") == 0) {
        tm_snapshot *got;
        if (tm_tms_read(&got, path, &err))
            die("read", &err);
        int v = (int)tm_snapshot_metadata(got)->sequence;
        int ok = 0;
        if (v == 0 || v == 1) {
            tm_snapshot *want = variant(v);
            ok = tm_snapshot_trace_count(got) == tm_snapshot_trace_count(want) &&
                tm_snapshot_string_count(got) == tm_snapshot_string_count(want) &&
                tm_snapshot_total_size(got) == tm_snapshot_total_size(want) &&
                tm_snapshot_stack_count(got) == tm_snapshot_stack_count(want);
            tm_snapshot_free(want);
        }
        tm_snapshot_free(got);
        if (!ok) {
            fprintf(stderr, "fault_writer: %s: not one of the written snapshots\n", path);
            return 3;
        }
        printf("%d\n", v);
        return 0;
    }
    if (strcmp(mode, "once") == 0 && argc > 4)
        ntraces_override = strtoul(argv[4], NULL, 10);
    tm_snapshot *s[2] = { variant(0), variant(1) };
    tm_tms_write_options o = TM_TMS_WRITE_OPTIONS_INIT; /* fsync on: the real thing */
    if (heavy)
        o.compression_level = -1;
    int rc = 0;
    if (strcmp(mode, "kill") == 0) {
        rc = kill_test(path, argc > 3 ? atoi(argv[3]) : 20,
                       argc > 4 ? strtoul(argv[4], NULL, 10) : 1, s, &o);
    } else if (strcmp(mode, "once") == 0) {
        int v = argc > 3 && argv[3][0] == '1';
        if (tm_tms_write(s[v], path, &o, &err)) {
            fprintf(stderr, "fault_writer: %s\n", err.message);
            rc = 2;
        }
    } else {
        printf("ready\n"); /* the killer times its delays from here */
        fflush(stdout);
        for (unsigned long i = 0;; i++)
            if (tm_tms_write(s[i % 2], path, &o, &err))
                die("write", &err);
    }
    tm_snapshot_free(s[0]);
    tm_snapshot_free(s[1]);
    return rc;
}
