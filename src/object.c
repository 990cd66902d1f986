/*
 * Objects and reference counts: creation, release at zero, tracking, and the
 * heap's lifecycle.
 *
 * Release at zero, as CPython deallocates. When a count reaches 0,
 * rcgc__dealloc releases the object at once: finalizer (at most once, PEP 442;
 * it may resurrect the object), weak-reference callbacks, the references it
 * holds, destroy, memory. Its references are dropped one at a time, in
 * traverse order, and a count that a drop brings to 0 releases that object
 * before the next field is touched: the recursion of CPython's tp_dealloc. So
 * while one child is released, its later siblings are alive, still held by
 * the dying object, tracked, with their full counts, and the order of
 * finalizers, callbacks and destroys is CPython's.
 *
 * The recursion is bounded as CPython's trashcan bounds it. A container whose
 * release would begin 50 nested container releases deep is only untracked,
 * marked F_PENDING and pushed on the trash list (linked through its own
 * next/prev words); when the outermost release ends, the list is released
 * newest first, each one as if one release were running, and what nests too
 * deep from there joins the list. Any depth is released with at most 50
 * releases on the C stack, in CPython 3.11's order. Plain objects (no
 * finalizer, destroy or weak references), whose deaths nobody can see, are
 * released by release_ref without rcgc__dealloc's checks: a plain leaf is
 * freed on the spot, and a plain container's last field is released in a loop
 * rather than by a nested call (release_plain), which frees a container of one
 * or two fields at known offsets before releasing any of them and goes down
 * its first field's plain container in the same loop, with a frame of its own
 * stack for the rest instead of a call, up to 8 levels down.
 *
 * Invariants:
 *   - F_PENDING: the count is 0 and the object waits in the trash list or is
 *     being released; it is untracked, and in the trash list its next/prev
 *     words hold the list link. It is released once;
 *   - F_RELEASING: the release has begun for good (after the finalizer);
 *   - no weak reference hands out or creates a reference to an F_PENDING or
 *     F_RELEASING object (CPython's weak references give None at count 0);
 *   - the trash list is empty whenever no release is running
 *     (trash_nesting 0);
 *   - gen[0].count goes up at the allocation of every container and down (never
 *     below 0) when its release is over, its fields' releases included, as
 *     CPython's _PyObject_GC_Link/GC_Del (the plain release may free a block
 *     before that).
 */
#include "internal.h"

int rcgc_version(void)
{
    return RCGC_VERSION;
}

/* ---- The type table -------------------------------------------------------- */

/* A type's first slot in the hash: the high half of the pointer times the
   golden ratio, scaled to the table, so that its top bits choose the slot.
   Its lowest bits, taken with a mask, put three static types 40 bytes apart
   in slots whose look-ups took two probes each on average. */
static uint32_t type_hash_slot(const rcgc_type *t, uint32_t cap)
{
    uint64_t k = (uint64_t)(uintptr_t)t * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(((k >> 32) * cap) >> 32);
}

static void type_hash_insert(type_entry *tab, uint32_t cap, const type_entry *e)
{
    uint32_t i = type_hash_slot(e->type, cap);
    while (tab[i].type)
        i = (i + 1) & (cap - 1);
    tab[i] = *e;
}

/* The largest payload that clear_payload clears without memset, and that
   rcgc_new's fast path takes. */
#define CLEAR_INLINE_MAX 512

/* Registers t in the heap (an index in info words, whose low bits are its
   kind: type_kind). Returns its index or 0 when memory is short. */
static uint32_t type_register(rcgc_heap *h, const rcgc_type *t)
{
    unsigned bits = (t->traverse ? TB_CONTAINER : 0) | (t->finalize ? TB_FINALIZE : 0) |
                    (t->finalize || t->destroy || t == &rcgc__weakref_type ? TB_HOOKS : 0);
    unsigned kind = bits & (TB_CONTAINER | TB_HOOKS);
    uint32_t index = h->type_next[kind];
    if (index >= 1u << (32 - TYPE_SHIFT))
        return 0;
    size_t cap = h->type_cap;
    void *types = h->types;
    if (rcgc__grow(h, &types, &cap, (size_t)index + 1, sizeof *h->types) != 0)
        return 0;
    h->types = types;
    h->type_cap = (uint32_t)cap;
    if ((h->type_count + 4) * 2 > h->type_hash_cap) {
        uint32_t ncap = h->type_hash_cap ? h->type_hash_cap * 2 : 16;
        type_entry *tab = rcgc__sys_alloc(h, ncap * sizeof *tab, 16);
        if (!tab)
            return 0;
        memset(tab, 0, ncap * sizeof *tab);
        for (uint32_t i = 0; i < h->type_hash_cap; i++)
            if (h->type_hash[i].type)
                type_hash_insert(tab, ncap, &h->type_hash[i]);
        if (h->type_hash)
            rcgc__sys_free(h, h->type_hash, h->type_hash_cap * sizeof *tab);
        h->type_hash = tab;
        h->type_hash_cap = ncap;
    }
    if (index >= h->type_count) {
        memset(&h->types[h->type_count], 0, (index + 1 - h->type_count) * sizeof *h->types);
        h->type_count = index + 1;
    }
    h->type_next[kind] = index + 4;
    type_slot *slot = &h->types[index];
    slot->type = t;
    slot->fields = NULL;
    slot->nfields = 0;
    memset(&slot->items, 0, sizeof slot->items);
    slot->bits = (uint8_t)bits;
    unsigned sc = t->size <= SIZE_MAX / 2 ? rcgc__size_class(sizeof(head_t) + t->size) : SCLASS_LARGE;
    slot->sclass = (uint8_t)sc;
    if (index) {
        type_entry e = { t, &h->no_bin, index, 0, (uint8_t)sc };
        if (sc != SCLASS_LARGE) {
            e.bytes = rcgc__class_size(sc) - (uint32_t)sizeof(head_t);
            if (e.bytes <= CLEAR_INLINE_MAX)
                e.bin = &h->bins[sc];
        }
        type_hash_insert(h->type_hash, h->type_hash_cap, &e);
    }
    return index;
}

/* Makes t, if it is registered, the type of the heap's one-entry cache
   (last_type), which rcgc_new's fast path serves: a look-up in the hash,
   whose entry holds what the cache needs. Returns t's index, or 0 if t is
   not registered. */
