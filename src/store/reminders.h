/* Notification channels, reminder settings, reminder slots and deliveries in
 * the database (issue 16, docs/reminders.md): the SQL of the channels API
 * (store/channels.c) and of the reminder worker (store/reminders.c): planning
 * slots and deliveries with inserts that ignore duplicates of their unique
 * keys (so every replica may plan), claiming due deliveries under a lease
 * (FOR UPDATE SKIP LOCKED on PostgreSQL and MariaDB, the single writer on
 * SQLite), recording outcomes, and the delivery log. Rows and strings live
 * in the caller's arena. Owner: the store module. */
#ifndef MT_STORE_REMINDERS_H
#define MT_STORE_REMINDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "store/store.h"

/* ---- channels (store/channels.c) ---- */

struct store_channel {
    int64_t id;
    bool has_person; /* exactly one of person and account */
    int64_t person_id;
    bool has_account;
    int64_t account_id;
    const char *type; /* ntfy | gotify | webhook | email */
    const char *url;  /* NULL for email */
    const char *email_to;
    const char *secret_sealed; /* base64 sealed JSON; NULL: none */
    bool enabled;
    struct store_time created_at;
};

/* Inserts ch (id and created_at are set on success). MT_ENOTFOUND "Person
 * not found" when the person does not exist. */
int store_channel_create(struct db_conn *c, struct store_channel *ch, struct mt_err *err);
/* One channel; MT_ENOTFOUND "Channel not found". */
int store_channel_get(struct db_conn *c, struct mt_arena *a, int64_t id, struct store_channel *out,
                      struct mt_err *err);
/* The channels of a person (account false) or of an account, by id. */
int store_channels_list(struct db_conn *c, struct mt_arena *a, bool account, int64_t owner_id,
                        struct store_channel **out, size_t *n, struct mt_err *err);
/* Deletes a channel with its deliveries. MT_ENOTFOUND "Channel not found". */
int store_channel_delete(struct db_conn *c, int64_t id, struct mt_err *err);
/* Whether any enabled channel exists (the worker idles otherwise). */
int store_channels_any(struct db_conn *c, bool *any, struct mt_err *err);

/* ---- reminder settings (store/channels.c) ---- */

struct store_reminder_settings {
    bool has_repeat; /* repeat_minutes set */
    int64_t repeat_minutes;
    int64_t max_repeats;
    const char *quiet_start, *quiet_end; /* "HH:MM" or NULL (both or neither) */
    bool has_escalate;
    int64_t escalate_after_minutes;
    struct store_time updated_at; /* not present: never stored (the defaults) */
};

/* The person's settings, or the defaults (nothing repeated, no quiet
 * hours, no escalation) when none are stored. MT_ENOTFOUND "Person not
 * found". */
int store_reminder_settings_get(struct db_conn *c, struct mt_arena *a, int64_t person_id,
                                struct store_reminder_settings *out, struct mt_err *err);
/* Replaces the person's settings (updated_at is set). */
int store_reminder_settings_put(struct db_conn *c, int64_t person_id,
                                struct store_reminder_settings *s, struct mt_err *err);

/* A person's settings and own zone, as a planning round of the worker
 * reads them. */
struct store_remind_person {
    int64_t person_id;
    const char *timezone;              /* the person's IANA zone; NULL: the server's */
    struct store_reminder_settings rs; /* the defaults when none are stored; no updated_at */
};

/* In one query, every person with a slot whose slot_at is in [from_us,
 * to_us], with their settings and zone, ordered by person id (in a). */
int store_remind_persons(struct db_conn *c, struct mt_arena *a, int64_t from_us, int64_t to_us,
                         struct store_remind_person **out, size_t *n, struct mt_err *err);

/* ---- deliveries: the log (store/reminders.c) ---- */

struct store_delivery {
    int64_t id;
    bool has_slot;
    int64_t slot_id;
    int64_t channel_id;
    const char *channel_type;
    const char *kind; /* reminder | repeat | escalation | test */
    int64_t seq;
    const char *status; /* pending | sending | sent | failed | missed */
    struct store_time due_at, next_attempt_at, sent_at, created_at;
    int64_t attempts;
    const char *last_error;
    /* The slot, when has_slot. */
    int64_t person_id, medication_id;
    struct store_time slot_at;
    const char *slot_state;
    int64_t channel_person_id; /* the channel's person; 0 for an account's channel */
};

