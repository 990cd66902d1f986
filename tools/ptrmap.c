/*
 * The word map of ptrmap.h: a power-of-two table at most 3/4 full, probed
 * linearly from a multiplicative hash of the key.
 */
#include "ptrmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t slot_of(uintptr_t key, size_t mask)
{
    uint64_t k = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (size_t)(k >> 29) & mask;
}

static struct ptrmap_entry *find(const struct ptrmap *m, uintptr_t key)
{
    size_t mask = m->capacity - 1;
    size_t i;

    if (m->capacity == 0)
        return NULL;
    for (i = slot_of(key, mask);; i = (i + 1) & mask) {
        if (m->entries[i].key == key)
            return &m->entries[i];
        if (m->entries[i].key == 0)
            return NULL;
    }
}

static void insert(struct ptrmap *m, uintptr_t key, uintptr_t value)
{
    size_t mask = m->capacity - 1;
    size_t i = slot_of(key, mask);

    while (m->entries[i].key != 0)
        i = (i + 1) & mask;
    m->entries[i].key = key;
    m->entries[i].value = value;
    m->count++;
}

int ptrmap_put(struct ptrmap *m, uintptr_t key, uintptr_t value)
{
    struct ptrmap_entry *e = find(m, key);

    if (e != NULL) {
        e->value = value;
        return 0;
    }
    if ((m->count + 1) * 4 > m->capacity * 3) {
        struct ptrmap bigger = { NULL, m->capacity ? m->capacity * 2 : 64, 0 };
        size_t i;
        if (bigger.capacity > SIZE_MAX / 2 / sizeof *bigger.entries)
            return -1;
        bigger.entries = calloc(bigger.capacity, sizeof *bigger.entries);
        if (bigger.entries == NULL)
            return -1;
        for (i = 0; i < m->capacity; i++) {
            if (m->entries[i].key != 0)
                insert(&bigger, m->entries[i].key, m->entries[i].value);
        }
        free(m->entries);
        *m = bigger;
    }
    insert(m, key, value);
    return 0;
}

bool ptrmap_get(const struct ptrmap *m, uintptr_t key, uintptr_t *value)
{
    const struct ptrmap_entry *e = find(m, key);

    if (e == NULL)
        return false;
    if (value != NULL)
        *value = e->value;
    return true;
}

void ptrmap_remove(struct ptrmap *m, uintptr_t key)
{
    struct ptrmap_entry *e = find(m, key);
    size_t mask = m->capacity - 1;
    size_t hole, i;

    if (e == NULL)
        return;
    hole = (size_t)(e - m->entries);
    m->entries[hole].key = 0;
    m->count--;
    /* Moves back every later entry of the run that may no longer be found. */
    for (i = (hole + 1) & mask; m->entries[i].key != 0; i = (i + 1) & mask) {
        size_t home = slot_of(m->entries[i].key, mask);
        bool between = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
        if (!between) {
            m->entries[hole] = m->entries[i];
            m->entries[i].key = 0;
            hole = i;
        }
    }
}

void ptrmap_clear(struct ptrmap *m)
{
    if (m->capacity)
        memset(m->entries, 0, m->capacity * sizeof *m->entries);
    m->count = 0;
}

void ptrmap_free(struct ptrmap *m)
{
    free(m->entries);
    m->entries = NULL;
    m->capacity = 0;
    m->count = 0;
}