static inline __attribute__((always_inline)) uint32_t type_switch(rcgc_heap *h, const rcgc_type *t)
{
    uint32_t i = type_hash_slot(t, h->type_hash_cap);
    for (;;) {
        const type_entry *e = &h->type_hash[i];
        if (e->type == t) {
            h->last_type = t;
            h->last_index = e->index;
            h->last_sclass = e->sclass;
            h->last_bytes = e->bytes;
            h->last_bin = e->bin;
            return e->index;
        }
        if (!e->type)
            return 0;
        i = (i + 1) & (h->type_hash_cap - 1);
    }
}

/* The index of t in the heap's type table, registering it the first time,
   and t in the one-entry cache. 0: memory is short. */
static uint32_t type_index(rcgc_heap *h, const rcgc_type *t)
{
    if (t == h->last_type)
        return h->last_index;
    uint32_t index = type_switch(h, t);
    if (index || !type_register(h, t))
        return index;
    return type_switch(h, t);
}

int rcgc_set_type_flags(rcgc_heap *h, const rcgc_type *type, unsigned flags)
{
    if (!h || !type || (flags & ~RCGC_TYPE_IMMUTABLE))
        return -1;
    uint32_t index = type_index(h, type);
    if (!index)
        return -1;
    type_slot *slot = &h->types[index];
    bool was = (slot->bits & TB_IMMUTABLE) != 0, is = (flags & RCGC_TYPE_IMMUTABLE) != 0;
    if (is && type->traverse && !was) {
        slot->bits |= TB_IMMUTABLE;
        h->immutable_types++;
    } else if (!is && was) {
        slot->bits &= (uint8_t)~TB_IMMUTABLE;
        h->immutable_types--;
    }
    return 0;
}

/* Whether a field of `bytes` bytes at offset `off` is aligned to `align` and
   lies within a payload of `size` bytes. */
static bool field_fits(size_t off, size_t bytes, size_t align, size_t size)
{
    return off % align == 0 && off <= size && size - off >= bytes;
}

int rcgc_set_type_fields(rcgc_heap *h, const rcgc_type *type, const size_t *offsets, size_t n)
{
    if (!h || !type || !type->traverse || (n && !offsets) || n > UINT32_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!field_fits(offsets[i], sizeof(void *), _Alignof(void *), type->size))
            return -1;
    uint32_t index = type_index(h, type);
    if (!index)
        return -1;
    h->types[index].fields = n ? offsets : NULL;
    h->types[index].nfields = (uint32_t)n;
    h->release_index = FIELD_CACHE_NONE;
    return 0;
}

int rcgc_set_type_entries(rcgc_heap *h, const rcgc_type *type, size_t count_offset, size_t items_offset,
                          size_t entry_size, size_t refs_offset, size_t refs, unsigned flags)
{
    unsigned form = flags & (RCGC_ITEMS_INLINE | RCGC_ITEMS_ARRAY);
    if (!h || !type || !type->traverse || (flags & ~(RCGC_ITEMS_INLINE | RCGC_ITEMS_ARRAY | RCGC_ITEMS_REVERSE)))
        return -1;
    if (flags && (form == 0 || form == (RCGC_ITEMS_INLINE | RCGC_ITEMS_ARRAY)))
        return -1;
    if (flags && (!field_fits(count_offset, sizeof(size_t), _Alignof(size_t), type->size) ||
                  !field_fits(items_offset, form == RCGC_ITEMS_ARRAY ? sizeof(void **) : 0, _Alignof(void *),
                              type->size)))
        return -1;
    /* An entry's references are aligned in every entry, and lie within it. */
    if (flags && (entry_size % _Alignof(void *) != 0 || entry_size > ITEMS_MAX_ENTRY || refs == 0 ||
                  refs > entry_size / sizeof(void *) ||
                  !field_fits(refs_offset, refs * sizeof(void *), _Alignof(void *), entry_size) ||
                  count_offset > ITEMS_MAX_OFFSET || items_offset > ITEMS_MAX_OFFSET))
        return -1;
    uint32_t index = type_index(h, type);
    if (!index)
        return -1;
    items_layout *l = &h->types[index].items;
    memset(l, 0, sizeof *l);
    if (flags) {
        l->form = (uint8_t)(flags | (entry_size > sizeof(void *) ? ITEMS_ENTRIES : 0));
        l->entry_size = (uint16_t)entry_size;
        l->refs_off = (uint16_t)refs_offset;
        l->refs = (uint16_t)refs;
        l->count_off = (uint32_t)count_offset;
        l->items_off = (uint32_t)items_offset;
    }
    h->release_index = FIELD_CACHE_NONE;
    return 0;
}

int rcgc_set_type_items(rcgc_heap *h, const rcgc_type *type, size_t count_offset, size_t items_offset,
                        unsigned flags)
{
    return rcgc_set_type_entries(h, type, count_offset, items_offset, sizeof(void *), 0, 1, flags);
}

/* ---- Heaps ----------------------------------------------------------------- */

/* Type index 0 marks free blocks; it is never given to an object. */
static const rcgc_type free_block_type = { "free block", 0, NULL, NULL, NULL };

rcgc_heap *rcgc_heap_new(const rcgc_config *config)
{
    rcgc_heap *h = rcgc__heap_alloc(config);
    if (!h)
        return NULL;
    h->debug_stream = config && config->debug_stream ? config->debug_stream : stderr;
    for (int i = 0; i < NUM_GENERATIONS; i++)
        list_init(&h->gen[i].head);
    h->gen0_ref = ref_of(&h->gen[0].head);
    h->last_bin = &h->no_bin;
    h->release_index = FIELD_CACHE_NONE;
    list_init(&h->permanent);
    list_init(&h->unreachable);
    list_init(&h->still_unreachable);
    list_init(&h->wrcb_to_call);
    list_init(&h->seen);
    h->gen[0].threshold = 700;
    h->gen[1].threshold = 10;
    h->gen[2].threshold = 10;
    h->enabled = 1;
#ifdef RCGC_DEBUG
    h->on_leak = config ? config->on_leak : RCGC_LEAKS_REPORT;
#endif
    for (uint32_t k = 0; k < 4; k++)
        h->type_next[k] = k;
    type_register(h, &free_block_type);
    if (h->type_count != 1 || type_register(h, &rcgc__weakref_type) != WEAKREF_TYPE_INDEX) {
        rcgc_heap_free(h);
        return NULL;
    }
    return h;
}

