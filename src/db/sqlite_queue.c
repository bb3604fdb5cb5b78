/* The SQLite driver's writer queue: the writers of one database file in
 * this process wait on a lock of their own, which hands over the moment the
 * writer before finishes, instead of sleeping in SQLite's busy handler.
 * Used by the driver's transactions (sqlite.c) and statements
 * (sqlite_stmt.c) through sqlite_int.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "db/sqlite_int.h"

/* SQLite lets one writer at a time into a database; the others sleep in its
 * busy handler (1, 2, 5, 10 ... 100 ms) and poll again, so with a few dozen
 * writers queueing some of them sleep far longer than the writes take. The
 * writers of this process therefore wait on a lock of their own, one per
 * database file (found by device and inode, so two paths to one file share
 * it), which hands over the moment the writer before finishes. Readers never
 * take it: WAL lets them read beside the writer. Other processes (a
 * `meditrack db ...` command beside the server) still meet the busy timeout.
 * A condition variable rather than a mutex, because a transaction may be
 * ended on another thread than the one that began it (a pooled connection
 * is rolled back where it is returned). */

struct writer_queue {
    dev_t dev;
    ino_t ino; /* the database file; both 0 for the in-memory database */
    int refs;  /* connections using it, under queues_mu */
    bool held; /* a writer is in, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct writer_queue *next;
};

/* Guards the list of queues. */
static pthread_mutex_t queues_mu = PTHREAD_MUTEX_INITIALIZER;
static struct writer_queue *queues;

static struct writer_queue *queue_ref(dev_t dev, ino_t ino)
{
    pthread_mutex_lock(&queues_mu);
    struct writer_queue *q = queues;
    while (q && !(q->dev == dev && q->ino == ino))
        q = q->next;
    if (!q) {
        q = mt_xcalloc(1, sizeof *q);
        q->dev = dev;
        q->ino = ino;
        pthread_mutex_init(&q->mu, NULL);
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&q->cv, &attr);
        pthread_condattr_destroy(&attr);
        q->next = queues;
        queues = q;
    }
    q->refs++;
    pthread_mutex_unlock(&queues_mu);
    return q;
}

void db_lite_queue_unref(struct writer_queue *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&queues_mu);
    if (--q->refs == 0) {
        struct writer_queue **pp = &queues;
        while (*pp != q)
            pp = &(*pp)->next;
        *pp = q->next;
        pthread_cond_destroy(&q->cv);
        pthread_mutex_destroy(&q->mu);
        free(q);
    }
    pthread_mutex_unlock(&queues_mu);
}

/* Waits up to timeout_ms for the queue; *waited_ms says how long it took.
 * False when the wait timed out. */
static bool queue_enter(struct writer_queue *q, int timeout_ms, int *waited_ms)
{
    *waited_ms = 0;
    pthread_mutex_lock(&q->mu);
    if (q->held) {
        int64_t t0 = db_lite_mono_us();
        int64_t end = t0 + (int64_t)timeout_ms * 1000;
        struct timespec deadline = {.tv_sec = (time_t)(end / 1000000),
                                    .tv_nsec = (long)(end % 1000000) * 1000};
        int rc = 0;
        while (q->held && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&q->cv, &q->mu, &deadline);
        *waited_ms = (int)((db_lite_mono_us() - t0 + 999) / 1000);
    }
    bool entered = !q->held;
    if (entered)
        q->held = true;
    pthread_mutex_unlock(&q->mu);
    return entered;
}

void db_lite_queue_leave(struct writer_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->held = false;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

int db_lite_writer_enter(struct lite_conn *lc, struct mt_err *err)
{
    int waited = 0;
    if (!queue_enter(lc->wq, lc->busy_ms, &waited))
        return mt_fail(err, MT_ETIMEOUT,
                       "database is busy: the writers before this one took more than %d ms "
                       "(lock wait limit, %s)",
                       lc->busy_ms, db_lite_limit_source(lc));
    if (waited > 0) {
        sqlite3_busy_timeout(lc->db, waited < lc->busy_ms ? lc->busy_ms - waited : 1);
        lc->shortened = true;
    }
    return 0;
}

void db_lite_restore_busy_timeout(struct lite_conn *lc)
{
    if (lc->shortened) {
        sqlite3_busy_timeout(lc->db, lc->busy_ms);
        lc->shortened = false;
    }
}

struct writer_queue *db_lite_queue_of(sqlite3 *db, bool memory)
{
    if (memory)
        return queue_ref(0, 0);
    const char *file = sqlite3_db_filename(db, "main");
    struct stat st;
    if (!file || !*file || stat(file, &st) < 0)
        return NULL;
    return queue_ref(st.st_dev, st.st_ino);
}
