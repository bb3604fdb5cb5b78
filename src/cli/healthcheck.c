/* `meditrack healthcheck`: asks the running server for GET /health over a plain
 * TCP socket (over TLS when TLS_CERT_FILE is set, as the server then speaks
 * only HTTPS) and exits 0 on 200, 1 otherwise. It is the container image's
 * HEALTHCHECK, so the image needs no curl; while the start-up sequence runs the
 * server answers 503 with the current step, which this command prints. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "api/tls.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "core/err.h"

/* Docker reads 0 as healthy and 1 as unhealthy; 2 is reserved there. */
#define HEALTHY 0
#define UNHEALTHY 1
/* The whole probe (resolve, connect, request, status line) must fit in this. */
#define PROBE_TIMEOUT_MS 3000
/* Enough for the status line, the headers and a short JSON body. */
#define REPLY_MAX 2048

static long long now_ms(void)
{
    return (long long)mt_mono_ms();
}

static int remaining_ms(long long deadline)
{
    long long left = deadline - now_ms();
    return left > 0 ? (int)left : 0;
}

/* The address to probe: the server's HOST, except that a wildcard listen
 * address is reached through loopback of the same family. */
static const char *probe_host(const char *host)
{
    if (!host || !*host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0)
        return "127.0.0.1";
    if (strcmp(host, "::") == 0 || strcmp(host, "[::]") == 0)
        return "::1";
    return host;
}

/* Waits until fd is ready for events or the deadline passes; 0 when ready. */
static int wait_fd(int fd, short events, long long deadline, struct mt_err *err)
{
    struct pollfd p = {.fd = fd, .events = events};
    for (;;) {
        int n = poll(&p, 1, remaining_ms(deadline));
        if (n > 0)
            return 0;
        if (n == 0)
            return mt_fail(err, MT_EUNAVAIL, "timed out after %d ms", PROBE_TIMEOUT_MS);
        if (errno != EINTR)
            return mt_fail(err, MT_EUNAVAIL, "poll: %s", strerror(errno));
    }
}

/* Connects to one resolved address without blocking past the deadline;
 * returns the connected socket or -1. */
static int connect_addr(const struct addrinfo *ai, long long deadline, struct mt_err *err)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return mt_fail(err, MT_EUNAVAIL, "socket: %s", strerror(errno));
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
            mt_fail(err, MT_EUNAVAIL, "connect: %s", strerror(errno));
            close(fd);
            return -1;
        }
        int soerr = 0;
        socklen_t len = sizeof(soerr);
        if (wait_fd(fd, POLLOUT, deadline, err) < 0 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr != 0) {
            if (soerr != 0)
                mt_fail(err, MT_EUNAVAIL, "connect: %s", strerror(soerr));
            close(fd);
            return -1;
        }
    }
    return fd;
}

static int open_probe_socket(const char *host, int port, long long deadline, struct mt_err *err)
{
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0)
        return mt_fail(err, MT_EUNAVAIL, "cannot resolve \"%s\": %s", host, gai_strerror(rc));
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
        fd = connect_addr(ai, deadline, err);
    freeaddrinfo(res);
    return fd;
}

/* The probe's connection: a socket, and a TLS session on it when the
 * server speaks HTTPS. */
struct probe {
    int fd;
    struct tls_session *tls;
    short wait; /* after EAGAIN: the poll events to wait for */
};

/* The outcome r of a TLS send or recv: r itself, or -1 with errno and, when
 * TLS must first move the other way, p->wait. */
static ssize_t tls_outcome(struct probe *p, ssize_t r)
{
    if (r >= 0)
        return r;
    if (r == TLS_WANT_READ)
        p->wait = POLLIN;
    else if (r == TLS_WANT_WRITE)
        p->wait = POLLOUT;
    errno = r == TLS_FAIL ? EPROTO : EAGAIN;
    return -1;
}

/* send or recv on the probe, through TLS when it has a session: a count (0
 * from recv: the server closed), or -1 with errno (EAGAIN: wait for
 * p->wait; EPROTO: a TLS error). */
static ssize_t probe_send(struct probe *p, const char *buf, size_t n)
{
    p->wait = POLLOUT;
    if (!p->tls)
        return send(p->fd, buf, n, MSG_NOSIGNAL);
    return tls_outcome(p, tls_send(p->tls, buf, n));
}

static ssize_t probe_recv(struct probe *p, char *buf, size_t n)
{
    p->wait = POLLIN;
    if (!p->tls)
        return recv(p->fd, buf, n, 0);
    return tls_outcome(p, tls_recv(p->tls, buf, n));
}

/* The client's side of the TLS handshake. The server's certificate is not
 * verified: this probes the server of this very configuration over
 * loopback, where a household's certificate would not match the name. */
static int probe_tls(struct probe *p, long long deadline, struct mt_err *err)
{
    p->tls = tls_session_client(p->fd, err);
    if (!p->tls)
        return -1;
    for (;;) {
        struct mt_err why = {0};
        int rc = tls_handshake(p->tls, &why);
        if (rc == 1)
            return 0;
        if (rc == TLS_FAIL)
            return mt_fail(err, MT_EUNAVAIL, "TLS handshake failed: %s", why.msg);
        if (wait_fd(p->fd, rc == TLS_WANT_WRITE ? POLLOUT : POLLIN, deadline, err) < 0)
            return -1;
    }
}

