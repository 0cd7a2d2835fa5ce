#!/bin/bash
# The committed .tms files of tests/golden/vX.Y/ (written once, never
# regenerated: tests/golden/README.md) read by today's tools give exactly
# the output captured when they were written.  A reader or format regression
# fails here with the diff.
#
# Each FILE.tms has expected outputs next to it, one per command:
#   FILE.tminfo.out          tminfo FILE.tms
#   FILE.tminfo-traces.out   tminfo --traces FILE.tms
#   FILE.lineno.out          tmstat FILE.tms --by lineno
#   FILE.traceback.out       tmstat FILE.tms --by traceback
# Every FILE.tms must have at least the tminfo and lineno outputs.
#
# Normalisation, all of it explicit here:
#   - the tools run inside the golden directory on the bare file name, so the
#     name tminfo prints is the same on every machine (no path to rewrite);
#   - TM_SYMBOLIZE=0: the native frames name modules (/usr/bin/app, ...) that
#     a machine may happen to have; the output must not depend on that.
# Nothing else is rewritten: the tool's own version is not printed (the
# "tool version" line is the one stored in the file), and every time shown
# is a time stored in the file.
set -euo pipefail
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
T=$TM_BUILD_DIR/tools
GOLDEN=$TM_SOURCE_DIR/tests/golden
for tool in tminfo tmstat; do
    [ -x "$T/$tool" ] || { fail "$T/$tool is not built"; finish; }
done

run_cmd() {   # run_cmd KIND FILE.tms : the command an expected output belongs to
    case $1 in
        tminfo)        "$T/tminfo" "$2" ;;
        tminfo-traces) "$T/tminfo" --traces "$2" ;;
        lineno)        "$T/tmstat" "$2" --by lineno ;;
        traceback)     "$T/tmstat" "$2" --by traceback ;;
        *)             echo "golden_tms: unknown expected-output kind '$1'" >&2; return 2 ;;
    esac
}

# compare DIR FILE.tms KIND : run the command, diff with FILE.KIND.out
compare() {
    local dir=$1 tms=$2 kind=$3
    local name=${tms%.tms}
    local got=$TM_WORK/got err=$TM_WORK/err rc=0
    (cd "$dir" && TM_SYMBOLIZE=0 run_cmd "$kind" "$tms") >"$got" 2>"$err" || rc=$?
    if [ $rc -ne 0 ]; then
        echo "  exit $rc: $(head -c 300 "$err")" >&2
        return 1
    fi
    if [ -s "$err" ]; then
        echo "  unexpected stderr: $(head -c 300 "$err")" >&2
        return 1
    fi
    if ! diff -u --label "expected $name.$kind.out" --label "got" "$dir/$name.$kind.out" "$got" >&2; then
        return 1
    fi
}

nfiles=0
for dir in "$GOLDEN"/v*/; do
    dir=${dir%/}
    version=$(basename "$dir")
    for path in "$dir"/*.tms; do
        [ -e "$path" ] || continue
        tms=$(basename "$path")
        name=${tms%.tms}
        nfiles=$((nfiles + 1))
        check "$version/$tms has its tminfo and lineno outputs" \
            test -s "$dir/$name.tminfo.out" -a -s "$dir/$name.lineno.out"
        for out in "$dir/$name".*.out; do
            [ -e "$out" ] || continue
            kind=${out#"$dir/$name".}
            kind=${kind%.out}
            check "$version/$tms: $kind output unchanged" compare "$dir" "$tms" "$kind"
        done
    done
done
check "golden files found (at least 6)" test "$nfiles" -ge 6
finish
