#!/bin/bash
# tmrun -p where attaching is not possible: exit 2 and a message with the
# reason and what to do.  No such process; ptrace not permitted (tmrun run
# as another user, nobody, against our process); already traced (a helper
# holds the process with PTRACE_SEIZE, as a debugger would); a statically
# linked program; a process whose C library has no dlopen (a stand-in:
# a program linked against a library named like an old glibc, libc-2.19.so,
# that has none); a process attached already, or run under tmrun; and the
# usage errors of -p.  Also: a tmrun killed while attached is replaced by
# the next one.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
source "$TM_SOURCE_DIR/tests/recorder/rec_attach_lib.bash"
B=$TM_BUILD_DIR
W=$TM_WORK
TMRUN=$B/recorder/tmrun

# refused NAME TEXT CMD...: exit 2 and TEXT in the message.
refused() {
    local name=$1 text=$2
    shift 2
    check_exit "$name" 2 "$@"
    expect_in "$name" "$W/err" "$text"
}

refused "no such process" "-p 2147483646: no such process" "$TMRUN" -p 2147483646
refused "not a pid" "-p abc: expected a process id" "$TMRUN" -p abc
refused "-p with a PROGRAM" "no PROGRAM with it" "$TMRUN" -p 1 -- true
refused "--for without -p" "--for needs -p PID" "$TMRUN" --for 1 -- true
refused "--signal with -p" "not available with -p" "$TMRUN" -p 1 --signal USR2

sleep 300 &
SL=$!
tm_on_exit "kill $SL 2>/dev/null"

# Another user.
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
  refused "another user's process" "ptrace is not permitted" \
      setpriv --reuid=nobody --regid=nogroup --clear-groups "$TMRUN" -p "$SL"
  expect_in "another user: what to do" "$W/err" "CAP_SYS_PTRACE"
  expect_in "another user: Yama" "$W/err" "kernel.yama.ptrace_scope"
elif [ "$(id -u)" != 0 ]; then
  # Not root: our own tmrun cannot trace a process of root's (pid 1).
  refused "another user's process" "ptrace is not permitted" "$TMRUN" -p 1
  expect_in "another user: Yama" "$W/err" "kernel.yama.ptrace_scope"
else
  skip "root without setpriv: no way to run tmrun as another user"
fi

# Already traced.
"$B/tests/recorder/rec_attach_tracer" "$SL" > "$W/tracer.out" &
TRC=$!
tm_on_exit "kill $TRC 2>/dev/null"
if wait_grep seized "$W/tracer.out" 10; then
  refused "already traced" "already traced by process $TRC" "$TMRUN" -p "$SL"
  expect_in "already traced: what to do" "$W/err" "detach the debugger or tracer first"
else
  skip "the helper could not PTRACE_SEIZE (ptrace not permitted here)"
fi
kill "$TRC"; wait "$TRC" 2>/dev/null

# A static binary.
printf '#include <unistd.h>\nint main(void) { for (;;) pause(); }\n' > "$W/static.c"
ST=
if cc -O1 -static "$W/static.c" -o "$W/static" 2> "$W/cc.err"; then
  "$W/static" &
  ST=$!
  tm_on_exit "kill $ST 2>/dev/null"
  sleep 0.2
  refused "static binary" "it is statically linked" "$TMRUN" -p "$ST"
else
  skip "no static C library (libc.a) to link a -static program"
fi

# No dlopen in the C library.
mkdir "$W/old"
echo 'int old_libc_function(void) { return 42; }' > "$W/old/lib.c"
cat > "$W/old/main.c" <<'C'
int old_libc_function(void);
void _start(void)
{
    for (;;) {
        long r;
        __asm__ volatile("syscall" : "=a"(r) : "a"(34L) : "rcx", "r11", "memory"); /* pause */
        old_libc_function();
    }
}
C
if cc -shared -fPIC -nostdlib -Wl,-soname,libc-2.19.so -o "$W/old/libc-2.19.so" "$W/old/lib.c" &&
   cc -nostdlib -fPIE -pie -o "$W/old/main" "$W/old/main.c" "$W/old/libc-2.19.so" \
       -Wl,-rpath,"$W/old"; then
  "$W/old/main" &
  OLD=$!
  tm_on_exit "kill $OLD 2>/dev/null"
  sleep 0.2
  refused "no dlopen" "its C library $W/old/libc-2.19.so has no dlopen" "$TMRUN" -p "$OLD"
  kill -0 "$OLD" 2>/dev/null && pass "the refused process runs on" || fail "the refused process died"
else
  fail "cannot build the stand-in for an old C library"
fi

# Attached already (a second tmrun), or traced by LD_PRELOAD already (run
# under tmrun): the recorder itself refuses to start twice.
if [ "$TM_SANITIZE" = 1 ]; then
  skip "the recorder library of a sanitizer build cannot be loaded into a plain process"
else
  "$TMRUN" -p "$SL" -o "$W/first.tms" 2> "$W/first.err" &
  FIRST=$!
  if wait_grep "attached to $SL" "$W/first.err"; then
    refused "attached twice" "another tmrun is attached to it already" "$TMRUN" -p "$SL"
    kill -INT "$FIRST"
    wait "$FIRST" && pass || fail "the first tmrun did not detach cleanly"
  else
    fail "the first tmrun did not attach"; cat "$W/first.err" >&2
  fi
  # A tmrun killed while attached leaves the recorder attached: the next
  # tmrun detaches in its place (its FILE written), then attaches.
  "$TMRUN" -p "$SL" -o "$W/killed.tms" 2> "$W/killed.err" &
  KILLED=$!
  if wait_grep "attached to $SL" "$W/killed.err"; then
    kill -9 "$KILLED"; wait "$KILLED" 2>/dev/null
    check_exit "after a killed tmrun" 0 "$TMRUN" -p "$SL" -o "$W/next.tms" --for 0.3
    expect_in "after a killed tmrun" "$W/err" "(pid $KILLED) is gone: detaching it first"
    [ -s "$W/killed.tms" ] && [ -s "$W/next.tms" ] && pass ||
        fail "the killed tmrun's or the next one's FILE is missing"
  else
    fail "tmrun did not attach (killed-tmrun case)"
  fi
  "$TMRUN" -o "$W/pre.tms" -- sleep 300 &
  PRE=$!
  tm_on_exit "kill $PRE 2>/dev/null"
  sleep 0.3
  refused "started under tmrun" "it is traced by LD_PRELOAD already" "$TMRUN" -p "$PRE"
  kill "$PRE"
fi

# Every refused process still runs, untouched.
kill -0 "$SL" && { [ -z "$ST" ] || kill -0 "$ST"; } && pass "refused processes run on" || fail "a refused process died"
finish
