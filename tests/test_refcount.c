/*
 * Reference counting (issue 3): the article's refcount example, immediate
 * release at zero (destroy before "end" without a cycle, only at a collection
 * with one), rcgc_set / rcgc_clear semantics, immortal objects, objects that
 * are never tracked (type without traverse), rcgc_type_of / rcgc_size_of /
 * rcgc_heap_of, zeroed payloads, rcgc_new_sized from 0 bytes to 10 MiB, the
 * empty chunks a heap keeps for reuse (rcgc_trim), huge pages asked for only
 * with rcgc_config.huge_pages, heap release and many heaps at once.
 *
 * Expected values come from the article (../shared/seed/README.md) and from
 * CPython 3.11's rules (../shared/reference/cpython-gc.md section 1).
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE                 /* MADV_HUGEPAGE */
#include "rcgc.h"
#include "common.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __linux__
#include <sys/mman.h>
#endif

/* ------------------------------------------------------------------------- */
/* Types used by the tests                                                   */
/* ------------------------------------------------------------------------- */

/* An object without references: never tracked. */
typedef struct leaf {
    size_t *destroyed;
    double value;
} leaf;

static void leaf_destroy(void *obj)
{
    leaf *l = obj;
    if (l->destroyed)
        (*l->destroyed)++;
}

static const rcgc_type leaf_type = { "leaf", sizeof(leaf), NULL, NULL, leaf_destroy };

/* A container whose payload is mostly plain bytes, no destroy. */
typedef struct dirty {
    void *ref;
    unsigned char bytes[40];
} dirty;

static void dirty_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    dirty *d = obj;
    visit(&d->ref, arg);
}

static const rcgc_type dirty_type = { "dirty", sizeof(dirty), dirty_traverse, NULL, NULL };

/* The article's Obj: `me` is its one reference field (self.me = self makes
   the cycle); destroy appends "destroy" to an event log. */
typedef struct article_obj {
    void *me;
    evlog *log;
} article_obj;

static void article_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    article_obj *o = obj;
    visit(&o->me, arg);
}

static void article_destroy(void *obj)
{
    article_obj *o = obj;
    log_event(o->log, "destroy");
}

static const rcgc_type article_type = { "Obj", sizeof(article_obj), article_traverse, NULL, article_destroy };

/* Watches a slot: at destroy, records what the slot holds at that moment. */
typedef struct watcher {
    void **watched;     /* slot to look at when destroyed */
    void **seen;        /* where to record *watched */
    size_t *destroyed;
} watcher;

static void watcher_destroy(void *obj)
{
    watcher *w = obj;
    if (w->seen)
        *w->seen = *w->watched;
    if (w->destroyed)
        (*w->destroyed)++;
}

static const rcgc_type watcher_type = { "watcher", sizeof(watcher), NULL, NULL, watcher_destroy };

/* ------------------------------------------------------------------------- */
/* The article                                                               */
/* ------------------------------------------------------------------------- */

/* Article, section 2: a = Obj(); getrefcount(a) 2; b = a 3; c = a 4; c = 0 3;
   b = 0 2. rcgc_refcount has no argument reference, so 1, 2, 3, 2, 1. The
   variables are slots (void * variables) handled with rcgc_set. */
static void test_article_refcount_example(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    const size_t python[5] = { 2, 3, 4, 3, 2 };
    size_t seen[5];
    size_t destroyed = 0;
    void *a = NULL, *b = NULL, *c = NULL;

    node *obj = new_node(h, &destroyed);
    if (!obj) { rcgc_heap_free(h); return; }
    a = obj;                               /* a = Obj(): the new reference is a's */
    seen[0] = rcgc_refcount(a);
    rcgc_set(&b, a);                       /* b = a */
    seen[1] = rcgc_refcount(a);
    rcgc_set(&c, a);                       /* c = a */
    seen[2] = rcgc_refcount(a);
    rcgc_set(&c, NULL);                    /* c = 0 */
    seen[3] = rcgc_refcount(a);
    rcgc_set(&b, NULL);                    /* b = 0 */
    seen[4] = rcgc_refcount(a);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(seen[i], python[i] - 1);
    CHECK(b == NULL && c == NULL);
    CHECK_EQ(destroyed, 0);

    /* The same with rcgc_incref / rcgc_decref directly. */
    rcgc_incref(obj);
    CHECK_EQ(rcgc_refcount(obj), 2);
    rcgc_incref(obj);
    CHECK_EQ(rcgc_refcount(obj), 3);
    rcgc_decref(obj);
    CHECK_EQ(rcgc_refcount(obj), 2);
    rcgc_xincref(obj);
    rcgc_xincref(NULL);
    CHECK_EQ(rcgc_refcount(obj), 3);
    rcgc_xdecref(obj);
    rcgc_xdecref(NULL);
    rcgc_decref(obj);
    CHECK_EQ(rcgc_refcount(obj), 1);
    CHECK_EQ(destroyed, 0);
    rcgc_clear(&a);                        /* a = 0: count 0, released at once */
    CHECK(a == NULL);
    CHECK_EQ(destroyed, 1);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* Article, section 3, without a cycle: a = Obj(); a = 0 prints "destroy"
   before "end .....". */
static void test_article_destroy_before_end(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    evlog log = {0};
    article_obj *a = rcgc_new(h, &article_type);
    CHECK(a != NULL);
    if (a) {
        a->log = &log;
        CHECK_EQ(rcgc_refcount(a), 1);
        rcgc_decref(a);                    /* a = 0 */
    }
    log_event(&log, "end");
    CHECK_STR(log.text, "destroy end");
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK_STR(log.text, "destroy end");
    rcgc_heap_free(h);
}

/* Article, section 3, with a cycle (self.me = self): a = 0 releases nothing,
   "end" comes first, and "destroy" only when the collector reclaims it:
   rcgc_collect returns 1 (S04: node self-loop -> 1). */
static void test_article_cycle_destroyed_by_collector(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    rcgc_disable(h);
    evlog log = {0};
    article_obj *a = rcgc_new(h, &article_type);
    CHECK(a != NULL);
    if (!a) { rcgc_heap_free(h); return; }
    a->log = &log;
    rcgc_set(&a->me, a);                   /* self.me = self */
    CHECK_EQ(rcgc_refcount(a), 2);
    rcgc_decref(a);                        /* a = 0 */
    log_event(&log, "end");
    CHECK_STR(log.text, "end");
    CHECK_EQ(live_objects(h), 1);
    CHECK_EQ(rcgc_collect(h, 2), 1);
    CHECK_STR(log.text, "end destroy");
    CHECK_EQ(live_objects(h), 0);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK_STR(log.text, "end destroy");
    rcgc_heap_free(h);
}

/* A cycle left at rcgc_heap_free is destroyed there (the article's
   "interpreter shutdown reclaims it"). */
static void test_cycle_destroyed_at_heap_free(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    evlog log = {0};
    article_obj *a = rcgc_new(h, &article_type);
    CHECK(a != NULL);
    if (!a) { rcgc_heap_free(h); return; }
    a->log = &log;
    rcgc_set(&a->me, a);
    rcgc_decref(a);
    log_event(&log, "end");
    rcgc_heap_free(h);
    CHECK_STR(log.text, "end destroy");
}

/* Release at zero releases what the object holds: a chain a -> b -> c held
   only through a dies entirely when a's count reaches 0; an object held from
   elsewhere as well only loses one count. */
static void test_release_cascades(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    size_t destroyed = 0, kept_destroyed = 0;
    node *a = new_node(h, &destroyed);
    node *b = new_node(h, &destroyed);
    node *c = new_node(h, &destroyed);
    node *kept = new_node(h, &kept_destroyed);
    if (!a || !b || !c || !kept) { rcgc_heap_free(h); return; }
    rcgc_set(&a->a, b);
    rcgc_set(&b->a, c);
    rcgc_set(&b->b, kept);
    rcgc_set(&c->c, kept);
    rcgc_decref(b);
    rcgc_decref(c);
    CHECK_EQ(rcgc_refcount(b), 1);
    CHECK_EQ(rcgc_refcount(c), 1);
    CHECK_EQ(rcgc_refcount(kept), 3);
    CHECK_EQ(live_objects(h), 4);
    rcgc_decref(a);
    CHECK_EQ(destroyed, 3);
    CHECK_EQ(kept_destroyed, 0);
    CHECK_EQ(rcgc_refcount(kept), 1);
    CHECK_EQ(live_objects(h), 1);
    rcgc_decref(kept);
    CHECK_EQ(kept_destroyed, 1);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* A wide container without hooks (WIDE slots), whose children are
   containers without hooks holding one leaf each that logs its destroy: the
   order of the leaves' deaths is the order of a recursive release (the
   children in slot order, each one's leaf before the next child), with more
   children than fit in a cache line of pointers, and also when the heap reads
   the slots from a field table. CPython 3.11.7, with __slots__ classes for the
   containers and __del__ for the leaves, prints the same order. */
enum { WIDE = 12 };

typedef struct wide {
    void *slot[WIDE];
} wide;

typedef struct named_leaf {
    evlog *log;
    char name[8];
} named_leaf;

static void wide_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    wide *w = obj;
    for (int i = 0; i < WIDE; i++)
        visit(&w->slot[i], arg);
}

static void named_leaf_destroy(void *obj)
{
    named_leaf *l = obj;
    log_event(l->log, l->name);
}

static const rcgc_type wide_type = { "wide", sizeof(wide), wide_traverse, NULL, NULL };
#define WIDE_SLOT(i) (offsetof(wide, slot) + (i) * sizeof(void *))
static const size_t wide_fields[WIDE] = { WIDE_SLOT(0), WIDE_SLOT(1), WIDE_SLOT(2), WIDE_SLOT(3), WIDE_SLOT(4),  WIDE_SLOT(5),
                                          WIDE_SLOT(6), WIDE_SLOT(7), WIDE_SLOT(8), WIDE_SLOT(9), WIDE_SLOT(10), WIDE_SLOT(11) };
static const rcgc_type named_leaf_type = { "named leaf", sizeof(named_leaf), NULL, NULL, named_leaf_destroy };

static void test_release_order_wide(void)
{
    for (int fields = 0; fields < 2; fields++) {
        rcgc_heap *h = rcgc_heap_new(NULL);
        CHECK(h != NULL);
        if (!h) return;
        if (fields)
            CHECK_EQ(rcgc_set_type_fields(h, &wide_type, wide_fields, WIDE), 0);
        evlog log = { 0 };
        char expect[256] = "";
        wide *top = rcgc_new(h, &wide_type);
        CHECK(top != NULL);
        if (!top) { rcgc_heap_free(h); return; }
        for (int i = 0; i < WIDE; i++) {
            wide *child = rcgc_new(h, &wide_type);
            named_leaf *nl = rcgc_new(h, &named_leaf_type);
            CHECK(child != NULL && nl != NULL);
            if (!child || !nl) break;
            nl->log = &log;
            snprintf(nl->name, sizeof nl->name, "L%d", i);
            snprintf(expect + strlen(expect), sizeof expect - strlen(expect), "%s%s", i ? " " : "", nl->name);
            child->slot[0] = nl;               /* the new references move into the slots */
            top->slot[i] = child;
        }
        CHECK_EQ(live_objects(h), 1 + 2 * WIDE);
        rcgc_decref(top);
        CHECK_STR(log.text, expect);
        CHECK_EQ(live_objects(h), 0);
        CHECK_EQ(rcgc_collect(h, 2), 0);
        rcgc_heap_free(h);
    }
}

/* A container without hooks of two fields, and one of a single field: the
   release of those whose offsets the heap knows frees the container's block
   before it releases what the fields hold (release_plain). */
typedef struct pair {
    void *first, *second;
} pair;

static void pair_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    pair *p = obj;
    visit(&p->first, arg);
    visit(&p->second, arg);
}

