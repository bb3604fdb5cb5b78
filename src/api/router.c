/* Route matching: method + percent-decoded path against the patterns of a
 * route table, with {name} segments captured as path parameters. It follows
 * the reference server, where a static-files mount catches whatever no route
 * matched: GET/HEAD get the fallback or a JSON 404, other methods a JSON 405.
 * Used by server.c; tested by tests/unit/test_router.c. */
#include "api/router.h"

#include <string.h>

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

const struct http_route *router_find(const struct http_route *routes, size_t n, const char *method,
                                     const char *path, struct http_span *spans, size_t *n_spans)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(routes[i].method, method) != 0)
            continue;
        if (router_match(routes[i].pattern, path, spans, HTTP_MAX_PARAMS, n_spans))
            return &routes[i];
    }
    return NULL;
}

void router_dispatch(struct http_req *r, const struct http_route *routes, size_t n,
                     http_handler fallback)
{
    struct http_span spans[HTTP_MAX_PARAMS];
    size_t n_spans = 0;
    const struct http_route *rt = router_find(routes, n, r->method, r->path, spans, &n_spans);

    if (!rt) {
        bool get_like = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
        if (get_like && fallback) {
            r->route = "(fallback)";
            fallback(r);
        } else if (get_like) {
            http_reply_detail(r, 404, "Not Found");
        } else {
            http_reply_detail(r, 405, "Method Not Allowed");
        }
        return;
    }

    r->route = rt->pattern;
    for (size_t i = 0; i < n_spans; i++) {
        char *v = mt_arena_strndup(r->arena, r->path + spans[i].off, spans[i].len);
        if (!v) {
            struct mt_err err;
            mt_fail(&err, MT_ELIMIT, "request exceeds its memory limit");
            http_reply_err(r, &err);
            return;
        }
        r->params[i] = v;
    }
    r->n_params = n_spans;
    rt->fn(r);
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
