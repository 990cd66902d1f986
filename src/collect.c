/*
 * The cycle collector: CPython 3.11's generational algorithm (Modules/gcmodule.c)
 * on rcgc's 16-byte headers. Read collect_main() first.
 *
 * Generations are circular lists threaded through the headers (next/prev, as
 * compressed references). New containers are appended to generation 0. A
 * collection of generation g:
 *   1. merges the younger generations into g (appending, so a full collection
 *      scans gen2, then gen0, then gen1, as CPython does);
 *   2. finds the unreachable objects, the article's algorithm: copy each
 *      count into gc_refs (update_refs), subtract the references that come
 *      from inside the examined set (subtract_refs), then keep every object
 *      with gc_refs > 0 and everything reachable from it, moving the rest to
 *      the `unreachable` list (move_unreachable). The first two are one walk
 *      (update_subtract_refs): the examined set is every tracked object of
 *      generations 0..g that is neither frozen (F_FROZEN) nor waiting in the
 *      trash list (F_PENDING), which a visit can tell from the header (the
 *      generation bits of info), so gc_refs is initialised at an object's
 *      first visit or turn, whichever comes first, and F_COLLECTING says it
 *      has been. A type whose field offsets or items the heap knows
 *      (rcgc_set_type_fields, rcgc_set_type_items) is visited without calling
 *      its traverse.
 *      When the walk finds the set to be a forest built bottom up (each
 *      object referred to from inside the set is referred to by one object
 *      only, later in the list, and by nothing else), all of it is
 *      reachable, and relink_forest leaves it in move_unreachable's order
 *      without parking anything. When it finds that move_unreachable would
 *      park nothing (every object whose gc_refs end at 0 is referred to by
 *      one that the walk, in the list's order, reached before it), keep_all
 *      keeps every object where it is without visiting its fields. A full
 *      collection of a large heap whose list the last one found out of
 *      address order reads the list's links from a table it fills in
 *      address order (borrow_links, move_unreachable_linked);
 *   3. moves the survivors into the next generation (promotion), untracking
 *      those of RCGC_TYPE_IMMUTABLE types that hold nothing tracked; when the
 *      examined set is a forest of such objects built bottom up, which steps
 *      2 and 3 would find all reachable and untrack one and all, it is
 *      untracked at once (untrack_forest);
 *   4. clears weak references to the unreachable objects and calls their
 *      callbacks (weakref.c), runs finalizers, and repeats step 2, as separate
 *      walks (deduce_unreachable), on the unreachable set to find what they
 *      resurrected, which survives;
 *   5. clears the references held by the rest, in list order, so that the
 *      cycles fall apart by reference counting (delete_garbage); when nothing
 *      can watch that happen, it frees the set in bulk (bulk_delete), in the
 *      order of the pages when the set is most of the heap
 *      (bulk_delete_pages). When the walk over the pages finds every
 *      examined object at gc_refs 0 and none with hooks, the whole set is
 *      such garbage: move_unreachable and its list are skipped
 *      (SHAPE_GARBAGE).
 * gc_refs lives in `prev` while an object is being examined; F_COLLECTING marks
 * the examined set and F_UNREACHABLE the tentatively unreachable objects
 * (but while bulk_delete_pages frees SHAPE_GARBAGE's set, the objects whose
 * turn has passed, which are freed before it ends).
 * F_UNREACHABLE means something only inside move_unreachable: the objects found
 * unreachable keep it (no pass just to clear it) until they leave the set, and
 * every way out clears it (update_refs for a second analysis, delete_garbage's
 * move to old, untracking, rcgc_make_immortal, release). move_unreachable
 * works out the size of the unreachable set (from the size of young, which
 * the gc_refs walk counts) and notes whether it holds an object with a
 * finalizer or other hooks, so in the common case (no finalizer, no
 * weak-reference callback) the set is walked once more, by delete_garbage
 * or bulk_delete.
 *
 * Invariants between collections: every tracked object is in exactly one of
 * gen[0..2] or permanent, with F_COLLECTING and F_UNREACHABLE clear (the
 * single walk of step 2 depends on it), its generation bits equal to its
 * list's generation and a valid `prev`; F_FROZEN is set exactly on the
 * objects of permanent. During step 2, the examined list is singly linked
 * (prev is gc_refs) except for its head's prev, which stays the tail, and
 * an examined object's generation bits are free: they hold WALKED, or its
 * old generation, until it leaves the set with its new one.
 *
 * No step allocates memory but borrow_links, and a collection goes on without
 * the table when it cannot have it, so a collection always completes. (The
 * debug flags' work allocates too, and does without when refused:
 * RCGC_DEBUG_SAVEALL's list leaves a survivor out of it, and
 * RCGC_DEBUG_COLLECTABLE's report of components says it was skipped.)
 */
#include "internal.h"

/* ---- Finding unreachable objects ------------------------------------------- */

/* Puts x in the examined set: gc_refs = its count. F_UNREACHABLE may be left
   over from an earlier analysis of the same objects (see collect_main): it is
   cleared here, before move_unreachable relies on it. mark is 0 or WALKED. */
static inline void begin_examining(rcgc_heap *h, head_t *x, uint32_t mark)
{
#ifdef RCGC_DEBUG
    if (x->refcnt == 0)
        rcgc__dbg_tracked_zero(h, x);
#else
    (void)h;
#endif
    x->prev = x->refcnt;
    x->info = (x->info | F_COLLECTING | mark) & ~(uint32_t)F_UNREACHABLE;
}

/* In the first analysis, the mark of an examined object that the walk reached
   before any reference to it from the set: the generation bits, which read 3
   (no generation). An examined object's generation is never read (only
   F_COLLECTING is), and every object leaves the set with its generation
   written again (keep_survivor, set_gen) or is freed. */
#define WALKED GEN_MASK

/* The bits of an object's info that say its release runs code: its type has
   a finalizer or a destroy, or is the weak-reference type, or weak references
   refer to it. */
#define HOOKS_IN_INFO ((uint32_t)TB_HOOKS << TYPE_SHIFT | F_WEAKREFS)

/* gc_refs = refcount, and mark the set being examined. Returns its size. */
static size_t update_refs(rcgc_heap *h, head_t *young)
{
    size_t n = 0;
    uint32_t end = ref_of(young);
    for (uint32_t r = young->next; r != end; n++) {
        head_t *x = ref_ptr(h, r);
        begin_examining(h, x, 0);
        r = x->next;
    }
    return n;
}

/* A reference from an examined object to x, which is not examined: unless x
   is a leaf that nothing can watch die, releasing the reference could run code
   or free more, so delete_garbage must keep CPython's order (see
   bulk_delete). Noted by the first analysis only: after a second one (when
   user code ran) the set is never freed in bulk. */
static inline void note_outside_ref(rcgc_heap *h, const head_t *x)
{
    if (!h->outside_refs && (x->info & (TYPE_KIND_MASK | F_WEAKREFS)))
        h->outside_refs = true;
}

static inline void visit_decref(void **slot, void *arg)
{
    void *v = *slot;
    if (v) {
        head_t *x = head_of(v);
#ifdef RCGC_DEBUG
        rcgc_heap *h = arg;
        rcgc__dbg_visited(h, h->traversing, v);
        if ((x->info & F_COLLECTING) && x->prev == 0)
            rcgc__dbg_gc_refs_negative(h, x);
#else
        (void)arg;
#endif
        if (x->info & F_COLLECTING)
            x->prev--;
    }
}

/* Subtract the references that come from inside the examined set. */
static void subtract_refs(rcgc_heap *h, head_t *young)
{
    uint32_t end = ref_of(young);
    for (uint32_t r = young->next; r != end;) {
        head_t *x = ref_ptr(h, r);
        each_field(h, x, visit_decref, h);
        r = x->next;
    }
}

/* Whether x, a live object, is examined by a full collection: tracked, and
   neither frozen nor in the trash list. */
static inline bool examined_in_full(const head_t *x)
{
    return x->next && !(x->info & (F_PENDING | F_FROZEN));
}

/* Whether x keeps an immutable object that refers to it from being
   untracked, as CPython's _PyObject_GC_MAY_BE_TRACKED: an object of an
   immutable type (a tuple) when it is tracked (in a generation list, not in
   the trash list); any other container even when untracked, since the
   program may track it again, as a dict tracks itself again; never a leaf
   or an immortal object, which cannot be tracked. immutable_index is a type
   known to be immutable (0: none), which spares the type table. */
static inline bool may_be_tracked(const rcgc_heap *h, const head_t *x, uint32_t immutable_index)
{
    uint32_t info = x->info;
    if (x->next && !(info & F_PENDING))
        return true;
    if ((info & ((uint32_t)TB_CONTAINER << TYPE_SHIFT | F_IMMORTAL)) != (uint32_t)TB_CONTAINER << TYPE_SHIFT)
        return false;
    uint32_t index = info >> TYPE_SHIFT;
    return index != immutable_index && !(h->types[index].bits & TB_IMMUTABLE);
}

