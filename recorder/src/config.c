/*
 * Process-level life cycle: configuration from the environment at load,
 * fork handlers (no recorder lock is held across fork, so the child never
 * inherits a locked shard), and the snapshot at exit.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "rec_internal.h"
#include "tm/error.h"
#include "tm/snapshot.h"

TM_HIDDEN void tm_hooks_resolve(void);
TM_HIDDEN void tm_dump_set_stem(int child_pid);

tm_rec_config tm_rec_cfg = {
    .nframe = 1,
    .unwinder = TM_UNWIND_EH,
    .incremental = 2,
};
_Atomic int tm_rec_tracing;
_Atomic int tm_rec_sampling;

void tm_rec_set_tracing(int on)
{
    /* Sampling first off and last on: a hook that sees it on sees tracing
     * on too (and the real allocator resolved, which tracing implies). */
    int smp = on && __atomic_load_n(&tm_rec_cfg.sample_rate, __ATOMIC_RELAXED);
    if (!smp)
        atomic_store(&tm_rec_sampling, 0);
    atomic_store(&tm_rec_tracing, on);
    if (smp)
        atomic_store(&tm_rec_sampling, 1);
}
_Atomic int64_t tm_rec_start_time_ns;

/* The process whose exit writes the exit snapshot: this one, or a child
 * that follows a fork (a vfork child shares our memory and must not). */
static _Atomic long traced_pid;
static _Atomic int exit_written;
static void (*real_exit)(int);
static void (*real_Exit)(int);

static _Atomic int inited;
static _Atomic int early_started;

/* --- tracing from the first allocation ------------------------------------
 * Other libraries' constructors may run before ours (libstdc++ allocates
 * its 72 KiB exception pool there) and environ may not even be set yet: the
 * first hook reads the start-up variables from /proc/self/environ itself
 * and starts tracing at once; the constructor completes the set-up.  Same
 * rules as tm_rec_init: TM_OUTPUT, TM_NFRAME or TM_START start it, a
 * process exec'ed from a traced one (TM_ROOT_PID is someone else's) only
 * with TM_FOLLOW_FORK. */
static const char *environ_get(const char *buf, size_t len, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < len;) {
        const char *e = buf + i;
        size_t el = strnlen(e, len - i);
        if (el > nl && memcmp(e, name, nl) == 0 && e[nl] == '=')
            return e + nl + 1;
        i += el + 1;
    }
    return NULL;
}

static int flag_value(const char *v)
{
    return v && *v && strcmp(v, "0") != 0;
}

/* TM_SAMPLE_SEED=N (tests): a decimal seed; anything else is ignored. */
static void read_sample_seed(const char *v)
{
    if (!v || *v < '0' || *v > '9')
        return;
    uint64_t n = 0;
    for (; *v >= '0' && *v <= '9'; v++)
        n = n * 10 + (uint64_t)(*v - '0');
    if (*v)
        return;
    tm_smp_seed = n;
    tm_smp_seed_set = 1;
}

void tm_rec_early_start(void)
{
    static char buf[32768]; /* a larger environment: only its start is read */
    if (atomic_load(&inited) || atomic_load(&tm_rec_tracing))
        return;
    int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    size_t len = 0;
    for (ssize_t k; len < sizeof buf - 1 && (k = read(fd, buf + len, sizeof buf - 1 - len)) > 0;)
        len += (size_t)k;
    close(fd);
    buf[len] = 0;
    const char *out = environ_get(buf, len, "TM_OUTPUT");
    const char *nf = environ_get(buf, len, "TM_NFRAME");
    int autostart = flag_value(environ_get(buf, len, "TM_START")) || (nf && *nf) || (out && *out);
    const char *root = environ_get(buf, len, "TM_ROOT_PID");
    if (!autostart ||
        (root && *root && atol(root) != (long)getpid() &&
         !flag_value(environ_get(buf, len, "TM_FOLLOW_FORK"))))
        return;
    long n = nf ? atol(nf) : 0;
    if (n >= 1 && n <= (long)TM_MAX_NFRAME)
        tm_rec_cfg.nframe = (unsigned)n;
    tm_rec_cfg.peak = flag_value(environ_get(buf, len, "TM_PEAK"));
    /* A bad value: the constructor says so, and falls back to tracing
     * every block, which is where this leaves the rate. */
    const char *smp = environ_get(buf, len, "TM_SAMPLE");
    char msg[8];
    uint64_t rate;
    if (smp && *smp && tm_sample_parse(&rate, smp, msg, sizeof msg) == 0)
        tm_rec_cfg.sample_rate = rate;
    read_sample_seed(environ_get(buf, len, "TM_SAMPLE_SEED"));
    atomic_store(&tm_rec_start_time_ns, tm_rec_now_ns());
    tm_peak_start();
    atomic_store(&early_started, 1);
    tm_rec_set_tracing(1);
}

