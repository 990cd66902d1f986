/*
 * Making the heap visible: rcgc_dump_dot / rcgc_dump_dot_ex (the graph, its
 * colours and classes, labels, the unreachable marks, determinism, out of
 * memory), rcgc_why_alive (chains, shortest paths, garbage, roots, untracked
 * and frozen objects, truncation, out of memory, no change to the heap) and
 * the cycle report of a collection's unreachable set (rcgc__report_sccs:
 * components, their order and type names, the cap on listed cycles, a ring
 * of many objects without recursion, out of memory).
 *
 * The DOT text is parsed here (the format is one statement per line) and
 * compared with what each heap was built to be.
 */
#include "rcgc.h"
#include "common.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The collector's cycle report (src/visual.c). */
RCGC_INTERNAL void rcgc__report_sccs(rcgc_heap *h, head_t *unreachable);

/* ------------------------------------------------------------------------- */
/* Heaps                                                                     */
/* ------------------------------------------------------------------------- */

/* A heap with automatic collection off, whose debug output goes to
   debug_stream when it is not NULL and whose memory comes from fm (set up
   afresh, failing nothing yet) when fm is not NULL. */
static rcgc_heap *new_heap(fault_mem *fm, FILE *debug_stream)
{
    rcgc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (fm) {
        fm_init(fm, 0, 0);
        cfg = fm_config(fm);
    }
    cfg.debug_stream = debug_stream;
    rcgc_heap *h = rcgc_heap_new(&cfg);
    CHECK(h != NULL);
    if (h)
        rcgc_disable(h);
    return h;
}

/* Frees a heap of new_heap(fm, ...); with fm, the heap must have given all
   of fm's memory back. */
static void free_heap(rcgc_heap *h, fault_mem *fm)
{
    rcgc_heap_free(h);
    if (fm) {
        CHECK_EQ(fm->outstanding_bytes, 0);
        fm_release(fm);
    }
}

/* Makes fm's k-th request for memory from now on fail (persistent: and every
   request after it). */
static void fail_request(fault_mem *fm, size_t k, int persistent)
{
    fm->fail_at = fm->calls + k;
    fm->persistent = persistent;
}

/* ------------------------------------------------------------------------- */
/* Reading what a stream received                                            */
/* ------------------------------------------------------------------------- */

/* The whole content of f (a tmpfile), malloc'd and NUL-terminated. */
static char *slurp(FILE *f)
{
    long n;
    char *s;
    fflush(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    s[fread(s, 1, (size_t)n, f)] = '\0';
    return s;
}

/* The DOT of rcgc_dump_dot_ex(h, opt), or NULL (and *status) on failure. */
static char *dump(rcgc_heap *h, const rcgc_dot_options *opt, int *status)
{
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (!f)
        return NULL;
    *status = opt ? rcgc_dump_dot_ex(h, f, opt) : rcgc_dump_dot(h, f);
    char *s = slurp(f);
    fclose(f);
    return s;
}

/* The DOT of a dump that must succeed (status 0, some text), or NULL. */
static char *dump_ok(rcgc_heap *h, const rcgc_dot_options *opt)
{
    int status = -2;
    char *text = dump(h, opt, &status);
    CHECK_EQ(status, 0);
    CHECK(text != NULL);
    return text;
}

/* ------------------------------------------------------------------------- */
/* A small DOT reader for what rcgc_dump_dot writes                          */
/* ------------------------------------------------------------------------- */

typedef struct dnode {
    char id[24];
    char label[96];         /* as written, escapes kept: "A\nrc 1" */
    char cls[96];
    char fill[16];
    int doubled, red, ellipse;
} dnode;

typedef struct dedge {
    char from[24], to[24];
    int weak;
} dedge;

typedef struct dgraph {
    dnode n[64];
    size_t nn;
    dedge e[64];
    size_t ne;
    int begins, ends;       /* "digraph rcgc {" first, "}" last */
    int bad_lines;          /* statements that are neither */
} dgraph;

static void quoted_attr(const char *line, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    const char *p = strstr(line, name);
    if (!p)
        return;
    p += strlen(name);
    if (*p != '"')
        return;
    p++;
    size_t n = 0;
    while (*p && *p != '"' && n + 1 < size) {
        if (*p == '\\' && p[1])
            out[n++] = *p++;
        if (n + 1 < size)
            out[n++] = *p++;
    }
    out[n] = '\0';
}

static void parse_dot(const char *text, dgraph *g)
{
    memset(g, 0, sizeof *g);
    char line[1024];
    const char *p = text;
    int first = 1;
    const char *last = NULL;
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= sizeof line)
            len = sizeof line - 1;
        memcpy(line, p, len);
        line[len] = '\0';
        last = p;
        if (first) {
            g->begins = strcmp(line, "digraph rcgc {") == 0;
            first = 0;
        } else if (strncmp(line, "  r", 3) == 0 && strstr(line, " -> ")) {
            if (g->ne < 64) {
                dedge *e = &g->e[g->ne++];
                sscanf(line, "  %23s -> %23[^; ]", e->from, e->to);
                e->weak = strstr(line, "style=dashed") != NULL && strstr(line, "class=\"weak\"") != NULL;
            }
        } else if (strncmp(line, "  r", 3) == 0) {
            if (g->nn < 64) {
                dnode *n = &g->n[g->nn++];
                sscanf(line, "  %23s", n->id);
                quoted_attr(line, "label=", n->label, sizeof n->label);
                quoted_attr(line, "class=", n->cls, sizeof n->cls);
                quoted_attr(line, "fillcolor=", n->fill, sizeof n->fill);
                n->doubled = strstr(line, "peripheries=2") != NULL;
                n->red = strstr(line, "color=\"#c92a2a\"") != NULL;
                n->ellipse = strstr(line, "shape=ellipse") != NULL;
            }
        } else if (strncmp(line, "  graph [", 9) != 0 && strncmp(line, "  node [", 8) != 0
                   && strncmp(line, "  edge [", 8) != 0 && strcmp(line, "}") != 0) {
            g->bad_lines++;
        }
        p = end ? end + 1 : p + len;
    }
    g->ends = last != NULL && strncmp(last, "}", 1) == 0;
}

