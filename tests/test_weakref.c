/*
 * Weak references (issue 4): rcgc_weakref_get before and after death; on the
 * refcount path the finalizer runs first, then the callbacks, newest first
 * (S54); on the collector's path every weak reference to the trash is cleared
 * before any callback runs and the callbacks run before any finalizer (S22,
 * S24, S25, S54); weak references survive a refcount-path resurrection; a weak
 * reference that is itself garbage is cleared without its callback and counts
 * (S23); one freed by its own callback counts (S55); dropping a weak reference
 * means no callback; weak references are tracked rcgc objects that can be
 * stored in slots; S26, S27, S41; where a callback weak reference goes after
 * its callback; what a finalizer sees of a later sibling on the refcount path;
 * a dying object takes no new weak reference; a weak reference the program
 * untracked, or made immortal, still has its callback called and stays
 * untracked, and one whose callback untracks it is not counted as freed; a
 * later sibling taken and dropped through a weak reference is still released
 * once; a weak reference dropped deep in a release is cleared at once, never
 * waiting in the trash list; on the refcount path the weak references are
 * held until the last callback has run, as CPython's tuple holds them.
 *
 * Expected values come from CPython 3.11's rules and results in
 * ../shared/reference/cpython-gc.md (sections 1.6, 1.7, 1.12, 1.13 and 3.2),
 * never from running rcgc.
 */
#include "rcgc.h"
#include "common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Types and helpers                                                         */
/* ------------------------------------------------------------------------- */

/* The data of a callback: its log and the name it logs. */
typedef struct cbdata {
    evlog *log;
    const char *name;
} cbdata;

/* Logs its name, checks its own weak reference is dead, and dereferences
   every weak reference in log->wrs (CPython: [wr() for wr in WRs]). */
static void log_cb(void *wr, void *data)
{
    cbdata *d = data;
    evlog *log = d->log;
    log->cb_calls++;
    log_event(log, d->name);
    void *o = rcgc_weakref_get(wr);
    if (o) {
        log->self_live++;
        rcgc_decref(o);
    }
    for (size_t i = 0; i < log->nwrs; i++) {
        o = rcgc_weakref_get(log->wrs[i]);
        if (o) {
            log->live_seen++;
            rcgc_decref(o);
        }
    }
}

static void *new_wr(void *obj, rcgc_weakref_callback cb, void *data)
{
    void *w = rcgc_weakref_new(obj, cb, data);
    CHECK(w != NULL);
    return w;
}

/* A weak reference to obj with callback log_cb(d), listed in d->log->wrs so
   that every log_cb call reads it. */
static void add_listed_wr(void *obj, cbdata *d)
{
    evlog *log = d->log;
    void *w = new_wr(obj, log_cb, d);
    CHECK(log->nwrs < MAX_WRS);
    if (log->nwrs < MAX_WRS)
        log->wrs[log->nwrs++] = w;
}

/* Moves the test's reference to obj into *slot (rcgc_set, then
   rcgc_decref): the slot then holds what the test held. */
static void move_into(void **slot, void *obj)
{
    rcgc_set(slot, obj);
    rcgc_decref(obj);
}

/* Makes n a self-loop (n.a = n) and returns it. */
static node *self_loop(node *n)
{
    rcgc_set(&n->a, n);
    return n;
}

/* Makes n a self-loop that only the collector can free: n.a = n, a weak
   reference to n with callback cb(data), then the test's reference to n
   dropped. Returns the weak reference, owned by the caller. */
static void *orphan_loop_with_wr(node *n, rcgc_weakref_callback cb, void *data)
{
    void *w = new_wr(self_loop(n), cb, data);
    rcgc_decref(n);
    return w;
}

/* rcgc_weakref_get(w) gives expected (NULL: the referent is dead); the
   reference it returns is dropped. */
static void check_referent(void *w, const void *expected)
{
    void *o = rcgc_weakref_get(w);
    CHECK(o == expected);
    rcgc_xdecref(o);
}

/* Ends a test: each of the n weak references in w (their referents dead)
   gives NULL and is dropped, then nothing is left alive on h, which is
   freed. */
static void end_test(rcgc_heap *h, void **w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        check_referent(w[i], NULL);
        rcgc_decref(w[i]);
    }
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* ------------------------------------------------------------------------- */
/* Basics                                                                    */
/* ------------------------------------------------------------------------- */

/* rcgc_weakref_get: a new strong reference while the referent lives, NULL
   after its death. Weak references are tracked containers (1.6, 3.1) and
   rcgc_is_weakref tells them apart. */
static void test_get_before_and_after_death(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *x = new_named(h, &node_type, &log, "X");
    void *w = new_wr(x, NULL, NULL);
    CHECK_EQ(rcgc_refcount(w), 1);
    CHECK_EQ(rcgc_refcount(x), 1);     /* a weak reference owns nothing */
    CHECK(rcgc_is_weakref(w));
    CHECK(!rcgc_is_weakref(x));
    CHECK(rcgc_is_tracked(w));
    CHECK(rcgc_heap_of(w) == h);
    void *o = rcgc_weakref_get(w);
    CHECK(o == x);
    CHECK_EQ(rcgc_refcount(x), 2);
    rcgc_decref(o);
    CHECK_EQ(rcgc_refcount(x), 1);
    rcgc_decref(x);
    CHECK_EQ(log.destroyed, 1);
    CHECK_EQ(live_objects(h), 1);
    end_test(h, &w, 1);
}

/* Weak references are rcgc objects: stored in a slot they are owned by it,
   show up among the holder's referents and still work. */
static void collect_referents(void *obj, void *arg)
{
    evlog *log = arg;
    keep(log, obj);
    rcgc_incref(obj);
}

