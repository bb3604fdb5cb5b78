/* The PostgreSQL driver over libpq. Statements are renumbered from `?` to
 * $1..$n and prepared once per connection under a generated name; their
 * parameter types (from PQdescribePrepared) decide how booleans are sent.
 * Results are read whole, or row by row in libpq's single-row mode for
 * db_query_stream. A write transaction's BEGIN, and the statements run
 * with db_exec_later, wait and go with the next statement or the COMMIT in
 * one round trip (libpq's pipeline mode). Sessions run with TimeZone UTC
 * and ISO dates so that timestamps read the same as on the other dialects.
 * Built as the module meditrack-postgresql.so, whose exported table is
 * db_postgres_driver. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/clock.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/module.h"
#include "core/str.h"
#include "db/db_int.h"

/* Type OIDs from pg_type.h (stable across server versions). */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_TIMESTAMP = 1114,
    OID_TIMESTAMPTZ = 1184,
    OID_NUMERIC = 1700,
};

enum { DEFAULT_CONNECT_TIMEOUT = 10 };

/* Statements db_exec_later may hold back before they must be sent. */
enum { LATER_MAX = 8 };

struct pg_stmt;

struct pg_conn {
    PGconn *pg;
    unsigned next_id;
    int64_t changes;
    /* A write transaction was begun but BEGIN is not sent yet: it goes in
     * the same round trip as the transaction's first statement. */
    bool begin_pending;
    /* Statements bound by db_exec_later, sent before (and with) the next
     * statement or the COMMIT; their failure is reported there. */
    struct pg_stmt *later[LATER_MAX];
    int n_later;
};

/* A converted column value (timestamptz without "+00", decoded bytea). */
struct conv {
    char *p;
    size_t len;
};

struct pg_stmt {
    char name[24]; /* "" for a temporary (unnamed) statement */
    int nparams;
    Oid *ptypes;
    /* Parameter arrays for PQexecPrepared, sized nparams. */
    const char **values;
    int *lengths;
    int *formats;
    size_t *offsets;
    struct mt_buf scratch; /* NUL-terminated text of the parameters */
    PGresult *res;
    int row, nrows, ncols;
    struct conv *conv; /* per column, only for converted values */
    int nconv;
    /* Single-row mode (db_query_stream): res holds one row at a time. */
    bool streaming; /* results of the statement are still to be read */
    bool pending;   /* res holds the first row, fetched by execute, not yet stepped to */
    bool in_tx;     /* a transaction was open when the statement was sent */
    bool later;     /* bound and waiting in pg_conn.later */
};

static int flush_waiting(struct db_conn *c, struct mt_err *err);

static PGconn *pg_of(struct db_conn *c)
{
    return ((struct pg_conn *)c->impl)->pg;
}

/* Copies a libpq message into one line: newlines and runs of blanks become
 * single blanks, trailing blanks go. */
static void one_line(char *dst, size_t size, const char *src)
{
    size_t o = 0;
    bool blank = false;
    for (; src && *src && o + 1 < size; src++) {
        if (*src == '\n' || *src == '\t' || *src == ' ') {
            blank = o > 0;
            continue;
        }
        if (blank && o + 2 < size)
            dst[o++] = ' ';
        blank = false;
        dst[o++] = *src;
    }
    dst[o] = '\0';
}

static enum mt_code code_for_state(const char *state)
{
    if (!state)
        return MT_EDB;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
        return MT_EDB_RETRY;
    if (strcmp(state, "23505") == 0 || strcmp(state, "23503") == 0)
        return MT_ECONFLICT;
    /* statement_timeout (query_canceled: we never cancel otherwise) and
     * lock_timeout (lock_not_available). */
    if (strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0)
        return MT_ETIMEOUT;
    if (strcmp(state, "53100") == 0)
        return MT_ENOSPC;
    /* Connection exceptions, admin / crash shutdown, "cannot connect now"
     * (starting up or in recovery), too many connections. */
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0 ||
        strcmp(state, "53300") == 0)
        return MT_EUNAVAIL;
    return MT_EDB;
}

/* Fills err from a failed result (res may be NULL when libpq could not even
 * send the command). A lost connection is flagged for the pool. */
static int pg_fail(struct db_conn *c, PGresult *res, const char *what, struct mt_err *err)
{
    PGconn *pg = pg_of(c);
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char msg[200];
    one_line(msg, sizeof msg, primary ? primary : PQerrorMessage(pg));
    enum mt_code code = code_for_state(state);
    if (PQstatus(pg) == CONNECTION_BAD) {
        c->broken = true;
        code = MT_EUNAVAIL;
    }
    if (state)
        return mt_fail(err, code, "%s: %s (SQLSTATE %s)", what, msg, state);
    return mt_fail(err, code, "%s: %s", what, msg);
}

static void notice_cb(void *arg, const char *message)
{
    char msg[200];
    one_line(msg, sizeof msg, message);
    mt_log(MT_LOG_DEBUG, "postgresql: %s", msg);
}

