/* /api/v1/medications: list (optionally for one person and one local day),
 * create for an existing person, get, partial update and delete (the dose
 * history stays, api.md decision 1), with the dosing rules of issue 15
 * (docs/dosing.md): limit_window, min_interval_minutes, dose_amount,
 * dose_unit and ingredients are read from the bodies, and shown with
 * next_allowed_at and blocked_by to clients that ask for them
 * (X-MediTrack-Fields: extended). Days follow the one rule of api/days.h.
 * Each handler gets its validated input (handlers.h) from the operation
 * runner, calls store/medications.c and shapes the answer. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api/actor.h"
#include "api/auth.h"
#include "api/coerce.h"
#include "api/days.h"
#include "api/handlers.h"
#include "api/row_json.h"
#include "api/validate.h"

/* Most ingredients one medication may list. */
#define MAX_INGREDIENTS 20

/* The UTC window of the local day `date` (or today) in zone z. */
static struct store_window day_window(const struct api_date *date, struct mt_tz z)
{
    struct mt_date d = api_day_or_today(date, z);
    return api_day_window(d, d, z);
}

/* Amounts are kept to three decimals (a tenth of a milligram of a
 * milligram-dosed drug is already beyond any scale in a household). */
static double three_decimals(double v)
{
    return round(v * 1000.0) / 1000.0;
}

/* ---- the ingredients list ---------------------------------------------------------------------
 */

/* Moves the errors a coercion added to scratch into v, at
 * ["body", "ingredients", index, field]. */
static void move_errors(struct api_vctx *scratch, struct api_vctx *v, size_t index,
                        const char *field)
{
    size_t i;
    json_t *e;
    json_array_foreach(scratch->errors, i, e)
    {
        json_t *loc = field
                          ? json_pack("[s,s,I,s]", "body", "ingredients", (json_int_t)index, field)
                          : json_pack("[s,s,I]", "body", "ingredients", (json_int_t)index);
        json_t *input = json_object_get(e, "input");
        json_t *ctx = json_object_get(e, "ctx");
        api_vctx_add(v, json_string_value(json_object_get(e, "type")), loc,
                     json_string_value(json_object_get(e, "msg")), json_incref(input),
                     ctx ? json_incref(ctx) : NULL);
    }
}

/* A text field of an ingredient: a string of 1 to max characters that is
 * not blank. */
static const char *ingredient_text(const struct api_json *obj, size_t index, const char *field,
                                   size_t max, struct api_vctx *v)
{
    const struct api_json *val = api_json_get(obj, field);
    struct api_vctx scratch;
    api_vctx_init(&scratch);
    const char *s = NULL;
    enum api_field f = api_coerce_body_str(&scratch, field, val, max, &s);
    if (f == API_FIELD_ERR) {
        if (v)
            move_errors(&scratch, v, index, field);
        s = NULL;
    } else if (f != API_FIELD_OK) {
        if (v)
            api_vctx_add(v, "missing",
                         json_pack("[s,s,I,s]", "body", "ingredients", (json_int_t)index, field),
                         "Field required", api_json_to_jansson(obj), NULL);
        s = NULL;
    } else if (strspn(s, " \t\r\n") == strlen(s)) {
        if (v)
            api_vctx_add(v, "string_too_short",
                         json_pack("[s,s,I,s]", "body", "ingredients", (json_int_t)index, field),
                         "String should have at least 1 character", json_string(s),
                         json_pack("{s:i}", "min_length", 1));
        s = NULL;
    }
    api_vctx_release(&scratch);
    return s;
}

/* Reads the ingredients list into *out (n items, in a); with v, adds an
 * error for each problem. Returns 0, or -1 when the list is not valid. */
