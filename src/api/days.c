/* The local days of requests (see days.h): which offset applies, and the
 * window of instants of a range of local days. */
#include "api/days.h"

int api_tz_minutes(const struct http_req *r, const struct api_int *tz)
{
    if (tz->set)
        return (int)tz->value;
    return r->app && r->app->cfg ? r->app->cfg->timezone_offset : 0;
}

struct store_window api_day_window(struct mt_date first, struct mt_date last, int tz)
{
    struct mt_window w = mt_day_window(first, last, tz);
    return (struct store_window){.start_us = w.start_us, .end_us = w.end_us};
}

struct mt_date api_day_or_today(const struct api_date *date, int tz)
{
    return date->set ? date->value : mt_local_date(mt_now_us(), tz);
}
