#!/bin/bash
# The stress program under tmrun with concurrent snapshots (signal and
# interval triggers) and traced children; then real programs run unchanged
# under tmrun: same exit status and output, and a valid .tms written.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
if [ "$TM_SANITIZE" = 1 ]; then
  skip_test "LD_PRELOAD of the recorder into a sanitized process is not possible" \
       "(the ASan runtime must come first and owns malloc); stress.api still runs"
fi
W=$TM_WORK
cd "$W"
TMRUN="$B/recorder/tmrun"
INFO="$B/tests/recorder/rec_check"

# 1. stress with snapshots every 50 ms, on SIGUSR2, at peaks, and children traced.
"$TMRUN" -n 16 -o "$W/stress.tms" --interval 0.05 --signal USR2 --peak --follow-fork -- \
    "$B/tests/stress/stress_rec" 100000 &
pid=$!
for i in 1 2 3 4 5; do sleep 0.1; kill -USR2 $pid 2>/dev/null; done
wait $pid && pass || fail "stress under tmrun exited with $?"
check "the exit snapshot is valid" "$INFO" --info "$W/stress.tms"
nnum=$(ls "$W"/stress.[0-9]*.tms 2>/dev/null | grep -E 'stress\.[0-9]+\.tms$' | wc -l)
echo "numbered snapshots written during the run: $nnum"
[ "$nnum" -ge 2 ] && pass || fail "expected numbered snapshots"
for f in "$W"/stress.*.tms; do "$INFO" --info "$f" >/dev/null && pass || fail "$f"; done

# 2. real programs: identical exit status and output with and without tmrun.
run_same() {
  local name=$1; shift
  local exp_out exp_rc got_out got_rc
  exp_out=$("$@" 2>&1); exp_rc=$?
  got_out=$("$TMRUN" -n 24 --follow-fork -o "$W/$name.tms" -- "$@" 2>&1); got_rc=$?
  if [ "$exp_rc" != "$got_rc" ] || [ "$exp_out" != "$got_out" ]; then
    fail "$name: exit $exp_rc vs $got_rc, or output differs"
    diff <(echo "$exp_out") <(echo "$got_out") | head -5
  else
    pass
  fi
  "$INFO" --info "$W/$name.tms" && pass || fail "$name: no valid snapshot"
}
run_same python3 python3 -c 'import json,sys; d=[{"k": i} for i in range(20000)]; print(len(json.dumps(d))); sys.exit(3)'
printf 'int main(void){return 0;}\n' > "$W/t.c"
run_same gcc gcc -O2 -c "$W/t.c" -o "$W/t.o"
ls "$W"/gcc.*.tms >/dev/null 2>&1 && pass "gcc children traced: $(ls "$W"/gcc.*.tms | wc -l) files" \
  || fail "gcc children (cc1, as) were not traced"
run_same cmake cmake --version
run_same git git --version
run_same false false

# 3. the unwinder against libgcc and against the full walk on every
#    allocation of a real program (python3: C, deep interpreter stacks).
TM_UNWIND_CHECK=1 "$TMRUN" -n 64 -o "$W/check.tms" -- python3 -c \
  'import json, re; print(len(json.dumps([{"a": str(i)} for i in range(5000)])), bool(re.match("a+", "aaa")))' \
  > /dev/null 2> "$W/check.err"
cat "$W/check.err"
grep -q "unwind check: [1-9][0-9]* stacks, 0 differ from libgcc, 0 differ from the full eh walk" "$W/check.err" \
  && pass || fail "unwinder differs on python3"
finish
