# header_cxx: include/rcgc.h compiled as C++11 with the warnings a strict C++
# project uses (-Wold-style-cast among them) and -Werror, in every build that
# has a C++ compiler (the same family as the C compiler when there is one), so
# that the header stays usable from C++. It is an object library built by
# `make`, with the library's compile definitions (RCGC_DEBUG in the debug
# build), not a program.
include(CheckLanguage)
if(CMAKE_C_COMPILER_ID MATCHES "Clang" AND NOT DEFINED CMAKE_CXX_COMPILER)
  find_program(RCGC_CLANGXX NAMES clang++)
  if(RCGC_CLANGXX)
    set(CMAKE_CXX_COMPILER ${RCGC_CLANGXX})
  endif()
endif()
check_language(CXX)
if(NOT CMAKE_CXX_COMPILER)
  message(STATUS "header_cxx not built: no C++ compiler")
  return()
endif()
enable_language(CXX)
add_library(header_cxx OBJECT ${PROJECT_SOURCE_DIR}/tests/header_cxx.cpp)
set_target_properties(header_cxx PROPERTIES CXX_STANDARD 11 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
target_compile_options(header_cxx PRIVATE -Wall -Wextra -Wpedantic -Wold-style-cast -Wcast-qual -Werror)
target_link_libraries(header_cxx PRIVATE rcgc_static)
