/* The JSON reader for request bodies: a recursive-descent parser that follows
 * Python's json module (its grammar, its error messages and the character
 * position it reports) and builds an arena tree. Containers collect their
 * children on two malloc'ed scratch stacks that the parse frees before it
 * returns, so the arena only ever holds the final, exactly sized arrays. */
#include "api/jsonin.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"

static const char m_value[] = "Expecting value";
static const char m_name[] = "Expecting property name enclosed in double quotes";
static const char m_colon[] = "Expecting ':' delimiter";
static const char m_comma[] = "Expecting ',' delimiter";
static const char m_extra[] = "Extra data";
static const char m_unterminated[] = "Unterminated string starting at";
static const char m_control[] = "Invalid control character at";
static const char m_escape[] = "Invalid \\escape";
static const char m_uescape[] = "Invalid \\uXXXX escape";

/* The escapes other than \uXXXX, and the characters they stand for. */
static const char short_escapes[] = "\"\\/bfnrt";
static const char short_unescaped[] = "\"\\/\b\f\n\r\t";

/* A malloc'ed stack of fixed-size elements. */
struct scratch {
    void *data;
    size_t n, cap;
};

struct parser {
    struct mt_arena *arena;
    const char *s;
    size_t len;
    size_t i;
    int depth;
    /* Failure: status other than OK, with msg and the byte offset. */
    enum api_jstatus status;
    const char *msg;
    size_t err_off;
    /* Scratch stacks for the children of open containers: array items
     * (struct api_json *) and object members (struct api_jmember). */
    struct scratch items, members;
};

static void fail(struct parser *ps, const char *msg, size_t off)
{
    if (ps->status == API_JSON_OK) {
        ps->status = API_JSON_DECODE;
        ps->msg = msg;
        ps->err_off = off;
    }
}

static void fail_status(struct parser *ps, enum api_jstatus st)
{
    if (ps->status == API_JSON_OK)
        ps->status = st;
}

static void *arena_alloc(struct parser *ps, size_t n)
{
    void *p = mt_arena_alloc(ps->arena, n ? n : 1);
    if (!p)
        fail_status(ps, API_JSON_NOMEM);
    return p;
}

