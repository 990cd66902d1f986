/*
 * A program built against an installed rcgc (tests/install/check.sh builds it
 * with find_package(rcgc) and with pkg-config). It prints the linked library's
 * version, checks that the header's inline reference counting agrees with the
 * library (it would not if the program were compiled without the flags the
 * library was built with), and collects a two-object cycle watched by a weak
 * reference. Any disagreement makes it exit with status 1.
 */
#include <rcgc.h>

#include <stdio.h>

typedef struct pair {
    void *first, *second;
} pair;

static void pair_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    pair *p = obj;
    visit(&p->first, arg);
    visit(&p->second, arg);
}

static const rcgc_type pair_type = { "pair", sizeof(pair), pair_traverse, NULL, NULL };

static void on_death(void *weakref, void *data)
{
    (void)weakref;
    ++*(int *)data;
}

int main(void)
{
    int failures = 0;
    int v = rcgc_version();
    printf("rcgc %d.%d.%d\n", v / 10000, v / 100 % 100, v % 100);
    if (v != RCGC_VERSION) {
        printf("the header is version %d, the library %d\n", RCGC_VERSION, v);
        failures++;
    }

    rcgc_heap *h = rcgc_heap_new(NULL);
    if (!h)
        return 1;
    pair *a = rcgc_new(h, &pair_type);
    pair *b = rcgc_new(h, &pair_type);
    if (!a || !b)
        return 1;
    rcgc_incref(a);
    printf("refcount after incref: %zu\n", rcgc_refcount(a));
    rcgc_decref(a);
    if (rcgc_refcount(a) != 1)
        failures++;

    int deaths = 0;
    void *wr = rcgc_weakref_new(a, on_death, &deaths);
    if (!wr)
        return 1;
    rcgc_set(&a->first, b);
    rcgc_set(&b->first, a);
    rcgc_decref(a);
    rcgc_decref(b);
    ptrdiff_t n = rcgc_collect(h, 2);
    void *referent = rcgc_weakref_get(wr);
    printf("cycle collected: %td\n", n);
    printf("weak reference callback: %d, referent gone: %s\n", deaths, referent ? "no" : "yes");
    rcgc_xdecref(referent);
    rcgc_decref(wr);
    rcgc_heap_free(h);
    return failures ? 1 : 0;
}
