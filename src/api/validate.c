/* Request validation with the reference's (FastAPI 0.115 / pydantic 2)
 * observable behaviour: which inputs are coerced, which are refused, and the
 * exact error objects, listed in path, query, body order. The first half is
 * the generic field validators; the second half is one function per API
 * operation, reading its parameters in the order the reference declared
 * them. */
#include "api/validate.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char m_missing[] = "Field required";
static const char m_int_parsing[] =
    "Input should be a valid integer, unable to parse string as an integer";
static const char m_int_from_float[] =
    "Input should be a valid integer, got a number with a fractional part";
static const char m_int_type[] = "Input should be a valid integer";
static const char m_string_type[] = "Input should be a valid string";
static const char m_date_type[] = "Input should be a valid date";
static const char m_date_inexact[] =
    "Datetimes provided to dates should have zero time - e.g. be exact dates";
static const char m_model_type[] =
    "Input should be a valid dictionary or object to extract fields from";
static const char m_body_broken[] = "There was an error parsing the body";
static const char m_body_nomem[] = "Request body is too large to process";
static const char m_name_required[] = "Either first_name or name must be provided";
static const char m_no_nul[] = "text must not contain NUL characters";

/* Column sizes: VARCHAR(255), and TEXT (65535 bytes on MariaDB). */
#define MAX_SHORT ((size_t)255)
#define MAX_LONG ((size_t)10000)
#define MAX_NONE ((size_t)-1)

/* ---- the error list ------------------------------------------------------------------------ */

void api_vctx_init(struct api_vctx *v)
{
    v->status = 0;
    v->errors = NULL;
    v->detail = NULL;
}

void api_vctx_release(struct api_vctx *v)
{
    json_decref(v->errors);
    v->errors = NULL;
}

json_t *api_vctx_take_body(struct api_vctx *v)
{
    json_t *list = v->errors ? v->errors : json_array();
    v->errors = NULL;
    return json_pack("{s:o}", "detail", list);
}

/* Appends one error object, with keys in FastAPI's order. Steals loc, input
 * and ctx (ctx may be NULL; input NULL means JSON null). */
static void add_error(struct api_vctx *v, const char *type, json_t *loc, const char *msg,
                      json_t *input, json_t *ctx)
{
    if (!v->errors)
        v->errors = json_array();
    json_t *e = json_object();
    json_object_set_new(e, "type", json_string(type));
    json_object_set_new(e, "loc", loc ? loc : json_array());
    json_object_set_new(e, "msg", json_string(msg));
    json_object_set_new(e, "input", input ? input : json_null());
    if (ctx)
        json_object_set_new(e, "ctx", ctx);
    json_array_append_new(v->errors, e);
    v->status = 422;
}

static void fail_plain(struct api_vctx *v, int status, const char *detail)
{
    v->status = status;
    v->detail = detail;
}

static json_t *loc2(const char *where, const char *name)
{
    return json_pack("[s,s]", where, name);
}

static json_t *text_json(const char *s, size_t len)
{
    return api_json_text(s, len);
}

