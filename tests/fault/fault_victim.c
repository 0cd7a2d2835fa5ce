/*
 * Programs that misbehave under the recorder (tests/cli/fault_recorder.sh).
 * Each mode allocates first (so a snapshot has something in it), then:
 *   exit      returns 3 from main
 *   segv      dies of SIGSEGV            abort   dies of SIGABRT (abort())
 *   _exit     _exit(4): no atexit, no destructors
 *   exec      execs itself in mode "exit" (the recorder must follow the image)
 *   fork      forks without exec; the child allocates and exits 5, the
 *             parent waits and exits 6
 *   closefds  closes every descriptor (0..1023), allocates, exits 7
 *   oom       RLIMIT_AS = 256 MiB, allocates until malloc fails, frees,
 *             exits 8
 *   threads   four threads allocating while main calls exit(9)
 *   doublefree  frees a block twice: glibc aborts (SIGABRT), under tmrun
 *             from inside the free a hook deferred
 *   overflow  unbounded recursion: SIGSEGV on the stack guard page
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void *keep[64];

static void allocate_some(void)
{
    for (int i = 0; i < 64; i++) {
        keep[i] = malloc(100 + (size_t)i * 16);
        if (keep[i])
            memset(keep[i], i, 100);
    }
}

/* Unbounded for the program's lifetime (depth_limit is never reached);
 * the compiler cannot prove it, so it keeps every frame. */
static volatile long depth_limit = -1;

static int recurse(volatile char *prev, long depth)
{
    volatile char frame[256];
    frame[0] = prev ? prev[0] : 1;
    if (depth == depth_limit)
        return frame[0];
    return recurse(frame, depth + 1) + frame[1]; /* not a tail call */
}

static void *spin(void *arg)
{
    (void)arg;
    for (;;) {
        void *p = malloc(64);
        free(p);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "exit";
    allocate_some();
    if (strcmp(mode, "exit") == 0)
        return 3;
    if (strcmp(mode, "segv") == 0) {
        volatile uintptr_t addr = 16; /* a real fault, not raise() */
        *(volatile int *)addr = 1;
        return 0;
    }
    if (strcmp(mode, "abort") == 0)
        abort();
    if (strcmp(mode, "_exit") == 0)
        _exit(4);
    if (strcmp(mode, "exec") == 0) {
        execl("/proc/self/exe", argv[0], "exit", (char *)NULL);
        perror("exec");
        return 99;
    }
    if (strcmp(mode, "fork") == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            allocate_some();
            exit(5);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        return WIFEXITED(st) && WEXITSTATUS(st) == 5 ? 6 : 98;
    }
    if (strcmp(mode, "closefds") == 0) {
        for (int fd = 0; fd < 1024; fd++)
            close(fd);
        allocate_some();
        return 7;
    }
    if (strcmp(mode, "oom") == 0) {
        struct rlimit rl = { 256u << 20, 256u << 20 };
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            return 97;
        void **blocks = calloc(4096, sizeof *blocks);
        size_t n = 0;
        while (blocks && n < 4096 && (blocks[n] = malloc(1 << 20)) != NULL)
            memset(blocks[n++], 1, 4096);
        while (n > 0)
            free(blocks[--n]);
        free(blocks);
        return 8;
    }
    if (strcmp(mode, "threads") == 0) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, spin, NULL);
        usleep(20000);
        exit(9);
    }
    if (strcmp(mode, "overflow") == 0)
        return recurse(NULL, 0);
    if (strcmp(mode, "doublefree") == 0) {
        void *(*volatile m)(size_t) = malloc;
        void (*volatile f)(void *) = free;
        void *p = m(48);
        f(p);
        f(p);
        for (int i = 0; i < 64; i++) /* under tmrun the second free is deferred */
            f(m(48));
        return 0;
    }
    fprintf(stderr, "fault_victim: unknown mode %s\n", mode);
    return 2;
}
