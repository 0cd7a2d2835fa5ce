#!/bin/bash
# A library dlopen()ed by a relative path ("./libplug.so") is recorded with
# its absolute path: tmstat run from another directory still symbolizes its
# frames (file:line of the library's source), and the recorded module path
# is absolute and names the library.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
W=$TM_WORK
[ "$TM_SANITIZE" = 1 ] && skip_test "LD_PRELOAD of the recorder into a sanitized process is not possible"
mkdir -p "$W/app" "$W/elsewhere"
cat > "$W/app/plug.c" <<'SRC'
#include <stdlib.h>
void *plug_alloc(size_t n)
{
    void *p = malloc(n); /* PLUG_ALLOC_LINE */
    __asm__ volatile("" ::"r"(p) : "memory");
    return p;
}
SRC
cat > "$W/app/main.c" <<'SRC'
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>
int main(void)
{
    void *h = dlopen("./libplug.so", RTLD_NOW);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    void *(*fn)(size_t) = (void *(*)(size_t))dlsym(h, "plug_alloc");
    /* A later chdir must not change which file the frames name. */
    if (chdir("/") != 0)
        return 1;
    for (int i = 0; i < 5; i++)
        fn(7777);
    return 0;
}
SRC
line=$(grep -n PLUG_ALLOC_LINE "$W/app/plug.c" | cut -d: -f1)
cd "$W/app"
cc -g -O0 -fPIC -shared plug.c -o libplug.so || { fail "cannot build libplug.so"; finish; }
cc -g -O0 main.c -o main -ldl || { fail "cannot build main"; finish; }
"$B/recorder/tmrun" -o "$W/app/run.tms" -- ./main > run.out 2> run.err ||
  { cat run.err; fail "main under tmrun exited with $?"; finish; }
cd "$W/elsewhere"
"$B/tools/tminfo" --traces "$W/app/run.tms" > info.txt 2>&1 || fail "tminfo exited with $?"
"$B/tools/tmstat" "$W/app/run.tms" --by lineno --top 0 --format csv --as-recorded > stat.csv 2> stat.err ||
  fail "tmstat exited with $?"
check "the traces name libplug.so" grep -q "\[libplug.so+0x" info.txt
check "tmstat attributes 5 x 7777 B to plug.c:$line (got: $(grep plug.c stat.csv | head -3 | tr '\n' ' '))" \
  grep -q "/plug\.c,$line,38885,5,\|/plug\.c,$line,38885,5$" stat.csv
check "no note about a missing module" bash -c '! grep -q "libplug.so.*missing" "$1"' _ stat.err
"$B/tools/tmstat" "$W/app/run.tms" --by module --top 0 --format csv > mod.csv 2>&1 || fail "tmstat --by module exited with $?"
check "the recorded module path is absolute: $W/app/libplug.so" grep -q "^[^,]*,$W/app/libplug.so," mod.csv
finish
