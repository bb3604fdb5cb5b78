/* `meditrack db <command>` (also `alembic <command>` through a symlink): the
 * Alembic-compatible front end of the migration engine in src/migrate/. A
 * small sub-command table; each entry parses its own arguments, prints its
 * own --help, and returns the process exit status (see cli.h). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/start.h"
#include "core/err.h"
#include "core/log.h"
#include "core/parse.h"
#include "db/db.h"
#include "migrate/migrate.h"
#include "schema/schema.h"

struct dbcmd {
    const struct mt_config *cfg;
    const char *prog; /* "meditrack db" or "alembic" */
    const char *sub;
};

struct subcommand {
    const char *name;
    int (*fn)(struct dbcmd *x, int argc, char **argv);
    const char *args;
    const char *summary;
    const char *help;
};

static void print_sub_help(const struct dbcmd *x, const struct subcommand *s, FILE *out)
{
    fprintf(out, "usage: %s %s%s%s\n\n%s\n", x->prog, s->name, s->args[0] ? " " : "", s->args,
            s->help);
}

static int usage_error(const struct dbcmd *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const struct dbcmd *x, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s %s: ", x->prog, x->sub);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see %s %s --help)\n", x->prog, x->sub);
    return MT_EXIT_USAGE;
}

static int fail(const struct dbcmd *x, const struct mt_err *err, int code)
{
    fprintf(stderr, "%s %s: error: %s\n", x->prog, x->sub, err->msg);
    return code;
}

/* Exit status for an error of the engine. A take-over refused by the
 * schema module's pre-flight (src/schema/schema.h) has the exit code of its
 * own that `meditrack start` uses too; the engine may prefix the message. */
static int engine_code(const struct mt_err *err)
{
    switch (err->code) {
    case MT_EINVAL:
    case MT_ENOTFOUND:
        return MT_EXIT_FAIL;
    case MT_ECONFLICT:
        return strstr(err->msg, SCHEMA_REFUSED) ? MT_EXIT_ADOPT : MT_EXIT_MIGRATE;
    case MT_EUNAVAIL:
    case MT_EAUTH:
    case MT_ENODB:
    default:
        return MT_EXIT_MIGRATE;
    }
}

static int load_chain(struct dbcmd *x, struct mig_chain **ch)
{
    struct mt_err err = {0};
    if (mig_chain_load(x->cfg, ch, &err) < 0)
        return fail(x, &err, MT_EXIT_FAIL);
    return MT_EXIT_OK;
}

static int connect_db(struct dbcmd *x, struct db_conn **c)
{
    struct mt_err err = {0};
    if (!x->cfg->database_url || !*x->cfg->database_url) {
        fprintf(stderr, "%s %s: error: DATABASE_URL is not set\n", x->prog, x->sub);
        return MT_EXIT_CONFIG;
    }
    if (cli_db_open(x->cfg, c, &err) == 0)
        return MT_EXIT_OK;
    switch (err.code) {
    case MT_EINVAL:
    case MT_EPERM:
        return fail(x, &err, MT_EXIT_CONFIG);
    case MT_EUNAVAIL:
        return fail(x, &err, MT_EXIT_DB_UNREACHABLE);
    case MT_EAUTH:
    case MT_ENODB:
        return fail(x, &err, MT_EXIT_DB_AUTH);
    default:
        return fail(x, &err, MT_EXIT_FAIL);
    }
}

/* load_chain and connect_db for the commands that need both; on failure
 * nothing is left open. */
static int open_chain_db(struct dbcmd *x, struct mig_chain **ch, struct db_conn **c)
{
    int rc = load_chain(x, ch);
    if (rc != MT_EXIT_OK)
        return rc;
    rc = connect_db(x, c);
    if (rc != MT_EXIT_OK)
        mig_chain_free(*ch);
    return rc;
}

/* Argument helpers: flags may come in any order around one positional. */
static bool is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* The arguments of a command whose only option is -v / --verbose. */
static int parse_verbose(const struct dbcmd *x, int argc, char **argv, bool *verbose)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0)
            *verbose = true;
        else
            return usage_error(x, "unexpected argument \"%s\"", argv[i]);
    }
    return MT_EXIT_OK;
}

static void print_rev_line(const struct mig_chain *ch, const struct mig_revision *r,
                           const char *current)
{
    const struct mig_revision *head = mig_chain_head(ch);
    printf("%s -> %s%s%s, %s\n", r->down_revision ? r->down_revision : "<base>", r->id,
           r == head ? " (head)" : "", current && strcmp(current, r->id) == 0 ? " (current)" : "",
           r->message);
}

