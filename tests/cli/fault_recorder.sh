#!/bin/bash
# The traced program misbehaves: under tmrun it must never hang (each run is
# bounded by `timeout`), keep its own exit status or signal, and leave a
# valid snapshot wherever the recorder gets the chance to write one (the
# table is in tests/fault/README.md).  Also: an output path that cannot be
# written does not change the program's exit status.
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/fault/fault_lib.bash"
if [ "$SAN" = 1 ]; then
    skip_test "LD_PRELOAD of the recorder into a process is not possible" \
        "in a sanitizer build (the ASan runtime must be first and owns malloc)"
fi
TMRUN=$B/recorder/tmrun
TMINFO=$B/tools/tminfo
V=$(fault_victim_bin) || { echo "FAIL: cannot build fault_victim"; exit 1; }

# mode -> snapshot expected (yes), or not possible (no: the process ends
# without running exit-time code, which is where the recorder writes)
declare -A WANT=([exit]=yes [segv]=no [abort]=no [_exit]=yes [exec]=yes [fork]=yes
                 [closefds]=yes [oom]=yes [threads]=yes [doublefree]=no [overflow]=no)
declare -A TRACES=([exit]=64 [_exit]=64 [exec]=64 [fork]=64 [closefds]=128 [oom]=64 [threads]=64)

# traces FILE : the trace count tminfo prints
traces() { "$TMINFO" "$1" 2>/dev/null | sed -n 's/^  traces *\([0-9]*\).*/\1/p'; }

table=""
for m in exit segv abort _exit exec fork closefds oom threads doublefree overflow; do
    "$V" $m >/dev/null 2>&1
    want_rc=$?
    out=$W/rec/$m.tms
    mkdir -p "$W/rec"
    timeout 60 "$TMRUN" -o "$out" -- "$V" $m >/dev/null 2>"$W/err"
    rc=$?
    if [ $rc = 124 ]; then
        fail "$m: tmrun hung (killed after 60 s)"
        continue
    fi
    [ $rc = $want_rc ] && pass || fail "$m: exit status $rc under tmrun, $want_rc without"
    got=no
    if [ -e "$out" ]; then
        got=yes
        n=$(traces "$out")
        if [ -z "$n" ]; then
            fail "$m: the snapshot is not readable: $("$TMINFO" "$out" 2>&1 | head -c 300)"
        elif [ -n "${TRACES[$m]:-}" ] && [ "$n" -lt "${TRACES[$m]}" ]; then
            fail "$m: $n traces, expected at least ${TRACES[$m]}"
        else
            pass
        fi
    fi
    if [ "${WANT[$m]}" = yes ] && [ $got = no ]; then
        fail "$m: no snapshot written (stderr: $(head -c 300 "$W/err"))"
    fi
    leftovers=$(ls -A "$W/rec" | grep -v '\.tms$')
    [ -z "$leftovers" ] && pass || fail "$m: files left next to the snapshot: $leftovers"
    table="$table$(printf '\n  %-9s exit %-4s snapshot %s' "$m" "$rc" "$got")"
    rm -rf "$W/rec"
done
echo "fault_recorder: status and snapshot per mode:$table"

# --crash: a fatal signal writes FILE (trigger "crash") before the program
# dies of it, a stack overflow too (alternate signal stack); a double free
# is still reported by glibc, at the same call.
for m in segv abort doublefree overflow; do
    "$V" $m >/dev/null 2>"$W/bare.err"
    want_rc=$?
    mkdir -p "$W/crash"
    out=$W/crash/$m.tms
    timeout 60 "$TMRUN" --crash -o "$out" -- "$V" $m >/dev/null 2>"$W/err"
    rc=$?
    [ $rc = $want_rc ] && pass || fail "--crash $m: exit status $rc under tmrun, $want_rc without"
    n=$(traces "$out")
    [ -n "$n" ] && [ "$n" -ge 64 ] && pass || fail "--crash $m: snapshot has '$n' traces (stderr: $(head -c 300 "$W/err"))"
    "$TMINFO" "$out" 2>/dev/null | grep -q "^  trigger *crash$" && pass || fail "--crash $m: trigger is not 'crash'"
    if [ $m = doublefree ]; then
        grep -q "double free" "$W/err" && pass || fail "--crash doublefree: glibc's report is missing: $(head -c 300 "$W/err")"
    fi
    rm -rf "$W/crash"
done

# --follow-fork: the child gets its own file, the parent keeps its own
mkdir -p "$W/ff"
timeout 60 "$TMRUN" --follow-fork -o "$W/ff/p.tms" -- "$V" fork >/dev/null 2>"$W/err"
rc=$?
[ $rc = 6 ] && pass || fail "fork --follow-fork: exit $rc, expected 6"
[ -n "$(traces "$W/ff/p.tms")" ] && pass || fail "fork --follow-fork: no parent snapshot"
child=$(ls "$W/ff" | grep -E '^p\.[0-9]+\.tms$' | head -1)
if [ -n "$child" ]; then
    n=$(traces "$W/ff/$child")
    [ -n "$n" ] && [ "$n" -ge 64 ] && pass || fail "fork --follow-fork: child snapshot $child has '$n' traces"
else
    fail "fork --follow-fork: no child snapshot (files: $(ls "$W/ff" | tr '\n' ' '))"
fi

# an output that cannot be written: the program's status is unchanged and
# the recorder says why on stderr
for target in "$W/missing/dir/x.tms" "$W"; do
    timeout 60 "$TMRUN" -o "$target" -- "$V" exit >/dev/null 2>"$W/err"
    rc=$?
    [ $rc = 3 ] && pass || fail "unwritable output $target: exit $rc, expected 3"
    [ -s "$W/err" ] && pass || fail "unwritable output $target: nothing on stderr"
done
if mknod "$W/devfull" c 1 7 2>/dev/null; then
    timeout 60 "$TMRUN" -o "$W/devfull" -- "$V" exit >/dev/null 2>"$W/err"
    rc=$?
    [ $rc = 3 ] && pass || fail "/dev/full node output: exit $rc, expected 3"
    [ -c "$W/devfull" ] && pass || fail "/dev/full node output: the device node was replaced"
    grep -qi "space" "$W/err" && pass || fail "/dev/full node output: no 'no space' message: $(head -c 200 "$W/err")"
else
    skip "/dev/full node for tmrun: mknod failed"
fi

finish
