/* GET /openapi.json (an OpenAPI 3.1 description of every operation and
 * schema of the API, built once from the tables below and cached) and GET
 * /docs (a self-contained HTML page that renders it, no external assets).
 * tests/unit/test_openapi.c checks that the operations here and the routes
 * in routes.c are the same set. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/openapi.h"
#include "api/resources.h"

/* A parameter: key is "name@in" so that the path and query `date` differ. */
struct param_doc {
    const char *key;
    const char *name;
    const char *in;
    bool required;
    const char *kind; /* "id", "int", "date", "string", "tz", "skip", "limit", "days" */
    const char *description;
};

static const struct param_doc params[] = {
    {"person_id@path", "person_id", "path", true, "id", "The ID of the person"},
    {"medication_id@path", "medication_id", "path", true, "id", "The ID of the medication"},
    {"dose_id@path", "dose_id", "path", true, "id", "The ID of the dose"},
    {"date@path", "date", "path", true, "date", "The date (YYYY-MM-DD)"},
    {"medication_name@path", "medication_name", "path", true, "string",
     "The name the deleted medication had"},
    {"skip@query", "skip", "query", false, "skip", "Number of items to skip"},
    {"limit@query", "limit", "query", false, "limit", "Maximum number of items to return"},
    {"date@query", "date", "query", false, "date",
     "The local day to count doses for (YYYY-MM-DD); default today"},
    {"timezone_offset@query", "timezone_offset", "query", false, "tz",
     "Minutes, JavaScript getTimezoneOffset() sign: 300 = UTC-5; default TIMEZONE_OFFSET"},
    {"person_id@query", "person_id", "query", false, "id", "Only this person's medications"},
    {"pdf_person_id@query", "person_id", "query", false, "int",
     "Only this person's medications (0: everyone)"},
    {"time@query", "time", "query", true, "string", "Local time HH:MM"},
    {"days@query", "days", "query", false, "days", "Number of days on the form (1-7)"},
    {"paper@query", "paper", "query", false, "paper", "Paper size: letter (default) or a4"},
    {"prefill@query", "prefill", "query", false, "bool",
     "Print the doses recorded on each local day, and doses of deleted medications"},
    {"export_person_id@query", "person_id", "query", true, "id",
     "The person whose doses to export"},
    {"from@query", "from", "query", true, "date", "First local day (YYYY-MM-DD), inclusive"},
    {"to@query", "to", "query", true, "date", "Last local day (YYYY-MM-DD), inclusive"},
};

struct op_doc {
    const char *method; /* lower case, as OpenAPI keys */
    const char *path;
    const char *tag;
    const char *op_id;
    const char *summary;
    const char *params; /* space-separated keys of params[] */
    const char *body;   /* schema name or NULL */
    bool body_required;
    const char *status;   /* success status */
    const char *response; /* schema name, "[]Name" for arrays, "pdf", or NULL for no content */
    const char *errors;   /* space-separated statuses answered with a detail */
};

