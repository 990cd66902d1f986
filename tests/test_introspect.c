/*
 * Introspection (issue 3): rcgc_get_objects per generation and for all (-1),
 * in generation-list order (creation order within a generation, and the list
 * orders a collection leaves: S52, S53); rcgc_get_referents in traverse
 * order with NULL fields skipped (S37); rcgc_get_referrers (generations 0..2
 * only: not frozen, not untracked; each referrer once); rcgc_is_tracked,
 * rcgc_track, rcgc_untrack.
 *
 * Expected values come from CPython 3.11 (../shared/reference/cpython-gc.md
 * 1.2, 1.4, 1.5, 1.11, 1.13 and 3.2).
 */
#include "rcgc.h"
#include "common.h"

#include <stdlib.h>
#include <string.h>

/* A list-like type that visits its items last to first, as CPython's list
   does (S37: get_referents(lst) gives [b, a]). */
typedef struct rlist {
    void *item[3];
} rlist;

static void rlist_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    rlist *l = obj;
    for (int i = 2; i >= 0; i--)
        visit(&l->item[i], arg);
}

static const rcgc_type rlist_type = { "rlist", sizeof(rlist), rlist_traverse, NULL, NULL };

static const rcgc_type leaf_type = { "leaf", 16, NULL, NULL, NULL };

/* Collects what a visitor is given, in order. */
typedef struct seq {
    void *items[64];
    size_t n;           /* calls, even past the capacity */
} seq;

static void seq_fn(void *obj, void *arg)
{
    seq *s = arg;
    if (s->n < sizeof s->items / sizeof s->items[0])
        s->items[s->n] = obj;
    s->n++;
}

/* Whether the visitor saw exactly `expected` (k objects) in that order. */
static int seq_is(const seq *s, void *const *expected, size_t k)
{
    if (s->n != k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (s->items[i] != expected[i])
            return 0;
    return 1;
}

static size_t seq_count(const seq *s, const void *obj)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n && i < sizeof s->items / sizeof s->items[0]; i++)
        if (s->items[i] == obj)
            k++;
    return k;
}

static void print_seq(const char *what, const seq *s)
{
    fprintf(stderr, "%s:", what);
    for (size_t i = 0; i < s->n && i < sizeof s->items / sizeof s->items[0]; i++)
        fprintf(stderr, " %p", s->items[i]);
    fprintf(stderr, " (%zu)\n", s->n);
}

static seq objects_of(rcgc_heap *h, int generation)
{
    seq s;
    memset(&s, 0, sizeof s);
    size_t n = rcgc_get_objects(h, generation, seq_fn, &s);
    CHECK_EQ(n, s.n);
    return s;
}

#define CHECK_SEQ(s, ...) do { \
    void *const exp_[] = { __VA_ARGS__ }; \
    int ok_ = seq_is(&(s), exp_, sizeof exp_ / sizeof exp_[0]); \
    if (!ok_) print_seq(#s, &(s)); \
    CHECK(ok_); \
    } while (0)

#define CHECK_EMPTY(s) CHECK_EQ((s).n, 0)

/* ------------------------------------------------------------------------- */
/* get_objects                                                               */
/* ------------------------------------------------------------------------- */

/* Objects in generations 2, 1 and 0; each listed in its own generation in
   creation order; -1 lists generation 0, then 1, then 2 (gc_get_objects_impl
   walks the generations from 0); other generation numbers list nothing. */
static void test_get_objects_generations(void)
{
    rcgc_heap *h = fresh_heap();
    if (!h) return;
    node *o1 = new_node(h, NULL), *o2 = new_node(h, NULL), *o3 = new_node(h, NULL);
    CHECK_EQ(rcgc_collect(h, 1), 0);       /* o1..o3 -> generation 2 */
    node *o4 = new_node(h, NULL), *o5 = new_node(h, NULL);
    CHECK_EQ(rcgc_collect(h, 0), 0);       /* o4, o5 -> generation 1 */
    node *o6 = new_node(h, NULL), *o7 = new_node(h, NULL), *o8 = new_node(h, NULL);
    void *leaf = rcgc_new(h, &leaf_type);  /* never listed */
    CHECK(leaf != NULL);

    seq g0 = objects_of(h, 0), g1 = objects_of(h, 1), g2 = objects_of(h, 2);
    seq all = objects_of(h, -1);
    CHECK_SEQ(g0, o6, o7, o8);
    CHECK_SEQ(g1, o4, o5);
    CHECK_SEQ(g2, o1, o2, o3);
    CHECK_SEQ(all, o6, o7, o8, o4, o5, o1, o2, o3);

    static const int bad[] = { 3, 4, -2, 100, -100 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        seq s = objects_of(h, bad[i]);
        CHECK_EMPTY(s);
    }

    node *all_nodes[] = { o1, o2, o3, o4, o5, o6, o7, o8 };
    for (int i = 0; i < 8; i++)
        rcgc_decref(all_nodes[i]);
    rcgc_decref(leaf);
    seq none = objects_of(h, -1);
    CHECK_EMPTY(none);
    rcgc_heap_free(h);
}

