#!/bin/bash
# tmrun -p on a program nobody here wrote: python3 growing a dict.  The
# snapshot shows CPython's native stacks (Python frames are C frames of the
# interpreter here); the dict's table is one block whose size the script
# knows (sys.getsizeof minus the dict object's header), so it must be in
# the snapshot, and its stack must pass through dictobject.c when the
# interpreter has line information.  Python finishes normally.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
source "$TM_SOURCE_DIR/tests/recorder/rec_attach_lib.bash"
B=$TM_BUILD_DIR
if [ "$TM_SANITIZE" = 1 ]; then
  skip_test "attach tests run in the builds without sanitizers (see rec_attach.sh)"
fi
command -v python3 > /dev/null || skip_test "no python3"
W=$TM_WORK
mkdir "$W/d"
python3 "$TM_SOURCE_DIR/tests/recorder/rec_attach_grow.py" "$W/d" > "$W/py.out" 2> "$W/py.err" &
PYJOB=$!
tm_on_exit "kill $PYJOB 2>/dev/null"
wait_for "$W/d/ready" || fail "python3 did not start"
# The interpreter's own pid (python3 may be a launcher that execs it).
PID=$(cat "$W/d/ready")
"$B/recorder/tmrun" -p "$PID" -n 32 -o "$W/py.tms" 2> "$W/tmrun.err" &
TR=$!
wait_grep "attached to $PID" "$W/tmrun.err" || { fail "tmrun did not attach"; cat "$W/tmrun.err" >&2; }
touch "$W/d/go"
wait_for "$W/d/grown" 60 || fail "the dict did not grow"
kill -INT "$TR"
wait "$TR"; trc=$?
cat "$W/tmrun.err"
[ "$trc" = 0 ] && pass "tmrun wrote the snapshot and detached" || fail "tmrun exited $trc"
touch "$W/d/exit"
wait "$PYJOB"; rc=$?
[ "$rc" = 0 ] && pass "python3 finishes normally" || { fail "python3 exited $rc"; cat "$W/py.err" >&2; }
check "python3's own output" grep -qx "rec_attach_grow.py: 300000 entries" "$W/py.out"

G=$(cat "$W/d/grown")
"$B/tools/tmstat" "$W/py.tms" --by traceback --as-recorded --top 0 --format json \
    > "$W/py.json" 2> "$W/tmstat.err" || { fail "tmstat"; cat "$W/tmstat.err" >&2; }
python3 - "$W/py.json" "$G" > "$W/check.out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
g = int(sys.argv[2])
stats = doc["statistics"] if isinstance(doc, dict) else doc
best = None
for s in stats:
    # The table: getsizeof(dict) is the dict object (48 B, 64 with the GC
    # header) plus its keys object, one malloc'ed block.
    if g - 256 <= s["size"] <= g and s["count"] == 1:
        best = s
if best is None:
    print("no block of the dict's table size (%d - 256 .. %d B)" % (g, g))
    sys.exit(1)
files = [f.get("filename", "") for f in best.get("traceback", [])]
print("table %d B; frames in dictobject.c: %d" % (best["size"],
      sum(1 for f in files if f.endswith("dictobject.c"))))
PY
rc=$?
cat "$W/check.out"
[ "$rc" = 0 ] && pass "the dict's table (getsizeof $G B) is in the snapshot" ||
    { fail "the dict's table is not in the snapshot"; head -c 2000 "$W/py.json" >&2; }
if grep -q "frames in dictobject.c: 0" "$W/check.out"; then
  if grep -q 'dictobject.c' "$W/py.json"; then
    fail "the table's stack does not pass through dictobject.c"
  else
    skip "this python3 has no line information: its stack cannot name dictobject.c"
  fi
elif grep -q "frames in dictobject.c" "$W/check.out"; then
  pass "the table's stack passes through dictobject.c (the dict's resize)"
fi
finish
