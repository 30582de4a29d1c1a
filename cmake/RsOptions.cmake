# Every RS_ build option in one place.
option(RS_BUILD_TESTS "Build the Criterion test suites" ON)
set(RS_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address;undefined")
option(RS_WERROR "Treat warnings as errors" ON)
# libFuzzer targets (tests/fuzz/): needs clang (CC=clang); turns on ASan+UBSan and coverage
# instrumentation for the whole build. scripts/fuzz.sh configures and runs them.
option(RS_FUZZ "Build the libFuzzer targets of tests/fuzz (clang only)" OFF)
if(RS_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "RS_FUZZ=ON needs clang (configure with CC=clang)")
  endif()
  set(RS_SANITIZE "address;undefined" CACHE STRING "" FORCE)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
