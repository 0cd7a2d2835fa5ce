#!/bin/bash
# Each tool's options are written in several places: the getopt_long table in
# its source, its --help, its man page (doc/man/TOOL.1), and examples in the
# docs.  They must agree, so that none can fall behind the others:
#   - the long options of the source's table and the options of --help's
#     option list are the same (short ones: the optstring);
#   - --help's option list and the man page's OPTIONS are the same, long and
#     short, both ways;
#   - every option in the --help usage lines and the man SYNOPSIS is in the
#     list of its own document;
#   - the option list of tools/common/report.h (the tmstat/tmdiff manual) is
#     the set of tmstat's options, --help aside;
#   - every option in a command line of an example (README.md, doc/*.md,
#     samples/ci/README.md, the man pages' EXAMPLES) is one the tool takes.
# Each failure names the tool, the option and the two places that disagree.
set -u
: "${TM_BUILD_DIR:=$PWD}"
: "${TM_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
exec python3 - "$TM_BUILD_DIR" "$TM_SOURCE_DIR" <<'PY'
import glob, os, re, subprocess, sys

build, src = sys.argv[1], sys.argv[2]
TOOLS = ["tminfo", "tmstat", "tmdiff", "tmsym", "tmconv", "tmexport", "tmmerge", "tmrun"]
SOURCE = {"tmstat": "tools/common/report.c", "tmdiff": "tools/common/report.c",
          "tmrun": "recorder/tmrun.c"}
OPT = re.compile(r"^(-[A-Za-z0-9]|--[a-z][a-z0-9-]*)$")
MENTION = re.compile(r"(?<![\w./-])(--[a-z][a-z0-9-]*|-[A-Za-z0-9])(?![\w-])")
fails = []

def fail(msg):
    fails.append(msg)
    print("FAIL: " + msg)

def leading_options(text):
    """'-o, --output FILE  write...' -> {'-o', '--output'}: the option names
    a list entry starts with, joined by ', '; descriptions are not read."""
    out = set()
    for tok in text.split():
        name = tok.rstrip(",").split("=")[0]
        if not OPT.match(name):
            break
        out.add(name)
        if not tok.endswith(","):
            break
    return out

def roff_text(s):
    s = re.sub(r"\\f[BIRP]", "", s).replace("\\-", "-").replace("\\e", "\\")
    s = s.replace("\\&", "").replace('"', "")
    return re.sub(r"^\.(B|BI|BR|I|IR|IB|RB)\s+", "", s)

def sections(page):
    secs, cur = {}, None
    for line in page.splitlines():
        if line.startswith(".SH"):
            cur = line[3:].strip().strip('"').split()[0] if line[3:].strip() else ""
            secs.setdefault(cur, [])
        elif cur is not None:
            secs[cur].append(line)
    return secs

def command_lines(lines, tool):
    """Options on example command lines that run `tool`, up to what is no
    longer its own: PROGRAM's arguments after '--', a pipe, a comment."""
    out = set()
    for line in lines:
        for m in re.finditer(r"(?:^|[\s`$(])" + tool + r"(?=\s)([^`|#;&\n]*)", line):
            rest = re.split(r"\s--(?:\s|$)", m.group(1))[0]
            out |= set(MENTION.findall(rest))
    return out

def show(s):
    return " ".join(sorted(s)) or "(none)"

