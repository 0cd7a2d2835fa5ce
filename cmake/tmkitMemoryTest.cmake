# tmkit_add_memory_test(): a ctest test that runs any command under tmrun and
# gates its memory with tmstat or tmdiff (doc/gates.md).
#
#   tmkit_add_memory_test(NAME <test> COMMAND <program> [<arg>...]
#                         [MAX_LIVE <SIZE>]                  live memory at exit
#                         [BASELINE <old.tms> MAX_GROWTH <SIZE|N%>]   growth since a baseline
#                         [SUPPRESSIONS <file>]              LeakSanitizer format, leak:PATTERN
#                         [OUTPUT <file.tms>]                where the snapshot goes
#                         [WORKING_DIRECTORY <dir>])
#
# The test fails when the command fails, when the snapshot at its exit holds
# more than MAX_LIVE (tmstat --fail-above), or when it grew by more than
# MAX_GROWTH over BASELINE (tmdiff --fail-on-growth); the gate's report
# (the lines that hold or grew, as tracemalloc prints them) is the test's
# output, and OUTPUT (default <build dir>/<test>.tms) stays for CI
# artifacts.  SIZE is what the tools take: 4096, 512KiB, 1.5MiB, 5%.
# COMMAND may use generator expressions ($<TARGET_FILE:prog>).
# tmkit_TMRUN, tmkit_TMSTAT and tmkit_TMDIFF name the tools (find_package(tmkit)
# sets them to the installed ones).
set(_tmkit_memory_test_driver "${CMAKE_CURRENT_LIST_DIR}/tmkitMemoryTestRun.cmake")

function(tmkit_add_memory_test)
  cmake_parse_arguments(PARSE_ARGV 0 TM ""
    "NAME;MAX_LIVE;BASELINE;MAX_GROWTH;SUPPRESSIONS;OUTPUT;WORKING_DIRECTORY" "COMMAND")
  if(NOT TM_NAME OR NOT TM_COMMAND)
    message(FATAL_ERROR "tmkit_add_memory_test: NAME and COMMAND are required")
  endif()
  if(TM_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "tmkit_add_memory_test(${TM_NAME}): unknown arguments ${TM_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TM_MAX_LIVE AND NOT TM_BASELINE)
    message(FATAL_ERROR "tmkit_add_memory_test(${TM_NAME}): give MAX_LIVE or BASELINE (or both)")
  endif()
  if(TM_BASELINE AND NOT DEFINED TM_MAX_GROWTH)
    message(FATAL_ERROR "tmkit_add_memory_test(${TM_NAME}): BASELINE needs MAX_GROWTH")
  endif()
  if(NOT TM_OUTPUT)
    set(TM_OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/${TM_NAME}.tms")
  endif()
  if(NOT TM_WORKING_DIRECTORY)
    set(TM_WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
  endif()
  foreach(tool TMRUN TMSTAT TMDIFF)
    if(NOT tmkit_${tool})
      message(FATAL_ERROR "tmkit_add_memory_test: tmkit_${tool} is not set (find_package(tmkit) sets it)")
    endif()
  endforeach()
  add_test(NAME ${TM_NAME} WORKING_DIRECTORY "${TM_WORKING_DIRECTORY}"
    COMMAND ${CMAKE_COMMAND}
      "-DTMRUN=${tmkit_TMRUN}" "-DTMSTAT=${tmkit_TMSTAT}" "-DTMDIFF=${tmkit_TMDIFF}"
      "-DOUT=${TM_OUTPUT}" "-DMAX_LIVE=${TM_MAX_LIVE}" "-DBASELINE=${TM_BASELINE}"
      "-DMAX_GROWTH=${TM_MAX_GROWTH}" "-DSUPPRESSIONS=${TM_SUPPRESSIONS}"
      -P "${_tmkit_memory_test_driver}" -- ${TM_COMMAND})
endfunction()
