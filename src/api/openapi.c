/* GET /openapi.json: an OpenAPI 3.1 description of the API, written from
 * the operation table (api/operations.c: paths, operations, parameters
 * with their bounds and defaults, request bodies, statuses) and the
 * response schemas below, built once and cached. The routes that are not
 * API operations (the documents) are not described, as in the reference.
 * tests/unit/test_operations.c checks the document against the table, and
 * tests/http/t022-openapi.py checks its shape as OpenAPI 3.1. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/handlers.h"
#include "api/openapi.h"
#include "core/schedule.h"

/* ---- response schemas ------------------------------------------------------------------- */

static json_t *nullable(const char *type)
{
    return json_pack("{s:[s,s]}", "type", type, "null");
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

/* The dosing fields of issue 15 (docs/dosing.md), present only when the
 * request carries X-MediTrack-Fields: extended. */
static json_t *extended(json_t *schema)
{
    json_object_set_new(schema, "description",
                        json_string("Only with the request header X-MediTrack-Fields: extended"));
    return schema;
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
    json_object_set_new(p, "timezone", extended(nullable("string")));
    return json_pack("{s:s, s:o, s:[s,s,s,s]}", "type", "object", "properties", p, "required",
                     "first_name", "id", "is_default", "name");
}

static json_t *verdict_fields(json_t *p)
{
    json_object_set_new(p, "next_allowed_at", extended(datetime_schema(true)));
    json_object_set_new(p, "blocked_by",
                        extended(json_pack("{s:[s,s], s:[s,s,s,n]}", "type", "string", "null",
                                           "enum", "interval", "window_full", "ingredient_limit")));
    return p;
}

static void dosing_fields(json_t *p)
{
    json_object_set_new(p, "limit_window",
                        extended(json_pack("{s:s, s:[s,s]}", "type", "string", "enum",
                                           "calendar_day", "rolling_24h")));
    json_object_set_new(p, "min_interval_minutes", extended(nullable("integer")));
    json_object_set_new(p, "dose_amount", extended(nullable("number")));
    json_object_set_new(p, "dose_unit", extended(nullable("string")));
    json_object_set_new(
        p, "ingredients",
        extended(json_pack("{s:s, s:o}", "type", "array", "items", ref("Ingredient"))));
    verdict_fields(p);
}

/* A dose: DoseInDB, and the fields of issue 15 (always in Dose). */
static json_t *dose_out(bool full)
{
    json_t *p = json_pack("{s:o, s:o, s:{s:s}, s:o}", "medication_id", nullable("integer"),
                          "medication_name", nullable("string"), "id", "type", "integer",
                          "taken_at", datetime_schema(true));
    json_t *f = json_object();
    json_object_set_new(f, "status",
                        json_pack("{s:s, s:[s,s,s]}", "type", "string", "enum", "taken", "skipped",
                                  "entered_in_error"));
    json_object_set_new(f, "status_reason", nullable("string"));
    json_object_set_new(f, "note", nullable("string"));
    json_object_set_new(f, "recorded_by", nullable("string"));
    json_object_set_new(f, "recorded_at", datetime_schema(true));
    json_object_set_new(f, "override_rule", nullable("string"));
    json_object_set_new(f, "override_reason", nullable("string"));
    json_object_set_new(f, "updated_at", datetime_schema(true));
    const char *key;
    json_t *value;
    json_object_foreach(f, key, value)
    {
        json_object_set(p, key, full ? value : extended(value));
    }
    json_decref(f);
    return json_pack("{s:s, s:o, s:[s,s]}", "type", "object", "properties", p, "required", "id",
                     "taken_at");
}

/* A medication's schedule (docs/schedules.md); null_ok for the field of a
 * medication, where null means "as needed". */
static json_t *schedule_schema(bool null_ok)
{
    json_t *p = json_object();
    json_object_set_new(p, "times",
                        json_pack("{s:s, s:{s:s}, s:s}", "type", "array", "items", "type", "string",
                                  "description",
                                  "local times HH:MM, 1 to 24, each once; answered in order"));
    json_object_set_new(p, "days",
                        json_pack("{s:s}", "description",
                                  "\"daily\" (default), a list of weekdays (\"mon\" ... "
                                  "\"sun\"), or {\"every_n_days\": N} (1-366, counted from "
                                  "start_date)"));
    json_object_set_new(p, "start_date", date_schema(true));
    json_object_set_new(p, "end_date", date_schema(true));
    return json_pack("{s:o, s:o, s:[s]}", "type",
                     null_ok ? json_pack("[s,s]", "object", "null") : json_string("object"),
                     "properties", p, "required", "times");
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
    dosing_fields(p);
    json_object_set_new(p, "schedule", extended(schedule_schema(true)));
    return json_pack("{s:s, s:o, s:[s,s,s,s,s,s]}", "type", "object", "properties", p, "required",
                     "name", "dosage", "frequency", "max_doses_per_day", "id", "person_id");
}

/* The schemas of issue 16 (docs/schedules.md). */
static json_t *object_of(json_t *props)
{
    return json_pack("{s:s, s:o}", "type", "object", "properties", props);
}

static json_t *typed(const char *type)
{
    return json_pack("{s:s}", "type", type);
}

static json_t *adherence_stats(void)
{
    json_t *p = json_object();
    static const char *const counts[] = {"slots",  "taken",          "late",
                                         "missed", "skipped",        "pending",
                                         "due",    "current_streak", "longest_streak"};
    for (size_t i = 0; i < MT_ARRAY_LEN(counts); i++)
        json_object_set_new(p, counts[i], typed("integer"));
    static const char *const pcts[] = {"taken_pct", "late_pct", "missed_pct", "skipped_pct",
                                       "adherence_pct"};
    for (size_t i = 0; i < MT_ARRAY_LEN(pcts); i++)
        json_object_set_new(p, pcts[i], nullable("number"));
    return p;
}

/* The export's fields of issue 16, present only with adherence=true. */
static json_t *adherence_only(json_t *schema)
{
    json_object_set_new(schema, "description",
                        json_string("Only with the query parameter adherence=true"));
    return schema;
}

static void schedule_schemas(json_t *s)
{
    json_object_set_new(s, "Schedule", schedule_schema(false));
    json_t *slot = json_object();
    json_object_set_new(slot, "medication_id", typed("integer"));
    json_object_set_new(slot, "medication_name", typed("string"));
    json_object_set_new(slot, "slot_at", datetime_schema(false));
    json_object_set_new(slot, "local_time", typed("string"));
    json_object_set_new(slot, "status",
                        json_pack("{s:s, s:[s,s,s,s,s]}", "type", "string", "enum", "taken", "late",
                                  "missed", "skipped", "pending"));
    json_object_set_new(slot, "dose_id", nullable("integer"));
    json_object_set_new(slot, "taken_at", datetime_schema(true));
    json_object_set_new(slot, "late_until", datetime_schema(false));
    /* The reminder the worker planned for the slot, or null before it
     * planned one (docs/reminders.md, "Snooze and skip from the list"). */
    json_t *rem = json_object();
    json_object_set_new(rem, "id", typed("integer"));
    json_object_set_new(rem, "state",
                        json_pack("{s:s, s:[s,s,s,s,s]}", "type", "string", "enum", "open",
                                  "snoozed", "done", "skipped", "missed"));
    json_object_set_new(rem, "snoozed_until", datetime_schema(true));
    json_t *rem_or_null = nullable("object");
    json_object_set_new(rem_or_null, "properties", rem);
    json_object_set_new(slot, "reminder", rem_or_null);
    json_object_set_new(s, "DueSlot", object_of(slot));
    json_t *due = json_object();
    json_object_set_new(due, "person_id", typed("integer"));
    json_object_set_new(due, "date", date_schema(false));
    json_object_set_new(due, "timezone", typed("string"));
    json_object_set_new(due, "day_start", datetime_schema(false));
    json_object_set_new(due, "day_end", datetime_schema(false));
    json_object_set_new(due, "slots",
                        json_pack("{s:s, s:o}", "type", "array", "items", ref("DueSlot")));
    json_object_set_new(s, "DueDay", object_of(due));
    json_t *med = adherence_stats();
    json_object_set_new(med, "medication_id", typed("integer"));
    json_object_set_new(med, "medication_name", typed("string"));
    json_t *day = json_object();
    json_object_set_new(day, "date", date_schema(false));
    static const char *const counts[] = {"slots", "taken", "late", "missed", "skipped", "pending"};
    for (size_t i = 0; i < MT_ARRAY_LEN(counts); i++)
        json_object_set_new(day, counts[i], typed("integer"));
    json_t *adh = json_object();
    json_object_set_new(adh, "person_id", typed("integer"));
    json_object_set_new(adh, "from", date_schema(false));
    json_object_set_new(adh, "to", date_schema(false));
    json_object_set_new(adh, "timezone", typed("string"));
    json_object_set_new(adh, "slot_window_minutes", typed("integer"));
    json_object_set_new(adh, "totals", object_of(adherence_stats()));
    json_object_set_new(adh, "medications",
                        json_pack("{s:s, s:o}", "type", "array", "items", object_of(med)));
    json_object_set_new(adh, "days",
                        json_pack("{s:s, s:o}", "type", "array", "items", object_of(day)));
    json_object_set_new(s, "Adherence", object_of(adh));
    json_t *tok = json_object();
    json_object_set_new(tok, "person_id", typed("integer"));
    json_object_set_new(
        tok, "token",
        json_pack("{s:s, s:s}", "type", "string", "description", "The secret, shown this once"));
    json_object_set_new(tok, "url", typed("string"));
    json_object_set_new(tok, "path", typed("string"));
    json_object_set_new(s, "CalendarToken", object_of(tok));
}

/* The response schemas; the request bodies' are written from the
 * operation table. */
static void response_schemas(json_t *s)
{
    json_object_set_new(s, "PersonInDB", person_out(false));
    json_object_set_new(s, "PersonWithStats", person_out(true));
    json_object_set_new(s, "MedicationInDB", med_out(false));
    json_object_set_new(s, "MedicationWithDoses", med_out(true));
    json_object_set_new(s, "DoseInDB", dose_out(false));
    json_object_set_new(s, "Dose", dose_out(true));
    json_object_set_new(s, "Ingredient",
                        json_pack("{s:s, s:{s:{s:s, s:i}, s:{s:s, s:i, s:i}, s:{s:s, s:i}}, "
                                  "s:[s,s,s]}",
                                  "type", "object", "properties", "name", "type", "string",
                                  "maxLength", 255, "amount", "type", "number", "exclusiveMinimum",
                                  0, "maximum", 1000000, "unit", "type", "string", "maxLength", 32,
                                  "required", "name", "amount", "unit"));
    json_object_set_new(
        s, "IngredientLimit",
        json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:o, s:o}}", "type",
                  "object", "properties", "id", "type", "integer", "person_id", "type", "integer",
                  "name", "type", "string", "max_per_24h", "type", "number", "unit", "type",
                  "string", "created_at", datetime_schema(true), "updated_at",
                  datetime_schema(true)));
    json_object_set_new(
        s, "AuditEntry",
        json_pack("{s:s, s:{s:{s:s}, s:o, s:{s:s}, s:o, s:{s:s}, s:{s:s}, s:o, s:o, s:{}, s:{}, "
                  "s:{s:s}, s:{s:s}}}",
                  "type", "object", "properties", "seq", "type", "integer", "created_at",
                  datetime_schema(true), "actor", "type", "string", "actor_id", nullable("integer"),
                  "action", "type", "string", "entity", "type", "string", "entity_id",
                  nullable("integer"), "person_id", nullable("integer"), "before", "after",
                  "prev_hash", "type", "string", "hash", "type", "string"));
    json_object_set_new(
        s, "DailySummaryEntry",
        json_pack("{s:s, s:{s:o, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:o}, s:{s:s}}}", "type",
                  "object", "properties", "medication_id", nullable("integer"), "medication_name",
                  "type", "string", "doses_taken", "type", "integer", "max_doses", "type",
                  "integer", "dose_times", "type", "array", "items", datetime_schema(false),
                  "is_deleted", "type", "boolean"));
    verdict_fields(json_object_get(json_object_get(s, "DailySummaryEntry"), "properties"));
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
    json_t *row = json_object_get(json_object_get(s, "DoseExportRow"), "properties");
    json_object_set_new(row, "status",
                        json_pack("{s:s, s:[s,s]}", "type", "string", "enum", "taken", "skipped"));
    static const char *const texts[] = {"status_reason", "override_rule", "override_reason", "note",
                                        "recorded_by"};
    for (size_t i = 0; i < MT_ARRAY_LEN(texts); i++)
        json_object_set_new(row, texts[i], nullable("string"));
    json_object_set_new(row, "slot_at", adherence_only(datetime_schema(true)));
    json_object_set_new(row, "slot_status",
                        adherence_only(json_pack("{s:[s,s], s:[s,s,s,n]}", "type", "string", "null",
                                                 "enum", "taken", "late", "skipped")));
    json_object_set_new(
        s, "DoseExport",
        json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:o, s:o, s:{s:s}, s:{s:s}, s:{s:s, s:o}}}", "type",
                  "object", "properties", "person_id", "type", "integer", "person_name", "type",
                  "string", "from", date_schema(false), "to", date_schema(false), "timezone_offset",
                  "type", "integer", "utc_offset", "type", "string", "doses", "type", "array",
                  "items", ref("DoseExportRow")));
    json_object_set_new(json_object_get(json_object_get(s, "DoseExport"), "properties"),
                        "adherence",
                        adherence_only(json_pack("{s:s, s:s}", "type", "object", "description",
                                                 "timezone, totals and medications as in "
                                                 "Adherence")));
    json_object_set_new(s, "MeditrackExport",
                        json_pack("{s:s, s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}}, s:[s,s,s]}", "type",
                                  "object", "description",
                                  "The portable record: docs/export-format.md, JSON Schema in "
                                  "docs/export-format.schema.json",
                                  "properties", "format", "type", "string", "version", "type",
                                  "integer", "persons", "type", "array", "required", "format",
                                  "version", "persons"));
    json_object_set_new(
        s, "ImportOutcome",
        json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, "
                  "s:{s:s}, s:{s:s}}}",
                  "type", "object", "properties", "dry_run", "type", "boolean", "imported", "type",
                  "boolean", "version", "type", "integer", "target_was_empty", "type", "boolean",
                  "to_create", "type", "object", "conflicts", "type", "array", "warnings", "type",
                  "array", "created", "type", "object", "person_ids", "type", "array"));
    schedule_schemas(s);
    json_object_set_new(s, "HealthStatus",
                        json_pack("{s:s, s:{s:{s:s}, s:{s:s}}}", "type", "object", "properties",
                                  "status", "type", "string", "version", "type", "string"));
    json_object_set_new(s, "ApiHealth",
                        json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s, s:{s:s, s:{s:{s:s}, s:{s:s}, "
                                  "s:{s:s}}}}, s:{s:s, s:s}}}",
                                  "type", "object", "properties", "status", "type", "string",
                                  "version", "type", "string", "components", "type", "array",
                                  "items", "type", "object", "properties", "component", "type",
                                  "string", "status", "type", "string", "details", "type", "object",
                                  "backup", "type", "object", "description",
                                  "only with BACKUP_SCHEDULE: the schedule and this replica's "
                                  "last backup (docs/backup.md)"));
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
}

