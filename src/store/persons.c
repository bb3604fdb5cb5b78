/* The SQL of persons: the list with medication counts in one query, create
 * (the first person becomes the default), partial update, delete with the
 * reference's last-person and default-person rules, and set-default. Writes
 * that depend on the default flag lock the persons table first. */
#include "store/reminders.h"
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#define PERSON_COLS                                                                                \
    "p.id, p.first_name, p.last_name, p.date_of_birth, p.notes, p.is_default, p.created_at, "      \
    "p.updated_at, p.timezone"

static const char sql_list[] =
    "SELECT " PERSON_COLS ", (SELECT COUNT(*) FROM medications m WHERE m.person_id = p.id) "
    "FROM persons p ORDER BY p.id LIMIT ? OFFSET ?";
static const char sql_list_filtered[] =
    "SELECT " PERSON_COLS ", (SELECT COUNT(*) FROM medications m WHERE m.person_id = p.id) "
    "FROM persons p WHERE p.id IN ({persons}) ORDER BY p.id LIMIT ? OFFSET ?";
static const char sql_get_counted[] =
    "SELECT " PERSON_COLS ", (SELECT COUNT(*) FROM medications m WHERE m.person_id = p.id) "
    "FROM persons p WHERE p.id = ?";
static const char sql_get[] = "SELECT " PERSON_COLS ", -1 FROM persons p WHERE p.id = ?";
static const char sql_get_pg[] =
    "SELECT " PERSON_COLS ", -1 FROM persons p WHERE p.id = ? FOR UPDATE";
static const char sql_count_default[] = "SELECT COUNT(*) FROM persons WHERE is_default = ?";
static const char sql_count[] = "SELECT COUNT(*) FROM persons";
static const char sql_insert[] =
    "INSERT INTO persons (first_name, last_name, date_of_birth, notes, is_default, created_at, "
    "timezone) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char sql_insert_pg[] =
    "INSERT INTO persons (first_name, last_name, date_of_birth, notes, is_default, created_at, "
    "timezone) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id";
static const char sql_update[] =
    "UPDATE persons SET first_name = ?, last_name = ?, date_of_birth = ?, notes = ?, "
    "timezone = ?, updated_at = ? WHERE id = ?";
static const char sql_lock_meds_pg[] = "SELECT id FROM medications WHERE person_id = ? FOR UPDATE";
/* Every dose the person took: of their medications, and of medications
 * deleted before (person_id; ON DELETE CASCADE would remove them too). */
static const char sql_delete_doses[] =
    "DELETE FROM doses WHERE person_id = ? OR "
    "medication_id IN (SELECT id FROM medications WHERE person_id = ?)";
static const char sql_delete_meds[] = "DELETE FROM medications WHERE person_id = ?";
static const char sql_delete_person[] = "DELETE FROM persons WHERE id = ?";
static const char sql_clear_default[] =
    "UPDATE persons SET is_default = ?, updated_at = ? WHERE is_default = ?";
static const char sql_set_default[] =
    "UPDATE persons SET is_default = ?, updated_at = ? WHERE id = ?";

static const char not_found[] = "Person not found";

/* Reads the row of a query made from PERSON_COLS plus a count column. */
static int read_person(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    struct store_person *p = item;
    bool oom = false;
    p->id = db_col_int(st, 0);
    p->first_name = store_col_text(st, 1, a, &oom);
    if (!p->first_name && !oom)
        p->first_name = "";
    p->last_name = store_col_text(st, 2, a, &oom);
    p->date_of_birth = store_col_date(st, 3, a, &oom);
    p->notes = store_col_text(st, 4, a, &oom);
    p->is_default = db_col_int(st, 5) != 0;
    p->created_at = store_col_time(st, 6, a, &oom);
    p->updated_at = store_col_time(st, 7, a, &oom);
    p->timezone = store_col_text(st, 8, a, &oom);
    p->medication_count = db_col_null(st, 9) ? -1 : db_col_int(st, 9);
    return oom ? store_oom(err) : 0;
}

