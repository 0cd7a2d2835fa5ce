#!/bin/bash
# CI gates: tmdiff --fail-on-growth and tmstat --fail-above, absolute and
# relative, total and --per-group, --min-growth; every exit status (0 holds,
# 1 fails, 2 usage/input error), SIZE syntax (units, decimals, refusals),
# exact boundaries, the short report on stderr, stdout unchanged, text / json
# / csv.  Then random cases against python3's tracemalloc (gate_oracle.py).
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
here=$(cd "$(dirname "$0")" && pwd)
build=$TM_BUILD_DIR
tmstat=$build/tools/tmstat
tmdiff=$build/tools/tmdiff
tmp=$TM_WORK
expect_not_in() {
    if grep -qF -- "$3" "$2"; then
        fail "$1: '$3' should not be in $2:"; cat "$2"
    else
        pass
    fi
}
json_is() {   # json_is NAME PYTHON-EXPR (d = the JSON on stdout)
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); ok = eval(sys.argv[2]); sys.exit(0 if ok else 1)' \
        "$tmp/out" "$2" && pass || { fail "$1: not true: $2"; cat "$tmp/out"; }
}

# old: a 1000 B, b 2000 B (3000).  new: a 1000, b 2100 (+100 = +5% exactly),
# c 50 (a new group): total 3150 (+150 = +5% exactly).
python3 - "$tmp" <<'PY'
import sys, tracemalloc as t
d = sys.argv[1]
a = ("a.py", 1); b = ("b.py", 2); c = ("c.py", 3)
old = t.Snapshot([(0, 1000, (a,), 1), (0, 2000, (b,), 1)], 1)
new = t.Snapshot([(0, 1000, (a,), 1), (0, 2100, (b,), 1), (0, 50, (c,), 1)], 1)
old.dump(d + "/old.dump"); new.dump(d + "/new.dump")
t.Snapshot([], 1).dump(d + "/empty.dump")
with open(d + "/expect_b", "w") as f:
    print([str(s) for s in new.compare_to(old, "lineno") if str(s).startswith("b.py")][0], file=f)
with open(d + "/expect_c", "w") as f:
    print([str(s) for s in new.compare_to(old, "lineno") if str(s).startswith("c.py")][0], file=f)
with open(d + "/expect_stat_b", "w") as f:
    print([str(s) for s in new.statistics("lineno") if str(s).startswith("b.py")][0], file=f)
PY
O=$tmp/old.dump N=$tmp/new.dump E=$tmp/empty.dump
"$build/tools/tmconv" "$N" "$tmp/new.tms" --to tms && pass || fail "tmconv"

# --- help ---------------------------------------------------------------
check_exit help-diff 0 "$tmdiff" --help
for w in --fail-on-growth --per-group --min-growth KiB "N%" "exit status: 0"; do expect_in help-diff "$tmp/out" "$w"; done
check_exit help-stat 0 "$tmstat" --help
expect_in help-stat "$tmp/out" "--fail-above"

# --- tmdiff total, absolute: exact boundary ----------------------------
check_exit total-abs-at 0 "$tmdiff" "$O" "$N" --fail-on-growth 150
expect_in total-abs-at "$tmp/err" "tmdiff: gate passed: total grew by 150 bytes (+150 B, +5.0%), limit 150 B (--fail-on-growth 150)"
check_exit total-abs-under 1 "$tmdiff" "$O" "$N" --fail-on-growth 149
expect_in total-abs-under "$tmp/err" "tmdiff: gate failed: total grew by 150 bytes (+150 B, +5.0%), limit 149 B (--fail-on-growth 149)"
expect_in total-abs-under "$tmp/err" "tmdiff: largest growth:"
expect_in total-abs-under "$tmp/err" "  $(cat "$tmp/expect_b")"
expect_in total-abs-under "$tmp/err" "  $(cat "$tmp/expect_c")"
# stdout still carries the normal report
expect_in total-abs-under "$tmp/out" "[ Top 3 differences lineno ]"
expect_in total-abs-under "$tmp/out" "$(cat "$tmp/expect_b")"
check_exit total-abs-shrink 0 "$tmdiff" "$N" "$O" --fail-on-growth 0
expect_in total-abs-shrink "$tmp/err" "total shrank by 150 bytes"
check_exit total-abs-same 0 "$tmdiff" "$O" "$O" --fail-on-growth 0
check_exit total-abs-tms 1 "$tmdiff" "$O" "$tmp/new.tms" --fail-on-growth 149

