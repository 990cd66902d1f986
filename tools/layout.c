/*
 * The built-in layout (layout.h). Parsing: rcgc_dump_dot_ex writes each node
 * as `  rREF [label="..." class="..." fillcolor="..." ...];` and each edge as
 * `  rA -> rB;` (a weak reference adds `[style=dashed ...]`), one per line,
 * which is all this reads. Layout: a column per distance from the roots
 * (breadth first over strong references), rows in the order the search
 * meets the objects; edges are cubic curves from the right side of the
 * source to the left side of the target, a loop for a self-reference.
 */
#include "layout.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINES 3
#define CHAR_W 7
#define LINE_H 15
#define PAD 8
#define GAP_X 70
#define GAP_Y 22
#define MARGIN 16
#define TITLE_H 28

struct lnode {
    char id[16];
    unsigned long ref;              /* the number in the id: nodes come sorted by it */
    char lines[MAX_LINES][128];
    int nlines;
    char cls[96];
    char fill[16];
    bool ellipse, doubled, red, root;
    long refcount;                  /* -1: not shown (immortal) */
    size_t indegree;
    int band, col, row;
    bool placed;
    double x, y, w, h;
};

struct ledge {
    size_t from, to;
    bool weak;
};

struct graph {
    struct lnode *nodes;
    size_t n, cap;
    struct ledge *edges;
    size_t ne, ecap;
    size_t *off, *adj;              /* strong references of node i: adj[off[i]..off[i+1]) */
    char title[512];
};

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t n;
    void *q;

    if (need <= *cap)
        return true;
    n = *cap ? *cap * 2 : 32;
    while (n < need)
        n *= 2;
    q = realloc(*p, n * elem);
    if (q == NULL)
        return false;
    *p = q;
    *cap = n;
    return true;
}

/* Reads a quoted DOT string at s (after the opening quote) into out,
   undoing \\n, \\" and \\\\. Returns the position after the closing quote. */
static const char *read_quoted(const char *s, char *out, size_t size)
{
    size_t n = 0;

    for (; *s && *s != '"'; s++) {
        char c = *s;
        if (c == '\\' && s[1]) {
            s++;
            c = *s == 'n' ? '\n' : *s;
        }
        if (n + 1 < size)
            out[n++] = c;
    }
    out[n] = '\0';
    return *s == '"' ? s + 1 : s;
}

/* The value of attribute name (e.g. "label=") on line, or false. */
static bool attribute(const char *line, const char *name, char *out, size_t size)
{
    const char *p = line;
    size_t len = strlen(name);

    while ((p = strstr(p, name)) != NULL) {
        if (p == line || p[-1] == ' ' || p[-1] == '[') {
            p += len;
            if (*p == '"') {
                read_quoted(p + 1, out, size);
            } else {
                size_t n = 0;
                while (p[n] && p[n] != ' ' && p[n] != ']' && n + 1 < size) {
                    out[n] = p[n];
                    n++;
                }
                out[n] = '\0';
            }
            return true;
        }
        p += len;
    }
    return false;
}

static size_t find_node(const struct graph *g, const char *id)
{
    unsigned long ref = strtoul(id + 1, NULL, 16);
    size_t lo = 0, hi = g->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->nodes[mid].ref < ref)
            lo = mid + 1;
        else if (g->nodes[mid].ref > ref)
            hi = mid;
        else
            return strcmp(g->nodes[mid].id, id) == 0 ? mid : SIZE_MAX;
    }
    return SIZE_MAX;
}

