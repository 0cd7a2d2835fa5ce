/*
 * rec_exit [_exit|_Exit]: leaves through _exit or _Exit, which skip the
 * destructors that write the exit snapshot; the recorder must write it
 * anyway (rec_preload.sh checks the file).  A vfork child calls _exit first:
 * it shares the parent's memory and must write nothing, so the block the
 * parent allocates after the child is gone must be in the snapshot.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile keep[2];

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
    _exit(3);
}
