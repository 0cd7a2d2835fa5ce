#!/bin/bash
# The two ways of samples/check besides GoogleTest: the C API of tm/check.h
# in a cmocka suite (samples/check/cmocka_check.c) fails the leaking test at
# its line with its exact size ("hello" + NUL = 6 B) and passes when clean;
# tmkit_add_memory_test's driver (cmake/tmkitMemoryTestRun.cmake) fails a
# program holding 32 KiB at exit against MAX_LIVE 16KiB with tmstat's report
# of the line, passes 4 KiB, and gates growth against a baseline.
set -euo pipefail
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
W=$TM_WORK
S=$TM_BUILD_DIR/samples/check
SRC=$TM_SOURCE_DIR/samples/check

L=$(grep -n 'char \*w = malloc(n + 1);' "$SRC/cmocka_check.c" | cut -d: -f1)
rc=0
SAMPLE_LEAK=1 ASAN_OPTIONS=detect_leaks=0 "$S/cmocka_check" > "$W/leak" 2>&1 || rc=$?
[ "$rc" != 0 ] && pass "cmocka: the leaking test fails the suite" || fail "cmocka: exit 0 with SAMPLE_LEAK=1"
check "cmocka: the report names the line and size" \
    grep -qxF "$SRC/cmocka_check.c:$L: size=6 B (+6 B), count=1 (+1), average=6 B" "$W/leak"
check "cmocka: the leaking test is the one that errs" grep -q 'ERROR.*test_parse' "$W/leak"
check "cmocka: the other one passes" grep -q 'OK.*test_buffers' "$W/leak"
rc=0
ASAN_OPTIONS=detect_leaks=0 "$S/cmocka_check" > "$W/clean" 2>&1 || rc=$?
[ "$rc" = 0 ] && pass "cmocka: clean tests pass" || { fail "cmocka clean: exit $rc"; cat "$W/clean" >&2; }

if [ "$TM_SANITIZE" = 1 ]; then
    skip "tmrun cannot preload the recorder under AddressSanitizer: tmkit_add_memory_test not run"
    finish
fi
driver() {   # driver OUT [-DVAR=VALUE...] -- COMMAND...: exit status in $rc
    local out=$1
    shift
    rc=0
    cmake -DTMRUN="$TM_BUILD_DIR/recorder/tmrun" -DTMSTAT="$TM_BUILD_DIR/tools/tmstat" \
        -DTMDIFF="$TM_BUILD_DIR/tools/tmdiff" -DOUT="$W/run.tms" "$@" > "$out" 2>&1 || rc=$?
}
L=$(grep -n 'held\[i\] = malloc(1024);' "$SRC/leaky.c" | cut -d: -f1)
P=$TM_SOURCE_DIR/cmake/tmkitMemoryTestRun.cmake
driver "$W/live4" -DMAX_LIVE=16KiB -P "$P" -- "$S/leaky" 4
[ "$rc" = 0 ] && pass "MAX_LIVE 16KiB: 4 KiB at exit passes" || { fail "live 4: exit $rc"; cat "$W/live4" >&2; }
driver "$W/live32" -DMAX_LIVE=16KiB -P "$P" -- "$S/leaky" 32
[ "$rc" != 0 ] && pass "MAX_LIVE 16KiB: 32 KiB at exit fails" || fail "live 32: exit 0"
check "with tmstat's gate report" grep -q 'tmstat: gate failed: total size 32768 bytes' "$W/live32"
check "naming the line" grep -qF "$SRC/leaky.c:$L: size=32.0 KiB, count=32, average=1024 B" "$W/live32"
cp "$W/run.tms" "$W/base32.tms"
driver "$W/g1" -DBASELINE="$W/base32.tms" -DMAX_GROWTH=2KiB -P "$P" -- "$S/leaky" 34
[ "$rc" = 0 ] && pass "BASELINE + MAX_GROWTH 2KiB: +2 KiB passes" || { fail "growth 2: exit $rc"; cat "$W/g1" >&2; }
driver "$W/g2" -DBASELINE="$W/base32.tms" -DMAX_GROWTH=2KiB -P "$P" -- "$S/leaky" 35
[ "$rc" != 0 ] && pass "BASELINE + MAX_GROWTH 2KiB: +3 KiB fails" || fail "growth 3: exit 0"
check "with tmdiff's report" grep -qF "$SRC/leaky.c:$L: size=35.0 KiB (+3072 B), count=35 (+3), average=1024 B" "$W/g2"
printf 'leak:^main$\n' > "$W/sup"
driver "$W/g3" -DBASELINE="$W/base32.tms" -DMAX_GROWTH=2KiB -DSUPPRESSIONS="$W/sup" -P "$P" -- "$S/leaky" 35
[ "$rc" = 0 ] && pass "SUPPRESSIONS reach the gate" || { fail "suppressed growth: exit $rc"; cat "$W/g3" >&2; }
driver "$W/bad" -DMAX_LIVE=16KiB -P "$P" -- "$S/leaky" 5000
[ "$rc" != 0 ] && pass "a failing command fails the test" || fail "a failing command: exit 0"
check "saying so" grep -q "exited with 2" "$W/bad"
finish