/* An object schema of (name, type) pairs, NULL-terminated; a type "?t" is
 * t or null, "date-time" a nullable timestamp. */
static json_t *simple_object(const char *const *fields)
{
    json_t *props = json_object();
    for (size_t i = 0; fields[i]; i += 2) {
        const char *t = fields[i + 1];
        json_t *v;
        if (strcmp(t, "date-time") == 0)
            v = datetime_schema(true);
        else if (t[0] == '?')
            v = nullable(t + 1);
        else
            v = json_pack("{s:s}", "type", t);
        json_object_set_new(props, fields[i], v);
    }
    return json_pack("{s:s, s:o}", "type", "object", "properties", props);
}

/* The reminders API (docs/reminders.md). */
static void reminder_schemas(json_t *s)
{
    static const char *const channel[] = {
        "id", "integer", "person_id", "?integer", "account_id", "?integer", "type", "string",
        "url", "?string", "to", "?string", "enabled", "boolean", "has_secret", "boolean",
        "created_at", "date-time", NULL};
    static const char *const outcome[] = {"delivery_id", "integer", "channel_id", "integer",
                                          "status", "string", "detail", "?string", NULL};
    static const char *const settings[] = {
        "person_id", "integer", "repeat_minutes", "?integer", "max_repeats", "integer",
        "quiet_start", "?string", "quiet_end", "?string", "escalate_after_minutes", "?integer",
        "updated_at", "date-time", NULL};
    static const char *const delivery[] = {
        "id", "integer", "channel_id", "integer", "channel_type", "string",
        "channel_person_id", "?integer", "kind", "string", "seq", "integer", "status", "string", "attempts", "integer", "due_at", "date-time",
        "next_attempt_at", "date-time", "sent_at", "date-time", "last_error", "?string",
        "created_at", "date-time", "slot", "?object", NULL};
    static const char *const snooze[] = {"slot_id", "integer", "state", "string",
                                         "snoozed_until", "date-time", NULL};
    json_object_set_new(s, "NotificationChannel", simple_object(channel));
    json_object_set_new(s, "ChannelTestOutcome", simple_object(outcome));
    json_object_set_new(s, "ReminderSettings", simple_object(settings));
    json_object_set_new(s, "Notification", simple_object(delivery));
    json_object_set_new(s, "SnoozeOutcome", simple_object(snooze));
}

