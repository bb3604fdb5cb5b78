/* The report queries beyond store_report_data (store.h): the doses to print
 * on a prefilled form or to export, streamed row by row so that a long
 * range never has to fit in the request arena, and the names of the people
 * whose medications a household-wide form lists. Implemented in
 * store/reports.c; used by api/reports.c. Owner: the report module. */
#ifndef MT_STORE_REPORTS_H
#define MT_STORE_REPORTS_H

#include "store/store.h"

/* A dose as a report shows it. Borrowed: valid during the callback only. */
struct store_report_dose {
    int64_t id;
    bool deleted;                  /* its medication was deleted (medication_id is NULL) */
    int64_t medication_id;         /* 0 when deleted */
    const char *medication_name;   /* never NULL */
    const char *dosage;            /* NULL for deleted medications */
    int64_t taken_us;              /* the instant, UTC */
    enum store_dose_status status; /* taken, or skipped (STORE_VIEW_HISTORY) */
    const char *status_reason;     /* NULL: none */
    const char *note;              /* NULL: none */
    const char *recorded_by;       /* NULL: not recorded (older doses) */
    const char *override_rule;     /* the rules an override broke; NULL: none */
    const char *override_reason;   /* NULL: none */
};

/* Called once per row; a non-zero return stops the walk, and the store
 * function returns it (fn fills err when it returns -1). fn must not use
 * the connection: the rows are still streaming from the server
 * (db_query_stream), which refuses every other statement meanwhile. fn may
 * take its time (e.g. write to a slow client); the database waits. */
typedef int (*store_report_dose_fn)(const struct store_report_dose *d, void *ctx,
                                    struct mt_err *err);

/* One query: the doses taken in w, oldest first, of the medications of
 * person_id and of deleted medications whose doses name person_id (without
 * has_person: every medication's, and every deleted medication's; only
 * those of persons f lets through, when it is not all); with view
 * STORE_VIEW_HISTORY also the skipped ones, never those entered in error.
 * Rows whose taken_at cannot be read as a timestamp are skipped and counted
 * in *unreadable (may be NULL).
 * The rows are streamed (the client holds one at a time); an error met
 * after some rows (a lost connection, a timeout) ends the walk with -1. */
int store_report_doses(struct db_conn *c, struct mt_arena *a, const struct store_person_filter *f,
                       bool has_person, int64_t person_id, enum store_dose_view view,
                       const struct store_window *w,
                       store_report_dose_fn fn, void *ctx, size_t *unreadable, struct mt_err *err);

/* A person who owns at least one medication, for the household-wide form. */
struct store_report_owner {
    int64_t id;
    const char *name; /* "first last", in the arena */
};

/* One query: every person with medications (that f lets through), id
 * order. Rows in a. */
int store_report_owners(struct db_conn *c, struct mt_arena *a, const struct store_person_filter *f,
                        struct store_report_owner **out, size_t *n, struct mt_err *err);

#endif
