#!/bin/bash
# tmkit::gtest (tools/check) in a GoogleTest binary, tests/check/gtest_cases.cpp:
# a leaking test fails at its own line with tracemalloc's compare_to line,
# exactly (sizes and counts known from the source; the snapshot pair it
# writes gives the same line through python3's tracemalloc); clean tests
# with STL temporaries, iostreams, printf, RecordProperty and a fixture pass;
# a leak in a suppressed function passes; per-test and global thresholds
# hold at equality and fail one byte below; bad settings exit 2.  The
# tmdiff / tmstat gates honour the same TM_SUPPRESSIONS file on the pair.
set -euo pipefail
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
W=$TM_WORK
BIN=$TM_BUILD_DIR/tests/check/check_gtest_cases
SRC=$TM_SOURCE_DIR/tests/check/gtest_cases.cpp
[ -x "$BIN" ] || skip_test "no GoogleTest (libgtest-dev): check_gtest_cases was not built"

line_of() {   # line_of MARKER: the source line that carries "// marker: MARKER"
    grep -n "// marker: $1\$" "$SRC" | cut -d: -f1
}
run() {   # run OUTFILE FILTER [ENV=VALUE...]: the binary's exit status in $rc
    local out=$1 filter=$2
    shift 2
    rc=0
    env "$@" "$BIN" --gtest_filter="$filter" > "$out" 2>&1 || rc=$?
}
expect_line() {   # expect_line DESCRIPTION FILE TEXT: a whole line equals TEXT
    if grep -qxF -- "$3" "$2"; then
        pass "$1"
    else
        fail "$1: no line '$3' in:"
        sed 's/^/    /' "$2" >&2
    fi
}

L=$(line_of ten-blocks)
run "$W/ten" Leaks.TenBlocks
[ "$rc" = 1 ] && pass "a leaking test fails the binary" || fail "Leaks.TenBlocks: exit $rc, expected 1"
expect_line "the failure is reported at the leaking line" "$W/ten" "$SRC:$L: Failure"
expect_line "its growth, as tracemalloc's compare_to prints it" "$W/ten" \
    "$SRC:$L: size=10000 B (+10000 B), count=10 (+10), average=1000 B"
check "the summary names the test and the total" \
    grep -q "memory check Leaks.TenBlocks failed: live memory grew by 10000 B (+10000 B), threshold 0 B" "$W/ten"
check "the traceback shows the source line" grep -qF "keep(std::malloc(1000)); // marker: ten-blocks" "$W/ten"
check "gtest lists it as failed" grep -q '^\[  FAILED  \] Leaks.TenBlocks' "$W/ten"

L=$(line_of new-string)
run "$W/str" Leaks.NewString
[ "$rc" = 1 ] || fail "Leaks.NewString: exit $rc, expected 1"
# new std::string(300, 'x'): the 32-byte object and its 301-byte buffer, both at the test's line
expect_line "operator new and std::string are attributed to the test's line" "$W/str" \
    "$SRC:$L: size=333 B (+333 B), count=2 (+2), average=166 B"

run "$W/clean" 'Clean.*:Fixture.*'
[ "$rc" = 0 ] && pass "clean tests pass (STL temporaries, output, the runtime's first uses, a thread, RecordProperty, fixture)" ||
    { fail "clean tests: exit $rc, expected 0"; sed 's/^/    /' "$W/clean" >&2; }
check "all four ran" grep -q '^\[  PASSED  \] 4 tests' "$W/clean"
check "and printed their output" grep -q '^output from a clean test: 1.25 100 100' "$W/clean"

L=$(line_of suppressed-leak)
run "$W/sup0" Suppressed.LeakInSuppressedFunction
[ "$rc" = 1 ] || fail "unsuppressed: exit $rc, expected 1"
expect_line "without suppressions the leak is reported" "$W/sup0" \
    "$SRC:$L: size=4096 B (+4096 B), count=1 (+1), average=4096 B"
