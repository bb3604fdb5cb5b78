/* /api/v1/doses: record a dose now or at a local date and time under the
 * dosing rules (checked atomically in the store; docs/dosing.md), with an
 * optional override and note; skip a dose; correct a dose's time or note;
 * mark one entered in error (the reference's DELETE does that with the
 * reason "deleted"); the histories; the daily summary (optionally for one
 * person, api.md decision 2). The check order of recording for a date is
 * the reference's: validation, 404, future date, time format, maximum.
 * Each handler gets its validated input (handlers.h) from the operation
 * runner. Without X-MediTrack-Fields: extended every reply keeps the
 * reference's shape. */
#include <string.h>

#include "api/actor.h"
#include "api/auth.h"
#include "api/coerce.h"
#include "api/days.h"
#include "api/handlers.h"
#include "api/row_json.h"
#include "api/validate.h"
#include "store/dosing.h"

static const char m_future[] = "A dose cannot be in the future";

/* ---- validation ------------------------------------------------------------------------------ */

int api_dose_body_model(struct api_body *b, struct api_vctx *v)
{
    (void)v;
    /* The reference required timezone_offset in any body; a body of the
     * new fields stands on its own (the offset then comes from
     * TIMEZONE_OFFSET). */
    if (api_body_get(b, "override") || api_body_get(b, "override_reason") ||
        api_body_get(b, "note"))
        api_body_optional(b, "timezone_offset");
    return 0;
}

static bool blank(const char *s)
{
    return !s || strspn(s, " \t\r\n") == strlen(s);
}

static void required_text(struct api_vctx *v, const char *name, const char *why)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "Value error, %s", why);
    api_vctx_add(v, "value_error", json_pack("[s,s]", "body", name), msg, NULL,
                 json_pack("{s:{}}", "error"));
}

static void override_rule(const struct api_int *override, const struct api_text *reason,
                          struct api_vctx *v)
{
    if (override->set && override->value && blank(reason->value))
        required_text(v, "override_reason", "override_reason is required when override is true");
}

void api_dose_now_rule(const struct api_request *q, void *in, struct api_vctx *v)
{
    (void)q;
    const struct api_in_dose_now *d = in;
    override_rule(&d->override, &d->override_reason, v);
}

void api_dose_for_date_rule(const struct api_request *q, void *in, struct api_vctx *v)
{
    (void)q;
    const struct api_in_dose_for_date *d = in;
    override_rule(&d->override, &d->override_reason, v);
}

void api_reason_rule(const struct api_request *q, void *in, struct api_vctx *v)
{
    (void)q;
    const struct api_in_dose_error *d = in;
    if (d->reason.set && blank(d->reason.value))
        required_text(v, "reason", "reason must not be blank");
}

void api_skip_rule(const struct api_request *q, void *in, struct api_vctx *v)
{
    (void)q;
    const struct api_in_dose_skip *d = in;
    if (d->reason.set && blank(d->reason.value))
        required_text(v, "reason", "reason must not be blank");
}

/* ---- recording ------------------------------------------------------------------------------- */

/* The amounts of a refusal for an ingredient limit. */
static void refusal_amounts(struct api_jw *w, const struct store_verdict *v)
{
    api_jw_str_at(w, "ingredient", v->ingredient);
    api_jw_key(w, "taken_amount");
    api_jw_amount(w, v->taken);
    api_jw_key(w, "dose_amount");
    api_jw_amount(w, v->dose);
    api_jw_key(w, "limit_amount");
    api_jw_amount(w, v->limit);
    api_jw_str_at(w, "unit", v->unit);
}

/* " Next dose allowed at <instant>." or that none is. */
static const char *next_words(struct mt_arena *a, const struct store_verdict *v)
{
    if (!v->has_next)
        return " No further dose is allowed by this rule on its own.";
    char buf[MT_TIME_BUF];
    return mt_arena_printf(a, " Next dose allowed at %s.",
                           mt_format_iso(v->next_us, buf, sizeof(buf)));
}