accepted = {}
built = 0
for tool in TOOLS:
    bins = [p for p in (f"{build}/tools/{tool}", f"{build}/recorder/{tool}") if os.access(p, os.X_OK)]
    if not bins:
        print(f"note: {tool} is not built here; not checked")
        continue
    built += 1
    r = subprocess.run([bins[0], "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{tool}: --help exits with {r.returncode}")
    help_lines = r.stdout.splitlines()
    hopts, husage, in_usage = set(), set(), False
    for line in help_lines:
        if line.startswith("usage:"):
            in_usage = True
        elif not line.strip() or re.match(r"^ {1,8}-", line):
            in_usage = False
        if in_usage:
            husage |= set(MENTION.findall(line.split(":", 1)[1] if line.startswith("usage:") else line))
        elif re.match(r"^ {1,8}-", line):
            hopts |= leading_options(line)
    accepted[tool] = hopts
    if not hopts:
        fail(f"{tool}: --help lists no options")
    for o in sorted(husage - hopts):
        fail(f"{tool}: {o} is in the usage line of --help but not in its option list")

    path = SOURCE.get(tool, f"tools/{tool}.c")
    code = open(os.path.join(src, path), encoding="utf-8").read()
    table = {"--" + n for n in re.findall(r'\{\s*"([a-z][a-z0-9-]*)",\s*(?:no|required|optional)_argument', code)}
    shorts = set()
    for s in re.findall(r'getopt_long\s*\([^;]*?"([^"]*)"', code):
        shorts |= {"-" + ch for ch in s if ch.isalnum()}
    if not table:
        fail(f"{tool}: no getopt_long option table found in {path}")
    hl = {o for o in hopts if o.startswith("--")}
    hs = hopts - hl
    for o in sorted(table - hl):
        fail(f"{tool}: {o} is accepted ({path}) but not in --help")
    for o in sorted(hl - table):
        fail(f"{tool}: {o} is in --help but not accepted ({path})")
    for o in sorted(shorts - hs):
        fail(f"{tool}: {o} is accepted ({path}) but not in --help")
    for o in sorted(hs - shorts):
        fail(f"{tool}: {o} is in --help but not accepted ({path})")

    mpath = f"doc/man/{tool}.1"
    try:
        page = open(os.path.join(src, mpath), encoding="utf-8").read()
    except OSError:
        fail(f"{tool}: no man page {mpath}")
        continue
    secs = sections(page)
    mopts = set()
    lines = secs.get("OPTIONS", [])
    for i, line in enumerate(lines):
        if line.startswith(".TP") and i + 1 < len(lines):
            mopts |= leading_options(roff_text(lines[i + 1]))
    for o in sorted(hopts - mopts):
        fail(f"{tool}: {o} is in --help but not in {mpath} OPTIONS")
    for o in sorted(mopts - hopts):
        fail(f"{tool}: {o} is in {mpath} OPTIONS but not in --help")
    msyn = set()
    for line in secs.get("SYNOPSIS", []):
        msyn |= set(MENTION.findall(roff_text(line)))
    for o in sorted(msyn - mopts):
        fail(f"{tool}: {o} is in the {mpath} SYNOPSIS but not in its OPTIONS")
    examples = [roff_text(l) for l in secs.get("EXAMPLES", []) if not l.startswith(".")]
    for o in sorted(command_lines(examples, tool) - hopts):
        fail(f"{tool}: {o} is used in the {mpath} EXAMPLES but not an option of {tool}")

if built == 0:
    print("SKIP: no tool is built in " + build)
    sys.exit(77)

if "tmstat" in accepted:
    manual = "tools/common/report.h"
    ropts = set()
    for line in open(os.path.join(src, manual), encoding="utf-8"):
        m = re.match(r"^ \*( {1,4}-.*)", line)
        if m:
            ropts |= leading_options(m.group(1))
    want = accepted["tmstat"] - {"-h", "--help"}
    for o in sorted(want - ropts):
        fail(f"tmstat: {o} is in --help but not in the option list of {manual}")
    for o in sorted(ropts - want):
        fail(f"tmstat: {o} is in the option list of {manual} but not in --help")

docs = ["README.md", "samples/ci/README.md"] + sorted(
    os.path.relpath(p, src) for p in glob.glob(os.path.join(src, "doc", "*.md")))
for doc in docs:
    p = os.path.join(src, doc)
    if not os.path.exists(p):
        continue
    lines = open(p, encoding="utf-8").read().splitlines()
    for tool, opts in accepted.items():
        for o in sorted(command_lines(lines, tool) - opts):
            fail(f"{tool}: {o} is used in {doc} but not an option of {tool}")

if fails:
    print(f"options_doc: {len(fails)} disagreements")
    sys.exit(1)
print(f"options_doc: ok ({built} tools)")
PY
