/* The MariaDB / MySQL driver over libmariadb (Connector/C). Statements are
 * server-side prepared once per connection (mysql_stmt) and their results
 * buffered on the client (mysql_stmt_store_result), or for db_query_stream
 * fetched from the server one row at a time; long text grows its column
 * buffer and is fetched again. Sessions run in UTC with utf8mb4 and a strict
 * sql_mode. Built as the module meditrack-mysql.so, whose exported table is
 * db_mysql_driver. */
#include <errmsg.h>
#include <inttypes.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/module.h"
#include "core/str.h"
#include "db/db_int.h"

enum {
    DEFAULT_CONNECT_TIMEOUT = 10,
    INITIAL_TEXT_BUFFER = 256,
};

struct my_conn {
    MYSQL *m;
    int64_t changes;
    int64_t last_id;
};

/* How a result column is fetched. */
enum col_kind { K_INT, K_DOUBLE, K_TIME, K_TEXT };

struct my_col {
    enum col_kind kind;
    enum enum_field_types type;
    bool is_unsigned;
    my_bool is_null;
    my_bool error;
    unsigned long length;
    int64_t i;
    double d;
    MYSQL_TIME t;
    char *buf; /* K_TEXT: the value, NUL-terminated */
    unsigned long cap;
    char text[64]; /* the text form of K_INT, K_DOUBLE, K_TIME */
};

/* A parameter value copied into storage the bind can point at. */
struct my_pval {
    int64_t i;
    double d;
    signed char b;
    unsigned long len;
};

struct my_stmt {
    MYSQL_STMT *h;
    MYSQL_RES *meta; /* NULL when the statement returns no rows */
    unsigned nparams, ncols;
    MYSQL_BIND *pbind;
    struct my_pval *pval;
    MYSQL_BIND *rbind;
    struct my_col *cols;
    bool have_rows;
    bool pending; /* streamed: the first row was fetched by execute, not yet stepped to */
};

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_rc;

/* mysql_library_init is not thread-safe; run it exactly once. */
static void library_init(void)
{
    library_rc = mysql_library_init(0, NULL, NULL);
}

static MYSQL *m_of(struct db_conn *c)
{
    return ((struct my_conn *)c->impl)->m;
}

static bool gone(unsigned no)
{
    return no == CR_SERVER_GONE_ERROR || no == CR_SERVER_LOST || no == CR_CONNECTION_ERROR ||
           no == CR_CONN_HOST_ERROR || no == ER_CONNECTION_KILLED;
}

/* Error numbers of MySQL proper that MariaDB's headers lack. */
enum { MYSQL_ER_QUERY_TIMEOUT = 3024 };

static enum mt_code code_for_errno(unsigned no, const char *msg)
{
    switch (no) {
    case ER_LOCK_DEADLOCK:
        return MT_EDB_RETRY;
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_STATEMENT_TIMEOUT:
    case MYSQL_ER_QUERY_TIMEOUT:
        return MT_ETIMEOUT;
    case ER_DISK_FULL:
    case ER_RECORD_FILE_FULL:
        return MT_ENOSPC;
    case ER_SERVER_SHUTDOWN:
    case ER_CON_COUNT_ERROR:
    case ER_QUERY_INTERRUPTED:
        return MT_EUNAVAIL;
    case ER_DUP_ENTRY:
    case ER_DUP_ENTRY_WITH_KEY_NAME:
    case ER_DUP_KEY:
    case ER_NO_REFERENCED_ROW:
    case ER_NO_REFERENCED_ROW_2:
    case ER_ROW_IS_REFERENCED:
    case ER_ROW_IS_REFERENCED_2:
        return MT_ECONFLICT;
    default:
        break;
    }
    if (gone(no))
        return MT_EUNAVAIL;
    /* Storage engines and file writes report a full disk as errno 28 inside
     * a generic error ("Got error 28 ...", "Errcode: 28 ..."). */
    if (msg && (strstr(msg, "No space left on device") || strstr(msg, "error 28 ") ||
                strstr(msg, "Errcode: 28 ")))
        return MT_ENOSPC;
    return MT_EDB;
}

