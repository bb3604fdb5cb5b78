/* The data repairs MediTrack's revisions run before they add constraints
 * (hook "meditrack_repair", see migrations/ and docs/schema.md): rows of a
 * leftover _alembic_tmp_* table are salvaged into the real table before the
 * leftover is dropped, exactly one person is the default, medications whose
 * person is missing go to the default person, and doses whose medication is
 * missing are unlinked with their medication_name kept; where doses have a
 * person (from ab48726466af on), a linked dose's person is its medication's
 * and a person that does not exist is cleared. Nothing is deleted, and every
 * repair is logged with its count. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "schema/schema_int.h"

/* Every column a MediTrack table has had in some revision. Only these names
 * are ever put into SQL text by the salvage. */
static const char *const known_columns[ST_N][10] = {
    [ST_PERSONS] = {"id", "name", "first_name", "last_name", "date_of_birth", "notes", "is_default",
                    "created_at", "updated_at", NULL},
    [ST_MEDICATIONS] = {"id", "name", "dosage", "frequency", "max_doses_per_day", "instructions",
                        "created_at", "updated_at", "person_id", NULL},
    [ST_DOSES] = {"id", "medication_id", "medication_name", "taken_at", "person_id", NULL},
};

/* Columns that tell two rows with the same id apart: when a leftover row
 * shares its id with a row of the real table but differs in these, it is a
 * different record and is kept under a new id. */
static const char *const identity_columns[ST_N][4] = {
    [ST_PERSONS] = {"first_name", "name", "date_of_birth", NULL},
    [ST_MEDICATIONS] = {"name", "dosage", "frequency", NULL},
    [ST_DOSES] = {"medication_id", "taken_at", NULL},
};

static const char *tmp_name(enum st_table t)
{
    static const char *const names[ST_N] = {
        [ST_PERSONS] = "_alembic_tmp_persons",
        [ST_MEDICATIONS] = "_alembic_tmp_medications",
        [ST_DOSES] = "_alembic_tmp_doses",
    };
    return names[t];
}

static const char *known_column(enum st_table t, const char *name)
{
    for (size_t i = 0; known_columns[t][i]; i++)
        if (strcmp(known_columns[t][i], name) == 0)
            return known_columns[t][i];
    return NULL;
}

/* NULL-safe equality in each dialect. */
static const char *same_op(enum db_dialect d)
{
    switch (d) {
    case DB_POSTGRES:
        return "IS NOT DISTINCT FROM";
    case DB_MYSQL:
        return "<=>";
    case DB_SQLITE:
    default:
        return "IS";
    }
}

static int count_of(struct db_conn *c, const char *sql, const struct db_param *p, size_t n,
                    int64_t *out, struct mt_err *err)
{
    bool found = false;
    *out = 0;
    if (db_query_int(c, sql, p, n, out, &found, err) < 0)
        return -1;
    if (!found)
        *out = 0;
    return 0;
}

/* After rows were inserted with explicit ids, PostgreSQL's sequence must not
 * hand those ids out again. table is one of our constant names. */
static int pg_sync_sequence(struct db_conn *c, const char *table, struct mt_err *err)
{
    if (db_conn_dialect(c) != DB_POSTGRES)
        return 0;
    static const char *const sql[ST_N] = {
        [ST_PERSONS] = "SELECT setval(s.seq, GREATEST((SELECT MAX(id) FROM persons),"
                       " COALESCE(pg_sequence_last_value(s.seq::regclass), 0)))"
                       " FROM (SELECT pg_get_serial_sequence('persons', 'id') AS seq) s"
                       " WHERE s.seq IS NOT NULL AND EXISTS (SELECT 1 FROM persons)",
        [ST_MEDICATIONS] = "SELECT setval(s.seq, GREATEST((SELECT MAX(id) FROM medications),"
                           " COALESCE(pg_sequence_last_value(s.seq::regclass), 0)))"
                           " FROM (SELECT pg_get_serial_sequence('medications', 'id') AS seq) s"
                           " WHERE s.seq IS NOT NULL AND EXISTS (SELECT 1 FROM medications)",
        [ST_DOSES] = "SELECT setval(s.seq, GREATEST((SELECT MAX(id) FROM doses),"
                     " COALESCE(pg_sequence_last_value(s.seq::regclass), 0)))"
                     " FROM (SELECT pg_get_serial_sequence('doses', 'id') AS seq) s"
                     " WHERE s.seq IS NOT NULL AND EXISTS (SELECT 1 FROM doses)",
    };
    for (int t = 0; t < ST_N; t++)
        if (strcmp(table, st_table_name((enum st_table)t)) == 0)
            return db_query(c, sql[t], NULL, 0, NULL, err);
    return 0;
}

