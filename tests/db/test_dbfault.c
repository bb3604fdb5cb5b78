/* Tests of the database layer's fault handling against the dialect of
 * MT_TEST_DATABASE_URL: session timeouts (a real lock held by a second
 * connection, a slow statement), a transaction cut by one is rolled back and
 * the connection stays usable; connections that the server killed are
 * opened again in place (reads and whole transactions rerun, a lone write
 * does not) and replaced by the pool; a client-side bounded ping against a
 * frozen backend. Cases that need a server are skipped on SQLite with a
 * note. */
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "dbcheck.h"

static enum db_dialect dialect;
static char *test_url;

static const char *pick(const char *pg, const char *my)
{
    return dialect == DB_POSTGRES ? pg : my;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct db_conn *open_conn(int statement_ms, int lock_ms)
{
    struct db_url u;
    struct db_conn *c = NULL;
    MUST(db_url_parse(test_url, &u, &E));
    u.statement_timeout_ms = statement_ms;
    u.lock_timeout_ms = lock_ms;
    MUST(db_open(&u, &c, &E));
    db_url_release(&u);
    if (!c) {
        fprintf(stderr, "cannot go on without a connection\n");
        exit(1);
    }
    return c;
}

static int64_t query_int(struct db_conn *c, const char *sql)
{
    int64_t v = -1;
    MUST(db_query_int(c, sql, NULL, 0, &v, NULL, &E));
    return v;
}

/* ---- limits ---- */

static void test_limits_checked(void)
{
    struct db_conn *c = open_conn(0, 0);
    MUST_FAIL(db_set_timeouts(c, -1, 0, &E), MT_EINVAL);
    MUST_FAIL(db_set_timeouts(c, 0, 86400001, &E), MT_EINVAL);
    MUST(db_set_timeouts(c, 1500, 2500, &E));
    if (dialect == DB_POSTGRES) {
        char *v = NULL;
        MUST(db_query_text(c, "SELECT current_setting('statement_timeout')", NULL, 0, &v, &E));
        CHECK_STR(v, "1500ms");
        free(v);
        MUST(db_query_text(c, "SELECT current_setting('lock_timeout')", NULL, 0, &v, &E));
        CHECK_STR(v, "2500ms");
        free(v);
    } else if (dialect == DB_MYSQL) {
        /* Lock waits count in whole seconds there: 2500 ms rounds up to 3. */
        CHECK_EQ(query_int(c, "SELECT @@SESSION.innodb_lock_wait_timeout"), 3);
        CHECK_EQ(query_int(c, "SELECT @@SESSION.lock_wait_timeout"), 3);
        CHECK_EQ(query_int(c, "SELECT CAST(@@SESSION.max_statement_time * 1000 AS INTEGER)"), 1500);
        MUST(db_set_timeouts(c, 0, 0, &E));
        CHECK_EQ(query_int(c, "SELECT @@SESSION.innodb_lock_wait_timeout = "
                              "@@GLOBAL.innodb_lock_wait_timeout"),
                 1);
        CHECK_EQ(query_int(c, "SELECT @@SESSION.max_statement_time = 0"), 1);
    }
    MUST(db_ping(c, 1000, &E));
    db_close(c);

    struct db_pool *p = NULL;
    MUST(db_pool_new(test_url, 1, &p, &E));
    MUST_FAIL(db_pool_set_timeouts(p, 0, -5, &E), MT_EINVAL);
    db_pool_free(p);
}

/* ---- deadlines ---- */

static int insert_tx(struct db_conn *c, void *ctx, struct mt_err *err)
{
    (void)ctx;
    return db_query(c, "INSERT INTO fault_t (v) VALUES (1)", NULL, 0, NULL, err);
}

/* A second session holds a real lock; the first gives up within its limit
 * with MT_ETIMEOUT, its transaction is rolled back, and it works again as
 * soon as the lock is gone. */
static void test_lock_timeout(void)
{
    struct db_conn *holder = open_conn(0, 0);
    struct db_conn *c = open_conn(2000, 300);
    MUST(db_exec(holder, "DROP TABLE IF EXISTS fault_t", &E));
    MUST(db_exec(holder,
                 pick("CREATE TABLE fault_t (id serial PRIMARY KEY, v integer)",
                      "CREATE TABLE fault_t (id integer AUTO_INCREMENT PRIMARY KEY, v integer)"
                      " ENGINE=InnoDB"),
                 &E));
    MUST(db_begin(holder, &E));
    MUST(db_exec(
        holder,
        pick("LOCK TABLE fault_t IN ACCESS EXCLUSIVE MODE", "SELECT id FROM fault_t FOR UPDATE"),
        &E));
    if (dialect == DB_MYSQL) {
        /* A row lock on an empty table locks its whole range; the insert
         * waits for InnoDB's lock (whole seconds there). */
        MUST(db_exec(holder, "INSERT INTO fault_t (v) VALUES (0)", &E));
    }
    long t0 = now_ms();
    MUST_FAIL(db_tx_run(c, true, insert_tx, NULL, &E), MT_ETIMEOUT);
    long took = now_ms() - t0;
    /* PostgreSQL: lock_timeout 300 ms; MariaDB: 1 s (rounded up). */
    CHECK(took >= 250 && took < 2500);
    if (took >= 2500)
        fprintf(stderr, "lock timeout took %ld ms\n", took);
    CHECK(!db_in_tx(c));
    MUST(db_rollback(holder, &E));
    /* The same connection is clean and works once the lock is released. */
    MUST(db_tx_run(c, true, insert_tx, NULL, &E));
    CHECK_EQ(query_int(c, "SELECT COUNT(*) FROM fault_t"), 1);

    /* A slow statement is cut by the statement limit. */
    MUST(db_set_timeouts(c, 300, 300, &E));
    t0 = now_ms();
    MUST_FAIL(
        db_query(c, pick("SELECT pg_sleep(3)", "SELECT SLEEP(3) FROM fault_t"), NULL, 0, NULL, &E),
        MT_ETIMEOUT);
    took = now_ms() - t0;
    CHECK(took >= 250 && took < 2000);
    CHECK_EQ(query_int(c, "SELECT 1"), 1);
    MUST(db_exec(holder, "DROP TABLE fault_t", &E));
    db_close(c);
    db_close(holder);
}

/* ---- healing ---- */

static int64_t session_id(struct db_conn *c)
{
    return query_int(c, pick("SELECT pg_backend_pid()", "SELECT CONNECTION_ID()"));
}

/* Ends session id from another connection, as a server restart or an
 * administrator would, and waits until the server has closed it. */
static void kill_id(struct db_conn *admin, int64_t id)
{
    struct db_param p[] = {DB_INT(id)};
    if (dialect == DB_POSTGRES) {
        MUST(db_query(admin, "SELECT pg_terminate_backend(CAST(? AS integer))", p, 1, NULL, &E));
    } else {
        char sql[64];
        snprintf(sql, sizeof sql, "KILL CONNECTION %lld", (long long)id);
        MUST(db_exec(admin, sql, &E));
    }
    for (int i = 0; i < 100; i++) {
        int64_t n = -1;
        MUST(db_query_int(admin,
                          pick("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?",
                               "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?"),
                          p, 1, &n, NULL, &E));
        if (n == 0)
            break;
        usleep(20000);
    }
}

static void kill_session(struct db_conn *admin, struct db_conn *c)
{
    kill_id(admin, session_id(c));
}

static int count_tx(struct db_conn *c, void *ctx, struct mt_err *err)
{
    int64_t *n = ctx;
    if (db_query(c, "INSERT INTO heal_t (v) VALUES (7)", NULL, 0, NULL, err) < 0)
        return -1;
    return db_query_int(c, "SELECT COUNT(*) FROM heal_t", NULL, 0, n, NULL, err);
}

static void test_reopen_in_place(void)
{
    struct db_conn *admin = open_conn(0, 0);
    struct db_conn *c = open_conn(5000, 5000);
    MUST(db_exec(admin, "DROP TABLE IF EXISTS heal_t", &E));
    MUST(db_exec(admin, "CREATE TABLE heal_t (v integer)", &E));

    /* A read outside a transaction runs again on a new session. */
    int64_t before = session_id(c);
    kill_session(admin, c);
    CHECK_EQ(query_int(c, "SELECT 42"), 42);
    int64_t after = session_id(c);
    CHECK(after != before);
    /* The new session has the same limits. */
    if (dialect == DB_POSTGRES) {
        char *v = NULL;
        MUST(db_query_text(c, "SELECT current_setting('statement_timeout')", NULL, 0, &v, &E));
        CHECK_STR(v, "5s");
        free(v);
    } else {
        CHECK_EQ(query_int(c, "SELECT @@SESSION.innodb_lock_wait_timeout"), 5);
    }

    /* A whole transaction runs again, once: the row is there once. */
    kill_session(admin, c);
    int64_t n = 0;
    MUST(db_tx_run(c, true, count_tx, &n, &E));
    CHECK_EQ(n, 1);
    CHECK_EQ(query_int(admin, "SELECT COUNT(*) FROM heal_t"), 1);

    /* A write that is not prepared yet ran nowhere when its session turns
     * out dead: it runs on a new one. */
    kill_session(admin, c);
    MUST(db_query(c, "INSERT INTO heal_t (v) VALUES (8)", NULL, 0, NULL, &E));
    CHECK_EQ(query_int(admin, "SELECT COUNT(*) FROM heal_t"), 2);
    /* A prepared lone write whose session died may have run: it is not run
     * twice behind the caller's back but fails as unavailable, and the next
     * statement heals. */
    kill_session(admin, c);
    MUST_FAIL(db_query(c, "INSERT INTO heal_t (v) VALUES (8)", NULL, 0, NULL, &E), MT_EUNAVAIL);
    CHECK_EQ(query_int(c, "SELECT COUNT(*) FROM heal_t"), 2);
    MUST(db_query(c, "INSERT INTO heal_t (v) VALUES (9)", NULL, 0, NULL, &E));
    CHECK_EQ(query_int(admin, "SELECT COUNT(*) FROM heal_t"), 3);

    /* Inside a transaction nothing is rerun by db_query: the caller's
     * transaction is gone, and it is told so. */
    MUST(db_begin(c, &E));
    kill_session(admin, c);
    MUST_FAIL(db_query(c, "SELECT COUNT(*) FROM heal_t", NULL, 0, NULL, &E), MT_EUNAVAIL);
    struct mt_err ignored;
    db_rollback(c, &ignored);
    CHECK_EQ(query_int(c, "SELECT COUNT(*) FROM heal_t"), 3);

    MUST(db_exec(admin, "DROP TABLE heal_t", &E));
    db_close(c);
    db_close(admin);
}

/* The pool replaces an idle connection that the server closed, without a
 * round trip: the first statement after the get is a write, which is never
 * rerun, so it only succeeds on a live session. */
static void test_pool_heals(void)
{
    struct db_conn *admin = open_conn(0, 0);
    MUST(db_exec(admin, "DROP TABLE IF EXISTS pool_t", &E));
    MUST(db_exec(admin, "CREATE TABLE pool_t (v integer)", &E));
    struct db_pool *p = NULL;
    MUST(db_pool_new(test_url, 2, &p, &E));
    MUST(db_pool_set_timeouts(p, 4000, 2000, &E));
    struct db_conn *c = db_pool_get(p, 1000, &E);
    CHECK(c != NULL);
    if (!c) {
        db_pool_free(p);
        db_close(admin);
        return;
    }
    /* A handler raised the limits; they come back with the connection. */
    MUST(db_set_timeouts(c, 60000, 60000, &E));
    db_pool_put(p, c);
    c = db_pool_get(p, 1000, &E);
    CHECK(c != NULL);
    if (c && dialect == DB_POSTGRES) {
        char *v = NULL;
        MUST(db_query_text(c, "SELECT current_setting('statement_timeout')", NULL, 0, &v, &E));
        CHECK_STR(v, "4s");
        free(v);
    } else if (c) {
        CHECK_EQ(query_int(c, "SELECT @@SESSION.lock_wait_timeout"), 2);
    }
    for (int round = 0; c && round < 3; round++) {
        /* Killed while idle in the pool: found dead when taken. */
        int64_t id = session_id(c);
        db_pool_put(p, c);
        kill_id(admin, id);
        c = db_pool_get(p, 1000, &E);
        CHECK(c != NULL);
        if (c) {
            MUST(db_query(c, "INSERT INTO pool_t (v) VALUES (1)", NULL, 0, NULL, &E));
            CHECK(session_id(c) != id);
        }
    }
    /* A connection left inside a transaction comes back clean. */
    if (c) {
        MUST(db_begin(c, &E));
        MUST(db_query(c, "INSERT INTO pool_t (v) VALUES (2)", NULL, 0, NULL, &E));
        db_pool_put(p, c);
        c = db_pool_get(p, 1000, &E);
        CHECK(c != NULL && !db_in_tx(c));
    }
    CHECK_EQ(query_int(admin, "SELECT COUNT(*) FROM pool_t"), 3);
    db_pool_put(p, c);
    db_pool_free(p);
    MUST(db_exec(admin, "DROP TABLE pool_t", &E));
    db_close(admin);
}

/* A backend that does not answer (stopped with SIGSTOP, as a frozen server
 * or a dead network path would look) is reported within the ping's limit
 * instead of waited for. PostgreSQL only: its sessions are processes of
 * their own, so freezing one disturbs no other test. */
static void test_ping_frozen(void)
{
    if (dialect != DB_POSTGRES) {
        printf("note: frozen-backend ping checked on PostgreSQL only\n");
        return;
    }
    struct db_conn *c = open_conn(0, 0);
    pid_t pid = (pid_t)session_id(c);
    if (kill(pid, SIGSTOP) < 0) {
        printf("note: cannot stop backend %d (not root?); frozen-backend ping skipped\n", (int)pid);
        db_close(c);
        return;
    }
    long t0 = now_ms();
    MUST_FAIL(db_ping(c, 300, &E), MT_ETIMEOUT);
    long took = now_ms() - t0;
    kill(pid, SIGCONT);
    CHECK(took >= 250 && took < 1500);
    db_close(c);
}

int main(void)
{
    const char *url = getenv("MT_TEST_DATABASE_URL");
    if (!url || !*url)
        SKIP("MT_TEST_DATABASE_URL is not set (run through scripts/run-tests.sh)");
    struct db_url u;
    if (db_url_parse(url, &u, &E) < 0) {
        fprintf(stderr, "MT_TEST_DATABASE_URL: %s\n", E.msg);
        return 1;
    }
    dialect = u.dialect;
    db_url_release(&u);
    test_url = private_db_url("test_dbfault", url);
    printf("dialect %s\n", db_dialect_name(dialect));

    test_limits_checked();
    if (dialect == DB_SQLITE) {
        /* SQLite has no server session to time out or to lose; its busy
         * timeout is tested with the SQLite driver. */
        printf("note: lock timeouts and reconnection need a server; skipped on sqlite\n");
    } else {
        test_lock_timeout();
        test_reopen_in_place();
        test_pool_heals();
        test_ping_frozen();
    }
    free(test_url);
    return check_report();
}
