/* HTTP/1.1 request syntax and framing by the book (RFC 9112 §2–§7, RFC 9110
 * §5): the strict reading that keeps a front proxy and this server agreeing
 * on where each request starts and ends. Pure functions over bytes, shared
 * by server.c, the unit tests and the framing fuzzer. */
#include "api/http1.h"

#include <string.h>
#include <strings.h>

#include "core/str.h"

static int fail(struct http1_error *e, int status, const char *detail)
{
    e->status = status;
    e->detail = detail;
    return HTTP1_ERROR;
}

/* tchar of RFC 9110 §5.6.2. */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Octets allowed in a field value: HTAB, SP, VCHAR and obs-text. */
static bool is_field_octet(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

bool http1_ieq(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

/* ---- finding the end of the head ---- */

int http1_scan_head(struct http1_scan *s, const char *buf, size_t len, size_t *head_len,
                    struct http1_error *e)
{
    size_t i = s->pos;
    /* Where the current line starts: the request line until it has ended. */
    size_t line_start = s->line_end ? s->line_end : s->start;
    if (s->line_end && s->pos > s->line_end) {
        /* Resume inside a field line: find its start again from pos. */
        size_t j = s->pos;
        while (j > s->line_end && buf[j - 1] != '\n')
            j--;
        line_start = j;
    }
    while (i < len) {
        char c = buf[i];
        if (c == '\n')
            return fail(e, 400, "invalid line ending in the request head: LF without CR");
        if (c == '\r') {
            if (i + 1 >= len)
                break; /* wait for the byte after the CR */
            if (buf[i + 1] != '\n')
                return fail(e, 400, "invalid line ending in the request head: CR without LF");
            if (!s->line_end) {
                if (i == s->start) {
                    /* Empty lines before the request line are ignored
                     * (RFC 9112 §2.2), within the overall limit. */
                    s->start = i + 2;
                } else {
                    s->line_end = i + 2;
                }
                line_start = i + 2;
            } else if (i == line_start) {
                *head_len = i + 2;
                s->pos = i + 2;
                return HTTP1_DONE;
            } else {
                line_start = i + 2;
            }
            i += 2;
            continue;
        }
        if (!s->line_end && i - s->start >= HTTP1_MAX_LINE)
            return fail(e, 414, "request line too long");
        if (i >= HTTP1_MAX_HEAD || (s->line_end && i - s->line_end >= HTTP1_MAX_FIELDS_BYTES))
            return fail(e, 431, "request header fields too large");
        i++;
    }
    if (!s->line_end && i > s->start && i - s->start >= HTTP1_MAX_LINE)
        return fail(e, 414, "request line too long");
    if (i >= HTTP1_MAX_HEAD)
        return fail(e, 431, "request header fields too large");
    s->pos = i;
    return HTTP1_INCOMPLETE;
}

/* ---- parsing the head ---- */

/* The end of the line starting at p (the index of its CR), or -1 when the
 * line has no CRLF. */
static long line_end(const char *buf, size_t len, size_t p)
{
    const char *cr = memchr(buf + p, '\r', len - p);
    if (!cr || (size_t)(cr - buf) + 1 >= len || cr[1] != '\n')
        return -1;
    return (long)(cr - buf);
}

static int parse_request_line(const char *line, size_t llen, struct http1_head *h,
                              struct http1_error *e)
{
    size_t m = 0;
    while (m < llen && is_tchar((unsigned char)line[m]))
        m++;
    if (m == 0 || m >= llen || line[m] != ' ')
        return fail(e, 400, "malformed request line");
    size_t t0 = m + 1, t = t0;
    while (t < llen && line[t] != ' ') {
        unsigned char c = (unsigned char)line[t];
        if (c < 0x21 || c > 0x7e)
            return fail(e, 400, "invalid character in the request target");
        t++;
    }
    if (t == t0 || t >= llen)
        return fail(e, 400, "malformed request line");
    const char *v = line + t + 1;
    size_t vlen = llen - t - 1;
    if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
        v[7] < '0' || v[7] > '9')
        return fail(e, 400, "malformed request line");
    if (v[5] != '1' || v[7] > '1')
        return fail(e, 505, "HTTP version not supported");
    h->method = line;
    h->method_len = m;
    h->target = line + t0;
    h->target_len = t - t0;
    h->minor = v[7] - '0';
    return 0;
}

static int parse_field_line(const char *line, size_t llen, struct http1_head *h,
                            struct http1_error *e)
{
    if (is_ows(line[0]))
        return fail(e, 400, "obsolete line folding in the request head");
    size_t n = 0;
    while (n < llen && line[n] != ':') {
        unsigned char c = (unsigned char)line[n];
        if (!is_tchar(c))
            return fail(e, 400, is_ows((char)c) ? "whitespace between a header name and its colon"
                                                : "invalid character in a header name");
        n++;
    }
    if (n == 0 || n >= llen)
        return fail(e, 400, "malformed header line");
    size_t v = n + 1, end = llen;
    while (v < end && is_ows(line[v]))
        v++;
    while (end > v && is_ows(line[end - 1]))
        end--;
    for (size_t i = v; i < end; i++)
        if (!is_field_octet((unsigned char)line[i]))
            return fail(e, 400, "invalid character in a header value");
    if (h->n_fields >= HTTP1_MAX_FIELDS)
        return fail(e, 431, "too many header fields");
    struct http1_field *f = &h->fields[h->n_fields++];
    f->name = line;
    f->name_len = n;
    f->value = line + v;
    f->value_len = end - v;
    return 0;
}

int http1_parse_head(const char *buf, size_t len, struct http1_head *h, struct http1_error *e)
{
    size_t p = 0;
    h->n_fields = 0;
    while (p + 1 < len && buf[p] == '\r' && buf[p + 1] == '\n')
        p += 2;
    long end = line_end(buf, len, p);
    if (end < 0)
        return fail(e, 400, "malformed request line");
    if (parse_request_line(buf + p, (size_t)end - p, h, e) < 0)
        return -1;
    p = (size_t)end + 2;
    for (;;) {
        end = line_end(buf, len, p);
        if (end < 0)
            return fail(e, 400, "malformed header line");
        if ((size_t)end == p)
            return 0;
        if (parse_field_line(buf + p, (size_t)end - p, h, e) < 0)
            return -1;
        p = (size_t)end + 2;
    }
}

/* ---- framing ---- */

/* Calls fn for each non-empty element of a comma-separated field value,
 * trimmed of OWS. Stops at the first element fn refuses (returns -1). */
static int each_element(const char *v, size_t len, int (*fn)(const char *, size_t, void *),
                        void *ctx)
{
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && v[j] != ',')
            j++;
        size_t a = i, b = j;
        while (a < b && is_ows(v[a]))
            a++;
        while (b > a && is_ows(v[b - 1]))
            b--;
        if (b > a && fn(v + a, b - a, ctx) < 0)
            return -1;
        i = j + 1;
    }
    return 0;
}

