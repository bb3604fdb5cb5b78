/* BACKUP_SCHEDULE and the scheduler thread of `meditrack serve`. The
 * schedule names a time of day (or minute of the hour, or day and time of
 * the week) in the server's zone; at each due time every replica tries to
 * claim the slot by inserting a row keyed by the slot's instant into
 * meditrack_backup_log, and only the one whose INSERT succeeds writes the
 * backup, so replicas that race (or whose clocks differ) back up once. The
 * thread has its own connections and never touches the request pool;
 * stopping the server cancels a running backup at its next batch. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "copy/copy_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mtime.h"
#include "core/schedule.h"
#include "core/str.h"
#include "core/tz.h"

/* ---- the schedule --------------------------------------------------------------- */

static const char *const weekdays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* Reads exactly two digits at *p within [0, max]. */
static bool two_digits(const char **p, int max, int *out)
{
    const char *s = *p;
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return false;
    int v = (s[0] - '0') * 10 + (s[1] - '0');
    if (v > max)
        return false;
    *out = v;
    *p = s + 2;
    return true;
}

/* [H]H:MM[:SS] (hour true) or MM[:SS], to the end of the text. */
static bool clock_part(const char *p, bool hour, struct copy_schedule *s)
{
    if (hour) {
        if (p[0] >= '0' && p[0] <= '9' && p[1] == ':') {
            s->hour = p[0] - '0';
            p++;
        } else if (!two_digits(&p, 23, &s->hour)) {
            return false;
        }
        if (*p++ != ':')
            return false;
    }
    if (!two_digits(&p, 59, &s->minute))
        return false;
    if (*p == ':') {
        p++;
        if (!two_digits(&p, 59, &s->second))
            return false;
    }
    return *p == '\0';
}

int copy_schedule_parse(const char *text, struct copy_schedule *out, struct mt_err *err)
{
    struct copy_schedule s = {.every = COPY_NEVER};
    const char *t = text ? text : "";
    bool ok = true;
    if (*t == '\0' || strcasecmp(t, "off") == 0) {
        s.every = COPY_NEVER;
    } else if (strncasecmp(t, "daily@", 6) == 0) {
        s.every = COPY_DAILY;
        ok = clock_part(t + 6, true, &s);
    } else if (strncasecmp(t, "hourly@", 7) == 0) {
        s.every = COPY_HOURLY;
        ok = clock_part(t + 7, false, &s);
    } else if (strncasecmp(t, "weekly@", 7) == 0) {
        s.every = COPY_WEEKLY;
        ok = false;
        for (int d = 0; d < 7; d++) {
            if (strncasecmp(t + 7, weekdays[d], 3) == 0 && t[10] == '@') {
                s.weekday = d;
                ok = clock_part(t + 11, true, &s);
            }
        }
    } else {
        ok = false;
    }
    if (!ok) {
        char q[80];
        return mt_fail(err, MT_EINVAL,
                       "invalid BACKUP_SCHEDULE %s: expected daily@HH:MM[:SS], hourly@MM[:SS], "
                       "weekly@DAY@HH:MM[:SS] (DAY: mon..sun) or off",
                       mt_quote(q, sizeof q, t, strlen(t)));
    }
    *out = s;
    return 0;
}

/* The first instant after after_us at which the local wall clock of z
 * reads hour:minute:second on a day d with want(d) (a local date's days
 * since the epoch). Days are walked in local dates, so a day of 23 or 25
 * hours still has its backup at the same wall time; a time that a change
 * of clocks skips runs at the offset before the change
 * (mt_tz_local_to_instant). */
static int64_t next_local_time(struct mt_tz z, int64_t after_us, int weekday, int hour, int minute,
                               int second)
{
    int64_t day = mt_date_to_days(mt_tz_local_date(z, after_us));
    /* From the day before (an instant late on it, in a zone west of the
     * change, can still be ahead), a week and a day cover every weekday. */
    for (int64_t d = day - 1; d <= day + 8; d++) {
        struct mt_date date = mt_date_from_days(d);
        if (weekday >= 0 && mt_weekday(date) != weekday)
            continue;
        int64_t t =
            mt_tz_local_to_instant(z, date, hour, minute) + (int64_t)second * MT_USEC_PER_SEC;
        if (t > after_us)
            return t;
    }
    return -1;
}

