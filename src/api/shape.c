/* Store rows as the reference's JSON: field order of its pydantic schemas,
 * nulls always present, timestamps in UTC with an explicit `Z` (api.md,
 * decision 3), and the small helpers every resource handler uses to get its
 * connection and answer a store error. */
#include <string.h>

#include "api/jsonin.h"
#include "api/resources.h"
#include "core/mtime.h"

json_t *api_time_json(const struct store_time *t)
{
    if (!t->present)
        return json_null();
    if (!t->parsed)
        return api_str_json(t->raw);
    char buf[MT_TIME_BUF];
    return json_string(mt_format_iso(t->us, buf, sizeof(buf)));
}

json_t *api_str_json(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = api_json_text(s, strlen(s));
    return j ? j : json_null();
}

json_t *api_person_json(struct mt_arena *a, const struct store_person *p, bool with_count)
{
    json_t *o = json_object();
    json_object_set_new(o, "first_name", api_str_json(p->first_name));
    json_object_set_new(o, "last_name", api_str_json(p->last_name));
    json_object_set_new(o, "date_of_birth", api_str_json(p->date_of_birth));
    json_object_set_new(o, "notes", api_str_json(p->notes));
    json_object_set_new(o, "id", json_integer(p->id));
    json_object_set_new(o, "is_default", json_boolean(p->is_default));
    json_object_set_new(o, "created_at", api_time_json(&p->created_at));
    json_object_set_new(o, "updated_at", api_time_json(&p->updated_at));
    if (with_count)
        json_object_set_new(o, "medication_count",
                            json_integer(p->medication_count < 0 ? 0 : p->medication_count));
    const char *name = store_person_name(a, p);
    json_object_set_new(o, "name", api_str_json(name ? name : p->first_name));
    return o;
}

json_t *api_med_json(const struct store_medication *m, bool with_day)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", api_str_json(m->name));
    json_object_set_new(o, "dosage", api_str_json(m->dosage));
    json_object_set_new(o, "frequency", api_str_json(m->frequency));
    json_object_set_new(o, "max_doses_per_day", json_integer(m->max_doses_per_day));
    json_object_set_new(o, "instructions", api_str_json(m->instructions));
    json_object_set_new(o, "id", json_integer(m->id));
    json_object_set_new(o, "person_id", json_integer(m->person_id));
    json_object_set_new(o, "created_at", api_time_json(&m->created_at));
    json_object_set_new(o, "updated_at", api_time_json(&m->updated_at));
    if (with_day) {
        json_object_set_new(o, "doses_taken_today",
                            json_integer(m->doses_in_day < 0 ? 0 : m->doses_in_day));
        json_object_set_new(o, "last_taken_at", api_time_json(&m->last_taken_at));
    }
    return o;
}

json_t *api_dose_json(const struct store_dose *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "medication_id",
                        d->has_medication ? json_integer(d->medication_id) : json_null());
    json_object_set_new(o, "medication_name", api_str_json(d->medication_name));
    json_object_set_new(o, "id", json_integer(d->id));
    json_object_set_new(o, "taken_at", api_time_json(&d->taken_at));
    return o;
}

/* Serialises into the request arena, growing by doubling (the abandoned
 * smaller buffers stay in the arena, at most the size of the final one). */
struct dump {
    struct mt_arena *a;
    char *buf;
    size_t len, cap;
};

static int dump_cb(const char *p, size_t n, void *vctx)
{
    struct dump *d = vctx;
    if (n > d->cap - d->len) {
        size_t cap = d->cap ? d->cap : 4096;
        while (cap - d->len < n) {
            if (!mt_size_mul(cap, 2, &cap))
                return -1;
        }
        char *grown = mt_arena_alloc(d->a, cap);
        if (!grown)
            return -1;
        if (d->len)
            memcpy(grown, d->buf, d->len);
        d->buf = grown;
        d->cap = cap;
    }
    memcpy(d->buf + d->len, p, n);
    d->len += n;
    return 0;
}

void api_reply_json(struct http_req *r, int status, json_t *j)
{
    struct dump d = {r->arena, NULL, 0, 0};
    if (j && json_dump_callback(j, dump_cb, &d, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0 && d.len) {
        json_decref(j);
        http_reply_raw(r, status, "application/json", d.buf, d.len);
        return;
    }
    /* NULL, an unserialisable value or a full arena: the HTTP core answers
     * with the right error. */
    http_reply_json(r, status, j);
}

bool api_invalid(struct http_req *r, int rc, struct api_vctx *v)
{
    if (rc == 0)
        return false;
    api_vctx_reply(r, v);
    return true;
}

struct db_conn *api_db(struct http_req *r)
{
    struct mt_err err;
    mt_err_clear(&err);
    struct db_conn *c = http_db(r, &err);
    if (!c)
        http_reply_err(r, &err);
    return c;
}

void api_reply_store_err(struct http_req *r, const struct mt_err *err)
{
    if (err->code == MT_ECONFLICT)
        http_reply_detail(r, 400, err->msg);
    else
        http_reply_err(r, err);
}

void api_request_from_http(struct api_request *req, struct http_req *r)
{
    req->arena = r->arena;
    req->params = r->params;
    req->n_params = r->n_params;
    req->query = r->query;
    req->n_query = r->n_query;
    req->content_type = http_header(r, "Content-Type");
    req->body = r->body;
    req->body_len = r->body ? r->body_len : 0;
}

void api_request_init(struct api_request *q, struct http_req *r)
{
    api_request_from_http(q, r);
}

/* validate.c's 413 text, serialised in advance: see api_vctx_reply. */
static const char body_too_large[] = "{\"detail\":\"Request body is too large to process\"}";

void api_vctx_reply(struct http_req *r, struct api_vctx *v)
{
    if (v->status == 422)
        api_reply_json(r, 422, api_vctx_take_body(v));
    else if (v->status == 413)
        /* Only a body whose parsed form filled the request's memory gets a
         * 413 here, so there is no memory left to build the reply in. */
        http_reply_raw(r, 413, "application/json", body_too_large, sizeof(body_too_large) - 1);
    else
        http_reply_detail(r, v->status ? v->status : 400, v->detail ? v->detail : "Bad Request");
    api_vctx_release(v);
}

int api_tz_minutes(struct http_req *r, const struct api_tz *tz)
{
    if (tz->given)
        return tz->minutes;
    return r->app && r->app->cfg ? r->app->cfg->timezone_offset : 0;
}

struct store_window api_day_window(struct mt_date first, struct mt_date last, int tz)
{
    struct mt_window w = mt_day_window(first, last, tz);
    return (struct store_window){.start_us = w.start_us, .end_us = w.end_us};
}
