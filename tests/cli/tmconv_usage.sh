#!/bin/bash
# tmconv's command line: help, usage errors, missing files (exit 0 / 2).
set -euo pipefail
B=${TM_BUILD_DIR:-$PWD}
T=$B/tools/tmconv
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
rc() { local r=0; "$@" >/dev/null 2>"$W/err" || r=$?; echo $r; }

[ "$(rc "$T" --help)" = 0 ] || fail "--help"
"$T" --help | grep -q -- "--to tms" || fail "--help does not document --to"
[ "$(rc "$T")" = 2 ] || fail "no arguments"
[ "$(rc "$T" a)" = 2 ] || fail "one argument"
[ "$(rc "$T" a b c)" = 2 ] || fail "three arguments"
[ "$(rc "$T" --bogus a b)" = 2 ] || fail "unknown option"
grep -q "unknown option '--bogus'" "$W/err" || fail "unknown option message"
[ "$(rc "$T" a b --to json)" = 2 ] || fail "bad --to"
grep -q "'tms' or 'python'" "$W/err" || fail "bad --to message"
[ "$(rc "$T" "$W/missing.pickle" "$W/o.pickle")" = 2 ] || fail "missing input"
grep -q "missing.pickle" "$W/err" || fail "missing input message"
printf 'hello' > "$W/text.txt"
[ "$(rc "$T" "$W/text.txt" "$W/o.pickle")" = 2 ] || fail "non-snapshot input"
grep -q "text.txt" "$W/err" || fail "non-snapshot message"
# Output directory that does not exist: input error, exit 2, message names it.
python3 -c 'import tracemalloc,sys; tracemalloc.Snapshot([], 1).dump(sys.argv[1])' "$W/e.pickle"
[ "$(rc "$T" "$W/e.pickle" "$W/nodir/o.pickle")" = 2 ] || fail "unwritable output"
grep -q "nodir/o.pickle" "$W/err" || fail "unwritable output message"
[ "$(rc "$T" "$W/e.pickle" "$W/o.pickle")" = 0 ] || fail "empty snapshot"
python3 -c 'import tracemalloc,sys; s=tracemalloc.Snapshot.load(sys.argv[1]); assert len(s.traces)==0 and s.traceback_limit==1' "$W/o.pickle" \
    || fail "empty snapshot does not load in Python"
echo "tmconv_usage: ok"