/* A number of an amount as the detail text shows it. */
static const char *amount_words(struct mt_arena *a, double x)
{
    struct api_jw w;
    api_jw_init(&w, a, 24);
    api_jw_amount(&w, x);
    return w.failed ? "?" : mt_arena_strndup(a, w.data, w.len);
}

/* The 400 of a dose a rule refused (docs/dosing.md). The reference's rule
 * keeps the reference's body, {"detail": ...}, unless the client asked for
 * the dosing fields; a new rule always answers with them. */
static int reply_refusal(struct api_call *call, const struct store_verdict *v, struct mt_date day,
                         bool today)
{
    struct mt_arena *a = call->r->arena;
    const char *detail = NULL;
    switch (v->rule) {
    case STORE_RULE_DAY_MAX:
        if (today) {
            detail =
                mt_arena_printf(a, "Maximum doses (%lld) taken today", (long long)v->max_doses);
        } else {
            char date[MT_TIME_BUF];
            detail =
                mt_arena_printf(a, "Maximum doses (%lld) taken for %s", (long long)v->max_doses,
                                mt_format_date(day, date, sizeof(date)));
        }
        if (detail && !api_extended(call->r)) {
            http_reply_detail(call->r, 400, detail);
            return 0;
        }
        break;
    case STORE_RULE_ROLLING_MAX:
        detail = mt_arena_printf(a, "Maximum doses (%lld) in 24 hours reached.%s",
                                 (long long)v->max_doses, next_words(a, v));
        break;
    case STORE_RULE_INTERVAL:
        detail = mt_arena_printf(a, "Minimum interval of %lld minutes between doses not reached.%s",
                                 (long long)v->min_interval_minutes, next_words(a, v));
        break;
    case STORE_RULE_INGREDIENT:
        detail = mt_arena_printf(a,
                                 "Limit of %s reached: %s %s taken in 24 hours, this dose adds %s "
                                 "%s, the limit is %s %s per 24 hours.%s",
                                 v->ingredient, amount_words(a, v->taken), v->unit,
                                 amount_words(a, v->dose), v->unit, amount_words(a, v->limit),
                                 v->unit, next_words(a, v));
        break;
    case STORE_RULE_NONE:
        break;
    }
    struct api_jw w;
    api_jw_init(&w, a, 512);
    api_jw_obj(&w);
    api_jw_str_at(&w, "detail", detail ? detail : "Refused by a dosing rule");
    api_jw_str_at(&w, "rule", store_rule_word(v->rule));
    api_jw_key(&w, "rules");
    api_jw_arr(&w);
    for (enum store_rule r = STORE_RULE_DAY_MAX; r <= STORE_RULE_INGREDIENT; r++)
        if ((v->broken & STORE_RULE_BIT(r)) &&
            !(r == STORE_RULE_ROLLING_MAX && (v->broken & STORE_RULE_BIT(STORE_RULE_DAY_MAX))))
            api_jw_str(&w, store_rule_word(r));
    api_jw_arr_end(&w);
    api_jw_verdict(&w, v);
    if (v->rule == STORE_RULE_DAY_MAX || v->rule == STORE_RULE_ROLLING_MAX) {
        api_jw_int_at(&w, "max_doses", v->max_doses);
        api_jw_str_at(&w, "limit_window",
                      v->rule == STORE_RULE_ROLLING_MAX ? "rolling_24h" : "calendar_day");
    } else if (v->rule == STORE_RULE_INTERVAL) {
        api_jw_int_at(&w, "min_interval_minutes", v->min_interval_minutes);
    } else if (v->rule == STORE_RULE_INGREDIENT) {
        refusal_amounts(&w, v);
    }
    api_jw_obj_end(&w);
    return api_reply_jw(call->r, 400, &w);
}

/* What a record request asked for beyond the time. */
struct record_opts {
    bool override;
    const char *override_reason, *note;
};

/* Records at taken_us in the local day `day` of zone z unless a rule
 * refuses it (the reference's 400 for its rule). The rules' calendar days
 * are z's local days, 23 or 25 hours long across a change of daylight
 * saving time. */
