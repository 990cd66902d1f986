/*
 * Reading and parsing heap traces (see trace.h): the line reader, the
 * tokenizer, and one parser per operation with its error messages. Messages
 * quote what the trace wrote, with bytes other than printable ASCII shown as
 * \xNN and long tokens cut, so that binary input gives a readable message.
 */
#include "trace.h"

#include <stdarg.h>
#include <string.h>

/* How many bytes of a token a message quotes before cutting it with "...". */
#define QUOTE_MAX 40

/* The syntax of one operation word. */
struct syntax {
    const char *word;
    enum trace_kind kind;
    const char *usage;      /* shown in messages */
    size_t min, max;        /* how many tokens may follow the word */
    const char *args[3];    /* names of the required ones, for "missing X" */
};

static const struct syntax syntaxes[] = {
    { "new", TRACE_NEW, "new ID [fin|resurrect] [slots=K]", 1, 3, { "ID" } },
    { "set", TRACE_SET, "set A I B", 3, 3, { "A", "I", "B" } },
    { "clear", TRACE_CLEAR, "clear A I", 2, 2, { "A", "I" } },
    { "drop", TRACE_DROP, "drop ID", 1, 1, { "ID" } },
    { "weak", TRACE_WEAK, "weak W ID [cb]", 2, 3, { "W", "ID" } },
    { "unweak", TRACE_UNWEAK, "unweak W", 1, 1, { "W" } },
    { "deref", TRACE_DEREF, "deref W", 1, 1, { "W" } },
    { "collect", TRACE_COLLECT, "collect G", 1, 1, { "G" } },
    { "unsave", TRACE_UNSAVE, "unsave", 0, 0, { NULL } },
    { "gc", TRACE_GC, "gc on|off", 1, 1, { "on|off" } },
    { "threshold", TRACE_THRESHOLD, "threshold T0 [T1 [T2]]", 1, 3, { "T0" } },
    { "count", TRACE_COUNT, "count", 0, 0, { NULL } },
    { "freeze", TRACE_FREEZE, "freeze", 0, 0, { NULL } },
    { "unfreeze", TRACE_UNFREEZE, "unfreeze", 0, 0, { NULL } },
};

/* ------------------------------------------------------------------------- */
/* Lines                                                                     */
/* ------------------------------------------------------------------------- */

void trace_reader_init(struct trace_reader *r, FILE *in)
{
    r->in = in;
    r->line = 0;
    r->text[0] = '\0';
}

enum trace_read trace_read_line(struct trace_reader *r)
{
    size_t n = 0;
    int c;

    r->line++;
    while ((c = getc(r->in)) != EOF && c != '\n') {
        if (c == '\0')
            return TRACE_READ_NUL;
        if (n == TRACE_MAX_LINE)
            return TRACE_READ_TOO_LONG;
        r->text[n++] = (char)c;
    }
    if (c == EOF && ferror(r->in))
        return TRACE_READ_ERROR;
    if (c == EOF && n == 0)
        return TRACE_READ_EOF;
    r->text[n] = '\0';
    return TRACE_READ_LINE;
}

/* ------------------------------------------------------------------------- */
/* Tokens and messages                                                       */
/* ------------------------------------------------------------------------- */

/* Cuts line into tokens separated by spaces and tabs, up to a '#'. Stores at
   most max of them in tok and returns how many it stored. */
static size_t split(char *line, char **tok, size_t max)
{
    size_t n = 0;
    char *p = line;

    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#' || n == max)
            return n;
        tok[n++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '#')
            p++;
        if (*p == '#') {
            *p = '\0';
            return n;
        }
        if (*p != '\0')
            *p++ = '\0';
    }
}

