/*
 * rcgc internals shared by the source files: the object header, compressed
 * references, pages, the heap structure and the generation-list operations.
 *
 * Object layout. Every object is a 16-byte header followed by its payload:
 *
 *     +----------+----------+----------+----------+-------------------+
 *     | refcnt   | info     | next     | prev     | payload ...       |
 *     +----------+----------+----------+----------+-------------------+
 *       u32        u32        u32        u32        16-byte aligned
 *
 *   refcnt  the reference count (RCGC_IMMORTAL_BASE and up for immortal objects)
 *   info    bits 0-7 flags (F_*), bits 8-9 the generation of a tracked object
 *           that is not frozen, bits 10-31 the index of the object's type in
 *           its heap's type table (0: the block is free)
 *   next    generation-list successor as a compressed reference; 0 means the
 *           object is not tracked
 *   prev    generation-list predecessor; during a collection, for the objects
 *           being examined, it holds gc_refs instead (as CPython's _gc_prev)
 *
 * CPython spends 32 bytes on the same information (two list pointers, a 64-bit
 * count, a type pointer). rcgc gets it into 16 by replacing pointers with 32-bit
 * numbers: a compressed reference is (region << 12) | (offset / 16), where a
 * region is a 64 KiB page (of a chunk of small-object pages), one large object
 * (whose header lies in its first 64 KiB), or the heap structure itself, which
 * holds the list heads; offset is the distance from the region's start. The
 * heap's region table turns a reference back into an address with one indexed
 * load. Every page is 64 KiB aligned and starts with a page header that knows
 * its heap and its own compressed reference, so an address becomes a reference
 * without a search. 2^20 regions: 64 GiB of pages, or a million large objects.
 *
 * Flags are in info rather than in pointer bits:
 *   F_FINALIZED    the finalizer has run (permanent, as _PyGC_PREV_MASK_FINALIZED)
 *   F_COLLECTING   in the set being examined by a collection (PREV_MASK_COLLECTING)
 *   F_UNREACHABLE  tentatively unreachable in move_unreachable (NEXT_MASK_UNREACHABLE)
 *   F_WEAKREFS     the heap's weak-reference table has a list for this object
 *   F_IMMORTAL     rcgc_make_immortal was called
 *   F_PENDING      the count reached 0: the object waits in the trash list or
 *                  is being released (object.c)
 *   F_RELEASING    its release has begun (after the finalizer): it is dead
 *   F_FROZEN       in the permanent generation (set by rcgc_freeze, cleared by
 *                  rcgc_unfreeze and list_remove), so that a full collection
 *                  can tell its examined set from the header alone
 * The generation bits serve the same purpose for every collection: an object
 * whose generation is at most the collected one is in the examined set. They
 * never say less than the list an object is in (gen_append and every move of
 * survivors to an older list set them); between collections they are exact.
 */
#ifndef RCGC_INTERNAL_H
#define RCGC_INTERNAL_H

#include "rcgc.h"

#include <stdint.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define RCGC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RCGC_ASAN 1
#endif
#endif
#ifdef RCGC_ASAN
#include <sanitizer/asan_interface.h>
#endif
#ifdef RCGC_VALGRIND
#include <valgrind/memcheck.h>
#endif

#define RCGC_INTERNAL __attribute__((visibility("hidden")))

/* The entry points of allocation and release start on a cache line, so that
   their speed does not move with the size of the code linked before them
   (see docs/performance-log.md, "Ninth round"). */
#define RCGC_HOT_ENTRY __attribute__((aligned(64)))

typedef rcgc__head head_t;

enum {
    F_FINALIZED = 0x01,
    F_COLLECTING = 0x02,
    F_UNREACHABLE = 0x04,
    F_WEAKREFS = 0x08,
    F_IMMORTAL = 0x10,
    F_PENDING = 0x20,
    F_RELEASING = 0x40,
    F_FROZEN = 0x80,
    GEN_SHIFT = 8,
    GEN_MASK = 0x300,
    TYPE_SHIFT = 10
};

/* The index of the weak-reference type in every heap's type table: its kind
   (type_kind) is 3, a container whose release runs code. */
#define WEAKREF_TYPE_INDEX 3u

/* Count given to immortal objects: far from 0 in both directions, so plain
   increments and decrements never bring it to zero in practice. */
#define RCGC_IMMORTAL_BASE 0x80000000u

#define NUM_GENERATIONS 3

/* ---- Pages and regions ---------------------------------------------------- */

#define PAGE_SHIFT 16
#define PAGE_SIZE ((size_t)1 << PAGE_SHIFT)             /* 64 KiB, also the alignment */
#define CHUNK_PAGES 32
#define CHUNK_SIZE (PAGE_SIZE * CHUNK_PAGES)            /* 2 MiB region of small pages */
#define PAGE_HEADER 64                                  /* first block offset in a page */
#define REGION_SHIFT 12                                 /* granules per region: 64 KiB / 16 */
#define MAX_REGIONS (1u << 20)
#define SMALL_MAX 8192                                  /* largest small block (with header) */
#define NUM_CLASSES 63
#define FINE_MAX 512                                    /* largest block of the classes in steps of 16 */

enum page_kind { PAGE_FREE, PAGE_SMALL, PAGE_LARGE, PAGE_HEAP };

typedef struct page page_t;
struct page {
    rcgc_heap *heap;
    union {
        struct {                /* a small page */
            char *free;         /* free blocks, linked through the block's next/prev words
                                   (in bulk_delete, on a page that dies whole: the
                                   link of those pages, marked in its low bit) */
            char *bump;         /* first block never handed out */
            char *end;          /* end of the block area */
        };
        struct {                /* the first page of a chunk with no page in use, or
                                   the region of a freed large object kept */
            page_t *empty_next, *empty_prev;    /* the heap's empty chunks or regions */
            double emptied_at;  /* rcgc__now() when it was put there */
        };
    };
    uint32_t ref_base;      /* compressed reference of the page's first byte */
    uint32_t used;          /* live blocks; a kept large region: its size in pages */
    uint16_t block_size;    /* small page: its size class's block size */
    uint8_t kind;           /* enum page_kind */
    uint8_t sclass;         /* size class of a small page */
    uint8_t full;           /* small page taken out of its bin's list: no free block */
    uint8_t chunk_index;    /* small or free page: its place in its chunk */
    uint8_t chunk_used;     /* in a chunk's first page: pages of the chunk in use */
    uint8_t chunk_ready;    /* in a chunk's first page: pages given a header and a
                               region so far (the rest are untouched) */
    page_t *next, *prev;    /* bin list, free-page list or large-object list */
};

