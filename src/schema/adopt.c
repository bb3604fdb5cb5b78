/* Taking over an existing MediTrack database, the detection half: find
 * which revision its tables correspond to and plan how to complete tables
 * that lag behind (the reference's create_all made missing tables from its
 * newest models but never altered old ones; its last revision failed
 * half-way on SQLite) so that every row is kept and the revision can be
 * stamped; rebuild.c carries the plan out. Also the entry points the
 * engine's pre-flight callback and `meditrack db adopt` use, and the
 * registration of the repair hook. The reasoning is described in
 * docs/schema.md ("Taking over a database"). */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "schema/schema_int.h"

/* ---- what a MediTrack table may contain ----------------------------------- */

const struct st_fk_name st_fk_names[] = {
    {ST_DOSES, "medication_id", "doses_medication_id_fkey", "medications (id)"},
    {ST_MEDICATIONS, "person_id", "medications_person_id_fkey", "persons (id)"},
    {ST_DOSES, "person_id", "doses_person_id_fkey", "persons (id)"},
};
const size_t st_n_fk_names = MT_ARRAY_LEN(st_fk_names);

static const char *const required_columns[ST_N][6] = {
    [ST_PERSONS] = {"id", "is_default", NULL},
    [ST_MEDICATIONS] = {"id", "name", "dosage", "frequency", "max_doses_per_day", NULL},
    [ST_DOSES] = {"id", "medication_id", "taken_at", NULL},
};

/* Columns every revision had (apart from the required ones) and that a
 * take-over adds, nullable, when a hand-made table lacks them. */
const struct st_optional_column st_optional_columns[] = {
    {ST_PERSONS,
     "date_of_birth",
     {[DB_SQLITE] = "DATE", [DB_POSTGRES] = "DATE", [DB_MYSQL] = "DATE"}},
    {ST_PERSONS,
     "notes",
     {[DB_SQLITE] = "VARCHAR", [DB_POSTGRES] = "VARCHAR", [DB_MYSQL] = "TEXT"}},
    /* SQLite cannot add a column whose default is CURRENT_TIMESTAMP. */
    {ST_PERSONS,
     "created_at",
     {[DB_SQLITE] = "DATETIME",
      [DB_POSTGRES] = "TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP",
      [DB_MYSQL] = "DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6)"}},
    {ST_PERSONS,
     "updated_at",
     {[DB_SQLITE] = "DATETIME",
      [DB_POSTGRES] = "TIMESTAMP WITH TIME ZONE",
      [DB_MYSQL] = "DATETIME(6)"}},
    {ST_MEDICATIONS,
     "instructions",
     {[DB_SQLITE] = "VARCHAR", [DB_POSTGRES] = "VARCHAR", [DB_MYSQL] = "TEXT"}},
    {ST_MEDICATIONS,
     "created_at",
     {[DB_SQLITE] = "DATETIME",
      [DB_POSTGRES] = "TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP",
      [DB_MYSQL] = "DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6)"}},
    {ST_MEDICATIONS,
     "updated_at",
     {[DB_SQLITE] = "DATETIME",
      [DB_POSTGRES] = "TIMESTAMP WITH TIME ZONE",
      [DB_MYSQL] = "DATETIME(6)"}},
};
const size_t st_n_optional_columns = MT_ARRAY_LEN(st_optional_columns);

/* Columns that only some revisions have; with the optional and required
 * ones they make up every column a MediTrack table has ever had. The
 * columns of 8c4d2b7e1f05 (dosing rules, dose statuses) and 3a7c5e9b1d42
 * (persons.timezone) are known so that
 * a database at or after it passes the pre-flight check; an untracked
 * database that has them is stamped lower and the upgrade then stops at
 * that revision (SQLite cannot add a column twice), see docs/schema.md. */
static const char *const versioned_columns[ST_N][12] = {
    [ST_PERSONS] = {"name", "first_name", "last_name", "timezone", NULL},
    [ST_MEDICATIONS] = {"person_id", "limit_window", "min_interval_minutes", "dose_amount",
                        "dose_unit", NULL},
    [ST_DOSES] = {"medication_name", "person_id", "status", "status_reason", "note", "recorded_by",
                  "recorded_by_id", "recorded_at", "override_rule", "override_reason", "updated_at",
                  NULL},
};