static enum mt_code classify_connect(const char *msg)
{
    static const char *const auth[] = {"password authentication failed", "no password supplied",
                                       "authentication failed", "no pg_hba.conf entry",
                                       "password is required"};
    static const char *const unavail[] = {"connection refused",
                                          "could not translate host name",
                                          "timeout expired",
                                          "no such file or directory",
                                          "the database system is starting up",
                                          "the database system is shutting down",
                                          "the database system is in recovery mode",
                                          "not yet accepting connections",
                                          "is not accepting connections",
                                          "too many clients",
                                          "network is unreachable",
                                          "no route to host",
                                          "server closed the connection",
                                          "could not connect",
                                          "connection timed out"};
    for (size_t i = 0; i < MT_ARRAY_LEN(auth); i++) {
        if (strcasestr(msg, auth[i]))
            return MT_EAUTH;
    }
    if (strcasestr(msg, "database \"") && strcasestr(msg, "does not exist"))
        return MT_ENODB;
    if (strcasestr(msg, "role \"") && strcasestr(msg, "does not exist"))
        return MT_EAUTH;
    for (size_t i = 0; i < MT_ARRAY_LEN(unavail); i++) {
        if (strcasestr(msg, unavail[i]))
            return MT_EUNAVAIL;
    }
    return MT_EDB;
}

