/* pydantic 2's reading of single values (see coerce.h): Python's int()
 * syntax and integers beyond 64 bits, bounds with pydantic's error types
 * and words, lax dates, strings that every database can store, booleans and
 * literal choices; plus the reference's HH:MM rule, which is Python's int()
 * twice. */
#include "api/coerce.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char m_int_parsing[] =
    "Input should be a valid integer, unable to parse string as an integer";
static const char m_int_from_float[] =
    "Input should be a valid integer, got a number with a fractional part";
static const char m_int_type[] = "Input should be a valid integer";
static const char m_string_type[] = "Input should be a valid string";
static const char m_date_type[] = "Input should be a valid date";
static const char m_date_inexact[] =
    "Datetimes provided to dates should have zero time - e.g. be exact dates";
static const char m_no_nul[] = "text must not contain NUL characters";
static const char m_bool_type[] = "Input should be a valid boolean";
static const char m_bool_parsing[] = "Input should be a valid boolean, unable to interpret input";
static const char m_list_type[] = "Input should be a valid list";

static json_t *loc2(const char *where, const char *name)
{
    return json_pack("[s,s]", where, name);
}

static json_t *cstr_json(const char *s)
{
    return api_json_text(s, strlen(s));
}

static json_t *value_json(const struct api_json *j)
{
    json_t *out = api_json_to_jansson(j);
    return out ? out : json_null();
}

/* ---- integers -------------------------------------------------------------------------------- */

/* An integer as pydantic holds it: any size, here either an int64 or "beyond
 * int64" with its sign. */
