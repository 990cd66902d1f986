/*
 * What the C tests share: the test node (four reference fields plus fields
 * that record what happened to it), the event log its finalizer and destroy
 * write to, heap functions (a heap with automatic collection off, live objects,
 * generation sizes and membership), a collection-callback counter, a memory
 * source that fails on purpose (the allocation-failure tests), and the scale
 * factor that shrinks the largest tests under slow tools (RCGC_TEST_SCALE).
 *
 * Everything is static or static inline, so that each test program takes only
 * what it uses.
 */
#ifndef RCGC_TESTS_COMMON_H
#define RCGC_TESTS_COMMON_H

#include "rcgc.h"
#include "check.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------- */
/* The event log and the test node                                           */
/* ------------------------------------------------------------------------- */

#define MAX_KEPT 16
#define MAX_WRS 4

/* What a test observes: finalizer, callback and destroy events in order,
   counters, and the references finalizers and callbacks handed to the test.
   Every node points to its test's log, since a finalizer gets only the
   object. The fields after `nkept` serve particular tests' hooks. */
typedef struct evlog {
    char text[1024];            /* events, space-separated */
    size_t fin_calls;           /* finalizer calls, all objects */
    size_t cb_calls;            /* weak-reference callback calls */
    size_t destroyed;           /* destroy calls, all objects */
    size_t double_fin;          /* finalizer calls on an already finalized object */
    void *kept[MAX_KEPT];       /* references owned by the test */
    size_t nkept;
    void *wr;                   /* a weak reference owned by the test */
    void *drop_me;              /* a reference a finalizer is to drop */
    ptrdiff_t inner[2];         /* rcgc_collect results seen by a finalizer */
    int seen;                   /* 1 when a hook's observation held */
    size_t destroyed_in_hook;   /* destroyed when the hook finished */
    void *wrs[MAX_WRS];         /* weak references a callback inspects */
    size_t nwrs;
    size_t live_seen;           /* rcgc_weakref_get results that were not NULL */
    size_t self_live;           /* callbacks whose own weak reference was not NULL */
    void *held_wr;              /* the only reference to a weak reference */
    void *hook_data;            /* the data of a callback a finalizer sets up */
} evlog;

/* Appends a word to the log's text (a word that does not fit is dropped). */
static inline void log_event(evlog *log, const char *what)
{
    size_t len = strlen(log->text);
    if (len + strlen(what) + 2 > sizeof log->text)
        return;
    if (len)
        log->text[len++] = ' ';
    strcpy(log->text + len, what);
}

typedef struct node node;
typedef void (*node_hook)(node *self);

/* A __slots__-like node (one rcgc object, as a __slots__ instance is one GC
   object in CPython, cpython-gc.md 3.1): four reference fields, then plain
   data that is not a reference. destroy increments *destroyed and
   log->destroyed when they are set; the finalizer of fin_type logs the name
   and runs the hook. */
struct node {
    void *a, *b, *c, *d;
    size_t *destroyed;
    evlog *log;
    const char *name;
    node_hook hook;             /* extra work for the finalizer */
    size_t fin_calls;           /* this object's finalizer calls */
};

static inline void node_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    node *n = obj;
    visit(&n->a, arg);
    visit(&n->b, arg);
    visit(&n->c, arg);
    visit(&n->d, arg);
}

/* The fields node_traverse visits, in its order (rcgc_set_type_fields). */
static const size_t node_fields[] = { offsetof(node, a), offsetof(node, b), offsetof(node, c), offsetof(node, d) };

static inline void node_finalize(void *obj)
{
    node *n = obj;
    if (n->fin_calls)
        n->log->double_fin++;
    n->fin_calls++;
    n->log->fin_calls++;
    log_event(n->log, n->name ? n->name : "?");
    if (n->hook)
        n->hook(n);
}

static inline void node_destroy(void *obj)
{
    node *n = obj;
    if (n->destroyed)
        (*n->destroyed)++;
    if (n->log)
        n->log->destroyed++;
}

/* Without a finalizer (a plain class) and with one (a class with __del__). */
static const rcgc_type node_type = { "node", sizeof(node), node_traverse, NULL, node_destroy };
static const rcgc_type fin_type = { "fnode", sizeof(node), node_traverse, node_finalize, node_destroy };

/* A node without hooks (no finalizer, no destroy): its objects take the
   library's plain paths (release without rcgc__dealloc's checks, collection
   garbage freed in bulk), and their deaths are seen only in the counts. */
