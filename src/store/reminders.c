/* The SQL of the reminder worker and of the delivery log
 * (store/reminders.h). Planning is idempotent: slots and deliveries are
 * inserted with the dialect's "ignore a duplicate key" form (INSERT OR IGNORE,
 * ON CONFLICT DO NOTHING, INSERT IGNORE), so any number of replicas may plan
 * the same instants and the unique keys keep one row each. Sending is
 * exclusive: a delivery is claimed in a short transaction that locks it
 * (FOR UPDATE SKIP LOCKED on PostgreSQL and MariaDB, so replicas claim
 * different rows without waiting on each other; SQLite's one writer does
 * the same) and stamps a lease; only the lease holder records the outcome.
 * PostgreSQL needs the types of parameters in a SELECT list spelled out,
 * hence the casts in its variants. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "store/reminders.h"
#include "store/store_int.h"

/* ---- statements ---- */

/* Planned slots go in multi-row INSERTs: the head, then one row of
 * SLOT_PARAMS parameters per slot, then the dialect's tail. */
#define SLOT_COLS "(person_id, medication_id, slot_at, state, repeats_sent, escalated) "
static const char sql_slot_sqlite[] = "INSERT OR IGNORE INTO reminder_slots " SLOT_COLS "VALUES ";
static const char sql_slot_pg[] = "INSERT INTO reminder_slots " SLOT_COLS "VALUES ";
static const char sql_slot_my[] = "INSERT IGNORE INTO reminder_slots " SLOT_COLS "VALUES ";
static const char sql_slot_row[] = "(?, ?, ?, ?, 0, ?)";
static const char sql_slot_tail_pg[] = " ON CONFLICT DO NOTHING";
enum { SLOT_PARAMS = 5 };
/* Most slots one INSERT (and one transaction) carries, below what
 * db_max_params allows, so that each transaction (and MariaDB's gap locks)
 * stays short. */
enum { SLOT_ROWS_MAX = 256 };

static const char sql_unplan[] =
    "DELETE FROM reminder_slots WHERE id = ? AND state = 'open' AND slot_at > ? "
    "AND NOT EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.slot_id = ? "
    "AND d.status IN ('sending', 'sent'))";
/* The future slots of a changed schedule, or of a person whose zone
 * changed, and their pending deliveries (ON DELETE CASCADE). */
#define CANCEL_FUTURE                                                                              \
    "DELETE FROM reminder_slots WHERE state IN ('open', 'snoozed') AND slot_at > ? "               \
    "AND NOT EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.slot_id = reminder_slots.id " \
    "AND d.status IN ('sending', 'sent')) "
static const char sql_cancel_med[] = CANCEL_FUTURE "AND medication_id = ?";
static const char sql_cancel_person[] = CANCEL_FUTURE "AND person_id = ?";
static const char sql_touch_schedules[] =
    "UPDATE medication_schedules SET updated_at = ? "
    "WHERE medication_id IN (SELECT id FROM medications WHERE person_id = ?)";
static const char sql_reopen[] =
    "UPDATE reminder_slots SET state = 'open' WHERE state = 'snoozed' AND snoozed_until <= ?";
static const char sql_slots_missed[] =
    "UPDATE reminder_slots SET state = 'missed' WHERE state IN ('open', 'snoozed') AND slot_at < ?";
static const char sql_deliveries_missed[] =
    "UPDATE notification_deliveries SET status = 'missed', last_error = ? "
    "WHERE status = 'pending' AND due_at < ?";

#define DEL_COLS                                                                                   \
    "(slot_id, channel_id, kind, seq, status, due_at, attempts, next_attempt_at, created_at) "
/* Reminders for the open slots in a range and the person channels that
 * existed at the slot. */
#define REMINDERS_SELECT(ts)                                                                       \
    "SELECT s.id, ch.id, 'reminder', 0, 'pending', s.slot_at, 0, s.slot_at, " ts " "               \
    "FROM reminder_slots s JOIN notification_channels ch ON ch.person_id = s.person_id "           \
    "WHERE ch.enabled = ? AND s.state = 'open' AND s.slot_at >= ? AND s.slot_at <= ? "             \
    "AND ch.created_at <= s.slot_at"
static const char sql_rem_sqlite[] =
    "INSERT OR IGNORE INTO notification_deliveries " DEL_COLS REMINDERS_SELECT("?");
static const char sql_rem_pg[] = "INSERT INTO notification_deliveries " DEL_COLS REMINDERS_SELECT(
    "CAST(? AS TIMESTAMP WITH TIME ZONE)") " ON CONFLICT DO NOTHING";
static const char sql_rem_my[] =
    "INSERT IGNORE INTO notification_deliveries " DEL_COLS REMINDERS_SELECT("?");

