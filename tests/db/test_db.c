/* Tests of the database interface (src/db) against the dialect of
 * MT_TEST_DATABASE_URL: every parameter and column type, NULL, non-ASCII and
 * long text, ids and row counts, transactions and real retryable errors,
 * scripts with trigger bodies, introspection, the pool under threads,
 * streamed results (db_query_stream), connection failures, and on SQLite
 * the shared in-memory database, the writer queue with its lock wait limit
 * as deadline, the session limits, and files the process may not write.
 * Each run works in a database of its own (made with tests/lib/fresh-db
 * when MT_TEST_ROOT is set). */
#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dbcheck.h"

#define SECRET "S3cretPw"

static enum db_dialect dialect;
static char *test_url;

static const char *pick(const char *sqlite, const char *pg, const char *my)
{
    return dialect == DB_SQLITE ? sqlite : dialect == DB_POSTGRES ? pg : my;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static struct db_conn *open_conn(void)
{
    return open_or_exit(test_url);
}

static int64_t count_rows(struct db_conn *c, const char *sql, const struct db_param *p, size_t n)
{
    int64_t v = -1;
    MUST(db_query_int(c, sql, p, n, &v, NULL, &E));
    return v;
}

/* ---- session ---- */

static void test_session(void)
{
    struct db_conn *c = open_conn();
    struct db_url u;
    char *s = NULL;
    int64_t v = 0;

    CHECK_EQ(db_conn_dialect(c), dialect);
    CHECK_STR(db_impl_name(c), pick("SQLiteImpl", "PostgresqlImpl", "MySQLImpl"));
    CHECK_EQ(db_transactional_ddl(c), dialect != DB_MYSQL);
    MUST(db_url_parse(test_url, &u, &E));
    CHECK(strncmp(db_conn_label(c), db_dialect_name(dialect), strlen(db_dialect_name(dialect))) ==
          0);
    if (u.password && *u.password) {
        CHECK(strstr(db_conn_label(c), u.password) == NULL);
        CHECK(strstr(db_conn_label(c), ":***@") != NULL);
    }
    db_url_release(&u);

    switch (dialect) {
    case DB_SQLITE:
        MUST(db_query_text(c, "PRAGMA journal_mode", NULL, 0, &s, &E));
        CHECK_STR(s, "wal");
        MUST(db_query_int(c, "PRAGMA foreign_keys", NULL, 0, &v, NULL, &E));
        CHECK_EQ(v, 1);
        MUST(db_query_int(c, "PRAGMA busy_timeout", NULL, 0, &v, NULL, &E));
        CHECK_EQ(v, 5000);
        MUST(db_query_int(c, "PRAGMA synchronous", NULL, 0, &v, NULL, &E));
        CHECK_EQ(v, 1);
        break;
    case DB_POSTGRES:
        MUST(db_query_text(c, "SHOW TimeZone", NULL, 0, &s, &E));
        CHECK_STR(s, "UTC");
        free(s);
        MUST(db_query_text(c, "SHOW client_encoding", NULL, 0, &s, &E));
        CHECK_STR(s, "UTF8");
        break;
    case DB_MYSQL:
        MUST(db_query_text(c, "SELECT @@session.time_zone", NULL, 0, &s, &E));
        CHECK_STR(s, "+00:00");
        free(s);
        MUST(db_query_text(c, "SELECT @@session.sql_mode", NULL, 0, &s, &E));
        CHECK(s && strstr(s, "STRICT_TRANS_TABLES") && !strstr(s, "ANSI_QUOTES"));
        free(s);
        MUST(db_query_text(c, "SELECT @@session.character_set_client", NULL, 0, &s, &E));
        CHECK_STR(s, "utf8mb4");
        MUST(db_query_int(c, "SELECT @@session.autocommit", NULL, 0, &v, NULL, &E));
        CHECK_EQ(v, 1);
        break;
    }
    free(s);
    db_close(c);
}

/* ---- types ---- */

static int64_t insert_typed(struct db_conn *c, const struct db_param p[8])
{
    MUST(db_query(
        c, "INSERT INTO dbt_types (i, d, t, b, ts, tz, dt, bl) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", p,
        8, NULL, &E));
    CHECK_EQ(db_changes(c), 1);
    int64_t id = 0;
    mt_err_clear(&E);
    id = db_last_insert_id(c, &E);
    CHECK(id > 0);
    return id;
}

/* Opens a cursor on row id of dbt_types, positioned on the row. */
static struct db_stmt *fetch_typed(struct db_conn *c, int64_t id)
{
    struct db_stmt *st = NULL;
    struct db_param p = DB_INT(id);
    MUST(db_query(c, "SELECT id, i, d, t, b, ts, tz, dt, bl FROM dbt_types WHERE id = ?", &p, 1,
                  &st, &E));
    if (!st)
        return NULL;
    int rc = db_next(st, &E);
    CHECK_EQ(rc, 1);
    if (rc != 1) {
        db_done(st);
        return NULL;
    }
    return st;
}

static void round_trip_text(struct db_conn *c, const char *s, size_t len)
{
    struct db_param p[8] = {DB_NULL, DB_NULL, DB_TEXTN(s, len), DB_NULL,
                            DB_NULL, DB_NULL, DB_NULL,          DB_NULL};
    int64_t id = insert_typed(c, p);
    struct db_stmt *st = fetch_typed(c, id);
    if (!st)
        return;
    size_t got = 0;
    const char *t = db_col_text(st, 3, &got);
    check_total++;
    if (!t || got != len || memcmp(t, s, len) != 0 || t[len] != '\0') {
        check_failed++;
        fprintf(stderr, "text round trip failed for <%.40s> (len %zu, got %zu)\n", s, len, got);
    }
    /* Found again by an equality comparison on the bound value. */
    if (len < 200) {
        struct db_param q[2] = {DB_TEXTN(s, len), DB_INT(id)};
        CHECK_EQ(count_rows(c, "SELECT COUNT(*) FROM dbt_types WHERE t = ? AND id = ?", q, 2), 1);
    }
    db_done(st);
}

static void test_types(void)
{
    struct db_conn *c = open_conn();
    MUST(db_exec(c, "DROP TABLE IF EXISTS dbt_types", &E));
    MUST(db_exec(c,
                 pick("CREATE TABLE dbt_types (id INTEGER PRIMARY KEY AUTOINCREMENT, i BIGINT,"
                      " d DOUBLE PRECISION, t TEXT, b BOOLEAN, ts TIMESTAMP, tz TIMESTAMP,"
                      " dt DATE, bl BLOB)",
                      "CREATE TABLE dbt_types (id BIGSERIAL PRIMARY KEY, i BIGINT,"
                      " d DOUBLE PRECISION, t TEXT, b BOOLEAN, ts TIMESTAMP(6),"
                      " tz TIMESTAMPTZ(6), dt DATE, bl BYTEA)",
                      "CREATE TABLE dbt_types (id BIGINT AUTO_INCREMENT PRIMARY KEY, i BIGINT,"
                      " d DOUBLE, t LONGTEXT, b BOOLEAN, ts DATETIME(6), tz TIMESTAMP(6) NULL,"
                      " dt DATE, bl LONGBLOB) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"),
                 &E));

    /* Integers, extremes included, read back as numbers and as text. */
    static const int64_t ints[] = {0, 1, -1, 42, INT64_MAX, INT64_MIN, 4294967296LL};
    for (size_t k = 0; k < MT_ARRAY_LEN(ints); k++) {
        struct db_param p[8] = {DB_INT(ints[k]), DB_NULL, DB_NULL, DB_NULL,
                                DB_NULL,         DB_NULL, DB_NULL, DB_NULL};
        struct db_stmt *st = fetch_typed(c, insert_typed(c, p));
        if (!st)
            continue;
        char want[32];
        snprintf(want, sizeof want, "%" PRId64, ints[k]);
        CHECK_EQ(db_col_int(st, 1), ints[k]);
        CHECK_STR(db_col_text(st, 1, NULL), want);
        CHECK(!db_col_null(st, 1));
        db_done(st);
    }

    /* Doubles come back bit for bit. */
    static const double dbls[] = {0.0, 3.141592653589793, -0.1, 1e300, 2.5e-300, 1.0 / 3.0, -7.25};
    for (size_t k = 0; k < MT_ARRAY_LEN(dbls); k++) {
        struct db_param p[8] = {
            DB_NULL, DB_DOUBLE(dbls[k]), DB_NULL, DB_NULL, DB_NULL, DB_NULL, DB_NULL, DB_NULL};
        struct db_stmt *st = fetch_typed(c, insert_typed(c, p));
        if (!st)
            continue;
        check_total++;
        if (db_col_double(st, 2) != dbls[k]) {
            check_failed++;
            fprintf(stderr, "double %.17g came back as %.17g (text %s)\n", dbls[k],
                    db_col_double(st, 2), db_col_text(st, 2, NULL));
        }
        db_done(st);
    }

    /* Text: non-ASCII, quotes and SQL-looking strings stay verbatim. */
    static const char *const texts[] = {
        "",
        "plain",
        "Καλημέρα κόσμε",
        "こんにちは世界、薬を飲む時間です",
        "emoji 💊🩺👨‍👩‍👧 done",
        "it's \"quoted\" `back` ; DROP TABLE dbt_types; --",
        "' OR '1'='1",
        "?",
        "$1 ? $2 ?? ?|",
        "/* not a comment */ -- nor this",
        "C:\\path\\n\\x00 \\' \\\\",
        "line1\nline2\r\n\ttab",
        "%s %n %d %%",
        "$$ body $$ $tag$",
    };
    for (size_t k = 0; k < MT_ARRAY_LEN(texts); k++)
        round_trip_text(c, texts[k], strlen(texts[k]));
    /* A slice of a longer buffer: only len bytes are bound. */
    round_trip_text(c, "abcdef", 3);
    {
        struct db_param p[8] = {DB_NULL, DB_NULL, DB_TEXTN("abcdef", 3), DB_NULL, DB_NULL, DB_NULL,
                                DB_NULL, DB_NULL};
        struct db_stmt *st = fetch_typed(c, insert_typed(c, p));
        if (st) {
            CHECK_STR(db_col_text(st, 3, NULL), "abc");
            db_done(st);
        }
    }

    /* 100 KB and 1 MB texts with multi-byte characters. */
    static const size_t sizes[] = {100 * 1024 + 7, 1024 * 1024};
    for (size_t k = 0; k < MT_ARRAY_LEN(sizes); k++) {
        size_t n = sizes[k];
        char *big = malloc(n + 1);
        static const char pattern[] = "0123456789abcdefghijklmnopqrstuvwxyz αβγ ";
        for (size_t j = 0; j < n; j++)
            big[j] = pattern[j % (sizeof pattern - 1)];
        /* Do not end inside a multi-byte character. */
        while (n > 0 && ((unsigned char)big[n - 1] & 0x80))
            n--;
        big[n] = '\0';
        round_trip_text(c, big, n);
        free(big);
    }

    /* Text with a NUL byte: kept by SQLite and MariaDB, refused by PostgreSQL. */
    {
        static const char nul[] = "a\0b";
        struct db_param p[8] = {DB_NULL, DB_NULL, DB_TEXTN(nul, 3), DB_NULL,
                                DB_NULL, DB_NULL, DB_NULL,          DB_NULL};
        if (dialect == DB_POSTGRES) {
            MUST_FAIL(db_query(c,
                               "INSERT INTO dbt_types (i, d, t, b, ts, tz, dt, bl)"
                               " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               p, 8, NULL, &E),
                      MT_EINVAL);
        } else {
            round_trip_text(c, nul, 3);
        }
    }

    /* Booleans: bound as DB_BOOL or as 0/1 integers; read as 0/1 everywhere. */
    for (int k = 0; k < 4; k++) {
        bool want = k % 2 == 0;
        struct db_param b = k < 2 ? DB_BOOL(want) : DB_INT(want ? 1 : 0);
        struct db_param p[8] = {DB_BOOL(want), DB_NULL, DB_NULL, b,
                                DB_NULL,       DB_NULL, DB_NULL, DB_NULL};
        struct db_stmt *st = fetch_typed(c, insert_typed(c, p));
        if (!st)
            continue;
        CHECK_EQ(db_col_int(st, 4), want);
        CHECK_STR(db_col_text(st, 4, NULL), want ? "1" : "0");
        CHECK_EQ(db_col_double(st, 4), want ? 1 : 0);
        /* DB_BOOL into an integer column stores 1/0. */
        CHECK_EQ(db_col_int(st, 1), want);
        db_done(st);
    }
    /* Booleans in WHERE clauses. */
    {
        struct db_param p = DB_BOOL(true);
        CHECK_EQ(count_rows(c, "SELECT COUNT(*) FROM dbt_types WHERE b = ?", &p, 1), 2);
    }

    /* Timestamps and dates: canonical UTC text, microseconds kept. */
    static const struct {
        const char *in, *out;
    } stamps[] = {
        {"2024-03-15 08:30:45.123456", "2024-03-15 08:30:45.123456"},
        {"2024-03-15 08:30:45", "2024-03-15 08:30:45"},
        {"2024-12-31 23:59:59.5", "2024-12-31 23:59:59.500000"},
        {"1999-01-01 00:00:00.000001", "1999-01-01 00:00:00.000001"},
        {"2024-03-15 08:30:45.000000", "2024-03-15 08:30:45"},
    };
    for (size_t k = 0; k < MT_ARRAY_LEN(stamps); k++) {
        struct db_param p[8] = {DB_NULL,
                                DB_NULL,
                                DB_NULL,
                                DB_NULL,
                                DB_TEXT(stamps[k].in),
                                DB_TEXT(stamps[k].in),
                                DB_TEXT("2024-02-29"),
                                DB_NULL};
        struct db_stmt *st = fetch_typed(c, insert_typed(c, p));
        if (!st)
            continue;
        CHECK_STR(db_col_text(st, 5, NULL), stamps[k].out);
        CHECK_STR(db_col_text(st, 6, NULL), stamps[k].out);
        CHECK_STR(db_col_text(st, 7, NULL), "2024-02-29");
        db_done(st);
    }
    /* SQLite keeps the text it was given: a TIMESTAMP column reads back in
     * the canonical form when the text is a UTC timestamp with seconds, and
     * as it was written otherwise. */
    static const struct {
        const char *in, *out;
    } lite_stamps[] = {
        {"2024-03-15T08:30:45Z", "2024-03-15 08:30:45"},
        {"2024-03-15 08:30:45+00", "2024-03-15 08:30:45"},
        {"2024-03-15T08:30:45.123456789+00:00", "2024-03-15 08:30:45.123456"},
        {"2024-03-15 08:30:45+02:00", "2024-03-15 08:30:45+02:00"},
        {"2024-03-15 08:30:45.1234567890", "2024-03-15 08:30:45.1234567890"},
        {"2024-03-15 08:30:45,5", "2024-03-15 08:30:45,5"},
        {"2024-03-15 08:30", "2024-03-15 08:30"},
        {"2024-03-15", "2024-03-15"},
    };
    for (size_t k = 0; dialect == DB_SQLITE && k < MT_ARRAY_LEN(lite_stamps); k++) {
        struct db_param p[8] = {DB_NULL, DB_NULL, DB_NULL, DB_NULL, DB_TEXT(lite_stamps[k].in),
                                DB_NULL, DB_NULL, DB_NULL};
        struct db_stmt *st = fetch_typed(c, insert_typed(c, p));
        if (!st)
            continue;
        CHECK_STR(db_col_text(st, 5, NULL), lite_stamps[k].out);
        db_done(st);
    }
    /* The server's own clock reads back in the same form. */
    {
        char *now = NULL;
        MUST(
            db_query_text(c,
                          pick("SELECT CURRENT_TIMESTAMP", "SELECT CURRENT_TIMESTAMP::timestamp(0)",
                               "SELECT CAST(UTC_TIMESTAMP() AS DATETIME)"),
                          NULL, 0, &now, &E));
        CHECK(now && strlen(now) == 19 && now[4] == '-' && now[10] == ' ' && now[13] == ':');
        free(now);
    }

    /* Blobs: every byte value, NUL included. */
    {
        unsigned char bytes[256];
        for (int k = 0; k < 256; k++)
            bytes[k] = (unsigned char)(255 - k);
        struct db_param p[8] = {DB_NULL, DB_NULL, DB_NULL, DB_NULL,
                                DB_NULL, DB_NULL, DB_NULL, DB_BLOB(bytes, sizeof bytes)};
        struct db_stmt *st = fetch_typed(c, insert_typed(c, p));
        if (st) {
            size_t len = 0;
            const char *got = db_col_text(st, 8, &len);
            CHECK_EQ(len, sizeof bytes);
            CHECK(got && memcmp(got, bytes, sizeof bytes) == 0);
            db_done(st);
        }
        /* A NUL first: PostgreSQL's decoded bytea was once cut there. */
        static const unsigned char nul_first[] = {0x00, 0xff, 0x0a, 0x5c};
        struct db_param n[8] = {DB_NULL, DB_NULL, DB_NULL, DB_NULL,
                                DB_NULL, DB_NULL, DB_NULL, DB_BLOB(nul_first, sizeof nul_first)};
        st = fetch_typed(c, insert_typed(c, n));
        if (st) {
            size_t len = 0;
            const char *got = db_col_text(st, 8, &len);
            CHECK_EQ(len, sizeof nul_first);
            CHECK(got && memcmp(got, nul_first, sizeof nul_first) == 0);
            db_done(st);
        }
        struct db_param q[8] = {DB_NULL, DB_NULL, DB_NULL, DB_NULL,
                                DB_NULL, DB_NULL, DB_NULL, DB_BLOB("", 0)};
        st = fetch_typed(c, insert_typed(c, q));
        if (st) {
            size_t len = 99;
            CHECK(!db_col_null(st, 8));
            CHECK(db_col_text(st, 8, &len) != NULL);
            CHECK_EQ(len, 0);
            db_done(st);
        }
    }

    /* NULL in every column; DB_TEXT(NULL) binds NULL too. */
    {
        struct db_param p[8] = {DB_NULL, DB_NULL, DB_TEXT(NULL), DB_NULL,
                                DB_NULL, DB_NULL, DB_NULL,       DB_NULL};
        struct db_stmt *st = fetch_typed(c, insert_typed(c, p));
        if (st) {
            CHECK_EQ(db_col_count(st), 9);
            CHECK_STR(db_col_name(st, 1), "i");
            CHECK_STR(db_col_name(st, 8), "bl");
            CHECK(db_col_name(st, 9) == NULL);
            for (int k = 1; k < 9; k++) {
                size_t len = 99;
                CHECK(db_col_null(st, k));
                CHECK(db_col_text(st, k, &len) == NULL);
                CHECK_EQ(len, 0);
                CHECK_EQ(db_col_int(st, k), 0);
                CHECK(db_col_double(st, k) == 0.0);
            }
            /* Out-of-range columns read as NULL. */
            CHECK(db_col_null(st, 42));
            CHECK(db_col_null(st, -1));
            CHECK(!db_col_null(st, 0));
            db_done(st);
        }
        /* A NULL parameter compares as NULL: no row equals it. */
        struct db_param q = DB_NULL;
        CHECK_EQ(count_rows(c, "SELECT COUNT(*) FROM dbt_types WHERE i = ?", &q, 1), 0);
    }
    db_close(c);
}

/* ---- ids, row counts, shorthands, errors ---- */

static void make_items(struct db_conn *c)
{
    MUST(db_exec(c, "DROP TABLE IF EXISTS dbt_items", &E));
    MUST(db_exec(c,
                 pick("CREATE TABLE dbt_items (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                      " code VARCHAR(40) NOT NULL UNIQUE, qty INTEGER NOT NULL DEFAULT 0)",
                      "CREATE TABLE dbt_items (id SERIAL PRIMARY KEY,"
                      " code VARCHAR(40) NOT NULL UNIQUE, qty INTEGER NOT NULL DEFAULT 0)",
                      "CREATE TABLE dbt_items (id INTEGER AUTO_INCREMENT PRIMARY KEY,"
                      " code VARCHAR(40) NOT NULL UNIQUE, qty INTEGER NOT NULL DEFAULT 0)"
                      " ENGINE=InnoDB"),
                 &E));
}

static int insert_item(struct db_conn *c, const char *code, struct mt_err *err)
{
    struct db_param p = DB_TEXT(code);
    return db_query(c, "INSERT INTO dbt_items (code) VALUES (?)", &p, 1, NULL, err);
}

static int64_t items_with(struct db_conn *c, const char *code)
{
    struct db_param p = DB_TEXT(code);
    return count_rows(c, "SELECT COUNT(*) FROM dbt_items WHERE code = ?", &p, 1);
}

static void test_ids_and_errors(void)
{
    struct db_conn *c = open_conn();
    make_items(c);

    MUST(insert_item(c, "a", &E));
    CHECK_EQ(db_changes(c), 1);
    mt_err_clear(&E);
    int64_t id1 = db_last_insert_id(c, &E);
    MUST(insert_item(c, "b", &E));
    int64_t id2 = db_last_insert_id(c, &E);
    CHECK(id1 > 0);
    CHECK_EQ(id2, id1 + 1);
    int64_t v = 0;
    bool found = false;
    struct db_param pb = DB_TEXT("b");
    MUST(db_query_int(c, "SELECT id FROM dbt_items WHERE code = ?", &pb, 1, &v, &found, &E));
    CHECK(found);
    CHECK_EQ(v, id2);

    /* INSERT ... RETURNING works on all three (MariaDB 10.5+). */
    struct db_param pc = DB_TEXT("c");
    MUST(db_query_int(c, "INSERT INTO dbt_items (code) VALUES (?) RETURNING id", &pc, 1, &v, &found,
                      &E));
    CHECK(found);
    CHECK_EQ(v, id2 + 1);

    /* Row counts: matched rows, also when the values do not change. */
    MUST(db_query(c, "UPDATE dbt_items SET qty = 5", NULL, 0, NULL, &E));
    CHECK_EQ(db_changes(c), 3);
    MUST(db_query(c, "UPDATE dbt_items SET qty = 5", NULL, 0, NULL, &E));
    CHECK_EQ(db_changes(c), 3);
    struct db_param pz = DB_TEXT("zzz");
    MUST(db_query(c, "DELETE FROM dbt_items WHERE code = ?", &pz, 1, NULL, &E));
    CHECK_EQ(db_changes(c), 0);
    MUST(db_exec(c, "UPDATE dbt_items SET qty = 6 WHERE code <> 'a'", &E));
    CHECK_EQ(db_changes(c), 2);

    /* Shorthands: no row, NULL value, text. */
    v = 77;
    MUST(db_query_int(c, "SELECT qty FROM dbt_items WHERE code = ?", &pz, 1, &v, &found, &E));
    CHECK(!found);
    CHECK_EQ(v, 77);
    MUST(db_query_int(c, "SELECT MAX(qty) FROM dbt_items WHERE code = ?", &pz, 1, &v, &found, &E));
    CHECK(!found);
    char *s = NULL;
    struct db_param pid = DB_INT(id1);
    MUST(db_query_text(c, "SELECT code FROM dbt_items WHERE id = ?", &pid, 1, &s, &E));
    CHECK_STR(s, "a");
    free(s);
    s = (char *)"x";
    struct db_param pneg = DB_INT(-5);
    MUST(db_query_text(c, "SELECT code FROM dbt_items WHERE id = ?", &pneg, 1, &s, &E));
    CHECK(s == NULL);

    /* Errors: unique violation, syntax, parameter count, unknown table. */
    MUST_FAIL(insert_item(c, "a", &E), MT_ECONFLICT);
    CHECK_EQ(items_with(c, "a"), 1);
    MUST_FAIL(db_query(c, "SELEC 1", NULL, 0, NULL, &E), MT_EDB);
    MUST_FAIL(db_query(c, "SELECT COUNT(*) FROM dbt_items WHERE code = ?", NULL, 0, NULL, &E),
              MT_EINTERNAL);
    MUST_FAIL(db_query(c, "SELECT * FROM dbt_no_such_table", NULL, 0, NULL, &E), MT_EDB);
    CHECK(strlen(E.msg) > 0);
    MUST_FAIL(db_exec(c, "INSERT INTO dbt_no_such_table VALUES (1)", &E), MT_EDB);
    /* db_query runs one statement; a trailing comment is fine. */
    mt_err_clear(&E);
    CHECK(db_query(c, "SELECT 1; SELECT 2", NULL, 0, NULL, &E) < 0);
    MUST(db_query(c, "SELECT 1 -- trailing comment", NULL, 0, NULL, &E));
    /* The connection is still fine after all that. */
    CHECK_EQ(count_rows(c, "SELECT COUNT(*) FROM dbt_items", NULL, 0), 3);

    /* Two cursors at once, even on the same statement text. */
    {
        static const char sql[] = "SELECT id FROM dbt_items ORDER BY id";
        struct db_stmt *outer = NULL;
        int rows = 0;
        MUST(db_query(c, sql, NULL, 0, &outer, &E));
        while (outer && db_next(outer, &E) == 1) {
            struct db_stmt *inner = NULL;
            int inner_rows = 0;
            MUST(db_query(c, sql, NULL, 0, &inner, &E));
            while (inner && db_next(inner, &E) == 1)
                inner_rows++;
            db_done(inner);
            CHECK_EQ(inner_rows, 3);
            CHECK(db_col_int(outer, 0) >= id1);
            rows++;
        }
        db_done(outer);
        CHECK_EQ(rows, 3);
        /* A cursor left after one row and run again starts over. */
        MUST(db_query(c, sql, NULL, 0, &outer, &E));
        CHECK_EQ(db_next(outer, &E), 1);
        CHECK_EQ(db_col_int(outer, 0), id1);
        db_done(outer);
        MUST(db_query(c, sql, NULL, 0, &outer, &E));
        CHECK_EQ(db_next(outer, &E), 1);
        CHECK_EQ(db_col_int(outer, 0), id1);
        db_done(outer);
        db_done(NULL);
    }
    db_close(c);
}

/* ---- transactions ---- */

struct tx_ctx {
    const char *code;
    int attempts;
    int fail_times;         /* fail with MT_EDB_RETRY this many times */
    enum mt_code fail_code; /* then (or instead) fail with this, if set */
    bool silent;            /* fail without filling err */
};

static int tx_insert(struct db_conn *c, void *arg, struct mt_err *err)
{
    struct tx_ctx *x = arg;
    x->attempts++;
    char code[64];
    snprintf(code, sizeof code, "%s-%d", x->code, x->attempts);
    if (insert_item(c, code, err) < 0)
        return -1;
    if (x->attempts <= x->fail_times)
        return mt_fail(err, MT_EDB_RETRY, "simulated retryable failure %d", x->attempts);
    if (x->silent)
        return -1;
    if (x->fail_code != MT_OK)
        return mt_fail(err, x->fail_code, "simulated failure");
    return 0;
}

static int tx_nested(struct db_conn *c, void *arg, struct mt_err *err)
{
    struct tx_ctx inner = {.code = "nested-inner"};
    CHECK(db_in_tx(c));
    if (db_tx_run(c, true, tx_insert, &inner, err) < 0)
        return -1;
    CHECK_EQ(inner.attempts, 1);
    CHECK(db_in_tx(c));
    return tx_insert(c, arg, err);
}

static void test_transactions(void)
{
    struct db_conn *c = open_conn();
    make_items(c);

    CHECK(!db_in_tx(c));
    MUST(db_begin(c, &E));
    CHECK(db_in_tx(c));
    MUST(insert_item(c, "rolled-back", &E));
    MUST(db_rollback(c, &E));
    CHECK(!db_in_tx(c));
    CHECK_EQ(items_with(c, "rolled-back"), 0);
    /* Rolling back outside a transaction is a no-op. */
    MUST(db_rollback(c, &E));

    MUST(db_begin_immediate(c, &E));
    CHECK(db_in_tx(c));
    MUST(insert_item(c, "committed", &E));
    MUST(db_commit(c, &E));
    CHECK(!db_in_tx(c));
    CHECK_EQ(items_with(c, "committed"), 1);

    /* db_tx_run: success commits, failure rolls back and keeps the code. */
    struct tx_ctx ok = {.code = "run-ok"};
    MUST(db_tx_run(c, true, tx_insert, &ok, &E));
    CHECK_EQ(ok.attempts, 1);
    CHECK_EQ(items_with(c, "run-ok-1"), 1);
    CHECK(!db_in_tx(c));

    struct tx_ctx bad = {.code = "run-bad", .fail_code = MT_ECONFLICT};
    MUST_FAIL(db_tx_run(c, false, tx_insert, &bad, &E), MT_ECONFLICT);
    CHECK_STR(E.msg, "simulated failure");
    CHECK_EQ(bad.attempts, 1);
    CHECK_EQ(items_with(c, "run-bad-1"), 0);
    CHECK(!db_in_tx(c));

    /* A database error inside fn (unique violation) rolls back too. */
    struct tx_ctx dup = {.code = "run-ok", .attempts = 0};
    MUST_FAIL(db_tx_run(c, true, tx_insert, &dup, &E), MT_ECONFLICT);
    CHECK(!db_in_tx(c));

    struct tx_ctx silent = {.code = "run-silent", .silent = true};
    MUST_FAIL(db_tx_run(c, true, tx_insert, &silent, &E), MT_EINTERNAL);

    /* Retries: work done by failed attempts is rolled back. */
    struct tx_ctx retry = {.code = "retry", .fail_times = 2};
    MUST(db_tx_run(c, true, tx_insert, &retry, &E));
    CHECK_EQ(retry.attempts, 3);
    CHECK_EQ(items_with(c, "retry-1") + items_with(c, "retry-2"), 0);
    CHECK_EQ(items_with(c, "retry-3"), 1);

    struct tx_ctx hopeless = {.code = "hopeless", .fail_times = 1000};
    MUST_FAIL(db_tx_run(c, true, tx_insert, &hopeless, &E), MT_EDB_RETRY);
    CHECK_EQ(hopeless.attempts, 6);
    CHECK(strstr(E.msg, "gave up after 6 attempts") != NULL);
    CHECK(!db_in_tx(c));

    /* Nested: the inner db_tx_run joins the outer transaction. */
    struct tx_ctx outer = {.code = "nested-outer"};
    MUST(db_tx_run(c, true, tx_nested, &outer, &E));
    CHECK_EQ(items_with(c, "nested-inner-1") + items_with(c, "nested-outer-1"), 2);
    MUST(db_begin(c, &E));
    struct tx_ctx joined = {.code = "joined"};
    MUST(db_tx_run(c, true, tx_insert, &joined, &E));
    CHECK(db_in_tx(c));
    MUST(db_rollback(c, &E));
    CHECK_EQ(items_with(c, "joined-1"), 0);

    /* PostgreSQL: after an error the transaction is dead and COMMIT says so. */
    if (dialect == DB_POSTGRES) {
        MUST(db_begin(c, &E));
        MUST_FAIL(insert_item(c, "committed", &E), MT_ECONFLICT);
        MUST_FAIL(db_commit(c, &E), MT_EDB);
        CHECK(strstr(E.msg, "rolled back") != NULL);
        CHECK(!db_in_tx(c));
    }
    db_close(c);
}

/* ---- statements held back: db_exec_later, and PostgreSQL's deferred BEGIN ---- */

static int later_insert(struct db_conn *c, const char *code, struct mt_err *err)
{
    struct db_param p = DB_TEXT(code);
    return db_exec_later(c, "INSERT INTO dbt_items (code) VALUES (?)", &p, 1, err);
}

/* Two held-back inserts, then a read that must see both (order kept). */
static int tx_later_seen(struct db_conn *c, void *arg, struct mt_err *err)
{
    int64_t *seen = arg;
    if (later_insert(c, "later-1", err) < 0 || later_insert(c, "later-2", err) < 0)
        return -1;
    return db_query_int(c, "SELECT COUNT(*) FROM dbt_items WHERE code LIKE 'later-%'", NULL, 0,
                        seen, NULL, err);
}

/* An insert, then a held-back duplicate: the transaction's last statement,
 * so only the COMMIT can report it. */
static int tx_later_dup(struct db_conn *c, void *arg, struct mt_err *err)
{
    (void)arg;
    if (insert_item(c, "later-dup-kept", err) < 0)
        return -1;
    return later_insert(c, "later-1", err);
}

/* The same statement held back twice: the first values go before the
 * second ones are bound. */
static int tx_later_twice(struct db_conn *c, void *arg, struct mt_err *err)
{
    (void)arg;
    return later_insert(c, "later-3", err) < 0 ? -1 : later_insert(c, "later-4", err);
}

static int tx_nothing(struct db_conn *c, void *arg, struct mt_err *err)
{
    (void)err;
    *(bool *)arg = db_in_tx(c);
    return 0;
}

static void test_exec_later(void)
{
    struct db_conn *c = open_conn();
    make_items(c);

    int64_t seen = 0;
    MUST(db_tx_run(c, true, tx_later_seen, &seen, &E));
    CHECK_EQ(seen, 2);
    CHECK_EQ(items_with(c, "later-1") + items_with(c, "later-2"), 2);

    /* A held-back statement that fails fails the COMMIT with its own code,
     * and nothing of the transaction stays. */
    MUST_FAIL(db_tx_run(c, true, tx_later_dup, NULL, &E), MT_ECONFLICT);
    CHECK(!db_in_tx(c));
    CHECK_EQ(items_with(c, "later-dup-kept"), 0);

    MUST(db_tx_run(c, true, tx_later_twice, NULL, &E));
    CHECK_EQ(items_with(c, "later-3") + items_with(c, "later-4"), 2);

    /* Outside a transaction it runs at once. */
    MUST(later_insert(c, "later-now", &E));
    CHECK_EQ(items_with(c, "later-now"), 1);

    /* A write transaction that runs nothing is a transaction all the same. */
    bool inside = false;
    MUST(db_tx_run(c, true, tx_nothing, &inside, &E));
    CHECK(inside);
    CHECK(!db_in_tx(c));

    /* A rolled-back transaction drops what was held back. */
    MUST(db_begin_immediate(c, &E));
    MUST(later_insert(c, "later-dropped", &E));
    MUST(db_rollback(c, &E));
    CHECK(!db_in_tx(c));
    CHECK_EQ(items_with(c, "later-dropped"), 0);

    /* The first statement of a write transaction is an uncached copy (its
     * text has a cursor open from before the transaction): it must run
     * itself, not the transaction's BEGIN sent with it. */
    const char *sql = "SELECT code FROM dbt_items WHERE code = ?";
    struct db_param p = DB_TEXT("later-1");
    struct db_stmt *outer = NULL, *inner = NULL;
    MUST(db_query(c, sql, &p, 1, &outer, &E));
    MUST(db_begin_immediate(c, &E));
    MUST(later_insert(c, "later-5", &E));
    MUST(db_query(c, sql, &p, 1, &inner, &E));
    CHECK_EQ(db_next(inner, &E), 1);
    CHECK_STR(db_col_text(inner, 0, NULL), "later-1");
    db_done(inner);
    MUST(db_commit(c, &E));
    CHECK_EQ(db_next(outer, &E), 1);
    db_done(outer);
    CHECK_EQ(items_with(c, "later-5"), 1);
    db_close(c);
}

/* ---- real retryable errors ---- */

static void make_counter(struct db_conn *c)
{
    MUST(db_exec(c, "DROP TABLE IF EXISTS dbt_counter", &E));
    MUST(db_exec(c,
                 pick("CREATE TABLE dbt_counter (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)",
                      "CREATE TABLE dbt_counter (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)",
                      "CREATE TABLE dbt_counter (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"
                      " ENGINE=InnoDB"),
                 &E));
    MUST(db_exec(c,
                 "INSERT INTO dbt_counter (id, v) VALUES (1, 0); "
                 "INSERT INTO dbt_counter (id, v) VALUES (2, 0)",
                 &E));
}

static int64_t counter(struct db_conn *c, int id)
{
    struct db_param p = DB_INT(id);
    return count_rows(c, "SELECT v FROM dbt_counter WHERE id = ?", &p, 1);
}

static int bump(struct db_conn *c, int id, int by, struct mt_err *err)
{
    struct db_param p[2] = {DB_INT(by), DB_INT(id)};
    return db_query(c, "UPDATE dbt_counter SET v = v + ? WHERE id = ?", p, 2, NULL, err);
}

/* A transaction that reads, lets another connection change the row on its
 * first attempt, then writes: SQLite answers SQLITE_BUSY_SNAPSHOT (a stale
 * WAL snapshot), PostgreSQL REPEATABLE READ a serialization failure. */
struct stale_ctx {
    struct db_conn *other;
    int attempts;
};

static int stale_fn(struct db_conn *c, void *arg, struct mt_err *err)
{
    struct stale_ctx *x = arg;
    int64_t v;
    x->attempts++;
    if (dialect == DB_POSTGRES &&
        db_exec(c, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", err) < 0)
        return -1;
    if (db_query_int(c, "SELECT v FROM dbt_counter WHERE id = 1", NULL, 0, &v, NULL, err) < 0)
        return -1;
    if (x->attempts == 1) {
        struct mt_err e2;
        CHECK_EQ(bump(x->other, 1, 100, &e2), 0);
    }
    return bump(c, 1, 1, err);
}

struct holder_ctx {
    pthread_barrier_t *ready;
    int hold_ms;
    int rc;
};

/* Holds SQLite's write lock for a while from another thread. */
static void *hold_write_lock(void *arg)
{
    struct holder_ctx *h = arg;
    struct db_conn *c = NULL;
    struct mt_err err;
    h->rc = db_open_url(test_url, &c, &err);
    if (h->rc == 0)
        h->rc = db_begin_immediate(c, &err);
    if (h->rc == 0)
        h->rc = bump(c, 2, 1, &err);
    pthread_barrier_wait(h->ready);
    sleep_ms(h->hold_ms);
    if (h->rc == 0)
        h->rc = db_commit(c, &err);
    db_close(c);
    return NULL;
}

static int bump_fn(struct db_conn *c, void *arg, struct mt_err *err)
{
    int *attempts = arg;
    (*attempts)++;
    return bump(c, 2, 10, err);
}

/* Two threads update rows 1 and 2 in opposite order; the barrier makes
 * their first attempts deadlock, and the loser's retry must succeed. */
struct deadlock_ctx {
    pthread_barrier_t *bar;
    int first, second;
    int attempts;
    int rc;
    struct mt_err err;
};

static int deadlock_fn(struct db_conn *c, void *arg, struct mt_err *err)
{
    struct deadlock_ctx *x = arg;
    x->attempts++;
    if (bump(c, x->first, 1, err) < 0)
        return -1;
    if (x->attempts == 1)
        pthread_barrier_wait(x->bar);
    return bump(c, x->second, 1, err);
}

static void *deadlock_thread(void *arg)
{
    struct deadlock_ctx *x = arg;
    struct db_conn *c = NULL;
    x->rc = db_open_url(test_url, &c, &x->err);
    if (x->rc == 0)
        x->rc = db_tx_run(c, true, deadlock_fn, x, &x->err);
    else
        pthread_barrier_wait(x->bar);
    db_close(c);
    return NULL;
}

static void test_real_retries(void)
{
    struct db_conn *c = open_conn();
    struct db_conn *other = open_conn();
    make_counter(c);

    if (dialect != DB_MYSQL) {
        struct stale_ctx x = {.other = other};
        MUST(db_tx_run(c, false, stale_fn, &x, &E));
        CHECK_EQ(x.attempts, 2);
        CHECK_EQ(counter(c, 1), 101);
    }

    if (dialect == DB_SQLITE) {
        /* Busy: another thread holds the write lock longer than our busy
         * timeout; the retries outlast it. */
        pthread_barrier_t ready;
        pthread_barrier_init(&ready, NULL, 2);
        struct holder_ctx h = {.ready = &ready, .hold_ms = 200};
        pthread_t t;
        MUST(db_exec(c, "PRAGMA busy_timeout = 20", &E));
        pthread_create(&t, NULL, hold_write_lock, &h);
        pthread_barrier_wait(&ready);
        /* Deferred, so that fn itself meets the lock and counts the attempts. */
        int attempts = 0;
        MUST(db_tx_run(c, false, bump_fn, &attempts, &E));
        pthread_join(t, NULL);
        pthread_barrier_destroy(&ready);
        CHECK_EQ(h.rc, 0);
        CHECK(attempts >= 2);
        CHECK_EQ(counter(c, 2), 11);
    } else {
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, 2);
        struct deadlock_ctx a = {.bar = &bar, .first = 1, .second = 2};
        struct deadlock_ctx b = {.bar = &bar, .first = 2, .second = 1};
        int64_t v1 = counter(c, 1), v2 = counter(c, 2);
        pthread_t ta, tb;
        pthread_create(&ta, NULL, deadlock_thread, &a);
        pthread_create(&tb, NULL, deadlock_thread, &b);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&bar);
        CHECK_EQ(a.rc, 0);
        CHECK_EQ(b.rc, 0);
        if (a.rc || b.rc)
            fprintf(stderr, "deadlock threads: %s / %s\n", a.err.msg, b.err.msg);
        CHECK_EQ(a.attempts + b.attempts, 3);
        CHECK_EQ(counter(c, 1), v1 + 2);
        CHECK_EQ(counter(c, 2), v2 + 2);
    }
    db_close(other);
    db_close(c);
}

/* ---- scripts ---- */

static void test_scripts(void)
{
    struct db_conn *c = open_conn();
    MUST(db_exec(c, "DROP TABLE IF EXISTS dbt_src; DROP TABLE IF EXISTS dbt_log", &E));
    if (dialect == DB_POSTGRES)
        MUST(db_exec(c, "DROP FUNCTION IF EXISTS dbt_src_ai()", &E));
    const char *script = pick(
        "-- a script as a migration has it; semicolons in 'strings; too'\n"
        "CREATE TABLE dbt_src (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
        "CREATE TABLE dbt_log (id INTEGER PRIMARY KEY, msg TEXT NOT NULL);\n"
        "/* the trigger body has semicolons of its own; */\n"
        "CREATE TRIGGER dbt_src_ai AFTER INSERT ON dbt_src\n"
        "BEGIN\n"
        "  INSERT INTO dbt_log (msg) VALUES ('added; ' || NEW.name);\n"
        "  INSERT INTO dbt_log (msg) VALUES (CASE WHEN NEW.name LIKE '%;%' THEN 'has; semicolon'"
        " ELSE 'plain' END);\n"
        "END;\n"
        "INSERT INTO dbt_src (name) VALUES ('x; -- not a comment');\n",

        "-- a script as a migration has it; semicolons in 'strings; too'\n"
        "CREATE TABLE dbt_src (id SERIAL PRIMARY KEY, name TEXT NOT NULL);\n"
        "CREATE TABLE dbt_log (id SERIAL PRIMARY KEY, msg TEXT NOT NULL);\n"
        "CREATE FUNCTION dbt_src_ai() RETURNS trigger AS $$\n"
        "BEGIN\n"
        "  INSERT INTO dbt_log (msg) VALUES ('added; ' || NEW.name);\n"
        "  INSERT INTO dbt_log (msg) VALUES (CASE WHEN NEW.name LIKE '%;%' THEN 'has; semicolon'"
        " ELSE 'plain' END);\n"
        "  RETURN NEW;\n"
        "END;\n"
        "$$ LANGUAGE plpgsql;\n"
        "/* the trigger calls it; */\n"
        "CREATE TRIGGER dbt_src_ai AFTER INSERT ON dbt_src FOR EACH ROW EXECUTE FUNCTION "
        "dbt_src_ai();\n"
        "INSERT INTO dbt_src (name) VALUES ('x; -- not a comment');\n",

        "-- a script as a migration has it; semicolons in 'strings; too'\n"
        "CREATE TABLE dbt_src (id INTEGER AUTO_INCREMENT PRIMARY KEY, name TEXT NOT NULL)"
        " ENGINE=InnoDB;\n"
        "CREATE TABLE dbt_log (id INTEGER AUTO_INCREMENT PRIMARY KEY, msg TEXT NOT NULL)"
        " ENGINE=InnoDB;\n"
        "/* the trigger body has semicolons of its own; */\n"
        "CREATE TRIGGER dbt_src_ai AFTER INSERT ON dbt_src FOR EACH ROW\n"
        "BEGIN\n"
        "  INSERT INTO dbt_log (msg) VALUES (CONCAT('added; ', NEW.name));\n"
        "  IF NEW.name LIKE '%;%' THEN\n"
        "    INSERT INTO dbt_log (msg) VALUES (CASE WHEN 1 = 1 THEN 'has; semicolon' ELSE 'x' "
        "END);\n"
        "  END IF;\n"
        "END;\n"
        "INSERT INTO dbt_src (name) VALUES ('x; -- not a comment');\n");
    MUST(db_exec(c, script, &E));
    struct db_stmt *st = NULL;
    MUST(db_query(c, "SELECT msg FROM dbt_log ORDER BY id", NULL, 0, &st, &E));
    static const char *const want[] = {"added; x; -- not a comment", "has; semicolon"};
    size_t n = 0;
    while (st && db_next(st, &E) == 1) {
        if (n < 2)
            CHECK_STR(db_col_text(st, 0, NULL), want[n]);
        n++;
    }
    db_done(st);
    CHECK_EQ(n, 2);

    /* A failing statement is named in the message. */
    MUST_FAIL(db_exec(c, "SELECT 1; INSERT INTO dbt_no_such_table VALUES (1); SELECT 2", &E),
              MT_EDB);
    CHECK(strstr(E.msg, "statement 2 of 3") != NULL);
    MUST_FAIL(db_exec(c, "SELECT 'unterminated", &E), MT_EINVAL);
    /* Empty scripts do nothing. */
    MUST(db_exec(c, "  -- nothing here\n;", &E));
    db_close(c);
}

/* ---- introspection ---- */

static const struct db_index *find_index(const struct db_index *ix, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ix[i].name, name) == 0)
            return &ix[i];
    }
    return NULL;
}

