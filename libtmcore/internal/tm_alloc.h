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

/* Test hook: the Nth allocation from now (1-based) and every later one
 * fails; 0 disables.  Returns how many allocations were made since the
 * last call (lets a test find the number of allocation points). */
unsigned long tm_alloc_fail_after(unsigned long n);

#endif
