/* The migration lock: one process at a time may migrate a database, the
 * others wait (bounded) and then find nothing to do. PostgreSQL uses a
 * session advisory lock on MIG_PG_LOCK_KEY, MariaDB GET_LOCK, SQLite flock()
 * on a lock file next to the database file; the server or the kernel drops
 * each of them when the holder dies, so a killed run never leaves one behind.
 * While waiting, the log says every few seconds who holds the lock. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "migrate/mig_int.h"

/* How often a waiting process polls, and how often it logs the holder. */
#define POLL_MS 25
#define REPORT_MS 5000

/* Locks held by this process. The engine is single-threaded per process, and
 * a handful of connections is plenty. */
static struct held {
    struct db_conn *c;
    int depth;
    int fd;        /* SQLite lock file, -1 otherwise */
    char name[80]; /* MariaDB lock name */
} held[8];

static struct held *find_held(struct db_conn *c)
{
    for (size_t i = 0; i < MT_ARRAY_LEN(held); i++)
        if (held[i].c == c && held[i].depth > 0)
            return &held[i];
    return NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int mig_sqlite_path(struct db_conn *c, char **out, struct mt_err *err)
{
    struct db_stmt *st;
    *out = NULL;
    /* The shared in-memory database has a name that looks like a path. */
    if (db_sqlite_is_memory(c))
        return 0;
    if (db_query(c, "PRAGMA database_list", NULL, 0, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    while (rc == 1) {
        const char *name = db_col_text(st, 1, NULL);
        const char *file = db_col_text(st, 2, NULL);
        if (name && strcmp(name, "main") == 0 && file && *file) {
            *out = mt_xstrdup(file);
        }
        rc = db_next(st, err);
    }
    db_done(st);
    return rc < 0 ? -1 : 0;
}

/* ---- SQLite: flock on "<db>-migrate.lock" -------------------------------- */

static void read_holder_file(int fd, char *buf, size_t size)
{
    ssize_t n = pread(fd, buf, size - 1, 0);
    if (n <= 0) {
        snprintf(buf, size, "another process (it has not written its pid yet)");
        return;
    }
    buf[n] = '\0';
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = '\0';
}

static int lock_sqlite(struct db_conn *c, int timeout_s, mig_log_fn log, void *log_ctx, int *fdp,
                       struct mt_err *err)
{
    char *path;
    *fdp = -1;
    if (mig_sqlite_path(c, &path, err) < 0)
        return -1;
    if (!path)
        return 0; /* :memory: or a temporary database: nobody else can see it */
    char *lockpath = mt_xasprintf("%s-migrate.lock", path);
    free(path);
    int fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        int rc =
            mt_fail(err, MT_EDB, "cannot open the lock file %s: %s", lockpath, strerror(errno));
        free(lockpath);
        return rc;
    }
    int64_t start = mig_now_ms(), next_report = start;
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            int rc = mt_fail(err, MT_EDB, "cannot lock %s: %s", lockpath, strerror(errno));
            close(fd);
            free(lockpath);
            return rc;
        }
        int64_t now = mig_now_ms();
        char holder[200];
        if (now - start >= (int64_t)timeout_s * 1000) {
            read_holder_file(fd, holder, sizeof(holder));
            int rc = mt_fail(err, MT_EUNAVAIL,
                             "gave up after %d s waiting for the migration lock %s, held by %s",
                             timeout_s, lockpath, holder);
            close(fd);
            free(lockpath);
            return rc;
        }
        if (now >= next_report) {
            read_holder_file(fd, holder, sizeof(holder));
            mig_log_with(log, log_ctx, MT_LOG_INFO,
                         "Waiting for the migration lock %s, held by %s (up to %d s)", lockpath,
                         holder, timeout_s);
            next_report = now + REPORT_MS;
        }
        sleep_ms(POLL_MS);
    }
    char host[128] = "unknown", since[40], line[300];
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    mig_utc_now(since, sizeof(since));
    int n =
        snprintf(line, sizeof(line), "pid %ld on host %s since %s\n", (long)getpid(), host, since);
    /* The holder's note is informational; a failed write does not matter. */
    if (ftruncate(fd, 0) == 0 && n > 0 && pwrite(fd, line, (size_t)n, 0) < 0)
        line[0] = '\0';
    free(lockpath);
    *fdp = fd;
    return 0;
}

/* ---- PostgreSQL: advisory lock ------------------------------------------- */

