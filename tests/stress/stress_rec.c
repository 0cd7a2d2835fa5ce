/*
 * Recorder stress: 8 threads of random malloc/calloc/realloc/posix_memalign/
 * free, one thread forking children that allocate (no lock may be held in
 * the child), a thread bombarding the workers with signals (EINTR, hooks
 * interrupted at random points) and, when run under tmrun --signal USR2
 * --interval, snapshots written concurrently.  At the end the traces in the
 * stress size range must be exactly the blocks the workers still hold, and
 * traced current must equal the snapshot's total.
 *
 * With STRESS_SAMPLE=R (bytes), the same under Poisson sampling at rate R
 * (tm_set_sample_rate): then every trace in the stress range must be a
 * block a worker still holds, with its size (tm_get_object_traceback finds
 * exactly as many of the held blocks as there are such traces: a freed
 * block whose trace stayed, a free the sampled-block filter missed, would
 * make one more), and some but not all held blocks are traced.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tm/recorder.h"

#define NTHREADS 8
#define SLOTS 512
#define SMIN 2000 /* stress block sizes: [SMIN, SMAX) */
#define SMAX 4000

static long iters = 200000;
static _Atomic int stop_aux;
static pthread_t workers[NTHREADS];
static int worker_done[NTHREADS];
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct wstate {
    void *p[SLOTS];
    size_t sz[SLOTS];
    uint64_t rng;
} wstate;

static wstate ws[NTHREADS];

static inline uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void on_usr1(int sig)
{
    (void)sig; /* only interrupts */
}

static void *worker(void *arg)
{
    wstate *w = arg;
    for (long i = 0; i < iters; i++) {
        uint64_t r = rnd(&w->rng);
        int k = (int)(r % SLOTS);
        size_t n = SMIN + (size_t)((r >> 20) % (SMAX - SMIN));
        switch ((r >> 40) % 6) {
        case 0:
        case 1:
            free(w->p[k]);
            w->p[k] = malloc(n);
            w->sz[k] = n;
            break;
        case 2: {
            void *q = realloc(w->p[k], n);
            if (q) {
                w->p[k] = q;
                w->sz[k] = n;
            }
            break;
        }
        case 3:
            free(w->p[k]);
            w->p[k] = calloc(1, n);
            w->sz[k] = n;
            break;
        case 4:
            free(w->p[k]);
            w->p[k] = NULL;
            if (posix_memalign(&w->p[k], 64, n) != 0)
                w->p[k] = NULL;
            w->sz[k] = w->p[k] ? n : 0;
            break;
        default:
            free(w->p[k]);
            w->p[k] = NULL;
            w->sz[k] = 0;
        }
        if (w->p[k])
            memset(w->p[k], 0xab, 16);
    }
    /* The signaller sends only to workers not done, under this lock, so
     * it never signals a thread that has exited. */
    pthread_mutex_lock(&done_lock);
    worker_done[w - ws] = 1;
    pthread_mutex_unlock(&done_lock);
    return NULL;
}

static void *forker(void *arg)
{
    (void)arg;
    int n = 0;
    while (!atomic_load(&stop_aux) && n < 20) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(20); /* a deadlock in the child fails the test, never hangs it */
            for (int i = 0; i < 1000; i++)
                free(malloc(100 + (size_t)i));
            _exit(0);
        }
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "stress_rec: forked child failed\n");
            exit(1);
        }
        n++;
        usleep(2000);
    }
    return NULL;
}

static void *signaller(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_aux)) {
        pthread_mutex_lock(&done_lock);
        for (int t = 0; t < NTHREADS; t++)
            if (!worker_done[t])
                pthread_kill(workers[t], SIGUSR1);
        pthread_mutex_unlock(&done_lock);
        usleep(200);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        iters = atol(argv[1]);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    const char *smp = getenv("STRESS_SAMPLE");
    uint64_t rate = smp ? strtoull(smp, NULL, 10) : 0;
    if (rate && tm_set_sample_rate(rate) != TM_OK)
        return 1;
    if (!tm_is_tracing() && tm_start(16) != TM_OK)
        return 1;
    for (int t = 0; t < NTHREADS; t++)
        ws[t].rng = 0x2545F4914F6CDD1DULL * (uint64_t)(t + 1);
    pthread_t fk, sg;
    for (int t = 0; t < NTHREADS; t++)
        pthread_create(&workers[t], NULL, worker, &ws[t]);
    pthread_create(&fk, NULL, forker, NULL);
    pthread_create(&sg, NULL, signaller, NULL);
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(workers[t], NULL);
    atomic_store(&stop_aux, 1);
    pthread_join(fk, NULL);
    pthread_join(sg, NULL);

    uint64_t exp_size = 0, exp_count = 0;
    for (int t = 0; t < NTHREADS; t++)
        for (int k = 0; k < SLOTS; k++)
            if (ws[t].p[k]) {
                exp_size += ws[t].sz[k];
                exp_count++;
            }
    tm_snapshot *s = NULL;
    tm_error err;
    size_t cur, peak;
    tm_get_traced_memory(&cur, &peak);
    if (tm_take_snapshot(&s, &err) != TM_OK) {
        fprintf(stderr, "stress_rec: %s\n", err.message);
        return 1;
    }
    uint64_t got_size = 0, got_count = 0;
    const tm_trace *tr = tm_snapshot_traces(s);
    for (size_t i = 0; i < tm_snapshot_trace_count(s); i++)
        if (tr[i].size >= SMIN && tr[i].size < SMAX) {
            got_size += tr[i].size;
            got_count++;
        }
    int ok = got_size == exp_size && got_count == exp_count && tm_snapshot_total_size(s) == cur &&
        peak >= cur;
    if (rate) {
        uint64_t found = 0, found_size = 0, wrong = 0;
        for (int t = 0; t < NTHREADS; t++)
            for (int k = 0; k < SLOTS; k++) {
                size_t sz;
                if (ws[t].p[k] &&
                    tm_get_object_traceback(NULL, 0, NULL, &sz, ws[t].p[k]) == TM_OK) {
                    found++;
                    found_size += sz;
                    wrong += sz != ws[t].sz[k];
                }
            }
        printf("stress_rec: sampled at %llu: %llu of the %llu held blocks traced (%llu bytes), "
               "%llu traces in the range (%llu bytes), %llu sizes wrong\n",
               (unsigned long long)rate, (unsigned long long)found, (unsigned long long)exp_count,
               (unsigned long long)found_size, (unsigned long long)got_count,
               (unsigned long long)got_size, (unsigned long long)wrong);
        ok = found == got_count && found_size == got_size && !wrong && found > 0 &&
            found < exp_count && peak >= cur;
    }
    printf("stress_rec: %d threads x %ld ops: live %llu blocks / %llu bytes, traced %llu / %llu; "
           "current %zu, snapshot total %llu, peak %zu: %s\n",
           NTHREADS, iters, (unsigned long long)exp_count, (unsigned long long)exp_size,
           (unsigned long long)got_count, (unsigned long long)got_size, cur,
           (unsigned long long)tm_snapshot_total_size(s), peak, ok ? "ok" : "MISMATCH");
    tm_snapshot_free(s);
    for (int t = 0; t < NTHREADS; t++)
        for (int k = 0; k < SLOTS; k++)
            free(ws[t].p[k]);
    return ok ? 0 : 1;
}
