#!/bin/bash
# I/O faults for every tool that writes a file (tmconv to .tms and to a
# Python dump, tmsym -o, tmexport folded/flamegraph -o) and for readers fed
# short reads: a clear message naming the path, exit 2, an existing file at
# the output path left byte-identical, and no temporary file left behind.
#   disk full    a 64 KiB tmpfs holding the old file; a device node like
#                /dev/full (made with mknod in the test directory, so that a
#                writer that renames over its target cannot destroy the real
#                /dev/full)
#   read-only    a tmpfs remounted read-only (root ignores permissions)
#   directory    the output path is a directory
#   FIFO out     a .tms written into a FIFO arrives whole
#   short reads  input from a FIFO fed in slow pieces works; one whose writer
#                stops half way fails cleanly
# Skips (mount or mknod refused) are printed as SKIP lines.
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/fault/fault_lib.bash"
T=$B/tools
FW=$(fault_writer_bin) || { echo "FAIL: cannot build fault_writer"; exit 1; }

"$FW" once "$W/big.tms" 0 20000 || { echo "FAIL: fault_writer once"; exit 1; }
"$T/tmconv" "$S/tests/fixtures/python/proto4.pickle" "$W/small.tms" ||
    { echo "FAIL: tmconv of a fixture"; exit 1; }
"$T/tmconv" "$W/small.tms" "$W/small.pickle" --to python ||
    { echo "FAIL: tmconv to python"; exit 1; }
[ "$(stat -c %s "$W/big.tms")" -gt 70000 ] || fail "big.tms is too small to fill 64 KiB"

# writer NAME OUTPUT : runs one writing tool with output path OUTPUT.
writer() {
    case $1 in
        conv-tms)    "$T/tmconv" "$W/big.tms" "$2" --to tms ;;
        conv-python) "$T/tmconv" "$W/big.tms" "$2" --to python ;;
        sym)         "$T/tmsym" -q "$W/big.tms" -o "$2" ;;
        folded)      "$T/tmexport" folded "$W/big.tms" -o "$2" --no-progress ;;
        flamegraph)  "$T/tmexport" flamegraph "$W/big.tms" -o "$2" --no-progress ;;
    esac
}
WRITERS="conv-tms conv-python sym folded flamegraph"

# Each writer must work at all before its faults mean anything.
for w in $WRITERS; do
    writer $w "$W/ok.$w" >/dev/null 2>"$W/err" && [ -s "$W/ok.$w" ] && pass ||
        fail "$w: cannot write a normal file: $(head -c 300 "$W/err")"
done

# entries DIR : the directory's entries, one per line (temp files included)
entries() { ls -A "$1" | sort; }

# intact NAME DIR : DIR still holds exactly old.tms, byte-identical to small.tms
intact() {
    if ! cmp -s "$2/old.tms" "$W/small.tms"; then
        fail "$1: the existing file was changed"
    elif [ "$(entries "$2")" != "old.tms" ]; then
        fail "$1: files left behind: $(entries "$2" | tr '\n' ' ')"
    else
        pass
    fi
}

# --- disk full: a 64 KiB tmpfs ----------------------------------------
if mount_tmpfs "$W/full" size=64k; then
    for w in $WRITERS; do
        cp "$W/small.tms" "$W/full/old.tms"
        NEEDLE="$W/full/old.tms" expect_exit2 "$w on a full disk" writer $w "$W/full/old.tms"
        grep -qi "space" "$W/err" || fail "$w on a full disk: message does not say the disk is full: $(head -c 200 "$W/err")"
        intact "$w on a full disk" "$W/full"
        rm -f "$W/full/"* "$W/full/".[!.]* 2>/dev/null
    done
else
    skip "disk full on tmpfs: mount -t tmpfs -o size=64k failed: $(cat "$W/mount.err")"
fi

# --- disk full: a device node like /dev/full --------------------------
if mknod "$W/devfull" c 1 7 2>"$W/mknod.err"; then
    for w in $WRITERS; do
        NEEDLE="$W/devfull" expect_exit2 "$w to a /dev/full node" writer $w "$W/devfull"
        if [ ! -c "$W/devfull" ]; then
            fail "$w to a /dev/full node: the device node was replaced by a regular file" \
                 "(rename over the target; as root this destroys /dev/full)"
            rm -f "$W/devfull"
            mknod "$W/devfull" c 1 7
        else
            pass
        fi
        stale=$(ls -A "$W" | grep -c '^\.\?devfull.*tmp' )
        [ "$stale" = 0 ] && pass || { fail "$w to a /dev/full node: temp files left"; rm -f "$W"/.devfull*tmp* "$W"/devfull.tmp*; }
    done
else
    skip "device node: mknod failed: $(cat "$W/mknod.err")"
fi

# --- read-only directory --------------------------------------------------
if mount_tmpfs "$W/ro" size=1m; then
    cp "$W/small.tms" "$W/ro/old.tms"
    if mount -o remount,ro "$W/ro" 2>"$W/mount.err"; then
        for w in $WRITERS; do
            NEEDLE="$W/ro/old.tms" expect_exit2 "$w into a read-only directory" writer $w "$W/ro/old.tms"
            grep -qi "read-only" "$W/err" || fail "$w read-only: message does not say why: $(head -c 200 "$W/err")"
            intact "$w into a read-only directory" "$W/ro"
        done
    else
        skip "read-only directory: remount,ro failed: $(cat "$W/mount.err")"
    fi
