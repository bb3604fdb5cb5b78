/* Request validation with the reference's (FastAPI 0.115 / pydantic 2)
 * observable behaviour, driven by an operation's parameter table: the error
 * list, the query and path lookups, reading the body (content type, JSON
 * decoding, the body as a whole), and the walk over the parameters in
 * FastAPI's order: path, query, then the body's fields. Each value is read
 * by api/coerce.c. */
#include "api/validate.h"

#include <assert.h>
#include <string.h>
#include <strings.h>

#include "api/coerce.h"

static const char m_missing[] = "Field required";
static const char m_model_type[] =
    "Input should be a valid dictionary or object to extract fields from";
static const char m_body_broken[] = "There was an error parsing the body";
static const char m_body_nomem[] = "Request body is too large to process";

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

void api_vctx_add(struct api_vctx *v, const char *type, json_t *loc, const char *msg, json_t *input,
                  json_t *ctx)
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

/* ---- path and query ------------------------------------------------------------------------ */

const char *api_request_query(const struct api_request *q, const char *name)
{
    const char *found = NULL;
    for (size_t i = 0; i < q->n_query; i++)
        if (q->query[i].name && strcmp(q->query[i].name, name) == 0)
            found = q->query[i].value ? q->query[i].value : "";
    return found;
}

static const char *path_param(const struct api_request *q, size_t idx)
{
    return idx < q->n_params && q->params[idx] ? q->params[idx] : "";
}

/* ---- the body -------------------------------------------------------------------------------- */

enum body_kind { BODY_NONE, BODY_JSON, BODY_RAW };

/* Fields a model rule may redirect: the legacy `name` of a person needs
 * two. */
#define MAX_USE 4

struct api_body {
    const struct api_request *q;
    enum body_kind kind;
    const struct api_json *json;
    struct {
        const char *name;
        const struct api_json *value;
    } use[MAX_USE];
    size_t n_use;
    const char *optional[MAX_USE];
    size_t n_optional;
};

static bool ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

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

/* Reads the body of an operation that declares one. Returns -1 (with v
 * filled) when it cannot be decoded. */
