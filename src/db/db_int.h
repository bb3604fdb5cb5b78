/* Internals of the database layer, shared by its dialect-independent files
 * (db.c, query.c, tx.c, fault.c, ...) and the driver files (sqlite*.c,
 * postgres.c, mysql.c) and included by nothing outside src/db. A driver is
 * one constant struct db_driver of function pointers; the
 * dialect-independent files keep the generic connection, the statement
 * cache and the cursor bookkeeping. */
#ifndef MT_DB_DB_INT_H
#define MT_DB_DB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "db/db.h"

/* A statement prepared on one connection. The generic part is owned by db.c;
 * impl belongs to the driver (allocated by prepare, freed by finalize). */
struct db_stmt {
    struct db_conn *conn;
    char *sql; /* the text it was prepared from (cache key) */
    uint64_t hash;
    struct db_stmt *next; /* cache bucket chain, or the temporary list */
    bool active;          /* a cursor is open on it */
    bool temp;            /* not cached: finalized by db_done */
    void *impl;
};

/* One open connection. The generic part is owned by db.c; impl belongs to the
 * driver (allocated by open, freed by close). */
struct db_conn {
    const struct db_driver *drv;
    char *label;              /* URL with the password masked */
    struct db_stmt **buckets; /* statement cache, keyed by SQL text */
    size_t n_buckets, n_cached;
    struct db_stmt *temps;  /* uncached statements with an open cursor */
    bool broken;            /* the link to the server is gone */
    struct db_stmt *stream; /* the open db_query_stream cursor: nothing else may run */
    struct db_url url;      /* what it was opened with, to open it again in place */
    int statement_ms;       /* the session limits in effect (db_set_timeouts) */
    int lock_ms;
    /* How long one statement may wait for a lock, in ms, as the driver
     * enforces it (SQLite: its lock wait limit, see db_set_timeouts);
     * db_tx_run stops retrying once its attempts took this long. 0: no
     * deadline known (the servers enforce theirs). Set by the driver's open
     * and set_timeouts. */
    int deadline_ms;
    void *impl;
};

/* The table every driver exports. All functions fill err on failure and
 * return -1 unless said otherwise; errors are left to the caller to log. */
struct db_driver {
    enum db_dialect dialect;
    const char *impl_name; /* Alembic's name: "SQLiteImpl", ... */
    bool transactional_ddl;
    const char *begin_sql;       /* "BEGIN", "START TRANSACTION" */
    const char *begin_write_sql; /* "BEGIN IMMEDIATE" on SQLite */
    /* A read-only transaction whose statements all see one snapshot of the
     * database (db_begin_snapshot). */
    const char *begin_snapshot_sql;
    /* Bound parameters one statement may carry (db_max_params). */
    size_t max_params;

    /* Connects and applies the session settings; sets c->impl. On failure
     * nothing is left to close. */
    int (*open)(struct db_conn *c, const struct db_url *u, struct mt_err *err);
    void (*close)(struct db_conn *c);
    /* True when the server link is known to be gone (pool reopens it). It
     * may look at the socket without blocking: an idle connection that is
     * readable has been closed or said goodbye (server shutdown, killed). */
    bool (*is_broken)(struct db_conn *c);
    /* Applies the session limits (see db_set_timeouts; db.c checks the
     * values). NULL: the dialect has none to set. */
    int (*set_timeouts)(struct db_conn *c, int statement_ms, int lock_ms, struct mt_err *err);
    /* Runs a trivial query, waiting at most timeout_ms on the client side;
     * on a timeout marks c broken and fails with MT_ETIMEOUT. NULL: db.c
     * runs "SELECT 1" through db_query. */
    int (*ping)(struct db_conn *c, int timeout_ms, struct mt_err *err);
    /* True when a transaction is open on the server side. */
    bool (*tx_active)(struct db_conn *c);
    /* Optional (NULL: run begin_write_sql): starts a write transaction,
     * e.g. after queueing behind the process's other writers. */
    int (*begin_write)(struct db_conn *c, struct mt_err *err);
    /* Optional: told after COMMIT or ROLLBACK ran (successful or not) and
     * when a pooled connection comes back, so that the driver can let go of
     * what it held for the transaction once none is open any more. */
    void (*tx_finished)(struct db_conn *c);

