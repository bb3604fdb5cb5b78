/* The SQL of doses: recording one under the daily maximum atomically, the
 * histories (per medication, per day, of deleted medications), deleting one,
 * and the daily summary as a single query over live and deleted
 * medications. */
#include "store/store_int.h"

#include <string.h>

#define DOSE_COLS "d.id, d.medication_id, d.medication_name, d.taken_at"

static const char sql_med[] = "SELECT max_doses_per_day FROM medications WHERE id = ?";
static const char sql_med_lock[] =
    "SELECT max_doses_per_day FROM medications WHERE id = ? FOR UPDATE";
static const char sql_count[] = "SELECT COUNT(*) FROM doses WHERE medication_id = ? AND "
                                "taken_at >= ? AND taken_at < ?";
/* InnoDB: a locking read sees the latest committed doses, whatever snapshot
 * the transaction would otherwise read from. */
static const char sql_count_mysql[] = "SELECT COUNT(*) FROM doses WHERE medication_id = ? AND "
                                      "taken_at >= ? AND taken_at < ? LOCK IN SHARE MODE";
/* A dose names its medication's person, which it keeps when the medication
 * is deleted (store_med_delete). */
static const char sql_insert[] = "INSERT INTO doses (medication_id, taken_at, person_id) "
                                 "VALUES (?, ?, (SELECT person_id FROM medications WHERE id = ?))";
static const char sql_insert_pg[] =
    "INSERT INTO doses (medication_id, taken_at, person_id) "
    "VALUES (?, ?, (SELECT person_id FROM medications WHERE id = ?)) RETURNING id";
static const char sql_history[] = "SELECT " DOSE_COLS " FROM doses d WHERE d.medication_id = ? "
                                  "ORDER BY d.taken_at DESC, d.id DESC LIMIT ? OFFSET ?";
static const char sql_window[] = "SELECT " DOSE_COLS " FROM doses d WHERE d.medication_id = ? "
                                 "AND d.taken_at >= ? AND d.taken_at < ? "
                                 "ORDER BY d.taken_at, d.id";
static const char sql_deleted[] =
    "SELECT " DOSE_COLS " FROM doses d WHERE d.medication_id IS NULL AND "
    "d.medication_name = ? ORDER BY d.taken_at DESC, d.id DESC LIMIT ? OFFSET ?";
static const char sql_deleted_filtered[] =
    "SELECT " DOSE_COLS " FROM doses d WHERE d.medication_id IS NULL AND "
    "d.medication_name = ? AND d.person_id IN ({persons}) "
    "ORDER BY d.taken_at DESC, d.id DESC LIMIT ? OFFSET ?";
static const char sql_delete[] = "DELETE FROM doses WHERE id = ?";
/* A live medication's person is its own; a dose of a deleted one keeps the
 * person it names. */
static const char sql_person_of[] =
    "SELECT COALESCE(m.person_id, d.person_id) FROM doses d "
    "LEFT JOIN medications m ON m.id = d.medication_id WHERE d.id = ?";

/* Live medications with their doses of the day (one row per dose, or one
 * row with NULLs for a medication without any), then the doses of deleted
 * medications, grouped by name: with a person, only the doses that person
 * took. Kind 0 / 1 keeps the two parts apart. */
#define SUMMARY_LIVE                                                                               \
    "SELECT 0, m.id, m.name, m.max_doses_per_day, d.taken_at, d.id FROM medications m "            \
    "LEFT JOIN doses d ON d.medication_id = m.id AND d.taken_at >= ? AND d.taken_at < ?"
#define SUMMARY_DELETED                                                                            \
    "SELECT 1, NULL, d.medication_name, 0, d.taken_at, d.id FROM doses d "                         \
    "WHERE d.medication_id IS NULL AND d.medication_name IS NOT NULL AND d.taken_at >= ? AND "     \
    "d.taken_at < ?"
static const char sql_summary_all[] =
    SUMMARY_LIVE " UNION ALL " SUMMARY_DELETED " ORDER BY 1, 2, 3, 6";
static const char sql_summary_person[] = SUMMARY_LIVE
    " WHERE m.person_id = ? UNION ALL " SUMMARY_DELETED " AND d.person_id = ? ORDER BY 1, 2, 3, 6";
static const char sql_summary_filtered[] =
    SUMMARY_LIVE " WHERE m.person_id IN ({persons}) UNION ALL " SUMMARY_DELETED
                 " AND d.person_id IN ({persons}) ORDER BY 1, 2, 3, 6";

static int read_dose(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    struct store_dose *d = item;
    bool oom = false;
    d->id = db_col_int(st, 0);
    d->has_medication = !db_col_null(st, 1);
    d->medication_id = d->has_medication ? db_col_int(st, 1) : 0;
    d->medication_name = store_col_text(st, 2, a, &oom);
    d->taken_at = store_col_time(st, 3, a, &oom);
    return oom ? store_oom(err) : 0;
}

