/* The libmicrohttpd glue, and the only file that includes microhttpd.h: it
 * starts the daemon (epoll, internal thread pool, connection limits), turns
 * each request into a struct http_req with its own arena, enforces the body
 * limit and an overall request deadline, dispatches through the router, writes
 * one access-log line per request, and stops gracefully. cli/serve.c drives it
 * through server.h. Built as the module meditrack-http.so (one export,
 * http_server_module), so that only `serve` loads libmicrohttpd and GnuTLS.
 * Written against libmicrohttpd 0.9.75 (Debian 12). */
#include "api/server_module.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/cors.h"
#include "api/router.h"
#include "core/buf.h"
#include "core/log.h"
#include "db/db.h"

/* Per-request arena ceiling on top of the body limit: room for the body copy,
 * parsed JSON copies, rows and the response text. */
#define ARENA_BASE ((size_t)4 << 20)
/* libmicrohttpd's per-connection memory: request line and headers must fit in
 * it (about half of it), otherwise it answers 431 by itself. */
#define HEADER_MEMORY ((size_t)32 << 10)
/* Body bytes beyond the limit that are still read (and dropped) so that the
 * client gets its 413 instead of a reset; past this the connection is cut. */
#define DISCARD_SLACK ((uint64_t)8 << 20)
/* How often the deadline reaper looks at the open connections. */
#define REAPER_TICK_MS 200

enum conn_phase {
    PHASE_RECEIVING, /* the request is not complete yet: the deadline runs */
    PHASE_HANDLING,  /* handler running or response being sent */
};

/* One open connection, tracked for the request deadline. Guarded by
 * http_server.lock; allocated and freed in on_connection. */
struct conn_track {
    struct conn_track *prev, *next;
    int fd;
    enum conn_phase phase;
    uint64_t deadline_ms; /* CLOCK_MONOTONIC; UINT64_MAX: none */
    bool cut;             /* the reaper shut the socket down */
    char peer[INET6_ADDRSTRLEN];
};

/* One request; lives in its own arena from the first callback to
 * on_completed. */
struct request {
    struct http_req req;
    struct http_server *srv;
    struct conn_track *track;
    struct mt_buf body;
    bool body_init;
    bool too_large;
    bool responded;
    uint64_t received; /* body bytes seen, kept or not */
    uint64_t t0_ns;
    char rid[24];
};

struct http_server {
    struct app *app;
    struct MHD_Daemon *daemon;
    int listen_fd; /* ours until handed to libmicrohttpd; -1 once closed */
    int port;
    size_t max_body;
    size_t arena_max;
    uint64_t deadline_ms;       /* 0: no request deadline */
    uint64_t idle_allowance_ms; /* extra time for the next request on a kept-alive connection */
    uint32_t id_prefix;
    atomic_uint_fast64_t next_id;
    atomic_bool ready;
    atomic_bool stopping;

    pthread_mutex_t lock;       /* guards the fields below */
    pthread_cond_t idle;        /* in_flight dropped to 0 */
    pthread_cond_t reaper_wake; /* reaper_quit was set */
    struct conn_track *conns;
    size_t in_flight;
    char step[64];
    bool reaper_quit;
    bool reaper_running;
    pthread_t reaper;
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

/* ---- connection tracking and the request deadline ---- */

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_server *srv = cls;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn_track *t = mt_xcalloc(1, sizeof(*t));
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        t->fd = ci ? ci->connect_fd : -1;
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET,
                      &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
                      t->peer, sizeof(t->peer));
        else if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET6)
            inet_ntop(AF_INET6,
                      &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr,
                      t->peer, sizeof(t->peer));
        else
            snprintf(t->peer, sizeof(t->peer), "?");
        t->phase = PHASE_RECEIVING;
        t->deadline_ms = srv->deadline_ms ? mono_ms() + srv->deadline_ms : UINT64_MAX;
        pthread_mutex_lock(&srv->lock);
        t->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = t;
        srv->conns = t;
        pthread_mutex_unlock(&srv->lock);
        *socket_context = t;
        return;
    }

    struct conn_track *t = *socket_context;
    if (!t)
        return;
    /* libmicrohttpd closes the socket only after this notification, so the
     * reaper (which shuts sockets down under the same lock) never touches a
     * descriptor that was closed and reused. */
    pthread_mutex_lock(&srv->lock);
    if (t->prev)
        t->prev->next = t->next;
    else
        srv->conns = t->next;
    if (t->next)
        t->next->prev = t->prev;
    pthread_mutex_unlock(&srv->lock);
    free(t);
    *socket_context = NULL;
}

