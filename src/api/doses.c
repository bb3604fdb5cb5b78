/* /api/v1/doses: record a dose now or at a local date and time (the daily
 * maximum is checked atomically in the store), the histories, the daily
 * summary (optionally for one person, api.md decision 2) and deleting a
 * dose. The check order of recording for a date is the reference's:
 * validation, 404, future date, time format, maximum. */
#include <stdio.h>

#include "api/resources.h"

static void reply_doses(struct http_req *r, const struct store_dose *items, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, api_dose_json(&items[i]));
    api_reply_json(r, 200, list);
}

/* Records at taken_us in the local day `day`; full_detail is the 400 text
 * when the day already has its maximum ("%lld" receives the maximum). */
static void record(struct http_req *r, struct db_conn *c, int64_t medication_id, int64_t taken_us,
                   struct mt_date day, int tz, bool today)
{
    struct store_window w = api_day_window(day, day, tz);
    enum store_record result = STORE_RECORDED;
    int64_t max = 0;
    struct store_dose d;
    struct mt_err err;
    if (store_dose_record(c, r->arena, medication_id, taken_us, &w, &result, &max, &d, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    if (result == STORE_DAY_FULL) {
        char date[MT_TIME_BUF];
        mt_format_date(day, date, sizeof(date));
        const char *detail =
            today ? mt_arena_printf(r->arena, "Maximum doses (%lld) taken today", (long long)max)
                  : mt_arena_printf(r->arena, "Maximum doses (%lld) taken for %s", (long long)max,
                                    date);
        http_reply_detail(r, 400, detail ? detail : "Maximum doses taken");
        return;
    }
    api_reply_json(r, 201, api_dose_json(&d));
}

void api_dose_now(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_dose_now in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_dose_now(&q, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    int tz = api_tz_minutes(r, &in.tz);
    int64_t now = mt_now_us();
    record(r, c, in.medication_id, now, mt_local_date(now, tz), tz, true);
}

void api_dose_for_date(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_dose_for_date in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_dose_for_date(&q, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct mt_err err;
    if (store_med_exists(c, in.medication_id, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    int tz = api_tz_minutes(r, &in.tz);
    if (mt_date_cmp(in.date, mt_local_date(mt_now_us(), tz)) > 0) {
        http_reply_detail(r, 400, "Cannot record doses for future dates");
        return;
    }
    int hour, minute;
    if (api_parse_hhmm(in.time, &hour, &minute) < 0) {
        http_reply_detail(r, 400, "Invalid time format. Use HH:MM");
        return;
    }
    int64_t taken = mt_local_to_instant(in.date, hour, minute, tz);
    if (!mt_instant_valid(taken)) {
        /* 0001-01-01 early in the morning east of UTC is still year 0 in
         * UTC, which no database stores. */
        http_reply_detail(r, 400,
                          "Dose time is before 0001-01-01T00:00:00Z, the earliest that can "
                          "be stored");
        return;
    }
    record(r, c, in.medication_id, taken, in.date, tz, false);
}

void api_dose_history(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_dose_history in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_dose_history(&q, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct store_dose *items = NULL;
    size_t n = 0;
    struct mt_err err;
    if (store_doses_history(c, r->arena, in.medication_id, in.page.skip, in.page.limit, &items, &n,
                            &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    reply_doses(r, items, n);
}

void api_dose_day(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_dose_day in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_dose_day(&q, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    int tz = api_tz_minutes(r, &in.tz);
    struct store_window w = api_day_window(in.date, in.date, tz);
    struct store_dose *items = NULL;
    size_t n = 0;
    struct mt_err err;
    if (store_doses_in_window(c, r->arena, in.medication_id, &w, &items, &n, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    reply_doses(r, items, n);
}

static json_t *summary_entry(struct http_req *r, const struct store_summary_entry *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "medication_id",
                        e->deleted ? json_null() : json_integer(e->medication_id));
    const char *name = e->deleted ? mt_arena_printf(r->arena, "%s (deleted)", e->name) : e->name;
    json_object_set_new(o, "medication_name", api_str_json(name ? name : e->name));
    json_object_set_new(o, "doses_taken", json_integer((json_int_t)e->n_times));
    json_object_set_new(o, "max_doses", json_integer(e->max_doses));
    json_t *times = json_array();
    for (size_t i = 0; i < e->n_times; i++)
        json_array_append_new(times, api_time_json(&e->times[i]));
    json_object_set_new(o, "dose_times", times);
    if (e->deleted)
        json_object_set_new(o, "is_deleted", json_true());
    return o;
}

static void summary(struct http_req *r, bool has_date)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_summary in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_summary(&q, has_date, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    int tz = api_tz_minutes(r, &in.tz);
    struct mt_date day = in.has_date ? in.date : mt_local_date(mt_now_us(), tz);
    struct store_window w = api_day_window(day, day, tz);
    struct store_summary_entry *items = NULL;
    size_t n = 0;
    struct mt_err err;
    if (store_daily_summary(c, r->arena, in.has_person, in.person_id, &w, &items, &n, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    char date[MT_TIME_BUF];
    json_t *meds = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(meds, summary_entry(r, &items[i]));
    api_reply_json(r, 200,
                   json_pack("{s:s, s:o}", "date", mt_format_date(day, date, sizeof(date)),
                             "medications", meds));
}

void api_summary_today(struct http_req *r)
{
    summary(r, false);
}

void api_summary_date(struct http_req *r)
{
    summary(r, true);
}

void api_doses_deleted(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_deleted_history in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_deleted_history(&q, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct store_dose *items = NULL;
    size_t n = 0;
    struct mt_err err;
    if (store_doses_deleted(c, r->arena, in.name, in.page.skip, in.page.limit, &items, &n, &err) <
        0) {
        api_reply_store_err(r, &err);
        return;
    }
    if (n == 0) {
        http_reply_detail(r, 404, "No doses found for deleted medication");
        return;
    }
    reply_doses(r, items, n);
}

void api_dose_delete(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_id in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_dose_id(&q, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct mt_err err;
    if (store_dose_delete(c, in.id, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    http_reply_empty(r, 204);
}
