/* Opening and closing SQLite connections: finding a file or directory this
 * process may not write before SQLite does (a clear MT_EPERM instead of a
 * read-only database), creating missing directories, the process's one
 * shared in-memory database, the session settings and the switch to WAL,
 * and the online-backup safety copy. Part of the SQLite driver (sqlite.c
 * holds its table). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "db/sqlite_int.h"

enum {
    DEFAULT_BUSY_TIMEOUT_MS = 5000,
    WAL_PAUSE_MIN_US = 500,   /* first pause between journal-mode switch attempts */
    WAL_PAUSE_MAX_US = 20000, /* the pause doubles up to this */
};

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
static pthread_mutex_t keeper_mu = PTHREAD_MUTEX_INITIALIZER;

static void memory_name(char *buf, size_t size)
{
    snprintf(buf, size, "file:/meditrack-memory-%ld?vfs=memdb", (long)getpid());
}

static int keep_memory_database(struct mt_err *err)
{
    int rc = SQLITE_OK;
    pthread_mutex_lock(&keeper_mu);
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
    pthread_mutex_unlock(&keeper_mu);
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
    int64_t deadline = mt_mono_us() + (int64_t)lc->busy_ms * 1000;
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
        if (db_lite_code(lc->db, ext) != MT_EDB_RETRY || mt_mono_us() >= deadline) {
            if ((ext & 0xff) == SQLITE_READONLY || (ext & 0xff) == SQLITE_CANTOPEN)
                return mt_fail(err, MT_EPERM,
                               "cannot switch sqlite database \"%s\" to WAL: %s (the file and "
                               "its directory must be writable by uid %u)",
                               path, sqlite3_errmsg(lc->db), (unsigned)geteuid());
            char what[64 + 4096];
            snprintf(what, sizeof what, "cannot switch sqlite database \"%s\" to WAL", path);
            return db_lite_fail_rc(lc, ext, what, err);
        }
        jittered_pause(pause);
        pause = pause * 2 < WAL_PAUSE_MAX_US ? pause * 2 : WAL_PAUSE_MAX_US;
    }
}

int db_lite_open(struct db_conn *c, const struct db_url *u, struct mt_err *err)
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
     * and is used by the next connection; checkpoints still run as it grows
     * (in the background, sqlite_queue.c), which also starts it over when it
 * has grown, so it never grows without bound. */
    sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
    /* journal_size_limit: when a writer starts the log over (after the
     * checkpointer's restart, sqlite_queue.c), a file that grew past 64 MiB
     * under a burst is cut back to that instead of keeping its largest size. */
    static const char *const pragmas[] = {"PRAGMA foreign_keys = ON",
                                          "PRAGMA synchronous = NORMAL",
                                          "PRAGMA journal_size_limit = 67108864"};
    for (size_t i = 0; i < MT_ARRAY_LEN(pragmas) && rc == SQLITE_OK; i++) {
        rc = sqlite3_exec(db, pragmas[i], NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            db_lite_fail_rc(lc, rc, "cannot configure the sqlite connection", err);
    }
    if (rc == SQLITE_OK && !memory && switch_to_wal(lc, path, err) < 0)
        rc = SQLITE_ERROR;
    if (rc != SQLITE_OK) {
        sqlite3_close(db);
        free(lc);
        return -1;
    }
    lc->wq = db_lite_queue_of(db, memory);
    db_lite_checkpoint_in_background(db, lc->wq);
    c->impl = lc;
    c->deadline_ms = busy_ms;
    return 0;
}

void db_lite_close(struct db_conn *c)
{
    struct lite_conn *lc = lite_of(c);
    /* Closing ends an open transaction, and with it its turn as writer. */
    if (lc->tx_queued)
        db_lite_queue_leave(lc->wq);
    db_lite_queue_unref(lc->wq);
    sqlite3_close(lc->db);
    free(lc);
    c->impl = NULL;
}

/* ---- the safety copy ---- */

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
    sqlite3_backup *b = sqlite3_backup_init(dest, "main", lite_of(c)->db, "main");
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
