/* Medication schedules and person time zones in the database (issue 16,
 * docs/schedules.md): reading and writing one medication's schedule (the
 * columns of medication_schedules; no row = taken as needed), a person's own
 * zone (persons.timezone), and the lists of scheduled medications of one
 * person or of every person that the due view, adherence, the calendar feed
 * and the reminder planner expand. Rows and strings live in the caller's
 * arena; nothing here frees. Owner: the store module. */
#ifndef MT_STORE_SCHEDULES_H
#define MT_STORE_SCHEDULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/schedule.h"
#include "db/db.h"
#include "store/store.h"

/* A scheduled medication with what expanding its slots needs. */
struct store_scheduled {
    int64_t medication_id;
    int64_t person_id;
    const char *medication_name;
    const char *dosage;
    const char *timezone; /* the person's IANA zone; NULL: the server's TIMEZONE */
    /* When the schedule (or the person's zone) last changed; 0 unknown.
     * Slots before it belong to an earlier version and are never planned. */
    int64_t updated_at_us;
    /* When the medication was created; 0 unknown. A schedule without
     * start_date begins on that local day in the views (api/schedules.c). */
    int64_t created_at_us;
    /* False when the stored columns are not a schedule this program writes
     * (changed by hand): sched is then zero and the row should be skipped
     * and reported, never guessed at. */
    bool valid;
    struct mt_schedule sched;
};

/* The schedule of a medication: *has false (and out untouched) when it has
 * none (as needed). MT_EINVAL when the stored columns are corrupt. Does not
 * check that the medication exists. */
int store_schedule_get(struct db_conn *c, int64_t medication_id, bool *has, struct mt_schedule *out,
                       struct mt_err *err);

/* Replaces the medication's schedule (s NULL: removes it, the medication is
 * then taken as needed). Call it inside the caller's write transaction (the
 * medication's update, with its audit row); runs a DELETE and an INSERT, so
 * it works alike on every dialect. */
int store_schedule_put(struct db_conn *c, int64_t medication_id, const struct mt_schedule *s,
                       struct mt_err *err);

/* The scheduled medications of person_id (has_person) or of every person,
 * ordered by person then medication id, with each person's zone. */
int store_schedules_list(struct db_conn *c, struct mt_arena *a, bool has_person, int64_t person_id,
                         struct store_scheduled **out, size_t *n, struct mt_err *err);

/* A taken or skipped dose of a scheduled medication, as matching it to
 * the slots needs it. */
struct store_sched_dose {
    int64_t medication_id;
    int64_t dose_id;
    int64_t taken_at_us; /* 0 when !parsed */
    bool parsed;         /* false: taken_at is not a time we read, the row matches nothing */
    bool skipped;
};

/* The taken and skipped doses of person_id's scheduled medications with
 * taken_at in w, ordered by medication id, then taken_at, then id, in one
 * query (into an array in a). The due view, adherence and the calendar
 * feed read a person's doses with it once, not once per medication. */
int store_schedule_doses(struct db_conn *c, struct mt_arena *a, int64_t person_id,
                         const struct store_window *w, struct store_sched_dose **out, size_t *n,
                         struct mt_err *err);

/* The person's own zone name into *tz (in a; NULL when unset).
 * MT_ENOTFOUND "Person not found". */
int store_person_timezone(struct db_conn *c, struct mt_arena *a, int64_t person_id, const char **tz,
                          struct mt_err *err);

/* ---- calendar-feed tokens (calendar_tokens; docs/schedules.md) ---- */

/* Replaces the person's token by the one whose hex SHA-256 is hash (one
 * token per person: a new one revokes the old). MT_ENOTFOUND "Person not
 * found". Its own write transaction. */
int store_calendar_token_set(struct db_conn *c, int64_t person_id, const char *hash,
                             struct mt_err *err);
/* Revokes the person's token; *had says whether there was one. */
int store_calendar_token_delete(struct db_conn *c, int64_t person_id, bool *had,
                                struct mt_err *err);
/* The stored hash of the person's token into *hash (in a), NULL when none. */
int store_calendar_token_hash(struct db_conn *c, struct mt_arena *a, int64_t person_id,
                              const char **hash, struct mt_err *err);

#endif
