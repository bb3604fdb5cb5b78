/* Unit tests of src/core/schedule.c: reading and refusing the API's JSON
 * form, its canonical form, the column texts both ways, which dates have
 * slots (weekdays, every N days, start and end), and the slots of the days
 * around both changes of daylight saving time in America/New_York and
 * Europe/Berlin (a skipped local time fires at tz.h's mapped instant, a
 * repeated one once, two times landing on one instant give one slot). */
#include "core/schedule.h"

#include <stdlib.h>
#include <string.h>

#include "../check.h"

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return (mt_date_to_days((struct mt_date){y, mo, d}) * 86400 + h * 3600 + mi * 60) *
           MT_USEC_PER_SEC;
}

static struct mt_tz zone(const char *name)
{
    struct mt_tz z = mt_tz_fixed(0);
    struct mt_err err = {0};
    CHECK_EQ(mt_tz_load(name, &z, &err), 0);
    return z;
}

/* Parses text as JSON and then as a schedule; returns the reader's result. */
static int parse(const char *text, struct mt_schedule *s, struct mt_err *err)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    CHECK(v != NULL);
    int rc = mt_schedule_from_json(v, s, err);
    json_decref(v);
    return rc;
}

/* The canonical text of a schedule. */
static char *canon(const struct mt_schedule *s)
{
    json_t *o = mt_schedule_to_json(s);
    CHECK(o != NULL);
    char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return t;
}

static void refused(const char *text, const char *needle)
{
    struct mt_schedule s;
    struct mt_err err = {0};
    CHECK_EQ(parse(text, &s, &err), -1);
    CHECK_EQ(err.code, MT_EINVAL);
    if (strstr(err.msg, needle) == NULL) {
        fprintf(stderr, "for %s: message \"%s\" lacks \"%s\"\n", text, err.msg, needle);
        CHECK(0);
    }
}

static void test_json(void)
{
    struct mt_schedule s;
    struct mt_err err = {0};
    CHECK_EQ(parse("{\"times\": [\"20:00\", \"08:00\"]}", &s, &err), 0);
    CHECK_EQ(s.ntimes, 2);
    CHECK_EQ(s.minutes[0], 480);
    CHECK_EQ(s.minutes[1], 1200);
    CHECK_EQ(s.days, MT_SCHED_DAILY);
    char *t = canon(&s);
    CHECK_STR(t, "{\"times\":[\"08:00\",\"20:00\"],\"days\":\"daily\",\"start_date\":null,"
                 "\"end_date\":null}");
    free(t);

    CHECK_EQ(parse("{\"times\": [\"07:30\"], \"days\": [\"fri\", \"mon\", \"wed\"], "
                   "\"start_date\": \"2026-01-05\", \"end_date\": \"2026-12-31\"}",
                   &s, &err),
             0);
    CHECK_EQ(s.days, MT_SCHED_WEEKDAYS);
    CHECK_EQ(s.weekdays, 1u | 4u | 16u);
    t = canon(&s);
    CHECK_STR(t, "{\"times\":[\"07:30\"],\"days\":[\"mon\",\"wed\",\"fri\"],"
                 "\"start_date\":\"2026-01-05\",\"end_date\":\"2026-12-31\"}");
    free(t);

    CHECK_EQ(parse("{\"times\": [\"00:00\", \"23:59\"], \"days\": {\"every_n_days\": 3}, "
                   "\"start_date\": \"2026-03-01\"}",
                   &s, &err),
             0);
    CHECK_EQ(s.days, MT_SCHED_EVERY_N);
    CHECK_EQ(s.every_n, 3);

    /* The canonical form reads back to the same schedule. */
    t = canon(&s);
    struct mt_schedule again;
    CHECK_EQ(parse(t, &again, &err), 0);
    char *t2 = canon(&again);
    CHECK_STR(t, t2);
    free(t);
    free(t2);

    /* 24 times are fine, 25 are not. */
    char big[400];
    size_t at = (size_t)snprintf(big, sizeof(big), "{\"times\": [");
    for (int i = 0; i < 24; i++)
        at += (size_t)snprintf(big + at, sizeof(big) - at, "%s\"%02d:00\"", i ? "," : "", i);
    snprintf(big + at, sizeof(big) - at, "]}");
    CHECK_EQ(parse(big, &s, &err), 0);
    CHECK_EQ(s.ntimes, 24);
    snprintf(big + at, sizeof(big) - at, ",\"23:30\"]}");
    refused(big, "at most 24");

    refused("null", "expected an object");
    refused("[]", "expected an object");
    refused("{}", "\"times\" is missing");
    refused("{\"times\": []}", "at least one time");
    refused("{\"times\": \"08:00\"}", "expected a list");
    refused("{\"times\": [\"25:00\"]}", "schedule.times[0]\": expected HH:MM, got \"25:00\"");
    refused("{\"times\": [\"08:00\", \"8:00\"]}", "schedule.times[1]");
    refused("{\"times\": [\"08:60\"]}", "times[0]");
    refused("{\"times\": [\"08:00 \"]}", "times[0]");
    refused("{\"times\": [800]}", "times[0]");
    refused("{\"times\": [\"08:00\", \"08:00\"]}", "\"08:00\" is given twice");
    refused("{\"times\": [\"08:00\"], \"days\": \"weekly\"}", "schedule.days");
    refused("{\"times\": [\"08:00\"], \"days\": []}", "no weekday");
    refused("{\"times\": [\"08:00\"], \"days\": [\"Mon\"]}", "days[0]");
    refused("{\"times\": [\"08:00\"], \"days\": [\"mon\", \"mon\"]}", "\"mon\" is given twice");
    refused("{\"times\": [\"08:00\"], \"days\": {\"every_n_days\": 0}, \"start_date\": "
            "\"2026-01-01\"}",
            "expected 1 to 366, got 0");
    refused("{\"times\": [\"08:00\"], \"days\": {\"every_n_days\": 2.5}, \"start_date\": "
            "\"2026-01-01\"}",
            "every_n_days");
    refused("{\"times\": [\"08:00\"], \"days\": {\"every_n_days\": 2}}", "start_date");
    refused("{\"times\": [\"08:00\"], \"days\": {\"every_n_days\": 2, \"x\": 1}, \"start_date\": "
            "\"2026-01-01\"}",
            "every_n_days");
    refused("{\"times\": [\"08:00\"], \"start_date\": \"2026-02-30\"}", "schedule.start_date");
    refused("{\"times\": [\"08:00\"], \"end_date\": 20260101}", "schedule.end_date");
    refused("{\"times\": [\"08:00\"], \"start_date\": \"2026-02-02\", \"end_date\": "
            "\"2026-02-01\"}",
            "before");
    refused("{\"times\": [\"08:00\"], \"time\": 1}", "unknown field \"time\"");
}

