/* A snapshot of MediTrack's tables as the database reports them, for the
 * take-over (adopt.c, rebuild.c) and the repairs (repair.c): which of persons,
 * medications and doses exist with which columns, indexes and foreign keys,
 * which _alembic_tmp_* leftovers exist, and which other tables are there (to
 * be left alone). Built only from the introspection calls of db.h. */
#include <stdlib.h>
#include <string.h>

#include "schema/schema_int.h"

static const char *const table_names[ST_N] = {
    [ST_PERSONS] = "persons",
    [ST_MEDICATIONS] = "medications",
    [ST_DOSES] = "doses",
};

static const char *const tmp_names[ST_N] = {
    [ST_PERSONS] = "_alembic_tmp_persons",
    [ST_MEDICATIONS] = "_alembic_tmp_medications",
    [ST_DOSES] = "_alembic_tmp_doses",
};

static const char *const level_revs[SL_N] = {
    [SL_F416] = "f4162eb18a25", [SL_588F] = "588f4ae43933", [SL_35BD] = "35bddb769482",
    [SL_0358] = "03586fa62d43", [SL_D9C3] = "d9c3da4e9c05", [SL_44FC] = "44fcd0160844",
    [SL_2574] = "2574915efc76", [SL_AB48] = "ab48726466af", [SL_5D2E] = "5d2e8c1a9f37",
    [SL_8C4D] = "8c4d2b7e1f05", [SL_3A7C] = "3a7c5e9b1d42",
};

const char *const st_dosing_tables[ST_N_DOSING] = {
    "medication_ingredients", "ingredient_limits", "dose_ingredients",
    "idempotency_keys",       "audit_log",         "audit_head",
};

const char *const st_sched_tables[ST_N_SCHED] = {
    "medication_schedules",  "calendar_tokens", "reminder_settings",
    "notification_channels", "reminder_slots",  "notification_deliveries",
};

const struct st_auth_table st_auth_tables[ST_N_AUTH] = {
    {"accounts",
     {"id", "login", "display_name", "password_hash", "role", "enabled", "person_id", "created_at",
      "updated_at", NULL}},
    {"account_persons", {"account_id", "person_id", NULL}},
    {"auth_sessions",
     {"id", "account_id", "token_hash", "created_at", "last_seen_at", "expires_at", "user_agent",
      "address", NULL}},
    {"api_tokens",
     {"id", "account_id", "name", "token_hash", "prefix", "scope", "person_id", "created_at",
      "expires_at", "last_used_at", "revoked_at", NULL}},
    {"auth_throttle", {"throttle_key", "failures", "last_failure_at", "locked_until", NULL}},
    {"auth_setup_tokens", {"token_hash", "created_at", "expires_at", NULL}},
};

const char *st_table_name(enum st_table t)
{
    return table_names[t];
}

const char *st_level_rev(enum st_level l)
{
    return l >= 0 && l < SL_N ? level_revs[l] : NULL;
}

/* Tables of the engine itself: MediTrack's, but never part of a shape. */
static bool engine_table(const char *name)
{
    return strcmp(name, "alembic_version") == 0 || strcmp(name, MIG_AUDIT_TABLE) == 0;
}

static int load_shape(struct db_conn *c, const char *name, bool full, struct st_shape *sh,
                      struct mt_err *err)
{
    sh->exists = true;
    if (db_columns(c, name, &sh->cols, &sh->ncols, err) < 0)
        return -1;
    if (!full)
        return 0;
    if (db_indexes(c, name, &sh->ix, &sh->nix, err) < 0)
        return -1;
    return db_fkeys(c, name, &sh->fk, &sh->nfk, err);
}

int st_scan_load(struct db_conn *c, bool full, struct st_scan *s, struct mt_err *err)
{
    memset(s, 0, sizeof(*s));
    s->dialect = db_conn_dialect(c);
    s->full = full;
    struct mt_strlist all;
    if (db_tables(c, &all, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < all.n && rc == 0; i++) {
        const char *name = all.items[i];
        bool ours = false;
        for (int t = 0; t < ST_N && !ours; t++) {
            if (strcmp(name, table_names[t]) == 0) {
                rc = load_shape(c, name, full, &s->t[t], err);
                ours = true;
            } else if (strcmp(name, tmp_names[t]) == 0) {
                s->tmp[t] = true;
                ours = true;
            }
        }
        for (int k = 0; k < ST_N_AUTH && !ours; k++) {
            if (strcmp(name, st_auth_tables[k].name) == 0) {
                s->auth[k] = true;
                ours = true;
            }
        }
        for (int k = 0; k < ST_N_DOSING && !ours; k++) {
            if (strcmp(name, st_dosing_tables[k]) == 0) {
                s->dosing[k] = true;
                ours = true;
            }
        }
        for (int k = 0; k < ST_N_SCHED && !ours; k++) {
            if (strcmp(name, st_sched_tables[k]) == 0) {
                s->sched[k] = true;
                ours = true;
            }
        }
        if (strcmp(name, "alembic_version") == 0)
            s->version_table = true;
        if (!ours && !engine_table(name))
            mt_strlist_push(&s->others, name);
    }
    mt_strlist_release(&all);
    return rc;
}

void st_scan_release(struct st_scan *s)
{
    for (int t = 0; t < ST_N; t++) {
        db_columns_free(s->t[t].cols, s->t[t].ncols);
        db_indexes_free(s->t[t].ix, s->t[t].nix);
        db_fkeys_free(s->t[t].fk, s->t[t].nfk);
    }
    mt_strlist_release(&s->others);
    memset(s, 0, sizeof(*s));
}

const struct db_column *st_col(const struct st_scan *s, enum st_table t, const char *name)
{
    const struct st_shape *sh = &s->t[t];
    for (size_t i = 0; sh->exists && i < sh->ncols; i++)
        if (strcmp(sh->cols[i].name, name) == 0)
            return &sh->cols[i];
    return NULL;
}

const struct db_fkey *st_fk(const struct st_scan *s, enum st_table t, const char *column)
{
    const struct st_shape *sh = &s->t[t];
    for (size_t i = 0; sh->exists && i < sh->nfk; i++)
        if (sh->fk[i].column && strcmp(sh->fk[i].column, column) == 0)
            return &sh->fk[i];
    return NULL;
}

bool st_has_index(const struct st_scan *s, enum st_table t, const char *const *cols, size_t n)
{
    const struct st_shape *sh = &s->t[t];
    for (size_t i = 0; sh->exists && i < sh->nix; i++) {
        const struct db_index *ix = &sh->ix[i];
        if (ix->n_columns != n)
            continue;
        size_t k = 0;
        while (k < n && strcmp(ix->columns[k], cols[k]) == 0)
            k++;
        if (k == n)
            return true;
    }
    return false;
}
