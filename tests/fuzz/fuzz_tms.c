/*
 * Fuzz target for the .tms reader: tm_tms_decode and tm_tms_inspect.
 * Checksums would stop a fuzzer at the first byte it changes, so each input
 * is also decoded after its header checksums and payload hashes have been
 * recomputed: that lets mutations reach the section decoders.  Anything
 * that decodes must re-encode and decode again to the same counts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tms_internal.h"
#include "tm/memory.h"
#include "tm/tms.h"

/* zstd RLE blocks turn a few mutated bytes into gigabytes of valid
 * traces: under a budget, as in the tools, such an input is refused instead
 * of running into libFuzzer's RSS limit, and small enough a one that the
 * fuzzer keeps its pace (inputs are at most a few KiB). */
#define FUZZ_BUDGET (UINT64_C(64) << 20)

static void check_one(const uint8_t *data, size_t size)
{
    tm_snapshot *s = NULL;
    tm_error err;
    err.message[0] = '\0';
    int rc = tm_tms_decode(&s, data, size, "fuzz.tms", &err);
    if (rc != TM_OK) {
        if (s != NULL || err.message[0] == '\0')
            abort(); /* failures must leave no snapshot and explain themselves */
    } else {
        void *buf;
        size_t len;
        /* Whatever the reader accepts, the writer can write, and back, unless
         * the copies do not fit the budget together. */
        if (tm_tms_encode(&buf, &len, s, NULL, &err) != TM_OK) {
            if (!tm_memory_budget_exceeded())
                abort();
            tm_snapshot_free(s);
            goto inspect;
        }
        tm_snapshot *b;
        if (tm_tms_decode(&b, buf, len, "re-encoded", &err) != TM_OK) {
            if (!tm_memory_budget_exceeded())
                abort();
            free(buf);
            tm_snapshot_free(s);
            goto inspect;
        }
        if (tm_snapshot_trace_count(b) != tm_snapshot_trace_count(s) ||
            tm_snapshot_total_size(b) != tm_snapshot_total_size(s) ||
            tm_snapshot_string_count(b) != tm_snapshot_string_count(s))
            abort();
        tm_snapshot_free(b);
        free(buf);
        tm_snapshot_free(s);
    }
inspect:;
    tm_tms_file_info *info = NULL;
    if (tm_tms_inspect(&info, data, size, "fuzz.tms", &err) == TM_OK)
        tm_tms_file_info_free(info);
    else if (info != NULL)
        abort();
}

/* Recomputes every checksum the structure lets us find. */
static void fix_checksums(uint8_t *p, size_t size)
{
    if (size < TMS_FILE_HEADER_LEN)
        return;
    tms_put_le32(p + TMS_FH_CHECKSUM, tms_header_checksum(p, TMS_FILE_HEADER_LEN, TMS_FH_CHECKSUM));
    uint32_t n = tms_get_le32(p + TMS_FH_NSECTIONS);
    size_t pos = TMS_FILE_HEADER_LEN;
    for (uint32_t i = 0; i < n && size - pos >= TMS_SECTION_HEADER_LEN; i++) {
        uint8_t *h = p + pos;
        pos += TMS_SECTION_HEADER_LEN;
        uint64_t stored = tms_get_le64(h + TMS_SH_STORED_LEN);
        if (stored > size - pos)
            stored = size - pos;
        tms_put_le64(h + TMS_SH_PAYLOAD_HASH, tms_payload_hash(p + pos, (size_t)stored));
        tms_put_le32(h + TMS_SH_CHECKSUM,
                     tms_header_checksum(h, TMS_SECTION_HEADER_LEN, TMS_SH_CHECKSUM));
        pos += (size_t)stored;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tm_memory_budget_set(FUZZ_BUDGET); /* also forgets the last input's refusal */
    check_one(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    fix_checksums(copy, size);
    check_one(copy, size);
    free(copy);
    return 0;
}
