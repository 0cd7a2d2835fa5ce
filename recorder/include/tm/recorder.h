/*
 * tm/recorder.h — the runtime API of the tmkit recorder (Python's
 * `tracemalloc` module for C/C++ processes).
 *
 * The recorder lives in libtmrecorder.so (and the static libtmrecorder.a).
 * It interposes malloc, calloc, realloc, reallocarray, free, posix_memalign,
 * memalign, aligned_alloc, valloc, pvalloc and every C++ operator new/delete,
 * and keeps for each live block (domain 0) its size and call stack.
 *
 * Two ways to use it:
 *   - without code changes: `tmrun -o app.tms -- ./app` or
 *     `LD_PRELOAD=libtmrecorder.so TM_OUTPUT=app.tms ./app`; tracing starts
 *     when the library loads and a snapshot is written at exit;
 *   - from code: link libtmrecorder and call the functions below
 *     (tm_start ... tm_take_snapshot), exactly like tracemalloc.
 *
 * Environment (read once when the library loads; tmrun sets these):
 *   TM_OUTPUT=FILE.tms   write FILE.tms at exit; tracing starts at load.
 *   TM_NFRAME=N          traceback limit (1..65535, default 1 as in Python;
 *                        tmrun's default is 20).  Also starts tracing.
 *   TM_START=1           start tracing at load even without TM_OUTPUT.
 *   TM_INTERVAL=SEC      also write a numbered snapshot every SEC seconds.
 *   TM_SIGNAL=SIG        also write one when SIG (name like USR2 or number)
 *                        arrives.  No default: nothing is installed unless set;
 *                        a handler the program installs later for SIG wins.
 *   TM_PEAK=1            keep the live set at the peak of traced memory and
 *                        write it as STEM.peak.tms whenever another snapshot
 *                        is written (exit, interval, signal, crash, API):
 *                        see tm_take_peak_snapshot.
 *   TM_CRASH=1           also write FILE.tms (trigger "crash") when the
 *                        process dies of SIGSEGV, SIGBUS, SIGILL, SIGFPE or
 *                        SIGABRT; best effort: written by the background
 *                        thread within 10 s, then the process dies of the
 *                        same signal.  Installed only over the default
 *                        action; starts the background thread (so a
 *                        single-threaded program becomes multi-threaded);
 *                        each thread that allocates gets a 64 KiB alternate
 *                        signal stack, unless it has one, so that a stack
 *                        overflow is caught too.
 *   TM_SAMPLE=SIZE       Poisson sampling by bytes (tmrun --sample): trace
 *                        only a sample of the blocks, a block of s bytes
 *                        with probability p = 1 - exp(-s/SIZE), each kept
 *                        one standing for 1/p blocks and s/p bytes
 *                        (tm/sample.h).  SIZE is the mean interval in bytes
 *                        between samples: 4096, 512KiB, 1.5MiB, 2G (units
 *                        1024-based).  A block not sampled costs its malloc
 *                        a compare and a store (the thread's countdown) and
 *                        its free a hash and one load (the filter of
 *                        sampled addresses); 512KiB keeps about one 128-byte
 *                        block in 4000.  The snapshots'
 *                        sizes, counts and traced current/peak are then
 *                        estimates (tm_metadata.sample_rate = SIZE).  A bad
 *                        SIZE is reported on stderr and every block is
 *                        traced.  See tm_set_sample_rate.
 *   TM_SAMPLE_SEED=N     (tests) seed the sampling of every thread from N
 *                        and the order in which threads first allocate,
 *                        instead of the clock and the thread id.
 *   TM_FOLLOW_FORK=1     children (fork, fork+exec) are traced too, each to
 *                        its own file; otherwise children are not traced.
 *   TM_UNWIND=eh|eh-nocache|eh-full|fp|libgcc   unwinder: eh (default) =
 *                        .eh_frame CFA rules cached per PC, incremental reuse
 *                        of the previous stack and a per-thread cache of
 *                        stack ids; eh-nocache = without the stack-id cache;
 *                        eh-full = without any reuse;
 *                        fp = frame pointers (fast, WRONG through code
 *                        without frame pointers such as Debian's glibc);
 *                        libgcc = _Unwind_Backtrace (slow, reference).
 *   TM_UNWIND_CHECK=1    debugging: compare every stack with libgcc and
 *                        print the number of mismatches at exit (slow).
 *
 * File names (FILE = TM_OUTPUT, STEM = FILE without a trailing ".tms"):
 *   at exit                      FILE
 *   numbered (interval, signal, tm_dump_snapshot(NULL)) STEM.1.tms,
 *                                STEM.2.tms, ...
 *   the peak (TM_PEAK=1)         STEM.peak.tms, rewritten with each of them
 *   a traced child process       STEM.PID.tms and STEM.PID.N.tms
 * Every file is written atomically (temporary file + rename).  The exit
 * snapshot is written at exit() or a return from main, and at _exit() or
 * _Exit() (not by a vfork child, nor from a signal handler: building a
 * snapshot is not async-signal-safe), and with TM_CRASH=1 at a fatal signal;
 * there is none when the process is killed otherwise (SIGKILL, an
 * unhandled SIGTERM), or by exec (the new image writes its own).  Snapshots taken while other threads allocate are consistent per
 * live-table shard, not globally.
 *
 * Frees are deferred: a thread's freed block reaches the allocator a few
 * frees later (see recorder/README.md).  Every query below sees them at
 * once: it untracks the calling thread's deferred frees and excludes the
 * other threads'.  None of these functions is async-signal-safe (they may
 * call free, like the deferred frees they release).
 *
 * Frames are stored as (module, return address - load bias): the PC of each
 * return address as is; symbolizers look up PC - 1.  Unwinding is x86-64
 * only.  Allocations made while the recorder itself runs (for instance by a
 * signal handler that interrupts a hook) are passed to the allocator but not
 * traced.
 */
