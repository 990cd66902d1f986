/*
 * Allocation and release of objects with 16, 32, 64 and 256 payload bytes,
 * in nanoseconds per allocation + release, in three patterns:
 *
 *   single  allocate one object and release it at once, again and again
 *   batch   allocate 1000 objects, then release the 1000 in the same order
 *   window  a sliding window of 10,000 live objects: release the oldest,
 *           allocate a new one in its place
 *
 * and three more cases of the sliding window, as a language's objects come:
 *
 *   turns-16-256  the four sizes in turn, so that each allocation is of
 *                 another type than the last one (four types)
 *   mixed-1-256   payloads of 1 to 256 bytes, each size drawn at random (the
 *                 same sequence for every variant), as strings and arrays
 *                 come: rcgc_new_sized of one type
 *   large-8k-64k  a window of 100 objects only, with payloads of 8 to 64 KiB
 *                 drawn at random: large objects, each on a region of its own
 *                 (one op in 100 of the others' count)
 *
 * against the peers' zeroed allocation of the same sizes.
 *
 * With BENCH_RCGC two variants run: `rcgc`, a leaf type (traverse NULL, so
 * never tracked by the collector) made by rcgc_new and released by
 * rcgc_decref; and `rcgc-container`, a type with a traverse function, so every
 * object is tracked and the collector runs at its default thresholds. The C
 * peers (peer.h) allocate zeroed memory, as rcgc_new does, and free it.
 *
 * Usage: bench_alloc [--tiny] [--quick] [ops=N]
 */
#include "bench.h"

#ifdef BENCH_RCGC
#include <rcgc.h>
#else
#include "peer.h"
#endif

#define NSIZES 4
#define BATCH 1000
#define WINDOW 10000
#define MIXED_SIZES 4096      /* a sequence of sizes, used over and over */
#define LARGE_WINDOW 100

static const size_t sizes[NSIZES] = { 16, 32, 64, 256 };

#ifdef BENCH_RCGC

/* The variant: the heap, the types (leaf or container) of the four sizes, and
   the type of the mixed case. */
typedef struct variant {
    const char *name;
    rcgc_heap *heap;
    const rcgc_type *types;
    const rcgc_type *mixed;
} variant;

static void one_slot_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    visit((void **)obj, arg);
}

static const rcgc_type leaf_types[NSIZES] = {
    { "leaf16", 16, NULL, NULL, NULL },
    { "leaf32", 32, NULL, NULL, NULL },
    { "leaf64", 64, NULL, NULL, NULL },
    { "leaf256", 256, NULL, NULL, NULL },
};

static const rcgc_type container_types[NSIZES] = {
    { "container16", 16, one_slot_traverse, NULL, NULL },
    { "container32", 32, one_slot_traverse, NULL, NULL },
    { "container64", 64, one_slot_traverse, NULL, NULL },
    { "container256", 256, one_slot_traverse, NULL, NULL },
};

/* The mixed and large cases' types, a size at each call. The container's
   traverse reads its first word, which its size declares; a payload of 1 to
   7 bytes, smaller than that, is allowed (the type has no fields at known
   offsets) and gets 16 bytes, but takes rcgc_new_sized's general path. */
static const rcgc_type mixed_leaf_type = { "bytes", 0, NULL, NULL, NULL };
static const rcgc_type mixed_container_type = { "array", sizeof(void *), one_slot_traverse, NULL, NULL };

#define ALLOC(v, k) rcgc_new((v)->heap, &(v)->types[k])
#define ALLOC_SIZED(v, n) rcgc_new_sized((v)->heap, (v)->mixed, n)
#define RELEASE(p) rcgc_decref(p)

#else

typedef struct variant {
    const char *name;
} variant;

#define ALLOC(v, k) ((void)(v), peer_zalloc(sizes[k]))
#define ALLOC_SIZED(v, n) ((void)(v), peer_zalloc(n))
#define RELEASE(p) peer_free(p)

#endif

static double run_single(const variant *v, int k, long ops)
{
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < ops; i++) {
        void *p = bench_check_alloc(ALLOC(v, k));
        bench_escape(p);
        RELEASE(p);
    }
    return (double)(bench_now_ns() - t0) / (double)ops;
}

static double run_batch(const variant *v, int k, long ops, void **objs)
{
    long rounds = ops / BATCH > 0 ? ops / BATCH : 1;
    uint64_t t0 = bench_now_ns();
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < BATCH; i++) {
            objs[i] = bench_check_alloc(ALLOC(v, k));
            bench_escape(objs[i]);
        }
        for (int i = 0; i < BATCH; i++)
            RELEASE(objs[i]);
    }
    return (double)(bench_now_ns() - t0) / (double)(rounds * BATCH);
}

