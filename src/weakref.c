/*
 * Weak references and their callbacks.
 *
 * A weak reference is an rcgc object of the heap's built-in weakref type: a
 * tracked container (whose traverse visits nothing: the referent is not owned,
 * and the callback is C code) with the referent, the callback and its data.
 * The weak references to one object form a list through their payloads, newest
 * first; the heap's weak-reference table maps the referent to the newest one,
 * and F_WEAKREFS on the referent says the table has an entry for it, so an
 * object without weak references never costs a lookup.
 *
 * Two paths clear them (CPython 3.11 semantics):
 *   - the referent dies by reference counting (rcgc__clear_weakrefs_and_call,
 *     after its finalizer, as PyObject_ClearWeakRefs): all are cleared first,
 *     then the callbacks run, newest first, while the weak references are
 *     held (all but the newest callback-less ones) until the last callback
 *     has run;
 *   - the referent is found unreachable by the collector (rcgc__handle_weakrefs,
 *     before any finalizer, as handle_weakrefs): weak references that are
 *     themselves garbage are cleared without callback; the others are cleared,
 *     and their callbacks run once all weak references to the garbage are
 *     cleared.
 * A cleared weak reference has referent NULL and belongs to no list (one
 * waiting for its callback in a collection: wprev points to itself). A weak
 * reference never waits in the trash list (object.c): at count 0 it is
 * released, and so cleared, at once, as CPython's weakref_dealloc.
 */
#include "internal.h"

struct weakref {
    void *referent;
    rcgc_weakref_callback cb;
    void *data;
    weakref *wnext, *wprev;     /* the referent's list, newest first */
};

static void weakref_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    (void)obj;
    (void)visit;
    (void)arg;
}

const rcgc_type rcgc__weakref_type = { "weakref", sizeof(weakref), weakref_traverse, NULL, NULL };

/* ---- The table: referent -> newest weak reference ---------------------------- */

static size_t wr_slot(const void *obj, size_t cap)
{
    uint64_t k = (uint64_t)(uintptr_t)obj * 0x9E3779B97F4A7C15ull;
    return (size_t)(k >> 32) & (cap - 1);
}

static wr_entry *wr_find(const rcgc_heap *h, const void *obj)
{
    for (size_t i = wr_slot(obj, h->wr_cap);; i = (i + 1) & (h->wr_cap - 1)) {
        if (h->wr_table[i].obj == obj)
            return &h->wr_table[i];
        if (!h->wr_table[i].obj)
            return NULL;
    }
}

/* Makes room for one more entry (load at most 1/2). */
static int wr_reserve(rcgc_heap *h)
{
    if ((h->wr_count + 1) * 2 <= h->wr_cap)
        return 0;
    size_t ncap = h->wr_cap ? h->wr_cap * 2 : 16;
    wr_entry *tab = rcgc__sys_alloc(h, ncap * sizeof *tab, 16);
    if (!tab)
        return -1;
    memset(tab, 0, ncap * sizeof *tab);
    for (size_t i = 0; i < h->wr_cap; i++) {
        if (!h->wr_table[i].obj)
            continue;
        size_t j = wr_slot(h->wr_table[i].obj, ncap);
        while (tab[j].obj)
            j = (j + 1) & (ncap - 1);
        tab[j] = h->wr_table[i];
    }
    if (h->wr_table)
        rcgc__sys_free(h, h->wr_table, h->wr_cap * sizeof *tab);
    h->wr_table = tab;
    h->wr_cap = ncap;
    return 0;
}

static void wr_insert(rcgc_heap *h, void *obj, weakref *first)
{
    size_t i = wr_slot(obj, h->wr_cap);
    while (h->wr_table[i].obj)
        i = (i + 1) & (h->wr_cap - 1);
    h->wr_table[i].obj = obj;
    h->wr_table[i].first = first;
    h->wr_count++;
    head_of(obj)->info |= F_WEAKREFS;
}

