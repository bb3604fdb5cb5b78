/* The JSON pull reader (see jsonpull.h): a small state machine over the
 * input, which is read in blocks from a file or walked in memory, strings
 * unescaped into one growing buffer, numbers checked against RFC 8259's
 * grammar before they are converted. */
#include "api/jsonpull.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/jsonin.h"
#include "core/err.h"
#include "core/str.h"

/* What the reader expects next. */
enum {
    S_VALUE,          /* a value: the document's, an array item after ',' or a member's */
    S_VALUE_OR_CLOSE, /* after '[' */
    S_KEY,            /* after ',' in an object */
    S_KEY_OR_CLOSE,   /* after '{' */
    S_AFTER,          /* after a value: ',' or the container's end (or the document's) */
    S_DONE,
};

static void init_common(struct api_jpull *p)
{
    p->eof = false;
    p->consumed = 0;
    p->line = 1;
    p->line_start = 0;
    p->depth = 0;
    p->state = S_VALUE;
    p->tok = API_JT_NULL;
    p->str = NULL;
    p->str_len = 0;
    p->str_cap = 0;
    p->i = 0;
    p->d = 0;
    p->msg[0] = '\0';
}

void api_jp_init_mem(struct api_jpull *p, const char *data, size_t len)
{
    init_common(p);
    p->mem = data;
    p->mem_len = len;
    p->file = NULL;
    p->p = data;
    p->end = data + len;
    p->eof = true;
}

void api_jp_init_file(struct api_jpull *p, FILE *file)
{
    init_common(p);
    p->mem = NULL;
    p->mem_len = 0;
    p->file = file;
    p->p = p->block;
    p->end = p->block;
}

void api_jp_release(struct api_jpull *p)
{
    free(p->str);
    p->str = NULL;
    p->str_cap = 0;
}

static enum api_jtok fail(struct api_jpull *p, const char *msg)
{
    if (p->tok == API_JT_ERROR)
        return API_JT_ERROR;
    int64_t at = p->consumed;
    p->err_offset = at;
    p->err_line = p->line;
    p->err_column = at - p->line_start + 1;
    snprintf(p->msg, sizeof(p->msg), "%s", msg);
    p->tok = API_JT_ERROR;
    p->state = S_DONE;
    return API_JT_ERROR;
}

/* Makes at least one unread byte available; false at the end of input
 * (or a read error, then recorded). */
static bool fill(struct api_jpull *p)
{
    if (p->p < p->end)
        return true;
    if (p->eof)
        return false;
    size_t n = fread(p->block, 1, sizeof(p->block), p->file);
    if (n == 0) {
        p->eof = true;
        if (ferror(p->file))
            fail(p, "cannot read the file");
        return false;
    }
    p->p = p->block;
    p->end = p->block + n;
    return true;
}

/* The next byte, or -1 at the end; advances. */
static int get(struct api_jpull *p)
{
    if (!fill(p))
        return -1;
    unsigned char c = (unsigned char)*p->p++;
    p->consumed++;
    if (c == '\n') {
        p->line++;
        p->line_start = p->consumed;
    }
    return c;
}

/* The next byte without taking it, or -1. */
static int peek(struct api_jpull *p)
{
    return fill(p) ? (unsigned char)*p->p : -1;
}

static int skip_space(struct api_jpull *p)
{
    for (;;) {
        int c = peek(p);
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return c;
        get(p);
    }
}

static bool str_add(struct api_jpull *p, const char *s, size_t n)
{
    if (p->str_len + n + 1 > p->str_cap) {
        if (p->str_len + n > API_JP_MAX_STRING) {
            fail(p, "string longer than 1 MiB");
            return false;
        }
        size_t cap = p->str_cap ? p->str_cap : 256;
        while (cap < p->str_len + n + 1)
            cap *= 2;
        p->str = mt_xrealloc(p->str, cap);
        p->str_cap = cap;
    }
    memcpy(p->str + p->str_len, s, n);
    p->str_len += n;
    p->str[p->str_len] = '\0';
    return true;
}

