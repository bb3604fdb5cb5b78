/* The SQLite driver: one sqlite3 handle per connection, opened in WAL mode
 * with a busy timeout, foreign keys on and synchronous=NORMAL. Statements are
 * prepared once with SQLITE_PREPARE_PERSISTENT and reset between runs. The
 * writers of one database file in this process queue on a lock of their own
 * (the writer queue below) rather than in SQLite's sleeping busy handler;
 * sqlite:///:memory: is one in-memory database shared by the whole process.
 * With no server to enforce a request's statement and lock limits, the
 * driver enforces them itself (see "the session limits").
 * Exported as db_sqlite_driver; only db.c refers to it. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "db/db_int.h"

enum {
    DEFAULT_BUSY_TIMEOUT_MS = 5000,
    WAL_PAUSE_MIN_US = 500,   /* first pause between journal-mode switch attempts */
    WAL_PAUSE_MAX_US = 20000, /* the pause doubles up to this */
};

/* What execute left behind for the first db_next. */
enum pending { PENDING_NONE, PENDING_ROW, PENDING_DONE };

struct lite_stmt {
    sqlite3_stmt *h;
    enum pending pending;
    bool queued;           /* holds the writer queue: a write outside a transaction */
    char (*ts)[DB_TS_MAX]; /* per column: canonical timestamp text */
    int nts;
    /* Per column, found once per run: 0 not looked at yet, 1 declared
     * TIMESTAMP / DATETIME, 2 not. Cleared by execute, since a statement
     * that SQLite prepares again after a schema change may see new types. */
    signed char *ts_kind;
    int nkind;
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---------------------------------------------------------------------------
 * The writer queue
 *
 * SQLite lets one writer at a time into a database; the others sleep in its
 * busy handler (1, 2, 5, 10 ... 100 ms) and poll again, so with a few dozen
 * writers queueing some of them sleep far longer than the writes take. The
 * writers of this process therefore wait on a lock of their own, one per
 * database file (found by device and inode, so two paths to one file share
 * it), which hands over the moment the writer before finishes. Readers never
 * take it: WAL lets them read beside the writer. Other processes (a
 * `meditrack db ...` command beside the server) still meet the busy timeout.
 * A condition variable rather than a mutex, because a transaction may be
 * ended on another thread than the one that began it (a pooled connection
 * is rolled back where it is returned).
 * ------------------------------------------------------------------------- */

struct writer_queue {
    dev_t dev;
    ino_t ino; /* the database file; both 0 for the in-memory database */
    int refs;  /* connections using it, under queues_mu */
    bool held; /* a writer is in, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct writer_queue *next;
};

/* Guards the list of queues and the in-memory database's keeper. */
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

static void queue_unref(struct writer_queue *q)
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
        int64_t t0 = now_us();
        int64_t end = t0 + (int64_t)timeout_ms * 1000;
        struct timespec deadline = {.tv_sec = (time_t)(end / 1000000),
                                    .tv_nsec = (long)(end % 1000000) * 1000};
        int rc = 0;
        while (q->held && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&q->cv, &q->mu, &deadline);
        *waited_ms = (int)((now_us() - t0 + 999) / 1000);
    }
    bool entered = !q->held;
    if (entered)
        q->held = true;
    pthread_mutex_unlock(&q->mu);
    return entered;
}

static void queue_leave(struct writer_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->held = false;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* ---------------------------------------------------------------------------
 * Connections
 * ------------------------------------------------------------------------- */

struct lite_conn {
    sqlite3 *db;
    struct writer_queue *wq; /* NULL: the file could not be identified; no queueing */
    bool memory;             /* the process's shared in-memory database */
    bool tx_queued;          /* holds wq for a transaction begun by begin_write */
    bool shortened;          /* the busy timeout is cut by time spent in the queue */
    int base_busy_ms;        /* SQLITE_BUSY_TIMEOUT, from the URL */
    int busy_ms;             /* the lock wait limit in effect (see lite_set_timeouts) */
    int stmt_ms;             /* the session's statement limit, 0: none */
    /* The call into SQLite under way (see call_begin): when it started, and
     * when the progress handler is to cut it (0: never). */
    int64_t call_start_us;
    int64_t call_deadline_us;
    bool interrupted; /* the progress handler cut the call */
};

static struct lite_conn *lite_of(struct db_conn *c)
{
    return c->impl;
}

static sqlite3 *db_of(struct db_conn *c)
{
    return lite_of(c)->db;
}

/* The mt_code of an (extended) SQLite result code, one mapping for
 * statements and sqlite3_exec alike: busy and locked may succeed when run
 * again; a read-only database or a refused permission will not; a full disk
 * is SQLITE_FULL, or a failed write whose errno says so (db may be NULL). */
static enum mt_code code_of(sqlite3 *db, int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return MT_EDB_RETRY;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return MT_EPERM;
    case SQLITE_FULL:
        return MT_ENOSPC;
    case SQLITE_IOERR:
        return db && sqlite3_system_errno(db) == ENOSPC ? MT_ENOSPC : MT_EDB;
    default:
        break;
    }
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
        rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return MT_ECONFLICT;
    return MT_EDB;
}

