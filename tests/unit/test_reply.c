/* Unit tests for src/api/reply.c: compact JSON replies, the mt_code -> status
 * mapping, empty replies, response headers, query/header lookup, and
 * streamed replies (the in-memory fallback, a streaming server, and giving
 * up a stream). */
#include <stdio.h>
#include <string.h>

#include "../check.h"
#include "api/http.h"
#include "core/arena.h"

static struct http_req req(void)
{
    struct http_req r = {0};
    r.arena = mt_arena_new(1 << 20);
    r.method = "GET";
    r.path = "/";
    return r;
}

static int body_is(const struct http_req *r, const char *want)
{
    return r->has_body && r->resp_len == strlen(want) &&
           memcmp(r->resp_body, want, r->resp_len) == 0;
}

static void test_json(void)
{
    struct http_req r = req();
    json_t *j = json_pack("{s:s, s:i, s:[i,i], s:n, s:b, s:s}", "zeta", "ä ü", "a", 1, "list", 2, 3,
                          "none", "flag", 1, "q", "say \"hi\"");
    http_reply_json(&r, 201, j);
    CHECK_EQ(r.status, 201);
    CHECK_STR(r.content_type, "application/json");
    /* Compact, key order kept, UTF-8 unescaped, as the reference prints it. */
    CHECK(body_is(&r, "{\"zeta\":\"ä ü\",\"a\":1,\"list\":[2,3],\"none\":null,\"flag\":true,"
                      "\"q\":\"say \\\"hi\\\"\"}"));

    http_reply_detail(&r, 404, "Person not found");
    CHECK_EQ(r.status, 404);
    CHECK(body_is(&r, "{\"detail\":\"Person not found\"}"));

    /* A failed json_pack in a handler is a 500, not a crash. */
    http_reply_json(&r, 200, NULL);
    CHECK_EQ(r.status, 500);
    mt_arena_free(r.arena);
}

/* The server's own memory ceiling while building a response is a server
 * condition: 503 with a JSON detail, never 413 (issue 12, finding 9). */
static void test_json_arena_limit(void)
{
    struct http_req r = {0};
    r.arena = mt_arena_new(64);
    json_t *arr = json_array();
    for (int i = 0; i < 100; i++)
        json_array_append_new(arr, json_string("0123456789"));
    http_reply_json(&r, 200, arr);
    CHECK_EQ(r.status, 503);
    CHECK_STR(r.content_type, "application/json");
    CHECK(body_is(&r, "{\"detail\":\"Response exceeds the server's memory limit\"}"));
    /* A detail reply on a full arena takes the same way out. */
    char big[200];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    http_reply_detail(&r, 404, big);
    CHECK_EQ(r.status, 503);
    CHECK(body_is(&r, "{\"detail\":\"Response exceeds the server's memory limit\"}"));
    /* And so does an MT_ELIMIT from a handler. */
    struct mt_err err;
    mt_fail(&err, MT_ELIMIT, "Request exceeds the server's memory limit");
    http_reply_err(&r, &err);
    CHECK_EQ(r.status, 503);
    CHECK_STR(r.content_type, "application/json");
    mt_arena_free(r.arena);
}

/* A streamed reply without a streaming server collects the body up to its
 * fallback ceiling; passing it is MT_ELIMIT, which answers 503. */
static void test_stream_fallback_limit(void)
{
    struct http_req r = req();
    struct mt_err err;
    mt_err_clear(&err);
    CHECK_EQ(http_stream_begin(&r, 200, "text/csv", 16, &err), 0);
    CHECK_EQ(http_stream_write(&r, "0123456789", 10, &err), 0);
    CHECK_EQ(http_stream_write(&r, "0123456789", 10, &err), -1);
    CHECK_EQ(err.code, MT_ELIMIT);
    struct http_req r2 = req();
    http_reply_err(&r2, &err);
    CHECK_EQ(r2.status, 503);
    CHECK_STR(r2.content_type, "application/json");
    CHECK(body_is(&r2, "{\"detail\":\"response larger than 16 bytes\"}"));
    mt_arena_free(r.arena);
    mt_arena_free(r2.arena);
}

