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
printed and fails the test.

Debug information outside the binary is part of the matrix:
  - split DWARF (-gsplit-dwarf; gcc and clang; DWARF 4, the GNU extension,
    and DWARF 5), with the .dwo files found through DW_AT_comp_dir, and
    packed into a .dwp beside the binary (llvm-dwp; binutils' dwp too when
    installed).  llvm-symbolizer 14 drops inline frames at some addresses
    of split units (gcc's and clang's, DWARF 4 and 5: inlined calls whose
    addresses are a range list in the .dwo); where it differs on the split
    binary, it must print our answer on the same program built without
    -gsplit-dwarf, whose code is checked to be byte for byte the same.
    Those addresses are counted.
  - dwz (one file) and dwz -m (a supplementary file, with the GNU forms
    DW_FORM_GNU_ref_alt / strp_alt, and with --dwarf-5 the standard
    DW_FORM_ref_sup4 / strp_sup and .debug_sup).  LLVM 14 does not read
    supplementary files and names what was moved there "??": there
    eu-addr2line (elfutils) decides, and those addresses are counted.
    Besides, every answer must equal llvm-symbolizer's on the binary before
    dwz (dwz rewrites only the debug information).
  - the notes: a missing .dwo, a missing supplementary file and a .dwo of
    another build (dwo_id mismatch) are said once on stderr.  One thing is normalised, and counted in the
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


def llvm(oracle, af):
    ref = run(["llvm-symbolizer", "--obj=" + oracle, "--inlining", "--functions=linkage",
               "--demangle"], stdin=open(af)).stdout
    return blocks(ref, True)


def eu_addr2line(binary, af):
    """eu-addr2line's frames in llvm-symbolizer's layout, one list per address."""
    # exits 1 when an address has no line: its output is still complete
    out = subprocess.run(["eu-addr2line", "-e", binary, "-a", "-f", "-i", "-C"], stdin=open(af),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True).stdout
    res = []
    for line in out.splitlines():
        if re.match(r"^0x[0-9a-f]+$", line):
            res.append([])
        elif len(res[-1]) % 2 == 0:
            res[-1].append(re.sub(r" inlined at .*", "", line))
        else:
            res[-1].append(re.sub(r":(\d+):\d+$", r":\1", line))
    return res


stats = {"lazy_same": 0, "llvm_split_wrong": 0, "llvm_dwz_wrong": 0, "eu_decided": 0, "eu_short": 0}


def plain_name(name):
    """A function name without return type, scope, template arguments and
    parameters: eu-addr2line prints some frames by their DW_AT_name ("end"
    for "std::vector<int>::end() const"), as the producer spelled it."""
    out, depth = [], 0
    for ch in name:
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    flat = "".join(out).strip()
    flat = re.sub(r" const$", "", flat)
    return flat.split(" ")[-1].split("::")[-1]
ncompared = [0]   # binaries compared outside the main matrix


def same(x, y):
    if x == y:
        return True
    if same_modulo_demangler(x, y):
        normalised[0] += 1
        return True
    return False


