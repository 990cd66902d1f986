/*
 * The explanation of a collection (explain.h). explain_start() lists the
 * examined objects with rcgc_get_objects in the order the collector merges
 * them (generation G first, then 0..G-1), counts with rcgc_get_referents the
 * references each gets from the others, and searches breadth first from the
 * objects left with gc_refs > 0. None of it reads the collector's state: it
 * is the article's algorithm done again with the public API, so that the
 * replay can show it and the tests can hold it against what the collector
 * frees.
 */
#include "explain.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The row of obj in the table, if it has one. */
static bool row_of(const struct explain *e, const void *obj, size_t *row)
{
    uintptr_t v;

    if (!ptrmap_get(&e->index, (uintptr_t)obj, &v))
        return false;
    *row = (size_t)v;
    return true;
}

static int grow(void **array, size_t *cap, size_t need, size_t elem)
{
    size_t n;
    void *p;

    if (need <= *cap)
        return 0;
    n = *cap ? *cap : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem)
            return -1;
        n *= 2;
    }
    p = realloc(*array, n * elem);
    if (p == NULL)
        return -1;
    *array = p;
    *cap = n;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* At START                                                                  */
/* ------------------------------------------------------------------------- */

struct list_ctx {
    struct explain *e;
    struct replay *rp;
    int gen;
    bool failed;
};

static void add_row(void *obj, void *arg)
{
    struct list_ctx *c = arg;
    struct explain *e = c->e;
    struct explain_row *r;

    if (c->failed || grow((void **)&e->rows, &e->rows_cap, e->nrows + 1, sizeof *e->rows) != 0
        || ptrmap_put(&e->index, (uintptr_t)obj, e->nrows) != 0) {
        c->failed = true;
        return;
    }
    r = &e->rows[e->nrows++];
    memset(r, 0, sizeof *r);
    r->obj = obj;
    replay_name_of(c->rp, obj, r->name, sizeof r->name);
    r->id = rcgc_is_weakref(obj) ? 0 : ((const struct replay_object *)obj)->id;
    r->gen = c->gen;
    r->refcount = rcgc_refcount(obj);
    r->after = EXPLAIN_FREED;
}

struct ref_ctx {
    struct explain *e;
    size_t from;
    size_t *queue;
    size_t tail;
};

static void count_internal(void *obj, void *arg)
{
    struct ref_ctx *c = arg;
    size_t i;

    if (row_of(c->e, obj, &i))
        c->e->rows[i].internal++;
}

static void rescue(void *obj, void *arg)
{
    struct ref_ctx *c = arg;
    struct explain_row *r;
    size_t i;

    if (!row_of(c->e, obj, &i))
        return;
    r = &c->e->rows[i];
    if (r->reach == EXPLAIN_UNREACHABLE) {
        r->reach = EXPLAIN_RESCUED;
        r->via = c->from;
        c->queue[c->tail++] = i;
    }
}

static void reset(struct explain *e)
{
    e->nrows = 0;
    e->nunreachable = 0;
    e->nothers = 0;
    ptrmap_clear(&e->index);
    sbuf_reset(&e->fins);
    sbuf_reset(&e->cbs);
}