/* libmicrohttpd's timeout only counts inactivity, so a client trickling a
 * byte now and then would hold its connection forever. The reaper cuts
 * connections whose request is not complete by its deadline. */
static void *reaper_main(void *arg)
{
    struct http_server *srv = arg;

    pthread_mutex_lock(&srv->lock);
    while (!srv->reaper_quit) {
        struct timespec until = mono_after_ms(REAPER_TICK_MS);
        pthread_cond_timedwait(&srv->reaper_wake, &srv->lock, &until);
        uint64_t now = mono_ms();
        for (struct conn_track *t = srv->conns; t; t = t->next) {
            if (t->phase != PHASE_RECEIVING || t->cut || now < t->deadline_ms || t->fd < 0)
                continue;
            t->cut = true;
            shutdown(t->fd, SHUT_RDWR);
            mt_log(MT_LOG_WARN,
                   "request deadline exceeded: closing connection peer=%s deadline_s=%" PRIu64,
                   t->peer, srv->deadline_ms / 1000);
        }
    }
    pthread_mutex_unlock(&srv->lock);
    return NULL;
}

static void track_set_phase(struct http_server *srv, struct conn_track *t, enum conn_phase phase)
{
    if (!t)
        return;
    pthread_mutex_lock(&srv->lock);
    t->phase = phase;
    pthread_mutex_unlock(&srv->lock);
}

/* ---- requests ---- */

static void release_body(void *ctx)
{
    mt_buf_release(ctx);
}

static struct request *request_new(struct http_server *srv, struct MHD_Connection *conn,
                                   const char *url, const char *method)
{
    struct mt_arena *arena = mt_arena_new(srv->arena_max);
    struct request *rq = mt_arena_calloc(arena, 1, sizeof(*rq));
    char *path = mt_arena_strdup(arena, url);
    char *meth = mt_arena_strdup(arena, method);
    if (!rq || !path || !meth) {
        /* The ceiling is megabytes and the request line is bounded by
         * HEADER_MEMORY, so this cannot happen; refuse the request if it does. */
        mt_arena_free(arena);
        return NULL;
    }
    rq->srv = srv;
    rq->t0_ns = mono_ns();
    rq->req.arena = arena;
    rq->req.app = srv->app;
    rq->req.path = path;
    rq->req.method = meth;
    rq->req.impl = rq;
    uint64_t n = atomic_fetch_add(&srv->next_id, 1) + 1;
    snprintf(rq->rid, sizeof(rq->rid), "%08" PRIx32 "-%06" PRIx64, srv->id_prefix, n);
    rq->req.request_id = rq->rid;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    rq->track = ci ? ci->socket_context : NULL;

    pthread_mutex_lock(&srv->lock);
    srv->in_flight++;
    pthread_mutex_unlock(&srv->lock);
    return rq;
}

/* Collects one kind of key/value pairs (headers or query arguments) into an
 * arena array; the strings stay libmicrohttpd's, valid for the request. */
struct kv_fill {
    struct http_kv *items;
    size_t n, cap;
};

static enum MHD_Result kv_add(void *cls, enum MHD_ValueKind kind, const char *key,
                              const char *value)
{
    struct kv_fill *f = cls;
    if (f->n < f->cap) {
        f->items[f->n].name = key;
        f->items[f->n].value = value ? value : "";
        f->n++;
    }
    return MHD_YES;
}

static int collect(struct MHD_Connection *conn, enum MHD_ValueKind kind, struct mt_arena *arena,
                   const struct http_kv **out, size_t *n_out)
{
    int count = MHD_get_connection_values(conn, kind, NULL, NULL);
    *out = NULL;
    *n_out = 0;
    if (count <= 0)
        return 0;
    struct kv_fill f = {.items = mt_arena_calloc(arena, (size_t)count, sizeof(struct http_kv)),
                        .cap = (size_t)count};
    if (!f.items)
        return -1;
    MHD_get_connection_values(conn, kind, kv_add, &f);
    *out = f.items;
    *n_out = f.n;
    return 0;
}

/* Keeps body bytes up to the limit; beyond it only counts them. Returns false
 * when the client has sent so much that the connection should be cut. */
