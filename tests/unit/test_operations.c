/* Unit test of the operation table (src/api/operations.c): every entry is
 * well formed, routed (a concrete path made from its pattern reaches the
 * runner with the entry's operation), validated (a request with a valid
 * value for every parameter is accepted with exactly those values; one with
 * an invalid value for every parameter gets one 422 error per parameter, in
 * path, query, body order) and documented (its operation in /openapi.json
 * has the same parameters, body fields, statuses, id and permission), and
 * declares its permission (access control, docs/auth.md: no operation may
 * lack one). Nothing here names an operation: adding one to the table adds
 * it to every check. */
#include <ctype.h>
#include <string.h>

#include "../check.h"
#include "api/auth.h"
#include "api/handlers.h"
#include "api/openapi.h"
#include "api/router.h"
#include "api/validate.h"
#include "core/arena.h"

static struct mt_arena *arena;

static bool is_document(const char *pattern)
{
    return strcmp(pattern, "/openapi.json") == 0 || strcmp(pattern, "/docs") == 0 ||
           strcmp(pattern, "/redoc") == 0;
}

static size_t value_size(enum api_type t)
{
    switch (t) {
    case API_DATE:
        return sizeof(struct api_date);
    case API_TEXT:
        return sizeof(struct api_text);
    case API_IDS:
        return sizeof(struct api_ids);
    case API_NUMBER:
        return sizeof(struct api_num);
    case API_DATETIME:
        return sizeof(struct api_time);
    case API_JSON:
        return sizeof(struct api_jsonv);
    case API_INT:
    case API_BOOL:
    case API_CHOICE:
        break;
    }
    return sizeof(struct api_int);
}

/* ---- well formed ---------------------------------------------------------------------------- */

/* The {name} segments of a pattern, in order, are the path parameters. */
static void check_path_params(const struct http_route *rt)
{
    const struct api_param *p = rt->op->params;
    for (const char *s = strchr(rt->pattern, '{'); s; s = strchr(s + 1, '{')) {
        while (p->name && p->where != API_PATH)
            p++;
        size_t len = strcspn(s + 1, "}");
        CHECK(p->name && strlen(p->name) == len && strncmp(p->name, s + 1, len) == 0);
        if (!p->name) {
            fprintf(stderr, "  %s: no path parameter for %s\n", rt->pattern, s);
            return;
        }
        p++;
    }
    while (p->name && p->where != API_PATH)
        p++;
    CHECK(p->name == NULL);
}

static void check_entry(const struct http_route *rt)
{
    const struct api_op *op = rt->op;
    if (!op) {
        CHECK(is_document(rt->pattern) && rt->fn != api_op_run);
        return;
    }
    CHECK(rt->fn == api_op_run);
    CHECK(op->handler && op->params && op->tag && op->op_id && op->summary);
    /* Every operation declares its permission; only public ones may be
     * light (a light route never waits on the database, which checking
     * credentials may need), or look at credentials by request. */
    CHECK(op->perm >= API_PUBLIC && op->perm <= API_ADMIN);
    if (op->perm == API_PERM_UNSET)
        fprintf(stderr, "  %s %s declares no permission\n", rt->method, rt->pattern);
    CHECK(!rt->light || (op->perm == API_PUBLIC && !op->identify));
    CHECK(!op->identify || op->perm == API_PUBLIC);
    CHECK(!op->serve_off || op->auth_api);
    CHECK(op->conflict == 0 || (op->conflict >= 400 && op->conflict < 500));
    CHECK(op->status >= 200 && op->status < 300);
    CHECK(!rt->light || op->no_db);
    CHECK((op->body != API_NO_BODY) == (op->body_schema != NULL));
    check_path_params(rt);
    size_t n_body = 0;
    for (const struct api_param *p = op->params; p->name; p++) {
        CHECK(p->at + value_size(p->type) <= op->in_size);
        CHECK(p->type != API_CHOICE || (p->choices && p->choices[0]));
        if (p->where == API_BODY) {
            n_body++;
        } else {
            CHECK(p->type != API_IDS);
            CHECK(p->type != API_TEXT || p->max_len == 0);
            CHECK(p->type != API_NUMBER && p->type != API_JSON);
            CHECK(!p->nullable);
        }
    }
    CHECK((op->body != API_NO_BODY) == (n_body > 0));
    for (size_t j = 0; j < api_n_routes; j++)
        if (api_routes[j].op && api_routes[j].op != op)
            CHECK(strcmp(api_routes[j].op->op_id, op->op_id) != 0);
}

