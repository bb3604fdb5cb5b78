/* The HTTP core's face towards handlers: a request with its per-request arena,
 * path parameters, query, headers and body; reply helpers that build the
 * response; and the route table type. Sockets and threads stay behind
 * server.c (docs/http.md). */
#ifndef MT_API_HTTP_H
#define MT_API_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/tz.h"

struct api_auth;
struct api_op;
struct db_conn;
struct db_pool;
struct copy_scheduler;

/* What every handler can reach: configuration, the connection pool and the
 * state of access control (api/auth.h; NULL where nothing authenticates,
 * as in unit tests). Owned by cmd_serve; lives as long as the server. */
struct remind_ctx;

struct app {
    const struct mt_config *cfg;
    struct db_pool *pool;
    /* The backup schedule (BACKUP_SCHEDULE), whose outcome GET /api/v1/health
     * reports; NULL when none is set. Set before the server starts. */
    struct copy_scheduler *backups;
    struct api_auth *auth;
    /* The server's time zone (TIMEZONE, TZ or TIMEZONE_OFFSET: api/days.h),
     * for requests without timezone_offset. Zeroed: UTC. */
    struct mt_tz zone;
    /* Reminders (src/remind): the channels API's keys and settings; NULL in
     * programs that serve no reminders. */
    const struct remind_ctx *remind;
};

#define HTTP_MAX_PARAMS 4
#define HTTP_MAX_HEADERS 16

/* A request header or query parameter as received (borrowed, valid for the
 * request). A query parameter without "=" has the value "". */
struct http_kv {
    const char *name, *value;
};

struct http_req {
    struct mt_arena *arena;    /* freed when the request completes */
    struct app *app;
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* percent-decoded path, without the query */
    const char *params[HTTP_MAX_PARAMS]; /* values captured by {name} segments, in order */
    size_t n_params;
    const char *body;          /* NULL when the request had no body */
    size_t body_len;
    const char *request_id;
    const char *peer;          /* the connection's remote address as text ("127.0.0.1", "::1") */
    bool tls;                  /* the request arrived over TLS on this connection */
    void *impl;                /* server.c internals */
    const struct http_kv *req_headers; /* in arrival order; read them with http_header */
    size_t n_req_headers;
    const struct http_kv *query;       /* decoded, in order; read them with http_query */
    size_t n_query;

    /* The response being built. */
    int status;
    const char *content_type;
    const char *resp_body;     /* arena or static memory */
    size_t resp_len;
    bool has_body;
    struct {
        const char *name, *value;
    } headers[HTTP_MAX_HEADERS];
    size_t n_headers;
    const char *route;         /* matched route pattern, for the access log */
    const struct api_op *op;   /* the matched route's operation (NULL: none), set by the router */
    struct db_conn *db;        /* taken lazily by http_db, returned at completion */

    /* Streaming (http_stream_*). stream_send is set by a server that can
     * write to the client while the handler runs: it sends the head on the
     * first call (first == true), then body bytes; len 0 with last == true
     * ends the body. When it is NULL the body is collected in stream_buf and
     * sent as an ordinary response when the handler returns. */
    int (*stream_send)(struct http_req *r, const void *data, size_t len, bool first, bool last,
                       struct mt_err *err);
    bool streaming;            /* http_stream_begin succeeded */
    bool stream_ended;         /* http_stream_end succeeded */
    struct mt_buf *stream_buf; /* the collected body when stream_send is NULL */
};

/* Query-string value, NULL when absent. With a repeated name the LAST value
 * wins, as in the reference (Starlette's QueryParams). Borrowed, valid for the
 * request. */
const char *http_query(struct http_req *r, const char *name);
/* Request header (case-insensitive name, first occurrence), NULL when absent.
 * Borrowed, valid for the request. */
const char *http_header(struct http_req *r, const char *name);

/* A database connection from the pool for this request; returned to the pool
 * when the request completes. NULL with err filled when none is available. */
struct db_conn *http_db(struct http_req *r, struct mt_err *err);
/* As http_db, waiting at most wait_ms for a free connection (the health
 * check must answer promptly even when every connection is busy). */
struct db_conn *http_db_within(struct http_req *r, int wait_ms, struct mt_err *err);

/* Gives the request's connection back to the pool before the request ends
 * (nothing when it has none): for a request that will wait a long while
 * before it needs the database again. */
void http_db_release(struct http_req *r);

/* Replies. Each sets status, content type and body; the last call wins.
 * Headers added with http_add_header are kept. CORS headers are added by the
 * server. */