int64_t copy_schedule_next(const struct copy_schedule *s, int64_t after_us, struct mt_tz z)
{
    const int64_t sec = MT_USEC_PER_SEC, hour = 3600 * MT_USEC_PER_SEC;
    switch (s->every) {
    case COPY_HOURLY: {
        /* Every hour when the local clock reads MM:SS: the next such
         * reading at the offset of after_us, and at the offset in force
         * then if that differs; the first of them that the clock really
         * shows. A change of clocks by whole hours moves no minute, so the
         * runs stay an hour apart across it. */
        int64_t at = (s->minute * 60 + s->second) * sec;
        int64_t best = -1;
        int64_t shift = (int64_t)mt_tz_offset_at(z, after_us) * sec;
        for (int i = 0; i < 2; i++) {
            int64_t local = after_us + shift;
            int64_t t = (mt_floor_div(local - at, hour) + 1) * hour + at - shift;
            int64_t shift_then = (int64_t)mt_tz_offset_at(z, t) * sec;
            if (mt_floor_mod(t + shift_then - at, hour) == 0 && (best < 0 || t < best))
                best = t;
            if (shift_then == shift)
                break;
            shift = shift_then;
        }
        if (best < 0) /* no candidate read MM:SS (a zone of odd changes): the first */
            best = (mt_floor_div(after_us + shift - at, hour) + 1) * hour + at - shift;
        return best;
    }
    case COPY_DAILY:
        return next_local_time(z, after_us, -1, s->hour, s->minute, s->second);
    case COPY_WEEKLY:
        return next_local_time(z, after_us, s->weekday, s->hour, s->minute, s->second);
    case COPY_NEVER:
    default:
        return -1;
    }
}

/* ---- the scheduler ------------------------------------------------------------------ */

struct copy_scheduler {
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    bool stop;
    atomic_bool cancel;
    struct db_url url;
    const struct mig_chain *ch;
    struct copy_schedule schedule;
    char *dir;
    int keep;
    struct mt_tz zone;
    char host[256];
    struct copy_scheduler_status st; /* under mu */
};

static void set_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* meditrack_backup_log: the lease of each slot, and what became of it. Made
 * here, not by a revision, as the migration engine makes its own table:
 * it belongs to the scheduler, is never copied, and exists only where a
 * schedule ran. */
static const char log_ddl[] =
    "CREATE TABLE IF NOT EXISTS " COPY_BACKUP_LOG_TABLE " ("
    "slot VARCHAR(40) NOT NULL PRIMARY KEY, host VARCHAR(255) NOT NULL, pid BIGINT NOT NULL, "
    "started_at VARCHAR(40) NOT NULL, finished_at VARCHAR(40), success INTEGER, "
    "file VARCHAR(1024), duration_ms BIGINT, error TEXT)";

static int ensure_log_table(struct db_conn *c, struct mt_err *err)
{
    if (db_exec(c, log_ddl, err) == 0)
        return 0;
    /* Two replicas creating it at the same moment: PostgreSQL may refuse
     * the second CREATE ... IF NOT EXISTS with a unique violation in its
     * catalog. The table is there then. */
    bool exists = false;
    struct mt_err again;
    if (db_table_exists(c, COPY_BACKUP_LOG_TABLE, &exists, &again) == 0 && exists)
        return 0;
    return -1;
}

/* Claims slot for this process: 1 claimed, 0 another replica has it
 * (*holder then names it), -1 error. */
