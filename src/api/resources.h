/* The handlers of the MediTrack API resources (persons, medications, doses,
 * reports, the versioned health check, the OpenAPI document and /docs, and
 * the static front end), and the helpers they share to shape store rows into
 * the reference's JSON (its key order, nulls and `Z` timestamps) and to
 * answer store errors. routes.c maps paths to the handlers; nothing else
 * calls them. Internal to src/api. */
#ifndef MT_API_RESOURCES_H
#define MT_API_RESOURCES_H

#include <jansson.h>

#include "api/http.h"
#include "api/jsonw.h"
#include "api/validate.h"
#include "store/store.h"

/* persons.c */
void api_persons_list(struct http_req *r);
void api_person_create(struct http_req *r);
void api_person_get(struct http_req *r);
void api_person_update(struct http_req *r);
void api_person_delete(struct http_req *r);
void api_person_set_default(struct http_req *r);

/* medications.c */
void api_meds_list(struct http_req *r);
void api_med_create(struct http_req *r);
void api_med_get(struct http_req *r);
void api_med_update(struct http_req *r);
void api_med_delete(struct http_req *r);

/* doses.c */
void api_dose_now(struct http_req *r);
void api_dose_for_date(struct http_req *r);
void api_dose_history(struct http_req *r);
void api_dose_day(struct http_req *r);
void api_summary_today(struct http_req *r);
void api_summary_date(struct http_req *r);
void api_doses_deleted(struct http_req *r);
void api_dose_delete(struct http_req *r);

/* reports.c */
void api_report_pdf(struct http_req *r);
void api_report_doses_csv(struct http_req *r);
void api_report_doses_json(struct http_req *r);

/* api_health.c: GET /api/v1/health */
void api_health_v1(struct http_req *r);

/* openapi.c */
void api_openapi(struct http_req *r);
void api_docs(struct http_req *r);

/* static.c: the fallback for GET/HEAD requests no route takes. */
void api_static(struct http_req *r);

/* ---- shared by the handlers (shape.c) ------------------------------------------------------- */

/* A timestamp for a response: null, "YYYY-MM-DDTHH:MM:SS[.ffffff]Z", or the
 * stored text when it could not be read. New reference. */
json_t *api_time_json(const struct store_time *t);
/* A text column: null or the string (bytes that are not UTF-8 replaced). */
json_t *api_str_json(const char *s);

/* Replies written as JSON text (api/jsonw.h), in the reference's shapes:
 * a list (200) or one row with status. Persons: PersonInDB, or
 * PersonWithStats (medication_count before the computed name) in lists and
 * when with_count. Medications: MedicationInDB, or MedicationWithDoses in
 * lists and when with_day. Doses: DoseInDB. The arena's ceiling gives the
 * memory-limit error. */
void api_reply_persons(struct http_req *r, const struct store_person *items, size_t n);
void api_reply_person(struct http_req *r, int status, const struct store_person *p,
                      bool with_count);
void api_reply_meds(struct http_req *r, const struct store_medication *items, size_t n);
void api_reply_med(struct http_req *r, int status, const struct store_medication *m, bool with_day);
void api_reply_doses(struct http_req *r, const struct store_dose *items, size_t n);
void api_reply_dose(struct http_req *r, int status, const struct store_dose *d);
/* A timestamp as api_time_json gives it, written into w as a value, or as
 * the member key. */
void api_jw_time(struct api_jw *w, const struct store_time *t);
void api_jw_time_at(struct api_jw *w, const char *key, const struct store_time *t);
/* Answers with the text of w (200 / 201 ...), or the memory-limit error
 * when w failed. */
void api_reply_jw(struct http_req *r, int status, const struct api_jw *w);

/* As http_reply_json (compact, key order kept, steals j), serialising once
 * straight into the request arena. */
void api_reply_json(struct http_req *r, int status, json_t *j);
/* Answers a failed validation (rc != 0) and returns true; false when rc is 0. */
bool api_invalid(struct http_req *r, int rc, struct api_vctx *v);
/* The database connection of the request; on failure answers r and returns
 * NULL. */
struct db_conn *api_db(struct http_req *r);
/* Answers a store failure: a refused business rule (MT_ECONFLICT) is 400
 * with its detail, everything else goes through http_reply_err. */
void api_reply_store_err(struct http_req *r, const struct mt_err *err);
/* Validates with fn-style parsers: fills the api_request of r. */
void api_request_init(struct api_request *q, struct http_req *r);
/* The offset in effect: the client's, else TIMEZONE_OFFSET. */
int api_tz_minutes(struct http_req *r, const struct api_tz *tz);
/* The store window of local days first..last in the zone tz: core's
 * mt_day_window, the one day-window computation every endpoint uses, so the
 * bounds are always instants every database accepts. */
struct store_window api_day_window(struct mt_date first, struct mt_date last, int tz);

#endif