static const struct mig_audit *last_applied(const struct mig_audit *a, size_t n, const char *id)
{
    const struct mig_audit *last = NULL;
    for (size_t i = 0; i < n; i++)
        if (a[i].success == 1 && strcmp(a[i].direction, "upgrade") == 0 &&
            strcmp(a[i].revision, id) == 0)
            last = &a[i];
    return last;
}

static void print_rev_block(const struct mig_chain *ch, const struct mig_revision *r,
                            const char *current, const struct mig_audit *audit, size_t n_audit,
                            bool with_audit)
{
    const struct mig_revision *head = mig_chain_head(ch);
    printf("Rev: %s%s%s\n", r->id, r == head ? " (head)" : "",
           current && strcmp(current, r->id) == 0 ? " (current)" : "");
    printf("Parent: %s\n", r->down_revision ? r->down_revision : "<base>");
    printf("Path: %s/%s\n\n", ch->source, r->dir);
    printf("    %s\n\n", r->message);
    printf("    Revision ID: %s\n", r->id);
    printf("    Revises: %s\n", r->down_revision ? r->down_revision : "");
    printf("    Create Date: %s\n", r->create_date);
    if (!r->transactional)
        printf("    Transactional: false\n");
    if (with_audit) {
        long cur = mig_chain_pos(ch, current), pos = mig_chain_pos(ch, r->id);
        const struct mig_audit *a = last_applied(audit, n_audit, r->id);
        if (a)
            printf("    Applied: %s, %lld ms, pid %lld on %s, checksum %s%s\n", a->started_at,
                   (long long)a->duration_ms, (long long)a->pid, a->host ? a->host : "?",
                   a->checksum ? a->checksum : "-", pos > cur ? " (since downgraded)" : "");
        else if (pos <= cur)
            printf("    Applied: yes (no record in %s: applied by Alembic or stamped)\n",
                   MIG_AUDIT_TABLE);
        else
            printf("    Applied: no\n");
    }
    printf("\n");
}

static void print_interrupted(const struct mig_audit *a)
{
    printf("Interrupted: the %s of %s stopped after %lld of %lld steps (run %lld, pid %lld on "
           "%s, started %s)%s%s\n",
           a->direction, a->revision, (long long)a->stmt_done, (long long)a->stmt_total,
           (long long)a->id, (long long)a->pid, a->host ? a->host : "?",
           a->started_at ? a->started_at : "?", a->error ? ": " : "", a->error ? a->error : "");
}

/* ---- current ---------------------------------------------------------------- */

static int sub_current(struct dbcmd *x, int argc, char **argv)
{
    bool verbose = false;
    int rc = parse_verbose(x, argc, argv, &verbose);
    if (rc != MT_EXIT_OK)
        return rc;
    struct mig_chain *ch;
    struct db_conn *c;
    rc = open_chain_db(x, &ch, &c);
    if (rc != MT_EXIT_OK)
        return rc;
    struct mt_err err = {0};
    char *cur = NULL;
    struct mig_audit *audit = NULL, *prev = NULL;
    size_t n_audit = 0;
    if (mig_current(c, &cur, &err) < 0) {
        rc = fail(x, &err, MT_EXIT_FAIL);
        goto out;
    }
    const struct mig_revision *r = mig_chain_find(ch, cur);
    if (cur && !r) {
        printf("%s\n", cur);
        fprintf(stderr, "%s %s: error: revision %s is not in the migrations of this program (%s)\n",
                x->prog, x->sub, cur, ch->source);
        rc = MT_EXIT_FAIL;
        goto out;
    }
    if (verbose) {
        if (mig_audit_list(c, &audit, &n_audit, &err) < 0) {
            rc = fail(x, &err, MT_EXIT_FAIL);
            goto out;
        }
        printf("Current revision(s) for %s:\n", db_conn_label(c));
        if (r)
            print_rev_block(ch, r, cur, audit, n_audit, true);
        else
            printf("<base> (no revision applied)\n");
        for (size_t i = 0; i < n_audit; i++)
            if (audit[i].success == -1)
                prev = &audit[i];
        if (prev)
            print_interrupted(prev);
    } else if (cur) {
        printf("%s%s\n", cur, r == mig_chain_head(ch) ? " (head)" : "");
    }
out:
    mig_audit_free(audit, n_audit);
    free(cur);
    db_close(c);
    mig_chain_free(ch);
    return rc;
}

