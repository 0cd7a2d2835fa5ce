/*
 * A stand-in for "the test run" of samples/ci/run-memory-check.sh: a small
 * program whose heap at exit is the same from run to run, so that a CI job
 * can compare it with the main branch's.
 *
 *   cc -g -O0 -o workload workload.c
 *   WORKLOAD_EXTRA_KIB=256 ./workload     # a "regression": 256 KiB more
 *
 * The extra memory is allocated at one line of its own (in keep_history),
 * which is the line tmdiff then reports as grown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char *key;
    int value;
    struct entry *next;
} entry;

#define BUCKETS 512

static entry *table[BUCKETS];
static char *history[1024];

static unsigned hash(const char *s)
{
    unsigned h = 5381;
    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h % BUCKETS;
}

static void put(const char *key, int value)
{
    entry *e = malloc(sizeof *e);
    if (!e)
        exit(1);
    e->key = strdup(key);
    e->value = value;
    e->next = table[hash(key)];
    table[hash(key)] = e;
}

static void keep_history(long extra_kib)
{
    /* the knob: one 1 KiB block per extra KiB, all from this line */
    for (long i = 0; i < extra_kib && i < 1024; i++)
        history[i] = calloc(1, 1024);
}

int main(void)
{
    const char *knob = getenv("WORKLOAD_EXTRA_KIB");
    long extra = knob ? strtol(knob, NULL, 10) : 0;
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "item-%d", i);
        put(key, i);
    }
    char *buffer = malloc(64 * 1024); /* a scratch buffer the "tests" keep */
    if (!buffer)
        return 1;
    memset(buffer, 0, 64 * 1024);
    keep_history(extra);
    long n = 0;
    for (int b = 0; b < BUCKETS; b++)
        for (entry *e = table[b]; e; e = e->next)
            n++;
    printf("workload: %ld entries, %ld KiB of history\n", n, extra < 1024 ? extra : 1024);
    return 0; /* left allocated on purpose: the snapshot at exit sees it */
}
