#!/bin/bash
# tmexport pprof writes gzipped profile.proto that protoc decodes against
# pprof's schema (Debian's copy of pprof's own profile.proto when
# golang-github-google-pprof-dev is installed, and the one in
# tests/fixtures/pprof/): inuse_space and inuse_objects add up to the
# snapshot's totals, the leaf lines and functions carry exactly tmstat's
# per-line and per-function statistics, inline chains are several Lines
# innermost first, the metadata is in the comments, equal input gives equal
# bytes.  On samples/inventory under tmrun: the program's own files, lines
# and inlined functions, no system header.  A diff is NEW plus OLD negated.
# When go and pprof's sources are installed, the real pprof is built
# offline and its -top (and -diff_base) agree with tmstat --by function.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
T=$B/tools
S=$TM_SOURCE_DIR
W=$TM_WORK
G=$S/tests/golden/v1.0
CHECK="python3 $S/tests/cli/pprof_check.py"

command -v protoc > /dev/null || skip_test "protoc not installed (Debian protobuf-compiler; scripts/deps.sh installs it)"
UPSTREAM=/usr/share/gocode/src/github.com/google/pprof/proto
SCHEMAS=("$S/tests/fixtures/pprof")
[ -f "$UPSTREAM/profile.proto" ] && SCHEMAS+=("$UPSTREAM") ||
  skip "pprof's own profile.proto (golang-github-google-pprof-dev) not installed: decoding against ours only"

# decode PB TXT: protoc against every schema; TXT from the last (pprof's own).
decode() {
  local pb=$1 txt=$2 dir
  for dir in "${SCHEMAS[@]}"; do
    if ! gzip -dc "$pb" | protoc --decode perftools.profiles.Profile -I "$dir" profile.proto > "$txt" 2> "$txt.err"; then
      fail "protoc --decode $pb against $dir/profile.proto: $(head -3 "$txt.err")"
      return 1
    fi
  done
  $CHECK check "$txt" || { fail "$pb: dangling references"; return 1; }
}

# totals_match WHAT SNAP TXT: inuse_space/objects sum to tmstat's totals.
totals_match() {
  local what=$1 snap=$2 txt=$3 got want
  got=$($CHECK totals "$txt" | awk '{ print $2 " " $3 }')
  want=$("$T/tmstat" "$snap" --format json 2> /dev/null |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["total_count"], d["total_size"])')
  check "$what: inuse_objects, inuse_space = $got, tmstat's totals $want" test "$got" = "$want"
}

# stats_match WHAT SNAP TXT [tmstat options]: the leaf's innermost Line
# grouped by file:line and by function is tmstat --by lineno / --by function.
stats_match() {
  local what=$1 snap=$2 txt=$3
  shift 3
  "$T/tmstat" "$snap" --by lineno --top 0 --format csv "$@" > "$W/l.csv" 2> /dev/null
  "$T/tmstat" "$snap" --by function --top 0 --format csv "$@" > "$W/f.csv" 2> /dev/null
  check "$what: per-line sizes and counts are tmstat --by lineno's" \
    diff <($CHECK tmstat-lines "$W/l.csv") <($CHECK leaf-lines "$txt")
  check "$what: per-function sizes and counts are tmstat --by function's" \
    diff <($CHECK tmstat-funcs "$W/f.csv") <($CHECK leaf-funcs "$txt")
}

# --- snapshots without the recorder: the golden files and a Python dump ---
for snap in "$G/inline.tms" "$G/full.tms" "$G/empty.tms" "$S/tests/fixtures/python/real-3.12.pickle" \
  "$S/tests/fixtures/python/many.pickle"; do
  name=$(basename "$snap")
  if ! "$T/tmexport" pprof "$snap" -o "$W/$name.pb.gz" 2> "$W/err"; then
    fail "tmexport pprof $name: $(cat "$W/err")"
    continue
  fi
  decode "$W/$name.pb.gz" "$W/$name.txt" || continue
  pass "$name: decoded by protoc"
  totals_match "$name" "$snap" "$W/$name.txt"
  stats_match "$name" "$snap" "$W/$name.txt"
done
check "sample types inuse_objects/count, inuse_space/bytes, default inuse_space" \
  test "$($CHECK sample-types "$W/full.tms.txt" | tr '\n' ' ')" = "inuse_objects/count inuse_space/bytes default=inuse_space "
check "inline.tms: the inlined call is a Location with two Lines, innermost first" \
  grep -qx 'helper app.h:4 <- main app.c:10' <($CHECK inline "$W/inline.tms.txt")
check "full.tms: a chain of three, innermost first" \
  grep -qx 'grow_buf src/buf.h:7 <- read_header src/http.h:19 <- parse_request src/http.c:51' \
  <($CHECK inline "$W/full.tms.txt")
