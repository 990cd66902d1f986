/*
 * Pauses: builds a live structure of N two-slot containers (default 10^6; a
 * chain, each new node holding the previous head) with automatic collection on
 * at the default thresholds, and times every collection from its START to its
 * STOP callback (rcgc_callback_add).
 *
 * Reports the total time in the collector, the number of collections of each
 * generation, the pause percentiles p50 and p99 (nearest rank) and the longest
 * pause, and the time of the whole build. The collections counted by the
 * callbacks are checked against rcgc_get_stats.
 *
 * Usage: bench_pauses [--tiny] [n=N]
 */
#include "bench.h"

#include <rcgc.h>

typedef struct node {
    void *first, *second;
} node;

static void node_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    node *n = obj;
    visit(&n->first, arg);
    visit(&n->second, arg);
}

static const rcgc_type node_type = { "node", sizeof(node), node_traverse, NULL, NULL };
/* Where the type keeps its references (rcgc_set_type_fields): the collector
   reads the fields itself instead of calling the traverse function. */
static const size_t node_fields[] = { offsetof(node, first), offsetof(node, second) };


typedef struct pause_log {
    uint64_t start;
    uint64_t *pauses;
    size_t count, cap;
    size_t per_gen[3];
} pause_log;

static void on_collection(rcgc_heap *h, rcgc_phase phase, const rcgc_gc_info *info, void *data)
{
    pause_log *log = data;
    (void)h;
    if (phase == RCGC_PHASE_START) {
        log->start = bench_now_ns();
        return;
    }
    if (log->count < log->cap)
        log->pauses[log->count++] = bench_now_ns() - log->start;
    log->per_gen[info->generation]++;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static uint64_t percentile(const uint64_t *v, size_t n, double p)
{
    size_t rank = (size_t)(p * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

int main(int argc, char **argv)
{
    bench_args a = bench_parse(argc, argv);
    long n = bench_arg_long(&a, "n", a.tiny ? 20000 : 1000000);
    rcgc_heap *h = bench_check_alloc(rcgc_heap_new(NULL));
    if (rcgc_set_type_fields(h, &node_type, node_fields, 2) != 0)
        bench_fail("pauses", "rcgc_set_type_fields failed");
    pause_log log = { 0, NULL, 0, 0, { 0, 0, 0 } };
    node *head = NULL;
    rcgc_gen_stats st[3];
    uint64_t t0, t1, total = 0;
    char kase[48], nstr[24];

    log.cap = (size_t)n / 100 + 64;
    log.pauses = bench_check_alloc(malloc(sizeof(uint64_t) * log.cap));
    if (rcgc_callback_add(h, on_collection, &log) != 0)
        bench_fail("pauses", "rcgc_callback_add");

    t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        node *x = bench_check_alloc(rcgc_new(h, &node_type));
        x->first = head;        /* the new node takes over the reference to the old head */
        head = x;
    }
    t1 = bench_now_ns();

    rcgc_get_stats(h, st);
    for (int g = 0; g < 3; g++)
        if (st[g].collections != log.per_gen[g] || st[g].collected != 0)
            bench_fail("pauses", "collections seen by the callbacks differ from rcgc_get_stats");
    if (log.count == 0)
        bench_fail("pauses", "no collection ran");

    for (size_t i = 0; i < log.count; i++)
        total += log.pauses[i];
    qsort(log.pauses, log.count, sizeof(uint64_t), cmp_u64);

    bench_count_str(n, nstr, sizeof nstr);
    snprintf(kase, sizeof kase, "chain-%s", nstr);
    bench_result("pauses", "rcgc", kase, "total", (double)total / 1e6, "ms");
    bench_result("pauses", "rcgc", kase, "max", (double)log.pauses[log.count - 1] / 1e6, "ms");
    bench_result("pauses", "rcgc", kase, "p99", (double)percentile(log.pauses, log.count, 0.99) / 1e3, "us");
    bench_result("pauses", "rcgc", kase, "p50", (double)percentile(log.pauses, log.count, 0.50) / 1e3, "us");
    bench_result("pauses", "rcgc", kase, "gen0_collections", (double)log.per_gen[0], "count");
    bench_result("pauses", "rcgc", kase, "gen1_collections", (double)log.per_gen[1], "count");
    bench_result("pauses", "rcgc", kase, "gen2_collections", (double)log.per_gen[2], "count");
    bench_result("pauses", "rcgc", kase, "build", (double)(t1 - t0) / 1e6, "ms");

    rcgc_decref(head);
    rcgc_heap_free(h);
    free(log.pauses);
    return 0;
}
