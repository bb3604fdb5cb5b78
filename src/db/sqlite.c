/* The SQLite driver: one sqlite3 handle per connection, opened in WAL mode
 * with a busy timeout, foreign keys on and synchronous=NORMAL. Statements are
 * prepared once with SQLITE_PREPARE_PERSISTENT and reset between runs.
 * Exported as db_sqlite_driver; only db.c refers to it. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "db/db_int.h"

enum { BUSY_TIMEOUT_MS = 5000 };

/* What execute left behind for the first db_next. */
enum pending { PENDING_NONE, PENDING_ROW, PENDING_DONE };

struct lite_stmt {
    sqlite3_stmt *h;
    enum pending pending;
    char (*ts)[DB_TS_MAX]; /* per column: canonical timestamp text */
    int nts;
};

static sqlite3 *db_of(struct db_conn *c)
{
    return c->impl;
}

/* The code of an (extended) result code: one mapping for statements and
 * sqlite3_exec alike. */
static enum mt_code code_for_rc(sqlite3 *db, int rc)
{
    int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        return MT_EDB_RETRY;
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
        rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return MT_ECONFLICT;
    /* A full disk: SQLITE_FULL, or a failed write whose errno says so. */
    if (primary == SQLITE_FULL ||
        (primary == SQLITE_IOERR && db && sqlite3_system_errno(db) == ENOSPC))
        return MT_ENOSPC;
    return MT_EDB;
}

static int fail_rc(sqlite3 *db, int rc, const char *what, struct mt_err *err)
{
    enum mt_code code = code_for_rc(db, rc);
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    return mt_fail(err, code, "%s: %s", what, msg);
}

/* Creates every missing directory above path (mkdir -p of its dirname). */
static int make_parent_dirs(const char *path, struct mt_err *err)
{
    char *dir = mt_xstrdup(path);
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; rc == 0; p++) {
            if (*p != '/' && *p != '\0')
                continue;
            char saved = *p;
            *p = '\0';
            if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                rc = mt_fail(err, MT_EDB, "cannot create directory \"%s\": %s", dir,
                             strerror(errno));
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    free(dir);
    return rc;
}

static int journal_cb(void *ctx, int n, char **vals, char **names)
{
    char *mode = ctx;
    if (n > 0 && vals[0])
        snprintf(mode, 16, "%s", vals[0]);
    return 0;
}

