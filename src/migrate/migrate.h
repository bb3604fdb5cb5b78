/* The migration engine: an Alembic-compatible chain of revisions kept as data
 * (embedded at build time from migrations/, or read from a directory at run
 * time), applied under one lock per database, one revision per transaction
 * where the dialect allows, with an audit table of its own. It knows nothing
 * of MediTrack's tables: `meditrack db ...`, the start-up sequence and the
 * tests all drive it, and src/schema/ plugs MediTrack's data repairs in
 * through named hooks and the pre-flight callback.
 *
 * Owner: the migrate module (src/migrate/). Memory: every struct handed out
 * says who frees it; strings inside a chain belong to the chain. */
#ifndef MT_MIGRATE_MIGRATE_H
#define MT_MIGRATE_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "db/db.h"

/* Number of dialects, for arrays indexed by enum db_dialect. */
#define MIG_N_DIALECTS 3
/* Longest revision id Alembic's version_num VARCHAR(32) can hold. */
#define MIG_ID_MAX 32
/* Length of a checksum text, "fnv1a64:" + 16 hex digits, plus NUL. */
#define MIG_CHECKSUM_LEN 25
/* The PostgreSQL advisory-lock key (a bigint) that serialises migration runs:
 * the ASCII bytes of "mdtrkmig". Documented in docs/migrations.md. */
#define MIG_PG_LOCK_KEY INT64_C(0x6d6474726b6d6967)
/* The MariaDB GET_LOCK name is this prefix and the database name (or, for a
 * name longer than 46 characters, its FNV-1a hash): user locks are global to
 * the server, and databases on one server must not wait for each other. */
#define MIG_MYSQL_LOCK_NAME "meditrack_migrate:"
/* Alembic's version table DDL, byte for byte as Alembic emits it (the same
 * text on every dialect). */
#define MIG_ALEMBIC_VERSION_DDL                                                                    \
    "CREATE TABLE alembic_version (\n"                                                             \
    "\tversion_num VARCHAR(32) NOT NULL, \n"                                                       \
    "\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n"                                 \
    ")"
/* The audit table (ignored by Alembic). */
#define MIG_AUDIT_TABLE "meditrack_migration_log"

/* ---------------------------------------------------------------------------
 * Revisions and the chain
 * ------------------------------------------------------------------------- */

/* One revision. All strings belong to the chain that holds the revision and
 * live as long as it. */
struct mig_revision {
    char *id;                   /* 1..32 characters of [0-9A-Za-z_] (Alembic uses 12 hex digits) */
    char *down_revision;        /* NULL for the base revision */
    char *message;              /* one line; may be empty */
    char *create_date;          /* as written in the revision file; may be empty */
    char *dir;                  /* directory name, e.g. "f4162eb18a25_initial" */
    bool transactional;         /* false: run statement by statement with progress records
                                   (as on MariaDB), never inside BEGIN ... COMMIT */
    char *up[MIG_N_DIALECTS];   /* SQL per enum db_dialect; never NULL, may be "" */
    char *down[MIG_N_DIALECTS]; /* never NULL, may be "" */
    /* Registered hook names (see mig_hook_register) or NULL. */
    char *pre_upgrade;
    char *post_upgrade;
    char *pre_downgrade;
    char *post_downgrade;
};

/* A validated, linear chain: revs[0] is the base-most revision (its
 * down_revision is NULL), revs[n - 1] the head. n may be 0 (no revisions). */
struct mig_chain {
    struct mig_revision *revs;
    size_t n;
    char *source; /* "embedded" or the directory it was read from */
};

/* Loads the chain from cfg->migrations_dir when it is non-empty, else the
 * revisions embedded in the binary. Validates it (see mig_chain_load_dir).
 * On success the caller frees *out with mig_chain_free. */
int mig_chain_load(const struct mt_config *cfg, struct mig_chain **out, struct mt_err *err);
/* Loads the revisions embedded at build time from migrations/. */
int mig_chain_load_embedded(struct mig_chain **out, struct mt_err *err);
/* Loads every sub-directory of dir that holds a `revision` file. Fails with
 * MT_EINVAL, naming the revision, on: an unreadable or malformed revision
 * file, a bad or duplicate id, an unknown down_revision, a missing up or down
 * SQL file for a dialect, more than one base, more than one head, a fork or a
 * cycle. */
