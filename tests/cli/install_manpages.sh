#!/bin/bash
# Every tool has a man page (doc/man/TOOL.1) that renders without warnings and
# mentions every long option its --help prints, so the pages cannot silently
# fall behind the tools.
set -euo pipefail
: "${TM_BUILD_DIR:=$PWD}"
: "${TM_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
fails=0
for tool in tminfo tmstat tmdiff tmconv tmsym tmexport tmrun; do
    page=$TM_SOURCE_DIR/doc/man/$tool.1
    if [ ! -s "$page" ]; then
        echo "FAIL: no man page for $tool ($page)" >&2
        fails=$((fails + 1))
        continue
    fi
    if command -v man > /dev/null; then
        warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null || true)
    else
        warn=""
        echo "note: man(1) is not installed: $tool.1 was not rendered"
    fi
    if [ -n "$warn" ]; then
        echo "FAIL: $tool.1 renders with warnings: $warn" >&2
        fails=$((fails + 1))
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
        echo "FAIL: $tool.1 lacks options that '$tool --help' prints: $missing" >&2
        fails=$((fails + 1))
    else
        echo "ok: $tool.1 renders cleanly and covers every option of $tool --help"
    fi
done
[ "$fails" -eq 0 ] || { echo "$fails page(s) failed" >&2; exit 1; }
echo "all checks passed"