printf '# suppressions\n\n  leak:suppressed_leaker  \n' > "$W/sup.txt"
run "$W/sup1" Suppressed.LeakInSuppressedFunction TM_SUPPRESSIONS="$W/sup.txt"
[ "$rc" = 0 ] && pass "leak:FUNCTION in TM_SUPPRESSIONS suppresses it" || fail "suppressed: exit $rc, expected 0"
printf 'leak:^*gtest_cases.cpp$\n' > "$W/supfile.txt"
run "$W/sup2" Suppressed.LeakInSuppressedFunction TM_SUPPRESSIONS="$W/supfile.txt"
[ "$rc" = 0 ] && pass "leak:FILE suppresses it" || fail "suppressed by file: exit $rc, expected 0"
printf 'leak:no_such_function\n' > "$W/supother.txt"
run "$W/sup3" Suppressed.LeakInSuppressedFunction TM_SUPPRESSIONS="$W/supother.txt"
[ "$rc" = 1 ] && pass "a suppression of another function does not" || fail "other suppression: exit $rc, expected 1"
printf 'leak:ok\nrace:foo\n' > "$W/bad.txt"
run "$W/bad" Leaks.TenBlocks TM_SUPPRESSIONS="$W/bad.txt"
[ "$rc" = 2 ] && pass "a bad suppressions file: exit 2" || fail "bad suppressions file: exit $rc, expected 2"
check "naming the file and line" grep -qF "$W/bad.txt:2: suppression type 'race' is not supported" "$W/bad"

run "$W/within" Threshold.WithinItsOwnThreshold
[ "$rc" = 0 ] && pass "TM_MEMORY_THRESHOLD(2048) lets 1500 B pass" || fail "within: exit $rc, expected 0"
L=$(line_of above-threshold)
run "$W/above" Threshold.AboveItsOwnThreshold
[ "$rc" = 1 ] && pass "TM_MEMORY_THRESHOLD(1024) fails on 1500 B" || fail "above: exit $rc, expected 1"
check "its report says the threshold" grep -q "grew by 1500 B (+1500 B), threshold 1024 B" "$W/above"
run "$W/off" Threshold.CheckOff
[ "$rc" = 0 ] && pass "TM_MEMORY_CHECK_OFF() skips the check" || fail "check off: exit $rc, expected 0"
run "$W/g1" Leaks.TenBlocks TM_GTEST_THRESHOLD=10000
[ "$rc" = 0 ] && pass "TM_GTEST_THRESHOLD=10000: growth == threshold passes" || fail "global threshold 10000: exit $rc"
run "$W/g2" Leaks.TenBlocks TM_GTEST_THRESHOLD=9999
[ "$rc" = 1 ] && pass "TM_GTEST_THRESHOLD=9999 fails" || fail "global threshold 9999: exit $rc, expected 1"
run "$W/g4" Threshold.AboveItsOwnThreshold TM_GTEST_THRESHOLD=1M
[ "$rc" = 1 ] && pass "the per-test threshold overrides the global one" || fail "override: exit $rc, expected 1"
run "$W/g5" Leaks.TenBlocks TM_GTEST_THRESHOLD=5%
[ "$rc" = 2 ] && pass "TM_GTEST_THRESHOLD=5%: exit 2" || fail "bad threshold: exit $rc, expected 2"
check "with a message" grep -q "TM_GTEST_THRESHOLD" "$W/g5"
run "$W/g6" Leaks.TenBlocks TM_GTEST_CHECK=0
[ "$rc" = 0 ] && pass "TM_GTEST_CHECK=0 turns the checks off" || fail "TM_GTEST_CHECK=0: exit $rc"

L=$(line_of ten-blocks)
run "$W/snap" 'Leaks.TenBlocks:Clean.*' TM_GTEST_SNAPSHOT_DIR="$W/snaps"
check "a failing test writes its snapshot pair" test -s "$W/snaps/Leaks.TenBlocks.after.tms"
check "... both of them" test -s "$W/snaps/Leaks.TenBlocks.before.tms"
check "passing tests write none" bash -c '[ "$(ls "$1" | wc -l)" = 2 ]' _ "$W/snaps"
"$TM_BUILD_DIR/tools/tmdiff" "$W/snaps/Leaks.TenBlocks.before.tms" "$W/snaps/Leaks.TenBlocks.after.tms" \
    > "$W/tmdiff.out"
expect_line "tmdiff on the pair shows the same line" "$W/tmdiff.out" \
    "$SRC:$L: size=10000 B (+10000 B), count=10 (+10), average=1000 B"