static const rcgc_type plain_node_type = { "plain", sizeof(node), node_traverse, NULL, NULL };

/* A leaf type without destroy, for rcgc_new_sized of any size. */
static const rcgc_type blob_type = { "blob", 0, NULL, NULL, NULL };

/* A node that counts its destruction in *destroyed (may be NULL). */
static inline node *new_node(rcgc_heap *h, size_t *destroyed)
{
    node *n = rcgc_new(h, &node_type);
    CHECK(n != NULL);
    if (n)
        n->destroyed = destroyed;
    return n;
}

/* A node of type t that reports to log under name. */
static inline node *new_named(rcgc_heap *h, const rcgc_type *t, evlog *log, const char *name)
{
    node *n = rcgc_new(h, t);
    CHECK(n != NULL);
    if (n) {
        n->log = log;
        n->name = name;
    }
    return n;
}

/* A node with a finalizer that logs name and then runs hook. */
static inline node *new_fin(rcgc_heap *h, evlog *log, const char *name, node_hook hook)
{
    node *n = new_named(h, &fin_type, log, name);
    if (n)
        n->hook = hook;
    return n;
}

/* x.a = y and y.a = x: a cycle of two. */
static inline void link_pair(node *x, node *y)
{
    rcgc_set(&x->a, y);
    rcgc_set(&y->a, x);
}

/* link_pair, then the test's references to both dropped: a cycle of two that
   only the collector can free. */
static inline void orphan_pair(node *x, node *y)
{
    link_pair(x, y);
    rcgc_decref(x);
    rcgc_decref(y);
}

static inline void keep(evlog *log, void *obj)
{
    if (log->nkept < MAX_KEPT)
        log->kept[log->nkept++] = obj;
}

/* Drops every reference the test was handed. */
static inline void drop_kept(evlog *log)
{
    while (log->nkept)
        rcgc_decref(log->kept[--log->nkept]);
}

/* Stores a new reference to self where the test keeps it: resurrection. */
static inline void hook_resurrect(node *self)
{
    rcgc_incref(self);
    keep(self->log, self);
}

/* ------------------------------------------------------------------------- */
/* Heaps                                                                     */
/* ------------------------------------------------------------------------- */

/* A heap with automatic collection off, as every scenario of
   gc_scenarios.py starts (gc.disable(); gc.collect()). */
static inline rcgc_heap *fresh_heap(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (h)
        rcgc_disable(h);
    return h;
}

static inline rcgc_memory_stats memory_stats(const rcgc_heap *h)
{
    rcgc_memory_stats ms;
    memset(&ms, 0xff, sizeof ms);
    rcgc_get_memory_stats(h, &ms);
    return ms;
}

static inline size_t live_objects(const rcgc_heap *h)
{
    return memory_stats(h).objects;
}

/* Counts what get_objects lists and looks for one object among them. */
typedef struct find_state {
    const void *target;
    size_t hits;
    size_t calls;
} find_state;

static inline void find_fn(void *obj, void *arg)
{
    find_state *s = arg;
    s->calls++;
    if (obj == s->target)
        s->hits++;
}

/* How many times obj appears in get_objects(generation). */
static inline size_t occurrences(rcgc_heap *h, int generation, const void *obj)
{
    find_state s = { obj, 0, 0 };
    size_t n = rcgc_get_objects(h, generation, find_fn, &s);
    CHECK_EQ(n, s.calls);
    return s.hits;
}

/* The number of objects get_objects lists for generation (-1: all). */
static inline size_t gen_size(rcgc_heap *h, int generation)
{
    find_state s = { NULL, 0, 0 };
    size_t n = rcgc_get_objects(h, generation, find_fn, &s);
    CHECK_EQ(n, s.calls);
    return n;
}

/* Counts START and STOP calls of a collection callback. */
typedef struct cb_counter {
    size_t starts, stops;
} cb_counter;

static inline void count_cb(rcgc_heap *h, rcgc_phase phase, const rcgc_gc_info *info, void *data)
{
    (void)h; (void)info;
    cb_counter *c = data;
    if (phase == RCGC_PHASE_START) c->starts++;
    else c->stops++;
}

