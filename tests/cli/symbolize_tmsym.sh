#!/usr/bin/env bash
# tmsym on snapshots: builds a test program, writes a .tms whose frames
# point into it (and into a missing module and a module with another
# build-id), runs tmsym, and checks the result and the notes.
set -euo pipefail
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
bin=$TM_BUILD_DIR
src=$TM_SOURCE_DIR/tests/symbolize
mk="$bin/tests/bench/tm_symbolize_mksnap"
[ -x "$mk" ] || { echo "FAIL: $mk not built"; exit 1; }
work=$TM_WORK
gcc -g -O2 -gdwarf-5 -I "$src" "$src/sym_main.c" "$src/sym_lib.c" -o "$work/prog"
"$mk" "$work/prog" "$work/in.tms" > "$work/expected.txt"
cp "$work/in.tms" "$work/orig.tms"
# 1. separate output
"$bin/tools/tmsym" "$work/in.tms" -o "$work/out.tms" 2> "$work/err.txt" || { echo "FAIL: tmsym exit $?"; cat "$work/err.txt"; exit 1; }
check "input not modified with -o" cmp -s "$work/in.tms" "$work/orig.tms"
check "a note for the missing module" grep -q "missing" "$work/err.txt"
check "a note for the build-id mismatch" grep -q "build-id mismatch" "$work/err.txt"
"$mk" --check "$work/out.tms" "$work/prog" > "$work/check.txt" && pass "symbolized snapshot check" ||
    { cat "$work/check.txt"; fail "symbolized snapshot check"; }
# 1b. filtering a snapshot symbolized in memory, whose frames link to inline
# callers the symbolizer created after them (tm_snapshot_filter_traces).
"$mk" --filter "$work/in.tms" > "$work/filter.txt" && pass "filtering a symbolized snapshot" ||
    { cat "$work/filter.txt"; fail "filtering a symbolized snapshot"; }
# 2. in place
check "tmsym in place" bash -c '"$0" -q "$1" 2>/dev/null' "$bin/tools/tmsym" "$work/in.tms"
check "in-place result" bash -c '"$0" --check "$1" "$2" > /dev/null' "$mk" "$work/in.tms" "$work/prog"
# 3. bad input: exit 2 with a message naming the file
printf 'not a snapshot' > "$work/bad.tms"
set +e
"$bin/tools/tmsym" "$work/bad.tms" 2> "$work/bad.err"; rc=$?
set -e
check "bad input: exit 2 (got $rc)" test "$rc" = 2
check "bad input: the error names the file" grep -q "bad.tms" "$work/bad.err"
finish
