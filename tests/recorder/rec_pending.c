/*
 * rec_pending: traced frees are deferred to the thread's next hook
 * (recorder/src/pending.c); nothing observable through tm/recorder.h may
 * change.  Checked: a free is seen at once by the queries of the same
 * thread and of another thread while the freeing thread is blocked, by
 * tm_get_object_traceback and by snapshots; free-then-malloc does not raise
 * the peak (the table sees program order); a thread that exits with a
 * deferred free leaves nothing behind; a large (mmapped) block goes back to
 * the C library at once.  Frees are queued several deep per thread: the
 * same checks hold for a thread blocked with a full queue, for the peak of
 * many frees followed by as many mallocs, and a big heap block goes back
 * to glibc a few frees later.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "tm/recorder.h"
#include "tm/snapshot.h"

static void *(*volatile do_malloc)(size_t) = malloc;
static void (*volatile do_free)(void *) = free;
static int failures;
static pthread_barrier_t bar;
static void *thread_block;

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "FAIL: rec_pending:%d: check failed: %s\n", __LINE__, #c);             \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static size_t current(void)
{
    size_t c = 0, p = 0;
    tm_get_traced_memory(&c, &p);
    return c;
}

static size_t peak(void)
{
    size_t c = 0, p = 0;
    tm_get_traced_memory(&c, &p);
    return p;
}

static void *blocked_freer(void *arg)
{
    (void)arg;
    thread_block = do_malloc(3000);
    pthread_barrier_wait(&bar); /* main sees it */
    pthread_barrier_wait(&bar);
    do_free(thread_block);
    pthread_barrier_wait(&bar); /* main checks while we wait here */
    pthread_barrier_wait(&bar);
    return NULL;
}

/* Frees more blocks than a thread queues, each of a distinct size, then
 * blocks while main looks. */
#define NMANY 11
static void *many_blocks[NMANY];

static void *many_freer(void *arg)
{
    (void)arg;
    for (int i = 0; i < NMANY; i++)
        many_blocks[i] = do_malloc(9000 + (size_t)i);
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    for (int i = 0; i < NMANY; i++)
        do_free(many_blocks[i]);
    pthread_barrier_wait(&bar); /* main checks while we wait here */
    pthread_barrier_wait(&bar);
    return NULL;
}

static void *exiting_freer(void *arg)
{
    (void)arg;
    void *p = do_malloc(5001);
    do_free(p);
    return NULL;
}

/* Producer/consumer: blocks allocated by one thread, freed by another
 * (whose free is deferred) while the producer keeps allocating and may get
 * the same addresses back. */
#define QN 64
static void *queue[QN];
static unsigned q_head, q_tail;
static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv = PTHREAD_COND_INITIALIZER;
static int q_done;

static void *consumer(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&q_mu);
        while (q_head == q_tail && !q_done)
            pthread_cond_wait(&q_cv, &q_mu);
        if (q_head == q_tail && q_done) {
            pthread_mutex_unlock(&q_mu);
            return NULL;
        }
        void *p = queue[q_head++ % QN];
        pthread_cond_broadcast(&q_cv);
        pthread_mutex_unlock(&q_mu);
        do_free(p);
    }
}

static void producer(int n)
{
    for (int i = 0; i < n; i++) {
        void *p = do_malloc(6007 + (size_t)(i % 3));
        pthread_mutex_lock(&q_mu);
        while (q_tail - q_head == QN)
            pthread_cond_wait(&q_cv, &q_mu);
        queue[q_tail++ % QN] = p;
        pthread_cond_broadcast(&q_cv);
        pthread_mutex_unlock(&q_mu);
    }
    pthread_mutex_lock(&q_mu);
    q_done = 1;
    pthread_cond_broadcast(&q_cv);
    pthread_mutex_unlock(&q_mu);
}

/* No trace of that size in a snapshot taken now. */
static int snapshot_has_size(uint64_t size)
{
    tm_snapshot *s = NULL;
    tm_error err;
    int found = 0;
    if (tm_take_snapshot(&s, &err) != TM_OK) {
        fprintf(stderr, "FAIL: rec_pending: tm_take_snapshot: %s\n", err.message);
        failures++;
        return 0;
    }
    size_t n = tm_snapshot_trace_count(s);
    const tm_trace *tr = tm_snapshot_traces(s);
    for (size_t i = 0; i < n; i++)
        found |= tr[i].size == size;
    tm_snapshot_free(s);
    return found;
}

