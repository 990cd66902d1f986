/*
 * Allocation failure at every allocation of a scenario (issue 3). The heap's
 * memory comes from a memory source (common.h) that wraps the C library and
 * fails its Nth call (and, in a second pass, every call from the Nth on), for
 * N = 1, 2, ... until the scenario runs without reaching call N. The
 * scenario builds rings of containers (several thousand objects), small and
 * large leaves and weak references, lets automatic collections run, collects,
 * drops, and allocates again. Every failure must come back as NULL from
 * rcgc_heap_new / rcgc_new / rcgc_new_sized / rcgc_new_untracked /
 * rcgc_new_sized_untracked / rcgc_weakref_new or -1 from rcgc_callback_add;
 * nothing crashes; the heap stays usable (exact collection results and
 * live-object counts afterwards); every region is given back with the size
 * it was asked for, and nothing is outstanding after rcgc_heap_free.
 */
#include "rcgc.h"
#include "common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* The scenario                                                              */
/* ------------------------------------------------------------------------- */

enum {
    RINGS = 1000,               /* rings of RLEN containers */
    RLEN = 4,
    MAX_LEAVES = RINGS,
    MAX_MEDIUM = RINGS / 20 + 1,
    MAX_BIGS = RINGS / 100 + 1,
    MAX_WEAK = RINGS / 25 + 1,
    CHURN = 3000
};

static const size_t big_sizes[] = { 20000, 70000, 150000, 300000, 1u << 20 };

/* What the failure-free run must have built. */
typedef struct rings_state {
    size_t built_rings;
} rings_state;

static void scenario(oom_run *o, void *arg)
{
    rings_state *st = arg;
    st->built_rings = 0;
    rcgc_config cfg = fm_config(o->fm);
    rcgc_heap *h = rcgc_heap_new(&cfg);
    if (!h) {
        o->reported++;
        return;
    }
    cb_counter cs = { 0, 0 };
    int cb_added = rcgc_callback_add(h, count_cb, &cs) == 0;
    if (!cb_added) o->reported++;
    rcgc_set_threshold(h, 300, 4, 4);      /* automatic collections of every generation */

    size_t destroyed = 0;
    node *rings[RINGS];
    size_t nrings = 0, ring_nodes_made = 0;
    void *leaves[MAX_LEAVES], *mediums[MAX_MEDIUM], *bigs[MAX_BIGS];
    size_t nleaves = 0, nmediums = 0, nbigs = 0;
    void *weak[MAX_WEAK];
    size_t weak_ring[MAX_WEAK];
    size_t nweak = 0;

    /* Phase 1: build */
    for (size_t r = 0; r < RINGS; r++) {
        node *n[RLEN];
        size_t k = 0;
        for (; k < RLEN; k++) {
            /* containers of 32 sizes, so that many pages are needed; one
               ring in four made untracked and tracked at once, which must
               come to the same */
            size_t bytes = sizeof(node) + (r / 2 % 32) * 40;
            if (r % 4 == 1)
                n[k] = rcgc_new_untracked(h, &node_type);
            else if (r % 4 == 2)
                n[k] = rcgc_new_sized_untracked(h, &node_type, bytes);
            else
                n[k] = r % 2 ? rcgc_new(h, &node_type) : rcgc_new_sized(h, &node_type, bytes);
            if (!n[k]) { o->reported++; break; }
            if (r % 4 == 1 || r % 4 == 2)
                rcgc_track(n[k]);
            n[k]->destroyed = &destroyed;
            ring_nodes_made++;
        }
        if (k < RLEN) {                    /* unlinked: they die at once */
            for (size_t i = 0; i < k; i++) rcgc_decref(n[i]);
            continue;
        }
        for (size_t i = 0; i < RLEN; i++)
            rcgc_set(&n[i]->a, n[(i + 1) % RLEN]);
        rcgc_set(&n[0]->b, n[2]);
        for (size_t i = 1; i < RLEN; i++)
            rcgc_decref(n[i]);
        rings[nrings++] = n[0];
        if (nleaves < MAX_LEAVES) {        /* small leaves, 1 to 4000 bytes */
            void *l = rcgc_new_sized(h, &blob_type, (r * 4099) % 4000 + 1);
            if (l) leaves[nleaves++] = l;
            else o->reported++;
        }
        if (r % 20 == 0 && nmediums < MAX_MEDIUM) {   /* just over the small sizes */
            void *m = rcgc_new_sized(h, &blob_type, 8200 + (r % 5) * 3000);
            if (m) mediums[nmediums++] = m;
            else o->reported++;
        }
        if (r % 100 == 0 && nbigs < MAX_BIGS) {
            void *b = rcgc_new_sized(h, &blob_type, big_sizes[(r / 100) % (sizeof big_sizes / sizeof big_sizes[0])]);
            if (b) bigs[nbigs++] = b;
            else o->reported++;
        }
        if (r % 25 == 0 && nweak < MAX_WEAK) {
            void *w = rcgc_weakref_new(n[0], NULL, NULL);
            if (w) { weak[nweak] = w; weak_ring[nweak] = nrings - 1; nweak++; }
            else o->reported++;
        }
    }
    st->built_rings = nrings;
    size_t destroyed_expected = ring_nodes_made - nrings * RLEN;
    OOM_CHECK_EQ(o, "destroyed after build", destroyed, destroyed_expected);
    OOM_CHECK_EQ(o, "live after build", live_objects(h), nrings * RLEN + nleaves + nmediums + nbigs + nweak);

    /* Phase 2: everything is reachable */
    OOM_CHECK_EQ(o, "collect(0) while held", rcgc_collect(h, 0), 0);
    OOM_CHECK_EQ(o, "collect(2) while held", rcgc_collect(h, 2), 0);

    /* Phase 3: drop every other ring */
    size_t dropped = 0;
    for (size_t i = 1; i < nrings; i += 2) {
        rcgc_decref(rings[i]);
        rings[i] = NULL;
        dropped++;
    }
    OOM_CHECK_EQ(o, "collect(2) of dropped rings", rcgc_collect(h, 2), dropped * RLEN);
    destroyed_expected += dropped * RLEN;
    OOM_CHECK_EQ(o, "destroyed after collect", destroyed, destroyed_expected);
    for (size_t i = 0; i < nweak; i++) {
        void *target = rcgc_weakref_get(weak[i]);
        int alive = rings[weak_ring[i]] != NULL;
        OOM_CHECK_EQ(o, "weakref target", target != NULL, alive);
        if (target) {
            OOM_CHECK_EQ(o, "weakref target is the ring", target == (void *)rings[weak_ring[i]], 1);
            rcgc_decref(target);
        }
    }
    OOM_CHECK_EQ(o, "live after collect",
              live_objects(h), (nrings - dropped) * RLEN + nleaves + nmediums + nbigs + nweak);

    /* Phase 4: the heap is usable: churn and new cycles */
    size_t churn_cycles = 0;
    for (size_t i = 0; i < CHURN; i++) {
        node *a = rcgc_new(h, &node_type);
        if (!a) { o->reported++; continue; }
        a->destroyed = &destroyed;
        destroyed_expected++;
        if (i % 3 == 0) {
            rcgc_set(&a->a, a);
            churn_cycles++;
        }
        rcgc_decref(a);
    }
    /* automatic collections may have found some of the churn cycles already */
    ptrdiff_t c = rcgc_collect(h, 2);
    OOM_CHECK_EQ(o, "destroyed after churn", destroyed, destroyed_expected);
    oom_check(o, c >= 0 && (size_t)c <= churn_cycles, "collect after churn",
              (long long)c, (long long)churn_cycles);

    /* Phase 5: drop everything */
    for (size_t i = 0; i < nweak; i++) rcgc_decref(weak[i]);
    for (size_t i = 0; i < nleaves; i++) rcgc_decref(leaves[i]);
    for (size_t i = 0; i < nmediums; i++) rcgc_decref(mediums[i]);
    for (size_t i = 0; i < nbigs; i++) rcgc_decref(bigs[i]);
    for (size_t i = 0; i < nrings; i++)
        if (rings[i]) rcgc_decref(rings[i]);
    OOM_CHECK_EQ(o, "final collect", rcgc_collect(h, 2), (nrings - dropped) * RLEN);
    destroyed_expected += (nrings - dropped) * RLEN;
    OOM_CHECK_EQ(o, "destroyed at the end", destroyed, destroyed_expected);
    OOM_CHECK_EQ(o, "live at the end", live_objects(h), 0);
    if (cb_added) {
        OOM_CHECK_EQ(o, "callback balance", cs.starts, cs.stops);
        oom_check(o, cs.starts >= 5, "callback calls >= 5", (long long)cs.starts, 5);
    } else {
        OOM_CHECK_EQ(o, "callback not added, calls", cs.starts, 0);
    }
    rcgc_heap_free(h);
}