/* ---- history, heads, show ------------------------------------------------------ */

static int resolve_bound(struct dbcmd *x, const struct mig_chain *ch, const char *spec, size_t len,
                         const char *current, const char *dflt, long *pos)
{
    char *s = len ? mt_xstrndup(spec, len) : mt_xstrdup(dflt);
    struct mt_err err = {0};
    const struct mig_revision *r;
    int rc = MT_EXIT_OK;
    if (strcmp(s, "current") == 0)
        *pos = mig_chain_pos(ch, current);
    else if (mig_resolve(ch, s, current, &r, &err) < 0)
        rc = fail(x, &err, MT_EXIT_FAIL);
    else
        *pos = r ? (long)(r - ch->revs) : -1;
    free(s);
    return rc;
}

static int sub_history(struct dbcmd *x, int argc, char **argv)
{
    bool verbose = false;
    const char *range = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0)
            verbose = true;
        else if (cli_option(argc, argv, &i, "-r", "--rev-range", &range)) {
            if (!range)
                return usage_error(x, "%s needs a range A:B", "-r");
        } else
            return usage_error(x, "unexpected argument \"%s\"", argv[i]);
    }
    if (range && !strchr(range, ':'))
        return usage_error(x, "invalid range \"%s\": expected A:B (either side may be empty)",
                           range);
    struct mig_chain *ch;
    int rc = load_chain(x, &ch);
    if (rc != MT_EXIT_OK)
        return rc;
    struct db_conn *c = NULL;
    char *cur = NULL;
    struct mig_audit *audit = NULL;
    size_t n_audit = 0;
    bool need_db = verbose || (range && strstr(range, "current"));
    if (need_db) {
        rc = connect_db(x, &c);
        if (rc != MT_EXIT_OK)
            goto out;
        struct mt_err err = {0};
        if (mig_current(c, &cur, &err) < 0 || mig_audit_list(c, &audit, &n_audit, &err) < 0) {
            rc = fail(x, &err, MT_EXIT_FAIL);
            goto out;
        }
    }
    long lo = -1, hi = (long)ch->n - 1;
    if (range) {
        const char *colon = strchr(range, ':');
        rc = resolve_bound(x, ch, range, (size_t)(colon - range), cur, "base", &lo);
        if (rc == MT_EXIT_OK)
            rc = resolve_bound(x, ch, colon + 1, strlen(colon + 1), cur, "head", &hi);
        if (rc != MT_EXIT_OK)
            goto out;
        /* "A:B" includes A itself, as in Alembic. */
        if (lo >= 0)
            lo--;
    }
    for (long i = hi; i > lo && i >= 0; i--) {
        if (verbose)
            print_rev_block(ch, &ch->revs[i], cur, audit, n_audit, true);
        else
            print_rev_line(ch, &ch->revs[i], cur);
    }
out:
    mig_audit_free(audit, n_audit);
    free(cur);
    if (c)
        db_close(c);
    mig_chain_free(ch);
    return rc;
}

static int sub_heads(struct dbcmd *x, int argc, char **argv)
{
    bool verbose = false;
    int rc = parse_verbose(x, argc, argv, &verbose);
    if (rc != MT_EXIT_OK)
        return rc;
    struct mig_chain *ch;
    rc = load_chain(x, &ch);
    if (rc != MT_EXIT_OK)
        return rc;
    const struct mig_revision *head = mig_chain_head(ch);
    if (head && verbose)
        print_rev_block(ch, head, NULL, NULL, 0, false);
    else if (head)
        printf("%s (head)\n", head->id);
    mig_chain_free(ch);
    return MT_EXIT_OK;
}

static int sub_show(struct dbcmd *x, int argc, char **argv)
{
    const char *spec = NULL;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1])
            return usage_error(x, "unknown option \"%s\"", argv[i]);
        if (spec)
            return usage_error(x, "unexpected argument \"%s\"", argv[i]);
        spec = argv[i];
    }
    if (!spec)
        return usage_error(x, "missing revision");
    struct mig_chain *ch;
    int rc = load_chain(x, &ch);
    if (rc != MT_EXIT_OK)
        return rc;
    struct mt_err err = {0};
    const struct mig_revision *r;
    if (mig_resolve(ch, spec, NULL, &r, &err) < 0) {
        rc = fail(x, &err, MT_EXIT_FAIL);
    } else if (!r) {
        fprintf(stderr, "%s %s: error: \"%s\" is base, not a revision\n", x->prog, x->sub, spec);
        rc = MT_EXIT_FAIL;
    } else {
        print_rev_block(ch, r, NULL, NULL, 0, false);
    }
    mig_chain_free(ch);
    return rc;
}

