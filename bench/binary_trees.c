/*
 * binary-trees, the Computer Language Benchmarks Game program: a stretch tree
 * of depth max+1, a long-lived tree of depth max, then for depth 4, 6, ... max
 * 2^(max - depth + 4) trees built bottom-up, walked to count their nodes and
 * dropped. Reports the wall time of the whole run.
 *
 * Built once per memory manager: with BENCH_RCGC the nodes are rcgc containers
 * with two reference slots, a traverse function visiting both, and the
 * collector enabled at its default thresholds; otherwise (peer.h) plain C
 * structs from malloc, mimalloc or Boehm, freed recursively where the peer
 * frees. Every node count is checked against 2^(depth+1) - 1. The rcgc build
 * also reports how many collections of each generation ran.
 *
 * The rcgc build has two variants, the two shapes of CPython's programs:
 *   rcgc          (the default) nodes as CPython's tuples: the node type is
 *                 RCGC_TYPE_IMMUTABLE, each node is made after its
 *                 children, which go straight into its slots, and its
 *                 references are visited and released right first, as a
 *                 tuple's items are, last first; collections untrack the
 *                 finished trees, as CPython's do for tuples
 *   rcgc-mutable  nodes=mutable: as a `__slots__` class, a node is made first
 *                 and its children stored into it, left then right, the
 *                 order its references are visited and released in; every
 *                 node stays tracked
 *   rcgc-shared-leaves
 *                 leaves=shared: the tuple nodes of the default, with every
 *                 leaf one object made before the run, as CPython's program
 *                 has it: its `(None, None)` is a constant of the compiled
 *                 code, so CPython allocates only the inner nodes. Not the
 *                 benchmark's program (the C peers allocate every node), but
 *                 CPython's work, for the comparison with its tuples
 *   rcgc-untracked
 *                 track=needed: the tuple nodes of the default, each made
 *                 with rcgc_new_untracked and tracked only when a child is
 *                 tracked, as CPython 3.14.1 makes a tuple of untracked
 *                 items; no node is ever tracked, and the collections,
 *                 which still run as often, find nothing to examine
 *   rcgc-huge-pages
 *                 pages=huge: the default's program on a heap made with
 *                 rcgc_config.huge_pages, which asks for transparent huge
 *                 pages behind its chunks once it holds 8 MiB (the default
 *                 until docs/performance-log.md's twenty-fourth round)
 *
 * Usage: bench_binary_trees [--tiny] [depth=N] [nodes=immutable|mutable]
 *                           [leaves=own|shared] [track=created|needed]
 *                           [pages=small|huge]
 */
#include "bench.h"

#ifdef BENCH_RCGC
#include <rcgc.h>
#define VARIANT "rcgc"
#else
#include "peer.h"
#define VARIANT PEER_NAME
#endif

typedef struct node {
    void *left, *right;
} node;

#ifdef BENCH_RCGC

/* A node as an instance of a `__slots__` class: its references are visited,
   and released when it dies, in the order of its slots. */
static void slots_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    node *n = obj;
    visit(&n->left, arg);
    visit(&n->right, arg);
}

/* A node as CPython's tuple (left, right): tupletraverse visits, and
   tupledealloc releases, a tuple's items from the last to the first. A tree
   built bottom up is then released in the reverse order of its allocation,
   blocks from the highest address down, a sweep the processor prefetches
   (see docs/api.md, rcgc_decref). */
static void tuple_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    node *n = obj;
    visit(&n->right, arg);
    visit(&n->left, arg);
}

static const rcgc_type slots_type = { "node", sizeof(node), slots_traverse, NULL, NULL };
static const rcgc_type tuple_type = { "tuple", sizeof(node), tuple_traverse, NULL, NULL };
/* Where the types keep their references, in the order of their traverse
   functions (rcgc_set_type_fields): the collector reads the fields itself
   instead of calling the traverse function. */
static const size_t slots_fields[] = { offsetof(node, left), offsetof(node, right) };
static const size_t tuple_fields[] = { offsetof(node, right), offsetof(node, left) };

typedef rcgc_heap *ctx_t;

static int mutable_nodes;
static int track_needed;        /* track=needed */
static node *shared_leaf;       /* leaves=shared: every tree's leaf */

/* A new tree: the caller owns the reference to its root. Each child's new
   reference goes straight into its parent's slot, which owns it. */
static node *made_tree(ctx_t h, int depth)
{
    if (mutable_nodes) {
        node *n = bench_check_alloc(rcgc_new(h, &slots_type));
        if (depth > 0) {
            n->left = made_tree(h, depth - 1);
            n->right = made_tree(h, depth - 1);
        }
        return n;
    }
    if (depth == 0 && shared_leaf) {
        rcgc_incref(shared_leaf);
        return shared_leaf;
    }
    node *left = NULL, *right = NULL;
    if (depth > 0) {
        left = made_tree(h, depth - 1);
        right = made_tree(h, depth - 1);
    }
    node *n = bench_check_alloc(rcgc_new(h, &tuple_type));
    n->left = left;
    n->right = right;
    return n;
}

/* track=needed: tuple nodes made untracked, each tracked only if a child is. */
static node *untracked_tree(ctx_t h, int depth)
{
    node *left = NULL, *right = NULL;
    if (depth > 0) {
        left = untracked_tree(h, depth - 1);
        right = untracked_tree(h, depth - 1);
    }
    node *n = bench_check_alloc(rcgc_new_untracked(h, &tuple_type));
    n->left = left;
    n->right = right;
    if ((left && rcgc_is_tracked(left)) || (right && rcgc_is_tracked(right)))
        rcgc_track(n);
    return n;
}

