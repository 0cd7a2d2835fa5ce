#!/bin/bash
# tmrun -p on a running 4-thread program that churns malloc/free and
# new/delete while its main thread waits in read(2) for cues (the read must
# restart unharmed after each injected call): attach, the program makes known allocations (it writes down
# each one's line, size and count: the oracle), detach on SIGINT; the
# snapshot holds exactly those at their lines.  Then the same again on the
# same process with other sizes (the second snapshot must not hold the
# first round: the state restarts), and the program churns on for seconds
# and exits with its own status and output.  Last, a program that exits
# while attached: its exit writes the snapshot.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
source "$TM_SOURCE_DIR/tests/recorder/rec_attach_lib.bash"
B=$TM_BUILD_DIR
# Under TM_SANITIZE the target is an ASan program: the hooks forward to
# ASan's malloc (what the program binds to), and operator new is ASan's,
# not libstdc++'s, so attach mode leaves it alone (doc/attach.md): the C++
# site is then expected absent.
sanitized_expect() {   # sanitized_expect EXPECT-FILE
    if [ "$TM_SANITIZE" = 1 ]; then
        sed -i 's/^\(rec_attach_target_cxx\.cpp:[0-9]*\) .*/\1 0 0/' "$1"
    fi
}
W=$TM_WORK
TMRUN=$B/recorder/tmrun
# The first program is linked -z now (its GOT read-only after relocation:
# written with the pages made writable for the moment), the second as usual.
TARGET=$B/tests/recorder/rec_attach_target_now
TARGET2=$B/tests/recorder/rec_attach_target
TMSTAT=$B/tools/tmstat

# cue TEXT: a line to the program (a FIFO: blocks while nobody reads).
cue() {
    timeout 10 bash -c 'echo "$1" > "$2"' cue "$1" "$W/d/cue" ||
        fail "cannot send '$1' to the program (is it gone?)"
}

# One attach session: tmrun -p, cue round N, wait for the program's account,
# detach (SIGINT to tmrun), compare.
session() {   # session PID ROUND
    local pid=$1 n=$2 trc
    "$TMRUN" -p "$pid" -n 8 -o "$W/round$n.tms" 2> "$W/tmrun$n.err" &
    local tr=$!
    if ! wait_grep "attached to $pid" "$W/tmrun$n.err"; then
        fail "round $n: tmrun did not attach"; cat "$W/tmrun$n.err" >&2
        kill "$tr" 2>/dev/null; return
    fi
    cue "$n"
    wait_for "$W/d/expect.$n" || fail "round $n: the program made no allocations"
    if [ "$n" = 2 ]; then
        # A module loaded while attached is routed too (the dlopen hook),
        # and found as without us: by its bare name, through the program's
        # RUNPATH ($ORIGIN).
        cue "plugin librec_plugin.so $PLUGIN_LINE"
        wait_for "$W/d/expect.plugin" || fail "the plugin was not loaded"
    fi
    kill -INT "$tr"
    wait "$tr"; trc=$?
    cat "$W/tmrun$n.err"
    [ "$trc" = 0 ] && pass "round $n: tmrun wrote the snapshot and detached" ||
        fail "round $n: tmrun exited $trc"
    grep -q "wrote $W/round$n.tms; detached from $pid" "$W/tmrun$n.err" && pass ||
        fail "round $n: tmrun did not say it detached"
    sanitized_expect "$W/d/expect.$n"
    "$TMSTAT" "$W/round$n.tms" --top 0 --format csv > "$W/round$n.csv" 2> "$W/tmstat$n.err" ||
        { fail "round $n: tmstat"; cat "$W/tmstat$n.err" >&2; }
    check "round $n: every known allocation exact at its line" \
        sites_exact "$W/d/expect.$n" "$W/round$n.csv"
    if [ "$n" = 2 ]; then
        check "a module loaded while attached: its allocations exact at their line" \
            sites_exact "$W/d/expect.plugin" "$W/round$n.csv"
    fi
}

PLUGIN_LINE=$(grep -n 'malloc(n)' "$TM_SOURCE_DIR/tests/recorder/rec_plugin.c" | cut -d: -f1)
mkdir "$W/d" && mkfifo "$W/d/cue"
"$TARGET" "$W/d" > "$W/target.out" 2> "$W/target.err" &
PID=$!
tm_on_exit "kill $PID 2>/dev/null"
wait_for "$W/d/ready" || fail "the program did not start"
readelf -d "$TARGET" | grep -q 'FLAGS.*NOW' && pass || fail "$TARGET is not linked -z now"
# Protections of the program's and the C library's pages: the same after a
# detach as before the attach.
protections() {
    grep -E "$TARGET\$|/libc\.so\.6\$" "/proc/$PID/maps" | awk '{ print $1, $2, $6 }'
}
protections > "$W/maps.before"
session "$PID" 1
protections > "$W/maps.after"
if [ -s "$W/maps.before" ] && cmp -s "$W/maps.before" "$W/maps.after"; then
  pass "page protections of the program and libc restored"
else
  fail "page protections differ after detaching"; diff "$W/maps.before" "$W/maps.after" >&2
fi
# The recorder stays loaded, quiet: the program runs on untraced.
grep -q libtmrecorder "/proc/$PID/maps" && pass || fail "the recorder is not loaded"
sleep 1
kill -0 "$PID" 2>/dev/null && pass "the program runs on after detaching" ||
    fail "the program died after detaching"
