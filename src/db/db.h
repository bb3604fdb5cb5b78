/* The one database interface the program may use: connections from a parsed
 * DATABASE_URL, statements with `?` placeholders and bound parameters, typed
 * result columns, transactions through db_tx_run, schema introspection for the
 * migration engine, and a small connection pool for the HTTP threads. Each
 * dialect lives in one driver file behind db_int.h. */
#ifndef MT_DB_DB_H
#define MT_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/strlist.h"

enum db_dialect { DB_SQLITE, DB_POSTGRES, DB_MYSQL };

/* A parsed DATABASE_URL. All strings are malloc'ed and owned by the struct;
 * absent parts are NULL. */
struct db_url {
    enum db_dialect dialect;
    char *user;
    char *password;
    char *host;     /* NULL: driver default; for PostgreSQL may be a socket directory */
    int port;       /* 0: driver default */
    char *dbname;   /* PostgreSQL / MariaDB database name */
    char *path;     /* SQLite file path, or ":memory:" */
    char *sslmode;  /* PostgreSQL sslmode */
    char *charset;  /* MariaDB charset (default utf8mb4) */
    char *unix_socket; /* MariaDB unix_socket */
    int connect_timeout; /* seconds (?connect_timeout=), 0: 10 s default */
    /* Session limits, set by the program (never read from the URL text); 0:
     * the server's default, which is no limit. See db_open. */
    int statement_timeout_ms;
    int lock_timeout_ms;
    /* SQLite: how long one statement (or BEGIN IMMEDIATE) may wait for a
     * lock, in ms, queueing behind this process's other writers included
     * (SQLITE_BUSY_TIMEOUT; set by the program, never read from the URL
     * text). 0: 5000. The session limits above, when set and shorter,
     * shorten it further (see db_set_timeouts). */
    int busy_timeout_ms;
};

/* Parses every URL form the reference accepted (see docs/configuration.md):
 * sqlite:///rel.db, sqlite:////abs.db, sqlite:///:memory:, postgresql[+driver]://,
 * postgres://, mysql[+driver]://, mariadb[+driver]://, percent-encoded user and
 * password, port, and query parameters. On success release with db_url_release;
 * on failure there is nothing to release and err says what is wrong (never
 * quoting the password). */
int db_url_parse(const char *url, struct db_url *out, struct mt_err *err);
void db_url_release(struct db_url *u);
/* Fills *dst with a deep copy of *src; release it with db_url_release. */
void db_url_copy(struct db_url *dst, const struct db_url *src);
/* The parsed URL rebuilt for messages: dialect, user, host, port, database
 * (or the SQLite path), with the password shown as *** when there is one;
 * malloc'ed, the caller frees it. It is built from the fields, so it never
 * contains the password, and a user or database name equal to the password
 * is shown as it is. (Unparsed text is masked with mt_redact_url.) */
char *db_url_label(const struct db_url *u);
/* "sqlite", "postgresql", "mysql". */
const char *db_dialect_name(enum db_dialect d);

struct db_conn;
struct db_stmt;

/* Opens a connection. SQLite: creates the parent directory, WAL (not for
 * :memory:; the switch is retried within the busy timeout, so processes
 * opening a new file together do not fail), busy timeout u->busy_timeout_ms
 * (5 s by default), foreign_keys=ON, synchronous=NORMAL. sqlite:///:memory:
 * is one database shared by every connection of the process, kept for the
 * life of the process (start-up migrations and the pool see the same data).
 * Writers of one SQLite database in this process queue on a lock of their
 * own instead of sleeping in SQLite's busy handler: db_begin_immediate and
 * a writing statement outside a transaction take it (waiting at most the
 * lock wait limit, then MT_ETIMEOUT), COMMIT / ROLLBACK or the end of that
 * statement give it back; readers never take it. A lock wait that used up
 * the limit, in the queue or in SQLite's busy handler (another process),
 * fails with MT_ETIMEOUT; a conflict that does not wait (a stale read
 * snapshot) with MT_EDB_RETRY. A file or directory the
 * process may not write (permissions, read-only file or file system) fails
 * at once with MT_EPERM, naming the file and the problem.
 * PostgreSQL: client_encoding UTF8, session time zone UTC, ISO dates.
 * MariaDB: utf8mb4 (or ?charset=), time zone +00:00, sql_mode
 * STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION (no ANSI_QUOTES),
 * autocommit on, no automatic reconnect. Servers get a connect timeout of
 * 10 s unless the URL says otherwise. The session limits of u, when not 0,
 * are applied as by db_set_timeouts; on MariaDB a statement limit also
 * bounds how long the client waits for any answer (the limit plus 5 s), so
 * that a frozen server cannot hold a thread for ever. The connection keeps
 * a copy of u, so that a connection whose link broke can be opened again in
 * place (db_query and db_tx_run do that, see there). On success close with
 * db_close.
 * Failure codes: MT_EUNAVAIL (refused, unknown host, timeout: waiting may
 * help), MT_EAUTH, MT_ENODB, MT_EINVAL, MT_EPERM, MT_EDB; the message names the URL
 * with its password masked and never contains the password. */
