/* The HTTP server's life cycle for cli/serve.c: start listening (possibly
 * before the service is ready), flip to ready, stop gracefully, free. The
 * server dispatches every request through api_routes (api/operations.c). */
#ifndef MT_API_SERVER_H
#define MT_API_SERVER_H

#include <stdbool.h>

#include "api/http.h"
#include "core/err.h"

struct http_server;
struct tls_creds;

/* Binds host:port (port 0 picks a free port; host may be a name, an IPv4 or an
 * IPv6 address) and starts serving with the limits of app->cfg. app must
 * outlive the server. tls (NULL: plain HTTP) makes every connection speak
 * TLS with those credentials; the server takes its own reference. The server starts NOT ready: GET /health answers 503
 * {"status":"starting","step":...} and every other request 503
 * {"detail":"Service is starting"} until http_server_set_ready(srv, true, ..).
 * Returns NULL with err filled (MT_EUNAVAIL: the address cannot be bound,
 * e.g. the port is in use; MT_EINVAL: bad host; MT_EINTERNAL: a bad route
 * table or the event loop could not be set up). Free with http_server_free. */
struct http_server *http_server_start(struct app *app, const char *host, int port,
                                      struct tls_creds *tls, struct mt_err *err);

/* Replaces the TLS credentials that new connections get (a reload);
 * connections already open keep theirs until they close. The server takes
 * its own reference on creds. Only for a server started with TLS: false
 * (and nothing changes) for a plain one. Thread-safe. */
bool http_server_set_tls(struct http_server *srv, struct tls_creds *creds);

/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *srv);

/* Switches between "starting" and ready. step (copied, may be NULL) names
 * what the start-up sequence is doing, reported by GET /health while not
 * ready. Thread-safe. */
void http_server_set_ready(struct http_server *srv, bool ready, const char *step);

/* Graceful stop: stops accepting at once (new clients are refused), lets
 * requests already being received or handled finish for up to grace_seconds
 * (their responses carry Connection: close), then closes every connection
 * and stops the threads. Safe to call twice. */
void http_server_stop(struct http_server *srv, int grace_seconds);

/* Stops (without grace) if still running and frees. NULL is accepted. */
void http_server_free(struct http_server *srv);

#endif
