#!/bin/bash
# tmexport folded: exact lines against an oracle computed from the snapshot
# description (tests/browser/tmexport_oracle.py) and from Python's own
# tracemalloc objects; totals; escaping; inline expansion; errors; atomic
# output; progress only on a terminal.
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/browser/export_common.sh"
cd "$WORK"

# --- special characters, inline chains, unknown frames, empty stacks -------
python3 - "$GEN" <<'PY'
import sys, tmexport_oracle as o
s = o.Snap()
main = s.frame(function="main", file="m.c", line=1)
semi = s.frame(function="ns::f(int; char)", file="a.c", line=2)
nl = s.frame(function="two\nlines\r\\back", file="b.c", line=3)
# inline chain: outer <- mid <- inner at one address; stacks point at inner
outer = s.frame(function="outer_fn", file="c.c", line=10)
mid = s.frame(function="mid_fn", file="c.c", line=20, inlined_by=outer)
inner = s.frame(function="inner_fn", file="c.c", line=30, inlined_by=mid)
fileonly = s.frame(file="dir;x/only file.c", line=42)
unknown = s.frame(offset=0x1234)
uni = s.frame(function="größe<std::string> </script><!--", file="u.c", line=5)
ctrl = s.frame(function="tab\there\x01", file="t.c", line=6)
s.trace(100, [inner, main])
s.trace(28, [inner, main])                 # same stack: merged
s.trace(7, [semi, inner, main])
s.trace(9, [nl, semi, main])
s.trace(11, [fileonly, unknown, main])
s.trace(13, [])                            # empty stack -> <unknown>
s.trace(0, [uni, main])                    # size 0 still counts as 1 allocation
s.trace(17, [ctrl, uni, main])
s.trace(19, [mid, main])                   # the chain from its middle
s.write(sys.argv[1], "special.tms")
import json
json.dump({"size": s.folded(), "count": s.folded(True), "total": s.total(),
           "n": len(s.traces)}, open("special.json", "w"))
PY
"$TMEXPORT" folded special.tms > special.folded
"$TMEXPORT" folded special.tms --count -o special.count
cat special.folded
cmp_folded() {   # cmp_folded FILE KEY
    python3 - "$1" "$2" <<'PY'
import json, sys, tmexport_oracle as o
exp = json.load(open("special.json"))[sys.argv[2]]
got = o.parse_folded(open(sys.argv[1], encoding="utf-8").read())
if got != exp:
    for k in sorted(set(got) | set(exp)):
        if got.get(k) != exp.get(k):
            print("  %r: got %r expected %r" % (k, got.get(k), exp.get(k)), file=sys.stderr)
    sys.exit(1)
PY
}
check "special labels: lines equal the oracle (size)" cmp_folded special.folded size
check "special labels: lines equal the oracle (--count)" cmp_folded special.count count
check "inline chain expanded outermost first" grep -qx 'main;outer_fn;mid_fn;inner_fn 128' special.folded
check "';' and newline escaped" grep -qF 'main;ns::f(int\x3b char);two\nlines\r\\back 9' special.folded
check "file:line fallback and <unknown>" grep -qxF 'main;<unknown>;dir\x3bx/only file.c:42 11' special.folded
check "one line per unique stack, no raw control bytes" \
    python3 -c 'import sys; d=open("special.folded","rb").read(); sys.exit(any(b < 32 and b != 10 for b in d))'
total=$(python3 -c 'import json; print(json.load(open("special.json"))["total"])')
n=$(python3 -c 'import json; print(json.load(open("special.json"))["n"])')
check "awk: sizes sum to the snapshot total ($total)" \
    test "$(awk '{ s += $NF } END { print s }' special.folded)" = "$total"
check "awk: counts sum to the number of traces ($n)" \
    test "$(awk '{ s += $NF } END { print s }' special.count)" = "$n"

# --- random snapshots: exact match ------------------------------------------
for seed in 1 2 3; do
    python3 - "$GEN" "$seed" <<'PY'
import json, sys, tmexport_oracle as o
s = o.random_snap(int(sys.argv[2]), ntraces=3000)
s.write(sys.argv[1], "rand.tms")
json.dump({"size": s.folded(), "count": s.folded(True)}, open("special.json", "w"))
PY
    "$TMEXPORT" folded rand.tms -o rand.folded
    "$TMEXPORT" folded rand.tms -o rand.count --count
    check "random snapshot seed $seed (size)" cmp_folded rand.folded size
    check "random snapshot seed $seed (count)" cmp_folded rand.count count
