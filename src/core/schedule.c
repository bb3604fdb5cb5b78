/* Schedules of medications: the JSON form of the API, the text columns of
 * medication_schedules, and the expansion of one local date into the UTC
 * instants of its slots (docs/schedules.md). The instants come from tz.h, so
 * a schedule follows daylight saving time exactly as the day windows do. */
#include "core/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

int mt_weekday(struct mt_date d)
{
    /* 1970-01-01 was a Thursday (3 when Monday is 0). */
    return (int)mt_floor_mod(mt_date_to_days(d) + 3, 7);
}

char *mt_schedule_hhmm(int minute, char *buf, size_t cap)
{
    snprintf(buf, cap, "%02d:%02d", minute / 60, minute % 60);
    return buf;
}

int mt_parse_hhmm(const char *s, size_t len)
{
    if (len != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59)
        return -1;
    return h * 60 + m;
}

static int day_index(const char *s, size_t len)
{
    for (int i = 0; i < 7; i++)
        if (len == 3 && memcmp(s, day_names[i], 3) == 0)
            return i;
    return -1;
}

static int cmp_short(const void *a, const void *b)
{
    return *(const short *)a - *(const short *)b;
}

/* Sorts the times and refuses a repeated one; the message quotes it. */
static int sort_times(struct mt_schedule *s, const char *field, struct mt_err *err)
{
    qsort(s->minutes, (size_t)s->ntimes, sizeof(s->minutes[0]), cmp_short);
    for (int i = 1; i < s->ntimes; i++) {
        if (s->minutes[i] == s->minutes[i - 1]) {
            char hm[8];
            return mt_fail(err, MT_EINVAL, "invalid \"%s\": time \"%s\" is given twice", field,
                           mt_schedule_hhmm(s->minutes[i], hm, sizeof(hm)));
        }
    }
    return 0;
}

/* The checks shared by both readers, after the fields are filled. */
static int check_dates(const struct mt_schedule *s, struct mt_err *err)
{
    if (s->has_start && s->has_end && mt_date_cmp(s->end, s->start) < 0)
        return mt_fail(err, MT_EINVAL,
                       "invalid \"schedule\": \"end_date\" is before \"start_date\"");
    if (s->days == MT_SCHED_EVERY_N && !s->has_start)
        return mt_fail(err, MT_EINVAL,
                       "invalid \"schedule\": \"every_n_days\" counts from \"start_date\", "
                       "which is missing");
    return 0;
}

static int json_times(const json_t *t, struct mt_schedule *out, struct mt_err *err)
{
    if (!json_is_array(t))
        return mt_fail(err, MT_EINVAL,
                       "invalid \"schedule.times\": expected a list of \"HH:MM\" texts");
    size_t n = json_array_size(t);
    if (n == 0)
        return mt_fail(err, MT_EINVAL,
                       "invalid \"schedule.times\": at least one time is needed (a medication "
                       "taken as needed has \"schedule\": null)");
    if (n > MT_SCHED_MAX_TIMES)
        return mt_fail(err, MT_EINVAL, "invalid \"schedule.times\": at most %d times, got %zu",
                       MT_SCHED_MAX_TIMES, n);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(t, i);
        int m = json_is_string(e) ? mt_parse_hhmm(json_string_value(e), json_string_length(e)) : -1;
        if (m < 0) {
            if (json_is_string(e) && json_string_length(e) <= 32)
                return mt_fail(err, MT_EINVAL,
                               "invalid \"schedule.times[%zu]\": expected HH:MM, got \"%s\"", i,
                               json_string_value(e));
            return mt_fail(err, MT_EINVAL, "invalid \"schedule.times[%zu]\": expected HH:MM", i);
        }
        out->minutes[i] = (short)m;
    }
    out->ntimes = (int)n;
    return sort_times(out, "schedule.times", err);
}