static void destroy_block(rcgc_heap *h, head_t *x, void *arg)
{
    (void)arg;
    const rcgc_type *t = type_of_head(h, x);
    if (t->destroy)
        t->destroy(obj_of(x));
}

void rcgc_heap_free(rcgc_heap *h)
{
    if (!h)
        return;
#ifdef RCGC_DEBUG
    if (h->on_leak != RCGC_LEAKS_IGNORE)
        rcgc__dbg_leak_report(h);
#endif
    rcgc__each_block(h, destroy_block, NULL);
    rcgc__weakref_table_free(h);
    if (h->types)
        rcgc__sys_free(h, h->types, h->type_cap * sizeof *h->types);
    if (h->type_hash)
        rcgc__sys_free(h, h->type_hash, h->type_hash_cap * sizeof *h->type_hash);
    if (h->garbage)
        rcgc__sys_free(h, h->garbage, h->garbage_cap * sizeof *h->garbage);
    if (h->callbacks)
        rcgc__sys_free(h, h->callbacks, h->callback_cap * sizeof *h->callbacks);
    rcgc__heap_release_memory(h);
}

/* ---- Creating objects ------------------------------------------------------ */

/* Clears a payload of at most CLEAR_INLINE_MAX bytes (a multiple of 16) with
   16-byte stores, the smallest sizes tested first. Up to 128 bytes there is
   no loop: two runs of stores that meet or overlap, since a loop of one to
   eight stores ran 0.5 to 1 ns slower or faster depending on where it fell
   in the code. Above 128 bytes, runs of 64 bytes up to the last one, which
   ends with the payload and may overlap the one before it: memset's own
   code for 272 bytes (a 256-byte payload's block under the old size
   classes, of 288 bytes) made eight 64-byte stores that straddle cache
   lines. */
static inline void clear_small(head_t *x, size_t bytes)
{
    char *p = obj_of(x);
    if (bytes <= 32) {
        if (bytes) {
            memset(p, 0, 16);
            if (bytes > 16)
                memset(p + 16, 0, 16);
        }
    } else if (bytes <= 64) {
        memset(p, 0, 32);
        memset(p + bytes - 32, 0, 32);
    } else if (bytes <= 128) {
        memset(p, 0, 64);
        memset(p + bytes - 64, 0, 64);
    } else {
        char *last = p + bytes - 64;
        for (; p < last; p += 64)
            memset(p, 0, 64);
        memset(last, 0, 64);
    }
}

/* Clears a payload of a class in steps of 16 bytes (fine_class), for
   rcgc_new_sized, whose sizes may change from one call to the next: up to 64
   bytes with four 16-byte stores, some of which fall on each other, whatever
   the size, instead of clear_small's tests of the size, which a mix of sizes
   mispredicts (a window of objects of 8 to 64 bytes at random took 0.78 of
   its time, side by side; one of a single size 1.04); larger payloads as
   clear_small clears them. */
static inline void clear_fine(head_t *x, size_t bytes)
{
    char *p = obj_of(x);
    if (bytes <= 64) {
        size_t last = bytes / 16 - 1;   /* the last 16 bytes: 0 to 3 */
        memset(p, 0, 16);
        memset(p + 16 * (last >> 1), 0, 16);
        memset(p + 16 * ((last + 1) >> 1), 0, 16);
        memset(p + 16 * last, 0, 16);
    } else {
        clear_small(x, bytes);
    }
}

/* How fill_object clears a payload. */
enum clear_way {
    CLEAR_ANY,      /* clear_payload */
    CLEAR_SMALL,    /* clear_small: at most CLEAR_INLINE_MAX bytes */
    CLEAR_FINE      /* clear_fine: a class in steps of 16 bytes */
};

/* Clears any payload: clear_small, or memset above CLEAR_INLINE_MAX bytes. */
static inline void clear_payload(head_t *x, size_t bytes)
{
    if (bytes <= CLEAR_INLINE_MAX)
        clear_small(x, bytes);
    else
        memset(obj_of(x), 0, bytes);
}

/* Writes the header of a new object of the type at `index` in block x, whose
   payload of `bytes` it clears (the `clear` way), and tracks a container (the
   index tells: type_kind) when `track`. */
static inline __attribute__((always_inline)) void *fill_object(rcgc_heap *h, head_t *x, uint32_t index, size_t bytes,
                                                                 enum clear_way clear, bool track)
{
    x->refcnt = 1;
    x->info = index << TYPE_SHIFT;      /* no flags, generation 0 */
    if (clear == CLEAR_FINE)
        clear_fine(x, bytes);
    else if (clear == CLEAR_SMALL)
        clear_small(x, bytes);
    else
        clear_payload(x, bytes);
    /* The header is written once: a new block is usually not in the cache,
       and a second write of a word (gen_append's set_gen) waited for it. */
    if ((index & TB_CONTAINER) && track)
        list_append_at(h, x, &h->gen[0].head, h->gen0_ref);
    else
        x->next = x->prev = 0;
    return obj_of(x);
}

/* Makes an object of the type at `index` in block x (not initialised),
   tracked when `track` and a container. */
static inline void *init_object(rcgc_heap *h, head_t *x, uint32_t index, bool track)
{
    if (index & TB_CONTAINER) {
        /* As _PyObject_GC_Link: count the allocation, then maybe collect. The
           new block is not initialised or tracked yet, so it is not examined. */
        gen_list *g0 = &h->gen[0];
        g0->count++;
        if (g0->count > g0->threshold && h->enabled && g0->threshold && !h->collecting) {
            x->info = 0;
            h->collecting = 1;
            rcgc__collect_generations(h);
            h->collecting = 0;
        }
    }
    return fill_object(h, x, index, block_payload(x), CLEAR_ANY, track);
}

