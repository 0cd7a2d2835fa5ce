#!/bin/bash
# Records a test run with tmkit and fails when its memory grew compared to a
# baseline snapshot (e.g. the main branch's, downloaded as a CI artifact).
# See samples/ci/README.md; `run-memory-check.sh --help` for the options.
set -u

usage() {
    cat <<'EOF'
usage: run-memory-check.sh [options] [-- PROGRAM [ARGS...]]

Records PROGRAM with tmrun (default: the bundled workload.c, compiled with
$CC -g -O0), symbolizes the snapshot so that it opens on any machine, prints
its top lines, and compares it with a baseline snapshot.

  -b, --baseline FILE      the baseline snapshot (.tms or Python dump)       [$MEMORY_BASELINE]
      --allow-missing-baseline
                           a baseline FILE that does not exist is a first run:
                           record, note it, and pass                [$MEMORY_ALLOW_MISSING_BASELINE=1]
  -o, --output FILE        the snapshot to write (default memory.tms)       [$MEMORY_OUTPUT]
      --snapshot FILE      do not record: check this existing snapshot
  -t, --threshold SIZE     fail if the total grew by more than SIZE: bytes,
                           KiB/MiB/GiB, or N% of the baseline (default 5%)   [$MEMORY_THRESHOLD]
      --min-growth SIZE    growth of SIZE or less never fails (default 16KiB) [$MEMORY_MIN_GROWTH]
      --per-group SIZE     also fail if one group (--by) grew by more than SIZE [$MEMORY_PER_GROUP]
      --by KEY             lineno (default), filename, function, module, traceback
      --top N              diff lines printed (default 10)
      --report FILE        JSON report of the comparison (default: OUTPUT with
                           .json instead of .tms; with --per-group also
                           FILE-stem.per-group.json); schema: doc/report-schema.json
  -h, --help               this text

Tools (tmrun, tmsym, tmstat, tmdiff) are taken from $TMKIT_PREFIX/bin when
set, else from PATH.
Exit status: 0 no growth beyond the threshold (or no baseline given, or a
missing one with --allow-missing-baseline), 1 memory grew beyond it, 2 error
(recording failed, baseline missing, bad option).
EOF
}

die() { echo "run-memory-check: error: $*" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
baseline=${MEMORY_BASELINE:-}
allow_missing=${MEMORY_ALLOW_MISSING_BASELINE:-0}
output=${MEMORY_OUTPUT:-memory.tms}
snapshot=
threshold=${MEMORY_THRESHOLD:-5%}
min_growth=${MEMORY_MIN_GROWTH:-16KiB}
per_group=${MEMORY_PER_GROUP:-}
by=lineno
top=10
report=
need() { [ $# -ge 2 ] || die "option '$1' needs a value"; }
while [ $# -gt 0 ]; do
    case "$1" in
        -b|--baseline) need "$@"; baseline=$2; shift 2 ;;
        --allow-missing-baseline) allow_missing=1; shift ;;
        -o|--output) need "$@"; output=$2; shift 2 ;;
        --snapshot) need "$@"; snapshot=$2; shift 2 ;;
        -t|--threshold) need "$@"; threshold=$2; shift 2 ;;
        --min-growth) need "$@"; min_growth=$2; shift 2 ;;
        --per-group) need "$@"; per_group=$2; shift 2 ;;
        --by) need "$@"; by=$2; shift 2 ;;
        --top) need "$@"; top=$2; shift 2 ;;
        --report) need "$@"; report=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; break ;;
        -*) die "unknown option '$1' (see --help)" ;;
        *) break ;;
    esac
done
[ -n "$report" ] || report=${output%.tms}.json
[ "$report" != "$output" ] || report=$output.json

if [ -n "${TMKIT_PREFIX:-}" ]; then
    PATH=$TMKIT_PREFIX/bin:$PATH
fi
for tool in tmstat tmdiff; do
    command -v "$tool" >/dev/null || die "'$tool' not found: install tmkit or set TMKIT_PREFIX"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/memory-check.XXXXXX") || die "cannot create a temporary directory"
trap 'rm -rf "$work"' EXIT

# --- 1. the snapshot of this run ----------------------------------------------
if [ -n "$snapshot" ]; then
    [ -r "$snapshot" ] || die "snapshot '$snapshot' does not exist or is not readable"
    if [ "$snapshot" != "$output" ]; then cp "$snapshot" "$output" || die "cannot write '$output'"; fi
    echo "== using the existing snapshot $snapshot"
else
    for tool in tmrun tmsym; do
        command -v "$tool" >/dev/null || die "'$tool' not found: install tmkit or set TMKIT_PREFIX"
    done
    if [ $# -eq 0 ]; then
        "${CC:-cc}" -g -O0 -o "$work/workload" "$here/workload.c" || die "cannot compile $here/workload.c"
        set -- "$work/workload"
    fi
    echo "== recording: $*"
    tmrun -n 16 -o "$work/raw.tms" -- "$@"
    rc=$?
    [ $rc -eq 0 ] || die "the recorded program failed (exit status $rc): $*"
    [ -s "$work/raw.tms" ] || die "tmrun wrote no snapshot"
    # Symbolize now, while the binaries are here: the artifact then opens on
    # any machine, and compares by file and line with a baseline built elsewhere.
    tmsym -q "$work/raw.tms" -o "$output" || die "tmsym failed on the recorded snapshot"
fi
echo "== $output: top allocations (by $by)"
tmstat "$output" --by "$by" --top "$top" || die "cannot read '$output'"

# --- 2. the baseline ----------------------------------------------------------
if [ -z "$baseline" ]; then
    echo "== no baseline given: recorded $output only (keep it as the next baseline)"
    exit 0
fi
if [ ! -e "$baseline" ]; then
    if [ "$allow_missing" = 1 ]; then
        echo "== first run: baseline '$baseline' does not exist; nothing to compare (pass)"
        exit 0
    fi
    die "baseline '$baseline' does not exist (download the main branch's snapshot first, or pass --allow-missing-baseline for a first run)"
fi

# --- 3. compare and gate ------------------------------------------------------
echo "== growth from $baseline to $output (by $by)"
tmdiff "$baseline" "$output" --by "$by" --top "$top" || die "tmdiff failed"
status=0
gate() {   # gate JSON-FILE TMDIFF-GATE-OPTIONS...
    local out=$1
    shift
    tmdiff "$baseline" "$output" --by "$by" --top 0 --format json "$@" >"$out"
    local rc=$?
    [ $rc -le 1 ] || die "tmdiff failed (exit status $rc)"
    [ $rc -eq 0 ] || status=1
}
echo "== gates"
gate "$report" --fail-on-growth "$threshold" --min-growth "$min_growth"
if [ -n "$per_group" ]; then
    gate "${report%.json}.per-group.json" --fail-on-growth "$per_group" --min-growth "$min_growth" --per-group
fi
if [ $status -ne 0 ]; then
    echo "== memory check FAILED: see the gate report above; JSON in $report"
else
    echo "== memory check passed (threshold $threshold, min growth $min_growth${per_group:+, per group $per_group})"
fi
exit $status
