/*
 * rec_sample: Poisson sampling by bytes (tm_set_sample_rate, TM_SAMPLE)
 * against what the program knows it allocated.  Every site has sizes of its
 * own range (and odd sizes, where the C library's own buffers are even), so
 * the traces of a snapshot are told apart by size alone.
 *
 *   rec_sample sites RATE      in-process: the sites below, sampled at RATE;
 *                              per site the estimates of bytes and count
 *                              (tm/sample.h) within 4 standard errors of the
 *                              truth, traced current equal to the traces'
 *                              estimate, the churned site empty.
 *   rec_sample bias RUNS RATE  RUNS independent runs of a small mixed set
 *                              (each in a new thread: its own seed): the
 *                              mean relative error of the bytes estimate,
 *                              of all blocks and of the blocks larger than
 *                              RATE, within 4 standard errors of the mean
 *                              (|mean| < 4 sd / sqrt(RUNS)): an unbiased
 *                              estimator fails this with probability 6e-5.
 *   rec_sample free RATE       white-box: frees of blocks never sampled do
 *                              not reach the live table (the recorder's
 *                              per-thread counts), sampled ones all do.
 *   rec_sample plain OUT       the sites only, no API: for tmrun --sample;
 *                              writes the truth per site to OUT.
 *   rec_sample check FILE.tms TRUTH   the sites' checks on a snapshot file
 *                              (the rate from its metadata).
 *
 * Sites (RATE 64 KiB in the tests): small 17..255 B (300 000 blocks, ~40
 * MiB), medium 2001..29999 B (2000, ~30 MiB), around the rate 32769..262143
 * B (200, ~28 MiB), large 1..4 MiB (12, ~30 MiB: every one larger than the
 * rate), realloc'ed 1101..1999 B (grown from smaller blocks of the same
 * range: realloc is a free and a malloc), and a churn of 300..999 B that
 * frees everything it allocates (2 M pairs): 0 traces expected.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tm/sample.h"
#include "tm/snapshot.h"
#ifndef REC_SAMPLE_PLAIN
#include "tm/recorder.h"
#include "tm/tms.h"
#endif
#ifdef REC_SAMPLE_WHITEBOX
#include "rec_internal.h"
#endif

static int failures;
#define CHECK(c, ...)                                                                              \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "rec_sample:%d: check failed: %s: ", __LINE__, #c);                    \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

enum { S_SMALL, S_MEDIUM, S_RATE, S_LARGE, S_REALLOC, S_CHURN, NSITE };
static const char *const site_name[NSITE] = { "small", "medium",  "around-rate",
                                              "large", "realloc", "churn" };
static const uint64_t site_lo[NSITE] = { 17, 2001, 32769, 1048577, 1101, 300 };
static const uint64_t site_hi[NSITE] = { 255, 29999, 262143, 4194303, 1999, 999 };

static int site_of(uint64_t size)
{
    for (int s = 0; s < NSITE; s++)
        if (size >= site_lo[s] && size <= site_hi[s] && (s == S_CHURN || (size & 1)))
            return s;
    return -1;
}

static uint64_t rng_state = 0x243f6a8885a308d3ULL;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
/* An odd size in [lo, hi] (lo odd). */
static size_t odd_in(uint64_t lo, uint64_t hi)
{
    return (size_t)(lo + 2 * (rnd() % ((hi - lo) / 2 + 1)));
}

typedef struct truth {
    uint64_t bytes[NSITE], count[NSITE];
} truth;

static void **kept;
static size_t nkept;

static void keep(void *p, size_t size, int site, truth *t)
{
    if (!p) {
        fprintf(stderr, "rec_sample: out of memory\n");
        exit(1);
    }
    memset(p, 1, size < 64 ? size : 64);
    kept[nkept++] = p;
    t->bytes[site] += size;
    t->count[site]++;
}