static json_t *cstr_json(const char *s)
{
    return text_json(s, strlen(s));
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

/* pydantic's str -> int: surrounding white space ignored, Python int()
 * syntax, and a decimal point followed only by zeros ("1.0", "20.00"). */
static bool str_to_int(const char *s, size_t len, struct ival *out)
{
    while (len && ascii_space(s[0])) {
        s++;
        len--;
    }
    while (len && ascii_space(s[len - 1]))
        len--;
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

/* Bounds of an integer field; a NULL op means "none" (then only the 64-bit
 * range applies, reported as le/ge of its limits). */
struct irule {
    const char *lo_op; /* "ge" or "gt" */
    int64_t lo;
    const char *hi_op; /* "le" or "lt" */
    int64_t hi;
};

static const struct irule r_id = {"ge", 1, NULL, 0};
static const struct irule r_skip = {"ge", 0, NULL, 0};
static const struct irule r_limit = {"ge", 1, "le", 1000};
static const struct irule r_tz = {"gt", -MT_TZ_LIMIT, "lt", MT_TZ_LIMIT};
static const struct irule r_max_doses = {"gt", 0, "le", 20};
static const struct irule r_days = {"ge", 1, "le", 7};
static const struct irule r_any = {NULL, 0, NULL, 0};

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
    add_error(v, type, loc, msg, input, ctx);
}

/* Applies r to iv; on failure adds the error (stealing loc and input). */
static bool check_bounds(struct api_vctx *v, json_t *loc, json_t *input, struct ival iv,
                         const struct irule *r)
{
    if (iv.big) {
        if (iv.neg)
            bound_error(v, loc, input, r->lo_op ? r->lo_op : "ge", r->lo_op ? r->lo : INT64_MIN);
        else
            bound_error(v, loc, input, r->hi_op ? r->hi_op : "le", r->hi_op ? r->hi : INT64_MAX);
        return false;
    }
    if (r->hi_op && (strcmp(r->hi_op, "le") == 0 ? iv.v > r->hi : iv.v >= r->hi)) {
        bound_error(v, loc, input, r->hi_op, r->hi);
        return false;
    }
    if (r->lo_op && (strcmp(r->lo_op, "ge") == 0 ? iv.v < r->lo : iv.v <= r->lo)) {
        bound_error(v, loc, input, r->lo_op, r->lo);
        return false;
    }
    json_decref(loc);
    json_decref(input);
    return true;
}

/* ---- path and query parameters ----------------------------------------------------------- */

static const char *query_get(const struct api_request *q, const char *name)
{
    const char *found = NULL;
    for (size_t i = 0; i < q->n_query; i++)
        if (q->query[i].name && strcmp(q->query[i].name, name) == 0)
            found = q->query[i].value ? q->query[i].value : "";
    return found;
}

static const char *param_get(const struct api_request *q, size_t idx)
{
    return idx < q->n_params && q->params[idx] ? q->params[idx] : "";
}

/* An integer from text (path or query). Returns true when *out is valid. */
static bool text_int(struct api_vctx *v, const char *where, const char *name, const char *s,
                     const struct irule *r, int64_t *out)
{
    struct ival iv;
    if (!str_to_int(s, strlen(s), &iv)) {
        add_error(v, "int_parsing", loc2(where, name), m_int_parsing, cstr_json(s), NULL);
        return false;
    }
    if (!check_bounds(v, loc2(where, name), cstr_json(s), iv, r))
        return false;
    *out = iv.v;
    return true;
}

/* An optional query integer: *present says whether it was given. */
static bool query_int(struct api_vctx *v, const struct api_request *q, const char *name,
                      const struct irule *r, int64_t def, int64_t *out, bool *present)
{
    const char *s = query_get(q, name);
    if (present)
        *present = s != NULL;
    if (!s) {
        *out = def;
        return true;
    }
    return text_int(v, "query", name, s, r, out);
}

static bool query_tz(struct api_vctx *v, const struct api_request *q, struct api_tz *tz)
{
    int64_t m = 0;
    bool ok = query_int(v, q, "timezone_offset", &r_tz, 0, &m, &tz->given);
    tz->minutes = ok ? (int)m : 0;
    if (!ok)
        tz->given = false;
    return ok;
}

static bool path_int(struct api_vctx *v, const struct api_request *q, size_t idx, const char *name,
                     int64_t *out)
{
    return text_int(v, "path", name, param_get(q, idx), &r_id, out);
}

/* A date from text, pydantic's lax way. */
static bool text_date(struct api_vctx *v, const char *where, const char *name, const char *s,
                      struct mt_date *out)
{
    const char *reason = NULL;
    switch (mt_pydate_from_str(s, strlen(s), out, &reason)) {
    case MT_PYDATE_OK:
        return true;
    case MT_PYDATE_INEXACT:
        add_error(v, "date_from_datetime_inexact", loc2(where, name), m_date_inexact, cstr_json(s),
                  NULL);
        return false;
    case MT_PYDATE_PARSING:
        break;
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "Input should be a valid date or datetime, %s", reason);
    add_error(v, "date_from_datetime_parsing", loc2(where, name), msg, cstr_json(s),
              json_pack("{s:s}", "error", reason));
    return false;
}

/* A required query date: the "missing" error when absent. */
static bool query_date(struct api_vctx *v, const struct api_request *q, const char *name,
                       struct mt_date *out)
{
    const char *s = query_get(q, name);
    if (!s) {
        add_error(v, "missing", loc2("query", name), m_missing, NULL, NULL);
        return false;
    }
    return text_date(v, "query", name, s, out);
}

/* An optional query boolean, pydantic's words in any case (false when absent). */
static bool query_bool(struct api_vctx *v, const struct api_request *q, const char *name, bool *out)
{
    static const char *const yes[] = {"1", "on", "t", "true", "y", "yes"};
    static const char *const no[] = {"0", "off", "f", "false", "n", "no"};
    const char *s = query_get(q, name);
    *out = false;
    if (!s)
        return true;
    for (size_t i = 0; i < MT_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0)
            return true;
    }
    add_error(v, "bool_parsing", loc2("query", name),
              "Input should be a valid boolean, unable to interpret input", cstr_json(s), NULL);
    return false;
}

