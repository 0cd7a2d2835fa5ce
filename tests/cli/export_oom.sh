#!/bin/bash
# Every exporter survives out-of-memory at each allocation (clean TM_ENOMEM,
# no leak under ASan): tests/browser/export_oom.c against the build tree.
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/browser/export_common.sh"
cd "$WORK"
"$CC" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror "${san_flags[@]}" \
   -I"$TM_SOURCE_DIR/libtmcore/include" -I"$TM_SOURCE_DIR/libtmcore/src" \
   "$BROWSER_DIR/export_oom.c" "$TM_BUILD_DIR/formats/libtmformats.a" \
   "$TM_BUILD_DIR/libtmcore/libtmcore.a" "$TM_BUILD_DIR/libtmcore/libtmcore_model.a" \
   -lzstd -ldwarf -lelf -lz -lm -o oom
check "out-of-memory at every allocation of every exporter" ./oom
finish