static bool in_list(const char *const *list, const char *name)
{
    for (; *list; list++)
        if (strcmp(*list, name) == 0)
            return true;
    return false;
}

static bool known_column(enum st_table t, const char *name)
{
    if (in_list(required_columns[t], name) || in_list(versioned_columns[t], name))
        return true;
    for (size_t i = 0; i < st_n_optional_columns; i++)
        if (st_optional_columns[i].table == t && strcmp(st_optional_columns[i].name, name) == 0)
            return true;
    return false;
}

/* ---- planning ------------------------------------------------------------------ */

/* Positions of MediTrack's revisions in ch; false when ch is not
 * MediTrack's chain (for example a test chain), which the take-over leaves
 * alone. */
static bool chain_positions(const struct mig_chain *ch, long pos[SL_N])
{
    for (int l = 0; l < SL_N; l++) {
        pos[l] = mig_chain_pos(ch, st_level_rev((enum st_level)l));
        if (pos[l] < 0 || (l > 0 && pos[l] <= pos[l - 1]))
            return false;
    }
    return true;
}

/* The highest level whose revision is at or below chain position p. */
static enum st_level level_at(const long pos[SL_N], long p)
{
    enum st_level best = SL_NONE;
    for (int l = 0; l < SL_N; l++)
        if (pos[l] <= p)
            best = (enum st_level)l;
    return best;
}

static const char *level_desc(enum st_level l)
{
    switch (l) {
    case SL_F416:
    case SL_588F:
        return "f4162eb18a25/588f4ae43933";
    case SL_35BD:
        return "35bddb769482";
    case SL_0358:
        return "03586fa62d43";
    case SL_D9C3:
        return "d9c3da4e9c05";
    case SL_44FC:
        return "44fcd0160844";
    case SL_2574:
        return "2574915efc76";
    case SL_AB48:
        return "ab48726466af";
    case SL_5D2E:
        return "5d2e8c1a9f37";
    case SL_8C4D:
        return "8c4d2b7e1f05";
    case SL_3A7C:
        return "3a7c5e9b1d42";
    case SL_NONE:
    case SL_N:
    default:
        return "none";
    }
}

/* Checks that each existing MediTrack table is one the take-over knows: the
 * required columns are there, and on SQLite (where revisions rebuild tables)
 * no column would be lost. */
static int validate(const struct st_scan *s, struct schema_plan *p, struct mt_err *err)
{
    for (int t = 0; t < ST_N; t++) {
        const struct st_shape *sh = &s->t[t];
        if (!sh->exists)
            continue;
        for (size_t i = 0; required_columns[t][i]; i++)
            if (!st_has(s, (enum st_table)t, required_columns[t][i]))
                return mt_fail(err, MT_ECONFLICT,
                               SCHEMA_REFUSED
                               "table %s has no column \"%s\", so it is not MediTrack's; nothing "
                               "was changed (rename or fix it, then run `meditrack db adopt`)",
                               st_table_name((enum st_table)t), required_columns[t][i]);
        if (t == ST_PERSONS && !st_has(s, ST_PERSONS, "name") &&
            !st_has(s, ST_PERSONS, "first_name"))
            return mt_fail(err, MT_ECONFLICT,
                           SCHEMA_REFUSED
                           "table persons has neither \"name\" nor \"first_name\"; nothing was "
                           "changed (rename or fix it, then run `meditrack db adopt`)");
        for (size_t i = 0; i < sh->ncols; i++) {
            if (known_column((enum st_table)t, sh->cols[i].name))
                continue;
            if (s->dialect == DB_SQLITE)
                return mt_fail(err, MT_ECONFLICT,
                               SCHEMA_REFUSED
                               "SQLite table %s has a column \"%s\" of its own that the rebuilds "
                               "would lose; nothing was changed (move its data, drop it, and "
                               "upgrade again)",
                               st_table_name((enum st_table)t), sh->cols[i].name);
            mt_strlist_pushf(&p->found, "table %s has a column \"%s\" of its own: kept as it is",
                             st_table_name((enum st_table)t), sh->cols[i].name);
        }
    }
    return 0;
}

static bool fk_is(const struct db_fkey *fk, const char *ref, const char *on_delete)
{
    return fk && fk->ref_table && strcmp(fk->ref_table, ref) == 0 && fk->on_delete &&
           strcmp(fk->on_delete, on_delete) == 0;
}