static int json_days(const json_t *d, struct mt_schedule *out, struct mt_err *err)
{
    if (d == NULL || json_is_null(d) ||
        (json_is_string(d) && strcmp(json_string_value(d), "daily") == 0)) {
        out->days = MT_SCHED_DAILY;
        return 0;
    }
    if (json_is_array(d)) {
        size_t n = json_array_size(d);
        if (n == 0)
            return mt_fail(err, MT_EINVAL, "invalid \"schedule.days\": no weekday given");
        unsigned mask = 0;
        for (size_t i = 0; i < n; i++) {
            const json_t *e = json_array_get(d, i);
            int k = json_is_string(e) ? day_index(json_string_value(e), json_string_length(e)) : -1;
            if (k < 0)
                return mt_fail(err, MT_EINVAL,
                               "invalid \"schedule.days[%zu]\": expected one of \"mon\", "
                               "\"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"",
                               i);
            if (mask & (1u << k))
                return mt_fail(err, MT_EINVAL, "invalid \"schedule.days\": \"%s\" is given twice",
                               day_names[k]);
            mask |= 1u << k;
        }
        out->days = MT_SCHED_WEEKDAYS;
        out->weekdays = mask;
        return 0;
    }
    if (json_is_object(d)) {
        const json_t *n = json_object_get(d, "every_n_days");
        if (json_object_size(d) != 1 || !json_is_integer(n))
            return mt_fail(err, MT_EINVAL,
                           "invalid \"schedule.days\": expected {\"every_n_days\": N}");
        json_int_t v = json_integer_value(n);
        if (v < 1 || v > MT_SCHED_MAX_EVERY)
            return mt_fail(err, MT_EINVAL,
                           "invalid \"schedule.days.every_n_days\": expected 1 to %d, got %lld",
                           MT_SCHED_MAX_EVERY, (long long)v);
        out->days = MT_SCHED_EVERY_N;
        out->every_n = (int)v;
        return 0;
    }
    return mt_fail(err, MT_EINVAL,
                   "invalid \"schedule.days\": expected \"daily\", a list of weekdays or "
                   "{\"every_n_days\": N}");
}

static int json_date(const json_t *o, const char *key, bool *has, struct mt_date *d,
                     struct mt_err *err)
{
    const json_t *v = json_object_get(o, key);
    *has = false;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v) || mt_parse_date(json_string_value(v), json_string_length(v), d) < 0)
        return mt_fail(err, MT_EINVAL, "invalid \"schedule.%s\": expected YYYY-MM-DD", key);
    *has = true;
    return 0;
}

int mt_schedule_from_json(const json_t *v, struct mt_schedule *out, struct mt_err *err)
{
    if (!json_is_object(v))
        return mt_fail(err, MT_EINVAL,
                       "invalid \"schedule\": expected an object {\"times\": [...], \"days\": "
                       "...} or null");
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)v, key, val)
    {
        (void)val;
        if (strcmp(key, "times") != 0 && strcmp(key, "days") != 0 &&
            strcmp(key, "start_date") != 0 && strcmp(key, "end_date") != 0)
            return mt_fail(err, MT_EINVAL,
                           "invalid \"schedule\": unknown field \"%.64s\" (known: times, days, "
                           "start_date, end_date)",
                           key);
    }
    struct mt_schedule s = {0};
    const json_t *times = json_object_get(v, "times");
    if (times == NULL)
        return mt_fail(err, MT_EINVAL, "invalid \"schedule\": \"times\" is missing");
    if (json_times(times, &s, err) < 0 || json_days(json_object_get(v, "days"), &s, err) < 0 ||
        json_date(v, "start_date", &s.has_start, &s.start, err) < 0 ||
        json_date(v, "end_date", &s.has_end, &s.end, err) < 0 || check_dates(&s, err) < 0)
        return -1;
    *out = s;
    return 0;
}

json_t *mt_schedule_to_json(const struct mt_schedule *s)
{
    json_t *o = json_object();
    json_t *times = json_array();
    char buf[16];
    for (int i = 0; i < s->ntimes; i++)
        json_array_append_new(times,
                              json_string(mt_schedule_hhmm(s->minutes[i], buf, sizeof(buf))));
    json_object_set_new(o, "times", times);
    json_t *days;
    if (s->days == MT_SCHED_DAILY) {
        days = json_string("daily");
    } else if (s->days == MT_SCHED_WEEKDAYS) {
        days = json_array();
        for (int k = 0; k < 7; k++)
            if (s->weekdays & (1u << k))
                json_array_append_new(days, json_string(day_names[k]));
    } else {
        days = json_object();
        json_object_set_new(days, "every_n_days", json_integer(s->every_n));
    }
    json_object_set_new(o, "days", days);
    json_object_set_new(o, "start_date",
                        s->has_start ? json_string(mt_format_date(s->start, buf, sizeof(buf)))
                                     : json_null());
    json_object_set_new(o, "end_date",
                        s->has_end ? json_string(mt_format_date(s->end, buf, sizeof(buf)))
                                   : json_null());
    if (json_object_size(o) != 4) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *mt_schedule_times_text(const struct mt_schedule *s, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->ntimes && at < cap; i++) {
        int n = snprintf(buf + at, cap - at, "%s%02d:%02d", i ? "," : "", s->minutes[i] / 60,
                         s->minutes[i] % 60);
        if (n < 0)
            break;
        at += (size_t)n;
    }
    return buf;
}