static int claim(struct copy_scheduler *s, struct db_conn *c, const char *slot, char *holder,
                 size_t cap, struct mt_err *err)
{
    char now[40];
    copy_utc_now(now, sizeof now);
    struct db_param p[] = {DB_TEXT(slot), DB_TEXT(s->host), DB_INT(getpid()), DB_TEXT(now)};
    if (db_query(c,
                 "INSERT INTO " COPY_BACKUP_LOG_TABLE
                 " (slot, host, pid, started_at) VALUES (?, ?, ?, ?)",
                 p, 4, NULL, err) == 0)
        return 1;
    if (err->code != MT_ECONFLICT)
        return -1;
    struct db_stmt *st;
    struct db_param q = DB_TEXT(slot);
    snprintf(holder, cap, "another replica");
    if (db_query(c, "SELECT host, pid FROM " COPY_BACKUP_LOG_TABLE " WHERE slot = ?", &q, 1, &st,
                 err) < 0)
        return -1;
    if (db_next(st, err) == 1)
        snprintf(holder, cap, "%s (pid %lld)",
                 db_col_text(st, 0, NULL) ? db_col_text(st, 0, NULL) : "?",
                 (long long)db_col_int(st, 1));
    db_done(st);
    return 0;
}

static void record(struct db_conn *c, const char *slot, bool ok, const char *file,
                   int64_t duration_ms, const char *error)
{
    char now[40];
    copy_utc_now(now, sizeof now);
    struct db_param p[] = {DB_TEXT(now),        DB_INT(ok ? 1 : 0), DB_TEXT(file),
                           DB_INT(duration_ms), DB_TEXT(error),     DB_TEXT(slot)};
    struct mt_err err;
    if (db_query(c,
                 "UPDATE " COPY_BACKUP_LOG_TABLE " SET finished_at = ?, success = ?, file = ?, "
                 "duration_ms = ? , error = ? WHERE slot = ?",
                 p, 6, NULL, &err) < 0)
        mt_log(MT_LOG_WARN, "backup: cannot record the outcome of slot %s: %s", slot, err.msg);
    /* A year of daily rows is plenty of history. */
    char old[MT_TIME_BUF];
    mt_format_iso(mt_now_us() - 400 * MT_USEC_PER_DAY, old, sizeof old);
    struct db_param q = DB_TEXT(old);
    if (db_query(c, "DELETE FROM " COPY_BACKUP_LOG_TABLE " WHERE slot < ?", &q, 1, NULL, &err) < 0)
        mt_log(MT_LOG_WARN, "backup: cannot trim " COPY_BACKUP_LOG_TABLE ": %s", err.msg);
}

/* One due slot: claim it, back up, record, prune, and tell the status. */
static void run_slot(struct copy_scheduler *s, int64_t slot_us)
{
    char slot[MT_TIME_BUF];
    mt_format_iso(slot_us, slot, sizeof slot);
    struct mt_err err;
    mt_err_clear(&err);
    struct db_conn *c = NULL;
    char outcome[160] = "";
    char holder[128] = "";
    struct copy_backup_result res = {0};
    bool ok = false, claimed = false;
    uint64_t t0 = mt_mono_ms();
    int rc = db_open(&s->url, &c, &err);
    if (rc == 0)
        rc = ensure_log_table(c, &err);
    if (rc == 0) {
        rc = claim(s, c, slot, holder, sizeof holder, &err);
        claimed = rc == 1;
    }
    if (rc == 0) {
        snprintf(outcome, sizeof outcome, "taken by %s", holder);
        mt_log(MT_LOG_INFO, "backup: slot %s is taken by %s", slot, holder);
    } else if (claimed) {
        char *file = copy_backup_default_name(s->dir);
        struct copy_options o;
        copy_options_init(&o);
        o.cancel = &s->cancel;
        o.log = copy_quiet_log;
        mt_log(MT_LOG_INFO, "backup: slot %s: writing %s", slot, file);
        ok = copy_backup(c, s->ch, file, &o, &res, &err) == 0;
        record(c, slot, ok, ok ? res.file : NULL, (int64_t)(mt_mono_ms() - t0),
               ok ? NULL : err.msg);
        if (ok) {
            mt_log(MT_LOG_INFO, "backup: wrote %s (revision %s, %zu tables, %lld rows) in %lld ms",
                   res.file, res.revision, res.tables, (long long)res.rows,
                   (long long)res.duration_ms);
            copy_backup_prune(s->dir, s->keep);
            snprintf(outcome, sizeof outcome, "done");
        } else {
            snprintf(outcome, sizeof outcome, "failed");
        }
        free(file);
    }
    if (rc < 0 || (claimed && !ok)) {
        mt_log(MT_LOG_ERROR, "backup: slot %s failed: %s", slot, err.msg);
        if (!outcome[0])
            snprintf(outcome, sizeof outcome, "failed");
    }
    if (c)
        db_close(c);
    pthread_mutex_lock(&s->mu);
    s->st.last_slot_us = slot_us;
    set_text(s->st.last_slot_outcome, sizeof s->st.last_slot_outcome, outcome);
    if (ok) {
        s->st.last_success_us = mt_now_us();
        set_text(s->st.last_file, sizeof s->st.last_file, res.file);
        s->st.last_duration_ms = res.duration_ms;
    } else if (rc < 0 || claimed) {
        s->st.last_error_us = mt_now_us();
        set_text(s->st.last_error, sizeof s->st.last_error, err.msg);
    }
    pthread_mutex_unlock(&s->mu);
    copy_backup_result_release(&res);
}