/* ---- routed --------------------------------------------------------------------------------- */

/* A path parameter's valid text. */
static const char *valid_text(const struct api_param *p, char *buf, size_t size)
{
    switch (p->type) {
    case API_INT: {
        int64_t v = 7;
        if (p->bounds.lo_op)
            v = strcmp(p->bounds.lo_op, "ge") == 0 ? p->bounds.lo : p->bounds.lo + 1;
        else if (p->bounds.hi_op)
            v = strcmp(p->bounds.hi_op, "le") == 0 ? p->bounds.hi : p->bounds.hi - 1;
        snprintf(buf, size, "%lld", (long long)v);
        return buf;
    }
    case API_DATE:
        return "2026-01-02";
    case API_TEXT:
        return "08:00";
    case API_BOOL:
        return "true";
    case API_CHOICE: {
        size_t last = 0;
        while (p->choices[last + 1])
            last++;
        return p->choices[last];
    }
    case API_NUMBER:
        return "2.5";
    case API_DATETIME:
        return "2026-01-02T03:04:05Z";
    case API_JSON:
        return "[]";
    case API_IDS:
        break;
    }
    return "";
}

/* The one valid id a valid API_IDS list holds. */
static int64_t valid_id(const struct api_param *p)
{
    return p->bounds.lo_op ? p->bounds.lo + (strcmp(p->bounds.lo_op, "gt") == 0) : 7;
}

/* 2026-01-02T03:04:05Z in microseconds. */
#define VALID_INSTANT (INT64_C(1767323045) * 1000000)

/* The pattern with each {name} replaced by a valid value. */
static const char *concrete_path(const struct http_route *rt)
{
    static char out[512];
    size_t o = 0;
    const struct api_param *p = rt->op->params;
    for (const char *s = rt->pattern; *s && o + 1 < sizeof(out);) {
        if (*s != '{') {
            out[o++] = *s++;
            continue;
        }
        while (p->name && p->where != API_PATH)
            p++;
        char buf[32];
        const char *v = p->name ? valid_text(p, buf, sizeof(buf)) : "x";
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s", v);
        if (p->name)
            p++;
        s = strchr(s, '}') + 1;
    }
    out[o < sizeof(out) ? o : sizeof(out) - 1] = '\0';
    return out;
}

static void check_routed(const struct http_route *rt)
{
    struct http_req r = {0};
    r.arena = arena;
    r.method = rt->method;
    r.path = concrete_path(rt);
    bool light = false;
    http_handler fn = router_resolve(&r, api_routes, api_n_routes, api_fallback, &light);
    CHECK(fn == api_op_run && r.op == rt->op && r.route == rt->pattern && light == rt->light);
    if (r.op != rt->op)
        fprintf(stderr, "  not routed: %s %s (as %s)\n", rt->method, rt->pattern, r.path);
    /* Collections also answer without their trailing slash (api.md, 7). */
    size_t len = strlen(rt->pattern);
    if (rt->pattern[len - 1] == '/') {
        char bare[256];
        snprintf(bare, sizeof(bare), "%.*s", (int)(len - 1), rt->pattern);
        r.path = bare;
        fn = router_resolve(&r, api_routes, api_n_routes, api_fallback, &light);
        CHECK(fn == api_op_run && r.op == rt->op);
    }
}

/* ---- validated ------------------------------------------------------------------------------ */

struct fake {
    struct api_request q;
    const char *params[HTTP_MAX_PARAMS];
    struct http_kv query[16];
    char *body;
};

/* The body text a valid request gives p: "x", except for the fields whose
 * rules want more than any text (a person's time zone, issue 16). */
static const char *body_text(const struct api_param *p)
{
    return strcmp(p->name, "timezone") == 0 ? "UTC" : "x";
}

/* A valid JSON value of p: a list (ingredients), or a schedule. */
static json_t *valid_json(const struct api_param *p)
{
    if (strcmp(p->name, "schedule") == 0)
        return json_pack("{s:[s]}", "times", "08:00");
    return json_array();
}

