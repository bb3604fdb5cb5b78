/* Taking over an existing MediTrack database: find which revision its tables
 * correspond to, complete tables that lag behind (the reference's create_all
 * made missing tables from its newest models but never altered old ones; its
 * last revision failed half-way on SQLite), keep every row, and stamp the
 * revision so that the engine upgrades from there. Runs as the engine's
 * pre-flight callback under the migration lock, and for `meditrack db adopt`.
 * The reasoning is described in docs/schema.md ("Taking over a database"). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"
#include "schema/schema_int.h"

/* The steps of a take-over, in the order they are applied. */
enum {
    STEP_CREATE_MEDICATIONS = 1u << 0,
    STEP_CREATE_DOSES = 1u << 1,
    STEP_CREATE_PERSONS = 1u << 2,
    STEP_ADD_COLUMNS = 1u << 3,
    STEP_ADD_PERSON_ID = 1u << 4,
    STEP_DOSES_0358 = 1u << 5,
    STEP_PERSONS_SPLIT = 1u << 6,
    STEP_TAKEN_AT = 1u << 7,
    STEP_FK_NAMES = 1u << 8,
    STEP_DOSES_PERSON = 1u << 9,
};

/* The names MediTrack gives its foreign keys; MariaDB refers to them by name
 * in the revisions (DROP FOREIGN KEY IF EXISTS ...). */
struct fk_name {
    enum st_table table;
    const char *column;
    const char *name;
    const char *ref; /* "medications (id)" */
};
static const struct fk_name fk_names[] = {
    {ST_DOSES, "medication_id", "doses_medication_id_fkey", "medications (id)"},
    {ST_MEDICATIONS, "person_id", "medications_person_id_fkey", "persons (id)"},
    {ST_DOSES, "person_id", "doses_person_id_fkey", "persons (id)"},
};

/* ---- what a MediTrack table may contain ----------------------------------- */

static const char *const required_columns[ST_N][6] = {
    [ST_PERSONS] = {"id", "is_default", NULL},
    [ST_MEDICATIONS] = {"id", "name", "dosage", "frequency", "max_doses_per_day", NULL},
    [ST_DOSES] = {"id", "medication_id", "taken_at", NULL},
};

/* Columns every revision had (apart from the required ones) and that a
 * take-over adds, nullable, when a hand-made table lacks them. */
