/*
 * Memory: what N objects with two reference slots (16 payload bytes; default
 * N = 10^6, kept alive as a chain) cost.
 *
 *   block     bytes the memory manager sets aside for one object (rcgc:
 *             object_bytes / objects from rcgc_get_memory_stats; malloc: the
 *             usable size plus glibc's size word; mimalloc: mi_usable_size;
 *             Boehm: GC_size)
 *   overhead  block minus the 16 payload bytes
 *   header    rcgc only: sizeof(rcgc__head), 16 bytes (32 in the debug build)
 *   peak_rss  the process's peak resident set (VmHWM) minus its resident set
 *             before the manager was set up (bench_rss_baseline), per object
 *             and in total
 *
 * With BENCH_RCGC the objects are rcgc containers (automatic collection on);
 * otherwise C structs from the peer (peer.h).
 *
 * Usage: bench_memory [--tiny] [n=N]
 */
#include "bench.h"

#ifdef BENCH_RCGC
#include <rcgc.h>
#define VARIANT "rcgc"
#else
#include "peer.h"
#define VARIANT PEER_NAME
#endif

#define PAYLOAD 16

typedef struct node {
    void *first, *second;
} node;

#ifdef BENCH_RCGC
static void node_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    node *n = obj;
    visit(&n->first, arg);
    visit(&n->second, arg);
}

static const rcgc_type node_type = { "node", sizeof(node), node_traverse, NULL, NULL };
#endif

int main(int argc, char **argv)
{
    bench_args a = bench_parse(argc, argv);
    long n = bench_arg_long(&a, "n", a.tiny ? 20000 : 1000000);
    size_t baseline = bench_rss_baseline(), peak;
    double block;
    node *head = NULL;
    char kase[48], nstr[24];
    long count = 0;

#ifdef BENCH_RCGC
    rcgc_heap *h = bench_check_alloc(rcgc_heap_new(NULL));
    rcgc_memory_stats ms;
    for (long i = 0; i < n; i++) {
        node *x = bench_check_alloc(rcgc_new(h, &node_type));
        x->first = head;
        head = x;
    }
    peak = bench_peak_rss_bytes();
    rcgc_get_memory_stats(h, &ms);
    if (ms.objects != (size_t)n)
        bench_fail("memory", "rcgc_get_memory_stats counts the wrong number of objects");
    block = (double)ms.object_bytes / (double)ms.objects;
#else
    peer_init();
    for (long i = 0; i < n; i++) {
        node *x = bench_check_alloc(peer_alloc(sizeof(node)));
        x->first = head;
        x->second = NULL;
        head = x;
    }
    peak = bench_peak_rss_bytes();
    block = (double)peer_block_size(head);
#endif
    for (node *x = head; x; x = x->first)
        count++;
    if (count != n)
        bench_fail("memory", "the chain lost objects");

    bench_count_str(n, nstr, sizeof nstr);
    snprintf(kase, sizeof kase, "two-slot-%s", nstr);
    bench_result("memory", VARIANT, kase, "block", block, "B");
    bench_result("memory", VARIANT, kase, "overhead", block - PAYLOAD, "B");
#ifdef BENCH_RCGC
    bench_result("memory", VARIANT, kase, "header", (double)sizeof(rcgc__head), "B");
#endif
    if (peak > baseline && baseline > 0) {
        bench_result("memory", VARIANT, kase, "peak_rss_per_object", (double)(peak - baseline) / (double)n, "B");
        bench_result("memory", VARIANT, kase, "peak_rss", (double)(peak - baseline) / 1048576.0, "MiB");
    }

#ifdef BENCH_RCGC
    rcgc_decref(head);
    rcgc_heap_free(h);
#elif PEER_FREES
    while (head) {
        node *next = head->first;
        peer_free(head);
        head = next;
    }
#endif
    return 0;
}