int st_default_person(struct db_conn *c, const struct st_scan *s, bool create_if_empty, int64_t *id,
                      struct mt_err *err)
{
    int64_t n, keep = 0;
    bool found = false;
    if (id)
        *id = 0;
    if (count_of(c, "SELECT COUNT(*) FROM persons", NULL, 0, &n, err) < 0)
        return -1;
    if (n == 0) {
        if (!create_if_empty)
            return 0;
        /* Explicit id 1: the table is empty, and the reference's default
         * person had id 1 too. Both name shapes (and the half-migrated one
         * with both columns) get the name. */
        bool has_name = st_has(s, ST_PERSONS, "name");
        bool has_first = st_has(s, ST_PERSONS, "first_name");
        struct db_param p[3] = {DB_TEXT("Default User"), DB_TEXT("Default User"), DB_BOOL(true)};
        int rc;
        if (has_name && has_first)
            rc = db_query(c,
                          "INSERT INTO persons (id, name, first_name, is_default)"
                          " VALUES (1, ?, ?, ?)",
                          p, 3, NULL, err);
        else if (has_first)
            rc = db_query(c, "INSERT INTO persons (id, first_name, is_default) VALUES (1, ?, ?)",
                          p + 1, 2, NULL, err);
        else
            rc = db_query(c, "INSERT INTO persons (id, name, is_default) VALUES (1, ?, ?)", p + 1,
                          2, NULL, err);
        if (rc < 0)
            return mt_err_wrap(err, "creating the default person");
        if (pg_sync_sequence(c, "persons", err) < 0)
            return -1;
        mt_log(MT_LOG_WARN, "created the default person 1 (\"Default User\"): persons was empty");
        if (id)
            *id = 1;
        return 0;
    }
    if (db_query_int(c, "SELECT MIN(id) FROM persons WHERE is_default", NULL, 0, &keep, &found,
                     err) < 0)
        return -1;
    if (!found) {
        if (db_query_int(c, "SELECT MIN(id) FROM persons", NULL, 0, &keep, &found, err) < 0)
            return -1;
        struct db_param p[2] = {DB_BOOL(true), DB_INT(keep)};
        if (db_query(c, "UPDATE persons SET is_default = ? WHERE id = ?", p, 2, NULL, err) < 0)
            return -1;
        mt_log(MT_LOG_WARN,
               "repaired the default person: none of %" PRId64
               " persons was the default, person %" PRId64 " (the oldest) is now",
               n, keep);
    }
    int64_t ndef;
    if (count_of(c, "SELECT COUNT(*) FROM persons WHERE is_default", NULL, 0, &ndef, err) < 0)
        return -1;
    if (ndef > 1) {
        struct db_param p[2] = {DB_BOOL(false), DB_INT(keep)};
        if (db_query(c, "UPDATE persons SET is_default = ? WHERE is_default AND id <> ?", p, 2,
                     NULL, err) < 0)
            return -1;
        mt_log(MT_LOG_WARN,
               "repaired the default person: %" PRId64
               " persons were marked default, kept person %" PRId64
               " (the oldest) and cleared the flag of the other %" PRId64,
               ndef, keep, ndef - 1);
    }
    if (id)
        *id = keep;
    return 0;
}

