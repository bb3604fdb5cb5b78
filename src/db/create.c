/* Creating the database a DATABASE_URL names, for the start-up sequence's
 * DB_CREATE=true: on PostgreSQL through the server's maintenance database, on
 * MariaDB through a connection without a default database. It uses only the
 * public interface of db.h, so it works the same for every driver. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db/db.h"

/* How often a failed CREATE DATABASE is retried: PostgreSQL refuses to copy
 * template1 while another session (a concurrent replica doing the same) is
 * connected to it, which passes by itself. */
#define CREATE_TRIES 10
#define CREATE_PAUSE_MS 200

/* A database name can only be spliced into CREATE DATABASE as a quoted
 * identifier (no placeholders for names), so only a conservative set of
 * characters is accepted; anything else is created by hand. */
static bool name_is_plain(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 63)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static void pause_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int database_exists(struct db_conn *c, const char *name, bool *exists, struct mt_err *err)
{
    const char *sql =
        db_conn_dialect(c) == DB_POSTGRES
            ? "SELECT COUNT(*) FROM pg_database WHERE datname = ?"
            : "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?";
    struct db_param p[] = {DB_TEXT(name)};
    int64_t n = 0;
    if (db_query_int(c, sql, p, 1, &n, NULL, err) < 0)
        return -1;
    *exists = n > 0;
    return 0;
}

/* Connects to the server without the missing database: PostgreSQL's
 * "postgres" maintenance database (or template1 where it was dropped),
 * MariaDB's no-default-database session. */
static int open_server(const struct db_url *u, struct db_conn **out, struct mt_err *err)
{
    struct db_url server = *u; /* shallow: only dbname changes, nothing is freed */
    if (u->dialect == DB_MYSQL) {
        server.dbname = NULL;
        return db_open(&server, out, err);
    }
    char maintenance[] = "postgres";
    server.dbname = maintenance;
    if (db_open(&server, out, err) == 0)
        return 0;
    if (err->code != MT_ENODB)
        return -1;
    char fallback[] = "template1";
    server.dbname = fallback;
    return db_open(&server, out, err);
}

int db_create_database(const struct db_url *u, bool *created, struct mt_err *err)
{
    *created = false;
    if (u->dialect == DB_SQLITE)
        return 0; /* db_open creates the file and its directory */
    if (!u->dbname || !*u->dbname)
        return mt_fail(err, MT_EINVAL, "DATABASE_URL names no database to create");
    if (!name_is_plain(u->dbname))
        return mt_fail(err, MT_EINVAL,
                       "database name \"%s\" is not created automatically (only letters, digits, "
                       "_ and -, at most 63): create it by hand",
                       u->dbname);

    struct db_conn *c = NULL;
    if (open_server(u, &c, err) < 0)
        return mt_err_wrap(err, "cannot reach the server to create database \"%s\"", u->dbname);

    char sql[160];
    if (u->dialect == DB_POSTGRES)
        snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", u->dbname);
    else
        snprintf(sql, sizeof(sql),
                 "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 COLLATE "
                 "utf8mb4_unicode_ci",
                 u->dbname);

    int rc = -1;
    bool failed_check = false;
    struct mt_err last = {0};
    for (int attempt = 0; attempt < CREATE_TRIES; attempt++) {
        bool exists = false;
        if (database_exists(c, u->dbname, &exists, err) < 0) {
            failed_check = true;
            break;
        }
        if (exists) {
            rc = 0;
            break;
        }
        if (attempt > 0)
            pause_ms(CREATE_PAUSE_MS);
        if (db_exec(c, sql, &last) == 0) {
            *created = true;
            rc = 0;
            break;
        }
        /* Another process may have created it meanwhile: the next round's
         * existence check decides. */
    }
    if (rc < 0 && !failed_check)
        mt_fail(err, last.code ? last.code : MT_EDB, "cannot create database \"%s\": %s", u->dbname,
                last.msg);
    db_close(c);
    return rc;
}
