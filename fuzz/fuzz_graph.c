/*
 * libFuzzer target: the input is decoded into operations on an rcgc heap made
 * through the public API (new containers, tracked or not, and leaves, slot
 * stores, dropped and extra references, weak references, collections,
 * freeze, thresholds), and
 * every step is checked against a model the harness keeps on its own.
 *
 * The model. The harness performs every store, so it knows every slot of every
 * object; it knows its own references (the roots) and the "saved" array into
 * which resurrecting finalizers store their objects (also roots). Most types
 * have a destroy function, which runs just before the memory is freed and
 * marks the object dead in the model: for their objects death is observed,
 * never guessed. The others have no hook at all (no finalizer, no destroy),
 * so that the library's plain paths run (a leaf freed at once, a container
 * released without rcgc__dealloc's checks, a collection's garbage freed in
 * one walk); the model works their deaths out where no release is in
 * progress: one dies when nothing still alive refers to it (its count reached
 * 0), or as garbage of a collection that no finalizer made reachable again.
 * An object with hooks whose release has begun releases its fields one at a
 * time, so the model reads what it still holds from its payload
 * (slot_targets).
 * The harness touches only objects that are not dead, hooks or not.
 * Generations are modelled as CPython 3.11 moves objects (new containers in
 * generation 0, survivors promoted, freeze and unfreeze, an object
 * resurrected on the reference-count path tracked again in generation 0, a
 * weak reference whose callback the collector called moved to the next
 * generation), and so are
 * the collection counters and the choice of an automatic collection. A
 * collection callback tells the model when a collection starts and stops.
 *
 * What is checked, with reachability computed by a plain depth-first search
 * over the model's edges:
 *   - at all times: whatever is reachable from the roots is alive; an object
 *     dies only when nothing that is alive (outside the garbage of the running
 *     collection) refers to it; an object with a finalizer dies only after it
 *     ran exactly once (PEP 442); a finalizer or callback runs on the
 *     reference-count path only for an object with no references left, on the
 *     collector's path only for the collection's garbage, callbacks before
 *     finalizers;
 *   - at the start of a collection of generation g: the garbage is computed
 *     as the objects of generations 0..g not reachable from the roots or from
 *     any living object outside them; at its end every one of them is dead
 *     unless a finalizer made it reachable again, the count returned is that
 *     number when no finalizer or callback ran (at most that, plus weak
 *     references freed by their own callbacks, otherwise), and an automatic
 *     collection happened exactly when, and of the generation that, the
 *     thresholds say;
 *   - after every operation and collection: each living object's reference
 *     count equals the references the model knows of and is at least 1, its
 *     payload and slots hold what was written and stored (an object freed too
 *     early, with hooks or without, is poisoned memory for AddressSanitizer
 *     then), its tracking, generation (rcgc_get_objects, the freeze count) and
 *     finalized flag are the model's; each weak reference gives its referent
 *     or NULL consistently with deaths, its callback ran exactly when it was
 *     cleared; the collector's counts, and the live objects of the memory
 *     statistics (objects with and without hooks, plus weak references), are
 *     the model's, so an object without hooks freed late or never shows
 *     there; one object's referents and referrers are the model's;
 *   - at the end: once the roots are dropped and the saved array emptied, a
 *     full collection frees everything, and every region of memory is given
 *     back with the size it was asked for.
 *
 * Input: byte 0 sets automatic collection (bit 0: on, bits 1-4: threshold 0,
 * bits 5-6: threshold 1, bit 7: threshold 2 is 1 instead of 10); byte 1 from
 * 0xC0 up makes the memory source fail request 1 + (byte & 31), and every one
 * after it if bit 5 is set; below 0xC0, bit 0 turns on the debug output
 * (statistics, collectable objects; to /dev/null). Then one operation per
 * byte (its value modulo 16, see run_input) followed by its argument bytes:
 *   0, 1  new container: slots (a % 9), made untracked if bit 7 of a is set,
 *         type (b), size (c: see payload_bytes)
 *   2     new leaf: type (b), size (c)
 *   3-5   store: object (among the reachable ones with slots), slot, target
 *         (among the reachable objects; NULL if % 8 is 7, with rcgc_clear if
 *         bit 3 is set too); an untracked container that gets a tracked
 *         target is tracked
 *   6, 7  drop a root;  8 take another reference to a reachable object
 *   9     new weak reference: referent, callback (% 3: none, record, drop)
 *   10, 11  drop a weak reference, get its referent (kept as a root)
 *   12    collect generation a % 3 (a % 16 == 15: an invalid one)
 *   13    freeze (a & 1) or unfreeze
 *   14    automatic collection a & 1, thresholds (a >> 1) % 16, b % 4, (b >> 2) % 4
 *   15    release the saved array
 * The type byte b of 0-2: below 128, a type with a destroy and the finalizer
 * b % 5 (a leaf: b % 3; see enum fin_mode); from 128 up, a type without hooks,
 * and for a container with slots bit 6 chooses one whose fields the heap
 * reads from a table (0) or with its traverse function (1). With bit 6
 * clear, a container's type has items (with hooks always, plain ones when
 * bit 0 is set; bit 1 reverses a plain one's), or entries of two slots
 * when bit 2 is set too and the type has no finalizer (an even number of
 * slots then), each after a word that is not a reference (a hash) when bit
 * 3 is set too (a plain one's reversed by bit 1).
 * At most 96 objects live at once; the record of a dead object is reused.
 */
#include "fuzz.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define MAX_OBJECTS 96     /* living at once; a dead object's record is reused */
#define MAX_SLOTS 8
#define ITEMS_TYPES 9
#define MAX_WEAK 48
#define MAX_ROOTS 192
#define MAX_SAVED 256
#define MAGIC 0x4655475au
#define UNTRACKED (-1)
#define PERMANENT 3

enum fin_mode {
    FIN_NONE,       /* a type without finalizer */
    FIN_RECORD,     /* the finalizer only records that it ran */
    FIN_RESURRECT,  /* stores the object into the saved array */
    FIN_CLEAR0,     /* empties the object's slot 0 */
    FIN_SAVE0,      /* stores what slot 0 refers to into the saved array */
    FIN_MODES
};

enum cb_mode { CB_NONE, CB_RECORD, CB_DROP, CB_MODES };

/* The payload of every object the harness makes. */
struct payload {
    uint32_t magic;
    uint16_t index;
    size_t nslots;          /* the count of the items types (rcgc_set_type_items) */
    size_t npairs;          /* nslots / 2: the count of the entries types (rcgc_set_type_entries),
                               whose entries are pairs of slots */
    bool hashed;            /* each pair of slots follows a word that is not a
                               reference (a hash): slot_word */
    void *slots[];
};

struct object {
    void *ptr;
    bool dead;              /* its destroy ran, or (no hooks) the model found it freed */
    bool leaf;              /* no traverse: never tracked */
    bool plain;             /* its type has no hooks: its death is worked out, not seen */
    bool reversed;          /* its traverse visits the slots from the last */
    bool hashed;            /* its payload's pairs of slots follow a hash (slot_word) */
    uint8_t nslots;
    uint8_t fin;            /* enum fin_mode */
    int8_t slots[MAX_SLOTS]; /* what the harness stored: object index or -1 */
    int finalized;          /* times its finalizer ran */
    int gen;                /* 0..2, PERMANENT or UNTRACKED */
    bool in_s;              /* examined by the running collection */
    bool in_g;              /* garbage of the running collection */
    bool pinned;            /* moved during the collection: no promotion */
    bool ever_garbage;      /* found unreachable by some collection */
};