int db_open(const struct db_url *u, struct db_conn **out, struct mt_err *err);
/* Convenience: parse + open. */
int db_open_url(const char *url, struct db_conn **out, struct mt_err *err);
void db_close(struct db_conn *c);

/* Sets the session limits of c: how long one statement may run
 * (statement_ms) and how long it may wait for a lock (lock_ms); 0 means no
 * limit. PostgreSQL: statement_timeout and lock_timeout. MariaDB:
 * max_statement_time, innodb_lock_wait_timeout and lock_wait_timeout (the
 * last two in whole seconds, rounded up; 0 leaves the server's default;
 * MySQL proper gets max_execution_time, which bounds only reads). SQLite
 * has no server to enforce them, so the driver does: a statement limit
 * interrupts (through SQLite's progress handler) any single call into
 * SQLite that runs longer, i.e. a statement's work up to its first row or
 * the fetch of a further row, not the time a cursor stays open between
 * rows; and the lock wait limit (queue and busy handler together) becomes
 * the smallest of u->busy_timeout_ms, lock_ms and statement_ms that are
 * set. Values outside
 * 0..86400000 are refused with MT_EINVAL; they reach the server as integers
 * formatted here, never as text from elsewhere. A statement cut by either
 * limit fails with MT_ETIMEOUT and has changed nothing; a transaction around
 * it must be rolled back (db_tx_run does). Call it outside a transaction (a
 * rollback would undo it on PostgreSQL). Pooled connections get the pool's
 * limits back when they return (db_pool_put), so a handler may raise them
 * for one long request such as an export. */
int db_set_timeouts(struct db_conn *c, int statement_ms, int lock_ms, struct mt_err *err);

/* Checks that the server answers a trivial query within timeout_ms, timed on
 * the client side, so that a frozen server or a dead network path is
 * reported instead of waited for. On a timeout the connection is marked
 * broken (the pool then replaces it) and the call fails with MT_ETIMEOUT;
 * a lost connection fails with MT_EUNAVAIL. */
int db_ping(struct db_conn *c, int timeout_ms, struct mt_err *err);

/* True while the database's storage is known to be full: a statement failed
 * with MT_ENOSPC (SQLITE_FULL, PostgreSQL SQLSTATE 53100, MariaDB "table is
 * full" / errno 28) and no write transaction has committed since. On SQLite
 * the state also ends when the file system holding the database has at
 * least 1 MiB free again; on the servers, 60 s after the last such failure,
 * since only a write can tell more there. The state is process-wide (a
 * process serves one database). Thread-safe. */
bool db_storage_full(struct db_conn *c);

/* Creates the database u names when it does not exist yet, for the start-up
 * sequence's DB_CREATE=true (added by the start-up issue; in db/create.c).
 * PostgreSQL: through the "postgres" maintenance database (template1 as a
 * fallback); MariaDB: through a session without a default database, with
 * utf8mb4. SQLite: nothing to do (db_open creates the file). Safe when several
 * processes race to create it. *created says whether this call created it.
 * Fails with MT_EINVAL for a name outside [A-Za-z0-9_-]{1,63} (it must be
 * spliced into the statement as an identifier), or with the code of the
 * connection or statement error (MT_EAUTH, MT_EUNAVAIL, MT_EDB for a missing
 * CREATEDB privilege). */
