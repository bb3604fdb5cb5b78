/* The one rule for days in the API (api.md, decision 3; docs/timezones.md):
 * a day is the local calendar day at the client's timezone_offset, else in
 * the server's zone (TIMEZONE, TZ, or TIMEZONE_OFFSET when that is set), as
 * the half-open interval of instants that the store queries. Used by the
 * handlers of medications, doses, reports and schedules. Internal to
 * src/api. */
#ifndef MT_API_DAYS_H
#define MT_API_DAYS_H

#include "api/http.h"
#include "api/operation.h"
#include "core/mtime.h"
#include "core/tz.h"
#include "store/store.h"

/* The zone in effect: the client's timezone_offset when given, else the
 * server's zone. */
struct mt_tz api_tz(const struct http_req *r, const struct api_int *tz);

/* The offset in effect now, in minutes with JavaScript's sign: the client's
 * timezone_offset when given, else the server's zone's offset at this
 * instant (for the texts that name one offset: the PDF footer, the export's
 * timezone_offset). */
int api_tz_minutes(const struct http_req *r, const struct api_int *tz);
/* z's offset now, in minutes with JavaScript's sign (300 = UTC-5). */
int api_zone_minutes_now(struct mt_tz z);
/* The zone of a person's stored zone name; the server's zone for NULL or a
 * name the system no longer knows. */
struct mt_tz api_zone_named(const struct http_req *r, const char *name);

/* The store window of the local days first..last in zone z: core's
 * mt_tz_day_window, so the bounds are always instants every database
 * accepts, and a day across a change of daylight saving time has 23 or 25
 * hours. */
struct store_window api_day_window(struct mt_date first, struct mt_date last, struct mt_tz z);

/* The zone of a person's views (issue 16): the client's timezone_offset
 * when given, else the person's own zone (persons.timezone) when set and
 * known to this server, else the server's zone. A person that does not
 * exist simply has no zone of their own (the caller answers its 404). */
int api_person_tz(struct api_call *call, int64_t person_id, const struct api_int *tz,
                  struct mt_tz *out, struct mt_err *err);
/* The same for the person a medication belongs to. */
int api_med_tz(struct api_call *call, int64_t medication_id, const struct api_int *tz,
               struct mt_tz *out, struct mt_err *err);
/* The local day date when it is set, else today, in zone z. */
struct mt_date api_day_or_today(const struct api_date *date, struct mt_tz z);

#endif
