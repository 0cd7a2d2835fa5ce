/*
 * Fuzz target: the Python dump reader must reject any byte string cleanly.
 * A decoded snapshot is also re-encoded and decoded again, which must
 * succeed and give the same number of traces.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tm/pyformat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tm_snapshot *snap = NULL;
    tm_error err;
    int rc = tm_pyformat_decode(&snap, data, size, "fuzz", &err);
    if (rc != TM_OK) {
        if (rc != TM_EFORMAT && rc != TM_ELIMIT && rc != TM_ENOMEM)
            abort();
        return 0;
    }
    void *buf = NULL;
    size_t len = 0;
    if (tm_pyformat_encode(&buf, &len, snap, &err) != TM_OK)
        abort();
    tm_snapshot *back = NULL;
    if (tm_pyformat_decode(&back, buf, len, "re-encoded", &err) != TM_OK)
        abort();
    if (tm_snapshot_trace_count(back) != tm_snapshot_trace_count(snap))
        abort();
    tm_snapshot_free(back);
    free(buf);
    tm_snapshot_free(snap);
    return 0;
}