static void page_defaults(struct api_in_page *p)
{
    p->skip = 0;
    p->limit = 100;
}

static void query_page(struct api_vctx *v, const struct api_request *q, struct api_in_page *p)
{
    query_int(v, q, "skip", &r_skip, 0, &p->skip, NULL);
    query_int(v, q, "limit", &r_limit, 100, &p->limit, NULL);
}

/* ---- bodies ---------------------------------------------------------------------------------- */

enum body_kind { BODY_NONE, BODY_JSON, BODY_RAW };

struct body {
    enum body_kind kind;
    const struct api_json *json;
};

/* FastAPI parses a body as JSON when there is no content type, or when it is
 * application/json or application/<anything>+json (case-insensitive,
 * parameters ignored; a malformed type counts as text/plain). */
static bool json_content_type(const char *ct)
{
    if (!ct)
        return true;
    const char *end = strchr(ct, ';');
    size_t len = end ? (size_t)(end - ct) : strlen(ct);
    while (len && ascii_space(ct[0])) {
        ct++;
        len--;
    }
    while (len && ascii_space(ct[len - 1]))
        len--;
    const char *slash = memchr(ct, '/', len);
    if (!slash || memchr(slash + 1, '/', len - (size_t)(slash + 1 - ct)))
        return false;
    size_t main_len = (size_t)(slash - ct);
    const char *sub = slash + 1;
    size_t sub_len = len - main_len - 1;
    if (main_len != 11 || strncasecmp(ct, "application", 11) != 0)
        return false;
    if (sub_len == 4 && strncasecmp(sub, "json", 4) == 0)
        return true;
    return sub_len >= 5 && strncasecmp(sub + sub_len - 5, "+json", 5) == 0;
}

/* Reads the body of an operation that declares one. Decode failures stop
 * validation at once, before any parameter is looked at (as in FastAPI). */
static int read_body(const struct api_request *q, struct body *b, struct api_vctx *v)
{
    b->kind = BODY_NONE;
    b->json = NULL;
    if (!q->body || q->body_len == 0)
        return 0;
    if (!json_content_type(q->content_type)) {
        b->kind = BODY_RAW;
        return 0;
    }
    struct api_jresult res;
    api_json_parse(q->arena, q->body, q->body_len, &res);
    switch (res.status) {
    case API_JSON_OK:
        if (res.value->type != API_J_NULL) {
            b->kind = BODY_JSON;
            b->json = res.value;
        }
        return 0;
    case API_JSON_DECODE: {
        json_t *loc = json_pack("[s,I]", "body", (json_int_t)res.pos);
        add_error(v, "json_invalid", loc, "JSON decode error", json_object(),
                  json_pack("{s:s}", "error", res.msg));
        return -1;
    }
    case API_JSON_BROKEN:
        fail_plain(v, 400, m_body_broken);
        return -1;
    case API_JSON_NOMEM:
        break;
    }
    /* A body within MAX_BODY_BYTES whose parsed form does not fit the
     * request's memory: the request content is more than the server is able
     * to process, which is what 413 means (RFC 9110, 15.5.14). Limits hit
     * while building the response are a server condition instead (503). */
    fail_plain(v, 413, m_body_nomem);
    return -1;
}

