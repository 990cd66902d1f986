/*
 * gc.garbage, debug flags and collection callbacks (issue 4): the flag values
 * and rcgc_set_debug / rcgc_get_debug; RCGC_DEBUG_SAVEALL (S13: the garbage
 * list keeps the unreachable objects alive, intact, in list order, moved to
 * the next generation; finalizers and weak-reference callbacks still run);
 * the messages of RCGC_DEBUG_STATS and RCGC_DEBUG_COLLECTABLE in CPython's
 * format on rcgc_config.debug_stream, and silence without them; callbacks
 * (S32 order and counts, removal, a callback that collects, one that
 * allocates and drops objects).
 *
 * Expected values come from CPython 3.11's rules and results in
 * ../shared/reference/cpython-gc.md (sections 1.4, 1.8-1.11, 3.2 and 3.3),
 * never from running rcgc.
 */
#include "rcgc.h"
#include "common.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Types and helpers                                                         */
/* ------------------------------------------------------------------------- */

/* A self-loop the caller no longer holds: garbage. Returns it (borrowed). */
static node *self_loop_trash(rcgc_heap *h, const rcgc_type *t, evlog *log, const char *name)
{
    node *n = new_named(h, t, log, name);
    rcgc_set(&n->a, n);
    rcgc_decref(n);
    return n;
}

/* A heap with automatic collection off whose debug messages go to a new
   temporary file, stored in *f. NULL, after a failed check, when the file or
   the heap cannot be made (the file is then closed). */
static rcgc_heap *heap_with_tmpfile(FILE **f)
{
    *f = tmpfile();
    CHECK(*f != NULL);
    if (!*f)
        return NULL;
    rcgc_config c = {0};
    c.debug_stream = *f;
    rcgc_heap *h = rcgc_heap_new(&c);
    CHECK(h != NULL);
    if (!h) {
        fclose(*f);
        return NULL;
    }
    rcgc_disable(h);
    return h;
}

/* Reads everything written to f so far (from the start) into buf. */
static void read_stream(FILE *f, char *buf, size_t cap)
{
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fseek(f, 0, SEEK_END);
}

/* The text written after offset `from` (a tmpfile is never truncated: each
   step remembers where its output starts). */
static const char *text_after(const char *buf, size_t from)
{
    return strlen(buf) >= from ? buf + from : "";
}

/* Whether line is exactly "gc: done, U unreachable, N uncollectable, D.DDDDs
   elapsed\n" for the given U and N: CPython's "%zd ... %.4fs" format. */
static int done_line_ok(const char *line, size_t unreachable, size_t uncollectable)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "gc: done, %zu unreachable, %zu uncollectable, ",
             unreachable, uncollectable);
    size_t plen = strlen(prefix);
    if (strncmp(line, prefix, plen) != 0)
        return 0;
    const char *p = line + plen;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p++ != '.')
        return 0;
    for (int i = 0; i < 4; i++, p++)
        if (*p < '0' || *p > '9')
            return 0;
    return strcmp(p, "s elapsed\n") == 0;
}

/* Line i of text (with its newline) copied into out. */
static void line_at(const char *text, size_t i, char *out, size_t cap)
{
    const char *p = text;
    for (size_t k = 0; k < i && p; k++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    if (!p) {
        out[0] = '\0';
        return;
    }
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
    if (len >= cap)
        len = cap - 1;
    memcpy(out, p, len);
    out[len] = '\0';
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p; p++)
        if (*p == '\n')
            n++;
    return n;
}

/* Checks that line i of text is want (with its newline). */
static void check_line(const char *text, size_t i, const char *want)
{
    char line[256];
    line_at(text, i, line, sizeof line);
    CHECK_STR(line, want);
}

/* Checks that line i of text is "gc: collectable <TYPE ADDR>\n" for obj of
   the type named type_name, the address printed as %p does (0x...). */
