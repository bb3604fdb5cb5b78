/* One value at a time, the way the reference's pydantic 2 read it: text
 * from a path or query, or a JSON value from a body, becomes an integer
 * within bounds, a date, a string, a boolean or one of a few words, with
 * pydantic's lax coercions ("3" -> 3, 2.0 -> 2, true -> 1, " 3 " -> 3,
 * "1_0" -> 10, zero-time datetimes as dates), or the exact error object
 * pydantic gave is added to the validation's error list. Used by
 * api/validate.c, which walks an operation's parameters; knows nothing of
 * HTTP. Internal to src/api. */
#ifndef MT_API_COERCE_H
#define MT_API_COERCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/jsonin.h"
#include "api/operation.h"
#include "api/validate.h"
#include "core/mtime.h"

/* Path and query text (NUL-terminated). where is "path" or "query", the
 * first element of the error's loc. Each returns true with *out set, or
 * false with the error added to v. */
bool api_coerce_int(struct api_vctx *v, const char *where, const char *name, const char *s,
                    const struct api_bounds *b, int64_t *out);
bool api_coerce_date(struct api_vctx *v, const char *where, const char *name, const char *s,
                     struct mt_date *out);
/* pydantic's boolean words in any case: 1/0, on/off, t/f, true/false,
 * y/n, yes/no. */
bool api_coerce_bool(struct api_vctx *v, const char *where, const char *name, const char *s,
                     bool *out);
/* Exactly one of choices (NULL-terminated); *index is its position. */
bool api_coerce_choice(struct api_vctx *v, const char *where, const char *name, const char *s,
                       const char *const *choices, size_t *index);

/* What a body field turned out to be. */
enum api_field {
    API_FIELD_ABSENT, /* not in the body: nothing added to v */
    API_FIELD_NULL,   /* JSON null: nothing added to v (the caller decides) */
    API_FIELD_OK,     /* *out set */
    API_FIELD_ERR,    /* the error was added to v */
};

/* Body fields (val NULL: absent). A string holds no NUL byte and at most
 * max_chars characters (0: any number); *out points into the parsed body. */
enum api_field api_coerce_body_str(struct api_vctx *v, const char *name, const struct api_json *val,
                                   size_t max_chars, const char **out);
enum api_field api_coerce_body_int(struct api_vctx *v, const char *name, const struct api_json *val,
                                   const struct api_bounds *b, int64_t *out);
/* ISO dates, zero-time datetimes, Unix timestamps at midnight. */
enum api_field api_coerce_body_date(struct api_vctx *v, const char *name,
                                    const struct api_json *val, struct mt_date *out);
/* pydantic's lax bool: true/false, the integers (and whole floats) 0 and 1,
 * and the boolean words of api_coerce_bool. */
enum api_field api_coerce_body_bool(struct api_vctx *v, const char *name,
                                    const struct api_json *val, bool *out);
/* A Literal of strings: exactly one of choices; *index is its position.
 * null is API_FIELD_NULL when null_ok, else the same literal_error as any
 * other value (as pydantic words it). */
enum api_field api_coerce_body_choice(struct api_vctx *v, const char *name,
                                      const struct api_json *val, const char *const *choices,
                                      bool null_ok, size_t *index);
/* A list of integers within b, each read as api_coerce_body_int reads one
 * (errors located at ["body", name, index]); the values go to an array in
 * arena (*out, *n). */
enum api_field api_coerce_body_ids(struct api_vctx *v, struct mt_arena *arena, const char *name,
                                   const struct api_json *val, const struct api_bounds *b,
                                   const int64_t **out, size_t *n);
/* pydantic's lax float: a finite number, a boolean, or a string that reads
 * as one; within b (its bounds are integers). */
enum api_field api_coerce_body_number(struct api_vctx *v, const char *name,
                                      const struct api_json *val, const struct api_bounds *b,
                                      double *out);
/* An instant: RFC 3339 text as speedate reads it (a value without a zone is
 * UTC, a date alone is its midnight UTC) or a Unix timestamp in seconds;
 * within the instants every database stores. where is "body" or "query";
 * the text reader is api_coerce_datetime. */
enum api_field api_coerce_body_datetime(struct api_vctx *v, const char *name,
                                        const struct api_json *val, int64_t *out);
bool api_coerce_datetime(struct api_vctx *v, const char *where, const char *name, const char *s,
                         int64_t *out);

/* The error pydantic gives for an explicit null in a field of type t that
 * is not optional. */
void api_coerce_not_null(struct api_vctx *v, const char *name, enum api_type t);

/* The reference's HH:MM rule for recording a dose at a time: two parts
 * around one ':', each a Python int (so "8:5" is 08:05), hour 0-23, minute
 * 0-59. Returns 0, or -1 for "Invalid time format. Use HH:MM". */
int api_parse_hhmm(const char *s, int *hour, int *minute);

#endif