/* ---- salvaging _alembic_tmp_* leftovers ---------------------------------- */

/* A column of the leftover and the column of the real table it goes into. */
struct colmap {
    const char *from; /* whitelisted name in the leftover */
    const char *to;   /* whitelisted name in the real table */
};

/* Builds the mapping; *unmapped gets the first leftover column that has no
 * place in the real table (borrowed from cols), or NULL. */
static size_t map_columns(const struct st_scan *s, enum st_table t, const struct db_column *cols,
                          size_t ncols, struct colmap *map, const char **unmapped)
{
    size_t n = 0;
    *unmapped = NULL;
    for (size_t i = 0; i < ncols; i++) {
        const char *from = known_column(t, cols[i].name);
        const char *to = NULL;
        if (from && st_has(s, t, from))
            to = from;
        else if (from && t == ST_PERSONS && strcmp(from, "name") == 0 && st_has(s, t, "first_name"))
            to = "first_name"; /* the split of d9c3da4e9c05: first_name is the whole name */
        if (!to) {
            if (!*unmapped)
                *unmapped = cols[i].name;
            continue;
        }
        map[n].from = from;
        map[n].to = to;
        n++;
    }
    return n;
}

static const char *map_to(const struct colmap *map, size_t n, const char *to)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(map[i].to, to) == 0)
            return map[i].from;
    return NULL;
}

/* The value list of the INSERT ... SELECT for one real column. A dose's
 * medication that does not exist becomes NULL (an enforced foreign key would
 * refuse the row; the count is logged); a salvaged dose without
 * medication_name gets the name as 03586fa62d43 filled it. */
static void add_value(struct mt_buf *b, enum st_table t, const struct colmap *map, size_t n,
                      const char *to)
{
    const char *from = map_to(map, n, to);
    if (t == ST_DOSES && strcmp(to, "medication_id") == 0 && from) {
        mt_buf_addf(b,
                    "CASE WHEN EXISTS (SELECT 1 FROM medications m WHERE m.id = t.%s)"
                    " THEN t.%s END",
                    from, from);
    } else if (t == ST_DOSES && strcmp(to, "medication_name") == 0 && !from) {
        const char *mid = map_to(map, n, "medication_id");
        if (mid)
            mt_buf_addf(b, "(SELECT m.name FROM medications m WHERE m.id = t.%s)", mid);
        else
            mt_buf_adds(b, "NULL");
    } else if (from) {
        mt_buf_addf(b, "t.%s", from);
    } else {
        mt_buf_adds(b, "NULL");
    }
}

/* The real columns the salvage writes (out has room for n + 1): every mapped
 * one, plus doses.medication_name when the leftover lacks it. */
static size_t target_columns(const struct st_scan *s, enum st_table t, const struct colmap *map,
                             size_t n, const char **out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        out[k++] = map[i].to;
    if (t == ST_DOSES && st_has(s, t, "medication_name") && !map_to(map, n, "medication_name"))
        out[k++] = "medication_name";
    return k;
}

/* The condition "leftover row t is the same record as real row r". */
/* Starts sql anew with "INSERT INTO real (<targets>) SELECT <values>" for
 * the leftover's rows (alias t); with renumber, id is a new one after the
 * highest id of both tables. The caller adds the FROM clause. */
static void add_insert_select(struct mt_buf *sql, enum st_table t, const struct colmap *map,
                              size_t n, const char **targets, size_t nt, const char *real,
                              const char *tmp, bool renumber)
{
    mt_buf_reset(sql);
    mt_buf_addf(sql, "INSERT INTO %s (", real);
    for (size_t i = 0; i < nt; i++)
        mt_buf_addf(sql, "%s%s", i ? ", " : "", targets[i]);
    mt_buf_adds(sql, ") SELECT ");
    for (size_t i = 0; i < nt; i++) {
        if (i)
            mt_buf_adds(sql, ", ");
        if (renumber && strcmp(targets[i], "id") == 0)
            mt_buf_addf(sql,
                        "(SELECT CASE WHEN a.m > b.m THEN a.m ELSE b.m END FROM"
                        " (SELECT COALESCE(MAX(id), 0) AS m FROM %s) a,"
                        " (SELECT COALESCE(MAX(id), 0) AS m FROM %s) b)"
                        " + ROW_NUMBER() OVER (ORDER BY t.id)",
                        real, tmp);
        else
            add_value(sql, t, map, n, targets[i]);
    }
}

