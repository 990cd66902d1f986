/*
 * rcgc: reference counting with immediate release, plus CPython's generational
 * cycle collector, as an embeddable C11 library.
 *
 * What you need for normal use:
 *   - describe each kind of object with an rcgc_type (its payload size and a
 *     traverse function that visits every reference-holding field);
 *   - make a heap with rcgc_heap_new(NULL), objects with rcgc_new();
 *   - store references with rcgc_set(), drop the ones you own with rcgc_decref().
 * Objects die the moment their count reaches zero; cycles are found by the
 * collector, automatically (thresholds 700, 10, 10) or with rcgc_collect().
 *
 * Reference ownership, the rules every function below follows:
 *   - rcgc_new(), rcgc_new_sized(), rcgc_new_untracked(),
 *     rcgc_new_sized_untracked(), rcgc_weakref_new() and rcgc_weakref_get()
 *     return a NEW reference: the caller owns it and must drop it with
 *     rcgc_decref() (or hand it to someone who will).
 *   - Every other function that takes an object BORROWS it: the caller keeps
 *     its reference; the function takes its own if it needs one (rcgc_set()).
 *   - Callbacks (introspection visitors, weak-reference callbacks, collection
 *     callbacks) receive borrowed references valid for the duration of the call.
 *   - A field visited by a type's traverse function OWNS the reference it holds
 *     (or is NULL). The collector clears such fields to break cycles: it sets
 *     the field to NULL and then releases the reference.
 *
 * Threading: a heap and its objects are used by one thread at a time. Different
 * heaps are independent and may be used by different threads at the same time.
 * Objects of one heap must never be stored into objects of another.
 *
 * All state lives in an rcgc_heap; the library has no global mutable state.
 */
#ifndef RCGC_H
#define RCGC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this header: major * 10000 + minor * 100 + patch. */
#define RCGC_VERSION_MAJOR 0
#define RCGC_VERSION_MINOR 1
#define RCGC_VERSION_PATCH 0
#define RCGC_VERSION (RCGC_VERSION_MAJOR * 10000 + RCGC_VERSION_MINOR * 100 + RCGC_VERSION_PATCH)

#if defined(_WIN32) && defined(RCGC_SHARED)
#  ifdef RCGC_BUILDING
#    define RCGC_API __declspec(dllexport)
#  else
#    define RCGC_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define RCGC_API __attribute__((visibility("default")))
#else
#  define RCGC_API
#endif

/* The version of the library actually linked (same encoding as RCGC_VERSION). */
RCGC_API int rcgc_version(void);

/* ------------------------------------------------------------------------- */
/* Types                                                                     */
/* ------------------------------------------------------------------------- */

/* A heap: the allocator, the generations and every setting. Opaque. */
typedef struct rcgc_heap rcgc_heap;

/* Called by a traverse function once for every reference-holding field of an
   object, with the field's address. The field holds an rcgc object or NULL. */
typedef void (*rcgc_visit_fn)(void **slot, void *arg);

/* Describes a kind of object. It must stay valid (and unchanged) as long as any
   heap has objects of this type; usually it is a static const. */
typedef struct rcgc_type {
    const char *name;   /* shown in debug output and introspection */
    size_t size;        /* payload bytes of an object made with rcgc_new */
    /* Calls visit(&field, arg) for every field of obj that holds a reference
       (a void * field, possibly NULL). It must not do anything else: no
       allocation, no reference-count changes, no calls into rcgc. When the
       object dies, each visit clears the field and drops its reference, and
       what that releases (finalizers included) runs before visit returns: read
       each field as you visit it.
       NULL traverse: the object holds no references and is never tracked. */
    void (*traverse)(void *obj, rcgc_visit_fn visit, void *arg);
    /* Optional finalizer (PEP 442): runs at most once in the object's life,
       before it dies, with the object intact. It may do anything, including
       storing a new reference to obj somewhere, which resurrects it. */
    void (*finalize)(void *obj);
    /* Optional: releases what is not an rcgc object (buffers, files). Runs just
       before the memory is freed, after the reference fields were released. It
       must not call into rcgc with obj. */
    void (*destroy)(void *obj);
} rcgc_type;

