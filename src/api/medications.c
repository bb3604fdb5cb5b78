/* /api/v1/medications: list (optionally for one person and one local day),
 * create for an existing person, get, partial update and delete (the dose
 * history stays, api.md decision 1). Days follow the one rule of
 * api/days.h. Each handler gets its validated input (handlers.h) from the
 * operation runner, calls store/medications.c and shapes the answer. */
#include "api/days.h"
#include "api/handlers.h"
#include "api/row_json.h"

/* The UTC window of the local day `date` (or today) at the offset in
 * effect. */
static struct store_window day_window(struct http_req *r, const struct api_date *date,
                                      const struct api_int *tz)
{
    int minutes = api_tz_minutes(r, tz);
    struct mt_date d = api_day_or_today(date, minutes);
    return api_day_window(d, d, minutes);
}

int api_meds_list(struct api_call *call, struct mt_err *err)
{
    const struct api_in_med_list *in = call->in;
    struct store_window w = day_window(call->r, &in->date, &in->tz);
    struct store_medication *items = NULL;
    size_t n = 0;
    if (store_meds_list(call->db, call->r->arena, in->person_id.set, in->person_id.value, &w,
                        in->skip.value, in->limit.value, &items, &n, err) < 0)
        return -1;
    api_reply_meds(call->r, items, n);
    return 0;
}

/* The columns a create or an update sets: those the client sent. */
static struct store_medication_fields med_fields(const struct api_in_med *in)
{
    return (struct store_medication_fields){
        .set_name = in->name.set,
        .set_dosage = in->dosage.set,
        .set_frequency = in->frequency.set,
        .set_max = in->max_doses_per_day.set,
        .set_instructions = in->instructions.set,
        .name = in->name.value,
        .dosage = in->dosage.value,
        .frequency = in->frequency.value,
        .max_doses_per_day = in->max_doses_per_day.value,
        .instructions = in->instructions.value,
    };
}

int api_med_create(struct api_call *call, struct mt_err *err)
{
    const struct api_in_med *in = call->in;
    struct store_medication_fields f = med_fields(in);
    /* A new medication has every column: instructions not sent are empty. */
    f.set_instructions = true;
    struct store_medication m;
    if (store_med_create(call->db, call->r->arena, in->person_id.value, &f, &m, err) < 0)
        return -1;
    api_reply_med(call->r, call->op->status, &m, false);
    return 0;
}

int api_med_get(struct api_call *call, struct mt_err *err)
{
    const struct api_in_med_get *in = call->in;
    struct store_window w = day_window(call->r, &in->date, &in->tz);
    struct store_medication m;
    if (store_med_get(call->db, call->r->arena, in->id.value, &w, &m, err) < 0)
        return -1;
    api_reply_med(call->r, call->op->status, &m, true);
    return 0;
}

int api_med_update(struct api_call *call, struct mt_err *err)
{
    const struct api_in_med *in = call->in;
    struct store_medication_fields f = med_fields(in);
    struct store_medication m;
    if (store_med_update(call->db, call->r->arena, in->id.value, &f, &m, err) < 0)
        return -1;
    api_reply_med(call->r, call->op->status, &m, false);
    return 0;
}

int api_med_delete(struct api_call *call, struct mt_err *err)
{
    const struct api_in_id *in = call->in;
    if (store_med_delete(call->db, in->id.value, err) < 0)
        return -1;
    http_reply_empty(call->r, call->op->status);
    return 0;
}
