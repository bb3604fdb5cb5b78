/* Unit tests for src/api/cors.c: no CORS by default, "*" without
 * credentials, credentials only for listed origins and never for "null". */
#include <string.h>

#include "../check.h"
#include "api/cors.h"
#include "core/arena.h"

static const char *header(const struct http_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static struct http_req req(const char *method, const struct http_kv *h, size_t n)
{
    struct http_req r = {0};
    r.arena = mt_arena_new(1 << 20);
    r.method = method;
    r.path = "/api/v1/persons/";
    r.req_headers = h;
    r.n_req_headers = n;
    return r;
}

static void test_disabled(void)
{
    struct mt_config cfg = {0};
    static const struct http_kv simple[] = {{"Origin", "http://example.com"}};
    struct http_req r = req("GET", simple, 1);
    CHECK(!cors_enabled(&cfg));
    cors_add_simple(&r, &cfg);
    CHECK_EQ(r.n_headers, 0);
    mt_arena_free(r.arena);
}

static void test_any_origin(void)
{
    char *origins[] = {"*", NULL};
    struct mt_config cfg = {.cors_origins = origins, .n_cors_origins = 1};
    CHECK(cors_enabled(&cfg));

    /* Any origin may read, but "*" never carries credentials. */
    static const struct http_kv pre[] = {{"Origin", "http://example.com"},
                                         {"Access-Control-Request-Method", "POST"},
                                         {"Access-Control-Request-Headers", "content-type"}};
    struct http_req r = req("OPTIONS", pre, MT_ARRAY_LEN(pre));
    CHECK(cors_is_preflight(&r));
    cors_preflight(&r, &cfg);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.content_type, "text/plain; charset=utf-8");
    CHECK(r.resp_len == 2 && memcmp(r.resp_body, "OK", 2) == 0);
    CHECK_EQ(r.n_headers, 5);
    CHECK_STR(r.headers[0].name, "Vary");
    CHECK_STR(header(&r, "Vary"), "Origin");
    CHECK_STR(header(&r, "Access-Control-Allow-Methods"),
              "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
    CHECK_STR(header(&r, "Access-Control-Max-Age"), "600");
    CHECK(header(&r, "Access-Control-Allow-Credentials") == NULL);
    CHECK_STR(header(&r, "Access-Control-Allow-Origin"), "*");
    CHECK_STR(header(&r, "Access-Control-Allow-Headers"), "content-type");
    mt_arena_free(r.arena);

    /* A method outside the list is refused. */
    static const struct http_kv bad_method[] = {{"Origin", "http://example.com"},
                                                {"Access-Control-Request-Method", "TRACE"}};
    r = req("OPTIONS", bad_method, MT_ARRAY_LEN(bad_method));
    cors_preflight(&r, &cfg);
    CHECK_EQ(r.status, 400);
    CHECK(r.resp_len == strlen("Disallowed CORS method") &&
          memcmp(r.resp_body, "Disallowed CORS method", r.resp_len) == 0);
    mt_arena_free(r.arena);

    /* A simple request gets "*" and nothing else, cookie or not. */
    static const struct http_kv simple[] = {{"Origin", "http://example.com"}, {"Cookie", "x=1"}};
    r = req("GET", simple, 2);
    CHECK(!cors_is_preflight(&r));
    cors_add_simple(&r, &cfg);
    CHECK_EQ(r.n_headers, 1);
    CHECK_STR(r.headers[0].name, "Access-Control-Allow-Origin");
    CHECK_STR(r.headers[0].value, "*");
    mt_arena_free(r.arena);

    /* The opaque origin "null" too, without credentials. */
    static const struct http_kv null_origin[] = {{"Origin", "null"}};
    r = req("GET", null_origin, 1);
    cors_add_simple(&r, &cfg);
    CHECK_STR(header(&r, "Access-Control-Allow-Origin"), "*");
    CHECK(header(&r, "Access-Control-Allow-Credentials") == NULL);
    mt_arena_free(r.arena);

    /* No Origin: nothing added, and OPTIONS alone is no preflight. */
    r = req("OPTIONS", NULL, 0);
    CHECK(!cors_is_preflight(&r));
    cors_add_simple(&r, &cfg);
    CHECK_EQ(r.n_headers, 0);
    mt_arena_free(r.arena);
}

static void test_listed_origins(void)
{
    char *origins[] = {"http://localhost:3000", "https://meds.example", "null", NULL};
    struct mt_config cfg = {.cors_origins = origins, .n_cors_origins = 3};

    static const struct http_kv ok[] = {{"Origin", "https://meds.example"}};
    struct http_req r = req("GET", ok, 1);
    cors_add_simple(&r, &cfg);
    CHECK_STR(header(&r, "Access-Control-Allow-Origin"), "https://meds.example");
    CHECK_STR(header(&r, "Vary"), "Origin");
    CHECK_STR(header(&r, "Access-Control-Allow-Credentials"), "true");
    mt_arena_free(r.arena);

    /* A foreign origin gets no allow-origin (credentials as Starlette sends). */
    static const struct http_kv foreign[] = {{"Origin", "http://evil.example"}};
    r = req("GET", foreign, 1);
    cors_add_simple(&r, &cfg);
    CHECK(header(&r, "Access-Control-Allow-Origin") == NULL);
    CHECK(header(&r, "Vary") == NULL);
    mt_arena_free(r.arena);

    /* "null" is never trusted with credentials, even when listed. */
    static const struct http_kv null_origin[] = {{"Origin", "null"}};
    r = req("GET", null_origin, 1);
    cors_add_simple(&r, &cfg);
    CHECK(header(&r, "Access-Control-Allow-Origin") == NULL);
    CHECK(header(&r, "Access-Control-Allow-Credentials") == NULL);
    mt_arena_free(r.arena);

    static const struct http_kv pre[] = {{"Origin", "http://evil.example"},
                                         {"Access-Control-Request-Method", "GET"}};
    r = req("OPTIONS", pre, MT_ARRAY_LEN(pre));
    cors_preflight(&r, &cfg);
    CHECK_EQ(r.status, 400);
    CHECK(r.resp_len == strlen("Disallowed CORS origin") &&
          memcmp(r.resp_body, "Disallowed CORS origin", r.resp_len) == 0);
    CHECK(header(&r, "Access-Control-Allow-Origin") == NULL);
    mt_arena_free(r.arena);

    static const struct http_kv both[] = {{"Origin", "http://evil.example"},
                                          {"Access-Control-Request-Method", "CONNECT"}};
    r = req("OPTIONS", both, MT_ARRAY_LEN(both));
    cors_preflight(&r, &cfg);
    CHECK(r.resp_len == strlen("Disallowed CORS origin, method") &&
          memcmp(r.resp_body, "Disallowed CORS origin, method", r.resp_len) == 0);
    mt_arena_free(r.arena);
}

int main(void)
{
    test_disabled();
    test_any_origin();
    test_listed_origins();
    return check_report();
}