static int run_setting(PGconn *pg, const char *sql, char *msg, size_t size)
{
    PGresult *res = PQexec(pg, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        one_line(msg, size, PQerrorMessage(pg));
    PQclear(res);
    return ok ? 0 : -1;
}

static void add_kv(const char **keys, const char **vals, int *k, const char *key, const char *val)
{
    if (!val)
        return;
    keys[*k] = key;
    vals[*k] = val;
    (*k)++;
}

/* The pipeline (see pipeline) may not use the simple protocol, and BEGIN
 * and COMMIT sent as unnamed statements would replace a temporary statement
 * prepared in the unnamed slot and about to run: so each session prepares
 * them once under names of their own, mt_begin and mt_commit. */
static int prepare_tx_stmts(PGconn *pg, char *msg, size_t size)
{
    static const char *const stmts[][2] = {{"mt_begin", "BEGIN"}, {"mt_commit", "COMMIT"}};
    for (size_t i = 0; i < MT_ARRAY_LEN(stmts); i++) {
        PGresult *res = PQprepare(pg, stmts[i][0], stmts[i][1], 0, NULL);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            one_line(msg, size, PQerrorMessage(pg));
        PQclear(res);
        if (!ok)
            return -1;
    }
    return 0;
}

static int pq_open(struct db_conn *c, const struct db_url *u, struct mt_err *err)
{
    char port[16], timeout[16];
    const char *keys[12], *vals[12];
    int k = 0;
    snprintf(timeout, sizeof timeout, "%d",
             u->connect_timeout > 0 ? u->connect_timeout : DEFAULT_CONNECT_TIMEOUT);
    add_kv(keys, vals, &k, "host", u->host);
    if (u->port > 0) {
        snprintf(port, sizeof port, "%d", u->port);
        add_kv(keys, vals, &k, "port", port);
    }
    add_kv(keys, vals, &k, "dbname", u->dbname);
    add_kv(keys, vals, &k, "user", u->user);
    add_kv(keys, vals, &k, "password", u->password);
    add_kv(keys, vals, &k, "sslmode", u->sslmode);
    add_kv(keys, vals, &k, "connect_timeout", timeout);
    add_kv(keys, vals, &k, "client_encoding", "UTF8");
    add_kv(keys, vals, &k, "application_name", "meditrack");
    keys[k] = NULL;
    vals[k] = NULL;
    /* expand_dbname = 0: a database name is never read as a connection string. */
    PGconn *pg = PQconnectdbParams(keys, vals, 0);
    char msg[220];
    if (!pg)
        return mt_fail(err, MT_EDB, "cannot connect to %s: out of memory", c->label);
    if (PQstatus(pg) != CONNECTION_OK) {
        one_line(msg, sizeof msg, PQerrorMessage(pg));
        PQfinish(pg);
        return mt_fail(err, classify_connect(msg), "cannot connect to %s: %s", c->label, msg);
    }
    PQsetNoticeProcessor(pg, notice_cb, NULL);
    static const char *const settings[] = {
        "SET TIME ZONE 'UTC'",
        "SET DateStyle = 'ISO, YMD'",
    };
    for (size_t i = 0; i < MT_ARRAY_LEN(settings); i++) {
        if (run_setting(pg, settings[i], msg, sizeof msg) < 0) {
            PQfinish(pg);
            return mt_fail(err, MT_EDB, "cannot configure the session on %s: %s", c->label, msg);
        }
    }
    if (prepare_tx_stmts(pg, msg, sizeof msg) < 0) {
        PQfinish(pg);
        return mt_fail(err, MT_EDB, "cannot configure the session on %s: %s", c->label, msg);
    }
    struct pg_conn *pc = mt_xcalloc(1, sizeof *pc);
    pc->pg = pg;
    c->impl = pc;
    return 0;
}

static void pq_close(struct db_conn *c)
{
    struct pg_conn *pc = c->impl;
    if (!pc)
        return;
    PQfinish(pc->pg);
    free(pc);
    c->impl = NULL;
}

static bool pq_is_broken(struct db_conn *c)
{
    PGconn *pg = pg_of(c);
    if (PQstatus(pg) != CONNECTION_OK)
        return true;
    /* Between queries the server sends nothing unasked but its last words
     * (FATAL: terminating connection ...) before it closes the session.
     * With TLS the bytes may be a record the library handles itself, so
     * libpq reads them and decides. */
    if (PQtransactionStatus(pg) != PQTRANS_IDLE)
        return false;
    int state = db_sock_peek(PQsocket(pg));
    if (state < 0 || (state > 0 && !PQsslInUse(pg)))
        return true;
    if (state > 0 && (!PQconsumeInput(pg) || PQstatus(pg) != CONNECTION_OK))
        return true;
    return false;
}

static int pq_set_timeouts(struct db_conn *c, int statement_ms, int lock_ms, struct mt_err *err)
{
    /* SET takes no parameters; the values are integers checked by db.c. */
    if (flush_waiting(c, err) < 0)
        return -1;
    char sql[96];
    snprintf(sql, sizeof sql, "SET statement_timeout = %d; SET lock_timeout = %d", statement_ms,
             lock_ms);
    PGresult *res = PQexec(pg_of(c), sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg_fail(c, res, "cannot set the session timeouts", err);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}

/* SELECT 1 through the asynchronous calls, so that the wait for the answer
 * is ours to bound: a server that is frozen, or a network path that went
 * dead, would otherwise hold the thread until TCP gives up. */
static int pq_ping(struct db_conn *c, int timeout_ms, struct mt_err *err)
{
    PGconn *pg = pg_of(c);
    if (!PQsendQuery(pg, "SELECT 1"))
        return pg_fail(c, NULL, "ping failed", err);
    uint64_t start = mt_mono_ms();
    int rc = 0;
    for (;;) {
        while (PQisBusy(pg)) {
            long left = timeout_ms - (long)(mt_mono_ms() - start);
            int ready = left > 0 ? db_sock_wait(PQsocket(pg), (int)left) : 0;
            if (ready <= 0) {
                /* The session is in an unknown state now: the pool drops it. */
                c->broken = true;
                return mt_fail(err, MT_ETIMEOUT, "the database did not answer within %d ms",
                               timeout_ms);
            }
            if (!PQconsumeInput(pg))
                return pg_fail(c, NULL, "ping failed", err);
        }
        PGresult *res = PQgetResult(pg);
        if (!res)
            break;
        if (rc == 0 && PQresultStatus(res) != PGRES_TUPLES_OK)
            rc = pg_fail(c, res, "ping failed", err);
        PQclear(res);
    }
    return rc;
}

static bool pq_tx_active(struct db_conn *c)
{
    if (((struct pg_conn *)c->impl)->begin_pending)
        return true;
    PGTransactionStatusType s = PQtransactionStatus(pg_of(c));
    return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

/* ---- pipelining: the deferred BEGIN and db_exec_later ---- */

/* Forgets what waits to be sent: after COMMIT or ROLLBACK, or when a
 * pipeline went out (sent or failed, the statements are no longer ours). */
static void forget_waiting(struct pg_conn *pc)
{
    for (int i = 0; i < pc->n_later; i++)
        pc->later[i]->later = false;
    pc->n_later = 0;
    pc->begin_pending = false;
}

static bool waiting(const struct pg_conn *pc)
{
    return pc->begin_pending || pc->n_later > 0;
}

/* Sends in one round trip the pending BEGIN, the statements waiting from
 * db_exec_later, and then last (a bound statement) or cmd (the name of a
 * command prepared by prepare_tx_stmts), either of which may be NULL, and reads every
 * result. On success *out is the result of last or cmd (NULL if neither).
 * The first failure is the one reported: after it the server skips the
 * rest up to the pipeline's end, and an open transaction is left failed
 * (the caller rolls it back). */
static int pipeline(struct db_conn *c, struct pg_stmt *last, const char *cmd, PGresult **out,
                    struct mt_err *err);

static int flush_waiting(struct db_conn *c, struct mt_err *err)
{
    if (!waiting(c->impl))
        return 0;
    PGresult *res = NULL;
    return pipeline(c, NULL, NULL, &res, err);
}

static int pq_begin_write(struct db_conn *c, struct mt_err *err)
{
    struct pg_conn *pc = c->impl;
    /* Nothing is sent yet, so there is nothing that can fail; a link that
     * is gone shows at the first statement, before anything ran, which
     * db_tx_run treats as it would a failed BEGIN. */
    (void)err;
    pc->begin_pending = true;
    return 0;
}

static void pq_tx_finished(struct db_conn *c)
{
    if (c->impl)
        forget_waiting(c->impl);
}

/* Rewrites `?` placeholders outside strings, quoted names, comments and
 * dollar-quoted bodies as $1..$n. */
static int renumber(const char *sql, struct mt_buf *out, int *count, struct mt_err *err)
{
    size_t len = strlen(sql);
    size_t i = 0;
    int n = 0;
    while (i < len) {
        size_t end;
        const char *what;
        int rc = db_sql_skip(sql, len, i, &end, &what);
        if (rc < 0)
            return mt_fail(err, MT_EINTERNAL, "unterminated %s in \"%.60s\"", what, sql);
        if (rc > 0) {
            mt_buf_add(out, sql + i, end - i);
            i = end;
            continue;
        }
        if (sql[i] == '?') {
            mt_buf_addf(out, "$%d", ++n);
        } else {
            mt_buf_addc(out, sql[i]);
        }
        i++;
    }
    *count = n;
    return 0;
}

static void stmt_release(struct pg_stmt *ps)
{
    if (ps->res)
        PQclear(ps->res);
    for (int i = 0; i < ps->nconv; i++)
        free(ps->conv[i].p);
    free(ps->conv);
    free(ps->ptypes);
    free(ps->values);
    free(ps->lengths);
    free(ps->formats);
    free(ps->offsets);
    mt_buf_release(&ps->scratch);
    free(ps);
}

static int pq_prepare(struct db_stmt *st, struct mt_err *err)
{
    struct db_conn *c = st->conn;
    struct pg_conn *pc = c->impl;
    struct mt_buf sql;
    int count = 0;
    mt_buf_init(&sql, 0);
    if (renumber(st->sql, &sql, &count, err) < 0) {
        mt_buf_release(&sql);
        return -1;
    }
    struct pg_stmt *ps = mt_xcalloc(1, sizeof *ps);
    mt_buf_init(&ps->scratch, 0);
    /* Temporary statements use the unnamed slot, which the next one
     * replaces, so they leave nothing behind on the server. */
    if (!st->temp)
        snprintf(ps->name, sizeof ps->name, "mt%u", ++pc->next_id);
    PGresult *res = PQprepare(pc->pg, ps->name, sql.data, 0, NULL);
    mt_buf_release(&sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        char what[96];
        snprintf(what, sizeof what, "cannot prepare \"%.60s\"", st->sql);
        pg_fail(c, res, what, err);
        PQclear(res);
        stmt_release(ps);
        return -1;
    }
    PQclear(res);
    res = PQdescribePrepared(pc->pg, ps->name);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg_fail(c, res, "cannot describe statement", err);
        PQclear(res);
        stmt_release(ps);
        return -1;
    }
    ps->nparams = PQnparams(res);
    size_t np = ps->nparams > 0 ? (size_t)ps->nparams : 1;
    ps->ptypes = mt_xcalloc(np, sizeof *ps->ptypes);
    ps->values = mt_xcalloc(np, sizeof *ps->values);
    ps->lengths = mt_xcalloc(np, sizeof *ps->lengths);
    ps->formats = mt_xcalloc(np, sizeof *ps->formats);
    ps->offsets = mt_xcalloc(np, sizeof *ps->offsets);
    for (int i = 0; i < ps->nparams; i++)
        ps->ptypes[i] = PQparamtype(res, i);
    PQclear(res);
    st->impl = ps;
    return 0;
}

static bool is_int_type(Oid t)
{
    return t == OID_INT2 || t == OID_INT4 || t == OID_INT8 || t == OID_NUMERIC || t == OID_FLOAT4 ||
           t == OID_FLOAT8;
}

/* Appends the text form of p to the scratch buffer (NUL-terminated) and
 * records its offset; blobs are passed in binary format without copying. */
static int param_text(struct pg_stmt *ps, int i, const struct db_param *p, struct mt_err *err)
{
    char num[40];
    struct mt_buf *b = &ps->scratch;
    ps->offsets[i] = b->len;
    ps->formats[i] = 0;
    ps->lengths[i] = 0;
    switch (p->type) {
    case DB_T_NULL:
        ps->offsets[i] = SIZE_MAX;
        return 0;
    case DB_T_INT:
        mt_buf_addf(b, "%" PRId64, p->v.i);
        break;
    case DB_T_DOUBLE:
        mt_format_double(p->v.d, num, sizeof num);
        mt_buf_adds(b, num);
        break;
    case DB_T_BOOL:
        /* A boolean bound to a numeric column is sent as 1/0, which that
         * column accepts and a boolean column would too. */
        if (is_int_type(ps->ptypes[i]))
            mt_buf_adds(b, p->v.b ? "1" : "0");
        else
            mt_buf_adds(b, p->v.b ? "true" : "false");
        break;
    case DB_T_TEXT:
        if (!p->v.s.p) {
            ps->offsets[i] = SIZE_MAX;
            return 0;
        }
        if (memchr(p->v.s.p, '\0', p->v.s.len))
            return mt_fail(err, MT_EINVAL, "text parameter %d contains a NUL byte", i + 1);
        mt_buf_add(b, p->v.s.p, p->v.s.len);
        break;
    case DB_T_BLOB:
        if (!p->v.s.p) {
            ps->offsets[i] = SIZE_MAX;
            return 0;
        }
        if (p->v.s.len > (size_t)INT32_MAX)
            return mt_fail(err, MT_ELIMIT, "blob parameter %d is too large", i + 1);
        ps->formats[i] = 1;
        ps->lengths[i] = (int)p->v.s.len;
        ps->values[i] = p->v.s.len ? p->v.s.p : "";
        ps->offsets[i] = SIZE_MAX - 1;
        return 0;
    }
    mt_buf_addc(b, '\0');
    return 0;
}

/* Rows affected, from the command tag ("UPDATE 3", "INSERT 0 1"), for the
 * statements that change rows (RETURNING included). */
static void note_changes(struct pg_conn *pc, PGresult *res)
{
    const char *tag = PQcmdStatus(res);
    if (strncmp(tag, "INSERT", 6) != 0 && strncmp(tag, "UPDATE", 6) != 0 &&
        strncmp(tag, "DELETE", 6) != 0 && strncmp(tag, "MERGE", 5) != 0)
        return;
    pc->changes = db_text_to_i64(PQcmdTuples(res));
}

/* Fills the parameter arrays of ps from p for PQexecPrepared or
 * PQsendQueryPrepared. */
static int bind_values(struct db_stmt *st, const struct db_param *p, size_t n, struct mt_err *err)
{
    struct pg_stmt *ps = st->impl;
    if ((size_t)ps->nparams != n)
        return mt_fail(err, MT_EINTERNAL, "statement \"%.60s\" takes %d parameters, %zu given",
                       st->sql, ps->nparams, n);
    mt_buf_reset(&ps->scratch);
    for (size_t i = 0; i < n; i++) {
        if (param_text(ps, (int)i, &p[i], err) < 0)
            return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (ps->offsets[i] == SIZE_MAX)
            ps->values[i] = NULL;
        else if (ps->offsets[i] != SIZE_MAX - 1)
            ps->values[i] = ps->scratch.data + ps->offsets[i];
    }
    return 0;
}

static bool send_stmt(PGconn *pg, const struct pg_stmt *ps)
{
    return PQsendQueryPrepared(pg, ps->name, ps->nparams, ps->values, ps->lengths, ps->formats,
                               0) != 0;
}

static int pipeline(struct db_conn *c, struct pg_stmt *last, const char *cmd, PGresult **out,
                    struct mt_err *err)
{
    struct pg_conn *pc = c->impl;
    PGconn *pg = pc->pg;
    *out = NULL;
    bool begin = pc->begin_pending;
    int n_later = pc->n_later;
    struct pg_stmt *later[LATER_MAX];
    memcpy(later, pc->later, (size_t)n_later * sizeof *later);
    forget_waiting(pc);
    if (!PQenterPipelineMode(pg))
        return pg_fail(c, NULL, "cannot send statements together", err);
    bool sent = !begin || PQsendQueryPrepared(pg, "mt_begin", 0, NULL, NULL, NULL, 0);
    for (int i = 0; i < n_later && sent; i++)
        sent = send_stmt(pg, later[i]);
    if (sent && last)
        sent = send_stmt(pg, last);
    else if (sent && cmd)
        sent = PQsendQueryPrepared(pg, cmd, 0, NULL, NULL, NULL, 0);
    if (!sent || !PQpipelineSync(pg)) {
        pg_fail(c, NULL, "cannot send statements", err);
        /* What the server received is unknown: the session is not reused. */
        c->broken = true;
        PQexitPipelineMode(pg);
        return -1;
    }
    int total = (begin ? 1 : 0) + n_later + (last || cmd ? 1 : 0);
    int rc = 0;
    for (int i = 0; i < total; i++) {
        PGresult *res = PQgetResult(pg);
        if (!res) {
            rc = rc < 0 ? rc : pg_fail(c, NULL, "the results of a pipeline are missing", err);
            c->broken = true;
            break;
        }
        ExecStatusType status = PQresultStatus(res);
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
            if (i == total - 1 && (last || cmd) && rc == 0)
                *out = res;
            else
                PQclear(res);
        } else {
            if (rc == 0)
                rc = pg_fail(c, res, "query failed", err);
            PQclear(res);
        }
        /* Each statement's results end with a NULL. */
        for (PGresult *more = PQgetResult(pg); more; more = PQgetResult(pg))
            PQclear(more);
    }
    if (!c->broken) {
        PGresult *sync = PQgetResult(pg);
        if (!sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC) {
            rc = rc < 0 ? rc : pg_fail(c, sync, "a pipeline did not end as expected", err);
            c->broken = true;
        }
        PQclear(sync);
    }
    if (!PQexitPipelineMode(pg) && rc == 0) {
        rc = pg_fail(c, NULL, "cannot leave pipeline mode", err);
        c->broken = true;
    }
    if (rc < 0 && *out) {
        PQclear(*out);
        *out = NULL;
    }
    return rc;
}

/* Binds the values now and leaves the statement to the next round trip
 * (see pipeline). Only inside a transaction, where nothing can observe the
 * delay but the transaction's own later statements, which come after it. */
static int pq_execute_later(struct db_stmt *st, const struct db_param *p, size_t n,
                            struct mt_err *err)
{
    struct pg_stmt *ps = st->impl;
    struct pg_conn *pc = st->conn->impl;
    /* A statement already waiting cannot hold a second set of values, and
     * the list is bounded: both send what waits first. */
    if ((ps->later || pc->n_later == LATER_MAX) && flush_waiting(st->conn, err) < 0)
        return -1;
    if (bind_values(st, p, n, err) < 0)
        return -1;
    ps->later = true;
    pc->later[pc->n_later++] = ps;
    return 0;
}

static int pq_execute(struct db_stmt *st, const struct db_param *p, size_t n, struct mt_err *err)
{
    struct pg_stmt *ps = st->impl;
    struct pg_conn *pc = st->conn->impl;
    /* Its waiting values must go before new ones are bound. */
    if (ps->later && flush_waiting(st->conn, err) < 0)
        return -1;
    if (bind_values(st, p, n, err) < 0)
        return -1;
    PGresult *res = NULL;
    if (waiting(pc)) {
        if (pipeline(st->conn, ps, NULL, &res, err) < 0)
            return -1;
    } else {
        res = PQexecPrepared(pc->pg, ps->name, (int)n, ps->values, ps->lengths, ps->formats, 0);
    }
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        pg_fail(st->conn, res, "query failed", err);
        PQclear(res);
        return -1;
    }
    note_changes(pc, res);
    ps->res = res;
    ps->row = -1;
    ps->nrows = status == PGRES_TUPLES_OK ? PQntuples(res) : 0;
    ps->ncols = PQnfields(res);
    if (ps->ncols > ps->nconv) {
        ps->conv = mt_xrealloc(ps->conv, (size_t)ps->ncols * sizeof *ps->conv);
        memset(ps->conv + ps->nconv, 0, (size_t)(ps->ncols - ps->nconv) * sizeof *ps->conv);
        ps->nconv = ps->ncols;
    }
    return 0;
}

