/* The SQL behind moving a record between instances and handing it to a
 * doctor: the whole record (or one person's) streamed in document order for
 * the portable export (docs/export-format.md), the writes of an import (a
 * person, a medication, doses in batches) with fresh ids on the target, the
 * target's persons for the conflict rule, and the extra reads of the FHIR
 * bundle. Implemented in store/portable.c; used by api/portable.c,
 * api/import.c and api/fhir.c. Owner: the store module.
 *
 * Each kind of row is read in exactly one place (read_person,
 * read_medication, read_dose in portable.c, from one branch of sql_export
 * each) and written in exactly one place (store_import_person / _limits /
 * _medication / _doses). Since issue 15 that includes a medication's dosing
 * rules and ingredients, a person's ingredient limits, and every dose
 * whatever its status, with who recorded it and what it contained; the
 * import appends one audit row per row it creates (store_audit_batch).
 * Since issue 16 also a person's own time zone and a medication's schedule;
 * what reminders need besides (settings, channels, calendar tokens, slots,
 * deliveries) belongs to the instance and is neither read nor written. */
#ifndef MT_STORE_PORTABLE_H
#define MT_STORE_PORTABLE_H

#include "store/audit.h"
#include "store/dosing.h"
#include "store/store.h"

/* Starts and ends a read-only transaction in which every statement sees one
 * snapshot (db_begin_snapshot), so that the statements of one export or
 * bundle agree while others write. end rolls back (nothing was written) and
 * ignores errors: the reads are done. */
int store_snapshot_begin(struct db_conn *c, struct mt_err *err);
void store_snapshot_end(struct db_conn *c);

/* ---- the export --------------------------------------------------------------------------- */

/* A dose as the export reads it. For a dose of a deleted medication,
 * has_medication is false and has_person says whether the dose names the
 * person who took it (doses of medications deleted before the database
 * recorded that name nobody). taken_at may be absent (rows of old
 * databases) or unreadable (raw text, SQLite only). */
struct store_export_dose {
    int64_t id;
    bool has_medication;
    int64_t medication_id;
    bool has_person;
    int64_t person_id;
    const char *medication_name; /* NULL: null */
    struct store_time taken_at;
    enum store_dose_status status;
    const char *status_reason, *note, *recorded_by; /* NULL: null */
    struct store_time recorded_at, updated_at;
    const char *override_rule, *override_reason; /* NULL: null */
    /* One ingredient of the dose's snapshot (dose_ingredients), or none
     * (has_ingredient false). A dose with several comes as several rows:
     * the first with kind STORE_EXPORT_DOSE or STORE_EXPORT_DELETED_DOSE,
     * each further one with more_ingredient set and nothing else changed. */
    bool has_ingredient, more_ingredient;
    struct store_ingredient ingredient;
};

enum store_export_kind {
    STORE_EXPORT_PERSON,
    STORE_EXPORT_MEDICATION,   /* of the person of the last STORE_EXPORT_PERSON row */
    STORE_EXPORT_DOSE,         /* of the medication of the last STORE_EXPORT_MEDICATION row */
    STORE_EXPORT_DELETED_DOSE, /* after every person: doses of deleted medications */
};

/* One row of the export, in document order. Every string is borrowed from
 * the database cursor: valid during the callback only. */
struct store_export_row {
    enum store_export_kind kind;
    struct store_person person;  /* STORE_EXPORT_PERSON (medication_count -1) */
    struct store_limit *limits;  /* STORE_EXPORT_PERSON: the person's ingredient limits, */
    size_t n_limits;             /* by name */
    struct store_medication med; /* STORE_EXPORT_MEDICATION (doses_in_day -1), with its */
                                 /* rules, ingredients (position order) and schedule */
    /* STORE_EXPORT_MEDICATION: the stored schedule's columns are not a
     * schedule this program writes (edited by hand); med.has_schedule is
     * then false. */
    bool schedule_unreadable;
    struct store_export_dose dose; /* the two dose kinds */
};

/* Called once per row; a non-zero return stops the walk and is returned
 * (fn fills err when it returns -1). fn must not use the connection: the
 * rows are streaming from the server (db_query_stream). */
typedef int (*store_export_fn)(const struct store_export_row *row, void *ctx, struct mt_err *err);

/* One statement, streamed: every person (or only person_id, when
 * has_person) in id order, each followed by their medications in id order,
 * each followed by its doses (every status) oldest first (those without
 * taken_at first); then the doses of deleted medications (of person_id,
 * when has_person), by person, oldest first. One statement sees one
 * snapshot on every dialect, so the rows agree with each other even while
 * others write. The medications' ingredients and the persons' limits,
 * which the statement cannot carry in its rows, are read first, in the
 * caller's snapshot (store_snapshot_begin), and held in memory for the
 * walk (a few rows per medication and person). */