__attribute__((noinline)) static void run_sites(truth *t)
{
    memset(t, 0, sizeof *t);
    kept = malloc(400000 * sizeof(void *));
    nkept = 0;
    for (int i = 0; i < 300000; i++) {
        size_t s = odd_in(17, 255);
        keep(malloc(s), s, S_SMALL, t);
    }
    for (int i = 0; i < 2000; i++) {
        size_t s = odd_in(2001, 29999);
        keep(i & 1 ? calloc(1, s) : malloc(s), s, S_MEDIUM, t);
    }
    for (int i = 0; i < 200; i++) {
        size_t s = odd_in(32769, 262143);
        keep(malloc(s), s, S_RATE, t);
    }
    for (int i = 0; i < 12; i++) {
        size_t s = odd_in(1048577, 4194303);
        keep(malloc(s), s, S_LARGE, t);
    }
    for (int i = 0; i < 2000; i++) {
        size_t s = odd_in(1101, 1399);
        void *p = malloc(s);
        for (int k = 0; k < 3 && p; k++) {
            s = odd_in(s + 2 < 1999 ? s + 2 : 1999, 1999);
            p = realloc(p, s);
        }
        keep(p, s, S_REALLOC, t);
    }
    void *ring[64] = { 0 };
    for (int i = 0; i < 2000000; i++) {
        free(ring[i & 63]);
        ring[i & 63] = malloc(300 + rnd() % 700);
    }
    for (int i = 0; i < 64; i++)
        free(ring[i]);
}

static int write_truth(const char *path, const truth *t)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (int s = 0; s < NSITE; s++)
        fprintf(f, "%llu %llu\n", (unsigned long long)t->bytes[s], (unsigned long long)t->count[s]);
    return fclose(f);
}

#ifndef REC_SAMPLE_PLAIN
static void free_sites(void)
{
    for (size_t i = 0; i < nkept; i++)
        free(kept[i]);
    free(kept);
    kept = NULL;
    nkept = 0;
}

typedef struct estimate {
    double bytes[NSITE], count[NSITE], var_bytes[NSITE], var_count[NSITE];
    uint64_t traces[NSITE];
    double total; /* every trace, as the recorder counts it */
} estimate;

static void estimate_of(estimate *e, const tm_snapshot *snap, uint64_t rate)
{
    memset(e, 0, sizeof *e);
    const tm_trace *tr = tm_snapshot_traces(snap);
    for (size_t i = 0; i < tm_snapshot_trace_count(snap); i++) {
        uint64_t s = tr[i].size;
        e->total += (double)llround((double)s * tm_sample_weight(s, rate));
        int site = site_of(s);
        if (site < 0 || tr[i].domain != 0)
            continue;
        e->traces[site]++;
        e->bytes[site] += (double)s * tm_sample_weight(s, rate);
        e->count[site] += tm_sample_weight(s, rate);
        e->var_bytes[site] += tm_sample_var_bytes(s, rate);
        e->var_count[site] += tm_sample_var_count(s, rate);
    }
}

