/*
 * Making the heap visible: rcgc_dump_dot (the object graph in Graphviz DOT),
 * rcgc_why_alive (the shortest chain of references from an outside-referenced
 * object) and the cycle report printed under RCGC_DEBUG_COLLECTABLE.
 *
 * None of them touches an object header. Each builds a side table on the
 * heap's memory source and gives it back before returning:
 *   - dump and why_alive list every live block (rcgc__each_block walks the
 *     regions in index order and each page in address order, which is the
 *     order of compressed references), so an object's entry is found by
 *     binary search on its reference;
 *   - why_alive computes gc_refs as the collector does (count minus
 *     references from tracked objects), then searches breadth first from the
 *     objects left with gc_refs > 0;
 *   - the cycle report numbers the objects of a collection's unreachable
 *     list, finds the strongly connected components of the references among
 *     them with Tarjan's algorithm run on an explicit stack (no recursion:
 *     a component may hold millions of objects) and prints them largest
 *     first. Without memory for its tables it prints one line and returns:
 *     a collection never fails for it.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdlib.h>

/* ---- Side tables on the heap's memory source ------------------------------- */

/* An array of n elements of elem bytes, or NULL when memory is short or the
   size overflows. *bytes receives the size to give back. */
static void *side_alloc(rcgc_heap *h, size_t n, size_t elem, size_t *bytes)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / elem) {
        *bytes = 0;
        return NULL;
    }
    *bytes = n * elem;
    return rcgc__sys_alloc(h, *bytes, 16);
}

static void side_free(rcgc_heap *h, void *p, size_t bytes)
{
    if (p)
        rcgc__sys_free(h, p, bytes);
}

/* ---- The table of live objects ------------------------------------------- */

enum where {
    W_GEN0, W_GEN1, W_GEN2,     /* the generations, in this order */
    W_PERMANENT,
    W_UNTRACKED,
    W_COLLECTING                /* tracked, but in none of the above lists */
};

typedef struct vobj {
    head_t *x;
    uint32_t ref;
    uint8_t where;
    uint8_t marked;             /* rcgc_dot_options.unreachable */
} vobj;

typedef struct vtable {
    vobj *v;
    size_t n, bytes;
} vtable;

static bool is_dying(const head_t *x)
{
    return (x->info & (F_PENDING | F_RELEASING)) != 0;
}

static void count_block(rcgc_heap *h, head_t *x, void *arg)
{
    (void)h;
    if (!is_dying(x))
        ++*(size_t *)arg;
}

typedef struct fill_ctx {
    vtable *t;
    size_t cap;
} fill_ctx;

static void fill_block(rcgc_heap *h, head_t *x, void *arg)
{
    (void)h;
    fill_ctx *c = arg;
    if (is_dying(x) || c->t->n == c->cap)
        return;
    vobj *o = &c->t->v[c->t->n++];
    o->x = x;
    o->ref = ref_of(x);
    o->where = x->next != 0 ? W_COLLECTING : W_UNTRACKED;
    o->marked = 0;
}

static int by_ref(const void *a, const void *b)
{
    uint32_t x = ((const vobj *)a)->ref, y = ((const vobj *)b)->ref;
    return x < y ? -1 : x > y;
}

/* The index of the object with reference ref, or SIZE_MAX. */
static size_t vtable_find(const vtable *t, uint32_t ref)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->v[mid].ref < ref)
            lo = mid + 1;
        else if (t->v[mid].ref > ref)
            hi = mid;
        else
            return mid;
    }
    return SIZE_MAX;
}

static size_t vtable_find_obj(const vtable *t, const void *obj)
{
    return vtable_find(t, ref_of(head_of(obj)));
}

/* Lists every live object, sorted by reference, with the list it is in. */
static int vtable_build(rcgc_heap *h, vtable *t)
{
    size_t n = 0;
    rcgc__each_block(h, count_block, &n);
    t->n = 0;
    t->v = side_alloc(h, n, sizeof *t->v, &t->bytes);
    if (!t->v)
        return -1;
    fill_ctx c = { t, n };
    rcgc__each_block(h, fill_block, &c);
    for (size_t i = 1; i < t->n; i++) {
        if (t->v[i - 1].ref > t->v[i].ref) {
            qsort(t->v, t->n, sizeof *t->v, by_ref);
            break;
        }
    }
    head_t *lists[4] = { &h->gen[0].head, &h->gen[1].head, &h->gen[2].head, &h->permanent };
    for (int w = 0; w < 4; w++) {
        uint32_t end = ref_of(lists[w]);
        for (uint32_t r = lists[w]->next; r != end; r = ref_ptr(h, r)->next) {
            size_t i = vtable_find(t, r);
            if (i != SIZE_MAX)
                t->v[i].where = (uint8_t)w;
        }
    }
    return 0;
}

