/*
 * Reference counting: the cost of an rcgc_incref / rcgc_decref pair, in
 * nanoseconds per pair.
 *
 *   hot       every pair on the same object (bound by the store-to-load
 *             latency of one memory word: the worst case of a hot object)
 *   spread64  pairs on 64 objects in turn (independent words, so the CPU can
 *             overlap them: the throughput of the instructions)
 *
 * A compiler barrier between the increment and the decrement makes each one a
 * real read-modify-write of the count, as in code that does work between them;
 * without it the pair folds away. The objects are real rcgc objects whose count
 * stays at 1 or more, so the decrement's branch to rcgc__dealloc is never taken.
 *
 * bench_refcount_pair() is compiled out of line so that its machine code can
 * be read: `objdump -d --disassemble=bench_refcount_pair bench_refcount`
 * (bench/run.sh puts it in docs/benchmarks.md).
 *
 * Usage: bench_refcount [--tiny] [pairs=N]
 */
#include "bench.h"

#include <rcgc.h>

void bench_refcount_pair(void *obj);

/* One incref and one decref, as the inline functions compile. */
__attribute__((noinline)) void bench_refcount_pair(void *obj)
{
    rcgc_incref(obj);
    bench_clobber();
    rcgc_decref(obj);
}

static const rcgc_type leaf_type = { "leaf", 16, NULL, NULL, NULL };

static double pairs_hot(void *obj, long n)
{
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        rcgc_incref(obj);
        bench_clobber();
        rcgc_decref(obj);
        bench_clobber();
    }
    return (double)(bench_now_ns() - t0) / (double)n;
}

static double pairs_spread(void **objs, long n)
{
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        void *o = objs[i & 63];
        rcgc_incref(o);
        bench_clobber();
        rcgc_decref(o);
        bench_clobber();
    }
    return (double)(bench_now_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
    bench_args a = bench_parse(argc, argv);
    long n = bench_arg_long(&a, "pairs", a.tiny ? 10000 : a.quick ? 50000000 : 200000000);
    rcgc_heap *h = bench_check_alloc(rcgc_heap_new(NULL));
    void *objs[64];
    double ns;

    for (int i = 0; i < 64; i++)
        objs[i] = bench_opaque(bench_check_alloc(rcgc_new(h, &leaf_type)));

    for (long i = 0; i < 1000; i++)
        bench_refcount_pair(objs[0]);
    printf("the generated code: objdump -d --no-show-raw-insn --disassemble=bench_refcount_pair %s\n", argv[0]);
    ns = pairs_hot(objs[0], n);
    bench_result("refcount", "rcgc", "hot", "time_per_pair", ns, "ns");
    ns = pairs_spread(objs, n);
    bench_result("refcount", "rcgc", "spread64", "time_per_pair", ns, "ns");

    for (int i = 0; i < 64; i++) {
        if (rcgc_refcount(objs[i]) != 1)
            bench_fail("refcount", "a count did not come back to 1");
        rcgc_decref(objs[i]);
    }
    rcgc_heap_free(h);
    return 0;
}
