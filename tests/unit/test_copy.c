/* Unit tests of src/copy without a database server: BACKUP_SCHEDULE's
 * syntax and due times (zones included), the column classes of every
 * dialect's type names, the canonical text of values as SQLite holds them
 * (an in-memory database), the SELECT that orders keys byte-wise on every
 * dialect, and the table checksums (ordered and unordered). */
#include <string.h>

#include "../check.h"
#include "copy/copy.h"
#include "core/mtime.h"

static int64_t at(const char *iso)
{
    int64_t us = 0;
    CHECK(mt_parse_timestamp(iso, strlen(iso), &us) == 0);
    return us;
}

static void test_schedule_parse(void)
{
    struct copy_schedule s;
    struct mt_err err = {0};
    CHECK(copy_schedule_parse("daily@03:00", &s, &err) == 0);
    CHECK_EQ(s.every, COPY_DAILY);
    CHECK_EQ(s.hour, 3);
    CHECK_EQ(s.minute, 0);
    CHECK_EQ(s.second, 0);
    CHECK(copy_schedule_parse("daily@3:05:09", &s, &err) == 0);
    CHECK_EQ(s.hour * 10000 + s.minute * 100 + s.second, 30509);
    CHECK(copy_schedule_parse("hourly@15", &s, &err) == 0);
    CHECK_EQ(s.every, COPY_HOURLY);
    CHECK_EQ(s.minute, 15);
    CHECK(copy_schedule_parse("hourly@15:30", &s, &err) == 0);
    CHECK_EQ(s.second, 30);
    CHECK(copy_schedule_parse("weekly@sun@23:59", &s, &err) == 0);
    CHECK_EQ(s.every, COPY_WEEKLY);
    CHECK_EQ(s.weekday, 6);
    CHECK(copy_schedule_parse("Daily@03:00", &s, &err) == 0);
    CHECK(copy_schedule_parse("", &s, &err) == 0);
    CHECK_EQ(s.every, COPY_NEVER);
    CHECK(copy_schedule_parse("off", &s, &err) == 0);
    CHECK_EQ(s.every, COPY_NEVER);
    const char *bad[] = {"daily@25:00", "daily@03:60",      "daily@03:00:60", "daily",
                         "daily@",      "daily@03:00x",     "daily@0300",     "hourly@60",
                         "hourly@5",    "weekly@xyz@03:00", "weekly@mon",     "monthly@1",
                         "daily@-1:00", "every@5s"};
    for (size_t i = 0; i < MT_ARRAY_LEN(bad); i++) {
        mt_err_clear(&err);
        CHECK(copy_schedule_parse(bad[i], &s, &err) < 0);
        CHECK_EQ(err.code, MT_EINVAL);
        CHECK(strstr(err.msg, "BACKUP_SCHEDULE") != NULL);
    }
}

static void test_schedule_next(void)
{
    struct copy_schedule s;
    struct mt_err err = {0};
    struct mt_tz utc = mt_tz_fixed(0);
    copy_schedule_parse("daily@03:00", &s, &err);
    CHECK_EQ(copy_schedule_next(&s, at("2025-01-01T02:59:59Z"), utc), at("2025-01-01T03:00:00Z"));
    /* Strictly after: a slot that has just run is not due again. */
    CHECK_EQ(copy_schedule_next(&s, at("2025-01-01T03:00:00Z"), utc), at("2025-01-02T03:00:00Z"));
    CHECK_EQ(copy_schedule_next(&s, at("2024-12-31T23:00:00Z"), utc), at("2025-01-01T03:00:00Z"));
    /* 300 = UTC-5: 03:00 there is 08:00 UTC; -90 = UTC+1:30: 01:30 UTC. */
    CHECK_EQ(copy_schedule_next(&s, at("2025-01-01T05:00:00Z"), mt_tz_fixed(300)),
             at("2025-01-01T08:00:00Z"));
    CHECK_EQ(copy_schedule_next(&s, at("2025-01-01T05:00:00Z"), mt_tz_fixed(-90)),
             at("2025-01-02T01:30:00Z"));
    CHECK_EQ(copy_schedule_next(&s, at("2025-01-01T01:00:00Z"), mt_tz_fixed(-90)),
             at("2025-01-01T01:30:00Z"));
    copy_schedule_parse("hourly@15", &s, &err);
    CHECK_EQ(copy_schedule_next(&s, at("2025-01-01T10:20:00Z"), utc), at("2025-01-01T11:15:00Z"));
    CHECK_EQ(copy_schedule_next(&s, at("2025-01-01T10:14:59.9Z"), utc), at("2025-01-01T10:15:00Z"));
    /* A half-hour zone moves the minute of every hour. */
    CHECK_EQ(copy_schedule_next(&s, at("2025-01-01T10:20:00Z"), mt_tz_fixed(-30)),
             at("2025-01-01T10:45:00Z"));
    copy_schedule_parse("weekly@mon@03:00", &s, &err);
    /* 2025-01-01 was a Wednesday. */
    CHECK_EQ(copy_schedule_next(&s, at("2025-01-01T12:00:00Z"), utc), at("2025-01-06T03:00:00Z"));
    CHECK_EQ(copy_schedule_next(&s, at("2025-01-06T03:00:00Z"), utc), at("2025-01-13T03:00:00Z"));
    copy_schedule_parse("off", &s, &err);
    CHECK_EQ(copy_schedule_next(&s, at("2025-01-01T12:00:00Z"), utc), -1);
}

