/*
 * What the API's levers are worth: the same work with and without each of
 * the calls an embedder can make for speed, and with and without the things
 * that cost (hooks, an order of construction).
 *
 *   fields  full collections of N reachable two-slot pairs (held from a C
 *           array), ns per object: `rcgc`, a traverse function only;
 *           `rcgc-fields`, the same type with rcgc_set_type_fields
 *   items   full collections of N reachable lists in groups of four, each
 *           holding the four of its group in an array of its own (one of
 *           each group held from a C array), ns per object: `rcgc`, a
 *           traverse function only; `rcgc-items`, the same type with
 *           rcgc_set_type_items (RCGC_ITEMS_ARRAY); bench/levers.py is
 *           CPython's peer
 *   entries the same with dicts: four entries { hash, key, value } in an
 *           array of each dict's own, the keys four leaves shared by all,
 *           the values the four dicts of the group: `rcgc`, a traverse
 *           function only; `rcgc-entries`, rcgc_set_type_entries; CPython's
 *           peer, dicts {0: d0, 1: d1, 2: d2, 3: d3}, keeps the same entries
 *   trees   128 bottom-up binary trees of depth 13 (16,383 nodes each), each
 *           built and dropped, beside a long-lived tree of depth 16, automatic
 *           collection on; the whole run and the collector's part (from
 *           START to STOP callbacks), ms: `rcgc`, a plain container type;
 *           `rcgc-immutable`, RCGC_TYPE_IMMUTABLE (collections untrack
 *           finished trees, as CPython's tuples); `rcgc-untracked`, nodes
 *           made with rcgc_new_untracked and tracked only when a child is
 *   freeze  one full collection of 10^4 young garbage pairs beside 10^6
 *           long-lived objects, ms: `rcgc`; `rcgc-frozen`, the long-lived
 *           objects moved to the permanent generation with rcgc_freeze first
 *   hooks   one full collection of N objects in unreachable pairs, ns per
 *           object: `rcgc`, a plain type; `rcgc-destroy`, a destroy function
 *           that does nothing; `rcgc-finalizer`, a finalizer that does
 *           nothing (PEP 442: run, then a second analysis)
 *   order   one full collection of a chain of N objects held by its first,
 *           ns per object: `rcgc`, built from the head (each object made
 *           before the one it refers to, as a list appended to); and
 *           `rcgc-prepended`, built from the tail (each new object refers to
 *           the previous head), so that move_unreachable parks every object
 *           and takes it back
 *   scattered
 *           one full collection of N reachable pairs whose list is out of
 *           address order, ns per object: N objects made, then 2N times a
 *           random one released and a new one made (in the block it left, or
 *           another of its page's free list), then paired (a.first = b,
 *           b.first = a, each pair held through a from a C array); one full
 *           collection untimed (it finds the list scattered), then the timed
 *           one: `rcgc`, which borrows the table of links for it (docs/
 *           design.md, "Scattered lists"), and `rcgc-no-scratch`, a heap made
 *           with rcgc_config.no_scratch; bench/levers.py is CPython's peer
 *
 * Usage: bench_levers [--tiny] [case=NAME variant=NAME] [n=N]
 * Without case=, every case runs with every variant in turn.
 */
#include "bench.h"

#include <rcgc.h>

typedef struct pair {
    void *first, *second;
} pair;

static void pair_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    pair *p = obj;
    visit(&p->first, arg);
    visit(&p->second, arg);
}

static void nothing(void *obj)
{
    (void)obj;
}

static const rcgc_type pair_type = { "pair", sizeof(pair), pair_traverse, NULL, NULL };
static const rcgc_type destroy_type = { "pair with destroy", sizeof(pair), pair_traverse, NULL, nothing };
static const rcgc_type finalizer_type = { "pair with finalizer", sizeof(pair), pair_traverse, nothing, NULL };
static const size_t pair_fields[] = { offsetof(pair, first), offsetof(pair, second) };

static int tiny;

static rcgc_heap *new_heap(const rcgc_type *type, int fields)
{
    rcgc_heap *h = bench_check_alloc(rcgc_heap_new(NULL));
    if (fields && rcgc_set_type_fields(h, type, pair_fields, 2) != 0)
        bench_fail("levers", "rcgc_set_type_fields failed");
    return h;
}

