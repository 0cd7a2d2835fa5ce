#!/usr/bin/env bash
# The main job on a bundled sample: installs what is missing, builds tmkit, records
# samples/demo.c under tmrun (no recompilation, LD_PRELOAD), and prints the lines
# that hold the most memory, exactly as Python's tracemalloc would print them.
# Usage: scripts/demo.sh            (from the repository root)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/deps.sh
b=build/demo
mkdir -p build
echo "=== tmkit: build ($b)"
cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$b.configure.log" 2>&1 || { cat "$b.configure.log"; exit 1; }
cmake --build "$b" -j"$(nproc)" --target tmrun tmrecorder tmstat tminfo demo >"$b.demo-build.log" 2>&1 ||
  { grep -E 'error|warning' "$b.demo-build.log" | head -50; exit 1; }
out=build/demo.tms
echo "=== tmkit: $b/recorder/tmrun -n 16 -o $out -- $b/samples/demo"
"$b/recorder/tmrun" -n 16 -o "$out" -- "$b/samples/demo"
echo "=== tmkit: $b/tools/tmstat $out --by lineno --top 10"
"$b/tools/tmstat" "$out" --by lineno --top 10
echo "=== tmkit: $b/tools/tmstat $out --by traceback --top 1 --limit 4"
"$b/tools/tmstat" "$out" --by traceback --top 1 --limit 4
