#!/bin/bash
# tmrun refuses a statically linked PROGRAM before running it (LD_PRELOAD
# cannot reach a static executable's malloc, so nothing would be recorded):
# exit 2, a message that says why and what to do, PROGRAM not run, no file
# written.  -static and -static-pie, by path and through PATH; a dynamic
# program, the dynamic loader run as a program and a script still run.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
W=$TM_WORK
TMRUN=$B/recorder/tmrun
cd "$W"
cat > prog.c <<'SRC'
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
    FILE *f = fopen(argc > 1 ? argv[1] : "ran", "w");
    if (f)
        fclose(f);
    return malloc(10) == NULL;
}
SRC
cc -O1 prog.c -o dyn || { fail "cannot build a dynamic program"; finish; }
cc -O1 -static prog.c -o st || skip_test "no static C library (libc.a) to link a -static program"

refused() {   # refused DESCRIPTION PROGRAM-AS-GIVEN [ENV...]
  local what=$1 prog=$2
  shift 2
  rm -f ran out.tms
  env "$@" "$TMRUN" -o out.tms -- "$prog" ran > out.txt 2> err.txt
  local rc=$?
  check "$what: exit 2 (got $rc)" test "$rc" = 2
  check "$what: says it is statically linked" grep -q "statically linked" err.txt
  check "$what: says LD_PRELOAD cannot work" grep -q "LD_PRELOAD" err.txt
  check "$what: says what to do" grep -q "Link it dynamically, or link libtmrecorder.a" err.txt
  check "$what: PROGRAM was not run" test ! -e ran
  check "$what: no snapshot written" test ! -e out.tms
}
refused "-static by path" ./st
refused "-static through PATH" st PATH="$W:$PATH"
if cc -O1 -static-pie prog.c -o stpie 2>/dev/null; then
  refused "-static-pie" ./stpie
else
  skip "-static-pie: the compiler cannot link one"
fi

# Not refused: what a dynamic loader runs.
if [ "$TM_SANITIZE" = 1 ]; then
  skip "dynamic programs under LD_PRELOAD in a sanitizer build"
else
  rm -f ran out.tms
  "$TMRUN" -o out.tms -- ./dyn ran 2> err.txt
  check "a dynamic program runs (exit $?)" test -e ran
  check "a dynamic program is recorded" test -s out.tms
  ldso=$(readelf -lW dyn | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
  if [ -x "$ldso" ]; then
    rm -f ran
    "$TMRUN" -o out.tms -- "$ldso" ./dyn ran 2> err.txt
    check "the dynamic loader run as a program ($ldso) is not refused" test -e ran
  else
    skip "no dynamic loader found in dyn's PT_INTERP"
  fi
  printf '#!/bin/sh\n: > ran\n' > script.sh
  chmod +x script.sh
  rm -f ran
  "$TMRUN" -o out.tms -- ./script.sh 2> err.txt
  check "a script runs" test -e ran
fi
finish