static void test_columns(void)
{
    struct mt_schedule s;
    struct mt_err err = {0};
    CHECK_EQ(parse("{\"times\": [\"20:00\", \"08:05\"], \"days\": [\"sun\", \"sat\"]}", &s, &err),
             0);
    char tb[MT_SCHED_TIMES_BUF], db[MT_SCHED_DAYS_BUF];
    CHECK_STR(mt_schedule_times_text(&s, tb, sizeof(tb)), "08:05,20:00");
    CHECK_STR(mt_schedule_days_text(&s, db, sizeof(db)), "sat,sun");
    struct mt_schedule back;
    CHECK_EQ(mt_schedule_from_columns(tb, db, NULL, NULL, &back, &err), 0);
    CHECK_EQ(back.ntimes, 2);
    CHECK_EQ(back.weekdays, s.weekdays);

    struct mt_date start = {2026, 1, 1};
    CHECK_EQ(mt_schedule_from_columns("08:00", "every:14", &start, NULL, &back, &err), 0);
    CHECK_EQ(back.every_n, 14);
    CHECK_STR(mt_schedule_days_text(&back, db, sizeof(db)), "every:14");
    CHECK_EQ(mt_schedule_from_columns("08:00", "daily", NULL, NULL, &back, &err), 0);
    CHECK_STR(mt_schedule_days_text(&back, db, sizeof(db)), "daily");

    /* All 24 hours fit the column. */
    struct mt_schedule full = {.ntimes = 24};
    for (int i = 0; i < 24; i++)
        full.minutes[i] = (short)(i * 60 + 59);
    mt_schedule_times_text(&full, tb, sizeof(tb));
    CHECK_EQ(strlen(tb), 24 * 6 - 1);
    CHECK_EQ(mt_schedule_from_columns(tb, "daily", NULL, NULL, &back, &err), 0);
    CHECK_EQ(back.ntimes, 24);

    const char *bad_times[] = {"", "8:00", "08:00,", "08:00;09:00", "24:00", "08:00,08:00"};
    for (size_t i = 0; i < MT_ARRAY_LEN(bad_times); i++)
        CHECK_EQ(mt_schedule_from_columns(bad_times[i], "daily", NULL, NULL, &back, &err), -1);
    const char *bad_days[] = {
        "", "Daily", "mon,", "mon,mon", "every:", "every:0", "every:367", "every:3x", "every"};
    for (size_t i = 0; i < MT_ARRAY_LEN(bad_days); i++)
        CHECK_EQ(mt_schedule_from_columns("08:00", bad_days[i], &start, NULL, &back, &err), -1);
    /* every:N without a start date is not something we write. */
    CHECK_EQ(mt_schedule_from_columns("08:00", "every:2", NULL, NULL, &back, &err), -1);
}

