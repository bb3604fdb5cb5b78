/* The start-up sequence behind `meditrack init` and `meditrack serve`, written
 * to be read top to bottom like a runbook: wait for the database, migrate it
 * (adopting a database that Alembic never tracked), seed it when empty. One
 * line as each step starts and ends, one exit code per failed step; the lines
 * and codes are documented in docs/docker.md and cli/start.h. */
#include "cli/start.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/log.h"
#include "migrate/migrate.h"
#include "schema/schema.h"

/* The first pause between connection attempts; it doubles each time up to
 * DB_WAIT_INTERVAL, so a database that comes up a moment after us is used at
 * once while a long outage still costs few attempts. */
#define FIRST_PAUSE_MS 250
/* Granularity of pauses, so that SIGTERM during the wait is honoured quickly. */
#define PAUSE_SLICE_MS 100

/* One run of the sequence. */
struct run {
    const struct mt_config *cfg;
    const struct mt_start_opts *opts;
    long long t0;      /* start of the sequence, monotonic ms */
    long long step_t0; /* start of the current step */
    bool stopped;      /* should_stop said so: interrupted, not failed */
};

static long long now_ms(void)
{
    return (long long)mt_mono_ms();
}

static long long step_ms(const struct run *r)
{
    return now_ms() - r->step_t0;
}

