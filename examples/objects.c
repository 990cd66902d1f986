/*
 * The object system of docs/tutorial.md: strings, lists, dicts and instances
 * with finalizers, as a small dynamic language would build them on rcgc, and
 * a weak-value cache. Each step_* function is a step of the tutorial and
 * prints what happens; the tutorial shows that output, and a test
 * (tests/check_docs.py) checks that the tutorial's code and output are still
 * this file's. A CHECK that fails makes the program exit with status 1.
 */
#include <rcgc.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond) check((cond), #cond, __LINE__)

static void check(bool ok, const char *what, int line)
{
    if (!ok) {
        printf("CHECK FAILED at line %d: %s\n", line, what);
        failures++;
    }
}

/* Constructors return NULL when memory is short; this program just stops. */
static void *must(void *p)
{
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static void must_ok(int status)
{
    must(status == 0 ? "" : NULL);
}

/* Objects alive in the heap, tracked or not. */
static size_t live(const rcgc_heap *h)
{
    rcgc_memory_stats m;
    rcgc_get_memory_stats(h, &m);
    return m.objects;
}

/* ---- Strings ---------------------------------------------------------------- */

typedef struct str {
    size_t len;
    char chars[];           /* len characters and a '\0' */
} str;

/* No traverse: a string holds no references, so it is never tracked and the
   collector never looks at it. No destroy: the characters are in the object. */
static const rcgc_type str_type = { "str", sizeof(str), NULL, NULL, NULL };

/* A new string (a new reference), or NULL when memory is short. */
static str *str_new(rcgc_heap *h, const char *chars)
{
    size_t len = strlen(chars);
    str *s = rcgc_new_sized(h, &str_type, sizeof(str) + len + 1);
    if (!s)
        return NULL;
    s->len = len;
    memcpy(s->chars, chars, len + 1);
    return s;
}

/* ---- Lists ------------------------------------------------------------------ */

typedef struct list {
    size_t len, cap;
    void **items;           /* malloc'd; each item is a reference the list owns */
} list;

static void list_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    list *l = obj;
    for (size_t i = 0; i < l->len; i++)
        visit(&l->items[i], arg);
}

/* The references are already released when destroy runs; what is left is the
   array, which is not an rcgc object. */
static void list_destroy(void *obj)
{
    free(((list *)obj)->items);
}

static const rcgc_type list_type = { "list", sizeof(list), list_traverse, NULL, list_destroy };

static list *list_new(rcgc_heap *h)
{
    return rcgc_new(h, &list_type);
}

/* Appends item (borrowed: the list takes a reference of its own). Returns 0,
   or -1 when memory is short. */
static int list_append(list *l, void *item)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 4;
        void **items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return -1;
        l->items = items;
        l->cap = cap;
    }
    rcgc_incref(item);
    l->items[l->len++] = item;
    return 0;
}

/* The i-th item, borrowed. NULL past the end, or once the collector cleared it. */
static void *list_get(const list *l, size_t i)
{
    return i < l->len ? l->items[i] : NULL;
}

/* ---- Dicts ------------------------------------------------------------------ */

typedef struct entry {
    void *key;              /* a str */
    void *value;
} entry;

typedef struct dict {
    size_t len, cap;
    entry *entries;         /* malloc'd; keys and values are owned references */
} dict;

static void dict_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    dict *d = obj;
    for (size_t i = 0; i < d->len; i++) {
        visit(&d->entries[i].key, arg);
        visit(&d->entries[i].value, arg);
    }
}

static void dict_destroy(void *obj)
{
    free(((dict *)obj)->entries);
}

static const rcgc_type dict_type = { "dict", sizeof(dict), dict_traverse, NULL, dict_destroy };

static dict *dict_new(rcgc_heap *h)
{
    return rcgc_new(h, &dict_type);
}

static entry *dict_find(const dict *d, const char *key)
{
    for (size_t i = 0; i < d->len; i++) {
        const str *k = d->entries[i].key;
        if (k && strcmp(k->chars, key) == 0)
            return &d->entries[i];
    }
    return NULL;
}

/* d[key] = value. value is borrowed (the dict takes its own reference); a
   value it replaces is released. Returns 0, or -1 when memory is short. */
static int dict_set(dict *d, const char *key, void *value)
{
    entry *e = dict_find(d, key);
    if (e) {
        rcgc_set(&e->value, value);
        return 0;
    }
    /* Allocate first, change d afterwards: a string cannot start a
       collection, but allocating a container can, and a collection
       traverses d. */
    str *k = str_new(rcgc_heap_of(d), key);
    if (!k)
        return -1;
    if (d->len == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 4;
        entry *entries = realloc(d->entries, cap * sizeof *entries);
        if (!entries) {
            rcgc_decref(k);
            return -1;
        }
        d->entries = entries;
        d->cap = cap;
    }
    rcgc_incref(value);
    d->entries[d->len].key = k;     /* k's reference moves into the dict */
    d->entries[d->len].value = value;
    d->len++;
    return 0;
}

