/*
 * `rcgc replay --html FILE`: one self-contained page (no file or network
 * access) that steps through a trace. Each operation is a frame: the
 * operation, the events it caused (with --explain's tables), the heap
 * afterwards, and for a collection the heap as the collector found it. The
 * left and right arrow keys (Home and End, the buttons) move between frames;
 * `#step=N` in the address opens frame N, `#keys=...` replays key presses
 * (R right, L left, H home, E end) through the same handler, and the page
 * writes where it is into body[data-step], which is how the tests drive it.
 */
#ifndef RCGC_TOOLS_HTML_H
#define RCGC_TOOLS_HTML_H

#include <stddef.h>
#include <stdio.h>

struct html_frame {
    char *op;                       /* the operation's tokens */
    char *events;                   /* what it printed */
    char *svg;                      /* the heap afterwards (an <svg> element) */
    /* Each of these three is NULL when memory ran short while the frame was
       made: the page says so in its place. */
    char *gc_svg;                   /* the heap as the step's collection found it, or NULL */
    int gc_generation;
};

/* Writes the page. renderer says who drew the pictures ("Graphviz" or
   "built-in layout"); stopped, when not NULL, is the error the replay
   stopped at, which the page shows. 0, or -1 when the stream failed. */
int html_write(FILE *out, const char *title, const char *renderer, const struct html_frame *frames, size_t n,
               const char *stopped);

/* Writes s with &, <, > and " escaped. */
void html_escape(FILE *out, const char *s);

#endif