static void result(const char *variant, const char *kase, const char *metric, double value, const char *unit)
{
    bench_result("levers", variant, kase, metric, value, unit);
}

static void check_collect(rcgc_heap *h, ptrdiff_t expected, const char *what)
{
    if (rcgc_collect(h, 2) != expected)
        bench_fail("levers", what);
}

/* n / 2 pairs a <-> b, each held through a by roots[i], or dropped when roots
   is NULL. */
static void make_pairs(rcgc_heap *h, const rcgc_type *type, long n, void **roots)
{
    for (long i = 0; i < n / 2; i++) {
        pair *a = bench_check_alloc(rcgc_new(h, type));
        pair *b = bench_check_alloc(rcgc_new(h, type));
        rcgc_set(&a->first, b);
        rcgc_set(&b->first, a);
        rcgc_decref(b);
        if (roots)
            roots[i] = a;
        else
            rcgc_decref(a);
    }
}

static void drop_all(void **roots, long count)
{
    for (long i = 0; i < count; i++)
        rcgc_decref(roots[i]);
}

/* The rest of the fields and items cases, once `objects` reachable objects
   are in h, held through roots[0..nroots): a first collection, then timed
   ones, each of which must free nothing; then the roots are dropped and a
   collection must free every object. Reports the timed collections' ns per
   object as case `name`-N, and frees h and roots. */
static void time_reachable(const char *variant, const char *name, long n, rcgc_heap *h, void **roots, long nroots,
                           long objects)
{
    int rounds = tiny ? 2 : 20;
    char kase[32], nstr[24];
    check_collect(h, 0, "a reachable object was collected");
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < rounds; i++)
        check_collect(h, 0, "a reachable object was collected");
    double ns = (double)(bench_now_ns() - t0) / ((double)rounds * (double)objects);
    drop_all(roots, nroots);
    check_collect(h, objects, "the dropped objects were not all collected");
    rcgc_heap_free(h);
    free(roots);
    bench_count_str(n, nstr, sizeof nstr);
    snprintf(kase, sizeof kase, "%s-%s", name, nstr);
    result(variant, kase, "time_per_object", ns, "ns");
}

static void case_fields(const char *variant, long n)
{
    void **roots = bench_check_alloc(malloc(sizeof(void *) * (size_t)(n / 2)));
    rcgc_heap *h = new_heap(&pair_type, strcmp(variant, "rcgc-fields") == 0);
    rcgc_disable(h);
    make_pairs(h, &pair_type, n, roots);
    time_reachable(variant, "fields", n, h, roots, n / 2, n);
}

/* ---- items ---------------------------------------------------------------- */

/* A list: n items in an array of its own, visited first to last. */
typedef struct list {
    size_t n;
    void **items;
} list;

#define GROUP 4

static void list_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    list *l = obj;
    for (size_t i = 0; i < l->n; i++)
        visit(&l->items[i], arg);
}

static void list_destroy(void *obj)
{
    free(((list *)obj)->items);
}

static const rcgc_type list_type = { "list", sizeof(list), list_traverse, NULL, list_destroy };

static void case_items(const char *variant, long n)
{
    long groups = n / GROUP;
    void **roots = bench_check_alloc(malloc(sizeof(void *) * (size_t)groups));
    rcgc_heap *h = bench_check_alloc(rcgc_heap_new(NULL));
    if (strcmp(variant, "rcgc-items") == 0 &&
        rcgc_set_type_items(h, &list_type, offsetof(list, n), offsetof(list, items), RCGC_ITEMS_ARRAY) != 0)
        bench_fail("levers", "rcgc_set_type_items failed");
    rcgc_disable(h);
    for (long g = 0; g < groups; g++) {
        list *group[GROUP];
        for (int i = 0; i < GROUP; i++) {
            group[i] = bench_check_alloc(rcgc_new(h, &list_type));
            group[i]->items = bench_check_alloc(malloc(GROUP * sizeof(void *)));
        }
        for (int i = 0; i < GROUP; i++) {
            for (int j = 0; j < GROUP; j++) {
                rcgc_incref(group[j]);
                group[i]->items[j] = group[j];
            }
            group[i]->n = GROUP;
        }
        roots[g] = group[0];
        for (int i = 1; i < GROUP; i++)
            rcgc_decref(group[i]);
    }
    time_reachable(variant, "items", n, h, roots, groups, groups * GROUP);
}

