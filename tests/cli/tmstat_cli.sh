#!/bin/bash
# tmstat / tmdiff command-line contract: exit codes, error messages that
# name the file, header line, JSON and CSV validity, --fail-on-growth.
set -u
build=${TM_BUILD_DIR:-$PWD}
tmstat=$build/tools/tmstat
tmdiff=$build/tools/tmdiff
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() {   # check NAME EXPECTED_STATUS COMMAND...
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL $name: exit $got, want $want"; cat "$tmp/err"; fails=$((fails + 1))
    fi
}
expect_in() {   # expect_in NAME FILE TEXT
    if ! grep -qF -- "$3" "$2"; then
        echo "FAIL $1: '$3' not in $2:"; cat "$2"; fails=$((fails + 1))
    fi
}

python3 - "$tmp" <<'PY'
import sys, tracemalloc as t
d = sys.argv[1]
a = ("a.py", 1); b = ("b.py", 2); c = ("c.py", 3)
old = t.Snapshot([(0, 100, (a,), 1), (0, 200, (b, a), 2), (1, 50, (c,), 1)], 5)
new = t.Snapshot([(0, 100, (a,), 1), (0, 5000, (b, a), 2), (0, 10, (c,), 1)], 5)
old.dump(d + "/old.dump"); new.dump(d + "/new.dump")
with open(d + "/expect_stat", "w") as f:
    for s in new.statistics("lineno"): print(s, file=f)
with open(d + "/expect_diff", "w") as f:
    for s in new.compare_to(old, "filename", True): print(s, file=f)
PY

check help 0 "$tmstat" --help
expect_in help "$tmp/out" "usage: tmstat SNAPSHOT"
expect_in help-json "$tmp/out" "json:"
check help-diff 0 "$tmdiff" -h
expect_in help-diff "$tmp/out" "--fail-on-growth"

check no-args 2 "$tmstat"
expect_in no-args "$tmp/err" "expected one SNAPSHOT"
check missing 2 "$tmstat" "$tmp/nope.tms"
expect_in missing "$tmp/err" "$tmp/nope.tms"
printf 'garbage, not a snapshot\n' >"$tmp/garbage.bin"
check garbage 2 "$tmstat" "$tmp/garbage.bin"
expect_in garbage "$tmp/err" "garbage.bin"
head -c 40 "$tmp/new.dump" >"$tmp/trunc.dump"
check truncated 2 "$tmstat" "$tmp/trunc.dump"
expect_in truncated "$tmp/err" "trunc.dump"
check bad-key 2 "$tmstat" "$tmp/new.dump" --by nope
expect_in bad-key "$tmp/err" "unknown key type 'nope'"
check bad-opt 2 "$tmstat" "$tmp/new.dump" --bogus
check bad-top 2 "$tmstat" "$tmp/new.dump" --top x
check bad-format 2 "$tmstat" "$tmp/new.dump" --format xml
check cum-traceback 2 "$tmstat" "$tmp/new.dump" --by traceback --cumulative
expect_in cum-traceback "$tmp/err" "cumulative"
check diff-one-file 2 "$tmdiff" "$tmp/old.dump"
check diff-missing 2 "$tmdiff" "$tmp/old.dump" "$tmp/missing.dump"
expect_in diff-missing "$tmp/err" "missing.dump"

check text 0 "$tmstat" "$tmp/new.dump"
head -1 "$tmp/out" >"$tmp/header"
expect_in header "$tmp/header" "[ Top 3 lineno ]"
tail -n +2 "$tmp/out" >"$tmp/body"
cmp -s "$tmp/body" "$tmp/expect_stat" || { echo "FAIL text body"; diff "$tmp/expect_stat" "$tmp/body"; fails=$((fails + 1)); }
check top1 0 "$tmstat" "$tmp/new.dump" --top=1 --no-header
[ "$(wc -l <"$tmp/out")" = 1 ] || { echo "FAIL --top 1"; fails=$((fails + 1)); }
check diff-text 0 "$tmdiff" "$tmp/old.dump" "$tmp/new.dump" --by filename --cumulative --no-header --top 0
cmp -s "$tmp/out" "$tmp/expect_diff" || { echo "FAIL diff body"; diff "$tmp/expect_diff" "$tmp/out"; fails=$((fails + 1)); }

check json 0 "$tmstat" "$tmp/new.dump" --format json --by traceback
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["tool"]=="tmstat" and d["total_size"]==5110 and d["statistics"][0]["size"]==5000 and d["statistics"][0]["traceback"][0]=={"filename":"a.py","lineno":1}, d' "$tmp/out" \
    || { echo "FAIL json"; fails=$((fails + 1)); }
check json-diff 0 "$tmdiff" "$tmp/old.dump" "$tmp/new.dump" --format json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["old_total_size"]==350 and d["statistics"][0]["size_diff"]==4800, d' "$tmp/out" \
    || { echo "FAIL json diff"; fails=$((fails + 1)); }
check csv 0 "$tmdiff" "$tmp/old.dump" "$tmp/new.dump" --format csv --by traceback
python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert rows[0]["traceback"] == "a.py:1;b.py:2" and rows[0]["size_diff"] == "4800", rows
assert len(rows) == 3, rows' "$tmp/out" || { echo "FAIL csv"; fails=$((fails + 1)); }

check domain 0 "$tmstat" "$tmp/new.dump" --domain 1 --no-header
[ ! -s "$tmp/out" ] || { echo "FAIL --domain 1 should keep nothing"; fails=$((fails + 1)); }
check include 0 "$tmstat" "$tmp/new.dump" --include 'a.*:1' --all-frames --no-header --top 0
[ "$(wc -l <"$tmp/out")" = 2 ] || { echo "FAIL --include --all-frames"; cat "$tmp/out"; fails=$((fails + 1)); }

check growth-trips 1 "$tmdiff" "$tmp/old.dump" "$tmp/new.dump" --fail-on-growth 1K
expect_in growth-trips "$tmp/err" "grew by 4760 bytes"
check growth-ok 0 "$tmdiff" "$tmp/old.dump" "$tmp/new.dump" --fail-on-growth 5K
check growth-bad 2 "$tmdiff" "$tmp/old.dump" "$tmp/new.dump" --fail-on-growth lots

# names that need quoting / escaping survive JSON and CSV
python3 - "$tmp" <<'PY'
import sys, tracemalloc as t
d = sys.argv[1]
odd = 'we,ird "name"\tü\x01.c'
t.Snapshot([(0, 10, ((odd, 7), ("plain.c", 1)), 2)], 5).dump(d + "/odd.dump")
PY
check odd-json 0 "$tmstat" "$tmp/odd.dump" --format json --by traceback
python3 -c '
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
s = d["statistics"][0]
assert s["traceback"][1] == {"filename": "we,ird \"name\"\tü\x01.c", "lineno": 7}, s
assert s["text"] == "plain.c:1: size=10 B, count=1, average=10 B", s' "$tmp/out" \
    || { echo "FAIL json escaping"; cat "$tmp/out"; fails=$((fails + 1)); }
check odd-csv 0 "$tmstat" "$tmp/odd.dump" --format csv
python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
assert rows[0]["filename"] == "we,ird \"name\"\tü\x01.c" and rows[0]["lineno"] == "7", rows' "$tmp/out" \
    || { echo "FAIL csv quoting"; cat "$tmp/out"; fails=$((fails + 1)); }

if [ $fails -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "tmstat/tmdiff CLI: all checks passed"
