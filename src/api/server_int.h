/* The HTTP server's private header, shared by server.c (listening,
 * accepting, threads, deadlines, life cycle) and conn.c (one connection:
 * reading and parsing requests, running handlers, writing responses).
 * Nothing outside src/api/server.c and src/api/conn.c includes it; the
 * server's public face is api/server.h. */
#ifndef MT_API_SERVER_INT_H
#define MT_API_SERVER_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

#include "api/http.h"
#include "api/http1.h"
#include "api/server.h"
#include "api/tls.h"
#include "core/buf.h"
#include "core/clock.h"

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
    /* TLS (NULL: plain HTTP). Until tls_open the connection is in CS_NEW
     * doing its handshake, under the deadline of its first head. */
    struct tls_session *tls;
    bool tls_sniffed; /* the first byte was seen to start a TLS record */
    bool tls_open;    /* the handshake is complete */

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

    /* TLS: the credentials new connections get; replaced on reload while
     * connections keep the ones they started with (reference counts). */
    bool tls_on;
    pthread_mutex_t tls_lock; /* guards tls_creds */
    struct tls_creds *tls_creds;
};

/* ---- between server.c and conn.c ---- */

/* Gives back a per-address slot (server.c). Caller holds srv->lock. */
void srv_ip_release(struct http_server *srv, struct ip_slot *s);

/* A worker's event on c, which it now owns (conn.c): reads, parses,
 * answers, and re-arms, hands on or closes c. */
void srv_conn_event(struct conn *c);

/* Processes the connections this worker set aside while handling its last
 * event (conn.c); called by the worker loop after each event. */
void srv_run_pending(void);

/* Closes c and frees it, with its request (conn.c). */
void srv_conn_close(struct conn *c);

/* Ends a request: access log, database connection back, arena freed
 * (conn.c). */
void srv_request_free(struct request *rq);

#endif
