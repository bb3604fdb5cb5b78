/* The streaming JSON writer (see jsonw.h): an arena buffer that doubles as
 * it grows, the separators between members and items, jansson's string
 * escapes, and decimal integers without printf. */
#include "api/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api/jsonin.h"
#include "core/err.h"

void api_jw_init(struct api_jw *w, struct mt_arena *a, size_t size_hint)
{
    w->a = a;
    w->data = NULL;
    w->len = 0;
    w->cap = 0;
    w->failed = false;
    w->comma = false;
    if (size_hint) {
        w->data = mt_arena_alloc(a, size_hint);
        if (w->data)
            w->cap = size_hint;
        else
            w->failed = true;
    }
}

/* Makes room for n more bytes; false (and failed) at the arena's ceiling.
 * The smaller buffers given up stay in the arena, together at most the size
 * of the final one. */
static bool reserve(struct api_jw *w, size_t n)
{
    if (w->failed)
        return false;
    if (n <= w->cap - w->len)
        return true;
    size_t cap = w->cap ? w->cap : 256;
    while (cap - w->len < n) {
        if (!mt_size_mul(cap, 2, &cap)) {
            w->failed = true;
            return false;
        }
    }
    char *grown = mt_arena_alloc(w->a, cap);
    if (!grown) {
        w->failed = true;
        return false;
    }
    if (w->len)
        memcpy(grown, w->data, w->len);
    w->data = grown;
    w->cap = cap;
    return true;
}

void api_jw_reset(struct api_jw *w)
{
    w->len = 0;
}

/* Appends n bytes as they are: punctuation, or text already escaped. */
static void put(struct api_jw *w, const char *s, size_t n)
{
    if (!reserve(w, n))
        return;
    memcpy(w->data + w->len, s, n);
    w->len += n;
}

#define put_lit(w, lit) put((w), "" lit, sizeof(lit) - 1)

/* Starts a value (or a key): a comma when one came before it at this level. */
static void next(struct api_jw *w)
{
    if (w->comma)
        put_lit(w, ",");
    w->comma = true;
}

/* The escape of one byte below 0x20, '"' or '\\', as jansson writes it:
 * the short forms where JSON has them, else \u00XX with capitals. */
static size_t escape(unsigned char c, char out[6])
{
    static const char hex[] = "0123456789ABCDEF";
    char shortc = 0;
    switch (c) {
    case '"':
        shortc = '"';
        break;
    case '\\':
        shortc = '\\';
        break;
    case '\b':
        shortc = 'b';
        break;
    case '\f':
        shortc = 'f';
        break;
    case '\n':
        shortc = 'n';
        break;
    case '\r':
        shortc = 'r';
        break;
    case '\t':
        shortc = 't';
        break;
    default:
        break;
    }
    out[0] = '\\';
    if (shortc) {
        out[1] = shortc;
        return 2;
    }
    out[1] = 'u';
    out[2] = '0';
    out[3] = '0';
    out[4] = hex[c >> 4];
    out[5] = hex[c & 0xF];
    return 6;
}

/* Writes valid UTF-8 text as a JSON string body: runs of bytes that need no
 * escape are copied at once. */
static void put_escaped(struct api_jw *w, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(w, s + run, i - run);
        char esc[6];
        put(w, esc, escape(c, esc));
        run = i + 1;
    }
    put(w, s + run, n - run);
}

/* s as a quoted JSON string. */
static void put_string(struct api_jw *w, const char *s)
{
    size_t n = strlen(s);
    put_lit(w, "\"");
    if (api_utf8_valid(s, n)) {
        put_escaped(w, s, n);
    } else {
        /* Byte by byte as api_json_text: well-formed sequences stay, every
         * other byte becomes U+FFFD. */
        size_t i = 0;
        while (i < n) {
            unsigned char c = (unsigned char)s[i];
            size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 1;
            if (c < 0x80) {
                put_escaped(w, s + i, 1);
                i++;
            } else if (k > 1 && n - i >= k && api_utf8_valid(s + i, k)) {
                put(w, s + i, k);
                i += k;
            } else {
                put_lit(w, "\xEF\xBF\xBD");
                i++;
            }
        }
    }
    put_lit(w, "\"");
}

void api_jw_str(struct api_jw *w, const char *s)
{
    next(w);
    if (s)
        put_string(w, s);
    else
        put_lit(w, "null");
}

void api_jw_int(struct api_jw *w, int64_t v)
{
    next(w);
    char buf[24];
    char *p = buf + sizeof buf;
    /* Through the unsigned magnitude, so that INT64_MIN has one too. */
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + m % 10);
        m /= 10;
    } while (m);
    if (v < 0)
        *--p = '-';
    put(w, p, (size_t)(buf + sizeof buf - p));
}

void api_jw_amount(struct api_jw *w, double v)
{
    if (!isfinite(v) || v > 1e15 || v < -1e15) {
        api_jw_null(w);
        return;
    }
    next(w);
    char buf[48];
    int n = snprintf(buf, sizeof(buf), "%.3f", v);
    if (n <= 0 || (size_t)n >= sizeof(buf)) {
        put_lit(w, "null");
        return;
    }
    /* "500.000" -> "500", "2.500" -> "2.5"; "-0" stays a plain 0. */
    while (n > 0 && buf[n - 1] == '0')
        n--;
    if (n > 0 && buf[n - 1] == '.')
        n--;
    if (n == 2 && buf[0] == '-' && buf[1] == '0')
        put_lit(w, "0");
    else
        put(w, buf, (size_t)n);
}

void api_jw_bool(struct api_jw *w, bool v)
{
    next(w);
    if (v)
        put_lit(w, "true");
    else
        put_lit(w, "false");
}

void api_jw_null(struct api_jw *w)
{
    next(w);
    put_lit(w, "null");
}

/* The start and the end of a container: after its start comes its first
 * member or item (no comma); after its end, a sibling (a comma). */
static void open_container(struct api_jw *w, const char *bracket)
{
    next(w);
    put(w, bracket, 1);
    w->comma = false;
}

static void close_container(struct api_jw *w, const char *bracket)
{
    put(w, bracket, 1);
    w->comma = true;
}

void api_jw_obj(struct api_jw *w)
{
    open_container(w, "{");
}

void api_jw_obj_end(struct api_jw *w)
{
    close_container(w, "}");
}

void api_jw_arr(struct api_jw *w)
{
    open_container(w, "[");
}

void api_jw_arr_end(struct api_jw *w)
{
    close_container(w, "]");
}

void api_jw_key(struct api_jw *w, const char *key)
{
    next(w);
    put_string(w, key);
    put_lit(w, ":");
    w->comma = false;
}

void api_jw_str_at(struct api_jw *w, const char *key, const char *s)
{
    api_jw_key(w, key);
    api_jw_str(w, s);
}

void api_jw_int_at(struct api_jw *w, const char *key, int64_t v)
{
    api_jw_key(w, key);
    api_jw_int(w, v);
}

void api_jw_bool_at(struct api_jw *w, const char *key, bool v)
{
    api_jw_key(w, key);
    api_jw_bool(w, v);
}
