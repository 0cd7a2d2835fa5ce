/*
 * recorder_bench: cost of the recorder per malloc/free pair.
 *
 *   recorder_bench [--smoke] [--pairs N] [--live N] [--depth N] [--sample SIZE]
 *                  [--reps N] [--no-heaptrack]
 *
 * For 1 and 2 threads, runs this program as a worker in the same run: bare,
 * under tmrun (-n 20), under tmrun --sample SIZE (default 512KiB: Poisson
 * sampling by bytes), attached by tmrun -p (-n 20: started bare, attached
 * before its threads start, its exit writes the snapshot), and under
 * heaptrack twice (skipped if heaptrack is missing, with --smoke or
 * --no-heaptrack).  Each worker thread descends `depth` frames,
 * then does `pairs` free+malloc pairs (16..256 bytes) over its share of
 * `live` blocks from four leaf functions, and reports the time of that loop
 * (best of --reps runs, default 3, for bare and the tmrun variants, 1 with
 * --smoke); ratios are over the bare loop time.  The sampled runs also
 * print the ratio of the loop's CPU time (best of the runs), which a busy
 * machine distorts less than wall time.  Under tmrun the worker also reports the recorder's own
 * memory (tm_get_tracemalloc_memory) before and after filling the live set,
 * i.e. the cost per live block.
 *
 * heaptrack (1.4.0 here): its preload library unwinds every allocation with
 * libunwind, deduplicates the trace in a per-process tree and writes one
 * text line per malloc and per free into a pipe.  `heaptrack --raw` sends
 * that pipe to `zstd` only; the default mode sends it through
 * `heaptrack_interpret` (symbolizes, builds the allocation index) while the
 * program runs.  Both consumers run concurrently on the second core, and a
 * full pipe stalls the program.  What is timed is the same worker loop as
 * for bare and tmrun: heaptrack's in-process cost plus any stall on the
 * pipe; not its start-up, nor the work after exit.  Each heaptrack run is
 * guarded by `ulimit -v` (16 GiB) and a 600 s timeout: a run that hits
 * either is reported as failed, not timed.
 *
 * Then it runs recorder_parts (next to this program): the breakdown of one
 * pair into the recorder's steps, and the full vs incremental unwind.
 *
 * Targets: <= 6x bare with one and two threads,
 * >= 4x faster than heaptrack, <= 48 bytes per live block; with --sample
 * 512KiB <= 1.10x bare with one and two threads and on python3.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long opt_pairs = 5000000, opt_live = 100000;
static int opt_depth = 20;
static const char *opt_sample = "512KiB";
static int opt_reps = 3;
static const char *opt_attach_cue; /* worker: wait for tmrun -p (DIR/ready, DIR/go) */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* This thread's CPU time: on a shared machine, the loop's wall time also
 * counts the time other processes held the core. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* --- worker --------------------------------------------------------------- */

static pthread_barrier_t barrier;
static size_t (*rec_mem)(void);
static size_t mem_before_fill, mem_after_fill;

typedef struct work {
    int index;
    void **slots;
    long nslots;
    long pairs;
    uint64_t rng;
    double seconds, cpu;
} work;

static inline uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#define LEAF(k)                                                                                    \
    __attribute__((noinline)) static void leaf##k(work *w, long i)                                 \
    {                                                                                              \
        uint64_t r = next_rand(&w->rng);                                                           \
        long slot = (long)(r % (uint64_t)w->nslots);                                               \
        free(w->slots[slot]);                                                                      \
        w->slots[slot] = malloc(16 + (size_t)((r >> 32) % 241));                                   \
        /* k in a register: four different bodies, which the linker's    \
         * identical code folding would otherwise merge into one leaf. */                         \
        __asm__ volatile("" ::"r"(i), "r"((long)k) : "memory");                                    \
    }
LEAF(0)
LEAF(1)
LEAF(2)
LEAF(3)

