/* Everything the operation table (api/operations.c) names: for each API
 * operation its input struct (what api/validate.c fills, one api_int,
 * api_text or api_date per parameter) and its handler, the model and cross
 * rules of the operations that have them, and the plain handlers of the
 * routes that are not API operations. One block per src/api file. Nothing
 * but the table and the unit tests refers to these. Internal to src/api. */
#ifndef MT_API_HANDLERS_H
#define MT_API_HANDLERS_H

#include "api/http.h"
#include "api/operation.h"

/* ---- health.c ----------------------------------------------------------------------------- */

/* GET /health and GET /api/v1/health: no parameters. */
int api_health(struct api_call *call, struct mt_err *err);
int api_health_v1(struct api_call *call, struct mt_err *err);

/* ---- persons.c ---------------------------------------------------------------------------- */

/* The list's paging, also of other lists. */
struct api_in_page {
    struct api_int skip, limit;
};

/* GET, DELETE and set-default of one person, DELETE of a medication or a
 * dose: the path's id. */
struct api_in_id {
    struct api_int id;
};

/* POST (no id) and PUT of a person. */
struct api_in_person {
    struct api_int id;
    struct api_text first_name, last_name;
    struct api_text name; /* the legacy single name: checked, and read through first_name */
    struct api_date date_of_birth;
    struct api_text notes;
    struct api_text timezone; /* issue 16: IANA name, null or "": the server's zone */
};

int api_persons_list(struct api_call *call, struct mt_err *err);
int api_person_create(struct api_call *call, struct mt_err *err);
int api_person_get(struct api_call *call, struct mt_err *err);
int api_person_update(struct api_call *call, struct mt_err *err);
int api_person_delete(struct api_call *call, struct mt_err *err);
int api_person_set_default(struct api_call *call, struct mt_err *err);
/* The reference's model validators of PersonCreate and PersonUpdate: a
 * legacy `name` stands in for a missing first_name (on create it also
 * drops last_name, and a body with neither is refused). */
int api_person_create_model(struct api_body *b, struct api_vctx *v);
int api_person_update_model(struct api_body *b, struct api_vctx *v);
/* A timezone that is set must name a zone the server has (mt_tz_name_ok,
 * mt_tz_load). */
void api_person_rule(const struct api_request *q, void *in, struct api_vctx *v);

/* ---- medications.c ------------------------------------------------------------------------ */

struct api_in_med_list {
    struct api_int skip, limit;
    struct api_date date; /* the local day whose doses are counted; unset: today */
    struct api_int tz;
    struct api_int person_id;
};

/* A medication and a local day: GET of a medication (date unset: today),
 * and the doses of a day (date required). */
struct api_in_med_day {
    struct api_int id;
    struct api_date date;
    struct api_int tz;
};

/* POST (no id; person_id) and PUT (id; no person_id) of a medication,
 * with the dosing rules of issue 15 after the reference's fields. */
struct api_in_med {
    struct api_int id;
    struct api_text name, dosage, frequency;
    struct api_int max_doses_per_day;
    struct api_text instructions;
    struct api_int person_id;
    struct api_int limit_window;         /* API_CHOICE: calendar_day, rolling_24h */
    struct api_int min_interval_minutes; /* null: none (value 0) */
    struct api_num dose_amount;
    struct api_text dose_unit;
    struct api_jsonv ingredients; /* [{"name", "amount", "unit"}], checked by api_med_rules */
    struct api_jsonv schedule;    /* issue 16: null or a schedule (core/schedule.h) */
};

/* The words of limit_window, in the order of its choices. */
extern const char *const api_limit_windows[];
/* Checks the ingredients list (each an object with a name, a positive
 * amount and a unit; no name twice) and the schedule with pydantic-shaped
 * errors. */
void api_med_rules(const struct api_request *q, void *in, struct api_vctx *v);