/* ---- entries -------------------------------------------------------------- */

/* A dict: n entries in an array of its own, key then value visited, first
   entry to last. */
typedef struct entry {
    size_t hash;
    void *key, *value;
} entry;

typedef struct dict {
    size_t n;
    entry *entries;
} dict;

static void dict_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    dict *d = obj;
    for (size_t i = 0; i < d->n; i++) {
        visit(&d->entries[i].key, arg);
        visit(&d->entries[i].value, arg);
    }
}

static void dict_destroy(void *obj)
{
    free(((dict *)obj)->entries);
}

static const rcgc_type dict_type = { "dict", sizeof(dict), dict_traverse, NULL, dict_destroy };
static const rcgc_type key_type = { "key", sizeof(size_t), NULL, NULL, NULL };

static void case_entries(const char *variant, long n)
{
    long groups = n / GROUP;
    void **roots = bench_check_alloc(malloc(sizeof(void *) * (size_t)(groups + GROUP)));
    rcgc_heap *h = bench_check_alloc(rcgc_heap_new(NULL));
    if (strcmp(variant, "rcgc-entries") == 0 &&
        rcgc_set_type_entries(h, &dict_type, offsetof(dict, n), offsetof(dict, entries), sizeof(entry),
                              offsetof(entry, key), 2, RCGC_ITEMS_ARRAY) != 0)
        bench_fail("levers", "rcgc_set_type_entries failed");
    rcgc_disable(h);
    void **keys = roots + groups;
    for (int j = 0; j < GROUP; j++) {
        keys[j] = bench_check_alloc(rcgc_new(h, &key_type));
        *(size_t *)keys[j] = (size_t)j;
    }
    for (long g = 0; g < groups; g++) {
        dict *group[GROUP];
        for (int i = 0; i < GROUP; i++) {
            group[i] = bench_check_alloc(rcgc_new(h, &dict_type));
            group[i]->entries = bench_check_alloc(malloc(GROUP * sizeof(entry)));
        }
        for (int i = 0; i < GROUP; i++) {
            for (int j = 0; j < GROUP; j++) {
                rcgc_incref(keys[j]);
                rcgc_incref(group[j]);
                group[i]->entries[j] = (entry){ (size_t)j, keys[j], group[j] };
            }
            group[i]->n = GROUP;
        }
        roots[g] = group[0];
        for (int i = 1; i < GROUP; i++)
            rcgc_decref(group[i]);
    }
    time_reachable(variant, "entries", n, h, roots, groups + GROUP, groups * GROUP);
}

/* ---- trees ---------------------------------------------------------------- */

typedef struct tree_run {
    rcgc_heap *h;
    const rcgc_type *type;
    int untracked;
    uint64_t gc_start, gc_ns;
} tree_run;

static void on_collection(rcgc_heap *h, rcgc_phase phase, const rcgc_gc_info *info, void *data)
{
    tree_run *t = data;
    (void)h;
    (void)info;
    if (phase == RCGC_PHASE_START)
        t->gc_start = bench_now_ns();
    else
        t->gc_ns += bench_now_ns() - t->gc_start;
}

static pair *tree(tree_run *t, int depth)
{
    pair *left = NULL, *right = NULL;
    if (depth > 0) {
        left = tree(t, depth - 1);
        right = tree(t, depth - 1);
    }
    pair *p = bench_check_alloc(t->untracked ? rcgc_new_untracked(t->h, t->type) : rcgc_new(t->h, t->type));
    p->first = left;
    p->second = right;
    if (t->untracked && ((left && rcgc_is_tracked(left)) || (right && rcgc_is_tracked(right))))
        rcgc_track(p);
    return p;
}

static long tree_check(const pair *p)
{
    return p ? 1 + tree_check(p->first) + tree_check(p->second) : 0;
}