static int record(struct api_call *call, int64_t medication_id, int64_t taken_us,
                  struct mt_date day, struct mt_tz z, bool today, const struct record_opts *o,
                  struct mt_err *err)
{
    if (o->override && !api_may_override(call)) {
        http_reply_detail(call->r, 403, "Not enough permissions");
        return 0;
    }
    struct store_record_req req = {
        .medication_id = medication_id,
        .taken_us = taken_us,
        .tz = z,
        .now_us = mt_now_us(),
        .note = o->note,
        .override = o->override,
        .override_reason = o->override_reason,
        .actor = api_actor(call),
    };
    struct store_record_out out;
    if (store_dose_record(call->db, call->r->arena, &req, &out, err) < 0)
        return -1;
    if (out.refused)
        return reply_refusal(call, &out.verdict, day, today);
    return api_reply_dose(call->r, call->op->status, &out.dose);
}

int api_dose_now(struct api_call *call, struct mt_err *err)
{
    const struct api_in_dose_now *in = call->in;
    struct mt_tz tz;
    if (api_who_med(call, in->medication_id.value, err) < 0 ||
        api_med_tz(call, in->medication_id.value, &in->tz, &tz, err) < 0)
        return -1;
    int64_t now = mt_now_us();
    struct record_opts o = {in->override.set && in->override.value, in->override_reason.value,
                            in->note.value};
    return record(call, in->medication_id.value, now, mt_tz_local_date(tz, now), tz, true, &o, err);
}

int api_dose_for_date(struct api_call *call, struct mt_err *err)
{
    const struct api_in_dose_for_date *in = call->in;
    if (api_who_med(call, in->medication_id.value, err) < 0 ||
        store_med_exists(call->db, in->medication_id.value, err) < 0)
        return -1;
    struct mt_tz tz;
    if (api_med_tz(call, in->medication_id.value, &in->tz, &tz, err) < 0)
        return -1;
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
    struct record_opts o = {in->override.set && in->override.value, in->override_reason.value,
                            in->note.value};
    return record(call, in->medication_id.value, taken, in->date.value, tz, false, &o, err);
}

int api_dose_skip(struct api_call *call, struct mt_err *err)
{
    const struct api_in_dose_skip *in = call->in;
    if (api_who_med(call, in->medication_id.value, err) < 0)
        return -1;
    int64_t now = mt_now_us();
    int64_t at = in->taken_at.set && !in->taken_at.null ? in->taken_at.us : now;
    if (at > now)
        return mt_fail(err, MT_EINVAL, m_future);
    struct store_record_req req = {
        .medication_id = in->medication_id.value,
        .taken_us = at,
        .tz = api_tz(call->r, &(struct api_int){0}),
        .now_us = now,
        .skip = true,
        .reason = in->reason.value,
        .note = in->note.value,
        .actor = api_actor(call),
    };
    struct store_record_out out;
    if (store_dose_record(call->db, call->r->arena, &req, &out, err) < 0)
        return -1;
    return api_reply_dose_full(call->r, call->op->status, &out.dose);
}

int api_dose_patch(struct api_call *call, struct mt_err *err)
{
    const struct api_in_dose_patch *in = call->in;
    if (api_who_dose(call, in->id.value, err) < 0)
        return -1;
    if (!in->taken_at.set && !in->note.set)
        return mt_fail(err, MT_EINVAL, "Nothing to correct: give taken_at or note");
    if (in->taken_at.set && in->taken_at.us > mt_now_us())
        return mt_fail(err, MT_EINVAL, m_future);
    struct store_dose_patch p = {.set_taken = in->taken_at.set,
                                 .taken_us = in->taken_at.us,
                                 .set_note = in->note.set,
                                 .note = in->note.value};
    struct store_dose d;
    struct store_actor actor = api_actor(call);
    if (store_dose_correct(call->db, &actor, call->r->arena, in->id.value, &p, &d, err) < 0)
        return -1;
    return api_reply_dose_full(call->r, call->op->status, &d);
}

