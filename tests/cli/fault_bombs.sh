#!/bin/bash
# Hostile snapshots cannot make a tool eat the machine (formats/LIMITS.md,
# "Memory"): a .tms section that is a zstd bomb is refused right after the
# bytes that prove it invalid, not after its declared raw length, and a valid
# file that needs more memory than the budget (--max-memory, TM_MAX_MEMORY)
# is refused with exit 2 and a message naming the file and the budget, before
# the memory is used.  Peak resident memory and time come from /usr/bin/time.
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/fault/fault_lib.bash"
T=$B/tools
GEN=$B/tests/fault/tms_bomb
[ -x /usr/bin/time ] || skip_test "/usr/bin/time is not installed (scripts/deps.sh installs 'time')"
[ -x "$GEN" ] || { fail "$GEN not built"; finish; }
GiB=$((1 << 30)) MiB=$((1 << 20))

# --- invalid bombs: every section type that inflates, 4 GiB and 16 GiB ---
# (16 GiB = TMS-FORMAT.md's limit of raw bytes per section.  Metadata has a
# limit of 16 MiB, checked before decompressing: its bombs meet that, and
# one of exactly 16 MiB shows that it streams like the others.)
declare -A WHAT=([strings]="unexpected bytes after the strings"
                 [metadata]="appears twice"
                 [modules]="unexpected bytes after the modules"
                 [frames]="at least 6 expected"
                 [stacks]="at least 2 expected"
                 [traces]="at least 4 expected")
for kind in strings metadata modules frames stacks traces; do
    sizes="$((4 * GiB)) $((16 * GiB))"
    [ "$kind" = metadata ] && sizes="$sizes $((16 << 20))"
    for raw in $sizes; do
        f=$W/$kind-$raw.tms
        what=${WHAT[$kind]}
        [ "$kind" = metadata ] && [ "$raw" -gt $((16 << 20)) ] && what="limit of 16777216 bytes for metadata"
        "$GEN" "$kind" "$raw" "$f" || { fail "$kind: generator failed"; continue; }
        size=$(stat -c %s "$f")
        for tool in tmstat tminfo; do
            name="$tool: $kind bomb of $raw bytes ($size bytes)"
            measure "$name" "$T/$tool" "$f"
            if [ "$RC" -ne 2 ]; then
                fail "$name: exit $RC, expected 2: $(head -c 300 "$W/err")"
            elif ! grep -qF "$f: section '$kind'" "$W/err" || ! grep -qF "$what" "$W/err"; then
                fail "$name: message does not name the file, the section and the fault: $(head -c 300 "$W/err")"
            else
                pass
            fi
            within "$name" $((256 * 1024)) 2
        done
    done
done

# --- valid metadata is bounded apart: its unknown fields cost time per byte ---
f=$W/metadata-valid-16m.tms
"$GEN" metadata-valid $((16 << 20)) "$f" || fail "metadata-valid: generator failed"
measure "tmstat: 16 MiB of empty metadata fields (the limit)" "$T/tmstat" "$f"
[ "$RC" -eq 0 ] && pass || fail "16 MiB of metadata: exit $RC: $(head -c 300 "$W/err")"
within "tmstat: 16 MiB of empty metadata fields" $((256 * 1024)) 2
for raw in $((16 * 1048576 + 1)) $((16 * GiB)); do
    f=$W/metadata-valid-$raw.tms
    "$GEN" metadata-valid "$raw" "$f" || fail "metadata-valid: generator failed"
    NEEDLE="limit of 16777216 bytes for metadata" expect_exit2 "metadata of $raw bytes" "$T/tmstat" "$f"
done