int db_create_database(const struct db_url *u, bool *created, struct mt_err *err);

enum db_dialect db_conn_dialect(const struct db_conn *c);
/* True when DDL runs inside transactions (SQLite, PostgreSQL); false for MariaDB. */
bool db_transactional_ddl(const struct db_conn *c);
/* Alembic's name for the implementation: "SQLiteImpl", "PostgresqlImpl", "MySQLImpl". */
const char *db_impl_name(const struct db_conn *c);
/* The URL the connection was opened with, password masked. Borrowed. */
const char *db_conn_label(const struct db_conn *c);

/* Parameter values. Text need not be NUL-terminated when len is given;
 * DB_TEXT takes a NUL-terminated string (NULL pointer binds SQL NULL).
 * Timestamps are bound as text "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC.
 * The values are copied or sent during db_query: they need not outlive it.
 * PostgreSQL refuses text containing a NUL byte (MT_EINVAL); use DB_BLOB.
 * DB_BOOL goes to PostgreSQL as true/false, or as 1/0 where the parameter
 * is numeric; elsewhere as 1/0. */
enum db_type { DB_T_NULL, DB_T_INT, DB_T_DOUBLE, DB_T_TEXT, DB_T_BOOL, DB_T_BLOB };
struct db_param {
    enum db_type type;
    union {
        int64_t i;
        double d;
        bool b;
        struct {
            const char *p;
            size_t len;
        } s;
    } v;
};
#define DB_NULL ((struct db_param){.type = DB_T_NULL})
#define DB_INT(x) ((struct db_param){.type = DB_T_INT, .v.i = (int64_t)(x)})
#define DB_DOUBLE(x) ((struct db_param){.type = DB_T_DOUBLE, .v.d = (x)})
#define DB_BOOL(x) ((struct db_param){.type = DB_T_BOOL, .v.b = (x)})
#define DB_TEXTN(p_, n_) ((struct db_param){.type = DB_T_TEXT, .v.s = {(p_), (n_)}})
#define DB_BLOB(p_, n_) ((struct db_param){.type = DB_T_BLOB, .v.s = {(const char *)(p_), (n_)}})
struct db_param db_text(const char *s); /* DB_NULL when s is NULL */
#define DB_TEXT(s) db_text(s)

/* Runs one statement with `?` placeholders and n bound parameters. The
 * statement is prepared once per connection (cached by its text, up to 512
 * texts; beyond that they run uncached) and reused. `?` inside quotes and
 * comments is not a placeholder; PostgreSQL's jsonb `?` operators cannot be
 * used (write jsonb_exists()). On success *out is a cursor positioned before
 * the first row; walk it with db_next and always finish it with db_done
 * (NULL out is allowed for statements whose rows are not wanted: the
 * statement runs to completion). Errors of the statement itself (constraint
 * violations included) are reported here, not by the first db_next.
 * Returns 0, or -1 with MT_EDB_RETRY for deadlock / serialization failure /
 * an SQLITE_BUSY that did not wait, MT_ECONFLICT for a unique or foreign-key
 * violation, MT_ETIMEOUT when a statement or lock timeout cut it (on SQLite
 * also a lock wait that used up its limit), MT_EPERM when SQLite may not
 * write the database (read-only), MT_ENOSPC when the
 * database's storage is full, MT_EUNAVAIL when the connection to the server
 * was lost (the pool then replaces it), MT_EINTERNAL when n does not match
 * the placeholders, MT_EDB otherwise. When the link turns out to be broken
 * outside a transaction and no other cursor is open on c, the connection is
 * opened again in place and the statement runs once more where that is
 * safe: when it failed while being prepared (nothing ran), and for a
 * SELECT. Several cursors may be open on one connection at once (also on
 * the same text: a busy statement is not reused, an uncached copy runs). */
int db_query(struct db_conn *c, const char *sql, const struct db_param *params, size_t n,
             struct db_stmt **out, struct mt_err *err);