static void test_weakref_stored_in_slot(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d = { &log, "cb" };
    node *target = new_named(h, &node_type, &log, "T");
    node *holder = new_named(h, &node_type, &log, "H");
    void *w = new_wr(target, log_cb, &d);
    move_into(&holder->a, w);
    CHECK_EQ(rcgc_refcount(w), 1);
    rcgc_get_referents(holder, collect_referents, &log);
    CHECK_EQ(log.nkept, 1);
    CHECK(log.kept[0] == w);
    drop_kept(&log);
    check_referent(holder->a, target);
    /* the holder dies: the weak reference with it, so no callback later */
    rcgc_decref(holder);
    CHECK_EQ(live_objects(h), 1);
    rcgc_decref(target);
    CHECK_EQ(log.cb_calls, 0);
    end_test(h, NULL, 0);
}

/* Dropping the weak reference before the referent dies: no callback, on
   either path; and a weak reference freed by refcount is not counted. */
static void test_unweak_means_no_callback(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d = { &log, "cb" };
    node *x = new_named(h, &node_type, &log, "X");
    void *w = new_wr(x, log_cb, &d);
    rcgc_decref(w);
    rcgc_decref(x);
    CHECK_EQ(log.cb_calls, 0);
    CHECK_EQ(log.destroyed, 1);

    w = orphan_loop_with_wr(new_named(h, &node_type, &log, "T"), log_cb, &d);
    rcgc_decref(w);
    CHECK_EQ(rcgc_collect(h, 2), 1);
    CHECK_EQ(log.cb_calls, 0);
    CHECK_EQ(log.destroyed, 2);
    end_test(h, NULL, 0);
}

/* ------------------------------------------------------------------------- */
/* The refcount path                                                         */
/* ------------------------------------------------------------------------- */

/* S54, refcount part: finalizer first, then the callbacks, newest first
   (subtype_dealloc, 1.12). Inside them every weak reference to X is dead,
   but X's references are not released yet (step 6 comes after step 3). */
static void test_s54_refcount_order(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d[3] = { { &log, "cb0" }, { &log, "cb1" }, { &log, "cb2" } };
    node *x = new_named(h, &fin_type, &log, "X");
    move_into(&x->a, new_named(h, &node_type, &log, "child"));
    for (int i = 0; i < 3; i++)
        add_listed_wr(x, &d[i]);
    rcgc_decref(x);
    CHECK_STR(log.text, "X cb2 cb1 cb0");
    CHECK_EQ(log.self_live, 0);
    CHECK_EQ(log.live_seen, 0);
    CHECK_EQ(log.destroyed, 2);
    end_test(h, log.wrs, log.nwrs);
}

/* Refcount path: the callbacks run before the dying object releases its
   references (1.12: PyObject_ClearWeakRefs at step 3, slots at step 6). */
static void check_child_alive(void *wr, void *data)
{
    evlog *log = data;
    (void)wr;
    log->cb_calls++;
    if (log->destroyed == 0)
        log->live_seen++;
}

static void test_refcount_callbacks_before_release(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *x = new_named(h, &node_type, &log, "X");
    move_into(&x->a, new_named(h, &node_type, &log, "child"));
    void *w = new_wr(x, check_child_alive, &log);
    rcgc_decref(x);
    CHECK_EQ(log.cb_calls, 1);
    CHECK_EQ(log.live_seen, 1);
    CHECK_EQ(log.destroyed, 2);
    end_test(h, &w, 1);
}

/* Refcount path: a weak reference held by its own referent is still alive
   when the referent's weak references are cleared, so its callback runs
   (1.12: the callbacks run before the slots are cleared). */
static void test_refcount_weakref_inside_referent(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d = { &log, "cb" };
    node *t = new_named(h, &node_type, &log, "T");
    move_into(&t->a, new_wr(t, log_cb, &d));
    rcgc_decref(t);
    CHECK_EQ(log.cb_calls, 1);
    CHECK_EQ(log.self_live, 0);
    CHECK_EQ(log.destroyed, 1);
    end_test(h, NULL, 0);
}

/* Weak references survive a refcount-path resurrection: still alive and
   returning the object, no callback; the callback runs at the real death. */
static void test_weakref_survives_refcount_resurrection(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d = { &log, "cb" };
    node *x = new_fin(h, &log, "X", hook_resurrect);
    void *w = new_wr(x, log_cb, &d);
    rcgc_decref(x);
    CHECK_EQ(log.fin_calls, 1);
    CHECK_EQ(log.cb_calls, 0);
    CHECK_EQ(log.destroyed, 0);
    check_referent(w, x);
    drop_kept(&log);                  /* the real death */
    CHECK_STR(log.text, "X cb");
    CHECK_EQ(log.fin_calls, 1);
    CHECK_EQ(log.cb_calls, 1);
    CHECK_EQ(log.self_live, 0);
    CHECK_EQ(log.destroyed, 1);
    end_test(h, &w, 1);
}

/* ------------------------------------------------------------------------- */
/* The collector's path                                                      */
/* ------------------------------------------------------------------------- */

/* S22: trash self-loop T with an external callback weak reference: collect
   1, callback once, and inside it the weak reference gives NULL. */
static void test_s22_callback_on_trash(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d = { &log, "cb" };
    void *w = orphan_loop_with_wr(new_named(h, &node_type, &log, "T"), log_cb, &d);
    CHECK_EQ(rcgc_collect(h, 2), 1);
    CHECK_EQ(log.cb_calls, 1);
    CHECK_EQ(log.self_live, 0);
    CHECK_EQ(log.destroyed, 1);
    check_referent(w, NULL);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK_EQ(log.cb_calls, 1);
    end_test(h, &w, 1);
}

/* S24 (test_bug1055820b): two self-loops, each with an external callback weak
   reference. While held: collect 0, no callback. Dropped: collect 2, two
   callbacks, each sees both weak references dead. */