/* Which setting the lock wait limit in effect comes from, for messages. */
static const char *limit_source(const struct lite_conn *lc)
{
    return lc->busy_ms == lc->base_busy_ms ? "SQLITE_BUSY_TIMEOUT"
                                           : "the session's lock or statement timeout";
}

static int fail_code(struct lite_conn *lc, int rc, const char *what, const char *msg,
                     struct mt_err *err)
{
    enum mt_code code = code_of(lc ? lc->db : NULL, rc);
    int64_t spent_ms = lc && lc->call_start_us ? (now_us() - lc->call_start_us) / 1000 : 0;
    /* Our progress handler cut a call that ran past the statement limit:
     * SQLite undid the statement (and the transaction around a write). */
    if (lc && lc->interrupted && (rc & 0xff) == SQLITE_INTERRUPT)
        return mt_fail(err, MT_ETIMEOUT, "%s: cut after %lld ms (statement limit %d ms)", what,
                       (long long)spent_ms, lc->stmt_ms);
    /* A lock wait that used up the limit (SQLite's busy handler gives up
     * once it has slept that long, so the call took at least as long; the
     * queue's wait counts too) is a timeout: a request's deadline passed.
     * A busy answer that came at once (a stale read snapshot, a deadlock
     * SQLite refuses to wait for) stays retryable. */
    if (lc && (rc & 0xff) == SQLITE_BUSY && rc != SQLITE_BUSY_SNAPSHOT && lc->call_start_us &&
        spent_ms + 2 >= lc->busy_ms)
        return mt_fail(err, MT_ETIMEOUT, "%s: %s (waited %lld ms; lock wait limit %d ms, %s)", what,
                       msg, (long long)spent_ms, lc->busy_ms, limit_source(lc));
    return mt_fail(err, code, "%s: %s", what, msg);
}

static int fail_rc(struct lite_conn *lc, int rc, const char *what, struct mt_err *err)
{
    const char *msg = lc ? sqlite3_errmsg(lc->db) : sqlite3_errstr(rc);
    return fail_code(lc, rc, what, msg, err);
}

/* Takes this process's writer queue of the database, then cuts SQLite's own
 * busy timeout by the time spent queueing, so that queueing and waiting for
 * another process's lock together stay within one busy timeout. */
static int writer_enter(struct lite_conn *lc, struct mt_err *err)
{
    int waited = 0;
    if (!queue_enter(lc->wq, lc->busy_ms, &waited))
        return mt_fail(err, MT_ETIMEOUT,
                       "database is busy: the writers before this one took more than %d ms "
                       "(lock wait limit, %s)",
                       lc->busy_ms, limit_source(lc));
    if (waited > 0) {
        sqlite3_busy_timeout(lc->db, waited < lc->busy_ms ? lc->busy_ms - waited : 1);
        lc->shortened = true;
    }
    return 0;
}

static void restore_busy_timeout(struct lite_conn *lc)
{
    if (lc->shortened) {
        sqlite3_busy_timeout(lc->db, lc->busy_ms);
        lc->shortened = false;
    }
}

/* ---- the session limits ----
 *
 * SQLite has no server to enforce a statement or lock timeout, so the
 * driver does. Every call into SQLite that may wait for a lock or run long
 * is bracketed by call_begin / call_end: the start time tells a lock wait
 * that used up its limit from one that failed at once, and with a
 * statement limit set, SQLite's progress handler (called every
 * PROGRESS_OPS virtual-machine steps) cuts the call once it has run that
 * long. The deadline is cleared between calls, so that a statement
 * prepared long after the last one is never cut by a stale deadline. */

enum { PROGRESS_OPS = 1000 };

static int on_progress(void *ctx)
{
    struct lite_conn *lc = ctx;
    if (lc->call_deadline_us == 0 || now_us() < lc->call_deadline_us)
        return 0;
    lc->interrupted = true;
    return 1;
}

static void call_begin(struct lite_conn *lc)
{
    lc->call_start_us = now_us();
    lc->interrupted = false;
    lc->call_deadline_us = lc->stmt_ms > 0 ? lc->call_start_us + (int64_t)lc->stmt_ms * 1000 : 0;
}

static void call_end(struct lite_conn *lc)
{
    lc->call_start_us = 0;
    lc->call_deadline_us = 0;
}

/* ---- checks before opening a file ---- */

