/*
 * The trace replayer (see replay.h): trace objects and their rcgc types, the
 * name maps, the check and the execution of each operation, and the loop that
 * reads a whole trace.
 */
#include "replay.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Trace objects                                                             */
/* ------------------------------------------------------------------------- */

static void traverse_object(void *obj, rcgc_visit_fn visit, void *arg)
{
    struct replay_object *o = obj;
    uint32_t i;

    for (i = 0; i < o->nslots; i++)
        visit(&o->slots[i], arg);
}

/* Appends a new reference to obj to the saved list. 0, or -1 when memory is short. */
static int save(struct replay *rp, void *obj)
{
    if (rp->nsaved == rp->saved_capacity) {
        size_t capacity = rp->saved_capacity ? rp->saved_capacity * 2 : 16;
        void **saved;
        if (capacity > SIZE_MAX / sizeof *saved)
            return -1;
        saved = realloc(rp->saved, capacity * sizeof *saved);
        if (saved == NULL)
            return -1;
        rp->saved = saved;
        rp->saved_capacity = capacity;
    }
    rcgc_incref(obj);
    rp->saved[rp->nsaved++] = obj;
    return 0;
}

static void note_event(struct replay *rp, char kind, uint32_t name)
{
    if (rp->hooks != NULL && rp->hooks->event != NULL)
        rp->hooks->event(rp, kind, name, rp->hooks->data);
}

/* Once a resurrecting finalizer could not save its object (out_of_memory),
   the step no longer does what the trace says: what its events would show
   from then on is not printed, and the step fails when it returns. */
static void finalize_print(void *obj)
{
    struct replay_object *o = obj;

    if (o->replay->out_of_memory)
        return;
    fprintf(o->replay->out, "fin %" PRIu32 "\n", o->id);
    note_event(o->replay, 'f', o->id);
}

/* Prints, then resurrects the object by saving it. Without memory to save it,
   the object dies and the step that caused it reports "out of memory". */
static void finalize_resurrect(void *obj)
{
    struct replay_object *o = obj;

    finalize_print(obj);
    if (save(o->replay, obj) != 0)
        o->replay->out_of_memory = true;
}

static void name_release(struct ptrmap *m, uint32_t name);

/* The object leaves the map of live objects. */
static void destroy_object(void *obj)
{
    struct replay_object *o = obj;

    name_release(&o->replay->live, o->id);
}

/* One type per finalizer kind: an object without a finalizer has none. */
static const rcgc_type object_types[] = {
    [TRACE_FIN_NONE] = { "trace object", 0, traverse_object, NULL, destroy_object },
    [TRACE_FIN_PRINT] = { "trace object (fin)", 0, traverse_object, finalize_print, destroy_object },
    [TRACE_FIN_RESURRECT] = { "trace object (resurrect)", 0, traverse_object, finalize_resurrect, destroy_object },
};

/* An object without a finalizer under options.plain: without destroy_object,
   nothing watches it die, as most objects of a program. */
static const rcgc_type plain_object_type = { "trace object (plain)", 0, traverse_object, NULL, NULL };

static void weak_callback(void *weakref, void *data)
{
    struct replay_weak *w = data;

    (void)weakref;
    if (w->replay->out_of_memory)
        return;
    fprintf(w->replay->out, "cb %" PRIu32 "\n", w->id);
    note_event(w->replay, 'c', w->id);
}

/* ------------------------------------------------------------------------- */
/* Names                                                                     */
/* ------------------------------------------------------------------------- */

/* The trace's names in a ptrmap: the name is the key, its pointer the value,
   0 once released. */

/* What name stands for in m (NULL once released); *used: whether the trace
   has used the name at all. */
static void *name_get(const struct ptrmap *m, uint32_t name, bool *used)
{
    uintptr_t v = 0;
    bool found = ptrmap_get(m, name, &v);

    if (used != NULL)
        *used = found;
    return (void *)v;
}

