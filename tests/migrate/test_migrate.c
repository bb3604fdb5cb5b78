/* The migration engine's C test suite (meson suite "migrate", run once per
 * dialect): chain loading and validation, revision resolution, plans, drop
 * detection, checksums, offline SQL, and — against fresh databases of the
 * dialect in MT_TEST_DIALECT — upgrade/downgrade/stamp, hooks inside the
 * revision's transaction, resuming a non-transactional revision, refusing an
 * unknown version, the lock, the pre-flight callback, and the exact DDL of
 * alembic_version. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "core/log.h"
#include "db/db.h"
#include "migrate/migrate.h"

#ifndef MT_SOURCE_ROOT
#define MT_SOURCE_ROOT "."
#endif

static char tmpdir[512];
static const char *dialect = "sqlite";

static const char *root(void)
{
    const char *r = getenv("MT_TEST_ROOT");
    return r && *r ? r : MT_SOURCE_ROOT;
}

/* A fresh database URL from tests/lib/fresh-db; caller frees. */
static char *fresh_db(const char *tag)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s/tests/lib/fresh-db %s", root(), tag);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    char line[1024] = "";
    char *got = fgets(line, sizeof(line), p);
    int st = pclose(p);
    if (!got || st != 0)
        return NULL;
    line[strcspn(line, "\n")] = '\0';
    return mt_xstrdup(line);
}

static struct db_conn *open_fresh(const char *tag)
{
    char *url = fresh_db(tag);
    if (!url) {
        fprintf(stderr, "fresh-db %s failed\n", tag);
        return NULL;
    }
    struct db_conn *c = NULL;
    struct mt_err err = {0};
    if (db_open_url(url, &c, &err) < 0)
        fprintf(stderr, "open %s: %s\n", url, err.msg);
    free(url);
    return c;
}

/* Writes text to tmpdir/rel, creating the directories on the way. */
static void put(const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
    for (char *p = path + strlen(tmpdir) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static void rmtree(const char *path)
{
    char cmd[1100];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "rm -rf %s failed\n", path);
}

/* A one-revision directory sub/<id>_r with shared SQL. */
static void put_rev(const char *sub, const char *id, const char *down, const char *extra,
                    const char *up, const char *downsql)
{
    char rel[512], text[1024];
    snprintf(rel, sizeof(rel), "%s/%s_r/revision", sub, id);
    snprintf(text, sizeof(text), "id: %s\ndown_revision: %s\nmessage: rev %s\n%s", id,
             down ? down : "", id, extra ? extra : "");
    put(rel, text);
    snprintf(rel, sizeof(rel), "%s/%s_r/up.sql", sub, id);
    put(rel, up);
    snprintf(rel, sizeof(rel), "%s/%s_r/down.sql", sub, id);
    put(rel, downsql);
}

static int load_sub(const char *sub, struct mig_chain **ch, struct mt_err *err)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, sub);
    return mig_chain_load_dir(path, ch, err);
}

static struct mig_chain *test_chain(void)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/migrate/chain", root());
    struct mig_chain *ch = NULL;
    struct mt_err err = {0};
    if (mig_chain_load_dir(path, &ch, &err) < 0)
        fprintf(stderr, "loading %s: %s\n", path, err.msg);
    return ch;
}

/* ---- chain ---------------------------------------------------------------- */

static void test_chain_load(void)
{
    struct mig_chain *ch = test_chain();
    CHECK(ch != NULL);
    if (!ch)
        return;
    CHECK_EQ(ch->n, 5);
    CHECK_STR(ch->revs[0].id, "3f1c0a9b2d41");
    CHECK(ch->revs[0].down_revision == NULL);
    CHECK_STR(ch->revs[4].id, "e91b6d3a4c7f");
    CHECK_STR(mig_chain_head(ch)->id, "e91b6d3a4c7f");
    for (size_t i = 1; i < ch->n; i++)
        CHECK_STR(ch->revs[i].down_revision, ch->revs[i - 1].id);
    CHECK_EQ(mig_chain_pos(ch, NULL), -1);
    CHECK_EQ(mig_chain_pos(ch, "ab7f0e1c2d3b"), 2);
    CHECK_EQ(mig_chain_pos(ch, "nope"), -2);
    CHECK_STR(ch->revs[3].message, "data only: add owner cy");
    CHECK_STR(ch->revs[0].create_date, "2025-01-10 09:00:00.000000");
    /* Shared up.sql for sqlite/postgresql, up.mysql.sql for mysql. */
    CHECK(ch->revs[0].up[DB_SQLITE] && ch->revs[0].up[DB_POSTGRES]);
    CHECK_STR(ch->revs[0].up[DB_SQLITE], ch->revs[0].up[DB_POSTGRES]);
    CHECK(strstr(ch->revs[0].up[DB_MYSQL], "IF NOT EXISTS") != NULL);
    CHECK(ch->revs[0].transactional);
    mig_chain_free(ch);

    /* The embedded chain (migrations/) must be valid whatever it holds. */
    struct mt_err err = {0};
    struct mig_chain *emb = NULL;
    int rc = mig_chain_load_embedded(&emb, &err);
    if (rc < 0)
        fprintf(stderr, "embedded chain: %s\n", err.msg);
    CHECK_EQ(rc, 0);
    if (emb) {
        CHECK_STR(emb->source, "embedded");
        for (size_t i = 0; i < emb->n; i++)
            for (int d = 0; d < MIG_N_DIALECTS; d++)
                CHECK(emb->revs[i].up[d] && emb->revs[i].down[d]);
    }
    mig_chain_free(emb);
}