def compare(name, tmsym, binary, oracle, work, addr_source=None, twin=None, before=None,
            cwd=None, inline_stats=None, eu=True):
    """twin: the same code without -gsplit-dwarf, oracle where llvm misreads
    split units.  before: the binary before dwz (eu-addr2line decides where
    llvm prints "??" on the dwz'd one)."""
    addrs = addresses(addr_source or binary)
    if not addrs:
        return ["%s: no addresses found" % name]
    af = os.path.join(work, name + ".addr")
    with open(af, "w") as f:
        f.write("".join("0x%x\n" % a for a in addrs))
    ours = run([tmsym, "--lookup", binary], stdin=open(af), cwd=cwd).stdout
    # Lazy indexing (TM_SYMBOLIZE_LAZY=1: unit by unit, as for big binaries)
    # must print byte for byte what the full index prints.
    lazy_env = dict(os.environ, TM_SYMBOLIZE_LAZY="1")
    full_env = dict(os.environ, TM_SYMBOLIZE_LAZY="0")
    full = run([tmsym, "--lookup", binary], stdin=open(af), cwd=cwd, env=full_env).stdout
    lazy = run([tmsym, "--lookup", binary], stdin=open(af), cwd=cwd, env=lazy_env).stdout
    if lazy != full:
        la, fa = lazy.split("\n\n"), full.split("\n\n")
        k = next((i for i, (x, y) in enumerate(zip(la, fa)) if x != y), min(len(la), len(fa)))
        return ["%s: lazy indexing differs from the full index at result %d:\n%s\nfull:\n%s"
                % (name, k, la[k] if k < len(la) else "(none)", fa[k] if k < len(fa) else "(none)")]
    stats["lazy_same"] += 1
    a, b = blocks(ours, False), llvm(oracle, af)
    t = llvm(twin, af) if twin else None
    p = llvm(before, af) if before else None
    e = eu_addr2line(binary, af) if before and eu else None
    diffs = []
    for other in (b, t, p, e):
        if other is not None and len(a) != len(other):
            return ["%s: %d results from tmsym, %d from an oracle" % (name, len(a), len(other))]
    if inline_stats is not None:
        inline_stats[name] = sum(1 for x in a if len(x) > 2)
    for i, (addr, x, y) in enumerate(zip(addrs, a, b)):
        if t is not None and not same(x, y) and same(x, t[i]):
            stats["llvm_split_wrong"] += 1
            continue
        if p is not None:
            # dwz: the binary before dwz is the exact oracle
            if not same(x, p[i]):
                diffs.append("%s 0x%x:\n    tmsym: %s\n    llvm before dwz: %s" %
                             (name, addr, " | ".join(x), " | ".join(p[i])))
                continue
            if same(x, y):
                continue
            # llvm-symbolizer 14 misreads the dwz'd binary ("??", or only
            # the DW_AT_name of a DIE whose linkage name was moved)
            stats["llvm_dwz_wrong"] += 1
            if e is None or len(e[i]) != len(y) or any(e[i][k] == "??" and y[k] != p[i][k]
                                                       for k in range(0, len(y), 2)):
                # eu-addr2line drops inline frames there too
                stats["eu_short"] += 1
                continue
            stats["eu_decided"] += 1
            for k in range(len(y)):
                # eu-addr2line decides the frames llvm misread; on the
                # others the two differ in convention (eu-addr2line names a
                # function's cold part by the function: "main", not "main.cold")
                if y[k] == p[i][k] or x[k] == e[i][k] or (k % 2 == 0 and plain_name(x[k]) == plain_name(e[i][k])):
                    continue
                diffs.append("%s 0x%x:\n    tmsym: %s\n    eu-addr2line: %s" %
                             (name, addr, " | ".join(x), " | ".join(e[i])))
                break
            continue
        if not same(x, y):
            diffs.append("%s 0x%x:\n    tmsym: %s\n    llvm:  %s" % (name, addr, " | ".join(x), " | ".join(y)))
    print("%-28s %5d addresses, %d differ" % (name, len(addrs), len(diffs)))
    return diffs


def compare_ext(*a, **kw):
    ncompared[0] += 1
    return compare(*a, **kw)


def text_bytes(binary, work):
    out = os.path.join(work, os.path.basename(binary) + ".text")
    run(["objcopy", "-O", "binary", "-j", ".text", binary, out])
    with open(out, "rb") as f:
        return f.read()


