/* The SQL of notification channels and of reminder settings
 * (store/reminders.h). A channel's secret arrives here sealed
 * (notify/notify.h) and leaves sealed: this file never sees a token. */
#include <string.h>

#include "store/reminders.h"
#include "store/store_int.h"

#define CH_COLS                                                                                    \
    "SELECT id, person_id, account_id, type, url, email_to, secret_sealed, enabled, created_at "   \
    "FROM notification_channels "
static const char sql_ch_get[] = CH_COLS "WHERE id = ?";
static const char sql_ch_person[] = CH_COLS "WHERE person_id = ? ORDER BY id";
static const char sql_ch_account[] = CH_COLS "WHERE account_id = ? ORDER BY id";
static const char sql_ch_insert[] =
    "INSERT INTO notification_channels (person_id, account_id, type, url, email_to, "
    "secret_sealed, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_ch_insert_ret[] =
    "INSERT INTO notification_channels (person_id, account_id, type, url, email_to, "
    "secret_sealed, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
static const char sql_ch_delete[] = "DELETE FROM notification_channels WHERE id = ?";
static const char sql_ch_any[] = "SELECT 1 FROM notification_channels WHERE enabled = ? LIMIT 1";

static const char sql_rs_get[] =
    "SELECT repeat_minutes, max_repeats, quiet_start, quiet_end, escalate_after_minutes, "
    "updated_at FROM reminder_settings WHERE person_id = ?";
/* The persons of the open slots in a range (the follow-ups need no
 * other; the (state, slot_at) index serves it), with their settings (NULLs when
 * they have none, which read as the defaults) and zones. */
static const char sql_rs_persons[] =
    "SELECT p.id, p.timezone, rs.repeat_minutes, rs.max_repeats, rs.quiet_start, rs.quiet_end, "
    "rs.escalate_after_minutes FROM persons p "
    "LEFT JOIN reminder_settings rs ON rs.person_id = p.id "
    "WHERE p.id IN (SELECT s.person_id FROM reminder_slots s "
    "WHERE s.state = 'open' AND s.slot_at >= ? AND s.slot_at <= ?) ORDER BY p.id";
static const char sql_rs_delete[] = "DELETE FROM reminder_settings WHERE person_id = ?";
static const char sql_rs_insert[] =
    "INSERT INTO reminder_settings (person_id, repeat_minutes, max_repeats, quiet_start, "
    "quiet_end, escalate_after_minutes, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)";

static int read_channel(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    struct store_channel *ch = item;
    bool oom = false;
    memset(ch, 0, sizeof(*ch));
    ch->id = db_col_int(st, 0);
    ch->has_person = !db_col_null(st, 1);
    ch->person_id = db_col_int(st, 1);
    ch->has_account = !db_col_null(st, 2);
    ch->account_id = db_col_int(st, 2);
    ch->type = store_col_text(st, 3, a, &oom);
    ch->url = store_col_text(st, 4, a, &oom);
    ch->email_to = store_col_text(st, 5, a, &oom);
    ch->secret_sealed = store_col_text(st, 6, a, &oom);
    ch->enabled = db_col_int(st, 7) != 0;
    ch->created_at = store_col_time(st, 8, a, &oom);
    if (!ch->type)
        ch->type = "";
    return oom ? store_oom(err) : 0;
}

struct create_ctx {
    struct store_channel *ch;
};

static int create_tx(struct db_conn *c, void *ctx, struct mt_err *err)
{
    struct store_channel *ch = ((struct create_ctx *)ctx)->ch;
    if (ch->has_person && store_person_exists(c, ch->person_id, false, err) < 0)
        return -1;
    char now_buf[MT_TIME_BUF];
    int64_t now = store_now_seconds();
    struct db_param p[] = {
        ch->has_person ? DB_INT(ch->person_id) : DB_NULL,
        ch->has_account ? DB_INT(ch->account_id) : DB_NULL,
        DB_TEXT(ch->type),
        DB_TEXT(ch->url),
        DB_TEXT(ch->email_to),
        DB_TEXT(ch->secret_sealed),
        DB_BOOL(ch->enabled),
        store_time_param(now, now_buf),
    };
    if (store_insert_id(c, sql_ch_insert, sql_ch_insert_ret, p, MT_ARRAY_LEN(p), &ch->id, err) < 0)
        return -1;
    ch->created_at = (struct store_time){.present = true, .parsed = true, .us = now};
    return 0;
}

int store_channel_create(struct db_conn *c, struct store_channel *ch, struct mt_err *err)
{
    struct create_ctx ctx = {.ch = ch};
    return store_write_tx(c, create_tx, &ctx, err);
}

int store_channel_get(struct db_conn *c, struct mt_arena *a, int64_t id, struct store_channel *out,
                      struct mt_err *err)
{
    if (!store_id_ok(c, id))
        return mt_fail(err, MT_ENOTFOUND, "Channel not found");
    struct db_param p[] = {DB_INT(id)};
    void *items = NULL;
    size_t n = 0;
    if (store_query_rows(c, a, sql_ch_get, p, 1, sizeof(*out), read_channel, &items, &n, err) < 0)
        return -1;
    if (n == 0)
        return mt_fail(err, MT_ENOTFOUND, "Channel not found");
    *out = *(struct store_channel *)items;
    return 0;
}