/* The markers of 44fcd0160844 (foreign keys and the daily index) on top of
 * the d9c3da4e9c05 shapes. */
static bool has_44fc(const struct st_scan *s)
{
    static const char *const daily[] = {"medication_id", "taken_at"};
    return s->t[ST_PERSONS].exists && st_has(s, ST_PERSONS, "first_name") &&
           !st_has(s, ST_PERSONS, "name") && st_has(s, ST_MEDICATIONS, "person_id") &&
           st_has(s, ST_DOSES, "medication_name") && st_has_index(s, ST_DOSES, daily, 2) &&
           fk_is(st_fk(s, ST_MEDICATIONS, "person_id"), "persons", "CASCADE") &&
           fk_is(st_fk(s, ST_DOSES, "medication_id"), "medications", "SET NULL");
}

/* The markers of ab48726466af: doses.person_id with its foreign key and its
 * index. */
bool st_has_ab48(const struct st_scan *s)
{
    static const char *const by_person[] = {"person_id", "taken_at"};
    return st_has(s, ST_DOSES, "person_id") && st_has_index(s, ST_DOSES, by_person, 2) &&
           fk_is(st_fk(s, ST_DOSES, "person_id"), "persons", "CASCADE");
}

/* SQLite only: ab48726466af rebuilds doses from the medications, so it must
 * not run again on a doses table that already has person_id (the person of a
 * deleted medication's dose would be lost). Such tables are stamped at
 * ab48726466af instead; 2574915efc76 does nothing on SQLite. PostgreSQL and
 * MariaDB run the revision again, which keeps what is there. */
bool st_sqlite_dose_person(const struct st_scan *s)
{
    return s->dialect == DB_SQLITE && st_has(s, ST_DOSES, "person_id");
}

/* SQLite only: 8c4d2b7e1f05 adds columns to medications and doses, which
 * SQLite cannot add twice (PostgreSQL and MariaDB run it again: every
 * statement there is IF NOT EXISTS). Tables that already have them are
 * stamped at that revision, which needs everything before it there too. */
static bool sqlite_dosing_columns(const struct st_scan *s)
{
    return s->dialect == DB_SQLITE &&
           (st_has(s, ST_DOSES, "status") || st_has(s, ST_MEDICATIONS, "limit_window"));
}

/* Everything 8c4d2b7e1f05 and the revisions before it leave on SQLite
 * besides the constraints of 44fcd0160844. */
static bool sqlite_at_8c4d(const struct st_scan *s)
{
    static const char *const dose_cols[] = {"status",        "status_reason",   "note",
                                            "recorded_by",   "recorded_by_id",  "recorded_at",
                                            "override_rule", "override_reason", "updated_at",
                                            "person_id"};
    static const char *const med_cols[] = {"limit_window", "min_interval_minutes", "dose_amount",
                                           "dose_unit"};
    for (size_t i = 0; i < MT_ARRAY_LEN(dose_cols); i++)
        if (!st_has(s, ST_DOSES, dose_cols[i]))
            return false;
    for (size_t i = 0; i < MT_ARRAY_LEN(med_cols); i++)
        if (!st_has(s, ST_MEDICATIONS, med_cols[i]))
            return false;
    for (int k = 0; k < ST_N_AUTH; k++)
        if (!s->auth[k])
            return false;
    for (int k = 0; k < ST_N_DOSING; k++)
        if (!s->dosing[k])
            return false;
    return true;
}

/* SQLite only: 3a7c5e9b1d42 adds persons.timezone, which SQLite cannot add
 * twice either; a persons table that has it is stamped there, which needs
 * 8c4d2b7e1f05 and the tables of schedules and reminders too. */
static bool sqlite_sched_column(const struct st_scan *s)
{
    return s->dialect == DB_SQLITE && st_has(s, ST_PERSONS, "timezone");
}

static bool sqlite_at_3a7c(const struct st_scan *s)
{
    if (!sqlite_at_8c4d(s))
        return false;
    for (int k = 0; k < ST_N_SCHED; k++)
        if (!s->sched[k])
            return false;
    return true;
}

