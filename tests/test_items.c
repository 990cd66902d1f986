/*
 * Items (rcgc_set_type_items): objects that keep a variable number of
 * references, as CPython's tuples (in the object, visited and released last
 * first) and lists (in an array of the program's, first to last) do, with and
 * without a reference field before them (rcgc_set_type_fields); and entries
 * (rcgc_set_type_entries) of several words, two of them references, as a
 * dict's { hash, key, value } in an array and a table of { first, second,
 * hash } in the object, visited last first.
 *
 * What is checked: the arguments the call refuses; the order in which a
 * release drops the items, which is the traverse order; a release whose items'
 * destroy functions shrink the count and move the array; cycles through
 * items, collected with hooks and in bulk; immutable tuples untracked by a
 * collection when their items are; chains of nested items deeper than the
 * trash list's limit; and random graphs built on two heaps, one told of the
 * items and one that calls traverse, which must collect the same objects and
 * run the same finalizers and destroys in the same order, with the same
 * objects in the same order in the generations.
 */
#include "rcgc.h"
#include "common.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A sequence. A tuple keeps its items in `items` and visits them last first;
   a list keeps them in `array` (capacity `cap`) and visits them first to
   last; a record visits `attr`, then its array as a list does. */
typedef struct seq seq;
struct seq {
    size_t n;
    size_t cap;
    void **array;
    void *attr;
    evlog *log;
    const char *name;
    void (*on_destroy)(seq *self);
    void *items[];
};

static void tuple_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    seq *s = obj;
    for (size_t i = s->n; i-- > 0;)
        visit(&s->items[i], arg);
}

static void list_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    seq *s = obj;
    for (size_t i = 0; i < s->n; i++)
        visit(&s->array[i], arg);
}

/* A dict's entries: { hash, key, value } in `array`, three words each, n of
   them; key then value, first entry to last. */
static void dict_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    seq *s = obj;
    for (size_t i = 0; i < s->n; i++) {
        visit(&s->array[3 * i + 1], arg);
        visit(&s->array[3 * i + 2], arg);
    }
}

/* A table's entries: { first, second, hash } in `items`; the last entry's
   second reference first. */
static void table_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    seq *s = obj;
    for (size_t i = s->n; i-- > 0;) {
        visit(&s->items[3 * i + 1], arg);
        visit(&s->items[3 * i], arg);
    }
}

static void record_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    seq *s = obj;
    visit(&s->attr, arg);
    list_traverse(obj, visit, arg);
}

/* Logs "~name", runs the test's hook, frees the array. */
static void seq_destroy(void *obj)
{
    seq *s = obj;
    if (s->log) {
        char word[40];
        snprintf(word, sizeof word, "~%s", s->name ? s->name : "?");
        log_event(s->log, word);
        s->log->destroyed++;
    }
    if (s->on_destroy)
        s->on_destroy(s);
    free(s->array);
}

static void seq_finalize(void *obj)
{
    seq *s = obj;
    s->log->fin_calls++;
    log_event(s->log, s->name ? s->name : "?");
}

static const rcgc_type tuple_type = { "tuple", sizeof(seq), tuple_traverse, NULL, seq_destroy };
static const rcgc_type fin_tuple_type = { "fin tuple", sizeof(seq), tuple_traverse, seq_finalize, seq_destroy };
static const rcgc_type plain_tuple_type = { "plain tuple", sizeof(seq), tuple_traverse, NULL, NULL };
static const rcgc_type list_type = { "list", sizeof(seq), list_traverse, NULL, seq_destroy };
static const rcgc_type fin_list_type = { "fin list", sizeof(seq), list_traverse, seq_finalize, seq_destroy };
static const rcgc_type record_type = { "record", sizeof(seq), record_traverse, NULL, seq_destroy };
static const rcgc_type leaf_type = { "leaf", sizeof(seq), NULL, NULL, seq_destroy };
static const rcgc_type dict_type = { "dict", sizeof(seq), dict_traverse, NULL, seq_destroy };
static const rcgc_type fin_dict_type = { "fin dict", sizeof(seq), dict_traverse, seq_finalize, seq_destroy };
static const rcgc_type table_type = { "table", sizeof(seq), table_traverse, NULL, seq_destroy };

#define ENTRY (3 * sizeof(void *))

static const size_t attr_field[] = { offsetof(seq, attr) };

