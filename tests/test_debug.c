/*
 * Death tests of the debug build (-DRCGC_DEBUG=ON): each case makes one of the
 * mistakes the debug build catches, in a child process, and the parent checks
 * that the child aborted (SIGABRT) with a message naming the check, the
 * object's type and its address (which the child prints on its standard
 * output before the mistake). The leak summary is checked both as a report
 * (the child exits normally) and as an abort.
 *
 * In the normal build there are no checks: the program says so and exits 77,
 * which CTest counts as skipped. So it does under AddressSanitizer, which
 * reports the mistakes (a read of a freed block) before the checks can.
 */
#define _DEFAULT_SOURCE
#include "rcgc.h"

#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sanitizer.h"

#if defined(RCGC_DEBUG) && !defined(TEST_UNDER_ASAN)

#include "check.h"

/* A node with two owned references and one raw pointer it does not own. */
typedef struct dnode {
    void *slot[2];
    void *borrowed;
} dnode;

static void dnode_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    dnode *n = obj;
    visit(&n->slot[0], arg);
    visit(&n->slot[1], arg);
}

static const rcgc_type dnode_type = { "dnode", sizeof(dnode), dnode_traverse, NULL, NULL };

static dnode *new_dnode(rcgc_heap *h)
{
    return rcgc_new(h, &dnode_type);
}

/* Tells the parent the address the message must name. */
static void announce(const void *p)
{
    printf("%p\n", p);
    fflush(stdout);
}

/* ---- The mistakes ------------------------------------------------------------- */

/* A finalizer drops a reference it only borrowed: a back pointer to its
   parent, whose release (count zero) is releasing the finalizer's object. */
static void drop_borrowed_finalize(void *obj)
{
    dnode *n = obj;
    if (n->borrowed)
        rcgc_decref(n->borrowed);
}

static const rcgc_type dropper_type = { "dropper", sizeof(dnode), dnode_traverse, drop_borrowed_finalize, NULL };

static void case_decref_zero(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    dnode *parent = new_dnode(h);
    dnode *a = rcgc_new(h, &dropper_type);
    a->borrowed = parent;
    parent->slot[0] = a;
    announce(parent);
    rcgc_decref(parent);
}

static void case_incref_freed(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    dnode *a = new_dnode(h);
    rcgc_decref(a);
    announce(a);
    rcgc_incref(a);
}

/* The same with an object of more than 8 KiB, which has a region of its
   own: the region is kept for a later large object, its header marked. */
static const rcgc_type dbig_type = { "dbig", 20000, NULL, NULL, NULL };

static void case_incref_freed_large(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    void *big = rcgc_new(h, &dbig_type);
    rcgc_decref(big);
    announce(big);
    rcgc_incref(big);
}

static void case_decref_freed(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    dnode *a = new_dnode(h);
    dnode *keep = new_dnode(h);
    rcgc_decref(a);
    announce(a);
    rcgc_decref(a);
    rcgc_decref(keep);
}

static void case_store_freed(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    dnode *holder = new_dnode(h);
    dnode *a = new_dnode(h);
    rcgc_decref(a);
    announce(a);
    rcgc_set(&holder->slot[0], a);
}

static void case_store_into_freed(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    dnode *holder = new_dnode(h);
    dnode *a = new_dnode(h);
    rcgc_decref(holder);
    announce(holder);
    rcgc_set(&holder->slot[0], a);
}

/* rcgc_clear is rcgc_set(slot, NULL), and checks the same. */
static void case_clear_in_freed(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    dnode *holder = new_dnode(h);
    dnode *a = new_dnode(h);
    rcgc_set(&holder->slot[0], a);
    rcgc_decref(holder);
    announce(holder);
    rcgc_clear(&holder->slot[0]);
}

static void case_bad_object(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    (void)h;
    rcgc__head *fake = calloc(2, sizeof *fake);
    void *obj = fake + 1;
    announce(obj);
    rcgc_incref(obj);
}

static void case_cross_heap_store(void)
{
    rcgc_heap *h1 = rcgc_heap_new(NULL), *h2 = rcgc_heap_new(NULL);
    dnode *a = new_dnode(h1);
    dnode *b = new_dnode(h2);
    announce(b);
    rcgc_set(&a->slot[0], b);
}

