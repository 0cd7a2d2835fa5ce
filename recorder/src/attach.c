/*
 * Attach mode: the recorder dlopen()ed into a running process by `tmrun -p`
 * (recorder/attach_inject.c), which then calls tm_attach_start in one of its
 * threads, and later tm_attach_stop.
 *
 * No LD_PRELOAD puts our malloc first in symbol lookup here, and the
 * library is loaded RTLD_LOCAL (so that it never binds anybody's symbols
 * for good); instead every loaded module's GOT entries of the malloc
 * family, of every operator new/delete form and of _exit/_Exit are
 * rewritten to our hooks (got.c), and dlopen/dlmopen so that a module
 * loaded later is rewritten too.  tm_attach_stop writes the snapshot and
 * puts the saved entries back.  Why GOT entries and not patched code:
 * doc/attach.md.
 *
 * Differences from the preload mode, all for a clean detach:
 * - detaching stops tracing, then waits DRAIN_MS before it puts the GOT
 *   entries back: frees are deferred as under LD_PRELOAD (pending.c), and
 *   each thread gives back the blocks it still holds at its next call
 *   through a hook (the untraced path flushes them); a thread that makes
 *   no such call meanwhile keeps up to 10 freed blocks, given back at its
 *   exit or in a later attach session;
 * - the real functions are the ones the program binds to
 *   (dlsym(RTLD_DEFAULT)): RTLD_NEXT from here would mean the C library
 *   after us in our own dependency list, not a malloc the program may have
 *   replaced (jemalloc linked into it, a preloaded allocator);
 * - blocks allocated before the start are unknown: their frees are
 *   ignored, as tracemalloc.start() called late ignores them.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attach.h"
#include "rec_internal.h"
#include "tm/error.h"
#include "tm/recorder.h"

#define TM_EXPORT __attribute__((visibility("default")))

TM_HIDDEN void tm_dump_set_stem(int child_pid);

_Atomic int tm_rec_attached;
enum { DRAIN_MS = 100 };
static _Atomic long owner_pid; /* the tmrun attached, for a takeover */
static pthread_mutex_t attach_lock = PTHREAD_MUTEX_INITIALIZER;

/* Where this library is mapped (dladdr of one of our functions). */
static uintptr_t self_base(void)
{
    Dl_info di;
    if (!dladdr((void *)&self_base, &di))
        return 0;
    return (uintptr_t)di.dli_fbase;
}

int tm_hooks_interposing(void)
{
    /* The program's malloc is ours (LD_PRELOAD, or the static core linked
     * in): then RTLD_NEXT is the real one. */
    void *m = dlsym(RTLD_DEFAULT, "malloc");
    Dl_info di;
    if (!m || !dladdr(m, &di))
        return 1;
    return (uintptr_t)di.dli_fbase == self_base();
}

/* "key=value\n" lines from tmrun: nframe, peak, sample, owner, output. */
static int config_apply(const char *cfg)
{
    tm_rec_config *c = &tm_rec_cfg;
    c->peak = 0;
    __atomic_store_n(&c->sample_rate, 0, __ATOMIC_RELAXED);
    c->output[0] = 0;
    c->interval = 0;
    c->signo = 0;
    c->crash = 0;
    c->follow_fork = 0;
    for (const char *p = cfg; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq) {
            size_t kl = (size_t)(eq - p), vl = len - kl - 1;
            const char *v = eq + 1;
            if (kl == 6 && memcmp(p, "nframe", 6) == 0) {
                long n = strtol(v, NULL, 10);
                if (n < 1 || n > (long)TM_MAX_NFRAME)
                    return -EINVAL;
                c->nframe = (unsigned)n;
            } else if (kl == 4 && memcmp(p, "peak", 4) == 0) {
                c->peak = vl == 1 && v[0] == '1';
            } else if (kl == 6 && memcmp(p, "sample", 6) == 0) {
                char *end;
                unsigned long long r = strtoull(v, &end, 10);
                if (end == v)
                    return -EINVAL;
                __atomic_store_n(&c->sample_rate, (uint64_t)r, __ATOMIC_RELAXED);
            } else if (kl == 5 && memcmp(p, "owner", 5) == 0) {
                atomic_store(&owner_pid, strtol(v, NULL, 10));
            } else if (kl == 6 && memcmp(p, "output", 6) == 0) {
                if (vl >= sizeof c->output)
                    return -ENAMETOOLONG;
                memcpy(c->output, v, vl);
                c->output[vl] = 0;
            }
        }
        p += len + (nl ? 1 : 0);
    }
    return c->output[0] ? 0 : -EINVAL;
}

