/*
 * Internal (shared by tmkit's layers, never installed): progress on stderr for long operations, shown only when stderr is
 * a terminal (never in pipes, logs or CI), only after the operation has run
 * for a moment (TM_PROGRESS_DELAY_MS, default 500), at most ~10 times a
 * second, and erased when done.  Tools may include this header too.
 *
 *     tm_progress p;
 *     tm_progress_begin(&p, enabled, "reading traces", n);
 *     for (i = 0; i < n; i++) { tm_progress_tick(&p, i); ... }
 *     tm_progress_end(&p);
 */
#ifndef TM_PROGRESS_H
#define TM_PROGRESS_H

#include <stdint.h>

typedef struct tm_progress {
    int enabled; /* stderr is a terminal and the caller allows it */
    int shown;   /* something is on the line and must be erased */
    const char *what;
    uint64_t total;
    uint64_t next_tick; /* cheap counter check before reading the clock */
    uint64_t stride;
    int64_t start_ns, delay_ns, last_ns;
} tm_progress;

/* allow = 0 disables it whatever the terminal. */
void tm_progress_begin(tm_progress *p, int allow, const char *what, uint64_t total);
/* A step that cannot count its work (one library call): shows "what..."
 * at once when stderr is a terminal and allow is set; erase with _end. */
void tm_progress_phase(tm_progress *p, int allow, const char *what);
void tm_progress_update(tm_progress *p, uint64_t done);
void tm_progress_end(tm_progress *p);

static inline void tm_progress_tick(tm_progress *p, uint64_t done)
{
    if (p && p->enabled && done >= p->next_tick)
        tm_progress_update(p, done);
}

#endif
