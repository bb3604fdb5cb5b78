/* `meditrack db copy`, `meditrack backup` and `meditrack restore`: the
 * command-line faces of the copy module (src/copy/). Each parses its
 * arguments, opens the databases, runs the module and prints a report:
 * progress on stderr, the per-table rows and checksums on stdout. Exit
 * codes as in cli.h; docs/backup.md and docs/cli.md describe them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/start.h"
#include "copy/copy.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/parse.h"
#include "db/db.h"
#include "migrate/migrate.h"
#include "schema/schema.h"
#include "store/audit.h"

/* What one invocation needs besides its arguments. */
struct copycmd {
    const char *name; /* "meditrack db copy", "meditrack backup", ... */
    const struct mt_config *cfg;
};

static int usage_error(const struct copycmd *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const struct copycmd *x, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", x->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see %s --help)\n", x->name);
    return MT_EXIT_USAGE;
}

static int fail(const struct copycmd *x, const struct mt_err *err, int code)
{
    fprintf(stderr, "%s: error: %s\n", x->name, err->msg);
    return code;
}

/* --help or -h anywhere: prints help to stdout and says so. */
static bool help_asked(int argc, char **argv, const char *help)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return true;
        }
    return false;
}

/* The options every command of this file shares. */
struct copy_args {
    const char *to;   /* --to URL */
    const char *file; /* the positional */
    bool force;
    int batch;
};

/* Parses [--to URL] [--force] [--batch N] and at most one positional,
 * each allowed or not as the command says. */
static int parse_args(const struct copycmd *x, int argc, char **argv, bool want_to, bool want_force,
                      bool want_file, struct copy_args *a)
{
    memset(a, 0, sizeof *a);
    a->batch = 5000;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *val = NULL;
        if (want_to && cli_option(argc, argv, &i, NULL, "--to", &val)) {
            if (!val)
                return usage_error(x, "--to needs a database URL");
            a->to = val;
        } else if (strcmp(s, "--force") == 0 && want_force) {
            a->force = true;
        } else if (cli_option(argc, argv, &i, NULL, "--batch", &val)) {
            if (!val)
                return usage_error(x, "--batch needs a number of rows");
            int64_t n;
            struct mt_err err = {0};
            if (mt_parse_i64(val, strlen(val), 1, 1000000, &n, &err) < 0)
                return usage_error(x, "--batch: %s", err.msg);
            a->batch = (int)n;
        } else if (strcmp(s, "--") == 0 && want_file && i + 1 < argc && !a->file) {
            a->file = argv[++i];
        } else if (s[0] == '-' && s[1]) {
            return usage_error(x, "unknown option \"%s\"", s);
        } else if (want_file && !a->file) {
            a->file = s;
        } else {
            return usage_error(x, "unexpected argument \"%s\"", s);
        }
    }
    if (a->to && !*a->to)
        return usage_error(x, "--to needs a database URL");
    return MT_EXIT_OK;
}

/* Opens the database of url (text) with the configuration's SQLite lock
 * wait, mapping failures to exit codes; what names it in messages. */
static int open_url(const struct copycmd *x, const char *url, const char *what,
                    struct db_url *parsed, struct db_conn **out)
{
    struct mt_err err = {0};
    if (db_url_parse(url, parsed, &err) < 0) {
        fprintf(stderr, "%s: error: invalid %s: %s\n", x->name, what, err.msg);
        return MT_EXIT_CONFIG;
    }
    parsed->busy_timeout_ms = x->cfg->sqlite_busy_timeout;
    if (db_open(parsed, out, &err) < 0) {
        fprintf(stderr, "%s: error: %s: %s\n", x->name, what, err.msg);
        db_url_release(parsed);
        return cli_exit_for_connect_error(&err);
    }
    return MT_EXIT_OK;
}

/* The source: DATABASE_URL. */
static int open_source(const struct copycmd *x, struct db_url *u, struct db_conn **c)
{
    if (!x->cfg->database_url || !*x->cfg->database_url) {
        fprintf(stderr, "%s: error: DATABASE_URL is not set\n", x->name);
        return MT_EXIT_CONFIG;
    }
    return open_url(x, x->cfg->database_url, "DATABASE_URL", u, c);
}

/* An in-memory target would vanish with this process. */
static int refuse_memory_target(const struct copycmd *x, const struct db_url *u)
{
    if (u->dialect == DB_SQLITE && u->path && strcmp(u->path, ":memory:") == 0) {
        fprintf(stderr,
                "%s: error: the target sqlite:///:memory: would be gone when this command "
                "exits; give a file or a server\n",
                x->name);
        return MT_EXIT_CONFIG;
    }
    return MT_EXIT_OK;
}

