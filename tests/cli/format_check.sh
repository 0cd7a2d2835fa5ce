#!/bin/bash
# Every C/C++ source is as clang-format (.clang-format, version 14 as Debian 12
# ships it) would write it: scripts/format.sh fixes what this reports.
set -euo pipefail
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
command -v clang-format >/dev/null || skip_test "clang-format not installed (scripts/deps.sh installs it)"
ver=$(clang-format --version | sed -n 's/.*version \([0-9]*\).*/\1/p')
# Another major version formats some constructs differently: not a defect of the tree.
[ "$ver" = 14 ] || skip_test "clang-format $ver: the style is checked with version 14"
cd "$TM_SOURCE_DIR"
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || skip_test "not a git checkout: the file list comes from git ls-files"
n=0
while read -r f; do
  n=$((n + 1))
  if ! clang-format --dry-run --Werror "$f" 2> "$TM_WORK/out"; then
    fail "$f is not formatted (scripts/format.sh $f):"
    head -12 "$TM_WORK/out" >&2
  fi
done < <(git ls-files '*.c' '*.h' '*.cpp' | grep -v -x -F -f <(sed -e '/^#/d' -e '/^$/d' scripts/format-exclude.txt))
pass "$n files checked"
finish
