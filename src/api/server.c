/* The HTTP/1.1 server: sockets, threads and time. It accepts connections,
 * reads request heads and bodies through the strict parser of http1.c,
 * dispatches complete requests through the router, writes the responses, and
 * enforces the edge's limits: a deadline for each request head and body,
 * per-address and total connection caps with shedding of idle and slow
 * connections, prompt 4xx/5xx answers followed by a lingering close. It
 * replaces libmicrohttpd, whose request parsing (Debian 12's 0.9.75) could
 * not be made strict from the outside; docs/http.md describes the model.
 *
 * Threads: HTTP_THREADS workers share one epoll set in which every
 * connection is armed one-shot, so exactly one worker owns a connection from
 * the event that woke it until it re-arms or closes it. Workers read, parse
 * and run handlers themselves; at most HTTP_THREADS - 1 of them run handlers
 * that may wait on the database, so one worker is always free for I/O and for
 * handlers that never touch it (liveness, static files, edge errors). A
 * reaper thread watches deadlines; it never frees or re-arms a connection,
 * it only marks it and shuts its socket down for reading, which wakes the
 * owner. Linked into the binary; cli/serve.c drives it through server.h. */
#include "api/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "api/cors.h"
#include "api/http1.h"
#include "api/router.h"
#include "core/buf.h"
#include "core/log.h"
#include "db/db.h"

/* Per-request arena ceiling on top of the body limit: room for the body
 * copy, parsed JSON copies, rows and the response text. */
#define ARENA_BASE ((size_t)4 << 20)
/* A connection's input buffer: a whole head, plus room to read body bytes in
 * large steps. It starts small and is dropped while the connection idles. */
#define IN_MIN ((size_t)4096)
#define IN_MAX ((size_t)HTTP1_MAX_HEAD + 65536)
/* After an error answer the server reads and drops what the client still
 * sends, so the client sees the answer rather than a reset (a lingering
 * close), for at most this long and this many bytes. */
#define DRAIN_MS 5000u
#define DRAIN_MAX ((uint64_t)1 << 30)
/* How often the reaper looks at the deadlines. */
#define REAPER_TICK_MS 100
/* Connections admitted above MAX_CONNECTIONS while shed ones are closing. */
#define SHED_HEADROOM 64
#define IP_BUCKETS 256
/* Ceiling of a response head (our own headers: far below it). */
#define HEAD_OUT_MAX ((size_t)64 << 10)

enum conn_state {
    CS_NEW,      /* accepted, no request yet */
    CS_IDLE,     /* kept alive after a response, waiting for the next request */
    CS_HEAD,     /* receiving a request head */
    CS_BODY,     /* receiving a request body */
    CS_QUEUED,   /* complete, waiting for a handler slot */
    CS_HANDLING, /* a handler is running */
    CS_WRITING,  /* the response is being sent */
    CS_DRAIN,    /* answered with an error; reading and dropping until close */
};

enum expiry {
    EXP_NONE,
    EXP_TIMEOUT, /* the deadline of its state passed */
    EXP_SHED,    /* closed to make room for a new connection */
    EXP_STOP,    /* the server is stopping */
};

struct ip_slot {
    struct ip_slot *next;
    unsigned char addr[16];
    size_t count;
};

struct request;

/* One connection. The list links, state, deadlines and ip are guarded by
 * http_server.lock (the reaper reads them); the buffers belong to whichever
 * worker owns the connection. */
struct conn {
    struct conn *prev, *next;
    struct http_server *srv;
    int fd;
    enum conn_state state;
    uint64_t since_ms;    /* when the current state began (shedding order) */
    uint64_t deadline_ms; /* when the current state times out; UINT64_MAX: never */
    atomic_int expire;    /* enum expiry, set by the reaper or the acceptor */
    struct ip_slot *ip;
    char peer[INET6_ADDRSTRLEN];

    char *in;
    size_t in_len, in_cap;
    struct http1_scan scan;
    bool eof;

