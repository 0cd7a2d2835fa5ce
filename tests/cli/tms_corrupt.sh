#!/bin/bash
# tminfo on a good .tms file exits 0; on truncated, byte-flipped or extended
# copies it exits 2 with a message on stderr that names the file.  (Every
# offset is covered in-process by tests/unit/test_format_robust.c; this is
# the command-line sample.)
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
TMINFO=$B/tools/tminfo
GEN=$B/tests/fuzz/tms_seed_gen
work=$TM_WORK

"$GEN" "$work" || { echo "FAIL: tms_seed_gen" >&2; exit 1; }
for good in "$work"/*.tms; do
    "$TMINFO" "$good" >"$work/out" 2>"$work/err" && pass || fail "exit $? on good file $good: $(cat "$work/err")"
    [ -s "$work/err" ] && fail "stderr not empty for good file $good" || pass
    grep -q '^  traces ' "$work/out" && pass || fail "no trace count for $good"
done

good=$work/mixed.tms
len=$(stat -c %s "$good")

# All corrupted copies in one python3 run (its start-up dominates otherwise).
# Each line of the list: KIND POS FILE.
python3 - "$good" "$work" >"$work/list" <<'PY'
import sys
good, work = sys.argv[1], sys.argv[2]
data = open(good, 'rb').read()
n = len(data)
def emit(kind, pos, blob):
    path = '%s/%s_%d.tms' % (work, kind, pos)
    open(path, 'wb').write(blob)
    print(kind, pos, path)
for pos in sorted({0, 1, 7, 8, 12, 23, 24, 25, 40, 55, 56, 57, n // 3, n // 2, n - 2, n - 1}):
    emit('cut', pos, data[:pos])
for pos in sorted({0, 1, 3, 7, 8, 9, 10, 11, 12, 16, 20, 23, 24, 25, 26, 27, 28, 31, 32, 40,
                   48, 55, 56, 60, n // 4, n // 3, n // 2, n * 3 // 4, n - 1}):
    for kind, mask in (('flip', 0xFF), ('bit', 0x10)):
        b = bytearray(data)
        b[pos] ^= mask
        emit(kind, pos, bytes(b))
emit('append', n, data + b'\0')
PY
[ -s "$work/list" ] || { echo "FAIL: python3 could not write the corrupted copies" >&2; exit 1; }

expect_rejected() {   # expect_rejected FILE WHAT
    "$TMINFO" "$1" >/dev/null 2>"$work/err"
    local rc=$?
    if [ $rc -ne 2 ]; then
        fail "$2: exit $rc, expected 2"
    elif ! grep -q "^tminfo: $1: " "$work/err"; then
        fail "$2: message does not name the file: $(cat "$work/err")"
    else
        pass
    fi
}

n=0
while read -r kind pos f; do
    expect_rejected "$f" "$kind at byte $pos"
    n=$((n + 1))
done <"$work/list"

# Messages carry the section and offset: show one of each kind.
"$TMINFO" "$work/flip_$((len - 1)).tms" 2>&1 >/dev/null | grep -q "section 'traces' at byte [0-9]*: payload checksum mismatch" \
    && pass || fail "payload flip message lacks section/offset"
"$TMINFO" "$work/cut_$((len - 1)).tms" 2>&1 >/dev/null | grep -q "truncated" && pass || fail "truncation message"
"$TMINFO" "$work/flip_0.tms" 2>&1 >/dev/null | grep -q "magic" && pass || fail "magic message"

# A mixed command line: the good file is still shown, the exit status is 2.
"$TMINFO" "$good" "$work/flip_$((len - 1)).tms" >"$work/out" 2>/dev/null
rc=$?
[ $rc -eq 2 ] && pass || fail "good+bad: exit $rc"
grep -q "^$good: .tms format version 1.0" "$work/out" && pass || fail "good+bad: good file not shown"

echo "tms_corrupt: $n corrupted copies checked"
finish