static void case_cross_heap_traverse(void)
{
    rcgc_heap *h1 = rcgc_heap_new(NULL), *h2 = rcgc_heap_new(NULL);
    dnode *a = new_dnode(h1);
    dnode *b = new_dnode(h2);
    rcgc_incref(b);
    a->slot[0] = b;     /* a raw store: only a traverse sees it */
    announce(b);
    rcgc_collect(h1, 2);
}

static void case_not_an_object(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    dnode *a = new_dnode(h);
    char *junk = calloc(1, 256);
    a->slot[1] = junk + 64;
    announce(a);
    rcgc_collect(h, 2);
}

static void case_traverse_freed(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    dnode *a = new_dnode(h);
    dnode *b = new_dnode(h);
    a->slot[0] = b;     /* a raw store without incref */
    rcgc_decref(b);
    announce(b);
    rcgc_collect(h, 2);
}

static void case_gc_refs_negative(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    dnode *a = new_dnode(h), *b = new_dnode(h), *c = new_dnode(h);
    /* Two containers point at b, but only our reference was counted. */
    a->slot[0] = b;
    c->slot[0] = b;
    announce(b);
    rcgc_collect(h, 2);
}

static void case_tracked_zero(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    dnode *a = new_dnode(h);
    RCGC__HEAD(a)->refcnt = 0;  /* a stray write over the count */
    announce(a);
    rcgc_collect(h, 0);
}

static void case_refcount_overflow(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    dnode *a = new_dnode(h);
    RCGC__HEAD(a)->refcnt = UINT32_MAX; /* as after 2^32 - 1 increments */
    announce(a);
    rcgc_incref(a);
}

/* A sequence whose items the heap reads itself (rcgc_set_type_items): in
   the object for "dtuple", in an array of its own for "dlist". */
typedef struct dseq {
    size_t n;
    void **array;
    void *items[];
} dseq;

static void dtuple_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    dseq *s = obj;
    for (size_t i = 0; i < s->n; i++)
        visit(&s->items[i], arg);
}

static void dlist_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    dseq *s = obj;
    for (size_t i = 0; i < s->n; i++)
        visit(&s->array[i], arg);
}

static const rcgc_type dtuple_type = { "dtuple", sizeof(dseq), dtuple_traverse, NULL, NULL };
static const rcgc_type dlist_type = { "dlist", sizeof(dseq), dlist_traverse, NULL, NULL };

/* A tuple made for 2 items counts 40: a collection would read past it. */
static void case_items_past_payload(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    rcgc_set_type_items(h, &dtuple_type, offsetof(dseq, n), offsetof(dseq, items), RCGC_ITEMS_INLINE);
    dseq *t = rcgc_new_sized(h, &dtuple_type, sizeof(dseq) + 2 * sizeof(void *));
    t->n = 40;
    announce(t);
    rcgc_collect(h, 2);
}

/* A list counts 3 items and has no array: its release would read NULL. */
static void case_items_no_array(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    rcgc_set_type_items(h, &dlist_type, offsetof(dseq, n), offsetof(dseq, array), RCGC_ITEMS_ARRAY);
    dseq *l = rcgc_new(h, &dlist_type);
    l->n = 3;
    announce(l);
    rcgc_decref(l);
}

/* The release of a list's first item runs a destroy that frees the list's
   array and leaves its count: the release's next read of the items is
   checked as the first one was. */
static dseq *array_to_free;

static void free_array_destroy(void *obj)
{
    (void)obj;
    if (array_to_free) {
        free(array_to_free->array);
        array_to_free->array = NULL;
        array_to_free = NULL;
    }
}

static const rcgc_type dleaf_type = { "dleaf", 16, NULL, NULL, free_array_destroy };

static void case_items_freed_in_release(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    rcgc_set_type_items(h, &dlist_type, offsetof(dseq, n), offsetof(dseq, array), RCGC_ITEMS_ARRAY);
    dseq *l = rcgc_new(h, &dlist_type);
    l->array = calloc(2, sizeof(void *));
    if (!l->array)
        exit(3);
    l->array[0] = rcgc_new(h, &dleaf_type);
    l->array[1] = rcgc_new(h, &dleaf_type);
    l->n = 2;
    array_to_free = l;
    announce(l);
    rcgc_decref(l);
}

static void collecting_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    dnode_traverse(obj, visit, arg);
    rcgc_collect(rcgc_heap_of(obj), 0);
}