/* The body as the error's `input`. */
static json_t *body_input(const struct api_request *q, const struct body *b)
{
    if (b->kind == BODY_RAW)
        return text_json(q->body, q->body_len);
    if (b->kind == BODY_JSON)
        return api_json_to_jansson(b->json);
    return json_null();
}

/* Checks that a body is an object; adds the error otherwise. A missing body
 * is "missing" when required, else fine (returns false with no error). */
static bool body_object(struct api_vctx *v, const struct api_request *q, const struct body *b,
                        bool required)
{
    if (b->kind == BODY_NONE) {
        if (required)
            add_error(v, "missing", json_pack("[s]", "body"), m_missing, NULL, NULL);
        return false;
    }
    if (b->kind == BODY_RAW || b->json->type != API_J_OBJECT) {
        add_error(v, "model_attributes_type", json_pack("[s]", "body"), m_model_type,
                  body_input(q, b), NULL);
        return false;
    }
    return true;
}

enum field { F_ABSENT, F_NULL, F_OK, F_ERR };

static json_t *value_json(const struct api_json *j)
{
    json_t *out = api_json_to_jansson(j);
    return out ? out : json_null();
}

/* A body field that must be a string; strings with NUL bytes are refused
 * (no database column can hold them). */
static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t k = 0; k < len; k++)
        if (((unsigned char)s[k] & 0xC0) != 0x80)
            n++;
    return n;
}

static enum field body_str(struct api_vctx *v, const char *name, const struct api_json *val,
                           size_t max_chars, const char **out)
{
    if (!val)
        return F_ABSENT;
    if (val->type == API_J_NULL)
        return F_NULL;
    if (val->type != API_J_STRING) {
        add_error(v, "string_type", loc2("body", name), m_string_type, value_json(val), NULL);
        return F_ERR;
    }
    if (memchr(val->v.s.p, '\0', val->v.s.len)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "Value error, %s", m_no_nul);
        add_error(v, "value_error", loc2("body", name), msg, value_json(val),
                  json_pack("{s:{}}", "error"));
        return F_ERR;
    }
    /* The longest text every database keeps whole (MariaDB VARCHAR(255) and
     * TEXT columns), so that all dialects answer alike. */
    if (utf8_chars(val->v.s.p, val->v.s.len) > max_chars) {
        char msg[96];
        snprintf(msg, sizeof(msg), "String should have at most %zu characters", max_chars);
        add_error(v, "string_too_long", loc2("body", name), msg, value_json(val),
                  json_pack("{s:I}", "max_length", (json_int_t)max_chars));
        return F_ERR;
    }
    *out = val->v.s.p;
    return F_OK;
}

/* A body field that must be an integer within r. */
static enum field body_int(struct api_vctx *v, const char *name, const struct api_json *val,
                           const struct irule *r, int64_t *out)
{
    if (!val)
        return F_ABSENT;
    struct ival iv = {false, false, 0};
    switch (val->type) {
    case API_J_NULL:
        return F_NULL;
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
            add_error(v, "int_from_float", loc2("body", name), m_int_from_float, value_json(val),
                      NULL);
            return F_ERR;
        } else {
            iv.v = (int64_t)d;
            iv.neg = iv.v < 0;
        }
        break;
    }
    case API_J_STRING:
        if (memchr(val->v.s.p, '\0', val->v.s.len) || !str_to_int(val->v.s.p, val->v.s.len, &iv)) {
            add_error(v, "int_parsing", loc2("body", name), m_int_parsing, value_json(val), NULL);
            return F_ERR;
        }
        break;
    case API_J_ARRAY:
    case API_J_OBJECT:
        add_error(v, "int_type", loc2("body", name), m_int_type, value_json(val), NULL);
        return F_ERR;
    }
    if (!check_bounds(v, loc2("body", name), value_json(val), iv, r))
        return F_ERR;
    *out = iv.v;
    return F_OK;
}