/* The node whose label's first line is name, or NULL. */
static const dnode *by_label(const dgraph *g, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < g->nn; i++) {
        const char *l = g->n[i].label;
        if (strncmp(l, name, len) == 0 && l[len] == '\\' && l[len + 1] == 'n')
            return &g->n[i];
    }
    return NULL;
}

static int has_class(const dnode *n, const char *cls)
{
    size_t len = strlen(cls);
    for (const char *p = n->cls; (p = strstr(p, cls)) != NULL; p += len) {
        if ((p == n->cls || p[-1] == ' ') && (p[len] == '\0' || p[len] == ' '))
            return 1;
    }
    return 0;
}

/* How many edges a -> b (weak or strong as asked). */
static int edges(const dgraph *g, const dnode *a, const dnode *b, int weak)
{
    int k = 0;
    if (!a || !b)
        return -1;
    for (size_t i = 0; i < g->ne; i++)
        k += strcmp(g->e[i].from, a->id) == 0 && strcmp(g->e[i].to, b->id) == 0 && g->e[i].weak == weak;
    return k;
}

/* The label that rcgc_dump_dot_ex shows: name, then "rc N". */
static int label_is(const dnode *n, const char *expected)
{
    return n != NULL && strcmp(n->label, expected) == 0;
}

/* ------------------------------------------------------------------------- */
/* rcgc_dump_dot                                                             */
/* ------------------------------------------------------------------------- */

static void name_label(const void *obj, char *buf, size_t size, void *arg)
{
    (void)arg;
    const rcgc_type *t = rcgc_type_of(obj);
    if (t == &node_type || t == &fin_type)
        snprintf(buf, size, "%s", ((const node *)obj)->name);
    else if (rcgc_is_weakref(obj))
        snprintf(buf, size, "W");
    else
        snprintf(buf, size, "L");
}

typedef struct picture {
    rcgc_heap *h;
    evlog log;
    node *F, *A, *D, *C, *E, *G1, *G2;
    void *W;
} picture;

/* Builds a heap with an object in every place the picture distinguishes:
     F  frozen (permanent), held by the test, referenced by A
     A  generation 2, held; refers to B and F
     B  generation 2, referenced by A only; refers to the untracked leaf L
     L  untracked (no traverse), referenced by B only
     D  generation 1, held
     C  generation 1, self-referencing, its finalizer ran and resurrected it
     E  generation 0, held
     W  a weak reference to B, generation 0, held
     G1, G2 a garbage cycle in generation 0. */
