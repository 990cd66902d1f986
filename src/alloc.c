/*
 * The allocator: size-classed pages owned by the heap, large objects on their
 * own, and the region table behind compressed references.
 *
 * Memory comes from the heap's memory source (rcgc_memory) in three shapes,
 * each made of "regions" (64 KiB) with an index in the region table:
 *   - chunks of 2 MiB, split into 32 pages of 64 KiB; a page serves one size
 *     class (63 classes, blocks of 32 to 8192 bytes including the header);
 *   - one region per large object (block over 8192 bytes), rounded to 64 KiB
 *     (pages never touched cost address space, not memory), kept a while for
 *     the next large object of its size when its object dies;
 *   - the heap structure itself (region 0), so list heads have references.
 * All three are 64 KiB aligned and start with a page header, so page_of() is a
 * mask and ref_of() a subtraction.
 *
 * A page hands out blocks from its free list, then from its never-used tail
 * (bump), so a new page costs nothing per block until used. Each size class
 * keeps a list of its pages that have free blocks; the first one serves
 * allocations (the fast path is a pop from its free list). A page that fills
 * up leaves the list; it comes back when a block is freed. A page that becomes
 * empty while another serves its class forgets its free list and starts again
 * from its first block, so the objects it serves next come in address order,
 * however the last ones died (the page being allocated from keeps its list:
 * its last freed block is the one most likely in the cache). A collection
 * that frees every block of a page empties it in one step
 * (rcgc__page_emptied), without a free per block. A page that becomes
 * empty goes back to the heap's free pages, unless it is the one its class
 * allocates from or the class has no other empty page (its `spare`), so that
 * allocating and freeing objects in a loop, one or a page's worth at a time,
 * does not take and return pages each time; rcgc__trim, after a full
 * collection asked for with rcgc_collect, gives those back too. A chunk whose
 * pages are all free stays a while for the next allocations (see empty_push),
 * then goes back to the memory source. A chunk's pages get their header
 * and region one at a time, as the heap runs out of free pages, so a small heap
 * touches one page of its chunk, not 32.
 *
 * Huge pages. The default memory source aligns chunks to their size, so that
 * the kernel can back each with a transparent huge page when its
 * transparent_hugepage setting is "always". A heap made with
 * rcgc_config.huge_pages asks for them (madvise MADV_HUGEPAGE) once it holds
 * HUGE_PAGES_FROM bytes: a chunk then costs one page fault instead of 512 and
 * one TLB entry instead of 512, and small heaps stay on 4 KiB pages, so that
 * they do not pay up to 2 MiB of resident memory for a chunk they barely use.
 * It is not the default: the kernel clears a huge page in one fault, which
 * under a hypervisor can wait for the host to back the whole 2 MiB (4 ms per
 * chunk on the machine of docs/performance-log.md's twenty-fourth round, a
 * tenth of a long binary-trees run), and a program that drops a structure
 * and soon builds another reuses the empty chunks the heap keeps (see
 * empty_push) without faulting them in again.
 *
 * Invariants:
 *   - a free block has info == 0 (type index 0) and its next/prev words hold
 *     the raw pointer to the next free block of its page;
 *   - page->used counts blocks handed out and not freed; a page is in its bin's
 *     list exactly when it is not full;
 *   - a chunk is in the heap's empty_chunks list exactly when none of its pages
 *     is in use (chunk_used == 0); its first page then holds the list links;
 *   - a region in the heap's empty_large list (a large object's, kept) has no
 *     index in the region table, and its size in pages in its header's `used`;
 *   - the memory source is called only here; a failure leaves every structure
 *     as it was.
 */
#define _DEFAULT_SOURCE
#include "internal.h"

#include <stdlib.h>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#define HAVE_MMAP 1
#endif

/* ---- The default memory source -------------------------------------------- */

/* Requests of 64 KiB or more (pages, large objects, the heap: always multiples
   of 64 KiB) are mapped from the kernel, so that freeing them returns the
   memory; smaller ones (tables) come from malloc. The size given back to free
   tells the two apart. A chunk is aligned to its size, as a huge page must be. */
static void *system_alloc(void *ctx, size_t size, size_t align)
{
    (void)ctx;
#ifdef HAVE_MMAP
    if (size >= PAGE_SIZE) {
        if (size == CHUNK_SIZE)
            align = CHUNK_SIZE;
        size_t span = size + align;
        char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        char *aligned = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
        if (aligned > p)
            munmap(p, (size_t)(aligned - p));
        size_t tail = (size_t)((p + span) - (aligned + size));
        if (tail)
            munmap(aligned + size, tail);
        return aligned;
    }
    return malloc(size);
#else
    return aligned_alloc(align < sizeof(void *) ? sizeof(void *) : align, (size + align - 1) & ~(align - 1));
#endif
}

