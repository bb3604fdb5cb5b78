/* CORS, same-origin by default. With CORS_ORIGINS empty (the default) no
 * Access-Control-* header is ever sent and the bundled UI, served from the
 * same origin, needs none. "*" lets any origin read responses without
 * credentials; credentials (cookies, and later tokens) are allowed only for
 * origins listed explicitly, and never for the opaque origin "null". The
 * reference sent credentials to every origin (docs/http.md explains how to
 * get close to that back, and what it risks). */
#include "api/cors.h"

#include <string.h>

static const char all_methods[] = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT";
static const char *const method_list[] = {"DELETE", "GET",  "HEAD", "OPTIONS",
                                          "PATCH",  "POST", "PUT"};

static bool allow_all(const struct mt_config *cfg)
{
    for (size_t i = 0; i < cfg->n_cors_origins; i++)
        if (strcmp(cfg->cors_origins[i], "*") == 0)
            return true;
    return false;
}

/* Listed explicitly: such an origin is echoed and may send credentials. */
static bool origin_listed(const struct mt_config *cfg, const char *origin)
{
    if (strcmp(origin, "null") == 0)
        return false;
    for (size_t i = 0; i < cfg->n_cors_origins; i++)
        if (strcmp(cfg->cors_origins[i], origin) == 0)
            return true;
    return false;
}

bool cors_enabled(const struct mt_config *cfg)
{
    return cfg->n_cors_origins > 0;
}

bool cors_is_preflight(struct http_req *r)
{
    return strcmp(r->method, "OPTIONS") == 0 && http_header(r, "Origin") &&
           http_header(r, "Access-Control-Request-Method");
}

void cors_preflight(struct http_req *r, const struct mt_config *cfg)
{
    static const char ok[] = "OK";
    const char *origin = http_header(r, "Origin");
    const char *method = http_header(r, "Access-Control-Request-Method");
    const char *req_headers = http_header(r, "Access-Control-Request-Headers");

    bool listed = origin_listed(cfg, origin);
    bool any = allow_all(cfg);
    http_add_header(r, "Vary", "Origin");
    /* An origin that is not allowed learns nothing about what is. */
    if (listed || any) {
        http_add_header(r, "Access-Control-Allow-Methods", all_methods);
        http_add_header(r, "Access-Control-Max-Age", "600");
    }
    if (listed) {
        http_add_header(r, "Access-Control-Allow-Credentials", "true");
        http_add_header(r, "Access-Control-Allow-Origin", origin);
    } else if (any) {
        http_add_header(r, "Access-Control-Allow-Origin", "*");
    }
    bool bad_method = true;
    for (size_t i = 0; i < sizeof(method_list) / sizeof(method_list[0]); i++)
        if (strcmp(method, method_list[i]) == 0)
            bad_method = false;
    if (req_headers && (listed || any))
        http_add_header(r, "Access-Control-Allow-Headers", req_headers);

    bool bad_origin = !listed && !any;
    const char *text = NULL;
    if (bad_origin && bad_method)
        text = "Disallowed CORS origin, method";
    else if (bad_origin)
        text = "Disallowed CORS origin";
    else if (bad_method)
        text = "Disallowed CORS method";
    if (text)
        http_reply_raw(r, 400, "text/plain; charset=utf-8", text, strlen(text));
    else
        http_reply_raw(r, 200, "text/plain; charset=utf-8", ok, sizeof(ok) - 1);
}

void cors_add_simple(struct http_req *r, const struct mt_config *cfg)
{
    const char *origin = http_header(r, "Origin");
    if (!origin || !cors_enabled(cfg))
        return;
    if (origin_listed(cfg, origin)) {
        http_add_header(r, "Access-Control-Allow-Origin", origin);
        http_add_header(r, "Access-Control-Allow-Credentials", "true");
        http_add_header(r, "Vary", "Origin");
    } else if (allow_all(cfg)) {
        http_add_header(r, "Access-Control-Allow-Origin", "*");
    }
}
