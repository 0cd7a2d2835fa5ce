/* The public runtime API (tm/recorder.h), mirroring Python's tracemalloc. */
#include <string.h>

#include "rec_internal.h"
#include "tm/recorder.h"

#define TM_EXPORT __attribute__((visibility("default")))

TM_EXPORT int tm_start(unsigned nframe)
{
    if (nframe < 1 || nframe > TM_MAX_NFRAME)
        return TM_EINVAL;
    tm_rec_init();
    tm_rec_cfg.nframe = nframe;
    if (!atomic_load(&tm_rec_tracing)) {
        atomic_store(&tm_rec_start_time_ns, tm_rec_now_ns());
        tm_peak_start();
        tm_rec_set_tracing(1);
    }
    return TM_OK;
}

/* Every query first untracks the frees this thread has queued (pending.c;
 * the other threads' queued blocks are excluded by the readers); not from
 * a signal handler that interrupted the recorder (the guard is set there). */
static void drain(void)
{
    if (!tm_rec_guard)
        tm_pending_flush_own();
}

TM_EXPORT int tm_set_sample_rate(uint64_t bytes)
{
    tm_rec_init();
    /* Traces of two rates in one table would have no one weight. */
    if (atomic_load(&tm_rec_tracing))
        return TM_EINVAL;
    __atomic_store_n(&tm_rec_cfg.sample_rate, bytes, __ATOMIC_RELAXED);
    return TM_OK;
}

TM_EXPORT uint64_t tm_get_sample_rate(void)
{
    return tm_sample_rate();
}

TM_EXPORT void tm_stop(void)
{
    tm_rec_init();
    tm_rec_set_tracing(0);
    drain();
    tm_rec_guard++;
    tm_live_clear();
    tm_rec_guard--;
}

TM_EXPORT int tm_is_tracing(void)
{
    return atomic_load(&tm_rec_tracing);
}

TM_EXPORT void tm_get_traced_memory(size_t *current, size_t *peak)
{
    drain();
    uint64_t c = tm_counters_current();
    if (current)
        *current = (size_t)c;
    if (peak)
        *peak = (size_t)tm_counters_peak(c);
}

TM_EXPORT void tm_reset_peak(void)
{
    drain();
    tm_counters_reset_peak();
}

TM_EXPORT void tm_clear_traces(void)
{
    drain();
    tm_rec_guard++;
    tm_live_clear();
    tm_rec_guard--;
}

TM_EXPORT size_t tm_get_tracemalloc_memory(void)
{
    return tm_rmem_total();
}

TM_EXPORT unsigned tm_get_traceback_limit(void)
{
    return tm_rec_cfg.nframe;
}

TM_EXPORT int tm_get_object_traceback(uintptr_t *pcs, size_t max, size_t *nframes, size_t *size,
                                      const void *ptr)
{
    tm_live_entry e;
    drain();
    tm_rec_guard++;
    int found =
        ptr && tm_live_find((uintptr_t)ptr, 0, &e) && !tm_pending_others_has((uintptr_t)ptr);
    tm_rec_guard--;
    if (!found)
        return TM_ENOTFOUND;
    const tm_stack_rec *r = tm_stacks_get(e.stack);
    size_t n = r ? r->nframes : 0;
    if (n > max)
        n = max;
    if (n)
        memcpy(pcs, r->pcs, n * sizeof(uintptr_t));
    if (nframes)
        *nframes = n;
    if (size)
        *size = (size_t)e.size;
    return TM_OK;
}

TM_EXPORT int tm_take_snapshot(tm_snapshot **out, tm_error *err)
{
    if (!atomic_load(&tm_rec_tracing))
        return tm_error_set(err, TM_EINVAL,
                            "the tracemalloc module must be tracing memory allocations "
                            "to take a snapshot");
    tm_rec_guard++;
    int rc = tm_dump_build(out, "api", 0, err);
    tm_rec_guard--;
    return rc;
}

TM_EXPORT int tm_take_peak_snapshot(tm_snapshot **out, tm_error *err)
{
    if (!atomic_load(&tm_rec_tracing))
        return tm_error_set(err, TM_EINVAL,
                            "the tracemalloc module must be tracing memory allocations "
                            "to take a snapshot");
    tm_rec_guard++;
    int rc = tm_dump_build_peak(out, 0, err);
    tm_rec_guard--;
    return rc;
}

TM_EXPORT int tm_dump_snapshot(const char *path, tm_error *err)
{
    if (!atomic_load(&tm_rec_tracing))
        return tm_error_set(err, TM_EINVAL, "%s: not tracing", path ? path : "snapshot");
    return tm_dump_write(path, "api", err);
}

TM_EXPORT int tm_track(unsigned domain, uintptr_t ptr, size_t size)
{
    /* tm_rec_guard set: called from a signal handler that interrupted the
     * recorder, which may hold the very lock we would need. */
    if (!ptr || !atomic_load(&tm_rec_tracing) || tm_rec_guard)
        return TM_EINVAL;
    tm_regs r;
    TM_CALLER_REGS(r);
    tm_rec_guard++;
    tm_pending_flush_own();
    if (!tm_sample_rate() || tm_sample_take(size)) {
        tm_record_alloc((void *)ptr, size, domain, &r);
    } else {
        /* Not sampled: an earlier trace of the same block must not stay
         * (tracking again replaces, as when every block is traced). */
        tm_live_remove(ptr, domain, NULL);
    }
    tm_rec_guard--;
    return TM_OK;
}

TM_EXPORT int tm_untrack(unsigned domain, uintptr_t ptr)
{
    if (!atomic_load(&tm_rec_tracing) || tm_rec_guard)
        return TM_EINVAL;
    tm_rec_guard++;
    tm_pending_flush_own();
    tm_live_remove(ptr, domain, NULL);
    tm_rec_guard--;
    return TM_OK;
}
