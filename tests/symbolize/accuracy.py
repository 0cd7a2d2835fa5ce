#!/usr/bin/env python3
"""Symbolizer accuracy: tmsym --lookup against llvm-symbolizer.

Builds a matrix of test programs (C and C++; gcc and clang; -O0 and -O2;
DWARF 4 and 5; PIE, non-PIE, static, shared library; stripped with a
.gnu_debuglink debug file; zlib and zstd compressed debug sections), picks
addresses of interest from `objdump -d` (every call site's return address
minus 1, as snapshots are looked up, and every instruction of our own
functions), and requires function, file, line and inline frames to be
identical to

    llvm-symbolizer --inlining --functions=linkage --demangle

(column numbers dropped: tmkit has no columns).  Every difference is
printed and fails the test.  One thing is normalised, and counted in the
output: tmkit demangles with libstdc++ (GNU conventions, as c++filt and
gdb print), LLVM 14 with its own demangler, which prints clones as
"f() (.constprop.0)" instead of "f() [clone .constprop.0]" and gives up on
some valid names (it then prints them mangled).  When llvm's name differs
only that way, c++filt decides: it must print exactly tmkit's name.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

OURS = re.compile(r"sym_|recurse|twice|apply|main|hidden|use_shape|lib_static_helper|"
                  r"accumulate|Point|Rect|die_now")
MAX_OTHER = 1500          # call sites outside our own code (crt, libc when static)


def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (r.returncode, " ".join(cmd), r.stderr))
    return r


def addresses(binary):
    out = run(["objdump", "-d", "--no-show-raw-insn", "-w", binary]).stdout
    func = None
    ours, others = [], []
    pending_call = False
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]+) <(.*)>:$", line)
        if m:
            func = m.group(2)
            pending_call = False
            continue
        m = re.match(r"^\s+([0-9a-f]+):\s+(\S+)", line)
        if not m or func is None:
            continue
        addr = int(m.group(1), 16)
        mine = bool(OURS.search(func)) and not func.startswith("_dl") and "@plt" not in func
        if pending_call:
            (ours if mine else others).append(addr - 1)   # return address - 1
            pending_call = False
        if mine:
            ours.append(addr)
        if m.group(2).startswith("call"):
            pending_call = True
    if len(others) > MAX_OTHER:
        step = len(others) / MAX_OTHER
        others = [others[int(i * step)] for i in range(MAX_OTHER)]
    seen, res = set(), []
    for a in ours + others:
        if a not in seen:
            seen.add(a)
            res.append(a)
    return res


def blocks(text, strip_column):
    res = []
    for blk in text.split("\n\n"):
        lines = [l for l in blk.split("\n") if l != ""]
        if not lines:
            continue
        if strip_column:
            lines = [re.sub(r":(\d+):\d+$", r":\1", l) if i % 2 == 1 else l
                     for i, l in enumerate(lines)]
        res.append(lines)
    return res


CLONE = re.compile(r" \((\.[A-Za-z_][A-Za-z0-9_.]*)\)")
normalised = [0]


def cxxfilt(names):
    r = run(["c++filt"], input="\n".join(names) + "\n")
    return r.stdout.split("\n")[:len(names)]


def gnu_name(llvm_name, mangled_of):
    """llvm's function name in GNU demangler conventions."""
    if llvm_name.startswith("_Z"):
        return cxxfilt([llvm_name])[0]
    return CLONE.sub(lambda m: " [clone %s]" % m.group(1), llvm_name)


def same_modulo_demangler(x, y):
    if len(x) != len(y):
        return False
    for i, (a, b) in enumerate(zip(x, y)):
        if a == b:
            continue
        if i % 2 == 1 or gnu_name(b, None) != a:
            return False
    return True