/* The word of a payload's slots[] that holds slot s: slot s itself, or, in
   a hashed payload, whose entries are {hash, slot 2k, slot 2k + 1}, the word
   after its pair's hash. */
static size_t slot_word(bool hashed, int s)
{
    return hashed ? (size_t)s / 2 * 3 + 1 + (size_t)s % 2 : (size_t)s;
}

/* The hash word of object i's pair k: a non-canonical address, which a walk
   that took it for a reference would fault on. */
static void *hash_word(int i, size_t k)
{
    return (void *)(uintptr_t)(0xA5A5000000000001u | (uint64_t)i << 16 | (uint64_t)k << 4);
}

struct weak {
    void *ptr;              /* the weak-reference object */
    bool held;              /* the harness holds its reference (else it is dead) */
    int referent;
    uint8_t cb;             /* enum cb_mode */
    int cb_runs;
    bool cleared;           /* rcgc_weakref_get has returned NULL */
    int gen;
    bool in_s, pinned;
};

struct model {
    rcgc_heap *h;
    struct object o[MAX_OBJECTS];
    int nobj;
    struct weak w[MAX_WEAK];
    int nweak;
    int roots[MAX_ROOTS];   /* references the harness owns, one entry each */
    int nroots;
    int saved[MAX_SAVED];   /* references stored by finalizers */
    int nsaved;
    int unsaving[MAX_SAVED]; /* references of the saved array being released */
    int nunsaving;

    /* reachability from the roots, recomputed after a change */
    bool reach_valid;
    bool reach[MAX_OBJECTS];

    /* the collector's counters and settings */
    size_t count[3], threshold[3];
    bool enabled;
    size_t long_lived_total, long_lived_pending;

    /* an allocation in progress */
    bool alloc_pending;     /* a container is being allocated, not yet counted */
    int expect_auto;        /* the generation it must collect, or -1 */
    bool auto_seen;

    /* the running collection */
    int manual;             /* rcgc_collect(h, manual) in progress, or -1 */
    bool collecting;
    int coll_gen;
    bool gc_fin_ran;        /* a finalizer ran on the collector's path */
    bool user_code;         /* ... or a callback */
    size_t garbage, cb_drops;
    ptrdiff_t collected;    /* as the STOP callback said */
    bool stopped;

    bool teardown;          /* rcgc_heap_free: deaths are not checked */
    bool fields_set[MAX_SLOTS]; /* the heap knows plain_fields_type[k]'s fields */
    bool items_set[ITEMS_TYPES]; /* the heap knows items_types[k]'s items */
    const struct fuzz_memory *memory;
    unsigned probe;         /* the object whose referents and referrers are checked next */
};

static struct model M;

#define FAIL(...) fuzz_fail(__VA_ARGS__)

/* ------------------------------------------------------------------------- */
/* Reachability and references in the model                                  */
/* ------------------------------------------------------------------------- */

/* Marks everything reachable from the marked objects over the slots of living
   containers. */
static void spread(bool mark[MAX_OBJECTS])
{
    int stack[MAX_OBJECTS];
    int top = 0, i, s;

    for (i = 0; i < M.nobj; i++)
        if (mark[i])
            stack[top++] = i;
    while (top > 0) {
        const struct object *o = &M.o[stack[--top]];
        if (o->dead)
            continue;
        for (s = 0; s < o->nslots; s++) {
            int t = o->slots[s];
            if (t >= 0 && !mark[t]) {
                mark[t] = true;
                stack[top++] = t;
            }
        }
    }
}

static void mark_roots(bool mark[MAX_OBJECTS])
{
    int i;

    memset(mark, 0, MAX_OBJECTS * sizeof *mark);
    for (i = 0; i < M.nroots; i++)
        mark[M.roots[i]] = true;
    for (i = 0; i < M.nsaved; i++)
        mark[M.saved[i]] = true;
    for (i = 0; i < M.nunsaving; i++)
        mark[M.unsaving[i]] = true;
}

static void changed(void)
{
    M.reach_valid = false;
}

/* Whether object i is reachable from the roots. Checks on the way that
   nothing reachable is dead. */
static bool reachable(int i)
{
    int j;

    if (!M.reach_valid) {
        mark_roots(M.reach);
        spread(M.reach);
        for (j = 0; j < M.nobj; j++)
            if (M.reach[j] && M.o[j].dead)
                FAIL("object %d is reachable from the roots but was freed", j);
        M.reach_valid = true;
    }
    return M.reach[i];
}

/* refs[i] = the references to object i held by the harness itself: its
   roots, the saved array and the part of it being released. */
static void count_root_refs(int refs[MAX_OBJECTS])
{
    int i;

    memset(refs, 0, MAX_OBJECTS * sizeof refs[0]);
    for (i = 0; i < M.nroots; i++)
        refs[M.roots[i]]++;
    for (i = 0; i < M.nsaved; i++)
        refs[M.saved[i]]++;
    for (i = 0; i < M.nunsaving; i++)
        refs[M.unsaving[i]]++;
}

/* What the slots of object o refer to (object indexes, or -1). That is what
   the harness stored, except in an object with hooks whose release has begun
   (its count in the heap is 0; its destroy, which the model sees, has not run
   yet): the heap releases its fields one at a time, each release complete
   before the next field's, so its payload tells which references it still
   holds, and they are copied into buf. An object without hooks is freed as
   soon as its count is 0, so its payload cannot be read here; the model
   treats it as gone at once (see survivors). */
static const int8_t *slot_targets(const struct object *o, int8_t buf[MAX_SLOTS])
{
    const struct payload *p = o->ptr;
    int s;

    if (o->plain || o->dead || rcgc_refcount(o->ptr) != 0)
        return o->slots;
    for (s = 0; s < o->nslots; s++) {
        const void *t = p->slots[slot_word(p->hashed, s)];
        buf[s] = t ? (int8_t)((const struct payload *)t)->index : -1;
    }
    return buf;
}

/* The objects still alive once the releases in progress are over. Those
   with hooks are alive until their destroy says otherwise; one without hooks
   dies unseen when its count reaches 0, so it is taken out here when nothing
   left in the set refers to it, and what only it referred to goes next (an
   unreachable cycle of them stays, as it does in the heap). The roots, the
   saved array and the slots of the set are the references; the model updates
   them before it calls the library, so the set is where the heap is going.
   exclude_garbage: the garbage of the running collection counts as gone, as
   the collector clears its slots (the model does not follow that). */
static void survivors(bool alive[MAX_OBJECTS], bool exclude_garbage)
{
    int refs[MAX_OBJECTS], stack[MAX_OBJECTS];
    int top = 0, i, s;

    count_root_refs(refs);
    for (i = 0; i < M.nobj; i++) {
        const struct object *o = &M.o[i];
        const int8_t *slots;
        int8_t buf[MAX_SLOTS];
        alive[i] = !o->dead && !(exclude_garbage && o->in_g);
        if (!alive[i])
            continue;
        slots = slot_targets(o, buf);
        for (s = 0; s < o->nslots; s++)
            if (slots[s] >= 0)
                refs[slots[s]]++;
    }
    for (i = 0; i < M.nobj; i++) {
        if (alive[i] && M.o[i].plain && refs[i] == 0) {
            alive[i] = false;
            stack[top++] = i;
        }
    }
    while (top > 0) {
        const struct object *o = &M.o[stack[--top]];     /* without hooks */
        for (s = 0; s < o->nslots; s++) {
            int t = o->slots[s];
            if (t >= 0 && --refs[t] == 0 && alive[t] && M.o[t].plain) {
                alive[t] = false;
                stack[top++] = t;
            }
        }
    }
}

