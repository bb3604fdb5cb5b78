/* Store rows as the reference's JSON: field order of its pydantic schemas,
 * nulls always present, timestamps in UTC with an explicit `Z` (api.md,
 * decision 3), and the small helpers every resource handler uses to get its
 * connection and answer a store error. Persons, medications and doses are
 * written as JSON text straight into the arena (api/jsonw.h): the lists of
 * them are the API's hot paths. */
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

/* ---- the rows, written straight as JSON text (api/jsonw.h) ---- */

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
                      bool with_count)
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
    api_jw_obj_end(w);
}

/* MedicationInDB, or MedicationWithDoses when with_day. */
static void jw_med(struct api_jw *w, const struct store_medication *m, bool with_day)
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
    api_jw_obj_end(w);
}

/* DoseInDB. */
static void jw_dose(struct api_jw *w, const struct store_dose *d)
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
    api_jw_obj_end(w);
}

void api_reply_jw(struct http_req *r, int status, const struct api_jw *w)
{
    if (w->failed) {
        /* The arena's ceiling, as when a jansson reply does not fit: a
         * server condition (503), in the same words. */
        struct mt_err err;
        mt_fail(&err, MT_ELIMIT, "Response exceeds the server's memory limit");
        http_reply_err(r, &err);
        return;
    }
    http_reply_raw(r, status, "application/json", w->data, w->len);
}

/* The bytes a row of each kind takes, about: enough that a list grows its
 * buffer once or twice at most. */
enum { DOSE_BYTES = 112, MED_BYTES = 320, PERSON_BYTES = 256 };

void api_reply_doses(struct http_req *r, const struct store_dose *items, size_t n)
{
    struct api_jw w;
    api_jw_init(&w, r->arena, 2 + n * DOSE_BYTES);
    api_jw_arr(&w);
    for (size_t i = 0; i < n; i++)
        jw_dose(&w, &items[i]);
    api_jw_arr_end(&w);
    api_reply_jw(r, 200, &w);
}

void api_reply_dose(struct http_req *r, int status, const struct store_dose *d)
{
    struct api_jw w;
    api_jw_init(&w, r->arena, DOSE_BYTES);
    jw_dose(&w, d);
    api_reply_jw(r, status, &w);
}

void api_reply_meds(struct http_req *r, const struct store_medication *items, size_t n)
{
    struct api_jw w;
    api_jw_init(&w, r->arena, 2 + n * MED_BYTES);
    api_jw_arr(&w);
    for (size_t i = 0; i < n; i++)
        jw_med(&w, &items[i], true);
    api_jw_arr_end(&w);
    api_reply_jw(r, 200, &w);
}

void api_reply_med(struct http_req *r, int status, const struct store_medication *m, bool with_day)
{
    struct api_jw w;
    api_jw_init(&w, r->arena, MED_BYTES);
    jw_med(&w, m, with_day);
    api_reply_jw(r, status, &w);
}

void api_reply_persons(struct http_req *r, const struct store_person *items, size_t n)
{
    struct api_jw w;
    api_jw_init(&w, r->arena, 2 + n * PERSON_BYTES);
    api_jw_arr(&w);
    for (size_t i = 0; i < n; i++)
        jw_person(&w, r->arena, &items[i], true);
    api_jw_arr_end(&w);
    api_reply_jw(r, 200, &w);
}

void api_reply_person(struct http_req *r, int status, const struct store_person *p, bool with_count)
{
    struct api_jw w;
    api_jw_init(&w, r->arena, PERSON_BYTES);
    jw_person(&w, r->arena, p, with_count);
    api_reply_jw(r, status, &w);
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