static void test_s24_callbacks_after_all_cleared(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d[2] = { { &log, "cb0" }, { &log, "cb1" } };
    node *c[2];
    for (int i = 0; i < 2; i++)
        c[i] = self_loop(new_named(h, &node_type, &log, "c"));
    for (int i = 0; i < 2; i++)
        add_listed_wr(c[i], &d[i]);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK_EQ(log.cb_calls, 0);
    rcgc_decref(c[0]);
    rcgc_decref(c[1]);
    CHECK_EQ(rcgc_collect(h, 2), 2);
    CHECK_EQ(log.cb_calls, 2);
    CHECK_STR(log.text, "cb0 cb1");
    CHECK_EQ(log.live_seen, 0);
    CHECK_EQ(log.destroyed, 2);
    end_test(h, log.wrs, log.nwrs);
}

/* S25: the callback runs before the finalizer of the same collection. */
static void test_s25_callback_before_finalizer(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d = { &log, "cb" };
    void *w = orphan_loop_with_wr(new_fin(h, &log, "F", NULL), log_cb, &d);
    CHECK_EQ(rcgc_collect(h, 2), 1);
    CHECK_STR(log.text, "cb F");
    CHECK_EQ(log.destroyed, 1);
    end_test(h, &w, 1);
}

/* S54, collector part: three callback weak references on trash X run newest
   first, then X's finalizer. */
static void test_s54_gc_order(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d[3] = { { &log, "cb0" }, { &log, "cb1" }, { &log, "cb2" } };
    node *x = self_loop(new_fin(h, &log, "X", NULL));
    void *w[3];
    for (int i = 0; i < 3; i++)
        w[i] = new_wr(x, log_cb, &d[i]);
    rcgc_decref(x);
    CHECK_EQ(rcgc_collect(h, 2), 1);     /* the weak references are held: not counted */
    CHECK_STR(log.text, "cb2 cb1 cb0 X");
    CHECK_EQ(log.self_live, 0);
    end_test(h, w, 3);
}

/* S54, ring: 1 -> 2 -> 3 -> 1, each with a callback weak reference. The
   trash is handled in list order: cb1, cb2, cb3, then the finalizers 1, 2, 3. */
static void test_s54_ring_order(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    static const char *names[3] = { "1", "2", "3" };
    cbdata d[3] = { { &log, "cb1" }, { &log, "cb2" }, { &log, "cb3" } };
    node *n[3];
    for (int i = 0; i < 3; i++)
        n[i] = new_fin(h, &log, names[i], NULL);
    for (int i = 0; i < 3; i++) {
        rcgc_set(&n[i]->a, n[(i + 1) % 3]);
        add_listed_wr(n[i], &d[i]);
    }
    for (int i = 0; i < 3; i++)
        rcgc_decref(n[i]);
    CHECK_EQ(rcgc_collect(h, 2), 3);
    CHECK_STR(log.text, "cb1 cb2 cb3 1 2 3");
    CHECK_EQ(log.live_seen, 0);        /* even cb1 sees 2 and 3 dead */
    CHECK_EQ(log.destroyed, 3);
    end_test(h, log.wrs, log.nwrs);
}

/* The collector clears weak references to the trash before finalizers run,
   so after a collector-path resurrection the weak reference is dead though
   the object lives (1.6 before 1.7); its callback ran once, and the real
   death calls nothing more. */
static void test_gc_resurrection_after_weakrefs_cleared(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d = { &log, "cb" };
    void *w = orphan_loop_with_wr(new_fin(h, &log, "X", hook_resurrect), log_cb, &d);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK_STR(log.text, "cb X");
    CHECK_EQ(log.destroyed, 0);
    check_referent(w, NULL);
    drop_kept(&log);
    CHECK_EQ(rcgc_collect(h, 2), 1);
    CHECK_EQ(log.cb_calls, 1);
    CHECK_EQ(log.fin_calls, 1);
    CHECK_EQ(log.destroyed, 1);
    end_test(h, &w, 1);
}

/* Drops T, a self-loop whose slot b holds the only reference to a weak
   reference with callback log_cb(d) to target (to T itself when target is
   NULL), and checks the collection: collect 2 (T and the weak reference),
   no callback, T destroyed. */
static void collect_loop_holding_wr(rcgc_heap *h, evlog *log, cbdata *d, node *target)
{
    node *t = self_loop(new_named(h, &node_type, log, "T"));
    move_into(&t->b, new_wr(target ? target : t, log_cb, d));
    rcgc_decref(t);
    CHECK_EQ(rcgc_collect(h, 2), 2);
    CHECK_EQ(log->cb_calls, 0);
    CHECK_EQ(log->destroyed, 1);
}

/* S23: a weak reference to T stored inside the trash self-loop T: collect 2
   (T and the weak reference), the callback is never called. */
static void test_s23_weakref_in_trash(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d = { &log, "cb" };
    collect_loop_holding_wr(h, &log, &d, NULL);
    end_test(h, NULL, 0);
}

/* A weak reference that is garbage, to a live object: the collector clears it
   (bpo-38006, 1.6 pass 1) and counts it; the referent's later death calls
   no callback. */
static void test_trash_weakref_to_live_object(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d = { &log, "cb" };
    node *live = new_named(h, &node_type, &log, "L");
    collect_loop_holding_wr(h, &log, &d, live);
    CHECK_EQ(live_objects(h), 1);
    rcgc_decref(live);
    CHECK_EQ(log.cb_calls, 0);
    end_test(h, NULL, 0);
}

/* S55: trash T; its weak reference is held only by something its callback
   drops: the weak reference is freed after the callback and counts: 2. */
static void drop_held_wr(void *wr, void *data)
{
    evlog *log = data;
    log->cb_calls++;
    if (log->held_wr == wr) {
        void *held = log->held_wr;
        log->held_wr = NULL;
        rcgc_decref(held);
    }
}

