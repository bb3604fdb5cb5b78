/* Unit tests of src/db/split.c: splitting scripts into statements across
 * strings, quoted names, comments, dollar-quoted bodies and trigger bodies,
 * and refusing unterminated ones. */
#include "../check.h"
#include "db/db.h"

/* Splits sql and compares with the expected statements (NULL-terminated). */
static void expect(const char *sql, const char *const *want, int line)
{
    struct mt_strlist l;
    struct mt_err err = {0};
    check_total++;
    if (db_split_sql(sql, &l, &err) < 0) {
        fprintf(stderr, "line %d: split failed: %s\n", line, err.msg);
        check_failed++;
        return;
    }
    size_t n = 0;
    while (want[n])
        n++;
    bool ok = l.n == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = strcmp(l.items[i], want[i]) == 0;
    if (!ok) {
        fprintf(stderr, "line %d: got %zu statements, wanted %zu:\n", line, l.n, n);
        for (size_t i = 0; i < l.n; i++)
            fprintf(stderr, "  [%zu] <%s>\n", i, l.items[i]);
        check_failed++;
    }
    mt_strlist_release(&l);
}
#define EXPECT(sql, ...) expect((sql), (const char *const[]){__VA_ARGS__, NULL}, __LINE__)
#define EXPECT_NONE(sql) expect((sql), (const char *const[]){NULL}, __LINE__)

static void refuse(const char *sql, const char *why, int line)
{
    struct mt_strlist l;
    struct mt_err err = {0};
    check_total++;
    if (db_split_sql(sql, &l, &err) == 0) {
        fprintf(stderr, "line %d: split of <%s> should fail\n", line, sql);
        mt_strlist_release(&l);
        check_failed++;
        return;
    }
    if (err.code != MT_EINVAL || !strstr(err.msg, why)) {
        fprintf(stderr, "line %d: message \"%s\" lacks \"%s\"\n", line, err.msg, why);
        check_failed++;
    }
}
#define REFUSE(sql, why) refuse((sql), (why), __LINE__)

static void test_basic(void)
{
    EXPECT("SELECT 1; SELECT 2;SELECT 3", "SELECT 1", "SELECT 2", "SELECT 3");
    EXPECT("  SELECT 1  ;\n\n", "SELECT 1");
    EXPECT_NONE("");
    EXPECT_NONE(" ;; ;\n");
    EXPECT("CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1);\n", "CREATE TABLE t (a INT)",
           "INSERT INTO t VALUES (1)");
}

static void test_quotes(void)
{
    EXPECT("INSERT INTO t VALUES ('a;b'); SELECT 'it''s; fine'", "INSERT INTO t VALUES ('a;b')",
           "SELECT 'it''s; fine'");
    EXPECT("SELECT \"odd;name\", \"x\"\"y;\" FROM t; SELECT 2",
           "SELECT \"odd;name\", \"x\"\"y;\" FROM t", "SELECT 2");
    EXPECT("SELECT `a;b` FROM `t;``u`; SELECT 2", "SELECT `a;b` FROM `t;``u`", "SELECT 2");
    /* PostgreSQL escape strings: a backslash escapes the quote. */
    EXPECT("SELECT E'a\\';b'; SELECT 2", "SELECT E'a\\';b'", "SELECT 2");
    /* Without E, a backslash is an ordinary character. */
    EXPECT("SELECT 'C:\\'; SELECT 2", "SELECT 'C:\\'", "SELECT 2");
    /* A word ending in e before a quote is not an E prefix. */
    EXPECT("SELECT 1 FROM t WHERE x LIKE'\\'; SELECT 2", "SELECT 1 FROM t WHERE x LIKE'\\'",
           "SELECT 2");
}