struct length_state {
    bool seen;
    bool differ;
    uint64_t value;
};

static int length_element(const char *s, size_t n, void *vctx)
{
    struct length_state *st = vctx;
    uint64_t v = 0;
    if (n > 18)
        return -1; /* beyond any body we would take, and near int64's end */
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (st->seen && v != st->value) {
        st->differ = true;
        return -1;
    }
    st->seen = true;
    st->value = v;
    return 0;
}

struct coding_state {
    size_t n;
    size_t chunked;
    bool last_chunked;
    bool unknown;
    bool chunked_params;
};

static int coding_element(const char *s, size_t n, void *vctx)
{
    struct coding_state *st = vctx;
    size_t name = 0;
    while (name < n && s[name] != ';' && !is_ows(s[name]))
        name++;
    st->n++;
    bool chunked = http1_ieq(s, name, "chunked");
    if (chunked) {
        st->chunked++;
        if (name != n)
            st->chunked_params = true;
    } else {
        st->unknown = true;
    }
    st->last_chunked = chunked;
    return 0;
}

struct conn_state {
    bool close, keep_alive;
};

static int connection_element(const char *s, size_t n, void *vctx)
{
    struct conn_state *st = vctx;
    if (http1_ieq(s, n, "close"))
        st->close = true;
    else if (http1_ieq(s, n, "keep-alive"))
        st->keep_alive = true;
    return 0;
}

