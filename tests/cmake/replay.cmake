# `rcgc replay` on malformed traces and on the spec's example: each
# tests/traces/errors/NAME.trace is the test replay.NAME, run by
# tests/replay_errors.py, which checks the exit status, standard output and
# standard error against the trace's `#?` lines. replay.cli checks the
# program's usage errors, --help and --version.
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(WARNING "python3 not found: the replay.* tests are not registered")
  return()
endif()

set(RCGC_REPLAY_CHECK ${PROJECT_SOURCE_DIR}/tests/replay_errors.py)

add_test(NAME replay.cli COMMAND ${Python3_EXECUTABLE} ${RCGC_REPLAY_CHECK} --cli $<TARGET_FILE:rcgc_tool>)

file(GLOB RCGC_ERROR_TRACES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/traces/errors/*.trace)
foreach(trace ${RCGC_ERROR_TRACES})
  get_filename_component(name ${trace} NAME_WE)
  add_test(NAME replay.${name}
    COMMAND ${Python3_EXECUTABLE} ${RCGC_REPLAY_CHECK} $<TARGET_FILE:rcgc_tool> ${trace})
endforeach()