/* What update_subtract_refs finds of the shape of the examined set. */
typedef struct forest_ctx {
    rcgc_heap *h;
    const head_t *x;        /* the object whose fields are visited */
    bool forest;            /* a forest built bottom up, so far (relink_forest) */
    bool immutable;         /* of immutable objects that refer to nothing else
                               that may be tracked, so far (untrack_forest) */
    uint32_t parks;         /* nonzero once an object may be parked (SHAPE_KEPT);
                               not kept while the walk checks for a forest */
    uint32_t immutable_index;   /* the last type the walk found immutable, whose
                                   objects skip the type table's bits; 0 (the
                                   free blocks' type, which no examined object
                                   has) at first */
} forest_ctx;

/* The shapes of the examined set that update_subtract_refs tells collect_main. */
enum {
    SHAPE_ANY,              /* move_unreachable */
    SHAPE_FOREST,           /* relink_forest */
    SHAPE_IMMUTABLE_FOREST, /* untrack_forest */
    SHAPE_KEPT,             /* keep_all: move_unreachable would park nothing */
    SHAPE_GARBAGE           /* nothing reachable, no hooks: bulk_delete_pages
                               frees the set without a list */
};

/* visit_decref for update_subtract_refs: an examined object not reached yet
   gets gc_refs = its count, less this reference. The examined objects are the
   tracked ones of generations 0..h->collect_gen that are neither frozen nor
   waiting in the trash list, all of which the header tells; with every_gen
   (a full collection) the generation is not looked at. With a forest_ctx, it
   also checks the shape of a forest on the reference from c->x: an examined
   object it refers to was reached by the walk already (it comes before x in
   the list: one that comes after is begun here, or was begun by an earlier
   visit that found it later in the list the same way), is not x, and has no
   other reference (count 1); for untrack_forest, an object outside the set
   cannot be tracked (may_be_tracked).
   With parks, it also notes an object that move_unreachable could park: one
   whose gc_refs reaches 0 though the walk reached it before any reference to
   it from the set (WALKED). An object begun here is referred to by an object
   the walk reached before it; if every object whose gc_refs ends at 0 is
   such an object, then by induction over the walk's order each one is marked
   reachable by an earlier object that is kept, and move_unreachable keeps
   every object where it is (see keep_all). */
static inline __attribute__((always_inline)) void visit_decref_examined(void **slot, rcgc_heap *h, bool every_gen,
                                                                       forest_ctx *c, uint32_t *parks,
                                                                       size_t *zeros)
{
    void *v = *slot;
    if (!v)
        return;
    head_t *x = head_of(v);
#ifdef RCGC_DEBUG
    rcgc__dbg_visited(h, h->traversing, v);
#endif
    uint32_t info = x->info;
    if (info & F_COLLECTING) {
#ifdef RCGC_DEBUG
        if (x->prev == 0)
            rcgc__dbg_gc_refs_negative(h, x);
#endif
        uint32_t gc_refs = --x->prev;
        if (__builtin_expect(gc_refs == 0, 0) && parks)
            *parks |= info & WALKED;
        if (zeros)
            *zeros += gc_refs == 0;
        if (c)
            c->forest &= x->refcnt == 1 && x != c->x;
    } else if (examined_in_full(x) && (every_gen || gen_of(x) <= h->collect_gen)) {
        begin_examining(h, x, 0);
        x->prev--;
        if (zeros)
            *zeros += x->prev == 0;
        if (c)
            c->forest = false;
    } else {
        note_outside_ref(h, x);
        if (c && c->immutable)
            c->immutable = !may_be_tracked(h, x, c->immutable_index);
    }
}

static inline void visit_decref_full(void **slot, void *arg)
{
    visit_decref_examined(slot, arg, false, NULL, NULL, NULL);
}

/* visit_decref_full that also checks the shape of a forest. */
static inline void visit_decref_forest(void **slot, void *arg)
{
    forest_ctx *c = arg;
    visit_decref_examined(slot, c->h, false, c, NULL, NULL);
}

/* visit_decref_full that notes an object that may be parked. */
static inline void visit_decref_kept(void **slot, void *arg)
{
    forest_ctx *c = arg;
    visit_decref_examined(slot, c->h, false, NULL, &c->parks, NULL);
}

/* Whether an object among the first n of young, walked while
   update_subtract_refs checked for a forest, may be parked, as the visits of
   the walk would have noted (forest_ctx.parks): the check for a forest leaves
   it out, since every reference a forest's objects hold into the set brings
   an object WALKED to gc_refs 0, and most sets that are not forests break the
   shape at their first object. After more than a few objects, the answer is
   yes without a look. */
static uint32_t forest_prefix_parks(rcgc_heap *h, head_t *young, size_t n)
{
    if (n > 16)
        return 1;
    uint32_t r = young->next;
    for (size_t i = 0; i < n; i++) {
        head_t *x = ref_ptr(h, r);
        if ((x->info & WALKED) == WALKED && x->prev == 0)
            return 1;
        r = x->next;
    }
    return 0;
}

/* update_refs and subtract_refs in one walk, for the first analysis of every
   collection: young holds the tracked objects of generations 0..collect_gen
   (neither frozen nor in the trash list), so a visit can tell from the
   header whether its object is examined, and initialise its gc_refs if the
   walk has not reached it yet. Returns the size of young, and in *shape
   (SHAPE_*) whether relink_forest, untrack_forest or keep_all may take it.
   The walk checks the shape of a forest until an object breaks it, then
   whether an object may be parked until one may, and goes on without the
   checks from there: most sets that are not forests break it at their first
   objects (the first object that refers to one made after it, or to itself,
   or to one with another reference), and a set with garbage has an object
   that may be parked early (the first of the garbage the walk reaches whose
   references from the set have all been subtracted). */
static size_t update_subtract_refs(rcgc_heap *h, head_t *young, int *shape)
{
    size_t n = 0;
    uint32_t end = ref_of(young), r = young->next, stride = 0;
    head_t *x = ref_ptr(h, r);
    forest_ctx c = { h, NULL, true, h->immutable_types != 0, 0, 0 };
    field_cache fc = { FIELD_CACHE_NONE, 0, 0 };
    while (r != end) {
        if (!(x->info & F_COLLECTING))
            begin_examining(h, x, WALKED);
        c.x = x;
        uint32_t index = x->info >> TYPE_SHIFT;
        if (c.immutable && index != c.immutable_index) {
            if (h->types[index].bits & TB_IMMUTABLE)
                c.immutable_index = index;
            else
                c.immutable = false;
        }
        each_field_cached(h, x, &fc, visit_decref_forest, &c);
        uint32_t nr = x->next;
        x = walk_next(h, x, r, nr, &stride);
        r = nr;
        n++;
        if (!c.forest)
            goto kept;
    }
    *shape = c.immutable ? SHAPE_IMMUTABLE_FOREST : SHAPE_FOREST;
    return n;
kept:
    c.parks = forest_prefix_parks(h, young, n);
    for (; r != end && !c.parks; n++) {
        if (!(x->info & F_COLLECTING))
            begin_examining(h, x, WALKED);
        each_field_cached(h, x, &fc, visit_decref_kept, &c);
        uint32_t nr = x->next;
        x = walk_next_far(h, x, r, nr, &stride);
        r = nr;
    }
    if (!c.parks) {
        *shape = SHAPE_KEPT;
        return n;
    }
    for (; r != end; n++) {
        if (!(x->info & F_COLLECTING))
            begin_examining(h, x, 0);
        each_field_cached(h, x, &fc, visit_decref_full, h);
        uint32_t nr = x->next;
        x = walk_next_far(h, x, r, nr, &stride);
        r = nr;
    }
    *shape = SHAPE_ANY;
    return n;
}

/* What the visits of update_subtract_refs_stream note: whether an object
   may be parked (as forest_ctx.parks), and how many examined objects a
   visit brought to gc_refs 0. gc_refs only goes down, so each object is
   counted once at most, and the count is the set's size exactly when every
   gc_refs ends at 0. A traverse that visits more references than the count
   holds (a field visited twice, a reference stored without its incref)
   takes an object below 0 without counting it again, and an object that
   keeps a reference from outside is never counted, so neither can make the
   set look like garbage. */
typedef struct stream_visit {
    rcgc_heap *h;
    uint32_t parks;
    size_t zeros;
} stream_visit;

/* For update_subtract_refs_stream: a full collection examines every
   generation. */
static inline void visit_decref_all(void **slot, void *arg)
{
    stream_visit *v = arg;
    visit_decref_examined(slot, v->h, true, NULL, NULL, &v->zeros);
}

/* visit_decref_all that notes an object that may be parked. */
static inline void visit_decref_all_kept(void **slot, void *arg)
{
    stream_visit *v = arg;
    visit_decref_examined(slot, v->h, true, NULL, &v->parks, &v->zeros);
}

