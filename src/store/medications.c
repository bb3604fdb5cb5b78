/* The SQL of medications: the list and the single medication with the doses
 * of a day counted by correlated subqueries (one statement, using the
 * (medication_id, taken_at) index), create for an existing person, partial
 * update, and delete that keeps the dose history under the medication's
 * name. */
#include "store/dosing.h"
#include "store/schedules.h"
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#define MED_COLS                                                                                   \
    "m.id, m.person_id, m.name, m.dosage, m.frequency, m.max_doses_per_day, m.instructions, "      \
    "m.created_at, m.updated_at, m.limit_window, m.min_interval_minutes, m.dose_amount, "          \
    "m.dose_unit"
/* Only taken doses count: skipped ones and those entered in error do not. */
#define DAY_COLS                                                                                   \
    "(SELECT COUNT(*) FROM doses d WHERE d.medication_id = m.id AND d.status = 'taken' AND "       \
    "d.taken_at >= ? AND d.taken_at < ?), (SELECT MAX(d.taken_at) FROM doses d WHERE "             \
    "d.medication_id = m.id AND d.status = 'taken' AND d.taken_at >= ? AND d.taken_at < ?)"

static const char sql_list_all[] =
    "SELECT " MED_COLS ", " DAY_COLS " FROM medications m ORDER BY m.id LIMIT ? OFFSET ?";
static const char sql_list_person[] =
    "SELECT " MED_COLS ", " DAY_COLS " FROM medications m WHERE m.person_id = ? "
    "ORDER BY m.id LIMIT ? OFFSET ?";
static const char sql_list_filtered[] =
    "SELECT " MED_COLS ", " DAY_COLS " FROM medications m WHERE m.person_id IN ({persons}) "
    "ORDER BY m.id LIMIT ? OFFSET ?";
static const char sql_person_of[] = "SELECT person_id FROM medications WHERE id = ?";
static const char sql_get_day[] =
    "SELECT " MED_COLS ", " DAY_COLS " FROM medications m WHERE m.id = ?";
static const char sql_get[] = "SELECT " MED_COLS ", -1, NULL FROM medications m WHERE m.id = ?";
static const char sql_get_lock[] =
    "SELECT " MED_COLS ", -1, NULL FROM medications m WHERE m.id = ? FOR UPDATE";
static const char sql_insert[] =
    "INSERT INTO medications (name, dosage, frequency, max_doses_per_day, instructions, "
    "person_id, created_at, limit_window, min_interval_minutes, dose_amount, dose_unit) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_insert_pg[] =
    "INSERT INTO medications (name, dosage, frequency, max_doses_per_day, instructions, "
    "person_id, created_at, limit_window, min_interval_minutes, dose_amount, dose_unit) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
static const char sql_update_rules[] =
    "UPDATE medications SET limit_window = ?, min_interval_minutes = ?, dose_amount = ?, "
    "dose_unit = ?, updated_at = ? WHERE id = ?";
static const char sql_ingredients[] = "SELECT name, amount, unit FROM medication_ingredients "
                                      "WHERE medication_id = ? ORDER BY position";
static const char sql_ingredients_mysql[] =
    "SELECT name, amount, unit FROM medication_ingredients WHERE medication_id = ? "
    "ORDER BY position LOCK IN SHARE MODE";
static const char sql_drop_ingredients[] =
    "DELETE FROM medication_ingredients WHERE medication_id = ?";
static const char sql_person_limits[] =
    "SELECT name_key, unit FROM ingredient_limits WHERE person_id = ?";
static const char sql_update[] =
    "UPDATE medications SET name = ?, dosage = ?, frequency = ?, max_doses_per_day = ?, "
    "instructions = ?, updated_at = ? WHERE id = ?";
/* person_id is set before medication_id is cleared: MariaDB evaluates the
 * assignments in order. */
static const char sql_orphan_doses[] =
    "UPDATE doses SET medication_name = ?, person_id = (SELECT m.person_id FROM medications m "
    "WHERE m.id = doses.medication_id), medication_id = NULL WHERE medication_id = ?";
static const char sql_delete[] = "DELETE FROM medications WHERE id = ?";
static const char sql_touch[] = "UPDATE medications SET updated_at = ? WHERE id = ?";
static const char sql_exists[] = "SELECT COUNT(*) FROM medications WHERE id = ?";