int store_channels_list(struct db_conn *c, struct mt_arena *a, bool account, int64_t owner_id,
                        struct store_channel **out, size_t *n, struct mt_err *err)
{
    void *items = NULL;
    *n = 0;
    *out = NULL;
    if (!store_id_ok(c, owner_id))
        return 0;
    struct db_param p[] = {DB_INT(owner_id)};
    if (store_query_rows(c, a, account ? sql_ch_account : sql_ch_person, p, 1, sizeof(**out),
                         read_channel, &items, n, err) < 0)
        return -1;
    *out = items;
    return 0;
}

int store_channel_delete(struct db_conn *c, int64_t id, struct mt_err *err)
{
    if (!store_id_ok(c, id))
        return mt_fail(err, MT_ENOTFOUND, "Channel not found");
    struct db_param p[] = {DB_INT(id)};
    if (store_exec(c, sql_ch_delete, p, 1, err) < 0)
        return -1;
    return db_changes(c) > 0 ? 0 : mt_fail(err, MT_ENOTFOUND, "Channel not found");
}

int store_channels_any(struct db_conn *c, bool *any, struct mt_err *err)
{
    struct db_param p[] = {DB_BOOL(true)};
    int64_t one = 0;
    return db_query_int(c, sql_ch_any, p, 1, &one, any, err);
}

int store_reminder_settings_get(struct db_conn *c, struct mt_arena *a, int64_t person_id,
                                struct store_reminder_settings *out, struct mt_err *err)
{
    memset(out, 0, sizeof(*out));
    if (store_person_exists(c, person_id, false, err) < 0)
        return -1;
    struct db_param p[] = {DB_INT(person_id)};
    struct db_stmt *st;
    if (db_query(c, sql_rs_get, p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    if (rc == 1) {
        bool oom = false;
        out->has_repeat = !db_col_null(st, 0);
        out->repeat_minutes = db_col_int(st, 0);
        out->max_repeats = db_col_int(st, 1);
        out->quiet_start = store_col_text(st, 2, a, &oom);
        out->quiet_end = store_col_text(st, 3, a, &oom);
        out->has_escalate = !db_col_null(st, 4);
        out->escalate_after_minutes = db_col_int(st, 4);
        out->updated_at = store_col_time(st, 5, a, &oom);
        rc = oom ? store_oom(err) : 0;
    }
    db_done(st);
    return rc < 0 ? -1 : 0;
}

static int read_remind_person(struct db_stmt *st, struct mt_arena *a, void *item,
                              struct mt_err *err)
{
    struct store_remind_person *p = item;
    bool oom = false;
    memset(p, 0, sizeof(*p));
    p->person_id = db_col_int(st, 0);
    p->timezone = store_col_text(st, 1, a, &oom);
    p->rs.has_repeat = !db_col_null(st, 2);
    p->rs.repeat_minutes = p->rs.has_repeat ? db_col_int(st, 2) : 0;
    p->rs.max_repeats = db_col_null(st, 3) ? 0 : db_col_int(st, 3);
    p->rs.quiet_start = store_col_text(st, 4, a, &oom);
    p->rs.quiet_end = store_col_text(st, 5, a, &oom);
    p->rs.has_escalate = !db_col_null(st, 6);
    p->rs.escalate_after_minutes = p->rs.has_escalate ? db_col_int(st, 6) : 0;
    return oom ? store_oom(err) : 0;
}

int store_remind_persons(struct db_conn *c, struct mt_arena *a, int64_t from_us, int64_t to_us,
                         struct store_remind_person **out, size_t *n, struct mt_err *err)
{
    char from[MT_TIME_BUF], to[MT_TIME_BUF];
    struct db_param p[] = {store_time_param(from_us, from), store_time_param(to_us, to)};
    void *items = NULL;
    *out = NULL;
    *n = 0;
    if (store_query_rows(c, a, sql_rs_persons, p, MT_ARRAY_LEN(p), sizeof(**out),
                         read_remind_person, &items, n, err) < 0)
        return -1;
    *out = items;
    return 0;
}

struct put_ctx {
    int64_t person_id;
    struct store_reminder_settings *s;
};

static int put_tx(struct db_conn *c, void *ctx, struct mt_err *err)
{
    struct put_ctx *x = ctx;
    if (store_person_exists(c, x->person_id, false, err) < 0)
        return -1;
    struct db_param dp[] = {DB_INT(x->person_id)};
    if (store_exec(c, sql_rs_delete, dp, 1, err) < 0)
        return -1;
    char now_buf[MT_TIME_BUF];
    int64_t now = store_now_seconds();
    const struct store_reminder_settings *s = x->s;
    struct db_param p[] = {
        DB_INT(x->person_id),
        s->has_repeat ? DB_INT(s->repeat_minutes) : DB_NULL,
        DB_INT(s->max_repeats),
        DB_TEXT(s->quiet_start),
        DB_TEXT(s->quiet_end),
        s->has_escalate ? DB_INT(s->escalate_after_minutes) : DB_NULL,
        store_time_param(now, now_buf),
    };
    if (store_exec(c, sql_rs_insert, p, MT_ARRAY_LEN(p), err) < 0)
        return -1;
    x->s->updated_at = (struct store_time){.present = true, .parsed = true, .us = now};
    return 0;
}

int store_reminder_settings_put(struct db_conn *c, int64_t person_id,
                                struct store_reminder_settings *s, struct mt_err *err)
{
    struct put_ctx ctx = {.person_id = person_id, .s = s};
    return store_write_tx(c, put_tx, &ctx, err);
}
