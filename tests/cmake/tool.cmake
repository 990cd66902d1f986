# replay.malloc_failures: `rcgc replay` with each of its allocations failing
# in turn, alone and with every later one (tests/tool/malloc_failures.py,
# with tests/tool/failmalloc.c loaded by LD_PRELOAD), on four traces that
# run finalizers, resurrections, weak-reference callbacks and freeze, under
# every option. Not registered where a sanitizer's runtime owns malloc
# (RCGC_SANITIZE, RCGC_TSAN, RCGC_FUZZ), in a coverage build (gcov's runtime
# allocates at exit), nor without python3.
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND OR RCGC_SANITIZE OR RCGC_TSAN OR RCGC_FUZZ OR CMAKE_C_FLAGS MATCHES "--coverage")
  return()
endif()

add_library(failmalloc MODULE ${PROJECT_SOURCE_DIR}/tests/tool/failmalloc.c)
target_link_libraries(failmalloc PRIVATE ${CMAKE_DL_LIBS})
add_test(NAME replay.malloc_failures
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/tool/malloc_failures.py
          $<TARGET_FILE:rcgc_tool> $<TARGET_FILE:failmalloc>
          ${PROJECT_SOURCE_DIR}/tests/traces/s21-finalizer-with-partner.trace
          ${PROJECT_SOURCE_DIR}/tests/traces/s25-callback-before-finalizer.trace
          ${PROJECT_SOURCE_DIR}/examples/article-cycle.trace
          ${PROJECT_SOURCE_DIR}/tests/visual/dot.trace)
set_tests_properties(replay.malloc_failures PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
