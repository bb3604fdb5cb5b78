/* CORS answers as the reference sends them: its Starlette CORSMiddleware ran
 * with allow_origins=CORS_ORIGINS, allow_credentials=True, allow_methods=["*"]
 * and allow_headers=["*"]. The header order follows the samples (#4, #5):
 * preflight headers first, then the origin, then the echoed request headers. */
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

static bool origin_allowed(const struct mt_config *cfg, const char *origin)
{
    if (allow_all(cfg))
        return true;
    for (size_t i = 0; i < cfg->n_cors_origins; i++)
        if (strcmp(cfg->cors_origins[i], origin) == 0)
            return true;
    return false;
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

    /* With credentials allowed the origin is always echoed, never "*". */
    http_add_header(r, "Vary", "Origin");
    http_add_header(r, "Access-Control-Allow-Methods", all_methods);
    http_add_header(r, "Access-Control-Max-Age", "600");
    http_add_header(r, "Access-Control-Allow-Credentials", "true");

    bool bad_origin = !origin_allowed(cfg, origin);
    if (!bad_origin)
        http_add_header(r, "Access-Control-Allow-Origin", origin);
    bool bad_method = true;
    for (size_t i = 0; i < sizeof(method_list) / sizeof(method_list[0]); i++)
        if (strcmp(method, method_list[i]) == 0)
            bad_method = false;
    if (req_headers)
        http_add_header(r, "Access-Control-Allow-Headers", req_headers);

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
    if (!origin)
        return;
    bool all = allow_all(cfg);
    /* A request with cookies, or a configured list of origins, gets its
     * allowed origin echoed back instead of "*". */
    bool echo = all ? http_header(r, "Cookie") != NULL : origin_allowed(cfg, origin);

    if (echo) {
        http_add_header(r, "Access-Control-Allow-Origin", origin);
    } else if (all) {
        http_add_header(r, "Access-Control-Allow-Origin", "*");
    }
    http_add_header(r, "Access-Control-Allow-Credentials", "true");
    if (echo)
        http_add_header(r, "Vary", "Origin");
}
