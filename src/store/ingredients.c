/* The rows of a medication's ingredients and of a dose's ingredient
 * snapshot, written the one way by every path that makes them: creating or
 * editing a medication, recording a dose, and importing a portable record.
 * Each row carries the name as written and its match key (store_name_key). */
#include "store/dosing.h"
#include "store/store_int.h"

static const char sql_med_ingredient[] =
    "INSERT INTO medication_ingredients (medication_id, position, name, name_key, amount, unit) "
    "VALUES (?, ?, ?, ?, ?, ?)";
static const char sql_dose_ingredient[] =
    "INSERT INTO dose_ingredients (dose_id, name_key, name, amount, unit) VALUES (?, ?, ?, ?, ?)";

int store_med_ingredients_insert(struct db_conn *c, struct mt_arena *a, int64_t medication_id,
                                 const struct store_ingredient *g, size_t n, struct mt_err *err)
{
    for (size_t i = 0; i < n; i++) {
        char *key = store_name_key(a, g[i].name);
        if (!key)
            return store_oom(err);
        struct db_param p[] = {DB_INT(medication_id), DB_INT((int64_t)i),     DB_TEXT(g[i].name),
                               DB_TEXT(key),          DB_DOUBLE(g[i].amount), DB_TEXT(g[i].unit)};
        if (store_exec(c, sql_med_ingredient, p, MT_ARRAY_LEN(p), err) < 0) {
            /* The primary key is (medication_id, name_key). */
            if (err && err->code == MT_ECONFLICT)
                mt_fail(err, MT_ECONFLICT, "Ingredient %s is listed twice", g[i].name);
            return -1;
        }
    }
    return 0;
}

int store_dose_ingredients_insert(struct db_conn *c, struct mt_arena *a, int64_t dose_id,
                                  const struct store_ingredient *g, size_t n, struct mt_err *err)
{
    for (size_t i = 0; i < n; i++) {
        char *key = store_name_key(a, g[i].name);
        if (!key)
            return store_oom(err);
        struct db_param p[] = {DB_INT(dose_id), DB_TEXT(key), DB_TEXT(g[i].name),
                               DB_DOUBLE(g[i].amount), DB_TEXT(g[i].unit)};
        /* Nothing reads these rows back in the same transaction, so they
         * may ride with its next statement (PostgreSQL's pipeline). */
        if (db_exec_later(c, sql_dose_ingredient, p, MT_ARRAY_LEN(p), err) < 0)
            return -1;
    }
    return 0;
}
