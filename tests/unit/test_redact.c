/* Unit tests of src/core/redact.c: masking a database URL's password field
 * and password= parameters by structure. The cases of issue 12 (finding 7)
 * are here: a one-letter password must not touch "unsupported" or
 * "exit_code", a password equal to the user or database name hides only
 * itself, and percent-encoded passwords or ones holding @ : / ? are masked
 * whole. */
#include "../check.h"
#include "core/redact.h"

static void check_url(const char *url, const char *want, int line)
{
    char *m = mt_redact_url(url);
    check_total++;
    if (!m || strcmp(m, want) != 0) {
        fprintf(stderr, "line %d: mt_redact_url(\"%s\") is \"%s\", wanted \"%s\"\n", line,
                url ? url : "(null)", m ? m : "(null)", want);
        check_failed++;
    }
    free(m);
}
#define URL(url, want) check_url((url), (want), __LINE__)

static void check_text(const char *text, const char *want, int line)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    mt_redact_text(buf, sizeof buf);
    check_total++;
    if (strcmp(buf, want) != 0) {
        fprintf(stderr, "line %d: mt_redact_text(\"%s\") is \"%s\", wanted \"%s\"\n", line, text,
                buf, want);
        check_failed++;
    }
}
#define TEXT(text, want) check_text((text), (want), __LINE__)

static void test_url_short_passwords(void)
{
    URL("postgresql://unsupported:p@exit_code:5432/unsupported",
        "postgresql://unsupported:***@exit_code:5432/unsupported");
    URL("mysql://x:x@exit_code/exit_code?charset=utf8mb4",
        "mysql://x:***@exit_code/exit_code?charset=utf8mb4");
    /* Password equal to the user and to the database name. */
    URL("postgresql://meditrack:meditrack@db/meditrack", "postgresql://meditrack:***@db/meditrack");
    URL("postgresql://p:p@p/p", "postgresql://p:***@p/p");
}

static void test_url_special_passwords(void)
{
    URL("postgresql://u:s3cret@h/db", "postgresql://u:***@h/db");
    URL("postgresql+psycopg2://u:s3cret@h:5432/db?sslmode=require",
        "postgresql+psycopg2://u:***@h:5432/db?sslmode=require");
    /* Percent-encoded: masked as written, whatever it decodes to. */
    URL("mysql://u:p%40ss%3Aw%2Frd%3F@h/db", "mysql://u:***@h/db");
    URL("mysql://u:%70@h/db", "mysql://u:***@h/db");
    /* Unencoded @ : / ? in the password: the user-info ends at the last '@',
     * exactly where db_url_parse ends it. */
    URL("mysql://u:p@ss@h/db", "mysql://u:***@h/db");
    URL("postgresql://u:pa?ss@h/db", "postgresql://u:***@h/db");
    URL("postgresql://u:a:b/c?d@e@h:1/db?sslmode=disable",
        "postgresql://u:***@h:1/db?sslmode=disable");
    URL("mysql://u:p@ss/w?rd@h/db", "mysql://u:***@h/db");
    /* The parser reads this password as "pw@h/db?unix_socket=/tmp/a". */
    URL("mysql://u:pw@h/db?unix_socket=/tmp/a@b.sock", "mysql://u:***@b.sock");
}

static void test_url_no_password(void)
{
    URL("postgresql://u@h/db", "postgresql://u@h/db");
    URL("postgresql://u:@h/db", "postgresql://u:@h/db");
    URL("postgresql://h:5432/db", "postgresql://h:5432/db");
    URL("sqlite:///./data/meditrack.db", "sqlite:///./data/meditrack.db");
    URL("sqlite:////srv/a:b@c.db", "sqlite:////srv/a:b@c.db");
    URL("SQLite+pysqlite:////srv/a:b@c.db", "SQLite+pysqlite:////srv/a:b@c.db");
    URL("sqlite:///:memory:", "sqlite:///:memory:");
    URL("", "");
    URL(NULL, "");
    URL("not a url", "not a url");
}

static void test_url_query_and_garbage(void)
{
    URL("postgresql://h/db?user=u&password=s3cret&sslmode=disable",
        "postgresql://h/db?user=u&password=***&sslmode=disable");
    URL("postgresql://u:one@h/db?password=two", "postgresql://u:***@h/db?password=***");
    URL("postgresql://h/db?PassWord=x&pwd=y&pass=z&sslpassword=w&passes=ok",
        "postgresql://h/db?PassWord=***&pwd=***&pass=***&sslpassword=***&passes=ok");
    URL("postgresql://h/db?password=", "postgresql://h/db?password=");
    /* Unparseable text is masked by the same rule. */
    URL("garbage u:s3cret@x", "garbage u:***@x");
    URL("oracle://scott:tiger@h/db", "oracle://scott:***@h/db");
}

static void test_text(void)
{
    /* Words that contain a password are never touched: only structure is. */
    TEXT("unsupported exit_code p x", "unsupported exit_code p x");
    TEXT("connection to server failed: FATAL: password authentication failed for user \"p\"",
         "connection to server failed: FATAL: password authentication failed for user \"p\"");
    TEXT("Access denied for user 'x'@'localhost' (using password: YES)",
         "Access denied for user 'x'@'localhost' (using password: YES)");
    /* libpq conninfo: bare and quoted values, spaces around '='. */
    TEXT("invalid connection option in \"host=h password=p user=u\"",
         "invalid connection option in \"host=h password=*** user=u\"");
    TEXT("host=h password = 'it\\'s secret' dbname=d", "host=h password = *** dbname=d");
    TEXT("password='a b\\' c' dbname=d", "password=*** dbname=d");
    TEXT("sslpassword=x PGPASSWORD=y SECRET_KEY=z pwd=w", "sslpassword=*** PGPASSWORD=*** "
                                                          "SECRET_KEY=*** pwd=***");
    TEXT("passes=1 bypass=2 compass=3", "passes=1 bypass=2 compass=3");
    TEXT("password='unterminated and more", "password=***");
    /* URLs inside a message. */
    TEXT("cannot connect to postgresql://u:p@h/db: refused",
         "cannot connect to postgresql://u:***@h/db: refused");
    TEXT("url \"mysql://u:a@b:c/d?e@h/db\" bad", "url \"mysql://u:***@h/db\" bad");
    TEXT("see postgresql://h/db?password=s3cret&sslmode=require now",
         "see postgresql://h/db?password=***&sslmode=require now");
    TEXT("at postgresql://u@h/db and sqlite:///x.db", "at postgresql://u@h/db and sqlite:///x.db");
    TEXT("", "");
}

static void test_text_cut(void)
{
    /* A longer result is cut at the end, after the replacement. */
    char small[16] = "password=a b c";
    mt_redact_text(small, sizeof small);
    CHECK_STR(small, "password=*** b ");
    char tiny[10] = "pwd=abcde";
    mt_redact_text(tiny, 6);
    CHECK_STR(tiny, "pwd=*");
    char untouched[4] = "abc";
    mt_redact_text(untouched, 0);
    CHECK_STR(untouched, "abc");
}

int main(void)
{
    test_url_short_passwords();
    test_url_special_passwords();
    test_url_no_password();
    test_url_query_and_garbage();
    test_text();
    test_text_cut();
    return check_report();
}