/* reg-name, IPv4, IP-literal and port characters (RFC 3986 §3.2.2). */
static bool valid_host(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  strchr("-._~!$&'()*+,;=:[]%", c) != NULL;
        if (!ok || c == 0)
            return false;
    }
    return true;
}

int http1_framing(const struct http1_head *h, struct http1_framing *f, struct http1_error *e)
{
    struct length_state cl = {0};
    struct coding_state te = {0};
    struct conn_state conn = {0};
    bool has_cl = false, has_te = false;
    size_t n_host = 0;

    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < h->n_fields; i++) {
        const struct http1_field *fd = &h->fields[i];
        if (http1_ieq(fd->name, fd->name_len, "content-length")) {
            has_cl = true;
            if (each_element(fd->value, fd->value_len, length_element, &cl) < 0 || !cl.seen)
                return fail(e, 400,
                            cl.differ ? "differing Content-Length values"
                                      : "invalid Content-Length");
        } else if (http1_ieq(fd->name, fd->name_len, "transfer-encoding")) {
            has_te = true;
            each_element(fd->value, fd->value_len, coding_element, &te);
        } else if (http1_ieq(fd->name, fd->name_len, "host")) {
            n_host++;
            f->host = fd->value;
            f->host_len = fd->value_len;
        } else if (http1_ieq(fd->name, fd->name_len, "connection")) {
            each_element(fd->value, fd->value_len, connection_element, &conn);
        } else if (http1_ieq(fd->name, fd->name_len, "expect") && h->minor >= 1) {
            /* An HTTP/1.0 client cannot mean 100-continue (RFC 9110 §10.1.1). */
            if (!http1_ieq(fd->value, fd->value_len, "100-continue"))
                return fail(e, 417, "unsupported expectation");
            f->expect_continue = true;
        }
    }

    if (has_te) {
        if (h->minor == 0)
            return fail(e, 400, "Transfer-Encoding in an HTTP/1.0 request");
        if (has_cl)
            return fail(e, 400, "both Content-Length and Transfer-Encoding");
        if (te.n == 0 || te.chunked > 1 || (te.chunked == 1 && !te.last_chunked) ||
            te.chunked_params)
            return fail(e, 400, "invalid Transfer-Encoding: chunked must be the single final coding");
        if (te.unknown)
            return fail(e, 501, "unsupported transfer coding");
        f->body = HTTP1_BODY_CHUNKED;
    } else if (has_cl && cl.value > 0) {
        f->body = HTTP1_BODY_LENGTH;
        f->length = cl.value;
    }

    if (h->minor >= 1 && n_host == 0)
        return fail(e, 400, "missing Host header");
    if (n_host > 1)
        return fail(e, 400, "more than one Host header");
    if (f->host && !valid_host(f->host, f->host_len))
        return fail(e, 400, "invalid Host header");
    f->keep_alive = h->minor >= 1 ? !conn.close : conn.keep_alive && !conn.close;
    return 0;
}

/* ---- chunked bodies ---- */

enum {
    CH_SIZE = 0,   /* the first hex digit of a chunk size */
    CH_SIZE_MORE,  /* more hex digits, or what follows them */
    CH_SIZE_WS,    /* whitespace after the size: only ";" may follow */
    CH_EXT,        /* a chunk extension, up to CR */
    CH_SIZE_LF,
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TRAILER,    /* the start of a trailer line, or the final CRLF */
    CH_TRAILER_NAME,
    CH_TRAILER_VALUE,
    CH_TRAILER_LF,
    CH_END_LF,
    CH_DONE,
};

#define CHUNK_MAX_DIGITS 15
#define CHUNK_MAX_EXT 4096
#define CHUNK_MAX_TRAILERS 8192

