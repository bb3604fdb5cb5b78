/* The SQL of doses: recording one under the daily maximum atomically, the
 * histories (per medication, per day, of deleted medications), deleting one,
 * and the daily summary as a single query over live and deleted
 * medications. */
#include "store/dosing.h"
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#define DOSE_COLS                                                                                  \
    "d.id, d.medication_id, d.medication_name, d.taken_at, d.status, d.status_reason, d.note, "    \
    "d.recorded_by, d.recorded_at, d.override_rule, d.override_reason, d.updated_at, d.person_id"

/* The reference's four columns: all that a list of taken doses in the
 * reference's shape needs (reading the others costs a list's time). */
#define REF_COLS "d.id, d.medication_id, d.medication_name, d.taken_at"

/* The statuses a list shows are bound: (taken, taken) or (taken, skipped). */
#define VIEW " AND d.status IN (?, ?)"
#define HISTORY(cols)                                                                              \
    "SELECT " cols " FROM doses d WHERE d.medication_id = ?" VIEW                                  \
    " ORDER BY d.taken_at DESC, d.id DESC LIMIT ? OFFSET ?"
#define WINDOW(cols)                                                                               \
    "SELECT " cols " FROM doses d WHERE d.medication_id = ?" VIEW                                  \
    " AND d.taken_at >= ? AND d.taken_at < ? ORDER BY d.taken_at, d.id"
#define DELETED(cols)                                                                              \
    "SELECT " cols " FROM doses d WHERE d.medication_id IS NULL AND d.medication_name = ?" VIEW    \
    " ORDER BY d.taken_at DESC, d.id DESC LIMIT ? OFFSET ?"
static const char *const sql_history[] = {HISTORY(REF_COLS), HISTORY(DOSE_COLS)};
static const char *const sql_window[] = {WINDOW(REF_COLS), WINDOW(DOSE_COLS)};
static const char *const sql_deleted[] = {DELETED(REF_COLS), DELETED(DOSE_COLS)};
/* The same for the persons a filter lets through ({persons}: their ids). */
#define DELETED_OF(cols)                                                                           \
    "SELECT " cols " FROM doses d WHERE d.medication_id IS NULL AND d.medication_name = ?"         \
    " AND d.person_id IN ({persons})" VIEW " ORDER BY d.taken_at DESC, d.id DESC LIMIT ? OFFSET ?"
static const char *const sql_deleted_of[] = {DELETED_OF(REF_COLS), DELETED_OF(DOSE_COLS)};
/* A live medication's person is its own; a dose of a deleted one keeps the
 * person it names. */
static const char sql_person_of[] =
    "SELECT COALESCE(m.person_id, d.person_id) FROM doses d "
    "LEFT JOIN medications m ON m.id = d.medication_id WHERE d.id = ?";
static const char sql_get[] = "SELECT " DOSE_COLS " FROM doses d WHERE d.id = ?";
static const char sql_get_lock[] = "SELECT " DOSE_COLS " FROM doses d WHERE d.id = ? FOR UPDATE";
static const char sql_set_status[] =
    "UPDATE doses SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?";
static const char sql_correct[] =
    "UPDATE doses SET taken_at = ?, note = ?, updated_at = ? WHERE id = ?";

static const char not_found[] = "Dose not found";

/* Live medications with their doses of the day (one row per dose, or one
 * row with NULLs for a medication without any), then the doses of deleted
 * medications, grouped by name: with a person, only the doses that person
 * took. Kind 0 / 1 keeps the two parts apart. */
#define SUMMARY_LIVE                                                                               \
    "SELECT 0, m.id, m.name, m.max_doses_per_day, d.taken_at, d.id FROM medications m "            \
    "LEFT JOIN doses d ON d.medication_id = m.id AND d.status = 'taken' AND d.taken_at >= ? AND "  \
    "d.taken_at < ?"
#define SUMMARY_DELETED                                                                            \
    "SELECT 1, NULL, d.medication_name, 0, d.taken_at, d.id FROM doses d "                         \
    "WHERE d.medication_id IS NULL AND d.medication_name IS NOT NULL AND d.status = 'taken' AND "  \
    "d.taken_at >= ? AND d.taken_at < ?"
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
    if (db_col_count(st) <= 4) {
        /* A list of taken doses in the reference's shape. */
        d->status = STORE_TAKEN;
        d->status_reason = d->note = d->recorded_by = NULL;
        d->override_rule = d->override_reason = NULL;
        d->recorded_at = d->updated_at = (struct store_time){false, false, 0, NULL};
        d->person_id = 0;
        return oom ? store_oom(err) : 0;
    }
    size_t len = 0;
    const char *status = db_col_text(st, 4, &len);
    d->status = STORE_TAKEN;
    if (status && strcmp(status, "skipped") == 0)
        d->status = STORE_SKIPPED;
    else if (status && strcmp(status, "entered_in_error") == 0)
        d->status = STORE_ENTERED_IN_ERROR;
    d->status_reason = store_col_text(st, 5, a, &oom);
    d->note = store_col_text(st, 6, a, &oom);
    d->recorded_by = store_col_text(st, 7, a, &oom);
    d->recorded_at = store_col_time(st, 8, a, &oom);
    d->override_rule = store_col_text(st, 9, a, &oom);
    d->override_reason = store_col_text(st, 10, a, &oom);
    d->updated_at = store_col_time(st, 11, a, &oom);
    d->person_id = db_col_int(st, 12);
    return oom ? store_oom(err) : 0;
}

