/* Route matching: method + percent-decoded path against the patterns of a
 * route table, with {name} segments captured as path parameters. It follows
 * the reference server, where a static-files mount catches whatever no route
 * matched: GET/HEAD get the fallback or a JSON 404, other methods a JSON 405.
 * Used by server.c; tested by tests/unit/test_router.c. */
#include "api/router.h"

#include <stdio.h>
#include <string.h>

#include "api/operation.h"
#include "core/arena.h"

int router_check(const struct http_route *routes, size_t n, struct mt_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const struct http_route *rt = &routes[i];
        if (!rt->method || !rt->method[0] || !rt->fn || !rt->pattern || rt->pattern[0] != '/')
            return mt_fail(err, MT_EINTERNAL,
                           "route %zu (%s): needs a method, a handler and a "
                           "pattern starting with \"/\"",
                           i, rt->pattern ? rt->pattern : "(null)");
        size_t n_params = 0;
        for (const char *p = rt->pattern; *p; p++) {
            if (*p == '}')
                return mt_fail(err, MT_EINTERNAL, "route %s: unbalanced \"}\"", rt->pattern);
            if (*p != '{')
                continue;
            const char *close = strchr(p, '}');
            const char *slash = strchr(p, '/');
            if (!close || (slash && slash < close) || close == p + 1)
                return mt_fail(err, MT_EINTERNAL, "route %s: bad {name} segment", rt->pattern);
            if (p[-1] != '/' || (close[1] != '/' && close[1] != '\0'))
                return mt_fail(err, MT_EINTERNAL, "route %s: a {name} must be a whole path segment",
                               rt->pattern);
            if (++n_params > HTTP_MAX_PARAMS)
                return mt_fail(err, MT_EINTERNAL, "route %s: more than %d parameters", rt->pattern,
                               HTTP_MAX_PARAMS);
            p = close;
        }
    }
    return 0;
}

bool router_match(const char *pattern, const char *path, struct http_span *spans, size_t max,
                  size_t *n_spans)
{
    const char *p = pattern;
    const char *s = path;
    size_t n = 0;

    while (*p) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close)
                return false;
            size_t len = strcspn(s, "/");
            if (len == 0 || n >= max)
                return false;
            spans[n].off = (size_t)(s - path);
            spans[n].len = len;
            n++;
            p = close + 1;
            s += len;
            continue;
        }
        if (*p != *s) {
            /* Collection routes ("/api/v1/persons/") also answer without the
             * trailing slash: our decision 7 in api.md, where the reference
             * answered 404. */
            if (*p == '/' && p[1] == '\0' && *s == '\0')
                break;
            return false;
        }
        p++;
        s++;
    }
    if (*s != '\0')
        return false;
    *n_spans = n;
    return true;
}

/* With AUTH=off the access-control API does not exist (docs/auth.md): its
 * routes are skipped, so that its paths answer exactly what they answered
 * before it existed. Without a configuration (unit tests) every route
 * counts. */
static bool route_hidden(const struct http_route *rt, const struct http_req *r)
{
    return r && r->app && r->app->cfg && !r->app->cfg->auth && rt->op && rt->op->auth_api &&
           !rt->op->serve_off;
}

static const struct http_route *find_route(const struct http_route *routes, size_t n,
                                           const char *method, const char *path,
                                           struct http_span *spans, size_t *n_spans,
                                           const struct http_req *r)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(routes[i].method, method) != 0 || route_hidden(&routes[i], r))
            continue;
        if (router_match(routes[i].pattern, path, spans, HTTP_MAX_PARAMS, n_spans))
            return &routes[i];
    }
    return NULL;
}

const struct http_route *router_find(const struct http_route *routes, size_t n, const char *method,
                                     const char *path, struct http_span *spans, size_t *n_spans)
{
    return find_route(routes, n, method, path, spans, n_spans, NULL);
}

static void reply_not_found(struct http_req *r)
{
    http_reply_detail(r, 404, "Not Found");
}

static void reply_method_not_allowed(struct http_req *r)
{
    http_reply_detail(r, 405, "Method Not Allowed");
}

static void reply_options(struct http_req *r)
{
    http_reply_empty(r, 204);
}

/* The methods the path answers, for Allow: those of the routes that match
 * it (HEAD wherever GET is), or those of the static fallback (GET, HEAD)
 * when none does; OPTIONS always. An arena string, or NULL. */