/* Newest first; only what f lets through (by the slot's or the channel's
 * person; account channels' tests only for f->all). */
int store_deliveries_list(struct db_conn *c, struct mt_arena *a,
                          const struct store_person_filter *f, int64_t skip, int64_t limit,
                          struct store_delivery **out, size_t *n, struct mt_err *err);
/* A test delivery of channel_id, already sent or failed (the channels API
 * sends it at once): its id into *id. */
int store_delivery_test_record(struct db_conn *c, int64_t channel_id, bool sent,
                               const char *last_error, int64_t *id, struct mt_err *err);

/* ---- the worker (store/reminders.c) ---- */

/* One planned slot. */
struct store_plan_slot {
    int64_t person_id, medication_id, slot_at_us;
};

/* Inserts the slots that are not there yet (duplicates of (medication_id,
 * slot_at) are ignored). Each is 'open', or 'missed' when its slot_at is
 * before missed_before_us. */
int store_remind_plan_slots(struct db_conn *c, const struct store_plan_slot *s, size_t n,
                            int64_t missed_before_us, struct mt_err *err);

/* Removes a planned slot that its schedule no longer has (the schedule was
 * changed or removed): only while it is open, after after_us, and nothing
 * was sent or is being sent for it; its pending deliveries go with it.
 * *removed says whether it went. */
int store_remind_slot_unplan(struct db_conn *c, int64_t slot_id, int64_t after_us, bool *removed,
                             struct mt_err *err);

/* The planner's housekeeping at now_us, in one transaction each step:
 * snoozed slots whose snooze ended reopen; open and snoozed slots older
 * than missed_before_us, and pending deliveries due before it, become
 * missed; reminder deliveries are inserted (duplicates ignored) for the
 * open slots in [from_us, to_us] and every enabled channel of their person
 * that existed at the slot. */
int store_remind_housekeep(struct db_conn *c, int64_t now_us, int64_t missed_before_us,
                           int64_t from_us, int64_t to_us, struct mt_err *err);

/* A slot the planner looks at for doses, repeats and escalation. */
struct store_open_slot {
    int64_t id, person_id, medication_id;
    int64_t slot_at_us;
    const char *state; /* open | snoozed | done | skipped | missed */
    bool has_snooze;
    int64_t snoozed_until_us;
    int64_t repeats_sent;
    bool escalated;
    int64_t last_due_us; /* due_at of its latest reminder or repeat; slot_at when none */
    bool has_sent;
    int64_t last_sent_us; /* sent_at of its latest sent reminder or repeat */
    bool unsent;          /* a reminder or repeat of it is pending or sending */
};

/* In the caller's write transaction, when a medication's schedule was
 * created, changed or removed: cancels its open and snoozed slots after
 * now that nothing was sent for, with their pending deliveries (the
 * worker plans the slots of the new schedule in its next round). */
int store_remind_schedule_changed(struct db_conn *c, int64_t medication_id, struct mt_err *err);

/* In the caller's write transaction, when a person's zone changed: the same
 * for every medication of the person, and the schedules' updated_at is
 * set to now, so that the worker never plans a slot of the new zone's
 * times before the change. */
int store_remind_zone_changed(struct db_conn *c, int64_t person_id, struct mt_err *err);

/* Every slot with slot_at in [from_us, to_us], ordered by medication and
 * slot_at (the dose matching needs each slot's successor). */
int store_remind_slots(struct db_conn *c, struct mt_arena *a, int64_t from_us, int64_t to_us,
                       struct store_open_slot **out, size_t *n, struct mt_err *err);

/* A dose or skip row that may close a slot. */
struct store_slot_dose {
    int64_t medication_id;
    int64_t taken_at_us;
    bool skipped;
};
/* The taken and skipped doses with taken_at in [from_us, to_us] of
 * medications that have open or snoozed slots, ordered by medication and
 * taken_at. */
int store_remind_doses(struct db_conn *c, struct mt_arena *a, int64_t from_us, int64_t to_us,
                       struct store_slot_dose **out, size_t *n, struct mt_err *err);

/* Closes an open or snoozed slot as "done" or "skipped" (no-op otherwise). */
int store_remind_slot_close(struct db_conn *c, int64_t slot_id, const char *state,
                            struct mt_err *err);

/* Plans repeat number seq of the slot, due at due_us, for every enabled
 * channel of its person, and counts it on the slot (only when the slot
 * still has seq - 1 repeats: a replica that planned it first wins, the
 * others change nothing). */