static const struct op_doc ops[] = {
    {"get", "/health", "health", "health", "Liveness", "", NULL, false, "200", "HealthStatus", ""},
    {"get", "/api/v1/health", "health", "health_check", "Health check (database included)", "",
     NULL, false, "200", "ApiHealth", "500"},
    {"get", "/api/v1/persons/", "persons", "get_persons", "Get all persons",
     "skip@query limit@query", NULL, false, "200", "[]PersonWithStats", ""},
    {"post", "/api/v1/persons/", "persons", "create_person", "Create a person", "", "PersonCreate",
     true, "201", "PersonInDB", ""},
    {"get", "/api/v1/persons/{person_id}", "persons", "get_person", "Get a person",
     "person_id@path", NULL, false, "200", "PersonWithStats", "404"},
    {"put", "/api/v1/persons/{person_id}", "persons", "update_person", "Update a person",
     "person_id@path", "PersonUpdate", true, "200", "PersonInDB", "404"},
    {"delete", "/api/v1/persons/{person_id}", "persons", "delete_person",
     "Delete a person with their medications and doses", "person_id@path", NULL, false, "204", NULL,
     "400 404"},
    {"put", "/api/v1/persons/{person_id}/set-default", "persons", "set_default_person",
     "Set the default person", "person_id@path", NULL, false, "200", "PersonInDB", "404"},
    {"get", "/api/v1/medications/", "medications", "get_medications",
     "Get medications with the doses of a day",
     "skip@query limit@query date@query timezone_offset@query person_id@query", NULL, false, "200",
     "[]MedicationWithDoses", ""},
    {"post", "/api/v1/medications/", "medications", "create_medication", "Create a medication", "",
     "MedicationCreate", true, "201", "MedicationInDB", "404"},
    {"get", "/api/v1/medications/{medication_id}", "medications", "get_medication",
     "Get a medication with the doses of a day",
     "medication_id@path date@query timezone_offset@query", NULL, false, "200",
     "MedicationWithDoses", "404"},
    {"put", "/api/v1/medications/{medication_id}", "medications", "update_medication",
     "Update a medication", "medication_id@path", "MedicationUpdate", true, "200", "MedicationInDB",
     "404"},
    {"delete", "/api/v1/medications/{medication_id}", "medications", "delete_medication",
     "Delete a medication, keeping its dose history", "medication_id@path", NULL, false, "204",
     NULL, "404"},
    {"post", "/api/v1/doses/medications/{medication_id}/dose", "doses", "record_dose",
     "Record a dose now", "medication_id@path", "DoseCreateWithTimezone", false, "201", "DoseInDB",
     "400 404"},
    {"post", "/api/v1/doses/medications/{medication_id}/dose/{date}", "doses",
     "record_dose_for_date", "Record a dose at a local date and time",
     "medication_id@path date@path time@query timezone_offset@query", NULL, false, "201",
     "DoseInDB", "400 404"},
    {"get", "/api/v1/doses/medications/{medication_id}/doses", "doses", "get_doses",
     "Dose history, newest first", "medication_id@path skip@query limit@query", NULL, false, "200",
     "[]DoseInDB", "404"},
    {"get", "/api/v1/doses/medications/{medication_id}/doses/{date}", "doses", "get_doses_by_date",
     "Doses of a local day, oldest first", "medication_id@path date@path timezone_offset@query",
     NULL, false, "200", "[]DoseInDB", "404"},
    {"get", "/api/v1/doses/daily-summary", "doses", "get_daily_summary", "Summary of today",
     "timezone_offset@query person_id@query", NULL, false, "200", "DailySummary", ""},
    {"get", "/api/v1/doses/daily-summary/{date}", "doses", "get_daily_summary_by_date",
     "Summary of a local day", "date@path timezone_offset@query person_id@query", NULL, false,
     "200", "DailySummary", ""},
    {"get", "/api/v1/doses/deleted-medications/by-name/{medication_name}/doses", "doses",
     "get_deleted_medication_doses", "Doses of a deleted medication, newest first",
     "medication_name@path skip@query limit@query", NULL, false, "200", "[]DoseInDB", "404"},
    {"delete", "/api/v1/doses/{dose_id}", "doses", "delete_dose", "Delete a dose", "dose_id@path",
     NULL, false, "204", NULL, "404"},
    {"get", "/api/v1/reports/medications/pdf/{date}", "reports", "generate_medication_pdf",
     "Printable medication tracking form",
     "date@path timezone_offset@query pdf_person_id@query days@query paper@query prefill@query",
     NULL, false, "200", "pdf", "404 503"},
    {"get", "/api/v1/reports/doses.csv", "reports", "export_doses_csv",
     "Dose history of a person as CSV (RFC 4180, header row)",
     "export_person_id@query from@query to@query timezone_offset@query", NULL, false, "200", "csv",
     "404 503"},
    {"get", "/api/v1/reports/doses.json", "reports", "export_doses_json",
     "Dose history of a person as JSON",
     "export_person_id@query from@query to@query timezone_offset@query", NULL, false, "200",
     "DoseExport", "404 503"},
};

static json_t *nullable(const char *type)
{
    return json_pack("{s:[s,s]}", "type", type, "null");
}

static json_t *string_max(size_t max, bool null_ok)
{
    json_t *s = null_ok ? nullable("string") : json_pack("{s:s}", "type", "string");
    json_object_set_new(s, "maxLength", json_integer((json_int_t)max));
    return s;
}

static json_t *date_schema(bool null_ok)
{
    json_t *s = null_ok ? nullable("string") : json_pack("{s:s}", "type", "string");
    json_object_set_new(s, "format", json_string("date"));
    return s;
}

