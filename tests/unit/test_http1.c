/* Unit tests for src/api/http1.c: finding and parsing request heads,
 * framing decisions (RFC 9112 §6), chunked decoding and request targets,
 * including each request-smuggling and lax-parsing case of issue 11. */
#include <string.h>

#include "../check.h"
#include "api/http1.h"
#include "core/arena.h"
#include "core/err.h"

/* Scans and parses a whole head; returns 0 and fills h/f, or the status of
 * the refusal. */
static int head_status(const char *text, struct http1_head *h, struct http1_framing *f)
{
    struct http1_scan s = {0};
    struct http1_error e = {0};
    size_t len = strlen(text), head_len = 0;
    int rc = http1_scan_head(&s, text, len, &head_len, &e);
    if (rc == HTTP1_ERROR)
        return e.status;
    if (rc == HTTP1_INCOMPLETE)
        return -1;
    if (http1_parse_head(text, head_len, h, &e) < 0)
        return e.status;
    if (http1_framing(h, f, &e) < 0)
        return e.status;
    return 0;
}

static int status_of(const char *text)
{
    struct http1_head h;
    struct http1_framing f;
    return head_status(text, &h, &f);
}

static void test_heads(void)
{
    struct http1_head h;
    struct http1_framing f;
    CHECK_EQ(head_status("GET /health HTTP/1.1\r\nHost: x\r\nA:  b c \r\n\r\n", &h, &f), 0);
    CHECK(h.method_len == 3 && memcmp(h.method, "GET", 3) == 0);
    CHECK(h.target_len == 7 && memcmp(h.target, "/health", 7) == 0);
    CHECK_EQ(h.minor, 1);
    CHECK_EQ(h.n_fields, 2);
    CHECK(h.fields[1].value_len == 3 && memcmp(h.fields[1].value, "b c", 3) == 0);
    CHECK(f.keep_alive && f.body == HTTP1_BODY_NONE);

    /* Empty lines before the request line are ignored. */
    CHECK_EQ(status_of("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    /* HTTP/1.0: no Host needed, not kept alive unless asked. */
    CHECK_EQ(head_status("GET / HTTP/1.0\r\n\r\n", &h, &f), 0);
    CHECK(!f.keep_alive);
    CHECK_EQ(head_status("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &h, &f), 0);
    CHECK(f.keep_alive);
    CHECK_EQ(head_status("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &h, &f), 0);
    CHECK(!f.keep_alive);

    /* Lax parsing, refused. */
    CHECK_EQ(status_of("GET / HTTP/1.1\r\n\r\n"), 400);                       /* no Host */
    CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400); /* two */
    CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\n\tc\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET / HTTP/1.1\nHost: x\n\n"), 400);
    CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: x\rA: b\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET / HTTP/1.1\r\nHo(st: x\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\nA: b\x01\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\nA: b\x7f\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET / HTTP/1.1\r\n: x\r\nHost: x\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET / HTTP/1.1\r\nnocolon\r\nHost: x\r\n\r\n"), 400);
    CHECK_EQ(status_of("G(T / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET  / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET / HTTP/1.1 \r\nHost: x\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET /\r\nHost: x\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET / HTTP/1\r\nHost: x\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET / http/1.1\r\nHost: x\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    CHECK_EQ(status_of("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505);
    CHECK_EQ(status_of("GET / HTTP/1.2\r\nHost: x\r\n\r\n"), 505);
    CHECK_EQ(status_of("GET / HTTP/9.9\r\nHost: x\r\n\r\n"), 505);
    CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n"), 417);
    CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\n"), -1); /* incomplete */
}

static void test_limits(void)
{
    static char buf[HTTP1_MAX_HEAD + 4096];
    /* A request line just over the limit: 414 before it even ends. */
    memcpy(buf, "GET /", 5);
    memset(buf + 5, 'a', HTTP1_MAX_LINE);
    buf[5 + HTTP1_MAX_LINE] = '\0';
    CHECK_EQ(status_of(buf), 414);
    /* Fields over the limit: 431. */
    size_t n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: x\r\nA: ");
    memset(buf + n, 'b', HTTP1_MAX_FIELDS_BYTES);
    buf[n + HTTP1_MAX_FIELDS_BYTES] = '\0';
    CHECK_EQ(status_of(buf), 431);
    /* Too many fields: 431. */
    n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < HTTP1_MAX_FIELDS; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "A%d: b\r\n", i);
    snprintf(buf + n, sizeof(buf) - n, "\r\n");
    CHECK_EQ(status_of(buf), 431);
}

/* The scan gives the same answer however the bytes are split, and never
 * looks at a byte twice more than needed. */
static void test_incremental_scan(void)
{
    const char *text = "GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n\r\nNEXT";
    size_t whole = strlen(text) - 4;
    for (size_t step = 1; step < 8; step++) {
        struct http1_scan s = {0};
        struct http1_error e;
        size_t head_len = 0, have = 0;
        int rc = HTTP1_INCOMPLETE;
        while (rc == HTTP1_INCOMPLETE && have < strlen(text)) {
            have = have + step > strlen(text) ? strlen(text) : have + step;
            rc = http1_scan_head(&s, text, have, &head_len, &e);
        }
        CHECK_EQ(rc, HTTP1_DONE);
        CHECK_EQ(head_len, whole);
    }
}

static void test_framing(void)
{
    struct http1_head h;
    struct http1_framing f;
    CHECK_EQ(head_status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n", &h, &f), 0);
    CHECK(f.body == HTTP1_BODY_LENGTH && f.length == 12);
    CHECK_EQ(head_status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &h, &f), 0);
    CHECK(f.body == HTTP1_BODY_NONE);
    /* Identical repeats are one value. */
    CHECK_EQ(head_status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                         &h, &f),
             0);
    CHECK(f.length == 5);
    CHECK_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n"), 0);
    CHECK_EQ(head_status("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n", &h, &f),
             0);
    CHECK(f.body == HTTP1_BODY_CHUNKED);
    CHECK_EQ(head_status("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: "
                         "1\r\n\r\n",
                         &h, &f),
             0);
    CHECK(f.expect_continue);

    /* Smuggling and its relatives. */
    CHECK_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: "
                       "chunked\r\n\r\n"),
             400);
    CHECK_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: "
                       "5\r\n\r\n"),
             400);
    CHECK_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
             400);
    CHECK_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\n"), 400);
    const char *bad_lengths[] = {"-1", "+5", "5 5", "0x10", "", "1.0", "99999999999999999999", ","};
    for (size_t i = 0; i < MT_ARRAY_LEN(bad_lengths); i++) {
        char buf[128];
        snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n\r\n",
                 bad_lengths[i]);
        CHECK_EQ(status_of(buf), 400);
    }
    const struct {
        const char *te;
        int status;
    } codings[] = {{"gzip", 501},           {"identity", 501},     {"gzip, chunked", 501},
                   {"br", 501},             {"chunked, chunked", 400}, {"chunked, gzip", 400},
                   {",", 400},              {"chunked;a=b", 400},  {"chunked , chunked", 400}};
    for (size_t i = 0; i < MT_ARRAY_LEN(codings); i++) {
        char buf[128];
        snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: %s\r\n\r\n",
                 codings[i].te);
        CHECK_EQ(status_of(buf), codings[i].status);
    }
    /* Split across two fields, the list is the same. */
    CHECK_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n"),
             400);
    CHECK_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n"),
             501);
    CHECK_EQ(status_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
}

