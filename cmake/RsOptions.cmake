# Every RS_ build option in one place.
option(RS_BUILD_TESTS "Build the Criterion test suites" ON)
set(RS_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address;undefined")
option(RS_WERROR "Treat warnings as errors" ON)