/* Runs the INSERT in sql; *rows gets how many rows it inserted. */
static int run_insert(struct db_conn *c, const struct mt_buf *sql, int64_t *rows,
                      struct mt_err *err)
{
    if (sql->failed)
        return mt_fail(err, MT_EINTERNAL, "salvage statement too long");
    if (db_query(c, sql->data, NULL, 0, NULL, err) < 0)
        return -1;
    *rows = db_changes(c);
    return 0;
}

static void add_identity(struct mt_buf *b, const struct st_scan *s, enum st_table t,
                         const struct colmap *map, size_t n)
{
    int k = 0;
    for (size_t i = 0; identity_columns[t][i]; i++) {
        const char *to = identity_columns[t][i];
        const char *from = map_to(map, n, to);
        if (!from)
            continue;
        mt_buf_addf(b, "%st.%s %s r.%s", k++ ? " AND " : "", from, same_op(s->dialect), to);
    }
    if (k == 0)
        mt_buf_adds(b, "1 = 1");
}

/* Runs one repairing statement sql (no parameters); `what` names it in an
 * error, and when it changed rows a warning says "repaired <n> <rows>". */
static int run_repair(struct db_conn *c, const char *sql, const char *what, const char *rows,
                      struct mt_err *err)
{
    if (db_query(c, sql, NULL, 0, NULL, err) < 0)
        return mt_err_wrap(err, "%s", what);
    int64_t n = db_changes(c);
    if (n > 0)
        mt_log(MT_LOG_WARN, "repaired %" PRId64 " %s", n, rows);
    return 0;
}

static int unlink_kept_doses(struct db_conn *c, struct mt_err *err)
{
    return run_repair(c,
                      "UPDATE _alembic_tmp_doses SET medication_id = NULL WHERE medication_id IS "
                      "NOT NULL AND NOT EXISTS (SELECT 1 FROM medications m WHERE m.id = "
                      "_alembic_tmp_doses.medication_id)",
                      "unlinking doses of _alembic_tmp_doses",
                      "doses of _alembic_tmp_doses whose medication was missing (medication_id "
                      "set to NULL, medication_name kept)",
                      err);
}

static int salvage_one(struct db_conn *c, const struct st_scan *s, enum st_table t, bool final,
                       struct mt_err *err)
{
    const char *tmp = tmp_name(t), *real = st_table_name(t);
    struct db_column *cols = NULL;
    size_t ncols = 0;
    if (db_columns(c, tmp, &cols, &ncols, err) < 0)
        return -1;
    struct colmap *map = mt_xcalloc(ncols ? ncols : 1, sizeof(*map));
    const char *unmapped = NULL;
    size_t n = map_columns(s, t, cols, ncols, map, &unmapped);
    int rc = 0;
    if (unmapped || !map_to(map, n, "id")) {
        if (final)
            rc = mt_fail(err, MT_ECONFLICT,
                         "cannot salvage the leftover table %s: its column \"%s\" has no place in "
                         "%s; move its rows into %s by hand, then drop it, and run the upgrade "
                         "again",
                         tmp, unmapped ? unmapped : "id", real, real);
        else
            mt_log(MT_LOG_INFO,
                   "kept the leftover table %s for a later revision: %s has no "
                   "column \"%s\" yet",
                   tmp, real, unmapped ? unmapped : "id");
        /* Its own foreign key is checked before the revision commits; the
         * salvage would unlink these doses anyway. */
        if (rc == 0 && t == ST_DOSES && map_to(map, n, "medication_id"))
            rc = unlink_kept_doses(c, err);
        free(map);
        db_columns_free(cols, ncols);
        return rc;
    }

