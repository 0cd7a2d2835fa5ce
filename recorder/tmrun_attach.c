/*
 * tmrun -p PID: the attach session.  Checks what would make attaching
 * impossible and says so (exit 2), loads the recorder into the process with
 * dlopen called in one of its threads (tmrun_inject.c), starts tracing
 * there (tm_attach_start, recorder/src/attach.c), lets it run until
 * SIGINT/SIGTERM, --for SEC or its exit, then detaches (tm_attach_stop:
 * FILE written, the GOT entries back, the recorder quiet).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tmrun_attach.h"
#include "tool_cli.h"
#include "tool_elf.h"

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int signo)
{
    (void)signo;
    stop_requested = 1;
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Field 22 of /proc/PID/stat (start time) and the state; -1 when gone. */
static long long proc_start(pid_t pid, char *state)
{
    char name[64], buf[1024];
    snprintf(name, sizeof name, "/proc/%d/stat", (int)pid);
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the command may hold spaces */
    if (!p)
        return -1;
    char st = 0;
    long long v = -1;
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime stime cutime cstime priority nice threads itrealvalue starttime */
    if (sscanf(p + 1,
               " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %lld",
               &st, &v) != 2)
        return -1;
    if (state)
        *state = st;
    return v;
}

static long tracer_of(pid_t pid)
{
    char name[64], line[256];
    snprintf(name, sizeof name, "/proc/%d/status", (int)pid);
    FILE *f = fopen(name, "re");
    if (!f)
        return 0;
    long t = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "TracerPid: %ld", &t) == 1)
            break;
    fclose(f);
    return t;
}

static void comm_of(long pid, char *out, size_t cap)
{
    char name[64];
    snprintf(name, sizeof name, "/proc/%ld/comm", pid);
    out[0] = 0;
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, out, cap - 1);
    close(fd);
    out[n > 0 ? n : 0] = 0;
    out[strcspn(out, "\n")] = 0;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int is_libc(const char *path, const void *arg)
{
    (void)arg;
    const char *b = base_name(path);
    size_t n = strlen(b);
    return strcmp(b, "libc.so.6") == 0 ||
        (strncmp(b, "libc-", 5) == 0 && n > 3 && strcmp(b + n - 3, ".so") == 0);
}

static int is_musl(const char *path, const void *arg)
{
    (void)arg;
    const char *b = base_name(path);
    return strncmp(b, "ld-musl", 7) == 0 || strncmp(b, "libc.musl", 9) == 0;
}

static int is_path(const char *path, const void *arg)
{
    return strcmp(path, (const char *)arg) == 0;
}

static int refuse(pid_t pid, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "tmrun: -p %d: ", (int)pid);
    fprintf(stderr, fmt, a ? a : "", b ? b : "");
    fputc('\n', stderr);
    return TOOL_EXIT_ERROR;
}

static int refuse_ptrace(pid_t pid, int e, const char *detail)
{
    if (e == ESRCH)
        return refuse(pid, "no such process", NULL, NULL);
    if (e != EPERM) {
        fprintf(stderr, "tmrun: -p %d: cannot stop a thread of it: %s\n", (int)pid, detail);
        return TOOL_EXIT_ERROR;
    }
    char scope[16] = "";
    int fd = open("/proc/sys/kernel/yama/ptrace_scope", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, scope, sizeof scope - 1);
        close(fd);
        scope[n > 0 ? n : 0] = 0;
        scope[strcspn(scope, "\n")] = 0;
    }
    fprintf(stderr,
            "tmrun: -p %d: ptrace is not permitted (%s).\n"
            "Attaching needs ptrace: run tmrun as the process's user (root, or a user with\n"
            "CAP_SYS_PTRACE, may attach to anyone's process)%s%s%s\n",
            (int)pid, detail, scope[0] ? "; kernel.yama.ptrace_scope is " : "", scope,
            scope[0] ? (strcmp(scope, "0") == 0
                            ? ""
                            : ": 'sysctl kernel.yama.ptrace_scope=0' lets a user attach to "
                              "their own processes (3: only a reboot lifts it)")
                     : "; kernel.yama.ptrace_scope (if the Yama module is active) may forbid "
                       "it too");
    return TOOL_EXIT_ERROR;
}

typedef struct session {
    pid_t pid;
    uintptr_t start, stop, snapshot, owner;
} session;

/* One call in a thread of the process: fn(str, arg), or fn(arg) without str. */
static int call_in(pid_t pid, uintptr_t fn, uint64_t arg0, const char *str, uint64_t *ret,
                   int *ptrace_errno, char *err, size_t errcap)
{
    pid_t tid;
    int rc = tmrun_thread_seize(pid, &tid, err, errcap);
    if (rc < 0) {
        *ptrace_errno = -rc;
        return -1;
    }
    uint64_t args[6] = { str ? 0 : arg0, str ? arg0 : 0, 0, 0, 0, 0 };
    const char *strs[6] = { str, NULL, NULL, NULL, NULL, NULL };
    rc = tmrun_remote_call(tid, fn, args, strs, ret, err, errcap);
    tmrun_thread_release(tid);
    *ptrace_errno = 0;
    return rc;
}