static int fail_no(struct db_conn *c, unsigned no, const char *msg, const char *what,
                   struct mt_err *err)
{
    if (gone(no))
        c->broken = true;
    return mt_fail(err, code_for_errno(no, msg), "%s: %s (error %u)", what, msg, no);
}

static int fail_conn(struct db_conn *c, const char *what, struct mt_err *err)
{
    MYSQL *m = m_of(c);
    return fail_no(c, mysql_errno(m), mysql_error(m), what, err);
}

static int fail_stmt(struct db_conn *c, MYSQL_STMT *h, const char *what, struct mt_err *err)
{
    return fail_no(c, mysql_stmt_errno(h), mysql_stmt_error(h), what, err);
}

static enum mt_code classify_connect(unsigned no)
{
    switch (no) {
    case ER_ACCESS_DENIED_ERROR:
    case ER_DBACCESS_DENIED_ERROR:
    case ER_ACCESS_DENIED_NO_PASSWORD_ERROR:
        return MT_EAUTH;
    case ER_BAD_DB_ERROR:
        return MT_ENODB;
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case ER_CON_COUNT_ERROR:
    case ER_SERVER_SHUTDOWN:
        return MT_EUNAVAIL;
    default:
        return MT_EDB;
    }
}

static int my_open(struct db_conn *c, const struct db_url *u, struct mt_err *err)
{
    pthread_once(&library_once, library_init);
    if (library_rc != 0)
        return mt_fail(err, MT_EDB, "cannot initialise the MariaDB client library");
    MYSQL *m = mysql_init(NULL);
    if (!m)
        return mt_fail(err, MT_EDB, "cannot connect to %s: out of memory", c->label);
    unsigned timeout =
        (unsigned)(u->connect_timeout > 0 ? u->connect_timeout : DEFAULT_CONNECT_TIMEOUT);
    my_bool off = 0, on = 1;
    mysql_options(m, MYSQL_SET_CHARSET_NAME, u->charset ? u->charset : "utf8mb4");
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    /* Reconnecting silently would drop the prepared statements and any
     * transaction; the pool reopens broken connections instead. */
    mysql_options(m, MYSQL_OPT_RECONNECT, &off);
    mysql_options(m, MYSQL_REPORT_DATA_TRUNCATION, &on);
    /* CLIENT_FOUND_ROWS: an UPDATE reports the rows it matched, as SQLite
     * and PostgreSQL do, not only those whose values changed. */
    if (!mysql_real_connect(m, u->host, u->user, u->password, u->dbname, (unsigned)u->port,
                            u->unix_socket, CLIENT_FOUND_ROWS)) {
        unsigned no = mysql_errno(m);
        mt_fail(err, classify_connect(no), "cannot connect to %s: %s (error %u)", c->label,
                mysql_error(m), no);
        mysql_close(m);
        return -1;
    }
    static const char session[] =
        "SET time_zone = '+00:00',"
        " sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION'";
    if (mysql_real_query(m, session, sizeof session - 1) != 0 || mysql_autocommit(m, 1) != 0) {
        mt_fail(err, MT_EDB, "cannot configure the session on %s: %s (error %u)", c->label,
                mysql_error(m), mysql_errno(m));
        mysql_close(m);
        return -1;
    }
    struct my_conn *mc = mt_xcalloc(1, sizeof *mc);
    mc->m = m;
    c->impl = mc;
    return 0;
}

static void my_close(struct db_conn *c)
{
    struct my_conn *mc = c->impl;
    if (!mc)
        return;
    mysql_close(mc->m);
    free(mc);
    c->impl = NULL;
}

static bool my_is_broken(struct db_conn *c)
{
    /* The protocol has the server speak only when asked, but for an error
     * packet just before it closes a killed session or shuts down: bytes
     * waiting on an idle connection mean it is gone. Under TLS they may be
     * a record the library would swallow, so only a closed socket counts. */
    MYSQL *m = m_of(c);
    int state = db_sock_peek((int)mysql_get_socket(m));
    return state < 0 || (state > 0 && !mysql_get_ssl_cipher(m));
}

