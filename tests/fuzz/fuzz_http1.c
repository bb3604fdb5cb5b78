/* libFuzzer target over the HTTP/1.1 framing code the server runs
 * (src/api/http1.c): arbitrary bytes are a client's byte stream, delivered in
 * pieces whose size the input's length picks, and go through the same steps
 * as in server.c: find the end of the head incrementally, parse it, decide
 * the framing, decode the target, then read the body (Content-Length or
 * chunked) and go on with the next pipelined request. Besides the
 * sanitizers' checks it asserts the framing invariants: the incremental scan
 * agrees with a scan of the whole buffer, nothing consumes more than it was
 * given, and a body never outgrows what arrived. Built by `make fuzz-http`;
 * tests/fuzz/replay.c runs the seed corpus (tests/fuzz/corpus-http/) in
 * `make test`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/http1.h"
#include "core/arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* Scans buf[0..len) for a head in pieces of step bytes; the result must not
 * depend on how the bytes were split. */
static int scan_in_pieces(const char *buf, size_t len, size_t step, size_t *head_len,
                          struct http1_error *e)
{
    struct http1_scan s = {0};
    size_t have = 0;
    int rc = HTTP1_INCOMPLETE;
    while (have < len) {
        have += step;
        if (have > len)
            have = len;
        rc = http1_scan_head(&s, buf, have, head_len, e);
        if (rc != HTTP1_INCOMPLETE)
            return rc;
    }
    return rc;
}

/* One request at the start of buf; returns the bytes it used, 0 when the
 * stream ends (incomplete or refused). */
static size_t one_request(const char *buf, size_t len, size_t step, struct mt_arena *arena)
{
    size_t head_len = 0, whole_len = 0;
    struct http1_error e = {0}, e2 = {0};
    int rc = scan_in_pieces(buf, len, step, &head_len, &e);
    struct http1_scan whole = {0};
    int rc2 = http1_scan_head(&whole, buf, len, &whole_len, &e2);
    REQUIRE(rc == rc2);
    if (rc == HTTP1_ERROR)
        REQUIRE(e.status == e2.status && e.status >= 400 && e.status <= 599);
    if (rc != HTTP1_DONE)
        return 0;
    REQUIRE(head_len == whole_len && head_len <= len && head_len <= HTTP1_MAX_HEAD + 2);

    struct http1_head h;
    if (http1_parse_head(buf, head_len, &h, &e) < 0) {
        REQUIRE(e.status >= 400 && e.status <= 599);
        return 0;
    }
    REQUIRE(h.method_len > 0 && h.target_len > 0 && (h.minor == 0 || h.minor == 1));
    struct http1_framing f;
    if (http1_framing(&h, &f, &e) < 0)
        return 0;
    struct http1_target t;
    if (http1_target(h.target, h.target_len, f.host, f.host_len, arena, &t, &e) == 0) {
        REQUIRE(t.path != NULL);
        REQUIRE(t.n_query <= HTTP1_MAX_QUERY);
        for (const char *p = t.path; *p && !t.asterisk; p++)
            REQUIRE((unsigned char)*p >= 0x20 && *p != 0x7f);
    }

    size_t off = head_len;
    if (f.body == HTTP1_BODY_LENGTH) {
        if (f.length > len - off)
            return 0;
        return off + (size_t)f.length;
    }
    if (f.body == HTTP1_BODY_CHUNKED) {
        struct http1_chunked c = {0};
        size_t body = 0;
        while (off < len) {
            size_t piece = len - off < step ? len - off : step;
            size_t used = 0;
            const char *d = NULL;
            size_t dlen = 0;
            rc = http1_chunked_feed(&c, buf + off, piece, &used, &d, &dlen, &e);
            REQUIRE(used <= piece);
            if (dlen)
                REQUIRE(d >= buf + off && d + dlen <= buf + off + used);
            body += dlen;
            REQUIRE(body <= len);
            off += used;
            if (rc == HTTP1_ERROR)
                return 0;
            if (rc == HTTP1_DONE)
                return off;
            if (used == 0 && dlen == 0)
                return 0;
        }
        return 0;
    }
    return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The piece size comes from the input's length, so that seeds are plain
     * request bytes and every split size gets exercised as inputs grow. */
    size_t step = size % 61 + 1;
    const char *buf = (const char *)data;
    size_t len = size;
    struct mt_arena *arena = mt_arena_new(4 << 20);
    /* Pipelined requests: each starts where the previous one ended. */
    for (int i = 0; i < 64 && len > 0; i++) {
        size_t used = one_request(buf, len, step, arena);
        if (used == 0)
            break;
        REQUIRE(used <= len);
        buf += used;
        len -= used;
    }
    mt_arena_free(arena);
    return 0;
}
