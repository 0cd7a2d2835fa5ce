#!/bin/bash
# tmstat / tmdiff versus python3's tracemalloc on random snapshots (see
# analysis_oracle.py).  A fixed seed every run, plus one fresh seed that is
# printed so that a failure can be replayed:
#   python3 analysis_oracle.py --build-dir BUILD --seed SEED --keep
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
here=$(cd "$(dirname "$0")" && pwd)
build=$TM_BUILD_DIR
command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
check "500 random cases equal python3's tracemalloc (seed 20261125)" \
    python3 "$here/analysis_oracle.py" --build-dir "$build" --seed 20261125 --cases 500
fresh=${TM_DIFF_SEED:-$(date +%s)}
check "150 random cases equal python3's tracemalloc (fresh seed $fresh; TM_DIFF_SEED=$fresh replays it)" \
    python3 "$here/analysis_oracle.py" --build-dir "$build" --seed "$fresh" --cases 150
finish
