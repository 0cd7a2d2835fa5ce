#!/usr/bin/env bash
# Debug information outside the binary, through snapshots: a split-DWARF
# program (its .dwo files, then a .dwp; stripped, with its .dwo files beside
# it and its debug file elsewhere) and a dwz -m program (its
# supplementary file) give tmsym their inline frames; when those files are
# missing, or a .dwo is of another build, tmsym and tmstat say so in one
# note for the module, and the frames keep their lines.
set -euo pipefail
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
bin=$TM_BUILD_DIR
src=$TM_SOURCE_DIR/tests/symbolize
mk="$bin/tests/bench/tm_symbolize_mksnap"
[ -x "$mk" ] || { echo "FAIL: $mk not built"; exit 1; }
for t in dwz llvm-dwp; do
    command -v "$t" > /dev/null || skip_test "$t not installed (scripts/deps.sh installs it)"
done
work=$TM_WORK

# "inlined frames added" of a tmsym run on $1; its notes in $2
inlined() {
    "$bin/tools/tmsym" "$1" -o "$work/out.tms" 2> "$2"
    sed -n 's/.*frames resolved, \([0-9]*\) inlined frames added.*/\1/p' "$2"
}
notes_for_prog() { grep -c "module 0 .*prog: symbolized: " "$1" || true; }

# --- split DWARF ---------------------------------------------------------
mkdir -p "$work/split" "$work/hidden" "$work/other"
(cd "$work/split" && gcc -g -O2 -gsplit-dwarf -I "$src" "$src/sym_main.c" "$src/sym_lib.c" -o prog)
"$mk" "$work/split/prog" "$work/split.tms" > /dev/null
n=$(inlined "$work/split.tms" "$work/err1.txt")
check "split DWARF, .dwo found: inline frames ($n)" test "${n:-0}" -gt 0
check "split DWARF, .dwo found: no note for the program" test "$(notes_for_prog "$work/err1.txt")" = 0
mv "$work"/split/*.dwo "$work/hidden/"
m=$(inlined "$work/split.tms" "$work/err2.txt")
check "split DWARF, .dwo missing: no inline frames ($m)" test "${m:-1}" = 0
check "split DWARF, .dwo missing: one note" test "$(notes_for_prog "$work/err2.txt")" = 1
check "split DWARF, .dwo missing: the note names the .dwo" \
    grep -q "split DWARF: prog-sym_main.dwo not found" "$work/err2.txt"
"$bin/tools/tmstat" "$work/split.tms" > /dev/null 2> "$work/err3.txt"
check "tmstat says it once too" test "$(grep -c 'prog: symbolized: .*split DWARF' "$work/err3.txt")" = 1
(cd "$work/hidden" && llvm-dwp -o "$work/split/prog.dwp" *.dwo)
p=$(inlined "$work/split.tms" "$work/err4.txt")
check "split DWARF, .dwp beside the binary: the same inline frames ($p)" test "$p" = "$n"
check "split DWARF, .dwp: no note for the program" test "$(notes_for_prog "$work/err4.txt")" = 0
rm "$work/split/prog.dwp"
(cd "$work/other" && gcc -g -O1 -gsplit-dwarf -I "$src" "$src/sym_main.c" "$src/sym_lib.c" -o prog)
cp "$work"/other/*.dwo "$work/split/"
inlined "$work/split.tms" "$work/err5.txt" > /dev/null
check "split DWARF, .dwo of another build: one note" test "$(notes_for_prog "$work/err5.txt")" = 1
check "split DWARF, .dwo of another build: the note says dwo_id" grep -q "has no unit with dwo_id" "$work/err5.txt"

# --- split DWARF, stripped: the .dwo files beside the binary ----------------
# Its debug file is in .debug/, its build directory (DW_AT_comp_dir) gone:
# only beside the binary are the .dwo files.
mkdir -p "$work/strip/build" "$work/strip/app/.debug"
(cd "$work/strip/build" && gcc -g -O2 -gsplit-dwarf -I "$src" "$src/sym_main.c" "$src/sym_lib.c" -o prog)
objcopy --only-keep-debug "$work/strip/build/prog" "$work/strip/app/.debug/prog.debug"
(cd "$work/strip/app/.debug" && objcopy --strip-all --add-gnu-debuglink=prog.debug "$work/strip/build/prog" "$work/strip/app/prog")
mv "$work"/strip/build/*.dwo "$work/strip/app/"
rm -rf "$work/strip/build"
"$mk" "$work/strip/app/prog" "$work/strip.tms" > /dev/null
s=$(inlined "$work/strip.tms" "$work/err8.txt")
check "split DWARF, stripped, .dwo beside the binary: the same inline frames ($s)" test "$s" = "$n"
check "split DWARF, stripped, .dwo beside the binary: no note for the program" \
    test "$(notes_for_prog "$work/err8.txt")" = 0

# --- dwz -m ----------------------------------------------------------------
mkdir -p "$work/dwz"
for v in 4 5; do
    gcc -g -O2 -gdwarf-$v -I "$src" "$src/sym_main.c" "$src/sym_lib.c" -o "$work/dwz/prog$v"
done
cp "$work/dwz/prog4" "$work/dwz/prog"
(cd "$work/dwz" && dwz -m common.debug -M common.debug prog prog5)
check "dwz -m made a supplementary file" bash -c 'readelf -S "$0" | grep -q gnu_debugaltlink' "$work/dwz/prog"
"$mk" "$work/dwz/prog" "$work/dwz.tms" > /dev/null
n=$(inlined "$work/dwz.tms" "$work/err6.txt")
check "dwz -m: inline frames ($n)" test "${n:-0}" -gt 0
check "dwz -m: no note for the program" test "$(notes_for_prog "$work/err6.txt")" = 0
"$mk" --check "$work/out.tms" "$work/dwz/prog" > "$work/check.txt" && pass "dwz -m: snapshot check" ||
    { cat "$work/check.txt"; fail "dwz -m: snapshot check"; }
# by build-id under a debug directory: DIR/.build-id/xx/rest.debug
id=$(readelf -n "$work/dwz/common.debug" | sed -n 's/.*Build ID: *\([0-9a-f]*\).*/\1/p')
check "dwz -m: the supplementary file has a build-id ($id)" test -n "$id"
mkdir -p "$work/dbgroot/.build-id/${id:0:2}"
mv "$work/dwz/common.debug" "$work/dbgroot/.build-id/${id:0:2}/${id:2}.debug"
"$bin/tools/tmsym" "$work/dwz.tms" -o "$work/out.tms" --no-default-debug-dir \
    --debug-dir "$work/dbgroot" 2> "$work/err9.txt"