static int read_doses(struct db_conn *c, struct mt_arena *a, const char *sql,
                      const struct db_param *p, size_t np, struct store_dose **out, size_t *n,
                      struct mt_err *err)
{
    void *items;
    if (store_query_rows(c, a, sql, p, np, sizeof(**out), read_dose, &items, n, err) < 0)
        return -1;
    *out = items;
    return 0;
}

struct record_ctx {
    int64_t medication_id;
    int64_t taken_us;
    const struct store_window *w;
    enum store_record *result;
    int64_t *max;
    struct store_dose *out;
};

static int record_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct record_ctx *x = vctx;
    if (!store_id_ok(c, x->medication_id))
        return mt_fail(err, MT_ENOTFOUND, "Medication not found");
    struct db_param mid[] = {DB_INT(x->medication_id)};
    int64_t max = 0;
    bool found = false;
    /* Lock the medication row (SQLite: the transaction is already the one
     * writer), so that two requests cannot both count below the maximum. */
    if (db_query_int(c, store_sql_locking(c, sql_med, sql_med_lock, sql_med_lock), mid, 1, &max,
                     &found, err) < 0)
        return -1;
    if (!found)
        return mt_fail(err, MT_ENOTFOUND, "Medication not found");
    *x->max = max;
    char start[MT_TIME_BUF], end[MT_TIME_BUF], at[MT_TIME_BUF];
    struct db_param cp[] = {DB_INT(x->medication_id), store_time_param(x->w->start_us, start),
                            store_time_param(x->w->end_us, end)};
    int64_t count = 0;
    if (db_query_int(c, store_sql_locking(c, sql_count, sql_count, sql_count_mysql), cp, 3, &count,
                     NULL, err) < 0)
        return -1;
    if (count >= max) {
        *x->result = STORE_DAY_FULL;
        return 0;
    }
    struct db_param ip[] = {DB_INT(x->medication_id), store_time_param(x->taken_us, at),
                            DB_INT(x->medication_id)};
    int64_t id = 0;
    if (store_insert_id(c, sql_insert, sql_insert_pg, ip, 3, &id, err) < 0)
        return -1;
    *x->result = STORE_RECORDED;
    x->out->id = id;
    x->out->has_medication = true;
    x->out->medication_id = x->medication_id;
    x->out->medication_name = NULL;
    x->out->taken_at = (struct store_time){true, true, x->taken_us, NULL};
    return 0;
}

int store_dose_record(struct db_conn *c, struct mt_arena *a, int64_t medication_id,
                      int64_t taken_us, const struct store_window *w, enum store_record *result,
                      int64_t *max, struct store_dose *out, struct mt_err *err)
{
    (void)a;
    struct record_ctx x = {medication_id, taken_us, w, result, max, out};
    return store_write_tx(c, record_tx, &x, err);
}

int store_doses_history(struct db_conn *c, struct mt_arena *a, int64_t medication_id, int64_t skip,
                        int64_t limit, struct store_dose **out, size_t *n, struct mt_err *err)
{
    if (!store_id_ok(c, medication_id))
        return mt_fail(err, MT_ENOTFOUND, "Medication not found");
    struct db_param p[] = {DB_INT(medication_id), DB_INT(limit), DB_INT(skip)};
    if (read_doses(c, a, sql_history, p, 3, out, n, err) < 0)
        return -1;
    /* Only an empty page needs to know whether the medication exists. */
    return *n ? 0 : store_med_exists(c, medication_id, err);
}

int store_doses_in_window(struct db_conn *c, struct mt_arena *a, int64_t medication_id,
                          const struct store_window *w, struct store_dose **out, size_t *n,
                          struct mt_err *err)
{
    if (!store_id_ok(c, medication_id))
        return mt_fail(err, MT_ENOTFOUND, "Medication not found");
    char start[MT_TIME_BUF], end[MT_TIME_BUF];
    struct db_param p[] = {DB_INT(medication_id), store_time_param(w->start_us, start),
                           store_time_param(w->end_us, end)};
    if (read_doses(c, a, sql_window, p, 3, out, n, err) < 0)
        return -1;
    return *n ? 0 : store_med_exists(c, medication_id, err);
}

int store_doses_deleted(struct db_conn *c, struct mt_arena *a, const struct store_person_filter *f,
                        const char *name, int64_t skip, int64_t limit, struct store_dose **out,
                        size_t *n, struct mt_err *err)
{
    if (!store_filtered(f)) {
        struct db_param p[] = {DB_TEXT(name), DB_INT(limit), DB_INT(skip)};
        return read_doses(c, a, sql_deleted, p, 3, out, n, err);
    }
    const char *sql = store_sql_persons(a, sql_deleted_filtered, f, err);
    struct store_params sp;
    if (!sql || store_params_init(&sp, a, f->n + 3, err) < 0)
        return -1;
    store_params_add(&sp, DB_TEXT(name));
    store_params_ids(&sp, f);
    store_params_add(&sp, DB_INT(limit));
    store_params_add(&sp, DB_INT(skip));
    return read_doses(c, a, sql, sp.p, sp.n, out, n, err);
}