/* ---- single-row mode (db_query_stream) ---- */

/* Reads and drops what is left of the statement's results, so that the
 * connection can take the next command. */
static void drain_results(struct pg_stmt *ps, PGconn *pg)
{
    PGresult *res = PQgetResult(pg);
    while (res) {
        PQclear(res);
        res = PQgetResult(pg);
    }
    ps->streaming = false;
}

/* Makes res the current result of a streamed statement. */
static void stream_hold(struct pg_stmt *ps, PGresult *res, int nrows)
{
    if (ps->res)
        PQclear(ps->res);
    ps->res = res;
    ps->row = -1;
    ps->nrows = nrows;
    ps->ncols = PQnfields(res);
    if (ps->ncols > ps->nconv) {
        ps->conv = mt_xrealloc(ps->conv, (size_t)ps->ncols * sizeof *ps->conv);
        memset(ps->conv + ps->nconv, 0, (size_t)(ps->ncols - ps->nconv) * sizeof *ps->conv);
        ps->nconv = ps->ncols;
    }
}

/* Fetches the next result of a streamed statement: 1 with one row in
 * ps->res, 0 at the end (the rest drained), -1 on error (drained too). */
static int stream_fetch(struct db_stmt *st, struct mt_err *err)
{
    struct pg_stmt *ps = st->impl;
    struct pg_conn *pc = st->conn->impl;
    PGresult *res = PQgetResult(pc->pg);
    if (!res) {
        ps->streaming = false;
        return 0;
    }
    ExecStatusType status = PQresultStatus(res);
    if (status == PGRES_SINGLE_TUPLE) {
        stream_hold(ps, res, 1);
        return 1;
    }
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
        /* The end: a zero-row result that still describes the columns. */
        note_changes(pc, res);
        stream_hold(ps, res, 0);
        drain_results(ps, pc->pg);
        return 0;
    }
    pg_fail(st->conn, res, "query failed", err);
    PQclear(res);
    drain_results(ps, pc->pg);
    return -1;
}

