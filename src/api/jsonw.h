/* A streaming JSON writer for the API's row replies (dose histories, the
 * lists of medications and persons, the daily summary) and the streamed
 * dose export: rows are written straight into one buffer in the request
 * arena instead of a jansson tree of a few objects per row, which cost most
 * of the time of a long list. The text is byte for byte what jansson's
 * compact, order-preserving dump gives for the same values
 * (tests/unit/test_jsonw.c compares the two). Small replies keep building
 * jansson trees (STYLE.md 5). Internal to src/api. */
#ifndef MT_API_JSONW_H
#define MT_API_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

/* The text so far, in the arena: data is not NUL-terminated; it stays valid
 * as long as the arena. Writes record the first failure (the arena's
 * ceiling) in failed and do nothing after it, so that the caller checks
 * once at the end. The writer places the commas and colons itself: the
 * caller only says what comes next (a key, a value, the start or end of an
 * object or array), so no JSON punctuation is ever written by hand. */
struct api_jw {
    struct mt_arena *a;
    char *data;
    size_t len, cap;
    bool failed;
    bool comma; /* a value ended here: the next key or item needs a ',' */
};

/* Starts an empty text in a; size_hint is the expected length (0: small). */
void api_jw_init(struct api_jw *w, struct mt_arena *a, size_t size_hint);
/* Drops the text written so far but keeps the buffer and the place in the
 * document, for a writer whose text is handed on in chunks (a streamed
 * reply): the next write continues the same document. */
void api_jw_reset(struct api_jw *w);

/* The start and end of an object or an array. */
void api_jw_obj(struct api_jw *w);
void api_jw_obj_end(struct api_jw *w);
void api_jw_arr(struct api_jw *w);
void api_jw_arr_end(struct api_jw *w);
/* An object's key (NUL-terminated): the next value written is its value. */
void api_jw_key(struct api_jw *w, const char *key);

/* Values. A string has jansson's escapes (", \, control characters;
 * nothing else), or is null for NULL; bytes that are not UTF-8 become
 * U+FFFD, as in api_json_text. s is NUL-terminated. */
void api_jw_str(struct api_jw *w, const char *s);
/* An integer, as jansson writes it. */
void api_jw_int(struct api_jw *w, int64_t v);
void api_jw_bool(struct api_jw *w, bool v);
void api_jw_null(struct api_jw *w);
/* An amount (a dose, an ingredient, a limit): a number with at most three
 * decimals and no trailing zeros, an integer when it is whole ("500",
 * "2.5"); a value that is not finite is written as null. */
void api_jw_amount(struct api_jw *w, double v);

/* A key and its value, for the members of an object. */
void api_jw_str_at(struct api_jw *w, const char *key, const char *s);
void api_jw_int_at(struct api_jw *w, const char *key, int64_t v);
void api_jw_bool_at(struct api_jw *w, const char *key, bool v);

#endif