/* update_subtract_refs for a full collection, in the order of the blocks in
   memory instead of the order of the list: gc_refs do not depend on the order
   of the walk. After a while a list's order has little to do with the
   addresses of its objects (survivors are appended in the order they were
   found reachable, blocks are reused from free lists), and a walk that
   follows it waits for each object in turn; a walk over the pages is a
   sequential read that the processor streams, with a prefetch STREAM_AHEAD
   bytes ahead. Free blocks and pages without live blocks are skipped; leaves,
   untracked and frozen objects are read and passed over, which is why
   stream_pays() decides.
   The walk goes up the references (regions in order, blocks in address order
   in each). It follows the list, young, if the links it reads go up but for
   the last, which goes to young's head (whose reference is below every
   block's): the n - 1 links that go up are then n - 1 of the n objects in
   increasing order, none an object's own, which leaves only the order of the
   walk. Then, as in update_subtract_refs, move_unreachable would park no
   object unless one WALKED reached gc_refs 0, and *shape tells it (SHAPE_KEPT
   or SHAPE_ANY). The checks stop at the first page that begins after an
   object may be parked.
   When every examined object ends at gc_refs 0 (a visit brought each one
   there), none is reachable from outside the set: move_unreachable would park them all and
   take none back, and *shape is SHAPE_GARBAGE, unless one of them has hooks
   (found_in), for which collect_main needs the unreachable list.
   Out of line, and bulk_delete and collect_main inlined into
   collect_with_callback, as gcc chose before move_unreachable_linked came:
   with its own choices since, the collections of bench_cycles ran one
   instruction more per object (callgrind), in this walk or in bulk_delete's
   loop. */
static __attribute__((noinline)) size_t update_subtract_refs_stream(rcgc_heap *h, head_t *young, int *shape)
{
    size_t n = 0, descents = 0;
    uint32_t last_next = 0, infos = 0;
    stream_visit v = { h, 0, 0 };
    field_cache fc = { FIELD_CACHE_NONE, 0, 0 };
    for (uint32_t r = 1; r < h->region_top; r++) {
        char *b;
        const char *end;
        size_t size;
        if (!region_blocks(h, r, &b, &end, &size))
            continue;
        if (v.parks) {
            for (; b < end; b += size) {
                head_t *x = (head_t *)b;
                __builtin_prefetch((const void *)((uintptr_t)b + STREAM_AHEAD), 1);
                if (!tool_block_info(x) || !examined_in_full(x))
                    continue;
                if (!(x->info & F_COLLECTING))
                    begin_examining(h, x, 0);
                infos |= x->info;
                each_field_cached(h, x, &fc, visit_decref_all, &v);
                n++;
            }
            continue;
        }
        for (; b < end; b += size) {
            head_t *x = (head_t *)b;
            __builtin_prefetch((const void *)((uintptr_t)b + STREAM_AHEAD), 1);
            if (!tool_block_info(x) || !examined_in_full(x))
                continue;
            if (!(x->info & F_COLLECTING))
                begin_examining(h, x, WALKED);
            infos |= x->info;
            each_field_cached(h, x, &fc, visit_decref_all_kept, &v);
            uint32_t next = x->next;
            descents += next <= last_next;
            last_next = next;
            n++;
        }
    }
    bool follows_list = n && last_next == ref_of(young) && descents == (n > 1);
    if (follows_list && !v.parks)
        *shape = SHAPE_KEPT;
    else if (n && v.zeros == n && !(infos & HOOKS_IN_INFO))
        *shape = SHAPE_GARBAGE;
    else
        *shape = SHAPE_ANY;
    return n;
}

/* The blocks a walk over the pages reads (update_subtract_refs_stream):
   those below each small page's bump pointer, and the large objects. */
static size_t heap_blocks(const rcgc_heap *h)
{
    size_t blocks = 0;
    for (uint32_t r = 1; r < h->region_top; r++) {
        const page_t *p = (const page_t *)h->region_base[r];
        if (!region_in_use((const char *)p))
            continue;
        if (p->kind == PAGE_LARGE)
            blocks++;
        else if (p->kind == PAGE_SMALL && p->used)
            blocks += (size_t)(p->bump - ((const char *)p + PAGE_HEADER)) / p->block_size;
    }
    return blocks;
}

/* Whether a full collection pays for update_subtract_refs_stream: when the
   examined objects are at least an eighth of the blocks it would read. With
   fewer, reading the others costs more than waiting for the list's objects
   (measured: a heap of 2-slot containers and leaves of their size, in
   allocation order, with 30 leaves to a container, took 45 ns per container
   against 33 for the list walk; with 10, the same). The examined set's size is
   not known before the walk; the survivors of the last full collection and
   what has been promoted and allocated since stand for it. */
static bool stream_pays(const rcgc_heap *h, size_t blocks)
{
    return h->long_lived_total + h->long_lived_pending + h->gen[0].count >= blocks / 8;
}

typedef struct reach_ctx {
    char *const *base;  /* the heap's region table (ref_at) */
    head_t *taken;      /* the last object taken back: the end of unreachable's
                           taken prefix, or unreachable itself */
} reach_ctx;

/* What move_unreachable saw among the objects it found unreachable. */
enum {
    FOUND_FINALIZERS = 1,   /* an object of a type with a finalizer */
    FOUND_HOOKS = 2         /* one whose release runs code: a finalizer, a destroy,
                               weak references to it, or a weak reference */
};

/* What parking x tells of the objects found unreachable (FOUND_*). */
static inline unsigned found_in(const rcgc_heap *h, const head_t *x)
{
    if (!(x->info & HOOKS_IN_INFO))
        return 0;
    return FOUND_HOOKS | (type_bits(h, x) & TB_FINALIZE ? FOUND_FINALIZERS : 0);
}

/* x, parked in `unreachable`, was found reachable: it is taken back, to be
   walked again after the rest of young, as CPython moves it to young's tail.
   The objects taken back wait at the front of unreachable instead, in the
   order they were taken, up to c->taken, and the objects still parked
   follow. When x is the first of those, as when a chain is taken back in
   the order it was parked (each object by the one before it), it stays
   where it is: nothing is relinked. Otherwise it leaves its place for the
   end of the front. Only a parked object's prev link is read, when it
   leaves its place, and that one is right: the links of the objects at the
   front are not kept (visit_reachable sets them to 1), nor the first parked
   object's (move_unreachable sets it at the end), and x is neither. Out of
   line: inlined into move_unreachable's loop, its list moves took registers
   that the loop then saved and restored around every object's fields (8% of
   a collection of reachable objects). */
static __attribute__((noinline)) void rescue(reach_ctx *c, head_t *x)
{
    head_t *t = c->taken;
    uint32_t f = t->next;
    x->info &= ~(uint32_t)F_UNREACHABLE;
    c->taken = x;
    if (ref_at(c->base, f) == x)
        return;
    uint32_t p = x->prev, n = x->next;
    head_t *before = ref_at(c->base, p);
    t->next = before->next;
    before->next = n;
    ref_at(c->base, n)->prev = p;
    x->next = f;
}

/* The header of the object in *slot if it is in the examined set, or NULL. */
static inline head_t *examined_referent(void **slot)
{
    void *v = *slot;
    if (!v)
        return NULL;
    head_t *x = head_of(v);
    return x->info & F_COLLECTING ? x : NULL;
}

/* As CPython's visit_reachable: an examined object referenced from a
   reachable one is reachable. If it was already parked in `unreachable`, it
   is taken back (rescue): reached returns it. Otherwise the walk has not
   reached it yet, or it is waiting to be walked again, and its gc_refs
   becomes 1 whatever it was: move_unreachable only asks whether gc_refs is
   0, so the store needs no test (CPython stores 1 only over 0, with the same
   result). */
static inline head_t *reached(void **slot)
{
    head_t *x = examined_referent(slot);
    if (!x)
        return NULL;
    if (__builtin_expect(x->info & F_UNREACHABLE, 0))
        return x;
    x->prev = 1;
    return NULL;
}

static inline void visit_reachable(void **slot, void *arg)
{
    head_t *x = reached(slot);
    if (__builtin_expect(x != NULL, 0))
        rescue(arg, x);
}

/* Moves the run of parked objects first..last, still linked in young after
   prev (their prev links already set for unreachable), to the tail of
   unreachable; prev is linked to what followed the run, `after`. */
static inline void splice_run(rcgc_heap *h, head_t *prev, uint32_t first, head_t *last, uint32_t last_ref,
                              uint32_t after, head_t *unreachable)
{
    ref_ptr(h, unreachable->prev)->next = first;
    last->next = ref_of(unreachable);
    unreachable->prev = last_ref;
    prev->next = after;
}

/* x leaves the examined set as a survivor: F_COLLECTING cleared, and the
   generation survivors are promoted to (gen_bits, already shifted). */
static inline void keep_survivor(head_t *x, uint32_t gen_bits)
{
    x->info = (x->info & ~(uint32_t)(F_COLLECTING | GEN_MASK)) | gen_bits;
}