/* An IANA zone keeps the wall time across daylight saving time: New York
 * springs forward on 2025-03-09 at 07:00Z and falls back on 2025-11-02 at
 * 06:00Z; Berlin springs forward on 2025-03-30 at 01:00Z. */
static void test_schedule_dst(void)
{
    struct copy_schedule s;
    struct mt_err err = {0};
    struct mt_tz ny, berlin;
    if (mt_tz_load("America/New_York", &ny, &err) < 0 ||
        mt_tz_load("Europe/Berlin", &berlin, &err) < 0) {
        fprintf(stderr, "time zones missing (tzdata): %s\n", err.msg);
        CHECK(0);
        return;
    }
    copy_schedule_parse("daily@03:00", &s, &err);
    CHECK_EQ(copy_schedule_next(&s, at("2025-03-08T00:00:00Z"), ny), at("2025-03-08T08:00:00Z"));
    CHECK_EQ(copy_schedule_next(&s, at("2025-03-08T08:00:00Z"), ny), at("2025-03-09T07:00:00Z"));
    CHECK_EQ(copy_schedule_next(&s, at("2025-03-09T07:00:00Z"), ny), at("2025-03-10T07:00:00Z"));
    CHECK_EQ(copy_schedule_next(&s, at("2025-11-01T07:00:00Z"), ny), at("2025-11-02T08:00:00Z"));
    /* 02:30 does not exist on the day of the spring change: the offset
     * before it reads it as 03:30 EDT. */
    copy_schedule_parse("daily@02:30", &s, &err);
    CHECK_EQ(copy_schedule_next(&s, at("2025-03-09T00:00:00Z"), ny), at("2025-03-09T07:30:00Z"));
    /* 01:30 happens twice on the day of the autumn change: once. */
    copy_schedule_parse("daily@01:30", &s, &err);
    CHECK_EQ(copy_schedule_next(&s, at("2025-11-02T00:00:00Z"), ny), at("2025-11-02T05:30:00Z"));
    CHECK_EQ(copy_schedule_next(&s, at("2025-11-02T05:30:00Z"), ny), at("2025-11-03T06:30:00Z"));
    /* Hourly stays an hour apart across both changes. */
    copy_schedule_parse("hourly@15", &s, &err);
    CHECK_EQ(copy_schedule_next(&s, at("2025-11-02T05:15:00Z"), ny), at("2025-11-02T06:15:00Z"));
    CHECK_EQ(copy_schedule_next(&s, at("2025-03-09T06:15:00Z"), ny), at("2025-03-09T07:15:00Z"));
    copy_schedule_parse("weekly@sun@02:30", &s, &err);
    CHECK_EQ(copy_schedule_next(&s, at("2025-03-22T12:00:00Z"), berlin),
             at("2025-03-23T01:30:00Z"));
    CHECK_EQ(copy_schedule_next(&s, at("2025-03-29T12:00:00Z"), berlin),
             at("2025-03-30T01:30:00Z"));
    CHECK_EQ(copy_schedule_next(&s, at("2025-03-30T01:30:00Z"), berlin),
             at("2025-04-06T00:30:00Z"));
    /* East of UTC at the autumn change (2025-10-26 01:00Z): 02:30 happens
     * twice, first in summer time; the next day it is winter time. */
    copy_schedule_parse("daily@02:30", &s, &err);
    CHECK_EQ(copy_schedule_next(&s, at("2025-10-25T12:00:00Z"), berlin),
             at("2025-10-26T00:30:00Z"));
    CHECK_EQ(copy_schedule_next(&s, at("2025-10-26T00:30:00Z"), berlin),
             at("2025-10-27T01:30:00Z"));
    /* Lord Howe Island moves its clocks by half an hour (+10:30 to +11 on
     * 2025-10-04 at 15:30Z): hourly@45 runs when the clock reads :45, so
     * 01:45 then 02:45 local are half an hour apart. */
    struct mt_tz lord_howe;
    if (mt_tz_load("Australia/Lord_Howe", &lord_howe, &err) < 0) {
        CHECK(0);
        return;
    }
    copy_schedule_parse("hourly@45", &s, &err);
    CHECK_EQ(copy_schedule_next(&s, at("2025-10-04T14:50:00Z"), lord_howe),
             at("2025-10-04T15:15:00Z"));
    CHECK_EQ(copy_schedule_next(&s, at("2025-10-04T15:15:00Z"), lord_howe),
             at("2025-10-04T15:45:00Z"));
    CHECK_EQ(copy_schedule_next(&s, at("2025-10-04T15:45:00Z"), lord_howe),
             at("2025-10-04T16:45:00Z"));
}