static void build_picture(picture *p)
{
    memset(p, 0, sizeof *p);
    rcgc_heap *h = p->h = fresh_heap();
    p->F = new_named(h, &node_type, &p->log, "F");
    rcgc_freeze(h);
    p->A = new_named(h, &node_type, &p->log, "A");
    node *B = new_named(h, &node_type, &p->log, "B");
    void *L = rcgc_new_sized(h, &blob_type, 8);
    CHECK(L != NULL);
    rcgc_set(&p->A->a, B);
    rcgc_set(&p->A->b, p->F);
    rcgc_set(&B->b, L);
    rcgc_decref(B);
    rcgc_decref(L);
    CHECK_EQ(rcgc_collect(h, 0), 0);
    CHECK_EQ(rcgc_collect(h, 1), 0);
    p->D = new_named(h, &node_type, &p->log, "D");
    p->C = new_fin(h, &p->log, "C", hook_resurrect);
    rcgc_set(&p->C->a, p->C);
    rcgc_decref(p->C);                  /* the test's reference now is in log.kept */
    CHECK_EQ(rcgc_collect(h, 0), 0);    /* C resurrects: not counted */
    CHECK_EQ(p->log.nkept, 1);
    p->E = new_named(h, &node_type, &p->log, "E");
    p->W = rcgc_weakref_new(B, NULL, NULL);
    CHECK(p->W != NULL);
    p->G1 = new_named(h, &node_type, &p->log, "G1");
    p->G2 = new_named(h, &node_type, &p->log, "G2");
    rcgc_set(&p->G1->a, p->G2);
    rcgc_set(&p->G2->a, p->G1);
    rcgc_decref(p->G1);
    rcgc_decref(p->G2);
}

static void free_picture(picture *p)
{
    drop_kept(&p->log);
    rcgc_decref(p->W);
    rcgc_decref(p->E);
    rcgc_decref(p->D);
    rcgc_decref(p->A);
    rcgc_decref(p->F);
    rcgc_heap_free(p->h);
}

static void test_dot_labelled(void)
{
    picture p;
    build_picture(&p);
    int local;
    void *unreachable[] = { p.G1, &local, p.G2 };
    rcgc_dot_options opt;
    memset(&opt, 0, sizeof opt);
    opt.label = name_label;
    opt.unreachable = unreachable;
    opt.unreachable_count = 3;
    opt.title = "a \"title\"";
    char *text = dump_ok(p.h, &opt);
    if (!text) {
        free_picture(&p);
        return;
    }
    dgraph g;
    parse_dot(text, &g);
    CHECK(g.begins);
    CHECK(g.ends);
    CHECK_EQ(g.bad_lines, 0);
    CHECK(strstr(text, "label=\"a \\\"title\\\"\"") != NULL);
    CHECK_EQ(g.nn, 10);
    const dnode *F = by_label(&g, "F"), *A = by_label(&g, "A"), *B = by_label(&g, "B"), *L = by_label(&g, "L");
    const dnode *D = by_label(&g, "D"), *C = by_label(&g, "C"), *E = by_label(&g, "E"), *W = by_label(&g, "W");
    const dnode *G1 = by_label(&g, "G1"), *G2 = by_label(&g, "G2");
    CHECK(F && A && B && L && D && C && E && W && G1 && G2);
    if (!(F && A && B && L && D && C && E && W && G1 && G2)) {
        free(text);
        free_picture(&p);
        return;
    }
    /* Counts: F is held by the test and by A; C by itself and the test's
       kept list; a weak reference adds nothing to B. */
    CHECK(label_is(F, "F\\nrc 2"));
    CHECK(label_is(A, "A\\nrc 1"));
    CHECK(label_is(B, "B\\nrc 1"));
    CHECK(label_is(L, "L\\nrc 1"));
    CHECK(label_is(C, "C\\nrc 2, finalized"));
    CHECK(label_is(G1, "G1\\nrc 1"));
    /* Where each object is. */
    CHECK(has_class(F, "permanent"));
    CHECK(has_class(A, "gen2") && has_class(B, "gen2"));
    CHECK(has_class(L, "untracked"));
    CHECK(has_class(D, "gen1") && has_class(C, "gen1"));
    CHECK(has_class(E, "gen0") && has_class(W, "gen0") && has_class(G1, "gen0"));
    CHECK_STR(F->fill, "#a5d8ff");
    CHECK_STR(A->fill, "#e5dbff");
    CHECK_STR(D->fill, "#ffd8a8");
    CHECK_STR(E->fill, "#fff3bf");
    CHECK_STR(L->fill, "#f1f3f5");
    /* Marks. */
    CHECK(has_class(C, "finalized") && C->doubled);
    CHECK(!has_class(D, "finalized") && !D->doubled);
    CHECK(has_class(W, "weakref") && W->ellipse);
    CHECK(!B->ellipse);
    CHECK(has_class(G1, "unreachable") && G1->red);
    CHECK(has_class(G2, "unreachable") && G2->red);
    CHECK(!has_class(E, "unreachable") && !E->red);
    /* Edges: strong references once each, the weak one dashed. */
    CHECK_EQ(g.ne, 7);
    CHECK_EQ(edges(&g, A, B, 0), 1);
    CHECK_EQ(edges(&g, A, F, 0), 1);
    CHECK_EQ(edges(&g, B, L, 0), 1);
    CHECK_EQ(edges(&g, C, C, 0), 1);
    CHECK_EQ(edges(&g, G1, G2, 0), 1);
    CHECK_EQ(edges(&g, G2, G1, 0), 1);
    CHECK_EQ(edges(&g, W, B, 1), 1);
    CHECK_EQ(edges(&g, W, B, 0), 0);
    /* Dumping changes nothing: the same text again, and the collector
       still finds the garbage cycle. */
    char *again = dump_ok(p.h, &opt);
    CHECK(again != NULL && strcmp(text, again) == 0);
    free(again);
    CHECK_EQ(rcgc_refcount(p.F), 2);
    CHECK_EQ(rcgc_collect(p.h, 2), 2);
    free(text);
    free_picture(&p);
}