/* The response schemas of the access-control API (AUTH=on only). */
static void auth_schemas(json_t *s)
{
    json_t *account =
        json_pack("{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:[s,s,s]}, s:{s:s}, s:o, s:{s:s, s:{s:s}}, "
                  "s:{s:s}, s:o, s:o}",
                  "id", "type", "integer", "username", "type", "string", "display_name", "type",
                  "string", "role", "type", "string", "enum", "admin", "carer", "viewer", "enabled",
                  "type", "boolean", "person_id", nullable("integer"), "persons", "type", "array",
                  "items", "type", "integer", "has_password", "type", "boolean", "created_at",
                  datetime_schema(true), "updated_at", datetime_schema(true));
    json_t *me = json_deep_copy(account);
    json_object_set_new(
        me, "auth_method",
        json_pack("{s:s, s:[s,s,s]}", "type", "string", "enum", "session", "token", "proxy"));
    json_object_set_new(s, "Account",
                        json_pack("{s:s, s:o}", "type", "object", "properties", account));
    json_object_set_new(s, "Me", json_pack("{s:s, s:o}", "type", "object", "properties", me));
    json_object_set_new(s, "AuthStatus",
                        json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:[{s:s},{s:s}]}, s:{s:s}}}",
                                  "type", "object", "properties", "auth", "type", "boolean",
                                  "setup_required", "type", "boolean", "account", "oneOf", "$ref",
                                  "#/components/schemas/Me", "type", "null", "csrf_header", "type",
                                  "string"));
    json_object_set_new(s, "Session",
                        json_pack("{s:s, s:{s:{s:s}, s:o, s:o, s:o, s:o, s:o, s:{s:s}}}", "type",
                                  "object", "properties", "id", "type", "integer", "created_at",
                                  datetime_schema(true), "last_seen_at", datetime_schema(true),
                                  "expires_at", datetime_schema(true), "user_agent",
                                  nullable("string"), "address", nullable("string"), "current",
                                  "type", "boolean"));
    json_t *token = json_pack(
        "{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:[s,s,s]}, s:o, s:o, s:o, s:o, s:o}", "id", "type",
        "integer", "name", "type", "string", "prefix", "type", "string", "scope", "type", "string",
        "enum", "read", "write", "admin", "person_id", nullable("integer"), "created_at",
        datetime_schema(true), "expires_at", datetime_schema(true), "last_used_at",
        datetime_schema(true), "revoked_at", datetime_schema(true));
    json_t *new_token = json_deep_copy(token);
    json_object_set_new(
        new_token, "token",
        json_pack("{s:s, s:s}", "type", "string", "description", "The secret, shown this once"));
    json_t *admin_token = json_deep_copy(token);
    json_object_set_new(admin_token, "account_id", json_pack("{s:s}", "type", "integer"));
    json_object_set_new(admin_token, "username", json_pack("{s:s}", "type", "string"));
    json_object_set_new(s, "Token", json_pack("{s:s, s:o}", "type", "object", "properties", token));
    json_object_set_new(s, "NewToken",
                        json_pack("{s:s, s:o}", "type", "object", "properties", new_token));
    json_object_set_new(s, "AccountToken",
                        json_pack("{s:s, s:o}", "type", "object", "properties", admin_token));
}

