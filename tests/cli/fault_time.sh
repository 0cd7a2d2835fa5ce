#!/bin/bash
# Time on hostile input (formats/LIMITS.md, "Time"): snapshots built to make
# per-stack walks quadratic stay linear.  A .tms file of 600 KB holding one
# chain of 65535 frames with 65535 distinct leaves under it (4.3e9 frames if
# every stack were walked: the cumulative statistics did, 17 s), and a Python
# dump of 1.5 MB whose 160000 traces share one 65535-frame traceback through
# the pickle memo.  Each tool run must finish within 2 s; the one path that is
# O(groups x depth) by its API (--by traceback over distinct deep stacks) is
# refused by the memory budget instead, within it.
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/fault/fault_lib.bash"
T=$B/tools
GEN=$B/tests/fault/deep_stacks
[ -x /usr/bin/time ] || skip_test "/usr/bin/time is not installed (scripts/deps.sh installs 'time')"
[ -x "$GEN" ] || { fail "$GEN not built"; finish; }

ok_within() { # ok_within NAME CMD... : exit 0 within 256 MiB and 2 s
    local name=$1; shift
    measure "$name" "$@"
    [ "$RC" -eq 0 ] && pass || fail "$name: exit $RC: $(head -c 300 "$W/err")"
    within "$name" $((256 * 1024)) 2
}

f=$W/deep.tms
"$GEN" 65535 65535 "$f" || { fail "deep_stacks failed"; finish; }
for key in lineno filename function; do
    ok_within "tmstat --by $key --cumulative" "$T/tmstat" "$f" --by "$key" --cumulative
done
ok_within "tmstat --by lineno" "$T/tmstat" "$f" --by lineno
ok_within "tmstat --include, all frames" "$T/tmstat" "$f" --include 'src/f1.c' --by lineno
ok_within "tmdiff --cumulative" "$T/tmdiff" "$f" "$f" --by lineno --cumulative
ok_within "tmexport flamegraph" "$T/tmexport" flamegraph "$f" -o "$W/f.html"
ok_within "tmexport diff" "$T/tmexport" diff "$f" "$f" -o "$W/d.html"
ok_within "tmmerge" "$T/tmmerge" -o "$W/m.tms" "$f" "$f"
# The cumulative result is right, not just fast: each of the 65535 chain
# frames holds every trace, each leaf one.
"$T/tmstat" "$f" --by lineno --cumulative --top 200000 >"$W/out" 2>"$W/err"
chain=$(grep -c ", count=65535," "$W/out") leaves=$(grep -c ", count=1," "$W/out")
[ "$chain" = 65535 ] && [ "$leaves" = 65535 ] && pass ||
    fail "cumulative: $chain lines with count 65535 and $leaves with 1, expected 65535 each"
measure "tmstat --by traceback, 256 MiB" "$T/tmstat" "$f" --by traceback --limit 1 --max-memory 256MiB
[ "$RC" -eq 2 ] && grep -qF "exceeds the memory budget of 256 MiB" "$W/err" && pass ||
    fail "--by traceback over 65535 x 65535 frames: exit $RC: $(head -c 300 "$W/err")"
within "tmstat --by traceback, 256 MiB" $((256 * 1024)) 2

p=$W/shared.pickle
python3 - "$p" <<'PY' || fail "python3 could not write the pickle"
import pickle, sys, tracemalloc
tb = tuple(('f%d.py' % (k % 50), k + 1) for k in range(65535))
traces = [(0, 16 + i % 100, tb, 65535) for i in range(160000)]
with open(sys.argv[1], 'wb') as f:
    pickle.dump(tracemalloc.Snapshot(traces, 65535), f, protocol=4)
PY
ok_within "pickle: tmstat --by traceback" "$T/tmstat" "$p" --by traceback --limit 1
ok_within "pickle: tmstat --cumulative" "$T/tmstat" "$p" --by lineno --cumulative
ok_within "pickle: tmconv to .tms" "$T/tmconv" "$p" "$W/p.tms"
finish
