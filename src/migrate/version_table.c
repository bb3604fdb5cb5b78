/* The two tables the engine keeps in a database: Alembic's alembic_version
 * (created with Alembic's exact DDL, one row for the current revision, none
 * for base) and our audit table meditrack_migration_log, which Alembic
 * ignores. Times in the audit table are UTC text "YYYY-MM-DDTHH:MM:SS.mmmZ",
 * the same on every dialect. */
#include <stdlib.h>
#include <string.h>

#include "migrate/mig_int.h"

/* The audit table, written once: only the id column's type and MariaDB's
 * engine differ between the dialects. */
#define AUDIT_DDL(id_column, options)                                                              \
    "CREATE TABLE " MIG_AUDIT_TABLE " (\n"                                                         \
    "    id " id_column ",\n"                                                                      \
    "    revision VARCHAR(32) NOT NULL,\n"                                                         \
    "    from_revision VARCHAR(32) NOT NULL,\n"                                                    \
    "    direction VARCHAR(10) NOT NULL,\n"                                                        \
    "    started_at VARCHAR(32) NOT NULL,\n"                                                       \
    "    finished_at VARCHAR(32),\n"                                                               \
    "    duration_ms BIGINT,\n"                                                                    \
    "    checksum VARCHAR(32),\n"                                                                  \
    "    host VARCHAR(128) NOT NULL,\n"                                                            \
    "    pid BIGINT NOT NULL,\n"                                                                   \
    "    success SMALLINT,\n"                                                                      \
    "    stmt_total INTEGER NOT NULL DEFAULT 0,\n"                                                 \
    "    stmt_done INTEGER NOT NULL DEFAULT 0,\n"                                                  \
    "    stmt_running INTEGER,\n"                                                                  \
    "    attempts INTEGER NOT NULL DEFAULT 1,\n"                                                   \
    "    error TEXT\n"                                                                             \
    ")" options

static const char *const audit_ddl[MIG_N_DIALECTS] = {
    [DB_SQLITE] = AUDIT_DDL("INTEGER PRIMARY KEY AUTOINCREMENT", ""),
    [DB_POSTGRES] = AUDIT_DDL("BIGSERIAL PRIMARY KEY", ""),
    [DB_MYSQL] = AUDIT_DDL("BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY", " ENGINE=InnoDB"),
};

#define AUDIT_COLUMNS                                                                              \
    "id, revision, from_revision, direction, started_at, finished_at, duration_ms, checksum, "     \
    "host, pid, success, stmt_total, stmt_done, stmt_running, attempts, error"

int mig_version_table_ensure(struct db_conn *c, struct mt_err *err)
{
    bool exists;
    if (db_table_exists(c, "alembic_version", &exists, err) < 0)
        return -1;
    if (exists)
        return 0;
    return db_exec(c, MIG_ALEMBIC_VERSION_DDL, err);
}

static int add_version(struct db_stmt *st, void *ctx, struct mt_err *err)
{
    const char *v = db_col_text(st, 0, NULL);
    mt_strlist_push(ctx, v ? v : "");
    return 0;
}

int mig_current_all(struct db_conn *c, struct mt_strlist *out, struct mt_err *err)
{
    memset(out, 0, sizeof(*out));
    bool exists;
    if (db_table_exists(c, "alembic_version", &exists, err) < 0)
        return -1;
    if (!exists)
        return 0;
    if (db_query_each(c, "SELECT version_num FROM alembic_version ORDER BY version_num", NULL, 0,
                      add_version, out, err) < 0) {
        mt_strlist_release(out);
        return -1;
    }
    return 0;
}

int mig_current(struct db_conn *c, char **out, struct mt_err *err)
{
    struct mt_strlist rows;
    if (mig_current_all(c, &rows, err) < 0)
        return -1;
    int rc = 0;
    *out = NULL;
    if (rows.n > 1)
        rc = mt_fail(err, MT_ECONFLICT,
                     "alembic_version holds %zu rows (%s, %s%s): branched histories are not "
                     "supported",
                     rows.n, rows.items[0], rows.items[1], rows.n > 2 ? ", ..." : "");
    else if (rows.n == 1)
        *out = mt_xstrdup(rows.items[0]);
    mt_strlist_release(&rows);
    return rc;
}

