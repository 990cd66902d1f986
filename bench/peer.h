/*
 * The C peers of the benchmarks: one memory manager per build of a benchmark
 * program, chosen by a macro that bench/CMakeLists.txt sets.
 *
 *   BENCH_PEER_MALLOC    the C library's malloc / free
 *   BENCH_PEER_MIMALLOC  mi_malloc / mi_free (libmimalloc)
 *   BENCH_PEER_BOEHM     GC_MALLOC, never freed: the Boehm collector reclaims
 *
 * Each peer is a separate program, because linking libmimalloc replaces malloc
 * for the whole process. peer_alloc returns uninitialised memory (Boehm's is
 * zeroed): callers initialise every field they use. peer_zalloc returns zeroed
 * memory, by the peer's own zeroing allocation, to match rcgc_new.
 */
#ifndef RCGC_BENCH_PEER_H
#define RCGC_BENCH_PEER_H

#include <stddef.h>
#include <stdlib.h>

#if defined(BENCH_PEER_MIMALLOC)
#include <mimalloc.h>
#define PEER_NAME "mimalloc"
#define PEER_FREES 1
static inline void peer_init(void) {}
static inline void *peer_alloc(size_t n) { return mi_malloc(n); }
static inline void *peer_zalloc(size_t n) { return mi_zalloc(n); }
static inline void peer_free(void *p) { mi_free(p); }
static inline size_t peer_block_size(void *p) { return mi_usable_size(p); }

#elif defined(BENCH_PEER_BOEHM)
#include <gc.h>
#define PEER_NAME "boehm"
#define PEER_FREES 0
static inline void peer_init(void) { GC_INIT(); }
static inline void *peer_alloc(size_t n) { return GC_MALLOC(n); }
static inline void *peer_zalloc(size_t n) { return GC_MALLOC(n); }
static inline void peer_free(void *p) { (void)p; }
static inline size_t peer_block_size(void *p) { return GC_size(p); }

#elif defined(BENCH_PEER_MALLOC)
#include <malloc.h>
#define PEER_NAME "malloc"
#define PEER_FREES 1
static inline void peer_init(void) {}
static inline void *peer_alloc(size_t n) { return malloc(n); }
static inline void *peer_zalloc(size_t n) { return calloc(1, n); }
static inline void peer_free(void *p) { free(p); }
/* glibc: the usable size plus the chunk's size word. */
static inline size_t peer_block_size(void *p) { return malloc_usable_size(p) + sizeof(size_t); }

#endif

#endif
