/*
 * Snapshots: the live table and the stack table become a tm_snapshot (frames
 * as module + offset, no symbols) that tm_tms_write() stores
 * atomically.  This code allocates, so it always runs with the re-entrancy
 * guard held: its allocations go to the real malloc, untraced.
 *
 * Triggers other than exit and the API run on one background thread that
 * sleeps on a semaphore: the signal handlers only post it
 * (async-signal-safe, no allocation).  With TM_PEAK, every snapshot written
 * is accompanied by STEM.peak.tms, the live set at the peak (peak.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rec_internal.h"
#include "tm/error.h"
#include "tm/snapshot.h"
#include "tm/tms.h"

static char stem[4200]; /* output without ".tms", with ".PID" in a child */
static int is_child;
static _Atomic uint32_t next_seq = 1;
static pthread_mutex_t dump_mutex = PTHREAD_MUTEX_INITIALIZER;

void tm_dump_set_stem(int child_pid);

void tm_dump_set_stem(int child_pid)
{
    const char *out = tm_rec_cfg.output[0] ? tm_rec_cfg.output : "tmrecord.tms";
    size_t len = strlen(out);
    if (len > 4 && strcmp(out + len - 4, ".tms") == 0)
        len -= 4;
    if (child_pid)
        snprintf(stem, sizeof(stem), "%.*s.%d", (int)len, out, child_pid);
    else
        snprintf(stem, sizeof(stem), "%.*s", (int)len, out);
    is_child = child_pid != 0;
}

static void dump_report(const char *path, const char *trigger)
{
    tm_error err;
    if (tm_dump_write(path, trigger, &err) != TM_OK)
        fprintf(stderr, "tmrecorder: %s\n", err.message);
}

void tm_dump_exit(const char *trigger)
{
    char path[sizeof(stem) + 8];
    if (!is_child && tm_rec_cfg.output[0])
        snprintf(path, sizeof(path), "%s", tm_rec_cfg.output);
    else
        snprintf(path, sizeof(path), "%s.tms", stem);
    dump_report(path, trigger);
}

int tm_dump_numbered_path(char *buf, size_t cap, uint32_t *seq)
{
    uint32_t n = atomic_fetch_add(&next_seq, 1);
    if (seq)
        *seq = n;
    return snprintf(buf, cap, "%s.%u.tms", stem, n) < (int)cap ? 0 : -1;
}

void tm_dump_restart_numbering(void)
{
    atomic_store(&next_seq, 1);
}

void tm_dump_after_fork_child(void)
{
    atomic_store(&next_seq, 1);
    pthread_mutex_init(&dump_mutex, NULL);
}

/* --- building ------------------------------------------------------------ */

typedef struct collect {
    tm_live_entry *v;
    size_t n, cap;
    uint64_t bytes;
    int oom;
    const uintptr_t *skip; /* freed blocks other threads still queue, sorted */
    size_t nskip;
} collect;

static int cmp_uptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void collect_one(const tm_live_entry *e, void *arg)
{
    collect *c = arg;
    if (c->nskip && e->domain == 0 &&
        bsearch(&e->ptr, c->skip, c->nskip, sizeof(uintptr_t), cmp_uptr))
        return;
    if (c->n == c->cap) {
        c->oom = 1; /* grew since counting: the next shard pass copes */
        return;
    }
    c->v[c->n++] = *e;
    c->bytes += tm_rec_counted(e->size);
}

static int read_cmdline(char **out, size_t *len)
{
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        ssize_t k = read(fd, buf + n, cap - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t)k;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    close(fd);
    if (!buf)
        return -1;
    *out = buf;
    *len = n;
    return 0;
}

