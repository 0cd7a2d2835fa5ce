#!/bin/bash
# tmexport flamegraph / diff: the page is strict HTML with XML-valid SVG, no
# network references, a title that is escaped, and data that match an oracle
# (sizes and counts per stack, widths, old-only stacks in a diff).
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/browser/export_common.sh"
cd "$WORK"

python3 - "$GEN" <<'PY'
import json, sys, tmexport_oracle as o
old = o.random_snap(11, ntraces=1500)
new = o.random_snap(11, ntraces=0)          # same frames ...
import random
rng = random.Random(5)
keep = [t for t in old.traces if rng.random() < 0.6]   # ... some stacks freed
for size, dom, fr in keep:
    new.trace(size * rng.choice([1, 1, 2, 3]), fr, dom)
s = new.frame(function="</script><b>only_new</b>;x", file="n.c", line=1)
new.trace(5000, [s, 0])
old.write(sys.argv[1], "old.tms")
new.write(sys.argv[1], "new.tms")
def exp(snap, by_count):
    agg = {}
    for size, _, fr in snap.traces:
        k = tuple(snap.logical(fr))
        agg[k] = agg.get(k, 0) + (1 if by_count else size)
    return {"|".join(k): v for k, v in agg.items()}
json.dump({"new_size": exp(new, 0), "new_count": exp(new, 1),
           "old_size": exp(old, 0), "old_count": exp(old, 1),
           "new_total": new.total(), "old_total": old.total()}, open("exp.json", "w"))
PY
title='Heap <b>"x"</b> & '"'y'"
"$TMEXPORT" flamegraph new.tms -o fg.html --title "$title"
"$TMEXPORT" flamegraph new.tms -o fgc.html --count
"$TMEXPORT" diff old.tms new.tms -o diff.html
ls -l fg.html fgc.html diff.html | awk '{ print "  " $5 " bytes  " $NF }'

check "flame graph: strict HTML, SVG parses, data match the oracle (size)" python3 - "$title" <<'PY'
import json, sys, flame_check as fc
exp = json.load(open("exp.json"))
text, p, data = fc.parse_page("fg.html")
assert p.texts.get("title") == sys.argv[1], "title %r" % p.texts.get("title")
assert "<b>" not in text.split("<script")[0].split("<body>")[1].split("</h1>")[0], "title not escaped"
assert data["unit"] == "bytes" and not data["diff"] and data["stride"] == 5
nodes = fc.decode(data)
assert nodes[0]["w"] == exp["new_total"] == nodes[0]["vals"][0], (nodes[0]["w"], exp["new_total"])
got = {"|".join(k): v for k, v in fc.self_values(nodes, 0).items()}
want = {k: v for k, v in exp["new_size"].items() if v}
assert got == want, "self sizes differ: %d vs %d stacks" % (len(got), len(want))
got = {"|".join(k): v for k, v in fc.self_values(nodes, 1).items()}
assert got == exp["new_count"], "self counts differ"
assert all(n["w"] == n["vals"][0] for n in nodes), "width is not the size"
print("  %d frames, %d labels" % (len(nodes), len(data["labels"])))
PY
check "flame graph --count: widths are allocation counts" python3 - <<'PY'
import json, flame_check as fc
exp = json.load(open("exp.json"))
_, _, data = fc.parse_page("fgc.html")
assert data["unit"] == "allocations"
nodes = fc.decode(data)
assert all(n["w"] == n["vals"][1] for n in nodes)
assert nodes[0]["w"] == sum(exp["new_count"].values())
PY
check "diff: new and old values per stack, widths from NEW, old-only stacks kept" python3 - <<'PY'
import json, flame_check as fc
exp = json.load(open("exp.json"))
_, _, data = fc.parse_page("diff.html")
assert data["diff"] and data["stride"] == 7
nodes = fc.decode(data)
j = lambda d: {"|".join(k): v for k, v in d.items()}
assert j(fc.self_values(nodes, 0)) == {k: v for k, v in exp["new_size"].items() if v}
assert j(fc.self_values(nodes, 1)) == exp["new_count"]
assert j(fc.self_values(nodes, 2)) == {k: v for k, v in exp["old_size"].items() if v}
assert j(fc.self_values(nodes, 3)) == exp["old_count"]
gone = [k for k in exp["old_count"] if k not in exp["new_count"]]
assert gone, "test data has no old-only stacks"
# self width: NEW weight where the stack exists in NEW, else its OLD weight
for nd in nodes:
    sw = nd["w"] - sum(nodes[c]["w"] for c in nd["children"])
    new_self_count = nd["vals"][1] - sum(nodes[c]["vals"][1] for c in nd["children"])
    new_self = nd["vals"][0] - sum(nodes[c]["vals"][0] for c in nd["children"])
    old_self = nd["vals"][2] - sum(nodes[c]["vals"][2] for c in nd["children"])
    assert sw == (new_self if new_self_count else old_self), nd["path"]