/* A body field that must be a date (pydantic lax: ISO dates, zero-time
 * datetimes, Unix timestamps at midnight). */
static enum field body_date(struct api_vctx *v, const char *name, const struct api_json *val,
                            struct mt_date *out)
{
    if (!val)
        return F_ABSENT;
    const char *reason = NULL;
    enum mt_pydate rc;
    switch (val->type) {
    case API_J_NULL:
        return F_NULL;
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
        add_error(v, "date_type", loc2("body", name), m_date_type, value_json(val), NULL);
        return F_ERR;
    }
    if (rc == MT_PYDATE_OK)
        return F_OK;
    if (rc == MT_PYDATE_INEXACT) {
        add_error(v, "date_from_datetime_inexact", loc2("body", name), m_date_inexact,
                  value_json(val), NULL);
        return F_ERR;
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "Input should be a valid date or datetime, %s", reason);
    add_error(v, "date_from_datetime_parsing", loc2("body", name), msg, value_json(val),
              json_pack("{s:s}", "error", reason));
    return F_ERR;
}

/* A required field that is absent: "missing" with the whole body as input. */
static void body_missing(struct api_vctx *v, const struct api_request *q, const struct body *b,
                         const char *name)
{
    add_error(v, "missing", loc2("body", name), m_missing, body_input(q, b), NULL);
}

/* Explicit null for a column that cannot hold it: the error pydantic gives
 * for null in a non-optional field of that type. */
static void body_not_null(struct api_vctx *v, const char *name, bool is_int)
{
    add_error(v, is_int ? "int_type" : "string_type", loc2("body", name),
              is_int ? m_int_type : m_string_type, NULL, NULL);
}

/* ---- the operations ------------------------------------------------------------------------ */

static int done(struct api_vctx *v)
{
    return v->status ? -1 : 0;
}

int api_in_persons_list(const struct api_request *q, struct api_in_page *out, struct api_vctx *v)
{
    page_defaults(out);
    query_page(v, q, out);
    return done(v);
}

int api_in_person_id(const struct api_request *q, struct api_in_id *out, struct api_vctx *v)
{
    path_int(v, q, 0, "person_id", &out->id);
    return done(v);
}

int api_in_person_create(const struct api_request *q, struct api_in_person_create *out,
                         struct api_vctx *v)
{
    memset(out, 0, sizeof(*out));
    struct body b;
    if (read_body(q, &b, v) < 0)
        return -1;
    if (!body_object(v, q, &b, true))
        return -1;
    const struct api_json *first = api_json_get(b.json, "first_name");
    const struct api_json *name = api_json_get(b.json, "name");
    const struct api_json *last = api_json_get(b.json, "last_name");
    bool last_cleared = false;
    /* The reference's model validator: a legacy `name` stands in for a
     * missing first_name and then clears last_name. */
    if (api_json_truthy(name) && !api_json_truthy(first)) {
        first = name;
        last_cleared = true;
    } else if (!api_json_truthy(first) && !api_json_truthy(name)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "Value error, %s", m_name_required);
        add_error(v, "value_error", json_pack("[s]", "body"), msg, body_input(q, &b),
                  json_pack("{s:{}}", "error"));
        return -1;
    }
    const char *unused;
    body_str(v, "first_name", first, MAX_SHORT, &out->first_name);
    if (!last_cleared)
        body_str(v, "last_name", last, MAX_SHORT, &out->last_name);
    out->has_dob =
        body_date(v, "date_of_birth", api_json_get(b.json, "date_of_birth"), &out->dob) == F_OK;
    body_str(v, "notes", api_json_get(b.json, "notes"), MAX_LONG, &out->notes);
    body_str(v, "name", name, MAX_NONE, &unused);
    return done(v);
}

