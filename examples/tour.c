/*
 * `make demo`: the article on Python's memory management, retold with rcgc.
 *
 * Each section runs the article's example on an rcgc heap and prints what
 * happens, next to what Python prints for the same code. The last one does
 * the collector's arithmetic by hand with the public API (counts, and the
 * references objects get from each other) and points to the replay that
 * `make demo` runs next: the article's cycle example, every step explained.
 */
#include <rcgc.h>

#include <stdio.h>

/* An object with one reference field, like the article's class whose
   __init__ may store `self.me = self`. */
typedef struct obj {
    void *me;
    int id;
} obj;

static void obj_traverse(void *o, rcgc_visit_fn visit, void *arg)
{
    visit(&((obj *)o)->me, arg);
}

static void obj_destroy(void *o)
{
    if (((obj *)o)->id)
        printf("    destroy %d\n", ((obj *)o)->id);
}

static const rcgc_type obj_type = { "Obj", sizeof(obj), obj_traverse, NULL, obj_destroy };

static obj *obj_new(rcgc_heap *h, int id)
{
    obj *o = rcgc_new(h, &obj_type);
    if (!o) {
        fprintf(stderr, "out of memory\n");
        return NULL;
    }
    o->id = id;
    printf("    create object %d\n", id);
    return o;
}

static void section(const char *title)
{
    printf("\n== %s\n", title);
}

static void print_count(const rcgc_heap *h, const char *when)
{
    size_t c[3];
    rcgc_get_count(h, c);
    printf("    get_count() %-34s (%zu, %zu, %zu)\n", when, c[0], c[1], c[2]);
}

static void count_in_gen(void *o, void *arg)
{
    (void)o;
    ++*(size_t *)arg;
}

static size_t objects_in(rcgc_heap *h, int gen)
{
    size_t n = 0;
    rcgc_get_objects(h, gen, count_in_gen, &n);
    return n;
}

/* The references one object gets from the objects of the generations: what
   the collector subtracts from gc_refs. */
typedef struct internal_count {
    const void *target;
    size_t refs;
} internal_count;

static void count_if_target(void *referent, void *arg)
{
    internal_count *c = arg;
    if (referent == c->target)
        c->refs++;
}

static void count_from(void *o, void *arg)
{
    rcgc_get_referents(o, count_if_target, arg);
}

static void explain_object(rcgc_heap *h, const char *what, obj *o)
{
    internal_count c = { o, 0 };
    rcgc_get_objects(h, -1, count_from, &c);
    size_t rc = rcgc_refcount(o);
    size_t gc_refs = rc - c.refs;
    printf("    %-38s RC %zu - %zu internal = gc_refs %zu: %s\n", what, rc, c.refs, gc_refs,
           gc_refs > 0 ? "reachable" : "unreachable");
}