b=$(sed -n 's/.*frames resolved, \([0-9]*\) inlined frames added.*/\1/p' "$work/err9.txt")
check "dwz -m, supplementary file by build-id under --debug-dir: the same inline frames ($b)" \
    test "$b" = "$n"
check "dwz -m, by build-id: no note for the program" test "$(notes_for_prog "$work/err9.txt")" = 0
mv "$work/dbgroot/.build-id/${id:0:2}/${id:2}.debug" "$work/dwz/common.hidden"
inlined "$work/dwz.tms" "$work/err7.txt" > /dev/null
check "dwz -m, supplementary file missing: one note" test "$(notes_for_prog "$work/err7.txt")" = 1
check "dwz -m, supplementary file missing: the note names it" \
    grep -q "supplementary file common.debug (build-id [0-9a-f]*) not found" "$work/err7.txt"

# under DIR/.dwz/ as Debian's debug packages have it (-M names it so)
mkdir -p "$work/dwz2" "$work/dbgroot/.dwz/x86_64-linux-gnu"
for v in 4 5; do
    gcc -g -O2 -gdwarf-$v -I "$src" "$src/sym_main.c" "$src/sym_lib.c" -o "$work/dwz2/prog$v"
done
mv "$work/dwz2/prog4" "$work/dwz2/prog"
(cd "$work/dwz2" && dwz -m pkg.debug -M /usr/lib/debug/.dwz/x86_64-linux-gnu/pkg.debug prog prog5)
mv "$work/dwz2/pkg.debug" "$work/dbgroot/.dwz/x86_64-linux-gnu/pkg.debug"
"$mk" "$work/dwz2/prog" "$work/dwz2.tms" > /dev/null
"$bin/tools/tmsym" "$work/dwz2.tms" -o "$work/out.tms" --no-default-debug-dir \
    --debug-dir "$work/dbgroot" 2> "$work/err10.txt"
c=$(sed -n 's/.*frames resolved, \([0-9]*\) inlined frames added.*/\1/p' "$work/err10.txt")
check "dwz -m, supplementary file under --debug-dir/.dwz/: the same inline frames ($c)" \
    test "$c" = "$n"
check "dwz -m, under .dwz/: no note for the program" test "$(notes_for_prog "$work/err10.txt")" = 0
finish
