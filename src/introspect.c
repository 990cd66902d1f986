/*
 * Introspection (gc.get_objects, get_referents, get_referrers), gc.garbage and
 * the collection-callback list.
 *
 * Everything here reads the generation lists and calls the types' traverse
 * functions; nothing allocates except adding a callback. Visitor callbacks get
 * borrowed references and must not create or free objects, since the lists
 * are being walked.
 */
#include "internal.h"

static size_t each_in_list(rcgc_heap *h, head_t *l, void (*fn)(void *, void *), void *arg)
{
    size_t n = 0;
    uint32_t end = ref_of(l);
    for (uint32_t r = l->next; r != end;) {
        head_t *x = ref_ptr(h, r);
        r = x->next;
        if (fn)
            fn(obj_of(x), arg);
        n++;
    }
    return n;
}

size_t rcgc_get_objects(rcgc_heap *h, int generation, void (*fn)(void *obj, void *arg), void *arg)
{
    if (generation >= NUM_GENERATIONS || generation < -1)
        return 0;
    if (generation >= 0)
        return each_in_list(h, &h->gen[generation].head, fn, arg);
    size_t n = 0;
    for (int i = 0; i < NUM_GENERATIONS; i++)
        n += each_in_list(h, &h->gen[i].head, fn, arg);
    return n;
}

typedef struct referents_ctx {
    void (*fn)(void *, void *);
    void *arg;
} referents_ctx;

static void visit_referent(void **slot, void *arg)
{
    referents_ctx *c = arg;
    if (*slot)
        c->fn(*slot, c->arg);
}

void rcgc_get_referents(void *obj, void (*fn)(void *obj, void *arg), void *arg)
{
    head_t *x = head_of(obj);
    rcgc_heap *h = heap_of(obj);
    referents_ctx c = { fn, arg };
    if (is_container(h, x))
        traverse_head(h, x, visit_referent, &c);
}

typedef struct referrer_ctx {
    const void *target;
    bool found;
} referrer_ctx;

static void visit_find(void **slot, void *arg)
{
    referrer_ctx *c = arg;
    if (*slot == c->target)
        c->found = true;
}

size_t rcgc_get_referrers(rcgc_heap *h, const void *obj, void (*fn)(void *obj, void *arg), void *arg)
{
    size_t n = 0;
    for (int i = 0; obj && i < NUM_GENERATIONS; i++) {
        head_t *l = &h->gen[i].head;
        uint32_t end = ref_of(l);
        for (uint32_t r = l->next; r != end;) {
            head_t *x = ref_ptr(h, r);
            r = x->next;
            referrer_ctx c = { obj, false };
            traverse_head(h, x, visit_find, &c);
            if (c.found) {
                n++;
                if (fn)
                    fn(obj_of(x), arg);
            }
        }
    }
    return n;
}

/* ---- gc.garbage -------------------------------------------------------------- */

size_t rcgc_garbage_size(const rcgc_heap *h)
{
    return h->garbage_len;
}

void *rcgc_garbage_get(const rcgc_heap *h, size_t i)
{
    return i < h->garbage_len ? h->garbage[i] : NULL;
}

void rcgc_garbage_clear(rcgc_heap *h)
{
    /* Releasing may run finalizers and collections that read or fill the
       list: as CPython's del gc.garbage[:], the list is empty before the
       first release, and the references go last first. The array is kept
       for the next saves if none came meanwhile. */
    void **items = h->garbage;
    size_t n = h->garbage_len, cap = h->garbage_cap;
    h->garbage = NULL;
    h->garbage_len = h->garbage_cap = 0;
    while (n)
        rcgc_decref(items[--n]);
    if (!h->garbage) {
        h->garbage = items;
        h->garbage_cap = cap;
    } else if (items) {
        rcgc__sys_free(h, items, cap * sizeof *items);
    }
}

/* ---- gc.callbacks ------------------------------------------------------------- */

int rcgc_callback_add(rcgc_heap *h, rcgc_gc_callback fn, void *data)
{
    if (!fn || rcgc__grow(h, (void **)&h->callbacks, &h->callback_cap, h->callback_len + 1, sizeof *h->callbacks) != 0)
        return -1;
    h->callbacks[h->callback_len].fn = fn;
    h->callbacks[h->callback_len].data = data;
    h->callback_len++;
    return 0;
}

int rcgc_callback_remove(rcgc_heap *h, rcgc_gc_callback fn, void *data)
{
    for (size_t i = 0; i < h->callback_len; i++) {
        if (h->callbacks[i].fn == fn && h->callbacks[i].data == data) {
            memmove(&h->callbacks[i], &h->callbacks[i + 1], (h->callback_len - i - 1) * sizeof *h->callbacks);
            h->callback_len--;
            return 0;
        }
    }
    return -1;
}
