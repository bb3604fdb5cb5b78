/* A medication's schedule (issue 16, docs/schedules.md): times of day in the
 * person's zone, on every day, on chosen weekdays or every N days from a
 * start date, optionally bounded by a start and an end date. This module
 * reads and checks the API's JSON form, writes it back canonically, converts
 * to and from the text columns of medication_schedules, and expands the
 * slots of one local date into UTC instants. Pure code: no database, no
 * HTTP, no allocation except the JSON it is asked to build. */
#ifndef MT_CORE_SCHEDULE_H
#define MT_CORE_SCHEDULE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/mtime.h"
#include "core/tz.h"

/* At most one slot per hour on average: a schedule is a plan people follow,
 * and the reminders plan one row per slot. */
#define MT_SCHED_MAX_TIMES 24
/* every_n_days is 1..MT_SCHED_MAX_EVERY (a year and a day). */
#define MT_SCHED_MAX_EVERY 366
/* Sizes that fit the column texts: "HH:MM" * 24 with commas is 143 bytes
 * ("times" is VARCHAR(200)); "mon,tue,...,sun" is 27 ("days" VARCHAR(40)). */
#define MT_SCHED_TIMES_BUF 200
#define MT_SCHED_DAYS_BUF 40

enum mt_sched_days {
    MT_SCHED_DAILY,    /* every day */
    MT_SCHED_WEEKDAYS, /* the days of the weekdays mask */
    MT_SCHED_EVERY_N,  /* every every_n days, counted from start */
};

/* A valid schedule (every function that fills one checks it). A small value:
 * copy it. */
struct mt_schedule {
    int ntimes;                        /* 1..MT_SCHED_MAX_TIMES */
    short minutes[MT_SCHED_MAX_TIMES]; /* minutes after local midnight, ascending, unique */
    enum mt_sched_days days;
    unsigned weekdays; /* MT_SCHED_WEEKDAYS: bit 0 Monday .. bit 6 Sunday */
    int every_n;       /* MT_SCHED_EVERY_N: 1..MT_SCHED_MAX_EVERY */
    bool has_start, has_end;
    struct mt_date start, end; /* inclusive; start <= end when both are set */
};

/* One slot of a date: its instant and the schedule's local time that made it. */
struct mt_slot {
    int64_t at_us;
    short minute; /* the schedule's time, minutes after local midnight */
};

/* Reads the API's form, {"times": ["08:00", ...], "days": "daily" | ["mon",
 * ...] | {"every_n_days": N}, "start_date": "YYYY-MM-DD" | null, "end_date":
 * ... | null}; "days" defaults to "daily". Times may come in any order and
 * are sorted; a repeated time, an unknown key, a wrong type or an
 * out-of-range value is MT_EINVAL with a message that names the field
 * ("schedule.times[1]: expected HH:MM, got \"25:00\""). every_n_days needs
 * start_date, from which it counts. */
int mt_schedule_from_json(const json_t *v, struct mt_schedule *out, struct mt_err *err);

/* The canonical JSON form (times ascending, weekdays Monday first, both
 * dates present, null when unset). A new reference; NULL only when jansson
 * cannot allocate. */
json_t *mt_schedule_to_json(const struct mt_schedule *s);

/* The column texts of medication_schedules: times "08:00,20:00"; days
 * "daily", "mon,wed,fri" or "every:3". Return buf (always NUL-terminated;
 * the buffer sizes above always fit). */
char *mt_schedule_times_text(const struct mt_schedule *s, char *buf, size_t cap);
char *mt_schedule_days_text(const struct mt_schedule *s, char *buf, size_t cap);

/* Reads the column texts back (start and end may be NULL). MT_EINVAL when a
 * stored value is not one this module writes: the caller treats the row as
 * corrupt rather than guessing. */
int mt_schedule_from_columns(const char *times, const char *days, const struct mt_date *start,
                             const struct mt_date *end, struct mt_schedule *out,
                             struct mt_err *err);

/* Monday 0 .. Sunday 6. */
int mt_weekday(struct mt_date d);

/* Whether the schedule has slots on local date d (within its dates and on
 * one of its days). */
bool mt_schedule_on_date(const struct mt_schedule *s, struct mt_date d);

/* The slots of local date d in zone z, ordered by instant, into out (room
 * for MT_SCHED_MAX_TIMES). A local time skipped when clocks go forward fires
 * at the instant tz.h maps it to (02:30 on New York's spring day is 03:30
 * EDT); a repeated one fires once, at its first occurrence. Two times that
 * map to the same instant give one slot (the earlier time). Returns the
 * number of slots (0 when the date has none). */
int mt_schedule_expand(const struct mt_schedule *s, struct mt_tz z, struct mt_date d,
                       struct mt_slot *out);

/* The minutes after midnight of the len bytes "HH:MM" at s: two digits
 * each, 00:00 to 23:59, nothing else; -1 otherwise. The one strict reader
 * of a time of day (schedules, quiet hours); a dose's time follows the
 * reference's looser rule instead (api_parse_hhmm). */
int mt_parse_hhmm(const char *s, size_t len);

/* "HH:MM" of minutes after midnight into buf (at least 6 bytes). */
char *mt_schedule_hhmm(int minute, char *buf, size_t cap);

/* ---- matching doses to slots (docs/schedules.md, "The matching rule") ---- */

enum mt_slot_status {
    MT_SLOT_PENDING, /* not satisfied, and its late window is not over yet */
    MT_SLOT_TAKEN,   /* a dose within +-window of the slot */
    MT_SLOT_LATE,    /* a dose after that window, before the late window ended */
    MT_SLOT_MISSED,  /* no dose, and the late window is over */
    MT_SLOT_SKIPPED, /* a skipped-dose row instead of a dose */
};

/* "pending", "taken", "late", "missed", "skipped". */
const char *mt_slot_status_name(enum mt_slot_status s);

/* One slot of one medication being matched: the caller fills at_us and
 * minute (ascending by at_us, consecutive slots of the same medication,
 * across days so that the late window of a day's last slot knows the next
 * day's first); mt_slots_match fills the rest. */
struct mt_slot_match {
    int64_t at_us;
    short minute;
    enum mt_slot_status status;
    int64_t late_end_us; /* when the slot stops waiting: missed from then on */
    long dose;           /* index into the marks that satisfied it, -1: none */
};

/* A dose row of the medication: when, and whether it was a skip. */
struct mt_dose_mark {
    int64_t at_us;
    bool skipped;
};

/* Matches marks (ascending by at_us) to slots, both of one medication:
 * taken doses in time order each satisfy the nearest slot within
 * +-window_us that no earlier dose satisfied (ties: the earlier slot); then
 * every slot still open takes the earliest unused taken dose after its
 * window and before its late end, max(slot + window, min(next slot, slot +
 * late_us)); then skip rows are matched like taken doses, on time or late.
 * A slot left open is missed when now_us >= its late end, else pending.
 * used is scratch of nmarks bytes. Each mark satisfies at most one slot. */
void mt_slots_match(struct mt_slot_match *slots, size_t nslots, const struct mt_dose_mark *marks,
                    size_t nmarks, int64_t window_us, int64_t late_us, int64_t now_us,
                    unsigned char *used);

#endif
