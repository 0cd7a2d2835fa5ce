#!/usr/bin/env python3
"""CI gates of tmstat / tmdiff against python3's tracemalloc.

For random snapshot pairs, runs tmdiff --fail-on-growth and tmstat
--fail-above (absolute and relative limits, total and --per-group, with and
without --min-growth, limits exactly at and one byte / one step past the
boundary) and checks, against what tracemalloc computes for the same data:
  * the exit status (0 holds, 1 fails);
  * the JSON gate object: passed, measured_bytes, limit_bytes,
    failing_groups and the failing groups' text, in order;
  * the short report on stderr: its first line, and the failing groups
    (largest first) as str(StatisticDiff) / str(Statistic).

    gate_oracle.py --build-dir BUILD [--seed N] [--cases N]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import tracemalloc
from fractions import Fraction

FILES = ["app.c", "lib/alloc.c", "lib/pool.c", "util.h", "main.c"]


def random_trace(rng, depth_max):
    depth = rng.randint(1, depth_max)
    frames = tuple((rng.choice(FILES), rng.randint(1, 6)) for _ in range(depth))
    return (0, rng.choice([16, 24, 100, 1000, 4096, rng.randint(1, 70000)]), frames, depth)


def make_pair(rng):
    old = [random_trace(rng, 3) for _ in range(rng.randint(0, 25))]
    new = []
    for t in old:
        r = rng.random()
        if r < 0.6:
            new.append(t)
        elif r < 0.8:
            new.append((t[0], t[1] + rng.randint(1, 5000), t[2], t[3]))
    new += [random_trace(rng, 3) for _ in range(rng.randint(0, 10))]
    return old, new


def pct_spec(frac):
    """A percentage spec for the Fraction `frac` (percent), up to 6 decimals, rounded up."""
    scaled = -((-frac * 1000000) // 1)
    whole, part = divmod(scaled, 1000000)
    return (f"{whole}.{part:06d}" if part else f"{whole}") + "%", Fraction(scaled, 1000000)


def size_specs(n):
    """Equivalent spellings of n bytes."""
    out = [str(n), f"{n}B", f"{n} b"]
    for unit, mult in (("KiB", 1024), ("M", 1 << 20), ("k", 1024)):
        if (n * 1000000) % mult == 0:
            q = Fraction(n, mult)
            whole = q.numerator // q.denominator
            part = q - whole
            dec = int(part * 1000000)
            out.append(f"{whole}.{dec:06d}".rstrip("0").rstrip(".") + unit)
    return out


def exceeds(value, base, mode, limit, min_growth):
    if value <= 0 or value <= min_growth:
        return False
    if mode == "absolute":
        return value > limit
    return Fraction(value) * 100 > base * limit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=60)
    a = ap.parse_args()
    tmstat = os.path.join(a.build_dir, "tools", "tmstat")
    tmdiff = os.path.join(a.build_dir, "tools", "tmdiff")
    rng = random.Random(a.seed)
    tmp = tempfile.mkdtemp(prefix="tm-gate-oracle-")
    fails = 0
    runs = 0
    outcomes = {0: 0, 1: 0}

    def fail(msg):
        nonlocal fails
        fails += 1
        if fails <= 20:
            print(f"FAIL (seed {a.seed}) {msg}")

    for case in range(a.cases):
        old_t, new_t = make_pair(rng)
        oldp, newp = f"{tmp}/old{case}.dump", f"{tmp}/new{case}.dump"
        old = tracemalloc.Snapshot(old_t, 3)
        new = tracemalloc.Snapshot(new_t, 3)
        old.dump(oldp)
        new.dump(newp)
        key = rng.choice(["lineno", "filename", "traceback"])
        cum = key != "traceback" and rng.random() < 0.3
        old_total = sum(t[1] for t in old_t)
        new_total = sum(t[1] for t in new_t)
        diffs = new.compare_to(old, key, cum)
        stats = new.statistics(key, cum)

        for diff in (True, False):
            per_group = rng.random() < 0.5
            mode = "relative" if diff and rng.random() < 0.5 else "absolute"
            min_growth = rng.choice([0, 0, 0, rng.randint(1, 3000)]) if diff else 0
            if per_group:
                if diff:
                    values = [(d.size_diff, d.size - d.size_diff, d) for d in diffs]
                else:
                    values = [(s.size, 0, s) for s in stats]
            else:
                values = [((new_total - old_total) if diff else new_total, old_total, None)]
            # a limit at a boundary: one of the measured values exactly, or just under it
            pos = [v for v in values if v[0] > 0]
            if not pos:
                pick = (rng.randint(0, 1000), 1, None)
            elif rng.random() < 0.5:
                pick = max(pos, key=lambda v: v[0])   # the largest: at the boundary of passing
            else:
                pick = rng.choice(pos)
            nudge = rng.choice([0, 1])
            if mode == "absolute":
                limit = max(0, pick[0] - nudge)
                spec = rng.choice(size_specs(limit))
            else:
                if pick[1] > 0:
                    spec, limit = pct_spec(Fraction(pick[0] * 100, pick[1]) - nudge * Fraction(1, 1000000))
                    if limit < 0:
                        spec, limit = "0%", Fraction(0)
                else:
                    spec, limit = pct_spec(Fraction(rng.randint(0, 50000), 100))
            failing = [v for v in values if exceeds(v[0], v[1], mode, limit, min_growth)]
            passed = not failing
            exe = tmdiff if diff else tmstat
            files = [oldp, newp] if diff else [newp]
            opt = "--fail-on-growth" if diff else "--fail-above"
            cmd = [exe, *files, "--by", key, opt, spec, "--top", "0"]
            if cum:
                cmd.append("--cumulative")
            if per_group:
                cmd.append("--per-group")
            if min_growth:
                cmd += ["--min-growth", str(min_growth)]
            desc = " ".join(os.path.basename(c) for c in cmd)
            for fmt in ("json", "text"):
                p = subprocess.run(cmd + ["--format", fmt], capture_output=True, text=True)
                runs += 1
                want = 0 if passed else 1
                if p.returncode != want:
                    fail(f"{desc} --format {fmt}: exit {p.returncode}, want {want}\n{p.stderr}")
                    continue
                outcomes[want] += 1
                err = p.stderr.splitlines()
                prog = "tmdiff" if diff else "tmstat"
                head = f"{prog}: gate {'passed' if passed else 'failed'}: "
                if not err or not err[0].startswith(head):
                    fail(f"{desc}: stderr starts {err[:1]}, want {head!r}")
                    continue
                if per_group and not passed:
                    listed = [line[2:] for line in err[1:] if not line.startswith("  ... and")]
                    expect = [str(v[2]) for v in failing[:10]]
                    if listed != expect:
                        fail(f"{desc}: stderr lists {listed}, want {expect}")
                    if len(failing) > 10 and err[-1] != f"  ... and {len(failing) - 10} more":
                        fail(f"{desc}: stderr does not end with the count of the others: {err[-1]}")
                elif not passed and diff:
                    growing = [str(d) for d in diffs if d.size_diff > 0][:5]
                    if err[2:] != ["  " + g for g in growing]:
                        fail(f"{desc}: context lines {err[2:]}, want {growing}")
                if not per_group and diff and not passed:
                    if f"grew by {new_total - old_total} bytes" not in err[0]:
                        fail(f"{desc}: {err[0]!r} does not give the growth in bytes")
                if fmt != "json":
                    continue
                g = json.loads(p.stdout)["gate"]
                exp_measured = max((v[0] for v in values), default=0)
                checks = {
                    "passed": passed,
                    "scope": "per_group" if per_group else "total",
                    "mode": mode,
                    "spec": spec,
                    "min_growth": min_growth,
                    "measured_bytes": exp_measured,
                    "failing_groups": len(failing) if per_group else 0,
                }
                if mode == "absolute":
                    checks["limit_bytes"] = limit
                elif not per_group:
                    checks["limit_bytes"] = int(Fraction(old_total) * limit / 100)
                for k, v in checks.items():
                    if g[k] != v:
                        fail(f"{desc}: gate.{k} = {g[k]!r}, want {v!r}")
                if per_group:
                    texts = [f["text"] for f in g["failing"]]
                    if texts != [str(v[2]) for v in failing]:
                        fail(f"{desc}: gate.failing {texts}, want {[str(v[2]) for v in failing]}")
    print(f"gate oracle (seed {a.seed}): {a.cases} snapshot pairs, {runs} runs "
          f"({outcomes[0]} held, {outcomes[1]} failed as tracemalloc says), {fails} failure(s)")
    if fails == 0:
        subprocess.run(["rm", "-rf", tmp])
    else:
        print(f"files kept in {tmp}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
