/* The one rule for days in the API (api.md, decision 3): a day is the local
 * calendar day at the client's timezone_offset, else at TIMEZONE_OFFSET, as
 * the half-open interval of instants that the store queries. Used by the
 * handlers of medications, doses and reports. Internal to src/api. */
#ifndef MT_API_DAYS_H
#define MT_API_DAYS_H

#include "api/http.h"
#include "api/operation.h"
#include "core/mtime.h"
#include "store/store.h"

/* The offset in effect, in minutes with JavaScript's sign: the client's
 * timezone_offset when given, else TIMEZONE_OFFSET. */
int api_tz_minutes(const struct http_req *r, const struct api_int *tz);

/* The store window of the local days first..last at offset tz: core's
 * mt_day_window, so the bounds are always instants every database
 * accepts. */
struct store_window api_day_window(struct mt_date first, struct mt_date last, int tz);

/* The local day date when it is set, else today, at offset tz. */
struct mt_date api_day_or_today(const struct api_date *date, int tz);

#endif