static void pg_holder(struct db_conn *c, char *buf, size_t size)
{
    struct mt_err err = {0};
    struct db_stmt *st;
    int64_t key = MIG_PG_LOCK_KEY;
    struct db_param p[] = {DB_INT((key >> 32) & 0xffffffff), DB_INT(key & 0xffffffff)};
    snprintf(buf, size, "another session");
    if (db_query(c,
                 "SELECT a.pid, COALESCE(a.application_name, ''), "
                 "COALESCE(host(a.client_addr), 'local socket'), "
                 "COALESCE(to_char(a.backend_start AT TIME ZONE 'UTC', "
                 "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '') "
                 "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                 "WHERE l.locktype = 'advisory' AND l.granted "
                 "AND l.database = (SELECT oid FROM pg_database WHERE datname = "
                 "current_database()) "
                 "AND l.classid::bigint = CAST(? AS bigint) AND l.objid::bigint = CAST(? AS "
                 "bigint) AND l.objsubid = 1",
                 p, 2, &st, &err) < 0)
        return;
    if (db_next(st, &err) == 1) {
        const char *app = db_col_text(st, 1, NULL), *addr = db_col_text(st, 2, NULL),
                   *since = db_col_text(st, 3, NULL);
        snprintf(buf, size, "backend pid %lld (application \"%s\", client %s, connected %s)",
                 (long long)db_col_int(st, 0), app ? app : "", addr ? addr : "",
                 since ? since : "");
    }
    db_done(st);
}

static int lock_pg(struct db_conn *c, int timeout_s, mig_log_fn log, void *log_ctx,
                   struct mt_err *err)
{
    int64_t start = mig_now_ms(), next_report = start;
    struct db_param p[] = {DB_INT(MIG_PG_LOCK_KEY)};
    for (;;) {
        int64_t got;
        if (db_query_int(c, "SELECT pg_try_advisory_lock(CAST(? AS bigint))", p, 1, &got, NULL,
                         err) < 0)
            return -1;
        if (got)
            return 0;
        int64_t now = mig_now_ms();
        char holder[300];
        if (now - start >= (int64_t)timeout_s * 1000) {
            pg_holder(c, holder, sizeof(holder));
            return mt_fail(err, MT_EUNAVAIL,
                           "gave up after %d s waiting for the migration lock (advisory lock "
                           "%" PRId64 "), held by %s",
                           timeout_s, (int64_t)MIG_PG_LOCK_KEY, holder);
        }
        if (now >= next_report) {
            pg_holder(c, holder, sizeof(holder));
            mig_log_with(log, log_ctx, MT_LOG_INFO,
                         "Waiting for the migration lock (advisory lock %" PRId64
                         "), held by %s (up to %d s)",
                         (int64_t)MIG_PG_LOCK_KEY, holder, timeout_s);
            next_report = now + REPORT_MS;
        }
        sleep_ms(POLL_MS * 4);
    }
}

/* ---- MariaDB: GET_LOCK ---------------------------------------------------- */

/* "meditrack_migrate:<database>" (GET_LOCK names are at most 64 characters). */
static int mysql_lock_name(struct db_conn *c, char *buf, size_t size, struct mt_err *err)
{
    char *db = NULL;
    if (db_query_text(c, "SELECT DATABASE()", NULL, 0, &db, err) < 0)
        return -1;
    if (!db)
        db = mt_xstrdup("");
    if (strlen(MIG_MYSQL_LOCK_NAME) + strlen(db) <= 64) {
        snprintf(buf, size, "%s%s", MIG_MYSQL_LOCK_NAME, db);
    } else {
        char sum[MIG_CHECKSUM_LEN];
        mig_checksum(db, sum);
        snprintf(buf, size, "%s%s", MIG_MYSQL_LOCK_NAME, sum);
    }
    free(db);
    return 0;
}

static void mysql_holder(struct db_conn *c, const char *name, char *buf, size_t size)
{
    struct mt_err err = {0};
    struct db_param p[] = {DB_TEXT(name)};
    int64_t id;
    bool found;
    snprintf(buf, size, "another connection");
    if (db_query_int(c, "SELECT IS_USED_LOCK(?)", p, 1, &id, &found, &err) < 0 || !found)
        return;
    snprintf(buf, size, "connection %lld", (long long)id);
    struct db_param q[] = {DB_INT(id)};
    struct db_stmt *st;
    if (db_query(c,
                 "SELECT USER, HOST, COALESCE(COMMAND, ''), COALESCE(TIME, 0) "
                 "FROM information_schema.PROCESSLIST WHERE ID = ?",
                 q, 1, &st, &err) < 0)
        return;
    if (db_next(st, &err) == 1) {
        const char *user = db_col_text(st, 0, NULL), *host = db_col_text(st, 1, NULL),
                   *cmd = db_col_text(st, 2, NULL);
        snprintf(buf, size, "connection %lld (%s@%s, %s for %lld s)", (long long)id,
                 user ? user : "", host ? host : "", cmd ? cmd : "", (long long)db_col_int(st, 3));
    }
    db_done(st);
}

