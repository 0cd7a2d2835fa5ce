/*
 * tm/memory.h — the memory budget: how many bytes tmkit's readers, analysis
 * and writers may hold at once.
 *
 * Snapshots are hostile input: a few hundred bytes of zstd can declare
 * gigabytes, and a valid file of a few kilobytes can hold a billion empty
 * traces.  Every heap allocation libtmcore and formats make is counted
 * (live bytes, as malloc_usable_size reports them), and so are the pages a
 * .tms section decompresses into.  An allocation that would take the count
 * past the budget fails as out of memory (TM_ENOMEM), before the memory is
 * touched, so the process never meets the OOM killer or swap; afterwards
 * tm_memory_budget_exceeded() tells that failure from a real one.
 *
 * The budget is process-wide and starts at 0 = none (a library does not
 * guess for its host program); the tools set one (--max-memory,
 * TM_MAX_MEMORY, else tm_memory_budget_default()).
 */
#ifndef TM_MEMORY_H
#define TM_MEMORY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The default the tools use: a quarter of physical memory, at least
 * TM_MEMORY_DEFAULT_MIN (never more than physical memory) and at most
 * TM_MEMORY_DEFAULT_MAX. */
#define TM_MEMORY_DEFAULT_MIN (UINT64_C(512) << 20) /* 512 MiB */
#define TM_MEMORY_DEFAULT_MAX (UINT64_C(64) << 30)  /* 64 GiB */

/* Sets the budget in bytes; 0 removes it.  Memory already held counts
 * against the new budget.  Also clears tm_memory_budget_exceeded(). */
void tm_memory_budget_set(uint64_t bytes);
/* The budget in force (0 = none). */
uint64_t tm_memory_budget(void);
/* Bytes tmkit holds now, and the most it held since the process started. */
uint64_t tm_memory_in_use(void);
uint64_t tm_memory_peak(void);
/* 1 once an allocation was refused because of the budget, else 0. */
int tm_memory_budget_exceeded(void);
/* A quarter of physical memory (sysconf(_SC_PHYS_PAGES)), clamped as said
 * above; TM_MEMORY_DEFAULT_MIN when the size cannot be found. */
uint64_t tm_memory_budget_default(void);

#ifdef __cplusplus
}
#endif
#endif
