/* Moving and keeping a database: `meditrack db copy` (any engine to any
 * engine), `meditrack backup` / `meditrack restore` (one SQLite file with a
 * manifest) and the backup schedule of `meditrack serve`. Like the migration
 * engine it knows nothing of MediTrack's tables: it discovers the tables and
 * columns of the source through introspection, creates the target's schema
 * through the migration engine, and compares both sides through checksums of
 * canonical row values (docs/backup.md describes the format).
 *
 * Owner: the copy module (src/copy/). Depends on db/, migrate/ and core/
 * only; cli/ and api/ drive it. Memory: every struct handed out says who
 * frees it. */
#ifndef MT_COPY_COPY_H
#define MT_COPY_COPY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/strlist.h"
#include "core/tz.h"
#include "db/db.h"
#include "migrate/migrate.h"

/* Tables that belong to the engines rather than to the data: the migration
 * engine's two (the target gets its own when its schema is created, and the
 * audit table's checksums are per dialect), and this module's two. They are
 * never copied nor counted into a backup's manifest. */
#define COPY_BACKUP_LOG_TABLE "meditrack_backup_log"
#define COPY_MANIFEST_TABLE "meditrack_backup_manifest"
bool copy_engine_table(const char *table);

/* Length of a SHA-256 in lower-case hex, plus NUL. */
#define COPY_SUM_LEN 65

/* ---------------------------------------------------------------------------
 * Canonical values and checksums
 * ------------------------------------------------------------------------- */

/* What a column holds, whatever each engine calls it. Decides how a value
 * is read, written out as canonical text, and bound on the target. */
enum copy_class {
    COPY_TEXT,      /* character types, and anything not listed below */
    COPY_INT,       /* integer types (not MariaDB's TINYINT(1)) */
    COPY_BOOL,      /* SQLite BOOLEAN (0/1), PostgreSQL boolean, MariaDB TINYINT(1) */
    COPY_FLOAT,     /* double precision, REAL on SQLite */
    COPY_FLOAT4,    /* single precision (PostgreSQL real, MariaDB FLOAT) */
    COPY_DECIMAL,   /* numeric / decimal */
    COPY_DATE,      /* YYYY-MM-DD */
    COPY_TIME,      /* time of day */
    COPY_TIMESTAMP, /* an instant (timestamptz, DATETIME, TIMESTAMP) */
    COPY_BLOB,      /* bytes */
    COPY_JSON,      /* json / jsonb */
};

/* The class of a column of dialect d whose type reads type (as db_columns
 * reports it, lower case). */
enum copy_class copy_class_of(enum db_dialect d, const char *type);
/* The class both sides of a copy use for a column whose classes on the two
 * engines are a and b: the more specific one (TEXT yields to anything, INT
 * to BOOL, FLOAT and DECIMAL, DATE to TIMESTAMP). */
enum copy_class copy_class_merge(enum copy_class a, enum copy_class b);
/* "text", "int", ... for messages and the manifest. */
const char *copy_class_name(enum copy_class c);

/* One column of a table as both sides see it. */
struct copy_col {
    char *name;
    enum copy_class cls;
    bool chars; /* a character type on every side: ordered byte-wise when it is a key */
};

/* A table described for copying or summing: its columns in byte order of
 * their names (so that engines that put them in other orders agree), the
 * columns of its order key (the primary key, else none), and whether rows
 * come in the same order from every engine (then they are summed as they
 * come; otherwise the sum is of the sorted row digests). Release with
 * copy_table_release. */
struct copy_table {
    char *name;
    struct copy_col *cols;
    size_t ncols;
    size_t *key; /* indexes into cols */
    size_t nkey;
    bool ordered;
    int id_col; /* index of the one integer primary-key column, or -1 */
};
void copy_table_release(struct copy_table *t);

/* Describes table on c. With other (the far side of a copy, may be NULL),
 * every column of c must exist there too (MT_ECONFLICT otherwise: the data
 * would have no place), classes are merged and the order key is other's
 * primary key. */
int copy_table_describe(struct db_conn *c, const char *table, struct db_conn *other,
                        struct copy_table *out, struct mt_err *err);

/* A running checksum of one table: SHA-256 over a header naming the columns
 * and each row's canonical text in key order (ordered tables), or over the
 * header and the sorted SHA-256 of each row (the others). */
struct copy_sum;
struct copy_sum *copy_sum_new(const struct copy_table *t);
void copy_sum_row(struct copy_sum *s, const char *row, size_t len);
/* Writes the hex digest to hex and the row count to *rows; frees s. */
void copy_sum_finish(struct copy_sum *s, char hex[COPY_SUM_LEN], int64_t *rows);
/* Frees s without a result (NULL is allowed). */
void copy_sum_free(struct copy_sum *s);

/* The SELECT that reads t's columns in t's order (malloc'ed, caller frees):
 * the key columns byte-wise (PostgreSQL COLLATE "C", MariaDB BINARY, SQLite
 * BINARY) so that every engine gives the same sequence. */
char *copy_select_sql(enum db_dialect d, const struct copy_table *t);

