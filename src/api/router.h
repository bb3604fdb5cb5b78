/* Route matching and dispatch for the HTTP core, kept free of sockets so
 * that it can be unit-tested: server.c builds a struct http_req and calls
 * router_resolve; tests call the matching functions directly. Internal to
 * src/api. */
#ifndef MT_API_ROUTER_H
#define MT_API_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "api/http.h"
#include "core/err.h"

/* Where a {name} segment was found in a path. */
struct http_span {
    size_t off, len;
};

/* Checks a route table once at start-up: every pattern starts with "/", every
 * {name} is a whole, non-empty segment, at most HTTP_MAX_PARAMS per pattern,
 * and every route has a method and a handler. Returns -1 with MT_EINTERNAL
 * naming the bad route. */
int router_check(const struct http_route *routes, size_t n, struct mt_err *err);

/* Matches a percent-decoded path against one pattern. Literal characters must
 * match exactly (a trailing slash is significant, as in the reference); a
 * {name} segment matches one non-empty segment. On a match returns true and
 * fills spans[0..*n_spans) with the captured segments (at most max). */
bool router_match(const char *pattern, const char *path, struct http_span *spans, size_t max,
                  size_t *n_spans);

/* The first route whose method equals method exactly (router_resolve lets
 * HEAD fall back to GET) and whose pattern matches path; NULL when none.
 * spans receives up to HTTP_MAX_PARAMS captures. */
const struct http_route *router_find(const struct http_route *routes, size_t n, const char *method,
                                     const char *path, struct http_span *spans, size_t *n_spans);

/* Routes r (method and path set, arena present): fills r->params,
 * r->route and r->op and returns the handler to run, or NULL when r was already
 * answered (arena exhausted). HEAD runs the path's GET route (the server
 * drops the body). Unmatched GET/HEAD go to fallback when it is not NULL and
 * the path is not under /api/, else 404 {"detail":"Not Found"}; OPTIONS gets
 * 204 and any other unmatched method 405 {"detail":"Method Not Allowed"},
 * both with an Allow header listing the path's methods. *light is true when
 * the handler never waits on the database. */
http_handler router_resolve(struct http_req *r, const struct http_route *routes, size_t n,
                            http_handler fallback, bool *light);

/* router_resolve, then runs the handler (for tests and simple callers). */
void router_dispatch(struct http_req *r, const struct http_route *routes, size_t n,
                     http_handler fallback);

/* Writes the path for the access log into out (always NUL-terminated,
 * truncated to size): bytes outside printable ASCII, spaces, quotes,
 * backslashes and '%' become %XX, and when pattern (the matched route, may be
 * NULL) captures a segment that is not made of digits, '-', ':' or '.' (an
 * id, a date, a time) it is replaced by "***" so that names never reach the
 * log. */
void router_log_path(const char *pattern, const char *path, char *out, size_t size);

#endif
