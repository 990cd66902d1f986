/*
 * rcgc, the command-line program: `rcgc replay [--echo] FILE|-` runs a heap
 * trace (replay.h), `rcgc --version` prints the linked library's version,
 * `rcgc --help` the usage. Wrong usage: a message on stderr, exit status 2.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rcgc.h"
#include "replay.h"

static const char usage_text[] =
    "usage: rcgc replay [--echo] FILE|-   run a heap trace ('-': standard input)\n"
    "       rcgc --version                print the library version\n"
    "       rcgc --help                   print this help\n"
    "\n"
    "  --echo   print each operation as '> TOKENS' before the events it causes\n"
    "\n"
    "Exit status: 0 when the whole trace ran, 2 on a malformed trace or wrong usage.\n";

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "rcgc: %s%s\n%s", what, arg, usage_text);
    return 2;
}

static int replay_command(int argc, char **argv)
{
    struct replay_options options = { 0 };
    const char *path = NULL;
    FILE *in;
    int status;
    int i;

    for (i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--echo") == 0)
            options.echo = true;
        else if (strcmp(arg, "--help") == 0)
            return fputs(usage_text, stdout) == EOF ? 2 : 0;
        else if (arg[0] == '-' && arg[1] != '\0')
            return usage_error("replay: unknown option ", arg);
        else if (path != NULL)
            return usage_error("replay: more than one trace: ", arg);
        else
            path = arg;
    }
    if (path == NULL)
        return usage_error("replay: missing the trace (FILE, or - for standard input)", "");
    in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (in == NULL) {
        fprintf(stderr, "rcgc: cannot open %s: %s\n", path, strerror(errno));
        return 2;
    }
    status = replay_run(in, stdout, stderr, &options);
    if (in != stdin)
        fclose(in);
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
