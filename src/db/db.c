/* The dialect-independent half of the database layer: picks the driver for a
 * URL, keeps each connection's statement cache, runs queries and scripts,
 * wraps transactions (db_tx_run retries deadlocks and serialization
 * failures), opens a connection whose link broke again in place, tracks
 * whether the storage is full, and turns the drivers' introspection queries
 * into lists. The drivers (sqlite.c, postgres.c, mysql.c) do the talking to
 * the servers. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <time.h>

#include "core/log.h"
#include "core/mtime.h"
#include "core/redact.h"
#include "db/db_int.h"

enum {
    CACHE_MAX = 512,         /* statements cached per connection; more run uncached */
    TX_MAX_ATTEMPTS = 6,     /* the first try and up to five retries */
    LIMIT_MAX_MS = 86400000, /* session limits: a day at most */
};

/* Free space on the SQLite file system that ends a "storage full" state. */
#define STORAGE_FREE_MIN ((unsigned long long)1 << 20)
/* How long a server database counts as full after its last ENOSPC failure. */
#define STORAGE_FULL_HOLD_US (60LL * 1000000)

struct db_param db_text(const char *s)
{
    if (!s)
        return DB_NULL;
    return DB_TEXTN(s, strlen(s));
}

/* ---- small helpers shared with the drivers ---- */

void db_scrub(struct mt_err *err)
{
    if (err)
        mt_redact_text(err->msg, sizeof err->msg);
}

int db_sock_peek(int fd)
{
    if (fd < 0)
        return -1;
    struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLRDHUP};
    if (poll(&pfd, 1, 0) <= 0)
        return 0;
    if (pfd.revents & (POLLERR | POLLNVAL))
        return -1;
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return -1;
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    return 1;
}

int db_sock_wait(int fd, int timeout_ms)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int left = timeout_ms;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int n = poll(&pfd, 1, left < 0 ? 0 : left);
        if (n > 0)
            return 1;
        if (n == 0)
            return 0;
        if (errno != EINTR)
            return -1;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long spent =
            (long)(now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        left = timeout_ms - (int)spent;
    }
}

void db_format_double(double d, char *buf, size_t size)
{
    if (isnan(d)) {
        snprintf(buf, size, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, size, "%s", d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    snprintf(buf, size, "%.15g", d);
    if (strtod(buf, NULL) != d)
        snprintf(buf, size, "%.17g", d);
}

/* The zone designators a UTC value may carry: PostgreSQL's timestamptz in
 * a UTC session ends in "+00"; other tools write "Z" or "+00:00". */
static bool utc_designator(const char *z, size_t n)
{
    return (n == 1 && z[0] == 'Z') || (n == 3 && memcmp(z, "+00", 3) == 0) ||
           (n == 6 && memcmp(z, "+00:00", 6) == 0);
}

size_t db_canon_timestamp(const char *in, size_t n, char *out)
{
    struct mt_timestamp_text t;
    if (mt_scan_timestamp(in, n, MT_TS_STORED, &t) || !t.has_second ||
        (t.sep != ' ' && t.sep != 'T') || (t.mark && t.mark != '.') || t.digits > 9 ||
        (t.zone_len && !utc_designator(in + t.zone_at, t.zone_len)))
        return 0;
    int len;
    if (t.usec)
        len = snprintf(out, DB_TS_MAX, "%04d-%02d-%02d %02d:%02d:%02d.%06d", t.date.year,
                       t.date.month, t.date.day, t.hour, t.minute, t.second, t.usec);
    else
        len = snprintf(out, DB_TS_MAX, "%04d-%02d-%02d %02d:%02d:%02d", t.date.year, t.date.month,
                       t.date.day, t.hour, t.minute, t.second);
    return len > 0 && len < DB_TS_MAX ? (size_t)len : 0;
}

int64_t db_text_to_i64(const char *s)
{
    if (!s)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s)
        return 0;
    if (errno == 0 && (*end == '\0' || (*end != '.' && *end != 'e' && *end != 'E')))
        return (int64_t)v;
    double d = strtod(s, NULL);
    if (isnan(d))
        return 0;
    if (d >= 9223372036854775807.0)
        return INT64_MAX;
    if (d <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)d;
}

double db_text_to_double(const char *s)
{
    return s ? strtod(s, NULL) : 0.0;
}

static void lower_ascii(char *s)
{
    for (; s && *s; s++) {
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
    }
}

static void upper_ascii(char *s)
{
    for (; s && *s; s++) {
        if (*s >= 'a' && *s <= 'z')
            *s = (char)(*s - 'a' + 'A');
    }
}

/* ---- storage state ---- */

/* CLOCK_MONOTONIC microseconds of the last MT_ENOSPC failure; 0: none known
 * since the last successful write. */
static _Atomic long long storage_full_at;

static long long mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    /* Never 0, which means "not full". */
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000 + 1;
}

