/*
 * Finalizers (issue 4, PEP 442): a finalizer runs at most once per object on
 * both paths; on the refcount path it runs first and may resurrect the object,
 * which later dies without a second call (S51); rcgc_is_finalized. On the
 * collector's path: S17-S21, S36, S42, S43, the ordering rules S52/S53,
 * re-entrant rcgc_collect (S56), get_objects and get_referrers from a
 * finalizer (S44), a finalizer that allocates, drops objects and
 * collects, finalizers under automatic collection with threshold 1
 * (test_del), trash finalized or revived on the refcount path during a
 * collection, and where resurrected objects go; the plain release keeps the
 * finalizers' order and generation 0's count as a finalizer sees it.
 *
 * Expected values come from CPython 3.11's rules and results in
 * ../shared/reference/cpython-gc.md (sections 1.4-1.13 and 3.2), never from
 * running rcgc.
 */
#include "rcgc.h"
#include "common.h"

#include <setjmp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Types and helpers                                                         */
/* ------------------------------------------------------------------------- */

/* A walk of a generation that gives up after `limit` objects: a corrupted
   list must fail a check, not hang the test. */
typedef struct bounded_walk {
    size_t n, limit;
    jmp_buf escape;
} bounded_walk;

static void count_bounded(void *obj, void *arg)
{
    bounded_walk *b = arg;
    (void)obj;
    if (++b->n > b->limit)
        longjmp(b->escape, 1);
}

#define WALK_BROKEN ((size_t)-1)

/* The size of generation gen, or WALK_BROKEN when the walk does not end
   within limit objects. */
static size_t gen_size_bounded(rcgc_heap *h, int gen, size_t limit)
{
    bounded_walk b;
    b.n = 0;
    b.limit = limit;
    if (setjmp(b.escape))
        return WALK_BROKEN;
    rcgc_get_objects(h, gen, count_bounded, &b);
    return b.n;
}

/* ---- Finalizer hooks ---- */

/* S43: the finalizer breaks the cycle from inside (self.a = None). */
static void hook_break(node *self)
{
    rcgc_clear(&self->a);
}

/* S56: gc.collect() inside a finalizer during a collection. */
static void hook_collect(node *self)
{
    rcgc_heap *h = rcgc_heap_of(self);
    self->log->inner[0] = rcgc_collect(h, 2);
    self->log->inner[1] = rcgc_collect(h, 0);
}

/* S21: the partner and its link back are intact, nothing freed yet. */
static void hook_check_partner(node *self)
{
    node *p = self->a;
    self->log->seen = p != NULL && p->a == self && self->log->destroyed == 0;
}

/* S42: reads a callback-less weak reference to other trash. */
static void hook_read_weakref(node *self)
{
    void *o = rcgc_weakref_get(self->log->wr);
    self->log->seen = o == NULL;
    rcgc_xdecref(o);
}

/* ---- Scenarios and checks ---- */

/* A self-loop of a node with a finalizer that logs name and runs hook, no
   longer held by the test: trash for the collector. Returns it (borrowed). */
static node *fin_self_loop(rcgc_heap *h, evlog *log, const char *name, node_hook hook)
{
    node *n = new_fin(h, log, name, hook);
    rcgc_set(&n->a, n);
    rcgc_decref(n);
    return n;
}

/* X, whose finalizer resurrects it, dropped by the test: the refcount path
   finalizes it once, and it stays alive, finalized and tracked (subtype_dealloc
   re-tracks it before calling the finalizer, 1.12), held only by the
   reference its finalizer stored in the log. Returns X. */
static node *resurrected_by_refcount(rcgc_heap *h, evlog *log)
{
    node *x = new_fin(h, log, "X", hook_resurrect);
    rcgc_decref(x);
    CHECK_EQ(log->fin_calls, 1);
    CHECK_EQ(log->destroyed, 0);
    CHECK_EQ(log->nkept, 1);
    CHECK(log->kept[0] == x);
    CHECK_EQ(rcgc_refcount(x), 1);
    CHECK(rcgc_is_finalized(x));
    CHECK(rcgc_is_tracked(x));
    return x;
}

/* X, a self-loop whose finalizer resurrects it, dropped by the test: a full
   collection finalizes it once (not before) and collects nothing; X keeps
   its link to itself, stays tracked, and is held by the loop and by the
   reference its finalizer stored in the log. Returns X. */
static node *resurrected_by_collector(rcgc_heap *h, evlog *log)
{
    node *x = new_fin(h, log, "X", hook_resurrect);
    rcgc_set(&x->a, x);
    CHECK(!rcgc_is_finalized(x));
    rcgc_decref(x);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK_EQ(log->fin_calls, 1);
    CHECK_EQ(log->destroyed, 0);
    CHECK_EQ(log->nkept, 1);
    CHECK(log->kept[0] == x);
    CHECK(rcgc_is_finalized(x));
    CHECK(x->a == x);
    CHECK(rcgc_is_tracked(x));
    CHECK_EQ(rcgc_refcount(x), 2);
    return x;
}

/* A(fin) <-> B(fin), dropped by the test; A's finalizer breaks the cycle
   (A.a = NULL), which drops B, and B's finalizer runs b_hook. Checks that a
   full collection finalizes A, then B on the refcount path during the
   collection (PyObject_CallFinalizerFromDealloc checks the same bit, 1.7),
   and returns 0 (1.9). */
static void collect_pair_broken_by_a(rcgc_heap *h, evlog *log, node_hook b_hook, node **a, node **b)
{
    *a = new_fin(h, log, "A", hook_break);
    *b = new_fin(h, log, "B", b_hook);
    orphan_pair(*a, *b);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK_STR(log->text, "A B");
}

