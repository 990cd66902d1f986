# Reliability tests. The C programs are registered by tests/CMakeLists.txt;
# this adds what some of them need: the trace replayer (tools/replay.c,
# tools/trace.c, tools/ptrmap.c) linked into test_oom_scenarios with the path of the traces
# it replays, the labels "stress" (test_stress) and "threads" (test_threads,
# what `make tsan` runs), and smaller sizes for the 10-million-object tests
# (test_stress, test_deep) in the sanitizer and debug builds:
# RCGC_TEST_SCALE=0.1 (tests/common.h), a million objects, which meets the
# same checks in a tenth of the time. The normal build runs them in full.
if(TARGET test_oom_scenarios)
  target_sources(test_oom_scenarios PRIVATE
    ${PROJECT_SOURCE_DIR}/tools/replay.c ${PROJECT_SOURCE_DIR}/tools/trace.c
    ${PROJECT_SOURCE_DIR}/tools/ptrmap.c)
  target_include_directories(test_oom_scenarios PRIVATE ${PROJECT_SOURCE_DIR}/tools)
  target_compile_definitions(test_oom_scenarios PRIVATE
    RCGC_TRACE_DIR="${PROJECT_SOURCE_DIR}/tests/traces")
endif()

if(TEST test_stress)
  set_tests_properties(test_stress PROPERTIES LABELS stress TIMEOUT 900)
endif()

if(RCGC_SANITIZE OR RCGC_TSAN OR RCGC_DEBUG)
  foreach(t test_stress test_deep)
    if(TEST ${t})
      set_tests_properties(${t} PROPERTIES ENVIRONMENT RCGC_TEST_SCALE=0.1)
    endif()
  endforeach()
endif()

if(TEST test_threads)
  set_tests_properties(test_threads PROPERTIES LABELS threads)
endif()