static bool parse_node(struct graph *g, const char *line)
{
    struct lnode *v;
    char label[512], buf[32];
    const char *p = line + 2;
    size_t n = 0;

    if (!grow((void **)&g->nodes, &g->cap, g->n + 1, sizeof *g->nodes))
        return false;
    v = &g->nodes[g->n++];
    memset(v, 0, sizeof *v);
    while (*p && *p != ' ' && n + 1 < sizeof v->id)
        v->id[n++] = *p++;
    v->id[n] = '\0';
    v->ref = strtoul(v->id + 1, NULL, 16);
    if (attribute(line, "label=", label, sizeof label)) {
        char *s = label;
        while (v->nlines < MAX_LINES) {
            char *nl = strchr(s, '\n');
            if (nl)
                *nl = '\0';
            size_t len = strlen(s);
            if (len >= sizeof v->lines[0])
                len = sizeof v->lines[0] - 1;
            memcpy(v->lines[v->nlines], s, len);
            v->lines[v->nlines++][len] = '\0';
            if (!nl)
                break;
            s = nl + 1;
        }
    }
    attribute(line, "class=", v->cls, sizeof v->cls);
    if (!attribute(line, "fillcolor=", v->fill, sizeof v->fill))
        strcpy(v->fill, "#ffffff");
    v->ellipse = attribute(line, "shape=", buf, sizeof buf) && strcmp(buf, "ellipse") == 0;
    v->doubled = attribute(line, "peripheries=", buf, sizeof buf) && strcmp(buf, "2") == 0;
    v->red = attribute(line, "penwidth=", buf, sizeof buf);
    v->refcount = -1;
    if (v->nlines > 1 && strncmp(v->lines[1], "rc ", 3) == 0)
        v->refcount = strtol(v->lines[1] + 3, NULL, 10);
    return true;
}

static bool parse_edge(struct graph *g, const char *line)
{
    char from[16], to[16];
    const char *p = line + 2, *arrow = strstr(line, " -> ");
    size_t n = 0, a, b;

    while (p < arrow && n + 1 < sizeof from)
        from[n++] = *p++;
    from[n] = '\0';
    p = arrow + 4;
    n = 0;
    while (*p && *p != ';' && *p != ' ' && n + 1 < sizeof to)
        to[n++] = *p++;
    to[n] = '\0';
    a = find_node(g, from);
    b = find_node(g, to);
    if (a == SIZE_MAX || b == SIZE_MAX)
        return true;
    if (!grow((void **)&g->edges, &g->ecap, g->ne + 1, sizeof *g->edges))
        return false;
    g->edges[g->ne].from = a;
    g->edges[g->ne].to = b;
    g->edges[g->ne].weak = strstr(line, "style=dashed") != NULL;
    g->ne++;
    return true;
}

static bool parse(struct graph *g, const char *dot)
{
    const char *line = dot;

    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char *copy = malloc(len + 1);
        bool ok = true;
        if (copy == NULL)
            return false;
        memcpy(copy, line, len);
        copy[len] = '\0';
        if (strncmp(copy, "  graph [", 9) == 0)
            attribute(copy, "label=", g->title, sizeof g->title);
        else if (strncmp(copy, "  r", 3) == 0 && strstr(copy, " -> ") != NULL)
            ok = parse_edge(g, copy);
        else if (strncmp(copy, "  r", 3) == 0)
            ok = parse_node(g, copy);
        free(copy);
        if (!ok)
            return false;
        line = end ? end + 1 : line + len;
    }
    return true;
}

/* Breadth first from the unplaced seeds of `band`. */
static bool place(struct graph *g, size_t *queue, int band, bool roots_only, int *rows_in_col, size_t ncols)
{
    size_t head = 0, tail = 0, i, e;

    for (i = 0; i < g->n; i++) {
        struct lnode *v = &g->nodes[i];
        if (v->placed || (roots_only && !v->root))
            continue;
        v->placed = true;
        v->band = band;
        v->col = 0;
        queue[tail++] = i;
        if (!roots_only)
            break;
    }
    if (tail == 0)
        return false;
    while (head < tail) {
        size_t u = queue[head++];
        struct lnode *v = &g->nodes[u];
        if ((size_t)v->col < ncols)
            v->row = rows_in_col[v->col]++;
        for (e = g->off[u]; e < g->off[u + 1]; e++) {
            struct lnode *t = &g->nodes[g->adj[e]];
            if (t->placed)
                continue;
            t->placed = true;
            t->band = band;
            t->col = v->col + 1;
            queue[tail++] = g->adj[e];
        }
    }
    return true;
}

static void put_escaped(struct sbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': sbuf_puts(b, "&amp;"); break;
        case '<': sbuf_puts(b, "&lt;"); break;
        case '>': sbuf_puts(b, "&gt;"); break;
        case '"': sbuf_puts(b, "&quot;"); break;
        default: sbuf_append(b, s, 1);
        }
    }
}

