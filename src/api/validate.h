/* The request -> validated-input layer: for each API operation, one function
 * that takes the raw pieces of a request (path parameters, query, content
 * type, body) and fills a typed input struct, or reports exactly what the
 * reference server (FastAPI + pydantic) reported: a 422 whose `detail` lists
 * {type, loc, msg, input[, ctx]} objects in path, query, body order, with
 * pydantic's lax coercions ("3" -> 3, 2.0 -> 2, true -> 1, " 3 " -> 3,
 * "1_0" -> 10, zero-time datetimes as dates), or 400 / 413 where the body
 * cannot be read at all. Where the reference crashed with a 500 (non-object
 * JSON, explicit null for a required column, integers beyond 64 bits,
 * timezone offsets of a day or more) this layer answers 422 instead.
 *
 * No SQL, no sockets: handlers build a struct api_request from their
 * struct http_req, and tests/fuzz/fuzz_request.c drives the same functions
 * with arbitrary bytes. Everything allocated lives in the request arena;
 * the jansson error list is owned by struct api_vctx until handed over. */
#ifndef MT_API_VALIDATE_H
#define MT_API_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/http.h"
#include "api/jsonin.h"
#include "core/arena.h"
#include "core/mtime.h"

/* The raw request as the validation layer sees it. All pointers are borrowed
 * and must stay valid while the input structs filled from it are used. */
struct api_request {
    struct mt_arena *arena;
    const char *const *params; /* path parameters in pattern order */
    size_t n_params;
    const struct http_kv *query; /* decoded; a repeated name: the last one wins */
    size_t n_query;
    const char *content_type; /* NULL when the request had none */
    const char *body;         /* NULL or empty: no body */
    size_t body_len;
};

/* Fills req from an HTTP request. Defined in api/shape.c with the other
 * HTTP-facing helpers, so that this layer links without the HTTP server. */
void api_request_from_http(struct api_request *req, struct http_req *r);

/* The outcome of validation. status 0 means valid; otherwise the handler
 * answers with api_vctx_reply semantics: 422 with `errors`, or 400 / 413
 * with `detail`. */
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

/* Answers r from a failed validation (422 / 400 / 413) and releases v.
 * Defined in api/shape.c. */
void api_vctx_reply(struct http_req *r, struct api_vctx *v);

/* ---- inputs of the 22 operations -------------------------------------------------------- */

/* A timezone offset given by the client, or none (then TIMEZONE_OFFSET). */
struct api_tz {
    bool given;
    int minutes; /* JavaScript sign, |minutes| < 1440 */
};

struct api_in_page {
    int64_t skip;  /* >= 0, default 0 */
    int64_t limit; /* 1..1000, default 100 */
};

struct api_in_id {
    int64_t id; /* >= 1 */
};

/* An optional text column: set says whether the client sent the field; value
 * NULL means an explicit JSON null. Text is NUL-terminated (no inner NULs). */
struct api_text {
    bool set;
    const char *value;
};

struct api_in_person_create {
    const char *first_name; /* never NULL */
    const char *last_name;  /* NULL: none */
    const char *notes;      /* NULL: none */
    bool has_dob;
    struct mt_date dob;
};

struct api_in_person_update {
    int64_t id;
    struct api_text first_name; /* value never NULL when set */
    struct api_text last_name;
    struct api_text notes;
    bool dob_set; /* the client sent date_of_birth */
    bool has_dob; /* ... and it was not null */
    struct mt_date dob;
};

struct api_in_med_list {
    struct api_in_page page;
    bool has_date;
    struct mt_date date;
    struct api_tz tz;
    bool has_person;
    int64_t person_id;
};

struct api_in_med_create {
    const char *name, *dosage, *frequency; /* never NULL, may be empty */
    int64_t max_doses;                     /* 1..20 */
    const char *instructions;              /* NULL: none */
    int64_t person_id;                     /* >= 1 */
};

struct api_in_med_get {
    int64_t id;
    bool has_date;
    struct mt_date date;
    struct api_tz tz;
};

struct api_in_med_update {
    int64_t id;
    struct api_text name, dosage, frequency; /* value never NULL when set */
    bool max_set;
    int64_t max_doses;
    struct api_text instructions;
};

struct api_in_dose_now {
    int64_t medication_id;
    struct api_tz tz;
};

struct api_in_dose_history {
    int64_t medication_id;
    struct api_in_page page;
};

