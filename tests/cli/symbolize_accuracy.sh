#!/usr/bin/env bash
# tmsym --lookup must print exactly what llvm-symbolizer --inlining prints
# (function, file, line, inline frames) over a matrix of test binaries
# built here: gcc/clang, C/C++, -O0/-O2, DWARF 4/5, PIE/non-PIE/static,
# shared library, stripped + debuglink, zlib/zstd compressed sections,
# split DWARF (.dwo and .dwp) and dwz (one file, -m, -m --dwarf-5), where
# eu-addr2line and the binaries before splitting / dwz decide what LLVM 14
# misreads (see accuracy.py).
set -euo pipefail
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
tmsym=$TM_BUILD_DIR/tools/tmsym
src=$TM_SOURCE_DIR/tests/symbolize
[ -x "$tmsym" ] || { echo "FAIL: $tmsym not built"; exit 1; }
check "tmsym --lookup prints what llvm-symbolizer --inlining prints, on every binary" \
    python3 "$src/accuracy.py" --tmsym "$tmsym" --src "$src" --work "$TM_WORK"
finish
