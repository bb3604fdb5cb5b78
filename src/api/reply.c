/* The handler-facing helpers of the HTTP core: reading query parameters and
 * headers, taking the request's database connection, and building replies
 * (compact JSON through jansson, {"detail": ...} errors, the one mapping from
 * mt_code to HTTP status). Nothing here knows sockets; server.c turns
 * the finished struct http_req into a response. */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "api/http.h"
#include "core/buf.h"
#include "core/log.h"
#include "db/db.h"

/* How long a request waits for a pooled database connection when no
 * statement timeout bounds its database work (else it waits that long). */
#define DB_WAIT_MS 5000

static const char body_internal[] = "Internal Server Error";
/* Static, since it is sent when the request's arena is full. */
static const char body_no_memory[] = "{\"detail\":\"Response exceeds the server's memory limit\"}";

const char *http_query(struct http_req *r, const char *name)
{
    const char *found = NULL;
    for (size_t i = 0; i < r->n_query; i++)
        if (strcmp(r->query[i].name, name) == 0)
            found = r->query[i].value;
    return found;
}

const char *http_header(struct http_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_req_headers; i++)
        if (strcasecmp(r->req_headers[i].name, name) == 0)
            return r->req_headers[i].value;
    return NULL;
}

struct db_conn *http_db_within(struct http_req *r, int wait_ms, struct mt_err *err)
{
    if (r->db)
        return r->db;
    if (!r->app || !r->app->pool) {
        mt_fail(err, MT_EINTERNAL, "no database pool configured");
        return NULL;
    }
    r->db = db_pool_get(r->app->pool, wait_ms, err);
    return r->db;
}

void http_db_release(struct http_req *r)
{
    if (!r->db || !r->app || !r->app->pool)
        return;
    struct mt_err err = {0};
    if (db_in_tx(r->db) && db_rollback(r->db, &err) < 0)
        mt_log(MT_LOG_ERROR, "rollback of an abandoned transaction failed: %s", err.msg);
    db_pool_put(r->app->pool, r->db);
    r->db = NULL;
}

struct db_conn *http_db(struct http_req *r, struct mt_err *err)
{
    int wait_ms = DB_WAIT_MS;
    if (r->app && r->app->cfg && r->app->cfg->db_statement_timeout > 0)
        wait_ms = r->app->cfg->db_statement_timeout;
    return http_db_within(r, wait_ms, err);
}

void http_reply_raw(struct http_req *r, int status, const char *content_type, const void *body,
                    size_t len)
{
    r->status = status;
    r->content_type = content_type;
    r->resp_body = body;
    r->resp_len = len;
    r->has_body = true;
}

/* The text of a JSON reply, serialised once straight into the request
 * arena, growing by doubling (the abandoned smaller buffers stay in the
 * arena, together at most the size of the final one). */
struct dump {
    struct mt_arena *a;
    char *buf;
    size_t len, cap;
    bool full; /* the arena refused to grow it */
};

static int dump_cb(const char *p, size_t n, void *vctx)
{
    struct dump *d = vctx;
    if (n > d->cap - d->len) {
        size_t cap = d->cap ? d->cap : 4096;
        while (cap - d->len < n) {
            if (!mt_size_mul(cap, 2, &cap)) {
                d->full = true;
                return -1;
            }
        }
        char *grown = mt_arena_alloc(d->a, cap);
        if (!grown) {
            d->full = true;
            return -1;
        }
        if (d->len)
            memcpy(grown, d->buf, d->len);
        d->buf = grown;
        d->cap = cap;
    }
    memcpy(d->buf + d->len, p, n);
    d->len += n;
    return 0;
}