by_path = {"|".join(n["path"]): n for n in nodes}
for k in gone:
    n = by_path[k]
    sw = n["w"] - sum(nodes[c]["w"] for c in n["children"])
    assert sw == exp["old_size"][k], (k, sw)
assert any(exp["old_size"][k] > 0 for k in gone)
print("  %d frames, %d old-only stacks drawn with their old size" % (len(nodes), len(gone)))
PY
check "diff: root totals" python3 -c '
import json, flame_check as fc
exp = json.load(open("exp.json"))
_, _, d = fc.parse_page("diff.html")
r = fc.decode(d)[0]["vals"]
assert r[0] == exp["new_total"] and r[2] == exp["old_total"], r'
"$TMEXPORT" flamegraph new.tms -o pruned.html --min-width 1
check "--min-width 1: frames under 1% left out, totals kept" python3 - <<'PY'
import flame_check as fc
full = fc.decode(fc.parse_page("fg.html")[2])
pruned = fc.decode(fc.parse_page("pruned.html")[2])
total = full[0]["w"]
assert pruned[0]["w"] == total and pruned[0]["vals"] == full[0]["vals"]
assert all(n["w"] >= total / 100 for n in pruned)
want = {n["path"]: (n["w"], n["vals"]) for n in full if n["w"] >= total / 100}
assert {n["path"]: (n["w"], n["vals"]) for n in pruned} == want
print("  %d of %d frames kept" % (len(pruned), len(full)))
PY
rc=0; "$TMEXPORT" flamegraph new.tms -o x.html --min-width 200 2> err.txt || rc=$?
check "--min-width out of range: exit 2" test "$rc" = 2
echo | "$GEN" empty.tms
"$TMEXPORT" flamegraph empty.tms -o empty.html
"$TMEXPORT" diff empty.tms empty.tms -o emptydiff.html
check "empty snapshot: valid pages with a zero-width root" python3 -c '
import flame_check as fc
for p in ("empty.html", "emptydiff.html"):
    n = fc.decode(fc.parse_page(p)[2])
    assert len(n) == 1 and n[0]["w"] == 0, n'
check "a broken page is caught by the checker" python3 -c '
import flame_check as fc, sys
t = open("fg.html").read().replace("</h1>", "", 1)
open("broken.html", "w").write(t)
try:
    fc.parse_page("broken.html")
except SystemExit as e:
    print("  checker says:", str(e)[:100]); sys.exit(0)
sys.exit(1)'
python3 -c '
import tracemalloc
tracemalloc.Snapshot([(0, 100, (("a.py", 1), ("b.py", 2)), 2), (0, 50, (("c.py", 3),), 1)], 2).dump("py.pickle")'
check "Python dump: flame graph and diff against a .tms" python3 - "$TMEXPORT" <<'PY'
import subprocess, sys, flame_check as fc
subprocess.run([sys.argv[1], "flamegraph", "py.pickle", "-o", "py.html"], check=True)
nodes = fc.decode(fc.parse_page("py.html")[2])
assert {k: v for k, v in fc.self_values(nodes, 0).items()} == {("b.py:2", "a.py:1"): 100, ("c.py:3",): 50}
subprocess.run([sys.argv[1], "diff", "py.pickle", "new.tms", "-o", "pydiff.html"], check=True)
fc.decode(fc.parse_page("pydiff.html")[2])
PY
finish
