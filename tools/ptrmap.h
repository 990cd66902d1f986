/*
 * A map from pointers to numbers for the replayer's views of the heap
 * (object -> row of a table, weak-reference object -> its name): open
 * addressing with linear probing, deletion by shifting back, so that there
 * are no tombstones.
 */
#ifndef RCGC_TOOLS_PTRMAP_H
#define RCGC_TOOLS_PTRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct ptrmap_entry {
    const void *key;                /* NULL: free */
    size_t value;
};

struct ptrmap {
    struct ptrmap_entry *entries;
    size_t capacity;                /* 0 or a power of two */
    size_t count;
};

/* Sets key's value (key not NULL). 0, or -1 when memory is short. */
int ptrmap_put(struct ptrmap *m, const void *key, size_t value);

/* Finds key: true with *value set, or false. */
bool ptrmap_get(const struct ptrmap *m, const void *key, size_t *value);

/* Removes key if present. */
void ptrmap_remove(struct ptrmap *m, const void *key);

/* Empties the map, keeping its memory. */
void ptrmap_clear(struct ptrmap *m);

void ptrmap_free(struct ptrmap *m);

#endif
