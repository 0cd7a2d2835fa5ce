#!/bin/bash
# tmstat / tmdiff command-line contract: exit codes, error messages that
# name the file, header line, JSON and CSV validity, --fail-on-growth.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
build=$TM_BUILD_DIR
tmstat=$build/tools/tmstat
tmdiff=$build/tools/tmdiff
tmp=$TM_WORK

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

check_exit help 0 "$tmstat" --help
expect_in help "$tmp/out" "usage: tmstat SNAPSHOT"
expect_in help-json "$tmp/out" "json:"
check_exit help-diff 0 "$tmdiff" -h
expect_in help-diff "$tmp/out" "--fail-on-growth"

check_exit no-args 2 "$tmstat"
expect_in no-args "$tmp/err" "expected one SNAPSHOT"
check_exit missing 2 "$tmstat" "$tmp/nope.tms"
expect_in missing "$tmp/err" "$tmp/nope.tms"
printf 'garbage, not a snapshot\n' >"$tmp/garbage.bin"
check_exit garbage 2 "$tmstat" "$tmp/garbage.bin"
expect_in garbage "$tmp/err" "garbage.bin"
head -c 40 "$tmp/new.dump" >"$tmp/trunc.dump"
check_exit truncated 2 "$tmstat" "$tmp/trunc.dump"
expect_in truncated "$tmp/err" "trunc.dump"
check_exit bad-key 2 "$tmstat" "$tmp/new.dump" --by nope
expect_in bad-key "$tmp/err" "unknown key type 'nope'"
check_exit bad-opt 2 "$tmstat" "$tmp/new.dump" --bogus
check_exit bad-top 2 "$tmstat" "$tmp/new.dump" --top x
check_exit bad-format 2 "$tmstat" "$tmp/new.dump" --format xml
check_exit cum-traceback 2 "$tmstat" "$tmp/new.dump" --by traceback --cumulative
expect_in cum-traceback "$tmp/err" "cumulative"
check_exit diff-one-file 2 "$tmdiff" "$tmp/old.dump"
check_exit diff-missing 2 "$tmdiff" "$tmp/old.dump" "$tmp/missing.dump"
expect_in diff-missing "$tmp/err" "missing.dump"

check_exit text 0 "$tmstat" "$tmp/new.dump"
head -1 "$tmp/out" >"$tmp/header"
expect_in header "$tmp/header" "[ Top 3 lineno ]"
tail -n +2 "$tmp/out" >"$tmp/body"
cmp -s "$tmp/body" "$tmp/expect_stat" && pass || { fail "text body"; diff "$tmp/expect_stat" "$tmp/body"; }
check_exit top1 0 "$tmstat" "$tmp/new.dump" --top=1 --no-header
[ "$(wc -l <"$tmp/out")" = 1 ] && pass || { fail "--top 1"; }
check_exit diff-text 0 "$tmdiff" "$tmp/old.dump" "$tmp/new.dump" --by filename --cumulative --no-header --top 0
cmp -s "$tmp/out" "$tmp/expect_diff" && pass || { fail "diff body"; diff "$tmp/expect_diff" "$tmp/out"; }

check_exit json 0 "$tmstat" "$tmp/new.dump" --format json --by traceback
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["tool"]=="tmstat" and d["total_size"]==5110 and d["statistics"][0]["size"]==5000 and d["statistics"][0]["traceback"][0]=={"filename":"a.py","lineno":1}, d' "$tmp/out" \
    && pass || { fail "json"; }
check_exit json-diff 0 "$tmdiff" "$tmp/old.dump" "$tmp/new.dump" --format json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["old_total_size"]==350 and d["statistics"][0]["size_diff"]==4800, d' "$tmp/out" \
    && pass || { fail "json diff"; }
check_exit csv 0 "$tmdiff" "$tmp/old.dump" "$tmp/new.dump" --format csv --by traceback
python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert rows[0]["traceback"] == "a.py:1;b.py:2" and rows[0]["size_diff"] == "4800", rows
assert len(rows) == 3, rows' "$tmp/out" && pass || { fail "csv"; }

check_exit domain 0 "$tmstat" "$tmp/new.dump" --domain 1 --no-header
[ ! -s "$tmp/out" ] && pass || { fail "--domain 1 should keep nothing"; }
check_exit include 0 "$tmstat" "$tmp/new.dump" --include 'a.*:1' --all-frames --no-header --top 0
[ "$(wc -l <"$tmp/out")" = 2 ] && pass || { fail "--include --all-frames"; cat "$tmp/out"; }

check_exit growth-trips 1 "$tmdiff" "$tmp/old.dump" "$tmp/new.dump" --fail-on-growth 1K
expect_in growth-trips "$tmp/err" "grew by 4760 bytes"
check_exit growth-ok 0 "$tmdiff" "$tmp/old.dump" "$tmp/new.dump" --fail-on-growth 5K
check_exit growth-bad 2 "$tmdiff" "$tmp/old.dump" "$tmp/new.dump" --fail-on-growth lots

# names that need quoting / escaping survive JSON and CSV
python3 - "$tmp" <<'PY'
import sys, tracemalloc as t
d = sys.argv[1]
odd = 'we,ird "name"\tü\x01.c'
t.Snapshot([(0, 10, ((odd, 7), ("plain.c", 1)), 2)], 5).dump(d + "/odd.dump")
PY
check_exit odd-json 0 "$tmstat" "$tmp/odd.dump" --format json --by traceback
python3 -c '
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
s = d["statistics"][0]
assert s["traceback"][1] == {"filename": "we,ird \"name\"\tü\x01.c", "lineno": 7}, s
assert s["text"] == "plain.c:1: size=10 B, count=1, average=10 B", s' "$tmp/out" \
    && pass || { fail "json escaping"; cat "$tmp/out"; }
check_exit odd-csv 0 "$tmstat" "$tmp/odd.dump" --format csv
python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
assert rows[0]["filename"] == "we,ird \"name\"\tü\x01.c" and rows[0]["lineno"] == "7", rows' "$tmp/out" \
    && pass || { fail "csv quoting"; cat "$tmp/out"; }

finish
