/* The per-person maximum of an active ingredient per 24 hours (paracetamol
 * 4,000 mg for an adult, less for a child): listing a person's limits,
 * creating or replacing one by ingredient name, and deleting one, each
 * change with its audit row. The limits are enforced by store/dosing.c. */
#include <stdlib.h>
#include <string.h>

#include "store/dosing.h"
#include "store/store_int.h"

#define LIMIT_COLS "id, person_id, name, max_per_24h, unit, created_at, updated_at"

static const char sql_list[] =
    "SELECT " LIMIT_COLS " FROM ingredient_limits WHERE person_id = ? ORDER BY name_key";
static const char sql_by_key[] =
    "SELECT " LIMIT_COLS " FROM ingredient_limits WHERE person_id = ? AND name_key = ?";
static const char sql_by_id[] =
    "SELECT " LIMIT_COLS " FROM ingredient_limits WHERE person_id = ? AND id = ?";
static const char sql_insert[] = "INSERT INTO ingredient_limits (person_id, name, name_key, "
                                 "max_per_24h, unit, created_at) VALUES (?, ?, ?, ?, ?, ?)";
static const char sql_insert_pg[] =
    "INSERT INTO ingredient_limits (person_id, name, name_key, max_per_24h, unit, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?) RETURNING id";
static const char sql_update[] = "UPDATE ingredient_limits SET name = ?, max_per_24h = ?, "
                                 "unit = ?, updated_at = ? WHERE id = ?";
static const char sql_delete[] = "DELETE FROM ingredient_limits WHERE id = ?";
/* The unit the person's medications give the ingredient in. */
static const char sql_med_units[] =
    "SELECT mi.name, mi.unit FROM medication_ingredients mi JOIN medications m ON "
    "m.id = mi.medication_id WHERE m.person_id = ? AND mi.name_key = ?";

static int read_limit(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    struct store_limit *l = item;
    bool oom = false, has = false;
    l->id = db_col_int(st, 0);
    l->person_id = db_col_int(st, 1);
    l->name = store_col_text(st, 2, a, &oom);
    l->max_per_24h = store_col_number(st, 3, &has);
    l->unit = store_col_text(st, 4, a, &oom);
    l->created_at = store_col_time(st, 5, a, &oom);
    l->updated_at = store_col_time(st, 6, a, &oom);
    if (!oom) {
        l->name = l->name ? l->name : "";
        l->unit = l->unit ? l->unit : "";
    }
    return oom ? store_oom(err) : 0;
}

/* One limit by sql with two parameters; *found says whether it exists. */
static int fetch(struct db_conn *c, struct mt_arena *a, const char *sql, struct db_param *p,
                 struct store_limit *out, bool *found, struct mt_err *err)
{
    void *items;
    size_t n = 0;
    if (store_query_rows(c, a, sql, p, 2, sizeof(*out), read_limit, &items, &n, err) < 0)
        return -1;
    *found = n > 0;
    if (n)
        *out = *(struct store_limit *)items;
    return 0;
}

int store_limits_list(struct db_conn *c, struct mt_arena *a, int64_t person_id,
                      struct store_limit **out, size_t *n, struct mt_err *err)
{
    if (store_person_exists(c, person_id, false, err) < 0)
        return -1;
    struct db_param p[] = {DB_INT(person_id)};
    void *items;
    if (store_query_rows(c, a, sql_list, p, 1, sizeof(**out), read_limit, &items, n, err) < 0)
        return -1;
    *out = items;
    return 0;
}

struct set_ctx {
    const struct store_actor *actor;
    struct mt_arena *a;
    int64_t person_id;
    const char *name, *unit;
    double max;
    struct store_limit *out;
    bool *created;
};

/* The limit's unit must compare with the unit each of the person's
 * medications gives the ingredient in. */
static int check_units(struct db_conn *c, struct set_ctx *x, const char *key, struct mt_err *err)
{
    struct store_qty lq;
    if (store_qty_make(x->max, x->unit, &lq) < 0)
        return mt_fail(err, MT_ECONFLICT, "The limit is out of range");
    struct db_param p[] = {DB_INT(x->person_id), DB_TEXT(key)};
    struct db_stmt *st;
    if (db_query(c, sql_med_units, p, 2, &st, err) < 0)
        return -1;
    int rc;
    while ((rc = db_next(st, err)) == 1) {
        const char *name = db_col_text(st, 0, NULL);
        const char *unit = db_col_text(st, 1, NULL);
        struct store_qty q;
        if (unit && (store_qty_make(1, unit, &q) < 0 || !store_qty_comparable(&q, &lq))) {
            rc = mt_fail(err, MT_ECONFLICT,
                         "The unit %s cannot be compared with %s, the unit a medication of "
                         "the person gives %s in",
                         x->unit, unit, name ? name : x->name);
            break;
        }
    }
    db_done(st);
    return rc < 0 ? -1 : 0;
}

