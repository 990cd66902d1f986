/*
 * Reading and parsing heap traces, the language of `rcgc replay`
 * (shared/reference/trace-format.md): trace_read_line() takes one line from a
 * stream, rejecting NUL bytes and over-long lines; trace_parse() turns it into
 * a struct trace_op, checking everything that does not depend on what the
 * trace holds (words, token counts, number syntax and ranges). Checking the
 * names against the replay's state, and running the operation, is replay.c's.
 */
#ifndef RCGC_TOOLS_TRACE_H
#define RCGC_TOOLS_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A line holds at most this many bytes, not counting its terminating '\n'
   (a '\r' before it counts: it is not a separator). */
#define TRACE_MAX_LINE 4096

/* Names (ID, W), slot indexes and thresholds are at most 2^31 - 1. */
#define TRACE_MAX_NUMBER 2147483647u

#define TRACE_DEFAULT_SLOTS 4
#define TRACE_MAX_SLOTS 64

/* The most tokens an operation has: `new ID fin slots=K`, `threshold T0 T1 T2`. */
#define TRACE_MAX_TOKENS 4

/* Room for an error message (without the "trace:LINE: " prefix). */
#define TRACE_MESSAGE_SIZE 512

enum trace_kind {
    TRACE_NEW,
    TRACE_SET,
    TRACE_CLEAR,
    TRACE_DROP,
    TRACE_WEAK,
    TRACE_UNWEAK,
    TRACE_DEREF,
    TRACE_COLLECT,
    TRACE_UNSAVE,
    TRACE_GC,
    TRACE_THRESHOLD,
    TRACE_COUNT,
    TRACE_FREEZE,
    TRACE_UNFREEZE
};

/* What a `new` object does when it is about to die. */
enum trace_finalizer {
    TRACE_FIN_NONE,         /* no finalizer */
    TRACE_FIN_PRINT,        /* `fin`: emits `fin ID` */
    TRACE_FIN_RESURRECT     /* `resurrect`: emits `fin ID`, then saves the object */
};

/* One operation, as parsed. Only the fields of its kind are meaningful. */
struct trace_op {
    enum trace_kind kind;
    uint32_t id;            /* new, drop: ID; set, clear: A; weak: the referent */
    uint32_t target;        /* set: B */
    uint32_t slot;          /* set, clear: I (checked against K by the replay) */
    uint32_t weak;          /* weak, unweak, deref: W */
    uint32_t nslots;        /* new: K */
    enum trace_finalizer finalizer; /* new */
    bool callback;          /* weak: `cb` was given */
    bool enable;            /* gc: on */
    int generation;         /* collect: G */
    size_t nthresholds;     /* threshold: how many of T0, T1, T2 were given */
    size_t thresholds[3];
    size_t ntokens;         /* the tokens as written (for --echo); they point */
    const char *tokens[TRACE_MAX_TOKENS]; /* into the line given to trace_parse */
};

/* Reads a stream line by line, counting lines from 1. */
struct trace_reader {
    FILE *in;
    unsigned long long line;        /* number of the line last read */
    char text[TRACE_MAX_LINE + 1];  /* its bytes without the '\n', NUL-terminated */
};

enum trace_read {
    TRACE_READ_LINE,        /* a line is in text (the last one may lack '\n') */
    TRACE_READ_EOF,         /* no more lines */
    TRACE_READ_NUL,         /* the line holds a NUL byte */
    TRACE_READ_TOO_LONG,    /* the line has more than TRACE_MAX_LINE bytes */
    TRACE_READ_ERROR        /* the stream failed */
};

void trace_reader_init(struct trace_reader *r, FILE *in);

/* Reads the next line. After anything but TRACE_READ_LINE, stop reading:
   the rest of a rejected line is left in the stream. */
enum trace_read trace_read_line(struct trace_reader *r);

/* Parses one line (without '\n', no NUL inside), cutting its tokens in place.
   Returns 1 with *op filled, 0 for a blank or comment-only line, or -1 with a
   message in msg (size bytes) for a malformed line. */
int trace_parse(char *line, struct trace_op *op, char *msg, size_t size);

#endif