static void test_dot_defaults(void)
{
    picture p;
    build_picture(&p);
    char *text = dump_ok(p.h, NULL);
    if (text) {
        dgraph g;
        parse_dot(text, &g);
        CHECK_EQ(g.nn, 10);
        CHECK_EQ(g.ne, 7);
        /* Without labels a node shows its type's name; nothing is marked. */
        size_t nodes = 0, weakrefs = 0, blobs = 0;
        for (size_t i = 0; i < g.nn; i++) {
            nodes += strncmp(g.n[i].label, "node\\n", 6) == 0 || strncmp(g.n[i].label, "fnode\\n", 7) == 0;
            weakrefs += strncmp(g.n[i].label, "weakref\\n", 9) == 0;
            blobs += strncmp(g.n[i].label, "blob\\n", 6) == 0;
            CHECK(!has_class(&g.n[i], "unreachable"));
        }
        CHECK_EQ(nodes, 8);
        CHECK_EQ(weakrefs, 1);
        CHECK_EQ(blobs, 1);
        CHECK(strstr(text, "label=<") == NULL);
    }
    free(text);
    /* A legend puts a table into the caption. */
    rcgc_dot_options opt;
    memset(&opt, 0, sizeof opt);
    opt.legend = true;
    opt.title = "t<1>";
    text = dump_ok(p.h, &opt);
    CHECK(text && strstr(text, "label=<<table") && strstr(text, "t&lt;1&gt;") && strstr(text, "generation 2"));
    free(text);
    free_picture(&p);
}

/* Two heaps built by the same steps give the same text. */
static void test_dot_deterministic(void)
{
    picture p1, p2;
    build_picture(&p1);
    build_picture(&p2);
    char *t1 = dump_ok(p1.h, NULL), *t2 = dump_ok(p2.h, NULL);
    CHECK(t1 && t2 && strcmp(t1, t2) == 0);
    free(t1);
    free(t2);
    free_picture(&p1);
    free_picture(&p2);
}

static void test_dot_empty_heap(void)
{
    rcgc_heap *h = fresh_heap();
    char *text = dump_ok(h, NULL);
    dgraph g;
    parse_dot(text ? text : "", &g);
    CHECK(g.begins && g.ends);
    CHECK_EQ(g.nn, 0);
    free(text);
    rcgc_heap_free(h);
}

static void test_dot_out_of_memory(void)
{
    fault_mem fm;
    rcgc_heap *h = new_heap(&fm, NULL);
    if (!h)
        return;
    node *a = new_node(h, NULL);
    fail_request(&fm, 1, 1);
    int status = 0;
    char *text = dump(h, NULL, &status);
    CHECK_EQ(status, -1);
    CHECK(text && text[0] == '\0');     /* nothing written */
    free(text);
    fm.fail_at = 0;
    text = dump_ok(h, NULL);
    CHECK(text && strstr(text, "node\\nrc 1"));
    free(text);
    rcgc_decref(a);
    free_heap(h, &fm);
}

/* A stream whose writes fail: -1, even when the whole graph fits in the
   stream's buffer, so that nothing has failed until it is flushed. */
static void test_dot_write_fails(void)
{
    FILE *f = fopen("/dev/full", "w");
    if (!f) {
        printf("  (no /dev/full here: skipped)\n");
        return;
    }
    rcgc_heap *h = fresh_heap();
    node *a = new_node(h, NULL);
    CHECK_EQ(rcgc_dump_dot(h, f), -1);
    fclose(f);
    rcgc_decref(a);
    rcgc_heap_free(h);
}

