/* One HTTP connection, from the event that wakes its worker to the end of
 * each response: reading into the connection's buffer, the strict request
 * head and body framing of http1.c, the request deadlines' states, handler
 * slots (at most HTTP_THREADS - 1 handlers that may wait on the database),
 * responses (whole or streamed with chunked coding), edge errors with a
 * lingering close, pipelining. On a TLS port every byte in and out passes
 * through the connection's TLS session (api/tls.h): the handshake runs first,
 * in the same event loop and under the first head's deadline. Its owner is
 * always exactly one worker (epoll one-shot); server.c accepts connections
 * and runs the threads. */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/cors.h"
#include "api/router.h"
#include "api/server_int.h"
#include "core/log.h"
#include "db/db.h"

/* ---- connection bookkeeping ---- */

static bool state_has_request(enum conn_state st)
{
    return st == CS_HEAD || st == CS_BODY || st == CS_QUEUED || st == CS_HANDLING ||
           st == CS_WRITING;
}

/* Moves c to state st with the deadline of that state, keeping in_flight
 * (requests between their first byte and their end) up to date. */
static void set_state(struct conn *c, enum conn_state st)
{
    struct http_server *srv = c->srv;
    uint64_t now = mt_mono_ms();
    uint64_t deadline = UINT64_MAX;
    switch (st) {
    case CS_NEW:
    case CS_HEAD:
        deadline = now + srv->head_ms;
        break;
    case CS_IDLE:
        deadline = now + srv->idle_ms;
        break;
    case CS_BODY:
        deadline = now + srv->deadline_ms;
        break;
    case CS_WRITING:
        deadline = now + (srv->idle_ms > srv->deadline_ms ? srv->idle_ms : srv->deadline_ms);
        break;
    case CS_DRAIN:
        deadline = now + DRAIN_MS;
        break;
    case CS_QUEUED:
    case CS_HANDLING:
        break;
    }
    pthread_mutex_lock(&srv->lock);
    bool was = state_has_request(c->state);
    bool is = state_has_request(st);
    if (!was && is)
        srv->in_flight++;
    if (was && !is && --srv->in_flight == 0)
        pthread_cond_broadcast(&srv->idle);
    /* A new connection's first head keeps the deadline that started at
     * accept, so trickling the first byte late does not buy more time. */
    if (!(st == CS_HEAD && c->state == CS_NEW)) {
        c->since_ms = now;
        c->deadline_ms = deadline;
    }
    c->state = st;
    pthread_mutex_unlock(&srv->lock);
}

/* Re-arms c in the epoll set; after this call the worker no longer owns c
 * and must not touch it. */
