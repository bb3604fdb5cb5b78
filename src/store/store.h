/* All SQL of the HTTP API: persons, medications, doses, the daily summary and
 * the report's data, on SQLite, PostgreSQL and MariaDB through db.h. Every
 * value is a bound parameter; every list or summary is one query; operations
 * of several statements run in one db_tx_run transaction, and the ones that
 * guard an invariant (the daily maximum, the one default person) lock first
 * so that concurrent requests cannot both pass the check.
 *
 * Ownership: rows and their strings are allocated in the arena the caller
 * passes and live as long as it; nothing here frees. Failures: MT_ENOTFOUND
 * with the reference's detail ("Person not found", "Medication not found",
 * "Dose not found", ...), MT_ECONFLICT for a refused business rule with the
 * reference's detail text (the API answers 400), MT_ELIMIT when the arena is
 * full, MT_EDB / MT_EDB_RETRY from the database. Owner: the store module. */
#ifndef MT_STORE_STORE_H
#define MT_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/mtime.h"
#include "core/schedule.h"
#include "db/db.h"

/* A timestamp column: absent (SQL NULL), or an instant; raw keeps the text
 * of a value that could not be read as a timestamp (shown as stored). */
struct store_time {
    bool present;
    bool parsed;
    int64_t us;
    const char *raw;
};

/* Who makes a change, as the audit trail and a dose's recorded_by name it:
 * an account (id > 0 and its login) or, with access control off, nobody in
 * particular (id 0, name "anonymous"). name is borrowed. */
struct store_actor {
    int64_t id;
    const char *name;
};
#define STORE_ANONYMOUS_NAME "anonymous"

struct store_person {
    int64_t id;
    const char *first_name;
    const char *last_name;     /* NULL: null */
    const char *date_of_birth; /* "YYYY-MM-DD" or NULL */
    const char *notes;         /* NULL: null */
    bool is_default;
    struct store_time created_at, updated_at;
    int64_t medication_count; /* -1 when not counted */
    const char *timezone;     /* the person's own IANA zone (issue 16); NULL: the server's */
};

/* The fields of a person to write. For an update, set says which ones the
 * client sent; for a create all are written (NULL = SQL NULL). */
struct store_person_fields {
    bool set_first, set_last, set_dob, set_notes;
    const char *first_name;
    const char *last_name;
    bool has_dob;
    struct mt_date dob;
    const char *notes;
    bool set_timezone; /* issue 16: the person's own zone, checked by the API; NULL clears it */
    const char *timezone;
};

/* Whose data a caller may see (access control, docs/auth.md): everyone's
 * (all: the API with AUTH=off, administrators), or only that of the persons
 * listed in ids (ascending, possibly none). The lists and summaries below
 * take one; NULL means everyone, and then they run exactly the statements
 * they ran before access control existed. Borrowed for the call. */
struct store_person_filter {
    bool all;
    const int64_t *ids;
    size_t n;
};

/* Whether f (NULL: everyone) lets a caller see person id. */
bool store_filter_has(const struct store_person_filter *f, int64_t id);

/* In id order, only the persons f lets through. */
int store_persons_list(struct db_conn *c, struct mt_arena *a, const struct store_person_filter *f,
                       int64_t skip, int64_t limit, struct store_person **out, size_t *n,
                       struct mt_err *err);
/* With medication_count. */
int store_person_get(struct db_conn *c, struct mt_arena *a, int64_t id, struct store_person *out,
                     struct mt_err *err);
/* Every write below also appends its audit row (store_audit_append, in
 * store/audit.h) in the same transaction, naming actor.
 * The first person (when no default exists) becomes the default. */
int store_person_create(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                        const struct store_person_fields *f, struct store_person *out,
                        struct mt_err *err);
/* Partial update; updated_at changes only when a value really changes. It
 * is the one way to change a person's zone, which also moves the person's
 * planned reminders (store_remind_zone_changed). */
int store_person_update(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                        int64_t id, const struct store_person_fields *f, struct store_person *out,
                        struct mt_err *err);
/* Deletes the person, their medications and every dose they took (also of
 * medications deleted before).
 * MT_ECONFLICT for the last person and for the default person. */
int store_person_delete(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                        int64_t id, struct mt_err *err);
/* Moves the default flag to id (every former default is cleared, and all
 * touched rows get updated_at), in one transaction. */
int store_person_set_default(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                             int64_t id, struct store_person *out, struct mt_err *err);