int main(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    if (!h)
        return 1;
    rcgc_disable(h);

    section("1. Reference counts (article section 2)");
    printf("  Python:  a = Obj(); print(sys.getrefcount(a))  -> 2\n"
           "  sys.getrefcount counts its own argument too, so Python prints one more\n"
           "  than the number of names. rcgc_refcount has no argument to count.\n");
    obj *a = obj_new(h, 1);
    if (!a)
        return 1;
    printf("    a = Obj()        refcount %zu   (Python prints %zu)\n", rcgc_refcount(a), rcgc_refcount(a) + 1);
    void *b = a;
    rcgc_incref(b);
    printf("    b = a            refcount %zu   (Python prints %zu)\n", rcgc_refcount(a), rcgc_refcount(a) + 1);
    void *c = a;
    rcgc_incref(c);
    printf("    c = a            refcount %zu   (Python prints %zu)\n", rcgc_refcount(a), rcgc_refcount(a) + 1);
    rcgc_decref(c);
    printf("    c = 0            refcount %zu   (Python prints %zu)\n", rcgc_refcount(a), rcgc_refcount(a) + 1);
    rcgc_decref(b);
    printf("    b = 0            refcount %zu   (Python prints %zu)\n", rcgc_refcount(a), rcgc_refcount(a) + 1);
    rcgc_decref(a);

    section("2. Release at zero, and the cycle that counting cannot free (section 3)");
    printf("  Without a cycle, `a = 0` frees the object at once: destroy before end.\n");
    a = obj_new(h, 2);
    if (!a)
        return 1;
    rcgc_decref(a);
    printf("    end .....\n");
    printf("  With self.me = self, the count stays at 1 after `a = 0`: end comes first.\n");
    a = obj_new(h, 3);
    if (!a)
        return 1;
    rcgc_set(&a->me, a);
    printf("    refcount with the cycle, before `a = 0`: %zu (Python prints 3)\n", rcgc_refcount(a));
    rcgc_decref(a);
    printf("    refcount after `a = 0`: %zu, self.me's\n", rcgc_refcount(a));
    printf("    end .....\n");
    printf("  Only the collector frees it:\n");
    printf("    gc.collect() -> %td unreachable object(s)\n", rcgc_collect(h, 2));
    printf("  The automatic collector has been off since the tour began (gc.disable()):\n"
           "  counting freed object 2 all the same, and only object 3, in a cycle, had\n"
           "  to wait for gc.collect(). So a program sure to make no cycles may turn the\n"
           "  collector off, as the article says after the gc documentation.\n");

    section("3. Generations and thresholds (section 4)");
    printf("  New containers join generation 0, which is collected most often: by the\n"
           "  generational hypothesis the article cites, most objects become unreachable\n"
           "  soon after they are made, and old objects seldom refer to young ones.\n");
    size_t t[3];
    rcgc_get_threshold(h, t);
    printf("    get_threshold()                             (%zu, %zu, %zu)\n", t[0], t[1], t[2]);
    print_count(h, "after a full collection");
    obj *keep[5];
    for (int i = 0; i < 5; i++)
        if (!(keep[i] = rcgc_new(h, &obj_type)))
            return 1;
    print_count(h, "after 5 new containers");
    rcgc_decref(keep[4]);
    rcgc_decref(keep[3]);
    print_count(h, "after 2 of them are released");
    printf("    objects in generation 0 / 1 / 2:            %zu / %zu / %zu\n",
           objects_in(h, 0), objects_in(h, 1), objects_in(h, 2));
    printf("  A generation-0 collection: the 3 survivors move to generation 1,\n"
           "  and generation 1's counter goes up by one.\n");
    printf("    gc.collect(0) -> %td\n", rcgc_collect(h, 0));
    print_count(h, "after collect(0)");
    printf("    objects in generation 0 / 1 / 2:            %zu / %zu / %zu\n",
           objects_in(h, 0), objects_in(h, 1), objects_in(h, 2));
    printf("    gc.collect(1) -> %td\n", rcgc_collect(h, 1));
    print_count(h, "after collect(1)");
    printf("    objects in generation 0 / 1 / 2:            %zu / %zu / %zu\n",
           objects_in(h, 0), objects_in(h, 1), objects_in(h, 2));
    for (int i = 0; i < 3; i++)
        rcgc_decref(keep[i]);

    section("4. Automatic collection at the 701st container (section 5)");
    printf("  A chain of containers, each referring to the previous one, all alive.\n");
    rcgc_enable(h);
    rcgc_collect(h, 2);
    rcgc_gen_stats before[3], after[3];
    rcgc_get_stats(h, before);
    obj *chain = NULL;
    for (int i = 1; i <= 701; i++) {
        obj *o = rcgc_new(h, &obj_type);
        if (!o)
            return 1;
        o->me = chain;  /* takes over the reference to the previous link */
        chain = o;
        rcgc_get_stats(h, after);
        if (i == 700)
            print_count(h, "after 700 containers");
        if (after[0].collections != before[0].collections) {
            printf("    container #%d pushed count0 past 700: generation 0 was collected\n", i);
            break;
        }
    }
    print_count(h, "after container #701");
    printf("    objects in generation 0 / 1 / 2:            %zu / %zu / %zu\n",
           objects_in(h, 0), objects_in(h, 1), objects_in(h, 2));
    printf("  The 700 survivors went to generation 1. The collection ran inside #701's\n"
           "  allocation, before #701 was tracked, so it was not examined, and it is the\n"
           "  only one in generation 0.\n");

    printf("\n  Going on with the chain, every 701st container starts a collection, and\n"
           "  it collects the oldest generation whose counter is over its threshold\n"
           "  (collect_generations): generation 1 once 11 collections of generation 0\n"
           "  have run since its own, generation 2 once 11 of generation 1 have.\n");
    size_t gen1_runs = after[1].collections, gen2_runs = after[2].collections;
    for (int i = 702; gen2_runs == after[2].collections; i++) {
        size_t was[3];
        rcgc_get_count(h, was);
        obj *o = rcgc_new(h, &obj_type);
        if (!o)
            return 1;
        o->me = chain;
        chain = o;
        if (i == 5000)
            print_count(h, "after container #5000");
        rcgc_get_stats(h, after);
        if (after[1].collections != gen1_runs && gen1_runs == before[1].collections)
            printf("    container #%d: generation 1 collected; just before, get_count() was (%zu, %zu, %zu)\n",
                   i, was[0], was[1], was[2]);
        gen1_runs = after[1].collections;
        if (after[2].collections != gen2_runs)
            printf("    container #%d: generation 2 collected; just before, get_count() was (%zu, %zu, %zu)\n",
                   i, was[0], was[1], was[2]);
    }
    printf("  That is the 12th and the 133rd collection (12 x 701 = 8412, 133 x 701 =\n"
           "  93233). CPython 3.11, running the same program with a __slots__ class,\n"
           "  collects generation 1 at container 8410 and generation 2 at 93231, and\n"
           "  shows (94, 7, 0) at #5000: the interpreter's own allocations count in\n"
           "  generation 0 too.\n");
    rcgc_decref(chain);

    section("5. How the collector finds the cycle (section 5)");
    printf("  It copies each reference count (RC) into gc_refs, then subtracts the\n"
           "  references that come from the objects it examines (an object's reference\n"
           "  to itself too). What is left counts references from outside: gc_refs > 0\n"
           "  is reachable, and so is everything a reachable object refers to; the rest\n"
           "  is unreachable.\n");
    rcgc_disable(h);
    obj *cyc = obj_new(h, 4);
    obj *named = obj_new(h, 5);
    if (!cyc || !named)
        return 1;
    rcgc_set(&cyc->me, cyc);
    rcgc_decref(cyc);
    explain_object(h, "object 4 (self.me = self, then a = 0)", cyc);
    explain_object(h, "object 5 (still bound to a name)", named);
    printf("    gc.collect(0) -> %td unreachable object(s)\n", rcgc_collect(h, 0));
    rcgc_decref(named);
    rcgc_heap_free(h);

    printf("\nNext, the article's cycle example as a heap trace, every collection explained\n"
           "step by step and the heap drawn after each operation (what `make demo` runs):\n"
           "    rcgc replay --explain --dot DIR examples/article-cycle.trace\n"
           "The pictures are DIR/step-NNNN.dot (and .svg when Graphviz is installed);\n"
           "`--html FILE` makes one page to step through with the arrow keys.\n");
    printf("\nDone.\n");
    return 0;
}