/* Memory source for a heap. rcgc asks for regions (pages of objects, and the
   heap's own tables) and gives each one back with the size it asked for.
   alloc returns memory aligned to `align` (a power of two, at most 64 KiB) or
   NULL on failure; rcgc then fails the request cleanly. */
typedef struct rcgc_memory {
    void *(*alloc)(void *ctx, size_t size, size_t align);
    void (*free)(void *ctx, void *ptr, size_t size);
    void *ctx;
} rcgc_memory;

/* Heap settings. A zeroed rcgc_config means "all defaults", so set only the
   fields you need: `rcgc_config c = {0}; c.debug_stream = f;`. */
typedef struct rcgc_config {
    rcgc_memory memory;     /* alloc == NULL: the system (mmap, or malloc) */
    FILE *debug_stream;     /* where debug flags print; NULL: stderr */
    /* Debug build only (ignored by the normal build): what rcgc_heap_free does
       about objects still referenced from outside the heap's containers, which
       the program leaked or still holds. RCGC_LEAKS_REPORT (0, the default)
       prints a summary to the debug stream, RCGC_LEAKS_ABORT prints it and
       aborts, RCGC_LEAKS_IGNORE says nothing (for a program that frees a heap
       it still uses on purpose, as a way to drop everything at once). */
    int on_leak;
    /* Nonzero: once the heap holds 8 MiB, the system memory source asks the
       kernel to back each new 2 MiB chunk with a transparent huge page
       (madvise MADV_HUGEPAGE), for one page fault and one TLB entry per chunk
       instead of 512. 0, the default: the kernel's transparent_hugepage
       setting decides alone. Ignored with a memory source of your own. */
    int huge_pages;
    /* Nonzero: a collection never borrows memory for its own work (the debug
       flags' still take some: RCGC_DEBUG_SAVEALL's list and the report of
       RCGC_DEBUG_COLLECTABLE). 0, the default: a full
       collection of a large heap (64K blocks or more) whose generation lists
       the last one found out of address order, as they get in a heap where
       objects have been made and released in any order for a while, borrows
       a table of an eighth of the heap's pages (4 bytes for each 32 bytes),
       and a byte for each object it examines, from the memory source for its
       duration. Through the table it reads ahead in the list's order and
       fetches the objects before their turn (docs/design.md, "Scattered
       lists"). The result is the same either way; without the table, or
       when the memory source refuses it, the collection follows the lists
       one object at a time. */
    int no_scratch;
} rcgc_config;

#define RCGC_LEAKS_REPORT 0
#define RCGC_LEAKS_ABORT  1
#define RCGC_LEAKS_IGNORE 2

/* Per-generation statistics, as gc.get_stats(). */
typedef struct rcgc_gen_stats {
    size_t collections;     /* collections of this generation */
    size_t collected;       /* unreachable objects found by them */
    size_t uncollectable;   /* always 0 in rcgc: there are no legacy finalizers */
} rcgc_gen_stats;

/* ------------------------------------------------------------------------- */
/* Heaps and objects                                                         */
/* ------------------------------------------------------------------------- */

/* Creates a heap. NULL config: defaults. Returns NULL when memory is short. */
RCGC_API rcgc_heap *rcgc_heap_new(const rcgc_config *config);

/* Releases every object of the heap, running each one's destroy (not its
   finalizer, and no weak-reference callbacks), and all of the heap's memory.
   Pointers to the heap's objects are invalid afterwards. NULL: no-op. */
RCGC_API void rcgc_heap_free(rcgc_heap *heap);

/* A new object of `type` with type->size payload bytes, all zero, reference
   count 1. Containers (type->traverse != NULL) are tracked, in generation 0.
   May run an automatic collection first (see rcgc_set_threshold). Returns NULL
   when memory is short (the heap stays usable), when type is NULL, or when
   the type is new to the heap and its type table is full: it holds up to
   2^20 types of each of four kinds (container or not, with a finalizer or
   destroy or not), as many as a header's bits can name (rcgc_set_type_*
   then return -1). */
RCGC_API void *rcgc_new(rcgc_heap *heap, const rcgc_type *type);

/* As rcgc_new, with payload_bytes instead of type->size. */
RCGC_API void *rcgc_new_sized(rcgc_heap *heap, const rcgc_type *type, size_t payload_bytes);