/* A request giving every parameter of op a valid value (valid = true), or
 * an invalid one where its type has any. */
static struct api_request *make_request(struct fake *f, const struct api_op *op, bool valid)
{
    memset(f, 0, sizeof(*f));
    json_t *body = json_object();
    for (const struct api_param *p = op->params; p->name; p++) {
        char buf[32];
        const char *text = valid_text(p, buf, sizeof(buf));
        const char *bad = p->type == API_BOOL ? "maybe" : p->type == API_CHOICE ? "nope" : "x";
        if (p->where == API_BODY) {
            json_t *v;
            if (!valid)
                v = p->type == API_TEXT                              ? json_integer(5)
                    : p->type == API_DATE || p->type == API_DATETIME ? json_true()
                    : p->type == API_BOOL                            ? json_string("maybe")
                                                                     : json_string("x");
            else if (p->type == API_INT)
                v = json_integer(strtoll(text, NULL, 10));
            else if (p->type == API_BOOL)
                v = json_true();
            else if (p->type == API_IDS)
                v = json_pack("[I]", (json_int_t)valid_id(p));
            else if (p->type == API_NUMBER)
                v = json_real(2.5);
            else if (p->type == API_JSON)
                v = valid_json(p);
            else
                v = json_string(p->type == API_TEXT ? body_text(p) : text);
            json_object_set_new(body, p->name, v);
            continue;
        }
        const char *value = mt_arena_strdup(arena, valid || p->type == API_TEXT ? text : bad);
        if (p->where == API_PATH) {
            f->params[f->q.n_params++] = value;
        } else if (valid || p->type != API_TEXT) {
            /* Text is never invalid: an invalid request leaves it out. */
            f->query[f->q.n_query].name = p->name;
            f->query[f->q.n_query].value = value;
            f->q.n_query++;
        }
    }
    f->q.arena = arena;
    f->q.params = f->params;
    f->q.query = f->query;
    if (op->body != API_NO_BODY) {
        char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
        f->q.body = mt_arena_strdup(arena, text);
        f->q.body_len = strlen(text);
        f->q.content_type = "application/json";
        free(text);
    }
    json_decref(body);
    return &f->q;
}

/* Every parameter holds the valid value it was given. */
static void check_values(const struct api_op *op, const void *in)
{
    for (const struct api_param *p = op->params; p->name; p++) {
        const void *slot = (const char *)in + p->at;
        char buf[32];
        const char *text = valid_text(p, buf, sizeof(buf));
        switch (p->type) {
        case API_INT: {
            const struct api_int *v = slot;
            CHECK(v->set && v->value == strtoll(text, NULL, 10));
            break;
        }
        case API_BOOL: {
            const struct api_int *v = slot;
            CHECK(v->set && v->value == 1);
            break;
        }
        case API_CHOICE: {
            const struct api_int *v = slot;
            CHECK(v->set && p->choices[v->value] && strcmp(p->choices[v->value], text) == 0);
            break;
        }
        case API_DATE: {
            const struct api_date *v = slot;
            CHECK(v->set && !v->null && v->value.year == 2026 && v->value.month == 1 &&
                  v->value.day == 2);
            break;
        }
        case API_TEXT: {
            const struct api_text *v = slot;
            CHECK(v->set && v->value &&
                  strcmp(v->value, p->where == API_BODY ? body_text(p) : text) == 0);
            break;
        }
        case API_IDS: {
            const struct api_ids *v = slot;
            CHECK(v->set && v->n == 1 && v->values[0] == valid_id(p));
            break;
        }
        case API_NUMBER: {
            const struct api_num *v = slot;
            CHECK(v->set && !v->null && v->value == 2.5);
            break;
        }
        case API_DATETIME: {
            const struct api_time *v = slot;
            CHECK(v->set && !v->null && v->us == VALID_INSTANT);
            break;
        }
        case API_JSON: {
            const struct api_jsonv *v = slot;
            CHECK(v->set && v->value != NULL);
            break;
        }
        }
    }
}

