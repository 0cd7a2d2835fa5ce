#!/bin/bash
# Debug info from a debuginfod server: a real `debuginfod` on 127.0.0.1 (a
# free port) serves the debug files (objcopy --only-keep-debug) of two
# stripped binaries, a program and its shared library; a run of the
# stripped program is recorded, and symbolized with DEBUGINFOD_URLS pointing
# to the server and a private DEBUGINFOD_CACHE_PATH: every frame of both is
# what llvm-symbolizer --inlining says on the unstripped binaries, tmsym
# embeds it (the file then needs no server), tmstat names the source lines,
# the cache serves a second run with the server gone, and an unreachable
# server is a note ("debuginfod failure"), said once per module.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
W=$TM_WORK
T=$B/tools
command -v debuginfod > /dev/null || skip_test "no debuginfod binary (Debian package debuginfod)"
grep -q '^TM_WITH_DEBUGINFOD:BOOL=OFF' "$B/CMakeCache.txt" 2> /dev/null &&
  skip_test "this build has -DTM_WITH_DEBUGINFOD=OFF"
for tool in llvm-symbolizer objcopy strip readelf python3; do
  command -v $tool > /dev/null || { fail "$tool not installed (scripts/deps.sh)"; finish; }
done
cd "$W"
mkdir -p src orig srv bin
cat > src/libdf.c <<'SRC'
#include <stdlib.h>
static inline __attribute__((always_inline)) void *df_grow(size_t n)
{
    return malloc(n + 1);
}
__attribute__((noinline)) void *df_make(size_t n)
{
    void *p = df_grow(n);
    __asm__ volatile("" ::"r"(p) : "memory");
    return p;
}
SRC
cat > src/prog.c <<'SRC'
#include <stdlib.h>
void *df_make(size_t n);
static inline __attribute__((always_inline)) void *wrap(size_t n)
{
    return df_make(n * 2);
}
__attribute__((noinline, noclone)) void *outer(size_t n)
{
    void *p = wrap(n);
    __asm__ volatile("" ::"r"(p) : "memory");
    return p;
}
int main(void)
{
    for (int i = 0; i < 4; i++)
        outer(100 + (size_t)i);
    void *q = malloc(33);
    __asm__ volatile("" ::"r"(q) : "memory");
    return 0;
}
SRC
cc -O2 -g -fPIC -shared src/libdf.c -o orig/libdf.so &&
  cc -O2 -g src/prog.c -o orig/prog -Lorig -ldf -Wl,-rpath,'$ORIGIN' ||
  { fail "cannot build the test binaries"; finish; }
for f in prog libdf.so; do
  objcopy --only-keep-debug orig/$f srv/$f.debug && strip --strip-all -o bin/$f orig/$f ||
    { fail "objcopy/strip $f"; finish; }
done
check "the binaries are stripped (no .debug_info, no .symtab)" \
  bash -c '! readelf -SW bin/prog bin/libdf.so | grep -q -e "\.debug_info" -e "\.symtab"'
id_of() { readelf -n "$1" | sed -n 's/.*Build ID: \([0-9a-f]*\).*/\1/p'; }
prog_id=$(id_of bin/prog)
lib_id=$(id_of bin/libdf.so)
check "build-ids ($prog_id, $lib_id)" test -n "$prog_id" -a -n "$lib_id"

# The server: a free port, retried if another process takes it first.
server_pid=
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill "$server_pid" 2> /dev/null
  wait "$server_pid" 2> /dev/null
  server_pid=
}
tm_on_exit stop_server
for attempt in 1 2 3 4 5; do
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  debuginfod -F -p "$port" -d "$W/debuginfod.sqlite" -t 0 -g 0 --disable-source-scan -v \
    "$W/srv" > server.log 2>&1 &
  server_pid=$!
  ok=0
  for _ in $(seq 1 200); do
    kill -0 "$server_pid" 2> /dev/null || break
    if python3 - "$port" "$prog_id" "$lib_id" <<'PY' 2> /dev/null; then ok=1; break; fi
import sys, urllib.request
for bid in sys.argv[2:]:
    urllib.request.urlopen("http://127.0.0.1:%s/buildid/%s/debuginfo" % (sys.argv[1], bid), timeout=5).read()
PY
    sleep 0.1
  done
  [ "$ok" = 1 ] && break
  stop_server
done
[ "$ok" = 1 ] || { cat server.log; fail "debuginfod did not serve the debug files"; finish; }
pass "debuginfod serves both debug files on 127.0.0.1:$port"
URL=http://127.0.0.1:$port
export DEBUGINFOD_CACHE_PATH=$W/cache
export DEBUGINFOD_TIMEOUT=20
unset DEBUGINFOD_PROGRESS DEBUGINFOD_VERBOSE

# A run of the stripped program (or, in a sanitizer build where the recorder
# cannot be preloaded, a synthetic snapshot of addresses in it: its frames
# are then not compared with llvm-symbolizer, whose conventions differ
# outside functions; the lookups below are).
modules="prog=$W/orig/prog"
# same_frames TMINFO-TRACES-OUTPUT: the recorded frames are llvm-symbolizer's
same_frames() {
  [ "$TM_SANITIZE" = 1 ] && return 0
  python3 "$TM_SOURCE_DIR/tests/cli/symbolize_compare.py" "$1" $modules
}
if [ "$TM_SANITIZE" = 1 ]; then
  "$B/tests/bench/tm_symbolize_mksnap" "$W/bin/prog" run.tms > /dev/null ||
    { fail "mksnap"; finish; }
else
  "$B/recorder/tmrun" -o run.tms -- bin/prog > /dev/null 2> run.err ||
    { cat run.err; fail "bin/prog under tmrun exited with $?"; finish; }
  modules="$modules libdf.so=$W/orig/libdf.so"