_Static_assert(sizeof(page_t) <= PAGE_HEADER, "page header must fit in PAGE_HEADER bytes");

static inline page_t *page_of(const void *p)
{
    return (page_t *)((uintptr_t)p & ~(uintptr_t)(PAGE_SIZE - 1));
}

/* The first page of a small or free page's chunk. */
static inline page_t *chunk_of(page_t *p)
{
    return (page_t *)((char *)p - (size_t)p->chunk_index * PAGE_SIZE);
}

/* ---- The heap ------------------------------------------------------------- */

typedef struct bin {
    page_t *pages;          /* pages with free blocks; the first is allocated from */
    page_t *spare;          /* a page of the list kept when it became empty, or NULL */
} bin_t;

/* A registered type, with what allocation and release need to know of it
   without reading the rcgc_type. */
enum {
    TB_CONTAINER = 0x01,    /* traverse != NULL: tracked, holds references */
    TB_HOOKS = 0x02,        /* finalize or destroy, or the weak-reference type:
                               its release runs code besides freeing */
    TB_IMMUTABLE = 0x04,    /* RCGC_TYPE_IMMUTABLE (rcgc_set_type_flags) */
    TB_FINALIZE = 0x08      /* has a finalizer */
};

/* In items_layout.form beside the RCGC_ITEMS_* flags: entries of more than
   one word (entry_size > sizeof(void *)). */
#define ITEMS_ENTRIES 0x80u
#define ITEMS_MAX_ENTRY UINT16_MAX
#define ITEMS_MAX_OFFSET UINT32_MAX

/* Where a type's items are (rcgc_set_type_items, rcgc_set_type_entries):
   `count` entries of entry_size bytes, each holding `refs` references from
   refs_off on. Plain items are entries of one reference, entry_size
   sizeof(void *), refs_off 0. 16 bytes, so that a type's slot stays at 40:
   the walks index the table by the type of every object, and at 56 bytes
   the index took an instruction more (binary-trees, which has no items,
   ran 0.5% more instructions). */
typedef struct items_layout {
    uint8_t form;           /* RCGC_ITEMS_* flags and ITEMS_ENTRIES, 0 if none */
    uint16_t entry_size;
    uint16_t refs_off;
    uint16_t refs;
    uint32_t count_off;     /* the offset of the count */
    uint32_t items_off;     /* the offset of the first entry, or of the array's address */
} items_layout;

_Static_assert(sizeof(items_layout) == 16, "items_layout keeps a type's slot small");

typedef struct type_slot {
    const rcgc_type *type;
    const size_t *fields;   /* offsets of its reference fields (rcgc_set_type_fields), or NULL */
    uint32_t nfields;
    uint8_t bits;           /* TB_* */
    uint8_t sclass;         /* size class of type->size, SCLASS_LARGE if none */
    items_layout items;     /* items.form 0: none */
} type_slot;

#define SCLASS_LARGE 0xFF

/* An entry of the hash that finds a type's index, with what rcgc_new's
   one-entry cache (last_type and the four after it) takes from it when the
   program allocates another type than the last one. */
typedef struct type_entry {
    const rcgc_type *type;
    bin_t *bin;             /* the class's bin for the fast path, else no_bin */
    uint32_t index;
    uint32_t bytes;         /* the payload of the class's blocks, 0 if large */
    uint8_t sclass;         /* the size class, SCLASS_LARGE if none */
} type_entry;

typedef struct weakref weakref;
typedef struct wr_entry {
    void *obj;              /* referent (payload address); NULL: empty slot */
    weakref *first;         /* newest weak reference to it */
} wr_entry;

typedef struct callback_entry {
    rcgc_gc_callback fn;
    void *data;
} callback_entry;

typedef struct gen_list {
    _Alignas(16) head_t head;   /* list sentinel: circular, doubly linked */
    size_t threshold;
    size_t count;
} gen_list;

struct rcgc_heap {
    page_t page;                    /* makes page_of() and references work for the list heads */
    _Alignas(16) gen_list gen[NUM_GENERATIONS];
    _Alignas(16) head_t permanent;  /* frozen objects */
    /* Lists used during one collection. */
    _Alignas(16) head_t unreachable;
    _Alignas(16) head_t still_unreachable;
    _Alignas(16) head_t wrcb_to_call;
    _Alignas(16) head_t seen;

    rcgc_memory mem;
    bool huge_pages;                /* rcgc_config.huge_pages */
    bool no_scratch;                /* rcgc_config.no_scratch */
    FILE *debug_stream;

    /* Region table: base address of each region (see alloc.c). */
    char **region_base;
    uint32_t region_cap;
    uint32_t region_free;           /* head of the free-index chain, 0: none */
    uint32_t region_top;            /* indices below are or were in use */

    bin_t bins[NUM_CLASSES];
    page_t *free_pages;             /* unused pages of every chunk */
    page_t *fresh_chunk;            /* first page of the chunk with untouched pages, or NULL */
    page_t *empty_chunks;           /* chunks with no page in use, kept a while (alloc.c) */
    page_t *empty_large;            /* regions of freed large objects, kept a while (alloc.c) */
    size_t empty_large_bytes;       /* their sizes together */
    page_t *large;                  /* large-object pages */

    /* Type table: index -> type, and a pointer-keyed hash to find the index. */
    type_slot *types;
    uint32_t type_count, type_cap;  /* count: one past the highest index in use */
    uint32_t type_next[4];          /* the next free index of each kind (type_kind) */
    type_entry *type_hash;
    uint32_t type_hash_cap;
    uint32_t immutable_types;       /* types with TB_IMMUTABLE */
    const rcgc_type *last_type;     /* one-entry cache for rcgc_new: the type, */
    uint32_t last_index;            /* its index, */
    uint8_t last_sclass;            /* its size class, */
    uint32_t last_bytes;            /* the payload of its class's blocks, */
    bin_t *last_bin;                /* and its class's bin when rcgc_new's fast
                                       path serves it, else no_bin */
    bin_t no_bin;                   /* a bin that never has pages */
    uint32_t gen0_ref;              /* ref_of(&gen[0].head) */
    uint32_t release_index;         /* release_plain's cache: the last type of two
                                       fields at known offsets it released, or
                                       FIELD_CACHE_NONE (rcgc_set_type_fields
                                       clears it), */
    size_t release_off0, release_off1; /* and its offsets */

