/* MediTrack's knowledge of its own tables on top of the generic migration
 * engine: recognising which revision an existing database corresponds to
 * (untracked databases, databases whose schema is ahead of or behind their
 * alembic_version row in the ways the reference left them), completing tables
 * so that they all match one revision without losing a row, stamping it, and
 * the data repairs that MediTrack's revisions run through the engine's hooks.
 *
 * Owner: the schema module (src/schema/). Callers: `meditrack db upgrade` and
 * the start-up sequence (through the engine's pre-flight callback installed by
 * schema_register), `meditrack db adopt`, and the tests. */
#ifndef MT_SCHEMA_SCHEMA_H
#define MT_SCHEMA_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "db/db.h"
#include "migrate/migrate.h"

/* The name of the hook that MediTrack's revisions give as pre_upgrade (see
 * migrations/ and docs/schema.md): salvage leftover _alembic_tmp_* tables,
 * one default person, medications whose person is missing moved to it, doses
 * whose medication is missing unlinked, and (where doses have person_id) a
 * linked dose given its medication's person, a missing person cleared. Every
 * repair is logged with counts. */
#define SCHEMA_REPAIR_HOOK "meditrack_repair"

/* Registers SCHEMA_REPAIR_HOOK with the engine and installs the pre-flight
 * callback that runs schema_prepare before every online mig_upgrade (under
 * the migration lock). Call once at start-up, before any migration; calling
 * it again is harmless. Returns 0, or -1 when the engine's hook table is full. */
int schema_register(struct mt_err *err);

/* What schema_plan_make found and what schema_plan_apply will do. Strings
 * are malloc'ed and owned by the plan; release with schema_plan_release. */
struct schema_plan {
    bool applies;              /* ch holds MediTrack's revisions; false: nothing to do here */
    bool tracked;              /* alembic_version has a row */
    char *current;             /* that row, NULL when untracked */
    bool has_tables;           /* at least one MediTrack table exists */
    const char *target;        /* revision to stamp (borrowed from the chain), NULL: keep */
    bool changes_schema;       /* tables are created or altered before stamping */
    bool backup;               /* SQLite file: safety copy before altering tables (default
                                  true; callers set it from BACKUP_BEFORE_MIGRATE) */
    struct mt_strlist found;   /* one line per finding, in order */
    struct mt_strlist actions; /* one line per change, in the order applied */
    /* Internal: the steps to apply, as bit flags (ST_STEP_*, schema_int.h). */
    unsigned steps;
    int shape_level; /* the revision level the tables are completed to */
};

/* Every message of a refused take-over starts with this text, so that the
 * callers of mig_upgrade (which may prefix it with context) can tell "this
 * database matches no revision" (exit code MT_EXIT_ADOPT) from a failed
 * migration: strstr(err.msg, SCHEMA_REFUSED). */
#define SCHEMA_REFUSED "cannot take over this database: "

/* Inspects c (tables, columns, indexes, foreign keys and alembic_version)
 * and plans the take-over against chain ch. Touches nothing. Fails with
 * MT_ECONFLICT and a message starting with SCHEMA_REFUSED when the database
 * cannot be taken over safely (a MediTrack table of a shape no revision
 * produced, a SQLite table with columns a rebuild would lose, alembic_version
 * naming a revision while every MediTrack table is missing); the message says
 * what was found and which command fixes it by hand. On success release with
 * schema_plan_release. */
int schema_plan_make(struct db_conn *c, const struct mig_chain *ch, struct schema_plan *out,
                     struct mt_err *err);
/* Carries the plan out: completes the tables (one transaction on SQLite and
 * PostgreSQL; statement by statement, each safe to repeat, on MariaDB), then
 * stamps plan->target through the engine. Before altering the tables of a
 * SQLite file it writes a safety copy "<file>.backup-<from>-to-<target>-<time>"
 * (when plan->backup), which the engine's rotation of safety copies keeps
 * with its own. The caller holds the migration lock. Logs each action. */
