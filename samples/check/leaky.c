/* A program for tmkit_add_memory_test: it holds N KiB at exit (argv[1],
 * default 4) and frees everything else. */
#include <stdlib.h>
#include <string.h>

static void *held[1024];

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    if (n < 0 || n > 1024)
        return 2;
    void *scratch = malloc(1 << 20); /* freed: never counted */
    memset(scratch, 1, 1 << 20);
    for (int i = 0; i < n; i++)
        held[i] = malloc(1024); /* held at exit */
    free(scratch);
    return held[0] == scratch;
}