static int load_recorder(const tmrun_attach_opts *o, session *s)
{
    pid_t pid = o->pid;
    char libc[PATH_MAX], err[512];
    uintptr_t bias;
    if (tmrun_maps_find(pid, is_libc, NULL, libc, sizeof libc, &bias) != 0) {
        if (tmrun_maps_find(pid, is_musl, NULL, libc, sizeof libc, &bias) == 0)
            return refuse(pid,
                          "its C library is musl (%s): the recorder is built for glibc and "
                          "cannot be loaded there",
                          libc, NULL);
        return refuse(pid,
                      "no C library is mapped in it (statically linked, or not a C program): "
                      "nothing to load the recorder with; run it under tmrun from the start, or "
                      "link libtmrecorder.a into it",
                      NULL, NULL);
    }
    uintptr_t dlopen_at = tmrun_elf_symbol(libc, bias, "dlopen");
    if (!dlopen_at)
        return refuse(pid,
                      "its C library %s has no dlopen (glibc 2.34 or later has it there): "
                      "attaching is not possible; run it under tmrun from the start",
                      libc, NULL);
    uint64_t handle = 0;
    int pe;
    if (call_in(pid, dlopen_at, 0x002 /* RTLD_NOW | RTLD_LOCAL */, o->lib, &handle, &pe, err,
                sizeof err) != 0)
        return pe ? refuse_ptrace(pid, pe, err)
                  : refuse(pid, "dlopen in the process: %s", err, NULL);
    if (!handle) {
        char why[1024] = "(no reason given)";
        uintptr_t dlerror_at = tmrun_elf_symbol(libc, bias, "dlerror");
        uint64_t msg = 0;
        pid_t tid;
        if (dlerror_at && tmrun_thread_seize(pid, &tid, err, sizeof err) == 0) {
            uint64_t a[6] = { 0 };
            const char *st[6] = { 0 };
            if (tmrun_remote_call(tid, dlerror_at, a, st, &msg, err, sizeof err) == 0 && msg)
                tmrun_remote_string(tid, (uintptr_t)msg, why, sizeof why);
            tmrun_thread_release(tid);
        }
        return refuse(pid, "dlopen(%s) failed in the process: %s", o->lib, why);
    }
    char lib[PATH_MAX];
    uintptr_t lbias;
    if (tmrun_maps_find(pid, is_path, o->lib, lib, sizeof lib, &lbias) != 0)
        return refuse(pid, "%s was loaded but is not in its memory map", o->lib, NULL);
    s->start = tmrun_elf_symbol(lib, lbias, "tm_attach_start");
    s->stop = tmrun_elf_symbol(lib, lbias, "tm_attach_stop");
    s->snapshot = tmrun_elf_symbol(lib, lbias, "tm_attach_snapshot");
    s->owner = tmrun_elf_symbol(lib, lbias, "tm_attach_owner");
    if (!s->start || !s->stop || !s->snapshot || !s->owner)
        return refuse(pid, "%s has no tm_attach_start/stop (an older recorder?)", o->lib, NULL);
    return TOOL_EXIT_OK;
}

static int detach(const tmrun_attach_opts *o, const session *s, double t0_wall)
{
    char err[512];
    uint64_t ret = 0;
    int pe;
    if (call_in(o->pid, s->stop, 0, NULL, &ret, &pe, err, sizeof err) != 0) {
        struct stat st;
        char state = 0;
        if (proc_start(o->pid, &state) < 0 || state == 'Z') {
            int have = stat(o->output, &st) == 0 && (double)st.st_mtime >= t0_wall - 1;
            fprintf(stderr, "tmrun: process %d ended%s%s\n", (int)o->pid,
                    have ? "; its exit wrote " : "; no snapshot was written to ", o->output);
            return have ? TOOL_EXIT_OK : TOOL_EXIT_ERROR;
        }
        fprintf(stderr, "tmrun: -p %d: cannot detach: %s\n", (int)o->pid, err);
        return TOOL_EXIT_ERROR;
    }
    if ((int)ret != 0) {
        fprintf(stderr,
                "tmrun: detached from %d, but %s could not be written (the process's stderr "
                "says why)\n",
                (int)o->pid, o->output);
        return TOOL_EXIT_ERROR;
    }
    fprintf(stderr, "tmrun: wrote %s; detached from %d, which runs on\n", o->output, (int)o->pid);
    return TOOL_EXIT_OK;
}

static uint64_t last_start_ret;

/* Attached already, by a tmrun that is gone (killed before it could
 * detach): detach in its place (its FILE is written), then start again. */
