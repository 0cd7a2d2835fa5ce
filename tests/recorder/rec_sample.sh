#!/bin/bash
# tmrun --sample end to end: a program of sites with known live totals
# (rec_sample.c) recorded through LD_PRELOAD at 64 KiB; its .tms read back
# (the rate from the file) and every site's estimate within 4 standard
# errors of the truth; the same with --peak and --interval (valid numbered
# and peak snapshots, all sampled), with --follow-fork (the child's own
# sampled file), and the errors of --sample and TM_SAMPLE.
set -u
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/tmtest.bash"
B=$TM_BUILD_DIR
T=$B/tools
R=$B/tests/recorder
if [ "$TM_SANITIZE" = 1 ]; then
  skip_test "LD_PRELOAD of the recorder into a sanitized process is not possible;" \
       "recorder.sample_sites runs the same sites linked"
fi
W=$TM_WORK
cd "$W"

check_exit "tmrun --sample 64KiB" 0 \
    "$B/recorder/tmrun" --sample 64KiB -o "$W/s.tms" -- "$R/rec_sample_plain" plain "$W/truth"
check_exit "every site within 4 standard errors (read from s.tms)" 0 \
    "$R/rec_sample" check "$W/s.tms" "$W/truth"
cat "$W/out"
"$T/tminfo" "$W/s.tms" > "$W/info" 2>&1
expect_in "tminfo names the rate" "$W/info" "sample rate     65536 B"

# --peak and --interval: every snapshot valid and sampled at the same rate.
check_exit "tmrun --sample --peak --interval" 0 \
    "$B/recorder/tmrun" --sample 64KiB --peak --interval 0.02 -o "$W/p.tms" -- \
    "$R/rec_sample_plain" plain "$W/truth2"
check_exit "the exit snapshot of the --peak run" 0 "$R/rec_sample" check "$W/p.tms" "$W/truth2"
[ -f "$W/p.peak.tms" ] && pass || fail "no p.peak.tms"
ls "$W"/p.[0-9]*.tms > /dev/null 2>&1 && pass || fail "no numbered snapshot (--interval 0.02)"
for f in "$W"/p.peak.tms "$W"/p.[0-9]*.tms; do
  [ -f "$f" ] || continue
  check_exit "tminfo $(basename "$f")" 0 "$T/tminfo" "$f"
  expect_in "$(basename "$f") is sampled at 64 KiB" "$W/out" "sample rate     65536 B"
  check_exit "tmstat $(basename "$f")" 0 "$T/tmstat" "$f" --top 3
done
# The peak set: at the estimated peak, every site was allocated (the sites
# only grow; the churn runs last, with at most 64 blocks live).
check_exit "tminfo p.peak.tms trigger" 0 "$T/tminfo" "$W/p.peak.tms"
expect_in "the peak snapshot's trigger" "$W/out" "peak"

# --follow-fork: the child that execs the program writes its own sampled file.
check_exit "tmrun --sample --follow-fork" 0 \
    "$B/recorder/tmrun" --sample 64KiB --follow-fork -o "$W/f.tms" -- \
    /bin/sh -c "\"$R/rec_sample_plain\" plain \"$W/truth3\"; true"
child=$(ls "$W"/f.[0-9]*.tms 2> /dev/null | head -1)
if [ -n "$child" ]; then
  check_exit "the followed child's sites within 4 standard errors" 0 \
      "$R/rec_sample" check "$child" "$W/truth3"
else
  fail "no file of the followed child (f.PID.tms)"
fi

# --signal and --crash: the snapshots they write are sampled too (python3:
# a program nobody here wrote, 10 MB of bytes objects live).
PY='import os, signal, time, sys
keep = [bytes(1000) for _ in range(10000)]
if sys.argv[1] == "signal": os.kill(os.getpid(), signal.SIGUSR2); time.sleep(0.3)
if sys.argv[1] == "crash": os.kill(os.getpid(), signal.SIGSEGV)'
check_exit "tmrun --sample --signal USR2" 0 \
    "$B/recorder/tmrun" --sample 64KiB --signal USR2 -o "$W/sig.tms" -- python3 -I -S -c "$PY" signal
