# The installation test (tests/install/check.sh): install.prefix installs this
# build into install-test/prefix in the build directory and checks the files;
# install.find_package and install.pkg_config build tests/install/example.c
# against that installation with find_package(rcgc) and with pkg-config, and
# run it. install.pkg_config is skipped (exit 77) without pkg-config.
include(GNUInstallDirs)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}"
   OR IS_ABSOLUTE "${CMAKE_INSTALL_BINDIR}")
  message(STATUS "install.* tests not registered: the install directories are absolute, so `cmake --install --prefix` cannot move them")
  return()
endif()

set(RCGC_INSTALL_CHECK ${PROJECT_SOURCE_DIR}/tests/install/check.sh)
set(RCGC_INSTALL_CHECK_ARGS
  ${CMAKE_BINARY_DIR}/install-test ${CMAKE_BINARY_DIR} ${PROJECT_VERSION} ${CMAKE_INSTALL_LIBDIR}
  ${CMAKE_COMMAND} ${CMAKE_C_COMPILER} $<IF:$<BOOL:${RCGC_DEBUG}>,ON,OFF>)

add_test(NAME install.prefix COMMAND sh ${RCGC_INSTALL_CHECK} prefix ${RCGC_INSTALL_CHECK_ARGS})
add_test(NAME install.find_package COMMAND sh ${RCGC_INSTALL_CHECK} cmake ${RCGC_INSTALL_CHECK_ARGS})
add_test(NAME install.pkg_config COMMAND sh ${RCGC_INSTALL_CHECK} pkg-config ${RCGC_INSTALL_CHECK_ARGS})
set_tests_properties(install.prefix PROPERTIES FIXTURES_SETUP rcgc_installed)
set_tests_properties(install.find_package install.pkg_config PROPERTIES
  FIXTURES_REQUIRED rcgc_installed TIMEOUT 300)
set_tests_properties(install.pkg_config PROPERTIES SKIP_RETURN_CODE 77)