/* One person by id with sql (a PERSON_COLS query); 0 found, MT_ENOTFOUND. */
static int fetch_person(struct db_conn *c, struct mt_arena *a, const char *sql, int64_t id,
                        struct store_person *out, struct mt_err *err)
{
    if (!store_id_ok(c, id))
        return mt_fail(err, MT_ENOTFOUND, not_found);
    struct db_param p[] = {DB_INT(id)};
    struct db_stmt *st;
    if (db_query(c, sql, p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    if (rc == 1)
        rc = read_person(st, a, out, err) < 0 ? -1 : 1;
    db_done(st);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return mt_fail(err, MT_ENOTFOUND, not_found);
    return 0;
}

int store_persons_list(struct db_conn *c, struct mt_arena *a, const struct store_person_filter *f,
                       int64_t skip, int64_t limit, struct store_person **out, size_t *n,
                       struct mt_err *err)
{
    const char *sql = sql_list;
    struct store_params sp;
    if (store_params_init(&sp, a, (f ? f->n : 0) + 2, err) < 0)
        return -1;
    if (store_filtered(f)) {
        sql = store_sql_persons(a, sql_list_filtered, f, err);
        if (!sql)
            return -1;
        store_params_ids(&sp, f);
    }
    store_params_add(&sp, DB_INT(limit));
    store_params_add(&sp, DB_INT(skip));
    void *items;
    if (store_query_rows(c, a, sql, sp.p, sp.n, sizeof(**out), read_person, &items, n, err) < 0)
        return -1;
    *out = items;
    return 0;
}

int store_person_get(struct db_conn *c, struct mt_arena *a, int64_t id, struct store_person *out,
                     struct mt_err *err)
{
    return fetch_person(c, a, sql_get_counted, id, out, err);
}

struct create_ctx {
    const struct store_actor *actor;
    struct mt_arena *a;
    const struct store_person_fields *f;
    struct store_person *out;
};

static int create_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct create_ctx *x = vctx;
    if (store_lock_persons(c, err) < 0)
        return -1;
    int64_t defaults = 0;
    struct db_param t[] = {DB_BOOL(true)};
    if (db_query_int(c, sql_count_default, t, 1, &defaults, NULL, err) < 0)
        return -1;
    bool is_default = defaults == 0;
    char now_buf[MT_TIME_BUF], dob_buf[MT_TIME_BUF];
    int64_t now = store_now_seconds();
    const char *dob = x->f->has_dob ? mt_format_date(x->f->dob, dob_buf, sizeof(dob_buf)) : NULL;
    const char *tz = x->f->set_timezone ? x->f->timezone : NULL;
    struct db_param p[] = {DB_TEXT(x->f->first_name),
                           DB_TEXT(x->f->last_name),
                           DB_TEXT(dob),
                           DB_TEXT(x->f->notes),
                           DB_BOOL(is_default),
                           store_time_param(now, now_buf),
                           DB_TEXT(tz)};
    int64_t id = 0;
    if (store_insert_id(c, sql_insert, sql_insert_pg, p, MT_ARRAY_LEN(p), &id, err) < 0)
        return -1;
    struct store_person *o = x->out;
    o->id = id;
    o->first_name = x->f->first_name;
    o->last_name = x->f->last_name;
    o->date_of_birth = dob ? mt_arena_strdup(x->a, dob) : NULL;
    o->notes = x->f->notes;
    o->is_default = is_default;
    o->created_at = (struct store_time){true, true, now, NULL};
    o->updated_at = (struct store_time){false, false, 0, NULL};
    o->medication_count = -1;
    o->timezone = tz;
    if (dob && !o->date_of_birth)
        return store_oom(err);
    return store_audit_change(c, x->actor, "create", "person", id, id, NULL, store_json_person(o),
                              err);
}

int store_person_create(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                        const struct store_person_fields *f, struct store_person *out,
                        struct mt_err *err)
{
    struct create_ctx x = {actor, a, f, out};
    return store_write_tx(c, create_tx, &x, err);
}

struct update_ctx {
    const struct store_actor *actor;
    struct mt_arena *a;
    int64_t id;
    const struct store_person_fields *f;
    struct store_person *out;
};

static int update_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct update_ctx *x = vctx;
    const struct store_person_fields *f = x->f;
    struct store_person *cur = x->out;
    const char *sql = store_sql_locking(c, sql_get, sql_get_pg, sql_get_pg);
    if (fetch_person(c, x->a, sql, x->id, cur, err) < 0)
        return -1;
    /* The row keeps the new date's text, so it lives in the arena. */
    const char *dob = NULL;
    if (f->set_dob && f->has_dob) {
        char dob_buf[MT_TIME_BUF];
        dob = mt_arena_strdup(x->a, mt_format_date(f->dob, dob_buf, sizeof(dob_buf)));
        if (!dob)
            return store_oom(err);
    }
    /* In the order of sql_update's columns. */
    struct store_edit e[] = {
        STORE_EDIT_TEXT(f->set_first, f->first_name, &cur->first_name),
        STORE_EDIT_TEXT(f->set_last, f->last_name, &cur->last_name),
        STORE_EDIT_TEXT(f->set_dob, dob, &cur->date_of_birth),
        STORE_EDIT_TEXT(f->set_notes, f->notes, &cur->notes),
        STORE_EDIT_TEXT(f->set_timezone, f->timezone, &cur->timezone),
    };
    char *before = store_json_person(cur);
    const char *old_tz = cur->timezone;
    if (store_update_row(c, sql_update, e, MT_ARRAY_LEN(e), x->id, &cur->updated_at, err) < 0) {
        free(before);
        return -1;
    }
    /* A new zone moves every slot: the future ones planned in the old zone
     * are cancelled with this change (store/reminders.h). */
    bool zone_changed = (old_tz == NULL) != (cur->timezone == NULL) ||
                        (old_tz && cur->timezone && strcmp(old_tz, cur->timezone) != 0);
    if (zone_changed && store_remind_zone_changed(c, x->id, err) < 0) {
        free(before);
        return -1;
    }
    return store_audit_update(c, x->actor, "person", cur->id, cur->id, before,
                              store_json_person(cur), err);
}

