#!/usr/bin/env python3
"""Differential test: tmstat/tmdiff against python3's own tracemalloc.

Builds random tracemalloc.Snapshot objects from tuples (domain, size,
frames, total_nframe), dumps them with Snapshot.dump(), asks Python for the
expected str(stat) / Traceback.format() lines, runs tmstat / tmdiff on the
dump files and compares the bytes.

usage: analysis_oracle.py --build-dir DIR [--seed N] [--cases N] [--keep]
Exit 0 when every case matches; 1 with the case, command and a diff
printed for the first mismatches.
"""
import argparse
import difflib
import os
import random
import re
import shlex
import subprocess
import sys
import tempfile
import time
import tracemalloc
from tracemalloc import DomainFilter, Filter, Snapshot

KEYS = ["lineno", "filename", "traceback"]

PLAIN_NAMES = [
    "app/main.c", "app/alloc.c", "lib/util.c", "a.py", "b.py", "x.pyc", "x.py",
    "<unknown>", "<frozen importlib._bootstrap>", "a[b]*?.c", "[!x].c", "a-z.c",
    "ünï/cödé.py", "日本/語.c", "sp ace/f ile.c", "A.PY", "zz", "aa", "a", "a.p",
    "dir/sub/deep.c", "b]c.c", "c^d.c", "e&&f|~g.c", "back\\slash.c", "",
]


def make_sources(tmp):
    """Real files so that Traceback.format() prints source lines."""
    files = []
    p = os.path.join(tmp, "src_plain.py")
    with open(p, "w", encoding="utf-8") as f:
        f.write("def f():\n    x = [1] * 100   \n\n\t\ty = 'ünï'\t\n  \u3000z = 1\u3000\n")
    files.append(p)
    p = os.path.join(tmp, "src_crlf.c")
    with open(p, "wb") as f:
        f.write(b"int a;\r\n  int b;\r\rint c; \rlast line no newline")
    files.append(p)
    p = os.path.join(tmp, "src_latin1.c")
    with open(p, "wb") as f:
        f.write(b"int caf\xe9;\nint b;\n")
    files.append(p)
    p = os.path.join(tmp, "src_bom.py")
    with open(p, "wb") as f:
        f.write(b"\xef\xbb\xbfline_one = 1\n  line_two\x0c\n\n")
    files.append(p)
    # a relative name, found from the working directory by both
    with open(os.path.join(tmp, "rel_src.c"), "w") as f:
        f.write("rel 1\n   rel 2   \n")
    files.append("rel_src.c")
    return files


