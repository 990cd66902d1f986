# The fuzz targets' seed corpora as ordinary tests, with any compiler:
# fuzz/driver.c runs a target's LLVMFuzzerTestOneInput once on every file of
# fuzz/corpus/NAME (fuzz.replay.corpus, fuzz.graph.corpus). The libFuzzer
# builds themselves are fuzz/CMakeLists.txt's (RCGC_FUZZ, clang).
set(RCGC_FUZZ_DIR ${PROJECT_SOURCE_DIR}/fuzz)

function(rcgc_fuzz_corpus_test name)
  add_executable(fuzz_${name}_corpus ${RCGC_FUZZ_DIR}/driver.c ${RCGC_FUZZ_DIR}/memory.c ${ARGN})
  target_include_directories(fuzz_${name}_corpus PRIVATE ${RCGC_FUZZ_DIR} ${PROJECT_SOURCE_DIR}/tools)
  target_link_libraries(fuzz_${name}_corpus PRIVATE rcgc_static)
  add_test(NAME fuzz.${name}.corpus COMMAND fuzz_${name}_corpus ${RCGC_FUZZ_DIR}/corpus/${name})
  set_tests_properties(fuzz.${name}.corpus PROPERTIES TIMEOUT 300)
endfunction()

rcgc_fuzz_corpus_test(replay ${RCGC_FUZZ_DIR}/fuzz_replay.c
  ${PROJECT_SOURCE_DIR}/tools/replay.c ${PROJECT_SOURCE_DIR}/tools/trace.c ${PROJECT_SOURCE_DIR}/tools/ptrmap.c)
rcgc_fuzz_corpus_test(graph ${RCGC_FUZZ_DIR}/fuzz_graph.c)