int explain_start(struct explain *e, struct replay *rp, int generation)
{
    struct list_ctx lc = { e, rp, generation, false };
    struct ref_ctx rc = { e, 0, NULL, 0 };
    size_t i, head;
    int g;

    reset(e);
    e->generation = generation;
    e->running = true;
    rcgc_get_objects(rp->heap, generation, add_row, &lc);
    for (g = 0; g < generation; g++) {
        lc.gen = g;
        rcgc_get_objects(rp->heap, g, add_row, &lc);
    }
    if (lc.failed)
        return -1;

    /* Steps 1 and 2: gc_refs = RC, minus the references from examined objects. */
    for (i = 0; i < e->nrows; i++)
        rcgc_get_referents(e->rows[i].obj, count_internal, &rc);
    for (i = 0; i < e->nrows; i++) {
        struct explain_row *r = &e->rows[i];
        r->gc_refs = (long long)r->refcount - (long long)r->internal;
        r->reach = r->gc_refs > 0 ? EXPLAIN_OUTSIDE : EXPLAIN_UNREACHABLE;
    }

    /* Step 3: what the objects referenced from outside reach is reachable. */
    rc.queue = malloc((e->nrows ? e->nrows : 1) * sizeof *rc.queue);
    if (rc.queue == NULL)
        return -1;
    for (i = 0; i < e->nrows; i++) {
        if (e->rows[i].reach == EXPLAIN_OUTSIDE)
            rc.queue[rc.tail++] = i;
    }
    for (head = 0; head < rc.tail; head++) {
        rc.from = rc.queue[head];
        rcgc_get_referents(e->rows[rc.from].obj, rescue, &rc);
    }
    free(rc.queue);

    /* Step 4: the rest. */
    for (i = 0; i < e->nrows; i++) {
        if (e->rows[i].reach != EXPLAIN_UNREACHABLE)
            continue;
        if (grow((void **)&e->unreachable, &e->unreachable_cap, e->nunreachable + 1, sizeof *e->unreachable) != 0)
            return -1;
        e->unreachable[e->nunreachable++] = e->rows[i].obj;
    }

    /* The trace objects the collection does not examine, to tell which of
       them die as a consequence. */
    for (i = 0; i < rp->live.capacity; i++) {
        struct replay_object *o = (struct replay_object *)rp->live.entries[i].value;
        if (rp->live.entries[i].key == 0 || o == NULL || ptrmap_get(&e->index, (uintptr_t)o, NULL))
            continue;
        if (grow((void **)&e->others, &e->others_cap, e->nothers + 1, sizeof *e->others) != 0)
            return -1;
        e->others[e->nothers].obj = o;
        e->others[e->nothers].id = o->id;
        e->others[e->nothers].freed = false;
        e->nothers++;
    }
    return 0;
}

void explain_note(struct explain *e, char kind, uint32_t name)
{
    struct sbuf *b = kind == 'f' ? &e->fins : &e->cbs;

    if (e->running)
        sbuf_printf(b, kind == 'f' ? " %" PRIu32 : " w%" PRIu32, name);
}

/* ------------------------------------------------------------------------- */
/* At STOP                                                                   */
/* ------------------------------------------------------------------------- */

struct gen_ctx {
    struct explain *e;
    int gen;
};

static void locate(void *obj, void *arg)
{
    struct gen_ctx *c = arg;
    size_t i;

    if (row_of(c->e, obj, &i))
        c->e->rows[i].after = c->gen;
}

int explain_stop(struct explain *e, struct replay *rp)
{
    struct gen_ctx c = { e, 0 };
    size_t i;

    /* A trace object that is still alive is the one of that name in the
       live map; only then is the pointer looked up among the generations
       (a freed object's pointer is never followed). */
    for (i = 0; i < e->nrows; i++) {
        struct explain_row *r = &e->rows[i];
        if (r->id != 0 && replay_live_object(rp, r->id) != r->obj)
            ptrmap_remove(&e->index, (uintptr_t)r->obj);
    }
    for (c.gen = 0; c.gen < 3; c.gen++)
        rcgc_get_objects(rp->heap, c.gen, locate, &c);
    for (i = 0; i < e->nothers; i++)
        e->others[i].freed = replay_live_object(rp, e->others[i].id) != e->others[i].obj;
    e->running = false;
    return e->fins.failed || e->cbs.failed ? -1 : 0;
}

/* ------------------------------------------------------------------------- */
/* Printing                                                                  */
/* ------------------------------------------------------------------------- */

