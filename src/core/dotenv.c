/* The .env reader behind the configuration: parses the subset of the
 * python-dotenv syntax that deployment files of the Python service use (see
 * config.h), so existing files keep working. It only parses; config.c decides
 * which entries matter and what wins over them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/str.h"

/* A .env file is a handful of lines; anything bigger is a mistake. */
#define MAX_DOTENV_BYTES (1024 * 1024)

struct parser {
    const char *s;
    size_t len;
    size_t i;
    int line;
    const char *label;
    mt_env_lookup_fn lookup;
    void *ctx;
    struct mt_dotenv *out;
};

static bool at_eol(const struct parser *p)
{
    return p->i >= p->len || p->s[p->i] == '\n' ||
           (p->s[p->i] == '\r' && (p->i + 1 >= p->len || p->s[p->i + 1] == '\n'));
}

static void skip_blanks(struct parser *p)
{
    while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\t'))
        p->i++;
}

/* Moves past the end of the current line. */
static void next_line(struct parser *p)
{
    while (p->i < p->len && p->s[p->i] != '\n')
        p->i++;
    if (p->i < p->len) {
        p->i++;
        p->line++;
    }
}

static bool key_char(char c)
{
    return c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '=' && c != '#' && c != '"' &&
           c != '\'';
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static const char *lookup_earlier(const struct mt_dotenv *d, const char *name)
{
    for (size_t k = d->n; k > 0; k--)
        if (strcmp(d->entries[k - 1].key, name) == 0)
            return d->entries[k - 1].value;
    return NULL;
}

/* Expands ${NAME} and ${NAME:-default}; anything else stays literal. */
static char *expand(const struct parser *p, const char *v, size_t len)
{
    struct mt_buf b;
    mt_buf_init(&b, MAX_DOTENV_BYTES);
    size_t i = 0;
    while (i < len) {
        if (v[i] != '$' || i + 1 >= len || v[i + 1] != '{') {
            mt_buf_addc(&b, v[i++]);
            continue;
        }
        size_t n0 = i + 2, n1 = n0;
        while (n1 < len && name_char(v[n1]))
            n1++;
        size_t close = n1;
        const char *def = NULL;
        size_t def_len = 0;
        if (close + 1 < len && v[close] == ':' && v[close + 1] == '-') {
            def = v + close + 2;
            while (close < len && v[close] != '}')
                close++;
            def_len = (size_t)(v + close - def);
        }
        if (n1 == n0 || close >= len || v[close] != '}') {
            mt_buf_addc(&b, v[i++]);
            continue;
        }
        char *name = mt_xstrndup(v + n0, n1 - n0);
        const char *val = p->lookup ? p->lookup(name, p->ctx) : NULL;
        if (!val)
            val = lookup_earlier(p->out, name);
        free(name);
        if (val && *val)
            mt_buf_adds(&b, val);
        else if (def)
            mt_buf_add(&b, def, def_len);
        i = close + 1;
    }
    /* The ceiling is the file size limit; an expansion past it is cut, and
     * the value is then wrong in a way the validation will report. */
    return mt_buf_detach(&b, NULL);
}

static int parse_error(const struct parser *p, int line, const char *what, struct mt_err *err)
{
    return mt_fail(err, MT_EINVAL, "%s line %d: %s", p->label, line, what);
}

/* A single-quoted value: literal up to the closing quote. */
static int single_quoted(struct parser *p, struct mt_buf *v, struct mt_err *err)
{
    int start = p->line;
    p->i++;
    while (p->i < p->len && p->s[p->i] != '\'') {
        if (p->s[p->i] == '\n')
            p->line++;
        mt_buf_addc(v, p->s[p->i++]);
    }
    if (p->i >= p->len)
        return parse_error(p, start, "unterminated single quote", err);
    p->i++;
    return 0;
}

/* A double-quoted value: backslash escapes as python-dotenv decodes them. */
static int double_quoted(struct parser *p, struct mt_buf *v, struct mt_err *err)
{
    static const char from[] = "nrtabfv\\\"'";
    static const char to[] = "\n\r\t\a\b\f\v\\\"'";
    int start = p->line;
    p->i++;
    while (p->i < p->len && p->s[p->i] != '"') {
        char c = p->s[p->i++];
        if (c == '\\' && p->i < p->len) {
            const char *e = strchr(from, p->s[p->i]);
            if (e && *e) {
                mt_buf_addc(v, to[e - from]);
                p->i++;
                continue;
            }
        }
        if (c == '\n')
            p->line++;
        mt_buf_addc(v, c);
    }
    if (p->i >= p->len)
        return parse_error(p, start, "unterminated double quote", err);
    p->i++;
    return 0;
}

/* An unquoted value: the rest of the line, without a ` #` comment and
 * trailing blanks. */
static void unquoted(struct parser *p, struct mt_buf *v)
{
    size_t v0 = p->i;
    while (!at_eol(p)) {
        if (p->s[p->i] == '#' && p->i > v0 && (p->s[p->i - 1] == ' ' || p->s[p->i - 1] == '\t'))
            break;
        p->i++;
    }
    size_t v1 = p->i;
    while (v1 > v0 && (p->s[v1 - 1] == ' ' || p->s[v1 - 1] == '\t'))
        v1--;
    mt_buf_add(v, p->s + v0, v1 - v0);
}

static void add_entry(struct mt_dotenv *d, char *key, char *value, int line)
{
    d->entries = mt_xrealloc(d->entries, (d->n + 1) * sizeof(*d->entries));
    d->entries[d->n].key = key;
    d->entries[d->n].value = value;
    d->entries[d->n].line = line;
    d->n++;
}

/* One KEY=VALUE entry starting at p->i (blanks already skipped). */
static int parse_entry(struct parser *p, struct mt_err *err)
{
    int line = p->line;
    if (p->len - p->i > 7 && memcmp(p->s + p->i, "export", 6) == 0 &&
        (p->s[p->i + 6] == ' ' || p->s[p->i + 6] == '\t')) {
        p->i += 6;
        skip_blanks(p);
    }
    size_t k0 = p->i;
    while (p->i < p->len && key_char(p->s[p->i]))
        p->i++;
    size_t k1 = p->i;
    skip_blanks(p);
    if (k1 == k0 || p->i >= p->len || p->s[p->i] != '=')
        return parse_error(p, line, "expected KEY=VALUE", err);
    p->i++;
    skip_blanks(p);

    struct mt_buf v;
    mt_buf_init(&v, MAX_DOTENV_BYTES);
    bool literal = false, quoted = false;
    int rc = 0;
    if (p->i < p->len && p->s[p->i] == '\'') {
        literal = quoted = true;
        rc = single_quoted(p, &v, err);
    } else if (p->i < p->len && p->s[p->i] == '"') {
        quoted = true;
        rc = double_quoted(p, &v, err);
    } else {
        unquoted(p, &v);
    }
    if (rc == 0 && quoted) {
        /* After a closing quote only a comment may follow. */
        skip_blanks(p);
        if (!at_eol(p) && p->s[p->i] != '#')
            rc = parse_error(p, p->line, "unexpected text after the closing quote", err);
    }
    if (rc < 0) {
        mt_buf_release(&v);
        return -1;
    }
    char *value = literal ? mt_buf_detach(&v, NULL) : expand(p, v.data, v.len);
    mt_buf_release(&v);
    add_entry(p->out, mt_xstrndup(p->s + k0, k1 - k0), value, line);
    next_line(p);
    return 0;
}

int mt_dotenv_parse(const char *text, size_t len, const char *label, mt_env_lookup_fn lookup,
                    void *ctx, struct mt_dotenv *out, struct mt_err *err)
{
    out->entries = NULL;
    out->n = 0;
    struct parser p = {
        .s = text, .len = len, .line = 1, .label = label, .lookup = lookup, .ctx = ctx, .out = out};
    /* A UTF-8 byte order mark, as some editors write it. */
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        p.i = 3;
    while (p.i < p.len) {
        skip_blanks(&p);
        if (at_eol(&p) || p.s[p.i] == '#') {
            next_line(&p);
            continue;
        }
        if (parse_entry(&p, err) < 0) {
            mt_dotenv_release(out);
            return -1;
        }
    }
    return 0;
}

int mt_dotenv_read(const char *path, mt_env_lookup_fn lookup, void *ctx, struct mt_dotenv *out,
                   struct mt_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return mt_fail(err, MT_ENOTFOUND, "%s: no such file", path);
        return mt_fail(err, MT_EINVAL, "cannot open %s: %s", path, strerror(errno));
    }
    struct mt_buf b;
    mt_buf_init(&b, MAX_DOTENV_BYTES);
    char chunk[4096];
    size_t n = fread(chunk, 1, sizeof(chunk), f);
    while (n > 0) {
        mt_buf_add(&b, chunk, n);
        n = fread(chunk, 1, sizeof(chunk), f);
    }
    int read_error = ferror(f) ? errno : 0;
    fclose(f);
    int rc;
    if (read_error)
        rc = mt_fail(err, MT_EINVAL, "cannot read %s: %s", path, strerror(read_error));
    else if (b.failed)
        rc = mt_fail(err, MT_EINVAL, "%s is larger than %d bytes", path, MAX_DOTENV_BYTES);
    else
        rc = mt_dotenv_parse(b.data, b.len, path, lookup, ctx, out, err);
    mt_buf_release(&b);
    return rc;
}

const struct mt_dotenv_entry *mt_dotenv_find(const struct mt_dotenv *d, const char *key)
{
    for (size_t k = d->n; k > 0; k--)
        if (strcmp(d->entries[k - 1].key, key) == 0)
            return &d->entries[k - 1];
    for (size_t k = d->n; k > 0; k--)
        if (mt_str_ieq(mt_str_c(d->entries[k - 1].key), key))
            return &d->entries[k - 1];
    return NULL;
}

void mt_dotenv_release(struct mt_dotenv *d)
{
    for (size_t k = 0; k < d->n; k++) {
        free(d->entries[k].key);
        free(d->entries[k].value);
    }
    free(d->entries);
    d->entries = NULL;
    d->n = 0;
}
