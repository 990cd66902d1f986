/*
 * A growing text buffer for the replayer's reports and pages: printf into
 * it, append raw bytes. A buffer whose growth failed remembers it (failed)
 * and ignores further writes, so that callers check once at the end.
 */
#ifndef RCGC_TOOLS_SBUF_H
#define RCGC_TOOLS_SBUF_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf {
    char *text;                     /* NUL-terminated once anything was written */
    size_t len, cap;
    bool failed;                    /* memory was short: the text is incomplete */
};

#if defined(__GNUC__)
#define SBUF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SBUF_PRINTF(f, a)
#endif

void sbuf_printf(struct sbuf *b, const char *fmt, ...) SBUF_PRINTF(2, 3);
void sbuf_append(struct sbuf *b, const char *data, size_t n);
void sbuf_puts(struct sbuf *b, const char *s);
/* The text, "" when nothing was written. */
const char *sbuf_text(const struct sbuf *b);
void sbuf_reset(struct sbuf *b);
void sbuf_free(struct sbuf *b);

#endif