int mig_chain_load_dir(const char *dir, struct mig_chain **out, struct mt_err *err);
void mig_chain_free(struct mig_chain *ch);

/* Head revision, or NULL for an empty chain. Borrowed from ch. */
const struct mig_revision *mig_chain_head(const struct mig_chain *ch);
/* Exact id lookup; NULL when absent. Borrowed from ch. */
const struct mig_revision *mig_chain_find(const struct mig_chain *ch, const char *id);
/* Position of id in revs (0 = base-most), -1 for NULL (base), -2 when unknown. */
long mig_chain_pos(const struct mig_chain *ch, const char *id);

/* Resolves a revision argument the way Alembic does, against the chain and
 * the current revision (NULL = base; needed for relative forms only):
 *   "head" / "heads", "base", a full id, a unique id prefix (at least 1
 *   character), "+N" / "-N" (relative to current), "REV+N" / "REV-N".
 * *out is the target revision, or NULL for base. Fails with MT_ENOTFOUND for
 * an unknown revision, MT_EINVAL for an ambiguous prefix (the message lists the
 * candidates) or a relative step that leaves the chain. */
int mig_resolve(const struct mig_chain *ch, const char *spec, const char *current,
                const struct mig_revision **out, struct mt_err *err);

/* Checksum of a SQL text: "fnv1a64:" and the 64-bit FNV-1a hash of its bytes
 * in 16 lower-case hex digits. Stored in the audit table for the SQL applied
 * (the up or down text of the connection's dialect). */
void mig_checksum(const char *sql, char out[MIG_CHECKSUM_LEN]);

/* ---------------------------------------------------------------------------
 * Plans
 * ------------------------------------------------------------------------- */

struct mig_step {
    const struct mig_revision *rev; /* the revision applied (upgrade) or undone (downgrade) */
    bool upgrade;
    const char *from; /* version before the step, NULL = base (borrowed from the chain) */
    const char *to;   /* version after the step, NULL = base */
};
struct mig_plan {
    struct mig_step *steps; /* malloc'ed; NULL when n == 0 */
    size_t n;
};
/* Plans the steps from `from` to `to` (ids or NULL for base). upgrade=true
 * requires to to be at or above from, false at or below (MT_EINVAL otherwise,
 * as Alembic refuses "upgrade" to an older revision). Unknown ids: MT_ENOTFOUND.
 * Release with mig_plan_release. */
int mig_plan_make(const struct mig_chain *ch, const char *from, const char *to, bool upgrade,
                  struct mig_plan *out, struct mt_err *err);
void mig_plan_release(struct mig_plan *p);

/* ---------------------------------------------------------------------------
 * Hooks and the pre-flight callback (the extension points for src/schema/)
 * ------------------------------------------------------------------------- */

/* A hook named in a revision file (pre_upgrade, post_upgrade, pre_downgrade,
 * post_downgrade). It runs on the migration connection inside the revision's
 * transaction when the revision is transactional on this dialect (so it
 * commits or rolls back with the revision's SQL), else between statements in
 * autocommit mode. Returns 0, or -1 with err filled: the revision fails. */
typedef int (*mig_hook_fn)(struct db_conn *c, const struct mig_revision *rev, bool upgrade,
                           struct mt_err *err);
/* Registers fn under name (copied). Re-registering a name replaces its
 * function. Returns 0, or -1 for an empty name, a NULL fn, or a full table
 * (64 hooks). Not thread-safe: call at start-up. */
int mig_hook_register(const char *name, mig_hook_fn fn);
/* The hook registered under name, or NULL. */
mig_hook_fn mig_hook_find(const char *name);

struct mig_options;
/* Called by mig_upgrade while it holds the migration lock, before it reads
 * alembic_version (and so before anything is touched): lets the schema module
 * take over a database that Alembic never tracked (for example by stamping
 * it). Returns 0 to go on, or -1 with err filled to stop the upgrade. */