/* Removes obj's entry (backward-shift deletion keeps probe chains intact). */
static void wr_delete(rcgc_heap *h, wr_entry *e)
{
    head_of(e->obj)->info &= ~(uint32_t)F_WEAKREFS;
    size_t mask = h->wr_cap - 1, i = (size_t)(e - h->wr_table), j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!h->wr_table[j].obj)
            break;
        size_t home = wr_slot(h->wr_table[j].obj, h->wr_cap);
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            h->wr_table[i] = h->wr_table[j];
            i = j;
        }
    }
    h->wr_table[i].obj = NULL;
    h->wr_table[i].first = NULL;
    h->wr_count--;
}

/* Takes obj's whole list out of the table. */
static weakref *wr_take(rcgc_heap *h, void *obj)
{
    wr_entry *e = wr_find(h, obj);
    weakref *first = e->first;
    wr_delete(h, e);
    return first;
}

void rcgc__weakref_table_free(rcgc_heap *h)
{
    if (h->wr_table)
        rcgc__sys_free(h, h->wr_table, h->wr_cap * sizeof *h->wr_table);
    h->wr_table = NULL;
    h->wr_cap = h->wr_count = 0;
}

/* ---- The API ---------------------------------------------------------------- */

void *rcgc_weakref_new(void *obj, rcgc_weakref_callback cb, void *data)
{
    rcgc_heap *h = heap_of(obj);
    head_t *x = head_of(obj);
    if (x->info & (F_PENDING | F_RELEASING))
        return NULL;
    if (!(x->info & F_WEAKREFS) && wr_reserve(h) != 0)
        return NULL;
    weakref *w = rcgc_new(h, &rcgc__weakref_type);
    if (!w)
        return NULL;
    w->referent = obj;
    w->cb = cb;
    w->data = data;
    if (x->info & F_WEAKREFS) {
        wr_entry *e = wr_find(h, obj);
        w->wnext = e->first;
        e->first->wprev = w;
        e->first = w;
    } else {
        wr_insert(h, obj, w);
    }
    return w;
}

void *rcgc_weakref_get(void *wr)
{
    weakref *w = wr;
    if (!w->referent || (head_of(w->referent)->info & (F_PENDING | F_RELEASING)))
        return NULL;
    rcgc_incref(w->referent);
    return w->referent;
}

bool rcgc_is_weakref(const void *obj)
{
    return (head_of(obj)->info >> TYPE_SHIFT) == WEAKREF_TYPE_INDEX;
}

/* Detaches a dying weak reference from its referent's list. */
void rcgc__weakref_unlink(rcgc_heap *h, void *wr)
{
    weakref *w = wr;
    if (!w->referent)
        return;
    if (w->wprev)
        w->wprev->wnext = w->wnext;
    else {
        wr_entry *e = wr_find(h, w->referent);
        e->first = w->wnext;
        if (!w->wnext)
            wr_delete(h, e);
    }
    if (w->wnext)
        w->wnext->wprev = w->wprev;
    w->referent = NULL;
    w->wnext = w->wprev = NULL;
}

/* ---- Clearing on the refcount path ---------------------------------------------- */

/* Clears w, taken off its referent's list (both paths); returns the next one. */
static weakref *clear_one(weakref *w)
{
    weakref *next = w->wnext;
    w->referent = NULL;
    w->wnext = w->wprev = NULL;
    return next;
}

/* Whether w is alive: its count is not 0 (CPython's ob_refcnt > 0). A weak
   reference whose release has begun is still on its referent's list while
   the callbacks of weak references to it run. */
static bool weakref_alive(const weakref *w)
{
    return !(head_of(w)->info & (F_PENDING | F_RELEASING));
}

