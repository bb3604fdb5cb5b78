/* Internals shared by the files of src/schema/: a snapshot of MediTrack's
 * tables as the database reports them (columns, indexes, foreign keys), the
 * revision levels the take-over reasons with, and the repairs that both the
 * take-over and the repair hook use. Nothing outside src/schema/ includes
 * this header. */
#ifndef MT_SCHEMA_SCHEMA_INT_H
#define MT_SCHEMA_SCHEMA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/schema.h"

/* MediTrack's tables, in the order their foreign keys point (a table refers
 * only to tables before it). */
enum st_table { ST_PERSONS, ST_MEDICATIONS, ST_DOSES, ST_N };

/* The revisions whose table shapes the take-over can tell apart, oldest
 * first. SL_588F has the shapes of SL_F416 (it changes data only), SL_2574
 * those of SL_44FC (it moves PostgreSQL sequences only); SL_5D2E adds the
 * access-control tables, which it may create again (they are only checked,
 * see st_auth_tables); SL_8C4D adds the dosing columns and tables (see
 * st_dosing_tables), which only SQLite cannot add twice; SL_3A7C adds
 * persons.timezone and the tables of schedules and reminders (see
 * st_sched_tables), the column again only on PostgreSQL and MariaDB. */
enum st_level {
    SL_NONE = -1,
    SL_F416,
    SL_588F,
    SL_35BD,
    SL_0358,
    SL_D9C3,
    SL_44FC,
    SL_2574,
    SL_AB48,
    SL_5D2E,
    SL_8C4D,
    SL_3A7C,
    SL_N,
};

/* "persons", "medications", "doses". */
const char *st_table_name(enum st_table t);
/* The revision id of a level ("f4162eb18a25", ...). */
const char *st_level_rev(enum st_level l);

/* One table as the database reports it. Arrays are malloc'ed. */
struct st_shape {
    bool exists;
    struct db_column *cols;
    size_t ncols;
    struct db_index *ix;
    size_t nix;
    struct db_fkey *fk;
    size_t nfk;
};

/* The access-control tables of 5d2e8c1a9f37, parents first, with the
 * columns that revision gives them. They are MediTrack's, but no revision
 * before it touches them and it creates each only when missing, so the
 * take-over only makes sure that a table of that name is really this one
 * (adopt.c). */
enum { ST_N_AUTH = 6, ST_AUTH_MAX_COLS = 12 };
struct st_auth_table {
    const char *name;
    const char *columns[ST_AUTH_MAX_COLS]; /* NULL-terminated */
};
extern const struct st_auth_table st_auth_tables[ST_N_AUTH];

/* The tables of 8c4d2b7e1f05 (dosing rules, idempotency keys, the audit
 * trail). MediTrack's: never listed as someone else's. */
enum { ST_N_DOSING = 6 };
extern const char *const st_dosing_tables[ST_N_DOSING];

/* The tables of 3a7c5e9b1d42 (schedules, calendar tokens, reminder
 * settings, channels, reminder slots, deliveries). MediTrack's too. */
enum { ST_N_SCHED = 6 };
extern const char *const st_sched_tables[ST_N_SCHED];

/* MediTrack's tables, their leftover _alembic_tmp_* copies, and every other
 * table of the database. */
struct st_scan {
    enum db_dialect dialect;
    bool full; /* indexes and foreign keys were read too */
    struct st_shape t[ST_N];
    bool tmp[ST_N];           /* _alembic_tmp_<table> exists */
    bool auth[ST_N_AUTH];     /* st_auth_tables[i] exists (its columns are not read) */
    bool dosing[ST_N_DOSING]; /* st_dosing_tables[i] exists */
    bool sched[ST_N_SCHED];   /* st_sched_tables[i] exists */
    bool version_table;       /* alembic_version exists */
    struct mt_strlist others; /* tables that are not MediTrack's (never touched) */
};