struct optional_column {
    enum st_table table;
    const char *name;
    const char *type[MIG_N_DIALECTS];
};
static const struct optional_column optional_columns[] = {
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

/* Columns that only some revisions have; with the optional and required
 * ones they make up every column a MediTrack table has ever had. */
static const char *const versioned_columns[ST_N][4] = {
    [ST_PERSONS] = {"name", "first_name", "last_name", NULL},
    [ST_MEDICATIONS] = {"person_id", NULL},
    [ST_DOSES] = {"medication_name", "person_id", NULL},
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
    for (size_t i = 0; i < MT_ARRAY_LEN(optional_columns); i++)
        if (optional_columns[i].table == t && strcmp(optional_columns[i].name, name) == 0)
            return true;
    return false;
}

/* ---- the DDL of the take-over ---------------------------------------------- */

/* Tables created when missing, in the shape of the revision that created
 * them (the same text as in migrations/, checked by tests/migrate). */
static const char *const create_medications[MIG_N_DIALECTS] = {
    [DB_SQLITE] = "CREATE TABLE medications (\n"
                  "\tid INTEGER NOT NULL, \n"
                  "\tname VARCHAR NOT NULL, \n"
                  "\tdosage VARCHAR NOT NULL, \n"
                  "\tfrequency VARCHAR NOT NULL, \n"
                  "\tmax_doses_per_day INTEGER NOT NULL, \n"
                  "\tinstructions VARCHAR, \n"
                  "\tcreated_at DATETIME DEFAULT (CURRENT_TIMESTAMP), \n"
                  "\tupdated_at DATETIME, \n"
                  "\tPRIMARY KEY (id)\n"
                  ");\n"
                  "CREATE INDEX ix_medications_id ON medications (id);\n",
    [DB_POSTGRES] = "CREATE TABLE medications (\n"
                    "    id SERIAL NOT NULL,\n"
                    "    name VARCHAR NOT NULL,\n"
                    "    dosage VARCHAR NOT NULL,\n"
                    "    frequency VARCHAR NOT NULL,\n"
                    "    max_doses_per_day INTEGER NOT NULL,\n"
                    "    instructions VARCHAR,\n"
                    "    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,\n"
                    "    updated_at TIMESTAMP WITH TIME ZONE,\n"
                    "    PRIMARY KEY (id)\n"
                    ");\n"
                    "CREATE INDEX ix_medications_id ON medications (id);\n",
    [DB_MYSQL] = "CREATE TABLE IF NOT EXISTS medications (\n"
                 "    id INTEGER NOT NULL AUTO_INCREMENT,\n"
                 "    name VARCHAR(255) NOT NULL,\n"
                 "    dosage VARCHAR(255) NOT NULL,\n"
                 "    frequency VARCHAR(255) NOT NULL,\n"
                 "    max_doses_per_day INTEGER NOT NULL,\n"
                 "    instructions TEXT,\n"
                 "    created_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6),\n"
                 "    updated_at DATETIME(6),\n"
                 "    PRIMARY KEY (id)\n"
                 ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n"
                 "CREATE INDEX IF NOT EXISTS ix_medications_id ON medications (id);\n",
};

static const char *const create_doses[MIG_N_DIALECTS] = {
    [DB_SQLITE] = "CREATE TABLE doses (\n"
                  "\tid INTEGER NOT NULL, \n"
                  "\tmedication_id INTEGER, \n"
                  "\ttaken_at DATETIME DEFAULT (CURRENT_TIMESTAMP), \n"
                  "\tPRIMARY KEY (id), \n"
                  "\tFOREIGN KEY(medication_id) REFERENCES medications (id) ON DELETE CASCADE\n"
                  ");\n"
                  "CREATE INDEX ix_doses_id ON doses (id);\n",
    [DB_POSTGRES] = "CREATE TABLE doses (\n"
                    "    id SERIAL NOT NULL,\n"
                    "    medication_id INTEGER,\n"
                    "    taken_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,\n"
                    "    PRIMARY KEY (id),\n"
                    "    FOREIGN KEY(medication_id) REFERENCES medications (id) ON DELETE CASCADE\n"
                    ");\n"
                    "CREATE INDEX ix_doses_id ON doses (id);\n",
    [DB_MYSQL] = "CREATE TABLE IF NOT EXISTS doses (\n"
                 "    id INTEGER NOT NULL AUTO_INCREMENT,\n"
                 "    medication_id INTEGER,\n"
                 "    taken_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6),\n"
                 "    PRIMARY KEY (id),\n"
                 "    CONSTRAINT doses_medication_id_fkey FOREIGN KEY (medication_id) "
                 "REFERENCES medications (id) ON DELETE CASCADE\n"
                 ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n"
                 "CREATE INDEX IF NOT EXISTS ix_doses_id ON doses (id);\n",
};

static const char *const create_persons[MIG_N_DIALECTS] = {
    [DB_SQLITE] = "CREATE TABLE persons (\n"
                  "\tid INTEGER NOT NULL, \n"
                  "\tname VARCHAR NOT NULL, \n"
                  "\tdate_of_birth DATE, \n"
                  "\tnotes VARCHAR, \n"
                  "\tis_default BOOLEAN NOT NULL, \n"
                  "\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP, \n"
                  "\tupdated_at DATETIME, \n"
                  "\tPRIMARY KEY (id)\n"
                  ");\n"
                  "CREATE INDEX ix_persons_id ON persons (id);\n",
    [DB_POSTGRES] = "CREATE TABLE persons (\n"
                    "    id SERIAL NOT NULL,\n"
                    "    name VARCHAR NOT NULL,\n"
                    "    date_of_birth DATE,\n"
                    "    notes VARCHAR,\n"
                    "    is_default BOOLEAN NOT NULL,\n"
                    "    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,\n"
                    "    updated_at TIMESTAMP WITH TIME ZONE,\n"
                    "    PRIMARY KEY (id)\n"
                    ");\n"
                    "CREATE INDEX ix_persons_id ON persons (id);\n",
    [DB_MYSQL] = "CREATE TABLE IF NOT EXISTS persons (\n"
                 "    id INTEGER NOT NULL AUTO_INCREMENT,\n"
                 "    name VARCHAR(255) NOT NULL,\n"
                 "    date_of_birth DATE,\n"
                 "    notes TEXT,\n"
                 "    is_default BOOLEAN NOT NULL,\n"
                 "    created_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6),\n"
                 "    updated_at DATETIME(6),\n"
                 "    PRIMARY KEY (id)\n"
                 ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n"
                 "CREATE INDEX IF NOT EXISTS ix_persons_id ON persons (id);\n",
};

/* medications.person_id as 35bddb769482 added it. */
static const char *const add_person_id[MIG_N_DIALECTS] = {
    [DB_SQLITE] = "ALTER TABLE medications ADD COLUMN person_id INTEGER DEFAULT '1' NOT NULL",
    [DB_POSTGRES] = "ALTER TABLE medications ADD COLUMN IF NOT EXISTS person_id INTEGER NOT NULL "
                    "DEFAULT 1",
    [DB_MYSQL] = "ALTER TABLE medications ADD COLUMN IF NOT EXISTS person_id INTEGER NOT NULL "
                 "DEFAULT 1",
};

/* SQLite rebuilds (foreign keys are off around the take-over's transaction,
 * so replacing a parent table fires no ON DELETE action). */
static const char sqlite_doses_0358[] =
    "CREATE TABLE _mt_new_doses (\n"
    "            id INTEGER PRIMARY KEY,\n"
    "            medication_id INTEGER REFERENCES medications(id) ON DELETE SET NULL,\n"
    "            medication_name TEXT,\n"
    "            taken_at TIMESTAMP\n"
    "        )";
static const char sqlite_persons_head[] = "CREATE TABLE _mt_new_persons (\n"
                                          "\tid INTEGER NOT NULL, \n"
                                          "\tfirst_name VARCHAR NOT NULL, \n"
                                          "\tlast_name VARCHAR, \n"
                                          "\tdate_of_birth DATE, \n"
                                          "\tnotes VARCHAR, \n"
                                          "\tis_default BOOLEAN NOT NULL, \n"
                                          "\tcreated_at DATETIME DEFAULT (CURRENT_TIMESTAMP), \n"
                                          "\tupdated_at DATETIME, \n"
                                          "\tPRIMARY KEY (id)\n"
                                          ")";

/* doses as ab48726466af leaves it on SQLite (the same text as its up.sqlite.sql). */
static const char sqlite_doses_ab48[] =
    "CREATE TABLE _mt_new_doses (\n"
    "\tid INTEGER NOT NULL, \n"
    "\tmedication_id INTEGER, \n"
    "\tmedication_name VARCHAR, \n"
    "\ttaken_at DATETIME DEFAULT (CURRENT_TIMESTAMP), \n"
    "\tperson_id INTEGER, \n"
    "\tPRIMARY KEY (id), \n"
    "\tFOREIGN KEY(medication_id) REFERENCES medications (id) ON DELETE SET NULL, \n"
    "\tFOREIGN KEY(person_id) REFERENCES persons (id) ON DELETE CASCADE\n"
    ")";

static const char pg_drop_doses_fkeys[] =
    "DO $$\n"
    "DECLARE\n"
    "    r record;\n"
    "BEGIN\n"
    "    FOR r IN SELECT conname FROM pg_constraint\n"
    "             WHERE contype = 'f' AND conrelid = 'doses'::regclass\n"
    "    LOOP\n"
    "        EXECUTE format('ALTER TABLE doses DROP CONSTRAINT %I', r.conname);\n"
    "    END LOOP;\n"
    "END\n"
    "$$";

static const char pg_taken_at[] =
    "DO $$\n"
    "BEGIN\n"
    "    IF (SELECT data_type FROM information_schema.columns\n"
    "        WHERE table_schema = current_schema() AND table_name = 'doses'\n"
    "          AND column_name = 'taken_at') = 'timestamp without time zone' THEN\n"
    "        ALTER TABLE doses ALTER COLUMN taken_at TYPE timestamp with time zone\n"
    "            USING taken_at AT TIME ZONE 'UTC';\n"
    "    END IF;\n"
    "END\n"
    "$$;\n"
    "ALTER TABLE doses ALTER COLUMN taken_at DROP NOT NULL;\n";

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
static bool has_ab48(const struct st_scan *s)
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
static bool sqlite_dose_person(const struct st_scan *s)
{
    return s->dialect == DB_SQLITE && st_has(s, ST_DOSES, "person_id");
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

static bool doses_0358_done(const struct st_scan *s)
{
    const struct db_column *mid = st_col(s, ST_DOSES, "medication_id");
    return st_has(s, ST_DOSES, "medication_name") && mid && !mid->notnull &&
           fk_is(st_fk(s, ST_DOSES, "medication_id"), "medications", "SET NULL");
}

static bool taken_at_needs_fix(const struct st_scan *s)
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

/* A catalog name that may stand in SQL text between backquotes. */
static bool plain_name(const char *n)
{
    if (!n || !*n || strlen(n) > 64)
        return false;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') ||
              *n == '_'))
            return false;
    return true;
}