/* Feeds text to a fresh decoder step bytes at a time; collects the data.
 * Returns the final rc; *used_total is how much was consumed. */
static int chunked(const char *text, size_t step, char *out, size_t *out_len, size_t *used_total,
                   int *status)
{
    struct http1_chunked c = {0};
    struct http1_error e = {0};
    size_t len = strlen(text), off = 0;
    *out_len = 0;
    int rc = HTTP1_INCOMPLETE;
    while (off < len) {
        size_t piece = len - off < step ? len - off : step;
        size_t used;
        const char *d;
        size_t dlen;
        rc = http1_chunked_feed(&c, text + off, piece, &used, &d, &dlen, &e);
        memcpy(out + *out_len, d ? d : "", dlen);
        *out_len += dlen;
        off += used;
        if (rc != HTTP1_INCOMPLETE)
            break;
    }
    *used_total = off;
    *status = e.status;
    return rc;
}

static void test_chunked(void)
{
    char out[256];
    size_t n, used;
    int status;
    const char *ok = "4;name=value\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n"
                     "Trailer: x\r\n\r\nNEXT";
    for (size_t step = 1; step <= 7; step++) {
        CHECK_EQ(chunked(ok, step, out, &n, &used, &status), HTTP1_DONE);
        CHECK(n == 23 && memcmp(out, "Wikipedia in\r\n\r\nchunks.", 23) == 0);
        CHECK_EQ(used, strlen(ok) - 4);
    }
    const char *bad[] = {"x\r\n",          "4\r\nWikiXX",  "4\r\nWiki\rX",    "4 \r\nWiki\r\n",
                         "4\nWiki\r\n0\r\n\r\n", "0\r\nA b: c\r\n\r\n", "0\r\n x\r\n\r\n",
                         "4;\x01\r\n",    "0\r\n\r\r"};
    for (size_t i = 0; i < MT_ARRAY_LEN(bad); i++)
        CHECK_EQ(chunked(bad[i], 3, out, &n, &used, &status), HTTP1_ERROR);
    /* "4 ;ext" is an extension after whitespace, allowed. */
    CHECK_EQ(chunked("4 ;a\r\nWiki\r\n0\r\n\r\n", 2, out, &n, &used, &status), HTTP1_DONE);
    CHECK_EQ(chunked("fffffffffffffffff\r\n", 4, out, &n, &used, &status), HTTP1_ERROR);
    CHECK_EQ(status, 413);
}