static void vtable_free(rcgc_heap *h, vtable *t)
{
    side_free(h, t->v, t->bytes);
    t->v = NULL;
}

/* ---- rcgc_dump_dot --------------------------------------------------------- */

static const char *const where_class[] = { "gen0", "gen1", "gen2", "permanent", "untracked", "collecting" };
static const char *const where_fill[] = { "#fff3bf", "#ffd8a8", "#e5dbff", "#a5d8ff", "#f1f3f5", "#f1f3f5" };
static const char *const where_legend[] = {
    "generation 0", "generation 1", "generation 2", "frozen (permanent)", "untracked", "being collected"
};

#define UNREACHABLE_COLOR "#c92a2a"

/* Writes s between double quotes, escaped for DOT; other control characters
   become spaces. */
static void put_quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fputc('\\', out);
        if (c == '\n')
            fputs("\\n", out);
        else
            fputc(c < 0x20 ? ' ' : c, out);
    }
    fputc('"', out);
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return x < y ? -1 : x > y;
}

/* Marks the table's objects that appear among ptrs, comparing addresses. */
static int mark_unreachable(rcgc_heap *h, vtable *t, void *const *ptrs, size_t count)
{
    if (!count)
        return 0;
    size_t bytes;
    void **sorted = side_alloc(h, count, sizeof *sorted, &bytes);
    if (!sorted)
        return -1;
    memcpy(sorted, ptrs, count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, by_address);
    for (size_t i = 0; i < t->n; i++) {
        void *obj = obj_of(t->v[i].x);
        t->v[i].marked = bsearch(&obj, sorted, count, sizeof *sorted, by_address) != NULL;
    }
    side_free(h, sorted, bytes);
    return 0;
}

typedef struct edge_ctx {
    const vtable *t;
    FILE *out;
    uint32_t from;
} edge_ctx;

static void visit_edge(void **slot, void *arg)
{
    edge_ctx *c = arg;
    if (*slot && vtable_find_obj(c->t, *slot) != SIZE_MAX)
        fprintf(c->out, "  r%" PRIx32 " -> r%" PRIx32 ";\n", c->from, ref_of(head_of(*slot)));
}

static void put_node(rcgc_heap *h, FILE *out, const vobj *o, const rcgc_dot_options *opt)
{
    void *obj = obj_of(o->x);
    const rcgc_type *t = type_of_head(h, o->x);
    bool weak = rcgc_is_weakref(obj), immortal = (o->x->info & F_IMMORTAL) != 0;
    bool finalized = (o->x->info & F_FINALIZED) != 0;
    char name[128], label[256];

    if (opt->label) {
        name[0] = '\0';
        opt->label(obj, name, sizeof name, opt->label_arg);
        name[sizeof name - 1] = '\0';
    } else {
        snprintf(name, sizeof name, "%s", t->name ? t->name : "?");
    }
    if (immortal)
        snprintf(label, sizeof label, "%s\nimmortal", name);
    else
        snprintf(label, sizeof label, "%s\nrc %" PRIu32 "%s", name, o->x->refcnt, finalized ? ", finalized" : "");

    char cls[96];
    snprintf(cls, sizeof cls, "%s%s%s%s%s", where_class[o->where], weak ? " weakref" : "",
             finalized ? " finalized" : "", immortal ? " immortal" : "", o->marked ? " unreachable" : "");
    fprintf(out, "  r%" PRIx32 " [label=", o->ref);
    put_quoted(out, label);
    fprintf(out, " class=\"%s\" fillcolor=\"%s\"", cls, where_fill[o->where]);
    if (weak)
        fputs(" shape=ellipse", out);
    if (finalized)
        fputs(" peripheries=2", out);
    if (o->marked || o->where == W_COLLECTING)
        fputs(" color=\"" UNREACHABLE_COLOR "\" penwidth=2.5 fontcolor=\"" UNREACHABLE_COLOR "\"", out);
    fputs("];\n", out);
}