int main(void)
{
    CHECK(tm_start(8) == TM_OK);
    size_t base = current();

    /* The same thread. */
    void *a = do_malloc(1000);
    CHECK(current() == base + 1000);
    do_free(a);
    CHECK(current() == base);
    CHECK(tm_get_object_traceback(NULL, 0, NULL, NULL, a) == TM_ENOTFOUND);

    /* A snapshot right after a free does not contain the block. */
    void *b = do_malloc(777);
    CHECK(snapshot_has_size(777));
    do_free(b);
    CHECK(!snapshot_has_size(777));

    /* Free then malloc of the same size: the peak stays where it was. */
    void *x = do_malloc(4096);
    tm_reset_peak();
    size_t pk = peak();
    for (int i = 0; i < 100; i++) {
        do_free(x);
        x = do_malloc(4096);
    }
    CHECK(peak() == pk);
    CHECK(current() == base + 4096);
    do_free(x);
    CHECK(current() == base);

    /* Another thread frees, then blocks: its free is seen.  (Thread start
     * allocates too: compare around the free only.) */
    pthread_t th;
    pthread_barrier_init(&bar, NULL, 2);
    pthread_create(&th, NULL, blocked_freer, NULL);
    pthread_barrier_wait(&bar);
    size_t c1 = current();
    CHECK(tm_get_object_traceback(NULL, 0, NULL, NULL, thread_block) == TM_OK);
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    CHECK(current() == c1 - 3000);
    CHECK(tm_get_object_traceback(NULL, 0, NULL, NULL, thread_block) == TM_ENOTFOUND);
    pthread_barrier_wait(&bar);
    pthread_join(th, NULL);

    /* The same with more frees than the queue holds. */
    pthread_create(&th, NULL, many_freer, NULL);
    pthread_barrier_wait(&bar);
    size_t c4 = current();
    for (int i = 0; i < NMANY; i++)
        CHECK(snapshot_has_size(9000 + (uint64_t)i));
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    size_t sum = 0;
    for (int i = 0; i < NMANY; i++) {
        sum += 9000 + (size_t)i;
        CHECK(!snapshot_has_size(9000 + (uint64_t)i));
        CHECK(tm_get_object_traceback(NULL, 0, NULL, NULL, many_blocks[i]) == TM_ENOTFOUND);
    }
    CHECK(current() == c4 - sum);
    pthread_barrier_wait(&bar);
    pthread_join(th, NULL);

    /* Many frees, then as many mallocs: still no new peak. */
    void *v[NMANY];
    for (int i = 0; i < NMANY; i++)
        v[i] = do_malloc(2000);
    tm_reset_peak();
    size_t pk2 = peak();
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < NMANY; i++)
            do_free(v[i]);
        for (int i = 0; i < NMANY; i++)
            v[i] = do_malloc(2000);
    }
    CHECK(peak() == pk2);
    for (int i = 0; i < NMANY; i++)
        do_free(v[i]);

    /* A thread that exits right after a free. */
    pthread_create(&th, NULL, exiting_freer, NULL);
    pthread_join(th, NULL);
    CHECK(!snapshot_has_size(5001));

    /* Cross-thread frees. */
    size_t c3 = current();
    pthread_create(&th, NULL, consumer, NULL);
    producer(20000);
    pthread_join(th, NULL);
    CHECK(!snapshot_has_size(6007) && !snapshot_has_size(6008) && !snapshot_has_size(6009));
    /* Thread start/exit allocate and free a little: within that. */
    CHECK(current() <= c3 + 4096 && current() + 4096 >= c3);

    /* A large block is given back at once (mallinfo2 calls no hook).  Under
     * AddressSanitizer the real allocator is ASan's: mallinfo2 says nothing. */
#if defined(__SANITIZE_ADDRESS__)
    printf("rec_pending: SKIP the mallinfo2 check (AddressSanitizer owns malloc)\n");
    size_t c2 = current();
    do_free(do_malloc(8u << 20));
#else
    size_t c2 = current();
    size_t before = mallinfo2().hblkhd;
    void *big = do_malloc(8u << 20);
    CHECK(mallinfo2().hblkhd >= before + (8u << 20));
    do_free(big);
    CHECK(mallinfo2().hblkhd == before);
#endif
    CHECK(current() == c2);

#if !defined(__SANITIZE_ADDRESS__)
    /* A big block in the heap (not mmapped) goes back to glibc within a few
     * more frees, not only when it leaves the queues. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    void *heap_big = do_malloc(4u << 20);
    void *small[16];
    for (int i = 0; i < 16; i++)
        small[i] = do_malloc(64);
    size_t used = mallinfo2().uordblks;
    do_free(heap_big);
    for (int i = 0; i < 8; i++)
        do_free(small[i]);
    CHECK(mallinfo2().uordblks + (4u << 20) <= used);
    for (int i = 8; i < 16; i++)
        do_free(small[i]);
#endif

    tm_stop();
    printf("rec_pending: %d failures\n", failures);
    return failures ? 1 : 0;
}