/* Reads the snapshot; with full false only the columns (indexes and foreign
 * keys stay empty: reading them is slow on MariaDB's information_schema).
 * Release with st_scan_release (also after a failure). */
int st_scan_load(struct db_conn *c, bool full, struct st_scan *s, struct mt_err *err);
void st_scan_release(struct st_scan *s);

/* Borrowed lookups into a snapshot; NULL when absent. */
const struct db_column *st_col(const struct st_scan *s, enum st_table t, const char *name);
/* The foreign key of t on column, or NULL. */
const struct db_fkey *st_fk(const struct st_scan *s, enum st_table t, const char *column);
/* Whether t has an index on exactly these columns, in this order. */
bool st_has_index(const struct st_scan *s, enum st_table t, const char *const *cols, size_t n);
static inline bool st_has(const struct st_scan *s, enum st_table t, const char *name)
{
    return st_col(s, t, name) != NULL;
}

/* Makes sure persons has exactly one default person, creating "Default
 * User" when persons is empty and create_if_empty is set. *id (may be NULL)
 * receives the default person's id, or 0 when there is none. Writes through
 * c (the caller decides the transaction) and logs every change. Needs the
 * persons table (name or first_name shape). */
int st_default_person(struct db_conn *c, const struct st_scan *s, bool create_if_empty, int64_t *id,
                      struct mt_err *err);

/* ---- the take-over: adopt.c plans it, rebuild.c carries the plan out ---- */

/* The steps of a take-over (struct schema_plan's steps), in the order they
 * are applied. */
enum {
    ST_STEP_CREATE_MEDICATIONS = 1u << 0,
    ST_STEP_CREATE_DOSES = 1u << 1,
    ST_STEP_CREATE_PERSONS = 1u << 2,
    ST_STEP_ADD_COLUMNS = 1u << 3,
    ST_STEP_ADD_PERSON_ID = 1u << 4,
    ST_STEP_DOSES_0358 = 1u << 5,
    ST_STEP_PERSONS_SPLIT = 1u << 6,
    ST_STEP_TAKEN_AT = 1u << 7,
    ST_STEP_FK_NAMES = 1u << 8,
    ST_STEP_DOSES_PERSON = 1u << 9,
};

/* The names MediTrack gives its foreign keys; MariaDB refers to them by name
 * in the revisions (DROP FOREIGN KEY IF EXISTS ...). */
struct st_fk_name {
    enum st_table table;
    const char *column;
    const char *name;
    const char *ref; /* "medications (id)" */
};
extern const struct st_fk_name st_fk_names[];
extern const size_t st_n_fk_names;

/* Columns every revision had (apart from the required ones) and that a
 * take-over adds, nullable, when a hand-made table lacks them. */
struct st_optional_column {
    enum st_table table;
    const char *name;
    const char *type[MIG_N_DIALECTS];
};
extern const struct st_optional_column st_optional_columns[];
extern const size_t st_n_optional_columns;

/* MariaDB: a foreign key of ours under another name (a hand-made table gets
 * doses_ibfk_1) would survive the revisions next to the one they add. */
bool st_fk_misnamed(const struct st_scan *s, const struct st_fk_name *f);

/* Markers of a revision's shapes, which rebuild.c checks again before each
 * step so that a step already done (MariaDB runs them one by one) is not
 * done twice. */
/* doses.medication_name, medication_id nullable with ON DELETE SET NULL
 * (03586fa62d43). */
bool st_doses_0358_done(const struct st_scan *s);
/* doses.taken_at is not the nullable UTC timestamp of d9c3da4e9c05. */
bool st_taken_at_needs_fix(const struct st_scan *s);
/* SQLite, doses.person_id exists (see adopt.c). */
bool st_sqlite_dose_person(const struct st_scan *s);
/* doses.person_id with its foreign key and index (ab48726466af). */
bool st_has_ab48(const struct st_scan *s);

#endif