/* Checks the end of a test: fin_calls finalizer calls in all, none on an
   object finalized already, `destroyed` destroy calls, and no object left in
   the heap. */
static void check_all_dead(rcgc_heap *h, const evlog *log, size_t fin_calls, size_t destroyed)
{
    CHECK_EQ(log->fin_calls, fin_calls);
    CHECK_EQ(log->double_fin, 0);
    CHECK_EQ(log->destroyed, destroyed);
    CHECK_EQ(live_objects(h), 0);
}

/* ------------------------------------------------------------------------- */
/* The refcount path                                                         */
/* ------------------------------------------------------------------------- */

/* Refcount path (cpython-gc.md 1.12): the finalizer runs first, with the
   object intact (its references not yet released), once. */
static void hook_refcount_intact(node *self)
{
    node *child = self->a;
    self->log->seen = child != NULL && child->a == NULL && self->log->destroyed == 0;
}

static void test_refcount_finalizer_runs_first_and_once(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *x = new_fin(h, &log, "X", hook_refcount_intact);
    node *child = new_named(h, &node_type, &log, "C");
    rcgc_set(&x->a, child);
    rcgc_decref(child);
    CHECK(!rcgc_is_finalized(x));
    rcgc_decref(x);
    CHECK_EQ(log.seen, 1);
    CHECK_STR(log.text, "X");
    check_all_dead(h, &log, 1, 2);
    rcgc_heap_free(h);
}

/* Refcount path: a finalizer that stores a new reference resurrects the
   object (resurrected_by_refcount); it later dies without a second call. */
static void test_refcount_resurrection(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    resurrected_by_refcount(h, &log);
    CHECK_EQ(live_objects(h), 1);
    drop_kept(&log);            /* the real death */
    check_all_dead(h, &log, 1, 1);
    rcgc_heap_free(h);
}

/* S51, first case: resurrected by the collector, then dies by refcount: the
   finalizer is called once. */
static void test_s51_gc_then_refcount(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *x = resurrected_by_collector(h, &log);
    rcgc_clear(&x->a);          /* break the self-loop; only the test holds x */
    CHECK_EQ(log.destroyed, 0);
    drop_kept(&log);
    check_all_dead(h, &log, 1, 1);
    rcgc_heap_free(h);
}

/* S51, second case: resurrected on the refcount path, then dies in a cycle:
   the finalizer is still called once, and the collection counts it (1). */
static void test_s51_refcount_then_cycle(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *x = resurrected_by_refcount(h, &log);
    rcgc_set(&x->a, x);
    drop_kept(&log);
    CHECK_EQ(log.destroyed, 0);
    CHECK_EQ(rcgc_collect(h, 2), 1);
    check_all_dead(h, &log, 1, 1);
    rcgc_heap_free(h);
}

/* ------------------------------------------------------------------------- */
/* The collector's path                                                      */
/* ------------------------------------------------------------------------- */

/* S17: 2-cycle, one node has a finalizer: 2, finalizer once, next collect 0.
   Cycles with finalizers are collected, not left in gc.garbage (PEP 442). */
static void test_s17_cycle_with_one_finalizer(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *a = new_fin(h, &log, "A", NULL);
    node *b = new_named(h, &node_type, &log, "B");
    orphan_pair(a, b);
    CHECK_EQ(rcgc_collect(h, 2), 2);
    CHECK_EQ(log.fin_calls, 1);
    CHECK_STR(log.text, "A");
    CHECK_EQ(log.destroyed, 2);
    CHECK_EQ(rcgc_garbage_size(h), 0);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    check_all_dead(h, &log, 1, 2);
    rcgc_heap_free(h);
}

/* S18 / S36: a self-loop whose finalizer stores self: 1st collect 0,
   finalizer once, is_finalized (false before), links kept
   (resurrected_by_collector); drop it: 2nd collect 1, no second call. */
static void test_s18_resurrection_only_once(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    resurrected_by_collector(h, &log);
    drop_kept(&log);
    CHECK_EQ(rcgc_collect(h, 2), 1);
    check_all_dead(h, &log, 1, 1);
    rcgc_heap_free(h);
}

/* S19: resurrection is transitive. Resurrecting L <-> cargo C, C also a
   self-loop: 1st collect 0, C survives with its links; drop L: 2nd collect 2,
   one finalizer call in all. */
static void test_s19_resurrection_is_transitive(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *l = new_fin(h, &log, "L", hook_resurrect);
    node *c = new_named(h, &node_type, &log, "C");
    link_pair(l, c);
    rcgc_set(&c->b, c);
    rcgc_decref(l);
    rcgc_decref(c);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK_EQ(log.fin_calls, 1);
    CHECK_EQ(log.destroyed, 0);
    CHECK(l->a == c);
    CHECK(c->a == l);
    CHECK(c->b == c);
    CHECK(rcgc_is_finalized(l));
    CHECK(!rcgc_is_finalized(c));    /* no finalizer: never marked */
    CHECK_EQ(rcgc_refcount(c), 2);
    drop_kept(&log);
    CHECK_EQ(rcgc_collect(h, 2), 2);
    check_all_dead(h, &log, 1, 2);
    rcgc_heap_free(h);
}

static void make_self_loops(rcgc_heap *h, evlog *log, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        node *n = new_named(h, &node_type, log, "n");
        rcgc_set(&n->a, n);
        rcgc_decref(n);
    }
}

/* Checks the change of the generation-2 stats and that the others did not
   change (only the collected generation's entry changes, 1.4 step 18). */