/* Writes s escaped for an HTML-like label. */
static void put_html_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '&')
            fputs("&amp;", out);
        else if (c == '<')
            fputs("&lt;", out);
        else if (c == '>')
            fputs("&gt;", out);
        else if (c == '"')
            fputs("&quot;", out);
        else
            fputc(c < 0x20 ? ' ' : c, out);
    }
}

/* The graph's label as a table: the title, then the legend in two rows. */
static void put_legend_label(FILE *out, const char *title)
{
    fputs(" label=<<table border=\"0\" cellspacing=\"3\" cellpadding=\"3\">", out);
    if (title) {
        fputs("<tr><td colspan=\"4\">", out);
        put_html_text(out, title);
        fputs("</td></tr>", out);
    }
    fputs("<tr>", out);
    for (int w = W_GEN0; w <= W_UNTRACKED; w++) {
        if (w == W_UNTRACKED)
            fputs("</tr><tr>", out);
        fprintf(out, "<td border=\"1\" bgcolor=\"%s\"><font point-size=\"10\">%s</font></td>", where_fill[w],
                where_legend[w]);
    }
    fputs("<td border=\"1\"><font point-size=\"10\">double border: finalizer has run</font></td>"
          "<td border=\"1\" color=\"" UNREACHABLE_COLOR "\"><font point-size=\"10\" color=\"" UNREACHABLE_COLOR
          "\">red: unreachable, being freed</font></td>"
          "<td border=\"1\"><font point-size=\"10\">ellipse, dashed: weak reference</font></td>"
          "</tr></table>>", out);
}

int rcgc_dump_dot_ex(rcgc_heap *h, FILE *out, const rcgc_dot_options *options)
{
    rcgc_dot_options none;
    memset(&none, 0, sizeof none);
    const rcgc_dot_options *opt = options ? options : &none;
    vtable t;
    if (vtable_build(h, &t) != 0)
        return -1;
    if (mark_unreachable(h, &t, opt->unreachable, opt->unreachable_count) != 0) {
        vtable_free(h, &t);
        return -1;
    }

    fputs("digraph rcgc {\n", out);
    fputs("  graph [rankdir=LR fontname=\"Helvetica\" labelloc=t", out);
    if (opt->legend) {
        put_legend_label(out, opt->title);
    } else if (opt->title) {
        fputs(" label=", out);
        put_quoted(out, opt->title);
    }
    fputs("];\n  node [shape=box style=\"rounded,filled\" fontname=\"Helvetica\" fontsize=11 color=\"#495057\"];\n"
          "  edge [color=\"#495057\" arrowsize=0.7];\n", out);
    for (size_t i = 0; i < t.n; i++)
        put_node(h, out, &t.v[i], opt);
    for (size_t i = 0; i < t.n; i++) {
        void *obj = obj_of(t.v[i].x);
        if (rcgc_is_weakref(obj)) {
            void *referent = rcgc_weakref_get(obj);
            if (referent) {
                if (vtable_find_obj(&t, referent) != SIZE_MAX)
                    fprintf(out, "  r%" PRIx32 " -> r%" PRIx32 " [style=dashed class=\"weak\"];\n",
                            t.v[i].ref, ref_of(head_of(referent)));
                rcgc_decref(referent);
            }
            continue;
        }
        if (is_container(h, t.v[i].x)) {
            edge_ctx c = { &t, out, t.v[i].ref };
            traverse_head(h, t.v[i].x, visit_edge, &c);
        }
    }
    fputs("}\n", out);
    vtable_free(h, &t);
    return fflush(out) != 0 || ferror(out) ? -1 : 0;
}

int rcgc_dump_dot(rcgc_heap *h, FILE *out)
{
    return rcgc_dump_dot_ex(h, out, NULL);
}

/* ---- rcgc_why_alive --------------------------------------------------------- */

#define NOT_SEEN UINT32_MAX
#define ROOT (UINT32_MAX - 1)