/* Whether validation says the client gave p. */
static bool is_set(const struct api_param *p, const void *in)
{
    const void *slot = (const char *)in + p->at;
    if (p->type == API_TEXT)
        return ((const struct api_text *)slot)->set;
    if (p->type == API_DATE)
        return ((const struct api_date *)slot)->set;
    if (p->type == API_IDS)
        return ((const struct api_ids *)slot)->set;
    if (p->type == API_NUMBER)
        return ((const struct api_num *)slot)->set;
    if (p->type == API_DATETIME)
        return ((const struct api_time *)slot)->set;
    if (p->type == API_JSON)
        return ((const struct api_jsonv *)slot)->set;
    return ((const struct api_int *)slot)->set;
}

/* The locs of the 422 errors, as "where/name" joined by spaces. */
static void error_locs(struct api_vctx *v, char *out, size_t size)
{
    size_t o = 0;
    out[0] = '\0';
    size_t i;
    json_t *e;
    json_array_foreach(v->errors, i, e)
    {
        json_t *loc = json_object_get(e, "loc");
        const char *where = json_string_value(json_array_get(loc, 0));
        const char *name = json_string_value(json_array_get(loc, 1));
        o += (size_t)snprintf(out + o, size - o, "%s%s%s%s", i ? " " : "", where ? where : "?",
                              name ? "/" : "", name ? name : "");
        if (o >= size)
            return;
    }
}

static void check_validated(const struct http_route *rt)
{
    const struct api_op *op = rt->op;
    void *in = mt_arena_alloc(arena, op->in_size ? op->in_size : 1);
    struct fake f;
    struct api_vctx v;

    api_vctx_init(&v);
    int rc = api_validate(op, make_request(&f, op, true), in, &v);
    CHECK_EQ(rc, 0);
    if (rc == 0)
        check_values(op, in);
    else
        fprintf(stderr, "  %s: a valid request was refused (%d)\n", op->op_id, v.status);
    api_vctx_release(&v);

    /* The same request without any of its optional parameters: the
     * defaults. */
    if (op->body == API_NO_BODY) {
        struct fake bare = f;
        bare.q.n_query = 0;
        for (const struct api_param *p = op->params; p->name; p++) {
            if (p->where != API_QUERY || !p->required)
                continue;
            char buf[32];
            bare.query[bare.q.n_query].name = p->name;
            bare.query[bare.q.n_query].value = mt_arena_strdup(arena, valid_text(p, buf, 32));
            bare.q.n_query++;
        }
        bare.q.query = bare.query;
        api_vctx_init(&v);
        CHECK_EQ(api_validate(op, &bare.q, in, &v), 0);
        for (const struct api_param *p = op->params; p->name && v.status == 0; p++) {
            if (p->where != API_QUERY || p->required)
                continue;
            CHECK(!is_set(p, in));
            if (p->type == API_INT) {
                const struct api_int *iv = (const void *)((const char *)in + p->at);
                CHECK_EQ(iv->value, p->has_default ? p->def : 0);
            }
        }
        api_vctx_release(&v);
    }

    /* Every parameter wrong at once: one error each, in FastAPI's order. */
    char want[512], got[512];
    size_t o = 0;
    want[0] = '\0';
    static const char *const where_names[] = {"path", "query", "body"};
    for (int w = API_PATH; w <= API_BODY; w++)
        for (const struct api_param *p = op->params; p->name; p++)
            /* Text in a path or an optional query is never wrong. */
            if ((int)p->where == w &&
                !(p->type == API_TEXT && p->where != API_BODY && !p->required))
                o += (size_t)snprintf(want + o, sizeof(want) - o, "%s%s/%s", o ? " " : "",
                                      where_names[w], p->name);
    api_vctx_init(&v);
    rc = api_validate(op, make_request(&f, op, false), in, &v);
    if (want[0]) {
        CHECK(rc == -1 && v.status == 422);
        error_locs(&v, got, sizeof(got));
        CHECK_STR(got, want);
    } else {
        CHECK_EQ(rc, 0);
    }
    api_vctx_release(&v);

    /* A required body that is not there. */
    if (op->body == API_BODY_REQUIRED) {
        make_request(&f, op, true);
        f.q.body = NULL;
        f.q.body_len = 0;
        api_vctx_init(&v);
        CHECK_EQ(api_validate(op, &f.q, in, &v), -1);
        error_locs(&v, got, sizeof(got));
        CHECK_STR(got, "body");
        api_vctx_release(&v);
    }
}

