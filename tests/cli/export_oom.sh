#!/bin/bash
# Every exporter survives out-of-memory at each allocation (clean TM_ENOMEM,
# no leak under ASan): tests/browser/export_oom.c, built as tests/tm_export_oom.
source "${TM_SOURCE_DIR:-$(dirname "$0")/../..}/tests/browser/export_common.sh"
cd "$WORK"
check "out-of-memory at every allocation of every exporter" "$TM_BUILD_DIR/tests/tm_export_oom"
finish