/* Runs a statement whose rows and change count the caller does not read,
 * inside the open transaction. A driver that can send several statements
 * in one round trip (PostgreSQL's pipeline mode) may hold it back and send
 * it with the transaction's next statement or with its COMMIT; a failure
 * of the statement is then reported by that call (so a transaction
 * function must check everything it runs, as it does anyway). Statements
 * still run in the order they were given. Other drivers, and any call
 * outside a transaction, run it at once as db_query does. Codes as
 * db_query. */
int db_exec_later(struct db_conn *c, const char *sql, const struct db_param *params, size_t n,
                  struct mt_err *err);
/* As db_query with a cursor, for results too large to hold in memory (the
 * report exports): the rows stay on the server and come one at a time as
 * db_next asks for them (PostgreSQL single-row mode, MariaDB's unbuffered
 * statement fetch; SQLite always steps row by row), so the client never holds
 * more than the current row. The price: until db_done, nothing else may run
 * on c. db_query, db_query_stream, db_exec, db_last_insert_id and the
 * transaction calls fail with MT_EINTERNAL meanwhile, on every dialect, so
 * that code tried on SQLite cannot break on a server. The first row is
 * fetched here, so errors the statement meets at once are reported here with
 * db_query's codes; errors met later (a timeout, a lost link) come from
 * db_next. db_done before the last row discards the rest: PostgreSQL asks the
 * server to cancel the statement (outside a transaction only, since a
 * cancelled statement fails the transaction it is in) and reads what was
 * already sent; MariaDB reads and drops the remaining rows. */
int db_query_stream(struct db_conn *c, const char *sql, const struct db_param *params, size_t n,
                    struct db_stmt **out, struct mt_err *err);
/* 1: a row is available; 0: no more rows; -1: error (err filled). */
int db_next(struct db_stmt *st, struct mt_err *err);
/* Reads every row of a query: runs sql as db_query does and calls
 * row(st, ctx, err) for each row in order (the row's columns are valid
 * during the call only). row returns 0 to go on, or -1 with err filled to
 * stop. Returns 0 after the last row, or -1 with the error of the query, of
 * fetching a row, or of row; the cursor is finished either way. */
typedef int (*db_row_fn)(struct db_stmt *st, void *ctx, struct mt_err *err);
int db_query_each(struct db_conn *c, const char *sql, const struct db_param *params, size_t n,
                  db_row_fn row, void *ctx, struct mt_err *err);
/* Resets the cursor for reuse; the statement stays cached on the connection.
 * NULL is allowed. */
void db_done(struct db_stmt *st);

/* Column accessors for the current row (0-based). Text is borrowed: valid
 * until the next db_next or db_done, NUL-terminated, with its length in
 * *len (len may be NULL); blobs read as their raw bytes. NULL columns (and
 * out-of-range indexes): db_col_null true, db_col_text returns NULL, numbers
 * return 0. Booleans of every dialect (0/1, t/f) read as 0/1 through
 * db_col_int and as "1"/"0" through db_col_text. Timestamps read as text in
 * UTC "YYYY-MM-DD HH:MM:SS" plus ".ffffff" (always six digits) when the
 * fraction is not zero, on every dialect (PostgreSQL timestamp and
 * timestamptz, MariaDB DATETIME and TIMESTAMP, SQLite columns declared
 * TIMESTAMP or DATETIME); dates as "YYYY-MM-DD". */
int db_col_count(struct db_stmt *st);
const char *db_col_name(struct db_stmt *st, int i);
bool db_col_null(struct db_stmt *st, int i);
int64_t db_col_int(struct db_stmt *st, int i);
double db_col_double(struct db_stmt *st, int i);
const char *db_col_text(struct db_stmt *st, int i, size_t *len);

/* Rows changed by the last INSERT/UPDATE/DELETE on c (an UPDATE counts the
 * rows it matched on every dialect, also on MariaDB), and the id generated
 * by the last INSERT on c (PostgreSQL: use INSERT ... RETURNING id instead,
 * which works on all three; this returns what lastval() gives, -1 with
 * MT_EDB when no sequence was used yet). */
int64_t db_changes(struct db_conn *c);
int64_t db_last_insert_id(struct db_conn *c, struct mt_err *err);

