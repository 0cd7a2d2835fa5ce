/*
 * Writes decompression bombs: .tms files with one zstd section whose frame
 * is a few literal bytes followed by RLE blocks of zeros, so that a file of
 * about 4 bytes per 128 KiB declares (and really decompresses to) gigabytes.
 * Every checksum is right; the frame is a valid zstd frame.
 *
 *   tms_bomb KIND RAW_LEN OUT.tms [WINDOW_LOG]
 *
 * KIND is a section (strings, metadata, modules, frames, stacks, traces)
 * whose payload is then invalid within its first bytes, or "traces-valid":
 * a traces section of RAW_LEN / 4 empty traces (four columns of zeros),
 * which is a valid snapshot, or "metadata-valid": RAW_LEN / 2 empty fields
 * of unknown tag 0 (valid, up to the metadata limit).  WINDOW_LOG (17..27, default 17) is the zstd
 * window the frame declares: the decoder allocates that much.
 *
 * Column blocks whose fault is not in their first bytes (traces, about
 * RAW_LEN / 4 rows unless said):
 *   traces-lastcol  valid columns but for the first value of the last one
 *                   (total_nframe -1): found only once the three columns
 *                   before it have decompressed
 *   traces-tail     four columns of RAW_LEN / 8 rows, then zeros to RAW_LEN:
 *                   the column lengths do not fill the section
 *   traces-longcol  RAW_LEN / 14 rows, column 0 of 11 bytes per row: longer
 *                   than one varint per row can be
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tms_internal.h"

#define BLOCK (128u << 10) /* zstd's largest block */

typedef struct out {
    uint8_t *p;
    size_t len, cap;
} out;

static void put(out *o, const void *b, size_t n)
{
    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2;
        if (!(o->p = realloc(o->p, o->cap))) {
            perror("tms_bomb");
            exit(1);
        }
    }
    memcpy(o->p + o->len, b, n);
    o->len += n;
}

static void block_header(out *o, int last, int type, uint32_t size)
{
    uint32_t h = (uint32_t)last | (uint32_t)type << 1 | size << 3;
    uint8_t b[3] = { (uint8_t)h, (uint8_t)(h >> 8), (uint8_t)(h >> 16) };
    put(o, b, 3);
}

static unsigned window_log = 17;

static void frame_header(out *o, uint64_t raw_len)
{
    uint8_t hdr[4 + 1 + 1 + 8] = { 0x28, 0xb5, 0x2f, 0xfd };
    hdr[4] = 0xc0; /* 8-byte content size, no checksum, no dictionary */
    hdr[5] = (uint8_t)((window_log - 10) << 3); /* window 2^window_log */
    tms_put_le64(hdr + 6, raw_len);
    put(o, hdr, sizeof hdr);
}

static void literal(out *o, const uint8_t *b, size_t n)
{
    block_header(o, 0, 0, (uint32_t)n);
    put(o, b, n);
}

static void zeros(out *o, uint64_t n)
{
    while (n > 0) {
        uint32_t k = n > BLOCK ? BLOCK : (uint32_t)n;
        n -= k;
        block_header(o, 0, 1, k);
        put(o, "", 1);
    }
}

