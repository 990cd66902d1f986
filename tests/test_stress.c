/*
 * Stress: 10,000,000 objects in random graphs on one heap with automatic
 * collection on (default thresholds 700, 10, 10), then everything dropped and
 * collected; all memory must come back.
 *
 * The graphs are clusters of 1 to 48 nodes whose fields point at random
 * members of the same cluster (self-loops, rings and denser cycles), with
 * some cluster roots pointing at older clusters and some older roots pointing
 * back at newer ones (cycles across clusters). A table of 2048 roots holds
 * the live part: each new cluster replaces a random entry (the old one
 * becomes garbage, mostly cyclic) or is dropped at once. Some nodes have a
 * finalizer, some carry a leaf of 1 to 20,000 bytes (objects over 8 KiB get a
 * region of their own), and weak references with callbacks come and go.
 * A pseudo-random generator with a fixed seed makes every run the same.
 *
 * At the end: every node was destroyed once, every finalizer ran once, the
 * remaining weak references are dead, and after a last full collection the
 * heap reports no objects, no object bytes, no large objects and no pages,
 * holds at most 1 MiB from the system (its own structure and tables), and the
 * resident set size (VmRSS) is back within 4 MiB of where it started. It prints RSS at the start, its peak (VmHWM)
 * and at the end.
 *
 * Size: argv[1] (objects), else 10,000,000 * RCGC_TEST_SCALE (common.h).
 * Under valgrind (RCGC_TEST_VALGRIND set) and AddressSanitizer the RSS
 * figures include the tool's own memory and are printed, not checked.
 */
#include "rcgc.h"
#include "common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer.h"
#ifdef TEST_UNDER_ASAN
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

enum {
    ROOTS = 2048,               /* live clusters held by the table */
    WEAKS = 256,                /* live weak references held by the test */
    MAX_CLUSTER = 48,
    RSS_MARGIN_KIB = 4 * 1024
};