void http_reply_json(struct http_req *r, int status, json_t *j)
{
    if (!j) {
        /* A failed json_pack / json_*_new in a handler is a bug of ours. */
        mt_log(MT_LOG_ERROR, "reply: no JSON value to send (status %d)", status);
        http_reply_raw(r, 500, "text/plain; charset=utf-8", body_internal,
                       sizeof(body_internal) - 1);
        return;
    }
    struct dump d = {r->arena, NULL, 0, 0, false};
    int rc = json_dump_callback(j, dump_cb, &d, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (rc == 0 && d.len) {
        http_reply_raw(r, status, "application/json", d.buf, d.len);
        return;
    }
    if (d.full) {
        /* Our own ceiling, not the client's request: a server condition
         * (503), never 413, which would blame the request body. */
        mt_log(MT_LOG_WARN, "reply: the response exceeds the request's memory limit");
        http_reply_raw(r, 503, "application/json", body_no_memory, sizeof(body_no_memory) - 1);
        return;
    }
    mt_log(MT_LOG_ERROR, "reply: JSON value could not be serialised");
    http_reply_raw(r, 500, "text/plain; charset=utf-8", body_internal, sizeof(body_internal) - 1);
}

void http_reply_detail(struct http_req *r, int status, const char *detail)
{
    http_reply_json(r, status, json_pack("{s:s}", "detail", detail ? detail : ""));
}

/* Sets Retry-After once, even when a handler answers an error twice. */
static void retry_after(struct http_req *r, const char *seconds)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        if (strcasecmp(r->headers[i].name, "Retry-After") == 0) {
            r->headers[i].value = seconds;
            return;
        }
    }
    http_add_header(r, "Retry-After", seconds);
}

/* How each error is answered: its status, the detail the client reads
 * (NULL: the error's own message, which is written for clients), the
 * Retry-After seconds (NULL: none), and the level it is logged at (OFF: not
 * logged; the client's own mistakes are not the server's events). A code
 * not listed (MT_EDB, MT_EINTERNAL) is a 500 with the reference's plain
 * text, logged as an error. */
static const struct err_reply {
    enum mt_code code;
    int status;
    const char *detail;
    const char *retry_after;
    enum mt_log_level level;
} err_replies[] = {
    {MT_EINVAL, 400, NULL, NULL, MT_LOG_OFF},
    {MT_ENOTFOUND, 404, NULL, NULL, MT_LOG_OFF},
    {MT_ECONFLICT, 409, NULL, NULL, MT_LOG_OFF},
    /* The server's own ceiling (request arena, a buffer): 503. Bodies over
     * MAX_BODY_BYTES get their 413 from the server itself. */
    {MT_ELIMIT, 503, NULL, NULL, MT_LOG_WARN},
    /* The database cannot be reached or refuses us (a restart, a changed
     * password): waiting may help, and the client is told so. */
    {MT_EUNAVAIL, 503, "Service Unavailable", "1", MT_LOG_WARN},
    {MT_EAUTH, 503, "Service Unavailable", "1", MT_LOG_WARN},
    {MT_ENODB, 503, "Service Unavailable", "1", MT_LOG_WARN},
    /* A lock held elsewhere, a slow statement, or conflicts that outlasted
     * every retry: the work was undone and may succeed later. */
    {MT_ETIMEOUT, 503, "Service Unavailable: the database is busy, retry later", "1", MT_LOG_WARN},
    {MT_EDB_RETRY, 503, "Service Unavailable: the database is busy, retry later", "1", MT_LOG_WARN},
    {MT_ENOSPC, 507, "Insufficient Storage: the database's disk is full, nothing was saved", "30",
     MT_LOG_ERROR},
    /* The database file, its directory or its file system refuses our
     * writes: the server's own set-up is wrong and waiting will not fix it
     * (start-up refuses such a database at once), so no Retry-After. JSON
     * like every database fault; the file and the reason go to the log
     * only. */
    {MT_EPERM, 500, "Internal Server Error: the server may not write to its database", NULL,
     MT_LOG_ERROR},
};