static const rcgc_type collecting_type = { "collecting", sizeof(dnode), collecting_traverse, NULL, NULL };

static void case_collect_in_traverse(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    dnode *a = rcgc_new(h, &collecting_type);
    announce(a);
    rcgc_collect(h, 2);
}

static void allocating_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    dnode_traverse(obj, visit, arg);
    rcgc_new(rcgc_heap_of(obj), &dnode_type);
}

static const rcgc_type allocating_type = { "allocating", sizeof(dnode), allocating_traverse, NULL, NULL };

static void case_new_in_traverse(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    dnode *a = rcgc_new(h, &allocating_type);
    announce(a);
    rcgc_get_referents(a, NULL, NULL);
}

static void untracked_allocating_traverse(void *obj, rcgc_visit_fn visit, void *arg)
{
    dnode_traverse(obj, visit, arg);
    rcgc_new_untracked(rcgc_heap_of(obj), &dnode_type);
}

static const rcgc_type untracked_allocating_type = { "allocating untracked", sizeof(dnode),
                                                     untracked_allocating_traverse, NULL, NULL };

static void case_new_untracked_in_traverse(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    dnode *a = rcgc_new(h, &untracked_allocating_type);
    announce(a);
    rcgc_get_referents(a, NULL, NULL);
}

/* One object the program still holds, one garbage cycle nobody holds. */
static rcgc_heap *leaky_heap(const rcgc_config *config)
{
    rcgc_heap *h = rcgc_heap_new(config);
    dnode *held = new_dnode(h);
    dnode *x = new_dnode(h), *y = new_dnode(h);
    rcgc_set(&x->slot[0], y);
    rcgc_set(&y->slot[0], x);
    rcgc_decref(x);
    rcgc_decref(y);
    announce(held);
    return h;
}

static void case_leak_report(void)
{
    rcgc_heap_free(leaky_heap(NULL));
    exit(0);
}

static void case_leak_abort(void)
{
    rcgc_config c = { 0 };
    c.on_leak = RCGC_LEAKS_ABORT;
    rcgc_heap_free(leaky_heap(&c));
    exit(0);
}

static void case_leak_ignore(void)
{
    rcgc_config c = { 0 };
    c.on_leak = RCGC_LEAKS_IGNORE;
    rcgc_heap_free(leaky_heap(&c));
    exit(0);
}

/* gc.garbage holds the only references (RCGC_DEBUG_SAVEALL): they are the
   heap's, and rcgc_heap_free drops them, so nothing is reported even with
   on_leak = RCGC_LEAKS_ABORT. */
static void case_garbage_is_no_leak(void)
{
    rcgc_config c = { 0 };
    c.on_leak = RCGC_LEAKS_ABORT;
    rcgc_heap *h = rcgc_heap_new(&c);
    rcgc_set_debug(h, RCGC_DEBUG_SAVEALL);
    dnode *x = new_dnode(h), *y = new_dnode(h);
    rcgc_set(&x->slot[0], y);
    rcgc_set(&y->slot[0], x);
    rcgc_decref(x);
    rcgc_decref(y);
    if (rcgc_collect(h, 2) != 2 || rcgc_garbage_size(h) != 2)
        exit(4);
    rcgc_heap_free(h);
    exit(0);
}

static void case_no_leak(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    dnode *x = new_dnode(h), *y = new_dnode(h);
    rcgc_set(&x->slot[0], y);
    rcgc_decref(x);
    rcgc_decref(y);
    announce(h);
    rcgc_heap_free(h);
    exit(0);
}

/* A correct program whose roots live in an arena of its own, with a guard
   page (PROT_NONE) at the 64 KiB-aligned address below the root slots, as
   a thread's stack has: the store checks must not read that page to tell
   whether the slot is in some heap. */
static void case_store_beside_guard_page(void)
{
    size_t len = (size_t)4 << 16;
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        exit(3);
    char *aligned = (char *)(((uintptr_t)m + 0xFFFF) & ~(uintptr_t)0xFFFF);
    if (mprotect(aligned, 4096, PROT_NONE) != 0)
        exit(3);
    void **roots = (void **)(aligned + 8192);
    rcgc_heap *h = rcgc_heap_new(NULL);
    dnode *n = new_dnode(h);
    rcgc_set(&roots[0], n);
    rcgc_decref(n);
    rcgc_clear(&roots[0]);
    rcgc_heap_free(h);
    exit(0);
}

