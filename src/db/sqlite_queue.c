/* The SQLite driver's per-file state in this process: the writer queue, on
 * which the writers of one database file wait for a lock of their own that
 * hands over the moment the writer before finishes, instead of sleeping in
 * SQLite's busy handler; and the background checkpointer, which copies the
 * write-ahead log into the database file on a thread of its own instead of
 * inside a committing writer. Used by the driver's transactions (sqlite.c),
 * statements (sqlite_stmt.c) and connections (sqlite_open.c). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/log.h"
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

    /* The checkpointer (see "The background checkpointer" below), under mu. */
    char *path;             /* the file, for the checkpointer's own connection */
    bool ckpt_running;      /* its thread was started and not yet joined */
    bool ckpt_wanted;       /* the log has grown past CHECKPOINT_PAGES since the last pass */
    bool ckpt_stop;         /* the last connection is closing */
    int ckpt_last_rc;       /* the last pass's result, to log a change only once */
    pthread_cond_t ckpt_cv; /* wakes the checkpointer */
    pthread_t ckpt_thread;
};

/* Guards the list of queues. */
static pthread_mutex_t queues_mu = PTHREAD_MUTEX_INITIALIZER;
static struct writer_queue *queues;

static void checkpointer_stop(struct writer_queue *q);

static struct writer_queue *queue_ref(dev_t dev, ino_t ino, const char *path)
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
        mt_cond_init_monotonic(&q->cv);
        pthread_cond_init(&q->ckpt_cv, NULL);
        q->path = path ? mt_xstrdup(path) : NULL;
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
        checkpointer_stop(q);
        pthread_cond_destroy(&q->ckpt_cv);
        free(q->path);
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
        int64_t t0 = mt_mono_us();
        struct timespec deadline = mt_mono_after_ms((uint64_t)timeout_ms);
        int rc = 0;
        while (q->held && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&q->cv, &q->mu, &deadline);
        *waited_ms = (int)((mt_mono_us() - t0 + 999) / 1000);
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
        return queue_ref(0, 0, NULL);
    const char *file = sqlite3_db_filename(db, "main");
    struct stat st;
    if (!file || !*file || stat(file, &st) < 0)
        return NULL;
    return queue_ref(st.st_dev, st.st_ino, file);
}

/* ---- The background checkpointer ----
 *
 * In WAL mode a commit appends to the -wal file, and a checkpoint copies
 * the log back into the database file and syncs it. SQLite's automatic
 * checkpoint runs inside the commit that takes the log past 1,000 pages,
 * so every thousandth-page writer pays a copy and an fsync while it still
 * holds the write lock and the writers queued behind it wait: the long tail
 * of the write path. Instead each connection's WAL hook (which replaces the
 * automatic checkpoint) only notes that the log has grown, and one thread
 * per database file runs a PASSIVE checkpoint on a connection of its own.
 * A passive checkpoint never waits for readers or writers: it copies what
 * no reader still needs and leaves the rest for the next pass, and SQLite
 * starts the log over once a pass has copied all of it. A file whose
 * checkpointer cannot run (its thread or connection failed) falls back to
 * checkpointing in the committing writer, as SQLite would.
 *
 * A passive checkpoint alone lets the log grow without end under steady
 * load: SQLite starts the log over only when a writer finds every frame
 * copied and no reader still reading from the log, and with writes and
 * reads never pausing that moment does not come (measured: an 845 MB log
 * for a 244 KB database after 14 s of record + delete). So when the log
 * has passed RESTART_PAGES, the checkpointer takes this process's writer
 * queue (its writers wait there, not in SQLite's busy handler) and runs a
 * RESTART checkpoint: it copies the rest and waits, briefly, for the
 * readers still reading from the log; the next writer then writes from the
 * start of the file again, which journal_size_limit keeps near its size.
 * Readers are never blocked, writers for about one copy of the last
 * frames. */

enum {
    CHECKPOINT_PAGES = 1000,
    /* 64 MiB of 4 KiB pages, journal_size_limit's size (sqlite_open.c);
     * restarting at 4,000 pages measured no faster and ran more often. */
    RESTART_PAGES = 16000,
    /* How long the restart may wait for the queue and for readers. */
    RESTART_WAIT_MS = 1000,
};

/* The RESTART checkpoint described above, with the writers of this
 * process held in the queue. */
