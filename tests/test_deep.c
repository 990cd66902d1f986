/*
 * Deep structures on a small C stack (issue 3): on a thread created with a
 * 256 KiB stack, dropping the head of a 10,000,000-long chain, the root of a
 * 10,000,000-node complete binary tree and the root of a 10,000,000-node comb
 * (a 5,000,000-long spine, each spine node with a leaf child) releases every
 * node (each destroy runs once) without recursion; full collections of these
 * structures while they are alive, and of a 10,000,000-node ring as garbage
 * (the collector's first clear starts a 10,000,000-deep release cascade),
 * work on the same stack. A comb of plain containers (no destroy), whose
 * release skips the release queue until its own small stack overflows, is
 * dropped the same way. Memory statistics return to zero objects.
 * RCGC_TEST_SCALE (common.h) shrinks the 10,000,000 for slow tools.
 *
 * CPython's counterpart is the trashcan (cpython-gc.md 3.3, test_trashcan).
 */
#define _POSIX_C_SOURCE 200809L

#include "rcgc.h"
#include "common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { SMALL_STACK = 256 * 1024 };

/* Nodes per structure: 10,000,000, or fewer under RCGC_TEST_SCALE (even,
   for the comb). */
static size_t deep_n;

typedef struct chainlink {
    void *next;
    size_t *destroyed;
} chainlink;

static void link_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    chainlink *l = obj;
    visit(&l->next, arg);
}

static void link_destroy(void *obj)
{
    chainlink *l = obj;
    (*l->destroyed)++;
}

static const rcgc_type link_type = { "link", sizeof(chainlink), link_traverse, NULL, link_destroy };

typedef struct tnode {
    void *left, *right;
    size_t *destroyed;
} tnode;

static void tnode_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    tnode *t = obj;
    visit(&t->left, arg);
    visit(&t->right, arg);
}

static void tnode_destroy(void *obj)
{
    tnode *t = obj;
    (*t->destroyed)++;
}

static const rcgc_type tnode_type = { "tnode", sizeof(tnode), tnode_traverse, NULL, tnode_destroy };

/* What a job on the small-stack thread reports back to main. */
typedef struct deep_job {
    const char *what;
    size_t made;                /* nodes built */
    size_t destroyed;           /* destroy calls */
    size_t destroyed_before;    /* destroy calls before the drop */
    ptrdiff_t collect_alive;    /* full collection while the structure is alive */
    ptrdiff_t collect_garbage;  /* full collection after the drop (ring: its garbage) */
    size_t objects_alive;       /* memory stats while alive */
    size_t objects_after;       /* memory stats after the drop */
    size_t object_bytes_after;
    size_t system_peak, system_after;
    int heap_failed;
    double seconds;
} deep_job;

static void stats_into(const rcgc_heap *h, size_t *objects, size_t *object_bytes, size_t *system)
{
    rcgc_memory_stats ms;
    memset(&ms, 0xff, sizeof ms);
    rcgc_get_memory_stats(h, &ms);
    if (objects) *objects = ms.objects;
    if (object_bytes) *object_bytes = ms.object_bytes;
    if (system) *system = ms.system_bytes;
}

/* After the drop: the chunks the objects emptied are given back at once
   (a collection keeps them for a while, for the next allocations). */
static void stats_after(rcgc_heap *h, deep_job *j)
{
    rcgc_trim(h);
    stats_into(h, &j->objects_after, &j->object_bytes_after, &j->system_after);
}

/* chain: node k -> node k-1 -> ... -> node 1; the head holds the only
   reference to the rest. With `ring`, node 1 also refers back to the head
   and the whole ring is left to the collector. */
