/*
 * Internal (shared by tmkit's layers, never installed): every heap
 * allocation libtmcore and formats make goes through
 * these, so that tests can inject out-of-memory failures ("fail the Nth
 * allocation") and prove that every path cleans up.
 */
#ifndef TM_ALLOC_H
#define TM_ALLOC_H

#include <stddef.h>

void *tm_malloc(size_t n);
void *tm_calloc(size_t count, size_t size);
void *tm_realloc(void *p, size_t n);
/* Grows an array: *p has room for *cap elements of `size` bytes; makes room
 * for at least `need`.  Returns 0 or -1 (p untouched on failure). */
int tm_grow(void **p, size_t *cap, size_t need, size_t size);
char *tm_strndup(const char *s, size_t n);
void tm_free(void *p);

/* The memory budget's count (tm/memory.h) for memory that does not come
 * from tm_malloc: charge before using n more bytes (0, or -1 = over the
 * budget: do not use them), uncharge when they are given back. */
int tm_alloc_charge(size_t n);
void tm_alloc_uncharge(size_t n);

/* Address space for a buffer of up to n bytes whose final size is not yet
 * proven (a .tms section that claims n bytes when decompressed): pages are
 * neither allocated nor counted until written, so the caller charges what it
 * writes (tm_alloc_charge) and uncharges it before tm_vm_release.  NULL when
 * the address space is not there (or an injected failure). */
void *tm_vm_reserve(size_t n);
void tm_vm_release(void *p, size_t n);

/* Test hook: the Nth allocation from now (1-based) and every later one
 * fails; 0 disables.  Returns how many allocations were made since the
 * last call (lets a test find the number of allocation points). */
unsigned long tm_alloc_fail_after(unsigned long n);

#endif
