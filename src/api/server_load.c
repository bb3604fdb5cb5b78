/* server.h as the binary has it: a thin shim over the HTTP server module
 * (meditrack-http.so), opened once (pthread_once) by the first
 * http_server_start, so that the commands that serve nothing (db, init,
 * seed, config, healthcheck) start without loading it. NEEDSWORK: since the
 * server no longer uses libmicrohttpd the module saves little; issue 13
 * folds it back into the binary. A missing or unusable module makes http_server_start
 * fail with MT_EUNAVAIL saying why. Test programs link server_link.c. */
#include <pthread.h>
#include <stddef.h>

#include "api/server_module.h"
#include "core/module.h"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const struct http_server_ops *ops; /* written once, by load() */
static struct mt_err load_err;            /* why ops is NULL */

static void load(void)
{
    const struct http_server_ops *o =
        mt_module_symbol(HTTP_SERVER_MODULE, HTTP_SERVER_SYMBOL, &load_err);
    if (o && o->abi != HTTP_SERVER_ABI) {
        mt_fail(&load_err, MT_EUNAVAIL, "module %s has server interface %u, this program needs %u",
                HTTP_SERVER_MODULE, o->abi, (unsigned)HTTP_SERVER_ABI);
        return;
    }
    ops = o;
}

struct http_server *http_server_start(struct app *app, const char *host, int port,
                                      struct mt_err *err)
{
    pthread_once(&load_once, load);
    if (!ops) {
        if (err)
            *err = load_err;
        return NULL;
    }
    return ops->start(app, host, port, err);
}

/* The functions below take a server that http_server_start made, so the
 * module is loaded and ops set (pthread_once made that visible). */

int http_server_port(const struct http_server *srv)
{
    return ops->port(srv);
}

void http_server_set_ready(struct http_server *srv, bool ready, const char *step)
{
    ops->set_ready(srv, ready, step);
}

void http_server_stop(struct http_server *srv, int grace_seconds)
{
    if (srv)
        ops->stop(srv, grace_seconds);
}

void http_server_free(struct http_server *srv)
{
    if (srv)
        ops->free(srv);
}