#define REPEAT_SELECT(i, ts)                                                                       \
    "SELECT s.id, ch.id, 'repeat', " i ", 'pending', " ts ", 0, " ts ", " ts " "                   \
    "FROM reminder_slots s JOIN notification_channels ch ON ch.person_id = s.person_id "           \
    "WHERE s.id = ? AND ch.enabled = ? AND ch.created_at <= s.slot_at"
static const char sql_rep_sqlite[] =
    "INSERT OR IGNORE INTO notification_deliveries " DEL_COLS REPEAT_SELECT("?", "?");
static const char sql_rep_pg[] = "INSERT INTO notification_deliveries " DEL_COLS REPEAT_SELECT(
    "CAST(? AS INTEGER)", "CAST(? AS TIMESTAMP WITH TIME ZONE)") " ON CONFLICT DO NOTHING";
static const char sql_rep_my[] =
    "INSERT IGNORE INTO notification_deliveries " DEL_COLS REPEAT_SELECT("?", "?");
static const char sql_rep_count[] =
    "UPDATE reminder_slots SET repeats_sent = ? WHERE id = ? AND repeats_sent = ?";

/* Escalations go to the account channels of carers granted the person and
 * of admins (who see every person). */
#define ESCALATE_SELECT(id, ts)                                                                    \
    "SELECT " id ", ch.id, 'escalation', 0, 'pending', " ts ", 0, " ts ", " ts " "                 \
    "FROM notification_channels ch JOIN accounts acc ON acc.id = ch.account_id "                   \
    "WHERE ch.enabled = ? AND acc.enabled = ? AND (acc.role = 'admin' OR (acc.role = 'carer' "     \
    "AND EXISTS (SELECT 1 FROM account_persons ap WHERE ap.account_id = acc.id "                   \
    "AND ap.person_id = ?)))"
static const char sql_esc_sqlite[] =
    "INSERT OR IGNORE INTO notification_deliveries " DEL_COLS ESCALATE_SELECT("?", "?");
static const char sql_esc_pg[] = "INSERT INTO notification_deliveries " DEL_COLS ESCALATE_SELECT(
    "CAST(? AS INTEGER)", "CAST(? AS TIMESTAMP WITH TIME ZONE)") " ON CONFLICT DO NOTHING";
static const char sql_esc_my[] =
    "INSERT IGNORE INTO notification_deliveries " DEL_COLS ESCALATE_SELECT("?", "?");
static const char sql_esc_mark[] = "UPDATE reminder_slots SET escalated = ? WHERE id = ?";

static const char sql_slots[] =
    "SELECT s.id, s.person_id, s.medication_id, s.slot_at, s.state, s.snoozed_until, "
    "s.repeats_sent, s.escalated, (SELECT MAX(d.due_at) FROM notification_deliveries d "
    "WHERE d.slot_id = s.id AND d.kind IN ('reminder', 'repeat')), "
    "(SELECT MAX(d.sent_at) FROM notification_deliveries d "
    "WHERE d.slot_id = s.id AND d.kind IN ('reminder', 'repeat') AND d.status = 'sent'), "
    "(SELECT COUNT(*) FROM notification_deliveries d WHERE d.slot_id = s.id "
    "AND d.kind IN ('reminder', 'repeat') AND d.status IN ('pending', 'sending')) "
    "FROM reminder_slots s WHERE s.slot_at >= ? AND s.slot_at <= ? "
    "ORDER BY s.medication_id, s.slot_at";
static const char sql_doses[] =
    "SELECT d.medication_id, d.taken_at, d.status FROM doses d "
    "WHERE d.taken_at >= ? AND d.taken_at <= ? AND d.status IN ('taken', 'skipped') "
    "AND d.medication_id IN (SELECT s.medication_id FROM reminder_slots s "
    "WHERE s.state IN ('open', 'snoozed')) ORDER BY d.medication_id, d.taken_at";
static const char sql_close[] =
    "UPDATE reminder_slots SET state = ? WHERE id = ? AND state IN ('open', 'snoozed')";

#define CLAIM_SELECT                                                                               \
    "SELECT id FROM notification_deliveries WHERE status IN ('pending', 'sending') "               \
    "AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?) "                      \
    "ORDER BY next_attempt_at, id LIMIT ?"
static const char sql_claim_sqlite[] = CLAIM_SELECT;
static const char sql_claim_locking[] = CLAIM_SELECT " FOR UPDATE SKIP LOCKED";
static const char sql_claim_mark[] =
    "UPDATE notification_deliveries SET status = 'sending', lease_owner = ?, lease_until = ?, "
    "attempts = attempts + 1 WHERE id = ?";

