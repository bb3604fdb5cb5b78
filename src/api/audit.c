/* GET /api/v1/audit: the audit trail (docs/audit.md), newest first,
 * filtered by person, entity (and its id) and a range of instants, paged
 * with skip and limit. Each entry carries the snapshots before and after
 * the change as JSON values and the chain's hashes, so that a client can
 * show a dose's or a medication's history. With access control this is an
 * administrator's operation. */
#include <jansson.h>

#include "api/handlers.h"
#include "api/row_json.h"
#include "store/audit.h"

/* A stored snapshot as a JSON value (the text is our own compact JSON; a
 * text that does not parse, e.g. edited by hand, is shown as a string). */
static json_t *snapshot(const char *text)
{
    if (!text)
        return json_null();
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    return j ? j : json_string(text);
}

static json_t *opt_id(int64_t v)
{
    return v ? json_integer((json_int_t)v) : json_null();
}

int api_audit_list(struct api_call *call, struct mt_err *err)
{
    const struct api_in_audit *in = call->in;
    struct store_audit_filter f = {
        .person_id = in->person_id.set ? in->person_id.value : 0,
        .entity = in->entity.set ? api_audit_entities[in->entity.value] : NULL,
        .entity_id = in->entity_id.set ? in->entity_id.value : 0,
        .has_from = in->from.set,
        .from_us = in->from.us,
        .has_to = in->to.set,
        .to_us = in->to.us,
        .skip = in->skip.value,
        .limit = in->limit.value,
    };
    struct store_audit_row *rows = NULL;
    size_t n = 0;
    if (store_audit_list(call->db, call->r->arena, &f, &rows, &n, err) < 0)
        return -1;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct store_audit_row *r = &rows[i];
        char at[MT_TIME_BUF] = "";
        if (r->created_at.parsed)
            mt_format_iso(r->created_at.us, at, sizeof(at));
        json_t *e = json_object();
        json_object_set_new(e, "seq", json_integer((json_int_t)r->seq));
        json_object_set_new(e, "created_at",
                            r->created_at.parsed ? json_string(at)
                            : r->created_at.raw  ? json_string(r->created_at.raw)
                                                 : json_null());
        json_object_set_new(e, "actor", r->actor ? json_string(r->actor) : json_null());
        json_object_set_new(e, "actor_id", opt_id(r->actor_id));
        json_object_set_new(e, "action", r->action ? json_string(r->action) : json_null());
        json_object_set_new(e, "entity", r->entity ? json_string(r->entity) : json_null());
        json_object_set_new(e, "entity_id", opt_id(r->entity_id));
        json_object_set_new(e, "person_id", opt_id(r->person_id));
        json_object_set_new(e, "before", snapshot(r->before_json));
        json_object_set_new(e, "after", snapshot(r->after_json));
        json_object_set_new(e, "prev_hash", r->prev_hash ? json_string(r->prev_hash) : json_null());
        json_object_set_new(e, "hash", r->hash ? json_string(r->hash) : json_null());
        json_array_append_new(list, e);
    }
    http_reply_json(call->r, 200, list);
    return 0;
}