/* Sets an optional text column of an update: absent = untouched, null =
 * cleared (when nullable) or refused. */
static void update_text(struct api_vctx *v, const char *name, const struct api_json *val,
                        bool nullable, size_t max_chars, struct api_text *out)
{
    const char *s = NULL;
    switch (body_str(v, name, val, max_chars, &s)) {
    case F_ABSENT:
    case F_ERR:
        return;
    case F_NULL:
        if (!nullable) {
            body_not_null(v, name, false);
            return;
        }
        out->set = true;
        out->value = NULL;
        return;
    case F_OK:
        out->set = true;
        out->value = s;
        return;
    }
}

int api_in_person_update(const struct api_request *q, struct api_in_person_update *out,
                         struct api_vctx *v)
{
    memset(out, 0, sizeof(*out));
    struct body b;
    if (read_body(q, &b, v) < 0)
        return -1;
    path_int(v, q, 0, "person_id", &out->id);
    if (!body_object(v, q, &b, true))
        return -1;
    const struct api_json *first = api_json_get(b.json, "first_name");
    const struct api_json *name = api_json_get(b.json, "name");
    /* A legacy `name` becomes first_name; last_name is kept. */
    if (api_json_truthy(name) && !api_json_truthy(first))
        first = name;
    const char *unused;
    update_text(v, "first_name", first, false, MAX_SHORT, &out->first_name);
    update_text(v, "last_name", api_json_get(b.json, "last_name"), true, MAX_SHORT,
                &out->last_name);
    body_str(v, "name", name, MAX_NONE, &unused);
    switch (body_date(v, "date_of_birth", api_json_get(b.json, "date_of_birth"), &out->dob)) {
    case F_OK:
        out->dob_set = true;
        out->has_dob = true;
        break;
    case F_NULL:
        out->dob_set = true;
        break;
    case F_ABSENT:
    case F_ERR:
        break;
    }
    update_text(v, "notes", api_json_get(b.json, "notes"), true, MAX_LONG, &out->notes);
    return done(v);
}

int api_in_meds_list(const struct api_request *q, struct api_in_med_list *out, struct api_vctx *v)
{
    memset(out, 0, sizeof(*out));
    page_defaults(&out->page);
    query_page(v, q, &out->page);
    const char *date = query_get(q, "date");
    if (date)
        out->has_date = text_date(v, "query", "date", date, &out->date);
    query_tz(v, q, &out->tz);
    query_int(v, q, "person_id", &r_id, 0, &out->person_id, &out->has_person);
    return done(v);
}

int api_in_med_create(const struct api_request *q, struct api_in_med_create *out,
                      struct api_vctx *v)
{
    memset(out, 0, sizeof(*out));
    struct body b;
    if (read_body(q, &b, v) < 0)
        return -1;
    if (!body_object(v, q, &b, true))
        return -1;
    static const char *const text_fields[] = {"name", "dosage", "frequency"};
    const char **text_out[] = {&out->name, &out->dosage, &out->frequency};
    for (size_t k = 0; k < 3; k++) {
        switch (body_str(v, text_fields[k], api_json_get(b.json, text_fields[k]), MAX_SHORT,
                         text_out[k])) {
        case F_ABSENT:
            body_missing(v, q, &b, text_fields[k]);
            break;
        case F_NULL:
            body_not_null(v, text_fields[k], false);
            break;
        case F_OK:
        case F_ERR:
            break;
        }
    }
    switch (body_int(v, "max_doses_per_day", api_json_get(b.json, "max_doses_per_day"),
                     &r_max_doses, &out->max_doses)) {
    case F_ABSENT:
        body_missing(v, q, &b, "max_doses_per_day");
        break;
    case F_NULL:
        body_not_null(v, "max_doses_per_day", true);
        break;
    case F_OK:
    case F_ERR:
        break;
    }
    body_str(v, "instructions", api_json_get(b.json, "instructions"), MAX_LONG, &out->instructions);
    switch (body_int(v, "person_id", api_json_get(b.json, "person_id"), &r_id, &out->person_id)) {
    case F_ABSENT:
        body_missing(v, q, &b, "person_id");
        break;
    case F_NULL:
        body_not_null(v, "person_id", true);
        break;
    case F_OK:
    case F_ERR:
        break;
    }
    return done(v);
}