int mig_version_set(struct db_conn *c, const char *from, const char *to, struct mt_err *err)
{
    if (!from && !to)
        return 0;
    if (!from) {
        struct db_param p[] = {DB_TEXT(to)};
        return db_query(c, "INSERT INTO alembic_version (version_num) VALUES (?)", p, 1, NULL, err);
    }
    int rc;
    if (!to) {
        struct db_param p[] = {DB_TEXT(from)};
        rc = db_query(c, "DELETE FROM alembic_version WHERE version_num = ?", p, 1, NULL, err);
    } else {
        struct db_param p[] = {DB_TEXT(to), DB_TEXT(from)};
        rc = db_query(c, "UPDATE alembic_version SET version_num = ? WHERE version_num = ?", p, 2,
                      NULL, err);
    }
    if (rc < 0)
        return -1;
    if (db_changes(c) != 1)
        return mt_fail(err, MT_ECONFLICT,
                       "alembic_version no longer holds %s (changed by someone else?)", from);
    return 0;
}

int mig_audit_exists(struct db_conn *c, bool *exists, struct mt_err *err)
{
    return db_table_exists(c, MIG_AUDIT_TABLE, exists, err);
}

int mig_audit_ensure(struct db_conn *c, struct mt_err *err)
{
    bool exists;
    if (mig_audit_exists(c, &exists, err) < 0)
        return -1;
    if (exists)
        return 0;
    return db_exec(c, audit_ddl[db_conn_dialect(c)], err);
}

static struct db_param opt_int(int64_t v)
{
    return v < 0 ? DB_NULL : DB_INT(v);
}

#define AUDIT_INSERT                                                                               \
    "INSERT INTO " MIG_AUDIT_TABLE " (revision, from_revision, direction, started_at, "            \
    "finished_at, duration_ms, checksum, host, pid, success, stmt_total, stmt_done, "              \
    "stmt_running, attempts, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

int mig_audit_insert(struct db_conn *c, struct mig_audit *a, struct mt_err *err)
{
    struct db_param p[] = {
        DB_TEXT(a->revision),     DB_TEXT(a->from_revision), DB_TEXT(a->direction),
        DB_TEXT(a->started_at),   DB_TEXT(a->finished_at),   opt_int(a->duration_ms),
        DB_TEXT(a->checksum),     DB_TEXT(a->host),          DB_INT(a->pid),
        opt_int(a->success),      DB_INT(a->stmt_total),     DB_INT(a->stmt_done),
        opt_int(a->stmt_running), DB_INT(a->attempts),       DB_TEXT(a->error),
    };
    /* RETURNING on PostgreSQL rather than lastval(), as db.h asks. */
    if (db_conn_dialect(c) == DB_POSTGRES) {
        bool found;
        if (db_query_int(c, AUDIT_INSERT " RETURNING id", p, MT_ARRAY_LEN(p), &a->id, &found, err) <
            0)
            return -1;
        return found ? 0 : mt_fail(err, MT_EDB, "audit insert returned no id");
    }
    if (db_query(c, AUDIT_INSERT, p, MT_ARRAY_LEN(p), NULL, err) < 0)
        return -1;
    int64_t id = db_last_insert_id(c, err);
    if (id <= 0)
        return mt_fail(err, MT_EDB, "audit insert returned no id");
    a->id = id;
    return 0;
}

int mig_audit_update(struct db_conn *c, const struct mig_audit *a, struct mt_err *err)
{
    struct db_param p[] = {
        DB_TEXT(a->finished_at),
        opt_int(a->duration_ms),
        opt_int(a->success),
        DB_INT(a->stmt_done),
        opt_int(a->stmt_running),
        DB_INT(a->attempts),
        DB_TEXT(a->error),
        DB_TEXT(a->checksum),
        DB_TEXT(a->host),
        DB_INT(a->pid),
        DB_INT(a->id),
    };
    return db_query(c,
                    "UPDATE " MIG_AUDIT_TABLE " SET finished_at = ?, duration_ms = ?, success = ?, "
                    "stmt_done = ?, stmt_running = ?, attempts = ?, error = ?, checksum = ?, "
                    "host = ?, pid = ? WHERE id = ?",
                    p, MT_ARRAY_LEN(p), NULL, err);
}