/* The directory part of path ("." for a bare name); malloc'ed. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return mt_xstrdup(".");
    if (slash == path)
        return mt_xstrdup("/");
    return mt_xstrndup(path, (size_t)(slash - path));
}

static bool refused(int e)
{
    return e == EACCES || e == EPERM || e == EROFS;
}

/* Explains a refused access to file, the database at path or one of its
 * companions ("sqlite database", "write-ahead log of sqlite database"). */
static int fail_refused(const char *file, const char *what, const char *path, int e,
                        struct mt_err *err)
{
    struct stat st;
    if (e == EROFS)
        return mt_fail(err, MT_EPERM, "%s \"%s\" is on a read-only file system%s%s%s", what, file,
                       path ? " (database \"" : "", path ? path : "", path ? "\")" : "");
    if (stat(file, &st) == 0)
        return mt_fail(err, MT_EPERM,
                       "%s \"%s\" is not writable by this process: permission denied (owner "
                       "uid %u, mode %04o; running as uid %u)",
                       what, file, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
                       (unsigned)geteuid());
    return mt_fail(err, MT_EPERM, "%s \"%s\" is not writable by this process: %s", what, file,
                   strerror(e));
}

/* The directory must take new files: the database itself when it is new,
 * and SQLite's -wal and -shm files next to it. */
static int check_dir(const char *dir, const char *path, bool db_exists, struct mt_err *err)
{
    if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0 || !refused(errno))
        return 0;
    int e = errno;
    if (e == EROFS)
        return mt_fail(err, MT_EPERM,
                       "directory \"%s\" of sqlite database \"%s\" is on a read-only file system",
                       dir, path);
    struct stat st;
    unsigned uid = 0, mode = 0;
    if (stat(dir, &st) == 0) {
        uid = (unsigned)st.st_uid;
        mode = (unsigned)(st.st_mode & 07777);
    }
    return mt_fail(err, MT_EPERM,
                   "%s sqlite database \"%s\": directory \"%s\" is not writable by this process "
                   "(owner uid %u, mode %04o; running as uid %u)%s",
                   db_exists ? "cannot use" : "cannot create", path, dir, uid, mode,
                   (unsigned)geteuid(),
                   db_exists ? ": SQLite keeps its -wal and -shm files next to the database" : "");
}

/* Finds a database file or directory this process may not write before
 * SQLite does: SQLite would open such a file read-only, or fail with a
 * vague "unable to open database file", and the start-up sequence would
 * retry what no waiting can fix. Other problems are left to SQLite to
 * report. As root, permissions do not apply (only a read-only file system
 * does), as for SQLite itself. */
static int check_access(const char *path, struct mt_err *err)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        int e = errno;
        if (e == EACCES)
            return mt_fail(err, MT_EPERM,
                           "cannot open sqlite database \"%s\": permission denied (a directory on "
                           "its path is not searchable by uid %u)",
                           path, (unsigned)geteuid());
        if (e != ENOENT)
            return 0;
        char *dir = dir_of(path);
        int rc = check_dir(dir, path, false, err);
        free(dir);
        return rc;
    }
    if (!S_ISREG(st.st_mode))
        return 0;
    if (faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) < 0 && refused(errno))
        return fail_refused(path, "sqlite database", NULL, errno, err);
    static const char *const companions[][2] = {{"-wal", "write-ahead log"},
                                                {"-shm", "shared-memory index"}};
    bool missing = false;
    for (size_t i = 0; i < MT_ARRAY_LEN(companions); i++) {
        char *file = mt_xasprintf("%s%s", path, companions[i][0]);
        char *what = mt_xasprintf("%s of sqlite database \"%s\",", companions[i][1], path);
        int rc = 0;
        if (stat(file, &st) < 0)
            missing = missing || errno == ENOENT;
        else if (faccessat(AT_FDCWD, file, R_OK | W_OK, AT_EACCESS) < 0 && refused(errno))
            rc = fail_refused(file, what, NULL, errno, err);
        free(what);
        free(file);
        if (rc < 0)
            return rc;
    }
    if (!missing)
        return 0;
    char *dir = dir_of(path);
    int rc = check_dir(dir, path, true, err);
    free(dir);
    return rc;
}

/* Creates every missing directory above path (mkdir -p of its dirname). */
static int make_parent_dirs(const char *path, struct mt_err *err)
{
    char *dir = mt_xstrdup(path);
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; rc == 0; p++) {
            if (*p != '/' && *p != '\0')
                continue;
            char saved = *p;
            *p = '\0';
            if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                rc = mt_fail(err, refused(errno) ? MT_EPERM : MT_EDB,
                             "cannot create directory \"%s\" for sqlite database \"%s\": %s", dir,
                             path, strerror(errno));
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    free(dir);
    return rc;
}

