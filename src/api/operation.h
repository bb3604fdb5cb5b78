/* An API operation as data: what it reads (each parameter's place, type,
 * bounds, default and whether it is required), what it answers (status,
 * schema names, error statuses, summary) and the handler that does its
 * work. The operation table (api/operations.c) is made of these; the router
 * finds them, the validation (api/validate.c) reads requests by them,
 * /openapi.json (api/openapi.c) is written from them, and the runner
 * (api/operation.c) takes a request through them, so that a handler starts
 * with validated input and a database connection. docs/architecture.md
 * says how to add one. Internal to src/api. */
#ifndef MT_API_OPERATION_H
#define MT_API_OPERATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/http.h"
#include "core/err.h"
#include "core/mtime.h"

struct db_conn;
struct api_op;
struct api_body;
struct api_request;
struct api_vctx;

/* The permission an operation needs (docs/auth.md). Every entry of the
 * operation table declares one; API_PERM_UNSET is there so that a
 * forgotten declaration is visible (tests/unit/test_operations.c refuses
 * it, and the runner answers 500 for it rather than guessing). Roles allow:
 * viewer SELF and READ; carer also RECORD and MANAGE; admin everything. A
 * token's scope caps its account's role: read SELF and READ, write up to
 * MANAGE, admin everything the role allows. */
enum api_perm {
    API_PERM_UNSET,
    API_PUBLIC, /* anyone, signed in or not */
    API_SELF,   /* any signed-in account, about itself */
    API_READ,   /* read the data of granted persons */
    API_RECORD, /* record and delete doses of granted persons */
    API_MANAGE, /* create, change and delete medications of granted persons */
    API_ADMIN,  /* persons, accounts, every token, the full health report */
};

/* Where a parameter is read from. FastAPI lists its errors in this order,
 * and within one place in the order the operation declares them. */
enum api_where { API_PATH, API_QUERY, API_BODY };

/* The type of a parameter, and so the kind of value it fills in the
 * operation's input struct. */
enum api_type {
    API_INT,      /* struct api_int: an integer within the bounds (pydantic's lax coercions) */
    API_DATE,     /* struct api_date: a date (pydantic's lax rules: zero-time datetimes too) */
    API_TEXT,     /* struct api_text: path and query text as decoded; body strings checked */
    API_BOOL,     /* struct api_int, 0 or 1: pydantic's boolean words (a body: also true/false) */
    API_CHOICE,   /* struct api_int: the index of the value among choices (query or body) */
    API_IDS,      /* struct api_ids: a JSON array of integers within the bounds (body only) */
    API_NUMBER,   /* struct api_num: a number within the bounds, in a body */
    API_DATETIME, /* struct api_time: an instant (RFC 3339; no zone: UTC) */
    API_JSON,     /* struct api_jsonv: any JSON value of a body, checked by the operation's rules */
};

/* The values validation fills. set is true when the client gave the
 * parameter (and it was valid); otherwise the value is the default. */
struct api_int {
    bool set;
    int64_t value;
};

/* value is NULL with set for an explicit JSON null (nullable body fields). */
struct api_text {
    bool set;
    const char *value;
};

struct api_date {
    bool set;
    bool null; /* an explicit JSON null (nullable body fields) */
    struct mt_date value;
};

/* A list of ids, in the request's arena, as given (duplicates kept). */
struct api_ids {
    bool set;
    const int64_t *values;
    size_t n;
};

struct api_num {
    bool set;
    bool null; /* an explicit JSON null (nullable body fields) */
    double value;
};

struct api_time {
    bool set;
    bool null; /* an explicit JSON null (nullable body fields) */
    int64_t us;
};

/* value is NULL with set for an explicit JSON null (nullable body fields). */
struct api_json;
struct api_jsonv {
    bool set;
    const struct api_json *value; /* in the parsed body (api/jsonin.h) */
};

/* An integer's bounds as pydantic states them: lo_op "ge" or "gt", hi_op
 * "le" or "lt", NULL for no bound (then only the 64-bit range applies). */
struct api_bounds {
    const char *lo_op;
    int64_t lo;
    const char *hi_op;
    int64_t hi;
};