    const char **targets = mt_xcalloc(n + 1, sizeof(*targets));
    size_t nt = target_columns(s, t, map, n, targets);
    int64_t total = 0, fresh = 0, renumbered = 0, unlinked = 0;
    struct mt_buf sql;
    mt_buf_init(&sql, 1u << 16);

    mt_buf_addf(&sql, "SELECT COUNT(*) FROM %s", tmp);
    rc = count_of(c, sql.data, NULL, 0, &total, err);

    /* Doses whose medication is gone, among those to be salvaged. */
    if (rc == 0 && t == ST_DOSES && map_to(map, n, "medication_id")) {
        mt_buf_reset(&sql);
        mt_buf_addf(&sql,
                    "SELECT COUNT(*) FROM %s t WHERE t.medication_id IS NOT NULL AND NOT EXISTS"
                    " (SELECT 1 FROM medications m WHERE m.id = t.medication_id) AND"
                    " (NOT EXISTS (SELECT 1 FROM doses r WHERE r.id = t.id) OR NOT EXISTS"
                    " (SELECT 1 FROM doses r WHERE r.id = t.id AND ",
                    tmp);
        add_identity(&sql, s, t, map, n);
        mt_buf_adds(&sql, "))");
        rc = count_of(c, sql.data, NULL, 0, &unlinked, err);
    }

    /* Rows whose id is taken by a different record get new ids after the
     * highest id of both tables (so that they collide with no leftover row
     * salvaged next); rows identical to the real one are the same record. */
    if (rc == 0) {
        add_insert_select(&sql, t, map, n, targets, nt, real, tmp, true);
        mt_buf_addf(&sql,
                    " FROM %s t WHERE EXISTS (SELECT 1 FROM %s r WHERE r.id = t.id)"
                    " AND NOT EXISTS (SELECT 1 FROM %s r WHERE r.id = t.id AND ",
                    tmp, real, real);
        add_identity(&sql, s, t, map, n);
        mt_buf_adds(&sql, ")");
        rc = run_insert(c, &sql, &renumbered, err);
    }
    /* Rows whose id is free keep it. */
    if (rc == 0) {
        add_insert_select(&sql, t, map, n, targets, nt, real, tmp, false);
        mt_buf_addf(&sql, " FROM %s t WHERE NOT EXISTS (SELECT 1 FROM %s r WHERE r.id = t.id)", tmp,
                    real);
        rc = run_insert(c, &sql, &fresh, err);
    }

    if (rc == 0 && fresh + renumbered > 0)
        rc = pg_sync_sequence(c, real, err);
    if (rc == 0) {
        mt_buf_reset(&sql);
        mt_buf_addf(&sql, "DROP TABLE %s", tmp);
        rc = db_exec(c, sql.data, err);
    }
    if (rc == 0) {
        mt_log(MT_LOG_WARN,
               "removed the leftover table %s (%" PRId64 " rows): salvaged %" PRId64
               " rows missing from %s, %" PRId64 " of them under new ids because their id was "
               "taken by a different row; %" PRId64 " were already there",
               tmp, total, fresh + renumbered, real, renumbered, total - fresh - renumbered);
        if (unlinked > 0)
            mt_log(MT_LOG_WARN,
                   "repaired %" PRId64 " salvaged doses whose medication was missing "
                   "(medication_id set to NULL, medication_name kept)",
                   unlinked);
    } else {
        mt_err_wrap(err, "salvaging %s", tmp);
    }
    mt_buf_release(&sql);
    free(targets);
    free(map);
    db_columns_free(cols, ncols);
    return rc;
}

/* ---- orphans ---------------------------------------------------------------- */

