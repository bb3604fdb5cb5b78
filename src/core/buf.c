/* The growable byte buffer (struct mt_buf) used to build log lines, messages
 * and response text. Every buffer has a ceiling; an append that would pass it
 * stores what fits and marks the buffer failed, so callers check once. */
#include "core/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

/* An empty buffer points here until its first append, so that init never
 * allocates. Nothing ever writes to it: every write path grows first. */
static char empty_data[1];

void mt_buf_init(struct mt_buf *b, size_t max)
{
    b->data = empty_data;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : SIZE_MAX / 2;
    b->failed = false;
}

void mt_buf_release(struct mt_buf *b)
{
    if (b->cap)
        free(b->data);
    mt_buf_init(b, b->max);
}

void mt_buf_reset(struct mt_buf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->cap)
        b->data[0] = '\0';
}

/* Makes room for `want` more bytes (plus the NUL), never past the ceiling.
 * Returns how many of them may be written. */
static size_t reserve(struct mt_buf *b, size_t want)
{
    size_t room = b->max - b->len;
    if (want > room)
        want = room;
    size_t need = b->len + want + 1;
    if (need <= b->cap)
        return want;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 4 ? need : cap * 2;
    /* Never allocate more than the ceiling can use. */
    if (cap > b->max + 1)
        cap = b->max + 1;
    if (b->cap) {
        b->data = mt_xrealloc(b->data, cap);
    } else {
        b->data = mt_xmalloc(cap);
        b->data[0] = '\0';
    }
    b->cap = cap;
    return want;
}

void mt_buf_add(struct mt_buf *b, const void *p, size_t n)
{
    if (b->failed || n == 0)
        return;
    size_t ok = reserve(b, n);
    memcpy(b->data + b->len, p, ok);
    b->len += ok;
    b->data[b->len] = '\0';
    if (ok < n)
        b->failed = true;
}

void mt_buf_adds(struct mt_buf *b, const char *s)
{
    mt_buf_add(b, s, strlen(s));
}

void mt_buf_addc(struct mt_buf *b, char c)
{
    mt_buf_add(b, &c, 1);
}

void mt_buf_addf(struct mt_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mt_buf_vaddf(b, fmt, ap);
    va_end(ap);
}

void mt_buf_vaddf(struct mt_buf *b, const char *fmt, va_list ap)
{
    if (b->failed)
        return;
    va_list ap2;
    va_copy(ap2, ap);
    int n;
    if (b->cap) {
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    } else {
        char probe[1];
        n = vsnprintf(probe, sizeof(probe), fmt, ap);
    }
    if (n < 0) {
        /* An encoding error: keep the buffer as it was and record it. */
        if (b->cap)
            b->data[b->len] = '\0';
        b->failed = true;
        va_end(ap2);
        return;
    }
    size_t want = (size_t)n;
    if (b->cap && want < b->cap - b->len && want <= b->max - b->len) {
        b->len += want;
        va_end(ap2);
        return;
    }
    size_t ok = reserve(b, want);
    vsnprintf(b->data + b->len, ok + 1, fmt, ap2);
    va_end(ap2);
    b->len += ok;
    b->data[b->len] = '\0';
    if (ok < want)
        b->failed = true;
}

char *mt_buf_detach(struct mt_buf *b, size_t *len)
{
    char *p = b->cap ? b->data : mt_xstrdup("");
    if (len)
        *len = b->len;
    mt_buf_init(b, b->max);
    return p;
}