static int read_body(const struct api_request *q, struct api_body *b, struct api_vctx *v)
{
    b->q = q;
    b->kind = BODY_NONE;
    b->json = NULL;
    b->n_use = 0;
    b->n_optional = 0;
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
        api_vctx_add(v, "json_invalid", loc, "JSON decode error", json_object(),
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

json_t *api_body_input(const struct api_body *b)
{
    if (b->kind == BODY_RAW)
        return api_json_text(b->q->body, b->q->body_len);
    if (b->kind == BODY_JSON)
        return api_json_to_jansson(b->json);
    return json_null();
}

/* Checks that a body is an object; adds the error otherwise. A missing body
 * is "missing" when required, else fine (returns false with no error). */
static bool body_object(struct api_vctx *v, const struct api_body *b, bool required)
{
    if (b->kind == BODY_NONE) {
        if (required)
            api_vctx_add(v, "missing", json_pack("[s]", "body"), m_missing, NULL, NULL);
        return false;
    }
    if (b->kind == BODY_RAW || b->json->type != API_J_OBJECT) {
        api_vctx_add(v, "model_attributes_type", json_pack("[s]", "body"), m_model_type,
                     api_body_input(b), NULL);
        return false;
    }
    return true;
}

const struct api_json *api_body_get(const struct api_body *b, const char *name)
{
    for (size_t i = 0; i < b->n_use; i++)
        if (strcmp(b->use[i].name, name) == 0)
            return b->use[i].value;
    return api_json_get(b->json, name);
}

void api_body_use(struct api_body *b, const char *name, const struct api_json *value)
{
    for (size_t i = 0; i < b->n_use; i++) {
        if (strcmp(b->use[i].name, name) == 0) {
            b->use[i].value = value;
            return;
        }
    }
    /* Only our own model rules call this, with a fixed set of names. */
    assert(b->n_use < MAX_USE);
    b->use[b->n_use].name = name;
    b->use[b->n_use].value = value;
    b->n_use++;
}

void api_body_optional(struct api_body *b, const char *name)
{
    /* Only our own model rules call this, with a fixed set of names. */
    assert(b->n_optional < MAX_USE);
    b->optional[b->n_optional++] = name;
}

static bool made_optional(const struct api_body *b, const char *name)
{
    for (size_t i = 0; i < b->n_optional; i++)
        if (strcmp(b->optional[i], name) == 0)
            return true;
    return false;
}

/* ---- the walk over an operation's parameters ------------------------------------------------ */

/* The value of p in the input struct. */
static void *slot(void *in, const struct api_param *p)
{
    return (char *)in + p->at;
}

static void set_defaults(const struct api_op *op, void *in)
{
    memset(in, 0, op->in_size);
    for (const struct api_param *p = op->params; p->name; p++) {
        if (p->type == API_INT && p->has_default) {
            struct api_int *iv = slot(in, p);
            iv->value = p->def;
        }
    }
}

/* A path or query parameter given as text s. */
static void read_text(struct api_vctx *v, const struct api_param *p, const char *s, void *in)
{
    const char *where = p->where == API_PATH ? "path" : "query";
    switch (p->type) {
    case API_INT: {
        struct api_int *iv = slot(in, p);
        iv->set = api_coerce_int(v, where, p->name, s, &p->bounds, &iv->value);
        return;
    }
    case API_DATE: {
        struct api_date *d = slot(in, p);
        d->set = api_coerce_date(v, where, p->name, s, &d->value);
        return;
    }
    case API_TEXT: {
        struct api_text *t = slot(in, p);
        t->set = true;
        t->value = s;
        return;
    }
    case API_BOOL: {
        struct api_int *iv = slot(in, p);
        bool b = false;
        iv->set = api_coerce_bool(v, where, p->name, s, &b);
        iv->value = b;
        return;
    }
    case API_CHOICE: {
        struct api_int *iv = slot(in, p);
        size_t index = 0;
        iv->set = api_coerce_choice(v, where, p->name, s, p->choices, &index);
        iv->value = (int64_t)index;
        return;
    }
    case API_DATETIME: {
        struct api_time *t = slot(in, p);
        t->set = api_coerce_datetime(v, where, p->name, s, &t->us);
        return;
    }
    case API_IDS:
    case API_NUMBER:
    case API_JSON:
        /* Body only; the operation table's test keeps it so. */
        return;
    }
}

/* The path parameters (in pattern order) or the query parameters. */
static void read_params(const struct api_op *op, enum api_where where, const struct api_request *q,
                        void *in, struct api_vctx *v)
{
    size_t path_index = 0;
    for (const struct api_param *p = op->params; p->name; p++) {
        if (p->where != where)
            continue;
        const char *s;
        if (where == API_PATH) {
            s = path_param(q, path_index++);
        } else {
            s = api_request_query(q, p->name);
            if (!s) {
                if (p->required)
                    api_vctx_add(v, "missing", json_pack("[s,s]", "query", p->name), m_missing,
                                 NULL, NULL);
                continue;
            }
        }
        read_text(v, p, s, in);
    }
}

/* One field of a body object. */
static void read_field(struct api_vctx *v, const struct api_param *p, const struct api_body *b,
                       void *in)
{
    const struct api_json *val = api_body_get(b, p->name);
    enum api_field f = API_FIELD_ERR;
    bool *set = NULL;
    switch (p->type) {
    case API_TEXT: {
        struct api_text *t = slot(in, p);
        f = api_coerce_body_str(v, p->name, val, p->max_len, &t->value);
        set = &t->set;
        break;
    }
    case API_INT: {
        struct api_int *iv = slot(in, p);
        f = api_coerce_body_int(v, p->name, val, &p->bounds, &iv->value);
        set = &iv->set;
        break;
    }
    case API_DATE: {
        struct api_date *d = slot(in, p);
        f = api_coerce_body_date(v, p->name, val, &d->value);
        d->null = f == API_FIELD_NULL && p->nullable;
        set = &d->set;
        break;
    }
    case API_BOOL: {
        struct api_int *iv = slot(in, p);
        bool yes = false;
        f = api_coerce_body_bool(v, p->name, val, &yes);
        iv->value = yes;
        set = &iv->set;
        break;
    }
    case API_CHOICE: {
        struct api_int *iv = slot(in, p);
        size_t index = 0;
        f = api_coerce_body_choice(v, p->name, val, p->choices, p->nullable, &index);
        iv->value = (int64_t)index;
        set = &iv->set;
        break;
    }
    case API_IDS: {
        struct api_ids *ids = slot(in, p);
        f = api_coerce_body_ids(v, b->q->arena, p->name, val, &p->bounds, &ids->values, &ids->n);
        set = &ids->set;
        break;
    }
    case API_NUMBER: {
        struct api_num *nv = slot(in, p);
        f = api_coerce_body_number(v, p->name, val, &p->bounds, &nv->value);
        nv->null = f == API_FIELD_NULL && p->nullable;
        set = &nv->set;
        break;
    }
    case API_DATETIME: {
        struct api_time *t = slot(in, p);
        f = api_coerce_body_datetime(v, p->name, val, &t->us);
        t->null = f == API_FIELD_NULL && p->nullable;
        set = &t->set;
        break;
    }
    case API_JSON: {
        struct api_jsonv *j = slot(in, p);
        if (!val) {
            f = API_FIELD_ABSENT;
        } else if (val->type == API_J_NULL) {
            f = API_FIELD_NULL;
        } else {
            j->value = val;
            f = API_FIELD_OK;
        }
        set = &j->set;
        break;
    }
    }
    switch (f) {
    case API_FIELD_ABSENT:
        if (p->required && !made_optional(b, p->name))
            api_vctx_add(v, "missing", json_pack("[s,s]", "body", p->name), m_missing,
                         api_body_input(b), NULL);
        break;
    case API_FIELD_NULL:
        if (p->nullable)
            *set = true;
        else
            api_coerce_not_null(v, p->name, p->type);
        break;
    case API_FIELD_OK:
        *set = true;
        break;
    case API_FIELD_ERR:
        break;
    }
}

int api_validate(const struct api_op *op, const struct api_request *q, void *in, struct api_vctx *v)
{
    set_defaults(op, in);
    struct api_body b;
    if (op->body != API_NO_BODY && read_body(q, &b, v) < 0)
        return -1;
    read_params(op, API_PATH, q, in, v);
    read_params(op, API_QUERY, q, in, v);
    if (op->body != API_NO_BODY && body_object(v, &b, op->body == API_BODY_REQUIRED)) {
        if (op->model && op->model(&b, v) < 0)
            return -1;
        for (const struct api_param *p = op->params; p->name; p++)
            if (p->where == API_BODY)
                read_field(v, p, &b, in);
    }
    if (op->cross)
        op->cross(q, in, v);
    return v->status ? -1 : 0;
}
