#!/usr/bin/env python3
"""Writes the seeds of fuzz_dwarf_info (corpus/dwarf_info/): the DWARF
sections, as 4-byte little-endian length + bytes in fuzz_dwarf_info.c's
order, of the ELF seeds of fuzz_elf (corpus/elf/) and of the accuracy test's
programs (tests/symbolize/) built -O2 by gcc and clang, DWARF 4 and 5, C and
C++ (inlined subroutines, ranges, rnglists, strx/addrx forms); split-*:
split DWARF programs with their .dwo sections (one unit) or their llvm-dwp
package (all units, with .debug_cu_index); dwz-*: dwz -m programs with the
supplementary file's sections (GNU forms and --dwarf-5).  Also the seeds of
fuzz_dwp_index (corpus/dwp_index/): each package's signature + index.
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
    symsrc = os.path.abspath(os.path.join(here, "..", "symbolize"))
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
            with open(os.path.join(dst, name), "wb") as f:
                f.write(blob_of(path, NAMES, tmp))
        external(symsrc, dst, os.path.join(here, "corpus", "dwp_index"), tmp)


def blob_of(path, names, tmp):
    blob = b""
    for s in names:
        data = section(path, s, tmp) if s else b""
        blob += struct.pack("<I", len(data)) + data
    return blob


ALT = [".debug_info", ".debug_abbrev", ".debug_str"]
DWO = [".debug_info.dwo", ".debug_abbrev.dwo", ".debug_str.dwo", ".debug_str_offsets.dwo",
       ".debug_rnglists.dwo", ".debug_line.dwo"]


def external(symsrc, dst, dwp_dst, tmp):
    os.makedirs(dwp_dst, exist_ok=True)
    for cc, cxx in (("gcc", "g++"), ("clang", "clang++")):
        for dw in ("4", "5"):
            d = os.path.join(tmp, "split-%s-dw%s" % (cc, dw))
            os.makedirs(d)
            flags = ["-O2", "-g", "-gdwarf-" + dw, "-gsplit-dwarf", "-I", symsrc]
            subprocess.run([cxx] + flags + [os.path.join(symsrc, "sym_cpp.cpp"), "-o", "one"],
                           cwd=d, check=True)
            dwo = [f for f in os.listdir(d) if f.endswith(".dwo")][0]
            with open(os.path.join(dst, "split-%s-dw%s-dwo" % (cc, dw)), "wb") as f:
                f.write(blob_of(os.path.join(d, "one"), NAMES + [None] * 3, tmp) +
                        blob_of(os.path.join(d, dwo), DWO + [None], tmp))
            os.remove(os.path.join(d, dwo))
            subprocess.run([cc] + flags + [os.path.join(symsrc, "sym_main.c"),
                                           os.path.join(symsrc, "sym_lib.c"), "-o", "two"],
                           cwd=d, check=True)
            dwos = [f for f in os.listdir(d) if f.endswith(".dwo")]
            subprocess.run(["llvm-dwp", "-o", "two.dwp"] + dwos, cwd=d, check=True)
            pkg = os.path.join(d, "two.dwp")
            with open(os.path.join(dst, "split-%s-dw%s-dwp" % (cc, dw)), "wb") as f:
                f.write(blob_of(os.path.join(d, "two"), NAMES + [None] * 3, tmp) +
                        blob_of(pkg, DWO + [".debug_cu_index"], tmp))
            index = section(pkg, ".debug_cu_index", tmp)
            # the first listed signature (version 5 / 2 header: 16 bytes)
            nslots = struct.unpack_from("<I", index, 12)[0]
            for i in range(nslots):
                sig = index[16 + 8 * i:24 + 8 * i]
                row = struct.unpack_from("<I", index, 16 + 8 * nslots + 4 * i)[0]
                if row:
                    break
            with open(os.path.join(dwp_dst, "%s-dw%s" % (cc, dw)), "wb") as f:
                f.write(sig + index)
    for mode, opts in (("gnu", []), ("dwarf5", ["--dwarf-5"])):
        d = os.path.join(tmp, "dwz-" + mode)
        os.makedirs(d)
        names = []
        for cc, dw in (("gcc", "4"), ("gcc", "5"), ("clang", "4")):
            n = "%s-dw%s" % (cc, dw)
            subprocess.run([cc, "-O2", "-g", "-gdwarf-" + dw, "-I", symsrc,
                            os.path.join(symsrc, "sym_main.c"),
                            os.path.join(symsrc, "sym_lib.c"), "-o", n], cwd=d, check=True)
            names.append(n)
        subprocess.run(["dwz"] + opts + ["-m", "common.debug", "-M", "common.debug"] + names,
                       cwd=d, check=True)
        for n in names:
            with open(os.path.join(dst, "dwz-%s-%s" % (mode, n)), "wb") as f:
                f.write(blob_of(os.path.join(d, n), NAMES, tmp) +
                        blob_of(os.path.join(d, "common.debug"), ALT, tmp))


if __name__ == "__main__":
    main()