int store_export_walk(struct db_conn *c, bool has_person, int64_t person_id, store_export_fn fn,
                      void *ctx, struct mt_err *err);

/* ---- the import --------------------------------------------------------------------------- */

/* A person of the target, for the conflict rule (same first name, last
 * name and date of birth). Strings are malloc'ed. */
struct store_import_existing {
    int64_t id;
    char *first_name;
    char *last_name;     /* NULL: null */
    char *date_of_birth; /* "YYYY-MM-DD" or NULL */
};

/* Every person of the target, id order, into a malloc'ed array (free it with
 * store_import_existing_free). */
int store_import_existing(struct db_conn *c, struct store_import_existing **out, size_t *n,
                          struct mt_err *err);
void store_import_existing_free(struct store_import_existing *p, size_t n);

/* Runs fn in one write transaction (retried on deadlocks, so fn must be
 * safe to run again), as every multi-statement write of the store does. */
int store_import_in_tx(struct db_conn *c, db_tx_fn fn, void *ctx, struct mt_err *err);

/* Locks the persons table against other writers for the import's
 * transaction (store_lock_persons). */
int store_import_lock(struct db_conn *c, struct mt_err *err);

/* A timestamp to write: absent (SQL NULL) or an instant. */
struct store_import_time {
    bool present;
    int64_t us;
};

struct store_import_person_row {
    const char *first_name;
    const char *last_name; /* NULL: null */
    bool has_dob;
    struct mt_date dob;
    const char *notes;    /* NULL: null */
    const char *timezone; /* the person's own IANA zone, checked by the caller; NULL: none */
    bool is_default;
    struct store_import_time created_at, updated_at;
};

/* A person's ingredient limit (docs/dosing.md). */
struct store_import_limit_row {
    const char *name;
    double max_per_24h;
    const char *unit;
    struct store_import_time created_at, updated_at;
};

struct store_import_medication_row {
    int64_t person_id; /* the target's id */
    const char *name, *dosage, *frequency;
    int64_t max_doses_per_day;
    const char *instructions; /* NULL: null */
    struct store_import_time created_at, updated_at;
    /* The dosing rules; a document without them gives the defaults. */
    bool rolling_24h;
    int64_t min_interval_minutes; /* 0: none */
    bool has_dose_amount;
    double dose_amount;
    const char *dose_unit; /* NULL: null */
    const struct store_ingredient *ingredients;
    size_t n_ingredients;
    const struct mt_schedule *schedule; /* NULL: none (taken as needed) */
};

struct store_import_dose_row {
    bool has_medication;
    int64_t medication_id; /* the target's id */
    bool has_person;
    int64_t person_id;           /* the target's id */
    const char *medication_name; /* NULL: null */
    struct store_import_time taken_at;
    enum store_dose_status status;                  /* STORE_TAKEN for documents without it */
    const char *status_reason, *note, *recorded_by; /* NULL: null */
    struct store_import_time recorded_at, updated_at;
    const char *override_rule, *override_reason; /* NULL: null */
    const struct store_ingredient *ingredients;  /* the dose's snapshot */
    size_t n_ingredients;
};

/* Inserts one row and gives its new id (a medication with its
 * ingredients), and appends its audit row ("import", after_json the row as
 * created) to audit. Timestamps are written as given (an absent one as
 * NULL), so that the imported record reads as the exported one did. An
 * ingredient or limit named twice (names compare as store_name_key says)
 * is MT_EINVAL. */
int store_import_person(struct db_conn *c, struct store_audit_batch *audit,
                        const struct store_import_person_row *p, int64_t *id, struct mt_err *err);
int store_import_limits(struct db_conn *c, struct store_audit_batch *audit, int64_t person_id,
                        const struct store_import_limit_row *l, size_t n, struct mt_err *err);
int store_import_medication(struct db_conn *c, struct store_audit_batch *audit,
                            const struct store_import_medication_row *m, int64_t *id,
                            struct mt_err *err);
/* At most this many doses go into one INSERT. */
enum { STORE_IMPORT_DOSE_BATCH = 64 };
/* Inserts n doses (1..STORE_IMPORT_DOSE_BATCH) as one multi-row INSERT
 * (the new ids come back through RETURNING, which all three engines have),
 * then their ingredients' snapshots and their audit rows. */
int store_import_doses(struct db_conn *c, struct store_audit_batch *audit,
                       const struct store_import_dose_row *d, size_t n, struct mt_err *err);

/* ---- the FHIR bundle ---------------------------------------------------------------------- */

/* The distinct names of the deleted medications whose doses person_id took
 * in w (doses that have a name), in name order, into an arena array. */
int store_deleted_names(struct db_conn *c, struct mt_arena *a, int64_t person_id,
                        const struct store_window *w, const char ***out, size_t *n,
                        struct mt_err *err);

#endif
