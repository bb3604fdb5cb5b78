/* A JSON text writer for the API's hot replies (dose histories, the lists of
 * medications and persons, the daily summary): rows are written straight
 * into one buffer in the request arena instead of a jansson tree of a few
 * objects per row, which cost most of the time of a long list. The text is
 * byte for byte what jansson's compact, order-preserving dump gives for the
 * same values (tests/unit/test_jsonw.c compares the two). Everything else
 * keeps building jansson trees (STYLE.md 5). Internal to src/api. */
#ifndef MT_API_JSONW_H
#define MT_API_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

/* The text so far, in the arena: data is not NUL-terminated; it stays valid
 * as long as the arena. Appends record the first failure (the arena's
 * ceiling) in failed and do nothing after it, so that the caller checks
 * once at the end. */
struct api_jw {
    struct mt_arena *a;
    char *data;
    size_t len, cap;
    bool failed;
};

/* Starts an empty text in a; size_hint is the expected length (0: small). */
void api_jw_init(struct api_jw *w, struct mt_arena *a, size_t size_hint);
/* Appends n bytes of JSON text as they are: punctuation and keys that our
 * code wrote, never client or database text. */
void api_jw_raw(struct api_jw *w, const char *s, size_t n);
/* api_jw_raw of a string literal. */
#define api_jw_lit(w, lit) api_jw_raw((w), "" lit, sizeof(lit) - 1)
/* A JSON string with jansson's escapes (", \, control characters; nothing
 * else), or null for NULL. Bytes that are not UTF-8 become U+FFFD, as in
 * api_json_text. s is NUL-terminated. */
void api_jw_str(struct api_jw *w, const char *s);
/* An integer, as jansson writes it. */
void api_jw_int(struct api_jw *w, int64_t v);
/* true or false. */
void api_jw_bool(struct api_jw *w, bool v);

#endif