/* ---- upgrade, downgrade, stamp --------------------------------------------------- */

enum change { CH_UPGRADE, CH_DOWNGRADE, CH_STAMP };

static int change(struct dbcmd *x, int argc, char **argv, enum change what, const char *dflt)
{
    const char *spec = NULL, *crash = NULL;
    bool sql = false, purge = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--sql") == 0) {
            sql = true;
        } else if (what != CH_STAMP && cli_option(argc, argv, &i, NULL, "--crash-at", &crash)) {
            /* Test-only and undocumented in --help: SIGKILL at the Nth crash
             * point (tests/migrate/t030-crash.sh). */
            if (!crash)
                return usage_error(x, "--crash-at needs a number");
        } else if (what == CH_STAMP && strcmp(a, "--purge") == 0) {
            purge = true;
        } else if (a[0] == '-' && a[1] && !(a[1] >= '0' && a[1] <= '9')) {
            return usage_error(x, "unknown option \"%s\"", a);
        } else if (spec) {
            return usage_error(x, "unexpected argument \"%s\"", a);
        } else {
            spec = a;
        }
    }
    if (!spec)
        spec = dflt;
    struct mig_chain *ch;
    int rc = load_chain(x, &ch);
    if (rc != MT_EXIT_OK)
        return rc;
    struct mig_options o;
    mig_options_from_config(&o, x->cfg);
    struct db_conn *c = NULL;
    struct mt_err err = {0};
    if (crash) {
        int64_t n;
        if (mt_parse_i64(crash, strlen(crash), 1, INT32_MAX, &n, &err) < 0) {
            mig_chain_free(ch);
            return usage_error(x, "--crash-at: %s", err.msg);
        }
        o.crash_at = (long)n;
    }
    if (sql) {
        struct db_url u;
        if (db_url_parse(x->cfg->database_url ? x->cfg->database_url : "", &u, &err) < 0) {
            rc = fail(x, &err, MT_EXIT_CONFIG);
            goto out;
        }
        o.sql_out = stdout;
        o.sql_dialect = u.dialect;
        db_url_release(&u);
    } else {
        rc = connect_db(x, &c);
        if (rc != MT_EXIT_OK)
            goto out;
    }
    int r;
    if (what == CH_UPGRADE)
        r = mig_upgrade(c, ch, spec, &o, &err);
    else if (what == CH_DOWNGRADE)
        r = mig_downgrade(c, ch, spec, &o, &err);
    else
        r = mig_stamp(c, ch, spec, purge, &o, &err);
    if (r < 0)
        rc = fail(x, &err, engine_code(&err));
out:
    if (c)
        db_close(c);
    mig_chain_free(ch);
    return rc;
}

static int sub_upgrade(struct dbcmd *x, int argc, char **argv)
{
    return change(x, argc, argv, CH_UPGRADE, "head");
}

static int sub_downgrade(struct dbcmd *x, int argc, char **argv)
{
    return change(x, argc, argv, CH_DOWNGRADE, "-1");
}

static int sub_stamp(struct dbcmd *x, int argc, char **argv)
{
    return change(x, argc, argv, CH_STAMP, "head");
}

/* ---- check ------------------------------------------------------------------------ */