/* Writes tok into dst (at least QUOTE_MAX * 4 + 6 bytes) between quotes. */
static const char *quote(char *dst, const char *tok)
{
    static const char hex[] = "0123456789abcdef";
    char *p = dst;
    size_t i;

    *p++ = '\'';
    for (i = 0; tok[i] != '\0' && i < QUOTE_MAX; i++) {
        unsigned char c = (unsigned char)tok[i];
        if (c >= 0x20 && c < 0x7f) {
            *p++ = (char)c;
        } else {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    if (tok[i] != '\0') {
        memcpy(p, "...", 3);
        p += 3;
    }
    *p++ = '\'';
    *p = '\0';
    return dst;
}

/* Formats a message into msg and returns -1, trace_parse's error result. */
static int fail(char *msg, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, size, fmt, ap);
    va_end(ap);
    return -1;
}

static int unexpected(char *msg, size_t size, const struct syntax *s, const char *tok)
{
    char q[QUOTE_MAX * 4 + 6];

    return fail(msg, size, "%s: unexpected token %s (usage: %s)", s->word, quote(q, tok), s->usage);
}

/* Reads tok as a decimal number in lo..hi: digits only, no sign. Leading
   zeros are allowed; any number of digits is read without overflow. */
static bool number(const char *tok, uint32_t lo, uint32_t hi, uint32_t *out)
{
    uint32_t v = 0;
    const char *p = tok;

    if (*p == '\0')
        return false;
    for (; *p != '\0'; p++) {
        uint32_t d;
        if (*p < '0' || *p > '9')
            return false;
        d = (uint32_t)(*p - '0');
        if (d > hi || v > (hi - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v < lo)
        return false;
    *out = v;
    return true;
}

/* Parses tok as argument `what` of s in lo..hi, or formats the error. */
static int argument(char *msg, size_t size, const struct syntax *s, const char *what,
                    const char *tok, uint32_t lo, uint32_t hi, uint32_t *out)
{
    char q[QUOTE_MAX * 4 + 6];

    if (number(tok, lo, hi, out))
        return 0;
    return fail(msg, size, "%s: bad %s %s (expected %lu..%lu)", s->word, what, quote(q, tok),
                (unsigned long)lo, (unsigned long)hi);
}

/* ------------------------------------------------------------------------- */
/* Operations                                                                */
/* ------------------------------------------------------------------------- */

static const struct syntax *find_syntax(const char *word)
{
    size_t i;

    for (i = 0; i < sizeof syntaxes / sizeof syntaxes[0]; i++) {
        if (strcmp(word, syntaxes[i].word) == 0)
            return &syntaxes[i];
    }
    return NULL;
}

/* new ID [fin|resurrect] [slots=K], in this order. */
static int parse_new(char **tok, size_t n, const struct syntax *s, struct trace_op *op, char *msg, size_t size)
{
    static const char prefix[] = "slots=";
    size_t i = 2;

    if (argument(msg, size, s, "ID", tok[1], 1, TRACE_MAX_NUMBER, &op->id) != 0)
        return -1;
    op->nslots = TRACE_DEFAULT_SLOTS;
    if (i < n && strcmp(tok[i], "fin") == 0) {
        op->finalizer = TRACE_FIN_PRINT;
        i++;
    } else if (i < n && strcmp(tok[i], "resurrect") == 0) {
        op->finalizer = TRACE_FIN_RESURRECT;
        i++;
    }
    if (i < n && strncmp(tok[i], prefix, sizeof prefix - 1) == 0) {
        char q[QUOTE_MAX * 4 + 6];
        if (!number(tok[i] + sizeof prefix - 1, 0, TRACE_MAX_SLOTS, &op->nslots))
            return fail(msg, size, "new: bad K in %s (expected 0..%d)", quote(q, tok[i]), TRACE_MAX_SLOTS);
        i++;
    }
    if (i < n)
        return unexpected(msg, size, s, tok[i]);
    return 1;
}

/* The arguments after the word, whose count is already within s->min..max. */
static int parse_arguments(char **tok, size_t n, const struct syntax *s, struct trace_op *op, char *msg, size_t size)
{
    const uint32_t big = TRACE_MAX_NUMBER, last_slot = TRACE_MAX_SLOTS - 1;
    uint32_t v;
    size_t i;

    switch (s->kind) {
    case TRACE_NEW:
        return parse_new(tok, n, s, op, msg, size);
    case TRACE_SET:
        if (argument(msg, size, s, "A", tok[1], 1, big, &op->id) != 0
            || argument(msg, size, s, "I", tok[2], 0, last_slot, &op->slot) != 0
            || argument(msg, size, s, "B", tok[3], 1, big, &op->target) != 0)
            return -1;
        return 1;
    case TRACE_CLEAR:
        if (argument(msg, size, s, "A", tok[1], 1, big, &op->id) != 0
            || argument(msg, size, s, "I", tok[2], 0, last_slot, &op->slot) != 0)
            return -1;
        return 1;
    case TRACE_DROP:
        return argument(msg, size, s, "ID", tok[1], 1, big, &op->id) != 0 ? -1 : 1;
    case TRACE_WEAK:
        if (argument(msg, size, s, "W", tok[1], 1, big, &op->weak) != 0
            || argument(msg, size, s, "ID", tok[2], 1, big, &op->id) != 0)
            return -1;
        if (n == 4 && strcmp(tok[3], "cb") != 0)
            return unexpected(msg, size, s, tok[3]);
        op->callback = n == 4;
        return 1;
    case TRACE_UNWEAK:
    case TRACE_DEREF:
        return argument(msg, size, s, "W", tok[1], 1, big, &op->weak) != 0 ? -1 : 1;
    case TRACE_COLLECT:
        if (argument(msg, size, s, "G", tok[1], 0, 2, &v) != 0)
            return -1;
        op->generation = (int)v;
        return 1;
    case TRACE_GC:
        if (strcmp(tok[1], "on") != 0 && strcmp(tok[1], "off") != 0)
            return unexpected(msg, size, s, tok[1]);
        op->enable = strcmp(tok[1], "on") == 0;
        return 1;
    case TRACE_THRESHOLD:
        for (i = 1; i < n; i++) {
            static const char *const names[] = { "T0", "T1", "T2" };
            if (argument(msg, size, s, names[i - 1], tok[i], 0, big, &v) != 0)
                return -1;
            op->thresholds[i - 1] = v;
        }
        op->nthresholds = n - 1;
        return 1;
    case TRACE_UNSAVE:
    case TRACE_COUNT:
    case TRACE_FREEZE:
    case TRACE_UNFREEZE:
        break;
    }
    return 1;
}

int trace_parse(char *line, struct trace_op *op, char *msg, size_t size)
{
    char *tok[TRACE_MAX_TOKENS + 1];
    char q[QUOTE_MAX * 4 + 6];
    const struct syntax *s;
    size_t n = split(line, tok, TRACE_MAX_TOKENS + 1);
    size_t i;

    if (n == 0)
        return 0;
    s = find_syntax(tok[0]);
    if (s == NULL)
        return fail(msg, size, "unknown operation %s", quote(q, tok[0]));
    if (n - 1 < s->min)
        return fail(msg, size, "%s: missing %s (usage: %s)", s->word, s->args[n - 1], s->usage);
    if (n - 1 > s->max)
        return unexpected(msg, size, s, tok[s->max + 1]);
    memset(op, 0, sizeof *op);
    op->kind = s->kind;
    op->ntokens = n;
    for (i = 0; i < n; i++)
        op->tokens[i] = tok[i];
    return parse_arguments(tok, n, s, op, msg, size);
}
