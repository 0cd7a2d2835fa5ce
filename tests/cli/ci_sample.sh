#!/bin/bash
# samples/ci end to end: run-memory-check.sh records the bundled workload
# with tmrun, writes a symbolized memory.tms, compares it with a baseline
# and gates on growth:
#   baseline run (no baseline given)           -> exit 0, snapshot written
#   the same run against that baseline         -> exit 0, "passed"
#   a run that allocates 256 KiB more          -> exit 1, report names the line
#   a per-group regression below the total gate -> exit 1 (per-group gate)
#   a missing baseline                          -> exit 2 with a message,
#                                                  0 with --allow-missing-baseline
#   a failing test program, a bad threshold     -> exit 2
# JSON reports are checked against doc/report-schema.json, and the GitHub
# Actions workflow is checked for structure and shell syntax.
# Under TM_SANITIZE=1 tmrun's LD_PRELOAD cannot work (ASan owns malloc): the
# recording steps are skipped with a message, the gate steps still run on
# snapshots made here (--snapshot).
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
here=$(cd "$(dirname "$0")" && pwd)
src=$TM_SOURCE_DIR
build=$TM_BUILD_DIR
script=$src/samples/ci/run-memory-check.sh
workflow=$src/samples/ci/github-actions.yml
schema=$src/doc/report-schema.json
tmp=$TM_WORK
export PATH=$build/tools:$build/recorder:$PATH
unset MEMORY_BASELINE MEMORY_OUTPUT MEMORY_THRESHOLD MEMORY_MIN_GROWTH MEMORY_PER_GROUP \
      MEMORY_ALLOW_MISSING_BASELINE WORKLOAD_EXTRA_KIB TMKIT_PREFIX
step() {   # step NAME EXPECTED_STATUS COMMAND...  (in $tmp/run, output in $tmp/NAME.log)
    local name=$1 want=$2
    shift 2
    (cd "$tmp/run" && "$@") >"$tmp/$name.log" 2>&1
    local got=$?
    if [ "$got" != "$want" ]; then
        fail "$name: exit $got, want $want"; sed 's/^/    /' "$tmp/$name.log"
    else
        pass "$name (exit $got)"
    fi
}
expect_in() {   # expect_in NAME TEXT
    grep -qF -- "$2" "$tmp/$1.log" && pass || {
        fail "$1: '$2' not in its output:"; sed 's/^/    /' "$tmp/$1.log"; }
}
expect_not_in() {
    ! grep -qF -- "$2" "$tmp/$1.log" && pass || fail "$1: '$2' should not be in its output"
}
validate() {   # validate JSON...
    python3 "$here/gate_validate.py" "$schema" "$@" >"$tmp/validate.log" 2>&1 && pass ||
        { fail "JSON report does not match the schema:"; cat "$tmp/validate.log"; }
}
mkdir "$tmp/run"
[ -x "$script" ] && pass || fail "$script is not executable"

# --- the gate on snapshots made here (every build, sanitized or not) ------------
python3 - "$tmp" <<'PY'
import sys, tracemalloc as t
d = sys.argv[1]
f = ("/src/app.c", 10); g = ("/src/cache.c", 42)
base = [(0, 4096, (f,), 1)] * 20 + [(0, 1000, (g,), 1)]
t.Snapshot(base, 1).dump(d + "/base.dump")
t.Snapshot(base + [(0, 65536, (g,), 1)], 1).dump(d + "/grown.dump")
PY
tmconv "$tmp/base.dump" "$tmp/run/premade-base.tms" --to tms &&
    tmconv "$tmp/grown.dump" "$tmp/run/premade-grown.tms" --to tms && pass ||
    fail "tmconv"
step premade-same 0 bash "$script" --snapshot premade-base.tms -o same.tms -b premade-base.tms
expect_in premade-same "memory check passed"
step premade-grown 1 bash "$script" --snapshot premade-grown.tms -o grown.tms -b premade-base.tms
expect_in premade-grown "tmdiff: gate failed: total grew by 65536 bytes"
expect_in premade-grown "/src/cache.c:42: size=65.0 KiB (+64.0 KiB)"
expect_in premade-grown "memory check FAILED"
validate "$tmp/run/same.json" "$tmp/run/grown.json"
step premade-missing-baseline 2 bash "$script" --snapshot premade-base.tms -b nowhere/memory.tms
expect_in premade-missing-baseline "baseline 'nowhere/memory.tms' does not exist"
step premade-first-run 0 bash "$script" --snapshot premade-base.tms -b nowhere/memory.tms --allow-missing-baseline
expect_in premade-first-run "first run"
step premade-bad-threshold 2 bash "$script" --snapshot premade-grown.tms -b premade-base.tms -t 5MB
expect_in premade-bad-threshold "ambiguous"
step premade-bad-option 2 bash "$script" --bogus
step premade-missing-snapshot 2 bash "$script" --snapshot nope.tms
expect_in premade-missing-snapshot "nope.tms"
step help 0 bash "$script" --help
expect_in help "--baseline"

