/*
 * `rcgc replay --explain`: the article's algorithm, step by step, for each
 * collection of a trace. explain_start() runs when a collection starts
 * (its START callback) and works out, independently of the collector, what
 * the collector is about to find: for every examined object (generations
 * 0..G, in the order the collector lists them) its reference count, gc_refs
 * after the copy and after subtracting the references from other examined
 * objects, and whether it is reachable from outside, rescued through a
 * reachable object, or unreachable. explain_stop() runs at STOP and records
 * what became of them: freed, resurrected, or moved to which generation.
 * The replayer's own events (fin, cb) are noted as they happen.
 */
#ifndef RCGC_TOOLS_EXPLAIN_H
#define RCGC_TOOLS_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ptrmap.h"
#include "replay.h"
#include "sbuf.h"

#define EXPLAIN_NAME_SIZE 24

enum explain_reach {
    EXPLAIN_UNREACHABLE,            /* gc_refs 0 and no reachable object refers to it */
    EXPLAIN_OUTSIDE,                /* gc_refs > 0: referenced from outside */
    EXPLAIN_RESCUED                 /* gc_refs 0, but a reachable object refers to it */
};

/* What became of an object, known at STOP: a generation 0..2, or this. */
#define EXPLAIN_FREED (-1)

struct explain_row {
    void *obj;
    char name[EXPLAIN_NAME_SIZE];   /* the trace's name: "ID" or "wW" */
    uint32_t id;                    /* ID for a trace object, 0 for a weak reference */
    int gen;                        /* its generation when the collection started */
    size_t refcount;
    size_t internal;                /* references from other examined objects */
    long long gc_refs;              /* refcount - internal */
    enum explain_reach reach;
    size_t via;                     /* EXPLAIN_RESCUED: the row that refers to it */
    int after;                      /* at STOP: a generation, or EXPLAIN_FREED */
};

/* A live trace object outside the examined generations. */
struct explain_other {
    void *obj;
    uint32_t id;
    bool freed;                     /* at STOP: it died during the collection */
};

struct explain {
    int generation;                 /* the collection's oldest generation */
    bool running;                   /* between START and STOP */
    struct explain_row *rows;       /* the examined objects, in the collector's order */
    size_t nrows, rows_cap;
    struct ptrmap index;            /* object -> row */
    void **unreachable;             /* the objects of the unreachable rows */
    size_t nunreachable, unreachable_cap;
    struct explain_other *others;
    size_t nothers, others_cap;
    struct sbuf fins, cbs;          /* names whose finalizer / callback ran, space-separated */
};

/* Takes the snapshot and computes the sets. 0, or -1 when memory is short. */
int explain_start(struct explain *e, struct replay *rp, int generation);

/* Records a replay event during the collection ('f' fin ID, 'c' cb W). */
void explain_note(struct explain *e, char kind, uint32_t name);

/* Finds what became of every object; memory is not needed. 0, or -1 when
   the events of the collection could not all be recorded (memory was short
   in explain_note): the summary would leave them out. */
int explain_stop(struct explain *e, struct replay *rp);

/* The table of explain_start, and the summary of explain_stop. */
void explain_print_start(const struct explain *e, FILE *out);
void explain_print_stop(const struct explain *e, FILE *out);

void explain_free(struct explain *e);

/* `--why ID`: prints "why ID: A -> B -> ID" (A referenced from outside),
   "why ID: ID" (ID itself), "why ID: not alive", or "why ID: no outside
   reference reaches it". 0, or -1 when memory is short. */
int explain_why(struct replay *rp, uint32_t id, FILE *out);

#endif