static int my_set_timeouts(struct db_conn *c, int statement_ms, int lock_ms, struct mt_err *err)
{
    MYSQL *m = m_of(c);
    /* SET takes no parameters; the values are integers checked by db.c.
     * InnoDB and metadata lock waits count in whole seconds; 0 restores
     * the server's default rather than "do not wait at all". */
    char lock[16] = "DEFAULT";
    if (lock_ms > 0)
        snprintf(lock, sizeof lock, "%d", (lock_ms + 999) / 1000);
    char stmt[40];
    if (mariadb_connection(m))
        snprintf(stmt, sizeof stmt, "max_statement_time = %d.%03d", statement_ms / 1000,
                 statement_ms % 1000);
    else
        snprintf(stmt, sizeof stmt, "max_execution_time = %d", statement_ms);
    char sql[160];
    snprintf(sql, sizeof sql,
             "SET SESSION %s, innodb_lock_wait_timeout = %s, lock_wait_timeout = %s", stmt, lock,
             lock);
    if (mysql_real_query(m, sql, strlen(sql)) != 0)
        return fail_conn(c, "cannot set the session timeouts", err);
    return 0;
}

/* SELECT 1 with the wait for the answer bounded by us: the query is sent,
 * the socket watched, and only a readable answer is read (blocking reads
 * would wait for a frozen server until TCP gives up). */
static int my_ping(struct db_conn *c, int timeout_ms, struct mt_err *err)
{
    MYSQL *m = m_of(c);
    static const char q[] = "SELECT 1";
    uint64_t start = mt_mono_ms();
    if (mysql_send_query(m, q, sizeof q - 1) != 0)
        return fail_conn(c, "ping failed", err);
    long left = timeout_ms - (long)(mt_mono_ms() - start);
    int ready = left > 0 ? db_sock_wait((int)mysql_get_socket(m), (int)left) : 0;
    if (ready <= 0) {
        /* The answer may still come; the session is unusable until then. */
        c->broken = true;
        return mt_fail(err, MT_ETIMEOUT, "the database did not answer within %d ms", timeout_ms);
    }
    if (mysql_read_query_result(m) != 0)
        return fail_conn(c, "ping failed", err);
    MYSQL_RES *res = mysql_store_result(m);
    if (!res)
        return fail_conn(c, "ping failed", err);
    mysql_free_result(res);
    return 0;
}

static bool my_tx_active(struct db_conn *c)
{
    unsigned status = 0;
    if (mariadb_get_infov(m_of(c), MARIADB_CONNECTION_SERVER_STATUS, &status) != 0)
        return true; /* unknown: let the caller roll back to be safe */
    return (status & SERVER_STATUS_IN_TRANS) != 0;
}

static void stmt_release(struct my_stmt *ms)
{
    if (ms->meta)
        mysql_free_result(ms->meta);
    if (ms->h)
        mysql_stmt_close(ms->h);
    for (unsigned i = 0; ms->cols && i < ms->ncols; i++)
        free(ms->cols[i].buf);
    free(ms->cols);
    free(ms->rbind);
    free(ms->pbind);
    free(ms->pval);
    free(ms);
}

static enum col_kind kind_of(enum enum_field_types t)
{
    switch (t) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
        return K_INT;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        return K_DOUBLE;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIME:
        return K_TIME;
    default:
        return K_TEXT;
    }
}

/* Points the result binds at each column's storage. */
static void bind_results(struct my_stmt *ms)
{
    for (unsigned i = 0; i < ms->ncols; i++) {
        struct my_col *col = &ms->cols[i];
        MYSQL_BIND *b = &ms->rbind[i];
        memset(b, 0, sizeof *b);
        b->is_null = &col->is_null;
        b->error = &col->error;
        b->length = &col->length;
        switch (col->kind) {
        case K_INT:
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = &col->i;
            b->is_unsigned = col->is_unsigned;
            break;
        case K_DOUBLE:
            b->buffer_type = MYSQL_TYPE_DOUBLE;
            b->buffer = &col->d;
            break;
        case K_TIME:
            b->buffer_type = col->type == MYSQL_TYPE_NEWDATE ? MYSQL_TYPE_DATE : col->type;
            b->buffer = &col->t;
            b->buffer_length = sizeof col->t;
            break;
        case K_TEXT:
            b->buffer_type = MYSQL_TYPE_STRING;
            b->buffer = col->buf;
            b->buffer_length = col->cap;
            break;
        }
    }
}