static void test_comments(void)
{
    EXPECT("-- heading; with semicolon\nSELECT 1; /* block; */ SELECT 2; -- trailing only\n",
           "-- heading; with semicolon\nSELECT 1", "/* block; */ SELECT 2");
    EXPECT("/* outer /* nested; */ still; */ SELECT 1",
           "/* outer /* nested; */ still; */ SELECT 1");
    EXPECT_NONE("-- only a comment;\n/* and another; */");
    EXPECT("SELECT 1 - -1; SELECT 2", "SELECT 1 - -1", "SELECT 2");
    EXPECT("SELECT 4 / 2; SELECT 2", "SELECT 4 / 2", "SELECT 2");
}

static void test_dollar_bodies(void)
{
    EXPECT("CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN x := 1; RETURN NEW; END; $$ "
           "LANGUAGE plpgsql; SELECT 1",
           "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN x := 1; RETURN NEW; END; $$ "
           "LANGUAGE plpgsql",
           "SELECT 1");
    EXPECT("DO $body$ BEGIN PERFORM '$$;'; END $body$; SELECT 2",
           "DO $body$ BEGIN PERFORM '$$;'; END $body$", "SELECT 2");
    /* $1 is a parameter, not a tag; a$b$ is an identifier. */
    EXPECT("SELECT $1; SELECT a$b$ FROM t; SELECT 3", "SELECT $1", "SELECT a$b$ FROM t",
           "SELECT 3");
}

static void test_trigger_bodies(void)
{
    /* SQLite trigger with CASE ... END inside BEGIN ... END. */
    EXPECT("CREATE TRIGGER trg AFTER INSERT ON a BEGIN\n"
           "  UPDATE b SET x = 1;\n"
           "  INSERT INTO c VALUES (CASE WHEN NEW.v > 0 THEN 'p;' ELSE 'n' END);\n"
           "END;\nSELECT 1;",
           "CREATE TRIGGER trg AFTER INSERT ON a BEGIN\n"
           "  UPDATE b SET x = 1;\n"
           "  INSERT INTO c VALUES (CASE WHEN NEW.v > 0 THEN 'p;' ELSE 'n' END);\n"
           "END",
           "SELECT 1");
    /* MariaDB trigger with IF ... END IF. */
    EXPECT(
        "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN IF NEW.x < 0 THEN SET NEW.x = 0; "
        "END IF; END; SELECT 1",
        "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN IF NEW.x < 0 THEN SET NEW.x = 0; "
        "END IF; END",
        "SELECT 1");
    EXPECT("create temp trigger t after delete on a begin delete from b; end; select 1",
           "create temp trigger t after delete on a begin delete from b; end", "select 1");
    /* A trigger without a body ends at its semicolon. */
    EXPECT("CREATE TRIGGER t AFTER INSERT ON a FOR EACH ROW EXECUTE FUNCTION f(); SELECT 1",
           "CREATE TRIGGER t AFTER INSERT ON a FOR EACH ROW EXECUTE FUNCTION f()", "SELECT 1");
    /* BEGIN as a statement of its own is not a body. */
    EXPECT("BEGIN; SELECT 1; COMMIT;", "BEGIN", "SELECT 1", "COMMIT");
    /* A column named like a keyword does not start a body. */
    EXPECT("CREATE TABLE t (trigger_name TEXT, begin_at TEXT); SELECT 1",
           "CREATE TABLE t (trigger_name TEXT, begin_at TEXT)", "SELECT 1");
}

static void test_unterminated(void)
{
    REFUSE("SELECT 'abc", "unterminated string starting on line 1");
    REFUSE("SELECT 1;\nSELECT \"abc", "unterminated quoted identifier starting on line 2");
    REFUSE("SELECT `abc", "unterminated backquoted identifier");
    REFUSE("SELECT 1 /* never closed", "unterminated comment");
    REFUSE("DO $$ BEGIN NULL; END", "unterminated dollar-quoted body");
}

int main(void)
{
    test_basic();
    test_quotes();
    test_comments();
    test_dollar_bodies();
    test_trigger_bodies();
    test_unterminated();
    return check_report();
}