static void system_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
#ifdef HAVE_MMAP
    if (size >= PAGE_SIZE) {
        munmap(p, size);
        return;
    }
#else
    (void)size;
#endif
    free(p);
}

#define HUGE_PAGES_FROM ((size_t)8 << 20)

/* After the heap's memory reached HUGE_PAGES_FROM: asks for a transparent huge
   page behind a chunk of the default memory source (see the top of the file).
   Only advice: where the kernel has none to give, the chunk keeps small pages. */
static void advise_huge_pages(rcgc_heap *h, char *chunk)
{
#if defined(HAVE_MMAP) && defined(MADV_HUGEPAGE)
    if (h->huge_pages && h->mem.alloc == system_alloc && h->system_bytes >= HUGE_PAGES_FROM)
        (void)madvise(chunk, CHUNK_SIZE, MADV_HUGEPAGE);
#else
    (void)h;
    (void)chunk;
#endif
}

void *rcgc__sys_alloc(rcgc_heap *h, size_t size, size_t align)
{
    void *p = h->mem.alloc(h->mem.ctx, size, align);
    if (p)
        h->system_bytes += size;
    return p;
}

void rcgc__sys_free(rcgc_heap *h, void *p, size_t size)
{
    h->system_bytes -= size;
    h->mem.free(h->mem.ctx, p, size);
}

int rcgc__grow(rcgc_heap *h, void **array, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need)
        ncap *= 2;
    void *n = rcgc__sys_alloc(h, ncap * elem, 16);
    if (!n)
        return -1;
    if (*cap) {
        memcpy(n, *array, *cap * elem);
        rcgc__sys_free(h, *array, *cap * elem);
    }
    *array = n;
    *cap = ncap;
    return 0;
}

/* ---- Size classes --------------------------------------------------------- */

/* Classes 0-30: 32..512 bytes (FINE_MAX) in steps of 16 (fine_class), so
   that a block of a small object wastes less than 16 bytes (the header's
   size: a payload of 256 bytes takes 272, not 288); then eight classes per
   power of two up to 8192 (576, 640, ..., 1024, 1152, ...: coarse_class),
   so that a block wastes at most an eighth of itself. No block is a header
   alone (MIN_BLOCK). size_class (internal.h) is both. */
static const uint16_t class_size[NUM_CLASSES] = {
    32, 48, 64, 80, 96, 112, 128, 144,
    160, 176, 192, 208, 224, 240, 256, 272,
    288, 304, 320, 336, 352, 368, 384, 400,
    416, 432, 448, 464, 480, 496, 512, 576,
    640, 704, 768, 832, 896, 960, 1024, 1152,
    1280, 1408, 1536, 1664, 1792, 1920, 2048, 2304,
    2560, 2816, 3072, 3328, 3584, 3840, 4096, 4608,
    5120, 5632, 6144, 6656, 7168, 7680, 8192,
};

/* ---- Regions --------------------------------------------------------------- */

/* Gives `base` a region index, in *out. A free index is chained through its
   table entry, tagged in bit 0 (real bases are 64 KiB aligned). Returns 0, or
   -1 when the table is full or cannot grow. */
static int region_add(rcgc_heap *h, char *base, uint32_t *out)
{
    uint32_t r;
    if (h->region_free) {
        r = h->region_free;
        h->region_free = (uint32_t)((uintptr_t)h->region_base[r] >> 1);
    } else {
        if (h->region_top >= MAX_REGIONS)
            return -1;
        size_t cap = h->region_cap;
        void *bases = h->region_base;
        if (rcgc__grow(h, &bases, &cap, (size_t)h->region_top + 1, sizeof(char *)) != 0)
            return -1;
        h->region_base = bases;
        h->region_cap = (uint32_t)cap;
        r = h->region_top++;
    }
#ifdef RCGC_DEBUG
    if (rcgc__dbg_region_add(h, base) != 0) {
        h->region_base[r] = (char *)(((uintptr_t)h->region_free << 1) | 1u);
        h->region_free = r;
        return -1;
    }
#endif
    h->region_base[r] = base;
    *out = r;
    return 0;
}