static void expect_invalid(const char *sub, const char *needle)
{
    struct mig_chain *ch = NULL;
    struct mt_err err = {0};
    int rc = load_sub(sub, &ch, &err);
    CHECK_EQ(rc, -1);
    CHECK_EQ(err.code, MT_EINVAL);
    if (!strstr(err.msg, needle))
        fprintf(stderr, "%s: expected \"%s\" in \"%s\"\n", sub, needle, err.msg);
    CHECK(strstr(err.msg, needle) != NULL);
    mig_chain_free(ch);
}

static void test_chain_validation(void)
{
    put_rev("unknown_down", "aaa111", NULL, NULL, "SELECT 1;", "");
    put_rev("unknown_down", "bbb222", "zzz999", NULL, "SELECT 1;", "");
    expect_invalid("unknown_down", "unknown down_revision zzz999");

    put_rev("dup/x", "aaa111", NULL, NULL, "SELECT 1;", "");
    put_rev("dup/y", "aaa111", NULL, NULL, "SELECT 1;", "");
    /* Both directories live under dup/x and dup/y: load their parent-level copy. */
    put_rev("dup2", "aaa111", NULL, NULL, "SELECT 1;", "");
    put("dup2/aaa111_copy/revision", "id: aaa111\ndown_revision:\nmessage: copy\n");
    put("dup2/aaa111_copy/up.sql", "");
    put("dup2/aaa111_copy/down.sql", "");
    expect_invalid("dup2", "duplicate revision id aaa111");

    put_rev("twoheads", "aaa111", NULL, NULL, "", "");
    put_rev("twoheads", "bbb222", "aaa111", NULL, "", "");
    put_rev("twoheads", "ccc333", "aaa111", NULL, "", "");
    expect_invalid("twoheads", "more than one head");

    put_rev("twobases", "aaa111", NULL, NULL, "", "");
    put_rev("twobases", "bbb222", NULL, NULL, "", "");
    expect_invalid("twobases", "more than one base");

    put_rev("cycle", "aaa111", "bbb222", NULL, "", "");
    put_rev("cycle", "bbb222", "aaa111", NULL, "", "");
    expect_invalid("cycle", "cycle");

    put("nodialect/aaa111_r/revision", "id: aaa111\ndown_revision:\nmessage: m\n");
    put("nodialect/aaa111_r/up.sqlite.sql", "SELECT 1;");
    put("nodialect/aaa111_r/up.postgresql.sql", "SELECT 1;");
    put("nodialect/aaa111_r/down.sql", "");
    expect_invalid("nodialect", "no up SQL for mysql");

    put("typo/aaa111_r/revision", "id: aaa111\ndown_revision:\nmessage: m\n");
    put("typo/aaa111_r/up.sql", "");
    put("typo/aaa111_r/down.sql", "");
    put("typo/aaa111_r/up.postgres.sql", "");
    expect_invalid("typo", "unknown SQL file");

    put("badkey/aaa111_r/revision", "id: aaa111\ndown_revision:\nmesage: m\n");
    put("badkey/aaa111_r/up.sql", "");
    put("badkey/aaa111_r/down.sql", "");
    expect_invalid("badkey", "unknown key");

    /* "revision" is another name of "id", so both fill one field. */
    put("twice/aaa111_r/revision", "id: aaa111\nrevision: aaa111\ndown_revision:\n");
    put("twice/aaa111_r/up.sql", "");
    put("twice/aaa111_r/down.sql", "");
    expect_invalid("twice", "\"revision\" given twice");

    put("badid/x_r/revision", "id: not-an-id!\ndown_revision:\n");
    put("badid/x_r/up.sql", "");
    put("badid/x_r/down.sql", "");
    expect_invalid("badid", "invalid id");

    put("nodown/x_r/revision", "id: aaa111\n");
    put("nodown/x_r/up.sql", "");
    put("nodown/x_r/down.sql", "");
    expect_invalid("nodown", "missing \"down_revision\"");

    put("badtx/x_r/revision", "id: aaa111\ndown_revision:\ntransactional: maybe\n");
    put("badtx/x_r/up.sql", "");
    put("badtx/x_r/down.sql", "");
    expect_invalid("badtx", "transactional");

    /* A directory without a revision file is not a revision. */
    put_rev("ok", "aaa111", NULL, "transactional: false\n", "SELECT 1;", "");
    put("ok/README/notes.txt", "not a revision\n");
    struct mig_chain *ch = NULL;
    struct mt_err err = {0};
    CHECK_EQ(load_sub("ok", &ch, &err), 0);
    if (ch) {
        CHECK_EQ(ch->n, 1);
        CHECK(!ch->revs[0].transactional);
    }
    mig_chain_free(ch);

    /* An empty directory is an empty chain: head is base. */
    put("empty/.keep", "");
    ch = NULL;
    CHECK_EQ(load_sub("empty", &ch, &err), 0);
    if (ch) {
        CHECK_EQ(ch->n, 0);
        CHECK(mig_chain_head(ch) == NULL);
    }
    mig_chain_free(ch);

    CHECK_EQ(mig_chain_load_dir("/nonexistent/migrations", &ch, &err), -1);
}