static void test_dates(void)
{
    struct mt_schedule s;
    struct mt_err err = {0};
    /* 2026-12-07 is a Monday. */
    CHECK_EQ(mt_weekday((struct mt_date){2026, 12, 7}), 0);
    CHECK_EQ(mt_weekday((struct mt_date){2026, 12, 13}), 6);
    CHECK_EQ(mt_weekday((struct mt_date){1970, 1, 1}), 3);
    CHECK_EQ(mt_weekday((struct mt_date){1969, 12, 29}), 0);

    CHECK_EQ(parse("{\"times\": [\"08:00\"], \"days\": [\"mon\", \"thu\"]}", &s, &err), 0);
    CHECK(mt_schedule_on_date(&s, (struct mt_date){2026, 12, 7}));
    CHECK(!mt_schedule_on_date(&s, (struct mt_date){2026, 12, 8}));
    CHECK(mt_schedule_on_date(&s, (struct mt_date){2026, 12, 10}));

    CHECK_EQ(parse("{\"times\": [\"08:00\"], \"days\": {\"every_n_days\": 3}, \"start_date\": "
                   "\"2026-02-27\", \"end_date\": \"2026-03-08\"}",
                   &s, &err),
             0);
    CHECK(!mt_schedule_on_date(&s, (struct mt_date){2026, 2, 24})); /* before the start */
    CHECK(mt_schedule_on_date(&s, (struct mt_date){2026, 2, 27}));
    CHECK(!mt_schedule_on_date(&s, (struct mt_date){2026, 2, 28}));
    CHECK(mt_schedule_on_date(&s, (struct mt_date){2026, 3, 2})); /* across the month end */
    CHECK(mt_schedule_on_date(&s, (struct mt_date){2026, 3, 8}));
    CHECK(!mt_schedule_on_date(&s, (struct mt_date){2026, 3, 11})); /* after the end */

    struct mt_slot slots[MT_SCHED_MAX_TIMES];
    CHECK_EQ(mt_schedule_expand(&s, mt_tz_fixed(0), (struct mt_date){2026, 2, 28}, slots), 0);
    CHECK_EQ(mt_schedule_expand(&s, mt_tz_fixed(-60), (struct mt_date){2026, 3, 2}, slots), 1);
    CHECK_EQ(slots[0].at_us, utc(2026, 3, 2, 7, 0));
}

static void test_new_york(void)
{
    struct mt_tz ny = zone("America/New_York");
    struct mt_schedule s;
    struct mt_err err = {0};
    struct mt_slot sl[MT_SCHED_MAX_TIMES];
    CHECK_EQ(
        parse("{\"times\": [\"01:30\", \"02:30\", \"03:00\", \"08:00\", \"23:30\"]}", &s, &err), 0);
    /* 2026-03-08: 02:00 EST becomes 03:00 EDT. 02:30 does not exist and is
     * read with EST (07:30Z, 03:30 EDT), after 03:00 EDT (07:00Z). */
    int n = mt_schedule_expand(&s, ny, (struct mt_date){2026, 3, 8}, sl);
    CHECK_EQ(n, 5);
    CHECK_EQ(sl[0].at_us, utc(2026, 3, 8, 6, 30));
    CHECK_EQ(sl[0].minute, 90);
    CHECK_EQ(sl[1].at_us, utc(2026, 3, 8, 7, 0));
    CHECK_EQ(sl[1].minute, 180);
    CHECK_EQ(sl[2].at_us, utc(2026, 3, 8, 7, 30));
    CHECK_EQ(sl[2].minute, 150);
    CHECK_EQ(sl[3].at_us, utc(2026, 3, 8, 12, 0));
    CHECK_EQ(sl[4].at_us, utc(2026, 3, 9, 3, 30));
    /* 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:30 fires once, EDT. */
    n = mt_schedule_expand(&s, ny, (struct mt_date){2026, 11, 1}, sl);
    CHECK_EQ(n, 5);
    CHECK_EQ(sl[0].at_us, utc(2026, 11, 1, 5, 30));
    CHECK_EQ(sl[1].at_us, utc(2026, 11, 1, 7, 30));
    CHECK_EQ(sl[2].at_us, utc(2026, 11, 1, 8, 0));
    CHECK_EQ(sl[3].at_us, utc(2026, 11, 1, 13, 0));
    CHECK_EQ(sl[4].at_us, utc(2026, 11, 2, 4, 30));
    /* Ordinary days on either side: 08:00 is 13:00Z in winter, 12:00Z in summer. */
    n = mt_schedule_expand(&s, ny, (struct mt_date){2026, 3, 7}, sl);
    CHECK_EQ(sl[3].at_us, utc(2026, 3, 7, 13, 0));
    n = mt_schedule_expand(&s, ny, (struct mt_date){2026, 3, 9}, sl);
    CHECK_EQ(sl[3].at_us, utc(2026, 3, 9, 12, 0));

    /* 02:30 and 03:30 both land on 07:30Z on the spring day: one slot, 02:30. */
    CHECK_EQ(parse("{\"times\": [\"02:30\", \"03:30\"]}", &s, &err), 0);
    n = mt_schedule_expand(&s, ny, (struct mt_date){2026, 3, 8}, sl);
    CHECK_EQ(n, 1);
    CHECK_EQ(sl[0].at_us, utc(2026, 3, 8, 7, 30));
    CHECK_EQ(sl[0].minute, 150);
    n = mt_schedule_expand(&s, ny, (struct mt_date){2026, 3, 10}, sl);
    CHECK_EQ(n, 2);
}