static void test_s55_weakref_freed_by_its_callback(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    log.held_wr = orphan_loop_with_wr(new_named(h, &node_type, &log, "T"), drop_held_wr, &log);
    CHECK_EQ(rcgc_collect(h, 2), 2);
    CHECK_EQ(log.cb_calls, 1);
    CHECK(log.held_wr == NULL);
    CHECK_EQ(log.destroyed, 1);
    end_test(h, NULL, 0);
}

/* S41 (test_bug1055820c): c0 in gen2 kept alive only by the young self-loop
   c1; c2 a young self-loop with a callback-less weak reference; a weak
   reference to c0 whose callback reads c2's. collect(0) is 2 (c1, c2); c0
   dies by refcount in c1's clearing; the callback runs once and sees NULL. */
static void test_s41_old_object_freed_by_young_clear(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d = { &log, "cb" };
    node *c0 = self_loop(new_named(h, &node_type, &log, "c0"));
    CHECK_EQ(rcgc_collect(h, 2), 0);           /* c0 -> generation 2 */
    CHECK_EQ(gen_size(h, 2), 1);
    node *c1 = self_loop(new_named(h, &node_type, &log, "c1"));
    rcgc_set(&c1->b, c0);
    rcgc_clear(&c0->a);                        /* now only c1 keeps c0 alive */
    node *c2 = self_loop(new_named(h, &node_type, &log, "c2"));
    void *c2wr = new_wr(c2, NULL, NULL);
    log.wrs[log.nwrs++] = c2wr;
    void *c0wr = new_wr(c0, log_cb, &d);
    rcgc_decref(c0);
    rcgc_decref(c1);
    rcgc_decref(c2);
    CHECK_EQ(rcgc_collect(h, 0), 2);
    CHECK_EQ(log.cb_calls, 1);
    CHECK_EQ(log.live_seen, 0);
    CHECK_EQ(log.self_live, 0);
    CHECK_EQ(log.destroyed, 3);
    void *w[2] = { c2wr, c0wr };
    end_test(h, w, 2);
}

/* A finalizer hook that reads log->wrs[0] and drops what it gets. It counts
   a live referent in live_seen, and sets seen when that referent's count was
   the hook's reference and one more, and it was tracked and listed once (what
   CPython shows of a later sibling, still held by the dying object). */
static void hook_read_first_wr(node *self)
{
    evlog *log = self->log;
    void *o = rcgc_weakref_get(log->wrs[0]);
    if (o) {
        log->live_seen++;
        log->seen = rcgc_refcount(o) == 2 && rcgc_is_tracked(o) && occurrences(rcgc_heap_of(o), -1, o) == 1;
        rcgc_decref(o);
    }
}

/* S26 (3.11 behaviour): P(fin) <-> N with a callback-less weak reference to
   N held outside; P's finalizer reads it and gets NULL, since weak references
   to the trash are cleared before finalizers run (1.6). collect 2. */

static void test_s26_finalizer_reads_weakref_to_trash(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    node *p = new_fin(h, &log, "P", hook_read_first_wr);
    node *n = new_named(h, &node_type, &log, "N");
    void *w = new_wr(n, NULL, NULL);
    log.wrs[0] = w;                 /* read by the hook; nwrs stays 0 */
    orphan_pair(p, n);
    CHECK_EQ(rcgc_collect(h, 2), 2);
    CHECK_EQ(log.fin_calls, 1);
    CHECK_EQ(log.live_seen, 0);
    CHECK_EQ(log.destroyed, 2);
    end_test(h, &w, 1);
}

/* What a finalizer hook does in the next two tests: it creates a weak
   reference to target with callback log_cb(log->hook_data) and keeps it for
   the test. */
static void keep_new_wr(evlog *log, void *target)
{
    void *w = rcgc_weakref_new(target, log_cb, log->hook_data);
    CHECK(w != NULL);
    if (w)
        keep(log, w);
}

/* Ends a test in which a finalizer kept one weak reference (keep_new_wr):
   the only reference kept, it is a weak reference, its referent is dead;
   then end_test. */
static void end_with_kept_wr(rcgc_heap *h, evlog *log)
{
    CHECK_EQ(log->nkept, 1);
    if (log->nkept == 1) {
        CHECK(rcgc_is_weakref(log->kept[0]));
        check_referent(log->kept[0], NULL);
    }
    drop_kept(log);
    end_test(h, NULL, 0);
}

/* S27 (3.11 behaviour): P <-> N; P's finalizer creates a weak reference with
   callback to N, held outside. The callback fires (N dies in the clearing
   cascade, by refcount) and collect is 2. */
static void hook_weakref_to_partner(node *self)
{
    keep_new_wr(self->log, self->a);
}

static void test_s27_weakref_created_by_finalizer(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d = { &log, "late-cb" };
    log.hook_data = &d;
    node *p = new_fin(h, &log, "P", hook_weakref_to_partner);
    node *n = new_named(h, &node_type, &log, "N");
    orphan_pair(p, n);
    CHECK_EQ(rcgc_collect(h, 2), 2);
    CHECK_STR(log.text, "P late-cb");
    CHECK_EQ(log.cb_calls, 1);
    CHECK_EQ(log.self_live, 0);
    CHECK_EQ(log.destroyed, 2);
    end_with_kept_wr(h, &log);
}

/* Refcount path: a weak reference that the finalizer creates to its own
   object is cleared with the others after the finalizer, and its callback
   runs (PyObject_ClearWeakRefs comes after the finalizer, 1.12). Verified on
   CPython 3.11.7. */
static void hook_weakref_to_self(node *self)
{
    keep_new_wr(self->log, self);
}

