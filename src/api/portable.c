/* Writing the portable record (api/portable.h, docs/export-format.md): the
 * rows of store_export_walk, in document order, become the nested JSON
 * document through the streaming JSON writer, handed on in chunks so that
 * memory stays flat however long the history. Each kind of row is mapped to
 * the document in one function here (write_person, write_medication,
 * write_dose), which is where new fields of a medication or a dose are
 * added; since issue 15 they carry the dosing rules and ingredients, the
 * persons' ingredient limits, every dose with its status, and a summary of
 * the source's audit trail. */
#include "api/portable.h"

#include <jansson.h>

#include "api/jsonw.h"
#include "api/row_json.h"
#include "core/schedule.h"
#include "db/db.h"
#include "migrate/migrate.h"
#include "store/audit.h"
#include "store/portable.h"

#include <stdlib.h>

/* Chunks are handed on at about this size. */
#define CHUNK ((size_t)32 << 10)

struct writer {
    struct api_jw w;
    const struct api_export_out *out;
    struct api_export_counts counts;
    bool begun;
    bool in_person, in_med, in_deleted;
    bool in_dose; /* a dose's "ingredients" is open: further rows may add to it */
};

/* A timestamp member: the instant, or null when absent, or when the
 * database holds text that is no timestamp (then counted: the document
 * never carries a value an importer could not read). */
static void time_at(struct writer *x, const char *key, const struct store_time *t)
{
    if (t->present && !t->parsed) {
        x->counts.unreadable_times++;
        api_jw_key(&x->w, key);
        api_jw_null(&x->w);
        return;
    }
    api_jw_time_at(&x->w, key, t);
}

static int flush(struct writer *x, struct mt_err *err)
{
    if (x->w.failed)
        return mt_fail(err, MT_ELIMIT, "export: a row is larger than the memory of the request");
    if (!x->begun) {
        if (x->out->begin && x->out->begin(x->out->ctx, err) < 0)
            return -1;
        x->begun = true;
    }
    if (x->w.len == 0)
        return 0;
    if (x->out->write(x->out->ctx, x->w.data, x->w.len, err) < 0)
        return -1;
    api_jw_reset(&x->w);
    return 0;
}

/* ---- one function per kind of row: where new fields go ------------------------------------- */

/* A decimal amount (three decimals at most, as stored). */
static void amount_at(struct api_jw *w, const char *key, bool has, double v)
{
    api_jw_key(w, key);
    if (has)
        api_jw_amount(w, v);
    else
        api_jw_null(w);
}

static void write_ingredient(struct api_jw *w, const struct store_ingredient *g)
{
    api_jw_obj(w);
    api_jw_str_at(w, "name", g->name);
    amount_at(w, "amount", true, g->amount);
    api_jw_str_at(w, "unit", g->unit);
    api_jw_obj_end(w);
}

static void write_person(struct writer *x, const struct store_export_row *row)
{
    const struct store_person *p = &row->person;
    struct api_jw *w = &x->w;
    api_jw_int_at(w, "id", p->id);
    api_jw_str_at(w, "first_name", p->first_name);
    api_jw_str_at(w, "last_name", p->last_name);
    api_jw_str_at(w, "date_of_birth", p->date_of_birth);
    api_jw_str_at(w, "notes", p->notes);
    api_jw_bool_at(w, "is_default", p->is_default);
    time_at(x, "created_at", &p->created_at);
    time_at(x, "updated_at", &p->updated_at);
    /* Issue 16: the person's own zone, null for the server's. */
    api_jw_str_at(w, "timezone", p->timezone);
    api_jw_key(w, "ingredient_limits");
    api_jw_arr(w);
    for (size_t i = 0; i < row->n_limits; i++) {
        const struct store_limit *l = &row->limits[i];
        api_jw_obj(w);
        api_jw_str_at(w, "name", l->name);
        amount_at(w, "max_per_24h", true, l->max_per_24h);
        api_jw_str_at(w, "unit", l->unit);
        time_at(x, "created_at", &l->created_at);
        time_at(x, "updated_at", &l->updated_at);
        api_jw_obj_end(w);
        x->counts.limits++;
    }
    api_jw_arr_end(w);
}

/* A small jansson value (a schedule's canonical form: objects, arrays,
 * strings, integers, null) through the streaming writer. */
static void write_tree(struct api_jw *w, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *item;
        api_jw_obj(w);
        json_object_foreach((json_t *)v, key, item)
        {
            api_jw_key(w, key);
            write_tree(w, item);
        }
        api_jw_obj_end(w);
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *item;
        api_jw_arr(w);
        json_array_foreach(v, i, item) write_tree(w, item);
        api_jw_arr_end(w);
        break;
    }
    case JSON_STRING:
        api_jw_str(w, json_string_value(v));
        break;
    case JSON_INTEGER:
        api_jw_int(w, (int64_t)json_integer_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        api_jw_bool(w, json_is_true(v));
        break;
    case JSON_REAL:
    case JSON_NULL:
        api_jw_null(w);
        break;
    }
}