int store_dose_person(struct db_conn *c, int64_t id, bool *has_person, int64_t *person_id,
                      struct mt_err *err)
{
    if (!store_id_ok(c, id))
        return mt_fail(err, MT_ENOTFOUND, "Dose not found");
    struct db_param p[] = {DB_INT(id)};
    struct db_stmt *st;
    if (db_query(c, sql_person_of, p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    if (rc == 1) {
        *has_person = !db_col_null(st, 0);
        *person_id = *has_person ? db_col_int(st, 0) : 0;
    }
    db_done(st);
    if (rc < 0)
        return -1;
    return rc == 1 ? 0 : mt_fail(err, MT_ENOTFOUND, "Dose not found");
}

int store_dose_delete(struct db_conn *c, int64_t id, struct mt_err *err)
{
    if (!store_id_ok(c, id))
        return mt_fail(err, MT_ENOTFOUND, "Dose not found");
    struct db_param p[] = {DB_INT(id)};
    if (store_exec(c, sql_delete, p, 1, err) < 0)
        return -1;
    return db_changes(c) > 0 ? 0 : mt_fail(err, MT_ENOTFOUND, "Dose not found");
}

/* Appends a time to the entry's list (arena array grown by doubling). */
static int add_time(struct mt_arena *a, struct store_summary_entry *e, size_t *cap,
                    struct store_time t, struct mt_err *err)
{
    if (store_grow(a, (void **)&e->times, cap, e->n_times, sizeof(*e->times), err) < 0)
        return -1;
    e->times[e->n_times++] = t;
    return 0;
}

int store_daily_summary(struct db_conn *c, struct mt_arena *a, const struct store_person_filter *f,
                        bool has_person, int64_t person_id, const struct store_window *w,
                        struct store_summary_entry **out, size_t *n, struct mt_err *err)
{
    if (has_person && (!store_id_ok(c, person_id) || !store_filter_has(f, person_id))) {
        *out = NULL;
        *n = 0;
        return 0;
    }
    bool filtered = !has_person && store_filtered(f);
    const char *sql = has_person ? sql_summary_person : sql_summary_all;
    if (filtered) {
        sql = store_sql_persons(a, sql_summary_filtered, f, err);
        if (!sql)
            return -1;
    }
    char start[MT_TIME_BUF], end[MT_TIME_BUF];
    struct db_param ws = store_time_param(w->start_us, start);
    struct db_param we = store_time_param(w->end_us, end);
    struct store_params sp;
    if (store_params_init(&sp, a, 6 + (filtered ? 2 * f->n : 0), err) < 0)
        return -1;
    /* The live part's window and person, then the deleted part's. */
    for (int part = 0; part < 2; part++) {
        store_params_add(&sp, ws);
        store_params_add(&sp, we);
        if (has_person)
            store_params_add(&sp, DB_INT(person_id));
        if (filtered)
            store_params_ids(&sp, f);
    }
    struct db_stmt *st;
    if (db_query(c, sql, sp.p, sp.n, &st, err) < 0)
        return -1;
    struct store_summary_entry *items = NULL;
    size_t cap = 0, count = 0, times_cap = 0;
    bool oom = false;
    int rc = db_next(st, err);
    while (rc == 1) {
        bool deleted = db_col_int(st, 0) == 1;
        int64_t mid = deleted ? 0 : db_col_int(st, 1);
        size_t name_len = 0;
        const char *name = db_col_text(st, 2, &name_len);
        struct store_summary_entry *last = count ? &items[count - 1] : NULL;
        bool same = last && last->deleted == deleted &&
                    (deleted ? (name && strlen(last->name) == name_len &&
                                memcmp(last->name, name, name_len) == 0)
                             : last->medication_id == mid);
        if (!same) {
            if (store_grow(a, (void **)&items, &cap, count, sizeof(*items), err) < 0) {
                rc = -1;
                break;
            }
            last = &items[count++];
            memset(last, 0, sizeof(*last));
            last->deleted = deleted;
            last->medication_id = mid;
            last->name = store_col_text(st, 2, a, &oom);
            if (!last->name)
                last->name = "";
            last->max_doses = db_col_int(st, 3);
            times_cap = 0;
        }
        if (!db_col_null(st, 5)) {
            struct store_time t = store_col_time(st, 4, a, &oom);
            if (add_time(a, last, &times_cap, t, err) < 0) {
                rc = -1;
                break;
            }
        }
        if (oom) {
            rc = store_oom(err);
            break;
        }
        rc = db_next(st, err);
    }
    db_done(st);
    if (rc < 0)
        return -1;
    *out = items;
    *n = count;
    return 0;
}