static const char not_found[] = "Medication not found";

static int read_med(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    struct store_medication *m = item;
    bool oom = false;
    m->id = db_col_int(st, 0);
    m->person_id = db_col_int(st, 1);
    m->name = store_col_text(st, 2, a, &oom);
    m->dosage = store_col_text(st, 3, a, &oom);
    m->frequency = store_col_text(st, 4, a, &oom);
    if (!oom) {
        m->name = m->name ? m->name : "";
        m->dosage = m->dosage ? m->dosage : "";
        m->frequency = m->frequency ? m->frequency : "";
    }
    m->max_doses_per_day = db_col_int(st, 5);
    m->instructions = store_col_text(st, 6, a, &oom);
    m->created_at = store_col_time(st, 7, a, &oom);
    m->updated_at = store_col_time(st, 8, a, &oom);
    size_t len = 0;
    const char *window = db_col_text(st, 9, &len);
    m->rolling_24h = window && strcmp(window, "rolling_24h") == 0;
    m->min_interval_minutes = db_col_int(st, 10);
    m->dose_amount = store_col_number(st, 11, &m->has_dose_amount);
    m->dose_unit = store_col_text(st, 12, a, &oom);
    m->ingredients = NULL;
    m->n_ingredients = 0;
    m->has_schedule = false;
    m->doses_in_day = db_col_null(st, 13) ? -1 : db_col_int(st, 13);
    m->last_taken_at = store_col_time(st, 14, a, &oom);
    return oom ? store_oom(err) : 0;
}