static const struct db_fkey *find_fkey(const struct db_fkey *fk, size_t n, const char *column)
{
    for (size_t i = 0; i < n; i++) {
        if (fk[i].column && strcmp(fk[i].column, column) == 0)
            return &fk[i];
    }
    return NULL;
}

/* db_query_each: every row in order, a row function that stops the walk,
 * and a failing query; the cursor is finished each time, so the connection
 * can go on. */
struct each_ctx {
    int64_t sum;
    int rows;
    int stop_at;
};

static int each_row(struct db_stmt *st, void *arg, struct mt_err *err)
{
    struct each_ctx *x = arg;
    x->rows++;
    x->sum = x->sum * 10 + db_col_int(st, 0);
    if (x->rows == x->stop_at)
        return mt_fail(err, MT_ECONFLICT, "stopped at row %d", x->rows);
    return 0;
}

static void test_query_each(void)
{
    struct db_conn *c = open_conn();
    MUST(db_exec(c,
                 "DROP TABLE IF EXISTS dbt_each;"
                 "CREATE TABLE dbt_each (n INTEGER NOT NULL);"
                 "INSERT INTO dbt_each (n) VALUES (3), (1), (2)",
                 &E));
    const char *sql = "SELECT n FROM dbt_each WHERE n >= ? ORDER BY n";
    struct db_param one = DB_INT(1);
    struct each_ctx all = {0};
    MUST(db_query_each(c, sql, &one, 1, each_row, &all, &E));
    CHECK_EQ(all.rows, 3);
    CHECK_EQ(all.sum, 123);
    struct each_ctx stop = {.stop_at = 2};
    MUST_FAIL(db_query_each(c, sql, &one, 1, each_row, &stop, &E), MT_ECONFLICT);
    CHECK_EQ(stop.rows, 2);
    CHECK(strstr(E.msg, "stopped at row 2") != NULL);
    struct each_ctx none = {0};
    MUST_FAIL(db_query_each(c, "SELECT n FROM dbt_each_missing", NULL, 0, each_row, &none, &E),
              MT_EDB);
    CHECK_EQ(none.rows, 0);
    /* Nothing was left open: the same statement runs again at once. */
    struct db_param three = DB_INT(3);
    struct each_ctx last = {0};
    MUST(db_query_each(c, sql, &three, 1, each_row, &last, &E));
    CHECK_EQ(last.sum, 3);
    MUST(db_exec(c, "DROP TABLE dbt_each", &E));
    db_close(c);
}