    /* Weak references: referent -> newest weakref, open addressing. */
    wr_entry *wr_table;
    size_t wr_cap, wr_count;

    /* Release at zero (see object.c): how many container releases are
       running, nested, and the trash list, newest first. */
    int trash_nesting;
    head_t *trash_later;

    /* Collector state. */
    int enabled;
    int collecting;
    bool outside_refs;              /* see collect.c, note_outside_ref */
    bool scattered;                 /* the last full collection found its list
                                       out of address order (collect.c,
                                       "Scattered lists") */
    uint32_t *links;                /* during a full collection that borrowed it:
                                       each examined object's list link, at
                                       its reference / 2 (collect.c), */
    size_t links_bytes;
    uint32_t *links_queue;          /* and after it, room for the references
                                       of the objects taken back */
    size_t links_queue_cap;
    uint8_t collect_gen;            /* the collection running examines generations 0..collect_gen */
    unsigned debug;
    size_t long_lived_total;
    size_t long_lived_pending;
    rcgc_gen_stats stats[NUM_GENERATIONS];

    void **garbage;
    size_t garbage_len, garbage_cap;
    callback_entry *callbacks;
    size_t callback_len, callback_cap;

    /* Memory statistics. The small objects and their bytes are not counted
       here: each page's `used` says it, and rcgc_get_memory_stats adds them up,
       so that an allocation and a release touch only their page. */
    size_t live_pages, live_large, large_bytes, system_bytes;

#ifdef RCGC_DEBUG
    /* Debug build (check.c): the set of this heap's region bases, to tell
       whether an address lies in one of its pages without touching it. */
    char **dbg_regions;
    size_t dbg_regions_cap, dbg_regions_count;
    int in_traverse;                /* >0 while the collector runs a traverse */
    const head_t *traversing;       /* the object whose traverse runs */
    uint32_t serial;                /* allocations so far */
    int on_leak;                    /* RCGC_LEAKS_* */
#endif
};

/* ---- Compressed references ------------------------------------------------ */

/* Whether a region table entry holds a region (free entries are odd: links
   of the table's free list). */
static inline bool region_in_use(const char *base)
{
    return ((uintptr_t)base & 1u) == 0;
}

/* The address of the object whose reference is ref, through a region table. */
static inline head_t *ref_at(char *const *base, uint32_t ref)
{
    return (head_t *)(base[ref >> REGION_SHIFT] + ((size_t)(ref & ((1u << REGION_SHIFT) - 1)) << 4));
}

static inline head_t *ref_ptr(const rcgc_heap *h, uint32_t ref)
{
    return ref_at(h->region_base, ref);
}

/* How far ahead of a list walk walk_next prefetches, in bytes. */
#define WALK_AHEAD 2048

/* How far ahead a walk of a large set in address order prefetches: the
   blocks of a page in update_subtract_refs_stream and page_dies_whole, in
   bytes (STREAM_AHEAD), and the objects of a list that keeps its stride in
   walk_next_far and walk_next2, in strides (WALK_FAR_STRIDES, 4 KiB at
   32-byte blocks). Measured on an Intel Xeon (family 6, model 167, in a
   virtual machine) with the interleaved runs of docs/performance-log.md's
   twenty-seventh round: a full collection of 10^6 reachable pairs, a walk in
   address order that the hardware prefetchers are left to, took 6.5 ns per
   object the first time after they were made and 3.1 the times after;
   with these prefetches 3.7 and 2.9. 2 KiB ahead gained less, 8 and 16 KiB
   no more. On an AMD EPYC of family 25 they are worth less (the collection
   took 1.087 times as long without them) and other distances did no better
   (the twenty-eighth round). */
#define STREAM_AHEAD 4096
#define WALK_FAR_STRIDES 128

/* Whether a list walk's step from reference r to nr stays in one region,
   where the difference of the references is the distance of the objects. */
static inline bool same_region(uint32_t r, uint32_t nr)
{
    return ((nr ^ r) >> REGION_SHIFT) == 0;
}

/* How far a list walk's step may go, either way, in 16-byte units, and
   still count as near: 4 KiB, the distance that the walks' prefetches
   cover (WALK_AHEAD, walk_far at 32-byte blocks). */
#define SCATTER_NEAR 256

/* Whether a list walk's step from reference r to nr is far: the references
   differ by more than SCATTER_NEAR either way (in one region, the distance
   of the objects; a step to another region is mostly far too). A full
   collection counts the far steps of its list walks (collect.c, "Scattered
   lists"). */
static inline bool far_step(uint32_t r, uint32_t nr)
{
    return nr - r + SCATTER_NEAR > 2 * SCATTER_NEAR;
}

/* The object stride 16-byte units after x in its region (stride is a
   difference of references, negative for a step down). */
static inline head_t *walk_step(head_t *x, uint32_t stride)
{
    return (head_t *)((char *)x + (ptrdiff_t)(int32_t)stride * 16);
}

/* The prefetch of a step off the stride (see walk_next). */
static inline void walk_ahead(const head_t *next)
{
    __builtin_prefetch((const void *)((uintptr_t)next + WALK_AHEAD));
    __builtin_prefetch((const void *)((uintptr_t)next + WALK_AHEAD + 64));
}

/* The prefetch of a step that keeps the stride, in a walk of a large set
   (walk_next_far, walk_next2): the object WALK_FAR_STRIDES strides on, down
   the addresses for a walk that goes down. Computed as an integer, since it
   may lie past the heap's memory, where a prefetch does nothing. */
static inline void walk_far(const head_t *x, uint32_t stride)
{
    __builtin_prefetch((const void *)((uintptr_t)x + (uintptr_t)((intptr_t)(int32_t)stride * 16 * WALK_FAR_STRIDES)));
}

/* A step of a list walk off the stride, from reference r to nr: the link is
   followed through the region table, the new stride noted, and the lines
   ahead prefetched (walk_ahead). */
static inline head_t *walk_off_stride(const rcgc_heap *h, uint32_t r, uint32_t nr, uint32_t *stride)
{
    *stride = nr - r;
    head_t *next = ref_ptr(h, nr);
    walk_ahead(next);
    return next;
}