static void region_remove(rcgc_heap *h, uint32_t r)
{
#ifdef RCGC_DEBUG
    rcgc__dbg_region_remove(h, h->region_base[r]);
#endif
    h->region_base[r] = (char *)(((uintptr_t)h->region_free << 1) | 1u);
    h->region_free = r;
}

/* ---- Pages ----------------------------------------------------------------- */

static void page_list_push(page_t **list, page_t *p)
{
    p->prev = NULL;
    p->next = *list;
    if (*list)
        (*list)->prev = p;
    *list = p;
}

static void page_list_remove(page_t **list, page_t *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        *list = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->next = p->prev = NULL;
}

/* Gives page i of the chunk at base a header and a region and puts it on the
   free-page list. A chunk's pages get theirs one at a time, when the heap
   needs a page and has no free one, so that memory is touched only as it is
   used (a small heap: one page of its first chunk) and the region table and
   everything that walks it see only pages that have a header. */
static int page_ready(rcgc_heap *h, char *base, unsigned i)
{
    page_t *p = (page_t *)(base + (size_t)i * PAGE_SIZE);
    uint32_t r;
    if (region_add(h, (char *)p, &r) != 0)
        return -1;
    memset(p, 0, sizeof *p);
    p->heap = h;
    p->kind = PAGE_FREE;
    p->chunk_index = (uint8_t)i;
    p->ref_base = r << REGION_SHIFT;
    page_list_push(&h->free_pages, p);
    page_t *first = (page_t *)base;
    first->chunk_ready = (uint8_t)(i + 1);
    h->fresh_chunk = i + 1 < CHUNK_PAGES ? first : NULL;
    return 0;
}

/* Empty chunks. A chunk whose last page in use is freed stays with the heap
   for KEEP_EMPTY_SECONDS at least, its pages free for any size class, and goes
   back to the memory source at the end of the first collection after that (or
   at rcgc_trim). A program that drops a structure and builds another reuses
   the memory instead of unmapping it and faulting it in again, and the
   collection that frees a structure does not unmap its chunks in its own
   pause. A chunk is in the list exactly when no page of it is in use (a new
   chunk joins it until its first page is taken). */
#define KEEP_EMPTY_SECONDS 0.1

/* Pushes `first` on the list *list of empty chunks or kept large regions. */
static void empty_push(page_t **list, page_t *first, double now)
{
    first->empty_prev = NULL;
    first->empty_next = *list;
    if (*list)
        (*list)->empty_prev = first;
    *list = first;
    first->emptied_at = now;
}

static void empty_remove(page_t **list, page_t *first)
{
    if (first->empty_prev)
        first->empty_prev->empty_next = first->empty_next;
    else
        *list = first->empty_next;
    if (first->empty_next)
        first->empty_next->empty_prev = first->empty_prev;
}

/* A free page for page_new: the next untouched page of the newest chunk, or
   the first page of a new chunk. */
static int free_page_ready(rcgc_heap *h)
{
    if (h->fresh_chunk)
        return page_ready(h, (char *)h->fresh_chunk, h->fresh_chunk->chunk_ready);
    char *base = rcgc__sys_alloc(h, CHUNK_SIZE, PAGE_SIZE);
    if (!base)
        return -1;
    advise_huge_pages(h, base);
    if (page_ready(h, base, 0) != 0) {
        rcgc__sys_free(h, base, CHUNK_SIZE);
        return -1;
    }
    empty_push(&h->empty_chunks, (page_t *)base, 0);     /* no clock: page_new takes a page at once */
    return 0;
}

static void chunk_release(rcgc_heap *h, page_t *first)
{
    empty_remove(&h->empty_chunks, first);
    for (unsigned i = first->chunk_ready; i-- > 0;) {
        page_t *p = (page_t *)((char *)first + (size_t)i * PAGE_SIZE);
        page_list_remove(&h->free_pages, p);
        region_remove(h, p->ref_base >> REGION_SHIFT);
    }
    if (h->fresh_chunk == first)
        h->fresh_chunk = NULL;
    tool_release(first, (size_t)first->chunk_ready * PAGE_SIZE);   /* the rest was never touched */
    rcgc__sys_free(h, first, CHUNK_SIZE);
}

