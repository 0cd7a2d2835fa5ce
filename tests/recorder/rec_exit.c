/*
 * rec_exit [_exit|_Exit|handler]: leaves through _exit or _Exit, which skip
 * the destructors that write the exit snapshot; the recorder must write it
 * anyway (rec_preload.sh checks the file).  A vfork child calls _exit first:
 * it shares the parent's memory and must write nothing, so the block the
 * parent allocates after the child is gone must be in the snapshot.
 * "handler" calls _exit(6) from a signal handler: no snapshot there (it is
 * not async-signal-safe), status 6.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile keep[2];

static void on_usr1(int sig)
{
    (void)sig;
    _exit(6);
}

int main(int argc, char **argv)
{
    keep[0] = malloc(12345);
    pid_t pid = vfork();
    if (pid == 0)
        _exit(0);
    if (pid < 0)
        return 1;
    int st = 0;
    waitpid(pid, &st, 0);
    keep[1] = malloc(34567);
    if (argc > 1 && strcmp(argv[1], "_Exit") == 0)
        _Exit(5);
    if (argc > 1 && strcmp(argv[1], "handler") == 0) {
        signal(SIGUSR1, on_usr1);
        raise(SIGUSR1);
    }
    _exit(3);
}