static int sub_check(struct dbcmd *x, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        return usage_error(x, "unexpected argument \"%s\"", argv[i]);
    struct mig_chain *ch;
    struct db_conn *c;
    int rc = open_chain_db(x, &ch, &c);
    if (rc != MT_EXIT_OK)
        return rc;
    struct mt_err err = {0};
    struct mig_check r;
    if (mig_check_run(c, ch, &r, &err) < 0) {
        rc = fail(x, &err, MT_EXIT_FAIL);
        goto out;
    }
    if (r.n_pending == 0) {
        const struct mig_revision *head = mig_chain_head(ch);
        printf("No pending revisions: the database is at head (%s).\n",
               head ? head->id : "base, the chain is empty");
    } else {
        printf("%zu pending revision%s (database at %s):\n", r.n_pending,
               r.n_pending == 1 ? "" : "s", r.current ? r.current : "base");
        for (size_t i = 0; i < r.n_pending; i++)
            printf("  %s  %s\n", r.pending[i]->id, r.pending[i]->message);
    }
    for (size_t i = 0; i < r.n_mismatches; i++)
        printf("Checksum mismatch: revision %s was applied with SQL %s, but its up SQL for %s is "
               "now %s\n",
               r.mismatches[i].rev->id, r.mismatches[i].recorded,
               db_dialect_name(db_conn_dialect(c)), r.mismatches[i].expected);
    if (r.interrupted)
        print_interrupted(r.interrupted);
    rc = r.n_pending || r.n_mismatches || r.interrupted ? MT_EXIT_FAIL : MT_EXIT_OK;
    /* Doses without a person are listed for the operator; they do not make
     * the check fail (some may never be assignable). */
    if (cli_print_unowned_doses(c, x->prog) != MT_EXIT_OK)
        rc = MT_EXIT_FAIL;
    mig_check_release(&r);
out:
    db_close(c);
    mig_chain_free(ch);
    return rc;
}

/* ---- revision ---------------------------------------------------------------------- */

static int sub_revision(struct dbcmd *x, int argc, char **argv)
{
    const char *msg = NULL, *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_option(argc, argv, &i, "-m", "--message", &msg)) {
            if (!msg)
                return usage_error(x, "%s needs a value", "-m");
        } else if (cli_option(argc, argv, &i, NULL, "--dir", &dir)) {
            if (!dir)
                return usage_error(x, "%s needs a value", "--dir");
        } else {
            return usage_error(x, "unexpected argument \"%s\"", argv[i]);
        }
    }
    if (!msg)
        return usage_error(x, "missing -m MESSAGE");
    if (!dir)
        dir = x->cfg->migrations_dir && *x->cfg->migrations_dir ? x->cfg->migrations_dir
                                                                : "migrations";
    struct mt_err err = {0};
    struct mig_chain *ch = NULL;
    struct mig_chain empty = {.source = (char *)dir};
    const struct mig_chain *base = &empty;
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (mig_chain_load_dir(dir, &ch, &err) < 0)
            return fail(x, &err, MT_EXIT_FAIL);
        base = ch;
    }
    char *path = NULL;
    int rc = MT_EXIT_OK;
    if (mig_scaffold(base, dir, msg, &path, &err) < 0)
        rc = fail(x, &err, MT_EXIT_FAIL);
    else
        printf("Generating %s ...  done\n", path);
    free(path);
    mig_chain_free(ch);
    return rc;
}

/* ---- the table ---------------------------------------------------------------------- */

static const struct subcommand subcommands[] = {
    {.name = "current",
     .fn = sub_current,
     .args = "[-v]",
     .summary = "show the revision the database is at",
     .help = "Prints the revision in alembic_version, with \" (head)\" when it is the newest.\n"
             "Prints nothing at base. -v also shows the revision's details, when it was\n"
             "applied (from " MIG_AUDIT_TABLE "), and an interrupted run if there is one."},
    {.name = "history",
     .fn = sub_history,
     .args = "[-v] [-r A:B]",
     .summary = "list the revisions, newest first",
     .help = "Lists the revisions of the chain, newest first. -r A:B limits the list to\n"
             "A..B (either side may be empty, or \"current\"). -v shows details and,\n"
             "from the database, when each applied revision ran."},
    {.name = "heads",
     .fn = sub_heads,
     .args = "[-v]",
     .summary = "show the newest revision",
     .help = "Prints the head revision of the chain (a linear chain has one)."},
    {.name = "show",
     .fn = sub_show,
     .args = "REV",
     .summary = "show one revision",
     .help = "Shows a revision (full id, unique prefix, head, or REV+N / REV-N)."},
    {.name = "upgrade",
     .fn = sub_upgrade,
     .args = "[head|REV|+N] [--sql]",
     .summary = "upgrade the database (default: to head)",
     .help = "Applies the revisions up to the target, one transaction per revision where\n"
             "the database allows, under the migration lock (MIGRATE_LOCK_TIMEOUT seconds).\n"
             "A SQLite file is copied first (BACKUP_BEFORE_MIGRATE). --sql prints the SQL\n"
             "for the dialect of DATABASE_URL instead of connecting; the target may then\n"
             "be FROM:TO."},
    {.name = "downgrade",
     .fn = sub_downgrade,
     .args = "[base|REV|-N] [--sql]",
     .summary = "downgrade the database (default: -1)",
     .help = "Reverts revisions down to the target, saying first which tables and columns\n"
             "will be dropped. --sql prints the SQL instead and needs FROM:TO (e.g. head:base)."},
    {.name = "stamp",
     .fn = sub_stamp,
     .args = "[head|base|REV] [--purge] [--sql]",
     .summary = "set the recorded revision without running SQL",
     .help = "Writes the revision into alembic_version without running any migration.\n"
             "--purge first deletes every row, even unknown ones. --sql prints the SQL."},
    {.name = "check",
     .fn = sub_check,
     .args = "",
     .summary = "exit 0 at head, 1 with the list of pending revisions",
     .help = "Exits 0 when the database is at head; otherwise 1 with the pending revisions.\n"
             "Also exits 1 when an applied revision's SQL has changed since it ran\n"
             "(checksum in " MIG_AUDIT_TABLE ") or a run was interrupted. Lists doses\n"
             "that belong to no person, with the `assign-doses` command for each group\n"
             "(they do not change the exit status)."},
    {.name = "revision",
     .fn = sub_revision,
     .args = "-m MESSAGE [--dir DIR]",
     .summary = "create a new revision directory on top of the head",
     .help = "Creates DIR/<id>_<slug>/ (DIR: --dir, else MIGRATIONS_DIR, else migrations)\n"
             "with a fresh 12-hex id, a revision file, and up/down SQL files per dialect.\n"
             "A new directory under migrations/ is embedded by the next build."},
};