/* Moves every object of young that is not reachable from an object with
   gc_refs > 0 into unreachable (which must be empty), keeping list order.
   Reachable objects keep their place, get their prev link back, lose
   F_COLLECTING and get the generation they are promoted to. Returns the
   number of objects left in young; *moved is set to the number in
   unreachable, *found to what was found unreachable on the way (FOUND_*;
   objects rescued later included), and *far, unless far is NULL, to the
   far steps its walks took (walk_next2).
   The walk goes through young from head to tail, then through the objects
   taken back (rescue), which CPython appends to young's tail and walks
   there: they wait at the front of unreachable instead, in the same order,
   and join young's tail when the walk is over.
   Objects found unreachable one after another are parked as a run: each
   gets its prev link for unreachable as the walk passes it, and the run
   leaves young in one splice when the walk reaches the next reachable
   object (before its fields are visited, so a rescue only ever takes an
   object from unreachable) or the end. */
static inline __attribute__((always_inline)) size_t move_unreachable_walks(rcgc_heap *h, head_t *young,
                                                                          size_t examined, head_t *unreachable,
                                                                          size_t *moved, unsigned *found,
                                                                          size_t *far)
{
    uint32_t gen_bits = (uint32_t)promote_gen(h) << GEN_SHIFT;
    reach_ctx c = { h->region_base, unreachable };
    head_t *prev = young;
    uint32_t prev_ref = ref_of(young), end = prev_ref, r = young->next, stride = 0, stride2 = 0, nr;
    head_t *x = ref_ptr(h, r);
    size_t parked = 0, taken = 0;
    unsigned seen = 0;
    field_cache fc = { FIELD_CACHE_NONE, 0, 0 };
    while (r != end) {
        if (x->prev) {
            each_field_cached(h, x, &fc, visit_reachable, &c);
            x->prev = prev_ref;
            keep_survivor(x, gen_bits);
            prev = x;
            prev_ref = r;
            nr = x->next;
            x = walk_next2(h, x, r, nr, &stride, &stride2, far);
            r = nr;
            continue;
        }
        uint32_t first = r, last_ref = unreachable->prev;
        head_t *last;
        do {
            x->prev = last_ref;
            x->info |= F_UNREACHABLE;
            seen |= found_in(h, x);
            last = x;
            last_ref = r;
            parked++;
            nr = x->next;
            x = walk_next2(h, x, r, nr, &stride, &stride2, far);
            r = nr;
        } while (r != end && !x->prev);
        splice_run(h, prev, first, last, last_ref, r, unreachable);
    }
    if (c.taken != unreachable) {
        /* The objects taken back, walked in the order they were taken; what
           their fields refer to that is still parked is taken after them. */
        r = unreachable->next;
        prev->next = r;
        x = ref_ptr(h, r);
        for (;;) {
            /* rescue links an object it takes after the last one taken,
               which may be x: x->next is read after the visit. */
            each_field_cached(h, x, &fc, visit_reachable, &c);
            x->prev = prev_ref;
            keep_survivor(x, gen_bits);
            prev_ref = r;
            taken++;
            if (x == c.taken)
                break;
            nr = x->next;
            x = walk_next2(h, x, r, nr, &stride, &stride2, far);
            r = nr;
        }
        uint32_t still = x->next;
        x->next = end;
        unreachable->next = still;
        ref_ptr(h, still)->prev = ref_of(unreachable);
    }
    young->prev = prev_ref;
    /* The walk counts the objects it parks, and the second part those taken
       back, rather than the objects it keeps: a collection of reachable
       objects only takes the kept path, where the count lived on the stack
       (one instruction of 82.5 per object). */
    *moved = parked - taken;
    *found = seen;
    return examined - *moved;
}

/* move_unreachable_walks without counting the far steps, for the collections
   of the younger generations and the second analysis, */
static __attribute__((noinline)) size_t move_unreachable(rcgc_heap *h, head_t *young, size_t examined,
                                                         head_t *unreachable, size_t *moved, unsigned *found)
{
    return move_unreachable_walks(h, young, examined, unreachable, moved, found, NULL);
}

/* and counting them, for full collections (h->scattered). */
static __attribute__((noinline)) size_t move_unreachable_full(rcgc_heap *h, head_t *young, size_t examined,
                                                              head_t *unreachable, size_t *moved, unsigned *found,
                                                              size_t *far)
{
    return move_unreachable_walks(h, young, examined, unreachable, moved, found, far);
}

/* move_unreachable for a set in which it would park nothing (SHAPE_KEPT):
   every object stays where it is as a survivor, and only its header changes,
   without a visit of its fields. */
static void keep_all(rcgc_heap *h, head_t *young)
{
    uint32_t gen_bits = (uint32_t)promote_gen(h) << GEN_SHIFT;
    uint32_t prev_ref = ref_of(young), end = prev_ref, r = young->next, stride = 0;
    head_t *x = ref_ptr(h, r);
    while (r != end) {
        x->prev = prev_ref;
        keep_survivor(x, gen_bits);
        prev_ref = r;
        uint32_t nr = x->next;
        x = walk_next_far(h, x, r, nr, &stride);
        r = nr;
    }
}

/* ---- Scattered lists ------------------------------------------------------ */

/* After a while of making and releasing objects in any order, a list's order
   has little to do with the addresses of its objects, and a walk that follows
   it waits for memory at every object: the step to the next object is known
   only once its header has come. A full collection whose examined set may
   be parked (SHAPE_ANY) on a large heap whose list the last full collection
   found so (h->scattered: most steps of its walks were far, far_step)
   borrows a table of the examined objects' next links, indexed by reference
   / 2 (every block, 32 bytes at least, has a slot of its own): an eighth of
   the pages, filled by a walk over them in address order, which the processor
   streams. move_unreachable_linked reads the links from it LINKS_AHEAD steps
   ahead of its walk, where they cost a read of the cache, and fetches the
   headers before their turn, so that the misses overlap; the objects taken
   back are fetched the same way from a queue of their references after the
   table. Only the memory source is asked; without the table
   (rcgc_config.no_scratch, a refusal, a heap smaller than LINKS_MIN_BLOCKS
   blocks) the collection is the same, and move_unreachable does it. */
#define LINKS_MIN_BLOCKS 65536
#define LINKS_AHEAD 16

/* For borrow_links: an examined block's next link into its slot, one per
   32 bytes (no block is smaller: MIN_BLOCK in internal.h). */
static void fill_link(rcgc_heap *h, head_t *x, void *arg)
{
    (void)h;
    uint32_t *links = arg;
    if (x->info & F_COLLECTING)
        links[ref_of(x) >> 1] = x->next;
}

/* Borrows h->links and fills it, with room after the table for the
   references of up to examined / 4 objects taken back (links_queue).
   Returns false, with h->links NULL, if it cannot. */
static __attribute__((noinline)) bool borrow_links(rcgc_heap *h, size_t examined)
{
    size_t slots = (size_t)h->region_top << (REGION_SHIFT - 1), queue = examined / 4 + LINKS_AHEAD;
    size_t bytes = (slots + queue) * sizeof(uint32_t);
    uint32_t *links = rcgc__sys_alloc(h, bytes, 16);
    if (!links)
        return false;
    each_live_block(h, fill_link, links);
    h->links = links;
    h->links_bytes = bytes;
    h->links_queue = links + slots;
    h->links_queue_cap = queue;
    return true;
}

static void return_links(rcgc_heap *h)
{
    rcgc__sys_free(h, h->links, h->links_bytes);
    h->links = h->links_queue = NULL;
    h->links_bytes = h->links_queue_cap = 0;
}

/* What move_unreachable_linked's visits keep of the objects taken back: the
   first one's reference and the last one, linked through their next links
   in the order they were taken, and the references of the first ones in
   that order, for the walk of those objects to prefetch. */
typedef struct linked_ctx {
    uint32_t first;
    head_t *last;           /* NULL while none was taken */
    uint32_t *queue;        /* h->links_queue */
    size_t queued, cap;
} linked_ctx;

/* x, found unreachable (and still linked in the table's chain of the parked
   objects, see move_unreachable_linked), is taken back: appended to the
   objects taken back. Unlike rescue, it reads no neighbour. */
static __attribute__((noinline)) void take_back(linked_ctx *c, head_t *x)
{
    x->info &= ~(uint32_t)F_UNREACHABLE;
    uint32_t xr = ref_of(x);
    if (c->last)
        c->last->next = xr;
    else
        c->first = xr;
    c->last = x;
    if (c->queued < c->cap)
        c->queue[c->queued++] = xr;
}

/* visit_reachable for move_unreachable_linked. */
static inline void visit_reachable_linked(void **slot, void *arg)
{
    head_t *x = reached(slot);
    if (__builtin_expect(x != NULL, 0))
        take_back(arg, x);
}

/* move_unreachable with the table of links (h->links, see borrow_links):
   the same result in the same order. The walk through young reads each
   object's successor from the table LINKS_AHEAD steps ahead and prefetches
   its header, so that the misses of a list out of address order overlap.
   An object found unreachable only gets F_UNREACHABLE: its table slot,
   which the walk has passed, links it to the next one found, and taking it
   back (take_back) leaves that chain alone, so no neighbour is read. When
   the walks are over, the chain gives the objects still unreachable, in
   the order they were found, which is move_unreachable's order, to link
   into unreachable. */