static __attribute__((noinline)) void *new_sized(rcgc_heap *h, const rcgc_type *type, size_t payload_bytes, bool track)
{
    if (!h || !type || payload_bytes > SIZE_MAX / 2)
        return NULL;
#ifdef RCGC_DEBUG
    rcgc__dbg_no_traverse(h, track ? "rcgc_new" : "rcgc_new_untracked");
#endif
    uint32_t index = type_index(h, type);
    if (!index)
        return NULL;
    if ((h->types[index].fields || h->types[index].items.form) && payload_bytes < type->size)
        return NULL;    /* the collector would read fields past the payload */
    head_t *x = rcgc__block_alloc(h, sizeof(head_t) + payload_bytes);
    if (!x)
        return NULL;
    return init_object(h, x, index, track);
}

/* rcgc_new's way for everything its fast path does not take, when the type
   is the last one or is not registered yet. */
static __attribute__((noinline)) void *new_general(rcgc_heap *h, const rcgc_type *type, bool track)
{
    if (!h || !type)
        return NULL;
    if (type != h->last_type && !type_index(h, type))
        return NULL;
    /* type_index left the type's index (whose low bits are its kind) and class in the cache. */
    unsigned sc = h->last_sclass;
    if (sc == SCLASS_LARGE)
        return new_sized(h, type, type->size, track);
#ifdef RCGC_DEBUG
    rcgc__dbg_no_traverse(h, track ? "rcgc_new" : "rcgc_new_untracked");
#endif
    head_t *x = block_alloc_class(h, sc);
    if (!x)
        return NULL;
    return init_object(h, x, h->last_index, track);
}

/* The fast path of rcgc_new and rcgc_new_sized: an object of the type
   allocated last, from the first page of `bin` when that has a free block or
   an untouched one, whose allocation cannot start a collection, and whose
   payload of `bytes` (the class's) is cleared: for rcgc_new, at most
   CLEAR_INLINE_MAX bytes, without a call. It calls nothing else, so it
   saves no registers (13 of the 93
   instructions of a container's allocation in binary-trees were the saving
   and restoring that the call of a collection needed). fast_page returns the
   page when the path holds, else NULL; new_in_page then makes the object of
   the type at `index` (h->last_index, read once: the stores into the new
   object could alias it).
   The rest goes to new_slow or new_sized_slow: for another type than the
   last one, they make it the last one (type_switch) and take the fast path
   again; otherwise new_general or new_sized does what init_object does. The
   debug build always goes there. Inlined into the four entry points and into
   new_slow and new_sized_slow, with `track` a constant. */
static inline __attribute__((always_inline)) page_t *fast_page(rcgc_heap *h, const bin_t *bin, uint32_t index)
{
    page_t *p = bin->pages;
    if (!p)
        return NULL;
    /* init_object's condition for a collection cannot hold, and the page
       has a free block or an untouched one. */
    const gen_list *g0 = &h->gen[0];
    if ((!(index & TB_CONTAINER) || g0->count < g0->threshold || !h->enabled) && page_has_block(p))
        return p;
    return NULL;
}

static inline __attribute__((always_inline)) void *new_in_page(rcgc_heap *h, page_t *p, uint32_t index, size_t bytes,
                                                                enum clear_way clear, bool track)
{
    void *obj = fill_object(h, page_take(p), index, bytes, clear, track);
    if (index & TB_CONTAINER)
        h->gen[0].count++;
    return obj;
}

static __attribute__((noinline)) void *new_slow(rcgc_heap *h, const rcgc_type *type, bool track);
static __attribute__((noinline)) void *new_sized_slow(rcgc_heap *h, const rcgc_type *type, size_t payload_bytes,
                                                      bool track);

static inline __attribute__((always_inline)) void *new_object(rcgc_heap *h, const rcgc_type *type, bool track)
{
#ifndef RCGC_DEBUG
    /* A NULL type matches only before the first allocation, when last_bin
       is no_bin. */
    if (h && type == h->last_type) {
        uint32_t index = h->last_index;
        page_t *p = fast_page(h, h->last_bin, index);
        if (p)
            return new_in_page(h, p, index, h->last_bytes, CLEAR_SMALL, track);
    }
#endif
    return new_slow(h, type, track);
}

/* rcgc_new_sized's way: the fast path when the type is the one allocated
   last and the block is small (at most 8192 bytes), for a payload of at
   least the type's size (which a type with fields at known offsets needs).
   Up to 512 bytes the class is the block's size rounded up to 16 bytes and
   its payload is cleared with clear_fine; above, eight classes per power of
   two, the payload cleared with memset. Otherwise new_sized_slow (new_sized
   finds the type's index and the class in calls: 120 instructions for an
   allocation of 8 to 64 bytes, against 60 on this path). */
static inline __attribute__((always_inline)) void *new_sized_object(rcgc_heap *h, const rcgc_type *type,
                                                                     size_t payload_bytes, bool track)
{
#ifndef RCGC_DEBUG
    if (h && type && type == h->last_type && payload_bytes <= SMALL_MAX - sizeof(head_t) &&
        payload_bytes >= type->size) {
        uint32_t index = h->last_index;
        size_t block = sizeof(head_t) + payload_bytes;
        if (block <= FINE_MAX) {
            unsigned sc = fine_class(block);
            page_t *p = fast_page(h, &h->bins[sc], index);
            if (p)
                return new_in_page(h, p, index, (size_t)(sc + 1) * 16, CLEAR_FINE, track);
        } else {
            page_t *p = fast_page(h, &h->bins[coarse_class(block)], index);
            if (p)
                return new_in_page(h, p, index, p->block_size - sizeof(head_t), CLEAR_ANY, track);
        }
    }
#endif
    return new_sized_slow(h, type, payload_bytes, track);
}

/* The ways out of the fast paths. A program that allocates several types in
   turn changes the last type at most allocations: since the type's entry in
   the hash holds what the fast path needs, the change costs a look-up and
   five stores, and the fast path runs again, without saving a register. A
   window of 1,000 objects of two types in turn took 131 instructions per
   release and allocation, against 94 with one type and 191 when the change
   went through type_index and new_general (0.67 of the time side by side;
   three types in turn 0.54). */
static __attribute__((noinline)) void *new_slow(rcgc_heap *h, const rcgc_type *type, bool track)
{
#ifndef RCGC_DEBUG
    if (h && type && type != h->last_type && type_switch(h, type))
        return new_object(h, type, track);
#endif
    return new_general(h, type, track);
}