static const char *allowed_methods(struct http_req *r, const struct http_route *routes, size_t n)
{
    static const char *const order[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
    bool has[sizeof(order) / sizeof(order[0])] = {0};
    bool any = false;
    struct http_span spans[HTTP_MAX_PARAMS];
    size_t n_spans;
    for (size_t i = 0; i < n; i++) {
        if (route_hidden(&routes[i], r) ||
            !router_match(routes[i].pattern, r->path, spans, HTTP_MAX_PARAMS, &n_spans))
            continue;
        for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
            if (strcmp(routes[i].method, order[k]) == 0)
                has[k] = any = true;
    }
    if (!any)
        has[0] = true;
    has[1] = has[1] || has[0];
    char buf[96];
    size_t o = 0;
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
        if (has[k])
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s, ", order[k]);
    snprintf(buf + o, sizeof(buf) - o, "OPTIONS");
    return mt_arena_strdup(r->arena, buf);
}

/* /api/... and the documents are never answered by the static files. */
static bool api_path(const char *path)
{
    return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0;
}

http_handler router_resolve(struct http_req *r, const struct http_route *routes, size_t n,
                            http_handler fallback, bool *light)
{
    struct http_span spans[HTTP_MAX_PARAMS];
    size_t n_spans = 0;
    bool head = strcmp(r->method, "HEAD") == 0;
    const struct http_route *rt = find_route(routes, n, r->method, r->path, spans, &n_spans, r);
    if (!rt && head)
        rt = find_route(routes, n, "GET", r->path, spans, &n_spans, r);

    *light = true;
    r->op = NULL;
    if (!rt) {
        bool get_like = head || strcmp(r->method, "GET") == 0;
        if (get_like && fallback && !api_path(r->path)) {
            r->route = "(fallback)";
            return fallback;
        }
        if (get_like)
            return reply_not_found;
        const char *allow = allowed_methods(r, routes, n);
        if (allow)
            http_add_header(r, "Allow", allow);
        if (strcmp(r->method, "OPTIONS") == 0) {
            r->route = "(options)";
            return reply_options;
        }
        return reply_method_not_allowed;
    }

    r->route = rt->pattern;
    for (size_t i = 0; i < n_spans; i++) {
        char *v = mt_arena_strndup(r->arena, r->path + spans[i].off, spans[i].len);
        if (!v) {
            struct mt_err err;
            mt_fail(&err, MT_ELIMIT, "request exceeds its memory limit");
            http_reply_err(r, &err);
            return NULL;
        }
        r->params[i] = v;
    }
    r->n_params = n_spans;
    r->op = rt->op;
    *light = rt->light;
    return rt->fn;
}

void router_dispatch(struct http_req *r, const struct http_route *routes, size_t n,
                     http_handler fallback)
{
    bool light;
    http_handler fn = router_resolve(r, routes, n, fallback, &light);
    if (fn)
        fn(r);
}

/* Ids, dates and times may be logged; anything else in a path parameter may
 * be a name. */
static bool loggable_param(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || c == '-' || c == ':' || c == '.'))
            return false;
    }
    return true;
}

static size_t put_escaped(char *out, size_t size, size_t o, const char *p, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        bool plain = c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '%';
        size_t need = plain ? 1 : 3;
        if (o + need >= size)
            return o;
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    return o;
}

void router_log_path(const char *pattern, const char *path, char *out, size_t size)
{
    if (size == 0)
        return;
    struct http_span spans[HTTP_MAX_PARAMS];
    size_t n_spans = 0;
    if (!pattern || !router_match(pattern, path, spans, HTTP_MAX_PARAMS, &n_spans))
        n_spans = 0;
    size_t o = 0;
    size_t at = 0;
    size_t path_len = strlen(path);

    for (size_t i = 0; i < n_spans; i++) {
        o = put_escaped(out, size, o, path + at, spans[i].off - at);
        const char *seg = path + spans[i].off;
        if (loggable_param(seg, spans[i].len))
            o = put_escaped(out, size, o, seg, spans[i].len);
        else
            o = put_escaped(out, size, o, "***", 3);
        at = spans[i].off + spans[i].len;
    }
    o = put_escaped(out, size, o, path + at, path_len - at);
    out[o] = '\0';
}
