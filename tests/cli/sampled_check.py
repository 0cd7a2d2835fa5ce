#!/usr/bin/env python3
"""Independent checks of tmstat / tmdiff on sampled snapshots (tests/cli/sampled_stats.sh).

The estimates are recomputed here from the kept traces alone, with the
formulas of formats/TMS-FORMAT.md (type 7), not with tmkit's code: a block of
s bytes kept with p = 1 - exp(-s/R) stands for 1/p blocks and s/p bytes;
var(bytes) = sum s^2 (1-p)/p^2, var(count) = sum (1-p)/p^2.  The kept traces
are read from `tminfo --traces` of the same traces written as an exact
snapshot; the text lines are checked against Python's own tracemalloc
formatting (tracemalloc._format_size).

    sampled_check.py stat REPORT.json RATE KEPT.txt [TRUTH.json]
    sampled_check.py diff REPORT.json OLD_RATE OLD_KEPT.txt NEW_RATE NEW_KEPT.txt [same-population]
    sampled_check.py bias TRUTH.json REPORT.json...

RATE 0 means exact (KEPT.txt then holds every trace).  With TRUTH (tmstat
--format json of the whole population, exact), every estimate must lie
within 4 standard errors of the true value; with same-population (both sides
sample one population) every difference must be within 4 standard errors of
0.  bias: over many independent
samples the mean relative error of the total size must be within 4 of its
own standard errors of 0.  Exit 0 when every check holds, else 1 with the
failures on stderr.
"""
import json
import math
import re
import sys
import tracemalloc

failures = []


def fail(msg):
    failures.append(msg)


def kept_traces(path):
    """(lineno of the most recent frame, size) per trace of `tminfo --traces`."""
    out, size = [], None
    for line in open(path, encoding="utf-8"):
        m = re.match(r"trace \d+: domain=\d+ size=(\d+) ", line)
        if m:
            size = int(m.group(1))
            continue
        m = re.match(r"  #0 (\S+):(\d+)$", line)
        if m and size is not None:
            out.append(("%s:%s" % (m.group(1), m.group(2)), size))
            size = None
    return out


def estimates(traces, rate):
    """Per group and in total: [size, count, var size, var count]."""
    groups, total = {}, [0.0, 0.0, 0.0, 0.0]
    for key, s in traces:
        if rate:
            p = -math.expm1(-s / rate) if s else 1.0
            e = [s / p, 1 / p, s * s * (1 - p) / (p * p), (1 - p) / (p * p)]
        else:
            e = [float(s), 1.0, 0.0, 0.0]
        g = groups.setdefault(key, [0.0, 0.0, 0.0, 0.0])
        for i in range(4):
            g[i] += e[i]
            total[i] += e[i]
    return groups, total


def close(a, b, what, rel=1e-9):
    if abs(a - b) > rel * max(1.0, abs(a), abs(b)):
        fail("%s: tmkit %r, expected %r" % (what, a, b))


def same_int(got, want, what):
    # Sums in another order may round the other way at exactly .5: 1 apart.
    if abs(got - round(want)) > 1:
        fail("%s: tmkit %d, expected %.3f" % (what, got, want))


def key_of(stat):
    f = stat["traceback"][0]
    return "%s:%d" % (f["filename"], f["lineno"])


def py_text(key, size, count, diff=None):
    # Python's Statistic.__str__ / StatisticDiff.__str__ (Lib/tracemalloc.py).
    fs = tracemalloc._format_size
    if diff is None:
        text = "%s: size=%s, count=%i" % (key, fs(size, False), count)
    else:
        text = "%s: size=%s (%s), count=%i (%+i)" % (key, fs(size, False), fs(diff[0], True),
                                                     count, diff[1])
    if count:
        text += ", average=%s" % fs(size / count, False)
    return text


def check_truth(report, truth_path, se_of, what):
    truth = {key_of(s): s for s in json.load(open(truth_path))["statistics"]}
    for st in report["statistics"]:
        k = key_of(st)
        t = truth.get(k)
        if t is None:
            fail("%s %s: not in the population" % (what, k))
            continue
        for field in ("size", "count"):
            se = se_of(st, field)
            if abs(st[field] - t[field]) > 4 * se + 1:
                fail("%s %s %s: estimate %d, true %d, more than 4 standard errors (%.1f)" %
                     (what, k, field, st[field], t[field], se))


