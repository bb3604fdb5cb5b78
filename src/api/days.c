/* The local days of requests (see days.h): which zone applies, and the
 * window of instants of a range of local days. */
#include "api/days.h"

#include "store/schedules.h"

struct mt_tz api_tz(const struct http_req *r, const struct api_int *tz)
{
    if (tz->set)
        return mt_tz_fixed((int)tz->value);
    if (r->app)
        return r->app->zone;
    return mt_tz_fixed(0);
}

int api_zone_minutes_now(struct mt_tz z)
{
    return z.zone ? -mt_tz_offset_at(z, mt_now_us()) / 60 : z.fixed_min;
}

int api_tz_minutes(const struct http_req *r, const struct api_int *tz)
{
    return tz->set ? (int)tz->value : api_zone_minutes_now(api_tz(r, tz));
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

/* A lookup's failure: a missing person or medication is the caller's 404
 * to answer, not this one's; anything else is passed on. */
static int pass_on(const struct mt_err *got, struct mt_err *err)
{
    if (got->code == MT_ENOTFOUND)
        return 0;
    if (err)
        *err = *got;
    return -1;
}

int api_person_tz(struct api_call *call, int64_t person_id, const struct api_int *tz,
                  struct mt_tz *out, struct mt_err *err)
{
    *out = api_tz(call->r, tz);
    if (tz->set)
        return 0;
    const char *name = NULL;
    struct mt_err none = {0};
    if (store_person_timezone(call->db, call->r->arena, person_id, &name, &none) < 0)
        return pass_on(&none, err);
    *out = api_zone_named(call->r, name);
    return 0;
}

struct mt_tz api_zone_named(const struct http_req *r, const char *name)
{
    struct mt_tz z;
    struct mt_err none = {0};
    /* A stored zone the system no longer has (tzdata changed) falls back to
     * the server's rather than failing every view of the person. */
    if (name && mt_tz_load(name, &z, &none) == 0)
        return z;
    return api_tz(r, &(struct api_int){0});
}

int api_med_tz(struct api_call *call, int64_t medication_id, const struct api_int *tz,
               struct mt_tz *out, struct mt_err *err)
{
    *out = api_tz(call->r, tz);
    if (tz->set)
        return 0;
    int64_t person_id = 0;
    struct mt_err none = {0};
    if (store_med_person(call->db, medication_id, &person_id, &none) < 0)
        return pass_on(&none, err);
    return api_person_tz(call, person_id, tz, out, err);
}