int store_person_update(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                        int64_t id, const struct store_person_fields *f, struct store_person *out,
                        struct mt_err *err)
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
    if (!store_id_ok(c, x->id))
        return mt_fail(err, MT_ENOTFOUND, not_found);
    if (store_lock_persons(c, err) < 0)
        return -1;
    struct db_param id[] = {DB_INT(x->id)};
    struct store_person cur;
    if (fetch_person(c, x->a, sql_get, x->id, &cur, err) < 0)
        return -1;
    bool is_default = cur.is_default;
    int64_t count = 0;
    if (db_query_int(c, sql_count, NULL, 0, &count, NULL, err) < 0)
        return -1;
    if (count == 1)
        return mt_fail(err, MT_ECONFLICT, "Cannot delete the last person in the system");
    if (is_default)
        return mt_fail(err, MT_ECONFLICT,
                       "Cannot delete the default person. Set another person as default first.");
    /* Lock the medications before their doses go, so that no dose can be
     * recorded for them in between. */
    if (db_conn_dialect(c) != DB_SQLITE && store_exec(c, sql_lock_meds_pg, id, 1, err) < 0)
        return -1;
    struct db_param id2[] = {DB_INT(x->id), DB_INT(x->id)};
    if (store_exec(c, sql_delete_doses, id2, 2, err) < 0 ||
        store_exec(c, sql_delete_meds, id, 1, err) < 0 ||
        store_exec(c, sql_delete_person, id, 1, err) < 0)
        return -1;
    /* One row for the person; their medications and doses went with them
     * (their own rows in the trail stay). */
    return store_audit_change(c, x->actor, "delete", "person", cur.id, cur.id,
                              store_json_person(&cur), NULL, err);
}

int store_person_delete(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                        int64_t id, struct mt_err *err)
{
    struct delete_ctx x = {actor, a, id};
    return store_write_tx(c, delete_tx, &x, err);
}

struct default_ctx {
    const struct store_actor *actor;
    struct mt_arena *a;
    int64_t id;
    struct store_person *out;
};

static int default_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct default_ctx *x = vctx;
    if (store_lock_persons(c, err) < 0)
        return -1;
    if (fetch_person(c, x->a, sql_get, x->id, x->out, err) < 0)
        return -1;
    char *before = store_json_person(x->out);
    char now_buf[MT_TIME_BUF];
    int64_t now = store_now_seconds();
    struct db_param clear[] = {DB_BOOL(false), store_time_param(now, now_buf), DB_BOOL(true)};
    struct db_param set[] = {DB_BOOL(true), store_time_param(now, now_buf), DB_INT(x->id)};
    if (store_exec(c, sql_clear_default, clear, 3, err) < 0 ||
        store_exec(c, sql_set_default, set, 3, err) < 0) {
        free(before);
        return -1;
    }
    x->out->is_default = true;
    x->out->updated_at = (struct store_time){true, true, now, NULL};
    return store_audit_change(c, x->actor, "set_default", "person", x->id, x->id, before,
                              store_json_person(x->out), err);
}

int store_person_set_default(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                             int64_t id, struct store_person *out, struct mt_err *err)
{
    struct default_ctx x = {actor, a, id, out};
    return store_write_tx(c, default_tx, &x, err);
}

const char *store_person_name(struct mt_arena *a, const struct store_person *p)
{
    if (p->last_name && p->last_name[0])
        return mt_arena_printf(a, "%s %s", p->first_name, p->last_name);
    return p->first_name;
}