static void *scheduler_main(void *arg)
{
    struct copy_scheduler *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        int64_t next = copy_schedule_next(&s->schedule, mt_now_us(), s->zone);
        s->st.next_us = next;
        if (next < 0)
            break;
        /* Sleeps on the monotonic clock in steps of at most a minute and
         * looks at the wall clock again, so that a clock set forward or
         * back still finds the slot at its wall-clock time. */
        for (;;) {
            int64_t now = mt_now_us();
            if (s->stop || now >= next)
                break;
            int64_t wait_ms = (next - now) / 1000 + 1;
            if (wait_ms > 60000)
                wait_ms = 60000;
            struct timespec until = mt_mono_after_ms((uint64_t)wait_ms);
            pthread_cond_timedwait(&s->cv, &s->mu, &until);
        }
        if (s->stop)
            break;
        s->st.running = true;
        pthread_mutex_unlock(&s->mu);
        run_slot(s, next);
        pthread_mutex_lock(&s->mu);
        s->st.running = false;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

struct copy_scheduler *copy_scheduler_start(const struct copy_scheduler_config *cfg,
                                            struct mt_err *err)
{
    struct copy_scheduler *s = mt_xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&s->cancel, false);
    db_url_copy(&s->url, cfg->url);
    s->ch = cfg->ch;
    s->schedule = cfg->schedule;
    s->dir = mt_xstrdup(cfg->dir && *cfg->dir ? cfg->dir : ".");
    s->keep = cfg->keep > 0 ? cfg->keep : 1;
    s->zone = cfg->zone;
    if (gethostname(s->host, sizeof s->host) < 0)
        snprintf(s->host, sizeof s->host, "unknown");
    s->host[sizeof s->host - 1] = '\0';
    set_text(s->st.schedule, sizeof s->st.schedule, cfg->schedule_text);
    set_text(s->st.dir, sizeof s->st.dir, s->dir);
    s->st.keep = s->keep;
    s->st.next_us = copy_schedule_next(&s->schedule, mt_now_us(), s->zone);
    s->st.last_success_us = s->st.last_error_us = s->st.last_slot_us = -1;
    int e = pthread_create(&s->thread, NULL, scheduler_main, s);
    if (e != 0) {
        mt_fail(err, MT_EINTERNAL, "cannot start the backup scheduler: %s", strerror(e));
        s->started = false;
        copy_scheduler_free(s);
        return NULL;
    }
    s->started = true;
    return s;
}

void copy_scheduler_request_stop(struct copy_scheduler *s)
{
    if (!s)
        return;
    atomic_store(&s->cancel, true);
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void copy_scheduler_free(struct copy_scheduler *s)
{
    if (!s)
        return;
    copy_scheduler_request_stop(s);
    if (s->started)
        pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    db_url_release(&s->url);
    free(s->dir);
    free(s);
}

void copy_scheduler_status(struct copy_scheduler *s, struct copy_scheduler_status *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    pthread_mutex_unlock(&s->mu);
}