static void test_resolve(void)
{
    struct mig_chain *ch = test_chain();
    if (!ch)
        return;
    const struct mig_revision *r = NULL;
    struct mt_err err = {0};
    CHECK_EQ(mig_resolve(ch, "head", NULL, &r, &err), 0);
    CHECK(r == &ch->revs[4]);
    CHECK_EQ(mig_resolve(ch, "heads", NULL, &r, &err), 0);
    CHECK(r == &ch->revs[4]);
    CHECK_EQ(mig_resolve(ch, "base", NULL, &r, &err), 0);
    CHECK(r == NULL);
    CHECK_EQ(mig_resolve(ch, "c4d2e8f1a6b0", NULL, &r, &err), 0);
    CHECK(r == &ch->revs[3]);
    CHECK_EQ(mig_resolve(ch, "c4", NULL, &r, &err), 0);
    CHECK(r == &ch->revs[3]);
    CHECK_EQ(mig_resolve(ch, "ab5", NULL, &r, &err), 0);
    CHECK(r == &ch->revs[1]);
    CHECK_EQ(mig_resolve(ch, "ab", NULL, &r, &err), -1);
    CHECK_EQ(err.code, MT_EINVAL);
    CHECK(strstr(err.msg, "ambiguous") && strstr(err.msg, "ab5e2c7d9f10") &&
          strstr(err.msg, "ab7f0e1c2d3b"));
    CHECK_EQ(mig_resolve(ch, "ffff", NULL, &r, &err), -1);
    CHECK_EQ(err.code, MT_ENOTFOUND);
    CHECK_EQ(mig_resolve(ch, "+2", NULL, &r, &err), 0);
    CHECK(r == &ch->revs[1]);
    CHECK_EQ(mig_resolve(ch, "+1", "ab5e2c7d9f10", &r, &err), 0);
    CHECK(r == &ch->revs[2]);
    CHECK_EQ(mig_resolve(ch, "-1", "ab5e2c7d9f10", &r, &err), 0);
    CHECK(r == &ch->revs[0]);
    CHECK_EQ(mig_resolve(ch, "-2", "ab5e2c7d9f10", &r, &err), 0);
    CHECK(r == NULL);
    CHECK_EQ(mig_resolve(ch, "-3", "ab5e2c7d9f10", &r, &err), -1);
    CHECK_EQ(mig_resolve(ch, "+6", NULL, &r, &err), -1);
    CHECK_EQ(mig_resolve(ch, "+5", NULL, &r, &err), 0);
    CHECK(r == &ch->revs[4]);
    CHECK_EQ(mig_resolve(ch, "c4+1", NULL, &r, &err), 0);
    CHECK(r == &ch->revs[4]);
    CHECK_EQ(mig_resolve(ch, "head-2", NULL, &r, &err), 0);
    CHECK(r == &ch->revs[2]);
    CHECK_EQ(mig_resolve(ch, "+x", NULL, &r, &err), -1);
    CHECK_EQ(mig_resolve(ch, "+", NULL, &r, &err), -1);
    CHECK_EQ(mig_resolve(ch, "", NULL, &r, &err), -1);
    CHECK_EQ(mig_resolve(ch, "+1", "unknown0", &r, &err), -1);

    struct mig_plan p;
    CHECK_EQ(mig_plan_make(ch, NULL, "ab7f0e1c2d3b", true, &p, &err), 0);
    CHECK_EQ(p.n, 3);
    if (p.n == 3) {
        CHECK(p.steps[0].from == NULL);
        CHECK_STR(p.steps[0].to, "3f1c0a9b2d41");
        CHECK_STR(p.steps[2].to, "ab7f0e1c2d3b");
        CHECK(p.steps[2].upgrade);
    }
    mig_plan_release(&p);
    CHECK_EQ(mig_plan_make(ch, "e91b6d3a4c7f", NULL, false, &p, &err), 0);
    CHECK_EQ(p.n, 5);
    if (p.n == 5) {
        CHECK_STR(p.steps[0].from, "e91b6d3a4c7f");
        CHECK_STR(p.steps[0].to, "c4d2e8f1a6b0");
        CHECK(p.steps[4].to == NULL);
        CHECK(!p.steps[4].upgrade);
    }
    mig_plan_release(&p);
    CHECK_EQ(mig_plan_make(ch, "e91b6d3a4c7f", NULL, true, &p, &err), -1);
    CHECK_EQ(mig_plan_make(ch, NULL, "e91b6d3a4c7f", false, &p, &err), -1);
    CHECK_EQ(mig_plan_make(ch, "c4d2e8f1a6b0", "c4d2e8f1a6b0", true, &p, &err), 0);
    CHECK_EQ(p.n, 0);
    mig_plan_release(&p);
    CHECK_EQ(mig_plan_make(ch, "nope", NULL, false, &p, &err), -1);
    CHECK_EQ(err.code, MT_ENOTFOUND);
    mig_chain_free(ch);
}

/* ---- checksums and offline SQL ------------------------------------------------ */

static void test_checksum(void)
{
    char sum[MIG_CHECKSUM_LEN];
    mig_checksum("", sum);
    CHECK_STR(sum, "fnv1a64:cbf29ce484222325");
    mig_checksum("a", sum);
    CHECK_STR(sum, "fnv1a64:af63dc4c8601ec8c");
    mig_checksum("foobar", sum);
    CHECK_STR(sum, "fnv1a64:85944171f73967e8");
}