#ifndef TM_RECORDER_H
#define TM_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "tm/error.h"
#include "tm/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Starts tracing with traceback limit nframe (1..TM_MAX_NFRAME).  If tracing
 * already runs, only the limit changes.  TM_EINVAL for a bad nframe. */
int tm_start(unsigned nframe);

/* Stops tracing and forgets every trace (like tracemalloc.stop()).  The
 * table of unique stacks is kept as a cache; see tm_get_tracemalloc_memory. */
void tm_stop(void);

int tm_is_tracing(void);

/* Poisson sampling by bytes (TM_SAMPLE above, tm/sample.h): from the next
 * tm_start on, a block of s bytes is traced with probability
 * 1 - exp(-bytes/s), decided by a per-thread countdown drawn from an
 * exponential distribution with mean `bytes`; 0 traces every block (the
 * default).  Only while not tracing (before tm_start, after tm_stop):
 * TM_EINVAL otherwise, because the traces of one table must share one
 * rate.  Blocks not sampled are passed to the allocator untouched: their
 * malloc does not unwind, their free does not look them up (a 64 KiB
 * filter of the sampled blocks' addresses says they were not sampled). */
int tm_set_sample_rate(uint64_t bytes);
uint64_t tm_get_sample_rate(void); /* 0: every block is traced */

/* Sum of the sizes of the traced live blocks, and its peak (a sum over 272
 * table shards, and over the few blocks each other thread has freed but not
 * yet released: independent of the number of traces).  current is exact.
 * peak is exact while at most
 * one thread has allocated or freed since the others last synchronized
 * their counts (always, in a single-threaded program; and after the other
 * threads exit); otherwise each other thread can make it miss, or
 * overstate, the true peak by less than 16 KiB, its unsynchronized net
 * allocation, plus the blocks it has freed but not yet released (at most 4).
 * Never below current.
 * When sampling (tm_set_sample_rate), both are ESTIMATES: current is the
 * sum over the live sampled blocks of size / p(size) (unbiased for the true
 * current, tm/sample.h), peak the running maximum of that estimate, which
 * tends to overstate the true peak by about its noise (the size of
 * unsampled blocks is unknown when they are freed, so no exact count can
 * be kept cheaply). */
void tm_get_traced_memory(size_t *current, size_t *peak);

/* peak := current. */
void tm_reset_peak(void);

/* Forgets every trace; tracing continues; current and peak become 0. */
void tm_clear_traces(void);

/* Bytes the recorder itself holds for its tables (live table, stacks,
 * unwind cache, modules). */
size_t tm_get_tracemalloc_memory(void);

unsigned tm_get_traceback_limit(void);

/* The stack that allocated ptr (domain 0): up to max return addresses, most
 * recent first, into pcs; *nframes gets the number stored, *size the block
 * size (either may be NULL).  TM_ENOTFOUND if ptr is not traced. */
int tm_get_object_traceback(uintptr_t *pcs, size_t max, size_t *nframes, size_t *size,
                            const void *ptr);

/* A snapshot of every live trace (like tracemalloc.take_snapshot()), with
 * frames as (module, offset) and no symbols.  Release with
 * tm_snapshot_free().  TM_EINVAL if not tracing. */
int tm_take_snapshot(tm_snapshot **out, tm_error *err);

/* The live traces at the moment traced current was highest since tracing
 * started (or since tm_reset_peak / tm_clear_traces): exactly, in a
 * single-threaded program; with threads, the moment is the instant the
 * peak was raised, and each other thread can shift the set by the changes
 * it made concurrently (at most one), by its unsynchronized net allocation
 * (< 16 KiB, see tm_get_traced_memory) and by the blocks it has freed but
 * not yet released (at most 4).  Trigger "peak"; snapshot_time is when the
 * peak was set.  Needs TM_PEAK=1 (tmrun --peak), which makes the recorder
 * log each change of its table from a new peak until the set is rebuilt:
 * TM_EINVAL without it.  When sampling: the live sampled blocks at the
 * moment the estimated current (tm_get_traced_memory) was highest. */
int tm_take_peak_snapshot(tm_snapshot **out, tm_error *err);
/* Takes a snapshot and writes it to path; path NULL means the next numbered
 * file of the series (STEM.N.tms, see above).  Trigger recorded: "api". */
int tm_dump_snapshot(const char *path, tm_error *err);

/* Custom allocators: report a block of `size` bytes at ptr in `domain`
 * (domain 0 is the heap the recorder traces itself).  Tracking a (domain,
 * ptr) again replaces its size and stack.  Returns TM_EINVAL if not tracing,
 * if ptr is 0, or when called from a signal handler that interrupted the
 * recorder itself (nothing is recorded then).  Untracking an unknown block
 * does nothing. */
int tm_track(unsigned domain, uintptr_t ptr, size_t size);
int tm_untrack(unsigned domain, uintptr_t ptr);

#ifdef __cplusplus
}
#endif
#endif
