/*
 * The debug build's misuse checks (cmake -DRCGC_DEBUG=ON).
 *
 * A wrong reference count in an embedder's code shows up as a use-after-free
 * far from its cause. The debug build catches the usual causes where they
 * happen and aborts with a message that names the check, the object's address,
 * its type and its allocation number:
 *
 *   decref-zero       decref of an object whose count is already zero
 *   freed-object      incref, decref or store of a freed object, or a traverse
 *                     that visits one
 *   bad-object        incref, decref or store of something whose header does
 *                     not carry the check value
 *   cross-heap        an object of one heap stored into an object of another
 *   not-an-object     a traverse visits something that is not an rcgc object
 *   gc-refs-negative  at collection, an object with more references from
 *                     containers than its count
 *   tracked-zero      at collection, a tracked object whose count is zero
 *   collect-in-traverse  a collection (or an allocation) started from inside
 *                     a traverse function
 *   refcount-overflow an increment past 2^32 - 1
 * and, at rcgc_heap_free, a leak summary of the objects still referenced from
 * outside the heap (an abort only with rcgc_config.on_leak = RCGC_LEAKS_ABORT).
 *
 * How it knows. Every header carries a check word: RCGC__CHECK_LIVE while the
 * object lives, RCGC__CHECK_FREED once its block is freed, when the payload is
 * also filled with 0xDB and the old type is kept in freed_info for messages.
 * Each heap keeps the set of its region bases (a hash set of 64 KiB-aligned
 * addresses), so whether an address lies in one of its pages is a lookup that
 * touches nothing else. An address outside the heap is read through the
 * kernel (peek), never directly, and is another heap's object only if its
 * page header points to a heap whose region table lists that page.
 */
#define _GNU_SOURCE
#include "internal.h"

#ifdef RCGC_DEBUG

#include <stdarg.h>
#include <stdlib.h>
#if defined(__linux__)
#include <errno.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#endif

/* ---- The region set ---------------------------------------------------------- */

static size_t region_slot(const char *base, size_t cap)
{
    uint64_t k = (uint64_t)((uintptr_t)base >> PAGE_SHIFT) * 0x9E3779B97F4A7C15ull;
    return (size_t)(k >> 32) & (cap - 1);
}

static bool region_member(const rcgc_heap *h, const char *base)
{
    if (!h->dbg_regions_cap)
        return false;
    for (size_t i = region_slot(base, h->dbg_regions_cap);; i = (i + 1) & (h->dbg_regions_cap - 1)) {
        if (h->dbg_regions[i] == base)
            return true;
        if (!h->dbg_regions[i])
            return false;
    }
}

static void region_insert(char **tab, size_t cap, char *base)
{
    size_t i = region_slot(base, cap);
    while (tab[i])
        i = (i + 1) & (cap - 1);
    tab[i] = base;
}

int rcgc__dbg_region_add(rcgc_heap *h, char *base)
{
    if ((h->dbg_regions_count + 1) * 2 > h->dbg_regions_cap) {
        size_t ncap = h->dbg_regions_cap ? h->dbg_regions_cap * 2 : 64;
        char **tab = rcgc__sys_alloc(h, ncap * sizeof *tab, 16);
        if (!tab)
            return -1;
        memset(tab, 0, ncap * sizeof *tab);
        for (size_t i = 0; i < h->dbg_regions_cap; i++)
            if (h->dbg_regions[i])
                region_insert(tab, ncap, h->dbg_regions[i]);
        if (h->dbg_regions)
            rcgc__sys_free(h, h->dbg_regions, h->dbg_regions_cap * sizeof *tab);
        h->dbg_regions = tab;
        h->dbg_regions_cap = ncap;
    }
    region_insert(h->dbg_regions, h->dbg_regions_cap, base);
    h->dbg_regions_count++;
    return 0;
}

