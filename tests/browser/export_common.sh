# Sourced by tests/cli/export_*.sh and browser_*.sh: a scratch directory, the
# tmexport binary, and export_gen (snapshot builder, built by tests/CMakeLists.txt).
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
GEN=$TM_BUILD_DIR/tests/tm_export_gen
[ -x "$GEN" ] || { echo "FAIL: $GEN not built" >&2; exit 1; }

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