/* Appends the canonical text of the current row of st (selected by
 * copy_select_sql) to row: the values tab-separated and escaped (\\ \t \n
 * \r), NULL as \N, then a newline. A value that cannot be represented
 * exactly in its class (text in an integer column, a malformed timestamp)
 * fails with MT_ECONFLICT naming the table, column and value. */
int copy_canon_row(struct db_stmt *st, const struct copy_table *t, struct mt_buf *row,
                   struct mt_err *err);

/* Reads all of t on c and sums it (rows, hex digest). Runs in whatever
 * transaction c has open. progress may be NULL. */
typedef void (*copy_progress_fn)(void *ctx, const char *phase, const char *table, int64_t done,
                                 int64_t total);
int copy_table_sum(struct db_conn *c, const struct copy_table *t, copy_progress_fn progress,
                   void *ctx, int64_t *rows, char hex[COPY_SUM_LEN], struct mt_err *err);

/* ---------------------------------------------------------------------------
 * Copying
 * ------------------------------------------------------------------------- */

struct copy_options {
    int batch;  /* rows per target transaction (default 5000) */
    bool force; /* a target with tables: drop MediTrack's and the engines' tables first */
    /* Further source tables to leave out, NULL-terminated; may be NULL. */
    const char *const *exclude;
    copy_progress_fn progress; /* may be NULL */
    void *progress_ctx;
    const atomic_bool *cancel; /* set: stop at the next batch (MT_ECONFLICT "cancelled") */
    int lock_timeout;          /* seconds to wait for the target's migration lock */
    mig_log_fn log;            /* the migration engine's lines (NULL: mt_log) */
    void *log_ctx;
};
/* batch 5000, lock_timeout 60, everything else zero. */
void copy_options_init(struct copy_options *o);
/* A mig_log_fn that lets the migration engine's lines through at debug
 * level only (warnings and errors stay): a backup's or a restore's schema
 * creation is not news. */
void copy_quiet_log(void *ctx, enum mt_log_level level, const char *line);

struct copy_table_report {
    char *name;
    int64_t rows;           /* read from the source's snapshot */
    char sum[COPY_SUM_LEN]; /* of those rows */
    int64_t target_rows;    /* read back from the target afterwards */
    char target_sum[COPY_SUM_LEN];
    bool match;
};
struct copy_report {
    char *revision;                   /* the revision source and target are at */
    struct copy_table_report *tables; /* in the order they were copied */
    size_t n;
    struct mt_strlist notes; /* one line per thing worth telling: drops, sequences, skips */
    int64_t rows;            /* in all */
    int64_t copy_ms, verify_ms;
    bool verified; /* every table matched */
};
void copy_report_init(struct copy_report *r);
void copy_report_release(struct copy_report *r);

/* The revision src is at, checked: known to ch, no interrupted migration
 * run, and the head when require_head. *rev is malloc'ed (caller frees).
 * MT_ECONFLICT with a message saying what to do (`meditrack db upgrade`)
 * otherwise. */
int copy_source_revision(struct db_conn *src, const struct mig_chain *ch, bool require_head,
                         char **rev, struct mt_err *err);

/* Copies src (at revision rev, see copy_source_revision) into dst: refuses a
 * dst with tables unless o->force (which drops the tables src has and the
 * engines' tables, leaving others alone, under dst's migration lock); creates
 * dst's schema through the migration engine up to rev; reads every table of
 * src that dst then has from one snapshot of src (REPEATABLE READ on
 * PostgreSQL and MariaDB, a read transaction on SQLite) in foreign-key order,
 * writing batches of o->batch rows per transaction with multi-row INSERTs
 * and keeping every column (ids included); moves dst's sequences or
 * AUTO_INCREMENT past the highest id (and past src's own next value); then
 * reads dst back and compares row counts and checksums. report is filled as
 * far as the copy got (init it first, release it always). Returns 0 when
 * everything matched; -1 with err otherwise (MT_ECONFLICT for a refusal or a
 * mismatch, the database's codes for its errors). A failure after rows were
 * written leaves dst partly filled: copy again with force. */
int copy_run(struct db_conn *src, struct db_conn *dst, const struct mig_chain *ch, const char *rev,
             const struct copy_options *o, struct copy_report *report, struct mt_err *err);

/* True when a and b name the same database (the same SQLite file, or the
 * same server, port and database name). */
bool copy_same_database(const struct db_url *a, const struct db_url *b);

/* ---------------------------------------------------------------------------
 * Backups (backup.c)
 * ------------------------------------------------------------------------- */

struct copy_backup_result {
    char *file;     /* the backup written (malloc'ed) */
    char *revision; /* malloc'ed */
    int64_t rows;   /* in all tables */
    size_t tables;
    int64_t duration_ms;
    char *audit_hash; /* the audit chain's head hash; NULL before its revision */
    int64_t audit_seq; /* the number of its last row (0: empty chain) */
};
void copy_backup_result_release(struct copy_backup_result *r);

/* The file name a backup made now gets in dir: dir/meditrack-backup-<UTC
 * YYYYMMDDTHHMMSS.mmmZ>.db (malloc'ed). */