/* References to object i that stay: the roots, the saved array and the slots
   of the survivors (see survivors). */
static int model_refs(int i, bool exclude_garbage)
{
    bool alive[MAX_OBJECTS];
    int n = 0, j, s;

    survivors(alive, exclude_garbage);
    for (j = 0; j < M.nroots; j++)
        n += M.roots[j] == i;
    for (j = 0; j < M.nsaved; j++)
        n += M.saved[j] == i;
    for (j = 0; j < M.nunsaving; j++)
        n += M.unsaving[j] == i;
    for (j = 0; j < M.nobj; j++) {
        const struct object *o = &M.o[j];
        const int8_t *slots;
        int8_t buf[MAX_SLOTS];
        if (!alive[j])
            continue;
        slots = slot_targets(o, buf);
        for (s = 0; s < o->nslots; s++)
            n += slots[s] == i;
    }
    return n;
}

static struct object *object_of(void *p, const char *where)
{
    struct payload *g = p;
    struct object *o;

    if (g->magic != MAGIC || g->index >= M.nobj)
        FAIL("%s: %p is not a living object of the harness", where, p);
    o = &M.o[g->index];
    if (o->ptr != p || o->dead)
        FAIL("%s: object %u is dead or moved", where, (unsigned)g->index);
    return o;
}

static int old_generation(int g)
{
    return g < 2 ? g + 1 : 2;
}

/* ------------------------------------------------------------------------- */
/* The collector's counters                                                  */
/* ------------------------------------------------------------------------- */

static void count_dealloc(void)
{
    if (M.count[0] > 0)
        M.count[0]--;
}

/* Object i, without hooks, was freed: what its destroy would have noted. */
static void bury(int i)
{
    struct object *o = &M.o[i];

    o->dead = true;
    if (!o->leaf)
        count_dealloc();
    changed();
}

/* Marks dead the objects without hooks that are no longer survivors. Only
   where no release is in progress (between operations, at the start and the
   end of a collection): then the model's references are the heap's, and an
   object that is not a survivor has been freed. Deaths only lower the count
   of generation 0 (never below 0), and the next increment comes after this,
   so it ends where the heap's, counted at each death, does. */
static void settle(void)
{
    bool alive[MAX_OBJECTS];
    int i;

    survivors(alive, false);
    for (i = 0; i < M.nobj; i++)
        if (M.o[i].plain && !M.o[i].dead && !alive[i])
            bury(i);
}

/* The generation an automatic collection collects now (count0 already
   incremented), or -1: CPython's gc_collect_generations. */
static int automatic_generation(size_t count0)
{
    int i;

    if (!(count0 > M.threshold[0] && M.enabled && M.threshold[0] != 0))
        return -1;
    for (i = 2; i >= 0; i--) {
        size_t c = i == 0 ? count0 : M.count[i];
        if (c > M.threshold[i]) {
            if (i == 2 && M.long_lived_pending < M.long_lived_total / 4)
                continue;
            return i;
        }
    }
    return -1;
}

static void alloc_begin(bool container)
{
    M.alloc_pending = container;
    M.expect_auto = container ? automatic_generation(M.count[0] + 1) : -1;
    M.auto_seen = false;
}

static void alloc_end(bool ok)
{
    if (!ok) {
        if (M.auto_seen)
            FAIL("an allocation that failed ran a collection");
    } else {
        if (M.alloc_pending)
            M.count[0]++;
        if (M.auto_seen != (M.expect_auto >= 0))
            FAIL("automatic collection %s, expected %s (counts %zu %zu %zu, thresholds %zu %zu %zu)",
                 M.auto_seen ? "ran" : "did not run", M.expect_auto >= 0 ? "one" : "none",
                 M.count[0], M.count[1], M.count[2], M.threshold[0], M.threshold[1], M.threshold[2]);
    }
    M.alloc_pending = false;
    M.expect_auto = -1;
}

/* ------------------------------------------------------------------------- */
/* The checks at rest                                                        */
/* ------------------------------------------------------------------------- */

struct listing {
    int gen;
    size_t n;
};

static void list_object(void *obj, void *arg)
{
    struct listing *l = arg;
    int i;

    l->n++;
    if (rcgc_is_weakref(obj)) {
        for (i = 0; i < M.nweak; i++)
            if (M.w[i].held && M.w[i].ptr == obj)
                break;
        if (i == M.nweak)
            FAIL("get_objects(%d) lists a weak reference the harness does not hold", l->gen);
        if (M.w[i].gen != l->gen)
            FAIL("weak reference %d is in generation %d, the model says %d", i, l->gen, M.w[i].gen);
    } else {
        struct object *o = object_of(obj, "get_objects");
        if (o->gen != l->gen)
            FAIL("object %d is in generation %d, the model says %d", (int)(o - M.o), l->gen, o->gen);
    }
}

struct found {
    void *ptr[MAX_OBJECTS];
    int n;
};

static void found_one(void *obj, void *arg)
{
    struct found *f = arg;

    if (f->n == MAX_OBJECTS)
        FAIL("introspection lists more objects than there are");
    f->ptr[f->n++] = obj;
}

/* rcgc_get_referents and rcgc_get_referrers of one living object (a
   different one each time) against the model's slots. */
static void check_introspection(void)
{
    struct found f;
    int i, j, s, k, n = 0;
    const struct object *o = NULL;
    size_t count;

    for (k = 0; k < M.nobj && o == NULL; k++) {
        i = (int)((M.probe + (unsigned)k) % (unsigned)M.nobj);
        if (!M.o[i].dead)
            o = &M.o[i];
    }
    if (o == NULL)
        return;
    i = (int)(o - M.o);
    M.probe = (unsigned)i + 1;
    f.n = 0;
    rcgc_get_referents(o->ptr, found_one, &f);
    for (k = 0; k < o->nslots; k++) {
        s = o->reversed ? o->nslots - 1 - k : k;
        if (o->slots[s] < 0)
            continue;
        if (n >= f.n || f.ptr[n] != M.o[o->slots[s]].ptr)
            FAIL("get_referents of object %d differs from its slots at slot %d", i, s);
        n++;
    }
    if (n != f.n)
        FAIL("get_referents of object %d lists %d objects, its slots hold %d", i, f.n, n);
    f.n = 0;
    count = rcgc_get_referrers(M.h, o->ptr, found_one, &f);
    n = 0;
    for (j = 0; j < M.nobj; j++) {
        const struct object *r = &M.o[j];
        if (r->dead || r->gen < 0 || r->gen > 2)
            continue;
        for (s = 0; s < r->nslots; s++)
            if (r->slots[s] == i)
                break;
        if (s == r->nslots)
            continue;
        for (k = 0; k < f.n; k++)
            if (f.ptr[k] == r->ptr)
                break;
        if (k == f.n)
            FAIL("get_referrers of object %d misses object %d", i, j);
        n++;
    }
    if (count != (size_t)f.n || f.n != n)
        FAIL("get_referrers of object %d returned %zu and listed %d objects, the model has %d", i, count, f.n, n);
}

/* Everything the model knows, compared with the heap. in_alloc: inside an
   allocation, whose block already counts as a live object. */
