#!/bin/bash
# Inputs past a documented limit (formats/LIMITS.md) fail with exit 2 and a
# message naming the input and the limit -- never a crash, a hang or an
# attempt to allocate the impossible.  Only the cheap ones are run here.
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/fault/fault_lib.bash"
T=$B/tools
P=$S/tests/fixtures/python
python3 - "$W" <<'PY' || { echo "FAIL: python3 could not write the inputs"; exit 1; }
import pickle, sys, tracemalloc
w = sys.argv[1]
def dump(name, snap):
    with open('%s/%s' % (w, name), 'wb') as f:
        pickle.dump(snap, f, protocol=4)
# traceback_limit past TM_MAX_NFRAME (65535)
dump('nframe.pickle', tracemalloc.Snapshot([(0, 16, (('a.py', 1),), 1)], 65536))
# a file name one byte longer than a string may be (16 MiB)
dump('bigstr.pickle', tracemalloc.Snapshot([(0, 16, (('x' * (16 * 2**20 + 1), 1),), 1)], 1))
# one trace with 2^20 + 1 frames (TM_MAX_DEPTH = 2^20 stack nodes)
frames = tuple(('f%d.py' % (i % 8), i % 5 + 1) for i in range(2**20 + 1))
dump('deep.pickle', tracemalloc.Snapshot([(0, 16, frames, len(frames))], 65535))
# 65 nested MARKs (at most 64 open at once)
with open('%s/marks.pickle' % w, 'wb') as f:
    f.write(b'\x80\x04' + b'(' * 65 + b'.')
PY

NEEDLE="65535" expect_exit2 "traceback_limit 65536" "$T/tmstat" "$W/nframe.pickle"
grep -q "nframe.pickle" "$W/err" || fail "traceback_limit: message does not name the file"
NEEDLE="bigstr.pickle" expect_exit2 "a 16 MiB + 1 string" "$T/tmstat" "$W/bigstr.pickle"
grep -qiE "limit|too long|16 MiB|16777216" "$W/err" && pass || fail "16 MiB string: message does not state the limit: $(head -c 200 "$W/err")"
NEEDLE="deep.pickle" expect_exit2 "2^20 + 1 frames in one stack" "$T/tmstat" "$W/deep.pickle"
grep -qiE "limit|deep|depth|frames" "$W/err" && pass || fail "deep stack: message does not state the limit: $(head -c 200 "$W/err")"
NEEDLE="marks.pickle" expect_exit2 "65 nested MARKs" "$T/tmstat" "$W/marks.pickle"
grep -q "64" "$W/err" && pass || fail "MARKs: message does not state the limit: $(head -c 200 "$W/err")"
# a .tms converted from the limits' edge: exactly 65535 is fine
python3 -c "
import pickle, tracemalloc, sys
pickle.dump(tracemalloc.Snapshot([(0, 16, (('a.py', 1),), 1)], 65535), open(sys.argv[1], 'wb'), protocol=4)" "$W/edge.pickle"
"$T/tmstat" "$W/edge.pickle" >/dev/null 2>"$W/err" && pass || fail "traceback_limit 65535 refused: $(cat "$W/err")"

# tmstat / tmdiff options
"$T/tmconv" "$P/proto4.pickle" "$W/a.tms" || fail "tmconv fixture"
args=()
for i in $(seq 65); do args+=(--include "f$i.py"); done
NEEDLE="64" expect_exit2 "65 filters" "$T/tmstat" "$W/a.tms" "${args[@]}"
NEEDLE="--top" expect_exit2 "--top past 2^64" "$T/tmstat" "$W/a.tms" --top 99999999999999999999
NEEDLE="--fail-on-growth" expect_exit2 "--fail-on-growth past 2^64" "$T/tmdiff" "$W/a.tms" "$W/a.tms" --fail-on-growth 20000000T
NEEDLE="domain" expect_exit2 "--domain past 2^32" "$T/tmstat" "$W/a.tms" --domain 4294967296

# tmrun -n past 65535 (the launcher checks before running anything)
if [ -x "$B/recorder/tmrun" ]; then
    NEEDLE="65535" expect_exit2 "tmrun -n 65536" "$B/recorder/tmrun" -n 65536 -o "$W/r.tms" -- /bin/true
    [ -e "$W/r.tms" ] && fail "tmrun -n 65536 ran the program anyway"
else
    skip "tmrun is not built"
fi

# a file past the 64 GiB limit (sparse, so it costs nothing): refused without
# reading 64 GiB.  The address-space cap makes an attempt to read it all fail
# fast instead of eating the machine; ASan cannot run under such a cap.
head -c 4096 "$W/a.tms" > "$W/huge.tms"
truncate -s 65G "$W/huge.tms"
if [ "$SAN" = 1 ]; then
    skip "64 GiB file: ulimit -v cannot be used with AddressSanitizer"
else
    for tool in tminfo tmstat; do
        NEEDLE="huge.tms" expect_exit2 "$tool on a 65 GiB file" \
            bash -c 'ulimit -v 2000000; exec timeout 30 "$@"' _ "$T/$tool" "$W/huge.tms"
        # the documented answer is the limit (checked from fstat before
        # reading), not whatever malloc or the OOM killer makes of 65 GiB
        grep -qiE "limit|64 GiB" "$W/err" && pass ||
            fail "$tool on a 65 GiB file: message does not state the 64 GiB limit: $(head -c 200 "$W/err")"
    done
fi

finish
