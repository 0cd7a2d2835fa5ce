#!/usr/bin/env bash
# The test command: installs what is missing, then builds and runs every test twice —
# an optimized clang build, and a gcc build with AddressSanitizer + UBSan.
# Usage: scripts/test.sh            (from the repository root)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/deps.sh
jobs=$(nproc)

run_suite() {  # name, cmake args...
  local dir=$1; shift
  echo "=== tmkit: configure $dir ($*)"
  cmake -S . -B "$dir" -DTM_BUILD_TESTS=ON "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
  echo "=== tmkit: build $dir"
  if ! cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1; then
    grep -E 'error|Error|warning' "$dir.build.log" | head -50; return 1
  fi
  echo "=== tmkit: test $dir"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 900)
}

mkdir -p build
# clang for the optimized build and gcc for the sanitized one: both compilers
# must build -Werror clean.  gcc's shared libasan is what lets the linked
# recorder core (samples, API tests) own malloc ahead of ASan; clang links its
# ASan runtime statically into the executable, where the two collide.
run_suite build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++

# Every parser's libFuzzer target for a bounded time (TM_FUZZ_SECONDS each).
echo "=== tmkit: configure build/fuzz (clang, libFuzzer, ASan + UBSan)"
cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DTM_SANITIZE=ON -DTM_BUILD_FUZZ=ON -DTM_FUZZ_SECONDS="${TM_FUZZ_SECONDS:-20}" >build/fuzz.configure.log 2>&1 ||
  { cat build/fuzz.configure.log; exit 1; }
fuzzers=$(cd tests/fuzz && ls fuzz_*.c | grep -v fuzz_driver | sed 's/\.c$//')
echo "=== tmkit: build build/fuzz ($(echo $fuzzers))"
if ! cmake --build build/fuzz -j"$jobs" --target $fuzzers >build/fuzz.build.log 2>&1; then
  grep -E 'error|warning' build/fuzz.build.log | head -50; exit 1
fi
echo "=== tmkit: fuzz build/fuzz"
(cd build/fuzz && ctest --output-on-failure -L fuzz)
run_suite build/asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ -DTM_SANITIZE=ON
