/* tracemalloc.get_traced_memory(): current and peak size of traced blocks,
 * and reset_peak() to measure the peak of one phase. */
#include <stdio.h>
#include <stdlib.h>

#include "tm/recorder.h"

int main(void)
{
    tm_start(1);
    size_t cur, peak;
    void *blocks[100];
    for (int i = 0; i < 100; i++)
        blocks[i] = malloc(10000);
    tm_get_traced_memory(&cur, &peak);
    printf("after 100 x 10000 B: current=%zu, peak=%zu\n", cur, peak);
    for (int i = 0; i < 100; i++)
        free(blocks[i]);
    tm_get_traced_memory(&cur, &peak);
    printf("after freeing them:  current=%zu, peak=%zu\n", cur, peak);
    tm_reset_peak();
    void *small = malloc(500);
    tm_get_traced_memory(&cur, &peak);
    printf("after reset_peak and one 500 B block: current=%zu, peak=%zu\n", cur, peak);
    free(small);
    tm_stop();
    return 0;
}