/* An active ingredient of a medication: the amount of it in one dose. */
struct store_ingredient {
    const char *name; /* as the user wrote it; matched case-insensitively (store_name_key) */
    double amount;    /* > 0, at most three decimals */
    const char *unit; /* "mg", "g", "mcg", "ml", ... (store/units.c says which compare) */
};

struct store_medication {
    int64_t id;
    int64_t person_id;
    const char *name, *dosage, *frequency;
    int64_t max_doses_per_day;
    const char *instructions; /* NULL: null */
    struct store_time created_at, updated_at;
    /* Counted in the day window asked for (-1 when not asked). */
    int64_t doses_in_day;
    struct store_time last_taken_at; /* latest dose in that window */
    /* The dosing rules (docs/dosing.md): max_doses_per_day counts in the
     * local calendar day (the reference's rule) or in any 24 hours. */
    bool rolling_24h;
    int64_t min_interval_minutes; /* 0: no minimum interval */
    bool has_dose_amount;
    double dose_amount;
    const char *dose_unit; /* NULL: null */
    /* Filled only by store_med_ingredients (NULL / 0 until then). */
    struct store_ingredient *ingredients;
    size_t n_ingredients;
    /* The schedule (issue 16, docs/schedules.md): filled by create, update
     * and store_med_schedule; has_schedule false: as needed (or not read). */
    bool has_schedule;
    struct mt_schedule schedule;
};

struct store_medication_fields {
    bool set_name, set_dosage, set_frequency, set_max, set_instructions;
    const char *name, *dosage, *frequency;
    int64_t max_doses_per_day;
    const char *instructions;
    /* The rules; on create, the ones not set get their defaults. */
    bool set_window, set_interval, set_dose_amount, set_dose_unit, set_ingredients;
    bool rolling_24h;
    int64_t min_interval_minutes; /* 0: none */
    bool has_dose_amount;
    double dose_amount;
    const char *dose_unit;
    const struct store_ingredient *ingredients; /* replace the list when set_ingredients */
    size_t n_ingredients;
    bool set_schedule;                 /* issue 16: replace the schedule */
    const struct mt_schedule *schedule; /* NULL: none (taken as needed) */
};

/* A UTC interval [start, end) in microseconds. */
struct store_window {
    int64_t start_us, end_us;
};

/* One query: the medications (of person_id when has_person, and only of
 * persons f lets through: none when it does not let person_id through), id
 * order, with doses counted in w and the latest of them. */
int store_meds_list(struct db_conn *c, struct mt_arena *a, const struct store_person_filter *f,
                    bool has_person, int64_t person_id, const struct store_window *w, int64_t skip,
                    int64_t limit, struct store_medication **out, size_t *n, struct mt_err *err);
int store_med_get(struct db_conn *c, struct mt_arena *a, int64_t id, const struct store_window *w,
                  struct store_medication *out, struct mt_err *err);
/* MT_ENOTFOUND "Person not found" when person_id does not exist. */
int store_med_create(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                     int64_t person_id, const struct store_medication_fields *f,
                     struct store_medication *out, struct mt_err *err);
int store_med_update(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                     int64_t id, const struct store_medication_fields *f,
                     struct store_medication *out, struct mt_err *err);
/* Keeps the dose history: its doses get medication_id NULL, the
 * medication's current name and its person, then the medication is
 * deleted. */
int store_med_delete(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                     int64_t id, struct mt_err *err);
/* Reads the medication's ingredients into m->ingredients (position
 * order). */
int store_med_ingredients(struct db_conn *c, struct mt_arena *a, struct store_medication *m,
                          struct mt_err *err);
/* Reads the medication's schedule into m->has_schedule and m->schedule
 * (MT_EDB when the stored schedule is not one this program writes). */
int store_med_schedule(struct db_conn *c, struct store_medication *m, struct mt_err *err);
/* The same for the n medications of a list, in one query (or one per
 * db_max_params ids); scratch text in a. MT_EDB as above. */
int store_meds_schedules(struct db_conn *c, struct mt_arena *a, struct store_medication *m,
                         size_t n, struct mt_err *err);
/* 0 when the medication exists, MT_ENOTFOUND "Medication not found" else. */
int store_med_exists(struct db_conn *c, int64_t id, struct mt_err *err);
/* The person a medication belongs to, for access checks; MT_ENOTFOUND
 * "Medication not found". */
int store_med_person(struct db_conn *c, int64_t id, int64_t *person_id, struct mt_err *err);

