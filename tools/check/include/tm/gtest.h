/*
 * tm/gtest.h — memory checks for every GoogleTest test (CMake target
 * tmkit::gtest).  Linking it is enough: a listener registers itself before
 * main (with GTest::gtest_main or the program's own main) and wraps each
 * test in a check of tm/check.h, from just after the test starts to just
 * after its TearDown.  A test whose live heap grew fails, at the line that
 * grew most, with tracemalloc's compare_to lines and the largest growths'
 * tracebacks:
 *
 *   t.cpp:12: Failure
 *   memory check Leaks.OneBlock failed: live memory grew by 1000 B (+1000 B), threshold 0 B
 *   /src/t.cpp:12: size=1000 B (+1000 B), count=1 (+1), average=1000 B
 *   ...
 *
 * Environment (read before the first test):
 *   TM_GTEST_THRESHOLD=SIZE    growth every test may have (default 0):
 *                              bytes or 4KiB, 1.5M, ... as tmdiff takes it
 *   TM_GTEST_SNAPSHOT_DIR=DIR  a failing test writes DIR/SUITE.TEST.before.tms
 *                              and .after.tms (CI artifacts)
 *   TM_SUPPRESSIONS=FILE       LeakSanitizer-format suppressions (leak:PATTERN)
 *   TM_GTEST_CHECK=0           no checks at all
 * A bad value is an error before any test runs (exit status 2).
 *
 * What is never blamed on a test: the runtime's lazy allocations (see
 * tm/check.h; the listener also makes the usual ones, iostreams' and
 * locale's caches, before the first test) and GoogleTest's own bookkeeping
 * (a trace whose most recent attributed frame is a testing:: function:
 * failures, RecordProperty).
 */
#ifndef TM_GTEST_H
#define TM_GTEST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The growth the current test may have, in bytes (overrides
 * TM_GTEST_THRESHOLD for this test only). */
void tm_gtest_set_threshold(uint64_t bytes);
/* No memory check for the current test. */
void tm_gtest_skip_check(void);

#ifdef __cplusplus
}
#endif

/* Inside a test body (or SetUp): TM_MEMORY_THRESHOLD(4096); */
#define TM_MEMORY_THRESHOLD(bytes) tm_gtest_set_threshold((uint64_t)(bytes))
#define TM_MEMORY_CHECK_OFF() tm_gtest_skip_check()

#endif
