# Sourced by tests/cli/export_*.sh and browser_*.sh: the shared test helpers
# (tests/lib/tmtest.bash: check, finish, the scratch directory WORK), the
# tmexport binary, and export_gen (snapshot builder, built by tests/CMakeLists.txt).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/tmtest.bash"
TMEXPORT=$TM_BUILD_DIR/tools/tmexport
BROWSER_DIR=$TM_SOURCE_DIR/tests/browser
export PYTHONPATH=$BROWSER_DIR${PYTHONPATH:+:$PYTHONPATH}
WORK=$TM_WORK
[ -x "$TMEXPORT" ] || { echo "FAIL: $TMEXPORT not built" >&2; exit 1; }
GEN=$TM_BUILD_DIR/tests/tm_export_gen
[ -x "$GEN" ] || { echo "FAIL: $GEN not built" >&2; exit 1; }
