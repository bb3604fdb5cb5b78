/* The route table of the HTTP server, in which every operation of the
 * MediTrack API is one entry: method and path pattern, whether it may wait
 * on the database (light), its parameters, rules, handler and what
 * /openapi.json says of it (api/operation.h). The router dispatches every
 * entry to the operation runner, the validation reads requests by the
 * parameters, and the OpenAPI document is written from the same entries;
 * tests/unit/test_operations.c proves each is routed, validated and
 * documented. Adding an operation is one entry here plus its handler and
 * input struct (handlers.h); docs/architecture.md walks through it.
 *
 * Parameters are listed path first, then query, then body fields, each
 * group in the reference's declaration order, which is the order of its
 * 422 errors. Collection patterns end in "/" and also answer without it
 * (api.md, decision 7). */
#include <stddef.h>

#include "api/handlers.h"

/* An operation entry: the runner serves it. */
#define OP(...)                                                                                    \
    .fn = api_op_run, .op = &(const struct api_op)                                                 \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }
/* An operation's parameters, closed by the entry with no name. */
#define PARAMS(...)                                                                                \
    (const struct api_param[])                                                                     \
    {                                                                                              \
        __VA_ARGS__,                                                                               \
        {                                                                                          \
            .name = NULL                                                                           \
        }                                                                                          \
    }
#define NO_PARAMS                                                                                  \
    (const struct api_param[])                                                                     \
    {                                                                                              \
        {                                                                                          \
            .name = NULL                                                                           \
        }                                                                                          \
    }
#define IN(T) .in_size = sizeof(T)

/* The reference's integer parameters. */
#define B_ID                                                                                       \
    {                                                                                              \
        "ge", 1, NULL, 0                                                                           \
    }
#define B_TZ                                                                                       \
    {                                                                                              \
        "gt", -MT_TZ_LIMIT, "lt", MT_TZ_LIMIT                                                      \
    }
#define B_MAX_DOSES                                                                                \
    {                                                                                              \
        "gt", 0, "le", 20                                                                          \
    }

/* Column sizes: VARCHAR(255), and TEXT (65535 bytes on MariaDB). */
#define SHORT_TEXT 255
#define LONG_TEXT 10000

#define PATH_ID(T, field, name_, doc_)                                                             \
    {                                                                                              \
        .name = name_, .where = API_PATH, .type = API_INT, .at = offsetof(T, field),               \
        .bounds = B_ID, .doc = doc_                                                                \
    }
#define PATH_DATE(T, field)                                                                        \
    {                                                                                              \
        .name = "date", .where = API_PATH, .type = API_DATE, .at = offsetof(T, field),             \
        .doc = "The date (YYYY-MM-DD)"                                                             \
    }
#define SKIP(T)                                                                                    \
    {                                                                                              \
        .name = "skip", .where = API_QUERY, .type = API_INT, .at = offsetof(T, skip),              \
        .bounds = {"ge", 0, NULL, 0}, .has_default = true, .def = 0,                               \
        .doc = "Number of items to skip"                                                           \
    }
#define LIMIT(T)                                                                                   \
    {                                                                                              \
        .name = "limit", .where = API_QUERY, .type = API_INT, .at = offsetof(T, limit),            \
        .bounds = {"ge", 1, "le", 1000}, .has_default = true, .def = 100,                          \
        .doc = "Maximum number of items to return"                                                 \
    }
#define TZ(T)                                                                                      \
    {                                                                                              \
        .name = "timezone_offset", .where = API_QUERY, .type = API_INT, .at = offsetof(T, tz),     \
        .bounds = B_TZ,                                                                            \
        .doc =                                                                                     \
            "Minutes, JavaScript getTimezoneOffset() sign: 300 = UTC-5; default TIMEZONE_OFFSET"   \
    }
#define QUERY_DATE(T, field, name_, required_, doc_)                                               \
    {                                                                                              \
        .name = name_, .where = API_QUERY, .type = API_DATE, .at = offsetof(T, field),             \
        .required = required_, .doc = doc_                                                         \
    }
#define QUERY_PERSON(T, doc_)                                                                      \
    {                                                                                              \
        .name = "person_id", .where = API_QUERY, .type = API_INT, .at = offsetof(T, person_id),    \
        .bounds = B_ID, .doc = doc_                                                                \
    }
#define BODY_TEXT(T, field, max_, required_, nullable_)                                            \
    {                                                                                              \
        .name = #field, .where = API_BODY, .type = API_TEXT, .at = offsetof(T, field),             \
        .max_len = max_, .required = required_, .nullable = nullable_                              \
    }
#define BODY_DATE(T, field, nullable_)                                                             \
    {                                                                                              \
        .name = #field, .where = API_BODY, .type = API_DATE, .at = offsetof(T, field),             \
        .nullable = nullable_                                                                      \
    }
#define BODY_INT(T, field, bounds_, required_)                                                     \
    {                                                                                              \
        .name = #field, .where = API_BODY, .type = API_INT, .at = offsetof(T, field),              \
        .bounds = bounds_, .required = required_                                                   \
    }

/* Issue 15: a minimum interval of a minute to a week; amounts up to a
 * million of their unit. */
#define B_INTERVAL                                                                                 \
    {                                                                                              \
        "ge", 1, "le", 10080                                                                       \
    }
#define B_AMOUNT                                                                                   \
    {                                                                                              \
        "gt", 0, "le", 1000000                                                                     \
    }
/* Reasons and notes of doses. */
#define REASON_TEXT 2000
#define UNIT_TEXT 32

static const char *const paper_sizes[] = {"letter", "a4", NULL};
static const char *const import_conflicts[] = {"refuse", "add", NULL};

/* Access control's texts: a login (STORE_LOGIN_MAX), a password (the
 * bytes mt_password_acceptable allows are checked by the handler; this
 * only bounds what is read) and a setup token. */
#define LOGIN_TEXT 64
#define PASSWORD_TEXT 1024
#define SECRET_TEXT 128

/* An account's role (required on create) and persons. */
#define ROLE(required_)                                                                            \
    {                                                                                              \
        .name = "role", .where = API_BODY, .type = API_CHOICE,                                     \
        .at = offsetof(struct api_in_account, role), .choices = api_role_choices,                  \
        .required = required_                                                                      \
    }
#define ACCOUNT_PERSON                                                                             \
    {                                                                                              \
        .name = "person_id", .where = API_BODY, .type = API_INT,                                   \
        .at = offsetof(struct api_in_account, person_id), .bounds = B_ID, .nullable = true         \
    }
#define ACCOUNT_PERSONS                                                                            \
    {                                                                                              \
        .name = "persons", .where = API_BODY, .type = API_IDS,                                     \
        .at = offsetof(struct api_in_account, persons), .bounds = B_ID                             \
    }

const char *const api_limit_windows[] = {"calendar_day", "rolling_24h", NULL};
/* The entities of the audit trail; access control writes "account",
 * "grant" and "token" rows. */
const char *const api_audit_entities[] = {"person",  "medication", "dose",  "ingredient_limit",
                                          "account", "grant",      "token", NULL};