int store_remind_plan_repeat(struct db_conn *c, int64_t slot_id, int64_t seq, int64_t due_us,
                             struct mt_err *err);

/* Plans the escalation of the slot to the account channels of the
 * person's carers (carer accounts granted the person) and of every admin,
 * due at due_us, and marks the slot escalated. */
int store_remind_plan_escalation(struct db_conn *c, int64_t slot_id, int64_t person_id,
                                 int64_t due_us, struct mt_err *err);

/* Claims up to max due deliveries (pending, or sending with an expired
 * lease) for owner until lease_until_us: their ids into ids (room for max),
 * count into *n. */
int store_remind_claim(struct db_conn *c, const char *owner, int64_t now_us, int64_t lease_until_us,
                       int64_t *ids, size_t max, size_t *n, struct mt_err *err);

/* What sending one claimed delivery needs. */
struct store_send {
    int64_t id;
    const char *kind;
    int64_t seq;
    int64_t due_us;
    int64_t attempts; /* including this one */
    int64_t channel_id;
    const char *channel_type, *url, *email_to, *secret_sealed;
    bool channel_enabled;
    bool has_slot;
    int64_t slot_id, person_id, medication_id, slot_at_us;
    const char *slot_state;
    const char *medication_name, *dosage, *person_name, *person_timezone;
    const char *quiet_start, *quiet_end; /* the person's, or NULL */
    bool has_repeat;
    int64_t repeat_minutes;
    bool has_snooze; /* the slot's snoozed_until (kept after a snooze ended) */
    int64_t snoozed_until_us;
};
/* MT_ENOTFOUND when the delivery is gone (its channel was deleted). */
int store_remind_load(struct db_conn *c, struct mt_arena *a, int64_t id, struct store_send *out,
                      struct mt_err *err);

/* Records the outcome of a claimed delivery, if owner still holds it:
 * status "sent" (sent_at now_us), "failed" (final), "missed" (not sent), or
 * "pending" (to be tried again at next_us; attempts_back undoes the claim's
 * count when nothing was tried, e.g. held for quiet hours). *held false
 * when the lease was lost meanwhile. last_error may be NULL. */
/* Extends the lease of a delivery this owner still holds (status
 * 'sending') to lease_until_us, just before its send: *held is false when
 * the lease ran out and another replica took the delivery over, and then
 * the caller must not send it. */
int store_remind_renew(struct db_conn *c, int64_t id, const char *owner, int64_t lease_until_us,
                       bool *held, struct mt_err *err);

/* Gives a claimed delivery back untouched (status pending, the claim's
 * attempt not counted, no lease) when this owner still holds it: at
 * shutdown, for the rest of a batch and a send the stop cancelled. */
int store_remind_release(struct db_conn *c, int64_t id, const char *owner, struct mt_err *err);

int store_remind_finish(struct db_conn *c, int64_t id, const char *owner, const char *status,
                        int64_t now_us, int64_t next_us, bool attempts_back, const char *last_error,
                        bool *held, struct mt_err *err);

/* Snoozes an open or snoozed slot until until_us. MT_ENOTFOUND "Reminder
 * not found"; MT_ECONFLICT when the slot is done, skipped or missed. */
int store_remind_snooze(struct db_conn *c, int64_t slot_id, int64_t until_us, struct mt_err *err);

/* The same for a slot of person person_id only (the signed-in snooze of the
 * due list): a slot of another person is MT_ENOTFOUND "Reminder not found",
 * as a missing one. */
int store_remind_snooze_of(struct db_conn *c, int64_t person_id, int64_t slot_id, int64_t until_us,
                           struct mt_err *err);

/* ---- the due list (store/reminders.c) ---- */

/* The reminder the worker planned for one (medication, slot instant). */
struct store_slot_reminder {
    int64_t id, medication_id, slot_at_us;
    const char *state; /* open | snoozed | done | skipped | missed */
    bool has_snooze;
    int64_t snoozed_until_us; /* when has_snooze; kept after a snooze ended */
};

/* Every planned slot of the person with slot_at in [from_us, to_us], in one
 * query, ordered by medication and slot_at; rows and strings in a. */
int store_remind_person_slots(struct db_conn *c, struct mt_arena *a, int64_t person_id,
                              int64_t from_us, int64_t to_us, struct store_slot_reminder **out,
                              size_t *n, struct mt_err *err);

#endif
