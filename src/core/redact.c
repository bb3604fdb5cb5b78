/* Secrets removed where they sit in a URL or a message, found by the text's
 * structure (URL user-info, key=value parameters) rather than by searching
 * for the secret itself: a search for a short password would also rewrite
 * every word containing it and so give the password away. */
#include "core/redact.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"

static const char mask[] = "***";

/* True for ASCII case-insensitive containment of needle in k[0..n). */
static bool contains_ci(const char *k, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (strncasecmp(k + i, needle, m) == 0)
            return true;
    return false;
}

/* Parameter names whose values are secrets: libpq's password and
 * sslpassword, MariaDB's pass / pwd, SECRET_KEY and the like. */
static bool secret_key(const char *k, size_t n)
{
    if ((n == 4 && strncasecmp(k, "pass", 4) == 0) || (n == 3 && strncasecmp(k, "pwd", 3) == 0))
        return true;
    return contains_ci(k, n, "password") || contains_ci(k, n, "passwd") ||
           contains_ci(k, n, "secret");
}

/* The last '@' in s[from..to), or NULL. */
static const char *last_at(const char *s, size_t from, size_t to)
{
    const char *at = NULL;
    for (size_t i = from; i < to; i++)
        if (s[i] == '@')
            at = s + i;
    return at;
}

/* Copies the query s[0..len) (without its '?') with the values of secret
 * parameters masked; a parameter ends at the next '&'. */
static void add_query(struct mt_buf *b, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        const char *amp = memchr(s + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - s) : len;
        const char *eq = memchr(s + i, '=', end - i);
        if (eq && secret_key(s + i, (size_t)(eq - (s + i))) && eq + 1 < s + end) {
            mt_buf_add(b, s + i, (size_t)(eq + 1 - (s + i)));
            mt_buf_adds(b, mask);
        } else {
            mt_buf_add(b, s + i, end - i);
        }
        i = end;
        if (i < len) {
            mt_buf_addc(b, '&');
            i++;
        }
    }
}

char *mt_redact_url(const char *url)
{
    struct mt_buf b;
    mt_buf_init(&b, 0);
    if (!url)
        return mt_buf_detach(&b, NULL);
    size_t len = strlen(url);
    const char *sep = strstr(url, "://");
    size_t rest = sep ? (size_t)(sep - url) + 3 : 0;
    /* db_url_parse reads no user-info in sqlite URLs: '@' and ':' there
     * belong to the file name. */
    bool sqlite = sep && strncasecmp(url, "sqlite", 6) == 0;
    size_t done = 0; /* url[0..done) is already in b */
    size_t host = rest;
    if (!sqlite) {
        const char *at = last_at(url, rest, len);
        if (at) {
            const char *colon = memchr(url + rest, ':', (size_t)(at - (url + rest)));
            if (colon && colon + 1 < at) {
                mt_buf_add(&b, url, (size_t)(colon + 1 - url));
                mt_buf_adds(&b, mask);
                done = (size_t)(at - url);
            }
            host = (size_t)(at + 1 - url);
        }
    }
    const char *q = strchr(url + host, '?');
    if (q) {
        mt_buf_add(&b, url + done, (size_t)(q + 1 - (url + done)));
        add_query(&b, q + 1, strlen(q + 1));
    } else {
        mt_buf_adds(&b, url + done);
    }
    return mt_buf_detach(&b, NULL);
}

static bool key_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

/* Where a URL that starts (after its "://") at s[i] ends. */
static size_t url_end(const char *s, size_t len, size_t i)
{
    while (i < len && !isspace((unsigned char)s[i]) && s[i] != '"' && s[i] != '\'' && s[i] != '<' &&
           s[i] != '>')
        i++;
    return i;
}

/* Where the value starting at s[i] ends: a quoted string with backslash
 * escapes (libpq's conninfo syntax), or a run up to white space. In a URL
 * query '&' and '#' end it as well. An unterminated quote runs to the end. */
static size_t value_end(const char *s, size_t len, size_t i, bool in_query)
{
    if (i < len && (s[i] == '\'' || s[i] == '"')) {
        char quote = s[i++];
        while (i < len && s[i] != quote) {
            if (s[i] == '\\' && i + 1 < len)
                i++;
            i++;
        }
        return i < len ? i + 1 : len;
    }
    while (i < len && !isspace((unsigned char)s[i]) && !(in_query && (s[i] == '&' || s[i] == '#')))
        i++;
    return i;
}

/* Copies s[0..len) to b with the secrets masked (see mt_redact_text). */
static void redact_into(const char *s, size_t len, struct mt_buf *b)
{
    size_t i = 0;
    while (i < len) {
        if (len - i >= 3 && memcmp(s + i, "://", 3) == 0) {
            size_t a = i + 3;
            const char *at = last_at(s, a, url_end(s, len, a));
            const char *colon = at ? memchr(s + a, ':', (size_t)(at - (s + a))) : NULL;
            mt_buf_add(b, s + i, 3);
            i = a;
            if (colon && colon + 1 < at) {
                mt_buf_add(b, s + a, (size_t)(colon + 1 - (s + a)));
                mt_buf_adds(b, mask);
                i = (size_t)(at - s);
            }
            continue;
        }
        if (!key_char(s[i]) || (i > 0 && key_char(s[i - 1]))) {
            mt_buf_addc(b, s[i++]);
            continue;
        }
        size_t k = i;
        while (k < len && key_char(s[k]))
            k++;
        size_t eq = k;
        while (eq < len && s[eq] == ' ')
            eq++;
        if (eq >= len || s[eq] != '=' || !secret_key(s + i, k - i)) {
            mt_buf_add(b, s + i, k - i);
            i = k;
            continue;
        }
        size_t v = eq + 1;
        while (v < len && s[v] == ' ')
            v++;
        bool in_query = i > 0 && (s[i - 1] == '?' || s[i - 1] == '&');
        size_t end = value_end(s, len, v, in_query);
        mt_buf_add(b, s + i, v - i);
        if (end > v)
            mt_buf_adds(b, mask);
        i = end;
    }
}

void mt_redact_text(char *text, size_t cap)
{
    if (!cap)
        return;
    size_t len = strnlen(text, cap);
    if (len == cap)
        len = cap - 1;
    struct mt_buf b;
    mt_buf_init(&b, 0);
    redact_into(text, len, &b);
    size_t n = b.len < cap - 1 ? b.len : cap - 1;
    memcpy(text, b.data, n);
    text[n] = '\0';
    mt_buf_release(&b);
}
