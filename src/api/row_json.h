/* Store rows (store/store.h) as the reference's JSON replies: persons
 * (PersonInDB, PersonWithStats), medications (MedicationInDB,
 * MedicationWithDoses), doses (DoseInDB) and timestamps, written with the
 * streaming JSON writer (api/jsonw.h). Used by the resource handlers and
 * the daily summary. Internal to src/api. */
#ifndef MT_API_ROW_JSON_H
#define MT_API_ROW_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "api/http.h"
#include "api/jsonw.h"
#include "store/dosing.h"
#include "store/store.h"

/* A timestamp: null, "YYYY-MM-DDTHH:MM:SS[.ffffff]Z", or the stored text
 * when it could not be read; as a value, or as the member key. */
void api_jw_time(struct api_jw *w, const struct store_time *t);
void api_jw_time_at(struct api_jw *w, const char *key, const struct store_time *t);

/* Replies in the reference's shapes: a list (200) or one row with status.
 * Persons: PersonInDB, or PersonWithStats (medication_count before the
 * computed name) in lists and when with_count. Medications:
 * MedicationInDB, or MedicationWithDoses in lists and when with_day. The
 * arena's ceiling gives the memory-limit error (http_reply_err). Each
 * returns 0 (r is answered), so that a handler can end with it. */
int api_reply_persons(struct http_req *r, const struct store_person *items, size_t n);
int api_reply_person(struct http_req *r, int status, const struct store_person *p, bool with_count);
/* Medications with verdicts (one per row, from store_med_verdict) also
 * carry the dosing fields after the reference's (docs/dosing.md): the
 * rules, the ingredients (m->ingredients), next_allowed_at and blocked_by;
 * verdicts NULL gives the reference's shape. */
int api_reply_meds(struct http_req *r, const struct store_medication *items,
                   const struct store_verdict *verdicts, size_t n);
int api_reply_med(struct http_req *r, int status, const struct store_medication *m,
                  const struct store_verdict *verdict, bool with_day);
/* Doses: DoseInDB, with the fields of issue 15 after the reference's when
 * the request asked for them (api_extended); _full always has them. */
int api_reply_doses(struct http_req *r, const struct store_dose *items, size_t n);
int api_reply_dose(struct http_req *r, int status, const struct store_dose *d);
int api_reply_dose_full(struct http_req *r, int status, const struct store_dose *d);
/* A medication's next_allowed_at and blocked_by, as members of the object
 * being written. */
void api_jw_verdict(struct api_jw *w, const struct store_verdict *v);
/* Answers with the text of w (200 / 201 ...), or the memory-limit error
 * when w failed. */
int api_reply_jw(struct http_req *r, int status, const struct api_jw *w);

#endif
