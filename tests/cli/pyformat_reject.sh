#!/bin/bash
# Hostile and broken Python dumps: every tool that loads snapshots exits 2
# with a message naming the file and the problem, and nothing is executed.
set -euo pipefail
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
W=$TM_WORK

W="$W" python3 - <<'PY'
import os, pickle, tracemalloc
W = os.environ["W"]
marker = os.path.join(W, "PWNED")
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + marker,))
def write(name, data):
    with open(os.path.join(W, name), "wb") as f:
        f.write(data)
# What a pickle.load() would run: our reader must refuse it.
write("evil.pickle", pickle.dumps(Evil(), protocol=4))
s = tracemalloc.Snapshot([(0, 10, (("a.py", 1),), 1)], 1)
s.traceback_limit = Evil()          # the payload hidden inside a real snapshot
write("evil-inside.pickle", pickle.dumps(s, protocol=5))
good = pickle.dumps(tracemalloc.Snapshot([(0, 10, (("a.py", 1),), 1)], 1), protocol=5)
write("truncated.pickle", good[: len(good) // 2])
write("filter.pickle", pickle.dumps(tracemalloc.Filter(True, "*"), protocol=4))
# Sanity: the payload really works when Python unpickles it.
pickle.loads(pickle.dumps(Evil(), protocol=4))
assert os.path.exists(marker)
os.unlink(marker)
PY

expect_reject() {  # tool args... ; file is the last arg, message piece in $PIECE
    local out rc=0
    out=$("$@" 2>&1 >/dev/null) || rc=$?
    [ "$rc" -eq 2 ] && pass || fail "$* exited $rc, wanted 2 ($out)"
    case $out in *"$FILE"*"$PIECE"*) pass ;; *) fail "$*: message '$out' lacks '$FILE' / '$PIECE'" ;; esac
    [ ! -e "$W/PWNED" ] && pass || fail "$*: the pickle payload ran"
}

tools=("$B/tools/tmconv")
for t in tmstat tminfo; do [ -x "$B/tools/$t" ] && tools+=("$B/tools/$t"); done
for tool in "${tools[@]}"; do
    for case in "evil.pickle|global 'posix.system' is not allowed" \
                "evil-inside.pickle|global 'posix.system' is not allowed" \
                "truncated.pickle|truncated" \
                "filter.pickle|global 'tracemalloc.Filter' is not allowed"; do
        FILE=$W/${case%%|*}
        PIECE=${case#*|}
        if [ "$(basename "$tool")" = tmconv ]; then
            expect_reject "$tool" "$FILE" "$W/out.pickle"
            [ ! -e "$W/out.pickle" ] && pass || fail "tmconv wrote output for a rejected input"
        else
            expect_reject "$tool" "$FILE"
        fi
    done
done
echo "pyformat_reject: ${#tools[@]} tools"
finish