/* The variant is chosen once per tree, so that the nodes of the others are
   made by the code they had before this one existed. */
static node *bottom_up_tree(ctx_t h, int depth)
{
    return track_needed ? untracked_tree(h, depth) : made_tree(h, depth);
}

static void delete_tree(node *n)
{
    rcgc_decref(n);
}

#else

typedef int ctx_t;

static node *bottom_up_tree(ctx_t h, int depth)
{
    node *n = bench_check_alloc(peer_alloc(sizeof(node)));
    if (depth > 0) {
        n->left = bottom_up_tree(h, depth - 1);
        n->right = bottom_up_tree(h, depth - 1);
    } else {
        n->left = n->right = NULL;
    }
    return n;
}

static void delete_tree(node *n)
{
#if PEER_FREES
    if (n->left) {
        delete_tree(n->left);
        delete_tree(n->right);
    }
    peer_free(n);
#else
    (void)n;
#endif
}

#endif

static long item_check(const node *n)
{
    if (!n->left)
        return 1;
    return 1 + item_check(n->left) + item_check(n->right);
}

static void expect(long got, long iterations, int depth)
{
    long want = iterations * ((2L << depth) - 1);
    if (got != want) {
        char msg[128];
        snprintf(msg, sizeof msg, "depth %d: check %ld, expected %ld", depth, got, want);
        bench_fail("binary-trees", msg);
    }
}

static void run(ctx_t h, int max_depth)
{
    const int min_depth = 4;
    int stretch_depth = max_depth + 1;
    node *stretch = bottom_up_tree(h, stretch_depth);
    expect(item_check(stretch), 1, stretch_depth);
    delete_tree(stretch);

    node *long_lived = bottom_up_tree(h, max_depth);
    for (int depth = min_depth; depth <= max_depth; depth += 2) {
        long iterations = 1L << (max_depth - depth + min_depth), check = 0;
        for (long i = 0; i < iterations; i++) {
            node *t = bottom_up_tree(h, depth);
            check += item_check(t);
            delete_tree(t);
        }
        expect(check, iterations, depth);
    }
    expect(item_check(long_lived), 1, max_depth);
    delete_tree(long_lived);
}

int main(int argc, char **argv)
{
    bench_args a = bench_parse(argc, argv);
    int depth = (int)bench_arg_long(&a, "depth", a.tiny ? 6 : 16);
    char kase[32];
    const char *variant = VARIANT;
    ctx_t h;
    uint64_t t0, t1;

    if (depth < 6)
        depth = 6;      /* max(min_depth + 2, n) */
#ifdef BENCH_RCGC
    rcgc_config config = { 0 };
    config.huge_pages = strcmp(bench_arg_str(&a, "pages", "small"), "huge") == 0;
    h = bench_check_alloc(rcgc_heap_new(&config));
    if (rcgc_set_type_fields(h, &slots_type, slots_fields, 2) != 0 ||
        rcgc_set_type_fields(h, &tuple_type, tuple_fields, 2) != 0)
        bench_fail("binary-trees", "rcgc_set_type_fields failed");
    mutable_nodes = strcmp(bench_arg_str(&a, "nodes", "immutable"), "mutable") == 0;
    if (mutable_nodes)
        variant = "rcgc-mutable";
    else if (rcgc_set_type_flags(h, &tuple_type, RCGC_TYPE_IMMUTABLE) != 0)
        bench_fail("binary-trees", "rcgc_set_type_flags failed");
    if (strcmp(bench_arg_str(&a, "leaves", "own"), "shared") == 0) {
        if (mutable_nodes)
            bench_fail("binary-trees", "leaves=shared needs immutable nodes");
        shared_leaf = bench_check_alloc(rcgc_new(h, &tuple_type));
        variant = "rcgc-shared-leaves";
    }
    if (strcmp(bench_arg_str(&a, "track", "created"), "needed") == 0) {
        if (mutable_nodes || shared_leaf)
            bench_fail("binary-trees", "track=needed needs immutable nodes of their own leaves");
        track_needed = 1;
        variant = "rcgc-untracked";
    }
    if (config.huge_pages) {
        if (mutable_nodes || shared_leaf || track_needed)
            bench_fail("binary-trees", "pages=huge goes with the default's nodes only");
        variant = "rcgc-huge-pages";
    }
#else
    peer_init();
    h = 0;
#endif
    t0 = bench_now_ns();
    run(h, depth);
    t1 = bench_now_ns();

    snprintf(kase, sizeof kase, "depth%d", depth);
    bench_result("binary-trees", variant, kase, "time", (double)(t1 - t0) / 1e9, "s");
#ifdef BENCH_RCGC
    {
        rcgc_gen_stats st[3];
        const char *names[3] = { "gen0_collections", "gen1_collections", "gen2_collections" };
        rcgc_get_stats(h, st);
        for (int g = 0; g < 3; g++)
            bench_result("binary-trees", variant, kase, names[g], (double)st[g].collections, "count");
    }
    if (shared_leaf)
        rcgc_decref(shared_leaf);
    rcgc_heap_free(h);
#endif
    return 0;
}