static void check_all(bool in_alloc)
{
    int refs[MAX_OBJECTS];
    size_t per_gen[4] = { 0, 0, 0, 0 };
    size_t live = 0, counts[3];
    rcgc_memory_stats ms;
    int i, s, g;

    settle();
    reachable(0);
    count_root_refs(refs);
    for (i = 0; i < M.nobj; i++) {
        const struct object *o = &M.o[i];
        const struct payload *p = o->ptr;
        if (o->dead)
            continue;
        /* Read for every living object: one the heap freed too early (the
           model cannot see those without hooks die) is poisoned memory. */
        if (p->magic != MAGIC || p->index != i || p->nslots != o->nslots || p->npairs != (size_t)o->nslots / 2 ||
            p->hashed != o->hashed)
            FAIL("object %d: its payload is not the one the harness wrote", i);
        for (s = 0; s < o->nslots; s++) {
            int t = o->slots[s];
            void *expect = t >= 0 ? M.o[t].ptr : NULL, *held = p->slots[slot_word(o->hashed, s)];
            if (t >= 0 && M.o[t].dead)
                FAIL("object %d is alive and its slot %d refers to object %d, which was freed", i, s, t);
            if (held != expect)
                FAIL("object %d slot %d holds %p, the harness stored %p", i, s, held, expect);
            if (o->hashed && s % 2 == 0 && p->slots[slot_word(true, s) - 1] != hash_word(i, (size_t)s / 2))
                FAIL("object %d: the hash before its slot %d changed", i, s);
            if (t >= 0)
                refs[t]++;
        }
    }
    for (i = 0; i < M.nobj; i++) {
        const struct object *o = &M.o[i];
        if (o->dead)
            continue;
        live++;
        if (refs[i] == 0)
            FAIL("object %d has no references left but is alive", i);
        if (rcgc_refcount(o->ptr) != (size_t)refs[i])
            FAIL("object %d: refcount %zu, the model knows of %d references", i, rcgc_refcount(o->ptr), refs[i]);
        if (rcgc_is_tracked(o->ptr) != (o->gen != UNTRACKED))
            FAIL("object %d: tracked is %d, the model says generation %d", i, rcgc_is_tracked(o->ptr), o->gen);
        if (rcgc_is_finalized(o->ptr) != (o->finalized > 0))
            FAIL("object %d: is_finalized is %d, its finalizer ran %d times", i, rcgc_is_finalized(o->ptr),
                 o->finalized);
        if (o->gen != UNTRACKED)
            per_gen[o->gen]++;
    }
    for (i = 0; i < M.nweak; i++) {
        struct weak *w = &M.w[i];
        struct object *r = &M.o[w->referent];
        void *got;
        if (!w->held)
            continue;
        live++;
        per_gen[w->gen]++;
        if (!rcgc_is_weakref(w->ptr) || rcgc_refcount(w->ptr) != 1)
            FAIL("weak reference %d: not a weak reference with one reference", i);
        got = rcgc_weakref_get(w->ptr);
        if (got != NULL) {
            if (got != r->ptr || r->dead)
                FAIL("weak reference %d gives %p, its referent %d is %p%s", i, got, w->referent, r->ptr,
                     r->dead ? " (freed)" : "");
            if (w->cleared)
                FAIL("weak reference %d gives its referent again after it gave NULL", i);
            if (w->cb_runs != 0)
                FAIL("weak reference %d: its callback ran but it still gives its referent", i);
            rcgc_decref(got);
        } else {
            w->cleared = true;
            if (!r->dead && !r->ever_garbage)
                FAIL("weak reference %d gives NULL, but its referent %d is alive and was never garbage", i,
                     w->referent);
            if (w->cb != CB_NONE && w->cb_runs != 1)
                FAIL("weak reference %d was cleared, its callback ran %d times", i, w->cb_runs);
        }
    }
    for (g = 0; g < 3; g++) {
        struct listing l = { g, 0 };
        size_t n = rcgc_get_objects(M.h, g, list_object, &l);
        if (n != l.n || n != per_gen[g])
            FAIL("generation %d has %zu objects, the model %zu", g, n, per_gen[g]);
    }
    check_introspection();
    if (rcgc_get_freeze_count(M.h) != per_gen[PERMANENT])
        FAIL("freeze count %zu, the model %zu", rcgc_get_freeze_count(M.h), per_gen[PERMANENT]);
    rcgc_get_count(M.h, counts);
    if (counts[0] != M.count[0] || counts[1] != M.count[1] || counts[2] != M.count[2])
        FAIL("counts %zu %zu %zu, the model %zu %zu %zu", counts[0], counts[1], counts[2], M.count[0], M.count[1],
             M.count[2]);
    rcgc_get_memory_stats(M.h, &ms);
    if (ms.objects != live + in_alloc)
        FAIL("%zu live objects, the model %zu", ms.objects, live + in_alloc);
}

/* ------------------------------------------------------------------------- */
/* The objects' functions                                                    */
/* ------------------------------------------------------------------------- */

static void node_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    struct payload *p = obj;
    size_t i;

    for (i = 0; i < p->nslots; i++)
        visit(&p->slots[i], arg);
}

/* The slots from the last to the first, as CPython visits a tuple's items. */
static void node_traverse_reverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    struct payload *p = obj;
    size_t i;

    for (i = p->nslots; i-- > 0;)
        visit(&p->slots[i], arg);
}

/* The slots of a hashed payload, without the hashes. */
static void node_traverse_hashed(void *obj, rcgc_visit_fn visit, void *arg)
{
    struct payload *p = obj;
    size_t i;

    for (i = 0; i < p->nslots; i++)
        visit(&p->slots[slot_word(true, (int)i)], arg);
}

/* The same from the last slot, as RCGC_ITEMS_REVERSE reads entries. */
static void node_traverse_hashed_reverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    struct payload *p = obj;
    size_t i;

    for (i = p->nslots; i-- > 0;)
        visit(&p->slots[slot_word(true, (int)i)], arg);
}

/* Stores a new reference to object i into the saved array (a full array
   stores nothing: the object is not resurrected). */
static void save(int i)
{
    if (M.nsaved == MAX_SAVED)
        return;
    rcgc_incref(M.o[i].ptr);
    M.saved[M.nsaved++] = i;
    changed();
}

static void node_finalize(void *obj)
{
    struct object *o = object_of(obj, "finalize");
    struct payload *p = obj;
    int i = (int)(o - M.o);
    /* On the reference-count path a finalizer runs with a temporary count of
       1; the collector adds a temporary reference to a count of at least 1. */
    bool refcount_path = rcgc_refcount(obj) == 1;

    if (o->finalized != 0)
        FAIL("object %d: finalizer runs a second time", i);
    o->finalized++;
    if (refcount_path) {
        /* subtype_dealloc: nothing refers to it; tracked again in generation 0. */
        if (reachable(i) || model_refs(i, true) != 0)
            FAIL("object %d finalized on the reference-count path but still referenced", i);
        if (!o->leaf) {
            o->gen = 0;
            o->pinned = true;
        }
    } else {
        if (!M.collecting || !o->in_g)
            FAIL("object %d finalized by the collector but it is not the collection's garbage", i);
        M.gc_fin_ran = true;
        M.user_code = true;
    }
    switch (o->fin) {
    case FIN_RESURRECT:
        save(i);
        break;
    case FIN_CLEAR0:
        if (o->nslots > 0 && o->slots[0] >= 0) {
            o->slots[0] = -1;
            changed();
            rcgc_clear(&p->slots[0]);
        }
        break;
    case FIN_SAVE0:
        if (o->nslots > 0 && o->slots[0] >= 0)
            save(o->slots[0]);
        break;
    default:
        break;
    }
}