/* The object after x (whose reference is r) in a list walk, given x's link nr.
   A collection walks lists that are mostly in allocation order, where each step
   goes the same distance as the last one (*stride, in 16-byte units). Followed
   through the region table, a link is a chain of dependent loads that no
   hardware prefetch can start early; the guess of x + stride, checked against
   nr by a branch the processor predicts, lets it begin on the next object (and
   the ones after) before the link has been read. Both halves of the check are
   marked likely together, so that a right guess falls through to the next
   turn of the walk (with the first half alone, gcc put the common case out
   of line, behind two more taken branches per object).
   A step that does not keep the stride prefetches the two lines WALK_AHEAD
   bytes past the next object. A list that a collection has taken back from
   the unreachable list is in the order the objects were taken back: a tree
   built bottom up (each parent allocated after its children) is then in
   breadth-first order, level after level, each level going up through the
   addresses in steps of one line to a few that change from step to step
   (GCBench's stretch tree: of 372,931 steps, 98% went up by less than 4 KiB,
   0.1% went down). No hardware prefetcher follows such steps, and a walk of
   a tree larger than the cache waited for memory at most objects; the lines
   ahead hold the next objects of the level. The prefetches take two
   instructions and keep no state: with a variable in the heap that said how
   far ahead the walk had prefetched, to prefetch every line up to WALK_AHEAD,
   the code of the walks' loops changed around it, and the full collections
   of bench_pauses and bench_cycles took 4 to 5% longer, prefetching or not. */
static inline head_t *walk_next(const rcgc_heap *h, head_t *x, uint32_t r, uint32_t nr, uint32_t *stride)
{
    if (__builtin_expect(nr - r == *stride && same_region(r, nr), 1))
        return walk_step(x, *stride);
    return walk_off_stride(h, r, nr, stride);
}

/* walk_next for the list walks that may cover sets larger than the cache:
   update_subtract_refs once the shape is not a forest, keep_all and
   bulk_delete, in collections of every generation. A step that keeps the
   stride prefetches the object WALK_FAR_STRIDES strides on (walk_far). The
   walks of young forests (the check for a forest, relink_forest,
   untrack_forest, untrack_immutable) keep walk_next: their objects are in
   the cache, and with the prefetch there the collections of bench_levers'
   trees of immutable nodes took 1.05 times as long. */
static inline head_t *walk_next_far(const rcgc_heap *h, head_t *x, uint32_t r, uint32_t nr, uint32_t *stride)
{
    if (__builtin_expect(nr - r == *stride && same_region(r, nr), 1)) {
        walk_far(x, *stride);
        return walk_step(x, *stride);
    }
    return walk_off_stride(h, r, nr, stride);
}

/* walk_next for move_unreachable's walks, with a second guess when the
   last stride misses: the stride before it (*stride2; the two are the last
   two steps, most recent first). A tree built bottom up that a collection
   took back lies breadth first, and the steps along one of its levels
   alternate between the distance of two neighbours and a longer one that
   changes every time (GCBench, 48-byte blocks, in 16-byte units: 21 24 21
   27 21 24 21 30 ...): the last stride guesses none of them, the one before
   it every other one. Counted in GCBench: of move_unreachable's 4.2 million
   steps through parked runs, 7% were guessed with the last stride and 49%
   with both; of its 4.2 million steps through the objects taken back, none
   and 47%. The other walks keep walk_next or walk_next_far: they follow
   allocation order, or the breadth-first order of a young forest that is in
   the cache, and with the second guess everywhere the cycles and
   binary-trees benchmarks took up to 1.5% longer (docs/performance-log.md,
   twenty-sixth round). A step that keeps the stride prefetches as
   walk_next_far's do. A step off the last stride that is far (far_step) is
   counted in *far, unless far is NULL. */
static inline head_t *walk_next2(const rcgc_heap *h, head_t *x, uint32_t r, uint32_t nr, uint32_t *stride,
                                 uint32_t *stride2, size_t *far)
{
    if (__builtin_expect(nr - r == *stride && same_region(r, nr), 1)) {
        walk_far(x, *stride);
        return walk_step(x, *stride);
    }
    uint32_t d = nr - r, before = *stride2;
    if (far)
        *far += far_step(r, nr);
    *stride2 = *stride;
    *stride = d;
    head_t *next;
    if (d == before && same_region(r, nr))
        next = walk_step(x, d);
    else
        next = ref_ptr(h, nr);
    walk_ahead(next);
    return next;
}

static inline uint32_t ref_of(const head_t *x)
{
    const page_t *p = page_of(x);
    return p->ref_base + (uint32_t)(((const char *)x - (const char *)p) >> 4);
}

static inline head_t *head_of(const void *obj) { return (head_t *)obj - 1; }
static inline void *obj_of(const head_t *x) { return (void *)(x + 1); }
static inline rcgc_heap *heap_of(const void *obj) { return page_of(obj)->heap; }

static inline const rcgc_type *type_of_head(const rcgc_heap *h, const head_t *x)
{
    return h->types[x->info >> TYPE_SHIFT].type;
}

static inline unsigned type_bits(const rcgc_heap *h, const head_t *x)
{
    return h->types[x->info >> TYPE_SHIFT].bits;
}

/* A type's index is chosen when it is registered so that its two low bits
   are its TB_CONTAINER and TB_HOOKS bits (the table has holes between the
   four kinds' indexes). The tests that every release and collection make,
   whether an object holds references and whether its release runs code,
   then read its header alone, not the type table through its page's heap. */
#define TYPE_KIND_MASK ((uint32_t)(TB_CONTAINER | TB_HOOKS) << TYPE_SHIFT)

static inline unsigned type_kind(const head_t *x)
{
    return (x->info >> TYPE_SHIFT) & (TB_CONTAINER | TB_HOOKS);
}

static inline bool is_container(const rcgc_heap *h, const head_t *x)
{
    (void)h;
    return (type_kind(x) & TB_CONTAINER) != 0;
}

/* ---- Telling AddressSanitizer and valgrind --------------------------------- */

/* Blocks that are free or never handed out are poisoned for AddressSanitizer
   and marked inaccessible for valgrind memcheck, so that both report a use
   after free inside rcgc's pages, as they do for malloc's. The allocator
   itself opens a free block's first 16 bytes (its link and its zero info word)
   only for the moment it reads them. Memory is unpoisoned before it goes back
   to the memory source. Without either tool these are empty. */
static inline void tool_noaccess(const void *p, size_t n)
{
    (void)p;
    (void)n;
#ifdef RCGC_ASAN
    ASAN_POISON_MEMORY_REGION(p, n);
#endif
#ifdef RCGC_VALGRIND
    VALGRIND_MAKE_MEM_NOACCESS(p, n);
#endif
}

