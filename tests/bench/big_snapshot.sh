#!/bin/bash
# Time and peak resident memory of every tool on a big synthetic snapshot
# (format_bench's: skewed stacks sharing prefixes, 5-30 frames, mixed sizes).
# Manual, not CI (minutes):
#   tests/bench/big_snapshot.sh BUILD_DIR [TRACES]      (default 10000000)
# Prints one line per command: peak resident KB, seconds, exit status.
set -u
B=${1:?usage: big_snapshot.sh BUILD_DIR [TRACES]}
N=${2:-10000000}
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (scripts/deps.sh installs 'time')"; exit 77; }
W=$(mktemp -d "${TMPDIR:-/tmp}/tmbig.XXXXXX")
trap 'rm -rf "$W"' EXIT
T=$B/tools
"$B/tests/bench/format_bench" --traces "$N" --dir "$W" --keep "$W/big.tms" >"$W/gen.out" || exit 1
head -1 "$W/gen.out"
echo "file: $(stat -c %s "$W/big.tms") bytes"
# The binaries of the synthetic modules do not exist: symbolizing is notes only.
export TM_DEBUG_DIRS=$W
run() {
    /usr/bin/time -o "$W/time" -f '%M %e' "$@" >"$W/out" 2>"$W/err"
    local rc=$?
    read -r kb secs < <(tail -n 1 "$W/time")
    printf '%9s KB %7s s  exit %d  %s\n' "$kb" "$secs" "$rc" "${*#$T/}"
}
run "$T/tminfo" "$W/big.tms"
run "$T/tmstat" "$W/big.tms"
run "$T/tmstat" "$W/big.tms" --by traceback --limit 8
run "$T/tmstat" "$W/big.tms" --by filename --cumulative
run "$T/tmdiff" "$W/big.tms" "$W/big.tms"
run "$T/tmsym" "$W/big.tms" -o "$W/sym.tms" -q
run "$T/tmconv" "$W/big.tms" "$W/big.pickle"
run "$T/tmstat" "$W/big.pickle"
run "$T/tmexport" folded "$W/big.tms" -o "$W/f.folded"
run "$T/tmexport" flamegraph "$W/big.tms" -o "$W/f.html"
run "$T/tmexport" diff "$W/big.tms" "$W/big.tms" -o "$W/d.html"
run "$T/tmexport" timeline "$W/big.tms" "$W/big.tms" -o "$W/t.svg"
run "$T/tmstat" "$W/big.tms" --max-memory 128MiB
