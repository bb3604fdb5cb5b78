/* /api/v1/medications: list (optionally for one person and one local day),
 * create for an existing person, get, partial update and delete (the dose
 * history stays, api.md decision 1). Days follow the one rule of
 * core/mtime.h: the client's timezone_offset, else TIMEZONE_OFFSET. */
#include "api/resources.h"

/* The UTC window of the local day `date` (or today) in the zone tz. */
static struct store_window day_window(bool has_date, struct mt_date date, int tz)
{
    struct mt_date d = has_date ? date : mt_local_date(mt_now_us(), tz);
    return api_day_window(d, d, tz);
}

void api_meds_list(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_med_list in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_meds_list(&q, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct store_window w = day_window(in.has_date, in.date, api_tz_minutes(r, &in.tz));
    struct store_medication *items = NULL;
    size_t n = 0;
    struct mt_err err;
    if (store_meds_list(c, r->arena, in.has_person, in.person_id, &w, in.page.skip, in.page.limit,
                        &items, &n, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    api_reply_meds(r, items, n);
}

void api_med_create(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_med_create in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_med_create(&q, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct store_medication_fields f = {
        .set_name = true,
        .set_dosage = true,
        .set_frequency = true,
        .set_max = true,
        .set_instructions = true,
        .name = in.name,
        .dosage = in.dosage,
        .frequency = in.frequency,
        .max_doses_per_day = in.max_doses,
        .instructions = in.instructions,
    };
    struct store_medication m;
    struct mt_err err;
    if (store_med_create(c, r->arena, in.person_id, &f, &m, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    api_reply_med(r, 201, &m, false);
}

void api_med_get(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_med_get in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_med_get(&q, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct store_window w = day_window(in.has_date, in.date, api_tz_minutes(r, &in.tz));
    struct store_medication m;
    struct mt_err err;
    if (store_med_get(c, r->arena, in.id, &w, &m, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    api_reply_med(r, 200, &m, true);
}

void api_med_update(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_med_update in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_med_update(&q, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct store_medication_fields f = {
        .set_name = in.name.set,
        .set_dosage = in.dosage.set,
        .set_frequency = in.frequency.set,
        .set_max = in.max_set,
        .set_instructions = in.instructions.set,
        .name = in.name.value,
        .dosage = in.dosage.value,
        .frequency = in.frequency.value,
        .max_doses_per_day = in.max_doses,
        .instructions = in.instructions.value,
    };
    struct store_medication m;
    struct mt_err err;
    if (store_med_update(c, r->arena, in.id, &f, &m, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    api_reply_med(r, 200, &m, false);
}

void api_med_delete(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_id in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_med_id(&q, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct mt_err err;
    if (store_med_delete(c, in.id, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    http_reply_empty(r, 204);
}
