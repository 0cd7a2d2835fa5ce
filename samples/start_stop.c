/* start() / stop() with cleanup: stop() forgets every trace (memory
 * allocated while tracing is no longer counted), and is_tracing() says which
 * state we are in. */
#include <stdio.h>
#include <stdlib.h>

#include "tm/recorder.h"

int main(void)
{
    printf("tracing at start: %d\n", tm_is_tracing());
    tm_start(25);
    printf("tracing after start(25): %d, traceback limit %u\n", tm_is_tracing(),
           tm_get_traceback_limit());
    void *kept = malloc(7777);
    size_t cur, peak;
    tm_get_traced_memory(&cur, &peak);
    printf("traced: current=%zu peak=%zu, recorder overhead %zu B\n", cur, peak,
           tm_get_tracemalloc_memory());
    uintptr_t pcs[25];
    size_t n = 0;
    if (tm_get_object_traceback(pcs, 25, &n, NULL, kept) == TM_OK)
        printf("the 7777 B block has a %zu-frame traceback\n", n);
    tm_stop();
    tm_get_traced_memory(&cur, &peak);
    printf("after stop: tracing %d, current=%zu, traceback of the block: %s\n", tm_is_tracing(),
           cur, tm_get_object_traceback(pcs, 25, &n, NULL, kept) == TM_OK ? "found" : "none");
    free(kept);
    tm_start(1);
    tm_clear_traces();
    tm_stop();
    return 0;
}