/* The chain and the MediTrack hooks its revisions name. */
static int load_chain(const struct copycmd *x, struct mig_chain **ch)
{
    struct mt_err err = {0};
    if (schema_register(&err) < 0 || mig_chain_load(x->cfg, ch, &err) < 0)
        return fail(x, &err, MT_EXIT_FAIL);
    return MT_EXIT_OK;
}

/* Progress on stderr: at most two lines a second per table, and one when a
 * table is done. */
static void progress(void *ctx, const char *phase, const char *table, int64_t done, int64_t total)
{
    (void)ctx;
    if (strcmp(phase, "copy") != 0)
        return;
    if (done == total)
        fprintf(stderr, "copy: %s: %lld rows copied\n", table, (long long)done);
    else
        fprintf(stderr, "copy: %s: %lld of %lld rows\n", table, (long long)done, (long long)total);
}

/* The copy module's options for the command line's (--force stays off
 * where a command does not take it). */
static void options_of(const struct copycmd *x, const struct copy_args *a, struct copy_options *o)
{
    copy_options_init(o);
    o->batch = a->batch;
    o->force = a->force;
    o->progress = progress;
    o->lock_timeout = x->cfg->migrate_lock_timeout;
}

/* The tables of a copy with their rows and checksums, its notes, and the
 * totals when it got as far as the tables. */
static void print_report(const struct copy_report *r)
{
    size_t w = 5;
    for (size_t i = 0; i < r->n; i++)
        if (strlen(r->tables[i].name) > w)
            w = strlen(r->tables[i].name);
    for (size_t i = 0; i < r->n; i++) {
        const struct copy_table_report *t = &r->tables[i];
        if (t->match)
            printf("  %-*s %10lld rows  sha256 %s  ok\n", (int)w, t->name, (long long)t->rows,
                   t->sum);
        else if (t->target_sum[0])
            printf("  %-*s %10lld rows  sha256 %s  MISMATCH: the target has %lld rows, sha256 "
                   "%s\n",
                   (int)w, t->name, (long long)t->rows, t->sum, (long long)t->target_rows,
                   t->target_sum);
        else
            printf("  %-*s %10lld rows  not verified\n", (int)w, t->name, (long long)t->rows);
    }
    for (size_t i = 0; i < r->notes.n; i++)
        printf("  note: %s\n", r->notes.items[i]);
    if (r->n)
        printf("%lld rows in %zu tables: copied in %.2f s, verified in %.2f s; %s\n",
               (long long)r->rows, r->n, (double)r->copy_ms / 1000.0,
               (double)r->verify_ms / 1000.0,
               r->verified ? "every table matches" : "NOT every table matches");
}

/* ---- the audit chain on the target -------------------------------------------------- */

/* Recomputes the audit chain on the database just written (the tables
 * already match the source's checksums; this proves the chain itself still
 * holds there) and says so on stdout. Returns MT_EXIT_FAIL only when the
 * target's chain is broken and the source's (src; NULL for a restore,
 * whose file was checked against its manifest) is not: then the copy
 * itself went wrong. A chain that was broken before the copy is copied as
 * it is, with a warning: refusing would strand the household's data. */
static int verify_audit(const struct copycmd *x, struct db_conn *dst, struct db_conn *src)
{
    struct store_audit_verdict v;
    struct mt_err err = {0};
    bool chain = false;
    /* A database of another migration chain (MIGRATIONS_DIR) has none. */
    if (db_table_exists(dst, "audit_head", &chain, &err) == 0 && !chain)
        return MT_EXIT_OK;
    if (err.code || store_audit_verify(dst, &v, &err) < 0) {
        fprintf(stderr, "%s: warning: the audit trail on the target could not be read: %s\n",
                x->name, err.msg);
        return MT_EXIT_OK;
    }
    if (v.ok) {
        printf("Audit trail verified on the target: %lld rows, head %lld:%s\n", (long long)v.rows,
               (long long)v.head_seq, v.head_hash);
        return MT_EXIT_OK;
    }
    struct store_audit_verdict sv;
    bool src_ok = src && store_audit_verify(src, &sv, &err) == 0 && sv.ok;
    fprintf(stderr, "%s: %s: the audit trail does not verify on the target (row %lld: %s)%s\n",
            x->name, src_ok ? "error" : "warning", (long long)v.bad_seq, v.problem,
            src_ok ? ", though it does on the source"
                   : "; it was already broken before the copy, and was copied as it is "
                     "(see `meditrack audit verify` and docs/audit.md)");
    return src_ok ? MT_EXIT_FAIL : MT_EXIT_OK;
}

/* ---- db copy ----------------------------------------------------------------------- */

