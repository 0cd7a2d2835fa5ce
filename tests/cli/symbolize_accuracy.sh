#!/usr/bin/env bash
# tmsym --lookup must print exactly what llvm-symbolizer --inlining prints
# (function, file, line, inline frames) over a matrix of test binaries
# built here: gcc/clang, C/C++, -O0/-O2, DWARF 4/5, PIE/non-PIE/static,
# shared library, stripped + debuglink, zlib/zstd compressed sections.
set -euo pipefail
tmsym="${TM_BUILD_DIR:-.}/tools/tmsym"
src="${TM_SOURCE_DIR:?TM_SOURCE_DIR not set}/tests/symbolize"
[ -x "$tmsym" ] || { echo "FAIL: $tmsym not built"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tm-symacc.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 "$src/accuracy.py" --tmsym "$tmsym" --src "$src" --work "$work"