static void test_refcount_weakref_created_by_finalizer(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d = { &log, "cb" };
    log.hook_data = &d;
    node *x = new_fin(h, &log, "X", hook_weakref_to_self);
    rcgc_decref(x);
    CHECK_STR(log.text, "X cb");
    CHECK_EQ(log.self_live, 0);
    CHECK_EQ(log.destroyed, 1);
    end_with_kept_wr(h, &log);
}

/* Refcount path, release order: X holds C2 (slot a, with a finalizer) and C1
   (slot b), each only there. CPython clears X's slots one at a time, and each
   release completes before the next slot is cleared (subtype_dealloc step 6,
   1.12; "deallocation is depth-first in reference order"). So while C2's
   finalizer runs, C1 is still held by X: a weak reference to C1 returns it,
   and the finalizer may keep it. Verified on CPython 3.11.7: w() is not None
   in C2's __del__, and C1 survives when kept. */
static void hook_keep_weak_target(node *self)
{
    evlog *log = self->log;
    void *o = rcgc_weakref_get(log->wrs[0]);
    if (o) {
        log->live_seen++;
        keep(log, o);
    }
}

/* X holds C2 (slot a, a finalizer running hook) and C1 (slot b), each only
   there, and log->wrs[0] is a weak reference to C1; X is dropped. Returns C1
   (alive or not) and *w, the weak reference, owned by the caller. */
static node *drop_holder_of_siblings(rcgc_heap *h, evlog *log, node_hook hook, size_t *c1_destroyed, void **w)
{
    node *x = new_named(h, &node_type, log, "X");
    node *c2 = new_fin(h, log, "C2", hook);
    node *c1 = new_named(h, &node_type, log, "C1");
    c1->destroyed = c1_destroyed;
    rcgc_set(&x->a, c2);
    rcgc_set(&x->b, c1);
    *w = new_wr(c1, NULL, NULL);
    log->wrs[0] = *w;               /* read by the hook; nwrs stays 0 */
    rcgc_decref(c2);
    rcgc_decref(c1);
    rcgc_decref(x);
    return c1;
}

static void test_refcount_later_sibling_alive_in_finalizer(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    void *w;
    node *c1 = drop_holder_of_siblings(h, &log, hook_keep_weak_target, NULL, &w);
    CHECK_EQ(log.fin_calls, 1);
    CHECK_EQ(log.live_seen, 1);
    CHECK_EQ(log.destroyed, 2);     /* X and C2; C1 was kept */
    CHECK_EQ(log.nkept, 1);
    if (log.nkept == 1)
        CHECK(log.kept[0] == c1);
    check_referent(w, c1);
    drop_kept(&log);
    end_test(h, &w, 1);
}

/* The same, with a finalizer that takes C1 through the weak reference and
   drops it at once: C1, still held by X, has the count 2 (X's reference and
   the finalizer's), is tracked and listed, and is released once, in its turn.
   Verified on CPython 3.11.7: in C2's __del__, with o = w(),
   sys.getrefcount(o) - 1 is 2, gc.is_tracked(o) is True and gc.get_objects()
   lists o once; all three die. */
static void test_refcount_later_sibling_touched_in_finalizer(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    size_t c1_destroyed = 0;
    void *w;
    drop_holder_of_siblings(h, &log, hook_read_first_wr, &c1_destroyed, &w);
    CHECK_EQ(log.fin_calls, 1);
    CHECK_EQ(log.live_seen, 1);
    CHECK_EQ(log.seen, 1);
    CHECK_EQ(c1_destroyed, 1);
    CHECK_EQ(log.destroyed, 3);
    end_test(h, &w, 1);
}

/* A callback weak reference outside the trash that is still alive after its
   callback moves to the collection's old generation (handle_weakrefs pass 2,
   1.6; 1.8 survivors): w in gen2, its referent young trash; after collect(0)
   w sits in generation 1. */
static void test_callback_weakref_moves_to_old(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d = { &log, "cb" };
    node *t = self_loop(new_named(h, &node_type, &log, "T"));
    void *w = new_wr(t, log_cb, &d);
    CHECK_EQ(rcgc_collect(h, 0), 0);
    CHECK_EQ(rcgc_collect(h, 1), 0);           /* t and w -> generation 2 */
    rcgc_untrack(t);
    rcgc_track(t);                             /* t -> generation 0 */
    CHECK_EQ(gen_size(h, 0), 1);
    CHECK_EQ(gen_size(h, 2), 1);
    rcgc_decref(t);
    CHECK_EQ(rcgc_collect(h, 0), 1);
    CHECK_EQ(log.cb_calls, 1);
    CHECK_EQ(gen_size(h, 0), 0);
    CHECK_EQ(gen_size(h, 1), 1);
    CHECK_EQ(gen_size(h, 2), 0);
    CHECK(rcgc_is_tracked(w));
    end_test(h, &w, 1);
}

/* A dying object takes no new weak reference: from its destroy (on the
   refcount path, and when the collector clears its cycle),
   rcgc_weakref_new gives NULL and makes nothing. */
typedef struct dying {
    void *ref;
    void **got;                 /* where destroy records rcgc_weakref_new's result */
    size_t *tried;
} dying;

static void dying_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    dying *d = obj;
    visit(&d->ref, arg);
}

static void dying_destroy(void *obj)
{
    dying *d = obj;
    (*d->tried)++;
    *d->got = rcgc_weakref_new(obj, NULL, NULL);
}

static const rcgc_type dying_type = { "dying", sizeof(dying), dying_traverse, NULL, dying_destroy };