static inline void tool_access(const void *p, size_t n)
{
    (void)p;
    (void)n;
#ifdef RCGC_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
#ifdef RCGC_VALGRIND
    VALGRIND_MAKE_MEM_DEFINED(p, n);
#endif
}

/* The info word of a block met in a walk over a page's blocks, 0 for a free
   block, without changing what the tools know of the block: a free block is
   poisoned (its header is not read), and a block just taken off the free
   list whose allocation runs a collection (init_object) is open with info 0. */
static inline uint32_t tool_block_info(const head_t *x)
{
#ifdef RCGC_ASAN
    if (__asan_region_is_poisoned((void *)(uintptr_t)x, 16))
        return 0;
#endif
#ifdef RCGC_VALGRIND
    char vbits[16];
    if (VALGRIND_GET_VBITS(x, vbits, 16) == 3)
        return 0;
#endif
    return x->info;
}

/* Gives memory back to the memory source in the state it came in. */
static inline void tool_release(const void *p, size_t n)
{
    (void)p;
    (void)n;
#ifdef RCGC_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
#ifdef RCGC_VALGRIND
    VALGRIND_MAKE_MEM_UNDEFINED(p, n);
#endif
}

/* ---- Blocks: the allocator's fast paths (the rest is in alloc.c) ------------ */

/* A free block's link to the next free block of its page, in its next/prev
   words. */
static inline char *free_next(const char *b)
{
    char *n;
    memcpy(&n, b + offsetof(head_t, next), sizeof n);
    return n;
}

static inline void set_free_next(char *b, char *n)
{
    memcpy(b + offsetof(head_t, next), &n, sizeof n);
}

/* Takes the first block off a page's free list. */
static inline char *pop_free(page_t *p)
{
    char *b = p->free;
    tool_access(b, p->block_size);
    p->free = free_next(b);
    return b;
}

/* Whether a small page has a block to hand out: a free one or an untouched
   one in its tail. */
static inline bool page_has_block(const page_t *p)
{
    return p->free || p->bump + p->block_size <= p->end;
}

/* Hands out a block of a page that has one (page_has_block): the first free
   block, or else the next untouched one. */
static inline head_t *page_take(page_t *p)
{
    char *b;
    if (p->free) {
        b = pop_free(p);
    } else {
        b = p->bump;
        p->bump += p->block_size;
        tool_access(b, p->block_size);
    }
    p->used++;
    return (head_t *)b;
}

RCGC_INTERNAL head_t *rcgc__small_alloc(rcgc_heap *h, unsigned sclass);
RCGC_INTERNAL void rcgc__block_free(rcgc_heap *h, head_t *x);
/* Every block that small page p has handed out is dead, and nothing will read
   one: the page becomes empty at once, as if each had been freed, without a
   push on its free list per block (bulk_delete). */
RCGC_INTERNAL void rcgc__page_emptied(rcgc_heap *h, page_t *p);
#ifdef RCGC_DEBUG
RCGC_INTERNAL void rcgc__dbg_block_alloc(rcgc_heap *h, head_t *x);
RCGC_INTERNAL void rcgc__dbg_block_free(head_t *x, size_t block_bytes);
#endif

/* An object's pointer is its payload's start, right after its header, and
   page_of() of it must find the object's page: so a block holds at least 16
   bytes of payload, and an object made with none takes a block of the header
   and 16 bytes. (A header alone in the last block of a page would have its
   pointer at the start of the next region.) */
#define MIN_BLOCK (sizeof(head_t) + 16)

/* The class of a block of `size` bytes, at most FINE_MAX: the classes in
   steps of 16 bytes (alloc.c's class_size), where a block of fewer than
   MIN_BLOCK bytes takes MIN_BLOCK's class. */
static inline unsigned fine_class(size_t size)
{
    size_t s = size < MIN_BLOCK ? MIN_BLOCK : size;
    return (unsigned)((s + 15) >> 4) - 2;
}

/* The class of a block of `size` bytes, over FINE_MAX and at most SMALL_MAX:
   eight classes per power of two (alloc.c's class_size). */
static inline unsigned coarse_class(size_t size)
{
    unsigned p = 63u - (unsigned)__builtin_clzll((unsigned long long)(size - 1));
    unsigned k = (unsigned)((size - ((size_t)1 << p) + ((size_t)1 << (p - 3)) - 1) >> (p - 3));
    return 31 + (p - 9) * 8 + k - 1;
}

/* The class of a block of `size` bytes, at most SMALL_MAX. */
static inline unsigned size_class(size_t size)
{
    return size <= FINE_MAX ? fine_class(size) : coarse_class(size);
}

/* A block of size class sc: a pop from the free list of the page the class
   allocates from, or rcgc__small_alloc when it has none. NULL: memory
   is short. The block is not initialised. */
static inline head_t *block_alloc_class(rcgc_heap *h, unsigned sc)
{
    page_t *p = h->bins[sc].pages;
    head_t *x;
    if (p && p->free) {
        x = (head_t *)pop_free(p);
        p->used++;
    } else {
        x = rcgc__small_alloc(h, sc);
        if (!x)
            return NULL;
    }
#ifdef RCGC_DEBUG
    rcgc__dbg_block_alloc(h, x);
#endif
    return x;
}

/* Makes x a free block of `size` bytes and pushes it on the free list *list. */
static inline void push_free(head_t *x, char **list, size_t size)
{
#ifdef RCGC_DEBUG
    rcgc__dbg_block_free(x, size);
#endif
    /* refcnt and info are cleared by one 8-byte store: written as two
       fields, they are two stores in a build without SLP vectorization, and
       the sliding-window allocation cases ran 2-4% slower. */
    memset(x, 0, offsetof(head_t, next));
    set_free_next((char *)x, *list);
    tool_noaccess(x, size);
    *list = (char *)x;
}

/* Frees a block: a push on its page's free list, unless the page is large,
   full or about to become empty, which rcgc__block_free handles. */
static inline void block_free(rcgc_heap *h, head_t *x)
{
    page_t *p = page_of(x);
    if (p->kind != PAGE_SMALL || p->full || p->used <= 1) {
        rcgc__block_free(h, x);
        return;
    }
    push_free(x, &p->free, p->block_size);
    p->used--;
}

/* Frees blocks one after another, with nothing else freed or allocated in
   between (bulk_delete): while they come from one page, its free list and
   count stay in the run instead of a store and a reload of each per block,
   which chains one block's free to the next. Blocks that block_free would hand
   to rcgc__block_free still go there, with the run flushed first; so must it
   be before anything else frees a block, and at the end. */
