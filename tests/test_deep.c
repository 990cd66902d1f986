/*
 * Deep structures on a small C stack (issue 3): on a thread created with a
 * 256 KiB stack, dropping the head of a 10,000,000-long chain, the root of a
 * 10,000,000-node complete binary tree and the root of a 10,000,000-node comb
 * (a 5,000,000-long spine, each spine node with a leaf child) releases every
 * node (each destroy runs once) with at most 50 releases nested on the stack
 * (the rest wait in the trash list); full collections of these structures
 * while they are alive, and of a 10,000,000-node ring as garbage (the
 * collector's first clear starts a 10,000,000-deep release cascade), work on
 * the same stack. A comb of plain containers (no destroy), released without
 * rcgc__dealloc's checks, is dropped the same way, and again with its fields
 * at known offsets, whose release keeps most of its nesting in frames of its
 * own instead of calls. Memory statistics return to zero objects.
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

typedef struct deep_job deep_job;

/* Builds a job's structure on h and returns its root, the job's only
   reference to it (NULL when nothing could be built). */
typedef void *(*deep_build_fn)(rcgc_heap *h, deep_job *j);

/* A job on the small-stack thread: what it builds and how it drops it, and
   what it reports back to main. */
struct deep_job {
    const char *what;
    deep_build_fn build;
    int collect;                /* full collections before and after the drop */
    int ring;                   /* the chain's tail refers back to its head before the drop */
    chainlink *tail;            /* the last node of a chain (build_chain) */
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
};

/* chain: node k -> node k-1 -> ... -> node 1; the head holds the only
   reference to the rest. Node 1 is kept in j->tail, for a ring. */
static void *build_chain(rcgc_heap *h, deep_job *j)
{
    chainlink *head = NULL;
    for (size_t i = 0; i < deep_n; i++) {
        chainlink *n = rcgc_new(h, &link_type);
        if (!n) break;
        n->destroyed = &j->destroyed;
        n->next = head;                    /* our reference to head moves into n */
        head = n;
        if (!j->tail) j->tail = n;
        j->made++;
    }
    return head;
}

/* A complete binary tree of `count` nodes, built recursively (its depth is
   only log2(count), 24 for 10M). */
static tnode *build_subtree(rcgc_heap *h, size_t count, deep_job *j, int *failed)
{
    if (count == 0 || *failed)
        return NULL;
    tnode *t = rcgc_new(h, &tnode_type);
    if (!t) { *failed = 1; return NULL; }
    t->destroyed = &j->destroyed;
    j->made++;
    size_t left = (count - 1) / 2;
    t->left = build_subtree(h, left, j, failed);
    t->right = build_subtree(h, count - 1 - left, j, failed);
    return t;
}

/* The complete binary tree of deep_n nodes. */
static void *build_tree(rcgc_heap *h, deep_job *j)
{
    int failed = 0;
    return build_subtree(h, deep_n, j, &failed);
}

/* A comb of deep_n nodes: deep_n / 2 spine nodes, each with a leaf child.
   Spine node i has left = its leaf and right = spine node i + 1, or, with
   spine_first, left = spine node i + 1 and right = its leaf. Nodes of a type
   with destroy count it in j->destroyed. */
static tnode *build_comb_of(rcgc_heap *h, deep_job *j, const rcgc_type *type, int spine_first)
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

/* The comb of tnodes, leaf first. */
static void *build_comb(rcgc_heap *h, deep_job *j)
{
    return build_comb_of(h, j, &tnode_type, 0);
}

/* The comb again, of plain containers (no destroy), which the release of a
   field releases itself, down to the nesting limit, where they wait in the
   trash list like the others. No destroy counts them: memory statistics must
   come back to zero. */
static const rcgc_type plain_type = { "plain", sizeof(tnode), tnode_traverse, NULL, NULL };

static void *build_plain_comb(rcgc_heap *h, deep_job *j)
{
    return build_comb_of(h, j, &plain_type, 1);
}

/* The plain comb with its two fields at known offsets (rcgc_set_type_fields),
   which the release reads itself: each spine node's release goes on with
   the next spine node, its first field, and keeps the leaf for later in a
   frame of the release's own stack, 8 levels at a time and a call between
   them, down to the nesting limit. */
static const size_t tnode_fields[2] = { offsetof(tnode, left), offsetof(tnode, right) };

static void *build_plain_comb_fields(rcgc_heap *h, deep_job *j)
{
    if (rcgc_set_type_fields(h, &plain_type, tnode_fields, 2) != 0)
        return NULL;
    return build_comb_of(h, j, &plain_type, 1);
}

