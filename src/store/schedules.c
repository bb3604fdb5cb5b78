/* The SQL of medication schedules and person time zones (store/schedules.h).
 * A schedule is stored as the column texts core/schedule.c writes ("08:00,
 * 20:00", "mon,wed,fri", "every:3") and its optional dates; reading a row
 * goes back through core/schedule.c, so what the database holds is always
 * checked before a slot is expanded from it. */
#include "store/schedules.h"

#include <string.h>

#include "store/reminders.h"
#include "store/store_int.h"

static const char sql_get[] =
    "SELECT times, days, start_date, end_date FROM medication_schedules WHERE medication_id = ?";
/* The schedules of several medications: this, one "?" per id, then ")". */
static const char sql_get_many[] = "SELECT medication_id, times, days, start_date, end_date "
                                   "FROM medication_schedules WHERE medication_id IN (";
/* Most ids in one such statement (a list page holds at most a few
 * hundred medications). */
enum { GET_MANY_MAX = 512 };
static const char sql_delete[] = "DELETE FROM medication_schedules WHERE medication_id = ?";
static const char sql_insert[] = "INSERT INTO medication_schedules (medication_id, times, days, "
                                 "start_date, end_date, updated_at) VALUES (?, ?, ?, ?, ?, ?)";
#define LIST_COLS                                                                                  \
    "SELECT m.id, m.person_id, m.name, p.timezone, s.times, s.days, s.start_date, s.end_date, "    \
    "m.dosage, s.updated_at, m.created_at "                                                        \
    "FROM medication_schedules s JOIN medications m ON m.id = s.medication_id "                    \
    "JOIN persons p ON p.id = m.person_id "
static const char sql_list_person[] = LIST_COLS "WHERE m.person_id = ? ORDER BY m.id";
static const char sql_list_all[] = LIST_COLS "ORDER BY m.person_id, m.id";
/* The doses of a person's scheduled medications in a window, grouped by
 * medication: the statuses are the due view's (taken and skipped; a dose
 * entered in error matches no slot), bound like every value. */
static const char sql_person_doses[] =
    "SELECT d.medication_id, d.id, d.taken_at, d.status FROM doses d "
    "JOIN medication_schedules s ON s.medication_id = d.medication_id "
    "JOIN medications m ON m.id = s.medication_id "
    "WHERE m.person_id = ? AND d.status IN (?, ?) AND d.taken_at >= ? AND d.taken_at < ? "
    "ORDER BY d.medication_id, d.taken_at, d.id";
static const char sql_tz_get[] = "SELECT id, timezone FROM persons WHERE id = ?";
static const char sql_cal_delete[] = "DELETE FROM calendar_tokens WHERE person_id = ?";
static const char sql_cal_insert[] =
    "INSERT INTO calendar_tokens (person_id, token_hash, created_at) VALUES (?, ?, ?)";
static const char sql_cal_get[] = "SELECT token_hash FROM calendar_tokens WHERE person_id = ?";

/* A DATE column (NULL: absent) into *d; false when present but unreadable. */
static bool col_date(struct db_stmt *st, int i, bool *present, struct mt_date *d)
{
    size_t len = 0;
    const char *s = db_col_null(st, i) ? NULL : db_col_text(st, i, &len);
    *present = s != NULL;
    if (!s)
        return true;
    return mt_parse_date(s, store_date_len(s, len), d) == 0;
}

/* The schedule in columns first..first+3 of the current row. */
static int read_sched(struct db_stmt *st, int first, struct mt_schedule *out, struct mt_err *err)
{
    const char *times = db_col_text(st, first, NULL);
    const char *days = db_col_text(st, first + 1, NULL);
    bool has_start = false, has_end = false;
    struct mt_date start, end;
    if (!times || !days || !col_date(st, first + 2, &has_start, &start) ||
        !col_date(st, first + 3, &has_end, &end))
        return mt_fail(err, MT_EINVAL, "a stored schedule has unreadable columns");
    return mt_schedule_from_columns(times, days, has_start ? &start : NULL, has_end ? &end : NULL,
                                    out, err);
}

