#include "tm_progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t progress_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void tm_progress_begin(tm_progress *p, int allow, const char *what, uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->enabled = allow && isatty(STDERR_FILENO);
    if (!p->enabled)
        return;
    p->what = what;
    p->total = total;
    /* Reading the clock every item would cost more than most items. */
    p->stride = total / 1000 + 1;
    p->next_tick = 0;
    p->delay_ns = 500 * 1000000LL;
    const char *env = getenv("TM_PROGRESS_DELAY_MS");
    if (env && *env) {
        char *end;
        long ms = strtol(env, &end, 10);
        if (!*end && ms >= 0)
            p->delay_ns = (int64_t)ms * 1000000;
    }
    p->start_ns = progress_now_ns();
    p->last_ns = 0;
    if (p->delay_ns == 0)
        tm_progress_update(p, 0);
}

void tm_progress_phase(tm_progress *p, int allow, const char *what)
{
    memset(p, 0, sizeof *p);
    p->enabled = allow && isatty(STDERR_FILENO);
    if (!p->enabled)
        return;
    p->what = what;
    p->shown = 1;
    fprintf(stderr, "\r%s...\033[K", what);
    fflush(stderr);
}

void tm_progress_update(tm_progress *p, uint64_t done)
{
    if (!p->enabled)
        return;
    p->next_tick = done + p->stride;
    int64_t now = progress_now_ns();
    if (now - p->start_ns < p->delay_ns)
        return;
    if (p->shown && now - p->last_ns < 100 * 1000000LL)
        return;
    p->last_ns = now;
    p->shown = 1;
    if (p->total)
        fprintf(stderr, "\r%s: %3u%%\033[K", p->what,
                (unsigned)(done >= p->total ? 100 : done * 100 / p->total));
    else
        fprintf(stderr, "\r%s: %llu\033[K", p->what, (unsigned long long)done);
    fflush(stderr);
}

void tm_progress_end(tm_progress *p)
{
    if (p->enabled && p->shown) {
        /* Erase the line so the next message starts clean. */
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->enabled = 0;
    p->shown = 0;
}