int64_t tm_rec_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

static int parse_signal(const char *v)
{
    if (!v || !*v)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (!*end)
        return n > 0 && n < NSIG ? (int)n : 0;
    if (strncasecmp(v, "SIG", 3) == 0)
        v += 3;
    static const struct {
        const char *name;
        int no;
    } names[] = {
        { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },   { "HUP", SIGHUP }, { "PROF", SIGPROF },
        { "URG", SIGURG },   { "WINCH", SIGWINCH }, { "PWR", SIGPWR }, { "TTIN", SIGTTIN },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(v, names[i].name) == 0)
            return names[i].no;
    if (strncasecmp(v, "RTMIN+", 6) == 0)
        return SIGRTMIN + atoi(v + 6);
    return 0;
}

static void fork_prepare(void)
{
    tm_rec_guard++;
    tm_pending_fork_prepare();
    tm_stacks_lock();
    tm_live_lock_all();
}

static void fork_parent(void)
{
    tm_live_unlock_all(0);
    tm_stacks_unlock(0);
    tm_pending_fork_after(0);
    tm_rec_guard--;
}

static void fork_child(void)
{
    tm_live_unlock_all(1);
    tm_stacks_unlock(1);
    tm_pending_fork_after(1);
    if (tm_rec_cfg.follow_fork) {
        tm_sample_fork_child(); /* not the parent's sequence of samples */
        atomic_store(&traced_pid, (long)getpid());
        atomic_store(&exit_written, 0);
        tm_counters_fork_child();
        tm_dump_set_stem(getpid());
        tm_dump_after_fork_child();
        tm_triggers_after_fork_child();
    } else {
        tm_rec_set_tracing(0);
        tm_rec_cfg.exit_dump = 0;
        tm_rec_cfg.unwind_check = 0; /* the parent reports its own counts */
        tm_live_clear();
    }
    tm_rec_guard--;
}