/* As rcgc_new and rcgc_new_sized, but a container starts untracked, as
   CPython's PyObject_GC_New leaves it: it still counts one allocation in
   generation 0's count (and may run an automatic collection), but no
   collection examines it until rcgc_track. The program's constructor fills
   it, then tracks it if it can be part of a cycle: CPython 3.11 makes empty
   dicts this way, and 3.14.1 the tuples whose items are all untracked. The
   object is in the state rcgc_new followed by rcgc_untrack leaves, without
   the two list operations. */
RCGC_API void *rcgc_new_untracked(rcgc_heap *heap, const rcgc_type *type);
RCGC_API void *rcgc_new_sized_untracked(rcgc_heap *heap, const rcgc_type *type, size_t payload_bytes);

/* The heap an object belongs to. */
RCGC_API rcgc_heap *rcgc_heap_of(const void *obj);

/* The type an object was made with. */
RCGC_API const rcgc_type *rcgc_type_of(const void *obj);

/* The usable payload bytes of obj: at least the size it was made with (sizes
   are rounded up to the allocator's size classes: with the header, to
   the next multiple of 16 bytes up to 512, then by less than an eighth of the
   block up to 8192; a larger object gets exactly its size), all of them
   zeroed at creation and free for the object's use. */
RCGC_API size_t rcgc_size_of(const void *obj);

/* Releases the object: called by rcgc_decref when the count reaches 0. */
RCGC_API void rcgc__dealloc(void *obj);

/* Private: the 16-byte header in front of every object's payload. Declared here
   only so that the reference-count fast paths below can be inline. The debug
   build (RCGC_DEBUG, set by the library's build for its users) adds a check
   word and the type of a freed block, making the header 32 bytes. */
typedef struct rcgc__head {
    uint32_t refcnt;        /* strong references */
    uint32_t info;          /* type index and flags */
    uint32_t next, prev;    /* generation list links (compressed references) */
#ifdef RCGC_DEBUG
    uint32_t check;         /* RCGC__CHECK_LIVE, or RCGC__CHECK_FREED once freed */
    uint32_t freed_info;    /* info of the object that occupied a freed block */
    uint32_t serial;        /* allocation number, shown in check messages */
    uint32_t reserved;
#endif
} rcgc__head;

#ifdef RCGC_DEBUG
#define RCGC__CHECK_LIVE  0x52434743u
#define RCGC__CHECK_FREED 0xDEADFEEDu
/* The checked reference-count operations of the debug build. */
RCGC_API void rcgc__debug_incref(void *obj);
RCGC_API void rcgc__debug_decref(void *obj);
#endif

#ifdef __cplusplus
#define RCGC__HEAD(obj) (static_cast<rcgc__head *>(obj) - 1)
#else
#define RCGC__HEAD(obj) ((rcgc__head *)(obj) - 1)
#endif

/* The count an immortal object reports (see rcgc_make_immortal). */
#define RCGC_IMMORTAL_REFCOUNT ((size_t)0xFFFFFFFFu)

/* Takes a new reference to obj (not NULL). An increment, no call.
   A count is 32 bits: an object can hold up to 2^32 - 1 references (the
   debug build checks it). */
static inline void rcgc_incref(void *obj)
{
#ifdef RCGC_DEBUG
    rcgc__debug_incref(obj);
#else
    RCGC__HEAD(obj)->refcnt++;
#endif
}

/* Drops a reference to obj (not NULL). At zero the object dies at once: its
   finalizer runs (if it has one and it has not run), weak references to it are
   cleared and their callbacks run, the references it holds are released one
   at a time (each one's release complete before the next), its destroy runs
   and its memory is freed: CPython's order. At most 50 releases of containers
   nest on the C stack; deeper ones wait in a list until the outermost ends, as
   in CPython's trashcan, so any depth can be released. */
static inline void rcgc_decref(void *obj)
{
#ifdef RCGC_DEBUG
    rcgc__debug_decref(obj);
#else
    if (--RCGC__HEAD(obj)->refcnt == 0)
        rcgc__dealloc(obj);
#endif
}