static char *offline(const struct mig_chain *ch, enum db_dialect d, int what, const char *target,
                     bool purge, int *rc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct mig_options o;
    mig_options_init(&o);
    o.sql_out = f;
    o.sql_dialect = d;
    o.log_ctx = NULL;
    struct mt_err err = {0};
    if (what == 0)
        *rc = mig_upgrade(NULL, ch, target, &o, &err);
    else if (what == 1)
        *rc = mig_downgrade(NULL, ch, target, &o, &err);
    else
        *rc = mig_stamp(NULL, ch, target, purge, &o, &err);
    fclose(f);
    return text;
}

static void quiet(void *ctx, enum mt_log_level level, const char *line)
{
    (void)ctx;
    (void)level;
    (void)line;
}

static void test_offline(void)
{
    struct mig_chain *ch = test_chain();
    if (!ch)
        return;
    enum mt_log_level saved = mt_log_threshold;
    mt_log_threshold = MT_LOG_OFF;
    int rc;
    char *s = offline(ch, DB_SQLITE, 0, "head", false, &rc);
    CHECK_EQ(rc, 0);
    CHECK(strncmp(s, MIG_ALEMBIC_VERSION_DDL ";\n", strlen(MIG_ALEMBIC_VERSION_DDL) + 2) == 0);
    CHECK(strstr(s, "-- Running upgrade  -> 3f1c0a9b2d41") != NULL);
    CHECK(strstr(s, "PRAGMA foreign_keys=OFF;\n\nBEGIN;") != NULL);
    CHECK(strstr(s, "INSERT INTO alembic_version (version_num) VALUES ('3f1c0a9b2d41');") != NULL);
    CHECK(strstr(s, "UPDATE alembic_version SET version_num='e91b6d3a4c7f' WHERE "
                    "alembic_version.version_num = 'c4d2e8f1a6b0';") != NULL);
    CHECK(strstr(s, "owners_new") != NULL); /* the SQLite flavour of revision 2 */
    free(s);

    s = offline(ch, DB_POSTGRES, 0, "ab5e2c7d9f10:head", false, &rc);
    CHECK_EQ(rc, 0);
    CHECK(strstr(s, "CREATE TABLE alembic_version") == NULL);
    CHECK(strstr(s, "3f1c0a9b2d41 -> ab5e2c7d9f10") == NULL);
    CHECK(strstr(s, "-- Running upgrade ab5e2c7d9f10 -> ab7f0e1c2d3b") != NULL);
    CHECK(strstr(s, "BEGIN;") != NULL && strstr(s, "PRAGMA") == NULL);
    free(s);

    s = offline(ch, DB_MYSQL, 0, "+1", false, &rc);
    CHECK_EQ(rc, 0);
    CHECK(strstr(s, "BEGIN;") == NULL); /* MariaDB: no transactional DDL */
    CHECK(strstr(s, "ENGINE=InnoDB") != NULL);
    CHECK(strstr(s, "ab5e2c7d9f10") == NULL);
    free(s);

    s = offline(ch, DB_POSTGRES, 1, "base", false, &rc);
    CHECK_EQ(rc, -1); /* offline downgrade needs FROM:TO */
    free(s);
    s = offline(ch, DB_POSTGRES, 1, "head:base", false, &rc);
    CHECK_EQ(rc, 0);
    CHECK(strstr(s, "-- drops table tags") != NULL);
    CHECK(strstr(s, "DELETE FROM alembic_version WHERE alembic_version.version_num = "
                    "'3f1c0a9b2d41';") != NULL);
    CHECK(strstr(s, "DROP TABLE alembic_version;") != NULL);
    free(s);

    s = offline(ch, DB_SQLITE, 2, "c4", true, &rc);
    CHECK_EQ(rc, 0);
    CHECK(strstr(s, "DELETE FROM alembic_version;") != NULL);
    CHECK(strstr(s, "VALUES ('c4d2e8f1a6b0')") != NULL);
    free(s);
    mt_log_threshold = saved;
    mig_chain_free(ch);
}

/* The engine's drop detection, through a downgrade plan's log. */
static struct mt_strlist drop_lines;
static void collect(void *ctx, enum mt_log_level level, const char *line)
{
    (void)ctx;
    if (level == MT_LOG_WARN && strstr(line, "will drop")) {
        drop_lines.items = mt_xrealloc(drop_lines.items, (drop_lines.n + 1) * sizeof(char *));
        drop_lines.items[drop_lines.n++] = mt_xstrdup(line);
    }
}

/* ---- against a database ------------------------------------------------------- */

static enum db_dialect cur_dialect(void)
{
    if (strcmp(dialect, "postgresql") == 0)
        return DB_POSTGRES;
    if (strcmp(dialect, "mysql") == 0)
        return DB_MYSQL;
    return DB_SQLITE;
}

static struct mig_options opts(void)
{
    struct mig_options o;
    mig_options_init(&o);
    o.lock_timeout = 10;
    o.backup = false;
    o.log = quiet;
    return o;
}

static char *current(struct db_conn *c)
{
    char *v = NULL;
    struct mt_err err = {0};
    if (mig_current(c, &v, &err) < 0)
        return mt_xstrdup("<error>");
    return v ? v : mt_xstrdup("base");
}

