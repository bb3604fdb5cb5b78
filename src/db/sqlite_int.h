/* Internals of the SQLite driver, shared by its files (sqlite.c,
 * sqlite_open.c, sqlite_queue.c, sqlite_stmt.c) and included by nothing
 * else: the driver's connection, the writer queue, the mapping of SQLite's
 * result codes, the calls that bracket every call into SQLite for the
 * session limits, and the functions the driver table in sqlite.c names. */
#ifndef MT_DB_SQLITE_INT_H
#define MT_DB_SQLITE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"
#include "db/db_int.h"

/* One database file's queue of this process's writers (sqlite_queue.c). */
struct writer_queue;

/* The driver's part of a connection (struct db_conn's impl). */
struct lite_conn {
    sqlite3 *db;
    struct writer_queue *wq; /* NULL: the file could not be identified; no queueing */
    bool memory;             /* the process's shared in-memory database */
    bool tx_queued;          /* holds wq for a transaction begun by begin_write */
    bool shortened;          /* the busy timeout is cut by time spent in the queue */
    int base_busy_ms;        /* SQLITE_BUSY_TIMEOUT, from the URL */
    int busy_ms;             /* the lock wait limit in effect (see lite_set_timeouts) */
    int stmt_ms;             /* the session's statement limit, 0: none */
    /* The call into SQLite under way (see db_lite_call_begin): when it
     * started, and when the progress handler is to cut it (0: never). */
    int64_t call_start_us;
    int64_t call_deadline_us;
    bool interrupted; /* the progress handler cut the call */
};

static inline struct lite_conn *lite_of(struct db_conn *c)
{
    return c->impl;
}

/* ---- sqlite.c: errors, session limits, transactions ---- */

/* The mt_code of an (extended) SQLite result code, one mapping for
 * statements and sqlite3_exec alike: busy and locked may succeed when run
 * again; a read-only database or a refused permission will not; a full disk
 * is SQLITE_FULL, or a failed write whose errno says so (db may be NULL). */
enum mt_code db_lite_code(sqlite3 *db, int rc);
/* Which setting the lock wait limit in effect comes from, for messages. */
const char *db_lite_limit_source(const struct lite_conn *lc);
/* Fails with the code of rc and "what: msg", or with MT_ETIMEOUT when the
 * call was cut by the statement limit or waited out the lock wait limit
 * (lc may be NULL before a connection exists). Returns -1. */
int db_lite_fail_code(struct lite_conn *lc, int rc, const char *what, const char *msg,
                      struct mt_err *err);
/* db_lite_fail_code with SQLite's message for rc. */
int db_lite_fail_rc(struct lite_conn *lc, int rc, const char *what, struct mt_err *err);
/* Bracket every call into SQLite that may wait for a lock or run long: the
 * start time tells a lock wait that used up its limit from one that failed
 * at once, and with a statement limit set the progress handler cuts the
 * call once it has run that long. */
void db_lite_call_begin(struct lite_conn *lc);
void db_lite_call_end(struct lite_conn *lc);
bool db_lite_tx_active(struct db_conn *c);

/* ---- sqlite_queue.c: the writer queue ---- */

/* The queue of the database db has open (memory: the in-memory database's),
 * with a reference taken; NULL when the file cannot be identified. */
struct writer_queue *db_lite_queue_of(sqlite3 *db, bool memory);
/* Drops a reference; NULL is allowed. */
void db_lite_queue_unref(struct writer_queue *q);
/* Ends this writer's turn. */
void db_lite_queue_leave(struct writer_queue *q);
/* Takes this process's writer queue of the database, then cuts SQLite's own
 * busy timeout by the time spent queueing, so that queueing and waiting for
 * another process's lock together stay within one busy timeout. Fails with
 * MT_ETIMEOUT when the writers before took the whole lock wait limit. */
int db_lite_writer_enter(struct lite_conn *lc, struct mt_err *err);
/* Gives SQLite back the full busy timeout after db_lite_writer_enter cut it. */
void db_lite_restore_busy_timeout(struct lite_conn *lc);
/* Hands db's WAL checkpoints to the background checkpointer of its file
 * (q from db_lite_queue_of; nothing for the in-memory database or NULL). */
void db_lite_checkpoint_in_background(sqlite3 *db, struct writer_queue *q);

/* ---- sqlite_open.c: opening and closing ---- */

int db_lite_open(struct db_conn *c, const struct db_url *u, struct mt_err *err);
void db_lite_close(struct db_conn *c);

/* ---- sqlite_stmt.c: statements and columns ---- */

int db_lite_prepare(struct db_stmt *st, struct mt_err *err);
int db_lite_execute(struct db_stmt *st, const struct db_param *p, size_t n, struct mt_err *err);
int db_lite_step(struct db_stmt *st, struct mt_err *err);
void db_lite_reset(struct db_stmt *st);
void db_lite_finalize(struct db_stmt *st);
int db_lite_col_count(struct db_stmt *st);
const char *db_lite_col_name(struct db_stmt *st, int i);
bool db_lite_col_null(struct db_stmt *st, int i);
int64_t db_lite_col_int(struct db_stmt *st, int i);
double db_lite_col_double(struct db_stmt *st, int i);
const char *db_lite_col_text(struct db_stmt *st, int i, size_t *len);

#endif