static int fetch_med(struct db_conn *c, struct mt_arena *a, const char *sql,
                     const struct db_param *p, size_t n, struct store_medication *out,
                     struct mt_err *err)
{
    /* The id is the last parameter of every single-medication query. */
    if (!store_id_ok(c, p[n - 1].v.i))
        return mt_fail(err, MT_ENOTFOUND, not_found);
    struct db_stmt *st;
    if (db_query(c, sql, p, n, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    if (rc == 1)
        rc = read_med(st, a, out, err) < 0 ? -1 : 1;
    db_done(st);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return mt_fail(err, MT_ENOTFOUND, not_found);
    return 0;
}

/* The four window parameters of DAY_COLS. */
struct window_params {
    char start[MT_TIME_BUF], end[MT_TIME_BUF];
    struct db_param p[4];
};

static void window_bind(struct window_params *wp, const struct store_window *w)
{
    wp->p[0] = store_time_param(w->start_us, wp->start);
    wp->p[1] = store_time_param(w->end_us, wp->end);
    wp->p[2] = wp->p[0];
    wp->p[3] = wp->p[1];
}

int store_meds_list(struct db_conn *c, struct mt_arena *a, const struct store_person_filter *f,
                    bool has_person, int64_t person_id, const struct store_window *w, int64_t skip,
                    int64_t limit, struct store_medication **out, size_t *n, struct mt_err *err)
{
    if (has_person && (!store_id_ok(c, person_id) || !store_filter_has(f, person_id))) {
        *out = NULL;
        *n = 0;
        return 0;
    }
    /* One person's list needs no filter: the person was let through. */
    bool filtered = !has_person && store_filtered(f);
    const char *sql = has_person ? sql_list_person : sql_list_all;
    struct window_params wp;
    window_bind(&wp, w);
    struct store_params sp;
    if (store_params_init(&sp, a, 7 + (filtered ? f->n : 0), err) < 0)
        return -1;
    for (size_t k = 0; k < 4; k++)
        store_params_add(&sp, wp.p[k]);
    if (has_person)
        store_params_add(&sp, DB_INT(person_id));
    if (filtered) {
        sql = store_sql_persons(a, sql_list_filtered, f, err);
        if (!sql)
            return -1;
        store_params_ids(&sp, f);
    }
    store_params_add(&sp, DB_INT(limit));
    store_params_add(&sp, DB_INT(skip));
    void *items;
    if (store_query_rows(c, a, sql, sp.p, sp.n, sizeof(**out), read_med, &items, n, err) < 0)
        return -1;
    *out = items;
    return 0;
}

int store_med_person(struct db_conn *c, int64_t id, int64_t *person_id, struct mt_err *err)
{
    if (!store_id_ok(c, id))
        return mt_fail(err, MT_ENOTFOUND, not_found);
    struct db_param p[] = {DB_INT(id)};
    bool found = false;
    if (db_query_int(c, sql_person_of, p, 1, person_id, &found, err) < 0)
        return -1;
    return found ? 0 : mt_fail(err, MT_ENOTFOUND, not_found);
}

int store_med_get(struct db_conn *c, struct mt_arena *a, int64_t id, const struct store_window *w,
                  struct store_medication *out, struct mt_err *err)
{
    struct window_params wp;
    window_bind(&wp, w);
    struct db_param p[] = {wp.p[0], wp.p[1], wp.p[2], wp.p[3], DB_INT(id)};
    return fetch_med(c, a, sql_get_day, p, 5, out, err);
}

int store_med_exists(struct db_conn *c, int64_t id, struct mt_err *err)
{
    if (!store_id_ok(c, id))
        return mt_fail(err, MT_ENOTFOUND, not_found);
    struct db_param p[] = {DB_INT(id)};
    int64_t n = 0;
    if (db_query_int(c, sql_exists, p, 1, &n, NULL, err) < 0)
        return -1;
    return n ? 0 : mt_fail(err, MT_ENOTFOUND, not_found);
}

int store_med_ingredients(struct db_conn *c, struct mt_arena *a, struct store_medication *m,
                          struct mt_err *err)
{
    struct db_param p[] = {DB_INT(m->id)};
    struct db_stmt *st;
    if (db_query(c, store_sql_latest(c, sql_ingredients, sql_ingredients_mysql), p, 1, &st, err) <
        0)
        return -1;
    struct store_ingredient *items = NULL;
    size_t n = 0, cap = 0;
    bool oom = false;
    int rc;
    while ((rc = db_next(st, err)) == 1) {
        if (store_grow(a, (void **)&items, &cap, n, sizeof(*items), err) < 0) {
            rc = -1;
            break;
        }
        struct store_ingredient *g = &items[n++];
        bool has = false;
        g->name = store_col_text(st, 0, a, &oom);
        g->amount = store_col_number(st, 1, &has);
        g->unit = store_col_text(st, 2, a, &oom);
        if (!oom && (!g->name || !g->unit)) {
            g->name = g->name ? g->name : "";
            g->unit = g->unit ? g->unit : "";
        }
    }
    db_done(st);
    if (rc < 0)
        return -1;
    if (oom)
        return store_oom(err);
    m->ingredients = items;
    m->n_ingredients = n;
    return 0;
}

/* An ingredient the person has a limit for must come in a unit that
 * compares with the limit's, or the limit could not be checked. */
static int check_units(struct db_conn *c, struct mt_arena *a, int64_t person_id,
                       const struct store_ingredient *ings, size_t n, struct mt_err *err)
{
    if (n == 0)
        return 0;
    struct db_param p[] = {DB_INT(person_id)};
    struct db_stmt *st;
    if (db_query(c, sql_person_limits, p, 1, &st, err) < 0)
        return -1;
    int rc;
    while ((rc = db_next(st, err)) == 1) {
        const char *key = db_col_text(st, 0, NULL);
        const char *unit = db_col_text(st, 1, NULL);
        struct store_qty lq, iq;
        if (!key || !unit || store_qty_make(1, unit, &lq) < 0)
            continue;
        for (size_t i = 0; i < n; i++) {
            const char *k = store_name_key(a, ings[i].name);
            if (!k) {
                rc = store_oom(err);
                break;
            }
            if (strcmp(k, key) == 0 && (store_qty_make(ings[i].amount, ings[i].unit, &iq) < 0 ||
                                        !store_qty_comparable(&iq, &lq))) {
                rc = mt_fail(err, MT_ECONFLICT,
                             "Ingredient %s is given in %s, which cannot be compared with the "
                             "unit of the person's limit for it (%s)",
                             ings[i].name, ings[i].unit, unit);
                break;
            }
        }
        if (rc < 0)
            break;
    }
    db_done(st);
    return rc < 0 ? -1 : 0;
}

static int save_ingredients(struct db_conn *c, struct mt_arena *a, int64_t id,
                            const struct store_ingredient *ings, size_t n, struct mt_err *err)
{
    struct db_param pid[] = {DB_INT(id)};
    if (store_exec(c, sql_drop_ingredients, pid, 1, err) < 0)
        return -1;
    return store_med_ingredients_insert(c, a, id, ings, n, err);
}

static bool same_ingredients(const struct store_medication *m, const struct store_ingredient *g,
                             size_t n)
{
    if (m->n_ingredients != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(m->ingredients[i].name, g[i].name) != 0 ||
            m->ingredients[i].amount != g[i].amount ||
            strcmp(m->ingredients[i].unit, g[i].unit) != 0)
            return false;
    return true;
}

struct create_ctx {
    const struct store_actor *actor;
    struct mt_arena *a;
    int64_t person_id;
    const struct store_medication_fields *f;
    struct store_medication *out;
};

static int create_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct create_ctx *x = vctx;
    if (store_person_exists(c, x->person_id, false, err) < 0)
        return -1;
    const struct store_medication_fields *f = x->f;
    size_t n_ing = f->set_ingredients ? f->n_ingredients : 0;
    if (check_units(c, x->a, x->person_id, f->ingredients, n_ing, err) < 0)
        return -1;
    char now_buf[MT_TIME_BUF];
    int64_t now = store_now_seconds();
    bool rolling = f->set_window && f->rolling_24h;
    int64_t interval = f->set_interval ? f->min_interval_minutes : 0;
    bool has_amount = f->set_dose_amount && f->has_dose_amount;
    const char *unit = f->set_dose_unit ? f->dose_unit : NULL;
    struct db_param p[] = {DB_TEXT(f->name),
                           DB_TEXT(f->dosage),
                           DB_TEXT(f->frequency),
                           DB_INT(f->max_doses_per_day),
                           DB_TEXT(f->instructions),
                           DB_INT(x->person_id),
                           store_time_param(now, now_buf),
                           DB_TEXT(rolling ? "rolling_24h" : "calendar_day"),
                           interval ? DB_INT(interval) : DB_NULL,
                           has_amount ? DB_DOUBLE(f->dose_amount) : DB_NULL,
                           DB_TEXT(unit)};
    int64_t id = 0;
    if (store_insert_id(c, sql_insert, sql_insert_pg, p, MT_ARRAY_LEN(p), &id, err) < 0) {
        /* The person went away between the check and the insert. */
        if (err && err->code == MT_ECONFLICT)
            mt_fail(err, MT_ENOTFOUND, "Person not found");
        return -1;
    }
    if (save_ingredients(c, x->a, id, f->ingredients, n_ing, err) < 0)
        return -1;
    const struct mt_schedule *sched = f->set_schedule ? f->schedule : NULL;
    if (sched && store_schedule_put(c, id, sched, err) < 0)
        return -1;
    struct store_medication *o = x->out;
    memset(o, 0, sizeof(*o));
    o->id = id;
    o->person_id = x->person_id;
    o->name = f->name;
    o->dosage = f->dosage;
    o->frequency = f->frequency;
    o->max_doses_per_day = f->max_doses_per_day;
    o->instructions = f->instructions;
    o->created_at = (struct store_time){true, true, now, NULL};
    o->updated_at = (struct store_time){false, false, 0, NULL};
    o->doses_in_day = -1;
    o->last_taken_at = (struct store_time){false, false, 0, NULL};
    o->rolling_24h = rolling;
    o->min_interval_minutes = interval;
    o->has_dose_amount = has_amount;
    o->dose_amount = has_amount ? f->dose_amount : 0;
    o->dose_unit = unit;
    o->ingredients = (struct store_ingredient *)f->ingredients;
    o->n_ingredients = n_ing;
    o->has_schedule = sched != NULL;
    if (sched)
        o->schedule = *sched;
    return store_audit_change(c, x->actor, "create", "medication", id, x->person_id, NULL,
                              store_json_med(o), err);
}

int store_med_create(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                     int64_t person_id, const struct store_medication_fields *f,
                     struct store_medication *out, struct mt_err *err)
{
    struct create_ctx x = {actor, a, person_id, f, out};
    return store_write_tx(c, create_tx, &x, err);
}

struct update_ctx {
    const struct store_actor *actor;
    struct mt_arena *a;
    int64_t id;
    const struct store_medication_fields *f;
    struct store_medication *out;
};

/* The rule columns and the ingredients of a partial update: written only
 * when a value really changes, like the reference's columns. */
static int update_rules(struct db_conn *c, struct update_ctx *x, struct mt_err *err)
{
    const struct store_medication_fields *f = x->f;
    struct store_medication *cur = x->out;
    bool rolling = f->set_window ? f->rolling_24h : cur->rolling_24h;
    int64_t interval = f->set_interval ? f->min_interval_minutes : cur->min_interval_minutes;
    bool has_amount = f->set_dose_amount ? f->has_dose_amount : cur->has_dose_amount;
    double amount = f->set_dose_amount ? f->dose_amount : cur->dose_amount;
    const char *unit = f->set_dose_unit ? f->dose_unit : cur->dose_unit;
    bool rules_change = rolling != cur->rolling_24h || interval != cur->min_interval_minutes ||
                        has_amount != cur->has_dose_amount ||
                        (has_amount && amount != cur->dose_amount) ||
                        !store_same_text(unit, cur->dose_unit);
    bool ing_change =
        f->set_ingredients && !same_ingredients(cur, f->ingredients, f->n_ingredients);
    if (ing_change) {
        if (check_units(c, x->a, cur->person_id, f->ingredients, f->n_ingredients, err) < 0 ||
            save_ingredients(c, x->a, cur->id, f->ingredients, f->n_ingredients, err) < 0)
            return -1;
        cur->ingredients = (struct store_ingredient *)f->ingredients;
        cur->n_ingredients = f->n_ingredients;
    }
    if (!rules_change && !ing_change)
        return 0;
    char now_buf[MT_TIME_BUF];
    int64_t now = store_now_seconds();
    struct db_param p[] = {DB_TEXT(rolling ? "rolling_24h" : "calendar_day"),
                           interval ? DB_INT(interval) : DB_NULL,
                           has_amount ? DB_DOUBLE(amount) : DB_NULL,
                           DB_TEXT(unit),
                           store_time_param(now, now_buf),
                           DB_INT(cur->id)};
    if (store_exec(c, sql_update_rules, p, MT_ARRAY_LEN(p), err) < 0)
        return -1;
    cur->rolling_24h = rolling;
    cur->min_interval_minutes = interval;
    cur->has_dose_amount = has_amount;
    cur->dose_amount = has_amount ? amount : 0;
    cur->dose_unit = unit;
    cur->updated_at = (struct store_time){true, true, now, NULL};
    return 0;
}

/* Whether two schedules are the same (their stored forms are). */
static bool same_schedule(const struct mt_schedule *a, const struct mt_schedule *b)
{
    char ta[MT_SCHED_TIMES_BUF], tb[MT_SCHED_TIMES_BUF], da[MT_SCHED_DAYS_BUF],
        db[MT_SCHED_DAYS_BUF];
    return strcmp(mt_schedule_times_text(a, ta, sizeof(ta)),
                  mt_schedule_times_text(b, tb, sizeof(tb))) == 0 &&
           strcmp(mt_schedule_days_text(a, da, sizeof(da)),
                  mt_schedule_days_text(b, db, sizeof(db))) == 0 &&
           a->has_start == b->has_start && a->has_end == b->has_end &&
           (!a->has_start || mt_date_cmp(a->start, b->start) == 0) &&
           (!a->has_end || mt_date_cmp(a->end, b->end) == 0);
}

/* The schedule of a partial update: written, with the medication's
 * updated_at, only when it really changes. */
static int update_schedule(struct db_conn *c, struct update_ctx *x, struct mt_err *err)
{
    const struct store_medication_fields *f = x->f;
    struct store_medication *cur = x->out;
    if (!f->set_schedule)
        return 0;
    const struct mt_schedule *s = f->schedule;
    if ((!s && !cur->has_schedule) || (s && cur->has_schedule && same_schedule(s, &cur->schedule)))
        return 0;
    if (store_schedule_put(c, cur->id, s, err) < 0)
        return -1;
    char now_buf[MT_TIME_BUF];
    int64_t now = store_now_seconds();
    struct db_param p[] = {store_time_param(now, now_buf), DB_INT(cur->id)};
    if (store_exec(c, sql_touch, p, MT_ARRAY_LEN(p), err) < 0)
        return -1;
    cur->has_schedule = s != NULL;
    if (s)
        cur->schedule = *s;
    cur->updated_at = (struct store_time){true, true, now, NULL};
    return 0;
}

int store_med_schedule(struct db_conn *c, struct store_medication *m, struct mt_err *err)
{
    struct mt_err bad = {0};
    if (store_schedule_get(c, m->id, &m->has_schedule, &m->schedule, &bad) < 0) {
        if (bad.code != MT_EINVAL) {
            if (err)
                *err = bad;
            return -1;
        }
        return mt_fail(err, MT_EDB, "the stored schedule of medication %lld is not valid: %s",
                       (long long)m->id, bad.msg);
    }
    return 0;
}

static int update_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct update_ctx *x = vctx;
    const struct store_medication_fields *f = x->f;
    struct store_medication *cur = x->out;
    struct db_param pid[] = {DB_INT(x->id)};
    if (fetch_med(c, x->a, store_sql_locking(c, sql_get, sql_get_lock, sql_get_lock), pid, 1, cur,
                  err) < 0)
        return -1;
    cur->doses_in_day = -1;
    if (store_med_ingredients(c, x->a, cur, err) < 0 || store_med_schedule(c, cur, err) < 0)
        return -1;
    char *before = store_json_med(cur);
    /* In the order of sql_update's columns. */
    struct store_edit e[] = {
        STORE_EDIT_TEXT(f->set_name, f->name, &cur->name),
        STORE_EDIT_TEXT(f->set_dosage, f->dosage, &cur->dosage),
        STORE_EDIT_TEXT(f->set_frequency, f->frequency, &cur->frequency),
        STORE_EDIT_INT(f->set_max, f->max_doses_per_day, &cur->max_doses_per_day),
        STORE_EDIT_TEXT(f->set_instructions, f->instructions, &cur->instructions),
    };
    if (store_update_row(c, sql_update, e, MT_ARRAY_LEN(e), x->id, &cur->updated_at, err) < 0 ||
        update_rules(c, x, err) < 0 || update_schedule(c, x, err) < 0) {
        free(before);
        return -1;
    }
    return store_audit_update(c, x->actor, "medication", cur->id, cur->person_id, before,
                              store_json_med(cur), err);
}