static void check_stats_delta(rcgc_heap *h, rcgc_gen_stats before[3], size_t collected)
{
    rcgc_gen_stats now[3];
    rcgc_get_stats(h, now);
    CHECK_EQ(now[2].collections - before[2].collections, 1);
    CHECK_EQ(now[2].collected - before[2].collected, collected);
    CHECK_EQ(now[2].uncollectable - before[2].uncollectable, 0);
    for (int g = 0; g < 2; g++) {
        CHECK_EQ(now[g].collections, before[g].collections);
        CHECK_EQ(now[g].collected, before[g].collected);
    }
    memcpy(before, now, sizeof now);
}

/* S20: resurrection does not block the cleanup of other objects, and
   resurrected objects are not counted (1.7). */
static void test_s20_resurrection_does_not_block_others(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    rcgc_gen_stats st[3];
    rcgc_get_stats(h, st);

    make_self_loops(h, &log, 100);
    CHECK_EQ(rcgc_collect(h, 2), 100);
    check_stats_delta(h, st, 100);
    CHECK_EQ(log.destroyed, 100);

    fin_self_loop(h, &log, "Z1", hook_resurrect);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    check_stats_delta(h, st, 0);
    CHECK_EQ(log.nkept, 1);

    make_self_loops(h, &log, 100);
    fin_self_loop(h, &log, "Z2", hook_resurrect);
    CHECK_EQ(rcgc_collect(h, 2), 100);
    check_stats_delta(h, st, 100);
    CHECK_EQ(log.nkept, 2);
    CHECK_EQ(log.destroyed, 200);
    CHECK_STR(log.text, "Z1 Z2");

    drop_kept(&log);
    CHECK_EQ(rcgc_collect(h, 2), 2);
    check_stats_delta(h, st, 2);
    check_all_dead(h, &log, 2, 202);
    rcgc_heap_free(h);
}

/* S21: finalizers run before anything is cleared: the finalizer sees its
   partner and the partner's link back intact; collect 2. */
static void test_s21_finalizer_sees_partner(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *p = new_fin(h, &log, "P", hook_check_partner);
    node *n = new_named(h, &node_type, &log, "N");
    orphan_pair(p, n);
    CHECK_EQ(rcgc_collect(h, 2), 2);
    CHECK_EQ(log.seen, 1);
    check_all_dead(h, &log, 1, 2);
    rcgc_heap_free(h);
}

/* S43 (test_bug21435): A <-> B, B -> A2; B's finalizer sets self.a = NULL.
   Everything dies by refcount during finalization: collect() is 0, yet all
   three are freed (1.7, 1.9). */
static void test_s43_finalizer_breaks_cycle(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *a = new_named(h, &node_type, &log, "A");
    node *b = new_fin(h, &log, "B", hook_break);
    node *a2 = new_named(h, &node_type, &log, "A2");
    rcgc_set(&b->c, a2);
    rcgc_decref(a2);
    orphan_pair(a, b);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    check_all_dead(h, &log, 1, 3);
    rcgc_heap_free(h);
}

/* S52, first part: trash of one generation is finalized in list order, i.e.
   creation order. A ring created 1..5, each linked to the previous one. */
static void test_s52_ring_finalized_in_creation_order(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    static const char *names[5] = { "1", "2", "3", "4", "5" };
    node *n[5];
    for (int i = 0; i < 5; i++)
        n[i] = new_fin(h, &log, names[i], NULL);
    for (int i = 0; i < 5; i++)
        rcgc_set(&n[i]->a, n[(i + 4) % 5]);
    for (int i = 0; i < 5; i++)
        rcgc_decref(n[i]);
    CHECK_EQ(rcgc_collect(h, 2), 5);
    CHECK_STR(log.text, "1 2 3 4 5");
    CHECK_EQ(log.destroyed, 5);
    rcgc_heap_free(h);
}

/* S52, second part: a full collection scans gen2, then gen0, then gen1 (1.4
   step 3): the cycle A(gen2) -> B(gen1) -> C(gen0) -> A is finalized A, C, B. */
static void test_s52_full_collection_scan_order(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *a = new_fin(h, &log, "A", NULL);
    CHECK_EQ(rcgc_collect(h, 0), 0);
    CHECK_EQ(rcgc_collect(h, 1), 0);     /* A -> generation 2 */
    node *b = new_fin(h, &log, "B", NULL);
    CHECK_EQ(rcgc_collect(h, 0), 0);     /* B -> generation 1 */
    node *c = new_fin(h, &log, "C", NULL);
    CHECK_EQ(gen_size(h, 0), 1);
    CHECK_EQ(gen_size(h, 1), 1);
    CHECK_EQ(gen_size(h, 2), 1);
    rcgc_set(&a->a, b);
    rcgc_set(&b->a, c);
    rcgc_set(&c->a, a);
    rcgc_decref(a);
    rcgc_decref(b);
    rcgc_decref(c);
    CHECK_EQ(rcgc_collect(h, 2), 3);
    CHECK_STR(log.text, "A C B");
    CHECK_EQ(log.destroyed, 3);
    rcgc_heap_free(h);
}

/* S53: A, B, C created in that order, C -> B -> A, only C held: collect(0)
   leaves the survivors in gen1 as C, B, A (move_unreachable, 1.5 item 4).
   Closing the cycle and dropping C, collect(1) finalizes C, B, A. */
static void test_s53_reordered_by_an_earlier_collection(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *a = new_fin(h, &log, "A", NULL);
    node *b = new_fin(h, &log, "B", NULL);
    node *c = new_fin(h, &log, "C", NULL);
    rcgc_set(&c->a, b);
    rcgc_set(&b->a, a);
    rcgc_decref(a);
    rcgc_decref(b);
    CHECK_EQ(rcgc_collect(h, 0), 0);
    CHECK_EQ(gen_size(h, 1), 3);
    rcgc_set(&a->a, c);        /* a is alive, held by b */
    rcgc_decref(c);
    CHECK_EQ(log.fin_calls, 0);
    CHECK_EQ(rcgc_collect(h, 1), 3);
    CHECK_STR(log.text, "C B A");
    CHECK_EQ(log.destroyed, 3);
    rcgc_heap_free(h);
}