static __attribute__((noinline)) void *new_sized_slow(rcgc_heap *h, const rcgc_type *type, size_t payload_bytes,
                                                      bool track)
{
#ifndef RCGC_DEBUG
    if (h && type && type != h->last_type && type_switch(h, type))
        return new_sized_object(h, type, payload_bytes, track);
#endif
    return new_sized(h, type, payload_bytes, track);
}

RCGC_HOT_ENTRY void *rcgc_new(rcgc_heap *h, const rcgc_type *type)
{
    return new_object(h, type, true);
}

RCGC_HOT_ENTRY void *rcgc_new_untracked(rcgc_heap *h, const rcgc_type *type)
{
    return new_object(h, type, false);
}

RCGC_HOT_ENTRY void *rcgc_new_sized(rcgc_heap *h, const rcgc_type *type, size_t payload_bytes)
{
    return new_sized_object(h, type, payload_bytes, true);
}

RCGC_HOT_ENTRY void *rcgc_new_sized_untracked(rcgc_heap *h, const rcgc_type *type, size_t payload_bytes)
{
    return new_sized_object(h, type, payload_bytes, false);
}

rcgc_heap *rcgc_heap_of(const void *obj)
{
    return heap_of(obj);
}

const rcgc_type *rcgc_type_of(const void *obj)
{
    const head_t *x = head_of(obj);
    return type_of_head(heap_of(obj), x);
}

size_t rcgc_size_of(const void *obj)
{
    return block_payload(head_of(obj));
}

/* ---- Reference counts ------------------------------------------------------ */

size_t rcgc_refcount(const void *obj)
{
    const head_t *x = head_of(obj);
    if (x->info & F_IMMORTAL)
        return RCGC_IMMORTAL_REFCOUNT;
    return x->refcnt;
}

void rcgc_set(void **slot, void *value)
{
#ifdef RCGC_DEBUG
    rcgc__dbg_store(slot, value);
#endif
    void *old = *slot;
    if (value)
        rcgc_incref(value);
    *slot = value;
    if (old)
        rcgc_decref(old);
}

void rcgc_clear(void **slot)
{
#ifdef RCGC_DEBUG
    rcgc__dbg_store(slot, NULL);
#endif
    void *old = *slot;
    if (old) {
        *slot = NULL;
        rcgc_decref(old);
    }
}

/* Whether x is a weak reference waiting for its callback in a collection
   (weakref.c): its generation bits then say whether it is tracked. */
static bool waits_for_callback(const head_t *x)
{
    return x->next && (x->info >> TYPE_SHIFT) == WEAKREF_TYPE_INDEX && rcgc__weakref_waiting(obj_of(x));
}

void rcgc_make_immortal(void *obj)
{
    head_t *x = head_of(obj);
    rcgc_heap *h = heap_of(obj);
    if (x->info & F_IMMORTAL)
        return;
    if (waits_for_callback(x))
        set_gen(x, WRCB_UNTRACKED);
    else if (x->next && !(x->info & F_PENDING))
        list_remove(h, x);
    /* Untracked, it leaves any collection in progress. */
    x->info = (x->info & ~(uint32_t)(F_COLLECTING | F_UNREACHABLE)) | F_IMMORTAL;
    x->refcnt = RCGC_IMMORTAL_BASE;
}

bool rcgc_is_immortal(const void *obj)
{
    return (head_of(obj)->info & F_IMMORTAL) != 0;
}

/* ---- Release at zero ------------------------------------------------------- */

/* How deep releases of containers nest before the next one waits in the trash
   list (CPython's _PyTrash_UNWIND_LEVEL). */
#define TRASH_LIMIT 50

/* A container in the trash list links to the next through its own next/prev
   words (it is untracked, and F_PENDING tells the link from list links). */
static inline void trash_set(head_t *x, head_t *link)
{
    memcpy(&x->next, &link, sizeof link);
}

static inline head_t *trash_get(const head_t *x)
{
    head_t *link;
    memcpy(&link, &x->next, sizeof link);
    return link;
}

/* The visitor that clears a field and drops its reference; its argument
   names the object whose fields these are. A count that reaches 0 releases
   its object before the visitor returns (so before the next field), as
   rcgc_decref does; a plain leaf or a plain container, which nobody can watch
   die, is released on the spot, without rcgc__dealloc's checks. */
typedef struct release_ctx {
    rcgc_heap *h;
    const head_t *container;
} release_ctx;

#ifndef RCGC_DEBUG
static void release_plain(rcgc_heap *h, head_t *x);
#endif
static void release_trash(rcgc_heap *h);

/* x's count reached 0: it is untracked (and so leaves any collection in
   progress, as in CPython) and takes the flags of a dying object. */
static inline void untrack_dying(rcgc_heap *h, head_t *x, uint32_t info, uint32_t flags)
{
    if (x->next)
        list_remove(h, x);
    x->info = (info & ~(uint32_t)(F_COLLECTING | F_UNREACHABLE | F_FROZEN)) | flags;
}

/* The end of one nested container release: when the outermost ends, the
   trash list is released. */
static inline void leave_release(rcgc_heap *h)
{
    if (--h->trash_nesting == 0 && h->trash_later)
        release_trash(h);
}

#ifndef RCGC_DEBUG
/* Drops a reference to v (not NULL). An object that dies is released, except
   a plain container that release_plain can release: that one is untracked,
   counted as one more level of nesting and returned, for the caller to
   release. */
static inline __attribute__((always_inline)) head_t *drop_ref(rcgc_heap *h, void *v)
{
    head_t *y = head_of(v);
    if (--y->refcnt != 0)
        return NULL;
    uint32_t info = y->info;
    unsigned kind = type_kind(y);
    if (!(info & (F_PENDING | F_WEAKREFS | F_IMMORTAL))) {
        if (!kind) {
            block_free(h, y);
            return NULL;
        }
        if (kind == TB_CONTAINER && h->trash_nesting < TRASH_LIMIT) {
            untrack_dying(h, y, info, F_PENDING | F_RELEASING);
            h->trash_nesting++;
            return y;
        }
    }
    rcgc__dealloc(v);
    return NULL;
}

/* drop_ref for the reference in *slot, which it clears. */
static inline __attribute__((always_inline)) head_t *drop_field(rcgc_heap *h, void **slot)
{
    void *v = *slot;
    *slot = NULL;
    return drop_ref(h, v);
}

/* Releases y, the plain container drop_ref or drop_field returned (if any),
   as one nested release. */
