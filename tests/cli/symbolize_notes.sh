#!/bin/bash
# What symbolizing could not do is said once per module, in the same words
# by tmstat and tmdiff (stderr), tmsym (stderr) and tminfo --modules
# (stdout): no debug info (symbol table only), a .gnu_debuglink debug file
# of another build (another build-id), a missing binary, a binary of
# another build.  A module whose debug file matches says nothing.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
W=$TM_WORK
T=$B/tools
MK=$B/tests/bench/tm_symbolize_mksnap
[ -x "$MK" ] || { fail "$MK not built"; finish; }
cd "$W"
mkdir -p bin good
cat > prog.c <<'SRC'
#include <stdlib.h>
__attribute__((noinline)) void *make(size_t n) { return malloc(n + V); }
int main(void) { return make(3) == NULL; }
SRC
cc -g -O1 -DV=1 prog.c -o prog && cc -g -O1 -DV=2 prog.c -o prog.v2 || { fail "cc"; finish; }
# bin/prog: debug info stripped, its .gnu_debuglink names prog.debug, which
# is the debug file of the other build.
objcopy --only-keep-debug prog.v2 bin/prog.debug &&
  objcopy --strip-debug --add-gnu-debuglink=bin/prog.debug prog bin/prog || { fail "objcopy"; finish; }
# bin/plain: debug info stripped, no debug file anywhere.
objcopy --strip-debug prog bin/plain || { fail "objcopy"; finish; }
# good/prog: its own debug file.
objcopy --only-keep-debug prog good/prog.debug &&
  objcopy --strip-debug --add-gnu-debuglink=good/prog.debug prog good/prog || { fail "objcopy"; finish; }
# Module 0: the binary, 1: /nonexistent/libmissing.so, 2: the binary with
# another build-id in the snapshot.
for f in bin/prog bin/plain good/prog; do
  "$MK" "$W/$f" "$(basename "$(dirname "$f")")-$(basename "$f").tms" > /dev/null || { fail "mksnap $f"; finish; }
done
export TM_DEBUG_DIRS=$W/nothing-here DEBUGINFOD_URLS=

# note_of FILE MODULE-PATH : the text after "MODULE-PATH: " of the one line
# of FILE that names it (empty when there is none)
lines_naming() { grep -c -F "$2: " "$1"; }

"$T/tmstat" bin-prog.tms > /dev/null 2> stat.err || fail "tmstat exited with $?"
want_mismatch="$W/bin/prog: symbol table only: no debug info found; build-id mismatch: debug file $W/bin/prog.debug (.gnu_debuglink) belongs to another build of $W/bin/prog (not used)"
check "tmstat: the debug file of another build is said" grep -q -x -F "note: bin-prog.tms: $want_mismatch" stat.err
check "tmstat: the missing module is said" grep -q "note: bin-prog.tms: /nonexistent/libmissing.so: missing" stat.err
check "tmstat: the binary of another build is said" grep -q "bin/prog: build-id mismatch: .*build-id differs from the snapshot's" stat.err

"$T/tmdiff" bin-prog.tms bin-prog.tms > /dev/null 2> diff.err || fail "tmdiff exited with $?"
n=$(grep -c -F "$want_mismatch" diff.err)
check "tmdiff (two snapshots): the debug file note once (got $n)" test "$n" = 1
n=$(grep -c "libmissing.so: missing" diff.err)
check "tmdiff (two snapshots): the missing module once (got $n)" test "$n" = 1
check "tmdiff: three notes in all (got $(wc -l < diff.err))" test "$(wc -l < diff.err)" = 3

"$T/tmsym" bin-prog.tms -o out.tms 2> sym.err || fail "tmsym exited with $?"
check "tmsym says it in the same words" grep -q -x -F "tmsym: note: module 0 $want_mismatch" sym.err
"$T/tminfo" --modules bin-prog.tms > info.txt 2> info.err || fail "tminfo --modules exited with $?"
check "tminfo --modules says it in the same words" grep -q -x -F "     note: $want_mismatch" info.txt
check "tminfo --modules: the missing module" grep -q "note: /nonexistent/libmissing.so: missing" info.txt
check "tminfo --modules: nothing on stderr" test ! -s info.err
"$T/tminfo" --modules out.tms > info-out.txt
check "tminfo --modules after tmsym: module 0's symbols embedded" \
  bash -c 'grep -A2 "^  #0 " "$1" | grep -q "symbols: embedded in [1-9][0-9]* of [0-9]* frames"' _ info-out.txt

"$T/tmstat" bin-plain.tms > /dev/null 2> plain.err || fail "tmstat exited with $?"
check "no debug info at all: 'symbol table only: no debug info found'" \
  grep -q -x -F "note: bin-plain.tms: $W/bin/plain: symbol table only: no debug info found" plain.err

"$T/tmstat" good-prog.tms > /dev/null 2> good.err || fail "tmstat exited with $?"
check "the matching debug file: nothing said about good/prog" bash -c '! grep -q "good/prog: symbol" "$1"' _ good.err
"$T/tminfo" --modules good-prog.tms > good-info.txt
check "tminfo --modules: good/prog's symbols from good/prog.debug" \
  grep -q -x -F "     symbols: from $W/good/prog.debug" good-info.txt
finish