# --- tmdiff total, relative: 150 / 3000 = 5% exactly --------------------
check_exit total-rel-at 0 "$tmdiff" "$O" "$N" --fail-on-growth 5%
expect_in total-rel-at "$tmp/err" "limit 5% of 3000 B = 150 B"
check_exit total-rel-under 1 "$tmdiff" "$O" "$N" --fail-on-growth 4.999999%
expect_in total-rel-under "$tmp/err" "gate failed: total grew by 150 bytes"
check_exit total-rel-big 0 "$tmdiff" "$O" "$N" --fail-on-growth 250%
check_exit total-rel-from-empty 1 "$tmdiff" "$E" "$N" --fail-on-growth 1000000%
expect_in total-rel-from-empty "$tmp/err" "from nothing"
check_exit total-rel-min-growth 0 "$tmdiff" "$O" "$N" --fail-on-growth 1% --min-growth 150
check_exit total-rel-min-growth-under 1 "$tmdiff" "$O" "$N" --fail-on-growth 1% --min-growth 149
expect_in total-rel-min-growth-under "$tmp/err" "(--fail-on-growth 1% --min-growth 149)"
check_exit empty-empty 0 "$tmdiff" "$E" "$E" --fail-on-growth 0%
check_exit empty-empty-group 0 "$tmdiff" "$E" "$E" --fail-on-growth 0 --per-group

# --- tmdiff per group ------------------------------------------------------
check_exit group-abs-at 0 "$tmdiff" "$O" "$N" --fail-on-growth 100 --per-group
expect_in group-abs-at "$tmp/err" "tmdiff: gate passed: no lineno group grew by more than 100 B"
check_exit group-abs-under 1 "$tmdiff" "$O" "$N" --fail-on-growth 99 --per-group
expect_in group-abs-under "$tmp/err" "tmdiff: gate failed: 1 lineno group grew by more than 99 B (--fail-on-growth 99 --per-group); largest growth first:"
expect_in group-abs-under "$tmp/err" "  $(cat "$tmp/expect_b")"
expect_not_in group-abs-under "$tmp/err" "c.py"
check_exit group-abs-two 1 "$tmdiff" "$O" "$N" --fail-on-growth 49 --per-group
expect_in group-abs-two "$tmp/err" "2 lineno groups grew by more than 49 B"
# relative: b grew exactly 5%; c is new (old size 0) and fails any percentage...
check_exit group-rel-new 1 "$tmdiff" "$O" "$N" --fail-on-growth 5% --per-group
expect_in group-rel-new "$tmp/err" "1 lineno group grew by more than 5% of the group's old size"
expect_in group-rel-new "$tmp/err" "  $(cat "$tmp/expect_c")"
# ...unless its growth is within --min-growth
check_exit group-rel-min 0 "$tmdiff" "$O" "$N" --fail-on-growth 5% --per-group --min-growth 50
check_exit group-rel-min-under 1 "$tmdiff" "$O" "$N" --fail-on-growth 5% --per-group --min-growth 49
check_exit group-rel-b 1 "$tmdiff" "$O" "$N" --fail-on-growth 4.999999% --per-group --min-growth 50
expect_in group-rel-b "$tmp/err" "  $(cat "$tmp/expect_b")"
# filters come first: without b.py the total grew by 50 (c only)
check_exit filtered-at 0 "$tmdiff" "$O" "$N" --exclude 'b.py' --fail-on-growth 50
check_exit filtered-under 1 "$tmdiff" "$O" "$N" --exclude 'b.py' --fail-on-growth 49
# the gate sees every group, not only the --top printed
check_exit group-top 1 "$tmdiff" "$O" "$N" --fail-on-growth 10 --per-group --top 1 --format json
json_is group-top 'd["gate"]["failing_groups"] == 2 and len(d["gate"]["failing"]) == 1 and len(d["statistics"]) == 1'
expect_in group-top "$tmp/err" "2 lineno groups"
check_exit group-filename 1 "$tmdiff" "$O" "$N" --by filename --fail-on-growth 99 --per-group
expect_in group-filename "$tmp/err" "1 filename group grew"
expect_in group-filename "$tmp/err" "  b.py:0: size="