static json_t *content_of(const char *schema)
{
    if (strcmp(schema, "pdf") == 0)
        return json_pack("{s:{s:{s:s, s:s}}}", "application/pdf", "schema", "type", "string",
                         "format", "binary");
    if (strcmp(schema, "csv") == 0)
        return json_pack("{s:{s:{s:s}}}", "text/csv", "schema", "type", "string");
    if (strcmp(schema, "ics") == 0)
        return json_pack("{s:{s:{s:s, s:s}}}", "text/calendar", "schema", "type", "string",
                         "description", "iCalendar (RFC 5545): one VEVENT with a VALARM per slot");
    if (strcmp(schema, "fhir") == 0)
        return json_pack("{s:{s:{s:s, s:s}}}", "application/fhir+json", "schema", "type", "object",
                         "description", "A FHIR R4 Bundle of type collection");
    json_t *sch = schema[0] == '['
                      ? json_pack("{s:s, s:o}", "type", "array", "items", ref(schema + 2))
                      : ref(schema);
    return json_pack("{s:{s:o}}", "application/json", "schema", sch);
}

/* ---- from the operation table ---------------------------------------------------------- */

/* An integer's bounds and default into schema s. */
static void int_schema(json_t *s, const struct api_param *p)
{
    if (p->bounds.lo_op)
        json_object_set_new(s, strcmp(p->bounds.lo_op, "ge") == 0 ? "minimum" : "exclusiveMinimum",
                            json_integer(p->bounds.lo));
    if (p->bounds.hi_op)
        json_object_set_new(s, strcmp(p->bounds.hi_op, "le") == 0 ? "maximum" : "exclusiveMaximum",
                            json_integer(p->bounds.hi));
}