sig=$(ls "$W"/sig.[0-9]*.tms 2> /dev/null | head -1)
if [ -n "$sig" ]; then
  "$T/tminfo" "$sig" > "$W/info_sig" 2>&1
  expect_in "the SIGUSR2 snapshot is sampled at 64 KiB" "$W/info_sig" "sample rate     65536 B"
  expect_in "the SIGUSR2 snapshot's trigger" "$W/info_sig" "signal"
else
  fail "no snapshot for SIGUSR2 (sig.N.tms)"
fi
"$B/recorder/tmrun" --sample 64KiB --crash -o "$W/crash.tms" -- python3 -I -S -c "$PY" crash \
    > /dev/null 2> "$W/err_crash"
rc=$?
[ "$rc" -ne 0 ] && pass "python3 still dies of its SIGSEGV under --sample --crash" ||
    fail "--crash: exit status 0"
"$T/tminfo" "$W/crash.tms" > "$W/info_crash" 2>&1
expect_in "the crash snapshot is sampled at 64 KiB" "$W/info_crash" "sample rate     65536 B"
expect_in "the crash snapshot's trigger" "$W/info_crash" "crash"
"$T/tmstat" "$W/crash.tms" --top 0 --format json > "$W/crash.json" 2> /dev/null
# 10 000 blocks of ~1 KB are about 10 MB: the estimate of the total is near
# it (a loose bound: the rest of the interpreter adds a few MB).
python3 - "$W/crash.json" <<'PYEOF' && pass "the crash snapshot's estimated total is 8-40 MB" ||
import json, sys
d = json.load(open(sys.argv[1]))
t = d.get("total_size", d.get("total", {}).get("size") if isinstance(d.get("total"), dict) else None)
sys.exit(0 if t and 8e6 <= t <= 40e6 else 1)
PYEOF
    fail "the crash snapshot's estimated total is not 8-40 MB: $(head -c 300 "$W/crash.json")"

# Errors: tmrun refuses a bad SIZE with exit 2 and says why.
for bad in 12kB abc 0 "" 1.5.5 -3; do
  check_exit "--sample '$bad'" 2 "$B/recorder/tmrun" --sample "$bad" -- /bin/true
  expect_in "--sample '$bad' says what is wrong" "$W/err" "tmrun: --sample: '$bad'"
done
check_exit "--sample without a value" 2 "$B/recorder/tmrun" --sample
expect_in "12kB: ambiguous" <("$B/recorder/tmrun" --sample 12kB -- /bin/true 2>&1) "ambiguous"
# TM_SAMPLE without tmrun: a bad value is reported and every block traced.
LD_PRELOAD="$B/recorder/libtmrecorder.so" TM_OUTPUT="$W/e.tms" TM_SAMPLE=12kB \
    "$R/rec_sample_plain" plain "$W/truth4" 2> "$W/err4"
expect_in "TM_SAMPLE=12kB is reported" "$W/err4" "tmrecorder: TM_SAMPLE: '12kB': kB, MB, GB, TB are ambiguous"
expect_in "TM_SAMPLE=12kB: tracing every allocation" "$W/err4" "tracing every allocation"
"$T/tminfo" "$W/e.tms" > "$W/info4" 2>&1
grep -q "sample rate" "$W/info4" && fail "TM_SAMPLE=12kB: e.tms is sampled" || pass
LD_PRELOAD="$B/recorder/libtmrecorder.so" TM_OUTPUT="$W/g.tms" TM_SAMPLE=64KiB \
    "$R/rec_sample_plain" plain "$W/truth5" 2> "$W/err5"
check_exit "TM_SAMPLE=64KiB without tmrun: sites within 4 standard errors" 0 \
    "$R/rec_sample" check "$W/g.tms" "$W/truth5"
finish
