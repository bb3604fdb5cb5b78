/* Checked parsers for user-supplied text: configuration values, query
 * parameters, path segments. They take a length, accept nothing but the exact
 * syntax, and say in the error what was expected and what came. */
#include "core/parse.h"

#include "core/str.h"

/* Reads the digits as a negative number, whose range includes INT64_MIN.
 * False on anything but digits or on overflow; len is at least 1. */
static bool digits_negated(const char *s, size_t len, int64_t *out)
{
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        int d = s[i] - '0';
        if (v < INT64_MIN / 10 || v * 10 < INT64_MIN + d)
            return false;
        v = v * 10 - d;
    }
    *out = v;
    return true;
}

int mt_parse_i64(const char *s, size_t len, int64_t min, int64_t max, int64_t *out,
                 struct mt_err *err)
{
    size_t skip = 0;
    bool neg = false;
    if (len > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        skip = 1;
    }
    int64_t v = 0;
    bool ok = len > skip && digits_negated(s + skip, len - skip, &v);
    if (ok && !neg) {
        ok = v != INT64_MIN;
        v = ok ? -v : 0;
    }
    if (!ok || v < min || v > max) {
        char q[MT_QUOTE_SIZE];
        return mt_fail(err, MT_EINVAL, "expected an integer from %lld to %lld, got %s",
                       (long long)min, (long long)max, mt_quote(q, sizeof(q), s, len));
    }
    *out = v;
    return 0;
}

int mt_parse_bool(const char *s, size_t len, bool *out, struct mt_err *err)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    struct mt_str v = {s, len};
    for (size_t i = 0; i < MT_ARRAY_LEN(yes); i++) {
        if (mt_str_ieq(v, yes[i])) {
            *out = true;
            return 0;
        }
        if (mt_str_ieq(v, no[i])) {
            *out = false;
            return 0;
        }
    }
    char q[MT_QUOTE_SIZE];
    return mt_fail(err, MT_EINVAL, "expected true/false, 1/0, yes/no or on/off, got %s",
                   mt_quote(q, sizeof(q), s, len));
}