struct api_in_dose_day {
    int64_t medication_id;
    struct mt_date date;
    struct api_tz tz;
};

struct api_in_summary {
    bool has_date; /* false: today */
    struct mt_date date;
    struct api_tz tz;
    bool has_person;
    int64_t person_id;
};

struct api_in_deleted_history {
    const char *name; /* the path segment, as decoded */
    struct api_in_page page;
};

struct api_in_dose_for_date {
    int64_t medication_id;
    struct mt_date date;
    const char *time; /* raw; checked by api_parse_hhmm after the 404 and date checks */
    struct api_tz tz;
};

struct api_in_pdf {
    struct mt_date date;
    struct api_tz tz;
    bool has_person; /* the reference treats person_id=0 as "no filter" */
    int64_t person_id;
    int64_t days; /* 1..7, default 1 */
};

/* Each returns 0 when the input is valid, else -1 with v filled. */
int api_in_persons_list(const struct api_request *q, struct api_in_page *out, struct api_vctx *v);
int api_in_person_create(const struct api_request *q, struct api_in_person_create *out,
                         struct api_vctx *v);
/* GET, DELETE and set-default: the path's {person_id}. */
int api_in_person_id(const struct api_request *q, struct api_in_id *out, struct api_vctx *v);
int api_in_person_update(const struct api_request *q, struct api_in_person_update *out,
                         struct api_vctx *v);
int api_in_meds_list(const struct api_request *q, struct api_in_med_list *out, struct api_vctx *v);
int api_in_med_create(const struct api_request *q, struct api_in_med_create *out,
                      struct api_vctx *v);
int api_in_med_get(const struct api_request *q, struct api_in_med_get *out, struct api_vctx *v);
int api_in_med_update(const struct api_request *q, struct api_in_med_update *out,
                      struct api_vctx *v);
/* DELETE /medications/{medication_id}. */
int api_in_med_id(const struct api_request *q, struct api_in_id *out, struct api_vctx *v);
int api_in_dose_now(const struct api_request *q, struct api_in_dose_now *out, struct api_vctx *v);
int api_in_dose_history(const struct api_request *q, struct api_in_dose_history *out,
                        struct api_vctx *v);
int api_in_dose_day(const struct api_request *q, struct api_in_dose_day *out, struct api_vctx *v);
/* With has_date = true: /daily-summary/{date}; false: /daily-summary. */
int api_in_summary(const struct api_request *q, bool has_date, struct api_in_summary *out,
                   struct api_vctx *v);
int api_in_deleted_history(const struct api_request *q, struct api_in_deleted_history *out,
                           struct api_vctx *v);
int api_in_dose_for_date(const struct api_request *q, struct api_in_dose_for_date *out,
                         struct api_vctx *v);
int api_in_dose_id(const struct api_request *q, struct api_in_id *out, struct api_vctx *v);
int api_in_pdf(const struct api_request *q, struct api_in_pdf *out, struct api_vctx *v);

/* GET /api/v1/reports/medication-tracking-pdf/{date}: this server's own
 * query parameters, read after api_in_pdf's because FastAPI lists errors in
 * declaration order. paper: "letter" (the default) or "a4", exactly;
 * prefill: a pydantic boolean (1/0, on/off, t/f, true/false, y/n, yes/no in
 * any case), default false. */
struct api_in_pdf_opts {
    bool a4;
    bool prefill;
};

/* GET /api/v1/reports/doses.csv and doses.json: person_id (required, >= 1),
 * from and to (required dates, to not before from), and the usual optional
 * timezone_offset. */
struct api_in_export {
    int64_t person_id;
    struct mt_date from, to;
    struct api_tz tz;
};

/* Like the functions above, but api_in_pdf_opts also returns -1 when v
 * already held errors from api_in_pdf. */
int api_in_pdf_opts(const struct api_request *q, struct api_in_pdf_opts *out, struct api_vctx *v);
int api_in_export(const struct api_request *q, struct api_in_export *out, struct api_vctx *v);

/* The reference's HH:MM rule for recording a dose at a time: two parts
 * around one ':', each a Python int (so "8:5" is 08:05), hour 0-23, minute
 * 0-59. Returns 0, or -1 for "Invalid time format. Use HH:MM". */
int api_parse_hhmm(const char *s, int *hour, int *minute);

#endif