/* Tells h where the types keep their references. */
static void tell_items(rcgc_heap *h)
{
    const rcgc_type *tuples[] = { &tuple_type, &fin_tuple_type, &plain_tuple_type };
    for (size_t i = 0; i < 3; i++)
        CHECK_EQ(rcgc_set_type_items(h, tuples[i], offsetof(seq, n), offsetof(seq, items),
                                     RCGC_ITEMS_INLINE | RCGC_ITEMS_REVERSE), 0);
    CHECK_EQ(rcgc_set_type_items(h, &list_type, offsetof(seq, n), offsetof(seq, array), RCGC_ITEMS_ARRAY), 0);
    CHECK_EQ(rcgc_set_type_items(h, &fin_list_type, offsetof(seq, n), offsetof(seq, array), RCGC_ITEMS_ARRAY), 0);
    CHECK_EQ(rcgc_set_type_fields(h, &record_type, attr_field, 1), 0);
    CHECK_EQ(rcgc_set_type_items(h, &record_type, offsetof(seq, n), offsetof(seq, array), RCGC_ITEMS_ARRAY), 0);
    CHECK_EQ(rcgc_set_type_entries(h, &dict_type, offsetof(seq, n), offsetof(seq, array), ENTRY, sizeof(void *), 2,
                                   RCGC_ITEMS_ARRAY), 0);
    CHECK_EQ(rcgc_set_type_entries(h, &fin_dict_type, offsetof(seq, n), offsetof(seq, array), ENTRY,
                                   sizeof(void *), 2, RCGC_ITEMS_ARRAY), 0);
    CHECK_EQ(rcgc_set_type_entries(h, &table_type, offsetof(seq, n), offsetof(seq, items), ENTRY, 0, 2,
                                   RCGC_ITEMS_INLINE | RCGC_ITEMS_REVERSE), 0);
}

/* An object of type t with n entries of entry_bytes each in its payload
   (items), which the caller fills. */
static seq *new_inline(rcgc_heap *h, const rcgc_type *t, evlog *log, const char *name, size_t n, size_t entry_bytes)
{
    seq *s = rcgc_new_sized(h, t, sizeof(seq) + n * entry_bytes);
    CHECK(s != NULL);
    if (!s)
        return NULL;
    s->log = log;
    s->name = name;
    s->n = n;
    return s;
}

/* A tuple of n items, each a new reference (or NULL) taken from items. */
static seq *new_tuple(rcgc_heap *h, const rcgc_type *t, evlog *log, const char *name, void *const *items, size_t n)
{
    seq *s = new_inline(h, t, log, name, n, sizeof(void *));
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        s->items[i] = items[i];
        if (items[i])
            rcgc_incref(items[i]);
    }
    return s;
}

static seq *new_seq(rcgc_heap *h, const rcgc_type *t, evlog *log, const char *name)
{
    seq *s = rcgc_new(h, t);
    CHECK(s != NULL);
    if (s) {
        s->log = log;
        s->name = name;
    }
    return s;
}

/* Makes room in s's array, of entries of entry_bytes each, for one more
   entry: a full array is moved to one twice its size. false: memory is
   short. */
static bool make_room(seq *s, size_t entry_bytes)
{
    if (s->n < s->cap)
        return true;
    size_t cap = s->cap ? 2 * s->cap : 1;
    void **a = malloc(cap * entry_bytes);
    CHECK(a != NULL);
    if (!a)
        return false;
    if (s->n)
        memcpy(a, s->array, s->n * entry_bytes);
    free(s->array);
    s->array = a;
    s->cap = cap;
    return true;
}

/* Appends a new reference to v (or NULL) to a list, growing its array by
   moving it. */
static void append(seq *s, void *v)
{
    if (!make_room(s, sizeof(void *)))
        return;
    if (v)
        rcgc_incref(v);
    s->array[s->n++] = v;
}

/* Adds an entry { hash, key, value } to a dict, with new references to key
   and value (either may be NULL), growing its array by moving it. */
static void dict_add(seq *s, size_t hash, void *key, void *value)
{
    if (!make_room(s, ENTRY))
        return;
    void **e = &s->array[3 * s->n];
    e[0] = (void *)(uintptr_t)hash;
    e[1] = key;
    e[2] = value;
    if (key)
        rcgc_incref(key);
    if (value)
        rcgc_incref(value);
    s->n++;
}

/* A table of n entries, entry i { refs[2i], refs[2i + 1], i }, with new
   references (or NULL) taken from refs. */
static seq *new_table(rcgc_heap *h, const rcgc_type *t, evlog *log, const char *name, void *const *refs, size_t n)
{
    seq *s = new_inline(h, t, log, name, n, ENTRY);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < 2; j++) {
            s->items[3 * i + j] = refs[2 * i + j];
            if (refs[2 * i + j])
                rcgc_incref(refs[2 * i + j]);
        }
        s->items[3 * i + 2] = (void *)(uintptr_t)i;
    }
    return s;
}

/* ------------------------------------------------------------------------- */