class Gen:
    def __init__(self, rng, sources):
        self.rng = rng
        self.names = PLAIN_NAMES + sources

    def frame(self, pool):
        return self.rng.choice(pool)

    def frame_pool(self):
        r = self.rng
        n = r.choice([1, 2, 3, 5, 8, 20])
        names = r.sample(self.names, min(len(self.names), r.choice([1, 2, 4, 8, 16])))
        lines = [0, 1, 2, 3, 4, 5, 7, 100, 65535]
        return [(r.choice(names), r.choice(lines)) for _ in range(n)]

    narrow = False

    def size(self):
        r = self.rng
        if self.narrow:      # many ties in size and count
            return r.choice([0, 8, 16])
        return r.choice([0, 1, 7, 8, 16, 16, 64, 100, 1000, 1023, 1024, 1536, 10239,
                         10240, 10241, 102400, 1048575, 1048576, 5 * 2**20 + 1,
                         3 * 2**30, 2**40 + 5, 7 * 2**40, r.randrange(1, 5000),
                         r.randrange(1, 2**24)])

    def traces(self, pool, n, nframe_max):
        r = self.rng
        out = []
        stacks = []
        for _ in range(n):
            x = r.random()
            if stacks and x < 0.45:
                frames = r.choice(stacks)
            elif stacks and x < 0.7:
                # a longer stack whose oldest frames are an existing one:
                # tracebacks that are prefixes of each other
                base = r.choice(stacks)
                extra = tuple(self.frame(pool) for _ in range(r.choice([1, 1, 2])))
                frames = (extra + base)[:max(1, nframe_max)]
                stacks.append(frames)
            else:
                depth = r.choice([1, 1, 2, 3, 5, min(nframe_max, 40)])
                depth = max(1, min(depth, nframe_max))
                frames = tuple(self.frame(pool) for _ in range(depth))
                stacks.append(frames)
            domain = r.choice([0, 0, 0, 1, 2, 7])
            total = len(frames) + r.choice([0, 0, 1, 100])
            out.append((domain, self.size(), frames, total))
        return out

    def snapshot(self):
        r = self.rng
        pool = self.frame_pool()
        limit = r.choice([1, 5, 40, 100])
        self.narrow = r.random() < 0.4
        n = r.choice([0, 1, 2, 5, 20, 20, 60, 60, 200])
        return Snapshot(self.traces(pool, n, limit), limit), pool, limit

    def mutate(self, snap, pool, limit):
        """A newer snapshot: some traces freed, some grown, some new."""
        r = self.rng
        out = []
        for t in snap.traces._traces:
            x = r.random()
            if x < 0.2:
                continue
            if x < 0.35:
                t = (t[0], self.size(), t[2], t[3])
            out.append(t)
        out += self.traces(pool + self.frame_pool(), r.choice([0, 1, 5, 30]), limit)
        r.shuffle(out)
        return Snapshot(out, limit)

    def pattern(self, pool):
        r = self.rng
        name = r.choice([f for f, _ in pool] + self.names)
        chars = list(name)
        kind = r.random()
        if kind < 0.2:
            return name
        if kind < 0.3:
            return "*"
        for _ in range(r.choice([1, 2, 3])):
            if not chars:
                break
            i = r.randrange(len(chars))
            op = r.random()
            if op < 0.3:
                chars[i] = "?"
            elif op < 0.55:
                chars[i:i + r.choice([1, 3])] = ["*"]
            elif op < 0.75:
                c = chars[i][-1] if chars[i] else "a"
                lo = chr(max(32, ord(c) - r.choice([0, 1, 5])))
                hi = chr(ord(c) + r.choice([0, 2]))
                neg = r.choice(["", "", "!"])
                body = r.choice([c + "x", f"{lo}-{hi}", f"{hi}-{lo}", f"a{hi}-{lo}z",
                                 f"-{c}", f"{c}-", f"]{c}", f"{lo}-{hi}-z"])
                chars[i] = "[" + neg + body + "]"
            elif op < 0.85:
                chars.insert(i, "[")
            else:
                chars[i] = r.choice(["[!a-z]", "[z-a]", "[!z-a]", "[]]", "[!]]"])
        pat = "".join(chars)
        if r.random() < 0.1:
            pat += ".pyc" if not pat.endswith(".py") else "c"
        return pat


def python_filters(rng, gen, pool, spec):
    """Random filters as (python objects, command-line arguments)."""
    filters, args = [], []
    all_frames = rng.random() < 0.3
    fdomain = rng.choice([None, None, None, 0, 1])
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
        inclusive = rng.random() < 0.5
        for _attempt in range(10):
            pat = gen.pattern(pool)
            if re.search(r":[0-9]+$", pat) or pat.startswith(":") or not pat:
                continue
            try:
                tracemalloc.fnmatch.translate(pat)
                re.compile(tracemalloc.fnmatch.translate(pat))
            except Exception:
                continue
            break
        else:
            continue
        lineno = rng.choice([None, None, None, rng.choice([f[1] for f in pool])])
        filters.append(Filter(inclusive, pat, lineno, all_frames, fdomain))
        spec_text = pat if lineno is None else f"{pat}:{lineno}"
        args += ["--include" if inclusive else "--exclude", spec_text]
    if filters and all_frames:
        args.append("--all-frames")
    if filters and fdomain is not None:
        args += ["--filter-domain", str(fdomain)]
    for _ in range(rng.choice([0, 0, 0, 1, 2])):
        inclusive = rng.random() < 0.5
        d = rng.choice([0, 1, 2, 7])
        filters.append(DomainFilter(inclusive, d))
        args += ["--domain" if inclusive else "--exclude-domain", str(d)]
    return filters, args