static void test_targets(void)
{
    struct mt_arena *a = mt_arena_new(1 << 20);
    struct http1_target t;
    struct http1_error e;
#define TARGET(s, host) http1_target(s, strlen(s), host, host ? strlen(host) : 0, a, &t, &e)

    CHECK_EQ(TARGET("/api/v1/persons/?a=1&b=x+y%21&c&&d=", "x"), 0);
    CHECK_STR(t.path, "/api/v1/persons/");
    CHECK_EQ(t.n_query, 4);
    CHECK_STR(t.query[1].value, "x y!");
    CHECK_STR(t.query[2].name, "c");
    CHECK_STR(t.query[2].value, "");
    CHECK_EQ(TARGET("/heal%74h", "x"), 0);
    CHECK_STR(t.path, "/health");
    CHECK_EQ(TARGET("/a%zz%4", "x"), 0); /* not an escape: kept */
    CHECK_STR(t.path, "/a%zz%4");

    CHECK_EQ(TARGET("/api/v1/persons/43%00zzz", "x"), -1);
    CHECK_EQ(e.status, 400);
    CHECK_EQ(TARGET("/api/v1/persons/%00", "x"), -1);
    CHECK_EQ(TARGET("/a%0a", "x"), -1);
    CHECK_EQ(TARGET("/a%7F", "x"), -1);
    CHECK_EQ(TARGET("/a?x=%00", "x"), -1);
    CHECK_EQ(e.status, 400);

    CHECK_EQ(TARGET("http://Example.org:8000/health?x=1", "example.org:8000"), 0);
    CHECK_STR(t.path, "/health");
    CHECK_EQ(t.n_query, 1);
    CHECK_EQ(TARGET("https://x", "x"), 0);
    CHECK_STR(t.path, "/");
    CHECK_EQ(TARGET("http://evil/health", "x"), -1);
    CHECK_EQ(e.status, 400);
    CHECK_EQ(TARGET("http://user@x/health", "x"), -1);
    CHECK_EQ(TARGET("ftp://x/health", "x"), -1);
    CHECK_EQ(TARGET("x:80", "x"), -1);
    CHECK_EQ(TARGET("*", "x"), 0);
    CHECK(t.asterisk);

    char q[8192] = "/?";
    size_t qn = 2;
    for (int i = 0; i <= HTTP1_MAX_QUERY; i++, qn += 4)
        memcpy(q + qn, "a=1&", 4);
    q[qn] = '\0';
    CHECK_EQ(TARGET(q, "x"), -1);
    CHECK_EQ(e.status, 414);
#undef TARGET
    mt_arena_free(a);
}

int main(void)
{
    test_heads();
    test_limits();
    test_incremental_scan();
    test_framing();
    test_chunked();
    test_targets();
    return check_report();
}
