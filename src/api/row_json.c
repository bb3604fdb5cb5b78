/* Store rows as the reference's JSON: the field order of its pydantic
 * schemas, nulls always present, timestamps in UTC with an explicit `Z`
 * (api.md, decision 3). Persons, medications and doses are written by the
 * streaming writer straight into the arena (api/jsonw.h): the lists of them
 * are the API's hot paths. */
#include "api/row_json.h"

#include "api/actor.h"
#include "core/mtime.h"

void api_jw_time(struct api_jw *w, const struct store_time *t)
{
    if (!t->present) {
        api_jw_null(w);
        return;
    }
    if (!t->parsed) {
        api_jw_str(w, t->raw);
        return;
    }
    char buf[MT_TIME_BUF];
    api_jw_str(w, mt_format_iso(t->us, buf, sizeof(buf)));
}

void api_jw_time_at(struct api_jw *w, const char *key, const struct store_time *t)
{
    api_jw_key(w, key);
    api_jw_time(w, t);
}

/* PersonInDB, or PersonWithStats when with_count (medication_count before
 * the computed name). */
static void jw_person(struct api_jw *w, struct mt_arena *a, const struct store_person *p,
                      bool with_count, bool full)
{
    api_jw_obj(w);
    api_jw_str_at(w, "first_name", p->first_name);
    api_jw_str_at(w, "last_name", p->last_name);
    api_jw_str_at(w, "date_of_birth", p->date_of_birth);
    api_jw_str_at(w, "notes", p->notes);
    api_jw_int_at(w, "id", p->id);
    api_jw_bool_at(w, "is_default", p->is_default);
    api_jw_time_at(w, "created_at", &p->created_at);
    api_jw_time_at(w, "updated_at", &p->updated_at);
    if (with_count)
        api_jw_int_at(w, "medication_count", p->medication_count < 0 ? 0 : p->medication_count);
    const char *name = store_person_name(a, p);
    api_jw_str_at(w, "name", name ? name : p->first_name);
    if (full)
        api_jw_str_at(w, "timezone", p->timezone);
    api_jw_obj_end(w);
}

void api_jw_verdict(struct api_jw *w, const struct store_verdict *v)
{
    api_jw_key(w, "next_allowed_at");
    if (v->rule == STORE_RULE_NONE || !v->has_next) {
        api_jw_null(w);
    } else {
        char buf[MT_TIME_BUF];
        api_jw_str(w, mt_format_iso(v->next_us, buf, sizeof(buf)));
    }
    api_jw_str_at(w, "blocked_by", store_rule_word(v->rule));
}

/* The dosing rules of a medication (docs/dosing.md). */
static void jw_rules(struct api_jw *w, const struct store_medication *m)
{
    api_jw_str_at(w, "limit_window", m->rolling_24h ? "rolling_24h" : "calendar_day");
    api_jw_key(w, "min_interval_minutes");
    if (m->min_interval_minutes > 0)
        api_jw_int(w, m->min_interval_minutes);
    else
        api_jw_null(w);
    api_jw_key(w, "dose_amount");
    if (m->has_dose_amount)
        api_jw_amount(w, m->dose_amount);
    else
        api_jw_null(w);
    api_jw_str_at(w, "dose_unit", m->dose_unit);
    api_jw_key(w, "ingredients");
    api_jw_arr(w);
    for (size_t i = 0; i < m->n_ingredients; i++) {
        api_jw_obj(w);
        api_jw_str_at(w, "name", m->ingredients[i].name);
        api_jw_key(w, "amount");
        api_jw_amount(w, m->ingredients[i].amount);
        api_jw_str_at(w, "unit", m->ingredients[i].unit);
        api_jw_obj_end(w);
    }
    api_jw_arr_end(w);
}

/* A schedule in its canonical JSON form (core/schedule.h), or null. */
static void jw_schedule(struct api_jw *w, const struct store_medication *m)
{
    api_jw_key(w, "schedule");
    if (!m->has_schedule) {
        api_jw_null(w);
        return;
    }
    const struct mt_schedule *s = &m->schedule;
    char buf[16];
    api_jw_obj(w);
    api_jw_key(w, "times");
    api_jw_arr(w);
    for (int i = 0; i < s->ntimes; i++)
        api_jw_str(w, mt_schedule_hhmm(s->minutes[i], buf, sizeof(buf)));
    api_jw_arr_end(w);
    api_jw_key(w, "days");
    if (s->days == MT_SCHED_DAILY) {
        api_jw_str(w, "daily");
    } else if (s->days == MT_SCHED_EVERY_N) {
        api_jw_obj(w);
        api_jw_int_at(w, "every_n_days", s->every_n);
        api_jw_obj_end(w);
    } else {
        static const char *const names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
        api_jw_arr(w);
        for (int k = 0; k < 7; k++)
            if (s->weekdays & (1u << k))
                api_jw_str(w, names[k]);
        api_jw_arr_end(w);
    }
    api_jw_str_at(w, "start_date",
                  s->has_start ? mt_format_date(s->start, buf, sizeof(buf)) : NULL);
    api_jw_str_at(w, "end_date", s->has_end ? mt_format_date(s->end, buf, sizeof(buf)) : NULL);
    api_jw_obj_end(w);
}

/* MedicationInDB, or MedicationWithDoses when with_day; with a verdict,
 * the dosing fields after the reference's, then the schedule. */