/* ------------------------------------------------------------------------- */
/* rcgc_why_alive                                                            */
/* ------------------------------------------------------------------------- */

/* Whether rcgc_why_alive(h, obj) gives the chain expected[0..n-1], n <= 8
   (with room for 8); a difference in length is printed. */
static int why_is(rcgc_heap *h, const void *obj, void *const *expected, size_t n)
{
    void *chain[8] = { 0 };
    ptrdiff_t len = rcgc_why_alive(h, obj, chain, 8);
    int same = n <= 8 && len == (ptrdiff_t)n;
    for (size_t i = 0; same && i < n; i++)
        same = chain[i] == expected[i];
    if (len != (ptrdiff_t)n)
        fprintf(stderr, "rcgc_why_alive: a chain of %td, expected %zu\n", len, n);
    return same;
}

/* Whether the chain that keeps obj alive is the objects listed, root first. */
#define WHY_IS(h, obj, ...) \
    why_is((h), (obj), (void *const[]){ __VA_ARGS__ }, sizeof((void *const[]){ __VA_ARGS__ }) / sizeof(void *))

static void test_why_chain_through_list(void)
{
    rcgc_heap *h = fresh_heap();
    /* root -> n1 -> n2 -> n3: only root is held by the test. */
    node *root = new_node(h, NULL);
    node *prev = root, *n[3];
    for (int i = 0; i < 3; i++) {
        n[i] = new_node(h, NULL);
        rcgc_set(&prev->b, n[i]);
        rcgc_decref(n[i]);
        prev = n[i];
    }
    CHECK(WHY_IS(h, n[2], root, n[0], n[1], n[2]));
    CHECK(WHY_IS(h, n[0], root, n[0]));
    /* The root itself: a chain of one. */
    CHECK(WHY_IS(h, root, root));
    /* A short buffer gets the start of the chain; the length is still told. */
    void *two[3] = { 0, 0, (void *)1 };
    CHECK_EQ(rcgc_why_alive(h, n[2], two, 2), 4);
    CHECK(two[0] == root && two[1] == n[0] && two[2] == (void *)1);
    CHECK_EQ(rcgc_why_alive(h, n[2], NULL, 0), 4);
    /* Holding n1 makes it a root, and the chain to n3 shorter. */
    rcgc_incref(n[1]);
    CHECK(WHY_IS(h, n[2], n[1], n[2]));
    rcgc_decref(n[1]);
    rcgc_decref(root);
    rcgc_heap_free(h);
}

static void test_why_garbage_cycle(void)
{
    rcgc_heap *h = fresh_heap();
    node *a = new_node(h, NULL), *b = new_node(h, NULL), *c = new_node(h, NULL);
    link_pair(a, b);
    rcgc_set(&b->b, c);
    rcgc_decref(a);
    rcgc_decref(b);
    rcgc_decref(c);
    void *chain[4] = { 0 };
    CHECK_EQ(rcgc_why_alive(h, a, chain, 4), 0);
    CHECK_EQ(rcgc_why_alive(h, b, chain, 4), 0);
    CHECK_EQ(rcgc_why_alive(h, c, chain, 4), 0);
    /* Nothing was disturbed: the collector finds all three. */
    CHECK_EQ(rcgc_collect(h, 2), 3);
    rcgc_heap_free(h);
}

/* A frozen cycle that the program dropped is never collected, and what it
   refers to lives with it: its objects are roots, and the chain to an
   object it holds starts at it. */
static void test_why_frozen_cycle(void)
{
    rcgc_heap *h = fresh_heap();
    node *a = new_node(h, NULL), *b = new_node(h, NULL);
    link_pair(a, b);
    rcgc_freeze(h);
    node *c = new_node(h, NULL);
    rcgc_set(&b->b, c);
    rcgc_decref(a);
    rcgc_decref(b);
    rcgc_decref(c);
    CHECK(WHY_IS(h, a, a));
    CHECK(WHY_IS(h, c, b, c));
    CHECK_EQ(rcgc_collect(h, 2), 0);
    CHECK(WHY_IS(h, c, b, c));
    rcgc_unfreeze(h);
    void *chain[4] = { 0 };
    CHECK_EQ(rcgc_why_alive(h, c, chain, 4), 0);
    CHECK_EQ(rcgc_collect(h, 2), 3);
    rcgc_heap_free(h);
}

