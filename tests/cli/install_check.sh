#!/bin/bash
# The memory checks for test suites from an installed tmkit: `cmake --install`
# into a fresh prefix, then a project that knows only that prefix uses
# find_package(tmkit) for all three ways: a GoogleTest binary linking
# tmkit::gtest (its leaking test fails at the leaking line with the exact
# size; its clean test passes), a C program on tmkit::check, and
# tmkit_add_memory_test() in ctest (a program over MAX_LIVE fails, one
# under it passes).
set -euo pipefail
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
W=$TM_WORK
PREFIX=$W/prefix
[ "$TM_SANITIZE" = 1 ] &&
    skip_test "the installed tmkit::check links libtmrecorder.so, which AddressSanitizer does not let own malloc"
[ -e "$TM_BUILD_DIR/tools/check/libtmcheck_gtest.a" ] ||
    skip_test "tmkit was built without GoogleTest (libgtest-dev): no tmkit::gtest to install"

cmake --install "$TM_BUILD_DIR" --prefix "$PREFIX" > "$W/install.log"
for f in lib/libtmcheck.a lib/libtmcheck_gtest.a include/tm/check.h include/tm/gtest.h \
         lib/cmake/tmkit/tmkitMemoryTest.cmake lib/cmake/tmkit/tmkitMemoryTestRun.cmake; do
    check "installed $f" test -s "$PREFIX/$f"
done

mkdir -p "$W/app"
cat > "$W/app/gt.cpp" <<'CPP'
#include <gtest/gtest.h>
#include <cstdlib>
#include <string>
#include <vector>
static void *kept;
TEST(App, Leaks)
{
    kept = std::malloc(4321); // the leak
}
TEST(App, Clean)
{
    std::vector<std::string> v(50, std::string(64, 'x'));
    EXPECT_EQ(v.size(), 50u);
}
CPP
cat > "$W/app/cm.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <tm/check.h>
static void *kept;
int main(void)
{
    tm_check *c;
    tm_check_result *r;
    tm_error err;
    if (tm_check_begin(&c, "c_api", NULL, &err) != TM_OK)
        return 3;
    kept = malloc(777); /* the leak */
    if (tm_check_end(&r, c, 0, &err) != TM_OK)
        return 4;
    fputs(tm_check_result_report(r), stdout);
    int failed = tm_check_result_failed(r);
    tm_check_result_free(r);
    return failed ? 1 : 0;
}
C
cat > "$W/app/prog.c" <<'C'
#include <stdlib.h>
static void *held[64];
int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 0;
    for (int i = 0; i < n && i < 64; i++)
        held[i] = malloc(1024);
    return 0;
}
C
cat > "$W/app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(tmkit_check_consumer C CXX)
find_package(tmkit 0.1 REQUIRED)
find_package(GTest REQUIRED)
enable_testing()
add_executable(gt gt.cpp)
target_compile_options(gt PRIVATE -g -O0)
target_link_libraries(gt PRIVATE tmkit::gtest GTest::gtest_main)
add_executable(cm cm.c)
target_compile_options(cm PRIVATE -g -O0)
target_link_libraries(cm PRIVATE tmkit::check)
add_executable(prog prog.c)
target_compile_options(prog PRIVATE -g -O0)
tmkit_add_memory_test(NAME live_ok COMMAND $<TARGET_FILE:prog> 2 MAX_LIVE 4KiB)
tmkit_add_memory_test(NAME live_over COMMAND $<TARGET_FILE:prog> 8 MAX_LIVE 4KiB)
CM
CC=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$TM_BUILD_DIR/CMakeCache.txt" | head -1)
CXX=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$TM_BUILD_DIR/CMakeCache.txt" | head -1)
check "find_package(tmkit) builds a GoogleTest, a C and a ctest consumer" bash -c '
    cmake -S "$1/app" -B "$1/app/build" -DCMAKE_PREFIX_PATH="$2" -DCMAKE_C_COMPILER="$3" \
          -DCMAKE_CXX_COMPILER="$4" > "$1/cmake.log" 2>&1 &&
    cmake --build "$1/app/build" >> "$1/cmake.log" 2>&1 || { tail -30 "$1/cmake.log" >&2; false; }' \
    _ "$W" "$PREFIX" "${CC:-cc}" "${CXX:-c++}"
B=$W/app/build
if [ -x "$B/gt" ]; then
    rc=0
    "$B/gt" > "$W/gt.out" 2>&1 || rc=$?
    [ "$rc" = 1 ] && pass "tmkit::gtest: the binary fails" || fail "gt: exit $rc, expected 1"
    L=$(grep -n '// the leak' "$W/app/gt.cpp" | cut -d: -f1)
    check "tmkit::gtest: the leaking test fails at its line" grep -qxF "$W/app/gt.cpp:$L: Failure" "$W/gt.out"
    check "tmkit::gtest: with its exact size" \
        grep -qxF "$W/app/gt.cpp:$L: size=4321 B (+4321 B), count=1 (+1), average=4321 B" "$W/gt.out"
    check "tmkit::gtest: only that test failed" grep -q '^\[  PASSED  \] 1 test' "$W/gt.out" ||
        sed 's/^/    /' "$W/gt.out" >&2
    rc=0
    "$B/cm" > "$W/cm.out" 2>&1 || rc=$?
    [ "$rc" = 1 ] && pass "tmkit::check: the check fails" || fail "cm: exit $rc, expected 1"
    L=$(grep -n '/\* the leak' "$W/app/cm.c" | cut -d: -f1)
    check "tmkit::check: the report names the line and size" \
        grep -qxF "$W/app/cm.c:$L: size=777 B (+777 B), count=1 (+1), average=777 B" "$W/cm.out"
    rc=0
    (cd "$B" && ctest --output-on-failure > "$W/ctest.out" 2>&1) || rc=$?
    check "tmkit_add_memory_test: 2 KiB at exit is within MAX_LIVE 4KiB" grep -qE 'live_ok .*Passed' "$W/ctest.out"
    check "tmkit_add_memory_test: 8 KiB at exit is not" grep -qE 'live_over .*Failed' "$W/ctest.out"
    check "tmkit_add_memory_test: the failure names the line" \
        grep -qF "$W/app/prog.c:7: size=8192 B, count=8, average=1024 B" "$W/ctest.out"
fi
finish
