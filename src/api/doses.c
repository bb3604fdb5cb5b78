/* /api/v1/doses: record a dose now or at a local date and time (the daily
 * maximum is checked atomically in the store), the histories, the daily
 * summary (optionally for one person, api.md decision 2) and deleting a
 * dose. The check order of recording for a date is the reference's:
 * validation, 404, future date, time format, maximum. */
#include <stdio.h>
#include <string.h>

#include "api/resources.h"

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
    api_reply_dose(r, 201, &d);
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
    api_reply_doses(r, items, n);
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
    api_reply_doses(r, items, n);
}

/* One medication of the daily summary; a deleted one is named "<name>
 * (deleted)" and flagged is_deleted. */
static void summary_entry(struct http_req *r, struct api_jw *w, const struct store_summary_entry *e)
{
    api_jw_obj(w);
    api_jw_key(w, "medication_id");
    if (e->deleted)
        api_jw_null(w);
    else
        api_jw_int(w, e->medication_id);
    const char *name = e->deleted ? mt_arena_printf(r->arena, "%s (deleted)", e->name) : e->name;
    api_jw_str_at(w, "medication_name", name ? name : e->name);
    api_jw_int_at(w, "doses_taken", (int64_t)e->n_times);
    api_jw_int_at(w, "max_doses", e->max_doses);
    api_jw_key(w, "dose_times");
    api_jw_arr(w);
    for (size_t i = 0; i < e->n_times; i++)
        api_jw_time(w, &e->times[i]);
    api_jw_arr_end(w);
    if (e->deleted)
        api_jw_bool_at(w, "is_deleted", true);
    api_jw_obj_end(w);
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
    mt_format_date(day, date, sizeof(date));
    struct api_jw out;
    api_jw_init(&out, r->arena, 64 + n * 160);
    api_jw_obj(&out);
    api_jw_str_at(&out, "date", date);
    api_jw_key(&out, "medications");
    api_jw_arr(&out);
    for (size_t i = 0; i < n; i++)
        summary_entry(r, &out, &items[i]);
    api_jw_arr_end(&out);
    api_jw_obj_end(&out);
    api_reply_jw(r, 200, &out);
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
    api_reply_doses(r, items, n);
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
