#!/bin/bash
# On a real C++ program (samples/inventory.cpp, -O2 -g: std::vector,
# std::string, std::map, std::make_unique, strdup; its peak mid-run) tmstat
# names the program's own lines with exact sizes and counts, at the peak
# (tmrun --peak) and at exit, and no runtime or system-header line; the
# program itself says what it holds at each of its lines.  Then: the
# header line and JSON field that say frames were hidden, --as-recorded (the
# stacks as recorded), --hide, tmdiff and the exports under the same rules,
# and frames without lines named by function and module.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
W=$TM_WORK
[ "$TM_SANITIZE" = 1 ] && skip_test "LD_PRELOAD of the recorder into a sanitized process is not possible"
APP=$B/samples/inventory
[ -x "$APP" ] || { fail "$APP not built"; finish; }
cd "$W"
INVENTORY_EXPECT=1 "$B/recorder/tmrun" -n 32 --peak -o inv.tms -- "$APP" > app.out 2> app.err ||
  fail "inventory under tmrun exited with $?"
check "inv.peak.tms written" test -s inv.peak.tms

# expect_lines WHEN SNAPSHOT: every line the program names, exact; and every
# other line tmstat lists is an allocation the runtime made for itself (the
# stdout buffer that the C library allocates for printf is not one: it is
# attributed to the printf line, the program's).
expect_lines() {
  local when=$1 snap=$2
  "$B/tools/tmstat" "$snap" --by lineno --top 0 --format csv > "$when.csv" 2> "$when.err" ||
    fail "tmstat $snap exited with $?"
  while read -r _ w line count bytes; do
    [ "$w" = "$when" ] || continue
    local got
    got=$(awk -F, -v l="$line" '$2 ~ /\/inventory\.cpp$/ && $3 == l { print $5 " " $4 }' "$when.csv")
    check "$when: inventory.cpp:$line: $count blocks, $bytes B (tmstat: ${got:-none})" \
      test "$got" = "$count $bytes"
  done < app.err
  # The only other lines allowed are allocations the runtime made for itself,
  # with no frame of the program at all (libstdc++'s exception pool, made by
  # its constructor before main): as recorded, those stacks never reach main.
  local others runtime_own
  others=$(awk -F, 'NR > 1 && $2 !~ /\/inventory\.cpp$/ { s += $4 } END { print s + 0 }' "$when.csv")
  "$B/tools/tmexport" folded "$snap" --as-recorded -o "$when.folded" ||
    fail "tmexport folded $snap exited with $?"
  runtime_own=$(awk '!/(^|;)main;/ && !/(^|;)main [0-9]+$/ { s += $NF } END { print s + 0 }' "$when.folded")
  check "$when: lines that are not the program's ($others B) are the runtime's own allocations ($runtime_own B, no frame of the program)" \
    test "$others" = "$runtime_own"
}
expect_lines peak inv.peak.tms
expect_lines exit inv.tms
printf_line=$(grep -n 'std::printf("%s: %zu lines' "$TM_SOURCE_DIR/samples/inventory.cpp" | cut -d: -f1)
check "exit: the stdout buffer is attributed to the printf line ($printf_line)" \
  grep -q ",inventory.cpp,$printf_line,\|/inventory.cpp,$printf_line," exit.csv

# Saying it: the text header, the JSON field.
"$B/tools/tmstat" inv.peak.tms --by lineno --top 3 > peak.txt
check "the text output says frames were hidden" grep -q "^\[ .*runtime frames hidden" peak.txt
"$B/tools/tmstat" inv.peak.tms --format json > peak.json
check "JSON: hidden_traces > 0" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d.get("hidden_traces", 0) > 0 and d.get("hidden_frames", 0) > 0 else 1)' peak.json

# --as-recorded: the stacks exactly as recorded (the runtime's lines are back).
"$B/tools/tmstat" inv.peak.tms --by lineno --top 0 --as-recorded > raw.txt
check "--as-recorded: new_allocator.h is back" grep -q "new_allocator.h" raw.txt
check "--as-recorded: no hidden-frames line" bash -c '! grep -q "runtime frames hidden" "$1"' _ raw.txt
# --hide: a pattern of the user's own (load_batch's frames go, main's call line stays).
"$B/tools/tmstat" inv.peak.tms --by lineno --top 0 --hide '*load_batch*' --format csv > hide.csv
main_call=$(grep -n 'Batch batch = load_batch' "$TM_SOURCE_DIR/samples/inventory.cpp" | cut -d: -f1)
check "--hide '*load_batch*': the batch is attributed to main's call (line $main_call)" \
  awk -F, -v l="$main_call" '$3 == l && $5 >= 60001 { found = 1 } END { exit !found }' hide.csv

# tmdiff: the same attribution on both sides (the batch and index are gone at exit).
"$B/tools/tmdiff" inv.peak.tms inv.tms --top 0 > diff.txt
check "tmdiff: no system-header line" bash -c '! grep -q "/include/" "$1"' _ diff.txt
check "tmdiff: a runtime line only for the runtime's own pool, unchanged" \
  bash -c '! grep "libstdc++\|libc.so" "$1" | grep -v "(+0 B)"' _ diff.txt
check "tmdiff: the program's lines" grep -q "inventory.cpp:" diff.txt

# Exports: folded stacks under the same rules, and as recorded with --as-recorded.
"$B/tools/tmexport" folded inv.peak.tms -o folded.txt
check "folded: no runtime frame" bash -c '! grep -q "new_allocator\|operator new\|__libc_start" "$1"' _ folded.txt
check "folded: the program's functions" grep -q "load_batch" folded.txt
"$B/tools/tmexport" folded inv.peak.tms --as-recorded -o folded-raw.txt
check "folded --as-recorded: std::__new_allocator is back" grep -q "std::__new_allocator" folded-raw.txt

# A frame without line information is named by function and module.
"$B/tools/tmstat" inv.peak.tms --by traceback --top 1 --as-recorded > tb.txt
check "--as-recorded traceback: _start named with its module, not module+0xoffset" \
  grep -q 'File ".*inventory(_start)"' tb.txt
finish