/* Each estimate within 4 standard errors of the truth; the churn empty. */
static void check_sites(const estimate *e, const truth *t, uint64_t rate)
{
    for (int s = 0; s < NSITE; s++) {
        double eb = e->bytes[s], se_b = sqrt(e->var_bytes[s]);
        double ec = e->count[s], se_c = sqrt(e->var_count[s]);
        printf("rec_sample: %-11s truth %10llu B %7llu blocks; estimate %12.0f B (se %9.0f, "
               "%+.2f se) %9.0f blocks (se %7.0f, %+.2f se), %llu traces\n",
               site_name[s], (unsigned long long)t->bytes[s], (unsigned long long)t->count[s], eb,
               se_b, se_b > 0 ? (eb - (double)t->bytes[s]) / se_b : 0.0, ec, se_c,
               se_c > 0 ? (ec - (double)t->count[s]) / se_c : 0.0,
               (unsigned long long)e->traces[s]);
        CHECK(fabs(eb - (double)t->bytes[s]) <= 4 * se_b + 1e-6 * (double)t->bytes[s],
              "site %s: bytes estimate %.0f, truth %llu, standard error %.0f (rate %llu)",
              site_name[s], eb, (unsigned long long)t->bytes[s], se_b, (unsigned long long)rate);
        CHECK(fabs(ec - (double)t->count[s]) <= 4 * se_c + 1e-6 * (double)t->count[s],
              "site %s: count estimate %.0f, truth %llu, standard error %.0f (rate %llu)",
              site_name[s], ec, (unsigned long long)t->count[s], se_c, (unsigned long long)rate);
    }
    CHECK(e->traces[S_CHURN] == 0, "%llu traces of the churned site, which freed everything",
          (unsigned long long)e->traces[S_CHURN]);
    CHECK(e->traces[S_SMALL] < t->count[S_SMALL] / 10,
          "%llu traces of %llu small blocks: not sampled?", (unsigned long long)e->traces[S_SMALL],
          (unsigned long long)t->count[S_SMALL]);
}

static int read_truth(const char *path, truth *t)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    for (int s = 0; s < NSITE; s++) {
        unsigned long long b, c;
        if (fscanf(f, "%llu %llu", &b, &c) != 2) {
            fclose(f);
            return -1;
        }
        t->bytes[s] = b;
        t->count[s] = c;
    }
    fclose(f);
    return 0;
}

static int mode_sites(uint64_t rate)
{
    CHECK(tm_set_sample_rate(rate) == TM_OK, "tm_set_sample_rate before tm_start");
    CHECK(tm_start(1) == TM_OK, "tm_start");
    CHECK(tm_get_sample_rate() == rate, "tm_get_sample_rate: %llu",
          (unsigned long long)tm_get_sample_rate());
    CHECK(tm_set_sample_rate(rate * 2) == TM_EINVAL, "tm_set_sample_rate while tracing");
    truth t;
    run_sites(&t);
    size_t cur = 0, peak = 0;
    tm_get_traced_memory(&cur, &peak);
    tm_snapshot *snap = NULL;
    tm_error err;
    CHECK(tm_take_snapshot(&snap, &err) == TM_OK, "tm_take_snapshot");
    if (!snap)
        return 1;
    const tm_metadata *md = tm_snapshot_metadata(snap);
    CHECK(md->sample_rate == rate, "metadata sample_rate %llu, expected %llu",
          (unsigned long long)md->sample_rate, (unsigned long long)rate);
    estimate e;
    estimate_of(&e, snap, rate);
    check_sites(&e, &t, rate);
    /* Traced current: the traces' estimates, rounded per block. */
    CHECK((double)cur == e.total, "traced current %zu, the traces' estimate %.0f", cur, e.total);
    CHECK(md->traced_current == cur, "snapshot traced_current %llu, tm_get_traced_memory %zu",
          (unsigned long long)md->traced_current, cur);
    CHECK(peak >= cur, "peak %zu below current %zu", peak, cur);
    tm_snapshot_free(snap);
    free_sites();
    tm_get_traced_memory(&cur, NULL);
    CHECK(cur == 0, "traced current %zu after freeing every block", cur);
    tm_stop();
    CHECK(tm_set_sample_rate(0) == TM_OK, "tm_set_sample_rate after tm_stop");
    return 0;
}

/* One run of the bias test: blocks of 1 B .. 1 MiB, log-uniform, in a new
 * thread (its own countdown and seed). */
typedef struct bias_run {
    uint64_t rate;
    double truth_all, est_all, truth_big, est_big;
} bias_run;