static void skip_ws(struct parser *ps)
{
    while (ps->i < ps->len) {
        char c = ps->s[ps->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        ps->i++;
    }
}

static struct api_json *new_value(struct parser *ps, enum api_jtype t)
{
    struct api_json *v = arena_alloc(ps, sizeof(*v));
    if (v)
        v->type = t;
    return v;
}

static bool match_word(struct parser *ps, const char *w)
{
    size_t n = strlen(w);
    return ps->len - ps->i >= n && memcmp(ps->s + ps->i, w, n) == 0;
}

/* Four hex digits at s[at]; -1 when they are not there. */
static long hex4(struct parser *ps, size_t at)
{
    if (ps->len < 4 || at > ps->len - 4)
        return -1;
    long v = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = mt_hex_digit(ps->s[at + k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* A string starting at the opening quote. Decoded text never grows (an
 * escape of 6 or 12 bytes yields at most 4), so the raw length bounds it. */
static bool parse_string(struct parser *ps, const char **out, size_t *out_len)
{
    size_t begin = ps->i;
    size_t i = begin + 1;
    size_t end = i;
    /* First pass: find the closing quote and check for control characters. */
    while (end < ps->len && ps->s[end] != '"') {
        unsigned char c = (unsigned char)ps->s[end];
        if (c < 0x20) {
            fail(ps, m_control, end);
            return false;
        }
        if (c == '\\') {
            if (end + 1 >= ps->len)
                break;
            char e = ps->s[end + 1];
            if (e == 'u') {
                if (hex4(ps, end + 2) < 0) {
                    fail(ps, m_uescape, end + 1);
                    return false;
                }
                end += 6;
                continue;
            }
            if (!strchr(short_escapes, e) || e == '\0') {
                fail(ps, m_escape, end);
                return false;
            }
            end += 2;
            continue;
        }
        end++;
    }
    if (end >= ps->len) {
        fail(ps, m_unterminated, begin);
        return false;
    }
    char *buf = arena_alloc(ps, end - i + 1);
    if (!buf)
        return false;
    size_t n = 0;
    while (i < end) {
        char c = ps->s[i];
        if (c != '\\') {
            buf[n++] = c;
            i++;
            continue;
        }
        char e = ps->s[i + 1];
        if (e != 'u') {
            /* The first pass let only the escapes of short_escapes through. */
            buf[n++] = short_unescaped[strchr(short_escapes, e) - short_escapes];
            i += 2;
            continue;
        }
        long cp = hex4(ps, i + 2);
        size_t used = 6;
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 7 < end && ps->s[i + 6] == '\\' &&
            ps->s[i + 7] == 'u') {
            long lo = hex4(ps, i + 8);
            if (lo < 0) {
                fail(ps, m_uescape, i + 7);
                return false;
            }
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                used = 12;
            }
        }
        /* A lone surrogate cannot be stored as UTF-8. */
        if (cp >= 0xD800 && cp <= 0xDFFF)
            cp = 0xFFFD;
        n += mt_utf8_put(buf + n, (unsigned long)cp);
        i += used;
    }
    buf[n] = '\0';
    ps->i = end + 1;
    *out = buf;
    *out_len = n;
    return true;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Python's NUMBER_RE: -?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)? ; false when no
 * number starts here. */
static struct api_json *parse_number(struct parser *ps)
{
    size_t start = ps->i, i = ps->i;
    if (i < ps->len && ps->s[i] == '-')
        i++;
    if (i >= ps->len || !is_digit(ps->s[i])) {
        fail(ps, m_value, start);
        return NULL;
    }
    if (ps->s[i] == '0')
        i++;
    else
        while (i < ps->len && is_digit(ps->s[i]))
            i++;
    bool is_float = false;
    if (i + 1 < ps->len && ps->s[i] == '.' && is_digit(ps->s[i + 1])) {
        is_float = true;
        i += 2;
        while (i < ps->len && is_digit(ps->s[i]))
            i++;
    }
    if (i < ps->len && (ps->s[i] == 'e' || ps->s[i] == 'E')) {
        size_t j = i + 1;
        if (j < ps->len && (ps->s[j] == '+' || ps->s[j] == '-'))
            j++;
        if (j < ps->len && is_digit(ps->s[j])) {
            is_float = true;
            while (j < ps->len && is_digit(ps->s[j]))
                j++;
            i = j;
        }
    }
    size_t n = i - start;
    char tmp[400];
    char *text = n < sizeof(tmp) ? tmp : arena_alloc(ps, n + 1);
    if (!text)
        return NULL;
    memcpy(text, ps->s + start, n);
    text[n] = '\0';
    struct api_json *v;
    if (!is_float) {
        bool neg = text[0] == '-';
        int64_t acc = 0;
        bool big = false;
        for (size_t k = neg ? 1 : 0; k < n; k++) {
            int d = text[k] - '0';
            /* Accumulate negatively so that INT64_MIN fits. */
            if (acc < (INT64_MIN + d) / 10) {
                big = true;
                break;
            }
            acc = acc * 10 - d;
        }
        if (!big && !neg && acc == INT64_MIN)
            big = true;
        if (big) {
            v = new_value(ps, API_J_BIGINT);
            if (v) {
                v->v.big.negative = neg;
                v->v.big.approx = strtod(text, NULL);
            }
        } else {
            v = new_value(ps, API_J_INT);
            if (v)
                v->v.i = neg ? acc : -acc;
        }
    } else {
        double d = strtod(text, NULL);
        /* Python would read an infinity here; refuse it like NaN. */
        if (d > 1.7976931348623157e308 || d < -1.7976931348623157e308) {
            fail(ps, m_value, start);
            return NULL;
        }
        v = new_value(ps, API_J_REAL);
        if (v)
            v->v.d = d;
    }
    ps->i = i;
    return v;
}

/* Appends one element of size bytes to a scratch stack; false (and
 * NOMEM) when its size would overflow. */
static bool stack_push(struct parser *ps, struct scratch *st, const void *elem, size_t size)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 16;
        size_t bytes;
        if (!mt_size_mul(cap, size, &bytes)) {
            fail_status(ps, API_JSON_NOMEM);
            return false;
        }
        st->data = mt_xrealloc(st->data, bytes);
        st->cap = cap;
    }
    memcpy((char *)st->data + st->n * size, elem, size);
    st->n++;
    return true;
}

/* Moves the elements a container pushed since base from the scratch stack
 * into an exactly sized arena array. NULL when the arena is full. */
static void *stack_take(struct parser *ps, struct scratch *st, size_t base, size_t size, size_t *n)
{
    *n = st->n - base;
    void *out = arena_alloc(ps, *n * size);
    if (out && *n)
        memcpy(out, (char *)st->data + base * size, *n * size);
    st->n = base;
    return out;
}

static struct api_json *parse_value(struct parser *ps);

/* One array item at ps->i, onto the items stack. */
static bool parse_item(struct parser *ps)
{
    struct api_json *item = parse_value(ps);
    return item && stack_push(ps, &ps->items, &item, sizeof(item));
}

/* One object member ("key": value) at ps->i, onto the members stack. */
static bool parse_member(struct parser *ps)
{
    if (ps->i >= ps->len || ps->s[ps->i] != '"') {
        fail(ps, m_name, ps->i);
        return false;
    }
    struct api_jmember m;
    if (!parse_string(ps, &m.key, &m.key_len))
        return false;
    skip_ws(ps);
    if (ps->i >= ps->len || ps->s[ps->i] != ':') {
        fail(ps, m_colon, ps->i);
        return false;
    }
    ps->i++;
    skip_ws(ps);
    m.value = parse_value(ps);
    return m.value && stack_push(ps, &ps->members, &m, sizeof(m));
}

/* An array or an object at its opening bracket: the same loop of elements
 * separated by commas, and the same tail that copies them out of the
 * scratch stack. */
static struct api_json *parse_container(struct parser *ps, bool object)
{
    struct scratch *st = object ? &ps->members : &ps->items;
    size_t size = object ? sizeof(struct api_jmember) : sizeof(struct api_json *);
    char close = object ? '}' : ']';
    size_t base = st->n;
    ps->i++;
    skip_ws(ps);
    if (ps->i < ps->len && ps->s[ps->i] == close) {
        ps->i++;
    } else {
        for (;;) {
            if (!(object ? parse_member(ps) : parse_item(ps)))
                return NULL;
            skip_ws(ps);
            if (ps->i < ps->len && ps->s[ps->i] == close) {
                ps->i++;
                break;
            }
            if (ps->i >= ps->len || ps->s[ps->i] != ',') {
                fail(ps, m_comma, ps->i);
                return NULL;
            }
            ps->i++;
            skip_ws(ps);
        }
    }
    struct api_json *v = new_value(ps, object ? API_J_OBJECT : API_J_ARRAY);
    if (!v)
        return NULL;
    void *elems = stack_take(ps, st, base, size, &v->v.list.n);
    if (!elems)
        return NULL;
    v->v.list.items = object ? NULL : elems;
    v->v.list.members = object ? elems : NULL;
    return v;
}

/* A value at ps->i (whitespace already skipped). */
static struct api_json *parse_value(struct parser *ps)
{
    if (ps->i >= ps->len) {
        fail(ps, m_value, ps->i);
        return NULL;
    }
    char c = ps->s[ps->i];
    if (c == '{' || c == '[') {
        if (ps->depth >= API_JSON_MAX_DEPTH) {
            fail_status(ps, API_JSON_BROKEN);
            return NULL;
        }
        ps->depth++;
        struct api_json *v = parse_container(ps, c == '{');
        ps->depth--;
        return v;
    }
    if (c == '"') {
        const char *p;
        size_t n;
        if (!parse_string(ps, &p, &n))
            return NULL;
        struct api_json *v = new_value(ps, API_J_STRING);
        if (v) {
            v->v.s.p = p;
            v->v.s.len = n;
        }
        return v;
    }
    if (c == 'n' && match_word(ps, "null")) {
        ps->i += 4;
        return new_value(ps, API_J_NULL);
    }
    if (c == 't' && match_word(ps, "true")) {
        ps->i += 4;
        return new_value(ps, API_J_TRUE);
    }
    if (c == 'f' && match_word(ps, "false")) {
        ps->i += 5;
        return new_value(ps, API_J_FALSE);
    }
    /* NaN, Infinity and -Infinity are Python extensions; refused here. */
    return parse_number(ps);
}

bool api_utf8_valid(const char *p, size_t len)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned long cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i - 1 < n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

size_t api_utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t k = 0; k < len; k++)
        if (((unsigned char)s[k] & 0xC0) != 0x80)
            n++;
    return n;
}

