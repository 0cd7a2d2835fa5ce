/* rec_attach_tracer PID: holds PID with PTRACE_SEIZE (as a debugger would)
 * until killed, so that tmrun -p PID finds it already traced
 * (tests/recorder/rec_attach.sh).  Prints "seized" once it holds it. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    pid_t pid = (pid_t)atol(argv[1]);
    if (ptrace(PTRACE_SEIZE, pid, 0, 0) != 0) {
        perror("rec_attach_tracer: PTRACE_SEIZE");
        return 1;
    }
    printf("seized\n");
    fflush(stdout);
    for (;;)
        pause();
}
