/* server.h with the server linked in rather than loaded: the table that
 * the module exports (server.c), called directly, for test programs that
 * link the whole program. The binary uses server_load.c. */
#include "api/server_module.h"

struct http_server *http_server_start(struct app *app, const char *host, int port,
                                      struct mt_err *err)
{
    return http_server_module.start(app, host, port, err);
}

int http_server_port(const struct http_server *srv)
{
    return http_server_module.port(srv);
}

void http_server_set_ready(struct http_server *srv, bool ready, const char *step)
{
    http_server_module.set_ready(srv, ready, step);
}

void http_server_stop(struct http_server *srv, int grace_seconds)
{
    http_server_module.stop(srv, grace_seconds);
}

void http_server_free(struct http_server *srv)
{
    http_server_module.free(srv);
}