/* Serialises j compactly (key order kept) and steals the reference. When the
 * request's arena cannot hold the text, answers 503 {"detail": "Response
 * exceeds the server's memory limit"} instead (a server condition). */
void http_reply_json(struct http_req *r, int status, json_t *j);
/* {"detail": detail} */
void http_reply_detail(struct http_req *r, int status, const char *detail);
/* Maps an error to its status: EINVAL 400, ENOTFOUND 404 and ECONFLICT 409
 * with {"detail": err->msg}; ELIMIT (the server's own memory or buffer
 * ceiling was hit while handling the request) 503 with {"detail": err->msg},
 * never 413, which is only for a request body over MAX_BODY_BYTES; EUNAVAIL,
 * EAUTH and ENODB 503 {"detail":"Service Unavailable"}, ETIMEOUT and
 * EDB_RETRY 503 with a detail saying the database is busy, both with
 * Retry-After: 1; ENOSPC 507 (Insufficient Storage) with a JSON detail and
 * Retry-After: 30; EPERM (the server may not write its database) 500 with a
 * JSON detail and no Retry-After; EDB and EINTERNAL 500 with the body the
 * reference sends for an unhandled error (text/plain "Internal Server Error").
 * Codes without a client-facing message are logged here, once. A handler that
 * wants another status for a business rule (the reference uses 400) calls
 * http_reply_detail itself. */
void http_reply_err(struct http_req *r, const struct mt_err *err);
/* No body and no content-length (204), content-type application/json as the
 * reference sends it. */
void http_reply_empty(struct http_req *r, int status);
/* Any bytes; body must live until the request completes (arena or static). */
void http_reply_raw(struct http_req *r, int status, const char *content_type, const void *body,
                    size_t len);
/* Adds a response header (name and value must outlive the request). */
void http_add_header(struct http_req *r, const char *name, const char *value);

/* A malloc'ed buffer with ceiling max (core/buf.h) that the request's arena
 * releases when the request completes: for a large reply body built
 * outside the arena. NULL with MT_ELIMIT when the arena is full. */
struct mt_buf *http_request_buf(struct http_req *r, size_t max, struct mt_err *err);

/* Streamed replies, for bodies that should not be built in memory (exports).
 * http_stream_begin fixes the status, content type and the headers added so
 * far; http_stream_write sends body bytes as they are produced;
 * http_stream_end finishes the body. After a successful begin the handler
 * must not call http_reply_*: once bytes have left, the status cannot change,
 * so a failure after begin can only cut the response short (the server then
 * closes the connection). Where the server cannot stream, the body is
 * collected in memory up to fallback_max bytes (MT_ELIMIT beyond) and sent
 * when the handler returns. Each returns 0, or -1 with err filled: MT_EUNAVAIL
 * when the client went away or stopped reading, MT_ELIMIT as above. */
int http_stream_begin(struct http_req *r, int status, const char *content_type,
                      size_t fallback_max, struct mt_err *err);
int http_stream_write(struct http_req *r, const void *data, size_t len, struct mt_err *err);
int http_stream_end(struct http_req *r, struct mt_err *err);
/* Gives up a started stream because of err, which is logged here (once).
 * A server that streams may have sent the head and part of the body: the
 * response stays unfinished, and the server closes the connection without
 * ending the body, so the client sees it cut short. With the in-memory
 * fallback nothing has left yet: the collected body is dropped and the
 * client gets what http_reply_err gives for err. Without a started stream
 * this is http_reply_err. */
void http_stream_abort(struct http_req *r, const struct mt_err *err);

typedef void (*http_handler)(struct http_req *r);

/* A route: method and pattern with {name} segments ("/api/v1/persons/{id}"),
 * each a whole path segment, at most HTTP_MAX_PARAMS. A pattern ending in "/"
 * (a collection) also matches the path without that slash (api.md decision 7;
 * the reference answered 404 there, sample #11); otherwise matching is exact.
 * HEAD is answered by the GET route of the path, without the body (the
 * reference answered 404, sample #2; issue 11 made HEAD work). */
struct http_route {
    const char *method;
    const char *pattern;
    http_handler fn;
    bool light; /* the handler never waits on the database (liveness, documents) */
    const struct api_op *op; /* the API operation fn serves (api/operation.h), handed to it
                              * as r->op; NULL for plain handlers */
};

/* The application's route table and fallback for unmatched GET/HEAD
 * (static files / SPA; NULL = JSON 404). Defined in api/operations.c, where
 * each API operation is one route. */
extern const struct http_route api_routes[];
extern const size_t api_n_routes;
extern const http_handler api_fallback;

#endif