static void check_collectable_line(const char *text, size_t i, const char *type_name, void *obj)
{
    char line[256], want[256];
    line_at(text, i, line, sizeof line);
    snprintf(want, sizeof want, "gc: collectable <%s %p>\n", type_name, obj);
    CHECK_STR(line, want);
    CHECK(strstr(line, "0x") != NULL);
}

/* Checks that line i of text is a "gc: done" line for these counts
   (done_line_ok). */
static void check_done_line(const char *text, size_t i, size_t unreachable, size_t uncollectable)
{
    char line[256];
    line_at(text, i, line, sizeof line);
    CHECK(done_line_ok(line, unreachable, uncollectable));
}

/* Checks that text is what DEBUG_STATS alone prints for one collection of
   generation gen: four lines, the header, the sizes of the three generations
   before the merge (`sizes`, as "3 1 1"), that of the permanent generation,
   and "done" with `unreachable` and no uncollectable objects. */
static void check_stats_report(const char *text, int gen, const char *sizes, size_t permanent, size_t unreachable)
{
    char want[128];
    CHECK_EQ(count_lines(text), 4);
    snprintf(want, sizeof want, "gc: collecting generation %d...\n", gen);
    check_line(text, 0, want);
    snprintf(want, sizeof want, "gc: objects in each generation: %s\n", sizes);
    check_line(text, 1, want);
    snprintf(want, sizeof want, "gc: objects in permanent generation: %zu\n", permanent);
    check_line(text, 2, want);
    check_done_line(text, 3, unreachable, 0);
}

/* Turns SAVEALL off and empties gc.garbage: the saved objects are still
   cycles, so nothing is destroyed until the next full collection, which
   finds the `saved` objects and frees them instead of saving them again;
   nothing is left. */
static void free_saved(rcgc_heap *h, const evlog *log, size_t saved)
{
    size_t destroyed = log->destroyed;
    rcgc_set_debug(h, 0);
    rcgc_garbage_clear(h);
    CHECK_EQ(log->destroyed, destroyed);
    CHECK_EQ(rcgc_collect(h, 2), saved);
    CHECK_EQ(rcgc_garbage_size(h), 0);
    CHECK_EQ(log->destroyed, destroyed + saved);
    CHECK_EQ(live_objects(h), 0);
}

/* ------------------------------------------------------------------------- */
/* Flags                                                                     */
/* ------------------------------------------------------------------------- */

/* S50: DEBUG flags 1, 2, 4, 32, 38; gc.set_debug / gc.get_debug. */
static void test_debug_flag_values(void)
{
    CHECK_EQ(RCGC_DEBUG_STATS, 1);
    CHECK_EQ(RCGC_DEBUG_COLLECTABLE, 2);
    CHECK_EQ(RCGC_DEBUG_UNCOLLECTABLE, 4);
    CHECK_EQ(RCGC_DEBUG_SAVEALL, 32);
    CHECK_EQ(RCGC_DEBUG_LEAK, 38);
    rcgc_heap *h = fresh_heap();
    CHECK_EQ(rcgc_get_debug(h), 0);
    rcgc_set_debug(h, RCGC_DEBUG_LEAK);
    CHECK_EQ(rcgc_get_debug(h), 38);
    rcgc_set_debug(h, RCGC_DEBUG_STATS | RCGC_DEBUG_SAVEALL);
    CHECK_EQ(rcgc_get_debug(h), 33);
    rcgc_set_debug(h, 0);
    CHECK_EQ(rcgc_get_debug(h), 0);
    CHECK_EQ(rcgc_garbage_size(h), 0);
    CHECK(rcgc_garbage_get(h, 0) == NULL);
    rcgc_heap_free(h);
}

/* ------------------------------------------------------------------------- */
/* RCGC_DEBUG_SAVEALL and gc.garbage                                         */
/* ------------------------------------------------------------------------- */

