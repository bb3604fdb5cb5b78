/* SQLite statements: prepared once with SQLITE_PREPARE_PERSISTENT and reset
 * between runs, bound parameters, a write outside a transaction queueing
 * like one (sqlite_queue.c), and columns, with timestamps read back in the
 * canonical text the other dialects return. Part of the SQLite driver
 * (sqlite.c holds its table). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/sqlite_int.h"

/* What execute left behind for the first db_next. */
enum pending { PENDING_NONE, PENDING_ROW, PENDING_DONE };

struct lite_stmt {
    sqlite3_stmt *h;
    enum pending pending;
    bool queued;           /* holds the writer queue: a write outside a transaction */
    char (*ts)[DB_TS_MAX]; /* per column: canonical timestamp text */
    int nts;
    /* Per column, found once per run: 0 not looked at yet, 1 declared
     * TIMESTAMP / DATETIME, 2 not. Cleared by execute, since a statement
     * that SQLite prepares again after a schema change may see new types. */
    signed char *ts_kind;
    int nkind;
};

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

int db_lite_prepare(struct db_stmt *st, struct mt_err *err)
{
    struct lite_conn *lc = lite_of(st->conn);
    sqlite3_stmt *h = NULL;
    const char *tail = NULL;
    unsigned flags = st->temp ? 0 : SQLITE_PREPARE_PERSISTENT;
    int rc = sqlite3_prepare_v3(lc->db, st->sql, -1, flags, &h, &tail);
    if (rc != SQLITE_OK) {
        char what[96];
        snprintf(what, sizeof what, "cannot prepare \"%.60s\"", st->sql);
        return db_lite_fail_rc(lc, rc, what, err);
    }
    if (!h) {
        return mt_fail(err, MT_EINTERNAL, "empty statement \"%.60s\"", st->sql);
    }
    if (has_more_statements(lc->db, tail)) {
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

/* Gives the writer queue back once a write outside a transaction is over. */
static void stmt_unqueue(struct db_stmt *st)
{
    struct lite_stmt *ls = st->impl;
    if (ls->queued) {
        ls->queued = false;
        db_lite_queue_leave(lite_of(st->conn)->wq);
    }
}

/* Ends the call around sqlite3_step, which returned rc: 1 a row, 0 done
 * (and remembered as done for the next step), -1 failed. */
static int step_ended(struct lite_conn *lc, struct lite_stmt *ls, int rc, struct mt_err *err)
{
    if (rc == SQLITE_ROW) {
        db_lite_call_end(lc);
        return 1;
    }
    if (rc == SQLITE_DONE) {
        db_lite_call_end(lc);
        ls->pending = PENDING_DONE;
        return 0;
    }
    db_lite_fail_rc(lc, rc, "query failed", err);
    db_lite_call_end(lc);
    return -1;
}

int db_lite_execute(struct db_stmt *st, const struct db_param *p, size_t n, struct mt_err *err)
{
    struct lite_stmt *ls = st->impl;
    struct lite_conn *lc = lite_of(st->conn);
    int want = sqlite3_bind_parameter_count(ls->h);
    if ((size_t)want != n)
        return mt_fail(err, MT_EINTERNAL, "statement \"%.60s\" takes %d parameters, %zu given",
                       st->sql, want, n);
    for (size_t i = 0; i < n; i++) {
        int rc = bind_one(ls->h, (int)i + 1, &p[i]);
        if (rc != SQLITE_OK)
            return db_lite_fail_rc(lc, rc, "cannot bind a parameter", err);
    }
    if (ls->nkind)
        memset(ls->ts_kind, 0, (size_t)ls->nkind);
    /* A write outside a transaction is a transaction of its own: it queues
     * like one. Inside a transaction begun by db_begin_immediate the queue
     * is already ours; in a deferred one, SQLite's busy timeout applies. */
    db_lite_call_begin(lc);
    if (lc->wq && !lc->tx_queued && !ls->queued && !sqlite3_stmt_readonly(ls->h) &&
        sqlite3_get_autocommit(lc->db)) {
        if (db_lite_writer_enter(lc, err) < 0) {
            db_lite_call_end(lc);
            return -1;
        }
        ls->queued = true;
    }
    int rc = sqlite3_step(ls->h);
    db_lite_restore_busy_timeout(lc);
    /* Rows of a RETURNING clause: the write is done and committed once they
     * have been read, at db_done; otherwise it is over now. */
    if (rc != SQLITE_ROW)
        stmt_unqueue(st);
    int got = step_ended(lc, ls, rc, err);
    if (got == 1)
        ls->pending = PENDING_ROW;
    return got < 0 ? -1 : 0;
}

int db_lite_step(struct db_stmt *st, struct mt_err *err)
{
    struct lite_stmt *ls = st->impl;
    enum pending pending = ls->pending;
    ls->pending = PENDING_NONE;
    if (pending == PENDING_ROW)
        return 1;
    if (pending == PENDING_DONE)
        return 0;
    struct lite_conn *lc = lite_of(st->conn);
    db_lite_call_begin(lc);
    return step_ended(lc, ls, sqlite3_step(ls->h), err);
}

void db_lite_reset(struct db_stmt *st)
{
    struct lite_stmt *ls = st->impl;
    sqlite3_reset(ls->h);
    sqlite3_clear_bindings(ls->h);
    ls->pending = PENDING_NONE;
    stmt_unqueue(st);
}

void db_lite_finalize(struct db_stmt *st)
{
    struct lite_stmt *ls = st->impl;
    sqlite3_finalize(ls->h);
    stmt_unqueue(st);
    free(ls->ts);
    free(ls->ts_kind);
    free(ls);
    st->impl = NULL;
}

static sqlite3_stmt *h_of(struct db_stmt *st)
{
    return ((struct lite_stmt *)st->impl)->h;
}

int db_lite_col_count(struct db_stmt *st)
{
    return sqlite3_column_count(h_of(st));
}

const char *db_lite_col_name(struct db_stmt *st, int i)
{
    return sqlite3_column_name(h_of(st), i);
}

bool db_lite_col_null(struct db_stmt *st, int i)
{
    return sqlite3_column_type(h_of(st), i) == SQLITE_NULL;
}

int64_t db_lite_col_int(struct db_stmt *st, int i)
{
    return sqlite3_column_int64(h_of(st), i);
}

double db_lite_col_double(struct db_stmt *st, int i)
{
    return sqlite3_column_double(h_of(st), i);
}

/* SQLite stores timestamps as the text it was given; columns declared
 * TIMESTAMP or DATETIME read back in the canonical form the other dialects
 * return (see db_canon_timestamp). */
static bool is_timestamp_column(struct lite_stmt *ls, int i)
{
    if (i >= ls->nkind) {
        int n = sqlite3_column_count(ls->h);
        if (i >= n)
            return false;
        ls->ts_kind = mt_xrealloc(ls->ts_kind, (size_t)n);
        memset(ls->ts_kind + ls->nkind, 0, (size_t)(n - ls->nkind));
        ls->nkind = n;
    }
    if (ls->ts_kind[i] == 0) {
        const char *decl = sqlite3_column_decltype(ls->h, i);
        bool ts = decl && (strcasestr(decl, "TIMESTAMP") || strcasestr(decl, "DATETIME"));
        ls->ts_kind[i] = ts ? 1 : 2;
    }
    return ls->ts_kind[i] == 1;
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

const char *db_lite_col_text(struct db_stmt *st, int i, size_t *len)
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
    if (p && is_timestamp_column(st->impl, i))
        return canon_ts(st->impl, i, p, len);
    return p ? p : "";
}