/* One parameter of an operation. */
struct api_param {
    const char *name;
    enum api_where where;
    enum api_type type;
    size_t at;     /* offsetof its value in the operation's input struct */
    bool required; /* query and body: absent is the "missing" error (a path always has it) */
    bool nullable; /* body: null is a value (set, NULL / null) rather than a type error */
    struct api_bounds bounds; /* API_INT */
    bool has_default;         /* API_INT: absent means def (and the document says so) */
    int64_t def;
    size_t max_len;             /* API_TEXT in a body: characters at most; 0: no limit */
    const char *const *choices; /* API_CHOICE: the accepted words, NULL-terminated; the first
                                 * is the default */
    const char *doc;            /* its description in /openapi.json */
};

/* Whether an operation reads a JSON body. */
enum api_body_use {
    API_NO_BODY,
    API_BODY_REQUIRED, /* an object; none is the "missing" error */
    API_BODY_OPTIONAL, /* an object, or nothing (no body, or JSON null) */
};

struct api_principal;

/* What a handler gets: the request (to reply on, and its arena), its
 * operation, the validated input (the operation's input struct, in the
 * arena), the request's database connection, or NULL for an operation
 * that takes none (no_db), and who is asking (api/auth.h; never NULL: with
 * AUTH=off an "open" principal that may do and see everything). */
struct api_call {
    struct http_req *r;
    const struct api_op *op;
    const void *in;
    struct db_conn *db;
    const struct api_principal *who;
};

/* A handler answers r on success, and also when it refuses the request in
 * words of its own (api_reply_unavailable); then it returns 0. Any other
 * outcome is returned as -1 with err filled, and the runner answers it
 * (docs/architecture.md, "Errors"). */
typedef int (*api_handler)(struct api_call *call, struct mt_err *err);

/* A rule on a request body as a whole (pydantic's model validators), run
 * after the body is known to be an object and before its fields are read:
 * it may change what a field is read from (api_body_use) or refuse the body
 * (add an error to v and return -1, which ends validation). */
typedef int (*api_model_rule)(struct api_body *b, struct api_vctx *v);

/* A rule across parameters, run after all of them were read (they may have
 * failed: a rule looks only at values that are set). Adds its errors to v. */
typedef void (*api_cross_rule)(const struct api_request *q, void *in, struct api_vctx *v);

struct api_op {
    api_handler handler;
    size_t in_size;                 /* the size of its input struct */
    const struct api_param *params; /* path, query and body fields, ending with an entry
                                     * whose name is NULL (never NULL itself) */
    enum api_body_use body;
    api_model_rule model; /* NULL: none */
    api_cross_rule cross; /* NULL: none */
    bool no_db; /* the runner takes no connection: the handler needs none, or takes its own */
    bool heavy; /* runs under the heavy-work limiter (api/heavy.h) */

    /* Access control. */
    enum api_perm perm;
    bool identify;  /* API_PUBLIC: still look at credentials, for a handler that answers
                     * differently to who asks (the others never touch them) */
    bool auth_api;  /* part of the access-control API: with AUTH=off it is not routed (the
                     * reference's 404/405) and not in /openapi.json... */
    bool serve_off; /* ...unless this is set: then it is routed but still not documented */
    int conflict;   /* the status of a refused rule (MT_ECONFLICT); 0: the reference's 400 */

    /* What /openapi.json says. */
    const char *tag;
    const char *op_id;
    const char *summary;
    int status;              /* the success status, which the handler answers with */
    const char *body_schema; /* the request body's component name (its properties are the
                              * body parameters); NULL without a body */
    const char *body_doc;    /* the body schema's description, or NULL */
    const char *response;    /* success content: a component name, "[]Name" for an array of
                              * them, "pdf", "csv"; NULL for no content */
    const char *errors;      /* space-separated statuses answered with a detail ("404 503"),
                              * or NULL; 422 is added for an operation with parameters */
};

/* The handler of every route that serves an operation (the route's op):
 * reads and validates the request (422 / 400 / 413 on failure), waits for a
 * turn when the operation is heavy, takes the request's database
 * connection, runs the operation's handler, and answers its failure. */
void api_op_run(struct http_req *r);

/* For a handler whose answer is the operation's status alone (a delete):
 * answers it when rc, the result of the store call that did the work, is
 * 0, and returns rc, so that a failure goes on to the runner. */
int api_reply_done(struct api_call *call, int rc);

/* Answers 503 {"detail": detail} for a refusal the server words itself (it
 * is busy with reports, it lacks the PDF module), with Retry-After when
 * waiting may help (retry_s > 0). Returns 0: the request is answered. The
 * runner's failure replies are its only other source of error answers. */
int api_reply_unavailable(struct http_req *r, const char *detail, int retry_s);

#endif