static int add_metadata(tm_snapshot *s, const char *trigger, uint32_t sequence, uint64_t current,
                        int64_t time_ns, tm_error *err)
{
    tm_metadata md;
    memset(&md, 0, sizeof(md));
    char exe[4096], host[256];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[k > 0 ? k : 0] = 0;
    if (gethostname(host, sizeof(host)) != 0)
        host[0] = 0;
    host[sizeof(host) - 1] = 0;
    int rc;
    if ((rc = tm_snapshot_intern_string(&md.program, s, exe, strlen(exe), err)) ||
        (rc = tm_snapshot_intern_string(&md.host, s, host, strlen(host), err)) ||
        (rc = tm_snapshot_intern_string(&md.trigger, s, trigger, strlen(trigger), err)) ||
        (rc = tm_snapshot_intern_string(&md.tool_version, s, TM_VERSION_STRING,
                                        strlen(TM_VERSION_STRING), err)))
        return rc;
    md.pid = getpid();
    md.start_time_ns = atomic_load(&tm_rec_start_time_ns);
    md.snapshot_time_ns = time_ns;
    md.nframe_limit = tm_rec_cfg.nframe;
    md.sequence = sequence;
    /* The traces' own total: equal to the snapshot's even while other
     * threads allocate.  When sampling, both are estimates: the sum of the
     * traces' weighted sizes (tm/sample.h), and its running maximum. */
    md.traced_current = current;
    md.traced_peak = tm_counters_peak(current);
    md.sample_rate = tm_sample_rate();
    if ((rc = tm_snapshot_set_metadata(s, &md, err)))
        return rc;

    char *cmd;
    size_t len;
    if (read_cmdline(&cmd, &len) == 0) {
        size_t argc = 0;
        for (size_t i = 0; i < len; i++)
            argc += cmd[i] == 0;
        const char **argv = calloc(argc + 1, sizeof(*argv));
        if (!argv) {
            free(cmd);
            return tm_error_set(err, TM_ENOMEM, "argv: out of memory");
        }
        size_t a = 0;
        for (size_t i = 0; i < len && a < argc; a++) {
            argv[a] = cmd + i;
            i += strlen(cmd + i) + 1;
        }
        rc = tm_snapshot_set_argv(s, argv, argc, err);
        free(argv);
        free(cmd);
    }
    return rc;
}

static int add_modules(tm_snapshot *s, uint32_t **out_map, uint32_t *out_n, tm_error *err)
{
    uint32_t n = tm_modules_count();
    uint32_t *map = calloc(n ? n : 1, sizeof(uint32_t));
    if (!map)
        return tm_error_set(err, TM_ENOMEM, "modules: out of memory");
    for (uint32_t i = 0; i < n; i++) {
        const tm_rec_module *m = tm_modules_get(i);
        tm_module mod;
        memset(&mod, 0, sizeof(mod));
        int rc = tm_snapshot_intern_string(&mod.path, s, m->path, strlen(m->path), err);
        if (rc) {
            free(map);
            return rc;
        }
        mod.build_id_len = m->build_id_len;
        memcpy(mod.build_id, m->build_id, m->build_id_len);
        mod.load_bias = m->bias;
        mod.start = m->exec_start;
        mod.end = m->exec_end;
        if ((rc = tm_snapshot_add_module(&map[i], s, &mod, err))) {
            free(map);
            return rc;
        }
    }
    *out_map = map;
    *out_n = n;
    return TM_OK;
}

/* Snapshot stack id for a recorder stack id (memoized in smap, 0 = not yet). */
static int map_stack(tm_snapshot *s, uint32_t id, uint32_t *smap, uint32_t nsmap,
                     const uint32_t *modmap, uint32_t nmod, uint32_t *fids, uint32_t *out,
                     tm_error *err)
{
    if (id >= nsmap) {
        *out = 0;
        return TM_OK;
    }
    if (smap[id]) {
        *out = smap[id] - 1;
        return TM_OK;
    }
    const tm_stack_rec *r = tm_stacks_get(id);
    if (!r) {
        *out = 0;
        return TM_OK;
    }
    const uint32_t *mods = tm_stack_rec_mods(r);
    for (uint32_t k = 0; k < r->nframes; k++) {
        tm_frame f;
        memset(&f, 0, sizeof(f));
        f.inlined_by = TM_NONE;
        uint32_t mi = mods[k];
        const tm_rec_module *m = mi < nmod ? tm_modules_get(mi) : NULL;
        if (m) {
            f.module = modmap[mi];
            f.offset = r->pcs[k] - m->bias;
        } else {
            f.module = TM_NONE;
            f.offset = r->pcs[k];
        }
        int rc = tm_snapshot_intern_frame(&fids[k], s, &f, err);
        if (rc)
            return rc;
    }
    int rc = tm_snapshot_intern_stack(out, s, fids, r->nframes, err);
    if (rc)
        return rc;
    smap[id] = *out + 1;
    return TM_OK;
}