__attribute__((noinline)) static void fill(work *w)
{
    for (long i = 0; i < w->nslots; i++)
        w->slots[i] = malloc(16 + (size_t)(next_rand(&w->rng) % 241));
}

__attribute__((noinline)) static void bottom(work *w)
{
    /* Warm up (first stacks, unwind cache, thread buffers), then measure the
     * recorder's memory around filling the live set. */
    free(malloc(1));
    pthread_barrier_wait(&barrier);
    if (w->index == 0 && rec_mem)
        mem_before_fill = rec_mem();
    pthread_barrier_wait(&barrier);
    fill(w);
    pthread_barrier_wait(&barrier);
    if (w->index == 0 && rec_mem)
        mem_after_fill = rec_mem();
    pthread_barrier_wait(&barrier);
    double t0 = now_s(), c0 = cpu_s();
    for (long i = 0; i < w->pairs; i++) {
        switch (i & 3) {
        case 0: leaf0(w, i); break;
        case 1: leaf1(w, i); break;
        case 2: leaf2(w, i); break;
        default: leaf3(w, i); break;
        }
    }
    w->seconds = now_s() - t0;
    w->cpu = cpu_s() - c0;
}

__attribute__((noinline)) static int descend(work *w, int d)
{
    int r = 0;
    if (d > 0)
        r = descend(w, d - 1);
    else
        bottom(w);
    /* Keeps one frame per level: without it gcc turns the recursion into
     * a loop (accumulator), and the stacks would be 6 frames deep. */
    __asm__ volatile("" : "+r"(r)::"memory");
    return r + 1;
}

static void *worker_thread(void *arg)
{
    work *w = arg;
    descend(w, opt_depth - 4); /* + bottom, leaf, thread start, clone */
    return NULL;
}

