#!/bin/bash
# The JSON output of tmstat and tmdiff (--format json) against its schema,
# doc/report-schema.json: every key, cumulative, diffs, every gate (passing
# and failing), empty snapshots, odd names, Python dumps and .tms files.
# Validation uses the `jsonschema` package (installed here from Debian's
# python3-jsonschema when no python3 has it) and, always, the bundled subset
# validator in gate_validate.py; both must agree.  Mutated documents must be
# rejected, so the check can fail.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
here=$(cd "$(dirname "$0")" && pwd)
src=$TM_SOURCE_DIR
build=$TM_BUILD_DIR
schema=$src/doc/report-schema.json
tmstat=$build/tools/tmstat
tmdiff=$build/tools/tmdiff
tmp=$TM_WORK

# --- a python3 that has jsonschema ------------------------------------------
py=
for cand in python3 /usr/bin/python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import jsonschema' 2>/dev/null; then py=$cand; break; fi
done
if [ -z "$py" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing python3-jsonschema (Debian) for the schema check"
    export DEBIAN_FRONTEND=noninteractive
    timeout 300 apt-get install -y -q python3-jsonschema >"$tmp/apt.log" 2>&1 ||
        { timeout 300 apt-get update -q >>"$tmp/apt.log" 2>&1 &&
          timeout 300 apt-get install -y -q python3-jsonschema >>"$tmp/apt.log" 2>&1; } ||
        { echo "note: apt-get install python3-jsonschema failed:"; tail -3 "$tmp/apt.log"; }
    /usr/bin/python3 -c 'import jsonschema' 2>/dev/null && py=/usr/bin/python3
fi
if [ -z "$py" ]; then
    echo "NOTE: no python3 with jsonschema could be found or installed: the bundled subset" \
         "validator (tests/cli/gate_validate.py) checks the schema alone"
    py=python3
fi
echo "validating with $py ($("$py" -c 'import jsonschema, importlib.metadata as m; print("jsonschema", m.version("jsonschema"))' 2>/dev/null || echo "no jsonschema"))"

# --- inputs -------------------------------------------------------------------
python3 - "$tmp" <<'PY'
import sys, tracemalloc as t
d = sys.argv[1]
f = lambda n, l: (n, l)
old = t.Snapshot([
    (0, 100, (f("a.c", 1), f("main.c", 9)), 2),
    (0, 2000, (f("b.c", 2), f("a.c", 1), f("main.c", 9)), 3),
    (1, 50, (f("c.c", 3),), 1),
    (0, 70, (f("gone.c", 4),), 1),
], 3)
new = t.Snapshot([
    (0, 100, (f("a.c", 1), f("main.c", 9)), 2),
    (0, 2500, (f("b.c", 2), f("a.c", 1), f("main.c", 9)), 3),
    (0, 300, (f("b.c", 2), f("a.c", 1), f("main.c", 9)), 3),
    (1, 10, (f("c.c", 3),), 1),
    (0, 4096, (f("new.c", 5), f("main.c", 9)), 2),
    (0, 8, (f("<unknown>", 0),), 1),
], 3)
old.dump(d + "/old.dump"); new.dump(d + "/new.dump")
t.Snapshot([], 1).dump(d + "/empty.dump")
odd = 'we,ird "name"\tü\x01.c'
t.Snapshot([(0, 10, ((odd, 7), ("plain.c", 1)), 2)], 5).dump(d + "/odd.dump")
PY
"$build/tools/tmconv" "$tmp/new.dump" "$tmp/new.tms" --to tms && pass || fail "tmconv"
"$build/tools/tmconv" "$tmp/empty.dump" "$tmp/empty.tms" --to tms && pass || fail "tmconv"
pairs=("$tmp/old.dump $tmp/new.dump" "$tmp/old.dump $tmp/new.tms" "$tmp/empty.dump $tmp/empty.tms"
       "$tmp/empty.dump $tmp/new.dump" "$tmp/new.dump $tmp/empty.dump" "$tmp/odd.dump $tmp/new.dump")
singles=("$tmp/new.dump" "$tmp/new.tms" "$tmp/empty.tms" "$tmp/odd.dump")
if [ "${TM_SANITIZE:-0}" != 1 ] && [ -x "$build/recorder/tmrun" ] && [ -x "$build/samples/demo" ]; then
    # symbolized once, so that the many runs below do not each symbolize it
    (cd "$tmp" && "$build/recorder/tmrun" -o "$tmp/demo.raw.tms" -- "$build/samples/demo" >/dev/null &&
        "$build/tools/tmsym" -q "$tmp/demo.raw.tms" -o "$tmp/demo.tms") && pass ||
        fail "tmrun / tmsym demo"
    pairs+=("$tmp/new.dump $tmp/demo.tms")
    singles+=("$tmp/demo.tms")
else
    echo "note: no recorded snapshot in this run (TM_SANITIZE=1 or tmrun/demo not built):" \
         "Python dumps and converted .tms files only"
fi

# --- outputs --------------------------------------------------------------------
n=0
run() {   # run COMMAND... ; output -> $tmp/out/N.json, status -> N.rc
    n=$((n + 1))
    "$@" --format json >"$tmp/out/$n.json" 2>"$tmp/out/$n.err"
    local rc=$?
    echo "$rc" >"$tmp/out/$n.rc"
    echo "$*" >"$tmp/out/$n.cmd"
    if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
        fail "exit $rc: $*"; cat "$tmp/out/$n.err"
    else
        pass
    fi
}
mkdir "$tmp/out"
keys=(lineno filename traceback function module)
for key in "${keys[@]}"; do
    cums=("" --cumulative); [ "$key" = traceback ] && cums=("")
    for cum in "${cums[@]}"; do
        for s in "${singles[@]}"; do
            run "$tmstat" "$s" --by "$key" $cum --top 0
            run "$tmstat" "$s" --by "$key" $cum --fail-above 1K
            run "$tmstat" "$s" --by "$key" $cum --fail-above 100 --per-group --top 2
        done
        for p in "${pairs[@]}"; do
            run "$tmdiff" $p --by "$key" $cum --top 0
            run "$tmdiff" $p --by "$key" $cum --fail-on-growth 1KiB
            run "$tmdiff" $p --by "$key" $cum --fail-on-growth 10%
            run "$tmdiff" $p --by "$key" $cum --fail-on-growth 0 --per-group --top 0
            run "$tmdiff" $p --by "$key" $cum --fail-on-growth 10% --per-group --min-growth 64
            run "$tmdiff" $p --by "$key" $cum --fail-on-growth 1G --per-group --top 1
        done
    done
done
run "$tmstat" "$tmp/new.dump" --exclude 'b.c' --domain 0 --top 1 --fail-above 1.5KiB
run "$tmdiff" "$tmp/old.dump" "$tmp/new.dump" --include '*.c' --all-frames --fail-on-growth 0.5%
run "$tmdiff" "$tmp/old.dump" "$tmp/new.dump" --domain 7 --fail-on-growth 0% --per-group

held=$(grep -lx 0 "$tmp"/out/*.rc | wc -l); tripped=$(grep -lx 1 "$tmp"/out/*.rc | wc -l)
echo "$n JSON reports ($held exit 0, $tripped exit 1)"
[ "$held" -gt 20 ] && [ "$tripped" -gt 20 ] && pass || fail "too few passing or failing gates"

check "every JSON report matches the schema" "$py" "$here/gate_validate.py" "$schema" "$tmp"/out/*.json

# consistency the schema cannot express: exit status and gate.passed, and
# the numbers that must add up
check "exit status, gate and totals agree in every report" "$py" - "$tmp/out" <<'PY'
import glob, json, os, sys
bad = 0
for path in sorted(glob.glob(sys.argv[1] + "/*.json")):
    base = path[:-5]
    d = json.load(open(path, encoding="utf-8"))
    rc = int(open(base + ".rc").read())
    cmd = open(base + ".cmd").read().strip()
    err = open(base + ".err").read()
    g = d.get("gate")
    problems = []
    if ("--fail-" in cmd) != (g is not None):
        problems.append("gate object present iff a gate option was given")
    if g is not None:
        if rc != (0 if g["passed"] else 1):
            problems.append(f"exit {rc} but passed={g['passed']}")
        want = f"{d['tool']}: gate {'passed' if g['passed'] else 'failed'}: "
        if not err.startswith(want):
            problems.append(f"stderr does not start with {want!r}: {err[:80]!r}")
        if g["scope"] == "total" and g["option"] == "--fail-on-growth" and \
                g["measured_bytes"] != d["total_size"] - d["old_total_size"]:
            problems.append("measured_bytes is not the growth of the total")
        if g["scope"] == "total" and g["option"] == "--fail-above" and g["measured_bytes"] != d["total_size"]:
            problems.append("measured_bytes is not the total size")
    elif rc != 0:
        problems.append(f"exit {rc} without a gate")
    if len(d["statistics"]) > d["groups"]:
        problems.append("more statistics than groups")
    if "--cumulative" not in cmd:
        sizes = sum(s["size"] for s in d["statistics"])
        if "--top 0" in cmd and sizes != d["total_size"]:
            problems.append(f"statistics add up to {sizes}, total_size is {d['total_size']}")
    for p in problems:
        print(f"FAIL {os.path.basename(path)} ({cmd}): {p}")
        bad += 1
sys.exit(1 if bad else 0)
PY

# --- the schema must reject what is wrong ---------------------------------------
mkdir "$tmp/bad"
check "mutated documents written" "$py" - "$tmp/out" "$tmp/bad" <<'PY'
import glob, json, sys
src, dst = sys.argv[1], sys.argv[2]
docs = [json.load(open(p, encoding="utf-8")) for p in sorted(glob.glob(src + "/*.json"))]
stat = next(d for d in docs if d["tool"] == "tmstat" and d["statistics"] and "gate" not in d)
diff = next(d for d in docs if d["tool"] == "tmdiff" and d["statistics"] and "gate" not in d)
gfail = next(d for d in docs if d.get("gate", {}).get("scope") == "per_group" and not d["gate"]["passed"]
             and d["tool"] == "tmdiff")
grel = next(d for d in docs if d.get("gate", {}).get("mode") == "relative" and d["gate"]["scope"] == "total")
mutations = {
    "no-tool": (stat, lambda d: d.pop("tool")),
    "bad-tool": (stat, lambda d: d.update(tool="tmfoo")),
    "bad-key": (stat, lambda d: d.update(key="line")),
    "extra-member": (stat, lambda d: d.update(extra=1)),
    "stat-with-old-total": (stat, lambda d: d.update(old_total_size=1)),
    "diff-without-old-total": (diff, lambda d: d.pop("old_total_count")),
    "negative-size": (stat, lambda d: d["statistics"][0].update(size=-1)),
    "string-count": (stat, lambda d: d["statistics"][0].update(count="3")),
    "bool-cumulative-as-int": (stat, lambda d: d.update(cumulative=0)),
    "empty-traceback": (stat, lambda d: d["statistics"][0].update(traceback=[])),
    "frame-extra": (stat, lambda d: d["statistics"][0]["traceback"][0].update(col=1)),
    "lineno-float": (stat, lambda d: d["statistics"][0]["traceback"][0].update(lineno=1.5)),
    "no-average": (stat, lambda d: d["statistics"][0].pop("average")),
    "diff-no-size-diff": (diff, lambda d: d["statistics"][0].pop("size_diff")),
    "stat-size-diff": (stat, lambda d: d["statistics"][0].update(size_diff=0)),
    "gate-no-passed": (gfail, lambda d: d["gate"].pop("passed")),
    "gate-bad-scope": (gfail, lambda d: d["gate"].update(scope="each")),
    "gate-failed-no-groups": (gfail, lambda d: d["gate"].update(failing_groups=0)),
    "gate-wrong-option": (gfail, lambda d: d["gate"].update(option="--fail-above")),
    "gate-relative-no-percent": (grel, lambda d: d["gate"].update(limit_percent=None)),
    "gate-total-failing-list": (grel, lambda d: d["gate"].update(failing=d["statistics"][:1])),
    "gate-stat-relative": (next(d for d in docs if d.get("gate", {}).get("option") == "--fail-above"),
                           lambda d: d["gate"].update(mode="relative", limit_percent=5)),
}
for name, (doc, mutate) in mutations.items():
    d = json.loads(json.dumps(doc))
    mutate(d)
    json.dump(d, open(f"{dst}/{name}.json", "w"))
print(f"{len(mutations)} mutated documents written")
PY
"$py" "$here/gate_validate.py" --expect-invalid "$schema" "$tmp"/bad/*.json >"$tmp/bad.log" &&
    pass "the schema rejects every mutated document" || {
    cat "$tmp/bad.log"; fail "the schema rejects every mutated document"; }
tail -1 "$tmp/bad.log"

finish