/* ---- documented ----------------------------------------------------------------------------- */

static void check_documented(json_t *doc, const struct http_route *rt)
{
    const struct api_op *op = rt->op;
    char method[8];
    size_t k = 0;
    for (; rt->method[k] && k + 1 < sizeof(method); k++)
        method[k] = (char)tolower((unsigned char)rt->method[k]);
    method[k] = '\0';
    json_t *o =
        json_object_get(json_object_get(json_object_get(doc, "paths"), rt->pattern), method);
    CHECK(o != NULL);
    if (!o) {
        fprintf(stderr, "  undocumented: %s %s\n", rt->method, rt->pattern);
        return;
    }
    CHECK_STR(json_string_value(json_object_get(o, "operationId")), op->op_id);
    CHECK_STR(json_string_value(json_object_get(o, "x-permission")), api_perm_name(op->perm));
    CHECK(json_is_array(json_object_get(o, "security")));
    CHECK((json_array_size(json_object_get(o, "security")) == 0) == (op->perm == API_PUBLIC));
    CHECK_STR(json_string_value(json_object_get(o, "summary")), op->summary);
    json_t *params = json_object_get(o, "parameters");
    size_t i = 0;
    json_t *schema = json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
                                     op->body_schema ? op->body_schema : "");
    json_t *props = json_object_get(schema, "properties");
    size_t n_body = 0;
    for (const struct api_param *p = op->params; p->name; p++) {
        if (p->where == API_BODY) {
            CHECK(json_object_get(props, p->name) != NULL);
            n_body++;
            continue;
        }
        json_t *d = json_array_get(params, i++);
        CHECK_STR(json_string_value(json_object_get(d, "name")), p->name);
        CHECK_STR(json_string_value(json_object_get(d, "in")),
                  p->where == API_PATH ? "path" : "query");
        CHECK(json_is_true(json_object_get(d, "required")) ==
              (p->where == API_PATH || p->required));
        CHECK(json_object_get(d, "schema") != NULL);
    }
    CHECK_EQ(json_array_size(params), i);
    CHECK_EQ(json_object_size(props), n_body);
    CHECK((json_object_get(o, "requestBody") != NULL) == (op->body != API_NO_BODY));
    json_t *responses = json_object_get(o, "responses");
    char status[8];
    snprintf(status, sizeof(status), "%d", op->status);
    CHECK(json_object_get(responses, status) != NULL);
    CHECK((json_object_get(responses, "422") != NULL) == (op->params[0].name != NULL));
}

int main(void)
{
    arena = mt_arena_new(16u << 20);
    struct mt_err err;
    CHECK_EQ(router_check(api_routes, api_n_routes, &err), 0);
    json_t *doc = api_openapi_doc(NULL, true);
    CHECK(doc != NULL);
    size_t n_ops = 0, n_open = 0;
    for (size_t i = 0; i < api_n_routes; i++) {
        const struct http_route *rt = &api_routes[i];
        check_entry(rt);
        if (!rt->op)
            continue;
        n_ops++;
        n_open += !rt->op->auth_api;
        check_routed(rt);
        check_validated(rt);
        check_documented(doc, rt);
    }
    /* The document describes the table's operations and nothing else. */
    size_t n_doc = 0;
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), path, item) n_doc += json_object_size(item);
    CHECK_EQ(n_doc, n_ops);
    CHECK(json_object_get(json_object_get(doc, "components"), "securitySchemes") != NULL);
    json_decref(doc);
    /* With AUTH=off: the open API's operations only, without a word of
     * access control. */
    doc = api_openapi_doc(NULL, false);
    n_doc = 0;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        n_doc += json_object_size(item);
        const char *method;
        json_t *o;
        json_object_foreach(item, method, o)
        {
            CHECK(json_object_get(o, "x-permission") == NULL);
            CHECK(json_object_get(o, "security") == NULL);
        }
    }
    CHECK_EQ(n_doc, n_open);
    CHECK(json_object_get(json_object_get(doc, "components"), "securitySchemes") == NULL);
    CHECK(json_object_get(doc, "security") == NULL);
    json_decref(doc);
    mt_arena_free(arena);
    return check_report();
}
