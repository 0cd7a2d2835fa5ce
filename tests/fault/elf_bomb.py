#!/usr/bin/env python3
"""Writes an ELF whose .debug_info is a compressed section (SHF_COMPRESSED,
zlib) that claims CH_SIZE bytes when decompressed, for cli.fault_elf_bombs.

    elf_bomb.py IN OUT CH_SIZE PAYLOAD [SECTION]

IN is a 64-bit little-endian ELF with a .debug_info section (any
compiler's -g output).  PAYLOAD says what follows the compression header:
  zeros:N   a real zlib stream of N zero bytes (a bomb inflating to N)
  text:N    a real zlib stream of N bytes of pseudo-random text (deflates
            about 1:3, so the file pays for a good part of what it claims)
The section's data is appended to the file and its header rewritten to point
at it; nothing else changes, so every other section stays valid.  SECTION
(default .debug_info) names another section to rewrite instead.
"""
import random
import struct
import sys
import zlib

SHF_COMPRESSED = 0x800
ELFCOMPRESS_ZLIB = 1


def payload(spec):
    kind, n = spec.split(':')
    n = int(n)
    z = zlib.compressobj(9)
    out = []
    chunk = 1 << 20
    if kind == 'zeros':
        # After a full flush deflate starts afresh, so every 1 MiB block of
        # zeros compresses to the same bytes: a GiB-sized stream is one block
        # repeated (and the Adler-32 of N zeros is (N mod 65521) << 16 | 1).
        raw = zlib.compressobj(9, zlib.DEFLATED, -15)
        block = raw.compress(bytes(chunk)) + raw.flush(zlib.Z_FULL_FLUSH)
        tail = raw.compress(bytes(n % chunk)) + raw.flush()
        adler = ((n % 65521) << 16) | 1
        return b'\x78\xda' + block * (n // chunk) + tail + adler.to_bytes(4, 'big')
    elif kind == 'text':
        rnd = random.Random(15)
        words = [''.join(rnd.choice('abcdefghijklmnop_') for _ in range(rnd.randint(3, 12)))
                 for _ in range(4096)]
        left = n
        while left:
            text = ' '.join(rnd.choice(words) for _ in range(chunk // 7)).encode()
            k = min(left, len(text))
            out.append(z.compress(text[:k]))
            left -= k
    else:
        sys.exit('elf_bomb.py: payload must be zeros:N or text:N')
    out.append(z.flush())
    return b''.join(out)


def main():
    src, dst, ch_size, spec = sys.argv[1:5]
    section = sys.argv[5] if len(sys.argv) > 5 else '.debug_info'
    elf = bytearray(open(src, 'rb').read())
    if elf[:4] != b'\x7fELF' or elf[4] != 2 or elf[5] != 1:
        sys.exit('elf_bomb.py: %s is not a 64-bit little-endian ELF' % src)
    shoff, = struct.unpack_from('<Q', elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', elf, 0x3a)

    def shdr(i):
        return shoff + i * shentsize

    stroff, = struct.unpack_from('<Q', elf, shdr(shstrndx) + 0x18)
    target = None
    for i in range(shnum):
        name, = struct.unpack_from('<I', elf, shdr(i))
        end = elf.index(b'\0', stroff + name)
        if elf[stroff + name:end].decode() == section:
            target = i
    if target is None:
        sys.exit('elf_bomb.py: %s has no %s section' % (src, section))
    data = struct.pack('<IIQQ', ELFCOMPRESS_ZLIB, 0, int(ch_size), 1) + payload(spec)
    while len(elf) % 8:
        elf.append(0)
    off = len(elf)
    elf += data
    h = shdr(target)
    flags, = struct.unpack_from('<Q', elf, h + 0x08)
    struct.pack_into('<Q', elf, h + 0x08, flags | SHF_COMPRESSED)
    struct.pack_into('<QQ', elf, h + 0x18, off, len(data))
    struct.pack_into('<Q', elf, h + 0x30, 8)
    open(dst, 'wb').write(elf)


main()