/* S13: with SAVEALL a self-loop is counted (1) and kept in gc.garbage, still
   self-referencing. The list's reference keeps it reachable (next collect 0);
   after clearing the list the cycle is unreachable again (1). */
static void test_s13_saveall(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    rcgc_set_debug(h, RCGC_DEBUG_SAVEALL);
    node *l = self_loop_trash(h, &node_type, &log, "L");
    CHECK_EQ(rcgc_collect(h, 2), 1);
    CHECK_EQ(rcgc_garbage_size(h), 1);
    CHECK(rcgc_garbage_get(h, 0) == l);
    CHECK(rcgc_garbage_get(h, 1) == NULL);
    CHECK_EQ(log.destroyed, 0);
    CHECK(l->a == l);
    CHECK_EQ(rcgc_refcount(l), 2);        /* its own loop and the list */
    CHECK(rcgc_is_tracked(l));

    CHECK_EQ(rcgc_collect(h, 2), 0);      /* held by gc.garbage */
    CHECK_EQ(rcgc_garbage_size(h), 1);

    rcgc_garbage_clear(h);
    CHECK_EQ(rcgc_garbage_size(h), 0);
    CHECK_EQ(log.destroyed, 0);
    CHECK_EQ(rcgc_refcount(l), 1);
    CHECK_EQ(rcgc_collect(h, 2), 1);      /* saved again */
    CHECK_EQ(rcgc_garbage_size(h), 1);
    CHECK(rcgc_garbage_get(h, 0) == l);

    free_saved(h, &log, 1);               /* freed this time */
    rcgc_heap_free(h);
}

/* SAVEALL keeps the trash in list order (delete_garbage walks the list head
   first), with the references intact. */
static void test_saveall_list_order(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *a = new_named(h, &node_type, &log, "A");
    node *b = new_named(h, &node_type, &log, "B");
    node *c = new_named(h, &node_type, &log, "C");
    rcgc_set(&a->a, b);
    rcgc_set(&b->a, c);
    rcgc_set(&c->a, a);
    rcgc_decref(a);
    rcgc_decref(b);
    rcgc_decref(c);
    rcgc_set_debug(h, RCGC_DEBUG_SAVEALL);
    CHECK_EQ(rcgc_collect(h, 2), 3);
    CHECK_EQ(rcgc_garbage_size(h), 3);
    CHECK(rcgc_garbage_get(h, 0) == a);
    CHECK(rcgc_garbage_get(h, 1) == b);
    CHECK(rcgc_garbage_get(h, 2) == c);
    CHECK(a->a == b && b->a == c && c->a == a);
    CHECK_EQ(log.destroyed, 0);
    free_saved(h, &log, 3);
    rcgc_heap_free(h);
}

/* rcgc_garbage_clear empties the list before it releases anything, and
   releases the last first, as CPython's del gc.garbage[:] does: a finalizer
   run by the release of a saved object sees the list empty, and what a
   collection run there saves stays saved. (CPython 3.11, the same program
   with a class with __del__ held by the second saved object: the finalizer
   sees len(gc.garbage) == 0, its collection saves its new cycle, and the
   list holds that cycle after the clear.) */
static void fin_saves_new_loop(node *self)
{
    rcgc_heap *h = rcgc_heap_of(self);
    self->log->inner[0] = (ptrdiff_t)rcgc_garbage_size(h);
    self_loop_trash(h, &node_type, self->log, "C");
    self->log->inner[1] = rcgc_collect(h, 2);
}