int api_in_med_get(const struct api_request *q, struct api_in_med_get *out, struct api_vctx *v)
{
    memset(out, 0, sizeof(*out));
    path_int(v, q, 0, "medication_id", &out->id);
    const char *date = query_get(q, "date");
    if (date)
        out->has_date = text_date(v, "query", "date", date, &out->date);
    query_tz(v, q, &out->tz);
    return done(v);
}

int api_in_med_update(const struct api_request *q, struct api_in_med_update *out,
                      struct api_vctx *v)
{
    memset(out, 0, sizeof(*out));
    struct body b;
    if (read_body(q, &b, v) < 0)
        return -1;
    path_int(v, q, 0, "medication_id", &out->id);
    if (!body_object(v, q, &b, true))
        return -1;
    update_text(v, "name", api_json_get(b.json, "name"), false, MAX_SHORT, &out->name);
    update_text(v, "dosage", api_json_get(b.json, "dosage"), false, MAX_SHORT, &out->dosage);
    update_text(v, "frequency", api_json_get(b.json, "frequency"), false, MAX_SHORT,
                &out->frequency);
    switch (body_int(v, "max_doses_per_day", api_json_get(b.json, "max_doses_per_day"),
                     &r_max_doses, &out->max_doses)) {
    case F_OK:
        out->max_set = true;
        break;
    case F_NULL:
        body_not_null(v, "max_doses_per_day", true);
        break;
    case F_ABSENT:
    case F_ERR:
        break;
    }
    update_text(v, "instructions", api_json_get(b.json, "instructions"), true, MAX_LONG,
                &out->instructions);
    return done(v);
}

int api_in_med_id(const struct api_request *q, struct api_in_id *out, struct api_vctx *v)
{
    path_int(v, q, 0, "medication_id", &out->id);
    return done(v);
}

int api_in_dose_now(const struct api_request *q, struct api_in_dose_now *out, struct api_vctx *v)
{
    memset(out, 0, sizeof(*out));
    struct body b;
    if (read_body(q, &b, v) < 0)
        return -1;
    path_int(v, q, 0, "medication_id", &out->medication_id);
    /* The body is optional: none, or JSON null, means "no offset given". */
    if (body_object(v, q, &b, false)) {
        int64_t m = 0;
        switch (
            body_int(v, "timezone_offset", api_json_get(b.json, "timezone_offset"), &r_tz, &m)) {
        case F_ABSENT:
            body_missing(v, q, &b, "timezone_offset");
            break;
        case F_NULL:
            body_not_null(v, "timezone_offset", true);
            break;
        case F_OK:
            out->tz.given = true;
            out->tz.minutes = (int)m;
            break;
        case F_ERR:
            break;
        }
    }
    return done(v);
}

int api_in_dose_history(const struct api_request *q, struct api_in_dose_history *out,
                        struct api_vctx *v)
{
    memset(out, 0, sizeof(*out));
    page_defaults(&out->page);
    path_int(v, q, 0, "medication_id", &out->medication_id);
    query_page(v, q, &out->page);
    return done(v);
}

int api_in_dose_day(const struct api_request *q, struct api_in_dose_day *out, struct api_vctx *v)
{
    memset(out, 0, sizeof(*out));
    path_int(v, q, 0, "medication_id", &out->medication_id);
    text_date(v, "path", "date", param_get(q, 1), &out->date);
    query_tz(v, q, &out->tz);
    return done(v);
}