static void node_destroy(void *obj)
{
    struct object *o = object_of(obj, "destroy");
    struct payload *p = obj;
    int i = (int)(o - M.o);

    if (!M.teardown) {
        if (reachable(i))
            FAIL("object %d freed while reachable from the roots", i);
        if (!o->in_g && model_refs(i, true) != 0)
            FAIL("object %d freed while %d references to it remain", i, model_refs(i, true));
        if (o->fin != FIN_NONE && o->finalized != 1)
            FAIL("object %d freed, its finalizer ran %d times", i, o->finalized);
        if (!o->leaf)
            count_dealloc();
    }
    o->dead = true;
    p->magic = 0;
}

static const rcgc_type node_type = { "fuzz node", 0, node_traverse, NULL, node_destroy };
static const rcgc_type node_fin_type = { "fuzz node (fin)", 0, node_traverse, node_finalize, node_destroy };
static const rcgc_type leaf_type = { "fuzz leaf", 0, NULL, NULL, node_destroy };
static const rcgc_type leaf_fin_type = { "fuzz leaf (fin)", 0, NULL, node_finalize, node_destroy };

/* Types without hooks (no finalizer, no destroy): nothing can watch their
   objects die, so the library frees them on its plain paths (a leaf at once,
   a container without rcgc__dealloc's checks, a collection's garbage in one walk
   when nothing in it or referred to from the examined objects has hooks).
   The containers of plain_fields_type[k] have k + 1 slots, which the heap is
   told of (rcgc_set_type_fields) before the first is made, so that the
   collector and the release read them without node_traverse; those of
   plain_node_type have any number and keep to node_traverse. */
#define SLOT_OFFSET(k) (offsetof(struct payload, slots) + (size_t)(k) * sizeof(void *))
#define PLAIN_FIELDS(k) { "fuzz node (plain, fields)", SLOT_OFFSET(k), node_traverse, NULL, NULL }

static const size_t slot_offsets[MAX_SLOTS] = { SLOT_OFFSET(0), SLOT_OFFSET(1), SLOT_OFFSET(2), SLOT_OFFSET(3),
                                                SLOT_OFFSET(4), SLOT_OFFSET(5), SLOT_OFFSET(6), SLOT_OFFSET(7) };
static const rcgc_type plain_fields_type[MAX_SLOTS] = { PLAIN_FIELDS(1), PLAIN_FIELDS(2), PLAIN_FIELDS(3),
                                                        PLAIN_FIELDS(4), PLAIN_FIELDS(5), PLAIN_FIELDS(6),
                                                        PLAIN_FIELDS(7), PLAIN_FIELDS(8) };
static const rcgc_type plain_node_type = { "fuzz node (plain)", 0, node_traverse, NULL, NULL };

/* Types whose slots the heap reads as items (rcgc_set_type_items: the count
   nslots, the items in the payload), told before the first is made: with
   hooks and without, in traverse order and, for plain ones, reversed; and
   types whose slots it reads as entries of two references each
   (rcgc_set_type_entries: the count npairs; their objects have an even
   number of slots, so that node_traverse visits the same references in the
   same order), with a destroy, and plain and reversed; and the same with a
   hash before each pair (entries of three words whose references start at
   the second; hashed payloads), with a destroy, plain, and plain and
   reversed. */
#define ITEMS_SIZE offsetof(struct payload, slots)
static const rcgc_type items_types[ITEMS_TYPES] = {
    { "fuzz node (items)", ITEMS_SIZE, node_traverse, NULL, node_destroy },
    { "fuzz node (fin, items)", ITEMS_SIZE, node_traverse, node_finalize, node_destroy },
    { "fuzz node (plain, items)", ITEMS_SIZE, node_traverse, NULL, NULL },
    { "fuzz node (plain, reversed items)", ITEMS_SIZE, node_traverse_reverse, NULL, NULL },
    { "fuzz node (entries)", ITEMS_SIZE, node_traverse, NULL, node_destroy },
    { "fuzz node (plain, reversed entries)", ITEMS_SIZE, node_traverse_reverse, NULL, NULL },
    { "fuzz node (hashed entries)", ITEMS_SIZE, node_traverse_hashed, NULL, node_destroy },
    { "fuzz node (plain, hashed entries)", ITEMS_SIZE, node_traverse_hashed, NULL, NULL },
    { "fuzz node (plain, reversed hashed entries)", ITEMS_SIZE, node_traverse_hashed_reverse, NULL, NULL },
};
enum {
    ITEMS_HOOKS,
    ITEMS_FIN,
    ITEMS_PLAIN,
    ITEMS_PLAIN_REVERSE,
    ENTRIES_HOOKS,
    ENTRIES_PLAIN_REVERSE,
    HASHED_HOOKS,
    HASHED_PLAIN,
    HASHED_PLAIN_REVERSE
};
static const rcgc_type plain_leaf_type = { "fuzz leaf (plain)", 0, NULL, NULL, NULL };

static void weak_callback(void *weakref, void *data)
{
    struct weak *w = data;
    struct object *r = &M.o[w->referent];
    int i = (int)(w - M.w);
    bool gc_path = M.collecting && r->in_g;

    if (!w->held || w->ptr != weakref)
        FAIL("callback of weak reference %d, which the harness no longer holds", i);
    if (w->cb_runs != 0)
        FAIL("callback of weak reference %d runs a second time", i);
    w->cb_runs++;
    if (rcgc_weakref_get(weakref) != NULL)
        FAIL("weak reference %d still gives its referent in its callback", i);
    if (r->dead)
        FAIL("callback of weak reference %d after its referent %d was freed", i, w->referent);
    if (gc_path) {
        if (M.gc_fin_ran)
            FAIL("callback of weak reference %d after a finalizer of the same collection", i);
        M.user_code = true;
        w->gen = old_generation(M.coll_gen);
        w->pinned = true;
    } else if (reachable(w->referent) || model_refs(w->referent, true) != 0) {
        FAIL("callback of weak reference %d while its referent %d is still referenced", i, w->referent);
    }
    if (w->cb == CB_DROP) {
        w->held = false;
        count_dealloc();
        if (gc_path)
            M.cb_drops++;
        rcgc_decref(weakref);
    }
}

/* ------------------------------------------------------------------------- */
/* Collections                                                               */
/* ------------------------------------------------------------------------- */

static void collection_start(int g)
{
    bool mark[MAX_OBJECTS];
    size_t examined = 0;
    int i;

    if (M.collecting)
        FAIL("a collection starts inside another");
    /* A release since the last operation's checks (the saved array emptied
       in finish) may have freed objects without hooks. */
    settle();
    if (M.manual >= 0) {
        if (g != M.manual)
            FAIL("rcgc_collect(%d) collects generation %d", M.manual, g);
    } else {
        if (!M.alloc_pending)
            FAIL("an automatic collection outside the allocation of a container");
        M.count[0]++;
        M.alloc_pending = false;
        if (g != M.expect_auto)
            FAIL("automatic collection of generation %d, expected %d", g, M.expect_auto);
        M.auto_seen = true;
    }
    if (g < 2)
        M.count[g + 1]++;
    for (i = 0; i <= g; i++)
        M.count[i] = 0;

    /* The examined set: generations 0..g. Its garbage: what neither the roots
       nor any living object outside it reaches. */
    memset(mark, 0, sizeof mark);
    for (i = 0; i < M.nobj; i++) {
        struct object *o = &M.o[i];
        o->in_s = o->in_g = o->pinned = false;
        if (o->dead)
            continue;
        if (o->gen >= 0 && o->gen <= g) {
            o->in_s = true;
            examined++;
        } else {
            mark[i] = true;
        }
    }
    for (i = 0; i < M.nweak; i++) {
        struct weak *w = &M.w[i];
        w->in_s = w->pinned = false;
        if (w->held && w->gen <= g) {
            w->in_s = true;
            examined++;
        }
    }
    for (i = 0; i < M.nroots; i++)
        mark[M.roots[i]] = true;
    for (i = 0; i < M.nsaved; i++)
        mark[M.saved[i]] = true;
    for (i = 0; i < M.nunsaving; i++)
        mark[M.unsaving[i]] = true;
    spread(mark);
    M.garbage = 0;
    for (i = 0; i < M.nobj; i++) {
        struct object *o = &M.o[i];
        if (o->in_s && !mark[i]) {
            o->in_g = true;
            o->ever_garbage = true;
            M.garbage++;
        }
    }
    if (g == 1)
        M.long_lived_pending += examined - M.garbage;
    else if (g == 2) {
        M.long_lived_pending = 0;
        M.long_lived_total = examined - M.garbage;
    }
    M.collecting = true;
    M.coll_gen = g;
    M.gc_fin_ran = M.user_code = false;
    M.cb_drops = 0;
}

