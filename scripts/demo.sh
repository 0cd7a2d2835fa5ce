#!/usr/bin/env bash
# The main job on a bundled sample: installs what is missing, builds tmkit, records
# samples/inventory.cpp (an ordinary C++ program: std::vector, std::string, std::map,
# make_unique, strdup) under tmrun --peak (no recompilation, LD_PRELOAD), and prints
# the program's own lines that held memory at its peak and at exit, exactly as
# Python's tracemalloc prints statistics.
# Usage: scripts/demo.sh            (from the repository root)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/deps.sh
b=build/demo
mkdir -p build
echo "=== tmkit: build ($b)"
cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$b.configure.log" 2>&1 || { cat "$b.configure.log"; exit 1; }
cmake --build "$b" -j"$(nproc)" --target tmrun tmrecorder tmstat tminfo inventory >"$b.demo-build.log" 2>&1 ||
  { grep -E 'error|warning' "$b.demo-build.log" | head -50; exit 1; }
out=build/inventory.tms
echo "=== tmkit: $b/recorder/tmrun --peak -o $out -- $b/samples/inventory"
"$b/recorder/tmrun" --peak -o "$out" -- "$b/samples/inventory"
echo "=== tmkit: at the peak: $b/tools/tmstat build/inventory.peak.tms --by lineno --top 10"
"$b/tools/tmstat" build/inventory.peak.tms --by lineno --top 10
echo "=== tmkit: at exit: $b/tools/tmstat $out --by lineno"
"$b/tools/tmstat" "$out" --by lineno
echo "=== tmkit: $b/tools/tmstat build/inventory.peak.tms --by traceback --top 1 --limit 4"
"$b/tools/tmstat" build/inventory.peak.tms --by traceback --top 1 --limit 4