static const char copy_help[] =
    "usage: meditrack db copy --to URL [--force] [--batch N]\n\n"
    "Copies the database of DATABASE_URL, which must be at head, into the empty\n"
    "database URL (SQLite, PostgreSQL or MariaDB, any direction): creates its schema\n"
    "through the migrations (so it is a normal database at the same revision),\n"
    "copies every table from one snapshot of the source in foreign-key order, in\n"
    "transactions of N rows (default 5000), keeping ids, moves the target's\n"
    "sequences / AUTO_INCREMENT past the highest id, then reads the target back\n"
    "and compares row counts and SHA-256 checksums of the canonical rows.\n\n"
    "options:\n"
    "  --to URL   the target database (as DATABASE_URL)\n"
    "  --force    the target has tables: drop those this copy writes (the source's\n"
    "             tables, alembic_version and meditrack_*), leave others alone\n"
    "  --batch N  rows per target transaction (1-1000000)\n\n"
    "Progress goes to stderr, the report to stdout. Exit codes: 0 copied and\n"
    "verified, 1 refused (source not at head, target not empty, same database) or\n"
    "failed or a checksum mismatch, 2 bad command line, 3 bad URL, 4 a database is\n"
    "unreachable, 5 authentication refused or database missing (docs/backup.md).\n";

int cmd_db_copy(int argc, char **argv, const struct mt_config *cfg, const char *prog)
{
    char name[64];
    snprintf(name, sizeof name, "%s copy", prog);
    struct copycmd x = {.name = name, .cfg = cfg};
    if (help_asked(argc, argv, copy_help))
        return MT_EXIT_OK;
    struct copy_args a;
    int rc = parse_args(&x, argc, argv, true, true, false, &a);
    if (rc != MT_EXIT_OK)
        return rc;
    if (!a.to)
        return usage_error(&x, "missing --to URL");
    struct db_url su, du;
    struct db_conn *src = NULL, *dst = NULL;
    struct mig_chain *ch = NULL;
    char *rev = NULL;
    struct copy_report rep;
    copy_report_init(&rep);
    struct mt_err err = {0};
    if ((rc = open_source(&x, &su, &src)) != MT_EXIT_OK)
        return rc;
    if ((rc = open_url(&x, a.to, "--to", &du, &dst)) != MT_EXIT_OK) {
        db_close(src);
        db_url_release(&su);
        return rc;
    }
    if ((rc = refuse_memory_target(&x, &du)) != MT_EXIT_OK)
        goto out;
    if (copy_same_database(&su, &du)) {
        fprintf(stderr, "%s: error: --to names the source database itself\n", name);
        rc = MT_EXIT_FAIL;
        goto out;
    }
    if ((rc = load_chain(&x, &ch)) != MT_EXIT_OK)
        goto out;
    if (copy_source_revision(src, ch, true, &rev, &err) < 0) {
        rc = fail(&x, &err, MT_EXIT_FAIL);
        goto out;
    }
    struct copy_options o;
    options_of(&x, &a, &o);
    fprintf(stderr, "copy: %s -> %s at revision %s\n", db_conn_label(src), db_conn_label(dst), rev);
    int r = copy_run(src, dst, ch, rev, &o, &rep, &err);
    printf("%s %s to %s at revision %s\n", r == 0 ? "Copied" : "Copy of", db_conn_label(src),
           db_conn_label(dst), rev);
    print_report(&rep);
    rc = r == 0 ? verify_audit(&x, dst, src) : fail(&x, &err, MT_EXIT_FAIL);
out:
    copy_report_release(&rep);
    free(rev);
    mig_chain_free(ch);
    db_close(dst);
    db_close(src);
    db_url_release(&du);
    db_url_release(&su);
    return rc;
}

/* ---- backup ------------------------------------------------------------------------ */

static const char backup_help[] =
    "usage: meditrack backup [FILE] [--batch N]\n\n"
    "Writes a consistent backup of the database of DATABASE_URL (any engine, at a\n"
    "revision this program knows) into FILE, a new SQLite database at the same\n"
    "revision: SQLite's online backup for a SQLite source, a copy from one\n"
    "snapshot for PostgreSQL and MariaDB. Writers may go on meanwhile. The file\n"
    "holds a manifest (table meditrack_backup_manifest): revision, time, source,\n"
    "rows and SHA-256 checksum of every table, the audit chain's head (SEQ:HASH).\n"
    "Without FILE: BACKUP_DIR/meditrack-backup-<UTC time>.db. An existing FILE is\n"
    "never replaced. Restore with `meditrack restore FILE`.\n\n"
    "Exit codes: 0 written, 1 failed (nothing is left under FILE), 2 bad command\n"
    "line, 3 bad DATABASE_URL, 4 database unreachable, 5 authentication refused.\n";