static const char sql_load[] =
    "SELECT d.id, d.kind, d.seq, d.due_at, d.attempts, ch.id, ch.type, ch.url, ch.email_to, "
    "ch.secret_sealed, ch.enabled, d.slot_id, s.person_id, s.medication_id, s.slot_at, s.state, "
    "m.name, m.dosage, p.first_name, p.timezone, rs.quiet_start, rs.quiet_end, "
    "rs.repeat_minutes, s.snoozed_until "
    "FROM notification_deliveries d JOIN notification_channels ch ON ch.id = d.channel_id "
    "LEFT JOIN reminder_slots s ON s.id = d.slot_id "
    "LEFT JOIN medications m ON m.id = s.medication_id "
    "LEFT JOIN persons p ON p.id = s.person_id "
    "LEFT JOIN reminder_settings rs ON rs.person_id = s.person_id WHERE d.id = ?";

static const char sql_renew[] = "UPDATE notification_deliveries SET lease_until = ? "
                                "WHERE id = ? AND lease_owner = ? AND status = 'sending'";

static const char sql_release[] =
    "UPDATE notification_deliveries SET status = 'pending', attempts = attempts - 1, "
    "lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ? AND status = "
    "'sending'";

static const char sql_finish[] =
    "UPDATE notification_deliveries SET status = ?, sent_at = ?, next_attempt_at = ?, "
    "last_error = ?, attempts = attempts - ?, lease_owner = NULL, lease_until = NULL "
    "WHERE id = ? AND lease_owner = ? AND status = 'sending'";

static const char sql_snooze[] = "UPDATE reminder_slots SET state = 'snoozed', snoozed_until = ? "
                                 "WHERE id = ? AND state IN ('open', 'snoozed')";
static const char sql_slot_state[] = "SELECT state FROM reminder_slots WHERE id = ?";
static const char sql_snooze_of[] =
    "UPDATE reminder_slots SET state = 'snoozed', snoozed_until = ? "
    "WHERE id = ? AND person_id = ? AND state IN ('open', 'snoozed')";
static const char sql_slot_state_of[] =
    "SELECT state FROM reminder_slots WHERE id = ? AND person_id = ?";
/* The due list's reminders: the index on (person_id, slot_at) serves it. */
static const char sql_person_slots[] =
    "SELECT id, medication_id, slot_at, state, snoozed_until FROM reminder_slots "
    "WHERE person_id = ? AND slot_at >= ? AND slot_at <= ? ORDER BY medication_id, slot_at";

#define LOG_SELECT                                                                                 \
    "SELECT d.id, d.slot_id, d.channel_id, ch.type, d.kind, d.seq, d.status, d.due_at, "           \
    "d.next_attempt_at, d.sent_at, d.created_at, d.attempts, d.last_error, s.person_id, "          \
    "s.medication_id, s.slot_at, s.state, ch.person_id "                                           \
    "FROM notification_deliveries d JOIN notification_channels ch ON ch.id = d.channel_id "        \
    "LEFT JOIN reminder_slots s ON s.id = d.slot_id "
static const char sql_log_all[] = LOG_SELECT "ORDER BY d.id DESC LIMIT ? OFFSET ?";
static const char sql_log_persons[] =
    LOG_SELECT "WHERE COALESCE(s.person_id, ch.person_id) IN ({persons}) "
               "ORDER BY d.id DESC LIMIT ? OFFSET ?";

static const char sql_test_insert[] =
    "INSERT INTO notification_deliveries (slot_id, channel_id, kind, seq, status, due_at, "
    "attempts, next_attempt_at, sent_at, last_error, created_at) "
    "VALUES (NULL, ?, 'test', 0, ?, ?, 1, ?, ?, ?, ?)";
static const char sql_test_insert_ret[] =
    "INSERT INTO notification_deliveries (slot_id, channel_id, kind, seq, status, due_at, "
    "attempts, next_attempt_at, sent_at, last_error, created_at) "
    "VALUES (NULL, ?, 'test', 0, ?, ?, 1, ?, ?, ?, ?) RETURNING id";

/* ---- helpers ---- */

static int64_t col_us(struct db_stmt *st, int i, bool *present)
{
    size_t len = 0;
    const char *s = db_col_null(st, i) ? NULL : db_col_text(st, i, &len);
    int64_t us = 0;
    *present = s && mt_parse_timestamp(s, len, &us) == 0;
    return *present ? us : 0;
}

/* ---- planning ---- */

struct plan_ctx {
    const struct store_plan_slot *s;
    size_t n;
    int64_t missed_before_us;
    char (*at)[MT_TIME_BUF]; /* the slot_at texts, one per row */
    struct db_param *p;      /* SLOT_PARAMS per row */
};

