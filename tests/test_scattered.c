/*
 * Full collections of a scattered heap, with and without the table of links
 * (rcgc_config.no_scratch, collect.c's move_unreachable_linked): the same
 * program on three heaps must see the same events in the same order.
 *
 * The program makes 100,000 objects and then replaces random ones for a
 * while, each new object referring to up to two random live ones, and one
 * in three referred to by a random live one; one in eight heads a ring of 2
 * to 7 objects. One in four new items gets a dot, an object made without
 * payload that only the item holds, so that collections park dots and many
 * die in the cycles' garbage. The generation lists lose their address
 * order, and cycles of every age form and die. Some objects have a
 * finalizer, which now and then resurrects its object, and a destroy; weak
 * references with callbacks watch some others. Automatic collection stays
 * on, and every 20,000 replacements the program runs a full collection and
 * lists generation 2. Each heap's events go into a hash:
 * finalizer, destroy and callback calls with the object's number, the
 * results of rcgc_collect, and the numbers of generation 2's objects in
 * list order.
 *
 *   default     the table is borrowed: the test checks that its full
 *               collections asked the memory source for memory
 *   no_scratch  rcgc_config.no_scratch: they asked for none
 *   refused     a memory source that refuses every request made during a
 *               collection: the collections go on without the table
 *
 * Size: 100,000 objects and 300,000 replacements, the replacements scaled
 * by RCGC_TEST_SCALE (common.h, at least 60,000).
 */
#include "rcgc.h"
#include "common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { LIVE = 100000, ROUND = 20000, WATCHED = 64 };

typedef struct world world;

typedef struct item {
    void *ref[2];
    world *w;
    uint32_t id;
} item;

struct world {
    rcgc_heap *h;
    uint64_t hash, events;
    uint64_t rng;
    void *risen;                /* the object a finalizer resurrected last */
    void *watch[WATCHED];       /* weak references owned by the test */
    bool collecting;            /* between a collection's START and STOP */
    size_t asked_in_gc;         /* memory requests made while collecting */
    size_t refused;             /* of those, refused (the refused heap) */
    bool refuse_in_gc;
};

static void note(world *w, uint64_t what, uint64_t value)
{
    uint64_t x = what << 56 ^ value;
    for (int i = 0; i < 8; i++) {
        w->hash ^= (x >> (8 * i)) & 0xff;
        w->hash *= 0x100000001b3ull;
    }
    w->events++;
}

static uint32_t next_random(world *w)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return (uint32_t)(w->rng >> 16);
}

static void item_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    item *n = obj;
    visit(&n->ref[0], arg);
    visit(&n->ref[1], arg);
}

static void item_finalize(void *obj)
{
    item *n = obj;
    note(n->w, 1, n->id);
    if (n->id % 5 == 0) {
        void *old = n->w->risen;
        rcgc_incref(n);
        n->w->risen = n;
        if (old)
            rcgc_decref(old);
    }
}

static void item_destroy(void *obj)
{
    item *n = obj;
    note(n->w, 2, n->id);
}

static const rcgc_type plain_type = { "plain", sizeof(item), item_traverse, NULL, NULL };
static const rcgc_type hooked_type = { "hooked", sizeof(item), item_traverse, item_finalize, item_destroy };
static const size_t item_fields[] = { offsetof(item, ref[0]), offsetof(item, ref[1]) };

static void dot_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    (void)obj;
    (void)visit;
    (void)arg;
}

/* A container without payload. */
static const rcgc_type dot_type = { "dot", 0, dot_traverse, NULL, NULL };

static void on_callback(void *weakref, void *data)
{
    (void)weakref;
    world *w = data;
    note(w, 3, 0);
}

static void on_collection(rcgc_heap *h, rcgc_phase phase, const rcgc_gc_info *info, void *data)
{
    (void)h;
    world *w = data;
    w->collecting = phase == RCGC_PHASE_START;
    if (phase == RCGC_PHASE_STOP)
        note(w, 4, (uint64_t)info->generation << 32 | info->collected);
}

static void *counting_alloc(void *ctx, size_t size, size_t align)
{
    world *w = ctx;
    if (w->collecting) {
        w->asked_in_gc++;
        if (w->refuse_in_gc) {
            w->refused++;
            return NULL;
        }
    }
    return aligned_alloc(align < sizeof(void *) ? sizeof(void *) : align, (size + align - 1) & ~(align - 1));
}

static void counting_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    (void)size;
    free(p);
}

/* Generation 2 holds the weak references and the dots too, which are
   numbered 0. */
static void list_gen2(void *obj, void *arg)
{
    const rcgc_type *t = rcgc_type_of(obj);
    note(arg, 5, t == &plain_type || t == &hooked_type ? ((item *)obj)->id + 1 : 0);
}

