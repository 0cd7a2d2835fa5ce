/*
 * rec_peak_set: tm_take_peak_snapshot (TM_PEAK=1) against what the program
 * knows it had live at its peak.  Blocks of each site have sizes of their
 * own range, so a snapshot's traces are told apart by size alone.
 *
 *   1. one thread, phases whose peak is in the middle, a churn that never
 *      reaches it, then tm_reset_peak and a second, lower peak: per-site
 *      counts and bytes exact, total equal to the reported peak;
 *   2. one thread past the logs' rebuild point (long churn below the peak,
 *      then a new peak): still exact;
 *   3. four threads churning while they build up and free a large set: the
 *      peak set within the documented bound of the true peak (1% here).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm/recorder.h"
#include "tm/snapshot.h"

static int failures;
#define CHECK(c, ...)                                                                              \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "rec_peak_set:%d: check failed: %s: ", __LINE__, #c);                  \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* Site s allocates sizes in [base(s), base(s) + 1000). */
enum { NSITE = 4 };
static size_t site_base(int s)
{
    return 10000u * (size_t)(s + 1);
}
static int site_of(uint64_t size)
{
    for (int s = 0; s < NSITE; s++)
        if (size >= site_base(s) && size < site_base(s) + 1000)
            return s;
    return -1;
}

typedef struct tally {
    uint64_t n[NSITE], bytes[NSITE], other_n, total;
} tally;

static void tally_peak(tally *t)
{
    tm_snapshot *snap;
    tm_error err;
    memset(t, 0, sizeof(*t));
    if (tm_take_peak_snapshot(&snap, &err) != TM_OK) {
        fprintf(stderr, "rec_peak_set: tm_take_peak_snapshot: %s\n", err.message);
        failures++;
        return;
    }
    const tm_trace *tr = tm_snapshot_traces(snap);
    for (size_t i = 0; i < tm_snapshot_trace_count(snap); i++) {
        int s = site_of(tr[i].size);
        if (s < 0) {
            t->other_n++;
        } else {
            t->n[s]++;
            t->bytes[s] += tr[i].size;
        }
        t->total += tr[i].size;
    }
    const tm_metadata *md = tm_snapshot_metadata(snap);
    CHECK(md->traced_current == t->total, "metadata current %llu, traces %llu",
          (unsigned long long)md->traced_current, (unsigned long long)t->total);
    tm_snapshot_free(snap);
}

/* --- 1 and 2: one thread, exact ---------------------------------------- */

static tally live, best;
static uint64_t live_total, best_total;

static void *site_alloc(int s, size_t extra)
{
    size_t size = site_base(s) + extra % 1000;
    void *p = malloc(size);
    live.n[s]++;
    live.bytes[s] += size;
    live_total += size;
    if (live_total > best_total) {
        best_total = live_total;
        best = live;
    }
    return p;
}

static void site_free(int s, void *p, size_t extra)
{
    size_t size = site_base(s) + extra % 1000;
    free(p);
    live.n[s]--;
    live.bytes[s] -= size;
    live_total -= size;
}

static void expect_best(const char *what)
{
    tally got;
    size_t cur, peak;
    tm_get_traced_memory(&cur, &peak);
    tally_peak(&got);
    for (int s = 0; s < NSITE; s++)
        CHECK(got.n[s] == best.n[s] && got.bytes[s] == best.bytes[s],
              "%s: site %d: %llu blocks / %llu B at the peak, expected %llu / %llu", what, s,
              (unsigned long long)got.n[s], (unsigned long long)got.bytes[s],
              (unsigned long long)best.n[s], (unsigned long long)best.bytes[s]);
    CHECK(got.total == peak, "%s: peak set %llu B, reported peak %zu B", what,
          (unsigned long long)got.total, peak);
    printf("rec_peak_set: %s: %llu blocks, %llu B at the peak (reported %zu)\n", what,
           (unsigned long long)(got.n[0] + got.n[1] + got.n[2] + got.n[3] + got.other_n),
           (unsigned long long)got.total, peak);
}

