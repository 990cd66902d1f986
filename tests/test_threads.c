/*
 * Threads: rcgc has no global mutable state, a heap is used by one thread at
 * a time, and different heaps are independent. Checked three ways, each
 * meant to run under ThreadSanitizer (`make tsan`, CTest label "threads"):
 *
 *   - six threads, each with a heap of its own, at the same time: rings of
 *     nodes with finalizers, weak references with callbacks, automatic
 *     collections at thresholds that differ per thread, explicit collections,
 *     rings kept through a chain of holders and dropped at the end. Each
 *     thread's counts must come out exactly as computed from its plan.
 *   - one heap shared by four threads that take turns under a mutex: each
 *     turn replaces one ring in a shared table, makes and reads weak
 *     references, and sometimes collects; the totals are exact whatever the
 *     order of the turns.
 *   - one heap handed along a pipeline of threads (build, collect, check and
 *     free), each stage waiting for the previous one's hand-over.
 *
 * Code on the worker threads records what it saw in its job; only the main
 * thread runs CHECK.
 */
#define _POSIX_C_SOURCE 200809L

#include "rcgc.h"
#include "common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Rings                                                                     */
/* ------------------------------------------------------------------------- */

/* Counts the callbacks of weak references (data: the counter). */
static void count_weak_cb(void *wr, void *data)
{
    (void)wr;
    (*(size_t *)data)++;
}

/* A ring of len nodes through field a, every node reporting to log; with
   `fin`, node 1 has a finalizer. Returns node 0 (a new reference) with the
   others' references dropped, or NULL when memory ran out (nothing left). */
static node *make_ring(rcgc_heap *h, evlog *log, size_t len, int fin)
{
    node *n[16];
    size_t k;
    if (len > 16)
        len = 16;
    for (k = 0; k < len; k++) {
        n[k] = rcgc_new(h, fin && k == 1 ? &fin_type : &node_type);
        if (!n[k])
            break;
        n[k]->log = log;
    }
    if (k < len) {
        while (k-- > 0)
            rcgc_decref(n[k]);
        return NULL;
    }
    for (k = 0; k < len; k++)
        rcgc_set(&n[k]->a, n[(k + 1) % len]);
    for (k = 1; k < len; k++)
        rcgc_decref(n[k]);
    return n[0];
}

/* ------------------------------------------------------------------------- */
/* A heap per thread                                                         */
/* ------------------------------------------------------------------------- */

enum { RING_LEN = 10 };

/* Holds the threads until all of them are created, so that they run at the
   same time. */
typedef struct start_gate {
    pthread_mutex_t lock;
    pthread_cond_t open;
    int is_open;
} start_gate;