/* A held cycle: everything in it is reached from the held object. */
static void test_why_held_cycle_and_shortest(void)
{
    rcgc_heap *h = fresh_heap();
    node *r = new_node(h, NULL), *x = new_node(h, NULL), *y = new_node(h, NULL), *z = new_node(h, NULL);
    /* r -> x -> y -> z -> r, and r -> z: the shortest chain to z is r, z. */
    rcgc_set(&r->a, x);
    rcgc_set(&x->a, y);
    rcgc_set(&y->a, z);
    rcgc_set(&z->a, r);
    rcgc_set(&r->b, z);
    rcgc_decref(x);
    rcgc_decref(y);
    rcgc_decref(z);
    void *chain[8];
    CHECK(WHY_IS(h, z, r, z));
    CHECK(WHY_IS(h, y, r, x, y));
    CHECK(WHY_IS(h, r, r));
    rcgc_decref(r);
    CHECK_EQ(rcgc_why_alive(h, r, chain, 8), 0);
    CHECK_EQ(rcgc_collect(h, 2), 4);
    rcgc_heap_free(h);
}

static void test_why_untracked_frozen_immortal(void)
{
    rcgc_heap *h = fresh_heap();
    node *f = new_node(h, NULL);
    rcgc_freeze(h);                     /* f is frozen and held */
    node *a = new_node(h, NULL);
    void *leaf = rcgc_new_sized(h, &blob_type, 8);
    rcgc_set(&f->a, a);                 /* frozen f -> a */
    rcgc_set(&a->a, leaf);              /* a -> untracked leaf */
    rcgc_decref(a);
    rcgc_decref(leaf);
    /* References from frozen objects are internal too. */
    CHECK(WHY_IS(h, leaf, f, a, leaf));
    /* An untracked object held from outside is its own root. */
    rcgc_incref(leaf);
    CHECK(WHY_IS(h, leaf, leaf));
    rcgc_decref(leaf);
    /* A reference from an untracked container counts as outside, as it
       does for the collector: the leaf is then a root itself. */
    rcgc_untrack(a);
    CHECK(WHY_IS(h, leaf, leaf));
    rcgc_track(a);
    /* An immortal object is a root. */
    node *im = new_node(h, NULL);
    rcgc_make_immortal(im);
    CHECK(WHY_IS(h, im, im));
    rcgc_unfreeze(h);
    rcgc_decref(f);
    rcgc_heap_free(h);
}

static void test_why_weakref_is_not_a_reference(void)
{
    rcgc_heap *h = fresh_heap();
    node *a = new_node(h, NULL);
    rcgc_set(&a->a, a);
    void *w = rcgc_weakref_new(a, NULL, NULL);
    rcgc_decref(a);
    void *chain[4];
    CHECK_EQ(rcgc_why_alive(h, a, chain, 4), 0);
    CHECK(WHY_IS(h, w, w));
    rcgc_decref(w);
    rcgc_heap_free(h);
}

static void test_why_out_of_memory(void)
{
    fault_mem fm;
    rcgc_heap *h = new_heap(&fm, NULL);
    if (!h)
        return;
    node *a = new_node(h, NULL), *b = new_node(h, NULL);
    rcgc_set(&a->a, b);
    rcgc_decref(b);
    void *chain[4];
    size_t before = fm.outstanding_bytes;
    /* Each of the three side tables fails in turn. */
    for (size_t k = 1; k <= 3; k++) {
        fail_request(&fm, k, 0);
        CHECK_EQ(rcgc_why_alive(h, b, chain, 4), -1);
        CHECK_EQ(fm.injected, k);
        CHECK_EQ(fm.outstanding_bytes, before);
    }
    fm.fail_at = 0;
    CHECK(WHY_IS(h, b, a, b));
    rcgc_decref(a);
    free_heap(h, &fm);
}

/* ------------------------------------------------------------------------- */
/* The cycle report                                                          */
/* ------------------------------------------------------------------------- */

/* A heap whose debug stream, where the report goes, is a temporary file. */
typedef struct report_heap {
    FILE *f;
    rcgc_heap *h;
} report_heap;

/* Opens r: a temporary file and a new_heap(fm, file). Returns the heap, or
   NULL, with nothing left open, when either cannot be made. */
static rcgc_heap *report_open(report_heap *r, fault_mem *fm)
{
    r->h = NULL;
    r->f = tmpfile();
    CHECK(r->f != NULL);
    if (!r->f)
        return NULL;
    r->h = new_heap(fm, r->f);
    if (!r->h)
        fclose(r->f);
    return r->h;
}

/* Frees r's heap as free_heap does and closes its file. */
static void report_close(report_heap *r, fault_mem *fm)
{
    free_heap(r->h, fm);
    fclose(r->f);
}