static void jw_med(struct api_jw *w, const struct store_medication *m, bool with_day,
                   const struct store_verdict *v)
{
    api_jw_obj(w);
    api_jw_str_at(w, "name", m->name);
    api_jw_str_at(w, "dosage", m->dosage);
    api_jw_str_at(w, "frequency", m->frequency);
    api_jw_int_at(w, "max_doses_per_day", m->max_doses_per_day);
    api_jw_str_at(w, "instructions", m->instructions);
    api_jw_int_at(w, "id", m->id);
    api_jw_int_at(w, "person_id", m->person_id);
    api_jw_time_at(w, "created_at", &m->created_at);
    api_jw_time_at(w, "updated_at", &m->updated_at);
    if (with_day) {
        api_jw_int_at(w, "doses_taken_today", m->doses_in_day < 0 ? 0 : m->doses_in_day);
        api_jw_time_at(w, "last_taken_at", &m->last_taken_at);
    }
    if (v) {
        jw_rules(w, m);
        api_jw_verdict(w, v);
        jw_schedule(w, m);
    }
    api_jw_obj_end(w);
}

/* DoseInDB; full adds the fields of issue 15 after the reference's. */
static void jw_dose(struct api_jw *w, const struct store_dose *d, bool full)
{
    api_jw_obj(w);
    api_jw_key(w, "medication_id");
    if (d->has_medication)
        api_jw_int(w, d->medication_id);
    else
        api_jw_null(w);
    api_jw_str_at(w, "medication_name", d->medication_name);
    api_jw_int_at(w, "id", d->id);
    api_jw_time_at(w, "taken_at", &d->taken_at);
    if (full) {
        api_jw_str_at(w, "status", store_status_name(d->status));
        api_jw_str_at(w, "status_reason", d->status_reason);
        api_jw_str_at(w, "note", d->note);
        api_jw_str_at(w, "recorded_by", d->recorded_by);
        api_jw_time_at(w, "recorded_at", &d->recorded_at);
        api_jw_str_at(w, "override_rule", d->override_rule);
        api_jw_str_at(w, "override_reason", d->override_reason);
        api_jw_time_at(w, "updated_at", &d->updated_at);
    }
    api_jw_obj_end(w);
}

int api_reply_jw(struct http_req *r, int status, const struct api_jw *w)
{
    if (w->failed) {
        /* The arena's ceiling, as when a jansson reply does not fit: a
         * server condition (503), in the same words. */
        struct mt_err err;
        mt_fail(&err, MT_ELIMIT, "Response exceeds the server's memory limit");
        http_reply_err(r, &err);
        return 0;
    }
    http_reply_raw(r, status, "application/json", w->data, w->len);
    return 0;
}

/* The kinds of rows, with the bytes a row of each takes, about: enough
 * that a list grows its buffer once or twice at most. */
enum row_kind { ROW_DOSE, ROW_MED, ROW_PERSON };
static const size_t row_bytes[] = {[ROW_DOSE] = 112, [ROW_MED] = 320, [ROW_PERSON] = 256};
static const size_t row_size[] = {[ROW_DOSE] = sizeof(struct store_dose),
                                  [ROW_MED] = sizeof(struct store_medication),
                                  [ROW_PERSON] = sizeof(struct store_person)};

/* Answers with n rows of one kind: a list (an array) or one row alone;
 * extra asks for a medication's day or a person's medication count; full
 * for a dose's fields of issue 15; verdicts (medications) for the dosing
 * fields. */
static int reply_rows(struct http_req *r, int status, enum row_kind kind, const void *items,
                      size_t n, bool list, bool extra, bool full,
                      const struct store_verdict *verdicts)
{
    struct api_jw w;
    api_jw_init(&w, r->arena, 2 + n * row_bytes[kind] * (full || verdicts ? 2 : 1));
    if (list)
        api_jw_arr(&w);
    for (size_t i = 0; i < n; i++) {
        const void *row = (const char *)items + i * row_size[kind];
        switch (kind) {
        case ROW_DOSE:
            jw_dose(&w, row, full);
            break;
        case ROW_MED:
            jw_med(&w, row, extra, verdicts ? &verdicts[i] : NULL);
            break;
        case ROW_PERSON:
            jw_person(&w, r->arena, row, extra, full);
            break;
        }
    }
    if (list)
        api_jw_arr_end(&w);
    return api_reply_jw(r, status, &w);
}

int api_reply_doses(struct http_req *r, const struct store_dose *items, size_t n)
{
    return reply_rows(r, 200, ROW_DOSE, items, n, true, false, api_extended(r), NULL);
}

int api_reply_dose(struct http_req *r, int status, const struct store_dose *d)
{
    return reply_rows(r, status, ROW_DOSE, d, 1, false, false, api_extended(r), NULL);
}

int api_reply_dose_full(struct http_req *r, int status, const struct store_dose *d)
{
    return reply_rows(r, status, ROW_DOSE, d, 1, false, false, true, NULL);
}

int api_reply_meds(struct http_req *r, const struct store_medication *items,
                   const struct store_verdict *verdicts, size_t n)
{
    return reply_rows(r, 200, ROW_MED, items, n, true, true, false, verdicts);
}

int api_reply_med(struct http_req *r, int status, const struct store_medication *m,
                  const struct store_verdict *verdict, bool with_day)
{
    return reply_rows(r, status, ROW_MED, m, 1, false, with_day, false, verdict);
}

int api_reply_persons(struct http_req *r, const struct store_person *items, size_t n)
{
    return reply_rows(r, 200, ROW_PERSON, items, n, true, true, api_extended(r), NULL);
}

int api_reply_person(struct http_req *r, int status, const struct store_person *p, bool with_count)
{
    return reply_rows(r, status, ROW_PERSON, p, 1, false, with_count, api_extended(r), NULL);
}