/* What every failing call in this file does with its error: keep the
 * password out of it and remember a full storage. */
static void after_fail(const struct db_conn *c, struct mt_err *err)
{
    (void)c;
    db_scrub(err);
    if (err && err->code == MT_ENOSPC)
        atomic_store(&storage_full_at, mono_us());
}

/* Free bytes for unprivileged users on the file system of an SQLite file;
 * false when that cannot be known (:memory:, statvfs failing). */
static bool sqlite_free_bytes(const struct db_conn *c, unsigned long long *out)
{
    const char *path = c->url.path;
    if (!path || strcmp(path, ":memory:") == 0)
        return false;
    char *dir = mt_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, strlen(dir) + 1, ".");
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    struct statvfs sv;
    int rc = statvfs(dir, &sv);
    free(dir);
    if (rc < 0)
        return false;
    *out = (unsigned long long)sv.f_bavail * (unsigned long long)sv.f_frsize;
    return true;
}

bool db_storage_full(struct db_conn *c)
{
    long long at = atomic_load(&storage_full_at);
    if (at == 0)
        return false;
    bool over;
    unsigned long long avail = 0;
    if (c && c->drv->dialect == DB_SQLITE && sqlite_free_bytes(c, &avail))
        over = avail >= STORAGE_FREE_MIN;
    else
        over = mono_us() - at > STORAGE_FULL_HOLD_US;
    if (over) {
        /* Only clear the failure seen, not a newer one. */
        atomic_compare_exchange_strong(&storage_full_at, &at, 0);
        return false;
    }
    return true;
}

/* ---- connections ---- */

static bool limit_ok(int ms)
{
    return ms >= 0 && ms <= LIMIT_MAX_MS;
}

static int check_limits(int statement_ms, int lock_ms, struct mt_err *err)
{
    if (!limit_ok(statement_ms) || !limit_ok(lock_ms))
        return mt_fail(err, MT_EINVAL, "database timeouts must be from 0 to %d ms, got %d and %d",
                       LIMIT_MAX_MS, statement_ms, lock_ms);
    return 0;
}