/* Reads the result metadata and sets up a fetch buffer per column. Done at
 * prepare time, or after the first execute for statements such as
 * INSERT ... RETURNING whose metadata only then becomes known. */
static void setup_columns(struct my_stmt *ms)
{
    ms->meta = mysql_stmt_result_metadata(ms->h);
    if (!ms->meta)
        return;
    ms->ncols = mysql_num_fields(ms->meta);
    MYSQL_FIELD *fields = mysql_fetch_fields(ms->meta);
    ms->cols = mt_xcalloc(ms->ncols ? ms->ncols : 1, sizeof *ms->cols);
    ms->rbind = mt_xcalloc(ms->ncols ? ms->ncols : 1, sizeof *ms->rbind);
    for (unsigned i = 0; i < ms->ncols; i++) {
        struct my_col *col = &ms->cols[i];
        col->type = fields[i].type;
        col->kind = kind_of(fields[i].type);
        col->is_unsigned = (fields[i].flags & UNSIGNED_FLAG) != 0;
        if (col->kind == K_TEXT) {
            col->cap = INITIAL_TEXT_BUFFER;
            col->buf = mt_xmalloc(col->cap);
        }
    }
}

static int my_prepare(struct db_stmt *st, struct mt_err *err)
{
    struct db_conn *c = st->conn;
    MYSQL *m = m_of(c);
    struct my_stmt *ms = mt_xcalloc(1, sizeof *ms);
    ms->h = mysql_stmt_init(m);
    if (!ms->h) {
        stmt_release(ms);
        return fail_conn(c, "cannot prepare statement", err);
    }
    if (mysql_stmt_prepare(ms->h, st->sql, strlen(st->sql)) != 0) {
        char what[96];
        snprintf(what, sizeof what, "cannot prepare \"%.60s\"", st->sql);
        fail_stmt(c, ms->h, what, err);
        stmt_release(ms);
        return -1;
    }
    ms->nparams = (unsigned)mysql_stmt_param_count(ms->h);
    size_t np = ms->nparams ? ms->nparams : 1;
    ms->pbind = mt_xcalloc(np, sizeof *ms->pbind);
    ms->pval = mt_xcalloc(np, sizeof *ms->pval);
    setup_columns(ms);
    st->impl = ms;
    return 0;
}

static void bind_param(MYSQL_BIND *b, struct my_pval *v, const struct db_param *p)
{
    memset(b, 0, sizeof *b);
    switch (p->type) {
    case DB_T_NULL:
        b->buffer_type = MYSQL_TYPE_NULL;
        break;
    case DB_T_INT:
        v->i = p->v.i;
        b->buffer_type = MYSQL_TYPE_LONGLONG;
        b->buffer = &v->i;
        break;
    case DB_T_DOUBLE:
        v->d = p->v.d;
        b->buffer_type = MYSQL_TYPE_DOUBLE;
        b->buffer = &v->d;
        break;
    case DB_T_BOOL:
        v->b = p->v.b ? 1 : 0;
        b->buffer_type = MYSQL_TYPE_TINY;
        b->buffer = &v->b;
        break;
    case DB_T_TEXT:
    case DB_T_BLOB:
        if (!p->v.s.p) {
            b->buffer_type = MYSQL_TYPE_NULL;
            break;
        }
        v->len = (unsigned long)p->v.s.len;
        b->buffer_type = p->type == DB_T_TEXT ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
        b->buffer = (void *)p->v.s.p;
        b->buffer_length = v->len;
        b->length = &v->len;
        break;
    }
}

/* Runs the statement; with buffered false its rows are left on the server
 * for mysql_stmt_fetch to read one at a time (the connection can do nothing
 * else until they are read or flushed by mysql_stmt_free_result). */