static void test_no_weakref_to_dying_object(void)
{
    rcgc_heap *h = fresh_heap();
    void *got[3] = { &got, &got, &got };
    size_t tried = 0;
    dying *d[3];
    for (int i = 0; i < 3; i++) {
        d[i] = rcgc_new(h, &dying_type);
        CHECK(d[i] != NULL);
        if (!d[i]) { rcgc_heap_free(h); return; }
        d[i]->got = &got[i];
        d[i]->tried = &tried;
    }
    rcgc_decref(d[0]);                     /* the refcount path */
    CHECK_EQ(tried, 1);
    CHECK(got[0] == NULL);
    rcgc_set(&d[1]->ref, d[2]);            /* a cycle, for the collector */
    rcgc_set(&d[2]->ref, d[1]);
    rcgc_decref(d[1]);
    rcgc_decref(d[2]);
    CHECK_EQ(rcgc_collect(h, 2), 2);
    CHECK_EQ(tried, 3);
    CHECK(got[1] == NULL);
    CHECK(got[2] == NULL);
    end_test(h, NULL, 0);
}

/* A weak reference that the program untracked (rcgc_untrack) still has its
   callback called when a collection finds its referent in garbage, once;
   it then gives NULL. */
static void test_untracked_weakref_callback(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d = { &log, "cb" };
    node *a = new_named(h, &node_type, &log, "A");
    node *b = new_named(h, &node_type, &log, "B");
    void *w = new_wr(a, log_cb, &d);
    if (!a || !b || !w) { rcgc_heap_free(h); return; }
    rcgc_untrack(w);
    CHECK(!rcgc_is_tracked(w));
    orphan_pair(a, b);
    CHECK_EQ(rcgc_collect(h, 2), 2);
    CHECK_STR(log.text, "cb");
    CHECK_EQ(log.cb_calls, 1);
    CHECK_EQ(log.self_live, 0);
    CHECK_EQ(log.destroyed, 2);
    check_referent(w, NULL);
    CHECK_EQ(rcgc_refcount(w), 1);
    CHECK(!rcgc_is_tracked(w));
    CHECK_EQ(occurrences(h, -1, w), 0);
    end_test(h, &w, 1);
}

/* The same for an immortal weak reference, which is untracked: the
   collection calls its callback and leaves it immortal and untracked. */
static void test_immortal_weakref_callback(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d = { &log, "cb" };
    node *a = new_named(h, &node_type, &log, "A");
    void *w = new_wr(self_loop(a), log_cb, &d);
    rcgc_make_immortal(w);
    CHECK(!rcgc_is_tracked(w));
    rcgc_decref(a);
    CHECK_EQ(rcgc_collect(h, 0), 1);
    CHECK_STR(log.text, "cb");
    CHECK(rcgc_is_immortal(w));
    CHECK(!rcgc_is_tracked(w));
    CHECK_EQ(occurrences(h, -1, w), 0);
    check_referent(w, NULL);
    rcgc_heap_free(h);
}

/* A callback that untracks its own weak reference, which stays alive: the
   collection counts the garbage only (CPython counts a weak reference freed
   by the release that follows its callback, S55; this one is not freed). */
static void untrack_own_cb(void *wr, void *data)
{
    cbdata *d = data;
    d->log->cb_calls++;
    rcgc_untrack(wr);
}

static void test_callback_untracks_its_weakref(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d = { &log, "cb" };
    node *a = new_named(h, &node_type, &log, "A");
    void *w = orphan_loop_with_wr(a, untrack_own_cb, &d);
    CHECK_EQ(rcgc_collect(h, 2), 1);
    CHECK_EQ(log.cb_calls, 1);
    CHECK_EQ(rcgc_refcount(w), 1);
    CHECK(!rcgc_is_tracked(w));
    end_test(h, &w, 1);
}

/* A collection calls back two weak references to one unreachable object:
   W1's callback, the first (the newest), tracks, untracks or makes immortal
   W2, which waits for its own callback, tracked or not. Whatever it does,
   W2's callback still runs, the reference the collection took on W2 is let
   go, and W2 ends as the call left it: rcgc_is_tracked says so from inside
   the call on. (CPython has no call to untrack a weak reference from Python;
   its C API, untracking a tracked one that waits, would take it out of the
   list: no callback, and the collection's reference never let go.) */
enum wr_action { WR_TRACK, WR_UNTRACK, WR_IMMORTAL };

typedef struct {
    void *w2;
    enum wr_action action;
    int seen_tracked;           /* rcgc_is_tracked(W2) before, and after the action */
    int now_tracked;
    size_t w2_calls;
} wr_act;

static void act_on_w2(void *wr, void *data)
{
    (void)wr;
    wr_act *a = data;
    a->seen_tracked = rcgc_is_tracked(a->w2);
    if (a->action == WR_TRACK)
        rcgc_track(a->w2);
    else if (a->action == WR_UNTRACK)
        rcgc_untrack(a->w2);
    else
        rcgc_make_immortal(a->w2);
    a->now_tracked = rcgc_is_tracked(a->w2);
}

static void count_w2(void *wr, void *data)
{
    (void)wr;
    ((wr_act *)data)->w2_calls++;
}

static void test_callback_changes_waiting_weakref(void)
{
    for (int w2_tracked = 0; w2_tracked < 2; w2_tracked++)
        for (int action = WR_TRACK; action <= WR_IMMORTAL; action++) {
            rcgc_heap *h = fresh_heap();
            wr_act act = { NULL, (enum wr_action)action, -1, -1, 0 };
            node *a = self_loop(rcgc_new(h, &node_type));
            if (!a) { rcgc_heap_free(h); return; }
            void *w[2] = { NULL, NULL };
            w[1] = new_wr(a, count_w2, &act);
            if (!w2_tracked)
                rcgc_untrack(w[1]);
            act.w2 = w[1];
            w[0] = new_wr(a, act_on_w2, &act);
            rcgc_decref(a);
            CHECK_EQ(rcgc_collect(h, 2), 1);
            int tracked_after = action == WR_TRACK;
            CHECK_EQ(act.seen_tracked, w2_tracked);
            CHECK_EQ(act.now_tracked, tracked_after);
            CHECK_EQ(act.w2_calls, 1);
            CHECK_EQ(rcgc_is_tracked(w[1]), tracked_after);
            CHECK_EQ(occurrences(h, -1, w[1]), tracked_after);
            CHECK_EQ(rcgc_is_immortal(w[1]), action == WR_IMMORTAL);
            if (action == WR_IMMORTAL) {
                rcgc_decref(w[0]);
                CHECK_EQ(live_objects(h), 1);
                rcgc_heap_free(h);
                continue;
            }
            CHECK_EQ(rcgc_refcount(w[1]), 1);
            end_test(h, w, 2);
        }
}