static inline void release_nested(rcgc_heap *h, head_t *y)
{
    if (y) {
        release_plain(h, y);
        leave_release(h);               /* outermost when the collector's clear began it */
    }
}
#endif

static inline void release_ref(void **slot, void *arg)
{
    const release_ctx *c = arg;
    if (!*slot)
        return;
#ifdef RCGC_DEBUG
    void *v = *slot;
    *slot = NULL;
    rcgc__dbg_visited(c->h, c->container, v);
    rcgc_decref(v);
#else
    release_nested(c->h, drop_field(c->h, slot));
#endif
}

/* The debug build checks the items as they are now before each drop: a
   drop may have run code that took them away or freed their array. */
#ifdef RCGC_DEBUG
static void dbg_items_now(const release_ctx *c, char *obj, unsigned form, size_t count_off, size_t items_off)
{
    size_t n = items_count(obj, count_off);
    if (n)
        rcgc__dbg_items(c->h, c->container, n, items_base(obj, form, items_off));
}
#define ITEMS_NOW(c, obj, form, count_off, items_off) dbg_items_now(c, obj, form, count_off, items_off)
#else
#define ITEMS_NOW(c, obj, form, count_off, items_off) ((void)0)
#endif

/* Releases the items of obj (rcgc_set_type_items) in traverse order: those
   it has when the release begins. The drops run code, which may take items
   away or move the array, so the count and the array's address are read
   again before each one: the release never reads past the count or from an
   array the program freed. Out of line, so that the releases of containers
   with fields alone keep their registers. */
static __attribute__((noinline)) void release_items(char *obj, unsigned form, size_t count_off, size_t items_off,
                                                    release_ctx *c)
{
    size_t n = items_count(obj, count_off);
    if (form & RCGC_ITEMS_REVERSE) {
        for (size_t i = n; i > 0;) {
            i--;
            ITEMS_NOW(c, obj, form, count_off, items_off);
            release_ref((void **)items_base(obj, form, items_off) + i, c);
            size_t now = items_count(obj, count_off);
            if (i > now)
                i = now;
        }
    } else {
        for (size_t i = 0; i < n && i < items_count(obj, count_off); i++) {
            ITEMS_NOW(c, obj, form, count_off, items_off);
            release_ref((void **)items_base(obj, form, items_off) + i, c);
        }
    }
}

/* Reference j of entry i, from the array as it is now. */
static inline void **entry_ref(char *obj, items_layout l, size_t i, uint32_t j)
{
    return (void **)(items_base(obj, l.form, l.items_off) + i * l.entry_size + l.refs_off) + j;
}

/* release_items for entries of more than one word (rcgc_set_type_entries):
   the references of each entry, in traverse order. An entry taken away while
   its references are being dropped is passed over whole: the release goes on
   with the last entry left (in reverse) or stops (forward). A function of
   its own, so that the release of a list's items runs the code it ran
   before entries existed (with the two in one function, 13% slower per
   item). */
static __attribute__((noinline)) void release_entries(char *obj, items_layout l, release_ctx *c)
{
    size_t n = items_count(obj, l.count_off);
    if (l.form & RCGC_ITEMS_REVERSE) {
        for (size_t i = n; i > 0;) {
            i--;
            for (uint32_t j = l.refs; j > 0;) {
                j--;
                ITEMS_NOW(c, obj, l.form, l.count_off, l.items_off);
                release_ref(entry_ref(obj, l, i, j), c);
                size_t now = items_count(obj, l.count_off);
                if (i >= now) {
                    i = now;    /* entry i is gone: go on from the last one left */
                    break;
                }
            }
        }
    } else {
        for (size_t i = 0; i < n; i++)
            for (uint32_t j = 0; j < l.refs; j++) {
                if (i >= items_count(obj, l.count_off))
                    return;
                ITEMS_NOW(c, obj, l.form, l.count_off, l.items_off);
                release_ref(entry_ref(obj, l, i, j), c);
            }
    }
}

/* Releases x's fields (see release_ref), inlined into each release so that
   a level of nesting is one call. */
static inline __attribute__((always_inline)) void release_fields(rcgc_heap *h, head_t *x)
{
    /* Not each_field: the drops run finalizers, callbacks and destroys, which
       may do anything a program does, so this is not one of the collector's
       traversals (the debug build forbids allocating in those). */
    release_ctx c = { h, x };
    const type_slot *t = &h->types[x->info >> TYPE_SHIFT];
    char *obj = obj_of(x);
    if (!t->fields && !t->items.form) {
        t->type->traverse(obj, release_ref, &c);
        return;
    }
    /* The layout is read before the first drop runs code that may register
       a type and move the table. */
    items_layout items = t->items;
    if (t->fields)
        visit_offsets(obj, t->fields, t->nfields, release_ref, &c);
    if (items.form & ITEMS_ENTRIES)
        release_entries(obj, items, &c);
    else if (items.form)
        release_items(obj, items.form, items.count_off, items.items_off, &c);
}

#ifndef RCGC_DEBUG
/* release_fields for release_plain: the fields but the last are released as
   release_fields does. If the last one's object dies and would be released by
   a nested release_plain, it is returned (drop_field) to be released by the
   caller's loop instead; otherwise NULL. */
static inline __attribute__((always_inline)) head_t *release_fields_but_last(rcgc_heap *h, head_t *x,
                                                                             const type_slot *t)
{
    release_ctx c = { h, x };
    char *obj = obj_of(x);
    if (!t->fields || t->items.form) {
        release_fields(h, x);
        return NULL;
    }
    const size_t *fields = t->fields;
    uint32_t n = t->nfields;
    for (uint32_t i = 0; i + 1 < n; i++)
        release_ref((void **)(obj + fields[i]), &c);
    void **last = (void **)(obj + fields[n - 1]);
    return *last ? drop_field(h, last) : NULL;
}

/* For release_plain: when the type at `index` has one or two fields at known
   offsets, reads them from obj into *first and *last (*first NULL for one
   field) and returns true; otherwise false. The offsets of the last
   two-field type come from the heap's cache, without the chain of loads
   through the type's slot and offsets array that started at each object's
   header. */