void api_json_parse(struct mt_arena *arena, const char *p, size_t len, struct api_jresult *out)
{
    memset(out, 0, sizeof(*out));
    if (len >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF) {
        p += 3;
        len -= 3;
    }
    if (!api_utf8_valid(p, len)) {
        out->status = API_JSON_BROKEN;
        return;
    }
    struct parser ps = {.arena = arena, .s = p, .len = len, .status = API_JSON_OK};
    skip_ws(&ps);
    struct api_json *v = parse_value(&ps);
    if (v) {
        skip_ws(&ps);
        if (ps.i < ps.len)
            fail(&ps, m_extra, ps.i);
    }
    free(ps.items.data);
    free(ps.members.data);
    out->status = ps.status;
    if (ps.status == API_JSON_OK) {
        out->value = v;
    } else if (ps.status == API_JSON_DECODE) {
        out->msg = ps.msg;
        /* Python reports positions in characters of the decoded text. */
        out->pos = api_utf8_chars(p, ps.err_off);
    }
}

const struct api_json *api_json_get(const struct api_json *obj, const char *key)
{
    if (!obj || obj->type != API_J_OBJECT)
        return NULL;
    size_t klen = strlen(key);
    for (size_t k = obj->v.list.n; k-- > 0;) {
        const struct api_jmember *m = &obj->v.list.members[k];
        if (m->key_len == klen && memcmp(m->key, key, klen) == 0)
            return m->value;
    }
    return NULL;
}