static void put_names(FILE *out, const char *what, const struct explain *e, enum explain_reach reach, bool alive,
                      int gen)
{
    size_t i, n = 0;

    fprintf(out, "%s:", what);
    for (i = 0; i < e->nrows; i++) {
        const struct explain_row *r = &e->rows[i];
        bool is_reachable = r->reach != EXPLAIN_UNREACHABLE;
        if (is_reachable != (reach != EXPLAIN_UNREACHABLE) || (r->after != EXPLAIN_FREED) != alive)
            continue;
        if (alive && gen >= 0 && r->after != gen)
            continue;
        fprintf(out, " %s", r->name);
        n++;
    }
    fputs(n ? "\n" : " none\n", out);
}

/* For each generation that holds some, a line "    WHAT G: names" of the
   objects alive after the collection that were reachable (reach
   EXPLAIN_OUTSIDE) or unreachable (EXPLAIN_UNREACHABLE). */
static void put_by_generation(FILE *out, const char *what, const struct explain *e, enum explain_reach reach)
{
    bool unreachable = reach == EXPLAIN_UNREACHABLE;

    for (int g = 0; g < 3; g++) {
        bool any = false;
        for (size_t i = 0; i < e->nrows && !any; i++)
            any = (e->rows[i].reach == EXPLAIN_UNREACHABLE) == unreachable && e->rows[i].after == g;
        if (any) {
            char line[64];
            snprintf(line, sizeof line, "    %s %d", what, g);
            put_names(out, line, e, reach, true, g);
        }
    }
}

static const char *reach_text(const struct explain *e, const struct explain_row *r, char *buf, size_t size)
{
    switch (r->reach) {
    case EXPLAIN_OUTSIDE:
        return "yes: referenced from outside";
    case EXPLAIN_RESCUED:
        snprintf(buf, size, "yes: rescued, %s refers to it", e->rows[r->via].name);
        return buf;
    case EXPLAIN_UNREACHABLE:
        break;
    }
    return "no: unreachable";
}

void explain_print_start(const struct explain *e, FILE *out)
{
    int g = e->generation;
    int width = 6;
    size_t i, unreachable = 0;
    char buf[EXPLAIN_NAME_SIZE + 40];

    for (i = 0; i < e->nrows; i++) {
        int len = (int)strlen(e->rows[i].name);
        if (len > width)
            width = len;
        if (e->rows[i].reach == EXPLAIN_UNREACHABLE)
            unreachable++;
    }
    if (g == 0)
        fprintf(out, "== collecting generation 0: the collector examines its %zu object%s\n", e->nrows,
                e->nrows == 1 ? "" : "s");
    else
        fprintf(out, "== collecting generation %d: the collector merges generations 0..%d and examines their"
                " %zu object%s\n", g, g, e->nrows, e->nrows == 1 ? "" : "s");
    fputs("  1. copy each object's reference count (RC) into gc_refs\n"
          "  2. subtract from an object's gc_refs each reference it gets from an examined\n"
          "     object (itself too): what is left counts the references from outside\n"
          "  3. gc_refs > 0: reachable from outside; what a reachable object refers to is\n"
          "     reachable too (rescued)\n", out);
    if (g < 2)
        fprintf(out, "  4. the rest is unreachable: weak-reference callbacks and finalizers run, then\n"
                     "     it is freed; the survivors move to generation %d\n", g + 1);
    else
        fputs("  4. the rest is unreachable: weak-reference callbacks and finalizers run, then\n"
              "     it is freed; the survivors stay in generation 2\n", out);
    if (e->nrows == 0) {
        fputs("  (nothing to examine)\n  unreachable (0): none\n", out);
        return;
    }
    fprintf(out, "  %-*s  gen  RC  gc_refs=RC  -internal  =gc_refs  reachable?\n", width, "object");
    for (i = 0; i < e->nrows; i++) {
        const struct explain_row *r = &e->rows[i];
        fprintf(out, "  %-*s  %3d  %2zu  %10zu  %9zu  %8lld  %s\n", width, r->name, r->gen, r->refcount,
                r->refcount, r->internal, r->gc_refs, reach_text(e, r, buf, sizeof buf));
    }
    fprintf(out, "  unreachable (%zu):", unreachable);
    for (i = 0; i < e->nrows; i++) {
        if (e->rows[i].reach == EXPLAIN_UNREACHABLE)
            fprintf(out, " %s", e->rows[i].name);
    }
    fputs(unreachable ? "\n" : " none\n", out);
}

