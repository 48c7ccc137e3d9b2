# Shared build settings and helpers: one static library per folder under src/.

set(PICKET_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND PICKET_WARNINGS -Werror)
  if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 at -O3 reports impossible overlaps inside libstdc++'s std::string (GCC bug 105329):
    # false positives in library code, not ours.
    list(APPEND PICKET_WARNINGS -Wno-restrict)
  endif()
endif()

set(PICKET_SAN_FLAGS "")
if(PICKET_SANITIZE)
  # ASan's instrumentation makes GCC's -Wmaybe-uninitialized fire inside libstdc++ (std::regex,
  # std::function): noise the normal build does not have.
  list(APPEND PICKET_WARNINGS -Wno-maybe-uninitialized)
  set(PICKET_SAN_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
endif()
if(PICKET_FUZZ)
  set(PICKET_SAN_FLAGS -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
endif()

# picket_add_library(NAME SOURCES a.cpp b.cpp DEPS other_libs...)
function(picket_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(picket_${name} STATIC ${ARG_SOURCES})
  target_include_directories(picket_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(picket_${name} PRIVATE ${PICKET_WARNINGS} PUBLIC ${PICKET_SAN_FLAGS})
  target_link_options(picket_${name} PUBLIC ${PICKET_SAN_FLAGS})
  target_link_libraries(picket_${name} PUBLIC ${ARG_DEPS})
endfunction()

# picket_add_test(NAME SOURCES a_test.cpp DEPS libs...) — a GoogleTest binary registered with ctest.
function(picket_add_test name)
  if(NOT PICKET_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${PICKET_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE PICKET_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST
                       PROPERTIES ENVIRONMENT "PICKET_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
