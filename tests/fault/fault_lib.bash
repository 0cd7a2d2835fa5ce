# Sourced by tests/cli/fault_*.sh: the shared test helpers (tests/lib/tmtest.bash:
# pass, fail, skip, finish, the scratch directory W), short names for the
# paths, tmpfs mounts undone at exit, and the fault_writer helper (built by
# tests/fault/CMakeLists.txt).
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib/tmtest.bash"
B=$TM_BUILD_DIR
S=$TM_SOURCE_DIR
SAN=$TM_SANITIZE
W=$TM_WORK
MOUNTS=()
tm_on_exit 'for m in "${MOUNTS[@]}"; do umount -l "$m" 2>/dev/null; done'

# expect_exit2 NAME CMD... : exit status 2 with a non-empty message on stderr
# that names $NEEDLE (default: nothing required beyond non-empty).
expect_exit2() {
    local name=$1; shift
    "$@" >"$W/out" 2>"$W/err" </dev/null
    local rc=$?
    if [ $rc -ne 2 ]; then
        fail "$name: exit $rc, expected 2 (stderr: $(head -c 300 "$W/err"))"
    elif [ ! -s "$W/err" ]; then
        fail "$name: exit 2 without a message"
    elif [ -n "${NEEDLE:-}" ] && ! grep -qF -- "$NEEDLE" "$W/err"; then
        fail "$name: message does not name '$NEEDLE': $(head -c 300 "$W/err")"
    elif grep -qE "AddressSanitizer|runtime error|Segmentation" "$W/err"; then
        fail "$name: sanitizer report: $(head -c 300 "$W/err")"
    else
        pass
    fi
}

# mount_tmpfs DIR OPTIONS : returns 1 (and the caller skips) if mounting fails
mount_tmpfs() {
    mkdir -p "$1"
    if mount -t tmpfs -o "$2" tmpfs "$1" 2>"$W/mount.err"; then
        MOUNTS+=("$1")
        return 0
    fi
    return 1
}

fault_writer_bin() {
    local bin=$B/tests/fault/fault_writer
    [ -x "$bin" ] || { echo "FAIL: $bin not built" >&2; return 1; }
    echo "$bin"
}

# The program tmrun runs in tests/cli/fault_recorder.sh (never sanitized:
# the recorder is LD_PRELOADed into it).
fault_victim_bin() {
    local bin=$B/tests/fault/fault_victim
    if [ -x "$bin" ] && [ "$SAN" != 1 ]; then
        echo "$bin"
        return 0
    fi
    bin=$W/fault_victim
    cc -std=c11 -O1 -D_GNU_SOURCE -pthread "$S/tests/fault/fault_victim.c" -o "$bin" >&2 || return 1
    echo "$bin"
}

# Peak resident memory and time of one command, from /usr/bin/time (the
# bomb tests: formats/LIMITS.md's bounds).
# measure NAME CMD... : runs CMD; sets RC, KB (peak resident), SECS; stdout
# in $W/out, stderr in $W/err
measure() {
    local name=$1; shift
    /usr/bin/time -o "$W/time" -f '%M %e' "$@" >"$W/out" 2>"$W/err" </dev/null
    RC=$?
    read -r KB SECS < <(tail -n 1 "$W/time") || { KB=0; SECS=0; }
    echo "  $name: exit $RC, ${KB} KB, ${SECS} s"
}

# within NAME MAX_KB MAX_SECS : the last measure stayed within both.
# Sanitizers multiply memory and time: there the limits are not measured.
within() {
    [ "$SAN" = 1 ] && return 0
    if [ "$KB" -gt "$2" ]; then
        fail "$1: peak resident ${KB} KB > $2 KB"
    elif awk -v t="$SECS" -v m="$3" 'BEGIN { exit !(t > m) }'; then
        fail "$1: ${SECS} s > $3 s"
    else
        pass
    fi
}