int api_meds_list(struct api_call *call, struct mt_err *err);
int api_med_create(struct api_call *call, struct mt_err *err);
int api_med_get(struct api_call *call, struct mt_err *err);
int api_med_update(struct api_call *call, struct mt_err *err);
int api_med_delete(struct api_call *call, struct mt_err *err);

/* ---- doses.c ------------------------------------------------------------------------------ */

/* The optional body fields of both record operations (issue 15). */
#define API_OVERRIDE_FIELDS                                                                        \
    struct api_int override; /* API_BOOL */                                                        \
    struct api_text override_reason, note

struct api_in_dose_now {
    struct api_int medication_id;
    struct api_int tz; /* from the optional body */
    API_OVERRIDE_FIELDS;
};

struct api_in_dose_for_date {
    struct api_int medication_id;
    struct api_date date;
    struct api_text time; /* checked by api_parse_hhmm after the 404 and date checks */
    struct api_int tz;
    API_OVERRIDE_FIELDS;
};

/* POST .../skip: a skipped dose and why, at the slot's time (default now). */
struct api_in_dose_skip {
    struct api_int medication_id;
    struct api_text reason;
    struct api_time taken_at;
    struct api_text note;
};

/* PATCH /doses/{dose_id}: a correction of the time or the note. */
struct api_in_dose_patch {
    struct api_int id;
    struct api_time taken_at;
    struct api_text note;
};

/* POST /doses/{dose_id}/entered-in-error. */
struct api_in_dose_error {
    struct api_int id;
    struct api_text reason;
};

/* The reference's record body requires timezone_offset; a body that
 * carries any of the new fields may leave it out. */
int api_dose_body_model(struct api_body *b, struct api_vctx *v);
/* override_reason is required (not blank) when override is true. */
void api_dose_now_rule(const struct api_request *q, void *in, struct api_vctx *v);
void api_dose_for_date_rule(const struct api_request *q, void *in, struct api_vctx *v);
/* A reason that is not blank. */
void api_reason_rule(const struct api_request *q, void *in, struct api_vctx *v);
void api_skip_rule(const struct api_request *q, void *in, struct api_vctx *v);

struct api_in_dose_history {
    struct api_int medication_id;
    struct api_int skip, limit;
};

/* /daily-summary (date unset: today) and /daily-summary/{date}. */
struct api_in_summary {
    struct api_date date;
    struct api_int tz;
    struct api_int person_id;
};

struct api_in_deleted_history {
    struct api_text name; /* the path segment, as decoded */
    struct api_int skip, limit;
};

int api_dose_now(struct api_call *call, struct mt_err *err);
int api_dose_for_date(struct api_call *call, struct mt_err *err);
int api_dose_history(struct api_call *call, struct mt_err *err);
int api_dose_day(struct api_call *call, struct mt_err *err);
int api_summary(struct api_call *call, struct mt_err *err);
int api_doses_deleted(struct api_call *call, struct mt_err *err);
int api_dose_delete(struct api_call *call, struct mt_err *err);
int api_dose_skip(struct api_call *call, struct mt_err *err);
int api_dose_patch(struct api_call *call, struct mt_err *err);
int api_dose_entered_in_error(struct api_call *call, struct mt_err *err);

/* ---- limits.c: a person's ingredient limits ------------------------------------------------ */

struct api_in_limit_set {
    struct api_int person_id;
    struct api_text name;
    struct api_num max_per_24h;
    struct api_text unit;
};

struct api_in_limit_id {
    struct api_int person_id;
    struct api_int id;
};

int api_limits_list(struct api_call *call, struct mt_err *err);
int api_limit_set(struct api_call *call, struct mt_err *err);
int api_limit_delete(struct api_call *call, struct mt_err *err);
/* name and unit are not blank. */
void api_limit_rule(const struct api_request *q, void *in, struct api_vctx *v);

/* ---- schedules.c: what is due, adherence, the calendar feed (issue 16) ------------------- */

/* GET /persons/{person_id}/due/{date}. */
struct api_in_due {
    struct api_int person_id;
    struct api_date date;
};

