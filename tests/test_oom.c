/*
 * Allocation failure at every allocation of a scenario (issue 3). The heap's
 * memory comes from an rcgc_config hook that wraps the C library and fails
 * its Nth call (and, in a second pass, every call from the Nth on), for
 * N = 1, 2, ... until the scenario runs without reaching call N. The
 * scenario builds rings of containers (several thousand objects), small and
 * large leaves and weak references, lets automatic collections run, collects,
 * drops, and allocates again. Every failure must come back as NULL from
 * rcgc_heap_new / rcgc_new / rcgc_new_sized / rcgc_weakref_new or -1 from
 * rcgc_callback_add; nothing crashes; the heap stays usable (exact collection
 * results and live-object counts afterwards); every region is given back
 * with the size it was asked for, and nothing is outstanding after
 * rcgc_heap_free.
 */
#include "rcgc.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* The failing memory hook                                                   */
/* ------------------------------------------------------------------------- */

typedef struct region {
    void *p;
    size_t size;
} region;

typedef struct fault_mem {
    size_t calls;               /* alloc calls so far */
    size_t fail_at;             /* 0: never fail; else fail call number fail_at */
    int persistent;             /* and every call after it */
    size_t injected;            /* calls that returned NULL */
    size_t outstanding_bytes;
    size_t peak_bytes;
    region *regions;            /* outstanding regions (test bookkeeping, plain malloc) */
    size_t nregions, cap;
    size_t bad_align;           /* align not a power of two, or above 64 KiB */
    size_t bad_frees;           /* unknown pointer, or another size than asked */
    size_t bookkeeping_failed;
} fault_mem;