static json_t *datetime_schema(bool null_ok)
{
    json_t *s = null_ok ? nullable("string") : json_pack("{s:s}", "type", "string");
    json_object_set_new(s, "format", json_string("date-time"));
    return s;
}

static json_t *ref(const char *name)
{
    return json_pack("{s:s+}", "$ref", "#/components/schemas/", name);
}

static json_t *tz_schema(void)
{
    return json_pack("{s:s, s:i, s:i}", "type", "integer", "exclusiveMinimum", -MT_TZ_LIMIT,
                     "exclusiveMaximum", MT_TZ_LIMIT);
}

static json_t *param_schema(const char *kind)
{
    if (strcmp(kind, "id") == 0)
        return json_pack("{s:s, s:i}", "type", "integer", "minimum", 1);
    if (strcmp(kind, "skip") == 0)
        return json_pack("{s:s, s:i, s:i}", "type", "integer", "minimum", 0, "default", 0);
    if (strcmp(kind, "limit") == 0)
        return json_pack("{s:s, s:i, s:i, s:i}", "type", "integer", "minimum", 1, "maximum", 1000,
                         "default", 100);
    if (strcmp(kind, "days") == 0)
        return json_pack("{s:s, s:i, s:i, s:i}", "type", "integer", "minimum", 1, "maximum", 7,
                         "default", 1);
    if (strcmp(kind, "tz") == 0)
        return tz_schema();
    if (strcmp(kind, "int") == 0)
        return json_pack("{s:s}", "type", "integer");
    if (strcmp(kind, "date") == 0)
        return date_schema(false);
    if (strcmp(kind, "paper") == 0)
        return json_pack("{s:s, s:[s,s], s:s}", "type", "string", "enum", "letter", "a4", "default",
                         "letter");
    if (strcmp(kind, "bool") == 0)
        return json_pack("{s:s, s:b}", "type", "boolean", "default", 0);
    return json_pack("{s:s}", "type", "string");
}

/* The person fields shared by create and update. */
static json_t *person_input(void)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:o}", "first_name", string_max(255, true), "last_name",
                     string_max(255, true), "date_of_birth", date_schema(true), "notes",
                     string_max(10000, true), "name", nullable("string"));
}

static json_t *person_out(bool with_count)
{
    json_t *p = json_pack("{s:o, s:o, s:o, s:o, s:{s:s}, s:{s:s}, s:o, s:o}", "first_name",
                          json_pack("{s:s}", "type", "string"), "last_name", nullable("string"),
                          "date_of_birth", date_schema(true), "notes", nullable("string"), "id",
                          "type", "integer", "is_default", "type", "boolean", "created_at",
                          datetime_schema(true), "updated_at", datetime_schema(true));
    if (with_count)
        json_object_set_new(p, "medication_count", json_pack("{s:s}", "type", "integer"));
    json_object_set_new(p, "name",
                        json_pack("{s:s, s:s}", "type", "string", "description",
                                  "\"first_name last_name\", or first_name alone"));
    return json_pack("{s:s, s:o, s:[s,s,s,s]}", "type", "object", "properties", p, "required",
                     "first_name", "id", "is_default", "name");
}

static json_t *med_input(bool create)
{
    json_t *p = json_pack(
        "{s:o, s:o, s:o, s:{s:o, s:i, s:i}, s:o}", "name", string_max(255, !create), "dosage",
        string_max(255, !create), "frequency", string_max(255, !create), "max_doses_per_day",
        "type", create ? json_string("integer") : json_pack("[s,s]", "integer", "null"),
        "exclusiveMinimum", 0, "maximum", 20, "instructions", string_max(10000, true));
    if (!create)
        return json_pack("{s:s, s:o}", "type", "object", "properties", p);
    json_object_set_new(p, "person_id", json_pack("{s:s, s:i}", "type", "integer", "minimum", 1));
    return json_pack("{s:s, s:o, s:[s,s,s,s,s]}", "type", "object", "properties", p, "required",
                     "name", "dosage", "frequency", "max_doses_per_day", "person_id");
}