static void case_trees(const char *variant)
{
    int depth = tiny ? 6 : 13, long_depth = tiny ? 8 : 16;
    long trees = tiny ? 4 : (1L << 21) >> (depth + 1);
    tree_run t = { new_heap(&pair_type, 1), &pair_type, strcmp(variant, "rcgc-untracked") == 0, 0, 0 };
    if (strcmp(variant, "rcgc") != 0 && rcgc_set_type_flags(t.h, &pair_type, RCGC_TYPE_IMMUTABLE) != 0)
        bench_fail("levers", "rcgc_set_type_flags failed");
    if (rcgc_callback_add(t.h, on_collection, &t) != 0)
        bench_fail("levers", "rcgc_callback_add failed");
    uint64_t t0 = bench_now_ns();
    pair *long_lived = tree(&t, long_depth);
    for (long i = 0; i < trees; i++) {
        pair *p = tree(&t, depth);
        if (tree_check(p) != (2L << depth) - 1)
            bench_fail("levers", "trees: a tree lost nodes");
        rcgc_decref(p);
    }
    double ms = (double)(bench_now_ns() - t0) / 1e6;
    if (tree_check(long_lived) != (2L << long_depth) - 1)
        bench_fail("levers", "trees: the long-lived tree lost nodes");
    rcgc_decref(long_lived);
    rcgc_memory_stats ms_stats;
    rcgc_get_memory_stats(t.h, &ms_stats);
    if (ms_stats.objects != 0)
        bench_fail("levers", "trees: objects left alive");
    rcgc_heap_free(t.h);
    result(variant, "trees", "time", ms, "ms");
    result(variant, "trees", "gc_time", (double)t.gc_ns / 1e6, "ms");
}

static void case_freeze(const char *variant)
{
    long old = tiny ? 20000 : 1000000, young = tiny ? 2000 : 10000;
    void **roots = bench_check_alloc(malloc(sizeof(void *) * (size_t)(old / 2)));
    rcgc_heap *h = new_heap(&pair_type, 1);
    rcgc_disable(h);
    make_pairs(h, &pair_type, old, roots);
    if (strcmp(variant, "rcgc-frozen") == 0)
        rcgc_freeze(h);
    else
        check_collect(h, 0, "freeze: a reachable pair was collected");
    make_pairs(h, &pair_type, young, NULL);
    uint64_t t0 = bench_now_ns();
    check_collect(h, young, "freeze: the young garbage was not all collected");
    double ms = (double)(bench_now_ns() - t0) / 1e6;
    rcgc_unfreeze(h);
    drop_all(roots, old / 2);
    check_collect(h, old, "freeze: the dropped pairs were not all collected");
    rcgc_heap_free(h);
    free(roots);
    result(variant, "freeze", "time", ms, "ms");
}

static void case_hooks(const char *variant, long n)
{
    const rcgc_type *type = strcmp(variant, "rcgc-destroy") == 0     ? &destroy_type
                            : strcmp(variant, "rcgc-finalizer") == 0 ? &finalizer_type
                                                                      : &pair_type;
    char kase[32], nstr[24];
    rcgc_heap *h = new_heap(type, 1);
    rcgc_disable(h);
    make_pairs(h, type, n, NULL);
    uint64_t t0 = bench_now_ns();
    check_collect(h, n, "hooks: the pairs were not all collected");
    double ns = (double)(bench_now_ns() - t0) / (double)n;
    rcgc_heap_free(h);
    bench_count_str(n, nstr, sizeof nstr);
    snprintf(kase, sizeof kase, "hooks-%s", nstr);
    result(variant, kase, "time_per_object", ns, "ns");
}

static void case_order(const char *variant, long n)
{
    char kase[32], nstr[24];
    rcgc_heap *h = new_heap(&pair_type, 1);
    rcgc_disable(h);
    pair *first;
    if (strcmp(variant, "rcgc-prepended") == 0) {
        first = NULL;
        for (long i = 0; i < n; i++) {
            pair *p = bench_check_alloc(rcgc_new(h, &pair_type));
            p->first = first;
            first = p;
        }
    } else {
        pair *last = first = bench_check_alloc(rcgc_new(h, &pair_type));
        for (long i = 1; i < n; i++) {
            pair *p = bench_check_alloc(rcgc_new(h, &pair_type));
            last->first = p;
            last = p;
        }
    }
    uint64_t t0 = bench_now_ns();
    check_collect(h, 0, "order: the chain was collected");
    double ns = (double)(bench_now_ns() - t0) / (double)n;
    rcgc_decref(first);
    rcgc_heap_free(h);
    bench_count_str(n, nstr, sizeof nstr);
    snprintf(kase, sizeof kase, "order-%s", nstr);
    result(variant, kase, "time_per_object", ns, "ns");
}

