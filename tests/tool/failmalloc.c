/*
 * A memory allocator that fails on request, for running a whole program
 * (`rcgc replay` and its options) out of memory: loaded with LD_PRELOAD, it
 * serves malloc, calloc, realloc and aligned_alloc from glibc's own, and
 * anonymous mmap from the C library's mmap, and counts the calls. The call
 * numbered FAILMALLOC_AT (1, 2, ...; unset or 0: none) fails, returning NULL
 * (MAP_FAILED) with errno ENOMEM; with FAILMALLOC_ALL=1, so does every call
 * after it. At exit the number of calls is written to the file
 * FAILMALLOC_COUNT names, if set. Calls made before the program's
 * constructors ran are neither counted nor failed. Used by
 * tests/tool/malloc_failures.py.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);

static unsigned long calls, fail_at;
static int ready, fail_all;
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);

/* The C library's mmap (POSIX's way to store dlsym's result in a function
   pointer, which ISO C's casts do not allow). */
static void find_mmap(void)
{
    void *sym = dlsym(RTLD_NEXT, "mmap");
    memcpy(&real_mmap, &sym, sizeof sym);
}

__attribute__((constructor)) static void failmalloc_init(void)
{
    const char *at = getenv("FAILMALLOC_AT"), *all = getenv("FAILMALLOC_ALL");
    fail_at = at ? strtoul(at, NULL, 10) : 0;
    fail_all = all && all[0] == '1';
    find_mmap();
    ready = 1;
}

__attribute__((destructor)) static void failmalloc_report(void)
{
    const char *path = getenv("FAILMALLOC_COUNT");
    if (path) {
        FILE *f = fopen(path, "w");
        if (f) {
            fprintf(f, "%lu\n", calls);
            fclose(f);
        }
    }
}

static int fails(void)
{
    if (!ready)
        return 0;
    calls++;
    if (fail_at && (calls == fail_at || (fail_all && calls > fail_at))) {
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

void *malloc(size_t size)
{
    return fails() ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    return fails() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    return fails() ? NULL : __libc_realloc(p, size);
}

void *aligned_alloc(size_t align, size_t size)
{
    return fails() ? NULL : __libc_memalign(align, size);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (!real_mmap)
        find_mmap();
    if ((flags & MAP_ANONYMOUS) && fails())
        return MAP_FAILED;
    return real_mmap(addr, len, prot, flags, fd, off);
}
