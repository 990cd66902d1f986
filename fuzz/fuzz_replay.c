/*
 * libFuzzer target: the input is a heap trace, run by the replayer behind
 * `rcgc replay` (tools/replay.h) twice.
 *
 * The first run uses the system's memory (the default memory source). It must end with status 0 and
 * nothing on the error stream, or status 2 and one "trace:LINE: ..." line.
 * The second run takes its memory from a source that fails request number K
 * (K from the first byte of the input, 1..24; request 1 is the heap itself).
 * If no request failed, it must print exactly what the first run printed. If
 * one did, the replay must stop with status 2 and "trace:LINE: out of memory",
 * its events must be a beginning of the first run's, and every region must be
 * back with the size it was asked for. Both runs free everything, so
 * LeakSanitizer checks the failure paths too. The echo option is on for one
 * input in three, so that it is exercised as well, and the second run uses
 * the plain option (objects without a finalizer have no destroy hook, so the
 * collector frees their cycles in bulk) for one input in two, and the fields
 * option (each object's slots registered as its type's fields, read without
 * traverse) for one in two: without a failure, its output must still be the
 * first run's.
 */
#define _POSIX_C_SOURCE 200809L
#include "fuzz.h"
#include "replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FAIL_AT 24

struct run {
    int status;
    char *out, *err;
    size_t out_len, err_len;
};

static void run_trace(const uint8_t *data, size_t size, const rcgc_config *config, bool echo, bool plain,
                      bool fields, struct run *r)
{
    /* A private copy, so that AddressSanitizer sees any read past the end. */
    char *copy = malloc(size + 1);
    struct replay_options options = { 0 };
    FILE *in, *out, *err;

    if (copy == NULL)
        fuzz_fail("out of memory for the input copy");
    if (size > 0)
        memcpy(copy, data, size);
    copy[size] = '\0';
    in = size > 0 ? fmemopen(copy, size, "r") : fopen("/dev/null", "r");
    out = open_memstream(&r->out, &r->out_len);
    err = open_memstream(&r->err, &r->err_len);
    if (in == NULL || out == NULL || err == NULL)
        fuzz_fail("cannot open the in-memory streams");
    options.echo = echo;
    options.plain = plain;
    options.fields = fields;
    options.heap_config = config;
    r->status = replay_run(in, out, err, &options);
    fclose(in);
    fclose(out);
    fclose(err);
    free(copy);
}

static void free_run(struct run *r)
{
    free(r->out);
    free(r->err);
}

/* Whether err is exactly one line "trace:N: MESSAGE\n" (any message when
   message is NULL). */
static bool is_error_line(const struct run *r, const char *message)
{
    const char *p = r->err;
    const char *nl = memchr(r->err, '\n', r->err_len);

    if (nl == NULL || nl != r->err + r->err_len - 1 || strncmp(p, "trace:", 6) != 0)
        return false;
    p += 6;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p[0] != ':' || p[1] != ' ')
        return false;
    p += 2;
    if (message == NULL)
        return p < nl;
    return (size_t)(nl - p) == strlen(message) && memcmp(p, message, strlen(message)) == 0;
}

/* Where the heaps' debug output goes (the debug build's leak summary of a
   replay that stopped early): nowhere, through a real stream. */
static FILE *debug_sink(void)
{
    static FILE *sink;

    if (sink == NULL)
        sink = fopen("/dev/null", "w");
    if (sink == NULL)
        fuzz_fail("cannot open /dev/null");
    return sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run first, second;
    struct fuzz_memory memory;
    rcgc_config config;
    bool echo = size % 3 == 0;
    bool plain = size / 3 % 2 == 0;
    bool fields = size / 6 % 2 == 0;
    size_t fail_at = 1 + (size > 0 ? data[0] % MAX_FAIL_AT : 0);

    memset(&first, 0, sizeof first);
    memset(&second, 0, sizeof second);
    memset(&config, 0, sizeof config);
    config.debug_stream = debug_sink();
    run_trace(data, size, &config, echo, false, false, &first);
    if (first.status == 0 && first.err_len != 0)
        fuzz_fail("status 0 with an error message: %s", first.err);
    if (first.status == 2 && !is_error_line(&first, NULL))
        fuzz_fail("status 2 without one \"trace:LINE: message\" line: %.*s", (int)first.err_len, first.err);
    if (first.status != 0 && first.status != 2)
        fuzz_fail("replay_run returned %d", first.status);

    fuzz_memory_init(&memory, fail_at, false);
    config = fuzz_memory_config(&memory);
    config.debug_stream = debug_sink();
    run_trace(data, size, &config, echo, plain, fields, &second);
    if (memory.nregions != 0 || memory.bad_frees != 0)
        fuzz_fail("after the replay: %zu regions not given back, %zu bad frees", memory.nregions, memory.bad_frees);
    fuzz_memory_release(&memory);

    if (memory.injected == 0) {
        if (second.status != first.status || second.out_len != first.out_len ||
            memcmp(second.out, first.out, first.out_len) != 0 || second.err_len != first.err_len ||
            memcmp(second.err, first.err, first.err_len) != 0)
            fuzz_fail("the same trace gave different results on another memory source%s%s",
                      plain ? " with the plain option" : "", fields ? " with the fields option" : "");
    } else {
        if (second.status != 2 || !is_error_line(&second, "out of memory"))
            fuzz_fail("request %zu failed, but the replay said (status %d): %.*s", fail_at, second.status,
                      (int)second.err_len, second.err);
        if (second.out_len > first.out_len || memcmp(second.out, first.out, second.out_len) != 0)
            fuzz_fail("the events before running out of memory differ from the full run's");
    }
    free_run(&first);
    free_run(&second);
    return 0;
}
