#!/bin/bash
# The command-line rules every tool shares (tools/common/tool_cli.h): options
# and operands in any order (also under POSIXLY_CORRECT), --opt=VALUE,
# unambiguous abbreviations, '--', usage errors with exit 2 naming the
# option, and tmrun leaving PROGRAM's arguments alone.
set -u
B=${TM_BUILD_DIR:-$PWD}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect STATUS TEXT COMMAND...: exit STATUS and TEXT in stdout+stderr
expect() {
    local want=$1 text=$2 got=0
    shift 2
    "$@" >"$W/out" 2>&1 || got=$?
    [ "$got" = "$want" ] || { fail "$*: exit $got, want $want"; cat "$W/out"; return; }
    [ -z "$text" ] || grep -qF -- "$text" "$W/out" || { fail "$*: no '$text' in:"; cat "$W/out"; }
}
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
python3 -c '
import sys, tracemalloc as t
t.Snapshot([(0, 100, (("a.py", 1),), 1), (0, 50, (("b.py", 2),), 1)], 5).dump(sys.argv[1] + "/a.dump")
t.Snapshot([(0, 900, (("a.py", 1),), 1)], 5).dump(sys.argv[1] + "/b.dump")' "$W"
A=$W/a.dump
Bd=$W/b.dump
S=$B/tools/tmstat
D=$B/tools/tmdiff

# Operands anywhere, the same output every way.
"$S" "$A" --top 1 --no-header >"$W/ref" 2>&1 || fail "tmstat A --top 1"
for args in "--top 1 --no-header $A" "--top=1 $A --no-header" "--no-header -- $A --top=1"; do
    "$S" $args >"$W/got" 2>&1
    # after '--' --top=1 is an operand: a usage error, not the same output
    case $args in
        *"-- "*) grep -qF "unexpected argument '--top=1'" "$W/got" || fail "tmstat $args: '--' did not end options" ;;
        *) cmp -s "$W/ref" "$W/got" || fail "tmstat $args: not the output of tmstat A --top 1" ;;
    esac
done
POSIXLY_CORRECT=1 "$S" "$A" --top 1 --no-header >"$W/got" 2>&1
cmp -s "$W/ref" "$W/got" || fail "POSIXLY_CORRECT changes where options may be"
expect 0 "" "$S" "$A" --to 1 --no-h          # abbreviations
expect 2 "is ambiguous" "$S" "$A" --f json
expect 2 "option '--cumulative' takes no value" "$S" "$A" --cumulative=yes
expect 2 "option '--by' needs a value" "$S" "$A" --by
expect 2 "unknown option '--bogus'" "$S" "$A" --bogus=1
expect 2 "unknown option '-x'" "$S" "$A" -x
expect 2 "unexpected argument" "$S" "$A" "$A"
expect 2 "tmdiff's gate" "$S" "$A" --fail-on-growth 1
expect 1 "gate failed" "$D" "$A" "$Bd" --fail-on=512
expect 1 "gate failed" "$D" --fail-on-growth 512 -- "$A" "$Bd"
expect 0 "" "$D" "$A" "$Bd" --limit -1 --by traceback   # a value may start with '-'

expect 0 "" "$B/tools/tminfo" "$A" --traces
expect 2 "unknown option '--bogus'" "$B/tools/tminfo" "$A" --bogus
[ -s "$W/out" ] && ! grep -q "Python tracemalloc" "$W/out" || fail "tminfo printed a file before refusing an option"

expect 0 "" "$B/tools/tmconv" --to=tms "$A" "$W/c.tms"
expect 0 "" "$B/tools/tmconv" "$A" -- "$W/c2.tms"
expect 2 "--to needs a value" "$B/tools/tmconv" "$A" "$W/c3.tms" --to
expect 2 "unexpected argument 'x'" "$B/tools/tmconv" "$A" "$W/c3" x

expect 0 "" "$B/tools/tmexport" folded "$A" --count -o "$W/f.txt"
POSIXLY_CORRECT=1 expect 0 "" "$B/tools/tmexport" folded "$A" -o "$W/f2.txt"
[ -s "$W/f2.txt" ] || fail "tmexport under POSIXLY_CORRECT did not take -o after the SNAPSHOT"
expect 2 "option '-o' needs a value" "$B/tools/tmexport" folded "$A" -o

expect 2 "expected an IN.tms" "$B/tools/tmsym"
expect 2 "more than one input" "$B/tools/tmsym" a b
expect 2 "--lookup takes only BINARY" "$B/tools/tmsym" --lookup "$B/tools/tmsym" -q 0x0
expect 2 "needs a value" "$B/tools/tmsym" --lookup

R=$B/recorder/tmrun
if [ -x "$R" ] && [ "${TM_SANITIZE:-0}" != 1 ]; then
    # PROGRAM's options are its own, with and without '--'.
    expect 0 "" "$R" -o "$W/r.tms" printf '%s|' -n --peak -o x
    [ "$(cat "$W/out")" = "-n|--peak|-o|x|" ] || fail "tmrun passed PROGRAM's arguments as: $(cat "$W/out")"
    expect 0 "" "$R" --output="$W/r2.tms" --nframe=4 -- printf '%s|' --help
    [ "$(cat "$W/out")" = "--help|" ] || fail "tmrun -- PROGRAM --help: $(cat "$W/out")"
    [ -s "$W/r2.tms" ] || fail "tmrun --output= wrote nothing"
    POSIXLY_CORRECT=1 expect 0 "" "$R" -o "$W/r3.tms" printf '%s|' -n x
    [ "$(cat "$W/out")" = "-n|x|" ] || fail "tmrun under POSIXLY_CORRECT: $(cat "$W/out")"
    expect 2 "unknown option '--bogus'" "$R" --bogus -- true
    expect 2 "option '-n' needs a value" "$R" -n
    expect 2 "no PROGRAM given" "$R" -o "$W/r4.tms"
else
    echo "note: tmrun not run (not built, or a sanitizer build: LD_PRELOAD cannot work)"
fi

if [ "$fails" != 0 ]; then echo "cli_parsing: $fails failures"; exit 1; fi
echo "cli_parsing: ok"