static json_t *med_out(bool with_day)
{
    json_t *p =
        json_pack("{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:o, s:{s:s}, s:{s:s}, s:o, s:o}", "name",
                  "type", "string", "dosage", "type", "string", "frequency", "type", "string",
                  "max_doses_per_day", "type", "integer", "instructions", nullable("string"), "id",
                  "type", "integer", "person_id", "type", "integer", "created_at",
                  datetime_schema(true), "updated_at", datetime_schema(true));
    if (with_day) {
        json_object_set_new(p, "doses_taken_today", json_pack("{s:s}", "type", "integer"));
        json_object_set_new(p, "last_taken_at", datetime_schema(true));
    }
    return json_pack("{s:s, s:o, s:[s,s,s,s,s,s]}", "type", "object", "properties", p, "required",
                     "name", "dosage", "frequency", "max_doses_per_day", "id", "person_id");
}

static json_t *schemas(void)
{
    json_t *s = json_object();
    json_object_set_new(s, "PersonCreate",
                        json_pack("{s:s, s:s, s:o}", "type", "object", "description",
                                  "first_name, or the legacy name, is required", "properties",
                                  person_input()));
    json_object_set_new(s, "PersonUpdate",
                        json_pack("{s:s, s:o}", "type", "object", "properties", person_input()));
    json_object_set_new(s, "PersonInDB", person_out(false));
    json_object_set_new(s, "PersonWithStats", person_out(true));
    json_object_set_new(s, "MedicationCreate", med_input(true));
    json_object_set_new(s, "MedicationUpdate", med_input(false));
    json_object_set_new(s, "MedicationInDB", med_out(false));
    json_object_set_new(s, "MedicationWithDoses", med_out(true));
    json_object_set_new(s, "DoseCreateWithTimezone",
                        json_pack("{s:s, s:{s:o}, s:[s]}", "type", "object", "properties",
                                  "timezone_offset", tz_schema(), "required", "timezone_offset"));
    json_object_set_new(s, "DoseInDB",
                        json_pack("{s:s, s:{s:o, s:o, s:{s:s}, s:o}, s:[s,s]}", "type", "object",
                                  "properties", "medication_id", nullable("integer"),
                                  "medication_name", nullable("string"), "id", "type", "integer",
                                  "taken_at", datetime_schema(true), "required", "id", "taken_at"));
    json_object_set_new(
        s, "DailySummaryEntry",
        json_pack("{s:s, s:{s:o, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:o}, s:{s:s}}}", "type",
                  "object", "properties", "medication_id", nullable("integer"), "medication_name",
                  "type", "string", "doses_taken", "type", "integer", "max_doses", "type",
                  "integer", "dose_times", "type", "array", "items", datetime_schema(false),
                  "is_deleted", "type", "boolean"));
    json_object_set_new(s, "DailySummary",
                        json_pack("{s:s, s:{s:o, s:{s:s, s:o}}}", "type", "object", "properties",
                                  "date", date_schema(false), "medications", "type", "array",
                                  "items", ref("DailySummaryEntry")));
    json_object_set_new(
        s, "DoseExportRow",
        json_pack("{s:s, s:{s:{s:s}, s:o, s:{s:s}, s:o, s:o, s:{s:s}, s:o, s:{s:s}}}", "type",
                  "object", "properties", "id", "type", "integer", "date", date_schema(false),
                  "local_time", "type", "string", "taken_at", datetime_schema(false),
                  "medication_id", nullable("integer"), "medication_name", "type", "string",
                  "dosage", nullable("string"), "deleted", "type", "boolean"));
    json_object_set_new(
        s, "DoseExport",
        json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:o, s:o, s:{s:s}, s:{s:s}, s:{s:s, s:o}}}", "type",
                  "object", "properties", "person_id", "type", "integer", "person_name", "type",
                  "string", "from", date_schema(false), "to", date_schema(false), "timezone_offset",
                  "type", "integer", "utc_offset", "type", "string", "doses", "type", "array",
                  "items", ref("DoseExportRow")));
    json_object_set_new(s, "HealthStatus",
                        json_pack("{s:s, s:{s:{s:s}, s:{s:s}}}", "type", "object", "properties",
                                  "status", "type", "string", "version", "type", "string"));
    json_object_set_new(s, "ApiHealth",
                        json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s, s:{s:s, s:{s:{s:s}, s:{s:s}, "
                                  "s:{s:s}}}}}}",
                                  "type", "object", "properties", "status", "type", "string",
                                  "version", "type", "string", "components", "type", "array",
                                  "items", "type", "object", "properties", "component", "type",
                                  "string", "status", "type", "string", "details", "type",
                                  "object"));
    json_object_set_new(s, "HTTPError",
                        json_pack("{s:s, s:{s:{s:s}}, s:[s]}", "type", "object", "properties",
                                  "detail", "type", "string", "required", "detail"));
    json_object_set_new(
        s, "ValidationError",
        json_pack("{s:s, s:{s:{s:s}, s:{s:s, s:{s:[s,s]}}, s:{s:s}, s:{}, s:{s:s}}, "
                  "s:[s,s,s]}",
                  "type", "object", "properties", "type", "type", "string", "loc", "type", "array",
                  "items", "type", "string", "integer", "msg", "type", "string", "input", "ctx",
                  "type", "object", "required", "type", "loc", "msg"));
    json_object_set_new(s, "HTTPValidationError",
                        json_pack("{s:s, s:{s:{s:s, s:o}}}", "type", "object", "properties",
                                  "detail", "type", "array", "items", ref("ValidationError")));
    return s;
}