static void test_garbage_clear_empties_first(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    rcgc_set_debug(h, RCGC_DEBUG_SAVEALL);
    node *a = self_loop_trash(h, &node_type, &log, "A");
    node *b = self_loop_trash(h, &node_type, &log, "B");
    CHECK_EQ(rcgc_collect(h, 2), 2);
    CHECK(rcgc_garbage_get(h, 0) == a && rcgc_garbage_get(h, 1) == b);
    rcgc_clear(&a->a);
    rcgc_clear(&b->a);
    node *f = new_fin(h, &log, "F", fin_saves_new_loop);
    rcgc_set(&b->b, f);
    rcgc_decref(f);
    log.inner[0] = log.inner[1] = -1;
    rcgc_garbage_clear(h);
    CHECK_STR(log.text, "F");
    CHECK_EQ(log.inner[0], 0);
    CHECK_EQ(log.inner[1], 1);
    CHECK_EQ(log.destroyed, 3);            /* A, B and F */
    CHECK_EQ(rcgc_garbage_size(h), 1);
    node *c = rcgc_garbage_get(h, 0);
    CHECK(c != NULL && c->a == c && strcmp(c->name, "C") == 0);
    free_saved(h, &log, 1);
    rcgc_heap_free(h);
}

/* Saved objects survive like any other survivor: after collect(0) they sit
   in generation 1 (delete_garbage moves what is still alive to `old`, 1.8),
   as members of it: a young object that refers to one is examined without
   it, and the next collection of generation 1 finds it. */
static void test_saveall_moves_to_next_generation(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    rcgc_set_debug(h, RCGC_DEBUG_SAVEALL);
    node *l = self_loop_trash(h, &node_type, &log, "L");
    CHECK_EQ(rcgc_collect(h, 0), 1);
    CHECK(rcgc_garbage_get(h, 0) == l);
    CHECK_EQ(gen_size(h, 0), 0);
    CHECK_EQ(gen_size(h, 1), 1);
    CHECK_EQ(gen_size(h, 2), 0);
    CHECK_EQ(rcgc_collect(h, 0), 0);
    node *y = new_named(h, &node_type, &log, "Y");
    rcgc_set(&y->a, l);
    CHECK_EQ(rcgc_collect(h, 0), 0);      /* y is held, l is not examined */
    CHECK_EQ(gen_size(h, 1), 2);
    rcgc_decref(y);
    CHECK_EQ(log.destroyed, 1);
    rcgc_garbage_clear(h);
    CHECK_EQ(rcgc_collect(h, 0), 0);      /* it is in generation 1 now */
    CHECK_EQ(rcgc_collect(h, 1), 1);
    free_saved(h, &log, 1);
    CHECK_EQ(log.destroyed, 2);
    rcgc_heap_free(h);
}

/* SAVEALL changes only the last step: weak references to the trash are still
   cleared with their callbacks, and finalizers still run (1.4 steps 10-13);
   a saved object is not finalized again. */
static void wr_cb(void *wr, void *data)
{
    evlog *log = data;
    log->cb_calls++;
    log_event(log, rcgc_weakref_get(wr) ? "cb-live" : "cb");
}

