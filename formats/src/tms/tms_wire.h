/*
 * Private: the one definition of the .tms wire format (formats/TMS-FORMAT.md)
 * shared by the library's reader/writer and the recorder.  Header-only and
 * allocation-free so that the recorder may use it inside its hooks.
 */
#ifndef TM_TMS_WIRE_H
#define TM_TMS_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* 0x89 catches 7-bit transports, CR LF catches line-ending conversion,
 * 0x1A stops `type` on DOS, the final LF catches LF -> CR LF. */
#define TMS_MAGIC "\x89TMS\r\n\x1a\n"
#define TMS_MAGIC_LEN 8u

#define TMS_FILE_HEADER_LEN 24u
#define TMS_SECTION_HEADER_LEN 32u

/* File header field offsets. */
#define TMS_FH_MAJOR 8u
#define TMS_FH_MINOR 10u
#define TMS_FH_NSECTIONS 12u
#define TMS_FH_RESERVED 16u
#define TMS_FH_CHECKSUM 20u

/* Section header field offsets. */
#define TMS_SH_TYPE 0u
#define TMS_SH_FLAGS 2u
#define TMS_SH_CODEC 3u
#define TMS_SH_CHECKSUM 4u
#define TMS_SH_STORED_LEN 8u
#define TMS_SH_RAW_LEN 16u
#define TMS_SH_PAYLOAD_HASH 24u

#define TMS_FLAG_CRITICAL 0x01u

enum tms_codec { TMS_CODEC_RAW = 0, TMS_CODEC_ZSTD = 1 };

enum tms_section_type {
    TMS_SEC_METADATA = 1,
    TMS_SEC_STRINGS = 2,
    TMS_SEC_MODULES = 3,
    TMS_SEC_FRAMES = 4,
    TMS_SEC_STACKS = 5,
    TMS_SEC_TRACES = 6,
    TMS_SEC_SAMPLING = 7 /* 1.1: the traces are a sample; always critical */
};
#define TMS_SEC_MAX_KNOWN 7u
/* The last section type a 1.0 reader knows: what tests simulate it with. */
#define TMS_SEC_MAX_KNOWN_1_0 6u

/* Estimator ids of the sampling section: how a trace's weight follows
 * from its size (TMS-FORMAT.md, type 7). */
enum tms_estimator { TMS_ESTIMATOR_POISSON_BYTES = 1 };
/* The largest sampling rate (mean interval in bytes) a file may carry:
 * beyond 1 TiB one kept block stands for so many bytes that estimates
 * leave the range of the 64-bit sums the tools print. */
#define TMS_MAX_SAMPLE_RATE (UINT64_C(1) << 40)

/* Metadata tags (varint tag, varint length, value bytes). */
enum tms_meta_tag {
    TMS_META_PROGRAM = 1,
    TMS_META_HOST = 2,
    TMS_META_TRIGGER = 3,
    TMS_META_TOOL_VERSION = 4,
    TMS_META_PID = 5,              /* zigzag */
    TMS_META_START_TIME_NS = 6,    /* zigzag */
    TMS_META_SNAPSHOT_TIME_NS = 7, /* zigzag */
    TMS_META_NFRAME_LIMIT = 8,
    TMS_META_SEQUENCE = 9,
    TMS_META_TRACED_CURRENT = 10,
    TMS_META_TRACED_PEAK = 11,
    TMS_META_ARGV = 12 /* count, then count string ids */
};

/* Format-level limits (formats/TMS-FORMAT.md, "Limits").  Past them a
 * reader fails with TM_ELIMIT and a writer refuses to produce the file.
 * Per-table limits (strings, frames, stacks, traces, depth) are the
 * model's, in model/snapshot_internal.h, and are repeated in the spec. */
#define TMS_MAX_SECTIONS 1024u
#define TMS_MAX_FILE_SIZE (UINT64_C(1) << 36) /* 64 GiB */
#define TMS_MAX_RAW_LEN (UINT64_C(1) << 34)   /* 16 GiB per section */
/* Metadata is a dozen small fields and argv (at most 2^20 ids of at most 4
 * bytes: under 5 MiB); unknown fields are skipped one by one, so without
 * its own bound a section of empty fields would cost time per byte. */
#define TMS_MAX_METADATA_LEN (UINT64_C(1) << 24) /* 16 MiB */
#define TMS_MAX_INLINE_DEPTH 256u                /* frames in one inlined_by chain */
#define TMS_VARINT_MAX_LEN 10u
#define TMS_ZSTD_WINDOW_LOG_MAX 27u /* 128 MiB of zstd window when decoding */

/* --- little-endian fixed-width ---------------------------------------- */

static inline void tms_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void tms_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void tms_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t tms_get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t tms_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t tms_get_le64(const uint8_t *p)
{
    return (uint64_t)tms_get_le32(p) | (uint64_t)tms_get_le32(p + 4) << 32;
}

/* --- varints: unsigned LEB128, at most 10 bytes ------------------------ */

static inline uint64_t tms_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t tms_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Writes v at p (room for TMS_VARINT_MAX_LEN bytes); returns bytes written. */
static inline size_t tms_put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static inline size_t tms_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* The multi-byte case of tms_get_varint, kept out of line so that the
 * one-byte case (most values in a delta column) inlines into decode loops. */
__attribute__((noinline, unused)) static int tms_get_varint_slow(const uint8_t **p,
                                                                 const uint8_t *end, uint64_t *out)
{
    const uint8_t *q = *p;
    uint64_t v = 0;
    for (unsigned shift = 0; q < end; shift += 7) {
        uint8_t b = *q++;
        if (shift == 63 && b > 1)
            return -1;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (b == 0 && shift > 0)
                return -1;
            *out = v;
            *p = q;
            return 0;
        }
        if (shift == 63)
            return -1;
    }
    return -1;
}

/* Reads a varint from [*p, end).  Returns 0 and advances *p, or -1 if the
 * input ends inside the varint, it is longer than 10 bytes, it does not fit
 * in 64 bits, or it is not minimal (a trailing 0x00 continuation byte), so
 * that every value has exactly one encoding. */
__attribute__((always_inline, unused)) static inline int tms_get_varint(const uint8_t **p,
                                                                        const uint8_t *end,
                                                                        uint64_t *out)
{
    const uint8_t *q = *p;
    if (q < end && *q < 0x80) {
        *out = *q;
        *p = q + 1;
        return 0;
    }
    return tms_get_varint_slow(p, end, out);
}

#endif
