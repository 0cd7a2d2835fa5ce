/*
 * The .tms container: file header, section headers, checksums and codecs.
 * Everything here runs before a single payload byte is interpreted.
 */
#include "tms_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>
#include <zstd_errors.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "tm/tms.h"
#include "tm_alloc.h"

int tm_tms_inspect(tm_tms_file_info **out, const void *data, size_t len, const char *name,
                   tm_error *err)
{
    *out = NULL;
    tms_container c;
    int rc = tms_container_parse(&c, data, len, name, err);
    if (rc)
        return rc;
    tm_tms_file_info *info = tm_calloc(1, sizeof *info);
    tm_tms_section_info *secs = tm_calloc(c.nsections ? c.nsections : 1, sizeof *secs);
    if (!info || !secs) {
        tm_free(info);
        tm_free(secs);
        tms_container_free(&c);
        return tm_error_set(err, TM_ENOMEM, "%s: out of memory", name);
    }
    for (uint32_t i = 0; i < c.nsections; i++) {
        const tms_section *s = &c.sections[i];
        secs[i] = (tm_tms_section_info){ .type = s->type,
                                         .name = tms_section_name(s->type),
                                         .critical = s->critical,
                                         .codec = s->codec,
                                         .offset = s->offset,
                                         .stored_len = s->stored_len,
                                         .raw_len = s->raw_len };
    }
    info->major = c.major;
    info->minor = c.minor;
    info->file_size = len;
    info->nsections = c.nsections;
    info->sections = secs;
    tms_container_free(&c);
    *out = info;
    return TM_OK;
}

void tm_tms_file_info_free(tm_tms_file_info *info)
{
    if (!info)
        return;
    tm_free(info->sections);
    tm_free(info);
}

int tm_tms_detect(const void *data, size_t len)
{
    return len >= TMS_MAGIC_LEN && memcmp(data, TMS_MAGIC, TMS_MAGIC_LEN) == 0;
}

const char *tms_section_name(uint32_t type)
{
    switch (type) {
    case TMS_SEC_METADATA: return "metadata";
    case TMS_SEC_STRINGS: return "strings";
    case TMS_SEC_MODULES: return "modules";
    case TMS_SEC_FRAMES: return "frames";
    case TMS_SEC_STACKS: return "stacks";
    case TMS_SEC_TRACES: return "traces";
    case TMS_SEC_SAMPLING: return "sampling";
    default: return "unknown";
    }
}

uint32_t tms_header_checksum(const uint8_t *hdr, size_t len, size_t hole)
{
    uint8_t tmp[TMS_SECTION_HEADER_LEN];
    /* Headers are at most 32 bytes; saying so also keeps gcc's -Warray-bounds
     * out of XXH3's paths for longer inputs, which it inlines here. */
    if (len > sizeof tmp)
        len = sizeof tmp;
    memcpy(tmp, hdr, len);
    memset(tmp + hole, 0, 4);
    return (uint32_t)XXH3_64bits(tmp, len);
}

