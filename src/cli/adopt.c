/* `meditrack db adopt` (also `db stamp-existing`, the name of the reference's
 * stamp_existing_db.py): takes over a database that Alembic never tracked, or
 * one whose tables are ahead of its alembic_version, by detection and
 * stamping only: it prints what it found and what it does, and leaves the
 * upgrade itself to `meditrack db upgrade`. The logic is src/schema/. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/start.h"
#include "core/err.h"
#include "db/db.h"
#include "migrate/migrate.h"
#include "schema/schema.h"

static void adopt_usage(const char *name, FILE *out)
{
    fprintf(out,
            "usage: meditrack db %s [--dry-run]\n\n"
            "Finds which revision an existing MediTrack database corresponds to when\n"
            "alembic_version is missing or empty (or behind its tables), completes tables\n"
            "that lag behind the others without losing a row, and stamps that revision.\n"
            "It does not upgrade: run `meditrack db upgrade head` afterwards (the upgrade\n"
            "and the start-up also do this take-over by themselves). Tables that are not\n"
            "MediTrack's are left alone.\n\n"
            "options:\n"
            "  --dry-run   print what was found and what would be done; change nothing\n"
            "  -h, --help  this text\n\n"
            "exit codes: 0 done (or nothing to do), 2 bad command line, 3 bad DATABASE_URL,\n"
            "4/5 database unreachable / refused, 7 the database cannot be matched to a\n"
            "revision (the message says why and what to do by hand), 1 other failures.\n",
            name);
}

static void print_list(const char *title, const struct mt_strlist *l)
{
    printf("%s\n", title);
    for (size_t i = 0; i < l->n; i++)
        printf("  %s\n", l->items[i]);
}

/* Plans, prints and (unless dry_run) applies the take-over on c, which the
 * caller has locked. Returns the exit status. */
static int adopt_locked(const char *name, struct db_conn *c, const struct mig_chain *ch,
                        bool dry_run, bool backup)
{
    struct schema_plan p;
    struct mt_err err = {0};
    if (schema_plan_make(c, ch, &p, &err) < 0) {
        fprintf(stderr, "meditrack db %s: %s\n", name, err.msg);
        schema_plan_release(&p);
        return err.code == MT_ECONFLICT ? MT_EXIT_ADOPT : MT_EXIT_FAIL;
    }
    p.backup = backup;
    int rc = MT_EXIT_OK;
    if (!p.applies) {
        printf("The migrations in use (%s) are not MediTrack's, or alembic_version names a "
               "revision they do not know: nothing to adopt.\n",
               ch->source);
        goto out;
    }
    print_list("Found:", &p.found);
    if (!p.target && !p.steps) {
        if (p.tracked)
            printf("The database is tracked at %s and its tables match: nothing to do.\n",
                   p.current);
        else
            printf("No MediTrack tables: nothing to adopt (`meditrack db upgrade head` creates "
                   "them).\n");
        goto out;
    }
    print_list(dry_run ? "Would do:" : "Doing:", &p.actions);
    if (dry_run) {
        printf("Dry run: nothing was changed.\n");
        goto out;
    }
    fflush(stdout);
    if (schema_plan_apply(c, ch, &p, &err) < 0) {
        fprintf(stderr, "meditrack db %s: %s\n", name, err.msg);
        rc = MT_EXIT_FAIL;
        goto out;
    }
    if (p.target)
        printf("Stamped %s. Run `meditrack db upgrade head` to bring it to the newest "
               "revision.\n",
               p.target);
out:
    schema_plan_release(&p);
    return rc;
}

int cmd_db_adopt(int argc, char **argv, const struct mt_config *cfg)
{
    const char *name =
        argc > 0 && strcmp(argv[0], "stamp-existing") == 0 ? "stamp-existing" : "adopt";
    bool dry_run = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            adopt_usage(name, stdout);
            return MT_EXIT_OK;
        }
        if (strcmp(argv[i], "--dry-run") == 0 || strcmp(argv[i], "-n") == 0) {
            dry_run = true;
            continue;
        }
        fprintf(stderr,
                "meditrack db %s: unexpected argument \"%s\" (see meditrack db %s --help)\n", name,
                argv[i], name);
        return MT_EXIT_USAGE;
    }

    struct mt_err err = {0};
    if (schema_register(&err) < 0) {
        fprintf(stderr, "meditrack db %s: %s\n", name, err.msg);
        return MT_EXIT_FAIL;
    }
    struct mig_chain *ch = NULL;
    if (mig_chain_load(cfg, &ch, &err) < 0) {
        fprintf(stderr, "meditrack db %s: %s\n", name, err.msg);
        return MT_EXIT_FAIL;
    }
    struct db_conn *c = NULL;
    if (cli_db_open(cfg, &c, &err) < 0) {
        fprintf(stderr, "meditrack db %s: cannot connect: %s\n", name, err.msg);
        mig_chain_free(ch);
        return cli_exit_for_connect_error(&err);
    }
    printf("Database: %s\n", db_conn_label(c));
    int rc;
    if (mig_lock_acquire(c, cfg->migrate_lock_timeout, NULL, NULL, &err) < 0) {
        fprintf(stderr, "meditrack db %s: %s\n", name, err.msg);
        rc = MT_EXIT_FAIL;
    } else {
        rc = adopt_locked(name, c, ch, dry_run, cfg->backup_before_migrate);
        mig_lock_release(c);
    }
    db_close(c);
    mig_chain_free(ch);
    return rc;
}
