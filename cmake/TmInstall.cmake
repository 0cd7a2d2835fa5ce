# Install rules for everything a user of tmkit needs after `cmake --install`:
#   bin/        the tools (their own rules in tools/CMakeLists.txt) and, when the
#               recorder is built, tmrun (rules in recorder/CMakeLists.txt)
#   lib/        the static libraries of every layer (doc/DESIGN.md), libtmrecorder
#   include/tm/ the public headers of libtmcore, formats and the recorder
#   lib/pkgconfig/tmkit.pc                  pkg-config --cflags --libs tmkit
#   lib/cmake/tmkit/tmkitConfig.cmake ...   find_package(tmkit) -> tmkit::tmcore, ...
#   share/man/man1/*.1                      one page per tool
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TM_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/tmkit)

install(TARGETS tmcore_base tmcore_model tmcore_analysis tmcore_symbolize tmcore
                tmformats_tms tmformats tmtools_common
        EXPORT tmkitTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/libtmcore/include/tm ${CMAKE_SOURCE_DIR}/formats/include/tm
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")

# The recorder's CMakeLists installs its own targets; only fill the gap if a
# future layout drops those rules.
if(TARGET tmrun AND NOT EXISTS ${CMAKE_SOURCE_DIR}/recorder/CMakeLists.txt)
  install(TARGETS tmrun RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
if(TARGET tmrecorder AND NOT EXISTS ${CMAKE_SOURCE_DIR}/recorder/CMakeLists.txt)
  install(TARGETS tmrecorder LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()

# --- CMake package -------------------------------------------------------
install(EXPORT tmkitTargets NAMESPACE tmkit:: DESTINATION ${TM_INSTALL_CMAKEDIR})
set(TM_PC_DWARF_LIBS "")
if(TM_WITH_DWARF)
  set(TM_CONFIG_WITH_DWARF ON)
  set(TM_PC_DWARF_LIBS "-lelf -lz")
  if(TM_WITH_DEBUGINFOD)
    set(TM_PC_DWARF_LIBS "-ldebuginfod ${TM_PC_DWARF_LIBS}")
  endif()
else()
  set(TM_CONFIG_WITH_DWARF OFF)
endif()
if(TARGET tmcheck_gtest)
  set(TM_CONFIG_WITH_GTEST ON)
else()
  set(TM_CONFIG_WITH_GTEST OFF)
endif()
install(FILES ${CMAKE_CURRENT_LIST_DIR}/tmkitMemoryTest.cmake
              ${CMAKE_CURRENT_LIST_DIR}/tmkitMemoryTestRun.cmake
        DESTINATION ${TM_INSTALL_CMAKEDIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/tmkitConfig.cmake.in
  ${CMAKE_BINARY_DIR}/tmkitConfig.cmake
  INSTALL_DESTINATION ${TM_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/tmkitConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/tmkitConfig.cmake ${CMAKE_BINARY_DIR}/tmkitConfigVersion.cmake
        DESTINATION ${TM_INSTALL_CMAKEDIR})

# --- pkg-config ------------------------------------------------------------
# Relocatable: the prefix is found from the .pc file's own directory, so that
# `cmake --install --prefix ANYWHERE` gives a working file.
file(RELATIVE_PATH TM_PC_PREFIX_REL "/tm-prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/tm-prefix")
string(REGEX REPLACE "/$" "" TM_PC_PREFIX_REL "${TM_PC_PREFIX_REL}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/tmkit.pc.in ${CMAKE_BINARY_DIR}/tmkit.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/tmkit.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# --- man pages -------------------------------------------------------------
file(GLOB TM_MAN_PAGES ${CMAKE_SOURCE_DIR}/doc/man/*.1)
if(TM_MAN_PAGES)
  install(FILES ${TM_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()