typedef struct why_node {
    int64_t gc_refs;
    uint32_t parent;            /* NOT_SEEN, ROOT, or the index it was reached from */
} why_node;

typedef struct why_ctx {
    const vtable *t;
    why_node *w;
    uint32_t *queue;
    size_t tail;
    const void *target;
    size_t target_internal;     /* references to target from tracked objects */
    uint32_t from;
    bool found;
} why_ctx;

static bool tracked_entry(const vobj *o)
{
    return o->where != W_UNTRACKED;
}

/* A root: referenced from outside the tracked objects (gc_refs above 0), or
   frozen, which no collection examines, so that what it refers to lives
   while it does. */
static bool why_root(const vobj *o, const why_node *n)
{
    return n->gc_refs > 0 || o->where == W_PERMANENT;
}

static void visit_subtract(void **slot, void *arg)
{
    why_ctx *c = arg;
    if (!*slot)
        return;
    if (*slot == c->target)
        c->target_internal++;
    size_t i = vtable_find_obj(c->t, *slot);
    if (i != SIZE_MAX && tracked_entry(&c->t->v[i]))
        c->w[i].gc_refs--;
}

static void visit_reach(void **slot, void *arg)
{
    why_ctx *c = arg;
    if (!*slot || c->found)
        return;
    if (*slot == c->target) {
        c->found = true;
        return;
    }
    size_t i = vtable_find_obj(c->t, *slot);
    if (i != SIZE_MAX && tracked_entry(&c->t->v[i]) && c->w[i].parent == NOT_SEEN) {
        c->w[i].parent = c->from;
        c->queue[c->tail++] = (uint32_t)i;
    }
}

ptrdiff_t rcgc_why_alive(rcgc_heap *h, const void *obj, void **chain, size_t max)
{
    if (!h || !obj)
        return -1;
    const head_t *target = head_of(obj);
    if (target->info & F_IMMORTAL) {
        if (max)
            chain[0] = (void *)obj;
        return 1;
    }
    vtable t;
    if (vtable_build(h, &t) != 0)
        return -1;
    if (t.n >= ROOT) {
        vtable_free(h, &t);
        return -1;
    }
    size_t wbytes, qbytes;
    why_node *w = side_alloc(h, t.n, sizeof *w, &wbytes);
    uint32_t *queue = side_alloc(h, t.n, sizeof *queue, &qbytes);
    if (!w || !queue) {
        side_free(h, w, wbytes);
        side_free(h, queue, qbytes);
        vtable_free(h, &t);
        return -1;
    }

    /* gc_refs: the count, minus the references from tracked objects. */
    why_ctx c = { &t, w, queue, 0, obj, 0, 0, false };
    for (size_t i = 0; i < t.n; i++) {
        w[i].gc_refs = t.v[i].x->refcnt;
        w[i].parent = NOT_SEEN;
    }
    for (size_t i = 0; i < t.n; i++) {
        if (tracked_entry(&t.v[i]))
            traverse_head(h, t.v[i].x, visit_subtract, &c);
    }

    size_t ti = vtable_find_obj(&t, obj);
    bool target_root;
    if (ti != SIZE_MAX && tracked_entry(&t.v[ti]))
        target_root = why_root(&t.v[ti], &w[ti]);
    else
        target_root = (size_t)target->refcnt > c.target_internal;

    ptrdiff_t length = 0;
    uint32_t last = ROOT;      /* the object that refers to target */
    if (target_root) {
        length = 1;
    } else {
        for (size_t i = 0; i < t.n; i++) {
            if (i != ti && tracked_entry(&t.v[i]) && why_root(&t.v[i], &w[i])) {
                w[i].parent = ROOT;
                queue[c.tail++] = (uint32_t)i;
            }
        }
        if (ti != SIZE_MAX)
            w[ti].parent = ROOT;    /* never enqueued: reaching it ends the search */
        for (size_t head = 0; head < c.tail && !c.found; head++) {
            c.from = queue[head];
            traverse_head(h, t.v[c.from].x, visit_reach, &c);
            if (c.found)
                last = c.from;
        }
        if (c.found) {
            length = 2;
            for (uint32_t i = last; w[i].parent != ROOT; i = w[i].parent)
                length++;
        }
    }
    if (length > 0) {
        size_t pos = (size_t)length - 1;
        if (pos < max)
            chain[pos] = (void *)obj;
        for (uint32_t i = last; i != ROOT; i = w[i].parent) {
            pos--;
            if (pos < max)
                chain[pos] = obj_of(t.v[i].x);
        }
    }
    side_free(h, w, wbytes);
    side_free(h, queue, qbytes);
    vtable_free(h, &t);
    return length;
}