static double run_window(const variant *v, int k, long ops, void **objs)
{
    uint64_t t0;
    double ns;
    for (int i = 0; i < WINDOW; i++)
        objs[i] = bench_check_alloc(ALLOC(v, k));
    t0 = bench_now_ns();
    for (long i = 0, j = 0; i < ops; i++) {
        RELEASE(objs[j]);
        objs[j] = bench_check_alloc(ALLOC(v, k));
        bench_escape(objs[j]);
        if (++j == WINDOW)
            j = 0;
    }
    ns = (double)(bench_now_ns() - t0) / (double)ops;
    for (int i = 0; i < WINDOW; i++)
        RELEASE(objs[i]);
    return ns;
}

/* The window of run_window with objects of the four sizes in turn. */
static double run_turns(const variant *v, long ops, void **objs)
{
    uint64_t t0;
    double ns;
    for (int i = 0; i < WINDOW; i++)
        objs[i] = bench_check_alloc(ALLOC(v, i % NSIZES));
    t0 = bench_now_ns();
    for (long i = 0, j = 0; i < ops; i++) {
        RELEASE(objs[j]);
        objs[j] = bench_check_alloc(ALLOC(v, (int)(i % NSIZES)));
        bench_escape(objs[j]);
        if (++j == WINDOW)
            j = 0;
    }
    ns = (double)(bench_now_ns() - t0) / (double)ops;
    for (int i = 0; i < WINDOW; i++)
        RELEASE(objs[i]);
    return ns;
}

/* MIXED_SIZES sizes drawn at random from lo to hi: the same for every
   variant. */
static uint32_t *size_sequence(uint32_t lo, uint32_t hi, uint32_t state)
{
    uint32_t *seq = bench_check_alloc(malloc(sizeof(uint32_t) * MIXED_SIZES));
    for (int i = 0; i < MIXED_SIZES; i++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        seq[i] = lo + state % (hi - lo + 1);
    }
    return seq;
}

/* A window of `window` objects like run_window's, of the sizes of seq in
   turn. */
static double run_mixed(const variant *v, long ops, void **objs, int window, const uint32_t *seq)
{
    uint64_t t0;
    double ns;
    for (int i = 0; i < window; i++)
        objs[i] = bench_check_alloc(ALLOC_SIZED(v, seq[i % MIXED_SIZES]));
    t0 = bench_now_ns();
    for (long i = 0, j = 0; i < ops; i++) {
        RELEASE(objs[j]);
        objs[j] = bench_check_alloc(ALLOC_SIZED(v, seq[i % MIXED_SIZES]));
        bench_escape(objs[j]);
        if (++j == window)
            j = 0;
    }
    ns = (double)(bench_now_ns() - t0) / (double)ops;
    for (int i = 0; i < window; i++)
        RELEASE(objs[i]);
    return ns;
}

static void run_all(const variant *v, long ops, void **objs, const uint32_t *mixed, const uint32_t *large)
{
    char kase[32];
    for (int k = 0; k < NSIZES; k++) {
        snprintf(kase, sizeof kase, "single-%zu", sizes[k]);
        bench_result("alloc", v->name, kase, "time_per_op", run_single(v, k, ops), "ns");
        snprintf(kase, sizeof kase, "batch-%zu", sizes[k]);
        bench_result("alloc", v->name, kase, "time_per_op", run_batch(v, k, ops, objs), "ns");
        snprintf(kase, sizeof kase, "window-%zu", sizes[k]);
        bench_result("alloc", v->name, kase, "time_per_op", run_window(v, k, ops, objs), "ns");
    }
    bench_result("alloc", v->name, "turns-16-256", "time_per_op", run_turns(v, ops, objs), "ns");
    bench_result("alloc", v->name, "mixed-1-256", "time_per_op", run_mixed(v, ops, objs, WINDOW, mixed), "ns");
    bench_result("alloc", v->name, "large-8k-64k", "time_per_op",
                 run_mixed(v, ops / 100 > 0 ? ops / 100 : 1, objs, LARGE_WINDOW, large), "ns");
}

int main(int argc, char **argv)
{
    bench_args a = bench_parse(argc, argv);
    long ops = bench_arg_long(&a, "ops", a.tiny ? 20000 : a.quick ? 1000000 : 5000000);
    void **objs = bench_check_alloc(malloc(sizeof(void *) * WINDOW));
    uint32_t *mixed = size_sequence(1, 256, 2463534242u);
    uint32_t *large = size_sequence(8192, 65536, 88172645u);

#ifdef BENCH_RCGC
    rcgc_heap *h = bench_check_alloc(rcgc_heap_new(NULL));
    variant leaf = { "rcgc", h, leaf_types, &mixed_leaf_type };
    variant container = { "rcgc-container", h, container_types, &mixed_container_type };
    rcgc_memory_stats ms;
    run_all(&leaf, ops, objs, mixed, large);
    run_all(&container, ops, objs, mixed, large);
    rcgc_get_memory_stats(h, &ms);
    if (ms.objects != 0)
        bench_fail("alloc", "objects left alive");
    rcgc_heap_free(h);
#else
    variant peer = { PEER_NAME };
    peer_init();
    run_all(&peer, ops, objs, mixed, large);
#endif
    free(large);
    free(mixed);
    free(objs);
    return 0;
}
