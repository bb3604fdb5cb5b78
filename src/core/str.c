/* String views, ASCII comparisons and quoting of user values for messages
 * (see str.h). Used by the parsers, the configuration and the HTTP layer. */
#include "core/str.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

struct mt_str mt_str_c(const char *s)
{
    struct mt_str v = {s ? s : "", s ? strlen(s) : 0};
    return v;
}

bool mt_str_eq(struct mt_str a, const char *s)
{
    size_t n = strlen(s);
    return a.len == n && (n == 0 || memcmp(a.p, s, n) == 0);
}

bool mt_str_ieq(struct mt_str a, const char *s)
{
    size_t n = strlen(s);
    if (a.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(a.p[i]) != ascii_lower(s[i]))
            return false;
    return true;
}

struct mt_str mt_str_trim(struct mt_str s)
{
    while (s.len && ascii_space(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len && ascii_space(s.p[s.len - 1]))
        s.len--;
    return s;
}

int mt_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

const char *mt_quote(char *dst, size_t cap, const char *p, size_t len)
{
    assert(cap >= 8);
    /* Room for the closing quote, a possible "..." and the NUL. */
    size_t limit = cap - 5;
    size_t o = 0;
    dst[o++] = '"';
    size_t i;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        char esc[8];
        size_t n;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            n = 2;
        } else if (c == '\n') {
            memcpy(esc, "\\n", 2);
            n = 2;
        } else if (c == '\t') {
            memcpy(esc, "\\t", 2);
            n = 2;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02x", c);
            n = 4;
        } else {
            esc[0] = (char)c;
            n = 1;
        }
        if (o + n > limit)
            break;
        memcpy(dst + o, esc, n);
        o += n;
    }
    if (i < len) {
        /* Do not end in the middle of a UTF-8 sequence. */
        size_t lead = o;
        while (lead > 1 && ((unsigned char)dst[lead - 1] & 0xc0) == 0x80)
            lead--;
        if (lead > 1 && (unsigned char)dst[lead - 1] >= 0xc0) {
            unsigned char c = (unsigned char)dst[lead - 1];
            size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
            if (o - (lead - 1) < need)
                o = lead - 1;
        }
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o++] = '"';
    dst[o] = '\0';
    return dst;
}

size_t mt_utf8_seq(const char *p, size_t n)
{
    /* Per lead byte: the sequence's length, the lead's payload bits and the
     * smallest code point that needs this length. */
    static const struct {
        unsigned char lo, hi, mask;
        size_t len;
        unsigned min;
    } leads[] = {
        {0xc2, 0xdf, 0x1f, 2, 0x80},
        {0xe0, 0xef, 0x0f, 3, 0x800},
        {0xf0, 0xf4, 0x07, 4, 0x10000},
    };
    const unsigned char *s = (const unsigned char *)p;
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t k = 0;
    while (k < sizeof(leads) / sizeof(leads[0]) && !(c >= leads[k].lo && c <= leads[k].hi))
        k++;
    if (k == sizeof(leads) / sizeof(leads[0]))
        return 0;
    size_t len = leads[k].len;
    unsigned cp = c & leads[k].mask, min = leads[k].min;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}
