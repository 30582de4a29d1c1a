# Third-party dependencies; docs/ARCHITECTURE.md says why each one is here.
find_package(Threads REQUIRED)
find_package(nng CONFIG REQUIRED)          # Debian ships no nng.pc, only the CMake config
find_package(PostgreSQL REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PROTOBUFC REQUIRED IMPORTED_TARGET libprotobuf-c)
pkg_check_modules(LMDB REQUIRED IMPORTED_TARGET lmdb)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(YAJL REQUIRED IMPORTED_TARGET yajl)         # streaming JSON: POST /v1/events without a tree
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
pkg_check_modules(LAPACKE REQUIRED IMPORTED_TARGET lapacke)
find_package(ZLIB REQUIRED)                 # crc32 of the ingest spool's records
find_program(PROTOC_C protoc-c REQUIRED)
find_path(XGBOOST_INCLUDE_DIR xgboost/c_api.h REQUIRED)
find_library(XGBOOST_LIBRARY xgboost REQUIRED)
add_library(rs_xgboost INTERFACE)
target_include_directories(rs_xgboost INTERFACE ${XGBOOST_INCLUDE_DIR})
target_link_libraries(rs_xgboost INTERFACE ${XGBOOST_LIBRARY})
if(RS_BUILD_TESTS)
  pkg_check_modules(CRITERION REQUIRED IMPORTED_TARGET criterion)
endif()
find_library(MATH_LIBRARY m REQUIRED)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)     # HTTP client: rs-train simulate, tests
if(RS_BUILD_TESTS)
  pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)  # libyaml: the OpenAPI walk reads docs/openapi.yaml
endif()
