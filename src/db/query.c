/* Statements, dialect-independent: each connection's cache of prepared
 * statements (keyed by their text) and its open cursors, running queries
 * and scripts (a query whose link broke is run again on a new session where
 * that is safe), reading columns, and the one-value shorthands. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "db/db_int.h"

/* Statements cached per connection; more run uncached. */
enum { CACHE_MAX = 512 };

/* ---- the statement cache ---- */

static void stmt_free(struct db_stmt *st)
{
    if (st->impl)
        st->conn->drv->finalize(st);
    free(st->sql);
    free(st);
}

void db_cache_init(struct db_conn *c)
{
    c->n_buckets = 64;
    c->buckets = mt_xcalloc(c->n_buckets, sizeof *c->buckets);
}

void db_cache_clear(struct db_conn *c)
{
    for (size_t b = 0; b < c->n_buckets; b++) {
        struct db_stmt *st = c->buckets[b];
        while (st) {
            struct db_stmt *next = st->next;
            stmt_free(st);
            st = next;
        }
        c->buckets[b] = NULL;
    }
    c->n_cached = 0;
    while (c->temps) {
        struct db_stmt *next = c->temps->next;
        stmt_free(c->temps);
        c->temps = next;
    }
}

bool db_any_cursor_open(const struct db_conn *c)
{
    if (c->temps)
        return true;
    for (size_t b = 0; b < c->n_buckets; b++) {
        for (const struct db_stmt *st = c->buckets[b]; st; st = st->next) {
            if (st->active)
                return true;
        }
    }
    return false;
}

void db_conn_release_cursors(struct db_conn *c)
{
    for (size_t b = 0; b < c->n_buckets; b++) {
        for (struct db_stmt *st = c->buckets[b]; st; st = st->next) {
            if (st->active)
                db_done(st);
        }
    }
    while (c->temps)
        db_done(c->temps);
}