const char *store_status_name(enum store_dose_status s)
{
    switch (s) {
    case STORE_SKIPPED:
        return "skipped";
    case STORE_ENTERED_IN_ERROR:
        return "entered_in_error";
    case STORE_TAKEN:
        break;
    }
    return "taken";
}

/* The two status parameters of VIEW. */
static void view_bind(enum store_dose_view view, struct db_param *p)
{
    p[0] = DB_TEXT("taken");
    p[1] = DB_TEXT(view == STORE_VIEW_HISTORY ? "skipped" : "taken");
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

int store_doses_history(struct db_conn *c, struct mt_arena *a, int64_t medication_id,
                        enum store_dose_view view, int64_t skip, int64_t limit,
                        struct store_dose **out, size_t *n, struct mt_err *err)
{
    if (!store_id_ok(c, medication_id))
        return mt_fail(err, MT_ENOTFOUND, "Medication not found");
    struct db_param p[5] = {DB_INT(medication_id)};
    view_bind(view, p + 1);
    p[3] = DB_INT(limit);
    p[4] = DB_INT(skip);
    if (read_doses(c, a, sql_history[view == STORE_VIEW_HISTORY], p, 5, out, n, err) < 0)
        return -1;
    /* Only an empty page needs to know whether the medication exists. */
    return *n ? 0 : store_med_exists(c, medication_id, err);
}

int store_doses_in_window(struct db_conn *c, struct mt_arena *a, int64_t medication_id,
                          enum store_dose_view view, const struct store_window *w,
                          struct store_dose **out, size_t *n, struct mt_err *err)
{
    if (!store_id_ok(c, medication_id))
        return mt_fail(err, MT_ENOTFOUND, "Medication not found");
    char start[MT_TIME_BUF], end[MT_TIME_BUF];
    struct db_param p[5] = {DB_INT(medication_id)};
    view_bind(view, p + 1);
    p[3] = store_time_param(w->start_us, start);
    p[4] = store_time_param(w->end_us, end);
    if (read_doses(c, a, sql_window[view == STORE_VIEW_HISTORY], p, 5, out, n, err) < 0)
        return -1;
    return *n ? 0 : store_med_exists(c, medication_id, err);
}

int store_doses_deleted(struct db_conn *c, struct mt_arena *a, const struct store_person_filter *f,
                        const char *name, enum store_dose_view view, int64_t skip, int64_t limit,
                        struct store_dose **out, size_t *n, struct mt_err *err)
{
    bool full = view == STORE_VIEW_HISTORY;
    struct db_param vp[2];
    view_bind(view, vp);
    if (!store_filtered(f)) {
        struct db_param p[] = {DB_TEXT(name), vp[0], vp[1], DB_INT(limit), DB_INT(skip)};
        return read_doses(c, a, sql_deleted[full], p, 5, out, n, err);
    }
    const char *sql = store_sql_persons(a, sql_deleted_of[full], f, err);
    struct store_params sp;
    if (!sql || store_params_init(&sp, a, f->n + 5, err) < 0)
        return -1;
    store_params_add(&sp, DB_TEXT(name));
    store_params_ids(&sp, f);
    store_params_add(&sp, vp[0]);
    store_params_add(&sp, vp[1]);
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

int store_dose_get(struct db_conn *c, struct mt_arena *a, int64_t id, struct store_dose *out,
                   struct mt_err *err)
{
    if (!store_id_ok(c, id))
        return mt_fail(err, MT_ENOTFOUND, not_found);
    struct db_param p[] = {DB_INT(id)};
    struct store_dose *rows = NULL;
    size_t n = 0;
    if (read_doses(c, a, sql_get, p, 1, &rows, &n, err) < 0)
        return -1;
    if (n == 0)
        return mt_fail(err, MT_ENOTFOUND, not_found);
    *out = rows[0];
    return 0;
}

/* Reads and locks the dose (SQLite: the write transaction is the lock). */
static int lock_dose(struct db_conn *c, struct mt_arena *a, int64_t id, struct store_dose *out,
                     struct mt_err *err)
{
    if (!store_id_ok(c, id))
        return mt_fail(err, MT_ENOTFOUND, not_found);
    struct db_param p[] = {DB_INT(id)};
    struct store_dose *rows = NULL;
    size_t n = 0;
    if (read_doses(c, a, store_sql_locking(c, sql_get, sql_get_lock, sql_get_lock), p, 1, &rows, &n,
                   err) < 0)
        return -1;
    if (n == 0)
        return mt_fail(err, MT_ENOTFOUND, not_found);
    *out = rows[0];
    return 0;
}

struct change_ctx {
    const struct store_actor *actor;
    struct mt_arena *a;
    int64_t id;
    const struct store_dose_patch *patch; /* correct */
    const char *reason;                   /* mark in error */
    bool deleting;                        /* the reference's DELETE */
    struct store_dose *out;
};

static int mark_error_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct change_ctx *x = vctx;
    struct store_dose *d = x->out;
    if (lock_dose(c, x->a, x->id, d, err) < 0)
        return -1;
    if (d->status == STORE_ENTERED_IN_ERROR) {
        /* Gone from every view: the reference's DELETE of a deleted dose. */
        if (x->deleting)
            return mt_fail(err, MT_ENOTFOUND, not_found);
        return mt_fail(err, MT_ECONFLICT, "Dose is already marked entered in error");
    }
    char *before = store_json_dose(d);
    char now_buf[MT_TIME_BUF];
    int64_t now = mt_now_us();
    struct db_param p[] = {DB_TEXT("entered_in_error"), DB_TEXT(x->reason),
                           store_time_param(now, now_buf), DB_INT(x->id)};
    /* Sent with the audit trail's next statement where the driver can. */
    if (db_exec_later(c, sql_set_status, p, 4, err) < 0) {
        free(before);
        return -1;
    }
    d->status = STORE_ENTERED_IN_ERROR;
    d->status_reason = x->reason;
    d->updated_at = (struct store_time){true, true, now, NULL};
    return store_audit_change(c, x->actor, "entered_in_error", "dose", d->id, d->person_id, before,
                              store_json_dose(d), err);
}

int store_dose_mark_error(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                          int64_t id, const char *reason, struct store_dose *out,
                          struct mt_err *err)
{
    struct change_ctx x = {.actor = actor, .a = a, .id = id, .reason = reason, .out = out};
    return store_write_tx(c, mark_error_tx, &x, err);
}

int store_dose_delete(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                      int64_t id, struct mt_err *err)
{
    struct store_dose d;
    struct change_ctx x = {
        .actor = actor, .a = a, .id = id, .reason = "deleted", .deleting = true, .out = &d};
    return store_write_tx(c, mark_error_tx, &x, err);
}

static int correct_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct change_ctx *x = vctx;
    struct store_dose *d = x->out;
    if (lock_dose(c, x->a, x->id, d, err) < 0)
        return -1;
    if (d->status == STORE_ENTERED_IN_ERROR)
        return mt_fail(err, MT_ECONFLICT, "Dose was entered in error and cannot be changed");
    const struct store_dose_patch *p = x->patch;
    bool time_changes = p->set_taken && !(d->taken_at.parsed && d->taken_at.us == p->taken_us);
    bool note_changes = p->set_note && !store_same_text(p->note, d->note);
    /* As with the other partial updates, a request that changes nothing
     * writes nothing (and no audit row). */
    if (!time_changes && !note_changes)
        return 0;
    char *before = store_json_dose(d);
    if (time_changes)
        d->taken_at = (struct store_time){true, true, p->taken_us, NULL};
    if (note_changes)
        d->note = p->note;
    char at_buf[MT_TIME_BUF], now_buf[MT_TIME_BUF];
    int64_t now = mt_now_us();
    /* A time that could not be read keeps its stored text unless replaced. */
    struct db_param q[] = {d->taken_at.parsed ? store_time_param(d->taken_at.us, at_buf)
                                              : DB_TEXT(d->taken_at.raw),
                           DB_TEXT(d->note), store_time_param(now, now_buf), DB_INT(x->id)};
    if (db_exec_later(c, sql_correct, q, 4, err) < 0) {
        free(before);
        return -1;
    }
    d->updated_at = (struct store_time){true, true, now, NULL};
    return store_audit_change(c, x->actor, "correct", "dose", d->id, d->person_id, before,
                              store_json_dose(d), err);
}

int store_dose_correct(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                       int64_t id, const struct store_dose_patch *p, struct store_dose *out,
                       struct mt_err *err)
{
    struct change_ctx x = {.actor = actor, .a = a, .id = id, .patch = p, .out = out};
    return store_write_tx(c, correct_tx, &x, err);
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