static void collection_stop(int g, size_t collected)
{
    bool kept[MAX_OBJECTS];
    int old = old_generation(g), i;

    if (!M.collecting || g != M.coll_gen)
        FAIL("a collection stops that did not start");
    /* The garbage without hooks is freed unless a finalizer made it reachable
       again (the collector's second analysis keeps exactly that); then so is
       what only freed objects referred to. */
    reachable(0);
    memcpy(kept, M.reach, sizeof kept);
    for (i = 0; i < M.nobj; i++)
        if (M.o[i].plain && M.o[i].in_g && !M.o[i].dead && !(M.user_code && kept[i]))
            bury(i);
    settle();
    for (i = 0; i < M.nobj; i++) {
        struct object *o = &M.o[i];
        if (o->in_g && !o->dead) {
            if (!M.user_code)
                FAIL("object %d was garbage of this collection and is still alive", i);
            if (!reachable(i))
                FAIL("object %d was garbage of this collection, is unreachable and still alive", i);
        }
        if (o->in_s && !o->dead && !o->pinned)
            o->gen = old;
        o->in_s = o->in_g = o->pinned = false;
    }
    for (i = 0; i < M.nweak; i++) {
        struct weak *w = &M.w[i];
        if (w->in_s && w->held && !w->pinned)
            w->gen = old;
        w->in_s = w->pinned = false;
    }
    if (!M.user_code && collected != M.garbage)
        FAIL("collection of generation %d returned %zu, the garbage is %zu objects", g, collected, M.garbage);
    if (collected > M.garbage + M.cb_drops)
        FAIL("collection of generation %d returned %zu, more than its %zu garbage objects and %zu weak references",
             g, collected, M.garbage, M.cb_drops);
    M.collecting = false;
    M.collected = (ptrdiff_t)collected;
    M.stopped = true;
    check_all(M.manual < 0);
}

static void gc_callback(rcgc_heap *h, rcgc_phase phase, const rcgc_gc_info *info, void *data)
{
    if (h != M.h || data != &M)
        FAIL("collection callback with the wrong heap or data");
    if (info->uncollectable != 0)
        FAIL("uncollectable objects reported");
    if (phase == RCGC_PHASE_START) {
        if (info->collected != 0)
            FAIL("collected is not 0 at the start");
        collection_start(info->generation);
    } else {
        collection_stop(info->generation, info->collected);
    }
}

/* ------------------------------------------------------------------------- */
/* Operations                                                                */
/* ------------------------------------------------------------------------- */

/* The living objects reachable from the roots (containers with slots only,
   if asked), in index order. */
static int reachable_list(int *out, bool with_slots)
{
    int n = 0, i;

    for (i = 0; i < M.nobj; i++)
        if (reachable(i) && (!with_slots || M.o[i].nslots > 0))
            out[n++] = i;
    return n;
}

/* A record for a new object: a never used one, or that of a dead object no
   weak reference the harness holds refers to. -1 if there is none. */
static int free_object_index(void)
{
    int i, j;

    if (M.nobj < MAX_OBJECTS)
        return M.nobj;
    for (i = 0; i < M.nobj; i++) {
        if (!M.o[i].dead)
            continue;
        for (j = 0; j < M.nweak; j++)
            if (M.w[j].held && M.w[j].referent == i)
                break;
        if (j == M.nweak)
            return i;
    }
    return -1;
}

/* Payload sizes: exact (slots only), padded by up to 496 bytes, 4 to 7 KiB
   (four size classes of 7 to 12 blocks per page, so that pages fill up and
   empty), or over 8 KiB (a large object). */
static size_t payload_bytes(size_t words, uint8_t c)
{
    size_t bytes = sizeof(struct payload) + words * sizeof(void *);

    switch (c % 8) {
    case 5:
        return bytes + (size_t)(c >> 3) * 16;
    case 6:
        return bytes + 4096 + (size_t)((c >> 3) & 3) * 1024;
    case 7:
        return bytes + 8192 + (size_t)(c >> 3) * 2048;
    default:
        return bytes;
    }
}

/* items_types[k], told to the heap the first time. NULL when the heap could
   not take it (memory short). */
static const rcgc_type *items_type(int k)
{
    const rcgc_type *type = &items_types[k];
    bool reverse = k == ITEMS_PLAIN_REVERSE || k == ENTRIES_PLAIN_REVERSE || k == HASHED_PLAIN_REVERSE;
    unsigned flags = RCGC_ITEMS_INLINE | (reverse ? RCGC_ITEMS_REVERSE : 0);

    if (!M.items_set[k]) {
        int status;
        if (k >= HASHED_HOOKS)
            status = rcgc_set_type_entries(M.h, type, offsetof(struct payload, npairs), ITEMS_SIZE,
                                           3 * sizeof(void *), sizeof(void *), 2, flags);
        else if (k >= ENTRIES_HOOKS)
            status = rcgc_set_type_entries(M.h, type, offsetof(struct payload, npairs), ITEMS_SIZE,
                                           2 * sizeof(void *), 0, 2, flags);
        else
            status = rcgc_set_type_items(M.h, type, offsetof(struct payload, nslots), ITEMS_SIZE, flags);
        if (status != 0) {
            if (M.memory->fail_at == 0)
                FAIL("the heap refused the items of %s", type->name);
            return NULL;
        }
        M.items_set[k] = true;
        if (rcgc_new_sized(M.h, type, type->size - 1) != NULL)
            FAIL("rcgc_new_sized made an object smaller than its type's count");
    }
    return type;
}

/* The type of a new object: `traverse` keeps to node_traverse, `items` (for
   a type without hooks) chooses items over fields, `reverse` their order,
   `entries` (for a container whose type would have items, and without a
   finalizer) entries of two slots over items.
   NULL when the heap could not take the field table or the items of a type
   (memory short): nothing is made then, so that no object of the type exists
   when it is tried again. */