static void test_saveall_still_finalizes_and_clears_weakrefs(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *f = new_named(h, &fin_type, &log, "F");
    rcgc_set(&f->a, f);
    void *w = rcgc_weakref_new(f, wr_cb, &log);
    CHECK(w != NULL);
    rcgc_decref(f);
    rcgc_set_debug(h, RCGC_DEBUG_SAVEALL);
    CHECK_EQ(rcgc_collect(h, 2), 1);
    CHECK_STR(log.text, "cb F");
    CHECK_EQ(rcgc_garbage_size(h), 1);
    CHECK(rcgc_garbage_get(h, 0) == f);
    CHECK(rcgc_is_finalized(f));
    CHECK(rcgc_weakref_get(w) == NULL);
    rcgc_set_debug(h, 0);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    rcgc_garbage_clear(h);
    CHECK_EQ(rcgc_collect(h, 2), 1);
    CHECK_EQ(log.fin_calls, 1);
    CHECK_EQ(log.cb_calls, 1);
    CHECK_EQ(log.destroyed, 1);
    rcgc_decref(w);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* ------------------------------------------------------------------------- */
/* Messages                                                                  */
/* ------------------------------------------------------------------------- */

/* DEBUG_STATS (1.4 steps 1 and 14, test_gc_debug_stats): the generation
   sizes are those before the merge; "done" gives n+m and n. */
static void test_debug_stats_output(void)
{
    FILE *f;
    rcgc_heap *h = heap_with_tmpfile(&f);
    if (!h)
        return;
    evlog log = {0};
    char buf[4096];

    node *frozen = new_named(h, &node_type, &log, "Z");
    rcgc_freeze(h);                       /* permanent generation: 1 */
    node *a = new_named(h, &node_type, &log, "A");
    rcgc_collect(h, 0);
    rcgc_collect(h, 1);                   /* A -> generation 2 */
    node *b = new_named(h, &node_type, &log, "B");
    rcgc_collect(h, 0);                   /* B -> generation 1 */
    node *c = new_named(h, &node_type, &log, "C");
    self_loop_trash(h, &node_type, &log, "T1");
    self_loop_trash(h, &node_type, &log, "T2");
    read_stream(f, buf, sizeof buf);
    CHECK_STR(buf, "");                   /* nothing without a flag */

    rcgc_set_debug(h, RCGC_DEBUG_STATS);
    CHECK_EQ(rcgc_collect(h, 0), 2);
    read_stream(f, buf, sizeof buf);
    check_stats_report(buf, 0, "3 1 1", 1, 2);
    size_t mark = strlen(buf);

    CHECK_EQ(rcgc_collect(h, 2), 0);
    read_stream(f, buf, sizeof buf);
    check_stats_report(text_after(buf, mark), 2, "0 2 1", 1, 0);

    rcgc_set_debug(h, 0);
    rcgc_decref(a);
    rcgc_decref(b);
    rcgc_decref(c);
    rcgc_unfreeze(h);
    rcgc_decref(frozen);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
    fclose(f);
}

/* DEBUG_COLLECTABLE (1.4 step 9): one "gc: collectable <TYPE ADDR>" line per
   unreachable object, in list order, printed before finalizers run, so a
   resurrected object is listed too, while "done" counts only the rest. */
static void hook_none(void *obj)
{
    (void)obj;
}

typedef struct resurrector {
    void *a, *b, *c, *d;
    void **saved;
} resurrector;

static void res_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    resurrector *r = obj;
    visit(&r->a, arg);
    visit(&r->b, arg);
    visit(&r->c, arg);
    visit(&r->d, arg);
}

static void resurrect_finalize(void *obj)
{
    resurrector *r = obj;
    rcgc_incref(obj);
    *r->saved = obj;
}

static const rcgc_type res_type = { "resurrector", sizeof(resurrector), res_traverse, resurrect_finalize, NULL };
static const rcgc_type quiet_type = { "quiet", sizeof(node), node_traverse, hook_none, NULL };