/* The dosing rules of a medication's body (POST and PUT). */
#define MED_RULES                                                                                  \
    {.name = "limit_window",                                                                       \
     .where = API_BODY,                                                                            \
     .type = API_CHOICE,                                                                           \
     .at = offsetof(struct api_in_med, limit_window),                                              \
     .choices = api_limit_windows},                                                                \
        {.name = "min_interval_minutes",                                                           \
         .where = API_BODY,                                                                        \
         .type = API_INT,                                                                          \
         .at = offsetof(struct api_in_med, min_interval_minutes),                                  \
         .bounds = B_INTERVAL,                                                                     \
         .nullable = true},                                                                        \
        {.name = "dose_amount",                                                                    \
         .where = API_BODY,                                                                        \
         .type = API_NUMBER,                                                                       \
         .at = offsetof(struct api_in_med, dose_amount),                                           \
         .bounds = B_AMOUNT,                                                                       \
         .nullable = true},                                                                        \
        BODY_TEXT(struct api_in_med, dose_unit, UNIT_TEXT, false, true),                           \
    {.name = "ingredients",                                                                        \
     .where = API_BODY,                                                                            \
     .type = API_JSON,                                                                             \
     .at = offsetof(struct api_in_med, ingredients),                                               \
     .nullable = true},                                                                            \
    {                                                                                              \
        .name = "schedule", .where = API_BODY, .type = API_JSON,                                   \
        .at = offsetof(struct api_in_med, schedule), .nullable = true,                             \
        .doc = "null (as needed) or {times, days, start_date, end_date} (docs/schedules.md)"       \
    }

/* The optional body of both record operations. */
#define OVERRIDE_FIELDS(T)                                                                         \
    {.name = "override",                                                                           \
     .where = API_BODY,                                                                            \
     .type = API_BOOL,                                                                             \
     .at = offsetof(T, override),                                                                  \
     .doc = "Record despite a dosing rule (carers and admins; override_reason required)"},         \
        BODY_TEXT(T, override_reason, REASON_TEXT, false, true),                                   \
        BODY_TEXT(T, note, REASON_TEXT, false, true)

/* The body of a new notification channel. */
#define CHANNEL_FIELDS                                                                             \
    {.name = "type",                                                                               \
     .where = API_BODY,                                                                            \
     .type = API_CHOICE,                                                                           \
     .at = offsetof(struct api_in_channel, type),                                                  \
     .choices = api_channel_types,                                                                 \
     .required = true},                                                                            \
        BODY_TEXT(struct api_in_channel, url, 2000, false, true),                                  \
        BODY_TEXT(struct api_in_channel, to, 320, false, true),                                    \
        BODY_TEXT(struct api_in_channel, token, 512, false, true),                                 \
        BODY_TEXT(struct api_in_channel, secret, 512, false, true),                                \
    {                                                                                              \
        .name = "enabled", .where = API_BODY, .type = API_BOOL,                                    \
        .at = offsetof(struct api_in_channel, enabled)                                             \
    }

/* The two exports read the same parameters. */
static const struct api_param export_params[] = {
    {.name = "person_id",
     .where = API_QUERY,
     .type = API_INT,
     .at = offsetof(struct api_in_export, person_id),
     .bounds = B_ID,
     .required = true,
     .doc = "The person whose doses to export"},
    QUERY_DATE(struct api_in_export, from, "from", true, "First local day (YYYY-MM-DD), inclusive"),
    QUERY_DATE(struct api_in_export, to, "to", true, "Last local day (YYYY-MM-DD), inclusive"),
    TZ(struct api_in_export),
    {.name = "adherence",
     .where = API_QUERY,
     .type = API_BOOL,
     .at = offsetof(struct api_in_export, adherence),
     .doc = "Add the scheduled slot each dose satisfied and its status (and, in JSON, the "
            "range's adherence; docs/schedules.md)"},
    {.name = NULL},
};