/* Creation order within generation 0 for many objects, and deallocation
   removes from the middle without disturbing the order. */
static void test_get_objects_creation_order(void)
{
    enum { N = 60 };
    rcgc_heap *h = fresh_heap();
    if (!h) return;
    node *n[N];
    for (int i = 0; i < N; i++)
        n[i] = new_node(h, NULL);
    seq s = objects_of(h, 0);
    CHECK(seq_is(&s, (void *const *)n, N));
    /* drop every third */
    void *rest[N];
    size_t k = 0;
    for (int i = 0; i < N; i++) {
        if (i % 3 == 1) rcgc_decref(n[i]);
        else rest[k++] = n[i];
    }
    s = objects_of(h, 0);
    CHECK(seq_is(&s, rest, k));
    /* after collect(0), generation 1 has them in the same order (all held
       from outside: move_unreachable leaves them in place) */
    CHECK_EQ(rcgc_collect(h, 0), 0);
    s = objects_of(h, 1);
    CHECK(seq_is(&s, rest, k));
    s = objects_of(h, 0);
    CHECK_EMPTY(s);
    for (size_t i = 0; i < k; i++)
        rcgc_decref(rest[i]);
    rcgc_heap_free(h);
}

/* S53 / 1.5: A, B, C created in that order with C -> B -> A and only C held
   from outside: collect(0) leaves generation 1 in the order C, B, A (objects
   reached from a reachable one are moved to the tail of the young list). */
static void test_order_after_move_unreachable(void)
{
    rcgc_heap *h = fresh_heap();
    if (!h) return;
    node *A = new_node(h, NULL), *B = new_node(h, NULL), *C = new_node(h, NULL);
    rcgc_set(&C->a, B);
    rcgc_set(&B->a, A);
    rcgc_decref(A);
    rcgc_decref(B);
    seq s = objects_of(h, 0);
    CHECK_SEQ(s, A, B, C);
    CHECK_EQ(rcgc_collect(h, 0), 0);
    s = objects_of(h, 1);
    CHECK_SEQ(s, C, B, A);
    rcgc_decref(C);
    s = objects_of(h, -1);
    CHECK_EMPTY(s);
    rcgc_heap_free(h);
}

/* S52 / 1.4 step 3: a full collection scans generation 2, then 0, then 1;
   survivors held from outside keep that order in generation 2. A collection
   of generation 1 appends generation 0 to generation 1 and the survivors to
   the tail of generation 2. */
static void test_order_after_merge(void)
{
    rcgc_heap *h = fresh_heap();
    if (!h) return;
    node *X = new_node(h, NULL);
    CHECK_EQ(rcgc_collect(h, 2), 0);       /* X: generation 2 */
    node *Y = new_node(h, NULL);
    CHECK_EQ(rcgc_collect(h, 0), 0);       /* Y: generation 1 */
    node *Z = new_node(h, NULL);           /* Z: generation 0 */
    CHECK_EQ(rcgc_collect(h, 2), 0);
    seq s = objects_of(h, 2);
    CHECK_SEQ(s, X, Z, Y);

    node *P = new_node(h, NULL);
    CHECK_EQ(rcgc_collect(h, 0), 0);       /* P: generation 1 */
    node *Q = new_node(h, NULL);           /* Q: generation 0 */
    CHECK_EQ(rcgc_collect(h, 1), 0);
    s = objects_of(h, 2);
    CHECK_SEQ(s, X, Z, Y, P, Q);
    s = objects_of(h, 1);
    CHECK_EMPTY(s);

    rcgc_decref(X); rcgc_decref(Y); rcgc_decref(Z); rcgc_decref(P); rcgc_decref(Q);
    rcgc_heap_free(h);
}