/* rcgc_incref / rcgc_decref that accept NULL. */
static inline void rcgc_xincref(void *obj) { if (obj) rcgc_incref(obj); }
static inline void rcgc_xdecref(void *obj) { if (obj) rcgc_decref(obj); }

/* The object's reference count, as sys.getrefcount() minus its argument's
   temporary reference. RCGC_IMMORTAL_REFCOUNT for an immortal object. */
RCGC_API size_t rcgc_refcount(const void *obj);

/* Stores value (may be NULL) into *slot, taking a reference to it, and then
   releases the reference *slot held before (if any). The order makes
   rcgc_set(&x->f, x->f) safe, and the old object is released only once the
   slot no longer refers to it. */
RCGC_API void rcgc_set(void **slot, void *value);

/* Empties *slot and then releases what it held: rcgc_set(slot, NULL). */
RCGC_API void rcgc_clear(void **slot);

/* Makes obj immortal: reference-count operations no longer matter (a count
   that comes to zero starts over), it is never freed (until rcgc_heap_free),
   and it is untracked (a count that means nothing cannot take part in
   gc_refs). The references it holds stay. */
RCGC_API void rcgc_make_immortal(void *obj);

/* Whether rcgc_make_immortal was called on obj. */
RCGC_API bool rcgc_is_immortal(const void *obj);

/* ------------------------------------------------------------------------- */
/* The collector (CPython 3.11's gc module)                                  */
/* ------------------------------------------------------------------------- */

/* Automatic collection on / off (gc.enable, gc.disable, gc.isenabled). A new
   heap starts enabled. rcgc_collect works either way. */
RCGC_API void rcgc_enable(rcgc_heap *h);
RCGC_API void rcgc_disable(rcgc_heap *h);
RCGC_API bool rcgc_isenabled(const rcgc_heap *h);

/* Collects generations 0..generation (gc.collect). Returns the number of
   unreachable objects found (not counting resurrected ones), 0 when called
   while a collection is already running (from a finalizer or callback), and
   -1 when generation is not 0, 1 or 2. A full collection (generation 2) also
   frees the empty pages the size classes keep for their next allocations, so
   that memory freed by the program can return to the system (see rcgc_trim
   for when it does). */
RCGC_API ptrdiff_t rcgc_collect(rcgc_heap *h, int generation);

/* Thresholds (gc.set_threshold / gc.get_threshold), default 700, 10, 10.
   An automatic collection runs inside the allocation of a container that makes
   generation 0's count exceed t0 (when enabled and t0 != 0): it collects the
   oldest generation whose count exceeds its threshold, where generation 2 is
   also held back until the objects that reached it since the last full
   collection are at least a quarter of those that survived it. */
RCGC_API void rcgc_set_threshold(rcgc_heap *h, size_t t0, size_t t1, size_t t2);
RCGC_API void rcgc_get_threshold(const rcgc_heap *h, size_t out[3]);

/* gc.get_count(): out[0] is container allocations minus deallocations since the
   last collection (never below 0); out[1] and out[2] count collections of the
   next younger generation since the last collection of that generation. A
   container's deallocation counts once the release of its references is over
   (as CPython's PyObject_GC_Del), so a finalizer that runs while containers
   above its object are being released still finds them counted. */
RCGC_API void rcgc_get_count(const rcgc_heap *h, size_t out[3]);

/* Tracking: whether the collector examines an object. Containers are tracked
   at creation; untrack one that can never be part of a cycle to save work.
   rcgc_track appends to generation 0; both are no-ops when there is nothing to
   do (already tracked / untracked, no traverse, immortal). */
RCGC_API void rcgc_track(void *obj);
RCGC_API void rcgc_untrack(void *obj);
RCGC_API bool rcgc_is_tracked(const void *obj);

/* Type flags, told to a heap with rcgc_set_type_flags. */
#define RCGC_TYPE_IMMUTABLE 0x1u