static void arm(struct conn *c, bool out)
{
    struct epoll_event ev = {.events = (out ? EPOLLOUT : EPOLLIN) | EPOLLRDHUP | EPOLLONESHOT,
                             .data.ptr = c};
    if (epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        mt_log(MT_LOG_ERROR, "epoll: cannot re-arm a connection: %s", strerror(errno));
}

static int stream_send(struct http_req *r, const void *data, size_t len, bool first, bool last,
                       struct mt_err *err);

void srv_conn_close(struct conn *c)
{
    struct http_server *srv = c->srv;
    if (c->rq)
        srv_request_free(c->rq);
    set_state(c, CS_NEW); /* leaves in_flight */
    pthread_mutex_lock(&srv->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        srv->tail = c->prev;
    srv->n_conns--;
    srv_ip_release(srv, c->ip);
    /* Closed under the lock: the reaper shuts sockets down under it, so it
     * never touches a descriptor that was closed and reused. */
    close(c->fd);
    pthread_mutex_unlock(&srv->lock);
    tls_session_free(c->tls);
    mt_buf_release(&c->head);
    free(c->in);
    free(c);
}

/* ---- requests ---- */

static void release_body(void *ctx)
{
    mt_buf_release(ctx);
}

static struct request *request_new(struct conn *c)
{
    struct http_server *srv = c->srv;
    struct mt_arena *arena = mt_arena_new(srv->arena_max);
    struct request *rq = mt_arena_calloc(arena, 1, sizeof(*rq));
    if (!rq) {
        mt_arena_free(arena);
        return NULL;
    }
    rq->c = c;
    rq->t0_ns = mt_mono_ns();
    rq->minor = 1;
    rq->req.arena = arena;
    rq->req.app = srv->app;
    rq->req.method = "-";
    rq->req.path = "-";
    rq->req.impl = rq;
    uint64_t n = atomic_fetch_add(&srv->next_id, 1) + 1;
    snprintf(rq->rid, sizeof(rq->rid), "%08" PRIx32 "-%06" PRIx64, srv->id_prefix, n);
    rq->req.request_id = rq->rid;
    rq->req.peer = c->peer;
    rq->req.tls = c->tls != NULL;
    rq->req.stream_send = stream_send;
    c->rq = rq;
    return rq;
}

static void return_db(struct request *rq)
{
    if (!rq->req.db)
        return;
    struct mt_err err = {0};
    if (db_in_tx(rq->req.db) && db_rollback(rq->req.db, &err) < 0)
        mt_log(MT_LOG_ERROR, "rollback of an abandoned transaction failed: %s", err.msg);
    db_pool_put(rq->c->srv->app->pool, rq->req.db);
    rq->req.db = NULL;
}

static void log_access(struct request *rq)
{
    struct http_req *r = &rq->req;
    char path[256];
    const char *pattern = r->route && r->route[0] == '/' ? r->route : NULL;
    router_log_path(pattern, r->path, path, sizeof(path));
    char method[16];
    router_log_path(NULL, r->method, method, sizeof(method));
    double ms = (double)(mt_mono_ns() - rq->t0_ns) / 1e6;

    mt_log_set_request_id(rq->rid);
    mt_log(MT_LOG_INFO, "access method=%s path=%s route=%s status=%d ms=%.1f%s%s", method, path,
           r->route ? r->route : "-", r->status, ms, rq->abort ? " aborted=" : "",
           rq->abort ? rq->abort : "");
    mt_log_set_request_id(NULL);
}

/* Ends a request: access log, database connection back to the pool, arena
 * freed. */
void srv_request_free(struct request *rq)
{
    if (rq->req.status || rq->abort)
        log_access(rq);
    return_db(rq);
    rq->c->rq = NULL;
    mt_arena_free(rq->req.arena);
}

/* ---- socket I/O, plain or through TLS ---- */

/* Reads from c, through its TLS session when it has one: like recv, a count,
 * 0 at the end, or -1 with errno set (EAGAIN: nothing yet; EPROTO: a TLS
 * protocol error). */
static ssize_t conn_recv(struct conn *c, void *buf, size_t len)
{
    if (!c->tls)
        return recv(c->fd, buf, len, 0);
    ssize_t n = tls_recv(c->tls, buf, len);
    if (n >= 0)
        return n;
    errno = n == TLS_FAIL ? EPROTO : EAGAIN;
    return -1;
}

/* Drops the first n bytes of c->out after they were sent. */
static void out_advance(struct conn *c, size_t n)
{
    while (c->n_out > 0 && n >= c->out[0].iov_len) {
        n -= c->out[0].iov_len;
        c->out[0] = c->out[1];
        c->n_out--;
    }
    if (c->n_out > 0) {
        c->out[0].iov_base = (char *)c->out[0].iov_base + n;
        c->out[0].iov_len -= n;
    }
}

/* flush_out through TLS: one record at a time. When GnuTLS would block it
 * keeps the record it made, and c->out still starts with the same bytes, so
 * the next call passes the same buffer, as GnuTLS requires. */
static int flush_out_tls(struct conn *c)
{
    while (c->n_out > 0) {
        if (c->out[0].iov_len == 0) {
            out_advance(c, 0);
            continue;
        }
        ssize_t n = tls_send(c->tls, c->out[0].iov_base, c->out[0].iov_len);
        if (n == TLS_WANT_READ || n == TLS_WANT_WRITE)
            return 0;
        if (n <= 0)
            return -1;
        out_advance(c, (size_t)n);
    }
    return 1;
}

/* ---- writing ---- */

/* Sends what is left of c->out without blocking. 1: all sent; 0: the socket
 * is full; -1: the client is gone. */
static int flush_out(struct conn *c)
{
    if (c->tls)
        return flush_out_tls(c);
    while (c->n_out > 0) {
        struct msghdr msg = {.msg_iov = c->out, .msg_iovlen = (size_t)c->n_out};
        ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        out_advance(c, (size_t)n);
    }
    return 1;
}

/* Sends all of data, waiting for the socket up to timeout_ms at a time (for
 * streamed responses, written by the handler's worker). */
static int send_all(struct conn *c, const struct iovec *iov, int n, uint64_t timeout_ms)
{
    c->n_out = 0;
    for (int i = 0; i < n && i < 2; i++)
        if (iov[i].iov_len)
            c->out[c->n_out++] = iov[i];
    for (;;) {
        int rc = flush_out(c);
        if (rc != 0)
            return rc > 0 ? 0 : -1;
        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
        int pr = poll(&p, 1, (int)timeout_ms);
        if (pr == 0 || (pr < 0 && errno != EINTR))
            return -1;
    }
}

/* The Date header value, formatted once per second per thread. */
static const char *http_date(void)
{
    static _Thread_local char buf[40];
    static _Thread_local time_t last;
    time_t now = time(NULL);
    if (now != last) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        last = now;
    }
    return buf;
}

static bool has_header(const struct http_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return true;
    return false;
}

/* Headers every response gets (docs/http.md, "Security headers"). */
static void security_headers(struct mt_buf *b, const struct http_req *r)
{
    mt_buf_adds(b, "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n");
    const char *ct = r->content_type ? r->content_type : "";
    /* SVG is a document too: opened on its own it may run script. */
    if (strncmp(ct, "text/html", 9) == 0 || strncmp(ct, "image/svg+xml", 13) == 0) {
        if (!has_header(r, "Content-Security-Policy"))
            mt_buf_adds(b, "Content-Security-Policy: default-src 'self'; script-src 'self'; "
                           "style-src 'self'; img-src 'self' data:; object-src 'none'; "
                           "base-uri 'none'; form-action 'self'; frame-ancestors 'none'\r\n");
        mt_buf_adds(b, "X-Frame-Options: DENY\r\n");
    }
    if (!has_header(r, "Cache-Control") &&
        (strncmp(ct, "application/json", 16) == 0 || strncmp(ct, "text/csv", 8) == 0 ||
         strncmp(ct, "application/pdf", 15) == 0))
        mt_buf_adds(b, "Cache-Control: no-store\r\n");
}

/* The status line and headers of r's response, built in the connection's
 * own buffer (not the arena: a handler may have used all of it, and its
 * answer must still go out). streamed: the body follows in pieces, chunked
 * on HTTP/1.1 and ended by closing the connection on HTTP/1.0, so either
 * way without Content-Length. An empty iovec when the headers exceed the
 * buffer's ceiling. */
static struct iovec build_head(struct request *rq, bool streamed)
{
    struct http_req *r = &rq->req;
    struct mt_buf *b = &rq->c->head;
    struct iovec iov = {0};
    mt_buf_reset(b);
    mt_buf_addf(b, "HTTP/1.1 %d %s\r\nDate: %s\r\n", r->status, http1_reason(r->status),
                http_date());
    if (r->content_type)
        mt_buf_addf(b, "Content-Type: %s\r\n", r->content_type);
    bool no_body_status = r->status == 204 || r->status == 304 || r->status < 200;
    if (streamed && rq->minor >= 1)
        mt_buf_adds(b, "Transfer-Encoding: chunked\r\n");
    else if (!streamed && r->has_body && !no_body_status)
        mt_buf_addf(b, "Content-Length: %zu\r\n", r->resp_len);
    for (size_t i = 0; i < r->n_headers; i++)
        mt_buf_addf(b, "%s: %s\r\n", r->headers[i].name, r->headers[i].value);
    security_headers(b, r);
    if (rq->c->close_after)
        mt_buf_adds(b, "Connection: close\r\n");
    else if (rq->minor == 0)
        mt_buf_adds(b, "Connection: keep-alive\r\n");
    mt_buf_adds(b, "\r\n");
    if (!b->failed) {
        iov.iov_base = b->data;
        iov.iov_len = b->len;
    }
    return iov;
}

/* The streamed-response hook of http.h (stream_send), run by the handler's
 * worker: chunked transfer coding on HTTP/1.1; on HTTP/1.0 the body ends
 * when the connection closes. */
static int stream_send(struct http_req *r, const void *data, size_t len, bool first, bool last,
                       struct mt_err *err)
{
    struct request *rq = r->impl;
    struct conn *c = rq->c;
    struct http_server *srv = c->srv;
    uint64_t timeout = srv->idle_ms;
    char frame[32];

    if (first) {
        if (rq->minor == 0)
            c->close_after = true;
        if (atomic_load(&srv->stopping))
            c->close_after = true;
        cors_add_simple(r, srv->app->cfg);
        struct iovec head = build_head(rq, true);
        if (!head.iov_base)
            return mt_fail(err, MT_ELIMIT, "response head exceeds the memory limit");
        rq->head_sent = true;
        if (send_all(c, &head, 1, timeout) < 0)
            goto gone;
        return 0;
    }
    if (rq->head_only)
        return 0;
    if (rq->minor == 0) {
        if (len == 0)
            return 0;
        struct iovec body = {.iov_base = (void *)(uintptr_t)data, .iov_len = len};
        return send_all(c, &body, 1, timeout) < 0 ? -1 : 0;
    }
    if (last) {
        struct iovec end = {.iov_base = (void *)(uintptr_t) "0\r\n\r\n", .iov_len = 5};
        if (send_all(c, &end, 1, timeout) < 0)
            goto gone;
        return 0;
    }
    if (len == 0)
        return 0;
    int fl = snprintf(frame, sizeof(frame), "%zx\r\n", len);
    struct iovec iov[2] = {{.iov_base = frame, .iov_len = (size_t)fl},
                           {.iov_base = (void *)(uintptr_t)data, .iov_len = len}};
    if (send_all(c, iov, 2, timeout) < 0)
        goto gone;
    struct iovec crlf = {.iov_base = (void *)(uintptr_t) "\r\n", .iov_len = 2};
    if (send_all(c, &crlf, 1, timeout) < 0)
        goto gone;
    return 0;
gone:
    c->close_after = true;
    rq->abort = "client-gone";
    return mt_fail(err, MT_EUNAVAIL, "the client went away or stopped reading");
}

/* ---- answering ---- */

static void process(struct conn *c);

/* Connections a worker will process once it is done with the current event
 * (queued requests it ran whose connections hold pipelined input): a list
 * instead of a nested call keeps the stack flat. */
static _Thread_local struct conn *pending;

static void defer_process(struct conn *c)
{
    c->pending_next = pending;
    pending = c;
}

/* The request's response is sent: closes the connection, or readies it for
 * the next request. true: still open and owned by the caller. */
static bool finish_response(struct conn *c)
{
    /* A cut response must not end with close_notify: on HTTP/1.0 the end of
     * the connection ends the body, and the client must see it was cut. */
    bool complete = !(c->rq && c->rq->abort);
    if (c->rq)
        srv_request_free(c->rq);
    if (c->close_after || atomic_load(&c->srv->stopping)) {
        if (c->tls && complete)
            tls_bye(c->tls);
        srv_conn_close(c);
        return false;
    }
    memset(&c->scan, 0, sizeof(c->scan));
    set_state(c, CS_IDLE);
    return true;
}

/* Starts sending rq's response (built in rq->req) and finishes it when the
 * socket takes it all; otherwise waits for the socket. true: the response
 * is complete and the connection still open and owned by the caller. */
static bool send_response(struct conn *c)
{
    struct request *rq = c->rq;
    struct http_req *r = &rq->req;

    if (rq->head_sent && !r->streaming) {
        /* A streamed head went out (maybe in part) and then failed: nothing
         * more can be said on this connection. */
        srv_conn_close(c);
        return false;
    }
    if (r->streaming) {
        /* The handler wrote the body itself. */
        if (!r->stream_ended) {
            c->close_after = true;
            if (!rq->abort)
                rq->abort = "stream-cut";
        }
        return finish_response(c);
    }
    if (atomic_load(&c->srv->stopping))
        c->close_after = true;
    struct iovec head = build_head(rq, false);
    if (!head.iov_base) {
        srv_conn_close(c);
        return false;
    }
    c->out[0] = head;
    c->n_out = 1;
    if (r->has_body && r->resp_len > 0 && !rq->head_only) {
        c->out[1].iov_base = (void *)(uintptr_t)r->resp_body;
        c->out[1].iov_len = r->resp_len;
        c->n_out = 2;
    }
    int rc = flush_out(c);
    if (rc < 0) {
        rq->abort = "client-gone";
        srv_conn_close(c);
        return false;
    }
    if (rc == 0) {
        set_state(c, CS_WRITING);
        arm(c, true);
        return false;
    }
    return finish_response(c);
}

/* Answers an error found by the edge itself and closes the connection after
 * a lingering drain. */
static void edge_error(struct conn *c, int status, const char *detail)
{
    if (!c->rq && !request_new(c)) {
        srv_conn_close(c);
        return;
    }
    struct http_req *r = &c->rq->req;
    if (!r->route)
        r->route = "(edge)";
    r->n_headers = 0;
    http_reply_detail(r, status, detail);
    c->close_after = true;
    struct iovec head = build_head(c->rq, false);
    if (!head.iov_base) {
        srv_conn_close(c);
        return;
    }
    struct iovec iov[2] = {head, {.iov_base = (void *)(uintptr_t)r->resp_body,
                                  .iov_len = c->rq->head_only ? 0 : r->resp_len}};
    /* Error answers are small; if the socket cannot take one at once, the
     * client is not reading and gets nothing. */
    c->out[0] = iov[0];
    c->out[1] = iov[1];
    c->n_out = iov[1].iov_len ? 2 : 1;
    if (flush_out(c) != 1)
        c->rq->abort = "client-gone";
    srv_request_free(c->rq);
    if (c->tls)
        tls_bye(c->tls);
    shutdown(c->fd, SHUT_WR);
    c->drained = 0;
    c->in_len = 0;
    set_state(c, CS_DRAIN);
    arm(c, false);
}

static void reply_starting(struct http_server *srv, struct http_req *r)
{
    if ((strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) &&
        strcmp(r->path, "/health") == 0) {
        pthread_mutex_lock(&srv->lock);
        json_t *j = json_pack("{s:s, s:s}", "status", "starting", "step", srv->step);
        pthread_mutex_unlock(&srv->lock);
        r->route = "/health";
        http_reply_json(r, 503, j);
        return;
    }
    http_reply_detail(r, 503, "Service is starting");
}

/* Decides what answers r and runs it: the start-up answer, a CORS
 * preflight, or the router. */
static void run_handler(struct conn *c, http_handler fn)
{
    struct request *rq = c->rq;
    struct http_req *r = &rq->req;
    struct http_server *srv = c->srv;

    mt_log_set_request_id(rq->rid);
    if (fn)
        fn(r);
    if (r->streaming && !r->stream_ended && !rq->abort)
        mt_log(MT_LOG_WARN, "handler for %s ended a streamed response early",
               r->route ? r->route : "?");
    if (!r->streaming && (r->status < 100 || r->status > 599)) {
        mt_log(MT_LOG_ERROR, "handler for %s %s set no valid reply (status %d)", r->method,
               r->route ? r->route : "?", r->status);
        static const char text[] = "Internal Server Error";
        http_reply_raw(r, 500, "text/plain; charset=utf-8", text, sizeof(text) - 1);
    }
    if (!r->streaming && !rq->preflight)
        cors_add_simple(r, srv->app->cfg);
    return_db(rq);
    mt_log_set_request_id(NULL);
}

/* Takes a handler slot for a request that may wait on the database, or
 * queues it. true: the caller runs it now. */
static bool take_slot(struct conn *c)
{
    struct http_server *srv = c->srv;
    size_t max = srv->n_workers > 1 ? srv->n_workers - 1 : 1;
    pthread_mutex_lock(&srv->lock);
    if (srv->busy < max) {
        srv->busy++;
        pthread_mutex_unlock(&srv->lock);
        return true;
    }
    if (srv->q_len == srv->q_cap) {
        size_t cap = srv->q_cap ? srv->q_cap * 2 : 64;
        struct conn **q = mt_xcalloc(cap, sizeof(*q));
        for (size_t i = 0; i < srv->q_len; i++)
            q[i] = srv->queue[(srv->q_head + i) % srv->q_cap];
        free(srv->queue);
        srv->queue = q;
        srv->q_cap = cap;
        srv->q_head = 0;
    }
    srv->queue[(srv->q_head + srv->q_len) % srv->q_cap] = c;
    srv->q_len++;
    c->state = CS_QUEUED;
    pthread_mutex_unlock(&srv->lock);
    return false;
}

/* Gives the slot back; returns a queued request that now has it, or NULL. */
static struct conn *give_slot(struct http_server *srv)
{
    struct conn *next = NULL;
    pthread_mutex_lock(&srv->lock);
    if (srv->q_len > 0) {
        next = srv->queue[srv->q_head];
        srv->q_head = (srv->q_head + 1) % srv->q_cap;
        srv->q_len--;
    } else {
        srv->busy--;
    }
    pthread_mutex_unlock(&srv->lock);
    return next;
}

/* A complete request: route it, run it (within the handler slots when it
 * may wait on the database), answer. true: answered, and the connection is
 * still open and owned by the caller. */
static bool dispatch(struct conn *c)
{
    struct http_server *srv = c->srv;
    struct request *rq = c->rq;
    struct http_req *r = &rq->req;
    const struct mt_config *cfg = srv->app->cfg;

    set_state(c, CS_HANDLING);
    if (rq->body_init && rq->body.len > 0) {
        r->body = rq->body.data;
        r->body_len = rq->body.len;
    }
    bool light = true;
    if (cors_enabled(cfg) && cors_is_preflight(r)) {
        r->route = "(preflight)";
        rq->preflight = true;
        cors_preflight(r, cfg);
    } else if (!atomic_load(&srv->ready)) {
        reply_starting(srv, r);
    } else {
        rq->fn = router_resolve(r, api_routes, api_n_routes, api_fallback, &light);
    }
    if (light) {
        run_handler(c, rq->fn);
        return send_response(c);
    }
    if (!take_slot(c))
        return false; /* a worker finishing a handler will run it */
    run_handler(c, rq->fn);
    bool owned = send_response(c);
    struct conn *q = give_slot(srv);
    if (!q)
        return owned;
    /* The slot passes to the oldest queued request, run here. c must not
     * wait for that: with nothing buffered it is re-armed now (process()
     * only re-arms then), with a pipelined request it is processed after. */
    if (owned) {
        if (c->in_len == 0 && !(c->tls && tls_pending(c->tls) > 0))
            process(c);
        else
            defer_process(c);
    }
    for (; q; q = give_slot(srv)) {
        set_state(q, CS_HANDLING);
        run_handler(q, q->rq->fn);
        if (send_response(q))
            defer_process(q);
    }
    return false;
}

/* ---- reading ---- */

/* Moves the unconsumed input down after n bytes were used. */
static void consume(struct conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

static void copy_headers(struct request *rq, const struct http1_head *h)
{
    struct http_req *r = &rq->req;
    struct http_kv *kv = mt_arena_calloc(r->arena, h->n_fields ? h->n_fields : 1, sizeof(*kv));
    if (!kv)
        return;
    size_t n = 0;
    for (size_t i = 0; i < h->n_fields; i++) {
        char *name = mt_arena_strndup(r->arena, h->fields[i].name, h->fields[i].name_len);
        char *value = mt_arena_strndup(r->arena, h->fields[i].value, h->fields[i].value_len);
        if (!name || !value)
            break;
        kv[n].name = name;
        kv[n].value = value;
        n++;
    }
    r->req_headers = kv;
    r->n_req_headers = n;
}

/* Keeps body bytes up to the limit. false: over the limit. */
static bool take_body(struct request *rq, const char *data, size_t size)
{
    struct http_server *srv = rq->c->srv;
    rq->received += size;
    if (rq->received > srv->max_body)
        return false;
    if (!rq->body_init) {
        mt_buf_init(&rq->body, srv->max_body);
        rq->body_init = true;
        if (mt_arena_on_free(rq->req.arena, release_body, &rq->body) < 0) {
            mt_buf_release(&rq->body);
            rq->body_init = false;
            return false;
        }
    }
    mt_buf_add(&rq->body, data, size);
    return !rq->body.failed;
}

/* Parses the complete head in c->in[0..head_len) and sets up the request.
 * false: answered with an error. */
static bool start_request(struct conn *c, size_t head_len)
{
    struct http_server *srv = c->srv;
    struct http1_head h;
    struct http1_error e;
    struct request *rq = c->rq ? c->rq : request_new(c);
    if (!rq) {
        edge_error(c, 503, "the server is out of memory");
        return false;
    }
    struct http_req *r = &rq->req;
    if (http1_parse_head(c->in, head_len, &h, &e) < 0) {
        edge_error(c, e.status, e.detail);
        return false;
    }
    rq->minor = h.minor;
    char *method = mt_arena_strndup(r->arena, h.method, h.method_len);
    if (!method) {
        edge_error(c, 503, "the server is out of memory");
        return false;
    }
    r->method = method;
    rq->head_only = strcmp(method, "HEAD") == 0;
    if (http1_framing(&h, &rq->fr, &e) < 0) {
        r->path = mt_arena_strndup(r->arena, h.target, h.target_len);
        if (!r->path)
            r->path = "-";
        edge_error(c, e.status, e.detail);
        return false;
    }
    struct http1_target t;
    if (http1_target(h.target, h.target_len, rq->fr.host, rq->fr.host_len, r->arena, &t, &e) <
        0) {
        r->path = "-";
        edge_error(c, e.status, e.detail);
        return false;
    }
    if (t.asterisk && strcmp(method, "OPTIONS") != 0) {
        r->path = "*";
        edge_error(c, 400, "the request target \"*\" is only valid with OPTIONS");
        return false;
    }
    r->path = t.path;
    if (t.n_query) {
        struct http_kv *q = mt_arena_calloc(r->arena, t.n_query, sizeof(*q));
        if (!q) {
            edge_error(c, 503, "the server is out of memory");
            return false;
        }
        for (size_t i = 0; i < t.n_query; i++) {
            q[i].name = t.query[i].name;
            q[i].value = t.query[i].value;
        }
        r->query = q;
        r->n_query = t.n_query;
    }
    copy_headers(rq, &h);
    if (!rq->fr.keep_alive)
        c->close_after = true;
    consume(c, head_len);
    memset(&c->scan, 0, sizeof(c->scan));

    if (rq->fr.body == HTTP1_BODY_LENGTH && rq->fr.length > srv->max_body) {
        edge_error(c, 413, "Request body too large");
        return false;
    }
    if (rq->fr.body != HTTP1_BODY_NONE && rq->fr.expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        struct iovec iov = {.iov_base = (void *)(uintptr_t)cont, .iov_len = sizeof(cont) - 1};
        if (send_all(c, &iov, 1, 1000) < 0) {
            srv_conn_close(c);
            return false;
        }
    }
    return true;
}

/* Feeds buffered input to the body decoder. 1: body complete; 0: more
 * needed; -1: answered with an error. */
static int read_body(struct conn *c)
{
    struct request *rq = c->rq;
    if (rq->fr.body == HTTP1_BODY_LENGTH) {
        uint64_t want = rq->fr.length - rq->received;
        size_t n = c->in_len < want ? c->in_len : (size_t)want;
        if (n && !take_body(rq, c->in, n)) {
            edge_error(c, 413, "Request body too large");
            return -1;
        }
        consume(c, n);
        return rq->received == rq->fr.length ? 1 : 0;
    }
    size_t off = 0;
    while (off < c->in_len) {
        size_t used;
        const char *data;
        size_t dlen;
        struct http1_error e;
        int rc = http1_chunked_feed(&rq->chunked, c->in + off, c->in_len - off, &used, &data,
                                    &dlen, &e);
        off += used;
        if (rc == HTTP1_ERROR) {
            edge_error(c, e.status == 413 ? 413 : e.status,
                       e.status == 413 ? "Request body too large" : e.detail);
            return -1;
        }
        if (dlen && !take_body(rq, data, dlen)) {
            edge_error(c, 413, "Request body too large");
            return -1;
        }
        if (rc == HTTP1_DONE) {
            consume(c, off);
            return 1;
        }
        if (used == 0 && dlen == 0)
            break;
    }
    consume(c, off);
    return 0;
}

static bool fill(struct conn *c);

/* Waits for more input: re-arms c, unless its TLS session already holds
 * decrypted bytes, which epoll cannot see: those are read now. true: more
 * input is buffered, go on; false: c is re-armed or closed, and no longer
 * the caller's. */
static bool await_input(struct conn *c)
{
    if (c->tls && c->in_len < IN_MAX && tls_pending(c->tls) > 0)
        return fill(c);
    arm(c, false);
    return false;
}

/* Works through buffered input: heads, bodies, dispatch. Returns with c
 * re-armed, handed on, or closed. */
static void process(struct conn *c)
{
    for (;;) {
        if (c->state == CS_NEW || c->state == CS_IDLE || c->state == CS_HEAD) {
            if (c->in_len == 0) {
                if (c->eof) {
                    srv_conn_close(c);
                    return;
                }
                if (c->state == CS_IDLE && c->in) {
                    /* An idle connection keeps no buffer. */
                    free(c->in);
                    c->in = NULL;
                    c->in_cap = 0;
                }
                if (await_input(c))
                    continue;
                return;
            }
            if (c->state != CS_HEAD)
                set_state(c, CS_HEAD);
            size_t head_len = 0;
            struct http1_error e;
            int rc = http1_scan_head(&c->scan, c->in, c->in_len, &head_len, &e);
            if (rc == HTTP1_ERROR) {
                edge_error(c, e.status, e.detail);
                return;
            }
            if (rc == HTTP1_INCOMPLETE) {
                if (c->eof) {
                    srv_conn_close(c);
                    return;
                }
                if (await_input(c))
                    continue;
                return;
            }
            if (!start_request(c, head_len))
                return;
            if (c->rq->fr.body == HTTP1_BODY_NONE) {
                if (!dispatch(c))
                    return;
                continue;
            }
            set_state(c, CS_BODY);
        }
        if (c->state == CS_BODY) {
            int rc = read_body(c);
            if (rc < 0)
                return;
            if (rc > 0) {
                if (!dispatch(c))
                    return;
                continue;
            }
            if (c->eof) {
                c->rq->abort = "client-abort";
                srv_conn_close(c);
                return;
            }
            if (await_input(c))
                continue;
            return;
        }
        /* Other states are not driven by input. */
        arm(c, false);
        return;
    }
}

/* Reads what the socket has into c->in. false when the connection was
 * closed because of a read error. */
static bool fill(struct conn *c)
{
    for (;;) {
        if (c->in_len == c->in_cap) {
            if (c->in_cap >= IN_MAX)
                return true; /* full: process what we have first */
            size_t cap = c->in_cap ? c->in_cap * 2 : IN_MIN;
            if (cap > IN_MAX)
                cap = IN_MAX;
            c->in = mt_xrealloc(c->in, cap);
            c->in_cap = cap;
        }
        ssize_t n = conn_recv(c, c->in + c->in_len, c->in_cap - c->in_len);
        if (n > 0) {
            c->in_len += (size_t)n;
            /* A short plain read emptied the socket; TLS returns one record
             * at a time, so it reads on until it would block. */
            if (c->in_len < c->in_cap && !c->tls)
                return true;
            continue;
        }
        if (n == 0) {
            c->eof = true;
            return true;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return true;
        srv_conn_close(c);
        return false;
    }
}

/* Reads and drops input after an error answer, until the client closes or
 * the drain ends. */
static void drain(struct conn *c)
{
    char buf[65536];
    for (;;) {
        ssize_t n = conn_recv(c, buf, sizeof(buf));
        if (n > 0) {
            c->drained += (uint64_t)n;
            if (c->drained > DRAIN_MAX)
                break;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            arm(c, false);
            return;
        }
        break;
    }
    srv_conn_close(c);
}

/* What the reaper or the acceptor decided about c, acted on by its owner. */
static void expired(struct conn *c, int why)
{
    if (why == EXP_TIMEOUT && (c->state == CS_HEAD || c->state == CS_BODY)) {
        mt_log(MT_LOG_WARN, "request not received in time: closing connection peer=%s",
               c->peer);
        /* The socket was shut down for reading; the answer can still go out. */
        c->eof = true;
        edge_error(c, 408, "Request Timeout");
        return;
    }
    if (why == EXP_TIMEOUT && c->tls && !c->tls_open)
        mt_log(MT_LOG_WARN, "TLS handshake not completed in time: closing connection peer=%s",
               c->peer);
    if (why == EXP_SHED)
        mt_log(MT_LOG_WARN, "connection shed to make room peer=%s", c->peer);
    if (c->rq && !c->rq->abort)
        c->rq->abort = why == EXP_STOP ? "shutdown" : why == EXP_SHED ? "shed" : "deadline";
    srv_conn_close(c);
}

/* A plain-HTTP request on the TLS port (someone typed http://): answered
 * with a short unencrypted 400 that says why, then closed like any edge
 * error, so the person at the browser is not left with a reset. */
static void plain_on_tls(struct conn *c)
{
    tls_session_free(c->tls);
    c->tls = NULL;
    mt_log(MT_LOG_WARN, "plain HTTP on the TLS port: answering 400 peer=%s", c->peer);
    edge_error(c, 400, "This port speaks HTTPS: use https:// in the URL");
}

/* Drives a new connection's TLS handshake. The connection stays in CS_NEW
 * meanwhile, so HEAD_TIMEOUT from accept bounds the handshake and the first
 * head together, the reaper closes a client that never finishes it, and
 * shedding counts it among the slow heads. */
static void handshake_step(struct conn *c)
{
    if (!c->tls_sniffed) {
        /* Every TLS connection opens with a handshake record (type 22);
         * anything else is most likely plain HTTP. */
        unsigned char first;
        ssize_t n = recv(c->fd, &first, 1, MSG_PEEK);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            arm(c, false);
            return;
        }
        if (n <= 0) {
            srv_conn_close(c);
            return;
        }
        if (first != 0x16) {
            plain_on_tls(c);
            return;
        }
        c->tls_sniffed = true;
    }
    struct mt_err err = {0};
    int rc = tls_handshake(c->tls, &err);
    if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE) {
        arm(c, rc == TLS_WANT_WRITE);
        return;
    }
    if (rc < 0) {
        mt_log(MT_LOG_WARN, "TLS handshake failed: closing connection peer=%s reason=\"%s\"",
               c->peer, err.msg);
        srv_conn_close(c);
        return;
    }
    c->tls_open = true;
    /* TLS 1.3 ends with the client's Finished, which the server answers with
     * nothing (no session tickets). A client whose Nagle algorithm holds its
     * first request until Finished is acknowledged would wait for our
     * delayed ACK, 40 ms on Linux: acknowledge it now. */
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
    /* The client's first request may have come with its last handshake
     * message. */
    if (fill(c))
        process(c);
}

void srv_conn_event(struct conn *c)
{
    int why = atomic_exchange(&c->expire, EXP_NONE);
    if (why != EXP_NONE && c->state != CS_DRAIN) {
        expired(c, why);
        return;
    }
    if (c->state == CS_DRAIN) {
        if (why != EXP_NONE) {
            srv_conn_close(c);
            return;
        }
        drain(c);
        return;
    }
    if (c->tls && !c->tls_open) {
        handshake_step(c);
        return;
    }
    if (c->state == CS_WRITING) {
        int rc = flush_out(c);
        if (rc < 0) {
            c->rq->abort = "client-gone";
            srv_conn_close(c);
        } else if (rc == 0) {
            arm(c, true);
        } else if (finish_response(c)) {
            process(c);
        }
        return;
    }
    if (!fill(c))
        return;
    process(c);
}

void srv_run_pending(void)
{
    while (pending) {
        struct conn *c = pending;
        pending = c->pending_next;
        process(c);
    }
}
