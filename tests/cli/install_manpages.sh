#!/bin/bash
# Every tool has a man page (doc/man/TOOL.1) that renders without warnings and
# mentions every long option its --help prints, so the pages cannot silently
# fall behind the tools.
set -euo pipefail
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
for tool in tminfo tmstat tmdiff tmconv tmsym tmexport tmmerge tmrun; do
    page=$TM_SOURCE_DIR/doc/man/$tool.1
    if [ ! -s "$page" ]; then
        fail "no man page for $tool ($page)"
        continue
    fi
    if command -v man > /dev/null; then
        warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null || true)
    else
        warn=""
        echo "note: man(1) is not installed: $tool.1 was not rendered"
    fi
    if [ -n "$warn" ]; then
        fail "$tool.1 renders with warnings: $warn"
    fi
    bin=$(ls "$TM_BUILD_DIR/tools/$tool" "$TM_BUILD_DIR/recorder/$tool" 2>/dev/null | head -1 || true)
    if [ -z "$bin" ]; then
        echo "note: $tool is not built here; only the page itself was checked"
        continue
    fi
    missing=$(python3 - "$bin" "$page" <<'PY'
import re, subprocess, sys
r = subprocess.run([sys.argv[1], "--help"], capture_output=True, text=True)
helptext = r.stdout + r.stderr
roff = open(sys.argv[2], encoding="utf-8").read()
roff = re.sub(r"\\f[BIRP]", "", roff).replace("\\-", "-").replace("\\e", "\\").replace("\\&", "")
opts = sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", helptext)))
print(" ".join(o for o in opts if o not in roff))
PY
)
    if [ -n "$missing" ]; then
        fail "$tool.1 lacks options that '$tool --help' prints: $missing"
    else
        pass "$tool.1 renders cleanly and covers every option of $tool --help"
    fi
done
finish