static item *make_item(world *w, item **live, uint32_t id)
{
    const rcgc_type *t = id % 7 == 0 ? &hooked_type : &plain_type;
    item *n = rcgc_new(w->h, t);
    if (!n)
        return NULL;
    n->w = w;
    n->id = id;
    for (int k = 0; k < 2; k++) {
        item *target = live[next_random(w) % LIVE];
        if (target && next_random(w) % 3 == 0)
            rcgc_set(&n->ref[k], target);
    }
    return n;
}

/* Gives a dot to n: n holds the only reference to it. */
static void give_dot(world *w, item *n)
{
    if (!n)
        return;
    void *d = rcgc_new(w->h, &dot_type);
    CHECK(d != NULL);
    if (!d)
        return;
    rcgc_set(&n->ref[next_random(w) % 2], d);
    rcgc_decref(d);
}

/* Runs the program on a heap made with cfg; w->hash and w->events sum it up. */
static void run(world *w, const rcgc_config *cfg, long replacements)
{
    w->hash = 0xcbf29ce484222325ull;
    w->events = 0;
    w->rng = 0x9e3779b97f4a7c15ull;
    w->h = rcgc_heap_new(cfg);
    CHECK(w->h != NULL);
    if (!w->h)
        return;
    CHECK_EQ(rcgc_set_type_fields(w->h, &plain_type, item_fields, 2), 0);
    CHECK_EQ(rcgc_callback_add(w->h, on_collection, w), 0);
    item **live = calloc(LIVE, sizeof *live);
    CHECK(live != NULL);
    if (!live)
        return;
    uint32_t id = 0;
    for (int i = 0; i < LIVE; i++) {
        live[i] = make_item(w, live, id++);
        if (i % 4 == 0)
            give_dot(w, live[i]);
    }
    for (long k = 0; k < replacements; k++) {
        uint32_t i = next_random(w) % LIVE;
        item *n = make_item(w, live, id++);
        CHECK(n != NULL);
        if (k % 4 == 0)
            give_dot(w, n);
        if (n && next_random(w) % 8 == 0) {
            item *last = n;
            for (uint32_t j = 1 + next_random(w) % 6; j > 0; j--) {
                item *m = make_item(w, live, id++);
                CHECK(m != NULL);
                rcgc_set(&last->ref[0], m);
                rcgc_decref(m);
                last = m;
            }
            rcgc_set(&last->ref[0], n);
        }
        if (live[i])
            rcgc_decref(live[i]);
        live[i] = n;
        if (next_random(w) % 3 == 0) {
            item *old = live[next_random(w) % LIVE];
            rcgc_set(&old->ref[next_random(w) % 2], n);
        }
        if (k % 97 == 0) {
            void **wr = &w->watch[next_random(w) % WATCHED];
            if (*wr)
                rcgc_decref(*wr);
            *wr = rcgc_weakref_new(live[next_random(w) % LIVE], on_callback, w);
        }
        if (k % ROUND == ROUND - 1) {
            note(w, 6, (uint64_t)rcgc_collect(w->h, 2));
            rcgc_get_objects(w->h, 2, list_gen2, w);
        }
    }
    for (int i = 0; i < LIVE; i++)
        if (live[i])
            rcgc_decref(live[i]);
    for (int i = 0; i < WATCHED; i++)
        if (w->watch[i]) {
            rcgc_decref(w->watch[i]);
            w->watch[i] = NULL;
        }
    /* A finalizer may resurrect its object in the last collections, or
       while the release of the one before runs: each runs once, so this
       ends. */
    do {
        void *risen = w->risen;
        w->risen = NULL;
        if (risen)
            rcgc_decref(risen);
        note(w, 6, (uint64_t)rcgc_collect(w->h, 2));
    } while (w->risen);
    free(live);
    rcgc_memory_stats ms;
    rcgc_get_memory_stats(w->h, &ms);
    CHECK_EQ(ms.objects, 0);
    rcgc_heap_free(w->h);
}

static void test_same_events(void)
{
    long replacements = (long)scaled(300000, 3 * ROUND);
    static world def, lean, refused;
    rcgc_config cfg = { 0 };
    cfg.memory = (rcgc_memory){ counting_alloc, counting_free, &def };
    run(&def, &cfg, replacements);
    cfg.memory.ctx = &lean;
    cfg.no_scratch = 1;
    run(&lean, &cfg, replacements);
    cfg.memory.ctx = &refused;
    cfg.no_scratch = 0;
    refused.refuse_in_gc = true;
    run(&refused, &cfg, replacements);

    printf("events %llu; memory asked during collections: %zu (default), %zu (no_scratch), %zu refused\n",
           (unsigned long long)def.events, def.asked_in_gc, lean.asked_in_gc, refused.refused);
    CHECK(def.asked_in_gc > 0);
    CHECK_EQ(lean.asked_in_gc, 0);
    CHECK(refused.refused > 0);
    CHECK_EQ(def.events, lean.events);
    CHECK_EQ(def.events, refused.events);
    CHECK(def.hash == lean.hash);
    CHECK(def.hash == refused.hash);
}

int main(void)
{
    TEST(test_same_events);
    return check_summary();
}