int cmd_backup(int argc, char **argv, const struct mt_config *cfg)
{
    struct copycmd x = {.name = "meditrack backup", .cfg = cfg};
    if (help_asked(argc, argv, backup_help))
        return MT_EXIT_OK;
    struct copy_args a;
    int rc = parse_args(&x, argc, argv, false, false, true, &a);
    if (rc != MT_EXIT_OK)
        return rc;
    struct db_url su;
    struct db_conn *src = NULL;
    struct mig_chain *ch = NULL;
    if ((rc = open_source(&x, &su, &src)) != MT_EXIT_OK)
        return rc;
    char *file = a.file ? mt_xstrdup(a.file) : copy_backup_default_name(cfg->backup_dir);
    struct copy_backup_result res = {0};
    struct mt_err err = {0};
    if ((rc = load_chain(&x, &ch)) != MT_EXIT_OK)
        goto out;
    struct copy_options o;
    options_of(&x, &a, &o);
    o.log = copy_quiet_log;
    fprintf(stderr, "backup: %s -> %s\n", db_conn_label(src), file);
    if (copy_backup(src, ch, file, &o, &res, &err) < 0) {
        rc = fail(&x, &err, MT_EXIT_FAIL);
        goto out;
    }
    char head[96] = "none";
    if (res.audit_hash)
        snprintf(head, sizeof head, "%lld:%s", (long long)res.audit_seq, res.audit_hash);
    printf("Backup written to %s: revision %s, %zu tables, %lld rows, audit head %s, in %.2f s\n",
           res.file, res.revision, res.tables, (long long)res.rows, head,
           (double)res.duration_ms / 1000.0);
    rc = MT_EXIT_OK;
out:
    copy_backup_result_release(&res);
    free(file);
    mig_chain_free(ch);
    db_close(src);
    db_url_release(&su);
    return rc;
}

/* ---- restore ----------------------------------------------------------------------- */

static const char restore_help[] =
    "usage: meditrack restore FILE [--to URL] [--force] [--batch N]\n\n"
    "Restores the backup FILE (made by `meditrack backup`) into the empty database\n"
    "URL (default: DATABASE_URL), on any engine. First checks the file against its\n"
    "manifest (format, a revision this program knows, rows and checksum of every\n"
    "table, the audit chain's head); a backup older than head is upgraded on a\n"
    "temporary copy (the file itself is only read). Then copies it as `meditrack\n"
    "db copy` does, and verifies the target, its audit chain included.\n\n"
    "options:\n"
    "  --to URL   the target database (default DATABASE_URL)\n"
    "  --force    the target has tables: drop those the restore writes first\n"
    "  --batch N  rows per target transaction (1-1000000)\n\n"
    "Exit codes: 0 restored and verified, 1 refused (damaged or unknown backup,\n"
    "target not empty) or failed, 2 bad command line, 3 bad URL, 4 database\n"
    "unreachable, 5 authentication refused or database missing.\n";

int cmd_restore(int argc, char **argv, const struct mt_config *cfg)
{
    struct copycmd x = {.name = "meditrack restore", .cfg = cfg};
    if (help_asked(argc, argv, restore_help))
        return MT_EXIT_OK;
    struct copy_args a;
    int rc = parse_args(&x, argc, argv, true, true, true, &a);
    if (rc != MT_EXIT_OK)
        return rc;
    if (!a.file)
        return usage_error(&x, "missing the backup FILE");
    struct db_url du;
    struct db_conn *dst = NULL;
    if (a.to)
        rc = open_url(&x, a.to, "--to", &du, &dst);
    else
        rc = open_source(&x, &du, &dst);
    if (rc != MT_EXIT_OK)
        return rc;
    struct mig_chain *ch = NULL;
    struct copy_restore_result res;
    memset(&res, 0, sizeof res);
    struct mt_err err = {0};
    if ((rc = refuse_memory_target(&x, &du)) != MT_EXIT_OK ||
        (rc = load_chain(&x, &ch)) != MT_EXIT_OK)
        goto out;
    struct copy_options o;
    options_of(&x, &a, &o);
    fprintf(stderr, "restore: %s -> %s\n", a.file, db_conn_label(dst));
    int r = copy_restore(a.file, dst, ch, &o, &res, &err);
    if (res.revision)
        printf("%s %s (revision %s, made %s%s) into %s\n", r == 0 ? "Restored" : "Restore of",
               a.file, res.revision, res.created_at ? res.created_at : "?",
               res.upgraded ? ", upgraded to head" : "", db_conn_label(dst));
    print_report(&res.copy);
    rc = r == 0 ? verify_audit(&x, dst, NULL) : fail(&x, &err, MT_EXIT_FAIL);
out:
    copy_restore_result_release(&res);
    mig_chain_free(ch);
    db_close(dst);
    db_url_release(&du);
    return rc;
}