else
    skip "read-only directory: mount -t tmpfs failed: $(cat "$W/mount.err")"
fi

# --- output path is a directory ---------------------------------------
for w in $WRITERS; do
    mkdir -p "$W/adir/sub"
    NEEDLE="$W/adir/sub" expect_exit2 "$w to a directory" writer $w "$W/adir/sub"
    [ -d "$W/adir/sub" ] && [ -z "$(ls -A "$W/adir/sub")" ] && [ "$(entries "$W/adir")" = sub ] &&
        pass || fail "$w to a directory: directory changed or temp left: $(ls -A "$W/adir" | tr '\n' ' ')"
    rm -rf "$W/adir"
done

# --- missing directory ----------------------------------------------------
for w in $WRITERS; do
    NEEDLE="$W/nodir/x" expect_exit2 "$w into a missing directory" writer $w "$W/nodir/x"
done

# --- a .tms written into a FIFO arrives whole ---------------------------
mkfifo "$W/out.fifo"
timeout 60 cat "$W/out.fifo" > "$W/from-fifo.tms" &
catpid=$!
if timeout 60 "$T/tmconv" "$W/small.tms" "$W/out.fifo" --to tms 2>"$W/err"; then
    if [ ! -p "$W/out.fifo" ]; then
        fail "tmconv to a FIFO replaced the FIFO"
        kill $catpid 2>/dev/null
    fi
    wait $catpid
    "$T/tminfo" "$W/from-fifo.tms" >/dev/null 2>&1 && pass ||
        fail "tmconv to a FIFO: what arrived is not a readable .tms"
else
    fail "tmconv to a FIFO: exit $?: $(head -c 300 "$W/err")"
    kill $catpid 2>/dev/null; wait $catpid 2>/dev/null
fi

# --- short reads ----------------------------------------------------------
"$T/tmstat" "$W/big.tms" --top 5 > "$W/want.txt" 2>&1 || fail "tmstat on big.tms"
size=$(stat -c %s "$W/big.tms")
for kind in tms pickle; do
    in=$W/big.tms
    [ $kind = pickle ] && { "$T/tmconv" "$W/big.tms" "$W/big.pickle" --to python; in=$W/big.pickle;
                            "$T/tmstat" "$in" --top 5 > "$W/want.txt" 2>&1; size=$(stat -c %s "$in"); }
    rm -f "$W/in.fifo"; mkfifo "$W/in.fifo"
    # slow: the file in 7 pieces with pauses, so the reader sees many short reads
    python3 - "$in" "$W/in.fifo" <<'PY' &
import sys, time
data = open(sys.argv[1], 'rb').read()
with open(sys.argv[2], 'wb', buffering=0) as f:
    step = len(data) // 7 + 1
    for i in range(0, len(data), step):
        f.write(data[i:i + step]); time.sleep(0.05)
PY
    feeder=$!
    timeout 60 "$T/tmstat" "$W/in.fifo" --top 5 > "$W/got.txt" 2>&1
    rc=$?
    wait $feeder
    [ $rc = 0 ] && cmp -s "$W/got.txt" "$W/want.txt" && pass ||
        fail "$kind from a slow FIFO: exit $rc, output differs: $(head -c 300 "$W/got.txt")"
    # cut: the writer goes away half way (a file truncated under the reader)
    rm -f "$W/in.fifo"; mkfifo "$W/in.fifo"
    head -c $((size / 2)) "$in" > "$W/in.fifo" &
    feeder=$!
    NEEDLE="$W/in.fifo" expect_exit2 "$kind from a FIFO cut half way" timeout 60 "$T/tmstat" "$W/in.fifo"
    wait $feeder
    for tool in tminfo tmconv; do
        rm -f "$W/in.fifo"; mkfifo "$W/in.fifo"
        head -c $((size / 3)) "$in" > "$W/in.fifo" &
        feeder=$!
        if [ $tool = tmconv ]; then
            cp "$W/small.tms" "$W/keep.tms"
            NEEDLE="$W/in.fifo" expect_exit2 "tmconv from a cut FIFO" timeout 60 "$T/tmconv" "$W/in.fifo" "$W/keep.tms"
            cmp -s "$W/keep.tms" "$W/small.tms" && pass || fail "tmconv from a cut FIFO changed its output file"
        else
            NEEDLE="$W/in.fifo" expect_exit2 "tminfo from a cut FIFO" timeout 10 "$T/tminfo" "$W/in.fifo"
        fi
        wait $feeder
    done
done
# a file truncated while a reader has it open: the reader holds a
# consistent prefix (reads until EOF, never trusts the first fstat)
cp "$W/big.tms" "$W/shrink.tms"
( sleep 0.01; truncate -s $((size / 4)) "$W/shrink.tms" ) &
"$T/tminfo" "$W/shrink.tms" > "$W/out" 2>"$W/err"
rc=$?
wait
case $rc in
    0) pass ;;   # read before the truncation
    2) grep -q "$W/shrink.tms" "$W/err" && pass || fail "truncated while read: message does not name the file" ;;
    *) fail "truncated while read: exit $rc: $(head -c 300 "$W/err")" ;;
esac

finish
