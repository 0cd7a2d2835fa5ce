# Helpers of the tmrun -p tests (rec_attach*.sh), sourced after tmtest.bash.

# wait_for FILE [SECONDS]: until FILE exists (default 20 s); 1 on timeout.
wait_for() {
    local i
    for ((i = 0; i < ${2:-20} * 20; i++)); do
        [ -e "$1" ] && return 0
        sleep 0.05
    done
    echo "timed out waiting for $1" >&2
    return 1
}

# wait_grep PATTERN FILE [SECONDS]: until FILE has a line matching PATTERN.
wait_grep() {
    local i
    for ((i = 0; i < ${3:-20} * 20; i++)); do
        grep -q -- "$1" "$2" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "timed out waiting for '$1' in $2" >&2
    return 1
}

# sites_exact EXPECT CSV: every "FILE:LINE SIZE COUNT" line of EXPECT (the
# program's own account) is the row of tmstat --format csv for that line,
# exactly (SIZE 0 COUNT 0: no row).  Prints each difference.
sites_exact() {
    python3 - "$1" "$2" <<'PY'
import csv, sys
rows = {}
with open(sys.argv[2]) as f:
    lines = [l for l in f if not l.startswith("[")]
for r in csv.DictReader(lines):
    key = "%s:%s" % (r["filename"].rsplit("/", 1)[-1], r["lineno"])
    rows[key] = (int(r["size"]), int(r["count"]))
bad = 0
done = False
for line in open(sys.argv[1]):
    parts = line.split()
    if parts == ["done"]:
        done = True
        continue
    site, size, count = parts[0], int(parts[1]), int(parts[2])
    got = rows.get(site, (0, 0))
    if got != (size, count):
        print("%s: expected size=%d count=%d, snapshot has size=%d count=%d"
              % (site, size, count, got[0], got[1]), file=sys.stderr)
        bad += 1
if not done:
    print("%s: incomplete" % sys.argv[1], file=sys.stderr)
    bad += 1
sys.exit(1 if bad else 0)
PY
}