char *mt_schedule_days_text(const struct mt_schedule *s, char *buf, size_t cap)
{
    if (s->days == MT_SCHED_DAILY) {
        snprintf(buf, cap, "daily");
    } else if (s->days == MT_SCHED_EVERY_N) {
        snprintf(buf, cap, "every:%d", s->every_n);
    } else {
        size_t at = 0;
        buf[0] = '\0';
        for (int k = 0; k < 7 && at < cap; k++) {
            if (!(s->weekdays & (1u << k)))
                continue;
            int n = snprintf(buf + at, cap - at, "%s%s", at ? "," : "", day_names[k]);
            if (n < 0)
                break;
            at += (size_t)n;
        }
    }
    return buf;
}

static int stored_days(const char *days, struct mt_schedule *s)
{
    if (strcmp(days, "daily") == 0) {
        s->days = MT_SCHED_DAILY;
        return 0;
    }
    if (strncmp(days, "every:", 6) == 0) {
        const char *p = days + 6;
        int v = 0;
        if (*p == '\0' || strlen(p) > 3)
            return -1;
        for (; *p; p++) {
            if (*p < '0' || *p > '9')
                return -1;
            v = v * 10 + (*p - '0');
        }
        if (v < 1 || v > MT_SCHED_MAX_EVERY)
            return -1;
        s->days = MT_SCHED_EVERY_N;
        s->every_n = v;
        return 0;
    }
    unsigned mask = 0;
    const char *p = days;
    for (;;) {
        int k = day_index(p, strnlen(p, 3) == 3 ? 3 : 0);
        if (k < 0 || (mask & (1u << k)))
            return -1;
        mask |= 1u << k;
        p += 3;
        if (*p == '\0')
            break;
        if (*p != ',')
            return -1;
        p++;
    }
    s->days = MT_SCHED_WEEKDAYS;
    s->weekdays = mask;
    return 0;
}

int mt_schedule_from_columns(const char *times, const char *days, const struct mt_date *start,
                             const struct mt_date *end, struct mt_schedule *out, struct mt_err *err)
{
    struct mt_schedule s = {0};
    const char *p = times;
    for (;;) {
        int m = s.ntimes < MT_SCHED_MAX_TIMES ? mt_parse_hhmm(p, strnlen(p, 5)) : -1;
        if (m < 0)
            return mt_fail(err, MT_EINVAL, "stored schedule times \"%.64s\" are not valid", times);
        s.minutes[s.ntimes++] = (short)m;
        p += 5;
        if (*p == '\0')
            break;
        if (*p != ',')
            return mt_fail(err, MT_EINVAL, "stored schedule times \"%.64s\" are not valid", times);
        p++;
    }
    if (stored_days(days, &s) < 0)
        return mt_fail(err, MT_EINVAL, "stored schedule days \"%.40s\" are not valid", days);
    if (start) {
        s.has_start = true;
        s.start = *start;
    }
    if (end) {
        s.has_end = true;
        s.end = *end;
    }
    if (sort_times(&s, "schedule.times", err) < 0 || check_dates(&s, err) < 0)
        return -1;
    *out = s;
    return 0;
}

bool mt_schedule_on_date(const struct mt_schedule *s, struct mt_date d)
{
    if (s->has_start && mt_date_cmp(d, s->start) < 0)
        return false;
    if (s->has_end && mt_date_cmp(d, s->end) > 0)
        return false;
    switch (s->days) {
    case MT_SCHED_DAILY:
        return true;
    case MT_SCHED_WEEKDAYS:
        return (s->weekdays & (1u << mt_weekday(d))) != 0;
    case MT_SCHED_EVERY_N:
        return mt_floor_mod(mt_date_to_days(d) - mt_date_to_days(s->start), s->every_n) == 0;
    }
    return false;
}

static int cmp_slot(const void *a, const void *b)
{
    const struct mt_slot *x = a, *y = b;
    if (x->at_us != y->at_us)
        return x->at_us < y->at_us ? -1 : 1;
    return x->minute - y->minute;
}