static page_t *page_new(rcgc_heap *h, unsigned sc)
{
    if (!h->free_pages && free_page_ready(h) != 0)
        return NULL;
    page_t *p = h->free_pages;
    page_list_remove(&h->free_pages, p);
    page_t *first = chunk_of(p);
    if (first->chunk_used++ == 0)
        empty_remove(&h->empty_chunks, first);     /* before p's free list overwrites the links */
    p->kind = PAGE_SMALL;
    p->sclass = (uint8_t)sc;
    p->block_size = class_size[sc];
    p->free = NULL;
    p->bump = (char *)p + PAGE_HEADER;
    p->end = (char *)p + PAGE_HEADER + (PAGE_SIZE - PAGE_HEADER) / p->block_size * p->block_size;
    p->used = 0;
    p->full = 0;
    tool_noaccess(p->bump, (size_t)(p->end - p->bump));
    h->live_pages++;
    return p;
}

static void page_release(rcgc_heap *h, page_t *p)
{
    bin_t *bin = &h->bins[p->sclass];
    if (bin->spare == p)
        bin->spare = NULL;
    page_list_remove(&bin->pages, p);
    p->kind = PAGE_FREE;
    h->live_pages--;
    page_list_push(&h->free_pages, p);
    page_t *first = chunk_of(p);
    if (--first->chunk_used == 0)
        empty_push(&h->empty_chunks, first, rcgc__now());
}

static void large_region_release(rcgc_heap *h, page_t *p)
{
    size_t size = (size_t)p->used << PAGE_SHIFT;
    empty_remove(&h->empty_large, p);
    h->empty_large_bytes -= size;
    tool_release(p, size);
    rcgc__sys_free(h, p, size);
}

void rcgc__release_empty(rcgc_heap *h, bool all)
{
    double now = all ? 0 : rcgc__now();
    for (page_t *first = h->empty_chunks, *next; first; first = next) {
        next = first->empty_next;
        if (all || now - first->emptied_at >= KEEP_EMPTY_SECONDS)
            chunk_release(h, first);
    }
    for (page_t *p = h->empty_large, *next; p; p = next) {
        next = p->empty_next;
        if (all || now - p->emptied_at >= KEEP_EMPTY_SECONDS)
            large_region_release(h, p);
    }
}

/* ---- Blocks ---------------------------------------------------------------- */

/* The next block of class sc when the page the class allocates from has no
   free block in its list: its never-used tail, or the next page with room, or
   a new page (NULL: memory is short). The page counts the block as used;
   block_alloc_class does the rest. */
head_t *rcgc__small_alloc(rcgc_heap *h, unsigned sc)
{
    bin_t *bin = &h->bins[sc];
    page_t *p = bin->pages;
    /* The first page is full: take it out of the list and use the next one. */
    while (p && !page_has_block(p)) {
        page_list_remove(&bin->pages, p);
        p->full = 1;
        p = bin->pages;
    }
    if (!p) {
        p = page_new(h, sc);
        if (!p)
            return NULL;
        page_list_push(&bin->pages, p);
    }
    return page_take(p);
}

/* Regions of freed large objects. The region of a large object that dies
   stays with the heap (empty_large, newest first) for the next large object
   whose region it can be: its size, or up to a quarter more. A program that
   makes and drops buffers in turn then reuses their memory, instead of
   mapping it, faulting it in and unmapping it for each one (10 KB: 17 us per
   allocation and release, against 0.15 for mimalloc's). A kept region has no
   index in the region table, so that no walk meets it, and its size in
   pages in its header's `used`. The regions kept hold LARGE_KEEP_BYTES at
   most (a larger one goes back at once), and go back to the memory source as
   empty chunks do: KEEP_EMPTY_SECONDS after they were kept, at the end of a
   collection, or at rcgc_trim. */
#define LARGE_KEEP_BYTES ((size_t)32 << 20)

/* Keeps p, the region of `size` bytes of a large object just freed, or
   gives it back. */
static void large_region_keep(rcgc_heap *h, page_t *p, size_t size)
{
    if (size > LARGE_KEEP_BYTES - h->empty_large_bytes) {
        tool_release(p, size);
        rcgc__sys_free(h, p, size);
        return;
    }
    tool_noaccess((char *)p + PAGE_HEADER, size - PAGE_HEADER);
    p->kind = PAGE_FREE;
    p->used = (uint32_t)(size >> PAGE_SHIFT);
    empty_push(&h->empty_large, p, rcgc__now());
    h->empty_large_bytes += size;
}

/* A kept region for a large object whose region takes `size` bytes: the
   newest of the right size, taken out of the list, its size in *size; NULL
   if there is none. */
