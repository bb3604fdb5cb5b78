/* The connection pool of the HTTP threads: at most `size` connections,
 * opened lazily, handed to one thread at a time under a mutex and condition
 * variable, each with the pool's session limits. A connection that comes
 * back broken or unclean (or is found dead when it is taken: the server
 * restarted or killed it) is closed and replaced by a fresh one. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "db/db_int.h"

struct db_pool {
    struct db_url url;
    int size;
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* signalled when a connection or a slot frees up */
    struct db_conn **idle; /* connections nobody holds */
    int n_idle;
    int n_open; /* idle + held + being opened */
};

int db_pool_new(const char *url, int size, struct db_pool **out, struct mt_err *err)
{
    struct db_url u;
    if (db_url_parse(url, &u, err) < 0)
        return -1;
    int rc = db_pool_new_url(&u, size, out, err);
    db_url_release(&u);
    return rc;
}

int db_pool_new_url(const struct db_url *u, int size, struct db_pool **out, struct mt_err *err)
{
    if (size < 1)
        return mt_fail(err, MT_EINVAL, "the pool size must be at least 1, got %d", size);
    struct db_pool *p = mt_xcalloc(1, sizeof *p);
    db_url_copy(&p->url, u);
    p->size = size;
    p->idle = mt_xcalloc((size_t)size, sizeof *p->idle);
    mt_cond_init_monotonic(&p->cv);
    pthread_mutex_init(&p->mu, NULL);
    *out = p;
    return 0;
}

int db_pool_set_timeouts(struct db_pool *p, int statement_ms, int lock_ms, struct mt_err *err)
{
    if (statement_ms < 0 || statement_ms > 86400000 || lock_ms < 0 || lock_ms > 86400000)
        return mt_fail(err, MT_EINVAL, "database timeouts must be from 0 to 86400000 ms");
    pthread_mutex_lock(&p->mu);
    p->url.statement_timeout_ms = statement_ms;
    p->url.lock_timeout_ms = lock_ms;
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void db_pool_free(struct db_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_idle; i++)
        db_close(p->idle[i]);
    free(p->idle);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    db_url_release(&p->url);
    free(p);
}

/* Gives up a slot taken for a connection that could not be (re)opened. */
static void drop_slot(struct db_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->n_open--;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

struct db_conn *db_pool_get(struct db_pool *p, int wait_ms, struct mt_err *err)
{
    struct timespec deadline = mt_mono_after_ms(wait_ms > 0 ? (uint64_t)wait_ms : 0);
    struct db_conn *c = NULL;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->n_idle > 0) {
            c = p->idle[--p->n_idle];
            break;
        }
        if (p->n_open < p->size) {
            p->n_open++;
            break;
        }
        int rc = 0;
        if (wait_ms < 0)
            rc = pthread_cond_wait(&p->cv, &p->mu);
        else if (wait_ms > 0)
            rc = pthread_cond_timedwait(&p->cv, &p->mu, &deadline);
        if (wait_ms == 0 || rc == ETIMEDOUT) {
            pthread_mutex_unlock(&p->mu);
            mt_fail(err, MT_EUNAVAIL, "no database connection free after %d ms (pool of %d)",
                    wait_ms, p->size);
            return NULL;
        }
    }
    pthread_mutex_unlock(&p->mu);
    /* Opening happens outside the lock: it may take a network round trip. */
    if (c && db_conn_broken(c)) {
        mt_log(MT_LOG_INFO, "reopening a broken database connection to %s", db_conn_label(c));
        db_close(c);
        c = NULL;
    }
    if (!c && db_open(&p->url, &c, err) < 0) {
        /* Whatever the driver made of it, a server that does not take a
         * connection now is unavailable to the requester; only a refused
         * login, a missing database or a bad URL keep their codes. */
        if (err && err->code == MT_EDB)
            err->code = MT_EUNAVAIL;
        drop_slot(p);
        return NULL;
    }
    return c;
}

void db_pool_put(struct db_pool *p, struct db_conn *c)
{
    if (!c)
        return;
    db_conn_release_cursors(c);
    /* Only what the request found out counts here (a failed statement flags
     * a lost link); the socket is looked at when the connection is taken
     * again, which is when it matters. */
    if (!c->broken) {
        struct mt_err err;
        if (db_in_tx(c))
            mt_log(MT_LOG_WARN, "a pooled connection came back inside a transaction; rolling back");
        /* Outside a transaction this only lets the driver drop what it
         * still holds for one (SQLite's writer queue). */
        if (db_rollback(c, &err) < 0)
            c->broken = true;
    }
    /* A handler may have raised the limits for one long request. */
    if (!c->broken &&
        (c->statement_ms != p->url.statement_timeout_ms || c->lock_ms != p->url.lock_timeout_ms)) {
        struct mt_err err;
        if (db_set_timeouts(c, p->url.statement_timeout_ms, p->url.lock_timeout_ms, &err) < 0) {
            mt_log(MT_LOG_WARN, "cannot restore the session timeouts; closing the connection: %s",
                   err.msg);
            c->broken = true;
        }
    }
    if (c->broken) {
        db_close(c);
        drop_slot(p);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->idle[p->n_idle++] = c;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}