/* A dose's status: what a row of doses says happened (docs/dosing.md).
 * Only taken doses count towards a rule, a summary or a total. */
enum store_dose_status { STORE_TAKEN, STORE_SKIPPED, STORE_ENTERED_IN_ERROR };
/* "taken", "skipped", "entered_in_error". */
const char *store_status_name(enum store_dose_status s);

struct store_dose {
    int64_t id;
    bool has_medication;
    int64_t medication_id;
    const char *medication_name; /* NULL: null */
    struct store_time taken_at;
    enum store_dose_status status;
    const char *status_reason; /* why skipped or entered in error; NULL: null */
    const char *note;          /* NULL: null */
    const char *recorded_by;   /* the actor's name; NULL for doses older than the column */
    struct store_time recorded_at;
    const char *override_rule;   /* the rules an override broke, comma-separated; NULL: none */
    const char *override_reason; /* NULL: null */
    struct store_time updated_at;
    int64_t person_id; /* 0: none */
};

/* Which doses a list shows: taken ones only (the reference's shape, which
 * cannot tell a skipped dose from a taken one), or skipped ones too. Doses
 * entered in error are never listed. */
enum store_dose_view { STORE_VIEW_TAKEN, STORE_VIEW_HISTORY };

/* Newest first (MT_ENOTFOUND for an unknown medication). */
int store_doses_history(struct db_conn *c, struct mt_arena *a, int64_t medication_id,
                        enum store_dose_view view, int64_t skip, int64_t limit,
                        struct store_dose **out, size_t *n, struct mt_err *err);
/* Oldest first, in w (MT_ENOTFOUND for an unknown medication). */
int store_doses_in_window(struct db_conn *c, struct mt_arena *a, int64_t medication_id,
                          enum store_dose_view view, const struct store_window *w,
                          struct store_dose **out, size_t *n, struct mt_err *err);
/* Doses of deleted medications with that name, newest first (possibly
 * none); with a filter that is not all, only doses that name a person it
 * lets through (a dose that names nobody is for everyone-filters only). */
int store_doses_deleted(struct db_conn *c, struct mt_arena *a, const struct store_person_filter *f,
                        const char *name, enum store_dose_view view, int64_t skip, int64_t limit,
                        struct store_dose **out, size_t *n, struct mt_err *err);
/* The reference's DELETE: the dose is marked entered in error with the
 * reason "deleted" (store_dose_mark_error), never removed. MT_ENOTFOUND
 * "Dose not found" also for a dose already entered in error. */
int store_dose_delete(struct db_conn *c, const struct store_actor *actor, struct mt_arena *a,
                      int64_t id, struct mt_err *err);
/* The person whose dose it is (its medication's, or the one a dose of a
 * deleted medication names); *has_person is false for a dose that names
 * nobody. MT_ENOTFOUND "Dose not found". */
int store_dose_person(struct db_conn *c, int64_t id, bool *has_person, int64_t *person_id,
                      struct mt_err *err);

struct store_summary_entry {
    bool deleted;          /* doses of a deleted medication, grouped by name */
    int64_t medication_id; /* live medications only */
    const char *name;
    int64_t max_doses;        /* 0 for deleted medications */
    struct store_time *times; /* in recording order */
    size_t n_times;
};

/* One query: every medication (of person_id when has_person) with its doses
 * in w, then the doses in w of deleted medications (those person_id took,
 * when has_person) grouped by name. With a filter that is not all, only
 * what belongs to persons it lets through (nothing when it does not let
 * person_id through; doses of deleted medications that name nobody are
 * left out). */
int store_daily_summary(struct db_conn *c, struct mt_arena *a, const struct store_person_filter *f,
                        bool has_person, int64_t person_id, const struct store_window *w,
                        struct store_summary_entry **out, size_t *n, struct mt_err *err);

/* What the printable form needs: the person (when has_person) and their
 * medications, or everyone's (everyone f lets through). MT_ENOTFOUND
 * "Person not found" (also for a person f does not let through), and "No
 * medications found" when the list is empty. */
struct store_report {
    bool has_person;
    struct store_person person;
    struct store_medication *meds;
    size_t n_meds;
};
int store_report_data(struct db_conn *c, struct mt_arena *a, const struct store_person_filter *f,
                      bool has_person, int64_t person_id, struct store_report *out,
                      struct mt_err *err);

/* The computed "name" of a person: "first last", or first alone. In a. */
const char *store_person_name(struct mt_arena *a, const struct store_person *p);

#endif