/* Announces a step to the caller (GET /health shows it) and starts its clock. */
static void begin_step(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void begin_step(struct run *r, const char *fmt, ...)
{
    r->step_t0 = now_ms();
    if (!r->opts->progress)
        return;
    char step[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(step, sizeof(step), fmt, ap);
    va_end(ap);
    r->opts->progress(r->opts->ctx, step);
}

static bool stop_requested(const struct run *r)
{
    return r->opts->should_stop && r->opts->should_stop(r->opts->ctx);
}

/* Sleeps ms in slices; false when a stop was requested meanwhile. */
static bool pause_unless_stopped(const struct run *r, long long ms)
{
    while (ms > 0) {
        if (stop_requested(r))
            return false;
        long long slice = ms < PAUSE_SLICE_MS ? ms : PAUSE_SLICE_MS;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)slice * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
    return !stop_requested(r);
}

/* ---------------------------------------------------------------------------
 * Step 1: wait for the database
 * ------------------------------------------------------------------------- */

/* Opens a connection and proves it answers. */
static int try_connect(const struct db_url *url, struct db_conn **out, struct mt_err *err)
{
    struct db_conn *c = NULL;
    if (db_open(url, &c, err) < 0)
        return -1;
    int64_t one = 0;
    if (db_query_int(c, "SELECT 1", NULL, 0, &one, NULL, err) < 0) {
        db_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

/* Failures that waiting cannot fix end the wait at once: refused
 * credentials, a missing database, a bad URL, and a database file or
 * directory that this process may not write (permissions, a read-only file
 * or file system), which no amount of retrying changes. */
static bool hopeless(enum mt_code code)
{
    return code == MT_EAUTH || code == MT_EINVAL || code == MT_ENODB || code == MT_EPERM;
}

enum attempt_result { ATTEMPT_READY, ATTEMPT_RETRY, ATTEMPT_HOPELESS };

/* One attempt: connect and SELECT 1. With DB_CREATE=true a missing database
 * is created and connected to within the same attempt. */
static enum attempt_result attempt_connect(const struct mt_config *cfg, const struct db_url *url,
                                           struct db_conn **out, struct mt_err *err)
{
    if (try_connect(url, out, err) == 0)
        return ATTEMPT_READY;
    if (err->code == MT_ENODB && cfg->db_create) {
        mt_log(MT_LOG_INFO, "Database \"%s\" does not exist yet, creating it (DB_CREATE=true)",
               url->dbname ? url->dbname : "");
        bool created = false;
        struct mt_err cerr = {0};
        if (db_create_database(url, &created, &cerr) < 0) {
            *err = cerr;
            if (cerr.code == MT_EUNAVAIL)
                return ATTEMPT_RETRY; /* the server went away meanwhile */
            if (cerr.code != MT_EAUTH)
                err->code = MT_ENODB; /* still missing, e.g. no CREATEDB privilege */
            return ATTEMPT_HOPELESS;
        }
        if (created)
            mt_log(MT_LOG_INFO, "Created database \"%s\"", url->dbname);
        if (try_connect(url, out, err) == 0)
            return ATTEMPT_READY;
    }
    return hopeless(err->code) ? ATTEMPT_HOPELESS : ATTEMPT_RETRY;
}

static int wait_for_database(struct run *r, struct db_conn **out)
{
    const struct mt_config *cfg = r->cfg;
    struct mt_err err = {0};
    struct db_url url;
    if (cli_db_url(cfg, &url, &err) < 0) {
        mt_log(MT_LOG_ERROR, "Invalid DATABASE_URL: %s", err.msg);
        return MT_EXIT_CONFIG;
    }
    char *label = db_url_label(&url);
    int attempts = cfg->db_wait_attempts > 0 ? cfg->db_wait_attempts : 1;
    long long interval_ms = (long long)cfg->db_wait_interval * 1000;
    mt_log(MT_LOG_INFO, "Waiting for database to be ready... database=%s attempts=%d interval_s=%d",
           label, attempts, cfg->db_wait_interval);
    free(label);

    int rc;
    long long pause = FIRST_PAUSE_MS;
    for (int attempt = 1;; attempt++) {
        begin_step(r, "waiting for database (attempt %d/%d)", attempt, attempts);
        enum attempt_result res = attempt_connect(cfg, &url, out, &err);
        if (res == ATTEMPT_READY) {
            mt_log(MT_LOG_INFO, "Database is ready! dialect=%s attempt=%d duration_ms=%lld",
                   db_dialect_name(url.dialect), attempt, now_ms() - r->t0);
            rc = MT_EXIT_OK;
            break;
        }
        if (res == ATTEMPT_HOPELESS) {
            mt_log(MT_LOG_ERROR, "Database is not usable, waiting cannot help: %s%s", err.msg,
                   err.code == MT_ENODB && !cfg->db_create ? " (create it, or set DB_CREATE=true)"
                                                           : "");
            rc = cli_exit_for_connect_error(&err);
            break;
        }
        mt_log(MT_LOG_WARN, "Database not ready (attempt %d/%d): %s", attempt, attempts, err.msg);
        if (attempt >= attempts) {
            mt_log(MT_LOG_ERROR,
                   "Database did not become ready after %d attempts, giving up duration_ms=%lld",
                   attempts, now_ms() - r->t0);
            rc = MT_EXIT_DB_UNREACHABLE;
            break;
        }
        long long wait = pause < interval_ms ? pause : interval_ms;
        pause *= 2;
        if (!pause_unless_stopped(r, wait)) {
            mt_log(MT_LOG_INFO, "Stop requested while waiting for the database");
            r->stopped = true;
            rc = MT_EXIT_FAIL;
            break;
        }
    }
    db_url_release(&url);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Step 2: migrate (and adopt an untracked database)
 * ------------------------------------------------------------------------- */

/* "35bddb769482" or "base" for an empty version table. */
static const char *rev_or_base(const char *rev)
{
    return rev ? rev : "base";
}

/* Explains a failed upgrade: where the database stayed and which revision
 * failed (the one after it). */
static void report_migration_failure(struct db_conn *c, const struct mig_chain *ch,
                                     const struct mt_err *cause, long long duration)
{
    char *now = NULL;
    struct mt_err err = {0};
    if (mig_current(c, &now, &err) < 0) {
        mt_log(MT_LOG_ERROR, "Migration failed: %s duration_ms=%lld", cause->msg, duration);
        mt_log(MT_LOG_ERROR, "Cannot read the revision the database stayed at: %s", err.msg);
        return;
    }
    long pos = mig_chain_pos(ch, now);
    const char *failed = NULL;
    if (pos >= -1 && (size_t)(pos + 1) < ch->n)
        failed = ch->revs[pos + 1].id;
    mt_log(MT_LOG_ERROR, "Migration failed: %s revision=%s current=%s duration_ms=%lld", cause->msg,
           failed ? failed : "unknown", rev_or_base(now), duration);
    mt_log(MT_LOG_ERROR,
           "The database stays at revision %s; fix the cause and start again, or see "
           "`meditrack db history -v` and docs/docker.md",
           rev_or_base(now));
    free(now);
}

/* MediTrack's take-over before the generic upgrade: a database with our
 * tables but no alembic_version (the reference created tables at start-up),
 * or one whose tables do not match its stamp, is inspected, completed and
 * stamped at the revision it really is at. Done here rather than in the
 * engine's pre-flight so that the findings appear right after the current
 * revision, and so that failing to adopt has an exit code of its own. */
static int adopt_if_needed(const struct run *r, struct db_conn *c, const struct mig_chain *ch)
{
    struct mt_err err = {0};
    struct schema_plan plan;
    if (schema_plan_make(c, ch, &plan, &err) < 0) {
        /* The plan holds what was found so far; released like the schema
         * module's own callers do. */
        schema_plan_release(&plan);
        mt_log(MT_LOG_ERROR, "Cannot take over this database, nothing was changed: %s", err.msg);
        return err.code == MT_ECONFLICT ? MT_EXIT_ADOPT : MT_EXIT_MIGRATE;
    }
    plan.backup = r->cfg->backup_before_migrate;
    int rc = MT_EXIT_OK;
    if (plan.applies && (plan.target || plan.changes_schema)) {
        mt_log(MT_LOG_INFO, "%s database found, taking it over",
               plan.tracked ? "Inconsistent" : "Untracked");
        for (size_t i = 0; i < plan.found.n; i++)
            mt_log(MT_LOG_INFO, "Found: %s", plan.found.items[i]);
        if (schema_plan_apply(c, ch, &plan, &err) < 0) {
            mt_log(MT_LOG_ERROR,
                   "Taking over the database failed: %s (see `meditrack db adopt --dry-run` and "
                   "docs/docker.md)",
                   err.msg);
            rc = MT_EXIT_ADOPT;
        } else {
            mt_log(MT_LOG_INFO, "Database adopted at revision %s",
                   plan.target ? plan.target : rev_or_base(plan.current));
        }
    }
    schema_plan_release(&plan);
    return rc;
}

/* *from_base says whether the database had no revision before (new, or
 * untracked), which is when the demo data may be added. */
static int migrate_database(struct run *r, struct db_conn *c, const struct mig_chain *ch,
                            bool *from_base)
{
    struct mt_err err = {0};
    mt_log(MT_LOG_INFO, "Running database migrations... revisions=%zu source=%s", ch->n,
           ch->source);

    char *current = NULL;
    if (mig_current(c, &current, &err) < 0) {
        mt_log(MT_LOG_ERROR, "Cannot read the current revision: %s", err.msg);
        return MT_EXIT_MIGRATE;
    }
    const struct mig_revision *head = mig_chain_head(ch);
    long pos = mig_chain_pos(ch, current);
    *from_base = current == NULL;
    if (pos == -2) {
        mt_log(MT_LOG_INFO, "Current migration status: %s (unknown to this version)", current);
        mt_log(MT_LOG_ERROR,
               "The database is at revision %s, which this version of MediTrack does not know "
               "(was it migrated by a newer one?): nothing was changed. Run the newer version, "
               "or downgrade with it first; see docs/docker.md",
               current);
        free(current);
        return MT_EXIT_MIGRATE;
    }
    mt_log(MT_LOG_INFO, "Current migration status: %s%s head=%s pending=%ld", rev_or_base(current),
           current && head && strcmp(current, head->id) == 0 ? " (head)" : "",
           head ? head->id : "base", (long)ch->n - 1 - pos);

    free(current);

    int rc = adopt_if_needed(r, c, ch);
    if (rc != MT_EXIT_OK)
        return rc;

    begin_step(r, "migrating");
    mt_log(MT_LOG_INFO, "Applying migrations...");
    struct mig_options o;
    mig_options_from_config(&o, r->cfg);
    o.run_preflight = false; /* adopt_if_needed did it, under the same lock */
    long long t = now_ms();
    if (mig_upgrade(c, ch, "head", &o, &err) < 0) {
        report_migration_failure(c, ch, &err, now_ms() - t);
        return MT_EXIT_MIGRATE;
    }
    mt_log(MT_LOG_INFO, "Migrations completed successfully! revision=%s duration_ms=%lld",
           head ? head->id : "base", step_ms(r));
    return MT_EXIT_OK;
}

/* ---------------------------------------------------------------------------
 * Step 3: seed an empty database
 * ------------------------------------------------------------------------- */

/* Demo medications only go into a database that this run migrated from
 * base: with SEED_DEMO_DATA=true left in a compose file, a household that
 * deleted every medication must not get them back at the next restart. */
static void seed_database(struct run *r, struct db_conn *c, bool from_base)
{
    bool demo = r->cfg->seed_demo_data && from_base;
    begin_step(r, "seeding");
    mt_log(MT_LOG_INFO, "Checking if initial data seeding is needed... seed_on_empty=%s demo=%s",
           r->cfg->seed_on_empty ? "true" : "false", r->cfg->seed_demo_data ? "true" : "false");
    struct mt_err err = {0};
    if (r->cfg->seed_demo_data && !from_base)
        mt_log(MT_LOG_INFO, "SEED_DEMO_DATA=true ignored: the database existed before this start "
                            "(use `meditrack seed --demo`)");
    if (cli_seed_step(c, r->cfg->seed_on_empty, demo, &err) < 0)
        /* As in the reference: a seeding problem must not keep the service down. */
        mt_log(MT_LOG_WARN, "Initial data seeding failed, continuing: %s", err.msg);
    mt_log(MT_LOG_INFO, "Initial data seeding completed (if needed) duration_ms=%lld", step_ms(r));
}

/* ---------------------------------------------------------------------------
 * The sequence
 * ------------------------------------------------------------------------- */

int mt_start_sequence(const struct mt_config *cfg, const struct mt_start_opts *opts)
{
    static const struct mt_start_opts no_opts = {0};
    struct run r = {.cfg = cfg, .opts = opts ? opts : &no_opts, .t0 = now_ms()};
    r.step_t0 = r.t0;
    struct mt_err err = {0};
    struct db_conn *c = NULL;
    struct mig_chain *ch = NULL;
    int rc;

    mt_log(MT_LOG_INFO, "=== MediTrack Backend Initialization === version=%s pid=%ld", MT_VERSION,
           (long)getpid());

    /* The revisions first: a broken MIGRATIONS_DIR is found before any wait. */
    if (schema_register(&err) < 0 || mig_chain_load(cfg, &ch, &err) < 0) {
        mt_log(MT_LOG_ERROR, "Cannot load the migrations: %s", err.msg);
        return MT_EXIT_MIGRATE;
    }

    /* 1. Wait until the database answers (bounded; auth errors end it at once). */
    rc = wait_for_database(&r, &c);
    if (rc != MT_EXIT_OK)
        goto out;

    /* 2 and 3 under the migration lock, so that of several instances starting
     * together exactly one migrates and seeds, and the others find it done. */
    begin_step(&r, "waiting for the migration lock");
    if (mig_lock_acquire(c, cfg->migrate_lock_timeout, NULL, NULL, &err) < 0) {
        mt_log(MT_LOG_ERROR, "Cannot take the migration lock within %d s: %s",
               cfg->migrate_lock_timeout, err.msg);
        rc = MT_EXIT_MIGRATE;
        goto out;
    }

    /* 2. Migrate to head. */
    bool from_base = false;
    rc = migrate_database(&r, c, ch, &from_base);

    /* 3. Seed, only on an empty database; problems only warn. */
    if (rc == MT_EXIT_OK)
        seed_database(&r, c, from_base);
    mig_lock_release(c);

out:
    if (c)
        db_close(c);
    mig_chain_free(ch);
    if (r.stopped) {
        mt_log(MT_LOG_INFO, "=== Initialization Interrupted === duration_ms=%lld", now_ms() - r.t0);
        return rc;
    }
    if (rc != MT_EXIT_OK) {
        mt_log(MT_LOG_ERROR, "=== Initialization Failed === exit_code=%d duration_ms=%lld", rc,
               now_ms() - r.t0);
        return rc;
    }
    mt_log(MT_LOG_INFO, "=== Initialization Complete === duration_ms=%lld", now_ms() - r.t0);
    if (r.opts->serving)
        mt_log(MT_LOG_INFO, "Starting application server...");
    return MT_EXIT_OK;
}

/* ---------------------------------------------------------------------------
 * `meditrack init`
 * ------------------------------------------------------------------------- */

int cmd_init(int argc, char **argv, const struct mt_config *cfg)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: meditrack init\n\n"
               "Runs the start-up sequence and exits: waits for the database\n"
               "(DB_WAIT_ATTEMPTS, DB_WAIT_INTERVAL, DB_CREATE), migrates it to head\n"
               "(adopting a database that Alembic never tracked), and seeds it when it is\n"
               "empty (SEED_ON_EMPTY, SEED_DEMO_DATA). For init containers, CI and scripts;\n"
               "`meditrack serve` runs the same sequence before it serves.\n\n"
               "exit codes: 0 ready, 3 bad DATABASE_URL or a database file the process\n"
               "may not write, 4 database never ready,\n"
               "5 authentication refused or database missing, 6 migration failed,\n"
               "7 untracked database matches no revision (see docs/docker.md)\n");
        return MT_EXIT_OK;
    }
    if (argc > 1) {
        fprintf(stderr, "meditrack init: unexpected argument '%s'\n", argv[1]);
        return MT_EXIT_USAGE;
    }
    /* `init` is asked for explicitly: AUTO_MIGRATE, which decides whether
     * serve and the entrypoint run the sequence, does not apply here. */
    return mt_start_sequence(cfg, NULL);
}