static int read_ingredients(const struct api_json *list, struct mt_arena *a,
                            struct store_ingredient **out, size_t *n, struct api_vctx *v)
{
    *out = NULL;
    *n = 0;
    if (!list)
        return 0;
    if (list->type != API_J_ARRAY) {
        if (v)
            api_vctx_add(v, "list_type", json_pack("[s,s]", "body", "ingredients"),
                         "Input should be a valid list", api_json_to_jansson(list), NULL);
        return -1;
    }
    size_t count = list->v.list.n;
    if (count > MAX_INGREDIENTS) {
        if (v)
            api_vctx_add(v, "too_long", json_pack("[s,s]", "body", "ingredients"),
                         "List should have at most 20 items after validation, not more", NULL,
                         json_pack("{s:s, s:i, s:I}", "field_type", "List", "max_length",
                                   MAX_INGREDIENTS, "actual_length", (json_int_t)count));
        return -1;
    }
    struct store_ingredient *items = count ? mt_arena_calloc(a, count, sizeof(*items)) : NULL;
    if (count && !items)
        return -1;
    bool ok = true;
    for (size_t i = 0; i < count; i++) {
        const struct api_json *obj = list->v.list.items[i];
        if (obj->type != API_J_OBJECT) {
            if (v)
                api_vctx_add(v, "model_type",
                             json_pack("[s,s,I]", "body", "ingredients", (json_int_t)i),
                             "Input should be a valid dictionary or instance of Ingredient",
                             api_json_to_jansson(obj), NULL);
            ok = false;
            continue;
        }
        const char *name = ingredient_text(obj, i, "name", 255, v);
        struct api_vctx scratch;
        api_vctx_init(&scratch);
        const struct api_bounds b = {"gt", 0, "le", 1000000};
        double amount = 0;
        const struct api_json *av = api_json_get(obj, "amount");
        enum api_field f = api_coerce_body_number(&scratch, "amount", av, &b, &amount);
        if (f == API_FIELD_ERR && v)
            move_errors(&scratch, v, i, "amount");
        else if (f != API_FIELD_OK && v)
            api_vctx_add(v, f == API_FIELD_NULL ? "float_type" : "missing",
                         json_pack("[s,s,I,s]", "body", "ingredients", (json_int_t)i, "amount"),
                         f == API_FIELD_NULL ? "Input should be a valid number" : "Field required",
                         f == API_FIELD_NULL ? NULL : api_json_to_jansson(obj), NULL);
        api_vctx_release(&scratch);
        const char *unit = ingredient_text(obj, i, "unit", 32, v);
        if (!name || !unit || f != API_FIELD_OK) {
            ok = false;
            continue;
        }
        items[i] = (struct store_ingredient){name, three_decimals(amount), unit};
        char *key = store_name_key(a, name);
        for (size_t k = 0; key && k < i; k++) {
            const char *other = items[k].name ? store_name_key(a, items[k].name) : NULL;
            if (other && strcmp(other, key) == 0) {
                if (v)
                    api_vctx_add(
                        v, "value_error",
                        json_pack("[s,s,I,s]", "body", "ingredients", (json_int_t)i, "name"),
                        "Value error, the ingredient is listed twice", json_string(name),
                        json_pack("{s:{}}", "error"));
                ok = false;
            }
        }
    }
    if (!ok)
        return -1;
    *out = items;
    *n = count;
    return 0;
}

/* ---- the schedule (issue 16, docs/schedules.md) --------------------------------------- */

/* Reads the body's schedule: *has false for null; with v, a refusal is
 * added as an error at ["body", "schedule"]. Returns 0, or -1 when the
 * schedule is not valid. */
static int read_schedule(const struct api_json *value, bool *has, struct mt_schedule *out,
                         struct api_vctx *v)
{
    *has = false;
    if (!value || value->type == API_J_NULL)
        return 0;
    json_t *j = api_json_to_jansson(value);
    struct mt_err err = {0};
    int rc = j ? mt_schedule_from_json(j, out, &err) : mt_fail(&err, MT_EINVAL, "no value");
    if (rc < 0) {
        if (v) {
            char msg[300];
            snprintf(msg, sizeof(msg), "Value error, %s", err.msg);
            api_vctx_add(v, "value_error", json_pack("[s,s]", "body", "schedule"), msg,
                         j ? json_incref(j) : json_null(), json_pack("{s:{}}", "error"));
        }
        json_decref(j);
        return -1;
    }
    json_decref(j);
    *has = true;
    return 0;
}

void api_med_rules(const struct api_request *q, void *in, struct api_vctx *v)
{
    const struct api_in_med *m = in;
    if (m->ingredients.set && m->ingredients.value) {
        struct store_ingredient *items;
        size_t n;
        read_ingredients(m->ingredients.value, q->arena, &items, &n, v);
    }
    if (m->schedule.set) {
        bool has;
        struct mt_schedule s;
        read_schedule(m->schedule.value, &has, &s, v);
    }
}

/* ---- handlers ---------------------------------------------------------------------------- */

/* The verdicts and ingredients of the medications, for a client that asked
 * for the dosing fields; NULL (the reference's shape) otherwise. */
