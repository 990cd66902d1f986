# test_debug (the debug build's death tests) and test_poison (AddressSanitizer
# and valgrind catching a use after free inside rcgc's pages) exit 77, counted
# as skipped, in builds that have nothing for them to check.
set_tests_properties(test_debug test_poison PROPERTIES SKIP_RETURN_CODE 77)
if(RCGC_VALGRIND)
  target_compile_definitions(test_poison PRIVATE RCGC_VALGRIND=1)
endif()