struct ival {
    bool big;
    bool neg;
    int64_t v;
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Python's int(text) in base 10 for already trimmed text: a sign, then
 * digits with single underscores between them. */
static bool py_int(const char *s, size_t len, struct ival *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (i >= len || !is_digit(s[i]))
        return false;
    uint64_t mag = 0;
    bool big = false, prev_us = false;
    for (; i < len; i++) {
        if (s[i] == '_') {
            if (prev_us)
                return false;
            prev_us = true;
            continue;
        }
        if (!is_digit(s[i]))
            return false;
        prev_us = false;
        unsigned d = (unsigned)(s[i] - '0');
        if (!big) {
            if (mag > (UINT64_MAX - d) / 10)
                big = true;
            else
                mag = mag * 10 + d;
        }
    }
    if (prev_us)
        return false;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (mag > limit)
        big = true;
    out->big = big;
    out->neg = neg && mag != 0;
    if (!big)
        out->v = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    return true;
}

/* Drops the white space around text, as Python's int() does. */
static void trim(const char **s, size_t *len)
{
    while (*len && ascii_space((*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len && ascii_space((*s)[*len - 1]))
        (*len)--;
}

/* pydantic's str -> int: Python int() syntax with white space around it,
 * and a decimal point followed only by zeros ("1.0", "20.00"). */
static bool str_to_int(const char *s, size_t len, struct ival *out)
{
    trim(&s, &len);
    if (py_int(s, len, out))
        return true;
    const char *dot = memchr(s, '.', len);
    if (!dot)
        return false;
    for (const char *p = dot + 1; p < s + len; p++)
        if (*p != '0')
            return false;
    return py_int(s, (size_t)(dot - s), out);
}

static void bound_error(struct api_vctx *v, json_t *loc, json_t *input, const char *op,
                        int64_t bound)
{
    const char *type, *words;
    if (strcmp(op, "ge") == 0) {
        type = "greater_than_equal";
        words = "greater than or equal to";
    } else if (strcmp(op, "gt") == 0) {
        type = "greater_than";
        words = "greater than";
    } else if (strcmp(op, "le") == 0) {
        type = "less_than_equal";
        words = "less than or equal to";
    } else {
        type = "less_than";
        words = "less than";
    }
    char msg[96];
    snprintf(msg, sizeof(msg), "Input should be %s %lld", words, (long long)bound);
    json_t *ctx = json_object();
    json_object_set_new(ctx, op, json_integer(bound));
    api_vctx_add(v, type, loc, msg, input, ctx);
}

/* Applies b to iv; on failure adds the error (stealing loc and input). */
static bool check_bounds(struct api_vctx *v, json_t *loc, json_t *input, struct ival iv,
                         const struct api_bounds *b)
{
    if (iv.big) {
        if (iv.neg)
            bound_error(v, loc, input, b->lo_op ? b->lo_op : "ge", b->lo_op ? b->lo : INT64_MIN);
        else
            bound_error(v, loc, input, b->hi_op ? b->hi_op : "le", b->hi_op ? b->hi : INT64_MAX);
        return false;
    }
    if (b->hi_op && (strcmp(b->hi_op, "le") == 0 ? iv.v > b->hi : iv.v >= b->hi)) {
        bound_error(v, loc, input, b->hi_op, b->hi);
        return false;
    }
    if (b->lo_op && (strcmp(b->lo_op, "ge") == 0 ? iv.v < b->lo : iv.v <= b->lo)) {
        bound_error(v, loc, input, b->lo_op, b->lo);
        return false;
    }
    json_decref(loc);
    json_decref(input);
    return true;
}

/* ---- path and query text ----------------------------------------------------------------- */

bool api_coerce_int(struct api_vctx *v, const char *where, const char *name, const char *s,
                    const struct api_bounds *b, int64_t *out)
{
    struct ival iv;
    if (!str_to_int(s, strlen(s), &iv)) {
        api_vctx_add(v, "int_parsing", loc2(where, name), m_int_parsing, cstr_json(s), NULL);
        return false;
    }
    if (!check_bounds(v, loc2(where, name), cstr_json(s), iv, b))
        return false;
    *out = iv.v;
    return true;
}

/* The error of a date that pydantic could not read (rc is not OK); input
 * is stolen. */
static void date_error(struct api_vctx *v, json_t *loc, json_t *input, enum mt_pydate rc,
                       const char *reason)
{
    if (rc == MT_PYDATE_INEXACT) {
        api_vctx_add(v, "date_from_datetime_inexact", loc, m_date_inexact, input, NULL);
        return;
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "Input should be a valid date or datetime, %s", reason);
    api_vctx_add(v, "date_from_datetime_parsing", loc, msg, input,
                 json_pack("{s:s}", "error", reason));
}

bool api_coerce_date(struct api_vctx *v, const char *where, const char *name, const char *s,
                     struct mt_date *out)
{
    const char *reason = NULL;
    enum mt_pydate rc = mt_pydate_from_str(s, strlen(s), out, &reason);
    if (rc == MT_PYDATE_OK)
        return true;
    date_error(v, loc2(where, name), cstr_json(s), rc, reason);
    return false;
}

bool api_coerce_bool(struct api_vctx *v, const char *where, const char *name, const char *s,
                     bool *out)
{
    static const char *const yes[] = {"1", "on", "t", "true", "y", "yes"};
    static const char *const no[] = {"0", "off", "f", "false", "n", "no"};
    for (size_t i = 0; i < MT_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    api_vctx_add(v, "bool_parsing", loc2(where, name), m_bool_parsing, cstr_json(s), NULL);
    return false;
}

/* pydantic's literal_error for choices, at loc, quoting input (both
 * stolen). */
static void literal_error(struct api_vctx *v, json_t *loc, json_t *input,
                          const char *const *choices)
{
    size_t n = 0;
    while (choices[n])
        n++;
    /* pydantic's wording of a Literal: 'a' or 'b'; 'a', 'b' or 'c'. */
    char expected[160];
    size_t o = 0;
    for (size_t i = 0; i < n && o < sizeof(expected); i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
        int k = snprintf(expected + o, sizeof(expected) - o, "%s'%s'", sep, choices[i]);
        o += k > 0 ? (size_t)k : 0;
    }
    char msg[192];
    snprintf(msg, sizeof(msg), "Input should be %s", expected);
    api_vctx_add(v, "literal_error", loc, msg, input, json_pack("{s:s}", "expected", expected));
}

bool api_coerce_choice(struct api_vctx *v, const char *where, const char *name, const char *s,
                       const char *const *choices, size_t *index)
{
    for (size_t n = 0; choices[n]; n++) {
        if (strcmp(s, choices[n]) == 0) {
            *index = n;
            return true;
        }
    }
    literal_error(v, loc2(where, name), cstr_json(s), choices);
    return false;
}

/* ---- body fields ----------------------------------------------------------------------------- */

enum api_field api_coerce_body_str(struct api_vctx *v, const char *name, const struct api_json *val,
                                   size_t max_chars, const char **out)
{
    if (!val)
        return API_FIELD_ABSENT;
    if (val->type == API_J_NULL)
        return API_FIELD_NULL;
    if (val->type != API_J_STRING) {
        api_vctx_add(v, "string_type", loc2("body", name), m_string_type, value_json(val), NULL);
        return API_FIELD_ERR;
    }
    /* No database column can hold a NUL byte. */
    if (memchr(val->v.s.p, '\0', val->v.s.len)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "Value error, %s", m_no_nul);
        api_vctx_add(v, "value_error", loc2("body", name), msg, value_json(val),
                     json_pack("{s:{}}", "error"));
        return API_FIELD_ERR;
    }
    /* The longest text every database keeps whole (MariaDB VARCHAR(255) and
     * TEXT columns), so that all dialects answer alike. */
    if (max_chars && api_utf8_chars(val->v.s.p, val->v.s.len) > max_chars) {
        char msg[96];
        snprintf(msg, sizeof(msg), "String should have at most %zu characters", max_chars);
        api_vctx_add(v, "string_too_long", loc2("body", name), msg, value_json(val),
                     json_pack("{s:I}", "max_length", (json_int_t)max_chars));
        return API_FIELD_ERR;
    }
    *out = val->v.s.p;
    return API_FIELD_OK;
}

/* A JSON value as an integer within b; errors at loc (stolen). */
static enum api_field json_int(struct api_vctx *v, json_t *loc, const struct api_json *val,
                               const struct api_bounds *b, int64_t *out);

enum api_field api_coerce_body_int(struct api_vctx *v, const char *name, const struct api_json *val,
                                   const struct api_bounds *b, int64_t *out)
{
    if (!val)
        return API_FIELD_ABSENT;
    if (val->type == API_J_NULL)
        return API_FIELD_NULL;
    return json_int(v, loc2("body", name), val, b, out);
}

static enum api_field json_int(struct api_vctx *v, json_t *loc, const struct api_json *val,
                               const struct api_bounds *b, int64_t *out)
{
    struct ival iv = {false, false, 0};
    switch (val->type) {
    case API_J_NULL:
        api_vctx_add(v, "int_type", loc, m_int_type, NULL, NULL);
        return API_FIELD_ERR;
    case API_J_INT:
        iv.v = val->v.i;
        iv.neg = iv.v < 0;
        break;
    case API_J_TRUE:
    case API_J_FALSE:
        iv.v = val->type == API_J_TRUE;
        break;
    case API_J_BIGINT:
        iv.big = true;
        iv.neg = val->v.big.negative;
        break;
    case API_J_REAL: {
        double d = val->v.d;
        if (d >= 9223372036854775808.0 || d < -9223372036854775808.0) {
            iv.big = true;
            iv.neg = d < 0;
        } else if ((double)(int64_t)d != d) {
            api_vctx_add(v, "int_from_float", loc, m_int_from_float, value_json(val), NULL);
            return API_FIELD_ERR;
        } else {
            iv.v = (int64_t)d;
            iv.neg = iv.v < 0;
        }
        break;
    }
    case API_J_STRING:
        if (memchr(val->v.s.p, '\0', val->v.s.len) || !str_to_int(val->v.s.p, val->v.s.len, &iv)) {
            api_vctx_add(v, "int_parsing", loc, m_int_parsing, value_json(val), NULL);
            return API_FIELD_ERR;
        }
        break;
    case API_J_ARRAY:
    case API_J_OBJECT:
        api_vctx_add(v, "int_type", loc, m_int_type, value_json(val), NULL);
        return API_FIELD_ERR;
    }
    if (!check_bounds(v, loc, value_json(val), iv, b))
        return API_FIELD_ERR;
    *out = iv.v;
    return API_FIELD_OK;
}

enum api_field api_coerce_body_date(struct api_vctx *v, const char *name,
                                    const struct api_json *val, struct mt_date *out)
{
    if (!val)
        return API_FIELD_ABSENT;
    const char *reason = NULL;
    enum mt_pydate rc;
    switch (val->type) {
    case API_J_NULL:
        return API_FIELD_NULL;
    case API_J_STRING:
        if (memchr(val->v.s.p, '\0', val->v.s.len)) {
            rc = MT_PYDATE_PARSING;
            reason = "invalid character in year";
            if (val->v.s.len < 10)
                reason = "input is too short";
        } else {
            rc = mt_pydate_from_str(val->v.s.p, val->v.s.len, out, &reason);
        }
        break;
    case API_J_INT:
        rc = mt_pydate_from_int(val->v.i, out, &reason);
        break;
    case API_J_BIGINT:
        rc = mt_pydate_from_double(val->v.big.approx, out, &reason);
        break;
    case API_J_REAL:
        rc = mt_pydate_from_double(val->v.d, out, &reason);
        break;
    case API_J_TRUE:
    case API_J_FALSE:
    case API_J_ARRAY:
    case API_J_OBJECT:
    default:
        api_vctx_add(v, "date_type", loc2("body", name), m_date_type, value_json(val), NULL);
        return API_FIELD_ERR;
    }
    if (rc == MT_PYDATE_OK)
        return API_FIELD_OK;
    date_error(v, loc2("body", name), value_json(val), rc, reason);
    return API_FIELD_ERR;
}

static const char m_float_type[] = "Input should be a valid number";
static const char m_float_parsing[] =
    "Input should be a valid number, unable to parse string as a number";
static const char m_datetime_type[] = "Input should be a valid datetime";

enum api_field api_coerce_body_bool(struct api_vctx *v, const char *name,
                                    const struct api_json *val, bool *out)
{
    if (!val)
        return API_FIELD_ABSENT;
    switch (val->type) {
    case API_J_NULL:
        return API_FIELD_NULL;
    case API_J_TRUE:
    case API_J_FALSE:
        *out = val->type == API_J_TRUE;
        return API_FIELD_OK;
    case API_J_INT:
    case API_J_REAL: {
        double d = val->type == API_J_INT ? (double)val->v.i : val->v.d;
        if (d == 0 || d == 1) {
            *out = d == 1;
            return API_FIELD_OK;
        }
        break;
    }
    case API_J_STRING:
        if (!memchr(val->v.s.p, '\0', val->v.s.len)) {
            struct api_vctx quiet;
            api_vctx_init(&quiet);
            bool ok = api_coerce_bool(&quiet, "body", name, val->v.s.p, out);
            api_vctx_release(&quiet);
            if (ok)
                return API_FIELD_OK;
        }
        break;
    case API_J_BIGINT:
        break;
    case API_J_ARRAY:
    case API_J_OBJECT:
        api_vctx_add(v, "bool_type", loc2("body", name), m_bool_type, value_json(val), NULL);
        return API_FIELD_ERR;
    }
    api_vctx_add(v, "bool_parsing", loc2("body", name), m_bool_parsing, value_json(val), NULL);
    return API_FIELD_ERR;
}

enum api_field api_coerce_body_choice(struct api_vctx *v, const char *name,
                                      const struct api_json *val, const char *const *choices,
                                      bool null_ok, size_t *index)
{
    if (!val)
        return API_FIELD_ABSENT;
    if (val->type == API_J_NULL && null_ok)
        return API_FIELD_NULL;
    if (val->type == API_J_STRING && !memchr(val->v.s.p, '\0', val->v.s.len)) {
        for (size_t i = 0; choices[i]; i++) {
            if (strcmp(val->v.s.p, choices[i]) == 0) {
                *index = i;
                return API_FIELD_OK;
            }
        }
    }
    literal_error(v, loc2("body", name), value_json(val), choices);
    return API_FIELD_ERR;
}

enum api_field api_coerce_body_ids(struct api_vctx *v, struct mt_arena *arena, const char *name,
                                   const struct api_json *val, const struct api_bounds *b,
                                   const int64_t **out, size_t *n)
{
    if (!val)
        return API_FIELD_ABSENT;
    if (val->type == API_J_NULL)
        return API_FIELD_NULL;
    if (val->type != API_J_ARRAY) {
        api_vctx_add(v, "list_type", loc2("body", name), m_list_type, value_json(val), NULL);
        return API_FIELD_ERR;
    }
    size_t count = val->v.list.n;
    int64_t *items = mt_arena_calloc(arena, count ? count : 1, sizeof(*items));
    if (!items) {
        /* The parsed body itself fitted; its copy does not. */
        api_vctx_add(v, "too_long", loc2("body", name), "List is too long to process", json_null(),
                     NULL);
        return API_FIELD_ERR;
    }
    bool ok = true;
    for (size_t i = 0; i < count; i++) {
        json_t *loc = json_pack("[s,s,I]", "body", name, (json_int_t)i);
        if (json_int(v, loc, val->v.list.items[i], b, &items[i]) != API_FIELD_OK)
            ok = false;
    }
    if (!ok)
        return API_FIELD_ERR;
    *out = items;
    *n = count;
    return API_FIELD_OK;
}

/* A decimal number in text, as Python's float() reads it (no inf or nan:
 * they are not amounts). */
static bool text_number(const char *s, size_t len, double *out)
{
    trim(&s, &len);
    if (len == 0 || len > 64)
        return false;
    char buf[72];
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '_')
            continue;
        if (!(is_digit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
            return false;
        buf[o++] = c;
    }
    buf[o] = '\0';
    char *end = NULL;
    double d = strtod(buf, &end);
    if (!end || *end || o == 0 || !isfinite(d))
        return false;
    *out = d;
    return true;
}

enum api_field api_coerce_body_number(struct api_vctx *v, const char *name,
                                      const struct api_json *val, const struct api_bounds *b,
                                      double *out)
{
    if (!val)
        return API_FIELD_ABSENT;
    double d = 0;
    switch (val->type) {
    case API_J_NULL:
        return API_FIELD_NULL;
    case API_J_INT:
        d = (double)val->v.i;
        break;
    case API_J_BIGINT:
        d = val->v.big.approx;
        break;
    case API_J_REAL:
        d = val->v.d;
        break;
    case API_J_TRUE:
    case API_J_FALSE:
        d = val->type == API_J_TRUE;
        break;
    case API_J_STRING:
        if (memchr(val->v.s.p, '\0', val->v.s.len) || !text_number(val->v.s.p, val->v.s.len, &d)) {
            api_vctx_add(v, "float_parsing", loc2("body", name), m_float_parsing, value_json(val),
                         NULL);
            return API_FIELD_ERR;
        }
        break;
    case API_J_ARRAY:
    case API_J_OBJECT:
        api_vctx_add(v, "float_type", loc2("body", name), m_float_type, value_json(val), NULL);
        return API_FIELD_ERR;
    }
    const char *op = NULL;
    int64_t bound = 0;
    if (b->lo_op && (strcmp(b->lo_op, "ge") == 0 ? d < (double)b->lo : d <= (double)b->lo)) {
        op = b->lo_op;
        bound = b->lo;
    } else if (b->hi_op && (strcmp(b->hi_op, "le") == 0 ? d > (double)b->hi : d >= (double)b->hi)) {
        op = b->hi_op;
        bound = b->hi;
    }
    if (op) {
        static const struct {
            const char *op, *type, *words;
        } words[] = {{"ge", "greater_than_equal", "greater than or equal to"},
                     {"gt", "greater_than", "greater than"},
                     {"le", "less_than_equal", "less than or equal to"},
                     {"lt", "less_than", "less than"}};
        for (size_t i = 0; i < MT_ARRAY_LEN(words); i++) {
            if (strcmp(words[i].op, op) != 0)
                continue;
            char msg[96];
            snprintf(msg, sizeof(msg), "Input should be %s %lld", words[i].words, (long long)bound);
            api_vctx_add(v, words[i].type, loc2("body", name), msg, value_json(val),
                         json_pack("{s:I}", op, (json_int_t)bound));
        }
        return API_FIELD_ERR;
    }
    *out = d;
    return API_FIELD_OK;
}

/* An instant from RFC 3339 text (or a date alone, at its midnight UTC).
 * Returns NULL, or speedate's reason. */
static const char *text_instant(const char *s, size_t len, int64_t *out)
{
    struct mt_timestamp_text t;
    const char *why = mt_scan_timestamp(s, len, MT_TS_SPEEDATE, &t);
    if (why) {
        struct mt_date d;
        if (len == 10 && mt_parse_date(s, len, &d) == 0) {
            *out = mt_date_to_days(d) * MT_USEC_PER_DAY;
            return NULL;
        }
        return why;
    }
    int64_t us = mt_date_to_days(t.date) * MT_USEC_PER_DAY +
                 ((int64_t)t.hour * 3600 + (int64_t)t.minute * 60 + t.second) * MT_USEC_PER_SEC +
                 t.usec - (int64_t)t.zone_min * 60 * MT_USEC_PER_SEC;
    if (!mt_instant_valid(us))
        return "the instant is outside the years 1 to 9999";
    *out = us;
    return NULL;
}

static void datetime_error(struct api_vctx *v, json_t *loc, json_t *input, const char *why)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "Input should be a valid datetime or date, %s", why);
    api_vctx_add(v, "datetime_from_date_parsing", loc, msg, input,
                 json_pack("{s:s}", "error", why));
}

bool api_coerce_datetime(struct api_vctx *v, const char *where, const char *name, const char *s,
                         int64_t *out)
{
    const char *why = text_instant(s, strlen(s), out);
    if (!why)
        return true;
    datetime_error(v, loc2(where, name), cstr_json(s), why);
    return false;
}

enum api_field api_coerce_body_datetime(struct api_vctx *v, const char *name,
                                        const struct api_json *val, int64_t *out)
{
    if (!val)
        return API_FIELD_ABSENT;
    double secs;
    switch (val->type) {
    case API_J_NULL:
        return API_FIELD_NULL;
    case API_J_STRING: {
        const char *why = memchr(val->v.s.p, '\0', val->v.s.len)
                              ? "invalid character in year"
                              : text_instant(val->v.s.p, val->v.s.len, out);
        if (!why)
            return API_FIELD_OK;
        datetime_error(v, loc2("body", name), value_json(val), why);
        return API_FIELD_ERR;
    }
    case API_J_INT:
        secs = (double)val->v.i;
        break;
    case API_J_REAL:
        secs = val->v.d;
        break;
    case API_J_BIGINT:
    case API_J_TRUE:
    case API_J_FALSE:
    case API_J_ARRAY:
    case API_J_OBJECT:
    default:
        api_vctx_add(v, "datetime_type", loc2("body", name), m_datetime_type, value_json(val),
                     NULL);
        return API_FIELD_ERR;
    }
    double us = secs * 1e6;
    if (!(us >= (double)MT_INSTANT_MIN && us <= (double)MT_INSTANT_MAX)) {
        datetime_error(v, loc2("body", name), value_json(val),
                       "the instant is outside the years 1 to 9999");
        return API_FIELD_ERR;
    }
    *out = (int64_t)us;
    return API_FIELD_OK;
}

void api_coerce_not_null(struct api_vctx *v, const char *name, enum api_type t)
{
    const char *type = "string_type", *msg = m_string_type;
    if (t == API_INT) {
        type = "int_type";
        msg = m_int_type;
    } else if (t == API_DATE) {
        type = "date_type";
        msg = m_date_type;
    } else if (t == API_BOOL) {
        type = "bool_type";
        msg = m_bool_type;
    } else if (t == API_IDS) {
        type = "list_type";
        msg = m_list_type;
    } else if (t == API_NUMBER) {
        type = "float_type";
        msg = m_float_type;
    } else if (t == API_DATETIME) {
        type = "datetime_type";
        msg = m_datetime_type;
    }
    api_vctx_add(v, type, loc2("body", name), msg, NULL, NULL);
}

/* ---- HH:MM ----------------------------------------------------------------------------------- */

/* Python's int() on one part of "HH:MM". */
static bool hhmm_part(const char *s, size_t len, int *out)
{
    struct ival iv;
    trim(&s, &len);
    if (!py_int(s, len, &iv) || iv.big || iv.v < -1000 || iv.v > 1000)
        return false;
    *out = (int)iv.v;
    return true;
}

int api_parse_hhmm(const char *s, int *hour, int *minute)
{
    const char *colon = strchr(s, ':');
    if (!colon || strchr(colon + 1, ':'))
        return -1;
    int h, m;
    if (!hhmm_part(s, (size_t)(colon - s), &h) || !hhmm_part(colon + 1, strlen(colon + 1), &m))
        return -1;
    if (h < 0 || h > 23 || m < 0 || m > 59)
        return -1;
    *hour = h;
    *minute = m;
    return 0;
}
