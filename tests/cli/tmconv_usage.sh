#!/bin/bash
# tmconv's command line: help, usage errors, missing files (exit 0 / 2).
set -euo pipefail
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
T=$B/tools/tmconv
W=$TM_WORK
rc() { local r=0; "$@" >/dev/null 2>"$W/err" || r=$?; echo $r; }

[ "$(rc "$T" --help)" = 0 ] && pass || fail "--help"
"$T" --help | grep -q -- "--to tms" && pass || fail "--help does not document --to"
[ "$(rc "$T")" = 2 ] && pass || fail "no arguments"
[ "$(rc "$T" a)" = 2 ] && pass || fail "one argument"
[ "$(rc "$T" a b c)" = 2 ] && pass || fail "three arguments"
[ "$(rc "$T" --bogus a b)" = 2 ] && pass || fail "unknown option"
grep -q "unknown option '--bogus'" "$W/err" && pass || fail "unknown option message"
[ "$(rc "$T" a b --to json)" = 2 ] && pass || fail "bad --to"
grep -q "'tms' or 'python'" "$W/err" && pass || fail "bad --to message"
[ "$(rc "$T" "$W/missing.pickle" "$W/o.pickle")" = 2 ] && pass || fail "missing input"
grep -q "missing.pickle" "$W/err" && pass || fail "missing input message"
printf 'hello' > "$W/text.txt"
[ "$(rc "$T" "$W/text.txt" "$W/o.pickle")" = 2 ] && pass || fail "non-snapshot input"
grep -q "text.txt" "$W/err" && pass || fail "non-snapshot message"
# Output directory that does not exist: input error, exit 2, message names it.
python3 -c 'import tracemalloc,sys; tracemalloc.Snapshot([], 1).dump(sys.argv[1])' "$W/e.pickle"
[ "$(rc "$T" "$W/e.pickle" "$W/nodir/o.pickle")" = 2 ] && pass || fail "unwritable output"
grep -q "nodir/o.pickle" "$W/err" && pass || fail "unwritable output message"
[ "$(rc "$T" "$W/e.pickle" "$W/o.pickle")" = 0 ] && pass || fail "empty snapshot"
python3 -c 'import tracemalloc,sys; s=tracemalloc.Snapshot.load(sys.argv[1]); assert len(s.traces)==0 and s.traceback_limit==1' "$W/o.pickle" \
    && pass || fail "empty snapshot does not load in Python"
finish
