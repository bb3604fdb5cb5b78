/* /api/v1/doses: record a dose now or at a local date and time (the daily
 * maximum is checked atomically in the store), the histories, the daily
 * summary (optionally for one person, api.md decision 2) and deleting a
 * dose. The check order of recording for a date is the reference's:
 * validation, 404, future date, time format, maximum. Each handler gets
 * its validated input (handlers.h) from the operation runner. */
#include <string.h>

#include "api/auth.h"
#include "api/coerce.h"
#include "api/days.h"
#include "api/handlers.h"
#include "api/row_json.h"

/* Records at taken_us in the local day `day`. A day that already has its
 * maximum is refused with the reference's 400 (a business rule). */
static int record(struct api_call *call, int64_t medication_id, int64_t taken_us,
                  struct mt_date day, struct mt_tz tz, bool today, struct mt_err *err)
{
    struct store_window w = api_day_window(day, day, tz);
    enum store_record result = STORE_RECORDED;
    int64_t max = 0;
    struct store_dose d;
    if (store_dose_record(call->db, call->r->arena, medication_id, taken_us, &w, &result, &max, &d,
                          err) < 0)
        return -1;
    if (result == STORE_DAY_FULL) {
        if (today)
            return mt_fail(err, MT_ECONFLICT, "Maximum doses (%lld) taken today", (long long)max);
        char date[MT_TIME_BUF];
        return mt_fail(err, MT_ECONFLICT, "Maximum doses (%lld) taken for %s", (long long)max,
                       mt_format_date(day, date, sizeof(date)));
    }
    return api_reply_dose(call->r, call->op->status, &d);
}

int api_dose_now(struct api_call *call, struct mt_err *err)
{
    const struct api_in_dose_now *in = call->in;
    if (api_who_med(call, in->medication_id.value, err) < 0)
        return -1;
    struct mt_tz tz = api_tz(call->r, &in->tz);
    int64_t now = mt_now_us();
    return record(call, in->medication_id.value, now, mt_tz_local_date(tz, now), tz, true, err);
}

int api_dose_for_date(struct api_call *call, struct mt_err *err)
{
    const struct api_in_dose_for_date *in = call->in;
    if (api_who_med(call, in->medication_id.value, err) < 0 ||
        store_med_exists(call->db, in->medication_id.value, err) < 0)
        return -1;
    struct mt_tz tz = api_tz(call->r, &in->tz);
    if (mt_date_cmp(in->date.value, mt_tz_local_date(tz, mt_now_us())) > 0)
        return mt_fail(err, MT_EINVAL, "Cannot record doses for future dates");
    int hour, minute;
    if (api_parse_hhmm(in->time.value, &hour, &minute) < 0)
        return mt_fail(err, MT_EINVAL, "Invalid time format. Use HH:MM");
    int64_t taken = mt_tz_local_to_instant(tz, in->date.value, hour, minute);
    /* 0001-01-01 early in the morning east of UTC is still year 0 in UTC,
     * which no database stores. */
    if (!mt_instant_valid(taken))
        return mt_fail(err, MT_EINVAL,
                       "Dose time is before 0001-01-01T00:00:00Z, the earliest that can be stored");
    return record(call, in->medication_id.value, taken, in->date.value, tz, false, err);
}

int api_dose_history(struct api_call *call, struct mt_err *err)
{
    const struct api_in_dose_history *in = call->in;
    struct store_dose *items = NULL;
    size_t n = 0;
    if (api_who_med(call, in->medication_id.value, err) < 0)
        return -1;
    if (store_doses_history(call->db, call->r->arena, in->medication_id.value, in->skip.value,
                            in->limit.value, &items, &n, err) < 0)
        return -1;
    return api_reply_doses(call->r, items, n);
}

int api_dose_day(struct api_call *call, struct mt_err *err)
{
    const struct api_in_med_day *in = call->in;
    if (api_who_med(call, in->id.value, err) < 0)
        return -1;
    struct mt_tz tz = api_tz(call->r, &in->tz);
    struct store_window w = api_day_window(in->date.value, in->date.value, tz);
    struct store_dose *items = NULL;
    size_t n = 0;
    if (store_doses_in_window(call->db, call->r->arena, in->id.value, &w, &items, &n, err) < 0)
        return -1;
    return api_reply_doses(call->r, items, n);
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

int api_summary(struct api_call *call, struct mt_err *err)
{
    const struct api_in_summary *in = call->in;
    struct mt_tz tz = api_tz(call->r, &in->tz);
    struct mt_date day = api_day_or_today(&in->date, tz);
    struct store_window w = api_day_window(day, day, tz);
    struct store_summary_entry *items = NULL;
    size_t n = 0;
    if (store_daily_summary(call->db, call->r->arena, api_who_sees(call->who), in->person_id.set,
                            in->person_id.value, &w, &items, &n, err) < 0)
        return -1;
    char date[MT_TIME_BUF];
    struct api_jw out;
    api_jw_init(&out, call->r->arena, 64 + n * 160);
    api_jw_obj(&out);
    api_jw_str_at(&out, "date", mt_format_date(day, date, sizeof(date)));
    api_jw_key(&out, "medications");
    api_jw_arr(&out);
    for (size_t i = 0; i < n; i++)
        summary_entry(call->r, &out, &items[i]);
    api_jw_arr_end(&out);
    api_jw_obj_end(&out);
    return api_reply_jw(call->r, call->op->status, &out);
}

int api_doses_deleted(struct api_call *call, struct mt_err *err)
{
    const struct api_in_deleted_history *in = call->in;
    struct store_dose *items = NULL;
    size_t n = 0;
    int rc = store_doses_deleted(call->db, call->r->arena, api_who_sees(call->who), in->name.value,
                                 in->skip.value, in->limit.value, &items, &n, err);
    /* Unlike a medication's history, an empty one is a 404, as in the
     * reference (the name may never have existed). */
    if (rc == 0 && n == 0)
        rc = mt_fail(err, MT_ENOTFOUND, "No doses found for deleted medication");
    return rc < 0 ? -1 : api_reply_doses(call->r, items, n);
}

int api_dose_delete(struct api_call *call, struct mt_err *err)
{
    const struct api_in_id *in = call->in;
    if (api_who_dose(call, in->id.value, err) < 0)
        return -1;
    return api_reply_done(call, store_dose_delete(call->db, in->id.value, err));
}