/* The snapshot of entries v[0..n) (their tm_rec_counted sizes add up to
 * bytes). */
static int build_from(tm_snapshot **out, const tm_live_entry *v, size_t n, uint64_t bytes,
                      const char *trigger, uint32_t sequence, int64_t time_ns, tm_error *err)
{
    tm_snapshot *s = NULL;
    uint32_t *modmap = NULL, *smap = NULL, *fids = NULL, nmod = 0;
    int rc = tm_snapshot_new(&s, err);
    if (rc)
        return rc;
    if ((rc = add_metadata(s, trigger, sequence, bytes, time_ns, err)))
        goto fail;
    if ((rc = add_modules(s, &modmap, &nmod, err)))
        goto fail;
    uint32_t nsmap = tm_stacks_count();
    smap = calloc(nsmap ? nsmap : 1, sizeof(uint32_t));
    fids = malloc((size_t)(TM_MAX_NFRAME + 1) * sizeof(uint32_t));
    if (!smap || !fids) {
        rc = tm_error_set(err, TM_ENOMEM, "stacks: out of memory");
        goto fail;
    }
    if ((rc = tm_snapshot_reserve_traces(s, n, err)))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const tm_live_entry *e = &v[i];
        tm_trace t;
        memset(&t, 0, sizeof(t));
        t.size = e->size;
        t.domain = e->domain;
        if ((rc = map_stack(s, e->stack, smap, nsmap, modmap, nmod, fids, &t.stack, err)))
            goto fail;
        const tm_stack_rec *r = tm_stacks_get(e->stack);
        if ((rc = tm_snapshot_add_trace(s, &t, r ? r->total : 0, err)))
            goto fail;
    }
    free(modmap);
    free(smap);
    free(fids);
    *out = s;
    return TM_OK;
fail:
    free(modmap);
    free(smap);
    free(fids);
    tm_snapshot_free(s);
    return rc;
}

int tm_dump_build(tm_snapshot **out, const char *trigger, uint32_t sequence, tm_error *err)
{
    /* Frees queued by any thread (pending.c) happened before this: this
     * thread's are untracked now, the others' skipped. */
    tm_pending_flush_own();
    collect c = { 0 };
    uintptr_t *skip = NULL;
    int rc;
    /* Threads may start meanwhile: collect again into a bigger array until
     * all fit. */
    for (size_t cap = tm_pending_others_max() + 64 * TM_PENDING_DEPTH;; cap *= 2) {
        free(skip);
        skip = malloc(cap * sizeof(uintptr_t));
        if (!skip) {
            rc = tm_error_set(err, TM_ENOMEM, "traces: out of memory");
            goto fail;
        }
        c.nskip = tm_pending_others_collect(skip, cap);
        if (c.nskip <= cap)
            break;
    }
    qsort(skip, c.nskip, sizeof(uintptr_t), cmp_uptr);
    c.skip = skip;
    /* Copy the table first so that no shard stays locked while the
     * snapshot is built. */
    for (int attempt = 0; attempt < 8; attempt++) {
        c.cap = tm_live_count() + 1024 + (size_t)attempt * 65536;
        c.n = 0;
        c.bytes = 0;
        c.oom = 0;
        free(c.v);
        c.v = malloc(c.cap * sizeof(*c.v));
        if (!c.v) {
            rc = tm_error_set(err, TM_ENOMEM, "traces: out of memory");
            goto fail;
        }
        tm_live_foreach(collect_one, &c);
        if (!c.oom)
            break;
    }
    rc = build_from(out, c.v, c.n, c.bytes, trigger, sequence, tm_rec_now_ns(), err);
fail:
    free(c.v);
    free(skip);
    return rc;
}

