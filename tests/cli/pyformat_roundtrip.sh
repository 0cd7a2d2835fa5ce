#!/bin/bash
# Python dump -> tmconv -> .tms -> tmconv -> Python dump: python3's own
# tracemalloc must load the result and compute identical statistics.
# Also: a real take_snapshot() dump, every other installed Python >= 3.9
# loading our output, and dumps written by Python <= 3.8 (3-tuple traces).
set -euo pipefail
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
TMCONV=$B/tools/tmconv
W=$TM_WORK

cat > "$W/make.py" <<'PY'
import random, sys, tracemalloc
random.seed(int(sys.argv[2]))
files = ["/src/m%d.py" % i for i in range(40)] + ["ünï/cødé.py", "<unknown>"]
frames = [(random.choice(files), random.randint(0, 500)) for _ in range(300)]
tbs = [tuple(random.choice(frames) for _ in range(random.randint(1, 12))) for _ in range(400)]
traces = []
for _ in range(5000):
    tb = random.choice(tbs)
    traces.append((random.choice([0, 0, 0, 1, 42, 2**32 - 1]),
                   random.choice([random.randint(1, 5000), random.randint(1, 2**64 - 1)]),
                   tb, len(tb) + random.randint(0, 3)))
tracemalloc.Snapshot(traces, 12).dump(sys.argv[1])
PY

cat > "$W/real.py" <<'PY'
import sys, tracemalloc
tracemalloc.start(8)
def leaf(n): return [bytearray(n) for _ in range(20)]
def mid(n): return [leaf(n), leaf(2 * n)]
keep = [mid(i * 10 + 1) for i in range(30)]
d = {str(i): i for i in range(500)}
tracemalloc.take_snapshot().dump(sys.argv[1])
PY

# Prints everything statistics can show, so two loads can be diffed.
cat > "$W/stats.py" <<'PY'
import sys, tracemalloc
s = tracemalloc.Snapshot.load(sys.argv[1])
print("limit", s.traceback_limit, "traces", len(s.traces))
for key in ("lineno", "filename", "traceback"):
    for st in s.statistics(key):
        print(key, st)
        if key == "traceback":
            # total_nframe exists since 3.9; before, it was len(frames).
            total = getattr(st.traceback, "total_nframe", None)
            print("  ", len(st.traceback) if total is None else total,
                  [str(f) for f in st.traceback])
for key in ("lineno", "filename"):
    for st in s.statistics(key, cumulative=True):
        print("cumulative", key, st)
for dom in (0, 42):
    f = s.filter_traces([tracemalloc.DomainFilter(True, dom)])
    print("domain", dom, len(f.traces), sum(t.size for t in f.traces))
PY

# One assertion: the first problem found is the failure.
check_pair() {  # $1 original dump, $2 converted dump, $3 python for $1, $4 python for $2
    "$3" "$W/stats.py" "$1" > "$W/a.txt" || { fail "$3 cannot load $1"; return 0; }
    "$4" "$W/stats.py" "$2" > "$W/b.txt" || { fail "$4 cannot load $2"; return 0; }
    [ "$(wc -l < "$W/a.txt")" -gt 3 ] || { fail "too little output for $1"; return 0; }
    diff -u "$W/a.txt" "$W/b.txt" > "$W/diff.txt" || { head -40 "$W/diff.txt"; fail "statistics differ: $1 vs $2"; return 0; }
    pass "same statistics: $(basename "$1") ($3) and $(basename "$2") ($4)"
}

python3 "$W/make.py" "$W/orig.pickle" 1
"$TMCONV" "$W/orig.pickle" "$W/a.tms" && pass || fail "pickle -> tms"
"$TMCONV" "$W/a.tms" "$W/back.pickle" && pass || fail "tms -> pickle"
check_pair "$W/orig.pickle" "$W/back.pickle" python3 python3
# Straight pickle -> pickle, and the --to flag overriding the extension.
"$TMCONV" "$W/orig.pickle" "$W/direct.tms" --to python && pass || fail "--to python"
check_pair "$W/orig.pickle" "$W/direct.tms" python3 python3
"$TMCONV" --to tms "$W/orig.pickle" "$W/b.dat" && pass || fail "--to tms"
"$TMCONV" "$W/b.dat" "$W/b.pickle" && pass || fail "tms (named .dat) -> pickle"
check_pair "$W/orig.pickle" "$W/b.pickle" python3 python3
# Our output is no bigger than Python's own dump (memo sharing works).
o=$(stat -c %s "$W/orig.pickle"); b=$(stat -c %s "$W/back.pickle")
[ "$b" -le $((o + o / 10)) ] && pass || fail "our dump is $b bytes, Python's $o"

python3 "$W/real.py" "$W/real.pickle"
"$TMCONV" "$W/real.pickle" "$W/real.tms" && "$TMCONV" "$W/real.tms" "$W/real2.pickle" && pass || fail "real dump"
check_pair "$W/real.pickle" "$W/real2.pickle" python3 python3

# Atomic replace: an existing OUT is replaced, no temporary files remain.
echo old > "$W/over.pickle"
"$TMCONV" "$W/orig.pickle" "$W/over.pickle"
check_pair "$W/orig.pickle" "$W/over.pickle" python3 python3
if ls "$W" | grep -q '\.tmp\.'; then fail "temporary file left behind"; else pass; fi

# Other Pythons, when installed: >= 3.9 must load what we write; dumps
# written by 3.7..3.8 (3-tuples) must convert to the same statistics.
for py in /root/.pyenv/versions/3.*/bin/python3; do
    [ -x "$py" ] || continue
    ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    case $ver in 3.[0-6]) continue ;; esac  # 3.6 listed tracebacks newest first
    "$py" "$W/real.py" "$W/v.pickle"
    "$TMCONV" "$W/v.pickle" "$W/v.tms" && "$TMCONV" "$W/v.tms" "$W/v2.pickle" && pass || fail "dump from $ver"
    check_pair "$W/v.pickle" "$W/v2.pickle" "$py" python3
    case $ver in 3.[7-8]) ;; *) check_pair "$W/orig.pickle" "$W/back.pickle" python3 "$py" ;; esac
done
finish