static void test_classes(void)
{
    struct {
        enum db_dialect d;
        const char *type;
        enum copy_class want;
    } cases[] = {
        {DB_SQLITE, "integer", COPY_INT},
        {DB_SQLITE, "boolean", COPY_BOOL},
        {DB_SQLITE, "datetime", COPY_TIMESTAMP},
        {DB_SQLITE, "timestamp", COPY_TIMESTAMP},
        {DB_SQLITE, "date", COPY_DATE},
        {DB_SQLITE, "varchar", COPY_TEXT},
        {DB_SQLITE, "varchar(255)", COPY_TEXT},
        {DB_SQLITE, "blob", COPY_BLOB},
        {DB_SQLITE, "real", COPY_FLOAT},
        {DB_SQLITE, "decimal(10,2)", COPY_DECIMAL},
        {DB_SQLITE, "", COPY_TEXT},
        {DB_POSTGRES, "integer", COPY_INT},
        {DB_POSTGRES, "bigint", COPY_INT},
        {DB_POSTGRES, "boolean", COPY_BOOL},
        {DB_POSTGRES, "character varying", COPY_TEXT},
        {DB_POSTGRES, "character varying(64)", COPY_TEXT},
        {DB_POSTGRES, "timestamp with time zone", COPY_TIMESTAMP},
        {DB_POSTGRES, "timestamp(6) without time zone", COPY_TIMESTAMP},
        {DB_POSTGRES, "date", COPY_DATE},
        {DB_POSTGRES, "time without time zone", COPY_TIME},
        {DB_POSTGRES, "time with time zone", COPY_TEXT},
        {DB_POSTGRES, "bytea", COPY_BLOB},
        {DB_POSTGRES, "jsonb", COPY_JSON},
        {DB_POSTGRES, "numeric(10,2)", COPY_DECIMAL},
        {DB_POSTGRES, "real", COPY_FLOAT4},
        {DB_POSTGRES, "double precision", COPY_FLOAT},
        {DB_POSTGRES, "interval", COPY_TEXT},
        {DB_POSTGRES, "point", COPY_TEXT},
        {DB_POSTGRES, "uuid", COPY_TEXT},
        {DB_MYSQL, "tinyint(1)", COPY_BOOL},
        {DB_MYSQL, "tinyint(4)", COPY_INT},
        {DB_MYSQL, "int(11)", COPY_INT},
        {DB_MYSQL, "int", COPY_INT},
        {DB_MYSQL, "datetime(6)", COPY_TIMESTAMP},
        {DB_MYSQL, "varchar(255)", COPY_TEXT},
        {DB_MYSQL, "text", COPY_TEXT},
        {DB_MYSQL, "float", COPY_FLOAT4},
        {DB_MYSQL, "double", COPY_FLOAT},
        {DB_MYSQL, "decimal(10,2)", COPY_DECIMAL},
        {DB_MYSQL, "longblob", COPY_BLOB},
        {DB_MYSQL, "varbinary(16)", COPY_BLOB},
    };
    for (size_t i = 0; i < MT_ARRAY_LEN(cases); i++) {
        enum copy_class got = copy_class_of(cases[i].d, cases[i].type);
        if (got != cases[i].want)
            fprintf(stderr, "class of %s %s: %s, want %s\n", db_dialect_name(cases[i].d),
                    cases[i].type, copy_class_name(got), copy_class_name(cases[i].want));
        CHECK_EQ(got, cases[i].want);
    }
    CHECK_EQ(copy_class_merge(COPY_INT, COPY_BOOL), COPY_BOOL);
    CHECK_EQ(copy_class_merge(COPY_BOOL, COPY_INT), COPY_BOOL);
    CHECK_EQ(copy_class_merge(COPY_TEXT, COPY_JSON), COPY_JSON);
    CHECK_EQ(copy_class_merge(COPY_DATE, COPY_TIMESTAMP), COPY_TIMESTAMP);
    CHECK_EQ(copy_class_merge(COPY_FLOAT, COPY_FLOAT4), COPY_FLOAT4);
    CHECK_EQ(copy_class_merge(COPY_INT, COPY_DECIMAL), COPY_DECIMAL);
    CHECK_EQ(copy_class_merge(COPY_BLOB, COPY_INT), COPY_TEXT);
    CHECK_EQ(copy_class_merge(COPY_TIMESTAMP, COPY_TIMESTAMP), COPY_TIMESTAMP);
    CHECK(copy_engine_table("alembic_version"));
    CHECK(copy_engine_table("meditrack_migration_log"));
    CHECK(copy_engine_table(COPY_BACKUP_LOG_TABLE));
    CHECK(copy_engine_table(COPY_MANIFEST_TABLE));
    CHECK(!copy_engine_table("doses"));
}

