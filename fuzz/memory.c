/*
 * The fuzz targets' memory source for rcgc heaps (see fuzz.h): regions come
 * from aligned_alloc and are remembered in a list, so that a free with an
 * unknown pointer or another size than was asked for is counted, and what is
 * still outstanding when the heap is gone is known. Request number fail_at
 * (and, when persistent, every later one) returns NULL instead.
 */
#include "fuzz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    rounded = size == 0 ? a : (size + a - 1) / a * a;
    p = aligned_alloc(a, rounded);
    if (p == NULL)
        fuzz_fail("aligned_alloc(%zu, %zu) failed", a, rounded);
    m->regions[m->nregions].ptr = p;
    m->regions[m->nregions].size = size;
    m->nregions++;
    return p;
}

static void memory_free(void *ctx, void *ptr, size_t size)
{
    struct fuzz_memory *m = ctx;
    size_t i;

    for (i = m->nregions; i-- > 0;) {
        if (m->regions[i].ptr == ptr) {
            if (m->regions[i].size != size)
                m->bad_frees++;
            m->regions[i] = m->regions[--m->nregions];
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
