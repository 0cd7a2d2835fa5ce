#!/usr/bin/env bash
# tmsym on snapshots: builds a test program, writes a .tms whose frames
# point into it (and into a missing module and a module with another
# build-id), runs tmsym, and checks the result and the notes.
set -euo pipefail
bin="${TM_BUILD_DIR:-.}"
src="${TM_SOURCE_DIR:?TM_SOURCE_DIR not set}/tests/symbolize"
mk="$bin/tests/bench/tm_symbolize_mksnap"
[ -x "$mk" ] || { echo "FAIL: $mk not built"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tm-symcli.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
gcc -g -O2 -gdwarf-5 -I "$src" "$src/sym_main.c" "$src/sym_lib.c" -o "$work/prog"
"$mk" "$work/prog" "$work/in.tms" > "$work/expected.txt"
cp "$work/in.tms" "$work/orig.tms"
# 1. separate output
"$bin/tools/tmsym" "$work/in.tms" -o "$work/out.tms" 2> "$work/err.txt" || { echo "FAIL: tmsym exit $?"; cat "$work/err.txt"; exit 1; }
cmp -s "$work/in.tms" "$work/orig.tms" || { echo "FAIL: input modified with -o"; fail=1; }
grep -q "missing" "$work/err.txt" || { echo "FAIL: no note for the missing module"; fail=1; }
grep -q "build-id mismatch" "$work/err.txt" || { echo "FAIL: no note for the build-id mismatch"; fail=1; }
"$mk" --check "$work/out.tms" "$work/prog" > "$work/check.txt" || { echo "FAIL: symbolized snapshot check"; cat "$work/check.txt"; fail=1; }
# 2. in place
"$bin/tools/tmsym" -q "$work/in.tms" 2>/dev/null || { echo "FAIL: tmsym in place"; fail=1; }
"$mk" --check "$work/in.tms" "$work/prog" > /dev/null || { echo "FAIL: in-place result"; fail=1; }
# 3. bad input: exit 2 with a message naming the file
printf 'not a snapshot' > "$work/bad.tms"
set +e
"$bin/tools/tmsym" "$work/bad.tms" 2> "$work/bad.err"; rc=$?
set -e
[ "$rc" = 2 ] || { echo "FAIL: bad input exit $rc, expected 2"; fail=1; }
grep -q "bad.tms" "$work/bad.err" || { echo "FAIL: error does not name the file"; fail=1; }
if [ "$fail" = 0 ]; then echo "symbolize_tmsym: 1 passed, 0 failed"; else echo "symbolize_tmsym: 0 passed, 1 failed"; exit 1; fi