static int take_over(const session *s, const char *cfg)
{
    char err[512];
    uint64_t owner = 0, ret = 0;
    int pe;
    if (call_in(s->pid, s->owner, 0, NULL, &owner, &pe, err, sizeof err) != 0 || (long)owner <= 0 ||
        kill((pid_t)owner, 0) == 0 || errno != ESRCH)
        return -1;
    fprintf(stderr,
            "tmrun: -p %d: the tmrun attached to it (pid %ld) is gone: detaching it first\n",
            (int)s->pid, (long)owner);
    if (call_in(s->pid, s->stop, 0, NULL, &ret, &pe, err, sizeof err) != 0 ||
        call_in(s->pid, s->start, 0, cfg, &last_start_ret, &pe, err, sizeof err) != 0)
        return -1;
    return 0;
}

int tmrun_attach(const tmrun_attach_opts *o)
{
    pid_t pid = o->pid;
    char state = 0;
    long long started = proc_start(pid, &state);
    if (started < 0 || state == 'Z')
        return refuse(pid, "no such process", NULL, NULL);
    if (pid == getpid())
        return refuse(pid, "that is tmrun itself", NULL, NULL);
    long tracer = tracer_of(pid);
    if (tracer) {
        char comm[64];
        comm_of(tracer, comm, sizeof comm);
        char who[96];
        snprintf(who, sizeof who, "%ld (%s)", tracer, comm[0] ? comm : "?");
        return refuse(pid,
                      "already traced by process %s: a process has one tracer at a time; "
                      "detach the debugger or tracer first%s",
                      who, "");
    }
    /* May we?  Asked first: another user's maps cannot even be read. */
    pid_t tid;
    char perr[512];
    int prc = tmrun_thread_seize_any(pid, &tid, perr, sizeof perr);
    if (prc < 0)
        return refuse_ptrace(pid, -prc, perr);
    tmrun_thread_release(tid);
    char exe[64];
    snprintf(exe, sizeof exe, "/proc/%d/exe", (int)pid);
    if (tool_elf_is_static(exe))
        return refuse(pid,
                      "it is statically linked (no dynamic loader, no C library to load the "
                      "recorder with): link it dynamically and run it under tmrun, or link "
                      "libtmrecorder.a into it and use the runtime API",
                      NULL, NULL);
    session s = { pid, 0, 0, 0 };
    int rc = load_recorder(o, &s);
    if (rc != TOOL_EXIT_OK)
        return rc;

    char cfg[PATH_MAX + 96];
    snprintf(cfg, sizeof cfg, "nframe=%ld\npeak=%d\nsample=%llu\nowner=%ld\noutput=%s\n", o->nframe,
             o->peak, o->sample, (long)getpid(), o->output);
    char err[512];
    uint64_t ret = 0;
    int pe;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    double t0_wall = (double)time(NULL);
    if (call_in(pid, s.start, 0, cfg, &ret, &pe, err, sizeof err) != 0)
        return pe ? refuse_ptrace(pid, pe, err)
                  : refuse(pid, "starting the recorder: %s", err, NULL);
    int started_rc = (int)(uint32_t)ret;
    if (started_rc == -EBUSY && take_over(&s, cfg) == 0)
        started_rc = (int)(uint32_t)(ret = last_start_ret);
    if (started_rc < 0) {
        const char *why = started_rc == -EBUSY ? "another tmrun is attached to it already"
            : started_rc == -EEXIST ? "it is traced by LD_PRELOAD already (started under tmrun)"
                                    : strerror(-started_rc);
        return refuse(pid, "the recorder did not start: %s", why, NULL);
    }
    fprintf(stderr, "tmrun: attached to %d (%d GOT entries routed); tracing until %s\n", (int)pid,
            started_rc,
            o->for_sec > 0 ? "--for ends, SIGINT/SIGTERM or its exit"
                           : "SIGINT/SIGTERM or its exit");

    double t0 = now_sec(), next_iv = o->interval > 0 ? t0 + o->interval : 0;
    for (;;) {
        if (stop_requested)
            break;
        double t = now_sec();
        if (o->for_sec > 0 && t - t0 >= o->for_sec)
            break;
        long long st = proc_start(pid, &state);
        if (st != started || state == 'Z') {
            struct stat sb;
            int have = stat(o->output, &sb) == 0 && (double)sb.st_mtime >= t0_wall - 1;
            fprintf(stderr, "tmrun: process %d ended%s%s\n", (int)pid,
                    have ? "; its exit wrote " : "; no snapshot was written to ", o->output);
            return have ? TOOL_EXIT_OK : TOOL_EXIT_ERROR;
        }
        if (next_iv && t >= next_iv) {
            if (call_in(pid, s.snapshot, 1, NULL, &ret, &pe, err, sizeof err) != 0)
                fprintf(stderr, "tmrun: -p %d: interval snapshot: %s\n", (int)pid, err);
            next_iv += o->interval;
            if (next_iv <= t)
                next_iv = t + o->interval;
        }
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return detach(o, &s, t0_wall);
}