char *copy_backup_default_name(const char *dir);

/* Writes a consistent backup of the database src (revision known to ch)
 * into the new SQLite file path (refused when it exists): SQLite's online
 * backup API for a SQLite source, else a snapshot copy (copy_run) into a new
 * SQLite database; then the manifest (table meditrack_backup_manifest:
 * revision, time, source, per-table rows and checksums, latest audit hash)
 * is stored in it. Written as "<path>.partial" and renamed when complete.
 * o may be NULL. */
int copy_backup(struct db_conn *src, const struct mig_chain *ch, const char *path,
                const struct copy_options *o, struct copy_backup_result *out, struct mt_err *err);

/* Deletes the oldest "meditrack-backup-*.db" files in dir beyond the newest
 * keep. Each removal is logged; failures are logged, not returned. */
void copy_backup_prune(const char *dir, int keep);

struct copy_restore_result {
    char *revision;          /* of the backup */
    char *created_at;        /* from its manifest */
    bool upgraded;           /* the backup was older than head and upgraded on the way */
    struct copy_report copy; /* the copy into the target */
};
void copy_restore_result_release(struct copy_restore_result *r);

/* Checks the backup file (manifest present and of a known format, revision
 * known to ch, every table's rows and checksum as recorded), upgrades a
 * temporary copy of it to head when it is older, and copies it into dst
 * (empty, or o->force). The backup file itself is only read. out is filled
 * as far as it got (release it always). MT_ECONFLICT for a damaged or
 * foreign file, a revision this program does not know, or a refused target. */
int copy_restore(const char *file, struct db_conn *dst, const struct mig_chain *ch,
                 const struct copy_options *o, struct copy_restore_result *out, struct mt_err *err);

/* ---------------------------------------------------------------------------
 * The schedule (schedule.c)
 * ------------------------------------------------------------------------- */

/* BACKUP_SCHEDULE parsed: "daily@HH:MM[:SS]", "hourly@MM[:SS]",
 * "weekly@DAY@HH:MM[:SS]" (DAY mon..sun), in the server's zone (an IANA
 * zone follows daylight saving time); "" or "off": none. */
enum copy_every { COPY_NEVER, COPY_HOURLY, COPY_DAILY, COPY_WEEKLY };
struct copy_schedule {
    enum copy_every every;
    int weekday; /* 0 = Monday .. 6 = Sunday (weekly) */
    int hour, minute, second;
};
/* MT_EINVAL with a message quoting s and the syntax. */
int copy_schedule_parse(const char *s, struct copy_schedule *out, struct mt_err *err);
/* The first instant (us since the epoch, UTC) strictly after after_us at
 * which s is due on the wall clock of zone z; -1 for COPY_NEVER. A wall
 * time that a change of clocks skips is read at the offset before it (so
 * daily@02:30 runs at 03:30 on the day New York springs forward); a daily or
 * weekly time that occurs twice runs once, the first time; hourly stays an
 * hour apart. */
int64_t copy_schedule_next(const struct copy_schedule *s, int64_t after_us, struct mt_tz z);

/* The scheduler of `meditrack serve`: one thread of its own, with its own
 * database connections, so that it never holds up a request. At each due
 * time it claims the slot in meditrack_backup_log (a row whose primary key
 * is the slot's time: exactly one replica's INSERT succeeds however they
 * race), writes the backup into dir, records the outcome in the row and
 * prunes to keep files. */
struct copy_scheduler;
struct copy_scheduler_config {
    const struct db_url *url;   /* copied */
    const struct mig_chain *ch; /* must outlive the scheduler */
    struct copy_schedule schedule;
    const char *schedule_text; /* copied, for reports */
    const char *dir;           /* copied */
    int keep;
    struct mt_tz zone; /* the server's (TIMEZONE, or TIMEZONE_OFFSET) */
};
/* Starts the thread. Returns NULL with err filled when it cannot. */
struct copy_scheduler *copy_scheduler_start(const struct copy_scheduler_config *cfg,
                                            struct mt_err *err);
/* Asks the thread to stop: a running backup is cancelled at its next batch
 * (its partial file removed, its row marked failed). Does not wait. */
void copy_scheduler_request_stop(struct copy_scheduler *s);
/* Stops (if not asked yet), waits for the thread and frees. NULL allowed. */
void copy_scheduler_free(struct copy_scheduler *s);

/* What /api/v1/health shows. Strings are copied into the struct's buffers. */
struct copy_scheduler_status {
    char schedule[64];
    int keep;
    char dir[256];
    int64_t next_us; /* -1: none */
    bool running;
    int64_t last_success_us; /* -1: none yet */
    char last_file[512];
    int64_t last_duration_ms;
    int64_t last_error_us; /* -1: none */
    char last_error[256];
    int64_t last_slot_us;        /* the last slot this replica saw: -1 none */
    char last_slot_outcome[160]; /* "done", "failed", "taken by host (pid N)" */
};
void copy_scheduler_status(struct copy_scheduler *s, struct copy_scheduler_status *out);

#endif