/* The canonical text of row id of table t on c, or NULL with err. */
static char *canon_of(struct db_conn *c, const struct copy_table *t, int64_t id, struct mt_err *err)
{
    char *sql = copy_select_sql(DB_SQLITE, t);
    struct db_stmt *st;
    char *out = NULL;
    if (db_query(c, sql, NULL, 0, &st, err) == 0) {
        int64_t n = 0;
        while (db_next(st, err) == 1) {
            if (++n != id)
                continue;
            struct mt_buf row;
            mt_buf_init(&row, 0);
            if (copy_canon_row(st, t, &row, err) == 0)
                out = mt_buf_detach(&row, NULL);
            mt_buf_release(&row);
        }
        db_done(st);
    }
    free(sql);
    return out;
}

static void test_canonical(void)
{
    struct db_conn *c;
    struct mt_err err = {0};
    if (db_open_url("sqlite:///:memory:", &c, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        CHECK(0);
        return;
    }
    CHECK(db_exec(c,
                  "CREATE TABLE v (id INTEGER NOT NULL PRIMARY KEY, b_bool BOOLEAN, c_ts DATETIME, "
                  "d_date DATE, e_time TIME, f_num DECIMAL(10,2), g_real REAL, h_blob BLOB, "
                  "i_text VARCHAR, j_json JSON, k_null INTEGER);"
                  "INSERT INTO v VALUES (1, 1, '2025-05-17T05:35:37.5+02:00', '2025-01-02', "
                  "'8:05', '1.50', 0.1, x'00ff0a', 'a' || char(9) || 'b\\c' || char(10) || 'd', "
                  "'{\"b\": 1, \"a\": [1, 2]}', NULL);"
                  "INSERT INTO v VALUES (2, 0, '2025-05-17 05:35:37', '2025-01-02 00:00:00', "
                  "'23:59:59.25', -12.0, 1e300, x'', 'Zoë 🙂', 'not json', 7);"
                  "INSERT INTO v VALUES (3, 'abc', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
                  "'x');",
                  &err) == 0);
    struct copy_table t;
    CHECK(copy_table_describe(c, "v", NULL, &t, &err) == 0);
    CHECK_EQ(t.ncols, 11);
    CHECK_STR(t.cols[0].name, "b_bool");
    CHECK_EQ(t.cols[0].cls, COPY_BOOL);
    CHECK(t.ordered);
    CHECK_STR(t.cols[t.id_col].name, "id");
    char *r1 = canon_of(c, &t, 1, &err);
    CHECK_STR(r1, "1\t2025-05-17 03:35:37.500000\t2025-01-02\t08:05:00\t1.5\t0.1\t\\x00ff0a\t"
                  "a\\tb\\\\c\\nd\t1\t{\"a\":[1,2],\"b\":1}\t\\N\n");
    free(r1);
    char *r2 = canon_of(c, &t, 2, &err);
    CHECK_STR(r2, "0\t2025-05-17 05:35:37\t2025-01-02\t23:59:59.250000\t-12\t1e+300\t\\x\t"
                  "Zoë 🙂\t2\tnot json\t7\n");
    free(r2);
    /* Text where a boolean or an integer belongs cannot go to a server. */
    mt_err_clear(&err);
    CHECK(canon_of(c, &t, 3, &err) == NULL);
    CHECK_EQ(err.code, MT_ECONFLICT);
    CHECK(strstr(err.msg, "v.b_bool") != NULL);
    CHECK(strstr(err.msg, "abc") == NULL); /* values are never quoted */
    copy_table_release(&t);

    /* A table without a primary key sums its sorted row digests: the
     * order rows come in does not matter. */
    CHECK(db_exec(c,
                  "CREATE TABLE np (x INTEGER, y VARCHAR); INSERT INTO np VALUES (1, 'a'), "
                  "(2, 'b');",
                  &err) == 0);
    CHECK(copy_table_describe(c, "np", NULL, &t, &err) == 0);
    CHECK(!t.ordered);
    CHECK_EQ(t.id_col, -1);
    char h1[COPY_SUM_LEN], h2[COPY_SUM_LEN];
    int64_t n1, n2;
    struct copy_sum *s = copy_sum_new(&t);
    copy_sum_row(s, "1\ta\n", 4);
    copy_sum_row(s, "2\tb\n", 4);
    copy_sum_finish(s, h1, &n1);
    s = copy_sum_new(&t);
    copy_sum_row(s, "2\tb\n", 4);
    copy_sum_row(s, "1\ta\n", 4);
    copy_sum_finish(s, h2, &n2);
    CHECK_STR(h1, h2);
    CHECK_EQ(n1, 2);
    char h3[COPY_SUM_LEN];
    int64_t n3;
    CHECK(copy_table_sum(c, &t, NULL, NULL, &n3, h3, &err) == 0);
    CHECK_STR(h3, h1);
    CHECK_EQ(n3, 2);
    copy_table_release(&t);
    /* An ordered table's sum depends on the order, and on the column names. */
    CHECK(db_exec(c, "CREATE TABLE k (id INTEGER PRIMARY KEY, y VARCHAR)", &err) == 0);
    CHECK(copy_table_describe(c, "k", NULL, &t, &err) == 0);
    CHECK(t.ordered);
    s = copy_sum_new(&t);
    copy_sum_row(s, "2\tb\n", 4);
    copy_sum_row(s, "1\ta\n", 4);
    copy_sum_finish(s, h2, &n2);
    s = copy_sum_new(&t);
    copy_sum_row(s, "1\ta\n", 4);
    copy_sum_row(s, "2\tb\n", 4);
    copy_sum_finish(s, h3, &n3);
    CHECK(strcmp(h2, h3) != 0);
    CHECK(strcmp(h1, h3) != 0);
    char *sql = copy_select_sql(DB_POSTGRES, &t);
    CHECK_STR(sql, "SELECT \"id\", \"y\" FROM \"k\" ORDER BY \"id\" NULLS FIRST");
    free(sql);
    copy_table_release(&t);
    CHECK(db_exec(c, "CREATE TABLE tk (\"na\"\"me\" VARCHAR(20) PRIMARY KEY, n INTEGER)", &err) ==
          0);
    CHECK(copy_table_describe(c, "tk", NULL, &t, &err) == 0);
    CHECK(t.ordered);
    sql = copy_select_sql(DB_POSTGRES, &t);
    CHECK_STR(sql, "SELECT \"n\", \"na\"\"me\" FROM \"tk\" ORDER BY \"na\"\"me\" COLLATE \"C\" "
                   "NULLS FIRST");
    free(sql);
    sql = copy_select_sql(DB_MYSQL, &t);
    CHECK_STR(sql, "SELECT `n`, `na\"me` FROM `tk` ORDER BY BINARY `na\"me`");
    free(sql);
    sql = copy_select_sql(DB_SQLITE, &t);
    CHECK_STR(sql, "SELECT \"n\", \"na\"\"me\" FROM \"tk\" ORDER BY \"na\"\"me\" COLLATE BINARY");
    free(sql);
    copy_table_release(&t);
    mt_err_clear(&err);
    CHECK(copy_table_describe(c, "nosuch", NULL, &t, &err) < 0);
    CHECK_EQ(err.code, MT_ENOTFOUND);
    db_close(c);
}

int main(void)
{
    test_schedule_parse();
    test_schedule_next();
    test_schedule_dst();
    test_classes();
    test_canonical();
    return check_report();
}
