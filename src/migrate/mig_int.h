/* Internals shared by the files of src/migrate/: the embedded revision files
 * generated at build time by embed.py, the run context of one upgrade,
 * downgrade or stamp, the version and audit table helpers, and small time and
 * text utilities. Nothing outside src/migrate/ includes this header. */
#ifndef MT_MIGRATE_MIG_INT_H
#define MT_MIGRATE_MIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migrate/migrate.h"

/* One file of migrations/, as embedded by embed.py: path is "<dir>/<name>". */
struct mig_embedded_file {
    const char *path;
    const char *data;
    size_t len;
};
extern const struct mig_embedded_file mig_embedded_files[];
extern const size_t mig_embedded_n_files;

/* The callback installed with mig_set_preflight, or NULL. */
mig_preflight_fn mig_get_preflight(void);

/* The file of a SQLite connection's main database (malloc'ed), or NULL for
 * :memory: and temporary databases. */
int mig_sqlite_path(struct db_conn *c, char **out, struct mt_err *err);

/* Dialect names used in file names ("sqlite", "postgresql", "mysql"). */
const char *mig_dialect_file_name(enum db_dialect d);

/* The state of one run against a live connection. */
struct mig_run {
    struct db_conn *c;
    const struct mig_chain *ch;
    const struct mig_options *o;
    enum db_dialect d;
    long crash_points; /* crash points passed so far (see mig_options.crash_at) */
    char host[128];
    int64_t pid;
};
void mig_run_init(struct mig_run *r, struct db_conn *c, const struct mig_chain *ch,
                  const struct mig_options *o);
/* Raises SIGKILL when the run reaches o->crash_at crash points (tests only). */
void mig_crash_point(struct mig_run *r);

/* ---- applying a step (apply.c), shared with the offline mode ---- */

/* The SQL of a step in the run's dialect (up or down). */
const char *mig_step_sql(const struct mig_run *r, const struct mig_step *s);
/* A unit of progress: a hook or one statement. */
struct mig_unit {
    const char *hook; /* hook name, or NULL for a statement */
    const char *sql;
};
/* A step's units in order: the pre hook, each statement, the post hook. */
struct mig_units {
    struct mig_unit *v;
    size_t n;
    struct mt_strlist stmts;
};
/* Splits the step's SQL into units; release them with mig_units_release
 * (also after a failure, which names the revision). */
int mig_units_build(const struct mig_run *r, const struct mig_step *s, struct mig_units *u,
                    struct mt_err *err);
void mig_units_release(struct mig_units *u);

/* ---- offline.c: the --sql output ---- */

/* Print the SQL of an upgrade or downgrade to target ("FROM:TO" or TO), or
 * of a stamp, to o->sql_out instead of running it. */
int mig_offline_migrate(const struct mig_chain *ch, const char *target, bool upgrade,
                        const struct mig_options *o, struct mt_err *err);
int mig_offline_stamp(const struct mig_chain *ch, const char *target, bool purge,
                      const struct mig_options *o, struct mt_err *err);

/* ---- backup.c: safety copies ---- */

/* When o->backup is set and the run's SQLite file holds data: writes the
 * safety copy before going from revision from to revision to (NULL: base)
 * and removes the copies beyond o->backup_keep. */
int mig_backup_before(struct mig_run *r, const char *from, const char *to, struct mt_err *err);

/* Logging through the options' callback (or mt_log). */
void mig_logf(const struct mig_options *o, enum mt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mig_log_with(mig_log_fn fn, void *ctx, enum mt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Milliseconds of a monotonic clock. */
int64_t mig_now_ms(void);
/* Current UTC time as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (at least 32 bytes). */
void mig_utc_now(char *buf, size_t size);
/* Current UTC time as "YYYYMMDDTHHMMSS.mmmZ" for file names. */
void mig_utc_stamp(char *buf, size_t size);

/* Version table: inserts, updates or deletes the one row so that the version
 * becomes to (NULL = base) from from (NULL = base). */
int mig_version_set(struct db_conn *c, const char *from, const char *to, struct mt_err *err);
/* Creates the audit table when it is missing. */
int mig_audit_ensure(struct db_conn *c, struct mt_err *err);
/* Whether the audit table exists. */
int mig_audit_exists(struct db_conn *c, bool *exists, struct mt_err *err);
/* Inserts an audit row as described by a (id ignored; success -1 is stored as
 * NULL) and sets a->id to the new row's id. */
int mig_audit_insert(struct db_conn *c, struct mig_audit *a, struct mt_err *err);
/* Rewrites the progress and outcome columns of the row a->id. */
int mig_audit_update(struct db_conn *c, const struct mig_audit *a, struct mt_err *err);
/* Loads the unfinished row (success NULL) into *out (one element, release
 * with mig_audit_free(*out, 1)), or sets *out NULL when there is none. More
 * than one unfinished row: MT_ECONFLICT. */
int mig_audit_unfinished(struct db_conn *c, struct mig_audit **out, struct mt_err *err);

/* Whether sql starts (after comments and blanks) with a keyword of a data
 * manipulation statement (INSERT, UPDATE, DELETE, REPLACE, SELECT, WITH), which
 * MariaDB runs inside a transaction. */
bool mig_sql_is_dml(const char *sql);
/* The tables and columns a script drops, as "table t" / "column t.c" items.
 * Release with mt_strlist_release. */
void mig_sql_drops(const char *sql, struct mt_strlist *out);

#endif
