#!/usr/bin/env bash
# Formats every C/C++ source of the tree in place with clang-format
# (.clang-format at the root; tests/cli/format_check.sh fails on any file it
# would change).  Generated files are left alone.
#   scripts/format.sh          the whole tree
#   scripts/format.sh FILE...  only these
set -euo pipefail
cd "$(dirname "$0")/.."
files() {
  git ls-files '*.c' '*.h' '*.cpp' | grep -v -x -F -f <(sed -e '/^#/d' -e '/^$/d' scripts/format-exclude.txt)
}
if [ $# -gt 0 ]; then clang-format -i "$@"; else files | xargs clang-format -i; fi