/* Checks the report for generation 0's list, as if it were a collection's
   unreachable set (the report only reads the list and traverses), against
   the text expected. */
static void check_report(report_heap *r, const char *expected)
{
    rewind(r->f);
    rcgc__report_sccs(r->h, &r->h->gen[0].head);
    long end = ftell(r->f);
    rewind(r->f);
    char *text = malloc((size_t)end + 1);
    if (text)
        text[fread(text, 1, (size_t)end, r->f)] = '\0';
    CHECK_STR(text ? text : "(no report)", expected);
    free(text);
}

static void test_report_components(void)
{
    report_heap rep;
    rcgc_heap *h = report_open(&rep, NULL);
    if (!h)
        return;
    evlog log;
    memset(&log, 0, sizeof log);
    /* node is registered before fnode. */
    node *a = new_node(h, NULL), *b = new_node(h, NULL);
    node *c = new_fin(h, &log, "c", NULL);
    node *d = new_node(h, NULL), *e = new_node(h, NULL), *s = new_node(h, NULL);
    node *g = new_node(h, NULL), *k = new_node(h, NULL);
    rcgc_set(&a->a, b);     /* a -> b -> c -> a: a cycle of 3 */
    rcgc_set(&b->a, c);
    rcgc_set(&c->a, a);
    rcgc_set(&d->a, e);     /* d <-> e: a cycle of 2 */
    rcgc_set(&e->a, d);
    rcgc_set(&s->a, s);     /* s: a cycle of 1 */
    rcgc_set(&d->b, g);     /* g and k hang off the cycles: in no cycle */
    rcgc_set(&g->a, k);
    check_report(&rep,
                 "gc: unreachable: 8 objects, 3 cycles\n"
                 "gc:   cycle of 3 objects: 2 node, 1 fnode\n"
                 "gc:   cycle of 2 objects: 2 node\n"
                 "gc:   cycle of 1 object (refers to itself): 1 node\n"
                 "gc:   outside cycles, held only by garbage: 2 node\n");
    node *all[] = { a, b, c, d, e, s, g, k };
    for (size_t i = 0; i < 8; i++)
        rcgc_decref(all[i]);
    rcgc_collect(h, 2);
    report_close(&rep, NULL);
}

static void test_report_empty_and_acyclic(void)
{
    report_heap rep;
    rcgc_heap *h = report_open(&rep, NULL);
    if (!h)
        return;
    check_report(&rep, "");
    node *a = new_node(h, NULL), *b = new_node(h, NULL);
    rcgc_set(&a->a, b);
    check_report(&rep,
                 "gc: unreachable: 2 objects, 0 cycles\n"
                 "gc:   outside cycles, held only by garbage: 2 node\n");
    rcgc_decref(a);
    rcgc_decref(b);
    report_close(&rep, NULL);
}

/* More than 8 cycles: the largest 8 are listed, the rest summed up; ties
   keep list order. */
static void test_report_cap(void)
{
    report_heap rep;
    rcgc_heap *h = report_open(&rep, NULL);
    if (!h)
        return;
    node *held[40];
    size_t n = 0;
    /* Cycles of sizes 1, 2, ..., 6, then six more self-references. */
    for (int size = 1; size <= 6; size++) {
        node *first = new_node(h, NULL), *prev = first;
        held[n++] = first;
        for (int i = 1; i < size; i++) {
            node *x = new_node(h, NULL);
            held[n++] = x;
            rcgc_set(&prev->a, x);
            prev = x;
        }
        rcgc_set(&prev->a, first);
    }
    for (int i = 0; i < 6; i++) {
        node *x = new_node(h, NULL);
        held[n++] = x;
        rcgc_set(&x->a, x);
    }
    check_report(&rep,
                 "gc: unreachable: 27 objects, 12 cycles\n"
                 "gc:   cycle of 6 objects: 6 node\n"
                 "gc:   cycle of 5 objects: 5 node\n"
                 "gc:   cycle of 4 objects: 4 node\n"
                 "gc:   cycle of 3 objects: 3 node\n"
                 "gc:   cycle of 2 objects: 2 node\n"
                 "gc:   cycle of 1 object (refers to itself): 1 node\n"
                 "gc:   cycle of 1 object (refers to itself): 1 node\n"
                 "gc:   cycle of 1 object (refers to itself): 1 node\n"
                 "gc:   4 more cycles of 1 object: 4 node\n");
    for (size_t i = 0; i < n; i++)
        rcgc_decref(held[i]);
    CHECK_EQ(rcgc_collect(h, 2), 27);
    report_close(&rep, NULL);
}