static inline __attribute__((always_inline)) bool read_few_fields(rcgc_heap *h, uint32_t index, char *obj,
                                                                  void **first, void **last)
{
    if (index == h->release_index) {
        *first = *(void **)(obj + h->release_off0);
        *last = *(void **)(obj + h->release_off1);
        return true;
    }
    const type_slot *t = &h->types[index];
    if (!t->fields || t->nfields > 2 || t->items.form)
        return false;
    *first = NULL;
    if (t->nfields == 2) {
        h->release_index = index;
        h->release_off0 = t->fields[0];
        h->release_off1 = t->fields[1];
        *first = *(void **)(obj + t->fields[0]);
    }
    *last = *(void **)(obj + t->fields[t->nfields - 1]);
    return true;
}
#endif

/* The frames of release_plain's own stack (see release_plain_body). */
#define RELEASE_FRAMES 8

/* Releases x, a dead plain container (no finalizer, destroy or weak
   references): its fields, then its memory. The release of its last field's
   object, when that is a plain container too, is not a nested call but the
   next turn of the loop: a list or the right spine of a tree is released
   without a call per object (which saved and restored six registers). A
   container of one or two fields at known offsets is freed before anything
   else, its fields read first: nothing of x has to live across the release
   of its first field's object, and no field is cleared in memory about to
   be freed (binary-trees 0.387 -> 0.362 s, with mutable nodes 0.447 ->
   0.403, side by side; 2.5% fewer instructions). Nothing refers to x any
   more, so the early free shows only in what a walk of every block
   (rcgc_dump_dot, the memory statistics) would see from a finalizer run in
   the meantime, where an allocation may also take x's block. The nesting
   count goes up at each turn as it would with the calls, so the trash list
   takes the same objects as before; and generation 0's count goes down for
   the objects of a chain when the chain ends, where the calls would return
   one after the other, so that a finalizer run down the chain sees the
   count CPython's would (each container still counted until its last
   field's release is over, as in PyObject_GC_Del after the items).
   With `frames`, the release of such a container's first field's object,
   when that is a plain container too, is no call either: the loop goes on
   with it, and keeps what is left of x (its last field, and the turns of
   x's chain) in a frame of its own stack, which it takes back when that
   object's chain ends. The objects are released in the order nested calls
   would release them, with the same nesting count at each step. The stack
   holds RELEASE_FRAMES frames; a release that goes deeper makes a call
   again, whose loop has frames of its own: a tree's release makes one call
   for every RELEASE_FRAMES levels it goes down its first fields. Frames
   for all the 50 levels the nesting allows would take 800 bytes of C stack
   in every release_plain, also in the nested calls that the releases of
   containers read through their traverse make at every level. Without
   `frames` (inlined into dealloc_plain, where every plain container's
   release starts: with frames there, a container released through its
   traverse ran 5 more instructions), that release is a call of
   release_plain, which has them. The debug build has neither. */
static inline __attribute__((always_inline)) void release_plain_body(rcgc_heap *h, head_t *x, bool frames)
{
#ifdef RCGC_DEBUG
    (void)frames;
    release_fields(h, x);
    uncount_container(h);
    block_free(h, x);
#else
    struct {
        void *last;
        unsigned turns;
    } stack[RELEASE_FRAMES];
    unsigned depth = 0, turns = 0;
    for (;;) {
        uint32_t index = x->info >> TYPE_SHIFT;
        void *first, *last;
        head_t *next;
        if (read_few_fields(h, index, obj_of(x), &first, &last)) {
            block_free(h, x);
            if (first) {
                head_t *y = drop_ref(h, first);
                if (y && frames && depth < RELEASE_FRAMES) {
                    stack[depth].last = last;
                    stack[depth].turns = turns;
                    depth++;
                    turns = 0;
                    x = y;
                    continue;
                }
                release_nested(h, y);
            }
            next = last ? drop_ref(h, last) : NULL;
        } else {
            next = release_fields_but_last(h, x, &h->types[index]);
            block_free(h, x);
        }
        while (!next && depth) {
            /* The chain of the first field's object has ended: its
               objects' releases are over (uncounted), its turns and its
               own level end with it (release_nested's leave_release, which
               cannot reach 0 here), and the release of the container that
               held it goes on with its last field. */
            uncount_containers(h, turns + 1);
            h->trash_nesting -= turns + 1;
            depth--;
            turns = stack[depth].turns;
            last = stack[depth].last;
            next = last ? drop_ref(h, last) : NULL;
        }
        if (!next)
            break;
        x = next;
        turns++;
    }
    uncount_containers(h, turns + 1);   /* the chain of the x this call was given */
    /* Never reaches 0: the caller's own level is still counted. */
    h->trash_nesting -= turns;
#endif
}

#ifndef RCGC_DEBUG
static void release_plain(rcgc_heap *h, head_t *x)
{
    release_plain_body(h, x, true);
}
#endif

/* The last steps of a release for good, once x's fields are released: its
   destroy (a weak reference leaves its referent's list first), its memory. */
static inline __attribute__((always_inline)) void free_dead(rcgc_heap *h, head_t *x, unsigned bits)
{
    if (bits & TB_HOOKS) {
        const rcgc_type *t = type_of_head(h, x);
        void *obj = obj_of(x);
        if ((x->info >> TYPE_SHIFT) == WEAKREF_TYPE_INDEX)
            rcgc__weakref_unlink(h, obj);
        if (t->destroy)
            t->destroy(obj);
    }
    block_free(h, x);
}

/* The end of a release for good: x is dead (F_RELEASING); its weak
   references are cleared, its fields released, its memory freed. */
static inline __attribute__((always_inline)) void release_dead(rcgc_heap *h, head_t *x, unsigned bits)
{
    if (x->info & F_WEAKREFS)
        rcgc__clear_weakrefs_and_call(h, x);
    if (bits & TB_CONTAINER) {
        release_fields(h, x);
        uncount_container(h);
    }
    free_dead(h, x, bits);
}

void rcgc__release_garbage(rcgc_heap *h, head_t *x)
{
    void *obj = obj_of(x);
    rcgc_incref(obj);
    release_fields(h, x);
    uint32_t info = x->info;
    unsigned bits = type_bits(h, x);
    if (x->refcnt == 1 && !(info & F_WEAKREFS) && (!(bits & TB_FINALIZE) || (info & F_FINALIZED))) {
        /* What rcgc_decref would come to through dealloc_watched, release
           and release_dead, whose fields are already released. */
        untrack_dying(h, x, info, F_PENDING | F_RELEASING);
        x->refcnt = 0;
        h->trash_nesting++;
        uncount_container(h);
        free_dead(h, x, bits);
        leave_release(h);
        return;
    }
    rcgc_decref(obj);
}