static void *bias_thread(void *arg)
{
    bias_run *r = arg;
    enum { N = 3000 };
    static void *p[N];
    static size_t sz[N];
    for (int i = 0; i < N; i++) {
        sz[i] = (size_t)exp2((double)(rnd() % 20000) / 1000.0); /* 1 B .. 1 MiB */
        p[i] = malloc(sz[i]);
        r->truth_all += (double)sz[i];
        if (sz[i] > r->rate)
            r->truth_big += (double)sz[i];
    }
    tm_snapshot *snap = NULL;
    tm_error err;
    if (tm_take_snapshot(&snap, &err) == TM_OK) {
        const tm_trace *tr = tm_snapshot_traces(snap);
        for (size_t i = 0; i < tm_snapshot_trace_count(snap); i++) {
            double est = (double)tr[i].size * tm_sample_weight(tr[i].size, r->rate);
            r->est_all += est;
            if (tr[i].size > r->rate)
                r->est_big += est;
        }
        tm_snapshot_free(snap);
    }
    for (int i = 0; i < N; i++)
        free(p[i]);
    return NULL;
}

static void mean_sd(const double *v, int n, double *mean, double *sd)
{
    double m = 0, q = 0;
    for (int i = 0; i < n; i++)
        m += v[i];
    m /= n;
    for (int i = 0; i < n; i++)
        q += (v[i] - m) * (v[i] - m);
    *mean = m;
    *sd = sqrt(q / (n - 1));
}

static int mode_bias(int runs, uint64_t rate)
{
    double *all = calloc((size_t)runs, sizeof(double)), *big = calloc((size_t)runs, sizeof(double));
    if (!all || !big)
        return 1;
    CHECK(tm_set_sample_rate(rate) == TM_OK, "tm_set_sample_rate");
    for (int k = 0; k < runs; k++) {
        CHECK(tm_start(1) == TM_OK, "tm_start");
        bias_run r = { .rate = rate };
        pthread_t th;
        pthread_create(&th, NULL, bias_thread, &r);
        pthread_join(th, NULL);
        tm_stop();
        all[k] = (r.est_all - r.truth_all) / r.truth_all;
        big[k] = r.truth_big > 0 ? (r.est_big - r.truth_big) / r.truth_big : 0;
    }
    double m_all, sd_all, m_big, sd_big;
    mean_sd(all, runs, &m_all, &sd_all);
    mean_sd(big, runs, &m_big, &sd_big);
    double lim_all = 4 * sd_all / sqrt(runs), lim_big = 4 * sd_big / sqrt(runs);
    printf("rec_sample: bias over %d runs at rate %llu: all blocks mean relative error %+.5f "
           "(sd %.4f, bound %.5f); blocks > rate %+.5f (sd %.4f, bound %.5f)\n",
           runs, (unsigned long long)rate, m_all, sd_all, lim_all, m_big, sd_big, lim_big);
    CHECK(fabs(m_all) < lim_all, "mean relative error %+.5f, bound %.5f", m_all, lim_all);
    CHECK(fabs(m_big) < lim_big,
          "blocks larger than the rate: mean relative error %+.5f, bound %.5f", m_big, lim_big);
    CHECK(sd_all > 0, "no spread at all: not sampled?");
    free(all);
    free(big);
    return 0;
}

static int mode_check(const char *path, const char *truth_path)
{
    truth t;
    if (read_truth(truth_path, &t) != 0) {
        fprintf(stderr, "rec_sample: %s: cannot read the truth\n", truth_path);
        return 1;
    }
    tm_snapshot *snap = NULL;
    tm_error err;
    if (tm_tms_read(&snap, path, &err) != TM_OK) {
        fprintf(stderr, "rec_sample: %s\n", err.message);
        return 1;
    }
    uint64_t rate = tm_snapshot_metadata(snap)->sample_rate;
    CHECK(rate != 0, "%s: not a sampled snapshot", path);
    estimate e;
    estimate_of(&e, snap, rate);
    check_sites(&e, &t, rate);
    tm_snapshot_free(snap);
    return 0;
}
#endif