/* ------------------------------------------------------------------------- */
/* get_referents                                                             */
/* ------------------------------------------------------------------------- */

/* S37: a.a = b, a.c = b -> [b, b, ...] in traverse order, NULL fields
   skipped; a list-like type visiting last to first gives [b, a]; an object
   without traverse has none. Tracking does not matter: referents come from
   traverse. */
static void test_get_referents(void)
{
    rcgc_heap *h = fresh_heap();
    if (!h) return;
    node *a = new_node(h, NULL), *b = new_node(h, NULL);
    void *x = rcgc_new(h, &leaf_type);
    CHECK(x != NULL);
    rcgc_set(&a->a, b);
    rcgc_set(&a->c, b);
    seq s;
    memset(&s, 0, sizeof s);
    rcgc_get_referents(a, seq_fn, &s);
    CHECK_SEQ(s, b, b);

    rcgc_set(&a->d, x);                    /* non-container referents too */
    memset(&s, 0, sizeof s);
    rcgc_get_referents(a, seq_fn, &s);
    CHECK_SEQ(s, b, b, x);

    rcgc_set(&a->b, a);                    /* itself */
    memset(&s, 0, sizeof s);
    rcgc_get_referents(a, seq_fn, &s);
    CHECK_SEQ(s, b, a, b, x);
    rcgc_clear(&a->b);

    rlist *lst = rcgc_new(h, &rlist_type);
    CHECK(lst != NULL);
    if (lst) {
        rcgc_set(&lst->item[0], a);
        rcgc_set(&lst->item[1], b);
        memset(&s, 0, sizeof s);
        rcgc_get_referents(lst, seq_fn, &s);
        CHECK_SEQ(s, b, a);
    }

    memset(&s, 0, sizeof s);
    rcgc_get_referents(b, seq_fn, &s);     /* all fields NULL */
    CHECK_EMPTY(s);
    memset(&s, 0, sizeof s);
    rcgc_get_referents(x, seq_fn, &s);     /* no traverse */
    CHECK_EMPTY(s);

    /* untracked, frozen and immortal objects still report their referents */
    rcgc_untrack(a);
    memset(&s, 0, sizeof s);
    rcgc_get_referents(a, seq_fn, &s);
    CHECK_SEQ(s, b, b, x);
    rcgc_track(a);
    rcgc_freeze(h);
    memset(&s, 0, sizeof s);
    rcgc_get_referents(a, seq_fn, &s);
    CHECK_SEQ(s, b, b, x);
    rcgc_unfreeze(h);
    node *imm = new_node(h, NULL);
    rcgc_set(&imm->b, b);
    rcgc_make_immortal(imm);
    memset(&s, 0, sizeof s);
    rcgc_get_referents(imm, seq_fn, &s);
    CHECK_SEQ(s, b);

    /* references are unchanged by introspection */
    CHECK_EQ(rcgc_refcount(b), 5);         /* us, a.a, a.c, lst, imm */
    CHECK_EQ(rcgc_refcount(a), 2);         /* us, lst */

    if (lst) rcgc_decref(lst);
    rcgc_decref(a);
    rcgc_decref(b);
    rcgc_decref(x);
    rcgc_heap_free(h);
}

/* ------------------------------------------------------------------------- */
/* get_referrers                                                             */
/* ------------------------------------------------------------------------- */