/* ---- the in-memory database ---- */

/* sqlite:///:memory: would give every connection a database of its own, so
 * the pool's connections would not see the tables the start-up sequence
 * made. Instead every connection opens one named in-memory database of the
 * process (SQLite's memdb VFS: a name starting with '/' is shared within the
 * process, with ordinary locking and busy handling, unlike shared-cache
 * mode), and one connection kept here for the life of the process holds it,
 * because memdb drops the database when its last connection closes. */
static sqlite3 *memory_keeper;

static void memory_name(char *buf, size_t size)
{
    snprintf(buf, size, "file:/meditrack-memory-%ld?vfs=memdb", (long)getpid());
}

static int keep_memory_database(struct mt_err *err)
{
    int rc = SQLITE_OK;
    pthread_mutex_lock(&queues_mu);
    if (!memory_keeper) {
        char name[96];
        memory_name(name, sizeof name);
        rc = sqlite3_open_v2(name, &memory_keeper,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL);
        if (rc != SQLITE_OK) {
            mt_fail(err, MT_EDB, "cannot create the in-memory sqlite database: %s",
                    memory_keeper ? sqlite3_errmsg(memory_keeper) : sqlite3_errstr(rc));
            sqlite3_close(memory_keeper);
            memory_keeper = NULL;
        }
    }
    pthread_mutex_unlock(&queues_mu);
    return rc == SQLITE_OK ? 0 : -1;
}

/* ---- opening ---- */

static int journal_cb(void *ctx, int n, char **vals, char **names)
{
    char *mode = ctx;
    if (n > 0 && vals[0])
        snprintf(mode, 16, "%s", vals[0]);
    return 0;
}

/* Sleeps about us microseconds, randomized by half either way, so that
 * processes that collided do not collide again in step. */