static int pq_execute_stream(struct db_stmt *st, const struct db_param *p, size_t n,
                             struct mt_err *err)
{
    struct pg_stmt *ps = st->impl;
    struct pg_conn *pc = st->conn->impl;
    if (flush_waiting(st->conn, err) < 0 || bind_values(st, p, n, err) < 0)
        return -1;
    /* Once the statement is sent the status reads "active" either way. */
    ps->in_tx = PQtransactionStatus(pc->pg) == PQTRANS_INTRANS;
    if (!PQsendQueryPrepared(pc->pg, ps->name, (int)n, ps->values, ps->lengths, ps->formats, 0))
        return pg_fail(st->conn, NULL, "query failed", err);
    ps->streaming = true;
    if (!PQsetSingleRowMode(pc->pg)) {
        drain_results(ps, pc->pg);
        return mt_fail(err, MT_EINTERNAL, "cannot read \"%.60s\" row by row", st->sql);
    }
    int rc = stream_fetch(st, err);
    if (rc < 0)
        return -1;
    ps->pending = rc == 1;
    return 0;
}

/* Stops a streamed statement that was not read to its end. Outside a
 * transaction the server is asked to cancel it, so a long result is not
 * produced and sent only to be dropped; inside one that would fail the
 * transaction, so the rest is read instead. A cancel that arrives after
 * the statement finished is ignored by the server. */