static void link_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    visit(&((pair *)obj)->first, arg);
}

static const rcgc_type pair_type = { "pair", sizeof(pair), pair_traverse, NULL, NULL };
static const size_t pair_fields[] = { offsetof(pair, first), offsetof(pair, second) };
static const rcgc_type link_type = { "link", sizeof(pair), link_traverse, NULL, NULL };
static const size_t link_fields[] = { offsetof(pair, first) };

/* A heap with automatic collection off, told t's n field offsets when
   `fields` is set. */
static rcgc_heap *heap_for_fields(const rcgc_type *t, const size_t *offsets, size_t n, int fields)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (h) {
        rcgc_disable(h);
        if (fields)
            CHECK_EQ(rcgc_set_type_fields(h, t, offsets, n), 0);
    }
    return h;
}

/* A chain of 60 containers of type t without hooks, each holding the next
   at next_at and an object with a finalizer at fin_at, released by its
   head's last reference, through traverse and through the n field offsets.
   With offsets, rcgc releases the chain along the last field in a loop
   rather than by nested calls (release_plain), and must still count each
   link as a level of nesting: past 50 levels, what is released waits in the
   trash list. CPython 3.11.7 (tests/traces/release-trashcan-last-field.trace,
   the same shape with __slots__ classes) finalizes 1 to 49, 51 to 60, then
   50. Generation 0's count goes down by one for each container released. */
static void check_chain_release(const rcgc_type *t, const size_t *offsets, size_t n, size_t fin_at, size_t next_at)
{
    enum { LINKS = 60 };
    static char names[LINKS + 1][4];
    char expect[256] = "";
    for (int i = 1; i <= LINKS; i++)
        snprintf(names[i], sizeof names[i], "%d", i);
    for (int i = 1; i <= LINKS; i++)
        if (i != 50)
            snprintf(expect + strlen(expect), sizeof expect - strlen(expect), "%s ", names[i]);
    strcat(expect, "50");
    for (int fields = 0; fields < 2; fields++) {
        rcgc_heap *h = heap_for_fields(t, offsets, n, fields);
        if (!h) return;
        evlog log = { 0 };
        char *next = NULL;
        for (int i = LINKS; i >= 1; i--) {
            char *c = rcgc_new(h, t);
            node *f = new_fin(h, &log, names[i], NULL);
            CHECK(c != NULL && f != NULL);
            if (!c || !f) { rcgc_heap_free(h); return; }
            memcpy(c + fin_at, &f, sizeof f);   /* the new references move into the fields */
            memcpy(c + next_at, &next, sizeof next);
            next = c;
        }
        size_t counts[3];
        rcgc_get_count(h, counts);
        CHECK_EQ(counts[0], 2 * LINKS);
        rcgc_decref(next);
        CHECK_STR(log.text, expect);
        CHECK_EQ(log.fin_calls, LINKS);
        CHECK_EQ(live_objects(h), 0);
        rcgc_get_count(h, counts);
        CHECK_EQ(counts[0], 0);
        rcgc_heap_free(h);
    }
}

/* Four fields, the chain in the last (d); with offsets, the loop of
   release_plain over a container of more than two fields. */
static void test_release_order_last_field_chain(void)
{
    check_chain_release(&plain_node_type, node_fields, 4, offsetof(node, a), offsetof(node, d));
}

/* Two fields; with offsets, each container is freed before its fields'
   objects are released. */
static void test_release_order_two_field_chain(void)
{
    check_chain_release(&pair_type, pair_fields, 2, offsetof(pair, first), offsetof(pair, second));
}

/* Allocates pairs, kept in the log, until one takes the block of the pair
   whose address is in log->hook_data. */
static void take_released_block(node *self)
{
    evlog *log = self->log;
    rcgc_heap *h = rcgc_heap_of(self);
    while (log->nkept < MAX_KEPT && !log->seen) {
        pair *p = rcgc_new(h, &pair_type);
        CHECK(p != NULL);
        if (!p)
            return;
        log->kept[log->nkept++] = p;
        log->seen = p == log->hook_data;
    }
}

/* A pair whose first field holds the last reference to an object with a
   finalizer, and whose second holds a chain of pairs ending in another. Once
   the pair's last reference is dropped, its block is free while the first
   finalizer runs: that finalizer's allocation takes it, and the release goes
   on with the second field, read before the block was freed. (The debug
   build releases the fields first, as CPython does.) */
static void test_release_two_fields_block_reused(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    rcgc_disable(h);
    CHECK_EQ(rcgc_set_type_fields(h, &pair_type, pair_fields, 2), 0);
    evlog log = { 0 };
    pair *top = rcgc_new(h, &pair_type), *tail = rcgc_new(h, &pair_type);
    node *first = new_fin(h, &log, "first", take_released_block), *last = new_fin(h, &log, "last", NULL);
    CHECK(top && tail && first && last);
    if (!top || !tail || !first || !last) { rcgc_heap_free(h); return; }
    tail->first = last;
    top->first = first;
    top->second = tail;
    log.hook_data = top;
    rcgc_decref(top);
    CHECK_STR(log.text, "first last");
#ifdef RCGC_DEBUG
    CHECK_EQ(log.seen, 0);              /* the debug build frees the block last */
#else
    CHECK_EQ(log.seen, 1);
#endif
    CHECK_EQ(live_objects(h), log.nkept);
    for (size_t i = 0; i < log.nkept; i++)
        rcgc_decref(log.kept[i]);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* A container without hooks whose traverse visits a and b, or b and c when
   its mode is 1: the heap is told the offsets that match, and told again
   when the program switches modes with no such object alive. */
typedef struct trio {
    void *a, *b, *c;
    int mode;
} trio;

static void trio_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    trio *t = obj;
    if (t->mode) {
        visit(&t->b, arg);
        visit(&t->c, arg);
    } else {
        visit(&t->a, arg);
        visit(&t->b, arg);
    }
}

static const rcgc_type trio_type = { "trio", sizeof(trio), trio_traverse, NULL, NULL };
static const size_t trio_ab[] = { offsetof(trio, a), offsetof(trio, b) };
static const size_t trio_bc[] = { offsetof(trio, b), offsetof(trio, c) };

/* The release of a two-field container reads the offsets the heap was told
   last: after rcgc_set_type_fields changes them (release_plain keeps the
   offsets of the last two-field type it released), the new fields' objects
   are released, in the new order, and nothing is left. */
