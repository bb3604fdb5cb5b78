/* Connections, dialect-independent: picks the driver for a parsed URL,
 * opens and closes connections, applies session limits, and opens a
 * connection whose link broke again in place. Queries and the statement
 * cache are in query.c, transactions in tx.c, what a failure means in
 * fault.c; the drivers (sqlite*.c, postgres.c, mysql.c) talk to the servers. */
#include <stdlib.h>

#include "db/db_int.h"

/* Session limits: a day at most. */
enum { LIMIT_MAX_MS = 86400000 };

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
    db_cache_init(c);
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

void db_close(struct db_conn *c)
{
    if (!c)
        return;
    if (c->drv) {
        db_cache_clear(c);
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

int db_set_timeouts(struct db_conn *c, int statement_ms, int lock_ms, struct mt_err *err)
{
    if (check_limits(statement_ms, lock_ms, err) < 0)
        return -1;
    if (c->drv->set_timeouts && c->drv->set_timeouts(c, statement_ms, lock_ms, err) < 0) {
        db_after_fail(c, err);
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
            db_after_fail(c, err);
            return -1;
        }
        return 0;
    }
    int64_t one = 0;
    if (db_query_int(c, "SELECT 1", NULL, 0, &one, NULL, err) < 0)
        return -1;
    return one == 1 ? 0 : mt_fail(err, MT_EDB, "SELECT 1 answered %lld", (long long)one);
}

int db_conn_reopen(struct db_conn *c, struct mt_err *err)
{
    if (db_any_cursor_open(c))
        return mt_fail(err, MT_EUNAVAIL, "the connection to %s was lost", c->label);
    struct db_url u = c->url;
    u.statement_timeout_ms = c->statement_ms;
    u.lock_timeout_ms = c->lock_ms;
    struct db_conn *fresh = NULL;
    if (db_open(&u, &fresh, err) < 0)
        return -1;
    db_cache_clear(c);
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