    struct request *rq;
    struct mt_buf head;  /* the response head being sent; reused */
    struct conn *pending_next; /* in its worker's list of connections to process */
    struct iovec out[2];
    int n_out;
    bool close_after;
    uint64_t drained;
};

/* One request; lives in its own arena from its complete head to the end of
 * its response. */
struct request {
    struct http_req req;
    struct conn *c;
    struct http1_framing fr;
    struct http1_chunked chunked;
    struct mt_buf body;
    bool body_init;
    bool head_only;   /* HEAD: the response carries no body */
    bool keep_alive;
    bool light;       /* its handler never waits on the database */
    bool head_sent;   /* a streamed response has started */
    http_handler fn;  /* what answers it, once routed */
    bool preflight;   /* answered by cors_preflight */
    int minor;
    uint64_t received;
    uint64_t t0_ns;
    const char *abort; /* why the response was cut, for the access log */
    char rid[24];
};

struct http_server {
    struct app *app;
    int listen_fd;
    int epfd;
    int wake_fd; /* eventfd: wakes every worker to quit */
    int port;
    size_t max_body;
    size_t arena_max;
    uint64_t head_ms, deadline_ms, idle_ms;
    size_t max_conns, max_per_ip;
    size_t n_workers;
    pthread_t *workers;
    size_t n_started;
    uint32_t id_prefix;
    atomic_uint_fast64_t next_id;
    atomic_bool ready;
    atomic_bool stopping;
    atomic_bool quit;

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t idle;  /* in_flight dropped to 0 */
    pthread_cond_t reaper_wake;
    struct conn *head, *tail; /* oldest first */
    size_t n_conns;
    size_t in_flight;     /* requests between their first byte and their end */
    size_t busy;          /* workers running handlers that may wait on the database */
    struct conn **queue;  /* requests waiting for a handler slot, FIFO ring */
    size_t q_head, q_len, q_cap;
    struct ip_slot *ips[IP_BUCKETS];
    char step[64];
    bool reaper_quit;
    bool reaper_running;
    pthread_t reaper;
    bool listening;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ms(void)
{
    return mono_ns() / 1000000u;
}

static struct timespec mono_after_ms(uint64_t ms)
{
    uint64_t ns = mono_ns() + ms * 1000000u;
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    return ts;
}

/* ---- per-address counting (under srv->lock) ---- */

static void addr_key(const struct sockaddr_storage *ss, unsigned char key[16])
{
    memset(key, 0, 16);
    if (ss->ss_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr, 16);
    } else if (ss->ss_family == AF_INET) {
        /* As an IPv4-mapped address, so both families share one table. */
        key[10] = 0xff;
        key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, 4);
    }
}

static size_t ip_bucket(const unsigned char key[16])
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    return h % IP_BUCKETS;
}

/* The slot of key, created when absent. NULL when the address already has
 * max connections. */
static struct ip_slot *ip_take(struct http_server *srv, const unsigned char key[16])
{
    size_t b = ip_bucket(key);
    struct ip_slot *s = srv->ips[b];
    while (s && memcmp(s->addr, key, 16) != 0)
        s = s->next;
    if (!s) {
        s = mt_xcalloc(1, sizeof(*s));
        memcpy(s->addr, key, 16);
        s->next = srv->ips[b];
        srv->ips[b] = s;
    }
    if (s->count >= srv->max_per_ip)
        return NULL;
    s->count++;
    return s;
}

static void ip_release(struct http_server *srv, struct ip_slot *s)
{
    if (!s || --s->count > 0)
        return;
    struct ip_slot **pp = &srv->ips[ip_bucket(s->addr)];
    while (*pp && *pp != s)
        pp = &(*pp)->next;
    if (*pp)
        *pp = s->next;
    free(s);
}

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
    uint64_t now = mono_ms();
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

static void request_free(struct request *rq);
static int stream_send(struct http_req *r, const void *data, size_t len, bool first, bool last,
                       struct mt_err *err);