session "$PID" 2
# The first round's blocks (still live) are not in the second snapshot:
# round 2's sizes differ at the same lines, and sites_exact held.

# Attach and detach again and again while the four threads churn (hooks
# entered just before a detach, blocks allocated before an attach and
# freed after); with --interval and --peak, whose files must appear.
ok=0
for i in 1 2 3 4 5 6; do
  "$TMRUN" -p "$PID" -o "$W/cycle.tms" --for 0.5 --interval 0.2 --peak 2> "$W/cycle.err" &&
    [ -s "$W/cycle.tms" ] && [ -s "$W/cycle.1.tms" ] && [ -s "$W/cycle.peak.tms" ] &&
    ok=$((ok + 1)) || { cat "$W/cycle.err" >&2; ls "$W" >&2; }
  rm -f "$W"/cycle*.tms
done
[ "$ok" = 6 ] && pass "six more attach/detach cycles, each with its snapshot, interval and peak files" ||
    fail "only $ok of 6 attach/detach cycles wrote their files"
kill -0 "$PID" 2>/dev/null && pass "the program runs on after the cycles" || fail "the program died"
# Sampling while attached (a production process: tmrun -p --sample), then
# an exact session again: the rate of one session does not leak into the
# next.
"$TMRUN" -p "$PID" -o "$W/sampled.tms" --for 0.5 --sample 4096 2> "$W/sampled.err" ||
    { fail "tmrun -p --sample"; cat "$W/sampled.err" >&2; }
"$B/tools/tminfo" "$W/sampled.tms" > "$W/sampled.info" 2>&1
check "tmrun -p --sample 4096: a sampled snapshot at that rate" \
    grep -Eq "sample rate +4096 B" "$W/sampled.info"
"$TMRUN" -p "$PID" -o "$W/exact.tms" --for 0.3 2> "$W/exact.err" ||
    { fail "tmrun -p after a sampled session"; cat "$W/exact.err" >&2; }
"$B/tools/tminfo" "$W/exact.tms" > "$W/exact.info" 2>&1
[ -s "$W/exact.info" ] && ! grep -q "sample rate" "$W/exact.info" &&
    pass "the next session traces every block again" ||
    { fail "the next session is still sampled (or tminfo failed)"; cat "$W/exact.info" >&2; }
cue exit
wait "$PID"; rc=$?
[ "$rc" = 7 ] && pass "the program exits with its own status (7)" || fail "exit status $rc, want 7"
check "the program's own output" grep -qx "rec_attach_target: 2 rounds, churned yes" "$W/target.out"
[ -s "$W/target.err" ] && { fail "the program wrote to stderr"; cat "$W/target.err" >&2; } || pass

# The program exits while attached: its exit path writes the snapshot, and
# tmrun notices and says so.
rm -rf "$W/d" && mkdir "$W/d" && mkfifo "$W/d/cue"
"$TARGET2" "$W/d" > "$W/target2.out" 2> "$W/target2.err" &
PID2=$!
tm_on_exit "kill $PID2 2>/dev/null"
wait_for "$W/d/ready"
"$TMRUN" -p "$PID2" -n 8 -o "$W/atexit.tms" 2> "$W/tmrun_exit.err" &
TR=$!
wait_grep "attached to $PID2" "$W/tmrun_exit.err" || fail "tmrun did not attach to the second program"
cue 1
wait_for "$W/d/expect.1"
cue exit
wait "$PID2"; rc=$?
[ "$rc" = 7 ] && pass || fail "second program: exit status $rc, want 7"
wait "$TR"; trc=$?
cat "$W/tmrun_exit.err"
[ "$trc" = 0 ] && pass "tmrun ends with the program" || fail "tmrun exited $trc"
grep -q "process $PID2 ended; its exit wrote $W/atexit.tms" "$W/tmrun_exit.err" && pass ||
    fail "tmrun did not report the exit snapshot"
"$TMSTAT" "$W/atexit.tms" --top 0 --format csv > "$W/atexit.csv" 2> "$W/tmstat_exit.err" ||
    fail "tmstat atexit.tms"
sanitized_expect "$W/d/expect.1"
check "the exit snapshot holds the known allocations exactly" \
    sites_exact "$W/d/expect.1" "$W/atexit.csv"
"$B/tests/recorder/rec_check" --info "$W/atexit.tms" | grep -q "trigger exit" && pass ||
    fail "the exit snapshot's trigger is not 'exit'"

# A thread stopped in user code (not in a system call), with live values in
# xmm0 and rax: after the calls made in it, every register as it was.
"$B/tests/recorder/rec_attach_spin" 4 > "$W/spin.out" &
SPIN=$!
tm_on_exit "kill $SPIN 2>/dev/null"
sleep 0.3
for i in 1 2 3; do
  "$TMRUN" -p "$SPIN" -o "$W/spin.tms" --for 0.2 2> "$W/spin.err" || { cat "$W/spin.err" >&2; }
done
wait "$SPIN"; rc=$?
[ "$rc" = 0 ] && pass "a thread stopped in user code keeps its registers (xmm0, rax)" ||
    { fail "rec_attach_spin exited $rc"; cat "$W/spin.out" >&2; }
grep -q "registers intact" "$W/spin.out" && pass || fail "rec_attach_spin did not finish"
finish