static int lite_open(struct db_conn *c, const struct db_url *u, struct mt_err *err)
{
    const char *path = u->path ? u->path : ":memory:";
    bool memory = strcmp(path, ":memory:") == 0;
    sqlite3 *db = NULL;
    if (!memory && make_parent_dirs(path, err) < 0)
        return -1;
    /* NOMUTEX: a connection is used by one thread at a time (the pool
     * guarantees it), so SQLite's per-connection mutex is not needed. */
    int rc = sqlite3_open_v2(
        path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        mt_fail(err, MT_EDB, "cannot open sqlite database \"%s\": %s", path,
                db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return -1;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    /* Closing the last connection would checkpoint the WAL into the database
     * file and fsync it: tens of milliseconds that every short-lived command
     * (and the start-up sequence's own connection) would pay. The WAL stays
     * and is used by the next connection; automatic checkpoints still run
     * as it grows, so it never grows without bound. */
    sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
    static const char *const pragmas[] = {"PRAGMA foreign_keys = ON",
                                          "PRAGMA synchronous = NORMAL"};
    for (size_t i = 0; i < MT_ARRAY_LEN(pragmas); i++) {
        rc = sqlite3_exec(db, pragmas[i], NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            fail_rc(db, rc, "cannot configure the sqlite connection", err);
            sqlite3_close(db);
            return -1;
        }
    }
    if (!memory) {
        char mode[16] = "";
        rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL", journal_cb, mode, NULL);
        if (rc != SQLITE_OK) {
            fail_rc(db, rc, "cannot switch the sqlite database to WAL", err);
            sqlite3_close(db);
            return -1;
        }
        if (strcmp(mode, "wal") != 0)
            mt_log(MT_LOG_WARN, "sqlite database \"%s\" stays in journal mode %s, not wal", path,
                   mode);
    }
    c->impl = db;
    return 0;
}

static void lite_close(struct db_conn *c)
{
    sqlite3_close(db_of(c));
    c->impl = NULL;
}

static bool lite_is_broken(struct db_conn *c)
{
    return false;
}

static bool lite_tx_active(struct db_conn *c)
{
    return !sqlite3_get_autocommit(db_of(c));
}

/* True when the text after the first statement holds another statement
 * (blanks, semicolons and comments do not count). */
static bool has_more_statements(sqlite3 *db, const char *tail)
{
    sqlite3_stmt *next = NULL;
    if (!tail || !*tail)
        return false;
    int rc = sqlite3_prepare_v2(db, tail, -1, &next, NULL);
    sqlite3_finalize(next);
    return rc != SQLITE_OK || next != NULL;
}

static int lite_prepare(struct db_stmt *st, struct mt_err *err)
{
    sqlite3 *db = db_of(st->conn);
    sqlite3_stmt *h = NULL;
    const char *tail = NULL;
    unsigned flags = st->temp ? 0 : SQLITE_PREPARE_PERSISTENT;
    int rc = sqlite3_prepare_v3(db, st->sql, -1, flags, &h, &tail);
    if (rc != SQLITE_OK) {
        char what[96];
        snprintf(what, sizeof what, "cannot prepare \"%.60s\"", st->sql);
        return fail_rc(db, rc, what, err);
    }
    if (!h) {
        return mt_fail(err, MT_EINTERNAL, "empty statement \"%.60s\"", st->sql);
    }
    if (has_more_statements(db, tail)) {
        sqlite3_finalize(h);
        return mt_fail(err, MT_EINTERNAL, "more than one statement in \"%.60s\" (use db_exec)",
                       st->sql);
    }
    struct lite_stmt *ls = mt_xcalloc(1, sizeof *ls);
    ls->h = h;
    st->impl = ls;
    return 0;
}

static int bind_one(sqlite3_stmt *h, int k, const struct db_param *p)
{
    switch (p->type) {
    case DB_T_NULL:
        return sqlite3_bind_null(h, k);
    case DB_T_INT:
        return sqlite3_bind_int64(h, k, p->v.i);
    case DB_T_DOUBLE:
        return sqlite3_bind_double(h, k, p->v.d);
    case DB_T_BOOL:
        return sqlite3_bind_int(h, k, p->v.b ? 1 : 0);
    case DB_T_TEXT:
        if (!p->v.s.p)
            return sqlite3_bind_null(h, k);
        return sqlite3_bind_text64(h, k, p->v.s.p, p->v.s.len, SQLITE_TRANSIENT, SQLITE_UTF8);
    case DB_T_BLOB:
        if (!p->v.s.p)
            return sqlite3_bind_null(h, k);
        if (p->v.s.len == 0)
            return sqlite3_bind_zeroblob(h, k, 0);
        return sqlite3_bind_blob64(h, k, p->v.s.p, p->v.s.len, SQLITE_TRANSIENT);
    }
    return SQLITE_MISUSE;
}

static int lite_execute(struct db_stmt *st, const struct db_param *p, size_t n, struct mt_err *err)
{
    struct lite_stmt *ls = st->impl;
    sqlite3 *db = db_of(st->conn);
    int want = sqlite3_bind_parameter_count(ls->h);
    if ((size_t)want != n)
        return mt_fail(err, MT_EINTERNAL, "statement \"%.60s\" takes %d parameters, %zu given",
                       st->sql, want, n);
    for (size_t i = 0; i < n; i++) {
        int rc = bind_one(ls->h, (int)i + 1, &p[i]);
        if (rc != SQLITE_OK)
            return fail_rc(db, rc, "cannot bind a parameter", err);
    }
    int rc = sqlite3_step(ls->h);
    if (rc == SQLITE_ROW) {
        ls->pending = PENDING_ROW;
        return 0;
    }
    if (rc == SQLITE_DONE) {
        ls->pending = PENDING_DONE;
        return 0;
    }
    return fail_rc(db, rc, "query failed", err);
}

static int lite_step(struct db_stmt *st, struct mt_err *err)
{
    struct lite_stmt *ls = st->impl;
    enum pending pending = ls->pending;
    ls->pending = PENDING_NONE;
    if (pending == PENDING_ROW)
        return 1;
    if (pending == PENDING_DONE)
        return 0;
    int rc = sqlite3_step(ls->h);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE) {
        ls->pending = PENDING_DONE;
        return 0;
    }
    return fail_rc(db_of(st->conn), rc, "query failed", err);
}

static void lite_reset(struct db_stmt *st)
{
    struct lite_stmt *ls = st->impl;
    sqlite3_reset(ls->h);
    sqlite3_clear_bindings(ls->h);
    ls->pending = PENDING_NONE;
}

static void lite_finalize(struct db_stmt *st)
{
    struct lite_stmt *ls = st->impl;
    sqlite3_finalize(ls->h);
    free(ls->ts);
    free(ls);
    st->impl = NULL;
}

static sqlite3_stmt *h_of(struct db_stmt *st)
{
    return ((struct lite_stmt *)st->impl)->h;
}

static int lite_col_count(struct db_stmt *st)
{
    return sqlite3_column_count(h_of(st));
}

static const char *lite_col_name(struct db_stmt *st, int i)
{
    return sqlite3_column_name(h_of(st), i);
}

static bool lite_col_null(struct db_stmt *st, int i)
{
    return sqlite3_column_type(h_of(st), i) == SQLITE_NULL;
}

static int64_t lite_col_int(struct db_stmt *st, int i)
{
    return sqlite3_column_int64(h_of(st), i);
}

static double lite_col_double(struct db_stmt *st, int i)
{
    return sqlite3_column_double(h_of(st), i);
}

/* SQLite stores timestamps as the text it was given; columns declared
 * TIMESTAMP or DATETIME read back in the canonical form the other dialects
 * return (see db_canon_timestamp). */
static bool is_timestamp_column(sqlite3_stmt *h, int i)
{
    const char *decl = sqlite3_column_decltype(h, i);
    return decl && (strcasestr(decl, "TIMESTAMP") || strcasestr(decl, "DATETIME"));
}

static const char *canon_ts(struct lite_stmt *ls, int i, const char *p, size_t *len)
{
    if (i >= ls->nts) {
        int n = sqlite3_column_count(ls->h);
        ls->ts = mt_xrealloc(ls->ts, (size_t)n * sizeof *ls->ts);
        ls->nts = n;
    }
    size_t tl = db_canon_timestamp(p, *len, ls->ts[i]);
    if (tl == 0)
        return p;
    *len = tl;
    return ls->ts[i];
}

static const char *lite_col_text(struct db_stmt *st, int i, size_t *len)
{
    sqlite3_stmt *h = h_of(st);
    const char *p;
    if (sqlite3_column_type(h, i) == SQLITE_BLOB) {
        p = sqlite3_column_blob(h, i);
        *len = (size_t)sqlite3_column_bytes(h, i);
        return p ? p : "";
    }
    p = (const char *)sqlite3_column_text(h, i);
    *len = (size_t)sqlite3_column_bytes(h, i);
    if (p && is_timestamp_column(h, i))
        return canon_ts(st->impl, i, p, len);
    return p ? p : "";
}

static int64_t lite_changes(struct db_conn *c)
{
    return sqlite3_changes64(db_of(c));
}

static int lite_last_insert_id(struct db_conn *c, int64_t *out, struct mt_err *err)
{
    *out = sqlite3_last_insert_rowid(db_of(c));
    return 0;
}

static int lite_exec(struct db_conn *c, const char *sql, struct mt_err *err)
{
    sqlite3 *db = db_of(c);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return 0;
    enum mt_code code = code_for_rc(db, sqlite3_extended_errcode(db));
    mt_fail(err, code, "statement failed: %s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return -1;
}

const struct db_driver db_sqlite_driver = {
    .dialect = DB_SQLITE,
    .impl_name = "SQLiteImpl",
    .transactional_ddl = true,
    .begin_sql = "BEGIN",
    .begin_write_sql = "BEGIN IMMEDIATE",
    .open = lite_open,
    .close = lite_close,
    .is_broken = lite_is_broken,
    .tx_active = lite_tx_active,
    .prepare = lite_prepare,
    .execute = lite_execute,
    .step = lite_step,
    .reset = lite_reset,
    .finalize = lite_finalize,
    .col_count = lite_col_count,
    .col_name = lite_col_name,
    .col_null = lite_col_null,
    .col_int = lite_col_int,
    .col_double = lite_col_double,
    .col_text = lite_col_text,
    .changes = lite_changes,
    .last_insert_id = lite_last_insert_id,
    .exec = lite_exec,
    .sql_tables = "SELECT name FROM sqlite_master WHERE type = 'table'"
                  " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    .sql_columns = "SELECT name, type, \"notnull\", dflt_value, pk > 0"
                   " FROM pragma_table_info(?) ORDER BY cid",
    /* Indexes made for UNIQUE constraints (sqlite_autoindex_*, origin 'u')
     * are listed, as PostgreSQL and MariaDB list theirs; the primary key's
     * is not. */
    .sql_indexes = "SELECT il.name, il.\"unique\", ii.name"
                   " FROM pragma_index_list(?) AS il, pragma_index_info(il.name) AS ii"
                   " WHERE il.origin <> 'pk' ORDER BY il.name, ii.seqno",
    .sql_fkeys = "SELECT NULL, \"from\", \"table\", \"to\", on_delete"
                 " FROM pragma_foreign_key_list(?) ORDER BY id, seq",
};

/* Added for the migration engine's safety copy (declared in db.h; written by
 * the migrate helper): copies the main database of c to dest_path with the
 * online backup API, so the copy is consistent even while others write. */
int db_sqlite_backup(struct db_conn *c, const char *dest_path, struct mt_err *err)
{
    if (!c || c->drv->dialect != DB_SQLITE)
        return mt_fail(err, MT_EINVAL, "a safety copy needs a SQLite connection");
    sqlite3 *dest = NULL;
    int rc = sqlite3_open_v2(dest_path, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        mt_fail(err, MT_EDB, "cannot create %s: %s", dest_path,
                dest ? sqlite3_errmsg(dest) : sqlite3_errstr(rc));
        sqlite3_close(dest);
        remove(dest_path);
        return -1;
    }
    sqlite3_backup *b = sqlite3_backup_init(dest, "main", db_of(c), "main");
    if (!b) {
        mt_fail(err, MT_EDB, "cannot copy to %s: %s", dest_path, sqlite3_errmsg(dest));
        sqlite3_close(dest);
        remove(dest_path);
        return -1;
    }
    /* Copy everything in one step; a writer holding the lock only delays it
     * (bounded: 500 tries of 10 ms). */
    int tries = 0;
    do {
        rc = sqlite3_backup_step(b, -1);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(10);
    } while ((rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++tries < 500);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        mt_fail(err, rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? MT_EDB_RETRY : MT_EDB,
                "copying the database to %s failed: %s", dest_path, sqlite3_errstr(rc));
        sqlite3_close(dest);
        remove(dest_path);
        return -1;
    }
    if (sqlite3_close(dest) != SQLITE_OK) {
        remove(dest_path);
        return mt_fail(err, MT_EDB, "closing %s failed", dest_path);
    }
    return 0;
}