static int64_t count(struct db_conn *c, const char *sql)
{
    int64_t n = -1;
    struct mt_err err = {0};
    if (db_query_int(c, sql, NULL, 0, &n, NULL, &err) < 0)
        fprintf(stderr, "%s: %s\n", sql, err.msg);
    return n;
}

static bool table_exists(struct db_conn *c, const char *t)
{
    bool e = false;
    struct mt_err err = {0};
    db_table_exists(c, t, &e, &err);
    return e;
}

static void test_apply(void)
{
    struct mig_chain *ch = test_chain();
    struct db_conn *c = open_fresh("mig_apply");
    CHECK(c != NULL);
    if (!c || !ch) {
        mig_chain_free(ch);
        return;
    }
    struct mig_options o = opts();
    struct mt_err err = {0};
    char *v = current(c);
    CHECK_STR(v, "base");
    free(v);

    CHECK_EQ(mig_upgrade(c, ch, "ab5", &o, &err), 0);
    v = current(c);
    CHECK_STR(v, "ab5e2c7d9f10");
    free(v);
    /* The backfill ran, and on SQLite the owners rebuild kept every item. */
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM items WHERE title_upper = UPPER(title)"), 3);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM owners WHERE email = 'ann@example.org'"), 1);
    if (cur_dialect() == DB_SQLITE)
        CHECK_EQ(count(c, "PRAGMA foreign_keys"), 1); /* restored after the run */

    CHECK_EQ(mig_upgrade(c, ch, NULL, &o, &err), 0);
    v = current(c);
    CHECK_STR(v, "e91b6d3a4c7f");
    free(v);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM tags"), 4);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM " MIG_AUDIT_TABLE
                      " WHERE direction = 'upgrade' AND success = 1"),
             5);

    /* check: at head, nothing pending, no mismatch. */
    struct mig_check r;
    CHECK_EQ(mig_check_run(c, ch, &r, &err), 0);
    CHECK_EQ(r.n_pending, 0);
    CHECK_EQ(r.n_mismatches, 0);
    CHECK(r.interrupted == NULL);
    mig_check_release(&r);

    /* An edited revision is reported by its checksum. */
    char *saved = ch->revs[2].up[cur_dialect()];
    ch->revs[2].up[cur_dialect()] = mt_xstrdup("-- edited\nCREATE INDEX x ON items (title);");
    CHECK_EQ(mig_check_run(c, ch, &r, &err), 0);
    CHECK_EQ(r.n_mismatches, 1);
    if (r.n_mismatches == 1) {
        CHECK(r.mismatches[0].rev == &ch->revs[2]);
        CHECK(strncmp(r.mismatches[0].recorded, "fnv1a64:", 8) == 0);
        CHECK(strcmp(r.mismatches[0].recorded, r.mismatches[0].expected) != 0);
    }
    mig_check_release(&r);
    free(ch->revs[2].up[cur_dialect()]);
    ch->revs[2].up[cur_dialect()] = saved;

    /* Downgrade says what it drops, before running. */
    memset(&drop_lines, 0, sizeof(drop_lines));
    o.log = collect;
    CHECK_EQ(mig_downgrade(c, ch, "-2", &o, &err), 0);
    o.log = quiet;
    CHECK_EQ(drop_lines.n, 1);
    if (drop_lines.n == 1)
        CHECK(strstr(drop_lines.items[0], "column items.archived, table tags") != NULL);
    mt_strlist_release(&drop_lines);
    v = current(c);
    CHECK_STR(v, "ab7f0e1c2d3b");
    free(v);
    CHECK(!table_exists(c, "tags"));
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM owners"), 2);

    CHECK_EQ(mig_check_run(c, ch, &r, &err), 0);
    CHECK_EQ(r.n_pending, 2);
    if (r.n_pending == 2)
        CHECK(r.pending[0] == &ch->revs[3]);
    mig_check_release(&r);

    /* upgrade to an older revision, downgrade to a newer one: refused. */
    CHECK_EQ(mig_upgrade(c, ch, "3f1c", &o, &err), -1);
    CHECK_EQ(err.code, MT_EINVAL);
    CHECK_EQ(mig_downgrade(c, ch, "head", &o, &err), -1);
    CHECK_EQ(mig_upgrade(c, ch, "ab", &o, &err), -1);
    CHECK(strstr(err.msg, "ambiguous") != NULL);

    CHECK_EQ(mig_downgrade(c, ch, "base", &o, &err), 0);
    v = current(c);
    CHECK_STR(v, "base");
    free(v);
    CHECK(!table_exists(c, "owners"));
    CHECK(table_exists(c, "alembic_version"));
    CHECK_EQ(mig_upgrade(c, ch, "head", &o, &err), 0);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM items"), 4);

    /* stamp moves the version only. */
    CHECK_EQ(mig_stamp(c, ch, "c4d2", false, &o, &err), 0);
    v = current(c);
    CHECK_STR(v, "c4d2e8f1a6b0");
    free(v);
    CHECK(table_exists(c, "tags"));
    CHECK_EQ(mig_stamp(c, ch, "base", false, &o, &err), 0);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM alembic_version"), 0);
    CHECK_EQ(mig_stamp(c, ch, "head", false, &o, &err), 0);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM " MIG_AUDIT_TABLE " WHERE direction = 'stamp'"), 3);

    /* An unknown version: everything refuses and nothing changes. */
    CHECK_EQ(db_exec(c, "UPDATE alembic_version SET version_num = 'deadbeef0000'", &err), 0);
    int64_t audit_before = count(c, "SELECT COUNT(*) FROM " MIG_AUDIT_TABLE);
    CHECK_EQ(mig_upgrade(c, ch, "head", &o, &err), -1);
    CHECK_EQ(err.code, MT_ECONFLICT);
    CHECK(strstr(err.msg, "deadbeef0000") != NULL);
    CHECK_EQ(mig_downgrade(c, ch, "base", &o, &err), -1);
    CHECK_EQ(mig_stamp(c, ch, "head", false, &o, &err), -1);
    CHECK_EQ(mig_check_run(c, ch, &r, &err), -1);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM " MIG_AUDIT_TABLE), audit_before);
    CHECK(table_exists(c, "tags"));
    /* --purge gets out of it. */
    CHECK_EQ(mig_stamp(c, ch, "head", true, &o, &err), 0);
    v = current(c);
    CHECK_STR(v, "e91b6d3a4c7f");
    free(v);

    /* Two version rows (branches): refused. */
    CHECK_EQ(db_exec(c, "INSERT INTO alembic_version (version_num) VALUES ('3f1c0a9b2d41')", &err),
             0);
    char *cv = NULL;
    CHECK_EQ(mig_current(c, &cv, &err), -1);
    CHECK_EQ(err.code, MT_ECONFLICT);
    CHECK_EQ(mig_stamp(c, ch, "head", true, &o, &err), 0);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM alembic_version"), 1);

    /* The audit list reads back what was written. */
    struct mig_audit *a;
    size_t n;
    CHECK_EQ(mig_audit_list(c, &a, &n, &err), 0);
    CHECK(n >= 10);
    if (n >= 1) {
        CHECK_STR(a[0].direction, "upgrade");
        CHECK_STR(a[0].revision, "3f1c0a9b2d41");
        CHECK_STR(a[0].from_revision, "");
        CHECK_EQ(a[0].success, 1);
        CHECK_EQ(a[0].pid, getpid());
        CHECK(a[0].started_at && strlen(a[0].started_at) == 24);
        CHECK(a[0].duration_ms >= 0);
        CHECK_EQ(a[0].stmt_total, 4);
        CHECK_EQ(a[0].stmt_done, 4);
    }
    mig_audit_free(a, n);
    db_close(c);
    mig_chain_free(ch);
}

