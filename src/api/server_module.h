/* The seam between the binary and the HTTP server module (meditrack-http.so):
 * server.c (sockets, threads, the HTTP/1.1 edge) is built into the module,
 * which exports one table of the server.h functions. The binary reaches it
 * through server_load.c (dlopen when `serve` starts a server), so that the
 * other commands never start it; test programs link
 * server.c directly through server_link.c. Included by src/api only. */
#ifndef MT_API_SERVER_MODULE_H
#define MT_API_SERVER_MODULE_H

#include "api/server.h"

/* Bump when struct app, struct http_req, the route table or this table
 * change shape, so that a stale module is refused instead of misread. */
#define HTTP_SERVER_ABI 2

#define HTTP_SERVER_MODULE "meditrack-http.so"
#define HTTP_SERVER_SYMBOL "http_server_module"

/* Same contracts as the functions of server.h. */
struct http_server_ops {
    unsigned abi; /* HTTP_SERVER_ABI of the build that made the module */
    struct http_server *(*start)(struct app *app, const char *host, int port, struct mt_err *err);
    int (*port)(const struct http_server *srv);
    void (*set_ready)(struct http_server *srv, bool ready, const char *step);
    void (*stop)(struct http_server *srv, int grace_seconds);
    void (*free)(struct http_server *srv);
};

/* Defined in server.c: the module's one export. */
extern const struct http_server_ops http_server_module;

#endif
