/*
 * Allocation failure in more scenarios (test_oom.c has the first one). Each
 * scenario runs on a heap whose memory source (common.h) fails the Nth
 * request for memory, or every request from the Nth on, for N = 1, 2, ...
 * until a run no longer reaches request N:
 *
 *   - graph: random graphs of containers of many sizes (small classes and
 *     regions of their own), with automatic collections of every generation;
 *   - finalizers and weak references: rings whose finalizers allocate or
 *     resurrect, weak references whose callbacks allocate, rings dropped
 *     early (found by automatic collections) and late;
 *   - types: objects of 100 types, each new to the heap, so that the type
 *     table and its hash grow (several times) while memory fails, then
 *     another object of each; some types get a field table
 *     (rcgc_set_type_fields);
 *   - replay: every trace in tests/traces and a generated one of thousands
 *     of operations, run by the trace replayer (tools/replay.c) with the
 *     failing memory source in replay_options.heap_config.
 *
 * In every run: nothing crashes, every failure reaches the caller (NULL,
 * -1, or the replayer's "out of memory"; with one failing request, exactly
 * one report), the scenario's own results stay exact for what it could
 * build, the heap works again once memory is back, and nothing is left
 * outstanding after rcgc_heap_free (LeakSanitizer checks the rest under the
 * sanitizer build). A replay that meets a failure stops with status 2 and
 * "trace:LINE: out of memory", having printed a prefix of what the
 * failure-free run prints.
 *
 * Then a collection with the memory source failing every request: it
 * completes, finds exactly the unreachable objects, runs every finalizer and
 * weak-reference callback (those that try to allocate get NULL), and asks
 * for no memory itself. The same with RCGC_DEBUG_SAVEALL, where what cannot
 * be saved stays alive and is saved by a later collection (self-loops: no
 * saved object holds one that was not saved).
 *
 * It prints the failure points tried per scenario and their total.
 */
#define _POSIX_C_SOURCE 200809L

#include "rcgc.h"
#include "common.h"
#include "replay.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RCGC_TRACE_DIR
#define RCGC_TRACE_DIR "tests/traces"
#endif

static size_t points_total;

