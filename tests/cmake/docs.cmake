# The documentation against the code (tests/check_docs.py): docs.tutorial runs
# examples/objects and checks that docs/tutorial.md shows its code and its
# output as they are; docs.api that docs/api.md mentions every public name of
# include/rcgc.h; docs.names that every rcgc_* / RCGC_* name in the docs and
# the README still exists.
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(WARNING "python3 not found: the docs.* tests are not registered")
  return()
endif()

set(RCGC_CHECK_DOCS ${PROJECT_SOURCE_DIR}/tests/check_docs.py)
add_test(NAME docs.tutorial
  COMMAND ${Python3_EXECUTABLE} ${RCGC_CHECK_DOCS} tutorial $<TARGET_FILE:objects>
          ${PROJECT_SOURCE_DIR}/examples/objects.c ${PROJECT_SOURCE_DIR}/docs/tutorial.md)
add_test(NAME docs.api
  COMMAND ${Python3_EXECUTABLE} ${RCGC_CHECK_DOCS} api
          ${PROJECT_SOURCE_DIR}/include/rcgc.h ${PROJECT_SOURCE_DIR}/docs/api.md)
file(GLOB RCGC_DOCS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
add_test(NAME docs.names
  COMMAND ${Python3_EXECUTABLE} ${RCGC_CHECK_DOCS} names ${PROJECT_SOURCE_DIR}
          ${RCGC_DOCS} ${PROJECT_SOURCE_DIR}/README.md)