int store_schedule_get(struct db_conn *c, int64_t medication_id, bool *has, struct mt_schedule *out,
                       struct mt_err *err)
{
    *has = false;
    if (!store_id_ok(c, medication_id))
        return 0;
    struct db_param p[] = {DB_INT(medication_id)};
    struct db_stmt *st;
    if (db_query(c, sql_get, p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    if (rc == 1) {
        struct mt_schedule s;
        rc = read_sched(st, 0, &s, err);
        if (rc == 0) {
            *out = s;
            *has = true;
        }
    }
    db_done(st);
    return rc < 0 ? -1 : 0;
}

struct many_ctx {
    struct store_medication *m;
    size_t n;
};

/* One schedule row: onto every listed medication with its id. */
static int many_row(struct db_stmt *st, void *vctx, struct mt_err *err)
{
    struct many_ctx *x = vctx;
    int64_t id = db_col_int(st, 0);
    struct mt_schedule s;
    struct mt_err bad = {0};
    if (read_sched(st, 1, &s, &bad) < 0)
        return mt_fail(err, MT_EDB, "the stored schedule of medication %lld is not valid: %s",
                       (long long)id, bad.msg);
    for (size_t i = 0; i < x->n; i++) {
        if (x->m[i].id != id)
            continue;
        x->m[i].has_schedule = true;
        x->m[i].schedule = s;
    }
    return 0;
}

int store_meds_schedules(struct db_conn *c, struct mt_arena *a, struct store_medication *m,
                         size_t n, struct mt_err *err)
{
    for (size_t i = 0; i < n; i++)
        m[i].has_schedule = false;
    size_t per = db_max_params(c);
    if (per > GET_MANY_MAX)
        per = GET_MANY_MAX;
    for (size_t i = 0; i < n; i += per) {
        size_t k = n - i < per ? n - i : per;
        /* The list is padded to a power of two with the last id again
         * (IN ignores the repeat), so that a connection caches a handful
         * of statement texts rather than one per list length. */
        size_t slots = 1;
        while (slots < k)
            slots <<= 1;
        if (slots > per)
            slots = per;
        size_t head = sizeof(sql_get_many) - 1;
        char *sql = mt_arena_alloc(a, head + 3 * slots + 2);
        struct db_param *p = mt_arena_calloc(a, slots, sizeof(*p));
        if (!sql || !p)
            return store_oom(err);
        memcpy(sql, sql_get_many, head);
        char *o = sql + head;
        for (size_t j = 0; j < slots; j++) {
            if (j) {
                memcpy(o, ", ", 2);
                o += 2;
            }
            *o++ = '?';
            p[j] = DB_INT(m[i + (j < k ? j : k - 1)].id);
        }
        memcpy(o, ")", 2);
        struct many_ctx x = {m + i, k};
        if (db_query_each(c, sql, p, slots, many_row, &x, err) < 0)
            return -1;
    }
    return 0;
}

int store_schedule_put(struct db_conn *c, int64_t medication_id, const struct mt_schedule *s,
                       struct mt_err *err)
{
    struct db_param dp[] = {DB_INT(medication_id)};
    if (store_exec(c, sql_delete, dp, 1, err) < 0)
        return -1;
    /* The reminders of the old schedule's future slots go in the same
     * transaction, so no replica sends one for a time that no longer is. */
    if (store_remind_schedule_changed(c, medication_id, err) < 0)
        return -1;
    if (!s)
        return 0;
    char times[MT_SCHED_TIMES_BUF], days[MT_SCHED_DAYS_BUF];
    char start[MT_TIME_BUF], end[MT_TIME_BUF], now[MT_TIME_BUF];
    struct db_param p[] = {
        DB_INT(medication_id),
        DB_TEXT(mt_schedule_times_text(s, times, sizeof(times))),
        DB_TEXT(mt_schedule_days_text(s, days, sizeof(days))),
        s->has_start ? DB_TEXT(mt_format_date(s->start, start, sizeof(start))) : DB_NULL,
        s->has_end ? DB_TEXT(mt_format_date(s->end, end, sizeof(end))) : DB_NULL,
        store_time_param(store_now_seconds(), now),
    };
    return store_exec(c, sql_insert, p, MT_ARRAY_LEN(p), err);
}

static int read_scheduled(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    struct store_scheduled *r = item;
    bool oom = false;
    memset(r, 0, sizeof(*r));
    r->medication_id = db_col_int(st, 0);
    r->person_id = db_col_int(st, 1);
    r->medication_name = store_col_text(st, 2, a, &oom);
    r->timezone = store_col_text(st, 3, a, &oom);
    if (oom)
        return store_oom(err);
    r->dosage = store_col_text(st, 8, a, &oom);
    if (oom)
        return store_oom(err);
    if (!r->medication_name)
        r->medication_name = "";
    if (!r->dosage)
        r->dosage = "";
    size_t len = 0;
    const char *changed = db_col_null(st, 9) ? NULL : db_col_text(st, 9, &len);
    if (!changed || mt_parse_timestamp(changed, len, &r->updated_at_us) != 0)
        r->updated_at_us = 0;
    const char *created = db_col_null(st, 10) ? NULL : db_col_text(st, 10, &len);
    if (!created || mt_parse_timestamp(created, len, &r->created_at_us) != 0)
        r->created_at_us = 0;
    struct mt_err bad = {0};
    r->valid = read_sched(st, 4, &r->sched, &bad) == 0;
    if (!r->valid)
        memset(&r->sched, 0, sizeof(r->sched));
    return 0;
}

int store_schedules_list(struct db_conn *c, struct mt_arena *a, bool has_person, int64_t person_id,
                         struct store_scheduled **out, size_t *n, struct mt_err *err)
{
    void *items = NULL;
    *n = 0;
    if (has_person && !store_id_ok(c, person_id)) {
        *out = NULL;
        return 0;
    }
    struct db_param p[] = {DB_INT(person_id)};
    if (store_query_rows(c, a, has_person ? sql_list_person : sql_list_all, p, has_person ? 1 : 0,
                         sizeof(**out), read_scheduled, &items, n, err) < 0)
        return -1;
    *out = items;
    return 0;
}

static int read_sched_dose(struct db_stmt *st, struct mt_arena *a, void *item, struct mt_err *err)
{
    (void)a;
    (void)err;
    struct store_sched_dose *d = item;
    size_t len = 0;
    const char *at = db_col_text(st, 2, &len);
    const char *status = db_col_text(st, 3, NULL);
    struct store_time t = store_time_of(at, len);
    d->medication_id = db_col_int(st, 0);
    d->dose_id = db_col_int(st, 1);
    d->parsed = t.parsed;
    d->taken_at_us = t.parsed ? t.us : 0;
    d->skipped = status && strcmp(status, "skipped") == 0;
    return 0;
}

int store_schedule_doses(struct db_conn *c, struct mt_arena *a, int64_t person_id,
                         const struct store_window *w, struct store_sched_dose **out, size_t *n,
                         struct mt_err *err)
{
    void *items = NULL;
    *out = NULL;
    *n = 0;
    if (!store_id_ok(c, person_id))
        return 0;
    char start[MT_TIME_BUF], end[MT_TIME_BUF];
    struct db_param p[] = {DB_INT(person_id), DB_TEXT("taken"), DB_TEXT("skipped"),
                           store_time_param(w->start_us, start), store_time_param(w->end_us, end)};
    if (store_query_rows(c, a, sql_person_doses, p, MT_ARRAY_LEN(p), sizeof(**out), read_sched_dose,
                         &items, n, err) < 0)
        return -1;
    *out = items;
    return 0;
}

int store_person_timezone(struct db_conn *c, struct mt_arena *a, int64_t person_id, const char **tz,
                          struct mt_err *err)
{
    *tz = NULL;
    if (!store_id_ok(c, person_id))
        return mt_fail(err, MT_ENOTFOUND, "Person not found");
    struct db_param p[] = {DB_INT(person_id)};
    struct db_stmt *st;
    if (db_query(c, sql_tz_get, p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    bool oom = false;
    if (rc == 1)
        *tz = store_col_text(st, 1, a, &oom);
    db_done(st);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return mt_fail(err, MT_ENOTFOUND, "Person not found");
    return oom ? store_oom(err) : 0;
}

struct cal_ctx {
    int64_t person_id;
    const char *hash;
    bool had;
};

static int cal_set_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct cal_ctx *x = vctx;
    if (store_person_exists(c, x->person_id, false, err) < 0)
        return -1;
    struct db_param p[] = {DB_INT(x->person_id)};
    char now[MT_TIME_BUF];
    struct db_param ins[] = {DB_INT(x->person_id), DB_TEXT(x->hash),
                             store_time_param(store_now_seconds(), now)};
    if (store_exec(c, sql_cal_delete, p, 1, err) < 0 ||
        store_exec(c, sql_cal_insert, ins, MT_ARRAY_LEN(ins), err) < 0)
        return -1;
    return 0;
}

int store_calendar_token_set(struct db_conn *c, int64_t person_id, const char *hash,
                             struct mt_err *err)
{
    if (!store_id_ok(c, person_id))
        return mt_fail(err, MT_ENOTFOUND, "Person not found");
    struct cal_ctx x = {person_id, hash, false};
    return store_write_tx(c, cal_set_tx, &x, err);
}

static int cal_delete_tx(struct db_conn *c, void *vctx, struct mt_err *err)
{
    struct cal_ctx *x = vctx;
    struct db_param p[] = {DB_INT(x->person_id)};
    if (store_exec(c, sql_cal_delete, p, 1, err) < 0)
        return -1;
    x->had = db_changes(c) > 0;
    return 0;
}

int store_calendar_token_delete(struct db_conn *c, int64_t person_id, bool *had, struct mt_err *err)
{
    *had = false;
    if (!store_id_ok(c, person_id))
        return 0;
    struct cal_ctx x = {person_id, NULL, false};
    if (store_write_tx(c, cal_delete_tx, &x, err) < 0)
        return -1;
    *had = x.had;
    return 0;
}

int store_calendar_token_hash(struct db_conn *c, struct mt_arena *a, int64_t person_id,
                              const char **hash, struct mt_err *err)
{
    *hash = NULL;
    if (!store_id_ok(c, person_id))
        return 0;
    struct db_param p[] = {DB_INT(person_id)};
    struct db_stmt *st;
    if (db_query(c, sql_cal_get, p, 1, &st, err) < 0)
        return -1;
    int rc = db_next(st, err);
    bool oom = false;
    if (rc == 1)
        *hash = store_col_text(st, 0, a, &oom);
    db_done(st);
    if (rc < 0)
        return -1;
    return oom ? store_oom(err) : 0;
}
