/* The per-request arena: memory is carved from a list of malloc'ed chunks and
 * released all at once, after the registered cleanups have run. A byte
 * ceiling bounds what one request can take; the HTTP core turns a refusal
 * into 503 (a server condition; 413 is only for request bodies). */
#include "core/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define ALIGN 8
#define FIRST_CHUNK 4096
#define MAX_CHUNK 65536

struct chunk {
    struct chunk *next;
    size_t size; /* usable bytes in data */
    size_t used;
    alignas(ALIGN) unsigned char data[];
};

struct cleanup {
    struct cleanup *next;
    void (*fn)(void *ctx);
    void *ctx;
};

struct mt_arena {
    struct chunk *head;       /* the chunk small allocations come from */
    size_t max;               /* ceiling on `used` */
    size_t used;              /* bytes handed out, rounded up to ALIGN */
    size_t next_chunk;        /* size of the next regular chunk */
    struct cleanup *cleanups; /* last registered first */
};

struct mt_arena *mt_arena_new(size_t max)
{
    struct mt_arena *a = mt_xcalloc(1, sizeof(*a));
    a->max = max;
    a->next_chunk = FIRST_CHUNK;
    return a;
}

void mt_arena_free(struct mt_arena *a)
{
    if (!a)
        return;
    /* Cleanups live in the arena's own memory: run them all before any chunk
     * goes away. */
    for (struct cleanup *c = a->cleanups; c; c = c->next)
        c->fn(c->ctx);
    struct chunk *ch = a->head;
    while (ch) {
        struct chunk *next = ch->next;
        free(ch);
        ch = next;
    }
    free(a);
}

static struct chunk *chunk_new(size_t size)
{
    struct chunk *ch = mt_xmalloc(sizeof(*ch) + size);
    ch->next = NULL;
    ch->size = size;
    ch->used = 0;
    return ch;
}

void *mt_arena_alloc(struct mt_arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - ALIGN)
        return NULL;
    size_t rounded = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (rounded > a->max - a->used || a->used > a->max)
        return NULL;

    struct chunk *head = a->head;
    if (head && head->size - head->used >= rounded) {
        void *p = head->data + head->used;
        head->used += rounded;
        a->used += rounded;
        return p;
    }
    if (rounded > a->next_chunk / 4) {
        /* A big block gets a chunk of its own, linked behind the head so the
         * head's free space stays usable for small allocations. */
        struct chunk *ch = chunk_new(rounded);
        ch->used = rounded;
        if (head) {
            ch->next = head->next;
            head->next = ch;
        } else {
            a->head = ch;
        }
        a->used += rounded;
        return ch->data;
    }
    struct chunk *ch = chunk_new(a->next_chunk);
    if (a->next_chunk < MAX_CHUNK)
        a->next_chunk *= 2;
    ch->next = head;
    a->head = ch;
    ch->used = rounded;
    a->used += rounded;
    return ch->data;
}

void *mt_arena_calloc(struct mt_arena *a, size_t n, size_t size)
{
    size_t total;
    if (!mt_size_mul(n, size, &total))
        return NULL;
    void *p = mt_arena_alloc(a, total);
    if (p)
        memset(p, 0, total);
    return p;
}

char *mt_arena_strndup(struct mt_arena *a, const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    if (len == SIZE_MAX)
        return NULL;
    char *p = mt_arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *mt_arena_strdup(struct mt_arena *a, const char *s)
{
    return mt_arena_strndup(a, s, strlen(s));
}

char *mt_arena_printf(struct mt_arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    /* Measure with a one-byte buffer: GCC's sanitizer builds warn on NULL. */
    char probe[1];
    int n = vsnprintf(probe, sizeof(probe), fmt, ap);
    va_end(ap);
    char *p = NULL;
    if (n >= 0)
        p = mt_arena_alloc(a, (size_t)n + 1);
    if (p)
        vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

int mt_arena_on_free(struct mt_arena *a, void (*fn)(void *ctx), void *ctx)
{
    struct cleanup *c = mt_arena_alloc(a, sizeof(*c));
    if (!c)
        return -1;
    c->fn = fn;
    c->ctx = ctx;
    c->next = a->cleanups;
    a->cleanups = c;
    return 0;
}

size_t mt_arena_used(const struct mt_arena *a)
{
    return a->used;
}