/* xorshift64: the slots case_scattered replaces, the same in every run. */
static long next_slot(uint64_t *state, long n)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return (long)(*state % (uint64_t)n);
}

static void case_scattered(const char *variant, long n)
{
    char kase[48], nstr[24];
    rcgc_config cfg = { 0 };
    cfg.no_scratch = strcmp(variant, "rcgc-no-scratch") == 0;
    rcgc_heap *h = bench_check_alloc(rcgc_heap_new(&cfg));
    if (rcgc_set_type_fields(h, &pair_type, pair_fields, 2) != 0)
        bench_fail("levers", "rcgc_set_type_fields failed");
    rcgc_disable(h);
    pair **objs = bench_check_alloc(malloc(sizeof *objs * (size_t)n));
    for (long i = 0; i < n; i++)
        objs[i] = bench_check_alloc(rcgc_new(h, &pair_type));
    uint64_t state = 0x9e3779b97f4a7c15u;
    for (long k = 0; k < 2 * n; k++) {
        long j = next_slot(&state, n);
        rcgc_decref(objs[j]);
        objs[j] = bench_check_alloc(rcgc_new(h, &pair_type));
    }
    for (long i = 0; i < n; i += 2) {
        rcgc_set(&objs[i]->first, objs[i + 1]);
        rcgc_set(&objs[i + 1]->first, objs[i]);
        rcgc_decref(objs[i + 1]);
    }
    check_collect(h, 0, "scattered: a reachable pair was collected");
    uint64_t t0 = bench_now_ns();
    check_collect(h, 0, "scattered: a reachable pair was collected");
    double ns = (double)(bench_now_ns() - t0) / (double)n;
    for (long i = 0; i < n; i += 2)
        rcgc_decref(objs[i]);
    check_collect(h, n, "scattered: the dropped pairs were not all collected");
    free(objs);
    rcgc_heap_free(h);
    bench_count_str(n, nstr, sizeof nstr);
    snprintf(kase, sizeof kase, "scattered-%s", nstr);
    result(variant, kase, "time_per_object", ns, "ns");
}

static void run(const char *kase, const char *variant, long n)
{
    if (strcmp(kase, "fields") == 0)
        case_fields(variant, n);
    else if (strcmp(kase, "items") == 0)
        case_items(variant, n);
    else if (strcmp(kase, "entries") == 0)
        case_entries(variant, n);
    else if (strcmp(kase, "trees") == 0)
        case_trees(variant);
    else if (strcmp(kase, "freeze") == 0)
        case_freeze(variant);
    else if (strcmp(kase, "hooks") == 0)
        case_hooks(variant, n);
    else if (strcmp(kase, "order") == 0)
        case_order(variant, n);
    else if (strcmp(kase, "scattered") == 0)
        case_scattered(variant, n);
    else
        bench_fail("levers", "unknown case");
}

int main(int argc, char **argv)
{
    static const struct {
        const char *kase, *variants[3];
    } all[] = {
        { "fields", { "rcgc", "rcgc-fields" } },
        { "items", { "rcgc", "rcgc-items" } },
        { "entries", { "rcgc", "rcgc-entries" } },
        { "trees", { "rcgc", "rcgc-immutable", "rcgc-untracked" } },
        { "freeze", { "rcgc", "rcgc-frozen" } },
        { "hooks", { "rcgc", "rcgc-destroy", "rcgc-finalizer" } },
        { "order", { "rcgc", "rcgc-prepended" } },
        { "scattered", { "rcgc", "rcgc-no-scratch" } },
    };
    bench_args a = bench_parse(argc, argv);
    const char *kase = bench_arg_str(&a, "case", NULL), *variant = bench_arg_str(&a, "variant", "rcgc");
    long n = bench_arg_long(&a, "n", a.tiny ? 10000 : 1000000);
    tiny = a.tiny;
    n += n & 1;
    if (kase) {
        run(kase, variant, n);
        return 0;
    }
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        for (size_t j = 0; j < 3 && all[i].variants[j]; j++)
            run(all[i].kase, all[i].variants[j], n);
    return 0;
}
