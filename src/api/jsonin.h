/* Request bodies as the reference read them: a JSON reader that accepts what
 * Python's json module accepts and fails where it fails, with the same
 * message and character position (FastAPI turns those into the
 * `json_invalid` 422), building a small read-only tree in the request arena.
 * Deliberate differences, all answered with 4xx instead of the reference's
 * 500s: NaN, Infinity and numbers beyond the double range are decode errors;
 * a lone UTF-16 surrogate escape becomes U+FFFD. Used by api/validate.c and api/coerce.c;
 * knows nothing of HTTP. */
#ifndef MT_API_JSONIN_H
#define MT_API_JSONIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

enum api_jtype {
    API_J_NULL,
    API_J_FALSE,
    API_J_TRUE,
    API_J_INT,    /* fits int64: v.i */
    API_J_BIGINT, /* an integer beyond int64: v.big (sign and approximate value) */
    API_J_REAL,   /* v.d, finite */
    API_J_STRING, /* v.s: UTF-8, may contain NUL bytes */
    API_J_ARRAY,  /* v.list: items */
    API_J_OBJECT, /* v.list: members in arrival order (duplicates kept; the last wins) */
};

struct api_json;

struct api_jmember {
    const char *key; /* UTF-8, NUL-terminated copy; key_len excludes the NUL */
    size_t key_len;
    struct api_json *value;
};

/* A parsed value. Every part lives in the arena it was parsed into. */
struct api_json {
    enum api_jtype type;
    union {
        int64_t i;
        double d;
        struct {
            bool negative;
            double approx;
        } big;
        struct {
            const char *p; /* NUL-terminated */
            size_t len;
        } s;
        struct {
            struct api_json **items;     /* API_J_ARRAY */
            struct api_jmember *members; /* API_J_OBJECT */
            size_t n;
        } list;
    } v;
};

enum api_jstatus {
    API_JSON_OK,
    API_JSON_DECODE, /* Python's JSONDecodeError: msg and pos are set */
    API_JSON_BROKEN, /* not UTF-8, or nested too deeply: Python raised something else */
    API_JSON_NOMEM,  /* the arena's ceiling was reached */
};

struct api_jresult {
    enum api_jstatus status;
    struct api_json *value; /* API_JSON_OK */
    const char *msg;        /* API_JSON_DECODE: "Expecting value", ... (static) */
    size_t pos;             /* API_JSON_DECODE: index in characters, as Python counts */
};

/* Maximum nesting of arrays and objects (Python stops near its recursion
 * limit of 1000 frames). */
#define API_JSON_MAX_DEPTH 900

/* Parses len bytes at p (a UTF-8 byte order mark is skipped, as Python does
 * for bytes). Fills *out; on API_JSON_OK out->value lives in arena. */
void api_json_parse(struct mt_arena *arena, const char *p, size_t len, struct api_jresult *out);

/* The value of key in an object (the last occurrence wins); NULL when absent
 * or when obj is not an object. */
const struct api_json *api_json_get(const struct api_json *obj, const char *key);

/* Python's truth value: null, false, 0, 0.0, "", [] and {} are false. */
bool api_json_truthy(const struct api_json *v);

/* A new jansson value equal to v, as Python's dict would hold it (a repeated
 * key keeps its first position and its last value); NULL when v is NULL or
 * memory ran out. The caller owns the reference. */
json_t *api_json_to_jansson(const struct api_json *v);

/* Returns true when len bytes at p are well-formed UTF-8 (no surrogates, no
 * overlong forms). */
bool api_utf8_valid(const char *p, size_t len);

/* The number of characters in len bytes of UTF-8 (continuation bytes are
 * not counted). */
size_t api_utf8_chars(const char *s, size_t len);

/* len bytes of text as a JSON string; bytes that are not UTF-8 become
 * U+FFFD (as Python's "replace" decoding). New reference, NULL only when
 * memory ran out. */
json_t *api_json_text(const char *s, size_t len);

#endif
