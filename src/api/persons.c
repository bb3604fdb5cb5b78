/* /api/v1/persons: list, create, get, update, delete and set-default, with
 * the reference's status codes and details, and the reference's rule for
 * the legacy single `name` of a person. Each handler gets its validated
 * input (handlers.h) from the operation runner, calls store/persons.c and
 * shapes the answer. */
#include <stdio.h>

#include "api/actor.h"
#include "api/auth.h"
#include "api/handlers.h"
#include "api/row_json.h"
#include "api/validate.h"
#include "core/tz.h"

int api_persons_list(struct api_call *call, struct mt_err *err)
{
    const struct api_in_page *in = call->in;
    struct store_person *items = NULL;
    size_t n = 0;
    if (store_persons_list(call->db, call->r->arena, api_who_sees(call->who), in->skip.value,
                           in->limit.value, &items, &n, err) < 0)
        return -1;
    return api_reply_persons(call->r, items, n);
}

/* POST and PUT: the columns the client sent, stored as a new person (which
 * has every column: those not sent are empty) or over person id. */
static int save_person(struct api_call *call, bool create, struct mt_err *err)
{
    const struct api_in_person *in = call->in;
    struct store_person_fields f = {
        .set_first = create || in->first_name.set,
        .set_last = create || in->last_name.set,
        .set_dob = create || in->date_of_birth.set,
        .set_notes = create || in->notes.set,
        .first_name = in->first_name.value,
        .last_name = in->last_name.value,
        .has_dob = in->date_of_birth.set && !in->date_of_birth.null,
        .dob = in->date_of_birth.value,
        .notes = in->notes.value,
        .set_timezone = create || in->timezone.set,
        .timezone = in->timezone.value && in->timezone.value[0] ? in->timezone.value : NULL,
    };
    struct store_person p;
    if (!create && api_who_person(call->who, in->id.value, err) < 0)
        return -1;
    struct store_actor actor = api_actor(call);
    int rc = create
                 ? store_person_create(call->db, &actor, call->r->arena, &f, &p, err)
                 : store_person_update(call->db, &actor, call->r->arena, in->id.value, &f, &p, err);
    if (rc < 0)
        return -1;
    return api_reply_person(call->r, call->op->status, &p, false);
}

int api_person_create(struct api_call *call, struct mt_err *err)
{
    return save_person(call, true, err);
}

int api_person_update(struct api_call *call, struct mt_err *err)
{
    return save_person(call, false, err);
}

int api_person_get(struct api_call *call, struct mt_err *err)
{
    const struct api_in_id *in = call->in;
    struct store_person p;
    if (api_who_person(call->who, in->id.value, err) < 0 ||
        store_person_get(call->db, call->r->arena, in->id.value, &p, err) < 0)
        return -1;
    return api_reply_person(call->r, call->op->status, &p, true);
}

int api_person_set_default(struct api_call *call, struct mt_err *err)
{
    const struct api_in_id *in = call->in;
    struct store_person p;
    struct store_actor actor = api_actor(call);
    if (store_person_set_default(call->db, &actor, call->r->arena, in->id.value, &p, err) < 0)
        return -1;
    return api_reply_person(call->r, call->op->status, &p, false);
}

int api_person_delete(struct api_call *call, struct mt_err *err)
{
    const struct api_in_id *in = call->in;
    if (api_who_person(call->who, in->id.value, err) < 0)
        return -1;
    struct store_actor actor = api_actor(call);
    return api_reply_done(call,
                          store_person_delete(call->db, &actor, call->r->arena, in->id.value, err));
}

/* ---- the legacy `name` ------------------------------------------------------------------ */

static const char m_name_required[] = "Either first_name or name must be provided";

/* true when a legacy `name` stands in for first_name, which then reads it. */
static bool use_legacy_name(struct api_body *b)
{
    const struct api_json *first = api_body_get(b, "first_name");
    const struct api_json *name = api_body_get(b, "name");
    if (!api_json_truthy(name) || api_json_truthy(first))
        return false;
    api_body_use(b, "first_name", name);
    return true;
}

int api_person_create_model(struct api_body *b, struct api_vctx *v)
{
    if (use_legacy_name(b)) {
        /* The reference's PersonCreate then drops last_name. */
        api_body_use(b, "last_name", NULL);
        return 0;
    }
    if (api_json_truthy(api_body_get(b, "first_name")))
        return 0;
    char msg[96];
    snprintf(msg, sizeof(msg), "Value error, %s", m_name_required);
    api_vctx_add(v, "value_error", json_pack("[s]", "body"), msg, api_body_input(b),
                 json_pack("{s:{}}", "error"));
    return -1;
}

int api_person_update_model(struct api_body *b, struct api_vctx *v)
{
    /* Unlike create, last_name is kept. */
    use_legacy_name(b);
    return 0;
}

/* ---- the person's own time zone (issue 16) ----------------------------------------------- */

void api_person_rule(const struct api_request *q, void *in, struct api_vctx *v)
{
    (void)q;
    const struct api_in_person *p = in;
    const char *name = p->timezone.set ? p->timezone.value : NULL;
    if (!name || !name[0])
        return;
    struct mt_tz z;
    struct mt_err err = {0};
    if (mt_tz_name_ok(name) && mt_tz_load(name, &z, &err) == 0)
        return;
    api_vctx_add(v, "value_error", json_pack("[s,s]", "body", "timezone"),
                 "Value error, not a time zone this server knows (an IANA name such as "
                 "Europe/Berlin)",
                 json_string(name), json_pack("{s:{}}", "error"));
}
