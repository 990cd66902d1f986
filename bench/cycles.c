/*
 * Cycle collection: the time of one full collection over N objects, in
 * nanoseconds per object.
 *
 *   unreachable  N objects in 2-object cycles (a.first = b, b.first = a), all
 *                references from outside dropped: the collection finds and
 *                frees all N
 *   reachable    the same pairs, each held from outside through its first
 *                object (an array of references, as an embedder's C data):
 *                the collection examines all N and frees nothing
 *
 * Automatic collection is off while the objects are made; only the collection
 * is timed. With BENCH_RCGC the objects are rcgc containers with two slots and
 * the collection is rcgc_collect(h, 2), whose result is checked; with
 * BENCH_PEER_BOEHM they are GC_MALLOC'd pairs and the collection is
 * GC_gcollect() (the references are held in a GC_MALLOC'd array).
 *
 * Usage: bench_cycles [--tiny] [n=N] [case=unreachable|reachable]
 */
#include "bench.h"

#ifdef BENCH_RCGC
#include <rcgc.h>
#define VARIANT "rcgc"
#else
#include "peer.h"
#define VARIANT PEER_NAME
#endif

typedef struct pair {
    void *first, *second;
} pair;

#ifdef BENCH_RCGC

static void pair_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    pair *p = obj;
    visit(&p->first, arg);
    visit(&p->second, arg);
}

static const rcgc_type pair_type = { "pair", sizeof(pair), pair_traverse, NULL, NULL };
/* Where the type keeps its references (rcgc_set_type_fields): the collector
   reads the fields itself instead of calling the traverse function. */
static const size_t pair_fields[] = { offsetof(pair, first), offsetof(pair, second) };


/* Times one collection of n objects; roots (n / 2 entries) or NULL. */
static double measure(long n, void **roots)
{
    rcgc_heap *h = bench_check_alloc(rcgc_heap_new(NULL));
    if (rcgc_set_type_fields(h, &pair_type, pair_fields, 2) != 0)
        bench_fail("cycles", "rcgc_set_type_fields failed");
    ptrdiff_t found;
    uint64_t t0, t1;

    rcgc_disable(h);
    for (long i = 0; i < n / 2; i++) {
        pair *a = bench_check_alloc(rcgc_new(h, &pair_type));
        pair *b = bench_check_alloc(rcgc_new(h, &pair_type));
        rcgc_set(&a->first, b);
        rcgc_set(&b->first, a);
        rcgc_decref(b);
        if (roots)
            roots[i] = a;
        else
            rcgc_decref(a);
    }
    bench_perf("enable");
    t0 = bench_now_ns();
    found = rcgc_collect(h, 2);
    t1 = bench_now_ns();
    bench_perf("disable");

    if (found != (roots ? 0 : n))
        bench_fail("cycles", "rcgc_collect found the wrong number of unreachable objects");
    if (roots) {
        for (long i = 0; i < n / 2; i++)
            rcgc_decref(roots[i]);
        if (rcgc_collect(h, 2) != n)
            bench_fail("cycles", "the dropped pairs were not all collected");
    }
    rcgc_heap_free(h);
    return (double)(t1 - t0);
}

#else

static void __attribute__((noinline)) build(long n, void **roots)
{
    for (long i = 0; i < n / 2; i++) {
        pair *a = bench_check_alloc(peer_alloc(sizeof(pair)));
        pair *b = bench_check_alloc(peer_alloc(sizeof(pair)));
        a->first = b;
        b->first = a;
        if (roots)
            roots[i] = a;
    }
}

static double measure(long n, void **roots)
{
    uint64_t t0, t1;
    GC_disable();
    build(n, roots);
    GC_enable();
    bench_perf("enable");
    t0 = bench_now_ns();
    GC_gcollect();
    t1 = bench_now_ns();
    bench_perf("disable");
    /* The held pairs must have survived intact (this use of roots also keeps
       the array itself alive through the collection). */
    for (long i = 0; roots && i < n / 2; i++) {
        pair *p = roots[i];
        if (((pair *)p->first)->first != p)
            bench_fail("cycles", "a reachable pair was reclaimed");
    }
    return (double)(t1 - t0);
}

#endif

int main(int argc, char **argv)
{
    bench_args a = bench_parse(argc, argv);
    long n = bench_arg_long(&a, "n", a.tiny ? 10000 : 1000000);
    const char *which = bench_arg_str(&a, "case", "both");
    int unreachable = strcmp(which, "reachable") != 0, reachable = strcmp(which, "unreachable") != 0;
    char kase[48], nstr[24];

    n += n & 1;
    bench_count_str(n, nstr, sizeof nstr);
#ifndef BENCH_RCGC
    peer_init();
#endif
    if (unreachable) {
        double ns = measure(n, NULL);
        snprintf(kase, sizeof kase, "unreachable-%s", nstr);
        bench_result("cycles", VARIANT, kase, "time_per_object", ns / (double)n, "ns");
        bench_result("cycles", VARIANT, kase, "time", ns / 1e6, "ms");
    }
    if (reachable) {
        void **roots;
#ifdef BENCH_RCGC
        roots = bench_check_alloc(malloc(sizeof(void *) * (size_t)(n / 2)));
#else
        roots = bench_check_alloc(GC_MALLOC(sizeof(void *) * (size_t)(n / 2)));
#endif
        double ns = measure(n, roots);
        snprintf(kase, sizeof kase, "reachable-%s", nstr);
        bench_result("cycles", VARIANT, kase, "time_per_object", ns / (double)n, "ns");
        bench_result("cycles", VARIANT, kase, "time", ns / 1e6, "ms");
#ifdef BENCH_RCGC
        free(roots);
#endif
    }
    return 0;
}