static void test_debug_collectable_output(void)
{
    FILE *f;
    rcgc_heap *h = heap_with_tmpfile(&f);
    if (!h)
        return;
    evlog log = {0};
    char buf[4096];

    node *a = new_named(h, &node_type, &log, "A");
    node *b = new_named(h, &quiet_type, &log, "B");
    orphan_pair(a, b);
    void *saved = NULL;
    resurrector *r = rcgc_new(h, &res_type);
    CHECK(r != NULL);
    r->saved = &saved;
    rcgc_set(&r->a, r);
    rcgc_decref(r);

    rcgc_set_debug(h, RCGC_DEBUG_COLLECTABLE);
    CHECK_EQ(rcgc_collect(h, 2), 2);
    CHECK(saved == r);
    read_stream(f, buf, sizeof buf);
    CHECK_EQ(count_lines(buf), 6);
    check_collectable_line(buf, 0, "node", a);
    check_collectable_line(buf, 1, "quiet", b);
    check_collectable_line(buf, 2, "resurrector", r);
    /* then the same set as cycles: a->b->a and r->r */
    check_line(buf, 3, "gc: unreachable: 3 objects, 2 cycles\n");
    check_line(buf, 4, "gc:   cycle of 2 objects: 1 node, 1 quiet\n");
    check_line(buf, 5, "gc:   cycle of 1 object (refers to itself): 1 resurrector\n");
    size_t mark = strlen(buf);

    /* with STATS too: the collectable lines come between the header and
       "done", which counts 0 for the resurrected object */
    rcgc_set_debug(h, RCGC_DEBUG_COLLECTABLE | RCGC_DEBUG_STATS);
    rcgc_decref(saved);
    saved = NULL;
    /* r was finalized already: this time it is freed */
    CHECK_EQ(rcgc_collect(h, 2), 1);
    read_stream(f, buf, sizeof buf);
    const char *more = text_after(buf, mark);
    CHECK_EQ(count_lines(more), 7);
    check_line(more, 0, "gc: collecting generation 2...\n");
    check_collectable_line(more, 3, "resurrector", r);
    check_line(more, 4, "gc: unreachable: 1 object, 1 cycle\n");
    check_done_line(more, 6, 1, 0);
    rcgc_set_debug(h, 0);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
    fclose(f);
}

/* Nothing is printed without STATS or COLLECTABLE: SAVEALL prints nothing,
   and UNCOLLECTABLE has nothing to print when there are no legacy
   finalizers (1.4 step 14). */
static void test_no_output_without_flags(void)
{
    FILE *f;
    rcgc_heap *h = heap_with_tmpfile(&f);
    if (!h)
        return;
    evlog log = {0};
    char buf[1024];
    self_loop_trash(h, &fin_type, &log, "F");
    self_loop_trash(h, &node_type, &log, "P");
    CHECK_EQ(rcgc_collect(h, 2), 2);
    rcgc_set_debug(h, RCGC_DEBUG_UNCOLLECTABLE);
    self_loop_trash(h, &node_type, &log, "P");
    CHECK_EQ(rcgc_collect(h, 2), 1);
    rcgc_set_debug(h, RCGC_DEBUG_SAVEALL | RCGC_DEBUG_UNCOLLECTABLE);
    self_loop_trash(h, &node_type, &log, "P");
    CHECK_EQ(rcgc_collect(h, 2), 1);
    read_stream(f, buf, sizeof buf);
    CHECK_STR(buf, "");
    free_saved(h, &log, 1);
    rcgc_heap_free(h);
    fclose(f);
}

/* ------------------------------------------------------------------------- */
/* Callbacks                                                                 */
/* ------------------------------------------------------------------------- */

typedef struct cbctx {
    evlog *log;
    const char *name;
    int collect_inside;         /* call rcgc_collect from the callback */
    ptrdiff_t inner[2];         /* what it returned at start and stop */
    int allocate;               /* allocate and drop objects from the callback */
    size_t calls;
} cbctx;

static void record_cb(rcgc_heap *h, rcgc_phase phase, const rcgc_gc_info *info, void *data)
{
    cbctx *c = data;
    char ev[128];
    c->calls++;
    snprintf(ev, sizeof ev, "%s:%s:%d:%zu:%zu", c->name,
             phase == RCGC_PHASE_START ? "start" : "stop",
             info->generation, info->collected, info->uncollectable);
    log_event(c->log, ev);
    if (c->collect_inside)
        c->inner[phase == RCGC_PHASE_START ? 0 : 1] = rcgc_collect(h, 2);
    if (c->allocate) {
        c->allocate--;
        /* a garbage self-loop, and an object freed at once */
        self_loop_trash(h, &node_type, c->log, "cbT");
        node *n = new_named(h, &node_type, c->log, "cbP");
        rcgc_decref(n);
    }
}

/* S32: two callbacks, collect(1): cb1 start, cb2 start, cb1 stop, cb2 stop,
   generation 1, and the counts at stop only (1.10). */