static int run_statement(struct db_stmt *st, const struct db_param *p, size_t n, bool buffered,
                         struct mt_err *err)
{
    struct my_stmt *ms = st->impl;
    struct my_conn *mc = st->conn->impl;
    if (ms->nparams != n)
        return mt_fail(err, MT_EINTERNAL, "statement \"%.60s\" takes %u parameters, %zu given",
                       st->sql, ms->nparams, n);
    for (size_t i = 0; i < n; i++)
        bind_param(&ms->pbind[i], &ms->pval[i], &p[i]);
    if (n > 0 && mysql_stmt_bind_param(ms->h, ms->pbind) != 0)
        return fail_stmt(st->conn, ms->h, "cannot bind parameters", err);
    if (mysql_stmt_execute(ms->h) != 0)
        return fail_stmt(st->conn, ms->h, "query failed", err);
    if (!ms->meta && mysql_stmt_field_count(ms->h) > 0)
        setup_columns(ms);
    if (!ms->meta || mysql_stmt_field_count(ms->h) == 0) {
        mc->changes = (int64_t)mysql_stmt_affected_rows(ms->h);
        uint64_t id = mysql_stmt_insert_id(ms->h);
        if (id)
            mc->last_id = (int64_t)id;
        return 0;
    }
    if (buffered && mysql_stmt_store_result(ms->h) != 0)
        return fail_stmt(st->conn, ms->h, "cannot read the result", err);
    /* INSERT ... RETURNING also sets the generated id. */
    uint64_t id = mysql_stmt_insert_id(ms->h);
    if (id)
        mc->last_id = (int64_t)id;
    ms->have_rows = true;
    bind_results(ms);
    if (mysql_stmt_bind_result(ms->h, ms->rbind) != 0)
        return fail_stmt(st->conn, ms->h, "cannot bind the result", err);
    return 0;
}

/* Text columns that did not fit their buffers (with the NUL): grow them and
 * fetch those columns again. */
static int refetch_truncated(struct db_stmt *st, struct mt_err *err)
{
    struct my_stmt *ms = st->impl;
    bool rebind = false;
    for (unsigned i = 0; i < ms->ncols; i++) {
        struct my_col *col = &ms->cols[i];
        if (col->kind != K_TEXT || col->is_null || col->length < col->cap)
            continue;
        col->cap = col->length + 1;
        free(col->buf);
        col->buf = mt_xmalloc(col->cap);
        ms->rbind[i].buffer = col->buf;
        ms->rbind[i].buffer_length = col->cap;
        if (mysql_stmt_fetch_column(ms->h, &ms->rbind[i], i, 0) != 0)
            return fail_stmt(st->conn, ms->h, "cannot fetch a long column", err);
        rebind = true;
    }
    if (rebind && mysql_stmt_bind_result(ms->h, ms->rbind) != 0)
        return fail_stmt(st->conn, ms->h, "cannot bind the result", err);
    return 0;
}

static int my_execute(struct db_stmt *st, const struct db_param *p, size_t n, struct mt_err *err)
{
    return run_statement(st, p, n, true, err);
}

static int fetch_row(struct db_stmt *st, struct mt_err *err);

static int my_execute_stream(struct db_stmt *st, const struct db_param *p, size_t n,
                             struct mt_err *err)
{
    struct my_stmt *ms = st->impl;
    if (run_statement(st, p, n, false, err) < 0)
        return -1;
    if (!ms->have_rows)
        return 0;
    /* The first row comes now, so that an error the statement meets at once
     * is reported by db_query_stream, before the caller starts its reply. */
    int rc = fetch_row(st, err);
    if (rc < 0)
        return -1;
    ms->pending = rc == 1;
    return 0;
}

static int my_step(struct db_stmt *st, struct mt_err *err)
{
    struct my_stmt *ms = st->impl;
    if (ms->pending) {
        ms->pending = false;
        return 1;
    }
    return fetch_row(st, err);
}