/* The schedule exactly as the API shows it (mt_schedule_to_json), null for
 * a medication taken as needed, and null, counted, for one whose stored
 * columns do not read back (edited by hand), as an unreadable time is. */
static void write_schedule(struct writer *x, const struct store_export_row *row)
{
    struct api_jw *w = &x->w;
    api_jw_key(w, "schedule");
    if (row->schedule_unreadable)
        x->counts.unreadable_schedules++;
    json_t *j = row->med.has_schedule ? mt_schedule_to_json(&row->med.schedule) : NULL;
    if (j)
        write_tree(w, j);
    else if (row->med.has_schedule)
        w->failed = true; /* jansson could not allocate: the export fails */
    else
        api_jw_null(w);
    json_decref(j);
}

/* The dosing rules and ingredients follow instructions, and the schedule
 * (issue 16) follows them. */
static void write_medication(struct writer *x, const struct store_export_row *row)
{
    const struct store_medication *m = &row->med;
    struct api_jw *w = &x->w;
    api_jw_int_at(w, "id", m->id);
    api_jw_str_at(w, "name", m->name);
    api_jw_str_at(w, "dosage", m->dosage);
    api_jw_str_at(w, "frequency", m->frequency);
    api_jw_int_at(w, "max_doses_per_day", m->max_doses_per_day);
    api_jw_str_at(w, "instructions", m->instructions);
    api_jw_str_at(w, "limit_window", m->rolling_24h ? "rolling_24h" : "calendar_day");
    api_jw_key(w, "min_interval_minutes");
    if (m->min_interval_minutes > 0)
        api_jw_int(w, m->min_interval_minutes);
    else
        api_jw_null(w);
    amount_at(w, "dose_amount", m->has_dose_amount, m->dose_amount);
    api_jw_str_at(w, "dose_unit", m->dose_unit);
    api_jw_key(w, "ingredients");
    api_jw_arr(w);
    for (size_t i = 0; i < m->n_ingredients; i++)
        write_ingredient(w, &m->ingredients[i]);
    api_jw_arr_end(w);
    write_schedule(x, row);
    time_at(x, "created_at", &m->created_at);
    time_at(x, "updated_at", &m->updated_at);
}

static void close_dose(struct writer *x)
{
    if (!x->in_dose)
        return;
    api_jw_arr_end(&x->w); /* ingredients */
    api_jw_obj_end(&x->w);
    x->in_dose = false;
}

/* A dose, every status, with who recorded it and its override; its
 * ingredients' snapshot comes last and stays open, since a dose with
 * several ingredients comes as several rows (more_ingredient). Returns
 * whether this row began a dose. */
static bool write_dose(struct writer *x, const struct store_export_dose *d)
{
    struct api_jw *w = &x->w;
    if (d->more_ingredient && x->in_dose) {
        if (d->has_ingredient)
            write_ingredient(w, &d->ingredient);
        return false;
    }
    close_dose(x);
    api_jw_obj(w);
    api_jw_int_at(w, "id", d->id);
    if (!d->has_medication) {
        api_jw_key(w, "person_id");
        if (d->has_person)
            api_jw_int(w, d->person_id);
        else
            api_jw_null(w);
    }
    api_jw_str_at(w, "medication_name", d->medication_name);
    time_at(x, "taken_at", &d->taken_at);
    api_jw_str_at(w, "status", store_status_name(d->status));
    api_jw_str_at(w, "status_reason", d->status_reason);
    api_jw_str_at(w, "note", d->note);
    api_jw_str_at(w, "recorded_by", d->recorded_by);
    time_at(x, "recorded_at", &d->recorded_at);
    api_jw_str_at(w, "override_rule", d->override_rule);
    api_jw_str_at(w, "override_reason", d->override_reason);
    time_at(x, "updated_at", &d->updated_at);
    api_jw_key(w, "ingredients");
    api_jw_arr(w);
    if (d->has_ingredient)
        write_ingredient(w, &d->ingredient);
    x->in_dose = true;
    return true;
}

/* ---- the document's structure ---------------------------------------------------------------- */

static void close_med(struct writer *x)
{
    close_dose(x);
    if (!x->in_med)
        return;
    api_jw_arr_end(&x->w); /* doses */
    api_jw_obj_end(&x->w);
    x->in_med = false;
}

static void close_person(struct writer *x)
{
    close_med(x);
    if (!x->in_person)
        return;
    api_jw_arr_end(&x->w); /* medications */
    api_jw_obj_end(&x->w);
    x->in_person = false;
}

/* Ends the persons' array and opens the deleted medications' doses. */
static void open_deleted(struct writer *x)
{
    if (x->in_deleted)
        return;
    close_person(x);
    api_jw_arr_end(&x->w);
    api_jw_key(&x->w, "deleted_medication_doses");
    api_jw_arr(&x->w);
    x->in_deleted = true;
}