static char *col_dup(struct db_stmt *st, int i)
{
    const char *s = db_col_text(st, i, NULL);
    return s ? mt_xstrdup(s) : NULL;
}

static int64_t col_opt_int(struct db_stmt *st, int i)
{
    return db_col_null(st, i) ? -1 : db_col_int(st, i);
}

static void read_row(struct db_stmt *st, struct mig_audit *a)
{
    a->id = db_col_int(st, 0);
    a->revision = col_dup(st, 1);
    a->from_revision = col_dup(st, 2);
    a->direction = col_dup(st, 3);
    a->started_at = col_dup(st, 4);
    a->finished_at = col_dup(st, 5);
    a->duration_ms = col_opt_int(st, 6);
    a->checksum = col_dup(st, 7);
    a->host = col_dup(st, 8);
    a->pid = db_col_int(st, 9);
    a->success = db_col_null(st, 10) ? -1 : (int)db_col_int(st, 10);
    a->stmt_total = db_col_int(st, 11);
    a->stmt_done = db_col_int(st, 12);
    a->stmt_running = col_opt_int(st, 13);
    a->attempts = db_col_int(st, 14);
    a->error = col_dup(st, 15);
    if (!a->revision)
        a->revision = mt_xstrdup("");
    if (!a->from_revision)
        a->from_revision = mt_xstrdup("");
    if (!a->direction)
        a->direction = mt_xstrdup("");
}

/* The rows read so far by read_rows. */
struct audit_rows {
    struct mig_audit *v;
    size_t n, cap;
};

static int add_row(struct db_stmt *st, void *ctx, struct mt_err *err)
{
    struct audit_rows *r = ctx;
    r->v = mt_xgrow(r->v, r->n, &r->cap, sizeof *r->v);
    memset(&r->v[r->n], 0, sizeof(r->v[r->n]));
    read_row(st, &r->v[r->n++]);
    return 0;
}

static int read_rows(struct db_conn *c, const char *sql, struct mig_audit **out, size_t *n,
                     struct mt_err *err)
{
    *out = NULL;
    *n = 0;
    bool exists;
    if (mig_audit_exists(c, &exists, err) < 0)
        return -1;
    if (!exists)
        return 0;
    struct audit_rows r = {0};
    if (db_query_each(c, sql, NULL, 0, add_row, &r, err) < 0) {
        mig_audit_free(r.v, r.n);
        return -1;
    }
    *out = r.v;
    *n = r.n;
    return 0;
}

int mig_audit_list(struct db_conn *c, struct mig_audit **out, size_t *n, struct mt_err *err)
{
    return read_rows(c, "SELECT " AUDIT_COLUMNS " FROM " MIG_AUDIT_TABLE " ORDER BY id", out, n,
                     err);
}

int mig_audit_unfinished(struct db_conn *c, struct mig_audit **out, struct mt_err *err)
{
    struct mig_audit *v;
    size_t n;
    *out = NULL;
    if (read_rows(c,
                  "SELECT " AUDIT_COLUMNS " FROM " MIG_AUDIT_TABLE
                  " WHERE success IS NULL ORDER BY id",
                  &v, &n, err) < 0)
        return -1;
    if (n > 1) {
        mt_fail(err, MT_ECONFLICT,
                "%s holds %zu unfinished runs (ids %lld and %lld): repair it by hand",
                MIG_AUDIT_TABLE, n, (long long)v[0].id, (long long)v[1].id);
        mig_audit_free(v, n);
        return -1;
    }
    *out = n ? v : NULL;
    if (!n)
        free(v);
    return 0;
}

void mig_audit_free(struct mig_audit *a, size_t n)
{
    if (!a)
        return;
    for (size_t i = 0; i < n; i++) {
        free(a[i].revision);
        free(a[i].from_revision);
        free(a[i].direction);
        free(a[i].started_at);
        free(a[i].finished_at);
        free(a[i].checksum);
        free(a[i].host);
        free(a[i].error);
    }
    free(a);
}
