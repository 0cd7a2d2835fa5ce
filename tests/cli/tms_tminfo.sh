#!/bin/bash
# tminfo's report: header, sections, metadata, counts, --traces with inline
# chains; a Python tracemalloc dump; usage errors exit 2.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
TMINFO=$B/tools/tminfo
work=$TM_WORK
has() {   # has FILE LINE-REGEX
    if grep -Eq -- "$2" "$1"; then pass; else fail "missing /$2/ in output:"; cat "$1" >&2; fi
}

"$B/tests/fuzz/tms_seed_gen" "$work" || { echo "FAIL: tms_seed_gen" >&2; exit 1; }

"$TMINFO" --traces "$work/inline.tms" >"$work/out" 2>"$work/err" && pass || fail "inline.tms: exit $?"
out=$work/out
has "$out" "^$work/inline.tms: \.tms format version 1\.0, [0-9]+ bytes, 6 sections$"
has "$out" "^  [0-9]+ +6 +traces +critical +raw +11 +11 +1\.00x$"
has "$out" "^  program +/usr/bin/app$"
has "$out" "^  argv +'app' '--x'$"
has "$out" "^  pid +1234$"
has "$out" "^  trigger +exit$"
has "$out" "^  snapshot time +2023-11-14T22:13:20\.123456789Z \(1700000000123456789 ns\)$"
has "$out" "^  traced peak +8192 B$"
has "$out" "^  frames +3$"
has "$out" "^  traces +1$"
has "$out" "^trace 0: domain=7 size=4096 total_nframe=40 nframe=2$"
has "$out" "^  #0 helper \(app\.h:4\) \[app\+0x1234\]$"
has "$out" "^     inlined into main \(app\.c:10\) \[app\+0x1234\]$"
has "$out" "^  #1 \[app\+0x2000\]$"

"$TMINFO" "$work/mixed.tms" >"$out" && pass || fail "mixed.tms: exit $?"
has "$out" " +traces +critical +zstd +[0-9]+ +[0-9]+ +[0-9.]+x$"
has "$out" "^  traces +300$"
grep -q '^trace ' "$out" && fail "traces listed without --traces" || pass

# The tiny file of the spec: two traces, sorted by the writer.
"$TMINFO" --traces "$work/tiny.tms" >"$out" && pass || fail "tiny.tms: exit $?"
has "$out" "^trace 0: domain=0 size=32 total_nframe=2 nframe=2$"
has "$out" "^trace 1: domain=0 size=48 total_nframe=2 nframe=2$"
has "$out" "^  #0 a\.py:3$"
has "$out" "^  #1 a\.py:9$"
has "$out" "^  total size +80 B$"

# A Python tracemalloc dump is recognised by content.
if python3 - "$work/py.pickle" <<'PY'
import sys, tracemalloc
tb = (('x.py', 3), ('y.py', 9))
snap = tracemalloc.Snapshot([(0, 100, tb, 2), (0, 28, tb[:1], 1)], 10)
snap.dump(sys.argv[1])
PY
then
    "$TMINFO" "$work/py.pickle" >"$out" 2>"$work/err" && pass || fail "pickle: exit $? $(cat "$work/err")"
    has "$out" "Python tracemalloc snapshot \(pickle\)"
    has "$out" "^  traces +2$"
    has "$out" "^  total size +128 B$"
else
    fail "python3 could not write a tracemalloc dump"
fi

# Errors: exit 2 with a message.
"$TMINFO" >/dev/null 2>"$work/err"; [ $? -eq 2 ] && pass || fail "no args: exit"
grep -q "tminfo: no FILE" "$work/err" && pass || fail "no args: message"
"$TMINFO" --bogus x >/dev/null 2>"$work/err"; [ $? -eq 2 ] && pass || fail "bad option: exit"
"$TMINFO" "$work/nope.tms" >/dev/null 2>"$work/err"; [ $? -eq 2 ] && pass || fail "missing file: exit"
grep -q "nope.tms: cannot open" "$work/err" && pass || fail "missing file: message"
echo "hello" >"$work/text.txt"
"$TMINFO" "$work/text.txt" >/dev/null 2>"$work/err"; [ $? -eq 2 ] && pass || fail "text file: exit"
grep -q "text.txt" "$work/err" && pass || fail "text file: message"
"$TMINFO" --help >/dev/null && pass || fail "--help: exit"

finish