static void conn_close(struct conn *c)
{
    struct http_server *srv = c->srv;
    if (c->rq)
        request_free(c->rq);
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
    ip_release(srv, c->ip);
    /* Closed under the lock: the reaper shuts sockets down under it, so it
     * never touches a descriptor that was closed and reused. */
    close(c->fd);
    pthread_mutex_unlock(&srv->lock);
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
    rq->t0_ns = mono_ns();
    rq->minor = 1;
    rq->req.arena = arena;
    rq->req.app = srv->app;
    rq->req.method = "-";
    rq->req.path = "-";
    rq->req.impl = rq;
    uint64_t n = atomic_fetch_add(&srv->next_id, 1) + 1;
    snprintf(rq->rid, sizeof(rq->rid), "%08" PRIx32 "-%06" PRIx64, srv->id_prefix, n);
    rq->req.request_id = rq->rid;
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
    double ms = (double)(mono_ns() - rq->t0_ns) / 1e6;

    mt_log_set_request_id(rq->rid);
    mt_log(MT_LOG_INFO, "access method=%s path=%s route=%s status=%d ms=%.1f%s%s", method, path,
           r->route ? r->route : "-", r->status, ms, rq->abort ? " aborted=" : "",
           rq->abort ? rq->abort : "");
    mt_log_set_request_id(NULL);
}

/* Ends a request: access log, database connection back to the pool, arena
 * freed. */
static void request_free(struct request *rq)
{
    if (rq->req.status || rq->abort)
        log_access(rq);
    return_db(rq);
    rq->c->rq = NULL;
    mt_arena_free(rq->req.arena);
}

/* ---- writing ---- */

/* Sends what is left of c->out without blocking. 1: all sent; 0: the socket
 * is full; -1: the client is gone. */
