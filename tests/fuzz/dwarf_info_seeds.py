#!/usr/bin/env python3
"""Writes the seeds of fuzz_dwarf_info (corpus/dwarf_info/): the DWARF
sections, as 4-byte little-endian length + bytes in fuzz_dwarf_info.c's
order, of the ELF seeds of fuzz_elf (corpus/elf/) and of the accuracy test's
programs (tests/symbolize/) built -O2 by gcc and clang, DWARF 4 and 5, C and
C++ (inlined subroutines, ranges, rnglists, strx/addrx forms).
Usage: python3 dwarf_info_seeds.py [FUZZ_DIR]"""
import os
import struct
import subprocess
import sys
import tempfile

NAMES = [".debug_info", ".debug_abbrev", ".debug_str", ".debug_line_str",
         ".debug_str_offsets", ".debug_addr", ".debug_ranges", ".debug_rnglists",
         ".debug_line"]


def section(elf, name, tmp):
    out = os.path.join(tmp, "s")
    if os.path.exists(out):
        os.unlink(out)
    r = subprocess.run(["objcopy", "--dump-section", "%s=%s" % (name, out), elf,
                        os.path.join(tmp, "junk")], stderr=subprocess.DEVNULL)
    if r.returncode != 0 or not os.path.exists(out):
        return b""
    with open(out, "rb") as f:
        return f.read()


def main():
    here = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    src = os.path.join(here, "corpus", "elf")
    dst = os.path.join(here, "corpus", "dwarf_info")
    os.makedirs(dst, exist_ok=True)
    symsrc = os.path.join(here, "..", "symbolize")
    with tempfile.TemporaryDirectory() as tmp:
        elves = [(n, os.path.join(src, n)) for n in ("clang_dw5", "dw4_nopie", "dw5_pie", "lib.so")]
        for cc, cxx in (("gcc", "g++"), ("clang", "clang++")):
            for dw in ("4", "5"):
                flags = ["-O2", "-g", "-gdwarf-" + dw, "-I", symsrc]
                out = os.path.join(tmp, "%s-dw%s" % (cc, dw))
                subprocess.run([cc] + flags + [os.path.join(symsrc, "sym_main.c"),
                                               os.path.join(symsrc, "sym_lib.c"), "-o", out],
                               check=True)
                elves.append((os.path.basename(out), out))
            out = os.path.join(tmp, "%s-cpp" % cxx.replace("+", "x"))
            subprocess.run([cxx, "-O2", "-g", os.path.join(symsrc, "sym_cpp.cpp"), "-o", out],
                           check=True)
            elves.append((os.path.basename(out), out))
        for name, path in elves:
            blob = b""
            for s in NAMES:
                data = section(path, s, tmp)
                blob += struct.pack("<I", len(data)) + data
            with open(os.path.join(dst, name), "wb") as f:
                f.write(blob)


if __name__ == "__main__":
    main()