static json_t *content_of(const char *schema)
{
    if (strcmp(schema, "pdf") == 0)
        return json_pack("{s:{s:{s:s, s:s}}}", "application/pdf", "schema", "type", "string",
                         "format", "binary");
    if (strcmp(schema, "csv") == 0)
        return json_pack("{s:{s:{s:s}}}", "text/csv", "schema", "type", "string");
    json_t *sch = schema[0] == '['
                      ? json_pack("{s:s, s:o}", "type", "array", "items", ref(schema + 2))
                      : ref(schema);
    return json_pack("{s:{s:o}}", "application/json", "schema", sch);
}

static const struct param_doc *find_param(const char *key, size_t len)
{
    for (size_t i = 0; i < MT_ARRAY_LEN(params); i++)
        if (strlen(params[i].key) == len && strncmp(params[i].key, key, len) == 0)
            return &params[i];
    return NULL;
}

static json_t *operation(const struct op_doc *op)
{
    json_t *o = json_pack("{s:[s], s:s, s:s}", "tags", op->tag, "summary", op->summary,
                          "operationId", op->op_id);
    json_t *plist = json_array();
    for (const char *p = op->params; *p;) {
        size_t len = strcspn(p, " ");
        const struct param_doc *pd = find_param(p, len);
        if (pd)
            json_array_append_new(plist,
                                  json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", pd->name, "in",
                                            pd->in, "required", pd->required, "description",
                                            pd->description, "schema", param_schema(pd->kind)));
        p += len;
        while (*p == ' ')
            p++;
    }
    if (json_array_size(plist))
        json_object_set_new(o, "parameters", plist);
    else
        json_decref(plist);
    if (op->body)
        json_object_set_new(o, "requestBody",
                            json_pack("{s:b, s:o}", "required", op->body_required, "content",
                                      content_of(op->body)));
    json_t *resp = json_object();
    json_t *ok = json_pack("{s:s}", "description", "Successful Response");
    if (op->response)
        json_object_set_new(ok, "content", content_of(op->response));
    json_object_set_new(resp, op->status, ok);
    for (const char *e = op->errors; *e;) {
        size_t len = strcspn(e, " ");
        char code[8];
        snprintf(code, sizeof(code), "%.*s", (int)(len < 7 ? len : 7), e);
        json_object_set_new(
            resp, code,
            json_pack("{s:s, s:o}", "description", "Error", "content", content_of("HTTPError")));
        e += len;
        while (*e == ' ')
            e++;
    }
    if (op->params[0] || op->body)
        json_object_set_new(resp, "422",
                            json_pack("{s:s, s:o}", "description", "Validation Error", "content",
                                      content_of("HTTPValidationError")));
    json_object_set_new(o, "responses", resp);
    return o;
}