static void stream_abandon(struct db_stmt *st)
{
    struct pg_stmt *ps = st->impl;
    PGconn *pg = pg_of(st->conn);
    if (!ps->in_tx && PQstatus(pg) == CONNECTION_OK) {
        PGcancel *cancel = PQgetCancel(pg);
        char msg[256];
        if (cancel && !PQcancel(cancel, msg, sizeof msg))
            mt_log(MT_LOG_DEBUG, "postgresql: cannot cancel a streamed statement: %s", msg);
        if (cancel)
            PQfreeCancel(cancel);
    }
    drain_results(ps, pg);
}

static int pq_step(struct db_stmt *st, struct mt_err *err)
{
    struct pg_stmt *ps = st->impl;
    if (ps->pending) {
        ps->pending = false;
        ps->row = 0;
        return 1;
    }
    if (ps->streaming) {
        int rc = stream_fetch(st, err);
        if (rc == 1)
            ps->row = 0;
        return rc;
    }
    if (!ps->res || ps->row >= ps->nrows)
        return 0;
    ps->row++;
    return ps->row < ps->nrows ? 1 : 0;
}

static void pq_reset(struct db_stmt *st)
{
    struct pg_stmt *ps = st->impl;
    if (ps->streaming)
        stream_abandon(st);
    ps->pending = false;
    if (ps->res)
        PQclear(ps->res);
    ps->res = NULL;
    ps->row = ps->nrows = ps->ncols = 0;
}

