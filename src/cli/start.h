/* The start-up sequence shared by `meditrack init` and `meditrack serve`:
 * wait for the database, migrate it (adopting an untracked one), seed it when
 * empty. Each step logs one line as it starts and one as it ends, and each
 * failure has its own exit code (enum mt_exit in cli/cli.h; docs/docker.md).
 * Owner: src/cli/start.c (the sequence) and src/cli/seed.c (the seed step). */
#ifndef MT_CLI_START_H
#define MT_CLI_START_H

#include <stdbool.h>

#include "core/config.h"
#include "core/err.h"
#include "db/db.h"

/* Told about each step as it begins, e.g. "waiting for database (attempt 2/30)",
 * "migrating", "seeding", so that a server already listening can answer
 * GET /health with 503 and the step. step is borrowed for the call only. */
typedef void (*mt_start_progress_fn)(void *ctx, const char *step);
/* Asked between waiting attempts (and every 100 ms while pausing): true stops
 * the sequence, e.g. after SIGTERM. */
typedef bool (*mt_start_stop_fn)(void *ctx);

struct mt_start_opts {
    mt_start_progress_fn progress; /* may be NULL */
    mt_start_stop_fn should_stop;  /* may be NULL */
    void *ctx;                     /* passed to both */
    bool serving;                  /* end with "Starting application server..." (serve) */
};

/* Runs the sequence with cfg (DATABASE_URL, DB_WAIT_ATTEMPTS, DB_WAIT_INTERVAL,
 * DB_CREATE, MIGRATIONS_DIR, MIGRATE_LOCK_TIMEOUT, BACKUP_BEFORE_MIGRATE,
 * SEED_ON_EMPTY, SEED_DEMO_DATA). opts may be NULL. Returns MT_EXIT_OK or the
 * exit code of the step that failed: MT_EXIT_CONFIG (malformed DATABASE_URL),
 * MT_EXIT_DB_UNREACHABLE (never ready), MT_EXIT_DB_AUTH (authentication
 * refused, database missing without DB_CREATE), MT_EXIT_MIGRATE (a revision
 * failed; the database stays at its last good revision), MT_EXIT_ADOPT (an
 * untracked database matches no revision), MT_EXIT_FAIL (stopped by
 * should_stop). Seeding failures only warn. Everything is logged here; the
 * caller only passes the code on. */
int mt_start_sequence(const struct mt_config *cfg, const struct mt_start_opts *opts);

/* The seed step on an open, migrated connection, logging what it did: creates
 * the default person when the database is empty and default_person is true,
 * and the demo medications too when demo is true. The caller holds the
 * migration lock. Returns 0, or -1 with err filled (nothing written). */
int cli_seed_step(struct db_conn *c, bool default_person, bool demo, struct mt_err *err);

/* DATABASE_URL of cfg parsed, with the database settings that live outside
 * the URL applied (SQLITE_BUSY_TIMEOUT). On success release *out with
 * db_url_release; MT_EINVAL for a malformed URL. (cli/dbconn.c) */
int cli_db_url(const struct mt_config *cfg, struct db_url *out, struct mt_err *err);
/* cli_db_url, then db_open: how every command connects. On success close
 * *out with db_close; the errors of db_url_parse and db_open. */
int cli_db_open(const struct mt_config *cfg, struct db_conn **out, struct mt_err *err);

/* The exit code for a failure to connect: MT_EXIT_DB_AUTH for MT_EAUTH and
 * MT_ENODB, MT_EXIT_CONFIG for MT_EINVAL and MT_EPERM (a database file or
 * directory the process may not write), MT_EXIT_DB_UNREACHABLE otherwise. */
int cli_exit_for_connect_error(const struct mt_err *err);

#endif