def notes(tmsym, binary, af, cwd=None):
    return run([tmsym, "--lookup", binary], stdin=open(af), cwd=cwd).stderr


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
    diffs += external(args, src, work, inc)
    print("results equal only after demangler-convention normalisation: %d" % normalised[0])
    print("binaries where lazy indexing printed exactly what the full index printed: %d"
          % stats["lazy_same"])
    print("split DWARF: addresses where llvm-symbolizer 14 misreads the split binary and "
          "prints what it prints without -gsplit-dwarf: %d" % stats["llvm_split_wrong"])
    print("dwz: addresses where llvm-symbolizer 14 misreads the dwz'd binary: %d; there "
          "eu-addr2line agrees with tmsym: %d, and where eu-addr2line 0.188 loses the frames "
          "too (inline frames named in the supplementary file, and every DW_FORM_strp_sup "
          "name of dwz --dwarf-5, which it reads from the wrong file) the binary before dwz "
          "decides: %d" % (stats["llvm_dwz_wrong"], stats["eu_decided"], stats["eu_short"]))
    if diffs:
        with open(os.path.join(work, "differences.txt"), "w") as f:
            f.write("\n".join(diffs) + "\n")
        print("\n%d differences (all in %s):" % (len(diffs), os.path.join(work, "differences.txt")))
        for d in diffs[:200]:
            print(d)
        if len(diffs) > 200:
            print("... %d more" % (len(diffs) - 200))
        print("symbolize accuracy: %d binaries, differences found" % (len(cases) + ncompared[0]))
        return 1
    print("symbolize accuracy: %d binaries identical to llvm-symbolizer" % (len(cases) + ncompared[0]))
    return 0


