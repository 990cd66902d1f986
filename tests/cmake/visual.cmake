# `rcgc replay --explain --why --dot --html` and `make demo`
# (tests/visual/check_visual.py): visual.dot checks the DOT files of
# tests/visual/dot.trace against what each operation makes of the heap;
# visual.article the --explain tables and --why chains of the article's
# example, worked out by hand; visual.explain that --explain's unreachable
# sets are what the collector handles, on the scenario traces and 300 random
# ones; visual.html the page in headless Chromium (skipped, exit 77, without
# a browser); visual.cli the options' usage errors; visual.demo the tour and
# the replay `make demo` runs. The library side is tests/test_visual.c.
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(WARNING "python3 not found: the visual.* tests are not registered")
  return()
endif()

set(RCGC_VISUAL_CHECK ${PROJECT_SOURCE_DIR}/tests/visual/check_visual.py)
set(RCGC_ARTICLE_TRACE ${PROJECT_SOURCE_DIR}/examples/article-cycle.trace)

add_test(NAME visual.dot
  COMMAND ${Python3_EXECUTABLE} ${RCGC_VISUAL_CHECK} dot $<TARGET_FILE:rcgc_tool>
          ${PROJECT_SOURCE_DIR}/tests/visual/dot.trace)
add_test(NAME visual.article
  COMMAND ${Python3_EXECUTABLE} ${RCGC_VISUAL_CHECK} article $<TARGET_FILE:rcgc_tool> ${RCGC_ARTICLE_TRACE})
file(GLOB RCGC_VISUAL_TRACES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/traces/*.trace)
add_test(NAME visual.explain
  COMMAND ${Python3_EXECUTABLE} ${RCGC_VISUAL_CHECK} explain $<TARGET_FILE:rcgc_tool> 1 300
          ${RCGC_VISUAL_TRACES} ${RCGC_ARTICLE_TRACE} ${PROJECT_SOURCE_DIR}/tests/visual/dot.trace)
add_test(NAME visual.html
  COMMAND ${Python3_EXECUTABLE} ${RCGC_VISUAL_CHECK} html $<TARGET_FILE:rcgc_tool> ${RCGC_ARTICLE_TRACE})
set_tests_properties(visual.html PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
add_test(NAME visual.cli COMMAND ${Python3_EXECUTABLE} ${RCGC_VISUAL_CHECK} cli $<TARGET_FILE:rcgc_tool>)
add_test(NAME visual.demo
  COMMAND ${Python3_EXECUTABLE} ${RCGC_VISUAL_CHECK} demo $<TARGET_FILE:rcgc_tool> $<TARGET_FILE:tour>
          ${RCGC_ARTICLE_TRACE})