# --- the GitHub Actions workflow --------------------------------------------------
ypy=
for cand in python3 /usr/bin/python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import yaml' 2>/dev/null; then ypy=$cand; break; fi
done
if [ -z "$ypy" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing python3-yaml (Debian) to read the workflow"
    DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q python3-yaml >"$tmp/apt.log" 2>&1 ||
        { timeout 300 apt-get update -q >>"$tmp/apt.log" 2>&1 &&
          DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q python3-yaml >>"$tmp/apt.log" 2>&1; }
    /usr/bin/python3 -c 'import yaml' 2>/dev/null && ypy=/usr/bin/python3
fi
[ -n "$ypy" ] && pass || { fail "no python3 with the yaml module (python3-yaml) to read the workflow"; ypy=python3; }
check "the GitHub Actions workflow: triggers, steps, artifacts" "$ypy" - "$workflow" "$tmp" <<'PY'
import re, sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
on = wf.get("on", wf.get(True))   # YAML 1.1 reads a bare `on` as true
problems = []
if not (isinstance(on, dict) and "pull_request" in on and on.get("push", {}).get("branches") == ["main"]):
    problems.append("triggers: want push to main and pull_request")
steps = [s for job in wf["jobs"].values() for s in job["steps"]]
uses = {s.get("uses", "").split("@")[0]: s for s in steps if "uses" in s}
for need in ("actions/checkout", "actions/upload-artifact", "dawidd6/action-download-artifact"):
    if need not in uses:
        problems.append(f"no step uses {need}")
up, down = uses.get("actions/upload-artifact", {}), uses.get("dawidd6/action-download-artifact", {})
if "memory.tms" not in up.get("with", {}).get("path", ""):
    problems.append("memory.tms is not uploaded")
if up.get("with", {}).get("name") != down.get("with", {}).get("name"):
    problems.append("the downloaded artifact is not the uploaded one")
if down.get("with", {}).get("branch") != "main":
    problems.append("the baseline does not come from main")
runs = [s["run"] for s in steps if "run" in s]
if not any("samples/ci/run-memory-check.sh" in r and "--baseline" in r for r in runs):
    problems.append("no step runs samples/ci/run-memory-check.sh with a baseline")
if not any("cmake --build" in r for r in runs):
    problems.append("no step builds tmkit")
for i, r in enumerate(runs):   # each run: block must be valid bash
    open(f"{sys.argv[2]}/run{i}.sh", "w").write(re.sub(r"\$\{\{[^}]*\}\}", "x", r))
for p in problems:
    print("FAIL workflow:", p)
print(f"workflow: {len(steps)} steps, {len(runs)} shell blocks, {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
PY
for f in "$tmp"/run[0-9]*.sh; do
    bash -n "$f" && pass || fail "workflow shell block $(basename "$f") is not valid bash"
done

# --- recording with tmrun -----------------------------------------------------------
if [ "${TM_SANITIZE:-0}" = 1 ]; then
    skip "recording steps: LD_PRELOAD of the recorder into a process is not possible" \
         "in a sanitized build (the ASan runtime must come first and owns malloc); the gate" \
         "steps above ran on snapshots made here"
else
    line=$(grep -n 'calloc(1, 1024)' "$src/samples/ci/workload.c" | cut -d: -f1)
    step baseline 0 bash "$script" -o baseline.tms
    expect_in baseline "no baseline given"
    expect_in baseline "workload.c:"
    [ -s "$tmp/run/baseline.tms" ] && pass || fail "baseline.tms not written"
    step same-run 0 bash "$script" -b baseline.tms
    expect_in same-run "memory check passed"
    expect_in same-run "tmdiff: gate passed"
    expect_not_in same-run "gate failed"
    step grown-run 1 env WORKLOAD_EXTRA_KIB=256 bash "$script" -b baseline.tms -o grown.tms
    expect_in grown-run "tmdiff: gate failed: total grew by 262144 bytes"
    expect_in grown-run "workload.c:$line: size=256 KiB (+256 KiB), count=256 (+256)"
    expect_in grown-run "memory check FAILED"
    # 32 KiB more: within 50% of the total, but one line grew by more than 16 KiB
    step per-group-run 1 env WORKLOAD_EXTRA_KIB=32 bash "$script" -b baseline.tms -o pg.tms \
        --threshold 50% --per-group 16KiB
    expect_in per-group-run "tmdiff: gate passed: total grew by 32768 bytes"
    expect_in per-group-run "tmdiff: gate failed: 1 lineno group grew by more than 16.0 KiB"
    expect_in per-group-run "workload.c:$line: size=32.0 KiB (+32.0 KiB)"
    step small-growth 0 env WORKLOAD_EXTRA_KIB=8 bash "$script" -b baseline.tms -o small.tms \
        --per-group 1KiB
    validate "$tmp/run/memory.json" "$tmp/run/grown.json" "$tmp/run/pg.json" "$tmp/run/pg.per-group.json" \
        "$tmp/run/small.json" "$tmp/run/small.per-group.json"
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["gate"]["passed"] is False and d["gate"]["measured_bytes"] == 262144, d["gate"]
assert d["statistics"][0]["size_diff"] == 262144 and d["statistics"][0]["traceback"][0]["lineno"] == int(sys.argv[2])' \
        "$tmp/run/grown.json" "$line" && pass || fail "grown.json content"
    step missing-baseline 2 bash "$script" -b nowhere/memory.tms -o first.tms
    expect_in missing-baseline "baseline 'nowhere/memory.tms' does not exist"
    step first-run 0 bash "$script" -b nowhere/memory.tms -o first.tms --allow-missing-baseline
    expect_in first-run "first run"
    [ -s "$tmp/run/first.tms" ] && pass || fail "first run wrote no snapshot"
    step program-fails 2 bash "$script" -o fail.tms -- false
    expect_in program-fails "the recorded program failed"
    if [ -x "$build/samples/demo" ]; then
        step other-program 0 bash "$script" -o demo.tms -- "$build/samples/demo"
        expect_in other-program "demo.c:"
    fi
    # the symbolized artifact stands alone: it still reads after its program is gone
    step artifact-alone 0 env TM_SYMBOLIZE=0 tmstat baseline.tms --top 3
    expect_in artifact-alone "workload.c:"
fi

finish