static void test_introspection(void)
{
    struct db_conn *c = open_conn();
    MUST(db_exec(c, "DROP TABLE IF EXISTS dbt_child; DROP TABLE IF EXISTS dbt_parent", &E));
    MUST(db_exec(
        c,
        pick("CREATE TABLE dbt_parent (id INTEGER PRIMARY KEY AUTOINCREMENT,"
             " code VARCHAR(20) NOT NULL UNIQUE, name VARCHAR(100) DEFAULT 'anon',"
             " qty INTEGER NOT NULL DEFAULT 0, created_at DATETIME DEFAULT CURRENT_TIMESTAMP);"
             "CREATE TABLE dbt_child (id INTEGER PRIMARY KEY AUTOINCREMENT,"
             " parent_id INTEGER NOT NULL REFERENCES dbt_parent (id) ON DELETE CASCADE,"
             " other_id INTEGER REFERENCES dbt_parent ON DELETE SET NULL, note VARCHAR(200));",
             "CREATE TABLE dbt_parent (id SERIAL PRIMARY KEY,"
             " code VARCHAR(20) NOT NULL UNIQUE, name VARCHAR(100) DEFAULT 'anon',"
             " qty INTEGER NOT NULL DEFAULT 0, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);"
             "CREATE TABLE dbt_child (id SERIAL PRIMARY KEY,"
             " parent_id INTEGER NOT NULL REFERENCES dbt_parent (id) ON DELETE CASCADE,"
             " other_id INTEGER REFERENCES dbt_parent ON DELETE SET NULL, note VARCHAR(200));",
             "CREATE TABLE dbt_parent (id INTEGER AUTO_INCREMENT PRIMARY KEY,"
             " code VARCHAR(20) NOT NULL UNIQUE, name VARCHAR(100) DEFAULT 'anon',"
             " qty INTEGER NOT NULL DEFAULT 0, created_at DATETIME DEFAULT CURRENT_TIMESTAMP)"
             " ENGINE=InnoDB;"
             "CREATE TABLE dbt_child (id INTEGER AUTO_INCREMENT PRIMARY KEY,"
             " parent_id INTEGER NOT NULL, other_id INTEGER, note VARCHAR(200),"
             " CONSTRAINT fk_dbt_child_parent FOREIGN KEY (parent_id) REFERENCES dbt_parent (id)"
             " ON DELETE CASCADE,"
             " CONSTRAINT fk_dbt_child_other FOREIGN KEY (other_id) REFERENCES dbt_parent (id)"
             " ON DELETE SET NULL) ENGINE=InnoDB;"),
        &E));
    MUST(db_exec(c,
                 "CREATE INDEX ix_dbt_child_pair ON dbt_child (parent_id, other_id);"
                 "CREATE UNIQUE INDEX ux_dbt_child_note ON dbt_child (note)",
                 &E));

    /* Tables. */
    struct mt_strlist tables = {0};
    MUST(db_tables(c, &tables, &E));
    bool has_parent = false, has_child = false, internal = false;
    for (size_t i = 0; i < tables.n; i++) {
        has_parent = has_parent || strcmp(tables.items[i], "dbt_parent") == 0;
        has_child = has_child || strcmp(tables.items[i], "dbt_child") == 0;
        internal = internal || strncmp(tables.items[i], "sqlite_", 7) == 0;
        if (i > 0)
            CHECK(strcmp(tables.items[i - 1], tables.items[i]) < 0);
    }
    CHECK(has_parent && has_child && !internal);
    mt_strlist_release(&tables);
    bool exists = false;
    MUST(db_table_exists(c, "dbt_parent", &exists, &E));
    CHECK(exists);
    MUST(db_table_exists(c, "dbt_nope", &exists, &E));
    CHECK(!exists);

    /* Columns. */
    struct db_column *cols = NULL;
    size_t n = 0;
    MUST(db_columns(c, "dbt_parent", &cols, &n, &E));
    CHECK_EQ(n, 5);
    if (n == 5) {
        static const char *const names[] = {"id", "code", "name", "qty", "created_at"};
        for (size_t i = 0; i < 5; i++)
            CHECK_STR(cols[i].name, names[i]);
        CHECK(cols[0].pk);
        CHECK(!cols[1].pk && !cols[2].pk && !cols[3].pk && !cols[4].pk);
        CHECK(strstr(cols[0].type, "int") != NULL);
        CHECK(strstr(cols[1].type, "char") && strstr(cols[1].type, "(20)"));
        CHECK(cols[1].notnull);
        CHECK(cols[1].dflt == NULL);
        CHECK(!cols[2].notnull);
        CHECK(cols[2].dflt && strstr(cols[2].dflt, "'anon'"));
        CHECK(cols[3].notnull);
        CHECK(cols[3].dflt && strstr(cols[3].dflt, "0"));
        CHECK(strstr(cols[3].type, "int") != NULL);
        CHECK(strcmp(cols[4].type, pick("datetime", "timestamp without time zone", "datetime")) ==
              0);
        CHECK(cols[4].dflt != NULL);
        for (size_t i = 0; i < 5; i++) {
            for (const char *p = cols[i].type; *p; p++)
                CHECK(!(*p >= 'A' && *p <= 'Z'));
        }
    }
    db_columns_free(cols, n);
    MUST(db_columns(c, "dbt_nope", &cols, &n, &E));
    CHECK_EQ(n, 0);
    db_columns_free(cols, n);

    /* Indexes (primary keys left out). */
    struct db_index *ix = NULL;
    MUST(db_indexes(c, "dbt_child", &ix, &n, &E));
    const struct db_index *pair = find_index(ix, n, "ix_dbt_child_pair");
    const struct db_index *note = find_index(ix, n, "ux_dbt_child_note");
    CHECK(pair && note);
    if (pair) {
        CHECK(!pair->unique);
        CHECK_STR(pair->table, "dbt_child");
        CHECK_EQ(pair->n_columns, 2);
        if (pair->n_columns == 2) {
            CHECK_STR(pair->columns[0], "parent_id");
            CHECK_STR(pair->columns[1], "other_id");
        }
    }
    if (note) {
        CHECK(note->unique);
        CHECK_EQ(note->n_columns, 1);
        if (note->n_columns == 1)
            CHECK_STR(note->columns[0], "note");
    }
    for (size_t i = 0; i < n; i++)
        CHECK(strcmp(ix[i].name, "PRIMARY") != 0 && !strstr(ix[i].name, "pkey"));
    db_indexes_free(ix, n);
    /* The UNIQUE constraint of dbt_parent.code shows as a unique index. */
    MUST(db_indexes(c, "dbt_parent", &ix, &n, &E));
    int uniques = 0;
    for (size_t i = 0; i < n; i++) {
        if (ix[i].unique && ix[i].n_columns == 1 && strcmp(ix[i].columns[0], "code") == 0)
            uniques++;
    }
    CHECK_EQ(uniques, 1);
    db_indexes_free(ix, n);

    /* Foreign keys. */
    struct db_fkey *fk = NULL;
    MUST(db_fkeys(c, "dbt_child", &fk, &n, &E));
    CHECK_EQ(n, 2);
    const struct db_fkey *fp = find_fkey(fk, n, "parent_id");
    const struct db_fkey *fo = find_fkey(fk, n, "other_id");
    CHECK(fp && fo);
    if (fp) {
        CHECK_STR(fp->table, "dbt_child");
        CHECK_STR(fp->ref_table, "dbt_parent");
        CHECK_STR(fp->ref_column, "id");
        CHECK_STR(fp->on_delete, "CASCADE");
        if (dialect == DB_MYSQL)
            CHECK_STR(fp->name, "fk_dbt_child_parent");
        if (dialect != DB_SQLITE)
            CHECK(fp->name != NULL);
    }
    if (fo) {
        CHECK_STR(fo->ref_table, "dbt_parent");
        /* On SQLite "REFERENCES dbt_parent" names no column: the primary key. */
        CHECK_STR(fo->ref_column, "id");
        CHECK_STR(fo->on_delete, "SET NULL");
    }
    db_fkeys_free(fk, n);
    MUST(db_fkeys(c, "dbt_parent", &fk, &n, &E));
    CHECK_EQ(n, 0);
    db_fkeys_free(fk, n);

    /* The keys are enforced (foreign_keys=ON on SQLite). */
    int64_t p1 = 0, p2 = 0;
    bool found;
    MUST(db_query_int(c, "INSERT INTO dbt_parent (code) VALUES ('p1') RETURNING id", NULL, 0, &p1,
                      &found, &E));
    MUST(db_query_int(c, "INSERT INTO dbt_parent (code) VALUES ('p2') RETURNING id", NULL, 0, &p2,
                      &found, &E));
    struct db_param kids[2] = {DB_INT(p1), DB_INT(p2)};
    MUST(db_query(c, "INSERT INTO dbt_child (parent_id, other_id) VALUES (?, ?)", kids, 2, NULL,
                  &E));
    struct db_param orphan[2] = {DB_INT(p2 + 1000), DB_NULL};
    MUST_FAIL(db_query(c, "INSERT INTO dbt_child (parent_id, other_id) VALUES (?, ?)", orphan, 2,
                       NULL, &E),
              MT_ECONFLICT);
    MUST(db_query(c, "DELETE FROM dbt_parent WHERE id = ?", &kids[1], 1, NULL, &E));
    CHECK_EQ(count_rows(c, "SELECT COUNT(*) FROM dbt_child WHERE other_id IS NULL", NULL, 0), 1);
    MUST(db_query(c, "DELETE FROM dbt_parent WHERE id = ?", &kids[0], 1, NULL, &E));
    CHECK_EQ(count_rows(c, "SELECT COUNT(*) FROM dbt_child", NULL, 0), 0);
    db_close(c);
}