static int flush_out(struct conn *c)
{
    while (c->n_out > 0) {
        struct msghdr msg = {.msg_iov = c->out, .msg_iovlen = (size_t)c->n_out};
        ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        size_t left = (size_t)n;
        while (c->n_out > 0 && left >= c->out[0].iov_len) {
            left -= c->out[0].iov_len;
            c->out[0] = c->out[1];
            c->n_out--;
        }
        if (c->n_out > 0) {
            c->out[0].iov_base = (char *)c->out[0].iov_base + left;
            c->out[0].iov_len -= left;
        }
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
 * answer must still go out). chunked: a streamed body. An empty iovec when
 * the headers exceed the buffer's ceiling. */
static struct iovec build_head(struct request *rq, bool chunked)
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
    if (chunked)
        mt_buf_adds(b, "Transfer-Encoding: chunked\r\n");
    else if (r->has_body && !no_body_status)
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
        struct iovec head = build_head(rq, rq->minor >= 1);
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
    if (c->rq)
        request_free(c->rq);
    if (c->close_after || atomic_load(&c->srv->stopping)) {
        conn_close(c);
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
        conn_close(c);
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
        conn_close(c);
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
        conn_close(c);
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
        conn_close(c);
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
        conn_close(c);
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
    request_free(c->rq);
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
        if (c->in_len == 0)
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
    rq->keep_alive = rq->fr.keep_alive;
    if (!rq->keep_alive)
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
            conn_close(c);
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

/* Works through buffered input: heads, bodies, dispatch. Returns with c
 * re-armed, handed on, or closed. */
static void process(struct conn *c)
{
    for (;;) {
        if (c->state == CS_NEW || c->state == CS_IDLE || c->state == CS_HEAD) {
            if (c->in_len == 0) {
                if (c->eof) {
                    conn_close(c);
                    return;
                }
                if (c->state == CS_IDLE && c->in) {
                    /* An idle connection keeps no buffer. */
                    free(c->in);
                    c->in = NULL;
                    c->in_cap = 0;
                }
                arm(c, false);
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
                    conn_close(c);
                    return;
                }
                arm(c, false);
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
                conn_close(c);
                return;
            }
            arm(c, false);
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
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
            if (c->in_len < c->in_cap)
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
        conn_close(c);
        return false;
    }
}

/* Reads and drops input after an error answer, until the client closes or
 * the drain ends. */
static void drain(struct conn *c)
{
    char buf[65536];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
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
    conn_close(c);
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
    if (why == EXP_SHED)
        mt_log(MT_LOG_WARN, "connection shed to make room peer=%s", c->peer);
    if (c->rq && !c->rq->abort)
        c->rq->abort = why == EXP_STOP ? "shutdown" : why == EXP_SHED ? "shed" : "deadline";
    conn_close(c);
}

static void on_event(struct conn *c)
{
    int why = atomic_exchange(&c->expire, EXP_NONE);
    if (why != EXP_NONE && c->state != CS_DRAIN) {
        expired(c, why);
        return;
    }
    if (c->state == CS_DRAIN) {
        if (why != EXP_NONE) {
            conn_close(c);
            return;
        }
        drain(c);
        return;
    }
    if (c->state == CS_WRITING) {
        int rc = flush_out(c);
        if (rc < 0) {
            c->rq->abort = "client-gone";
            conn_close(c);
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

/* ---- accepting ---- */

/* Picks a connection to shed so that a new one fits: kept-alive idle and
 * draining connections first, then the oldest unfinished head. Caller holds
 * srv->lock. */
static struct conn *shed_victim(struct http_server *srv)
{
    struct conn *slow = NULL;
    for (struct conn *c = srv->head; c; c = c->next) {
        if (atomic_load(&c->expire) != EXP_NONE)
            continue;
        if (c->state == CS_IDLE || c->state == CS_DRAIN)
            return c;
        if ((c->state == CS_NEW || c->state == CS_HEAD) && (!slow || c->since_ms < slow->since_ms))
            slow = c;
    }
    return slow;
}

static void refuse(int fd, const char *text)
{
    (void)send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
}

static const char busy_503[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                               "Content-Length: 34\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
                               "{\"detail\":\"Too many connections\"}";

static void admit(struct http_server *srv, int fd, const struct sockaddr_storage *ss)
{
    unsigned char key[16];
    addr_key(ss, key);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    struct conn *c = mt_xcalloc(1, sizeof(*c));
    c->srv = srv;
    c->fd = fd;
    atomic_init(&c->expire, EXP_NONE);
    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, c->peer,
                  sizeof(c->peer));
    else if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr, c->peer,
                  sizeof(c->peer));
    else
        snprintf(c->peer, sizeof(c->peer), "local");

    pthread_mutex_lock(&srv->lock);
    c->ip = ip_take(srv, key);
    if (!c->ip) {
        pthread_mutex_unlock(&srv->lock);
        mt_log(MT_LOG_WARN, "connection refused: too many from one address peer=%s", c->peer);
        close(fd);
        free(c);
        return;
    }
    if (srv->n_conns >= srv->max_conns) {
        struct conn *victim = shed_victim(srv);
        if (victim) {
            atomic_store(&victim->expire, EXP_SHED);
            shutdown(victim->fd, SHUT_RD);
        }
        if (!victim || srv->n_conns >= srv->max_conns + SHED_HEADROOM) {
            ip_release(srv, c->ip);
            pthread_mutex_unlock(&srv->lock);
            mt_log(MT_LOG_WARN, "connection refused: MAX_CONNECTIONS reached peer=%s", c->peer);
            refuse(fd, busy_503);
            free(c);
            return;
        }
    }
    mt_buf_init(&c->head, HEAD_OUT_MAX);
    c->state = CS_NEW;
    c->since_ms = mono_ms();
    c->deadline_ms = srv->head_ms ? c->since_ms + srv->head_ms : UINT64_MAX;
    c->prev = srv->tail;
    if (srv->tail)
        srv->tail->next = c;
    else
        srv->head = c;
    srv->tail = c;
    srv->n_conns++;
    pthread_mutex_unlock(&srv->lock);

    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data.ptr = c};
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        mt_log(MT_LOG_ERROR, "epoll: cannot add a connection: %s", strerror(errno));
        conn_close(c);
    }
}

static void accept_some(struct http_server *srv)
{
    for (int i = 0; i < 64 && !atomic_load(&srv->stopping); i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(srv->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                mt_log(MT_LOG_WARN, "accept failed: %s", strerror(errno));
            break;
        }
        admit(srv, fd, &ss);
    }
    pthread_mutex_lock(&srv->lock);
    if (srv->listening) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = NULL};
        epoll_ctl(srv->epfd, EPOLL_CTL_MOD, srv->listen_fd, &ev);
    }
    pthread_mutex_unlock(&srv->lock);
}

