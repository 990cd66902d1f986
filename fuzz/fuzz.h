/*
 * What the fuzz targets and their plain driver share: the libFuzzer entry
 * point, and a memory source for rcgc heaps that counts the regions it hands
 * out, checks that each comes back with the size it was asked for, and can be
 * told to fail requests (one, or every one from the Nth on).
 */
#ifndef RCGC_FUZZ_H
#define RCGC_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rcgc.h"

/* Runs one input; returns 0. A broken invariant prints what broke and aborts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_region {
    void *ptr;
    size_t size;            /* as asked for */
    size_t align;           /* as given to aligned_alloc */
};

struct fuzz_memory {
    size_t calls;           /* alloc requests so far */
    size_t fail_at;         /* 0: never fail; else request number fail_at fails */
    bool persistent;        /* and so does every request after it */
    size_t injected;        /* requests failed on purpose */
    size_t bad_frees;       /* unknown pointer, or another size than asked for */
    struct fuzz_region *regions;    /* outstanding regions */
    size_t nregions, capacity;
};

/* Starts counting; fail_at and persistent as in struct fuzz_memory. */
void fuzz_memory_init(struct fuzz_memory *m, size_t fail_at, bool persistent);

/* A heap configuration whose memory comes from m. */
rcgc_config fuzz_memory_config(struct fuzz_memory *m);

/* Frees what is still outstanding (a leak of the heap: the caller checks
   m->nregions first) and the bookkeeping. */
void fuzz_memory_release(struct fuzz_memory *m);

/* Prints "fuzz: <message>" to standard error and aborts. */
_Noreturn void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