static void pq_finalize(struct db_stmt *st)
{
    struct pg_stmt *ps = st->impl;
    struct pg_conn *pc = st->conn->impl;
    if (ps->later && pc) {
        /* Dropped unsent: the transaction it belonged to is being given up. */
        for (int i = 0; i < pc->n_later; i++) {
            if (pc->later[i] == ps) {
                pc->later[i] = pc->later[--pc->n_later];
                break;
            }
        }
    }
    stmt_release(ps);
    st->impl = NULL;
}

static struct pg_stmt *ps_of(struct db_stmt *st)
{
    return st->impl;
}

static int pq_col_count(struct db_stmt *st)
{
    return ps_of(st)->res ? ps_of(st)->ncols : 0;
}

static const char *pq_col_name(struct db_stmt *st, int i)
{
    return PQfname(ps_of(st)->res, i);
}

static bool on_row(struct pg_stmt *ps)
{
    return ps->res && ps->row >= 0 && ps->row < ps->nrows;
}

static bool pq_col_null(struct db_stmt *st, int i)
{
    struct pg_stmt *ps = ps_of(st);
    return !on_row(ps) || PQgetisnull(ps->res, ps->row, i);
}

static int64_t pq_col_int(struct db_stmt *st, int i)
{
    struct pg_stmt *ps = ps_of(st);
    const char *v = PQgetvalue(ps->res, ps->row, i);
    if (PQftype(ps->res, i) == OID_BOOL)
        return v[0] == 't';
    return db_text_to_i64(v);
}

static double pq_col_double(struct db_stmt *st, int i)
{
    struct pg_stmt *ps = ps_of(st);
    const char *v = PQgetvalue(ps->res, ps->row, i);
    if (PQftype(ps->res, i) == OID_BOOL)
        return v[0] == 't' ? 1.0 : 0.0;
    return db_text_to_double(v);
}

/* Keeps len bytes of p, which may contain NUL bytes (a decoded bytea), with
 * a NUL after them. */
static const char *set_conv(struct conv *cv, const char *p, size_t len)
{
    free(cv->p);
    cv->p = mt_xmalloc(len + 1);
    memcpy(cv->p, p, len);
    cv->p[len] = '\0';
    cv->len = len;
    return cv->p;
}

static const char *pq_col_text(struct db_stmt *st, int i, size_t *len)
{
    struct pg_stmt *ps = ps_of(st);
    const char *v = PQgetvalue(ps->res, ps->row, i);
    size_t n = (size_t)PQgetlength(ps->res, ps->row, i);
    switch (PQftype(ps->res, i)) {
    case OID_BOOL:
        /* Booleans read as 1/0, the way SQLite and MariaDB store them. */
        *len = 1;
        return v[0] == 't' ? "1" : "0";
    case OID_TIMESTAMP:
    case OID_TIMESTAMPTZ: {
        /* The session zone is UTC, so timestamptz ends in +00, which goes;
         * the fraction is padded to six digits as MariaDB prints it. */
        char ts[DB_TS_MAX];
        size_t tl = db_canon_timestamp(v, n, ts);
        if (tl == 0)
            break;
        *len = tl;
        return set_conv(&ps->conv[i], ts, tl);
    }
    case OID_BYTEA: {
        size_t bl = 0;
        unsigned char *raw = PQunescapeBytea((const unsigned char *)v, &bl);
        if (!raw) {
            *len = 0;
            return "";
        }
        const char *out = set_conv(&ps->conv[i], (const char *)raw, bl);
        PQfreemem(raw);
        *len = bl;
        return out;
    }
    default:
        break;
    }
    *len = n;
    return v;
}

static int64_t pq_changes(struct db_conn *c)
{
    return ((struct pg_conn *)c->impl)->changes;
}

