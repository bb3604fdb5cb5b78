/* The request -> validated-input layer: api_validate reads a raw request
 * (path parameters, query, content type, body) by an operation's parameter
 * table (api/operation.h) into the operation's input struct, or reports
 * exactly what the reference server (FastAPI + pydantic) reported: a 422
 * whose `detail` lists {type, loc, msg, input[, ctx]} objects in path,
 * query, body order, or 400 / 413 where the body cannot be read at all.
 * Where the reference crashed with a 500 (non-object JSON, explicit null
 * for a required column, integers beyond 64 bits, timezone offsets of a day
 * or more) this layer answers 422 instead.
 *
 * No SQL, no sockets: the runner (api/operation.c) builds a struct
 * api_request from a struct http_req, and tests/fuzz/fuzz_request.c drives
 * the same function with arbitrary bytes. Everything allocated lives in
 * the request arena; the jansson error list is owned by struct api_vctx
 * until handed over. */
#ifndef MT_API_VALIDATE_H
#define MT_API_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "api/http.h"
#include "api/jsonin.h"
#include "api/operation.h"
#include "core/arena.h"

/* The raw request as the validation layer sees it. All pointers are borrowed
 * and must stay valid while the input filled from it is used. */
struct api_request {
    struct mt_arena *arena;
    const char *const *params; /* path parameters in pattern order */
    size_t n_params;
    const struct http_kv *query; /* decoded */
    size_t n_query;
    const char *content_type; /* NULL when the request had none */
    const char *body;         /* NULL or empty: no body */
    size_t body_len;
};

/* A query parameter's value ("" for a name without "="), NULL when absent;
 * with a repeated name the last one wins, as in Starlette. */
const char *api_request_query(const struct api_request *q, const char *name);

/* The outcome of validation. status 0 means valid; otherwise 422 with
 * `errors`, or 400 / 413 with `detail`. */
struct api_vctx {
    int status;
    json_t *errors;     /* 422: the FastAPI `detail` list; owned here */
    const char *detail; /* 400 / 413: static text */
};

void api_vctx_init(struct api_vctx *v);
/* Drops the error list if it was not handed over. */
void api_vctx_release(struct api_vctx *v);
/* Hands the 422 body {"detail":[...]} to the caller (new reference) and
 * leaves v empty. NULL when memory ran out. */
json_t *api_vctx_take_body(struct api_vctx *v);
/* Appends one error object, keys in FastAPI's order, and makes v a 422.
 * Steals loc, input and ctx (ctx may be NULL: no ctx; input NULL: JSON
 * null). */
void api_vctx_add(struct api_vctx *v, const char *type, json_t *loc, const char *msg, json_t *input,
                  json_t *ctx);

/* Validates q by op into in (op->in_size bytes; every value is reset to its
 * default first). Returns 0 when the request is valid, else -1 with v
 * filled. A body that cannot be decoded stops validation at once, before
 * any parameter is looked at (as in FastAPI). */
int api_validate(const struct api_op *op, const struct api_request *q, void *in,
                 struct api_vctx *v);

/* ---- for an operation's model rule (api_model_rule) ----------------------------------------- */

/* A request body that is a JSON object, as the model rule sees it. */
struct api_body;

/* The value a field will be read from: the body's own (the last
 * occurrence), or what api_body_use put in its place; NULL when absent. */
const struct api_json *api_body_get(const struct api_body *b, const char *name);
/* Makes the field name read value (NULL: as if absent). name must be a
 * string that outlives validation. */
void api_body_use(struct api_body *b, const char *name, const struct api_json *value);
/* The whole body, as errors about it quote it. New reference. */
json_t *api_body_input(const struct api_body *b);
/* Makes a required field optional for this body (name must outlive
 * validation): a field that other fields of the body stand in for. */
void api_body_optional(struct api_body *b, const char *name);

#endif