typedef int (*mig_preflight_fn)(struct db_conn *c, const struct mig_chain *ch,
                                const struct mig_options *o, struct mt_err *err);
/* Installs the pre-flight callback (NULL removes it). Process-wide. */
void mig_set_preflight(mig_preflight_fn fn);

/* ---------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------- */

/* Receives each log line of a run (already formatted, no newline). */
typedef void (*mig_log_fn)(void *ctx, enum mt_log_level level, const char *line);

struct mig_options {
    int lock_timeout;            /* seconds to wait for the migration lock (0: try once) */
    bool backup;                 /* SQLite file db: safety copy before changing it */
    int backup_keep;             /* how many safety copies of one db to keep (default 3) */
    FILE *sql_out;               /* non-NULL: offline mode, write the SQL here, no connection */
    enum db_dialect sql_dialect; /* dialect of the offline SQL */
    bool run_preflight;          /* mig_upgrade calls the pre-flight callback (default true) */
    mig_log_fn log;              /* NULL: mt_log */
    void *log_ctx;
    /* Tests only: raise SIGKILL on reaching the crash_at-th crash point of the
     * run (before and after each statement, version update and commit); 0 never. */
    long crash_at;
};
/* The safety copy of a SQLite file before it goes from revision from to
 * revision to: "<file>.backup-<from>-to-<to>-<UTC time>", the names whose
 * newest backup_keep the engine keeps. Sets *path to the database file and
 * *dest to the copy (both malloc'ed, the caller frees them); both are NULL
 * when there is no file to copy (:memory:, a temporary database). Fails
 * with db_sqlite_backup's error (*path may then be set). */
int mig_sqlite_safety_copy(struct db_conn *c, const char *from, const char *to, char **path,
                           char **dest, struct mt_err *err);

/* Defaults: lock_timeout 60, backup true, backup_keep 3, run_preflight true,
 * everything else zero. */
void mig_options_init(struct mig_options *o);
/* mig_options_init, then MIGRATE_LOCK_TIMEOUT and BACKUP_BEFORE_MIGRATE. */
void mig_options_from_config(struct mig_options *o, const struct mt_config *cfg);

/* ---------------------------------------------------------------------------
 * Reading the database
 * ------------------------------------------------------------------------- */

/* Reads alembic_version. *out is the current revision id (malloc'ed, caller
 * frees) or NULL for base (no table, or no row). More than one row (branches):
 * MT_ECONFLICT. */
int mig_current(struct db_conn *c, char **out, struct mt_err *err);
/* All rows of alembic_version (none when the table is missing), sorted.
 * Release with mt_strlist_release. */
int mig_current_all(struct db_conn *c, struct mt_strlist *out, struct mt_err *err);

/* One row of the audit table. Strings are malloc'ed, freed by mig_audit_free. */
struct mig_audit {
    int64_t id;
    char *revision;      /* the revision applied or undone, or the stamp target ("" = base) */
    char *from_revision; /* version before ("" = base) */
    char *direction;     /* "upgrade", "downgrade", "stamp" */
    char *started_at;    /* UTC "YYYY-MM-DDTHH:MM:SS.mmmZ" */
    char *finished_at;   /* NULL while running or when interrupted */
    int64_t duration_ms; /* -1 when not finished */
    char *checksum;      /* of the SQL applied, NULL for stamps */
    char *host;
    int64_t pid;
    int success;          /* 1 done, 0 failed, -1 running or interrupted */
    int64_t stmt_total;   /* statements in the revision's SQL */
    int64_t stmt_done;    /* statements known to be complete */
    int64_t stmt_running; /* index (0-based) of a statement started but not confirmed, -1 none */
    int64_t attempts;     /* 1, plus one per resumed run */
    char *error;          /* failure message, NULL */
};
/* The audit rows, oldest first (an empty list when the table is missing).
 * Caller frees with mig_audit_free. */
int mig_audit_list(struct db_conn *c, struct mig_audit **out, size_t *n, struct mt_err *err);
void mig_audit_free(struct mig_audit *a, size_t n);