static int pq_last_insert_id(struct db_conn *c, int64_t *out, struct mt_err *err)
{
    if (flush_waiting(c, err) < 0)
        return -1;
    PGresult *res = PQexec(pg_of(c), "SELECT lastval()");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        pg_fail(c, res, "cannot read the last insert id", err);
        PQclear(res);
        return -1;
    }
    *out = db_text_to_i64(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

static int pq_exec(struct db_conn *c, const char *sql, struct mt_err *err)
{
    struct pg_conn *pc = c->impl;
    bool commit = strncasecmp(sql, "COMMIT", 6) == 0 && sql[6] == '\0';
    bool rollback = strncasecmp(sql, "ROLLBACK", 8) == 0 && sql[8] == '\0';
    PGresult *res = NULL;
    if (rollback) {
        /* What waits is dropped; a BEGIN never sent leaves nothing to undo. */
        forget_waiting(pc);
        if (PQtransactionStatus(pc->pg) == PQTRANS_IDLE)
            return 0;
    } else if (commit && pc->begin_pending && pc->n_later == 0) {
        /* A transaction that ran no statement. */
        forget_waiting(pc);
        return 0;
    } else if (commit && waiting(pc)) {
        /* The waiting statements and the COMMIT in one round trip. */
        if (pipeline(c, NULL, "mt_commit", &res, err) < 0)
            return -1;
    } else if (flush_waiting(c, err) < 0) {
        return -1;
    }
    if (!res)
        res = PQexec(pc->pg, sql);
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
        pg_fail(c, res, "statement failed", err);
        PQclear(res);
        return -1;
    }
    /* COMMIT of a transaction that already failed answers ROLLBACK instead
     * of an error; the caller must not believe its changes were kept. */
    bool rolled_back =
        strncasecmp(sql, "COMMIT", 6) == 0 && strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
    note_changes(pc, res);
    PQclear(res);
    if (rolled_back)
        return mt_fail(err, MT_EDB,
                       "commit failed: the transaction had failed and was rolled back");
    return 0;
}

const struct db_driver db_postgres_driver = {
    .dialect = DB_POSTGRES,
    .impl_name = "PostgresqlImpl",
    .transactional_ddl = true,
    .begin_sql = "BEGIN",
    .begin_write_sql = "BEGIN",
    .begin_snapshot_sql = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    /* The protocol allows 65535, but libpq 15 (Debian 12) takes a
     * ParameterDescription message, 4 bytes a parameter, of at most 30,000
     * bytes and otherwise drops the connection ("lost synchronization with
     * server"): 7,000 stays under it. */
    .max_params = 7000,
    .open = pq_open,
    .close = pq_close,
    .is_broken = pq_is_broken,
    .set_timeouts = pq_set_timeouts,
    .ping = pq_ping,
    .tx_active = pq_tx_active,
    .begin_write = pq_begin_write,
    .tx_finished = pq_tx_finished,
    .prepare = pq_prepare,
    .execute = pq_execute,
    .execute_later = pq_execute_later,
    .execute_stream = pq_execute_stream,
    .step = pq_step,
    .reset = pq_reset,
    .finalize = pq_finalize,
    .col_count = pq_col_count,
    .col_name = pq_col_name,
    .col_null = pq_col_null,
    .col_int = pq_col_int,
    .col_double = pq_col_double,
    .col_text = pq_col_text,
    .changes = pq_changes,
    .last_insert_id = pq_last_insert_id,
    .exec = pq_exec,
    .sql_tables = "SELECT c.relname FROM pg_catalog.pg_class c"
                  " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                  " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
                  " ORDER BY c.relname",
    .sql_columns =
        "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,"
        " pg_catalog.pg_get_expr(d.adbin, d.adrelid),"
        " EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid"
        " AND i.indisprimary AND a.attnum = ANY (i.indkey))"
        " FROM pg_catalog.pg_attribute a"
        " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE c.relname = ? AND n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
        " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
    .sql_indexes =
        "SELECT ic.relname, ix.indisunique, pg_catalog.pg_get_indexdef(ix.indexrelid, k.n, true)"
        " FROM pg_catalog.pg_index ix"
        " JOIN pg_catalog.pg_class ic ON ic.oid = ix.indexrelid"
        " JOIN pg_catalog.pg_class c ON c.oid = ix.indrelid"
        " JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace"
        " CROSS JOIN LATERAL generate_series(1, ix.indnkeyatts) AS k(n)"
        " WHERE c.relname = ? AND ns.nspname = current_schema() AND NOT ix.indisprimary"
        " ORDER BY ic.relname, k.n",
    .sql_fkeys =
        "SELECT con.conname, a.attname, rc.relname, ra.attname,"
        " CASE con.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT'"
        " WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' END"
        " FROM pg_catalog.pg_constraint con"
        " JOIN pg_catalog.pg_class c ON c.oid = con.conrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid"
        " CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(att, ref, ord)"
        " JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.att"
        " JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.ref"
        " WHERE con.contype = 'f' AND c.relname = ? AND n.nspname = current_schema()"
        " ORDER BY con.conname, k.ord",
};

MT_MODULE_EXPORT("meditrack-postgresql.so", db_postgres_driver);