/* The exact text of alembic_version, compared with a table Alembic made. */
static void test_version_ddl(void)
{
    if (cur_dialect() != DB_SQLITE)
        return;
    struct db_conn *c = open_fresh("mig_ddl");
    if (!c)
        return;
    struct mt_err err = {0};
    CHECK_EQ(mig_version_table_ensure(c, &err), 0);
    CHECK_EQ(mig_version_table_ensure(c, &err), 0); /* idempotent */
    char *ours = NULL;
    CHECK_EQ(db_query_text(c, "SELECT sql FROM sqlite_master WHERE name = 'alembic_version'", NULL,
                           0, &ours, &err),
             0);
    CHECK_STR(ours, MIG_ALEMBIC_VERSION_DDL);
    db_close(c);
    char url[1024];
    snprintf(url, sizeof(url),
             "sqlite:///%s/../shared/fixtures/reference-sqlite/at-f4162eb18a25.db", root());
    struct stat st;
    if (stat(url + 10, &st) == 0 && db_open_url(url, &c, &err) == 0) {
        char *theirs = NULL;
        CHECK_EQ(db_query_text(c, "SELECT sql FROM sqlite_master WHERE name = 'alembic_version'",
                               NULL, 0, &theirs, &err),
                 0);
        CHECK_STR(ours, theirs);
        char *v = current(c);
        CHECK_STR(v, "f4162eb18a25");
        free(v);
        free(theirs);
        db_close(c);
    } else {
        fprintf(stderr, "note: the Alembic fixture is not at %s\n", url + 10);
        CHECK(0);
    }
    free(ours);
}

/* ---- hooks, non-transactional revisions, resuming -------------------------------- */

static int hook_calls, hook_fail_at, hook_saw_tx;
static int hook_count(struct db_conn *c, const struct mig_revision *rev, bool upgrade,
                      struct mt_err *err)
{
    hook_calls++;
    if (db_in_tx(c))
        hook_saw_tx++;
    if (hook_fail_at && hook_calls == hook_fail_at)
        return mt_fail(err, MT_EINVAL, "hook refused on purpose (%s)", rev->id);
    return db_query(c, "INSERT INTO hooklog (what) VALUES (?)",
                    (struct db_param[]){DB_TEXT(upgrade ? "up" : "down")}, 1, NULL, err);
}