static int on_row(const struct store_export_row *row, void *ctx, struct mt_err *err)
{
    struct writer *x = ctx;
    struct api_jw *w = &x->w;
    switch (row->kind) {
    case STORE_EXPORT_PERSON:
        close_person(x);
        api_jw_obj(w);
        write_person(x, row);
        api_jw_key(w, "medications");
        api_jw_arr(w);
        x->in_person = true;
        x->counts.persons++;
        break;
    case STORE_EXPORT_MEDICATION:
        close_med(x);
        api_jw_obj(w);
        write_medication(x, row);
        api_jw_key(w, "doses");
        api_jw_arr(w);
        x->in_med = true;
        x->counts.medications++;
        break;
    case STORE_EXPORT_DOSE:
        if (write_dose(x, &row->dose))
            x->counts.doses++;
        break;
    case STORE_EXPORT_DELETED_DOSE:
        if (!x->in_deleted)
            open_deleted(x);
        if (write_dose(x, &row->dose))
            x->counts.deleted_doses++;
        break;
    }
    if (w->failed || w->len >= CHUNK)
        return flush(x, err);
    return 0;
}

static void write_head(struct writer *x, struct db_conn *c, const char *revision, bool has_person,
                       int64_t person_id)
{
    struct api_jw *w = &x->w;
    char now[MT_TIME_BUF];
    api_jw_obj(w);
    api_jw_str_at(w, "format", API_EXPORT_FORMAT);
    api_jw_int_at(w, "version", API_EXPORT_VERSION);
    api_jw_str_at(w, "exported_at", mt_format_iso(mt_now_us(), now, sizeof(now)));
    api_jw_key(w, "source");
    api_jw_obj(w);
    api_jw_str_at(w, "application", "meditrack " MT_VERSION);
    api_jw_str_at(w, "revision", revision);
    api_jw_str_at(w, "engine", db_dialect_name(db_conn_dialect(c)));
    api_jw_obj_end(w);
    api_jw_key(w, "scope");
    api_jw_obj(w);
    api_jw_key(w, "person_id");
    if (has_person)
        api_jw_int(w, person_id);
    else
        api_jw_null(w);
    api_jw_obj_end(w);
    api_jw_key(w, "persons");
    api_jw_arr(w);
}

/* The source's audit trail, informational: an import never reads it back
 * (the target's own trail records the import). */
struct audit_summary {
    int64_t seq, rows;
    char hash[65];
};

static void write_tail(struct writer *x, const struct audit_summary *audit)
{
    struct api_jw *w = &x->w;
    if (!x->in_deleted)
        open_deleted(x);
    close_dose(x);
    api_jw_arr_end(w);
    api_jw_key(w, "audit");
    api_jw_obj(w);
    api_jw_int_at(w, "head_seq", audit->seq);
    api_jw_str_at(w, "head_hash", audit->hash);
    api_jw_int_at(w, "rows", audit->rows);
    api_jw_obj_end(w);
    api_jw_key(w, "counts");
    api_jw_obj(w);
    api_jw_int_at(w, "persons", x->counts.persons);
    api_jw_int_at(w, "medications", x->counts.medications);
    api_jw_int_at(w, "doses", x->counts.doses);
    api_jw_int_at(w, "deleted_medication_doses", x->counts.deleted_doses);
    api_jw_int_at(w, "ingredient_limits", x->counts.limits);
    api_jw_obj_end(w);
    api_jw_obj_end(w);
}

/* The export inside its snapshot. */
static int export_in_snapshot(struct writer *x, struct db_conn *c, struct mt_arena *a,
                              bool has_person, int64_t person_id, struct mt_err *err)
{
    if (has_person) {
        struct store_person p;
        if (store_person_get(c, a, person_id, &p, err) < 0)
            return -1;
    }
    char *revision = NULL;
    if (mig_current(c, &revision, err) < 0)
        return -1;
    struct audit_summary audit;
    if (store_audit_summary(c, &audit.seq, audit.hash, &audit.rows, err) < 0) {
        free(revision);
        return -1;
    }
    write_head(x, c, revision, has_person, person_id);
    free(revision);
    if (store_export_walk(c, has_person, person_id, on_row, x, err) < 0)
        return -1;
    write_tail(x, &audit);
    return flush(x, err);
}

int api_export_write(struct db_conn *c, struct mt_arena *a, bool has_person, int64_t person_id,
                     const struct api_export_out *out, struct api_export_counts *counts,
                     struct mt_err *err)
{
    struct writer x = {.out = out};
    api_jw_init(&x.w, a, 2 * CHUNK);
    if (store_snapshot_begin(c, err) < 0)
        return -1;
    int rc = export_in_snapshot(&x, c, a, has_person, person_id, err);
    store_snapshot_end(c);
    if (counts)
        *counts = x.counts;
    return rc;
}