void http_reply_err(struct http_req *r, const struct mt_err *err)
{
    const struct err_reply *e = NULL;
    for (size_t i = 0; i < MT_ARRAY_LEN(err_replies) && !e; i++)
        if (err_replies[i].code == err->code)
            e = &err_replies[i];
    if (!e) {
        mt_log(MT_LOG_ERROR, "request failed (%s): %s", mt_code_name(err->code), err->msg);
        http_reply_raw(r, 500, "text/plain; charset=utf-8", body_internal,
                       sizeof(body_internal) - 1);
        return;
    }
    if (e->level != MT_LOG_OFF)
        mt_log(e->level, "request %s (%s): %s",
               err->code == MT_ELIMIT ? "hit a server limit" : "failed", mt_code_name(err->code),
               err->msg);
    if (e->retry_after)
        retry_after(r, e->retry_after);
    http_reply_detail(r, e->status, e->detail ? e->detail : err->msg);
}

void http_reply_empty(struct http_req *r, int status)
{
    r->status = status;
    r->content_type = "application/json";
    r->resp_body = NULL;
    r->resp_len = 0;
    r->has_body = false;
}

void http_add_header(struct http_req *r, const char *name, const char *value)
{
    if (r->n_headers >= HTTP_MAX_HEADERS) {
        /* Our own handlers choose the headers; running out is a bug. */
        mt_log(MT_LOG_ERROR, "reply: more than %d headers, dropping %s", HTTP_MAX_HEADERS, name);
        return;
    }
    r->headers[r->n_headers].name = name;
    r->headers[r->n_headers].value = value;
    r->n_headers++;
}

/* ---- streamed replies ---- */

static void release_request_buf(void *ctx)
{
    mt_buf_release(ctx);
}

struct mt_buf *http_request_buf(struct http_req *r, size_t max, struct mt_err *err)
{
    struct mt_buf *b = mt_arena_alloc(r->arena, sizeof(*b));
    if (!b) {
        mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
        return NULL;
    }
    mt_buf_init(b, max);
    if (mt_arena_on_free(r->arena, release_request_buf, b) < 0) {
        mt_buf_release(b);
        mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
        return NULL;
    }
    return b;
}

int http_stream_begin(struct http_req *r, int status, const char *content_type, size_t fallback_max,
                      struct mt_err *err)
{
    r->status = status;
    r->content_type = content_type;
    r->has_body = true;
    if (r->stream_send) {
        if (r->stream_send(r, NULL, 0, true, false, err) < 0)
            return -1;
        r->streaming = true;
        return 0;
    }
    struct mt_buf *b = http_request_buf(r, fallback_max, err);
    if (!b)
        return -1;
    r->stream_buf = b;
    r->streaming = true;
    return 0;
}

int http_stream_write(struct http_req *r, const void *data, size_t len, struct mt_err *err)
{
    if (!r->streaming || r->stream_ended)
        return mt_fail(err, MT_EINTERNAL, "stream write outside a started stream");
    if (len == 0)
        return 0;
    if (r->stream_send)
        return r->stream_send(r, data, len, false, false, err);
    mt_buf_add(r->stream_buf, data, len);
    if (r->stream_buf->failed)
        return mt_fail(err, MT_ELIMIT, "response larger than %zu bytes", r->stream_buf->max);
    return 0;
}

int http_stream_end(struct http_req *r, struct mt_err *err)
{
    if (!r->streaming || r->stream_ended)
        return mt_fail(err, MT_EINTERNAL, "stream end outside a started stream");
    if (r->stream_send) {
        if (r->stream_send(r, NULL, 0, false, true, err) < 0)
            return -1;
    } else {
        r->resp_body = r->stream_buf->data;
        r->resp_len = r->stream_buf->len;
    }
    r->stream_ended = true;
    return 0;
}

void http_stream_abort(struct http_req *r, const struct mt_err *err)
{
    if (!r->streaming || r->stream_ended) {
        http_reply_err(r, err);
        return;
    }
    if (r->stream_send) {
        mt_log(MT_LOG_WARN, "response cut short after it started (%s): %s", mt_code_name(err->code),
               err->msg);
        return;
    }
    mt_buf_release(r->stream_buf);
    r->streaming = false;
    http_reply_err(r, err);
}
