/*
 * The built-in picture, for pages made without Graphviz: reads the DOT that
 * rcgc_dump_dot_ex writes (one node or edge per line) and draws it as SVG
 * with a layered layout. Objects referenced from outside the heap (count
 * above their references from drawn objects) form the first column, what they
 * refer to the next ones (breadth first); objects no such chain reaches
 * (garbage) are drawn below them, in a band of their own. Arrowheads use
 * the marker #rcgc-arrow, which the page defines once (html.h).
 */
#ifndef RCGC_TOOLS_LAYOUT_H
#define RCGC_TOOLS_LAYOUT_H

#include "sbuf.h"

/* Appends an <svg> element for dot to svg. 0, or -1 when memory is short. */
int layout_svg(const char *dot, struct sbuf *svg);

#endif