static void test_err(void)
{
    struct http_req r = req();
    struct mt_err err = {0};
    static const struct {
        enum mt_code code;
        int status;
    } map[] = {{MT_EINVAL, 400},   {MT_ENOTFOUND, 404}, {MT_ECONFLICT, 409}, {MT_ELIMIT, 503},
               {MT_EUNAVAIL, 503}, {MT_EDB, 500},       {MT_EDB_RETRY, 503}, {MT_EAUTH, 503},
               {MT_ENODB, 503},    {MT_ETIMEOUT, 503},  {MT_ENOSPC, 507},    {MT_EPERM, 500},
               {MT_EINTERNAL, 500}};
    for (size_t i = 0; i < MT_ARRAY_LEN(map); i++) {
        mt_fail(&err, map[i].code, "secret detail %zu", i);
        http_reply_err(&r, &err);
        CHECK_EQ(r.status, map[i].status);
    }
    mt_fail(&err, MT_ENOTFOUND, "Medication not found");
    http_reply_err(&r, &err);
    CHECK(body_is(&r, "{\"detail\":\"Medication not found\"}"));
    /* Database and internal details stay in the log. */
    mt_fail(&err, MT_EDB, "relation \"persons\" does not exist");
    http_reply_err(&r, &err);
    CHECK_EQ(r.status, 500);
    CHECK_STR(r.content_type, "text/plain; charset=utf-8");
    CHECK(body_is(&r, "Internal Server Error"));
    mt_fail(&err, MT_EUNAVAIL, "no connection to 10.0.0.5 within 5000 ms");
    http_reply_err(&r, &err);
    CHECK(body_is(&r, "{\"detail\":\"Service Unavailable\"}"));
    mt_arena_free(r.arena);
}

/* Faults of the database are JSON with Retry-After, set once however often
 * a handler answers; genuine internal errors keep the reference's text. */
static const char *header_of(const struct http_req *r, const char *name, size_t *count)
{
    const char *v = NULL;
    *count = 0;
    for (size_t i = 0; i < r->n_headers; i++) {
        if (strcmp(r->headers[i].name, name) == 0) {
            v = r->headers[i].value;
            (*count)++;
        }
    }
    return v;
}

static void test_faults(void)
{
    static const struct {
        enum mt_code code;
        int status;
        const char *retry;
        const char *detail;
    } faults[] = {
        {MT_ETIMEOUT, 503, "1", "Service Unavailable: the database is busy, retry later"},
        {MT_EDB_RETRY, 503, "1", "Service Unavailable: the database is busy, retry later"},
        {MT_EUNAVAIL, 503, "1", "Service Unavailable"},
        {MT_ENODB, 503, "1", "Service Unavailable"},
        {MT_ENOSPC, 507, "30",
         "Insufficient Storage: the database's disk is full, nothing was saved"},
    };
    for (size_t i = 0; i < MT_ARRAY_LEN(faults); i++) {
        struct http_req r = req();
        struct mt_err err = {0};
        mt_fail(&err, faults[i].code, "canceling statement due to statement timeout");
        http_reply_err(&r, &err);
        http_reply_err(&r, &err);
        CHECK_EQ(r.status, faults[i].status);
        CHECK_STR(r.content_type, "application/json");
        char want[160];
        snprintf(want, sizeof want, "{\"detail\":\"%s\"}", faults[i].detail);
        CHECK(body_is(&r, want));
        size_t n = 0;
        const char *v = header_of(&r, "Retry-After", &n);
        CHECK_EQ(n, 1);
        CHECK_STR(v, faults[i].retry);
        mt_arena_free(r.arena);
    }
    struct http_req r = req();
    struct mt_err err = {0};
    mt_fail(&err, MT_EINTERNAL, "impossible state");
    http_reply_err(&r, &err);
    size_t n = 0;
    CHECK_EQ(r.status, 500);
    CHECK_STR(r.content_type, "text/plain; charset=utf-8");
    CHECK(header_of(&r, "Retry-After", &n) == NULL);
    mt_arena_free(r.arena);

    /* A database the server may not write: the server's own fault, JSON
     * without the file or the reason, and no Retry-After (waiting will not
     * fix it). */
    r = req();
    mt_fail(&err, MT_EPERM, "sqlite database \"/data/x.db\" is not writable by this process");
    http_reply_err(&r, &err);
    CHECK_EQ(r.status, 500);
    CHECK_STR(r.content_type, "application/json");
    CHECK(body_is(&r, "{\"detail\":\"Internal Server Error: the server may not write to its "
                      "database\"}"));
    CHECK(header_of(&r, "Retry-After", &n) == NULL);
    mt_arena_free(r.arena);
}