/* ---- Running a case in a child ---------------------------------------------------- */

typedef struct outcome {
    int aborted;            /* killed by SIGABRT */
    int exited;             /* exit status, or -1 */
    char out[256];          /* the child's standard output */
    char err[4096];         /* its standard error */
} outcome;

static void read_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    char sink[256];
    while (read(fd, sink, sizeof sink) > 0)
        ;
}

static outcome run_child(void (*fn)(void))
{
    outcome o = { 0, -1, "", "" };
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) {
        perror("pipe");
        exit(1);
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]);
        close(err[0]);
        fn();
        fflush(NULL);
        _exit(0);
    }
    close(out[1]);
    close(err[1]);
    read_all(out[0], o.out, sizeof o.out);
    read_all(err[0], o.err, sizeof o.err);
    close(out[0]);
    close(err[0]);
    int status;
    waitpid(pid, &status, 0);
    o.aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
    o.exited = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return o;
}

/* The child must abort with "[check]", the type's name in quotes and the
   address it announced. */
static void expect_abort(const char *name, void (*fn)(void), const char *check, const char *type)
{
    outcome o = run_child(fn);
    char tag[64], quoted[64], addr[64];
    snprintf(tag, sizeof tag, "check failed [%s]", check);
    snprintf(quoted, sizeof quoted, "'%s'", type);
    snprintf(addr, sizeof addr, "%.*s", (int)strcspn(o.out, "\n"), o.out);
    int ok = o.aborted && addr[0] && strstr(o.err, tag) && strstr(o.err, quoted) && strstr(o.err, addr);
    if (!ok)
        fprintf(stderr, "case %s: aborted=%d exit=%d address=%s\n--- its stderr:\n%s---\n", name, o.aborted,
                o.exited, addr, o.err);
    CHECK(o.aborted);
    CHECK(addr[0] != '\0');
    CHECK(strstr(o.err, tag) != NULL);
    CHECK(strstr(o.err, quoted) != NULL);
    CHECK(strstr(o.err, addr) != NULL);
}

#define DEATH(fn, check, type) \
    static void test_##fn(void) { expect_abort(#fn, case_##fn, check, type); }

DEATH(decref_zero, "decref-zero", "dnode")
DEATH(incref_freed, "freed-object", "dnode")
DEATH(incref_freed_large, "freed-object", "dbig")
DEATH(decref_freed, "freed-object", "dnode")
DEATH(store_freed, "freed-object", "dnode")
DEATH(store_into_freed, "freed-object", "dnode")
DEATH(clear_in_freed, "freed-object", "dnode")
DEATH(cross_heap_store, "cross-heap", "dnode")
DEATH(cross_heap_traverse, "cross-heap", "dnode")
DEATH(not_an_object, "not-an-object", "dnode")
DEATH(traverse_freed, "freed-object", "dnode")
DEATH(gc_refs_negative, "gc-refs-negative", "dnode")
DEATH(tracked_zero, "tracked-zero", "dnode")
DEATH(refcount_overflow, "refcount-overflow", "dnode")
DEATH(items_past_payload, "items", "dtuple")
DEATH(items_no_array, "items", "dlist")
DEATH(items_freed_in_release, "items", "dlist")
DEATH(collect_in_traverse, "collect-in-traverse", "collecting")
DEATH(new_in_traverse, "collect-in-traverse", "allocating")

/* As new_in_traverse, and the message names the function that allocated. */
static void test_new_untracked_in_traverse(void)
{
    outcome o = run_child(case_new_untracked_in_traverse);
    CHECK(o.aborted);
    CHECK(strstr(o.err, "check failed [collect-in-traverse]") != NULL);
    CHECK(strstr(o.err, "rcgc_new_untracked from inside the traverse of 'allocating untracked'") != NULL);
}

/* Not an rcgc object at all: there is no type to name, only the address. */
static void test_bad_object(void)
{
    outcome o = run_child(case_bad_object);
    char addr[64];
    snprintf(addr, sizeof addr, "%.*s", (int)strcspn(o.out, "\n"), o.out);
    CHECK(o.aborted);
    CHECK(strstr(o.err, "check failed [bad-object]: incref of ") != NULL);
    CHECK(addr[0] && strstr(o.err, addr) != NULL);
}