/* Returns the number of GOT entries rewritten (>= 0), or a negative errno:
 * -EBUSY already attached, -EEXIST the recorder is preloaded (tracing by
 * LD_PRELOAD already), -EINVAL a bad configuration, -ENOMEM. */
TM_EXPORT int tm_attach_start(const char *cfg)
{
    /* The loader's lock before ours, never inside (attach.h). */
    if (tm_hooks_interposing())
        return -EEXIST;
    if (tm_got_hooks_resolve() != 0)
        return -ENOENT;
    pthread_mutex_lock(&attach_lock);
    int rc;
    if (atomic_load(&tm_rec_attached)) {
        rc = -EBUSY;
        goto out;
    }
    tm_rec_init();
    tm_rec_guard++;
    rc = config_apply(cfg);
    if (rc == 0) {
        tm_dump_set_stem(0);
        tm_dump_restart_numbering();
        atomic_store(&tm_rec_attached, 1);
        tm_live_clear();
        atomic_store(&tm_rec_start_time_ns, tm_rec_now_ns());
        tm_peak_start();
        tm_rec_cfg.exit_dump = 1;
        tm_rec_set_tracing(1);
        rc = tm_got_patch_all();
        if (rc < 0) {
            tm_got_restore_all();
            tm_rec_set_tracing(0);
            tm_rec_cfg.exit_dump = 0;
            atomic_store(&tm_rec_attached, 0);
            tm_live_clear();
        }
    }
    tm_rec_guard--;
out:
    pthread_mutex_unlock(&attach_lock);
    return rc;
}

/* The pid of the tmrun attached (0: none): a tmrun that finds it gone
 * may detach in its place (tmrun_attach.c). */
TM_EXPORT long tm_attach_owner(void)
{
    return atomic_load(&tm_rec_attached) ? atomic_load(&owner_pid) : 0;
}

/* Writes FILE (-o) now: the numbered file FILE-stem.N.tms with numbered != 0
 * (tmrun's --interval).  0, or -1 (the reason is on the target's stderr). */
TM_EXPORT int tm_attach_snapshot(int numbered)
{
    if (!atomic_load(&tm_rec_attached) || !atomic_load(&tm_rec_tracing))
        return -1;
    tm_error err;
    const char *trigger = numbered ? "interval" : "detach";
    if (tm_dump_write(numbered ? NULL : tm_rec_cfg.output, trigger, &err) != TM_OK) {
        fprintf(stderr, "tmrecorder: %s\n", err.message);
        return -1;
    }
    return 0;
}

/* Writes FILE, stops tracing, lets the threads give back their deferred
 * frees for DRAIN_MS, puts every rewritten GOT entry back: the hooks stay (a thread may be inside one, or about to enter one through a
 * pointer it loaded before the restore) and pass everything through.
 * 0, -1 when the snapshot could not be written (detached all the same),
 * -ENOENT when not attached. */
TM_EXPORT int tm_attach_stop(void)
{
    pthread_mutex_lock(&attach_lock);
    int rc = -ENOENT;
    if (atomic_load(&tm_rec_attached)) {
        rc = tm_attach_snapshot(0);
        tm_rec_cfg.exit_dump = 0;
        tm_rec_set_tracing(0);
        tm_pending_release_own();
        struct timespec ts = { 0, DRAIN_MS * 1000000L };
        while (nanosleep(&ts, &ts) != 0)
            ;
        tm_got_restore_all();
        tm_rec_guard++;
        tm_live_clear();
        tm_rec_guard--;
        atomic_store(&tm_rec_attached, 0);
    }
    pthread_mutex_unlock(&attach_lock);
    return rc;
}

/* A module loaded while attached (attach_dlopen.c): rewrite it too. */
void tm_attach_after_load(void *handle)
{
    if (handle && atomic_load(&tm_rec_attached)) {
        tm_got_hooks_resolve(); /* libstdc++ may have come with it */
        pthread_mutex_lock(&attach_lock);
        if (atomic_load(&tm_rec_attached))
            tm_got_patch_all(); /* only the modules not rewritten yet */
        pthread_mutex_unlock(&attach_lock);
    }
}
