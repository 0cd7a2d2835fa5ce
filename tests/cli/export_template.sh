#!/bin/bash
# The flame graph page lives in formats/src/export/export_flame.html (readable, editable)
# and is compiled in from formats/src/export/export_flame_html.h.  This test fails when
# the two differ; `bash tests/cli/export_template.sh --update` regenerates the header.
set -euo pipefail
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
html=$TM_SOURCE_DIR/formats/src/export/export_flame.html
hdr=$TM_SOURCE_DIR/formats/src/export/export_flame_html.h
gen=$TM_WORK/export_flame_html.h
python3 - "$html" > "$gen" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
pieces = re.split(r"@(TITLE|SUBTITLE|DATA)@", text)
parts, slots = pieces[0::2], pieces[1::2]
def lit(s):
    out = []
    for line in s.splitlines(keepends=True):
        e = line.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("??", "?\\?")
        out.append('    "%s"' % e)
    return "\n".join(out) if out else '    ""'
print("/* Generated from export_flame.html by tests/cli/export_template.sh --update;")
print(" * do not edit by hand.  The page is parts[0], slot[0], parts[1], ... */")
print("#ifndef TM_EXPORT_FLAME_HTML_H")
print("#define TM_EXPORT_FLAME_HTML_H")
print("enum { EX_SLOT_TITLE, EX_SLOT_SUBTITLE, EX_SLOT_DATA };")
print("static const char *const ex_flame_parts[] = {")
print(",\n".join(lit(p) for p in parts))
print("};")
print("static const int ex_flame_slots[] = { %s };" % ", ".join("EX_SLOT_" + s for s in slots))
print("#define EX_FLAME_NPARTS %d" % len(parts))
print("#endif")
PY
if [ "${1:-}" = "--update" ]; then
    cp "$gen" "$hdr"
    echo "updated $hdr"
    exit 0
fi
up_to_date() {
    diff -q "$gen" "$hdr" >/dev/null && return 0
    echo "$hdr is out of date with $html; run: bash tests/cli/export_template.sh --update" >&2
    diff "$gen" "$hdr" | head -20 >&2
    return 1
}
check "flame graph template header matches export_flame.html" up_to_date
finish