static const rcgc_type *new_type(bool leaf, bool plain, bool traverse, bool items, bool reverse, bool entries,
                                 bool hashed, int nslots, int fin)
{
    const rcgc_type *type;
    int k = nslots - 1;

    if (!plain) {
        if (leaf)
            return fin ? &leaf_fin_type : &leaf_type;
        if (!traverse)
            return items_type(hashed ? HASHED_HOOKS : entries ? ENTRIES_HOOKS : fin ? ITEMS_FIN : ITEMS_HOOKS);
        return fin ? &node_fin_type : &node_type;
    }
    if (leaf)
        return &plain_leaf_type;
    if (!traverse && items && hashed)
        return items_type(reverse ? HASHED_PLAIN_REVERSE : HASHED_PLAIN);
    if (!traverse && items)
        return items_type(entries ? ENTRIES_PLAIN_REVERSE : reverse ? ITEMS_PLAIN_REVERSE : ITEMS_PLAIN);
    if (nslots == 0 || traverse)
        return &plain_node_type;
    type = &plain_fields_type[k];
    if (!M.fields_set[k]) {
        if (rcgc_set_type_fields(M.h, type, slot_offsets, (size_t)nslots) != 0) {
            if (M.memory->fail_at == 0)
                FAIL("rcgc_set_type_fields refused the %d fields of %s", nslots, type->name);
            return NULL;
        }
        M.fields_set[k] = true;
        if (rcgc_new_sized(M.h, type, type->size - 1) != NULL)
            FAIL("rcgc_new_sized made an object smaller than its type's fields");
    }
    return type;
}

static void op_new(bool leaf, uint8_t a, uint8_t b, uint8_t c)
{
    bool plain = (b & 128) != 0, untracked = !leaf && (a & 128) != 0;
    int nslots = leaf ? 0 : a % (MAX_SLOTS + 1);
    int fin = plain ? FIN_NONE : leaf ? b % 3 : b % FIN_MODES;
    bool entries = !leaf && (b & 4) != 0 && (b & 64) == 0 && (plain ? (b & 1) != 0 : fin == FIN_NONE);
    bool hashed = entries && (b & 8) != 0;
    static const char zero[1024];
    size_t bytes;

    if (entries)
        nslots &= ~1;
    bytes = payload_bytes(hashed ? (size_t)nslots / 2 * 3 : (size_t)nslots, c);
    const rcgc_type *type;
    struct object *o;
    struct payload *p;
    size_t i;
    int index;

    if (free_object_index() < 0 || M.nroots == MAX_ROOTS)
        return;
    type = new_type(leaf, plain, (b & 64) != 0, (b & 1) != 0, (b & 2) != 0, entries, hashed, nslots, fin);
    if (type == NULL)
        return;

    alloc_begin(!leaf);
    p = untracked ? rcgc_new_sized_untracked(M.h, type, bytes) : rcgc_new_sized(M.h, type, bytes);
    alloc_end(p != NULL);
    if (p == NULL)
        return;
    if (rcgc_refcount(p) != 1 || rcgc_type_of(p) != type || rcgc_heap_of(p) != M.h || rcgc_size_of(p) < bytes)
        FAIL("a new object's count, type, heap or size is wrong");
    for (i = 0; i < bytes; i += sizeof zero) {
        size_t n = bytes - i < sizeof zero ? bytes - i : sizeof zero;
        if (memcmp((const char *)p + i, zero, n) != 0)
            FAIL("a new object's payload is not zero in bytes %zu..%zu", i, i + n - 1);
    }
    index = free_object_index();
    if (index == M.nobj)
        M.nobj++;
    o = &M.o[index];
    memset(o, 0, sizeof *o);
    o->ptr = p;
    o->leaf = leaf;
    o->plain = plain;
    o->reversed = type == &items_types[ITEMS_PLAIN_REVERSE] || type == &items_types[ENTRIES_PLAIN_REVERSE] ||
                  type == &items_types[HASHED_PLAIN_REVERSE];
    o->hashed = hashed;
    o->nslots = (uint8_t)nslots;
    o->fin = (uint8_t)fin;
    memset(o->slots, -1, sizeof o->slots);
    o->gen = leaf || untracked ? UNTRACKED : 0;
    p->magic = MAGIC;
    p->index = (uint16_t)index;
    p->nslots = (size_t)nslots;
    p->npairs = (size_t)nslots / 2;
    p->hashed = hashed;
    for (i = 0; hashed && i < p->npairs; i++)
        p->slots[3 * i] = hash_word(index, i);
    M.roots[M.nroots++] = index;
    changed();
}

static void op_set(uint8_t a, uint8_t s, uint8_t b)
{
    int list[MAX_OBJECTS];
    int n = reachable_list(list, true), target = -1, slot;
    struct object *o;
    void **sp;

    if (n == 0)
        return;
    o = &M.o[list[a % n]];
    slot = s % o->nslots;
    if (b % 8 != 7) {
        int m = reachable_list(list, false);
        target = list[b % m];
    }
    o->slots[slot] = (int8_t)target;
    changed();
    sp = &((struct payload *)o->ptr)->slots[slot_word(o->hashed, slot)];
    if (target < 0 && (b & 8))
        rcgc_clear(sp);
    else
        rcgc_set(sp, target >= 0 ? M.o[target].ptr : NULL);
    /* A container made untracked is tracked once it refers to a tracked
       object, as CPython 3.14.1 tracks a tuple with a tracked item; until
       then, a cycle through it is the program's to break. */
    if (!o->dead && o->gen == UNTRACKED && !o->leaf && target >= 0 && M.o[target].gen != UNTRACKED) {
        rcgc_track(o->ptr);
        o->gen = 0;
    }
}

static void op_drop(uint8_t a)
{
    int k, i;

    if (M.nroots == 0)
        return;
    k = a % M.nroots;
    i = M.roots[k];
    M.roots[k] = M.roots[--M.nroots];
    changed();
    rcgc_decref(M.o[i].ptr);
}

static void op_dup(uint8_t a)
{
    int list[MAX_OBJECTS];
    int n = reachable_list(list, false), i;

    if (n == 0 || M.nroots == MAX_ROOTS)
        return;
    i = list[a % n];
    rcgc_incref(M.o[i].ptr);
    M.roots[M.nroots++] = i;
    changed();
}

static void op_weak_new(uint8_t a, uint8_t b)
{
    int list[MAX_OBJECTS];
    int n = reachable_list(list, false), i, k;
    struct weak *w;
    void *p, *got;

    for (k = 0; k < M.nweak && M.w[k].held; k++)
        continue;
    if (n == 0 || k == MAX_WEAK)
        return;
    i = list[a % n];
    w = &M.w[k];
    memset(w, 0, sizeof *w);
    w->referent = i;
    w->cb = (uint8_t)(b % CB_MODES);
    alloc_begin(true);
    p = rcgc_weakref_new(M.o[i].ptr, w->cb != CB_NONE ? weak_callback : NULL, w);
    alloc_end(p != NULL);
    if (p == NULL)
        return;
    w->ptr = p;
    w->held = true;
    w->gen = 0;
    if (k == M.nweak)
        M.nweak++;
    got = rcgc_weakref_get(p);
    if (got != M.o[i].ptr)
        FAIL("a new weak reference gives %p instead of %p", got, M.o[i].ptr);
    rcgc_decref(got);
}

static int pick_weak(uint8_t a)
{
    int list[MAX_WEAK];
    int n = 0, i;

    for (i = 0; i < M.nweak; i++)
        if (M.w[i].held)
            list[n++] = i;
    return n == 0 ? -1 : list[a % n];
}

static void op_weak_drop(uint8_t a)
{
    int i = pick_weak(a);

    if (i < 0)
        return;
    M.w[i].held = false;
    count_dealloc();
    rcgc_decref(M.w[i].ptr);
}

static void op_weak_get(uint8_t a)
{
    int i = pick_weak(a);
    struct object *r;
    void *got;

    if (i < 0)
        return;
    r = &M.o[M.w[i].referent];
    got = rcgc_weakref_get(M.w[i].ptr);
    if (got == NULL)
        return;
    if (got != r->ptr || r->dead)
        FAIL("weak reference %d gives %p, not its referent %p", i, got, r->ptr);
    if (M.nroots == MAX_ROOTS) {
        rcgc_decref(got);
        return;
    }
    M.roots[M.nroots++] = M.w[i].referent;
    changed();
}

