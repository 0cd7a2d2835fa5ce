#!/usr/bin/env bash
# Long operations show progress on stderr when it is a terminal, and never
# when it is not: tmstat on a native snapshot symbolizes on load, so under a
# pseudo-terminal (script(1)) "symbolizing" must appear; through a pipe the
# same run's stderr must stay free of it (only real notes may appear).
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
T=$B/tools
W=$TM_WORK

if ! command -v script >/dev/null; then
    skip_test "script(1) (util-linux) is not installed: no pseudo-terminal"
fi
# A snapshot whose frames are raw return addresses in tmstat itself.
"$B/tests/bench/tm_symbolize_mksnap" "$T/tmstat" "$W/native.tms" 2>"$W/mk.err" ||
    { echo "FAIL: mksnap: $(cat "$W/mk.err")"; exit 1; }

# Not a terminal: stderr is a file.
"$T/tmstat" "$W/native.tms" --top 3 >"$W/out.txt" 2>"$W/err.txt"; rc=$?
[ $rc = 0 ] && pass || fail "tmstat exit $rc without a terminal: $(cat "$W/err.txt")"
grep -q "symbolizing" "$W/err.txt" && fail "progress written to a non-terminal stderr: $(cat "$W/err.txt")" || pass
grep -q $'\r' "$W/err.txt" && fail "carriage returns written to a non-terminal stderr" || pass

# A terminal: script gives the command a pty; its transcript holds what was shown.
script -qec "'$T/tmstat' '$W/native.tms' --top 3 >'$W/out2.txt'" "$W/tty.txt" >/dev/null 2>&1; rc=$?
[ $rc = 0 ] && pass || fail "tmstat exit $rc under a terminal"
grep -q "symbolizing $W/native.tms" "$W/tty.txt" && pass || fail "no progress on a terminal: $(head -c 300 "$W/tty.txt")"
# The progress line is erased, and stdout is the same either way.
grep -q $'\033\\[K' "$W/tty.txt" && pass || fail "progress line not erased"
cmp -s "$W/out.txt" "$W/out2.txt" && pass || fail "stdout differs between terminal and non-terminal runs"

finish
