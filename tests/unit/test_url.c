/* Unit tests of src/db/url.c: every DATABASE_URL form the reference accepted
 * (SQLite paths, SQLAlchemy driver suffixes, percent-encoded credentials,
 * ports, query parameters), the refusals, and the masked label. */
#include "../check.h"
#include "db/db.h"

#define SECRET "S3cretPw"

static struct db_url parse_ok(const char *url, int line)
{
    struct db_url u;
    struct mt_err err = {0};
    if (db_url_parse(url, &u, &err) < 0) {
        fprintf(stderr, "line %d: parse of %s failed: %s\n", line, url, err.msg);
        check_failed++;
        memset(&u, 0, sizeof u);
        u.dialect = (enum db_dialect) - 1;
    }
    return u;
}
#define PARSE(url) parse_ok((url), __LINE__)

#define CHECK_NULL(p) CHECK((p) == NULL)

static void test_sqlite_forms(void)
{
    struct db_url u = PARSE("sqlite:///relative.db");
    CHECK_EQ(u.dialect, DB_SQLITE);
    CHECK_STR(u.path, "relative.db");
    CHECK_NULL(u.host);
    db_url_release(&u);

    u = PARSE("sqlite:///./data/meditrack.db");
    CHECK_STR(u.path, "./data/meditrack.db");
    db_url_release(&u);

    u = PARSE("sqlite:////var/lib/meditrack/app.db");
    CHECK_EQ(u.dialect, DB_SQLITE);
    CHECK_STR(u.path, "/var/lib/meditrack/app.db");
    db_url_release(&u);

    u = PARSE("sqlite:///:memory:");
    CHECK_STR(u.path, ":memory:");
    db_url_release(&u);

    u = PARSE("sqlite://");
    CHECK_STR(u.path, ":memory:");
    db_url_release(&u);

    u = PARSE("sqlite+pysqlite:///x.db?check_same_thread=false");
    CHECK_EQ(u.dialect, DB_SQLITE);
    CHECK_STR(u.path, "x.db");
    db_url_release(&u);

    /* A path keeps '@' and ':' (no credentials in SQLite URLs). */
    u = PARSE("sqlite:////tmp/a@b:c/app.db");
    CHECK_STR(u.path, "/tmp/a@b:c/app.db");
    db_url_release(&u);
}

static void test_postgres_forms(void)
{
    static const char *const schemes[] = {"postgresql", "postgres", "postgresql+psycopg2",
                                          "postgresql+asyncpg", "POSTGRESQL"};
    for (size_t i = 0; i < MT_ARRAY_LEN(schemes); i++) {
        char url[200];
        snprintf(url, sizeof url, "%s://meditrack:pw@db.example.com:6543/meditrack", schemes[i]);
        struct db_url u = PARSE(url);
        CHECK_EQ(u.dialect, DB_POSTGRES);
        CHECK_STR(u.user, "meditrack");
        CHECK_STR(u.password, "pw");
        CHECK_STR(u.host, "db.example.com");
        CHECK_EQ(u.port, 6543);
        CHECK_STR(u.dbname, "meditrack");
        db_url_release(&u);
    }

    struct db_url u = PARSE("postgresql://localhost/app");
    CHECK_STR(u.host, "localhost");
    CHECK_EQ(u.port, 0);
    CHECK_NULL(u.user);
    CHECK_NULL(u.password);
    CHECK_STR(u.dbname, "app");
    db_url_release(&u);

    u = PARSE("postgresql://user@host");
    CHECK_STR(u.user, "user");
    CHECK_NULL(u.password);
    CHECK_NULL(u.dbname);
    db_url_release(&u);

    u = PARSE("postgresql://u:p@h/db?sslmode=require&connect_timeout=5");
    CHECK_STR(u.sslmode, "require");
    CHECK_EQ(u.connect_timeout, 5);
    db_url_release(&u);

    /* Unix socket directory as a query parameter, and percent-encoded as host. */
    u = PARSE("postgresql://meditrack@/meditrack?host=/run/postgresql");
    CHECK_STR(u.host, "/run/postgresql");
    CHECK_STR(u.dbname, "meditrack");
    db_url_release(&u);
    u = PARSE("postgresql:///meditrack?host=%2Fvar%2Frun%2Fpostgresql&port=5433");
    CHECK_STR(u.host, "/var/run/postgresql");
    CHECK_EQ(u.port, 5433);
    db_url_release(&u);
    u = PARSE("postgresql://%2Frun%2Fpostgresql/meditrack");
    CHECK_STR(u.host, "/run/postgresql");
    db_url_release(&u);

    u = PARSE("postgresql://u:p@[::1]:5432/db");
    CHECK_STR(u.host, "::1");
    CHECK_EQ(u.port, 5432);
    db_url_release(&u);
    u = PARSE("postgresql://[fe80::1]/db");
    CHECK_STR(u.host, "fe80::1");
    CHECK_EQ(u.port, 0);
    db_url_release(&u);
}