/* More than four types in one cycle: the most frequent four, then a count. */
static const rcgc_type t1 = { "t1", sizeof(node), node_traverse, NULL, NULL };
static const rcgc_type t2 = { "t2", sizeof(node), node_traverse, NULL, NULL };
static const rcgc_type t3 = { "t3", sizeof(node), node_traverse, NULL, NULL };
static const rcgc_type t4 = { "t4", sizeof(node), node_traverse, NULL, NULL };
static const rcgc_type t5 = { "t5", sizeof(node), node_traverse, NULL, NULL };

static void test_report_types(void)
{
    report_heap rep;
    rcgc_heap *h = report_open(&rep, NULL);
    if (!h)
        return;
    /* A ring of 1 t1, 3 t2, 2 t3, 1 t4, 2 t5. */
    const rcgc_type *types[] = { &t1, &t2, &t3, &t4, &t5, &t2, &t3, &t5, &t2 };
    node *ring[9];
    for (size_t i = 0; i < 9; i++)
        ring[i] = rcgc_new(h, types[i]);
    for (size_t i = 0; i < 9; i++)
        rcgc_set(&ring[i]->a, ring[(i + 1) % 9]);
    check_report(&rep,
                 "gc: unreachable: 9 objects, 1 cycle\n"
                 "gc:   cycle of 9 objects: 3 t2, 2 t3, 2 t5, 1 t1, 1 more type\n");
    for (size_t i = 0; i < 9; i++)
        rcgc_decref(ring[i]);
    CHECK_EQ(rcgc_collect(h, 2), 9);
    report_close(&rep, NULL);
}

/* A ring far deeper than any C stack would allow a recursive search. */
static void test_report_big_ring(void)
{
    report_heap rep;
    rcgc_heap *h = report_open(&rep, NULL);
    if (!h)
        return;
    size_t n = scaled(1000000, 20000);
    node *first = new_node(h, NULL), *prev = first;
    for (size_t i = 1; i < n; i++) {
        node *x = rcgc_new(h, &node_type);
        if (!x)
            break;
        rcgc_set(&prev->a, x);
        rcgc_decref(x);
        prev = x;
    }
    rcgc_set(&prev->a, first);
    char expected[160];
    snprintf(expected, sizeof expected, "gc: unreachable: %zu objects, 1 cycle\ngc:   cycle of %zu objects: %zu node\n",
             n, n, n);
    check_report(&rep, expected);
    rcgc_decref(first);
    CHECK_EQ(rcgc_collect(h, 2), (ptrdiff_t)n);
    report_close(&rep, NULL);
}

static void test_report_out_of_memory(void)
{
    fault_mem fm;
    report_heap rep;
    rcgc_heap *h = report_open(&rep, &fm);
    if (!h)
        return;
    node *a = new_node(h, NULL), *b = new_node(h, NULL);
    link_pair(a, b);
    /* Each of the twelve tables the report makes fails in turn: one line,
       nothing kept. */
    size_t before = fm.outstanding_bytes;
    for (size_t k = 1; k <= 13; k++) {
        fail_request(&fm, k, 1);
        check_report(&rep, k <= 12 ? "gc: unreachable: 2 objects; scc report skipped: out of memory\n"
                                   : "gc: unreachable: 2 objects, 1 cycle\ngc:   cycle of 2 objects: 2 node\n");
        fm.fail_at = 0;
        CHECK_EQ(fm.outstanding_bytes, before);
    }
    rcgc_decref(a);
    rcgc_decref(b);
    CHECK_EQ(rcgc_collect(h, 2), 2);
    report_close(&rep, &fm);
}

int main(void)
{
    TEST(test_dot_labelled);
    TEST(test_dot_defaults);
    TEST(test_dot_deterministic);
    TEST(test_dot_empty_heap);
    TEST(test_dot_out_of_memory);
    TEST(test_dot_write_fails);
    TEST(test_why_chain_through_list);
    TEST(test_why_garbage_cycle);
    TEST(test_why_frozen_cycle);
    TEST(test_why_held_cycle_and_shortest);
    TEST(test_why_untracked_frozen_immortal);
    TEST(test_why_weakref_is_not_a_reference);
    TEST(test_why_out_of_memory);
    TEST(test_report_components);
    TEST(test_report_empty_and_acyclic);
    TEST(test_report_cap);
    TEST(test_report_types);
    TEST(test_report_big_ring);
    TEST(test_report_out_of_memory);
    return check_summary();
}