/* MariaDB: a foreign key of ours under another name (a hand-made table gets
 * doses_ibfk_1) would survive the revisions next to the one they add. */
static bool fk_misnamed(const struct st_scan *s, const struct fk_name *f)
{
    const struct db_fkey *fk = st_fk(s, f->table, f->column);
    return s->dialect == DB_MYSQL && fk && fk->name && strcmp(fk->name, f->name) != 0;
}

static void plan_steps(const struct st_scan *s, enum st_level shape, struct schema_plan *p)
{
    enum db_dialect d = s->dialect;
    for (size_t i = 0; i < MT_ARRAY_LEN(fk_names); i++) {
        if (!fk_misnamed(s, &fk_names[i]))
            continue;
        p->steps |= STEP_FK_NAMES;
        mt_strlist_pushf(&p->actions, "rename the foreign key %s of %s.%s to %s",
                         st_fk(s, fk_names[i].table, fk_names[i].column)->name,
                         st_table_name(fk_names[i].table), fk_names[i].column, fk_names[i].name);
    }
    if (shape >= SL_F416) {
        if (!s->t[ST_MEDICATIONS].exists) {
            p->steps |= STEP_CREATE_MEDICATIONS;
            mt_strlist_pushf(&p->actions,
                             "create the missing table medications (as f4162eb18a25 made it)");
        }
        if (!s->t[ST_DOSES].exists) {
            p->steps |= STEP_CREATE_DOSES;
            mt_strlist_pushf(&p->actions,
                             "create the missing table doses (as f4162eb18a25 made it)");
        }
    }
    if (shape >= SL_35BD && !s->t[ST_PERSONS].exists) {
        p->steps |= STEP_CREATE_PERSONS;
        mt_strlist_pushf(&p->actions, "create the missing table persons (as 35bddb769482 made it)");
    }
    for (size_t i = 0; i < MT_ARRAY_LEN(optional_columns); i++) {
        const struct optional_column *oc = &optional_columns[i];
        if (s->t[oc->table].exists && !st_has(s, oc->table, oc->name)) {
            p->steps |= STEP_ADD_COLUMNS;
            mt_strlist_pushf(&p->actions, "add the missing column %s.%s (%s)",
                             st_table_name(oc->table), oc->name, oc->type[d]);
        }
    }
    if (shape >= SL_35BD && !st_has(s, ST_MEDICATIONS, "person_id")) {
        p->steps |= STEP_ADD_PERSON_ID;
        mt_strlist_pushf(&p->actions,
                         "add medications.person_id, every medication belonging to the default "
                         "person (created when there is none), as 35bddb769482 did");
    }
    if (shape >= SL_0358 && s->full && !doses_0358_done(s)) {
        p->steps |= STEP_DOSES_0358;
        mt_strlist_pushf(&p->actions,
                         "%s doses with medication_name (filled from the medication) and "
                         "medication_id nullable, ON DELETE SET NULL, as 03586fa62d43 did",
                         d == DB_SQLITE ? "rebuild" : "alter");
    }
    if (shape >= SL_D9C3 && s->t[ST_PERSONS].exists &&
        (st_has(s, ST_PERSONS, "name") || !st_has(s, ST_PERSONS, "last_name"))) {
        p->steps |= STEP_PERSONS_SPLIT;
        mt_strlist_pushf(&p->actions,
                         "complete persons as d9c3da4e9c05 did: first_name from name where it "
                         "is empty, last_name added if missing, name dropped");
    } else if (shape >= SL_D9C3 && (p->steps & STEP_CREATE_PERSONS)) {
        p->steps |= STEP_PERSONS_SPLIT;
        mt_strlist_pushf(&p->actions,
                         "give the new persons table first_name/last_name as d9c3da4e9c05 did");
    }
    if (sqlite_dose_person(s) && s->full && !has_ab48(s)) {
        p->steps |= STEP_DOSES_PERSON;
        mt_strlist_pushf(&p->actions,
                         "rebuild doses with the foreign key and index of doses.person_id as "
                         "ab48726466af did, keeping every dose's person");
    }
    if (shape >= SL_D9C3 && taken_at_needs_fix(s)) {
        p->steps |= STEP_TAKEN_AT;
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
                     !(sqlite_dose_person(&s) && cur_pos < pos[SL_AB48]))) {
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
    if (sqlite_dose_person(&s)) {
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

/* ---- applying ---------------------------------------------------------------- */

struct apply_ctx {
    unsigned steps;
};

static int exec_logged(struct db_conn *c, const char *sql, const char *what, struct mt_err *err)
{
    if (db_exec(c, sql, err) < 0)
        return mt_err_wrap(err, "%s", what);
    return 0;
}

/* Runs the statements built in b and releases b. A buffer that hit its
 * ceiling holds truncated SQL, which is refused rather than run. */
static int exec_buf(struct db_conn *c, struct mt_buf *b, const char *what, struct mt_err *err)
{
    int rc = 0;
    if (b->failed)
        rc = mt_fail(err, MT_EINTERNAL, "%s: the statement outgrew its buffer", what);
    else
        rc = exec_logged(c, b->data, what, err);
    mt_buf_release(b);
    return rc;
}

static int do_add_columns(struct db_conn *c, const struct st_scan *s, struct mt_err *err)
{
    for (size_t i = 0; i < MT_ARRAY_LEN(optional_columns); i++) {
        const struct optional_column *oc = &optional_columns[i];
        if (!s->t[oc->table].exists || st_has(s, oc->table, oc->name))
            continue;
        struct mt_buf b;
        mt_buf_init(&b, 1024);
        mt_buf_addf(&b, "ALTER TABLE %s ADD COLUMN %s%s %s", st_table_name(oc->table),
                    s->dialect == DB_SQLITE ? "" : "IF NOT EXISTS ", oc->name,
                    oc->type[s->dialect]);
        int rc = exec_buf(c, &b, "adding a missing column", err);
        if (rc < 0)
            return -1;
        mt_log(MT_LOG_INFO, "take-over: added the missing column %s.%s", st_table_name(oc->table),
               oc->name);
    }
    return 0;
}

static int do_add_person_id(struct db_conn *c, const struct st_scan *s, struct mt_err *err)
{
    int64_t id;
    if (st_default_person(c, s, true, &id, err) < 0)
        return -1;
    if (exec_logged(c, add_person_id[s->dialect], "adding medications.person_id", err) < 0)
        return -1;
    if (id != 1) {
        struct db_param p = DB_INT(id);
        if (db_query(c, "UPDATE medications SET person_id = ?", &p, 1, NULL, err) < 0)
            return -1;
    }
    int64_t n = 0;
    bool found;
    if (db_query_int(c, "SELECT COUNT(*) FROM medications", NULL, 0, &n, &found, err) < 0)
        return -1;
    mt_log(MT_LOG_INFO,
           "take-over: added medications.person_id; its %" PRId64 " medications belong to the "
           "default person %" PRId64,
           n, id);
    return 0;
}

static int do_doses_0358(struct db_conn *c, const struct st_scan *s, struct mt_err *err)
{
    bool had_name = st_has(s, ST_DOSES, "medication_name");
    const char *name_expr = had_name ? "d.medication_name"
                                     : "(SELECT m.name FROM medications m "
                                       "WHERE m.id = d.medication_id)";
    struct mt_buf b;
    mt_buf_init(&b, 1u << 14);
    switch (s->dialect) {
    case DB_SQLITE:
        mt_buf_addf(&b,
                    "%s;\n"
                    "INSERT INTO _mt_new_doses (id, medication_id, medication_name, taken_at)\n"
                    "SELECT d.id, d.medication_id, %s, d.taken_at FROM doses d;\n"
                    "DROP TABLE doses;\n"
                    "ALTER TABLE _mt_new_doses RENAME TO doses;\n"
                    "CREATE INDEX ix_doses_id ON doses (id);\n",
                    sqlite_doses_0358, name_expr);
        break;
    case DB_POSTGRES:
        if (!had_name)
            mt_buf_adds(&b, "ALTER TABLE doses ADD COLUMN medication_name VARCHAR;\n"
                            "UPDATE doses SET medication_name = m.name FROM medications m "
                            "WHERE m.id = doses.medication_id;\n");
        mt_buf_addf(&b,
                    "%s;\n"
                    "ALTER TABLE doses ALTER COLUMN medication_id DROP NOT NULL;\n"
                    "ALTER TABLE doses ADD CONSTRAINT doses_medication_id_fkey FOREIGN KEY "
                    "(medication_id) REFERENCES medications (id) ON DELETE SET NULL;\n",
                    pg_drop_doses_fkeys);
        break;
    case DB_MYSQL:
        if (!had_name)
            mt_buf_adds(&b, "ALTER TABLE doses ADD COLUMN IF NOT EXISTS medication_name "
                            "VARCHAR(255) AFTER medication_id;\n"
                            "UPDATE doses JOIN medications ON medications.id = doses.medication_id "
                            "SET doses.medication_name = medications.name "
                            "WHERE doses.medication_name IS NULL;\n");
        mt_buf_adds(&b, "ALTER TABLE doses DROP FOREIGN KEY IF EXISTS doses_medication_id_fkey;\n"
                        "ALTER TABLE doses MODIFY medication_id INTEGER NULL;\n"
                        "ALTER TABLE doses ADD CONSTRAINT doses_medication_id_fkey FOREIGN KEY IF "
                        "NOT EXISTS (medication_id) REFERENCES medications (id) ON DELETE SET "
                        "NULL;\n");
        break;
    }
    int rc = exec_buf(c, &b, "completing doses", err);
    if (rc == 0)
        mt_log(MT_LOG_INFO, "take-over: doses now has medication_name%s and ON DELETE SET NULL",
               had_name ? "" : " (filled from the medications)");
    return rc;
}

static int do_persons_split(struct db_conn *c, const struct st_scan *s, struct mt_err *err)
{
    bool has_name = st_has(s, ST_PERSONS, "name"), has_first = st_has(s, ST_PERSONS, "first_name");
    bool has_last = st_has(s, ST_PERSONS, "last_name");
    int64_t filled = 0;
    if (has_name) {
        bool found;
        if (db_query_int(c,
                         has_first ? "SELECT COUNT(*) FROM persons WHERE first_name IS NULL OR "
                                     "first_name = ''"
                                   : "SELECT COUNT(*) FROM persons",
                         NULL, 0, &filled, &found, err) < 0)
            return -1;
    }
    struct mt_buf b;
    mt_buf_init(&b, 1u << 14);
    const char *first = !has_name   ? "first_name"
                        : has_first ? "CASE WHEN first_name IS NULL OR first_name = '' THEN name "
                                      "ELSE first_name END"
                                    : "name";
    switch (s->dialect) {
    case DB_SQLITE:
        mt_buf_addf(&b,
                    "%s;\n"
                    "INSERT INTO _mt_new_persons (id, first_name, last_name, date_of_birth, notes, "
                    "is_default, created_at, updated_at)\n"
                    "SELECT id, %s, %s, date_of_birth, notes, is_default, created_at, updated_at "
                    "FROM persons;\n"
                    "DROP TABLE persons;\n"
                    "ALTER TABLE _mt_new_persons RENAME TO persons;\n"
                    "CREATE INDEX ix_persons_id ON persons (id);\n",
                    sqlite_persons_head, first, has_last ? "last_name" : "NULL");
        break;
    case DB_POSTGRES:
        mt_buf_adds(&b, "ALTER TABLE persons ADD COLUMN IF NOT EXISTS first_name VARCHAR;\n"
                        "ALTER TABLE persons ADD COLUMN IF NOT EXISTS last_name VARCHAR;\n");
        if (has_name)
            mt_buf_adds(&b, "UPDATE persons SET first_name = name WHERE first_name IS NULL OR "
                            "first_name = '';\n");
        mt_buf_adds(&b, "ALTER TABLE persons ALTER COLUMN first_name SET NOT NULL;\n"
                        "ALTER TABLE persons DROP COLUMN IF EXISTS name;\n");
        break;
    case DB_MYSQL:
        mt_buf_adds(&b, "ALTER TABLE persons ADD COLUMN IF NOT EXISTS first_name VARCHAR(255) "
                        "AFTER id;\n"
                        "ALTER TABLE persons ADD COLUMN IF NOT EXISTS last_name VARCHAR(255) "
                        "AFTER first_name;\n");
        if (has_name)
            mt_buf_adds(&b, "UPDATE persons SET first_name = name WHERE first_name IS NULL OR "
                            "first_name = '';\n");
        mt_buf_adds(&b, "ALTER TABLE persons MODIFY first_name VARCHAR(255) NOT NULL;\n"
                        "ALTER TABLE persons DROP COLUMN IF EXISTS name;\n");
        break;
    }
    int rc = exec_buf(c, &b, "completing persons", err);
    if (rc == 0)
        mt_log(MT_LOG_INFO,
               "take-over: completed persons (first_name filled from name for %" PRId64
               " persons%s)",
               filled, has_name ? ", name dropped" : "");
    return rc;
}

static int do_fk_names(struct db_conn *c, const struct st_scan *s, struct mt_err *err)
{
    for (size_t i = 0; i < MT_ARRAY_LEN(fk_names); i++) {
        const struct fk_name *f = &fk_names[i];
        if (!fk_misnamed(s, f))
            continue;
        const struct db_fkey *fk = st_fk(s, f->table, f->column);
        if (!plain_name(fk->name))
            return mt_fail(err, MT_ECONFLICT,
                           SCHEMA_REFUSED "the foreign key of %s.%s has a name this version "
                                          "cannot handle; rename it to %s by hand",
                           st_table_name(f->table), f->column, f->name);
        const char *rule = strcmp(fk->on_delete, "CASCADE") == 0    ? "CASCADE"
                           : strcmp(fk->on_delete, "SET NULL") == 0 ? "SET NULL"
                                                                    : "RESTRICT";
        struct mt_buf b;
        mt_buf_init(&b, 2048);
        mt_buf_addf(&b,
                    "ALTER TABLE %s DROP FOREIGN KEY IF EXISTS `%s`;\n"
                    "ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY IF NOT EXISTS (%s) "
                    "REFERENCES %s ON DELETE %s;\n",
                    st_table_name(f->table), fk->name, st_table_name(f->table), f->name, f->column,
                    f->ref, rule);
        int rc = exec_buf(c, &b, "renaming a foreign key", err);
        if (rc < 0)
            return -1;
        mt_log(MT_LOG_INFO, "take-over: the foreign key of %s.%s is now named %s",
               st_table_name(f->table), f->column, f->name);
    }
    return 0;
}

/* SQLite: doses rebuilt in the shape of ab48726466af. A linked dose takes
 * its medication's person, a dose of a deleted medication keeps its own, and
 * a person that does not exist becomes NULL (listed by `meditrack db
 * check`), as the repairs would have done. */
static int do_doses_person(struct db_conn *c, struct mt_err *err)
{
    struct mt_buf b;
    mt_buf_init(&b, 1u << 14);
    mt_buf_addf(&b,
                "%s;\n"
                "INSERT INTO _mt_new_doses (id, medication_id, medication_name, taken_at, "
                "person_id)\n"
                "SELECT d.id, d.medication_id, d.medication_name, d.taken_at, "
                "(SELECT p.id FROM persons p WHERE p.id = COALESCE(m.person_id, d.person_id)) "
                "FROM doses d LEFT JOIN medications m ON m.id = d.medication_id;\n"
                "DROP TABLE doses;\n"
                "ALTER TABLE _mt_new_doses RENAME TO doses;\n"
                "CREATE INDEX ix_doses_id ON doses (id);\n"
                "CREATE INDEX ix_doses_medication_id_taken_at ON doses (medication_id, "
                "taken_at);\n"
                "CREATE INDEX ix_doses_person_id_taken_at ON doses (person_id, taken_at);\n",
                sqlite_doses_ab48);
    int rc = exec_buf(c, &b, "completing doses.person_id", err);
    if (rc == 0)
        mt_log(MT_LOG_INFO, "take-over: doses now has the foreign key and index of person_id");
    return rc;
}

static int do_taken_at(struct db_conn *c, enum db_dialect d, struct mt_err *err)
{
    const char *sql = d == DB_POSTGRES
                          ? pg_taken_at
                          : "ALTER TABLE doses MODIFY taken_at DATETIME(6) NULL DEFAULT "
                            "CURRENT_TIMESTAMP(6)";
    if (exec_logged(c, sql, "completing doses.taken_at", err) < 0)
        return -1;
    mt_log(MT_LOG_INFO, "take-over: doses.taken_at is now a nullable timestamp in UTC");
    return 0;
}

/* Applies the planned steps; each looks at the tables again first, so a
 * repeated run (MariaDB after an interruption, or a retried transaction)
 * does only what is still missing. */
static int apply_steps(struct db_conn *c, void *vctx, struct mt_err *err)
{
    const struct apply_ctx *a = vctx;
    enum db_dialect d = db_conn_dialect(c);
    static const unsigned order[] = {
        STEP_FK_NAMES,    STEP_CREATE_MEDICATIONS, STEP_CREATE_DOSES, STEP_CREATE_PERSONS,
        STEP_ADD_COLUMNS, STEP_ADD_PERSON_ID,      STEP_DOSES_0358,   STEP_PERSONS_SPLIT,
        STEP_TAKEN_AT,    STEP_DOSES_PERSON};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < MT_ARRAY_LEN(order); i++) {
        if (!(a->steps & order[i]))
            continue;
        struct st_scan s;
        rc = st_scan_load(c, true, &s, err);
        if (rc < 0) {
            st_scan_release(&s);
            break;
        }
        switch (order[i]) {
        case STEP_CREATE_MEDICATIONS:
            if (!s.t[ST_MEDICATIONS].exists)
                rc = exec_logged(c, create_medications[d], "creating medications", err);
            break;
        case STEP_CREATE_DOSES:
            if (!s.t[ST_DOSES].exists)
                rc = exec_logged(c, create_doses[d], "creating doses", err);
            break;
        case STEP_CREATE_PERSONS:
            if (!s.t[ST_PERSONS].exists)
                rc = exec_logged(c, create_persons[d], "creating persons", err);
            break;
        case STEP_ADD_COLUMNS:
            rc = do_add_columns(c, &s, err);
            break;
        case STEP_ADD_PERSON_ID:
            if (!st_has(&s, ST_MEDICATIONS, "person_id"))
                rc = do_add_person_id(c, &s, err);
            break;
        case STEP_DOSES_0358:
            if (!doses_0358_done(&s))
                rc = do_doses_0358(c, &s, err);
            break;
        case STEP_PERSONS_SPLIT:
            if (st_has(&s, ST_PERSONS, "name") || !st_has(&s, ST_PERSONS, "last_name"))
                rc = do_persons_split(c, &s, err);
            break;
        case STEP_FK_NAMES:
            rc = do_fk_names(c, &s, err);
            break;
        case STEP_TAKEN_AT:
            if (taken_at_needs_fix(&s))
                rc = do_taken_at(c, d, err);
            break;
        case STEP_DOSES_PERSON:
            if (sqlite_dose_person(&s) && !has_ab48(&s))
                rc = do_doses_person(c, err);
            break;
        default:
            break;
        }
        st_scan_release(&s);
    }
    return rc;
}

/* SQLite: whether foreign keys are enforced on c. */
static int sqlite_fk_enabled(struct db_conn *c, bool *on, struct mt_err *err)
{
    int64_t v = 0;
    bool found = false;
    if (db_query_int(c, "PRAGMA foreign_keys", NULL, 0, &v, &found, err) < 0)
        return -1;
    *on = found && v != 0;
    return 0;
}

/* A safety copy of a SQLite file before the take-over alters its tables,
 * named like the engine's copies so that its rotation covers it. */
static int sqlite_backup(struct db_conn *c, const struct schema_plan *p, struct mt_err *err)
{
    char *path = NULL;
    /* The shared in-memory database has a name that looks like a path. */
    if (db_sqlite_is_memory(c))
        return 0;
    if (db_query_text(c, "SELECT file FROM pragma_database_list WHERE name = 'main'", NULL, 0,
                      &path, err) < 0)
        return -1;
    if (!path || !*path) {
        free(path);
        return 0; /* :memory: or a temporary database */
    }
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[64];
    int ms = (int)(ts.tv_nsec / 1000000) % 1000;
    snprintf(stamp, sizeof(stamp), "%04d%02d%02dT%02d%02d%02d.%03dZ", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, ms);
    char *dest = mt_xasprintf("%s.backup-%s-to-%s-%s", path, p->current ? p->current : "untracked",
                              p->target ? p->target : "takeover", stamp);
    int rc = db_sqlite_backup(c, dest, err);
    if (rc == 0)
        mt_log(MT_LOG_INFO, "take-over: safety copy of %s written to %s", path, dest);
    else
        mt_err_wrap(err, "safety copy before the take-over (BACKUP_BEFORE_MIGRATE=false skips it)");
    free(dest);
    free(path);
    return rc;
}

int schema_plan_apply(struct db_conn *c, const struct mig_chain *ch, const struct schema_plan *p,
                      struct mt_err *err)
{
    if (!p->applies)
        return 0;
    if (p->steps && p->backup && db_conn_dialect(c) == DB_SQLITE && sqlite_backup(c, p, err) < 0)
        return -1;
    struct apply_ctx a = {.steps = p->steps};
    int rc = 0;
    if (p->steps) {
        switch (db_conn_dialect(c)) {
        case DB_SQLITE: {
            /* Rebuilding a table that others refer to must fire no ON DELETE
             * action; the pragma only works outside a transaction. */
            bool fk_on = false;
            if (db_in_tx(c))
                return mt_fail(err, MT_EINTERNAL,
                               "the take-over must not run inside a transaction");
            if (sqlite_fk_enabled(c, &fk_on, err) < 0)
                return -1;
            if (fk_on && db_exec(c, "PRAGMA foreign_keys=OFF", err) < 0)
                return -1;
            rc = db_tx_run(c, true, apply_steps, &a, err);
            if (fk_on) {
                struct mt_err e = {0};
                if (db_exec(c, "PRAGMA foreign_keys=ON", &e) < 0 && rc == 0) {
                    *err = e;
                    rc = -1;
                }
            }
            break;
        }
        case DB_POSTGRES:
            rc = db_tx_run(c, true, apply_steps, &a, err);
            break;
        case DB_MYSQL:
            /* DDL commits on its own here; every step is safe to repeat. */
            rc = apply_steps(c, &a, err);
            break;
        }
        if (rc < 0)
            return mt_err_wrap(err, "take-over");
    }
    if (p->target) {
        struct mig_options o;
        mig_options_init(&o);
        o.backup = false;
        o.run_preflight = false;
        if (mig_stamp(c, ch, p->target, false, &o, err) < 0)
            return mt_err_wrap(err, "stamping %s", p->target);
    }
    return 0;
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