/* The JSON Schema of a parameter's value; null_ok adds null to its type. */
static json_t *param_schema(const struct api_param *p, bool null_ok)
{
    static const char *const type_names[] = {
        [API_INT] = "integer",     [API_DATE] = "string",   [API_TEXT] = "string",
        [API_BOOL] = "boolean",    [API_CHOICE] = "string", [API_IDS] = "array",
        [API_NUMBER] = "number",   [API_DATETIME] = "string", [API_JSON] = "array"};
    const char *type = type_names[p->type];
    json_t *s = null_ok ? nullable(type) : json_pack("{s:s}", "type", type);
    bool body = p->where == API_BODY;
    switch (p->type) {
    case API_IDS: {
        json_t *items = json_pack("{s:s}", "type", "integer");
        int_schema(items, p);
        json_object_set_new(s, "items", items);
        break;
    }
    case API_NUMBER:
        if (p->bounds.lo_op)
            json_object_set_new(s,
                                strcmp(p->bounds.lo_op, "ge") == 0 ? "minimum" : "exclusiveMinimum",
                                json_integer(p->bounds.lo));
        if (p->bounds.hi_op)
            json_object_set_new(s,
                                strcmp(p->bounds.hi_op, "le") == 0 ? "maximum" : "exclusiveMaximum",
                                json_integer(p->bounds.hi));
        break;
    case API_DATETIME:
        json_object_set_new(s, "format", json_string("date-time"));
        break;
    case API_JSON:
        /* The one JSON parameter is a medication's list of ingredients. */
        json_object_set_new(s, "items", ref("Ingredient"));
        json_object_set_new(s, "description",
                            json_string("The active ingredients, at most 20; null: none"));
        break;
    case API_INT:
        int_schema(s, p);
        if (p->has_default)
            json_object_set_new(s, "default", json_integer(p->def));
        break;
    case API_DATE:
        json_object_set_new(s, "format", json_string("date"));
        break;
    case API_TEXT:
        if (p->max_len)
            json_object_set_new(s, "maxLength", json_integer((json_int_t)p->max_len));
        break;
    case API_BOOL:
        if (!body)
            json_object_set_new(s, "default", json_false());
        break;
    case API_CHOICE: {
        json_t *words = json_array();
        for (const char *const *c = p->choices; *c; c++)
            json_array_append_new(words, json_string(*c));
        json_object_set_new(s, "enum", words);
        if (!body)
            json_object_set_new(s, "default", json_string(p->choices[0]));
        break;
    }
    }
    return s;
}