/* d[key], borrowed, or NULL. */
static void *dict_get(const dict *d, const char *key)
{
    entry *e = dict_find(d, key);
    return e ? e->value : NULL;
}

/* del d[key]. Returns 0, or -1 when there is no such key. */
static int dict_del(dict *d, const char *key)
{
    entry *e = dict_find(d, key);
    if (!e)
        return -1;
    entry gone = *e;
    *e = d->entries[--d->len];
    /* The dict no longer refers to them: now they may be released, which can
       run code (a finalizer) that looks at d. */
    rcgc_xdecref(gone.key);
    rcgc_xdecref(gone.value);
    return 0;
}

/* ---- Instances -------------------------------------------------------------- */

typedef struct instance {
    void *cls;                              /* str: the class name */
    void *attrs;                            /* dict: the attributes */
    void (*del)(struct instance *self);     /* the class's __del__, or NULL */
} instance;

static void instance_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    instance *o = obj;
    visit(&o->cls, arg);
    visit(&o->attrs, arg);
}

/* The finalizer runs once, before the instance dies, with it intact. */
static void instance_finalize(void *obj)
{
    instance *o = obj;
    if (o->del)
        o->del(o);
}

static const rcgc_type instance_type = { "instance", sizeof(instance), instance_traverse, instance_finalize, NULL };

static instance *instance_new(rcgc_heap *h, const char *cls, void (*del)(instance *))
{
    instance *o = rcgc_new(h, &instance_type);
    if (!o)
        return NULL;
    o->del = del;
    o->cls = str_new(h, cls);       /* new references: stored, not increfed */
    o->attrs = dict_new(h);
    if (!o->cls || !o->attrs) {
        rcgc_decref(o);
        return NULL;
    }
    return o;
}

static const char *class_of(const void *obj)
{
    return ((const str *)((const instance *)obj)->cls)->chars;
}

static const char *type_name(const void *obj)
{
    return rcgc_type_of(obj)->name;
}

/* ---- Step 1: a heap and a string --------------------------------------------- */

static void step_strings(rcgc_heap *h)
{
    str *s = must(str_new(h, "hello"));
    printf("\"%s\": refcount %zu, tracked %s, %zu payload bytes\n", s->chars, rcgc_refcount(s),
           rcgc_is_tracked(s) ? "yes" : "no", rcgc_size_of(s));
    rcgc_incref(s);
    printf("after incref: refcount %zu\n", rcgc_refcount(s));
    rcgc_decref(s);
    rcgc_decref(s);
    printf("after two decrefs: objects alive %zu\n", live(h));
    CHECK(live(h) == 0);
}

/* ---- Step 2: a list that owns its items --------------------------------------- */

static void step_lists(rcgc_heap *h)
{
    list *l = must(list_new(h));
    str *a = must(str_new(h, "a"));
    must_ok(list_append(l, a));
    printf("after append: \"a\" has refcount %zu\n", rcgc_refcount(a));
    rcgc_decref(a);                 /* the list holds the only reference now */
    printf("after our decref: %zu, still in the list: \"%s\"\n", rcgc_refcount(a),
           ((str *)list_get(l, 0))->chars);
    printf("list tracked: %s; objects alive %zu\n", rcgc_is_tracked(l) ? "yes" : "no", live(h));
    rcgc_decref(l);                 /* the list dies, and releases "a" */
    printf("after dropping the list: objects alive %zu\n", live(h));
    CHECK(live(h) == 0);
}

/* ---- Step 3: a dict, and replacing a value ------------------------------------ */

static void step_dicts(rcgc_heap *h)
{
    dict *d = must(dict_new(h));
    str *one = must(str_new(h, "one"));
    must_ok(dict_set(d, "x", one));
    rcgc_decref(one);
    printf("d[\"x\"] = \"%s\": objects alive %zu (d, the key, the value)\n",
           ((str *)dict_get(d, "x"))->chars, live(h));
    str *two = must(str_new(h, "two"));
    must_ok(dict_set(d, "x", two));  /* releases "one": it dies at once */
    rcgc_decref(two);
    printf("d[\"x\"] = \"%s\": objects alive %zu\n", ((str *)dict_get(d, "x"))->chars, live(h));
    rcgc_decref(d);
    printf("after dropping d: objects alive %zu\n", live(h));
    CHECK(live(h) == 0);
}

/* ---- Step 4: cycles ----------------------------------------------------------- */