def compare(name, tmsym, binary, oracle, work, addr_source=None):
    addrs = addresses(addr_source or binary)
    if not addrs:
        return ["%s: no addresses found" % name]
    af = os.path.join(work, name + ".addr")
    with open(af, "w") as f:
        f.write("".join("0x%x\n" % a for a in addrs))
    ours = run([tmsym, "--lookup", binary], stdin=open(af)).stdout
    ref = run(["llvm-symbolizer", "--obj=" + oracle, "--inlining", "--functions=linkage",
               "--demangle"], stdin=open(af)).stdout
    a, b = blocks(ours, False), blocks(ref, True)
    diffs = []
    if len(a) != len(b):
        return ["%s: %d results from tmsym, %d from llvm-symbolizer" % (name, len(a), len(b))]
    for addr, x, y in zip(addrs, a, b):
        if x != y and same_modulo_demangler(x, y):
            normalised[0] += 1
            continue
        if x != y:
            diffs.append("%s 0x%x:\n    tmsym: %s\n    llvm:  %s" % (name, addr, " | ".join(x), " | ".join(y)))
    print("%-28s %5d addresses, %d differ" % (name, len(addrs), len(diffs)))
    return diffs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tmsym", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    src, work = args.src, args.work
    os.makedirs(work, exist_ok=True)
    main_c, lib_c, cpp = (os.path.join(src, n) for n in ("sym_main.c", "sym_lib.c", "sym_cpp.cpp"))
    inc = ["-I", src]
    ccs = [("gcc", "g++"), ("clang", "clang++")]
    missing = [c for pair in ccs for c in pair if not shutil.which(c)]
    for tool in ("objdump", "objcopy", "readelf", "c++filt", "llvm-symbolizer"):
        if not shutil.which(tool):
            missing.append(tool)
    if missing:
        print("FAIL: missing tools: " + ", ".join(missing))
        return 1

    cases = []   # (name, binary, oracle)
    def build(name, cmd):
        out = os.path.join(work, name)
        run(cmd + ["-o", out])
        return out

    for cc, cxx in ccs:
        for opt in ("-O0", "-O2"):
            for dw in ("4", "5"):
                tag = "%s%s-dw%s" % (cc, opt, dw)
                flags = ["-g", "-gdwarf-" + dw, opt] + inc
                b = build(tag + "-pie", [cc] + flags + ["-fPIE", "-pie", main_c, lib_c])
                cases.append((tag + "-pie", b, b))
                b = build(tag + "-nopie", [cc] + flags + ["-fno-pie", "-no-pie", main_c, lib_c])
                cases.append((tag + "-nopie", b, b))
                b = build("lib" + tag + ".so", [cc] + flags + ["-fPIC", "-shared", lib_c])
                cases.append(("lib" + tag + ".so", b, b))
                b = build(tag + "-cpp", [cxx] + flags + [cpp])
                cases.append((tag + "-cpp", b, b))
                if args.quick:
                    break
    # Static, stripped + debuglink, compressed sections.
    for cc, dw in (("gcc", "5"), ("clang", "4")):
        flags = ["-g", "-gdwarf-" + dw, "-O2"] + inc
        tag = "%s-O2-dw%s" % (cc, dw)
        b = build(tag + "-static", [cc] + flags + ["-static", main_c, lib_c])
        cases.append((tag + "-static", b, b))
        full = build(tag + "-full", [cc] + flags + [main_c, lib_c])
        stripped = os.path.join(work, tag + "-stripped")
        dbg = stripped + ".debug"
        run(["objcopy", "--only-keep-debug", full, dbg])
        run(["objcopy", "--strip-all", "--add-gnu-debuglink=" + dbg, full, stripped])
        cases.append((tag + "-stripped", stripped, stripped, full))
        z = build(tag + "-gz-zlib", [cc] + flags + ["-gz=zlib", main_c, lib_c])
        cases.append((tag + "-gz-zlib", z, z))
        zs = os.path.join(work, tag + "-zstd")
        run(["objcopy", "--compress-debug-sections=zstd", full, zs])
        hdr = run(["readelf", "-t", zs]).stdout
        if "COMPRESSED" not in hdr:
            print("FAIL: objcopy did not compress %s" % zs)
            return 1
        # llvm-symbolizer 14 cannot read zstd sections: the uncompressed
        # original (same code, same addresses) is the oracle.
        cases.append((tag + "-zstd", zs, full))

    diffs = []
    for case in cases:
        diffs += compare(case[0], args.tmsym, case[1], case[2], work, *case[3:])
    print("results equal only after demangler-convention normalisation: %d" % normalised[0])
    if diffs:
        with open(os.path.join(work, "differences.txt"), "w") as f:
            f.write("\n".join(diffs) + "\n")
        print("\n%d differences (all in %s):" % (len(diffs), os.path.join(work, "differences.txt")))
        for d in diffs[:200]:
            print(d)
        if len(diffs) > 200:
            print("... %d more" % (len(diffs) - 200))
        print("symbolize accuracy: %d binaries, differences found" % len(cases))
        return 1
    print("symbolize accuracy: %d binaries identical to llvm-symbolizer" % len(cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