static int verdicts_of(struct api_call *call, struct store_medication *items, size_t n,
                       struct mt_tz tz,
                       struct store_verdict **out, struct mt_err *err)
{
    *out = NULL;
    if (!api_extended(call->r) || n == 0)
        return 0;
    struct store_verdict *v = mt_arena_calloc(call->r->arena, n, sizeof(*v));
    if (!v)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    int64_t now = mt_now_us();
    /* One query for the schedules of the whole list, not one per item. */
    if (store_meds_schedules(call->db, call->r->arena, items, n, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if ((!items[i].ingredients &&
             store_med_ingredients(call->db, call->r->arena, &items[i], err) < 0) ||
            store_med_verdict(call->db, call->r->arena, &items[i], now, tz, &v[i], err) < 0)
            return -1;
    }
    *out = v;
    return 0;
}

int api_meds_list(struct api_call *call, struct mt_err *err)
{
    const struct api_in_med_list *in = call->in;
    /* One person's list follows that person's zone (issue 16). */
    struct mt_tz z = api_tz(call->r, &in->tz);
    if (in->person_id.set && api_person_tz(call, in->person_id.value, &in->tz, &z, err) < 0)
        return -1;
    struct store_window w = day_window(&in->date, z);
    struct store_medication *items = NULL;
    size_t n = 0;
    struct store_verdict *v;
    if (store_meds_list(call->db, call->r->arena, api_who_sees(call->who), in->person_id.set,
                        in->person_id.value, &w, in->skip.value, in->limit.value, &items, &n,
                        err) < 0 ||
        verdicts_of(call, items, n, z, &v, err) < 0)
        return -1;
    return api_reply_meds(call->r, items, v, n);
}

/* POST and PUT: the columns the client sent, stored as a new medication of
 * person_id (which has every column: instructions not sent are empty) or
 * over medication id. */
static int save_med(struct api_call *call, bool create, struct mt_err *err)
{
    const struct api_in_med *in = call->in;
    struct store_ingredient *ings = NULL;
    size_t n_ings = 0;
    if (in->ingredients.set && in->ingredients.value &&
        read_ingredients(in->ingredients.value, call->r->arena, &ings, &n_ings, NULL) < 0)
        return mt_fail(err, MT_ELIMIT, "Request exceeds the server's memory limit");
    bool has_sched = false;
    struct mt_schedule sched;
    if (in->schedule.set && read_schedule(in->schedule.value, &has_sched, &sched, NULL) < 0)
        return mt_fail(err, MT_EINVAL, "invalid \"schedule\"");
    struct store_medication_fields f = {
        .set_name = in->name.set,
        .set_dosage = in->dosage.set,
        .set_frequency = in->frequency.set,
        .set_max = in->max_doses_per_day.set,
        .set_instructions = create || in->instructions.set,
        .name = in->name.value,
        .dosage = in->dosage.value,
        .frequency = in->frequency.value,
        .max_doses_per_day = in->max_doses_per_day.value,
        .instructions = in->instructions.value,
        .set_window = in->limit_window.set,
        .rolling_24h = in->limit_window.value == 1,
        .set_interval = in->min_interval_minutes.set,
        .min_interval_minutes = in->min_interval_minutes.value,
        .set_dose_amount = in->dose_amount.set,
        .has_dose_amount = in->dose_amount.set && !in->dose_amount.null,
        .dose_amount = three_decimals(in->dose_amount.value),
        .set_dose_unit = in->dose_unit.set,
        .dose_unit = in->dose_unit.value,
        .set_ingredients = in->ingredients.set,
        .ingredients = ings,
        .n_ingredients = n_ings,
        .set_schedule = in->schedule.set,
        .schedule = has_sched ? &sched : NULL,
    };
    struct store_medication m;
    if ((create ? api_who_person(call->who, in->person_id.value, err)
                : api_who_med(call, in->id.value, err)) < 0)
        return -1;
    struct store_actor actor = api_actor(call);
    int rc = create ? store_med_create(call->db, &actor, call->r->arena, in->person_id.value, &f,
                                       &m, err)
                    : store_med_update(call->db, &actor, call->r->arena, in->id.value, &f, &m, err);
    if (rc < 0)
        return -1;
    struct store_verdict *v;
    struct mt_tz z;
    if (api_person_tz(call, m.person_id, &(struct api_int){0}, &z, err) < 0 ||
        verdicts_of(call, &m, 1, z, &v, err) < 0)
        return -1;
    return api_reply_med(call->r, call->op->status, &m, v, false);
}

int api_med_create(struct api_call *call, struct mt_err *err)
{
    return save_med(call, true, err);
}

int api_med_update(struct api_call *call, struct mt_err *err)
{
    return save_med(call, false, err);
}

int api_med_get(struct api_call *call, struct mt_err *err)
{
    const struct api_in_med_day *in = call->in;
    struct mt_tz z;
    if (api_who_med(call, in->id.value, err) < 0 ||
        api_med_tz(call, in->id.value, &in->tz, &z, err) < 0)
        return -1;
    struct store_window w = day_window(&in->date, z);
    struct store_medication m;
    struct store_verdict *v;
    if (store_med_get(call->db, call->r->arena, in->id.value, &w, &m, err) < 0 ||
        verdicts_of(call, &m, 1, z, &v, err) < 0)
        return -1;
    return api_reply_med(call->r, call->op->status, &m, v, true);
}

int api_med_delete(struct api_call *call, struct mt_err *err)
{
    const struct api_in_id *in = call->in;
    if (api_who_med(call, in->id.value, err) < 0)
        return -1;
    struct store_actor actor = api_actor(call);
    return api_reply_done(call,
                          store_med_delete(call->db, &actor, call->r->arena, in->id.value, err));
}
