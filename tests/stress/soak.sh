#!/bin/bash
# The recorder over a long run (tests/stress/soak.c): 8 threads churning
# malloc/free/realloc over a constant live set under tmrun --interval for
# TM_SOAK_SECONDS (default 60).  Every snapshot must be valid, and the
# recorder's own memory after the warm-up (the first 10 s: unique stacks and
# table sizes settle) must stay within 2% of its value at 10 s.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
W=$TM_WORK
[ "$TM_SANITIZE" = 1 ] && skip_test "LD_PRELOAD of the recorder into a sanitized process is not possible"
secs=${TM_SOAK_SECONDS:-60}
"$B/recorder/tmrun" -n 16 --interval 5 -o "$W/soak.tms" -- "$B/tests/stress/soak" "$secs" > "$W/series" 2> "$W/err" ||
  fail "soak under tmrun exited with $?: $(head -5 "$W/err")"
echo "recorder memory (bytes) and traced current, once a second:"
awk '{ printf "  t=%ss  recorder %s  current %s\n", $2, $3, $4 }' "$W/series" | sed -n '1,3p;10p;20p;30p;40p;50p;$p'
n=$(ls "$W"/soak.[0-9]*.tms 2>/dev/null | wc -l)
check "interval snapshots written ($n)" test "$n" -ge $((secs / 5 - 2))
for f in "$W"/soak.*.tms "$W/soak.tms"; do
  "$B/tools/tminfo" "$f" > /dev/null 2> "$W/tminfo.err" || fail "$f is not a valid snapshot: $(head -3 "$W/tminfo.err")"
done
pass "every snapshot valid"
check "the recorder's memory stays within 2% of its value at 10 s" awk '
  $2 == 10 { base = $3 }
  $2 > 10 && base { d = ($3 - base) / base; if (d > 0.02 || d < -0.02) { bad = 1; print "  t=" $2 ": " $3 " vs " base > "/dev/stderr" } }
  END { exit !(base && !bad) }' "$W/series"
finish