int tm_dump_build_peak(tm_snapshot **out, uint32_t sequence, tm_error *err)
{
    tm_pending_flush_own();
    tm_peak_set p;
    int rc = tm_peak_collect(&p);
    if (rc == -1)
        return tm_error_set(err, TM_EINVAL,
                            "the live set at the peak is not kept: set TM_PEAK=1 (tmrun --peak)");
    if (rc == -2) {
        free(p.v);
        return tm_error_set(err, TM_ENOMEM, "peak traces: out of memory");
    }
    if (p.inexact)
        fprintf(stderr,
                "tmrecorder: the peak snapshot is approximate: blocks of domains >= 65536 "
                "or of 256 GiB or more changed after the peak\n");
    rc = build_from(out, p.v, p.n, p.bytes, "peak", sequence, p.time_ns, err);
    free(p.v);
    return rc;
}

/* STEM.peak.tms.  dump_mutex held. */
static int write_peak(uint32_t seq, tm_error *err)
{
    char path[sizeof(stem) + 16];
    snprintf(path, sizeof(path), "%s.peak.tms", stem);
    tm_snapshot *s = NULL;
    int rc = tm_dump_build_peak(&s, seq, err);
    if (rc == TM_OK) {
        rc = tm_tms_write(s, path, NULL, err);
        tm_snapshot_free(s);
    }
    return rc;
}

int tm_dump_write(const char *path, const char *trigger, tm_error *err)
{
    uint32_t seq = 0;
    char numbered[4300];
    tm_rec_guard++;
    pthread_mutex_lock(&dump_mutex);
    if (!path) {
        tm_dump_numbered_path(numbered, sizeof(numbered), &seq);
        path = numbered;
        seq--;
    } else {
        seq = atomic_load(&next_seq) - 1;
    }
    tm_snapshot *s = NULL;
    int rc = tm_dump_build(&s, trigger, seq, err);
    if (rc == TM_OK) {
        rc = tm_tms_write(s, path, NULL, err);
        tm_snapshot_free(s);
    }
    /* Whenever a snapshot is written, the best peak so far is too: it
     * survives a later crash or kill. */
    if (tm_rec_cfg.peak && tm_rec_is_traced_process()) {
        tm_error perr;
        if (write_peak(seq, &perr) != TM_OK)
            fprintf(stderr, "tmrecorder: %s\n", perr.message);
    }
    pthread_mutex_unlock(&dump_mutex);
    tm_rec_guard--;
    return rc;
}

/* --- triggers -------------------------------------------------------------- */

static sem_t wake;
static _Atomic int thread_running;
static _Atomic int crash_signo, crash_claimed, crash_done;
static TM_TLS __thread int in_trigger_thread;

/* The snapshot at a fatal signal (TM_CRASH).  The handler cannot build one
 * itself (the heap may be locked or broken under it, and little is
 * async-signal-safe): it hands the work to the trigger thread, which uses
 * its own malloc arena, and waits for it at most CRASH_WAIT_S; then the
 * process dies of the same signal as it would have (the handler was reset
 * to the default on entry, the signal is raised again and delivered when
 * the handler returns: a fault re-executes nothing, the core shows the
 * faulting context).  Also for a crash inside a hook: glibc reports a
 * double free from the free a hook defers, and the recorder holds no lock
 * there; a crash while it holds one costs the wait, not a hang.  Not for a
 * crash of the trigger thread itself, a second crash meanwhile, or a vfork
 * child. */
#define CRASH_WAIT_S 10
static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

static void on_crash(int signo)
{
    int saved = errno;
    if (!in_trigger_thread && atomic_load(&thread_running) && atomic_load(&tm_rec_tracing) &&
        tm_rec_is_traced_process() && !atomic_exchange(&crash_claimed, 1)) {
        tm_rec_guard++;
        atomic_store(&crash_signo, signo);
        sem_post(&wake);
        const struct timespec tick = { 0, 10 * 1000 * 1000 };
        for (int i = 0; i < CRASH_WAIT_S * 100 && !atomic_load(&crash_done); i++)
            nanosleep(&tick, NULL);
        tm_rec_guard--;
    }
    raise(signo);
    errno = saved;
}

/* A stack overflow can only be handled on another stack: with TM_CRASH
 * each thread that allocates gets one, unless it has its own already. */