    /* Prepares one statement with `?` placeholders; sets st->impl. */
    int (*prepare)(struct db_stmt *st, struct mt_err *err);
    /* Binds params and runs the statement up to its first row (so that
     * errors such as constraint violations surface here). */
    int (*execute)(struct db_stmt *st, const struct db_param *p, size_t n, struct mt_err *err);
    /* As execute, but the rows stay on the server and each step fetches
     * one (db_query_stream); the first row is fetched here so that errors
     * surface as with execute. NULL when execute already fetches row by
     * row (SQLite). */
    int (*execute_stream)(struct db_stmt *st, const struct db_param *p, size_t n,
                          struct mt_err *err);
    /* Optional (NULL: db_exec_later runs execute at once): binds p and
     * leaves the statement to be sent with the connection's next statement
     * or COMMIT, where its failure is then reported. */
    int (*execute_later)(struct db_stmt *st, const struct db_param *p, size_t n,
                         struct mt_err *err);
    /* 1: a row is current; 0: no more rows; -1: error. */
    int (*step)(struct db_stmt *st, struct mt_err *err);
    /* Drops the current result so the statement can run again; a streamed
     * result not read to its end is discarded, leaving the connection
     * ready for the next statement. */
    void (*reset)(struct db_stmt *st);
    void (*finalize)(struct db_stmt *st);

    int (*col_count)(struct db_stmt *st);
    const char *(*col_name)(struct db_stmt *st, int i);
    bool (*col_null)(struct db_stmt *st, int i);
    int64_t (*col_int)(struct db_stmt *st, int i);
    double (*col_double)(struct db_stmt *st, int i);
    const char *(*col_text)(struct db_stmt *st, int i, size_t *len);

    int64_t (*changes)(struct db_conn *c);
    int (*last_insert_id)(struct db_conn *c, int64_t *out, struct mt_err *err);
    /* Runs one statement without parameters or caching, discarding rows. */
    int (*exec)(struct db_conn *c, const char *sql, struct mt_err *err);

    /* Introspection queries, each with one `?` for the table name except
     * sql_tables. db.c runs them and builds the lists, so every dialect
     * answers in the same shape:
     *   sql_tables:  name
     *   sql_columns: name, type, notnull (0/1), default text or NULL, pk (0/1)
     *   sql_indexes: index name, unique (0/1), column; by index, position
     *                (primary-key indexes excluded)
     *   sql_fkeys:   constraint name or NULL, column, referenced table,
     *                referenced column or NULL (= its primary key), on delete;
     *                by constraint, position */
    const char *sql_tables;
    const char *sql_columns;
    const char *sql_indexes;
    const char *sql_fkeys;
};

extern const struct db_driver db_sqlite_driver;
extern const struct db_driver db_postgres_driver;
extern const struct db_driver db_mysql_driver;

/* The driver of dialect d (drivers.c). SQLite's is built in; PostgreSQL's
 * and MariaDB's live in modules of their own (meditrack-postgresql.so,
 * meditrack-mysql.so: libpq and libmariadb with their TLS and Kerberos
 * libraries would otherwise be most of every command's start-up), opened on
 * the first connection of that dialect through core/module.h, in the binary
 * and in the test programs alike. Supporting a new database means one driver
 * file plus one line in drivers.c (and a module in meson.build if its
 * library is large). Thread-safe. Fails with MT_EINVAL for an unknown dialect
 * or when the driver's module is missing or unusable (the message says why:
 * waiting for a server cannot help). */
const struct db_driver *db_driver_get(enum db_dialect d, struct mt_err *err);

