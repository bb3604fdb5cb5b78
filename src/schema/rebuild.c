/* Taking over an existing MediTrack database, the rebuilding half: carries
 * out the plan adopt.c made (creates missing tables, adds columns, rebuilds
 * or alters doses and persons as the revisions did, renames foreign keys,
 * in one transaction where the dialect allows), after a safety copy of a
 * SQLite file, then stamps the revision through the engine. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "schema/schema_int.h"

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
    for (size_t i = 0; i < st_n_optional_columns; i++) {
        const struct st_optional_column *oc = &st_optional_columns[i];
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
    for (size_t i = 0; i < st_n_fk_names; i++) {
        const struct st_fk_name *f = &st_fk_names[i];
        if (!st_fk_misnamed(s, f))
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
    static const unsigned order[] = {ST_STEP_FK_NAMES,     ST_STEP_CREATE_MEDICATIONS,
                                     ST_STEP_CREATE_DOSES, ST_STEP_CREATE_PERSONS,
                                     ST_STEP_ADD_COLUMNS,  ST_STEP_ADD_PERSON_ID,
                                     ST_STEP_DOSES_0358,   ST_STEP_PERSONS_SPLIT,
                                     ST_STEP_TAKEN_AT,     ST_STEP_DOSES_PERSON};
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
        case ST_STEP_CREATE_MEDICATIONS:
            if (!s.t[ST_MEDICATIONS].exists)
                rc = exec_logged(c, create_medications[d], "creating medications", err);
            break;
        case ST_STEP_CREATE_DOSES:
            if (!s.t[ST_DOSES].exists)
                rc = exec_logged(c, create_doses[d], "creating doses", err);
            break;
        case ST_STEP_CREATE_PERSONS:
            if (!s.t[ST_PERSONS].exists)
                rc = exec_logged(c, create_persons[d], "creating persons", err);
            break;
        case ST_STEP_ADD_COLUMNS:
            rc = do_add_columns(c, &s, err);
            break;
        case ST_STEP_ADD_PERSON_ID:
            if (!st_has(&s, ST_MEDICATIONS, "person_id"))
                rc = do_add_person_id(c, &s, err);
            break;
        case ST_STEP_DOSES_0358:
            if (!st_doses_0358_done(&s))
                rc = do_doses_0358(c, &s, err);
            break;
        case ST_STEP_PERSONS_SPLIT:
            if (st_has(&s, ST_PERSONS, "name") || !st_has(&s, ST_PERSONS, "last_name"))
                rc = do_persons_split(c, &s, err);
            break;
        case ST_STEP_FK_NAMES:
            rc = do_fk_names(c, &s, err);
            break;
        case ST_STEP_TAKEN_AT:
            if (st_taken_at_needs_fix(&s))
                rc = do_taken_at(c, d, err);
            break;
        case ST_STEP_DOSES_PERSON:
            if (st_sqlite_dose_person(&s) && !st_has_ab48(&s))
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
    char *path, *dest;
    int rc = mig_sqlite_safety_copy(c, p->current ? p->current : "untracked",
                                    p->target ? p->target : "takeover", &path, &dest, err);
    if (rc == 0 && dest)
        mt_log(MT_LOG_INFO, "take-over: safety copy of %s written to %s", path, dest);
    else if (rc < 0)
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