static char *large_region_reuse(rcgc_heap *h, size_t *size)
{
    size_t pages = *size >> PAGE_SHIFT;
    for (page_t *p = h->empty_large; p; p = p->empty_next)
        if (p->used >= pages && p->used - pages <= pages / 4) {
            *size = (size_t)p->used << PAGE_SHIFT;
            empty_remove(&h->empty_large, p);
            h->empty_large_bytes -= *size;
            return (char *)p;
        }
    return NULL;
}

static head_t *large_alloc(rcgc_heap *h, size_t bytes)
{
    if (bytes > SIZE_MAX - PAGE_HEADER - PAGE_SIZE)
        return NULL;
    size_t size = (PAGE_HEADER + bytes + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    char *base = large_region_reuse(h, &size);
    bool kept = base != NULL;
    if (!kept && !(base = rcgc__sys_alloc(h, size, PAGE_SIZE)))
        return NULL;
    uint32_t r;
    if (region_add(h, base, &r) != 0) {
        if (kept)
            large_region_keep(h, (page_t *)base, size);
        else
            rcgc__sys_free(h, base, size);
        return NULL;
    }
    if (kept)
        tool_access(base + PAGE_HEADER, bytes);
    page_t *p = (page_t *)base;
    memset(p, 0, sizeof *p);
    p->heap = h;
    p->kind = PAGE_LARGE;
    p->ref_base = r << REGION_SHIFT;
    p->bump = base + size;                      /* the region's end: its size */
    p->end = base + PAGE_HEADER + bytes;        /* the block's end: its payload size */
    p->used = 1;
    page_list_push(&h->large, p);
    h->live_large++;
    return (head_t *)(base + PAGE_HEADER);
}

static size_t large_region_size(const page_t *p)
{
    return (size_t)(p->bump - (const char *)p);
}

uint32_t rcgc__class_size(unsigned sc)
{
    return class_size[sc];
}

unsigned rcgc__size_class(size_t bytes)
{
    return bytes <= SMALL_MAX ? size_class(bytes) : SCLASS_LARGE;
}

head_t *rcgc__block_alloc(rcgc_heap *h, size_t bytes)
{
    if (bytes <= SMALL_MAX)
        return block_alloc_class(h, size_class(bytes));
    head_t *x = large_alloc(h, bytes);
    if (!x)
        return NULL;
    h->large_bytes += large_region_size(page_of(x)) - PAGE_HEADER;
#ifdef RCGC_DEBUG
    rcgc__dbg_block_alloc(h, x);
#endif
    return x;
}

/* Puts p, a full page that has a free block again, back in its class's list,
   behind the page being allocated from. */
static void page_rejoin(bin_t *bin, page_t *p)
{
    p->full = 0;
    page_t *cur = bin->pages;
    if (!cur)
        page_list_push(&bin->pages, p);
    else {
        p->prev = cur;
        p->next = cur->next;
        if (cur->next)
            cur->next->prev = p;
        cur->next = p;
    }
}

/* p has no live block. It starts again from its first block (its blocks are
   poisoned for the tools, as untouched ones are): the next objects it serves
   are in address order, as in a new page, whatever order the last ones died
   in. Unless its class allocates from it, it becomes the class's spare page,
   or goes back to the heap: one empty page per class stays, so that a program
   that fills and empties a page's worth of objects again and again does not
   get a fresh page each time. */
static void page_restart(rcgc_heap *h, bin_t *bin, page_t *p)
{
    p->free = NULL;
    p->bump = (char *)p + PAGE_HEADER;
    if (bin->pages == p)
        return;
    if (bin->spare && bin->spare != p && bin->spare->used == 0)
        page_release(h, p);
    else
        bin->spare = p;
}

void rcgc__block_free(rcgc_heap *h, head_t *x)
{
    page_t *p = page_of(x);
    if (p->kind == PAGE_LARGE) {
#ifdef RCGC_DEBUG
        /* The header only: the region may be kept for a later object, and
           is given back to the system otherwise. */
        rcgc__dbg_block_free(x, sizeof *x);
#endif
        size_t size = large_region_size(p);
        h->large_bytes -= size - PAGE_HEADER;
        h->live_large--;
        page_list_remove(&h->large, p);
        region_remove(h, p->ref_base >> REGION_SHIFT);
        large_region_keep(h, p, size);
        return;
    }
    push_free(x, &p->free, p->block_size);
    bin_t *bin = &h->bins[p->sclass];
    if (p->full)
        page_rejoin(bin, p);
    if (--p->used == 0 && bin->pages != p)
        page_restart(h, bin, p);
}

void rcgc__page_emptied(rcgc_heap *h, page_t *p)
{
    char *start = (char *)p + PAGE_HEADER;
    bin_t *bin = &h->bins[p->sclass];
    tool_noaccess(start, (size_t)(p->bump - start));
    p->used = 0;
    if (p->full)
        page_rejoin(bin, p);
    page_restart(h, bin, p);
}

void rcgc__trim(rcgc_heap *h)
{
    for (unsigned sc = 0; sc < NUM_CLASSES; sc++) {
        bin_t *bin = &h->bins[sc];
        if (bin->spare && bin->spare->used == 0)
            page_release(h, bin->spare);
        page_t *p = bin->pages;
        if (p && p->used == 0)
            page_release(h, p);
    }
}

void rcgc_trim(rcgc_heap *h)
{
    rcgc__trim(h);
    rcgc__release_empty(h, true);
}

/* ---- Walking every block --------------------------------------------------- */

void rcgc__each_block(rcgc_heap *h, void (*fn)(rcgc_heap *h, head_t *x, void *arg), void *arg)
{
    each_live_block(h, fn, arg);
}

/* ---- The heap's own memory ------------------------------------------------- */

#define HEAP_REGION_SIZE (((sizeof(rcgc_heap) + PAGE_SIZE - 1) / PAGE_SIZE) * PAGE_SIZE)

_Static_assert(sizeof(rcgc_heap) < PAGE_SIZE, "list heads must lie in the heap's first page");

rcgc_heap *rcgc__heap_alloc(const rcgc_config *config)
{
    rcgc_memory mem = { system_alloc, system_free, NULL };
    if (config && config->memory.alloc)
        mem = config->memory;
    rcgc_heap *h = mem.alloc(mem.ctx, HEAP_REGION_SIZE, PAGE_SIZE);
    if (!h)
        return NULL;
    memset(h, 0, sizeof *h);
    h->mem = mem;
    h->huge_pages = config && config->huge_pages;
    h->no_scratch = config && config->no_scratch;
    h->system_bytes = HEAP_REGION_SIZE;
    h->page.heap = h;
    h->page.kind = PAGE_HEAP;
    h->page.ref_base = 0;
    uint32_t r;
    if (region_add(h, (char *)h, &r) != 0) {
        if (h->region_cap)
            mem.free(mem.ctx, h->region_base, h->region_cap * sizeof(char *));
        mem.free(mem.ctx, h, HEAP_REGION_SIZE);
        return NULL;
    }
    return h;
}

void rcgc__heap_release_memory(rcgc_heap *h)
{
    while (h->empty_large)
        large_region_release(h, h->empty_large);
    /* First the large objects, and forget the pages that are not the first of
       their chunk; then the chunks, whose first pages are all that is left. */
    for (unsigned r = 1; r < h->region_top; r++) {
        char *base = h->region_base[r];
        if (!region_in_use(base))
            continue;
        const page_t *p = (const page_t *)base;
        if (p->kind == PAGE_LARGE) {
            region_remove(h, r);
            rcgc__sys_free(h, base, large_region_size(p));
        } else if (p->chunk_index != 0) {
            region_remove(h, r);
        }
    }
    for (unsigned r = 1; r < h->region_top; r++) {
        char *base = h->region_base[r];
        if (region_in_use(base)) {
            tool_release(base, (size_t)((const page_t *)base)->chunk_ready * PAGE_SIZE);
            rcgc__sys_free(h, base, CHUNK_SIZE);
        }
    }
#ifdef RCGC_DEBUG
    rcgc__dbg_regions_free(h);
#endif
    if (h->region_cap)
        rcgc__sys_free(h, h->region_base, h->region_cap * sizeof(char *));
    rcgc_memory mem = h->mem;
    mem.free(mem.ctx, h, HEAP_REGION_SIZE);
}

void rcgc_get_memory_stats(const rcgc_heap *h, rcgc_memory_stats *out)
{
    size_t objects = h->live_large, bytes = h->large_bytes;
    for (unsigned r = 1; r < h->region_top; r++) {
        const char *base = h->region_base[r];
        if (!region_in_use(base))
            continue;
        const page_t *p = (const page_t *)base;
        if (p->kind == PAGE_SMALL) {
            objects += p->used;
            bytes += (size_t)p->used * p->block_size;
        }
    }
    out->objects = objects;
    out->object_bytes = bytes;
    out->pages = h->live_pages;
    out->large_objects = h->live_large;
    out->system_bytes = h->system_bytes;
}