/* ---- pool ---- */

enum { POOL_SIZE = 3, POOL_THREADS = 8, POOL_ROUNDS = 15 };

struct pool_state {
    struct db_pool *pool;
    pthread_mutex_t mu;
    struct db_conn *seen[16];
    bool busy[16];
    int n_seen;
    int holders, max_holders;
    int violations;
    int failures;
};

static void hold(struct pool_state *ps, struct db_conn *c, bool take)
{
    pthread_mutex_lock(&ps->mu);
    int k = 0;
    while (k < ps->n_seen && ps->seen[k] != c)
        k++;
    if (k == ps->n_seen && k < 16)
        ps->seen[ps->n_seen++] = c;
    if (k < 16) {
        if (take && ps->busy[k])
            ps->violations++;
        ps->busy[k] = take;
    }
    ps->holders += take ? 1 : -1;
    if (ps->holders > ps->max_holders)
        ps->max_holders = ps->holders;
    pthread_mutex_unlock(&ps->mu);
}

struct pool_worker {
    struct pool_state *ps;
    int id;
};

static int pool_insert(struct db_conn *c, void *arg, struct mt_err *err)
{
    struct pool_worker *w = arg;
    struct db_param p[2] = {DB_INT(w->id), DB_INT(1)};
    return db_query(c, "INSERT INTO dbt_pool (worker, n) VALUES (?, ?)", p, 2, NULL, err);
}

