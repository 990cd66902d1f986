/*
 * The fuzz targets' memory source for rcgc heaps (see fuzz.h): regions come
 * from aligned_alloc and are remembered in a list, so that a free with an
 * unknown pointer or another size than was asked for is counted, and what is
 * still outstanding when the heap is gone is known. Request number fail_at
 * (and, when persistent, every later one) returns NULL instead.
 *
 * Regions of 64 KiB and more (the heap, its 2 MiB chunks, large objects) that
 * come back are kept for later requests of the same size, in every run of the
 * process, instead of going back to aligned_alloc. Under AddressSanitizer a
 * region of that size costs a fresh mapping and its shadow's page faults each
 * time, which took most of a fuzzer's time; kept regions are poisoned, so a
 * use after rcgc gave one back is still reported.
 */
#include "fuzz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#ifdef FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#define FUZZ_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define FUZZ_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define FUZZ_POISON(p, n) ((void)(p), (void)(n))
#define FUZZ_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Kept regions (see above): the process's, not one heap's, since a fuzzer
   makes a heap per input. */
#define KEPT_MIN ((size_t)64 << 10)
#define KEPT_MAX 64
#define KEPT_BYTES ((size_t)64 << 20)
static struct kept_region {
    void *ptr;
    size_t size, align;
} kept[KEPT_MAX];
static size_t nkept, kept_bytes;

static void *kept_take(size_t size, size_t align)
{
    for (size_t i = nkept; i-- > 0;) {
        if (kept[i].size == size && kept[i].align == align) {
            void *p = kept[i].ptr;
            kept[i] = kept[--nkept];
            kept_bytes -= size;
            FUZZ_UNPOISON(p, size);
            return p;
        }
    }
    return NULL;
}

static bool kept_put(void *p, size_t size, size_t align)
{
    if (size < KEPT_MIN || nkept == KEPT_MAX || size > KEPT_BYTES - kept_bytes)
        return false;
    FUZZ_POISON(p, size);
    kept[nkept].ptr = p;
    kept[nkept].size = size;
    kept[nkept].align = align;
    nkept++;
    kept_bytes += size;
    return true;
}

_Noreturn void fuzz_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("fuzz: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

/* What aligned_alloc is asked for: size rounded up to a multiple of a. */
static size_t rounded_size(size_t size, size_t a)
{
    return size == 0 ? a : (size + a - 1) / a * a;
}

static void *memory_alloc(void *ctx, size_t size, size_t align)
{
    struct fuzz_memory *m = ctx;
    size_t a, rounded;
    void *p;

    m->calls++;
    if (align == 0 || (align & (align - 1)) != 0 || align > 65536)
        fuzz_fail("memory source asked for alignment %zu", align);
    if (m->fail_at != 0 && (m->calls == m->fail_at || (m->persistent && m->calls > m->fail_at))) {
        m->injected++;
        return NULL;
    }
    if (m->nregions == m->capacity) {
        size_t capacity = m->capacity ? m->capacity * 2 : 64;
        struct fuzz_region *r = realloc(m->regions, capacity * sizeof *r);
        if (r == NULL)
            fuzz_fail("out of memory for the memory source's own list");
        m->regions = r;
        m->capacity = capacity;
    }
    a = align < sizeof(void *) ? sizeof(void *) : align;
    if (size > SIZE_MAX - a)
        return NULL;
    rounded = rounded_size(size, a);
    p = rounded >= KEPT_MIN ? kept_take(rounded, a) : NULL;
    if (p == NULL)
        p = aligned_alloc(a, rounded);
    if (p == NULL)
        fuzz_fail("aligned_alloc(%zu, %zu) failed", a, rounded);
    m->regions[m->nregions].ptr = p;
    m->regions[m->nregions].size = size;
    m->regions[m->nregions].align = a;
    m->nregions++;
    return p;
}

static void memory_free(void *ctx, void *ptr, size_t size)
{
    struct fuzz_memory *m = ctx;
    size_t i;

    for (i = m->nregions; i-- > 0;) {
        if (m->regions[i].ptr == ptr) {
            struct fuzz_region r = m->regions[i];
            if (r.size != size)
                m->bad_frees++;
            m->regions[i] = m->regions[--m->nregions];
            if (!kept_put(ptr, rounded_size(r.size, r.align), r.align))
                free(ptr);
            return;
        }
    }
    m->bad_frees++;
}

void fuzz_memory_init(struct fuzz_memory *m, size_t fail_at, bool persistent)
{
    memset(m, 0, sizeof *m);
    m->fail_at = fail_at;
    m->persistent = persistent;
}

rcgc_config fuzz_memory_config(struct fuzz_memory *m)
{
    rcgc_config c;

    memset(&c, 0, sizeof c);
    c.memory.alloc = memory_alloc;
    c.memory.free = memory_free;
    c.memory.ctx = m;
    return c;
}

void fuzz_memory_release(struct fuzz_memory *m)
{
    size_t i;

    for (i = 0; i < m->nregions; i++)
        free(m->regions[i].ptr);
    free(m->regions);
    m->regions = NULL;
    m->nregions = m->capacity = 0;
}
