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

/* POST (no id; person_id) and PUT (id; no person_id) of a medication. */
struct api_in_med {
    struct api_int id;
    struct api_text name, dosage, frequency;
    struct api_int max_doses_per_day;
    struct api_text instructions;
    struct api_int person_id;
};

int api_meds_list(struct api_call *call, struct mt_err *err);
int api_med_create(struct api_call *call, struct mt_err *err);
int api_med_get(struct api_call *call, struct mt_err *err);
int api_med_update(struct api_call *call, struct mt_err *err);
int api_med_delete(struct api_call *call, struct mt_err *err);

/* ---- doses.c ------------------------------------------------------------------------------ */

struct api_in_dose_now {
    struct api_int medication_id;
    struct api_int tz; /* from the optional body */
};

struct api_in_dose_for_date {
    struct api_int medication_id;
    struct api_date date;
    struct api_text time; /* checked by api_parse_hhmm after the 404 and date checks */
    struct api_int tz;
};

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
};

int api_export_csv(struct api_call *call, struct mt_err *err);
int api_export_json(struct api_call *call, struct mt_err *err);
/* "to" must not be before "from". */
void api_export_range_rule(const struct api_request *q, void *in, struct api_vctx *v);

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

/* ---- routes that are not API operations ------------------------------------------------- */

/* openapi.c: GET /openapi.json. */
void api_openapi(struct http_req *r);
/* docs_page.c: GET /docs and /redoc. */
void api_docs(struct http_req *r);
/* static.c: the fallback for GET/HEAD requests no route takes. */
void api_static(struct http_req *r);

#endif
