#include "tm_alloc.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tm/memory.h"

/* Not thread-safe on purpose: fault injection is a single-threaded test tool. */
static unsigned long fail_at; /* 0 = never */
static unsigned long alloc_seq;

static int should_fail(void)
{
    alloc_seq++;
    return fail_at != 0 && alloc_seq >= fail_at;
}

/* The memory budget (tm/memory.h).  The recorder writes snapshots from more
 * than one thread, so the count is atomic; the budget itself is set once, by
 * a tool's main, before any thread exists. */
static _Atomic uint64_t in_use, peak;
static uint64_t budget; /* 0 = none */
static atomic_int budget_hit;

void tm_memory_budget_set(uint64_t bytes)
{
    budget = bytes;
    atomic_store_explicit(&budget_hit, 0, memory_order_relaxed);
}

uint64_t tm_memory_budget(void)
{
    return budget;
}

uint64_t tm_memory_in_use(void)
{
    return atomic_load_explicit(&in_use, memory_order_relaxed);
}

uint64_t tm_memory_peak(void)
{
    return atomic_load_explicit(&peak, memory_order_relaxed);
}

int tm_memory_budget_exceeded(void)
{
    return atomic_load_explicit(&budget_hit, memory_order_relaxed);
}

uint64_t tm_memory_budget_default(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0)
        return TM_MEMORY_DEFAULT_MIN;
    uint64_t phys = (uint64_t)pages * (uint64_t)page, b = phys / 4;
    if (b < TM_MEMORY_DEFAULT_MIN)
        b = TM_MEMORY_DEFAULT_MIN < phys ? TM_MEMORY_DEFAULT_MIN : phys;
    return b > TM_MEMORY_DEFAULT_MAX ? TM_MEMORY_DEFAULT_MAX : b;
}

int tm_alloc_charge(size_t n)
{
    uint64_t now = atomic_fetch_add_explicit(&in_use, n, memory_order_relaxed) + n;
    if (budget && (now > budget || now < n)) {
        atomic_fetch_sub_explicit(&in_use, n, memory_order_relaxed);
        atomic_store_explicit(&budget_hit, 1, memory_order_relaxed);
        return -1;
    }
    uint64_t p = atomic_load_explicit(&peak, memory_order_relaxed);
    while (now > p &&
           !atomic_compare_exchange_weak_explicit(&peak, &p, now, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
    return 0;
}

void tm_alloc_uncharge(size_t n)
{
    /* Saturating: a block that came from plain malloc and is given to
     * tm_free (file.h allows either free) must not wrap the count. */
    uint64_t cur = atomic_load_explicit(&in_use, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&in_use, &cur, cur > n ? cur - n : 0,
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
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

/* The budget is checked against the requested size before malloc touches
 * anything, then corrected to what malloc really handed out, which is what
 * tm_free gives back. */
static void *counted(void *p, size_t asked)
{
    if (!p) {
        tm_alloc_uncharge(asked);
        return NULL;
    }
    size_t got = malloc_usable_size(p);
    if (got > asked)
        (void)atomic_fetch_add_explicit(&in_use, got - asked, memory_order_relaxed);
    else
        tm_alloc_uncharge(asked - got);
    return p;
}

void *tm_malloc(size_t n)
{
    if (should_fail() || tm_alloc_charge(n ? n : 1))
        return NULL;
    return huge_hint(counted(malloc(n ? n : 1), n ? n : 1), n);
}

void *tm_calloc(size_t count, size_t size)
{
    if (should_fail())
        return NULL;
    count = count ? count : 1;
    size = size ? size : 1;
    if (count > SIZE_MAX / size || tm_alloc_charge(count * size))
        return NULL;
    return counted(calloc(count, size), count * size);
}

void *tm_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    n = n ? n : 1;
    size_t old = p ? malloc_usable_size(p) : 0;
    /* A shrink never fails on the budget; a growth is charged its increase. */
    if (n > old && tm_alloc_charge(n - old))
        return NULL;
    void *np = realloc(p, n);
    if (!np) {
        if (n > old)
            tm_alloc_uncharge(n - old);
        return NULL;
    }
    size_t got = malloc_usable_size(np);
    /* Now charged: old + max(n - old, 0); held: got. */
    size_t charged = n > old ? n : old;
    if (got > charged)
        (void)atomic_fetch_add_explicit(&in_use, got - charged, memory_order_relaxed);
    else
        tm_alloc_uncharge(charged - got);
    return huge_hint(np, n);
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
    if (p)
        tm_alloc_uncharge(malloc_usable_size(p));
    free(p);
}

/* Anonymous, not reserved in swap: pages exist only once written, and the
 * caller charges them to the budget as it writes them. */
void *tm_vm_reserve(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    /* Written front to back once, like the big arrays above. */
    return p == MAP_FAILED ? NULL : huge_hint(p, n);
}

void tm_vm_release(void *p, size_t n)
{
    if (p)
        (void)munmap(p, n ? n : 1);
}