/* ---- threads ---- */

/* epoll data: NULL is the listener, &srv->wake_fd the quit signal, anything
 * else a connection. */
static void *worker_main(void *arg)
{
    struct http_server *srv = arg;
    /* One event at a time: an event taken here waits for whatever handler
     * this worker runs first, so taking several would let a request that
     * blocks on the database delay connections other workers could serve. */
    struct epoll_event evs[1];
    while (!atomic_load(&srv->quit)) {
        int n = epoll_wait(srv->epfd, evs, 1, 1000);
        if (n < 0 && errno != EINTR) {
            mt_log(MT_LOG_ERROR, "epoll_wait failed: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &srv->wake_fd)
                continue;
            if (!p)
                accept_some(srv);
            else
                on_event(p);
            while (pending) {
                struct conn *c = pending;
                pending = c->pending_next;
                process(c);
            }
        }
    }
    return NULL;
}

/* Marks connections whose state's deadline passed and wakes their owners by
 * shutting their sockets down for reading. */
static void *reaper_main(void *arg)
{
    struct http_server *srv = arg;
    pthread_mutex_lock(&srv->lock);
    while (!srv->reaper_quit) {
        struct timespec until = mono_after_ms(REAPER_TICK_MS);
        pthread_cond_timedwait(&srv->reaper_wake, &srv->lock, &until);
        uint64_t now = mono_ms();
        for (struct conn *c = srv->head; c; c = c->next) {
            if (now < c->deadline_ms || atomic_load(&c->expire) != EXP_NONE)
                continue;
            if (c->state == CS_QUEUED || c->state == CS_HANDLING)
                continue;
            atomic_store(&c->expire, EXP_TIMEOUT);
            shutdown(c->fd, c->state == CS_WRITING ? SHUT_RDWR : SHUT_RD);
            c->deadline_ms = UINT64_MAX;
        }
    }
    pthread_mutex_unlock(&srv->lock);
    return NULL;
}

/* ---- life cycle ---- */

/* Binds the listening socket so that bind errors are ours to report and the
 * bound port is known. */
static int open_listener(const char *host, int port, int *bound_port, struct mt_err *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    const char *node = host && *host ? host : NULL;
    int rc = getaddrinfo(node, service, &hints, &res);
    if (rc != 0)
        return mt_fail(err, MT_EINVAL, "cannot resolve HOST \"%s\": %s", host ? host : "",
                       gai_strerror(rc));

    int fd = -1;
    int last_errno = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0)
            break;
        last_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return mt_fail(err, MT_EUNAVAIL, "cannot listen on %s:%d: %s", host ? host : "*", port,
                       strerror(last_errno));

    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        int e = errno;
        close(fd);
        return mt_fail(err, MT_EUNAVAIL, "cannot read the bound address: %s", strerror(e));
    }
    if (ss.ss_family == AF_INET6)
        *bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    else
        *bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

static void init_sync(struct http_server *srv)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->idle, &ca);
    pthread_cond_init(&srv->reaper_wake, &ca);
    pthread_condattr_destroy(&ca);
}

struct http_server *http_server_start(struct app *app, const char *host, int port,
                                      struct mt_err *err)
{
    const struct mt_config *cfg = app->cfg;
    if (router_check(api_routes, api_n_routes, err) < 0)
        return NULL;
    if (cfg->max_body_bytes < 0 || cfg->http_threads < 1 || cfg->max_connections < 1) {
        mt_fail(err, MT_EINVAL,
                "MAX_BODY_BYTES, HTTP_THREADS and MAX_CONNECTIONS must be positive");
        return NULL;
    }

