/* Per-request memory arena with a byte ceiling. Everything a request handler
 * allocates comes from here and is freed at once when the request completes;
 * handlers contain no free(). Non-memory resources can register a cleanup that
 * runs when the arena is freed. Not thread-safe: one arena per request. */
#ifndef MT_CORE_ARENA_H
#define MT_CORE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct mt_arena;

/* Creates an arena that refuses to hand out more than max bytes in total.
 * Free with mt_arena_free. */
struct mt_arena *mt_arena_new(size_t max);
/* Runs registered cleanups (last registered first) and frees all memory. NULL ok. */
void mt_arena_free(struct mt_arena *a);

/* Returns 8-byte aligned memory valid until mt_arena_free, or NULL when the
 * ceiling would be exceeded (the caller turns that into MT_ELIMIT / 503). */
void *mt_arena_alloc(struct mt_arena *a, size_t n);
void *mt_arena_calloc(struct mt_arena *a, size_t n, size_t size);
char *mt_arena_strndup(struct mt_arena *a, const char *s, size_t n);
char *mt_arena_strdup(struct mt_arena *a, const char *s);
char *mt_arena_printf(struct mt_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Registers fn(ctx) to run when the arena is freed. Returns -1 at the ceiling. */
int mt_arena_on_free(struct mt_arena *a, void (*fn)(void *ctx), void *ctx);

/* Bytes handed out so far. */
size_t mt_arena_used(const struct mt_arena *a);

#endif