if command -v python3 > /dev/null; then
    "$TM_BUILD_DIR/tools/tmconv" "$W/snaps/Leaks.TenBlocks.before.tms" "$W/before.pickle"
    "$TM_BUILD_DIR/tools/tmconv" "$W/snaps/Leaks.TenBlocks.after.tms" "$W/after.pickle"
    python3 -c '
import sys, tracemalloc
old = tracemalloc.Snapshot.load(sys.argv[1])
new = tracemalloc.Snapshot.load(sys.argv[2])
for s in new.compare_to(old, "lineno")[:5]:
    print(s)' "$W/before.pickle" "$W/after.pickle" > "$W/python.out"
    expect_line "python3's tracemalloc on the pair prints the same line" "$W/python.out" \
        "$SRC:$L: size=10000 B (+10000 B), count=10 (+10), average=1000 B"
else
    skip "python3 missing: the tracemalloc oracle was not run"
fi

# The same suppressions file in the tmdiff / tmstat gates, on that pair.
T=$TM_BUILD_DIR/tools
B=$W/snaps/Leaks.TenBlocks.before.tms
A=$W/snaps/Leaks.TenBlocks.after.tms
gate() {   # gate OUT TOOL ARGS...: exit status in $rc
    local out=$1
    shift
    rc=0
    "$@" > "$out" 2>&1 || rc=$?
}
gate "$W/d0" "$T/tmdiff" "$B" "$A" --fail-on-growth 0
[ "$rc" = 1 ] && pass "tmdiff gate: the leak fails it" || fail "tmdiff gate: exit $rc, expected 1"
printf 'leak:Leaks_TenBlocks_Test::TestBody\n' > "$W/tb.supp"
gate "$W/d1" env TM_SUPPRESSIONS="$W/tb.supp" "$T/tmdiff" "$B" "$A" --fail-on-growth 0
[ "$rc" = 0 ] && pass "tmdiff gate: TM_SUPPRESSIONS removes the leak" || fail "tmdiff suppressed: exit $rc, expected 0"
expect_line "tmdiff gate: a note says what was removed" "$W/d1" \
    "tmdiff: $A: 10 traces (10000 B) suppressed by TM_SUPPRESSIONS"
check "tmdiff gate: and nothing from the old snapshot" grep -qxF "tmdiff: $B: 0 traces (0 B) suppressed by TM_SUPPRESSIONS" "$W/d1"
gate "$W/d2" env TM_SUPPRESSIONS="$W/tb.supp" "$T/tmdiff" "$B" "$A"
check "without a gate the suppressions are not applied" \
    grep -qxF "$SRC:$L: size=10000 B (+10000 B), count=10 (+10), average=1000 B" "$W/d2"
total=$("$T/tmstat" "$A" --format json | sed -n 's/.*"total_size": \([0-9]*\).*/\1/p' | head -1)
rest=$((total - 10000))
gate "$W/s1" env TM_SUPPRESSIONS="$W/tb.supp" "$T/tmstat" "$A" --fail-above $rest
[ "$rc" = 0 ] && pass "tmstat gate: TOTAL - 10000 B holds once the leak is suppressed" || fail "tmstat suppressed: exit $rc"
gate "$W/s2" "$T/tmstat" "$A" --fail-above $rest
[ "$rc" = 1 ] && pass "tmstat gate: and fails without the suppressions" || fail "tmstat unsuppressed: exit $rc, expected 1"
gate "$W/s3" env TM_SUPPRESSIONS="$W/bad.txt" "$T/tmstat" "$A" --fail-above 1G
[ "$rc" = 2 ] && pass "tmstat gate: a bad suppressions file is exit 2" || fail "tmstat bad file: exit $rc, expected 2"
check "naming the variable, file and line" \
    grep -qF "tmstat: TM_SUPPRESSIONS: $W/bad.txt:2: suppression type 'race' is not supported" "$W/s3"
gate "$W/s4" env TM_SUPPRESSIONS="$W/missing.supp" "$T/tmdiff" "$B" "$A" --fail-on-growth 0
[ "$rc" = 2 ] && pass "tmdiff gate: a missing suppressions file is exit 2" || fail "tmdiff missing file: exit $rc"
finish
