/*
 * TEST_UNDER_ASAN: defined (as 1) when the test is compiled with
 * AddressSanitizer, by gcc's or clang's way of telling it.
 */
#ifndef RCGC_TEST_SANITIZER_H
#define RCGC_TEST_SANITIZER_H

#if defined(__SANITIZE_ADDRESS__)
#define TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_UNDER_ASAN 1
#endif
#endif

#endif
