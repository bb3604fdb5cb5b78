/* The SQLite driver: one sqlite3 handle per connection, in WAL mode with a
 * busy timeout, foreign keys on and synchronous=NORMAL. This file holds the
 * driver's table (db_sqlite_driver, which only drivers.c refers to), the
 * mapping of SQLite's result codes to ours, the session limits the driver
 * enforces itself (SQLite has no server to do it), and transactions; the
 * other parts are sqlite_open.c (opening, permissions, WAL, the in-memory
 * database), sqlite_queue.c (the writer queue) and sqlite_stmt.c
 * (statements and columns), sharing sqlite_int.h. */
#include <errno.h>
#include <time.h>

#include "db/sqlite_int.h"

/* ---- errors ---- */

enum mt_code db_lite_code(sqlite3 *db, int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return MT_EDB_RETRY;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return MT_EPERM;
    case SQLITE_FULL:
        return MT_ENOSPC;
    case SQLITE_IOERR:
        return db && sqlite3_system_errno(db) == ENOSPC ? MT_ENOSPC : MT_EDB;
    default:
        break;
    }
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
        rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return MT_ECONFLICT;
    return MT_EDB;
}

const char *db_lite_limit_source(const struct lite_conn *lc)
{
    return lc->busy_ms == lc->base_busy_ms ? "SQLITE_BUSY_TIMEOUT"
                                           : "the session's lock or statement timeout";
}

int db_lite_fail_code(struct lite_conn *lc, int rc, const char *what, const char *msg,
                      struct mt_err *err)
{
    enum mt_code code = db_lite_code(lc ? lc->db : NULL, rc);
    int64_t spent_ms = lc && lc->call_start_us ? (mt_mono_us() - lc->call_start_us) / 1000 : 0;
    /* Our progress handler cut a call that ran past the statement limit:
     * SQLite undid the statement (and the transaction around a write). */
    if (lc && lc->interrupted && (rc & 0xff) == SQLITE_INTERRUPT)
        return mt_fail(err, MT_ETIMEOUT, "%s: cut after %lld ms (statement limit %d ms)", what,
                       (long long)spent_ms, lc->stmt_ms);
    /* A lock wait that used up the limit (SQLite's busy handler gives up
     * once it has slept that long, so the call took at least as long; the
     * queue's wait counts too) is a timeout: a request's deadline passed.
     * A busy answer that came at once (a stale read snapshot, a deadlock
     * SQLite refuses to wait for) stays retryable. */
    if (lc && (rc & 0xff) == SQLITE_BUSY && rc != SQLITE_BUSY_SNAPSHOT && lc->call_start_us &&
        spent_ms + 2 >= lc->busy_ms)
        return mt_fail(err, MT_ETIMEOUT, "%s: %s (waited %lld ms; lock wait limit %d ms, %s)", what,
                       msg, (long long)spent_ms, lc->busy_ms, db_lite_limit_source(lc));
    return mt_fail(err, code, "%s: %s", what, msg);
}

int db_lite_fail_rc(struct lite_conn *lc, int rc, const char *what, struct mt_err *err)
{
    const char *msg = lc ? sqlite3_errmsg(lc->db) : sqlite3_errstr(rc);
    return db_lite_fail_code(lc, rc, what, msg, err);
}

/* ---- the session limits ----
 *
 * SQLite has no server to enforce a statement or lock timeout, so the
 * driver does. Every call into SQLite that may wait for a lock or run long
 * is bracketed by db_lite_call_begin / db_lite_call_end: the start time tells a lock wait
 * that used up its limit from one that failed at once, and with a
 * statement limit set, SQLite's progress handler (called every
 * PROGRESS_OPS virtual-machine steps) cuts the call once it has run that
 * long. The deadline is cleared between calls, so that a statement
 * prepared long after the last one is never cut by a stale deadline. */

enum { PROGRESS_OPS = 1000 };

static int on_progress(void *ctx)
{
    struct lite_conn *lc = ctx;
    if (lc->call_deadline_us == 0 || mt_mono_us() < lc->call_deadline_us)
        return 0;
    lc->interrupted = true;
    return 1;
}

void db_lite_call_begin(struct lite_conn *lc)
{
    lc->call_start_us = mt_mono_us();
    lc->interrupted = false;
    lc->call_deadline_us = lc->stmt_ms > 0 ? lc->call_start_us + (int64_t)lc->stmt_ms * 1000 : 0;
}

void db_lite_call_end(struct lite_conn *lc)
{
    lc->call_start_us = 0;
    lc->call_deadline_us = 0;
}

/* The session limits on SQLite (see db_set_timeouts and the comment above
 * on_progress): the lock wait limit, which bounds the writer queue and
 * SQLite's busy handler together, is the smallest limit set, since a lock
 * wait is part of a statement; a statement limit also arms the progress
 * handler. Nothing to send anywhere, so this cannot fail. */