static void put_events(FILE *out, const char *what, const struct sbuf *b)
{
    fprintf(out, "    %s:%s\n", what, b->len ? sbuf_text(b) : " none");
}

void explain_print_stop(const struct explain *e, FILE *out)
{
    size_t i, n = 0;

    fprintf(out, "  after collecting generation %d:\n", e->generation);
    put_events(out, "weak-reference callbacks run", &e->cbs);
    put_events(out, "finalizers run", &e->fins);
    put_names(out, "    resurrected (unreachable, alive again)", e, EXPLAIN_UNREACHABLE, true, -1);
    put_names(out, "    freed", e, EXPLAIN_UNREACHABLE, false, -1);
    for (i = 0; i < e->nrows; i++)
        n += e->rows[i].reach != EXPLAIN_UNREACHABLE && e->rows[i].after == EXPLAIN_FREED;
    if (n)
        put_names(out, "    freed although reachable (the explanation is wrong)", e, EXPLAIN_OUTSIDE, false, -1);
    n = 0;
    for (i = 0; i < e->nothers; i++)
        n += e->others[i].freed;
    if (n) {
        fputs("    also freed, by reference counting once the garbage let go:", out);
        for (i = 0; i < e->nothers; i++) {
            if (e->others[i].freed)
                fprintf(out, " %" PRIu32, e->others[i].id);
        }
        fputc('\n', out);
    }
    put_by_generation(out, "survivors now in generation", e, EXPLAIN_OUTSIDE);
    put_by_generation(out, "resurrected, now in generation", e, EXPLAIN_UNREACHABLE);
}

void explain_free(struct explain *e)
{
    free(e->rows);
    free(e->unreachable);
    free(e->others);
    ptrmap_free(&e->index);
    sbuf_free(&e->fins);
    sbuf_free(&e->cbs);
    memset(e, 0, sizeof *e);
}

/* ------------------------------------------------------------------------- */
/* --why                                                                     */
/* ------------------------------------------------------------------------- */

int explain_why(struct replay *rp, uint32_t id, FILE *out)
{
    struct replay_object *obj = replay_live_object(rp, id);
    void *small[64];
    void **chain = small;
    size_t max = sizeof small / sizeof small[0];
    ptrdiff_t n;
    char name[EXPLAIN_NAME_SIZE];

    if (obj == NULL) {
        fprintf(out, "why %" PRIu32 ": not alive\n", id);
        return 0;
    }
    /* The chain first: when memory is short, nothing is printed. */
    n = rcgc_why_alive(rp->heap, obj, chain, max);
    if (n > (ptrdiff_t)max) {
        max = (size_t)n;
        chain = malloc(max * sizeof *chain);
        if (chain == NULL)
            return -1;
        n = rcgc_why_alive(rp->heap, obj, chain, max);
    }
    if (n < 0) {
        if (chain != small)
            free(chain);
        return -1;
    }
    fprintf(out, "why %" PRIu32 ":", id);
    if (n == 0)
        fputs(" no outside reference reaches it (garbage: a full collection frees it)", out);
    for (ptrdiff_t i = 0; i < n; i++) {
        replay_name_of(rp, chain[i], name, sizeof name);
        fprintf(out, "%s%s", i ? " -> " : " ", name);
    }
    fputc('\n', out);
    if (chain != small)
        free(chain);
    return 0;
}
