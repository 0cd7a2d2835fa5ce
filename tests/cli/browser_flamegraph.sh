#!/bin/bash
# The flame graph in a real browser (headless Chromium): frames are drawn
# (screenshot pixels), and a URL #search=... highlights exactly the frames
# whose label matches (dumped DOM, and highlight-coloured pixels).
# Without Chromium (and no way to install it) this test exits 77 = SKIPPED.
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/browser/export_common.sh"
cd "$WORK"

find_browser() {
    command -v chromium || command -v chromium-browser || command -v google-chrome || true
}
CHROME=$(find_browser)
if [ -z "$CHROME" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "chromium missing: installing it with apt-get (bounded to 12 minutes)"
    export DEBIAN_FRONTEND=noninteractive
    timeout 300 apt-get install -y --no-install-recommends chromium > apt.log 2>&1 ||
        { timeout 120 apt-get update > apt.log 2>&1 &&
          timeout 300 apt-get install -y --no-install-recommends chromium >> apt.log 2>&1; } ||
        tail -3 apt.log
    CHROME=$(find_browser)
fi
if [ -z "$CHROME" ]; then
    echo "SKIPPED: browser_flamegraph: chromium is not installed and could not be installed" >&2
    exit 77
fi
echo "browser: $CHROME ($("$CHROME" --version 2>/dev/null || echo unknown version))"

python3 - "$GEN" <<'PY'
import json, sys, tmexport_oracle as o
s = o.Snap()
main = s.frame(function="main", file="m.c", line=1)
names = ["parse_config", "load_Needle_table", "render", "needle_cache::grow", "net_io", "db_query"]
fr = [s.frame(function=n, file="x.c", line=i) for i, n in enumerate(names)]
leafs = [s.frame(function="leaf_%d" % i, file="l.c", line=i) for i in range(6)]
stacks = set()
for i, f in enumerate(fr):
    for j, g in enumerate(leafs[:3]):
        s.trace(10000 * (i + 1) + 1000 * j, [g, f, main])
        stacks.add((main, f, g))
    s.trace(5000, [f, main])
# every frame is wide enough to be drawn, so all of them are in the DOM
paths = set()
for size, _, frames in s.traces:
    labels = s.logical(frames)
    for k in range(1, len(labels) + 1):
        paths.add(tuple(labels[:k]))
expected = sum(1 for p in paths if "needle" in p[-1].lower())
json.dump({"frames": len(paths) + 1, "matches": expected}, open("exp.json", "w"))
s.write(sys.argv[1], "b.tms")
# a later snapshot: the first half of the stacks grew, the others are gone
s.traces = [(size * 3, d, f) for size, d, f in s.traces[:len(s.traces) // 2]]
s.write(sys.argv[1], "b2.tms")
PY
"$TMEXPORT" diff b.tms b2.tms -o diff.html
"$TMEXPORT" flamegraph b.tms -o fg.html --title "browser test"

export HOME=$WORK   # keep Chromium's crash and config files in the scratch dir
chrome() {   # chrome PROFILE ARGS...  (fresh profile each run, bounded time)
    local profile=$WORK/profile.$1
    shift
    timeout -k 5 90 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --disable-dev-shm-usage --enable-logging=stderr --user-data-dir="$profile" \
        --window-size=1200,800 "$@" 2>> chrome.log
}
url="file://$WORK/fg.html"
chrome a --screenshot="$WORK/plain.png" "$url" > /dev/null
chrome b --screenshot="$WORK/search.png" "$url#search=needle" > /dev/null
chrome c --dump-dom "$url#search=needle" > dom.html
chrome d --dump-dom "$url" > dom-plain.html
zoom=$(python3 -c '
import flame_check as fc
nodes = fc.decode(fc.parse_page("fg.html")[2])
print([i for i, n in enumerate(nodes) if n["path"] == ("main", "load_Needle_table")][0])')
chrome e --dump-dom "$url#search=needle&zoom=$zoom" > dom-zoom.html
chrome f --screenshot="$WORK/diff.png" "file://$WORK/diff.html" > /dev/null
[ -s diff.png ] && [ -s plain.png ] && [ -s search.png ] && [ -s dom.html ] || { tail -20 chrome.log >&2; echo "FAIL: chromium produced no output" >&2; exit 1; }

check "screenshot: frames are drawn, nothing highlighted" python3 - <<'PY'
import png_stats
w, h, nonwhite, hl, colours = png_stats.stats("plain.png")
print("  plain.png %dx%d: %d non-white pixels, %d colours, %d highlight pixels" % (w, h, nonwhite, colours, hl))
assert nonwhite > 0.03 * w * h and colours > 20 and hl == 0
PY
check "screenshot with #search=needle: highlight colour appears" python3 - <<'PY'
import png_stats
w, h, nonwhite, hl, colours = png_stats.stats("search.png")
print("  search.png: %d highlight pixels" % hl)
assert hl > 2000
PY
check "dumped DOM: every frame drawn, exactly the matching ones highlighted" python3 - <<'PY'
import json, re, xml.etree.ElementTree as ET
exp = json.load(open("exp.json"))
for name, want in (("dom.html", exp["matches"]), ("dom-plain.html", 0)):
    dom = open(name, encoding="utf-8").read()
    svg = re.search(r"<svg\b.*?</svg>", dom, re.S).group(0)
    root = ET.fromstring(svg)          # the rendered SVG is well-formed XML
    gs = [g for g in root.iter("{http://www.w3.org/2000/svg}g")]
    hits = [g for g in gs if "match" in g.get("class", "").split()]
    print("  %s: %d frames drawn (expected %d), %d highlighted (expected %d)"
          % (name, len(gs), exp["frames"], len(hits), want))
    assert len(gs) == exp["frames"] and len(hits) == want
    for g in hits:
        assert "needle" in "".join(g.itertext()).lower() or g.find("{http://www.w3.org/2000/svg}text") is None
m = re.search(r'id="matched"[^>]*>([^<]*)<', open("dom.html", encoding="utf-8").read())
print("  match summary: %r" % m.group(1))
assert m.group(1).startswith("Matched: ")
PY
check "diff page: growth drawn red, shrink blue" python3 - <<'PY'
import png_stats
red = blue = 0
for _, _, (r, g, b) in png_stats.pixels("diff.png"):
    red += r == 255 and g == b and g < 200
    blue += b == 255 and r == g and r < 200
print("  diff.png: %d red pixels, %d blue pixels" % (red, blue))
assert red > 2000 and blue > 2000
PY
check "no JavaScript errors in the console" bash -c '! grep -i "uncaught\|CONSOLE.*error" chrome.log'
check "zoom from the URL (#zoom=$zoom): the frame fills the width, only its subtree and ancestors drawn" \
    python3 - "$zoom" <<'PY'
import re, sys, xml.etree.ElementTree as ET
NS = "{http://www.w3.org/2000/svg}"
z = sys.argv[1]
svg = ET.fromstring(re.search(r"<svg\b.*?</svg>", open("dom-zoom.html", encoding="utf-8").read(), re.S).group(0))
width = float(svg.get("width"))
gs = {g.get("data-i"): g for g in svg.iter(NS + "g")}
cls = lambda g: g.get("class", "").split()
texts = sorted("".join(g.itertext()) for g in gs.values())
print("  drawn: %s" % texts)
assert len(gs) == 6, len(gs)                                   # all, main, the frame, 3 leaves
r = gs[z].find(NS + "rect")
assert float(r.get("x")) == 0 and float(r.get("width")) >= width - 1
assert sum("anc" in cls(g) for g in gs.values()) == 2
assert [g.get("data-i") for g in gs.values() if "match" in cls(g)] == [z]
PY
finish