int api_in_summary(const struct api_request *q, bool has_date, struct api_in_summary *out,
                   struct api_vctx *v)
{
    memset(out, 0, sizeof(*out));
    if (has_date)
        out->has_date = text_date(v, "path", "date", param_get(q, 0), &out->date);
    query_tz(v, q, &out->tz);
    query_int(v, q, "person_id", &r_id, 0, &out->person_id, &out->has_person);
    return done(v);
}

int api_in_deleted_history(const struct api_request *q, struct api_in_deleted_history *out,
                           struct api_vctx *v)
{
    memset(out, 0, sizeof(*out));
    page_defaults(&out->page);
    out->name = param_get(q, 0);
    query_page(v, q, &out->page);
    return done(v);
}

int api_in_dose_for_date(const struct api_request *q, struct api_in_dose_for_date *out,
                         struct api_vctx *v)
{
    memset(out, 0, sizeof(*out));
    path_int(v, q, 0, "medication_id", &out->medication_id);
    text_date(v, "path", "date", param_get(q, 1), &out->date);
    out->time = query_get(q, "time");
    if (!out->time)
        add_error(v, "missing", loc2("query", "time"), m_missing, NULL, NULL);
    query_tz(v, q, &out->tz);
    return done(v);
}

int api_in_dose_id(const struct api_request *q, struct api_in_id *out, struct api_vctx *v)
{
    path_int(v, q, 0, "dose_id", &out->id);
    return done(v);
}

int api_in_pdf(const struct api_request *q, struct api_in_pdf *out, struct api_vctx *v)
{
    memset(out, 0, sizeof(*out));
    text_date(v, "path", "date", param_get(q, 0), &out->date);
    query_tz(v, q, &out->tz);
    bool present = false;
    if (query_int(v, q, "person_id", &r_any, 0, &out->person_id, &present))
        out->has_person = present && out->person_id != 0;
    query_int(v, q, "days", &r_days, 1, &out->days, NULL);
    return done(v);
}

int api_in_pdf_opts(const struct api_request *q, struct api_in_pdf_opts *out, struct api_vctx *v)
{
    memset(out, 0, sizeof(*out));
    const char *paper = query_get(q, "paper");
    if (paper && strcmp(paper, "a4") == 0)
        out->a4 = true;
    else if (paper && strcmp(paper, "letter") != 0)
        add_error(v, "literal_error", loc2("query", "paper"), "Input should be 'letter' or 'a4'",
                  cstr_json(paper), json_pack("{s:s}", "expected", "'letter' or 'a4'"));
    query_bool(v, q, "prefill", &out->prefill);
    return done(v);
}

int api_in_export(const struct api_request *q, struct api_in_export *out, struct api_vctx *v)
{
    memset(out, 0, sizeof(*out));
    const char *person = query_get(q, "person_id");
    if (person)
        text_int(v, "query", "person_id", person, &r_id, &out->person_id);
    else
        add_error(v, "missing", loc2("query", "person_id"), m_missing, NULL, NULL);
    bool dates = query_date(v, q, "from", &out->from);
    dates = query_date(v, q, "to", &out->to) && dates;
    query_tz(v, q, &out->tz);
    if (dates && mt_date_cmp(out->from, out->to) > 0) {
        char msg[96], from[16];
        int n = snprintf(msg, sizeof(msg), "Value error, \"to\" must not be before \"from\" (%s)",
                         mt_format_date(out->from, from, sizeof(from)));
        add_error(v, "value_error", loc2("query", "to"),
                  n > 0 && (size_t)n < sizeof(msg)
                      ? msg
                      : "Value error, \"to\" must not be before \"from\"",
                  cstr_json(query_get(q, "to")), json_pack("{s:{}}", "error"));
    }
    return done(v);
}

/* Python's int() on one part of "HH:MM": white space around it, a sign,
 * digits with single underscores. */
static bool hhmm_part(const char *s, size_t len, int *out)
{
    while (len && ascii_space(s[0])) {
        s++;
        len--;
    }
    while (len && ascii_space(s[len - 1]))
        len--;
    struct ival iv;
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