/* Fetches the next row into the column buffers: 1, 0 at the end, -1. */
static int fetch_row(struct db_stmt *st, struct mt_err *err)
{
    struct my_stmt *ms = st->impl;
    if (!ms->have_rows)
        return 0;
    int rc = mysql_stmt_fetch(ms->h);
    if (rc == MYSQL_NO_DATA)
        return 0;
    if (rc == 1) {
        /* An unbuffered fetch that loses the server leaves the error on the
         * connection, not on the statement. */
        if (mysql_stmt_errno(ms->h) == 0)
            return fail_conn(st->conn, "cannot fetch a row", err);
        return fail_stmt(st->conn, ms->h, "cannot fetch a row", err);
    }
    /* A value that filled its buffer exactly has no room for the NUL:
     * refetch it too, not only what the library reports as truncated. */
    if (refetch_truncated(st, err) < 0)
        return -1;
    for (unsigned i = 0; i < ms->ncols; i++) {
        struct my_col *col = &ms->cols[i];
        if (col->kind == K_TEXT && !col->is_null && col->length < col->cap)
            col->buf[col->length] = '\0';
    }
    return 1;
}

static void my_reset(struct db_stmt *st)
{
    struct my_stmt *ms = st->impl;
    /* Also reads and drops the rows a streamed result still has on the
     * server, so that the connection can take the next command. */
    if (ms->have_rows)
        mysql_stmt_free_result(ms->h);
    ms->have_rows = false;
    ms->pending = false;
}

static void my_finalize(struct db_stmt *st)
{
    stmt_release(st->impl);
    st->impl = NULL;
}

static struct my_stmt *ms_of(struct db_stmt *st)
{
    return st->impl;
}

static int my_col_count(struct db_stmt *st)
{
    return ms_of(st)->have_rows ? (int)ms_of(st)->ncols : 0;
}

static const char *my_col_name(struct db_stmt *st, int i)
{
    return mysql_fetch_fields(ms_of(st)->meta)[i].name;
}

static bool my_col_null(struct db_stmt *st, int i)
{
    return ms_of(st)->cols[i].is_null;
}

