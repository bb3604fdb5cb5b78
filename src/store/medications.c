/* The SQL of medications: the list and the single medication with the doses
 * of a day counted by correlated subqueries (one statement, using the
 * (medication_id, taken_at) index), create for an existing person, partial
 * update, and delete that keeps the dose history under the medication's
 * name. */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#define MED_COLS                                                                                   \
    "m.id, m.person_id, m.name, m.dosage, m.frequency, m.max_doses_per_day, m.instructions, "      \
    "m.created_at, m.updated_at"
#define DAY_COLS                                                                                   \
    "(SELECT COUNT(*) FROM doses d WHERE d.medication_id = m.id AND d.taken_at >= ? AND "          \
    "d.taken_at < ?), (SELECT MAX(d.taken_at) FROM doses d WHERE d.medication_id = m.id AND "      \
    "d.taken_at >= ? AND d.taken_at < ?)"

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
static const char sql_person_exists[] = "SELECT COUNT(*) FROM persons WHERE id = ?";
static const char sql_insert[] =
    "INSERT INTO medications (name, dosage, frequency, max_doses_per_day, instructions, "
    "person_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char sql_insert_pg[] =
    "INSERT INTO medications (name, dosage, frequency, max_doses_per_day, instructions, "
    "person_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id";
static const char sql_update[] =
    "UPDATE medications SET name = ?, dosage = ?, frequency = ?, max_doses_per_day = ?, "
    "instructions = ?, updated_at = ? WHERE id = ?";
/* person_id is set before medication_id is cleared: MariaDB evaluates the
 * assignments in order. */
static const char sql_orphan_doses[] =
    "UPDATE doses SET medication_name = ?, person_id = (SELECT m.person_id FROM medications m "
    "WHERE m.id = doses.medication_id), medication_id = NULL WHERE medication_id = ?";
static const char sql_delete[] = "DELETE FROM medications WHERE id = ?";
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
    m->doses_in_day = db_col_null(st, 9) ? -1 : db_col_int(st, 9);
    m->last_taken_at = store_col_time(st, 10, a, &oom);
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

struct create_ctx {
    int64_t person_id;
    const struct store_medication_fields *f;
    struct store_medication *out;
};

static int create_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct create_ctx *x = vctx;
    if (!store_id_ok(c, x->person_id))
        return mt_fail(err, MT_ENOTFOUND, "Person not found");
    struct db_param pid[] = {DB_INT(x->person_id)};
    int64_t found = 0;
    if (db_query_int(c, sql_person_exists, pid, 1, &found, NULL, err) < 0)
        return -1;
    if (!found)
        return mt_fail(err, MT_ENOTFOUND, "Person not found");
    char now_buf[MT_TIME_BUF];
    int64_t now = store_now_seconds();
    const struct store_medication_fields *f = x->f;
    struct db_param p[] = {DB_TEXT(f->name),
                           DB_TEXT(f->dosage),
                           DB_TEXT(f->frequency),
                           DB_INT(f->max_doses_per_day),
                           DB_TEXT(f->instructions),
                           DB_INT(x->person_id),
                           store_time_param(now, now_buf)};
    int64_t id = 0;
    if (store_insert_id(c, sql_insert, sql_insert_pg, p, 7, &id, err) < 0) {
        /* The person went away between the check and the insert. */
        if (err && err->code == MT_ECONFLICT)
            mt_fail(err, MT_ENOTFOUND, "Person not found");
        return -1;
    }
    struct store_medication *o = x->out;
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
    return 0;
}

int store_med_create(struct db_conn *c, struct mt_arena *a, int64_t person_id,
                     const struct store_medication_fields *f, struct store_medication *out,
                     struct mt_err *err)
{
    (void)a;
    struct create_ctx x = {person_id, f, out};
    return store_write_tx(c, create_tx, &x, err);
}

struct update_ctx {
    struct mt_arena *a;
    int64_t id;
    const struct store_medication_fields *f;
    struct store_medication *out;
};

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
    /* In the order of sql_update's columns. */
    struct store_edit e[] = {
        STORE_EDIT_TEXT(f->set_name, f->name, &cur->name),
        STORE_EDIT_TEXT(f->set_dosage, f->dosage, &cur->dosage),
        STORE_EDIT_TEXT(f->set_frequency, f->frequency, &cur->frequency),
        STORE_EDIT_INT(f->set_max, f->max_doses_per_day, &cur->max_doses_per_day),
        STORE_EDIT_TEXT(f->set_instructions, f->instructions, &cur->instructions),
    };
    return store_update_row(c, sql_update, e, MT_ARRAY_LEN(e), x->id, &cur->updated_at, err);
}

int store_med_update(struct db_conn *c, struct mt_arena *a, int64_t id,
                     const struct store_medication_fields *f, struct store_medication *out,
                     struct mt_err *err)
{
    struct update_ctx x = {a, id, f, out};
    return store_write_tx(c, update_tx, &x, err);
}

static const char sql_name[] = "SELECT name FROM medications WHERE id = ?";
static const char sql_name_lock[] = "SELECT name FROM medications WHERE id = ? FOR UPDATE";

static int delete_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    const int64_t *id = vctx;
    if (!store_id_ok(c, *id))
        return mt_fail(err, MT_ENOTFOUND, not_found);
    struct db_param pid[] = {DB_INT(*id)};
    char *name = NULL;
    if (db_query_text(c, store_sql_locking(c, sql_name, sql_name_lock, sql_name_lock), pid, 1,
                      &name, err) < 0)
        return -1;
    if (!name)
        return mt_fail(err, MT_ENOTFOUND, not_found);
    /* The history keeps the medication's current name and its person (a
     * dose written by an older version during an upgrade may lack it);
     * medication_id is cleared here rather than left to ON DELETE SET NULL,
     * which older databases may not have. */
    struct db_param p[] = {DB_TEXT(name), DB_INT(*id)};
    int rc = store_exec(c, sql_orphan_doses, p, 2, err);
    free(name);
    if (rc < 0 || store_exec(c, sql_delete, pid, 1, err) < 0)
        return -1;
    return 0;
}

int store_med_delete(struct db_conn *c, int64_t id, struct mt_err *err)
{
    return store_write_tx(c, delete_tx, &id, err);
}