/* The columns of d9c3da4e9c05 and later in all three tables, and no leftover. */
static bool final_columns(const struct st_scan *s)
{
    for (int t = 0; t < ST_N; t++)
        if (!s->t[t].exists || s->tmp[t])
            return false;
    return st_has(s, ST_PERSONS, "first_name") && st_has(s, ST_PERSONS, "last_name") &&
           !st_has(s, ST_PERSONS, "name") && st_has(s, ST_MEDICATIONS, "person_id") &&
           st_has(s, ST_DOSES, "medication_name");
}

bool st_doses_0358_done(const struct st_scan *s)
{
    const struct db_column *mid = st_col(s, ST_DOSES, "medication_id");
    return st_has(s, ST_DOSES, "medication_name") && mid && !mid->notnull &&
           fk_is(st_fk(s, ST_DOSES, "medication_id"), "medications", "SET NULL");
}

bool st_taken_at_needs_fix(const struct st_scan *s)
{
    const struct db_column *c = st_col(s, ST_DOSES, "taken_at");
    if (!c)
        return false;
    switch (s->dialect) {
    case DB_POSTGRES:
        return c->notnull || strcmp(c->type, "timestamp with time zone") != 0;
    case DB_MYSQL:
        return c->notnull || strcmp(c->type, "datetime(6)") != 0;
    case DB_SQLITE:
    default:
        /* Declared types are only names on SQLite; 44fcd0160844 rebuilds doses
         * with a nullable taken_at in any case. */
        return false;
    }
}

/* Whether the columns of the existing table k are exactly those that
 * 5d2e8c1a9f37 gives it. */
static int auth_table_is_ours(struct db_conn *c, int k, bool *ours, struct mt_err *err)
{
    const struct st_auth_table *at = &st_auth_tables[k];
    struct db_column *cols = NULL;
    size_t n = 0;
    if (db_columns(c, at->name, &cols, &n, err) < 0)
        return -1;
    size_t want = 0;
    while (at->columns[want])
        want++;
    *ours = n == want;
    for (size_t i = 0; i < n && *ours; i++)
        *ours = in_list(at->columns, cols[i].name);
    db_columns_free(cols, n);
    return 0;
}

/* The access-control tables of 5d2e8c1a9f37. While that revision is still
 * to run, it creates each table only when none of that name exists, and its
 * downgrade drops them: a table of the same name that is someone else's
 * would be taken for ours and later dropped, so the take-over refuses it.
 * One that is ours (a database stamped back, or taken over at head) is
 * kept, and the revision runs again around it. Once the revision has run,
 * a missing table is only reported. */
static int check_auth_tables(struct db_conn *c, const struct st_scan *s, bool pending,
                             struct schema_plan *p, struct mt_err *err)
{
    for (int k = 0; k < ST_N_AUTH; k++) {
        const char *name = st_auth_tables[k].name;
        if (!pending) {
            if (!s->auth[k])
                mt_strlist_pushf(&p->found,
                                 "warning: alembic_version says %s, but the table %s of "
                                 "5d2e8c1a9f37 is missing",
                                 p->current, name);
            continue;
        }
        if (!s->auth[k])
            continue;
        bool ours = false;
        if (auth_table_is_ours(c, k, &ours, err) < 0)
            return -1;
        if (!ours)
            return mt_fail(err, MT_ECONFLICT,
                           SCHEMA_REFUSED
                           "a table %s exists whose columns are not those of MediTrack's "
                           "access-control table (revision 5d2e8c1a9f37 creates it, and its "
                           "downgrade would drop it); nothing was changed (rename that table, "
                           "then upgrade again)",
                           name);
        mt_strlist_pushf(&p->found,
                         "table %s: the access-control table of 5d2e8c1a9f37, kept (that "
                         "revision creates only what is missing)",
                         name);
    }
    return 0;
}