static void *chain_job(void *arg, int ring)
{
    deep_job *j = arg;
    rcgc_heap *h = rcgc_heap_new(NULL);
    if (!h) { j->heap_failed = 1; return NULL; }
    rcgc_disable(h);
    double t0 = now_seconds();
    chainlink *head = NULL, *tail = NULL;
    for (size_t i = 0; i < deep_n; i++) {
        chainlink *n = rcgc_new(h, &link_type);
        if (!n) break;
        n->destroyed = &j->destroyed;
        n->next = head;                    /* our reference to head moves into n */
        head = n;
        if (!tail) tail = n;
        j->made++;
    }
    if (!head) { rcgc_heap_free(h); return NULL; }
    j->collect_alive = rcgc_collect(h, 2);
    stats_into(h, &j->objects_alive, NULL, &j->system_peak);
    j->destroyed_before = j->destroyed;
    if (ring) {
        rcgc_set(&tail->next, head);
        rcgc_decref(head);
        j->collect_garbage = rcgc_collect(h, 2);
    } else {
        rcgc_decref(head);
        j->collect_garbage = rcgc_collect(h, 2);
    }
    stats_after(h, j);
    rcgc_heap_free(h);
    j->seconds = now_seconds() - t0;
    return NULL;
}

static void *chain_drop_job(void *arg) { return chain_job(arg, 0); }
static void *ring_collect_job(void *arg) { return chain_job(arg, 1); }

/* A complete binary tree of `count` nodes, built recursively (its depth is
   only log2(count), 24 for 10M). */
static tnode *build_tree(rcgc_heap *h, size_t count, deep_job *j, int *failed)
{
    if (count == 0 || *failed)
        return NULL;
    tnode *t = rcgc_new(h, &tnode_type);
    if (!t) { *failed = 1; return NULL; }
    t->destroyed = &j->destroyed;
    j->made++;
    size_t left = (count - 1) / 2;
    t->left = build_tree(h, left, j, failed);
    t->right = build_tree(h, count - 1 - left, j, failed);
    return t;
}

static void *tree_drop_job(void *arg)
{
    deep_job *j = arg;
    rcgc_heap *h = rcgc_heap_new(NULL);
    if (!h) { j->heap_failed = 1; return NULL; }
    rcgc_disable(h);
    double t0 = now_seconds();
    int failed = 0;
    tnode *root = build_tree(h, deep_n, j, &failed);
    if (root) {
        j->collect_alive = rcgc_collect(h, 2);
        stats_into(h, &j->objects_alive, NULL, &j->system_peak);
        j->destroyed_before = j->destroyed;
        rcgc_decref(root);
        j->collect_garbage = rcgc_collect(h, 2);
        stats_after(h, j);
    }
    rcgc_heap_free(h);
    j->seconds = now_seconds() - t0;
    return NULL;
}

/* A comb of deep_n nodes: deep_n / 2 spine nodes, each with a leaf child.
   Spine node i has left = its leaf and right = spine node i + 1, or, with
   spine_first, left = spine node i + 1 and right = its leaf. Nodes of a type
   with destroy count it in j->destroyed. */
static tnode *build_comb(rcgc_heap *h, deep_job *j, const rcgc_type *type, int spine_first)
{
    tnode *spine = NULL;
    for (size_t i = 0; i < deep_n / 2; i++) {
        tnode *leaf = rcgc_new(h, type);
        if (!leaf) break;
        leaf->destroyed = &j->destroyed;
        j->made++;
        tnode *s = rcgc_new(h, type);
        if (!s) { rcgc_decref(leaf); break; }
        s->destroyed = &j->destroyed;
        j->made++;
        s->left = spine_first ? spine : leaf;   /* references move into s */
        s->right = spine_first ? leaf : spine;
        spine = s;
    }
    return spine;
}

static void *comb_drop_job(void *arg)
{
    deep_job *j = arg;
    rcgc_heap *h = rcgc_heap_new(NULL);
    if (!h) { j->heap_failed = 1; return NULL; }
    rcgc_disable(h);
    double t0 = now_seconds();
    tnode *spine = build_comb(h, j, &tnode_type, 0);
    if (spine) {
        j->collect_alive = rcgc_collect(h, 2);
        stats_into(h, &j->objects_alive, NULL, &j->system_peak);
        j->destroyed_before = j->destroyed;
        rcgc_decref(spine);
        j->collect_garbage = rcgc_collect(h, 2);
        stats_after(h, j);
    }
    rcgc_heap_free(h);
    j->seconds = now_seconds() - t0;
    return NULL;
}