static void step_cycles(rcgc_heap *h)
{
    list *l = must(list_new(h));
    must_ok(list_append(l, l));     /* l = []; l.append(l) */
    printf("l holds itself: refcount %zu\n", rcgc_refcount(l));
    rcgc_decref(l);                 /* del l */
    printf("after del l: refcount %zu; objects alive %zu\n", rcgc_refcount(l), live(h));

    dict *d = must(dict_new(h));
    list *m = must(list_new(h));
    must_ok(dict_set(d, "members", m));
    must_ok(list_append(m, d));     /* d["members"] = m; m.append(d) */
    rcgc_decref(d);
    rcgc_decref(m);
    printf("after del d, m: objects alive %zu\n", live(h));

    ptrdiff_t n = rcgc_collect(h, 2);
    printf("rcgc_collect: %td unreachable; objects alive %zu\n", n, live(h));
    CHECK(n == 3 && live(h) == 0);
}

/* ---- Step 5: finalizers ------------------------------------------------------- */

static void closer_del(instance *self)
{
    instance *partner = dict_get(self->attrs, "partner");
    printf("  __del__ of a %s; its partner is %s\n", class_of(self),
           partner ? class_of(partner) : "none");
}

static void step_finalizers(rcgc_heap *h)
{
    instance *c = must(instance_new(h, "Closer", closer_del));
    rcgc_decref(c);                 /* no cycle: __del__ runs now */
    printf("after dropping a lone Closer: objects alive %zu\n", live(h));

    instance *a = must(instance_new(h, "Closer", closer_del));
    instance *b = must(instance_new(h, "Plain", NULL));
    must_ok(dict_set(a->attrs, "partner", b));
    must_ok(dict_set(b->attrs, "partner", a));
    rcgc_decref(a);
    rcgc_decref(b);
    printf("a and b dropped: objects alive %zu\n", live(h));
    ptrdiff_t n = rcgc_collect(h, 2);
    printf("rcgc_collect: %td unreachable; objects alive %zu\n", n, live(h));
    CHECK(n == 4 && live(h) == 0);
}

/* ---- Step 6: a weak-value cache ----------------------------------------------- */

/* The weak reference's callback: its instance is dying, so the cache (data,
   borrowed) forgets the entry that held the weak reference. */
static void cache_forget(void *weakref, void *data)
{
    dict *cache = data;
    for (size_t i = 0; i < cache->len; i++) {
        if (cache->entries[i].value == weakref) {
            const str *name = cache->entries[i].key;
            printf("  callback: the cache forgets \"%s\"\n", name->chars);
            must_ok(dict_del(cache, name->chars));
            return;
        }
    }
}

/* cache[name] = a weak reference to obj. */
static int cache_put(dict *cache, const char *name, void *obj)
{
    void *w = rcgc_weakref_new(obj, cache_forget, cache);
    if (!w)
        return -1;
    int status = dict_set(cache, name, w);
    rcgc_decref(w);
    return status;
}

/* cache[name]: a new reference to the object, or NULL if it died. */
static void *cache_get(dict *cache, const char *name)
{
    void *w = dict_get(cache, name);
    return w ? rcgc_weakref_get(w) : NULL;
}

static void step_weak_cache(rcgc_heap *h)
{
    dict *cache = must(dict_new(h));
    instance *alice = must(instance_new(h, "Person", NULL));
    must_ok(cache_put(cache, "alice", alice));
    instance *found = cache_get(cache, "alice");
    printf("cache[\"alice\"] is alice: %s; alice's refcount %zu\n", found == alice ? "yes" : "no",
           rcgc_refcount(alice));
    rcgc_xdecref(found);
    rcgc_decref(alice);             /* the cache does not keep her alive */
    printf("after dropping alice: cache entries %zu\n", cache->len);

    instance *bob = must(instance_new(h, "Person", NULL));
    must_ok(dict_set(bob->attrs, "self", bob));
    must_ok(cache_put(cache, "bob", bob));
    rcgc_decref(bob);               /* bob is in a cycle: he stays, and so does his entry */
    printf("after dropping bob: cache entries %zu\n", cache->len);
    ptrdiff_t n = rcgc_collect(h, 2);
    printf("rcgc_collect: %td unreachable; cache entries %zu, objects alive %zu\n", n, cache->len,
           live(h));
    CHECK(n == 3 && cache->len == 0 && live(h) == 1);
    rcgc_decref(cache);
}

/* ---- Step 7: automatic collection --------------------------------------------- */

static void log_collection(rcgc_heap *h, rcgc_phase phase, const rcgc_gc_info *info, void *data)
{
    (void)h;
    (void)data;
    if (phase == RCGC_PHASE_STOP)
        printf("  collection of generation %d: %zu unreachable\n", info->generation, info->collected);
}