    struct http_server *srv = mt_xcalloc(1, sizeof(*srv));
    srv->app = app;
    srv->listen_fd = -1;
    srv->epfd = -1;
    srv->wake_fd = -1;
    init_sync(srv);
    srv->max_body = (size_t)cfg->max_body_bytes;
    if (!mt_size_add(ARENA_BASE, srv->max_body, &srv->arena_max))
        srv->arena_max = SIZE_MAX;
    srv->deadline_ms = (uint64_t)(cfg->request_deadline > 0 ? cfg->request_deadline : 60) * 1000u;
    /* A head is part of the request: REQUEST_DEADLINE bounds it too. */
    srv->head_ms = (uint64_t)(cfg->head_timeout > 0 ? cfg->head_timeout : 10) * 1000u;
    if (srv->head_ms > srv->deadline_ms)
        srv->head_ms = srv->deadline_ms;
    srv->idle_ms = (uint64_t)(cfg->connection_timeout > 0 ? cfg->connection_timeout : 30) * 1000u;
    srv->max_conns = (size_t)cfg->max_connections;
    srv->max_per_ip = cfg->max_connections_per_ip > 0 ? (size_t)cfg->max_connections_per_ip
                                                       : SIZE_MAX;
    /* One worker more than requested when there is only one, so that a
     * handler waiting on the database never leaves nobody to answer. */
    srv->n_workers = (size_t)(cfg->http_threads > 1 ? cfg->http_threads : 2);
    if (getrandom(&srv->id_prefix, sizeof(srv->id_prefix), GRND_NONBLOCK) != sizeof(srv->id_prefix))
        srv->id_prefix = (uint32_t)mono_ns() ^ (uint32_t)getpid();
    atomic_init(&srv->next_id, 0);
    atomic_init(&srv->ready, false);
    atomic_init(&srv->stopping, false);
    atomic_init(&srv->quit, false);
    snprintf(srv->step, sizeof(srv->step), "starting");

    srv->listen_fd = open_listener(host, port, &srv->port, err);
    if (srv->listen_fd < 0) {
        http_server_free(srv);
        return NULL;
    }
    srv->epfd = epoll_create1(EPOLL_CLOEXEC);
    srv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event lev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = NULL};
    struct epoll_event wev = {.events = EPOLLIN, .data.ptr = &srv->wake_fd};
    if (srv->epfd < 0 || srv->wake_fd < 0 ||
        epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->listen_fd, &lev) < 0 ||
        epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->wake_fd, &wev) < 0) {
        mt_fail(err, MT_EINTERNAL, "cannot set up the event loop: %s", strerror(errno));
        http_server_free(srv);
        return NULL;
    }
    srv->listening = true;

    srv->workers = mt_xcalloc(srv->n_workers, sizeof(*srv->workers));
    for (size_t i = 0; i < srv->n_workers; i++) {
        if (pthread_create(&srv->workers[i], NULL, worker_main, srv) != 0) {
            mt_fail(err, MT_EINTERNAL, "cannot start the HTTP worker threads");
            http_server_free(srv);
            return NULL;
        }
        srv->n_started++;
    }
    if (pthread_create(&srv->reaper, NULL, reaper_main, srv) != 0) {
        mt_fail(err, MT_EINTERNAL, "cannot start the request-deadline thread");
        http_server_free(srv);
        return NULL;
    }
    srv->reaper_running = true;
    return srv;
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}

void http_server_set_ready(struct http_server *srv, bool ready, const char *step)
{
    pthread_mutex_lock(&srv->lock);
    snprintf(srv->step, sizeof(srv->step), "%s", step ? step : "");
    pthread_mutex_unlock(&srv->lock);
    atomic_store(&srv->ready, ready);
}

