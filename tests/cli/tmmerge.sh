#!/bin/bash
# tmmerge: one snapshot holding every input's traces.  Its totals and its
# per-line and per-function statistics (tmstat --format csv/json) are the
# sums of the inputs'; .tms files and Python dumps mix; the same inputs give
# the same bytes; modules of one binary in two processes become one (by
# build-id); the metadata names the inputs; tmstat, tmdiff and tmexport read
# the result like any snapshot; two snapshots of one process are refused
# (exit 2), as are bad command lines and inputs.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
T=$B/tools
S=$TM_SOURCE_DIR
W=$TM_WORK
G=$S/tests/golden/v1.0
P=$S/tests/fixtures/python

# sum_csv KEYCOLS CSV...: the inputs' tmstat CSV rows summed per key, as
# "key,...,size,count" sorted.
sum_csv() {
  python3 - "$@" << 'EOF'
import csv, sys
keys = sys.argv[1].split(',')
agg = {}
for path in sys.argv[2:]:
    with open(path, newline='', encoding='utf-8') as f:
        for r in csv.DictReader(f):
            k = tuple(r[c] for c in keys)
            a = agg.setdefault(k, [0, 0])
            a[0] += int(r['size'])
            a[1] += int(r['count'])
w = csv.writer(sys.stdout, lineterminator='\n')
w.writerows(sorted(k + (str(v[0]), str(v[1])) for k, v in agg.items()))
EOF
}

totals() {   # totals SNAP: "COUNT SIZE" from tmstat --format json
  "$T/tmstat" "$1" --format json 2> /dev/null |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["total_count"], d["total_size"])'
}