static inline double now_seconds(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------------- */
/* Sizes                                                                     */
/* ------------------------------------------------------------------------- */

/* RCGC_TEST_SCALE, a number in (0, 1], shrinks the largest tests (tens of
   millions of objects) for slow tools such as valgrind: scaled(n) is
   n * scale, at least `floor`. Unset, empty or invalid: 1. */
static inline double test_scale(void)
{
    const char *s = getenv("RCGC_TEST_SCALE");
    if (!s || !*s)
        return 1.0;
    char *end;
    double v = strtod(s, &end);
    if (*end != '\0' || !(v > 0.0) || v > 1.0)
        return 1.0;
    return v;
}

static inline size_t scaled(size_t n, size_t floor)
{
    size_t v = (size_t)((double)n * test_scale());
    return v < floor ? floor : v;
}

/* ------------------------------------------------------------------------- */
/* A memory source that fails on purpose                                     */
/* ------------------------------------------------------------------------- */

/* Wraps the C library and fails its Nth call (fail_at = N), and with
   `persistent` every call after it too. It checks what rcgc asks of a memory
   source: alignments that are powers of two up to 64 KiB, and every region
   given back once with the size it was asked for. Outstanding regions are
   recorded (test bookkeeping, plain malloc), so that leaks are counted and
   fm_release can free them. */
typedef struct fm_region {
    void *p;
    size_t size;
} fm_region;

typedef struct fault_mem {
    size_t calls;               /* alloc calls so far */
    size_t fail_at;             /* 0: never fail; else fail call number fail_at */
    int persistent;             /* and every call after it */
    size_t injected;            /* calls that returned NULL */
    size_t outstanding_bytes;
    size_t peak_bytes;
    fm_region *regions;         /* outstanding regions */
    size_t nregions, cap;
    size_t bad_align;           /* align not a power of two, or above 64 KiB */
    size_t bad_frees;           /* unknown pointer, or another size than asked */
    size_t bookkeeping_failed;
} fault_mem;

static inline int fm_failing(const fault_mem *fm)
{
    return fm->fail_at && (fm->calls == fm->fail_at || (fm->persistent && fm->calls > fm->fail_at));
}

static inline void *fm_alloc(void *ctx, size_t size, size_t align)
{
    fault_mem *fm = ctx;
    fm->calls++;
    if (align == 0 || (align & (align - 1)) != 0 || align > 65536)
        fm->bad_align++;
    if (fm_failing(fm)) {
        fm->injected++;
        return NULL;
    }
    if (fm->nregions == fm->cap) {
        size_t cap = fm->cap ? fm->cap * 2 : 256;
        fm_region *r = realloc(fm->regions, cap * sizeof *r);
        if (!r) { fm->bookkeeping_failed++; return NULL; }
        fm->regions = r;
        fm->cap = cap;
    }
    size_t a = align < sizeof(void *) ? sizeof(void *) : align;
    if (a & (a - 1)) a = 64;               /* bad align already counted */
    size_t rounded = size == 0 ? a : (size + a - 1) / a * a;
    if (rounded < size) return NULL;       /* overflow */
    void *p = aligned_alloc(a, rounded);
    if (!p) { fm->bookkeeping_failed++; return NULL; }
    fm->regions[fm->nregions].p = p;
    fm->regions[fm->nregions].size = size;
    fm->nregions++;
    fm->outstanding_bytes += size;
    if (fm->outstanding_bytes > fm->peak_bytes) fm->peak_bytes = fm->outstanding_bytes;
    return p;
}

static inline void fm_free(void *ctx, void *ptr, size_t size)
{
    fault_mem *fm = ctx;
    for (size_t i = fm->nregions; i-- > 0; ) {
        if (fm->regions[i].p == ptr) {
            if (fm->regions[i].size != size)
                fm->bad_frees++;
            fm->outstanding_bytes -= fm->regions[i].size;
            fm->regions[i] = fm->regions[--fm->nregions];
            free(ptr);
            return;
        }
    }
    fm->bad_frees++;                       /* not ours: do not free it */
}

static inline void fm_init(fault_mem *fm, size_t fail_at, int persistent)
{
    memset(fm, 0, sizeof *fm);
    fm->fail_at = fail_at;
    fm->persistent = persistent;
}

/* A heap configuration whose memory comes from fm. */
static inline rcgc_config fm_config(fault_mem *fm)
{
    rcgc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.memory.alloc = fm_alloc;
    cfg.memory.free = fm_free;
    cfg.memory.ctx = fm;
    return cfg;
}

/* Frees what the library did not give back (a leak, counted already) and
   the bookkeeping. */
static inline void fm_release(fault_mem *fm)
{
    for (size_t i = 0; i < fm->nregions; i++)
        free(fm->regions[i].p);
    free(fm->regions);
    fm->regions = NULL;
}

/* ------------------------------------------------------------------------- */
/* Running a scenario with the Nth request for memory failing                */
/* ------------------------------------------------------------------------- */

/* One run of a scenario: it counts the failures the API reported to it
   (NULL from rcgc_heap_new, rcgc_new, rcgc_weakref_new, ..., -1 from
   rcgc_callback_add, "out of memory" from the replayer) and the checks of
   its own that did not hold (the first ones are printed). */
typedef struct oom_run {
    fault_mem *fm;
    size_t reported;
    int checks_failed;
} oom_run;

static inline int oom_check(oom_run *o, int ok, const char *what, long long got, long long expected)
{
    if (!ok && o->checks_failed++ < 3)
        fprintf(stderr, "fail_at %zu%s: %s: got %lld, expected %lld\n", o->fm->fail_at,
                o->fm->persistent ? " (persistent)" : "", what, got, expected);
    return ok;
}

/* Evaluates got and expected once. */
static inline int oom_check_eq(oom_run *o, const char *what, long long got, long long expected)
{
    return oom_check(o, got == expected, what, got, expected);
}

#define OOM_CHECK_EQ(o, what, got, expected) \
    oom_check_eq((o), (what), (long long)(got), (long long)(expected))

typedef void (*oom_scenario)(oom_run *o, void *arg);

/* Runs the scenario once under fm and checks what holds whatever failed:
   its own checks, every failure reported (exactly one report per injected
   failure when only one call fails), nothing outstanding after
   rcgc_heap_free, every region given back with its size. */
static inline void oom_run_checked(fault_mem *fm, oom_run *o, oom_scenario fn, void *arg)
{
    memset(o, 0, sizeof *o);
    o->fm = fm;
    fn(o, arg);
    CHECK_EQ(o->checks_failed, 0);
    CHECK_EQ(fm->outstanding_bytes, 0);
    CHECK_EQ(fm->nregions, 0);
    CHECK_EQ(fm->bad_frees, 0);
    CHECK_EQ(fm->bad_align, 0);
    CHECK_EQ(fm->bookkeeping_failed, 0);
    if (fm->injected == 0)
        CHECK_EQ(o->reported, 0);
    else
        CHECK(o->reported >= 1);
    if (!fm->persistent) {
        if (o->reported != fm->injected)
            fprintf(stderr, "fail_at %zu: %zu failure injected, %zu reported\n",
                    fm->fail_at, fm->injected, o->reported);
        CHECK_EQ(o->reported, fm->injected);
    }
    fm_release(fm);
}

/* The scenario without failures: it must report none. Returns its number of
   requests for memory. */
static inline size_t oom_baseline(const char *name, oom_scenario fn, void *arg)
{
    fault_mem fm;
    oom_run o;
    fm_init(&fm, 0, 0);
    oom_run_checked(&fm, &o, fn, arg);
    CHECK_EQ(o.reported, 0);
    CHECK(fm.peak_bytes > 0);
    printf("%s without failures: %zu requests for memory, peak %zu bytes\n",
           name, fm.calls, fm.peak_bytes);
    return fm.calls;
}

/* Runs the scenario with request N failing (persistent: every request from
   N on), for N = 1, 2, ... until a run no longer reaches request N. Returns
   the number of failure points tried (runs in which the failure happened). */
static inline size_t oom_fail_each(const char *name, oom_scenario fn, void *arg, int persistent)
{
    size_t total = oom_baseline(name, fn, arg);
    size_t n, failing_runs = 0;
    for (n = 1; n <= total + 1000; n++) {
        fault_mem fm;
        oom_run o;
        fm_init(&fm, n, persistent);
        int before = check_test_failed;
        check_test_failed = 0;
        oom_run_checked(&fm, &o, fn, arg);
        if (check_test_failed) {
            if (failing_runs++ < 5)
                fprintf(stderr, "  ^ %s, with the %s failure at request %zu\n", name,
                        persistent ? "persistent" : "single", n);
        } else {
            check_test_failed = before;
        }
        if (fm.calls < n)                  /* request n never came: the run had no failure */
            break;
    }
    printf("%s, %s failure: %zu failure points tried, %zu with problems\n", name,
           persistent ? "persistent" : "single", n - 1, failing_runs);
    CHECK(n <= total + 1000);
    CHECK(n > total);                      /* the failure-free run makes `total` requests */
    CHECK_EQ(failing_runs, 0);
    return n - 1;
}

#endif