/* The path and query parameters of op; NULL when it has none. */
static json_t *parameters(const struct api_op *op)
{
    json_t *list = json_array();
    for (const struct api_param *p = op->params; p->name; p++) {
        if (p->where == API_BODY)
            continue;
        bool path = p->where == API_PATH;
        json_t *item = json_pack("{s:s, s:s, s:b}", "name", p->name, "in", path ? "path" : "query",
                                 "required", path || p->required);
        if (p->doc)
            json_object_set_new(item, "description", json_string(p->doc));
        json_object_set_new(item, "schema", param_schema(p, false));
        json_array_append_new(list, item);
    }
    if (json_array_size(list))
        return list;
    json_decref(list);
    return NULL;
}

/* The schema of op's request body: its body parameters as properties. */
static json_t *body_schema(const struct api_op *op)
{
    json_t *s = json_pack("{s:s}", "type", "object");
    if (op->body_doc)
        json_object_set_new(s, "description", json_string(op->body_doc));
    json_t *props = json_object();
    json_t *required = json_array();
    for (const struct api_param *p = op->params; p->name; p++) {
        if (p->where != API_BODY)
            continue;
        json_object_set_new(props, p->name, param_schema(p, p->nullable));
        if (p->required)
            json_array_append_new(required, json_string(p->name));
    }
    json_object_set_new(s, "properties", props);
    if (json_array_size(required))
        json_object_set_new(s, "required", required);
    else
        json_decref(required);
    return s;
}