/* Tells `heap` about a property of `type` (registering the type in the heap if
   it is new there); flags replace what was set before. Returns 0, or -1 when
   memory is short or flags has an unknown bit.

   RCGC_TYPE_IMMUTABLE: objects of the type behave as CPython's tuples. After
   each collection, a surviving object of the type whose reference fields are
   all NULL or refer to objects that cannot be tracked (leaves, immortal
   objects, untracked objects of an immutable type; not an untracked container
   of another type, which the program may track again) is untracked, as
   CPython's untrack_tuples does: such an object cannot be part of a cycle,
   and the collector no longer examines it.
   A tree of these built bottom-up, whose inner objects only their parents
   hold, leaves the collector's lists in the first collection that finds it
   (objects that something else holds too stay before their holders, and go
   one level per collection). The program's promise: once a collection may
   have run since the object was made (any allocation of a container, or
   rcgc_collect), it stores no reference to a tracked object into its fields
   without calling rcgc_track(obj) afterwards; setting fields right after
   rcgc_new, before the next allocation, is always safe. */
RCGC_API int rcgc_set_type_flags(rcgc_heap *heap, const rcgc_type *type, unsigned flags);

/* Tells `heap` where objects of `type` keep their references: the void *
   fields at these payload offsets (offsetof), exactly the fields that
   type->traverse visits, in the same order. The collector and the release of
   these objects then read the fields themselves instead of calling traverse
   for every object, which makes both faster; traverse is still used by
   introspection. `offsets` must stay valid and unchanged as long as the heap
   has objects of the type (a static const array); n = 0 goes back to
   traverse. Every object of the type must have the fields: once they are set,
   rcgc_new_sized and rcgc_new_sized_untracked refuse (NULL) a payload smaller
   than type->size, and no such object may exist when this is called. Returns
   0, or -1 when memory is short, the type has no traverse, or an offset is
   not that of an aligned void * field within type->size. */
RCGC_API int rcgc_set_type_fields(rcgc_heap *heap, const rcgc_type *type, const size_t *offsets, size_t n);

/* How rcgc_set_type_items finds a type's items: one of the first two, and
   maybe the third. */
#define RCGC_ITEMS_INLINE 0x1u  /* in the payload, from items_offset on */
#define RCGC_ITEMS_ARRAY 0x2u   /* in an array whose address is the field at items_offset */
#define RCGC_ITEMS_REVERSE 0x4u /* traverse visits them from the last to the first */

/* Tells `heap` where objects of `type` keep a variable number of references,
   as a tuple or a list does: a count, the size_t field at payload offset
   count_offset, and that many void * items. With RCGC_ITEMS_INLINE they are
   in the payload, from items_offset on (a flexible array member; the object
   is made with rcgc_new_sized for its items). With RCGC_ITEMS_ARRAY the
   void ** field at items_offset holds the address of an array that the
   program owns (allocated as it likes, freed by the type's destroy), which
   may be NULL while the count is 0. type->traverse must visit exactly the
   fields given to rcgc_set_type_fields, if any, in their order, then the
   items: from the first to the last, or with RCGC_ITEMS_REVERSE from the
   last to the first (as CPython's tuples and lists do). The collector and
   the release then read them themselves, as they do the fields: a
   collection reads the count and the array once per object; a release drops
   the items in traverse order and reads the count and the array again before
   each one, so a destroy or a callback that runs meanwhile may change them.
   flags = 0 takes the items back (the type goes back to its fields or its
   traverse). The count and the array's address must lie within type->size,
   and every object of the type must hold them: rcgc_new_sized and
   rcgc_new_sized_untracked refuse (NULL) a payload smaller than type->size,
   and no such object may exist when this is called. The debug build checks,
   at every read, that inline items fit in the object's payload and that an
   array with items is not NULL. Returns 0, or -1 when memory is short, the
   type has no traverse, flags is not one of the forms above, or an offset is
   not that of an aligned field within type->size (inline items may start at
   type->size) or is over UINT32_MAX. */
RCGC_API int rcgc_set_type_items(rcgc_heap *heap, const rcgc_type *type, size_t count_offset,
                                 size_t items_offset, unsigned flags);