/* Lexer helper shared by split.c and postgres.c. When a string, quoted
 * identifier, comment or dollar-quoted body starts at sql[i], sets *end just
 * past it and returns 1; returns 0 when none starts there; returns -1 when
 * it is unterminated (*what then names it: "string", "comment", ...). */
int db_sql_skip(const char *sql, size_t len, size_t i, size_t *end, const char **what);
bool db_sql_ident_char(char ch);

/* Masks, by structure, whatever in err->msg looks like a connection string
 * or URL with a password (mt_redact_text), in case a driver's message ever
 * quotes one. libpq and MariaDB do not put the password in their messages,
 * and the connection is opened from separate parameters, never from a
 * conninfo text; this is the second line of defence. Never searches for the
 * password's value, which would rewrite every word that contains it. */
void db_scrub(struct mt_err *err);

/* Rewrites a timestamp as the canonical UTC text every dialect returns:
 * "YYYY-MM-DD HH:MM:SS", plus ".ffffff" (six digits) only when the fraction
 * is not zero. Accepts a stored value (mt_scan_timestamp's MT_TS_STORED)
 * with seconds, a ' ' or 'T' separator, 1 to 9 fraction digits after '.'
 * (cut to six) and no zone or a UTC one: Z, +00 or +00:00. Returns the
 * length written to out (which must hold DB_TS_MAX bytes), or 0 when in is
 * not such a timestamp (the caller then passes the text on as it is). */
enum { DB_TS_MAX = 32 };
size_t db_canon_timestamp(const char *in, size_t n, char *out);

/* Parses the leading integer (or number, truncated) of a text column value;
 * 0 when it is not a number. */
int64_t db_text_to_i64(const char *s);
double db_text_to_double(const char *s);

/* True when c's server link is gone (flagged by a driver error or found by
 * the driver's own check); the pool then reopens the connection. */
bool db_conn_broken(struct db_conn *c);
/* Looks at the socket of an idle server connection without blocking or
 * consuming anything: 0 nothing pending, 1 bytes pending (on an idle
 * session, usually the server's last words before it closes), -1 closed
 * by the peer or failed. Used by the drivers' is_broken. */
int db_sock_peek(int fd);
/* Waits up to timeout_ms for fd to become readable: 1 readable, 0 timed
 * out, -1 failed (errno set). */
int db_sock_wait(int fd, int timeout_ms);

/* Closes every open cursor on c (the pool does this when a connection comes
 * back, so a forgotten db_done cannot leak into the next request). */
void db_conn_release_cursors(struct db_conn *c);

/* ---- between the dialect-independent files ---- */

/* The empty statement cache of a new connection (query.c). */
void db_cache_init(struct db_conn *c);
/* Finalizes every statement prepared on c, cached or not, leaving the cache
 * empty; their cursors must be over (the session is closing). */
void db_cache_clear(struct db_conn *c);
/* True while a cursor is open on c. */
bool db_any_cursor_open(const struct db_conn *c);
/* While a streamed result is open, the server (PostgreSQL, MariaDB) is still
 * sending it over the connection and would refuse or garble any other
 * command: fails with MT_EINTERNAL then, on every dialect, so that the
 * mistake shows on SQLite too. 0 otherwise. */
int db_refuse_while_streaming(struct db_conn *c, struct mt_err *err);
/* Replaces the server session of c by a new one opened with the same URL
 * and limits, keeping the struct (callers and the pool hold its address).
 * Only done when no cursor is open on c, since those belong to the old
 * session. On failure c stays as it was (broken) and err says why (db.c). */
int db_conn_reopen(struct db_conn *c, struct mt_err *err);
/* What every failing call of the layer does with its error: keep the
 * password out of it and remember a full storage (fault.c). */
void db_after_fail(const struct db_conn *c, struct mt_err *err);
/* A write transaction committed: the storage is not full any more. */
void db_storage_written(void);
/* True when err says the link to the server is gone and c knows it. */
bool db_link_lost(struct db_conn *c, const struct mt_err *err);

#endif
