"""Minimal PNG reader (zlib only, no extra modules) for screenshot checks:
8-bit RGB/RGBA, non-interlaced, as Chromium writes them."""
import struct
import zlib


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s: not a PNG" % path)
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("%s: unsupported PNG (depth %d, colour type %d)" % (path, depth, ctype))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def pixels(path):
    w, h, bpp, rows = read_png(path)
    for y, row in enumerate(rows):
        for x in range(w):
            yield x, y, tuple(row[x * bpp:x * bpp + 3])


def stats(path, highlight=(0xe6, 0x00, 0xe6), tol=8):
    """(width, height, non-white pixels, highlight-coloured pixels, distinct colours)"""
    w, h, _, _ = read_png(path)
    nonwhite = hl = 0
    colours = set()
    for _, _, px in pixels(path):
        if px != (255, 255, 255):
            nonwhite += 1
            colours.add(px)
        if all(abs(px[i] - highlight[i]) <= tol for i in range(3)):
            hl += 1
    return w, h, nonwhite, hl, len(colours)