static uint32_t xorshift32(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* ------------------------------------------------------------------------- */
/* Graphs                                                                    */
/* ------------------------------------------------------------------------- */

enum { G_HELD = 64 };

/* Nodes per graph: 8,000, fewer under RCGC_TEST_SCALE. */
static size_t g_nodes;

/* With memory back (the memory source fails no more): a ring of 10 is made,
   collected and destroyed exactly. */
static void check_usable(oom_run *o, rcgc_heap *h, size_t *destroyed)
{
    o->fm->fail_at = 0;                    /* memory is back */
    node *ring[10];
    size_t k;
    size_t before = *destroyed;
    for (k = 0; k < 10; k++) {
        ring[k] = rcgc_new(h, &node_type);
        if (!ring[k]) break;
        ring[k]->destroyed = destroyed;
    }
    OOM_CHECK_EQ(o, "usable: ring made", k, 10);
    for (size_t i = 0; i < k; i++)
        rcgc_set(&ring[i]->a, ring[(i + 1) % k]);
    for (size_t i = 0; i < k; i++)
        rcgc_decref(ring[i]);
    OOM_CHECK_EQ(o, "usable: ring collected", rcgc_collect(h, 2), k);
    OOM_CHECK_EQ(o, "usable: ring destroyed", *destroyed - before, k);
}

static void graph_scenario(oom_run *o, void *arg)
{
    (void)arg;
    rcgc_config cfg = fm_config(o->fm);
    rcgc_heap *h = rcgc_heap_new(&cfg);
    if (!h) { o->reported++; return; }
    rcgc_set_threshold(h, 150, 4, 4);      /* automatic collections of every generation */
    cb_counter cc = { 0, 0 };
    if (rcgc_callback_add(h, count_cb, &cc) != 0) o->reported++;
    uint32_t x = 2463534242u;
    size_t destroyed = 0, made = 0;
    node *held[G_HELD] = { NULL };
    for (size_t i = 0; i < g_nodes; i++) {
        uint32_t r = xorshift32(&x);
        size_t extra = i % 97 == 0 ? 9000 + r % 90000 : r % 600;
        node *n = rcgc_new_sized(h, &node_type, sizeof(node) + extra);
        if (!n) { o->reported++; continue; }
        n->destroyed = &destroyed;
        made++;
        node *other = held[(r >> 8) % G_HELD];
        if (other) {
            rcgc_set(&n->a, other);        /* new -> old */
            if (r & 1) rcgc_set(&other->c, n);   /* old -> new: a cycle */
        }
        if ((r >> 4) % 4 == 0) rcgc_set(&n->b, n);
        size_t slot = (r >> 16) % G_HELD;
        rcgc_xdecref(held[slot]);
        held[slot] = n;
        if (i % 500 == 499)
            oom_check(o, rcgc_collect(h, (int)(i / 500 % 3)) >= 0, "collect", 0, 0);
    }
    OOM_CHECK_EQ(o, "live after build", live_objects(h), made - destroyed);
    for (size_t i = 0; i < G_HELD; i++)
        rcgc_xdecref(held[i]);
    rcgc_collect(h, 2);
    OOM_CHECK_EQ(o, "destroyed after the drop", destroyed, made);
    rcgc_memory_stats ms = memory_stats(h);
    OOM_CHECK_EQ(o, "objects after the drop", ms.objects, 0);
    OOM_CHECK_EQ(o, "object bytes after the drop", ms.object_bytes, 0);
    OOM_CHECK_EQ(o, "large objects after the drop", ms.large_objects, 0);
    OOM_CHECK_EQ(o, "callback balance", cc.starts, cc.stops);
    check_usable(o, h, &destroyed);
    rcgc_heap_free(h);
}

static void test_graph(void)
{
    points_total += oom_fail_each("graph", graph_scenario, NULL, 0);
    points_total += oom_fail_each("graph", graph_scenario, NULL, 1);
}

/* ------------------------------------------------------------------------- */
/* Many types                                                                */
/* ------------------------------------------------------------------------- */

enum { T_TYPES = 100 };

/* T_TYPES distinct types: every third a leaf of its own size, the others
   node-shaped containers (every fourth of those with a finalizer); the
   containers of every fifth type are read through a field table. */
typedef struct many_types {
    rcgc_type t[T_TYPES];
    char names[T_TYPES][16];
} many_types;

static void many_types_init(many_types *mt)
{
    for (int k = 0; k < T_TYPES; k++) {
        rcgc_type *t = &mt->t[k];
        snprintf(mt->names[k], sizeof mt->names[k], "type-%d", k);
        t->name = mt->names[k];
        if (k % 3 == 2) {
            t->size = 8 + (size_t)k * 8;
            t->traverse = NULL;
            t->finalize = NULL;
            t->destroy = NULL;
        } else {
            t->size = sizeof(node);
            t->traverse = node_traverse;
            t->finalize = k % 4 == 0 ? node_finalize : NULL;
            t->destroy = node_destroy;
        }
    }
}

/* Which of mt's types t is (-1: none of them). */
static long long type_number(const many_types *mt, const rcgc_type *t)
{
    for (int k = 0; k < T_TYPES; k++)
        if (t == &mt->t[k])
            return k;
    return -1;
}

/* Two objects of each type, in two rounds: in the first, each type is new to
   the heap; in the second, it is found in the grown table. Every object made
   has its type and tracking; the containers, linked in one ring, are found by
   one collection and destroyed, their finalizers run once, and the leaves go
   with their last reference. */
static void types_scenario(oom_run *o, void *arg)
{
    const many_types *mt = arg;
    rcgc_config cfg = fm_config(o->fm);
    rcgc_heap *h = rcgc_heap_new(&cfg);
    if (!h) { o->reported++; return; }
    evlog log = { 0 };
    size_t destroyed = 0, containers = 0, with_fin = 0;
    node *ring[2 * T_TYPES];
    void *leaves[2 * T_TYPES];
    const rcgc_type *ring_type[2 * T_TYPES], *leaf_type[2 * T_TYPES];
    size_t nleaves = 0;
    for (int i = 0; i < 2 * T_TYPES; i++) {
        int k = i % T_TYPES;
        const rcgc_type *t = &mt->t[k];
        if (t->traverse && k % 5 == 0 && i < T_TYPES && rcgc_set_type_fields(h, t, node_fields, 4) != 0) {
            o->reported++;
            continue;
        }
        void *obj = rcgc_new(h, t);
        if (!obj) { o->reported++; continue; }
        OOM_CHECK_EQ(o, "type of a new object", type_number(mt, rcgc_type_of(obj)), k);
        OOM_CHECK_EQ(o, "tracked iff a container", rcgc_is_tracked(obj), t->traverse != NULL);
        if (!t->traverse) {
            leaf_type[nleaves] = t;
            leaves[nleaves++] = obj;
            continue;
        }
        node *n = obj;
        n->destroyed = &destroyed;
        n->log = &log;
        with_fin += t->finalize != NULL;
        ring_type[containers] = t;
        ring[containers++] = n;
    }
    /* The table has grown since the first objects were made. */
    for (size_t i = 0; i < containers; i++)
        OOM_CHECK_EQ(o, "type of a container, later", type_number(mt, rcgc_type_of(ring[i])), type_number(mt, ring_type[i]));
    for (size_t i = 0; i < nleaves; i++)
        OOM_CHECK_EQ(o, "type of a leaf, later", type_number(mt, rcgc_type_of(leaves[i])), type_number(mt, leaf_type[i]));
    for (size_t i = 0; i < containers; i++)
        rcgc_set(&ring[i]->a, ring[(i + 1) % containers]);
    size_t held = nleaves < containers ? nleaves : containers;
    for (size_t i = 0; i < held; i++)
        rcgc_set(&ring[i]->b, leaves[i]);
    OOM_CHECK_EQ(o, "live before the drop", live_objects(h), containers + nleaves);
    for (size_t i = 0; i < nleaves; i++)
        rcgc_decref(leaves[i]);
    OOM_CHECK_EQ(o, "leaves held by the ring", live_objects(h), containers + held);
    for (size_t i = 0; i < containers; i++)
        rcgc_decref(ring[i]);
    OOM_CHECK_EQ(o, "ring collected", rcgc_collect(h, 2), containers);
    OOM_CHECK_EQ(o, "ring destroyed", destroyed, containers);
    OOM_CHECK_EQ(o, "finalizers", log.fin_calls, with_fin);
    OOM_CHECK_EQ(o, "no finalizer twice", log.double_fin, 0);
    OOM_CHECK_EQ(o, "nothing left", live_objects(h), 0);
    check_usable(o, h, &destroyed);
    rcgc_heap_free(h);
}

static void test_types(void)
{
    many_types *mt = malloc(sizeof *mt);
    CHECK(mt != NULL);
    if (!mt)
        return;
    many_types_init(mt);
    points_total += oom_fail_each("types", types_scenario, mt, 0);
    points_total += oom_fail_each("types", types_scenario, mt, 1);
    free(mt);
}

/* ------------------------------------------------------------------------- */
/* Finalizers and weak references                                            */
/* ------------------------------------------------------------------------- */

enum { FW_RINGS = 240, FW_LEN = 3 };

/* The scenario's state; finalizers reach it through node->log, its first
   member. */
typedef struct fw_state {
    evlog log;
    oom_run *o;
    rcgc_heap *h;
    size_t destroyed;           /* destroy calls: ring nodes and what hooks made */
    size_t hook_made;           /* objects made by finalizers and callbacks */
    void *saved[FW_RINGS];      /* references stored by resurrecting finalizers */
    size_t nsaved;
    size_t cb_calls;
} fw_state;

static fw_state *fw_of(node *n)
{
    return (fw_state *)(void *)n->log;
}

/* Allocates an object and ties it to self (it dies with self); a NULL is
   the failure reported to this finalizer. */
static void hook_allocate(node *self)
{
    fw_state *st = fw_of(self);
    node *t = rcgc_new(st->h, &node_type);
    if (!t) { st->o->reported++; return; }
    t->destroyed = &st->destroyed;
    st->hook_made++;
    rcgc_set(&self->b, t);
    rcgc_decref(t);
}

static void hook_save(node *self)
{
    fw_state *st = fw_of(self);
    rcgc_incref(self);
    st->saved[st->nsaved++] = self;
}

/* Every other call allocates an object and drops it. */
static void fw_weak_cb(void *wr, void *data)
{
    (void)wr;
    fw_state *st = data;
    if (st->cb_calls++ % 2)
        return;
    node *t = rcgc_new(st->h, &node_type);
    if (!t) { st->o->reported++; return; }
    t->destroyed = &st->destroyed;
    st->hook_made++;
    rcgc_decref(t);
}

typedef struct collected_sum {
    size_t collected;
} collected_sum;

static void sum_cb(rcgc_heap *h, rcgc_phase phase, const rcgc_gc_info *info, void *data)
{
    (void)h;
    if (phase == RCGC_PHASE_STOP)
        ((collected_sum *)data)->collected += info->collected;
}

static int fw_dropped_early(size_t r) { return r % 5 == 0; }
static int fw_resurrects(size_t r) { return r % 4 == 1 && !fw_dropped_early(r); }

static void fin_weak_scenario(oom_run *o, void *arg)
{
    (void)arg;
    fw_state *st = calloc(1, sizeof *st);
    if (!st) { oom_check(o, 0, "test state", 0, 1); return; }
    st->o = o;
    rcgc_config cfg = fm_config(o->fm);
    rcgc_heap *h = st->h = rcgc_heap_new(&cfg);
    if (!h) { o->reported++; free(st); return; }
    rcgc_set_threshold(h, 60, 5, 5);
    collected_sum sum = { 0 };
    int summing = rcgc_callback_add(h, sum_cb, &sum) == 0;
    if (!summing) o->reported++;

    node *held[FW_RINGS];
    void *weak[FW_RINGS];
    size_t nheld = 0, nweak = 0, built = 0, resurrecting = 0, res_blobs = 0;
    size_t partial_nodes = 0, partial_fins = 0;
    for (size_t r = 0; r < FW_RINGS; r++) {
        node *n[FW_LEN];
        size_t k;
        for (k = 0; k < FW_LEN; k++) {
            n[k] = rcgc_new(h, k == 0 ? &fin_type : &node_type);
            if (!n[k]) { o->reported++; break; }
            n[k]->destroyed = &st->destroyed;
            n[k]->log = &st->log;
        }
        if (k < FW_LEN) {                  /* unlinked: they die at once, n[0] finalized */
            partial_nodes += k;
            partial_fins += k > 0;
            while (k-- > 0)
                rcgc_decref(n[k]);
            continue;
        }
        n[0]->hook = fw_resurrects(r) ? hook_save : hook_allocate;
        for (k = 0; k < FW_LEN; k++)
            rcgc_set(&n[k]->a, n[(k + 1) % FW_LEN]);
        for (k = 1; k < FW_LEN; k++)
            rcgc_decref(n[k]);
        built++;
        if (r % 8 == 3) {                  /* a large leaf, alive as long as the ring */
            void *blob = rcgc_new_sized(h, &blob_type, 9000 + r * 331 % 50000);
            if (!blob) o->reported++;
            else {
                n[2]->d = blob;
                if (fw_resurrects(r)) res_blobs++;
            }
        }
        if (r % 3 == 0) {
            void *w = rcgc_weakref_new(n[1], fw_weak_cb, st);
            if (!w) o->reported++;
            else weak[nweak++] = w;
        }
        if (fw_dropped_early(r)) {
            rcgc_decref(n[0]);             /* garbage for an automatic collection */
        } else {
            held[nheld++] = n[0];
            if (fw_resurrects(r)) resurrecting++;
        }
    }
    oom_check(o, st->log.fin_calls <= built - nheld + partial_fins, "no finalizer of a held ring ran",
              (long long)st->log.fin_calls, (long long)(built - nheld + partial_fins));
    size_t sum_before = sum.collected;
    for (size_t i = 0; i < nheld; i++)
        rcgc_decref(held[i]);
    ptrdiff_t c = rcgc_collect(h, 2);
    size_t expected_total = FW_LEN * (built - resurrecting);
    if (summing) {
        OOM_CHECK_EQ(o, "collected by all collections", sum.collected, expected_total);
        OOM_CHECK_EQ(o, "collected by the full collection", c, sum.collected - sum_before);
    } else {
        oom_check(o, c >= 0 && (size_t)c <= expected_total, "collected by the full collection",
                  (long long)c, (long long)expected_total);
    }
    OOM_CHECK_EQ(o, "finalizers", st->log.fin_calls, built + partial_fins);
    OOM_CHECK_EQ(o, "finalizer twice", st->log.double_fin, 0);
    OOM_CHECK_EQ(o, "saved", st->nsaved, resurrecting);
    OOM_CHECK_EQ(o, "weak callbacks", st->cb_calls, nweak);
    size_t dead = 0;
    for (size_t i = 0; i < nweak; i++) {
        void *t = rcgc_weakref_get(weak[i]);
        dead += t == NULL;
        rcgc_xdecref(t);
    }
    OOM_CHECK_EQ(o, "dead weak references", dead, nweak);
    OOM_CHECK_EQ(o, "live after the collection", live_objects(h),
                 FW_LEN * resurrecting + res_blobs + nweak);

    for (size_t i = 0; i < st->nsaved; i++)
        rcgc_decref(st->saved[i]);
    OOM_CHECK_EQ(o, "resurrected rings collected", rcgc_collect(h, 2), FW_LEN * resurrecting);
    OOM_CHECK_EQ(o, "finalizers after the second collection", st->log.fin_calls, built + partial_fins);
    for (size_t i = 0; i < nweak; i++)
        rcgc_decref(weak[i]);
    OOM_CHECK_EQ(o, "live at the end", live_objects(h), 0);
    OOM_CHECK_EQ(o, "destroyed", st->destroyed, FW_LEN * built + partial_nodes + st->hook_made);

    size_t reported = o->reported;
    check_usable(o, h, &st->destroyed);
    node *f = rcgc_new(h, &fin_type);      /* a finalizer and a callback that allocate */
    OOM_CHECK_EQ(o, "usable: new", f != NULL, 1);
    if (f) {
        f->log = &st->log;
        f->hook = hook_allocate;
        f->destroyed = &st->destroyed;
        rcgc_set(&f->a, f);
        st->cb_calls = 0;
        void *w = rcgc_weakref_new(f, fw_weak_cb, st);
        rcgc_decref(f);
        OOM_CHECK_EQ(o, "usable: finalizer ring collected", rcgc_collect(h, 2), 1);
        OOM_CHECK_EQ(o, "usable: finalizer ran", st->log.fin_calls, built + partial_fins + 1);
        OOM_CHECK_EQ(o, "usable: weak reference made", w != NULL, 1);
        OOM_CHECK_EQ(o, "usable: callback ran", st->cb_calls, 1);
        rcgc_xdecref(w);
    }
    OOM_CHECK_EQ(o, "usable: nothing failed", o->reported, reported);
    OOM_CHECK_EQ(o, "usable: live", live_objects(h), 0);
    rcgc_heap_free(h);
    free(st);
}

static void test_finalizers_and_weakrefs(void)
{
    points_total += oom_fail_each("finalizers and weak references", fin_weak_scenario, NULL, 0);
    points_total += oom_fail_each("finalizers and weak references", fin_weak_scenario, NULL, 1);
}

/* ------------------------------------------------------------------------- */
/* Replaying traces                                                          */
/* ------------------------------------------------------------------------- */

/* A trace and what its failure-free replay printed. */
typedef struct replay_case {
    const char *name;
    const char *text;
    size_t len;
    bool have_baseline;
    int status;
    char *out, *err;
} replay_case;

static int starts_with(const char *s, size_t slen, const char *prefix, size_t plen)
{
    return plen <= slen && memcmp(s, prefix, plen) == 0;
}

static void replay_scenario(oom_run *o, void *arg)
{
    replay_case *rc = arg;
    rcgc_config cfg = fm_config(o->fm);
    struct replay_options options = { .echo = true, .heap_config = &cfg };
    char *out = NULL, *err = NULL;
    size_t out_len = 0, err_len = 0;
    FILE *in = fmemopen((void *)rc->text, rc->len, "r");
    FILE *outf = open_memstream(&out, &out_len);
    FILE *errf = open_memstream(&err, &err_len);
    if (!in || !outf || !errf) {
        oom_check(o, 0, "streams", 0, 1);
        if (in) fclose(in);
        if (outf) fclose(outf);
        if (errf) fclose(errf);
        free(out);
        free(err);
        return;
    }
    int status = replay_run(in, outf, errf, &options);
    fclose(in);
    fclose(outf);
    fclose(errf);
    if (strstr(err, "out of memory"))
        o->reported++;
    if (!rc->have_baseline) {
        rc->have_baseline = true;
        rc->status = status;
        rc->out = out;
        rc->err = err;
        return;
    }
    if (o->fm->injected == 0) {
        OOM_CHECK_EQ(o, "status without failure", status, rc->status);
        OOM_CHECK_EQ(o, "output without failure", strcmp(out, rc->out), 0);
        OOM_CHECK_EQ(o, "errors without failure", strcmp(err, rc->err), 0);
    } else {
        unsigned long long line = 0;
        int used = -1;
        OOM_CHECK_EQ(o, "status after a failure", status, 2);
        oom_check(o, sscanf(err, "trace:%llu: out of memory\n%n", &line, &used) == 1 &&
                  used == (int)err_len, "one out-of-memory message", 0, 1);
        if (used != (int)err_len)
            fprintf(stderr, "%s: %s", rc->name, err);
        OOM_CHECK_EQ(o, "output is a prefix of the failure-free one",
                     starts_with(rc->out, strlen(rc->out), out, out_len), 1);
    }
    free(out);
    free(err);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) { free(buf); buf = NULL; break; }
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Appends formatted text to a growing buffer. */
typedef struct text_buf {
    char *p;
    size_t len, cap;
    int failed;
} text_buf;

static void tb_printf(text_buf *b, const char *fmt, unsigned long v1, unsigned long v2, unsigned long v3)
{
    if (b->failed)
        return;
    if (b->cap - b->len < 128) {
        size_t cap = b->cap ? b->cap * 2 : 1 << 16;
        char *p = realloc(b->p, cap);
        if (!p) { b->failed = 1; return; }
        b->p = p;
        b->cap = cap;
    }
    int n = snprintf(b->p + b->len, b->cap - b->len, fmt, v1, v2, v3);
    if (n > 0) b->len += (size_t)n;
}

/* A trace of about 6,000 operations: objects of 1 to 64 slots, some with
   finalizers (printing or resurrecting), links to earlier objects (cycles),
   weak references with and without callbacks, drops, collections of each
   generation, derefs, unsave, and automatic collection on. */
static char *generated_trace(size_t *len)
{
    enum { OBJECTS = 2000, MAXK = 64 };
    text_buf b = { NULL, 0, 0, 0 };
    unsigned long held[OBJECTS], slots[OBJECTS + 1];
    unsigned long nheld = 0, weak_names = 0;
    unsigned long weak[64];
    size_t nweak = 0;
    uint32_t x = 88172645u;
    tb_printf(&b, "gc on\nthreshold %lu %lu %lu\n", 90, 4, 4);
    for (unsigned long id = 1; id <= OBJECTS; id++) {
        uint32_t r = xorshift32(&x);
        unsigned long k = 1 + r % MAXK;
        const char *kind = r % 11 == 0 ? " resurrect" : r % 5 == 0 ? " fin" : "";
        slots[id] = k;
        if (*kind == ' ' && kind[1] == 'r')
            tb_printf(&b, "new %lu resurrect slots=%lu\n", id, k, 0);
        else if (*kind)
            tb_printf(&b, "new %lu fin slots=%lu\n", id, k, 0);
        else
            tb_printf(&b, "new %lu slots=%lu\n", id, k, 0);
        if (nheld) {
            unsigned long other = held[(r >> 8) % nheld];
            tb_printf(&b, "set %lu %lu %lu\n", id, (r >> 3) % k, other);
            if (r & 4)
                tb_printf(&b, "set %lu %lu %lu\n", other, (r >> 12) % slots[other], id);
        }
        if ((r >> 20) % 7 == 0) {
            weak_names++;
            if (nweak == 64) {
                size_t i = (r >> 9) % 64;
                tb_printf(&b, "deref %lu\nunweak %lu\n", weak[i], weak[i], 0);
                weak[i] = weak_names;
            } else {
                weak[nweak++] = weak_names;
            }
            tb_printf(&b, (r & 8) ? "weak %lu %lu cb\n" : "weak %lu %lu\n", weak_names, id, 0);
        }
        held[nheld++] = id;
        if ((r >> 16) % 3 != 0 && nheld > 1) {   /* drop a random held object */
            size_t i = (r >> 5) % nheld;
            tb_printf(&b, "drop %lu\n", held[i], 0, 0);
            held[i] = held[--nheld];
        }
        if (id % 250 == 0)
            tb_printf(&b, "collect %lu\n", (id / 250) % 3, 0, 0);
        if (id % 700 == 0)
            tb_printf(&b, "unsave\n", 0, 0, 0);
    }
    for (size_t i = 0; i < nweak; i++)
        tb_printf(&b, "deref %lu\n", weak[i], 0, 0);
    while (nheld)
        tb_printf(&b, "drop %lu\n", held[--nheld], 0, 0);
    tb_printf(&b, "collect 2\ncount\nunsave\ncollect 2\n", 0, 0, 0);
    for (size_t i = 0; i < nweak; i++)
        tb_printf(&b, "deref %lu\n", weak[i], 0, 0);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

static size_t replay_case_points(replay_case *rc)
{
    size_t points = oom_fail_each(rc->name, replay_scenario, rc, 0);
    points += oom_fail_each(rc->name, replay_scenario, rc, 1);
    free(rc->out);
    free(rc->err);
    rc->out = rc->err = NULL;
    rc->have_baseline = false;
    return points;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_replay(void)
{
    size_t points = 0, traces = 0;
    DIR *d = opendir(RCGC_TRACE_DIR);
    CHECK(d != NULL);
    char *names[256];
    size_t nnames = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL && nnames < 256) {
            size_t n = strlen(e->d_name);
            if (n > 6 && strcmp(e->d_name + n - 6, ".trace") == 0) {
                names[nnames] = malloc(strlen(RCGC_TRACE_DIR) + n + 2);
                if (!names[nnames]) break;
                sprintf(names[nnames++], "%s/%s", RCGC_TRACE_DIR, e->d_name);
            }
        }
        closedir(d);
    }
    qsort(names, nnames, sizeof names[0], by_name);
    CHECK(nnames >= 20);
    for (size_t i = 0; i < nnames; i++) {
        size_t len = 0;
        char *text = read_file(names[i], &len);
        CHECK(text != NULL);
        if (text) {
            replay_case rc = { strrchr(names[i], '/') + 1, text, len, false, 0, NULL, NULL };
            points += replay_case_points(&rc);
            traces++;
            free(text);
        }
        free(names[i]);
    }
    size_t len = 0;
    char *text = generated_trace(&len);
    CHECK(text != NULL);
    if (text) {
        replay_case rc = { "generated trace", text, len, false, 0, NULL, NULL };
        points += replay_case_points(&rc);
        traces++;
        free(text);
    }
    printf("replay: %zu traces, %zu failure points tried\n", traces, points);
    points_total += points;
}

/* ------------------------------------------------------------------------- */
/* A collection needs no memory                                              */
/* ------------------------------------------------------------------------- */

enum { NM_RINGS = 200, NM_LEN = 4 };

typedef struct nm_state {
    evlog log;                  /* first: finalizers reach the state through it */
    rcgc_heap *h;
    size_t destroyed;
    size_t alloc_tries, alloc_nulls;
    void *saved[NM_RINGS];
    size_t nsaved;
    size_t cb_calls;
} nm_state;

/* Tries to allocate: with the memory source failing, gets NULL. */
static void hook_try_allocate(node *self)
{
    nm_state *st = (nm_state *)(void *)self->log;
    st->alloc_tries++;
    void *t = rcgc_new(st->h, &node_type);
    if (!t) st->alloc_nulls++;
    else rcgc_decref(t);
}

static void hook_nm_save(node *self)
{
    nm_state *st = (nm_state *)(void *)self->log;
    rcgc_incref(self);
    st->saved[st->nsaved++] = self;
}

static void nm_weak_cb(void *wr, void *data)
{
    (void)wr;
    nm_state *st = data;
    st->cb_calls++;
    st->alloc_tries++;
    void *t = rcgc_new(st->h, &node_type);
    if (!t) st->alloc_nulls++;
    else rcgc_decref(t);
}

static void nm_heap(fault_mem *fm, nm_state *st)
{
    memset(st, 0, sizeof *st);
    fm_init(fm, 0, 0);
    rcgc_config cfg = fm_config(fm);
    st->h = rcgc_heap_new(&cfg);
    CHECK(st->h != NULL);
    if (st->h)
        rcgc_disable(st->h);
}

/* Builds NM_RINGS rings of NM_LEN nodes (one large), all garbage: ring r's
   node 0 has a finalizer that resurrects it (every 10th ring) or tries to
   allocate; every 2nd ring has a weak reference with callback held by the
   test, every 3rd (not resurrecting) a weak reference inside the ring, which
   is garbage itself. Also 100 held nodes that must survive. Returns the
   number of objects the collection must find. */
static size_t nm_build(nm_state *st, void **weak, size_t *nweak, node **survivors, size_t *resurrecting)
{
    size_t expected = 0;
    *nweak = 0;
    *resurrecting = 0;
    for (size_t r = 0; r < NM_RINGS; r++) {
        node *n[NM_LEN];
        for (size_t k = 0; k < NM_LEN; k++) {
            n[k] = k == 0 ? rcgc_new(st->h, &fin_type)
                 : k == 1 ? rcgc_new_sized(st->h, &node_type, 20000)
                 : rcgc_new(st->h, &node_type);
            CHECK(n[k] != NULL);
            if (!n[k]) return 0;
            n[k]->destroyed = &st->destroyed;
            n[k]->log = &st->log;
        }
        int res = r % 10 == 0;
        n[0]->hook = res ? hook_nm_save : hook_try_allocate;
        for (size_t k = 0; k < NM_LEN; k++)
            rcgc_set(&n[k]->a, n[(k + 1) % NM_LEN]);
        if (r % 2 == 0) {
            weak[*nweak] = rcgc_weakref_new(n[2], nm_weak_cb, st);
            CHECK(weak[*nweak] != NULL);
            if (weak[*nweak]) (*nweak)++;
        }
        if (r % 3 == 0 && !res) {
            void *inner = rcgc_weakref_new(n[3], nm_weak_cb, st);
            CHECK(inner != NULL);
            if (inner) {
                n[3]->b = inner;           /* our reference moves into the ring */
                expected++;
            }
        }
        for (size_t k = 0; k < NM_LEN; k++)
            rcgc_decref(n[k]);
        if (res) (*resurrecting)++;
        else expected += NM_LEN;
    }
    for (size_t i = 0; i < 100; i++) {
        survivors[i] = rcgc_new(st->h, &node_type);
        CHECK(survivors[i] != NULL);
        if (!survivors[i]) return 0;
        survivors[i]->destroyed = &st->destroyed;
        rcgc_set(&survivors[i]->a, survivors[i]);
        if (i) rcgc_set(&survivors[i]->b, survivors[i - 1]);
    }
    return expected;
}

static void check_collection_without_memory(int generation)
{
    fault_mem fm;
    nm_state *st = malloc(sizeof *st);
    void *weak[NM_RINGS];
    node *survivors[100];
    CHECK(st != NULL);
    if (!st) return;
    nm_heap(&fm, st);
    if (!st->h) { fm_release(&fm); free(st); return; }
    size_t nweak, resurrecting;
    size_t expected = nm_build(st, weak, &nweak, survivors, &resurrecting);
    CHECK(expected > 0);
    size_t live_before = live_objects(st->h);

    fm.fail_at = fm.calls + 1;             /* every request fails from now on */
    fm.persistent = 1;
    size_t calls = fm.calls;
    ptrdiff_t c = rcgc_collect(st->h, generation);
    CHECK_EQ(c, (ptrdiff_t)expected);
    /* the only requests were those of the finalizers and callbacks that
       found no free block, and each got NULL */
    CHECK(st->alloc_tries > 0);
    CHECK(st->alloc_nulls <= st->alloc_tries);
    CHECK_EQ(fm.calls - calls, st->alloc_nulls);
    CHECK_EQ(st->log.fin_calls, NM_RINGS);
    CHECK_EQ(st->log.double_fin, 0);
    CHECK_EQ(st->nsaved, resurrecting);
    CHECK_EQ(st->cb_calls, nweak);         /* the inner ones are garbage: no callback */
    CHECK_EQ(live_objects(st->h), live_before - expected);
    CHECK_EQ(st->destroyed, (NM_RINGS - resurrecting) * NM_LEN);
    for (size_t i = 0; i < nweak; i++) {
        void *t = rcgc_weakref_get(weak[i]);
        CHECK(t == NULL);
        rcgc_xdecref(t);
    }

    /* the resurrected rings, dropped, are found by the next collection,
       still without memory; their finalizers do not run again */
    for (size_t i = 0; i < st->nsaved; i++)
        rcgc_decref(st->saved[i]);
    calls = fm.calls;
    CHECK_EQ(rcgc_collect(st->h, 2), (ptrdiff_t)(resurrecting * NM_LEN));
    CHECK_EQ(fm.calls, calls);
    CHECK_EQ(st->log.fin_calls, NM_RINGS);
    for (size_t i = 0; i < nweak; i++)
        rcgc_decref(weak[i]);
    for (size_t i = 0; i < 100; i++)
        rcgc_decref(survivors[i]);         /* the survivors are garbage now */
    CHECK_EQ(rcgc_collect(st->h, 2), 100);
    CHECK_EQ(fm.calls, calls);
    CHECK_EQ(live_objects(st->h), 0);
    CHECK_EQ(st->destroyed, NM_RINGS * NM_LEN + 100);

    /* memory back: the heap works */
    fm.fail_at = 0;
    node *a = new_node(st->h, &st->destroyed);
    if (a) {
        rcgc_set(&a->a, a);
        rcgc_decref(a);
        CHECK_EQ(rcgc_collect(st->h, 2), 1);
    }
    CHECK_EQ(live_objects(st->h), 0);
    rcgc_heap_free(st->h);
    CHECK_EQ(fm.outstanding_bytes, 0);
    CHECK_EQ(fm.bad_frees, 0);
    fm_release(&fm);
    free(st);
}

static void test_collection_without_memory(void)
{
    for (int g = 0; g < 3; g++)
        check_collection_without_memory(g);
}

/* RCGC_DEBUG_SAVEALL needs memory for gc.garbage. Without it the collection
   still completes and counts what it found; what it could not save stays
   alive, untouched, and a later collection with memory saves it, since here
   each object is a cycle of its own. (An object that a saved one refers to
   stays alive with it and is not garbage again until the list lets go.) */
static void test_saveall_without_memory(void)
{
    fault_mem fm;
    nm_state *st = malloc(sizeof *st);
    CHECK(st != NULL);
    if (!st) return;
    nm_heap(&fm, st);
    if (!st->h) { fm_release(&fm); free(st); return; }
    node *loops[50];
    for (size_t i = 0; i < 50; i++) {
        loops[i] = new_node(st->h, &st->destroyed);
        if (!loops[i]) break;
        rcgc_set(&loops[i]->a, loops[i]);
        rcgc_decref(loops[i]);
    }
    rcgc_set_debug(st->h, RCGC_DEBUG_SAVEALL);
    fm.fail_at = fm.calls + 1;
    fm.persistent = 1;
    CHECK_EQ(rcgc_collect(st->h, 2), 50);
    size_t saved = rcgc_garbage_size(st->h);
    CHECK(saved <= 50);
    CHECK_EQ(st->destroyed, 0);
    CHECK_EQ(live_objects(st->h), 50);
    for (size_t i = 0; i < 50; i++)
        CHECK(loops[i]->a == loops[i]);    /* intact */
    printf("SAVEALL without memory: %zu of 50 saved\n", saved);

    fm.fail_at = 0;
    CHECK_EQ(rcgc_collect(st->h, 2), (ptrdiff_t)(50 - saved));
    CHECK_EQ(rcgc_garbage_size(st->h), 50);
    rcgc_garbage_clear(st->h);
    rcgc_set_debug(st->h, 0);
    CHECK_EQ(rcgc_collect(st->h, 2), 50);
    CHECK_EQ(st->destroyed, 50);
    CHECK_EQ(live_objects(st->h), 0);
    rcgc_heap_free(st->h);
    CHECK_EQ(fm.outstanding_bytes, 0);
    fm_release(&fm);
    free(st);
}

int main(void)
{
    g_nodes = scaled(8000, 1500);
    TEST(test_graph);
    TEST(test_types);
    TEST(test_finalizers_and_weakrefs);
    TEST(test_replay);
    TEST(test_collection_without_memory);
    TEST(test_saveall_without_memory);
    printf("allocation failure points tried: %zu\n", points_total);
    return check_summary();
}