static void test_release_after_fields_change(void)
{
    rcgc_heap *h = heap_for_fields(&trio_type, trio_ab, 2, 1);
    if (!h) return;
    evlog log = { 0 };
    const char *names[4] = { "L1", "L2", "L3", "L4" };
    named_leaf *l[4];
    for (int i = 0; i < 4; i++) {
        l[i] = rcgc_new(h, &named_leaf_type);
        CHECK(l[i] != NULL);
        if (!l[i]) { rcgc_heap_free(h); return; }
        l[i]->log = &log;
        snprintf(l[i]->name, sizeof l[i]->name, "%s", names[i]);
    }
    trio *t = rcgc_new(h, &trio_type);
    CHECK(t != NULL);
    if (!t) { rcgc_heap_free(h); return; }
    t->a = l[0];                        /* the new references move into the fields */
    t->b = l[1];
    rcgc_decref(t);
    CHECK_STR(log.text, "L1 L2");
    CHECK_EQ(rcgc_set_type_fields(h, &trio_type, trio_bc, 2), 0);
    t = rcgc_new(h, &trio_type);
    CHECK(t != NULL);
    if (!t) { rcgc_heap_free(h); return; }
    t->mode = 1;
    t->b = l[2];
    t->c = l[3];
    rcgc_decref(t);
    CHECK_STR(log.text, "L1 L2 L3 L4");
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* A chain of 200 single-field containers ending in an object with a
   finalizer: released in a loop, each counted down, the finalizer run. */
static void test_release_one_field_chain(void)
{
    enum { LINKS = 200 };
    for (int fields = 0; fields < 2; fields++) {
        rcgc_heap *h = heap_for_fields(&link_type, link_fields, 1, fields);
        if (!h) return;
        evlog log = { 0 };
        void *next = new_fin(h, &log, "end", NULL);
        CHECK(next != NULL);
        if (!next) { rcgc_heap_free(h); return; }
        for (int i = 0; i < LINKS; i++) {
            pair *p = rcgc_new(h, &link_type);
            CHECK(p != NULL);
            if (!p) { rcgc_heap_free(h); return; }
            p->first = next;
            next = p;
        }
        size_t counts[3];
        rcgc_get_count(h, counts);
        CHECK_EQ(counts[0], LINKS + 1);
        rcgc_decref(next);
        CHECK_STR(log.text, "end");
        CHECK_EQ(live_objects(h), 0);
        rcgc_get_count(h, counts);
        CHECK_EQ(counts[0], 0);
        rcgc_heap_free(h);
    }
}

/* A tree of containers without hooks released by its last reference, when
   the program untracked some of its nodes (every third; as a collection
   untracks immutable ones): every node is freed, each container's release
   counts down generation 0's count as in CPython (tracked or not), and
   nothing is left in the generation lists. */
static void test_release_untracked_plain_tree(void)
{
    enum { NODES = 1023 };                 /* a full binary tree of depth 9 */
    rcgc_heap *h = rcgc_heap_new(NULL);
    node **all = calloc(NODES, sizeof *all);
    CHECK(h != NULL && all != NULL);
    if (!h || !all) { rcgc_heap_free(h); free(all); return; }
    rcgc_disable(h);
    size_t counts[3];
    for (int i = 0; i < NODES; i++) {
        all[i] = rcgc_new(h, &plain_node_type);
        CHECK(all[i] != NULL);
        if (!all[i]) { free(all); rcgc_heap_free(h); return; }
        if (i % 3 == 1)
            rcgc_untrack(all[i]);
        if (i > 0)                         /* the new reference moves into the parent */
            *(i % 2 ? &all[(i - 1) / 2]->a : &all[(i - 1) / 2]->b) = all[i];
    }
    rcgc_get_count(h, counts);
    CHECK_EQ(counts[0], NODES);
    CHECK_EQ(gen_size(h, 0), NODES - NODES / 3);
    rcgc_decref(all[0]);
    CHECK_EQ(live_objects(h), 0);
    rcgc_get_count(h, counts);
    CHECK_EQ(counts[0], 0);
    CHECK_EQ(gen_size(h, 0), 0);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    free(all);
    rcgc_heap_free(h);
}

/* rcgc_new of a type whose size takes a region of its own: an object of the
   type, at least type->size bytes, zeroed, tracked, counted as large, and
   collected like any other. */
static void test_new_of_large_type(void)
{
    typedef struct big {
        node head;
        unsigned char bytes[200000];
    } big;
    static const rcgc_type big_type = { "big", sizeof(big), node_traverse, NULL, node_destroy };
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    size_t destroyed = 0;
    big *b = rcgc_new(h, &big_type);
    CHECK(b != NULL);
    if (!b) { rcgc_heap_free(h); return; }
    CHECK(rcgc_type_of(b) == &big_type);
    CHECK(rcgc_size_of(b) >= sizeof(big));
    CHECK(rcgc_is_tracked(b));
    size_t nonzero = 0;
    for (size_t i = 0; i < sizeof b->bytes; i++)
        nonzero += b->bytes[i] != 0;
    CHECK_EQ(nonzero, 0);
    CHECK_EQ(memory_stats(h).large_objects, 1);
    b->head.destroyed = &destroyed;
    rcgc_set(&b->head.a, b);               /* a cycle of one */
    rcgc_decref(b);
    CHECK_EQ(rcgc_collect(h, 2), 1);
    CHECK_EQ(destroyed, 1);
    CHECK_EQ(memory_stats(h).large_objects, 0);
    rcgc_heap_free(h);
}

/* ------------------------------------------------------------------------- */
/* rcgc_set and rcgc_clear                                                   */
/* ------------------------------------------------------------------------- */

static void test_set_semantics(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    size_t hd = 0, xd = 0, yd = 0;
    node *holder = new_node(h, &hd);
    node *x = new_node(h, &xd);
    node *y = new_node(h, &yd);
    if (!holder || !x || !y) { rcgc_heap_free(h); return; }

    /* incref the new value */
    rcgc_set(&holder->a, x);
    CHECK(holder->a == x);
    CHECK_EQ(rcgc_refcount(x), 2);
    /* storing the same object again changes nothing */
    rcgc_set(&holder->a, x);
    CHECK_EQ(rcgc_refcount(x), 2);
    /* replacing: incref new, decref old */
    rcgc_set(&holder->a, y);
    CHECK(holder->a == y);
    CHECK_EQ(rcgc_refcount(x), 1);
    CHECK_EQ(rcgc_refcount(y), 2);
    /* NULL value: empties the slot and releases the old one */
    rcgc_set(&holder->a, NULL);
    CHECK(holder->a == NULL);
    CHECK_EQ(rcgc_refcount(y), 1);
    /* NULL into an empty slot: nothing happens */
    rcgc_set(&holder->b, NULL);
    CHECK(holder->b == NULL);

    /* Self-assignment when the slot holds the only reference: safe. */
    rcgc_set(&holder->a, x);
    rcgc_decref(x);                        /* now only holder->a holds x */
    CHECK_EQ(rcgc_refcount(x), 1);
    rcgc_set(&holder->a, holder->a);
    CHECK(holder->a == x);
    CHECK_EQ(xd, 0);
    CHECK_EQ(rcgc_refcount(x), 1);

    /* The same object in two slots of the same holder counts twice. */
    rcgc_set(&holder->b, y);
    rcgc_set(&holder->c, y);
    CHECK_EQ(rcgc_refcount(y), 3);
    rcgc_set(&holder->b, holder->c);
    CHECK_EQ(rcgc_refcount(y), 3);

    /* Replacing the only reference releases the old object at once. */
    rcgc_set(&holder->a, y);
    CHECK_EQ(xd, 1);
    CHECK_EQ(rcgc_refcount(y), 4);

    /* rcgc_clear: empties the slot, then releases. */
    rcgc_clear(&holder->a);
    CHECK(holder->a == NULL);
    CHECK_EQ(rcgc_refcount(y), 3);
    rcgc_clear(&holder->a);                /* already empty: no-op */
    CHECK(holder->a == NULL);
    rcgc_clear(&holder->b);
    rcgc_clear(&holder->c);
    CHECK_EQ(rcgc_refcount(y), 1);
    CHECK_EQ(yd, 0);
    rcgc_decref(y);
    CHECK_EQ(yd, 1);
    rcgc_decref(holder);
    CHECK_EQ(hd, 1);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* "the old object is released only once the slot no longer refers to it":
   the old object's destroy sees the new value in the slot. */
static void test_set_releases_after_store(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    node *holder = new_node(h, NULL);
    node *y = new_node(h, NULL);
    watcher *w = rcgc_new(h, &watcher_type);
    watcher *w2 = rcgc_new(h, &watcher_type);
    CHECK(w != NULL && w2 != NULL);
    if (!holder || !y || !w || !w2) { rcgc_heap_free(h); return; }
    void *seen = (void *)&seen;            /* anything but NULL and y */
    void *seen2 = (void *)&seen2;
    size_t wd = 0, wd2 = 0;
    w->watched = &holder->a; w->seen = &seen; w->destroyed = &wd;
    w2->watched = &holder->b; w2->seen = &seen2; w2->destroyed = &wd2;

    rcgc_set(&holder->a, w);
    rcgc_decref(w);
    rcgc_set(&holder->a, y);               /* w dies here */
    CHECK_EQ(wd, 1);
    CHECK(seen == y);

    rcgc_set(&holder->b, w2);
    rcgc_decref(w2);
    rcgc_clear(&holder->b);                /* w2 dies here */
    CHECK_EQ(wd2, 1);
    CHECK(seen2 == NULL);

    rcgc_decref(y);
    rcgc_decref(holder);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* ------------------------------------------------------------------------- */
/* Immortal objects                                                          */
/* ------------------------------------------------------------------------- */

static void test_immortal(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    rcgc_disable(h);
    size_t od = 0, xd = 0, ld = 0;
    node *o = new_node(h, &od);
    node *x = new_node(h, &xd);
    leaf *l = rcgc_new(h, &leaf_type);
    CHECK(l != NULL);
    if (!o || !x || !l) { rcgc_heap_free(h); return; }
    l->destroyed = &ld;

    CHECK(!rcgc_is_immortal(o));
    CHECK(rcgc_is_tracked(o));
    rcgc_set(&o->a, x);
    CHECK_EQ(rcgc_refcount(x), 2);

    rcgc_make_immortal(o);
    CHECK(rcgc_is_immortal(o));
    CHECK_EQ(rcgc_refcount(o), RCGC_IMMORTAL_REFCOUNT);
    /* untracked: its count means nothing to gc_refs */
    CHECK(!rcgc_is_tracked(o));
    CHECK_EQ(occurrences(h, -1, o), 0);
    rcgc_track(o);                         /* no-op for an immortal object */
    CHECK(!rcgc_is_tracked(o));
    CHECK_EQ(occurrences(h, -1, o), 0);
    /* the references it holds stay */
    CHECK(o->a == x);
    CHECK_EQ(rcgc_refcount(x), 2);

    /* reference-count operations are no-ops */
    for (int i = 0; i < 1000; i++)
        rcgc_incref(o);
    CHECK_EQ(rcgc_refcount(o), RCGC_IMMORTAL_REFCOUNT);
    for (int i = 0; i < 3000; i++)         /* more decrefs than it ever had */
        rcgc_decref(o);
    CHECK_EQ(rcgc_refcount(o), RCGC_IMMORTAL_REFCOUNT);
    CHECK_EQ(od, 0);
    CHECK(rcgc_is_immortal(o));
    /* 2^31 more decrefs than increfs (or as many more increfs, which wrap)
       bring the count word to zero: it starts over instead of freeing the
       object. The count is set near zero rather than decremented 2^31
       times. Directly, and as a field's reference when its holder dies. */
    RCGC__HEAD(o)->refcnt = 2;
    rcgc_decref(o);
    rcgc_decref(o);
    CHECK_EQ(od, 0);
    CHECK(rcgc_is_immortal(o));
    CHECK(RCGC__HEAD(o)->refcnt != 0);
    node *holder = new_node(h, NULL);
    CHECK(holder != NULL);
    if (holder) {
        rcgc_set(&holder->a, o);
        RCGC__HEAD(o)->refcnt = 1;
        rcgc_decref(holder);
        CHECK_EQ(od, 0);
        CHECK(RCGC__HEAD(o)->refcnt != 0);
        CHECK_EQ(rcgc_refcount(o), RCGC_IMMORTAL_REFCOUNT);
    }

    /* made immortal again: nothing changes */
    rcgc_make_immortal(o);
    CHECK(rcgc_is_immortal(o));
    CHECK_EQ(rcgc_refcount(o), RCGC_IMMORTAL_REFCOUNT);
    CHECK(!rcgc_is_tracked(o));
    CHECK_EQ(occurrences(h, -1, o), 0);
    CHECK(o->a == x);
    CHECK_EQ(rcgc_refcount(x), 2);

    /* stored in and removed from slots: still no-ops */
    void *slot = NULL;
    rcgc_set(&slot, o);
    rcgc_set(&o->b, o);                    /* an immortal self-reference */
    rcgc_clear(&slot);
    CHECK_EQ(rcgc_refcount(o), RCGC_IMMORTAL_REFCOUNT);

    /* a collection neither finds nor frees it */
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK_EQ(od, 0);
    CHECK_EQ(xd, 0);
    CHECK(o->a == x);

    /* A mortal object held only by the immortal one survives collections:
       references from untracked objects are external. */
    rcgc_decref(x);
    CHECK_EQ(rcgc_refcount(x), 1);
    rcgc_set(&x->a, x);                    /* x self-cycle, also held by o */
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK_EQ(xd, 0);

    /* An immortal leaf */
    rcgc_make_immortal(l);
    CHECK(rcgc_is_immortal(l));
    CHECK_EQ(rcgc_refcount(l), RCGC_IMMORTAL_REFCOUNT);
    rcgc_decref(l);
    rcgc_decref(l);
    CHECK_EQ(ld, 0);
    CHECK_EQ(rcgc_refcount(l), RCGC_IMMORTAL_REFCOUNT);
    CHECK_EQ(live_objects(h), 3);

    /* freed at rcgc_heap_free, with destroy */
    rcgc_heap_free(h);
    CHECK_EQ(od, 1);
    CHECK_EQ(xd, 1);
    CHECK_EQ(ld, 1);
}

/* ------------------------------------------------------------------------- */
/* Many types of every kind                                                  */
/* ------------------------------------------------------------------------- */

static void count_destroy(void *obj)
{
    node *n = obj;
    if (n->destroyed)
        (*n->destroyed)++;
}

static void count_finalize(void *obj)
{
    node *n = obj;
    if (n->log)
        n->log->fin_calls++;
}

/* 400 types, the four kinds in turn (a leaf without hooks, a leaf with a
   destroy, a container without hooks, a container with a finalizer and a
   destroy), registered in the order of their first allocation: each object
   keeps its type, is tracked when it is a container, and is released as its
   kind calls for (the heap tells the kinds apart by their type's index). */
static void test_many_types_of_each_kind(void)
{
    enum { TYPES = 400 };
    static rcgc_type types[TYPES];
    static char names[TYPES][8];
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    rcgc_disable(h);
    size_t destroyed = 0, want_destroyed = 0;
    evlog log = { 0 };
    node *objs[TYPES];
    for (int i = 0; i < TYPES; i++) {
        snprintf(names[i], sizeof names[i], "t%d", i);
        int kind = i % 4;
        types[i] = (rcgc_type){ names[i], sizeof(node), kind >= 2 ? node_traverse : NULL,
                                kind == 3 ? count_finalize : NULL, kind == 1 || kind == 3 ? count_destroy : NULL };
        objs[i] = rcgc_new(h, &types[i]);
        CHECK(objs[i] != NULL);
        if (!objs[i]) { rcgc_heap_free(h); return; }
        objs[i]->destroyed = &destroyed;
        objs[i]->log = &log;
        want_destroyed += kind == 1 || kind == 3;
    }
    for (int i = 0; i < TYPES; i++) {
        CHECK(rcgc_type_of(objs[i]) == &types[i]);
        CHECK_EQ(rcgc_is_tracked(objs[i]), i % 4 >= 2);
    }
    /* The containers take the leaves: 4g+2 the leaf with a destroy (4g+1),
       4g+3 the one without (4g); the test's references move into them. */
    for (int g = 0; g < TYPES; g += 4) {
        objs[g + 2]->a = objs[g + 1];
        objs[g + 3]->a = objs[g];
        objs[g] = objs[g + 1] = NULL;
    }
    for (int i = 0; i < TYPES; i++)
        if (objs[i])
            rcgc_decref(objs[i]);
    CHECK_EQ(destroyed, want_destroyed);
    CHECK_EQ(log.fin_calls, TYPES / 4);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* ------------------------------------------------------------------------- */
/* Objects without traverse are never tracked                                */
/* ------------------------------------------------------------------------- */

static void test_untracked_type(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    rcgc_disable(h);
    size_t counts[3];
    size_t ld = 0;

    node *n = new_node(h, NULL);
    rcgc_get_count(h, counts);
    CHECK_EQ(counts[0], 1);                /* containers count */

    leaf *l = rcgc_new(h, &leaf_type);
    CHECK(l != NULL);
    if (!n || !l) { rcgc_heap_free(h); return; }
    l->destroyed = &ld;
    CHECK(!rcgc_is_tracked(l));
    rcgc_get_count(h, counts);
    CHECK_EQ(counts[0], 1);                /* a non-container does not */
    rcgc_track(l);                         /* no traverse: no-op */
    CHECK(!rcgc_is_tracked(l));
    rcgc_untrack(l);
    CHECK(!rcgc_is_tracked(l));
    CHECK_EQ(occurrences(h, -1, l), 0);
    CHECK_EQ(rcgc_get_objects(h, -1, find_fn, &(find_state){ NULL, 0, 0 }), 1);

    /* a container referring to the leaf: the leaf is a referent, but it is
       not a GC object and takes no part in collections */
    rcgc_set(&n->a, l);
    CHECK_EQ(rcgc_refcount(l), 2);
    find_state fs = { l, 0, 0 };
    rcgc_get_referents(n, find_fn, &fs);
    CHECK_EQ(fs.hits, 1);
    CHECK_EQ(fs.calls, 1);
    fs = (find_state){ NULL, 0, 0 };
    rcgc_get_referents(l, find_fn, &fs);   /* no traverse: no referents */
    CHECK_EQ(fs.calls, 0);

    rcgc_set(&n->b, n);                    /* cycle n -> n, n -> leaf */
    rcgc_decref(l);
    rcgc_decref(n);
    CHECK_EQ(ld, 0);
    CHECK_EQ(rcgc_collect(h, 2), 1);       /* only the container is counted */
    CHECK_EQ(ld, 1);                       /* the leaf died by refcount */

    /* allocating and freeing leaves never moves count0 */
    for (int i = 0; i < 2000; i++) {
        leaf *t = rcgc_new(h, &leaf_type);
        CHECK(t != NULL);
        if (t) rcgc_decref(t);
    }
    rcgc_get_count(h, counts);
    CHECK_EQ(counts[0], 0);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* An automatic collection is never triggered by non-containers: 10,000 leaves
   with threshold 1 run no collection. */
static void test_leaves_never_trigger_collection(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    cb_counter cc = { 0, 0 };
    CHECK_EQ(rcgc_callback_add(h, count_cb, &cc), 0);
    rcgc_set_threshold(h, 1, 10, 10);
    leaf **keep = malloc(10000 * sizeof *keep);
    CHECK(keep != NULL);
    if (!keep) { rcgc_heap_free(h); return; }
    for (int i = 0; i < 10000; i++) {
        keep[i] = rcgc_new(h, &leaf_type);
        CHECK(keep[i] != NULL);
    }
    CHECK_EQ(cc.starts, 0);
    for (int i = 0; i < 10000; i++)
        if (keep[i]) rcgc_decref(keep[i]);
    free(keep);
    CHECK_EQ(cc.starts, 0);
    rcgc_heap_free(h);
}

/* A usable size is at least the size asked for and at most one size-class
   step (a quarter, or 16 bytes for the smallest classes) above it. */
static int size_fits(size_t usable, size_t asked)
{
    return usable >= asked && usable <= asked + asked / 4 + 16;
}

/* ------------------------------------------------------------------------- */
/* rcgc_type_of / rcgc_size_of / rcgc_heap_of, payloads, sizes               */
/* ------------------------------------------------------------------------- */

static void test_type_size_heap_of(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    rcgc_heap *h2 = rcgc_heap_new(NULL);
    CHECK(h != NULL && h2 != NULL);
    if (!h || !h2) { rcgc_heap_free(h); rcgc_heap_free(h2); return; }
    node *n = new_node(h, NULL);
    leaf *l = rcgc_new(h2, &leaf_type);
    void *b = rcgc_new_sized(h, &blob_type, 1000);
    node *big = rcgc_new_sized(h2, &node_type, sizeof(node) + 123);
    CHECK(l != NULL && b != NULL && big != NULL);
    if (n && l && b && big) {
        CHECK(rcgc_type_of(n) == &node_type);
        CHECK(rcgc_type_of(l) == &leaf_type);
        CHECK(rcgc_type_of(b) == &blob_type);
        CHECK(rcgc_type_of(big) == &node_type);
        CHECK(size_fits(rcgc_size_of(n), sizeof(node)));
        CHECK(size_fits(rcgc_size_of(l), sizeof(leaf)));
        CHECK(size_fits(rcgc_size_of(b), 1000));
        CHECK(size_fits(rcgc_size_of(big), sizeof(node) + 123));
        CHECK(rcgc_heap_of(n) == h);
        CHECK(rcgc_heap_of(b) == h);
        CHECK(rcgc_heap_of(l) == h2);
        CHECK(rcgc_heap_of(big) == h2);
        CHECK(rcgc_is_tracked(big));       /* new_sized containers are tracked */
        CHECK(!rcgc_is_tracked(b));
        CHECK_EQ(rcgc_refcount(b), 1);
        CHECK_EQ(rcgc_refcount(big), 1);
    }
    CHECK(rcgc_new(h, NULL) == NULL);
    CHECK(rcgc_new_sized(h, NULL, 16) == NULL);
    rcgc_heap *fresh = rcgc_heap_new(NULL);   /* no type cached yet */
    CHECK(fresh != NULL);
    if (fresh) {
        CHECK(rcgc_new(fresh, NULL) == NULL);
        CHECK_EQ(live_objects(fresh), 0);
        rcgc_heap_free(fresh);
    }
    CHECK(rcgc_version() == RCGC_VERSION);
    rcgc_heap_free(h);
    rcgc_heap_free(h2);
    rcgc_heap_free(NULL);                  /* no-op */
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

/* Payload zeroed at every size, including sizes that reuse freed blocks
   (filled with 0xA5 before they were freed); rcgc_size_of reports the usable
   size (at least the size asked for, all of it zeroed); the payload is
   writable to its last byte and aligned for the void * fields it is meant to
   hold. */
static void test_sizes_and_zeroed_payload(void)
{
    static const size_t sizes[] = {
        0, 1, 2, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40, 48, 56, 63, 64, 65, 96,
        100, 127, 128, 129, 200, 255, 256, 257, 500, 511, 512, 513, 1000, 1024,
        2000, 2048, 3000, 4000, 4096, 5000, 8000, 8192, 10000, 16384, 32768,
        40000, 65536, 100000, 262144, 1u << 20, 10u << 20
    };
    const size_t nsizes = sizeof sizes / sizeof sizes[0];
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    size_t size_mismatches = 0;
    for (int round = 0; round < 3; round++) {
        void *objs[sizeof sizes / sizeof sizes[0]];
        for (size_t i = 0; i < nsizes; i++) {
            objs[i] = rcgc_new_sized(h, &blob_type, sizes[i]);
            CHECK(objs[i] != NULL);
            if (!objs[i]) continue;
            size_t usable = rcgc_size_of(objs[i]);
            if (!size_fits(usable, sizes[i]) && size_mismatches++ < 5)
                fprintf(stderr, "rcgc_size_of: %zu for an object made with %zu bytes\n", usable, sizes[i]);
            CHECK_EQ(rcgc_refcount(objs[i]), 1);
            CHECK_EQ((uintptr_t)objs[i] % sizeof(void *), 0);
            if (!all_zero(objs[i], usable))
                fprintf(stderr, "payload of %zu bytes not zeroed (round %d)\n", sizes[i], round);
            CHECK(all_zero(objs[i], usable));
            memset(objs[i], 0xA5, usable);
            memset(objs[i], (int)(i + 1), sizes[i]);  /* a pattern of its own */
        }
        CHECK_EQ(live_objects(h), nsizes);
        /* they do not overlap: each still holds its own pattern */
        for (size_t i = 0; i < nsizes; i++) {
            if (!objs[i]) continue;
            const unsigned char *p = objs[i];
            size_t bad = 0;
            for (size_t k = 0; k < sizes[i]; k++)
                bad += p[k] != (unsigned char)(i + 1);
            CHECK_EQ(bad, 0);
        }
        for (size_t i = 0; i < nsizes; i++)
            if (objs[i]) rcgc_decref(objs[i]);
        CHECK_EQ(live_objects(h), 0);
    }
    CHECK_EQ(size_mismatches, 0);
    /* many small containers of one size, dirtied, freed and reallocated
       (the blocks are reused): zeroed again */
    for (int round = 0; round < 3; round++) {
        enum { N = 5000 };
        dirty **ds = malloc(N * sizeof *ds);
        CHECK(ds != NULL);
        if (!ds) break;
        size_t not_zero = 0;
        for (int i = 0; i < N; i++) {
            ds[i] = rcgc_new(h, &dirty_type);
            CHECK(ds[i] != NULL);
            if (!ds[i]) continue;
            if (!all_zero((const unsigned char *)ds[i], sizeof(dirty)))
                not_zero++;
            memset(ds[i]->bytes, 0xA5, sizeof ds[i]->bytes);
        }
        CHECK_EQ(not_zero, 0);
        for (int i = 0; i < N; i++)
            if (ds[i]) rcgc_decref(ds[i]);
        free(ds);
    }
    rcgc_heap_free(h);
}

/* The rounding rcgc_size_of documents, for every payload size of a small
   block: a block (payload and header: 16 bytes, 32 in the debug build) is a
   multiple of 16 bytes; up to 512 bytes it is the next multiple of 16, with
   16 bytes of payload at least, above it wastes less than an eighth of
   itself; a larger payload never gets less room; a block over 8192 bytes is
   a large object. */
static void test_size_class_rounding(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    const size_t header = sizeof(rcgc__head);
    size_t prev_usable = 0, bad = 0;
    for (size_t n = 0; n + header <= 8192 + 16; n++) {
        void *b = rcgc_new_sized(h, &blob_type, n);
        CHECK(b != NULL);
        if (!b) break;
        size_t usable = rcgc_size_of(b), block = usable + header;
        rcgc_memory_stats ms;
        rcgc_get_memory_stats(h, &ms);
        int ok = usable >= n && usable >= prev_usable && ms.objects == 1;
        if (n + header <= 8192) {
            ok = ok && block % 16 == 0 && ms.large_objects == 0;
            if (n + header <= 512)
                ok = ok && (n ? usable - n < 16 : usable == 16);
            else
                ok = ok && (block - (n + header)) * 8 < block;
        } else {
            ok = ok && ms.large_objects == 1;
        }
        if (!ok && bad++ < 5)
            fprintf(stderr, "payload %zu: rcgc_size_of %zu\n", n, usable);
        prev_usable = usable;
        rcgc_decref(b);
    }
    CHECK_EQ(bad, 0);
    rcgc_heap_free(h);
}

/* rcgc_new_sized and rcgc_new_sized_untracked against rcgc_new and
   rcgc_new_untracked: two heaps run the same random steps, one making its
   containers with the first two at random payload sizes (at least the
   type's), the other with the last two; between them, leaves of random sizes
   change the type allocated last. The collections must come at the same
   steps and find the same garbage (generation counts and statistics after
   every step), every payload must be zeroed to its last usable byte
   (rcgc_size_of, which rounds as documented) though blocks are reused
   dirty, and a payload smaller than the size of a type with fields is
   refused without counting, also when that type was allocated last. */
static void test_sized_like_new(void)
{
    enum { STEPS = 40000, SLOTS = 64 };
    rcgc_heap *h[2] = { rcgc_heap_new(NULL), rcgc_heap_new(NULL) };
    CHECK(h[0] != NULL && h[1] != NULL);
    if (!h[0] || !h[1]) { rcgc_heap_free(h[0]); rcgc_heap_free(h[1]); return; }
    void *held[2][SLOTS] = { { NULL } };
    const size_t fine = 512 - sizeof(rcgc__head);  /* the largest payload of a class in steps of 16 */
    uint32_t state = 88172645u;
    size_t not_zero = 0, wrong_size = 0, differ = 0, tried = 0, refused = 0;
    for (int k = 0; k < 2; k++) {
        rcgc_set_threshold(h[k], 23, 4, 3);
        CHECK_EQ(rcgc_set_type_fields(h[k], &plain_node_type, node_fields, 4), 0);
    }
    for (int step = 0; step < STEPS; step++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        uint32_t r = state, slot = r % SLOTS, other = (r >> 6) % SLOTS, op = (r >> 12) % 8;
        size_t bytes = sizeof(node) + (r >> 15) % (r & 1 ? 3000 : fine + 40 - sizeof(node));
        for (int k = 0; k < 2; k++) {
            void **mine = held[k];
            if (op < 4) {
                bool untracked = op == 3;
                void *o = k == 0 ? (untracked ? rcgc_new_sized_untracked(h[k], &plain_node_type, bytes)
                                              : rcgc_new_sized(h[k], &plain_node_type, bytes))
                                 : (untracked ? rcgc_new_untracked(h[k], &plain_node_type)
                                              : rcgc_new(h[k], &plain_node_type));
                CHECK(o != NULL);
                if (!o) continue;
                size_t want = k == 0 ? bytes : sizeof(node);
                size_t usable = rcgc_size_of(o);
                wrong_size += usable < want || (want <= fine && usable - want >= 16);
                not_zero += !all_zero(o, usable);
                memset((char *)o + sizeof(node), 0xA5, usable - sizeof(node));
                if (mine[slot] && (r >> 24) % 4 != 0)
                    ((node *)o)->a = mine[slot];    /* the reference moves into the new object */
                else if (mine[slot])
                    rcgc_decref(mine[slot]);
                mine[slot] = o;
                if (k == 0 && step % 7 == 0) {
                    /* plain_node_type is the type allocated last */
                    size_t small = (r >> 20) % sizeof(node);
                    size_t before[3], after[3];
                    rcgc_get_count(h[k], before);
                    tried++;
                    refused += rcgc_new_sized(h[k], &plain_node_type, small) == NULL;
                    rcgc_get_count(h[k], after);
                    CHECK(memcmp(before, after, sizeof before) == 0);
                }
            } else if (op == 4) {
                size_t n = (r >> 15) % (fine + 40);
                void *blob = rcgc_new_sized(h[k], &blob_type, n);
                CHECK(blob != NULL);
                if (!blob) continue;
                size_t usable = rcgc_size_of(blob);
                wrong_size += usable < n || (n <= fine && usable - n >= 16 && n);
                not_zero += !all_zero(blob, usable);
                memset(blob, 0xA5, usable);
                rcgc_decref(blob);
            } else if (op == 5 && mine[slot] && mine[other]) {
                node *n = mine[slot];
                void **field = (&n->a) + ((r >> 20) & 3);
                rcgc_set(field, (r >> 22) % 4 == 0 ? mine[slot] : mine[other]);
            } else if (op == 6 && mine[slot]) {
                rcgc_decref(mine[slot]);
                mine[slot] = NULL;
            } else if (op == 7 && step % 64 == 7) {
                rcgc_collect(h[k], (int)((r >> 20) % 3));
            }
        }
        size_t c0[3], c1[3];
        rcgc_gen_stats s0[3], s1[3];
        rcgc_get_count(h[0], c0);
        rcgc_get_count(h[1], c1);
        rcgc_get_stats(h[0], s0);
        rcgc_get_stats(h[1], s1);
        if ((memcmp(c0, c1, sizeof c0) != 0 || memcmp(s0, s1, sizeof s0) != 0) && differ++ < 3)
            fprintf(stderr, "step %d: counts %zu %zu %zu / %zu %zu %zu, collections of generation 0 %zu / %zu\n", step,
                    c0[0], c0[1], c0[2], c1[0], c1[1], c1[2], s0[0].collections, s1[0].collections);
    }
    rcgc_gen_stats s[3];
    rcgc_get_stats(h[0], s);
    CHECK(s[0].collections > 100 && s[1].collections > 10 && s[2].collections > 3);
    CHECK(s[0].collected + s[1].collected + s[2].collected > 100);
    CHECK_EQ(differ, 0);
    CHECK_EQ(not_zero, 0);
    CHECK_EQ(wrong_size, 0);
    CHECK(tried > 1000);
    CHECK_EQ(refused, tried);
    for (int k = 0; k < 2; k++)
        rcgc_heap_free(h[k]);
}

/* Types allocated in turn and at random, each allocation of another type
   than the last one (rcgc_new's and rcgc_new_sized's way through
   type_switch), while new types are registered and the type hash grows: each
   object has its type, at least its size, a zeroed payload though blocks are
   reused dirty, and a container is tracked and counted in generation 0. */
static void test_types_in_turn(void)
{
    enum { NTYPES = 24, WINDOW = 500, STEPS = 60000 };
    static const size_t sizes[] = { 0, 8, 16, 24, 40, 100, 200, 496, 500, 600, 5000, 20000 };
    rcgc_type types[NTYPES];
    char names[NTYPES][8];
    for (int i = 0; i < NTYPES; i++) {
        snprintf(names[i], sizeof names[i], "t%d", i);
        types[i] = (rcgc_type){ names[i], sizes[i % 12], i % 3 == 0 ? dirty_traverse : NULL, NULL, NULL };
        if (i % 3 == 0 && types[i].size < sizeof(dirty))
            types[i].size = sizeof(dirty);
    }
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    rcgc_disable(h);
    void *objs[WINDOW] = { NULL };
    size_t wrong_type = 0, wrong_size = 0, not_zero = 0, wrong_tracking = 0, containers = 0;
    uint32_t state = 2654435761u;
    for (int step = 0; step < STEPS; step++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        /* first the types in turn, more of them as the run goes on; then at random */
        int used = 2 + step * (NTYPES - 2) / (STEPS / 2);
        int t = step < STEPS / 2 ? step % (used < NTYPES ? used : NTYPES) : (int)(state % NTYPES);
        const rcgc_type *type = &types[t];
        bool sized = (state >> 8) % 4 == 0;
        size_t want = type->size + (sized ? (state >> 12) % 64 : 0);
        void *o = sized ? rcgc_new_sized(h, type, want) : rcgc_new(h, type);
        CHECK(o != NULL);
        if (!o) break;
        int k = step % WINDOW;
        if (objs[k]) {
            containers -= rcgc_type_of(objs[k])->traverse != NULL;
            rcgc_decref(objs[k]);
        }
        objs[k] = o;
        containers += type->traverse != NULL;
        size_t usable = rcgc_size_of(o);
        wrong_type += rcgc_type_of(o) != type;
        wrong_size += usable < want;
        not_zero += !all_zero(o, usable);
        wrong_tracking += rcgc_is_tracked(o) != (type->traverse != NULL);
        if (type->traverse)
            memset(((dirty *)o)->bytes, 0xA5, usable - offsetof(dirty, bytes));
        else
            memset(o, 0xA5, usable);
        size_t count[3];
        rcgc_get_count(h, count);
        wrong_tracking += count[0] != containers;
    }
    CHECK_EQ(wrong_type, 0);
    CHECK_EQ(wrong_size, 0);
    CHECK_EQ(not_zero, 0);
    CHECK_EQ(wrong_tracking, 0);
    CHECK_EQ(live_objects(h), WINDOW);
    for (int k = 0; k < WINDOW; k++)
        rcgc_decref(objs[k]);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* Objects made without payload, over several pages: each one's pointer (its
   payload's start) lies in its own block, so rcgc_heap_of finds its heap
   even for the last block of a page, and each has 16 bytes to use. */
static void test_payload_zero(void)
{
    enum { N = 20000 };
    rcgc_heap *h = rcgc_heap_new(NULL);
    void **objs = calloc(N, sizeof *objs);
    CHECK(h != NULL && objs != NULL);
    if (!h || !objs) { rcgc_heap_free(h); free(objs); return; }
    size_t wrong_heap = 0, wrong_size = 0;
    for (int i = 0; i < N; i++) {
        objs[i] = rcgc_new(h, &blob_type);
        CHECK(objs[i] != NULL);
        if (!objs[i]) break;
        wrong_heap += rcgc_heap_of(objs[i]) != h;
        wrong_size += rcgc_size_of(objs[i]) != 16;
    }
    rcgc_memory_stats ms;
    rcgc_get_memory_stats(h, &ms);
    CHECK(ms.pages > 1);
    CHECK_EQ(wrong_heap, 0);
    CHECK_EQ(wrong_size, 0);
    for (int i = 0; i < N; i++)
        if (objs[i])
            rcgc_decref(objs[i]);
    CHECK_EQ(live_objects(h), 0);
    free(objs);
    rcgc_heap_free(h);
}

/* Objects of 16 payload bytes spread over several pages (64 KiB each,
   aligned) are all released in a shuffled order and made again: an emptied
   page other than the one its class allocates from serves its blocks again
   from the lowest address up, as a new page does, not in the order the
   objects died. */
static void test_emptied_page_in_address_order(void)
{
    static const rcgc_type small_type = { "small", 16, NULL, NULL, NULL };
    enum { N = 8000 };
    rcgc_heap *h = rcgc_heap_new(NULL);
    void **objs = malloc(N * sizeof *objs);
    CHECK(h != NULL && objs != NULL);
    if (!h || !objs) { rcgc_heap_free(h); free(objs); return; }
    for (int i = 0; i < N; i++) {
        objs[i] = rcgc_new(h, &small_type);
        CHECK(objs[i] != NULL);
        if (!objs[i]) { rcgc_heap_free(h); free(objs); return; }
    }
    uint32_t seed = 12345;
    for (int i = N - 1; i > 0; i--) {
        seed = seed * 1103515245u + 12345u;
        int j = (int)((seed >> 8) % (uint32_t)(i + 1));
        void *t = objs[i];
        objs[i] = objs[j];
        objs[j] = t;
    }
    for (int i = 0; i < N; i++)
        rcgc_decref(objs[i]);
    uintptr_t first_page = 0, page = 0, last = 0;
    size_t pages = 0, out_of_order = 0;
    int made = 0;
    while (made < N) {
        void *o = rcgc_new(h, &small_type);
        CHECK(o != NULL);
        if (!o) break;
        objs[made++] = o;
        uintptr_t a = (uintptr_t)o, pg = a >> 16;
        if (made == 1)
            first_page = pg;
        if (pg == first_page)
            continue;                       /* the page the class allocates from */
        if (pg != page) {
            page = pg;
            pages++;
        } else if (a <= last) {
            out_of_order++;
        }
        last = a;
    }
    CHECK(pages >= 2);
    CHECK_EQ(out_of_order, 0);
    for (int i = 0; i < made; i++)
        rcgc_decref(objs[i]);
    CHECK_EQ(live_objects(h), 0);
    free(objs);
    rcgc_heap_free(h);
}

/* A size class keeps one empty page, its spare, so that allocating and
   freeing a page's worth in a loop does not return and take pages each
   time. Four pages of 16-byte objects, the class allocating from the fourth:
   the second, emptied, stays (the heap's page count does not move); used
   again until the class moves on to a new page, then emptied again while
   the class allocates from that new page, it stays again: the class has no
   other empty page. */
static size_t heap_pages(rcgc_heap *h)
{
    rcgc_memory_stats ms;
    rcgc_get_memory_stats(h, &ms);
    return ms.pages;
}

static void free_objects_on_page(void **objs, size_t n, uintptr_t page)
{
    for (size_t i = 0; i < n; i++) {
        if (objs[i] && (uintptr_t)objs[i] >> 16 == page) {
            rcgc_decref(objs[i]);
            objs[i] = NULL;
        }
    }
}

static void test_class_keeps_a_spare_page(void)
{
    static const rcgc_type small_type = { "small", 16, NULL, NULL, NULL };
    enum { MAX = 20000 };
    rcgc_heap *h = rcgc_heap_new(NULL);
    void **objs = calloc(MAX, sizeof *objs);
    CHECK(h != NULL && objs != NULL);
    if (!h || !objs) { rcgc_heap_free(h); free(objs); return; }
    uintptr_t seen[4];
    size_t n = 0, nseen = 0;
    while (nseen < 4 && n < MAX) {
        void *o = rcgc_new(h, &small_type);
        CHECK(o != NULL);
        if (!o) break;
        objs[n++] = o;
        if (!nseen || seen[nseen - 1] != (uintptr_t)o >> 16)
            seen[nseen++] = (uintptr_t)o >> 16;
    }
    CHECK_EQ(nseen, 4);
    size_t before = heap_pages(h);
    free_objects_on_page(objs, n, seen[1]);
    CHECK_EQ(heap_pages(h), before);
    bool reused = false;
    while (n < MAX) {
        void *o = rcgc_new(h, &small_type);
        CHECK(o != NULL);
        if (!o) break;
        objs[n++] = o;
        uintptr_t pg = (uintptr_t)o >> 16;
        if (pg == seen[1])
            reused = true;
        else if (reused && pg != seen[3])
            break;                          /* a new page serves the class */
    }
    CHECK(reused);
    before = heap_pages(h);
    free_objects_on_page(objs, n, seen[1]);
    CHECK_EQ(heap_pages(h), before);
    for (size_t i = 0; i < n; i++)
        rcgc_xdecref(objs[i]);
    free(objs);
    rcgc_heap_free(h);
}

/* Large objects: live and freed counts in the memory statistics, and the
   request that cannot be satisfied returns NULL and leaves the heap usable. */
static void test_large_objects(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    rcgc_memory_stats ms;
    rcgc_get_memory_stats(h, &ms);
    CHECK_EQ(ms.objects, 0);
    CHECK_EQ(ms.large_objects, 0);
    CHECK_EQ(ms.object_bytes, 0);

    unsigned char *big = rcgc_new_sized(h, &blob_type, 10u << 20);
    unsigned char *mid = rcgc_new_sized(h, &blob_type, 1u << 20);
    CHECK(big != NULL && mid != NULL);
    rcgc_get_memory_stats(h, &ms);
    CHECK_EQ(ms.objects, 2);
    CHECK(ms.large_objects >= 1);
    CHECK(ms.object_bytes >= (10u << 20) + (1u << 20));
    CHECK(ms.system_bytes >= ms.object_bytes);
    if (big) {
        big[0] = 1;
        big[(10u << 20) - 1] = 2;
        rcgc_decref(big);
    }
    if (mid) rcgc_decref(mid);
    rcgc_get_memory_stats(h, &ms);
    CHECK_EQ(ms.objects, 0);
    CHECK_EQ(ms.large_objects, 0);
    CHECK_EQ(ms.object_bytes, 0);

    /* impossible sizes: NULL, no crash, no overflow */
    CHECK(rcgc_new_sized(h, &blob_type, SIZE_MAX) == NULL);
    CHECK(rcgc_new_sized(h, &blob_type, SIZE_MAX - 15) == NULL);
    CHECK(rcgc_new_sized(h, &blob_type, SIZE_MAX / 2) == NULL);
    CHECK(rcgc_new_sized(h, &node_type, (size_t)1 << 62) == NULL);
    size_t counts[3];
    rcgc_get_count(h, counts);
    CHECK_EQ(counts[0], 0);                /* the failed container allocation did not count */
    rcgc_get_memory_stats(h, &ms);
    CHECK_EQ(ms.objects, 0);

    /* still usable */
    node *n = new_node(h, NULL);
    if (n) {
        rcgc_set(&n->a, n);
        rcgc_decref(n);
        CHECK_EQ(rcgc_collect(h, 2), 1);
    }
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* ------------------------------------------------------------------------- */
/* Heaps                                                                     */
/* ------------------------------------------------------------------------- */

static size_t system_bytes(const rcgc_heap *h)
{
    rcgc_memory_stats ms;
    rcgc_get_memory_stats(h, &ms);
    return ms.system_bytes;
}

/* Allocates n leaves into objs; returns how many it got. */
static size_t make_leaves(rcgc_heap *h, leaf **objs, size_t n)
{
    size_t made = 0;
    for (size_t i = 0; i < n; i++) {
        objs[i] = rcgc_new(h, &leaf_type);
        made += objs[i] != NULL;
    }
    return made;
}

static void drop_leaves(leaf **objs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rcgc_xdecref(objs[i]);
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A chunk whose last object is freed stays with the heap: the next objects
   reuse it without asking the memory source for more. It goes back at the
   end of the first collection 100 ms or more after it emptied, or at once
   with rcgc_trim. */
static void test_empty_chunks_kept(void)
{
    enum { N = 200000 };               /* 32-byte blocks: 6.4 MB, four chunks */
    leaf **objs = malloc(sizeof *objs * N);
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL && objs != NULL);
    if (!h || !objs) { free(objs); rcgc_heap_free(h); return; }
    size_t empty = system_bytes(h);

    CHECK_EQ(make_leaves(h, objs, N), N);
    size_t full = system_bytes(h);
    CHECK(full >= empty + (size_t)N * 32);
    drop_leaves(objs, N);
    CHECK_EQ(system_bytes(h), full);       /* kept: no collection ran */

    CHECK_EQ(make_leaves(h, objs, N), N);
    CHECK_EQ(system_bytes(h), full);       /* the same chunks again */
    double dropped = seconds_now();
    drop_leaves(objs, N);
    CHECK_EQ(rcgc_collect(h, 0), 0);
    if (seconds_now() - dropped < 0.1)     /* (a slow tool may take longer) */
        CHECK_EQ(system_bytes(h), full);   /* emptied less than 100 ms ago: kept */

    struct timespec wait = { 0, 150 * 1000 * 1000 };
    nanosleep(&wait, NULL);
    CHECK_EQ(rcgc_collect(h, 0), 0);
    size_t after = system_bytes(h);
    /* the chunks went back, but for at most two: those of the page the size
       class allocates from and of the empty page it keeps (2 MiB each; the
       tables grew by less than 64 KiB) */
    CHECK(after < full);
    CHECK(after <= empty + 2 * ((size_t)2 << 20) + ((size_t)64 << 10));

    CHECK_EQ(make_leaves(h, objs, N), N);
    CHECK_EQ(system_bytes(h), full);
    drop_leaves(objs, N);
    rcgc_trim(h);
    size_t trimmed = system_bytes(h);
    CHECK(trimmed < after);
    CHECK(trimmed < empty + ((size_t)1 << 20));   /* no chunk left: one is 2 MiB */
    rcgc_trim(h);                          /* nothing left to give back */
    CHECK_EQ(system_bytes(h), trimmed);

    rcgc_heap_free(h);
    free(objs);
}

/* The region of a freed large object stays with the heap for the next large
   object that fits it (its size, or up to a fifth less), which takes the
   same address with its payload zeroed though the last one was written to
   its end; a much smaller object takes a region of its own. The regions kept
   hold 32 MiB at most; they go back at the end of the first collection
   100 ms or more after they were kept, or at once with rcgc_trim, and with
   the heap. */
static void test_large_regions_kept(void)
{
    enum { MANY = 40 };
    rcgc_heap *h = rcgc_heap_new(NULL);
    CHECK(h != NULL);
    if (!h) return;
    size_t empty = system_bytes(h);

    unsigned char *a = rcgc_new_sized(h, &blob_type, 100000);
    CHECK(a != NULL);
    if (!a) { rcgc_heap_free(h); return; }
    size_t one = system_bytes(h);
    CHECK(one >= empty + 100000);
    memset(a, 0xA5, rcgc_size_of(a));
    void *where = a;
    rcgc_decref(a);
    CHECK_EQ(system_bytes(h), one);            /* kept: no collection ran */
    unsigned char *b = rcgc_new_sized(h, &blob_type, 90000);
    CHECK(b == where);
    CHECK(b != NULL && rcgc_size_of(b) >= 90000 && all_zero(b, rcgc_size_of(b)));
    CHECK_EQ(system_bytes(h), one);
    if (b) {
        memset(b, 0x5A, rcgc_size_of(b));
        rcgc_decref(b);
    }
    void *c = rcgc_new_sized(h, &blob_type, 20000);     /* half the region: not that one */
    CHECK(c != NULL && c != where);
    CHECK(system_bytes(h) > one);
    rcgc_decref(c);

    /* 40 regions of a little over 1 MiB; 32 MiB of them are kept */
    void *objs[MANY];
    size_t before = system_bytes(h);
    for (int i = 0; i < MANY; i++) {
        objs[i] = rcgc_new_sized(h, &blob_type, (size_t)1 << 20);
        CHECK(objs[i] != NULL);
        if (!objs[i]) { rcgc_heap_free(h); return; }
    }
    size_t peak = system_bytes(h);
    size_t region = (peak - before) / MANY;
    CHECK(region > (size_t)1 << 20 && region < (size_t)5 << 18);
    for (int i = 0; i < MANY; i++)
        rcgc_decref(objs[i]);
    size_t kept = ((size_t)32 << 20) / region;
    /* the two small regions kept before come first */
    size_t dropped = system_bytes(h);
    CHECK(dropped <= peak - (MANY - kept) * region);
    CHECK(dropped >= peak - (MANY - kept + 2) * region);
    for (int i = 0; i < MANY; i++) {
        objs[i] = rcgc_new_sized(h, &blob_type, (size_t)1 << 20);
        CHECK(objs[i] != NULL);
        if (!objs[i]) { rcgc_heap_free(h); return; }
    }
    CHECK_EQ(system_bytes(h), peak);           /* the kept regions, and new ones for the rest */
    for (int i = 0; i < MANY; i++)
        rcgc_decref(objs[i]);

    double freed = seconds_now();
    CHECK_EQ(rcgc_collect(h, 0), 0);
    if (seconds_now() - freed < 0.1)           /* (a slow tool may take longer) */
        CHECK(system_bytes(h) > empty + ((size_t)30 << 20));
    struct timespec wait = { 0, 150 * 1000 * 1000 };
    nanosleep(&wait, NULL);
    CHECK_EQ(rcgc_collect(h, 0), 0);
    size_t after = system_bytes(h);
    CHECK(after < empty + ((size_t)64 << 10));   /* all gone back; the tables grew */

    void *d = rcgc_new_sized(h, &blob_type, 100000);
    CHECK(d != NULL);
    rcgc_decref(d);
    CHECK(system_bytes(h) >= after + 100000);
    rcgc_trim(h);
    CHECK_EQ(system_bytes(h), after);
    d = rcgc_new_sized(h, &blob_type, 100000);
    rcgc_decref(d);                             /* kept, and released with the heap */
    rcgc_heap_free(h);
}

#if defined(__linux__) && defined(MADV_HUGEPAGE)
/* 1 if the mapping that holds addr has the kernel's flag for the advice
   MADV_HUGEPAGE ("hg" in /proc/self/smaps), 0 if not, -1 if smaps cannot
   tell. */
static int advised_huge(const void *addr)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    int inside = 0, found = -1;
    uintptr_t a = (uintptr_t)addr;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {     /* a mapping's first line */
            inside = a >= lo && a < hi;
        } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            found = strstr(line, " hg") != NULL;
            break;
        }
    }
    fclose(f);
    return found;
}

/* Whether this kernel shows the advice in smaps at all: a mapping of our own,
   advised, must show it. */
static bool advice_visible(void)
{
    size_t len = (size_t)4 << 20;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return false;
    char *aligned = (char *)(((uintptr_t)p + ((uintptr_t)2 << 20) - 1) & ~(((uintptr_t)2 << 20) - 1));
    bool visible = madvise(aligned, (size_t)2 << 20, MADV_HUGEPAGE) == 0 && advised_huge(aligned) == 1 &&
                   advised_huge(p + len - 1) == 0;
    munmap(p, len);
    return visible;
}

/* The default memory source asks for transparent huge pages only for a heap
   made with rcgc_config.huge_pages, and then only for the chunks it maps once
   it holds 8 MiB: the first chunk keeps small pages, and the chunk of the last
   of 12 MiB of leaves is advised. A heap with the default settings advises
   none. */
static void test_huge_pages_only_when_asked(void)
{
    if (!advice_visible()) {
        printf("  (skipped: this kernel does not show MADV_HUGEPAGE in /proc/self/smaps)\n");
        return;
    }
    enum { CAP = 4096 };                /* 4000-byte leaves: 16 MB */
    leaf **objs = malloc(sizeof *objs * CAP);
    CHECK(objs != NULL);
    if (!objs) return;
    for (int asked = 0; asked <= 1; asked++) {
        rcgc_config c = { 0 };
        c.huge_pages = asked;
        rcgc_heap *h = rcgc_heap_new(&c);
        CHECK(h != NULL);
        if (!h) break;
        size_t n = 0;
        while (n < CAP && system_bytes(h) < ((size_t)12 << 20) &&
               (objs[n] = rcgc_new_sized(h, &leaf_type, 4000)) != NULL)
            n++;
        CHECK(system_bytes(h) >= ((size_t)12 << 20));
        if (n) {
            CHECK_EQ(advised_huge(objs[0]), 0);
            CHECK_EQ(advised_huge(objs[n - 1]), asked);
        }
        drop_leaves(objs, n);
        rcgc_heap_free(h);
    }
    free(objs);
}
#endif

/* rcgc_heap_free releases every object, running destroy: live objects,
   cycles, chains, leaves, small and large (in regions of their own), and
   gives every region back to the memory source with its size. */
static void test_heap_free_releases_everything(void)
{
    fault_mem fm;
    fm_init(&fm, 0, 0);
    rcgc_config cfg = fm_config(&fm);
    rcgc_heap *h = rcgc_heap_new(&cfg);
    CHECK(h != NULL);
    if (!h) return;
    rcgc_disable(h);                       /* the dropped cycles stay until the end */
    size_t destroyed = 0, ld = 0;
    size_t made = 0, leaves = 0;
    for (int i = 0; i < 3000; i++) {
        /* Every 500th object has a region of its own (a large object). */
        size_t extra = i % 500 == 0 ? 100000 : 0;
        node *a = rcgc_new_sized(h, &node_type, sizeof(node) + extra);
        CHECK(a != NULL);
        if (!a) continue;
        a->destroyed = &destroyed;
        made++;
        if (i % 3 == 0) {                  /* self-cycle, dropped */
            rcgc_set(&a->a, a);
            rcgc_decref(a);
        } else if (i % 3 == 1) {           /* kept, never released by the test */
            node *b = new_node(h, &destroyed);
            if (b) {
                made++;
                link_pair(a, b);        /* a <-> b, still held through a */
                rcgc_decref(b);
            }
        }                                  /* else: a live object, leaked on purpose */
        leaf *l = rcgc_new_sized(h, &leaf_type, sizeof(leaf) + extra);
        if (l) { l->destroyed = &ld; leaves++; }
    }
    CHECK_EQ(made, 4000);
    CHECK_EQ(leaves, 3000);
    CHECK_EQ(memory_stats(h).large_objects, 12);
    CHECK_EQ(destroyed, 0);
    rcgc_heap_free(h);
    CHECK_EQ(destroyed, made);
    CHECK_EQ(ld, 3000);
    CHECK_EQ(fm.outstanding_bytes, 0);
    CHECK_EQ(fm.nregions, 0);
    CHECK_EQ(fm.bad_frees, 0);
    fm_release(&fm);
}

/* Many heaps at once: independent objects, counts, thresholds, collections;
   freed in an order different from creation. */
static void test_many_heaps(void)
{
    enum { H = 64, PER = 200 };
    rcgc_heap *heaps[H];
    size_t destroyed[H];
    node *keep[H];
    for (int i = 0; i < H; i++) {
        heaps[i] = rcgc_heap_new(NULL);
        CHECK(heaps[i] != NULL);
        destroyed[i] = 0;
        keep[i] = NULL;
    }
    for (int i = 0; i < H; i++) {
        if (!heaps[i]) continue;
        rcgc_disable(heaps[i]);
        rcgc_set_threshold(heaps[i], 100 + (size_t)i, 5 + (size_t)i % 7, 3 + (size_t)i % 5);
        /* i + 1 dropped 2-cycles and one kept object per heap */
        for (int k = 0; k <= i; k++) {
            node *a = new_node(heaps[i], &destroyed[i]);
            node *b = new_node(heaps[i], &destroyed[i]);
            if (!a || !b) continue;
            orphan_pair(a, b);
        }
        keep[i] = new_node(heaps[i], &destroyed[i]);
        for (int k = 0; k < PER; k++) {    /* churn that leaves nothing behind */
            node *t = new_node(heaps[i], &destroyed[i]);
            if (t) rcgc_decref(t);
        }
    }
    for (int i = 0; i < H; i++) {
        if (!heaps[i]) continue;
        size_t t[3], c[3];
        rcgc_get_threshold(heaps[i], t);
        CHECK_EQ(t[0], 100 + (size_t)i);
        CHECK_EQ(t[1], 5 + (size_t)i % 7);
        CHECK_EQ(t[2], 3 + (size_t)i % 5);
        rcgc_get_count(heaps[i], c);
        /* 2(i+1) + 1 + PER allocations, PER deallocations */
        CHECK_EQ(c[0], 2 * (size_t)(i + 1) + 1);
        CHECK(!rcgc_isenabled(heaps[i]));
        CHECK(rcgc_heap_of(keep[i]) == heaps[i]);
        CHECK_EQ(destroyed[i], PER);
    }
    /* collect in reverse order: each finds its own cycles only */
    for (int i = H - 1; i >= 0; i--) {
        if (!heaps[i]) continue;
        CHECK_EQ(rcgc_collect(heaps[i], 2), 2 * (i + 1));
        CHECK_EQ(destroyed[i], PER + 2 * (size_t)(i + 1));
        CHECK_EQ(live_objects(heaps[i]), 1);
    }
    /* free the even heaps first, then the odd ones */
    for (int pass = 0; pass < 2; pass++)
        for (int i = pass; i < H; i += 2) {
            if (!heaps[i]) continue;
            rcgc_heap_free(heaps[i]);
            CHECK_EQ(destroyed[i], PER + 2 * (size_t)(i + 1) + 1);
        }
}

int main(void)
{
    TEST(test_article_refcount_example);
    TEST(test_article_destroy_before_end);
    TEST(test_article_cycle_destroyed_by_collector);
    TEST(test_cycle_destroyed_at_heap_free);
    TEST(test_release_cascades);
    TEST(test_release_order_wide);
    TEST(test_release_order_last_field_chain);
    TEST(test_release_order_two_field_chain);
    TEST(test_release_two_fields_block_reused);
    TEST(test_release_one_field_chain);
    TEST(test_release_after_fields_change);
    TEST(test_release_untracked_plain_tree);
    TEST(test_new_of_large_type);
    TEST(test_set_semantics);
    TEST(test_set_releases_after_store);
    TEST(test_immortal);
    TEST(test_many_types_of_each_kind);
    TEST(test_untracked_type);
    TEST(test_leaves_never_trigger_collection);
    TEST(test_type_size_heap_of);
    TEST(test_sizes_and_zeroed_payload);
    TEST(test_size_class_rounding);
    TEST(test_sized_like_new);
    TEST(test_types_in_turn);
    TEST(test_payload_zero);
    TEST(test_emptied_page_in_address_order);
    TEST(test_large_objects);
    TEST(test_empty_chunks_kept);
    TEST(test_large_regions_kept);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    TEST(test_huge_pages_only_when_asked);
    TEST(test_class_keeps_a_spare_page);
#endif
    TEST(test_heap_free_releases_everything);
    TEST(test_many_heaps);
    return check_summary();
}