/* Gives a new name its pointer. 0, or -1 when memory is short. */
static int name_add(struct ptrmap *m, uint32_t name, void *value)
{
    return ptrmap_put(m, name, (uintptr_t)value);
}

/* The name's pointer is released; the name stays used. */
static void name_release(struct ptrmap *m, uint32_t name)
{
    if (ptrmap_get(m, name, NULL))
        (void)ptrmap_put(m, name, 0);   /* a key already present: cannot fail */
}

/* ------------------------------------------------------------------------- */
/* Checking an operation against what the trace holds                        */
/* ------------------------------------------------------------------------- */

int replay_fail(struct replay *rp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rp->message, sizeof rp->message, fmt, ap);
    va_end(ap);
    return -1;
}

static int out_of_memory(struct replay *rp)
{
    return replay_fail(rp, "out of memory");
}

/* Fails unless the trace never used name in m. */
static int check_new(struct replay *rp, const struct trace_op *op, const struct ptrmap *m,
                     const char *what, uint32_t name)
{
    if (ptrmap_get(m, name, NULL))
        return replay_fail(rp, "%s: %s %" PRIu32 " must be new in this trace", op->tokens[0], what, name);
    return 0;
}

/* The object the trace holds under id, or NULL with the error set. */
static struct replay_object *held_object(struct replay *rp, const struct trace_op *op, uint32_t id)
{
    bool used;
    struct replay_object *o = name_get(&rp->objects, id, &used);

    if (!used)
        replay_fail(rp, "%s: unknown object %" PRIu32, op->tokens[0], id);
    else if (o == NULL)
        replay_fail(rp, "%s: object %" PRIu32 " was dropped", op->tokens[0], id);
    return o;
}

/* The weak reference the trace holds under w, or NULL with the error set. */
static struct replay_weak *held_weak(struct replay *rp, const struct trace_op *op, uint32_t w)
{
    bool used;
    struct replay_weak *r = name_get(&rp->weakrefs, w, &used);

    if (!used)
        replay_fail(rp, "%s: unknown weak reference %" PRIu32, op->tokens[0], w);
    else if (r == NULL)
        replay_fail(rp, "%s: weak reference %" PRIu32 " was released", op->tokens[0], w);
    return r;
}

/* The slot I of A, or NULL with the error set. */
static void **held_slot(struct replay *rp, const struct trace_op *op)
{
    struct replay_object *a = held_object(rp, op, op->id);

    if (a == NULL)
        return NULL;
    if (op->slot >= a->nslots) {
        if (a->nslots == 0)
            replay_fail(rp, "%s: object %" PRIu32 " has no slots", op->tokens[0], a->id);
        else
            replay_fail(rp, "%s: slot %" PRIu32 " out of range for object %" PRIu32 " (slots 0..%" PRIu32 ")",
                 op->tokens[0], op->slot, a->id, a->nslots - 1);
        return NULL;
    }
    return &a->slots[op->slot];
}