int http1_chunked_feed(struct http1_chunked *c, const char *in, size_t len, size_t *used,
                       const char **data, size_t *data_len, struct http1_error *e)
{
    size_t i = 0;
    *data = NULL;
    *data_len = 0;
    while (i < len && c->state != CH_DONE) {
        char ch = in[i];
        switch (c->state) {
        case CH_SIZE:
        case CH_SIZE_MORE: {
            int v = mt_hex_digit(ch);
            if (v >= 0) {
                if (++c->digits > CHUNK_MAX_DIGITS) {
                    *used = i;
                    return fail(e, 413, "chunk size too large");
                }
                c->remaining = c->remaining * 16 + (uint64_t)v;
                c->state = CH_SIZE_MORE;
            } else if (c->state == CH_SIZE) {
                *used = i;
                return fail(e, 400, "invalid chunk size");
            } else if (ch == ';' || is_ows(ch)) {
                c->state = ch == ';' ? CH_EXT : CH_SIZE_WS;
                c->aux = 0;
            } else if (ch == '\r') {
                c->state = CH_SIZE_LF;
            } else {
                *used = i;
                return fail(e, 400, "invalid chunk size");
            }
            i++;
            break;
        }
        case CH_SIZE_WS:
            /* BWS is allowed before an extension, not before the CRLF. */
            if (ch == ';') {
                c->state = CH_EXT;
            } else if (!is_ows(ch) || ++c->aux > CHUNK_MAX_EXT) {
                *used = i;
                return fail(e, 400, "invalid chunk size line");
            }
            i++;
            break;
        case CH_EXT:
            if (ch == '\r') {
                c->state = CH_SIZE_LF;
            } else if (!is_field_octet((unsigned char)ch) || ++c->aux > CHUNK_MAX_EXT) {
                *used = i;
                return fail(e, 400, "invalid chunk extension");
            }
            i++;
            break;
        case CH_SIZE_LF:
            if (ch != '\n') {
                *used = i;
                return fail(e, 400, "invalid chunk size line");
            }
            i++;
            c->digits = 0;
            if (c->remaining == 0) {
                c->state = CH_TRAILER;
                c->aux = 0;
            } else {
                c->state = CH_DATA;
            }
            break;
        case CH_DATA: {
            size_t n = len - i;
            if ((uint64_t)n > c->remaining)
                n = (size_t)c->remaining;
            *data = in + i;
            *data_len = n;
            c->remaining -= n;
            i += n;
            if (c->remaining == 0)
                c->state = CH_DATA_CR;
            *used = i;
            return HTTP1_INCOMPLETE;
        }
        case CH_DATA_CR:
        case CH_DATA_LF:
            if (ch != (c->state == CH_DATA_CR ? '\r' : '\n')) {
                *used = i;
                return fail(e, 400, "chunk data not followed by CRLF");
            }
            c->state = c->state == CH_DATA_CR ? CH_DATA_LF : CH_SIZE;
            i++;
            break;
        case CH_TRAILER:
            if (ch == '\r') {
                c->state = CH_END_LF;
            } else if (is_tchar((unsigned char)ch)) {
                c->state = CH_TRAILER_NAME;
            } else {
                *used = i;
                return fail(e, 400, "invalid trailer field");
            }
            c->aux++;
            i++;
            break;
        case CH_TRAILER_NAME:
        case CH_TRAILER_VALUE:
            if (++c->aux > CHUNK_MAX_TRAILERS) {
                *used = i;
                return fail(e, 431, "trailer fields too large");
            }
            if (c->state == CH_TRAILER_NAME) {
                if (ch == ':')
                    c->state = CH_TRAILER_VALUE;
                else if (!is_tchar((unsigned char)ch)) {
                    *used = i;
                    return fail(e, 400, "invalid trailer field");
                }
            } else if (ch == '\r') {
                c->state = CH_TRAILER_LF;
            } else if (!is_field_octet((unsigned char)ch)) {
                *used = i;
                return fail(e, 400, "invalid trailer field");
            }
            i++;
            break;
        case CH_TRAILER_LF:
        case CH_END_LF:
            if (ch != '\n') {
                *used = i;
                return fail(e, 400, "invalid line ending in the chunked body");
            }
            c->state = c->state == CH_END_LF ? CH_DONE : CH_TRAILER;
            i++;
            break;
        default:
            *used = i;
            return fail(e, 400, "invalid chunked body");
        }
    }
    *used = i;
    return c->state == CH_DONE ? HTTP1_DONE : HTTP1_INCOMPLETE;
}