static void *fm_alloc(void *ctx, size_t size, size_t align)
{
    fault_mem *fm = ctx;
    fm->calls++;
    if (align == 0 || (align & (align - 1)) != 0 || align > 65536)
        fm->bad_align++;
    if (fm->fail_at && (fm->calls == fm->fail_at || (fm->persistent && fm->calls > fm->fail_at))) {
        fm->injected++;
        return NULL;
    }
    if (fm->nregions == fm->cap) {
        size_t cap = fm->cap ? fm->cap * 2 : 256;
        region *r = realloc(fm->regions, cap * sizeof *r);
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

static void fm_free(void *ctx, void *ptr, size_t size)
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

static void fm_init(fault_mem *fm, size_t fail_at, int persistent)
{
    memset(fm, 0, sizeof *fm);
    fm->fail_at = fail_at;
    fm->persistent = persistent;
}

static void fm_release(fault_mem *fm)
{
    for (size_t i = 0; i < fm->nregions; i++)
        free(fm->regions[i].p);            /* leaks of the library, counted already */
    free(fm->regions);
    fm->regions = NULL;
}

/* ------------------------------------------------------------------------- */
/* Objects                                                                   */
/* ------------------------------------------------------------------------- */

typedef struct node {
    void *a, *b;
    size_t *destroyed;
} node;

static void node_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    node *n = obj;
    visit(&n->a, arg);
    visit(&n->b, arg);
}

static void node_destroy(void *obj)
{
    node *n = obj;
    if (n->destroyed) (*n->destroyed)++;
}

static const rcgc_type node_type = { "node", sizeof(node), node_traverse, NULL, node_destroy };
static const rcgc_type blob_type = { "blob", 0, NULL, NULL, NULL };

typedef struct cb_state {
    size_t starts, stops;
} cb_state;

static void count_cb(rcgc_heap *h, rcgc_phase phase, const rcgc_gc_info *info, void *data)
{
    (void)h; (void)info;
    cb_state *c = data;
    if (phase == RCGC_PHASE_START) c->starts++;
    else c->stops++;
}

static size_t live_objects(const rcgc_heap *h)
{
    rcgc_memory_stats ms;
    memset(&ms, 0xff, sizeof ms);
    rcgc_get_memory_stats(h, &ms);
    return ms.objects;
}

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

typedef struct outcome {
    size_t reported;            /* failures reported by the API */
    size_t built_rings;
    int heap_null;
    int checks_failed;          /* scenario-level mismatches (printed) */
} outcome;

static int scenario_check(outcome *o, int ok, const char *what, long long got, long long expected,
                          const fault_mem *fm)
{
    if (!ok) {
        if (o->checks_failed++ < 3)
            fprintf(stderr, "fail_at %zu%s: %s: got %lld, expected %lld\n", fm->fail_at,
                    fm->persistent ? " (persistent)" : "", what, got, expected);
    }
    return ok;
}

/* Evaluates got and expected once. */
static int scheck_eq(outcome *o, const fault_mem *fm, const char *what, long long got, long long expected)
{
    return scenario_check(o, got == expected, what, got, expected, fm);
}

#define SCHECK_EQ(o, fm, what, got, expected) \
    scheck_eq((o), (fm), (what), (long long)(got), (long long)(expected))

static void scenario(fault_mem *fm, outcome *o)
{
    memset(o, 0, sizeof *o);
    rcgc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.memory.alloc = fm_alloc;
    cfg.memory.free = fm_free;
    cfg.memory.ctx = fm;
    rcgc_heap *h = rcgc_heap_new(&cfg);
    if (!h) {
        o->reported++;
        o->heap_null = 1;
        return;
    }
    cb_state cs = { 0, 0 };
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
            /* containers of 32 sizes, so that many pages are needed */
            n[k] = r % 2 ? rcgc_new(h, &node_type)
                         : rcgc_new_sized(h, &node_type, sizeof(node) + (r / 2 % 32) * 40);
            if (!n[k]) { o->reported++; break; }
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
    o->built_rings = nrings;
    size_t destroyed_expected = ring_nodes_made - nrings * RLEN;
    SCHECK_EQ(o, fm, "destroyed after build", destroyed, destroyed_expected);
    SCHECK_EQ(o, fm, "live after build", live_objects(h), nrings * RLEN + nleaves + nmediums + nbigs + nweak);

    /* Phase 2: everything is reachable */
    SCHECK_EQ(o, fm, "collect(0) while held", rcgc_collect(h, 0), 0);
    SCHECK_EQ(o, fm, "collect(2) while held", rcgc_collect(h, 2), 0);

    /* Phase 3: drop every other ring */
    size_t dropped = 0;
    for (size_t i = 1; i < nrings; i += 2) {
        rcgc_decref(rings[i]);
        rings[i] = NULL;
        dropped++;
    }
    SCHECK_EQ(o, fm, "collect(2) of dropped rings", rcgc_collect(h, 2), dropped * RLEN);
    destroyed_expected += dropped * RLEN;
    SCHECK_EQ(o, fm, "destroyed after collect", destroyed, destroyed_expected);
    for (size_t i = 0; i < nweak; i++) {
        void *target = rcgc_weakref_get(weak[i]);
        int alive = rings[weak_ring[i]] != NULL;
        SCHECK_EQ(o, fm, "weakref target", target != NULL, alive);
        if (target) {
            SCHECK_EQ(o, fm, "weakref target is the ring", target == (void *)rings[weak_ring[i]], 1);
            rcgc_decref(target);
        }
    }
    SCHECK_EQ(o, fm, "live after collect",
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
    SCHECK_EQ(o, fm, "destroyed after churn", destroyed, destroyed_expected);
    scenario_check(o, c >= 0 && (size_t)c <= churn_cycles, "collect after churn",
                   (long long)c, (long long)churn_cycles, fm);

    /* Phase 5: drop everything */
    for (size_t i = 0; i < nweak; i++) rcgc_decref(weak[i]);
    for (size_t i = 0; i < nleaves; i++) rcgc_decref(leaves[i]);
    for (size_t i = 0; i < nmediums; i++) rcgc_decref(mediums[i]);
    for (size_t i = 0; i < nbigs; i++) rcgc_decref(bigs[i]);
    for (size_t i = 0; i < nrings; i++)
        if (rings[i]) rcgc_decref(rings[i]);
    SCHECK_EQ(o, fm, "final collect", rcgc_collect(h, 2), (nrings - dropped) * RLEN);
    destroyed_expected += (nrings - dropped) * RLEN;
    SCHECK_EQ(o, fm, "destroyed at the end", destroyed, destroyed_expected);
    SCHECK_EQ(o, fm, "live at the end", live_objects(h), 0);
    if (cb_added) {
        SCHECK_EQ(o, fm, "callback balance", cs.starts, cs.stops);
        scenario_check(o, cs.starts >= 5, "callback calls >= 5", (long long)cs.starts, 5, fm);
    } else {
        SCHECK_EQ(o, fm, "callback not added, calls", cs.starts, 0);
    }
    rcgc_heap_free(h);
}

/* Runs the scenario once under fm and checks what holds whatever failed. */
static void run_checked(fault_mem *fm, outcome *o)
{
    scenario(fm, o);
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

/* Without failures: the scenario completes and crosses many hook calls. */
static size_t baseline_calls(void)
{
    fault_mem fm;
    outcome o;
    fm_init(&fm, 0, 0);
    run_checked(&fm, &o);
    CHECK_EQ(o.reported, 0);
    CHECK_EQ(o.built_rings, RINGS);
    CHECK(fm.peak_bytes > 0);
    printf("scenario without failures: %zu hook calls, peak %zu bytes\n", fm.calls, fm.peak_bytes);
    CHECK(fm.calls >= 50);
    return fm.calls;
}

static void fail_each_call(int persistent)
{
    size_t total = baseline_calls();
    size_t n, failing_runs = 0;
    for (n = 1; n <= total + 1000; n++) {
        fault_mem fm;
        outcome o;
        fm_init(&fm, n, persistent);
        int before = check_test_failed;
        check_test_failed = 0;
        run_checked(&fm, &o);
        if (check_test_failed) {
            if (failing_runs++ < 5)
                fprintf(stderr, "  ^ with the %s failure at hook call %zu\n",
                        persistent ? "persistent" : "single", n);
        } else {
            check_test_failed = before;
        }
        if (fm.calls < n)                  /* call n never came: the run had no failure */
            break;
    }
    printf("%s failure: %zu runs, %zu with problems\n",
           persistent ? "persistent" : "single", n, failing_runs);
    CHECK(n <= total + 1000);
    CHECK(n > total);                      /* the failure-free run has `total` calls */
    CHECK_EQ(failing_runs, 0);
}

static void test_baseline(void)
{
    (void)baseline_calls();
}

static void test_fail_each_call_once(void)
{
    fail_each_call(0);
}

static void test_fail_from_each_call_on(void)
{
    fail_each_call(1);
}

/* The very first call fails: rcgc_heap_new returns NULL, nothing is left. */
static void test_heap_new_fails(void)
{
    fault_mem fm;
    fm_init(&fm, 1, 1);
    rcgc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.memory.alloc = fm_alloc;
    cfg.memory.free = fm_free;
    cfg.memory.ctx = &fm;
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
    rcgc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.memory.alloc = fm_alloc;
    cfg.memory.free = fm_free;
    cfg.memory.ctx = &fm;
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