static void test_get_referrers(void)
{
    rcgc_heap *h = fresh_heap();
    if (!h) return;
    node *a = new_node(h, NULL), *b = new_node(h, NULL);
    rlist *lst = rcgc_new(h, &rlist_type);
    CHECK(lst != NULL);
    if (!lst) { rcgc_heap_free(h); return; }
    rcgc_set(&a->a, b);
    rcgc_set(&a->c, b);                    /* a refers to b twice */
    rcgc_set(&lst->item[0], a);
    rcgc_set(&lst->item[1], b);

    seq s;
    memset(&s, 0, sizeof s);
    CHECK_EQ(rcgc_get_referrers(h, b, seq_fn, &s), 2);
    CHECK_EQ(s.n, 2);
    CHECK_EQ(seq_count(&s, a), 1);
    CHECK_EQ(seq_count(&s, lst), 1);

    memset(&s, 0, sizeof s);
    CHECK_EQ(rcgc_get_referrers(h, a, seq_fn, &s), 1);
    CHECK_SEQ(s, lst);
    memset(&s, 0, sizeof s);
    CHECK_EQ(rcgc_get_referrers(h, lst, seq_fn, &s), 0);
    CHECK_EMPTY(s);
    /* a, b and lst have NULL fields, which refer to nothing */
    CHECK_EQ(rcgc_get_referrers(h, NULL, seq_fn, &s), 0);
    CHECK_EMPTY(s);

    /* referrers in every generation are found */
    node *c = new_node(h, NULL);
    rcgc_set(&c->b, b);
    CHECK_EQ(rcgc_collect(h, 1), 0);       /* a, b, lst, c -> generation 2 */
    node *d = new_node(h, NULL);
    rcgc_set(&d->d, b);
    CHECK_EQ(rcgc_collect(h, 0), 0);       /* d -> generation 1 */
    node *e = new_node(h, NULL);
    rcgc_set(&e->a, b);                    /* e: generation 0 */
    memset(&s, 0, sizeof s);
    CHECK_EQ(rcgc_get_referrers(h, b, seq_fn, &s), 5);
    CHECK_EQ(seq_count(&s, a), 1);
    CHECK_EQ(seq_count(&s, lst), 1);
    CHECK_EQ(seq_count(&s, c), 1);
    CHECK_EQ(seq_count(&s, d), 1);
    CHECK_EQ(seq_count(&s, e), 1);

    /* a self-reference makes an object its own referrer */
    rcgc_set(&b->a, b);
    memset(&s, 0, sizeof s);
    CHECK_EQ(rcgc_get_referrers(h, b, seq_fn, &s), 6);
    CHECK_EQ(seq_count(&s, b), 1);
    rcgc_clear(&b->a);

    /* untracked referrers are not found */
    rcgc_untrack(e);
    memset(&s, 0, sizeof s);
    CHECK_EQ(rcgc_get_referrers(h, b, seq_fn, &s), 4);
    CHECK_EQ(seq_count(&s, e), 0);
    rcgc_track(e);
    memset(&s, 0, sizeof s);
    CHECK_EQ(rcgc_get_referrers(h, b, seq_fn, &s), 5);
    CHECK_EQ(seq_count(&s, e), 1);

    /* immortal referrers are untracked: not found */
    node *imm = new_node(h, NULL);
    rcgc_set(&imm->a, b);
    rcgc_make_immortal(imm);
    memset(&s, 0, sizeof s);
    CHECK_EQ(rcgc_get_referrers(h, b, seq_fn, &s), 5);
    CHECK_EQ(seq_count(&s, imm), 0);

    /* frozen referrers are not found (generations 0..2 only); a referrer
       made after the freeze is */
    rcgc_freeze(h);
    memset(&s, 0, sizeof s);
    CHECK_EQ(rcgc_get_referrers(h, b, seq_fn, &s), 0);
    CHECK_EMPTY(s);
    node *f = new_node(h, NULL);
    rcgc_set(&f->c, b);
    memset(&s, 0, sizeof s);
    CHECK_EQ(rcgc_get_referrers(h, b, seq_fn, &s), 1);
    CHECK_SEQ(s, f);
    rcgc_unfreeze(h);
    memset(&s, 0, sizeof s);
    CHECK_EQ(rcgc_get_referrers(h, b, seq_fn, &s), 6);

    /* referrers of an object without traverse */
    void *x = rcgc_new(h, &leaf_type);
    CHECK(x != NULL);
    rcgc_set(&f->d, x);
    memset(&s, 0, sizeof s);
    CHECK_EQ(rcgc_get_referrers(h, x, seq_fn, &s), 1);
    CHECK_SEQ(s, f);
    rcgc_decref(x);

    node *objs[] = { a, b, c, d, e, f };
    rcgc_decref(lst);
    for (int i = 0; i < 6; i++)
        rcgc_decref(objs[i]);
    rcgc_heap_free(h);
}

