#!/bin/bash
# The tools on sampled snapshots (.tms 1.1, tm_metadata.sample_rate): a known
# population of blocks is Poisson-sampled by tm_sample_gen, and every number
# tmstat / tmdiff print (estimates, standard errors, diffs of sampled and
# exact or of two rates, text lines) is recomputed by sampled_check.py from
# the kept traces alone, with the spec's formulas and Python's tracemalloc
# formatting; estimates must lie within 4 standard errors of the truth, and
# over 40 samples show no bias.  Also: the header line, its place with
# --no-header and csv, gates on estimates, tminfo's labels, exports (folded,
# pprof) carrying the estimates, tmconv and tmmerge refusing what they cannot
# represent.
set -euo pipefail
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
T=$TM_BUILD_DIR/tools
GEN=$TM_BUILD_DIR/tests/tm_sample_gen
W=$TM_WORK
CHECK="python3 $TM_SOURCE_DIR/tests/cli/sampled_check.py"
R=524288 # 512 KiB
R2=65536 # 64 KiB

"$GEN" "$W/a" $R 1
"$GEN" "$W/b" $R2 2
"$GEN" "$W/c" $R 3
for f in a b c; do "$T/tminfo" --traces "$W/$f.kept.tms" > "$W/$f.kept.txt"; done
"$T/tminfo" --traces "$W/a.full.tms" > "$W/full.txt"
"$T/tmstat" "$W/a.full.tms" --format json --top 0 > "$W/full.json"

# --- tmstat: estimates and standard errors, against the independent oracle
"$T/tmstat" "$W/a.tms" --format json --top 0 > "$W/a.json"
check "tmstat json: estimates, standard errors, text, within 4 SE of the truth" \
  $CHECK stat "$W/a.json" $R "$W/a.kept.txt" "$W/full.json"
"$T/tmstat" "$W/b.tms" --format json --top 0 > "$W/b.json"
check "tmstat json at 64 KiB" $CHECK stat "$W/b.json" $R2 "$W/b.kept.txt" "$W/full.json"
# The oracle can fail: the kept sizes read as an exact snapshot are not estimates.
"$T/tmstat" "$W/a.kept.tms" --format json --top 0 > "$W/kept.json"
if $CHECK stat "$W/kept.json" $R "$W/a.kept.txt" 2> /dev/null; then
  fail "the oracle accepted the raw kept sizes as estimates"
else
  pass "the oracle refuses unweighted sizes"
fi

# --- the header line
hdr="[ sampled: sizes and counts are estimates from a Poisson sample, one per 512 KiB on average ]"
"$T/tmstat" "$W/a.tms" --top 0 > "$W/a.txt"
[ "$(sed -n 2p "$W/a.txt")" = "$hdr" ] && pass "header line" ||
  { fail "header line: $(sed -n 2p "$W/a.txt")"; }
python3 -c '
import json, sys
rep = json.load(open(sys.argv[1]))
want = [s["text"] for s in rep["statistics"]]
got = open(sys.argv[2]).read().splitlines()[2:]
sys.exit(0 if got == want else "text lines %r, json %r" % (got, want))' "$W/a.json" "$W/a.txt" &&
  pass "text lines are the json's text (tracemalloc's form)" || fail "text lines differ from json"
"$T/tmstat" "$W/a.tms" --no-header > "$W/nh.out" 2> "$W/nh.err"
grep -qxF "$hdr" "$W/nh.err" && ! grep -q '^\[' "$W/nh.out" && pass "--no-header: header line on stderr" ||
  fail "--no-header: $(cat "$W/nh.err")"
"$T/tmstat" "$W/a.tms" --format csv > "$W/a.csv" 2> "$W/csv.err"
grep -qxF "$hdr" "$W/csv.err" && pass "csv: header line on stderr" || fail "csv: $(cat "$W/csv.err")"
head -1 "$W/a.csv" | grep -q '^rank,filename,lineno,size,count,average,size_stderr,count_stderr,traceback' &&
  pass "csv: standard error columns" || fail "csv header: $(head -1 "$W/a.csv")"
"$T/tmstat" "$W/a.full.tms" > "$W/full.txt.out"
grep -q sampled "$W/full.txt.out" && fail "an exact snapshot says sampled" || pass "exact: no sampled line"

