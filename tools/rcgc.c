/*
 * rcgc, the command-line program: `rcgc replay [OPTIONS] FILE|-` runs a heap
 * trace (replay.h) and can explain its collections, draw its heap and say
 * why an object is alive (watch.h); `rcgc --version` prints the linked
 * library's version, `rcgc --help` the usage. Wrong usage: a message on
 * stderr, exit status 2.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcgc.h"
#include "replay.h"
#include "watch.h"

static const char usage_text[] =
    "usage: rcgc replay [OPTIONS] FILE|-  run a heap trace ('-': standard input)\n"
    "       rcgc --version                print the library version\n"
    "       rcgc --help                   print this help\n"
    "\n"
    "Options of replay:\n"
    "  --echo       print each operation as '> TOKENS' before the events it causes\n"
    "  --fields     each object's slots are registered as its type's fields\n"
    "               (rcgc_set_type_fields), so that the collector and the release\n"
    "               read them without calling traverse; the output must be the same\n"
    "  --plain      objects without a finalizer have no destroy hook, so that nothing\n"
    "               watches them die and a collection may free their cycles in bulk;\n"
    "               the output must be the same (not with the four options below)\n"
    "  --explain    for each collection, show the collector's work step by step:\n"
    "               reference counts, gc_refs, what is reachable, what is freed,\n"
    "               resurrected, and where the survivors go (implies --echo)\n"
    "  --why ID     after each operation, print the shortest chain of references\n"
    "               from an object referenced from outside to object ID\n"
    "  --dot DIR    write the heap as Graphviz DOT after each operation\n"
    "               (DIR/step-0001.dot, ...) and as each collection found it\n"
    "               (DIR/step-NNNN-gc.dot), with .svg files when 'dot' is on PATH\n"
    "               (from the first time dot fails, a warning, and no more .svg)\n"
    "  --html FILE  write one page that steps through the trace with the arrow keys\n"
    "               (also when the trace stops at an error: up to the error)\n"
    "\n"
    "Exit status: 0 when the whole trace ran, 2 on a malformed trace or wrong usage.\n";

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "rcgc: %s%s\n%s", what, arg, usage_text);
    return 2;
}

/* Reads an object name for --why: 1..2^31-1, like the trace's IDs. */
static int parse_id(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1 || v > TRACE_MAX_NUMBER)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int replay_command(int argc, char **argv)
{
    struct replay_options options = { 0 };
    struct watch_options watching = { 0 };
    struct watch *w = NULL;
    const char *path = NULL;
    FILE *in;
    int status;
    int i;

    for (i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--echo") == 0) {
            options.echo = true;
        } else if (strcmp(arg, "--plain") == 0) {
            options.plain = true;
        } else if (strcmp(arg, "--fields") == 0) {
            options.fields = true;
        } else if (strcmp(arg, "--explain") == 0) {
            watching.explain = true;
            options.echo = true;
        } else if (strcmp(arg, "--why") == 0 || strcmp(arg, "--dot") == 0 || strcmp(arg, "--html") == 0) {
            if (i + 1 == argc)
                return usage_error("replay: missing the value of ", arg);
            if (strcmp(arg, "--why") == 0) {
                if (parse_id(argv[i + 1], &watching.why_id) != 0)
                    return usage_error("replay: --why needs an object ID (1..2147483647), not ", argv[i + 1]);
                watching.why = true;
            } else if (strcmp(arg, "--dot") == 0) {
                watching.dot_dir = argv[i + 1];
            } else {
                watching.html_path = argv[i + 1];
            }
            i++;
        } else if (strcmp(arg, "--help") == 0) {
            return fputs(usage_text, stdout) == EOF ? 2 : 0;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage_error("replay: unknown option ", arg);
        } else if (path != NULL) {
            return usage_error("replay: more than one trace: ", arg);
        } else {
            path = arg;
        }
    }
    if (path == NULL)
        return usage_error("replay: missing the trace (FILE, or - for standard input)", "");
    if (options.plain && (watching.explain || watching.why || watching.dot_dir != NULL || watching.html_path != NULL))
        return usage_error("replay: --plain cannot be combined with --explain, --why, --dot or --html, ",
                           "which follow every object until its destroy hook");
    in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (in == NULL) {
        fprintf(stderr, "rcgc: cannot open %s: %s\n", path, strerror(errno));
        return 2;
    }
    if (watching.explain || watching.why || watching.dot_dir != NULL || watching.html_path != NULL) {
        const char *slash = strrchr(path, '/');
        watching.trace_name = strcmp(path, "-") == 0 ? "standard input" : slash ? slash + 1 : path;
        watching.err = stderr;
        w = watch_new(&watching);
        if (w == NULL) {
            fprintf(stderr, "rcgc: out of memory\n");
            if (in != stdin)
                fclose(in);
            return 2;
        }
    }
    status = replay_run_hooked(in, stdout, stderr, &options, w != NULL ? watch_hooks(w) : NULL);
    if (in != stdin)
        fclose(in);
    if (w != NULL && watch_finish(w, stderr) != 0)
        status = 2;
    watch_free(w);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "rcgc: cannot write the output\n");
        return 2;
    }
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("missing a command", "");
    if (strcmp(argv[1], "replay") == 0)
        return replay_command(argc, argv);
    if (strcmp(argv[1], "--version") != 0 && strcmp(argv[1], "--help") != 0)
        return usage_error("unknown command or option: ", argv[1]);
    if (argc > 2)
        return usage_error("unexpected argument: ", argv[2]);
    if (strcmp(argv[1], "--version") == 0) {
        int v = rcgc_version();
        printf("rcgc %d.%d.%d\n", v / 10000, v / 100 % 100, v % 100);
    } else {
        fputs(usage_text, stdout);
    }
    return fflush(stdout) == 0 ? 0 : 2;
}