/* S56: rcgc_collect inside a finalizer during a collection returns 0 and
   collects nothing; the outer collection returns 1 (1.4, gc_collect_impl). */
static void test_s56_reentrant_collect_returns_zero(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    log.inner[0] = log.inner[1] = -7;
    rcgc_gen_stats st[3];
    rcgc_get_stats(h, st);
    fin_self_loop(h, &log, "R", hook_collect);
    CHECK_EQ(rcgc_collect(h, 2), 1);
    CHECK_EQ(log.inner[0], 0);
    CHECK_EQ(log.inner[1], 0);
    check_all_dead(h, &log, 1, 1);
    check_stats_delta(h, st, 1);       /* the inner calls ran no collection */
    CHECK_EQ(st[0].collections, 0);
    rcgc_heap_free(h);
}

/* S44: what a finalizer of trash sees through get_objects (how many times
   it lists the finalized object, its partner in the cycle, and an object the
   test holds) and get_referrers (how many referrers it reports for the
   finalized object and for its partner). */
typedef struct introspection_seen {
    void *live;
    size_t self_listed, partner_listed, live_listed, referrers[2];
} introspection_seen;

static size_t referrers_of(rcgc_heap *h, const void *obj)
{
    find_state f = { NULL, 0, 0 };
    size_t n = rcgc_get_referrers(h, obj, find_fn, &f);
    CHECK_EQ(n, f.calls);
    return n;
}

static void hook_introspect(node *self)
{
    rcgc_heap *h = rcgc_heap_of(self);
    introspection_seen *s = self->log->hook_data;
    s->self_listed = occurrences(h, -1, self);
    s->partner_listed = occurrences(h, -1, self->a);
    s->live_listed = occurrences(h, -1, s->live);
    s->referrers[0] = referrers_of(h, self);
    s->referrers[1] = referrers_of(h, self->a);
}

/* S44 (test_get_objects_during_gc): while the collector runs the finalizers
   of its trash, the trash is in no generation: get_objects lists neither the
   finalized object nor its partner, but lists a live object, and
   get_referrers finds no referrer of either, although each refers to the
   other (CPython 3.11 prints the same for A <-> B with A.__del__). */
static void test_s44_introspection_from_a_finalizer(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    introspection_seen s = {0};
    log.hook_data = &s;
    node *live = new_named(h, &node_type, &log, "L");
    CHECK_EQ(rcgc_collect(h, 2), 0);
    s.live = live;
    orphan_pair(new_fin(h, &log, "A", hook_introspect), new_named(h, &node_type, &log, "B"));
    CHECK_EQ(rcgc_collect(h, 2), 2);
    CHECK_STR(log.text, "A");
    CHECK_EQ(s.self_listed, 0);
    CHECK_EQ(s.partner_listed, 0);
    CHECK_EQ(s.live_listed, 1);
    CHECK_EQ(s.referrers[0], 0);
    CHECK_EQ(s.referrers[1], 0);
    CHECK_EQ(log.destroyed, 2);
    rcgc_decref(live);
    rcgc_heap_free(h);
}

/* A finalizer that allocates (new garbage, a kept object, an object stored
   into the trash itself), drops an object the test held, and collects. */
static void hook_busy(node *self)
{
    rcgc_heap *h = rcgc_heap_of(self);
    evlog *log = self->log;
    node *ring[10];
    for (int i = 0; i < 10; i++)
        ring[i] = new_named(h, &node_type, log, "r");
    for (int i = 0; i < 10; i++)
        rcgc_set(&ring[i]->a, ring[(i + 1) % 10]);
    for (int i = 0; i < 10; i++)
        rcgc_decref(ring[i]);
    keep(log, new_named(h, &node_type, log, "k"));
    node *s = new_named(h, &node_type, log, "s");
    rcgc_set(&self->b, s);
    rcgc_decref(s);
    void *w = rcgc_weakref_new(s, NULL, NULL);
    CHECK(w != NULL);
    if (w)
        rcgc_decref(w);
    size_t before = log->destroyed;
    rcgc_decref(log->drop_me);
    log->drop_me = NULL;
    log->seen = log->destroyed == before + 1;
    log->inner[0] = rcgc_collect(h, 2);
    log->destroyed_in_hook = log->destroyed;
}

static void test_finalizer_allocates_drops_and_collects(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    log.inner[0] = -7;
    log.drop_me = new_named(h, &node_type, &log, "D");
    fin_self_loop(h, &log, "X", hook_busy);
    /* X is the only trash found; what the finalizer made is not examined,
       and s, held only by the trash, dies with it by refcount. */
    CHECK_EQ(rcgc_collect(h, 2), 1);
    CHECK_EQ(log.fin_calls, 1);
    CHECK_EQ(log.seen, 1);
    CHECK_EQ(log.inner[0], 0);
    CHECK_EQ(log.destroyed_in_hook, 1);    /* only D */
    CHECK_EQ(log.destroyed, 3);            /* D, X, s */
    CHECK_EQ(log.nkept, 1);
    CHECK_EQ(live_objects(h), 11);         /* the ring and k */
    CHECK_EQ(rcgc_collect(h, 2), 10);      /* the ring made by the finalizer */
    CHECK_EQ(log.destroyed, 13);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    drop_kept(&log);
    check_all_dead(h, &log, 1, 14);
    rcgc_heap_free(h);
}