/* The comb again, of plain containers (no destroy), which are released
   without the release queue as long as they fit in a small stack: with the
   spine first, every level leaves one more leaf waiting and the stack
   overflows into the queue. No destroy counts them: memory statistics must
   come back to zero. */
static const rcgc_type plain_type = { "plain", sizeof(tnode), tnode_traverse, NULL, NULL };

static void *plain_comb_job(void *arg)
{
    deep_job *j = arg;
    rcgc_heap *h = rcgc_heap_new(NULL);
    if (!h) { j->heap_failed = 1; return NULL; }
    rcgc_disable(h);
    double t0 = now_seconds();
    tnode *spine = build_comb(h, j, &plain_type, 1);
    if (spine) {
        stats_into(h, &j->objects_alive, NULL, &j->system_peak);
        rcgc_decref(spine);
        stats_after(h, j);
    }
    rcgc_heap_free(h);
    j->seconds = now_seconds() - t0;
    return NULL;
}

/* Runs fn(arg) on a new thread with a 256 KiB stack and waits for it. */
static int run_on_small_stack(void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    pthread_t thread;
    if (pthread_attr_init(&attr) != 0)
        return -1;
    int rc = pthread_attr_setstacksize(&attr, SMALL_STACK);
    if (rc == 0)
        rc = pthread_create(&thread, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -1;
    return pthread_join(thread, NULL) == 0 ? 0 : -1;
}

static void check_deep_job(deep_job *j, ptrdiff_t expected_garbage)
{
    CHECK_EQ(j->heap_failed, 0);
    CHECK_EQ(j->made, deep_n);
    CHECK_EQ(j->collect_alive, 0);
    CHECK_EQ(j->objects_alive, deep_n);
    CHECK_EQ(j->destroyed_before, 0);
    CHECK_EQ(j->collect_garbage, expected_garbage);
    CHECK_EQ(j->destroyed, deep_n);
    CHECK_EQ(j->objects_after, 0);
    CHECK_EQ(j->object_bytes_after, 0);
    /* memory of empty pages goes back to the system (rcgc_trim) */
    CHECK(j->system_after < j->system_peak / 2);
    printf("%s: %zu nodes, %.2f s (system bytes %zu at peak, %zu after)\n",
           j->what, j->made, j->seconds, j->system_peak, j->system_after);
}

static void test_chain_drop(void)
{
    deep_job j;
    memset(&j, 0, sizeof j);
    j.what = "chain, head dropped";
    CHECK_EQ(run_on_small_stack(chain_drop_job, &j), 0);
    check_deep_job(&j, 0);
}

static void test_tree_drop(void)
{
    deep_job j;
    memset(&j, 0, sizeof j);
    j.what = "binary tree, root dropped";
    CHECK_EQ(run_on_small_stack(tree_drop_job, &j), 0);
    check_deep_job(&j, 0);
}

static void test_comb_drop(void)
{
    deep_job j;
    memset(&j, 0, sizeof j);
    j.what = "comb tree, root dropped";
    CHECK_EQ(run_on_small_stack(comb_drop_job, &j), 0);
    check_deep_job(&j, 0);
}

static void test_plain_comb_drop(void)
{
    deep_job j;
    memset(&j, 0, sizeof j);
    CHECK_EQ(run_on_small_stack(plain_comb_job, &j), 0);
    CHECK_EQ(j.heap_failed, 0);
    CHECK_EQ(j.made, deep_n);
    CHECK_EQ(j.objects_alive, deep_n);
    CHECK_EQ(j.objects_after, 0);
    CHECK_EQ(j.object_bytes_after, 0);
    printf("comb of plain containers, root dropped: %zu nodes, %.2f s\n", j.made, j.seconds);
}

static void test_ring_collected(void)
{
    deep_job j;
    memset(&j, 0, sizeof j);
    j.what = "ring, collected";
    CHECK_EQ(run_on_small_stack(ring_collect_job, &j), 0);
    check_deep_job(&j, deep_n);
}

int main(void)
{
    deep_n = scaled(10000000, 1000) / 2 * 2;
    TEST(test_chain_drop);
    TEST(test_tree_drop);
    TEST(test_comb_drop);
    TEST(test_plain_comb_drop);
    TEST(test_ring_collected);
    return check_summary();
}