fi

# Without a server: the stripped binaries have no lines.
DEBUGINFOD_URLS= "$T/tmsym" run.tms -o local.tms 2> local.err || fail "tmsym without a server exited with $?"
"$T/tminfo" --traces local.tms > local.txt
check "without debuginfod the frames have no lines (the test needs the server)" \
  bash -c '! grep -q "(.*prog\.c:[0-9]*)" "$1"' _ local.txt
check "without debuginfod: 'symbol table only' for prog" grep -q "prog: symbol table only" local.err

DEBUGINFOD_URLS=$URL "$T/tmsym" run.tms -o sym.tms 2> sym.err || fail "tmsym exited with $?"
"$T/tminfo" --traces sym.tms > sym.txt
check "with debuginfod the frames have lines of prog.c" grep -q "(.*prog\.c:[0-9]*)" sym.txt
if same_frames sym.txt > cmp.txt; then
  pass "tmsym with debuginfod: every frame as llvm-symbolizer --inlining on the unstripped binaries ($(grep -c compared cmp.txt) modules)"
else
  cat cmp.txt sym.err
  fail "tmsym with debuginfod: frames differ from llvm-symbolizer --inlining"
fi
check "fetched into the private cache" test -s "cache/$prog_id/debuginfo"
check "no note about prog (module 0)" bash -c '! grep -q "note: module 0 " "$1"' _ sym.err
DEBUGINFOD_URLS=$URL "$T/tminfo" --modules run.tms > modules.txt 2>&1
check "tminfo --modules: prog's symbols from the debuginfod cache" \
  grep -q "symbols: from $W/cache/$prog_id/debuginfo" modules.txt
# Embedded: no server, no cache, no binaries needed any more.
mv cache cache.away
mv bin bin.away
DEBUGINFOD_URLS= "$T/tmstat" sym.tms --by lineno --top 0 --as-recorded > embedded.txt 2> embedded.err
check "tmsym embedded the frames (tmstat names prog.c lines, no server, no cache, no binary)" \
  grep -q "prog.c:[0-9]" embedded.txt
mv cache.away cache
mv bin.away bin

# Every instruction of main and every call site, through tmsym --lookup (the
# same symbolizer, its lookups from the cache now), as llvm-symbolizer says.
DEBUGINFOD_URLS=$URL python3 - "$TM_SOURCE_DIR/tests/symbolize" "$T/tmsym" "$W" > lookup.txt 2>&1 <<'PY' &&
import sys
sys.path.insert(0, sys.argv[1])
import accuracy
diffs = []
for name in ("prog", "libdf.so"):
    w = sys.argv[3]
    diffs += accuracy.compare(name, sys.argv[2], w + "/bin/" + name, w + "/orig/" + name, w,
                              addr_source=w + "/orig/" + name)
print("\n".join(diffs))
sys.exit(1 if diffs else 0)
PY
  pass "tmsym --lookup with debuginfod: $(grep -c addresses lookup.txt) binaries as llvm-symbolizer --inlining on the unstripped ones ($(grep addresses lookup.txt | tr -s ' ' | tr '\n' ';'))" ||
  { cat lookup.txt; fail "tmsym --lookup with debuginfod differs from llvm-symbolizer --inlining"; }

# tmstat symbolizes on load through the same path.
DEBUGINFOD_URLS=$URL "$T/tmstat" run.tms --by lineno --top 0 --as-recorded > stat.txt 2> stat.err ||
  fail "tmstat exited with $?"
check "tmstat with debuginfod names prog.c lines" grep -q "prog.c:[0-9]" stat.txt

# Progress while downloading: on a terminal only.
check "no progress on a non-terminal stderr" bash -c '! grep -q -e "fetching debug info" -e $'"'"'\r'"'"' "$1"' _ sym.err
if command -v script > /dev/null; then
  DEBUGINFOD_CACHE_PATH=$W/cache-tty DEBUGINFOD_URLS=$URL TM_PROGRESS_DELAY_MS=0 \
    script -qec "'$T/tmsym' -q run.tms -o tty.tms" tty.txt > /dev/null 2>&1
  check "progress on a terminal while downloading" \
    grep -q "debuginfod: fetching debug info of prog" tty.txt
else
  skip "script(1) missing: no pseudo-terminal for the progress check"
fi

# The cache serves a second run with the server gone.
stop_server
DEBUGINFOD_URLS=$URL "$T/tmsym" run.tms -o cached.tms 2> cached.err || fail "tmsym (cache) exited with $?"
"$T/tminfo" --traces cached.tms > cached.txt
check "server stopped: the same frames from libdebuginfod's cache" cmp -s <(tail -n +2 sym.txt) <(tail -n +2 cached.txt)
check "server stopped: the cached frames are llvm-symbolizer's" \
  same_frames cached.txt

# An unreachable server: a note, once per module, and the frames stay raw.
DEBUGINFOD_CACHE_PATH=$W/cache2 DEBUGINFOD_URLS=$URL "$T/tmdiff" run.tms run.tms > /dev/null 2> down.err
n=$(grep -c "bin/prog: .*debuginfod failure: build-id $prog_id " down.err)
check "unreachable server: tmdiff says 'debuginfod failure' for prog once (got $n)" test "$n" = 1
check "unreachable server: the note names the server" grep -q "debuginfod failure: build-id $prog_id from $URL" down.err
DEBUGINFOD_CACHE_PATH=$W/cache3 DEBUGINFOD_URLS=$URL "$T/tminfo" --modules run.tms > down-modules.txt 2> /dev/null
check "unreachable server: tminfo --modules says it too" \
  grep -q "note: $W/bin/prog: symbol table only: no debug info found; debuginfod failure" down-modules.txt
finish