static void test_empty_and_headers(void)
{
    struct http_req r = req();
    http_add_header(&r, "X-One", "1");
    http_reply_empty(&r, 204);
    CHECK_EQ(r.status, 204);
    CHECK(!r.has_body);
    CHECK_EQ(r.resp_len, 0);
    CHECK_STR(r.content_type, "application/json");
    CHECK_EQ(r.n_headers, 1);
    for (int i = 0; i < HTTP_MAX_HEADERS + 3; i++)
        http_add_header(&r, "X-Many", "v");
    CHECK_EQ(r.n_headers, HTTP_MAX_HEADERS);
    mt_arena_free(r.arena);
}

static void test_lookup(void)
{
    struct http_req r = req();
    static const struct http_kv headers[] = {
        {"Host", "x"}, {"content-type", "application/json"}, {"Accept", "a"}, {"accept", "b"}};
    static const struct http_kv query[] = {
        {"skip", "1"}, {"limit", "5"}, {"skip", "3"}, {"time", ""}};
    r.req_headers = headers;
    r.n_req_headers = MT_ARRAY_LEN(headers);
    r.query = query;
    r.n_query = MT_ARRAY_LEN(query);

    CHECK_STR(http_header(&r, "Content-Type"), "application/json");
    CHECK_STR(http_header(&r, "ACCEPT"), "a");
    CHECK(http_header(&r, "Origin") == NULL);
    /* The last repeated query value wins, as in Starlette. */
    CHECK_STR(http_query(&r, "skip"), "3");
    CHECK_STR(http_query(&r, "limit"), "5");
    CHECK_STR(http_query(&r, "time"), "");
    CHECK(http_query(&r, "Skip") == NULL);
    CHECK(http_query(&r, "date") == NULL);

    /* Without a pool, http_db fails cleanly. */
    struct mt_err err = {0};
    CHECK(http_db(&r, &err) == NULL);
    CHECK_EQ(err.code, MT_EINTERNAL);
    mt_arena_free(r.arena);
}

/* Streamed replies where the server cannot stream: the body is collected
 * and becomes an ordinary reply at the end; past the ceiling, or when the
 * handler gives up, the client gets an error reply instead of a cut body. */