static void frame_end(out *o)
{
    block_header(o, 1, 0, 0);
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: tms_bomb KIND RAW_LEN OUT.tms [WINDOW_LOG]\n");
        return 2;
    }
    if (argc == 5)
        window_log = (unsigned)strtoul(argv[4], NULL, 10);
    if (window_log < 17 || window_log > 27) {
        fprintf(stderr, "tms_bomb: WINDOW_LOG must be 17..27\n");
        return 2;
    }
    const char *kind = argv[1];
    uint64_t raw_len = strtoull(argv[2], NULL, 0);
    static const struct {
        const char *name;
        unsigned type;
        uint8_t prefix[8];
        size_t plen;
    } kinds[] = {
        /* zero strings, then bytes after them */
        { "strings", TMS_SEC_STRINGS, { 0 }, 1 },
        /* program = string 0, twice */
        { "metadata", TMS_SEC_METADATA, { 1, 1, 0, 1, 1, 0 }, 6 },
        /* zero modules, then bytes after them */
        { "modules", TMS_SEC_MODULES, { 0 }, 1 },
        /* 0 rows in 0 columns: 6 are needed */
        { "frames", TMS_SEC_FRAMES, { 0, 0 }, 2 },
        { "stacks", TMS_SEC_STACKS, { 0, 0 }, 2 },
        { "traces", TMS_SEC_TRACES, { 0, 0 }, 2 },
        { "traces-valid", TMS_SEC_TRACES, { 0 }, 0 },
        { "traces-lastcol", TMS_SEC_TRACES, { 0 }, 0 },
        { "traces-tail", TMS_SEC_TRACES, { 0 }, 0 },
        { "traces-longcol", TMS_SEC_TRACES, { 0 }, 0 },
        /* unknown field 0, empty, again and again */
        { "metadata-valid", TMS_SEC_METADATA, { 0 }, 0 },
    };
    size_t k = 0;
    while (k < sizeof kinds / sizeof kinds[0] && strcmp(kinds[k].name, kind) != 0)
        k++;
    if (k == sizeof kinds / sizeof kinds[0] || raw_len < 64 || raw_len > (UINT64_C(1) << 34)) {
        fprintf(stderr, "tms_bomb: unknown KIND or RAW_LEN out of 64..2^34\n");
        return 2;
    }
    out sec = { 0 };
    if (strncmp(kind, "traces-", 7) == 0) {
        /* rows, 4, then 4 times: column length, that many bytes (zeros) */
        int tail = strcmp(kind, "traces-tail") == 0, longcol = strcmp(kind, "traces-longcol") == 0;
        uint64_t declared = raw_len;
        uint64_t per_row = tail ? 8 : longcol ? 14 : 4, rows = raw_len / per_row, total;
        uint64_t len[4];
        uint8_t v[TMS_VARINT_MAX_LEN];
        for (;;) {
            for (int c = 0; c < 4; c++)
                len[c] = longcol && c == 0 ? 11 * rows : rows;
            total = tms_put_varint(v, rows) + 1;
            for (int c = 0; c < 4; c++)
                total += tms_put_varint(v, len[c]) + len[c];
            if (total <= raw_len)
                break;
            rows--;
        }
        raw_len = tail ? declared : total;
        frame_header(&sec, raw_len);
        size_t n = tms_put_varint(v, rows);
        v[n++] = 4;
        literal(&sec, v, n);
        for (int c = 0; c < 4; c++) {
            literal(&sec, v, tms_put_varint(v, len[c]));
            if (c == 3 && strcmp(kind, "traces-lastcol") == 0) {
                literal(&sec, (const uint8_t *)"\1", 1); /* zigzag -1 */
                zeros(&sec, len[c] - 1);
            } else {
                zeros(&sec, len[c]);
            }
        }
        if (tail)
            zeros(&sec, raw_len - total);
    } else {
        frame_header(&sec, raw_len);
        literal(&sec, kinds[k].prefix, kinds[k].plen);
        zeros(&sec, raw_len - kinds[k].plen);
    }
    frame_end(&sec);

    out f = { 0 };
    uint8_t fh[TMS_FILE_HEADER_LEN] = { 0 };
    memcpy(fh, TMS_MAGIC, TMS_MAGIC_LEN);
    tms_put_le16(fh + TMS_FH_MAJOR, 1);
    tms_put_le16(fh + TMS_FH_MINOR, 0);
    tms_put_le32(fh + TMS_FH_NSECTIONS, 1);
    tms_put_le32(fh + TMS_FH_CHECKSUM, tms_header_checksum(fh, sizeof fh, TMS_FH_CHECKSUM));
    put(&f, fh, sizeof fh);
    uint8_t sh[TMS_SECTION_HEADER_LEN] = { 0 };
    tms_put_le16(sh + TMS_SH_TYPE, (uint16_t)kinds[k].type);
    sh[TMS_SH_FLAGS] = TMS_FLAG_CRITICAL;
    sh[TMS_SH_CODEC] = TMS_CODEC_ZSTD;
    tms_put_le64(sh + TMS_SH_STORED_LEN, sec.len);
    tms_put_le64(sh + TMS_SH_RAW_LEN, raw_len);
    tms_put_le64(sh + TMS_SH_PAYLOAD_HASH, tms_payload_hash(sec.p, sec.len));
    tms_put_le32(sh + TMS_SH_CHECKSUM, tms_header_checksum(sh, sizeof sh, TMS_SH_CHECKSUM));
    put(&f, sh, sizeof sh);
    put(&f, sec.p, sec.len);

    FILE *fp = fopen(argv[3], "wb");
    if (!fp || fwrite(f.p, 1, f.len, fp) != f.len || fclose(fp) != 0) {
        perror(argv[3]);
        return 1;
    }
    free(sec.p);
    free(f.p);
    return 0;
}