/* ---- The cycle report -------------------------------------------------------- */

/* How many cycles are listed one per line; the rest are summed up. */
#define REPORT_CYCLES 8
/* How many type names a line shows. */
#define REPORT_TYPES 4

typedef struct component {
    uint32_t start;             /* first member in `order` */
    uint32_t size;
    uint32_t first;             /* smallest member number: list order */
    uint32_t cyclic;            /* more than one member, or a reference to itself */
} component;

typedef struct scc_ctx {
    rcgc_heap *h;
    uint32_t *map_key;          /* reference -> member number + 1, open addressing */
    uint32_t *map_val;
    size_t map_mask;
    uint32_t *off;              /* off[i]..off[i+1]: i's references in adj */
    uint32_t *adj;
    size_t edges;
    bool fill;
} scc_ctx;

static size_t ref_hash(uint32_t r, size_t mask)
{
    return (size_t)((r * 0x9E3779B1u) >> 7) & mask;
}

static uint32_t scc_member(const scc_ctx *c, const void *obj)
{
    uint32_t r = ref_of(head_of(obj));
    for (size_t i = ref_hash(r, c->map_mask);; i = (i + 1) & c->map_mask) {
        if (c->map_val[i] == 0)
            return UINT32_MAX;
        if (c->map_key[i] == r)
            return c->map_val[i] - 1;
    }
}

static void visit_scc_edge(void **slot, void *arg)
{
    scc_ctx *c = arg;
    if (!*slot)
        return;
    uint32_t m = scc_member(c, *slot);
    if (m == UINT32_MAX)
        return;
    if (c->fill)
        c->adj[c->edges] = m;
    c->edges++;
}

static int by_size(const void *a, const void *b)
{
    const component *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int by_uint32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

/* Prints "3 node, 1 fnode" for the n type indexes in types (sorted here):
   the most frequent first, at most REPORT_TYPES of them. */
static void put_types(rcgc_heap *h, FILE *f, uint32_t *types, size_t n)
{
    qsort(types, n, sizeof *types, by_uint32);
    struct { uint32_t type; size_t count; } top[REPORT_TYPES + 1];
    size_t ntop = 0, kinds = 0;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i; j < n && types[j] == types[i]; j++)
            ;
        kinds++;
        /* Insert the run into top, kept sorted by count (stable: ties keep
           type-index order), and forget what falls off the end. */
        size_t k = ntop;
        while (k > 0 && top[k - 1].count < j - i) {
            top[k] = top[k - 1];
            k--;
        }
        top[k].type = types[i];
        top[k].count = j - i;
        if (ntop < REPORT_TYPES)
            ntop++;
    }
    for (size_t k = 0; k < ntop; k++) {
        const char *name = h->types[top[k].type].type->name;
        fprintf(f, "%s%zu %s", k ? ", " : "", top[k].count, name ? name : "?");
    }
    if (kinds > ntop)
        fprintf(f, ", %zu more type%s", kinds - ntop, plural(kinds - ntop));
}

typedef struct scc_mem {
    void *p[16];
    size_t bytes[16];
    int n;
} scc_mem;

static void *scc_alloc(rcgc_heap *h, scc_mem *m, size_t n, size_t elem)
{
    void *p = side_alloc(h, n, elem, &m->bytes[m->n]);
    if (p)
        m->p[m->n++] = p;
    return p;
}

static void scc_free_all(rcgc_heap *h, scc_mem *m)
{
    while (m->n > 0) {
        m->n--;
        side_free(h, m->p[m->n], m->bytes[m->n]);
    }
}

/* Tarjan's algorithm on an explicit stack. Fills comps (returns how many)
   and order, where each component's members lie together. */