/* Runs statements without parameters, one or several separated by `;` (as in
 * a migration file; split by db_split_sql). Statements run one by one and
 * uncached; on failure the message names the statement ("statement 2 of 5
 * (...)") and the ones before it have run. MT_EINVAL for an unterminated
 * quote or comment, otherwise the codes of db_query. */
int db_exec(struct db_conn *c, const char *sql, struct mt_err *err);

/* Splits a script into statements on top-level `;`: '...' strings (E'...'
 * with backslash escapes), "..." and `...` names, -- and block comments,
 * $$ and $tag$ bodies, and the BEGIN ... END bodies of CREATE TRIGGER /
 * PROCEDURE / FUNCTION / EVENT are respected (MariaDB's client-side
 * DELIMITER is not supported). Statements are trimmed; empty and
 * comment-only ones are dropped. On success release *out with
 * mt_strlist_release; MT_EINVAL names an unterminated token and its line. */
int db_split_sql(const char *sql, struct mt_strlist *out, struct mt_err *err);

/* Shorthands: run sql and read the first column of the first row. *found (may
 * be NULL) says whether a non-NULL value was there. Text is malloc'ed; caller frees. */
int db_query_int(struct db_conn *c, const char *sql, const struct db_param *params, size_t n,
                 int64_t *out, bool *found, struct mt_err *err);
int db_query_text(struct db_conn *c, const char *sql, const struct db_param *params, size_t n,
                  char **out, struct mt_err *err);

/* Transactions. db_begin/commit/rollback are plain; db_begin_immediate takes
 * the write lock at once on SQLite (BEGIN IMMEDIATE) and is db_begin elsewhere.
 * db_rollback outside a transaction does nothing. On PostgreSQL, db_commit
 * of a transaction that already failed fails with MT_EDB ("rolled back"). */
int db_begin(struct db_conn *c, struct mt_err *err);
int db_begin_immediate(struct db_conn *c, struct mt_err *err);
/* A read-only transaction in which every statement sees the same snapshot,
 * taken when it begins, for a reader that needs several statements to agree
 * (db copy and backups, the portable export, the FHIR bundle) while others
 * write: PostgreSQL REPEATABLE READ READ ONLY, MariaDB WITH CONSISTENT
 * SNAPSHOT at REPEATABLE READ, and on SQLite a deferred transaction that
 * reads at once (in WAL mode its first read fixes the snapshot). End it
 * with db_commit or db_rollback. */
int db_begin_snapshot(struct db_conn *c, struct mt_err *err);
/* How many bound parameters one statement of c may carry (a multi-row
 * INSERT sizes its batches by it). */
size_t db_max_params(const struct db_conn *c);
int db_commit(struct db_conn *c, struct mt_err *err);
int db_rollback(struct db_conn *c, struct mt_err *err);
bool db_in_tx(const struct db_conn *c);

/* Runs fn inside a transaction (immediate on SQLite when write is true):
 * begin, fn, commit; rolls back when fn fails; retries up to 5 times (6
 * attempts) with a randomized backoff (5-15 ms, doubling) when begin, fn or
 * commit fails with MT_EDB_RETRY, as long as the time spent stays below the
 * connection's lock deadline (SQLite: its lock wait limit, see
 * db_set_timeouts; a lock wait that used it up is not waited again). When
 * the link to the server breaks before COMMIT was sent (the server has then
 * undone the transaction), the connection is opened again in place and the
 * transaction runs once more; a link lost during COMMIT is not retried (the
 * outcome is unknown) and fails with MT_EUNAVAIL. fn must be safe to rerun.
 * A lock wait or statement cut by a limit (MT_ETIMEOUT) is not retried.
 * Called while a
 * transaction is already open, it just runs fn inside it (no retry: the
 * outer db_tx_run retries the whole). Returns 0, or -1 with fn's (or the
 * database's) error; a fn that fails without filling err gives MT_EINTERNAL. */
typedef int (*db_tx_fn)(struct db_conn *c, void *ctx, struct mt_err *err);
int db_tx_run(struct db_conn *c, bool write, db_tx_fn fn, void *ctx, struct mt_err *err);