/* The INSERT of rows slots (malloc'ed; the caller frees). */
static char *plan_sql(struct db_conn *c, size_t rows)
{
    struct mt_buf b;
    mt_buf_init(&b, 0);
    mt_buf_adds(&b, store_sql_locking(c, sql_slot_sqlite, sql_slot_pg, sql_slot_my));
    for (size_t i = 0; i < rows; i++) {
        if (i)
            mt_buf_adds(&b, ", ");
        mt_buf_adds(&b, sql_slot_row);
    }
    mt_buf_adds(&b, store_sql_locking(c, "", sql_slot_tail_pg, ""));
    return mt_buf_detach(&b, NULL);
}

/* One INSERT of all x->n slots: duplicates of rows already there (or
 * planned by another replica meanwhile) are ignored row by row, as the
 * one-row statements did. */
static int plan_slots_tx(struct db_conn *c, void *ctx, struct mt_err *err)
{
    struct plan_ctx *x = ctx;
    for (size_t i = 0; i < x->n; i++) {
        bool missed = x->s[i].slot_at_us < x->missed_before_us;
        struct db_param *p = &x->p[i * SLOT_PARAMS];
        p[0] = DB_INT(x->s[i].person_id);
        p[1] = DB_INT(x->s[i].medication_id);
        p[2] = store_time_param(x->s[i].slot_at_us, x->at[i]);
        p[3] = DB_TEXT(missed ? "missed" : "open");
        p[4] = DB_BOOL(false);
    }
    char *sql = plan_sql(c, x->n);
    int rc = store_exec(c, sql, x->p, x->n * SLOT_PARAMS, err);
    free(sql);
    return rc;
}

int store_remind_plan_slots(struct db_conn *c, const struct store_plan_slot *s, size_t n,
                            int64_t missed_before_us, struct mt_err *err)
{
    size_t per = db_max_params(c) / SLOT_PARAMS;
    if (per > SLOT_ROWS_MAX)
        per = SLOT_ROWS_MAX;
    if (per == 0)
        per = 1;
    if (n == 0)
        return 0;
    size_t cap = n < per ? n : per;
    struct plan_ctx ctx = {.missed_before_us = missed_before_us,
                           .at = mt_xreallocarray(NULL, cap, sizeof(*ctx.at)),
                           .p = mt_xreallocarray(NULL, cap * SLOT_PARAMS, sizeof(*ctx.p))};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i += ctx.n) {
        /* A whole statement, else the largest power of two that is left:
         * a connection caches a handful of statement texts, not one per
         * count. */
        size_t k = n - i;
        if (k >= per) {
            k = per;
        } else {
            size_t p2 = 1;
            while (p2 * 2 <= k)
                p2 *= 2;
            k = p2;
        }
        ctx.s = s + i;
        ctx.n = k;
        rc = store_write_tx(c, plan_slots_tx, &ctx, err);
    }
    free(ctx.at);
    free(ctx.p);
    return rc;
}

int store_remind_slot_unplan(struct db_conn *c, int64_t slot_id, int64_t after_us, bool *removed,
                             struct mt_err *err)
{
    char after[MT_TIME_BUF];
    struct db_param p[] = {DB_INT(slot_id), store_time_param(after_us, after), DB_INT(slot_id)};
    *removed = false;
    if (store_exec(c, sql_unplan, p, MT_ARRAY_LEN(p), err) < 0)
        return -1;
    *removed = db_changes(c) > 0;
    return 0;
}

int store_remind_schedule_changed(struct db_conn *c, int64_t medication_id, struct mt_err *err)
{
    char now[MT_TIME_BUF];
    struct db_param p[] = {store_time_param(mt_now_us(), now), DB_INT(medication_id)};
    return store_exec(c, sql_cancel_med, p, MT_ARRAY_LEN(p), err);
}

int store_remind_zone_changed(struct db_conn *c, int64_t person_id, struct mt_err *err)
{
    char now[MT_TIME_BUF], changed[MT_TIME_BUF];
    struct db_param p[] = {store_time_param(mt_now_us(), now), DB_INT(person_id)};
    if (store_exec(c, sql_cancel_person, p, MT_ARRAY_LEN(p), err) < 0)
        return -1;
    /* Rounded up to a whole second: no slot of the old zone's day at the
     * instant of the change is taken for the new one. */
    int64_t at = store_now_seconds() + MT_USEC_PER_SEC;
    struct db_param t[] = {store_time_param(at, changed), DB_INT(person_id)};
    return store_exec(c, sql_touch_schedules, t, MT_ARRAY_LEN(t), err);
}

struct housekeep_ctx {
    int64_t now_us, missed_before_us, from_us, to_us;
};