static void put_node(struct sbuf *b, const struct lnode *v)
{
    const char *stroke = v->red ? "#c92a2a" : "#495057";
    double sw = v->red ? 2.5 : 1.0;
    int i;

    sbuf_puts(b, "<g class=\"node ");
    put_escaped(b, v->cls);
    sbuf_printf(b, "\" id=\"node-%s\"><title>", v->id);
    put_escaped(b, v->nlines ? v->lines[0] : v->id);
    sbuf_puts(b, "</title>");
    if (v->ellipse)
        sbuf_printf(b, "<ellipse cx=\"%.1f\" cy=\"%.1f\" rx=\"%.1f\" ry=\"%.1f\" fill=\"%s\" stroke=\"%s\" stroke-width=\"%.1f\"/>",
                    v->x + v->w / 2, v->y + v->h / 2, v->w / 2, v->h / 2, v->fill, stroke, sw);
    else
        sbuf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"6\" fill=\"%s\" stroke=\"%s\" stroke-width=\"%.1f\"/>",
                    v->x, v->y, v->w, v->h, v->fill, stroke, sw);
    if (v->doubled)
        sbuf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"4\" fill=\"none\" stroke=\"%s\"/>",
                    v->x + 3, v->y + 3, v->w - 6, v->h - 6, stroke);
    for (i = 0; i < v->nlines; i++) {
        sbuf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"%d\" fill=\"%s\">",
                    v->x + v->w / 2, v->y + PAD + LINE_H * (i + 1) - 4, i ? 10 : 12, v->red ? stroke : "#212529");
        put_escaped(b, v->lines[i]);
        sbuf_puts(b, "</text>");
    }
    sbuf_puts(b, "</g>\n");
}

static void put_edge(struct sbuf *b, const struct graph *g, size_t k)
{
    const struct ledge *e = &g->edges[k];
    const struct lnode *s = &g->nodes[e->from], *t = &g->nodes[e->to];
    size_t i, dup = 0;
    double bend;

    /* Edges come grouped by source: parallel ones are among the previous few. */
    for (i = k; i > 0 && g->edges[i - 1].from == e->from; i--)
        dup += g->edges[i - 1].to == e->to;
    bend = 14.0 * (double)dup;
    sbuf_printf(b, "<path class=\"edge%s\" fill=\"none\" stroke=\"#495057\" marker-end=\"url(#rcgc-arrow)\"%s d=\"",
                e->weak ? " weak" : "", e->weak ? " stroke-dasharray=\"5,4\"" : "");
    if (e->from == e->to) {
        double x0 = s->x + s->w * 0.7, y0 = s->y, x1 = s->x + s->w, y1 = s->y + s->h * 0.35;
        sbuf_printf(b, "M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x0, y0, x0, y0 - 30 - bend,
                    x1 + 30 + bend, y1, x1, y1);
    } else {
        double x0 = s->x + s->w, y0 = s->y + s->h / 2, x1 = t->x, y1 = t->y + t->h / 2;
        double dx = x1 > x0 ? (x1 - x0) / 2 : 60;
        if (t->col == s->col) {
            /* Same column: an arc on the right of both. */
            x1 = t->x + t->w;
            double out = 40 + bend;
            sbuf_printf(b, "M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x0, y0, x0 + out, y0, x1 + out, y1,
                        x1 + 4, y1);
        } else if (t->col < s->col) {
            /* Backwards: leave from the bottom, enter from below. */
            x0 = s->x + s->w / 2;
            y0 = s->y + s->h;
            x1 = t->x + t->w / 2;
            y1 = t->y + t->h;
            sbuf_printf(b, "M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x0, y0, x0, y0 + 40 + bend, x1,
                        y1 + 40 + bend, x1, y1 + 4);
        } else {
            sbuf_printf(b, "M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x0, y0, x0 + dx, y0 - bend, x1 - dx,
                        y1 - bend, x1 - 4, y1);
        }
    }
    sbuf_puts(b, "\"/>\n");
}