$CHECK comments "$W/full.tms.txt" > "$W/comments"
check "metadata as comments: program, pid, host, trigger, totals" \
  grep -q '^program: .' "$W/comments"
for k in '^pid: [0-9]' '^host: ' '^trigger: ' '^traces: 12, total size: 203965 B' '^runtime frames hidden: '; do
  check "comment $k" grep -q "$k" "$W/comments"
done
"$T/tmexport" pprof "$G/full.tms" -o "$W/again.pb.gz" 2> /dev/null
check "same snapshot, same bytes" cmp -s "$W/full.tms.pb.gz" "$W/again.pb.gz"
"$T/tmexport" pprof "$G/full.tms" --as-recorded -o "$W/rec.pb.gz" 2> /dev/null
decode "$W/rec.pb.gz" "$W/rec.txt" &&
  totals_match "full.tms --as-recorded" "$G/full.tms" "$W/rec.txt" &&
  stats_match "full.tms --as-recorded" "$G/full.tms" "$W/rec.txt" --as-recorded
check "--as-recorded: a comment says nothing is hidden" grep -q 'stacks as recorded' <($CHECK comments "$W/rec.txt")

# --- a diff: NEW plus OLD negated, OLD's samples labelled pprof::base ---
"$T/tmexport" pprof "$G/inline.tms" "$G/full.tms" -o "$W/diff.pb.gz" 2> /dev/null ||
  fail "tmexport pprof OLD NEW exited with $?"
if decode "$W/diff.pb.gz" "$W/diff.txt"; then
  check "diff: inuse_space sums to NEW - OLD (203965 - 4096)" \
    test "$($CHECK totals "$W/diff.txt" | awk '{ print $3 }')" = $((203965 - 4096))
  check "diff: OLD's one sample negated, labelled pprof::base" \
    test "$(grep -c 'value: -4096' "$W/diff.txt")" = 1
  check "diff: comments name both sides" grep -q '^base: traces: 1,' <($CHECK comments "$W/diff.txt")
fi

# --- bad use: exit 2 and a message ---
expect2() {   # expect2 WHAT PATTERN ARGS...
  local what=$1 pat=$2 rc=0
  shift 2
  "$T/tmexport" "$@" > "$W/out" 2> "$W/err" || rc=$?
  if [ "$rc" = 2 ] && grep -q -- "$pat" "$W/err"; then pass "$what"; else
    fail "$what: exit $rc, stderr: $(cat "$W/err")"
  fi
}
expect2 "three snapshots refused" "pprof needs SNAPSHOT, or OLD and NEW" pprof "$G/full.tms" "$G/full.tms" "$G/full.tms" -o "$W/x"
expect2 "--count refused" "does not apply to pprof" pprof "$G/full.tms" --count -o "$W/x"
expect2 "a size past int64 refused, named" "do not fit pprof's int64" pprof "$G/python.tms" -o "$W/x"
expect2 "a missing input named" "nonexistent.tms" pprof "$W/nonexistent.tms" -o "$W/x"
expect2 "an unwritable output named" "$W/no/dir/x.pb.gz" pprof "$G/full.tms" -o "$W/no/dir/x.pb.gz"

# --- the real pprof, built offline from Debian's sources ---
PPROF=""
if command -v go > /dev/null && [ -d /usr/share/gocode/src/github.com/google/pprof ]; then
  PPROF=$B/tests/pprof-offline/pprof
  if [ ! -x "$PPROF" ]; then
    mkdir -p "$B/tests/pprof-offline"
    if ! GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off \
      GOCACHE=$B/tests/pprof-offline/cache timeout 600 go build -o "$PPROF" github.com/google/pprof \
      > "$W/go.log" 2>&1; then
      fail "building pprof offline from /usr/share/gocode: $(tail -5 "$W/go.log")"
      PPROF=""
    fi
  fi
else
  skip "go or Debian's pprof sources (golang-go, golang-github-google-pprof-dev) not installed: no pprof -top comparison"
fi
# pprof_top WHAT PB SNAP [tmstat options]
pprof_top() {
  local what=$1 pb=$2 snap=$3
  shift 3
  "$T/tmstat" "$snap" --by function --top 0 --format csv "$@" > "$W/top.csv" 2> /dev/null
  local idx
  for idx in inuse_space:size inuse_objects:count; do
    if ! HOME=$W "$PPROF" -top -nodefraction=0 -nodecount=1000000 -unit=B -sample_index="${idx%%:*}" \
      "$pb" > "$W/top.txt" 2> "$W/top.err"; then
      fail "$what: pprof -top: $(head -3 "$W/top.err")"
      continue
    fi
    check "$what: pprof -top -sample_index=${idx%%:*} is tmstat --by function's ${idx#*:}" \
      $CHECK top "$W/top.txt" "$W/top.csv" "${idx#*:}"
  done
}
[ -n "$PPROF" ] && pprof_top "full.tms" "$W/full.tms.pb.gz" "$G/full.tms"