static int send_all(struct probe *pr, const char *p, size_t n, long long deadline,
                    struct mt_err *err)
{
    while (n > 0) {
        ssize_t w = probe_send(pr, p, n);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(pr->fd, pr->wait, deadline, err) < 0)
                return -1;
            continue;
        }
        if (w < 0)
            return mt_fail(err, MT_EUNAVAIL, "send: %s", strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads the reply until the peer closes it (HTTP/1.0 with Connection: close),
 * the buffer is full or the deadline passes. Returns the length read. */
static ssize_t read_reply(struct probe *pr, char *buf, size_t cap, long long deadline,
                          struct mt_err *err)
{
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t r = probe_recv(pr, buf + len, cap - 1 - len);
        if (r == 0)
            break;
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(pr->fd, pr->wait, deadline, err) < 0) {
                if (len > 0)
                    break; /* the status line may already be there */
                return -1;
            }
            continue;
        }
        if (r < 0)
            return mt_fail(err, MT_EUNAVAIL, "recv: %s", strerror(errno));
        len += (size_t)r;
    }
    buf[len] = '\0';
    return (ssize_t)len;
}

/* "HTTP/1.1 200 OK" -> 200; -1 when the reply is not HTTP. */
static int status_code(const char *reply)
{
    if (strncmp(reply, "HTTP/1.", 7) != 0 || !reply[7] || reply[8] != ' ')
        return -1;
    const char *s = reply + 9;
    if (s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9')
        return -1;
    return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

/* Prints the body of a non-200 reply on one line (it names the start-up
 * step while the server is not ready yet). */
static void print_body(const char *reply)
{
    const char *body = strstr(reply, "\r\n\r\n");
    if (!body || !body[4])
        return;
    body += 4;
    fputs("  ", stderr);
    for (const char *p = body; *p; p++)
        fputc(*p == '\n' || *p == '\r' ? ' ' : *p, stderr);
    fputc('\n', stderr);
}

int cmd_healthcheck(int argc, char **argv, const struct mt_config *cfg)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: meditrack healthcheck\n\n"
               "Asks the server at HOST:PORT (loopback when HOST is a wildcard) for\n"
               "GET /health and exits 0 on 200, 1 otherwise, within %d ms. Used as the\n"
               "container image's HEALTHCHECK. With TLS_CERT_FILE set it asks over\n"
               "HTTPS, without verifying the certificate (it probes its own server).\n",
               PROBE_TIMEOUT_MS);
        return MT_EXIT_OK;
    }
    if (argc > 1) {
        fprintf(stderr, "meditrack healthcheck: unexpected argument '%s'\n", argv[1]);
        return MT_EXIT_USAGE;
    }

    const char *host = probe_host(cfg->host);
    long long deadline = now_ms() + PROBE_TIMEOUT_MS;
    struct mt_err err = {0};
    char where[320];
    bool v6 = strchr(host, ':') != NULL;
    bool tls = cfg->tls_cert_file[0] != '\0';
    snprintf(where, sizeof(where), "%s://%s%s%s:%d/health", tls ? "https" : "http", v6 ? "[" : "",
             host, v6 ? "]" : "", cfg->port);

    struct probe pr = {.fd = open_probe_socket(host, cfg->port, deadline, &err)};
    if (pr.fd < 0) {
        fprintf(stderr, "unhealthy: GET %s failed: %s\n", where, err.msg);
        return UNHEALTHY;
    }
    if (tls && probe_tls(&pr, deadline, &err) < 0) {
        tls_session_free(pr.tls);
        close(pr.fd);
        fprintf(stderr, "unhealthy: GET %s failed: %s\n", where, err.msg);
        return UNHEALTHY;
    }
    char request[512];
    int n =
        snprintf(request, sizeof(request),
                 "GET /health HTTP/1.0\r\nHost: %s%s%s:%d\r\nUser-Agent: meditrack-healthcheck\r\n"
                 "Connection: close\r\n\r\n",
                 v6 ? "[" : "", host, v6 ? "]" : "", cfg->port);
    if (n < 0 || (size_t)n >= sizeof(request)) {
        tls_session_free(pr.tls);
        close(pr.fd);
        fprintf(stderr, "unhealthy: HOST is too long to probe\n");
        return UNHEALTHY;
    }
    char reply[REPLY_MAX];
    ssize_t got = -1;
    if (send_all(&pr, request, (size_t)n, deadline, &err) == 0)
        got = read_reply(&pr, reply, sizeof(reply), deadline, &err);
    tls_session_free(pr.tls);
    close(pr.fd);
    if (got < 0) {
        fprintf(stderr, "unhealthy: GET %s failed: %s\n", where, err.msg);
        return UNHEALTHY;
    }
    int status = status_code(reply);
    if (status == 200) {
        printf("healthy: GET %s answered 200\n", where);
        return HEALTHY;
    }
    if (status < 0) {
        fprintf(stderr, "unhealthy: GET %s did not answer with HTTP\n", where);
        return UNHEALTHY;
    }
    fprintf(stderr, "unhealthy: GET %s answered %d\n", where, status);
    print_body(reply);
    return UNHEALTHY;
}