static void step_automatic(rcgc_heap *h)
{
    must_ok(rcgc_callback_add(h, log_collection, NULL));
    for (int i = 0; i < 2000; i++) {
        list *l = must(list_new(h));
        must_ok(list_append(l, l));
        rcgc_decref(l);
    }
    size_t count[3];
    rcgc_get_count(h, count);
    printf("2000 cycles made: objects alive %zu; count (%zu, %zu, %zu)\n", live(h), count[0], count[1],
           count[2]);
    CHECK(count[0] == 598 && count[1] == 2 && count[2] == 0);
    ptrdiff_t n = rcgc_collect(h, 0);
    printf("rcgc_collect(h, 0): %td unreachable\n", n);
    CHECK(n == 599 && live(h) == 0);
}

/* ---- Step 8: who holds this? -------------------------------------------------- */

static void print_referrer(void *obj, void *arg)
{
    (void)arg;
    printf("  held by a %s\n", type_name(obj));
}

/* Prints the shortest chain of references from a root to obj, whose name is
   given; the other objects are shown by class or type. Returns its length. */
static ptrdiff_t print_why(rcgc_heap *h, const void *obj, const char *name)
{
    void *chain[8];
    ptrdiff_t n = rcgc_why_alive(h, obj, chain, 8);
    if (n == 0) {
        printf("  no root reaches %s: a collection would free it\n", name);
        return 0;
    }
    printf("  ");
    for (ptrdiff_t i = 0; i < n - 1 && i < 8; i++)
        printf("%s -> ", rcgc_type_of(chain[i]) == &instance_type ? class_of(chain[i]) : type_name(chain[i]));
    printf("%s%s\n", name, n == 1 ? ", a root: held from outside the tracked objects" : "");
    return n;
}

static void step_referrers(rcgc_heap *h)
{
    instance *app = must(instance_new(h, "App", NULL));
    list *items = must(list_new(h));
    must_ok(dict_set(app->attrs, "items", items));
    list *recent = must(list_new(h));
    must_ok(list_append(recent, items));
    printf("items: refcount %zu\n", rcgc_refcount(items));
    size_t n = rcgc_get_referrers(h, items, print_referrer, NULL);
    printf("%zu tracked referrers; the third reference is ours\n", n);
    CHECK(n == 2);

    printf("why is items alive?\n");
    CHECK(print_why(h, items, "items") == 1);
    rcgc_decref(items);             /* now only recent and app's dict hold it */
    CHECK(print_why(h, items, "items") == 2);
    rcgc_decref(recent);
    CHECK(print_why(h, items, "items") == 3);
    must_ok(dict_set(app->attrs, "self", app));
    rcgc_decref(app);               /* app holds itself, and nothing else does */
    CHECK(print_why(h, items, "items") == 0);
    ptrdiff_t freed = rcgc_collect(h, 2);
    printf("rcgc_collect: %td unreachable; objects alive %zu\n", freed, live(h));
    CHECK(freed == 3 && live(h) == 0);
}

/* ---- main ----------------------------------------------------------------------- */

static const struct {
    const char *title;
    void (*run)(rcgc_heap *h);
} steps[] = {
    { "1. a heap and a string", step_strings },
    { "2. a list that owns its items", step_lists },
    { "3. a dict, and replacing a value", step_dicts },
    { "4. cycles", step_cycles },
    { "5. finalizers", step_finalizers },
    { "6. a weak-value cache", step_weak_cache },
    { "7. automatic collection", step_automatic },
    { "8. who holds this?", step_referrers },
};

/* Tells the heap where lists and instances keep their references: the
   collector and the release then read them without calling traverse
   (docs/tutorial.md, "Speed"). Nothing the program prints changes. */
static void tell_layouts(rcgc_heap *h)
{
    static const size_t instance_fields[] = { offsetof(instance, cls), offsetof(instance, attrs) };
    must_ok(rcgc_set_type_items(h, &list_type, offsetof(list, len), offsetof(list, items), RCGC_ITEMS_ARRAY));
    must_ok(rcgc_set_type_entries(h, &dict_type, offsetof(dict, len), offsetof(dict, entries), sizeof(entry),
                                  offsetof(entry, key), 2, RCGC_ITEMS_ARRAY));
    must_ok(rcgc_set_type_fields(h, &instance_type, instance_fields, 2));
}

int main(void)
{
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        printf("== %s\n", steps[i].title);
        rcgc_heap *h = must(rcgc_heap_new(NULL));
        tell_layouts(h);
        steps[i].run(h);
        rcgc_heap_free(h);
    }
    return failures ? 1 : 0;
}