# merged_is_sum WHAT OUT IN...: totals and per-line / per-function / per-file
# statistics of OUT are the sums of the inputs'.
merged_is_sum() {
  local what=$1 out=$2
  shift 2
  local c=0 s=0 in n sz
  for in in "$@"; do
    read -r n sz <<< "$(totals "$in")"
    c=$((c + n))
    s=$((s + sz))
  done
  check "$what: total count and size $(totals "$out") = the inputs' sum $c $s" test "$(totals "$out")" = "$c $s"
  local by cols
  for by in lineno:filename,lineno function:filename filename:filename; do
    cols=${by#*:}
    by=${by%%:*}
    local csvs=() i=0
    for in in "$@"; do
      "$T/tmstat" "$in" --by "$by" --top 0 --format csv > "$W/in$i.csv" 2> /dev/null
      csvs+=("$W/in$i.csv")
      i=$((i + 1))
    done
    "$T/tmstat" "$out" --by "$by" --top 0 --format csv > "$W/out.csv" 2> /dev/null
    check "$what: --by $by statistics are the sums of the inputs'" \
      diff <(sum_csv "$cols" "${csvs[@]}") <(sum_csv "$cols" "$W/out.csv")
  done
}

expect2() {   # expect2 WHAT PATTERN ARGS...
  local what=$1 pat=$2 rc=0
  shift 2
  "$T/tmmerge" "$@" > "$W/stdout" 2> "$W/err" || rc=$?
  if [ "$rc" = 2 ] && grep -q -- "$pat" "$W/err"; then pass "$what"; else
    fail "$what: exit $rc, expected 2 and '$pat'; stderr: $(cat "$W/err")"
  fi
}

# --- recorded files of different processes and Python dumps, mixed ---
INS=("$G/full.tms" "$G/inline.tms" "$G/tiny.tms" "$P/real-3.12.pickle" "$P/many.pickle")
"$T/tmmerge" -o "$W/m.tms" "${INS[@]}" 2> "$W/err" || fail "tmmerge of .tms and pickles: $(cat "$W/err")"
merged_is_sum "golden .tms + pickles" "$W/m.tms" "${INS[@]}"
"$T/tmmerge" -o "$W/m2.tms" "${INS[@]}" 2> /dev/null
check "same inputs, same bytes" cmp -s "$W/m.tms" "$W/m2.tms"
"$T/tminfo" "$W/m.tms" > "$W/info" 2> /dev/null
check "metadata: trigger merge" grep -q '^  trigger  *merge$' "$W/info"
check "metadata: argv names each input with its program, pid, host, start and argv" \
  grep -qF "'$G/full.tms: program=/opt/srv/bin/server pid=424242 host=build-host-7 start_time_ns=1700000000000000000 argv=server --port 8080 it's \"quoted\"' '$G/inline.tms: program=/usr/bin/app pid=1234 host= start_time_ns=0 argv=app --x'" "$W/info"
check "metadata: five inputs in argv" test "$(grep -o "pickle: program=\|tms: program=" "$W/info" | wc -l)" = 5
check "metadata: pid unknown when the inputs differ" grep -q '^  pid  *unknown$' "$W/info"
"$T/tmmerge" -o "$W/p.tms" "$P/real-3.12.pickle" "$P/real-3.12.pickle" 2> /dev/null
merged_is_sum "a Python dump twice (no pid: cannot be told apart)" "$W/p.tms" "$P/real-3.12.pickle" "$P/real-3.12.pickle"

# like any snapshot
quiet() { "$@" > /dev/null 2>&1; }
check "tmdiff reads it" quiet "$T/tmdiff" "$G/full.tms" "$W/m.tms" --top 3
check "tmexport reads it" quiet "$T/tmexport" folded "$W/m.tms" -o "$W/m.folded"
check "tmconv writes it as a Python dump" quiet "$T/tmconv" "$W/m.tms" "$W/m.pickle"

# --- refusals and bad use ---
expect2 "the same process twice refused" "are snapshots of the same process (pid 424242 on host 'build-host-7'" \
  -o "$W/x.tms" "$G/full.tms" "$G/inline.tms" "$G/full.tms"
check "nothing written on refusal" test ! -e "$W/x.tms"
expect2 "no -o" "missing -o" "$G/full.tms"
expect2 "no inputs" "no input snapshots" -o "$W/x.tms"
expect2 "a missing input is named" "$W/none.tms" -o "$W/x.tms" "$G/full.tms" "$W/none.tms"
expect2 "a bad input is named" "bad-lineno.pickle" -o "$W/x.tms" "$G/full.tms" "$P/bad-lineno.pickle"
expect2 "an unknown option" "--bogus" -o "$W/x.tms" --bogus "$G/full.tms"
"$T/tmmerge" --help > "$W/help"
check "--help names -o" grep -q -- '-o, --output FILE' "$W/help"

# --- two runs of a C++ program under the recorder ---
if [ "$TM_SANITIZE" = 1 ]; then
  skip "LD_PRELOAD of the recorder into a sanitized process is not possible: no recorded-program part"
  finish
fi
APP=$B/samples/inventory
[ -x "$APP" ] || { fail "$APP not built"; finish; }
for r in a b; do
  (cd "$W" && "$B/recorder/tmrun" --peak -o "$r.tms" -- "$APP" > /dev/null 2>&1) || fail "run $r under tmrun exited with $?"
done
"$T/tmmerge" -o "$W/ab.tms" "$W/a.peak.tms" "$W/b.peak.tms" "$P/real-3.12.pickle" 2> "$W/err" ||
  fail "tmmerge of two runs: $(cat "$W/err")"
merged_is_sum "two runs at the peak + a pickle" "$W/ab.tms" "$W/a.peak.tms" "$W/b.peak.tms" "$P/real-3.12.pickle"
mods() { "$T/tminfo" "$1" 2> /dev/null | awk '$1 == "modules" { print $2 }'; }
check "one binary in two processes is one module ($(mods "$W/a.peak.tms") and $(mods "$W/ab.tms"))" \
  test "$(mods "$W/a.peak.tms")" = "$(mods "$W/ab.tms")"
"$T/tmmerge" -o "$W/ab2.tms" "$W/a.peak.tms" "$W/b.peak.tms" "$P/real-3.12.pickle" 2> /dev/null
check "recorded inputs: same inputs, same bytes" cmp -s "$W/ab.tms" "$W/ab2.tms"
expect2 "the peak and the exit snapshot of one run refused" "same process" -o "$W/x.tms" "$W/a.tms" "$W/a.peak.tms"
"$T/tmexport" pprof "$W/ab.tms" -o "$W/ab.pb.gz" 2> /dev/null
check "tmexport pprof of the merged snapshot" test -s "$W/ab.pb.gz"
finish