# --- a C++ program under the recorder ---
if [ "$TM_SANITIZE" = 1 ]; then
  skip "LD_PRELOAD of the recorder into a sanitized process is not possible: no samples/inventory part"
  finish
fi
APP=$B/samples/inventory
[ -x "$APP" ] || { fail "$APP not built"; finish; }
(cd "$W" && "$B/recorder/tmrun" --peak -o inv.tms -- "$APP" > /dev/null 2>&1) || fail "inventory under tmrun exited with $?"
"$T/tmexport" pprof "$W/inv.peak.tms" -o "$W/inv.pb.gz" 2> /dev/null || fail "tmexport pprof inv.peak.tms exited with $?"
if decode "$W/inv.pb.gz" "$W/inv.txt"; then
  totals_match "inventory at the peak" "$W/inv.peak.tms" "$W/inv.txt"
  stats_match "inventory at the peak" "$W/inv.peak.tms" "$W/inv.txt"
  $CHECK leaf-lines "$W/inv.txt" > "$W/inv.lines"
  for l in 45 47 49 60; do
    check "inventory.cpp:$l is a leaf line" grep -q "/samples/inventory.cpp,$l," "$W/inv.lines"
  done
  # Besides the program's lines only the runtime's own allocations (libstdc++'s
  # exception pool, no frame of the program), named as tmstat names them.
  check "no leaf line outside inventory.cpp but the runtime's own" \
    test -z "$(grep -v -e '/samples/inventory.cpp,' -e '^/lib/x86_64-linux-gnu/libstdc++.so.6+0x' "$W/inv.lines")"
  $CHECK inline "$W/inv.txt" > "$W/inv.inline"
  # clang names the inlined function by its linkage name, gcc by DW_AT_name.
  check "load_batch inlined into main: Lines innermost first" \
    grep -qE '^(\(anonymous namespace\)::)?load_batch(\(int\))? .*/samples/inventory\.cpp:49 <- main .*/samples/inventory\.cpp:127$' "$W/inv.inline"
  check "no system header or runtime frame anywhere in the profile" \
    test -z "$(grep -e '/usr/include' -e 'include/c++' -e 'operator new' "$W/inv.txt")"
  check "mapping with the program's build-id" \
    grep -q "\"$(readelf -n "$APP" | awk '/Build ID/ { print $3 }')\"" "$W/inv.txt"
fi
"$T/tmexport" pprof "$W/inv.peak.tms" --as-recorded -o "$W/invr.pb.gz" 2> /dev/null
if decode "$W/invr.pb.gz" "$W/invr.txt"; then
  totals_match "inventory --as-recorded" "$W/inv.peak.tms" "$W/invr.txt"
  check "--as-recorded keeps the runtime's frames" grep -q -e 'operator new' -e 'include/c++' "$W/invr.txt"
fi
LONG=$(printf 'x%.0s' $(seq 3000))
(cd "$W" && "$B/recorder/tmrun" -o long.tms -- /bin/echo "$LONG" > /dev/null 2>&1) || fail "echo under tmrun exited with $?"
"$T/tmexport" pprof "$W/long.tms" -o "$W/long.pb.gz" 2> /dev/null
decode "$W/long.pb.gz" "$W/long.txt" &&
  check "a 3000-byte argv entry is kept whole in the comments" grep -qx "argv\[1\]: $LONG" <($CHECK comments "$W/long.txt")
if [ -n "$PPROF" ]; then
  pprof_top "inventory at the peak" "$W/inv.pb.gz" "$W/inv.peak.tms"
  # pprof -diff_base of two profiles and our one diff profile agree.
  "$T/tmexport" pprof "$W/inv.tms" -o "$W/exit.pb.gz" 2> /dev/null
  "$T/tmexport" pprof "$W/inv.tms" "$W/inv.peak.tms" -o "$W/d.pb.gz" 2> /dev/null
  HOME=$W "$PPROF" -top -nodefraction=0 -nodecount=1000000 -unit=B -diff_base "$W/exit.pb.gz" "$W/inv.pb.gz" 2> /dev/null |
    sed -n '/flat%/,$p' > "$W/theirs"
  HOME=$W "$PPROF" -top -nodefraction=0 -nodecount=1000000 -unit=B "$W/d.pb.gz" 2> /dev/null |
    sed -n '/flat%/,$p' > "$W/ours"
  check "our diff profile's -top is pprof -diff_base's" diff "$W/theirs" "$W/ours"
  check "the diff is not empty" test "$(wc -l < "$W/ours")" -gt 2
fi
finish
