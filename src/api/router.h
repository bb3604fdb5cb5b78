/* Route matching and dispatch for the HTTP core, kept free of libmicrohttpd so
 * that it can be unit-tested: server.c builds a struct http_req and calls
 * router_dispatch; tests call the matching functions directly. Internal to
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

/* The first route whose method equals method exactly (HEAD does not match GET
 * routes, as in the reference) and whose pattern matches path; NULL when none.
 * spans receives up to HTTP_MAX_PARAMS captures. */
const struct http_route *router_find(const struct http_route *routes, size_t n, const char *method,
                                     const char *path, struct http_span *spans, size_t *n_spans);

/* Routes r (method and path set, arena present) and runs the handler with
 * r->params and r->route filled. Unmatched GET/HEAD go to fallback when it is
 * not NULL, else 404 {"detail":"Not Found"}; any other unmatched method gets
 * 405 {"detail":"Method Not Allowed"} without an Allow header. Both are what
 * the reference answers, whether the path exists with another method or not. */
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
