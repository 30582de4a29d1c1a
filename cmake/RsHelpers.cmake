# Project-wide compile flags and the two helpers every folder uses.
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-missing-field-initializers)
add_compile_definitions(_GNU_SOURCE)
if(RS_WERROR)
  add_compile_options(-Werror)
endif()
if(RS_SANITIZE)
  string(REPLACE ";" "," _rs_san "${RS_SANITIZE}")
  add_compile_options(-fsanitize=${_rs_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_rs_san})
endif()

# rs_service(NAME SOURCES a.c b.c LIBS x y [EXE rs-name])
# Builds NAME_lib from SOURCES (list every source but main.c, so tests can link the handlers)
# and the rs-NAME executable from main.c.
function(rs_service name)
  cmake_parse_arguments(S "" "EXE" "SOURCES;LIBS" ${ARGN})
  if(NOT S_EXE)
    set(S_EXE rs-${name})
  endif()
  add_library(${name}_lib STATIC ${S_SOURCES})
  target_include_directories(${name}_lib PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${name}_lib PUBLIC ${S_LIBS})
  add_executable(${S_EXE} main.c)
  target_link_libraries(${S_EXE} PRIVATE ${name}_lib)
  install(TARGETS ${S_EXE} RUNTIME DESTINATION bin)
endfunction()

# ThreadSanitizer runs code 5-15x slower: the suites' time limits grow with it.
set(RS_TEST_TIMEOUT_SCALE 1)
if("thread" IN_LIST RS_SANITIZE)
  set(RS_TEST_TIMEOUT_SCALE 5)
endif()

# Criterion's closing line when it ran no test (a filter or an empty binary); such a run fails.
set(RS_CRITERION_NONE_RAN "Synthesis: Tested: 0 [|]")

# rs_test(NAME SOURCES a_test.c ... LIBS x y [BLAS] [LABELS l] [ENV K=V ...])
# One Criterion binary per module, registered with CTest. BLAS: the suite calls BLAS and runs on
# the kernels the programs run on (tests/support/blas_kernels.c, common/rs_blas.h).
function(rs_test name)
  cmake_parse_arguments(T "BLAS" "TIMEOUT" "SOURCES;LIBS;LABELS;ENV" ${ARGN})
  add_executable(test_${name} ${T_SOURCES})
  target_link_libraries(test_${name} PRIVATE PkgConfig::CRITERION ${T_LIBS})
  if(T_BLAS)
    target_sources(test_${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support/blas_kernels.c)
    target_link_libraries(test_${name} PRIVATE rs_blas)
  endif()
  if("thread" IN_LIST RS_SANITIZE)
    # Criterion's runner cannot place its shared arena under ThreadSanitizer without this
    # (tests/support/tsan_criterion.c says why).
    target_sources(test_${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support/tsan_criterion.c)
  endif()
  # tests/support holds fixtures shared by suites; RS_SOURCE_DIR lets them find db/migrations.
  target_include_directories(test_${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  target_compile_definitions(test_${name} PRIVATE RS_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_test(NAME ${name} COMMAND test_${name} --jobs 1)
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  math(EXPR T_TIMEOUT "${T_TIMEOUT} * ${RS_TEST_TIMEOUT_SCALE}")
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT}
                       FAIL_REGULAR_EXPRESSION "${RS_CRITERION_NONE_RAN}")
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
  if(T_ENV)
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${T_ENV}")
  endif()
endfunction()