static void db_usage(const struct dbcmd *x, FILE *out)
{
    fprintf(out,
            "usage: %s <command> [options]\n\nSchema migrations, Alembic-compatible.\n\n"
            "commands:\n",
            x->prog);
    for (size_t i = 0; i < MT_ARRAY_LEN(subcommands); i++)
        fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(out, "  %-10s %s\n", "adopt",
            "take over a database the Python version made (also: stamp-existing)");
    fprintf(out, "  %-10s %s\n", "assign-doses",
            "give doses of deleted medications to the person who took them");
    fprintf(out, "  %-10s %s\n", "copy",
            "copy the database at head into an empty one on any engine, verified");
    fprintf(out,
            "\nRevisions may be given as a unique prefix of their id. Run\n"
            "`%s <command> --help` for the options of a command.\n",
            x->prog);
}

int cmd_db(int argc, char **argv, const struct mt_config *cfg)
{
    struct dbcmd x = {.cfg = cfg, .prog = strcmp(argv[0], "db") == 0 ? "meditrack db" : "alembic"};
    if (argc < 2) {
        db_usage(&x, stderr);
        return MT_EXIT_USAGE;
    }
    if (is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        db_usage(&x, stdout);
        return MT_EXIT_OK;
    }
    x.sub = argv[1];
    /* MediTrack's data-repair hook and the take-over of untracked databases
     * (src/schema/) plug into the engine before any command runs. */
    struct mt_err err = {0};
    if (schema_register(&err) < 0)
        return fail(&x, &err, MT_EXIT_FAIL);
    if (strcmp(argv[1], "adopt") == 0 || strcmp(argv[1], "stamp-existing") == 0)
        return cmd_db_adopt(argc - 1, argv + 1, cfg); /* cli/adopt.c (schema take-over) */
    if (strcmp(argv[1], "assign-doses") == 0)
        return cmd_db_assign_doses(argc - 1, argv + 1, cfg, x.prog); /* cli/assign.c */
    if (strcmp(argv[1], "copy") == 0)
        return cmd_db_copy(argc - 1, argv + 1, cfg, x.prog); /* cli/copy.c */
    for (size_t i = 0; i < MT_ARRAY_LEN(subcommands); i++) {
        const struct subcommand *s = &subcommands[i];
        if (strcmp(s->name, argv[1]) != 0)
            continue;
        for (int k = 2; k < argc; k++)
            if (is_help(argv[k])) {
                print_sub_help(&x, s, stdout);
                return MT_EXIT_OK;
            }
        return s->fn(&x, argc - 1, argv + 1);
    }
    fprintf(stderr, "%s: unknown command \"%s\" (see %s --help)\n", x.prog, argv[1], x.prog);
    return MT_EXIT_USAGE;
}