static void test_berlin(void)
{
    struct mt_tz be = zone("Europe/Berlin");
    struct mt_schedule s;
    struct mt_err err = {0};
    struct mt_slot sl[MT_SCHED_MAX_TIMES];
    CHECK_EQ(parse("{\"times\": [\"00:00\", \"02:30\", \"08:00\", \"20:00\"]}", &s, &err), 0);
    /* 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 is read with CET (01:30Z). */
    int n = mt_schedule_expand(&s, be, (struct mt_date){2026, 3, 29}, sl);
    CHECK_EQ(n, 4);
    CHECK_EQ(sl[0].at_us, utc(2026, 3, 28, 23, 0));
    CHECK_EQ(sl[1].at_us, utc(2026, 3, 29, 1, 30));
    CHECK_EQ(sl[2].at_us, utc(2026, 3, 29, 6, 0));
    CHECK_EQ(sl[3].at_us, utc(2026, 3, 29, 18, 0));
    /* 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 fires once, at CEST. */
    n = mt_schedule_expand(&s, be, (struct mt_date){2026, 10, 25}, sl);
    CHECK_EQ(n, 4);
    CHECK_EQ(sl[0].at_us, utc(2026, 10, 24, 22, 0));
    CHECK_EQ(sl[1].at_us, utc(2026, 10, 25, 0, 30));
    CHECK_EQ(sl[2].at_us, utc(2026, 10, 25, 7, 0));
    CHECK_EQ(sl[3].at_us, utc(2026, 10, 25, 19, 0));
    /* Every slot of a day lies in that day's window. */
    for (int day = 20; day <= 31; day++) {
        struct mt_date d = {2026, 10, day};
        struct mt_window w = mt_tz_day_window(be, d, d);
        n = mt_schedule_expand(&s, be, d, sl);
        CHECK_EQ(n, 4);
        for (int i = 0; i < n; i++)
            CHECK(sl[i].at_us >= w.start_us && sl[i].at_us < w.end_us);
    }
}

/* Slots at the given minutes of 2026-05-04 UTC; marks likewise (negative
 * minutes: a skip row at -m). */
static size_t build(struct mt_slot_match *sl, const int *mins, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sl[i] = (struct mt_slot_match){.at_us = utc(2026, 5, 4, 0, mins[i]), .minute = 0};
    return n;
}