def check_stat(report_path, rate, kept_path, truth_path=None):
    rep = json.load(open(report_path))
    groups, total = estimates(kept_traces(kept_path), rate)
    if rep["sample_rate"] != rate:
        fail("sample_rate %r, expected %d" % (rep["sample_rate"], rate))
    same_int(rep["total_size"], total[0], "total_size")
    same_int(rep["total_count"], total[1], "total_count")
    close(rep["total_size_stderr"], math.sqrt(total[2]), "total_size_stderr")
    close(rep["total_count_stderr"], math.sqrt(total[3]), "total_count_stderr")
    seen = set()
    for st in rep["statistics"]:
        k = key_of(st)
        seen.add(k)
        g = groups.get(k)
        if g is None:
            fail("group %s: not among the kept traces" % k)
            continue
        same_int(st["size"], g[0], k + " size")
        same_int(st["count"], g[1], k + " count")
        close(st["size_stderr"], math.sqrt(g[2]), k + " size_stderr")
        close(st["count_stderr"], math.sqrt(g[3]), k + " count_stderr")
        want = py_text(k, st["size"], st["count"])
        if st["text"] != want:
            fail("%s text %r, Python prints %r" % (k, st["text"], want))
    if seen != set(groups):
        fail("groups %s, expected %s" % (sorted(seen), sorted(groups)))
    if truth_path:
        check_truth(rep, truth_path, lambda st, f: st[f + "_stderr"], "stat")


def check_diff(report_path, old_rate, old_kept, new_rate, new_kept, same_population):
    rep = json.load(open(report_path))
    og, ot = estimates(kept_traces(old_kept), old_rate)
    ng, nt = estimates(kept_traces(new_kept), new_rate)
    if rep["sample_rate"] != new_rate or rep["old_sample_rate"] != old_rate:
        fail("rates %r/%r, expected %d/%d" % (rep["old_sample_rate"], rep["sample_rate"],
                                              old_rate, new_rate))
    same_int(rep["total_size"], nt[0], "total_size")
    same_int(rep["old_total_size"], ot[0], "old_total_size")
    close(rep["total_size_diff_stderr"], math.sqrt(nt[2] + ot[2]), "total_size_diff_stderr")
    close(rep["total_count_diff_stderr"], math.sqrt(nt[3] + ot[3]), "total_count_diff_stderr")
    close(rep["old_total_size_stderr"], math.sqrt(ot[2]), "old_total_size_stderr")
    zero = [0.0, 0.0, 0.0, 0.0]
    for st in rep["statistics"]:
        k = key_of(st)
        n, o = ng.get(k, zero), og.get(k, zero)
        same_int(st["size"], n[0], k + " size")
        same_int(st["count"], n[1], k + " count")
        # The difference of the two printed (rounded) estimates.
        same_int(st["size_diff"], round(n[0]) - round(o[0]), k + " size_diff")
        same_int(st["count_diff"], round(n[1]) - round(o[1]), k + " count_diff")
        close(st["size_stderr"], math.sqrt(n[2]), k + " size_stderr")
        close(st["size_diff_stderr"], math.sqrt(n[2] + o[2]), k + " size_diff_stderr")
        close(st["count_diff_stderr"], math.sqrt(n[3] + o[3]), k + " count_diff_stderr")
        want = py_text(k, st["size"], st["count"], (st["size_diff"], st["count_diff"]))
        if st["text"] != want:
            fail("%s text %r, Python prints %r" % (k, st["text"], want))
        # Both sides sample one population: the difference is 0 within 4 SE.
        # Not for a group a sampled side kept no block of: its estimate is
        # 0 with an estimated variance of 0 (the sample says nothing about
        # blocks it missed), so no standard error can cover it.
        missed = (new_rate and k not in ng) or (old_rate and k not in og)
        if same_population and not missed:
            for f in ("size", "count"):
                se = st[f + "_diff_stderr"]
                if abs(st[f + "_diff"]) > 4 * se + 1:
                    fail("%s %s_diff %d: more than 4 standard errors (%.1f) from 0" %
                         (k, f, st[f + "_diff"], se))


def check_bias(truth_path, reports):
    true_total = json.load(open(truth_path))["total_size"]
    rel = [(json.load(open(r))["total_size"] - true_total) / true_total for r in reports]
    n = len(rel)
    mean = sum(rel) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in rel) / (n - 1))
    se = sd / math.sqrt(n)
    print("bias: %d samples, mean relative error of the total %+.4f, standard error %.4f" %
          (n, mean, se))
    if abs(mean) > 4 * se:
        fail("mean relative error %+.4f is more than 4 standard errors (%.4f) from 0" %
             (mean, se))


def main(argv):
    mode = argv[1]
    if mode == "stat":
        check_stat(argv[2], int(argv[3]), argv[4], argv[5] if len(argv) > 5 else None)
    elif mode == "diff":
        check_diff(argv[2], int(argv[3]), argv[4], int(argv[5]), argv[6],
                   len(argv) > 7 and argv[7] == "same-population")
    elif mode == "bias":
        check_bias(argv[2], argv[3:])
    else:
        sys.exit("unknown mode " + mode)
    for f in failures:
        print("FAIL: " + f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
