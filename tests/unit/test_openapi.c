/* Unit test of src/api/openapi.c against src/api/operations.c: every operation
 * the OpenAPI document describes is a route, and every route is described
 * (the slash-less aliases of collection routes under their documented path;
 * the documentation routes themselves are not API operations). Also checks
 * that each operation has responses and that every $ref resolves. */
#include <ctype.h>
#include <string.h>

#include "api/http.h"
#include "api/openapi.h"

#include "../check.h"

static bool is_doc_route(const char *pattern)
{
    return strcmp(pattern, "/openapi.json") == 0 || strcmp(pattern, "/docs") == 0 ||
           strcmp(pattern, "/redoc") == 0;
}

static void lower(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] && i + 1 < cap; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

/* The documented path a route pattern stands for (itself or, for a
 * collection alias, itself plus "/"). */
static json_t *documented(json_t *paths, const char *pattern, const char *method)
{
    char m[16];
    lower(method, m, sizeof(m));
    json_t *item = json_object_get(paths, pattern);
    if (item && json_object_get(item, m))
        return json_object_get(item, m);
    char with_slash[256];
    snprintf(with_slash, sizeof(with_slash), "%s/", pattern);
    item = json_object_get(paths, with_slash);
    return item ? json_object_get(item, m) : NULL;
}

static bool route_exists(const char *method, const char *path)
{
    for (size_t i = 0; i < api_n_routes; i++) {
        char m[16];
        lower(api_routes[i].method, m, sizeof(m));
        if (strcmp(m, method) == 0 && strcmp(api_routes[i].pattern, path) == 0)
            return true;
    }
    return false;
}

/* Walks v and checks that every "$ref" names a schema of the document. */
static void check_refs(json_t *doc, json_t *v)
{
    if (json_is_object(v)) {
        const char *key;
        json_t *val;
        json_object_foreach(v, key, val)
        {
            if (strcmp(key, "$ref") == 0) {
                const char *ref = json_string_value(val);
                const char *prefix = "#/components/schemas/";
                CHECK(ref && strncmp(ref, prefix, strlen(prefix)) == 0);
                if (ref && strncmp(ref, prefix, strlen(prefix)) == 0)
                    CHECK(json_object_get(
                              json_object_get(json_object_get(doc, "components"), "schemas"),
                              ref + strlen(prefix)) != NULL);
            } else {
                check_refs(doc, val);
            }
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *val;
        json_array_foreach(v, i, val) check_refs(doc, val);
    }
}

int main(void)
{
    json_t *doc = api_openapi_doc("9.9.9", true);
    CHECK(doc != NULL);
    if (!doc)
        return check_report();
    CHECK_STR(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    CHECK_STR(json_string_value(json_object_get(json_object_get(doc, "info"), "version")), "9.9.9");
    json_t *paths = json_object_get(doc, "paths");
    /* The reference's 16 paths, at least (later work may add more). */
    static const char *const reference[] = {
        "/health",
        "/api/v1/health",
        "/api/v1/persons/",
        "/api/v1/persons/{person_id}",
        "/api/v1/persons/{person_id}/set-default",
        "/api/v1/medications/",
        "/api/v1/medications/{medication_id}",
        "/api/v1/doses/medications/{medication_id}/dose",
        "/api/v1/doses/medications/{medication_id}/dose/{date}",
        "/api/v1/doses/medications/{medication_id}/doses",
        "/api/v1/doses/medications/{medication_id}/doses/{date}",
        "/api/v1/doses/daily-summary",
        "/api/v1/doses/daily-summary/{date}",
        "/api/v1/doses/deleted-medications/by-name/{medication_name}/doses",
        "/api/v1/doses/{dose_id}",
        "/api/v1/reports/medications/pdf/{date}"};
    for (size_t i = 0; i < sizeof(reference) / sizeof(reference[0]); i++) {
        CHECK(json_object_get(paths, reference[i]) != NULL);
        if (!json_object_get(paths, reference[i]))
            fprintf(stderr, "  missing path %s\n", reference[i]);
    }

    for (size_t i = 0; i < api_n_routes; i++) {
        if (is_doc_route(api_routes[i].pattern))
            continue;
        json_t *op = documented(paths, api_routes[i].pattern, api_routes[i].method);
        CHECK(op != NULL);
        if (!op)
            fprintf(stderr, "  undocumented route: %s %s\n", api_routes[i].method,
                    api_routes[i].pattern);
    }
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item)
    {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op)
        {
            CHECK(route_exists(method, path));
            if (!route_exists(method, path))
                fprintf(stderr, "  documented but not routed: %s %s\n", method, path);
            CHECK(json_object_size(json_object_get(op, "responses")) > 0);
            CHECK(json_string_value(json_object_get(op, "operationId")) != NULL);
        }
    }
    check_refs(doc, doc);
    json_decref(doc);
    return check_report();
}