void tm_rec_init(void)
{
    if (atomic_exchange(&inited, 1))
        return;
    tm_rec_guard++;
    tm_hooks_resolve();
    tm_rec_config *c = &tm_rec_cfg;
    const char *v;
    if ((v = getenv("TM_UNWIND")) && *v) {
        if (strcmp(v, "fp") == 0)
            c->unwinder = TM_UNWIND_FP;
        else if (strcmp(v, "libgcc") == 0)
            c->unwinder = TM_UNWIND_LIBGCC;
        else if (strcmp(v, "eh-full") == 0)
            c->incremental = 0;
        else if (strcmp(v, "eh-nocache") == 0)
            c->incremental = 1;
        else if (strcmp(v, "eh") != 0)
            fprintf(stderr,
                    "tmrecorder: TM_UNWIND=%s: expected eh, eh-nocache, eh-full, fp "
                    "or libgcc; using eh\n",
                    v);
    }
    c->unwind_check = env_flag("TM_UNWIND_CHECK");
    int autostart = env_flag("TM_START");
    if ((v = getenv("TM_NFRAME")) && *v) {
        long n = atol(v);
        if (n >= 1 && n <= (long)TM_MAX_NFRAME)
            c->nframe = (unsigned)n;
        else
            fprintf(stderr, "tmrecorder: TM_NFRAME=%s: expected 1..%u, using %u\n", v,
                    TM_MAX_NFRAME, c->nframe);
        autostart = 1;
    }
    if ((v = getenv("TM_OUTPUT")) && *v) {
        snprintf(c->output, sizeof(c->output), "%s", v);
        autostart = 1;
    }
    if ((v = getenv("TM_INTERVAL")) && *v)
        c->interval = atof(v);
    c->signo = parse_signal(getenv("TM_SIGNAL"));
    if (!c->signo && (v = getenv("TM_SIGNAL")) && *v)
        fprintf(stderr, "tmrecorder: TM_SIGNAL=%s: unknown signal, ignored\n", v);
    c->peak = env_flag("TM_PEAK");
    uint64_t rate = 0;
    if ((v = getenv("TM_SAMPLE")) && *v) {
        char msg[256];
        if (tm_sample_parse(&rate, v, msg, sizeof msg) != 0) {
            fprintf(stderr, "tmrecorder: TM_SAMPLE: %s; tracing every allocation\n", msg);
            rate = 0;
        }
    }
    if (rate != c->sample_rate && atomic_load(&early_started)) {
        /* The environment changed since the first hook read it: the traces
         * so far were taken at the other rate. */
        __atomic_store_n(&c->sample_rate, rate, __ATOMIC_RELAXED);
        tm_live_clear();
    }
    c->sample_rate = rate;
    if (atomic_load(&tm_rec_tracing))
        tm_rec_set_tracing(1);
    read_sample_seed(getenv("TM_SAMPLE_SEED"));
    c->follow_fork = env_flag("TM_FOLLOW_FORK");
    c->crash = env_flag("TM_CRASH");

    /* A process started by exec from a traced process shares its
     * environment; TM_ROOT_PID tells it apart from the root. */
    int child_pid = 0;
    if (autostart) {
        const char *root = getenv("TM_ROOT_PID");
        if (root && *root) {
            if (atol(root) != (long)getpid()) {
                if (c->follow_fork)
                    child_pid = getpid();
                else
                    autostart = 0;
            }
        } else {
            char buf[32];
            snprintf(buf, sizeof(buf), "%ld", (long)getpid());
            setenv("TM_ROOT_PID", buf, 1);
        }
    }
    tm_dump_set_stem(child_pid);
    atomic_store(&traced_pid, (long)getpid());
    real_exit = (void (*)(int))dlsym(RTLD_NEXT, "_exit");
    real_Exit = (void (*)(int))dlsym(RTLD_NEXT, "_Exit");
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    if (autostart) {
        c->exit_dump = c->output[0] != 0;
        if (!atomic_load(&early_started)) {
            atomic_store(&tm_rec_start_time_ns, tm_rec_now_ns());
            tm_peak_start();
            tm_rec_set_tracing(1);
        }
        tm_triggers_start();
    } else if (atomic_load(&early_started)) {
        /* The two readings of the environment disagree (it changed, or was
         * larger than the early read): the constructor's is the rule. */
        tm_rec_set_tracing(0);
        tm_live_clear();
    }
    tm_rec_guard--;
}

__attribute__((constructor)) static void rec_ctor(void)
{
    tm_rec_init();
}

int tm_rec_is_traced_process(void)
{
    return atomic_load(&traced_pid) == (long)getpid();
}

/* Once per process: exit runs the destructor, and a program may still
 * call _exit from a later destructor or atexit handler. */
static void exit_snapshot(void)
{
    if (!tm_rec_cfg.exit_dump || !atomic_load(&tm_rec_tracing) || atomic_exchange(&exit_written, 1))
        return;
    tm_dump_exit("exit");
}

__attribute__((destructor)) static void rec_dtor(void)
{
    tm_rec_guard++;
    exit_snapshot();
    tm_unwind_report();
    tm_rec_guard--;
}

/* _exit and _Exit skip destructors: programs use them to leave fast, and
 * forked children to leave without running the parent's handlers; they
 * still get their exit snapshot.  Not from a vfork child (another pid,
 * our memory), nor from a signal handler: _exit is async-signal-safe and
 * the snapshot is not (the handler may have interrupted malloc or dlopen
 * holding their locks); the stack tells (a sigreturn frame on it). */
static _Noreturn void exit_now(void (*fn)(int), int status, const tm_regs *r)
{
    if (!tm_rec_guard && tm_rec_cfg.exit_dump && tm_rec_is_traced_process()) {
        tm_rec_guard++;
        if (!tm_unwind_crosses_signal(r))
            exit_snapshot();
        tm_rec_guard--;
    }
    if (fn)
        fn(status);
    for (;;)
        syscall(SYS_exit_group, status);
}

__attribute__((visibility("default"))) void _exit(int status)
{
    tm_regs r;
    TM_CALLER_REGS(r);
    exit_now(real_exit, status, &r);
}

__attribute__((visibility("default"))) void _Exit(int status)
{
    tm_regs r;
    TM_CALLER_REGS(r);
    exit_now(real_Exit, status, &r);
}