static size_t tarjan(uint32_t n, const uint32_t *off, const uint32_t *adj, uint32_t *index, uint32_t *low,
                     uint32_t *comp_of, uint32_t *stack, uint32_t *order, uint32_t *frame_node,
                     uint32_t *frame_pos, component *comps)
{
    const uint32_t none = UINT32_MAX;
    uint32_t counter = 1, sp = 0, fp = 0, placed = 0;
    size_t ncomps = 0;
    for (uint32_t i = 0; i < n; i++) {
        index[i] = 0;
        comp_of[i] = none;
    }
    for (uint32_t s = 0; s < n; s++) {
        if (index[s])
            continue;
        index[s] = low[s] = counter++;
        stack[sp++] = s;
        frame_node[fp] = s;
        frame_pos[fp++] = off[s];
        while (fp > 0) {
            uint32_t v = frame_node[fp - 1];
            if (frame_pos[fp - 1] < off[v + 1]) {
                uint32_t u = adj[frame_pos[fp - 1]++];
                if (!index[u]) {
                    index[u] = low[u] = counter++;
                    stack[sp++] = u;
                    frame_node[fp] = u;
                    frame_pos[fp++] = off[u];
                } else if (comp_of[u] == none && index[u] < low[v]) {
                    low[v] = index[u];
                }
                continue;
            }
            fp--;
            if (low[v] == index[v]) {
                component *c = &comps[ncomps];
                c->start = placed;
                c->size = 0;
                c->first = v;
                uint32_t u;
                do {
                    u = stack[--sp];
                    comp_of[u] = (uint32_t)ncomps;
                    order[placed++] = u;
                    c->size++;
                    if (u < c->first)
                        c->first = u;
                } while (u != v);
                c->cyclic = c->size > 1;
                for (uint32_t e = off[v]; !c->cyclic && e < off[v + 1]; e++)
                    c->cyclic = adj[e] == v;
                ncomps++;
            }
            if (fp > 0) {
                uint32_t parent = frame_node[fp - 1];
                if (low[v] < low[parent])
                    low[parent] = low[v];
            }
        }
    }
    return ncomps;
}

/* Appends the type indexes of component cp's members to types[*n]. */
static void gather_types(head_t *const *node, const uint32_t *order, const component *cp, uint32_t *types,
                         size_t *n)
{
    for (uint32_t m = 0; m < cp->size; m++)
        types[(*n)++] = node[order[cp->start + m]]->info >> TYPE_SHIFT;
}

/* Called by the collector under RCGC_DEBUG_COLLECTABLE with the unreachable
   list it has just found, before any finalizer or callback runs. */