static void test_stream_fallback(void)
{
    struct http_req r = req();
    struct mt_err err;
    mt_err_clear(&err);
    CHECK_EQ(http_stream_write(&r, "x", 1, &err), -1);
    CHECK_EQ(err.code, MT_EINTERNAL);
    CHECK_EQ(http_stream_begin(&r, 200, "text/csv", 16, &err), 0);
    CHECK_EQ(http_stream_write(&r, "a,b\r\n", 5, &err), 0);
    CHECK_EQ(http_stream_write(&r, "1,2\r\n", 5, &err), 0);
    CHECK_EQ(http_stream_end(&r, &err), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.content_type, "text/csv");
    CHECK(body_is(&r, "a,b\r\n1,2\r\n"));
    CHECK_EQ(http_stream_end(&r, &err), -1);
    mt_arena_free(r.arena);

    r = req();
    CHECK_EQ(http_stream_begin(&r, 200, "text/csv", 8, &err), 0);
    CHECK_EQ(http_stream_write(&r, "0123456789", 10, &err), -1);
    CHECK_EQ(err.code, MT_ELIMIT);
    mt_fail(&err, MT_ELIMIT, "too long: choose less");
    http_stream_abort(&r, &err);
    CHECK_EQ(r.status, 503); /* the server's own limit, not the request's */
    CHECK(body_is(&r, "{\"detail\":\"too long: choose less\"}"));
    mt_arena_free(r.arena);

    r = req();
    CHECK_EQ(http_stream_begin(&r, 200, "application/json", 1024, &err), 0);
    CHECK_EQ(http_stream_write(&r, "{\"doses\":[", 10, &err), 0);
    mt_fail(&err, MT_EUNAVAIL, "the database went away");
    http_stream_abort(&r, &err);
    CHECK_EQ(r.status, 503);
    CHECK_STR(r.content_type, "application/json");
    mt_arena_free(r.arena);

    /* Without a started stream, abort is an ordinary error reply. */
    r = req();
    mt_fail(&err, MT_ENOTFOUND, "Person not found");
    http_stream_abort(&r, &err);
    CHECK_EQ(r.status, 404);
    mt_arena_free(r.arena);
}

/* What a streaming server saw: the calls of stream_send. */
static struct {
    int heads, ends;
    char body[64];
    size_t len;
    bool fail_writes;
} sent;

static int fake_send(struct http_req *r, const void *data, size_t len, bool first, bool last,
                     struct mt_err *err)
{
    (void)r;
    if (first)
        sent.heads++;
    if (last)
        sent.ends++;
    if (sent.fail_writes && len)
        return mt_fail(err, MT_EUNAVAIL, "the client went away");
    if (len && sent.len + len <= sizeof(sent.body)) {
        memcpy(sent.body + sent.len, data, len);
        sent.len += len;
    }
    return 0;
}

static void test_stream_server(void)
{
    struct http_req r = req();
    struct mt_err err;
    mt_err_clear(&err);
    r.stream_send = fake_send;
    CHECK_EQ(http_stream_begin(&r, 200, "text/csv", 4, &err), 0);
    CHECK_EQ(sent.heads, 1);
    /* A streaming server has no ceiling: fallback_max does not apply. */
    CHECK_EQ(http_stream_write(&r, "0123456789", 10, &err), 0);
    CHECK_EQ(http_stream_write(&r, "", 0, &err), 0);
    CHECK_EQ(http_stream_end(&r, &err), 0);
    CHECK_EQ(sent.ends, 1);
    CHECK(sent.len == 10 && memcmp(sent.body, "0123456789", 10) == 0);
    CHECK(r.stream_ended);
    mt_arena_free(r.arena);

    /* After a failure the response stays unfinished, for the server to cut
     * short; no error reply replaces what was sent. */
    r = req();
    r.stream_send = fake_send;
    sent.fail_writes = true;
    CHECK_EQ(http_stream_begin(&r, 200, "text/csv", 4, &err), 0);
    CHECK_EQ(http_stream_write(&r, "x", 1, &err), -1);
    CHECK_EQ(err.code, MT_EUNAVAIL);
    http_stream_abort(&r, &err);
    CHECK_EQ(r.status, 200);
    CHECK(r.streaming && !r.stream_ended);
    CHECK_EQ(sent.ends, 1);
    mt_arena_free(r.arena);
}

int main(void)
{
    test_json();
    test_json_arena_limit();
    test_stream_fallback_limit();
    test_err();
    test_faults();
    test_empty_and_headers();
    test_lookup();
    test_stream_fallback();
    test_stream_server();
    return check_report();
}