static int housekeep_tx(struct db_conn *c, void *ctx, struct mt_err *err)
{
    struct housekeep_ctx *x = ctx;
    char now[MT_TIME_BUF], before[MT_TIME_BUF], from[MT_TIME_BUF], to[MT_TIME_BUF];
    char created[MT_TIME_BUF];
    struct db_param p_now[] = {store_time_param(x->now_us, now)};
    if (store_exec(c, sql_reopen, p_now, 1, err) < 0)
        return -1;
    struct db_param p_before[] = {store_time_param(x->missed_before_us, before)};
    if (store_exec(c, sql_slots_missed, p_before, 1, err) < 0)
        return -1;
    struct db_param p_missed[] = {
        DB_TEXT("not sent: older than REMINDER_HORIZON_MINUTES when it could be sent"),
        p_before[0]};
    if (store_exec(c, sql_deliveries_missed, p_missed, 2, err) < 0)
        return -1;
    struct db_param p_rem[] = {store_time_param(store_now_seconds(), created), DB_BOOL(true),
                               store_time_param(x->from_us, from), store_time_param(x->to_us, to)};
    return store_exec(c, store_sql_locking(c, sql_rem_sqlite, sql_rem_pg, sql_rem_my), p_rem,
                      MT_ARRAY_LEN(p_rem), err);
}

int store_remind_housekeep(struct db_conn *c, int64_t now_us, int64_t missed_before_us,
                           int64_t from_us, int64_t to_us, struct mt_err *err)
{
    struct housekeep_ctx ctx = {
        .now_us = now_us, .missed_before_us = missed_before_us, .from_us = from_us, .to_us = to_us};
    return store_write_tx(c, housekeep_tx, &ctx, err);
}

static int read_open_slot(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    struct store_open_slot *s = item;
    bool oom = false, present = false;
    memset(s, 0, sizeof(*s));
    s->id = db_col_int(st, 0);
    s->person_id = db_col_int(st, 1);
    s->medication_id = db_col_int(st, 2);
    s->slot_at_us = col_us(st, 3, &present);
    s->state = store_col_text(st, 4, a, &oom);
    s->snoozed_until_us = col_us(st, 5, &s->has_snooze);
    s->repeats_sent = db_col_int(st, 6);
    s->escalated = db_col_int(st, 7) != 0;
    s->last_due_us = col_us(st, 8, &present);
    if (!present)
        s->last_due_us = s->slot_at_us;
    s->last_sent_us = col_us(st, 9, &s->has_sent);
    s->unsent = db_col_int(st, 10) > 0;
    if (!s->state)
        s->state = "";
    return oom ? store_oom(err) : 0;
}

int store_remind_slots(struct db_conn *c, struct mt_arena *a, int64_t from_us, int64_t to_us,
                       struct store_open_slot **out, size_t *n, struct mt_err *err)
{
    char from[MT_TIME_BUF], to[MT_TIME_BUF];
    struct db_param p[] = {store_time_param(from_us, from), store_time_param(to_us, to)};
    void *items = NULL;
    if (store_query_rows(c, a, sql_slots, p, 2, sizeof(**out), read_open_slot, &items, n, err) < 0)
        return -1;
    *out = items;
    return 0;
}

static int read_dose(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    (void)a;
    (void)err;
    struct store_slot_dose *d = item;
    bool present = false;
    d->medication_id = db_col_int(st, 0);
    d->taken_at_us = col_us(st, 1, &present);
    const char *status = db_col_text(st, 2, NULL);
    d->skipped = status && strcmp(status, "skipped") == 0;
    return 0;
}

int store_remind_doses(struct db_conn *c, struct mt_arena *a, int64_t from_us, int64_t to_us,
                       struct store_slot_dose **out, size_t *n, struct mt_err *err)
{
    char from[MT_TIME_BUF], to[MT_TIME_BUF];
    struct db_param p[] = {store_time_param(from_us, from), store_time_param(to_us, to)};
    void *items = NULL;
    if (store_query_rows(c, a, sql_doses, p, 2, sizeof(**out), read_dose, &items, n, err) < 0)
        return -1;
    *out = items;
    return 0;
}

int store_remind_slot_close(struct db_conn *c, int64_t slot_id, const char *state,
                            struct mt_err *err)
{
    struct db_param p[] = {DB_TEXT(state), DB_INT(slot_id)};
    return store_exec(c, sql_close, p, 2, err);
}

struct repeat_ctx {
    int64_t slot_id, seq, due_us, person_id;
};