/* A callback that takes a reference to an object of the garbage, which C
   code can hold without the collector seeing it (its data): the collection
   analyses the set again after the callbacks, as after finalizers, and the
   whole cycle survives, intact. (CPython 3.11 runs the second analysis
   after every collection's callbacks and finalizers.) */
typedef struct {
    void *target;
    void *saved;
} resurrect_cb_data;

static void resurrect_target_cb(void *wr, void *data)
{
    (void)wr;
    resurrect_cb_data *d = data;
    d->saved = d->target;
    rcgc_incref(d->saved);
}

static void test_callback_resurrects_garbage(void)
{
    rcgc_heap *h = fresh_heap();
    node *a = rcgc_new(h, &node_type), *b = rcgc_new(h, &node_type);
    CHECK(a && b);
    if (!a || !b) { rcgc_heap_free(h); return; }
    resurrect_cb_data d = { a, NULL };
    void *w = new_wr(a, resurrect_target_cb, &d);
    orphan_pair(a, b);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK(d.saved == a);
    CHECK(a->a == b && b->a == a);
    CHECK_EQ(live_objects(h), 3);
    rcgc_xdecref(d.saved);
    CHECK_EQ(rcgc_collect(h, 2), 2);
    end_test(h, &w, 1);
}

/* A weak reference that is itself garbage, to an object outside the garbage
   that only the garbage holds: the collection clears it, without callback,
   before anything dies, so the referent's death while the set is cleared
   finds no weak reference to call back. CPython 3.11, the same graph (a
   cycle of __slots__ objects, one holding R, made before and so outside the
   collection of generation 0, the other weakref.ref(R, lambda)): no
   callback, and gc.collect(0) returns 4, the cycle, the weak reference and
   its lambda; R dies by reference counting, not counted. Here the callback
   is C code: 3. */