typedef struct free_run {
    page_t *page;           /* page of the blocks in the run, or NULL */
    char *free;             /* its free list, with the run's blocks pushed */
    uint32_t n;             /* blocks of the run */
} free_run;

static inline void free_run_flush(free_run *f)
{
    if (f->page) {
        f->page->free = f->free;
        f->page->used -= f->n;
        f->page = NULL;
    }
}

static inline void free_run_add(rcgc_heap *h, free_run *f, head_t *x)
{
    page_t *p = page_of(x);
    if (p != f->page) {
        free_run_flush(f);
        if (p->kind != PAGE_SMALL || p->full) {
            rcgc__block_free(h, x);
            return;
        }
        f->page = p;
        f->free = p->free;
        f->n = 0;
    }
    if (p->used - f->n <= 1) {
        free_run_flush(f);
        rcgc__block_free(h, x);
        return;
    }
    push_free(x, &f->free, p->block_size);
    f->n++;
}

/* The usable payload bytes of the block holding x. */
static inline size_t block_payload(const head_t *x)
{
    const page_t *p = page_of(x);
    if (p->kind == PAGE_LARGE)
        return (size_t)(p->end - (const char *)p) - PAGE_HEADER - sizeof(head_t);
    return p->block_size - sizeof(head_t);
}

/* ---- Generation lists (circular, doubly linked, sentinel heads) ----------- */

static inline void list_init(head_t *l)
{
    uint32_t r = ref_of(l);
    l->next = l->prev = r;
}

static inline bool list_is_empty(const head_t *l) { return l->next == ref_of(l); }

static inline head_t *list_first(const rcgc_heap *h, const head_t *l) { return ref_ptr(h, l->next); }

/* Appends x to the list l, whose reference is lr. */
static inline void list_append_at(const rcgc_heap *h, head_t *x, head_t *l, uint32_t lr)
{
    uint32_t xr = ref_of(x);
    head_t *last = ref_ptr(h, l->prev);
    x->prev = l->prev;
    x->next = lr;
    last->next = xr;
    l->prev = xr;
}

static inline void list_append(const rcgc_heap *h, head_t *x, head_t *l)
{
    list_append_at(h, x, l, ref_of(l));
}

/* Also the way out of the permanent generation for a single object. */
static inline void list_remove(const rcgc_heap *h, head_t *x)
{
    head_t *prev = ref_ptr(h, x->prev), *next = ref_ptr(h, x->next);
    prev->next = x->next;
    next->prev = x->prev;
    x->next = 0;
    x->info &= ~(uint32_t)F_FROZEN;
}

static inline void list_move(const rcgc_heap *h, head_t *x, head_t *l)
{
    list_remove(h, x);
    list_append(h, x, l);
}

static inline unsigned gen_of(const head_t *x)
{
    return (x->info & GEN_MASK) >> GEN_SHIFT;
}

static inline void set_gen(head_t *x, unsigned g)
{
    x->info = (x->info & ~(uint32_t)GEN_MASK) | (uint32_t)g << GEN_SHIFT;
}

/* n containers are freed, one after another with nothing between them:
   generation 0's count goes down by n, never below 0, as n calls of CPython's
   PyObject_GC_Del would lower it. */
static inline void uncount_containers(rcgc_heap *h, size_t n)
{
    h->gen[0].count = h->gen[0].count > n ? h->gen[0].count - n : 0;
}

/* A container is freed. */
static inline void uncount_container(rcgc_heap *h)
{
    uncount_containers(h, 1);
}

/* Whether an object whose header holds info is a container without
   finalizer, destroy or weak references: nobody can watch it die. The type
   index's low bits (type_kind) tell the first two. */
static inline bool is_plain_container(uint32_t info)
{
    return (info & (TYPE_KIND_MASK | F_WEAKREFS)) == (uint32_t)TB_CONTAINER << TYPE_SHIFT;
}

/* The generation the survivors of the collection running move to. */
static inline unsigned promote_gen(const rcgc_heap *h)
{
    return h->collect_gen + 1u < NUM_GENERATIONS ? h->collect_gen + 1u : h->collect_gen;
}

/* Appends untracked x to generation g's list. */
static inline void gen_append(rcgc_heap *h, head_t *x, unsigned g)
{
    set_gen(x, g);
    list_append(h, x, &h->gen[g].head);
}

/* Appends every element of from to to, leaving from empty. */
static inline void list_merge(const rcgc_heap *h, head_t *from, head_t *to)
{
    if (list_is_empty(from))
        return;
    head_t *to_last = ref_ptr(h, to->prev);
    head_t *first = ref_ptr(h, from->next), *last = ref_ptr(h, from->prev);
    to_last->next = from->next;
    first->prev = to->prev;
    last->next = ref_of(to);
    to->prev = from->prev;
    list_init(from);
}

static inline size_t list_size(const rcgc_heap *h, const head_t *l)
{
    size_t n = 0;
    uint32_t end = ref_of(l);
    for (uint32_t r = l->next; r != end; r = ref_ptr(h, r)->next)
        n++;
    return n;
}

/* Runs x's traverse for the collector or for introspection: no user code may
   run meanwhile, and the debug build checks that none starts a collection. */
static inline void traverse_head(rcgc_heap *h, head_t *x, rcgc_visit_fn visit, void *arg)
{
#ifdef RCGC_DEBUG
    const head_t *outer = h->traversing;
    h->in_traverse++;
    h->traversing = x;
#endif
    type_of_head(h, x)->traverse(obj_of(x), visit, arg);
#ifdef RCGC_DEBUG
    h->traversing = outer;
    h->in_traverse--;
#endif
}

/* Calls visit(&field, arg) for the n reference fields (n at least 1) at the
   given offsets of obj, in order: for each_field, and for the release of a
   dead container's fields. One or two fields are visited without the loop,
   whose setup took as many instructions as a visit: a full collection of
   reachable two-field objects runs 13% fewer instructions. */
static inline __attribute__((always_inline)) void visit_offsets(char *obj, const size_t *fields, uint32_t n,
                                                                rcgc_visit_fn visit, void *arg)
{
    if (n <= 2) {
        visit((void **)(obj + fields[0]), arg);
        if (n == 2)
            visit((void **)(obj + fields[1]), arg);
    } else {
        for (uint32_t i = 0; i < n; i++)
            visit((void **)(obj + fields[i]), arg);
    }
}