static void jittered_pause(int64_t us)
{
    unsigned r = 0;
    sqlite3_randomness(sizeof r, &r);
    int64_t d = us / 2 + (int64_t)(r % (unsigned)(us > 0 ? us : 1));
    struct timespec ts = {.tv_sec = (time_t)(d / 1000000), .tv_nsec = (long)(d % 1000000) * 1000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Switching a new file to WAL needs a moment of exclusive access, and SQLite
 * does not call the busy handler for it: processes opening a brand-new file
 * together would fail with "database is locked". The switch is retried with
 * short random pauses until the busy timeout has passed. */
static int switch_to_wal(struct lite_conn *lc, const char *path, struct mt_err *err)
{
    int64_t deadline = now_us() + (int64_t)lc->busy_ms * 1000;
    int64_t pause = WAL_PAUSE_MIN_US;
    for (;;) {
        char mode[16] = "";
        int rc = sqlite3_exec(lc->db, "PRAGMA journal_mode = WAL", journal_cb, mode, NULL);
        if (rc == SQLITE_OK) {
            if (strcmp(mode, "wal") != 0)
                mt_log(MT_LOG_WARN, "sqlite database \"%s\" stays in journal mode %s, not wal",
                       path, mode);
            return 0;
        }
        int ext = sqlite3_extended_errcode(lc->db);
        if (code_of(lc->db, ext) != MT_EDB_RETRY || now_us() >= deadline) {
            if ((ext & 0xff) == SQLITE_READONLY || (ext & 0xff) == SQLITE_CANTOPEN)
                return mt_fail(err, MT_EPERM,
                               "cannot switch sqlite database \"%s\" to WAL: %s (the file and "
                               "its directory must be writable by uid %u)",
                               path, sqlite3_errmsg(lc->db), (unsigned)geteuid());
            char what[64 + 4096];
            snprintf(what, sizeof what, "cannot switch sqlite database \"%s\" to WAL", path);
            return fail_rc(lc, ext, what, err);
        }
        jittered_pause(pause);
        pause = pause * 2 < WAL_PAUSE_MAX_US ? pause * 2 : WAL_PAUSE_MAX_US;
    }
}

/* The writer queue of the file db has open. */
static struct writer_queue *file_queue(sqlite3 *db)
{
    const char *file = sqlite3_db_filename(db, "main");
    struct stat st;
    if (!file || !*file || stat(file, &st) < 0)
        return NULL;
    return queue_ref(st.st_dev, st.st_ino);
}

static int lite_open(struct db_conn *c, const struct db_url *u, struct mt_err *err)
{
    const char *path = u->path ? u->path : ":memory:";
    bool memory = strcmp(path, ":memory:") == 0;
    int busy_ms = u->busy_timeout_ms > 0 ? u->busy_timeout_ms : DEFAULT_BUSY_TIMEOUT_MS;
    sqlite3 *db = NULL;
    /* NOMUTEX: a connection is used by one thread at a time (the pool
     * guarantees it), so SQLite's per-connection mutex is not needed. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    char name[96];
    const char *open_name = path;
    if (memory) {
        if (keep_memory_database(err) < 0)
            return -1;
        memory_name(name, sizeof name);
        open_name = name;
        flags |= SQLITE_OPEN_URI;
    } else if (make_parent_dirs(path, err) < 0 || check_access(path, err) < 0) {
        return -1;
    }
    int rc = sqlite3_open_v2(open_name, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        mt_fail(err, MT_EDB, "cannot open sqlite database \"%s\": %s", path,
                db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return -1;
    }
    if (!memory && sqlite3_db_readonly(db, "main") == 1) {
        /* check_access found nothing, yet SQLite could only read it. */
        mt_fail(err, MT_EPERM,
                "sqlite database \"%s\" could only be opened read-only by uid %u: permission "
                "denied",
                path, (unsigned)geteuid());
        sqlite3_close(db);
        return -1;
    }
    struct lite_conn *lc = mt_xcalloc(1, sizeof *lc);
    lc->db = db;
    lc->memory = memory;
    lc->base_busy_ms = busy_ms;
    lc->busy_ms = busy_ms;
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, busy_ms);
    /* Closing the last connection would checkpoint the WAL into the database
     * file and fsync it: tens of milliseconds that every short-lived command
     * (and the start-up sequence's own connection) would pay. The WAL stays
     * and is used by the next connection; automatic checkpoints still run
     * as it grows, so it never grows without bound. */
    sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
    static const char *const pragmas[] = {"PRAGMA foreign_keys = ON",
                                          "PRAGMA synchronous = NORMAL"};
    for (size_t i = 0; i < MT_ARRAY_LEN(pragmas) && rc == SQLITE_OK; i++) {
        rc = sqlite3_exec(db, pragmas[i], NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            fail_rc(lc, rc, "cannot configure the sqlite connection", err);
    }
    if (rc == SQLITE_OK && !memory && switch_to_wal(lc, path, err) < 0)
        rc = SQLITE_ERROR;
    if (rc != SQLITE_OK) {
        sqlite3_close(db);
        free(lc);
        return -1;
    }
    lc->wq = memory ? queue_ref(0, 0) : file_queue(db);
    c->impl = lc;
    c->deadline_ms = busy_ms;
    return 0;
}

static void lite_close(struct db_conn *c)
{
    struct lite_conn *lc = lite_of(c);
    /* Closing ends an open transaction, and with it its turn as writer. */
    if (lc->tx_queued)
        queue_leave(lc->wq);
    queue_unref(lc->wq);
    sqlite3_close(lc->db);
    free(lc);
    c->impl = NULL;
}

static bool lite_is_broken(struct db_conn *c)
{
    return false;
}

static bool lite_tx_active(struct db_conn *c)
{
    return !sqlite3_get_autocommit(db_of(c));
}

/* Runs sql inside a call bracketed by the caller (see call_begin). */
static int exec_in_call(struct lite_conn *lc, const char *sql, struct mt_err *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(lc->db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return 0;
    int ext = sqlite3_extended_errcode(lc->db);
    fail_code(lc, ext, "statement failed", msg ? msg : sqlite3_errstr(rc), err);
    sqlite3_free(msg);
    return -1;
}

static int lite_exec(struct db_conn *c, const char *sql, struct mt_err *err)
{
    struct lite_conn *lc = lite_of(c);
    call_begin(lc);
    int rc = exec_in_call(lc, sql, err);
    call_end(lc);
    return rc;
}

static int lite_begin_write(struct db_conn *c, struct mt_err *err)
{
    struct lite_conn *lc = lite_of(c);
    if (!lc->wq || lc->tx_queued || lite_tx_active(c))
        return lite_exec(c, "BEGIN IMMEDIATE", err);
    /* One call from the queue on: the wait in the queue and in SQLite's
     * busy handler together make the lock wait. */
    call_begin(lc);
    if (writer_enter(lc, err) < 0) {
        call_end(lc);
        return -1;
    }
    int rc = exec_in_call(lc, "BEGIN IMMEDIATE", err);
    call_end(lc);
    restore_busy_timeout(lc);
    if (rc < 0 || !lite_tx_active(c)) {
        queue_leave(lc->wq);
        return rc;
    }
    lc->tx_queued = true;
    return 0;
}

static void lite_tx_finished(struct db_conn *c)
{
    struct lite_conn *lc = lite_of(c);
    if (lc->tx_queued && !lite_tx_active(c)) {
        lc->tx_queued = false;
        queue_leave(lc->wq);
    }
}

/* True when the text after the first statement holds another statement
 * (blanks, semicolons and comments do not count). */
static bool has_more_statements(sqlite3 *db, const char *tail)
{
    sqlite3_stmt *next = NULL;
    if (!tail || !*tail)
        return false;
    int rc = sqlite3_prepare_v2(db, tail, -1, &next, NULL);
    sqlite3_finalize(next);
    return rc != SQLITE_OK || next != NULL;
}

static int lite_prepare(struct db_stmt *st, struct mt_err *err)
{
    struct lite_conn *lc = lite_of(st->conn);
    sqlite3_stmt *h = NULL;
    const char *tail = NULL;
    unsigned flags = st->temp ? 0 : SQLITE_PREPARE_PERSISTENT;
    int rc = sqlite3_prepare_v3(lc->db, st->sql, -1, flags, &h, &tail);
    if (rc != SQLITE_OK) {
        char what[96];
        snprintf(what, sizeof what, "cannot prepare \"%.60s\"", st->sql);
        return fail_rc(lc, rc, what, err);
    }
    if (!h) {
        return mt_fail(err, MT_EINTERNAL, "empty statement \"%.60s\"", st->sql);
    }
    if (has_more_statements(lc->db, tail)) {
        sqlite3_finalize(h);
        return mt_fail(err, MT_EINTERNAL, "more than one statement in \"%.60s\" (use db_exec)",
                       st->sql);
    }
    struct lite_stmt *ls = mt_xcalloc(1, sizeof *ls);
    ls->h = h;
    st->impl = ls;
    return 0;
}

static int bind_one(sqlite3_stmt *h, int k, const struct db_param *p)
{
    switch (p->type) {
    case DB_T_NULL:
        return sqlite3_bind_null(h, k);
    case DB_T_INT:
        return sqlite3_bind_int64(h, k, p->v.i);
    case DB_T_DOUBLE:
        return sqlite3_bind_double(h, k, p->v.d);
    case DB_T_BOOL:
        return sqlite3_bind_int(h, k, p->v.b ? 1 : 0);
    case DB_T_TEXT:
        if (!p->v.s.p)
            return sqlite3_bind_null(h, k);
        return sqlite3_bind_text64(h, k, p->v.s.p, p->v.s.len, SQLITE_TRANSIENT, SQLITE_UTF8);
    case DB_T_BLOB:
        if (!p->v.s.p)
            return sqlite3_bind_null(h, k);
        if (p->v.s.len == 0)
            return sqlite3_bind_zeroblob(h, k, 0);
        return sqlite3_bind_blob64(h, k, p->v.s.p, p->v.s.len, SQLITE_TRANSIENT);
    }
    return SQLITE_MISUSE;
}

/* Gives the writer queue back once a write outside a transaction is over. */
static void stmt_unqueue(struct db_stmt *st)
{
    struct lite_stmt *ls = st->impl;
    if (ls->queued) {
        ls->queued = false;
        queue_leave(lite_of(st->conn)->wq);
    }
}

static int lite_execute(struct db_stmt *st, const struct db_param *p, size_t n, struct mt_err *err)
{
    struct lite_stmt *ls = st->impl;
    struct lite_conn *lc = lite_of(st->conn);
    int want = sqlite3_bind_parameter_count(ls->h);
    if ((size_t)want != n)
        return mt_fail(err, MT_EINTERNAL, "statement \"%.60s\" takes %d parameters, %zu given",
                       st->sql, want, n);
    for (size_t i = 0; i < n; i++) {
        int rc = bind_one(ls->h, (int)i + 1, &p[i]);
        if (rc != SQLITE_OK)
            return fail_rc(lc, rc, "cannot bind a parameter", err);
    }
    if (ls->nkind)
        memset(ls->ts_kind, 0, (size_t)ls->nkind);
    /* A write outside a transaction is a transaction of its own: it queues
     * like one. Inside a transaction begun by db_begin_immediate the queue
     * is already ours; in a deferred one, SQLite's busy timeout applies. */
    call_begin(lc);
    if (lc->wq && !lc->tx_queued && !ls->queued && !sqlite3_stmt_readonly(ls->h) &&
        sqlite3_get_autocommit(lc->db)) {
        if (writer_enter(lc, err) < 0) {
            call_end(lc);
            return -1;
        }
        ls->queued = true;
    }
    int rc = sqlite3_step(ls->h);
    restore_busy_timeout(lc);
    if (rc == SQLITE_ROW) {
        /* Rows of a RETURNING clause: the write is done and committed once
         * they have been read, at db_done. */
        call_end(lc);
        ls->pending = PENDING_ROW;
        return 0;
    }
    stmt_unqueue(st);
    if (rc == SQLITE_DONE) {
        call_end(lc);
        ls->pending = PENDING_DONE;
        return 0;
    }
    fail_rc(lc, rc, "query failed", err);
    call_end(lc);
    return -1;
}

static int lite_step(struct db_stmt *st, struct mt_err *err)
{
    struct lite_stmt *ls = st->impl;
    enum pending pending = ls->pending;
    ls->pending = PENDING_NONE;
    if (pending == PENDING_ROW)
        return 1;
    if (pending == PENDING_DONE)
        return 0;
    struct lite_conn *lc = lite_of(st->conn);
    call_begin(lc);
    int rc = sqlite3_step(ls->h);
    if (rc == SQLITE_ROW) {
        call_end(lc);
        return 1;
    }
    if (rc == SQLITE_DONE) {
        call_end(lc);
        ls->pending = PENDING_DONE;
        return 0;
    }
    fail_rc(lc, rc, "query failed", err);
    call_end(lc);
    return -1;
}

static void lite_reset(struct db_stmt *st)
{
    struct lite_stmt *ls = st->impl;
    sqlite3_reset(ls->h);
    sqlite3_clear_bindings(ls->h);
    ls->pending = PENDING_NONE;
    stmt_unqueue(st);
}

static void lite_finalize(struct db_stmt *st)
{
    struct lite_stmt *ls = st->impl;
    sqlite3_finalize(ls->h);
    stmt_unqueue(st);
    free(ls->ts);
    free(ls->ts_kind);
    free(ls);
    st->impl = NULL;
}

static sqlite3_stmt *h_of(struct db_stmt *st)
{
    return ((struct lite_stmt *)st->impl)->h;
}

static int lite_col_count(struct db_stmt *st)
{
    return sqlite3_column_count(h_of(st));
}

static const char *lite_col_name(struct db_stmt *st, int i)
{
    return sqlite3_column_name(h_of(st), i);
}

static bool lite_col_null(struct db_stmt *st, int i)
{
    return sqlite3_column_type(h_of(st), i) == SQLITE_NULL;
}

static int64_t lite_col_int(struct db_stmt *st, int i)
{
    return sqlite3_column_int64(h_of(st), i);
}

static double lite_col_double(struct db_stmt *st, int i)
{
    return sqlite3_column_double(h_of(st), i);
}

/* SQLite stores timestamps as the text it was given; columns declared
 * TIMESTAMP or DATETIME read back in the canonical form the other dialects
 * return (see db_canon_timestamp). */
static bool is_timestamp_column(struct lite_stmt *ls, int i)
{
    if (i >= ls->nkind) {
        int n = sqlite3_column_count(ls->h);
        if (i >= n)
            return false;
        ls->ts_kind = mt_xrealloc(ls->ts_kind, (size_t)n);
        memset(ls->ts_kind + ls->nkind, 0, (size_t)(n - ls->nkind));
        ls->nkind = n;
    }
    if (ls->ts_kind[i] == 0) {
        const char *decl = sqlite3_column_decltype(ls->h, i);
        bool ts = decl && (strcasestr(decl, "TIMESTAMP") || strcasestr(decl, "DATETIME"));
        ls->ts_kind[i] = ts ? 1 : 2;
    }
    return ls->ts_kind[i] == 1;
}

static const char *canon_ts(struct lite_stmt *ls, int i, const char *p, size_t *len)
{
    if (i >= ls->nts) {
        int n = sqlite3_column_count(ls->h);
        ls->ts = mt_xrealloc(ls->ts, (size_t)n * sizeof *ls->ts);
        ls->nts = n;
    }
    size_t tl = db_canon_timestamp(p, *len, ls->ts[i]);
    if (tl == 0)
        return p;
    *len = tl;
    return ls->ts[i];
}

static const char *lite_col_text(struct db_stmt *st, int i, size_t *len)
{
    sqlite3_stmt *h = h_of(st);
    const char *p;
    if (sqlite3_column_type(h, i) == SQLITE_BLOB) {
        p = sqlite3_column_blob(h, i);
        *len = (size_t)sqlite3_column_bytes(h, i);
        return p ? p : "";
    }
    p = (const char *)sqlite3_column_text(h, i);
    *len = (size_t)sqlite3_column_bytes(h, i);
    if (p && is_timestamp_column(st->impl, i))
        return canon_ts(st->impl, i, p, len);
    return p ? p : "";
}

static int64_t lite_changes(struct db_conn *c)
{
    return sqlite3_changes64(db_of(c));
}

static int lite_last_insert_id(struct db_conn *c, int64_t *out, struct mt_err *err)
{
    *out = sqlite3_last_insert_rowid(db_of(c));
    return 0;
}

/* The session limits on SQLite (see db_set_timeouts and the comment above
 * on_progress): the lock wait limit, which bounds the writer queue and
 * SQLite's busy handler together, is the smallest limit set, since a lock
 * wait is part of a statement; a statement limit also arms the progress
 * handler. Nothing to send anywhere, so this cannot fail. */
static int lite_set_timeouts(struct db_conn *c, int statement_ms, int lock_ms, struct mt_err *err)
{
    (void)err;
    struct lite_conn *lc = lite_of(c);
    int limit = lc->base_busy_ms;
    if (lock_ms > 0 && lock_ms < limit)
        limit = lock_ms;
    if (statement_ms > 0 && statement_ms < limit)
        limit = statement_ms;
    lc->busy_ms = limit;
    lc->shortened = false;
    sqlite3_busy_timeout(lc->db, limit);
    lc->stmt_ms = statement_ms;
    if (statement_ms > 0)
        sqlite3_progress_handler(lc->db, PROGRESS_OPS, on_progress, lc);
    else
        sqlite3_progress_handler(lc->db, 0, NULL, NULL);
    c->deadline_ms = limit;
    return 0;
}

const struct db_driver db_sqlite_driver = {
    .dialect = DB_SQLITE,
    .impl_name = "SQLiteImpl",
    .transactional_ddl = true,
    .begin_sql = "BEGIN",
    .begin_write_sql = "BEGIN IMMEDIATE",
    .open = lite_open,
    .close = lite_close,
    .is_broken = lite_is_broken,
    .set_timeouts = lite_set_timeouts,
    .tx_active = lite_tx_active,
    .begin_write = lite_begin_write,
    .tx_finished = lite_tx_finished,
    .prepare = lite_prepare,
    .execute = lite_execute,
    .step = lite_step,
    .reset = lite_reset,
    .finalize = lite_finalize,
    .col_count = lite_col_count,
    .col_name = lite_col_name,
    .col_null = lite_col_null,
    .col_int = lite_col_int,
    .col_double = lite_col_double,
    .col_text = lite_col_text,
    .changes = lite_changes,
    .last_insert_id = lite_last_insert_id,
    .exec = lite_exec,
    .sql_tables = "SELECT name FROM sqlite_master WHERE type = 'table'"
                  " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    .sql_columns = "SELECT name, type, \"notnull\", dflt_value, pk > 0"
                   " FROM pragma_table_info(?) ORDER BY cid",
    /* Indexes made for UNIQUE constraints (sqlite_autoindex_*, origin 'u')
     * are listed, as PostgreSQL and MariaDB list theirs; the primary key's
     * is not. */
    .sql_indexes = "SELECT il.name, il.\"unique\", ii.name"
                   " FROM pragma_index_list(?) AS il, pragma_index_info(il.name) AS ii"
                   " WHERE il.origin <> 'pk' ORDER BY il.name, ii.seqno",
    .sql_fkeys = "SELECT NULL, \"from\", \"table\", \"to\", on_delete"
                 " FROM pragma_foreign_key_list(?) ORDER BY id, seq",
};

bool db_sqlite_is_memory(struct db_conn *c)
{
    return c && c->drv->dialect == DB_SQLITE && lite_of(c)->memory;
}

/* Added for the migration engine's safety copy (declared in db.h; written by
 * the migrate helper): copies the main database of c to dest_path with the
 * online backup API, so the copy is consistent even while others write. */
int db_sqlite_backup(struct db_conn *c, const char *dest_path, struct mt_err *err)
{
    if (!c || c->drv->dialect != DB_SQLITE)
        return mt_fail(err, MT_EINVAL, "a safety copy needs a SQLite connection");
    sqlite3 *dest = NULL;
    int rc = sqlite3_open_v2(dest_path, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        mt_fail(err, MT_EDB, "cannot create %s: %s", dest_path,
                dest ? sqlite3_errmsg(dest) : sqlite3_errstr(rc));
        sqlite3_close(dest);
        remove(dest_path);
        return -1;
    }
    sqlite3_backup *b = sqlite3_backup_init(dest, "main", db_of(c), "main");
    if (!b) {
        mt_fail(err, MT_EDB, "cannot copy to %s: %s", dest_path, sqlite3_errmsg(dest));
        sqlite3_close(dest);
        remove(dest_path);
        return -1;
    }
    /* Copy everything in one step; a writer holding the lock only delays it
     * (bounded: 500 tries of 10 ms). */
    int tries = 0;
    do {
        rc = sqlite3_backup_step(b, -1);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(10);
    } while ((rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++tries < 500);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        mt_fail(err, rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? MT_EDB_RETRY : MT_EDB,
                "copying the database to %s failed: %s", dest_path, sqlite3_errstr(rc));
        sqlite3_close(dest);
        remove(dest_path);
        return -1;
    }
    if (sqlite3_close(dest) != SQLITE_OK) {
        remove(dest_path);
        return mt_fail(err, MT_EDB, "closing %s failed", dest_path);
    }
    return 0;
}