int mt_schedule_expand(const struct mt_schedule *s, struct mt_tz z, struct mt_date d,
                       struct mt_slot *out)
{
    if (!mt_schedule_on_date(s, d))
        return 0;
    int n = 0;
    for (int i = 0; i < s->ntimes; i++) {
        int64_t at = mt_tz_local_to_instant(z, d, s->minutes[i] / 60, s->minutes[i] % 60);
        if (!mt_instant_valid(at))
            continue;
        out[n++] = (struct mt_slot){.at_us = at, .minute = s->minutes[i]};
    }
    /* A skipped time is read with the offset before the change, so it can
     * land after a later time of the same day, or on it. */
    qsort(out, (size_t)n, sizeof(out[0]), cmp_slot);
    int kept = 0;
    for (int i = 0; i < n; i++)
        if (kept == 0 || out[kept - 1].at_us != out[i].at_us)
            out[kept++] = out[i];
    return kept;
}

/* ---- matching ------------------------------------------------------------------------ */

const char *mt_slot_status_name(enum mt_slot_status s)
{
    switch (s) {
    case MT_SLOT_TAKEN:
        return "taken";
    case MT_SLOT_LATE:
        return "late";
    case MT_SLOT_MISSED:
        return "missed";
    case MT_SLOT_SKIPPED:
        return "skipped";
    case MT_SLOT_PENDING:
        break;
    }
    return "pending";
}

static int64_t i64_min(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int64_t i64_max(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* The first slot at or after t (binary search over ascending slots). */
static size_t first_slot_from(const struct mt_slot_match *slots, size_t n, int64_t t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (slots[mid].at_us < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* On time: each mark of the kind (skips or not), in time order, takes the
 * nearest open slot within the window. */
static void match_on_time(struct mt_slot_match *slots, size_t nslots,
                          const struct mt_dose_mark *marks, size_t nmarks, bool skipped,
                          int64_t window_us, unsigned char *used)
{
    for (size_t k = 0; k < nmarks; k++) {
        if (used[k] || marks[k].skipped != skipped)
            continue;
        int64_t t = marks[k].at_us;
        size_t best = nslots;
        int64_t best_d = 0;
        for (size_t i = first_slot_from(slots, nslots, t - window_us);
             i < nslots && slots[i].at_us <= t + window_us; i++) {
            if (slots[i].dose >= 0)
                continue;
            int64_t d = slots[i].at_us > t ? slots[i].at_us - t : t - slots[i].at_us;
            if (best == nslots || d < best_d) {
                best = i;
                best_d = d;
            }
        }
        if (best < nslots) {
            slots[best].dose = (long)k;
            slots[best].status = skipped ? MT_SLOT_SKIPPED : MT_SLOT_TAKEN;
            used[k] = 1;
        }
    }
}

/* Late: each open slot, in order, takes the earliest unused mark of the
 * kind after its window and before its late end. */
static void match_late(struct mt_slot_match *slots, size_t nslots, const struct mt_dose_mark *marks,
                       size_t nmarks, bool skipped, int64_t window_us, unsigned char *used)
{
    size_t k = 0;
    for (size_t i = 0; i < nslots; i++) {
        if (slots[i].dose >= 0)
            continue;
        int64_t from = slots[i].at_us + window_us;
        while (k < nmarks && marks[k].at_us <= from)
            k++;
        for (size_t j = k; j < nmarks && marks[j].at_us < slots[i].late_end_us; j++) {
            if (used[j] || marks[j].skipped != skipped)
                continue;
            slots[i].dose = (long)j;
            slots[i].status = skipped ? MT_SLOT_SKIPPED : MT_SLOT_LATE;
            used[j] = 1;
            break;
        }
    }
}

void mt_slots_match(struct mt_slot_match *slots, size_t nslots, const struct mt_dose_mark *marks,
                    size_t nmarks, int64_t window_us, int64_t late_us, int64_t now_us,
                    unsigned char *used)
{
    for (size_t i = 0; i < nslots; i++) {
        int64_t s = slots[i].at_us;
        int64_t end = s + late_us;
        if (i + 1 < nslots)
            end = i64_min(end, slots[i + 1].at_us);
        slots[i].late_end_us = i64_max(s + window_us, end);
        slots[i].status = MT_SLOT_PENDING;
        slots[i].dose = -1;
    }
    memset(used, 0, nmarks);
    match_on_time(slots, nslots, marks, nmarks, false, window_us, used);
    match_late(slots, nslots, marks, nmarks, false, window_us, used);
    match_on_time(slots, nslots, marks, nmarks, true, window_us, used);
    match_late(slots, nslots, marks, nmarks, true, window_us, used);
    for (size_t i = 0; i < nslots; i++)
        if (slots[i].dose < 0)
            slots[i].status = now_us >= slots[i].late_end_us ? MT_SLOT_MISSED : MT_SLOT_PENDING;
}
