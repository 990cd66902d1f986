/*
 * A use after free inside rcgc's own pages is caught by the tools, as one in
 * malloc's would be: freed blocks are poisoned for AddressSanitizer and marked
 * inaccessible for valgrind memcheck (src/alloc.c).
 *
 * The program runs itself as a child ("uaf") that frees an object and then
 * reads its payload through a stale pointer, after printing the address. In an
 * AddressSanitizer build the child must die with a use-after-poison report on
 * that address; in a build with valgrind client requests (RCGC_VALGRIND) and
 * valgrind installed, memcheck must report an invalid read there. Other builds
 * have nothing to show: exit 77 (skipped).
 */
#define _POSIX_C_SOURCE 200809L
#include "rcgc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sanitizer.h"

#if defined(TEST_UNDER_ASAN) || defined(RCGC_VALGRIND)
#include "check.h"
#endif

typedef struct cell {
    long value[4];
} cell;

static const rcgc_type cell_type = { "cell", sizeof(cell), NULL, NULL, NULL };

/* The child: a freed block of a page that stays in use, read afterwards. */
static int use_after_free(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    cell *keep = rcgc_new(h, &cell_type);
    cell *c = rcgc_new(h, &cell_type);
    c->value[2] = 42;
    rcgc_decref(c);
    printf("%p\n", (void *)&c->value[2]);
    fflush(stdout);
    volatile long v = c->value[2];
    printf("read %ld without a report\n", (long)v);
    rcgc_decref(keep);
    rcgc_heap_free(h);
    return 0;
}

#if defined(TEST_UNDER_ASAN) || defined(RCGC_VALGRIND)
/* Runs argv with standard output and error captured. Returns the exit
   status (128 + signal when killed). */
static int run(char *const argv[], char *out, size_t outcap, char *err, size_t errcap)
{
    int po[2], pe[2];
    if (pipe(po) != 0 || pipe(pe) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        execvp(argv[0], argv);
        _exit(126);
    }
    close(po[1]);
    close(pe[1]);
    size_t no = 0, ne = 0;
    ssize_t r;
    while (no + 1 < outcap && (r = read(po[0], out + no, outcap - 1 - no)) > 0)
        no += (size_t)r;
    out[no] = '\0';
    while (ne + 1 < errcap && (r = read(pe[0], err + ne, errcap - 1 - ne)) > 0)
        ne += (size_t)r;
    err[ne] = '\0';
    close(po[0]);
    close(pe[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char child_out[1024], child_err[65536];

/* AddressSanitizer stops the child at the read; memcheck reports it and lets
   the child go on. */
static void check_report(int status, const char *kind, int stops)
{
    char addr[64];
    snprintf(addr, sizeof addr, "%.*s", (int)strcspn(child_out, "\n"), child_out);
    if (status == 0 || !strstr(child_err, kind) || !addr[0] || !strstr(child_err, addr))
        fprintf(stderr, "child status %d, address %s\n--- its stderr:\n%s---\n", status, addr, child_err);
    CHECK(status != 0);
    CHECK(addr[0] != '\0');
    CHECK(strstr(child_err, kind) != NULL);
    CHECK(strstr(child_err, addr) != NULL);
    if (stops)
        CHECK(strstr(child_out, "without a report") == NULL);
}

static char *self;
#endif

#ifdef TEST_UNDER_ASAN
static void test_asan_catches_use_after_free(void)
{
    char *args[] = { self, "uaf", NULL };
    check_report(run(args, child_out, sizeof child_out, child_err, sizeof child_err), "use-after-poison", 1);
}
#endif

#if defined(RCGC_VALGRIND) && !defined(TEST_UNDER_ASAN)
static void test_memcheck_catches_use_after_free(void)
{
    char *args[] = { "valgrind", "--error-exitcode=99", self, "uaf", NULL };
    int status = run(args, child_out, sizeof child_out, child_err, sizeof child_err);
    CHECK_EQ(status, 99);
    check_report(status, "Invalid read of size 8", 0);
}
#endif

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "uaf") == 0)
        return use_after_free();
    int ran = 0;
#ifdef TEST_UNDER_ASAN
    self = argv[0];
    TEST(test_asan_catches_use_after_free);
    ran = 1;
#endif
#if defined(RCGC_VALGRIND) && !defined(TEST_UNDER_ASAN)
    self = argv[0];
    if (system("valgrind --version >/dev/null 2>&1") == 0) {
        TEST(test_memcheck_catches_use_after_free);
        ran = 1;
    } else {
        printf("valgrind is not installed: the memcheck half is not run\n");
    }
#endif
    if (!ran) {
        printf("skipped: needs an AddressSanitizer build (make asan) or -DRCGC_VALGRIND=ON with valgrind\n");
        return 77;
    }
#if defined(TEST_UNDER_ASAN) || defined(RCGC_VALGRIND)
    return check_summary();
#else
    return 0;
#endif
}