/* The items of the object at obj (rcgc_set_type_items): their count, and
   where the first entry is. */
static inline size_t items_count(const char *obj, size_t count_off)
{
    return *(const size_t *)(obj + count_off);
}

static inline char *items_base(char *obj, unsigned form, size_t items_off)
{
    return form & RCGC_ITEMS_INLINE ? obj + items_off : *(char **)(obj + items_off);
}

#ifdef RCGC_DEBUG
RCGC_INTERNAL void rcgc__dbg_items(rcgc_heap *h, const head_t *x, size_t n, const char *base);
#endif

/* Calls visit(&item, arg) for each item of x (rcgc_set_type_items,
   rcgc_set_type_entries), in the order of its traverse. The count and the
   array are read once: no user code runs in the collector's walks. Plain
   items (entries of one reference) take loops of their own, so that a
   list's walk has no inner loop. */
static inline __attribute__((always_inline)) void visit_items(rcgc_heap *h, head_t *x, const type_slot *t,
                                                              rcgc_visit_fn visit, void *arg)
{
    char *obj = obj_of(x);
    size_t n = items_count(obj, t->items.count_off);
    if (!n)
        return;
    char *base = items_base(obj, t->items.form, t->items.items_off);
#ifdef RCGC_DEBUG
    rcgc__dbg_items(h, x, n, base);
#else
    (void)h;
#endif
    unsigned form = t->items.form;
    bool reverse = form & RCGC_ITEMS_REVERSE;
    if (__builtin_expect(!(form & ITEMS_ENTRIES), 1)) {
        void **item = (void **)base;
        if (reverse) {
            for (size_t i = n; i-- > 0;)
                visit(&item[i], arg);
        } else {
            for (size_t i = 0; i < n; i++)
                visit(&item[i], arg);
        }
        return;
    }
    size_t stride = t->items.entry_size;
    uint32_t refs = t->items.refs;
    char *entry = base + t->items.refs_off;
    if (reverse) {
        entry += n * stride;
        for (size_t i = n; i-- > 0;) {
            entry -= stride;
            for (uint32_t j = refs; j-- > 0;)
                visit((void **)entry + j, arg);
        }
    } else {
        for (size_t i = 0; i < n; i++, entry += stride)
            for (uint32_t j = 0; j < refs; j++)
                visit((void **)entry + j, arg);
    }
}

/* Calls visit(&field, arg) for each reference field of container x: straight
   from the field offsets and items the heap was told (rcgc_set_type_fields,
   rcgc_set_type_items), where the compiler can inline visit into the
   caller's loop, or else through the type's traverse. */
static inline __attribute__((always_inline)) void each_field(rcgc_heap *h, head_t *x, rcgc_visit_fn visit, void *arg)
{
    const type_slot *t = &h->types[x->info >> TYPE_SHIFT];
    /* In locals: the visits store to headers, which the compiler cannot tell
       from the type's table. */
    const size_t *fields = t->fields;
    unsigned items = t->items.form;
    if (!fields && !items) {
        traverse_head(h, x, visit, arg);
        return;
    }
#ifdef RCGC_DEBUG
    const head_t *outer = h->traversing;
    h->traversing = x;
#endif
    if (fields)
        visit_offsets(obj_of(x), fields, t->nfields, visit, arg);
    if (items)
        visit_items(h, x, t, visit, arg);
#ifdef RCGC_DEBUG
    h->traversing = outer;
#endif
}

/* The last type of two fields at known offsets (rcgc_set_type_fields) that a
   walk met, for each_field_cached. A walk over such objects then tests one
   index per object, where each_field reads the type's slot, its offsets
   array and the two offsets: a chain of loads that starts at the header and
   held up every object (a full collection of reachable pairs: 102 -> 87
   instructions per object, and a quarter less time). Only two fields: a
   cache that also kept a type of one field, or of any number, made that
   collection 15 to 25% slower (more registers in the walks), so other types
   take each_field. The index is FIELD_CACHE_NONE until the walk meets such a
   type. */
#define FIELD_CACHE_NONE UINT32_MAX
typedef struct field_cache {
    uint32_t index;
    size_t off0, off1;
} field_cache;

/* each_field, for a walk that keeps a field_cache (FIELD_CACHE_NONE at the
   start). Nothing a walk runs can change a type's offsets: the traverse
   functions it calls make no call into rcgc. A hit is marked likely, so
   that it is the straight path through the walk. */
static inline __attribute__((always_inline)) void each_field_cached(rcgc_heap *h, head_t *x, field_cache *fc,
                                                                    rcgc_visit_fn visit, void *arg)
{
    uint32_t index = x->info >> TYPE_SHIFT;
    if (__builtin_expect(index != fc->index, 0)) {
        const type_slot *t = &h->types[index];
        if (!t->fields || t->nfields != 2 || t->items.form) {
            each_field(h, x, visit, arg);
            return;
        }
        fc->index = index;
        fc->off0 = t->fields[0];
        fc->off1 = t->fields[1];
    }
#ifdef RCGC_DEBUG
    const head_t *outer = h->traversing;
    h->traversing = x;
#endif
    char *obj = obj_of(x);
    visit((void **)(obj + fc->off0), arg);
    visit((void **)(obj + fc->off1), arg);
#ifdef RCGC_DEBUG
    h->traversing = outer;
#endif
}

/* ---- Cross-file internal functions ---------------------------------------- */

/* alloc.c */
RCGC_INTERNAL void *rcgc__sys_alloc(rcgc_heap *h, size_t size, size_t align);
RCGC_INTERNAL void rcgc__sys_free(rcgc_heap *h, void *p, size_t size);
RCGC_INTERNAL head_t *rcgc__block_alloc(rcgc_heap *h, size_t bytes);
/* The size class of a block of `bytes` (header included), or SCLASS_LARGE. */
RCGC_INTERNAL unsigned rcgc__size_class(size_t bytes);
/* The block size of size class sc (not SCLASS_LARGE). */
RCGC_INTERNAL uint32_t rcgc__class_size(unsigned sc);
RCGC_INTERNAL rcgc_heap *rcgc__heap_alloc(const rcgc_config *config);
RCGC_INTERNAL void rcgc__heap_release_memory(rcgc_heap *h);
/* Releases the empty pages that size classes keep to allocate from. */
RCGC_INTERNAL void rcgc__trim(rcgc_heap *h);
/* Gives the empty chunks and the regions of freed large objects back to the
   memory source: all of them, or those kept for KEEP_EMPTY_SECONDS already. */
