/* /api/v1/persons: list, create, get, update, delete and set-default, with
 * the reference's status codes and details. Each handler validates through
 * api/validate.c, calls store/persons.c and shapes the answer. */
#include "api/resources.h"

void api_persons_list(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_page in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_persons_list(&q, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct mt_err err;
    struct store_person *items = NULL;
    size_t n = 0;
    if (store_persons_list(c, r->arena, in.skip, in.limit, &items, &n, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    api_reply_persons(r, items, n);
}

void api_person_create(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_person_create in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_person_create(&q, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct store_person_fields f = {
        .set_first = true,
        .set_last = true,
        .set_dob = true,
        .set_notes = true,
        .first_name = in.first_name,
        .last_name = in.last_name,
        .has_dob = in.has_dob,
        .dob = in.dob,
        .notes = in.notes,
    };
    struct store_person p;
    struct mt_err err;
    if (store_person_create(c, r->arena, &f, &p, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    api_reply_person(r, 201, &p, false);
}

void api_person_get(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_id in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_person_id(&q, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct store_person p;
    struct mt_err err;
    if (store_person_get(c, r->arena, in.id, &p, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    api_reply_person(r, 200, &p, true);
}

void api_person_update(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_person_update in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_person_update(&q, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct store_person_fields f = {
        .set_first = in.first_name.set,
        .set_last = in.last_name.set,
        .set_dob = in.dob_set,
        .set_notes = in.notes.set,
        .first_name = in.first_name.value,
        .last_name = in.last_name.value,
        .has_dob = in.has_dob,
        .dob = in.dob,
        .notes = in.notes.value,
    };
    struct store_person p;
    struct mt_err err;
    if (store_person_update(c, r->arena, in.id, &f, &p, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    api_reply_person(r, 200, &p, false);
}

void api_person_delete(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_id in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_person_id(&q, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct mt_err err;
    if (store_person_delete(c, in.id, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    http_reply_empty(r, 204);
}

void api_person_set_default(struct http_req *r)
{
    struct api_request q;
    struct api_vctx v;
    struct api_in_id in;
    api_request_init(&q, r);
    api_vctx_init(&v);
    if (api_invalid(r, api_in_person_id(&q, &in, &v), &v))
        return;
    struct db_conn *c = api_db(r);
    if (!c)
        return;
    struct store_person p;
    struct mt_err err;
    if (store_person_set_default(c, r->arena, in.id, &p, &err) < 0) {
        api_reply_store_err(r, &err);
        return;
    }
    api_reply_person(r, 200, &p, false);
}