int api_dose_entered_in_error(struct api_call *call, struct mt_err *err)
{
    const struct api_in_dose_error *in = call->in;
    if (api_who_dose(call, in->id.value, err) < 0)
        return -1;
    struct store_dose d;
    struct store_actor actor = api_actor(call);
    if (store_dose_mark_error(call->db, &actor, call->r->arena, in->id.value, in->reason.value, &d,
                              err) < 0)
        return -1;
    return api_reply_dose_full(call->r, call->op->status, &d);
}

/* ---- lists ----------------------------------------------------------------------------------- */

/* Skipped doses are shown to clients that can tell them from taken ones. */
static enum store_dose_view view_of(struct http_req *r)
{
    return api_extended(r) ? STORE_VIEW_HISTORY : STORE_VIEW_TAKEN;
}

int api_dose_history(struct api_call *call, struct mt_err *err)
{
    const struct api_in_dose_history *in = call->in;
    struct store_dose *items = NULL;
    size_t n = 0;
    if (api_who_med(call, in->medication_id.value, err) < 0)
        return -1;
    if (store_doses_history(call->db, call->r->arena, in->medication_id.value, view_of(call->r),
                            in->skip.value, in->limit.value, &items, &n, err) < 0)
        return -1;
    return api_reply_doses(call->r, items, n);
}

int api_dose_day(struct api_call *call, struct mt_err *err)
{
    const struct api_in_med_day *in = call->in;
    struct mt_tz tz;
    if (api_who_med(call, in->id.value, err) < 0 ||
        api_med_tz(call, in->id.value, &in->tz, &tz, err) < 0)
        return -1;
    struct store_window w = api_day_window(in->date.value, in->date.value, tz);
    struct store_dose *items = NULL;
    size_t n = 0;
    if (store_doses_in_window(call->db, call->r->arena, in->id.value, view_of(call->r), &w, &items,
                              &n, err) < 0)
        return -1;
    return api_reply_doses(call->r, items, n);
}

/* One medication of the daily summary; a deleted one is named "<name>
 * (deleted)" and flagged is_deleted. */
static void summary_entry(struct http_req *r, struct api_jw *w, const struct store_summary_entry *e,
                          const struct store_verdict *v)
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
    else if (v)
        api_jw_verdict(w, v);
    api_jw_obj_end(w);
}

/* A live medication's next_allowed_at and blocked_by, for a client that
 * asked for the dosing fields. */
static int summary_verdict(struct api_call *call, const struct store_summary_entry *e,
                           struct mt_tz tz,
                           int64_t now, struct store_verdict *out, struct mt_err *err)
{
    struct store_window none = {0, 0};
    struct store_medication m;
    if (store_med_get(call->db, call->r->arena, e->medication_id, &none, &m, err) < 0 ||
        store_med_ingredients(call->db, call->r->arena, &m, err) < 0)
        return -1;
    return store_med_verdict(call->db, call->r->arena, &m, now, tz, out, err);
}

int api_summary(struct api_call *call, struct mt_err *err)
{
    const struct api_in_summary *in = call->in;
    struct mt_tz z = api_tz(call->r, &in->tz);
    if (in->person_id.set && api_person_tz(call, in->person_id.value, &in->tz, &z, err) < 0)
        return -1;
    struct mt_date day = api_day_or_today(&in->date, z);
    struct store_window w = api_day_window(day, day, z);
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
    bool extended = api_extended(call->r);
    int64_t now = mt_now_us();
    for (size_t i = 0; i < n; i++) {
        struct store_verdict v;
        if (extended && !items[i].deleted && summary_verdict(call, &items[i], z, now, &v, err) < 0)
            return -1;
        summary_entry(call->r, &out, &items[i], extended && !items[i].deleted ? &v : NULL);
    }
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
                                 view_of(call->r), in->skip.value, in->limit.value, &items, &n,
                                 err);
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
    struct store_actor actor = api_actor(call);
    return api_reply_done(call,
                          store_dose_delete(call->db, &actor, call->r->arena, in->id.value, err));
}