static void test_mysql_forms(void)
{
    static const char *const schemes[] = {"mysql", "mysql+pymysql", "mysql+mysqldb", "mariadb",
                                          "mariadb+mariadbconnector"};
    for (size_t i = 0; i < MT_ARRAY_LEN(schemes); i++) {
        char url[200];
        snprintf(url, sizeof url, "%s://root:secret@127.0.0.1:3307/medi", schemes[i]);
        struct db_url u = PARSE(url);
        CHECK_EQ(u.dialect, DB_MYSQL);
        CHECK_STR(u.user, "root");
        CHECK_STR(u.password, "secret");
        CHECK_STR(u.host, "127.0.0.1");
        CHECK_EQ(u.port, 3307);
        CHECK_STR(u.dbname, "medi");
        db_url_release(&u);
    }
    struct db_url u = PARSE(
        "mysql+pymysql://u:p@localhost/medi?charset=utf8mb4&unix_socket=/run/mysqld/mysqld.sock");
    CHECK_STR(u.charset, "utf8mb4");
    CHECK_STR(u.unix_socket, "/run/mysqld/mysqld.sock");
    db_url_release(&u);
}

static void test_percent_decoding(void)
{
    struct db_url u = PARSE("postgresql://us%40er:p%40ss%3Aw%2Fd%25@db.example.com/my%20db");
    CHECK_STR(u.user, "us@er");
    CHECK_STR(u.password, "p@ss:w/d%");
    CHECK_STR(u.dbname, "my db");
    db_url_release(&u);

    /* Non-ASCII, percent-encoded UTF-8. */
    u = PARSE("mysql://%CE%B1%CE%B2:%E6%97%A5%F0%9F%92%8A@h/db");
    CHECK_STR(u.user, "\xce\xb1\xce\xb2");
    CHECK_STR(u.password, "\xe6\x97\xa5\xf0\x9f\x92\x8a");
    db_url_release(&u);

    /* Unencoded '@', '/' and '?' in a password: the last '@' ends it. */
    u = PARSE("mysql://u:p@s/s?x@db.example.com:3306/medi");
    CHECK_STR(u.user, "u");
    CHECK_STR(u.password, "p@s/s?x");
    CHECK_STR(u.host, "db.example.com");
    CHECK_EQ(u.port, 3306);
    CHECK_STR(u.dbname, "medi");
    db_url_release(&u);

    /* Empty password is a password (not absent). */
    u = PARSE("postgresql://u:@h/db");
    CHECK_STR(u.password, "");
    db_url_release(&u);

    /* '+' means a blank in query values, as in the Python parser. */
    u = PARSE("mysql://h/db?unix_socket=/tmp/my+sock");
    CHECK_STR(u.unix_socket, "/tmp/my sock");
    db_url_release(&u);
}

/* Every bad URL is refused with MT_EINVAL, the message says why, and the
 * password never appears in it. */
static void bad(const char *url, const char *why, int line)
{
    struct db_url u;
    struct mt_err err = {0};
    int rc = db_url_parse(url, &u, &err);
    check_total++;
    if (rc == 0) {
        fprintf(stderr, "line %d: %s parsed but should not\n", line, url ? url : "(null)");
        check_failed++;
        db_url_release(&u);
        return;
    }
    if (err.code != MT_EINVAL || !strstr(err.msg, why) || strstr(err.msg, SECRET)) {
        fprintf(stderr, "line %d: %s: code %d, message \"%s\" (wanted \"%s\")\n", line, url,
                (int)err.code, err.msg, why);
        check_failed++;
    }
}
#define BAD(url, why) bad((url), (why), __LINE__)