static int repeat_tx(struct db_conn *c, void *ctx, struct mt_err *err)
{
    struct repeat_ctx *x = ctx;
    char due[MT_TIME_BUF];
    struct db_param t = store_time_param(x->due_us, due);
    struct db_param p[] = {DB_INT(x->seq), t, t, t, DB_INT(x->slot_id), DB_BOOL(true)};
    if (store_exec(c, store_sql_locking(c, sql_rep_sqlite, sql_rep_pg, sql_rep_my), p,
                   MT_ARRAY_LEN(p), err) < 0)
        return -1;
    struct db_param u[] = {DB_INT(x->seq), DB_INT(x->slot_id), DB_INT(x->seq - 1)};
    return store_exec(c, sql_rep_count, u, 3, err);
}

int store_remind_plan_repeat(struct db_conn *c, int64_t slot_id, int64_t seq, int64_t due_us,
                             struct mt_err *err)
{
    struct repeat_ctx ctx = {.slot_id = slot_id, .seq = seq, .due_us = due_us};
    return store_write_tx(c, repeat_tx, &ctx, err);
}

static int escalate_tx(struct db_conn *c, void *ctx, struct mt_err *err)
{
    struct repeat_ctx *x = ctx;
    char due[MT_TIME_BUF];
    struct db_param t = store_time_param(x->due_us, due);
    struct db_param p[] = {DB_INT(x->slot_id),  t, t, t, DB_BOOL(true), DB_BOOL(true),
                           DB_INT(x->person_id)};
    if (store_exec(c, store_sql_locking(c, sql_esc_sqlite, sql_esc_pg, sql_esc_my), p,
                   MT_ARRAY_LEN(p), err) < 0)
        return -1;
    struct db_param u[] = {DB_BOOL(true), DB_INT(x->slot_id)};
    return store_exec(c, sql_esc_mark, u, 2, err);
}

int store_remind_plan_escalation(struct db_conn *c, int64_t slot_id, int64_t person_id,
                                 int64_t due_us, struct mt_err *err)
{
    struct repeat_ctx ctx = {.slot_id = slot_id, .due_us = due_us, .person_id = person_id};
    return store_write_tx(c, escalate_tx, &ctx, err);
}

/* ---- claiming and sending ---- */

struct claim_ctx {
    const char *owner;
    int64_t now_us, lease_until_us;
    int64_t *ids;
    size_t max, n;
};

static int claim_tx(struct db_conn *c, void *ctx, struct mt_err *err)
{
    struct claim_ctx *x = ctx;
    char now[MT_TIME_BUF], lease[MT_TIME_BUF];
    struct db_param t = store_time_param(x->now_us, now);
    struct db_param p[] = {t, t, DB_INT((int64_t)x->max)};
    struct db_stmt *st;
    x->n = 0;
    const char *sql = store_sql_locking(c, sql_claim_sqlite, sql_claim_locking, sql_claim_locking);
    if (db_query(c, sql, p, 3, &st, err) < 0)
        return -1;
    int rc;
    while ((rc = db_next(st, err)) == 1 && x->n < x->max)
        x->ids[x->n++] = db_col_int(st, 0);
    db_done(st);
    if (rc < 0)
        return -1;
    for (size_t i = 0; i < x->n; i++) {
        struct db_param u[] = {DB_TEXT(x->owner), store_time_param(x->lease_until_us, lease),
                               DB_INT(x->ids[i])};
        if (store_exec(c, sql_claim_mark, u, 3, err) < 0)
            return -1;
    }
    return 0;
}

int store_remind_claim(struct db_conn *c, const char *owner, int64_t now_us, int64_t lease_until_us,
                       int64_t *ids, size_t max, size_t *n, struct mt_err *err)
{
    struct claim_ctx ctx = {
        .owner = owner, .now_us = now_us, .lease_until_us = lease_until_us, .ids = ids, .max = max};
    *n = 0;
    if (store_write_tx(c, claim_tx, &ctx, err) < 0)
        return -1;
    *n = ctx.n;
    return 0;
}

static int read_send(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    struct store_send *s = item;
    bool oom = false, present = false;
    memset(s, 0, sizeof(*s));
    s->id = db_col_int(st, 0);
    s->kind = store_col_text(st, 1, a, &oom);
    s->seq = db_col_int(st, 2);
    s->due_us = col_us(st, 3, &present);
    s->attempts = db_col_int(st, 4);
    s->channel_id = db_col_int(st, 5);
    s->channel_type = store_col_text(st, 6, a, &oom);
    s->url = store_col_text(st, 7, a, &oom);
    s->email_to = store_col_text(st, 8, a, &oom);
    s->secret_sealed = store_col_text(st, 9, a, &oom);
    s->channel_enabled = db_col_int(st, 10) != 0;
    s->has_slot = !db_col_null(st, 11);
    s->slot_id = db_col_int(st, 11);
    s->person_id = db_col_int(st, 12);
    s->medication_id = db_col_int(st, 13);
    s->slot_at_us = col_us(st, 14, &present);
    s->slot_state = store_col_text(st, 15, a, &oom);
    s->medication_name = store_col_text(st, 16, a, &oom);
    s->dosage = store_col_text(st, 17, a, &oom);
    s->person_name = store_col_text(st, 18, a, &oom);
    s->person_timezone = store_col_text(st, 19, a, &oom);
    s->quiet_start = store_col_text(st, 20, a, &oom);
    s->quiet_end = store_col_text(st, 21, a, &oom);
    s->has_repeat = !db_col_null(st, 22);
    s->repeat_minutes = db_col_int(st, 22);
    s->snoozed_until_us = col_us(st, 23, &s->has_snooze);
    if (!s->kind)
        s->kind = "";
    if (!s->channel_type)
        s->channel_type = "";
    return oom ? store_oom(err) : 0;
}

