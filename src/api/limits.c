/* /api/v1/persons/{person_id}/ingredient-limits: a person's maximum per 24
 * hours of an active ingredient (paracetamol 4,000 mg for an adult, less
 * for a child), which recording a dose of any of the person's medications
 * that contain it respects (docs/dosing.md). List, set (create or replace
 * by name) and delete; the store writes each change to the audit trail. */
#include <math.h>
#include <string.h>

#include "api/actor.h"
#include "api/auth.h"
#include "api/handlers.h"
#include "api/jsonw.h"
#include "api/row_json.h"
#include "api/validate.h"
#include "store/dosing.h"

void api_limit_rule(const struct api_request *q, void *in, struct api_vctx *v)
{
    (void)q;
    const struct api_in_limit_set *l = in;
    static const char *const names[] = {"name", "unit"};
    const struct api_text *values[] = {&l->name, &l->unit};
    for (size_t i = 0; i < 2; i++)
        if (values[i]->set && strspn(values[i]->value, " \t\r\n") == strlen(values[i]->value))
            api_vctx_add(v, "string_too_short", json_pack("[s,s]", "body", names[i]),
                         "String should have at least 1 character", json_string(values[i]->value),
                         json_pack("{s:i}", "min_length", 1));
}

static void jw_limit(struct api_jw *w, const struct store_limit *l)
{
    api_jw_obj(w);
    api_jw_int_at(w, "id", l->id);
    api_jw_int_at(w, "person_id", l->person_id);
    api_jw_str_at(w, "name", l->name);
    api_jw_key(w, "max_per_24h");
    api_jw_amount(w, l->max_per_24h);
    api_jw_str_at(w, "unit", l->unit);
    api_jw_time_at(w, "created_at", &l->created_at);
    api_jw_time_at(w, "updated_at", &l->updated_at);
    api_jw_obj_end(w);
}

int api_limits_list(struct api_call *call, struct mt_err *err)
{
    const struct api_in_id *in = call->in;
    struct store_limit *items = NULL;
    size_t n = 0;
    if (api_who_person(call->who, in->id.value, err) < 0)
        return -1;
    if (store_limits_list(call->db, call->r->arena, in->id.value, &items, &n, err) < 0)
        return -1;
    struct api_jw w;
    api_jw_init(&w, call->r->arena, 2 + n * 160);
    api_jw_arr(&w);
    for (size_t i = 0; i < n; i++)
        jw_limit(&w, &items[i]);
    api_jw_arr_end(&w);
    return api_reply_jw(call->r, 200, &w);
}

int api_limit_set(struct api_call *call, struct mt_err *err)
{
    const struct api_in_limit_set *in = call->in;
    if (api_who_person(call->who, in->person_id.value, err) < 0)
        return -1;
    struct store_limit l;
    bool created = false;
    struct store_actor actor = api_actor(call);
    double max = round(in->max_per_24h.value * 1000.0) / 1000.0;
    if (store_limit_set(call->db, &actor, call->r->arena, in->person_id.value, in->name.value, max,
                        in->unit.value, &l, &created, err) < 0)
        return -1;
    struct api_jw w;
    api_jw_init(&w, call->r->arena, 200);
    jw_limit(&w, &l);
    return api_reply_jw(call->r, call->op->status, &w);
}

int api_limit_delete(struct api_call *call, struct mt_err *err)
{
    const struct api_in_limit_id *in = call->in;
    if (api_who_person(call->who, in->person_id.value, err) < 0)
        return -1;
    struct store_actor actor = api_actor(call);
    return api_reply_done(call, store_limit_delete(call->db, &actor, call->r->arena,
                                                   in->person_id.value, in->id.value, err));
}