static void gate_wait(start_gate *g)
{
    pthread_mutex_lock(&g->lock);
    while (!g->is_open)
        pthread_cond_wait(&g->open, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static void gate_open(start_gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->is_open = 1;
    pthread_cond_broadcast(&g->open);
    pthread_mutex_unlock(&g->lock);
}

typedef struct heap_job {
    start_gate *gate;
    int seed;
    size_t rings;               /* rings to make */
    evlog log;                  /* finalizers and destroys of every node */
    size_t made;                /* nodes made */
    size_t fin_nodes;           /* of them with a finalizer */
    size_t kept_rings;          /* rings kept through holders until the end */
    size_t weak_made, weak_cb, weak_kept;
    size_t weak_alive_at_end;   /* to kept rings, before the holders were dropped */
    size_t weak_dead_at_end;    /* all of them, after the last collection */
    size_t collected;           /* found by all collections (STOP info) */
    size_t collections;
    size_t explicit_collected;  /* returned by the explicit collections */
    ptrdiff_t last_collect;     /* the kept rings, once their holders are gone */
    size_t objects_after;
    size_t object_bytes_after;
    size_t pages_after;
    int failures;               /* allocation or API failures */
} heap_job;

static void heap_job_cb(rcgc_heap *h, rcgc_phase phase, const rcgc_gc_info *info, void *data)
{
    (void)h;
    heap_job *j = data;
    if (phase == RCGC_PHASE_STOP) {
        j->collected += info->collected;
        j->collections++;
    }
}

/* Whether ring r of job seed s has a finalizer node, a weak reference, and
   whether it is kept until the end. */
static int ring_has_fin(int s, size_t r) { return (r + (size_t)s) % 3 == 0; }
static int ring_has_weak(int s, size_t r) { return (r * 7 + (size_t)s) % 5 == 0; }
static int ring_is_kept(int s, size_t r) { return (r + (size_t)s) % 7 == 0; }

/* On its own heap, with automatic collection: j->rings rings of RING_LEN
   nodes, most dropped at once, every 7th kept through a chain of holders;
   weak references with callbacks to some, finalizers in others; an explicit
   collection of a generation every 500 rings. */
static void *heap_thread(void *arg)
{
    heap_job *j = arg;
    gate_wait(j->gate);
    rcgc_heap *h = rcgc_heap_new(NULL);
    if (!h) { j->failures++; return NULL; }
    if (rcgc_callback_add(h, heap_job_cb, j) != 0) j->failures++;
    rcgc_set_threshold(h, 100 + (size_t)j->seed * 37, 5, 5);
    node *holders = NULL;
    void **weak = calloc(j->rings, sizeof *weak);
    int *weak_kept = calloc(j->rings, sizeof *weak_kept);
    if (!weak || !weak_kept) {
        j->failures++;
        j->rings = 0;
    }
    size_t nweak = 0;
    for (size_t r = 0; r < j->rings; r++) {
        int fin = ring_has_fin(j->seed, r);
        node *ring = make_ring(h, &j->log, RING_LEN, fin);
        if (!ring) { j->failures++; break; }
        j->made += RING_LEN;
        j->fin_nodes += fin ? 1 : 0;
        if (ring_has_weak(j->seed, r)) {
            void *w = rcgc_weakref_new(ring, count_weak_cb, &j->weak_cb);
            if (!w) j->failures++;
            else {
                weak_kept[nweak] = ring_is_kept(j->seed, r);
                weak[nweak++] = w;
                j->weak_made++;
            }
        }
        if (ring_is_kept(j->seed, r)) {
            node *holder = rcgc_new(h, &node_type);
            if (!holder) j->failures++;
            else {
                holder->log = &j->log;
                j->made++;
                rcgc_set(&holder->a, ring);
                holder->b = holders;       /* our reference moves into holder */
                holders = holder;
                j->kept_rings++;
            }
        }
        rcgc_decref(ring);
        if (r % 500 == 499) {
            ptrdiff_t c = rcgc_collect(h, (int)(r / 500 % 3));
            if (c < 0) j->failures++;
            else j->explicit_collected += (size_t)c;
        }
    }
    ptrdiff_t c = rcgc_collect(h, 2);
    if (c < 0) j->failures++;
    else j->explicit_collected += (size_t)c;
    for (size_t i = 0; i < nweak; i++) {
        void *o = rcgc_weakref_get(weak[i]);
        if (weak_kept[i]) {
            j->weak_kept++;
            if (o) j->weak_alive_at_end++;
        } else if (o) {
            j->failures++;                 /* its ring was garbage, and collected */
        }
        rcgc_xdecref(o);
    }
    if (holders) rcgc_decref(holders);     /* holders die; kept rings become garbage */
    j->last_collect = rcgc_collect(h, 2);
    for (size_t i = 0; i < nweak; i++) {
        void *o = rcgc_weakref_get(weak[i]);
        if (!o) j->weak_dead_at_end++;
        rcgc_xdecref(o);
        rcgc_decref(weak[i]);
    }
    rcgc_memory_stats ms = memory_stats(h);
    j->objects_after = ms.objects;
    j->object_bytes_after = ms.object_bytes;
    j->pages_after = ms.pages;
    rcgc_heap_free(h);
    free(weak);
    free(weak_kept);
    return NULL;
}

static void test_heaps_on_threads(void)
{
    enum { T = 6 };
    pthread_t threads[T];
    heap_job *jobs = calloc(T, sizeof *jobs);
    int started[T];
    CHECK(jobs != NULL);
    if (!jobs) return;
    start_gate gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
    size_t rings = scaled(20000, 300);
    double t0 = now_seconds();
    for (int i = 0; i < T; i++) {
        jobs[i].gate = &gate;
        jobs[i].seed = i;
        jobs[i].rings = rings;
        started[i] = pthread_create(&threads[i], NULL, heap_thread, &jobs[i]) == 0;
        CHECK(started[i]);
    }
    gate_open(&gate);
    for (int i = 0; i < T; i++)
        if (started[i]) CHECK_EQ(pthread_join(threads[i], NULL), 0);
    printf("%d heaps on %d threads: %zu rings of %d nodes each, %.2f s\n",
           T, T, rings, RING_LEN, now_seconds() - t0);
    for (int i = 0; i < T; i++) {
        if (!started[i]) continue;
        heap_job *j = &jobs[i];
        size_t kept = 0, fins = 0, weak = 0, weak_to_kept = 0;
        for (size_t r = 0; r < rings; r++) {
            kept += (size_t)ring_is_kept(i, r);
            fins += (size_t)ring_has_fin(i, r);
            weak += (size_t)ring_has_weak(i, r);
            weak_to_kept += (size_t)(ring_has_weak(i, r) && ring_is_kept(i, r));
        }
        CHECK_EQ(j->failures, 0);
        CHECK_EQ(j->kept_rings, kept);
        CHECK_EQ(j->made, rings * RING_LEN + kept);
        CHECK_EQ(j->fin_nodes, fins);
        CHECK_EQ(j->log.fin_calls, fins);  /* once each: rings die by collection */
        CHECK_EQ(j->log.double_fin, 0);
        CHECK_EQ(j->weak_made, weak);
        CHECK_EQ(j->weak_kept, weak_to_kept);
        CHECK_EQ(j->weak_alive_at_end, weak_to_kept);
        CHECK_EQ(j->weak_dead_at_end, weak);
        CHECK_EQ(j->weak_cb, weak);        /* each referent died while its weak reference lived */
        CHECK(j->collections > 2);         /* automatic ones ran */
        CHECK_EQ(j->last_collect, (ptrdiff_t)(kept * RING_LEN));
        /* every ring was found by exactly one collection, weak references
           are never garbage (the thread holds them) */
        CHECK_EQ(j->collected, rings * RING_LEN);
        CHECK(j->explicit_collected <= j->collected);
        CHECK_EQ(j->log.destroyed, j->made);
        CHECK_EQ(j->objects_after, 0);
        CHECK_EQ(j->object_bytes_after, 0);
        /* an empty heap keeps the page each size class allocates from:
           here the nodes' class and the weak references' */
        CHECK(j->pages_after <= 2);
    }
    free(jobs);
}

/* ------------------------------------------------------------------------- */
/* One heap, four threads, turns under a mutex                               */
/* ------------------------------------------------------------------------- */

enum { SLOTS = 64, TURN_THREADS = 4 };

/* Everything here belongs to the heap's owner of the moment: it is read and
   written only with `lock` held. */
typedef struct shared_heap {
    pthread_mutex_t lock;
    rcgc_heap *h;
    evlog log;
    void *slots[SLOTS];         /* each holds a ring, replaced turn by turn */
    void **weak;                /* a weak reference (with callback) to each ring made */
    size_t weak_cap;
    size_t made, fin_nodes, turns, weak_made, weak_cb, weak_alive;
    size_t collected_explicit;
    int failures;
    int owned;                  /* a thread is in its turn */
    size_t overlaps;            /* turns that found another owner: must stay 0 */
} shared_heap;

typedef struct turn_job {
    shared_heap *s;
    unsigned seed;
    size_t turns;
} turn_job;

static unsigned next_rand(unsigned *x)
{
    *x = *x * 1103515245u + 12345u;
    return *x >> 16;
}

static void *turn_thread(void *arg)
{
    turn_job *t = arg;
    shared_heap *s = t->s;
    for (size_t i = 0; i < t->turns; i++) {
        unsigned r = next_rand(&t->seed);
        pthread_mutex_lock(&s->lock);
        if (s->owned) s->overlaps++;
        s->owned = 1;
        int fin = r % 3 == 0;
        node *ring = make_ring(s->h, &s->log, 2 + r % 7, fin);
        if (!ring) {
            s->failures++;
        } else {
            s->made += 2 + r % 7;
            s->fin_nodes += fin ? 1 : 0;
            void *w = rcgc_weakref_new(ring, count_weak_cb, &s->weak_cb);
            if (!w || s->weak_made == s->weak_cap) {
                s->failures++;
                rcgc_xdecref(w);
            } else {
                s->weak[s->weak_made++] = w;
                void *o = rcgc_weakref_get(w);
                if (o == (void *)ring) s->weak_alive++;
                rcgc_xdecref(o);
            }
            size_t slot = (r >> 4) % SLOTS;
            node *old = s->slots[slot];
            s->slots[slot] = ring;         /* our reference moves into the table */
            if (old) {
                rcgc_set(&old->b, ring);   /* garbage that refers to a live ring */
                rcgc_decref(old);          /* left to the collector */
            }
        }
        if (r % 16 == 0) {
            ptrdiff_t c = rcgc_collect(s->h, (int)(r % 3));
            if (c < 0) s->failures++;
            else s->collected_explicit += (size_t)c;
        }
        s->turns++;
        s->owned = 0;
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

static void test_one_heap_turns_under_a_mutex(void)
{
    shared_heap *s = calloc(1, sizeof *s);
    CHECK(s != NULL);
    if (!s) return;
    CHECK_EQ(pthread_mutex_init(&s->lock, NULL), 0);
    s->h = rcgc_heap_new(NULL);
    CHECK(s->h != NULL);
    if (!s->h) { free(s); return; }
    rcgc_set_threshold(s->h, 200, 5, 5);
    cb_counter cc = { 0, 0 };
    CHECK_EQ(rcgc_callback_add(s->h, count_cb, &cc), 0);

    size_t turns = scaled(10000, 200);
    s->weak_cap = turns * TURN_THREADS;
    s->weak = calloc(s->weak_cap, sizeof *s->weak);
    CHECK(s->weak != NULL);
    if (!s->weak) s->weak_cap = 0;
    pthread_t threads[TURN_THREADS];
    turn_job jobs[TURN_THREADS];
    int started[TURN_THREADS];
    for (int i = 0; i < TURN_THREADS; i++) {
        jobs[i].s = s;
        jobs[i].seed = 12345u + (unsigned)i * 7919u;
        jobs[i].turns = turns;
        started[i] = pthread_create(&threads[i], NULL, turn_thread, &jobs[i]) == 0;
        CHECK(started[i]);
    }
    size_t expected_turns = 0;
    for (int i = 0; i < TURN_THREADS; i++) {
        if (!started[i]) continue;
        CHECK_EQ(pthread_join(threads[i], NULL), 0);
        expected_turns += turns;
    }
    /* joined: the main thread owns the heap now */
    CHECK_EQ(s->failures, 0);
    CHECK_EQ(s->overlaps, 0);
    CHECK_EQ(s->turns, expected_turns);
    CHECK_EQ(s->weak_made, expected_turns);
    CHECK_EQ(s->weak_alive, expected_turns);
    CHECK(cc.starts > 2);                  /* automatic collections ran */
    CHECK_EQ(cc.starts, cc.stops);
    size_t in_slots = 0;
    for (int i = 0; i < SLOTS; i++)
        in_slots += s->slots[i] != NULL;
    CHECK(s->weak_cb <= s->weak_made - in_slots);
    for (int i = 0; i < SLOTS; i++)
        rcgc_xdecref(s->slots[i]);
    CHECK(rcgc_collect(s->h, 2) > 0);
    /* every ring died while its weak reference lived */
    CHECK_EQ(s->weak_cb, s->weak_made);
    size_t dead = 0;
    for (size_t i = 0; i < s->weak_made; i++) {
        void *o = rcgc_weakref_get(s->weak[i]);
        dead += o == NULL;
        rcgc_xdecref(o);
        rcgc_decref(s->weak[i]);
    }
    CHECK_EQ(dead, s->weak_made);
    CHECK_EQ(s->log.destroyed, s->made);
    CHECK_EQ(s->log.fin_calls, s->fin_nodes);
    CHECK_EQ(s->log.double_fin, 0);
    rcgc_memory_stats ms = memory_stats(s->h);
    CHECK_EQ(ms.objects, 0);
    CHECK_EQ(ms.object_bytes, 0);
    printf("one heap, %d threads: %zu turns, %zu nodes, %zu collections\n",
           TURN_THREADS, s->turns, s->made, cc.starts);
    rcgc_heap_free(s->h);
    pthread_mutex_destroy(&s->lock);
    free(s->weak);
    free(s);
}

/* ------------------------------------------------------------------------- */
/* A heap handed along a pipeline of threads                                 */
/* ------------------------------------------------------------------------- */

/* The hand-over: `stage` says which stage may use the heap; a stage waits
   for its number, works, then passes the heap on. */
typedef struct pipeline {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int stage;
    rcgc_heap *h;
    evlog log;
    node *root;                 /* a binary tree with back links (cycles) */
    void *wr;                   /* a weak reference with callback to a subtree */
    size_t weak_cb;
    size_t made;
    ptrdiff_t collect_alive, collect_dropped, collect_rest;
    size_t objects_mid, objects_end;
    size_t fin_mid;
    int failures;
} pipeline;

typedef struct stage_job {
    pipeline *p;
    int stage;
} stage_job;

static void stage_wait(pipeline *p, int stage)
{
    pthread_mutex_lock(&p->lock);
    while (p->stage != stage)
        pthread_cond_wait(&p->changed, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

static void stage_pass(pipeline *p, int next)
{
    pthread_mutex_lock(&p->lock);
    p->stage = next;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

/* A complete binary tree of `count` nodes through a and b; c of each child
   refers to its parent; every third node has a finalizer. */
static node *build_tree(pipeline *p, size_t count, node *parent, size_t *index)
{
    if (count == 0 || p->failures)
        return NULL;
    node *t = rcgc_new(p->h, (*index)++ % 3 == 0 ? &fin_type : &node_type);
    if (!t) { p->failures++; return NULL; }
    t->log = &p->log;
    p->made++;
    if (parent) rcgc_set(&t->c, parent);
    size_t left = (count - 1) / 2;
    t->a = build_tree(p, left, t, index);
    t->b = build_tree(p, count - 1 - left, t, index);
    return t;
}

static void *stage_thread(void *arg)
{
    stage_job *sj = arg;
    pipeline *p = sj->p;
    stage_wait(p, sj->stage);
    size_t index = 0;
    switch (sj->stage) {
    case 0:                                /* make the heap and the tree */
        p->h = rcgc_heap_new(NULL);
        if (!p->h) { p->failures++; break; }
        rcgc_disable(p->h);
        p->root = build_tree(p, scaled(20000, 1000), NULL, &index);
        if (p->root && p->root->a) {
            p->wr = rcgc_weakref_new(p->root->a, count_weak_cb, &p->weak_cb);
            if (!p->wr) p->failures++;
        }
        break;
    case 1:                                /* collect while alive, drop the left subtree */
        p->collect_alive = rcgc_collect(p->h, 2);
        if (p->root) rcgc_clear(&p->root->a);
        p->collect_dropped = rcgc_collect(p->h, 2);
        p->objects_mid = live_objects(p->h);
        p->fin_mid = p->log.fin_calls;
        break;
    case 2:                                /* drop the rest, check, free */
        if (p->root) rcgc_decref(p->root);
        p->root = NULL;
        if (p->wr) rcgc_decref(p->wr);
        p->collect_rest = rcgc_collect(p->h, 2);
        p->objects_end = live_objects(p->h);
        rcgc_heap_free(p->h);
        p->h = NULL;
        break;
    default:
        break;
    }
    stage_pass(p, sj->stage + 1);
    return NULL;
}

static void test_heap_handed_along_threads(void)
{
    enum { STAGES = 3 };
    pipeline *p = calloc(1, sizeof *p);
    CHECK(p != NULL);
    if (!p) return;
    CHECK_EQ(pthread_mutex_init(&p->lock, NULL), 0);
    CHECK_EQ(pthread_cond_init(&p->changed, NULL), 0);
    pthread_t threads[STAGES];
    stage_job jobs[STAGES];
    int started[STAGES];
    /* started in reverse order, so that the hand-over, not creation order,
       decides who runs */
    for (int i = STAGES; i-- > 0; ) {
        jobs[i].p = p;
        jobs[i].stage = i;
        started[i] = pthread_create(&threads[i], NULL, stage_thread, &jobs[i]) == 0;
        CHECK(started[i]);
    }
    for (int i = 0; i < STAGES; i++)
        if (started[i]) CHECK_EQ(pthread_join(threads[i], NULL), 0);
    size_t n = scaled(20000, 1000);
    size_t left = (n - 1) / 2;
    CHECK_EQ(p->failures, 0);
    CHECK_EQ(p->made, n);
    CHECK_EQ(p->collect_alive, 0);
    /* the left subtree: its nodes and the back links make it one cycle-rich
       garbage structure; the weak reference is held, so it is not garbage */
    CHECK_EQ(p->collect_dropped, (ptrdiff_t)left);
    CHECK_EQ(p->weak_cb, 1);
    CHECK_EQ(p->objects_mid, n - left + 1);
    size_t fin_left = 0, fin_all = (n + 2) / 3;
    /* preorder numbering: the left subtree has indexes 1 .. left */
    for (size_t i = 1; i <= left; i++)
        fin_left += i % 3 == 0;
    CHECK_EQ(p->fin_mid, fin_left);
    CHECK_EQ(p->collect_rest, (ptrdiff_t)(n - left)); /* the weak reference died by count */
    CHECK_EQ(p->log.fin_calls, fin_all);
    CHECK_EQ(p->log.double_fin, 0);
    CHECK_EQ(p->log.destroyed, n);
    CHECK_EQ(p->objects_end, 0);
    pthread_cond_destroy(&p->changed);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

int main(void)
{
    TEST(test_heaps_on_threads);
    TEST(test_one_heap_turns_under_a_mutex);
    TEST(test_heap_handed_along_threads);
    return check_summary();
}