static __attribute__((noinline)) size_t move_unreachable_linked(rcgc_heap *h, head_t *young, size_t examined,
                                                              head_t *unreachable, size_t *moved,
                                                              unsigned *found, size_t *far)
{
    uint32_t *links = h->links;
    uint32_t gen_bits = (uint32_t)promote_gen(h) << GEN_SHIFT;
    linked_ctx c = { 0, NULL, h->links_queue, 0, h->links_queue_cap };
    head_t *prev = young, *x;
    uint32_t prev_ref = ref_of(young), end = prev_ref, r = young->next, ahead = r, nr;
    uint32_t first_parked = 0, last_parked = 0;
    size_t parked = 0, taken = 0, steps = 0;
    unsigned seen = 0;
    field_cache fc = { FIELD_CACHE_NONE, 0, 0 };
    for (int i = 0; i < LINKS_AHEAD && ahead != end; i++)
        ahead = links[ahead >> 1];
    while (r != end) {
        if (ahead != end) {
            ahead = links[ahead >> 1];
            __builtin_prefetch(ref_ptr(h, ahead), 1);
        }
        x = ref_ptr(h, r);
        nr = x->next;
        if (x->prev) {
            each_field_cached(h, x, &fc, visit_reachable_linked, &c);
            x->prev = prev_ref;
            keep_survivor(x, gen_bits);
            prev->next = r;
            prev = x;
            prev_ref = r;
        } else {
            x->info |= F_UNREACHABLE;
            seen |= found_in(h, x);
            if (parked++)
                links[last_parked >> 1] = r;
            else
                first_parked = r;
            last_parked = r;
        }
        steps += far_step(r, nr);
        r = nr;
    }
    if (c.last) {
        /* The objects taken back, walked in the order they were taken; what
           their fields refer to that is still parked is taken after them.
           take_back may link an object to x: x->next is read after the
           visit. */
        prev->next = r = c.first;
        x = ref_ptr(h, r);
        for (;;) {
            if (taken + LINKS_AHEAD < c.queued)
                __builtin_prefetch(ref_ptr(h, c.queue[taken + LINKS_AHEAD]), 1);
            each_field_cached(h, x, &fc, visit_reachable_linked, &c);
            x->prev = prev_ref;
            keep_survivor(x, gen_bits);
            prev_ref = r;
            taken++;
            if (x == c.last)
                break;
            nr = x->next;
            steps += far_step(r, nr);
            r = nr;
            x = ref_ptr(h, r);
        }
        x->next = end;
    } else {
        prev->next = end;
    }
    young->prev = prev_ref;

    head_t *tail = unreachable;
    uint32_t tail_ref = ref_of(unreachable);
    if (parked) {
        ahead = first_parked;
        for (int i = 0; i < LINKS_AHEAD && ahead != last_parked; i++)
            ahead = links[ahead >> 1];
        for (r = first_parked;; r = links[r >> 1]) {
            if (ahead != last_parked) {
                ahead = links[ahead >> 1];
                __builtin_prefetch(ref_ptr(h, ahead), 1);
            }
            x = ref_ptr(h, r);
            if (x->info & F_UNREACHABLE) {
                x->prev = tail_ref;
                tail->next = r;
                tail = x;
                tail_ref = r;
            }
            if (r == last_parked)
                break;
        }
    }
    tail->next = ref_of(unreachable);
    unreachable->prev = tail_ref;
    *moved = parked - taken;
    *found = seen;
    *far = steps;
    return examined - *moved;
}

/* Splits young into what is reachable from outside it (stays in young) and
   the rest (moved to unreachable, which must be empty). Returns the number of
   objects left in young. */
static size_t deduce_unreachable(rcgc_heap *h, head_t *young, head_t *unreachable, size_t *moved, unsigned *found)
{
    size_t examined = update_refs(h, young);
    subtract_refs(h, young);
    return move_unreachable(h, young, examined, unreachable, moved, found);
}

/* ---- Untracking immutable containers (CPython's untrack_tuples) ------------ */

/* What untrack_immutable's visits keep. */
typedef struct tracked_ctx {
    const rcgc_heap *h;
    uint32_t immutable_index;   /* the type of the object visited */
    bool tracked;               /* a field refers to an object that may be tracked */
} tracked_ctx;

static inline void visit_any_tracked(void **slot, void *arg)
{
    void *v = *slot;
    if (v) {
        tracked_ctx *c = arg;
        if (may_be_tracked(c->h, head_of(v), c->immutable_index))
            c->tracked = true;
    }
}

/* Untracks every object of young whose type is RCGC_TYPE_IMMUTABLE and whose
   fields refer to nothing tracked. The walk goes from the tail: the objects
   that move_unreachable rescued were appended in breadth-first order, parents
   before children, so from the tail a tree goes in one pass, leaves first
   (CPython's untrack_tuples walks from the head and peels one level of a tree
   per collection). An untracked object only gets next = 0 (what
   visit_any_tracked reads); each object that stays is linked to the one that
   stayed after it, so a tree leaves the list without a removal per node
   (binary-trees: 2.2% fewer instructions). Returns the number of objects
   untracked. */
static size_t untrack_immutable(rcgc_heap *h, head_t *young)
{
    size_t n = 0;
    uint32_t end = ref_of(young), r = young->prev, stride = 0, after_ref = end;
    head_t *x = ref_ptr(h, r), *after = young;
    while (r != end) {
        uint32_t nr = x->prev;
        head_t *next = walk_next(h, x, r, nr, &stride);
        tracked_ctx c = { h, 0, true };
        if (type_bits(h, x) & TB_IMMUTABLE) {
            c.immutable_index = x->info >> TYPE_SHIFT;
            c.tracked = false;
            each_field(h, x, visit_any_tracked, &c);
        }
        if (!c.tracked) {
            x->next = 0;
            n++;
        } else {
            if (x->next != after_ref) {
                x->next = after_ref;
                after->prev = r;
            }
            after = x;
            after_ref = r;
        }
        x = next;
        r = nr;
    }
    after->prev = end;
    young->next = after_ref;
    return n;
}

/* ---- Forests built bottom up ------------------------------------------------ */

/* What relink_forest's walk keeps for visit_append. */
typedef struct relink_ctx {
    head_t *tail;           /* young's last object */
    uint32_t young_ref;
    uint32_t gen_bits;      /* the generation survivors are promoted to */
} relink_ctx;

/* A reference from an object that relink_forest keeps: an examined object it
   refers to is a child that the walk has passed over (its only reference,
   this one, comes from an object later in the list); it goes to the tail. */
static inline void visit_append(void **slot, void *arg)
{
    head_t *x = examined_referent(slot);
    if (!x)
        return;
    relink_ctx *c = arg;
    uint32_t xr = ref_of(x);
    keep_survivor(x, c->gen_bits);
    x->next = c->young_ref;
    c->tail->next = xr;
    c->tail = x;
}

/* move_unreachable for young when it is a forest built bottom up
   (update_subtract_refs found it so): every object is referred to from
   outside the set only (gc_refs = its count: a root) or by exactly one
   object of the set only (count 1, gc_refs 0), which comes after it in the
   list. Then every object but a root has one parent, later in the list, and
   following parents from any object ends at a root: all are reachable.
   move_unreachable would keep the roots in place, park every other object
   when it reaches it (its parent has not been walked yet), and take it back
   to the tail of young when its parent's fields are visited, so the order
   it leaves is the roots in list order, then the rest breadth first, each
   parent's children in the order of its fields. This walk leaves the same
   order without the unreachable list: a child is passed over, and appended
   to the tail when its parent is kept; every object ends up kept, with its
   prev link back, F_COLLECTING clear and its new generation. Collections of
   generation 0 in a program that builds a structure bottom up (a list by
   prepending, trees from their leaves) have this shape. */
static __attribute__((noinline)) void relink_forest(rcgc_heap *h, head_t *young)
{
    relink_ctx c = { ref_ptr(h, young->prev), ref_of(young), (uint32_t)promote_gen(h) << GEN_SHIFT };
    uint32_t end = c.young_ref, prev_ref = end, r = young->next, stride = 0, nr;
    head_t *prev = young, *x = ref_ptr(h, r);
    field_cache fc = { FIELD_CACHE_NONE, 0, 0 };
    while (r != end) {
        if (x->info & F_COLLECTING) {
            if (!x->prev) {
                nr = x->next;
                x = walk_next(h, x, r, nr, &stride);
                r = nr;
                continue;
            }
            keep_survivor(x, c.gen_bits);
        }
        /* visit_append may append to young, changing x->next. */
        each_field_cached(h, x, &fc, visit_append, &c);
        x->prev = prev_ref;
        prev->next = r;
        prev = x;
        prev_ref = r;
        nr = x->next;
        x = walk_next(h, x, r, nr, &stride);
        r = nr;
    }
    prev->next = end;
    young->prev = prev_ref;
}

