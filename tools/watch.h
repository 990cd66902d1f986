/*
 * What `rcgc replay` can show besides the events, as replay hooks
 * (replay.h): --explain (explain.h) for every collection, --why ID after
 * every operation, --dot DIR (the heap in Graphviz DOT after every operation,
 * and as each collection found it, with SVG next to each file when `dot` is
 * on PATH) and --html FILE (one page that steps through the trace: html.h).
 */
#ifndef RCGC_TOOLS_WATCH_H
#define RCGC_TOOLS_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "replay.h"

struct watch_options {
    bool explain;
    bool why;
    uint32_t why_id;
    const char *dot_dir;            /* NULL: no DOT files */
    const char *html_path;          /* NULL: no page */
    const char *trace_name;         /* the page's title */
    FILE *err;                      /* warnings (Graphviz failed) */
};

struct watch;

/* A watcher for one replay, or NULL when memory is short. */
struct watch *watch_new(const struct watch_options *options);

/* The hooks to give replay_run_hooked. */
const struct replay_hooks *watch_hooks(struct watch *w);

/* After the replay: writes the page (--html) into the file the replay's
   start opened, with the operations that ran; when the replay stopped at an
   error, the page says so. 0, or -1 with a message on err. */
int watch_finish(struct watch *w, FILE *err);

void watch_free(struct watch *w);

/* Whether Graphviz's `dot` is an executable on PATH. */
bool watch_have_graphviz(void);

#endif
