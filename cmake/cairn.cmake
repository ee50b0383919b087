# Shared build rules for cairn's modules.

set(CAIRN_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wconversion
                   -Wno-sign-conversion -Wimplicit-fallthrough)
# The build is warning-free, so a new warning fails it and is seen (a dropped Result or
# Status among them: both are [[nodiscard]] at the type).
option(CAIRN_WERROR "Treat the project's warnings as errors" ON)
if(CAIRN_WERROR AND NOT CAIRN_FUZZ)
  list(APPEND CAIRN_WARNINGS -Werror)
endif()

if(CAIRN_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

if(CAIRN_FUZZ)
  # Every library is instrumented for coverage; the targets add -fsanitize=fuzzer themselves.
  # Debian 12's clangs (14, 16) cannot compile libstdc++ 12's <expected>, so the fuzz build
  # uses clang 16 with libc++ 16, which has it. libFuzzer's own runtime is built against
  # libstdc++, so the targets link that too (the two libraries' symbols do not collide).
  add_compile_options(-stdlib=libc++ -fsanitize=fuzzer-no-link,address,undefined
                      -fno-omit-frame-pointer)
  add_link_options(-stdlib=libc++ -fsanitize=address,undefined)
endif()

# cairn_module(NAME DEPS <targets...> [SOURCES <extra...>])
# Builds src/NAME/*.cpp (without *_test.cpp) into the static library cairn_NAME, with
# src/ as its include root, so headers are included as "NAME/header.hpp".
function(cairn_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS;SOURCES" ${ARGN})
  file(GLOB _sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  list(FILTER _sources EXCLUDE REGEX "_test\\.cpp$")
  add_library(cairn_${name} STATIC ${_sources} ${ARG_SOURCES})
  target_include_directories(cairn_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src
                                                  ${CMAKE_BINARY_DIR}/generated)
  target_compile_options(cairn_${name} PRIVATE ${CAIRN_WARNINGS})
  target_link_libraries(cairn_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  add_library(cairn::${name} ALIAS cairn_${name})
endfunction()

# cairn_tests(NAME DEPS <targets...>): one GoogleTest binary per module from tests/NAME/*.cpp.
function(cairn_tests name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB _sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(NOT _sources)
    return()
  endif()
  add_executable(cairn_${name}_tests ${_sources})
  target_compile_options(cairn_${name}_tests PRIVATE ${CAIRN_WARNINGS})
  target_include_directories(cairn_${name}_tests PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  target_link_libraries(cairn_${name}_tests PRIVATE ${ARG_DEPS} cairn_testing GTest::gtest_main
                                                    GTest::gmock)
  target_compile_definitions(cairn_${name}_tests PRIVATE
      CAIRN_SOURCE_DIR="${CMAKE_SOURCE_DIR}" CAIRN_BINARY_DIR="${CMAKE_BINARY_DIR}")
  gtest_discover_tests(cairn_${name}_tests DISCOVERY_TIMEOUT 120
                       PROPERTIES ENVIRONMENT "CAIRN_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()