int store_med_update(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                     int64_t id, const struct store_medication_fields *f,
                     struct store_medication *out, struct mt_err *err)
{
    struct update_ctx x = {actor, a, id, f, out};
    return store_write_tx(c, update_tx, &x, err);
}

struct delete_ctx {
    const struct store_actor *actor;
    struct mt_arena *a;
    int64_t id;
};

static int delete_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct delete_ctx *x = vctx;
    struct db_param pid[] = {DB_INT(x->id)};
    struct store_medication cur;
    if (fetch_med(c, x->a, store_sql_locking(c, sql_get, sql_get_lock, sql_get_lock), pid, 1, &cur,
                  err) < 0 ||
        store_med_ingredients(c, x->a, &cur, err) < 0 || store_med_schedule(c, &cur, err) < 0)
        return -1;
    /* The history keeps the medication's current name and its person (a
     * dose written by an older version during an upgrade may lack it);
     * medication_id is cleared here rather than left to ON DELETE SET NULL,
     * which older databases may not have. */
    struct db_param p[] = {DB_TEXT(cur.name), DB_INT(x->id)};
    if (store_exec(c, sql_orphan_doses, p, 2, err) < 0 ||
        store_exec(c, sql_delete, pid, 1, err) < 0)
        return -1;
    return store_audit_change(c, x->actor, "delete", "medication", cur.id, cur.person_id,
                              store_json_med(&cur), NULL, err);
}

int store_med_delete(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                     int64_t id, struct mt_err *err)
{
    struct delete_ctx x = {actor, a, id};
    return store_write_tx(c, delete_tx, &x, err);
}