static int lock_mysql(struct db_conn *c, int timeout_s, mig_log_fn log, void *log_ctx,
                      char name[80], struct mt_err *err)
{
    if (mysql_lock_name(c, name, 80, err) < 0)
        return -1;
    int64_t deadline = mig_now_ms() + (int64_t)timeout_s * 1000;
    for (int attempt = 0;; attempt++) {
        /* The first try does not wait; later ones wait inside GET_LOCK in
         * slices so that the holder report keeps coming. */
        int64_t left = deadline - mig_now_ms();
        int64_t slice = 0;
        if (attempt > 0 && left > 0)
            slice = left < REPORT_MS ? (left + 999) / 1000 : REPORT_MS / 1000;
        struct db_param p[] = {DB_TEXT(name), DB_INT(slice)};
        int64_t got;
        bool found;
        if (db_query_int(c, "SELECT GET_LOCK(?, ?)", p, 2, &got, &found, err) < 0)
            return -1;
        if (!found)
            return mt_fail(err, MT_EDB, "GET_LOCK('%s') failed", name);
        if (got == 1)
            return 0;
        char holder[300];
        if (mig_now_ms() >= deadline) {
            mysql_holder(c, name, holder, sizeof(holder));
            return mt_fail(err, MT_EUNAVAIL,
                           "gave up after %d s waiting for the migration lock GET_LOCK('%s'), "
                           "held by %s",
                           timeout_s, name, holder);
        }
        mysql_holder(c, name, holder, sizeof(holder));
        mig_log_with(log, log_ctx, MT_LOG_INFO,
                     "Waiting for the migration lock GET_LOCK('%s'), held by %s (up to %d s)", name,
                     holder, timeout_s);
    }
}

/* ---- public --------------------------------------------------------------- */

int mig_lock_acquire(struct db_conn *c, int timeout_s, mig_log_fn log, void *log_ctx,
                     struct mt_err *err)
{
    struct held *h = find_held(c);
    if (h) {
        h->depth++;
        return 0;
    }
    for (size_t i = 0; i < MT_ARRAY_LEN(held) && !h; i++)
        if (held[i].depth == 0)
            h = &held[i];
    if (!h)
        return mt_fail(err, MT_ELIMIT, "too many migration locks held by one process");
    if (timeout_s < 0)
        timeout_s = 0;
    int fd = -1, rc;
    switch (db_conn_dialect(c)) {
    case DB_SQLITE:
        rc = lock_sqlite(c, timeout_s, log, log_ctx, &fd, err);
        break;
    case DB_POSTGRES:
        rc = lock_pg(c, timeout_s, log, log_ctx, err);
        break;
    case DB_MYSQL:
        rc = lock_mysql(c, timeout_s, log, log_ctx, h->name, err);
        break;
    default:
        rc = mt_fail(err, MT_EINTERNAL, "unknown dialect");
    }
    if (rc < 0)
        return -1;
    h->c = c;
    h->depth = 1;
    h->fd = fd;
    return 0;
}

void mig_lock_release(struct db_conn *c)
{
    struct held *h = find_held(c);
    if (!h || --h->depth > 0)
        return;
    struct mt_err err = {0};
    switch (db_conn_dialect(c)) {
    case DB_SQLITE:
        if (h->fd >= 0) {
            /* Closing the descriptor drops the flock; the file stays for the next run. */
            close(h->fd);
        }
        break;
    case DB_POSTGRES: {
        struct db_param p[] = {DB_INT(MIG_PG_LOCK_KEY)};
        if (db_query(c, "SELECT pg_advisory_unlock(CAST(? AS bigint))", p, 1, NULL, &err) < 0)
            mt_log(MT_LOG_WARN, "releasing the migration lock failed: %s", err.msg);
        break;
    }
    case DB_MYSQL: {
        struct db_param p[] = {DB_TEXT(h->name)};
        if (db_query(c, "SELECT RELEASE_LOCK(?)", p, 1, NULL, &err) < 0)
            mt_log(MT_LOG_WARN, "releasing the migration lock failed: %s", err.msg);
        break;
    }
    }
    h->c = NULL;
    h->fd = -1;
}