/* Releases x: count 0, untracked, F_PENDING. As subtype_dealloc: the
   finalizer first (at most once, PEP 442), with the object tracked again and
   holding a temporary reference, anything left afterwards meaning
   resurrection; then the release for good. As PyObject_CallFinalizer, the
   object is marked finalized when its finalizer returns (a collection marks
   it before the call). */
static inline __attribute__((always_inline)) void release(rcgc_heap *h, head_t *x, unsigned bits)
{
    if ((bits & TB_FINALIZE) && !(x->info & F_FINALIZED)) {
        x->info &= ~(uint32_t)F_PENDING;
        if (bits & TB_CONTAINER)
            gen_append(h, x, 0);
        x->refcnt = 1;
        type_of_head(h, x)->finalize(obj_of(x));
        x->info |= F_FINALIZED;
        if (--x->refcnt != 0)
            return;
        if (x->next)
            list_remove(h, x);
        x->info |= F_PENDING;
    }
    x->info |= F_RELEASING;
    release_dead(h, x, bits);
}

/* Releases the containers of the trash list, newest first, each as if one
   release were running (CPython's _PyTrash_thread_destroy_chain): what they
   release nests from there, and what nests too deep joins the list. */
static void release_trash(rcgc_heap *h)
{
    head_t *x;
    h->trash_nesting = 1;
    while ((x = h->trash_later) != NULL) {
        h->trash_later = trash_get(x);
        trash_set(x, NULL);
        h->trash_nesting++;
        release(h, x, type_bits(h, x));
        h->trash_nesting--;
    }
    h->trash_nesting = 0;
}

/* x, dying, waits in the trash list: its release would nest too deep. */
static inline void defer_to_trash(rcgc_heap *h, head_t *x)
{
    trash_set(x, h->trash_later);
    h->trash_later = x;
}

/* The release of an object whose death can be watched (a finalizer, a destroy
   or weak references): out of line, so that the leaf's (rcgc__dealloc) does
   not save and restore the registers this one needs (0.8 ns of a 6-7 ns
   allocation and release). */
static __attribute__((noinline)) void dealloc_watched(rcgc_heap *h, head_t *x, uint32_t info, unsigned bits)
{
    untrack_dying(h, x, info, F_PENDING);
    /* A leaf releases nothing, and neither does a weak reference: no
       nesting. A weak reference never waits in the trash list, as CPython's
       weakref_dealloc has no trashcan: it is cleared at once, so that its
       referent's death never finds it at count 0 and calls its callback. */
    if (!(bits & TB_CONTAINER) || (info >> TYPE_SHIFT) == WEAKREF_TYPE_INDEX) {
        release(h, x, bits);
        return;
    }
    if (h->trash_nesting >= TRASH_LIMIT) {
        defer_to_trash(h, x);
        return;
    }
    h->trash_nesting++;
    release(h, x, bits);
    leave_release(h);
}

/* The release of a plain container, which its header tells apart without
   the type table that dealloc_watched reads, and released by
   release_plain's body inlined: the allocation and release of a container
   with a 16-byte payload went from 12.6 to 11.7 ns one at a time, and from
   12.4 to 11.1 in a sliding window, with the type table skipped; with the
   body inlined, to 10.8 and 10.5. */
static __attribute__((noinline)) void dealloc_plain(rcgc_heap *h, head_t *x, uint32_t info)
{
    if (h->trash_nesting >= TRASH_LIMIT) {
        untrack_dying(h, x, info, F_PENDING);
        defer_to_trash(h, x);
        return;
    }
    untrack_dying(h, x, info, F_PENDING | F_RELEASING);
    h->trash_nesting++;
    release_plain_body(h, x, false);
    leave_release(h);
}

RCGC_HOT_ENTRY void rcgc__dealloc(void *obj)
{
    head_t *x = head_of(obj);
    rcgc_heap *h = heap_of(obj);
    uint32_t info = x->info;
    if (info & (F_PENDING | F_IMMORTAL)) {
        /* In the trash list, or its release has begun; or immortal, whose
           count came down from RCGC_IMMORTAL_BASE after 2^31 more decrefs
           than increfs, or wrapped after as many increfs: it starts over. */
        if (info & F_IMMORTAL)
            x->refcnt = RCGC_IMMORTAL_BASE;
        return;
    }
    if (!(info & (TYPE_KIND_MASK | F_WEAKREFS))) {
        /* A leaf that nothing can watch die (no finalizer, destroy or weak
           reference): its release is its free. */
        block_free(h, x);
        return;
    }
    if (is_plain_container(info)) {
        dealloc_plain(h, x, info);
        return;
    }
    dealloc_watched(h, x, info, type_bits(h, x));
}

/* ---- Tracking -------------------------------------------------------------- */

void rcgc_track(void *obj)
{
    head_t *x = head_of(obj);
    rcgc_heap *h = heap_of(obj);
    if (x->info & (F_IMMORTAL | F_PENDING))
        return;
    if (waits_for_callback(x)) {
        if (gen_of(x) == WRCB_UNTRACKED)
            set_gen(x, 0);
        return;
    }
    if (x->next || !is_container(h, x))
        return;
    gen_append(h, x, 0);
}

void rcgc_untrack(void *obj)
{
    head_t *x = head_of(obj);
    if (waits_for_callback(x)) {
        set_gen(x, WRCB_UNTRACKED);
        return;
    }
    if (x->next && !(x->info & F_PENDING)) {
        list_remove(heap_of(obj), x);
        /* As in CPython, it leaves any collection in progress. */
        x->info &= ~(uint32_t)(F_COLLECTING | F_UNREACHABLE);
    }
}

bool rcgc_is_tracked(const void *obj)
{
    const head_t *x = head_of(obj);
    if (waits_for_callback(x))
        return gen_of(x) != WRCB_UNTRACKED;
    return x->next != 0 && !(x->info & F_PENDING);
}

bool rcgc_is_finalized(const void *obj)
{
    return (head_of(obj)->info & F_FINALIZED) != 0;
}