static void single_thread(void)
{
    enum { N = 3000 };
    static void *a[N], *b[N];
    tm_clear_traces();
    memset(&live, 0, sizeof(live));
    live_total = best_total = 0;
    best = live;
    /* Phase 1 builds site 0 while freeing some of it, phase 2 frees it and
     * builds a smaller site 1; site 2 only churns. */
    for (size_t i = 0; i < N; i++) {
        a[i] = site_alloc(0, i);
        if (i % 3 == 2) {
            site_free(0, a[i - 1], i - 1);
            a[i - 1] = NULL;
        }
    }
    for (size_t i = 0; i < N; i++)
        if (a[i])
            site_free(0, a[i], i);
    for (size_t i = 0; i < N / 4; i++)
        b[i] = site_alloc(1, i);
    void *c = NULL;
    for (size_t i = 0; i < 20000; i++) {
        if (c)
            site_free(2, c, i - 1);
        c = site_alloc(2, i);
    }
    expect_best("phases");

    /* reset_peak: the set at the peak is now the live set, then grows. */
    tm_reset_peak();
    best = live;
    best_total = live_total;
    void *d[100];
    for (size_t i = 0; i < 100; i++)
        d[i] = site_alloc(3, i);
    for (size_t i = 0; i < 100; i++)
        site_free(3, d[i], i);
    expect_best("after reset_peak");

    /* A churn far longer than the logs' rebuild threshold, below the peak,
     * then a new, higher peak built partly from blocks of that churn. */
    for (size_t i = 0; i < 400000; i++) {
        site_free(2, c, i + 19999);
        c = site_alloc(2, i + 20000);
    }
    expect_best("after a long churn");
    /* Once rebuilt, the set stops the logging: another long churn below the
     * peak costs the recorder no memory. */
    size_t mem0 = tm_get_tracemalloc_memory();
    for (size_t i = 0; i < 400000; i++) {
        site_free(2, c, i + 419999);
        c = site_alloc(2, i + 420000);
    }
    size_t mem1 = tm_get_tracemalloc_memory();
    CHECK(mem1 <= mem0 + (1u << 20), "recorder memory grew from %zu to %zu B below the peak", mem0,
          mem1);
    expect_best("after a second long churn");
    for (size_t i = 0; i < N / 2; i++)
        a[i] = site_alloc(3, i);
    for (size_t i = 0; i < N / 4; i++)
        site_free(1, b[i], i);
    expect_best("a new peak after the rebuild");
    for (size_t i = 0; i < N / 2; i++)
        site_free(3, a[i], i);
    site_free(2, c, 819999);
}

/* --- 3: four threads ------------------------------------------------------- */

enum { NT = 4, BASE = 1024, EXTRA = 256, EXTRA_SIZE = 65536 - 1000 };
static pthread_barrier_t bar;

static void *worker(void *arg)
{
    size_t t = (size_t)arg;
    void *base[BASE], *extra[EXTRA];
    for (size_t i = 0; i < BASE; i++)
        base[i] = malloc(site_base(0) + (t * 7 + i) % 1000);
    pthread_barrier_wait(&bar);
    /* Build up site 1 while churning site 0 at constant size. */
    for (size_t i = 0; i < EXTRA; i++) {
        extra[i] = malloc(site_base(1) + (EXTRA_SIZE - site_base(1)) % 1000);
        for (size_t k = 0; k < 8; k++) {
            size_t j = (i * 8 + k) % BASE, size = site_base(0) + (t * 7 + j) % 1000;
            free(base[j]);
            base[j] = malloc(size);
        }
    }
    pthread_barrier_wait(&bar);
    for (size_t i = 0; i < EXTRA; i++) {
        free(extra[i]);
        size_t j = i % BASE, size = site_base(0) + (t * 7 + j) % 1000;
        free(base[j]);
        base[j] = malloc(size);
    }
    pthread_barrier_wait(&bar);
    for (size_t i = 0; i < BASE; i++)
        free(base[i]);
    return NULL;
}

static void threads(void)
{
    tm_clear_traces();
    pthread_t th[NT];
    pthread_barrier_init(&bar, NULL, NT);
    for (size_t t = 0; t < NT; t++)
        pthread_create(&th[t], NULL, worker, (void *)t);
    for (size_t t = 0; t < NT; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&bar);
    size_t cur, peak;
    tm_get_traced_memory(&cur, &peak);
    tally got;
    tally_peak(&got);
    /* At the second barrier every thread holds its base and all its extra
     * blocks: that is the true peak, up to one churned block per thread. */
    uint64_t base_bytes = 0,
             extra_bytes =
                 (uint64_t)NT * EXTRA * (site_base(1) + (EXTRA_SIZE - site_base(1)) % 1000);
    for (size_t t = 0; t < NT; t++)
        for (size_t i = 0; i < BASE; i++)
            base_bytes += site_base(0) + (t * 7 + i) % 1000;
    uint64_t truth = base_bytes + extra_bytes, slack = truth / 100;
    printf("rec_peak_set: %d threads: peak set %llu B (%llu + %llu blocks), true peak %llu B, "
           "reported %zu B\n",
           NT, (unsigned long long)got.total, (unsigned long long)got.n[0],
           (unsigned long long)got.n[1], (unsigned long long)truth, peak);
    CHECK(got.total + slack >= truth && got.total <= truth + slack,
          "peak set %llu B, true peak %llu B: off by more than 1%%", (unsigned long long)got.total,
          (unsigned long long)truth);
    CHECK(got.n[1] + NT * EXTRA / 100 >= (uint64_t)NT * EXTRA && got.n[1] <= (uint64_t)NT * EXTRA,
          "%llu extra blocks at the peak, expected %d", (unsigned long long)got.n[1], NT * EXTRA);
    CHECK(peak + slack >= truth && peak <= truth + slack, "reported peak %zu B, true %llu B", peak,
          (unsigned long long)truth);
}

int main(void)
{
    if (tm_start(4) != TM_OK) {
        fprintf(stderr, "rec_peak_set: tm_start failed\n");
        return 1;
    }
    tm_snapshot *s;
    tm_error err;
    if (!getenv("TM_PEAK")) {
        CHECK(tm_take_peak_snapshot(&s, &err) == TM_EINVAL, "without TM_PEAK: TM_EINVAL");
        printf("rec_peak_set: %s\n", failures ? "FAILED" : "ok (TM_PEAK unset: refusal only)");
        return failures != 0;
    }
    single_thread();
    threads();
    printf("rec_peak_set: %s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
