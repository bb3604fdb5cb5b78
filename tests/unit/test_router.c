/* Unit tests for src/api/router.c: pattern matching, the route-table check,
 * dispatch with the reference's 404/405 rules, and the access-log path. */
#include <string.h>

#include "../check.h"
#include "api/router.h"
#include "core/arena.h"

static int calls;

static void h_one(struct http_req *r)
{
    calls++;
    http_reply_detail(r, 200, r->n_params ? r->params[0] : "none");
}

static void h_fallback(struct http_req *r)
{
    calls++;
    http_reply_raw(r, 200, "text/plain", "spa", 3);
}

static const struct http_route table[] = {
    {.method = "GET", .pattern = "/health", .fn = h_one},
    {.method = "GET", .pattern = "/api/v1/persons/", .fn = h_one},
    {.method = "POST", .pattern = "/api/v1/persons/", .fn = h_one},
    {.method = "GET", .pattern = "/api/v1/persons/{id}", .fn = h_one},
    {.method = "PUT", .pattern = "/api/v1/persons/{id}/set-default", .fn = h_one},
    {.method = "GET", .pattern = "/api/v1/doses/medications/{id}/doses/{date}", .fn = h_one},
};

static void test_match(void)
{
    struct http_span sp[HTTP_MAX_PARAMS];
    size_t n = 99;

    CHECK(router_match("/health", "/health", sp, HTTP_MAX_PARAMS, &n));
    CHECK_EQ(n, 0);
    CHECK(!router_match("/health", "/health/", sp, HTTP_MAX_PARAMS, &n));
    CHECK(!router_match("/health", "/healthz", sp, HTTP_MAX_PARAMS, &n));
    CHECK(!router_match("/health", "/", sp, HTTP_MAX_PARAMS, &n));

    /* A collection pattern answers with and without its trailing slash (api.md
     * decision 7); an item pattern does not grow a slash. */
    CHECK(router_match("/api/v1/persons/", "/api/v1/persons/", sp, HTTP_MAX_PARAMS, &n));
    CHECK(router_match("/api/v1/persons/", "/api/v1/persons", sp, HTTP_MAX_PARAMS, &n));
    CHECK(!router_match("/api/v1/persons/", "/api/v1/person", sp, HTTP_MAX_PARAMS, &n));
    CHECK(!router_match("/api/v1/persons/", "/api/v1/persons//", sp, HTTP_MAX_PARAMS, &n));
    CHECK(!router_match("/api/v1/persons/{id}", "/api/v1/persons/1/", sp, HTTP_MAX_PARAMS, &n));

    CHECK(router_match("/api/v1/persons/{id}", "/api/v1/persons/42", sp, HTTP_MAX_PARAMS, &n));
    CHECK_EQ(n, 1);
    CHECK_EQ(sp[0].off, strlen("/api/v1/persons/"));
    CHECK_EQ(sp[0].len, 2);
    /* A parameter never matches an empty segment or spans a slash. */
    CHECK(!router_match("/api/v1/persons/{id}", "/api/v1/persons/", sp, HTTP_MAX_PARAMS, &n));
    CHECK(!router_match("/a/{x}/b", "/a//b", sp, HTTP_MAX_PARAMS, &n));
    CHECK(!router_match("/a/{x}", "/a/1/2", sp, HTTP_MAX_PARAMS, &n));

    const char *p = "/api/v1/doses/medications/7/doses/2026-11-29";
    CHECK(router_match("/api/v1/doses/medications/{id}/doses/{date}", p, sp, HTTP_MAX_PARAMS, &n));
    CHECK_EQ(n, 2);
    CHECK(strncmp(p + sp[0].off, "7", sp[0].len) == 0 && sp[0].len == 1);
    CHECK(strncmp(p + sp[1].off, "2026-11-29", sp[1].len) == 0 && sp[1].len == 10);

    /* More captures than room: no match rather than an overflow. */
    CHECK(!router_match("/{a}/{b}", "/1/2", sp, 1, &n));
}

static void test_check(void)
{
    struct mt_err err = {0};
    CHECK_EQ(router_check(table, MT_ARRAY_LEN(table), &err), 0);

    static const struct http_route no_slash[] = {
        {.method = "GET", .pattern = "health", .fn = h_one}};
    CHECK_EQ(router_check(no_slash, 1, &err), -1);
    CHECK_EQ(err.code, MT_EINTERNAL);
    CHECK(strstr(err.msg, "health") != NULL);

    static const struct http_route partial[] = {
        {.method = "GET", .pattern = "/files/{name}.json", .fn = h_one}};
    CHECK_EQ(router_check(partial, 1, &err), -1);
    static const struct http_route unclosed[] = {
        {.method = "GET", .pattern = "/a/{id", .fn = h_one}};
    CHECK_EQ(router_check(unclosed, 1, &err), -1);
    static const struct http_route empty[] = {{.method = "GET", .pattern = "/a/{}", .fn = h_one}};
    CHECK_EQ(router_check(empty, 1, &err), -1);
    static const struct http_route stray[] = {{.method = "GET", .pattern = "/a/}", .fn = h_one}};
    CHECK_EQ(router_check(stray, 1, &err), -1);
    static const struct http_route many[] = {
        {.method = "GET", .pattern = "/{a}/{b}/{c}/{d}/{e}", .fn = h_one}};
    CHECK_EQ(router_check(many, 1, &err), -1);
    static const struct http_route no_fn[] = {{.method = "GET", .pattern = "/x", .fn = NULL}};
    CHECK_EQ(router_check(no_fn, 1, &err), -1);
}