static int lite_set_timeouts(struct db_conn *c, int statement_ms, int lock_ms, struct mt_err *err)
{
    (void)err;
    struct lite_conn *lc = lite_of(c);
    int limit = lc->base_busy_ms;
    if (lock_ms > 0 && lock_ms < limit)
        limit = lock_ms;
    if (statement_ms > 0 && statement_ms < limit)
        limit = statement_ms;
    lc->busy_ms = limit;
    lc->shortened = false;
    sqlite3_busy_timeout(lc->db, limit);
    lc->stmt_ms = statement_ms;
    if (statement_ms > 0)
        sqlite3_progress_handler(lc->db, PROGRESS_OPS, on_progress, lc);
    else
        sqlite3_progress_handler(lc->db, 0, NULL, NULL);
    c->deadline_ms = limit;
    return 0;
}

/* ---- transactions and connection calls ---- */

static bool lite_is_broken(struct db_conn *c)
{
    return false;
}

bool db_lite_tx_active(struct db_conn *c)
{
    return !sqlite3_get_autocommit(lite_of(c)->db);
}

/* Runs sql inside a call bracketed by the caller (see db_lite_call_begin). */
static int exec_in_call(struct lite_conn *lc, const char *sql, struct mt_err *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(lc->db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return 0;
    int ext = sqlite3_extended_errcode(lc->db);
    db_lite_fail_code(lc, ext, "statement failed", msg ? msg : sqlite3_errstr(rc), err);
    sqlite3_free(msg);
    return -1;
}

static int lite_exec(struct db_conn *c, const char *sql, struct mt_err *err)
{
    struct lite_conn *lc = lite_of(c);
    db_lite_call_begin(lc);
    int rc = exec_in_call(lc, sql, err);
    db_lite_call_end(lc);
    return rc;
}

static int lite_begin_write(struct db_conn *c, struct mt_err *err)
{
    struct lite_conn *lc = lite_of(c);
    if (!lc->wq || lc->tx_queued || db_lite_tx_active(c))
        return lite_exec(c, "BEGIN IMMEDIATE", err);
    /* One call from the queue on: the wait in the queue and in SQLite's
     * busy handler together make the lock wait. */
    db_lite_call_begin(lc);
    if (db_lite_writer_enter(lc, err) < 0) {
        db_lite_call_end(lc);
        return -1;
    }
    int rc = exec_in_call(lc, "BEGIN IMMEDIATE", err);
    db_lite_call_end(lc);
    db_lite_restore_busy_timeout(lc);
    if (rc < 0 || !db_lite_tx_active(c)) {
        db_lite_queue_leave(lc->wq);
        return rc;
    }
    lc->tx_queued = true;
    return 0;
}

static void lite_tx_finished(struct db_conn *c)
{
    struct lite_conn *lc = lite_of(c);
    if (lc->tx_queued && !db_lite_tx_active(c)) {
        lc->tx_queued = false;
        db_lite_queue_leave(lc->wq);
    }
}

static int64_t lite_changes(struct db_conn *c)
{
    return sqlite3_changes64(lite_of(c)->db);
}

static int lite_last_insert_id(struct db_conn *c, int64_t *out, struct mt_err *err)
{
    *out = sqlite3_last_insert_rowid(lite_of(c)->db);
    return 0;
}

const struct db_driver db_sqlite_driver = {
    .dialect = DB_SQLITE,
    .impl_name = "SQLiteImpl",
    .transactional_ddl = true,
    .begin_sql = "BEGIN",
    .begin_write_sql = "BEGIN IMMEDIATE",
    .begin_snapshot_sql = "BEGIN",
    .max_params = 999, /* SQLITE_MAX_VARIABLE_NUMBER of builds before 3.32 */
    .open = db_lite_open,
    .close = db_lite_close,
    .is_broken = lite_is_broken,
    .set_timeouts = lite_set_timeouts,
    .tx_active = db_lite_tx_active,
    .begin_write = lite_begin_write,
    .tx_finished = lite_tx_finished,
    .prepare = db_lite_prepare,
    .execute = db_lite_execute,
    .step = db_lite_step,
    .reset = db_lite_reset,
    .finalize = db_lite_finalize,
    .col_count = db_lite_col_count,
    .col_name = db_lite_col_name,
    .col_null = db_lite_col_null,
    .col_int = db_lite_col_int,
    .col_double = db_lite_col_double,
    .col_text = db_lite_col_text,
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

bool db_sqlite_is_memory(struct db_conn *c)
{
    return c && c->drv->dialect == DB_SQLITE && lite_of(c)->memory;
}