def external(args, src, work, inc):
    """Split DWARF (.dwo, .dwp) and dwz; see the module comment."""
    diffs = []
    src, work = os.path.abspath(src), os.path.abspath(work)
    inc = ["-I", src]
    progs = [("c", ["sym_main.c", "sym_lib.c"]), ("cpp", ["sym_cpp.cpp"])]
    tools = [t for t in ("llvm-dwp", "dwz", "eu-addr2line") if not shutil.which(t)]
    if tools:
        return ["missing tools for split DWARF / dwz: " + ", ".join(tools)]
    inl = {}
    for cc, cxx in (("gcc", "g++"), ("clang", "clang++")):
        for dw in ("4", "5"):
            for lang, files in progs:
                tag = "split-%s-dw%s-%s" % (cc, dw, lang)
                d = os.path.join(work, tag)
                os.makedirs(d, exist_ok=True)
                comp = cxx if lang == "cpp" else cc
                paths = [os.path.join(src, f) for f in files]
                flags = ["-g", "-gdwarf-" + dw, "-O2"] + inc
                # each build in its own directory: clang names the .dwo
                # after the source file, in the current directory
                run([comp] + flags + ["-gsplit-dwarf"] + paths + ["-o", "prog"], cwd=d)
                run([comp] + flags + paths + ["-o", "twin"], cwd=d)
                b, twin = os.path.join(d, "prog"), os.path.join(d, "twin")
                if text_bytes(b, work) != text_bytes(twin, work):
                    diffs.append("%s: -gsplit-dwarf changed the code: no twin oracle" % tag)
                    continue
                diffs += compare_ext(tag + "-dwo", args.tmsym, b, b, work, twin=twin,
                                 inline_stats=inl)
                # the package beside a copy of the binary, the .dwo files gone
                pd = os.path.join(work, tag + "-dwp")
                shutil.rmtree(pd, ignore_errors=True)
                os.makedirs(pd)
                pb = os.path.join(pd, "prog")
                shutil.copy(b, pb)
                dwos = sorted(f for f in os.listdir(d) if f.endswith(".dwo"))
                run(["llvm-dwp", "-o", pb + ".dwp"] + dwos, cwd=d)
                hidden = os.path.join(work, tag + "-hidden")
                shutil.rmtree(hidden, ignore_errors=True)
                os.rename(d, hidden)
                try:
                    diffs += compare_ext(tag + "-dwp", args.tmsym, pb, pb, work,
                                     twin=os.path.join(hidden, "twin"), inline_stats=inl)
                    if cc == "gcc" and dw == "4" and shutil.which("dwp"):
                        # binutils' dwp (it cannot pack DWARF 5)
                        run(["dwp", "-o", pb + ".dwp"] + dwos, cwd=hidden)
                        diffs += compare_ext(tag + "-binutils-dwp", args.tmsym, pb, pb, work,
                                         twin=os.path.join(hidden, "twin"))
                    # neither .dwo nor .dwp: said once
                    os.remove(pb + ".dwp")
                    err = notes(args.tmsym, pb, os.path.join(work, tag + "-dwp.addr"))
                    n = err.count("not found (nor a .dwp beside the file)")
                    if n != 1 or err.count("\n") != 1:
                        diffs.append("%s: a missing .dwo must be one note, got:\n%s" % (tag, err))
                    if cc == "gcc":
                        # the .dwo files of another build beside the binary
                        other = os.path.join(pd, "other")
                        os.makedirs(other, exist_ok=True)
                        run([comp] + flags + ["-O1", "-gsplit-dwarf"] + paths + ["-o", "prog"],
                            cwd=other)
                        for f in os.listdir(other):
                            if f.endswith(".dwo"):
                                shutil.copy(os.path.join(other, f), os.path.join(pd, f))
                        err = notes(args.tmsym, pb, os.path.join(work, tag + "-dwp.addr"))
                        if err.count("has no unit with dwo_id") != 1 or err.count("\n") != 1:
                            diffs.append("%s: a .dwo of another build must be one note, got:\n%s"
                                         % (tag, err))
                finally:
                    os.rename(hidden, d)
    # dwz: gcc DWARF 4 and 5, clang DWARF 4 (dwz 0.15 cannot read clang's
    # DWARF 5: "Unknown debugging section .debug_addr")
    builds = [("gcc", "g++", "4"), ("gcc", "g++", "5"), ("clang", "clang++", "4")]
    for mode, opts in (("dwz", []), ("dwz-m", ["-m", "common.debug", "-M", "common.debug"]),
                       ("dwz-m-dwarf5", ["--dwarf-5", "-m", "common.debug", "-M",
                                         "common.debug"])):
        d = os.path.join(work, mode)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        names = []
        for cc, cxx, dw in builds:
            for lang, files in progs:
                n = "%s-dw%s-%s" % (cc, dw, lang)
                run([cxx if lang == "cpp" else cc, "-g", "-gdwarf-" + dw, "-O2"] + inc +
                    [os.path.join(src, f) for f in files] + ["-o", n], cwd=d)
                shutil.copy(os.path.join(d, n), os.path.join(d, n + ".orig"))
                names.append(n)
        # dwz exits 1 when it leaves a file as it was ("not beneficial")
        subprocess.run(["dwz"] + opts + names, cwd=d, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
        linked = 0
        for n in names:
            b = os.path.join(d, n)
            sections = run(["readelf", "-S", "-W", b]).stdout
            if mode != "dwz" and (".gnu_debugaltlink" in sections or ".debug_sup" in sections):
                linked += 1
            if text_bytes(b, work) != text_bytes(b + ".orig", work):
                diffs.append("%s-%s: dwz changed the code" % (mode, n))
                continue
            # eu-addr2line 0.188 reads DW_FORM_strp_sup from the wrong file
            diffs += compare_ext("%s-%s" % (mode, n), args.tmsym, b, b, work,
                                 before=b + ".orig", eu=mode != "dwz-m-dwarf5")
        if mode != "dwz" and linked < len(names) // 2:
            diffs.append("%s: only %d of %d binaries use the supplementary file"
                         % (mode, linked, len(names)))
        if mode != "dwz":
            os.rename(os.path.join(d, "common.debug"), os.path.join(d, "common.hidden"))
            n = "gcc-dw4-c"
            err = notes(args.tmsym, os.path.join(d, n), os.path.join(work, "%s-%s.addr" % (mode, n)))
            os.rename(os.path.join(d, "common.hidden"), os.path.join(d, "common.debug"))
            if err.count("supplementary file common.debug") != 1 or err.count("\n") != 1:
                diffs.append("%s: a missing supplementary file must be one note, got:\n%s"
                             % (mode, err))
    print("split DWARF: addresses with inline frames: " +
          ", ".join("%s %d" % kv for kv in sorted(inl.items())))
    return diffs


if __name__ == "__main__":
    sys.exit(main())