/* The thread of a job: on a heap with automatic collection off, builds the
   structure, collects it while alive (j->collect), drops the root (closing
   the ring first with j->ring), collects again (j->collect), and takes the
   memory statistics while alive and after the drop. After the drop the
   chunks the objects emptied are given back at once (rcgc_trim: a
   collection keeps them for a while, for the next allocations). */
static void *deep_job_thread(void *arg)
{
    deep_job *j = arg;
    rcgc_heap *h = rcgc_heap_new(NULL);
    if (!h) { j->heap_failed = 1; return NULL; }
    rcgc_disable(h);
    double t0 = now_seconds();
    void *root = j->build(h, j);
    if (root) {
        if (j->collect)
            j->collect_alive = rcgc_collect(h, 2);
        rcgc_memory_stats alive = memory_stats(h);
        j->objects_alive = alive.objects;
        j->system_peak = alive.system_bytes;
        j->destroyed_before = j->destroyed;
        if (j->ring)
            rcgc_set(&j->tail->next, root);
        rcgc_decref(root);
        if (j->collect)
            j->collect_garbage = rcgc_collect(h, 2);
        rcgc_trim(h);
        rcgc_memory_stats after = memory_stats(h);
        j->objects_after = after.objects;
        j->object_bytes_after = after.object_bytes;
        j->system_after = after.system_bytes;
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

/* Runs the job on the small stack and checks what holds for every
   structure: all deep_n nodes built and alive, then no object and no object
   byte left after the drop. */
static void run_deep_job(deep_job *j)
{
    CHECK_EQ(run_on_small_stack(deep_job_thread, j), 0);
    CHECK_EQ(j->heap_failed, 0);
    CHECK_EQ(j->made, deep_n);
    CHECK_EQ(j->objects_alive, deep_n);
    CHECK_EQ(j->objects_after, 0);
    CHECK_EQ(j->object_bytes_after, 0);
}

/* Runs the job with its full collections (j->collect) and checks, besides
   run_deep_job's checks: nothing collected or destroyed while the structure
   is alive, expected_garbage found by the collection after the drop, every
   node destroyed once, and most of the memory given back to the system. */
static void run_collected_job(deep_job *j, ptrdiff_t expected_garbage)
{
    j->collect = 1;
    run_deep_job(j);
    CHECK_EQ(j->collect_alive, 0);
    CHECK_EQ(j->destroyed_before, 0);
    CHECK_EQ(j->collect_garbage, expected_garbage);
    CHECK_EQ(j->destroyed, deep_n);
    /* memory of empty pages goes back to the system (rcgc_trim) */
    CHECK(j->system_after < j->system_peak / 2);
    printf("%s: %zu nodes, %.2f s (system bytes %zu at peak, %zu after)\n",
           j->what, j->made, j->seconds, j->system_peak, j->system_after);
}

static void test_chain_drop(void)
{
    deep_job j = { .what = "chain, head dropped", .build = build_chain };
    run_collected_job(&j, 0);
}

static void test_tree_drop(void)
{
    deep_job j = { .what = "binary tree, root dropped", .build = build_tree };
    run_collected_job(&j, 0);
}

static void test_comb_drop(void)
{
    deep_job j = { .what = "comb tree, root dropped", .build = build_comb };
    run_collected_job(&j, 0);
}

static void test_plain_comb_drop(void)
{
    deep_job j = { .what = "comb of plain containers, root dropped", .build = build_plain_comb };
    run_deep_job(&j);
    printf("%s: %zu nodes, %.2f s\n", j.what, j.made, j.seconds);
}

static void test_plain_comb_fields_drop(void)
{
    deep_job j = { .what = "comb of plain containers with known fields, root dropped",
                   .build = build_plain_comb_fields };
    run_deep_job(&j);
    printf("%s: %zu nodes, %.2f s\n", j.what, j.made, j.seconds);
}

/* The chain closed into a ring and dropped: the collector's first clear
   starts a deep_n-deep release cascade. */
static void test_ring_collected(void)
{
    deep_job j = { .what = "ring, collected", .build = build_chain, .ring = 1 };
    run_collected_job(&j, (ptrdiff_t)deep_n);
}

int main(void)
{
    deep_n = scaled(10000000, 1000) / 2 * 2;
    TEST(test_chain_drop);
    TEST(test_tree_drop);
    TEST(test_comb_drop);
    TEST(test_plain_comb_drop);
    TEST(test_plain_comb_fields_drop);
    TEST(test_ring_collected);
    return check_summary();
}