/* As PyObject_ClearWeakRefs: the newest weak references without a callback,
   two at most (CPython's basic reference and proxy, which stay at the head
   of the list), are cleared first, and nothing holds them. If one is left,
   it is cleared and its callback runs holding a reference to it, as the
   argument of a Python callback does. If more are left, every live one is
   held (CPython's tuple) and all are cleared; the callbacks run newest
   first, then the weak references are let go oldest first, as the tuple's
   release drops its items from the last. So a weak reference whose last
   reference a callback drops dies once all the callbacks have run, unless
   it was one of those cleared first. */
void rcgc__clear_weakrefs_and_call(rcgc_heap *h, head_t *x)
{
    weakref *w = wr_take(h, obj_of(x));
    for (int i = 0; i < 2 && w && !w->cb; i++)
        w = clear_one(w);
    if (!w)
        return;
    if (!w->wnext) {
        clear_one(w);
        if (w->cb && weakref_alive(w)) {
            rcgc_incref(w);
            w->cb(w, w->data);
            rcgc_decref(w);
        }
        return;
    }
    /* The held ones are chained through their cleared links, in list order. */
    weakref *first = NULL, *last = NULL;
    while (w) {
        weakref *next = clear_one(w);
        if (weakref_alive(w)) {
            rcgc_incref(w);
            w->wprev = last;
            if (last)
                last->wnext = w;
            else
                first = w;
            last = w;
        }
        w = next;
    }
    for (w = first; w; w = w->wnext)
        if (w->cb)
            w->cb(w, w->data);
    while (last) {
        weakref *prev = last->wprev;
        last->wnext = last->wprev = NULL;
        rcgc_decref(last);
        last = prev;
    }
}

/* ---- Clearing on the collector's path --------------------------------------------- */

/* A weak reference waiting in wrcb_to_call is cleared (referent NULL) and
   marked by its wprev pointing to itself, which no weak reference on a list
   has. */
bool rcgc__weakref_waiting(const void *wr)
{
    const weakref *w = wr;
    return w->wprev == w;
}

size_t rcgc__handle_weakrefs(rcgc_heap *h, head_t *unreachable, head_t *old, bool *called)
{
    head_t *wrcb = &h->wrcb_to_call;
    uint32_t end = ref_of(unreachable);
    for (uint32_t r = unreachable->next; r != end; r = ref_ptr(h, r)->next) {
        head_t *x = ref_ptr(h, r);
        if ((x->info >> TYPE_SHIFT) == WEAKREF_TYPE_INDEX)
            rcgc__weakref_unlink(h, obj_of(x));
        if (!(x->info & F_WEAKREFS))
            continue;
        weakref *w = wr_take(h, obj_of(x));
        while (w) {
            weakref *next = clear_one(w);
            head_t *wh = head_of(w);
            if (w->cb && !(wh->info & (F_COLLECTING | F_PENDING))) {
                rcgc_incref(w);
                w->wprev = w;
                if (wh->next) {
                    list_move(h, wh, wrcb);
                } else {
                    /* Untracked (by the program, or immortal): it waits its
                       turn in the list, marked to leave it untracked. */
                    set_gen(wh, WRCB_UNTRACKED);
                    list_append(h, wh, wrcb);
                }
            }
            w = next;
        }
    }
    size_t freed = 0;
    while (!list_is_empty(wrcb)) {
        head_t *wh = list_first(h, wrcb);
        weakref *w = obj_of(wh);
        *called = true;
        w->cb(w, w->data);
        /* CPython tells a weak reference freed by this release from one
           still alive by whether it is still first in the list. Here it
           stays first whatever the callbacks did (rcgc_untrack and
           rcgc_make_immortal only mark it WRCB_UNTRACKED), so the count
           tells. */
        bool dies = wh->refcnt == 1;
        w->wprev = NULL;
        rcgc_decref(w);
        if (dies) {
            freed++;
        } else if (gen_of(wh) == WRCB_UNTRACKED) {
            list_remove(h, wh);
        } else {
            list_move(h, wh, old);
            set_gen(wh, promote_gen(h));
        }
    }
    return freed;
}