bool api_json_truthy(const struct api_json *v)
{
    if (!v)
        return false;
    switch (v->type) {
    case API_J_NULL:
    case API_J_FALSE:
        return false;
    case API_J_TRUE:
    case API_J_BIGINT:
        return true;
    case API_J_INT:
        return v->v.i != 0;
    case API_J_REAL:
        return v->v.d != 0.0;
    case API_J_STRING:
        return v->v.s.len != 0;
    case API_J_ARRAY:
    case API_J_OBJECT:
        return v->v.list.n != 0;
    }
    return false;
}

json_t *api_json_to_jansson(const struct api_json *v)
{
    if (!v)
        return NULL;
    switch (v->type) {
    case API_J_NULL:
        return json_null();
    case API_J_FALSE:
        return json_false();
    case API_J_TRUE:
        return json_true();
    case API_J_INT:
        return json_integer(v->v.i);
    case API_J_BIGINT:
        return json_real(v->v.big.approx);
    case API_J_REAL:
        return json_real(v->v.d);
    case API_J_STRING:
        return json_stringn(v->v.s.p, v->v.s.len);
    case API_J_ARRAY: {
        json_t *a = json_array();
        for (size_t k = 0; a && k < v->v.list.n; k++) {
            json_t *item = api_json_to_jansson(v->v.list.items[k]);
            if (!item || json_array_append_new(a, item) < 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case API_J_OBJECT: {
        json_t *o = json_object();
        for (size_t k = 0; o && k < v->v.list.n; k++) {
            const struct api_jmember *m = &v->v.list.members[k];
            json_t *item = api_json_to_jansson(m->value);
            if (!item || json_object_setn_new(o, m->key, m->key_len, item) < 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    }
    return NULL;
}

json_t *api_json_text(const char *s, size_t len)
{
    if (api_utf8_valid(s, len))
        return json_stringn(s, len);
    struct mt_buf b;
    mt_buf_init(&b, 0);
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 1;
        if (c < 0x80) {
            mt_buf_addc(&b, (char)c);
            i++;
        } else if (n > 1 && len - i >= n && api_utf8_valid(s + i, n)) {
            mt_buf_add(&b, s + i, n);
            i += n;
        } else {
            mt_buf_adds(&b, "\xEF\xBF\xBD");
            i++;
        }
    }
    json_t *j = json_stringn(b.data, b.len);
    mt_buf_release(&b);
    return j;
}