static void test_arguments(void)
{
    static const rcgc_type no_traverse = { "no traverse", sizeof(seq), NULL, NULL, NULL };
    rcgc_heap *h = fresh_heap();
    size_t n = offsetof(seq, n), items = offsetof(seq, items), array = offsetof(seq, array);
    CHECK_EQ(rcgc_set_type_items(NULL, &list_type, n, array, RCGC_ITEMS_ARRAY), -1);
    CHECK_EQ(rcgc_set_type_items(h, NULL, n, array, RCGC_ITEMS_ARRAY), -1);
    CHECK_EQ(rcgc_set_type_items(h, &no_traverse, n, array, RCGC_ITEMS_ARRAY), -1);
    CHECK_EQ(rcgc_set_type_items(h, &list_type, n, array, RCGC_ITEMS_REVERSE), -1);
    CHECK_EQ(rcgc_set_type_items(h, &list_type, n, array, RCGC_ITEMS_INLINE | RCGC_ITEMS_ARRAY), -1);
    CHECK_EQ(rcgc_set_type_items(h, &list_type, n, array, RCGC_ITEMS_ARRAY | 0x8u), -1);
    CHECK_EQ(rcgc_set_type_items(h, &list_type, n + 4, array, RCGC_ITEMS_ARRAY), -1);     /* misaligned count */
    CHECK_EQ(rcgc_set_type_items(h, &list_type, n, array + 4, RCGC_ITEMS_ARRAY), -1);     /* misaligned array */
    CHECK_EQ(rcgc_set_type_items(h, &list_type, sizeof(seq), array, RCGC_ITEMS_ARRAY), -1);
    CHECK_EQ(rcgc_set_type_items(h, &list_type, n, sizeof(seq), RCGC_ITEMS_ARRAY), -1);   /* the address outside */
    CHECK_EQ(rcgc_set_type_items(h, &tuple_type, n, items + 8, RCGC_ITEMS_INLINE), -1);   /* past the type */
    CHECK_EQ(rcgc_set_type_items(h, &tuple_type, n, items, RCGC_ITEMS_INLINE), 0);       /* at its end */
    CHECK_EQ(rcgc_set_type_items(h, &list_type, n, array, RCGC_ITEMS_ARRAY | RCGC_ITEMS_REVERSE), 0);
    CHECK(rcgc_new_sized(h, &tuple_type, sizeof(seq) - 1) == NULL);
    CHECK(rcgc_new_sized_untracked(h, &list_type, sizeof(seq) - 8) == NULL);
    /* Taken back: the payload may be smaller again (the type's traverse
       decides what it reads; this one reads the count only). */
    CHECK_EQ(rcgc_set_type_items(h, &plain_tuple_type, n, items, RCGC_ITEMS_INLINE), 0);
    CHECK(rcgc_new_sized_untracked(h, &plain_tuple_type, 8) == NULL);
    CHECK_EQ(rcgc_set_type_items(h, &plain_tuple_type, 0, 0, 0), 0);
    void *small = rcgc_new_sized_untracked(h, &plain_tuple_type, 8);
    CHECK(small != NULL);
    rcgc_decref(small);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

static void test_entries_arguments(void)
{
    rcgc_heap *h = fresh_heap();
    size_t n = offsetof(seq, n), items = offsetof(seq, items), array = offsetof(seq, array), w = sizeof(void *);
    const unsigned a = RCGC_ITEMS_ARRAY;
    CHECK_EQ(rcgc_set_type_entries(NULL, &dict_type, n, array, ENTRY, w, 2, a), -1);
    CHECK_EQ(rcgc_set_type_entries(h, &dict_type, n, array, ENTRY, w, 2, RCGC_ITEMS_REVERSE), -1);
    CHECK_EQ(rcgc_set_type_entries(h, &dict_type, n + 4, array, ENTRY, w, 2, a), -1);
    CHECK_EQ(rcgc_set_type_entries(h, &dict_type, n, array, 0, 0, 1, a), -1);             /* no entry */
    CHECK_EQ(rcgc_set_type_entries(h, &dict_type, n, array, ENTRY + 4, w, 2, a), -1);     /* unaligned entries */
    CHECK_EQ(rcgc_set_type_entries(h, &dict_type, n, array, ENTRY, w, 0, a), -1);         /* no reference */
    CHECK_EQ(rcgc_set_type_entries(h, &dict_type, n, array, ENTRY, w + 4, 1, a), -1);     /* a misaligned one */
    CHECK_EQ(rcgc_set_type_entries(h, &dict_type, n, array, ENTRY, w, 3, a), -1);         /* past the entry */
    CHECK_EQ(rcgc_set_type_entries(h, &dict_type, n, array, ENTRY, ENTRY, 1, a), -1);
    CHECK_EQ(rcgc_set_type_entries(h, &dict_type, n, array, ENTRY, 0, SIZE_MAX / 4, a), -1);
    CHECK_EQ(rcgc_set_type_entries(h, &dict_type, n, array, 65536, 0, 1, a), -1);        /* too large */
    CHECK_EQ(rcgc_set_type_entries(h, &dict_type, n, array, 65528, 65520, 1, a), 0);     /* the largest */
    CHECK_EQ(rcgc_set_type_entries(h, &table_type, n, items + 8, ENTRY, 0, 2, RCGC_ITEMS_INLINE), -1);
    CHECK_EQ(rcgc_set_type_entries(h, &dict_type, n, array, ENTRY, 0, 3, a), 0);          /* the whole entry */
    CHECK_EQ(rcgc_set_type_entries(h, &dict_type, n, array, ENTRY, 2 * w, 1, a), 0);      /* its last word */
    CHECK_EQ(rcgc_set_type_entries(h, &dict_type, n, array, ENTRY, w, 2, a), 0);
    CHECK(rcgc_new_sized(h, &dict_type, sizeof(seq) - 8) == NULL);
    CHECK_EQ(rcgc_set_type_entries(h, &dict_type, 1, 3, 5, 7, 0, 0), 0);                  /* taken back */
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* Four leaves named a to d, logging to log, which is cleared first. */
static void make_leaves(rcgc_heap *h, evlog *log, seq *leaves[4])
{
    memset(log, 0, sizeof *log);
    static const char *const names[] = { "a", "b", "c", "d" };
    for (int i = 0; i < 4; i++)
        leaves[i] = new_seq(h, &leaf_type, log, names[i]);
}

/* A heap told of the items or not, with a cleared log and four leaves. */
static rcgc_heap *heap_with_leaves(bool told, evlog *log, seq *leaves[4])
{
    rcgc_heap *h = fresh_heap();
    if (told)
        tell_items(h);
    make_leaves(h, log, leaves);
    return h;
}

/* A release drops the items in traverse order: a list's first to last, a
   tuple's last first (as CPython's list_dealloc and tupledealloc), after a
   record's field; NULL items are passed over. The same on a heap that calls
   traverse, and for a plain tuple, whose release takes the plain path. */
static void check_release_order(bool told)
{
    evlog log;
    seq *leaves[4];
    rcgc_heap *h = heap_with_leaves(told, &log, leaves);

    seq *list = new_seq(h, &list_type, &log, "list");
    for (int i = 0; i < 4; i++)
        append(list, i == 2 ? NULL : leaves[i]);
    seq *record = new_seq(h, &record_type, &log, "record");
    rcgc_set(&record->attr, leaves[3]);
    append(record, leaves[0]);
    append(record, leaves[1]);
    void *items[] = { leaves[0], NULL, leaves[2], leaves[3] };
    seq *tuple = new_tuple(h, &tuple_type, &log, "tuple", items, 4);
    seq *plain = new_tuple(h, &plain_tuple_type, NULL, NULL, items, 4);
    for (int i = 0; i < 4; i++)
        rcgc_decref(leaves[i]);

    rcgc_decref(plain);
    CHECK_STR(log.text, "");
    rcgc_decref(list);
    CHECK_STR(log.text, "~list");
    rcgc_decref(record);
    CHECK_STR(log.text, "~list ~b ~record");
    rcgc_decref(tuple);
    CHECK_STR(log.text, "~list ~b ~record ~d ~c ~a ~tuple");
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* A release drops entries' references in traverse order too: a dict's key
   then value, first entry to last; a table's from the last entry's second
   reference back; NULL ones passed over, and the words between the
   references (a dict's hash, a table's) never read as references. */
static void check_entries_release_order(bool told)
{
    evlog log;
    seq *leaves[4];
    rcgc_heap *h = heap_with_leaves(told, &log, leaves);

    seq *dict = new_seq(h, &dict_type, &log, "dict");
    dict_add(dict, 7, leaves[1], leaves[0]);
    dict_add(dict, 8, NULL, leaves[3]);
    dict_add(dict, 9, leaves[2], NULL);
    for (int i = 0; i < 4; i++)
        rcgc_decref(leaves[i]);
    rcgc_decref(dict);
    CHECK_STR(log.text, "~b ~a ~d ~c ~dict");
    CHECK_EQ(live_objects(h), 0);

    make_leaves(h, &log, leaves);
    void *refs[] = { leaves[0], leaves[1], leaves[2], NULL, NULL, leaves[3] };
    seq *table = new_table(h, &table_type, &log, "table", refs, 3);
    for (int i = 0; i < 4; i++)
        rcgc_decref(leaves[i]);
    rcgc_decref(table);
    CHECK_STR(log.text, "~d ~c ~b ~a ~table");
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

static void test_release_order(void)
{
    check_release_order(true);
    check_release_order(false);
    check_entries_release_order(true);
    check_entries_release_order(false);
}

/* Code that runs during a release may change the dying object's items: here
   the destroy of a list's first item moves the array and takes the last item
   away (dropping it itself), and the destroy of a tuple's last item shrinks
   the tuple to one item (dropping the others itself). Each item dies once, in
   the order the changes leave, and nothing reads the freed array (the
   sanitizer builds would see it). */
static seq *dying;

static void move_and_shrink(seq *self)
{
    (void)self;
    void **a = malloc(dying->cap * sizeof *a);
    CHECK(a != NULL);
    if (!a)
        return;
    memcpy(a, dying->array, dying->n * sizeof *a);
    memset(dying->array, 0xA5, dying->cap * sizeof *a);
    free(dying->array);
    dying->array = a;
    void *last = a[--dying->n];
    a[dying->n] = NULL;
    rcgc_decref(last);
}

static void shrink_tuple(seq *self)
{
    (void)self;
    while (dying->n > 1) {
        void *v = dying->items[--dying->n];
        dying->items[dying->n] = NULL;
        if (v)
            rcgc_decref(v);
    }
}

/* Drops the test's references to the four leaves, then `dying`, which holds
   the others: its release must log `want` and leave nothing alive. */
static void drop_leaves_then_dying(rcgc_heap *h, const evlog *log, seq *leaves[4], const char *want)
{
    for (int i = 0; i < 4; i++)
        rcgc_decref(leaves[i]);
    rcgc_decref(dying);
    CHECK_STR(log->text, want);
    CHECK_EQ(live_objects(h), 0);
}

static void check_release_survives_changes(bool told)
{
    evlog log;
    seq *leaves[4];
    rcgc_heap *h = heap_with_leaves(told, &log, leaves);

    dying = new_seq(h, &list_type, &log, "list");
    for (int i = 0; i < 4; i++)
        append(dying, leaves[i]);
    leaves[0]->on_destroy = move_and_shrink;
    drop_leaves_then_dying(h, &log, leaves, "~a ~d ~b ~c ~list");

    make_leaves(h, &log, leaves);
    leaves[3]->on_destroy = shrink_tuple;
    void *items[] = { leaves[0], leaves[1], leaves[2], leaves[3] };
    dying = new_tuple(h, &tuple_type, &log, "tuple", items, 4);
    drop_leaves_then_dying(h, &log, leaves, "~d ~c ~b ~a ~tuple");
    dying = NULL;
    rcgc_heap_free(h);
}

/* The same with entries: the destroy of a dict's first key moves the array
   and takes the last entry away (dropping its key and value itself, value
   first), so the release goes on with the first entry's value and the
   second entry; the destroy of the second reference of a table's last entry
   (the first in traverse order) shrinks the table to its first entry,
   dropping the references of the others itself, and the release goes on
   with the first entry. */
static void move_and_drop_entry(seq *self)
{
    (void)self;
    void **a = malloc(dying->cap * ENTRY);
    CHECK(a != NULL);
    if (!a)
        return;
    memcpy(a, dying->array, dying->n * ENTRY);
    memset(dying->array, 0xA5, dying->cap * ENTRY);
    free(dying->array);
    dying->array = a;
    void **e = &a[3 * --dying->n];
    void *key = e[1], *value = e[2];
    e[1] = e[2] = NULL;
    rcgc_decref(value);
    rcgc_decref(key);
}

static void shrink_table(seq *self)
{
    (void)self;
    while (dying->n > 1) {
        void **e = &dying->items[3 * --dying->n];
        for (int j = 1; j >= 0; j--) {
            void *v = e[j];
            e[j] = NULL;
            if (v)
                rcgc_decref(v);
        }
    }
}

static void check_entries_survive_changes(bool told)
{
    evlog log;
    seq *leaves[4], *more[4];
    rcgc_heap *h = heap_with_leaves(told, &log, leaves);
    static const char *const names[] = { "e", "f", "g", "h" };
    for (int i = 0; i < 4; i++)
        more[i] = new_seq(h, &leaf_type, &log, names[i]);

    dying = new_seq(h, &dict_type, &log, "dict");
    dict_add(dying, 1, leaves[0], leaves[1]);
    dict_add(dying, 2, leaves[2], leaves[3]);
    dict_add(dying, 3, more[0], more[1]);
    leaves[0]->on_destroy = move_and_drop_entry;
    for (int i = 0; i < 4; i++) {
        rcgc_decref(leaves[i]);
        rcgc_decref(more[i]);
    }
    CHECK_STR(log.text, "~g ~h");
    rcgc_decref(dying);
    CHECK_STR(log.text, "~g ~h ~a ~f ~e ~b ~c ~d ~dict");
    CHECK_EQ(live_objects(h), 0);

    make_leaves(h, &log, leaves);
    leaves[3]->on_destroy = shrink_table;
    void *refs[] = { leaves[0], leaves[1], leaves[2], leaves[3] };
    dying = new_table(h, &table_type, &log, "table", refs, 2);
    drop_leaves_then_dying(h, &log, leaves, "~d ~c ~b ~a ~table");
    dying = NULL;
    rcgc_heap_free(h);
}

/* An entry taken away while the release is in it is passed over whole: the
   destroy of its first reference pops it, keeping its other reference (the
   word stays in the entry, past the count), and the release must not drop
   that one. A traverse function would have to check the count between the
   two visits to do the same, so this runs on a heap told of the entries. */
static void *kept;

static void pop_entry(seq *self)
{
    (void)self;
    void **e = dying->array ? &dying->array[3 * (dying->n - 1)] : &dying->items[3 * (dying->n - 1)];
    kept = dying->array ? e[2] : e[0];
    dying->n--;
}

static void test_entry_taken_whole(void)
{
    evlog log;
    seq *leaves[4];
    rcgc_heap *h = heap_with_leaves(true, &log, leaves);

    dying = new_seq(h, &dict_type, &log, "dict");
    dict_add(dying, 1, leaves[0], leaves[1]);
    leaves[0]->on_destroy = pop_entry;
    rcgc_decref(leaves[0]);
    rcgc_decref(leaves[1]);
    rcgc_decref(dying);
    CHECK_STR(log.text, "~a ~dict");
    CHECK(kept == leaves[1]);
    rcgc_decref(kept);
    CHECK_STR(log.text, "~a ~dict ~b");

    /* A table: its last entry's second reference is the first released. */
    void *refs[] = { NULL, NULL, leaves[2], leaves[3] };
    leaves[3]->on_destroy = pop_entry;
    dying = new_table(h, &table_type, &log, "table", refs, 2);
    rcgc_decref(leaves[2]);
    rcgc_decref(leaves[3]);
    rcgc_decref(dying);
    CHECK_STR(log.text, "~a ~dict ~b ~d ~table");
    CHECK(kept == leaves[2]);
    rcgc_decref(kept);
    CHECK_STR(log.text, "~a ~dict ~b ~d ~table ~c");
    CHECK_EQ(live_objects(h), 0);
    dying = NULL;
    kept = NULL;
    rcgc_heap_free(h);
}

static void test_release_survives_changes(void)
{
    check_release_survives_changes(true);
    check_release_survives_changes(false);
    check_entries_survive_changes(true);
    check_entries_survive_changes(false);
}

/* Cycles through items: a list that holds itself, a tuple and a list that
   hold each other, a record whose field closes the cycle, a dict that holds
   itself and a table that holds it. With hooks (the destroys log) the
   collection releases them in list order, as on a heap that calls
   traverse; plain tuples in a cycle with nothing else are freed in bulk. */
static void check_cycles(bool told, char *out, size_t outsize)
{
    rcgc_heap *h = fresh_heap();
    evlog log;
    memset(&log, 0, sizeof log);
    if (told)
        tell_items(h);
    seq *self = new_seq(h, &list_type, &log, "self");
    append(self, self);
    seq *list = new_seq(h, &fin_list_type, &log, "list");
    void *items[] = { list, NULL };
    seq *tuple = new_tuple(h, &fin_tuple_type, &log, "tuple", items, 2);
    append(list, tuple);
    seq *record = new_seq(h, &record_type, &log, "record");
    seq *inner = new_seq(h, &list_type, &log, "inner");
    append(record, inner);
    append(inner, record);
    seq *dict = new_seq(h, &fin_dict_type, &log, "dict");
    void *pair[] = { dict, NULL };
    seq *table = new_table(h, &table_type, &log, "table", pair, 1);
    dict_add(dict, 5, table, dict);
    rcgc_decref(self);
    rcgc_decref(list);
    rcgc_decref(tuple);
    rcgc_decref(record);
    rcgc_decref(inner);
    rcgc_decref(dict);
    rcgc_decref(table);
    CHECK_EQ(live_objects(h), 7);
    CHECK_EQ(rcgc_collect(h, 2), 7);
    CHECK_EQ(live_objects(h), 0);
    CHECK_EQ(log.fin_calls, 3);
    CHECK_EQ(log.destroyed, 7);

    /* Plain tuples, a ring of 100 through their second items. */
    seq *first = NULL, *prev = NULL;
    for (int i = 0; i < 100; i++) {
        void *none[2] = { NULL, NULL };
        seq *t = new_tuple(h, &plain_tuple_type, NULL, NULL, none, 2);
        if (prev) {
            t->items[1] = prev;
        } else {
            first = t;
            rcgc_incref(t);
        }
        prev = t;
    }
    CHECK(first->items[1] == NULL);
    first->items[1] = prev;
    rcgc_decref(first);
    CHECK_EQ(live_objects(h), 100);
    CHECK_EQ(rcgc_collect(h, 2), 100);
    CHECK_EQ(live_objects(h), 0);
    snprintf(out, outsize, "%s", log.text);
    rcgc_heap_free(h);
}

static void test_cycles(void)
{
    char told[1024], traversed[1024];
    check_cycles(true, told, sizeof told);
    check_cycles(false, traversed, sizeof traversed);
    CHECK_STR(told, traversed);
    CHECK(strstr(told, "~self") != NULL);
}

/* Immutable tuples are untracked by the collection that finds all their
   items untracked or leaves, as CPython's untrack_tuples. The survivors are
   walked from the tail (docs/api.md), so a tuple built from new tuples that
   only it holds goes in the same collection as they do (rescued after it,
   they are untracked first), where CPython takes one level per collection.
   A tuple holding a tracked list stays tracked. */
static void check_immutable_tuples(bool told)
{
    rcgc_heap *h = fresh_heap();
    if (told)
        tell_items(h);
    CHECK_EQ(rcgc_set_type_flags(h, &plain_tuple_type, RCGC_TYPE_IMMUTABLE), 0);
    void *leaf = new_seq(h, &leaf_type, NULL, "leaf");
    seq *list = new_seq(h, &list_type, NULL, "list");
    void *of_leaf[] = { leaf, NULL, leaf };
    seq *inner = new_tuple(h, &plain_tuple_type, NULL, NULL, of_leaf, 3);
    void *of_inner[] = { inner };
    seq *outer = new_tuple(h, &plain_tuple_type, NULL, NULL, of_inner, 1);
    rcgc_decref(inner);
    void *of_list[] = { leaf, list };
    seq *holder = new_tuple(h, &plain_tuple_type, NULL, NULL, of_list, 2);
    CHECK(rcgc_is_tracked(inner) && rcgc_is_tracked(outer) && rcgc_is_tracked(holder));
    CHECK_EQ(rcgc_collect(h, 0), 0);
    CHECK(!rcgc_is_tracked(inner));
    CHECK(!rcgc_is_tracked(outer));
    CHECK(rcgc_is_tracked(holder));
    CHECK(rcgc_is_tracked(list));
    CHECK_EQ(gen_size(h, -1), 2);
    rcgc_decref(holder);
    rcgc_decref(outer);
    rcgc_decref(list);
    rcgc_decref(leaf);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

static void test_immutable_tuples(void)
{
    check_immutable_tuples(true);
    check_immutable_tuples(false);
}

/* A chain of 200,000 lists, each the only item of the one before, and of
   as many tuples, released from the head: deeper than the trash list's limit,
   so the release goes through it, without running out of C stack. */
static void test_deep_chains(void)
{
    size_t depth = scaled(200000, 1000);
    rcgc_heap *h = fresh_heap();
    tell_items(h);
    evlog log;
    memset(&log, 0, sizeof log);
    seq *head = new_seq(h, &list_type, &log, "head");
    seq *at = head;
    for (size_t i = 1; i < depth; i++) {
        seq *next = new_seq(h, &list_type, &log, NULL);
        append(at, next);
        rcgc_decref(next);
        at = next;
    }
    void *tail = NULL;
    for (size_t i = 0; i < depth; i++) {
        void *items[] = { tail };
        seq *t = new_tuple(h, &plain_tuple_type, NULL, NULL, items, 1);
        if (tail)
            rcgc_decref(tail);
        tail = t;
    }
    CHECK_EQ(live_objects(h), 2 * depth);
    rcgc_decref(head);
    CHECK_EQ(log.destroyed, depth);
    rcgc_decref(tail);
    CHECK_EQ(live_objects(h), 0);
    rcgc_heap_free(h);
}

/* ------------------------------------------------------------------------- */
/* Items against traverse, on random graphs                                  */
/* ------------------------------------------------------------------------- */

#define SLOTS 64

typedef struct run {
    rcgc_heap *h;
    evlog log;
    seq *live[SLOTS];
    char objects[4096];     /* the names in the generations, in order */
} run;

static char slot_names[SLOTS][8];

static void name_object(void *obj, void *arg)
{
    run *r = arg;
    const seq *s = obj;
    size_t len = strlen(r->objects);
    if (len + 10 < sizeof r->objects)
        snprintf(r->objects + len, sizeof r->objects - len, "%s ", s->name ? s->name : "?");
}

/* Tuples and tables: made with their items, never changed. */
static bool is_tuple(const seq *s)
{
    const rcgc_type *t = rcgc_type_of(s);
    return t == &tuple_type || t == &fin_tuple_type || t == &plain_tuple_type || t == &table_type;
}

static bool is_dict(const seq *s)
{
    const rcgc_type *t = rcgc_type_of(s);
    return t == &dict_type || t == &fin_dict_type;
}

static void random_step(run *g, uint32_t r)
{
    static const rcgc_type *const kinds[] = { &tuple_type, &fin_tuple_type, &plain_tuple_type, &list_type,
                                             &fin_list_type, &record_type, &leaf_type, &list_type,
                                             &dict_type, &fin_dict_type, &table_type, &leaf_type };
    unsigned i = r % SLOTS, j = (r >> 6) % SLOTS, op = (r >> 12) % 16, k = (r >> 16) % 12;
    seq *s = g->live[i];
    if (!s) {
        const rcgc_type *t = kinds[k];
        /* Items from the live objects, some NULL, before any allocation. */
        void *items[6];
        size_t n = (r >> 20) % 6;
        for (size_t m = 0; m < n; m++)
            items[m] = g->live[(r >> (21 + m)) % SLOTS];
        if (t == &tuple_type || t == &fin_tuple_type || t == &plain_tuple_type)
            s = new_tuple(g->h, t, &g->log, slot_names[i], items, n);
        else if (t == &table_type)
            s = new_table(g->h, t, &g->log, slot_names[i], items, n / 2);
        else
            s = new_seq(g->h, t, &g->log, slot_names[i]);
        g->live[i] = s;
        return;
    }
    const rcgc_type *t = rcgc_type_of(s);
    if (op < 6 && is_dict(s)) {
        dict_add(s, r, g->live[j], g->live[(r >> 24) % SLOTS]);
    } else if (op < 6 && t != &leaf_type && !is_tuple(s)) {
        append(s, g->live[j]);
    } else if (op < 8 && is_dict(s) && s->n) {
        rcgc_set(&s->array[3 * ((r >> 19) % s->n) + 1 + ((r >> 30) & 1)], g->live[j]);
    } else if (op < 8 && t != &leaf_type && !is_tuple(s) && s->n) {
        rcgc_set(&s->array[(r >> 19) % s->n], g->live[j]);
    } else if (op < 9 && t == &record_type) {
        rcgc_set(&s->attr, g->live[j]);
    } else if (op < 14) {
        g->live[i] = NULL;
        rcgc_decref(s);
    } else {
        CHECK(rcgc_collect(g->h, (int)(r >> 24) % 3) >= 0);
    }
}

static void test_items_match_traverse(void)
{
    run g[2];
    memset(g, 0, sizeof g);
    for (int i = 0; i < SLOTS; i++)
        snprintf(slot_names[i], sizeof slot_names[i], "s%d", i);
    for (int k = 0; k < 2; k++) {
        g[k].h = rcgc_heap_new(NULL);
        CHECK(g[k].h != NULL);
        rcgc_set_threshold(g[k].h, 40, 4, 4);
        CHECK_EQ(rcgc_set_type_flags(g[k].h, &plain_tuple_type, RCGC_TYPE_IMMUTABLE), 0);
    }
    tell_items(g[1].h);
    uint32_t state = 2463534242u;
    size_t steps = scaled(40000, 4000), compared = 0;
    for (size_t step = 0; step < steps; step++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        for (int k = 0; k < 2; k++)
            random_step(&g[k], state);
        if (step % 50 == 49) {
            for (int k = 0; k < 2; k++) {
                g[k].objects[0] = '\0';
                rcgc_get_objects(g[k].h, -1, name_object, &g[k]);
            }
            CHECK_STR(g[0].objects, g[1].objects);
            CHECK_STR(g[0].log.text, g[1].log.text);
            CHECK_EQ(g[0].log.destroyed, g[1].log.destroyed);
            CHECK_EQ(g[0].log.fin_calls, g[1].log.fin_calls);
            CHECK_EQ(live_objects(g[0].h), live_objects(g[1].h));
            compared += strlen(g[0].log.text) > 0;
            g[0].log.text[0] = g[1].log.text[0] = '\0';
        }
    }
    CHECK(compared > steps / 100);
    CHECK(g[0].log.fin_calls > steps / 400);
    rcgc_gen_stats st[2][3];
    for (int k = 0; k < 2; k++)
        rcgc_get_stats(g[k].h, st[k]);
    for (int i = 0; i < 3; i++) {
        CHECK(st[0][i].collections > 0);
        CHECK_EQ(st[0][i].collections, st[1][i].collections);
        CHECK_EQ(st[0][i].collected, st[1][i].collected);
    }
    CHECK(st[0][2].collected > steps / 400);
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < SLOTS; i++)
            if (g[k].live[i])
                rcgc_decref(g[k].live[i]);
        CHECK(rcgc_collect(g[k].h, 2) >= 0);
        CHECK_EQ(live_objects(g[k].h), 0);
        rcgc_heap_free(g[k].h);
    }
    CHECK_EQ(g[0].log.destroyed, g[1].log.destroyed);
}

int main(void)
{
    TEST(test_arguments);
    TEST(test_entries_arguments);
    TEST(test_release_order);
    TEST(test_release_survives_changes);
    TEST(test_entry_taken_whole);
    TEST(test_cycles);
    TEST(test_immutable_tuples);
    TEST(test_deep_chains);
    TEST(test_items_match_traverse);
    return check_summary();
}