const struct http_route api_routes[] = {
    /* Health (api/health.c). */
    {.method = "GET",
     .pattern = "/health",
     .light = true,
     OP(.handler = api_health, .no_db = true, .params = NO_PARAMS, .tag = "health",
        .perm = API_PUBLIC, .op_id = "health", .summary = "Liveness", .status = 200,
        .response = "HealthStatus")},
    {.method = "GET",
     .pattern = "/api/v1/health",
     OP(.handler = api_health_v1, .no_db = true, .params = NO_PARAMS, .tag = "health",
        .perm = API_PUBLIC, .identify = true, .op_id = "health_check",
        .summary = "Health check (database included)", .status = 200, .response = "ApiHealth",
        .errors = "503")},

    /* Persons (api/persons.c). */
    {.method = "GET",
     .pattern = "/api/v1/persons/",
     OP(.handler = api_persons_list, IN(struct api_in_page),
        .params = PARAMS(SKIP(struct api_in_page), LIMIT(struct api_in_page)), .tag = "persons",
        .perm = API_READ, .op_id = "get_persons", .summary = "Get all persons", .status = 200,
        .response = "[]PersonWithStats")},
    {.method = "POST",
     .pattern = "/api/v1/persons/",
     OP(.handler = api_person_create, IN(struct api_in_person),
        .params = PARAMS(BODY_TEXT(struct api_in_person, first_name, SHORT_TEXT, false, true),
                         BODY_TEXT(struct api_in_person, last_name, SHORT_TEXT, false, true),
                         BODY_DATE(struct api_in_person, date_of_birth, true),
                         BODY_TEXT(struct api_in_person, notes, LONG_TEXT, false, true),
                         BODY_TEXT(struct api_in_person, name, 0, false, true),
                         BODY_TEXT(struct api_in_person, timezone, MT_TZ_NAME_MAX, false, true)),
        .body = API_BODY_REQUIRED, .model = api_person_create_model, .cross = api_person_rule,
        .tag = "persons",
        .perm = API_ADMIN, .op_id = "create_person", .summary = "Create a person", .status = 201,
        .body_schema = "PersonCreate", .body_doc = "first_name, or the legacy name, is required",
        .response = "PersonInDB")},
    {.method = "GET",
     .pattern = "/api/v1/persons/{person_id}",
     OP(.handler = api_person_get, IN(struct api_in_id),
        .params = PARAMS(PATH_ID(struct api_in_id, id, "person_id", "The ID of the person")),
        .tag = "persons", .perm = API_READ, .op_id = "get_person", .summary = "Get a person",
        .status = 200, .response = "PersonWithStats", .errors = "404")},
    {.method = "PUT",
     .pattern = "/api/v1/persons/{person_id}",
     OP(.handler = api_person_update, IN(struct api_in_person),
        .params = PARAMS(PATH_ID(struct api_in_person, id, "person_id", "The ID of the person"),
                         BODY_TEXT(struct api_in_person, first_name, SHORT_TEXT, false, false),
                         BODY_TEXT(struct api_in_person, last_name, SHORT_TEXT, false, true),
                         BODY_TEXT(struct api_in_person, name, 0, false, true),
                         BODY_DATE(struct api_in_person, date_of_birth, true),
                         BODY_TEXT(struct api_in_person, notes, LONG_TEXT, false, true),
                         BODY_TEXT(struct api_in_person, timezone, MT_TZ_NAME_MAX, false, true)),
        .body = API_BODY_REQUIRED, .model = api_person_update_model, .cross = api_person_rule,
        .tag = "persons",
        .perm = API_ADMIN, .op_id = "update_person", .summary = "Update a person", .status = 200,
        .body_schema = "PersonUpdate", .response = "PersonInDB", .errors = "404")},
    {.method = "DELETE",
     .pattern = "/api/v1/persons/{person_id}",
     OP(.handler = api_person_delete, IN(struct api_in_id),
        .params = PARAMS(PATH_ID(struct api_in_id, id, "person_id", "The ID of the person")),
        .tag = "persons", .perm = API_ADMIN, .op_id = "delete_person",
        .summary = "Delete a person with their medications and doses", .status = 204,
        .errors = "400 404")},
    {.method = "PUT",
     .pattern = "/api/v1/persons/{person_id}/set-default",
     OP(.handler = api_person_set_default, IN(struct api_in_id),
        .params = PARAMS(PATH_ID(struct api_in_id, id, "person_id", "The ID of the person")),
        .tag = "persons", .perm = API_ADMIN, .op_id = "set_default_person",
        .summary = "Set the default person", .status = 200, .response = "PersonInDB",
        .errors = "404")},

    /* Medications (api/medications.c). */
    {.method = "GET",
     .pattern = "/api/v1/medications/",
     OP(.handler = api_meds_list, IN(struct api_in_med_list),
        .params = PARAMS(SKIP(struct api_in_med_list), LIMIT(struct api_in_med_list),
                         QUERY_DATE(struct api_in_med_list, date, "date", false,
                                    "The local day to count doses for (YYYY-MM-DD); default "
                                    "today"),
                         TZ(struct api_in_med_list),
                         QUERY_PERSON(struct api_in_med_list, "Only this person's medications")),
        .tag = "medications", .perm = API_READ, .op_id = "get_medications",
        .summary = "Get medications with the doses of a day", .status = 200,
        .response = "[]MedicationWithDoses")},
    {.method = "POST",
     .pattern = "/api/v1/medications/",
     OP(.handler = api_med_create, IN(struct api_in_med),
        .params = PARAMS(BODY_TEXT(struct api_in_med, name, SHORT_TEXT, true, false),
                         BODY_TEXT(struct api_in_med, dosage, SHORT_TEXT, true, false),
                         BODY_TEXT(struct api_in_med, frequency, SHORT_TEXT, true, false),
                         BODY_INT(struct api_in_med, max_doses_per_day, B_MAX_DOSES, true),
                         BODY_TEXT(struct api_in_med, instructions, LONG_TEXT, false, true),
                         BODY_INT(struct api_in_med, person_id, B_ID, true), MED_RULES),
        .body = API_BODY_REQUIRED, .cross = api_med_rules, .tag = "medications", .perm = API_MANAGE,
        .op_id = "create_medication", .summary = "Create a medication", .status = 201,
        .body_schema = "MedicationCreate", .response = "MedicationInDB", .errors = "404")},
    {.method = "GET",
     .pattern = "/api/v1/medications/{medication_id}",
     OP(.handler = api_med_get, IN(struct api_in_med_day),
        .params =
            PARAMS(PATH_ID(struct api_in_med_day, id, "medication_id", "The ID of the medication"),
                   QUERY_DATE(struct api_in_med_day, date, "date", false,
                              "The local day to count doses for (YYYY-MM-DD); default "
                              "today"),
                   TZ(struct api_in_med_day)),
        .tag = "medications", .perm = API_READ, .op_id = "get_medication",
        .summary = "Get a medication with the doses of a day", .status = 200,
        .response = "MedicationWithDoses", .errors = "404")},
    {.method = "PUT",
     .pattern = "/api/v1/medications/{medication_id}",
     OP(.handler = api_med_update, IN(struct api_in_med),
        .params =
            PARAMS(PATH_ID(struct api_in_med, id, "medication_id", "The ID of the medication"),
                   BODY_TEXT(struct api_in_med, name, SHORT_TEXT, false, false),
                   BODY_TEXT(struct api_in_med, dosage, SHORT_TEXT, false, false),
                   BODY_TEXT(struct api_in_med, frequency, SHORT_TEXT, false, false),
                   BODY_INT(struct api_in_med, max_doses_per_day, B_MAX_DOSES, false),
                   BODY_TEXT(struct api_in_med, instructions, LONG_TEXT, false, true), MED_RULES),
        .body = API_BODY_REQUIRED, .cross = api_med_rules, .tag = "medications", .perm = API_MANAGE,
        .op_id = "update_medication", .summary = "Update a medication", .status = 200,
        .body_schema = "MedicationUpdate", .response = "MedicationInDB", .errors = "404")},
    {.method = "DELETE",
     .pattern = "/api/v1/medications/{medication_id}",
     OP(.handler = api_med_delete, IN(struct api_in_id),
        .params =
            PARAMS(PATH_ID(struct api_in_id, id, "medication_id", "The ID of the medication")),
        .tag = "medications", .perm = API_MANAGE, .op_id = "delete_medication",
        .summary = "Delete a medication, keeping its dose history", .status = 204,
        .errors = "404")},

    /* Doses (api/doses.c). */
    {.method = "POST",
     .pattern = "/api/v1/doses/medications/{medication_id}/dose",
     OP(.handler = api_dose_now, IN(struct api_in_dose_now),
        .params = PARAMS(PATH_ID(struct api_in_dose_now, medication_id, "medication_id",
                                 "The ID of the medication"),
                         {.name = "timezone_offset",
                          .where = API_BODY,
                          .type = API_INT,
                          .at = offsetof(struct api_in_dose_now, tz),
                          .bounds = B_TZ,
                          .required = true},
                         OVERRIDE_FIELDS(struct api_in_dose_now)),
        .body = API_BODY_OPTIONAL, .model = api_dose_body_model, .cross = api_dose_now_rule,
        .tag = "doses", .perm = API_RECORD, .op_id = "record_dose", .summary = "Record a dose now", .status = 201,
        .body_schema = "DoseCreateWithTimezone",
        .body_doc = "timezone_offset is required unless override, override_reason or note is "
                    "given; a refusal by a dosing rule is a 400 with the rule and "
                    "next_allowed_at (docs/dosing.md). Accepts an Idempotency-Key header.",
        .response = "DoseInDB", .errors = "400 403 404")},
    {.method = "POST",
     .pattern = "/api/v1/doses/medications/{medication_id}/dose/{date}",
     OP(.handler = api_dose_for_date, IN(struct api_in_dose_for_date),
        .params =
            PARAMS(PATH_ID(struct api_in_dose_for_date, medication_id, "medication_id",
                           "The ID of the medication"),
                   PATH_DATE(struct api_in_dose_for_date, date),
                   {.name = "time",
                    .where = API_QUERY,
                    .type = API_TEXT,
                    .at = offsetof(struct api_in_dose_for_date, time),
                    .required = true,
                    .doc = "Local time HH:MM"},
                   TZ(struct api_in_dose_for_date), OVERRIDE_FIELDS(struct api_in_dose_for_date)),
        .body = API_BODY_OPTIONAL, .cross = api_dose_for_date_rule, .tag = "doses",
        .perm = API_RECORD, .op_id = "record_dose_for_date", .summary = "Record a dose at a local date and time",
        .status = 201, .body_schema = "DoseRecordOptions",
        .body_doc = "Optional; a refusal by a dosing rule is a 400 with the rule and "
                    "next_allowed_at (docs/dosing.md). Accepts an Idempotency-Key header.",
        .response = "DoseInDB", .errors = "400 403 404")},
    {.method = "POST",
     .pattern = "/api/v1/doses/medications/{medication_id}/skip",
     OP(.handler = api_dose_skip, IN(struct api_in_dose_skip),
        .params = PARAMS(PATH_ID(struct api_in_dose_skip, medication_id, "medication_id",
                                 "The ID of the medication"),
                         BODY_TEXT(struct api_in_dose_skip, reason, REASON_TEXT, true, false),
                         {.name = "taken_at",
                          .where = API_BODY,
                          .type = API_DATETIME,
                          .at = offsetof(struct api_in_dose_skip, taken_at),
                          .nullable = true,
                          .doc = "The slot that was skipped (default now); not in the future"},
                         BODY_TEXT(struct api_in_dose_skip, note, REASON_TEXT, false, true)),
        .body = API_BODY_REQUIRED, .cross = api_skip_rule, .tag = "doses", .perm = API_RECORD, .op_id = "skip_dose",
        .summary = "Record a skipped dose and why", .status = 201, .body_schema = "DoseSkip",
        .body_doc = "Accepts an Idempotency-Key header.", .response = "Dose", .errors = "400 404")},
    {.method = "GET",
     .pattern = "/api/v1/doses/medications/{medication_id}/doses",
     OP(.handler = api_dose_history, IN(struct api_in_dose_history),
        .params = PARAMS(PATH_ID(struct api_in_dose_history, medication_id, "medication_id",
                                 "The ID of the medication"),
                         SKIP(struct api_in_dose_history), LIMIT(struct api_in_dose_history)),
        .tag = "doses", .perm = API_READ, .op_id = "get_doses",
        .summary = "Dose history, newest first", .status = 200, .response = "[]DoseInDB",
        .errors = "404")},
    {.method = "GET",
     .pattern = "/api/v1/doses/medications/{medication_id}/doses/{date}",
     OP(.handler = api_dose_day, IN(struct api_in_med_day),
        .params =
            PARAMS(PATH_ID(struct api_in_med_day, id, "medication_id", "The ID of the medication"),
                   PATH_DATE(struct api_in_med_day, date), TZ(struct api_in_med_day)),
        .tag = "doses", .perm = API_READ, .op_id = "get_doses_by_date",
        .summary = "Doses of a local day, oldest first", .status = 200, .response = "[]DoseInDB",
        .errors = "404")},
    {.method = "GET",
     .pattern = "/api/v1/doses/daily-summary",
     OP(.handler = api_summary, IN(struct api_in_summary),
        .params = PARAMS(TZ(struct api_in_summary),
                         QUERY_PERSON(struct api_in_summary, "Only this person's medications")),
        .tag = "doses", .perm = API_READ, .op_id = "get_daily_summary",
        .summary = "Summary of today", .status = 200, .response = "DailySummary")},
    {.method = "GET",
     .pattern = "/api/v1/doses/daily-summary/{date}",
     OP(.handler = api_summary, IN(struct api_in_summary),
        .params = PARAMS(PATH_DATE(struct api_in_summary, date), TZ(struct api_in_summary),
                         QUERY_PERSON(struct api_in_summary, "Only this person's medications")),
        .tag = "doses", .perm = API_READ, .op_id = "get_daily_summary_by_date",
        .summary = "Summary of a local day", .status = 200, .response = "DailySummary",
        .errors = "")},
    {.method = "GET",
     .pattern = "/api/v1/doses/deleted-medications/by-name/{medication_name}/doses",
     OP(.handler = api_doses_deleted, IN(struct api_in_deleted_history),
        .params = PARAMS({.name = "medication_name",
                          .where = API_PATH,
                          .type = API_TEXT,
                          .at = offsetof(struct api_in_deleted_history, name),
                          .doc = "The name the deleted medication had"},
                         SKIP(struct api_in_deleted_history), LIMIT(struct api_in_deleted_history)),
        .tag = "doses", .perm = API_READ, .op_id = "get_deleted_medication_doses",
        .summary = "Doses of a deleted medication, newest first", .status = 200,
        .response = "[]DoseInDB", .errors = "404")},
    {.method = "DELETE",
     .pattern = "/api/v1/doses/{dose_id}",
     OP(.handler = api_dose_delete, IN(struct api_in_id),
        .params = PARAMS(PATH_ID(struct api_in_id, id, "dose_id", "The ID of the dose")),
        .tag = "doses", .perm = API_RECORD, .op_id = "delete_dose",
        .summary = "Delete a dose (it is marked entered in error with the reason \"deleted\")",
        .status = 204, .errors = "404")},
    {.method = "PATCH",
     .pattern = "/api/v1/doses/{dose_id}",
     OP(.handler = api_dose_patch, IN(struct api_in_dose_patch),
        .params = PARAMS(PATH_ID(struct api_in_dose_patch, id, "dose_id", "The ID of the dose"),
                         {.name = "taken_at",
                          .where = API_BODY,
                          .type = API_DATETIME,
                          .at = offsetof(struct api_in_dose_patch, taken_at),
                          .doc = "When the dose was really taken; not in the future"},
                         BODY_TEXT(struct api_in_dose_patch, note, REASON_TEXT, false, true)),
        .body = API_BODY_REQUIRED, .tag = "doses", .perm = API_RECORD, .op_id = "correct_dose",
        .summary = "Correct a dose's time or note", .status = 200, .body_schema = "DoseCorrection",
        .response = "Dose", .errors = "400 404")},
    {.method = "POST",
     .pattern = "/api/v1/doses/{dose_id}/entered-in-error",
     OP(.handler = api_dose_entered_in_error, IN(struct api_in_dose_error),
        .params = PARAMS(PATH_ID(struct api_in_dose_error, id, "dose_id", "The ID of the dose"),
                         BODY_TEXT(struct api_in_dose_error, reason, REASON_TEXT, true, false)),
        .body = API_BODY_REQUIRED, .cross = api_reason_rule, .tag = "doses", .perm = API_RECORD,
        .op_id = "dose_entered_in_error",
        .summary = "Mark a dose entered in error (it leaves every count and view)", .status = 200,
        .body_schema = "DoseEnteredInError", .response = "Dose", .errors = "400 404")},

    /* Ingredient limits of a person (api/limits.c). */
    {.method = "GET",
     .pattern = "/api/v1/persons/{person_id}/ingredient-limits/",
     OP(.handler = api_limits_list, IN(struct api_in_id),
        .params = PARAMS(PATH_ID(struct api_in_id, id, "person_id", "The ID of the person")),
        .tag = "dosing", .perm = API_READ, .op_id = "get_ingredient_limits",
        .summary = "A person's maximum per 24 hours of each ingredient", .status = 200,
        .response = "[]IngredientLimit", .errors = "404")},
    {.method = "POST",
     .pattern = "/api/v1/persons/{person_id}/ingredient-limits/",
     OP(.handler = api_limit_set, IN(struct api_in_limit_set),
        .params =
            PARAMS(PATH_ID(struct api_in_limit_set, person_id, "person_id", "The ID of the person"),
                   BODY_TEXT(struct api_in_limit_set, name, SHORT_TEXT, true, false),
                   {.name = "max_per_24h",
                    .where = API_BODY,
                    .type = API_NUMBER,
                    .at = offsetof(struct api_in_limit_set, max_per_24h),
                    .bounds = B_AMOUNT,
                    .required = true},
                   BODY_TEXT(struct api_in_limit_set, unit, UNIT_TEXT, true, false)),
        .body = API_BODY_REQUIRED, .cross = api_limit_rule, .tag = "dosing", .perm = API_MANAGE,
        .op_id = "set_ingredient_limit",
        .summary = "Set a person's maximum per 24 hours of an ingredient (replaces the one of "
                   "the same name)",
        .status = 201, .body_schema = "IngredientLimitSet", .response = "IngredientLimit",
        .errors = "400 404")},
    {.method = "DELETE",
     .pattern = "/api/v1/persons/{person_id}/ingredient-limits/{limit_id}",
     OP(.handler = api_limit_delete, IN(struct api_in_limit_id),
        .params =
            PARAMS(PATH_ID(struct api_in_limit_id, person_id, "person_id", "The ID of the person"),
                   PATH_ID(struct api_in_limit_id, id, "limit_id", "The ID of the limit")),
        .tag = "dosing", .perm = API_MANAGE, .op_id = "delete_ingredient_limit",
        .summary = "Delete an ingredient limit", .status = 204, .errors = "404")},

    /* Schedules: what is due, adherence, the calendar feed (api/schedules.c,
     * docs/schedules.md). */
    {.method = "GET",
     .pattern = "/api/v1/persons/{person_id}/due/{date}",
     OP(.handler = api_due, IN(struct api_in_due),
        .params = PARAMS(PATH_ID(struct api_in_due, person_id, "person_id", "The ID of the person"),
                         PATH_DATE(struct api_in_due, date)),
        .tag = "schedules", .perm = API_READ, .op_id = "get_due",
        .summary = "The scheduled slots of a person's local day with their status", .status = 200,
        .response = "DueDay", .errors = "404")},
    {.method = "GET",
     .pattern = "/api/v1/persons/{person_id}/adherence",
     OP(.handler = api_adherence, IN(struct api_in_adherence), .heavy = true,
        .params = PARAMS(PATH_ID(struct api_in_adherence, person_id, "person_id",
                                 "The ID of the person"),
                         QUERY_DATE(struct api_in_adherence, from, "from", true,
                                    "First local day (YYYY-MM-DD), inclusive"),
                         QUERY_DATE(struct api_in_adherence, to, "to", true,
                                    "Last local day (YYYY-MM-DD), inclusive; at most 366 days")),
        .cross = api_adherence_rule, .tag = "schedules", .perm = API_READ,
        .op_id = "get_adherence",
        .summary = "Slots taken on time, late, missed and skipped, percentages and streaks",
        .status = 200, .response = "Adherence", .errors = "404 503")},
    {.method = "POST",
     .pattern = "/api/v1/persons/{person_id}/calendar-token",
     OP(.handler = api_calendar_token_create, IN(struct api_in_id),
        .params = PARAMS(PATH_ID(struct api_in_id, id, "person_id", "The ID of the person")),
        .tag = "schedules", .perm = API_MANAGE, .op_id = "create_calendar_token",
        .summary = "A new calendar-feed token (shown this once; replaces the previous one)",
        .status = 201, .response = "CalendarToken", .errors = "404")},
    {.method = "DELETE",
     .pattern = "/api/v1/persons/{person_id}/calendar-token",
     OP(.handler = api_calendar_token_revoke, IN(struct api_in_id),
        .params = PARAMS(PATH_ID(struct api_in_id, id, "person_id", "The ID of the person")),
        .tag = "schedules", .perm = API_MANAGE, .op_id = "revoke_calendar_token",
        .summary = "Revoke the person's calendar-feed token", .status = 204, .errors = "404")},
    {.method = "GET",
     .pattern = "/api/v1/persons/{person_id}/calendar.ics",
     OP(.handler = api_calendar_ics, IN(struct api_in_calendar),
        .params = PARAMS(PATH_ID(struct api_in_calendar, person_id, "person_id",
                                 "The ID of the person"),
                         {.name = "token",
                          .where = API_QUERY,
                          .type = API_TEXT,
                          .at = offsetof(struct api_in_calendar, token),
                          .doc = "The calendar-feed token"}),
        .tag = "schedules", .perm = API_PUBLIC, .op_id = "get_calendar_feed",
        .summary = "The person's scheduled slots (7 days back, 30 ahead) as iCalendar with alarms",
        .status = 200, .response = "ics", .errors = "404")},

    /* The audit trail (api/audit.c). */
    {.method = "GET",
     .pattern = "/api/v1/audit/",
     OP(.handler = api_audit_list, IN(struct api_in_audit),
        .params = PARAMS(QUERY_PERSON(struct api_in_audit, "Only rows about this person"),
                         {.name = "entity",
                          .where = API_QUERY,
                          .type = API_CHOICE,
                          .at = offsetof(struct api_in_audit, entity),
                          .choices = api_audit_entities,
                          .doc = "Only rows about this kind of entity"},
                         {.name = "entity_id",
                          .where = API_QUERY,
                          .type = API_INT,
                          .at = offsetof(struct api_in_audit, entity_id),
                          .bounds = B_ID,
                          .doc = "Only rows about the entity with this id"},
                         {.name = "from",
                          .where = API_QUERY,
                          .type = API_DATETIME,
                          .at = offsetof(struct api_in_audit, from),
                          .doc = "Rows written at or after this instant (RFC 3339)"},
                         {.name = "to",
                          .where = API_QUERY,
                          .type = API_DATETIME,
                          .at = offsetof(struct api_in_audit, to),
                          .doc = "Rows written before this instant (RFC 3339)"},
                         SKIP(struct api_in_audit), LIMIT(struct api_in_audit)),
        .tag = "audit", .perm = API_ADMIN, .op_id = "get_audit_trail",
        .summary = "The audit trail, newest first (docs/audit.md)", .status = 200,
        .response = "[]AuditEntry")},

    /* Reports (api/report_form.c, api/report_export.c): heavy work. */
    {.method = "GET",
     .pattern = "/api/v1/reports/medications/pdf/{date}",
     OP(.handler = api_report_form, IN(struct api_in_form), .heavy = true,
        .params = PARAMS(PATH_DATE(struct api_in_form, date), TZ(struct api_in_form),
                         {.name = "person_id",
                          .where = API_QUERY,
                          .type = API_INT,
                          .at = offsetof(struct api_in_form, person_id),
                          .doc = "Only this person's medications (0: everyone)"},
                         {.name = "days",
                          .where = API_QUERY,
                          .type = API_INT,
                          .at = offsetof(struct api_in_form, days),
                          .bounds = {"ge", 1, "le", 7},
                          .has_default = true,
                          .def = 1,
                          .doc = "Number of days on the form (1-7)"},
                         {.name = "paper",
                          .where = API_QUERY,
                          .type = API_CHOICE,
                          .at = offsetof(struct api_in_form, paper),
                          .choices = paper_sizes,
                          .doc = "Paper size: letter (default) or a4"},
                         {.name = "prefill",
                          .where = API_QUERY,
                          .type = API_BOOL,
                          .at = offsetof(struct api_in_form, prefill),
                          .doc = "Print the doses recorded on each local day, and doses of "
                                 "deleted medications"}),
        .tag = "reports", .perm = API_READ, .op_id = "generate_medication_pdf",
        .summary = "Printable medication tracking form", .status = 200, .response = "pdf",
        .errors = "404 503")},
    {.method = "GET",
     .pattern = "/api/v1/reports/doses.csv",
     OP(.handler = api_export_csv, IN(struct api_in_export), .heavy = true, .params = export_params,
        .cross = api_export_range_rule, .tag = "reports", .perm = API_READ,
        .op_id = "export_doses_csv",
        .summary = "Dose history of a person as CSV (RFC 4180, header row)", .status = 200,
        .response = "csv", .errors = "404 503")},
    {.method = "GET",
     .pattern = "/api/v1/reports/doses.json",
     OP(.handler = api_export_json, IN(struct api_in_export), .heavy = true,
        .params = export_params, .cross = api_export_range_rule, .tag = "reports", .perm = API_READ,
        .op_id = "export_doses_json", .summary = "Dose history of a person as JSON", .status = 200,
        .response = "DoseExport", .errors = "404 503")},

    /* The portable record (api/record.c, docs/export-format.md): heavy work.
     * Administrators only. */
    {.method = "GET",
     .pattern = "/api/v1/export",
     OP(.handler = api_record_export, IN(struct api_in_record_export), .heavy = true,
        .perm = API_ADMIN,
        .params = PARAMS(QUERY_PERSON(struct api_in_record_export,
                                      "Only this person (default: every person)")),
        .tag = "export", .op_id = "export_record",
        .summary = "The whole record (or one person's) as a versioned JSON document",
        .status = 200, .response = "MeditrackExport", .errors = "404 503")},
    {.method = "POST",
     .pattern = "/api/v1/import",
     OP(.handler = api_record_import, IN(struct api_in_record_import), .heavy = true,
        .perm = API_ADMIN,
        .params = PARAMS({.name = "dry_run",
                          .where = API_QUERY,
                          .type = API_BOOL,
                          .at = offsetof(struct api_in_record_import, dry_run),
                          .doc = "Check the document and answer what would be created; change "
                                 "nothing"},
                         {.name = "on_conflict",
                          .where = API_QUERY,
                          .type = API_CHOICE,
                          .at = offsetof(struct api_in_record_import, on_conflict),
                          .choices = import_conflicts,
                          .doc = "A person already on the target (same name and date of birth): "
                                 "refuse (default) or add"}),
        .tag = "export", .op_id = "import_record",
        .summary = "Import an export document (body), all or nothing, with new ids",
        .status = 200, .response = "ImportOutcome", .errors = "400 409 413 415 503")},

    /* FHIR R4 (api/fhir.c): heavy work; read, of a person granted. */
    {.method = "GET",
     .pattern = "/api/v1/persons/{person_id}/fhir",
     OP(.handler = api_person_fhir, IN(struct api_in_fhir), .heavy = true, .perm = API_READ,
        .params = PARAMS(PATH_ID(struct api_in_fhir, person_id, "person_id", "The ID of the person"),
                         QUERY_DATE(struct api_in_fhir, start, "start", false,
                                    "First local day of the doses (YYYY-MM-DD), inclusive"),
                         QUERY_DATE(struct api_in_fhir, end, "end", false,
                                    "Last local day of the doses (YYYY-MM-DD), inclusive"),
                         TZ(struct api_in_fhir)),
        .cross = api_fhir_range_rule, .tag = "reports", .op_id = "person_fhir_bundle",
        .summary = "A person's medications and doses as a FHIR R4 Bundle (collection)",
        .status = 200, .response = "fhir", .errors = "404 503")},

    /* Access control (api/auth_api.c, api/accounts.c; docs/auth.md). With
     * AUTH=off these are not routed nor documented, except the status. */
    {.method = "GET",
     .pattern = "/api/v1/auth/status",
     OP(.handler = api_auth_status, .params = NO_PARAMS, .no_db = true, .perm = API_PUBLIC,
        .identify = true, .auth_api = true, .serve_off = true, .tag = "auth",
        .op_id = "auth_status",
        .summary = "Whether access control is on, setup is pending, and who is signed in",
        .status = 200, .response = "AuthStatus")},
    {.method = "POST",
     .pattern = "/api/v1/auth/setup",
     OP(.handler = api_auth_setup, IN(struct api_in_setup),
        .params = PARAMS(BODY_TEXT(struct api_in_setup, setup_token, SECRET_TEXT, true, false),
                         BODY_TEXT(struct api_in_setup, username, LOGIN_TEXT, true, false),
                         BODY_TEXT(struct api_in_setup, password, PASSWORD_TEXT, true, false),
                         BODY_TEXT(struct api_in_setup, display_name, SHORT_TEXT, false, true)),
        .body = API_BODY_REQUIRED, .perm = API_PUBLIC, .auth_api = true, .conflict = 409,
        .tag = "auth", .op_id = "auth_setup",
        .summary = "Create the first administrator with the setup token from the server's log",
        .status = 201, .body_schema = "SetupRequest", .response = "Account", .errors = "400 409")},
    {.method = "POST",
     .pattern = "/api/v1/auth/login",
     OP(.handler = api_auth_login, IN(struct api_in_login),
        .params = PARAMS(BODY_TEXT(struct api_in_login, username, PASSWORD_TEXT, true, false),
                         BODY_TEXT(struct api_in_login, password, PASSWORD_TEXT, true, false)),
        .body = API_BODY_REQUIRED, .perm = API_PUBLIC, .auth_api = true, .tag = "auth",
        .op_id = "auth_login", .summary = "Sign in: sets the session cookie", .status = 200,
        .body_schema = "LoginRequest", .response = "Account", .errors = "401 429")},
    {.method = "POST",
     .pattern = "/api/v1/auth/logout",
     OP(.handler = api_auth_logout, .params = NO_PARAMS, .perm = API_PUBLIC, .identify = true,
        .auth_api = true, .tag = "auth", .op_id = "auth_logout",
        .summary = "Sign out: ends the session and clears its cookie", .status = 204)},
    {.method = "GET",
     .pattern = "/api/v1/auth/me",
     OP(.handler = api_auth_me, .params = NO_PARAMS, .perm = API_SELF, .auth_api = true,
        .tag = "auth", .op_id = "auth_me", .summary = "The signed-in account", .status = 200,
        .response = "Me")},
    {.method = "POST",
     .pattern = "/api/v1/auth/password",
     OP(.handler = api_auth_password, IN(struct api_in_password),
        .params =
            PARAMS(BODY_TEXT(struct api_in_password, current_password, PASSWORD_TEXT, true, false),
                   BODY_TEXT(struct api_in_password, new_password, PASSWORD_TEXT, true, false)),
        .body = API_BODY_REQUIRED, .perm = API_SELF, .auth_api = true, .tag = "auth",
        .op_id = "auth_password",
        .summary = "Change the own password (ends the account's other sessions)", .status = 204,
        .body_schema = "PasswordChange", .errors = "400 429")},
    {.method = "GET",
     .pattern = "/api/v1/auth/sessions/",
     OP(.handler = api_auth_sessions, .params = NO_PARAMS, .perm = API_SELF, .auth_api = true,
        .tag = "auth", .op_id = "auth_sessions", .summary = "The own sessions, newest first",
        .status = 200, .response = "[]Session")},
    {.method = "DELETE",
     .pattern = "/api/v1/auth/sessions/{session_id}",
     OP(.handler = api_auth_session_delete, IN(struct api_in_id),
        .params = PARAMS(PATH_ID(struct api_in_id, id, "session_id", "The ID of the session")),
        .perm = API_SELF, .auth_api = true, .tag = "auth", .op_id = "auth_session_delete",
        .summary = "End one of the own sessions", .status = 204, .errors = "404")},
    {.method = "GET",
     .pattern = "/api/v1/auth/tokens/",
     OP(.handler = api_auth_tokens, .params = NO_PARAMS, .perm = API_SELF, .auth_api = true,
        .tag = "auth", .op_id = "auth_tokens",
        .summary = "The own API tokens, newest first (revoked ones too)", .status = 200,
        .response = "[]Token")},
    {.method = "POST",
     .pattern = "/api/v1/auth/tokens/",
     OP(.handler = api_auth_token_create, IN(struct api_in_token_new),
        .params = PARAMS(BODY_TEXT(struct api_in_token_new, name, SHORT_TEXT, true, false),
                         {.name = "scope",
                          .where = API_BODY,
                          .type = API_CHOICE,
                          .at = offsetof(struct api_in_token_new, scope),
                          .choices = api_scope_choices,
                          .required = true},
                         {.name = "person_id",
                          .where = API_BODY,
                          .type = API_INT,
                          .at = offsetof(struct api_in_token_new, person_id),
                          .bounds = B_ID,
                          .nullable = true},
                         {.name = "expires_days",
                          .where = API_BODY,
                          .type = API_INT,
                          .at = offsetof(struct api_in_token_new, expires_days),
                          .bounds = {"ge", 1, "le", 3650},
                          .nullable = true}),
        .body = API_BODY_REQUIRED, .perm = API_SELF, .auth_api = true, .tag = "auth",
        .op_id = "auth_token_create",
        .summary = "Create an API token (its secret is in this answer only)", .status = 201,
        .body_schema = "TokenCreate", .response = "NewToken", .errors = "400 404")},
    {.method = "DELETE",
     .pattern = "/api/v1/auth/tokens/{token_id}",
     OP(.handler = api_auth_token_revoke, IN(struct api_in_id),
        .params = PARAMS(PATH_ID(struct api_in_id, id, "token_id", "The ID of the token")),
        .perm = API_SELF, .auth_api = true, .tag = "auth", .op_id = "auth_token_revoke",
        .summary = "Revoke one of the own API tokens", .status = 204, .errors = "404")},

    /* Administration of accounts and tokens (api/accounts.c). */
    {.method = "GET",
     .pattern = "/api/v1/accounts/",
     OP(.handler = api_accounts_list, .params = NO_PARAMS, .perm = API_ADMIN, .auth_api = true,
        .tag = "accounts", .op_id = "get_accounts", .summary = "Every account, in login order",
        .status = 200, .response = "[]Account")},
    {.method = "POST",
     .pattern = "/api/v1/accounts/",
     OP(.handler = api_account_create, IN(struct api_in_account),
        .params = PARAMS(BODY_TEXT(struct api_in_account, username, LOGIN_TEXT, true, false),
                         BODY_TEXT(struct api_in_account, display_name, SHORT_TEXT, false, true),
                         ROLE(true),
                         BODY_TEXT(struct api_in_account, password, PASSWORD_TEXT, false, true),
                         ACCOUNT_PERSON, ACCOUNT_PERSONS),
        .body = API_BODY_REQUIRED, .perm = API_ADMIN, .auth_api = true, .conflict = 409,
        .tag = "accounts", .op_id = "create_account",
        .summary = "Create an account (without a password it signs in through the proxy only)",
        .status = 201, .body_schema = "AccountCreate", .response = "Account",
        .errors = "400 404 409")},
    {.method = "GET",
     .pattern = "/api/v1/accounts/{account_id}",
     OP(.handler = api_account_get, IN(struct api_in_id),
        .params = PARAMS(PATH_ID(struct api_in_id, id, "account_id", "The ID of the account")),
        .perm = API_ADMIN, .auth_api = true, .tag = "accounts", .op_id = "get_account",
        .summary = "Get an account", .status = 200, .response = "Account", .errors = "404")},
    {.method = "PATCH",
     .pattern = "/api/v1/accounts/{account_id}",
     OP(.handler = api_account_update, IN(struct api_in_account),
        .params = PARAMS(PATH_ID(struct api_in_account, id, "account_id", "The ID of the account"),
                         BODY_TEXT(struct api_in_account, display_name, SHORT_TEXT, false, false),
                         ROLE(false),
                         {.name = "enabled",
                          .where = API_BODY,
                          .type = API_BOOL,
                          .at = offsetof(struct api_in_account, enabled)},
                         BODY_TEXT(struct api_in_account, password, PASSWORD_TEXT, false, false),
                         ACCOUNT_PERSON, ACCOUNT_PERSONS),
        .body = API_BODY_REQUIRED, .perm = API_ADMIN, .auth_api = true, .conflict = 409,
        .tag = "accounts", .op_id = "update_account",
        .summary = "Change an account (a new password ends its sessions)", .status = 200,
        .body_schema = "AccountUpdate", .response = "Account", .errors = "400 404 409")},
    {.method = "DELETE",
     .pattern = "/api/v1/accounts/{account_id}",
     OP(.handler = api_account_delete, IN(struct api_in_id),
        .params = PARAMS(PATH_ID(struct api_in_id, id, "account_id", "The ID of the account")),
        .perm = API_ADMIN, .auth_api = true, .conflict = 409, .tag = "accounts",
        .op_id = "delete_account",
        .summary = "Delete an account with its sessions, tokens and grants", .status = 204,
        .errors = "404 409")},
    {.method = "GET",
     .pattern = "/api/v1/tokens/",
     OP(.handler = api_tokens_list, .params = NO_PARAMS, .perm = API_ADMIN, .auth_api = true,
        .tag = "accounts", .op_id = "get_tokens",
        .summary = "Every account's API tokens, newest first", .status = 200,
        .response = "[]AccountToken")},
    {.method = "DELETE",
     .pattern = "/api/v1/tokens/{token_id}",
     OP(.handler = api_token_revoke, IN(struct api_in_id),
        .params = PARAMS(PATH_ID(struct api_in_id, id, "token_id", "The ID of the token")),
        .perm = API_ADMIN, .auth_api = true, .tag = "accounts", .op_id = "revoke_token",
        .summary = "Revoke any account's API token", .status = 204, .errors = "404")},

    /* Reminders (api/reminders.c, docs/reminders.md). */
    {.method = "GET",
     .pattern = "/api/v1/persons/{person_id}/channels",
     OP(.handler = api_channels_list, IN(struct api_in_id),
        .params = PARAMS(PATH_ID(struct api_in_id, id, "person_id", "The ID of the person")),
        .tag = "reminders", .perm = API_MANAGE, .op_id = "get_person_channels",
        .summary = "A person's notification channels (URLs redacted, secrets never shown)",
        .status = 200,
        .response = "[]NotificationChannel", .errors = "404")},
    {.method = "POST",
     .pattern = "/api/v1/persons/{person_id}/channels",
     OP(.handler = api_channel_create, IN(struct api_in_channel),
        .params = PARAMS(PATH_ID(struct api_in_channel, owner_id, "person_id",
                                 "The ID of the person"),
                         CHANNEL_FIELDS),
        .body = API_BODY_REQUIRED, .tag = "reminders", .perm = API_MANAGE,
        .op_id = "create_person_channel", .summary = "Add a notification channel to a person",
        .status = 201, .body_schema = "NotificationChannelCreate",
        .body_doc = "ntfy: url (topic URL), token optional; gotify: url (server), token; webhook: "
                    "url, secret (HMAC-SHA256 key); email: to. token and secret are stored "
                    "encrypted (NOTIFY_SECRET_KEY).",
        .response = "NotificationChannel", .errors = "400 404")},
    {.method = "GET",
     .pattern = "/api/v1/auth/me/channels",
     OP(.handler = api_my_channels_list, .params = NO_PARAMS, .perm = API_SELF, .auth_api = true,
        .tag = "reminders", .op_id = "get_my_channels",
        .summary = "The signed-in account's notification channels (escalations)", .status = 200,
        .response = "[]NotificationChannel")},
    {.method = "POST",
     .pattern = "/api/v1/auth/me/channels",
     OP(.handler = api_my_channel_create, IN(struct api_in_channel), .params = PARAMS(CHANNEL_FIELDS),
        .body = API_BODY_REQUIRED, .perm = API_SELF, .auth_api = true, .tag = "reminders",
        .op_id = "create_my_channel",
        .summary = "Add a channel to the signed-in account (escalations of granted persons)",
        .status = 201, .body_schema = "NotificationChannelCreate",
        .response = "NotificationChannel", .errors = "400")},
    {.method = "DELETE",
     .pattern = "/api/v1/channels/{channel_id}",
     OP(.handler = api_channel_delete, IN(struct api_in_id),
        .params = PARAMS(PATH_ID(struct api_in_id, id, "channel_id", "The ID of the channel")),
        .tag = "reminders", .perm = API_READ, .op_id = "delete_channel",
        .summary = "Delete a notification channel with its deliveries", .status = 204,
        .errors = "404")},
    {.method = "POST",
     .pattern = "/api/v1/channels/{channel_id}/test",
     OP(.handler = api_channel_test, IN(struct api_in_id),
        .params = PARAMS(PATH_ID(struct api_in_id, id, "channel_id", "The ID of the channel")),
        .tag = "reminders", .perm = API_READ, .op_id = "test_channel",
        .summary = "Send a test message now; the outcome is also in the log", .status = 200,
        .response = "ChannelTestOutcome", .errors = "404")},
    {.method = "GET",
     .pattern = "/api/v1/persons/{person_id}/reminder-settings",
     OP(.handler = api_reminder_settings_get, IN(struct api_in_id),
        .params = PARAMS(PATH_ID(struct api_in_id, id, "person_id", "The ID of the person")),
        .tag = "reminders", .perm = API_READ, .op_id = "get_reminder_settings",
        .summary = "A person's repeats, quiet hours and escalation", .status = 200,
        .response = "ReminderSettings", .errors = "404")},
    {.method = "PUT",
     .pattern = "/api/v1/persons/{person_id}/reminder-settings",
     OP(.handler = api_reminder_settings_put, IN(struct api_in_reminder_settings),
        .params = PARAMS(
            PATH_ID(struct api_in_reminder_settings, person_id, "person_id",
                    "The ID of the person"),
            {.name = "repeat_minutes", .where = API_BODY, .type = API_INT,
             .at = offsetof(struct api_in_reminder_settings, repeat_minutes),
             .bounds = {"ge", 1, "le", 1440}, .nullable = true,
             .doc = "Repeat an unanswered reminder this often; null: no repeats"},
            {.name = "max_repeats", .where = API_BODY, .type = API_INT,
             .at = offsetof(struct api_in_reminder_settings, max_repeats),
             .bounds = {"ge", 0, "le", 100}, .doc = "At most this many repeats (default 3)"},
            BODY_TEXT(struct api_in_reminder_settings, quiet_start, 5, false, true),
            BODY_TEXT(struct api_in_reminder_settings, quiet_end, 5, false, true),
            {.name = "escalate_after_minutes", .where = API_BODY, .type = API_INT,
             .at = offsetof(struct api_in_reminder_settings, escalate_after_minutes),
             .bounds = {"ge", 1, "le", 10080}, .nullable = true,
             .doc = "Tell the person's carers when a slot is still open this long after it; "
                    "null: never"}),
        .body = API_BODY_REQUIRED, .tag = "reminders", .perm = API_MANAGE,
        .op_id = "put_reminder_settings", .summary = "Set a person's reminder settings",
        .status = 200, .body_schema = "ReminderSettingsUpdate", .response = "ReminderSettings",
        .errors = "400 404")},
    {.method = "GET",
     .pattern = "/api/v1/notifications",
     OP(.handler = api_notifications_list, IN(struct api_in_page),
        .params = PARAMS(SKIP(struct api_in_page), LIMIT(struct api_in_page)),
        .tag = "reminders", .perm = API_READ, .op_id = "get_notifications",
        .summary = "The delivery log, newest first (the persons the caller sees)", .status = 200,
        .response = "[]Notification")},
    {.method = "GET",
     .pattern = "/api/v1/reminders/{slot_id}/snooze",
     OP(.handler = api_reminder_snooze, IN(struct api_in_snooze),
        .params = PARAMS(PATH_ID(struct api_in_snooze, slot_id, "slot_id", "The reminder slot"),
                         {.name = "minutes", .where = API_QUERY, .type = API_INT,
                          .at = offsetof(struct api_in_snooze, minutes), .required = true,
                          .bounds = {"ge", 1, "le", 1440},
                          .doc = "How long to snooze, from the click"},
                         {.name = "expires", .where = API_QUERY, .type = API_INT,
                          .at = offsetof(struct api_in_snooze, expires), .required = true,
                          .bounds = {"ge", 0, NULL, 0}, .doc = "Unix seconds"},
                         {.name = "sig", .where = API_QUERY, .type = API_TEXT,
                          .at = offsetof(struct api_in_snooze, sig), .required = true,
                          .doc = "The link's signature"}),
        .tag = "reminders", .perm = API_PUBLIC, .op_id = "snooze_reminder",
        .summary = "Snooze a reminder from the link in a notification (signed, expires)",
        .status = 200, .response = "SnoozeOutcome", .errors = "400 404")},
    {.method = "POST",
     .pattern = "/api/v1/persons/{person_id}/reminders/{slot_id}/snooze",
     OP(.handler = api_person_reminder_snooze, IN(struct api_in_person_snooze),
        .params = PARAMS(PATH_ID(struct api_in_person_snooze, person_id, "person_id",
                                 "The ID of the person"),
                         PATH_ID(struct api_in_person_snooze, slot_id, "slot_id",
                                 "The reminder slot (reminder.id of a due slot)"),
                         {.name = "minutes", .where = API_BODY, .type = API_INT,
                          .at = offsetof(struct api_in_person_snooze, minutes), .required = true,
                          .bounds = {"ge", 1, "le", 1440},
                          .doc = "How long to snooze, from now"}),
        .body = API_BODY_REQUIRED, .tag = "reminders", .perm = API_RECORD, .conflict = 409,
        .op_id = "snooze_person_reminder",
        .summary = "Snooze a reminder of a person's due list (for those who may record doses)",
        .status = 200, .body_schema = "ReminderSnooze", .response = "SnoozeOutcome",
        .errors = "404 409")},

    /* The documents (api/openapi.c, api/docs_page.c): not API operations,
     * and not described in /openapi.json, as in the reference. */
    {.method = "GET", .pattern = "/openapi.json", .fn = api_openapi, .light = true},
    {.method = "GET", .pattern = "/docs", .fn = api_docs, .light = true},
    {.method = "GET", .pattern = "/redoc", .fn = api_docs, .light = true},
};

const size_t api_n_routes = sizeof(api_routes) / sizeof(api_routes[0]);

/* Unmatched GET/HEAD: the web front end (api/static.c): built into the
 * binary, or from STATIC_DIR; 404 {"detail":"Not Found"} with
 * STATIC_DIR=none. */
const http_handler api_fallback = api_static;