static void *pool_thread(void *arg)
{
    struct pool_worker *w = arg;
    for (int r = 0; r < POOL_ROUNDS; r++) {
        struct mt_err err;
        struct db_conn *c = db_pool_get(w->ps->pool, 30000, &err);
        if (!c) {
            fprintf(stderr, "pool get: %s\n", err.msg);
            __atomic_add_fetch(&w->ps->failures, 1, __ATOMIC_SEQ_CST);
            continue;
        }
        hold(w->ps, c, true);
        if (db_tx_run(c, true, pool_insert, w, &err) < 0) {
            fprintf(stderr, "pool insert: %s\n", err.msg);
            __atomic_add_fetch(&w->ps->failures, 1, __ATOMIC_SEQ_CST);
        }
        hold(w->ps, c, false);
        db_pool_put(w->ps->pool, c);
    }
    return NULL;
}

static void kill_backend(struct db_conn *victim)
{
    struct db_conn *killer = open_conn();
    int64_t id = 0;
    MUST(db_query_int(victim, pick("", "SELECT pg_backend_pid()", "SELECT CONNECTION_ID()"), NULL,
                      0, &id, NULL, &E));
    if (dialect == DB_POSTGRES) {
        struct db_param p = DB_INT(id);
        MUST(db_query(killer, "SELECT pg_terminate_backend(?)", &p, 1, NULL, &E));
    } else {
        char sql[64];
        snprintf(sql, sizeof sql, "KILL CONNECTION %" PRId64, id);
        MUST(db_exec(killer, sql, &E));
    }
    /* The server ends the session on its own time: on a loaded machine a
     * fixed pause was sometimes too short. Wait (up to 10 s) until the
     * server no longer lists it. */
    const char *gone = pick("", "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?",
                            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?");
    int64_t left = 1;
    for (int i = 0; i < 200 && left > 0; i++) {
        struct db_param p = DB_INT(id);
        MUST(db_query_int(killer, gone, &p, 1, &left, NULL, &E));
        if (left > 0)
            sleep_ms(50);
    }
    CHECK_EQ(left, 0);
    db_close(killer);
}

static void test_pool(void)
{
    struct db_conn *c = open_conn();
    MUST(db_exec(c, "DROP TABLE IF EXISTS dbt_pool", &E));
    MUST(
        db_exec(c,
                pick("CREATE TABLE dbt_pool (id INTEGER PRIMARY KEY, worker INTEGER, n INTEGER)",
                     "CREATE TABLE dbt_pool (id SERIAL PRIMARY KEY, worker INTEGER, n INTEGER)",
                     "CREATE TABLE dbt_pool (id INTEGER AUTO_INCREMENT PRIMARY KEY, worker INTEGER,"
                     " n INTEGER) ENGINE=InnoDB"),
                &E));

    /* Many threads, few connections. */
    struct pool_state ps = {0};
    pthread_mutex_init(&ps.mu, NULL);
    MUST(db_pool_new(test_url, POOL_SIZE, &ps.pool, &E));
    if (ps.pool) {
        pthread_t t[POOL_THREADS];
        struct pool_worker w[POOL_THREADS];
        for (int i = 0; i < POOL_THREADS; i++) {
            w[i] = (struct pool_worker){.ps = &ps, .id = i};
            pthread_create(&t[i], NULL, pool_thread, &w[i]);
        }
        for (int i = 0; i < POOL_THREADS; i++)
            pthread_join(t[i], NULL);
        CHECK_EQ(ps.failures, 0);
        CHECK_EQ(ps.violations, 0);
        CHECK(ps.max_holders <= POOL_SIZE);
        CHECK(ps.n_seen >= 1 && ps.n_seen <= POOL_SIZE);
        CHECK_EQ(count_rows(c, "SELECT COUNT(*) FROM dbt_pool", NULL, 0),
                 POOL_THREADS * POOL_ROUNDS);
        db_pool_free(ps.pool);
    }
    pthread_mutex_destroy(&ps.mu);

    /* A pool of one: waiting times out; a returned connection is reused;
     * forgotten cursors and transactions are cleaned up on return. */
    struct db_pool *p = NULL;
    MUST(db_pool_new(test_url, 1, &p, &E));
    if (p) {
        struct db_conn *c1 = db_pool_get(p, 1000, &E);
        CHECK(c1 != NULL);
        mt_err_clear(&E);
        CHECK(db_pool_get(p, 50, &E) == NULL);
        CHECK_EQ(E.code, MT_EUNAVAIL);
        mt_err_clear(&E);
        CHECK(db_pool_get(p, 0, &E) == NULL);
        CHECK_EQ(E.code, MT_EUNAVAIL);
        struct db_stmt *st = NULL;
        MUST(db_query(c1, "SELECT id FROM dbt_pool ORDER BY id", NULL, 0, &st, &E));
        CHECK_EQ(db_next(st, &E), 1);
        MUST(db_begin(c1, &E));
        MUST(db_query(c1, "INSERT INTO dbt_pool (worker, n) VALUES (99, 1)", NULL, 0, NULL, &E));
        db_pool_put(p, c1);
        struct db_conn *c2 = db_pool_get(p, 1000, &E);
        CHECK(c2 == c1);
        if (c2) {
            CHECK(!db_in_tx(c2));
            CHECK_EQ(count_rows(c2, "SELECT COUNT(*) FROM dbt_pool WHERE worker = 99", NULL, 0), 0);
            MUST(db_query(c2, "SELECT id FROM dbt_pool ORDER BY id", NULL, 0, &st, &E));
            CHECK_EQ(db_next(st, &E), 1);
            db_done(st);
        }
        /* A connection whose server side died is replaced: a read that meets
         * it runs again on a new session (tests/db/test_dbfault.c has the
         * cases), and the pool finds an idle one dead when it is taken. */
        if (c2 && dialect != DB_SQLITE) {
            kill_backend(c2);
            CHECK_EQ(count_rows(c2, "SELECT 1", NULL, 0), 1);
            kill_backend(c2);
            db_pool_put(p, c2);
            c2 = db_pool_get(p, 1000, &E);
            CHECK(c2 != NULL);
            if (c2)
                CHECK_EQ(count_rows(c2, "SELECT COUNT(*) FROM dbt_pool", NULL, 0),
                         POOL_THREADS * POOL_ROUNDS);
        }
        db_pool_put(p, c2);
        db_pool_free(p);
    }

    /* Bad pools. */
    MUST_FAIL(db_pool_new("nonsense", 2, &p, &E), MT_EINVAL);
    MUST_FAIL(db_pool_new(test_url, 0, &p, &E), MT_EINVAL);
    static const char *const unreachable[] = {"postgresql://u:" SECRET "@127.0.0.1:1/x",
                                              "mysql://u:" SECRET "@127.0.0.1:1/x"};
    for (size_t i = 0; i < MT_ARRAY_LEN(unreachable); i++) {
        MUST(db_pool_new(unreachable[i], 1, &p, &E));
        for (int k = 0; p && k < 2; k++) {
            mt_err_clear(&E);
            CHECK(db_pool_get(p, 100, &E) == NULL);
            CHECK_EQ(E.code, MT_EUNAVAIL);
            CHECK(strstr(E.msg, "cannot connect") != NULL);
            CHECK(strstr(E.msg, SECRET) == NULL);
        }
        db_pool_free(p);
    }
    db_close(c);
}

/* ---- streamed results ---- */

enum { STREAM_ROWS = 20000 };

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* A table of STREAM_ROWS rows made by the server itself (a cross join of
 * digits), every 1000th with a name longer than MariaDB's first column
 * buffer. */
static void make_stream_table(struct db_conn *c, const char *longname)
{
    MUST(db_exec(c, "DROP TABLE IF EXISTS dbt_stream; DROP TABLE IF EXISTS dbt_digits", &E));
    MUST(db_exec(c, "CREATE TABLE dbt_digits (d INTEGER)", &E));
    MUST(db_exec(c, "INSERT INTO dbt_digits (d) VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)",
                 &E));
    MUST(db_exec(c,
                 pick("CREATE TABLE dbt_stream (id INTEGER PRIMARY KEY, name TEXT, at TIMESTAMP)",
                      "CREATE TABLE dbt_stream (id INTEGER PRIMARY KEY, name TEXT, at TIMESTAMP)",
                      "CREATE TABLE dbt_stream (id INTEGER PRIMARY KEY, name TEXT, at DATETIME(6))"
                      " ENGINE=InnoDB"),
                 &E));
    MUST(db_exec(
        c,
        pick("INSERT INTO dbt_stream (id, name) SELECT n, 'row ' || n FROM (SELECT"
             " a.d + 10 * b.d + 100 * x.d + 1000 * y.d + 10000 * z.d AS n FROM dbt_digits a,"
             " dbt_digits b, dbt_digits x, dbt_digits y, dbt_digits z) t WHERE n < 20000",
             "INSERT INTO dbt_stream (id, name) SELECT n, 'row ' || n FROM (SELECT"
             " a.d + 10 * b.d + 100 * x.d + 1000 * y.d + 10000 * z.d AS n FROM dbt_digits a,"
             " dbt_digits b, dbt_digits x, dbt_digits y, dbt_digits z) t WHERE n < 20000",
             "INSERT INTO dbt_stream (id, name) SELECT n, CONCAT('row ', n) FROM (SELECT"
             " a.d + 10 * b.d + 100 * x.d + 1000 * y.d + 10000 * z.d AS n FROM dbt_digits a,"
             " dbt_digits b, dbt_digits x, dbt_digits y, dbt_digits z) t WHERE n < 20000"),
        &E));
    struct db_param p[] = {DB_TEXT(longname), DB_TEXT("2026-01-02 03:04:05.25")};
    MUST(db_query(c, "UPDATE dbt_stream SET name = ? WHERE id % 1000 = 7", p, 1, NULL, &E));
    MUST(db_query(c, "UPDATE dbt_stream SET at = ?", p + 1, 1, NULL, &E));
}

/* Reads a whole streamed result of dbt_stream and checks every row. */
static void stream_all(struct db_conn *c, const char *longname)
{
    struct db_stmt *st = NULL;
    struct db_param p[] = {DB_INT(0), DB_INT(STREAM_ROWS)};
    MUST(db_query_stream(c,
                         "SELECT id, name, at FROM dbt_stream WHERE id >= ? AND id < ?"
                         " ORDER BY id",
                         p, 2, &st, &E));
    if (!st)
        return;
    int64_t n = 0, bad = 0;
    int rc = db_next(st, &E);
    while (rc == 1) {
        char want[32];
        snprintf(want, sizeof want, "row %" PRId64, n);
        size_t len = 0;
        const char *name = db_col_text(st, 1, &len);
        const char *at = db_col_text(st, 2, NULL);
        const char *expect = n % 1000 == 7 ? longname : want;
        if (db_col_int(st, 0) != n || !name || strcmp(name, expect) != 0 || len != strlen(expect) ||
            !at || strcmp(at, "2026-01-02 03:04:05.250000") != 0)
            bad++;
        n++;
        rc = db_next(st, &E);
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(n, STREAM_ROWS);
    CHECK_EQ(bad, 0);
    CHECK_EQ(db_col_count(st) >= 0, 1);
    db_done(st);
}

/* A connection that is busy with a streamed result refuses everything
 * else, on every dialect, until db_done. */
static void stream_exclusive(struct db_conn *c)
{
    struct db_stmt *st = NULL, *other = NULL;
    int64_t v = 0;
    MUST(db_query_stream(c, "SELECT id FROM dbt_stream ORDER BY id", NULL, 0, &st, &E));
    if (!st)
        return;
    CHECK_EQ(db_next(st, &E), 1);
    MUST_FAIL(db_query(c, "SELECT 1", NULL, 0, NULL, &E), MT_EINTERNAL);
    CHECK(strstr(E.msg, "streamed result") != NULL);
    MUST_FAIL(db_query_int(c, "SELECT 1", NULL, 0, &v, NULL, &E), MT_EINTERNAL);
    MUST_FAIL(db_query_stream(c, "SELECT 1", NULL, 0, &other, &E), MT_EINTERNAL);
    CHECK(other == NULL);
    MUST_FAIL(db_exec(c, "SELECT 1", &E), MT_EINTERNAL);
    MUST_FAIL(db_begin(c, &E), MT_EINTERNAL);
    /* The stream itself is unharmed. */
    CHECK_EQ(db_next(st, &E), 1);
    CHECK_EQ(db_col_int(st, 0), 1);
    db_done(st);
    CHECK_EQ(count_rows(c, "SELECT COUNT(*) FROM dbt_stream", NULL, 0), STREAM_ROWS);
}

/* A result dropped after a few rows leaves the connection usable, also
 * inside a transaction (where PostgreSQL must not cancel: that would fail
 * the transaction). */
static void stream_abandon(struct db_conn *c)
{
    struct db_stmt *st = NULL;
    for (int in_tx = 0; in_tx < 2; in_tx++) {
        if (in_tx)
            MUST(db_begin(c, &E));
        MUST(db_query_stream(c, "SELECT id, name FROM dbt_stream ORDER BY id", NULL, 0, &st, &E));
        for (int i = 0; st && i < 10; i++)
            CHECK_EQ(db_next(st, &E), 1);
        db_done(st);
        CHECK_EQ(count_rows(c, "SELECT COUNT(*) FROM dbt_stream", NULL, 0), STREAM_ROWS);
        if (in_tx) {
            MUST(db_query(c, "UPDATE dbt_stream SET name = 'changed' WHERE id = 1", NULL, 0, NULL,
                          &E));
            MUST(db_commit(c, &E));
            CHECK_EQ(
                count_rows(c, "SELECT COUNT(*) FROM dbt_stream WHERE name = 'changed'", NULL, 0),
                1);
        }
    }
    /* On PostgreSQL a huge result is cancelled on the server, not read to
     * its end: 400 million rows would take minutes. */
    if (dialect == DB_POSTGRES) {
        double t0 = now_ms();
        MUST(db_query_stream(c, "SELECT a.id, b.id FROM dbt_stream a, dbt_stream b", NULL, 0, &st,
                             &E));
        for (int i = 0; st && i < 1000; i++)
            CHECK_EQ(db_next(st, &E), 1);
        db_done(st);
        double ms = now_ms() - t0;
        CHECK(ms < 5000);
        printf("abandoning a 400M-row result took %.0f ms\n", ms);
        CHECK_EQ(count_rows(c, "SELECT COUNT(*) FROM dbt_digits", NULL, 0), 10);
    }
}

static void test_streaming(void)
{
    struct db_conn *c = open_conn();
    char longname[401];
    for (int i = 0; i < 400; i++)
        longname[i] = (char)('a' + i % 26);
    longname[400] = '\0';
    make_stream_table(c, longname);
    stream_all(c, longname);
    stream_exclusive(c);
    stream_abandon(c);

    /* No rows, and a statement without a result. */
    struct db_stmt *st = NULL;
    MUST(db_query_stream(c, "SELECT id FROM dbt_stream WHERE id < 0", NULL, 0, &st, &E));
    if (st) {
        CHECK_EQ(db_next(st, &E), 0);
        CHECK_EQ(db_next(st, &E), 0);
        db_done(st);
    }
    MUST(db_query_stream(c, "UPDATE dbt_stream SET name = 'x' WHERE id < 3", NULL, 0, &st, &E));
    if (st) {
        CHECK_EQ(db_next(st, &E), 0);
        db_done(st);
        CHECK_EQ(db_changes(c), 3);
    }
    /* Errors: of the statement itself, reported by db_query_stream; met
     * after some rows, reported by db_next (PostgreSQL computes 1/0 as an
     * error; the others give NULL). */
    MUST_FAIL(db_query_stream(c, "SELECT no_such_column FROM dbt_stream", NULL, 0, &st, &E),
              MT_EDB);
    CHECK(st == NULL);
    if (dialect == DB_POSTGRES) {
        MUST_FAIL(db_query_stream(c, "SELECT 1 / (id - id) FROM dbt_stream", NULL, 0, &st, &E),
                  MT_EDB);
        MUST(db_query_stream(c, "SELECT 1 / (g - 5000) FROM generate_series(1, 10000) g", NULL, 0,
                             &st, &E));
        int n = 0, rc = 0;
        while (st && (rc = db_next(st, &E)) == 1)
            n++;
        CHECK_EQ(rc, -1);
        CHECK_EQ(E.code, MT_EDB);
        CHECK_EQ(n, 4999);
        db_done(st);
    }
    CHECK_EQ(count_rows(c, "SELECT COUNT(*) FROM dbt_stream", NULL, 0), STREAM_ROWS);

    /* A server that goes away in the middle: the cursor ends in an error,
     * never in a silent end that would pass for the whole result. */
    if (dialect != DB_SQLITE) {
        struct db_conn *killer = open_conn();
        int64_t pid = 0;
        MUST(db_query_int(c, pick("", "SELECT pg_backend_pid()", "SELECT CONNECTION_ID()"), NULL, 0,
                          &pid, NULL, &E));
        MUST(db_query_stream(c, "SELECT a.id, b.name FROM dbt_stream a, dbt_stream b", NULL, 0, &st,
                             &E));
        CHECK_EQ(st ? db_next(st, &E) : -1, 1);
        struct db_param p = DB_INT(pid);
        if (dialect == DB_POSTGRES) {
            MUST(db_query(killer, "SELECT pg_terminate_backend(?)", &p, 1, NULL, &E));
        } else {
            char sql[64];
            snprintf(sql, sizeof sql, "KILL CONNECTION %" PRId64, pid);
            MUST(db_exec(killer, sql, &E));
        }
        db_close(killer);
        int rc = 1;
        int64_t rows = 0;
        mt_err_clear(&E);
        while (st && rc == 1 && rows < 50000000) {
            rc = db_next(st, &E);
            rows++;
        }
        CHECK_EQ(rc, -1);
        CHECK_EQ(E.code, MT_EUNAVAIL);
        if (E.code != MT_EUNAVAIL)
            fprintf(stderr, "killed mid-stream: %s\n", E.msg);
        db_done(st);
    }
    db_close(c);

    /* The pool closes a stream left open, and the connection serves on. */
    struct db_pool *pool = NULL;
    MUST(db_pool_new(test_url, 1, &pool, &E));
    if (pool) {
        struct db_conn *pc = db_pool_get(pool, 1000, &E);
        if (pc) {
            MUST(db_query_stream(pc, "SELECT id FROM dbt_stream ORDER BY id", NULL, 0, &st, &E));
            CHECK_EQ(st ? db_next(st, &E) : -1, 1);
            db_pool_put(pool, pc);
            pc = db_pool_get(pool, 1000, &E);
            CHECK(pc != NULL);
            if (pc)
                CHECK_EQ(count_rows(pc, "SELECT COUNT(*) FROM dbt_stream", NULL, 0), STREAM_ROWS);
            db_pool_put(pool, pc);
        }
        db_pool_free(pool);
    }
}

/* ---- SQLite: the shared in-memory database, the writer queue, the busy
 * timeout as a deadline, and files the process may not write ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connection to the test database with its own busy timeout. */
static struct db_conn *open_with_timeout(int busy_ms)
{
    struct db_url u;
    struct db_conn *c = NULL;
    MUST(db_url_parse(test_url, &u, &E));
    u.busy_timeout_ms = busy_ms;
    MUST(db_open(&u, &c, &E));
    db_url_release(&u);
    if (!c) {
        fprintf(stderr, "cannot go on without a connection\n");
        exit(1);
    }
    return c;
}

static void test_sqlite_memory(void)
{
    struct db_conn *a = NULL, *b = NULL;
    MUST(db_open_url("sqlite:///:memory:", &a, &E));
    MUST(db_open_url("sqlite:///:memory:", &b, &E));
    if (!a || !b) {
        db_close(a);
        db_close(b);
        return;
    }
    CHECK(db_sqlite_is_memory(a));
    MUST(db_exec(a, "CREATE TABLE dbt_mem (v INTEGER); INSERT INTO dbt_mem VALUES (7)", &E));
    /* The other connection sees the table and the row at once. */
    CHECK_EQ(count_rows(b, "SELECT SUM(v) FROM dbt_mem", NULL, 0), 7);
    /* Writers of the memory database queue like those of a file. */
    MUST(db_begin_immediate(a, &E));
    MUST(db_query(a, "INSERT INTO dbt_mem VALUES (1)", NULL, 0, NULL, &E));
    MUST(db_commit(a, &E));
    MUST(db_query(b, "INSERT INTO dbt_mem VALUES (2)", NULL, 0, NULL, &E));
    CHECK_EQ(count_rows(a, "SELECT SUM(v) FROM dbt_mem", NULL, 0), 10);
    /* It has no file: no lock file, no safety copy next to it. */
    char *file = NULL;
    MUST(db_query_text(a, "SELECT file FROM pragma_database_list WHERE name = 'main'", NULL, 0,
                       &file, &E));
    CHECK(file && access(file, F_OK) != 0);
    free(file);
    db_close(a);
    db_close(b);
    /* With every connection closed, the database lives on for the process. */
    MUST(db_open_url("sqlite:///:memory:", &a, &E));
    if (a) {
        CHECK_EQ(count_rows(a, "SELECT SUM(v) FROM dbt_mem", NULL, 0), 10);
        db_close(a);
    }
    /* A file database is not "memory". */
    struct db_conn *f = open_conn();
    CHECK(!db_sqlite_is_memory(f));
    db_close(f);
}

/* Holds the writer's turn (a BEGIN IMMEDIATE transaction) for hold_ms from
 * another thread, then commits. */
struct turn_ctx {
    pthread_barrier_t *ready;
    int hold_ms;
    int rc;
};

static void *hold_turn(void *arg)
{
    struct turn_ctx *h = arg;
    struct db_conn *c = NULL;
    struct mt_err err;
    h->rc = db_open_url(test_url, &c, &err);
    if (h->rc == 0)
        h->rc = db_begin_immediate(c, &err);
    if (h->rc == 0)
        h->rc = db_query(c, "UPDATE dbt_queue SET v = v + 1 WHERE id = 1", NULL, 0, NULL, &err);
    pthread_barrier_wait(h->ready);
    sleep_ms(h->hold_ms);
    if (h->rc == 0)
        h->rc = db_commit(c, &err);
    db_close(c);
    return NULL;
}

/* Starts hold_turn and returns once it holds the turn. */
static void start_holder(pthread_t *t, struct turn_ctx *h, pthread_barrier_t *ready, int hold_ms)
{
    pthread_barrier_init(ready, NULL, 2);
    *h = (struct turn_ctx){.ready = ready, .hold_ms = hold_ms};
    pthread_create(t, NULL, hold_turn, h);
    pthread_barrier_wait(ready);
}

static void join_holder(pthread_t t, struct turn_ctx *h, pthread_barrier_t *ready)
{
    pthread_join(t, NULL);
    pthread_barrier_destroy(ready);
    CHECK_EQ(h->rc, 0);
}

static int queue_insert(struct db_conn *c, void *arg, struct mt_err *err)
{
    int *attempts = arg;
    (*attempts)++;
    return db_query(c, "INSERT INTO dbt_queue (v) VALUES (100)", NULL, 0, NULL, err);
}

static void test_sqlite_writers(void)
{
    struct db_conn *c = open_conn();
    MUST(db_exec(c, "DROP TABLE IF EXISTS dbt_queue", &E));
    MUST(db_exec(c, "CREATE TABLE dbt_queue (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)", &E));
    MUST(db_exec(c, "INSERT INTO dbt_queue (id, v) VALUES (1, 0)", &E));
    int64_t v = 0;
    MUST(db_query_int(c, "PRAGMA busy_timeout", NULL, 0, &v, NULL, &E));
    CHECK_EQ(v, 5000);
    struct db_conn *quick = open_with_timeout(150);
    MUST(db_query_int(quick, "PRAGMA busy_timeout", NULL, 0, &v, NULL, &E));
    CHECK_EQ(v, 150);

    pthread_t t;
    struct turn_ctx h;
    pthread_barrier_t ready;

    /* A writer queues behind another thread's transaction and goes in as
     * soon as it commits, with one attempt: no busy error, no retry. */
    start_holder(&t, &h, &ready, 200);
    int attempts = 0;
    int64_t t0 = mono_ms();
    MUST(db_tx_run(c, true, queue_insert, &attempts, &E));
    int64_t waited = mono_ms() - t0;
    join_holder(t, &h, &ready);
    CHECK_EQ(attempts, 1);
    CHECK(waited >= 150);
    CHECK_EQ(count_rows(c, "SELECT v FROM dbt_queue WHERE id = 1", NULL, 0), 1);

    /* A write outside a transaction queues too. */
    start_holder(&t, &h, &ready, 150);
    t0 = mono_ms();
    MUST(db_query(c, "INSERT INTO dbt_queue (v) VALUES (200)", NULL, 0, NULL, &E));
    waited = mono_ms() - t0;
    join_holder(t, &h, &ready);
    CHECK(waited >= 100);
    CHECK_EQ(count_rows(c, "SELECT COUNT(*) FROM dbt_queue WHERE v = 200", NULL, 0), 1);

    /* Readers do not queue: a read during the other's transaction is immediate. */
    start_holder(&t, &h, &ready, 300);
    t0 = mono_ms();
    CHECK_EQ(count_rows(c, "SELECT COUNT(*) FROM dbt_queue", NULL, 0), 3);
    waited = mono_ms() - t0;
    join_holder(t, &h, &ready);
    CHECK(waited < 200);

    /* The busy timeout is the deadline: a transaction held longer makes the
     * writer give up after about the busy timeout, once, as a timeout. */
    start_holder(&t, &h, &ready, 900);
    attempts = 0;
    t0 = mono_ms();
    MUST_FAIL(db_tx_run(quick, true, queue_insert, &attempts, &E), MT_ETIMEOUT);
    waited = mono_ms() - t0;
    CHECK(strstr(E.msg, "SQLITE_BUSY_TIMEOUT") != NULL);
    /* A single write outside a transaction is bounded the same way. */
    int64_t t1 = mono_ms();
    MUST_FAIL(db_query(quick, "INSERT INTO dbt_queue (v) VALUES (300)", NULL, 0, NULL, &E),
              MT_ETIMEOUT);
    int64_t waited2 = mono_ms() - t1;
    join_holder(t, &h, &ready);
    CHECK(waited >= 120 && waited < 700);
    CHECK(waited2 >= 120 && waited2 < 700);
    CHECK_EQ(attempts, 0);
    CHECK(!db_in_tx(quick));
    CHECK_EQ(count_rows(c, "SELECT COUNT(*) FROM dbt_queue WHERE v IN (100, 300)", NULL, 0), 1);

    /* Two connections of one thread: the second writer cannot wait for the
     * first (same thread), so it must give up at its deadline rather than
     * hang. The first then finishes normally and its turn passes on. */
    MUST(db_begin_immediate(c, &E));
    MUST(db_query(c, "UPDATE dbt_queue SET v = v + 1 WHERE id = 1", NULL, 0, NULL, &E));
    t0 = mono_ms();
    MUST_FAIL(db_query(quick, "UPDATE dbt_queue SET v = 0 WHERE id = 1", NULL, 0, NULL, &E),
              MT_ETIMEOUT);
    waited = mono_ms() - t0;
    CHECK(waited >= 120 && waited < 700);
    MUST(db_commit(c, &E));
    MUST(db_query(quick, "UPDATE dbt_queue SET v = v + 10 WHERE id = 1", NULL, 0, NULL, &E));
    CHECK_EQ(count_rows(c, "SELECT v FROM dbt_queue WHERE id = 1", NULL, 0), 15);

    /* A transaction rolled back, or left open and cleaned up by db_close,
     * gives its turn back. */
    MUST(db_begin_immediate(c, &E));
    MUST(db_rollback(c, &E));
    MUST(db_begin_immediate(quick, &E));
    MUST(db_commit(quick, &E));
    struct db_conn *left = open_conn();
    MUST(db_begin_immediate(left, &E));
    db_close(left);
    t0 = mono_ms();
    MUST(db_begin_immediate(quick, &E));
    MUST(db_commit(quick, &E));
    CHECK(mono_ms() - t0 < 100);
    /* A RETURNING write keeps the turn until its rows are read. */
    struct db_stmt *st = NULL;
    MUST(db_query(c, "INSERT INTO dbt_queue (v) VALUES (400) RETURNING id", NULL, 0, &st, &E));
    CHECK_EQ(db_next(st, &E), 1);
    db_done(st);
    MUST(db_begin_immediate(quick, &E));
    MUST(db_commit(quick, &E));

    db_close(quick);
    db_close(c);
}

/* A query that runs for seconds on SQLite unless something cuts it. */
#define SLOW_SQL                                                                                   \
    "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 200000000)"          \
    " SELECT COUNT(*) FROM r"

static int slow_write(struct db_conn *c, void *arg, struct mt_err *err)
{
    int *attempts = arg;
    (*attempts)++;
    if (db_query(c, "INSERT INTO dbt_queue (v) VALUES (500)", NULL, 0, NULL, err) < 0)
        return -1;
    return db_query(c, SLOW_SQL, NULL, 0, NULL, err);
}

/* The session limits on SQLite, which the driver enforces itself: the lock
 * wait limit is the smallest of the busy timeout and the limits set; a
 * statement limit cuts a long call (as MT_ETIMEOUT, the work undone, the
 * writer's turn given back); a lock wait behind another process that used
 * up the limit is a timeout too; 0 restores the busy timeout. */
static void test_sqlite_limits(void)
{
    struct db_conn *c = open_conn();
    struct db_conn *other = open_conn();
    int64_t v = 0;
    MUST(db_set_timeouts(c, 0, 200, &E));
    MUST(db_query_int(c, "PRAGMA busy_timeout", NULL, 0, &v, NULL, &E));
    CHECK_EQ(v, 200);
    MUST(db_set_timeouts(c, 300, 0, &E));
    MUST(db_query_int(c, "PRAGMA busy_timeout", NULL, 0, &v, NULL, &E));
    CHECK_EQ(v, 300);
    MUST(db_set_timeouts(c, 0, 60000, &E));
    MUST(db_query_int(c, "PRAGMA busy_timeout", NULL, 0, &v, NULL, &E));
    CHECK_EQ(v, 5000);

    /* The queue honours the session's lock limit. */
    pthread_t t;
    struct turn_ctx h;
    pthread_barrier_t ready;
    MUST(db_set_timeouts(c, 0, 200, &E));
    start_holder(&t, &h, &ready, 900);
    int64_t t0 = mono_ms();
    MUST_FAIL(db_query(c, "INSERT INTO dbt_queue (v) VALUES (600)", NULL, 0, NULL, &E),
              MT_ETIMEOUT);
    int64_t waited = mono_ms() - t0;
    join_holder(t, &h, &ready);
    CHECK(waited >= 150 && waited < 800);
    CHECK(strstr(E.msg, "lock or statement timeout") != NULL);

    /* A statement limit cuts a long query, and the connection stays usable. */
    MUST(db_set_timeouts(c, 150, 0, &E));
    t0 = mono_ms();
    MUST_FAIL(db_query(c, SLOW_SQL, NULL, 0, NULL, &E), MT_ETIMEOUT);
    waited = mono_ms() - t0;
    CHECK(waited >= 140 && waited < 1500);
    CHECK(strstr(E.msg, "statement limit 150 ms") != NULL);
    CHECK_EQ(count_rows(c, "SELECT 1", NULL, 0), 1);
    /* ... also inside a write transaction: undone, not retried, and the
     * writer's turn is free at once. */
    int before = (int)count_rows(c, "SELECT COUNT(*) FROM dbt_queue WHERE v = 500", NULL, 0);
    int attempts = 0;
    MUST_FAIL(db_tx_run(c, true, slow_write, &attempts, &E), MT_ETIMEOUT);
    CHECK_EQ(attempts, 1);
    CHECK(!db_in_tx(c));
    CHECK_EQ(count_rows(other, "SELECT COUNT(*) FROM dbt_queue WHERE v = 500", NULL, 0), before);
    t0 = mono_ms();
    MUST(db_begin_immediate(other, &E));
    MUST(db_commit(other, &E));
    CHECK(mono_ms() - t0 < 100);
    /* A time long past does not cut the next statement (the deadline is
     * per call). */
    sleep_ms(200);
    MUST(db_query(c, "INSERT INTO dbt_queue (v) VALUES (700)", NULL, 0, NULL, &E));
    /* Without limits the long query is not cut (checked on a short run). */
    MUST(db_set_timeouts(c, 0, 0, &E));
    MUST(db_query_int(c, "PRAGMA busy_timeout", NULL, 0, &v, NULL, &E));
    CHECK_EQ(v, 5000);
    MUST(db_query_int(c,
                      "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r"
                      " WHERE i < 300000) SELECT COUNT(*) FROM r",
                      NULL, 0, &v, NULL, &E));
    CHECK_EQ(v, 300000);

    /* Another process holds the write lock: SQLite's busy handler waits,
     * and a wait that used up the limit is a timeout, not "retry now".
     * SQLite's connections must not cross a fork, so none is open here
     * while the child starts. */
    db_close(other);
    db_close(c);
    int fds[2];
    CHECK_EQ(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        struct db_conn *cc = NULL;
        struct mt_err e;
        int ok = db_open_url(test_url, &cc, &e) == 0 && db_begin_immediate(cc, &e) == 0 &&
                 db_query(cc, "UPDATE dbt_queue SET v = v WHERE id = 1", NULL, 0, NULL, &e) == 0;
        char b = ok ? 'y' : 'n';
        if (write(fds[1], &b, 1) != 1)
            _exit(1);
        sleep_ms(900);
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    char b = 0;
    CHECK_EQ(read(fds[0], &b, 1), 1);
    close(fds[0]);
    CHECK_EQ(b, 'y');
    c = open_conn();
    MUST(db_set_timeouts(c, 0, 250, &E));
    t0 = mono_ms();
    MUST_FAIL(db_query(c, "INSERT INTO dbt_queue (v) VALUES (800)", NULL, 0, NULL, &E),
              MT_ETIMEOUT);
    waited = mono_ms() - t0;
    CHECK(waited >= 240 && waited < 800);
    CHECK(strstr(E.msg, "waited") != NULL);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    MUST(db_query(c, "INSERT INTO dbt_queue (v) VALUES (800)", NULL, 0, NULL, &E));
    db_close(c);
}

/* Run in a child process as the unprivileged user: what db_open says about
 * url. Writes the code and message to fd. */
static void open_as_nobody(const char *url, int fd)
{
    struct mt_err err = {0};
    struct db_conn *c = NULL;
    if (setgid(65534) < 0 || setuid(65534) < 0)
        mt_fail(&err, MT_EINTERNAL, "setuid: cannot become nobody");
    else if (db_open_url(url, &c, &err) == 0)
        db_close(c);
    dprintf(fd, "%d %s", (int)err.code, err.msg);
}

/* db_open's answer for url, as nobody; *msg gets the message (malloc'ed). */
static enum mt_code open_code_as_nobody(const char *url, char **msg)
{
    int p[2];
    *msg = NULL;
    if (pipe(p) < 0)
        return MT_EINTERNAL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        open_as_nobody(url, p[1]);
        _exit(0);
    }
    close(p[1]);
    char buf[512] = "";
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    close(p[0]);
    waitpid(pid, NULL, 0);
    int code = -1;
    int used = 0;
    if (sscanf(buf, "%d %n", &code, &used) < 1)
        return MT_EINTERNAL;
    *msg = strdup(buf + used);
    return (enum mt_code)code;
}

/* The write-ahead log is copied into the database file by the background
 * checkpointer, not by the committing writer: right after a commit that
 * takes the log past 1,000 pages the database file has not grown (the
 * writer did not checkpoint), and soon after it has (the checkpointer did). */
static void test_sqlite_checkpointer(void)
{
    char dir[] = "/tmp/test_db_ckpt.XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    char url[700], path[600];
    snprintf(path, sizeof path, "%s/ckpt.db", dir);
    snprintf(url, sizeof url, "sqlite:///%s", path);
    struct db_conn *c = NULL;
    MUST(db_open_url(url, &c, &E));
    if (!c)
        return;
    MUST(db_exec(c, "CREATE TABLE dbt_ckpt (id INTEGER PRIMARY KEY, v TEXT NOT NULL)", &E));
    struct stat st;
    CHECK(stat(path, &st) == 0);
    off_t before = st.st_size;
    /* About 6 MB in one commit: some 1,500 pages of 4 KiB in the log. */
    MUST(db_exec(c,
                 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000) "
                 "INSERT INTO dbt_ckpt (v) SELECT printf('%.1000c', 'x') FROM n",
                 &E));
    CHECK(stat(path, &st) == 0);
    CHECK_EQ(st.st_size, before);
    bool grown = false;
    for (int i = 0; i < 500 && !grown; i++) {
        usleep(10000);
        grown = stat(path, &st) == 0 && st.st_size > before + 5000000;
    }
    CHECK(grown);
    CHECK_EQ(count_rows(c, "SELECT COUNT(*) FROM dbt_ckpt", NULL, 0), 6000);
    db_close(c);
    char wal[620], shm[620];
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    unlink(wal);
    unlink(shm);
    unlink(path);
    rmdir(dir);
}

static void test_sqlite_permissions(void)
{
    if (geteuid() != 0) {
        printf("sqlite permissions: not root, cannot run as nobody (tests/cli/t031 covers it)\n");
        return;
    }
    char dir[] = "/tmp/test_db_perm.XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    chmod(dir, 0755);
    char url[700], path[600];
    /* A file of root's, mode 0644. */
    snprintf(path, sizeof path, "%s/owned.db", dir);
    snprintf(url, sizeof url, "sqlite:///%s", path);
    struct db_conn *c = NULL;
    MUST(db_open_url(url, &c, &E));
    db_close(c);
    chmod(dir, 0777);
    char *msg = NULL;
    CHECK_EQ(open_code_as_nobody(url, &msg), MT_EPERM);
    CHECK(msg && strstr(msg, path) && strstr(msg, "not writable"));
    free(msg);
    /* A new file in root's directory. */
    chmod(dir, 0755);
    snprintf(url, sizeof url, "sqlite:///%s/new.db", dir);
    CHECK_EQ(open_code_as_nobody(url, &msg), MT_EPERM);
    CHECK(msg && strstr(msg, "cannot create sqlite database") && strstr(msg, dir));
    free(msg);
    /* A directory to create inside root's directory. */
    snprintf(url, sizeof url, "sqlite:///%s/sub/new.db", dir);
    CHECK_EQ(open_code_as_nobody(url, &msg), MT_EPERM);
    CHECK(msg && strstr(msg, "cannot create directory"));
    free(msg);
    /* A file nobody may write, in a directory nobody may write. */
    chmod(path, 0666);
    char wal[700];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    snprintf(url, sizeof url, "sqlite:///%s", path);
    CHECK_EQ(open_code_as_nobody(url, &msg), MT_EPERM);
    CHECK(msg && strstr(msg, "-wal and -shm"));
    free(msg);
    /* Root itself is not refused. */
    MUST(db_open_url(url, &c, &E));
    db_close(c);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_EQ(system(cmd), 0);
}

/* ---- connection failures ---- */

static void expect_open_fail(struct db_url *u, enum mt_code code, const char *secret, int line)
{
    struct db_conn *c = NULL;
    struct mt_err err = {0};
    check_total++;
    if (db_open(u, &c, &err) == 0) {
        fprintf(stderr, "line %d: open succeeded but should fail\n", line);
        check_failed++;
        db_close(c);
        return;
    }
    if (err.code != code || (secret && strstr(err.msg, secret))) {
        fprintf(stderr, "line %d: code %s, wanted %s: %s\n", line, mt_code_name(err.code),
                mt_code_name(code), err.msg);
        check_failed++;
    }
}

static void test_connect_failures(void)
{
    struct db_url u;
    MUST(db_url_parse(test_url, &u, &E));
    if (dialect == DB_SQLITE) {
        /* The parent directories of a new file are created. */
        const char *tmp = getenv("MT_TEST_TMP");
        char path[600];
        snprintf(path, sizeof path, "sqlite:///%s/test_db_%d/a/b/new.db",
                 tmp && *tmp ? tmp : "/tmp", (int)getpid());
        struct db_conn *c = NULL;
        MUST(db_open_url(path, &c, &E));
        if (c) {
            char *mode = NULL;
            MUST(db_query_text(c, "PRAGMA journal_mode", NULL, 0, &mode, &E));
            CHECK_STR(mode, "wal");
            free(mode);
            db_close(c);
        }
        /* In memory: no WAL, but it works. */
        MUST(db_open_url("sqlite:///:memory:", &c, &E));
        if (c) {
            MUST(db_exec(c, "CREATE TABLE m (a INTEGER); INSERT INTO m VALUES (1)", &E));
            CHECK_EQ(count_rows(c, "SELECT COUNT(*) FROM m", NULL, 0), 1);
            db_close(c);
        }
        free(u.path);
        u.path = strdup("/proc/no/such/dir/x.db");
        expect_open_fail(&u, MT_EDB, NULL, __LINE__);
        db_url_release(&u);
        return;
    }
    struct db_url bad = u;
    char wrong[] = "wrong-" SECRET;
    bad.password = wrong;
    expect_open_fail(&bad, MT_EAUTH, SECRET, __LINE__);
    bad = u;
    char nodb[] = "meditrack_no_such_database";
    bad.dbname = nodb;
    expect_open_fail(&bad, MT_ENODB, u.password, __LINE__);
    /* Masking is by structure (issue 12, finding 7): a database name equal
     * to the password is a database name and is shown as it is; only the
     * URL's password field is masked. */
    if (u.password && *u.password && u.user) {
        bad = u;
        bad.dbname = u.password;
        struct db_conn *c = NULL;
        struct mt_err err = {0};
        CHECK(db_open(&bad, &c, &err) < 0);
        CHECK_EQ(err.code, MT_ENODB);
        char field[300], name[300];
        snprintf(field, sizeof field, "%s:%s@", u.user, u.password);
        snprintf(name, sizeof name, "%s:***@", u.user);
        CHECK(strstr(err.msg, field) == NULL);
        CHECK(strstr(err.msg, name) != NULL);
        snprintf(name, sizeof name, "/%s", u.password);
        CHECK(strstr(err.msg, name) != NULL);
    }
    bad = u;
    bad.port = 1;
    char local[] = "127.0.0.1";
    bad.host = local;
    expect_open_fail(&bad, MT_EUNAVAIL, u.password, __LINE__);
    bad = u;
    char nohost[] = "no-such-host.invalid";
    bad.host = nohost;
    bad.connect_timeout = 3;
    expect_open_fail(&bad, MT_EUNAVAIL, u.password, __LINE__);
    db_url_release(&u);
}

int main(void)
{
    const char *url = getenv("MT_TEST_DATABASE_URL");
    const char *want = getenv("MT_TEST_DIALECT");
    if (!url || !*url) {
        if (want && *want) {
            fprintf(stderr, "MT_TEST_DIALECT=%s but MT_TEST_DATABASE_URL is not set\n", want);
            return 1;
        }
        SKIP("MT_TEST_DATABASE_URL is not set (run through scripts/run-tests.sh)");
    }
    struct db_url u;
    if (db_url_parse(url, &u, &E) < 0) {
        fprintf(stderr, "MT_TEST_DATABASE_URL: %s\n", E.msg);
        return 1;
    }
    dialect = u.dialect;
    db_url_release(&u);
    if (want && *want && strcmp(want, db_dialect_name(dialect)) != 0) {
        fprintf(stderr, "MT_TEST_DIALECT=%s but the URL is %s\n", want, db_dialect_name(dialect));
        return 1;
    }
    test_url = private_db_url("test_db", url);
    printf("dialect %s\n", db_dialect_name(dialect));

    test_session();
    test_types();
    test_ids_and_errors();
    test_transactions();
    test_exec_later();
    test_real_retries();
    test_scripts();
    test_query_each();
    test_introspection();
    test_pool();
    test_streaming();
    test_connect_failures();
    if (dialect == DB_SQLITE) {
        test_sqlite_memory();
        test_sqlite_writers();
        test_sqlite_checkpointer();
        test_sqlite_limits();
        test_sqlite_permissions();
    }

    free(test_url);
    return check_report();
}
