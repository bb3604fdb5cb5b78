/* Transactions: begin, commit and rollback, and db_tx_run, which runs a
 * function inside one and runs it again after a deadlock or serialization
 * failure (with a randomized backoff, within the connection's lock
 * deadline) or, once, on a new session when the link broke before COMMIT. */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "db/db_int.h"

/* The first try and up to five retries. */
enum { TX_MAX_ATTEMPTS = 6 };

static int exec_one(struct db_conn *c, const char *sql, struct mt_err *err)
{
    if (db_refuse_while_streaming(c, err) < 0)
        return -1;
    if (c->drv->exec(c, sql, err) < 0) {
        db_after_fail(c, err);
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
    if (db_refuse_while_streaming(c, err) < 0)
        return -1;
    if (c->drv->begin_write(c, err) < 0) {
        db_after_fail(c, err);
        return -1;
    }
    return 0;
}

size_t db_max_params(const struct db_conn *c)
{
    return c->drv->max_params;
}

int db_begin_snapshot(struct db_conn *c, struct mt_err *err)
{
    /* MariaDB: InnoDB's consistent snapshot, taken at once rather than at
     * the first read, at REPEATABLE READ whatever the server's default. */
    if (c->drv->dialect == DB_MYSQL &&
        exec_one(c, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", err) < 0)
        return -1;
    if (exec_one(c, c->drv->begin_snapshot_sql, err) < 0)
        return -1;
    /* SQLite: a deferred transaction takes its snapshot at its first read,
     * so read at once (WAL lets writers go on meanwhile). */
    if (c->drv->dialect == DB_SQLITE &&
        db_query(c, "SELECT COUNT(*) FROM sqlite_master", NULL, 0, NULL, err) < 0) {
        db_rollback(c, NULL);
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
        uint64_t ns = mt_mono_ns();
        state = (ns << 20) ^ (ns >> 30) ^ (uint64_t)(uintptr_t)&state;
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

int db_tx_run(struct db_conn *c, bool write, db_tx_fn fn, void *ctx, struct mt_err *err)
{
    /* Inside an open transaction, fn is part of it: no retry is possible here,
     * the outer db_tx_run retries the whole. */
    if (db_in_tx(c))
        return fn(c, ctx, err);
    bool reopened = false;
    int64_t t0 = (int64_t)mt_mono_ms();
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
            if (write)
                db_storage_written();
            return 0;
        }
        /* The server undoes a transaction whose session ends before COMMIT,
         * so it can run again, once, on a new session. A link lost during
         * COMMIT leaves the outcome unknown: that is the caller's to report. */
        if (!committing && !reopened && db_link_lost(c, &e)) {
            struct mt_err again;
            mt_err_clear(&again);
            reopened = true;
            if (db_conn_reopen(c, &again) == 0) {
                mt_log(MT_LOG_INFO,
                       "the connection to %s was lost in a transaction; reopened it and retrying",
                       c->label);
                continue;
            }
        }
        /* A lock wait that used up the connection's deadline (SQLite's lock
         * wait limit) is not waited again: the request's deadline has passed. */
        int64_t spent = (int64_t)mt_mono_ms() - t0;
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