/* Removal with backward shifting, so that lookups need no tombstones. */
void rcgc__dbg_region_remove(rcgc_heap *h, char *base)
{
    size_t cap = h->dbg_regions_cap, i = region_slot(base, cap);
    while (h->dbg_regions[i] != base)
        i = (i + 1) & (cap - 1);
    h->dbg_regions[i] = NULL;
    h->dbg_regions_count--;
    for (size_t j = (i + 1) & (cap - 1); h->dbg_regions[j]; j = (j + 1) & (cap - 1)) {
        size_t home = region_slot(h->dbg_regions[j], cap);
        /* The entry at j may move to the hole at i unless its home lies
           cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            h->dbg_regions[i] = h->dbg_regions[j];
            h->dbg_regions[j] = NULL;
            i = j;
        }
    }
}

void rcgc__dbg_regions_free(rcgc_heap *h)
{
    if (h->dbg_regions)
        rcgc__sys_free(h, h->dbg_regions, h->dbg_regions_cap * sizeof *h->dbg_regions);
    h->dbg_regions = NULL;
    h->dbg_regions_cap = h->dbg_regions_count = 0;
}

/* ---- Reporting --------------------------------------------------------------- */

static const char *type_name_of(const head_t *x, uint32_t info)
{
    const page_t *p = page_of(x);
    const rcgc_heap *h = p->heap;
    uint32_t index = info >> TYPE_SHIFT;
    if (index == 0 || index >= h->type_count || !h->types[index].type)
        return "?";
    const char *name = h->types[index].type->name;
    return name ? name : "?";
}

/* Prints "rcgc: check failed [NAME]: what" and the object's identity, then
   aborts. x may be NULL when there is no object to name. */
static _Noreturn void fail(const char *check, const head_t *x, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "rcgc: check failed [%s]: ", check);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (x) {
        bool freed = x->check == RCGC__CHECK_FREED;
        fprintf(stderr, "rcgc:   object %p of type '%s', allocation #%u%s\n", obj_of(x),
                type_name_of(x, freed ? x->freed_info : x->info), (unsigned)x->serial,
                freed ? ", freed" : "");
    }
    fflush(stderr);
    abort();
}

/* ---- Blocks ------------------------------------------------------------------- */

void rcgc__dbg_block_alloc(rcgc_heap *h, head_t *x)
{
    x->check = RCGC__CHECK_LIVE;
    x->freed_info = 0;
    x->serial = ++h->serial;
    x->reserved = 0;
}

void rcgc__dbg_block_free(head_t *x, size_t block_bytes)
{
    x->freed_info = x->info;
    x->check = RCGC__CHECK_FREED;
    memset(x + 1, 0xDB, block_bytes - sizeof *x);
}

/* ---- Telling objects from other memory ---------------------------------------- */

/* Whether [p, p + n) is mapped, asked of the kernel without reading it,
   and under AddressSanitizer addressable: an address below a slot in memory
   that is not the library's (a malloc'd array of items, a global) may fall
   in another allocation's red zone. The library never poisons its page
   headers or heaps, only blocks. */
static bool mapped(const void *p, size_t n)
{
#ifdef RCGC_ASAN
    if (__asan_region_is_poisoned((void *)(uintptr_t)p, n))
        return false;
#endif
#if defined(__linux__)
    long pagesize = sysconf(_SC_PAGESIZE);
    uintptr_t mask = (uintptr_t)(pagesize > 0 ? pagesize : 4096) - 1;
    uintptr_t start = (uintptr_t)p & ~mask, end = ((uintptr_t)p + n + mask) & ~mask;
    unsigned char vec[64];
    for (uintptr_t a = start; a < end; a += 64 * (mask + 1)) {
        size_t len = end - a < 64 * (mask + 1) ? end - a : 64 * (mask + 1);
        if (mincore((void *)a, len, vec) != 0)
            return false;
    }
    return true;
#else
    (void)p;
    (void)n;
    return true;
#endif
}

/* Copies the n bytes at p into out if they can be read, without this
   thread touching them: the kernel reads them (process_vm_readv), so an
   address in a guard page, in unmapped memory or in another allocation's
   AddressSanitizer red zone gives false, not a fault or a report. Where the
   call is refused, whether the pages are mapped is asked (mincore), and they
   are read. */
static bool peek(void *out, const void *p, size_t n)
{
#if defined(__linux__)
    struct iovec local = { out, n }, remote = { (void *)(uintptr_t)p, n };
    ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    if (got == (ssize_t)n)
        return true;
    if (got >= 0 || errno == EFAULT || !mapped(p, n))
        return false;
#endif
    memcpy(out, p, n);
    return true;
}

/* The page of some heap's small or large region that holds p, or NULL. */
static page_t *find_page(rcgc_heap *h, const void *p)
{
    page_t *pg = page_of(p);
    if (h && region_member(h, (const char *)pg))
        return pg;
    page_t copy, heap_page;
    if (!peek(&copy, pg, sizeof copy))
        return NULL;
    rcgc_heap *other = copy.heap;
    if (!other || ((uintptr_t)other & (PAGE_SIZE - 1)) || !peek(&heap_page, other, sizeof heap_page))
        return NULL;
    if (heap_page.heap != other || heap_page.kind != PAGE_HEAP)
        return NULL;
    return region_member(other, (const char *)pg) ? pg : NULL;
}

/* The header of the block of pg that holds p (NULL: p is in a page header or
   past the blocks handed out). */
static head_t *block_at(page_t *pg, const void *p)
{
    const char *start = (const char *)pg + PAGE_HEADER, *c = p;
    if (pg->kind == PAGE_LARGE)
        return c >= start && c < pg->end ? (head_t *)start : NULL;
    if (pg->kind != PAGE_SMALL || c < start || c >= pg->bump)
        return NULL;
    return (head_t *)(start + (size_t)(c - start) / pg->block_size * pg->block_size);
}

/* ---- The checks ---------------------------------------------------------------- */

void rcgc__dbg_check_live(const void *obj, const char *op)
{
    const head_t *x = head_of(obj);
    if (x->check == RCGC__CHECK_FREED)
        fail("freed-object", x, "%s of a freed object", op);
    if (x->check != RCGC__CHECK_LIVE || x->info == 0)
        fail("bad-object", NULL, "%s of %p, which is not a live rcgc object (no check value in its header)", op, obj);
}

void rcgc__debug_incref(void *obj)
{
    head_t *x = head_of(obj);
    rcgc__dbg_check_live(obj, "incref");
    if (x->refcnt == UINT32_MAX && !(x->info & F_IMMORTAL))
        fail("refcount-overflow", x, "incref past the largest count, %u", (unsigned)UINT32_MAX);
    x->refcnt++;
}

void rcgc__debug_decref(void *obj)
{
    head_t *x = head_of(obj);
    rcgc__dbg_check_live(obj, "decref");
    if (x->refcnt == 0 && !(x->info & F_IMMORTAL))
        fail("decref-zero", x, "decref of an object whose count is already zero");
    if (--x->refcnt == 0)
        rcgc__dealloc(obj);
}

void rcgc__dbg_visited(rcgc_heap *h, const head_t *container, void *v)
{
    const char *tname = type_name_of(container, container->info);
    page_t *pg = find_page(h, v);
    head_t *x = pg ? block_at(pg, v) : NULL;
    if (!x || obj_of(x) != v)
        fail("not-an-object", container,
             "traverse of '%s' visited %p, which is not an rcgc object", tname, v);
    if (x->check == RCGC__CHECK_FREED)
        fail("freed-object", x, "traverse of '%s' at %p visited a freed object", tname, obj_of(container));
    if (pg->heap != h)
        fail("cross-heap", x, "'%s' at %p of heap %p holds an object of heap %p",
             tname, obj_of(container), (void *)h, (void *)pg->heap);
}

void rcgc__dbg_items(rcgc_heap *h, const head_t *x, size_t n, const char *base)
{
    const items_layout *l = &h->types[x->info >> TYPE_SHIFT].items;
    const char *tname = type_name_of(x, x->info);
    const char *what = l->form & ITEMS_ENTRIES ? "entries" : "items";
    if (l->form & RCGC_ITEMS_INLINE) {
        size_t payload = block_payload(x);
        if (l->items_off > payload || n > (payload - l->items_off) / l->entry_size)
            fail("items", x, "'%s' at %p counts %zu %s, which its payload of %zu bytes cannot hold", tname,
                 obj_of(x), n, what, payload);
    } else if (!base) {
        fail("items", x, "'%s' at %p counts %zu %s and its array is NULL", tname, obj_of(x), n, what);
    }
}

void rcgc__dbg_store(void **slot, void *value)
{
    if (value)
        rcgc__dbg_check_live(value, "store");
    rcgc_heap *h = value ? heap_of(value) : NULL;
    page_t *pg = find_page(h, slot);
    head_t *into = pg ? block_at(pg, slot) : NULL;
    if (into && into->check == RCGC__CHECK_FREED) {
        if (value)
            fail("freed-object", into, "store of %p into a freed object", value);
        fail("freed-object", into, "store of NULL into a freed object");
    }
    if (*slot)
        rcgc__dbg_check_live(*slot, "store over");
    if (into && value && pg->heap != h)
        fail("cross-heap", head_of(value), "store into '%s' at %p of heap %p of an object of heap %p",
             type_name_of(into, into->info), obj_of(into), (void *)pg->heap, (void *)h);
}

void rcgc__dbg_tracked_zero(rcgc_heap *h, const head_t *x)
{
    (void)h;
    fail("tracked-zero", x, "a collection found a tracked object whose count is zero");
}

void rcgc__dbg_gc_refs_negative(rcgc_heap *h, const head_t *x)
{
    (void)h;
    fail("gc-refs-negative", x,
         "object has more references from containers than its count (%u): a missing incref",
         (unsigned)x->refcnt);
}

void rcgc__dbg_no_traverse(rcgc_heap *h, const char *what)
{
    if (h->in_traverse)
        fail("collect-in-traverse", h->traversing, "%s from inside the traverse of '%s'", what,
             type_name_of(h->traversing, h->traversing->info));
}

/* ---- The leak summary ------------------------------------------------------------ */

/* gc_refs over the whole heap, kept in the debug word `reserved`: the count
   minus the references from the heap's own containers. What is left comes from
   outside: the program still holds those references. */
static void leak_init(rcgc_heap *h, head_t *x, void *arg)
{
    (void)h;
    (void)arg;
    x->reserved = (x->info & F_IMMORTAL) ? 0 : x->refcnt;
}

static void leak_visit(void **slot, void *arg)
{
    rcgc_heap *h = arg;
    void *v = *slot;
    if (!v)
        return;
    page_t *pg = page_of(v);
    if (!region_member(h, (const char *)pg))
        return;
    head_t *x = block_at(pg, v);
    if (x && obj_of(x) == v && x->check == RCGC__CHECK_LIVE && x->reserved > 0)
        x->reserved--;
}

static void leak_subtract(rcgc_heap *h, head_t *x, void *arg)
{
    (void)arg;
    if (type_of_head(h, x)->traverse)
        type_of_head(h, x)->traverse(obj_of(x), leak_visit, h);
}

typedef struct leak_ctx {
    size_t leaked, listed, total;
    size_t *per_type;
    FILE *out;      /* NULL: count only */
} leak_ctx;

enum { LEAKS_LISTED = 10 };

static void leak_count(rcgc_heap *h, head_t *x, void *arg)
{
    (void)h;
    leak_ctx *c = arg;
    c->total++;
    if (x->reserved == 0)
        return;
    c->leaked++;
    if (!c->out)
        return;
    if (c->per_type)
        c->per_type[x->info >> TYPE_SHIFT]++;
    if (c->listed < LEAKS_LISTED) {
        c->listed++;
        fprintf(c->out, "rcgc:   %p '%s' (allocation #%u): count %u, %u from outside\n", obj_of(x),
                type_name_of(x, x->info), (unsigned)x->serial, (unsigned)x->refcnt, (unsigned)x->reserved);
    }
}

void rcgc__dbg_leak_report(rcgc_heap *h)
{
    rcgc__each_block(h, leak_init, NULL);
    rcgc__each_block(h, leak_subtract, NULL);
    /* gc.garbage's references are the heap's own, which rcgc_heap_free drops. */
    for (size_t i = 0; i < h->garbage_len; i++)
        leak_visit(&h->garbage[i], h);
    leak_ctx c = { 0, 0, 0, NULL, NULL };
    rcgc__each_block(h, leak_count, &c);
    if (c.leaked == 0)
        return;
    c = (leak_ctx){ 0, 0, 0, NULL, h->debug_stream };
    size_t bytes = (size_t)h->type_count * sizeof(size_t);
    c.per_type = rcgc__sys_alloc(h, bytes, 16);
    if (c.per_type)
        memset(c.per_type, 0, bytes);
    fprintf(c.out, "rcgc: heap %p freed; objects still referenced from outside:\n", (void *)h);
    rcgc__each_block(h, leak_count, &c);
    if (c.leaked > c.listed)
        fprintf(c.out, "rcgc:   ... and %zu more\n", c.leaked - c.listed);
    if (c.per_type) {
        for (uint32_t i = 1; i < h->type_count; i++)
            if (c.per_type[i] && h->types[i].type)
                fprintf(c.out, "rcgc:   %zu of type '%s'\n", c.per_type[i],
                        h->types[i].type->name ? h->types[i].type->name : "?");
        rcgc__sys_free(h, c.per_type, bytes);
    }
    fprintf(c.out, "rcgc: leak summary: %zu of %zu live objects referenced from outside\n", c.leaked, c.total);
    fflush(c.out);
    if (c.leaked && h->on_leak == RCGC_LEAKS_ABORT)
        fail("leak", NULL, "rcgc_heap_free with %zu objects still referenced from outside", c.leaked);
}

#else

/* The normal build has no checks; this keeps the translation unit non-empty. */
typedef int rcgc__no_debug_checks;

#endif