int store_remind_load(struct db_conn *c, struct mt_arena *a, int64_t id, struct store_send *out,
                      struct mt_err *err)
{
    struct db_param p[] = {DB_INT(id)};
    void *items = NULL;
    size_t n = 0;
    if (store_query_rows(c, a, sql_load, p, 1, sizeof(*out), read_send, &items, &n, err) < 0)
        return -1;
    if (n == 0)
        return mt_fail(err, MT_ENOTFOUND, "delivery %lld is gone", (long long)id);
    *out = *(struct store_send *)items;
    return 0;
}

int store_remind_renew(struct db_conn *c, int64_t id, const char *owner, int64_t lease_until_us,
                       bool *held, struct mt_err *err)
{
    char lease[MT_TIME_BUF];
    struct db_param p[] = {store_time_param(lease_until_us, lease), DB_INT(id), DB_TEXT(owner)};
    *held = false;
    if (store_exec(c, sql_renew, p, MT_ARRAY_LEN(p), err) < 0)
        return -1;
    *held = db_changes(c) > 0;
    return 0;
}

int store_remind_release(struct db_conn *c, int64_t id, const char *owner, struct mt_err *err)
{
    struct db_param p[] = {DB_INT(id), DB_TEXT(owner)};
    return store_exec(c, sql_release, p, MT_ARRAY_LEN(p), err);
}

int store_remind_finish(struct db_conn *c, int64_t id, const char *owner, const char *status,
                        int64_t now_us, int64_t next_us, bool attempts_back, const char *last_error,
                        bool *held, struct mt_err *err)
{
    char sent[MT_TIME_BUF], next[MT_TIME_BUF];
    bool is_sent = strcmp(status, "sent") == 0;
    struct db_param p[] = {DB_TEXT(status),
                           is_sent ? store_time_param(now_us, sent) : DB_NULL,
                           store_time_param(next_us, next),
                           DB_TEXT(last_error),
                           DB_INT(attempts_back ? 1 : 0),
                           DB_INT(id),
                           DB_TEXT(owner)};
    *held = false;
    if (store_exec(c, sql_finish, p, MT_ARRAY_LEN(p), err) < 0)
        return -1;
    *held = db_changes(c) > 0;
    return 0;
}

/* Snoozes slot_id (of person_id when it is not 0): the update, and when it
 * changed nothing the slot's state tells a missing slot (404) from a closed
 * one (409). */
static int snooze(struct db_conn *c, int64_t person_id, int64_t slot_id, int64_t until_us,
                  struct mt_err *err)
{
    if (!store_id_ok(c, slot_id) || (person_id && !store_id_ok(c, person_id)))
        return mt_fail(err, MT_ENOTFOUND, "Reminder not found");
    char until[MT_TIME_BUF];
    struct db_param p[] = {store_time_param(until_us, until), DB_INT(slot_id), DB_INT(person_id)};
    if (store_exec(c, person_id ? sql_snooze_of : sql_snooze, p, person_id ? 3 : 2, err) < 0)
        return -1;
    if (db_changes(c) > 0)
        return 0;
    char *state = NULL;
    struct db_param q[] = {DB_INT(slot_id), DB_INT(person_id)};
    if (db_query_text(c, person_id ? sql_slot_state_of : sql_slot_state, q, person_id ? 2 : 1,
                      &state, err) < 0)
        return -1;
    if (!state)
        return mt_fail(err, MT_ENOTFOUND, "Reminder not found");
    mt_fail(err, MT_ECONFLICT, "the reminder cannot be snoozed: its slot is %s", state);
    free(state);
    return -1;
}

int store_remind_snooze(struct db_conn *c, int64_t slot_id, int64_t until_us, struct mt_err *err)
{
    return snooze(c, 0, slot_id, until_us, err);
}

