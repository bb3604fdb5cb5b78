/* A growable, always NUL-terminated byte buffer with a fixed ceiling. Appends
 * never return errors: the buffer records its first failure (ceiling hit) and
 * the caller checks `failed` once at the end. */
#ifndef MT_CORE_BUF_H
#define MT_CORE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct mt_buf {
    char *data; /* never NULL after mt_buf_init; always NUL-terminated */
    size_t len;
    size_t cap;
    size_t max;  /* ceiling on len; 0 means SIZE_MAX/2 */
    bool failed; /* an append hit the ceiling; contents are truncated */
};

/* Initialises an empty buffer with ceiling max (0 = practically unbounded).
 * Must be paired with mt_buf_release. */
void mt_buf_init(struct mt_buf *b, size_t max);
void mt_buf_release(struct mt_buf *b);
void mt_buf_reset(struct mt_buf *b);
void mt_buf_add(struct mt_buf *b, const void *p, size_t n);
void mt_buf_adds(struct mt_buf *b, const char *s);
void mt_buf_addc(struct mt_buf *b, char c);
void mt_buf_addf(struct mt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mt_buf_vaddf(struct mt_buf *b, const char *fmt, va_list ap);
/* Hands the malloc'ed data to the caller (who frees it) and re-inits b. */
char *mt_buf_detach(struct mt_buf *b, size_t *len);

#endif