/* The summary names the one object held from outside, not the garbage cycle,
   and the program goes on. */
static void test_leak_report(void)
{
    outcome o = run_child(case_leak_report);
    char addr[64], line[128];
    snprintf(addr, sizeof addr, "%.*s", (int)strcspn(o.out, "\n"), o.out);
    snprintf(line, sizeof line, "%s 'dnode'", addr);
    CHECK_EQ(o.exited, 0);
    CHECK(strstr(o.err, line) != NULL);
    CHECK(strstr(o.err, "count 1, 1 from outside") != NULL);
    CHECK(strstr(o.err, "leak summary: 1 of 3 live objects referenced from outside") != NULL);
    CHECK(strstr(o.err, "check failed") == NULL);
}

static void test_leak_abort(void)
{
    outcome o = run_child(case_leak_abort);
    CHECK(o.aborted);
    CHECK(strstr(o.err, "leak summary: 1 of 3") != NULL);
    CHECK(strstr(o.err, "check failed [leak]: rcgc_heap_free with 1 objects still referenced from outside") != NULL);
}

static void test_leak_ignore(void)
{
    outcome o = run_child(case_leak_ignore);
    CHECK_EQ(o.exited, 0);
    CHECK_STR(o.err, "");
}

static void test_garbage_is_no_leak(void)
{
    outcome o = run_child(case_garbage_is_no_leak);
    CHECK_EQ(o.exited, 0);
    CHECK_STR(o.err, "");
}

static void test_store_beside_guard_page(void)
{
    outcome o = run_child(case_store_beside_guard_page);
    CHECK_EQ(o.exited, 0);
    CHECK_STR(o.err, "");
}

static void test_no_leak(void)
{
    outcome o = run_child(case_no_leak);
    CHECK_EQ(o.exited, 0);
    CHECK_STR(o.err, "");
}

/* The checks leave correct programs alone: a freed block carries the freed
   check value and a poisoned payload, a live one the live value. */
static void test_headers(void)
{
    rcgc_heap *h = rcgc_heap_new(NULL);
    dnode *a = new_dnode(h), *b = new_dnode(h);
    CHECK_EQ(sizeof(rcgc__head), 32);
    CHECK_EQ(RCGC__HEAD(a)->check, RCGC__CHECK_LIVE);
    CHECK(RCGC__HEAD(b)->serial == RCGC__HEAD(a)->serial + 1);
    rcgc_set(&a->slot[0], b);
    rcgc_decref(b);
    rcgc_decref(a);
    CHECK_EQ(RCGC__HEAD(b)->check, RCGC__CHECK_FREED);
    const unsigned char *payload = (const unsigned char *)b;
    CHECK_EQ(payload[0], 0xDB);
    CHECK_EQ(payload[sizeof(dnode) - 1], 0xDB);
    rcgc_heap_free(h);
}

int main(void)
{
    TEST(test_headers);
    TEST(test_decref_zero);
    TEST(test_incref_freed);
    TEST(test_incref_freed_large);
    TEST(test_decref_freed);
    TEST(test_store_freed);
    TEST(test_store_into_freed);
    TEST(test_clear_in_freed);
    TEST(test_bad_object);
    TEST(test_cross_heap_store);
    TEST(test_cross_heap_traverse);
    TEST(test_not_an_object);
    TEST(test_traverse_freed);
    TEST(test_gc_refs_negative);
    TEST(test_tracked_zero);
    TEST(test_refcount_overflow);
    TEST(test_items_past_payload);
    TEST(test_items_no_array);
    TEST(test_items_freed_in_release);
    TEST(test_collect_in_traverse);
    TEST(test_new_in_traverse);
    TEST(test_new_untracked_in_traverse);
    TEST(test_leak_report);
    TEST(test_leak_abort);
    TEST(test_leak_ignore);
    TEST(test_no_leak);
    TEST(test_store_beside_guard_page);
    TEST(test_garbage_is_no_leak);
    return check_summary();
}

#else

int main(void)
{
#ifdef RCGC_DEBUG
    printf("skipped: AddressSanitizer reports these mistakes before the debug checks can\n");
#else
    printf("skipped: the debug checks are compiled only with -DRCGC_DEBUG=ON (make debug)\n");
#endif
    return 77;
}

#endif
