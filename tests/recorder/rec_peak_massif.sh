#!/bin/bash
# tmrun --peak writes STEM.peak.tms: the live set when traced memory was
# highest.  Its total must equal valgrind massif's peak (detailed snapshot
# at every peak: --peak-inaccuracy=0, no heap-admin bytes) on
#   rec_phases  a program of ours whose peak is mid-run, which also prints
#               its own per-line counts at the peak (compared with tmstat);
#   inventory   samples/inventory.cpp: C++ at -O2 (std::vector, std::string,
#               std::map, make_unique, strdup), its peak mid-run; libstdc++'s
#               exception pool, allocated by its constructor before ours runs,
#               counts too;
#   python3     building and dropping a dict (PYTHONMALLOC=malloc, so every
#               object is a malloc; -I -S: no site imports, whose .pth hooks
#               read the environment, which tmrun and valgrind change);
#   sqlite3     filling, indexing and emptying an in-memory table.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
W=$TM_WORK
[ "$TM_SANITIZE" = 1 ] && skip_test "LD_PRELOAD of the recorder into a sanitized process is not possible"
command -v valgrind >/dev/null || skip_test "valgrind not installed (scripts/deps.sh installs it)"
cd "$W"
TMRUN=$B/recorder/tmrun
massif_peak() {   # massif output file -> bytes at its peak snapshot
  awk '/^mem_heap_B=/ { b = substr($0, 12) } /^heap_tree=peak/ { print b; exit }' "$1"
}
tms_peak() {      # the traced current recorded in a peak snapshot
  "$B/tools/tminfo" "$1" | awk '$1 == "traced" && $2 == "current" { print $3 }'
}
compare() {       # name, command... (standard input from $IN, default none)
  local name=$1 in=${IN:-/dev/null}; shift
  "$TMRUN" -n 16 --peak -o "$W/$name.tms" -- "$@" < "$in" > "$W/$name.out" 2>&1 ||
    { fail "$name under tmrun exited with $?"; return; }
  [ -s "$W/$name.peak.tms" ] || { fail "$name: no $name.peak.tms"; return; }
  valgrind --tool=massif --peak-inaccuracy=0 --heap-admin=0 --massif-out-file="$W/$name.ms" \
    "$@" < "$in" > /dev/null 2>&1 || { fail "$name under valgrind exited with $?"; return; }
  local ours theirs
  ours=$(tms_peak "$W/$name.peak.tms")
  theirs=$(massif_peak "$W/$name.ms")
  check "$name: peak snapshot $ours B = massif peak $theirs B" test -n "$ours" -a "$ours" = "$theirs"
  check "$name: trigger 'peak'" grep -q "trigger *peak" <("$B/tools/tminfo" "$W/$name.peak.tms")
}

compare phases "$B/tests/recorder/rec_phases"
# The program's own account of its peak, line by line, against tmstat's.
"$B/tools/tmstat" "$W/phases.peak.tms" --by lineno --top 0 --format csv > "$W/phases.csv"
while read -r _ line count bytes; do
  [ "$line" = total ] && continue
  if [ "$count" = 0 ]; then
    check "rec_phases.c:$line: nothing live at the peak" bash -c '! grep -q "rec_phases\.c,$0," "$1"' "$line" "$W/phases.csv"
    continue
  fi
  got=$(awk -F, -v l="$line" '$2 ~ /rec_phases\.c$/ && $3 == l { print $5 " " $4 }' "$W/phases.csv")
  check "rec_phases.c:$line at the peak: expected $count blocks / $bytes B, snapshot: ${got:-none}" \
    test "$got" = "$count $bytes"
done < <(grep '^peak ' "$W/phases.out")
total=$(sed -n 's/^peak total //p' "$W/phases.out")
check "peak total equals the program's own ($total B)" test "$(tms_peak "$W/phases.peak.tms")" = "$total"

compare inventory "$B/samples/inventory"

PY=$(python3 -c 'import sys; print(sys.executable)')
cat > "$W/grow.py" <<'PY'
d = {}
for i in range(100000):
    d["key%d" % i] = "v" * (i % 50)
del d
print(len([str(i) for i in range(1000)]))
PY
PYTHONHASHSEED=0 PYTHONMALLOC=malloc compare python3 "$PY" -I -S "$W/grow.py"

if command -v sqlite3 >/dev/null; then
  cat > "$W/fill.sql" <<'SQL'
create table t(a integer primary key, b text);
with recursive c(x) as (select 1 union all select x + 1 from c where x < 50000)
  insert into t select x, printf('%0100d', x) from c;
create index ib on t(b);
delete from t;
SQL
  IN=$W/fill.sql compare sqlite3 sqlite3 :memory:
else
  skip "sqlite3 not installed: two programs compared"
fi
finish