# --- tmdiff: sampled vs exact, two rates, same rate
"$T/tmdiff" "$W/a.full.tms" "$W/a.tms" --format json --top 0 > "$W/d1.json"
check "tmdiff exact -> sampled: each side's estimate, SE of the difference = the sampled side's" \
  $CHECK diff "$W/d1.json" 0 "$W/full.txt" $R "$W/a.kept.txt" same-population
"$T/tmdiff" "$W/b.tms" "$W/a.tms" --format json --top 0 > "$W/d2.json"
check "tmdiff 64 KiB -> 512 KiB: SE of the difference sqrt(var a + var b)" \
  $CHECK diff "$W/d2.json" $R2 "$W/b.kept.txt" $R "$W/a.kept.txt" same-population
"$T/tmdiff" "$W/a.tms" "$W/c.tms" --format json --top 0 > "$W/d3.json"
check "tmdiff two samples at one rate" \
  $CHECK diff "$W/d3.json" $R "$W/a.kept.txt" $R "$W/c.kept.txt" same-population
"$T/tmdiff" "$W/b.tms" "$W/a.tms" | sed -n 2p > "$W/d2.hdr"
grep -qxF "[ sampled: sizes and counts are estimates; old: a Poisson sample, one per 64 KiB on average; new: a Poisson sample, one per 512 KiB on average ]" "$W/d2.hdr" &&
  pass "tmdiff header names both rates" || fail "tmdiff header: $(cat "$W/d2.hdr")"
"$T/tmdiff" "$W/a.full.tms" "$W/a.tms" | sed -n 2p > "$W/d1.hdr"
grep -qF "old: exact; new: a Poisson sample, one per 512 KiB" "$W/d1.hdr" &&
  pass "tmdiff header: exact side" || fail "tmdiff header: $(cat "$W/d1.hdr")"
python3 "$TM_SOURCE_DIR/tests/cli/gate_validate.py" "$TM_SOURCE_DIR/doc/report-schema.json" \
  "$W/a.json" "$W/d1.json" "$W/d2.json" > "$W/schema.log" 2>&1 && pass "json matches the schema" ||
  { fail "schema"; cat "$W/schema.log" >&2; }

# --- gates test the estimates
total=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total_size"])' "$W/a.json")
set +e
"$T/tmstat" "$W/a.tms" --fail-above $((total - 1)) > /dev/null 2> "$W/g1.err"
rc1=$?
"$T/tmstat" "$W/a.tms" --fail-above $total > /dev/null 2> "$W/g2.err"
rc2=$?
set -e
[ $rc1 = 1 ] && [ $rc2 = 0 ] && pass "--fail-above gates the estimated total ($total B)" ||
  fail "--fail-above: exit $rc1 / $rc2"
grep -q "gate on estimates from a sample: the measured total size has a standard error of" "$W/g1.err" &&
  pass "the gate says it tests an estimate" || fail "gate stderr: $(cat "$W/g1.err")"

# --- tminfo labels
"$T/tminfo" "$W/a.tms" > "$W/info"
grep -q "^  sample rate     524288 B (Poisson sample by bytes, one kept block per 512 KiB" "$W/info" &&
  grep -q "^  traced current  0 B (estimate)" "$W/info" && grep -q "^  traces .* kept blocks (estimated" "$W/info" &&
  grep -q "^/.*\.tms: .tms format version 1.1" "$W/info" &&
  pass "tminfo: rate, estimates, version 1.1" || { fail "tminfo"; cat "$W/info" >&2; }

# --- exports carry the estimates
"$T/tmexport" folded "$W/a.tms" > "$W/a.folded"
python3 -c '
import json, sys
groups = sum(s["size"] for s in json.load(open(sys.argv[1]))["statistics"])
folded = sum(int(l.rsplit(" ", 1)[1]) for l in open(sys.argv[2]))
sys.exit(0 if groups == folded else "folded %d, tmstat %d" % (folded, groups))' "$W/a.json" "$W/a.folded" &&
  pass "folded weights are the estimates" || fail "folded weights"
if command -v protoc > /dev/null; then
  "$T/tmexport" pprof "$W/a.tms" -o "$W/a.pb.gz"
  gzip -dc "$W/a.pb.gz" | protoc --decode perftools.profiles.Profile \
    -I "$TM_SOURCE_DIR/tests/fixtures/pprof" profile.proto > "$W/a.pb.txt"
  read -r _ objects space < <(python3 "$TM_SOURCE_DIR/tests/cli/pprof_check.py" totals "$W/a.pb.txt")
  want=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(s["size"] for s in r["statistics"]), sum(s["count"] for s in r["statistics"]))' "$W/a.json")
  [ "$space $objects" = "$want" ] && pass "pprof: values scaled by weight ($space B, $objects objects)" ||
    fail "pprof totals $space $objects, tmstat $want"
  grep -q "^period: $R\$" "$W/a.pb.txt" && grep -q 'sampled: a Poisson sample' "$W/a.pb.txt" &&
    pass "pprof: period is the rate, a comment says sampled" || fail "pprof period/comment"
