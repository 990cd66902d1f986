# Differential tests of `rcgc replay` against CPython 3.11 (tests/difftest/):
# difftest.traces compares every tests/traces/*.trace (the test_gc scenarios
# and the release-order traces), difftest.regress the shrunk disagreements kept
# in tests/traces/regress/, and difftest.random 2,000 random traces of 200+
# operations from seed 1. The traces and the random test also require CPython's
# exact order of the events under each operation (--strict-order, more than the
# trace format asks). Each is skipped (exit 77) when python3 is not CPython
# 3.11. Shrunk traces of new disagreements are written to difftest-failures/ in
# the build directory. difftest.traces.plain and difftest.random.plain run the
# same comparisons with `rcgc replay --plain` (objects without a finalizer have
# no destroy hook, so the collector frees their cycles in bulk), on other seeds;
# difftest.traces.fields and difftest.random.fields with `--plain --fields`
# (each object's slots are also its type's registered fields, which the
# collector and the release read without traverse: the plain release's loop
# and frames for one or two fields).
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(WARNING "python3 not found: the difftest.* tests are not registered")
  return()
endif()

set(RCGC_DIFFTEST ${PROJECT_SOURCE_DIR}/tests/difftest/difftest.py)
set(RCGC_DIFFTEST_ARGS --rcgc $<TARGET_FILE:rcgc_tool> --out ${CMAKE_BINARY_DIR}/difftest-failures)

file(GLOB RCGC_SCENARIO_TRACES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/traces/*.trace)
add_test(NAME difftest.traces
  COMMAND ${Python3_EXECUTABLE} ${RCGC_DIFFTEST} ${RCGC_DIFFTEST_ARGS} --strict-order --trace ${RCGC_SCENARIO_TRACES})
set_tests_properties(difftest.traces PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
add_test(NAME difftest.traces.plain
  COMMAND ${Python3_EXECUTABLE} ${RCGC_DIFFTEST} ${RCGC_DIFFTEST_ARGS} --strict-order --plain --trace ${RCGC_SCENARIO_TRACES})
set_tests_properties(difftest.traces.plain PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
add_test(NAME difftest.traces.fields
  COMMAND ${Python3_EXECUTABLE} ${RCGC_DIFFTEST} ${RCGC_DIFFTEST_ARGS} --strict-order --plain --fields
          --trace ${RCGC_SCENARIO_TRACES})
set_tests_properties(difftest.traces.fields PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)

file(GLOB RCGC_REGRESS_TRACES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/traces/regress/*.trace)
if(RCGC_REGRESS_TRACES)
  add_test(NAME difftest.regress
    COMMAND ${Python3_EXECUTABLE} ${RCGC_DIFFTEST} ${RCGC_DIFFTEST_ARGS} --trace ${RCGC_REGRESS_TRACES})
  set_tests_properties(difftest.regress PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()

add_test(NAME difftest.random
  COMMAND ${Python3_EXECUTABLE} ${RCGC_DIFFTEST} ${RCGC_DIFFTEST_ARGS} --strict-order --seed 1 --count 2000 --ops 200)
set_tests_properties(difftest.random PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900)
add_test(NAME difftest.random.plain
  COMMAND ${Python3_EXECUTABLE} ${RCGC_DIFFTEST} ${RCGC_DIFFTEST_ARGS} --strict-order --plain --seed 100001 --count 2000 --ops 200)
set_tests_properties(difftest.random.plain PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900)
add_test(NAME difftest.random.fields
  COMMAND ${Python3_EXECUTABLE} ${RCGC_DIFFTEST} ${RCGC_DIFFTEST_ARGS} --strict-order --plain --fields
          --seed 200001 --count 2000 --ops 200)
set_tests_properties(difftest.random.fields PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900)
