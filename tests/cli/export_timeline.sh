#!/bin/bash
# tmexport timeline: the SVG parses as XML, points follow snapshot time (not
# command-line order), values and vertical positions match the metadata.
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/browser/export_common.sh"
cd "$WORK"

python3 - "$GEN" <<'PY'
import json, random, sys, tmexport_oracle as o
rng = random.Random(3)
meta = []
t0 = 1_700_000_000_000_000_000
cur = 0
peak = 0
for seq in range(1, 8):
    s = o.Snap()
    f = s.frame(function="alloc_loop", file="a.c", line=1)
    cur = max(0, cur + rng.randint(-3 << 20, 6 << 20))
    peak = max(peak, cur + rng.randint(0, 1 << 20))
    s.trace(cur, [f])
    t = t0 + seq * 1_500_000_000 + rng.randint(0, 10**8)
    s.meta = (t, seq, cur, peak, "/usr/bin/app")
    s.write(sys.argv[1], "app.%d.tms" % seq)
    meta.append({"name": "app.%d.tms" % seq, "t": t, "cur": cur, "peak": peak})
json.dump(meta, open("meta.json", "w"))
PY
# deliberately out of order on the command line
"$TMEXPORT" timeline app.5.tms app.2.tms app.7.tms app.1.tms app.3.tms app.6.tms app.4.tms \
    -o timeline.svg --title 'app <memory> & "peak"'
head -c 300 timeline.svg | sed 's/^/  /'; echo

check "SVG parses; points in time order with the snapshots' values" python3 - <<'PY'
import json, xml.etree.ElementTree as ET
NS = "{http://www.w3.org/2000/svg}"
meta = json.load(open("meta.json"))
root = ET.parse("timeline.svg").getroot()
assert root.tag == NS + "svg"
assert root.find(NS + "title").text == 'app <memory> & "peak"'
pts = [c for c in root.iter(NS + "circle") if c.get("class") == "pt-current"]
assert [c.get("data-snapshot") for c in pts] == [m["name"] for m in meta], [c.get("data-snapshot") for c in pts]
for c, m in zip(pts, meta):
    assert int(c.get("data-current")) == m["cur"] and int(c.get("data-peak")) == m["peak"]
    assert int(c.get("data-time-ns")) == m["t"]
xs = [float(c.get("cx")) for c in pts]
assert xs == sorted(xs) and xs[0] < xs[-1]
# x proportional to time, y linear in bytes (higher memory = higher on screen)
def linear(vals, coords):
    (v0, c0), (v1, c1) = min(zip(vals, coords)), max(zip(vals, coords))
    for v, c in zip(vals, coords):
        assert abs(c0 + (v - v0) * (c1 - c0) / (v1 - v0) - c) < 0.05, (v, c)
    return (c1 - c0) / (v1 - v0)
assert linear([m["t"] for m in meta], xs) > 0
peaks = [c for c in root.iter(NS + "circle") if c.get("class") == "pt-peak"]
vals = [m["cur"] for m in meta] + [m["peak"] for m in meta]
ys = [float(c.get("cy")) for c in pts] + [float(c.get("cy")) for c in peaks]
assert linear(vals, ys) < 0
lines = {p.get("id"): p.get("points").split() for p in root.iter(NS + "polyline")}
assert len(lines["current"]) == len(lines["peak"]) == len(meta)
assert [float(p.split(",")[1]) for p in lines["current"]] == [float(c.get("cy")) for c in pts]
print("  %d points, current %d..%d bytes" % (len(pts), min(m["cur"] for m in meta), max(m["cur"] for m in meta)))
PY

python3 -c '
import tracemalloc
for i, n in enumerate([3, 1, 2]):
    tracemalloc.Snapshot([(0, 1000 * n, (("a.py", 1),), 1)], 1).dump("py%d.pickle" % i)'
"$TMEXPORT" timeline py0.pickle py1.pickle py2.pickle -o py.svg
check "Python dumps: current = sum of traces, command-line order" python3 - <<'PY'
import xml.etree.ElementTree as ET
NS = "{http://www.w3.org/2000/svg}"
pts = [c for c in ET.parse("py.svg").getroot().iter(NS + "circle") if c.get("class") == "pt-current"]
assert [c.get("data-snapshot") for c in pts] == ["py0.pickle", "py1.pickle", "py2.pickle"]
assert [int(c.get("data-current")) for c in pts] == [3000, 1000, 2000]
PY
"$TMEXPORT" timeline app.3.tms -o one.svg
check "a single snapshot still draws" python3 -c 'import xml.etree.ElementTree as E; E.parse("one.svg")'
rc=0; "$TMEXPORT" timeline -o none.svg 2> err.txt || rc=$?
check "no snapshots: exit 2" test "$rc" = 2
rc=0; "$TMEXPORT" timeline app.1.tms missing.tms -o bad.svg 2> err.txt || rc=$?
check "missing snapshot: exit 2 naming it, no output" bash -c "test $rc = 2 && grep -q missing.tms err.txt && test ! -e bad.svg"
finish
