#!/bin/bash
# `cmake --install` into a temporary prefix gives a usable package: tools,
# headers, static libraries, man pages, and a program that builds against it
# both with pkg-config and with find_package(tmkit), then runs.
set -euo pipefail
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
WORK=$TM_WORK
PREFIX=$WORK/prefix

cmake --install "$TM_BUILD_DIR" --prefix "$PREFIX" > "$WORK/install.log"
echo "installed $(grep -c 'Installing:' "$WORK/install.log") files into the prefix"
libdir=$PREFIX/lib
[ -d "$libdir" ] || libdir=$(dirname "$(find "$PREFIX" -name libtmcore_model.a | head -1)")

for tool in tminfo tmstat tmdiff tmconv tmsym tmexport tmmerge; do
    if [ -e "$TM_BUILD_DIR/tools/$tool" ]; then
        check "bin/$tool installed and runs" bash -c '"$0" --help > /dev/null' "$PREFIX/bin/$tool"
    fi
done
if [ -e "$TM_BUILD_DIR/recorder/tmrun" ]; then
    check "bin/tmrun installed" test -x "$PREFIX/bin/tmrun"
    check "libtmrecorder.so installed" test -e "$libdir/libtmrecorder.so"
fi
# One static library per layer (doc/DESIGN.md); tmkit::tmcore is an interface target.
for lib in tmcore_base tmcore_model tmcore_analysis tmcore_symbolize tmformats_tms tmformats; do
    check "lib$lib.a installed" test -s "$libdir/lib$lib.a"
done
for h in "$TM_SOURCE_DIR"/libtmcore/include/tm/*.h "$TM_SOURCE_DIR"/formats/include/tm/*.h \
         "$TM_SOURCE_DIR"/recorder/include/tm/*.h; do
    check "header tm/$(basename "$h")" cmp -s "$h" "$PREFIX/include/tm/$(basename "$h")"
done
check "tmkit.pc installed" test -s "$libdir/pkgconfig/tmkit.pc"
check "CMake package config installed" test -s "$libdir/cmake/tmkit/tmkitConfig.cmake"
for page in "$TM_SOURCE_DIR"/doc/man/*.1; do
    [ -e "$page" ] || continue
    name=$(basename "$page")
    if ! command -v man > /dev/null; then
        check "man page $name installed (man(1) missing: rendering not checked)" \
            test -s "$PREFIX/share/man/man1/$name"
        continue
    fi
    check "man page $name installed and renders without warnings" bash -c '
        test -s "$0" &&
        out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$0" 2>&1 >/dev/null) &&
        test -z "$out" || { echo "$out" >&2; false; }' "$PREFIX/share/man/man1/$name"
done

# --- a consumer program --------------------------------------------------
mkdir -p "$WORK/app"
cat > "$WORK/app/app.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <tm/export.h>
#include <tm/snapshot.h>
#include <tm/tms.h>
#include <tm/version.h>

int main(int argc, char **argv)
{
    tm_error err;
    tm_snapshot *s, *back;
    uint32_t fn, file, frames[2], stack;
    if (argc != 2 || tm_snapshot_new(&s, &err))
        return 2;
    tm_frame f = { TM_NONE, 0, 0, 7, TM_NONE, 0, 0x10 };
    tm_snapshot_intern_string(&fn, s, "consumer_main", 13, &err);
    tm_snapshot_intern_string(&file, s, "app.c", 5, &err);
    f.function = fn;
    f.file = file;
    if (tm_snapshot_intern_frame(&frames[1], s, &f, &err))
        return 3;
    f.function = 0;
    f.line = 42;
    f.offset = 0x20;
    tm_snapshot_intern_frame(&frames[0], s, &f, &err);
    tm_snapshot_intern_stack(&stack, s, frames, 2, &err);
    tm_trace t = { 4096, stack, 0 };
    tm_snapshot_add_trace(s, &t, 2, &err);
    tm_snapshot_add_trace(s, &t, 2, &err);
    if (tm_tms_write(s, argv[1], NULL, &err) || tm_tms_read(&back, argv[1], &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 4;
    }
    printf("tmkit %s, total %llu\n", tm_version_string(),
           (unsigned long long)tm_snapshot_total_size(back));
    if (tm_export_folded(back, NULL, stdout, &err))
        return 5;
    tm_snapshot_free(s);
    tm_snapshot_free(back);
    return 0;
}
C
CC=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$TM_BUILD_DIR/CMakeCache.txt" | head -1)
CC=${CC:-cc}
export CC
san=()
[ "$TM_SANITIZE" = 1 ] && san=(-fsanitize=address,undefined)
expected=$'total 8192\nconsumer_main;app.c:42 8192'
run_app() {   # run_app BINARY
    local out
    out=$("$1" "$WORK/app/out.tms") || return 1
    echo "$out" | sed 's/^/  /'
    [ "$(echo "$out" | sed 1s/.*,\ //)" = "$expected" ]
}

check "pkg-config --cflags --libs tmkit builds and runs a program" bash -c '
    export PKG_CONFIG_PATH="$1/pkgconfig"
    "$CC" -std=c11 "${@:4}" "$2/app/app.c" $(pkg-config --cflags --libs tmkit) -o "$2/app/app-pc"' \
    _ "$libdir" "$WORK" _ "${san[@]}"
check "pkg-config build: output" run_app "$WORK/app/app-pc"

cat > "$WORK/app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(tmkit_consumer C)
find_package(tmkit 0.1 REQUIRED)
add_executable(app app.c)
target_link_libraries(app PRIVATE tmkit::tmformats)
CM
san_flag=""
[ "$TM_SANITIZE" = 1 ] && san_flag="-fsanitize=address,undefined"
check "find_package(tmkit) builds a program" bash -c '
    cmake -S "$1/app" -B "$1/app/build" -DCMAKE_PREFIX_PATH="$2" -DCMAKE_C_COMPILER="$CC" \
          -DCMAKE_C_FLAGS="$3" -DCMAKE_EXE_LINKER_FLAGS="$3" > "$1/cmake.log" 2>&1 &&
    cmake --build "$1/app/build" >> "$1/cmake.log" 2>&1 || { tail -30 "$1/cmake.log" >&2; false; }' \
    _ "$WORK" "$PREFIX" "$san_flag"
check "find_package build: output" run_app "$WORK/app/build/app"

finish