static int64_t clamp_u64(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

static int64_t my_col_int(struct db_stmt *st, int i)
{
    struct my_col *col = &ms_of(st)->cols[i];
    switch (col->kind) {
    case K_INT:
        return col->is_unsigned ? clamp_u64((uint64_t)col->i) : col->i;
    case K_DOUBLE:
        mt_format_double(col->d, col->text, sizeof col->text);
        return db_text_to_i64(col->text);
    case K_TEXT:
        return db_text_to_i64(col->buf);
    case K_TIME:
        return 0;
    }
    return 0;
}

static double my_col_double(struct db_stmt *st, int i)
{
    struct my_col *col = &ms_of(st)->cols[i];
    switch (col->kind) {
    case K_INT:
        return col->is_unsigned ? (double)(uint64_t)col->i : (double)col->i;
    case K_DOUBLE:
        return col->d;
    case K_TEXT:
        return db_text_to_double(col->buf);
    case K_TIME:
        return 0.0;
    }
    return 0.0;
}

/* DATE as YYYY-MM-DD, TIME as [-]HH:MM:SS, DATETIME and TIMESTAMP as
 * YYYY-MM-DD HH:MM:SS, each with .ffffff only when the fraction is not 0. */
static void format_time(struct my_col *col)
{
    const MYSQL_TIME *t = &col->t;
    char frac[16] = "";
    if (t->second_part)
        snprintf(frac, sizeof frac, ".%06lu", t->second_part % 1000000ul);
    switch (col->type) {
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
        snprintf(col->text, sizeof col->text, "%04u-%02u-%02u", t->year % 10000u, t->month % 100u,
                 t->day % 100u);
        break;
    case MYSQL_TYPE_TIME:
        snprintf(col->text, sizeof col->text, "%s%02u:%02u:%02u%s", t->neg ? "-" : "",
                 t->hour % 1000u, t->minute % 100u, t->second % 100u, frac);
        break;
    default:
        snprintf(col->text, sizeof col->text, "%04u-%02u-%02u %02u:%02u:%02u%s", t->year % 10000u,
                 t->month % 100u, t->day % 100u, t->hour % 100u, t->minute % 100u, t->second % 100u,
                 frac);
        break;
    }
}

static const char *my_col_text(struct db_stmt *st, int i, size_t *len)
{
    struct my_col *col = &ms_of(st)->cols[i];
    switch (col->kind) {
    case K_INT:
        if (col->is_unsigned)
            snprintf(col->text, sizeof col->text, "%" PRIu64, (uint64_t)col->i);
        else
            snprintf(col->text, sizeof col->text, "%" PRId64, col->i);
        break;
    case K_DOUBLE:
        mt_format_double(col->d, col->text, sizeof col->text);
        break;
    case K_TIME:
        format_time(col);
        break;
    case K_TEXT:
        *len = col->length < col->cap ? col->length : col->cap - 1;
        return col->buf;
    }
    *len = strlen(col->text);
    return col->text;
}

static int64_t my_changes(struct db_conn *c)
{
    return ((struct my_conn *)c->impl)->changes;
}

static int my_last_insert_id(struct db_conn *c, int64_t *out, struct mt_err *err)
{
    *out = ((struct my_conn *)c->impl)->last_id;
    return 0;
}

static int my_exec(struct db_conn *c, const char *sql, struct mt_err *err)
{
    struct my_conn *mc = c->impl;
    MYSQL *m = mc->m;
    if (mysql_real_query(m, sql, strlen(sql)) != 0)
        return fail_conn(c, "statement failed", err);
    MYSQL_RES *res = mysql_store_result(m);
    if (res) {
        mysql_free_result(res);
    } else if (mysql_field_count(m) != 0) {
        return fail_conn(c, "cannot read the result", err);
    } else {
        mc->changes = (int64_t)mysql_affected_rows(m);
        uint64_t id = mysql_insert_id(m);
        if (id)
            mc->last_id = (int64_t)id;
    }
    return 0;
}

const struct db_driver db_mysql_driver = {
    .dialect = DB_MYSQL,
    .impl_name = "MySQLImpl",
    .transactional_ddl = false,
    .begin_sql = "START TRANSACTION",
    .begin_write_sql = "START TRANSACTION",
    .begin_snapshot_sql = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
    .max_params = 65535, /* the protocol's count is 16 bits */
    .open = my_open,
    .close = my_close,
    .is_broken = my_is_broken,
    .set_timeouts = my_set_timeouts,
    .ping = my_ping,
    .tx_active = my_tx_active,
    .prepare = my_prepare,
    .execute = my_execute,
    .execute_stream = my_execute_stream,
    .step = my_step,
    .reset = my_reset,
    .finalize = my_finalize,
    .col_count = my_col_count,
    .col_name = my_col_name,
    .col_null = my_col_null,
    .col_int = my_col_int,
    .col_double = my_col_double,
    .col_text = my_col_text,
    .changes = my_changes,
    .last_insert_id = my_last_insert_id,
    .exec = my_exec,
    .sql_tables = "SELECT TABLE_NAME FROM information_schema.TABLES"
                  " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'"
                  " ORDER BY TABLE_NAME",
    /* MariaDB reports an explicit DEFAULT NULL as the text NULL; a default
     * text 'NULL' is quoted, so the two stay apart. */
    .sql_columns = "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE = 'NO',"
                   " NULLIF(COLUMN_DEFAULT, 'NULL'), COLUMN_KEY = 'PRI'"
                   " FROM information_schema.COLUMNS"
                   " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?"
                   " ORDER BY ORDINAL_POSITION",
    .sql_indexes = "SELECT INDEX_NAME, NON_UNIQUE = 0, COLUMN_NAME"
                   " FROM information_schema.STATISTICS"
                   " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?"
                   " AND INDEX_NAME <> 'PRIMARY' ORDER BY INDEX_NAME, SEQ_IN_INDEX",
    .sql_fkeys = "SELECT k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME,"
                 " k.REFERENCED_COLUMN_NAME, r.DELETE_RULE"
                 " FROM information_schema.KEY_COLUMN_USAGE k"
                 " JOIN information_schema.REFERENTIAL_CONSTRAINTS r"
                 " ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA"
                 " AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME"
                 " WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = ?"
                 " AND k.REFERENCED_TABLE_NAME IS NOT NULL"
                 " ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
};

MT_MODULE_EXPORT("meditrack-mysql.so", db_mysql_driver);