done

# --- Python tracemalloc dump: Python's own Traceback order is the oracle ----
python3 - <<'PY'
import json, random, tracemalloc, tmexport_oracle as o
rng = random.Random(7)
files = ["app.py", "lib/x;y.py", "dir with space/z.py", "<frozen importlib._bootstrap>"]
traces = []
for i in range(2000):
    depth = rng.randint(1, 6)
    frames = tuple((rng.choice(files), rng.randint(1, 50)) for _ in range(depth))
    traces.append((rng.randint(0, 1), rng.randint(1, 5000), frames, depth + rng.randint(0, 3)))
snap = tracemalloc.Snapshot(traces, 6)
snap.dump("py.pickle")
exp_size, exp_count = {}, {}
for t in snap.traces:
    key = ";".join(o.escape("%s:%d" % (f.filename, f.lineno)) for f in t.traceback)
    exp_size[key] = exp_size.get(key, 0) + t.size
    exp_count[key] = exp_count.get(key, 0) + 1
json.dump({"size": exp_size, "count": exp_count}, open("special.json", "w"))
PY
"$TMEXPORT" folded py.pickle > py.folded
"$TMEXPORT" folded py.pickle --count > py.count
check "Python dump: folded equals Python's tracebacks (size)" cmp_folded py.folded size
check "Python dump: folded equals Python's tracebacks (count)" cmp_folded py.count count

echo | "$GEN" empty.tms
check "empty snapshot: no lines, exit 0" bash -c 'test -z "$("$0" folded empty.tms)"' "$TMEXPORT"

# --- errors, exit codes, atomic output ---------------------------------------
expect_fail() {   # expect_fail NEEDLE COMMAND...
    local needle=$1
    shift
    local rc=0
    "$@" > out.txt 2> err.txt || rc=$?
    if [ "$rc" -ne 2 ]; then
        echo "  exit $rc, expected 2: $*" >&2
        return 1
    fi
    grep -qF -- "$needle" err.txt || { echo "  stderr lacks '$needle':" >&2; cat err.txt >&2; return 1; }
}
printf 'garbage that is not a snapshot\n' > garbage.tms
check "no arguments: exit 2" expect_fail "missing command" "$TMEXPORT"
check "unknown command: exit 2" expect_fail "unknown command" "$TMEXPORT" frobnicate x
check "missing file: exit 2 naming it" expect_fail "nonexistent.tms" "$TMEXPORT" folded nonexistent.tms
check "garbage file: exit 2 naming it" expect_fail "garbage.tms" "$TMEXPORT" folded garbage.tms
check "diff with one file: exit 2" expect_fail "OLD and NEW" "$TMEXPORT" diff special.tms
check "unknown option: exit 2" expect_fail "--frob" "$TMEXPORT" folded special.tms --frob
check "-o without value: exit 2" expect_fail "needs a value" "$TMEXPORT" folded special.tms -o
check "unwritable output: exit 2 naming it" \
    expect_fail "no/such/dir/out.folded" "$TMEXPORT" folded special.tms -o no/such/dir/out.folded
check "--help: exit 0 with usage" bash -c '"$0" --help | grep -q "usage: tmexport folded"' "$TMEXPORT"
echo "previous content" > kept.folded
check "failed export leaves the old output alone" \
    bash -c '! "$0" folded garbage.tms -o kept.folded 2>/dev/null && grep -qx "previous content" kept.folded' "$TMEXPORT"
"$TMEXPORT" folded special.tms -o kept.folded
check "successful export replaces it" cmp -s kept.folded special.folded
check "no temporary files left behind" test -z "$(find . -name '*.tmp.*')"

# --- progress: only when stderr is a terminal ---------------------------------
TM_PROGRESS_DELAY_MS=0 "$TMEXPORT" folded rand.tms -o /dev/null 2> progress.err
check "no progress when stderr is a file" test ! -s progress.err
check "progress on a terminal (pty)" python3 - "$TMEXPORT" <<'PY'
import os, pty, sys
os.environ["TM_PROGRESS_DELAY_MS"] = "0"
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "folded", "rand.tms", "-o", "/dev/null"])
out = b""
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
print("  terminal saw: %r" % out[:120])
sys.exit(0 if os.WEXITSTATUS(status) == 0 and b"folding stacks" in out and b"\x1b[K" in out else 1)
PY
finish