/* Introspection for the migration engine and the take-over, in the current
 * database (SQLite main, PostgreSQL current_schema(), MariaDB DATABASE()).
 * Lists are malloc'ed arrays that the caller frees with the matching _free
 * function; a table that does not exist gives empty lists. db_indexes
 * leaves out primary-key indexes but lists the indexes behind UNIQUE
 * constraints (SQLite sqlite_autoindex_*) and, on MariaDB, the ones it made
 * for foreign keys; expression columns read "(expression)" on SQLite.
 * db_fkeys gives one entry per column of a foreign key (same name), and the
 * referenced primary key when SQLite's REFERENCES names no column. */
struct db_column {
    char *name;
    char *type;        /* as the database reports it, lower case: "integer", "varchar(255)", "datetime" */
    bool notnull;
    char *dflt;        /* default expression as text, NULL if none */
    bool pk;
};
struct db_index {
    char *name;
    char *table;
    char **columns;    /* in order */
    size_t n_columns;
    bool unique;
};
struct db_fkey {
    char *name;        /* constraint name (may be NULL on SQLite) */
    char *table;
    char *column;
    char *ref_table;
    char *ref_column;
    char *on_delete;   /* "CASCADE", "SET NULL", "NO ACTION", ... upper case */
};
/* User tables of the current database/schema (no sqlite_* internals). */
int db_tables(struct db_conn *c, struct mt_strlist *out, struct mt_err *err);
int db_table_exists(struct db_conn *c, const char *table, bool *exists, struct mt_err *err);
int db_columns(struct db_conn *c, const char *table, struct db_column **out, size_t *n,
               struct mt_err *err);
int db_indexes(struct db_conn *c, const char *table, struct db_index **out, size_t *n,
               struct mt_err *err);
int db_fkeys(struct db_conn *c, const char *table, struct db_fkey **out, size_t *n,
             struct mt_err *err);
void db_columns_free(struct db_column *cols, size_t n);
void db_indexes_free(struct db_index *ix, size_t n);
void db_fkeys_free(struct db_fkey *fk, size_t n);

/* True for a SQLite connection to the in-memory database (sqlite:///:memory:),
 * which has no file: no lock file, no safety copy. */
bool db_sqlite_is_memory(struct db_conn *c);

/* SQLite only (added for the migration engine's safety copy): copies the
 * connection's main database to dest_path with the online backup API, so the
 * copy is consistent even while others write. Fails with MT_EINVAL on other
 * dialects, MT_EDB when the copy fails (a partial dest_path is removed). */
int db_sqlite_backup(struct db_conn *c, const char *dest_path, struct mt_err *err);

/* Connection pool for the HTTP threads: at most size connections, opened
 * lazily; db_pool_get blocks up to wait_ms for a free one (MT_EUNAVAIL on
 * timeout; 0: do not wait; negative: wait without limit), or fails with
 * db_open's error when a new connection cannot be opened. A connection is
 * used by one thread at a time. db_pool_get checks an idle connection
 * without a round trip (has the server closed it, or said goodbye on it?)
 * and replaces a dead one, so that after a server restart requests get
 * fresh connections instead of failing. db_pool_put closes cursors left
 * open, rolls back a transaction left open (logging a warning), lets the
 * driver drop what it still holds for one (SQLite's writer queue) and
 * restores the pool's session limits; a connection whose link broke, or
 * that cannot be made clean, is closed there and a fresh one is opened on a
 * later get. With sqlite:///:memory: every pooled connection sees the one
 * in-memory database of the process. db_pool_new parses url itself;
 * db_pool_new_url copies an already parsed (and adjusted) one.
 * db_pool_free closes the idle connections: call it after all are back. */
struct db_pool;
int db_pool_new(const char *url, int size, struct db_pool **out, struct mt_err *err);
int db_pool_new_url(const struct db_url *u, int size, struct db_pool **out, struct mt_err *err);
/* The session limits (see db_set_timeouts) of the pool's connections; call
 * it before the first db_pool_get. MT_EINVAL for values outside 0..86400000. */
int db_pool_set_timeouts(struct db_pool *p, int statement_ms, int lock_ms, struct mt_err *err);
void db_pool_free(struct db_pool *p);
struct db_conn *db_pool_get(struct db_pool *p, int wait_ms, struct mt_err *err);
void db_pool_put(struct db_pool *p, struct db_conn *c);

#endif