RCGC_INTERNAL void rcgc__release_empty(rcgc_heap *h, bool all);
/* The blocks a walk over the heap reads in region r: from *first up to
   *end in steps of *size, free blocks included (their info reads 0, as
   tool_block_info tells), or false if the region has none to read (not in
   use, or a small page without live blocks). A large object's region holds
   its block alone. A page's bump pointer and block size are read here once,
   not after every block: the stores of a walk could change them as far as
   the compiler knows. If the walk frees blocks (a destroy run by
   rcgc_heap_free may release other objects), the blocks past a page's new
   bump pointer that it still reads are free and skipped. */
static inline bool region_blocks(const rcgc_heap *h, uint32_t r, char **first, const char **end, size_t *size)
{
    char *base = h->region_base[r];
    if (!region_in_use(base))
        return false;
    const page_t *p = (const page_t *)base;
    *first = base + PAGE_HEADER;
    if (p->kind == PAGE_LARGE) {
        *end = *first + 1;
        *size = 1;
        return true;
    }
    if (p->kind != PAGE_SMALL || !p->used)
        return false;
    *end = p->bump;
    *size = p->block_size;
    return true;
}

/* Calls fn(h, x, arg) for every live block of the heap, region by region and
   in address order within a page (region_blocks), but not for a block whose
   info is 0 (free, or taken by an allocation that runs a collection before
   it writes the header: init_object). Inlined, so that a walk can inline fn;
   rcgc__each_block is the same walk out of line. */
static inline __attribute__((always_inline)) void each_live_block(rcgc_heap *h,
                                                                  void (*fn)(rcgc_heap *h, head_t *x, void *arg),
                                                                  void *arg)
{
    for (uint32_t r = 1; r < h->region_top; r++) {
        char *b;
        const char *end;
        size_t size;
        if (!region_blocks(h, r, &b, &end, &size))
            continue;
        for (; b < end; b += size) {
            head_t *x = (head_t *)b;
            if (tool_block_info(x) != 0)
                fn(h, x, arg);
        }
    }
}

/* Calls fn for every live block of the heap (free blocks are skipped). */
RCGC_INTERNAL void rcgc__each_block(rcgc_heap *h, void (*fn)(rcgc_heap *h, head_t *x, void *arg), void *arg);

/* object.c */
/* delete_garbage's release of x, a container of the garbage a collection
   found: it holds x while it clears x's reference fields and releases what
   they held, as CPython's delete_garbage does, then lets go of x. When only
   that reference is left and nothing but x's destroy function can watch it
   die (no weak references; a finalizer, if any, has run), x is released on
   the spot: the steps of rcgc__dealloc's release in the same order, without
   the way through rcgc_decref and rcgc__dealloc and a second visit of the
   cleared fields. */
RCGC_INTERNAL void rcgc__release_garbage(rcgc_heap *h, head_t *x);

/* collect.c */
RCGC_INTERNAL void rcgc__collect_generations(rcgc_heap *h);

/* weakref.c */
RCGC_INTERNAL extern const rcgc_type rcgc__weakref_type;
RCGC_INTERNAL void rcgc__clear_weakrefs_and_call(rcgc_heap *h, head_t *x);
RCGC_INTERNAL size_t rcgc__handle_weakrefs(rcgc_heap *h, head_t *unreachable, head_t *old, bool *called);
RCGC_INTERNAL void rcgc__weakref_unlink(rcgc_heap *h, void *wr);
/* The generation bits of a weak reference waiting in wrcb_to_call for its
   callback (rcgc__handle_weakrefs) that is to stay untracked: a tracked
   object's never read 3 outside a collection's examined set, which the weak
   references waiting there are not in. */
#define WRCB_UNTRACKED 3u
/* Whether wr, a weak reference, waits in wrcb_to_call for its callback. It
   is then in no generation, and its generation bits alone say whether it is
   tracked (anything but WRCB_UNTRACKED): rcgc_track, rcgc_untrack,
   rcgc_is_tracked and rcgc_make_immortal read and set them, so that its
   callback runs whatever they do. */
RCGC_INTERNAL bool rcgc__weakref_waiting(const void *wr);
RCGC_INTERNAL void rcgc__weakref_table_free(rcgc_heap *h);

/* visual.c: groups the objects of the list into strongly connected
   components and prints them (RCGC_DEBUG_COLLECTABLE). Reads only `next`. */
RCGC_INTERNAL void rcgc__report_sccs(rcgc_heap *h, head_t *unreachable);

/* debug.c */
RCGC_INTERNAL void rcgc__debug_start(rcgc_heap *h, int generation);
RCGC_INTERNAL void rcgc__debug_object(rcgc_heap *h, const char *what, head_t *x);
RCGC_INTERNAL void rcgc__debug_done(rcgc_heap *h, size_t unreachable, size_t uncollectable, double seconds);
RCGC_INTERNAL double rcgc__now(void);

/* check.c: the debug build's misuse checks. Each failure prints what was
   checked, the object's address and type, and aborts. */
#ifdef RCGC_DEBUG
RCGC_INTERNAL int rcgc__dbg_region_add(rcgc_heap *h, char *base);
RCGC_INTERNAL void rcgc__dbg_region_remove(rcgc_heap *h, char *base);
RCGC_INTERNAL void rcgc__dbg_regions_free(rcgc_heap *h);
RCGC_INTERNAL void rcgc__dbg_visited(rcgc_heap *h, const head_t *container, void *v);
RCGC_INTERNAL void rcgc__dbg_tracked_zero(rcgc_heap *h, const head_t *x);
RCGC_INTERNAL void rcgc__dbg_gc_refs_negative(rcgc_heap *h, const head_t *x);
RCGC_INTERNAL void rcgc__dbg_no_traverse(rcgc_heap *h, const char *what);
RCGC_INTERNAL void rcgc__dbg_check_live(const void *obj, const char *op);
RCGC_INTERNAL void rcgc__dbg_store(void **slot, void *value);
RCGC_INTERNAL void rcgc__dbg_leak_report(rcgc_heap *h);
#endif

/* Generic growable-array helper on the heap's memory source: makes room for at
   least `need` elements of `elem` bytes. Returns 0, or -1 when memory is short
   (the array is unchanged). */
RCGC_INTERNAL int rcgc__grow(rcgc_heap *h, void **array, size_t *cap, size_t need, size_t elem);

#endif
