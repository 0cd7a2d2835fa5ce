# Sourced by tests/cli/export_*.sh and browser_*.sh: a scratch directory, the
# tmexport binary, and export_gen (snapshot builder) compiled against the
# build tree's libraries with the same sanitizer setting.
set -euo pipefail
: "${TM_BUILD_DIR:=$PWD}"
: "${TM_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${TM_SANITIZE:=0}"
TMEXPORT=$TM_BUILD_DIR/tools/tmexport
BROWSER_DIR=$TM_SOURCE_DIR/tests/browser
export PYTHONPATH=$BROWSER_DIR${PYTHONPATH:+:$PYTHONPATH}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tmexport-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
[ -x "$TMEXPORT" ] || { echo "FAIL: $TMEXPORT not built" >&2; exit 1; }

# The build's own compiler: sanitizer runtimes of gcc and clang do not mix.
CC=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$TM_BUILD_DIR/CMakeCache.txt" 2>/dev/null | head -1)
CC=${CC:-cc}
san_flags=()
if [ "$TM_SANITIZE" = 1 ]; then
    san_flags=(-fsanitize=address,undefined)
fi
GEN=$WORK/export_gen
"$CC" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror "${san_flags[@]}" \
   -I"$TM_SOURCE_DIR/libtmcore/include" "$BROWSER_DIR/export_gen.c" \
   "$TM_BUILD_DIR/libtmcore/libtmcore_model.a" -lzstd -o "$GEN"

fails=0
check() {   # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then
        echo "ok: $what"
    else
        echo "FAIL: $what" >&2
        fails=$((fails + 1))
    fi
}
finish() {
    if [ "$fails" -ne 0 ]; then
        echo "$fails check(s) failed" >&2
        exit 1
    fi
    echo "all checks passed"
}