int db_open(const struct db_url *u, struct db_conn **out, struct mt_err *err)
{
    if (check_limits(u->statement_timeout_ms, u->lock_timeout_ms, err) < 0)
        return -1;
    /* The drivers table (drivers.c): built in, or loaded as a module. */
    const struct db_driver *drv = db_driver_get(u->dialect, err);
    if (!drv)
        return -1;
    struct db_conn *c = mt_xcalloc(1, sizeof *c);
    c->drv = drv;
    c->label = db_url_label(u);
    c->n_buckets = 64;
    c->buckets = mt_xcalloc(c->n_buckets, sizeof *c->buckets);
    db_url_copy(&c->url, u);
    if (c->drv->open(c, u, err) < 0) {
        db_scrub(err);
        c->drv = NULL;
        db_close(c);
        return -1;
    }
    if ((u->statement_timeout_ms || u->lock_timeout_ms) &&
        db_set_timeouts(c, u->statement_timeout_ms, u->lock_timeout_ms, err) < 0) {
        mt_err_wrap(err, "cannot set the session timeouts on %s", c->label);
        db_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

int db_open_url(const char *url, struct db_conn **out, struct mt_err *err)
{
    struct db_url u;
    if (db_url_parse(url, &u, err) < 0)
        return -1;
    int rc = db_open(&u, out, err);
    db_url_release(&u);
    return rc;
}

static void stmt_free(struct db_stmt *st)
{
    if (st->impl)
        st->conn->drv->finalize(st);
    free(st->sql);
    free(st);
}

void db_close(struct db_conn *c)
{
    if (!c)
        return;
    if (c->drv) {
        for (size_t b = 0; b < c->n_buckets; b++) {
            struct db_stmt *st = c->buckets[b];
            while (st) {
                struct db_stmt *next = st->next;
                stmt_free(st);
                st = next;
            }
        }
        while (c->temps) {
            struct db_stmt *next = c->temps->next;
            stmt_free(c->temps);
            c->temps = next;
        }
        c->drv->close(c);
    }
    free(c->buckets);
    free(c->label);
    db_url_release(&c->url);
    free(c);
}

enum db_dialect db_conn_dialect(const struct db_conn *c)
{
    return c->drv->dialect;
}

bool db_transactional_ddl(const struct db_conn *c)
{
    return c->drv->transactional_ddl;
}

const char *db_impl_name(const struct db_conn *c)
{
    return c->drv->impl_name;
}

const char *db_conn_label(const struct db_conn *c)
{
    return c->label;
}

bool db_conn_broken(struct db_conn *c)
{
    return c->broken || c->drv->is_broken(c);
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

int db_set_timeouts(struct db_conn *c, int statement_ms, int lock_ms, struct mt_err *err)
{
    if (check_limits(statement_ms, lock_ms, err) < 0)
        return -1;
    if (c->drv->set_timeouts && c->drv->set_timeouts(c, statement_ms, lock_ms, err) < 0) {
        after_fail(c, err);
        return -1;
    }
    c->statement_ms = statement_ms;
    c->lock_ms = lock_ms;
    return 0;
}

int db_ping(struct db_conn *c, int timeout_ms, struct mt_err *err)
{
    if (c->drv->ping) {
        if (c->drv->ping(c, timeout_ms, err) < 0) {
            after_fail(c, err);
            return -1;
        }
        return 0;
    }
    int64_t one = 0;
    if (db_query_int(c, "SELECT 1", NULL, 0, &one, NULL, err) < 0)
        return -1;
    return one == 1 ? 0 : mt_fail(err, MT_EDB, "SELECT 1 answered %lld", (long long)one);
}

static bool any_cursor_open(const struct db_conn *c)
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

static void stmt_free(struct db_stmt *st);

/* Replaces the server session of c by a new one opened with the same URL
 * and limits, keeping the struct (callers and the pool hold its address).
 * Only done when no cursor is open on c, since those belong to the old
 * session. On failure c stays as it was (broken) and err says why. */
static int conn_reopen(struct db_conn *c, struct mt_err *err)
{
    if (any_cursor_open(c))
        return mt_fail(err, MT_EUNAVAIL, "the connection to %s was lost", c->label);
    struct db_url u = c->url;
    u.statement_timeout_ms = c->statement_ms;
    u.lock_timeout_ms = c->lock_ms;
    struct db_conn *fresh = NULL;
    if (db_open(&u, &fresh, err) < 0)
        return -1;
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
    c->drv->close(c);
    c->impl = fresh->impl;
    c->deadline_ms = fresh->deadline_ms;
    c->broken = false;
    /* The shell of fresh goes; its session now belongs to c. */
    fresh->impl = NULL;
    fresh->drv = NULL;
    db_close(fresh);
    return 0;
}

/* True when err says the link to the server is gone and c knows it. */
static bool link_lost(struct db_conn *c, const struct mt_err *err)
{
    return err->code == MT_EUNAVAIL && db_conn_broken(c);
}

/* ---- the statement cache ---- */

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

/* While a streamed result is open, the server (PostgreSQL, MariaDB) is still
 * sending it over the connection and would refuse or garble any other
 * command; refusing here, on every dialect, makes the mistake visible. */
static int refuse_while_streaming(struct db_conn *c, struct mt_err *err)
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
    if (refuse_while_streaming(c, err) < 0)
        return -1;
    /* Asked before the statement: once the link is lost the drivers no
     * longer know whether a transaction was open. */
    bool in_tx = c->drv->dialect != DB_SQLITE && db_in_tx(c);
    bool ran = false;
    int rc = run_once(c, sql, params, n, &st, &ran, err);
    if (rc < 0 && !in_tx && link_lost(c, err) && (!ran || reads_only(sql))) {
        /* A pooled connection whose server restarted (or that a proxy
         * dropped): nothing of this statement took effect, so it runs once
         * more on a new session instead of failing the request. */
        struct mt_err again;
        mt_err_clear(&again);
        if (conn_reopen(c, &again) == 0) {
            mt_log(MT_LOG_INFO, "the connection to %s was lost; reopened it and retrying",
                   c->label);
            rc = run_once(c, sql, params, n, &st, &ran, err);
        }
    }
    if (rc < 0) {
        after_fail(c, err);
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

int db_query_stream(struct db_conn *c, const char *sql, const struct db_param *params, size_t n,
                    struct db_stmt **out, struct mt_err *err)
{
    struct db_stmt *st;
    *out = NULL;
    if (refuse_while_streaming(c, err) < 0)
        return -1;
    if (stmt_get(c, sql, &st, err) < 0) {
        after_fail(c, err);
        return -1;
    }
    st->active = true;
    int rc = c->drv->execute_stream ? c->drv->execute_stream(st, params, n, err)
                                    : c->drv->execute(st, params, n, err);
    if (rc < 0) {
        after_fail(c, err);
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
        after_fail(st->conn, err);
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
    if (refuse_while_streaming(c, err) < 0)
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
    if (refuse_while_streaming(c, err) < 0)
        return -1;
    if (db_split_sql(sql, &stmts, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < stmts.n && rc == 0; i++) {
        rc = c->drv->exec(c, stmts.items[i], err);
        if (rc < 0) {
            after_fail(c, err);
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

/* ---- transactions ---- */

static int exec_one(struct db_conn *c, const char *sql, struct mt_err *err)
{
    if (refuse_while_streaming(c, err) < 0)
        return -1;
    if (c->drv->exec(c, sql, err) < 0) {
        after_fail(c, err);
        return -1;
    }
    return 0;
}

int db_begin(struct db_conn *c, struct mt_err *err)
{
    return exec_one(c, c->drv->begin_sql, err);
}

int db_begin_immediate(struct db_conn *c, struct mt_err *err)
{
    if (!c->drv->begin_write)
        return exec_one(c, c->drv->begin_write_sql, err);
    if (refuse_while_streaming(c, err) < 0)
        return -1;
    if (c->drv->begin_write(c, err) < 0) {
        after_fail(c, err);
        return -1;
    }
    return 0;
}

/* Lets the driver drop what it holds for a transaction that is over. */
static void tx_finished(struct db_conn *c)
{
    if (c->drv->tx_finished)
        c->drv->tx_finished(c);
}

int db_commit(struct db_conn *c, struct mt_err *err)
{
    int rc = exec_one(c, "COMMIT", err);
    tx_finished(c);
    return rc;
}

int db_rollback(struct db_conn *c, struct mt_err *err)
{
    /* A statement that failed may have ended the transaction already
     * (SQLite rolls back by itself on a full disk, for instance). */
    if (!c->drv->tx_active(c)) {
        tx_finished(c);
        return 0;
    }
    int rc = exec_one(c, "ROLLBACK", err);
    tx_finished(c);
    return rc;
}

bool db_in_tx(const struct db_conn *c)
{
    /* A session that is gone has no transaction left (the server undid it),
     * whatever the driver remembers of its last status. */
    if (c->broken)
        return false;
    return c->drv->tx_active((struct db_conn *)c);
}

/* A small per-thread generator for the retry jitter; seeded from the clock
 * and the thread's own address so that competing threads draw differently. */
static uint64_t jitter(void)
{
    static _Thread_local uint64_t state;
    if (state == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&state;
        state |= 1;
    }
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

/* Sleeps 5-15 ms before the first retry, doubling each time (at most about
 * half a second over all retries): long enough for the other transaction to
 * finish, randomized so the two losers of a deadlock do not collide again. */
static void backoff(int attempt)
{
    uint64_t base_us = 5000u << (attempt - 1);
    uint64_t us = base_us + jitter() % (2 * base_us);
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000u),
                          .tv_nsec = (long)(us % 1000000u) * 1000};
    int rc = nanosleep(&ts, &ts);
    while (rc < 0 && errno == EINTR)
        rc = nanosleep(&ts, &ts);
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int db_tx_run(struct db_conn *c, bool write, db_tx_fn fn, void *ctx, struct mt_err *err)
{
    /* Inside an open transaction, fn is part of it: no retry is possible here,
     * the outer db_tx_run retries the whole. */
    if (db_in_tx(c))
        return fn(c, ctx, err);
    bool reopened = false;
    int64_t t0 = monotonic_ms();
    for (int attempt = 1;; attempt++) {
        struct mt_err e;
        mt_err_clear(&e);
        bool committing = false;
        int rc = write ? db_begin_immediate(c, &e) : db_begin(c, &e);
        if (rc == 0) {
            rc = fn(c, ctx, &e);
            if (rc == 0) {
                committing = true;
                rc = db_commit(c, &e);
            }
            if (rc < 0) {
                struct mt_err ignored;
                db_rollback(c, &ignored);
            }
        }
        if (rc == 0) {
            /* Loaded first: writers would otherwise all store to one line. */
            if (write && atomic_load(&storage_full_at) != 0)
                atomic_store(&storage_full_at, 0);
            return 0;
        }
        /* The server undoes a transaction whose session ends before COMMIT,
         * so it can run again, once, on a new session. A link lost during
         * COMMIT leaves the outcome unknown: that is the caller's to report. */
        if (!committing && !reopened && link_lost(c, &e)) {
            struct mt_err again;
            mt_err_clear(&again);
            reopened = true;
            if (conn_reopen(c, &again) == 0) {
                mt_log(MT_LOG_INFO,
                       "the connection to %s was lost in a transaction; reopened it and retrying",
                       c->label);
                continue;
            }
        }
        /* A lock wait that used up the connection's deadline (SQLite's lock
         * wait limit) is not waited again: the request's deadline has passed. */
        int64_t spent = monotonic_ms() - t0;
        bool late = c->deadline_ms > 0 && spent >= c->deadline_ms;
        if (e.code != MT_EDB_RETRY || attempt >= TX_MAX_ATTEMPTS || late) {
            if (e.code == MT_OK)
                mt_fail(&e, MT_EINTERNAL, "transaction function failed without an error");
            if (e.code == MT_EDB_RETRY)
                mt_err_wrap(&e, "gave up after %d attempts in %lld ms", attempt, (long long)spent);
            if (err)
                *err = e;
            return -1;
        }
        mt_log(MT_LOG_DEBUG, "retrying transaction (attempt %d): %s", attempt + 1, e.msg);
        backoff(attempt);
    }
}

/* ---- introspection ---- */

int db_tables(struct db_conn *c, struct mt_strlist *out, struct mt_err *err)
{
    struct db_stmt *st;
    struct mt_strlist l = {0};
    if (db_query(c, c->drv->sql_tables, NULL, 0, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    while (rc == 1) {
        const char *name = db_col_text(st, 0, NULL);
        if (name)
            mt_strlist_push(&l, name);
        rc = db_next(st, err);
    }
    db_done(st);
    if (rc < 0) {
        mt_strlist_release(&l);
        return -1;
    }
    *out = l;
    return 0;
}

int db_table_exists(struct db_conn *c, const char *table, bool *exists, struct mt_err *err)
{
    struct mt_strlist l;
    if (db_tables(c, &l, err) < 0)
        return -1;
    *exists = mt_strlist_has(&l, table);
    mt_strlist_release(&l);
    return 0;
}

static char *col_dup(struct db_stmt *st, int i)
{
    size_t len;
    const char *p = db_col_text(st, i, &len);
    return p ? mt_xstrndup(p, len) : NULL;
}

int db_columns(struct db_conn *c, const char *table, struct db_column **out, size_t *n,
               struct mt_err *err)
{
    struct db_stmt *st;
    struct db_param p = db_text(table);
    struct db_column *cols = NULL;
    size_t count = 0;
    if (db_query(c, c->drv->sql_columns, &p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    while (rc == 1) {
        cols = mt_xrealloc(cols, (count + 1) * sizeof *cols);
        struct db_column *col = &cols[count++];
        col->name = col_dup(st, 0);
        col->type = col_dup(st, 1);
        if (!col->type)
            col->type = mt_xstrdup("");
        lower_ascii(col->type);
        col->notnull = db_col_int(st, 2) != 0;
        col->dflt = col_dup(st, 3);
        col->pk = db_col_int(st, 4) != 0;
        rc = db_next(st, err);
    }
    db_done(st);
    if (rc < 0) {
        db_columns_free(cols, count);
        return -1;
    }
    *out = cols;
    *n = count;
    return 0;
}

int db_indexes(struct db_conn *c, const char *table, struct db_index **out, size_t *n,
               struct mt_err *err)
{
    struct db_stmt *st;
    struct db_param p = db_text(table);
    struct db_index *ix = NULL;
    size_t count = 0;
    if (db_query(c, c->drv->sql_indexes, &p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    while (rc == 1) {
        const char *name = db_col_text(st, 0, NULL);
        if (!name)
            name = "";
        if (count == 0 || strcmp(ix[count - 1].name, name) != 0) {
            ix = mt_xrealloc(ix, (count + 1) * sizeof *ix);
            ix[count] = (struct db_index){
                .name = mt_xstrdup(name),
                .table = mt_xstrdup(table),
                .unique = db_col_int(st, 1) != 0,
            };
            count++;
        }
        struct db_index *cur = &ix[count - 1];
        char *col = col_dup(st, 2);
        cur->columns = mt_xrealloc(cur->columns, (cur->n_columns + 1) * sizeof *cur->columns);
        cur->columns[cur->n_columns++] = col ? col : mt_xstrdup("(expression)");
        rc = db_next(st, err);
    }
    db_done(st);
    if (rc < 0) {
        db_indexes_free(ix, count);
        return -1;
    }
    *out = ix;
    *n = count;
    return 0;
}

/* SQLite leaves the referenced column out when a foreign key names only the
 * table: it then means that table's primary key. */
static int resolve_ref_column(struct db_conn *c, struct db_fkey *fk, struct mt_err *err)
{
    struct db_column *cols;
    size_t n;
    if (db_columns(c, fk->ref_table, &cols, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n && !fk->ref_column; i++) {
        if (cols[i].pk)
            fk->ref_column = mt_xstrdup(cols[i].name);
    }
    db_columns_free(cols, n);
    if (!fk->ref_column)
        fk->ref_column = mt_xstrdup("rowid");
    return 0;
}

int db_fkeys(struct db_conn *c, const char *table, struct db_fkey **out, size_t *n,
             struct mt_err *err)
{
    struct db_stmt *st;
    struct db_param p = db_text(table);
    struct db_fkey *fk = NULL;
    size_t count = 0;
    if (db_query(c, c->drv->sql_fkeys, &p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    while (rc == 1) {
        fk = mt_xrealloc(fk, (count + 1) * sizeof *fk);
        struct db_fkey *f = &fk[count++];
        f->name = col_dup(st, 0);
        f->table = mt_xstrdup(table);
        f->column = col_dup(st, 1);
        f->ref_table = col_dup(st, 2);
        f->ref_column = col_dup(st, 3);
        f->on_delete = col_dup(st, 4);
        if (!f->on_delete)
            f->on_delete = mt_xstrdup("NO ACTION");
        upper_ascii(f->on_delete);
        rc = db_next(st, err);
    }
    db_done(st);
    for (size_t i = 0; i < count && rc >= 0; i++) {
        if (!fk[i].ref_column && fk[i].ref_table && resolve_ref_column(c, &fk[i], err) < 0)
            rc = -1;
    }
    if (rc < 0) {
        db_fkeys_free(fk, count);
        return -1;
    }
    *out = fk;
    *n = count;
    return 0;
}

void db_columns_free(struct db_column *cols, size_t n)
{
    for (size_t i = 0; cols && i < n; i++) {
        free(cols[i].name);
        free(cols[i].type);
        free(cols[i].dflt);
    }
    free(cols);
}

void db_indexes_free(struct db_index *ix, size_t n)
{
    for (size_t i = 0; ix && i < n; i++) {
        free(ix[i].name);
        free(ix[i].table);
        for (size_t k = 0; k < ix[i].n_columns; k++)
            free(ix[i].columns[k]);
        free(ix[i].columns);
    }
    free(ix);
}

void db_fkeys_free(struct db_fkey *fk, size_t n)
{
    for (size_t i = 0; fk && i < n; i++) {
        free(fk[i].name);
        free(fk[i].table);
        free(fk[i].column);
        free(fk[i].ref_table);
        free(fk[i].ref_column);
        free(fk[i].on_delete);
    }
    free(fk);
}