/* test_del analogue: threshold 1, automatic collection on. Finalizers that
   allocate containers run inside automatic collections, where the allocations
   must not start another collection (1.2: not while `collecting`), and on the
   refcount path. Every finalizer runs exactly once and everything is freed. */
typedef struct nesting {
    int depth, max_depth;
    size_t starts, stops;
} nesting;

static void nesting_cb(rcgc_heap *h, rcgc_phase phase, const rcgc_gc_info *info, void *data)
{
    nesting *n = data;
    (void)h;
    (void)info;
    if (phase == RCGC_PHASE_START) {
        n->starts++;
        if (++n->depth > n->max_depth)
            n->max_depth = n->depth;
    } else {
        n->stops++;
        n->depth--;
    }
}

static void hook_allocate(node *self)
{
    rcgc_heap *h = rcgc_heap_of(self);
    for (int i = 0; i < 3; i++) {
        node *n = new_named(h, &node_type, self->log, "t");
        if (i == 0)
            rcgc_set(&n->a, n);    /* garbage for a later collection */
        rcgc_decref(n);
    }
}

static void test_finalizers_during_automatic_collection(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    evlog log = {0};
    nesting nest = {0};
    CHECK_EQ(rcgc_callback_add(h, nesting_cb, &nest), 0);
    rcgc_set_threshold(h, 1, 10, 10);
    CHECK(rcgc_isenabled(h));
    size_t fin_made = 0;
    for (int i = 0; i < 20; i++) {
        node *p = new_fin(h, &log, "p", hook_allocate);
        node *q = new_fin(h, &log, "q", hook_allocate);
        orphan_pair(p, q);
        node *r = new_fin(h, &log, "r", hook_allocate);
        rcgc_decref(r);            /* refcount path, possibly collecting inside */
        fin_made += 3;
    }
    CHECK(nest.starts > 0);
    CHECK_EQ(nest.max_depth, 1);
    rcgc_disable(h);
    rcgc_collect(h, 2);            /* the rest of the pairs; their finalizers allocate */
    rcgc_collect(h, 2);            /* what those finalizers left */
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK_EQ(nest.starts, nest.stops);
    CHECK_EQ(nest.max_depth, 1);
    /* objects created: the finalizer nodes and 3 per finalizer call */
    check_all_dead(h, &log, fin_made, fin_made * 4);
    rcgc_heap_free(h);
}

/* S42 (test_bug1055820d): d0 in gen2, kept alive only by the young self-loop
   c1; c2 a young self-loop with a callback-less weak reference. collect(0)
   finds c1 and c2 (2); d0 dies by refcount in c1's clearing, its finalizer
   runs once and the weak reference to c2 already gives NULL. */