static void describe_tables(const struct st_scan *s, const enum st_level lv[ST_N], bool half,
                            struct schema_plan *p)
{
    for (int t = 0; t < ST_N; t++) {
        if (!s->t[t].exists) {
            mt_strlist_pushf(&p->found, "table %s: missing", st_table_name((enum st_table)t));
            continue;
        }
        const char *why = "";
        if (t == ST_PERSONS)
            why = half ? "first_name and name both present (a split left half-done)"
                  : st_has(s, ST_PERSONS, "first_name") ? "first_name/last_name"
                                                        : "name";
        else if (t == ST_MEDICATIONS)
            why = st_has(s, ST_MEDICATIONS, "person_id") ? "person_id" : "no person_id";
        else
            why = st_has(s, ST_DOSES, "medication_name") ? "medication_name" : "no medication_name";
        mt_strlist_pushf(&p->found, "table %s: %s -> revision %s", st_table_name((enum st_table)t),
                         why, level_desc(lv[t]));
    }
    for (int t = 0; t < ST_N; t++)
        if (s->tmp[t])
            mt_strlist_pushf(
                &p->found,
                "leftover table _alembic_tmp_%s: its rows are salvaged into %s and it is "
                "removed by the repairs of the next revisions",
                st_table_name((enum st_table)t), st_table_name((enum st_table)t));
    if (s->others.n) {
        struct mt_buf b;
        mt_buf_init(&b, 4096);
        for (size_t i = 0; i < s->others.n; i++)
            mt_buf_addf(&b, "%s%s", i ? ", " : "", s->others.items[i]);
        mt_strlist_pushf(&p->found, "other tables, not MediTrack's (left alone): %s", b.data);
        mt_buf_release(&b);
    }
}
bool st_fk_misnamed(const struct st_scan *s, const struct st_fk_name *f)
{
    const struct db_fkey *fk = st_fk(s, f->table, f->column);
    return s->dialect == DB_MYSQL && fk && fk->name && strcmp(fk->name, f->name) != 0;
}

static void plan_steps(const struct st_scan *s, enum st_level shape, struct schema_plan *p)
{
    enum db_dialect d = s->dialect;
    for (size_t i = 0; i < st_n_fk_names; i++) {
        if (!st_fk_misnamed(s, &st_fk_names[i]))
            continue;
        p->steps |= ST_STEP_FK_NAMES;
        mt_strlist_pushf(&p->actions, "rename the foreign key %s of %s.%s to %s",
                         st_fk(s, st_fk_names[i].table, st_fk_names[i].column)->name,
                         st_table_name(st_fk_names[i].table), st_fk_names[i].column,
                         st_fk_names[i].name);
    }
    if (shape >= SL_F416) {
        if (!s->t[ST_MEDICATIONS].exists) {
            p->steps |= ST_STEP_CREATE_MEDICATIONS;
            mt_strlist_pushf(&p->actions,
                             "create the missing table medications (as f4162eb18a25 made it)");
        }
        if (!s->t[ST_DOSES].exists) {
            p->steps |= ST_STEP_CREATE_DOSES;
            mt_strlist_pushf(&p->actions,
                             "create the missing table doses (as f4162eb18a25 made it)");
        }
    }
    if (shape >= SL_35BD && !s->t[ST_PERSONS].exists) {
        p->steps |= ST_STEP_CREATE_PERSONS;
        mt_strlist_pushf(&p->actions, "create the missing table persons (as 35bddb769482 made it)");
    }
    for (size_t i = 0; i < st_n_optional_columns; i++) {
        const struct st_optional_column *oc = &st_optional_columns[i];
        if (s->t[oc->table].exists && !st_has(s, oc->table, oc->name)) {
            p->steps |= ST_STEP_ADD_COLUMNS;
            mt_strlist_pushf(&p->actions, "add the missing column %s.%s (%s)",
                             st_table_name(oc->table), oc->name, oc->type[d]);
        }
    }
    if (shape >= SL_35BD && !st_has(s, ST_MEDICATIONS, "person_id")) {
        p->steps |= ST_STEP_ADD_PERSON_ID;
        mt_strlist_pushf(&p->actions,
                         "add medications.person_id, every medication belonging to the default "
                         "person (created when there is none), as 35bddb769482 did");
    }
    if (shape >= SL_0358 && s->full && !st_doses_0358_done(s)) {
        p->steps |= ST_STEP_DOSES_0358;
        mt_strlist_pushf(&p->actions,
                         "%s doses with medication_name (filled from the medication) and "
                         "medication_id nullable, ON DELETE SET NULL, as 03586fa62d43 did",
                         d == DB_SQLITE ? "rebuild" : "alter");
    }
    if (shape >= SL_D9C3 && s->t[ST_PERSONS].exists &&
        (st_has(s, ST_PERSONS, "name") || !st_has(s, ST_PERSONS, "last_name"))) {
        p->steps |= ST_STEP_PERSONS_SPLIT;
        mt_strlist_pushf(&p->actions,
                         "complete persons as d9c3da4e9c05 did: first_name from name where it "
                         "is empty, last_name added if missing, name dropped");
    } else if (shape >= SL_D9C3 && (p->steps & ST_STEP_CREATE_PERSONS)) {
        p->steps |= ST_STEP_PERSONS_SPLIT;
        mt_strlist_pushf(&p->actions,
                         "give the new persons table first_name/last_name as d9c3da4e9c05 did");
    }
    if (st_sqlite_dose_person(s) && s->full && !st_has_ab48(s)) {
        p->steps |= ST_STEP_DOSES_PERSON;
        mt_strlist_pushf(&p->actions,
                         "rebuild doses with the foreign key and index of doses.person_id as "
                         "ab48726466af did, keeping every dose's person");
    }
    if (shape >= SL_D9C3 && st_taken_at_needs_fix(s)) {
        p->steps |= ST_STEP_TAKEN_AT;
        mt_strlist_pushf(&p->actions, "make doses.taken_at a nullable %s as d9c3da4e9c05 did%s",
                         d == DB_POSTGRES ? "timestamp with time zone" : "DATETIME(6)",
                         d == DB_POSTGRES ? " (naive values are read as UTC)" : "");
    }
}