int schema_plan_apply(struct db_conn *c, const struct mig_chain *ch, const struct schema_plan *p,
                      struct mt_err *err);
void schema_plan_release(struct schema_plan *p);

/* The take-over in one call, as the pre-flight callback runs it: plan, log
 * the findings (one line each), and unless dry_run apply. Call with the
 * migration lock held, before reading alembic_version for an upgrade. A
 * database without MediTrack tables (fresh), or already consistent with its
 * stamp, is left alone. Returns 0, or -1 with err filled (nothing changed
 * when planning failed). */
int schema_prepare(struct db_conn *c, const struct mig_chain *ch, bool dry_run, struct mt_err *err);
/* schema_prepare with the safety copy chosen by the caller (the pre-flight
 * callback passes the engine's BACKUP_BEFORE_MIGRATE option). */
int schema_prepare_opts(struct db_conn *c, const struct mig_chain *ch, bool dry_run, bool backup,
                        struct mt_err *err);

/* The repairs behind SCHEMA_REPAIR_HOOK, on whatever MediTrack tables exist
 * (for the hook and for tests). final: refuse to keep an _alembic_tmp_* table
 * that cannot be salvaged yet (the last revision that may see one). Returns
 * 0, or -1 with err filled. */
int schema_repair(struct db_conn *c, bool final, struct mt_err *err);

/* ---- doses without a person ---------------------------------------------------------------- */

/* At most this many dose ids are read per group (for `db check` to print). */
#define SCHEMA_UNOWNED_IDS 50

/* Doses of one deleted medication name that belong to no person. */
struct schema_unowned_group {
    char *medication_name; /* NULL: doses without a name */
    int64_t count;
    char *first_taken, *last_taken; /* UTC "YYYY-MM-DD HH:MM:SS[.ffffff]"; NULL when unknown */
    int64_t *ids;                   /* the lowest SCHEMA_UNOWNED_IDS dose ids, ascending */
    size_t n_ids;
};
struct schema_person_ref {
    int64_t id;
    char *name; /* "first last" */
};
/* What schema_unowned_doses found. Everything is malloc'ed and owned by the
 * struct; release with schema_unowned_release. */
struct schema_unowned {
    bool applies; /* doses has person_id; false: nothing else was read */
    int64_t total;
    struct schema_unowned_group *groups; /* by medication name */
    size_t n_groups;
    struct schema_person_ref *persons; /* every person, id order (only when total > 0) */
    size_t n_persons;
};

/* Finds the doses that belong to no person: their medication was deleted
 * before revision ab48726466af recorded whose a dose is, so no person's
 * summary, form or export shows them (a dose whose medication still exists
 * belongs to that medication's person and is not counted). Read-only.
 * Returns 0 (out->applies false when the database has no doses.person_id),
 * or -1 with err filled; release out in both cases. */
int schema_unowned_doses(struct db_conn *c, struct schema_unowned *out, struct mt_err *err);
void schema_unowned_release(struct schema_unowned *u);

/* Which doses schema_assign_doses gives to person_id: the doses without a
 * person of the deleted medication medication_name, or (medication_name
 * NULL) the listed dose ids, every one of which must be such a dose. */
struct schema_assign {
    int64_t person_id;
    const char *medication_name;
    const int64_t *dose_ids;
    size_t n_dose_ids;
    bool dry_run; /* count and check only */
};
/* Gives the selected doses to the person, in one transaction (by ids: all or
 * nothing). Only doses without a person whose medication is deleted are ever
 * changed. *assigned gets the number of doses (that would be) assigned, and
 * *person the person's name (malloc'ed, caller frees; NULL on failure).
 * Fails with MT_EINVAL when the database has no doses.person_id,
 * MT_ENOTFOUND for an unknown person, MT_ECONFLICT naming a listed dose that
 * cannot be assigned (nothing changed), or a database error. */
int schema_assign_doses(struct db_conn *c, const struct schema_assign *a, int64_t *assigned,
                        char **person, struct mt_err *err);

#endif
