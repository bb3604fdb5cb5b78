/* /api/v1/medications: list (optionally for one person and one local day),
 * create for an existing person, get, partial update and delete (the dose
 * history stays, api.md decision 1). Days follow the one rule of
 * api/days.h. Each handler gets its validated input (handlers.h) from the
 * operation runner, calls store/medications.c and shapes the answer. */
#include "api/auth.h"
#include "api/days.h"
#include "api/handlers.h"
#include "api/row_json.h"

/* The UTC window of the local day `date` (or today) in the zone in
 * effect. */
static struct store_window day_window(struct http_req *r, const struct api_date *date,
                                      const struct api_int *tz)
{
    struct mt_tz z = api_tz(r, tz);
    struct mt_date d = api_day_or_today(date, z);
    return api_day_window(d, d, z);
}

int api_meds_list(struct api_call *call, struct mt_err *err)
{
    const struct api_in_med_list *in = call->in;
    struct store_window w = day_window(call->r, &in->date, &in->tz);
    struct store_medication *items = NULL;
    size_t n = 0;
    if (store_meds_list(call->db, call->r->arena, api_who_sees(call->who), in->person_id.set,
                        in->person_id.value, &w, in->skip.value, in->limit.value, &items, &n,
                        err) < 0)
        return -1;
    return api_reply_meds(call->r, items, n);
}

/* POST and PUT: the columns the client sent, stored as a new medication of
 * person_id (which has every column: instructions not sent are empty) or
 * over medication id. */
static int save_med(struct api_call *call, bool create, struct mt_err *err)
{
    const struct api_in_med *in = call->in;
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
    };
    struct store_medication m;
    if ((create ? api_who_person(call->who, in->person_id.value, err)
                : api_who_med(call, in->id.value, err)) < 0)
        return -1;
    int rc = create ? store_med_create(call->db, call->r->arena, in->person_id.value, &f, &m, err)
                    : store_med_update(call->db, call->r->arena, in->id.value, &f, &m, err);
    if (rc < 0)
        return -1;
    return api_reply_med(call->r, call->op->status, &m, false);
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
    struct store_window w = day_window(call->r, &in->date, &in->tz);
    struct store_medication m;
    if (api_who_med(call, in->id.value, err) < 0 ||
        store_med_get(call->db, call->r->arena, in->id.value, &w, &m, err) < 0)
        return -1;
    return api_reply_med(call->r, call->op->status, &m, true);
}

int api_med_delete(struct api_call *call, struct mt_err *err)
{
    const struct api_in_id *in = call->in;
    if (api_who_med(call, in->id.value, err) < 0)
        return -1;
    return api_reply_done(call, store_med_delete(call->db, in->id.value, err));
}