# --- tmstat -----------------------------------------------------------------
check_exit stat-at 0 "$tmstat" "$N" --fail-above 3150
expect_in stat-at "$tmp/err" "tmstat: gate passed: total size 3150 bytes"
check_exit stat-under 1 "$tmstat" "$N" --fail-above 3KiB
expect_in stat-under "$tmp/err" "tmstat: gate failed: total size 3150 bytes (3150 B) is above the limit, limit 3072 B (--fail-above 3KiB)"
expect_in stat-under "$tmp/err" "  $(cat "$tmp/expect_stat_b")"
expect_in stat-under "$tmp/out" "[ Top 3 lineno ]"
check_exit stat-group-at 0 "$tmstat" "$N" --fail-above 2100 --per-group
check_exit stat-group-under 1 "$tmstat" "$N" --fail-above 2099 --per-group
expect_in stat-group-under "$tmp/err" "tmstat: gate failed: 1 lineno group is above 2099 B (--fail-above 2099 --per-group); largest first:"
expect_in stat-group-under "$tmp/err" "  $(cat "$tmp/expect_stat_b")"
check_exit stat-filtered 0 "$tmstat" "$N" --include 'a.py' --fail-above 1000
check_exit stat-empty 0 "$tmstat" "$E" --fail-above 0
check_exit stat-empty-group 0 "$tmstat" "$E" --fail-above 0 --per-group --format json
json_is stat-empty-group 'd["gate"]["passed"] is True and d["gate"]["measured_bytes"] == 0 and d["gate"]["failing"] == []'

# --- formats: json and csv keep the exit status ---------------------------
check_exit json-fail 1 "$tmdiff" "$O" "$N" --fail-on-growth 5% --per-group --format json
json_is json-fail 'd["gate"]["passed"] is False and d["gate"]["failing"][0]["text"] == open("'"$tmp"'/expect_c").read().strip() and d["gate"]["limit_bytes"] is None and d["gate"]["limit_percent"] == 5'
expect_in json-fail "$tmp/err" "gate failed"
check_exit json-pass 0 "$tmdiff" "$O" "$N" --fail-on-growth 5% --format json
json_is json-pass 'd["gate"]["passed"] is True and d["gate"]["limit_bytes"] == 150 and d["gate"]["measured_bytes"] == 150 and d["gate"]["measured_percent"] == 5'
check_exit csv-fail 1 "$tmdiff" "$O" "$N" --fail-on-growth 1 --format csv
expect_in csv-fail "$tmp/out" "rank,filename,lineno"
check_exit csv-pass 0 "$tmstat" "$N" --fail-above 1MiB --format csv