/* ---- Young trees of immutable objects --------------------------------------- */

/* Untracks young, a forest (update_subtract_refs found it so) that
   move_unreachable and untrack_immutable would find all reachable and then
   untrack, every object: each object is of an RCGC_TYPE_IMMUTABLE type; is
   referred to from outside the set only (gc_refs = its count: a root) or by
   exactly one object of the set only (count 1, gc_refs 0); and refers only
   to objects of the set that come before it in the list, or to objects that
   are not tracked. Then every object but a root has one parent, later in the
   list, and the roots are the objects with gc_refs > 0, so all are
   reachable. move_unreachable keeps the roots in place and parks every other
   object, which its parent, the only object to refer to it, rescues after
   itself; so each child ends after its parent in young, and
   untrack_immutable, from the tail, untracks children before their parents,
   and all of them. This is the shape of tuples built bottom up
   (binary-trees' immutable nodes: every collection of generation 0), whose
   examined objects then take one walk to untrack, instead of being parked,
   rescued, walked again and untracked. A full collection that walks the
   pages (update_subtract_refs_stream) does not check for it. */
static void untrack_forest(rcgc_heap *h, head_t *young)
{
    uint32_t end = ref_of(young), r = young->next, stride = 0;
    uint32_t gen_bits = (uint32_t)promote_gen(h) << GEN_SHIFT;
    head_t *x = ref_ptr(h, r);
    while (r != end) {
        uint32_t nr = x->next;
        head_t *next = walk_next(h, x, r, nr, &stride);
        keep_survivor(x, gen_bits);
        x->next = 0;
        x = next;
        r = nr;
    }
    list_init(young);
}

/* ---- Handling the unreachable set ------------------------------------------ */

/* Moves the first objects of l, up to and including x, to the tail of to. */
static void list_move_prefix(rcgc_heap *h, head_t *l, head_t *x, head_t *to)
{
    head_t *first = ref_ptr(h, l->next);
    uint32_t after = x->next, xr = ref_of(x);
    ref_ptr(h, to->prev)->next = l->next;
    first->prev = to->prev;
    x->next = ref_of(to);
    to->prev = xr;
    l->next = after;
    ref_ptr(h, after)->prev = ref_of(l);
}

/* Runs every finalizer of the set once (PEP 442), head first. Finalizers may
   free objects of the set, which then leave the lists, so before each one
   runs, the objects already passed (and the one being finalized) move to
   `seen`; in between, no user code runs and the walk needs no moves. Returns
   whether any finalizer ran. */
static bool finalize_garbage(rcgc_heap *h, head_t *collectable)
{
    bool ran = false;
    uint32_t end = ref_of(collectable);
    for (uint32_t r = collectable->next; r != end;) {
        head_t *x = ref_ptr(h, r);
        if (!(type_bits(h, x) & TB_FINALIZE) || (x->info & F_FINALIZED)) {
            r = x->next;
            continue;
        }
        list_move_prefix(h, collectable, x, &h->seen);
        x->info |= F_FINALIZED;
        void *obj = obj_of(x);
        rcgc_incref(obj);
        type_of_head(h, x)->finalize(obj);
        rcgc_decref(obj);
        ran = true;
        r = collectable->next;
    }
    list_merge(h, collectable, &h->seen);
    list_merge(h, &h->seen, collectable);
    return ran;
}

/* What finalizers and callbacks made reachable again survives (moved to old);
   the rest goes to still_unreachable. Returns the number of objects there.
   The set's flags need no walk of their own: update_refs gives every object
   F_COLLECTING and takes F_UNREACHABLE off, and only the set has
   F_COLLECTING. */
static size_t handle_resurrected(rcgc_heap *h, head_t *unreachable, head_t *still, head_t *old)
{
    size_t moved;
    unsigned found;
    deduce_unreachable(h, unreachable, still, &moved, &found);
    list_merge(h, unreachable, old);
    return moved;
}

/* Breaks the cycles: clears the references of each object in list order.
   Objects that are still alive afterwards move to old. */
static void delete_garbage(rcgc_heap *h, head_t *collectable, head_t *old)
{
    while (!list_is_empty(collectable)) {
        head_t *x = list_first(h, collectable);
        void *obj = obj_of(x);
        if (h->debug & RCGC_DEBUG_SAVEALL) {
            if (rcgc__grow(h, (void **)&h->garbage, &h->garbage_cap, h->garbage_len + 1, sizeof *h->garbage) == 0) {
                rcgc_incref(obj);
                h->garbage[h->garbage_len++] = obj;
            }
        } else {
            rcgc__release_garbage(h, x);
        }
        if (list_first(h, collectable) == x) {
            x->info &= ~(uint32_t)(F_COLLECTING | F_UNREACHABLE);
            list_move(h, x, old);
            set_gen(x, promote_gen(h));
        }
    }
}

typedef struct bulk_ctx {
    rcgc_heap *h;
    free_run run;
    const page_t *whole;    /* the page of the run being walked, if it dies whole */
    page_t *emptied;        /* the pages that die whole (see page_dies_whole) */
    size_t budget;          /* blocks page_dies_whole may still read */
} bulk_ctx;

/* The marks of the set being freed. A set that move_unreachable found
   (garbage false): its objects have F_UNREACHABLE, and keep F_COLLECTING
   until their turn comes. SHAPE_GARBAGE's (garbage true): every examined
   object is in the set, so F_COLLECTING marks it, and F_UNREACHABLE is set
   when its turn comes. Either way the turn toggles turn_mark. */
static inline uint32_t in_set_mark(bool garbage)
{
    return garbage ? F_COLLECTING : F_UNREACHABLE;
}

static inline uint32_t turn_mark(bool garbage)
{
    return garbage ? F_UNREACHABLE : F_COLLECTING;
}

/* Whether the turn of an object of the set has passed. */
static inline bool turn_passed(uint32_t info, bool garbage)
{
    return garbage ? (info & F_UNREACHABLE) != 0 : !(info & F_COLLECTING);
}

/* info & (F_COLLECTING | F_UNREACHABLE) of an object of the set whose turn
   has not come. */
static inline uint32_t turn_to_come(bool garbage)
{
    return garbage ? F_COLLECTING : F_COLLECTING | F_UNREACHABLE;
}

/* The visitor of bulk_delete. A reference into the set takes one off its
   object's count, which then counts the references from the set's objects not
   walked yet (an unreachable object has no others); the object is freed when
   that reaches 0 and its own turn has passed. A reference out of the set is
   released: its object survives, or is a leaf that dies unwatched, freed on
   the spot (so the free run hands its page back first). */
static inline __attribute__((always_inline)) void release_bulk(void **slot, bulk_ctx *c, bool garbage)
{
    void *v = *slot;
    if (!v)
        return;
#ifdef RCGC_DEBUG
    rcgc__dbg_visited(c->h, c->h->traversing, v);
#endif
    head_t *y = head_of(v);
    if (y->info & in_set_mark(garbage)) {
        if (--y->refcnt == 0 && turn_passed(y->info, garbage))
            free_run_add(c->h, &c->run, y);
    } else {
        *slot = NULL;
        free_run_flush(&c->run);
        rcgc_decref(v);
    }
}

static inline __attribute__((always_inline)) void visit_release_bulk(void **slot, void *arg)
{
    release_bulk(slot, arg, false);
}

/* The visitor of bulk_delete for the objects of a page that dies whole: an
   object on that page dies with it and is not even read; the others are
   visit_release_bulk's. */
static inline __attribute__((always_inline)) void release_whole(void **slot, bulk_ctx *c, bool garbage)
{
    void *v = *slot;
    if (v && page_of(v) != c->whole)
        release_bulk(slot, c, garbage);
}

static inline __attribute__((always_inline)) void visit_release_whole(void **slot, void *arg)
{
    release_whole(slot, arg, false);
}

static inline __attribute__((always_inline)) void visit_release_whole_garbage(void **slot, void *arg)
{
    release_whole(slot, arg, true);
}

/* The mark in the free word of a page that dies whole, whose free word then
   links c->emptied: a free list holds blocks, which are 16-byte aligned. */
#define DIES_WHOLE ((uintptr_t)1)

/* Pages die whole in bulk_delete, but not in the debug build, which frees
   each block, marking it for its misuse checks. */
#ifdef RCGC_DEBUG
#define PAGES_DIE_WHOLE false
#else
#define PAGES_DIE_WHOLE true
#endif

/* Whether page p dies whole in bulk_delete: every one of its live blocks is an
   object of the set whose turn has not come (F_UNREACHABLE and F_COLLECTING),
   so that none has been or will be freed on its own, and the page can be
   emptied at the end. The blocks are read in address order, a read that
   streams (prefetched STREAM_AHEAD bytes ahead), and the first live block
   outside the set (or walked already) rules the page out. Such a page is put
   on c->emptied, through its free word, which nothing reads until then: its
   blocks are not freed one by one, and nothing is allocated during the walk. A
   page that the list comes back to is read again, so the blocks read in all
   are capped in proportion to the set (c->budget): where the list goes back
   and forth between pages that hold survivors, the walk gives up asking rather
   than read the same pages again and again. */
