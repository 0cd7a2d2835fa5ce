"""Frames of a symbolized snapshot against llvm-symbolizer --inlining.

    symbolize_compare.py TMINFO_TRACES_OUTPUT MODULE=UNSTRIPPED_BINARY...

Reads `tminfo --traces` output, takes every frame of the named modules
(base names) with its inline chain, and compares the chain with what
llvm-symbolizer --inlining --functions=linkage prints for offset - 1 in the
unstripped binary.  Prints one line per difference and a summary; exit 1 on
any difference or when no frame of a module was found.
"""
import re
import subprocess
import sys

FRAME = re.compile(r"^\s+(#\d+|inlined into) (?:(.*?) \((.*):(\d+)\)|(.*):(\d+)|(\S+))?\s*"
                   r"\[([^\]]+)\+0x([0-9a-f]+)\]$")


def chains(path, modules):
    """{(module, offset): [(function, file, line), ...]} innermost first."""
    out, cur = {}, None
    for line in open(path, encoding="utf-8", errors="replace"):
        m = FRAME.match(line.rstrip("\n"))
        if not m:
            cur = None
            continue
        kind, fn, file, ln, file2, ln2, fn_only, mod, off = m.groups()
        if mod not in modules:
            cur = None
            continue
        frame = (fn or fn_only or "??", file or file2 or "??", int(ln or ln2 or 0))
        key = (mod, int(off, 16))
        if kind.startswith("#"):
            cur = key
            if key in out:
                cur = None  # the same frame again: already have its chain
                continue
            out[key] = [frame]
        elif cur == key:
            out[key].append(frame)
    return out


def llvm(binary, offsets):
    text = subprocess.run(["llvm-symbolizer", "--obj=" + binary, "--inlining",
                           "--functions=linkage", "--demangle"],
                          input="".join("0x%x\n" % (o - 1) for o in offsets),
                          capture_output=True, text=True, check=True).stdout
    res = []
    for blk in text.split("\n\n"):
        lines = [l for l in blk.split("\n") if l]
        if not lines:
            continue
        fr = []
        for fn, loc in zip(lines[0::2], lines[1::2]):
            loc = re.sub(r":(\d+):\d+$", r":\1", loc)
            file, _, ln = loc.rpartition(":")
            fr.append((fn, file, int(ln)))
        res.append(fr)
    return res


def main():
    modules = dict(a.split("=", 1) for a in sys.argv[2:])
    got = chains(sys.argv[1], modules)
    bad = 0
    for mod, binary in modules.items():
        keys = sorted(k for k in got if k[0] == mod)
        if not keys:
            print("%s: no frame in the snapshot" % mod)
            bad += 1
            continue
        ref = llvm(binary, [k[1] for k in keys])
        lines = 0
        for k, want in zip(keys, ref):
            lines += any(f[2] for f in got[k])
            if got[k] != want:
                print("%s+0x%x:\n  tmkit: %s\n  llvm:  %s" % (mod, k[1], got[k], want))
                bad += 1
        if not lines:
            print("%s: no frame has a line" % mod)
            bad += 1
        print("%s: %d frames compared, %d with lines" % (mod, len(keys), lines))
    sys.exit(1 if bad else 0)


main()