else
  skip "protoc not installed: pprof export not decoded"
fi

"$T/tmexport" flamegraph "$W/a.tms" -o "$W/a.html"
grep -qF "in $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total_count"])' "$W/a.json") allocations (estimates from a Poisson sample, one per 512 KiB on average)" "$W/a.html" &&
  pass "flame graph subtitle: estimated allocations and the rate" || fail "flame graph subtitle"

# --- rewriting a sampled snapshot keeps its rate
"$T/tmsym" "$W/a.tms" -o "$W/sym.tms" 2> /dev/null
"$T/tmstat" "$W/sym.tms" --format json --top 0 > "$W/sym.json"
check "tmsym -o keeps the sample and its rate" $CHECK stat "$W/sym.json" $R "$W/a.kept.txt"

# --- malformed sampling sections: exit 2, naming the file and the section
mkdir "$W/bad"
"$GEN" --bad "$W/bad"
"$T/tmstat" "$W/bad/bad-good.tms" > /dev/null && pass "the patched control file reads" ||
  fail "the patched control file does not read"
while read -r kind msg; do
  set +e
  "$T/tmstat" "$W/bad/bad-$kind.tms" > /dev/null 2> "$W/bad.err"
  rc=$?
  set -e
  [ $rc = 2 ] && grep -q "^tmstat: $W/bad/bad-$kind.tms: section .*$msg" "$W/bad.err" &&
    pass "$kind: exit 2, $msg" || fail "$kind: exit $rc: $(cat "$W/bad.err")"
done << 'LIST'
rate0 'sampling' at byte [0-9]*: byte [0-9]*: sampling rate 0
estimator9 'sampling' at byte [0-9]*: byte [0-9]*: unknown estimator 9; the file needs a newer reader
duplicate 'sampling' at byte [0-9]*: duplicate section
noncritical 'sampling' at byte [0-9]*: byte [0-9]*: the sampling section is not flagged critical
trailing 'sampling' at byte [0-9]*: byte [0-9]*: 1 unexpected bytes after the estimator
as-1.0 at byte [0-9]*: unknown critical section type 99; the file (format version 1.1) needs a newer reader
LIST

# --- what cannot represent a sample refuses it
set +e
"$T/tmconv" "$W/a.tms" "$W/a.pickle" 2> "$W/conv.err"
rc=$?
set -e
[ $rc = 2 ] && [ ! -e "$W/a.pickle" ] && grep -q "sampled snapshot .* cannot be written as a Python tracemalloc dump" "$W/conv.err" &&
  pass "tmconv refuses a sampled snapshot for Python (exit 2)" || fail "tmconv: exit $rc: $(cat "$W/conv.err")"
set +e
"$T/tmmerge" -o "$W/m.tms" "$W/a.tms" "$W/b.tms" 2> "$W/merge.err"
rc=$?
set -e
[ $rc = 2 ] && [ ! -e "$W/m.tms" ] && grep -q "different sampling rates cannot be merged" "$W/merge.err" &&
  pass "tmmerge refuses different rates (exit 2)" || fail "tmmerge: exit $rc: $(cat "$W/merge.err")"
"$T/tmmerge" -o "$W/m.tms" "$W/a.tms" "$W/c.tms"
"$T/tmstat" "$W/m.tms" --format json --top 0 > "$W/m.json"
cat "$W/a.kept.txt" "$W/c.kept.txt" > "$W/ac.kept.txt"
check "tmmerge of one rate: a sample of that rate, the union's estimates" \
  $CHECK stat "$W/m.json" $R "$W/ac.kept.txt"

# --- no bias over many samples (the generator's Bernoulli draws with p(s))
reports=()
for seed in $(seq 100 139); do
  "$GEN" "$W/s" 262144 "$seed"
  "$T/tmstat" "$W/s.tms" --format json --top 0 > "$W/s$seed.json"
  reports+=("$W/s$seed.json")
done
check "40 samples at 256 KiB: mean relative error of the total within 4 SE of 0" \
  $CHECK bias "$W/full.json" "${reports[@]}"
finish