/* ------------------------------------------------------------------------- */
/* Tracking                                                                  */
/* ------------------------------------------------------------------------- */

static void test_track_untrack(void)
{
    rcgc_heap *h = fresh_heap();
    if (!h) return;
    size_t destroyed = 0;
    node *a = new_node(h, &destroyed), *b = new_node(h, &destroyed), *c = new_node(h, &destroyed);
    CHECK(rcgc_is_tracked(a));
    seq s = objects_of(h, 0);
    CHECK_SEQ(s, a, b, c);

    rcgc_untrack(b);
    CHECK(!rcgc_is_tracked(b));
    rcgc_untrack(b);                       /* idempotent */
    CHECK(!rcgc_is_tracked(b));
    s = objects_of(h, -1);
    CHECK_SEQ(s, a, c);

    rcgc_track(b);                         /* appended at the tail of generation 0 */
    CHECK(rcgc_is_tracked(b));
    s = objects_of(h, 0);
    CHECK_SEQ(s, a, c, b);
    rcgc_track(b);                         /* already tracked: no-op */
    s = objects_of(h, -1);
    CHECK_SEQ(s, a, c, b);

    /* an old object untracked and tracked again goes to generation 0 */
    CHECK_EQ(rcgc_collect(h, 2), 0);
    s = objects_of(h, 2);
    CHECK_SEQ(s, a, c, b);
    rcgc_untrack(c);
    rcgc_track(c);
    s = objects_of(h, 0);
    CHECK_SEQ(s, c);
    s = objects_of(h, 2);
    CHECK_SEQ(s, a, b);

    /* an untracked cycle is never collected */
    rcgc_set(&a->a, a);
    rcgc_untrack(a);
    rcgc_decref(a);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK_EQ(destroyed, 0);

    /* an untracked object's references count as external: b is held only by
       the untracked a and by its own self-reference */
    rcgc_set(&a->b, b);
    rcgc_set(&b->a, b);
    rcgc_decref(b);
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK_EQ(destroyed, 0);
    CHECK(rcgc_is_tracked(b));

    /* an untracked object referred to only by a garbage cycle dies with it
       by refcount and is not counted */
    node *p = new_node(h, &destroyed), *q = new_node(h, &destroyed), *u = new_node(h, &destroyed);
    rcgc_untrack(u);
    link_pair(p, q);
    rcgc_set(&p->b, u);
    rcgc_decref(p); rcgc_decref(q); rcgc_decref(u);
    CHECK_EQ(rcgc_collect(h, 2), 2);
    CHECK_EQ(destroyed, 3);

    rcgc_decref(c);
    CHECK_EQ(destroyed, 4);
    /* a (untracked self-cycle) and b (held by it) are left for heap_free */
    rcgc_heap_free(h);
    CHECK_EQ(destroyed, 6);
}

/* An object can be untracked and tracked again any number of times while the
   collector runs between: it is examined exactly when tracked. */
static void test_retrack_cycle_is_collected(void)
{
    rcgc_heap *h = fresh_heap();
    if (!h) return;
    size_t destroyed = 0;
    node *r[4];
    for (int i = 0; i < 4; i++) r[i] = new_node(h, &destroyed);
    for (int i = 0; i < 4; i++) rcgc_set(&r[i]->a, r[(i + 1) % 4]);
    rcgc_untrack(r[2]);
    for (int i = 0; i < 4; i++) rcgc_decref(r[i]);
    /* r[2] untracked: its reference to r[3] is external, so nothing goes */
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK_EQ(destroyed, 0);
    rcgc_track(r[2]);
    CHECK_EQ(rcgc_collect(h, 0), 0);       /* r[2] in gen 0, held by r[1] in gen 2 */
    CHECK_EQ(destroyed, 0);
    CHECK_EQ(rcgc_collect(h, 2), 4);
    CHECK_EQ(destroyed, 4);
    rcgc_heap_free(h);
}

int main(void)
{
    TEST(test_get_objects_generations);
    TEST(test_get_objects_creation_order);
    TEST(test_order_after_move_unreachable);
    TEST(test_order_after_merge);
    TEST(test_get_referents);
    TEST(test_get_referrers);
    TEST(test_track_untrack);
    TEST(test_retrack_cycle_is_collected);
    return check_summary();
}
