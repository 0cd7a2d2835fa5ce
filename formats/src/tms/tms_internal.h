/*
 * Private to formats/src/tms: container parsing shared by the reader,
 * tm_tms_inspect() and the writer's tests.
 */
#ifndef TM_TMS_INTERNAL_H
#define TM_TMS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tm/error.h"
#include "tms_wire.h"

/* A growing byte buffer (tm_alloc based). */
typedef struct tms_buf {
    uint8_t *data;
    size_t len, cap;
} tms_buf;

/* Makes room for `extra` more bytes; 0 or -1 (out of memory / overflow). */
int tms_buf_reserve(tms_buf *b, size_t extra);
void tms_buf_free(tms_buf *b);

/* Appends without checking capacity: reserve first. */
static inline void tms_buf_varint(tms_buf *b, uint64_t v)
{
    b->len += tms_put_varint(b->data + b->len, v);
}

typedef struct tms_section {
    uint32_t type;
    int critical;
    int codec;
    uint64_t offset; /* of the section header */
    uint64_t stored_len;
    uint64_t raw_len;
} tms_section;

typedef struct tms_container {
    unsigned major, minor;
    uint32_t nsections;
    tms_section *sections; /* tm_malloc'ed */
} tms_container;

/* "strings", "traces", ... or "unknown". */
const char *tms_section_name(uint32_t type);

/* Checks magic, versions, every header checksum, every length against the
 * file and every payload checksum; unknown critical sections and
 * duplicated known ones are errors.  Payloads are not decoded. */
int tms_container_parse(tms_container *c, const uint8_t *data, size_t len, const char *name,
                        tm_error *err);
/* The same as a reader that knows section types 1..max_known only:
 * TMS_SEC_MAX_KNOWN_1_0 is what a 1.0 reader does with a newer file. */
int tms_container_parse_known(tms_container *c, const uint8_t *data, size_t len, const char *name,
                              uint32_t max_known, tm_error *err);
void tms_container_free(tms_container *c);

/* The raw payload of a parsed section, decompressed as it is read, so that
 * a section whose first bytes prove it invalid costs those bytes, not its
 * declared raw length.  Bytes [0, avail) of base are there; the decoder asks
 * for more with tms_src_fill before it reads them.  base never moves. */
struct ZSTD_DCtx_s;
typedef struct tms_src {
    const uint8_t *base;
    size_t avail, raw_len;
    char where[256]; /* "FILE: section 'S' at byte N" */
    /* zstd only: */
    /* map_len = raw_len + 1 bytes: tm_malloc'd (and so counted) when whole,
     * else tm_vm_reserve'd and counted as written */
    uint8_t *buf;
    size_t map_len, charged;
    struct ZSTD_DCtx_s *dctx;
    const uint8_t *in;
    size_t in_len, in_pos;
    int ended; /* the frame is complete */
    int whole; /* expands little: decompressed in one go at the first fill */
} tms_src;

int tms_src_open(tms_src *src, const uint8_t *data, const tms_section *s, struct ZSTD_DCtx_s *dctx,
                 const char *name, tm_error *err);
/* Makes bytes [0, min(upto, raw_len)) available; an error when the frame
 * is corrupt, ends early, or the memory budget refuses the bytes. */
int tms_src_fill(tms_src *src, size_t upto, tm_error *err);
/* After decoding: the frame must end exactly at raw_len with no input left. */
int tms_src_finish(tms_src *src, tm_error *err);
void tms_src_close(tms_src *src);

/* XXH3-64 low 32 bits of a header whose checksum field (4 bytes at
 * `hole`) is taken as zero. */
uint32_t tms_header_checksum(const uint8_t *hdr, size_t len, size_t hole);
uint64_t tms_payload_hash(const void *data, size_t len);

#endif