static int path_exists(const char *dir, const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* Says it is ready, then waits until tmrun -p has attached (DIR/go). */
static void attach_wait(const char *dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/ready", dir);
    FILE *f = fopen(p, "w");
    if (!f)
        return;
    fprintf(f, "%ld\n", (long)getpid());
    fclose(f);
    while (!path_exists(dir, "go"))
        usleep(1000);
}

static int worker(int nthreads)
{
    rec_mem = (size_t(*)(void))dlsym(RTLD_DEFAULT, "tm_get_tracemalloc_memory");
    if (opt_attach_cue)
        attach_wait(opt_attach_cue);
    pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
    work w[8];
    pthread_t th[8];
    for (int t = 0; t < nthreads; t++) {
        w[t].index = t;
        w[t].nslots = opt_live / nthreads;
        w[t].slots = calloc((size_t)w[t].nslots, sizeof(void *));
        w[t].pairs = opt_pairs;
        w[t].rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(t + 1);
        if (!w[t].slots)
            return 1;
    }
    for (int t = 0; t < nthreads; t++)
        pthread_create(&th[t], NULL, worker_thread, &w[t]);
    double max = 0, cpu = 0;
    for (int t = 0; t < nthreads; t++) {
        pthread_join(th[t], NULL);
        if (w[t].seconds > max)
            max = w[t].seconds;
        if (w[t].cpu > cpu)
            cpu = w[t].cpu;
    }
    printf("loop %.6f\ncpu %.6f\n", max, cpu);
    if (rec_mem)
        printf("recorder_memory %zu %zu\n", mem_before_fill, mem_after_fill);
    /* The live blocks stay allocated: the snapshot at exit sees them. */
    return 0;
}

/* --- driver ------------------------------------------------------------------ */

typedef struct result {
    double loop, wall, cpu; /* cpu: the loop's CPU time (max over threads) */
    size_t mem0, mem1;
    int ok;
    char text[4096];
} result;

static result run(char *const argv[])
{
    result r;
    memset(&r, 0, sizeof(r));
    int fds[2];
    if (pipe(fds) != 0)
        return r;
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        int devnull = open("/dev/null", 1);
        if (devnull >= 0)
            dup2(devnull, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    char buf[4096];
    size_t n = 0;
    ssize_t k;
    while ((k = read(fds[0], buf + n, sizeof(buf) - 1 - n)) > 0)
        n += (size_t)k;
    buf[n] = 0;
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    r.wall = now_s() - t0;
    memcpy(r.text, buf, n + 1);
    char *p = strstr(buf, "loop ");
    if ((p || strstr(buf, "parts ")) && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        r.loop = p ? atof(p + 5) : 0;
        r.ok = 1;
    }
    if ((p = strstr(buf, "\ncpu ")))
        r.cpu = atof(p + 5);
    if ((p = strstr(buf, "recorder_memory ")))
        sscanf(p, "recorder_memory %zu %zu", &r.mem0, &r.mem1);
    return r;
}

/* The worker (argv, with --attach-cue dir) started bare and attached by
 * tmrun -p before its threads start; its exit writes the snapshot. */
static result run_attached(char *const argv[], const char *tmrun, const char *out, const char *dir)
{
    result r;
    memset(&r, 0, sizeof(r));
    char p[4200];
    snprintf(p, sizeof p, "%s/ready", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/go", dir);
    unlink(p);
    int fds[2];
    if (pipe(fds) != 0)
        return r;
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    for (int i = 0; i < 10000 && !path_exists(dir, "ready"); i++)
        usleep(1000);
    char spid[32], err[4200];
    snprintf(spid, sizeof spid, "%ld", (long)pid);
    snprintf(err, sizeof err, "%s/tmrun.err", dir);
    pid_t t = fork();
    if (t == 0) {
        int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0)
            dup2(fd, 2);
        execl(tmrun, tmrun, "-p", spid, "-n", "20", "-o", out, (char *)NULL);
        _exit(127);
    }
    int attached = 0;
    for (int i = 0; i < 10000 && !attached; i++) {
        char buf[1024] = "";
        FILE *f = fopen(err, "r");
        if (f) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            buf[n] = 0;
            fclose(f);
        }
        attached = strstr(buf, "attached to") != NULL;
        if (!attached)
            usleep(1000);
    }
    FILE *g = fopen(p, "w");
    if (g)
        fclose(g);
    char buf[4096];
    size_t n = 0;
    ssize_t k;
    while ((k = read(fds[0], buf + n, sizeof(buf) - 1 - n)) > 0)
        n += (size_t)k;
    buf[n] = 0;
    close(fds[0]);
    int st, tst;
    waitpid(pid, &st, 0);
    waitpid(t, &tst, 0);
    r.wall = now_s() - t0;
    char *l = strstr(buf, "loop ");
    if (attached && l && WIFEXITED(st) && WEXITSTATUS(st) == 0 && WIFEXITED(tst) &&
        WEXITSTATUS(tst) == 0) {
        r.loop = atof(l + 5);
        r.ok = 1;
    }
    return r;
}

/* Runs recorder_parts and prints where one pair's nanoseconds go. */
static int print_parts(const char *self, long pairs, const char *live, const char *depth,
                       double bare_ns, double rec_ns)
{
    char parts[4200], np[32];
    snprintf(parts, sizeof(parts), "%.*s/recorder_parts", (int)(strrchr(self, '/') - self), self);
    snprintf(np, sizeof(np), "%ld", pairs);
    char *argv[] = { parts, "--pairs", np, "--live", (char *)live, "--depth", (char *)depth, NULL };
    result r = run(argv);
    if (!r.ok && access(parts, X_OK) != 0) {
        printf("  breakdown: %s not built (TM_SANITIZE)\n", parts);
        return 0;
    }
    static const char *keys[] = { "malloc+free", "live",    "counters",   "intern",
                                  "stack_id",    "nocache", "unwind_full" };
    double v[7];
    unsigned frames = 0;
    if (!strstr(r.text, "parts frames ") ||
        sscanf(strstr(r.text, "parts frames "), "parts frames %u", &frames) != 1)
        r.ok = 0;
    for (int k = 0; k < 7 && r.ok; k++) {
        char key[64];
        snprintf(key, sizeof(key), "parts %s ", keys[k]);
        const char *p = strstr(r.text, key);
        if (!p)
            r.ok = 0;
        else
            v[k] = atof(p + strlen(key));
    }
    if (!r.ok) {
        printf("  breakdown: recorder_parts failed\n");
        return 1;
    }
    double live_ns = v[1] - v[0];
    printf("  breakdown of one traced pair, %u-frame stacks (recorder_parts, %ld pairs, "
           "best of 3, ns):\n",
           frames, pairs);
    printf("    real malloc+free (hooks in, not tracing) %7.1f   bare run: %.1f\n", v[0], bare_ns);
    printf("    live table remove+insert, incl. counters %7.1f   (counters alone %.1f)\n", live_ns,
           v[2]);
    printf("    stack id: incremental walk + id cache     %7.1f   (the hooks' path)\n", v[4]);
    printf("      without the id cache (walk + dedup)     %7.1f   hash + dedup alone: %.1f;"
           " full walk, no dedup: %.1f\n",
           v[5], v[3], v[6]);
    double sum = v[0] + live_ns + v[4];
    printf("    sum of the steps                          %7.1f   tmrun 1 thread: %.1f\n", sum,
           rec_ns);
    printf("    (one step at a time here, each waiting for its own cache misses; under tmrun a\n"
           "    free only queues its block and starts loading its lines: it is untracked 4 frees\n"
           "    and given back 10 frees later, so the misses overlap the work in between)\n");
    return 0;
}

/* A real program next to the synthetic loop: python3 with every object
 * from malloc (PYTHONMALLOC=malloc) building, dumping and parsing a JSON
 * list of 300 000 dicts: millions of allocations with deep, varied stacks
 * and a live set that grows to millions of blocks (the synthetic loop
 * keeps 100 000).  The script times itself, like the worker. */
/* Best loop time, and separately the best CPU time. */
static void keep_best(result *best, const result *r)
{
    if (!r->ok)
        return;
    double cpu = best->ok && best->cpu < r->cpu ? best->cpu : r->cpu;
    if (!best->ok || r->loop < best->loop)
        *best = *r;
    best->cpu = cpu;
}

static void real_program(const char *tmrun, const char *out, const char *hout, int have_heaptrack)
{
    static const char script[] = "import json, time\n"
                                 "t = time.perf_counter()\n"
                                 "d = [{'k': i, 'v': [str(i)] * 5} for i in range(300000)]\n"
                                 "json.loads(json.dumps(d))\n"
                                 "del d\n"
                                 "print('loop %.6f' % (time.perf_counter() - t))\n";
    /* The interpreter itself, not a launcher script (pyenv's shim) that
     * heaptrack would trace instead. */
    char py[4096] = "";
    FILE *f = popen("python3 -c 'import sys; print(sys.executable)' 2>/dev/null", "r");
    if (f) {
        if (!fgets(py, sizeof(py), f))
            py[0] = 0;
        pclose(f);
    }
    py[strcspn(py, "\n")] = 0;
    if (!py[0]) {
        printf("  real program: python3 not found, skipped\n");
        return;
    }
    setenv("PYTHONMALLOC", "malloc", 1);
    static const char guard[] = "ulimit -v 16777216; exec timeout 600 heaptrack \"$@\"";
    char *bare[] = { py, "-c", (char *)script, NULL };
    char *rec[] = { (char *)tmrun, "-n", "20", "-o",           (char *)out,
                    "--",          py,   "-c", (char *)script, NULL };
    char *recp[] = { (char *)tmrun, "-n", "20", "--peak",       "-o", (char *)out,
                     "--",          py,   "-c", (char *)script, NULL };
    char *recs[] = { (char *)tmrun, "-n", "20", "--sample", (char *)opt_sample, "-o",
                     (char *)out,   "--", py,   "-c",       (char *)script,     NULL };
    char *ht[] = { "bash",       "-c", (char *)guard, "heaptrack",    "--raw", "-o",
                   (char *)hout, py,   "-c",          (char *)script, NULL };
    /* Best of 3, interleaved: the sampled run is within a few percent of
     * bare, so a noisy second on a shared machine would decide it. */
    result b = run(bare), r = run(rec), rp = run(recp), rs = run(recs);
    for (int k = 1; k < opt_reps; k++) {
        result b2 = run(bare), r2 = run(rec), rp2 = run(recp), rs2 = run(recs);
        keep_best(&b, &b2);
        keep_best(&r, &r2);
        keep_best(&rp, &rp2);
        keep_best(&rs, &rs2);
    }
    unsetenv("PYTHONMALLOC");
    if (!b.ok || !r.ok) {
        printf("  real program (python3): a run failed (bare %d, tmrun %d)\n", b.ok, r.ok);
        return;
    }
    printf("  real program: python3, PYTHONMALLOC=malloc, a 300 000-dict JSON built, dumped "
           "and parsed:\n    bare %.3f s  tmrun %.3f s (%.2fx bare)",
           b.loop, r.loop, r.loop / b.loop);
    if (rp.ok)
        printf("  tmrun --peak %.3f s (%.2fx bare, %+.1f%% over tmrun)", rp.loop, rp.loop / b.loop,
               100.0 * (rp.loop / r.loop - 1));
    if (rs.ok)
        printf("\n    tmrun --sample %s %.3f s (%.3fx bare)", opt_sample, rs.loop,
               rs.loop / b.loop);
    else
        printf("\n    tmrun --sample %s: failed", opt_sample);
    if (have_heaptrack) {
        setenv("PYTHONMALLOC", "malloc", 1);
        result h = run(ht);
        unsetenv("PYTHONMALLOC");
        if (h.ok)
            printf("  heaptrack --raw %.3f s (%.2fx bare; tmrun %.1fx faster)", h.loop,
                   h.loop / b.loop, h.loop / r.loop);
        else
            printf("  heaptrack --raw: failed");
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    int smoke = 0, worker_threads = 0, no_heaptrack = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0)
            smoke = 1;
        else if (strcmp(argv[i], "--worker") == 0 && i + 1 < argc)
            worker_threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--pairs") == 0 && i + 1 < argc)
            opt_pairs = atol(argv[++i]);
        else if (strcmp(argv[i], "--live") == 0 && i + 1 < argc)
            opt_live = atol(argv[++i]);
        else if (strcmp(argv[i], "--depth") == 0 && i + 1 < argc)
            opt_depth = atoi(argv[++i]);
        else if (strcmp(argv[i], "--sample") == 0 && i + 1 < argc)
            opt_sample = argv[++i];
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            opt_reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--no-heaptrack") == 0)
            no_heaptrack = 1;
        else if (strcmp(argv[i], "--attach-cue") == 0 && i + 1 < argc)
            opt_attach_cue = argv[++i];
        else {
            fprintf(stderr,
                    "usage: recorder_bench [--smoke] [--pairs N] [--live N] [--depth N] "
                    "[--sample SIZE] [--reps N] [--no-heaptrack]\n");
            return 2;
        }
    }
    if (opt_depth < 5 || opt_live < 8 || opt_pairs < 1 || opt_reps < 1) {
        fprintf(stderr, "recorder_bench: --depth >= 5, --live >= 8, --pairs >= 1, --reps >= 1\n");
        return 2;
    }
    if (worker_threads)
        return worker(worker_threads > 8 ? 8 : worker_threads);
    if (smoke) {
        opt_pairs = 200000;
        opt_live = 10000;
    }

    char self[4096], tmrun[4200], out[4200], hout[4200];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return 2;
    self[n] = 0;
    const char *bdir = getenv("TM_BUILD_DIR");
    if (bdir)
        snprintf(tmrun, sizeof(tmrun), "%s/recorder/tmrun", bdir);
    else
        snprintf(tmrun, sizeof(tmrun), "%.*s/../../recorder/tmrun",
                 (int)(strrchr(self, '/') - self), self);
    snprintf(out, sizeof(out), "/tmp/recorder_bench.%ld.tms", (long)getpid());
    snprintf(hout, sizeof(hout), "/tmp/recorder_bench.%ld.heaptrack", (long)getpid());
    int have_heaptrack =
        !smoke && !no_heaptrack && system("heaptrack --version >/dev/null 2>&1") == 0;
    char cue_dir[] = "/tmp/recorder_bench.XXXXXX";
    if (!mkdtemp(cue_dir))
        return 2;

    char pairs[32], live[32], depth[32], nt[8];
    snprintf(pairs, sizeof(pairs), "%ld", opt_pairs);
    snprintf(live, sizeof(live), "%ld", opt_live);
    snprintf(depth, sizeof(depth), "%d", opt_depth);
    printf("recorder_bench: %ld malloc/free pairs per thread over %ld live blocks, "
           "%d-frame stacks%s\n",
           opt_pairs, opt_live, opt_depth, smoke ? " (smoke)" : "");
    int fail = 0;
    double bare1_ns = 0, rec1_ns = 0;
    for (int threads = 1; threads <= 2; threads++) {
        snprintf(nt, sizeof(nt), "%d", threads);
        char *bare[] = { self,     "--worker", nt,        "--pairs", pairs,
                         "--live", live,       "--depth", depth,     NULL };
        char *rec[] = { tmrun, "-n",      "20",  "-o",     out,  "--",      self,  "--worker",
                        nt,    "--pairs", pairs, "--live", live, "--depth", depth, NULL };
        char *recp[] = { tmrun,    "-n", "20",       "--peak", "-o",      out,
                         "--",     self, "--worker", nt,       "--pairs", pairs,
                         "--live", live, "--depth",  depth,    NULL };
        char *recs[] = { tmrun,     "-n",      "20",  "--sample", (char *)opt_sample,
                         "-o",      out,       "--",  self,       "--worker",
                         nt,        "--pairs", pairs, "--live",   live,
                         "--depth", depth,     NULL };
        /* ulimit/timeout guard: heaptrack_interpret has been seen to need
         * more than 18 GB on runs like this one. */
        static const char guard[] = "ulimit -v 16777216; exec timeout 600 heaptrack \"$@\"";
        char *ht[] = { "bash",   "-c", (char *)guard, "heaptrack", "--raw",   "-o",
                       hout,     self, "--worker",    nt,          "--pairs", pairs,
                       "--live", live, "--depth",     depth,       NULL };
        char *hti[] = { "bash",     "-c", (char *)guard, "heaptrack", "-o",     hout, self,
                        "--worker", nt,   "--pairs",     pairs,       "--live", live, "--depth",
                        depth,      NULL };
        char *att[] = { self, "--worker", nt,    "--pairs",      pairs,   "--live",
                        live, "--depth",  depth, "--attach-cue", cue_dir, NULL };
        /* Best of `reps` for bare and tmrun: the machine is shared. */
        int reps = smoke ? 1 : opt_reps;
        /* Interleaved, so that a noisy minute hurts all three alike. */
        result b = run(bare), r = run(rec), rp = run(recp), rs = run(recs), h, hi;
        result a = run_attached(att, tmrun, out, cue_dir);
        memset(&h, 0, sizeof(h));
        memset(&hi, 0, sizeof(hi));
        for (int k = 1; k < reps; k++) {
            result a2 = run_attached(att, tmrun, out, cue_dir);
            keep_best(&a, &a2);
            result b2 = run(bare), r2 = run(rec), rp2 = run(recp), rs2 = run(recs);
            keep_best(&b, &b2);
            keep_best(&r, &r2);
            keep_best(&rp, &rp2);
            keep_best(&rs, &rs2);
        }
        if (have_heaptrack) {
            h = run(ht);
            hi = run(hti);
        }
        if (!b.ok || !r.ok) {
            printf("  %d thread(s): a run failed (bare %d, tmrun %d)\n", threads, b.ok, r.ok);
            fail = 1;
            continue;
        }
        double per = opt_pairs / 1e9;
        if (threads == 1) {
            bare1_ns = b.loop / per;
            rec1_ns = r.loop / per;
        }
        printf(
            "  %d thread(s): bare %.3f s (%.1f ns/pair)  tmrun %.3f s (%.1f ns/pair, %.2fx bare)",
            threads, b.loop, b.loop / per, r.loop, r.loop / per, r.loop / b.loop);
        printf("\n");
        if (a.ok)
            printf("    tmrun -p (attached) %.3f s (%.1f ns/pair, %.2fx bare, %.2fx tmrun)\n",
                   a.loop, a.loop / per, a.loop / b.loop, a.loop / r.loop);
        else {
            printf("    tmrun -p (attached): failed\n");
            fail = 1;
        }
        if (rp.ok)
            printf("    tmrun --peak %.3f s (%.1f ns/pair, %.2fx bare, %+.1f%% over tmrun)\n",
                   rp.loop, rp.loop / per, rp.loop / b.loop, 100.0 * (rp.loop / r.loop - 1));
        else
            printf("    tmrun --peak: failed\n");
        if (rs.ok)
            printf("    tmrun --sample %s %.3f s (%.1f ns/pair, %.3fx bare; CPU time %.3fx bare, "
                   "full tracing %.3fx)\n",
                   opt_sample, rs.loop, rs.loop / per, rs.loop / b.loop, rs.cpu / b.cpu,
                   r.cpu / b.cpu);
        else {
            printf("    tmrun --sample %s: failed\n", opt_sample);
            fail = 1;
        }
        if (!have_heaptrack)
            printf("    heaptrack: %s\n", smoke ? "skipped (--smoke)" : "not available");
        const char *hname[2] = { "heaptrack --raw", "heaptrack (interpreting)" };
        const result *hr[2] = { &h, &hi };
        for (int k = 0; k < 2 && have_heaptrack; k++) {
            if (hr[k]->ok)
                printf("    %s %.3f s (%.1f ns/pair, %.2fx bare; tmrun %.1fx faster)\n", hname[k],
                       hr[k]->loop, hr[k]->loop / per, hr[k]->loop / b.loop, hr[k]->loop / r.loop);
            else
                printf("    %s: failed (memory limit 16 GiB, 600 s, or error)\n", hname[k]);
        }
        printf("    wall incl. start+snapshot: bare %.3f s, tmrun %.3f s", b.wall, r.wall);
        for (int k = 0; k < 2 && have_heaptrack; k++)
            if (hr[k]->ok)
                printf(", %s %.3f s", hname[k], hr[k]->wall);
        printf("\n");
        if (r.mem1 > r.mem0)
            printf("    recorder memory: %zu bytes before the live set, %zu after: %.1f bytes per "
                   "live block\n",
                   r.mem0, r.mem1, (double)(r.mem1 - r.mem0) / (double)opt_live);
    }
    if (!smoke)
        real_program(tmrun, out, hout, have_heaptrack);
    if (!fail)
        fail = print_parts(self, smoke ? opt_pairs : 2000000, live, depth, bare1_ns, rec1_ns);
    unlink(out);
    char cue_file[4200];
    snprintf(cue_file, sizeof cue_file, "%s/ready", cue_dir);
    unlink(cue_file);
    snprintf(cue_file, sizeof cue_file, "%s/go", cue_dir);
    unlink(cue_file);
    snprintf(cue_file, sizeof cue_file, "%s/tmrun.err", cue_dir);
    unlink(cue_file);
    rmdir(cue_dir);
    char peak_out[4300];
    snprintf(peak_out, sizeof(peak_out), "%.*s.peak.tms", (int)(strlen(out) - 4), out);
    unlink(peak_out);
    char cmd[4400];
    snprintf(cmd, sizeof(cmd), "rm -f %s*", hout);
    if (system(cmd) != 0) {
        /* nothing to clean */
    }
    return fail;
}