static void test_hooks(void)
{
    CHECK_EQ(mig_hook_register("test_count", hook_count), 0);
    CHECK(mig_hook_find("test_count") == hook_count);
    CHECK(mig_hook_find("nope") == NULL);
    CHECK_EQ(mig_hook_register("", hook_count), -1);

    const char *ddl_log = "CREATE TABLE hooklog (what VARCHAR(10) NOT NULL);";
    put_rev("hooks", "aaa111", NULL, "post_upgrade: test_count\npre_downgrade: test_count\n",
            ddl_log, "DROP TABLE hooklog;");
    put_rev("hooks", "bbb222", "aaa111", "pre_upgrade: test_count\npost_upgrade: test_count\n",
            "CREATE TABLE h2 (x INTEGER);", "DROP TABLE h2;");
    /* Non-transactional: statements run one by one with progress records. */
    put_rev("hooks", "ccc333", "bbb222",
            "transactional: false\npre_upgrade: test_count\npost_upgrade: test_count\n",
            "CREATE TABLE h3 (x INTEGER);\nINSERT INTO h3 (x) VALUES (1);\n"
            "INSERT INTO h3 (x) VALUES (2);",
            "DROP TABLE h3;");
    struct mig_chain *ch = NULL;
    struct mt_err err = {0};
    CHECK_EQ(load_sub("hooks", &ch, &err), 0);
    struct db_conn *c = open_fresh("mig_hooks");
    if (!ch || !c) {
        mig_chain_free(ch);
        if (c)
            db_close(c);
        return;
    }
    struct mig_options o = opts();
    bool tx = db_transactional_ddl(c);

    CHECK_EQ(mig_upgrade(c, ch, "aaa111", &o, &err), 0);
    CHECK_EQ(hook_calls, 1);
    CHECK_EQ(hook_saw_tx, 1); /* inside a transaction on every dialect */
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM hooklog"), 1);

    /* A failing hook fails the revision: with transactional DDL the whole
     * revision rolls back. */
    hook_calls = 0;
    hook_saw_tx = 0;
    hook_fail_at = 2;
    CHECK_EQ(mig_upgrade(c, ch, "bbb222", &o, &err), -1);
    CHECK(strstr(err.msg, "hook refused on purpose") != NULL);
    char *v = current(c);
    CHECK_STR(v, "aaa111");
    free(v);
    if (tx) {
        CHECK(!table_exists(c, "h2"));
        CHECK_EQ(count(c, "SELECT COUNT(*) FROM hooklog"), 1);
        CHECK_EQ(hook_saw_tx, 2);
        CHECK_EQ(count(c, "SELECT COUNT(*) FROM " MIG_AUDIT_TABLE
                          " WHERE revision = 'bbb222' AND success = 0"),
                 1);
        hook_calls = 0;
        hook_fail_at = 0;
        CHECK_EQ(mig_upgrade(c, ch, "bbb222", &o, &err), 0);
        CHECK_EQ(count(c, "SELECT COUNT(*) FROM hooklog"), 3);
    } else {
        /* MariaDB: the revision is unfinished after its first hook; the next
         * run resumes at the failed step and does not repeat the first. */
        CHECK(table_exists(c, "h2"));
        CHECK_EQ(count(c, "SELECT COUNT(*) FROM hooklog"), 2);
        struct mig_check r;
        CHECK_EQ(mig_check_run(c, ch, &r, &err), 0);
        CHECK(r.interrupted != NULL);
        if (r.interrupted) {
            CHECK_STR(r.interrupted->revision, "bbb222");
            CHECK_EQ(r.interrupted->stmt_done, 2);
            CHECK_EQ(r.interrupted->stmt_total, 3);
        }
        mig_check_release(&r);
        /* Another direction is refused while it is unfinished. */
        CHECK_EQ(mig_downgrade(c, ch, "base", &o, &err), -1);
        CHECK(strstr(err.msg, "interrupted") != NULL);
        hook_calls = 0;
        hook_fail_at = 0;
        CHECK_EQ(mig_upgrade(c, ch, "bbb222", &o, &err), 0);
        CHECK_EQ(hook_calls, 1);
        CHECK_EQ(count(c, "SELECT COUNT(*) FROM hooklog"), 3);
        CHECK_EQ(count(c, "SELECT attempts FROM " MIG_AUDIT_TABLE " WHERE revision = 'bbb222'"), 2);
    }

    /* The non-transactional revision on every dialect: fail at the post hook
     * (step 5 of 5), then resume without repeating the inserts. */
    hook_calls = 0;
    hook_fail_at = 2;
    CHECK_EQ(mig_upgrade(c, ch, "head", &o, &err), -1);
    v = current(c);
    CHECK_STR(v, "bbb222");
    free(v);
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM h3"), 2);
    CHECK_EQ(count(c, "SELECT stmt_done FROM " MIG_AUDIT_TABLE
                      " WHERE revision = 'ccc333' AND success IS NULL"),
             4);
    CHECK_EQ(mig_stamp(c, ch, "bbb222", false, &o, &err), 0); /* stamp abandons the run... */
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM " MIG_AUDIT_TABLE " WHERE success IS NULL"), 0);
    CHECK_EQ(db_exec(c, "DROP TABLE h3", &err), 0); /* ...after a repair by hand */
    hook_calls = 0;
    hook_fail_at = 2;
    CHECK_EQ(mig_upgrade(c, ch, "head", &o, &err), -1);
    hook_calls = 0;
    hook_fail_at = 0;
    CHECK_EQ(mig_upgrade(c, ch, "head", &o, &err), 0);
    CHECK_EQ(hook_calls, 1); /* only the post hook was left */
    CHECK_EQ(count(c, "SELECT COUNT(*) FROM h3"), 2);
    CHECK_EQ(count(c, "SELECT attempts FROM " MIG_AUDIT_TABLE
                      " WHERE revision = 'ccc333' AND success = 1"),
             2);
    v = current(c);
    CHECK_STR(v, "ccc333");
    free(v);

    /* A hook that is named but not registered stops the run before anything. */
    put_rev("hooks2", "aaa111", NULL, "pre_upgrade: not_registered\n",
            "CREATE TABLE q (x INTEGER);", "DROP TABLE q;");
    struct mig_chain *ch2 = NULL;
    CHECK_EQ(load_sub("hooks2", &ch2, &err), 0);
    struct db_conn *c2 = open_fresh("mig_hooks2");
    if (ch2 && c2) {
        CHECK_EQ(mig_upgrade(c2, ch2, "head", &o, &err), -1);
        CHECK(strstr(err.msg, "not_registered") != NULL);
        CHECK(!table_exists(c2, "q"));
        CHECK(!table_exists(c2, "alembic_version"));
    }
    if (c2)
        db_close(c2);
    mig_chain_free(ch2);
    db_close(c);
    mig_chain_free(ch);
}