static int repair_orphan_medications(struct db_conn *c, const struct st_scan *s, struct mt_err *err)
{
    int64_t orphans;
    if (count_of(c,
                 "SELECT COUNT(*) FROM medications WHERE NOT EXISTS"
                 " (SELECT 1 FROM persons p WHERE p.id = medications.person_id)",
                 NULL, 0, &orphans, err) < 0)
        return -1;
    int64_t keep;
    if (st_default_person(c, s, orphans > 0, &keep, err) < 0)
        return -1;
    if (orphans == 0)
        return 0;
    struct db_param p = DB_INT(keep);
    if (db_query(c,
                 "UPDATE medications SET person_id = ? WHERE NOT EXISTS"
                 " (SELECT 1 FROM persons p WHERE p.id = medications.person_id)",
                 &p, 1, NULL, err) < 0)
        return mt_err_wrap(err, "moving medications to the default person");
    mt_log(MT_LOG_WARN,
           "repaired %" PRId64 " medications whose person was missing (moved to the default "
           "person %" PRId64 ")",
           db_changes(c), keep);
    return 0;
}

static int repair_orphan_doses(struct db_conn *c, struct mt_err *err)
{
    return run_repair(c,
                      "UPDATE doses SET medication_id = NULL WHERE medication_id IS NOT NULL AND"
                      " NOT EXISTS (SELECT 1 FROM medications m WHERE m.id = doses.medication_id)",
                      "unlinking doses from missing medications",
                      "doses whose medication was missing (medication_id set to NULL, "
                      "medication_name kept)",
                      err);
}

/* doses.person_id (ab48726466af): a linked dose belongs to its medication's
 * person (a medication moved by the repairs above takes its doses along),
 * and a person that does not exist is cleared; `meditrack db check` lists
 * doses without a person. */
static int repair_dose_persons(struct db_conn *c, struct mt_err *err)
{
    if (run_repair(c,
                   "UPDATE doses SET person_id = (SELECT m.person_id FROM medications m WHERE"
                   " m.id = doses.medication_id) WHERE medication_id IS NOT NULL AND NOT EXISTS"
                   " (SELECT 1 FROM medications m WHERE m.id = doses.medication_id AND"
                   " m.person_id = doses.person_id)",
                   "giving doses their medication's person",
                   "doses whose person was not their medication's (person_id set from the "
                   "medication)",
                   err) < 0)
        return -1;
    return run_repair(c,
                      "UPDATE doses SET person_id = NULL WHERE person_id IS NOT NULL AND NOT EXISTS"
                      " (SELECT 1 FROM persons p WHERE p.id = doses.person_id)",
                      "clearing doses' missing persons",
                      "doses whose person was missing (person_id set to NULL; `meditrack db "
                      "check` lists them)",
                      err);
}

int schema_repair(struct db_conn *c, bool final, struct mt_err *err)
{
    struct st_scan s;
    int rc = st_scan_load(c, false, &s, err);
    for (int t = 0; rc == 0 && t < ST_N; t++)
        if (s.tmp[t] && s.t[t].exists)
            rc = salvage_one(c, &s, (enum st_table)t, final, err);
    if (rc == 0 && s.t[ST_PERSONS].exists) {
        if (s.t[ST_MEDICATIONS].exists && st_has(&s, ST_MEDICATIONS, "person_id"))
            rc = repair_orphan_medications(c, &s, err);
        else
            rc = st_default_person(c, &s, false, NULL, err);
    }
    if (rc == 0 && s.t[ST_DOSES].exists && s.t[ST_MEDICATIONS].exists)
        rc = repair_orphan_doses(c, err);
    if (rc == 0 && s.t[ST_DOSES].exists && s.t[ST_MEDICATIONS].exists && s.t[ST_PERSONS].exists &&
        st_has(&s, ST_DOSES, "person_id") && st_has(&s, ST_MEDICATIONS, "person_id"))
        rc = repair_dose_persons(c, err);
    st_scan_release(&s);
    return rc;
}