/* ---- the request target ---- */

static int hex_pair(const char *s, size_t left)
{
    if (left < 3)
        return -1;
    int hi = mt_hex_digit(s[1]), lo = mt_hex_digit(s[2]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* Percent-decodes s[0..n) into a new arena string. With plus, "+" is a
 * space. Sets *ctl when a decoded byte is a control character, *nul when it
 * is NUL. NULL when the arena is exhausted. */
static char *decode(struct mt_arena *arena, const char *s, size_t n, bool plus, bool *ctl,
                    bool *nul)
{
    char *out = mt_arena_alloc(arena, n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int v;
        if (c == '%' && (v = hex_pair(s + i, n - i)) >= 0) {
            c = (unsigned char)v;
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c < 0x20 || c == 0x7f)
            *ctl = true;
        if (c == 0)
            *nul = true;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return out;
}

static int split_query(const char *q, size_t n, struct mt_arena *arena, struct http1_target *t,
                       struct http1_error *e)
{
    size_t count = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && q[j] != '&')
            j++;
        if (j > i)
            count++;
        i = j + 1;
    }
    if (count > HTTP1_MAX_QUERY)
        return fail(e, 414, "too many query parameters");
    if (count == 0)
        return 0;
    struct http1_param *params = mt_arena_calloc(arena, count, sizeof(*params));
    if (!params)
        return fail(e, 503, "the server is out of memory for this request");
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && q[j] != '&')
            j++;
        if (j > i) {
            const char *eq = memchr(q + i, '=', j - i);
            size_t name_end = eq ? (size_t)(eq - q) : j;
            bool ctl = false, nul = false;
            const char *name = decode(arena, q + i, name_end - i, true, &ctl, &nul);
            const char *value =
                eq ? decode(arena, eq + 1, j - name_end - 1, true, &ctl, &nul) : "";
            if (!name || !value)
                return fail(e, 503, "the server is out of memory for this request");
            if (nul)
                return fail(e, 400, "NUL character in the query string");
            params[k].name = name;
            params[k].value = value;
            k++;
        }
        i = j + 1;
    }
    t->query = params;
    t->n_query = k;
    return 0;
}

static bool starts_with_i(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n >= l && http1_ieq(s, l, lit);
}

int http1_target(const char *target, size_t len, const char *host, size_t host_len,
                 struct mt_arena *arena, struct http1_target *t, struct http1_error *e)
{
    memset(t, 0, sizeof(*t));
    if (len == 1 && target[0] == '*') {
        t->asterisk = true;
        t->path = "*";
        return 0;
    }
    const char *p = target;
    size_t n = len;
    if (n == 0 || p[0] != '/') {
        size_t skip = starts_with_i(p, n, "http://")    ? 7
                      : starts_with_i(p, n, "https://") ? 8
                                                        : 0;
        if (!skip)
            return fail(e, 400, "unsupported request target");
        size_t a = skip;
        while (a < n && p[a] != '/' && p[a] != '?')
            a++;
        const char *authority = p + skip;
        size_t alen = a - skip;
        if (alen == 0 || !host || alen != host_len || strncasecmp(authority, host, alen) != 0)
            return fail(e, 400, "request target does not match the Host header");
        p += a;
        n -= a;
    }
    const char *qm = memchr(p, '?', n);
    size_t path_len = qm ? (size_t)(qm - p) : n;
    bool ctl = false, nul = false;
    char *path = path_len ? decode(arena, p, path_len, false, &ctl, &nul)
                          : mt_arena_strdup(arena, "/");
    if (!path)
        return fail(e, 503, "the server is out of memory for this request");
    if (ctl)
        return fail(e, 400, "control character in the request path");
    t->path = path;
    if (qm)
        return split_query(qm + 1, n - path_len - 1, arena, t, e);
    return 0;
}

/* ---- reason phrases ---- */

const char *http1_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Request Entity Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Entity";
    case 423: return "Locked";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
    }
}
