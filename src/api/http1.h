/* HTTP/1.1 message syntax and framing (RFC 9112), as pure functions over
 * bytes: finding the end of a request head, parsing it strictly, deciding how
 * the body is framed, decoding a chunked body incrementally, and splitting the
 * request target into a decoded path and query. server.c runs every request
 * through these; tests/unit/test_http1.c and the fuzz target
 * tests/fuzz/fuzz_http1.c drive the same code with raw bytes. Nothing here
 * allocates except http1_target, which uses the caller's arena. */
#ifndef MT_API_HTTP1_H
#define MT_API_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

/* Limits of a request head. A request line longer than HTTP1_MAX_LINE is
 * answered 414; a field section longer than HTTP1_MAX_FIELDS_BYTES or with
 * more than HTTP1_MAX_FIELDS fields 431; more query parameters than
 * HTTP1_MAX_QUERY 414. */
#define HTTP1_MAX_LINE 8192
#define HTTP1_MAX_FIELDS_BYTES 32768
#define HTTP1_MAX_HEAD (HTTP1_MAX_LINE + HTTP1_MAX_FIELDS_BYTES)
#define HTTP1_MAX_FIELDS 100
#define HTTP1_MAX_QUERY 1000

/* Results of the incremental functions. */
enum http1_rc {
    HTTP1_ERROR = -1,      /* the message is malformed: answer e->status, then close */
    HTTP1_INCOMPLETE = 0,  /* more bytes are needed */
    HTTP1_DONE = 1,
};

/* Why a message was refused: an HTTP status and a static, client-safe text. */
struct http1_error {
    int status;
    const char *detail;
};

/* Scanning state for http1_scan_head; zero-initialise before the first call
 * and again before each new request. */
struct http1_scan {
    size_t pos;       /* bytes already checked */
    size_t start;     /* where the request line starts (after leading CRLFs) */
    size_t line_end;  /* end of the request line once seen, else 0 */
};

/* Checks the bytes buf[scan->pos..len) of a request head as they arrive:
 * every line must end in CRLF (a bare CR or LF is an error), the request
 * line and the field section must stay within the limits above. Returns
 * HTTP1_DONE with *head_len set to the length of the whole head (up to and
 * including the empty line), HTTP1_INCOMPLETE when the head is not complete
 * yet, or HTTP1_ERROR with e filled. Work is linear in the bytes received,
 * however they are split. */
int http1_scan_head(struct http1_scan *scan, const char *buf, size_t len, size_t *head_len,
                    struct http1_error *e);

struct http1_field {
    const char *name, *value; /* into the caller's buffer, not NUL-terminated */
    size_t name_len, value_len;
};

struct http1_head {
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    int minor; /* HTTP/1.<minor>: 0 or 1 */
    struct http1_field fields[HTTP1_MAX_FIELDS];
    size_t n_fields;
};

/* Parses a complete head (as delimited by http1_scan_head, leading empty
 * lines included) strictly: method a token, single spaces, a target of
 * visible ASCII, version HTTP/1.0 or 1.1 (505 for others), field names
 * tokens followed directly by ":", no obsolete line folding, no control
 * characters in values (HTAB allowed). Pointers in h point into buf.
 * Returns 0, or -1 with e filled. */
int http1_parse_head(const char *buf, size_t len, struct http1_head *h, struct http1_error *e);

enum http1_body_kind {
    HTTP1_BODY_NONE,
    HTTP1_BODY_LENGTH,
    HTTP1_BODY_CHUNKED,
};

/* What the head says about the message around it (RFC 9112 §6, §9.3). */
struct http1_framing {
    enum http1_body_kind body;
    uint64_t length;          /* HTTP1_BODY_LENGTH only */
    bool keep_alive;          /* the client allows another request on this connection */
    bool expect_continue;     /* "Expect: 100-continue" */
    const char *host;         /* the Host value (NULL when absent), into the head */
    size_t host_len;
};

/* Decides the framing from the fields: Transfer-Encoding and Content-Length
 * together, differing or malformed Content-Length values, a coding list
 * other than one final "chunked", or Transfer-Encoding in HTTP/1.0 are 400;
 * an unknown transfer coding 501; a missing or repeated Host in HTTP/1.1
 * 400; an expectation other than 100-continue 417. Returns 0 or -1 with e. */
int http1_framing(const struct http1_head *h, struct http1_framing *f, struct http1_error *e);

/* Incremental chunked-body decoder. Zero-initialise, then feed bytes. */
struct http1_chunked {
    int state;
    uint64_t remaining; /* data bytes left in the current chunk */
    size_t digits;      /* hex digits of the current size */
    size_t aux;         /* bytes of the current extension or trailer section */
};

/* Consumes bytes from in[0..len): *used is how many were consumed; when the
 * consumed bytes include chunk data, *data / *data_len point at it (into
 * in). Call again with the rest while it returns HTTP1_INCOMPLETE and bytes
 * remain. Returns HTTP1_DONE after the last chunk and its trailer section
 * (trailers are checked and dropped); bytes after that are not consumed. */
int http1_chunked_feed(struct http1_chunked *c, const char *in, size_t len, size_t *used,
                       const char **data, size_t *data_len, struct http1_error *e);

/* One decoded query parameter; NUL-terminated arena strings. */
struct http1_param {
    const char *name, *value;
};

/* The request target, split and decoded. */
struct http1_target {
    const char *path;              /* percent-decoded, NUL-terminated */
    const struct http1_param *query;
    size_t n_query;
    bool asterisk;                 /* the target was "*" (OPTIONS only) */
};

/* Splits and decodes an origin-form ("/p?q"), absolute-form
 * ("http://host/p?q", accepted only when its authority equals host) or
 * asterisk-form target. A path that decodes to a control character, a query
 * value or name that decodes to NUL, or more than HTTP1_MAX_QUERY parameters
 * are refused. "+" in the query means a space; a "%" not followed by two hex
 * digits stays as it is (as the reference's decoder did). Strings come from
 * the arena; returns 0, or -1 with e (an arena failure is 503). */
int http1_target(const char *target, size_t len, const char *host, size_t host_len,
                 struct mt_arena *arena, struct http1_target *t, struct http1_error *e);

/* The reason phrase of a status code ("Not Found"); "Unknown" for others. */
const char *http1_reason(int status);

/* Case-insensitive comparison of a counted string with a C string. */
bool http1_ieq(const char *s, size_t len, const char *lit);

#endif