static bool take_body(struct request *rq, const char *data, size_t size)
{
    struct http_server *srv = rq->srv;
    rq->received += size;
    if (rq->too_large || rq->received > srv->max_body) {
        rq->too_large = true;
        return rq->received <= srv->max_body + DISCARD_SLACK;
    }
    if (!rq->body_init) {
        mt_buf_init(&rq->body, srv->max_body);
        rq->body_init = true;
        if (mt_arena_on_free(rq->req.arena, release_body, &rq->body) < 0) {
            mt_buf_release(&rq->body);
            rq->body_init = false;
            rq->too_large = true;
            return true;
        }
    }
    mt_buf_add(&rq->body, data, size);
    if (rq->body.failed)
        rq->too_large = true;
    return true;
}

static void reply_starting(struct http_server *srv, struct http_req *r)
{
    if (strcmp(r->method, "GET") == 0 && strcmp(r->path, "/health") == 0) {
        pthread_mutex_lock(&srv->lock);
        json_t *j = json_pack("{s:s, s:s}", "status", "starting", "step", srv->step);
        pthread_mutex_unlock(&srv->lock);
        r->route = "/health";
        http_reply_json(r, 503, j);
        return;
    }
    http_reply_detail(r, 503, "Service is starting");
}

static enum MHD_Result queue_reply(struct request *rq, struct MHD_Connection *conn, bool close)
{
    struct http_req *r = &rq->req;
    size_t len = r->has_body ? r->resp_len : 0;
    /* PERSISTENT: the body is static or in the arena, which outlives the
     * response (it is freed in on_completed). libmicrohttpd only reads it. */
    void *body = (void *)(uintptr_t)(len ? r->resp_body : "");
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    if (r->content_type &&
        MHD_add_response_header(resp, "Content-Type", r->content_type) != MHD_YES)
        mt_log(MT_LOG_ERROR, "reply: libmicrohttpd refused header Content-Type");
    for (size_t i = 0; i < r->n_headers; i++)
        if (MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value) != MHD_YES)
            mt_log(MT_LOG_ERROR, "reply: libmicrohttpd refused header %s", r->headers[i].name);
    if (close || atomic_load(&rq->srv->stopping))
        MHD_add_response_header(resp, "Connection", "close");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned int)r->status, resp);
    MHD_destroy_response(resp);
    rq->responded = true;
    return ret;
}

/* The request is complete (or refused early): build the answer and queue it. */
static enum MHD_Result dispatch(struct request *rq, struct MHD_Connection *conn, bool close)
{
    struct http_server *srv = rq->srv;
    const struct mt_config *cfg = srv->app->cfg;
    struct http_req *r = &rq->req;

    track_set_phase(srv, rq->track, PHASE_HANDLING);
    mt_log_set_request_id(rq->rid);
    if (rq->body_init && rq->body.len > 0 && !rq->too_large) {
        r->body = rq->body.data;
        r->body_len = rq->body.len;
    }

    bool preflight = false;
    if (collect(conn, MHD_HEADER_KIND, r->arena, &r->req_headers, &r->n_req_headers) < 0 ||
        collect(conn, MHD_GET_ARGUMENT_KIND, r->arena, &r->query, &r->n_query) < 0) {
        struct mt_err err;
        mt_fail(&err, MT_ELIMIT, "request exceeds its memory limit");
        http_reply_err(r, &err);
    } else if (rq->too_large) {
        http_reply_detail(r, 413, "Request body too large");
    } else if (cors_is_preflight(r)) {
        preflight = true;
        r->route = "(preflight)";
        cors_preflight(r, cfg);
    } else if (!atomic_load(&srv->ready)) {
        reply_starting(srv, r);
    } else {
        router_dispatch(r, api_routes, api_n_routes, api_fallback);
    }
    if (r->status < 100 || r->status > 599) {
        mt_log(MT_LOG_ERROR, "handler for %s %s set no valid reply (status %d)", r->method,
               r->route ? r->route : "?", r->status);
        static const char text[] = "Internal Server Error";
        http_reply_raw(r, 500, "text/plain; charset=utf-8", text, sizeof(text) - 1);
    }
    if (!preflight)
        cors_add_simple(r, cfg);

    enum MHD_Result ret = queue_reply(rq, conn, close);
    mt_log_set_request_id(NULL);
    return ret;
}

static bool expects_continue(struct MHD_Connection *conn)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Expect");
    return v && strcasecmp(v, "100-continue") == 0;
}