static int restart_log(struct writer_queue *q, sqlite3 *db)
{
    int waited = 0;
    if (!queue_enter(q, RESTART_WAIT_MS, &waited))
        return SQLITE_BUSY;
    int rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_RESTART, NULL, NULL);
    db_lite_queue_leave(q);
    return rc;
}

static void *checkpointer_main(void *arg)
{
    struct writer_queue *q = arg;
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(q->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(db, 1);
        sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
        /* Readers still on the log at a restart get this long to finish. */
        sqlite3_busy_timeout(db, RESTART_WAIT_MS);
        /* A connection reads the file (and finds it in WAL mode) on first
         * use; until then a checkpoint does nothing. */
        rc = sqlite3_exec(db, "PRAGMA schema_version", NULL, NULL, NULL);
    }
    pthread_mutex_lock(&q->mu);
    if (rc != SQLITE_OK) {
        sqlite3_close(db);
        db = NULL;
        mt_log(MT_LOG_WARN,
               "sqlite checkpointer cannot open \"%s\": %s; writers checkpoint the log themselves",
               q->path, sqlite3_errstr(rc));
        q->path[0] = '\0'; /* the WAL hook falls back; this thread only waits to be joined */
    }
    for (;;) {
        while (!q->ckpt_wanted && !q->ckpt_stop)
            pthread_cond_wait(&q->ckpt_cv, &q->mu);
        if (q->ckpt_stop)
            break;
        q->ckpt_wanted = false;
        pthread_mutex_unlock(&q->mu);
        int log_pages = 0, copied = 0;
        rc = db ? sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &log_pages,
                                            &copied)
                : SQLITE_OK;
        if (rc == SQLITE_OK && log_pages >= RESTART_PAGES)
            rc = restart_log(q, db);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != q->ckpt_last_rc)
            mt_log(MT_LOG_WARN, "sqlite checkpoint of \"%s\" failed: %s; it is tried again as "
                                "the log grows",
                   q->path, sqlite3_errstr(rc));
        pthread_mutex_lock(&q->mu);
        q->ckpt_last_rc = rc;
    }
    pthread_mutex_unlock(&q->mu);
    sqlite3_close(db);
    return NULL;
}

/* Starts the thread on first use. Caller holds q->mu. False when it cannot
 * run. */
static bool checkpointer_start(struct writer_queue *q)
{
    if (q->ckpt_running)
        return true;
    if (!q->path || q->ckpt_stop)
        return false;
    if (pthread_create(&q->ckpt_thread, NULL, checkpointer_main, q) != 0) {
        mt_log(MT_LOG_WARN, "cannot start the sqlite checkpointer of \"%s\"; writers "
                            "checkpoint the log themselves",
               q->path);
        q->path[0] = '\0'; /* no second attempt */
        return false;
    }
    q->ckpt_running = true;
    return true;
}

/* Joins the thread. Called with the last reference gone (under queues_mu,
 * which the thread never takes). */
static void checkpointer_stop(struct writer_queue *q)
{
    pthread_mutex_lock(&q->mu);
    bool running = q->ckpt_running;
    q->ckpt_stop = true;
    pthread_cond_signal(&q->ckpt_cv);
    pthread_mutex_unlock(&q->mu);
    if (running)
        pthread_join(q->ckpt_thread, NULL);
}

/* The WAL hook: SQLite calls it after every commit with the log's size in
 * pages. Returns SQLITE_OK, or the checkpoint's result on the fallback. */
static int wal_grew(void *arg, sqlite3 *db, const char *schema, int pages)
{
    struct writer_queue *q = arg;
    if (pages < CHECKPOINT_PAGES)
        return SQLITE_OK;
    pthread_mutex_lock(&q->mu);
    bool handed = q->path && q->path[0] && checkpointer_start(q);
    if (handed) {
        q->ckpt_wanted = true;
        pthread_cond_signal(&q->ckpt_cv);
    }
    pthread_mutex_unlock(&q->mu);
    if (handed)
        return SQLITE_OK;
    int rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return rc == SQLITE_BUSY ? SQLITE_OK : rc;
}

void db_lite_checkpoint_in_background(sqlite3 *db, struct writer_queue *q)
{
    if (q && q->path)
        sqlite3_wal_hook(db, wal_grew, q);
}