/* Marks connections for closing: idle ones only, or all. Caller holds the
 * lock. */
static void expire_conns(struct http_server *srv, bool all)
{
    for (struct conn *c = srv->head; c; c = c->next) {
        bool idle = c->state == CS_NEW || c->state == CS_IDLE || c->state == CS_DRAIN;
        if (!all && !idle)
            continue;
        if (c->state == CS_QUEUED || c->state == CS_HANDLING)
            continue;
        atomic_store(&c->expire, EXP_STOP);
        shutdown(c->fd, SHUT_RDWR);
    }
}

static void stop_threads(struct http_server *srv)
{
    if (srv->reaper_running) {
        pthread_mutex_lock(&srv->lock);
        srv->reaper_quit = true;
        pthread_cond_broadcast(&srv->reaper_wake);
        pthread_mutex_unlock(&srv->lock);
        pthread_join(srv->reaper, NULL);
        srv->reaper_running = false;
    }
    if (srv->n_started) {
        atomic_store(&srv->quit, true);
        uint64_t one = 1;
        if (srv->wake_fd >= 0 && write(srv->wake_fd, &one, sizeof(one)) < 0)
            mt_log(MT_LOG_WARN, "cannot wake the HTTP workers: %s", strerror(errno));
        for (size_t i = 0; i < srv->n_started; i++)
            pthread_join(srv->workers[i], NULL);
        srv->n_started = 0;
    }
}

void http_server_stop(struct http_server *srv, int grace_seconds)
{
    if (!srv || atomic_exchange(&srv->stopping, true))
        return;

    /* Stop accepting: the listening socket is closed, so new clients are
     * refused instead of queueing. */
    pthread_mutex_lock(&srv->lock);
    if (srv->listening) {
        epoll_ctl(srv->epfd, EPOLL_CTL_DEL, srv->listen_fd, NULL);
        srv->listening = false;
    }
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    srv->listen_fd = -1;
    expire_conns(srv, false);

    size_t waiting = srv->in_flight;
    if (waiting > 0 && grace_seconds > 0) {
        mt_log(MT_LOG_INFO, "waiting up to %d s for %zu request(s) in flight", grace_seconds,
               waiting);
        struct timespec until = mono_after_ms((uint64_t)grace_seconds * 1000u);
        while (srv->in_flight > 0)
            if (pthread_cond_timedwait(&srv->idle, &srv->lock, &until) == ETIMEDOUT)
                break;
    }
    size_t left = srv->in_flight;
    expire_conns(srv, true);
    pthread_mutex_unlock(&srv->lock);
    if (left > 0)
        mt_log(MT_LOG_WARN, "closing %zu request(s) still in flight after the grace period", left);

    /* Let the workers act on the closed connections, then stop them. */
    for (int i = 0; i < 50; i++) {
        pthread_mutex_lock(&srv->lock);
        size_t n = srv->n_conns;
        pthread_mutex_unlock(&srv->lock);
        if (n == 0)
            break;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    stop_threads(srv);
}

void http_server_free(struct http_server *srv)
{
    if (!srv)
        return;
    http_server_stop(srv, 0);
    stop_threads(srv);
    /* Connections no worker closed (a handler still ran at the end). */
    while (srv->head) {
        struct conn *c = srv->head;
        if (c->rq)
            request_free(c->rq);
        srv->head = c->next;
        ip_release(srv, c->ip);
        close(c->fd);
        mt_buf_release(&c->head);
        free(c->in);
        free(c);
    }
    for (size_t i = 0; i < IP_BUCKETS; i++)
        while (srv->ips[i]) {
            struct ip_slot *s = srv->ips[i];
            srv->ips[i] = s->next;
            free(s);
        }
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    if (srv->epfd >= 0)
        close(srv->epfd);
    if (srv->wake_fd >= 0)
        close(srv->wake_fd);
    free(srv->queue);
    free(srv->workers);
    pthread_cond_destroy(&srv->reaper_wake);
    pthread_cond_destroy(&srv->idle);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}
