/*
 * A minimal test harness: CHECK(expr) records a failure with file and line and
 * goes on; CHECK_EQ compares two integers and prints both; TEST(name) runs a
 * test function; check_summary() prints "N passed, N failed" and gives the exit
 * status for main.
 */
#ifndef RCGC_CHECK_H
#define RCGC_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failed_count;
static int check_passed_count;
static int check_test_failed;

#define CHECK(expr) do { \
    if (!(expr)) { \
        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
        check_test_failed = 1; \
    } } while (0)

#define CHECK_EQ(a, b) do { \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
    if (check_a_ != check_b_) { \
        fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", \
                __FILE__, __LINE__, #a, check_a_, #b, check_b_); \
        check_test_failed = 1; \
    } } while (0)

#define CHECK_STR(a, b) do { \
    const char *check_a_ = (a), *check_b_ = (b); \
    if (strcmp(check_a_, check_b_) != 0) { \
        fprintf(stderr, "%s:%d: CHECK_STR failed:\n  %s ==\n%s\n  %s ==\n%s\n", \
                __FILE__, __LINE__, #a, check_a_, #b, check_b_); \
        check_test_failed = 1; \
    } } while (0)

#define TEST(fn) do { \
    check_test_failed = 0; \
    fn(); \
    if (check_test_failed) { check_failed_count++; fprintf(stderr, "FAIL %s\n", #fn); } \
    else check_passed_count++; \
    } while (0)

static inline int check_summary(void)
{
    printf("%d passed, %d failed\n", check_passed_count, check_failed_count);
    return check_failed_count ? 1 : 0;
}

#endif