static inline bool page_dies_whole(bulk_ctx *c, page_t *p)
{
    if (!PAGES_DIE_WHOLE || p->kind != PAGE_SMALL)
        return false;
    if ((uintptr_t)p->free & DIES_WHOLE)
        return true;
    const char *first = (const char *)p + PAGE_HEADER, *bump = p->bump;
    size_t size = p->block_size, blocks = (size_t)(bump - first) / size;
    if (blocks > c->budget)
        return false;
    c->budget -= blocks;
    if (c->run.page == p)
        free_run_flush(&c->run);        /* p->used then counts its live blocks */
    const uint32_t both = F_UNREACHABLE | F_COLLECTING;
    uint32_t live = 0;
    for (const char *b = first; b < bump; b += size) {
        __builtin_prefetch((const void *)((uintptr_t)b + STREAM_AHEAD));
        uint32_t info = tool_block_info((const head_t *)b);
        if (!info)
            continue;
        if ((info & both) != both)
            return false;
        live++;
    }
    if (live != p->used)
        return false;       /* a block being allocated, its header not written yet */
    p->free = (char *)((uintptr_t)c->emptied | DIES_WHOLE);
    c->emptied = p;
    return true;
}

/* delete_garbage for a set whose release nobody can watch: no object in it
   has a finalizer, a destroy or weak references, none is a weak reference,
   and the examined objects refer to nothing outside the examined set but
   leaves without hooks (h->outside_refs false). The order of delete_garbage
   is then invisible, and one walk frees the set: it releases each object's
   references, and frees each object once its turn has come (F_COLLECTING
   cleared) and every reference to it from the set has been released (its
   count is 0), without a release cascade through the set. Every reference to
   an unreachable object comes from the set, so every object gets freed, and
   none is read after it was.
   A structure that dies whole leaves whole pages of garbage. The objects of
   a page whose every live block is in the set (page_dies_whole) are not
   freed one by one: the walk only releases what they refer to off the page,
   writes nothing to them, and the page is emptied at the end
   (rcgc__page_emptied), after the last read of its blocks. They keep
   F_COLLECTING, so that references from other pages never free one of them
   on its own. The walk asks page_dies_whole each time the list comes to
   another page. n is the number of objects in the set. Inlined: see
   update_subtract_refs_stream. */
static inline __attribute__((always_inline)) void bulk_delete(rcgc_heap *h, head_t *collectable, size_t n)
{
    uint32_t end = ref_of(collectable), r = collectable->next, stride = 0, nr;
    head_t *x = ref_ptr(h, r), *next;
    bulk_ctx c = { h, { NULL, NULL, 0 }, NULL, NULL, 2 * n + 4096 };
    field_cache fc = { FIELD_CACHE_NONE, 0, 0 };
    while (r != end) {
        page_t *page = page_of(x);
        if (page_dies_whole(&c, page)) {
            c.whole = page;
            do {
                nr = x->next;
                next = walk_next_far(h, x, r, nr, &stride);
                each_field_cached(h, x, &fc, visit_release_whole, &c);
                x = next;
                r = nr;
            } while (r != end && page_of(x) == page);
            continue;
        }
        do {
            nr = x->next;
            next = walk_next_far(h, x, r, nr, &stride);
            each_field_cached(h, x, &fc, visit_release_bulk, &c);
            x->info &= ~(uint32_t)F_COLLECTING;
            if (x->refcnt == 0)
                free_run_add(h, &c.run, x);
            x = next;
            r = nr;
        } while (r != end && page_of(x) == page);
    }
    free_run_flush(&c.run);
    for (page_t *p = c.emptied, *after; p; p = after) {
        after = (page_t *)((uintptr_t)p->free & ~DIES_WHOLE);
        rcgc__page_emptied(h, p);
    }
    list_init(collectable);
    /* Freeing a container takes one off generation 0's count, never going
       below 0 (uncount_container). The collection set that count to 0 and no
       user code has run since, so it stays 0. */
}

/* The visitor of bulk_delete_pages' second walk of a page that does not die
   whole: the references to the page's own blocks, which the first one left. */
static inline __attribute__((always_inline)) void release_on_page(void **slot, bulk_ctx *c, bool garbage)
{
    void *v = *slot;
    if (v && page_of(v) == c->whole)
        release_bulk(slot, c, garbage);
}

static inline __attribute__((always_inline)) void visit_release_on_page(void **slot, void *arg)
{
    release_on_page(slot, arg, false);
}

static inline __attribute__((always_inline)) void visit_release_on_page_garbage(void **slot, void *arg)
{
    release_on_page(slot, arg, true);
}

static inline __attribute__((always_inline)) void visit_release_bulk_garbage(void **slot, void *arg)
{
    release_bulk(slot, arg, true);
}

/* bulk_delete in the order of the blocks in memory, for a set of at least
   half the blocks of the heap (the order of a release nobody can watch is
   free): the set's objects are the blocks marked as its own (in_set_mark and
   turn_to_come: those that move_unreachable found unreachable, or with
   garbage every examined object, SHAPE_GARBAGE), so the list is not read.
   Each page is walked as if it died whole (page_dies_whole's census, which
   comes for free here): the walk releases what the page's objects refer to
   off the page. If they are all of its live blocks, the page is emptied at
   the end with the others. At the first live block outside the set, the page
   is walked again from its first block, in the cache, as bulk_delete walks:
   the objects walked already release their references to the page, the
   others all of theirs, and each gets its turn. A large object is the only
   block of its page. Frees during the walk (an object whose turn has passed,
   a leaf outside the set) never free a block the walk has still to read as
   live: the set's objects ahead wait for their turn, and a freed block reads
   0. */
static inline __attribute__((always_inline)) void bulk_delete_pages(rcgc_heap *h, bool garbage)
{
    bulk_ctx c = { h, { NULL, NULL, 0 }, NULL, NULL, 0 };
    field_cache fc = { FIELD_CACHE_NONE, 0, 0 };
    const uint32_t both = F_UNREACHABLE | F_COLLECTING, waiting = turn_to_come(garbage);
    rcgc_visit_fn whole = garbage ? visit_release_whole_garbage : visit_release_whole;
    rcgc_visit_fn on_page = garbage ? visit_release_on_page_garbage : visit_release_on_page;
    rcgc_visit_fn bulk = garbage ? visit_release_bulk_garbage : visit_release_bulk;
    for (uint32_t r = 1; r < h->region_top; r++) {
        char *b;
        const char *end;
        size_t size;
        if (!region_blocks(h, r, &b, &end, &size))
            continue;
        page_t *p = page_of(b);
        char *first = b;
        uint32_t set = 0;
        c.whole = p;
        for (; b < end; b += size) {
            head_t *x = (head_t *)b;
            __builtin_prefetch((const void *)((uintptr_t)b + STREAM_AHEAD), 1);
            uint32_t info = tool_block_info(x);
            if (!info)
                continue;
            if ((info & both) != waiting)
                break;
            each_field_cached(h, x, &fc, whole, &c);
            set++;
        }
        /* p->used counts the page's live blocks: none of them can be in the
           free run yet, since the set's objects here wait for their turn. */
        char *walked = b;
        if (walked == end) {
            if (!set)
                continue;
            if (p->kind == PAGE_SMALL && set == p->used && PAGES_DIE_WHOLE) {
                p->free = (char *)((uintptr_t)c.emptied | DIES_WHOLE);
                c.emptied = p;
                continue;
            }
        }
        for (b = first; b < walked; b += size) {
            head_t *x = (head_t *)b;
            if ((tool_block_info(x) & both) != waiting)
                continue;
            each_field_cached(h, x, &fc, on_page, &c);
            x->info ^= turn_mark(garbage);
            if (x->refcnt == 0)
                free_run_add(h, &c.run, x);
        }
        for (; b < end; b += size) {
            head_t *x = (head_t *)b;
            __builtin_prefetch((const void *)((uintptr_t)b + STREAM_AHEAD), 1);
            if ((tool_block_info(x) & both) != waiting)
                continue;
            each_field_cached(h, x, &fc, bulk, &c);
            x->info ^= turn_mark(garbage);
            if (x->refcnt == 0)
                free_run_add(h, &c.run, x);
        }
    }
    free_run_flush(&c.run);
    for (page_t *p = c.emptied, *after; p; p = after) {
        after = (page_t *)((uintptr_t)p->free & ~DIES_WHOLE);
        rcgc__page_emptied(h, p);
    }
}

static void report_collectable(rcgc_heap *h, head_t *unreachable)
{
    uint32_t end = ref_of(unreachable);
    for (uint32_t r = unreachable->next; r != end;) {
        head_t *x = ref_ptr(h, r);
        rcgc__debug_object(h, "collectable", x);
        r = x->next;
    }
}

/* ---- One collection --------------------------------------------------------- */