static void test_garbage_weakref_to_object_the_garbage_holds(void)
{
    rcgc_heap *h = fresh_heap();
    evlog log = {0};
    cbdata d = { &log, "cb" };
    node *a = rcgc_new(h, &node_type), *b = rcgc_new(h, &node_type);
    void *r = rcgc_new(h, &blob_type);
    CHECK(a && b && r);
    if (!a || !b || !r) { rcgc_heap_free(h); return; }
    void *w = new_wr(r, log_cb, &d);
    rcgc_set(&a->a, r);
    rcgc_set(&a->b, b);
    rcgc_set(&b->a, a);
    rcgc_set(&b->b, w);
    rcgc_decref(r);
    rcgc_decref(w);
    rcgc_decref(a);
    rcgc_decref(b);
    CHECK_EQ(rcgc_collect(h, 0), 3);
    CHECK_EQ(log.cb_calls, 0);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* ------------------------------------------------------------------------- */
/* The refcount path: what a release deep in a tree, and what callbacks that */
/* drop weak references, see                                                 */
/* ------------------------------------------------------------------------- */

static void count_wr_cb(void *wr, void *data)
{
    (void)wr;
    (*(size_t *)data)++;
}

/* A chain top -> n1 -> ... -> nd through field a; nd.a holds the only
   reference to W, a weak reference with a callback to R; R is held by top.b
   or by nd.b. Dropping top releases the chain depth first. CPython 3.11
   (the same program with __slots__ classes and weakref.ref, the same for
   every d from 1 to 120): with R beside W, never a callback; with R at the
   top, a callback exactly when d >= 50. Past the trash can's limit nd waits
   in the trash list with W alive, and R dies first, when the chain's release
   comes back up to top. Short of it, W's count reaches 0 inside nd's release,
   and weakref_dealloc has no trash can: W is cleared at once, and R's death
   finds no weak reference, even when W's release is the one that nests past
   the limit. */
static void test_weakref_dropped_deep_in_a_release(void)
{
    const rcgc_type *types[2] = { &node_type, &plain_node_type };
    for (int k = 0; k < 2; k++)
        for (int r_at_top = 0; r_at_top < 2; r_at_top++)
            for (int depth = 1; depth <= 120; depth++) {
                rcgc_heap *h = fresh_heap();
                node *top = rcgc_new(h, types[k]), *cur = top;
                CHECK(top != NULL);
                for (int i = 0; cur && i < depth; i++) {
                    node *n = rcgc_new(h, types[k]);
                    CHECK(n != NULL);
                    cur->a = n;
                    cur = n;
                }
                node *r = rcgc_new(h, types[k]);
                size_t calls = 0;
                if (!cur || !r) { rcgc_heap_free(h); return; }
                cur->a = new_wr(r, count_wr_cb, &calls);
                if (r_at_top)
                    top->b = r;
                else
                    cur->b = r;
                rcgc_decref(top);
                if (calls != (size_t)(r_at_top && depth >= 50))
                    fprintf(stderr, "  type %s, R %s, depth %d: %zu callbacks\n", types[k]->name,
                            r_at_top ? "at the top" : "beside W", depth, calls);
                CHECK_EQ(calls, (size_t)(r_at_top && depth >= 50));
                CHECK_EQ(live_objects(h), 0);
                rcgc_heap_free(h);
            }
}

/* Weak references to one object R, made in the order of `spec` ('c' with a
   callback, 'n' without), each watched by a weak reference of its own that
   logs "<name>-died". The first callback to run drops the test's references
   to the weak references listed in `drop` and logs "<name>-after". */
#define HOLD_MAX 6

typedef struct hold_case {
    evlog log;
    void *wr[HOLD_MAX];         /* the test's references, NULL once dropped */
    void *watch[HOLD_MAX];
    char name[HOLD_MAX][8];
    char died[HOLD_MAX][16];
    const char *drop;
    size_t n;
} hold_case;

typedef struct hold_ref {
    hold_case *c;
    size_t i;
} hold_ref;

static void hold_cb(void *wr, void *data)
{
    hold_ref *r = data;
    hold_case *c = r->c;
    (void)wr;
    bool first = c->log.text[0] == '\0';
    log_event(&c->log, c->name[r->i]);
    if (!first)
        return;
    for (size_t i = 0; i < c->n; i++)
        if (strstr(c->drop, c->name[i]) && c->wr[i]) {
            rcgc_decref(c->wr[i]);
            c->wr[i] = NULL;
        }
    char after[16];
    snprintf(after, sizeof after, "%s-after", c->name[r->i]);
    log_event(&c->log, after);
}

static void died_cb(void *wr, void *data)
{
    (void)wr;
    hold_ref *r = data;
    log_event(&r->c->log, r->c->died[r->i]);
}

static void run_hold_case(const char *spec, const char *drop, const char *expected)
{
    rcgc_heap *h = fresh_heap();
    hold_case c;
    hold_ref refs[HOLD_MAX];
    memset(&c, 0, sizeof c);
    c.drop = drop;
    node *r = rcgc_new(h, &node_type);
    CHECK(r != NULL);
    for (const char *p = spec; r && *p; p += p[2] ? 3 : 2) {
        size_t i = c.n++;
        snprintf(c.name[i], sizeof c.name[i], "%.2s", p);
        snprintf(c.died[i], sizeof c.died[i], "%.2s-died", p);
        refs[i] = (hold_ref){ &c, i };
        c.wr[i] = new_wr(r, p[0] == 'c' ? hold_cb : NULL, &refs[i]);
        c.watch[i] = new_wr(c.wr[i], died_cb, &refs[i]);
    }
    rcgc_decref(r);
    log_event(&c.log, "end");
    if (strcmp(c.log.text, expected) != 0)
        fprintf(stderr, "  spec '%s', drop '%s'\n", spec, drop);
    CHECK_STR(c.log.text, expected);
    for (size_t i = 0; i < c.n; i++) {
        rcgc_xdecref(c.wr[i]);
        rcgc_decref(c.watch[i]);
    }
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* Expected: python3 3.11, the same weak references made with a subclass of
   weakref.ref (so that none is shared and each can be watched), Python
   callbacks. PyObject_ClearWeakRefs clears the newest callback-less weak
   references, two at most, without holding them; the one left, if only one,
   is held by its callback's argument; otherwise a tuple holds every one
   until the last callback has run, and its release lets them go oldest
   first. */
static void test_refcount_callbacks_hold_weakrefs(void)
{
    run_hold_case("c1", "c1", "c1 c1-after c1-died end");
    run_hold_case("c2 c1", "c1", "c1 c1-after c2 c1-died end");
    run_hold_case("c2 c1", "c1 c2", "c1 c1-after c2 c2-died c1-died end");
    run_hold_case("c2 c1 n1", "n1", "c1 n1-died c1-after c2 end");
    run_hold_case("c2 c1 n1 n2 n3", "n1 n2 n3", "c1 n2-died n3-died c1-after c2 n1-died end");
    run_hold_case("c1 n1", "n1 c1", "c1 n1-died c1-after c1-died end");
    run_hold_case("n1 c1", "n1 c1", "c1 c1-after n1-died c1-died end");
    run_hold_case("c3 n1 c2 c1", "n1 c1 c2 c3", "c1 c1-after c2 c3 c3-died n1-died c2-died c1-died end");
}

int main(void)
{
    TEST(test_get_before_and_after_death);
    TEST(test_weakref_stored_in_slot);
    TEST(test_unweak_means_no_callback);
    TEST(test_s54_refcount_order);
    TEST(test_refcount_callbacks_before_release);
    TEST(test_refcount_weakref_inside_referent);
    TEST(test_weakref_survives_refcount_resurrection);
    TEST(test_s22_callback_on_trash);
    TEST(test_s24_callbacks_after_all_cleared);
    TEST(test_s25_callback_before_finalizer);
    TEST(test_s54_gc_order);
    TEST(test_s54_ring_order);
    TEST(test_gc_resurrection_after_weakrefs_cleared);
    TEST(test_s23_weakref_in_trash);
    TEST(test_trash_weakref_to_live_object);
    TEST(test_s55_weakref_freed_by_its_callback);
    TEST(test_s41_old_object_freed_by_young_clear);
    TEST(test_s26_finalizer_reads_weakref_to_trash);
    TEST(test_s27_weakref_created_by_finalizer);
    TEST(test_refcount_weakref_created_by_finalizer);
    TEST(test_refcount_later_sibling_alive_in_finalizer);
    TEST(test_refcount_later_sibling_touched_in_finalizer);
    TEST(test_callback_weakref_moves_to_old);
    TEST(test_no_weakref_to_dying_object);
    TEST(test_untracked_weakref_callback);
    TEST(test_immortal_weakref_callback);
    TEST(test_callback_untracks_its_weakref);
    TEST(test_callback_changes_waiting_weakref);
    TEST(test_callback_resurrects_garbage);
    TEST(test_garbage_weakref_to_object_the_garbage_holds);
    TEST(test_weakref_dropped_deep_in_a_release);
    TEST(test_refcount_callbacks_hold_weakrefs);
    return check_summary();
}
