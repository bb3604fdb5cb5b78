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
 * owner. This file listens, accepts, sheds, runs the threads and the reaper,
 * and starts and stops the whole; conn.c handles each connection. With TLS
 * configured every accepted connection gets a TLS session on the current
 * credentials, which a reload (SIGHUP) replaces for new connections only.
 * Linked into the binary; cli/serve.c drives it through server.h. */
#include "api/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/router.h"
#include "api/server_int.h"
#include "core/log.h"

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

void srv_ip_release(struct http_server *srv, struct ip_slot *s)
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

/* Closes a connection that is not admitted, after a last plain answer. On
 * a TLS port there is no plain answer the client could read, and a
 * handshake only to refuse would spend the very work that is short. */
static void refuse(const struct http_server *srv, int fd, const char *text)
{
    if (!srv->tls_on)
        (void)send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
}

/* The credentials for a new connection: one reference for the caller. */
static struct tls_creds *tls_current(struct http_server *srv)
{
    pthread_mutex_lock(&srv->tls_lock);
    struct tls_creds *creds = srv->tls_creds;
    tls_creds_ref(creds);
    pthread_mutex_unlock(&srv->tls_lock);
    return creds;
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
            srv_ip_release(srv, c->ip);
            pthread_mutex_unlock(&srv->lock);
            mt_log(MT_LOG_WARN, "connection refused: MAX_CONNECTIONS reached peer=%s", c->peer);
            refuse(srv, fd, busy_503);
            free(c);
            return;
        }
    }
    mt_buf_init(&c->head, HEAD_OUT_MAX);
    c->state = CS_NEW;
    c->since_ms = mt_mono_ms();
    c->deadline_ms = srv->head_ms ? c->since_ms + srv->head_ms : UINT64_MAX;
    c->prev = srv->tail;
    if (srv->tail)
        srv->tail->next = c;
    else
        srv->head = c;
    srv->tail = c;
    srv->n_conns++;
    pthread_mutex_unlock(&srv->lock);

    if (srv->tls_on) {
        struct mt_err err = {0};
        struct tls_creds *creds = tls_current(srv);
        c->tls = tls_session_server(creds, fd, &err);
        tls_creds_unref(creds);
        if (!c->tls) {
            mt_log(MT_LOG_ERROR, "%s peer=%s", err.msg, c->peer);
            srv_conn_close(c);
            return;
        }
    }

    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data.ptr = c};
    if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        mt_log(MT_LOG_ERROR, "epoll: cannot add a connection: %s", strerror(errno));
        srv_conn_close(c);
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
                srv_conn_event(p);
            srv_run_pending();
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
        struct timespec until = mt_mono_after_ms(REAPER_TICK_MS);
        pthread_cond_timedwait(&srv->reaper_wake, &srv->lock, &until);
        uint64_t now = mt_mono_ms();
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
    pthread_mutex_init(&srv->lock, NULL);
    pthread_mutex_init(&srv->tls_lock, NULL);
    mt_cond_init_monotonic(&srv->idle);
    mt_cond_init_monotonic(&srv->reaper_wake);
}

struct http_server *http_server_start(struct app *app, const char *host, int port,
                                      struct tls_creds *tls, struct mt_err *err)
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
    if (tls) {
        tls_creds_ref(tls);
        srv->tls_creds = tls;
        srv->tls_on = true;
    }
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
        srv->id_prefix = (uint32_t)mt_mono_ns() ^ (uint32_t)getpid();
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

bool http_server_set_tls(struct http_server *srv, struct tls_creds *creds)
{
    if (!srv->tls_on || !creds)
        return false;
    tls_creds_ref(creds);
    pthread_mutex_lock(&srv->tls_lock);
    struct tls_creds *old = srv->tls_creds;
    srv->tls_creds = creds;
    pthread_mutex_unlock(&srv->tls_lock);
    /* Freed here only when no connection uses it any more. */
    tls_creds_unref(old);
    return true;
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
        struct timespec until = mt_mono_after_ms((uint64_t)grace_seconds * 1000u);
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
            srv_request_free(c->rq);
        srv->head = c->next;
        srv_ip_release(srv, c->ip);
        tls_session_free(c->tls);
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
    tls_creds_unref(srv->tls_creds);
    pthread_cond_destroy(&srv->reaper_wake);
    pthread_cond_destroy(&srv->idle);
    pthread_mutex_destroy(&srv->tls_lock);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}
