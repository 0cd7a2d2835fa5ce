/*
 * The README demo: an ordinary program that knows nothing about tmkit.
 *
 *   tmrun -o demo.tms -- samples/demo
 *   tmsym demo.tms -o demo.sym.tms        (if tmstat does not symbolize)
 *   tmstat demo.tms --by lineno --top 10
 *
 * It builds a small word index: a hash table of strings and a list of
 * records that grows, plus a cache it forgets to free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct record {
    char *name;
    double values[6];
    struct record *next;
} record;

static char *cache[1000];

static record *make_record(int i)
{
    record *r = malloc(sizeof(*r));
    char buf[32];
    snprintf(buf, sizeof(buf), "record-%d", i);
    r->name = strdup(buf);
    r->next = NULL;
    return r;
}

static char **make_table(size_t n)
{
    return calloc(n, sizeof(char *));
}

static void remember(int i)
{
    cache[i % 1000] = realloc(cache[i % 1000], 256);
}

int main(void)
{
    record *head = NULL;
    char **table = make_table(4096);
    for (int i = 0; i < 5000; i++) {
        record *r = make_record(i);
        r->next = head;
        head = r;
        if (i % 3 == 0)
            remember(i);
        if (!table[i % 4096])
            table[i % 4096] = malloc(64);
    }
    long n = 0;
    for (record *r = head; r; r = r->next)
        n++;
    printf("demo: %ld records\n", n);
    return 0; /* everything is still allocated: the snapshot at exit sees it */
}