static void test_s32_callback_order_and_info(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbctx c1 = { &log, "1", 0, {0, 0}, 0, 0 }, c2 = { &log, "2", 0, {0, 0}, 0, 0 };
    node *old = new_named(h, &node_type, &log, "O");
    rcgc_set(&old->a, old);
    CHECK_EQ(rcgc_collect(h, 0), 0);      /* old -> generation 1 */
    rcgc_decref(old);
    self_loop_trash(h, &node_type, &log, "Y");
    CHECK_EQ(rcgc_callback_add(h, record_cb, &c1), 0);
    CHECK_EQ(rcgc_callback_add(h, record_cb, &c2), 0);
    rcgc_gen_stats st[3];
    rcgc_get_stats(h, st);
    CHECK_EQ(rcgc_collect(h, 1), 2);
    CHECK_STR(log.text, "1:start:1:0:0 2:start:1:0:0 1:stop:1:2:0 2:stop:1:2:0");
    rcgc_gen_stats now[3];
    rcgc_get_stats(h, now);
    CHECK_EQ(now[1].collections - st[1].collections, 1);
    CHECK_EQ(now[1].collected - st[1].collected, 2);
    CHECK_EQ(now[1].uncollectable, 0);
    CHECK_EQ(now[0].collections, st[0].collections);
    CHECK_EQ(now[2].collections, st[2].collections);
    CHECK_EQ(log.destroyed, 2);
    CHECK_EQ(rcgc_callback_remove(h, record_cb, &c1), 0);
    CHECK_EQ(rcgc_callback_remove(h, record_cb, &c2), 0);
    rcgc_heap_free(h);
}

/* gc.callbacks is a list: removal takes the first matching entry (fn and
   data), duplicates are called as often as added, and removing what is not
   there fails. */
static void test_callback_remove(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbctx a = { &log, "a", 0, {0, 0}, 0, 0 }, b = { &log, "b", 0, {0, 0}, 0, 0 };
    CHECK_EQ(rcgc_callback_remove(h, record_cb, &a), -1);
    CHECK_EQ(rcgc_callback_add(h, record_cb, &a), 0);
    CHECK_EQ(rcgc_callback_add(h, record_cb, &b), 0);
    CHECK_EQ(rcgc_callback_add(h, record_cb, &a), 0);
    CHECK_EQ(rcgc_collect(h, 0), 0);
    CHECK_STR(log.text, "a:start:0:0:0 b:start:0:0:0 a:start:0:0:0 "
                        "a:stop:0:0:0 b:stop:0:0:0 a:stop:0:0:0");
    log.text[0] = '\0';
    CHECK_EQ(rcgc_callback_remove(h, record_cb, &a), 0);   /* the first one */
    CHECK_EQ(rcgc_collect(h, 0), 0);
    CHECK_STR(log.text, "b:start:0:0:0 a:start:0:0:0 b:stop:0:0:0 a:stop:0:0:0");
    log.text[0] = '\0';
    CHECK_EQ(rcgc_callback_remove(h, record_cb, &log), -1); /* other data */
    CHECK_EQ(rcgc_callback_remove(h, record_cb, &a), 0);
    CHECK_EQ(rcgc_callback_remove(h, record_cb, &a), -1);
    CHECK_EQ(rcgc_callback_remove(h, record_cb, &b), 0);
    CHECK_EQ(rcgc_collect(h, 0), 0);
    CHECK_STR(log.text, "");
    CHECK_EQ(a.calls + b.calls, 10);
    rcgc_heap_free(h);
}

/* A callback that calls rcgc_collect gets 0 (the collection is running,
   1.4), and nothing else is collected or reported. */
