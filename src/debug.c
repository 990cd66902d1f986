/*
 * The debug flags' output, in CPython's words (gc.set_debug): collection
 * statistics (RCGC_DEBUG_STATS) and the collectable objects found
 * (RCGC_DEBUG_COLLECTABLE), written to the heap's debug stream.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <time.h>

double rcgc__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void rcgc__debug_start(rcgc_heap *h, int generation)
{
    FILE *f = h->debug_stream;
    fprintf(f, "gc: collecting generation %d...\n", generation);
    fprintf(f, "gc: objects in each generation: %zu %zu %zu\n",
            list_size(h, &h->gen[0].head), list_size(h, &h->gen[1].head), list_size(h, &h->gen[2].head));
    fprintf(f, "gc: objects in permanent generation: %zu\n", list_size(h, &h->permanent));
}

void rcgc__debug_object(rcgc_heap *h, const char *what, head_t *x)
{
    fprintf(h->debug_stream, "gc: %s <%s %p>\n", what, type_of_head(h, x)->name, obj_of(x));
}

void rcgc__debug_done(rcgc_heap *h, size_t unreachable, size_t uncollectable, double seconds)
{
    fprintf(h->debug_stream, "gc: done, %zu unreachable, %zu uncollectable, %.4fs elapsed\n",
            unreachable, uncollectable, seconds);
}

void rcgc_set_debug(rcgc_heap *h, unsigned flags)
{
    h->debug = flags;
}

unsigned rcgc_get_debug(const rcgc_heap *h)
{
    return h->debug;
}