/* rcgc_set_type_items for items that are entries of entry_size bytes, each
   holding `refs` void * references one after another from refs_offset on,
   as a hash table's entries hold a hash, a key and a value (entry_size
   3 * sizeof(void *), refs_offset sizeof(void *), refs 2): the count counts
   entries, and traverse must visit the references of the first entry in
   order, then those of the second, and so on; with RCGC_ITEMS_REVERSE in
   exactly the opposite order (the last entry's last reference first). A
   release drops the references of the entries the object has when it
   begins, reading the count and the array again before each one; an entry
   taken away meanwhile is passed over whole. rcgc_set_type_items(heap, type,
   c, i, flags) is rcgc_set_type_entries(heap, type, c, i, sizeof(void *), 0,
   1, flags). Returns 0, or -1 in the cases of rcgc_set_type_items, or when
   entry_size is not a multiple of the alignment of void * (or is over
   65535), refs is 0, or the references do not lie aligned within an entry.
   flags = 0 takes the entries back, whatever the other arguments. */
RCGC_API int rcgc_set_type_entries(rcgc_heap *heap, const rcgc_type *type, size_t count_offset,
                                   size_t items_offset, size_t entry_size, size_t refs_offset, size_t refs,
                                   unsigned flags);

/* gc.freeze(): moves every tracked object into a permanent generation that no
   collection examines, and sets all counts to 0. rcgc_unfreeze moves them back
   into generation 2. Both take time in proportion to the objects they move
   (each is marked, so that full collections can tell frozen objects from the
   header alone). rcgc_get_freeze_count: objects in the permanent generation. */
RCGC_API void rcgc_freeze(rcgc_heap *h);
RCGC_API void rcgc_unfreeze(rcgc_heap *h);
RCGC_API size_t rcgc_get_freeze_count(const rcgc_heap *h);

/* gc.get_stats(). */
RCGC_API void rcgc_get_stats(const rcgc_heap *h, rcgc_gen_stats out[3]);

/* ------------------------------------------------------------------------- */
/* Introspection                                                             */
/* ------------------------------------------------------------------------- */

/* Calls fn(obj, arg) for every tracked object of `generation` (0..2), or of all
   three with -1, in generation-list order (gc.get_objects). Frozen objects are
   not included. Returns the number of objects, 0 for any other generation.
   fn must not create or free objects. */
RCGC_API size_t rcgc_get_objects(rcgc_heap *h, int generation, void (*fn)(void *obj, void *arg), void *arg);

/* Calls fn(ref, arg) for every non-NULL reference obj holds, in traverse order
   (gc.get_referents). */
RCGC_API void rcgc_get_referents(void *obj, void (*fn)(void *obj, void *arg), void *arg);

/* Calls fn(x, arg) once for every tracked object x in generations 0..2 that
   holds a reference to obj (gc.get_referrers). Returns how many there were
   (0 for obj NULL, which is no reference). */
RCGC_API size_t rcgc_get_referrers(rcgc_heap *h, const void *obj, void (*fn)(void *obj, void *arg), void *arg);

/* ------------------------------------------------------------------------- */
/* Finalizers, weak references, gc.garbage, callbacks, debug flags           */
/* ------------------------------------------------------------------------- */

/* Called when a weak reference's referent is about to die; the weak reference
   is alive during the call and already returns NULL from rcgc_weakref_get. As
   in CPython 3.11, when the referent dies by reference counting, all its weak
   references (but the newest two without a callback) are held until the last
   callback has run; in a collection, each one until its own has. */
typedef void (*rcgc_weakref_callback)(void *weakref, void *data);

/* A new weak-reference object to obj (refcount 1). It is an rcgc object of the
   heap's weakref type: it can be stored in slots, is tracked, and counts in a
   collection's result when it is garbage. cb may be NULL; data is passed to it
   untouched (rcgc does not own it). Returns NULL when memory is short, or
   when obj is dying: its count is 0 (it waits for its release, or its release
   has begun for good, after its finalizer if any, so that its weak references
   are being cleared or its destroy runs). */
RCGC_API void *rcgc_weakref_new(void *obj, rcgc_weakref_callback cb, void *data);

/* A new strong reference to the referent, or NULL once it is dead or dying
   (count 0: a container waiting in the release list of a deep release gives
   NULL, as a CPython weak reference to an object at count 0 gives None). */
RCGC_API void *rcgc_weakref_get(void *weakref);

/* Whether obj is a weak-reference object. */
RCGC_API bool rcgc_is_weakref(const void *obj);