int schema_plan_make(struct db_conn *c, const struct mig_chain *ch, struct schema_plan *out,
                     struct mt_err *err)
{
    memset(out, 0, sizeof(*out));
    out->shape_level = SL_NONE;
    out->backup = true;
    long pos[SL_N];
    if (!chain_positions(ch, pos))
        return 0;
    struct mt_strlist rows = {0};
    if (mig_current_all(c, &rows, err) < 0)
        return -1;
    if (rows.n > 1) {
        /* Branches: the engine refuses them with its own message. */
        mt_strlist_release(&rows);
        return 0;
    }
    long cur_pos = -1;
    if (rows.n == 1) {
        out->tracked = true;
        out->current = mt_xstrdup(rows.items[0]);
        cur_pos = mig_chain_pos(ch, out->current);
    }
    mt_strlist_release(&rows);
    if (cur_pos == -2)
        return 0; /* unknown revision: the engine refuses it before touching anything */
    out->applies = true;

    /* Columns first: a database stamped at or after 44fcd0160844 whose
     * tables have the final columns needs nothing, and indexes and foreign
     * keys are slow to read on MariaDB, where this runs before every upgrade. */
    struct st_scan s;
    int rc = st_scan_load(c, false, &s, err);
    if (rc == 0 && !(out->tracked && cur_pos >= pos[SL_44FC] && final_columns(&s) &&
                     !(st_sqlite_dose_person(&s) && cur_pos < pos[SL_AB48]))) {
        st_scan_release(&s);
        rc = st_scan_load(c, true, &s, err);
    }
    if (rc < 0) {
        st_scan_release(&s);
        return -1;
    }
    for (int t = 0; t < ST_N; t++)
        out->has_tables = out->has_tables || s.t[t].exists;
    mt_strlist_pushf(&out->found, "alembic_version: %s",
                     out->tracked      ? out->current
                     : s.version_table ? "empty"
                                       : "missing");
    if (check_auth_tables(c, &s, cur_pos < pos[SL_5D2E], out, err) < 0) {
        st_scan_release(&s);
        return -1;
    }

    if (!out->has_tables) {
        if (out->tracked && cur_pos >= 0) {
            rc = mt_fail(err, MT_ECONFLICT,
                         SCHEMA_REFUSED
                         "alembic_version says %s but persons, medications and doses are "
                         "missing; nothing was changed (if the data is gone: `meditrack db "
                         "stamp base --purge`)",
                         out->current);
        } else {
            mt_strlist_pushf(&out->found, "no MediTrack tables: a fresh database");
            for (size_t i = 0; i < s.others.n; i++)
                mt_strlist_pushf(&out->found, "other table %s: not MediTrack's, left alone",
                                 s.others.items[i]);
        }
        st_scan_release(&s);
        return rc;
    }
    if (validate(&s, out, err) < 0) {
        st_scan_release(&s);
        return -1;
    }