void rcgc__report_sccs(rcgc_heap *h, head_t *unreachable)
{
    FILE *f = h->debug_stream ? h->debug_stream : stderr;
    size_t count = 0;
    uint32_t end = ref_of(unreachable);
    for (uint32_t r = unreachable->next; r != end; r = ref_ptr(h, r)->next)
        count++;
    if (count == 0)
        return;

    scc_mem mem = { { NULL }, { 0 }, 0 };
    scc_ctx c;
    memset(&c, 0, sizeof c);
    c.h = h;
    size_t map_size = 4;
    while (map_size < 2 * count && map_size <= SIZE_MAX / 4)
        map_size *= 2;
    head_t **node = NULL;
    if (count < UINT32_MAX - 1 && map_size >= 2 * count) {
        c.map_key = scc_alloc(h, &mem, map_size, sizeof *c.map_key);
        c.map_val = c.map_key ? scc_alloc(h, &mem, map_size, sizeof *c.map_val) : NULL;
        node = c.map_val ? scc_alloc(h, &mem, count, sizeof *node) : NULL;
        c.off = node ? scc_alloc(h, &mem, count + 1, sizeof *c.off) : NULL;
    }
    if (!c.off)
        goto out_of_memory;
    c.map_mask = map_size - 1;
    memset(c.map_val, 0, map_size * sizeof *c.map_val);
    uint32_t n = (uint32_t)count, i = 0;
    for (uint32_t r = unreachable->next; r != end; r = ref_ptr(h, r)->next, i++) {
        node[i] = ref_ptr(h, r);
        size_t k = ref_hash(r, c.map_mask);
        while (c.map_val[k] != 0)
            k = (k + 1) & c.map_mask;
        c.map_key[k] = r;
        c.map_val[k] = i + 1;
    }

    /* The references among the members, as adjacency arrays: count, then fill. */
    for (i = 0; i < n; i++) {
        c.off[i] = (uint32_t)c.edges;
        traverse_head(h, node[i], visit_scc_edge, &c);
        if (c.edges >= UINT32_MAX)
            goto out_of_memory;
    }
    c.off[n] = (uint32_t)c.edges;
    c.adj = scc_alloc(h, &mem, c.edges, sizeof *c.adj);
    uint32_t *index = c.adj ? scc_alloc(h, &mem, count, sizeof *index) : NULL;
    uint32_t *low = index ? scc_alloc(h, &mem, count, sizeof *low) : NULL;
    uint32_t *comp_of = low ? scc_alloc(h, &mem, count, sizeof *comp_of) : NULL;
    uint32_t *stack = comp_of ? scc_alloc(h, &mem, count, sizeof *stack) : NULL;
    uint32_t *order = stack ? scc_alloc(h, &mem, count, sizeof *order) : NULL;
    uint32_t *frames = order ? scc_alloc(h, &mem, count, 2 * sizeof *frames) : NULL;
    component *comps = frames ? scc_alloc(h, &mem, count, sizeof *comps) : NULL;
    if (!comps)
        goto out_of_memory;
    c.fill = true;
    c.edges = 0;
    for (i = 0; i < n; i++)
        traverse_head(h, node[i], visit_scc_edge, &c);

    size_t ncomps = tarjan(n, c.off, c.adj, index, low, comp_of, stack, order, frames, frames + count, comps);
    qsort(comps, ncomps, sizeof *comps, by_size);

    /* Largest cycles first, one line each; then the other cycles together;
       then the objects outside any cycle (garbage only because garbage refers
       to them). The stack's room holds the type lists. */
    size_t cycles = 0, listed = 0, acyclic = 0, rest = 0, rest_objects = 0, rest_min = 0, rest_max = 0;
    for (size_t k = 0; k < ncomps; k++) {
        if (comps[k].cyclic)
            cycles++;
        else
            acyclic++;
    }
    fprintf(f, "gc: unreachable: %zu object%s, %zu cycle%s\n", count, plural(count), cycles, plural(cycles));
    uint32_t *types = stack;
    size_t ntypes = 0;
    for (size_t k = 0; k < ncomps; k++) {
        const component *cp = &comps[k];
        if (!cp->cyclic)
            continue;
        if (listed < REPORT_CYCLES) {
            listed++;
            ntypes = 0;
            gather_types(node, order, cp, types, &ntypes);
            fprintf(f, "gc:   cycle of %" PRIu32 " object%s%s: ", cp->size, plural(cp->size),
                    cp->size == 1 ? " (refers to itself)" : "");
            put_types(h, f, types, ntypes);
            fputc('\n', f);
        } else {
            rest++;
            rest_objects += cp->size;
            if (rest_min == 0 || cp->size < rest_min)
                rest_min = cp->size;
            if (cp->size > rest_max)
                rest_max = cp->size;
        }
    }
    if (rest) {
        ntypes = 0;
        size_t seen = 0;
        for (size_t k = 0; k < ncomps; k++) {
            if (comps[k].cyclic && seen++ >= REPORT_CYCLES)
                gather_types(node, order, &comps[k], types, &ntypes);
        }
        if (rest_min == rest_max)
            fprintf(f, "gc:   %zu more cycle%s of %zu object%s: ", rest, plural(rest), rest_min, plural(rest_min));
        else
            fprintf(f, "gc:   %zu more cycles of %zu to %zu objects (%zu objects): ", rest, rest_min, rest_max,
                    rest_objects);
        put_types(h, f, types, ntypes);
        fputc('\n', f);
    }
    if (acyclic) {
        ntypes = 0;
        for (size_t k = 0; k < ncomps; k++) {
            if (!comps[k].cyclic)
                gather_types(node, order, &comps[k], types, &ntypes);
        }
        fprintf(f, "gc:   outside cycles, held only by garbage: ");
        put_types(h, f, types, ntypes);
        fputc('\n', f);
    }
    scc_free_all(h, &mem);
    return;

out_of_memory:
    fprintf(f, "gc: unreachable: %zu object%s; scc report skipped: out of memory\n", count, plural(count));
    scc_free_all(h, &mem);
}
