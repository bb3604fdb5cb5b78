/* `meditrack seed` and the seed step of the start-up sequence: puts the default
 * person (and, when asked, the demo medications) into an empty database. The
 * SQL lives in store/seed.c; this file decides when to call it and says what
 * happened. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/start.h"
#include "core/log.h"
#include "migrate/migrate.h"
#include "store/seed.h"

int cli_seed_step(struct db_conn *c, bool default_person, bool demo, struct mt_err *err)
{
    struct store_seed_request req = {.default_person = default_person, .demo_data = demo};
    struct store_seed_result res;
    if (store_seed(c, &req, &res, err) < 0)
        return -1;
    if (res.person_created)
        mt_log(MT_LOG_INFO, "Created the default person person_id=%lld", (long long)res.person_id);
    if (res.medications_created)
        mt_log(MT_LOG_INFO, "Created demo medications count=%d person_id=%lld",
               res.medications_created, (long long)res.person_id);
    if (res.demo_refused)
        mt_log(MT_LOG_INFO,
               "Demo medications not added: the database already has data "
               "persons=%lld medications=%lld doses=%lld",
               (long long)res.persons, (long long)res.medications, (long long)res.doses);
    else if (!res.person_created && !res.medications_created)
        mt_log(MT_LOG_INFO, "Nothing to seed persons=%lld medications=%lld doses=%lld",
               (long long)res.persons, (long long)res.medications, (long long)res.doses);
    return 0;
}

int cli_exit_for_connect_error(const struct mt_err *err)
{
    switch (err->code) {
    case MT_EAUTH:
    case MT_ENODB:
        return MT_EXIT_DB_AUTH;
    case MT_EINVAL:
    case MT_EPERM:
        return MT_EXIT_CONFIG;
    default:
        return MT_EXIT_DB_UNREACHABLE;
    }
}

static void seed_usage(FILE *out)
{
    fprintf(out, "usage: meditrack seed [--demo]\n\n"
                 "Creates the default person in a migrated database that holds no person,\n"
                 "medication or dose, and with --demo (or SEED_DEMO_DATA=true) the four demo\n"
                 "medications for the default person, as long as there is no medication, no\n"
                 "dose and no other person. Data of users is never touched. Takes the\n"
                 "migration lock (MIGRATE_LOCK_TIMEOUT) so that it never races a start-up.\n");
}

int cmd_seed(int argc, char **argv, const struct mt_config *cfg)
{
    bool demo = cfg->seed_demo_data;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            seed_usage(stdout);
            return MT_EXIT_OK;
        }
        if (strcmp(argv[i], "--demo") == 0) {
            demo = true;
            continue;
        }
        fprintf(stderr, "meditrack seed: unknown argument '%s'\n", argv[i]);
        seed_usage(stderr);
        return MT_EXIT_USAGE;
    }

    struct mt_err err = {0};
    struct db_conn *c = NULL;
    if (cli_db_open(cfg, &c, &err) < 0) {
        mt_log(MT_LOG_ERROR, "Cannot open the database: %s", err.msg);
        return cli_exit_for_connect_error(&err);
    }
    int rc = MT_EXIT_OK;
    if (mig_lock_acquire(c, cfg->migrate_lock_timeout, NULL, NULL, &err) < 0) {
        mt_log(MT_LOG_ERROR, "Cannot take the migration lock: %s", err.msg);
        rc = MT_EXIT_FAIL;
    } else {
        /* By hand, the default person is the point of the command, so
         * SEED_ON_EMPTY does not apply. */
        if (cli_seed_step(c, true, demo, &err) < 0) {
            mt_log(MT_LOG_ERROR, "Seeding failed: %s", err.msg);
            rc = MT_EXIT_FAIL;
        }
        mig_lock_release(c);
    }
    db_close(c);
    return rc;
}