    /* The revision each table corresponds to. */
    enum st_level lv[ST_N] = {SL_NONE, SL_NONE, SL_NONE};
    bool half = false;
    if (s.t[ST_PERSONS].exists) {
        half = st_has(&s, ST_PERSONS, "name") && st_has(&s, ST_PERSONS, "first_name");
        lv[ST_PERSONS] = st_has(&s, ST_PERSONS, "first_name") ? SL_D9C3 : SL_35BD;
    }
    if (s.t[ST_MEDICATIONS].exists)
        lv[ST_MEDICATIONS] = st_has(&s, ST_MEDICATIONS, "person_id") ? SL_35BD : SL_F416;
    if (s.t[ST_DOSES].exists)
        lv[ST_DOSES] = st_has(&s, ST_DOSES, "medication_name") ? SL_0358 : SL_F416;
    describe_tables(&s, lv, half, out);

    enum st_level top = SL_NONE;
    for (int t = 0; t < ST_N; t++)
        if (lv[t] > top)
            top = lv[t];
    /* Tables with the constraints of 44fcd0160844 are stamped there, never
     * later: 2574915efc76 moves PostgreSQL sequences past the highest ids
     * (rows inserted with explicit ids leave them behind), and repeating it
     * is harmless. Revisions added after it must be recognised here too, or
     * be safe to repeat (docs/schema.md): ab48726466af is safe to repeat on
     * PostgreSQL and MariaDB; on SQLite, where its rebuild is not and
     * 2574915efc76 does nothing, a doses table with person_id is stamped at
     * ab48726466af, and refused below 44fcd0160844. */
    bool m44 = s.full ? has_44fc(&s) : true;
    if (m44)
        top = SL_44FC;
    if (st_sqlite_dose_person(&s)) {
        if (!m44) {
            st_scan_release(&s);
            return mt_fail(err, MT_ECONFLICT,
                           SCHEMA_REFUSED
                           "SQLite table doses has person_id (revision ab48726466af) but the "
                           "other tables are older than 44fcd0160844, whose rebuilds would lose "
                           "it; nothing was changed (restore a consistent copy, or drop "
                           "doses.person_id and upgrade again)");
        }
        top = SL_AB48;
    }
    if (sqlite_dosing_columns(&s)) {
        if (!m44 || !sqlite_at_8c4d(&s)) {
            st_scan_release(&s);
            return mt_fail(err, MT_ECONFLICT,
                           SCHEMA_REFUSED
                           "SQLite tables medications and doses have columns of revision "
                           "8c4d2b7e1f05 (dosing rules), but the database lacks other parts "
                           "of it or of the revisions before it, and SQLite cannot add those "
                           "columns again; nothing was changed (restore a consistent copy)");
        }
        top = SL_8C4D;
    }
    if (sqlite_sched_column(&s)) {
        if (!m44 || !sqlite_at_3a7c(&s)) {
            st_scan_release(&s);
            return mt_fail(err, MT_ECONFLICT,
                           SCHEMA_REFUSED
                           "SQLite table persons has the column timezone of revision "
                           "3a7c5e9b1d42 (schedules and reminders), but the database lacks "
                           "other parts of it or of the revisions before it, and SQLite cannot "
                           "add that column again; nothing was changed (restore a consistent "
                           "copy)");
        }
        top = SL_3A7C;
    }
    if (!out->tracked && top == SL_F416)
        top = SL_588F; /* 588f4ae43933 changes no table: nothing is left to do there */

    long target_pos = pos[top] > cur_pos ? pos[top] : cur_pos;
    enum st_level at = level_at(pos, target_pos);
    enum st_level shape = at > SL_D9C3 ? SL_D9C3 : at;
    out->shape_level = shape;
    plan_steps(&s, shape, out);
    out->changes_schema = out->steps != 0;
    bool mixed = half || out->steps != 0;