static int hex4(struct api_jpull *p)
{
    int v = 0;
    for (int k = 0; k < 4; k++) {
        int c = get(p);
        int d = c < 0 ? -1 : mt_hex_digit((char)c);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* One escape after the backslash. */
static bool escape(struct api_jpull *p)
{
    int c = get(p);
    char one;
    switch (c) {
    case '"':
    case '\\':
    case '/':
        one = (char)c;
        break;
    case 'b':
        one = '\b';
        break;
    case 'f':
        one = '\f';
        break;
    case 'n':
        one = '\n';
        break;
    case 'r':
        one = '\r';
        break;
    case 't':
        one = '\t';
        break;
    case 'u': {
        int hi = hex4(p);
        if (hi < 0) {
            fail(p, "invalid \\u escape");
            return false;
        }
        uint32_t cp = (uint32_t)hi;
        if (hi >= 0xDC00 && hi <= 0xDFFF) {
            fail(p, "lone UTF-16 surrogate in a \\u escape");
            return false;
        }
        if (hi >= 0xD800 && hi <= 0xDBFF) {
            int lo = -1;
            if (get(p) == '\\' && get(p) == 'u')
                lo = hex4(p);
            if (lo < 0xDC00 || lo > 0xDFFF) {
                fail(p, "lone UTF-16 surrogate in a \\u escape");
                return false;
            }
            cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
        }
        char buf[4];
        return str_add(p, buf, mt_utf8_put(buf, cp));
    }
    default:
        fail(p, "invalid escape in a string");
        return false;
    }
    return str_add(p, &one, 1);
}

/* A string, the opening quote already taken. Runs of plain bytes are
 * copied at once; the whole is checked to be UTF-8 at the end. */
static bool string(struct api_jpull *p)
{
    p->str_len = 0;
    if (!str_add(p, "", 0))
        return false;
    for (;;) {
        if (!fill(p)) {
            fail(p, "unterminated string");
            return false;
        }
        const char *s = p->p;
        while (s < p->end && *s != '"' && *s != '\\' && (unsigned char)*s >= 0x20)
            s++;
        size_t n = (size_t)(s - p->p);
        if (n) {
            if (!str_add(p, p->p, n))
                return false;
            p->p += n;
            p->consumed += (int64_t)n;
        }
        if (p->p == p->end)
            continue;
        int c = get(p);
        if (c == '"')
            break;
        if (c == '\\') {
            if (!escape(p))
                return false;
            continue;
        }
        fail(p, "control character in a string (escape it)");
        return false;
    }
    if (!api_utf8_valid(p->str, p->str_len)) {
        fail(p, "string is not valid UTF-8");
        return false;
    }
    return true;
}

/* A number: RFC 8259's grammar, then int64 when it is an integer that
 * fits, else a double. */
static enum api_jtok number(struct api_jpull *p)
{
    char buf[64];
    size_t n = 0;
    bool integer = true;
#define TAKE()                                                                                     \
    do {                                                                                           \
        if (n + 1 >= sizeof(buf))                                                                  \
            return fail(p, "number too long");                                                     \
        buf[n++] = (char)get(p);                                                                   \
    } while (0)
    if (peek(p) == '-')
        TAKE();
    int c = peek(p);
    if (c == '0') {
        TAKE();
    } else if (c >= '1' && c <= '9') {
        while (peek(p) >= '0' && peek(p) <= '9')
            TAKE();
    } else {
        return fail(p, "invalid number");
    }
    if (peek(p) == '.') {
        integer = false;
        TAKE();
        if (!(peek(p) >= '0' && peek(p) <= '9'))
            return fail(p, "invalid number: digits must follow '.'");
        while (peek(p) >= '0' && peek(p) <= '9')
            TAKE();
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        integer = false;
        TAKE();
        if (peek(p) == '+' || peek(p) == '-')
            TAKE();
        if (!(peek(p) >= '0' && peek(p) <= '9'))
            return fail(p, "invalid number: digits must follow the exponent");
        while (peek(p) >= '0' && peek(p) <= '9')
            TAKE();
    }
#undef TAKE
    buf[n] = '\0';
    if (integer) {
        errno = 0;
        char *endp;
        long long v = strtoll(buf, &endp, 10);
        if (errno == 0 && *endp == '\0') {
            p->i = v;
            return API_JT_INT;
        }
    }
    p->d = strtod(buf, NULL);
    return API_JT_NUM;
}

static enum api_jtok literal(struct api_jpull *p, const char *word, enum api_jtok tok)
{
    /* The failing byte is not taken, so that the error points at it. */
    for (const char *w = word; *w; w++) {
        if (peek(p) != (unsigned char)*w)
            return fail(p, "invalid literal (expected true, false or null)");
        get(p);
    }
    return tok;
}

static enum api_jtok push(struct api_jpull *p, unsigned char kind)
{
    if (p->depth >= API_JP_MAX_DEPTH)
        return fail(p, "nested too deeply");
    p->stack[p->depth++] = kind;
    p->state = kind == '{' ? S_KEY_OR_CLOSE : S_VALUE_OR_CLOSE;
    return kind == '{' ? API_JT_OBJ : API_JT_ARR;
}

static enum api_jtok pop(struct api_jpull *p, unsigned char kind)
{
    p->depth--;
    p->state = S_AFTER;
    return kind == '{' ? API_JT_OBJ_END : API_JT_ARR_END;
}

static enum api_jtok value(struct api_jpull *p, int c)
{
    enum api_jtok t;
    switch (c) {
    case '{':
        get(p);
        return push(p, '{');
    case '[':
        get(p);
        return push(p, '[');
    case '"':
        get(p);
        if (!string(p))
            return API_JT_ERROR;
        t = API_JT_STR;
        break;
    case 't':
        t = literal(p, "true", API_JT_TRUE);
        break;
    case 'f':
        t = literal(p, "false", API_JT_FALSE);
        break;
    case 'n':
        t = literal(p, "null", API_JT_NULL);
        break;
    case -1:
        return fail(p, "unexpected end of the document: expected a value");
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            t = number(p);
            break;
        }
        return fail(p, "expected a value");
    }
    if (t != API_JT_ERROR)
        p->state = S_AFTER;
    return t;
}

static enum api_jtok key(struct api_jpull *p, int c)
{
    if (c != '"')
        return fail(p, c < 0 ? "unexpected end of the document: expected a member name"
                             : "expected a member name in double quotes");
    get(p);
    if (!string(p))
        return API_JT_ERROR;
    if (skip_space(p) != ':')
        return fail(p, "expected ':' after a member name");
    get(p);
    p->state = S_VALUE;
    return API_JT_KEY;
}

static enum api_jtok step(struct api_jpull *p)
{
    for (;;) {
        int c = skip_space(p);
        if (p->tok == API_JT_ERROR)
            return API_JT_ERROR;
        switch (p->state) {
        case S_VALUE:
            return value(p, c);
        case S_VALUE_OR_CLOSE:
            if (c == ']') {
                get(p);
                return pop(p, '[');
            }
            return value(p, c);
        case S_KEY_OR_CLOSE:
            if (c == '}') {
                get(p);
                return pop(p, '{');
            }
            return key(p, c);
        case S_KEY:
            return key(p, c);
        case S_AFTER:
            if (p->depth == 0) {
                if (c >= 0)
                    return fail(p, "extra data after the document");
                p->state = S_DONE;
                return API_JT_END;
            }
            {
                unsigned char top = p->stack[p->depth - 1];
                if (c == ',') {
                    get(p);
                    p->state = top == '{' ? S_KEY : S_VALUE;
                    continue;
                }
                if (c == (top == '{' ? '}' : ']')) {
                    get(p);
                    return pop(p, top);
                }
                if (c < 0)
                    return fail(p, "unexpected end of the document");
                return fail(p, top == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
            }
        default:
            return p->tok;
        }
    }
}

enum api_jtok api_jp_next(struct api_jpull *p)
{
    if (p->tok == API_JT_ERROR || p->state == S_DONE)
        return p->tok == API_JT_ERROR ? API_JT_ERROR : API_JT_END;
    enum api_jtok t = step(p);
    if (p->tok != API_JT_ERROR)
        p->tok = t;
    return p->tok;
}

bool api_jp_skip(struct api_jpull *p, enum api_jtok tok)
{
    if (tok == API_JT_ERROR)
        return false;
    if (tok != API_JT_OBJ && tok != API_JT_ARR)
        return true;
    int depth = 1;
    while (depth > 0) {
        enum api_jtok t = api_jp_next(p);
        if (t == API_JT_ERROR || t == API_JT_END)
            return false;
        if (t == API_JT_OBJ || t == API_JT_ARR)
            depth++;
        else if (t == API_JT_OBJ_END || t == API_JT_ARR_END)
            depth--;
    }
    return true;
}
