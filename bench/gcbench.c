/*
 * GCBench (John Ellis and Pete Kovac, C version by Hans Boehm): a stretch tree
 * of depth 18, a long-lived tree of depth 16 and a long-lived array of 500,000
 * doubles, then for depth 4, 6, ... 16 as many trees as make twice the stretch
 * tree's nodes, built top-down (Populate) and bottom-up (MakeTree) and dropped.
 * Reports the wall time of the whole run (and, for rcgc, the collections of
 * each generation).
 *
 * Built once per memory manager: with BENCH_RCGC the nodes are rcgc containers
 * (two reference slots and two ints, traverse visits the slots, the collector
 * enabled at its default thresholds) and the array an untracked rcgc object;
 * otherwise (peer.h) C structs from malloc, mimalloc or Boehm, freed
 * explicitly where the peer frees, as the original's non-GC build does. With
 * pages=huge (variant rcgc-huge-pages) the heap is made with
 * rcgc_config.huge_pages, which asks for transparent huge pages behind its
 * chunks once it holds 8 MiB (the default until docs/performance-log.md's
 * twenty-fourth round).
 *
 * Usage: bench_gcbench [--tiny] [pages=small|huge]
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
    int i, j;
} node;

static int stretch_depth = 18, long_lived_depth = 16, min_depth = 4, max_depth = 16;
static long array_size = 500000;

static long tree_size(int depth)
{
    return (1L << (depth + 1)) - 1;
}

static long num_iters(int depth)
{
    return 2 * tree_size(stretch_depth) / tree_size(depth);
}

#ifdef BENCH_RCGC

static void node_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    node *n = obj;
    visit(&n->left, arg);
    visit(&n->right, arg);
}

static const rcgc_type node_type = { "Node", sizeof(node), node_traverse, NULL, NULL };
/* Where the type keeps its references (rcgc_set_type_fields): the collector
   reads the fields itself instead of calling the traverse function. */
static const size_t node_fields[] = { offsetof(node, left), offsetof(node, right) };

static const rcgc_type array_type = { "array", 0, NULL, NULL, NULL };

static rcgc_heap *heap;

static node *new_node(void)
{
    return bench_check_alloc(rcgc_new(heap, &node_type));
}

static double *new_array(long n)
{
    return bench_check_alloc(rcgc_new_sized(heap, &array_type, sizeof(double) * (size_t)n));
}

static void drop(void *obj)
{
    rcgc_decref(obj);
}

#else

static node *new_node(void)
{
    node *n = bench_check_alloc(peer_alloc(sizeof(node)));
    n->left = n->right = NULL;
    n->i = n->j = 0;
    return n;
}

static double *new_array(long n)
{
#ifdef BENCH_PEER_BOEHM
    return bench_check_alloc(GC_MALLOC_ATOMIC(sizeof(double) * (size_t)n));
#else
    return bench_check_alloc(peer_alloc(sizeof(double) * (size_t)n));
#endif
}

#if PEER_FREES
static void drop_tree(node *n)
{
    if (n->left)
        drop_tree(n->left);
    if (n->right)
        drop_tree(n->right);
    peer_free(n);
}

static void drop(void *obj)
{
    drop_tree(obj);
}
#else
static void drop(void *obj)
{
    (void)obj;
}
#endif

#endif

/* Builds the tree top-down: the children's new references go into the slots. */
static void populate(int depth, node *n)
{
    if (depth <= 0)
        return;
    depth--;
    n->left = new_node();
    n->right = new_node();
    populate(depth, n->left);
    populate(depth, n->right);
}

/* Builds the tree bottom-up: the children exist before their parent. */
static node *make_tree(int depth)
{
    node *left, *right, *n;
    if (depth <= 0)
        return new_node();
    left = make_tree(depth - 1);
    right = make_tree(depth - 1);
    n = new_node();
    n->left = left;
    n->right = right;
    return n;
}

static void time_construction(int depth)
{
    long iters = num_iters(depth);
    for (long i = 0; i < iters; i++) {
        node *t = new_node();
        populate(depth, t);
        drop(t);
    }
    for (long i = 0; i < iters; i++)
        drop(make_tree(depth));
}

static long count_nodes(const node *n)
{
    return n ? 1 + count_nodes(n->left) + count_nodes(n->right) : 0;
}

int main(int argc, char **argv)
{
    bench_args a = bench_parse(argc, argv);
    const char *variant = VARIANT;
    node *long_lived;
    double *array;
    uint64_t t0, t1;

    if (a.tiny) {
        stretch_depth = 8;
        long_lived_depth = 6;
        max_depth = 6;
        array_size = 5000;
    }
#ifdef BENCH_RCGC
    rcgc_config config = { 0 };
    if (strcmp(bench_arg_str(&a, "pages", "small"), "huge") == 0) {
        config.huge_pages = 1;
        variant = "rcgc-huge-pages";
    }
    heap = bench_check_alloc(rcgc_heap_new(&config));
    if (rcgc_set_type_fields(heap, &node_type, node_fields, 2) != 0)
        bench_fail("gcbench", "rcgc_set_type_fields failed");
#else
    peer_init();
#endif
    t0 = bench_now_ns();
    drop(make_tree(stretch_depth));

    long_lived = new_node();
    populate(long_lived_depth, long_lived);

    array = new_array(array_size);
    for (long i = 1; i < array_size / 2; i++)
        array[i] = 1.0 / (double)i;

    for (int d = min_depth; d <= max_depth; d += 2)
        time_construction(d);

    if (array[1000] != 1.0 / 1000)
        bench_fail("gcbench", "the long-lived array changed");
    t1 = bench_now_ns();

    if (count_nodes(long_lived) != tree_size(long_lived_depth))
        bench_fail("gcbench", "the long-lived tree lost nodes");
    bench_result("gcbench", variant, "default", "time", (double)(t1 - t0) / 1e9, "s");

    drop(long_lived);
#ifdef BENCH_RCGC
    {
        rcgc_gen_stats st[3];
        const char *names[3] = { "gen0_collections", "gen1_collections", "gen2_collections" };
        rcgc_get_stats(heap, st);
        for (int g = 0; g < 3; g++)
            bench_result("gcbench", variant, "default", names[g], (double)st[g].collections, "count");
    }
    drop(array);
    {
        rcgc_memory_stats ms;
        rcgc_get_memory_stats(heap, &ms);
        if (ms.objects != 0)
            bench_fail("gcbench", "objects left alive");
    }
    rcgc_heap_free(heap);
#elif PEER_FREES
    peer_free(array);
#endif
    return 0;
}