static void test_find(void)
{
    struct http_span sp[HTTP_MAX_PARAMS];
    size_t n = 0;
    const struct http_route *rt;

    rt = router_find(table, MT_ARRAY_LEN(table), "GET", "/api/v1/persons/3", sp, &n);
    CHECK(rt == &table[3]);
    rt = router_find(table, MT_ARRAY_LEN(table), "POST", "/api/v1/persons/", sp, &n);
    CHECK(rt == &table[2]);
    /* HEAD does not match a GET route (reference sample #2). */
    CHECK(router_find(table, MT_ARRAY_LEN(table), "HEAD", "/health", sp, &n) == NULL);
    CHECK(router_find(table, MT_ARRAY_LEN(table), "get", "/health", sp, &n) == NULL);
    CHECK(router_find(table, MT_ARRAY_LEN(table), "PUT", "/api/v1/persons/3/set-default", sp, &n) ==
          &table[4]);
}

/* Runs one request through router_dispatch and returns its status; body is
 * copied to out. */
static int run(const char *method, const char *path, http_handler fallback, char *out, size_t size,
               const char **route)
{
    struct http_req r = {0};
    r.arena = mt_arena_new(1 << 20);
    r.method = method;
    r.path = path;
    router_dispatch(&r, table, MT_ARRAY_LEN(table), fallback);
    size_t len = r.resp_len < size - 1 ? r.resp_len : size - 1;
    memcpy(out, r.resp_body ? r.resp_body : "", len);
    out[len] = '\0';
    if (route)
        *route = r.route;
    int status = r.status;
    if (r.n_params)
        CHECK(r.params[0] != NULL);
    mt_arena_free(r.arena);
    return status;
}

static void test_dispatch(void)
{
    char body[256];
    const char *route = NULL;

    calls = 0;
    CHECK_EQ(run("GET", "/health", NULL, body, sizeof(body), &route), 200);
    CHECK_STR(route, "/health");
    CHECK_EQ(calls, 1);

    CHECK_EQ(run("GET", "/api/v1/persons/17", NULL, body, sizeof(body), &route), 200);
    CHECK_STR(body, "{\"detail\":\"17\"}");
    CHECK_STR(route, "/api/v1/persons/{id}");

    /* Reference: unknown path or wrong method with GET/HEAD -> 404 JSON. */
    CHECK_EQ(run("GET", "/nope", NULL, body, sizeof(body), NULL), 404);
    CHECK_STR(body, "{\"detail\":\"Not Found\"}");
    CHECK_EQ(run("GET", "/api/v1/persons", NULL, body, sizeof(body), NULL), 200);
    CHECK_EQ(run("GET", "/api/v1/persons/17/", NULL, body, sizeof(body), NULL), 404);
    /* HEAD runs the GET route (the server drops the body). */
    CHECK_EQ(run("HEAD", "/health", NULL, body, sizeof(body), NULL), 200);
    CHECK_EQ(run("HEAD", "/nope", NULL, body, sizeof(body), NULL), 404);
    CHECK_EQ(run("GET", "/api/v1/persons/1/set-default", NULL, body, sizeof(body), NULL), 404);

    /* Any other method -> 405 JSON, known path or not. */
    CHECK_EQ(run("POST", "/health", NULL, body, sizeof(body), NULL), 405);
    CHECK_STR(body, "{\"detail\":\"Method Not Allowed\"}");
    CHECK_EQ(run("POST", "/api/v1/persons", NULL, body, sizeof(body), NULL), 200);
    CHECK_EQ(run("PATCH", "/api/v1/persons", NULL, body, sizeof(body), NULL), 405);
    CHECK_EQ(run("DELETE", "/nope", NULL, body, sizeof(body), NULL), 405);
    /* OPTIONS is answered 204 with Allow, known path or not. */
    CHECK_EQ(run("OPTIONS", "/health", NULL, body, sizeof(body), NULL), 204);

    /* The fallback takes unmatched GET/HEAD only. */
    calls = 0;
    CHECK_EQ(run("GET", "/index.html", h_fallback, body, sizeof(body), &route), 200);
    CHECK_STR(body, "spa");
    CHECK_STR(route, "(fallback)");
    CHECK_EQ(run("HEAD", "/health", h_fallback, body, sizeof(body), NULL), 200);
    CHECK_EQ(calls, 2);
    CHECK_EQ(run("PATCH", "/index.html", h_fallback, body, sizeof(body), NULL), 405);
    CHECK_EQ(calls, 2);
}

static void test_log_path(void)
{
    char out[128];

    router_log_path(NULL, "/health", out, sizeof(out));
    CHECK_STR(out, "/health");
    router_log_path("/api/v1/persons/{id}", "/api/v1/persons/12", out, sizeof(out));
    CHECK_STR(out, "/api/v1/persons/12");
    router_log_path("/d/{id}/doses/{date}", "/d/3/doses/2026-11-29", out, sizeof(out));
    CHECK_STR(out, "/d/3/doses/2026-11-29");
    /* Names never reach the log. */
    router_log_path("/by-name/{name}/doses", "/by-name/Ibuprofen 400/doses", out, sizeof(out));
    CHECK_STR(out, "/by-name/***/doses");
    /* Control characters, spaces, quotes and '%' are escaped. */
    router_log_path(NULL, "/a b\n\"%", out, sizeof(out));
    CHECK_STR(out, "/a%20b%0A%22%25");
    /* Truncation keeps the buffer terminated and never splits an escape. */
    router_log_path(NULL, "/abc def", out, 6);
    CHECK_STR(out, "/abc");
}

int main(void)
{
    test_match();
    test_check();
    test_find();
    test_dispatch();
    test_log_path();
    return check_report();
}
