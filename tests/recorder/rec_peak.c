/*
 * rec_peak: the documented semantics of tm_get_traced_memory with threads
 * (tm/recorder.h): current exact at any quiescent point, peak exact with
 * one thread, within 16 KiB per other thread otherwise, exact again after
 * the other threads exit.  Phases are separated by barriers, so the true
 * values are known.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "tm/recorder.h"

#define BATCH 16384
/* Through volatile pointers: gcc removes a malloc whose block is only freed. */
static void *(*volatile do_malloc)(size_t) = malloc;
static void (*volatile do_free)(void *) = free;
static int failures;
static pthread_barrier_t bar;
static void *held[2][64];

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "rec_peak:%d: check failed: %s\n", __LINE__, #c);                      \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static void *thread_fn(void *arg)
{
    long id = (long)arg;
    pthread_barrier_wait(&bar); /* main reads the base */
    /* Phase 1: both threads hold 64 x 100 bytes (6400, under the batch). */
    for (int i = 0; i < 64; i++)
        held[id][i] = do_malloc(100);
    pthread_barrier_wait(&bar); /* main checks */
    pthread_barrier_wait(&bar);
    /* Phase 2: thread 1 frees its blocks; churn that returns to zero. */
    if (id == 1)
        for (int i = 0; i < 64; i++)
            do_free(held[id][i]);
    for (int i = 0; i < 1000; i++)
        do_free(do_malloc(64 + (size_t)i));
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    if (id == 0)
        for (int i = 0; i < 64; i++)
            do_free(held[id][i]);
    return NULL;
}

int main(void)
{
    if (tm_start(4) != TM_OK)
        return 1;
    size_t c0, p0, c, p;
    char log[3][200];
    pthread_barrier_init(&bar, NULL, 3);
    pthread_t th[2];
    for (long k = 0; k < 2; k++)
        pthread_create(&th[k], NULL, thread_fn, (void *)k);
    tm_reset_peak();
    tm_get_traced_memory(&c0, &p0);
    CHECK(p0 == c0);
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    tm_get_traced_memory(&c, &p);
    snprintf(log[0], sizeof(log[0]), "phase 1: current %zu (expected %zu), peak %zu (true %zu)", c,
             c0 + 12800, p, c0 + 12800);
    CHECK(c == c0 + 12800);
    CHECK(p >= c && p <= c0 + 12800 + BATCH);
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    tm_get_traced_memory(&c, &p);
    /* The true peak so far is at least 12800 and at most 12800 + 1063 (one
     * churn block of each thread at a time). */
    snprintf(log[1], sizeof(log[1]),
             "phase 2: current %zu (expected %zu), peak %zu (true in [%zu, %zu])", c, c0 + 6400, p,
             c0 + 12800, c0 + 12800 + 2 * 1063);
    CHECK(c == c0 + 6400);
    CHECK(p + BATCH >= c0 + 12800 && p <= c0 + 12800 + 2 * 1063 + BATCH);
    pthread_barrier_wait(&bar);
    for (int k = 0; k < 2; k++)
        pthread_join(th[k], NULL);
    /* Every thread is gone (what thread exit freed changes the base): peak
     * is exact again. */
    tm_get_traced_memory(&c0, &p);
    tm_reset_peak();
    void *big = do_malloc(50000);
    void *small = do_malloc(10);
    do_free(big);
    tm_get_traced_memory(&c, &p);
    snprintf(log[2], sizeof(log[2]),
             "after join: current %zu (expected %zu), peak %zu (expected %zu)", c, c0 + 10, p,
             c0 + 50010);
    CHECK(c == c0 + 10);
    CHECK(p == c0 + 50010);
    do_free(small);
    /* tm_clear_traces resets both, also the other threads' pending deltas. */
    tm_clear_traces();
    tm_get_traced_memory(&c, &p);
    CHECK(c == 0 && p == 0);
    void *x = do_malloc(300);
    tm_get_traced_memory(&c, &p);
    CHECK(c == 300 && p == 300);
    do_free(x);
    tm_stop();
    for (int k = 0; k < 3; k++)
        printf("%s\n", log[k]);
    printf("rec_peak: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
