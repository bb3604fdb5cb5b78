/* The local days of requests (see days.h): which zone applies, and the
 * window of instants of a range of local days. */
#include "api/days.h"

struct mt_tz api_tz(const struct http_req *r, const struct api_int *tz)
{
    if (tz->set)
        return mt_tz_fixed((int)tz->value);
    if (r->app)
        return r->app->zone;
    return mt_tz_fixed(0);
}

int api_tz_minutes(const struct http_req *r, const struct api_int *tz)
{
    if (tz->set)
        return (int)tz->value;
    struct mt_tz z = api_tz(r, tz);
    if (!z.zone)
        return z.fixed_min;
    return -mt_tz_offset_at(z, mt_now_us()) / 60;
}

struct store_window api_day_window(struct mt_date first, struct mt_date last, struct mt_tz z)
{
    struct mt_window w = mt_tz_day_window(z, first, last);
    return (struct store_window){.start_us = w.start_us, .end_us = w.end_us};
}

struct mt_date api_day_or_today(const struct api_date *date, struct mt_tz z)
{
    return date->set ? date->value : mt_tz_local_date(z, mt_now_us());
}