/* Whether obj's finalizer has run (gc.is_finalized). Inside the finalizer:
   true when a collection called it, false when the release at zero did. */
RCGC_API bool rcgc_is_finalized(const void *obj);

/* gc.garbage: objects kept by RCGC_DEBUG_SAVEALL. The list holds a reference
   to each; rcgc_garbage_get returns a borrowed one (NULL past the end);
   rcgc_garbage_clear empties the list, then releases them all, last first
   (del gc.garbage[:]). */
RCGC_API size_t rcgc_garbage_size(const rcgc_heap *h);
RCGC_API void *rcgc_garbage_get(const rcgc_heap *h, size_t i);
RCGC_API void rcgc_garbage_clear(rcgc_heap *h);

/* Debug flags, as CPython's. */
#define RCGC_DEBUG_STATS         1u  /* print statistics during collection */
#define RCGC_DEBUG_COLLECTABLE   2u  /* print collectable objects found */
#define RCGC_DEBUG_UNCOLLECTABLE 4u  /* print uncollectable objects found */
#define RCGC_DEBUG_SAVEALL      32u  /* keep unreachable objects in gc.garbage */
#define RCGC_DEBUG_LEAK (RCGC_DEBUG_COLLECTABLE | RCGC_DEBUG_UNCOLLECTABLE | RCGC_DEBUG_SAVEALL)

/* Sets / reads the debug flags. Messages go to rcgc_config.debug_stream. */
RCGC_API void rcgc_set_debug(rcgc_heap *h, unsigned flags);
RCGC_API unsigned rcgc_get_debug(const rcgc_heap *h);

/* Collection callbacks (gc.callbacks). */
typedef enum rcgc_phase { RCGC_PHASE_START, RCGC_PHASE_STOP } rcgc_phase;

typedef struct rcgc_gc_info {
    int generation;         /* the oldest generation collected */
    size_t collected;       /* at STOP: unreachable objects found (0 at START) */
    size_t uncollectable;   /* at STOP: always 0 in rcgc */
} rcgc_gc_info;

typedef void (*rcgc_gc_callback)(rcgc_heap *h, rcgc_phase phase, const rcgc_gc_info *info, void *data);

/* Adds a callback, called with START before and STOP after every collection,
   in the order they were added. Returns 0, or -1 when memory is short. */
RCGC_API int rcgc_callback_add(rcgc_heap *h, rcgc_gc_callback fn, void *data);

/* Removes the first callback added with this fn and data. 0, or -1 if none. */
RCGC_API int rcgc_callback_remove(rcgc_heap *h, rcgc_gc_callback fn, void *data);

/* ------------------------------------------------------------------------- */
/* Memory statistics                                                         */
/* ------------------------------------------------------------------------- */

typedef struct rcgc_memory_stats {
    size_t objects;         /* live objects, tracked or not */
    size_t object_bytes;    /* bytes of their blocks (header + rounded payload) */
    size_t pages;           /* small-object pages in use, with the (possibly
                               empty) page each size class allocates from until
                               the next rcgc_collect(h, 2) */
    size_t large_objects;   /* objects allocated on their own */
    size_t system_bytes;    /* memory held from the system (rcgc_memory.alloc),
                               empty chunks and large objects' regions kept for
                               reuse included (rcgc_trim) */
} rcgc_memory_stats;

/* Fills *out. Allocation and release count objects in their pages only, so
   objects and object_bytes are added up here, over the heap's pages: the call
   takes time in proportion to the heap's size (one read per 64 KiB page). */
RCGC_API void rcgc_get_memory_stats(const rcgc_heap *h, rcgc_memory_stats *out);

/* Gives back to the memory source, now, all the memory the heap holds without
   objects in it: the empty page each size class keeps for its next
   allocations, the empty chunks, and the regions of freed large objects.
   Otherwise a chunk (2 MiB of small-object pages) whose last object was freed
   stays with the heap, for its next allocations of any size, for 100 ms at
   least, and goes back at the end of the first collection after that: a
   program that drops a structure and builds the next one reuses the memory
   instead of unmapping and faulting it in again, and a collection does not
   unmap the chunks it empties in its own pause. So does the region of a
   large object (a block over 8192 bytes), for the next large object of its
   size or up to a fifth smaller, as long as the regions kept hold 32 MiB at
   most together. A heap that stops collecting keeps them until it allocates
   from them, rcgc_trim or rcgc_heap_free. Objects are not touched; it may be
   called at any time. */
