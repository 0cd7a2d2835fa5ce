#!/bin/bash
# Hostile binaries cannot make the symbolizer eat the machine
# (formats/LIMITS.md, "ELF and DWARF"): a compressed .debug_info whose header
# claims more than the memory budget is refused before anything is
# decompressed — exit 2, the message naming the snapshot, the binary, the
# section and the budget — and a real zlib stream whose claimed size is false
# costs the claim or the stream, whichever is less, never more.  tmsym and
# tmstat (which symbolizes on load) under --max-memory 256MiB; peak resident
# memory and time from /usr/bin/time.  The binaries are written by
# tests/fault/elf_bomb.py from a program built here.
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/fault/fault_lib.bash"
T=$B/tools
MK=$B/tests/bench/tm_symbolize_mksnap
[ -x /usr/bin/time ] || skip_test "/usr/bin/time is not installed (scripts/deps.sh installs 'time')"
command -v gcc >/dev/null || skip_test "gcc is not installed"
[ -x "$MK" ] || { fail "$MK not built"; finish; }
src=$S/tests/symbolize
gcc -g -O2 -I "$src" "$src/sym_main.c" "$src/sym_lib.c" -o "$W/prog" || { fail "gcc"; finish; }
MiB=$((1 << 20)) GiB=$((1 << 30))

# bomb NAME CH_SIZE PAYLOAD: $W/NAME (the binary) and $W/NAME.tms (frames in it)
bomb() {
    python3 "$S/tests/fault/elf_bomb.py" "$W/prog" "$W/$1" "$2" "$3" &&
        chmod +x "$W/$1" && "$MK" "$W/$1" "$W/$1.tms" >/dev/null
}

# run_both NAME CHECK: tmsym and tmstat on $W/NAME.tms under 256 MiB
run_both() {
    for tool in tmsym tmstat; do
        local args=("$W/$1.tms" --max-memory 256MiB)
        [ "$tool" = tmsym ] && args+=(-o "$W/$1.sym.tms")
        measure "$tool: $1 ($(stat -c %s "$W/$1") bytes)" "$T/$tool" "${args[@]}"
        "$2" "$tool: $1" "$1"
        within "$tool: $1" $((256 * 1024)) 2
    done
}

refused() {   # refused NAME BOMB: exit 2 naming snapshot, binary, section, budget
    if [ "$RC" -ne 2 ]; then
        fail "$1: exit $RC, expected 2: $(head -c 400 "$W/err")"
    elif ! grep -qF "$W/$2.tms: " "$W/err" ||
        ! grep -qF "$W/$2: out of memory while indexing: $W/$2: section .debug_info decompresses to" "$W/err" ||
        ! grep -qF "exceeds the memory budget of 256 MiB" "$W/err"; then
        fail "$1: message does not name the snapshot, the binary, the section and the budget: $(head -c 400 "$W/err")"
    else
        pass
    fi
}

corrupt() {   # corrupt NAME BOMB: exit 0, the section named in a note
    if [ "$RC" -ne 0 ]; then
        fail "$1: exit $RC, expected 0: $(head -c 400 "$W/err")"
    elif ! grep -qF "$W/$2: section .debug_info: corrupt zlib data" "$W/err"; then
        fail "$1: no note naming the section: $(head -c 400 "$W/err")"
    else
        pass
    fi
}

# A zlib bomb: 4 MiB of file inflating to 4 GiB, and saying so.
bomb zlib4g $((4 * GiB)) zeros:$((4 * GiB)) || fail "elf_bomb.py: zlib4g"
run_both zlib4g refused
# A header claiming 64 GiB over a few bytes.
bomb claim64g $((64 * GiB)) zeros:4096 || fail "elf_bomb.py: claim64g"
run_both claim64g refused
# A real 16 MiB zlib stream (text, about 1:2.4) under false claims: past the
# budget (refused), within it but larger than the stream (the claim is
# reserved, the stream's 16 MiB written: corrupt), smaller (corrupt).
bomb text-claim1g $GiB text:$((16 * MiB)) || fail "elf_bomb.py: text-claim1g"
run_both text-claim1g refused
bomb text-claim200m $((200 * MiB)) text:$((16 * MiB)) || fail "elf_bomb.py: text-claim200m"
run_both text-claim200m corrupt
bomb text-claim8m $((8 * MiB)) text:$((16 * MiB)) || fail "elf_bomb.py: text-claim8m"
run_both text-claim8m corrupt

# Under the default budget (a quarter of memory, at least 512 MiB) a 4 GiB
# claim is past the budget on a machine of less than 16 GiB, else past the
# 1 GiB bound on sections (ignored: symbols only).
measure "tmsym, default budget: zlib4g" env -u TM_MAX_MEMORY "$T/tmsym" "$W/zlib4g.tms" -o "$W/d.tms"
if [ "$(awk '/MemTotal/ { print $2 }' /proc/meminfo)" -lt $((16 * 1024 * 1024)) ]; then
    [ "$RC" -eq 2 ] && grep -qF "section .debug_info decompresses to 4294967296" "$W/err" && pass ||
        fail "tmsym default budget on zlib4g: exit $RC: $(head -c 400 "$W/err")"
else
    [ "$RC" -eq 0 ] && grep -qF "no debug info found" "$W/err" && pass ||
        fail "tmsym default budget on zlib4g: exit $RC: $(head -c 400 "$W/err")"
fi
within "tmsym, default budget: zlib4g" $((256 * 1024)) 2

# A corrupt section costs its DWARF only: the symbol table still names the
# functions, and no line comes from the section.
"$T/tmsym" "$W/text-claim8m.tms" -o "$W/c.tms" 2>"$W/err"
"$T/tmstat" "$W/c.tms" --by lineno --limit 1000 --as-recorded >"$W/out" 2>&1
if grep -qE 'sym_(main|lib)\.c:[1-9]|sym_inline\.h:[1-9]' "$W/out"; then
    fail "DWARF lines from a corrupt .debug_info: $(grep -m1 -E 'sym_(main|lib)\.c:[1-9]' "$W/out")"
elif ! grep -qF "(sym_lib_entry)" "$W/out"; then
    fail "the symbol table was not used: $(head -c 400 "$W/out")"
else
    pass
fi
finish