static uint64_t hash_sql(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static void cache_grow(struct db_conn *c)
{
    size_t nb = c->n_buckets * 2;
    struct db_stmt **b = mt_xcalloc(nb, sizeof *b);
    for (size_t i = 0; i < c->n_buckets; i++) {
        struct db_stmt *st = c->buckets[i];
        while (st) {
            struct db_stmt *next = st->next;
            size_t k = (size_t)(st->hash % nb);
            st->next = b[k];
            b[k] = st;
            st = next;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->n_buckets = nb;
}

/* Finds or prepares the statement for sql. A cached statement whose cursor
 * is still open is not reused: a temporary one is prepared instead, so that
 * nested queries of the same text work. */
static int stmt_get(struct db_conn *c, const char *sql, struct db_stmt **out, struct mt_err *err)
{
    uint64_t h = hash_sql(sql);
    size_t k = (size_t)(h % c->n_buckets);
    bool busy = false;
    for (struct db_stmt *st = c->buckets[k]; st; st = st->next) {
        if (st->hash == h && strcmp(st->sql, sql) == 0) {
            if (!st->active) {
                *out = st;
                return 0;
            }
            busy = true;
            break;
        }
    }
    struct db_stmt *st = mt_xcalloc(1, sizeof *st);
    st->conn = c;
    st->sql = mt_xstrdup(sql);
    st->hash = h;
    st->temp = busy || c->n_cached >= CACHE_MAX;
    if (c->drv->prepare(st, err) < 0) {
        stmt_free(st);
        return -1;
    }
    if (st->temp) {
        st->next = c->temps;
        c->temps = st;
    } else {
        if (c->n_cached >= c->n_buckets)
            cache_grow(c);
        k = (size_t)(h % c->n_buckets);
        st->next = c->buckets[k];
        c->buckets[k] = st;
        c->n_cached++;
    }
    *out = st;
    return 0;
}

/* True for a statement that only reads (a SELECT), which can run again on a
 * new session after the old one broke without doing anything twice. */
static bool reads_only(const char *sql)
{
    while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r' || *sql == '(')
        sql++;
    return strncasecmp(sql, "SELECT", 6) == 0 && !db_sql_ident_char(sql[6]);
}

static void temp_unlink(struct db_stmt *st)
{
    struct db_stmt **pp = &st->conn->temps;
    while (*pp && *pp != st)
        pp = &(*pp)->next;
    if (*pp)
        *pp = st->next;
}

void db_done(struct db_stmt *st)
{
    if (!st)
        return;
    st->conn->drv->reset(st);
    st->active = false;
    if (st->conn->stream == st)
        st->conn->stream = NULL;
    if (st->temp) {
        temp_unlink(st);
        stmt_free(st);
    }
}

/* ---- running statements ---- */

int db_refuse_while_streaming(struct db_conn *c, struct mt_err *err)
{
    if (!c->stream)
        return 0;
    return mt_fail(err, MT_EINTERNAL,
                   "a streamed result (\"%.60s\") is still open on this connection",
                   c->stream->sql);
}

/* Prepares (or finds) and runs sql once; *ran says whether it got past
 * preparing. On failure nothing is left open. */
static int run_once(struct db_conn *c, const char *sql, const struct db_param *params, size_t n,
                    struct db_stmt **out, bool *ran, struct mt_err *err)
{
    struct db_stmt *st;
    *ran = false;
    if (stmt_get(c, sql, &st, err) < 0)
        return -1;
    st->active = true;
    *ran = true;
    if (c->drv->execute(st, params, n, err) < 0) {
        db_done(st);
        return -1;
    }
    *out = st;
    return 0;
}

int db_query(struct db_conn *c, const char *sql, const struct db_param *params, size_t n,
             struct db_stmt **out, struct mt_err *err)
{
    struct db_stmt *st = NULL;
    if (out)
        *out = NULL;
    if (db_refuse_while_streaming(c, err) < 0)
        return -1;
    /* Asked before the statement: once the link is lost the drivers no
     * longer know whether a transaction was open. */
    bool in_tx = c->drv->dialect != DB_SQLITE && db_in_tx(c);
    bool ran = false;
    int rc = run_once(c, sql, params, n, &st, &ran, err);
    if (rc < 0 && !in_tx && db_link_lost(c, err) && (!ran || reads_only(sql))) {
        /* A pooled connection whose server restarted (or that a proxy
         * dropped): nothing of this statement took effect, so it runs once
         * more on a new session instead of failing the request. */
        struct mt_err again;
        mt_err_clear(&again);
        if (db_conn_reopen(c, &again) == 0) {
            mt_log(MT_LOG_INFO, "the connection to %s was lost; reopened it and retrying",
                   c->label);
            rc = run_once(c, sql, params, n, &st, &ran, err);
        }
    }
    if (rc < 0) {
        db_after_fail(c, err);
        return -1;
    }
    if (out) {
        *out = st;
        return 0;
    }
    rc = db_next(st, err);
    while (rc == 1)
        rc = db_next(st, err);
    db_done(st);
    return rc < 0 ? -1 : 0;
}

int db_exec_later(struct db_conn *c, const char *sql, const struct db_param *params, size_t n,
                  struct mt_err *err)
{
    bool blob = false;
    for (size_t i = 0; i < n; i++)
        blob = blob || params[i].type == DB_T_BLOB;
    /* A blob is sent from the caller's memory, which need not outlive this
     * call. */
    if (!c->drv->execute_later || blob || !db_in_tx(c))
        return db_query(c, sql, params, n, NULL, err);
    if (db_refuse_while_streaming(c, err) < 0)
        return -1;
    struct db_stmt *st;
    if (stmt_get(c, sql, &st, err) < 0) {
        db_after_fail(c, err);
        return -1;
    }
    /* An uncached copy would be freed before it is sent. */
    if (st->temp) {
        db_done(st);
        return db_query(c, sql, params, n, NULL, err);
    }
    if (c->drv->execute_later(st, params, n, err) < 0) {
        db_after_fail(c, err);
        return -1;
    }
    return 0;
}

int db_query_stream(struct db_conn *c, const char *sql, const struct db_param *params, size_t n,
                    struct db_stmt **out, struct mt_err *err)
{
    struct db_stmt *st;
    *out = NULL;
    if (db_refuse_while_streaming(c, err) < 0)
        return -1;
    if (stmt_get(c, sql, &st, err) < 0) {
        db_after_fail(c, err);
        return -1;
    }
    st->active = true;
    int rc = c->drv->execute_stream ? c->drv->execute_stream(st, params, n, err)
                                    : c->drv->execute(st, params, n, err);
    if (rc < 0) {
        db_after_fail(c, err);
        db_done(st);
        return -1;
    }
    c->stream = st;
    *out = st;
    return 0;
}

int db_next(struct db_stmt *st, struct mt_err *err)
{
    int rc = st->conn->drv->step(st, err);
    if (rc < 0)
        db_after_fail(st->conn, err);
    return rc;
}

int db_col_count(struct db_stmt *st)
{
    return st->conn->drv->col_count(st);
}

static bool col_ok(struct db_stmt *st, int i)
{
    return st && i >= 0 && i < st->conn->drv->col_count(st);
}

const char *db_col_name(struct db_stmt *st, int i)
{
    return col_ok(st, i) ? st->conn->drv->col_name(st, i) : NULL;
}

bool db_col_null(struct db_stmt *st, int i)
{
    return !col_ok(st, i) || st->conn->drv->col_null(st, i);
}

int64_t db_col_int(struct db_stmt *st, int i)
{
    if (db_col_null(st, i))
        return 0;
    return st->conn->drv->col_int(st, i);
}

double db_col_double(struct db_stmt *st, int i)
{
    if (db_col_null(st, i))
        return 0.0;
    return st->conn->drv->col_double(st, i);
}

const char *db_col_text(struct db_stmt *st, int i, size_t *len)
{
    if (db_col_null(st, i)) {
        if (len)
            *len = 0;
        return NULL;
    }
    size_t n = 0;
    const char *p = st->conn->drv->col_text(st, i, &n);
    if (len)
        *len = n;
    return p;
}

int64_t db_changes(struct db_conn *c)
{
    return c->drv->changes(c);
}

int64_t db_last_insert_id(struct db_conn *c, struct mt_err *err)
{
    int64_t id = 0;
    if (db_refuse_while_streaming(c, err) < 0)
        return -1;
    if (c->drv->last_insert_id(c, &id, err) < 0) {
        db_scrub(err);
        return -1;
    }
    return id;
}

int db_exec(struct db_conn *c, const char *sql, struct mt_err *err)
{
    struct mt_strlist stmts;
    if (db_refuse_while_streaming(c, err) < 0)
        return -1;
    if (db_split_sql(sql, &stmts, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < stmts.n && rc == 0; i++) {
        rc = c->drv->exec(c, stmts.items[i], err);
        if (rc < 0) {
            db_after_fail(c, err);
            if (stmts.n > 1) {
                /* Name the statement so a failing migration is easy to find. */
                const char *s = stmts.items[i];
                size_t n = strcspn(s, "\n");
                mt_err_wrap(err, "statement %zu of %zu (\"%.*s%s\")", i + 1, stmts.n,
                            (int)(n > 60 ? 60 : n), s, n > 60 ? "..." : "");
            }
        }
    }
    mt_strlist_release(&stmts);
    return rc;
}

/* ---- shorthands ---- */

int db_query_each(struct db_conn *c, const char *sql, const struct db_param *params, size_t n,
                  db_row_fn row, void *ctx, struct mt_err *err)
{
    struct db_stmt *st;
    if (db_query(c, sql, params, n, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    while (rc == 1)
        rc = row(st, ctx, err) < 0 ? -1 : db_next(st, err);
    db_done(st);
    return rc < 0 ? -1 : 0;
}

int db_query_int(struct db_conn *c, const char *sql, const struct db_param *params, size_t n,
                 int64_t *out, bool *found, struct mt_err *err)
{
    struct db_stmt *st;
    if (found)
        *found = false;
    if (db_query(c, sql, params, n, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    if (rc == 1 && !db_col_null(st, 0)) {
        *out = db_col_int(st, 0);
        if (found)
            *found = true;
    }
    db_done(st);
    return rc < 0 ? -1 : 0;
}

int db_query_text(struct db_conn *c, const char *sql, const struct db_param *params, size_t n,
                  char **out, struct mt_err *err)
{
    struct db_stmt *st;
    *out = NULL;
    if (db_query(c, sql, params, n, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    if (rc == 1 && !db_col_null(st, 0)) {
        size_t len;
        const char *p = db_col_text(st, 0, &len);
        *out = mt_xstrndup(p, len);
    }
    db_done(st);
    return rc < 0 ? -1 : 0;
}