/* Collects generations 0..generation; returns the number of unreachable
   objects found (n + m in CPython's terms; n, the legacy-finalizer objects, is
   always 0 here). Inlined into collect_with_callback: see
   update_subtract_refs_stream. */
static inline __attribute__((always_inline)) size_t collect_main(rcgc_heap *h, int generation)
{
    double t0 = 0;
    if (h->debug & RCGC_DEBUG_STATS) {
        rcgc__debug_start(h, generation);
        t0 = rcgc__now();
    }
    bool full = generation == NUM_GENERATIONS - 1;
    size_t blocks = full ? heap_blocks(h) : 0;
    bool stream = full && stream_pays(h, blocks);
    /* move_unreachable_linked, if the walk finds objects to park */
    bool linked = stream && h->scattered && blocks >= LINKS_MIN_BLOCKS && !h->no_scratch;
    if (generation + 1 < NUM_GENERATIONS)
        h->gen[generation + 1].count++;
    for (int i = 0; i <= generation; i++)
        h->gen[i].count = 0;
    for (int i = 0; i < generation; i++)
        list_merge(h, &h->gen[i].head, &h->gen[generation].head);

    head_t *young = &h->gen[generation].head;
    head_t *old = generation + 1 < NUM_GENERATIONS ? &h->gen[generation + 1].head : young;
    h->collect_gen = (uint8_t)generation;
    head_t *unreachable = &h->unreachable;
    size_t survivors, count;
    unsigned found;
    h->outside_refs = false;
    int shape = SHAPE_ANY;
    size_t examined = stream ? update_subtract_refs_stream(h, young, &shape) : update_subtract_refs(h, young, &shape);
    size_t far = 0;     /* far steps (far_step) of move_unreachable's walks */
    /* A set that is all garbage, which nobody can watch being freed, and of at
       least half the blocks a walk over the pages reads (see below): it needs
       no list, and neither move_unreachable nor the second analysis. */
    bool all_garbage = shape == SHAPE_GARBAGE && !h->outside_refs &&
                       !(h->debug & (RCGC_DEBUG_SAVEALL | RCGC_DEBUG_COLLECTABLE)) && examined >= blocks / 2;
    if (all_garbage) {
        list_init(young);
        survivors = 0;
        count = examined;
        found = 0;
    } else if (shape == SHAPE_IMMUTABLE_FOREST) {
        untrack_forest(h, young);
        survivors = count = 0;
        found = 0;
    } else {
        survivors = examined;
        count = 0;
        found = 0;
        if (shape == SHAPE_FOREST)
            relink_forest(h, young);
        else if (shape == SHAPE_KEPT)
            keep_all(h, young);
        else if (linked && borrow_links(h, examined)) {
            survivors = move_unreachable_linked(h, young, examined, unreachable, &count, &found, &far);
            return_links(h);
        } else if (full) {
            survivors = move_unreachable_full(h, young, examined, unreachable, &count, &found, &far);
        } else {
            survivors = move_unreachable(h, young, examined, unreachable, &count, &found);
        }
        if (h->immutable_types)
            survivors -= untrack_immutable(h, young);
    }
    /* Most steps of move_unreachable's walks were far: the list is out of
       address order. The other shapes of the set follow the addresses. */
    if (full)
        h->scattered = far > examined / 4;

    if (young != old) {
        if (generation == 1)
            h->long_lived_pending += survivors;
        list_merge(h, young, old);
    } else {
        h->long_lived_pending = 0;
        h->long_lived_total = survivors;
    }

    if (h->debug & RCGC_DEBUG_COLLECTABLE) {
        report_collectable(h, unreachable);
        rcgc__report_sccs(h, unreachable);
    }
    size_t m = 0;
    bool user_code = false;
    if (h->wr_count)
        m += rcgc__handle_weakrefs(h, unreachable, old, &user_code);
    if ((found & FOUND_FINALIZERS) && finalize_garbage(h, unreachable))
        user_code = true;

    /* Without finalizers or callbacks nothing can have changed, and the second
       analysis would find the same set in the same order. */
    head_t *final = unreachable;
    if (user_code) {
        count = handle_resurrected(h, unreachable, &h->still_unreachable, old);
        final = &h->still_unreachable;
    }
    m += count;
    if (all_garbage) {
        bulk_delete_pages(h, true);
    } else if (user_code || (found & FOUND_HOOKS) || h->outside_refs || (h->debug & RCGC_DEBUG_SAVEALL)) {
        delete_garbage(h, final, old);
    } else if (stream && count >= blocks / 2) {
        /* A set of at least half of the blocks a walk over the pages reads:
           that walk costs less than the list's (performance-log.md,
           thirtieth round). */
        bulk_delete_pages(h, false);
        list_init(final);
    } else {
        bulk_delete(h, final, count);
    }

    if (h->empty_chunks || h->empty_large)
        rcgc__release_empty(h, false);
    if (h->debug & RCGC_DEBUG_STATS)
        rcgc__debug_done(h, m, 0, rcgc__now() - t0);
    h->stats[generation].collections++;
    h->stats[generation].collected += m;
    return m;
}

static void invoke_callbacks(rcgc_heap *h, rcgc_phase phase, int generation, size_t collected)
{
    rcgc_gc_info info = { generation, collected, 0 };
    for (size_t i = 0; i < h->callback_len; i++)
        h->callbacks[i].fn(h, phase, &info, h->callbacks[i].data);
}

static size_t collect_with_callback(rcgc_heap *h, int generation)
{
    invoke_callbacks(h, RCGC_PHASE_START, generation, 0);
    size_t n = collect_main(h, generation);
    invoke_callbacks(h, RCGC_PHASE_STOP, generation, n);
    return n;
}

/* The automatic collection: the oldest generation whose count exceeds its
   threshold, with generation 2 held back by the long-lived rule. Called with
   h->collecting set. */
void rcgc__collect_generations(rcgc_heap *h)
{
#ifdef RCGC_DEBUG
    rcgc__dbg_no_traverse(h, "an automatic collection");
#endif
    for (int i = NUM_GENERATIONS - 1; i >= 0; i--) {
        if (h->gen[i].count > h->gen[i].threshold) {
            if (i == NUM_GENERATIONS - 1 && h->long_lived_pending < h->long_lived_total / 4)
                continue;
            collect_with_callback(h, i);
            break;
        }
    }
}

ptrdiff_t rcgc_collect(rcgc_heap *h, int generation)
{
    if (generation < 0 || generation >= NUM_GENERATIONS)
        return -1;
#ifdef RCGC_DEBUG
    rcgc__dbg_no_traverse(h, "rcgc_collect");
#endif
    if (h->collecting)
        return 0;
    h->collecting = 1;
    size_t n = collect_with_callback(h, generation);
    h->collecting = 0;
    if (generation == NUM_GENERATIONS - 1)
        rcgc__trim(h);
    return (ptrdiff_t)n;
}

/* ---- Settings ---------------------------------------------------------------- */

void rcgc_enable(rcgc_heap *h) { h->enabled = 1; }
void rcgc_disable(rcgc_heap *h) { h->enabled = 0; }
bool rcgc_isenabled(const rcgc_heap *h) { return h->enabled != 0; }

void rcgc_set_threshold(rcgc_heap *h, size_t t0, size_t t1, size_t t2)
{
    h->gen[0].threshold = t0;
    h->gen[1].threshold = t1;
    h->gen[2].threshold = t2;
}

void rcgc_get_threshold(const rcgc_heap *h, size_t out[3])
{
    for (int i = 0; i < NUM_GENERATIONS; i++)
        out[i] = h->gen[i].threshold;
}

void rcgc_get_count(const rcgc_heap *h, size_t out[3])
{
    for (int i = 0; i < NUM_GENERATIONS; i++)
        out[i] = h->gen[i].count;
}

void rcgc_get_stats(const rcgc_heap *h, rcgc_gen_stats out[3])
{
    for (int i = 0; i < NUM_GENERATIONS; i++)
        out[i] = h->stats[i];
}

static void set_frozen(rcgc_heap *h, head_t *l, bool frozen)
{
    uint32_t end = ref_of(l);
    for (uint32_t r = l->next; r != end;) {
        head_t *x = ref_ptr(h, r);
        if (frozen) {
            x->info |= F_FROZEN;
        } else {
            x->info &= ~(uint32_t)F_FROZEN;
            set_gen(x, NUM_GENERATIONS - 1);
        }
        r = x->next;
    }
}

/* Both are O(n): F_FROZEN must follow the objects. */
void rcgc_freeze(rcgc_heap *h)
{
    for (int i = 0; i < NUM_GENERATIONS; i++) {
        set_frozen(h, &h->gen[i].head, true);
        list_merge(h, &h->gen[i].head, &h->permanent);
        h->gen[i].count = 0;
    }
}

void rcgc_unfreeze(rcgc_heap *h)
{
    set_frozen(h, &h->permanent, false);
    list_merge(h, &h->permanent, &h->gen[NUM_GENERATIONS - 1].head);
}

size_t rcgc_get_freeze_count(const rcgc_heap *h)
{
    return list_size(h, &h->permanent);
}