static void test_s42_old_finalizer_freed_by_young_clear(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *d0 = new_fin(h, &log, "d0", hook_read_weakref);
    rcgc_set(&d0->a, d0);
    CHECK_EQ(rcgc_collect(h, 2), 0);           /* d0 -> generation 2 */
    CHECK_EQ(gen_size(h, 2), 1);
    node *c1 = new_named(h, &node_type, &log, "c1");
    rcgc_set(&c1->a, c1);
    rcgc_set(&c1->b, d0);
    rcgc_clear(&d0->a);                        /* now only c1 keeps d0 alive */
    node *c2 = new_named(h, &node_type, &log, "c2");
    rcgc_set(&c2->a, c2);
    log.wr = rcgc_weakref_new(c2, NULL, NULL);
    CHECK(log.wr != NULL);
    rcgc_decref(d0);
    rcgc_decref(c1);
    rcgc_decref(c2);
    CHECK_EQ(rcgc_collect(h, 0), 2);
    CHECK_EQ(log.fin_calls, 1);
    CHECK_EQ(log.seen, 1);
    CHECK_EQ(log.destroyed, 3);
    rcgc_decref(log.wr);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* A trash object freed by refcount during another's finalizer is finalized
   there, on the refcount path, once (collect_pair_broken_by_a, B without a
   hook). Both die by refcount during finalization. */
static void test_trash_finalized_on_refcount_path_during_collection(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *a, *b;
    collect_pair_broken_by_a(h, &log, NULL, &a, &b);
    check_all_dead(h, &log, 2, 2);
    rcgc_heap_free(h);
}

/* B's finalizer stores B into its trash partner A (B.a): B is revived on the
   refcount path and A, which B holds, becomes reachable again. */
static void hook_store_self_in_partner(node *self)
{
    node *partner = self->a;
    rcgc_set(&partner->b, self);
}

/* The same, but B revives itself from its refcount-path finalizer (run during
   the collection) by storing itself into A, which is still trash. CPython
   (subtype_dealloc, 1.12) untracks B, which clears its collecting state, and
   re-tracks it into generation 0; the second analysis then finds A reachable
   from B (1.7): collect 0, A moves to the old generation, B stays in gen0.
   The next full collection finds the cycle again: 2, no finalizer twice.
   Verified on CPython 3.11.7. */
static void test_refcount_revival_inside_collection(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *a, *b;
    collect_pair_broken_by_a(h, &log, hook_store_self_in_partner, &a, &b);
    CHECK_EQ(log.destroyed, 0);
    CHECK(a->a == NULL);
    CHECK(a->b == b);
    CHECK(b->a == a);
    CHECK(rcgc_is_tracked(a));
    CHECK(rcgc_is_tracked(b));
    CHECK_EQ(rcgc_refcount(a), 1);
    CHECK_EQ(rcgc_refcount(b), 1);
    CHECK_EQ(gen_size_bounded(h, 0, 100), 1);     /* B */
    CHECK_EQ(gen_size_bounded(h, 1, 100), 0);
    CHECK_EQ(gen_size_bounded(h, 2, 100), 1);     /* A */
    /* B's list links must be intact: take it out and put it back. A broken
       list ends the test here (the collector would walk it forever). */
    rcgc_untrack(b);
    CHECK(!rcgc_is_tracked(b));
    size_t n0 = gen_size_bounded(h, 0, 100), n2 = gen_size_bounded(h, 2, 100);
    CHECK_EQ(n0, 0);
    CHECK_EQ(n2, 1);
    if (n0 != 0 || n2 != 1) {
        rcgc_heap_free(h);
        return;
    }
    rcgc_track(b);
    CHECK_EQ(gen_size_bounded(h, 0, 100), 1);
    CHECK_EQ(rcgc_collect(h, 2), 2);
    check_all_dead(h, &log, 2, 2);
    rcgc_heap_free(h);
}

/* gc.is_finalized(self) inside __del__ (checked in CPython 3.11.7): False when
   the last reference is dropped (PyObject_CallFinalizer sets the bit after
   tp_finalize returns), True under a collection (finalize_garbage sets it
   before the call); True afterwards either way. */
static void hook_is_finalized(node *self)
{
    self->log->seen = rcgc_is_finalized(self) ? 1 : 0;
}

static void test_is_finalized_inside_finalizer(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *x = new_fin(h, &log, "X", hook_is_finalized);
    log.seen = -1;
    rcgc_decref(x);
    CHECK_EQ(log.seen, 0);
    log.seen = -1;
    fin_self_loop(h, &log, "Y", hook_is_finalized);
    CHECK_EQ(rcgc_collect(h, 2), 1);
    CHECK_EQ(log.seen, 1);
    CHECK_STR(log.text, "X Y");
    check_all_dead(h, &log, 2, 2);
    rcgc_heap_free(h);
}

/* The FINALIZED bit survives untrack / track (1.11, is_finalized). */
static void test_finalized_bit_survives_untrack(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *x = resurrected_by_refcount(h, &log);
    rcgc_untrack(x);
    CHECK(!rcgc_is_tracked(x));
    CHECK(rcgc_is_finalized(x));
    rcgc_track(x);
    CHECK(rcgc_is_tracked(x));
    CHECK(rcgc_is_finalized(x));
    drop_kept(&log);
    check_all_dead(h, &log, 1, 1);
    rcgc_heap_free(h);
}

/* Resurrected objects move to the next generation with the survivors
   (handle_resurrected_objects merges them into `old`, 1.7). */
static void test_resurrected_moves_to_next_generation(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    fin_self_loop(h, &log, "Z", hook_resurrect);
    CHECK_EQ(gen_size(h, 0), 1);
    CHECK_EQ(rcgc_collect(h, 0), 0);
    CHECK_EQ(gen_size(h, 0), 0);
    CHECK_EQ(gen_size(h, 1), 1);
    CHECK_EQ(log.nkept, 1);
    drop_kept(&log);
    CHECK_EQ(rcgc_collect(h, 0), 0);   /* it is in generation 1 now */
    CHECK_EQ(rcgc_collect(h, 1), 1);
    check_all_dead(h, &log, 1, 1);
    rcgc_heap_free(h);
}

/* Release at zero deeper than the trashcan's limit: a chain c1 -> ... -> c49
   -> F, where F holds A (slot a) and B (slot b), each holding a child (A1,
   B1), all with finalizers and only c1 held. F's release begins 50 deep, so
   A and B wait in the trash list; when c1's release ends they are released
   newest first. CPython 3.11.7 finalizes c1 ... c49, F, B, B1, A, A1, and in
   B's __del__ a weak reference to A (count 0, waiting) gives None while B
   itself is tracked (gc.is_tracked(self)). */
static void hook_trash_sibling(node *self)
{
    evlog *log = self->log;
    void *o = rcgc_weakref_get(log->wr);
    log->seen = o == NULL && rcgc_is_tracked(self);
    rcgc_xdecref(o);
}

static void test_release_deeper_than_trashcan(void)
{
    static char names[49][4];
    char expect[512] = "";
    rcgc_heap *h = rcgc_heap_new(NULL);
    evlog log = {0};
    node *a = new_fin(h, &log, "A", NULL), *b = new_fin(h, &log, "B", hook_trash_sibling);
    node *head = new_fin(h, &log, "F", NULL);
    rcgc_set(&a->a, new_fin(h, &log, "A1", NULL));
    rcgc_decref(a->a);
    rcgc_set(&b->a, new_fin(h, &log, "B1", NULL));
    rcgc_decref(b->a);
    rcgc_set(&head->a, a);
    rcgc_set(&head->b, b);
    log.wr = rcgc_weakref_new(a, NULL, NULL);
    rcgc_decref(a);
    rcgc_decref(b);
    for (int i = 49; i >= 1; i--) {
        snprintf(names[i - 1], sizeof names[i - 1], "c%d", i);
        node *c = new_fin(h, &log, names[i - 1], NULL);
        rcgc_set(&c->a, head);
        rcgc_decref(head);
        head = c;
    }
    for (int i = 0; i < 49; i++) {
        strcat(expect, names[i]);
        strcat(expect, " ");
    }
    strcat(expect, "F B B1 A A1");
    rcgc_decref(head);
    CHECK_STR(log.text, expect);
    CHECK_EQ(log.seen, 1);
    CHECK(rcgc_weakref_get(log.wr) == NULL);
    rcgc_decref(log.wr);
    check_all_dead(h, &log, 54, 54);
    rcgc_heap_free(h);
}

/* A container holding a leaf with a finalizer and a plain leaf: the
   finalizer runs once and both leaves are freed (a leaf released after its
   sibling once kept a stale release link in its list words, found by
   fuzz_graph). */
static int leaf_finalized;
static void leaf_fin(void *obj)
{
    (void)obj;
    leaf_finalized++;
}
static const rcgc_type leaf_fin_type = { "leaf with finalizer", 8, NULL, leaf_fin, NULL };
static const rcgc_type plain_leaf_type = { "leaf", 8, NULL, NULL, NULL };

static void test_leaf_with_finalizer_beside_plain_leaf(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    node *p = new_node(h, NULL);
    void *a = rcgc_new(h, &leaf_fin_type), *b = rcgc_new(h, &plain_leaf_type);
    rcgc_set(&p->a, a);
    rcgc_set(&p->b, b);
    rcgc_decref(a);
    rcgc_decref(b);
    leaf_finalized = 0;
    rcgc_decref(p);
    CHECK_EQ(leaf_finalized, 1);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* Plain containers (no finalizer, destroy or weak references) are released
   without rcgc__dealloc's checks; the finalizers below them must still run in
   the order rcgc__dealloc gives. The same random trees of containers and
   finalizer nodes are dropped twice: with plain inner nodes, and with inner
   nodes that have a destroy. Both logs must be equal. */
static const rcgc_type plain_inner_type = { "plain inner", sizeof(node), node_traverse, NULL, NULL };

static char order_names[512][16];

static node *order_tree(rcgc_heap *h, const rcgc_type *inner, evlog *log, int depth, uint32_t *state, int *named)
{
    *state = *state * 1103515245u + 12345u;
    uint32_t r = *state >> 8;
    if (depth == 0 || r % 5 == 0) {
        if (*named >= 512)
            return NULL;
        snprintf(order_names[*named], sizeof order_names[0], "f%d", *named);
        node *f = new_named(h, &fin_type, log, order_names[(*named)++]);
        if (depth > 0 && r % 3 == 0)
            f->a = order_tree(h, inner, log, depth - 1, state, named);
        return f;
    }
    node *n = rcgc_new(h, inner);
    CHECK(n != NULL);
    n->a = order_tree(h, inner, log, depth - 1, state, named);
    n->b = order_tree(h, inner, log, depth - 1, state, named);
    if (r % 2)
        n->c = order_tree(h, inner, log, depth - 1, state, named);
    return n;
}

static void test_plain_release_keeps_finalizer_order(void)
{
    for (uint32_t seed = 1; seed <= 40; seed++) {
        evlog log[2];
        memset(log, 0, sizeof log);
        for (int k = 0; k < 2; k++) {
            rcgc_heap *h = fresh_heap();
            uint32_t state = seed;
            int named = 0;
            node *root = order_tree(h, k == 0 ? &plain_inner_type : &node_type, &log[k], 7, &state, &named);
            rcgc_decref(root);
            CHECK_EQ(live_objects(h), 0);
            rcgc_heap_free(h);
        }
        CHECK(log[0].fin_calls > 0);
        CHECK_EQ(log[0].fin_calls, log[1].fin_calls);
        CHECK_STR(log[0].text, log[1].text);
    }
}

/* Generation 0's count as a finalizer sees it while plain containers above
   its object are being released. CPython frees a container (PyObject_GC_Del,
   which lowers the count) only once the release of its last item is over,
   so every container still being released is counted (a chain of __slots__
   objects down to one with __del__, dropped from its head: what
   gc.get_count()[0] gives in __del__ does not depend on the chain's
   length). The plain release runs the same whether the fields are read by
   traverse or registered, one or two of them (its own stack of frames) or
   more. */
static size_t counts_seen[2048];
static size_t ncounts_seen;

/* The finalizer nodes' names: the number of each in the order they were
   made (modulo 2048), so that the same tree made twice names its nodes
   alike. */
static char count_names[2048][6];
static size_t count_named;

/* Records the count, and which finalizer node saw it. */
static void hook_log_count(node *self)
{
    size_t c[3];
    rcgc_get_count(rcgc_heap_of(self), c);
    size_t index = strtoul(self->name, NULL, 10);
    if (ncounts_seen < sizeof counts_seen / sizeof counts_seen[0])
        counts_seen[ncounts_seen++] = c[0] << 16 | index;
}

/* A node whose references are in a and d (the fields of ad_fields). */
static void ad_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    node *n = obj;
    visit(&n->a, arg);
    visit(&n->d, arg);
}
static const rcgc_type ad_type = { "plain a, d", sizeof(node), ad_traverse, NULL, NULL };
static const size_t ad_fields[] = { offsetof(node, a), offsetof(node, d) };

/* The four ways an inner node is released: with a destroy (rcgc__dealloc's
   release, the reference), plain through traverse, plain with two fields
   registered, plain with four. */
enum { INNER_DESTROY, INNER_TRAVERSE, INNER_TWO_FIELDS, INNER_FOUR_FIELDS, INNER_KINDS };

static rcgc_heap *inner_heap(int kind, const rcgc_type **inner)
{
    rcgc_heap *h = fresh_heap();
    *inner = kind == INNER_DESTROY ? &node_type : kind == INNER_TWO_FIELDS ? &ad_type : &plain_node_type;
    if (kind == INNER_TWO_FIELDS)
        CHECK_EQ(rcgc_set_type_fields(h, &ad_type, ad_fields, 2), 0);
    if (kind == INNER_FOUR_FIELDS)
        CHECK_EQ(rcgc_set_type_fields(h, &plain_node_type, node_fields, 4), 0);
    return h;
}

static evlog count_log;

static node *count_fin(rcgc_heap *h)
{
    size_t i = count_named++ % (sizeof count_names / sizeof count_names[0]);
    snprintf(count_names[i], sizeof count_names[i], "%zu", i);
    node *f = new_named(h, &fin_type, &count_log, count_names[i]);
    f->hook = hook_log_count;
    return f;
}

/* A random tree of inner nodes (references in a and d) and finalizer nodes,
   which may hold a subtree in a. A bushy tree has both children at most
   levels; a deep one goes down one of them, with now and then a small bushy
   tree in the other. */
static node *count_tree(rcgc_heap *h, const rcgc_type *inner, int depth, bool bushy, uint32_t *state)
{
    *state = *state * 1103515245u + 12345u;
    uint32_t r = *state >> 8;
    if (depth == 0 || r % (bushy ? 7 : 23) == 0) {
        node *f = count_fin(h);
        if (depth > 0 && r % 2 == 0)
            f->a = count_tree(h, inner, depth - 1, bushy, state);
        return f;
    }
    node *n = rcgc_new(h, inner);
    CHECK(n != NULL);
    bool down_a = bushy ? r % 11 != 0 : r % 2 == 0;
    bool down_d = bushy ? r % 13 != 0 : !down_a;
    if (down_a)
        n->a = count_tree(h, inner, depth - 1, bushy, state);
    else if (!bushy && r % 8 == 1)
        n->a = count_tree(h, inner, 3, true, state);
    if (down_d)
        n->d = count_tree(h, inner, depth - 1, bushy, state);
    else if (!bushy && r % 8 == 3)
        n->d = count_tree(h, inner, 3, true, state);
    return n;
}

static void test_plain_release_keeps_generation_count(void)
{
    /* Chains down the first and down the last field to one finalizer node,
       shorter than the trashcan's 50 levels: the count seen is the count
       before the drop. */
    for (int kind = 0; kind < INNER_KINDS; kind++) {
        for (int first = 0; first < 2; first++) {
            for (int len = 1; len < 48; len += 5) {
                const rcgc_type *inner;
                rcgc_heap *h = inner_heap(kind, &inner);
                node *top = count_fin(h);
                for (int i = 0; i < len; i++) {
                    node *n = rcgc_new(h, inner);
                    CHECK(n != NULL);
                    if (first)
                        n->a = top;
                    else
                        n->d = top;
                    top = n;
                }
                size_t before[3];
                rcgc_get_count(h, before);
                ncounts_seen = 0;
                rcgc_decref(top);
                CHECK_EQ(ncounts_seen, 1);
                CHECK_EQ(counts_seen[0] >> 16, before[0]);
                size_t after[3];
                rcgc_get_count(h, after);
                CHECK_EQ(after[0], before[0] - (size_t)len - 1);
                CHECK_EQ(live_objects(h), 0);
                rcgc_heap_free(h);
            }
        }
    }
    /* Random trees, some deeper than the trashcan's limit and than the
       plain release's frames: the same counts in the same order as with
       inner nodes released by rcgc__dealloc. */
    static size_t reference[sizeof counts_seen / sizeof counts_seen[0]];
    for (uint32_t seed = 1; seed <= 60; seed++) {
        size_t nreference = 0;
        for (int kind = 0; kind < INNER_KINDS; kind++) {
            const rcgc_type *inner;
            rcgc_heap *h = inner_heap(kind, &inner);
            uint32_t state = seed;
            count_named = 0;
            bool deep = seed % 3 == 0;
            node *root = count_tree(h, inner, deep ? 120 : 9, !deep, &state);
            ncounts_seen = 0;
            rcgc_decref(root);
            CHECK(ncounts_seen > 0);
            CHECK_EQ(live_objects(h), 0);
            rcgc_heap_free(h);
            if (kind == INNER_DESTROY) {
                memcpy(reference, counts_seen, ncounts_seen * sizeof counts_seen[0]);
                nreference = ncounts_seen;
                continue;
            }
            CHECK_EQ(ncounts_seen, nreference);
            CHECK(memcmp(counts_seen, reference, nreference * sizeof counts_seen[0]) == 0);
        }
    }
}

int main(void)
{
    TEST(test_plain_release_keeps_finalizer_order);
    TEST(test_plain_release_keeps_generation_count);
    TEST(test_refcount_finalizer_runs_first_and_once);
    TEST(test_refcount_resurrection);
    TEST(test_s51_gc_then_refcount);
    TEST(test_s51_refcount_then_cycle);
    TEST(test_s17_cycle_with_one_finalizer);
    TEST(test_s18_resurrection_only_once);
    TEST(test_s19_resurrection_is_transitive);
    TEST(test_s20_resurrection_does_not_block_others);
    TEST(test_s21_finalizer_sees_partner);
    TEST(test_s43_finalizer_breaks_cycle);
    TEST(test_s52_ring_finalized_in_creation_order);
    TEST(test_s52_full_collection_scan_order);
    TEST(test_s53_reordered_by_an_earlier_collection);
    TEST(test_s56_reentrant_collect_returns_zero);
    TEST(test_s44_introspection_from_a_finalizer);
    TEST(test_finalizer_allocates_drops_and_collects);
    TEST(test_finalizers_during_automatic_collection);
    TEST(test_s42_old_finalizer_freed_by_young_clear);
    TEST(test_trash_finalized_on_refcount_path_during_collection);
    TEST(test_refcount_revival_inside_collection);
    TEST(test_is_finalized_inside_finalizer);
    TEST(test_finalized_bit_survives_untrack);
    TEST(test_resurrected_moves_to_next_generation);
    TEST(test_release_deeper_than_trashcan);
    TEST(test_leaf_with_finalizer_beside_plain_leaf);
    return check_summary();
}