RCGC_API void rcgc_trim(rcgc_heap *h);

/* ------------------------------------------------------------------------- */
/* Pictures and explanations: the heap as a graph, why an object is alive    */
/* ------------------------------------------------------------------------- */

/* Options of rcgc_dump_dot_ex. A zeroed struct gives rcgc_dump_dot's output. */
typedef struct rcgc_dot_options {
    /* Writes the name shown on obj's node into buf (size bytes, NUL
       included); NULL: the type's name. It must not create or free objects. */
    void (*label)(const void *obj, char *buf, size_t size, void *arg);
    void *label_arg;
    /* Objects to draw as unreachable in the current collection (red border,
       class "unreachable"), e.g. the set a collection is about to free. The
       pointers are compared, never dereferenced: one that is not a live
       object of the heap is ignored. */
    void *const *unreachable;
    size_t unreachable_count;
    const char *title;          /* the graph's caption; NULL: none */
    bool legend;                /* add a legend of the colours to the caption */
} rcgc_dot_options;

/* Writes every live object of the heap (tracked or not) and every reference
   between them as a Graphviz digraph: `dot -Tsvg` draws it. One statement per
   line, nodes in a fixed order (by position in the heap), so that the same
   program gives the same text. A node's name is `r` and its compressed
   reference in hex; its label is the name and the reference count (and
   "finalized" once its finalizer ran); its class (also the SVG class) and fill
   tell where it is:
     gen0, gen1, gen2  a generation (fills yellow, orange, lavender)
     permanent         frozen by rcgc_freeze (blue)
     untracked         not examined by the collector (grey)
     collecting        in the set a running collection is handling (red border)
   plus "weakref" (an ellipse with a dashed edge to its referent), "finalized"
   (double border), "immortal" and "unreachable" (see rcgc_dot_options).
   Edges are strong references in traverse order: two fields referring to
   the same object give two edges. Returns 0, or -1 when memory for the
   object table is short (nothing is written) or the stream failed. Must not
   be called from a traverse function; fine from finalizers and callbacks. */
RCGC_API int rcgc_dump_dot(rcgc_heap *h, FILE *out);
RCGC_API int rcgc_dump_dot_ex(rcgc_heap *h, FILE *out, const rcgc_dot_options *options);

/* Why is obj (a live object of h) alive? Finds the shortest chain of strong
   references that starts at a root and ends at obj, and stores it root first
   in chain[0..max-1]. A root is an object referenced from outside the heap's
   tracked containers: its count exceeds the references it gets from tracked
   objects (of every generation, frozen ones included), that is, its gc_refs
   stays above 0, as in a full collection; a frozen object is a root too, since
   no collection examines it. References held by untracked objects count as
   outside references, as they do for the collector.
   Returns the chain's length (1: obj itself is a root; more than max: only
   the first max entries were stored), 0 when no root reaches obj (it is
   garbage held by a cycle: a full collection would free it), or -1 when
   memory for the side tables is short (they come from the heap's memory
   source; the heap is left as it was). Nothing in the heap changes: gc_refs
   are computed in a side table, not in the headers. An immortal obj is a root.
   The chain holds borrowed references. Costs a walk over every object. */
RCGC_API ptrdiff_t rcgc_why_alive(rcgc_heap *h, const void *obj, void **chain, size_t max);

/* Under RCGC_DEBUG_COLLECTABLE a collection also prints the unreachable set
   it found, before any finalizer runs, grouped into cycles (strongly
   connected components), largest first, with their types' names:
     gc: unreachable: 7 objects, 2 cycles
     gc:   cycle of 4 objects: 3 node, 1 fnode
     gc:   cycle of 1 object (refers to itself): 1 node
     gc:   outside cycles, held only by garbage: 2 node
   Eight cycles get a line each, the others one line together. The report
   needs memory for its tables; without it, it prints "scc report skipped:
   out of memory" and the collection goes on as ever. */

#ifdef __cplusplus
}
#endif

#endif