uint64_t tms_payload_hash(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

int tms_buf_reserve(tms_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return -1;
    return tm_grow((void **)&b->data, &b->cap, b->len + extra, 1);
}

void tms_buf_free(tms_buf *b)
{
    tm_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void tms_container_free(tms_container *c)
{
    tm_free(c->sections);
    c->sections = NULL;
}

static int parse_file_header(tms_container *c, const uint8_t *p, size_t len, const char *name,
                             tm_error *err)
{
    if (len < TMS_MAGIC_LEN || memcmp(p, TMS_MAGIC, TMS_MAGIC_LEN) != 0) {
        /* Tell mangled-in-transit apart from "not a .tms file at all". */
        if (len >= 4 && memcmp(p + 1, "TMS", 3) == 0)
            return tm_error_set(err, TM_EFORMAT,
                                "%s: byte 0: bad .tms magic (file mangled by a "
                                "text-mode transfer or line-ending conversion?)",
                                name);
        return tm_error_set(err, TM_EFORMAT, "%s: byte 0: not a .tms file (bad magic)", name);
    }
    if (len < TMS_FILE_HEADER_LEN)
        return tm_error_set(err, TM_EFORMAT,
                            "%s: byte %zu: truncated file header (%zu of %u bytes)", name, len, len,
                            TMS_FILE_HEADER_LEN);
    uint32_t want = tms_get_le32(p + TMS_FH_CHECKSUM);
    uint32_t got = tms_header_checksum(p, TMS_FILE_HEADER_LEN, TMS_FH_CHECKSUM);
    if (want != got)
        return tm_error_set(err, TM_EFORMAT,
                            "%s: byte 0: file header checksum mismatch "
                            "(stored %08x, computed %08x)",
                            name, want, got);
    c->major = tms_get_le16(p + TMS_FH_MAJOR);
    c->minor = tms_get_le16(p + TMS_FH_MINOR);
    c->nsections = tms_get_le32(p + TMS_FH_NSECTIONS);
    if (c->major != TM_TMS_MAJOR)
        return tm_error_set(err, TM_EVERSION,
                            "%s: file format version %u.%u is not supported by "
                            "this reader (version %u.%u)%s",
                            name, c->major, c->minor, TM_TMS_MAJOR, TM_TMS_MINOR,
                            c->major > TM_TMS_MAJOR ? ": upgrade tmkit" : "");
    if (tms_get_le32(p + TMS_FH_RESERVED) != 0)
        return tm_error_set(err, TM_EFORMAT, "%s: byte %u: reserved header field is not zero", name,
                            TMS_FH_RESERVED);
    if (c->nsections > TMS_MAX_SECTIONS)
        return tm_error_set(err, TM_ELIMIT, "%s: byte %u: %u sections exceed the limit of %u", name,
                            TMS_FH_NSECTIONS, c->nsections, TMS_MAX_SECTIONS);
    if ((uint64_t)len > TMS_MAX_FILE_SIZE)
        return tm_error_set(err, TM_ELIMIT,
                            "%s: file size %zu exceeds the limit "
                            "of %llu bytes",
                            name, len, (unsigned long long)TMS_MAX_FILE_SIZE);
    return TM_OK;
}

int tms_container_parse(tms_container *c, const uint8_t *data, size_t len, const char *name,
                        tm_error *err)
{
    return tms_container_parse_known(c, data, len, name, TMS_SEC_MAX_KNOWN, err);
}

int tms_container_parse_known(tms_container *c, const uint8_t *data, size_t len, const char *name,
                              uint32_t max_known, tm_error *err)
{
    memset(c, 0, sizeof *c);
    int rc = parse_file_header(c, data, len, name, err);
    if (rc)
        return rc;
    /* Each section needs a 32-byte header, so the count is bounded by the
     * file size before anything is allocated. */
    if ((uint64_t)c->nsections * TMS_SECTION_HEADER_LEN > len - TMS_FILE_HEADER_LEN)
        return tm_error_set(err, TM_EFORMAT,
                            "%s: byte %u: %u sections cannot fit in a %zu-byte file "
                            "(truncated?)",
                            name, TMS_FH_NSECTIONS, c->nsections, len);
    c->sections = tm_calloc(c->nsections ? c->nsections : 1, sizeof *c->sections);
    if (!c->sections)
        return tm_error_set(err, TM_ENOMEM, "%s: out of memory", name);

    uint32_t seen = 0; /* bit per known type */
    size_t pos = TMS_FILE_HEADER_LEN;
    for (uint32_t i = 0; i < c->nsections; i++) {
        tms_section *s = &c->sections[i];
        if (len - pos < TMS_SECTION_HEADER_LEN) {
            rc = tm_error_set(err, TM_EFORMAT,
                              "%s: byte %zu: file ends inside the header of section "
                              "%u of %u (truncated)",
                              name, pos, i + 1, c->nsections);
            goto fail;
        }
        const uint8_t *h = data + pos;
        uint32_t want = tms_get_le32(h + TMS_SH_CHECKSUM);
        uint32_t got = tms_header_checksum(h, TMS_SECTION_HEADER_LEN, TMS_SH_CHECKSUM);
        if (want != got) {
            rc = tm_error_set(err, TM_EFORMAT,
                              "%s: section %u at byte %zu: header checksum mismatch "
                              "(stored %08x, computed %08x)",
                              name, i + 1, pos, want, got);
            goto fail;
        }
        s->type = tms_get_le16(h + TMS_SH_TYPE);
        s->critical = (h[TMS_SH_FLAGS] & TMS_FLAG_CRITICAL) != 0;
        s->codec = h[TMS_SH_CODEC];
        s->offset = pos;
        s->stored_len = tms_get_le64(h + TMS_SH_STORED_LEN);
        s->raw_len = tms_get_le64(h + TMS_SH_RAW_LEN);
        const char *sname = tms_section_name(s->type);
        pos += TMS_SECTION_HEADER_LEN;
        if (s->stored_len > len - pos) {
            rc = tm_error_set(err, TM_EFORMAT,
                              "%s: section '%s' at byte %llu: payload of %llu bytes "
                              "runs past the end of the file (%zu bytes; truncated?)",
                              name, sname, (unsigned long long)s->offset,
                              (unsigned long long)s->stored_len, len);
            goto fail;
        }
        uint64_t hwant = tms_get_le64(h + TMS_SH_PAYLOAD_HASH);
        uint64_t hgot = tms_payload_hash(data + pos, (size_t)s->stored_len);
        if (hwant != hgot) {
            rc = tm_error_set(err, TM_EFORMAT,
                              "%s: section '%s' at byte %llu: payload checksum mismatch "
                              "(stored %016llx, computed %016llx)",
                              name, sname, (unsigned long long)s->offset, (unsigned long long)hwant,
                              (unsigned long long)hgot);
            goto fail;
        }
        pos += (size_t)s->stored_len;
        int known = s->type >= 1 && s->type <= max_known;
        if (!known && s->critical) {
            rc = tm_error_set(err, TM_EVERSION,
                              "%s: section at byte %llu: unknown critical section type "
                              "%u; the file (format version %u.%u) needs a newer reader "
                              "than this one (version %u.%u)",
                              name, (unsigned long long)s->offset, s->type, c->major, c->minor,
                              TM_TMS_MAJOR, max_known >= TMS_SEC_SAMPLING ? TM_TMS_MINOR : 0);
            goto fail;
        }
        if (!known)
            continue;
        if (seen & (1u << s->type)) {
            rc = tm_error_set(err, TM_EFORMAT, "%s: section '%s' at byte %llu: duplicate section",
                              name, sname, (unsigned long long)s->offset);
            goto fail;
        }
        seen |= 1u << s->type;
        if (s->codec != TMS_CODEC_RAW && s->codec != TMS_CODEC_ZSTD) {
            rc = tm_error_set(err, TM_EVERSION,
                              "%s: section '%s' at byte %llu: unknown codec %d; the "
                              "file (format version %u.%u) needs a newer reader than "
                              "this one (version %u.%u)",
                              name, sname, (unsigned long long)s->offset, s->codec, c->major,
                              c->minor, TM_TMS_MAJOR, TM_TMS_MINOR);
            goto fail;
        }
        if (s->codec == TMS_CODEC_RAW && s->raw_len != s->stored_len) {
            rc = tm_error_set(err, TM_EFORMAT,
                              "%s: section '%s' at byte %llu: raw section with stored "
                              "length %llu but raw length %llu",
                              name, sname, (unsigned long long)s->offset,
                              (unsigned long long)s->stored_len, (unsigned long long)s->raw_len);
            goto fail;
        }
        if (s->type == TMS_SEC_METADATA && s->raw_len > TMS_MAX_METADATA_LEN) {
            rc = tm_error_set(err, TM_ELIMIT,
                              "%s: section '%s' at byte %llu: raw length %llu exceeds "
                              "the limit of %llu bytes for metadata",
                              name, sname, (unsigned long long)s->offset,
                              (unsigned long long)s->raw_len,
                              (unsigned long long)TMS_MAX_METADATA_LEN);
            goto fail;
        }
        if (s->raw_len > TMS_MAX_RAW_LEN) {
            rc = tm_error_set(err, TM_ELIMIT,
                              "%s: section '%s' at byte %llu: raw length %llu exceeds "
                              "the limit of %llu bytes",
                              name, sname, (unsigned long long)s->offset,
                              (unsigned long long)s->raw_len, (unsigned long long)TMS_MAX_RAW_LEN);
            goto fail;
        }
    }
    if (pos != len) {
        rc = tm_error_set(err, TM_EFORMAT,
                          "%s: byte %zu: %zu unexpected bytes after the last section", name, pos,
                          len - pos);
        goto fail;
    }
    return TM_OK;
fail:
    tms_container_free(c);
    return rc;
}

/* Output is produced in steps of this much past what the decoder asked for:
 * small enough that a section proven invalid by its first bytes stops after
 * one step, large enough that the zstd call overhead is noise. */
#define SRC_STEP (1u << 20)

/* A section that expands no more than this over its stored bytes is what a
 * real snapshot looks like (traces columns: 17-30x measured), and the input
 * pays for it: it is decompressed in one call, which lets zstd write
 * straight into our buffer instead of through its window (a quarter less
 * decoding time, measured).  Only beyond it, where bombs live, is output
 * produced in steps. */
#define SRC_WHOLE_RATIO 64u

int tms_src_open(tms_src *src, const uint8_t *data, const tms_section *s, struct ZSTD_DCtx_s *dctx,
                 const char *name, tm_error *err)
{
    memset(src, 0, sizeof *src);
    const uint8_t *payload = data + s->offset + TMS_SECTION_HEADER_LEN;
    src->raw_len = (size_t)s->raw_len;
    snprintf(src->where, sizeof src->where, "%s: section '%s' at byte %llu", name,
             tms_section_name(s->type), (unsigned long long)s->offset);
    if (s->codec == TMS_CODEC_RAW) {
        src->base = payload;
        src->avail = src->raw_len;
        src->ended = 1;
        return TM_OK;
    }
    /* raw_len + 1 bytes: the last is the probe that detects a frame longer
     * than its claim.  A section the input pays for (whole: SRC_WHOLE_RATIO) takes them
     * from tm_malloc, which charges the budget now: decoding the same file
     * again then reuses the heap's pages, where a fresh mapping would fault
     * in and zero every page again (a fifth of decoding 1M traces,
     * measured).  Beyond that ratio, address space only: pages exist once
     * written, and each step is charged to the budget before zstd writes
     * it. */
    src->map_len = src->raw_len + 1;
    src->in_len = (size_t)s->stored_len;
    src->whole = src->raw_len / SRC_WHOLE_RATIO <= src->in_len;
    if (src->whole && !(src->buf = tm_malloc(src->map_len)))
        return tm_error_set(err, TM_ENOMEM,
                            "%s: out of memory decompressing byte %zu (of %zu declared)",
                            src->where, src->raw_len, src->raw_len);
    if (!src->whole && !(src->buf = tm_vm_reserve(src->map_len)))
        return tm_error_set(err, TM_ENOMEM, "%s: out of memory (address space for %zu bytes)",
                            src->where, src->raw_len);
    src->base = src->buf;
    src->dctx = dctx;
    src->in = payload;
    ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
    return TM_OK;
}

/* Runs zstd until `target` bytes are out (target <= map_len), the frame
 * ends, or the input is used up.  Each run is charged to the memory budget
 * before zstd writes it, in slices, so that a header that merely claims
 * gigabytes meets the truncated frame, not the budget. */
#define SRC_SLICE (64u << 20)

static int src_run(tms_src *src, size_t target, tm_error *err)
{
    ZSTD_inBuffer in = { src->in, src->in_len, src->in_pos };
    ZSTD_outBuffer o = { src->buf, src->avail, src->avail };
    int rc = TM_OK, stuck = 0;
    while (o.pos < target && !src->ended && !stuck && !rc) {
        size_t slice = target - o.pos < SRC_SLICE || src->whole ? target - o.pos : SRC_SLICE;
        if (!src->whole && tm_alloc_charge(slice)) {
            rc = tm_error_set(err, TM_ENOMEM,
                              "%s: out of memory decompressing byte %zu (of %zu declared)",
                              src->where, o.pos + slice, src->raw_len);
            break;
        }
        size_t start = o.pos;
        o.size = o.pos + slice;
        while (o.pos < o.size && !src->ended) {
            size_t before = o.pos, inbefore = in.pos;
            size_t r = ZSTD_decompressStream(src->dctx, &o, &in);
            if (ZSTD_isError(r)) {
                /* zstd allocates its window through tm_malloc (the budget). */
                int oom = ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation;
                rc = tm_error_set(err, oom ? TM_ENOMEM : TM_EFORMAT, "%s: zstd: %s", src->where,
                                  oom ? "out of memory for its window" : ZSTD_getErrorName(r));
                break;
            }
            if (r == 0)
                src->ended = 1;
            else if (o.pos == before && in.pos == inbefore) {
                /* All input given and nothing more comes out. */
                if (in.pos == in.size)
                    rc = tm_error_set(err, TM_EFORMAT, "%s: zstd frame is truncated", src->where);
                stuck = 1;
                break;
            }
        }
        if (!src->whole) {
            tm_alloc_uncharge(slice - (o.pos - start));
            src->charged += o.pos - start;
        }
    }
    src->avail = o.pos;
    src->in_pos = in.pos;
    return rc;
}

int tms_src_fill(tms_src *src, size_t upto, tm_error *err)
{
    if (upto > src->raw_len)
        upto = src->raw_len;
    if (upto <= src->avail)
        return TM_OK;
    if (src->whole)
        upto = src->raw_len;
    size_t target = upto - src->avail < SRC_STEP && src->raw_len - upto > SRC_STEP
        ? src->avail + SRC_STEP
        : upto;
    if (target < upto)
        target = upto;
    int rc = src_run(src, target, err);
    if (rc)
        return rc;
    if (src->avail < upto)
        return tm_error_set(err, TM_EFORMAT, "%s: decompresses to %zu bytes, header says %zu",
                            src->where, src->avail, src->raw_len);
    return TM_OK;
}

int tms_src_finish(tms_src *src, tm_error *err)
{
    if (!src->buf)
        return TM_OK;
    int rc = tms_src_fill(src, src->raw_len, err);
    if (!rc && !src->ended)
        rc = src_run(src, src->map_len, err); /* the frame must end here */
    if (rc)
        return rc;
    if (src->avail > src->raw_len || !src->ended)
        return tm_error_set(err, TM_EFORMAT,
                            "%s: decompresses to more than %zu bytes, header says %zu", src->where,
                            src->raw_len, src->raw_len);
    if (src->in_pos != src->in_len)
        return tm_error_set(err, TM_EFORMAT, "%s: %zu bytes after the end of the zstd frame",
                            src->where, src->in_len - src->in_pos);
    return TM_OK;
}

void tms_src_close(tms_src *src)
{
    if (src->buf && src->whole) {
        tm_free(src->buf);
    } else if (src->buf) {
        tm_alloc_uncharge(src->charged);
        tm_vm_release(src->buf, src->map_len);
    }
    memset(src, 0, sizeof *src);
}