static void test_callback_collect_returns_zero(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbctx c = { &log, "c", 1, {-7, -7}, 0, 0 };
    self_loop_trash(h, &node_type, &log, "T");
    CHECK_EQ(rcgc_callback_add(h, record_cb, &c), 0);
    CHECK_EQ(rcgc_collect(h, 0), 1);
    CHECK_EQ(c.inner[0], 0);
    CHECK_EQ(c.inner[1], 0);
    CHECK_STR(log.text, "c:start:0:0:0 c:stop:0:1:0");
    rcgc_gen_stats st[3];
    rcgc_get_stats(h, st);
    CHECK_EQ(st[0].collections, 1);
    CHECK_EQ(st[2].collections, 0);
    CHECK_EQ(log.destroyed, 1);
    rcgc_heap_free(h);
}

/* A callback that allocates and drops objects. The "start" callbacks run
   before the collection proper (gc_collect_with_callback, 1.4), so the
   garbage made there is part of it; that of "stop" waits for the next one. */
static void test_callback_allocates_and_drops(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbctx c = { &log, "c", 0, {0, 0}, 2, 0 };
    self_loop_trash(h, &node_type, &log, "T");
    CHECK_EQ(rcgc_callback_add(h, record_cb, &c), 0);
    CHECK_EQ(rcgc_collect(h, 0), 2);
    CHECK_STR(log.text, "c:start:0:0:0 c:stop:0:2:0");
    CHECK_EQ(log.destroyed, 4);          /* T, the start garbage, two cbP */
    CHECK_EQ(live_objects(h), 1);        /* the stop garbage */
    CHECK_EQ(gen_size(h, 0), 1);
    CHECK_EQ(rcgc_collect(h, 0), 1);
    CHECK_EQ(log.destroyed, 5);
    CHECK_EQ(live_objects(h), 0);
    CHECK_EQ(rcgc_callback_remove(h, record_cb, &c), 0);
    rcgc_heap_free(h);
}

/* Callbacks of automatic collections that allocate with threshold 1 do not
   start nested collections (`collecting` is set, 1.2). */
typedef struct depthctx {
    int depth, max_depth;
    size_t starts;
} depthctx;

static void depth_cb(rcgc_heap *h, rcgc_phase phase, const rcgc_gc_info *info, void *data)
{
    depthctx *d = data;
    (void)info;
    if (phase == RCGC_PHASE_START) {
        d->starts++;
        if (++d->depth > d->max_depth)
            d->max_depth = d->depth;
        for (int i = 0; i < 3; i++) {
            node *n = rcgc_new(h, &node_type);
            CHECK(n != NULL);
            if (n) {
                rcgc_set(&n->a, n);
                rcgc_decref(n);
            }
        }
    } else {
        d->depth--;
    }
}

static void test_callback_allocates_during_automatic_collection(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    depthctx d = {0};
    evlog log = {0};
    CHECK_EQ(rcgc_callback_add(h, depth_cb, &d), 0);
    rcgc_set_threshold(h, 1, 10, 10);
    for (int i = 0; i < 50; i++)
        self_loop_trash(h, &node_type, &log, "x");
    CHECK(d.starts > 0);
    CHECK_EQ(d.max_depth, 1);
    CHECK_EQ(d.depth, 0);
    rcgc_disable(h);
    CHECK_EQ(rcgc_callback_remove(h, depth_cb, &d), 0);
    rcgc_collect(h, 2);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

int main(void)
{
    TEST(test_debug_flag_values);
    TEST(test_s13_saveall);
    TEST(test_saveall_list_order);
    TEST(test_garbage_clear_empties_first);
    TEST(test_saveall_moves_to_next_generation);
    TEST(test_saveall_still_finalizes_and_clears_weakrefs);
    TEST(test_debug_stats_output);
    TEST(test_debug_collectable_output);
    TEST(test_no_output_without_flags);
    TEST(test_s32_callback_order_and_info);
    TEST(test_callback_remove);
    TEST(test_callback_collect_returns_zero);
    TEST(test_callback_allocates_and_drops);
    TEST(test_callback_allocates_during_automatic_collection);
    return check_summary();
}
