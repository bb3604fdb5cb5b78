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
int api_reply_meds(struct http_req *r, const struct store_medication *items, size_t n);
int api_reply_med(struct http_req *r, int status, const struct store_medication *m, bool with_day);
int api_reply_doses(struct http_req *r, const struct store_dose *items, size_t n);
int api_reply_dose(struct http_req *r, int status, const struct store_dose *d);
/* Answers with the text of w (200 / 201 ...), or the memory-limit error
 * when w failed. */
int api_reply_jw(struct http_req *r, int status, const struct api_jw *w);

#endif