static void test_bad_urls(void)
{
    BAD(NULL, "empty");
    BAD("", "empty");
    BAD("meditrack.db", "expected scheme://");
    BAD("://u:" SECRET "@h/db", "expected scheme://");
    BAD("oracle://u:" SECRET "@h/db", "unsupported database \"oracle\"");
    BAD("postgresql+foo://u:" SECRET "@h/db", "unsupported driver \"foo\" for postgresql");
    BAD("mysql+odbc://u:" SECRET "@h/db", "unsupported driver \"odbc\"");
    BAD("sqlite://host/file.db", "takes no host");
    BAD("sqlite:///x.db?timeout=5", "unknown query parameter \"timeout\"");
    BAD("postgresql://u:" SECRET "@h:abc/db", "port");
    BAD("postgresql://u:" SECRET "@h:0/db", "port");
    BAD("postgresql://u:" SECRET "@h:70000/db", "port");
    BAD("postgresql://u:" SECRET "@h:/db", "empty port");
    BAD("postgresql://u:" SECRET "@h:54x32/db", "port");
    BAD("postgresql://u:S3cretPw%zz@h/db", "percent-encoding in the password");
    BAD("postgresql://u:S3cretPw%4@h/db", "percent-encoding in the password");
    BAD("postgresql://u:S3cretPw%00@h/db", "percent-encoding in the password");
    BAD("postgresql://u%zz:" SECRET "@h/db", "percent-encoding in the user name");
    BAD("postgresql://u:" SECRET "@h/d%zzb", "percent-encoding in the database name");
    BAD("postgresql://u:" SECRET "@h/db/extra", "after the database name");
    BAD("postgresql://u:" SECRET "@h/db?sslmode=bogus", "sslmode \"bogus\"");
    BAD("postgresql://u:" SECRET "@h/db?charset=utf8", "unknown query parameter \"charset\"");
    BAD("postgresql://u:" SECRET "@h/db?novalue", "name=value");
    BAD("postgresql://u:" SECRET "@h/db?host=", "empty host");
    BAD("postgresql://u:" SECRET "@h/db?connect_timeout=0", "connect_timeout");
    BAD("postgresql://u:" SECRET "@h/db?password=" SECRET, "unknown query parameter");
    BAD("mysql://u:" SECRET "@h/db?sslmode=require", "unknown query parameter \"sslmode\"");
    BAD("mysql://u:" SECRET "@h/db?charset=utf8;drop", "charset");
    BAD("mysql://u:" SECRET "@h/db?unix_socket=", "empty unix_socket");
    BAD("postgresql://u:" SECRET "@[::1/db", "unterminated [");
    BAD("postgresql://u:" SECRET "@[::1]x/db", "after ]");
}

static void check_label(const char *url, const char *want, int line)
{
    struct db_url u = parse_ok(url, line);
    char *label = db_url_label(&u);
    check_total++;
    if (!label || strcmp(label, want) != 0) {
        fprintf(stderr, "line %d: label of \"%s\" is \"%s\", wanted \"%s\"\n", line, url,
                label ? label : "(null)", want);
        check_failed++;
    }
    free(label);
    db_url_release(&u);
}
#define LABEL(url, want) check_label((url), (want), __LINE__)

/* The label is the masked rendering of the parsed URL: built from the
 * fields, so the password never appears and nothing else is hidden, even
 * when the password equals the user or database name or is one letter. */
static void test_label(void)
{
    LABEL("postgresql://meditrack:" SECRET "@127.0.0.1:5432/meditrack",
          "postgresql://meditrack:***@127.0.0.1:5432/meditrack");
    LABEL("postgresql+psycopg2://p:p@localhost/p", "postgresql://p:***@localhost/p");
    LABEL("mysql://x:x@exit_code/x", "mysql://x:***@exit_code/x");
    LABEL("mysql+pymysql://u:p%40ss@h/db?charset=utf8mb4", "mysql://u:***@h/db");
    LABEL("mysql://u:p@ss/w?rd@h/db", "mysql://u:***@h/db");
    LABEL("postgresql://u:a%3Ab%2Fc%3Fd@h:6543/db", "postgresql://u:***@h:6543/db");
    LABEL("postgresql://u@h/db", "postgresql://u@h/db");
    LABEL("postgresql://h/db", "postgresql://h/db");
    LABEL("postgresql://u:pw@/db?host=/run/postgresql",
          "postgresql://u:***@/db?host=/run/postgresql");
    LABEL("sqlite:///./data/meditrack.db", "sqlite:///./data/meditrack.db");
    LABEL("sqlite:////tmp/a@b:c/app.db", "sqlite:////tmp/a@b:c/app.db");
}

/* A refused URL's message quotes it masked (mt_redact_url) and never the
 * password, whatever it contains. */
static void test_error_masked(void)
{
    static const char *const urls[] = {
        "postgresql://u:" SECRET "@h/db?bogus=1",
        "postgresql://u:" SECRET "@h:99999/db",
        "mysql://u:S3c@ret/Pw?x@h/db?nope=1",
        "oracle://scott:" SECRET "@h/db",
        "postgresql://u:" SECRET "@h/db?password=" SECRET,
    };
    for (size_t i = 0; i < MT_ARRAY_LEN(urls); i++) {
        struct db_url u;
        struct mt_err err = {0};
        CHECK(db_url_parse(urls[i], &u, &err) < 0);
        CHECK(strstr(err.msg, SECRET) == NULL);
        CHECK(strstr(err.msg, "ret/Pw") == NULL);
        CHECK(strstr(err.msg, ":***@") != NULL);
    }
}

static void test_names(void)
{
    CHECK_STR(db_dialect_name(DB_SQLITE), "sqlite");
    CHECK_STR(db_dialect_name(DB_POSTGRES), "postgresql");
    CHECK_STR(db_dialect_name(DB_MYSQL), "mysql");
    /* Release of an already released or zeroed struct is harmless. */
    struct db_url u = {0};
    db_url_release(&u);
    db_url_release(NULL);
    CHECK(u.path == NULL);
}

int main(void)
{
    test_sqlite_forms();
    test_postgres_forms();
    test_mysql_forms();
    test_percent_decoding();
    test_bad_urls();
    test_label();
    test_error_masked();
    test_names();
    return check_report();
}