/* Content-Length as announced; false when absent or not a plain number
 * (libmicrohttpd rejects a bad one before we are called). */
static bool announced_length(struct MHD_Connection *conn, uint64_t *out)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (!v || !*v)
        return false;
    uint64_t n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || n > (UINT64_MAX - 9) / 10)
            return false;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    *out = n;
    return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    struct http_server *srv = cls;
    struct request *rq = *req_cls;

    if (!rq) {
        /* First call: headers are in. Replying now would close a kept-alive
         * connection whenever a body follows, so wait for the body, except
         * when the client waits for "100 Continue" on a body we refuse. */
        rq = request_new(srv, conn, url, method);
        if (!rq)
            return MHD_NO;
        *req_cls = rq;
        uint64_t announced;
        if (announced_length(conn, &announced) && announced > srv->max_body) {
            rq->too_large = true;
            if (expects_continue(conn))
                return dispatch(rq, conn, true);
        }
        return MHD_YES;
    }
    if (rq->responded) {
        /* Answered early (413 before "100 Continue"): drop whatever comes. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        bool keep = take_body(rq, upload_data, *upload_data_size);
        *upload_data_size = 0;
        if (!keep) {
            mt_log(MT_LOG_WARN,
                   "request body far over the limit: closing connection bytes=%" PRIu64,
                   rq->received);
            return MHD_NO;
        }
        return MHD_YES;
    }
    return dispatch(rq, conn, false);
}

static const char *termination_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return NULL;
    case MHD_REQUEST_TERMINATED_WITH_ERROR:
        return "error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "read-error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client-abort";
    }
    return "unknown";
}

static void log_access(struct request *rq, enum MHD_RequestTerminationCode toe)
{
    struct http_req *r = &rq->req;
    char path[256];
    const char *pattern = r->route && r->route[0] == '/' ? r->route : NULL;
    router_log_path(pattern, r->path, path, sizeof(path));
    char method[16];
    router_log_path(NULL, r->method, method, sizeof(method));
    double ms = (double)(mono_ns() - rq->t0_ns) / 1e6;
    const char *aborted = termination_name(toe);
    if (rq->track && rq->track->cut)
        aborted = "deadline";

    mt_log_set_request_id(rq->rid);
    mt_log(MT_LOG_INFO, "access method=%s path=%s route=%s status=%d ms=%.1f%s%s", method, path,
           r->route ? r->route : "-", rq->responded ? r->status : 0, ms, aborted ? " aborted=" : "",
           aborted ? aborted : "");
    mt_log_set_request_id(NULL);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct request *rq = *req_cls;
    if (!rq)
        return;
    *req_cls = NULL;

    log_access(rq, toe);
    if (rq->req.db) {
        struct mt_err err = {0};
        if (db_in_tx(rq->req.db) && db_rollback(rq->req.db, &err) < 0)
            mt_log(MT_LOG_ERROR, "rollback of an abandoned transaction failed: %s", err.msg);
        db_pool_put(srv->app->pool, rq->req.db);
        rq->req.db = NULL;
    }

    pthread_mutex_lock(&srv->lock);
    if (rq->track) {
        /* The next request on this kept-alive connection may first idle for
         * up to the inactivity timeout. */
        rq->track->phase = PHASE_RECEIVING;
        rq->track->deadline_ms =
            srv->deadline_ms ? mono_ms() + srv->idle_allowance_ms + srv->deadline_ms : UINT64_MAX;
    }
    if (--srv->in_flight == 0)
        pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->lock);
    mt_arena_free(rq->req.arena);
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
        msg[--len] = '\0';
    mt_log(MT_LOG_INFO, "microhttpd: %s", msg);
}

/* ---- life cycle ---- */

/* Binds our own listening socket so that bind errors are ours to report and
 * the bound port is known; libmicrohttpd gets it via MHD_OPTION_LISTEN_SOCKET. */
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

static void server_free(struct http_server *srv);