static void op_collect(int g)
{
    ptrdiff_t n;

    if (g < 0 || g > 2) {
        if (rcgc_collect(M.h, g) != -1)
            FAIL("rcgc_collect(%d) did not return -1", g);
        return;
    }
    M.manual = g;
    M.stopped = false;
    n = rcgc_collect(M.h, g);
    M.manual = -1;
    if (!M.stopped)
        FAIL("rcgc_collect(%d) ran no collection", g);
    if (n != M.collected)
        FAIL("rcgc_collect(%d) returned %td, the STOP callback said %td", g, n, M.collected);
}

static void op_freeze(bool freeze)
{
    int i;

    if (freeze) {
        rcgc_freeze(M.h);
        for (i = 0; i < M.nobj; i++)
            if (!M.o[i].dead && M.o[i].gen >= 0 && M.o[i].gen <= 2)
                M.o[i].gen = PERMANENT;
        for (i = 0; i < M.nweak; i++)
            if (M.w[i].held && M.w[i].gen <= 2)
                M.w[i].gen = PERMANENT;
        M.count[0] = M.count[1] = M.count[2] = 0;
    } else {
        rcgc_unfreeze(M.h);
        for (i = 0; i < M.nobj; i++)
            if (!M.o[i].dead && M.o[i].gen == PERMANENT)
                M.o[i].gen = 2;
        for (i = 0; i < M.nweak; i++)
            if (M.w[i].held && M.w[i].gen == PERMANENT)
                M.w[i].gen = 2;
    }
}

static void set_gc(bool enable, size_t t0, size_t t1, size_t t2)
{
    size_t t[3];

    M.enabled = enable;
    M.threshold[0] = t0;
    M.threshold[1] = t1;
    M.threshold[2] = t2;
    if (enable)
        rcgc_enable(M.h);
    else
        rcgc_disable(M.h);
    rcgc_set_threshold(M.h, t0, t1, t2);
    rcgc_get_threshold(M.h, t);
    if (t[0] != t0 || t[1] != t1 || t[2] != t2 || rcgc_isenabled(M.h) != enable)
        FAIL("thresholds or enabled flag not as set");
}

/* Releases the saved array last to first; what finalizers save meanwhile
   goes into a new one. */
static void op_unsave(void)
{
    memcpy(M.unsaving, M.saved, (size_t)M.nsaved * sizeof *M.saved);
    M.nunsaving = M.nsaved;
    M.nsaved = 0;
    while (M.nunsaving > 0) {
        int i = M.unsaving[--M.nunsaving];
        changed();
        rcgc_decref(M.o[i].ptr);
    }
}

/* ------------------------------------------------------------------------- */
/* One input                                                                 */
/* ------------------------------------------------------------------------- */

struct input {
    const uint8_t *data;
    size_t size, at;
};

static uint8_t next(struct input *in)
{
    return in->at < in->size ? in->data[in->at++] : 0;
}

static void run_input(struct input *in)
{
    while (in->at < in->size) {
        uint8_t op = next(in) % 16;
        uint8_t a, b, c;
        switch (op) {
        case 0:
        case 1:
            a = next(in);
            b = next(in);
            c = next(in);
            op_new(false, a, b, c);
            break;
        case 2:
            b = next(in);
            c = next(in);
            op_new(true, 0, b, c);
            break;
        case 3:
        case 4:
        case 5:
            a = next(in);
            b = next(in);
            c = next(in);
            op_set(a, b, c);
            break;
        case 6:
        case 7:
            op_drop(next(in));
            break;
        case 8:
            op_dup(next(in));
            break;
        case 9:
            a = next(in);
            b = next(in);
            op_weak_new(a, b);
            break;
        case 10:
            op_weak_drop(next(in));
            break;
        case 11:
            op_weak_get(next(in));
            break;
        case 12:
            a = next(in);
            op_collect(a % 16 == 15 ? ((a & 16) ? -1 : 3) : a % 3);
            break;
        case 13:
            op_freeze(next(in) & 1);
            break;
        case 14:
            a = next(in);
            b = next(in);
            set_gc(a & 1, (a >> 1) % 16, b % 4, (b >> 2) % 4);
            break;
        default:
            op_unsave();
            break;
        }
        check_all(false);
    }
}

/* Tracks the containers made untracked, drops every reference and collects
   until nothing is left. */
static void finish(void)
{
    rcgc_memory_stats ms;
    int round, i;

    op_freeze(false);
    for (i = 0; i < M.nobj; i++)
        if (!M.o[i].dead && !M.o[i].leaf && M.o[i].gen == UNTRACKED) {
            rcgc_track(M.o[i].ptr);
            M.o[i].gen = 0;
        }
    while (M.nroots > 0)
        op_drop((uint8_t)(M.nroots - 1));
    for (i = 0; i < M.nweak; i++)
        if (M.w[i].held)
            op_weak_drop((uint8_t)0);
    check_all(false);
    for (round = 0;; round++) {
        if (round > MAX_OBJECTS + 1)
            FAIL("objects keep being resurrected");
        op_unsave();
        op_collect(2);
        check_all(false);
        if (M.nsaved == 0)
            break;
    }
    for (i = 0; i < M.nobj; i++)
        if (!M.o[i].dead)
            FAIL("object %d is alive after everything was dropped and collected", i);
    rcgc_get_memory_stats(M.h, &ms);
    if (ms.objects != 0 || ms.object_bytes != 0 || ms.large_objects != 0)
        FAIL("%zu objects (%zu bytes, %zu large) left after everything was dropped and collected", ms.objects,
             ms.object_bytes, ms.large_objects);
}

/* Where debug output goes: nowhere, through a real stream. */
static FILE *debug_sink(void)
{
    static FILE *sink;

    if (sink == NULL)
        sink = fopen("/dev/null", "w");
    if (sink == NULL)
        FAIL("cannot open /dev/null");
    return sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size, 0 };
    struct fuzz_memory memory;
    rcgc_config config;
    uint8_t settings = next(&in), fault = next(&in);

    memset(&M, 0, sizeof M);
    M.manual = -1;
    M.expect_auto = -1;
    if (fault >= 0xC0)
        fuzz_memory_init(&memory, 1 + (fault & 31u), (fault & 32u) != 0);
    else
        fuzz_memory_init(&memory, 0, false);
    M.memory = &memory;
    config = fuzz_memory_config(&memory);
    config.debug_stream = debug_sink();
    M.h = rcgc_heap_new(&config);
    if (M.h != NULL && rcgc_callback_add(M.h, gc_callback, &M) == 0) {
        if (fault < 0xC0 && (fault & 1)) {
            unsigned flags = RCGC_DEBUG_STATS | RCGC_DEBUG_COLLECTABLE | RCGC_DEBUG_UNCOLLECTABLE;
            rcgc_set_debug(M.h, flags);
            if (rcgc_get_debug(M.h) != flags)
                FAIL("debug flags not as set");
        }
        set_gc(settings & 1, (settings >> 1) & 15u, (settings >> 5) & 3u, (settings & 128u) ? 1 : 10);
        check_all(false);
        run_input(&in);
        finish();
    }
    M.teardown = true;
    rcgc_heap_free(M.h);
    if (memory.nregions != 0 || memory.bad_frees != 0)
        FAIL("after rcgc_heap_free: %zu regions not given back, %zu bad frees", memory.nregions, memory.bad_frees);
    fuzz_memory_release(&memory);
    return 0;
}