static int set_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct set_ctx *x = vctx;
    /* A change locks the person, as recording a dose with ingredients
     * does, so a limit never changes under a running check. */
    if (store_person_exists(c, x->person_id, true, err) < 0)
        return -1;
    char *key = store_name_key(x->a, x->name);
    if (!key)
        return store_oom(err);
    if (check_units(c, x, key, err) < 0)
        return -1;
    struct db_param kp[] = {DB_INT(x->person_id), DB_TEXT(key)};
    struct store_limit cur;
    bool found = false;
    if (fetch(c, x->a, sql_by_key, kp, &cur, &found, err) < 0)
        return -1;
    char now_buf[MT_TIME_BUF];
    int64_t now = store_now_seconds();
    struct store_limit *o = x->out;
    *x->created = !found;
    if (!found) {
        struct db_param p[] = {DB_INT(x->person_id), DB_TEXT(x->name),
                               DB_TEXT(key),         DB_DOUBLE(x->max),
                               DB_TEXT(x->unit),     store_time_param(now, now_buf)};
        int64_t id = 0;
        if (store_insert_id(c, sql_insert, sql_insert_pg, p, 6, &id, err) < 0)
            return -1;
        *o = (struct store_limit){.id = id,
                                  .person_id = x->person_id,
                                  .name = x->name,
                                  .max_per_24h = x->max,
                                  .unit = x->unit,
                                  .created_at = {true, true, now, NULL}};
        return store_audit_change(c, x->actor, "create", "ingredient_limit", id, x->person_id, NULL,
                                  store_json_limit(o), err);
    }
    *o = cur;
    if (strcmp(cur.name, x->name) == 0 && cur.max_per_24h == x->max &&
        strcmp(cur.unit, x->unit) == 0)
        return 0;
    char *before = store_json_limit(&cur);
    struct db_param p[] = {DB_TEXT(x->name), DB_DOUBLE(x->max), DB_TEXT(x->unit),
                           store_time_param(now, now_buf), DB_INT(cur.id)};
    if (store_exec(c, sql_update, p, 5, err) < 0) {
        free(before);
        return -1;
    }
    o->name = x->name;
    o->max_per_24h = x->max;
    o->unit = x->unit;
    o->updated_at = (struct store_time){true, true, now, NULL};
    return store_audit_change(c, x->actor, "update", "ingredient_limit", cur.id, x->person_id,
                              before, store_json_limit(o), err);
}

int store_limit_set(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                    int64_t person_id, const char *name, double max_per_24h, const char *unit,
                    struct store_limit *out, bool *created, struct mt_err *err)
{
    struct set_ctx x = {actor, a, person_id, name, unit, max_per_24h, out, created};
    return store_write_tx(c, set_tx, &x, err);
}

struct delete_ctx {
    const struct store_actor *actor;
    struct mt_arena *a;
    int64_t person_id, id;
};

static int delete_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct delete_ctx *x = vctx;
    /* Locked as set_tx locks it. */
    if (store_person_exists(c, x->person_id, true, err) < 0)
        return -1;
    if (!store_id_ok(c, x->id))
        return mt_fail(err, MT_ENOTFOUND, "Ingredient limit not found");
    struct db_param p[] = {DB_INT(x->person_id), DB_INT(x->id)};
    struct store_limit cur;
    bool found = false;
    if (fetch(c, x->a, sql_by_id, p, &cur, &found, err) < 0)
        return -1;
    if (!found)
        return mt_fail(err, MT_ENOTFOUND, "Ingredient limit not found");
    struct db_param id[] = {DB_INT(x->id)};
    if (store_exec(c, sql_delete, id, 1, err) < 0)
        return -1;
    return store_audit_change(c, x->actor, "delete", "ingredient_limit", x->id, x->person_id,
                              store_json_limit(&cur), NULL, err);
}

int store_limit_delete(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                       int64_t person_id, int64_t id, struct mt_err *err)
{
    struct delete_ctx x = {actor, a, person_id, id};
    return store_write_tx(c, delete_tx, &x, err);
}