/* The state `db check` reports. */
struct mig_mismatch {
    const struct mig_revision *rev; /* borrowed from the chain */
    char *recorded;                 /* checksum in the audit table (malloc'ed) */
    char expected[MIG_CHECKSUM_LEN];
};
struct mig_check {
    char *current;                       /* malloc'ed, NULL = base */
    const struct mig_revision **pending; /* revisions above current, oldest first */
    size_t n_pending;
    struct mig_mismatch *mismatches; /* applied revisions whose SQL changed since */
    size_t n_mismatches;
    struct mig_audit *interrupted; /* an unfinished non-transactional run, or NULL */
};
/* Fills out (release with mig_check_release). An unknown revision in the
 * database is an error (MT_ECONFLICT), not a check result. */
int mig_check_run(struct db_conn *c, const struct mig_chain *ch, struct mig_check *out,
                  struct mt_err *err);
void mig_check_release(struct mig_check *r);

/* ---------------------------------------------------------------------------
 * Changing the database
 * ------------------------------------------------------------------------- */

/* Upgrades to target ("head", an id, a prefix, "+N", ...; NULL = "head").
 * Order: take the lock, run the pre-flight callback, read and check
 * alembic_version (an unknown revision stops everything), resume or report an
 * interrupted non-transactional run, check that every named hook is
 * registered, log the plan, back up a SQLite file, then apply each revision.
 * Offline (o->sql_out): c may be NULL; target may be "FROM:TO" and the SQL is
 * written instead of run. Fails with the first error; the database stays at
 * the last revision that completed. */
int mig_upgrade(struct db_conn *c, const struct mig_chain *ch, const char *target,
                const struct mig_options *o, struct mt_err *err);
/* Downgrades to target ("base", an id, a prefix, "-N"). Before running, says
 * which tables and columns the down SQL will drop. Offline mode needs
 * "FROM:TO". */
int mig_downgrade(struct db_conn *c, const struct mig_chain *ch, const char *target,
                  const struct mig_options *o, struct mt_err *err);
/* Sets alembic_version to target without running SQL ("base" empties it).
 * purge: first delete every row, even unknown ones (otherwise an unknown
 * current revision is an error). Records a "stamp" audit row and clears an
 * interrupted run's record. */
int mig_stamp(struct db_conn *c, const struct mig_chain *ch, const char *target, bool purge,
              const struct mig_options *o, struct mt_err *err);

/* Creates the alembic_version table with Alembic's DDL when it is missing.
 * For the schema module's take-over; mig_upgrade does this itself. */
int mig_version_table_ensure(struct db_conn *c, struct mt_err *err);

/* ---------------------------------------------------------------------------
 * The migration lock
 * ------------------------------------------------------------------------- */

/* Takes the lock that serialises migration runs on c's database, waiting up
 * to timeout_s seconds (logging every few seconds who holds it): PostgreSQL
 * pg_try_advisory_lock(MIG_PG_LOCK_KEY) in a loop (advisory locks are per
 * database); MariaDB GET_LOCK('meditrack_migrate:<database>', ...); SQLite
 * flock() on "<db file>-migrate.lock"
 * next to the database (nothing for :memory:). All are released by the kernel
 * or the server when the process dies. Re-entrant on the same connection (a
 * depth count), so the start-up sequence can hold it around mig_upgrade.
 * Timeout: MT_EUNAVAIL naming the holder. log may be NULL (mt_log). */
int mig_lock_acquire(struct db_conn *c, int timeout_s, mig_log_fn log, void *log_ctx,
                     struct mt_err *err);
/* Releases one level of the lock taken on c. */
void mig_lock_release(struct db_conn *c);

/* ---------------------------------------------------------------------------
 * Scaffolding
 * ------------------------------------------------------------------------- */

/* Creates dir/<id>_<slug>/ with a revision file on top of the chain's head
 * (fresh random 12-hex id) and empty up/down files for every dialect. *path
 * (malloc'ed, caller frees; may be NULL) receives the new directory. */
int mig_scaffold(const struct mig_chain *ch, const char *dir, const char *message, char **path,
                 struct mt_err *err);

#endif
