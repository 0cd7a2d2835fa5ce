#!/bin/bash
# tmstat / tmdiff versus python3's tracemalloc on random snapshots (see
# analysis_oracle.py).  A fixed seed every run, plus one fresh seed that is
# printed so that a failure can be replayed:
#   python3 analysis_oracle.py --build-dir BUILD --seed SEED --keep
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${TM_BUILD_DIR:-$PWD}
command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
status=0
python3 "$here/analysis_oracle.py" --build-dir "$build" --seed 20261125 --cases 500 || status=1
fresh=${TM_DIFF_SEED:-$(date +%s)}
python3 "$here/analysis_oracle.py" --build-dir "$build" --seed "$fresh" --cases 150 || status=1
exit $status