    if (out->tracked && target_pos > cur_pos)
        mt_strlist_pushf(&out->found, "the tables are ahead of alembic_version: they match %s (%s)",
                         ch->revs[target_pos].id,
                         half             ? "a split of persons.name left half-done"
                         : top == SL_AB48 ? "doses already has person_id"
                         : top == SL_8C4D ? "doses already has the columns of 8c4d2b7e1f05"
                         : top == SL_3A7C ? "persons already has the column of 3a7c5e9b1d42"
                                          : "tables created by the reference's create_all");
    else if (out->tracked && out->steps)
        mt_strlist_pushf(&out->found,
                         "some tables lag behind alembic_version %s: they are completed",
                         out->current);
    else if (!out->tracked)
        mt_strlist_pushf(&out->found, "untracked database: %s revision %s",
                         mixed ? "tables from different revisions; they are completed to"
                               : "the tables match",
                         ch->revs[target_pos].id);
    if (out->tracked && at >= SL_44FC && !m44)
        mt_strlist_pushf(&out->found,
                         "warning: alembic_version says %s, but the foreign keys or the index "
                         "ix_doses_medication_id_taken_at of 44fcd0160844 are missing",
                         out->current);
    if (out->tracked && at >= SL_AB48 && !st_has(&s, ST_DOSES, "person_id"))
        mt_strlist_pushf(
            &out->found,
            "warning: alembic_version says %s, but doses.person_id of ab48726466af is missing",
            out->current);

    if (!out->tracked || target_pos > cur_pos) {
        out->target = ch->revs[target_pos].id;
        mt_strlist_pushf(&out->actions, "stamp %s (was %s); the upgrade continues from there",
                         out->target, out->tracked ? out->current : "untracked");
    }
    st_scan_release(&s);
    return 0;
}

void schema_plan_release(struct schema_plan *p)
{
    free(p->current);
    mt_strlist_release(&p->found);
    mt_strlist_release(&p->actions);
    memset(p, 0, sizeof(*p));
}

int schema_prepare(struct db_conn *c, const struct mig_chain *ch, bool dry_run, struct mt_err *err)
{
    return schema_prepare_opts(c, ch, dry_run, true, err);
}

int schema_prepare_opts(struct db_conn *c, const struct mig_chain *ch, bool dry_run, bool backup,
                        struct mt_err *err)
{
    struct schema_plan p;
    if (schema_plan_make(c, ch, &p, err) < 0) {
        schema_plan_release(&p);
        return -1;
    }
    p.backup = backup;
    if (!p.applies || (!p.target && !p.steps)) {
        /* A fresh database, or one consistent with its stamp: only say so
         * when asked for details. */
        for (size_t i = 0; i < p.found.n && p.applies && p.has_tables; i++)
            if (strncmp(p.found.items[i], "warning:", 8) == 0)
                mt_log(MT_LOG_WARN, "%s", p.found.items[i]);
        if (p.applies && !p.has_tables && !p.tracked)
            mt_log(MT_LOG_DEBUG, "take-over: no MediTrack tables, a fresh database");
        schema_plan_release(&p);
        return 0;
    }
    for (size_t i = 0; i < p.found.n; i++)
        mt_log(MT_LOG_INFO, "take-over: found %s", p.found.items[i]);
    for (size_t i = 0; i < p.actions.n; i++)
        mt_log(MT_LOG_INFO, "take-over: %s%s", dry_run ? "would " : "", p.actions.items[i]);
    int rc = dry_run ? 0 : schema_plan_apply(c, ch, &p, err);
    schema_plan_release(&p);
    return rc;
}

/* ---- registration with the engine --------------------------------------------- */

static int repair_hook(struct db_conn *c, const struct mig_revision *rev, bool upgrade,
                       struct mt_err *err)
{
    if (!upgrade)
        return 0;
    /* From d9c3da4e9c05 on, a leftover that cannot be salvaged yet must stop
     * the upgrade: that revision drops _alembic_tmp_doses. */
    bool final =
        strcmp(rev->id, st_level_rev(SL_D9C3)) == 0 || strcmp(rev->id, st_level_rev(SL_44FC)) == 0;
    return schema_repair(c, final, err);
}

static int preflight(struct db_conn *c, const struct mig_chain *ch, const struct mig_options *o,
                     struct mt_err *err)
{
    if (!c)
        return 0;
    return schema_prepare_opts(c, ch, false, o ? o->backup : true, err);
}

int schema_register(struct mt_err *err)
{
    if (mig_hook_register(SCHEMA_REPAIR_HOOK, repair_hook) < 0)
        return mt_fail(err, MT_ELIMIT, "cannot register the hook %s: the table is full",
                       SCHEMA_REPAIR_HOOK);
    mig_set_preflight(preflight);
    return 0;
}