int store_remind_snooze_of(struct db_conn *c, int64_t person_id, int64_t slot_id, int64_t until_us,
                           struct mt_err *err)
{
    if (person_id <= 0)
        return mt_fail(err, MT_ENOTFOUND, "Reminder not found");
    return snooze(c, person_id, slot_id, until_us, err);
}

/* ---- the due list ---- */

static int read_slot_reminder(struct db_stmt *st, struct mt_arena *a, void *item,
                              struct mt_err *err)
{
    struct store_slot_reminder *s = item;
    bool oom = false, present = false;
    memset(s, 0, sizeof(*s));
    s->id = db_col_int(st, 0);
    s->medication_id = db_col_int(st, 1);
    s->slot_at_us = col_us(st, 2, &present);
    s->state = store_col_text(st, 3, a, &oom);
    s->snoozed_until_us = col_us(st, 4, &s->has_snooze);
    if (!s->state)
        s->state = "";
    return oom ? store_oom(err) : 0;
}

int store_remind_person_slots(struct db_conn *c, struct mt_arena *a, int64_t person_id,
                              int64_t from_us, int64_t to_us, struct store_slot_reminder **out,
                              size_t *n, struct mt_err *err)
{
    char from[MT_TIME_BUF], to[MT_TIME_BUF];
    struct db_param p[] = {DB_INT(person_id), store_time_param(from_us, from),
                           store_time_param(to_us, to)};
    void *items = NULL;
    *out = NULL;
    *n = 0;
    if (store_query_rows(c, a, sql_person_slots, p, 3, sizeof(**out), read_slot_reminder, &items, n,
                         err) < 0)
        return -1;
    *out = items;
    return 0;
}

/* ---- the log ---- */

static int read_delivery(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    struct store_delivery *d = item;
    bool oom = false;
    memset(d, 0, sizeof(*d));
    d->id = db_col_int(st, 0);
    d->has_slot = !db_col_null(st, 1);
    d->slot_id = db_col_int(st, 1);
    d->channel_id = db_col_int(st, 2);
    d->channel_type = store_col_text(st, 3, a, &oom);
    d->kind = store_col_text(st, 4, a, &oom);
    d->seq = db_col_int(st, 5);
    d->status = store_col_text(st, 6, a, &oom);
    d->due_at = store_col_time(st, 7, a, &oom);
    d->next_attempt_at = store_col_time(st, 8, a, &oom);
    d->sent_at = store_col_time(st, 9, a, &oom);
    d->created_at = store_col_time(st, 10, a, &oom);
    d->attempts = db_col_int(st, 11);
    d->last_error = store_col_text(st, 12, a, &oom);
    d->person_id = db_col_int(st, 13);
    d->medication_id = db_col_int(st, 14);
    d->slot_at = store_col_time(st, 15, a, &oom);
    d->slot_state = store_col_text(st, 16, a, &oom);
    d->channel_person_id = db_col_null(st, 17) ? 0 : db_col_int(st, 17);
    return oom ? store_oom(err) : 0;
}

int store_deliveries_list(struct db_conn *c, struct mt_arena *a,
                          const struct store_person_filter *f, int64_t skip, int64_t limit,
                          struct store_delivery **out, size_t *n, struct mt_err *err)
{
    void *items = NULL;
    *n = 0;
    *out = NULL;
    if (!store_filtered(f)) {
        struct db_param p[] = {DB_INT(limit), DB_INT(skip)};
        if (store_query_rows(c, a, sql_log_all, p, 2, sizeof(**out), read_delivery, &items, n,
                             err) < 0)
            return -1;
        *out = items;
        return 0;
    }
    const char *sql = store_sql_persons(a, sql_log_persons, f, err);
    struct store_params sp;
    if (!sql || store_params_init(&sp, a, f->n + 2, err) < 0)
        return -1;
    store_params_ids(&sp, f);
    store_params_add(&sp, DB_INT(limit));
    store_params_add(&sp, DB_INT(skip));
    if (store_query_rows(c, a, sql, sp.p, sp.n, sizeof(**out), read_delivery, &items, n, err) < 0)
        return -1;
    *out = items;
    return 0;
}

int store_delivery_test_record(struct db_conn *c, int64_t channel_id, bool sent,
                               const char *last_error, int64_t *id, struct mt_err *err)
{
    char now_buf[MT_TIME_BUF];
    int64_t now = mt_now_us();
    struct db_param t = store_time_param(now, now_buf);
    struct db_param p[] = {DB_INT(channel_id),
                           DB_TEXT(sent ? "sent" : "failed"),
                           t,
                           t,
                           sent ? t : DB_NULL,
                           DB_TEXT(last_error),
                           t};
    return store_insert_id(c, sql_test_insert, sql_test_insert_ret, p, MT_ARRAY_LEN(p), id, err);
}