# --- column blocks: a fault past the first bytes (formats/LIMITS.md) ---
# Columns follow one another in one zstd frame, each after its length: a
# column longer than its rows can be fails as its length is read; lengths
# that do not fill the section fail once the last length is in (the columns
# before it decompressed); a bad value in the last column once the columns
# before it are in (it streams), never later; past the budget first, the
# budget's error.
colbomb() {   # colbomb NAME FILE BUDGET WHAT MAX_KB
    measure "$1" "$T/tmstat" "$2" --max-memory "$3"
    if [ "$RC" -ne 2 ]; then
        fail "$1: exit $RC, expected 2: $(head -c 300 "$W/err")"
    elif ! grep -qF "$2: section 'traces'" "$W/err" || ! grep -qF "$4" "$W/err"; then
        fail "$1: message does not name the file, the section and '$4': $(head -c 300 "$W/err")"
    else
        pass
    fi
    within "$1" "$5" 2
}
f=$W/longcol.tms
"$GEN" traces-longcol $((4 * GiB)) "$f" || fail "traces-longcol: generator failed"
colbomb "column 0 of 11 bytes a row (4 GiB)" "$f" 1GiB "is longer than its" $((64 * 1024))
# (2^25 rows: 96 MiB of columns before the bad value, and the traces'
# 512 MiB reserved, not touched.)
f=$W/lastcol.tms
"$GEN" traces-lastcol $((128 * MiB)) "$f" || fail "traces-lastcol: generator failed"
colbomb "bad value first in the last column (3 x 32 MiB before it)" "$f" 1GiB \
    "trace 0: total_nframe -1 out of range" $(((96 + 24) * 1024))
f=$W/lastcol-1g.tms
"$GEN" traces-lastcol $GiB "$f" || fail "traces-lastcol: generator failed"
colbomb "the same with 3 x 256 MiB before it, under 256 MiB" "$f" 256MiB \
    "exceeds the memory budget of 256 MiB" $(((256 + 32) * 1024))
f=$W/tail.tms
"$GEN" traces-tail $GiB "$f" || fail "traces-tail: generator failed"
colbomb "columns not filling the section (3 x 128 MiB before the last length)" "$f" 1GiB \
    "unexpected bytes after the traces" $(((384 + 48) * 1024))

# --- the valid bomb: 2^28 empty traces from a file of ~33 KB ---
valid=$W/valid-2p28.tms
"$GEN" traces-valid $(((1 << 28) * 4 + 64)) "$valid" || fail "traces-valid: generator failed"
budget_refused() {   # budget_refused NAME BUDGET_TEXT
    if [ "$RC" -ne 2 ]; then
        fail "$1: exit $RC, expected 2: $(head -c 300 "$W/err")"
    elif ! grep -qF "$valid" "$W/err" || ! grep -qF "memory budget of $2" "$W/err"; then
        fail "$1: message does not name the file and the budget: $(head -c 300 "$W/err")"
    elif grep -qE "AddressSanitizer|runtime error" "$W/err"; then
        fail "$1: sanitizer report: $(head -c 300 "$W/err")"
    else
        pass
    fi
}
measure "tmstat --max-memory 1GiB: 2^28 traces" "$T/tmstat" "$valid" --max-memory 1GiB
budget_refused "tmstat --max-memory 1GiB" "1 GiB"
within "tmstat --max-memory 1GiB: 2^28 traces" $((1229 * 1024)) 30
measure "TM_MAX_MEMORY=1GiB tminfo: 2^28 traces" env TM_MAX_MEMORY=1GiB "$T/tminfo" "$valid"
budget_refused "TM_MAX_MEMORY=1GiB tminfo" "1 GiB"
within "TM_MAX_MEMORY=1GiB tminfo: 2^28 traces" $((1229 * 1024)) 30

