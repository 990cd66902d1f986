/*
 * The trace replayer behind `rcgc replay` (shared/reference/trace-format.md):
 * runs parsed operations (trace.h) on an rcgc heap and prints their events.
 * All of its state is a struct replay, and one operation is one call of
 * replay_step(). What watches a replay (--explain, --dot, --html, --why:
 * watch.h) plugs in through struct replay_hooks, so that this file and
 * trace.c stay a replayer of their own (fuzzers and tests link just them).
 * replay_run() is the whole command as a function that never exits the
 * process and frees everything on every path (fuzzers call it).
 */
#ifndef RCGC_TOOLS_REPLAY_H
#define RCGC_TOOLS_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rcgc.h"
#include "ptrmap.h"
#include "trace.h"

struct replay;

/* Optional hooks around a replay; data is passed to each. A hook that
   returns -1 stops the replay: it sets rp->message first. */
struct replay_hooks {
    void *data;
    /* Once the heap exists (e.g. to add collection callbacks). */
    int (*start)(struct replay *rp, void *data);
    /* Around each operation whose names were checked: before runs before
       the echo, after once its events are printed. */
    int (*before_step)(struct replay *rp, const struct trace_op *op, void *data);
    int (*after_step)(struct replay *rp, const struct trace_op *op, void *data);
    /* An event the replay has just printed: 'f' for `fin ID`, 'c' for `cb W`. */
    void (*event)(struct replay *rp, char kind, uint32_t name, void *data);
    /* When the replay stops (status 0: the whole trace ran, 2: it failed),
       before the error message and before the heap is freed; it must leave
       rp->out as the replay was given it. */
    void (*end)(struct replay *rp, int status, void *data);
};

struct replay_options {
    bool echo;                      /* print each operation as "> " and its tokens first */
    bool plain;                     /* objects without a finalizer get a type without a
                                       destroy hook: nothing watches them die, so a
                                       collection may free their cycles in bulk. The
                                       output is the same; replay_live_object does not
                                       know these objects (the watchers need it) */
    bool fields;                    /* each object's type is one of its finalizer kind and
                                       its K, with the K slots registered as its fields
                                       (rcgc_set_type_fields): the collector and the
                                       release read them without traverse. The output is
                                       the same */
    const rcgc_config *heap_config; /* for rcgc_heap_new (NULL: defaults), e.g. a
                                       memory source that fails on purpose */
};

/* The payload of an object made by `new`. */
struct replay_object {
    struct replay *replay;          /* where the finalizer prints and saves */
    uint32_t id;                    /* its name in the trace */
    uint32_t nslots;                /* K */
    enum trace_finalizer finalizer;
    void *slots[];                  /* K owned references, visited by traverse */
};

/* A weak reference the trace made, also the data of its callback. */
struct replay_weak {
    struct replay *replay;
    uint32_t id;                    /* W */
    void *ref;                      /* the weak-reference object (the trace's reference) */
};


/* The kinds of trace objects' types: one per finalizer kind, and the plain
   objects of options.plain. */
#define REPLAY_TYPE_KINDS 4

struct replay {
    rcgc_heap *heap;
    FILE *out;                      /* events (and the echo); hooks may redirect it */
    struct replay_options options;
    const struct replay_hooks *hooks; /* NULL: none */
    unsigned long long steps;       /* operations run, the current one included */
    unsigned long long line;        /* the trace's line being read or run */
    /* Names the trace used (released ones included), to their pointers as
       uintptr_t (ptrmap.h); 0 once released. */
    struct ptrmap objects;          /* ID -> struct replay_object *, 0 once dropped */
    struct ptrmap live;             /* ID -> struct replay_object *, 0 once freed */
    struct ptrmap weakrefs;         /* W -> struct replay_weak *, 0 once released */
    void **saved;                   /* references stored by resurrecting finalizers */
    size_t nsaved;
    size_t saved_capacity;
    bool out_of_memory;             /* a finalizer could not save its object */
    char message[TRACE_MESSAGE_SIZE]; /* what went wrong, when a call returns -1 */
    /* Under options.fields: the types of objects with K slots (.traverse
       NULL until the first such object is made), and the slots' offsets,
       which rcgc_set_type_fields keeps. */
    rcgc_type field_types[REPLAY_TYPE_KINDS][TRACE_MAX_SLOTS + 1];
    size_t slot_offsets[TRACE_MAX_SLOTS];
};

/* Makes the heap, with automatic collection off. 0, or -1 when memory is short. */
int replay_init(struct replay *rp, FILE *out, const struct replay_options *options);

/* Runs one operation: checks the names and slot it uses against what the
   trace holds, echoes it, then runs it. Returns 0, or -1 with rp->message set
   (a name the trace does not hold, or "out of memory"); after -1 the replay
   must stop, with replay_finish(). */
int replay_step(struct replay *rp, const struct trace_op *op);

/* Frees the heap (printing nothing: no finalizer or callback runs) and
   everything the replay allocated. */
void replay_finish(struct replay *rp);

/* Sets rp->message from a printf format, as a failing step or hook must;
   returns -1. */
int replay_fail(struct replay *rp, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Replays the trace read from in: events to out; on a malformed line or a
   name the trace does not hold, "trace:LINE: what is wrong" to err. Returns
   the exit status: 0 when the whole trace ran, 2 otherwise. */
int replay_run(FILE *in, FILE *out, FILE *err, const struct replay_options *options);

/* replay_run with hooks (NULL: none). */
int replay_run_hooked(FILE *in, FILE *out, FILE *err, const struct replay_options *options,
                      const struct replay_hooks *hooks);

/* The object named id in the trace while it is alive, whether the trace
   still holds the name or not; NULL before `new` and once freed, and always
   for the objects of options.plain without a finalizer. */
struct replay_object *replay_live_object(const struct replay *rp, uint32_t id);

/* Writes obj's name in the trace into buf: "ID" for an object, "wW" for a
   weak-reference object, "?" for anything else. */
void replay_name_of(const struct replay *rp, const void *obj, char *buf, size_t size);

#endif
