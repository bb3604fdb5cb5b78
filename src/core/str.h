/* Small text helpers every module needs: a length-carrying string view for
 * text from the wire (never assumed NUL-terminated), ASCII comparisons that
 * ignore the locale, UTF-8 sequences, and mt_quote for putting a user's
 * value into an error message safely. Owned by core; no allocation anywhere in this header. */
#ifndef MT_CORE_STR_H
#define MT_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>

/* A borrowed view of len bytes at p; p need not be NUL-terminated. The view
 * is valid as long as the memory it points into. */
struct mt_str {
    const char *p;
    size_t len;
};

/* A view of a string literal, e.g. MT_STR_LIT("GET"). */
#define MT_STR_LIT(s) ((struct mt_str){(s), sizeof(s) - 1})

/* A view of a NUL-terminated string (NULL gives the empty view). */
struct mt_str mt_str_c(const char *s);
/* True when the view equals the NUL-terminated s byte for byte. */
bool mt_str_eq(struct mt_str a, const char *s);
/* Like mt_str_eq, ignoring ASCII case (never the locale). */
bool mt_str_ieq(struct mt_str a, const char *s);
/* The view without leading and trailing ASCII white space. */
struct mt_str mt_str_trim(struct mt_str s);

/* The value of an ASCII hex digit (either case), or -1 for any other byte. */
int mt_hex_digit(char c);

/* The length (1-4) of the well-formed UTF-8 sequence that starts the n
 * bytes at p (n > 0), or 0 when they do not start one: overlong forms,
 * surrogates and code points above U+10FFFF are refused as RFC 3629 says. */
size_t mt_utf8_seq(const char *p, size_t n);

/* Recommended size of the destination of mt_quote. */
#define MT_QUOTE_SIZE 72

/* Writes a double-quoted, printable rendering of len bytes at p into dst
 * (cap bytes, at least 8): quotes, backslashes and control bytes are escaped,
 * and text that does not fit ends in `..."`. For error messages that quote a
 * user's value: `expected HH:MM, got "25:00"`. Returns dst. Never quote
 * secrets with it. */
const char *mt_quote(char *dst, size_t cap, const char *p, size_t len);

#endif
