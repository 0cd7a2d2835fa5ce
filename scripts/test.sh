#!/usr/bin/env bash
# The test command: installs what is missing, then builds and runs every test.
#
#   scripts/test.sh           everything, as CI runs it:
#                             1. an optimized clang build, -Werror, all tests
#                             2. every libFuzzer target for TM_FUZZ_SECONDS (default 20)
#                             3. a gcc build with AddressSanitizer + UBSan, -Werror, all tests
#                             4. a user's plain build: default compiler, Release, no -Werror,
#                                then `cmake --install` into a scratch prefix
#   scripts/test.sh --quick   step 1 only (a few minutes): the loop while developing
#
# One test of a configured build:  ctest --test-dir build/release -R cli.tmstat_cli --output-on-failure
# (doc/TESTING.md has the rest: names, labels, environment, adding a test).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
quick=0
case "${1:-}" in
  --quick) quick=1 ;;
  "") ;;
  *) echo "usage: scripts/test.sh [--quick]" >&2; exit 2 ;;
esac
scripts/deps.sh
jobs=$(nproc)

configure() {  # dir, cmake args...
  local dir=$1; shift
  echo "=== tmkit: configure $dir ($*)"
  cmake -S . -B "$dir" "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
}
build() {  # dir, extra cmake --build args...
  local dir=$1; shift
  echo "=== tmkit: build $dir"
  if ! cmake --build "$dir" -j"$jobs" "$@" >"$dir.build.log" 2>&1; then
    grep -E 'error|Error|warning' "$dir.build.log" | head -50; return 1
  fi
}
run_suite() {  # dir, cmake args...
  local dir=$1; shift
  configure "$dir" -DTM_BUILD_TESTS=ON -DTM_WERROR=ON "$@"
  build "$dir"
  echo "=== tmkit: test $dir"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 900)
}

mkdir -p build
# clang for the optimized build and gcc for the sanitized one: both compilers
# must build -Werror clean.  gcc's shared libasan is what lets the linked
# recorder core (samples, API tests) own malloc ahead of ASan; clang links its
# ASan runtime statically into the executable, where the two collide.
run_suite build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
[ "$quick" = 1 ] && exit 0

# Every parser's libFuzzer target for a bounded time (TM_FUZZ_SECONDS each).
configure build/fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DTM_WERROR=ON -DTM_SANITIZE=ON -DTM_BUILD_FUZZ=ON -DTM_FUZZ_SECONDS="${TM_FUZZ_SECONDS:-20}"
fuzzers=$(cd tests/fuzz && ls fuzz_*.c | grep -v fuzz_driver | sed 's/\.c$//')
build build/fuzz --target $fuzzers
echo "=== tmkit: fuzz build/fuzz"
(cd build/fuzz && ctest --output-on-failure -L fuzz)

run_suite build/asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ -DTM_SANITIZE=ON

# What a user types: no compiler chosen, no -Werror, Release, then install.
# The compiler is whatever cmake picks, which must not be one named above by
# accident: the environment's CC/CXX are dropped.
rm -rf build/plain build/plain-prefix
(unset CC CXX; configure build/plain -DCMAKE_BUILD_TYPE=Release)
build build/plain
echo "=== tmkit: test build/plain ($(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' build/plain/CMakeCache.txt))"
(cd build/plain && ctest --output-on-failure -j"$jobs" --timeout 900)
echo "=== tmkit: install build/plain"
cmake --install build/plain --prefix build/plain-prefix >build/plain.install.log
test -x build/plain-prefix/bin/tmstat && test -s build/plain-prefix/include/tm/snapshot.h
echo "=== tmkit: all suites passed"