/* Adds "<status>": an error response with a detail, for each status in a
 * space-separated list. */
static void error_responses(json_t *resp, const char *list)
{
    for (const char *e = list ? list : ""; *e;) {
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
}

static json_t *operation(const struct api_op *op, bool auth)
{
    json_t *o = json_pack("{s:[s], s:s, s:s}", "tags", op->tag, "summary", op->summary,
                          "operationId", op->op_id);
    json_t *params = parameters(op);
    if (params)
        json_object_set_new(o, "parameters", params);
    if (op->body != API_NO_BODY)
        json_object_set_new(o, "requestBody",
                            json_pack("{s:b, s:o}", "required", op->body == API_BODY_REQUIRED,
                                      "content", content_of(op->body_schema)));
    json_t *resp = json_object();
    char status[8];
    snprintf(status, sizeof(status), "%d", op->status);
    json_t *ok = json_pack("{s:s}", "description", "Successful Response");
    if (op->response)
        json_object_set_new(ok, "content", content_of(op->response));
    json_object_set_new(resp, status, ok);
    error_responses(resp, op->errors);
    if (auth && op->perm != API_PUBLIC)
        error_responses(resp, "401 403");
    if (op->params[0].name)
        json_object_set_new(resp, "422",
                            json_pack("{s:s, s:o}", "description", "Validation Error", "content",
                                      content_of("HTTPValidationError")));
    json_object_set_new(o, "responses", resp);
    if (auth) {
        json_object_set_new(o, "x-permission", json_string(api_perm_name(op->perm)));
        if (op->perm == API_PUBLIC)
            json_object_set_new(o, "security", json_array());
        else
            json_object_set_new(o, "security",
                                json_pack("[{s:[]},{s:[]}]", "sessionCookie", "bearerToken"));
    }
    return o;
}

json_t *api_openapi_doc(const char *version, bool auth)
{
    json_t *paths = json_object();
    json_t *schemas = json_object();
    for (size_t i = 0; i < api_n_routes; i++) {
        const struct http_route *rt = &api_routes[i];
        const struct api_op *op = rt->op;
        if (!op || (op->auth_api && !auth))
            continue;
        json_t *item = json_object_get(paths, rt->pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, rt->pattern, item);
        }
        char method[8];
        size_t k = 0;
        for (; rt->method[k] && k + 1 < sizeof(method); k++)
            method[k] = (char)tolower((unsigned char)rt->method[k]);
        method[k] = '\0';
        json_object_set_new(item, method, operation(op, auth));
        if (op->body_schema && !json_object_get(schemas, op->body_schema))
            json_object_set_new(schemas, op->body_schema, body_schema(op));
    }
    response_schemas(schemas);
    reminder_schemas(schemas);
    if (!auth)
        return json_pack(
            "{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:o}}", "openapi", "3.1.0", "info", "title",
            "MediTrack", "version", version ? version : "1.0.0", "description",
            "Household medication tracker. Timestamps are UTC with a Z designator; a day is the "
            "local day of timezone_offset (JavaScript sign). Collection paths also answer without "
            "their trailing slash.",
            "paths", paths, "components", "schemas", schemas);
    auth_schemas(schemas);
    json_t *schemes = json_pack(
        "{s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s}}", "sessionCookie", "type", "apiKey", "in",
        "cookie", "name", API_SESSION_COOKIE, "description",
        "The session of POST /api/v1/auth/login. Writes also need the header X-Requested-With: "
        "MediTrack and a same-origin Origin (or Referer).",
        "bearerToken", "type", "http", "scheme", "bearer", "description",
        "An API token (mtt_...) from POST /api/v1/auth/tokens or `meditrack token create`.");
    return json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:o, s:o}, s:[{s:[]},{s:[]}]}", "openapi", "3.1.0",
        "info", "title", "MediTrack", "version", version ? version : "1.0.0", "description",
        "Household medication tracker. Timestamps are UTC with a Z designator; a day is the "
        "local day of timezone_offset (JavaScript sign). Collection paths also answer without "
        "their trailing slash. Every operation states the permission it needs in "
        "x-permission (PUBLIC, SELF, READ, RECORD, MANAGE, ADMIN; docs/auth.md).",
        "paths", paths, "components", "schemas", schemas, "securitySchemes", schemes, "security",
        "sessionCookie", "bearerToken");
}

static pthread_mutex_t doc_lock = PTHREAD_MUTEX_INITIALIZER;
static char *doc_text;
static size_t doc_len;

void api_openapi(struct http_req *r)
{
    pthread_mutex_lock(&doc_lock);
    if (!doc_text) {
        const struct mt_config *cfg = r->app ? r->app->cfg : NULL;
        json_t *doc = api_openapi_doc(cfg ? cfg->version : NULL, cfg ? cfg->auth : false);
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