json_t *api_openapi_doc(const char *version)
{
    json_t *paths = json_object();
    for (size_t i = 0; i < MT_ARRAY_LEN(ops); i++) {
        json_t *item = json_object_get(paths, ops[i].path);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, ops[i].path, item);
        }
        json_object_set_new(item, ops[i].method, operation(&ops[i]));
    }
    return json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:o}}", "openapi", "3.1.0", "info", "title", "MediTrack",
        "version", version ? version : "1.0.0", "description",
        "Household medication tracker. Timestamps are UTC with a Z designator; a day is the "
        "local day of timezone_offset (JavaScript sign). Collection paths also answer without "
        "their trailing slash.",
        "paths", paths, "components", "schemas", schemas());
}

static pthread_mutex_t doc_lock = PTHREAD_MUTEX_INITIALIZER;
static char *doc_text;
static size_t doc_len;

void api_openapi(struct http_req *r)
{
    pthread_mutex_lock(&doc_lock);
    if (!doc_text) {
        json_t *doc = api_openapi_doc(r->app && r->app->cfg ? r->app->cfg->version : NULL);
        /* Built once and kept for the life of the process. */
        doc_text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        doc_len = doc_text ? strlen(doc_text) : 0;
        json_decref(doc);
    }
    pthread_mutex_unlock(&doc_lock);
    if (!doc_text) {
        struct mt_err err;
        mt_fail(&err, MT_EINTERNAL, "the OpenAPI document could not be built");
        http_reply_err(r, &err);
        return;
    }
    http_reply_raw(r, 200, "application/json", doc_text, doc_len);
}

static const char docs_html[] =
    "<!doctype html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>MediTrack API</title>\n"
    "<style>\n"
    "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;"
    "color:#222}\n"
    "h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}\n"
    ".op{border:1px solid #ddd;border-radius:6px;margin:.5rem 0;padding:.5rem .75rem}\n"
    ".m{display:inline-block;min-width:4.5rem;font-weight:bold;text-transform:uppercase}\n"
    ".get{color:#1769aa}.post{color:#2e7d32}.put{color:#b26a00}.delete{color:#c62828}\n"
    "code{background:#f4f4f4;padding:0 .25rem}small{color:#666}\n"
    "details pre{background:#f7f7f7;padding:.5rem;overflow:auto}\n"
    "</style></head><body>\n"
    "<h1>MediTrack API</h1>\n"
    "<p>The machine-readable description is <a href=\"/openapi.json\">/openapi.json</a> "
    "(OpenAPI 3.1).</p>\n"
    "<div id=\"ops\">Loading&hellip;</div>\n"
    "<script>\n"
    "fetch('/openapi.json').then(function(r){return r.json();}).then(function(doc){\n"
    "  var root=document.getElementById('ops');root.textContent='';\n"
    "  var byTag={};\n"
    "  Object.keys(doc.paths).forEach(function(p){\n"
    "    Object.keys(doc.paths[p]).forEach(function(m){\n"
    "      var op=doc.paths[p][m];var t=(op.tags||['other'])[0];\n"
    "      (byTag[t]=byTag[t]||[]).push({m:m,p:p,op:op});});});\n"
    "  Object.keys(byTag).forEach(function(t){\n"
    "    var h=document.createElement('h2');h.textContent=t;root.appendChild(h);\n"
    "    byTag[t].forEach(function(e){\n"
    "      var d=document.createElement('div');d.className='op';\n"
    "      var m=document.createElement('span');m.className='m '+e.m;m.textContent=e.m;\n"
    "      var c=document.createElement('code');c.textContent=e.p;\n"
    "      var s=document.createElement('small');s.textContent=' '+(e.op.summary||'');\n"
    "      var det=document.createElement('details');var sum=document.createElement('summary');\n"
    "      sum.textContent='details';var pre=document.createElement('pre');\n"
    "      pre.textContent=JSON.stringify(e.op,null,2);det.appendChild(sum);det.appendChild(pre);\n"
    "      d.appendChild(m);d.appendChild(c);d.appendChild(s);d.appendChild(det);\n"
    "      root.appendChild(d);});});\n"
    "}).catch(function(e){document.getElementById('ops').textContent="
    "'Could not load /openapi.json: '+e;});\n"
    "</script>\n"
    "</body></html>\n";

void api_docs(struct http_req *r)
{
    /* The page is static HTML with one inline style sheet and no scripts. */
    http_add_header(r, "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                    "frame-ancestors 'none'");
    http_reply_raw(r, 200, "text/html; charset=utf-8", docs_html, sizeof(docs_html) - 1);
}
