/*
 * Helpers shared by the benchmark programs: a monotonic clock, optimisation
 * barriers, resident-memory readings, command-line sizes and the result line
 * that bench/run.sh collects and bench/report.py turns into tables.
 *
 * Every program prints its figures as lines of the form
 *
 *     @result <bench> <variant> <case> <metric> <value> <unit>
 *
 * (fields without spaces). Any other output is informational. A program exits
 * with status 1 when a result it computed is wrong (a checksum, a number of
 * objects collected): figures of a broken run are never reported as valid.
 */
#ifndef RCGC_BENCH_H
#define RCGC_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

/* Nanoseconds from a monotonic clock. */
static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The compiler must assume p escapes and that memory it points to is read and
   written: keeps allocations and stores that nothing else uses. */
static inline void bench_escape(void *p)
{
    __asm__ volatile("" : : "g"(p) : "memory");
}

/* All memory may have changed: values must be stored before and reloaded after. */
static inline void bench_clobber(void)
{
    __asm__ volatile("" : : : "memory");
}

/* Returns p, hiding from the compiler where it came from. */
static inline void *bench_opaque(void *p)
{
    __asm__ volatile("" : "+r"(p));
    return p;
}

static inline void bench_result(const char *bench, const char *variant, const char *kase,
                                const char *metric, double value, const char *unit)
{
    printf("@result %s %s %s %s %.6g %s\n", bench, variant, kase, metric, value, unit);
    fflush(stdout);
}

/* A field of /proc/self/status in bytes (VmRSS, VmHWM), or 0 when unavailable. */
static inline size_t bench_proc_status_bytes(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t len = strlen(field), kib = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            kib = (size_t)strtoull(line + len + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib * 1024;
}

/* The resident set size in bytes, to subtract from a later peak. The first
   read of /proc/self/status faults in the code that parses it (up to 192 KiB
   of glibc 2.36) after the read, so the second read is the one returned. */
static inline size_t bench_rss_baseline(void)
{
    (void)bench_proc_status_bytes("VmRSS");
    return bench_proc_status_bytes("VmRSS");
}

/* Peak resident set size in bytes (VmHWM, or getrusage's ru_maxrss). */
static inline size_t bench_peak_rss_bytes(void)
{
    size_t hwm = bench_proc_status_bytes("VmHWM");
    if (hwm == 0) {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) == 0)
            hwm = (size_t)ru.ru_maxrss * 1024;
    }
    return hwm;
}

/* Profiling one phase: under bench/profile.sh, `perf record` starts with its
   events disabled and listens on the FIFO named by BENCH_PERF_CTL (answering on
   BENCH_PERF_ACK); bench_perf("enable") and bench_perf("disable") then bracket
   the part worth profiling. Without those variables they do nothing. */
static inline void bench_perf(const char *command)
{
    const char *ctl = getenv("BENCH_PERF_CTL"), *ack = getenv("BENCH_PERF_ACK");
    char reply[16];
    FILE *f;
    if (!ctl || !ack)
        return;
    f = fopen(ctl, "w");
    if (!f)
        return;
    fprintf(f, "%s\n", command);
    fclose(f);
    f = fopen(ack, "r");
    if (!f)
        return;
    if (!fgets(reply, sizeof reply, f))
        reply[0] = 0;
    fclose(f);
}

/* Command line: every program accepts `--tiny` (a size that runs in
   milliseconds, for the test suite) and `--quick` (smaller sizes), plus
   `NAME=VALUE` settings read with bench_arg_long / bench_arg_str. */
typedef struct bench_args {
    int argc;
    char **argv;
    int tiny;
    int quick;
} bench_args;

static inline bench_args bench_parse(int argc, char **argv)
{
    bench_args a = { argc, argv, 0, 0 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tiny") == 0)
            a.tiny = 1;
        else if (strcmp(argv[i], "--quick") == 0)
            a.quick = 1;
        else if (!strchr(argv[i], '=')) {
            fprintf(stderr, "%s: unknown argument %s (use --tiny, --quick or NAME=VALUE)\n", argv[0], argv[i]);
            exit(2);
        }
    }
    return a;
}

/* The value of the last NAME=VALUE argument, or dflt. */
static inline const char *bench_arg_str(const bench_args *a, const char *name, const char *dflt)
{
    size_t len = strlen(name);
    for (int i = a->argc - 1; i > 0; i--)
        if (strncmp(a->argv[i], name, len) == 0 && a->argv[i][len] == '=')
            return a->argv[i] + len + 1;
    return dflt;
}

static inline long bench_arg_long(const bench_args *a, const char *name, long dflt)
{
    const char *s = bench_arg_str(a, name, NULL);
    char *end;
    long v;
    if (!s)
        return dflt;
    v = strtol(s, &end, 10);
    if (*end == 'e' || *end == 'E') {   /* 1e6 */
        long e = strtol(end + 1, &end, 10);
        while (e-- > 0)
            v *= 10;
    }
    if (*end || v < 0) {
        fprintf(stderr, "%s=%s: not a non-negative number\n", name, s);
        exit(2);
    }
    return v;
}

/* Writes n as "1eK" when it is a power of ten, else in decimal. */
static inline void bench_count_str(long n, char *buf, size_t size)
{
    long p = 1;
    int e = 0;
    while (p < n) {
        p *= 10;
        e++;
    }
    if (p == n)
        snprintf(buf, size, "1e%d", e);
    else
        snprintf(buf, size, "%ld", n);
}

/* Reports a wrong result and ends the program with status 1. */
static inline void bench_fail(const char *bench, const char *what)
{
    fprintf(stderr, "%s: wrong result: %s\n", bench, what);
    exit(1);
}

static inline void *bench_check_alloc(void *p)
{
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(3);
    }
    return p;
}

#endif