/* Without failures: the scenario completes, builds every ring and crosses
   many requests for memory. */
static void test_baseline(void)
{
    rings_state st;
    size_t calls = oom_baseline("rings", scenario, &st);
    CHECK_EQ(st.built_rings, RINGS);
    CHECK(calls >= 50);
}

static void test_fail_each_call_once(void)
{
    rings_state st;
    oom_fail_each("rings", scenario, &st, 0);
}

static void test_fail_from_each_call_on(void)
{
    rings_state st;
    oom_fail_each("rings", scenario, &st, 1);
}

/* The very first call fails: rcgc_heap_new returns NULL, nothing is left. */
static void test_heap_new_fails(void)
{
    fault_mem fm;
    fm_init(&fm, 1, 1);
    rcgc_config cfg = fm_config(&fm);
    rcgc_heap *h = rcgc_heap_new(&cfg);
    CHECK(h == NULL);
    CHECK(fm.calls >= 1);
    CHECK_EQ(fm.outstanding_bytes, 0);
    rcgc_heap_free(h);
    fm_release(&fm);
}

/* A heap whose hook gives out nothing after creation: every container and
   leaf allocation returns NULL, collections still run, the heap is freed. */
static void test_nothing_after_creation(void)
{
    fault_mem fm;
    fm_init(&fm, 0, 1);
    rcgc_config cfg = fm_config(&fm);
    rcgc_heap *h = rcgc_heap_new(&cfg);
    CHECK(h != NULL);
    if (!h) { fm_release(&fm); return; }
    fm.fail_at = fm.calls + 1;             /* fail everything from now on */
    size_t got = 0, nulls = 0;
    void *objs[100];
    for (int i = 0; i < 100; i++) {
        objs[i] = rcgc_new_sized(h, &blob_type, 1u << 20);   /* needs a new region each */
        if (objs[i]) got++;
        else nulls++;
    }
    CHECK_EQ(got, 0);
    CHECK_EQ(nulls, 100);
    size_t counts[3];
    rcgc_get_count(h, counts);
    CHECK_EQ(counts[0], 0);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
    CHECK_EQ(fm.outstanding_bytes, 0);
    CHECK_EQ(fm.bad_frees, 0);
    fm_release(&fm);
}

int main(void)
{
    TEST(test_heap_new_fails);
    TEST(test_nothing_after_creation);
    TEST(test_baseline);
    TEST(test_fail_each_call_once);
    TEST(test_fail_from_each_call_on);
    return check_summary();
}