/* GET /persons/{person_id}/adherence?from=&to= (both required). */
struct api_in_adherence {
    struct api_int person_id;
    struct api_date from, to;
};

/* GET /persons/{person_id}/calendar.ics?token=. */
struct api_in_calendar {
    struct api_int person_id;
    struct api_text token;
};

int api_due(struct api_call *call, struct mt_err *err);
int api_adherence(struct api_call *call, struct mt_err *err);
/* "to" not before "from", and at most 366 days. */
void api_adherence_rule(const struct api_request *q, void *in, struct api_vctx *v);
/* POST and DELETE /persons/{person_id}/calendar-token (api_in_id). */
int api_calendar_token_create(struct api_call *call, struct mt_err *err);
int api_calendar_token_revoke(struct api_call *call, struct mt_err *err);
int api_calendar_ics(struct api_call *call, struct mt_err *err);

/* ---- audit.c: the audit trail -------------------------------------------------------------- */

struct api_in_audit {
    struct api_int person_id;
    struct api_int entity; /* API_CHOICE of api_audit_entities */
    struct api_int entity_id;
    struct api_time from, to;
    struct api_int skip, limit;
};

extern const char *const api_audit_entities[];
int api_audit_list(struct api_call *call, struct mt_err *err);

/* ---- report_form.c: the printable tracking form ------------------------------------------ */

/* The paper sizes of the form, in the order of its `paper` choices. */
enum { API_PAPER_LETTER, API_PAPER_A4 };

struct api_in_form {
    struct api_date date;
    struct api_int tz;
    struct api_int person_id; /* 0, as in the reference: everyone */
    struct api_int days;
    struct api_int paper;   /* API_PAPER_* */
    struct api_int prefill; /* 0 or 1 */
};

int api_report_form(struct api_call *call, struct mt_err *err);

/* ---- report_export.c: a person's dose history as CSV or JSON ------------------------------ */

struct api_in_export {
    struct api_int person_id;
    struct api_date from, to;
    struct api_int tz;
    struct api_int adherence; /* API_BOOL (issue 16): the slot each dose satisfied, and in
                               * JSON the range's adherence */
};

int api_export_csv(struct api_call *call, struct mt_err *err);
int api_export_json(struct api_call *call, struct mt_err *err);
/* "to" must not be before "from". */
void api_export_range_rule(const struct api_request *q, void *in, struct api_vctx *v);

/* ---- record.c: the portable record (docs/export-format.md) -------------------------------- */

/* GET /api/v1/export: everyone, or person_id. */
struct api_in_record_export {
    struct api_int person_id;
};

/* POST /api/v1/import: the body is the document, read by the handler. */
struct api_in_record_import {
    struct api_int dry_run;     /* 0 or 1 */
    struct api_int on_conflict; /* 0 refuse, 1 add */
};

int api_record_export(struct api_call *call, struct mt_err *err);
int api_record_import(struct api_call *call, struct mt_err *err);

/* ---- fhir.c: a person's record as a FHIR R4 Bundle --------------------------------------- */

struct api_in_fhir {
    struct api_int person_id;
    struct api_date start, end; /* local days, both included; unset: no bound */
    struct api_int tz;
};

int api_person_fhir(struct api_call *call, struct mt_err *err);
/* "end" must not be before "start". */
void api_fhir_range_rule(const struct api_request *q, void *in, struct api_vctx *v);
/* ---- auth_api.c: the caller's own access (docs/auth.md) ---------------------------------- */

struct api_in_setup {
    struct api_text setup_token, username, password, display_name;
};

struct api_in_login {
    struct api_text username, password;
};

struct api_in_password {
    struct api_text current_password, new_password;
};

/* The scope choices, in enum store_scope order less one. */
struct api_in_token_new {
    struct api_text name;
    struct api_int scope;     /* index in the scope choices */
    struct api_int person_id; /* set with value 0: null */
    struct api_int expires_days;
};

