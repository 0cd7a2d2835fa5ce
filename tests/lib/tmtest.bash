# Shared helpers of the shell tests (tests/cli/*.sh, tests/differential/*.sh,
# tests/recorder/*.sh, tests/stress/*.sh, and the libraries they source).
# Source it first thing:
#
#   source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
#
# It provides
#   TM_BUILD_DIR   the build directory (default: the current directory, which
#                  is where ctest runs the tests)
#   TM_SOURCE_DIR  the source tree (default: two levels above this file)
#   TM_SANITIZE    1 in a sanitizer build (default 0)
#   TM_WORK        a fresh scratch directory, removed when the script exits;
#                  tm_on_exit CMD adds a command run before the removal
#   check DESCRIPTION CMD...   run CMD; "ok: DESCRIPTION" or "FAIL: DESCRIPTION"
#   check_exit NAME STATUS CMD...  CMD exits with STATUS (output in $TM_WORK/out, err)
#   expect_in NAME FILE TEXT   FILE contains the fixed string TEXT
#   pass [DESCRIPTION]         count a passed assertion (printed if described)
#   fail DESCRIPTION           count a failed assertion ("FAIL: ..." on stderr)
#   skip REASON                count a skipped part of the test ("SKIP: ...")
#   skip_test REASON           skip the whole test: "SKIP: ...", exit 77, which
#                              ctest reports as skipped (never as passed)
#   finish                     print the closing line and exit: 0 when nothing
#                              failed, 1 otherwise
#
# The closing line is exactly "N passed, N failed" (", N skipped" appended
# when something was skipped): CI looks for that plain line, so nothing else
# may be printed in that form.
#
# The helpers never change the shell options of the caller: a script that
# wants `set -euo pipefail` sets it itself.  check and fail are safe under
# `set -e` (a failing CMD is counted, it does not end the script).

: "${TM_BUILD_DIR:=$PWD}"
: "${TM_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${TM_SANITIZE:=0}"
export TM_BUILD_DIR TM_SOURCE_DIR TM_SANITIZE

TM_TEST_NAME=$(basename "$0" .sh)
TM_PASSED=0
TM_FAILED=0
TM_SKIPPED=0

# A neutral name: tests grep messages that name paths in it.
TM_WORK=$(mktemp -d "${TMPDIR:-/tmp}/tmtest.XXXXXX")
TM_EXIT_HOOKS=()
tm_on_exit() {   # tm_on_exit COMMAND-STRING : run (eval) at exit, before TM_WORK goes
    TM_EXIT_HOOKS+=("$1")
}
tm_cleanup() {
    local hook
    for hook in "${TM_EXIT_HOOKS[@]}"; do
        eval "$hook" || true
    done
    rm -rf "$TM_WORK"
}
trap tm_cleanup EXIT

pass() {
    TM_PASSED=$((TM_PASSED + 1))
    if [ $# -gt 0 ]; then echo "ok: $*"; fi
    return 0
}

fail() {
    TM_FAILED=$((TM_FAILED + 1))
    echo "FAIL: $*" >&2
    return 0
}

check() {   # check DESCRIPTION CMD...
    local what=$1
    shift
    if "$@"; then
        pass "$what"
    else
        fail "$what"
    fi
}

# check_exit NAME STATUS CMD...: CMD exits with STATUS (its stdout and stderr
# go to $TM_WORK/out and $TM_WORK/err; stderr is shown when it does not).
check_exit() {
    local name=$1 want=$2
    shift 2
    "$@" >"$TM_WORK/out" 2>"$TM_WORK/err"
    local got=$?
    if [ "$got" != "$want" ]; then
        fail "$name: exit $got, want $want: $*"
        cat "$TM_WORK/err" >&2
    else
        pass
    fi
}

# expect_in NAME FILE TEXT: FILE contains TEXT (a fixed string).
expect_in() {
    if ! grep -qF -- "$3" "$2"; then
        fail "$1: '$3' not in $2:"
        cat "$2" >&2
    else
        pass
    fi
}

skip() {
    TM_SKIPPED=$((TM_SKIPPED + 1))
    echo "SKIP: $*" >&2
    return 0
}

skip_test() {
    echo "SKIP: $TM_TEST_NAME: $*"
    exit 77
}

finish() {
    local line="$TM_PASSED passed, $TM_FAILED failed"
    if [ "$TM_SKIPPED" -gt 0 ]; then line="$line, $TM_SKIPPED skipped"; fi
    echo "$line"
    if [ "$TM_FAILED" -eq 0 ]; then exit 0; fi
    exit 1
}