# Every tool, on a smaller valid bomb (2^24 traces: 64 MiB of columns, then
# 16 bytes per trace) under budgets it cannot fit in: the option wins over
# the environment.
small=$W/valid-2p24.tms
"$GEN" traces-valid $(((1 << 24) * 4 + 64)) "$small" || fail "traces-valid: generator failed"
valid=$small
for budget in 32MiB 100MiB; do
    text=${budget%MiB}" MiB"
    measure "tmstat $budget" env TM_MAX_MEMORY=64GiB "$T/tmstat" "$small" --max-memory "$budget"
    budget_refused "tmstat --max-memory $budget" "$text"
    measure "tmdiff $budget" "$T/tmdiff" "$small" "$small" --max-memory "$budget"
    budget_refused "tmdiff --max-memory $budget" "$text"
    measure "tminfo $budget" "$T/tminfo" --max-memory "$budget" "$small"
    budget_refused "tminfo --max-memory $budget" "$text"
    measure "tmsym $budget" "$T/tmsym" "$small" -o "$W/sym.tms" --max-memory "$budget"
    budget_refused "tmsym --max-memory $budget" "$text"
    [ ! -e "$W/sym.tms" ] && pass || fail "tmsym past its budget still wrote $W/sym.tms"
    measure "tmconv $budget" "$T/tmconv" "$small" "$W/conv.pickle" --max-memory "$budget"
    budget_refused "tmconv --max-memory $budget" "$text"
    for cmd in folded flamegraph timeline; do
        out=$W/export.$cmd
        measure "tmexport $cmd $budget" "$T/tmexport" "$cmd" "$small" -o "$out" --max-memory "$budget"
        budget_refused "tmexport $cmd --max-memory $budget" "$text"
    done
    measure "tmexport diff $budget" "$T/tmexport" diff "$small" "$small" -o "$W/d.html" --max-memory "$budget"
    budget_refused "tmexport diff --max-memory $budget" "$text"
done
# zstd's own window counts too: a frame that declares 128 MiB of it.
big_window=$W/valid-window27.tms
"$GEN" traces-valid $(((1 << 24) * 4 + 64)) "$big_window" 27 || fail "traces-valid: generator failed"
valid=$big_window
measure "tmstat 100MiB: 128 MiB zstd window" "$T/tmstat" "$big_window" --max-memory 100MiB
budget_refused "tmstat --max-memory 100MiB, 128 MiB zstd window" "100 MiB"
within "tmstat 100MiB: 128 MiB zstd window" $((110 * 1024)) 2
valid=$small
# ... and the same file fits a budget big enough for it.
measure "tmstat 1GiB: 2^24 traces" "$T/tmstat" "$small" --max-memory 1GiB
[ "$RC" -eq 0 ] && grep -q "count=16777" "$W/out" && pass ||
    fail "tmstat --max-memory 1GiB on 2^24 traces: exit $RC: $(head -c 300 "$W/err")"

# A Python dump past the budget: the pickle reader's memory counts too.
python3 - "$W/many.pickle" <<'PY' || fail "python3 could not write the pickle"
import pickle, sys, tracemalloc
traces = [(0, 16 + i, (('f%d.py' % (i % 1000), i % 7 + 1),), 1) for i in range(200000)]
with open(sys.argv[1], 'wb') as f:
    pickle.dump(tracemalloc.Snapshot(traces, 1), f, protocol=4)
PY
valid=$W/many.pickle
measure "tmstat 2MiB: pickle" "$T/tmstat" "$valid" --max-memory 2MiB
budget_refused "tmstat --max-memory 2MiB on a pickle" "2 MiB"
measure "tmstat 1GiB: pickle" "$T/tmstat" "$valid" --max-memory 1GiB
[ "$RC" -eq 0 ] && pass || fail "tmstat --max-memory 1GiB on a pickle: exit $RC: $(head -c 300 "$W/err")"

# Bad budgets are usage errors naming the option or the variable.
NEEDLE="--max-memory" expect_exit2 "--max-memory 0" "$T/tmstat" "$small" --max-memory 0
NEEDLE="--max-memory" expect_exit2 "--max-memory 1MB" "$T/tminfo" --max-memory 1MB "$small"
NEEDLE="--max-memory" expect_exit2 "--max-memory lots" "$T/tmexport" folded "$small" --max-memory lots
NEEDLE="TM_MAX_MEMORY" expect_exit2 "TM_MAX_MEMORY=lots" env TM_MAX_MEMORY=lots "$T/tmsym" "$small"
NEEDLE="TM_MAX_MEMORY" expect_exit2 "TM_MAX_MEMORY=lots" env TM_MAX_MEMORY=lots "$T/tmconv" "$small" "$W/x.tms"
finish