#define ALTSTACK_BYTES (64u << 10)
static TM_TLS __thread void *altstack;

void tm_crash_thread_start(void)
{
    stack_t old;
    if (!tm_rec_cfg.crash || altstack || sigaltstack(NULL, &old) != 0 ||
        !(old.ss_flags & SS_DISABLE))
        return;
    void *p = tm_rmem_map(ALTSTACK_BYTES);
    if (!p)
        return;
    stack_t st = { .ss_sp = p, .ss_size = ALTSTACK_BYTES, .ss_flags = 0 };
    if (sigaltstack(&st, NULL) != 0) {
        tm_rmem_unmap(p, ALTSTACK_BYTES);
        return;
    }
    altstack = p;
}

void tm_crash_thread_end(void)
{
    stack_t cur;
    void *p = altstack;
    if (!p || sigaltstack(NULL, &cur) != 0 || (cur.ss_flags & SS_ONSTACK))
        return;
    altstack = NULL;
    if (cur.ss_sp == p) { /* else the program has put its own in place */
        stack_t off = { .ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE };
        sigaltstack(&off, NULL);
    }
    tm_rmem_unmap(p, ALTSTACK_BYTES);
}

static void crash_handlers_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_RESETHAND | SA_ONSTACK;
    tm_crash_thread_start();
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++) {
        struct sigaction old;
        /* A handler the program installed before us (a preinit or an
         * earlier preload) stays: it knows better. */
        if (sigaction(crash_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
            sigaction(crash_signals[i], &sa, NULL);
    }
}
static _Atomic int sig_pending;

static void on_signal(int signo)
{
    (void)signo;
    int saved = errno;
    atomic_store(&sig_pending, 1);
    sem_post(&wake);
    errno = saved;
}

static struct timespec ts_of(int64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
    return ts;
}

/* One loop for every trigger: sleep until the next interval or a post from
 * the signal handler or the crash handler. */
static void *trigger_thread(void *arg)
{
    (void)arg;
    tm_rec_guard++; /* this thread's own allocations are never traced */
    in_trigger_thread = 1;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    int64_t iv = tm_rec_cfg.interval > 0 ? (int64_t)(tm_rec_cfg.interval * 1e9) : 0;
    int64_t next_iv = iv ? tm_rec_now_ns() + iv : 0;
    for (;;) {
        int64_t deadline = next_iv;
        if (deadline) {
            struct timespec ts = ts_of(deadline);
            while (sem_timedwait(&wake, &ts) != 0 && errno == EINTR)
                ;
        } else {
            while (sem_wait(&wake) != 0)
                ;
        }
        int64_t now = tm_rec_now_ns();
        if (!atomic_load(&tm_rec_tracing))
            continue;
        if (atomic_load(&crash_signo) && !atomic_load(&crash_done)) {
            tm_dump_exit("crash");
            atomic_store(&crash_done, 1);
            continue; /* the process is about to die */
        }
        if (iv && now >= next_iv) {
            dump_report(NULL, "interval");
            next_iv += iv;
            if (next_iv <= now)
                next_iv = now + iv; /* fell behind: skip, do not burst */
        }
        if (atomic_exchange(&sig_pending, 0))
            dump_report(NULL, "signal");
    }
    return NULL;
}

static void start_thread(void)
{
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, trigger_thread, NULL) == 0)
        atomic_store(&thread_running, 1);
    pthread_attr_destroy(&at);
}

void tm_triggers_start(void)
{
    const tm_rec_config *c = &tm_rec_cfg;
    if (!(c->interval > 0) && !c->signo && !c->crash)
        return;
    sem_init(&wake, 0, 0);
    if (c->signo) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(c->signo, &sa, NULL);
    }
    start_thread();
    if (c->crash)
        crash_handlers_install();
}

void tm_triggers_after_fork_child(void)
{
    if (!atomic_load(&thread_running))
        return;
    atomic_store(&thread_running, 0);
    atomic_store(&crash_signo, 0);
    atomic_store(&crash_claimed, 0);
    atomic_store(&crash_done, 0);
    sem_init(&wake, 0, 0);
    start_thread();
}