def expected_lines(stats, key, limit, has_limit, mrf, native_key=None):
    lines = []
    for s in stats:
        text = str(s)
        if native_key:
            # --by function / module on a Python snapshot groups like
            # 'filename' and prints the name without ":0"
            name = s.traceback[0].filename
            assert text.startswith(name + ":0: ")
            text = name + text[len(name) + 2:]
        lines.append(text)
        if key == "traceback":
            lines += s.traceback.format(limit=limit if has_limit else None,
                                        most_recent_first=mrf)
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--cases", type=int, default=400)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int(os.environ.get("TM_DIFF_SEED", "20261125"))
    print(f"analysis differential: seed {seed} ({a.cases} cases); "
          f"replay with --seed {seed}", flush=True)
    rng = random.Random(seed)
    tmstat = os.path.join(a.build_dir, "tools", "tmstat")
    tmdiff = os.path.join(a.build_dir, "tools", "tmdiff")
    tmconv = os.path.join(a.build_dir, "tools", "tmconv")
    if not os.access(tmconv, os.X_OK):
        print("note: no tmconv; the .tms path is not compared")
        tmconv = None
    for t in (tmstat, tmdiff):
        if not os.access(t, os.X_OK):
            print(f"missing {t}")
            return 1
    tmp = tempfile.mkdtemp(prefix="tm-analysis-diff-")
    os.chdir(tmp)      # relative names: linecache and tmstat both look here
    gen = Gen(rng, make_sources(tmp))
    failures = 0
    nonempty = nlines = via_tms = 0
    counts = {}
    t0 = time.time()
    for case in range(a.cases):
        snap, pool, limit = gen.snapshot()
        is_diff = rng.random() < 0.35
        key = rng.choice(KEYS)
        native_key = None
        if key == "filename" and rng.random() < 0.25:
            native_key = rng.choice(["function", "module"])
        cumulative = key != "traceback" and rng.random() < 0.4
        filters, fargs = python_filters(rng, gen, pool, None)
        top = rng.choice([0, 0, 1, 3, 10, None])
        has_limit = key == "traceback" and rng.random() < 0.5
        tlimit = rng.choice([-3, -1, 0, 1, 2, 5, 100]) if has_limit else None
        mrf = key == "traceback" and rng.random() < 0.3
        old_path = os.path.join(tmp, f"case{case}_old.dump")
        new_path = os.path.join(tmp, f"case{case}_new.dump")
        snap.dump(old_path)
        args = ["--by", native_key or key, "--no-header"]
        if cumulative:
            args.append("--cumulative")
        if top is not None:
            args += ["--top", str(top)]
        if has_limit:
            args.append(f"--limit={tlimit}")
        if mrf:
            args.append("--most-recent-first")
        args += fargs
        if is_diff:
            new = gen.mutate(snap, pool, limit)
            new.dump(new_path)
            old_f = snap.filter_traces(filters)
            new_f = new.filter_traces(filters)
            stats = new_f.compare_to(old_f, key, cumulative)
            cmd = [tmdiff, old_path, new_path] + args
        else:
            stats = snap.filter_traces(filters).statistics(key, cumulative)
            cmd = [tmstat, old_path] + args
        shown = stats[: (10 if top is None else (top or len(stats)))]
        want = "".join(line + "\n" for line in expected_lines(shown, key, tlimit, has_limit, mrf, native_key))
        want_b = want.encode("utf-8", "surrogateescape")
        p = subprocess.run(cmd, capture_output=True)
        if tmconv and case % 4 == 0 and p.returncode == 0 and p.stdout == want_b:
            # the same case read from .tms files made by tmconv
            tms = []
            for src in cmd[1:3 if is_diff else 2]:
                dst = src[:-5] + ".tms"
                c = subprocess.run([tmconv, src, dst, "--to", "tms"], capture_output=True)
                if c.returncode != 0:
                    print(f"tmconv failed on case {case}: {c.stderr.decode(errors='replace')}")
                    failures += 1
                tms.append(dst)
            cmd = [cmd[0]] + tms + cmd[1 + len(tms):]
            p = subprocess.run(cmd, capture_output=True)
            via_tms += 1
        nonempty += bool(want)
        nlines += want.count("\n")
        tag = ("diff " if is_diff else "stat ") + (native_key or key) + (" cumulative" if cumulative else "") + \
              (" filters" if filters else "")
        counts[tag] = counts.get(tag, 0) + 1
        if p.returncode != 0 or p.stdout != want_b:
            failures += 1
            if failures <= 5:
                print(f"--- MISMATCH case {case} (seed {seed}): {tag}")
                print("command: " + " ".join(shlex.quote(c) for c in cmd))
                print(f"exit {p.returncode}; stderr: {p.stderr.decode(errors='replace')}")
                got = p.stdout.decode("utf-8", "replace").splitlines()
                exp = want.splitlines()
                for line in difflib.unified_diff(exp, got, "python3", "tmkit", lineterm=""):
                    print(line)
        elif not a.keep:
            os.unlink(old_path)
            if is_diff:
                os.unlink(new_path)
    dt = time.time() - t0
    for tag in sorted(counts):
        print(f"  {counts[tag]:4d}  {tag}")
    print(f"{a.cases - failures}/{a.cases} cases identical in {dt:.1f}s "
          f"({nonempty} with output, {nlines} expected lines, {via_tms} also via .tms; "
          f"files in {tmp})")
    if failures == 0 and not a.keep:
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