#ifdef REC_SAMPLE_WHITEBOX
static int mode_free(uint64_t rate)
{
    enum { N = 200000 };
    void **p = malloc(N * sizeof(void *));
    CHECK(tm_set_sample_rate(rate) == TM_OK, "tm_set_sample_rate");
    CHECK(tm_start(1) == TM_OK, "tm_start");
    uint64_t st0[TM_SSTAT_COUNT], st1[TM_SSTAT_COUNT];
    tm_sample_stats(st0);
    for (int i = 0; i < N; i++)
        p[i] = malloc(16 + rnd() % 241);
    tm_sample_stats(st1);
    uint64_t sampled = st1[TM_SSTAT_SAMPLED] - st0[TM_SSTAT_SAMPLED];
    size_t live = tm_live_count();
    for (int i = 0; i < N; i++)
        free(p[i]);
    tm_sample_stats(st0);
    uint64_t checked = st0[TM_SSTAT_FREE_CHECKED] - st1[TM_SSTAT_FREE_CHECKED];
    size_t cur = 1;
    tm_get_traced_memory(&cur, NULL);
    printf("rec_sample: %d blocks, %llu sampled (%zu in the table); of their %d frees %llu went "
           "to the table\n",
           N, (unsigned long long)sampled, live, N, (unsigned long long)checked);
    CHECK(sampled > 0 && sampled < N / 100, "%llu of %d blocks sampled at rate %llu",
          (unsigned long long)sampled, N, (unsigned long long)rate);
    CHECK(live == sampled, "%zu traces for %llu sampled blocks", live, (unsigned long long)sampled);
    /* Every sampled block's free looks it up; the others only when they
     * share a filter counter with a live sampled block (at most `sampled`
     * of 65536 counters are set). */
    double fp = (double)N * (double)sampled / TM_SFILTER_SIZE;
    CHECK(checked >= sampled && (double)(checked - sampled) <= 3 * fp + 10,
          "%llu frees looked up in the table, %llu sampled, false positives expected <= %.0f",
          (unsigned long long)checked, (unsigned long long)sampled, 3 * fp + 10);
    CHECK(tm_live_count() == 0 && cur == 0, "%zu traces, current %zu after every free",
          tm_live_count(), cur);
    tm_stop();
    free(p);
    return 0;
}
#endif

static int usage(void)
{
    fprintf(stderr,
            "usage: rec_sample sites RATE | bias RUNS RATE | free RATE | plain OUT | "
            "check FILE.tms TRUTH\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
#ifdef REC_SAMPLE_PLAIN
    if (strcmp(mode, "plain") != 0 || argc != 3)
        return usage();
    (void)failures; /* the checks are the other build's */
    (void)site_name;
    (void)site_of;
    truth t;
    run_sites(&t);
    /* The blocks stay live: the snapshot at exit sees them. */
    return write_truth(argv[2], &t) != 0;
#else
    (void)write_truth;
    /* stdout's buffer now, not as a traced block of the sites' run. */
    printf("rec_sample: %s\n", mode);
    fflush(stdout);
    if (strcmp(mode, "sites") == 0 && argc == 3)
        mode_sites(strtoull(argv[2], NULL, 10));
    else if (strcmp(mode, "bias") == 0 && argc == 4)
        mode_bias(atoi(argv[2]), strtoull(argv[3], NULL, 10));
    else if (strcmp(mode, "check") == 0 && argc == 4)
        mode_check(argv[2], argv[3]);
#ifdef REC_SAMPLE_WHITEBOX
    else if (strcmp(mode, "free") == 0 && argc == 3)
        mode_free(strtoull(argv[2], NULL, 10));
#endif
    else
        return usage();
    if (failures)
        fprintf(stderr, "rec_sample: %d checks failed\n", failures);
    else
        printf("rec_sample: ok\n");
    return failures != 0;
#endif
}
