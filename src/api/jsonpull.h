/* A pull reader of JSON (RFC 8259) for documents too large to hold as a
 * tree: the portable import reads a file of any size, or a request body,
 * one token at a time, with memory bounded by the longest string. It is
 * strict: UTF-8 only, no NaN, no comments, no lone surrogates, no trailing
 * data, nesting at most API_JP_MAX_DEPTH. Errors say what was expected and
 * where (byte offset, line, column). Internal to src/api. */
#ifndef MT_API_JSONPULL_H
#define MT_API_JSONPULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define API_JP_MAX_DEPTH 128
/* The longest string (after unescaping) the reader accepts. */
#define API_JP_MAX_STRING ((size_t)1 << 20)

enum api_jtok {
    API_JT_ERROR,
    API_JT_END, /* the document ended */
    API_JT_OBJ,
    API_JT_OBJ_END,
    API_JT_ARR,
    API_JT_ARR_END,
    API_JT_KEY, /* a member's name: str; its value comes next */
    API_JT_STR, /* str, str_len (may contain NUL bytes) */
    API_JT_INT, /* an integer that fits int64: i */
    API_JT_NUM, /* any other number: d (approximate) */
    API_JT_TRUE,
    API_JT_FALSE,
    API_JT_NULL,
};

struct api_jpull {
    /* The input: memory, or a file read in blocks. */
    const char *mem;
    size_t mem_len;
    FILE *file;
    char block[65536];
    const char *p, *end; /* the unread part of the current block (or of mem) */
    bool eof;
    int64_t consumed; /* bytes before p */
    int64_t line, line_start;
    /* Where the reader is in the document. */
    unsigned char stack[API_JP_MAX_DEPTH]; /* '{' or '[' */
    int depth;
    int state;
    /* The current token. */
    enum api_jtok tok;
    char *str; /* malloc'ed, NUL-terminated; owned here */
    size_t str_len, str_cap;
    int64_t i;
    double d;
    /* API_JT_ERROR: why, and where. */
    char msg[96];
    int64_t err_offset, err_line, err_column;
};

/* Starts reading len bytes at data, or file (from its current position).
 * The reader keeps pointers to neither after api_jp_release. */
void api_jp_init_mem(struct api_jpull *p, const char *data, size_t len);
void api_jp_init_file(struct api_jpull *p, FILE *file);
void api_jp_release(struct api_jpull *p);

/* The next token. After API_JT_ERROR or API_JT_END it keeps answering the
 * same. A file that cannot be read is an error ("cannot read the file"). */
enum api_jtok api_jp_next(struct api_jpull *p);
/* Skips the value whose first token was just read (tok): for an object or
 * an array, everything up to its end. Returns false on an error. */
bool api_jp_skip(struct api_jpull *p, enum api_jtok tok);

#endif
