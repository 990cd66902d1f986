/*
 * The replay hooks of `rcgc replay --explain --why --dot --html` (watch.h).
 *
 * A collection callback does the work that must happen while the collector
 * has not yet touched anything: at START it computes the explanation
 * (explain.h), prints its table, and takes the picture of the heap with the
 * unreachable set marked; at STOP it prints what became of the objects.
 * After each operation come --why, the DOT file of the heap, and for the
 * page the events of the operation (the replay's output is redirected to a
 * memory stream during each operation, then copied to the real output) and
 * its pictures. Pictures are SVG drawn by Graphviz when `dot` is on PATH,
 * and for the page by the built-in layout (layout.h) otherwise, or from the
 * first time `dot` fails on (a warning says so once): the DOT files are then
 * written without SVG. The page's file is opened at the start, so that a
 * path that cannot be written stops the replay before it runs, and written
 * at the end whether the replay ran the whole trace or stopped at an error.
 */
#define _POSIX_C_SOURCE 200809L
#include "watch.h"

#include <errno.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "explain.h"
#include "html.h"
#include "layout.h"

extern char **environ;

struct watch {
    struct watch_options o;
    struct replay_hooks hooks;
    struct explain ex;
    bool graphviz;                  /* `dot` is on PATH and has not failed */
    bool graphviz_failed;
    char *tmpdir;                   /* the page's scratch directory for Graphviz */
    int failed;                     /* a callback failed: the step reports error */
    char error[TRACE_MESSAGE_SIZE];
    unsigned gcs_in_step;           /* collections during the current operation */
    char op_text[TRACE_MAX_LINE + 8];
    /* The page. */
    FILE *real_out;                 /* the replay's output while a step is captured */
    FILE *capture;
    char *captured;
    size_t captured_len;
    struct html_frame *frames;
    size_t nframes, frames_cap;
    char *gc_dot;                   /* this step's collection picture, in DOT */
    int gc_generation;
    FILE *page;
    char stopped[TRACE_MESSAGE_SIZE + 32]; /* "trace:LINE: what", when the replay stopped */
};

/* ------------------------------------------------------------------------- */
/* Files and Graphviz                                                        */
/* ------------------------------------------------------------------------- */

bool watch_have_graphviz(void)
{
    const char *path = getenv("PATH");
    char file[4096];

    while (path != NULL && *path != '\0') {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        if (n > 0 && n + 5 < sizeof file) {
            memcpy(file, path, n);
            memcpy(file + n, "/dot", 5);
            if (access(file, X_OK) == 0)
                return true;
        }
        path = end ? end + 1 : NULL;
    }
    return false;
}

/* Graphviz failed on path: the rest goes without it, which the first
   failure says. */
static void graphviz_failed(struct watch *w, const char *path)
{
    if (!w->graphviz_failed)
        fprintf(w->o.err, "rcgc: dot -Tsvg failed on %s; the pictures from here on are drawn without Graphviz%s\n",
                path, w->o.dot_dir != NULL ? " (the DOT files are written without SVG)" : "");
    w->graphviz = false;
    w->graphviz_failed = true;
}

/* Runs dot -Tsvg -o svg_path dot_path. 0 on success. */
static int run_graphviz(const char *dot_path, const char *svg_path)
{
    char *argv[] = { "dot", "-Tsvg", "-o", (char *)svg_path, (char *)dot_path, NULL };
    pid_t pid;
    int status;

    if (posix_spawnp(&pid, "dot", NULL, NULL, argv, environ) != 0)
        return -1;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (f == NULL)
        return -1;
    ok = fputs(text, f) != EOF;
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : -1;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct sbuf b = { NULL, 0, 0, false };
    char chunk[8192];
    size_t n;

    if (f == NULL)
        return NULL;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sbuf_append(&b, chunk, n);
    if (ferror(f) || b.failed || b.text == NULL) {
        fclose(f);
        sbuf_free(&b);
        return NULL;
    }
    fclose(f);
    return b.text;
}

/* ------------------------------------------------------------------------- */
/* Pictures                                                                  */
/* ------------------------------------------------------------------------- */

static void label_of(const void *obj, char *buf, size_t size, void *arg)
{
    replay_name_of(arg, obj, buf, size);
}

