#!/bin/bash
# Exact per-site expectations through LD_PRELOAD (tmrun), the forked child
# traced to its own file (--follow-fork), and the unwinder compared with
# libgcc's _Unwind_Backtrace and with the full (non-incremental) walk on
# every allocation.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
if [ "$TM_SANITIZE" = 1 ]; then
  skip_test "LD_PRELOAD of the recorder into a sanitized process is not possible" \
       "(the ASan runtime must come first and owns malloc); the linked-API test" \
       "rec_sites_api still runs under TM_SANITIZE=1"
fi
W=$TM_WORK
cd "$W"
TM_UNWIND_CHECK=1 "$B/recorder/tmrun" -n 32 --follow-fork -o "$W/sites.tms" -- \
    "$B/tests/recorder/rec_sites_plain" "$W/expect" 2> "$W/stderr"
rc=$?
cat "$W/stderr"
[ $rc -eq 0 ] && pass || fail "rec_sites_plain exited with $rc"
check "every site as expected" "$B/tests/recorder/rec_check" "$W/expect" "$W/sites.tms"
cpid=$(sed -n 's/^pid //p' "$W/expect.child")
check "every site of the forked child as expected" \
    "$B/tests/recorder/rec_check" "$W/expect.child" "$W/sites.$cpid.tms"
# The unwind check: every stack equal to libgcc's and to the full walk.
n=$(grep -c "unwind check: [0-9]* stacks, 0 differ from libgcc, 0 differ from the full eh walk" "$W/stderr")
[ "$n" = 2 ] && pass || fail "unwind check (expected 2 clean reports, got $n)"
grep -q "differs" "$W/stderr" && fail "unwinder mismatch" || pass

# dlopen/dlclose: frames of an unloaded plugin keep its path and build-id.
"$B/recorder/tmrun" -n 8 -o "$W/dl.tms" -- "$B/tests/recorder/rec_dlopen" \
    "$B/tests/recorder/librec_plugin.so" && pass || fail "rec_dlopen"
check "dlopen: the unloaded plugin's frames keep its module" \
    "$B/tests/recorder/rec_check" --module "$W/dl.tms" 4242 /librec_plugin.so 6

# Without tmrun: LD_PRELOAD + TM_OUTPUT + TM_NFRAME only.
LD_PRELOAD="$B/recorder/libtmrecorder.so" TM_OUTPUT="$W/env.tms" TM_NFRAME=8 \
    "$B/tests/recorder/rec_dlopen" "$B/tests/recorder/librec_plugin.so" && pass ||
    fail "rec_dlopen with LD_PRELOAD, TM_OUTPUT and TM_NFRAME"
check "LD_PRELOAD without tmrun: the plugin's frames keep its module" \
    "$B/tests/recorder/rec_check" --module "$W/env.tms" 4242 /librec_plugin.so 6

# An install tree (bin/tmrun + lib/libtmrecorder.so): tmrun finds the library.
mkdir -p "$W/inst/bin" "$W/inst/lib"
cp "$B/recorder/tmrun" "$W/inst/bin/" && cp "$B/recorder/libtmrecorder.so" "$W/inst/lib/"
(cd "$W" && "$W/inst/bin/tmrun" -o inst.tms -- true) && [ -s "$W/inst.tms" ] \
  && pass || fail "tmrun from an install tree"
# C++: bad_alloc from operator new is thrown through the hook and caught.
TM_UNWIND_CHECK=1 "$B/recorder/tmrun" -n 32 -o "$W/cxx.tms" -- "$B/tests/recorder/rec_cxx_throw" \
    2> "$W/cxx.err" && pass || fail "rec_cxx_throw"
cat "$W/cxx.err"
grep -q "stacks, 0 differ from libgcc, 0 differ from the full eh walk" "$W/cxx.err" \
  && pass || fail "unwinder differs on rec_cxx_throw"
check "rec_cxx_throw: a valid snapshot" "$B/tests/recorder/rec_check" --info "$W/cxx.tms"
# _exit and _Exit skip destructors; the exit snapshot is still written,
# once, by the process itself and not by its vfork child.
for how in _exit:3 _Exit:5; do
  fn=${how%:*} want=${how#*:}
  rm -f "$W/exit.tms"
  "$B/recorder/tmrun" -n 8 -o "$W/exit.tms" -- "$B/tests/recorder/rec_exit" "$fn"
  rc=$?
  [ $rc = "$want" ] && pass || fail "rec_exit $fn exited with $rc, expected $want"
  "$B/tests/recorder/rec_check" --module "$W/exit.tms" 12345 /rec_exit 1 && pass || fail "$fn"
  "$B/tests/recorder/rec_check" --module "$W/exit.tms" 34567 /rec_exit 1 && pass || fail "$fn"
done
# ... but not from a signal handler: _exit is async-signal-safe, a snapshot is not.
rm -f "$W/exit.tms"
"$B/recorder/tmrun" -n 8 -o "$W/exit.tms" -- "$B/tests/recorder/rec_exit" handler
rc=$?
[ $rc = 6 ] && pass || fail "rec_exit handler exited with $rc, expected 6"
[ -e "$W/exit.tms" ] && fail "_exit from a signal handler wrote a snapshot" || pass
# Usage errors: exit status 2 with a message.
"$B/recorder/tmrun" -n 0 -- true 2>/dev/null; [ $? = 2 ] && pass || fail "tmrun -n 0"
"$B/recorder/tmrun" 2>/dev/null; [ $? = 2 ] && pass || fail "tmrun without program"
"$B/recorder/tmrun" -- /nonexistent/prog 2>/dev/null; [ $? = 127 ] && pass || fail "missing program"
finish
/root/.pyenv/libexec/pyenv-hooks: line 24: enable: cannot open shared object /root/.pyenv/libexec/pyenv-realpath.dylib: /root/.pyenv/libexec/pyenv-realpath.dylib: cannot open shared object file: No such file or directory