int layout_svg(const char *dot, struct sbuf *svg)
{
    struct graph g;
    size_t *queue = NULL;
    int *rows = NULL;
    size_t i, ncols;
    double colw = 60, rowh = 30, band_top[2], width, height;
    int maxrow[2] = { 0, 0 }, maxcol = 0;
    int r = -1;

    memset(&g, 0, sizeof g);
    if (!parse(&g, dot))
        goto done;
    for (i = 0; i < g.ne; i++) {
        if (!g.edges[i].weak)
            g.nodes[g.edges[i].to].indegree++;
    }
    for (i = 0; i < g.n; i++) {
        struct lnode *v = &g.nodes[i];
        int l;
        v->root = v->refcount < 0 || (size_t)v->refcount > v->indegree;
        v->w = 60;
        for (l = 0; l < v->nlines; l++) {
            double w = (double)strlen(v->lines[l]) * CHAR_W + 2 * PAD;
            if (w > v->w)
                v->w = w;
        }
        v->h = v->nlines * LINE_H + 2 * PAD;
        if (v->w > colw)
            colw = v->w;
        if (v->h > rowh)
            rowh = v->h;
    }
    ncols = g.n + 1;
    queue = malloc(ncols * sizeof *queue);
    rows = calloc(2 * ncols, sizeof *rows);
    g.off = calloc(g.n + 1, sizeof *g.off);
    g.adj = malloc((g.ne ? g.ne : 1) * sizeof *g.adj);
    if (queue == NULL || rows == NULL || g.off == NULL || g.adj == NULL)
        goto done;
    for (i = 0; i < g.ne; i++) {
        if (!g.edges[i].weak)
            g.off[g.edges[i].from + 1]++;
    }
    for (i = 0; i < g.n; i++)
        g.off[i + 1] += g.off[i];
    for (i = 0; i < g.ne; i++) {
        if (!g.edges[i].weak)
            g.adj[g.off[g.edges[i].from]++] = g.edges[i].to;
    }
    for (i = g.n; i > 0; i--)
        g.off[i] = g.off[i - 1];
    g.off[0] = 0;
    place(&g, queue, 0, true, rows, ncols);
    while (place(&g, queue, 1, false, rows + ncols, ncols))
        ;
    for (i = 0; i < g.n; i++) {
        const struct lnode *v = &g.nodes[i];
        if (v->row > maxrow[v->band])
            maxrow[v->band] = v->row;
        if (v->col > maxcol)
            maxcol = v->col;
    }
    band_top[0] = MARGIN + TITLE_H;
    band_top[1] = band_top[0] + (rows[0] ? (maxrow[0] + 1) * (rowh + GAP_Y) + 50 : 0);
    for (i = 0; i < g.n; i++) {
        struct lnode *v = &g.nodes[i];
        v->x = MARGIN + v->col * (colw + GAP_X) + (colw - v->w) / 2;
        v->y = band_top[v->band] + v->row * (rowh + GAP_Y) + (rowh - v->h) / 2;
    }
    width = 2 * MARGIN + (maxcol + 1) * (colw + GAP_X) + 40;
    if (rows[ncols])
        height = band_top[1] + (maxrow[1] + 1) * (rowh + GAP_Y) + 40 + MARGIN;
    else
        height = band_top[0] + (rows[0] ? (maxrow[0] + 1) * (rowh + GAP_Y) : 30) + 40 + MARGIN;
    if (width < 2 * MARGIN + (double)strlen(g.title) * CHAR_W)
        width = 2 * MARGIN + (double)strlen(g.title) * CHAR_W;

    sbuf_printf(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"heap builtin\" width=\"%.0f\" height=\"%.0f\""
                " viewBox=\"0 0 %.0f %.0f\" font-family=\"Helvetica, Arial, sans-serif\">\n", width, height, width,
                height);
    sbuf_printf(svg, "<text class=\"title\" x=\"%d\" y=\"%d\" font-size=\"13\">", MARGIN, MARGIN + 12);
    put_escaped(svg, g.title);
    sbuf_puts(svg, "</text>\n");
    if (g.n == 0)
        sbuf_printf(svg, "<text x=\"%d\" y=\"%.0f\" font-size=\"12\" fill=\"#868e96\">(no objects)</text>\n", MARGIN,
                    band_top[0] + 14);
    if (rows[ncols])
        sbuf_printf(svg, "<text class=\"band\" x=\"%d\" y=\"%.0f\" font-size=\"11\" fill=\"#868e96\">"
                    "not reached from any outside reference:</text>\n", MARGIN, band_top[1] - 32);
    for (i = 0; i < g.ne; i++)
        put_edge(svg, &g, i);
    for (i = 0; i < g.n; i++)
        put_node(svg, &g.nodes[i]);
    sbuf_puts(svg, "</svg>\n");
    r = svg->failed ? -1 : 0;
done:
    free(queue);
    free(rows);
    free(g.nodes);
    free(g.edges);
    free(g.off);
    free(g.adj);
    return r;
}
