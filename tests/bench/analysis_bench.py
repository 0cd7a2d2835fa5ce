#!/usr/bin/env python3
"""Benchmark: tmstat / tmdiff against python3's tracemalloc.

Generates one old and one new snapshot of N traces (default 1,000,000) with
realistic sharing (thousands of unique stacks over hundreds of files),
dumps them with Snapshot.dump(), converts them to .tms with tmconv, then
times in one run:
  tmstat --by lineno NEW.tms (whole process)   vs python: load + statistics('lineno')
  tmstat --by lineno --cumulative               vs python: load + statistics(cumulative=True)
  tmdiff OLD.tms NEW.tms                        vs python: load both + compare_to
and compares peak RSS (tmstat vs the python process doing load+statistics)
and file sizes (.tms vs pickle).  Each timing is the best of --repeat runs;
outputs of tmstat/tmdiff are checked against python's lines too.

usage: analysis_bench.py --build-dir DIR [--smoke] [--traces N] [--repeat K]
"""
import argparse
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc

TARGETS = {"lineno": 30.0, "cumulative": 50.0, "diff": 30.0}


def make_snapshots(n, seed):
    r = random.Random(seed)
    files = [f"src/module_{i:03d}/file_{i * 7 % 97:02d}.c" for i in range(300)]
    frames = [(r.choice(files), r.randrange(1, 2000)) for _ in range(4000)]
    stacks = []
    for _ in range(6000):
        depth = r.choice([1, 2, 4, 8, 12, 16, 24, 32])
        stacks.append(tuple(r.choice(frames) for _ in range(depth)))
    sizes = [16, 24, 32, 48, 64, 128, 256, 1024, 4096, 65536]
    wstacks = [r.random() ** 3 for _ in stacks]
    idx = r.choices(range(len(stacks)), weights=wstacks, k=n)
    old = [(r.choice((0, 0, 0, 1)), r.choice(sizes) + r.randrange(0, 16), stacks[i],
            len(stacks[i])) for i in idx]
    new = []
    for t in old:
        x = r.random()
        if x < 0.1:
            continue
        if x < 0.2:
            t = (t[0], t[1] * 2, t[2], t[3])
        new.append(t)
    extra = r.choices(range(len(stacks)), k=n - len(new))
    new += [(0, r.choice(sizes), stacks[i], len(stacks[i])) for i in extra]
    return tracemalloc.Snapshot(old, 32), tracemalloc.Snapshot(new, 32)


PY_STAT = """
import sys, time, tracemalloc
t0 = time.perf_counter()
s = tracemalloc.Snapshot.load(sys.argv[1])
t1 = time.perf_counter()
stats = s.statistics('lineno', cumulative=sys.argv[2] == '1')
dt = time.perf_counter() - t0
an = time.perf_counter() - t1
if sys.argv[3] != '-':
    with open(sys.argv[3], 'w') as f:
        f.write(''.join(str(x) + '\\n' for x in stats[:10]))
print(dt, an)
"""

PY_DIFF = """
import sys, time, tracemalloc
t0 = time.perf_counter()
old = tracemalloc.Snapshot.load(sys.argv[1])
new = tracemalloc.Snapshot.load(sys.argv[2])
t1 = time.perf_counter()
stats = new.compare_to(old, 'lineno')
dt = time.perf_counter() - t0
an = time.perf_counter() - t1
with open(sys.argv[3], 'w') as f:
    f.write(''.join(str(x) + '\\n' for x in stats[:10]))
print(dt, an)
"""