static struct http_server *server_start(struct app *app, const char *host, int port,
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
    init_sync(srv);
    srv->max_body = (size_t)cfg->max_body_bytes;
    if (!mt_size_add(ARENA_BASE, srv->max_body, &srv->arena_max))
        srv->arena_max = SIZE_MAX;
    srv->deadline_ms = cfg->request_deadline > 0 ? (uint64_t)cfg->request_deadline * 1000u : 0;
    srv->idle_allowance_ms =
        cfg->connection_timeout > 0 ? (uint64_t)cfg->connection_timeout * 1000u : 0;
    if (getrandom(&srv->id_prefix, sizeof(srv->id_prefix), GRND_NONBLOCK) != sizeof(srv->id_prefix))
        srv->id_prefix = (uint32_t)mono_ns() ^ (uint32_t)getpid();
    atomic_init(&srv->next_id, 0);
    atomic_init(&srv->ready, false);
    atomic_init(&srv->stopping, false);
    snprintf(srv->step, sizeof(srv->step), "starting");

    srv->listen_fd = open_listener(host, port, &srv->port, err);
    if (srv->listen_fd < 0) {
        server_free(srv);
        return NULL;
    }

    /* MHD_USE_ITC is what MHD_quiesce_daemon needs with a thread pool. */
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    /* A pool size of 0 or 1 makes libmicrohttpd log a warning, so the option
     * is only passed (through an option array) for a real pool. */
    struct MHD_OptionItem pool[] = {
        {MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)cfg->http_threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    if (cfg->http_threads < 2)
        pool[0].option = MHD_OPTION_END;
    unsigned int per_ip =
        (unsigned int)(cfg->max_connections_per_ip > 0 ? cfg->max_connections_per_ip : 0);
    unsigned int timeout =
        (unsigned int)(cfg->connection_timeout > 0 ? cfg->connection_timeout : 0);
    /* The logger goes first so that even option errors reach our log. */
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)srv->listen_fd, MHD_OPTION_ARRAY, pool,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_CONNECTION_TIMEOUT, timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, HEADER_MEMORY, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_END);
    if (!srv->daemon) {
        mt_fail(err, MT_EINTERNAL, "libmicrohttpd could not start on %s:%d (see the log)",
                host ? host : "*", srv->port);
        /* Whether libmicrohttpd already closed the socket it was given is not
         * documented; leaking it on this fatal path beats a double close. */
        srv->listen_fd = -1;
        server_free(srv);
        return NULL;
    }

    if (srv->deadline_ms) {
        if (pthread_create(&srv->reaper, NULL, reaper_main, srv) != 0) {
            mt_fail(err, MT_EINTERNAL, "cannot start the request-deadline thread");
            server_free(srv);
            return NULL;
        }
        srv->reaper_running = true;
    }
    return srv;
}

static int server_port(const struct http_server *srv)
{
    return srv->port;
}

static void server_set_ready(struct http_server *srv, bool ready, const char *step)
{
    pthread_mutex_lock(&srv->lock);
    snprintf(srv->step, sizeof(srv->step), "%s", step ? step : "");
    pthread_mutex_unlock(&srv->lock);
    atomic_store(&srv->ready, ready);
}

static void stop_reaper(struct http_server *srv)
{
    if (!srv->reaper_running)
        return;
    pthread_mutex_lock(&srv->lock);
    srv->reaper_quit = true;
    pthread_cond_broadcast(&srv->reaper_wake);
    pthread_mutex_unlock(&srv->lock);
    pthread_join(srv->reaper, NULL);
    srv->reaper_running = false;
}

static void server_stop(struct http_server *srv, int grace_seconds)
{
    if (!srv || !srv->daemon)
        return;
    atomic_store(&srv->stopping, true);

    /* Stop accepting. The listening socket comes back to us and must be
     * closed, or new clients would queue on it and hang. */
    MHD_socket ls = MHD_quiesce_daemon(srv->daemon);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    else
        mt_log(MT_LOG_WARN, "could not stop accepting before the shutdown");
    srv->listen_fd = -1;

    pthread_mutex_lock(&srv->lock);
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
    pthread_mutex_unlock(&srv->lock);
    if (left > 0)
        mt_log(MT_LOG_WARN, "closing %zu request(s) still in flight after the grace period", left);

    stop_reaper(srv);
    MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
}

static void server_free(struct http_server *srv)
{
    if (!srv)
        return;
    if (srv->daemon)
        server_stop(srv, 0);
    stop_reaper(srv);
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    pthread_cond_destroy(&srv->reaper_wake);
    pthread_cond_destroy(&srv->idle);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}

const struct http_server_ops http_server_module = {
    .abi = HTTP_SERVER_ABI,
    .start = server_start,
    .port = server_port,
    .set_ready = server_set_ready,
    .stop = server_stop,
    .free = server_free,
};