/* The heap in DOT (malloc'd), or NULL when memory is short. */
static char *heap_dot(struct replay *rp, const char *title, void *const *unreachable, size_t n, bool legend)
{
    rcgc_dot_options opt;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int r;

    if (f == NULL)
        return NULL;
    memset(&opt, 0, sizeof opt);
    opt.label = label_of;
    opt.label_arg = rp;
    opt.unreachable = unreachable;
    opt.unreachable_count = n;
    opt.title = title;
    opt.legend = legend;
    r = rcgc_dump_dot_ex(rp->heap, f, &opt);
    if (fclose(f) != 0 || r != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* Writes DIR/NAME.dot, and NAME.svg with Graphviz. */
static int write_picture(struct watch *w, struct replay *rp, const char *name, const char *dot)
{
    size_t len = strlen(w->o.dot_dir) + strlen(name) + 8;
    char *path = malloc(len), *svg = malloc(len);
    int r = 0;

    if (path == NULL || svg == NULL) {
        r = replay_fail(rp, "out of memory");
    } else {
        snprintf(path, len, "%s/%s.dot", w->o.dot_dir, name);
        snprintf(svg, len, "%s/%s.svg", w->o.dot_dir, name);
        if (write_text(path, dot) != 0) {
            r = replay_fail(rp, "cannot write %s: %s", path, strerror(errno));
        } else if (w->graphviz && run_graphviz(path, svg) != 0) {
            remove(svg);
            graphviz_failed(w, path);
        }
    }
    free(path);
    free(svg);
    return r;
}

/* An <svg> element for the page (malloc'd), or NULL. */
static char *page_svg(struct watch *w, const char *dot)
{
    if (w->graphviz && w->tmpdir != NULL) {
        size_t len = strlen(w->tmpdir) + 16;
        char *dot_path = malloc(len), *svg_path = malloc(len), *svg = NULL;
        bool failed = false;
        if (dot_path != NULL && svg_path != NULL) {
            snprintf(dot_path, len, "%s/heap.dot", w->tmpdir);
            snprintf(svg_path, len, "%s/heap.svg", w->tmpdir);
            if (write_text(dot_path, dot) == 0) {
                failed = run_graphviz(dot_path, svg_path) != 0;
                if (!failed)
                    svg = read_text(svg_path);
            }
            remove(dot_path);
            remove(svg_path);
        }
        free(dot_path);
        free(svg_path);
        if (svg != NULL) {
            char *start = strstr(svg, "<svg");
            if (start != NULL && start != svg)
                memmove(svg, start, strlen(start) + 1);
        }
        if (!failed)
            return svg;
        graphviz_failed(w, "the page's picture");
    }
    struct sbuf b = { NULL, 0, 0, false };
    if (layout_svg(dot, &b) != 0 || b.failed) {
        sbuf_free(&b);
        return NULL;
    }
    return b.text;
}

/* ------------------------------------------------------------------------- */
/* Collections                                                               */
/* ------------------------------------------------------------------------- */

/* A collection callback ran out of memory: the step reports it once the
   operation returns (hook_after). */
static void collection_out_of_memory(struct watch *w)
{
    w->failed = 1;
    snprintf(w->error, sizeof w->error, "out of memory");
}

static void on_collection(rcgc_heap *h, rcgc_phase phase, const rcgc_gc_info *info, void *data)
{
    struct replay *rp = data;
    struct watch *w = rp->hooks->data;

    (void)h;
    if (w->failed)
        return;
    if (phase == RCGC_PHASE_STOP) {
        if (w->ex.running) {
            /* A resurrection the replay could not make (out_of_memory)
               leaves nothing true to summarize either. */
            if (explain_stop(&w->ex, rp) != 0 || rp->out_of_memory) {
                collection_out_of_memory(w);
                return;
            }
            if (w->o.explain)
                explain_print_stop(&w->ex, rp->out);
        }
        return;
    }
    if (explain_start(&w->ex, rp, info->generation) != 0) {
        w->ex.running = false;
        collection_out_of_memory(w);
        return;
    }
    if (w->o.explain)
        explain_print_start(&w->ex, rp->out);
    w->gcs_in_step++;
    if (w->o.dot_dir == NULL && w->o.html_path == NULL)
        return;
    char title[TRACE_MAX_LINE + 160];
    snprintf(title, sizeof title, "step %llu: %s, as the collection of generation %d found it (unreachable: red)",
             rp->steps, w->op_text, info->generation);
    char *dot = heap_dot(rp, title, w->ex.unreachable, w->ex.nunreachable, w->o.dot_dir != NULL);
    if (dot == NULL) {
        collection_out_of_memory(w);
        return;
    }
    if (w->o.dot_dir != NULL) {
        char name[64];
        if (w->gcs_in_step == 1)
            snprintf(name, sizeof name, "step-%04llu-gc", rp->steps);
        else
            snprintf(name, sizeof name, "step-%04llu-gc-%u", rp->steps, w->gcs_in_step);
        if (write_picture(w, rp, name, dot) != 0) {
            w->failed = 1;
            memcpy(w->error, rp->message, sizeof w->error);
        }
    }
    if (w->o.html_path != NULL && w->gc_dot == NULL) {
        w->gc_dot = dot;
        w->gc_generation = info->generation;
    } else {
        free(dot);
    }
}

/* ------------------------------------------------------------------------- */
/* Hooks                                                                     */
/* ------------------------------------------------------------------------- */

static int hook_start(struct replay *rp, void *data)
{
    struct watch *w = data;

    if ((w->o.explain || w->o.dot_dir != NULL || w->o.html_path != NULL)
        && rcgc_callback_add(rp->heap, on_collection, rp) != 0)
        return replay_fail(rp, "out of memory");
    if (w->o.dot_dir != NULL && mkdir(w->o.dot_dir, 0777) != 0) {
        struct stat st;
        if (errno != EEXIST)
            return replay_fail(rp, "cannot create %s: %s", w->o.dot_dir, strerror(errno));
        if (stat(w->o.dot_dir, &st) != 0 || !S_ISDIR(st.st_mode))
            return replay_fail(rp, "cannot create %s: %s", w->o.dot_dir, strerror(ENOTDIR));
    }
    if (w->o.html_path != NULL && w->graphviz) {
        char tmpl[] = "/tmp/rcgc-html-XXXXXX";
        const char *dir = mkdtemp(tmpl);
        if (dir == NULL || (w->tmpdir = strdup(dir)) == NULL)
            return replay_fail(rp, "cannot make a scratch directory for Graphviz");
    }
    if (w->o.html_path != NULL && (w->page = fopen(w->o.html_path, "wb")) == NULL)
        return replay_fail(rp, "cannot write %s: %s", w->o.html_path, strerror(errno));
    return 0;
}

static int hook_before(struct replay *rp, const struct trace_op *op, void *data)
{
    struct watch *w = data;
    size_t i, len = 0;

    w->gcs_in_step = 0;
    for (i = 0; i < op->ntokens; i++) {
        int n = snprintf(w->op_text + len, sizeof w->op_text - len, "%s%s", i ? " " : "", op->tokens[i]);
        if (n < 0 || (size_t)n >= sizeof w->op_text - len)
            break;
        len += (size_t)n;
    }
    if (w->o.html_path != NULL) {
        w->captured = NULL;
        w->captured_len = 0;
        w->capture = open_memstream(&w->captured, &w->captured_len);
        if (w->capture == NULL)
            return replay_fail(rp, "out of memory");
        w->real_out = rp->out;
        rp->out = w->capture;
    }
    return 0;
}

/* Ends the capture of a step: copies it to the real output and returns it
   (malloc'd; NULL when memory was short). */
static char *end_capture(struct watch *w, struct replay *rp)
{
    char *text;

    if (w->capture == NULL)
        return NULL;
    rp->out = w->real_out;
    if (fclose(w->capture) != 0) {
        free(w->captured);
        w->captured = NULL;
    }
    w->capture = NULL;
    text = w->captured;
    w->captured = NULL;
    if (text != NULL)
        fwrite(text, 1, w->captured_len, rp->out);
    return text;
}

static int add_frame(struct watch *w, struct replay *rp, char *events)
{
    struct html_frame *f;
    char title[TRACE_MAX_LINE + 32];
    char *dot, *svg;

    if (w->nframes == w->frames_cap) {
        size_t cap = w->frames_cap ? w->frames_cap * 2 : 64;
        struct html_frame *frames = realloc(w->frames, cap * sizeof *frames);
        if (frames == NULL) {
            free(events);
            return replay_fail(rp, "out of memory");
        }
        w->frames = frames;
        w->frames_cap = cap;
    }
    snprintf(title, sizeof title, "step %llu: %s", rp->steps, w->op_text);
    dot = heap_dot(rp, title, NULL, 0, false);
    svg = dot != NULL ? page_svg(w, dot) : NULL;
    free(dot);
    f = &w->frames[w->nframes];
    memset(f, 0, sizeof *f);
    f->op = strdup(w->op_text);
    f->events = events;
    f->svg = svg;
    bool gc_failed = false;
    if (w->gc_dot != NULL) {
        f->gc_svg = page_svg(w, w->gc_dot);
        f->gc_generation = w->gc_generation;
        gc_failed = f->gc_svg == NULL;
        free(w->gc_dot);
        w->gc_dot = NULL;
    }
    w->nframes++;
    if (f->op == NULL || f->events == NULL || f->svg == NULL || gc_failed)
        return replay_fail(rp, w->graphviz ? "cannot draw the heap with dot" : "out of memory");
    return 0;
}

static int hook_after(struct replay *rp, const struct trace_op *op, void *data)
{
    struct watch *w = data;

    (void)op;
    if (w->failed)
        return replay_fail(rp, "%s", w->error);
    if (w->o.why && explain_why(rp, w->o.why_id, rp->out) != 0)
        return replay_fail(rp, "out of memory");
    if (w->o.html_path != NULL && add_frame(w, rp, end_capture(w, rp)) != 0)
        return -1;
    if (w->o.dot_dir != NULL) {
        char title[TRACE_MAX_LINE + 32], name[32];
        char *dot;
        int r;
        snprintf(title, sizeof title, "step %llu: %s", rp->steps, w->op_text);
        snprintf(name, sizeof name, "step-%04llu", rp->steps);
        dot = heap_dot(rp, title, NULL, 0, true);
        if (dot == NULL)
            return replay_fail(rp, "out of memory");
        r = write_picture(w, rp, name, dot);
        free(dot);
        if (r != 0)
            return -1;
    }
    return 0;
}

static void hook_event(struct replay *rp, char kind, uint32_t name, void *data)
{
    struct watch *w = data;

    (void)rp;
    explain_note(&w->ex, kind, name);
}

static void hook_end(struct replay *rp, int status, void *data)
{
    struct watch *w = data;

    if (status != 0)
        snprintf(w->stopped, sizeof w->stopped, "trace:%llu: %s", rp->line, rp->message);
    free(end_capture(w, rp));
    free(w->gc_dot);
    w->gc_dot = NULL;
}

/* ------------------------------------------------------------------------- */
/* The watcher                                                               */
/* ------------------------------------------------------------------------- */

struct watch *watch_new(const struct watch_options *options)
{
    struct watch *w = calloc(1, sizeof *w);

    if (w == NULL)
        return NULL;
    w->o = *options;
    w->graphviz = (options->dot_dir != NULL || options->html_path != NULL) && watch_have_graphviz();
    w->hooks.data = w;
    w->hooks.start = hook_start;
    w->hooks.before_step = hook_before;
    w->hooks.after_step = hook_after;
    w->hooks.event = hook_event;
    w->hooks.end = hook_end;
    return w;
}

const struct replay_hooks *watch_hooks(struct watch *w)
{
    return &w->hooks;
}

int watch_finish(struct watch *w, FILE *err)
{
    const char *renderer = w->graphviz_failed ? "Graphviz, then (dot failed) the built-in layout"
                           : w->graphviz      ? "Graphviz"
                                              : "built-in layout";
    FILE *f = w->page;
    int r;

    if (f == NULL)
        return 0;
    w->page = NULL;
    r = html_write(f, w->o.trace_name ? w->o.trace_name : "trace", renderer, w->frames, w->nframes,
                   w->stopped[0] ? w->stopped : NULL);
    if (fclose(f) != 0)
        r = -1;
    if (r != 0)
        fprintf(err, "rcgc: cannot write %s\n", w->o.html_path);
    return r;
}

void watch_free(struct watch *w)
{
    size_t i;

    if (w == NULL)
        return;
    for (i = 0; i < w->nframes; i++) {
        free(w->frames[i].op);
        free(w->frames[i].events);
        free(w->frames[i].svg);
        free(w->frames[i].gc_svg);
    }
    free(w->frames);
    free(w->gc_dot);
    if (w->page != NULL)
        fclose(w->page);
    if (w->tmpdir != NULL) {
        rmdir(w->tmpdir);
        free(w->tmpdir);
    }
    explain_free(&w->ex);
    free(w);
}
