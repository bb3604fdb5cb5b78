/* The data of the printable tracking form and of the dose-history export:
 * the person asked for (if any) and the medications to print, with the
 * reference's two 404s; the doses of a window for prefilled forms and
 * exports, streamed to a callback; and the owners of medications for the
 * household-wide form. The documents themselves are drawn in src/report;
 * this file only reads. */
#include "store/reports.h"

#include <string.h>

#include "store/store_int.h"

/* A dose belongs to a person's report when its medication is the person's,
 * or when its medication was deleted and the dose names the person; the
 * household's report has every dose. */
#define REPORT_COLS                                                                                \
    "SELECT d.id, d.medication_id, COALESCE(m.name, d.medication_name), m.dosage, d.taken_at, "    \
    "d.status, d.status_reason, d.note, d.recorded_by, d.override_rule, d.override_reason "        \
    "FROM doses d LEFT JOIN medications m ON m.id = d.medication_id "                              \
    "WHERE d.status IN (?, ?) AND d.taken_at >= ? AND d.taken_at < ? "
static const char sql_doses_person[] = REPORT_COLS
    "AND (m.person_id = ? OR (d.medication_id IS NULL AND d.medication_name IS NOT NULL "
    "AND d.person_id = ?)) "
    "ORDER BY d.taken_at, d.id";
static const char sql_doses_all[] = REPORT_COLS
    "AND (m.id IS NOT NULL OR (d.medication_id IS NULL AND d.medication_name IS NOT NULL)) "
    "ORDER BY d.taken_at, d.id";
static const char sql_doses_filtered[] = REPORT_COLS
    "AND (m.person_id IN ({persons}) OR (d.medication_id IS NULL AND d.medication_name IS NOT "
    "NULL AND d.person_id IN ({persons}))) "
    "ORDER BY d.taken_at, d.id";
static const char sql_owners_filtered[] =
    "SELECT p.id, p.first_name, p.last_name FROM persons p WHERE p.id IN ({persons}) "
    "AND EXISTS (SELECT 1 FROM medications m WHERE m.person_id = p.id) ORDER BY p.id";
static const char sql_owners[] =
    "SELECT p.id, p.first_name, p.last_name FROM persons p "
    "WHERE EXISTS (SELECT 1 FROM medications m WHERE m.person_id = p.id) ORDER BY p.id";

int store_report_data(struct db_conn *c, struct mt_arena *a, const struct store_person_filter *f,
                      bool has_person, int64_t person_id, struct store_report *out,
                      struct mt_err *err)
{
    memset(out, 0, sizeof(*out));
    out->has_person = has_person;
    if (has_person && !store_filter_has(f, person_id))
        return mt_fail(err, MT_ENOTFOUND, "Person not found");
    if (has_person && store_person_get(c, a, person_id, &out->person, err) < 0)
        return -1;
    /* The form lists medications only; the day window is irrelevant. */
    struct store_window none = {0, 0};
    if (store_meds_list(c, a, f, has_person, person_id, &none, 0, INT64_MAX, &out->meds,
                        &out->n_meds, err) < 0)
        return -1;
    if (out->n_meds == 0)
        return mt_fail(err, MT_ENOTFOUND, "No medications found");
    return 0;
}

int store_report_doses(struct db_conn *c, struct mt_arena *a, const struct store_person_filter *f,
                       bool has_person, int64_t person_id, enum store_dose_view view,
                       const struct store_window *w,
                       store_report_dose_fn fn, void *ctx, size_t *unreadable, struct mt_err *err)
{
    if (unreadable)
        *unreadable = 0;
    if (has_person && !store_filter_has(f, person_id))
        return 0;
    bool filtered = !has_person && store_filtered(f);
    const char *sql = has_person ? sql_doses_person : sql_doses_all;
    if (filtered) {
        sql = store_sql_persons(a, sql_doses_filtered, f, err);
        if (!sql)
            return -1;
    }
    char start[MT_TIME_BUF], end[MT_TIME_BUF];
    struct store_params sp;
    if (store_params_init(&sp, a, 6 + (filtered ? 2 * f->n : 0), err) < 0)
        return -1;
    /* w comes from mt_day_window, already clamped to what every dialect
     * stores. */
    store_params_add(&sp, DB_TEXT("taken"));
    store_params_add(&sp, DB_TEXT(view == STORE_VIEW_HISTORY ? "skipped" : "taken"));
    store_params_add(&sp, store_time_param(w->start_us, start));
    store_params_add(&sp, store_time_param(w->end_us, end));
    if (has_person) {
        store_params_add(&sp, DB_INT(person_id));
        store_params_add(&sp, DB_INT(person_id));
    }
    if (filtered) {
        store_params_ids(&sp, f);
        store_params_ids(&sp, f);
    }
    struct db_stmt *st;
    /* A long history is never held in memory: the rows come from the
     * server as the callback takes them. */
    if (db_query_stream(c, sql, sp.p, sp.n, &st, err) < 0)
        return -1;
    size_t skipped = 0;
    int rc = db_next(st, err);
    while (rc == 1) {
        struct store_report_dose d;
        size_t len = 0;
        const char *taken = db_col_text(st, 4, &len);
        if (!taken || mt_parse_timestamp(taken, len, &d.taken_us) < 0) {
            skipped++;
            rc = db_next(st, err);
            continue;
        }
        d.id = db_col_int(st, 0);
        d.deleted = db_col_null(st, 1);
        d.medication_id = d.deleted ? 0 : db_col_int(st, 1);
        d.medication_name = db_col_text(st, 2, NULL);
        if (!d.medication_name)
            d.medication_name = "";
        d.dosage = db_col_text(st, 3, NULL);
        const char *status = db_col_text(st, 5, NULL);
        d.status = status && strcmp(status, "skipped") == 0 ? STORE_SKIPPED : STORE_TAKEN;
        d.status_reason = db_col_text(st, 6, NULL);
        d.note = db_col_text(st, 7, NULL);
        d.recorded_by = db_col_text(st, 8, NULL);
        d.override_rule = db_col_text(st, 9, NULL);
        d.override_reason = db_col_text(st, 10, NULL);
        int stop = fn(&d, ctx, err);
        if (stop) {
            rc = stop < 0 ? -1 : stop;
            break;
        }
        rc = db_next(st, err);
    }
    db_done(st);
    if (unreadable)
        *unreadable = skipped;
    return rc < 0 ? -1 : rc;
}

static int read_owner(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    struct store_report_owner *o = item;
    bool oom = false;
    struct store_person p = {.id = db_col_int(st, 0)};
    p.first_name = store_col_text(st, 1, a, &oom);
    p.last_name = store_col_text(st, 2, a, &oom);
    if (!p.first_name)
        p.first_name = "";
    const char *name = oom ? NULL : store_person_name(a, &p);
    if (!name)
        return store_oom(err);
    o->id = p.id;
    o->name = name;
    return 0;
}

int store_report_owners(struct db_conn *c, struct mt_arena *a, const struct store_person_filter *f,
                        struct store_report_owner **out, size_t *n, struct mt_err *err)
{
    const char *sql = sql_owners;
    struct store_params sp = {NULL, 0, 0};
    if (store_filtered(f)) {
        sql = store_sql_persons(a, sql_owners_filtered, f, err);
        if (!sql || store_params_init(&sp, a, f->n, err) < 0)
            return -1;
        store_params_ids(&sp, f);
    }
    void *items;
    if (store_query_rows(c, a, sql, sp.p, sp.n, sizeof(**out), read_owner, &items, n, err) < 0)
        return -1;
    *out = items;
    return 0;
}