/* xorshift64*: deterministic, good enough for graph shapes. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static size_t rnd_below(size_t n)
{
    return (size_t)(rnd() % n);
}

/* A field of /proc/self/status in KiB ("VmRSS", "VmHWM"), 0 if unknown. */
static size_t status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    size_t len = strlen(field), v = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            v = (size_t)strtoull(line + len + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

typedef struct stress {
    rcgc_heap *h;
    evlog log;                  /* finalizers of fin nodes */
    size_t destroyed;           /* destroy calls of every node */
    void *roots[ROOTS];
    void *weak[WEAKS];
    size_t weak_cb;
    size_t objects;             /* objects made: nodes, leaves, weak references */
    size_t nodes, fin_nodes, leaves, large_leaves, weak_made;
    size_t failures;
} stress;

static void weak_cb(void *wr, void *data)
{
    (void)wr;
    (*(size_t *)data)++;
}

/* One cluster: returns its root (a new reference) or NULL when memory ran
   out (which counts as a failure). */
static node *make_cluster(stress *s)
{
    node *c[MAX_CLUSTER];
    size_t k = 1 + rnd_below(MAX_CLUSTER);
    for (size_t i = 0; i < k; i++) {
        int fin = rnd_below(16) == 0;
        c[i] = rcgc_new(s->h, fin ? &fin_type : &node_type);
        if (!c[i]) {
            s->failures++;
            while (i-- > 0)
                rcgc_decref(c[i]);
            return NULL;
        }
        c[i]->destroyed = &s->destroyed;
        c[i]->log = fin ? &s->log : NULL;
        s->nodes++;
        s->objects++;
        s->fin_nodes += fin ? 1 : 0;
        if (rnd_below(64) == 0) {
            size_t bytes = 1 + rnd_below(20000);
            void *leaf = rcgc_new_sized(s->h, &blob_type, bytes);
            if (!leaf) s->failures++;
            else {
                c[i]->d = leaf;            /* our reference moves into the node */
                s->leaves++;
                s->objects++;
                s->large_leaves += bytes > 8192 - sizeof(rcgc__head);
            }
        }
    }
    for (size_t i = 0; i < k; i++) {
        rcgc_set(&c[i]->a, c[rnd_below(k)]);
        if (rnd_below(2))
            rcgc_set(&c[i]->b, c[rnd_below(k)]);
    }
    /* the cluster's members are reachable from its root through a, as a
       chain: c[0] -> c[1] -> ... by field c */
    for (size_t i = 0; i + 1 < k; i++)
        rcgc_set(&c[i]->c, c[i + 1]);
    for (size_t i = 1; i < k; i++)
        rcgc_decref(c[i]);
    return c[0];
}

static void step(stress *s)
{
    node *root = make_cluster(s);
    if (!root)
        return;
    /* cross-cluster links, at most one out of each cluster at creation and
       one put back into an older root, so that what a root keeps alive stays
       bounded */
    if (rnd_below(4) == 0) {
        node *old = s->roots[rnd_below(ROOTS)];
        if (old) {
            node *last = root;
            while (last->c) last = last->c;
            rcgc_set(&last->c, old);       /* the end of the chain: an older cluster */
            if (rnd_below(2))
                rcgc_set(&old->b, root);   /* and back: a cycle across clusters */
        }
    }
    if (rnd_below(32) == 0) {
        void *w = rcgc_weakref_new(root, weak_cb, &s->weak_cb);
        if (!w) s->failures++;
        else {
            size_t i = rnd_below(WEAKS);
            rcgc_xdecref(s->weak[i]);
            s->weak[i] = w;
            s->weak_made++;
            s->objects++;
        }
    }
    if (rnd_below(4) == 0) {
        rcgc_decref(root);                 /* garbage at once */
    } else {
        size_t i = rnd_below(ROOTS);
        rcgc_xdecref(s->roots[i]);         /* the old cluster becomes garbage */
        s->roots[i] = root;
    }
}

static size_t objects_wanted = 10000000;

static void test_stress(void)
{
    stress *s = calloc(1, sizeof *s);
    CHECK(s != NULL);
    if (!s) return;
    size_t rss_start = status_kib("VmRSS");
    double t0 = now_seconds();
    s->h = rcgc_heap_new(NULL);
    CHECK(s->h != NULL);
    if (!s->h) { free(s); return; }
    CHECK(rcgc_isenabled(s->h));
    cb_counter cc = { 0, 0 };
    CHECK_EQ(rcgc_callback_add(s->h, count_cb, &cc), 0);
    size_t max_live = 0, steps = 0;
    while (s->objects < objects_wanted && s->failures == 0) {
        step(s);
        if ((++steps & 0x3FF) == 0) {
            size_t live = live_objects(s->h);
            if (live > max_live) max_live = live;
        }
    }
    double t_build = now_seconds() - t0;
    rcgc_memory_stats during = memory_stats(s->h);
    size_t rss_during = status_kib("VmRSS");

    for (size_t i = 0; i < ROOTS; i++) {
        rcgc_xdecref(s->roots[i]);
        s->roots[i] = NULL;
    }
    ptrdiff_t last = rcgc_collect(s->h, 2);
    CHECK(last >= 0);
    size_t weak_left = 0, weak_dead = 0;
    for (size_t i = 0; i < WEAKS; i++) {
        if (!s->weak[i]) continue;
        weak_left++;
        void *o = rcgc_weakref_get(s->weak[i]);
        weak_dead += o == NULL;
        rcgc_xdecref(o);
        rcgc_decref(s->weak[i]);
        s->weak[i] = NULL;
    }
    /* everything is dropped now: a full collection frees the pages the size
       classes kept, and rcgc_trim gives back the chunks that emptied */
    CHECK_EQ(rcgc_collect(s->h, 2), 0);
    rcgc_memory_stats kept = memory_stats(s->h);
    rcgc_trim(s->h);
    double t_all = now_seconds() - t0;
    rcgc_memory_stats end = memory_stats(s->h);
    size_t rss_end = status_kib("VmRSS");
    size_t rss_peak = status_kib("VmHWM");

    CHECK_EQ(s->failures, 0);
    CHECK(s->objects >= objects_wanted);
    CHECK_EQ(s->destroyed, s->nodes);
    CHECK_EQ(s->log.fin_calls, s->fin_nodes);
    CHECK_EQ(s->log.double_fin, 0);
    CHECK_EQ(weak_dead, weak_left);
    CHECK(s->weak_cb >= weak_left);        /* their referents died while they lived */
    CHECK(s->weak_cb <= s->weak_made);
    /* automatic collections ran: one per 700 net container allocations,
       fewer since most objects die young */
    CHECK(cc.starts > s->nodes / 2000);
    CHECK_EQ(cc.starts, cc.stops);
    CHECK_EQ(end.objects, 0);
    CHECK_EQ(end.object_bytes, 0);
    CHECK_EQ(end.large_objects, 0);
    CHECK_EQ(kept.pages, 0);
    CHECK_EQ(end.pages, 0);
    CHECK(end.system_bytes <= kept.system_bytes);
    /* what the heap still holds: its own 64 KiB structure and its tables */
    CHECK(end.system_bytes <= (size_t)1 << 20);

    printf("stress: %zu objects (%zu nodes, %zu with finalizers, %zu leaves of which %zu large, "
           "%zu weak references), %zu collections, at most %zu objects live\n",
           s->objects, s->nodes, s->fin_nodes, s->leaves, s->large_leaves, s->weak_made,
           cc.starts, max_live);
    printf("stress: %.2f s to build and drop, %.2f s in all; last full collection found %td\n",
           t_build, t_all, last);
    printf("stress: heap system bytes %zu before the final drop, %zu after (%zu pages kept)\n",
           during.system_bytes, end.system_bytes, end.pages);
    printf("stress: RSS start %zu KiB, peak %zu KiB, before the final drop %zu KiB, end %zu KiB\n",
           rss_start, rss_peak, rss_during, rss_end);

    int tool = getenv("RCGC_TEST_VALGRIND") != NULL || UNDER_ASAN;
    if (rss_start == 0 || rss_end == 0) {
        printf("stress: /proc/self/status has no VmRSS: RSS not checked\n");
    } else if (tool) {
        printf("stress: under valgrind or AddressSanitizer: RSS not checked\n");
    } else {
        if (rss_end > rss_start + RSS_MARGIN_KIB)
            fprintf(stderr, "RSS at the end %zu KiB, start %zu KiB: more than %d KiB above\n",
                    rss_end, rss_start, RSS_MARGIN_KIB);
        CHECK(rss_end <= rss_start + RSS_MARGIN_KIB);
    }
    rcgc_heap_free(s->h);
    printf("stress: RSS after rcgc_heap_free %zu KiB\n", status_kib("VmRSS"));
    free(s);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        char *end;
        unsigned long long n = strtoull(argv[1], &end, 10);
        if (*end != '\0' || n == 0) {
            fprintf(stderr, "usage: %s [objects]\n", argv[0]);
            return 2;
        }
        objects_wanted = (size_t)n;
    } else {
        objects_wanted = scaled(objects_wanted, 10000);
    }
    TEST(test_stress);
    return check_summary();
}