# --- SIZE syntax: equal spellings, via the JSON limit ----------------------
for pair in "1024=1024" "1024B=1024" "1024 B=1024" "1K=1024" "1k=1024" "1KiB=1024" "1kib=1024" \
            "1 KiB=1024" "1.0K=1024" "0.5KiB=512" "7M=7340032" "2G=2147483648" "1T=1099511627776" \
            "1.5=2" "2.5B=3" "0.0005K=1" "0.000001K=0" "0=0"; do
    s=${pair%%=*}; want=${pair#*=}
    check_exit "size-$s" 0 "$tmstat" "$E" --fail-above "$s" --format json
    json_is "size-$s" "d['gate']['limit_bytes'] == $want"
done
check_exit size-1.5MiB 0 "$tmstat" "$E" --fail-above 1.5MiB --format json
json_is size-1.5MiB 'd["gate"]["limit_bytes"] == 1572864'
check_exit size-round 0 "$tmstat" "$E" --fail-above 0.1KiB --format json
json_is size-round 'd["gate"]["limit_bytes"] == 102'   # 102.4 rounds to the nearest byte
check_exit size-pct 0 "$tmdiff" "$E" "$E" --fail-on-growth 0.25% --format json
json_is size-pct 'd["gate"]["limit_percent"] == 0.25 and d["gate"]["mode"] == "relative"'

# --- errors: exit 2 with a message ------------------------------------------
for bad in lots "" -5 5%% "5 %" 1. .5K 1KiBs 1KB 1X 99999999999999999999 17179869184T 1.0000001K 1e3; do
    check_exit "bad-size-'$bad'" 2 "$tmdiff" "$O" "$N" --fail-on-growth "$bad"
    expect_in "bad-size-'$bad'" "$tmp/err" "tmdiff: --fail-on-growth: '$bad'"
    [ -s "$tmp/out" ] && fail "bad size '$bad' wrote to stdout" || pass
done
check_exit bad-MB 2 "$tmdiff" "$O" "$N" --fail-on-growth 1MB
expect_in bad-MB "$tmp/err" "ambiguous"
expect_in bad-MB "$tmp/err" "MiB"
check_exit bad-kB 2 "$tmstat" "$N" --fail-above 512kB
expect_in bad-kB "$tmp/err" "ambiguous"
check_exit bad-decimals 2 "$tmstat" "$N" --fail-above 1.0000001K
expect_in bad-decimals "$tmp/err" "more than 6 decimals"
check_exit bad-too-large 2 "$tmstat" "$N" --fail-above 17179869184T
expect_in bad-too-large "$tmp/err" "too large"
check_exit stat-pct 2 "$tmstat" "$N" --fail-above 5%
expect_in stat-pct "$tmp/err" "percentage needs a baseline"
check_exit stat-growth-opt 2 "$tmstat" "$N" --fail-on-growth 1K
expect_in stat-growth-opt "$tmp/err" "tmstat takes --fail-above"
check_exit diff-above-opt 2 "$tmdiff" "$O" "$N" --fail-above 1K
expect_in diff-above-opt "$tmp/err" "tmdiff takes --fail-on-growth"
check_exit per-group-alone 2 "$tmdiff" "$O" "$N" --per-group
expect_in per-group-alone "$tmp/err" "--per-group needs a gate"
check_exit min-growth-alone 2 "$tmdiff" "$O" "$N" --min-growth 1K
check_exit min-growth-pct 2 "$tmdiff" "$O" "$N" --fail-on-growth 5% --min-growth 5%
check_exit min-growth-stat 2 "$tmstat" "$N" --fail-above 1K --min-growth 1K
check_exit twice 2 "$tmdiff" "$O" "$N" --fail-on-growth 1K --fail-on-growth 2K
expect_in twice "$tmp/err" "given twice"
check_exit per-group-value 2 "$tmdiff" "$O" "$N" --fail-on-growth 1K --per-group=yes
check_exit missing-file 2 "$tmdiff" "$O" "$tmp/missing.tms" --fail-on-growth 0
expect_in missing-file "$tmp/err" "missing.tms"
expect_not_in missing-file "$tmp/err" "gate"
printf 'not a snapshot' >"$tmp/bad.tms"
check_exit bad-file 2 "$tmstat" "$tmp/bad.tms" --fail-above 0
expect_in bad-file "$tmp/err" "bad.tms"

echo "gate checks: $TM_PASSED passed, $TM_FAILED failure(s) so far"

# --- random cases against tracemalloc ----------------------------------------
check "random gate cases against tracemalloc (seed 20261125)" \
    python3 "$here/gate_oracle.py" --build-dir "$build" --seed 20261125 --cases 80
fresh=${TM_GATE_SEED:-$(date +%s)}
check "random gate cases against tracemalloc (fresh seed $fresh)" \
    python3 "$here/gate_oracle.py" --build-dir "$build" --seed "$fresh" --cases 30

finish