/* ---- the lock and the pre-flight callback ------------------------------------------ */

static int preflight_calls;
static bool preflight_refuse;
static int preflight(struct db_conn *c, const struct mig_chain *ch, const struct mig_options *o,
                     struct mt_err *err)
{
    (void)c;
    (void)ch;
    (void)o;
    preflight_calls++;
    if (preflight_refuse)
        return mt_fail(err, MT_ECONFLICT, "pre-flight refused");
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_lock_and_preflight(void)
{
    char *url = fresh_db("mig_lock");
    if (!url)
        return;
    struct db_conn *a = NULL, *b = NULL;
    struct mt_err err = {0};
    CHECK_EQ(db_open_url(url, &a, &err), 0);
    CHECK_EQ(db_open_url(url, &b, &err), 0);
    free(url);
    if (!a || !b)
        return;
    /* The lock of :memory: would be a no-op; the test db is a file. */
    CHECK_EQ(mig_lock_acquire(a, 0, quiet, NULL, &err), 0);
    CHECK_EQ(mig_lock_acquire(a, 0, quiet, NULL, &err), 0); /* re-entrant */
    int64_t t0 = now_ms();
    CHECK_EQ(mig_lock_acquire(b, 1, quiet, NULL, &err), -1);
    CHECK_EQ(err.code, MT_EUNAVAIL);
    CHECK(now_ms() - t0 >= 900);
    CHECK(strstr(err.msg, "held by") != NULL);
    /* Another database on the same server (or directory) is not blocked. */
    struct db_conn *other = open_fresh("mig_lock_other");
    CHECK(other != NULL);
    if (other) {
        CHECK_EQ(mig_lock_acquire(other, 0, quiet, NULL, &err), 0);
        mig_lock_release(other);
        db_close(other);
    }
    mig_lock_release(a);
    CHECK_EQ(mig_lock_acquire(b, 0, quiet, NULL, &err), -1); /* still held once */
    mig_lock_release(a);
    CHECK_EQ(mig_lock_acquire(b, 0, quiet, NULL, &err), 0);
    /* An upgrade on a waits for b's lock and gives up. */
    struct mig_chain *ch = test_chain();
    struct mig_options o = opts();
    o.lock_timeout = 0;
    if (ch) {
        CHECK_EQ(mig_upgrade(a, ch, "head", &o, &err), -1);
        CHECK_EQ(err.code, MT_EUNAVAIL);
    }
    mig_lock_release(b);

    mig_set_preflight(preflight);
    preflight_refuse = true;
    if (ch) {
        CHECK_EQ(mig_upgrade(a, ch, "head", &o, &err), -1);
        CHECK_STR(err.msg, "pre-flight refused");
        CHECK(!table_exists(a, "alembic_version"));
        preflight_refuse = false;
        o.run_preflight = false;
        CHECK_EQ(mig_upgrade(a, ch, "+1", &o, &err), 0);
        CHECK_EQ(preflight_calls, 1);
        o.run_preflight = true;
        CHECK_EQ(mig_upgrade(a, ch, "head", &o, &err), 0);
        CHECK_EQ(preflight_calls, 2);
        CHECK_EQ(mig_downgrade(a, ch, "base", &o, &err), 0);
        CHECK_EQ(preflight_calls, 2); /* only upgrades take over */
    }
    mig_set_preflight(NULL);
    mig_chain_free(ch);
    db_close(a);
    db_close(b);
}

int main(void)
{
    const char *d = getenv("MT_TEST_DIALECT");
    if (d && *d)
        dialect = d;
    mt_log_setup(MT_LOG_WARN, MT_LOG_TEXT);
    const char *base = getenv("MT_TEST_TMP");
    snprintf(tmpdir, sizeof(tmpdir), "%s/migrate-unit-XXXXXX", base && *base ? base : "/tmp");
    mkdir(base && *base ? base : "/tmp", 0755);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    printf("dialect %s, scratch %s\n", dialect, tmpdir);
    test_chain_load();
    test_chain_validation();
    test_resolve();
    test_checksum();
    test_offline();
    if (strcmp(dialect, "sqlite") != 0 && !getenv("MT_TEST_PG_URL") && !getenv("MT_TEST_MYSQL_URL"))
        SKIP("no database servers (run through scripts/run-tests.sh)");
    test_apply();
    test_version_ddl();
    test_hooks();
    test_lock_and_preflight();
    rmtree(tmpdir);
    return check_report();
}
