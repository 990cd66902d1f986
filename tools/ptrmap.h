/*
 * A map from words to words for the replayer and its views of the heap
 * (a trace's name -> its object, object -> row of a table): keys are
 * pointers or numbers, never 0, and values are numbers or pointers as
 * uintptr_t. Open addressing with linear probing, deletion by shifting back,
 * so that there are no tombstones.
 */
#ifndef RCGC_TOOLS_PTRMAP_H
#define RCGC_TOOLS_PTRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ptrmap_entry {
    uintptr_t key;                  /* 0: free */
    uintptr_t value;
};

struct ptrmap {
    struct ptrmap_entry *entries;
    size_t capacity;                /* 0 or a power of two */
    size_t count;
};

/* Sets key's value (key not 0). 0, or -1 when memory is short; setting the
   value of a key already present never fails. */
int ptrmap_put(struct ptrmap *m, uintptr_t key, uintptr_t value);

/* Finds key: true with *value set (when value is not NULL), or false. */
bool ptrmap_get(const struct ptrmap *m, uintptr_t key, uintptr_t *value);

/* Removes key if present. */
void ptrmap_remove(struct ptrmap *m, uintptr_t key);

/* Empties the map, keeping its memory. */
void ptrmap_clear(struct ptrmap *m);

void ptrmap_free(struct ptrmap *m);

#endif
