/*
 * The text buffer of sbuf.h: doubling growth with malloc, vsnprintf twice
 * when a formatted piece does not fit.
 */
#include "sbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(struct sbuf *b, size_t extra)
{
    size_t need, cap;
    char *text;

    if (b->failed)
        return false;
    if (extra > SIZE_MAX - b->len - 1) {
        b->failed = true;
        return false;
    }
    need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    text = realloc(b->text, cap);
    if (text == NULL) {
        b->failed = true;
        return false;
    }
    b->text = text;
    b->cap = cap;
    return true;
}

void sbuf_append(struct sbuf *b, const char *data, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->text + b->len, data, n);
    b->len += n;
    b->text[b->len] = '\0';
}

void sbuf_puts(struct sbuf *b, const char *s)
{
    sbuf_append(b, s, strlen(s));
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        sbuf_append(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->text + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *sbuf_text(const struct sbuf *b)
{
    return b->text != NULL ? b->text : "";
}

void sbuf_reset(struct sbuf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->text != NULL)
        b->text[0] = '\0';
}

void sbuf_free(struct sbuf *b)
{
    free(b->text);
    memset(b, 0, sizeof *b);
}