static void test_match(void)
{
    const int64_t W = 60 * 60 * MT_USEC_PER_SEC, L = 4 * 60 * 60 * MT_USEC_PER_SEC;
    struct mt_slot_match sl[8];
    unsigned char used[8];
    /* 08:00 and 20:00; a dose at 08:59:59 is on time, 09:00:01 late. */
    const int two[] = {8 * 60, 20 * 60};
    build(sl, two, 2);
    struct mt_dose_mark m1[] = {{utc(2026, 5, 4, 9, 0) - MT_USEC_PER_SEC, false}};
    mt_slots_match(sl, 2, m1, 1, W, L, utc(2026, 5, 5, 0, 0), used);
    CHECK_EQ(sl[0].status, MT_SLOT_TAKEN);
    CHECK_EQ(sl[0].dose, 0);
    CHECK_EQ(sl[1].status, MT_SLOT_MISSED);
    CHECK_EQ(sl[0].late_end_us, utc(2026, 5, 4, 12, 0));
    CHECK_EQ(sl[1].late_end_us, utc(2026, 5, 5, 0, 0));
    /* Exactly at the window's edge: still on time (+-window inclusive). */
    struct mt_dose_mark edge[] = {{utc(2026, 5, 4, 9, 0), false}};
    mt_slots_match(sl, 2, edge, 1, W, L, utc(2026, 5, 4, 10, 0), used);
    CHECK_EQ(sl[0].status, MT_SLOT_TAKEN);
    CHECK_EQ(sl[1].status, MT_SLOT_PENDING);
    struct mt_dose_mark late[] = {{utc(2026, 5, 4, 9, 0) + MT_USEC_PER_SEC, false}};
    mt_slots_match(sl, 2, late, 1, W, L, utc(2026, 5, 4, 10, 0), used);
    CHECK_EQ(sl[0].status, MT_SLOT_LATE);
    /* After the late end (08:00 + 4 h): satisfies nothing; missed at 12:00. */
    struct mt_dose_mark too_late[] = {{utc(2026, 5, 4, 12, 0), false}};
    mt_slots_match(sl, 2, too_late, 1, W, L, utc(2026, 5, 4, 12, 0) - 1, used);
    CHECK_EQ(sl[0].status, MT_SLOT_PENDING);
    mt_slots_match(sl, 2, too_late, 1, W, L, utc(2026, 5, 4, 12, 0), used);
    CHECK_EQ(sl[0].status, MT_SLOT_MISSED);
    CHECK_EQ(sl[0].dose, -1);
    /* Too early (more than the window before): nothing. */
    struct mt_dose_mark early[] = {{utc(2026, 5, 4, 6, 59), false}};
    mt_slots_match(sl, 2, early, 1, W, L, utc(2026, 5, 4, 8, 0), used);
    CHECK_EQ(sl[0].status, MT_SLOT_PENDING);

    /* Close slots: the late window ends at the next slot, but never before
     * the slot's own window does. */
    const int close[] = {8 * 60, 8 * 60 + 30, 10 * 60};
    build(sl, close, 3);
    struct mt_dose_mark two_doses[] = {{utc(2026, 5, 4, 8, 20), false},
                                       {utc(2026, 5, 4, 8, 25), false}};
    mt_slots_match(sl, 3, two_doses, 2, W, L, utc(2026, 5, 4, 23, 0), used);
    CHECK_EQ(sl[0].late_end_us, utc(2026, 5, 4, 9, 0));
    CHECK_EQ(sl[1].late_end_us, utc(2026, 5, 4, 10, 0));
    CHECK_EQ(sl[2].late_end_us, utc(2026, 5, 4, 14, 0));
    /* 08:20 is nearest to 08:30; 08:25 then takes 08:00. */
    CHECK_EQ(sl[1].status, MT_SLOT_TAKEN);
    CHECK_EQ(sl[1].dose, 0);
    CHECK_EQ(sl[0].status, MT_SLOT_TAKEN);
    CHECK_EQ(sl[0].dose, 1);
    CHECK_EQ(sl[2].status, MT_SLOT_MISSED);
    /* One dose satisfies one slot only. */
    struct mt_dose_mark one[] = {{utc(2026, 5, 4, 8, 15), false}};
    mt_slots_match(sl, 3, one, 1, W, L, utc(2026, 5, 4, 23, 0), used);
    CHECK_EQ(sl[0].status, MT_SLOT_TAKEN);
    CHECK_EQ(sl[1].status, MT_SLOT_MISSED);

    /* A skip row: skipped; a dose wins over a skip for the same slot. */
    build(sl, two, 2);
    struct mt_dose_mark skip[] = {{utc(2026, 5, 4, 8, 0), true},
                                  {utc(2026, 5, 4, 20, 5), true},
                                  {utc(2026, 5, 4, 20, 10), false}};
    mt_slots_match(sl, 2, skip, 3, W, L, utc(2026, 5, 4, 23, 0), used);
    CHECK_EQ(sl[0].status, MT_SLOT_SKIPPED);
    CHECK_EQ(sl[0].dose, 0);
    CHECK_EQ(sl[1].status, MT_SLOT_TAKEN);
    CHECK_EQ(sl[1].dose, 2);
    CHECK_STR(mt_slot_status_name(MT_SLOT_LATE), "late");
    CHECK_STR(mt_slot_status_name(MT_SLOT_PENDING), "pending");
}

int main(void)
{
    test_json();
    test_columns();
    test_dates();
    test_new_york();
    test_berlin();
    test_match();
    return check_report();
}