/* Whether every name and slot op uses is one the trace holds. */
static int check(struct replay *rp, const struct trace_op *op)
{
    switch (op->kind) {
    case TRACE_NEW:
        return check_new(rp, op, &rp->objects, "ID", op->id);
    case TRACE_SET:
        return held_slot(rp, op) != NULL && held_object(rp, op, op->target) != NULL ? 0 : -1;
    case TRACE_CLEAR:
        return held_slot(rp, op) != NULL ? 0 : -1;
    case TRACE_DROP:
        return held_object(rp, op, op->id) != NULL ? 0 : -1;
    case TRACE_WEAK:
        if (check_new(rp, op, &rp->weakrefs, "W", op->weak) != 0)
            return -1;
        return held_object(rp, op, op->id) != NULL ? 0 : -1;
    case TRACE_UNWEAK:
    case TRACE_DEREF:
        return held_weak(rp, op, op->weak) != NULL ? 0 : -1;
    case TRACE_COLLECT:
    case TRACE_UNSAVE:
    case TRACE_GC:
    case TRACE_THRESHOLD:
    case TRACE_COUNT:
    case TRACE_FREEZE:
    case TRACE_UNFREEZE:
        break;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Running an operation (its names are checked)                              */
/* ------------------------------------------------------------------------- */

/* Under options.fields, the type of objects of `base`'s kind with k slots,
   their fields registered the first time; NULL when memory is short. */
static const rcgc_type *field_type(struct replay *rp, const rcgc_type *base, int kind, uint32_t k, size_t bytes)
{
    rcgc_type *t = &rp->field_types[kind][k];

    if (t->traverse == NULL) {
        *t = *base;
        t->size = bytes;
        if (k > 0 && rcgc_set_type_fields(rp->heap, t, rp->slot_offsets, k) != 0) {
            t->traverse = NULL;
            return NULL;
        }
    }
    return t;
}

static int run_new(struct replay *rp, const struct trace_op *op)
{
    size_t bytes = offsetof(struct replay_object, slots) + op->nslots * sizeof(void *);
    bool plain = rp->options.plain && op->finalizer == TRACE_FIN_NONE;
    const rcgc_type *type = plain ? &plain_object_type : &object_types[op->finalizer];
    struct replay_object *o;

    if (rp->options.fields) {
        type = field_type(rp, type, plain ? REPLAY_TYPE_KINDS - 1 : (int)op->finalizer, op->nslots, bytes);
        if (type == NULL)
            return out_of_memory(rp);
    }
    o = rcgc_new_sized(rp->heap, type, bytes);
    if (o == NULL)
        return out_of_memory(rp);
    o->replay = rp;
    o->id = op->id;
    o->nslots = op->nslots;
    o->finalizer = op->finalizer;
    if (name_add(&rp->objects, op->id, o) != 0 || (!plain && name_add(&rp->live, op->id, o) != 0))
        return out_of_memory(rp);
    return 0;
}

static int run_drop(struct replay *rp, const struct trace_op *op)
{
    void *obj = name_get(&rp->objects, op->id, NULL);

    name_release(&rp->objects, op->id);
    rcgc_decref(obj);
    return 0;
}

static int run_weak(struct replay *rp, const struct trace_op *op)
{
    struct replay_object *referent = name_get(&rp->objects, op->id, NULL);
    struct replay_weak *w = malloc(sizeof *w);

    if (w == NULL)
        return out_of_memory(rp);
    w->replay = rp;
    w->id = op->weak;
    w->ref = NULL;
    if (name_add(&rp->weakrefs, op->weak, w) != 0) {
        free(w);
        return out_of_memory(rp);
    }
    w->ref = rcgc_weakref_new(referent, op->callback ? weak_callback : NULL, w);
    if (w->ref == NULL)
        return out_of_memory(rp);
    return 0;
}

/* The weak-reference object dies with the trace's reference, so its callback
   can no longer run and w can be freed. */
static int run_unweak(struct replay *rp, const struct trace_op *op)
{
    struct replay_weak *w = name_get(&rp->weakrefs, op->weak, NULL);

    name_release(&rp->weakrefs, op->weak);
    rcgc_decref(w->ref);
    free(w);
    return 0;
}

static int run_deref(struct replay *rp, const struct trace_op *op)
{
    struct replay_weak *w = name_get(&rp->weakrefs, op->weak, NULL);
    struct replay_object *referent = rcgc_weakref_get(w->ref);

    if (referent == NULL) {
        fprintf(rp->out, "deref %" PRIu32 " none\n", w->id);
    } else {
        fprintf(rp->out, "deref %" PRIu32 " %" PRIu32 "\n", w->id, referent->id);
        rcgc_decref(referent);
    }
    return 0;
}

/* Like CPython's list.clear(): the list is emptied first and its references
   released last to first, so an object that a finalizer saves meanwhile stays
   saved. */
static int run_unsave(struct replay *rp)
{
    void **saved = rp->saved;
    size_t i = rp->nsaved;

    rp->saved = NULL;
    rp->nsaved = 0;
    rp->saved_capacity = 0;
    while (i-- > 0)
        rcgc_decref(saved[i]);
    free(saved);
    return 0;
}

static int run_threshold(struct replay *rp, const struct trace_op *op)
{
    size_t t[3];
    size_t i;

    rcgc_get_threshold(rp->heap, t);
    for (i = 0; i < op->nthresholds; i++)
        t[i] = op->thresholds[i];
    rcgc_set_threshold(rp->heap, t[0], t[1], t[2]);
    return 0;
}

static int run(struct replay *rp, const struct trace_op *op)
{
    size_t count[3];
    ptrdiff_t n;

    switch (op->kind) {
    case TRACE_NEW:
        return run_new(rp, op);
    case TRACE_SET:
        rcgc_set(held_slot(rp, op), held_object(rp, op, op->target));
        break;
    case TRACE_CLEAR:
        rcgc_clear(held_slot(rp, op));
        break;
    case TRACE_DROP:
        return run_drop(rp, op);
    case TRACE_WEAK:
        return run_weak(rp, op);
    case TRACE_UNWEAK:
        return run_unweak(rp, op);
    case TRACE_DEREF:
        return run_deref(rp, op);
    case TRACE_COLLECT:
        n = rcgc_collect(rp->heap, op->generation);
        if (!rp->out_of_memory)
            fprintf(rp->out, "collect %d %td\n", op->generation, n);
        break;
    case TRACE_UNSAVE:
        return run_unsave(rp);
    case TRACE_GC:
        if (op->enable)
            rcgc_enable(rp->heap);
        else
            rcgc_disable(rp->heap);
        break;
    case TRACE_THRESHOLD:
        return run_threshold(rp, op);
    case TRACE_COUNT:
        rcgc_get_count(rp->heap, count);
        fprintf(rp->out, "count %zu %zu %zu\n", count[0], count[1], count[2]);
        break;
    case TRACE_FREEZE:
        rcgc_freeze(rp->heap);
        break;
    case TRACE_UNFREEZE:
        rcgc_unfreeze(rp->heap);
        break;
    }
    return 0;
}

static void echo(FILE *out, const struct trace_op *op)
{
    size_t i;

    fputc('>', out);
    for (i = 0; i < op->ntokens; i++) {
        fputc(' ', out);
        fputs(op->tokens[i], out);
    }
    fputc('\n', out);
}

/* ------------------------------------------------------------------------- */
/* The replay                                                                */
/* ------------------------------------------------------------------------- */

int replay_init(struct replay *rp, FILE *out, const struct replay_options *options)
{
    memset(rp, 0, sizeof *rp);
    rp->out = out;
    if (options != NULL)
        rp->options = *options;
    /* The replay ends by freeing the heap with the trace's references still
       held: that is how it drops everything at once, not a leak. */
    rcgc_config config = { 0 };
    if (rp->options.heap_config != NULL)
        config = *rp->options.heap_config;
    config.on_leak = RCGC_LEAKS_IGNORE;
    rp->heap = rcgc_heap_new(&config);
    if (rp->heap == NULL)
        return -1;
    rcgc_disable(rp->heap);
    if (rp->options.fields) {
        for (size_t i = 0; i < TRACE_MAX_SLOTS; i++)
            rp->slot_offsets[i] = offsetof(struct replay_object, slots) + i * sizeof(void *);
    }
    return 0;
}

int replay_step(struct replay *rp, const struct trace_op *op)
{
    const struct replay_hooks *hooks = rp->hooks;

    if (check(rp, op) != 0)
        return -1;
    rp->steps++;
    if (hooks != NULL && hooks->before_step != NULL && hooks->before_step(rp, op, hooks->data) != 0)
        return -1;
    if (rp->options.echo)
        echo(rp->out, op);
    if (run(rp, op) != 0)
        return -1;
    if (rp->out_of_memory)
        return out_of_memory(rp);
    if (hooks != NULL && hooks->after_step != NULL && hooks->after_step(rp, op, hooks->data) != 0)
        return -1;
    return 0;
}

struct replay_object *replay_live_object(const struct replay *rp, uint32_t id)
{
    return name_get(&rp->live, id, NULL);
}

void replay_name_of(const struct replay *rp, const void *obj, char *buf, size_t size)
{
    size_t i;

    if (rcgc_type_of(obj)->traverse == traverse_object) {
        snprintf(buf, size, "%" PRIu32, ((const struct replay_object *)obj)->id);
        return;
    }
    if (rcgc_is_weakref(obj)) {
        for (i = 0; i < rp->weakrefs.capacity; i++) {
            const struct replay_weak *w = (const struct replay_weak *)rp->weakrefs.entries[i].value;
            if (rp->weakrefs.entries[i].key != 0 && w != NULL && w->ref == obj) {
                snprintf(buf, size, "w%" PRIu32, w->id);
                return;
            }
        }
    }
    snprintf(buf, size, "?");
}

void replay_finish(struct replay *rp)
{
    size_t i;

    rcgc_heap_free(rp->heap);
    rp->heap = NULL;
    for (i = 0; i < rp->weakrefs.capacity; i++)
        free((void *)rp->weakrefs.entries[i].value);
    ptrmap_free(&rp->weakrefs);
    ptrmap_free(&rp->objects);
    ptrmap_free(&rp->live);
    free(rp->saved);
    memset(rp, 0, sizeof *rp);
}

/* The message for a line the reader rejected. */
static void reject_line(struct replay *rp, enum trace_read r)
{
    if (r == TRACE_READ_NUL)
        replay_fail(rp, "NUL byte in line");
    else if (r == TRACE_READ_TOO_LONG)
        replay_fail(rp, "line longer than %d bytes", TRACE_MAX_LINE);
    else
        replay_fail(rp, "read error");
}

int replay_run(FILE *in, FILE *out, FILE *err, const struct replay_options *options)
{
    return replay_run_hooked(in, out, err, options, NULL);
}

int replay_run_hooked(FILE *in, FILE *out, FILE *err, const struct replay_options *options,
                      const struct replay_hooks *hooks)
{
    struct trace_reader reader;
    struct replay rp;
    struct trace_op op;
    int status = 0;

    if (replay_init(&rp, out, options) != 0) {
        fprintf(err, "trace:0: out of memory\n");
        replay_finish(&rp);
        return 2;
    }
    rp.hooks = hooks;
    trace_reader_init(&reader, in);
    if (hooks != NULL && hooks->start != NULL && hooks->start(&rp, hooks->data) != 0) {
        fprintf(err, "rcgc: %s\n", rp.message);
        replay_finish(&rp);
        return 2;
    }
    for (;;) {
        enum trace_read r = trace_read_line(&reader);
        int parsed;

        rp.line = reader.line;
        if (r == TRACE_READ_EOF)
            break;
        if (r != TRACE_READ_LINE) {
            reject_line(&rp, r);
            status = 2;
            break;
        }
        parsed = trace_parse(reader.text, &op, rp.message, sizeof rp.message);
        if (parsed < 0 || (parsed > 0 && replay_step(&rp, &op) != 0)) {
            status = 2;
            break;
        }
    }
    if (hooks != NULL && hooks->end != NULL)
        hooks->end(&rp, status, hooks->data);
    if (status != 0) {
        fflush(out);
        fprintf(err, "trace:%llu: %s\n", reader.line, rp.message);
    }
    replay_finish(&rp);
    return status;
}
