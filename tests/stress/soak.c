/*
 * soak: 8 threads churn malloc / free / realloc over a constant live set,
 * from a fixed set of call sites, for SECONDS seconds, while tmrun writes a
 * snapshot every --interval.  Once a second it prints the recorder's own
 * memory (tm_get_tracemalloc_memory, found with dlsym: the recorder is
 * preloaded, not linked) and the traced current:
 *   soak T MEM CURRENT
 * tests/stress/soak.sh checks that MEM stays flat after the warm-up (unique
 * stacks stop appearing, the live set does not change) and that every
 * snapshot is valid.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NTHREADS 8
#define SLOTS 4096 /* live blocks per thread */

static _Atomic int stop;

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A handful of call sites, so that the set of unique stacks is finite. */
__attribute__((noinline)) static void *site_a(size_t n)
{
    return malloc(n);
}
__attribute__((noinline)) static void *site_b(size_t n)
{
    return calloc(1, n);
}
__attribute__((noinline)) static void *site_c(void *p, size_t n)
{
    return realloc(p, n);
}

static void *worker(void *arg)
{
    uint64_t rng = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
    static __thread void *slot[SLOTS];
    for (size_t i = 0; i < SLOTS; i++)
        slot[i] = site_a(16 + i % 512);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (int k = 0; k < 1024; k++) {
            uint64_t r = next(&rng);
            size_t i = r % SLOTS, n = 16 + (r >> 20) % 512;
            switch ((r >> 40) % 3) {
            case 0:
                free(slot[i]);
                slot[i] = site_a(n);
                break;
            case 1:
                free(slot[i]);
                slot[i] = site_b(n);
                break;
            default: {
                void *q = site_c(slot[i], n);
                if (q)
                    slot[i] = q;
            }
            }
        }
    }
    for (size_t i = 0; i < SLOTS; i++)
        free(slot[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    int seconds = argc > 1 ? atoi(argv[1]) : 60;
    size_t (*recorder_memory)(void) =
        (size_t(*)(void))dlsym(RTLD_DEFAULT, "tm_get_tracemalloc_memory");
    void (*traced)(size_t *, size_t *) =
        (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "tm_get_traced_memory");
    if (!recorder_memory || !traced) {
        fprintf(stderr, "soak: run me under tmrun (no recorder found)\n");
        return 2;
    }
    pthread_t th[NTHREADS];
    for (uintptr_t t = 0; t < NTHREADS; t++)
        pthread_create(&th[t], NULL, worker, (void *)t);
    for (int s = 1; s <= seconds; s++) {
        sleep(1);
        size_t cur, peak;
        traced(&cur, &peak);
        printf("soak %d %zu %zu\n", s, recorder_memory(), cur);
        fflush(stdout);
    }
    atomic_store(&stop, 1);
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    return 0;
}