int api_auth_status(struct api_call *call, struct mt_err *err);
int api_auth_setup(struct api_call *call, struct mt_err *err);
int api_auth_login(struct api_call *call, struct mt_err *err);
int api_auth_logout(struct api_call *call, struct mt_err *err);
int api_auth_me(struct api_call *call, struct mt_err *err);
int api_auth_password(struct api_call *call, struct mt_err *err);
int api_auth_sessions(struct api_call *call, struct mt_err *err);
int api_auth_session_delete(struct api_call *call, struct mt_err *err);
int api_auth_tokens(struct api_call *call, struct mt_err *err);
int api_auth_token_create(struct api_call *call, struct mt_err *err);
int api_auth_token_revoke(struct api_call *call, struct mt_err *err);

/* ---- accounts.c: administration of accounts and every token ------------------------------ */

/* POST (no id) and PATCH of an account. */
struct api_in_account {
    struct api_int id;
    struct api_text username, display_name;
    struct api_int role;    /* index in the role choices */
    struct api_int enabled; /* 0 or 1 */
    struct api_text password;
    struct api_int person_id; /* set with value 0: null */
    struct api_ids persons;
};

/* The words of the choices, in the order the operation table lists them. */
extern const char *const api_role_choices[];
extern const char *const api_scope_choices[];

int api_accounts_list(struct api_call *call, struct mt_err *err);
int api_account_create(struct api_call *call, struct mt_err *err);
int api_account_get(struct api_call *call, struct mt_err *err);
int api_account_update(struct api_call *call, struct mt_err *err);
int api_account_delete(struct api_call *call, struct mt_err *err);
int api_tokens_list(struct api_call *call, struct mt_err *err);
int api_token_revoke(struct api_call *call, struct mt_err *err);

/* ---- reminders.c (issue 16, docs/reminders.md) ------------------------------------------- */

/* POST of a channel: of the person in the path (owner_id), or of the
 * signed-in account (owner_id unset). */
struct api_in_channel {
    struct api_int owner_id;
    struct api_int type; /* index in api_channel_types */
    struct api_text url, to, token, secret;
    struct api_int enabled; /* API_BOOL; unset: true */
};

/* PUT of a person's reminder settings; a null integer reads as 0. */
struct api_in_reminder_settings {
    struct api_int person_id;
    struct api_int repeat_minutes, max_repeats;
    struct api_text quiet_start, quiet_end;
    struct api_int escalate_after_minutes;
};

/* The signed snooze link. */
struct api_in_snooze {
    struct api_int slot_id, minutes, expires;
    struct api_text sig;
};

/* The signed-in snooze of the due list: a slot of the person in the path,
 * for minutes from now. */
struct api_in_person_snooze {
    struct api_int person_id, slot_id, minutes;
};

/* "ntfy", "gotify", "webhook", "email" (notify_type order). */
extern const char *const api_channel_types[];

int api_channel_create(struct api_call *call, struct mt_err *err);
int api_my_channel_create(struct api_call *call, struct mt_err *err);
int api_channels_list(struct api_call *call, struct mt_err *err);
int api_my_channels_list(struct api_call *call, struct mt_err *err);
int api_channel_delete(struct api_call *call, struct mt_err *err);
int api_channel_test(struct api_call *call, struct mt_err *err);
int api_reminder_settings_get(struct api_call *call, struct mt_err *err);
int api_reminder_settings_put(struct api_call *call, struct mt_err *err);
int api_notifications_list(struct api_call *call, struct mt_err *err);
int api_reminder_snooze(struct api_call *call, struct mt_err *err);
int api_person_reminder_snooze(struct api_call *call, struct mt_err *err);

/* ---- routes that are not API operations ------------------------------------------------- */

/* openapi.c: GET /openapi.json. */
void api_openapi(struct http_req *r);
/* docs_page.c: GET /docs and /redoc. */
void api_docs(struct http_req *r);
/* static.c: the fallback for GET/HEAD requests no route takes. */
void api_static(struct http_req *r);

#endif