def run_timed(cmd):
    """Wall time and peak RSS (KiB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr.decode(errors='replace')}")
    return dt, p.stdout, p.stderr


def peak_rss_kib(cmd):
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr.decode(errors='replace')}")
    return int(p.stderr.decode().strip().splitlines()[-1])


def analysis_ms(stderr):
    """The statistics time tmstat/tmdiff --timing reports."""
    m = re.search(rb"statistics ([0-9.]+) ms", stderr)
    return float(m.group(1)) if m else float("nan")


def python_times(cmd):
    out = subprocess.run(cmd, capture_output=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def best(k, fn):
    results = [fn() for _ in range(k)]
    return min(results, key=lambda x: x[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--traces", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    n = a.traces or (20000 if a.smoke else 1000000)
    tools = {t: os.path.join(a.build_dir, "tools", t) for t in ("tmstat", "tmdiff", "tmconv")}
    for t in tools.values():
        if not os.access(t, os.X_OK):
            sys.exit(f"missing {t}")
    tmp = tempfile.mkdtemp(prefix="tm-analysis-bench-")
    try:
        t0 = time.perf_counter()
        old, new = make_snapshots(n, a.seed)
        paths = {k: os.path.join(tmp, k) for k in ("old.dump", "new.dump", "old.tms", "new.tms")}
        old.dump(paths["old.dump"])
        new.dump(paths["new.dump"])
        del old, new
        for k in ("old", "new"):
            run_timed([tools["tmconv"], paths[k + ".dump"], paths[k + ".tms"], "--to", "tms"])
        print(f"analysis bench: {n} traces per snapshot, seed {a.seed}, best of {a.repeat} "
              f"(setup {time.perf_counter() - t0:.1f}s)")
        exp = os.path.join(tmp, "expect")
        rows = []
        for name, cum in (("lineno", False), ("cumulative", True), ("diff", False)):
            if name == "diff":
                pycmd = [sys.executable, "-c", PY_DIFF, paths["old.dump"], paths["new.dump"], exp]
                tmcmd = [tools["tmdiff"], paths["old.tms"], paths["new.tms"]]
                tmpk = [tools["tmdiff"], paths["old.dump"], paths["new.dump"]]
                args = ["--no-header", "--timing"]
            else:
                pycmd = [sys.executable, "-c", PY_STAT, paths["new.dump"], "1" if cum else "0", exp]
                tmcmd = [tools["tmstat"], paths["new.tms"]]
                tmpk = [tools["tmstat"], paths["new.dump"]]
                args = ["--by", "lineno", "--no-header", "--timing"] + (["--cumulative"] if cum else [])
            py = best(a.repeat, lambda: python_times(pycmd))
            tm = best(a.repeat, lambda: run_timed(tmcmd + args))
            tm_pickle = best(a.repeat, lambda: run_timed(tmpk + args))
            with open(exp, "rb") as f:
                if f.read() != tm[1] or tm[1] != tm_pickle[1]:
                    sys.exit(f"{name}: tmstat/tmdiff output differs from python's")
            rows.append((name, py[0], tm[0], tm_pickle[0], py[1], analysis_ms(tm[2]) / 1000))
        ok = True
        print(f"{'case':<12}{'python':>10}{'tm (.tms)':>12}{'ratio':>9}{'tm (pickle)':>13}"
              f"{'ratio':>9}  target     | analysis only: python / tm")
        for name, py, tm_t, tm_p, py_an, tm_an in rows:
            ratio = py / tm_t
            hit = ratio >= TARGETS[name]
            ok &= hit
            print(f"{name:<12}{py * 1000:>8.1f}ms{tm_t * 1000:>10.1f}ms{ratio:>8.1f}x"
                  f"{tm_p * 1000:>11.1f}ms{py / tm_p:>8.1f}x  >= {TARGETS[name]:.0f}x "
                  f"{'ok    ' if hit else 'MISSED'} | {py_an * 1000:.1f}ms / {tm_an * 1000:.1f}ms"
                  f" = {py_an / tm_an:.0f}x")
        rss_tm = peak_rss_kib([tools["tmstat"], paths["new.tms"], "--by", "lineno"])
        rss_tm_p = peak_rss_kib([tools["tmstat"], paths["new.dump"], "--by", "lineno"])
        rss_py = peak_rss_kib([sys.executable, "-c", PY_STAT, paths["new.dump"], "0", "-"])
        mem_ratio = rss_tm / rss_py
        ok &= mem_ratio <= 0.25
        print(f"peak RSS    python {rss_py / 1024:.1f} MiB, tmstat .tms {rss_tm / 1024:.1f} MiB "
              f"(ratio {mem_ratio:.3f}, target <= 0.25 {'ok' if mem_ratio <= 0.25 else 'MISSED'}), "
              f"tmstat pickle {rss_tm_p / 1024:.1f} MiB")
        sz_tms = os.path.getsize(paths["new.tms"])
        sz_pk = os.path.getsize(paths["new.dump"])
        size_ratio = sz_tms / sz_pk
        ok &= size_ratio <= 0.125
        print(f"file size   pickle {sz_pk} B ({sz_pk / n:.2f} B/trace), .tms {sz_tms} B "
              f"({sz_tms / n:.2f} B/trace), ratio {size_ratio:.3f} (target <= 0.125 "
              f"{'ok' if size_ratio <= 0.125 else 'MISSED'})")
        if a.smoke:
            print("smoke mode: outputs verified; ratios at this size are not meaningful")
            return 0
        print("all targets met" if ok else "some targets missed")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
