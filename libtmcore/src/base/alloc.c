#include "tm_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Not thread-safe on purpose: fault injection is a single-threaded test tool. */
static unsigned long fail_at; /* 0 = never */
static unsigned long alloc_seq;

static int should_fail(void)
{
    alloc_seq++;
    return fail_at != 0 && alloc_seq >= fail_at;
}

unsigned long tm_alloc_fail_after(unsigned long n)
{
    unsigned long made = alloc_seq;
    alloc_seq = 0;
    fail_at = n;
    return made;
}

/* Big arrays (a million traces is 24 MB) are touched once, front to back,
 * right after allocation: with 4 KiB pages that is thousands of page faults,
 * which measured as ~40% of loading a snapshot.  Asking for transparent huge
 * pages on the 2 MiB-aligned interior of the block cuts that by ~4x.  It is
 * only a hint: where THP is off, nothing changes. */
#define HUGE_HINT_MIN (4u << 20)
#define HUGE_PAGE (2u << 20)

static void *huge_hint(void *p, size_t n)
{
    if (p && n >= HUGE_HINT_MIN) {
        uintptr_t start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
        uintptr_t end = ((uintptr_t)p + n) & ~(uintptr_t)(HUGE_PAGE - 1);
        if (end > start)
            (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
    }
    return p;
}

void *tm_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    return huge_hint(malloc(n ? n : 1), n);
}

void *tm_calloc(size_t count, size_t size)
{
    if (should_fail())
        return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

void *tm_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    return huge_hint(realloc(p, n ? n : 1), n);
}

int tm_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -1;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / size)
        return -1;
    void *np = tm_realloc(*p, ncap * size);
    if (!np)
        return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

char *tm_strndup(const char *s, size_t n)
{
    char *d = tm_malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void tm_free(void *p)
{
    free(p);
}
